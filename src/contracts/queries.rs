//! Contracts in SQL.

use crate::db::PrepareOnce;
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{
    Array, BigInt, Date, Int2, Int4, Nullable, Numeric, SmallInt, Text, Timestamptz,
    Uuid as SqlUuid,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::http::pagination::Keyset;

/// Creates the contract of an awarded lot, at the awarded answer's price,
/// with the lot's canteens, and returns its id. Its number is
/// `SES<year>-<6 digits>` (14 characters, a valid DECP `id`).
pub async fn insert_from_award(
    conn: &mut AsyncPgConnection,
    lot: Uuid,
    answer: Uuid,
    amount_ht_cents: i64,
    valid_from: NaiveDate,
    valid_until: NaiveDate,
) -> QueryResult<Uuid> {
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
    }
    let id = Uuid::now_v7();
    let row: Id = diesel::sql_query(
        "INSERT INTO contracts (id, number, consultation_id, lot_id, answer_id, buyer_id, \
                supplier_id, family, description, unit, unit_price_cents, vat_rate, quantity, \
                max_amount_ht_cents, amount_ht_cents, valid_from, valid_until, status, \
                accepted_at) \
         SELECT $1, 'SES' || to_char(now() AT TIME ZONE 'Europe/Paris', 'YYYY') || '-' \
                       || lpad(nextval('contracts_number_seq')::text, 6, '0'), \
                l.consultation_id, l.id, a.id, c.buyer_id, a.supplier_id, l.family, \
                l.description, l.unit, a.unit_price_cents, a.vat_rate, l.quantity, \
                l.max_amount_ht_cents, $4, $5, $6, 'active', now() \
           FROM consultation_lots l \
           JOIN consultations c ON c.id = l.consultation_id \
           JOIN consultation_answers a ON a.id = $3 AND a.lot_id = l.id \
          WHERE l.id = $2 \
      RETURNING id",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<SqlUuid, _>(lot)
    .bind::<SqlUuid, _>(answer)
    .bind::<BigInt, _>(amount_ht_cents)
    .bind::<Date, _>(valid_from)
    .bind::<Date, _>(valid_until)
    .prepared()
    .get_result(conn)
    .await?;
    diesel::sql_query(
        "INSERT INTO contract_canteens (contract_id, canteen_id) \
         SELECT $1, canteen_id FROM consultation_lot_sites WHERE lot_id = $2",
    )
    .bind::<SqlUuid, _>(row.id)
    .bind::<SqlUuid, _>(lot)
    .prepared()
    .execute(conn)
    .await?;
    // Its one line: the lot at the awarded price, the answer's product.
    diesel::sql_query(
        "INSERT INTO contract_lines (contract_id, line_no, description, family, labels, origin, \
                producer_id, producer_name, producer_commune_insee, unit, unit_price_cents, \
                vat_rate) \
         SELECT k.id, 0, k.description, k.family, a.labels, a.origin, a.producer_id, \
                a.producer_name, coalesce(p.commune_insee, s.commune_insee), k.unit, \
                k.unit_price_cents, a.vat_rate \
           FROM contracts k \
           JOIN consultation_answers a ON a.id = k.answer_id \
           JOIN organisations s ON s.id = k.supplier_id \
           LEFT JOIN organisations p ON p.id = a.producer_id \
          WHERE k.id = $1",
    )
    .bind::<SqlUuid, _>(row.id)
    .prepared()
    .execute(conn)
    .await?;
    Ok(row.id)
}

#[derive(QueryableByName, Debug, Clone)]
pub struct ContractRow {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Text)]
    pub number: String,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub consultation_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Int2>)]
    pub lot_number: Option<i16>,
    #[diesel(sql_type = SqlUuid)]
    pub buyer_id: Uuid,
    #[diesel(sql_type = Text)]
    pub buyer_name: String,
    #[diesel(sql_type = SqlUuid)]
    pub supplier_id: Uuid,
    #[diesel(sql_type = Text)]
    pub supplier_name: String,
    #[diesel(sql_type = Array<SqlUuid>)]
    pub canteen_ids: Vec<Uuid>,
    #[diesel(sql_type = Array<Text>)]
    pub canteen_names: Vec<String>,
    #[diesel(sql_type = Text)]
    pub family: String,
    #[diesel(sql_type = Text)]
    pub description: String,
    #[diesel(sql_type = Text)]
    pub unit: String,
    #[diesel(sql_type = BigInt)]
    pub unit_price_cents: i64,
    #[diesel(sql_type = Numeric)]
    pub vat_rate: Decimal,
    #[diesel(sql_type = Nullable<Numeric>)]
    pub quantity: Option<Decimal>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub max_amount_ht_cents: Option<i64>,
    #[diesel(sql_type = BigInt)]
    pub amount_ht_cents: i64,
    #[diesel(sql_type = Date)]
    pub valid_from: NaiveDate,
    #[diesel(sql_type = Date)]
    pub valid_until: NaiveDate,
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Text>)]
    pub buyer_reference: Option<String>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub proposed_by: Option<Uuid>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub accepted_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub ended_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Text>)]
    pub termination_reason: Option<String>,
    /// Days from delivery to the due date, when shorter than the supplier's.
    #[diesel(sql_type = Nullable<SmallInt>)]
    pub payment_days: Option<i16>,
    /// What orders not cancelled or rejected take under it, HT.
    #[diesel(sql_type = BigInt)]
    pub consumed_ht_cents: i64,
}

/// The status as of now: an active contract past its last day (Paris) is
/// expired, whether or not the expiry sweep has recorded it yet.
pub const STATUS_SQL: &str = "CASE WHEN k.status = 'active' \
          AND k.valid_until < (now() AT TIME ZONE 'Europe/Paris')::date THEN 'expired' \
          ELSE k.status END";

/// What orders not cancelled or rejected take under contract `k`, HT.
const CONSUMED_SQL: &str = "(SELECT coalesce(sum(ol.total_ht_cents), 0)::int8 \
           FROM order_lines ol JOIN orders o ON o.id = ol.order_id \
          WHERE ol.contract_id = k.id AND o.status NOT IN ('cancelled', 'rejected'))";

const SELECT: &str = "SELECT k.id, k.number, k.consultation_id, l.number AS lot_number, \
            k.buyer_id, b.name AS buyer_name, k.supplier_id, s.name AS supplier_name, \
            ARRAY(SELECT kc.canteen_id FROM contract_canteens kc JOIN organisations o \
                    ON o.id = kc.canteen_id WHERE kc.contract_id = k.id ORDER BY o.name, o.id) \
              AS canteen_ids, \
            ARRAY(SELECT o.name FROM contract_canteens kc JOIN organisations o \
                    ON o.id = kc.canteen_id WHERE kc.contract_id = k.id ORDER BY o.name, o.id) \
              AS canteen_names, \
            k.family, k.description, k.unit, k.unit_price_cents, k.vat_rate, k.quantity, \
            k.max_amount_ht_cents, k.amount_ht_cents, k.valid_from, k.valid_until, \
            STATUS AS status, k.created_at, k.buyer_reference, k.proposed_by, k.accepted_at, \
            k.ended_at, k.termination_reason, k.payment_days, CONSUMED AS consumed_ht_cents \
       FROM contracts k \
       LEFT JOIN consultation_lots l ON l.id = k.lot_id \
       JOIN organisations b ON b.id = k.buyer_id \
       JOIN organisations s ON s.id = k.supplier_id";

fn select() -> String {
    SELECT
        .replace("STATUS", STATUS_SQL)
        .replace("CONSUMED", CONSUMED_SQL)
}

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<ContractRow>> {
    diesel::sql_query(format!("{} WHERE k.id = $1", select()))
        .bind::<SqlUuid, _>(id)
        .prepared()
        .get_result(conn)
        .await
        .optional()
}

/// The contracts `organisation` is a party to (buyer, supplier or a
/// delivered canteen), newest first.
pub async fn list_for(
    conn: &mut AsyncPgConnection,
    organisation: Uuid,
    page: Keyset,
) -> QueryResult<Option<Vec<ContractRow>>> {
    if let Some(cursor) = page.cursor {
        let known = diesel::select(diesel::dsl::exists(
            crate::schema::contracts::table.find(cursor),
        ))
        .get_result::<bool>(conn)
        .await?;
        if !known {
            return Ok(None);
        }
    }
    diesel::sql_query(format!(
        "{} WHERE (k.buyer_id = $1 OR k.supplier_id = $1 \
                     OR EXISTS (SELECT 1 FROM contract_canteens kc \
                                 WHERE kc.contract_id = k.id AND kc.canteen_id = $1)) \
            AND ($2::uuid IS NULL OR (k.created_at, k.id) < \
                 (SELECT x.created_at, x.id FROM contracts x WHERE x.id = $2)) \
          ORDER BY k.created_at DESC, k.id DESC LIMIT $3",
        select()
    ))
    .bind::<SqlUuid, _>(organisation)
    .bind::<Nullable<SqlUuid>, _>(page.cursor)
    .bind::<BigInt, _>(page.fetch())
    .prepared()
    .load(conn)
    .await
    .map(Some)
}

/// The EPCIs of a contract's buyer and canteens: their authorities read it.
pub async fn epcis(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Vec<String>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        epci: String,
    }
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT DISTINCT coalesce(o.authority_epci, m.epci_siren) AS epci \
           FROM contracts k \
           JOIN organisations o ON o.id = k.buyer_id \
                OR o.id IN (SELECT canteen_id FROM contract_canteens WHERE contract_id = k.id) \
           JOIN communes m ON m.insee = o.commune_insee \
          WHERE k.id = $1 AND coalesce(o.authority_epci, m.epci_siren) IS NOT NULL",
    )
    .bind::<SqlUuid, _>(id)
    .prepared()
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.epci).collect())
}

/// What a DECP record needs of a contract.
#[derive(QueryableByName, Debug, Clone)]
pub struct DecpRow {
    #[diesel(sql_type = Text)]
    pub number: String,
    #[diesel(sql_type = Text)]
    pub buyer_siret: String,
    #[diesel(sql_type = Text)]
    pub buyer_commune_insee: String,
    #[diesel(sql_type = Text)]
    pub supplier_siret: String,
    #[diesel(sql_type = Text)]
    pub title: String,
    #[diesel(sql_type = Int2)]
    pub lot_number: i16,
    #[diesel(sql_type = Text)]
    pub description: String,
    #[diesel(sql_type = Text)]
    pub family: String,
    #[diesel(sql_type = Text)]
    pub procedure: String,
    #[diesel(sql_type = Nullable<Int4>)]
    pub duration_months: Option<i32>,
    #[diesel(sql_type = Date)]
    pub valid_from: NaiveDate,
    #[diesel(sql_type = Date)]
    pub valid_until: NaiveDate,
    #[diesel(sql_type = Date)]
    pub notified_on: NaiveDate,
    #[diesel(sql_type = BigInt)]
    pub amount_ht_cents: i64,
    #[diesel(sql_type = Text)]
    pub origin: String,
    #[diesel(sql_type = BigInt)]
    pub answers: i64,
}

/// The contracts of `amount` HT or more whose buyer is the authority
/// `authority` or a canteen of its EPCI, oldest first.
pub async fn decp_rows(
    conn: &mut AsyncPgConnection,
    authority: Uuid,
    epci: &str,
    min_amount_ht_cents: i64,
) -> QueryResult<Vec<DecpRow>> {
    diesel::sql_query(
        "SELECT k.number, b.siret AS buyer_siret, b.commune_insee AS buyer_commune_insee, \
                s.siret AS supplier_siret, c.title, l.number AS lot_number, l.description, \
                k.family, c.procedure, c.duration_months, k.valid_from, k.valid_until, \
                (k.created_at AT TIME ZONE 'Europe/Paris')::date AS notified_on, \
                k.amount_ht_cents, a.origin, \
                (SELECT count(*) FROM consultation_answers x WHERE x.lot_id = l.id) AS answers \
           FROM contracts k \
           JOIN consultations c ON c.id = k.consultation_id \
           JOIN consultation_lots l ON l.id = k.lot_id \
           JOIN consultation_answers a ON a.id = k.answer_id \
           JOIN organisations b ON b.id = k.buyer_id \
           JOIN communes bm ON bm.insee = b.commune_insee \
           JOIN organisations s ON s.id = k.supplier_id \
          WHERE k.amount_ht_cents >= $3 \
            AND (k.buyer_id = $1 OR (b.kind = 'canteen' AND bm.epci_siren = $2)) \
          ORDER BY k.created_at, k.id",
    )
    .bind::<SqlUuid, _>(authority)
    .bind::<Text, _>(epci)
    .bind::<BigInt, _>(min_amount_ht_cents)
    .prepared()
    .load(conn)
    .await
}

/// Is `user` a member of one of `organisations`?
pub async fn member_of_any(
    conn: &mut AsyncPgConnection,
    user: Uuid,
    organisations: &[Uuid],
) -> QueryResult<bool> {
    use crate::schema::memberships;
    diesel::select(diesel::dsl::exists(
        memberships::table
            .filter(memberships::user_id.eq(user))
            .filter(memberships::organisation_id.eq_any(organisations)),
    ))
    .get_result(conn)
    .await
}

/// Is `user` a member of a verified authority speaking for one of `epcis`?
pub async fn speaks_for_any(
    conn: &mut AsyncPgConnection,
    user: Uuid,
    epcis: &[String],
) -> QueryResult<bool> {
    Ok(authority_member_for(conn, user, epcis).await?.is_some())
}

/// A contract's line, with what the checkout and the views need.
#[derive(QueryableByName, Debug, Clone)]
pub struct LineRow {
    #[diesel(sql_type = SqlUuid)]
    pub contract_id: Uuid,
    #[diesel(sql_type = Int2)]
    pub line_no: i16,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub offer_id: Option<Uuid>,
    #[diesel(sql_type = Text)]
    pub description: String,
    #[diesel(sql_type = Text)]
    pub family: String,
    #[diesel(sql_type = Array<Text>)]
    pub labels: Vec<String>,
    #[diesel(sql_type = Text)]
    pub origin: String,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub producer_id: Option<Uuid>,
    #[diesel(sql_type = Text)]
    pub producer_name: String,
    #[diesel(sql_type = Text)]
    pub producer_commune_insee: String,
    #[diesel(sql_type = Text)]
    pub producer_commune: String,
    #[diesel(sql_type = Text)]
    pub unit: String,
    #[diesel(sql_type = BigInt)]
    pub unit_price_cents: i64,
    #[diesel(sql_type = Numeric)]
    pub vat_rate: Decimal,
    #[diesel(sql_type = Array<Numeric>)]
    pub tier_min_quantities: Vec<Decimal>,
    #[diesel(sql_type = Array<BigInt>)]
    pub tier_prices_cents: Vec<i64>,
}

const LINE_COLUMNS: &str = "cl.contract_id, cl.line_no, cl.offer_id, cl.description, cl.family, \
     cl.labels, cl.origin, cl.producer_id, cl.producer_name, cl.producer_commune_insee, \
     pc.name AS producer_commune, cl.unit, cl.unit_price_cents, cl.vat_rate, \
     cl.tier_min_quantities, cl.tier_prices_cents";

/// The lines of `contracts`, by contract and number.
pub async fn lines_of(
    conn: &mut AsyncPgConnection,
    contracts: &[Uuid],
) -> QueryResult<Vec<LineRow>> {
    diesel::sql_query(format!(
        "SELECT {LINE_COLUMNS} FROM contract_lines cl \
           JOIN communes pc ON pc.insee = cl.producer_commune_insee \
          WHERE cl.contract_id = ANY($1) ORDER BY cl.contract_id, cl.line_no"
    ))
    .bind::<Array<SqlUuid>, _>(contracts)
    .prepared()
    .load(conn)
    .await
}

/// A direct contract, as proposed.
pub struct NewContract<'a> {
    pub buyer_id: Uuid,
    pub supplier_id: Uuid,
    pub proposed_by: Uuid,
    pub canteens: &'a [Uuid],
    pub buyer_reference: Option<&'a str>,
    pub description: &'a str,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
    pub max_amount_ht_cents: Option<i64>,
    pub payment_days: Option<i16>,
    pub lines: &'a [LineRow],
}

/// Writes a proposed direct contract and its lines; returns its id. The
/// contract's own product columns repeat its first line (an awarded lot's
/// contract has exactly one).
pub async fn insert_direct(conn: &mut AsyncPgConnection, c: &NewContract<'_>) -> QueryResult<Uuid> {
    use crate::schema::contract_lines as cl;
    let id = Uuid::now_v7();
    let first = &c.lines[0];
    diesel::sql_query(
        "INSERT INTO contracts (id, number, buyer_id, supplier_id, family, description, unit, \
                unit_price_cents, vat_rate, max_amount_ht_cents, amount_ht_cents, valid_from, \
                valid_until, status, buyer_reference, proposed_by, payment_days) \
         VALUES ($1, 'SES' || to_char(now() AT TIME ZONE 'Europe/Paris', 'YYYY') || '-' \
                       || lpad(nextval('contracts_number_seq')::text, 6, '0'), \
                 $2, $3, $4, $5, $6, $7, $8, $9, coalesce($9, 0), $10, $11, 'proposed', $12, $13, $14)",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<SqlUuid, _>(c.buyer_id)
    .bind::<SqlUuid, _>(c.supplier_id)
    .bind::<Text, _>(&first.family)
    .bind::<Text, _>(c.description)
    .bind::<Text, _>(&first.unit)
    .bind::<BigInt, _>(first.unit_price_cents)
    .bind::<Numeric, _>(first.vat_rate)
    .bind::<Nullable<BigInt>, _>(c.max_amount_ht_cents)
    .bind::<Date, _>(c.valid_from)
    .bind::<Date, _>(c.valid_until)
    .bind::<Nullable<Text>, _>(c.buyer_reference)
    .bind::<SqlUuid, _>(c.proposed_by)
    .bind::<Nullable<SmallInt>, _>(c.payment_days).prepared()
    .execute(conn)
    .await?;
    let canteens: Vec<_> = c
        .canteens
        .iter()
        .map(|canteen| {
            (
                crate::schema::contract_canteens::contract_id.eq(id),
                crate::schema::contract_canteens::canteen_id.eq(*canteen),
            )
        })
        .collect();
    diesel::insert_into(crate::schema::contract_canteens::table)
        .values(canteens)
        .execute(conn)
        .await?;
    let lines: Vec<_> = c
        .lines
        .iter()
        .map(|l| {
            (
                cl::contract_id.eq(id),
                cl::line_no.eq(l.line_no),
                cl::offer_id.eq(l.offer_id),
                cl::description.eq(&l.description),
                cl::family.eq(&l.family),
                cl::labels.eq(&l.labels),
                cl::origin.eq(&l.origin),
                cl::producer_id.eq(l.producer_id),
                cl::producer_name.eq(&l.producer_name),
                cl::producer_commune_insee.eq(&l.producer_commune_insee),
                cl::unit.eq(&l.unit),
                cl::unit_price_cents.eq(l.unit_price_cents),
                cl::vat_rate.eq(l.vat_rate),
                cl::tier_min_quantities.eq(&l.tier_min_quantities),
                cl::tier_prices_cents.eq(&l.tier_prices_cents),
            )
        })
        .collect();
    diesel::insert_into(cl::table)
        .values(lines)
        .execute(conn)
        .await?;
    Ok(id)
}

/// A contract locked for a change of status.
#[derive(QueryableByName)]
pub struct Locked {
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = SqlUuid)]
    pub buyer_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub supplier_id: Uuid,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub proposed_by: Option<Uuid>,
}

pub async fn lock(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<Locked>> {
    diesel::sql_query(format!(
        "SELECT {STATUS_SQL} AS status, k.buyer_id, k.supplier_id, k.proposed_by \
           FROM contracts k WHERE k.id = $1 FOR UPDATE"
    ))
    .bind::<SqlUuid, _>(id)
    .prepared()
    .get_result(conn)
    .await
    .optional()
}

/// Records a new status (and, for a termination, its reason).
pub async fn set_status(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    status: &str,
    reason: Option<&str>,
) -> QueryResult<()> {
    diesel::sql_query(
        "UPDATE contracts SET status = $2, termination_reason = $3, \
                accepted_at = CASE WHEN $2 = 'active' THEN now() ELSE accepted_at END, \
                ended_at = CASE WHEN $2 IN ('declined', 'terminated', 'expired') THEN now() \
                                ELSE ended_at END \
          WHERE id = $1",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<Text, _>(status)
    .bind::<Nullable<Text>, _>(reason)
    .prepared()
    .execute(conn)
    .await
    .map(drop)
}

/// Records the expiry of active contracts past their last day (Paris) and
/// returns them with their parties, to tell them.
pub async fn expire_due(conn: &mut AsyncPgConnection) -> QueryResult<Vec<(Uuid, Uuid, Uuid)>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
        #[diesel(sql_type = SqlUuid)]
        buyer_id: Uuid,
        #[diesel(sql_type = SqlUuid)]
        supplier_id: Uuid,
    }
    let rows: Vec<Row> = diesel::sql_query(
        "UPDATE contracts SET status = 'expired', ended_at = now() \
          WHERE status = 'active' AND valid_until < (now() AT TIME ZONE 'Europe/Paris')::date \
      RETURNING id, buyer_id, supplier_id",
    )
    .prepared()
    .load(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.id, r.buyer_id, r.supplier_id))
        .collect())
}

/// A contract line a basket may buy from, with its contract's terms.
#[derive(QueryableByName, Debug, Clone)]
pub struct PriceLine {
    #[diesel(embed)]
    pub line: LineRow,
    #[diesel(sql_type = Text)]
    pub number: String,
    #[diesel(sql_type = SqlUuid)]
    pub supplier_id: Uuid,
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = Date)]
    pub valid_from: NaiveDate,
    #[diesel(sql_type = Date)]
    pub valid_until: NaiveDate,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub max_amount_ht_cents: Option<i64>,
}

/// The lines of contracts `buyer` is party to (as buyer, or with `site` or
/// itself among the delivered canteens) that price one of `offers` or are
/// named in `named` (contract, line). Lines of other buyers' contracts are
/// never returned: a basket cannot learn them.
pub async fn price_lines(
    conn: &mut AsyncPgConnection,
    buyer: Uuid,
    site: Uuid,
    offers: &[Uuid],
    named: &[(Uuid, i16)],
) -> QueryResult<Vec<PriceLine>> {
    let (named_contracts, named_lines): (Vec<Uuid>, Vec<i16>) = named.iter().copied().unzip();
    diesel::sql_query(format!(
        "SELECT {LINE_COLUMNS}, k.number, k.supplier_id, {STATUS_SQL} AS status, k.valid_from, \
                k.valid_until, k.max_amount_ht_cents \
           FROM contract_lines cl \
           JOIN contracts k ON k.id = cl.contract_id \
           JOIN communes pc ON pc.insee = cl.producer_commune_insee \
          WHERE (cl.offer_id = ANY($3) \
                 OR (cl.contract_id, cl.line_no) IN (SELECT * FROM unnest($4::uuid[], $5::int2[]))) \
            AND (k.buyer_id = $1 \
                 OR EXISTS (SELECT 1 FROM contract_canteens kc \
                             WHERE kc.contract_id = k.id AND kc.canteen_id IN ($1, $2))) \
          ORDER BY cl.contract_id, cl.line_no"
    ))
    .bind::<SqlUuid, _>(buyer)
    .bind::<SqlUuid, _>(site)
    .bind::<Array<SqlUuid>, _>(offers)
    .bind::<Array<SqlUuid>, _>(&named_contracts)
    .bind::<Array<Int2>, _>(&named_lines).prepared()
    .load(conn)
    .await
}

/// A contract with a maximum, locked, and what orders already take of it.
#[derive(QueryableByName, Debug)]
pub struct Maximum {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Text)]
    pub number: String,
    #[diesel(sql_type = BigInt)]
    pub max_amount_ht_cents: i64,
    #[diesel(sql_type = BigInt)]
    pub consumed_ht_cents: i64,
}

/// Locks `contracts` that have a maximum, in id order (after the basket's
/// offers: a checkout takes offers, then contracts, so two baskets never
/// wait on each other in a cycle), and sums what orders not cancelled or
/// rejected take of each. Concurrent baskets under one contract queue on
/// its row, so their sum never passes the maximum.
pub async fn lock_maxima(
    conn: &mut AsyncPgConnection,
    contracts: &[Uuid],
) -> QueryResult<Vec<Maximum>> {
    diesel::sql_query(format!(
        "SELECT k.id, k.number, k.max_amount_ht_cents, {CONSUMED_SQL} AS consumed_ht_cents \
           FROM (SELECT id FROM contracts WHERE id = ANY($1) AND max_amount_ht_cents IS NOT NULL \
                  ORDER BY id FOR UPDATE) locked \
           JOIN contracts k ON k.id = locked.id \
          ORDER BY k.id"
    ))
    .bind::<Array<SqlUuid>, _>(contracts)
    .prepared()
    .load(conn)
    .await
}

/// Which of `canteens` are verified canteens of EPCI `epci`.
pub async fn canteens_of_epci(
    conn: &mut AsyncPgConnection,
    canteens: &[Uuid],
    epci: &str,
) -> QueryResult<Vec<Uuid>> {
    use crate::schema::{communes, organisations};
    organisations::table
        .inner_join(communes::table)
        .filter(organisations::id.eq_any(canteens))
        .filter(organisations::kind.eq("canteen"))
        .filter(organisations::status.eq("verified"))
        .filter(communes::epci_siren.eq(epci))
        .select(organisations::id)
        .load(conn)
        .await
}

/// An organisation's name and commune: a described product's producer is
/// its supplier.
pub async fn name_and_commune(
    conn: &mut AsyncPgConnection,
    organisation: Uuid,
) -> QueryResult<(String, String)> {
    use crate::schema::organisations;
    organisations::table
        .find(organisation)
        .select((organisations::name, organisations::commune_insee))
        .first(conn)
        .await
}

pub async fn set_buyer_reference(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    reference: &str,
) -> QueryResult<()> {
    diesel::sql_query("UPDATE contracts SET buyer_reference = $2 WHERE id = $1")
        .bind::<SqlUuid, _>(id)
        .bind::<Text, _>(reference)
        .prepared()
        .execute(conn)
        .await
        .map(drop)
}

/// The supplier of a contract.
pub async fn supplier_of(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<Uuid>> {
    use crate::schema::contracts;
    contracts::table
        .find(id)
        .select(contracts::supplier_id)
        .first(conn)
        .await
        .optional()
}

/// A verified authority of one of `epcis` that `user` is a member of.
pub async fn authority_member_for(
    conn: &mut AsyncPgConnection,
    user: Uuid,
    epcis: &[String],
) -> QueryResult<Option<Uuid>> {
    use crate::schema::{memberships, organisations};
    memberships::table
        .inner_join(organisations::table)
        .filter(memberships::user_id.eq(user))
        .filter(organisations::kind.eq("authority"))
        .filter(organisations::status.eq("verified"))
        .filter(organisations::authority_epci.eq_any(epcis))
        .select(organisations::id)
        .first(conn)
        .await
        .optional()
}
