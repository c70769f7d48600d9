//! Consultations: a public buyer (a verified canteen, or an authority for a
//! group of its canteens) calls for offers lot by lot; verified farms and
//! distributors answer sealed until the deadline; the buyer scores, ranks
//! and awards each lot, which becomes a contract (`crate::contracts`).
//! The rules are in docs/consultations.md: `rules` (criteria, minimum
//! deadlines), `lifecycle` (the state machine), `scoring` (marks, scores,
//! ranking), `receipt` (what proves an answer); `queries` holds the SQL,
//! with the deadline and the sealing inside the statements; `service` the
//! steps, each in one transaction with its feed events.

pub mod dto;
mod handlers;
pub mod lifecycle;
pub mod queries;
pub mod receipt;
pub mod rules;
pub mod scoring;
pub mod service;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(handlers::create_consultation)
        .service(handlers::get_consultation)
        .service(handlers::publish_consultation)
        .service(handlers::cancel_consultation)
        .service(handlers::list_consultations)
        .service(handlers::list_open_consultations)
        .service(handlers::submit_answer)
        .service(handlers::list_own_answers)
        .service(handlers::get_evaluation)
        .service(handlers::mark_answer)
        .service(handlers::award_lot)
        .service(handlers::declare_lot_unsuccessful)
        .service(handlers::get_purchase_thresholds);
}
