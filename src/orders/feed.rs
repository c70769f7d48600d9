//! The integration feed: domain events per organisation, written in the
//! transaction of the change they report (an outbox), read from a cursor.
//!
//! A cursor is `tx-seq`: the writing transaction's id and the row's number.
//! Readers see only events of transactions older than every transaction
//! still running that could write one ([`HORIZON_SQL`]), in (tx, seq) order;
//! an event can therefore never be committed behind a cursor already handed
//! out, and nothing is missed. The price: an event is readable once every
//! writing transaction older than it has ended in this database. The
//! service's writing transactions last milliseconds.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Jsonb, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::dto::FeedEvent;
use super::feed_data::{FeedData, OrderChanged};
use super::queries::OrderRow;
use crate::codes::FeedEventType;
use crate::error::ApiError;
use crate::schema::domain_events;

pub const DEFAULT_LIMIT: u32 = 100;
pub const MAX_LIMIT: u32 = 500;

/// Writes `event_type` about each of `orders` to the feeds of its buyer and
/// supplier, in one statement.
pub async fn publish(
    conn: &mut AsyncPgConnection,
    event_type: FeedEventType,
    orders: &[OrderRow],
    actor_organisation: Uuid,
    reason: Option<&str>,
) -> QueryResult<()> {
    assert!(OrderChanged::TYPES.contains(&event_type), "{event_type}");
    let mut rows = Vec::with_capacity(orders.len() * 2);
    for order in orders {
        let data = OrderChanged {
            order_id: order.id,
            checkout_id: order.checkout_id,
            status: order
                .status
                .parse()
                .map_err(|e: String| diesel::result::Error::DeserializationError(e.into()))?,
            buyer_id: order.buyer_id,
            supplier_id: order.supplier_id,
            delivery_site_id: order.delivery_site_id,
            delivery_date: order.delivery_date,
            total_ht_cents: order.total_ht_cents,
            total_vat_cents: order.total_vat_cents,
            total_ttc_cents: order.total_ttc_cents,
            actor_organisation_id: actor_organisation,
            reason: reason.map(str::to_owned),
        };
        let data = to_json(&data)?;
        for organisation in [order.buyer_id, order.supplier_id] {
            rows.push((
                domain_events::organisation_id.eq(organisation),
                domain_events::event_type.eq(event_type.as_str()),
                domain_events::subject_id.eq(order.id),
                domain_events::payload.eq(data.clone()),
                domain_events::at.eq(order.updated_at),
            ));
        }
    }
    diesel::insert_into(domain_events::table)
        .values(rows)
        .execute(conn)
        .await?;
    Ok(())
}

/// Writes one event about `subject` to the feed of each of `organisations`,
/// in one statement: events that are not about an order (supply
/// relationships, offers, consultations, contracts, invoices, standing
/// orders). `data` is the type `event_type` documents (checked).
pub async fn publish_to<D: FeedData>(
    conn: &mut AsyncPgConnection,
    organisations: &[Uuid],
    event_type: FeedEventType,
    subject: Uuid,
    data: &D,
) -> QueryResult<()> {
    assert!(D::TYPES.contains(&event_type), "{event_type}");
    let data = to_json(data)?;
    let rows: Vec<_> = organisations
        .iter()
        .map(|organisation| {
            (
                domain_events::organisation_id.eq(*organisation),
                domain_events::event_type.eq(event_type.as_str()),
                domain_events::subject_id.eq(subject),
                domain_events::payload.eq(data.clone()),
            )
        })
        .collect();
    diesel::insert_into(domain_events::table)
        .values(rows)
        .execute(conn)
        .await
        .map(drop)
}

fn to_json(data: &impl serde::Serialize) -> QueryResult<serde_json::Value> {
    serde_json::to_value(data).map_err(|e| diesel::result::Error::SerializationError(e.into()))
}

/// Parses `tx-seq`.
pub fn parse_cursor(cursor: &str) -> Result<(u64, i64), ApiError> {
    let bad = || ApiError::invalid_parameter("cursor", "is not a cursor this feed returned");
    let (tx, seq) = cursor.split_once('-').ok_or_else(bad)?;
    Ok((
        tx.parse().map_err(|_| bad())?,
        seq.parse().map_err(|_| bad())?,
    ))
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    tx: String,
    #[diesel(sql_type = BigInt)]
    seq: i64,
    #[diesel(sql_type = Text)]
    event_type: String,
    #[diesel(sql_type = SqlUuid)]
    subject_id: Uuid,
    #[diesel(sql_type = Timestamptz)]
    at: chrono::DateTime<chrono::Utc>,
    #[diesel(sql_type = Jsonb)]
    payload: serde_json::Value,
}

/// The first transaction id whose events may not all be visible yet: the
/// oldest transaction running at the statement's snapshot, leaving out those
/// seen running in another database (transaction ids are cluster-wide, but
/// another database's transactions cannot write this one's events, so a long
/// one there must not hold the feed back). A transaction whose database is
/// not known (it ended since the snapshot, or the role may not read other
/// roles' activity: superuser or `pg_read_all_stats` may) counts as ours:
/// the horizon is then earlier, never later, than it could be.
const HORIZON_SQL: &str = "(SELECT coalesce(min(x), pg_snapshot_xmax(pg_current_snapshot())) \
       FROM pg_snapshot_xip(pg_current_snapshot()) AS x \
      WHERE x::xid NOT IN (SELECT backend_xid FROM pg_stat_activity \
                            WHERE datname <> current_database() AND backend_xid IS NOT NULL))";

/// Up to `limit` events of `organisation` after `after`.
pub async fn read(
    conn: &mut AsyncPgConnection,
    organisation: Uuid,
    after: Option<(u64, i64)>,
    limit: u32,
) -> QueryResult<Vec<FeedEvent>> {
    let (tx, seq) = after.unwrap_or((0, 0));
    let rows: Vec<Row> = diesel::sql_query(format!(
        "SELECT tx::text AS tx, seq, event_type, subject_id, at, payload \
           FROM domain_events \
          WHERE organisation_id = $1 \
            AND (tx, seq) > ($2::text::xid8, $3) \
            AND tx < {HORIZON_SQL} \
          ORDER BY tx, seq \
          LIMIT $4"
    ))
    .bind::<SqlUuid, _>(organisation)
    .bind::<Text, _>(tx.to_string())
    .bind::<BigInt, _>(seq)
    .bind::<BigInt, _>(i64::from(limit))
    .load(conn)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(FeedEvent {
                cursor: format!("{}-{}", r.tx, r.seq),
                event_type: r
                    .event_type
                    .parse()
                    .map_err(|e: String| diesel::result::Error::DeserializationError(e.into()))?,
                subject_id: r.subject_id,
                at: r.at,
                data: r.payload,
            })
        })
        .collect()
}
