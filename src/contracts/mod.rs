//! Contracts: an awarded lot of a consultation between its buyer (and the
//! canteens it delivers) and the winning supplier, at the awarded price, for
//! a quantity or up to a maximum amount, over a validity period. Created by
//! the award (`consultations::service::award`); read by the parties and the
//! authority of the canteens' territory; published as DECP records (`decp`).

pub mod decp;
pub mod dto;
mod handlers;
pub mod queries;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(handlers::get_contract)
        .service(handlers::list_contracts)
        .service(handlers::authority_decp);
}
