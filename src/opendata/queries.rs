//! SQL of the open data: the period's lines with their published categories,
//! who is behind each cell and total, the microdata classes, and the frozen
//! rows of a release.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Date, SmallInt, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use futures_util::TryStreamExt;
use uuid::Uuid;

use super::aggregate::{Aggregates, Pair};
use super::disclosure::Key;
use super::package::{
    self, LABEL_GROUPS, ORIGIN_CLASSES, PAGE_ROWS, SECTOR_CATEGORIES, SUPPLIER_KINDS, UNIT_KINDS,
    VALUE_BANDS,
};
use crate::accounts::queries::SECTOR_CATEGORY_SQL;
use crate::egalim::queries::{COUNTED_LINES, LINE_HT, ORIGIN_CLASS_SQL, TERRITORY_CANTEENS};
use crate::egalim::rules::CATEGORY_SQL;
use crate::schema::{
    opendata_payment_delays, opendata_releases, opendata_supply_stats, opendata_transaction_pages,
};

/// Kilograms, litres or pieces, whatever the unit sold (a crate counts by
/// its net content).
const UNIT_KIND_SQL: &str = "CASE coalesce(l.package_net_unit, l.unit) \
     WHEN 'KGM' THEN 'kg' WHEN 'GRM' THEN 'kg' WHEN 'LTR' THEN 'l' ELSE 'piece' END";

/// The band codes, in the order of [`VALUE_BANDS`].
const VALUE_BAND_CODES: [&str; VALUE_BANDS.len()] = {
    let mut codes = [""; VALUE_BANDS.len()];
    let mut i = 0;
    while i < VALUE_BANDS.len() {
        codes[i] = VALUE_BANDS[i].0;
        i += 1;
    }
    codes
};

/// The staged position (from 1) of the value band of `cents`.
fn value_band_sql(cents: &str) -> String {
    let mut sql = String::from("(CASE");
    for (i, (_, below)) in VALUE_BANDS.iter().enumerate() {
        match below {
            Some(limit) => sql.push_str(&format!(" WHEN {cents} < {limit} THEN {}", i + 1)),
            None => sql.push_str(&format!(" ELSE {}", i + 1)),
        }
    }
    sql.push_str(" END)::smallint");
    sql
}

/// Settings of a build: room to sort a year of lines in memory, and a bound.
const BUILD_SETTINGS: &str = "SET LOCAL work_mem = '64MB'; SET LOCAL statement_timeout = '300s'";

/// Copies the period's delivered lines of the EPCI's canteens into a
/// temporary table (`od_lines`, dropped at commit), with the categories the
/// package publishes (as [`Codes`]) and who supplied and bought them. Must
/// run inside a transaction.
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

/// The categories are staged as small integers, their position (from 1) in
/// the package's lists of codes, and the month as its first day: grouping
/// and joining a year of lines then compares fixed-width values, not text.
struct Codes {
    families: Vec<&'static str>,
}

impl Codes {
    fn new() -> Self {
        Codes {
            families: package::families(),
        }
    }

    /// The staged position of `expr` in `codes` (all our own codes, which
    /// need no quoting); 0 for a value missing from the list, which
    /// [`Codes::code`] then reports.
    fn encode(codes: &[&str], expr: &str) -> String {
        format!(
            "coalesce(array_position('{{{}}}'::text[], ({expr})), 0)::smallint",
            codes.join(",")
        )
    }

    /// The code at staged position `column`.
    fn decode(codes: &[&str], column: &str) -> String {
        format!("('{{{}}}'::text[])[{column}]", codes.join(","))
    }

    /// The code at staged position `position`, read back in Rust.
    fn code(codes: &[&'static str], position: i16) -> QueryResult<&'static str> {
        Self::position(codes, position).map(|i| codes[i])
    }

    /// The index in `codes` of staged position `position`.
    fn position(codes: &[&'static str], position: i16) -> QueryResult<usize> {
        usize::try_from(position)
            .ok()
            .and_then(|p| p.checked_sub(1))
            .filter(|&i| i < codes.len())
            .ok_or_else(|| {
                diesel::result::Error::DeserializationError(
                    format!("a staged line has a category outside {codes:?} (position {position})")
                        .into(),
                )
            })
    }
}

/// The SELECT behind `od_lines`.
fn lines_select() -> String {
    let counted = COUNTED_LINES.replacen(
        " WHERE ",
        " JOIN canteen_profiles cp ON cp.organisation_id = o.buyer_id WHERE ",
        1,
    );
    let codes = Codes::new();
    let family = Codes::encode(&codes.families, "l.family");
    let label_group = Codes::encode(
        LABEL_GROUPS,
        &format!(
            "CASE ({CATEGORY_SQL}) WHEN 'externalities' THEN 'other' ELSE ({CATEGORY_SQL}) END"
        ),
    );
    let origin_class = Codes::encode(ORIGIN_CLASSES, ORIGIN_CLASS_SQL);
    let sector_category = Codes::encode(&SECTOR_CATEGORIES, SECTOR_CATEGORY_SQL);
    let supplier_kind = Codes::encode(&SUPPLIER_KINDS, "s.kind");
    let unit_kind = Codes::encode(&UNIT_KINDS, UNIT_KIND_SQL);
    let value_band = value_band_sql(LINE_HT);
    format!(
        "SELECT o.supplier_id, o.buyer_id, {LINE_HT} AS value, \
                date_trunc('month', o.delivery_date::timestamp)::date AS month, {family} AS family, \
                {label_group} AS label_group, {origin_class} AS origin_class, \
                {sector_category} AS sector_category, {supplier_kind} AS supplier_kind, \
                {unit_kind} AS unit_kind, {value_band} AS value_band \
         {counted} AND o.delivery_date BETWEEN $2 AND $3 \
           AND o.buyer_id IN (SELECT {TERRITORY_CANTEENS})"
    )
}

/// What one supplier sold one buyer in a cell, as staged.
#[derive(QueryableByName)]
struct PairRow {
    #[diesel(sql_type = Date)]
    month: NaiveDate,
    #[diesel(sql_type = SmallInt)]
    family: i16,
    #[diesel(sql_type = SmallInt)]
    label_group: i16,
    #[diesel(sql_type = SmallInt)]
    origin_class: i16,
    #[diesel(sql_type = SmallInt)]
    sector_category: i16,
    #[diesel(sql_type = SmallInt)]
    supplier_kind: i16,
    #[diesel(sql_type = SmallInt)]
    unit_kind: i16,
    #[diesel(sql_type = SmallInt)]
    value_band: i16,
    #[diesel(sql_type = SqlUuid)]
    supplier_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    buyer_id: Uuid,
    #[diesel(sql_type = BigInt)]
    value: i64,
    #[diesel(sql_type = BigInt)]
    lines: i64,
}

impl PairRow {
    fn pair(&self) -> QueryResult<Pair> {
        let index = |position: i16| {
            usize::try_from(position)
                .ok()
                .and_then(|p| p.checked_sub(1))
                .ok_or_else(|| {
                    diesel::result::Error::DeserializationError(
                        format!("a staged line has a category at position {position}").into(),
                    )
                })
        };
        Ok(Pair {
            cell: (
                self.month,
                self.family,
                self.label_group,
                self.origin_class,
                self.sector_category,
            ),
            supplier_kind: index(self.supplier_kind)?,
            unit_kind: index(self.unit_kind)?,
            value_band: index(self.value_band)?,
            supplier: self.supplier_id,
            buyer: self.buyer_id,
            value_cents: self.value,
            lines: self.lines,
        })
    }

    /// The cell's categories as codes (once per cell).
    fn key(&self, codes: &Codes) -> QueryResult<Key> {
        Ok(Key {
            month: self.month.format("%Y-%m").to_string(),
            family: Codes::code(&codes.families, self.family)?.to_owned(),
            label_group: Codes::code(LABEL_GROUPS, self.label_group)?.to_owned(),
            origin_class: Codes::code(ORIGIN_CLASSES, self.origin_class)?.to_owned(),
            sector_category: Codes::code(&SECTOR_CATEGORIES, self.sector_category)?.to_owned(),
        })
    }
}

/// The staged lines summed per cell, supplier kind, unit kind, value band,
/// supplier and buyer (a fraction of the lines), folded as they arrive into
/// the sums of every cell, total and microdata class.
pub async fn aggregate(conn: &mut AsyncPgConnection) -> QueryResult<Aggregates> {
    let mut pairs = diesel::sql_query(
        "SELECT month, family, label_group, origin_class, sector_category, supplier_kind, unit_kind, \
                value_band, supplier_id, buyer_id, sum(value)::bigint AS value, count(*) AS lines \
           FROM od_lines GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10",
    )
    .load_stream::<PairRow>(conn)
    .await?;
    let codes = Codes::new();
    let mut sums = Aggregates::default();
    while let Some(row) = pairs.try_next().await? {
        sums.add(row.pair()?, || row.key(&codes).map_err(|e| e.to_string()))
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
/// Up to `limit` releases, newest first, after the release `after` (its
/// `created_at`, then id, as the order); `None` when `after` is no release.
pub async fn releases(
    conn: &mut AsyncPgConnection,
    epci: Option<&str>,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Option<Vec<(ReleaseRow, String)>>> {
    use crate::schema::epcis;
    let from = match after {
        Some(id) => match opendata_releases::table
            .find(id)
            .select(opendata_releases::created_at)
            .first::<DateTime<Utc>>(conn)
            .await
            .optional()?
        {
            Some(at) => Some((at, id)),
            None => return Ok(None),
        },
        None => None,
    };
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
    if let Some((at, id)) = from {
        query = query.filter(
            opendata_releases::created_at
                .lt(at)
                .or(opendata_releases::created_at
                    .eq(at)
                    .and(opendata_releases::id.lt(id))),
        );
    }
    query.load(conn).await.map(Some)
}

/// Open data builds the whole cluster runs at once, whatever the number of
/// instances: each aggregates a territory's year, heavy on the database.
pub const BUILD_SLOTS: i32 = 2;

/// Takes one of the [`BUILD_SLOTS`] for the rest of the transaction (a
/// transaction-level advisory lock, so every instance shares the count and
/// a crashed build frees its slot); `false` when every slot is taken.
/// `EXISTS` stops at the first slot it locks, so it holds one at most.
pub async fn take_build_slot(conn: &mut AsyncPgConnection) -> QueryResult<bool> {
    #[derive(QueryableByName)]
    struct Taken {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        taken: bool,
    }
    let slot: Taken = diesel::sql_query(
        "SELECT EXISTS (SELECT FROM generate_series(0, $1 - 1) AS s \
          WHERE pg_try_advisory_xact_lock(hashtext('sesame.opendata.builds'), s)) AS taken",
    )
    .bind::<diesel::sql_types::Integer, _>(BUILD_SLOTS)
    .get_result(conn)
    .await?;
    Ok(slot.taken)
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
    pub suppliers: Option<i32>,
    pub buyers: Option<i32>,
    pub status: String,
}

pub async fn insert_supply_stats(
    conn: &mut AsyncPgConnection,
    rows: &[SupplyStatRow],
) -> QueryResult<()> {
    // 12 parameters a row: stay far below PostgreSQL's 65,535.
    for chunk in rows.chunks(4_000) {
        diesel::insert_into(opendata_supply_stats::table)
            .values(chunk)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// A frozen row of `payment_delays`.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = opendata_payment_delays)]
pub struct PaymentDelayRow {
    pub release_id: Uuid,
    pub seq: i32,
    pub month: String,
    pub sector_category: String,
    pub invoices: Option<i32>,
    pub median_days: Option<rust_decimal::Decimal>,
    pub status: String,
}

/// A release's payment delays are a grid of months × sector categories: a
/// few hundred rows at most, written and read at once.
pub async fn insert_payment_delays(
    conn: &mut AsyncPgConnection,
    rows: &[PaymentDelayRow],
) -> QueryResult<()> {
    diesel::insert_into(opendata_payment_delays::table)
        .values(rows)
        .execute(conn)
        .await
        .map(drop)
}

/// The rows of a release's `payment_delays` after `after`.
pub async fn payment_delays_page(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<PaymentDelayRow>> {
    let after = i32::try_from(after).unwrap_or(i32::MAX);
    opendata_payment_delays::table
        .filter(opendata_payment_delays::release_id.eq(id))
        .filter(opendata_payment_delays::seq.gt(after))
        .order(opendata_payment_delays::seq)
        .limit(limit)
        .select(PaymentDelayRow::as_select())
        .load(conn)
        .await
}

/// The cells' keys as five parallel arrays, for `unnest`.
fn key_columns<'a>(keys: impl Iterator<Item = &'a Key> + Clone) -> [Vec<&'a str>; 5] {
    let column = |f: fn(&Key) -> &str| keys.clone().map(f).collect();
    [
        column(|k| &k.month),
        column(|k| &k.family),
        column(|k| &k.label_group),
        column(|k| &k.origin_class),
        column(|k| &k.sector_category),
    ]
}

/// The microdata: the staged lines of the published cells ($2 to $6, each
/// with its generalisation level in $7) with their categories generalised
/// and their value as its band, numbered in an order that says nothing of
/// the original one. Then frozen as the lines of `transactions.csv` by
/// pages of $9 rows for release $8 ($1 the territory).
fn write_transactions_sql() -> String {
    let codes = Codes::new();
    let family = Codes::encode(&codes.families, "c.family");
    let label_group = Codes::encode(LABEL_GROUPS, "c.label_group");
    let origin_class = Codes::encode(ORIGIN_CLASSES, "c.origin_class");
    let sector_category = Codes::encode(&SECTOR_CATEGORIES, "c.sector_category");
    let supplier_kind = Codes::decode(&SUPPLIER_KINDS, "li.supplier_kind");
    let unit_kind = Codes::decode(&UNIT_KINDS, "li.unit_kind");
    let value_band = Codes::decode(&VALUE_BAND_CODES, "li.value_band");
    format!(
        "WITH rows AS ( \
           SELECT row_number() OVER (ORDER BY month, sector_category, supplier_kind, origin_class, family, \
                      label_group, unit_kind, band_order) AS seq, * \
             FROM (SELECT cell.month, cell.sector_category, \
                          CASE WHEN cell.level >= 1 THEN '*' ELSE {supplier_kind} END AS supplier_kind, \
                          cell.origin_class, cell.family, cell.label_group, \
                          CASE WHEN cell.level >= 2 THEN '*' ELSE {unit_kind} END AS unit_kind, \
                          CASE WHEN cell.level >= 3 THEN '*' ELSE {value_band} END AS value_band, \
                          CASE WHEN cell.level >= 3 THEN 0 ELSE li.value_band END AS band_order \
                     FROM od_lines li \
                     JOIN (SELECT c.*, to_date(c.month, 'YYYY-MM') AS month_code, {family} AS family_code, \
                                  {label_group} AS label_group_code, {origin_class} AS origin_class_code, \
                                  {sector_category} AS sector_category_code \
                             FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::smallint[]) \
                                  AS c(month, family, label_group, origin_class, sector_category, level)) cell \
                       ON li.month = cell.month_code AND li.family = cell.family_code \
                      AND li.label_group = cell.label_group_code AND li.origin_class = cell.origin_class_code \
                      AND li.sector_category = cell.sector_category_code) generalised), \
         pages AS ( \
           INSERT INTO opendata_transaction_pages (release_id, page, rows, csv) \
           SELECT $8, (seq - 1) / $9 + 1, count(*), \
                  string_agg(concat_ws(',', month, sector_category, $1::text, supplier_kind, origin_class, family, \
                                       label_group, unit_kind, value_band) \
                             || E'\\n', '' ORDER BY seq) \
             FROM rows GROUP BY 2 \
           RETURNING rows) \
       SELECT coalesce(sum(rows), 0)::bigint AS published FROM pages"
    )
}

/// What writing the microdata did.
#[derive(QueryableByName, Debug)]
pub struct Written {
    /// Rows published.
    #[diesel(sql_type = BigInt)]
    pub published: i64,
}

/// Writes the microdata of release `id`: the staged lines of the published
/// cells, each generalised to its level; lines of other cells are left out.
pub async fn write_transactions(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    epci: &str,
    published: &[(&Key, i16)],
) -> QueryResult<Written> {
    let [month, family, label_group, origin_class, sector_category] =
        key_columns(published.iter().map(|(key, _)| *key));
    diesel::sql_query(write_transactions_sql())
        .bind::<Text, _>(epci)
        .bind::<Array<Text>, _>(month)
        .bind::<Array<Text>, _>(family)
        .bind::<Array<Text>, _>(label_group)
        .bind::<Array<Text>, _>(origin_class)
        .bind::<Array<Text>, _>(sector_category)
        .bind::<Array<SmallInt>, _>(published.iter().map(|(_, l)| *l).collect::<Vec<_>>())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::CanteenSector;

    #[test]
    fn staged_positions_read_back_as_codes_and_nothing_else() {
        assert_eq!(Codes::code(LABEL_GROUPS, 1).unwrap(), "bio");
        assert_eq!(Codes::code(LABEL_GROUPS, 4).unwrap(), "none");
        // array_position counts from 1; 0, past the end and negatives are errors.
        for position in [0, 5, -1] {
            assert!(Codes::code(LABEL_GROUPS, position).is_err());
        }
    }

    /// The staging maps every sector to a category by the rule of
    /// SECTOR_CATEGORY_SQL; one missing from the list would stage as NULL.
    #[test]
    fn every_canteen_sector_has_a_published_category() {
        for sector in CanteenSector::ALL {
            let code = sector.as_str();
            let category = if code.starts_with("autres") {
                "loisir"
            } else {
                code.split('_').next().unwrap()
            };
            assert!(SECTOR_CATEGORIES.contains(&category), "{code} → {category}");
        }
    }
}
