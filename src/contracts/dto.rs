//! Responses of contracts.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::codes::{ContractStatus, ProductFamily, Unit};
use crate::orders::dto::OrganisationRef;

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a6f2-a1b2-7c3d-8e4f-5a6b7c8d9e0f",
    "number": "SES2026-000001",
    "consultation_id": "0193a6f2-7c1e-7d3a-9c51-2f6e8b1d4a10",
    "lot_number": 1,
    "buyer": {"id": "0193a6f2-7c1e-7d3a-9c51-2f6e8b1d4a11", "name": "École élémentaire Jean Macé"},
    "supplier": {"id": "0193a6f2-7c1e-7d3a-9c51-2f6e8b1d4a12", "name": "Ferme de l'Envol"},
    "canteens": [{"id": "0193a6f2-7c1e-7d3a-9c51-2f6e8b1d4a11", "name": "École élémentaire Jean Macé"}],
    "family": "FRUITS_ET_LEGUMES",
    "description": "Carottes lavées, calibre moyen",
    "unit": "KGM",
    "unit_price_cents": 185,
    "vat_rate": "5.5",
    "quantity": "600",
    "max_amount_ht_cents": null,
    "amount_ht_cents": 111000,
    "valid_from": "2027-01-04",
    "valid_until": "2027-03-31",
    "status": "active",
    "created_at": "2026-12-29T10:02:11Z"
}))]
pub struct Contract {
    pub id: Uuid,
    /// The buyer's contract number (the DECP `id`), at most 16 characters.
    pub number: String,
    pub consultation_id: Uuid,
    pub lot_number: i16,
    pub buyer: OrganisationRef,
    pub supplier: OrganisationRef,
    /// The canteens it delivers.
    pub canteens: Vec<OrganisationRef>,
    pub family: ProductFamily,
    pub description: String,
    pub unit: Unit,
    /// The awarded unit price HT, in cents.
    pub unit_price_cents: i64,
    #[serde(with = "crate::http::decimal")]
    #[schema(value_type = String, example = "5.5")]
    pub vat_rate: Decimal,
    /// The quantity, or `null` for a framework agreement (see the maximum).
    #[serde(with = "crate::http::decimal::option")]
    #[schema(value_type = Option<String>, example = "600")]
    pub quantity: Option<Decimal>,
    pub max_amount_ht_cents: Option<i64>,
    /// Its value HT: quantity × price, or the maximum.
    pub amount_ht_cents: i64,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
    pub status: ContractStatus,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ContractList {
    pub items: Vec<Contract>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DecpQuery {
    /// Publish contracts of this value HT or more, in cents (default
    /// 4,000,000: the 40,000 € HT of the arrêté of 22 December 2022).
    #[param(minimum = 0, example = 4000000)]
    pub min_amount_ht_cents: Option<i64>,
}
