//! SQL of the open data: the period's lines with their published categories,
//! who is behind each cell and total, the microdata classes, and the frozen
//! rows of a release.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Date, SmallInt, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use uuid::Uuid;

use super::disclosure::{
    Contributions, Contributor, Item, Key, Level, MEASURES, MicroClass, Side, Status,
};
use crate::egalim::queries::{COUNTED_LINES, ORIGIN_CLASS_SQL, TERRITORY_CANTEENS};
use crate::egalim::rules::CATEGORY_SQL;
use crate::schema::{opendata_releases, opendata_supply_stats, opendata_transactions};

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
/// package publishes and who supplied and bought them; then sums them per
/// cell, supplier kind, unit kind, supplier and buyer (`od_pairs`, a fraction
/// of the rows), which every aggregate of the build reads. Must run inside a
/// transaction.
pub async fn stage_lines(
    conn: &mut AsyncPgConnection,
    epci: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<usize> {
    conn.batch_execute(BUILD_SETTINGS).await?;
    let lines = diesel::sql_query(format!(
        "CREATE TEMP TABLE od_lines ON COMMIT DROP AS {}",
        lines_select()
    ))
    .bind::<Text, _>(epci)
    .bind::<Date, _>(from)
    .bind::<Date, _>(to)
    .execute(conn)
    .await?;
    conn.batch_execute(
        "CREATE TEMP TABLE od_pairs ON COMMIT DROP AS \
           SELECT month, family, label_group, origin_class, sector_category, supplier_kind, unit_kind, \
                  supplier_id, buyer_id, sum(value) AS value, sum(quantity) AS quantity, count(*) AS lines \
             FROM od_lines GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9; \
         ANALYZE od_pairs",
    )
    .await?;
    Ok(lines)
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
struct ItemRow {
    #[diesel(sql_type = Text)]
    level: String,
    #[diesel(embed)]
    key: CellKey,
    #[diesel(sql_type = BigInt)]
    value: i64,
    #[diesel(sql_type = diesel::sql_types::Numeric)]
    kg: Decimal,
    #[diesel(sql_type = diesel::sql_types::Numeric)]
    l: Decimal,
    #[diesel(sql_type = diesel::sql_types::Numeric)]
    pieces: Decimal,
    #[diesel(sql_type = BigInt)]
    suppliers: i64,
    #[diesel(sql_type = BigInt)]
    buyers: i64,
}

/// The grouping of `supply_stats`: each cell, then the totals.
const ITEM_SETS: &str = "GROUPING SETS ((month, family, label_group, origin_class, sector_category), \
     (month), (family), (label_group), ())";
const ITEM_KEYS: &str = "CASE GROUPING(month, family, label_group, origin_class, sector_category) \
       WHEN 0 THEN 'cell' WHEN 15 THEN 'month' WHEN 23 THEN 'family' WHEN 27 THEN 'label_group' ELSE 'total' END AS level, \
     coalesce(month, '') AS month, coalesce(family, '') AS family, coalesce(label_group, '') AS label_group, \
     coalesce(origin_class, '') AS origin_class, coalesce(sector_category, '') AS sector_category";

/// Every cell and total of the staged lines: sums and unit counts (who is
/// behind each cell comes from [`attach_contributors`]).
pub async fn items(conn: &mut AsyncPgConnection) -> QueryResult<Vec<Item>> {
    let rows: Vec<ItemRow> = diesel::sql_query(format!(
        "SELECT {ITEM_KEYS}, sum(value)::bigint AS value, \
                coalesce(sum(quantity) FILTER (WHERE unit_kind = 'kg'), 0) AS kg, \
                coalesce(sum(quantity) FILTER (WHERE unit_kind = 'l'), 0) AS l, \
                coalesce(sum(quantity) FILTER (WHERE unit_kind = 'piece'), 0) AS pieces, \
                count(DISTINCT supplier_id) AS suppliers, count(DISTINCT buyer_id) AS buyers \
           FROM od_pairs GROUP BY {ITEM_SETS}"
    ))
    .load(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let level = match r.level.as_str() {
                "cell" => Level::Cell,
                "month" => Level::Month,
                "family" => Level::Family,
                "label_group" => Level::LabelGroup,
                _ => Level::Total,
            };
            let measures: [f64; MEASURES] = [
                r.value as f64,
                r.kg.to_f64().unwrap_or_default(),
                r.l.to_f64().unwrap_or_default(),
                r.pieces.to_f64().unwrap_or_default(),
            ];
            Item {
                level,
                key: Key::from(r.key),
                value_cents: r.value,
                suppliers: r.suppliers,
                buyers: r.buyers,
                measures,
                quantities: [r.kg, r.l, r.pieces],
                contributors: Vec::new(),
                status: Status::Published,
            }
        })
        .collect())
}

#[derive(QueryableByName)]
struct ContributorRow {
    #[diesel(embed)]
    key: CellKey,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    supplier: bool,
    #[diesel(sql_type = SqlUuid)]
    unit: Uuid,
    #[diesel(sql_type = BigInt)]
    value: i64,
    #[diesel(sql_type = diesel::sql_types::Numeric)]
    kg: Decimal,
    #[diesel(sql_type = diesel::sql_types::Numeric)]
    l: Decimal,
    #[diesel(sql_type = diesel::sql_types::Numeric)]
    pieces: Decimal,
}

/// Each supplier's and each buyer's part of every cell, attached to the
/// cells of `items` (units become small indexes: nothing leaves memory).
pub async fn attach_contributors(
    conn: &mut AsyncPgConnection,
    items: &mut [Item],
) -> QueryResult<()> {
    const SUMS: &str = "sum(value)::bigint AS value, \
         coalesce(sum(quantity) FILTER (WHERE unit_kind = 'kg'), 0) AS kg, \
         coalesce(sum(quantity) FILTER (WHERE unit_kind = 'l'), 0) AS l, \
         coalesce(sum(quantity) FILTER (WHERE unit_kind = 'piece'), 0) AS pieces";
    const CELL: &str = "month, family, label_group, origin_class, sector_category";
    let rows: Vec<ContributorRow> = diesel::sql_query(format!(
        "SELECT {CELL}, true AS supplier, supplier_id AS unit, {SUMS} FROM od_pairs GROUP BY {CELL}, supplier_id \
         UNION ALL \
         SELECT {CELL}, false, buyer_id, {SUMS} FROM od_pairs GROUP BY {CELL}, buyer_id \
         ORDER BY 1, 2, 3, 4, 5, 6, 7"
    ))
    .load(conn)
    .await?;
    let cells: std::collections::HashMap<Key, usize> = items
        .iter()
        .enumerate()
        .filter(|(_, item)| item.level == Level::Cell)
        .map(|(i, item)| (item.key.clone(), i))
        .collect();
    let mut units: std::collections::HashMap<Uuid, u32> = std::collections::HashMap::new();
    for r in rows {
        let next = u32::try_from(units.len()).unwrap_or(u32::MAX);
        let unit = *units.entry(r.unit).or_insert(next);
        let key = Key::from(r.key);
        if let Some(&i) = cells.get(&key) {
            items[i].contributors.push(Contributor {
                side: if r.supplier {
                    Side::Supplier
                } else {
                    Side::Buyer
                },
                unit,
                measures: [
                    r.value as f64,
                    r.kg.to_f64().unwrap_or_default(),
                    r.l.to_f64().unwrap_or_default(),
                    r.pieces.to_f64().unwrap_or_default(),
                ],
            });
        }
    }
    Ok(())
}

#[derive(QueryableByName)]
struct ClassRow {
    #[diesel(embed)]
    key: CellKey,
    #[diesel(sql_type = SmallInt)]
    level: i16,
    #[diesel(sql_type = BigInt)]
    rows: i64,
    #[diesel(sql_type = BigInt)]
    value: i64,
    #[diesel(sql_type = BigInt)]
    suppliers: i64,
    #[diesel(sql_type = BigInt)]
    buyers: i64,
    #[diesel(sql_type = BigInt)]
    top_supplier: i64,
    #[diesel(sql_type = BigInt)]
    top_buyer: i64,
}

/// The microdata's classes inside each cell at each generalisation level:
/// 0 by supplier kind and unit kind, 1 by unit kind, 2 the whole cell.
pub async fn micro_classes(conn: &mut AsyncPgConnection) -> QueryResult<Vec<MicroClass>> {
    const CELL: &str = "month, family, label_group, origin_class, sector_category";
    const SETS: &str = "GROUPING SETS ((supplier_kind, unit_kind), (unit_kind), ())";
    const KEYS: &str = "month, family, label_group, origin_class, sector_category, \
         CASE GROUPING(supplier_kind, unit_kind) WHEN 0 THEN 0 WHEN 2 THEN 1 ELSE 2 END::smallint AS level, \
         coalesce(supplier_kind, '*') AS supplier_kind, coalesce(unit_kind, '*') AS unit_kind";
    const JOIN: &str = "month, family, label_group, origin_class, sector_category, level, supplier_kind, unit_kind";
    let rows: Vec<ClassRow> = diesel::sql_query(format!(
        "WITH sums AS ( \
           SELECT {KEYS}, sum(lines)::bigint AS rows, sum(value)::bigint AS value, \
                  count(DISTINCT supplier_id) AS suppliers, count(DISTINCT buyer_id) AS buyers \
             FROM od_pairs GROUP BY {CELL}, {SETS}), \
         by_supplier AS ( \
           SELECT {JOIN}, max(v)::bigint AS top_supplier FROM ( \
             SELECT {KEYS}, sum(value) AS v FROM od_pairs GROUP BY {CELL}, supplier_id, {SETS}) s \
            GROUP BY {JOIN}), \
         by_buyer AS ( \
           SELECT {JOIN}, max(v)::bigint AS top_buyer FROM ( \
             SELECT {KEYS}, sum(value) AS v FROM od_pairs GROUP BY {CELL}, buyer_id, {SETS}) b \
            GROUP BY {JOIN}) \
         SELECT * FROM sums JOIN by_supplier USING ({JOIN}) JOIN by_buyer USING ({JOIN})"
    ))
    .load(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| MicroClass {
            cell: Key::from(r.key),
            level: r.level,
            rows: r.rows,
            units: Contributions {
                value_cents: r.value,
                suppliers: r.suppliers,
                buyers: r.buyers,
                top_supplier_cents: r.top_supplier,
                top_buyer_cents: r.top_buyer,
            },
        })
        .collect())
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

/// The microdata SELECT: the staged lines of published cells, generalised
/// to their cell's level, in an order that says nothing of the original one.
pub const TRANSACTIONS_SELECT: &str = "SELECT row_number() OVER (ORDER BY month, sector_category, supplier_kind, origin_class, \
         family, label_group, unit_kind, quantity, value_ht_eur) AS seq, * FROM ( \
       SELECT li.month, li.sector_category, $1::text AS buyer_territory, \
              CASE WHEN lv.level >= 1 THEN '*' ELSE li.supplier_kind END AS supplier_kind, \
              li.origin_class, li.family, li.label_group, \
              CASE WHEN lv.level >= 2 THEN '*' ELSE li.unit_kind END AS unit_kind, \
              CASE WHEN lv.level >= 2 THEN NULL ELSE round(li.quantity, 1) END AS quantity, \
              round(li.value / 100.0)::bigint AS value_ht_eur \
         FROM od_lines li \
         JOIN unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::smallint[]) \
              AS lv(month, family, label_group, origin_class, sector_category, level) \
        USING (month, family, label_group, origin_class, sector_category)) t";

/// Writes the microdata of release `id`: `levels` gives each published
/// cell's generalisation level; lines of other cells are left out.
pub async fn insert_transactions(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    epci: &str,
    levels: &[(Key, i16)],
) -> QueryResult<usize> {
    let column =
        |f: fn(&Key) -> &String| levels.iter().map(|(k, _)| f(k).clone()).collect::<Vec<_>>();
    diesel::sql_query(format!(
        "INSERT INTO opendata_transactions (seq, month, sector_category, buyer_territory, supplier_kind, \
             origin_class, family, label_group, unit_kind, quantity, value_ht_eur, release_id) \
         SELECT *, $8 FROM ({TRANSACTIONS_SELECT}) m"
    ))
    .bind::<Text, _>(epci)
    .bind::<Array<Text>, _>(column(|k| &k.month))
    .bind::<Array<Text>, _>(column(|k| &k.family))
    .bind::<Array<Text>, _>(column(|k| &k.label_group))
    .bind::<Array<Text>, _>(column(|k| &k.origin_class))
    .bind::<Array<Text>, _>(column(|k| &k.sector_category))
    .bind::<Array<SmallInt>, _>(levels.iter().map(|(_, l)| *l).collect::<Vec<_>>())
    .bind::<SqlUuid, _>(id)
    .execute(conn)
    .await
}

/// k as measured on the published microdata: the smallest class over the
/// quasi-identifiers (month, sector category, territory, supplier kind,
/// origin class, family); `None` without rows.
pub async fn measured_k(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<i64>> {
    #[derive(QueryableByName)]
    struct K {
        #[diesel(sql_type = diesel::sql_types::Nullable<BigInt>)]
        k: Option<i64>,
    }
    let row: K = diesel::sql_query(
        "SELECT min(n) AS k FROM (SELECT count(*) AS n FROM opendata_transactions WHERE release_id = $1 \
           GROUP BY month, sector_category, buyer_territory, supplier_kind, origin_class, family) c",
    )
    .bind::<SqlUuid, _>(id)
    .get_result(conn)
    .await?;
    Ok(row.k)
}

/// A row of `transactions` as stored.
#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = opendata_transactions)]
pub struct TransactionRow {
    pub seq: i64,
    pub month: String,
    pub sector_category: String,
    pub buyer_territory: String,
    pub supplier_kind: String,
    pub origin_class: String,
    pub family: String,
    pub label_group: String,
    pub unit_kind: String,
    pub quantity: Option<Decimal>,
    pub value_ht_eur: i64,
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

/// The next `limit` rows of a release's `transactions` after `after`.
pub async fn transactions_page(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<TransactionRow>> {
    opendata_transactions::table
        .filter(opendata_transactions::release_id.eq(id))
        .filter(opendata_transactions::seq.gt(after))
        .order(opendata_transactions::seq)
        .limit(limit)
        .select(TransactionRow::as_select())
        .load(conn)
        .await
}

/// Share of `part` in `whole` (0 without lines), for the metadata.
pub fn share(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}
