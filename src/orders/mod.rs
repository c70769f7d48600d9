//! Orders: checkout of a canteen's basket into one order per supplier, the
//! order lifecycle, picking lists and the integration feed.

pub mod checkout;
pub mod dto;
pub mod feed;
pub mod feed_data;
mod handlers;
pub mod lifecycle;
pub mod money;
mod picking;
pub(crate) mod queries;
mod transitions;
mod view;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(handlers::place_order)
        .service(handlers::list_orders)
        .service(handlers::get_order)
        .service(handlers::accept_order)
        .service(handlers::reject_order)
        .service(handlers::cancel_order)
        .service(handlers::deliver_order)
        .service(handlers::receive_order)
        .service(handlers::dispute_order)
        .service(handlers::picking_list)
        .service(handlers::picking_list_csv)
        .service(handlers::read_feed);
}
