//! The catalog: offers listed by farms and distributors, their stock, the
//! CSV import, and the search canteens use.

pub mod consent;
mod csv_import;
pub mod delivery;
pub mod dto;
mod handlers;
pub mod queries;
pub mod search;
pub mod validate;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(handlers::search_offers)
        .service(handlers::get_offer)
        .service(handlers::update_offer)
        .service(handlers::adjust_stock)
        .service(handlers::create_offer)
        .service(handlers::import_offers);
}
