//! Requests and responses of standing orders and closures.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::orders::dto::ContractLineRef;

/// A line of the weekly template: what to order, how much, on which
/// weekday.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateLine {
    /// ISO weekday of the delivery, 1 = Monday … 7 = Sunday.
    #[schema(minimum = 1, maximum = 7)]
    pub weekday: i16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract_line: Option<ContractLineRef>,
    #[serde(with = "crate::http::decimal")]
    #[schema(value_type = String, pattern = "^[0-9]+(\\.[0-9]+)?$", example = "25")]
    pub quantity: Decimal,
}

/// A day's line, when an occurrence is changed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DayLine {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract_line: Option<ContractLineRef>,
    #[serde(with = "crate::http::decimal")]
    #[schema(value_type = String, pattern = "^[0-9]+(\\.[0-9]+)?$", example = "25")]
    pub quantity: Decimal,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "buyer_id": "0193a6f2-7c1e-7d3a-9c51-2f6e8b1d4a10",
    "name": "Légumes et fruits de la semaine",
    "starts_on": "2027-01-04",
    "ends_on": "2027-07-02",
    "days_ahead": 7,
    "lines": [
        {"weekday": 1, "offer_id": "0193a6f2-8a10-7b22-8f3e-5c9d0e1f2a31", "quantity": "25"},
        {"weekday": 4, "contract_line": {"contract_id": "0193a6f2-a1b2-7c3d-8e4f-5a6b7c8d9e0f", "line_no": 0}, "quantity": "12.5"}
    ]
}))]
pub struct StandingOrderRequest {
    /// The canteen that buys; the caller must be one of its members.
    pub buyer_id: Uuid,
    /// The buyer (default) or one of its satellite canteens.
    pub delivery_site_id: Option<Uuid>,
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// At most 2,000 characters.
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub note: String,
    pub starts_on: NaiveDate,
    pub ends_on: Option<NaiveDate>,
    /// Each delivery is placed this many days before it, 1 to 42 (default 7);
    /// until then the canteen changes or skips it.
    #[schema(minimum = 1, maximum = 42)]
    pub days_ahead: Option<i16>,
    #[schema(min_items = 1, max_items = 700)]
    pub lines: Vec<TemplateLine>,
}

/// What became, or will become, of one delivery day.
#[derive(Debug, Serialize, ToSchema)]
pub struct Occurrence {
    pub delivery_date: NaiveDate,
    /// `planned`, `changed`, `skipped`, `closed` (a closure or a public
    /// holiday), `placed`, `failed` or `missed`.
    #[schema(example = "placed")]
    pub status: String,
    /// Why it is closed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed_because: Option<String>,
    /// When it is placed (or was due), Paris date.
    pub due_on: NaiveDate,
    /// The lines that day: the template's, or the changed ones.
    pub lines: Vec<DayLine>,
    /// The checkout that placed it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkout_id: Option<Uuid>,
    /// Lines left out, or the refusal, as problem documents.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub problems: Vec<serde_json::Value>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StandingOrder {
    pub id: Uuid,
    pub buyer_id: Uuid,
    pub delivery_site_id: Uuid,
    pub name: String,
    pub note: String,
    pub starts_on: NaiveDate,
    pub ends_on: Option<NaiveDate>,
    pub days_ahead: i16,
    #[schema(value_type = crate::codes::StandingOrderStatus)]
    pub status: String,
    pub lines: Vec<TemplateLine>,
    /// Recent and coming delivery days: from 14 days back to 28 days past
    /// the placement horizon.
    pub occurrences: Vec<Occurrence>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StandingOrderList {
    pub items: Vec<StandingOrder>,
    /// Pass it as `cursor` for the next page; `null` on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<Uuid>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "paused"}))]
pub struct StatusRequest {
    /// `ended` is final.
    #[schema(value_type = crate::codes::StandingOrderStatus)]
    pub status: String,
}

/// Changing one delivery day before it is placed: skip it, or give its
/// lines (they replace the template's for that day).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"skip": false, "lines": [{"offer_id": "0193a6f2-8a10-7b22-8f3e-5c9d0e1f2a31", "quantity": "30"}]}))]
pub struct OccurrenceRequest {
    #[serde(default)]
    pub skip: bool,
    #[serde(default)]
    pub lines: Vec<DayLine>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"starts_on": "2027-02-13", "ends_on": "2027-03-01", "reason": "Vacances d'hiver, zone C"}))]
pub struct ClosureRequest {
    pub starts_on: NaiveDate,
    /// At most 366 days after `starts_on`.
    pub ends_on: NaiveDate,
    /// 1 to 200 characters.
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Closure {
    pub id: Uuid,
    pub canteen_id: Uuid,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub reason: String,
    /// The canteen, or the authority that set it.
    pub set_by: Uuid,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClosureList {
    pub items: Vec<Closure>,
    /// The French public holidays of this year and the next (the eleven of
    /// metropolitan France, computed by the service).
    pub public_holidays: Vec<PublicHoliday>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PublicHoliday {
    pub date: NaiveDate,
    #[schema(example = "Ascension")]
    pub name: String,
}
