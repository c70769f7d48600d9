//! Organisations (farms, distributors, canteens, authorities), their
//! members and invitations, and their verification by administrators.

pub mod dto;
mod handlers;
pub mod queries;
mod validate;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(handlers::create_organisation)
        .service(handlers::list_organisations)
        .service(handlers::get_organisation)
        .service(handlers::update_organisation)
        .service(handlers::put_certifications)
        .service(handlers::list_members)
        .service(handlers::invite_member)
        .service(handlers::change_member_role)
        .service(handlers::remove_member)
        .service(handlers::accept_invitation)
        .service(handlers::set_organisation_status);
}
