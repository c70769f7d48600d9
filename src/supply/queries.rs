//! Supply relationships in SQL. Lock order when one ends: the relationship
//! row (FOR UPDATE), then the offers it pauses; the offers trigger
//! `offers_producer_consents` reads the same row FOR SHARE, so a concurrent
//! offer write either sees the relationship ended or delays the ending.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::codes::SupplyStatus;
use crate::schema::supply_relationships;

/// A relationship with both parties' names.
#[derive(QueryableByName, Debug, Clone)]
pub struct RelationshipRow {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub distributor_id: Uuid,
    #[diesel(sql_type = Text)]
    pub distributor_name: String,
    #[diesel(sql_type = SqlUuid)]
    pub farm_id: Uuid,
    #[diesel(sql_type = Text)]
    pub farm_name: String,
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = Text)]
    pub note: String,
    #[diesel(sql_type = Timestamptz)]
    pub requested_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub decided_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub ended_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Text>)]
    pub reason: Option<String>,
}

const SELECT: &str = "SELECT r.id, r.distributor_id, d.name AS distributor_name, r.farm_id, \
                             f.name AS farm_name, r.status, r.note, r.requested_at, \
                             r.decided_at, r.ended_at, r.reason \
                        FROM supply_relationships r \
                        JOIN organisations d ON d.id = r.distributor_id \
                        JOIN organisations f ON f.id = r.farm_id";

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<RelationshipRow>> {
    diesel::sql_query(format!("{SELECT} WHERE r.id = $1"))
        .bind::<SqlUuid, _>(id)
        .get_result(conn)
        .await
        .optional()
}

/// The relationships `organisation` is a party to, newest first,
/// optionally of one status.
pub async fn list_for(
    conn: &mut AsyncPgConnection,
    organisation: Uuid,
    status: Option<SupplyStatus>,
) -> QueryResult<Vec<RelationshipRow>> {
    diesel::sql_query(format!(
        "{SELECT} WHERE (r.distributor_id = $1 OR r.farm_id = $1) \
                    AND ($2::text IS NULL OR r.status = $2) \
                  ORDER BY r.requested_at DESC, r.id"
    ))
    .bind::<SqlUuid, _>(organisation)
    .bind::<Nullable<Text>, _>(status.map(SupplyStatus::as_str))
    .load(conn)
    .await
}

/// Records a distributor's request; a live one for the pair already
/// existing is a unique violation (`supply_relationships_live_idx`).
pub async fn insert_request(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    distributor: Uuid,
    farm: Uuid,
    note: &str,
    user: Uuid,
) -> QueryResult<()> {
    diesel::insert_into(supply_relationships::table)
        .values((
            supply_relationships::id.eq(id),
            supply_relationships::distributor_id.eq(distributor),
            supply_relationships::farm_id.eq(farm),
            supply_relationships::status.eq(SupplyStatus::Requested.as_str()),
            supply_relationships::note.eq(note),
            supply_relationships::requested_by.eq(user),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// The relationship's status, its row locked until the transaction ends.
pub async fn lock(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<String>> {
    supply_relationships::table
        .find(id)
        .select(supply_relationships::status)
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// Moves a locked relationship to `to`, recording who and why.
pub async fn set_status(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    to: SupplyStatus,
    user: Uuid,
    reason: Option<&str>,
) -> QueryResult<()> {
    let now = Utc::now();
    let target = supply_relationships::table.find(id);
    let status = supply_relationships::status.eq(to.as_str());
    let reason = supply_relationships::reason.eq(reason);
    match to {
        SupplyStatus::Ended => {
            diesel::update(target)
                .set((
                    status,
                    reason,
                    supply_relationships::ended_by.eq(user),
                    supply_relationships::ended_at.eq(now),
                ))
                .execute(conn)
                .await
        }
        _ => {
            diesel::update(target)
                .set((
                    status,
                    reason,
                    supply_relationships::decided_by.eq(user),
                    supply_relationships::decided_at.eq(now),
                ))
                .execute(conn)
                .await
        }
    }
    .map(drop)
}

/// Whether `farm` is verified and has accepted to be carried by
/// `distributor`, holding both rows FOR SHARE until the transaction ends.
/// Taken before writing an offer that names the farm, so that the lock
/// order is the one of ending a relationship or suspending a farm (their
/// rows first, then the offers) and the two never deadlock.
pub async fn hold_consent(
    conn: &mut AsyncPgConnection,
    distributor: Uuid,
    farm: Uuid,
) -> QueryResult<bool> {
    use crate::schema::organisations;
    let verified = organisations::table
        .find(farm)
        .filter(organisations::kind.eq("farm"))
        .filter(organisations::status.eq("verified"))
        .select(organisations::id)
        .for_share()
        .first::<Uuid>(conn)
        .await
        .optional()?
        .is_some();
    let accepted = supply_relationships::table
        .filter(supply_relationships::distributor_id.eq(distributor))
        .filter(supply_relationships::farm_id.eq(farm))
        .filter(supply_relationships::status.eq(SupplyStatus::Accepted.as_str()))
        .select(supply_relationships::id)
        .for_share()
        .first::<Uuid>(conn)
        .await
        .optional()?
        .is_some();
    Ok(verified && accepted)
}

/// Whether `farm` has accepted to be carried by `distributor`.
pub async fn is_accepted(
    conn: &mut AsyncPgConnection,
    distributor: Uuid,
    farm: Uuid,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        supply_relationships::table
            .filter(supply_relationships::distributor_id.eq(distributor))
            .filter(supply_relationships::farm_id.eq(farm))
            .filter(supply_relationships::status.eq(SupplyStatus::Accepted.as_str())),
    ))
    .get_result(conn)
    .await
}
