//! The authorisation policy: may this user do this action on this object?
//! Every handler that touches an organisation's data asks here, and nowhere
//! else is it decided.
//!
//! Object level: someone with no tie to an organisation learns nothing about
//! its private side: 404, exactly as if it did not exist.
//! Function level: a member asking for something their role or their
//! organisation's kind does not allow gets 403.

use super::extract::AuthUser;
use crate::codes::{OrganisationKind, OrganisationStatus, Role};
use crate::error::ApiError;

/// What the caller wants to do with an organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrgAction {
    /// See private details: contacts, members, status while pending.
    ReadPrivate,
    /// Edit the profile.
    Update,
    /// Invite, change roles, remove members.
    ManageMembers,
    /// Declare the labels the farm is certified for.
    ManageCertifications,
}

/// What the policy needs to know of an organisation and of the caller's tie to it.
#[derive(Debug, Clone, Copy)]
pub struct OrgAccess {
    pub kind: OrganisationKind,
    pub status: OrganisationStatus,
    /// The caller's role in it, if a member.
    pub role: Option<Role>,
}

pub fn authorize(user: &AuthUser, org: &OrgAccess, action: OrgAction) -> Result<(), ApiError> {
    if org.role.is_none() && !user.is_admin {
        return Err(ApiError::not_found("no organisation with this id"));
    }
    let is_owner = org.role == Some(Role::Owner) || user.is_admin;
    match action {
        OrgAction::ReadPrivate => Ok(()),
        OrgAction::Update | OrgAction::ManageMembers if !is_owner => Err(ApiError::Forbidden(
            "only the organisation's owners may do this".into(),
        )),
        OrgAction::Update | OrgAction::ManageMembers => Ok(()),
        OrgAction::ManageCertifications if org.kind != OrganisationKind::Farm => {
            Err(ApiError::Forbidden(format!(
                "only farms hold certifications; this organisation is a {}",
                org.kind
            )))
        }
        OrgAction::ManageCertifications => Ok(()),
    }
}

/// May anyone see this organisation's public profile? Only once verified;
/// before that it exists only for its members and the platform's admins.
pub fn is_public(status: OrganisationStatus) -> bool {
    status == OrganisationStatus::Verified
}

/// Platform administration (verifying organisations).
pub fn require_admin(user: &AuthUser) -> Result<(), ApiError> {
    if user.is_admin {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "only platform administrators may do this".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    fn user(is_admin: bool) -> AuthUser {
        AuthUser {
            id: Uuid::now_v7(),
            session_id: Uuid::now_v7(),
            email: "someone@ferme.fr".into(),
            is_admin,
        }
    }

    fn org(kind: OrganisationKind, role: Option<Role>) -> OrgAccess {
        OrgAccess {
            kind,
            status: OrganisationStatus::Verified,
            role,
        }
    }

    #[test]
    fn strangers_get_404_members_403_owners_pass() {
        let farm = OrganisationKind::Farm;
        let stranger = authorize(&user(false), &org(farm, None), OrgAction::ReadPrivate);
        assert!(matches!(stranger, Err(ApiError::NotFound(_))));
        assert!(
            authorize(
                &user(false),
                &org(farm, Some(Role::Member)),
                OrgAction::ReadPrivate
            )
            .is_ok()
        );
        let member_update = authorize(
            &user(false),
            &org(farm, Some(Role::Member)),
            OrgAction::Update,
        );
        assert!(matches!(member_update, Err(ApiError::Forbidden(_))));
        assert!(
            authorize(
                &user(false),
                &org(farm, Some(Role::Owner)),
                OrgAction::ManageMembers
            )
            .is_ok()
        );
        assert!(authorize(&user(true), &org(farm, None), OrgAction::Update).is_ok());
    }

    #[test]
    fn farm_only_actions_are_403_for_other_kinds() {
        let canteen = authorize(
            &user(false),
            &org(OrganisationKind::Canteen, Some(Role::Owner)),
            OrgAction::ManageCertifications,
        );
        assert!(matches!(canteen, Err(ApiError::Forbidden(_))));
        let farm = org(OrganisationKind::Farm, Some(Role::Member));
        assert!(authorize(&user(false), &farm, OrgAction::ManageCertifications).is_ok());
    }
}
