//! Reference geography: communes, départements, régions and EPCIs.

mod handlers;
pub mod model;
pub mod queries;
pub mod reference;
pub mod search;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(handlers::list_communes)
        .service(handlers::get_commune)
        .service(handlers::get_epci);
}
