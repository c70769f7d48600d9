//! Consultations in SQL.
//!
//! Sealing and the deadline live here, in the statements themselves:
//! - an answer is written by one statement that locks the consultation row
//!   FOR SHARE and checks `status = 'published' AND answers_due_at >
//!   clock_timestamp()` (the database's clock, at that instant);
//! - closing is a conditional UPDATE of the same row (`status = 'published'
//!   AND answers_due_at <= clock_timestamp()`): it waits for the answers
//!   whose check passed before the deadline, and every answer checked after
//!   it sees the row closed. So exactly the answers checked before the
//!   deadline count, and the set is complete once the closing commits;
//! - every statement that reads a price requires the consultation
//!   recorded as past `published` and its deadline passed (and not
//!   cancelled before it), whatever the caller.
//!
//! Lock order: the consultation row, then its lots, then answers and scores.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{
    Array, BigInt, Bool, Date, Int2, Int4, Nullable, Numeric, Text, Timestamptz, Uuid as SqlUuid,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::db::PrepareOnce;
use crate::http::pagination::Keyset;
use crate::schema::{
    consultation_answer_receipts, consultation_criteria, consultation_lot_sites, consultation_lots,
    consultation_scores, consultations,
};

/// The status as the clock has it, in SQL (`c` is the consultation).
pub const EFFECTIVE_STATUS_SQL: &str = "CASE WHEN c.status = 'published' \
     AND c.answers_due_at <= clock_timestamp() THEN 'closed' ELSE c.status END";

/// Prices of `c`'s answers may be read: recorded closed (or decided, or
/// cancelled after the deadline), deadline passed.
pub const PRICES_READABLE_SQL: &str = "(c.status NOT IN ('draft', 'published') \
     AND c.answers_due_at <= clock_timestamp() \
     AND (c.cancelled_at IS NULL OR c.cancelled_at >= c.answers_due_at))";

#[derive(QueryableByName, Debug, Clone)]
pub struct ConsultationRow {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub buyer_id: Uuid,
    #[diesel(sql_type = Text)]
    pub buyer_name: String,
    #[diesel(sql_type = Text)]
    pub buyer_kind: String,
    #[diesel(sql_type = Text)]
    pub title: String,
    #[diesel(sql_type = Text)]
    pub description: String,
    #[diesel(sql_type = Text)]
    pub procedure: String,
    #[diesel(sql_type = Nullable<Int4>)]
    pub duration_months: Option<i32>,
    #[diesel(sql_type = Timestamptz)]
    pub answers_due_at: DateTime<Utc>,
    /// Effective: `closed` from the deadline on.
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub cancel_reason: Option<String>,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub published_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub decided_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub cancelled_at: Option<DateTime<Utc>>,
    /// How many answers, when their number may be told (deadline passed).
    #[diesel(sql_type = Nullable<BigInt>)]
    pub answers_received: Option<i64>,
}

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<ConsultationRow>> {
    diesel::sql_query(format!(
        "SELECT c.id, c.buyer_id, b.name AS buyer_name, b.kind AS buyer_kind, c.title, \
                c.description, c.procedure, c.duration_months, c.answers_due_at, \
                {EFFECTIVE_STATUS_SQL} AS status, c.cancel_reason, c.created_at, c.published_at, \
                c.decided_at, c.cancelled_at, \
                CASE WHEN {PRICES_READABLE_SQL} THEN \
                     (SELECT count(*) FROM consultation_answers a WHERE a.consultation_id = c.id) \
                END AS answers_received \
           FROM consultations c JOIN organisations b ON b.id = c.buyer_id \
          WHERE c.id = $1"
    ))
    .bind::<SqlUuid, _>(id)
    .prepared()
    .get_result(conn)
    .await
    .optional()
}

#[derive(QueryableByName, Debug, Clone)]
pub struct CriterionRow {
    #[diesel(sql_type = Int2)]
    pub position: i16,
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = Text)]
    pub description: String,
    #[diesel(sql_type = Int2)]
    pub weight: i16,
}

pub async fn criteria(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Vec<CriterionRow>> {
    diesel::sql_query(
        "SELECT position, kind, description, weight FROM consultation_criteria \
          WHERE consultation_id = $1 ORDER BY position",
    )
    .bind::<SqlUuid, _>(id)
    .prepared()
    .load(conn)
    .await
}

#[derive(QueryableByName, Debug, Clone)]
pub struct LotRow {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Int2)]
    pub number: i16,
    #[diesel(sql_type = Text)]
    pub description: String,
    #[diesel(sql_type = Text)]
    pub family: String,
    #[diesel(sql_type = Array<Text>)]
    pub labels: Vec<String>,
    #[diesel(sql_type = Text)]
    pub unit: String,
    #[diesel(sql_type = Nullable<Numeric>)]
    pub quantity: Option<Decimal>,
    #[diesel(sql_type = Nullable<Numeric>)]
    pub quantity_min: Option<Decimal>,
    #[diesel(sql_type = Nullable<Numeric>)]
    pub quantity_max: Option<Decimal>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub max_amount_ht_cents: Option<i64>,
    #[diesel(sql_type = BigInt)]
    pub estimated_amount_ht_cents: i64,
    #[diesel(sql_type = Array<Date>)]
    pub delivery_dates: Vec<NaiveDate>,
    #[diesel(sql_type = Array<Int2>)]
    pub delivery_weekdays: Vec<i16>,
    #[diesel(sql_type = Nullable<Date>)]
    pub delivery_from: Option<NaiveDate>,
    #[diesel(sql_type = Nullable<Date>)]
    pub delivery_until: Option<NaiveDate>,
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub rationale: Option<String>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub decided_at: Option<DateTime<Utc>>,
    /// The award, public once decided.
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub winner_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    pub winner_name: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub winner_price_cents: Option<i64>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub contract_id: Option<Uuid>,
}

/// The lots, with the awarded answer's supplier and price once a lot is
/// awarded (an awarded lot is past the deadline by construction).
pub async fn lots(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Vec<LotRow>> {
    diesel::sql_query(
        "SELECT l.id, l.number, l.description, l.family, l.labels, l.unit, l.quantity, \
                l.quantity_min, l.quantity_max, l.max_amount_ht_cents, \
                l.estimated_amount_ht_cents, l.delivery_dates, l.delivery_weekdays, \
                l.delivery_from, l.delivery_until, l.status, l.rationale, l.decided_at, \
                w.id AS winner_id, w.name AS winner_name, a.unit_price_cents AS winner_price_cents, \
                k.id AS contract_id \
           FROM consultation_lots l \
           LEFT JOIN consultation_answers a ON a.id = l.awarded_answer_id AND l.status = 'awarded' \
           LEFT JOIN organisations w ON w.id = a.supplier_id \
           LEFT JOIN contracts k ON k.lot_id = l.id \
          WHERE l.consultation_id = $1 ORDER BY l.number",
    )
    .bind::<SqlUuid, _>(id).prepared()
    .load(conn)
    .await
}

#[derive(QueryableByName, Debug, Clone)]
pub struct SiteRow {
    #[diesel(sql_type = SqlUuid)]
    pub lot_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Text)]
    pub commune_insee: String,
}

pub async fn sites(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Vec<SiteRow>> {
    diesel::sql_query(
        "SELECT s.lot_id, o.id, o.name, o.commune_insee \
           FROM consultation_lot_sites s \
           JOIN consultation_lots l ON l.id = s.lot_id \
           JOIN organisations o ON o.id = s.canteen_id \
          WHERE l.consultation_id = $1 ORDER BY l.number, o.name, o.id",
    )
    .bind::<SqlUuid, _>(id)
    .prepared()
    .load(conn)
    .await
}

/// A canteen that may be a delivery site: verified, and its EPCI.
#[derive(QueryableByName, Debug, Clone)]
pub struct CanteenPlace {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub epci: Option<String>,
}

pub async fn places(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<Vec<CanteenPlace>> {
    diesel::sql_query(
        "SELECT o.id, o.kind, o.status, m.epci_siren AS epci \
           FROM organisations o JOIN communes m ON m.insee = o.commune_insee \
          WHERE o.id = ANY($1)",
    )
    .bind::<Array<SqlUuid>, _>(ids)
    .prepared()
    .load(conn)
    .await
}

/// A lot ready to be written.
pub struct NewLotRow {
    pub id: Uuid,
    pub number: i16,
    pub description: String,
    pub family: String,
    pub labels: Vec<String>,
    pub unit: String,
    pub quantity: Option<Decimal>,
    pub quantity_min: Option<Decimal>,
    pub quantity_max: Option<Decimal>,
    pub max_amount_ht_cents: Option<i64>,
    pub estimated_amount_ht_cents: i64,
    pub delivery_dates: Vec<NaiveDate>,
    pub delivery_weekdays: Vec<i16>,
    pub delivery_from: Option<NaiveDate>,
    pub delivery_until: Option<NaiveDate>,
    pub sites: Vec<Uuid>,
}

pub struct NewConsultationRow {
    pub id: Uuid,
    pub buyer_id: Uuid,
    pub title: String,
    pub description: String,
    pub procedure: String,
    pub duration_months: Option<i32>,
    pub answers_due_at: DateTime<Utc>,
    pub created_by: Uuid,
    /// (kind, description, weight), in order.
    pub criteria: Vec<(String, String, i16)>,
    pub lots: Vec<NewLotRow>,
}

/// Writes a draft with its criteria, lots and sites.
pub async fn insert(conn: &mut AsyncPgConnection, c: &NewConsultationRow) -> QueryResult<()> {
    diesel::insert_into(consultations::table)
        .values((
            consultations::id.eq(c.id),
            consultations::buyer_id.eq(c.buyer_id),
            consultations::title.eq(&c.title),
            consultations::description.eq(&c.description),
            consultations::procedure.eq(&c.procedure),
            consultations::duration_months.eq(c.duration_months),
            consultations::answers_due_at.eq(c.answers_due_at),
            consultations::created_by.eq(c.created_by),
        ))
        .execute(conn)
        .await?;
    let criteria: Vec<_> = c
        .criteria
        .iter()
        .zip(1i16..)
        .map(|((kind, description, weight), position)| {
            (
                consultation_criteria::consultation_id.eq(c.id),
                consultation_criteria::position.eq(position),
                consultation_criteria::kind.eq(kind),
                consultation_criteria::description.eq(description),
                consultation_criteria::weight.eq(*weight),
            )
        })
        .collect();
    diesel::insert_into(consultation_criteria::table)
        .values(criteria)
        .execute(conn)
        .await?;
    for lot in &c.lots {
        diesel::insert_into(consultation_lots::table)
            .values((
                consultation_lots::id.eq(lot.id),
                consultation_lots::consultation_id.eq(c.id),
                consultation_lots::number.eq(lot.number),
                consultation_lots::description.eq(&lot.description),
                consultation_lots::family.eq(&lot.family),
                consultation_lots::labels.eq(&lot.labels),
                consultation_lots::unit.eq(&lot.unit),
                consultation_lots::quantity.eq(lot.quantity),
                consultation_lots::quantity_min.eq(lot.quantity_min),
                consultation_lots::quantity_max.eq(lot.quantity_max),
                consultation_lots::max_amount_ht_cents.eq(lot.max_amount_ht_cents),
                consultation_lots::estimated_amount_ht_cents.eq(lot.estimated_amount_ht_cents),
                consultation_lots::delivery_dates.eq(&lot.delivery_dates),
                consultation_lots::delivery_weekdays.eq(&lot.delivery_weekdays),
                consultation_lots::delivery_from.eq(lot.delivery_from),
                consultation_lots::delivery_until.eq(lot.delivery_until),
            ))
            .execute(conn)
            .await?;
        let sites: Vec<_> = lot
            .sites
            .iter()
            .map(|site| {
                (
                    consultation_lot_sites::lot_id.eq(lot.id),
                    consultation_lot_sites::canteen_id.eq(*site),
                )
            })
            .collect();
        diesel::insert_into(consultation_lot_sites::table)
            .values(sites)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// The consultation's recorded status and whether its deadline has passed,
/// its row locked FOR UPDATE until the transaction ends.
#[derive(QueryableByName, Debug)]
pub struct Locked {
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = Bool)]
    pub deadline_passed: bool,
    #[diesel(sql_type = Timestamptz)]
    pub answers_due_at: DateTime<Utc>,
}

pub async fn lock(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<Locked>> {
    diesel::sql_query(
        "SELECT status, answers_due_at <= clock_timestamp() AS deadline_passed, answers_due_at \
           FROM consultations WHERE id = $1 FOR UPDATE",
    )
    .bind::<SqlUuid, _>(id)
    .prepared()
    .get_result(conn)
    .await
    .optional()
}

/// Publishes a locked draft, unless its deadline is already too near
/// (checked by the caller with the database's time, `now`).
pub async fn set_published(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<()> {
    diesel::sql_query(
        "UPDATE consultations SET status = 'published', published_at = clock_timestamp() \
          WHERE id = $1 AND status = 'draft'",
    )
    .bind::<SqlUuid, _>(id)
    .prepared()
    .execute(conn)
    .await
    .map(drop)
}

/// The database's clock now.
pub async fn clock(conn: &mut AsyncPgConnection) -> QueryResult<DateTime<Utc>> {
    #[derive(QueryableByName)]
    struct Now {
        #[diesel(sql_type = Timestamptz)]
        now: DateTime<Utc>,
    }
    let row: Now = diesel::sql_query("SELECT clock_timestamp() AS now")
        .prepared()
        .get_result(conn)
        .await?;
    Ok(row.now)
}

pub async fn set_cancelled(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    reason: &str,
) -> QueryResult<()> {
    diesel::sql_query(
        "UPDATE consultations SET status = 'cancelled', cancel_reason = $2, \
                cancelled_at = clock_timestamp() \
          WHERE id = $1 AND status IN ('draft', 'published', 'closed')",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<Text, _>(reason)
    .prepared()
    .execute(conn)
    .await
    .map(drop)
}

#[derive(QueryableByName, Debug)]
pub struct Closed {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub buyer_id: Uuid,
    #[diesel(sql_type = Timestamptz)]
    pub answers_due_at: DateTime<Utc>,
}

/// Records the closing of published consultations whose deadline has
/// passed (one, or all when `id` is `None`). The UPDATE waits for answers
/// still holding the row FOR SHARE; answers checked later see it closed.
pub async fn close_due(conn: &mut AsyncPgConnection, id: Option<Uuid>) -> QueryResult<Vec<Closed>> {
    diesel::sql_query(
        "UPDATE consultations SET status = 'closed', closed_at = answers_due_at \
          WHERE status = 'published' AND answers_due_at <= clock_timestamp() \
            AND ($1::uuid IS NULL OR id = $1) \
      RETURNING id, buyer_id, answers_due_at",
    )
    .bind::<Nullable<SqlUuid>, _>(id)
    .prepared()
    .load(conn)
    .await
}

/// The organisations that answered a consultation.
pub async fn bidders(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Vec<Uuid>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = SqlUuid)]
        supplier_id: Uuid,
    }
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT DISTINCT supplier_id FROM consultation_answers WHERE consultation_id = $1 \
          ORDER BY supplier_id",
    )
    .bind::<SqlUuid, _>(id)
    .prepared()
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.supplier_id).collect())
}

/// The canteens a consultation delivers.
pub async fn site_ids(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Vec<Uuid>> {
    Ok(sites(conn, id)
        .await?
        .into_iter()
        .map(|s| s.id)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect())
}

/// SQL: supplier `s` can serve lot `l`: a verified farm or distributor
/// that produces or offers the lot's family, and delivers every site of the
/// lot — by its declared delivery area (distributors) or by the area of one
/// of its active offers of the family (an offer without area delivers
/// anywhere), as the catalog's search decides.
pub const SERVES_LOT_SQL: &str = "(s.kind IN ('farm', 'distributor') AND s.status = 'verified' \
     AND (l.family = ANY (s.productions) OR EXISTS (SELECT 1 FROM offers f \
          WHERE f.supplier_id = s.id AND f.status = 'active' AND f.family = l.family)) \
     AND NOT EXISTS (SELECT 1 FROM consultation_lot_sites ls \
          JOIN organisations site ON site.id = ls.canteen_id \
          JOIN communes sc ON sc.insee = site.commune_insee \
         WHERE ls.lot_id = l.id \
           AND NOT EXISTS (SELECT 1 FROM delivery_areas da WHERE da.organisation_id = s.id \
                 AND ((da.area_kind = 'commune' AND da.code = sc.insee) \
                   OR (da.area_kind = 'epci' AND da.code = sc.epci_siren) \
                   OR (da.area_kind = 'departement' AND da.code = sc.departement_code))) \
           AND NOT EXISTS (SELECT 1 FROM offers o WHERE o.supplier_id = s.id \
                 AND o.status = 'active' AND o.family = l.family \
                 AND (cardinality(o.area_communes) + cardinality(o.area_epcis) \
                      + cardinality(o.area_departements) = 0 \
                   OR sc.insee = ANY (o.area_communes) OR sc.epci_siren = ANY (o.area_epcis) \
                   OR sc.departement_code = ANY (o.area_departements)))))";

/// The suppliers alerted when a consultation is published: those who can
/// serve at least one of its lots.
pub async fn eligible_suppliers(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Vec<Uuid>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
    }
    let rows: Vec<Row> = diesel::sql_query(format!(
        "SELECT s.id FROM organisations s \
          WHERE s.kind IN ('farm', 'distributor') AND s.status = 'verified' \
            AND EXISTS (SELECT 1 FROM consultation_lots l \
                         WHERE l.consultation_id = $1 AND {SERVES_LOT_SQL}) \
          ORDER BY s.id"
    ))
    .bind::<SqlUuid, _>(id)
    .prepared()
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

#[derive(QueryableByName, Debug, Clone)]
pub struct SummaryRow {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub buyer_id: Uuid,
    #[diesel(sql_type = Text)]
    pub buyer_name: String,
    #[diesel(sql_type = Text)]
    pub title: String,
    #[diesel(sql_type = Text)]
    pub procedure: String,
    #[diesel(sql_type = Timestamptz)]
    pub answers_due_at: DateTime<Utc>,
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = BigInt)]
    pub lots: i64,
    #[diesel(sql_type = Array<Text>)]
    pub families: Vec<String>,
}

const SUMMARY: &str = "SELECT c.id, c.buyer_id, b.name AS buyer_name, c.title, c.procedure, \
            c.answers_due_at, {status} AS status, \
            (SELECT count(*) FROM consultation_lots l WHERE l.consultation_id = c.id) AS lots, \
            ARRAY(SELECT DISTINCT l.family FROM consultation_lots l \
                   WHERE l.consultation_id = c.id ORDER BY 1) AS families \
       FROM consultations c JOIN organisations b ON b.id = c.buyer_id";

fn summary() -> String {
    SUMMARY.replace("{status}", EFFECTIVE_STATUS_SQL)
}

/// The consultations open to `supplier` (published, before the deadline,
/// with a lot it can serve), the nearest deadline first.
pub async fn open_for_supplier(
    conn: &mut AsyncPgConnection,
    supplier: Uuid,
    page: Keyset,
) -> QueryResult<Option<Vec<SummaryRow>>> {
    if !cursor_exists(conn, page.cursor).await? {
        return Ok(None);
    }
    diesel::sql_query(format!(
        "{} WHERE c.status = 'published' AND c.answers_due_at > clock_timestamp() \
            AND EXISTS (SELECT 1 FROM consultation_lots l, organisations s \
                         WHERE l.consultation_id = c.id AND s.id = $1 AND {SERVES_LOT_SQL}) \
            AND ($2::uuid IS NULL OR (c.answers_due_at, c.id) > \
                 (SELECT x.answers_due_at, x.id FROM consultations x WHERE x.id = $2)) \
          ORDER BY c.answers_due_at, c.id LIMIT $3",
        summary()
    ))
    .bind::<SqlUuid, _>(supplier)
    .bind::<Nullable<SqlUuid>, _>(page.cursor)
    .bind::<BigInt, _>(page.fetch())
    .prepared()
    .load(conn)
    .await
    .map(Some)
}

/// The consultations `organisation` runs or is delivered by, newest first.
pub async fn list_for_buyer(
    conn: &mut AsyncPgConnection,
    organisation: Uuid,
    status: Option<&str>,
    page: Keyset,
) -> QueryResult<Option<Vec<SummaryRow>>> {
    if !cursor_exists(conn, page.cursor).await? {
        return Ok(None);
    }
    diesel::sql_query(format!(
        "{} WHERE (c.buyer_id = $1 OR EXISTS (SELECT 1 FROM consultation_lots l \
                    JOIN consultation_lot_sites ls ON ls.lot_id = l.id \
                   WHERE l.consultation_id = c.id AND ls.canteen_id = $1)) \
            AND ($2::text IS NULL OR {EFFECTIVE_STATUS_SQL} = $2) \
            AND ($3::uuid IS NULL OR (c.created_at, c.id) < \
                 (SELECT x.created_at, x.id FROM consultations x WHERE x.id = $3)) \
          ORDER BY c.created_at DESC, c.id DESC LIMIT $4",
        summary()
    ))
    .bind::<SqlUuid, _>(organisation)
    .bind::<Nullable<Text>, _>(status)
    .bind::<Nullable<SqlUuid>, _>(page.cursor)
    .bind::<BigInt, _>(page.fetch())
    .prepared()
    .load(conn)
    .await
    .map(Some)
}

/// Whether a list's cursor names a consultation (no cursor: yes).
async fn cursor_exists(conn: &mut AsyncPgConnection, cursor: Option<Uuid>) -> QueryResult<bool> {
    match cursor {
        None => Ok(true),
        Some(id) => {
            diesel::select(diesel::dsl::exists(consultations::table.find(id)))
                .get_result(conn)
                .await
        }
    }
}

/// Is `organisation` a delivery site of the consultation?
pub async fn is_site(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    organisation: Uuid,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        consultation_lot_sites::table
            .inner_join(consultation_lots::table)
            .filter(consultation_lots::consultation_id.eq(id))
            .filter(consultation_lot_sites::canteen_id.eq(organisation)),
    ))
    .get_result(conn)
    .await
}

/// An answer as written.
pub struct AnswerInput {
    pub consultation_id: Uuid,
    pub lot_id: Uuid,
    pub supplier_id: Uuid,
    pub unit_price_cents: i64,
    pub vat_rate: Decimal,
    pub labels: Vec<String>,
    pub origin: String,
    pub producer_id: Option<Uuid>,
    pub producer_name: String,
    pub intermediaries: i16,
    pub delivery_terms: String,
    pub note: String,
    pub user: Uuid,
}

#[derive(QueryableByName, Debug)]
pub struct Written {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Int4)]
    pub revision: i32,
    #[diesel(sql_type = Timestamptz)]
    pub received_at: DateTime<Utc>,
}

/// Writes (or revises) an answer in one statement, if and only if the
/// consultation is published and its deadline has not passed at this
/// instant of the database's clock; the consultation row is held FOR SHARE
/// until the transaction ends, so the closing waits for it. `None`: closed.
pub async fn upsert_answer(
    conn: &mut AsyncPgConnection,
    a: &AnswerInput,
) -> QueryResult<Option<Written>> {
    diesel::sql_query(
        "WITH tick AS (SELECT clock_timestamp() AS at), \
              open AS (SELECT c.id, tick.at FROM consultations c, tick \
                        WHERE c.id = $1 AND c.status = 'published' AND c.answers_due_at > tick.at \
                          FOR SHARE OF c) \
         INSERT INTO consultation_answers AS a (id, consultation_id, lot_id, supplier_id, \
                unit_price_cents, vat_rate, labels, origin, producer_id, producer_name, \
                intermediaries, delivery_terms, note, revision, received_at, digest, submitted_by) \
         SELECT $2, open.id, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 1, open.at, '', $14 \
           FROM open \
         ON CONFLICT (lot_id, supplier_id) DO UPDATE SET \
                unit_price_cents = EXCLUDED.unit_price_cents, vat_rate = EXCLUDED.vat_rate, \
                labels = EXCLUDED.labels, origin = EXCLUDED.origin, \
                producer_id = EXCLUDED.producer_id, producer_name = EXCLUDED.producer_name, \
                intermediaries = EXCLUDED.intermediaries, \
                delivery_terms = EXCLUDED.delivery_terms, note = EXCLUDED.note, \
                revision = a.revision + 1, received_at = EXCLUDED.received_at, digest = '', \
                submitted_by = EXCLUDED.submitted_by \
         RETURNING a.id, a.revision, a.received_at",
    )
    .bind::<SqlUuid, _>(a.consultation_id)
    .bind::<SqlUuid, _>(Uuid::now_v7())
    .bind::<SqlUuid, _>(a.lot_id)
    .bind::<SqlUuid, _>(a.supplier_id)
    .bind::<BigInt, _>(a.unit_price_cents)
    .bind::<Numeric, _>(a.vat_rate)
    .bind::<Array<Text>, _>(&a.labels)
    .bind::<Text, _>(&a.origin)
    .bind::<Nullable<SqlUuid>, _>(a.producer_id)
    .bind::<Text, _>(&a.producer_name)
    .bind::<Int2, _>(a.intermediaries)
    .bind::<Text, _>(&a.delivery_terms)
    .bind::<Text, _>(&a.note)
    .bind::<SqlUuid, _>(a.user)
    .prepared()
    .get_result(conn)
    .await
    .optional()
}

/// Records the receipt of the revision just written.
pub async fn seal(
    conn: &mut AsyncPgConnection,
    written: &Written,
    digest: &str,
) -> QueryResult<()> {
    use crate::schema::consultation_answers;
    diesel::update(consultation_answers::table.find(written.id))
        .set(consultation_answers::digest.eq(digest))
        .execute(conn)
        .await?;
    diesel::insert_into(consultation_answer_receipts::table)
        .values((
            consultation_answer_receipts::answer_id.eq(written.id),
            consultation_answer_receipts::revision.eq(written.revision),
            consultation_answer_receipts::digest.eq(digest),
            consultation_answer_receipts::received_at.eq(written.received_at),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// An answer as the statements below select it: decoded by position
/// (hundreds of rows per evaluation; a by-name lookup per field showed in
/// its profile), so the fields follow [`ANSWER_COLUMNS`]' order.
#[derive(Queryable, Debug, Clone)]
pub struct AnswerRow {
    pub id: Uuid,
    pub lot_id: Uuid,
    pub lot_number: i16,
    pub supplier_id: Uuid,
    pub supplier_name: String,
    pub unit_price_cents: i64,
    pub vat_rate: Decimal,
    pub labels: Vec<String>,
    pub origin: String,
    pub producer_id: Option<Uuid>,
    pub producer_name: String,
    pub intermediaries: i16,
    pub delivery_terms: String,
    pub note: String,
    pub revision: i32,
    pub received_at: DateTime<Utc>,
    pub digest: String,
}

/// The SQL types of [`ANSWER_COLUMNS`], in order.
type AnswerSql = (
    SqlUuid,
    SqlUuid,
    Int2,
    SqlUuid,
    Text,
    BigInt,
    Numeric,
    Array<Text>,
    Text,
    Nullable<SqlUuid>,
    Text,
    Int2,
    Text,
    Text,
    Int4,
    Timestamptz,
    Text,
);

const ANSWER_COLUMNS: &str = "SELECT a.id, a.lot_id, l.number AS lot_number, a.supplier_id, \
            s.name AS supplier_name, a.unit_price_cents, a.vat_rate, a.labels, a.origin, \
            a.producer_id, a.producer_name, a.intermediaries, a.delivery_terms, a.note, \
            a.revision, a.received_at, a.digest";
const ANSWER_TABLES: &str = "FROM consultation_answers a \
       JOIN consultation_lots l ON l.id = a.lot_id \
       JOIN organisations s ON s.id = a.supplier_id \
       JOIN consultations c ON c.id = a.consultation_id";

/// `supplier`'s own answers to a consultation (its own prices: it sent them).
pub async fn own_answers(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    supplier: Uuid,
) -> QueryResult<Vec<AnswerRow>> {
    diesel::dsl::sql::<AnswerSql>(&format!(
        "{ANSWER_COLUMNS} {ANSWER_TABLES} WHERE a.consultation_id = "
    ))
    .bind::<SqlUuid, _>(id)
    .sql(" AND a.supplier_id = ")
    .bind::<SqlUuid, _>(supplier)
    .sql(" ORDER BY l.number")
    .prepared()
    .load(conn)
    .await
}

/// Every answer of a consultation, only once their prices may be read
/// (the condition is in the statement: before, it returns nothing).
pub async fn revealed_answers(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> QueryResult<Vec<AnswerRow>> {
    diesel::dsl::sql::<AnswerSql>(&format!(
        "{ANSWER_COLUMNS} {ANSWER_TABLES} WHERE a.consultation_id = "
    ))
    .bind::<SqlUuid, _>(id)
    .sql(&format!(
        " AND {PRICES_READABLE_SQL} ORDER BY l.number, a.received_at, a.id"
    ))
    .prepared()
    .load(conn)
    .await
}

/// A buyer's mark of an answer on one criterion, decoded by position.
#[derive(Queryable, Debug)]
pub struct MarkRow {
    pub answer_id: Uuid,
    pub position: i16,
    /// The `numeric(5, 2)` mark as integer hundredths: exact, and cheaper
    /// to read than a numeric.
    pub mark_hundredths: i32,
    pub justification: String,
}

/// The buyer's marks on a consultation's answers.
pub async fn marks(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Vec<MarkRow>> {
    diesel::dsl::sql::<(SqlUuid, Int2, Int4, Text)>(
        "SELECT answer_id, position, (mark * 100)::int4 AS mark_hundredths, justification \
           FROM consultation_scores WHERE consultation_id = ",
    )
    .bind::<SqlUuid, _>(id)
    .prepared()
    .load(conn)
    .await
}

#[derive(QueryableByName, Debug, Clone)]
pub struct ReceiptRow {
    #[diesel(sql_type = SqlUuid)]
    pub answer_id: Uuid,
    #[diesel(sql_type = Int4)]
    pub revision: i32,
    #[diesel(sql_type = Text)]
    pub digest: String,
    #[diesel(sql_type = Timestamptz)]
    pub received_at: DateTime<Utc>,
}

pub async fn receipts(
    conn: &mut AsyncPgConnection,
    answers: &[Uuid],
) -> QueryResult<Vec<ReceiptRow>> {
    diesel::sql_query(
        "SELECT answer_id, revision, digest, received_at FROM consultation_answer_receipts \
          WHERE answer_id = ANY($1) ORDER BY answer_id, revision",
    )
    .bind::<Array<SqlUuid>, _>(answers)
    .prepared()
    .load(conn)
    .await
}

/// The lot an answer belongs to, and that lot's status.
pub async fn answer_lot(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    answer: Uuid,
) -> QueryResult<Option<(Uuid, String)>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
        #[diesel(sql_type = Text)]
        status: String,
    }
    let row: Option<Row> = diesel::sql_query(
        "SELECT l.id, l.status FROM consultation_answers a \
           JOIN consultation_lots l ON l.id = a.lot_id \
          WHERE a.id = $1 AND a.consultation_id = $2",
    )
    .bind::<SqlUuid, _>(answer)
    .bind::<SqlUuid, _>(id)
    .prepared()
    .get_result(conn)
    .await
    .optional()?;
    Ok(row.map(|r| (r.id, r.status)))
}

/// Writes the buyer's marks for one answer (replacing earlier ones).
pub async fn upsert_marks(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    answer: Uuid,
    marks: &[(i16, Decimal, String)],
    user: Uuid,
) -> QueryResult<()> {
    for (position, mark, justification) in marks {
        diesel::insert_into(consultation_scores::table)
            .values((
                consultation_scores::answer_id.eq(answer),
                consultation_scores::consultation_id.eq(id),
                consultation_scores::position.eq(position),
                consultation_scores::mark.eq(mark),
                consultation_scores::justification.eq(justification),
                consultation_scores::scored_by.eq(user),
            ))
            .on_conflict((
                consultation_scores::answer_id,
                consultation_scores::position,
            ))
            .do_update()
            .set((
                consultation_scores::mark.eq(mark),
                consultation_scores::justification.eq(justification),
                consultation_scores::scored_by.eq(user),
                consultation_scores::scored_at.eq(diesel::dsl::now),
            ))
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// Decides an open lot: one conditional UPDATE, so that of concurrent
/// decisions exactly one changes the row. `false`: already decided.
pub async fn decide_lot(
    conn: &mut AsyncPgConnection,
    lot: Uuid,
    status: &str,
    answer: Option<Uuid>,
    rationale: &str,
    user: Uuid,
) -> QueryResult<bool> {
    let changed = diesel::sql_query(
        "UPDATE consultation_lots SET status = $2, awarded_answer_id = $3, rationale = $4, \
                decided_by = $5, decided_at = clock_timestamp() \
          WHERE id = $1 AND status = 'open'",
    )
    .bind::<SqlUuid, _>(lot)
    .bind::<Text, _>(status)
    .bind::<Nullable<SqlUuid>, _>(answer)
    .bind::<Text, _>(rationale)
    .bind::<SqlUuid, _>(user)
    .prepared()
    .execute(conn)
    .await?;
    Ok(changed == 1)
}

pub async fn lot_statuses(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Vec<String>> {
    consultation_lots::table
        .filter(consultation_lots::consultation_id.eq(id))
        .select(consultation_lots::status)
        .order(consultation_lots::number)
        .load(conn)
        .await
}

pub async fn set_outcome(conn: &mut AsyncPgConnection, id: Uuid, status: &str) -> QueryResult<()> {
    diesel::sql_query(
        "UPDATE consultations SET status = $2, decided_at = clock_timestamp() \
          WHERE id = $1 AND status = 'closed'",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<Text, _>(status)
    .prepared()
    .execute(conn)
    .await
    .map(drop)
}

#[derive(QueryableByName, Debug, Clone)]
pub struct FamilyTotal {
    #[diesel(sql_type = Text)]
    pub family: String,
    #[diesel(sql_type = BigInt)]
    pub orders_ht_cents: i64,
    #[diesel(sql_type = BigInt)]
    pub contracts_ht_cents: i64,
}

/// A canteen's purchases of `year` (Paris dates) per product family: its
/// orders' lines HT (not rejected or cancelled, by delivery date) and its
/// share of contracts' values HT (by start date; a contract delivering
/// several canteens counts in equal shares).
pub async fn year_purchases(
    conn: &mut AsyncPgConnection,
    canteen: Uuid,
    year: i32,
) -> QueryResult<Vec<FamilyTotal>> {
    diesel::sql_query(
        "WITH o AS (SELECT ol.family, sum(ol.total_ht_cents)::bigint AS cents \
                      FROM orders od JOIN order_lines ol ON ol.order_id = od.id \
                     WHERE od.buyer_id = $1 AND od.status NOT IN ('rejected', 'cancelled') \
                       AND extract(year FROM od.delivery_date) = $2 \
                     GROUP BY ol.family), \
              k AS (SELECT k.family, \
                           sum(k.amount_ht_cents / (SELECT count(*) FROM contract_canteens x \
                                                      WHERE x.contract_id = k.id))::bigint AS cents \
                      FROM contracts k JOIN contract_canteens kc ON kc.contract_id = k.id \
                     WHERE kc.canteen_id = $1 AND extract(year FROM k.valid_from) = $2 \
                     GROUP BY k.family) \
         SELECT coalesce(o.family, k.family) AS family, coalesce(o.cents, 0) AS orders_ht_cents, \
                coalesce(k.cents, 0) AS contracts_ht_cents \
           FROM o FULL JOIN k ON k.family = o.family ORDER BY 1",
    )
    .bind::<SqlUuid, _>(canteen)
    .bind::<Int4, _>(year).prepared()
    .load(conn)
    .await
}

/// Is `user` a member of a verified farm or distributor?
pub async fn verified_supplier_member(
    conn: &mut AsyncPgConnection,
    user: Uuid,
) -> QueryResult<bool> {
    use crate::schema::{memberships, organisations};
    diesel::select(diesel::dsl::exists(
        memberships::table
            .inner_join(organisations::table)
            .filter(memberships::user_id.eq(user))
            .filter(organisations::kind.eq_any(["farm", "distributor"]))
            .filter(organisations::status.eq("verified")),
    ))
    .get_result(conn)
    .await
}
