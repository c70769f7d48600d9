//! SQL for offers.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::IntoSql;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Date, Nullable, Text, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::schema::{communes, departements, offers, organisations};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = offers)]
pub struct OfferRow {
    pub id: Uuid,
    pub supplier_id: Uuid,
    pub producer_id: Option<Uuid>,
    pub producer_name: String,
    pub producer_commune_insee: String,
    pub name: String,
    pub description: String,
    pub search_text: String,
    pub family: String,
    pub labels: Vec<String>,
    pub origin: String,
    pub unit: String,
    pub package_net_quantity: Option<Decimal>,
    pub package_net_unit: Option<String>,
    pub price_cents: i64,
    pub vat_rate: Decimal,
    pub stock_available: Option<Decimal>,
    pub stock_reserved: Decimal,
    pub min_order_quantity: Decimal,
    pub order_step: Decimal,
    pub available_from: Option<NaiveDate>,
    pub available_until: Option<NaiveDate>,
    pub lead_time_days: i32,
    pub delivery_weekdays: Vec<i16>,
    pub area_communes: Vec<String>,
    pub area_epcis: Vec<String>,
    pub area_departements: Vec<String>,
    pub status: String,
}

/// An offer with what its view shows of its supplier and producing commune.
pub struct Loaded {
    pub row: OfferRow,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub supplier_name: String,
    pub supplier_kind: String,
    pub supplier_status: String,
    pub commune: String,
    pub departement: String,
    pub region: String,
    pub epci: Option<String>,
    /// Paris's date when the offer was read, for its next delivery dates.
    pub today: NaiveDate,
}

type LoadedTuple = (
    OfferRow,
    i32,
    DateTime<Utc>,
    DateTime<Utc>,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    NaiveDate,
);

pub async fn insert(conn: &mut AsyncPgConnection, rows: &[OfferRow]) -> QueryResult<()> {
    // One statement per 500 rows keeps under PostgreSQL's bind limit.
    conn.transaction(async |conn| {
        for chunk in rows.chunks(500) {
            diesel::insert_into(offers::table)
                .values(chunk)
                .execute(conn)
                .await?;
        }
        Ok(())
    })
    .await
}

/// Offers with their supplier and place, in the order of `ids`.
pub async fn load(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<Vec<Loaded>> {
    let rows: Vec<LoadedTuple> = offers::table
        .inner_join(organisations::table)
        .inner_join(communes::table.inner_join(departements::table))
        .filter(offers::id.eq_any(ids))
        .select((
            OfferRow::as_select(),
            offers::version,
            offers::created_at,
            offers::updated_at,
            organisations::name,
            organisations::kind,
            organisations::status,
            communes::name,
            departements::code,
            departements::region_code,
            communes::epci_siren,
            diesel::dsl::sql::<Date>(crate::clock::TODAY_IN_PARIS_SQL),
        ))
        .load(conn)
        .await?;
    let mut by_id: HashMap<Uuid, Loaded> = rows
        .into_iter()
        .map(
            |(
                row,
                version,
                created_at,
                updated_at,
                supplier_name,
                supplier_kind,
                supplier_status,
                commune,
                departement,
                region,
                epci,
                today,
            )| {
                let id = row.id;
                (
                    id,
                    Loaded {
                        row,
                        version,
                        created_at,
                        updated_at,
                        supplier_name,
                        supplier_kind,
                        supplier_status,
                        commune,
                        departement,
                        region,
                        epci,
                        today,
                    },
                )
            },
        )
        .collect();
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

pub async fn supplier_of(conn: &mut AsyncPgConnection, offer: Uuid) -> QueryResult<Option<Uuid>> {
    offers::table
        .find(offer)
        .select(offers::supplier_id)
        .first(conn)
        .await
        .optional()
}

/// A farm on the platform, as a producer: name, commune, kind, status, and
/// the labels it is certified for.
pub async fn farm_for_producer(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> QueryResult<Option<(String, String, String, String, Vec<String>)>> {
    use crate::schema::farm_certifications;
    let farm: Option<(String, String, String, String)> = organisations::table
        .find(id)
        .select((
            organisations::name,
            organisations::commune_insee,
            organisations::kind,
            organisations::status,
        ))
        .first(conn)
        .await
        .optional()?;
    let Some((name, commune, kind, status)) = farm else {
        return Ok(None);
    };
    let labels = farm_certifications::table
        .filter(farm_certifications::organisation_id.eq(id))
        .select(farm_certifications::label)
        .load(conn)
        .await?;
    Ok(Some((name, commune, kind, status, labels)))
}

#[derive(AsChangeset, Default)]
#[diesel(table_name = offers)]
pub struct Changes {
    pub name: Option<String>,
    pub description: Option<String>,
    pub search_text: Option<String>,
    pub labels: Option<Vec<String>>,
    pub origin: Option<String>,
    pub price_cents: Option<i64>,
    pub vat_rate: Option<Decimal>,
    pub min_order_quantity: Option<Decimal>,
    pub order_step: Option<Decimal>,
    pub available_from: Option<NaiveDate>,
    pub available_until: Option<NaiveDate>,
    pub lead_time_days: Option<i32>,
    pub delivery_weekdays: Option<Vec<i16>>,
    pub area_communes: Option<Vec<String>>,
    pub area_epcis: Option<Vec<String>>,
    pub area_departements: Option<Vec<String>>,
    pub status: Option<String>,
}

/// Applies `changes` if the offer is still at `version`; false when someone
/// changed it meanwhile.
pub async fn update_if_version(
    conn: &mut AsyncPgConnection,
    offer: Uuid,
    version: i32,
    changes: &Changes,
) -> QueryResult<bool> {
    let updated = diesel::update(
        offers::table
            .find(offer)
            .filter(offers::version.eq(version)),
    )
    .set((
        changes,
        offers::version.eq(offers::version + 1),
        offers::updated_at.eq(Utc::now()),
    ))
    .execute(conn)
    .await?;
    Ok(updated == 1)
}

/// What a stock movement led to.
pub enum StockOutcome {
    Done,
    OnDemand,
    /// It would go below zero, or below what is reserved.
    Insufficient {
        available: Decimal,
        reserved: Decimal,
    },
}

/// One conditional UPDATE: concurrent movements never lose one another and
/// never take the stock below zero.
pub async fn adjust_stock(
    conn: &mut AsyncPgConnection,
    offer: Uuid,
    operation: super::dto::StockOperation,
    quantity: Decimal,
) -> QueryResult<StockOutcome> {
    use super::dto::StockOperation::*;
    let target = offers::table
        .find(offer)
        .filter(offers::stock_available.is_not_null());
    let bump = (
        offers::version.eq(offers::version + 1),
        offers::updated_at.eq(Utc::now()),
    );
    let updated = match operation {
        Add => {
            diesel::update(target)
                .set((
                    offers::stock_available.eq(offers::stock_available + quantity),
                    bump,
                ))
                .execute(conn)
                .await?
        }
        Remove => {
            diesel::update(target.filter(offers::stock_available.ge(quantity)))
                .set((
                    offers::stock_available.eq(offers::stock_available - quantity),
                    bump,
                ))
                .execute(conn)
                .await?
        }
        // The quantity on hand, reserved included.
        Set => {
            diesel::update(target.filter(offers::stock_reserved.le(quantity)))
                .set((
                    offers::stock_available.eq((quantity.into_sql::<diesel::sql_types::Numeric>()
                        - offers::stock_reserved)
                        .nullable()),
                    bump,
                ))
                .execute(conn)
                .await?
        }
    };
    if updated == 1 {
        return Ok(StockOutcome::Done);
    }
    let (available, reserved): (Option<Decimal>, Decimal) = offers::table
        .find(offer)
        .select((offers::stock_available, offers::stock_reserved))
        .first(conn)
        .await?;
    Ok(match available {
        None => StockOutcome::OnDemand,
        Some(available) => StockOutcome::Insufficient {
            available,
            reserved,
        },
    })
}

/// A canteen's definition of local, and where it is.
#[derive(Queryable)]
pub struct CanteenPlace {
    pub definition: String,
    pub km: Option<i32>,
    pub commune: String,
    pub epci: Option<String>,
    pub departement: String,
    pub region: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

pub async fn canteen_place(
    conn: &mut AsyncPgConnection,
    canteen: Uuid,
) -> QueryResult<Option<CanteenPlace>> {
    use crate::schema::canteen_profiles;
    canteen_profiles::table
        .inner_join(
            organisations::table.inner_join(communes::table.inner_join(departements::table)),
        )
        .filter(canteen_profiles::organisation_id.eq(canteen))
        .filter(organisations::status.eq("verified"))
        .select((
            canteen_profiles::local_definition,
            canteen_profiles::local_km,
            communes::insee,
            communes::epci_siren,
            departements::code,
            departements::region_code,
            organisations::latitude,
            organisations::longitude,
        ))
        .first(conn)
        .await
        .optional()
}

/// The search, as SQL with its parameters: built by `search::plan`.
#[derive(QueryableByName, Debug)]
pub struct Hit {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    /// 'yes', 'no' or 'unknown'; NULL without `local_to`.
    #[diesel(sql_type = Nullable<Text>)]
    pub local: Option<String>,
    #[diesel(sql_type = BigInt)]
    pub price_cents: i64,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    pub created_at: DateTime<Utc>,
}

/// A bound value of the search SQL.
pub enum Param {
    Text(String),
    Texts(Vec<String>),
    Uuid(Uuid),
    Int(i64),
    Date(NaiveDate),
    Float(Option<f64>),
    Bool(bool),
}

pub async fn run_search(
    conn: &mut AsyncPgConnection,
    sql: &str,
    params: Vec<Param>,
) -> QueryResult<Vec<Hit>> {
    let mut query = diesel::sql_query(sql).into_boxed();
    for param in params {
        query = match param {
            Param::Text(v) => query.bind::<Text, _>(v),
            Param::Texts(v) => query.bind::<Array<Text>, _>(v),
            Param::Uuid(v) => query.bind::<SqlUuid, _>(v),
            Param::Int(v) => query.bind::<BigInt, _>(v),
            Param::Date(v) => query.bind::<Date, _>(v),
            Param::Float(v) => query.bind::<Nullable<diesel::sql_types::Double>, _>(v),
            Param::Bool(v) => query.bind::<Bool, _>(v),
        };
    }
    query.load(conn).await
}
