//! Supply relationships: a distributor carries a farm of the platform only
//! with the farm's consent. The database enforces it on every active offer
//! (trigger `offers_producer_consents`); ending a relationship pauses the
//! distributor's offers naming the farm.

pub mod dto;
mod handlers;
pub mod lifecycle;
pub mod queries;
mod relationships;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(handlers::request_supply_relationship)
        .service(handlers::list_supply_relationships)
        .service(handlers::accept_supply_relationship)
        .service(handlers::refuse_supply_relationship)
        .service(handlers::end_supply_relationship);
}
