//! Requests and responses of delivery terms.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::rules::Terms;
use crate::error::FieldError;

/// A supplier's delivery terms, as it sets them.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "delivery_weekdays": [1, 4],
    "cutoff_days": 4,
    "cutoff_time": "12:00",
    "min_order_ht_cents": 8000,
    "zone": {"communes": [], "epcis": ["200057859"], "departements": ["91"]}
}))]
pub struct TermsRequest {
    #[schema(schema_with = crate::catalog::dto::weekdays)]
    pub delivery_weekdays: Vec<i16>,
    /// Orders for day D close at `cutoff_time` on D − `cutoff_days`, 0 to 14.
    #[schema(minimum = 0, maximum = 14)]
    pub cutoff_days: i16,
    /// Paris local time, `HH:MM`.
    #[schema(pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$", example = "12:00")]
    pub cutoff_time: String,
    /// The minimum amount HT of one delivery (franco de port), in cents.
    #[schema(minimum = 0, maximum = 100000000)]
    #[serde(default)]
    pub min_order_ht_cents: i64,
    /// Where it delivers; all lists empty (the default) means anywhere.
    #[serde(default)]
    pub zone: Zone,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Zone {
    /// INSEE codes of communes.
    #[serde(default)]
    #[schema(max_items = 1000)]
    pub communes: Vec<String>,
    /// SIREN codes of EPCIs.
    #[serde(default)]
    #[schema(max_items = 100)]
    pub epcis: Vec<String>,
    /// Codes of départements.
    #[serde(default)]
    #[schema(max_items = 101)]
    pub departements: Vec<String>,
}

/// A supplier's delivery terms.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "supplier_id": "0193a6f2-7c1e-7d3a-9c51-2f6e8b1d4a12",
    "delivery_weekdays": [1, 4],
    "cutoff_days": 4,
    "cutoff_time": "12:00",
    "min_order_ht_cents": 8000,
    "zone": {"communes": [], "epcis": ["200057859"], "departements": ["91"]},
    "updated_at": "2026-11-30T09:12:00Z"
}))]
pub struct DeliveryTerms {
    pub supplier_id: Uuid,
    pub delivery_weekdays: Vec<i16>,
    pub cutoff_days: i16,
    /// Paris local time, `HH:MM`.
    pub cutoff_time: String,
    pub min_order_ht_cents: i64,
    pub zone: Zone,
    pub updated_at: DateTime<Utc>,
}

impl DeliveryTerms {
    pub fn new(supplier_id: Uuid, terms: Terms, updated_at: DateTime<Utc>) -> Self {
        Self {
            supplier_id,
            delivery_weekdays: terms.weekdays,
            cutoff_days: terms.cutoff_days,
            cutoff_time: terms.cutoff_time.format("%H:%M").to_string(),
            min_order_ht_cents: terms.min_order_ht_cents,
            zone: Zone {
                communes: terms.zone_communes,
                epcis: terms.zone_epcis,
                departements: terms.zone_departements,
            },
            updated_at,
        }
    }
}

impl TermsRequest {
    /// The terms, or every field that is wrong (zone codes are checked
    /// against the reference geography by the caller).
    pub fn validate(self) -> Result<Terms, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut weekdays = self.delivery_weekdays.clone();
        weekdays.sort_unstable();
        weekdays.dedup();
        if weekdays.is_empty()
            || weekdays.len() != self.delivery_weekdays.len()
            || weekdays.iter().any(|d| !(1..=7).contains(d))
        {
            errors.push(FieldError::new(
                "delivery_weekdays",
                "1 to 7 distinct ISO weekdays, 1 = Monday … 7 = Sunday",
            ));
        }
        if !(0..=14).contains(&self.cutoff_days) {
            errors.push(FieldError::new("cutoff_days", "0 to 14"));
        }
        let time = NaiveTime::parse_from_str(&self.cutoff_time, "%H:%M")
            .ok()
            .filter(|_| self.cutoff_time.len() == 5);
        if time.is_none() {
            errors.push(FieldError::new("cutoff_time", "a Paris local time, HH:MM"));
        }
        if !(0..=100_000_000).contains(&self.min_order_ht_cents) {
            errors.push(FieldError::new("min_order_ht_cents", "0 to 100000000"));
        }
        for (field, codes, max) in [
            ("zone.communes", &self.zone.communes, 1000),
            ("zone.epcis", &self.zone.epcis, 100),
            ("zone.departements", &self.zone.departements, 101),
        ] {
            if codes.len() > max {
                errors.push(FieldError::new(field, format!("at most {max} codes")));
            }
        }
        match time {
            Some(cutoff_time) if errors.is_empty() => Ok(Terms {
                weekdays,
                cutoff_days: self.cutoff_days,
                cutoff_time,
                min_order_ht_cents: self.min_order_ht_cents,
                zone_communes: dedup(self.zone.communes),
                zone_epcis: dedup(self.zone.epcis),
                zone_departements: dedup(self.zone.departements),
            }),
            _ => Err(errors),
        }
    }
}

fn dedup(mut codes: Vec<String>) -> Vec<String> {
    codes.sort_unstable();
    codes.dedup();
    codes
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DatesQuery {
    /// The first day to consider (default: today in Paris), in the years
    /// 2000 to 2100.
    #[param(pattern = "^(20[0-9]{2}|2100)-[0-9]{2}-[0-9]{2}$")]
    pub from: Option<NaiveDate>,
    /// How many delivery days, 1 to 60 (default 10).
    #[param(minimum = 1, maximum = 60)]
    pub count: Option<i32>,
}

/// A day the supplier delivers on, and until when it takes orders for it.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryDay {
    pub date: NaiveDate,
    /// Paris local time.
    #[schema(value_type = String, example = "2027-10-28T12:00:00")]
    pub cutoff_local: NaiveDateTime,
    /// The same instant in UTC.
    pub cutoff_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "supplier_id": "0193a6f2-7c1e-7d3a-9c51-2f6e8b1d4a12",
    "items": [
        {"date": "2027-11-01", "cutoff_local": "2027-10-28T12:00:00", "cutoff_at": "2027-10-28T10:00:00Z"},
        {"date": "2027-11-04", "cutoff_local": "2027-10-31T12:00:00", "cutoff_at": "2027-10-31T11:00:00Z"}
    ]
}))]
pub struct DeliveryDays {
    pub supplier_id: Uuid,
    pub items: Vec<DeliveryDay>,
}
