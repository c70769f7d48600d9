//! EGalim indicators of a canteen, its ma-cantine export, and the supply
//! statistics, progress and payment delays of an authority's territory.

pub mod dto;
mod handlers;
pub mod indicators;
pub mod queries;
pub mod rules;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(handlers::canteen_indicators)
        .service(handlers::canteen_indicators_csv)
        .service(handlers::ma_cantine_purchases)
        .service(handlers::territory_statistics)
        .service(handlers::territory_statistics_csv)
        .service(handlers::territory_progress)
        .service(handlers::territory_progress_csv)
        .service(handlers::territory_payment_delays)
        .service(handlers::territory_payment_delays_csv);
}
