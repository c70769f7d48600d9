//! Operations endpoints: liveness, readiness and metrics.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, web};
use metrics_exporter_prometheus::PrometheusHandle;
use serde::Serialize;
use subtle::ConstantTimeEq;
use utoipa::ToSchema;

use crate::auth::token::hash_token;

use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::{db, geo};

#[derive(Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// Liveness: the process answers. Does not touch the database.
#[utoipa::path(
    tag = "operations",
    operation_id = "healthz",
    responses((status = 200, description = "The process is alive", body = Health)),
)]
#[get("/healthz")]
pub async fn healthz() -> web::Json<Health> {
    web::Json(Health { status: "ok" })
}

/// Readiness: the database answers, its migrations are exactly this build's,
/// and the reference geography is loaded. Load balancers should route on it.
/// Answers within a second, even when the database is silent.
#[utoipa::path(
    tag = "operations",
    operation_id = "readyz",
    responses(
        (status = 200, description = "Ready to serve", body = Health),
        (status = 503, description = "Database unreachable, or schema not current",
            body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u32, description = "Seconds to wait before retrying"))),
    ),
)]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> ApiResult<web::Json<Health>> {
    // Within a second in every case: a load balancer must never wait on us.
    let mut conn = state.pool.get_probe().await?;
    if !db::migrations_are_current(&mut conn).await? {
        return Err(ApiError::NotReady(
            "the database schema is not this version's; run `sesame migrate`".into(),
        ));
    }
    if !geo::reference::is_loaded(&mut conn).await? {
        return Err(ApiError::NotReady(
            "the reference geography is not loaded; run `sesame migrate`".into(),
        ));
    }
    Ok(web::Json(Health { status: "ready" }))
}

/// Who may read `/metrics`, and on which address.
#[derive(Clone, Default)]
pub struct MetricsAccess {
    /// Served on another address (`SESAME_METRICS_BIND`), so not on this one.
    pub elsewhere: bool,
    /// SHA-256 of the bearer token required (`SESAME_METRICS_TOKEN`), if any.
    token_hash: Option<Vec<u8>>,
}

impl MetricsAccess {
    pub fn new(elsewhere: bool, token: Option<&str>) -> Self {
        Self {
            elsewhere,
            token_hash: token.map(hash_token),
        }
    }

    /// The same access, on the address that serves `/metrics`.
    pub fn here(&self) -> Self {
        Self {
            elsewhere: false,
            ..self.clone()
        }
    }

    fn check(&self, req: &HttpRequest) -> ApiResult<()> {
        if self.elsewhere {
            return Err(ApiError::not_found(format!(
                "no resource at {}",
                req.path()
            )));
        }
        let Some(expected) = &self.token_hash else {
            return Ok(());
        };
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(|token| hash_token(token.trim()));
        // Digests of equal length, compared in constant time: the answer's
        // timing says nothing about the token.
        match given {
            Some(given) if bool::from(given.as_slice().ct_eq(expected)) => Ok(()),
            _ => Err(ApiError::Unauthorized(
                "the metrics need `Authorization: Bearer <SESAME_METRICS_TOKEN>`".into(),
            )),
        }
    }
}

/// Prometheus metrics, in the text exposition format. With
/// `SESAME_METRICS_TOKEN` set, only for `Authorization: Bearer <token>`;
/// with `SESAME_METRICS_BIND` set, only on that address (404 here).
#[utoipa::path(
    tag = "operations",
    operation_id = "metrics",
    security((), ("metrics_token" = [])),
    responses(
        (status = 200, description = "Prometheus text format", body = String, content_type = "text/plain; version=0.0.4"),
        (status = 401, description = "`SESAME_METRICS_TOKEN` is set and the request does not carry it as a bearer token",
            body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`SESAME_METRICS_BIND` is set: the metrics are served on that address only",
            body = Problem, content_type = "application/problem+json"),
    ),
)]
#[get("/metrics")]
pub async fn metrics(
    req: HttpRequest,
    access: web::Data<MetricsAccess>,
    handle: web::Data<PrometheusHandle>,
) -> ApiResult<HttpResponse> {
    access.check(&req)?;
    handle.run_upkeep();
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(handle.render()))
}

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(healthz).service(readyz).service(metrics);
}
