//! SQL for orders, their lines and events, the stock they hold, and the
//! Idempotency-Keys of checkouts.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Numeric, Text, Timestamp, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::db::PrepareOnce;
use crate::schema::{
    canteen_profiles, communes, idempotency_keys, order_events, order_lines, orders, organisations,
};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = orders)]
pub struct OrderRow {
    pub id: Uuid,
    pub checkout_id: Uuid,
    pub buyer_id: Uuid,
    pub supplier_id: Uuid,
    pub delivery_site_id: Uuid,
    pub delivery_date: NaiveDate,
    pub note: String,
    pub status: String,
    pub total_ht_cents: i64,
    pub total_vat_cents: i64,
    pub total_ttc_cents: i64,
    pub placed_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = order_lines)]
pub struct LineRow {
    pub order_id: Uuid,
    pub line_no: i16,
    /// None for a contract's described product.
    pub offer_id: Option<Uuid>,
    pub product_name: String,
    pub family: String,
    pub labels: Vec<String>,
    pub origin: String,
    pub producer_id: Option<Uuid>,
    pub producer_name: String,
    pub producer_commune_insee: String,
    pub producer_commune: String,
    pub unit: String,
    pub package_net_quantity: Option<Decimal>,
    pub package_net_unit: Option<String>,
    pub unit_price_cents: i64,
    pub vat_rate: Decimal,
    pub quantity_ordered: Decimal,
    pub quantity_delivered: Option<Decimal>,
    pub stock_held: Decimal,
    pub total_ht_cents: i64,
    pub dispute_reason: Option<String>,
    /// The contract it was bought under, at that contract line's price.
    pub contract_id: Option<Uuid>,
    pub contract_line_no: Option<i16>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = order_events)]
pub struct EventRow {
    pub id: Uuid,
    pub order_id: Uuid,
    pub actor_user_id: Uuid,
    pub actor_organisation_id: Uuid,
    pub from_status: Option<String>,
    pub to_status: String,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}

/// An organisation as orders show it.
#[derive(Debug, Clone, Queryable)]
pub struct Party {
    pub id: Uuid,
    pub name: String,
    pub kind: String,
    pub status: String,
    pub siret: String,
    pub address: String,
    pub commune_insee: String,
    pub epci: Option<String>,
    pub departement: String,
    /// For a canteen: the SIRET of the central kitchen that cooks for it.
    pub central_kitchen_siret: Option<String>,
}

pub async fn parties(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
) -> QueryResult<HashMap<Uuid, Party>> {
    let rows: Vec<Party> = organisations::table
        .inner_join(communes::table)
        .left_join(canteen_profiles::table)
        .filter(organisations::id.eq_any(ids))
        .select((
            organisations::id,
            organisations::name,
            organisations::kind,
            organisations::status,
            organisations::siret,
            organisations::address,
            organisations::commune_insee,
            communes::epci_siren,
            communes::departement_code,
            canteen_profiles::central_kitchen_siret.nullable(),
        ))
        .load(conn)
        .await?;
    Ok(rows.into_iter().map(|p| (p.id, p)).collect())
}

#[diesel::declare_sql_function]
extern "SQL" {
    fn pg_try_advisory_xact_lock(key: BigInt) -> Bool;
    fn hashtextextended(value: Text, seed: BigInt) -> BigInt;
    fn timezone(zone: Text, at: Timestamptz) -> Timestamp;
    fn date(at: Timestamp) -> Date;
}

/// Holds the buyer's Idempotency-Key until the transaction ends: false if
/// another transaction holds it (the same checkout, sent twice at once).
/// A 64-bit hash names the lock: a collision only makes a retry necessary.
/// Also returns today's date in Paris, saving a round trip.
pub async fn lock_key(
    conn: &mut AsyncPgConnection,
    buyer: Uuid,
    key: &str,
) -> QueryResult<(bool, NaiveDate)> {
    diesel::select((
        pg_try_advisory_xact_lock(hashtextextended(format!("{buyer} {key}"), 0i64)),
        date(timezone("Europe/Paris", diesel::dsl::now)),
    ))
    .get_result(conn)
    .await
}

/// The stored request hash and response of a key already used.
pub async fn find_key(
    conn: &mut AsyncPgConnection,
    buyer: Uuid,
    key: &str,
) -> QueryResult<Option<(Vec<u8>, serde_json::Value)>> {
    idempotency_keys::table
        .find((buyer, key))
        .select((idempotency_keys::request_hash, idempotency_keys::response))
        .first(conn)
        .await
        .optional()
}

/// Keys are kept this long (the promise is at least 24 hours).
const KEY_RETENTION: chrono::TimeDelta = chrono::TimeDelta::days(7);

pub async fn store_key(
    conn: &mut AsyncPgConnection,
    buyer: Uuid,
    key: &str,
    request_hash: &[u8],
    response: &serde_json::Value,
) -> QueryResult<()> {
    diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::buyer_id.eq(buyer),
            idempotency_keys::key.eq(key),
            idempotency_keys::request_hash.eq(request_hash),
            idempotency_keys::response.eq(response),
        ))
        .execute(conn)
        .await?;
    // The buyer's expired keys go as it makes new ones: no sweeper to run.
    diesel::delete(
        idempotency_keys::table
            .filter(idempotency_keys::buyer_id.eq(buyer))
            .filter(idempotency_keys::created_at.lt(Utc::now() - KEY_RETENTION)),
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Takes `quantity` from a stocked offer's available stock into its
/// reserved stock, if the offer is still active and has enough. The row
/// lock it takes is held to the end of the transaction: callers reserve in
/// offer id order so that two baskets never wait on each other in a cycle.
pub async fn reserve(
    conn: &mut AsyncPgConnection,
    offer: Uuid,
    quantity: Decimal,
) -> QueryResult<bool> {
    use crate::schema::offers;
    let updated = diesel::update(
        offers::table
            .find(offer)
            .filter(offers::status.eq("active"))
            .filter(offers::stock_available.ge(quantity)),
    )
    .set((
        offers::stock_available.eq(offers::stock_available - quantity),
        offers::stock_reserved.eq(offers::stock_reserved + quantity),
    ))
    .execute(conn)
    .await?;
    Ok(updated == 1)
}

/// What settling a line's stock found.
pub enum Settled {
    Done,
    /// The offer is on demand now: there is no stock to settle.
    OnDemand,
    /// The delivery consumed more than the line held plus the stock left.
    Short {
        available: Decimal,
    },
}

/// Gives back what a line held: `held` leaves the reserved stock, and
/// `held − consumed` returns to the available stock. A heavier delivery
/// (`consumed` beyond `held`) takes the difference from the available
/// stock, and only if it is there: stock is never clamped, so what a farm
/// put in always equals available + reserved + delivered.
pub async fn settle_stock(
    conn: &mut AsyncPgConnection,
    offer: Uuid,
    held: Decimal,
    consumed: Decimal,
) -> QueryResult<Settled> {
    let updated = diesel::sql_query(
        "UPDATE offers SET stock_available = stock_available + $2 - $3, \
                           stock_reserved = stock_reserved - $2 \
         WHERE id = $1 AND stock_available IS NOT NULL AND stock_available + $2 - $3 >= 0",
    )
    .bind::<SqlUuid, _>(offer)
    .bind::<Numeric, _>(held)
    .bind::<Numeric, _>(consumed)
    .prepared()
    .execute(conn)
    .await?;
    if updated == 1 {
        return Ok(Settled::Done);
    }
    use crate::schema::offers;
    let available: Option<Decimal> = offers::table
        .find(offer)
        .select(offers::stock_available)
        .first(conn)
        .await?;
    Ok(match available {
        Some(available) => Settled::Short { available },
        None => Settled::OnDemand,
    })
}

pub async fn insert_orders(
    conn: &mut AsyncPgConnection,
    orders_: &[OrderRow],
    lines: &[LineRow],
    events: &[EventRow],
) -> QueryResult<()> {
    diesel::insert_into(orders::table)
        .values(orders_)
        .execute(conn)
        .await?;
    diesel::insert_into(order_lines::table)
        .values(lines)
        .execute(conn)
        .await?;
    diesel::insert_into(order_events::table)
        .values(events)
        .execute(conn)
        .await?;
    Ok(())
}

/// The order, locked until the end of the transaction: transitions of one
/// order happen one after the other.
pub async fn lock_order(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<OrderRow>> {
    orders::table
        .find(id)
        .select(OrderRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

pub async fn find_order(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<OrderRow>> {
    orders::table
        .find(id)
        .select(OrderRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Locks these orders, in id order (two invoicings of overlapping orders
/// then queue rather than deadlock), and returns those that exist.
pub async fn lock_orders(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<Vec<OrderRow>> {
    orders::table
        .filter(orders::id.eq_any(ids))
        .order(orders::id)
        .select(OrderRow::as_select())
        .for_update()
        .load(conn)
        .await
}

/// The ids of a supplier's orders to a buyer delivered and then received
/// or disputed, with a delivery date in `from..=to`.
pub async fn received_between(
    conn: &mut AsyncPgConnection,
    supplier: Uuid,
    buyer: Uuid,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Vec<Uuid>> {
    orders::table
        .filter(orders::supplier_id.eq(supplier))
        .filter(orders::buyer_id.eq(buyer))
        .filter(orders::status.eq_any(["received", "disputed"]))
        .filter(orders::delivery_date.between(from, to))
        .order(orders::id)
        .select(orders::id)
        .load(conn)
        .await
}

/// The lines of these orders, by order then line number.
pub async fn lines_of(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<Vec<LineRow>> {
    order_lines::table
        .filter(order_lines::order_id.eq_any(ids))
        .order((order_lines::order_id, order_lines::line_no))
        .select(LineRow::as_select())
        .load(conn)
        .await
}

pub async fn events_of(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Vec<EventRow>> {
    order_events::table
        .filter(order_events::order_id.eq(id))
        .order((order_events::at, order_events::id))
        .select(EventRow::as_select())
        .load(conn)
        .await
}

/// Records a transition: the new status and totals, and its event.
pub async fn record_transition(
    conn: &mut AsyncPgConnection,
    order: &OrderRow,
    event: &EventRow,
) -> QueryResult<()> {
    diesel::update(orders::table.find(order.id))
        .set((
            orders::status.eq(&order.status),
            orders::total_ht_cents.eq(order.total_ht_cents),
            orders::total_vat_cents.eq(order.total_vat_cents),
            orders::total_ttc_cents.eq(order.total_ttc_cents),
            orders::updated_at.eq(order.updated_at),
        ))
        .execute(conn)
        .await?;
    diesel::insert_into(order_events::table)
        .values(event)
        .execute(conn)
        .await?;
    Ok(())
}

/// Saves what a transition changed on a line.
pub async fn update_line(conn: &mut AsyncPgConnection, line: &LineRow) -> QueryResult<()> {
    diesel::update(order_lines::table.find((line.order_id, line.line_no)))
        .set((
            order_lines::quantity_delivered.eq(line.quantity_delivered),
            order_lines::stock_held.eq(line.stock_held),
            order_lines::total_ht_cents.eq(line.total_ht_cents),
            order_lines::dispute_reason.eq(&line.dispute_reason),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// The filters of a list of orders, checked by the handler.
pub struct Filter {
    pub organisation: Uuid,
    pub as_buyer: bool,
    pub as_supplier: bool,
    pub status: Option<String>,
    pub delivery_from: Option<NaiveDate>,
    pub delivery_to: Option<NaiveDate>,
    pub counterpart: Option<Uuid>,
    /// Orders older than this one (ids are time-ordered).
    pub before: Option<Uuid>,
    pub limit: i64,
}

pub async fn list(conn: &mut AsyncPgConnection, f: &Filter) -> QueryResult<Vec<OrderRow>> {
    let mut query = orders::table.select(OrderRow::as_select()).into_boxed();
    query = match (f.as_buyer, f.as_supplier) {
        (true, false) => query.filter(orders::buyer_id.eq(f.organisation)),
        (false, true) => query.filter(orders::supplier_id.eq(f.organisation)),
        _ => query.filter(
            orders::buyer_id
                .eq(f.organisation)
                .or(orders::supplier_id.eq(f.organisation)),
        ),
    };
    if let Some(status) = &f.status {
        query = query.filter(orders::status.eq(status.clone()));
    }
    if let Some(from) = f.delivery_from {
        query = query.filter(orders::delivery_date.ge(from));
    }
    if let Some(to) = f.delivery_to {
        query = query.filter(orders::delivery_date.le(to));
    }
    if let Some(other) = f.counterpart {
        query = query.filter(orders::buyer_id.eq(other).or(orders::supplier_id.eq(other)));
    }
    if let Some(before) = f.before {
        query = query.filter(orders::id.lt(before));
    }
    query
        .order(orders::id.desc())
        .limit(f.limit)
        .load(conn)
        .await
}

/// One row of a picking list: an offer (or a contract's described
/// product) for a delivery site.
#[derive(QueryableByName)]
pub struct PickingRow {
    #[diesel(sql_type = diesel::sql_types::Nullable<SqlUuid>)]
    pub offer_id: Option<Uuid>,
    #[diesel(sql_type = Text)]
    pub product_name: String,
    #[diesel(sql_type = Text)]
    pub unit: String,
    #[diesel(sql_type = SqlUuid)]
    pub site_id: Uuid,
    #[diesel(sql_type = Text)]
    pub site_name: String,
    #[diesel(sql_type = Text)]
    pub site_address: String,
    #[diesel(sql_type = Text)]
    pub site_commune_insee: String,
    #[diesel(sql_type = Numeric)]
    pub quantity: Decimal,
    #[diesel(sql_type = diesel::sql_types::Array<SqlUuid>)]
    pub order_ids: Vec<Uuid>,
}

/// What a supplier's accepted orders for `date` ask, per offer and site.
pub async fn picking(
    conn: &mut AsyncPgConnection,
    supplier: Uuid,
    date: NaiveDate,
) -> QueryResult<Vec<PickingRow>> {
    diesel::sql_query(
        "SELECT l.offer_id, min(l.product_name) AS product_name, min(l.unit) AS unit, \
                s.id AS site_id, s.name AS site_name, s.address AS site_address, \
                s.commune_insee AS site_commune_insee, \
                sum(l.quantity_ordered) AS quantity, array_agg(DISTINCT o.id) AS order_ids \
           FROM orders o \
           JOIN order_lines l ON l.order_id = o.id \
           JOIN organisations s ON s.id = o.delivery_site_id \
          CROSS JOIN LATERAL (SELECT CASE WHEN l.offer_id IS NULL THEN l.contract_id END \
                                       AS contract_id, \
                                     CASE WHEN l.offer_id IS NULL THEN l.contract_line_no END \
                                       AS contract_line_no) p \
          WHERE o.supplier_id = $1 AND o.delivery_date = $2 AND o.status = 'accepted' \
          GROUP BY l.offer_id, p.contract_id, p.contract_line_no, s.id \
          ORDER BY min(min(l.product_name)) \
                     OVER (PARTITION BY l.offer_id, p.contract_id, p.contract_line_no), \
                   l.offer_id, p.contract_id, p.contract_line_no, s.name, s.id",
    )
    .bind::<SqlUuid, _>(supplier)
    .bind::<Date, _>(date)
    .prepared()
    .load(conn)
    .await
}
