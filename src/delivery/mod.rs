//! Delivery terms: the days a supplier delivers, the cut-off of orders for
//! each day (Paris time), the zone it serves and the minimum amount of one
//! delivery (docs/contracts.md § Delivery terms). `rules` decides without
//! I/O; the checkout asks it about each supplier part of a basket.

pub mod dto;
mod handlers;
pub mod queries;
pub mod rules;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(handlers::get_terms)
        .service(handlers::put_terms)
        .service(handlers::delivery_dates);
}
