//! Building a release: stage the period's lines, protect the table, write
//! the frozen rows and pages. Publishing and `sesame export` share it.

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use diesel::QueryResult;
use diesel_async::AsyncPgConnection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::disclosure::{self, Key, Level, Status, SuppressionCounts, Table, Thresholds};
use super::payments::{self, DelayCounts};
use super::queries::{self, ReleaseRow, SupplyStatRow};
use crate::error::{ApiError, ApiResult};

/// The quasi-identifiers of the microdata, as k is measured on them.
pub const QUASI_IDENTIFIERS: [&str; 6] = [
    "month",
    "sector_category",
    "buyer_territory",
    "supplier_kind",
    "origin_class",
    "family",
];

/// What disclosure control was applied and what it did, in the release's
/// metadata and its `datapackage.json`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Disclosure {
    pub thresholds: Thresholds,
    /// True when a threshold protects less than the defaults (3 units, 85 %,
    /// k = 5); only possible with `allow_below_defaults`.
    pub below_defaults: bool,
    /// How far (in % of the truth) every suppressed value stays open to an
    /// attacker combining everything published.
    pub protection_percent: u32,
    pub supply_stats: SuppressionCounts,
    /// Rows of `payment_delays` published and suppressed.
    #[serde(default)]
    pub payment_delays: DelayCounts,
    /// Delivered lines in the period.
    pub lines: usize,
    /// Share of the period's value HT in published cells, in percent (0.1).
    pub value_published_cells_percent: f64,
    /// Share of the period's value HT in published month × family totals,
    /// in percent (0.1).
    pub value_published_month_family_percent: f64,
    pub transactions_published: usize,
    /// Share of lines left out of the microdata, in percent (0.1).
    pub transactions_suppressed_percent: f64,
    /// Smallest class of microdata rows over the quasi-identifiers; null
    /// without rows.
    pub k: Option<i64>,
    pub quasi_identifiers: Vec<String>,
    pub method: String,
}

const METHOD: &str = "The full grid of cells and totals, empty ones included; values only, no quantities. \
Primary suppression of every cell and total with fewer than min_units suppliers or buyers, with one supplier or \
buyer above dominance_percent of its value, or whose second and third largest units could estimate the largest to \
within p_percent (the p % rule against coalitions of two); secondary suppression until a linear programme over all \
published cells and totals leaves every suppressed value open by protection_percent above and below, every hidden \
cell traded in has another hidden cell in its block, and the hidden cells of every published total pass the primary \
rules together; microdata only for published cells, a line's value as a band; supplier kind, unit kind, then value \
band generalised (*) per cell until every class of identical categories has k rows and passes the primary rules, \
else left out. Payment delays: per month and sector category, the invoices paid and their median days from issue \
to payment, published when the invoices come from min_units canteens and suppliers with none above dominance_percent \
of them and no two able to tell a third's count; no totals.";

/// Parses `YYYY-MM` into the first day of that month.
pub fn parse_month(value: &str) -> Option<NaiveDate> {
    let (year, month) = value.split_once('-')?;
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if year.len() != 4 || month.len() != 2 || !digits(year) || !digits(month) {
        return None;
    }
    NaiveDate::from_ymd_opt(year.parse().ok()?, month.parse().ok()?, 1)
}

/// The last day of `first`'s month.
pub fn end_of_month(first: NaiveDate) -> NaiveDate {
    first
        .checked_add_months(Months::new(1))
        .and_then(|next| next.pred_opt())
        .unwrap_or(first)
}

/// The first day of the month before `today`'s: the last month a release
/// may cover (a month is published once, after it ended).
pub fn last_closed_month(today: NaiveDate) -> NaiveDate {
    NaiveDate::from_ymd_opt(today.year(), today.month(), 1)
        .and_then(|first| first.checked_sub_months(Months::new(1)))
        .unwrap_or(today)
}

/// The months from `from` to `to` as `YYYY-MM`.
fn months(from: NaiveDate, to: NaiveDate) -> Vec<String> {
    std::iter::successors(Some(from), |m| m.checked_add_months(Months::new(1)))
        .take_while(|m| *m <= to)
        .map(|m| m.format("%Y-%m").to_string())
        .collect()
}

/// What a build needs.
pub struct Build<'a> {
    pub id: Uuid,
    pub epci: &'a str,
    pub version: i32,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub created_at: DateTime<Utc>,
    pub published_by: Option<Uuid>,
    pub thresholds: Thresholds,
}

/// Builds the release inside the caller's transaction and returns its row.
pub async fn build(conn: &mut AsyncPgConnection, build: Build<'_>) -> ApiResult<ReleaseRow> {
    let started = std::time::Instant::now();
    let lines = queries::stage_lines(conn, build.epci, build.from, build.to).await?;
    tracing::debug!(lines, elapsed = ?started.elapsed(), "open data: staged");
    let months = months(build.from, build.to);
    let (items, classes) = queries::aggregate(conn)
        .await?
        .finish(&months, &super::package::families());
    tracing::debug!(lines, items = items.len(), elapsed = ?started.elapsed(), "open data: aggregated");
    let thresholds = build.thresholds;
    let levels = disclosure::microdata_levels(&classes, &thresholds);
    // The linear programmes are CPU work: off the async workers.
    let table = tokio::task::spawn_blocking(move || {
        let mut table = Table::new(items, thresholds);
        table.protect();
        table
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))?;
    tracing::debug!(counts = ?table.counts(), elapsed = ?started.elapsed(), "open data: protected");
    // The microdata: the lines of the cells left published whose classes
    // pass at some generalisation level.
    let mut microdata_cells: Vec<(&Key, i16)> = table
        .published_cells()
        .filter_map(|cell| levels.get(cell).map(|&level| (cell, level)))
        .collect();
    microdata_cells.sort();

    let mut release = ReleaseRow {
        id: build.id,
        epci_siren: build.epci.to_owned(),
        version: build.version,
        period_from: build.from,
        period_to: build.to,
        created_at: build.created_at,
        published_by: build.published_by,
        disclosure: serde_json::Value::Null,
    };
    queries::insert_release(conn, &release).await?;
    queries::insert_supply_stats(conn, &supply_stat_rows(build.id, &table)).await?;
    let written = queries::write_transactions(conn, build.id, build.epci, &microdata_cells).await?;
    let paid =
        crate::invoices::queries::territory_payments(conn, build.epci, build.from, build.to, None)
            .await?;
    let (delay_rows, delay_counts) = payments::rows(build.id, &months, &paid, &thresholds);
    queries::insert_payment_delays(conn, &delay_rows).await?;
    let published = usize::try_from(written.published).unwrap_or(usize::MAX);
    tracing::debug!(published, elapsed = ?started.elapsed(), "open data: written");
    let suppressed = lines.saturating_sub(published);
    let percent = |share: f64| (share * 1000.0).round() / 10.0;
    let summary = Disclosure {
        thresholds,
        below_defaults: thresholds.below_defaults(),
        protection_percent: 100 - thresholds.dominance_percent,
        supply_stats: table.counts(),
        payment_delays: delay_counts,
        lines,
        value_published_cells_percent: percent(table.published_share(Level::Cell)),
        value_published_month_family_percent: percent(table.published_share(Level::MonthFamily)),
        transactions_published: published,
        transactions_suppressed_percent: percent(queries::share(suppressed, lines)),
        k: disclosure::smallest_class(&classes, &microdata_cells.iter().copied().collect()),
        quasi_identifiers: QUASI_IDENTIFIERS.iter().map(|s| s.to_string()).collect(),
        method: METHOD.to_owned(),
    };
    release.disclosure =
        serde_json::to_value(&summary).map_err(|e| ApiError::Internal(e.into()))?;
    queries::set_disclosure(conn, build.id, &release.disclosure).await?;
    Ok(release)
}

/// The rows of `supply_stats`: cells, then totals; numbers of suppressed
/// rows are empty, never zero.
fn supply_stat_rows(release: Uuid, table: &Table) -> Vec<SupplyStatRow> {
    let some = |s: &String| (!s.is_empty()).then(|| s.clone());
    table
        .items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let shown = item.status == Status::Published;
            let count = |n: i64| shown.then(|| i32::try_from(n).unwrap_or(i32::MAX));
            SupplyStatRow {
                release_id: release,
                seq: i32::try_from(i + 1).unwrap_or(i32::MAX),
                level: item.level.as_str().to_owned(),
                month: some(&item.key.month),
                family: some(&item.key.family),
                label_group: some(&item.key.label_group),
                origin_class: some(&item.key.origin_class),
                sector_category: some(&item.key.sector_category),
                value_ht_cents: shown.then_some(item.value_cents),
                suppliers: count(item.suppliers),
                buyers: count(item.buyers),
                status: if shown { "published" } else { "suppressed" }.to_owned(),
            }
        })
        .collect()
}

/// Reads the stored summary back (releases made by this version).
pub fn summary(release: &ReleaseRow) -> QueryResult<Disclosure> {
    serde_json::from_value(release.disclosure.clone())
        .map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))
}
