//! SQL for EGalim indicators and territory statistics. Every figure comes
//! from the same lines: delivered orders (`delivered`, `received`,
//! `disputed`) of canteens, at their delivered quantities and snapshot
//! prices, minus the lines the buyer disputed, minus what credit notes
//! took off each line (`LINE_HT`), by delivery date.

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Double, Integer, Nullable, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::rules::CATEGORY_SQL;

/// The lines that count, with their producer's commune (`pc`), département
/// (`pd`) and supplier (`s`).
pub(crate) const COUNTED_LINES: &str = "FROM orders o \
    JOIN order_lines l ON l.order_id = o.id \
    JOIN organisations s ON s.id = o.supplier_id \
    JOIN communes pc ON pc.insee = l.producer_commune_insee \
    JOIN departements pd ON pd.code = pc.departement_code \
    LEFT JOIN organisations p ON p.id = l.producer_id \
    LEFT JOIN credited_order_lines cr ON cr.order_id = l.order_id AND cr.order_line_no = l.line_no \
   WHERE o.status IN ('delivered', 'received', 'disputed') \
     AND l.dispute_reason IS NULL";

/// A counted line's amount HT: delivered, less what credit notes took off
/// (the invoices feature publishes `credited_order_lines`).
pub(crate) const LINE_HT: &str = "(l.total_ht_cents - coalesce(cr.credited_ht_cents, 0))";

/// Short circuit: bought from the farm, or from a distributor naming a farm
/// of the platform (one intermediary).
const SHORT_CIRCUIT_SQL: &str = "(s.kind = 'farm' OR l.producer_id IS NOT NULL)";

/// Settings for the aggregates, inside their transaction: room for
/// PostgreSQL to hash a year of lines in memory rather than sort them on
/// disk, and a bound on how long one may run.
pub const AGGREGATE_SETTINGS: &str =
    "SET LOCAL work_mem = '64MB'; SET LOCAL statement_timeout = '60s'";

/// Runs `query` in a transaction with [`AGGREGATE_SETTINGS`].
macro_rules! aggregate {
    ($conn:expr, $query:expr) => {{
        use diesel_async::{AsyncConnection, SimpleAsyncConnection};
        $conn
            .transaction::<_, diesel::result::Error, _>(async move |conn| {
                conn.batch_execute(AGGREGATE_SETTINGS).await?;
                $query.load(conn).await
            })
            .await
    }};
}

/// Where a canteen is and what it calls local.
#[derive(Queryable, Debug, Clone)]
pub struct Canteen {
    pub id: Uuid,
    pub name: String,
    pub siret: String,
    pub status: String,
    pub commune: String,
    pub epci: Option<String>,
    pub departement: String,
    pub region: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub definition: String,
    pub km: Option<i32>,
}

pub async fn canteen(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<Canteen>> {
    use crate::schema::{canteen_profiles, communes, departements, organisations};
    canteen_profiles::table
        .inner_join(
            organisations::table.inner_join(communes::table.inner_join(departements::table)),
        )
        .filter(canteen_profiles::organisation_id.eq(id))
        .select((
            organisations::id,
            organisations::name,
            organisations::siret,
            organisations::status,
            communes::insee,
            communes::epci_siren,
            departements::code,
            departements::region_code,
            organisations::latitude,
            organisations::longitude,
            canteen_profiles::local_definition,
            canteen_profiles::local_km,
        ))
        .first(conn)
        .await
        .optional()
}

/// A boolean SQL expression, NULL when unknown: is the line local under the
/// canteen's definition? Parameters $4 to $10 hold the canteen's place.
fn local_sql(definition: &str) -> &'static str {
    match definition {
        "COMMUNE" => "(l.producer_commune_insee = $4 OR pc.epci_siren = $5)",
        "DEPARTEMENT" => "(pc.departement_code = $6)",
        "REGION" => "(pd.region_code = $7)",
        // Great-circle distance (haversine), Earth radius 6371 km.
        "KM" => {
            "CASE WHEN p.latitude IS NULL OR p.longitude IS NULL OR $8::float8 IS NULL THEN NULL \
             ELSE 2 * 6371 * asin(sqrt(power(sin(radians(p.latitude - $8) / 2), 2) \
               + cos(radians($8)) * cos(radians(p.latitude)) \
               * power(sin(radians(p.longitude - $9) / 2), 2))) <= $10 END"
        }
        // No food territorial project's perimeter is known to Sésame.
        _ => "NULL::boolean",
    }
}

/// One cell: a month, a family and a category, with its sums in cents.
#[derive(QueryableByName, Debug, Clone)]
pub struct Cell {
    #[diesel(sql_type = Text)]
    pub month: String,
    #[diesel(sql_type = Text)]
    pub family: String,
    #[diesel(sql_type = Text)]
    pub category: String,
    #[diesel(sql_type = BigInt)]
    pub total: i64,
    #[diesel(sql_type = BigInt)]
    pub france: i64,
    #[diesel(sql_type = BigInt)]
    pub short_circuit: i64,
    #[diesel(sql_type = BigInt)]
    pub local: i64,
    #[diesel(sql_type = BigInt)]
    pub local_unknown: i64,
}

pub async fn canteen_cells(
    conn: &mut AsyncPgConnection,
    canteen: &Canteen,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Vec<Cell>> {
    let local = local_sql(&canteen.definition);
    let query = diesel::sql_query(format!(
        "SELECT to_char(o.delivery_date, 'YYYY-MM') AS month, l.family, {CATEGORY_SQL} AS category, \
                sum({LINE_HT})::bigint AS total, \
                coalesce(sum({LINE_HT}) FILTER (WHERE l.origin = 'FRANCE'), 0)::bigint AS france, \
                coalesce(sum({LINE_HT}) FILTER (WHERE {SHORT_CIRCUIT_SQL}), 0)::bigint AS short_circuit, \
                coalesce(sum({LINE_HT}) FILTER (WHERE {local}), 0)::bigint AS local, \
                coalesce(sum({LINE_HT}) FILTER (WHERE ({local}) IS NULL), 0)::bigint AS local_unknown \
         {COUNTED_LINES} AND o.buyer_id = $1 AND o.delivery_date BETWEEN $2 AND $3 \
          GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
    ))
    .bind::<SqlUuid, _>(canteen.id)
    .bind::<Date, _>(from)
    .bind::<Date, _>(to)
    .bind::<Text, _>(&canteen.commune)
    .bind::<Text, _>(canteen.epci.clone().unwrap_or_default())
    .bind::<Text, _>(&canteen.departement)
    .bind::<Text, _>(&canteen.region)
    .bind::<Nullable<Double>, _>(canteen.latitude)
    .bind::<Nullable<Double>, _>(canteen.longitude)
    .bind::<Integer, _>(canteen.km.unwrap_or(0));
    aggregate!(conn, query)
}

/// A purchase line, as ma-cantine imports it.
#[derive(QueryableByName, Debug)]
pub struct Purchase {
    #[diesel(sql_type = Text)]
    pub product_name: String,
    #[diesel(sql_type = Text)]
    pub supplier: String,
    #[diesel(sql_type = Date)]
    pub date: NaiveDate,
    #[diesel(sql_type = BigInt)]
    pub total_ht_cents: i64,
    #[diesel(sql_type = Text)]
    pub family: String,
    #[diesel(sql_type = diesel::sql_types::Array<Text>)]
    pub labels: Vec<String>,
    #[diesel(sql_type = Text)]
    pub origin: String,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub short_circuit: bool,
    #[diesel(sql_type = Nullable<diesel::sql_types::Bool>)]
    pub local: Option<bool>,
}

pub async fn purchases(
    conn: &mut AsyncPgConnection,
    canteen: &Canteen,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Vec<Purchase>> {
    let local = local_sql(&canteen.definition);
    let query = diesel::sql_query(format!(
        "SELECT l.product_name, s.name AS supplier, o.delivery_date AS date, {LINE_HT} AS total_ht_cents, \
                l.family, l.labels, l.origin, {SHORT_CIRCUIT_SQL} AS short_circuit, {local} AS local \
         {COUNTED_LINES} AND o.buyer_id = $1 AND o.delivery_date BETWEEN $2 AND $3 \
          ORDER BY o.delivery_date, o.id, l.line_no"
    ))
    .bind::<SqlUuid, _>(canteen.id)
    .bind::<Date, _>(from)
    .bind::<Date, _>(to)
    .bind::<Text, _>(&canteen.commune)
    .bind::<Text, _>(canteen.epci.clone().unwrap_or_default())
    .bind::<Text, _>(&canteen.departement)
    .bind::<Text, _>(&canteen.region)
    .bind::<Nullable<Double>, _>(canteen.latitude)
    .bind::<Nullable<Double>, _>(canteen.longitude)
    .bind::<Integer, _>(canteen.km.unwrap_or(0));
    aggregate!(conn, query)
}

/// An authority and the EPCI it speaks for; `None` if not an authority.
pub async fn authority_epci(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<String>> {
    use crate::schema::organisations;
    organisations::table
        .find(id)
        .select(organisations::authority_epci)
        .first::<Option<String>>(conn)
        .await
        .optional()
        .map(Option::flatten)
}

/// The canteens located in the EPCI $1, as a select list's tail.
pub(crate) const TERRITORY_CANTEENS: &str = "b.id FROM organisations b JOIN communes bc ON bc.insee = b.commune_insee \
     WHERE b.kind = 'canteen' AND b.status = 'verified' AND bc.epci_siren = $1";

/// Where the producing farm is, from the EPCI's point of view.
pub(crate) const ORIGIN_CLASS_SQL: &str = "CASE WHEN l.origin = 'EUROPE' THEN 'europe' \
     WHEN pc.epci_siren = $1 THEN 'epci' \
     WHEN pc.departement_code IN (SELECT departement_code FROM communes WHERE epci_siren = $1) THEN 'departement' \
     WHEN pd.region_code IN (SELECT d.region_code FROM communes c2 JOIN departements d ON d.code = c2.departement_code \
                             WHERE c2.epci_siren = $1) THEN 'region' \
     ELSE 'france' END";

/// One cell of the territory's statistics.
#[derive(QueryableByName, Debug, Clone)]
pub struct StatCell {
    #[diesel(sql_type = Text)]
    pub month: String,
    #[diesel(sql_type = Text)]
    pub family: String,
    #[diesel(sql_type = Text)]
    pub label_group: String,
    #[diesel(sql_type = Text)]
    pub origin_class: String,
    #[diesel(sql_type = BigInt)]
    pub value_ht_cents: i64,
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    pub quantities: serde_json::Value,
    #[diesel(sql_type = BigInt)]
    pub suppliers: i64,
    #[diesel(sql_type = BigInt)]
    pub buyers: i64,
    #[diesel(sql_type = BigInt)]
    pub lines: i64,
}

pub async fn territory_cells(
    conn: &mut AsyncPgConnection,
    epci: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Vec<StatCell>> {
    // First to one row per cell, unit, supplier and buyer (a hash aggregate
    // over the period's lines, a few thousand rows), then the territory's
    // buyers, then cells and units. Filtering buyers before aggregating
    // makes PostgreSQL expect a handful of orders and walk the lines one
    // order at a time (6 s for 1,000,000 lines instead of 1).
    let query = diesel::sql_query(format!(
        "WITH base AS ( \
           SELECT to_char(o.delivery_date, 'YYYY-MM') AS month, l.family, \
                  CASE ({CATEGORY_SQL}) WHEN 'externalities' THEN 'other' ELSE ({CATEGORY_SQL}) END AS label_group, \
                  {ORIGIN_CLASS_SQL} AS origin_class, l.unit, o.supplier_id, o.buyer_id, \
                  sum({LINE_HT}) AS value, sum(l.quantity_delivered) AS quantity, count(*) AS lines \
           {COUNTED_LINES} AND o.delivery_date BETWEEN $2 AND $3 \
           GROUP BY 1, 2, 3, 4, 5, 6, 7), \
         territory AS ( \
           SELECT * FROM base WHERE buyer_id IN (SELECT {TERRITORY_CANTEENS})), \
         cells AS ( \
           SELECT month, family, label_group, origin_class, sum(value)::bigint AS value_ht_cents, \
                  count(DISTINCT supplier_id) AS suppliers, count(DISTINCT buyer_id) AS buyers, \
                  sum(lines)::bigint AS lines \
             FROM territory GROUP BY 1, 2, 3, 4), \
         units AS ( \
           SELECT month, family, label_group, origin_class, \
                  jsonb_object_agg(unit, trim_scale(quantity)::text) AS quantities \
             FROM (SELECT month, family, label_group, origin_class, unit, sum(quantity) AS quantity \
                     FROM territory GROUP BY 1, 2, 3, 4, 5) u \
            GROUP BY 1, 2, 3, 4) \
         SELECT c.month, c.family, c.label_group, c.origin_class, c.value_ht_cents, u.quantities, \
                c.suppliers, c.buyers, c.lines \
           FROM cells c JOIN units u USING (month, family, label_group, origin_class) \
          ORDER BY 1, 2, 3, 4"
    ))
    .bind::<Text, _>(epci)
    .bind::<Date, _>(from)
    .bind::<Date, _>(to);
    aggregate!(conn, query)
}

/// One canteen of the territory with its sums by category.
#[derive(QueryableByName, Debug, Clone)]
pub struct CanteenTotals {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = BigInt)]
    pub total: i64,
    #[diesel(sql_type = BigInt)]
    pub bio: i64,
    #[diesel(sql_type = BigInt)]
    pub egalim: i64,
    #[diesel(sql_type = BigInt)]
    pub meat_fish: i64,
    #[diesel(sql_type = BigInt)]
    pub meat_fish_egalim: i64,
    /// Bought from a farm of the EPCI's département(s).
    #[diesel(sql_type = BigInt)]
    pub local: i64,
    #[diesel(sql_type = BigInt)]
    pub organic_or_local: i64,
}

/// Every canteen of the EPCI (with or without purchases) and its sums.
pub async fn territory_canteens(
    conn: &mut AsyncPgConnection,
    epci: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Vec<CanteenTotals>> {
    let local =
        "pc.departement_code IN (SELECT departement_code FROM communes WHERE epci_siren = $1)";
    let query = diesel::sql_query(format!(
        "WITH sums AS ( \
           SELECT o.buyer_id, sum({LINE_HT}) AS total, \
                  sum({LINE_HT}) FILTER (WHERE 'BIO' = ANY(l.labels)) AS bio, \
                  sum({LINE_HT}) FILTER (WHERE ({CATEGORY_SQL}) <> 'none') AS egalim, \
                  sum({LINE_HT}) FILTER (WHERE l.family IN ('VIANDES_VOLAILLES', 'PRODUITS_DE_LA_MER')) AS meat_fish, \
                  sum({LINE_HT}) FILTER (WHERE l.family IN ('VIANDES_VOLAILLES', 'PRODUITS_DE_LA_MER') \
                                                  AND ({CATEGORY_SQL}) <> 'none') AS meat_fish_egalim, \
                  sum({LINE_HT}) FILTER (WHERE {local}) AS local, \
                  sum({LINE_HT}) FILTER (WHERE 'BIO' = ANY(l.labels) OR {local}) AS organic_or_local \
           {COUNTED_LINES} AND o.delivery_date BETWEEN $2 AND $3 GROUP BY o.buyer_id) \
         SELECT b.id, b.name, coalesce(s.total, 0)::bigint AS total, coalesce(s.bio, 0)::bigint AS bio, \
                coalesce(s.egalim, 0)::bigint AS egalim, coalesce(s.meat_fish, 0)::bigint AS meat_fish, \
                coalesce(s.meat_fish_egalim, 0)::bigint AS meat_fish_egalim, coalesce(s.local, 0)::bigint AS local, \
                coalesce(s.organic_or_local, 0)::bigint AS organic_or_local \
           FROM organisations b JOIN communes bc ON bc.insee = b.commune_insee \
           LEFT JOIN sums s ON s.buyer_id = b.id \
          WHERE b.kind = 'canteen' AND b.status = 'verified' AND bc.epci_siren = $1 \
          ORDER BY b.name, b.id"
    ))
    .bind::<Text, _>(epci)
    .bind::<Date, _>(from)
    .bind::<Date, _>(to);
    aggregate!(conn, query)
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

/// Organic farms located in the EPCI that delivered its canteens.
pub async fn active_organic_farms(
    conn: &mut AsyncPgConnection,
    epci: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<i64> {
    let query = diesel::sql_query(format!(
        "WITH pairs AS (SELECT DISTINCT l.producer_id, o.buyer_id {COUNTED_LINES} \
            AND o.delivery_date BETWEEN $2 AND $3 AND p.kind = 'farm' AND pc.epci_siren = $1 \
            AND EXISTS (SELECT 1 FROM farm_certifications f WHERE f.organisation_id = p.id AND f.label = 'BIO')) \
         SELECT count(DISTINCT producer_id) AS count FROM pairs \
          WHERE buyer_id IN (SELECT {TERRITORY_CANTEENS})"
    ))
    .bind::<Text, _>(epci)
    .bind::<Date, _>(from)
    .bind::<Date, _>(to);
    let rows: Vec<Count> = aggregate!(conn, query)?;
    Ok(rows.iter().map(|r| r.count).sum())
}

/// Is `user` a member of a verified authority speaking for `epci`?
pub async fn speaks_for(conn: &mut AsyncPgConnection, user: Uuid, epci: &str) -> QueryResult<bool> {
    use crate::schema::{memberships, organisations};
    diesel::select(diesel::dsl::exists(
        memberships::table
            .inner_join(organisations::table)
            .filter(memberships::user_id.eq(user))
            .filter(organisations::kind.eq("authority"))
            .filter(organisations::status.eq("verified"))
            .filter(organisations::authority_epci.eq(epci)),
    ))
    .get_result(conn)
    .await
}
