//! Operations endpoints: liveness, readiness and metrics.

use actix_web::{HttpResponse, get, web};
use metrics_exporter_prometheus::PrometheusHandle;
use serde::Serialize;
use utoipa::ToSchema;

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

/// Prometheus metrics, in the text exposition format.
#[utoipa::path(
    tag = "operations",
    operation_id = "metrics",
    responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain; version=0.0.4")),
)]
#[get("/metrics")]
pub async fn metrics(handle: web::Data<PrometheusHandle>) -> HttpResponse {
    handle.run_upkeep();
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(handle.render())
}

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(healthz).service(readyz).service(metrics);
}
