//! What a producing farm's consent and certifications do to the offers that
//! name it: ending a supply relationship or suspending the farm pauses them,
//! dropping a certification takes its label off them, at once and in the
//! caller's transaction. Each offer touched gets a new version, and its
//! supplier's feed an event. Past orders keep their snapshot.

use diesel::prelude::*;
use diesel::sql_types::{Array, Text, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::queries::{self, Changes, OfferRow};
use crate::codes::{FeedEventType, OfferStatus};
use crate::error::{ApiError, ApiResult};
use crate::orders::feed;
use crate::orders::feed_data::OfferCorrected;

#[derive(QueryableByName)]
struct Touched {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    supplier_id: Uuid,
    #[diesel(sql_type = Array<Text>)]
    labels: Vec<String>,
}

/// Why offers naming a farm are paused.
#[derive(Debug, Clone, Copy)]
pub enum PauseReason {
    /// The farm or the distributor ended their supply relationship.
    RelationshipEnded,
    /// The platform suspended the farm (or set it back to pending).
    FarmNotVerified,
}

impl PauseReason {
    fn text(self) -> &'static str {
        match self {
            PauseReason::RelationshipEnded => "supply_relationship_ended",
            PauseReason::FarmNotVerified => "producing_farm_not_verified",
        }
    }
}

/// Pauses the active offers that name `farm` as producer: those of
/// `distributor` only, or of every distributor when `None` (the farm's own
/// offers are left to its status). Returns how many.
pub async fn pause_offers_naming(
    conn: &mut AsyncPgConnection,
    farm: Uuid,
    distributor: Option<Uuid>,
    reason: PauseReason,
) -> QueryResult<usize> {
    let touched: Vec<Touched> = diesel::sql_query(
        "UPDATE offers SET status = 'paused', version = version + 1, updated_at = now() \
          WHERE producer_id = $1 AND supplier_id <> $1 AND status = 'active' \
            AND ($2::uuid IS NULL OR supplier_id = $2) \
      RETURNING id, supplier_id, labels",
    )
    .bind::<SqlUuid, _>(farm)
    .bind::<diesel::sql_types::Nullable<SqlUuid>, _>(distributor)
    .load(conn)
    .await?;
    for offer in &touched {
        let data = OfferCorrected {
            offer_id: offer.id,
            producer_id: farm,
            reason: reason.text().to_owned(),
            labels: None,
        };
        feed::publish_to(
            conn,
            &[offer.supplier_id],
            FeedEventType::OfferPaused,
            offer.id,
            &data,
        )
        .await?;
    }
    Ok(touched.len())
}

/// Takes off every offer naming `farm` (its own and distributors') the
/// labels it is no longer certified for. Returns how many offers changed.
pub async fn drop_uncertified_labels(
    conn: &mut AsyncPgConnection,
    farm: Uuid,
    certified: &[String],
) -> QueryResult<usize> {
    let touched: Vec<Touched> = diesel::sql_query(
        "UPDATE offers \
            SET labels = ARRAY(SELECT l FROM unnest(labels) AS l WHERE l = ANY ($2)), \
                version = version + 1, updated_at = now() \
          WHERE producer_id = $1 AND NOT labels <@ $2 \
      RETURNING id, supplier_id, labels",
    )
    .bind::<SqlUuid, _>(farm)
    .bind::<Array<Text>, _>(certified)
    .load(conn)
    .await?;
    for offer in &touched {
        let data = OfferCorrected {
            offer_id: offer.id,
            producer_id: farm,
            reason: "producing_farm_certification_dropped".to_owned(),
            labels: Some(
                offer
                    .labels
                    .iter()
                    .map(|l| l.parse())
                    .collect::<Result<_, String>>()
                    .map_err(|e| diesel::result::Error::DeserializationError(e.into()))?,
            ),
        };
        feed::publish_to(
            conn,
            &[offer.supplier_id],
            FeedEventType::OfferLabelsCorrected,
            offer.id,
            &data,
        )
        .await?;
    }
    Ok(touched.len())
}

/// Applies a supplier's `changes` to `offer` if it is still at `version`
/// (false when it is not). Resuming a distributor's offer that names a farm
/// first holds the farm's consent (`supply::queries::hold_consent`): the
/// lock order of ending a relationship or suspending a farm, so that the
/// two never deadlock; without consent the offer stays paused (409).
pub async fn update_offer(
    conn: &mut AsyncPgConnection,
    offer: &OfferRow,
    version: i32,
    changes: &Changes,
) -> ApiResult<bool> {
    let supplier = offer.supplier_id;
    let named_farm = offer.producer_id.filter(|farm| *farm != supplier);
    let resumes = changes.status.as_deref() == Some(OfferStatus::Active.as_str());
    conn.transaction::<_, ApiError, _>(async |conn| {
        if let (Some(farm), true) = (named_farm, resumes)
            && !crate::supply::queries::hold_consent(conn, supplier, farm).await?
        {
            return Err(ApiError::Conflict(
                "the producing farm is not verified or no longer accepts to be carried by \
                 you: the offer stays paused (see /organisations/{id}/supply-relationships)"
                    .into(),
            ));
        }
        Ok(queries::update_if_version(conn, offer.id, version, changes).await?)
    })
    .await
}
