//! SQL of the open data: the period's lines with their published categories,
//! who is behind each cell and total, the microdata classes, and the frozen
//! rows of a release.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Date, SmallInt, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use futures_util::TryStreamExt;
use rust_decimal::Decimal;
use uuid::Uuid;

use super::aggregate::{Aggregates, Pair};
use super::disclosure::Key;
use super::package::PAGE_ROWS;
use crate::egalim::queries::{COUNTED_LINES, ORIGIN_CLASS_SQL, TERRITORY_CANTEENS};
use crate::egalim::rules::CATEGORY_SQL;
use crate::schema::{opendata_releases, opendata_supply_stats, opendata_transaction_pages};

/// The first sector of a canteen, grouped as ma-cantine groups sectors
/// ("autres" goes with leisure).
const SECTOR_CATEGORY_SQL: &str = "CASE WHEN cp.sectors[1] LIKE 'autres%' THEN 'loisir' \
     ELSE split_part(cp.sectors[1], '_', 1) END";
/// Kilograms, litres or pieces, whatever the unit sold (a crate counts by
/// its net content).
const UNIT_KIND_SQL: &str = "CASE coalesce(l.package_net_unit, l.unit) \
     WHEN 'KGM' THEN 'kg' WHEN 'GRM' THEN 'kg' WHEN 'LTR' THEN 'l' ELSE 'piece' END";
const QUANTITY_SQL: &str = "l.quantity_delivered * coalesce(l.package_net_quantity, 1) \
     * CASE coalesce(l.package_net_unit, l.unit) WHEN 'GRM' THEN 0.001 ELSE 1 END";

/// Settings of a build: room to sort a year of lines in memory, and a bound.
const BUILD_SETTINGS: &str = "SET LOCAL work_mem = '64MB'; SET LOCAL statement_timeout = '300s'";

/// Copies the period's delivered lines of the EPCI's canteens into a
/// temporary table (`od_lines`, dropped at commit), with the categories the
/// package publishes and who supplied and bought them. Must run inside a
/// transaction.
pub async fn stage_lines(
    conn: &mut AsyncPgConnection,
    epci: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<usize> {
    conn.batch_execute(BUILD_SETTINGS).await?;
    diesel::sql_query(format!(
        "CREATE TEMP TABLE od_lines ON COMMIT DROP AS {}",
        lines_select()
    ))
    .bind::<Text, _>(epci)
    .bind::<Date, _>(from)
    .bind::<Date, _>(to)
    .execute(conn)
    .await
}

/// The SELECT behind `od_lines` (also the floor of the export benchmark).
pub fn lines_select() -> String {
    let counted = COUNTED_LINES.replacen(
        " WHERE ",
        " JOIN canteen_profiles cp ON cp.organisation_id = o.buyer_id WHERE ",
        1,
    );
    format!(
        "SELECT to_char(o.delivery_date, 'YYYY-MM') AS month, l.family, \
                CASE ({CATEGORY_SQL}) WHEN 'externalities' THEN 'other' ELSE ({CATEGORY_SQL}) END AS label_group, \
                {ORIGIN_CLASS_SQL} AS origin_class, {SECTOR_CATEGORY_SQL} AS sector_category, \
                s.kind AS supplier_kind, {UNIT_KIND_SQL} AS unit_kind, {QUANTITY_SQL} AS quantity, \
                o.supplier_id, o.buyer_id, l.total_ht_cents AS value \
         {counted} AND o.delivery_date BETWEEN $2 AND $3 \
           AND o.buyer_id IN (SELECT {TERRITORY_CANTEENS})"
    )
}

/// The categories of a cell (empty where a total sums over them), as every
/// query of the build returns them.
#[derive(QueryableByName)]
struct CellKey {
    #[diesel(sql_type = Text)]
    month: String,
    #[diesel(sql_type = Text)]
    family: String,
    #[diesel(sql_type = Text)]
    label_group: String,
    #[diesel(sql_type = Text)]
    origin_class: String,
    #[diesel(sql_type = Text)]
    sector_category: String,
}

impl From<CellKey> for Key {
    fn from(k: CellKey) -> Self {
        Key {
            month: k.month,
            family: k.family,
            label_group: k.label_group,
            origin_class: k.origin_class,
            sector_category: k.sector_category,
        }
    }
}

#[derive(QueryableByName)]
struct PairRow {
    #[diesel(embed)]
    key: CellKey,
    #[diesel(sql_type = Text)]
    supplier_kind: String,
    #[diesel(sql_type = Text)]
    unit_kind: String,
    #[diesel(sql_type = SqlUuid)]
    supplier_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    buyer_id: Uuid,
    #[diesel(sql_type = BigInt)]
    value: i64,
    #[diesel(sql_type = diesel::sql_types::Numeric)]
    quantity: Decimal,
    #[diesel(sql_type = BigInt)]
    lines: i64,
}

/// The staged lines summed per cell, supplier kind, unit kind, supplier and
/// buyer (a fraction of the lines), folded as they arrive into the sums of
/// every cell, total and microdata class.
pub async fn aggregate(conn: &mut AsyncPgConnection) -> QueryResult<Aggregates> {
    let mut pairs = diesel::sql_query(
        "SELECT month, family, label_group, origin_class, sector_category, supplier_kind, unit_kind, \
                supplier_id, buyer_id, sum(value)::bigint AS value, sum(quantity) AS quantity, \
                count(*) AS lines \
           FROM od_lines GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9",
    )
    .load_stream::<PairRow>(conn)
    .await?;
    let mut sums = Aggregates::default();
    while let Some(row) = pairs.try_next().await? {
        sums.add(Pair {
            key: Key::from(row.key),
            supplier_kind: row.supplier_kind,
            unit_kind: row.unit_kind,
            supplier: row.supplier_id,
            buyer: row.buyer_id,
            value_cents: row.value,
            quantity: row.quantity,
            lines: row.lines,
        })
        .map_err(|e| diesel::result::Error::DeserializationError(e.into()))?;
    }
    Ok(sums)
}

/// A release as stored.
#[derive(Queryable, Selectable, Insertable, Debug, Clone)]
#[diesel(table_name = opendata_releases)]
pub struct ReleaseRow {
    pub id: Uuid,
    pub epci_siren: String,
    pub version: i32,
    pub period_from: NaiveDate,
    pub period_to: NaiveDate,
    pub created_at: DateTime<Utc>,
    pub published_by: Option<Uuid>,
    pub disclosure: serde_json::Value,
}

pub async fn insert_release(conn: &mut AsyncPgConnection, row: &ReleaseRow) -> QueryResult<()> {
    diesel::insert_into(opendata_releases::table)
        .values(row)
        .execute(conn)
        .await
        .map(drop)
}

pub async fn set_disclosure(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    disclosure: &serde_json::Value,
) -> QueryResult<()> {
    diesel::update(opendata_releases::table.find(id))
        .set(opendata_releases::disclosure.eq(disclosure))
        .execute(conn)
        .await
        .map(drop)
}

pub async fn release(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> QueryResult<Option<(ReleaseRow, String)>> {
    use crate::schema::epcis;
    opendata_releases::table
        .inner_join(epcis::table)
        .filter(opendata_releases::id.eq(id))
        .select((ReleaseRow::as_select(), epcis::name))
        .first(conn)
        .await
        .optional()
}

/// Published releases, newest first, optionally of one EPCI.
pub async fn releases(
    conn: &mut AsyncPgConnection,
    epci: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<(ReleaseRow, String)>> {
    use crate::schema::epcis;
    let mut query = opendata_releases::table
        .inner_join(epcis::table)
        .select((ReleaseRow::as_select(), epcis::name))
        .order((
            opendata_releases::created_at.desc(),
            opendata_releases::id.desc(),
        ))
        .limit(limit)
        .into_boxed();
    if let Some(epci) = epci {
        query = query.filter(opendata_releases::epci_siren.eq(epci.to_owned()));
    }
    query.load(conn).await
}

/// Serialises releases of one EPCI (inside the publishing transaction), then
/// tells whether one already covers part of the period, and the next version.
pub async fn claim_period(
    conn: &mut AsyncPgConnection,
    epci: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<(bool, i32)> {
    #[derive(QueryableByName)]
    struct Claim {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        overlaps: bool,
        #[diesel(sql_type = diesel::sql_types::Integer)]
        next: i32,
    }
    // Another publication of this EPCI may be building: wait for it, boundedly.
    conn.batch_execute("SET LOCAL lock_timeout = '60s'").await?;
    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended('opendata:' || $1, 0))")
        .bind::<Text, _>(epci)
        .execute(conn)
        .await?;
    let claim: Claim = diesel::sql_query(
        "SELECT coalesce(bool_or(period_from <= $3 AND period_to >= $2), false) AS overlaps, \
                coalesce(max(version), 0) + 1 AS next \
           FROM opendata_releases WHERE epci_siren = $1",
    )
    .bind::<Text, _>(epci)
    .bind::<Date, _>(from)
    .bind::<Date, _>(to)
    .get_result(conn)
    .await?;
    Ok((claim.overlaps, claim.next))
}

/// A row of `supply_stats` as stored.
#[derive(Queryable, Selectable, Insertable, Debug, Clone)]
#[diesel(table_name = opendata_supply_stats)]
pub struct SupplyStatRow {
    pub release_id: Uuid,
    pub seq: i32,
    pub level: String,
    pub month: Option<String>,
    pub family: Option<String>,
    pub label_group: Option<String>,
    pub origin_class: Option<String>,
    pub sector_category: Option<String>,
    pub value_ht_cents: Option<i64>,
    pub quantity_kg: Option<Decimal>,
    pub quantity_l: Option<Decimal>,
    pub quantity_pieces: Option<Decimal>,
    pub suppliers: Option<i32>,
    pub buyers: Option<i32>,
    pub status: String,
}

pub async fn insert_supply_stats(
    conn: &mut AsyncPgConnection,
    rows: &[SupplyStatRow],
) -> QueryResult<()> {
    // 15 parameters a row: stay far below PostgreSQL's 65,535.
    for chunk in rows.chunks(2_000) {
        diesel::insert_into(opendata_supply_stats::table)
            .values(chunk)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// The cells' keys as five parallel arrays, for `unnest`.
fn key_columns(keys: &[&Key]) -> [Vec<String>; 5] {
    let column = |f: fn(&Key) -> &String| keys.iter().map(|k| f(k).clone()).collect();
    [
        column(|k| &k.month),
        column(|k| &k.family),
        column(|k| &k.label_group),
        column(|k| &k.origin_class),
        column(|k| &k.sector_category),
    ]
}

/// The staged lines of the cells that may have microdata, generalised to
/// their cell's level (`od_micro`, dropped at commit). It runs while the
/// protection decides which of these cells stay published.
const MICRO_SELECT: &str = "SELECT li.month, li.family, li.label_group, li.origin_class, li.sector_category, \
            CASE WHEN lv.level >= 1 THEN '*' ELSE li.supplier_kind END AS supplier_kind, \
            CASE WHEN lv.level >= 2 THEN '*' ELSE li.unit_kind END AS unit_kind, \
            CASE WHEN lv.level >= 2 THEN NULL ELSE round(li.quantity, 1) END AS quantity, \
            round(li.value / 100.0)::bigint AS value_ht_eur \
       FROM od_lines li \
       JOIN unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::smallint[]) \
            AS lv(month, family, label_group, origin_class, sector_category, level) \
      USING (month, family, label_group, origin_class, sector_category)";

pub async fn stage_microdata(
    conn: &mut AsyncPgConnection,
    levels: &[(Key, i16)],
) -> QueryResult<usize> {
    let keys: Vec<&Key> = levels.iter().map(|(k, _)| k).collect();
    let [month, family, label_group, origin_class, sector_category] = key_columns(&keys);
    diesel::sql_query(format!(
        "CREATE TEMP TABLE od_micro ON COMMIT DROP AS {MICRO_SELECT}"
    ))
    .bind::<Array<Text>, _>(month)
    .bind::<Array<Text>, _>(family)
    .bind::<Array<Text>, _>(label_group)
    .bind::<Array<Text>, _>(origin_class)
    .bind::<Array<Text>, _>(sector_category)
    .bind::<Array<SmallInt>, _>(levels.iter().map(|(_, l)| *l).collect::<Vec<_>>())
    .execute(conn)
    .await
}

/// The microdata of the published cells ($2 to $6), in an order that says
/// nothing of the original one, frozen as the lines of `transactions.csv`
/// by pages of $8 rows for release $7 ($1 the territory). Also returns k, as
/// measured on those rows: the smallest class over the quasi-identifiers
/// (the territory, the same on every row, divides no class).
const WRITE_TRANSACTIONS: &str = "WITH rows AS ( \
     SELECT row_number() OVER (ORDER BY month, sector_category, supplier_kind, origin_class, family, \
                label_group, unit_kind, quantity, value_ht_eur) AS seq, \
            month, sector_category, supplier_kind, origin_class, family, label_group, unit_kind, \
            quantity, value_ht_eur \
       FROM od_micro \
       JOIN unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) \
            AS p(month, family, label_group, origin_class, sector_category) \
      USING (month, family, label_group, origin_class, sector_category)), \
   pages AS ( \
     INSERT INTO opendata_transaction_pages (release_id, page, rows, csv) \
     SELECT $7, (seq - 1) / $8 + 1, count(*), \
            string_agg(concat_ws(',', month, sector_category, $1::text, supplier_kind, origin_class, family, \
                                 label_group, unit_kind, coalesce(quantity::text, ''), value_ht_eur) \
                       || E'\\n', '' ORDER BY seq) \
       FROM rows GROUP BY 2 \
     RETURNING rows) \
 SELECT (SELECT coalesce(sum(rows), 0) FROM pages)::bigint AS published, \
        (SELECT min(n) FROM (SELECT count(*) AS n FROM rows \
                              GROUP BY month, sector_category, supplier_kind, origin_class, family) c) AS k";

/// What writing the microdata did.
#[derive(QueryableByName, Debug)]
pub struct Written {
    /// Rows published.
    #[diesel(sql_type = BigInt)]
    pub published: i64,
    /// Smallest class over the quasi-identifiers; `None` without rows.
    #[diesel(sql_type = diesel::sql_types::Nullable<BigInt>)]
    pub k: Option<i64>,
}

/// Writes the microdata of release `id`: the staged rows of the `published`
/// cells; rows of other cells are left out.
pub async fn write_transactions(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    epci: &str,
    published: &[&Key],
) -> QueryResult<Written> {
    let [month, family, label_group, origin_class, sector_category] = key_columns(published);
    diesel::sql_query(WRITE_TRANSACTIONS)
        .bind::<Text, _>(epci)
        .bind::<Array<Text>, _>(month)
        .bind::<Array<Text>, _>(family)
        .bind::<Array<Text>, _>(label_group)
        .bind::<Array<Text>, _>(origin_class)
        .bind::<Array<Text>, _>(sector_category)
        .bind::<SqlUuid, _>(id)
        .bind::<BigInt, _>(PAGE_ROWS)
        .get_result(conn)
        .await
}

/// The next `limit` rows of a release's `supply_stats` after `after`.
pub async fn supply_stats_page(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<SupplyStatRow>> {
    let after = i32::try_from(after).unwrap_or(i32::MAX);
    opendata_supply_stats::table
        .filter(opendata_supply_stats::release_id.eq(id))
        .filter(opendata_supply_stats::seq.gt(after))
        .order(opendata_supply_stats::seq)
        .limit(limit)
        .select(SupplyStatRow::as_select())
        .load(conn)
        .await
}

/// The page of a release's `transactions` after page `after`: its number
/// and its CSV lines.
pub async fn transactions_page(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    after: i64,
) -> QueryResult<Option<(i32, String)>> {
    let after = i32::try_from(after).unwrap_or(i32::MAX);
    opendata_transaction_pages::table
        .filter(opendata_transaction_pages::release_id.eq(id))
        .filter(opendata_transaction_pages::page.gt(after))
        .order(opendata_transaction_pages::page)
        .select((
            opendata_transaction_pages::page,
            opendata_transaction_pages::csv,
        ))
        .first(conn)
        .await
        .optional()
}

/// Share of `part` in `whole` (0 without lines), for the metadata.
pub fn share(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}
