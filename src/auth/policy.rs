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
    /// Leave the organisation (oneself).
    Leave,
    /// List offers, change them, move their stock: verified farms and
    /// distributors, any member.
    ManageOffers,
    /// Place orders: verified canteens, any member.
    Buy,
    /// Move an order along its lifecycle, as its buyer or supplier: any
    /// member of a live organisation.
    HandleOrders,
    /// Publish the territory's open data: owners of a verified authority;
    /// the authority decides, administrators do not publish for it.
    PublishOpenData,
    /// Run consultations (call for offers, evaluate, award): members of a
    /// verified canteen or authority; administrators do not buy for them.
    RunConsultations,
    /// Answer consultations: members of a verified farm or distributor;
    /// administrators do not answer for them.
    AnswerConsultations,
    /// Issue invoices and credit notes, record payments: members of a
    /// verified farm or distributor; administrators only under the
    /// supplier's billing mandate, which the invoices feature checks.
    Invoice,
    /// Give or revoke the platform a billing mandate: the supplier's
    /// owners, never an administrator (the mandate is the supplier's consent).
    GrantBillingMandate,
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
    // Administrators act as owners of every organisation (support, abuse).
    let is_owner = org.role == Some(Role::Owner) || user.is_admin;
    let writes = !matches!(action, OrgAction::ReadPrivate | OrgAction::Leave);
    if writes && org.status == OrganisationStatus::Suspended && !user.is_admin {
        return Err(ApiError::Forbidden(
            "this organisation is suspended; contact the platform administrators".into(),
        ));
    }
    if action == OrgAction::ManageCertifications && org.kind != OrganisationKind::Farm {
        return Err(ApiError::Forbidden(format!(
            "only farms hold certifications; this organisation is a {}",
            org.kind
        )));
    }
    if action == OrgAction::ManageOffers {
        if !matches!(
            org.kind,
            OrganisationKind::Farm | OrganisationKind::Distributor
        ) {
            return Err(ApiError::Forbidden(format!(
                "only farms and distributors sell; this organisation is a {}",
                org.kind
            )));
        }
        if org.status != OrganisationStatus::Verified {
            return Err(ApiError::Forbidden(
                "only verified organisations may sell; ask the platform administrators".into(),
            ));
        }
    }
    if matches!(action, OrgAction::Invoice | OrgAction::GrantBillingMandate) {
        if !matches!(
            org.kind,
            OrganisationKind::Farm | OrganisationKind::Distributor
        ) {
            return Err(ApiError::Forbidden(format!(
                "only farms and distributors invoice; this organisation is a {}",
                org.kind
            )));
        }
        if org.status != OrganisationStatus::Verified {
            return Err(ApiError::Forbidden(
                "only verified suppliers invoice; ask the platform administrators".into(),
            ));
        }
        if action == OrgAction::GrantBillingMandate && org.role != Some(Role::Owner) {
            return Err(ApiError::Forbidden(
                "only the supplier's own owners give or revoke its billing mandate".into(),
            ));
        }
    }
    if action == OrgAction::PublishOpenData {
        if org.role.is_none() {
            return Err(ApiError::Forbidden(
                "only the authority's own owners publish its open data".into(),
            ));
        }
        if org.kind != OrganisationKind::Authority || org.status != OrganisationStatus::Verified {
            return Err(ApiError::Forbidden(
                "only verified authorities publish open data; ask the platform administrators"
                    .into(),
            ));
        }
    }
    if matches!(
        action,
        OrgAction::RunConsultations | OrgAction::AnswerConsultations
    ) {
        if org.role.is_none() {
            return Err(ApiError::Forbidden(
                "only the organisation's own members run or answer its consultations".into(),
            ));
        }
        let (kinds, who) = if action == OrgAction::RunConsultations {
            (
                [OrganisationKind::Canteen, OrganisationKind::Authority],
                "canteens and authorities run consultations",
            )
        } else {
            (
                [OrganisationKind::Farm, OrganisationKind::Distributor],
                "farms and distributors answer consultations",
            )
        };
        if !kinds.contains(&org.kind) {
            return Err(ApiError::Forbidden(format!(
                "only {who}; this organisation is a {}",
                org.kind
            )));
        }
        if org.status != OrganisationStatus::Verified {
            return Err(ApiError::Forbidden(format!(
                "only verified {who}; ask the platform administrators"
            )));
        }
    }
    if matches!(action, OrgAction::Buy | OrgAction::HandleOrders) && org.role.is_none() {
        // Only administrators get here: they support, they do not trade.
        return Err(ApiError::Forbidden(
            "only the organisation's members buy and handle its orders".into(),
        ));
    }
    if action == OrgAction::Buy {
        if org.kind != OrganisationKind::Canteen {
            return Err(ApiError::Forbidden(format!(
                "only canteens place orders; this organisation is a {}",
                org.kind
            )));
        }
        if org.status != OrganisationStatus::Verified {
            return Err(ApiError::Forbidden(
                "only verified canteens may order; ask the platform administrators".into(),
            ));
        }
    }
    match action {
        OrgAction::ReadPrivate
        | OrgAction::Leave
        | OrgAction::ManageOffers
        | OrgAction::Buy
        | OrgAction::HandleOrders
        | OrgAction::RunConsultations
        | OrgAction::AnswerConsultations
        | OrgAction::Invoice
        | OrgAction::GrantBillingMandate => Ok(()),
        // Certifications are public claims (BIO): owners answer for them.
        OrgAction::Update
        | OrgAction::ManageMembers
        | OrgAction::ManageCertifications
        | OrgAction::PublishOpenData
            if !is_owner =>
        {
            Err(ApiError::Forbidden(
                "only the organisation's owners may do this".into(),
            ))
        }
        OrgAction::Update
        | OrgAction::ManageMembers
        | OrgAction::ManageCertifications
        | OrgAction::PublishOpenData => Ok(()),
    }
}

/// How a caller stands towards a consultation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsultationSeat {
    /// A member of the buyer: runs it, and reads the answers from the deadline on.
    Buyer,
    /// A member of a canteen it delivers: reads the call and the outcome.
    Site,
    /// A member of a verified farm or distributor: reads a published call.
    Supplier,
    /// A platform administrator: reads the call, never an answer.
    Admin,
}

/// Who reads a consultation: the buyer's members, the delivered canteens'
/// members, verified suppliers once it is published, administrators.
/// Anyone else, and suppliers while it is a draft, get 404.
pub fn consultation_seat(
    user: &AuthUser,
    is_buyer: bool,
    is_site: bool,
    is_verified_supplier: bool,
    is_draft: bool,
) -> Result<ConsultationSeat, ApiError> {
    if is_buyer {
        Ok(ConsultationSeat::Buyer)
    } else if is_site && !is_draft {
        Ok(ConsultationSeat::Site)
    } else if is_verified_supplier && !is_draft {
        Ok(ConsultationSeat::Supplier)
    } else if user.is_admin {
        Ok(ConsultationSeat::Admin)
    } else {
        Err(ApiError::not_found("no consultation with this id"))
    }
}

/// Only the buyer acts on its consultation (publish, cancel, score, award)
/// and reads the answers; others who may see it get 403.
pub fn require_buyer(seat: ConsultationSeat) -> Result<(), ApiError> {
    if seat == ConsultationSeat::Buyer {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "only the buyer's members act on a consultation and read its answers".into(),
        ))
    }
}

/// A supplier's own answers (their prices) are read by its members only:
/// an administrator acting as owner gets 404 like a stranger, so that no
/// one but the supplier reads a price before the deadline.
pub fn own_answers_reader(supplier: &OrgAccess) -> Result<(), ApiError> {
    if supplier.role.is_some() {
        Ok(())
    } else {
        Err(ApiError::not_found("no organisation with this id"))
    }
}

/// Who reads a contract: members of its parties (buyer, supplier,
/// delivered canteens), members of a verified authority speaking for the
/// territory of one of them, administrators; 404 for anyone else.
pub fn contract_reader(
    user: &AuthUser,
    is_party: bool,
    is_authority: bool,
) -> Result<(), ApiError> {
    if is_party || is_authority || user.is_admin {
        Ok(())
    } else {
        Err(ApiError::not_found("no contract with this id"))
    }
}

/// Who reads a canteen's purchase figures (thresholds): its members, the
/// members of a verified authority speaking for its EPCI, administrators.
pub fn canteen_figures_reader(
    user: &AuthUser,
    is_member: bool,
    is_authority: bool,
) -> Result<(), ApiError> {
    if is_member || is_authority || user.is_admin {
        Ok(())
    } else {
        Err(ApiError::not_found("no canteen with this id"))
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
        let as_member = org(OrganisationKind::Farm, Some(Role::Member));
        let member = authorize(&user(false), &as_member, OrgAction::ManageCertifications);
        assert!(matches!(member, Err(ApiError::Forbidden(_))));
        let as_owner = org(OrganisationKind::Farm, Some(Role::Owner));
        assert!(authorize(&user(false), &as_owner, OrgAction::ManageCertifications).is_ok());
    }

    #[test]
    fn a_suspended_organisation_reads_and_leaves_but_does_not_write() {
        let mut suspended = org(OrganisationKind::Farm, Some(Role::Owner));
        suspended.status = OrganisationStatus::Suspended;
        assert!(authorize(&user(false), &suspended, OrgAction::ReadPrivate).is_ok());
        assert!(authorize(&user(false), &suspended, OrgAction::Leave).is_ok());
        let update = authorize(&user(false), &suspended, OrgAction::Update);
        assert!(matches!(update, Err(ApiError::Forbidden(_))));
    }
}
