//! Invoices: a supplier (or the platform, under the supplier's billing
//! mandate) invoices received orders, one order or a statement of a period;
//! numbers are gapless per supplier and year; an issued document never
//! changes (the database refuses it) and is corrected by credit notes; the
//! supplier records payments and the job runner marks what is overdue.
//! `rules` decides without I/O; `cii` writes EN 16931 CII XML and `print` a
//! page a person can read; `delays` sums up how fast canteens pay.
//! docs/invoices.md has the rules and formats.

pub mod cii;
pub mod delays;
pub mod dto;
mod handlers;
mod print;
pub mod queries;
pub mod rules;
pub mod service;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(handlers::get_profile)
        .service(handlers::put_profile)
        .service(handlers::list_mandates)
        .service(handlers::grant_mandate)
        .service(handlers::revoke_mandate)
        .service(handlers::issue)
        .service(handlers::list)
        .service(handlers::get)
        .service(handlers::get_cii)
        .service(handlers::get_print)
        .service(handlers::credit)
        .service(handlers::pay);
}
