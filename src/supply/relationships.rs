//! What requesting, answering and ending a supply relationship do, each in
//! one transaction with its feed events (and, when an accepted relationship
//! ends, the pausing of the distributor's offers naming the farm).

use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

use super::lifecycle::{self, Action, Party};
use super::queries::{self, RelationshipRow};
use crate::accounts::access;
use crate::auth::extract::AuthUser;
use crate::auth::policy::{self, OrgAction};
use crate::catalog::consent::{self, PauseReason};
use crate::codes::{FeedEventType, OrganisationKind, OrganisationStatus, SupplyStatus, from_db};
use crate::error::{ApiError, ApiResult};
use crate::orders::feed;
use crate::orders::feed_data::SupplyChanged;

pub const MAX_TEXT_CHARS: usize = 2000;

/// Records `distributor`'s request to carry `farm`.
pub async fn request(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    distributor: Uuid,
    farm: Uuid,
    note: &str,
) -> ApiResult<RelationshipRow> {
    let org = access(conn, distributor, Some(user)).await?;
    policy::authorize(user, &org, OrgAction::ManageOffers)?;
    if org.kind != OrganisationKind::Distributor {
        return Err(ApiError::Forbidden(format!(
            "only distributors ask to carry a farm; this organisation is a {}",
            org.kind
        )));
    }
    if note.chars().count() > MAX_TEXT_CHARS {
        return Err(ApiError::validation(
            "note",
            format!("at most {MAX_TEXT_CHARS} characters"),
        ));
    }
    let is_verified_farm = match crate::accounts::queries::access(conn, farm, None).await? {
        Some((kind, status, _)) => {
            from_db::<OrganisationKind>(&kind)? == OrganisationKind::Farm
                && from_db::<OrganisationStatus>(&status)? == OrganisationStatus::Verified
        }
        None => false,
    };
    if !is_verified_farm {
        return Err(ApiError::validation(
            "farm_id",
            "is not a verified farm of the platform (an outside farm is named in the offer itself)",
        ));
    }
    let id = Uuid::now_v7();
    conn.transaction::<_, ApiError, _>(async |conn| {
        queries::insert_request(conn, id, distributor, farm, note.trim(), user.id)
            .await
            .map_err(|e| match ApiError::from(e) {
                ApiError::Conflict(_) => ApiError::Conflict(
                    "a request to this farm is already pending, or the farm already accepted: \
                     see GET /organisations/{id}/supply-relationships"
                        .into(),
                ),
                other => other,
            })?;
        let data = SupplyChanged {
            relationship_id: id,
            distributor_id: distributor,
            farm_id: farm,
            status: SupplyStatus::Requested,
            reason: None,
            offers_paused: 0,
        };
        let parties = [distributor, farm];
        feed::publish_to(conn, &parties, FeedEventType::SupplyRequested, id, &data).await?;
        Ok(())
    })
    .await?;
    queries::find(conn, id)
        .await?
        .ok_or_else(|| ApiError::not_found("no supply relationship with this id"))
}

/// The side `user` acts for; 404 to strangers. Administrators may end a
/// relationship (abuse), never consent for a farm.
async fn party_of(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    relationship: &RelationshipRow,
    action: Action,
) -> ApiResult<Party> {
    let farm = access(conn, relationship.farm_id, Some(user)).await?;
    let distributor = access(conn, relationship.distributor_id, Some(user)).await?;
    let (party, org) = match (farm.role.is_some(), distributor.role.is_some()) {
        // Someone in both acts for the side the action belongs to.
        (true, true) if action == Action::End => (Party::Distributor, distributor),
        (true, _) => (Party::Farm, farm),
        (false, true) => (Party::Distributor, distributor),
        (false, false) if user.is_admin && action == Action::End => (Party::Farm, farm),
        (false, false) if user.is_admin => {
            return Err(ApiError::Forbidden(
                "only the farm itself consents to being carried".into(),
            ));
        }
        (false, false) => return Err(ApiError::not_found("no supply relationship with this id")),
    };
    policy::authorize(user, &org, OrgAction::ReadPrivate)?;
    Ok(party)
}

/// Accepts, refuses or ends a relationship as the caller's side.
pub async fn act(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    id: Uuid,
    action: Action,
    reason: Option<String>,
) -> ApiResult<RelationshipRow> {
    let current = queries::find(conn, id)
        .await?
        .ok_or_else(|| ApiError::not_found("no supply relationship with this id"))?;
    let party = party_of(conn, user, &current, action).await?;
    // Counted as sent, as the schema's maxLength counts it; kept trimmed.
    if reason
        .as_deref()
        .is_some_and(|r| r.chars().count() > MAX_TEXT_CHARS)
    {
        return Err(ApiError::validation(
            "reason",
            format!("at most {MAX_TEXT_CHARS} characters"),
        ));
    }
    let reason = reason
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty());
    conn.transaction::<_, ApiError, _>(async |conn| {
        let status = queries::lock(conn, id)
            .await?
            .ok_or_else(|| ApiError::not_found("no supply relationship with this id"))?;
        let from: SupplyStatus = from_db(&status)?;
        let Some(to) = lifecycle::next(from, action, party) else {
            let allowed = lifecycle::allowed(from, party);
            return Err(ApiError::Conflict(format!(
                "cannot {} a relationship that is {from}; {}",
                action.name(),
                match allowed.as_slice() {
                    [] => "nothing more can be done with it".to_owned(),
                    some => format!("you may: {}", some.join(", ")),
                }
            )));
        };
        queries::set_status(conn, id, to, user.id, reason.as_deref()).await?;
        let paused = if from == SupplyStatus::Accepted && to == SupplyStatus::Ended {
            consent::pause_offers_naming(
                conn,
                current.farm_id,
                Some(current.distributor_id),
                PauseReason::RelationshipEnded,
            )
            .await?
        } else {
            0
        };
        let data = SupplyChanged {
            relationship_id: id,
            distributor_id: current.distributor_id,
            farm_id: current.farm_id,
            status: to,
            reason: reason.clone(),
            offers_paused: paused,
        };
        let parties = [current.distributor_id, current.farm_id];
        feed::publish_to(conn, &parties, action.event_type(), id, &data).await?;
        Ok(())
    })
    .await?;
    queries::find(conn, id)
        .await?
        .ok_or_else(|| ApiError::not_found("no supply relationship with this id"))
}
