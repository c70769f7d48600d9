//! Requests and responses of the catalog. Quantities and rates are exact
//! decimals written as JSON strings ("2.375"), money integer cents.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{Array, ArrayBuilder, ObjectBuilder, SchemaType, Type};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::accounts::dto::DeliveryArea;
use crate::codes::{Label, OfferStatus, OrganisationKind, Origin, ProductFamily, Unit};

/// Who produced it. A farm selling its own produce omits it; a distributor
/// names a farm on the platform (`organisation_id`) or an outside farm with
/// its commune.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProducerInput {
    pub organisation_id: Option<Uuid>,
    pub name: Option<String>,
    /// INSEE code of the outside farm's commune.
    pub commune_insee: Option<String>,
}

/// ISO weekdays it delivers on, 1 = Monday to 7 = Sunday.
pub fn weekdays() -> Array {
    weekday_array(SchemaType::Type(Type::Array))
}

fn optional_weekdays() -> Array {
    weekday_array(SchemaType::Array(vec![Type::Array, Type::Null]))
}

/// A set of ISO weekdays, possibly empty (a lot delivered on dates).
pub fn weekday_set() -> Array {
    let day = ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(1))
        .maximum(Some(7));
    ArrayBuilder::new()
        .items(day)
        .max_items(Some(7))
        .unique_items(true)
        .description(Some("ISO weekdays, 1 = Monday to 7 = Sunday."))
        .build()
}

fn weekday_array(schema_type: SchemaType) -> Array {
    let day = ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(1))
        .maximum(Some(7));
    ArrayBuilder::new()
        .schema_type(schema_type)
        .items(day)
        .min_items(Some(1))
        .max_items(Some(7))
        .unique_items(true)
        .description(Some(
            "ISO weekdays it delivers on, 1 = Monday to 7 = Sunday.",
        ))
        .build()
}

/// A CSV file, as bytes: the body of the catalog import (its columns are in
/// the operation's description).
pub struct CsvFile;

impl utoipa::PartialSchema for CsvFile {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::Binary,
            )))
            .into()
    }
}

impl ToSchema for CsvFile {}

/// A package's net content (a 5 kg crate: `{"net_quantity": "5", "net_unit": "KGM"}`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Package {
    #[serde(with = "crate::http::decimal")]
    #[schema(value_type = String, pattern = "^[0-9]+(\\.[0-9]+)?$", example = "5")]
    pub net_quantity: Decimal,
    pub net_unit: Unit,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "Carottes de sable", "description": "Lavées, calibre moyen", "family": "FRUITS_ET_LEGUMES",
    "labels": ["BIO"], "origin": "FRANCE", "unit": "KGM", "price_cents": 180, "vat_rate": "5.5",
    "stock": "400", "min_order_quantity": "5", "order_step": "5",
    "available_from": "2026-10-01", "available_until": "2027-03-31", "lead_time_days": 2,
    "delivery_weekdays": [2, 4]
}))]
pub struct NewOffer {
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    #[serde(default)]
    #[schema(max_length = 5000)]
    pub description: String,
    pub family: ProductFamily,
    /// EGalim labels; each must be one the producing farm is certified for.
    #[serde(default)]
    pub labels: Vec<Label>,
    pub origin: Origin,
    pub producer: Option<ProducerInput>,
    pub unit: Unit,
    /// Required for package units (XCR, XBX, XBG, XPK).
    pub package: Option<Package>,
    /// Price per unit, excluding VAT, in cents.
    pub price_cents: i64,
    #[serde(with = "crate::http::decimal")]
    #[schema(value_type = crate::codes::VatRate, example = "5.5")]
    pub vat_rate: Decimal,
    /// Quantity in stock; absent or null with `on_demand: true`.
    #[serde(default, with = "crate::http::decimal::option")]
    #[schema(value_type = Option<String>, pattern = "^[0-9]+(\\.[0-9]+)?$", example = "400")]
    pub stock: Option<Decimal>,
    /// Produced to order: stock is not limited.
    #[serde(default)]
    pub on_demand: bool,
    #[serde(with = "crate::http::decimal")]
    #[schema(value_type = String, pattern = "^[0-9]+(\\.[0-9]+)?$", example = "5")]
    pub min_order_quantity: Decimal,
    /// Orders are multiples of this step.
    #[serde(with = "crate::http::decimal")]
    #[schema(value_type = String, pattern = "^[0-9]+(\\.[0-9]+)?$", example = "5")]
    pub order_step: Decimal,
    pub available_from: Option<NaiveDate>,
    pub available_until: Option<NaiveDate>,
    /// Days between order and delivery, at least.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 365)]
    pub lead_time_days: i32,
    #[schema(schema_with = weekdays)]
    pub delivery_weekdays: Vec<i16>,
    /// Where it delivers; empty means anywhere.
    #[serde(default)]
    pub delivery_area: Vec<DeliveryArea>,
    pub status: Option<OfferStatus>,
}

/// What an update may change; absent fields stay. The producer, the family
/// and the supplier cannot change: make a new offer instead.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"price_cents": 170, "status": "paused"}))]
pub struct OfferChanges {
    pub name: Option<String>,
    pub description: Option<String>,
    pub labels: Option<Vec<Label>>,
    pub origin: Option<Origin>,
    pub price_cents: Option<i64>,
    #[serde(default, with = "crate::http::decimal::option")]
    #[schema(value_type = Option<crate::codes::VatRate>)]
    pub vat_rate: Option<Decimal>,
    #[serde(default, with = "crate::http::decimal::option")]
    #[schema(value_type = Option<String>, pattern = "^[0-9]+(\\.[0-9]+)?$")]
    pub min_order_quantity: Option<Decimal>,
    #[serde(default, with = "crate::http::decimal::option")]
    #[schema(value_type = Option<String>, pattern = "^[0-9]+(\\.[0-9]+)?$")]
    pub order_step: Option<Decimal>,
    pub available_from: Option<NaiveDate>,
    pub available_until: Option<NaiveDate>,
    #[schema(minimum = 0, maximum = 365)]
    pub lead_time_days: Option<i32>,
    #[schema(schema_with = optional_weekdays)]
    pub delivery_weekdays: Option<Vec<i16>>,
    pub delivery_area: Option<Vec<DeliveryArea>>,
    pub status: Option<OfferStatus>,
}

/// A stock movement: `add` or `remove` a quantity, or `set` the quantity on
/// hand (reserved quantities included).
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum StockOperation {
    Add,
    Remove,
    Set,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"operation": "add", "quantity": "25.5"}))]
pub struct StockAdjustment {
    pub operation: StockOperation,
    #[serde(with = "crate::http::decimal")]
    #[schema(value_type = String, pattern = "^[0-9]+(\\.[0-9]+)?$")]
    pub quantity: Decimal,
}

/// An offer's stock. Everyone sees the coarse `availability`; the exact
/// figures are the supplier's own: shown to its members only, since stock
/// moving by one order's quantity would tell anyone polling the catalog
/// what each canteen ordered. A buyer learns the exact quantity left when
/// its basket asks more (`out-of-stock`).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"on_demand": false, "availability": "in_stock"}))]
pub struct Stock {
    pub on_demand: bool,
    pub availability: Availability,
    /// Free to order (the supplier's members only; absent when on demand).
    #[serde(
        with = "rust_decimal::serde::str_option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$", value_type = Option<String>)]
    pub available: Option<Decimal>,
    /// Held by open orders (the supplier's members only).
    #[serde(
        with = "rust_decimal::serde::str_option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$", value_type = Option<String>)]
    pub reserved: Option<Decimal>,
}

/// How much of an offer is left, coarsely.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Availability {
    /// Produced to order.
    OnDemand,
    /// Ten minimum orders or more left.
    InStock,
    /// Less than ten minimum orders left.
    Limited,
    /// Not even one minimum order left.
    OutOfStock,
}

impl Availability {
    /// Counts what is free in minimum orders (the larger of the minimum
    /// quantity and the step, so that a zero minimum still counts).
    pub fn of(available: Option<Decimal>, min_order: Decimal, step: Decimal) -> Self {
        let Some(available) = available else {
            return Self::OnDemand;
        };
        let order = min_order.max(step);
        if available <= Decimal::ZERO || available < order {
            Self::OutOfStock
        } else if available < order * Decimal::TEN {
            Self::Limited
        } else {
            Self::InStock
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Supplier {
    pub id: Uuid,
    pub name: String,
    pub kind: OrganisationKind,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Producer {
    /// The farm on the platform, when it is one.
    pub organisation_id: Option<Uuid>,
    pub name: String,
    pub commune_insee: String,
    pub commune: String,
    pub departement: String,
    pub region: String,
    pub epci: Option<String>,
}

/// Whether an offer is local for the canteen named by `local_to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Local {
    Yes,
    No,
    /// The canteen's definition needs something Sésame does not know (a
    /// location, a food territorial project).
    Unknown,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Offer {
    pub id: Uuid,
    pub supplier: Supplier,
    pub producer: Producer,
    pub name: String,
    pub description: String,
    pub family: ProductFamily,
    pub labels: Vec<Label>,
    pub origin: Origin,
    pub unit: Unit,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package: Option<Package>,
    pub price_cents: i64,
    #[serde(with = "rust_decimal::serde::str")]
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$", value_type = String)]
    pub vat_rate: Decimal,
    pub stock: Stock,
    #[serde(with = "rust_decimal::serde::str")]
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$", value_type = String)]
    pub min_order_quantity: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$", value_type = String)]
    pub order_step: Decimal,
    pub available_from: Option<NaiveDate>,
    pub available_until: Option<NaiveDate>,
    pub lead_time_days: i32,
    pub delivery_weekdays: Vec<i16>,
    /// The next dates (up to 3) a basket placed now can be delivered on,
    /// by the lead time, weekdays and availability window, in Paris days;
    /// empty when the offer can no longer be delivered.
    #[schema(example = json!(["2026-12-03", "2026-12-08", "2026-12-10"]))]
    pub next_delivery_dates: Vec<NaiveDate>,
    pub delivery_area: Vec<DeliveryArea>,
    pub status: OfferStatus,
    /// At least one EGalim label.
    pub egalim: bool,
    pub organic: bool,
    /// With `local_to` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local: Option<Local>,
    /// The version, also sent as the `ETag`.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    /// Cheapest first.
    Price,
    /// Most recent first.
    #[default]
    Newest,
    /// By name.
    Name,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// Free text, in French: accents and case are ignored, words are stemmed
    /// (`carottes` finds `Carotte`).
    pub q: Option<String>,
    pub family: Option<ProductFamily>,
    /// Comma-separated labels: offers with any of them.
    pub labels_any: Option<String>,
    /// Comma-separated labels: offers with all of them.
    pub labels_all: Option<String>,
    /// `true`: at least one EGalim label.
    pub egalim: Option<bool>,
    pub origin: Option<Origin>,
    pub supplier: Option<Uuid>,
    /// A producing farm on the platform.
    pub producer: Option<Uuid>,
    /// Producing farm's commune (INSEE).
    pub origin_commune: Option<String>,
    /// Producing farm's EPCI (SIREN).
    pub origin_epci: Option<String>,
    pub origin_departement: Option<String>,
    pub origin_region: Option<String>,
    /// A delivery date: inside the availability window, at least the lead
    /// time from today, on a delivery weekday.
    pub available_on: Option<NaiveDate>,
    /// Offers a basket placed now can have delivered on this date or
    /// earlier (each result's `next_delivery_dates` says when).
    pub deliverable_by: Option<NaiveDate>,
    /// A commune (INSEE) the offer delivers to.
    pub deliverable_to: Option<String>,
    /// A canteen: every result says whether it is local under that canteen's
    /// own definition (`yes`, `no`, or `unknown` when a location is missing).
    pub local_to: Option<Uuid>,
    /// With `local_to`: only offers with this answer (`yes` for local ones).
    #[param(inline)]
    pub local: Option<Local>,
    pub min_price_cents: Option<i64>,
    pub max_price_cents: Option<i64>,
    #[param(inline)]
    pub sort: Option<Sort>,
    /// From the previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100, default = 50)]
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OfferPage {
    pub items: Vec<Offer>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}
