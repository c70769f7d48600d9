//! Organisations (farms, distributors, canteens, authorities), their
//! members and invitations, and their verification by administrators.

use uuid::Uuid;

use crate::auth::extract::AuthUser;
use crate::auth::policy::OrgAccess;
use crate::codes::from_db;
use crate::error::{ApiError, ApiResult};

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

/// The organisation's facts for the policy, with the caller's role; 404 when
/// it does not exist.
pub async fn access(
    conn: &mut diesel_async::AsyncPgConnection,
    id: Uuid,
    user: Option<&AuthUser>,
) -> ApiResult<OrgAccess> {
    let (kind, status, role) = queries::access(conn, id, user.map(|u| u.id))
        .await?
        .ok_or_else(|| ApiError::not_found("no organisation with this id"))?;
    Ok(OrgAccess {
        kind: from_db(&kind)?,
        status: from_db(&status)?,
        role: role.as_deref().map(from_db).transpose()?,
    })
}
