//! Sésame: a farm-to-canteen food marketplace for local authorities.
//!
//! [`build_app`] is the one place where routes and middleware are assembled;
//! the binary (`main.rs`) and the integration tests both use it.

pub mod accounts;
pub mod auth;
pub mod catalog;
pub mod clock;
pub mod codes;
pub mod config;
pub mod consultations;
pub mod contracts;
pub mod db;
pub mod delivery;
pub mod demo;
pub mod egalim;
pub mod error;
pub mod geo;
pub mod http;
pub mod ids;
pub mod invoices;
pub mod openapi;
pub mod opendata;
pub mod ops;
pub mod orders;
pub mod schema;
pub mod server;
pub mod standing;
pub mod supply;
pub mod telemetry;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::{Compress, Condition, DefaultHeaders, from_fn};
use actix_web::{App, web};
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;
use utoipa_actix_web::service_config::ServiceConfig;
use utoipa_swagger_ui::SwaggerUi;

use crate::db::DbPool;
use crate::http::extract::{BodyLimit, path_config, payload_config};
use crate::http::fallback::{KnownRoutes, not_routed};
use crate::http::limits::request_limits;
use crate::http::middleware::request_context;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub pool: DbPool,
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
    pub auth: auth::Auth,
    /// Open data downloads this instance runs at once, each holding one of
    /// its database connections between pages: capped per instance (builds
    /// are capped for the whole cluster, `opendata::queries::BUILD_SLOTS`).
    pub exports: opendata::ExportSlots,
    /// Browser origins allowed by CORS; none: no cross-origin access.
    pub cors_origins: Vec<String>,
    /// Who may read `/metrics`, and whether it is served on this address.
    pub metrics: ops::MetricsAccess,
}

/// Every documented route: the API under `/api/v1`, operations at the root.
fn routes(cfg: &mut ServiceConfig) {
    cfg.configure(ops::routes).service(
        utoipa_actix_web::scope("/api/v1")
            .configure(geo::routes)
            .configure(auth::routes)
            .configure(accounts::routes)
            .configure(catalog::routes)
            .configure(orders::routes)
            .configure(supply::routes)
            .configure(opendata::routes)
            .configure(egalim::routes)
            .configure(consultations::routes)
            .configure(contracts::routes)
            .configure(delivery::routes)
            .configure(invoices::routes)
            .configure(standing::routes),
    );
}

/// The OpenAPI document, generated from the routes (`sesame openapi` prints it).
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    let api = App::new()
        .into_utoipa_app()
        .openapi(openapi::ApiDoc::openapi())
        .configure(routes)
        .split_for_parts()
        .1;
    openapi::complete(api)
}

/// Cross-origin access for the configured browser origins only. Tokens
/// travel in the Authorization header, never in cookies, so credentials
/// mode stays off.
fn cors(origins: &[String]) -> actix_cors::Cors {
    use actix_web::http::header;
    let cors = actix_cors::Cors::default()
        .allowed_methods(["GET", "POST", "PUT", "PATCH", "DELETE"])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::IF_MATCH,
            header::IF_NONE_MATCH,
            header::HeaderName::from_static("idempotency-key"),
        ])
        .expose_headers([
            header::ETAG,
            header::LOCATION,
            header::RETRY_AFTER,
            header::LAST_MODIFIED,
            header::HeaderName::from_static("x-request-id"),
        ])
        .max_age(3600);
    origins
        .iter()
        .fold(cors, |cors, origin| cors.allowed_origin(origin))
}

pub fn build_app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let (app, api) = App::new()
        .into_utoipa_app()
        .openapi(openapi::ApiDoc::openapi())
        .configure(routes)
        .split_for_parts();
    let api = openapi::complete(api);
    let known_routes = KnownRoutes::from_openapi(&api);
    let cors = cors(&state.cors_origins);
    let state_cors_empty = state.cors_origins.is_empty();
    app.app_data(payload_config(state.body_limit))
        .app_data(BodyLimit(state.body_limit))
        .app_data(path_config())
        .app_data(web::Data::new(known_routes))
        .app_data(web::Data::new(telemetry::metrics_handle()))
        .app_data(web::Data::new(state.metrics.clone()))
        .app_data(web::Data::new(state))
        .service(SwaggerUi::new("/docs/{_:.*}").url("/api/openapi.json", api))
        .service(web::redirect("/docs", "/docs/"))
        .default_service(web::to(not_routed))
        .wrap(from_fn(request_limits))
        .wrap(
            DefaultHeaders::new()
                .add(("X-Content-Type-Options", "nosniff"))
                .add(("Referrer-Policy", "no-referrer"))
                // No page of ours (the Swagger UI above all) may be framed by
                // another site: clickjacking.
                .add(("Content-Security-Policy", "frame-ancestors 'none'"))
                .add(("X-Frame-Options", "DENY")),
        )
        .wrap(Condition::new(!state_cors_empty, cors))
        .wrap(Compress::default())
        .wrap(from_fn(request_context))
}

/// The app of the metrics address (`SESAME_METRICS_BIND`): `/metrics` and
/// nothing else.
pub fn build_metrics_app(
    access: ops::MetricsAccess,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .app_data(web::Data::new(telemetry::metrics_handle()))
        .app_data(web::Data::new(access.here()))
        .service(ops::metrics)
        .default_service(web::to(|req: actix_web::HttpRequest| async move {
            Err::<actix_web::HttpResponse, _>(error::ApiError::not_found(format!(
                "no resource at {}; this address serves /metrics only",
                req.path()
            )))
        }))
        .wrap(
            DefaultHeaders::new()
                .add(("X-Content-Type-Options", "nosniff"))
                .add(("Cache-Control", "no-store")),
        )
}
