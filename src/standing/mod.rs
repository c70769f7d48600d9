//! Standing orders: a canteen's weekly template (lines per delivery
//! weekday, from offers or contract lines), placed as ordinary orders a set
//! number of days ahead through the same checkout, skipping the canteen's
//! closures and public holidays (docs/contracts.md § Standing orders).
//! `schedule` says which days are due, without I/O; `service::run_due` is
//! the job that places them, once each, whatever the number of instances.

pub mod dto;
mod handlers;
pub mod queries;
pub mod schedule;
pub mod service;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(handlers::create_standing_order)
        .service(handlers::get_standing_order)
        .service(handlers::list_standing_orders)
        .service(handlers::set_status)
        .service(handlers::change_occurrence)
        .service(handlers::add_closure)
        .service(handlers::list_closures)
        .service(handlers::delete_closure);
}
