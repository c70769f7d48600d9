//! Contracts between a buyer (and the canteens it delivers) and a supplier,
//! at agreed prices, for a quantity or up to a maximum amount, over a
//! validity period: made by the award of a consultation's lot
//! (`consultations::service::award`), or agreed directly (proposed by one
//! party, accepted by the other). The checkout buys under them at their
//! prices (`orders::checkout`); only the parties and the authority of the
//! canteens' territory read them; awarded ones are published as DECP
//! records (`decp`).

pub mod decp;
pub mod dto;
mod handlers;
pub mod lifecycle;
pub mod pricing;
pub mod queries;
pub mod service;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(handlers::propose_contract)
        .service(handlers::accept_contract)
        .service(handlers::decline_contract)
        .service(handlers::terminate_contract)
        .service(handlers::get_contract)
        .service(handlers::list_contracts)
        .service(handlers::authority_decp);
}
