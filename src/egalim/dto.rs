//! Requests and responses of EGalim indicators and territory statistics.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::indicators::{FamilyIndicators, Indicators, MonthIndicators};
use super::rules::Target;
use crate::codes::{LabelGroup, LocalDefinition, OriginClass, ProductFamily};

/// A calendar year (the current one by default), or a date range.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PeriodQuery {
    /// A calendar year; the current one (Paris time) without any period.
    #[param(minimum = 2000, maximum = 2100)]
    pub year: Option<i32>,
    /// First delivery date counted (with `to`, instead of `year`).
    pub from: Option<NaiveDate>,
    /// Last delivery date counted (with `from`; at most three years after it).
    pub to: Option<NaiveDate>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ProgressQuery {
    /// A calendar year; the current one (Paris time) without any period.
    #[param(minimum = 2000, maximum = 2100)]
    pub year: Option<i32>,
    /// First delivery date counted (with `to`, instead of `year`).
    pub from: Option<NaiveDate>,
    /// Last delivery date counted (with `from`; at most three years after it).
    pub to: Option<NaiveDate>,
    /// How many organic farms of the territory should supply its canteens
    /// (Sésame's goal: 100).
    pub organic_farms_target: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CanteenRef {
    pub id: Uuid,
    pub name: String,
    pub siret: String,
}

/// A canteen's EGalim indicators: delivered lines (not the disputed ones),
/// at delivered quantities and snapshot prices HT, by delivery date.
#[derive(Debug, Serialize, ToSchema)]
pub struct CanteenIndicators {
    pub canteen: CanteenRef,
    pub period: Period,
    pub local_definition: LocalDefinition,
    pub local_km: Option<i32>,
    pub totals: Indicators,
    /// EGalim 50 %, BIO 20 %, meat and fish 60 %.
    pub targets: Vec<Target>,
    pub by_family: Vec<FamilyIndicators>,
    pub by_month: Vec<MonthIndicators>,
}

/// One cell of the territory's supply: a month, a family, a label group and
/// where the producing farm is.
#[derive(Debug, Serialize, ToSchema)]
pub struct SupplyCell {
    #[schema(pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$", example = "2026-03")]
    pub month: String,
    pub family: ProductFamily,
    pub label_group: LabelGroup,
    pub origin_class: OriginClass,
    pub value_ht_cents: i64,
    /// Delivered quantity per unit code (KGM, LTR, H87, XCR…), as decimal strings.
    #[schema(value_type = Object, example = json!({"KGM": "1250.5", "H87": "300"}))]
    pub quantities: serde_json::Value,
    pub suppliers: i64,
    pub buyers: i64,
    pub lines: i64,
}

/// What the canteens located in the authority's EPCI bought.
#[derive(Debug, Serialize, ToSchema)]
pub struct TerritoryStatistics {
    pub authority_id: Uuid,
    pub epci: String,
    pub period: Period,
    /// Σ of the cells: equal to the sum of the territory's canteens' totals.
    pub total_ht_cents: i64,
    pub cells: Vec<SupplyCell>,
}

/// A canteen's shares, as its authority follows them.
#[derive(Debug, Serialize, ToSchema)]
pub struct CanteenShares {
    pub id: Uuid,
    pub name: String,
    pub total_ht_cents: i64,
    pub egalim_cents: i64,
    pub bio_cents: i64,
    pub meat_and_fish_cents: i64,
    pub meat_and_fish_egalim_cents: i64,
    pub targets: Vec<Target>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrganicFarms {
    /// Organic farms located in the EPCI that delivered its canteens in the period.
    pub active: i64,
    pub target: u32,
    pub met: bool,
}

/// The territory's progress toward its goals.
#[derive(Debug, Serialize, ToSchema)]
pub struct Progress {
    pub authority_id: Uuid,
    pub epci: String,
    pub period: Period,
    pub total_ht_cents: i64,
    /// BIO, or produced in the EPCI's département(s): Sésame's goal is 50 %.
    pub organic_or_local: Target,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$", value_type = Option<String>)]
    pub organic_percent: Option<Decimal>,
    /// Produced in the EPCI's département(s).
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$", value_type = Option<String>)]
    pub local_percent: Option<Decimal>,
    pub organic_farms: OrganicFarms,
    /// The EGalim targets for all the territory's canteens together.
    pub all_canteens: Vec<Target>,
    pub canteens: Vec<CanteenShares>,
}

/// How fast the territory's canteens pay their suppliers.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "authority_id": "0193a6f2-7c1e-7d3a-9c51-2f6e8b1d4a13",
    "epci": "200057859",
    "period": {"from": "2026-01-01", "to": "2026-12-31"},
    "groups": [
        {"group": "education", "canteens": 14, "invoices_paid": 150, "median_days_to_pay": 27.5,
         "paid_late": 12, "unpaid_overdue": 3},
        {"group": "all", "canteens": 20, "invoices_paid": 210, "median_days_to_pay": 28.0,
         "paid_late": 19, "unpaid_overdue": 4}
    ]
}))]
pub struct PaymentDelays {
    pub authority_id: Uuid,
    pub epci: String,
    /// Payments completed, and due dates fallen, in this period.
    pub period: Period,
    /// Each sector category with invoices, then `all`.
    pub groups: Vec<crate::invoices::delays::DelayGroup>,
}
