//! Responses of contracts.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::codes::{ContractStatus, Label, Origin, ProductFamily, Unit};
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
    "created_at": "2026-12-29T10:02:11Z",
    "buyer_reference": "EJ-2027-0042",
    "payment_days": 20,
    "lines": [{"line_no": 0, "offer_id": null, "description": "Carottes lavées, calibre moyen",
               "family": "FRUITS_ET_LEGUMES", "labels": ["BIO"], "origin": "FRANCE",
               "producer": {"id": "0193a6f2-7c1e-7d3a-9c51-2f6e8b1d4a12", "name": "Ferme de l'Envol"},
               "unit": "KGM", "unit_price_cents": 185, "vat_rate": "5.5", "tiers": []}],
    "consumed_ht_cents": 55500
}))]
pub struct Contract {
    pub id: Uuid,
    /// The buyer's contract number (the DECP `id`), at most 16 characters.
    pub number: String,
    /// The consultation whose lot it is; absent for a direct contract.
    pub consultation_id: Option<Uuid>,
    pub lot_number: Option<i16>,
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
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$", value_type = String, example = "5.5")]
    pub vat_rate: Decimal,
    /// The quantity, or `null` for a framework agreement (see the maximum).
    #[serde(with = "crate::http::decimal::option")]
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$", value_type = Option<String>, example = "600")]
    pub quantity: Option<Decimal>,
    pub max_amount_ht_cents: Option<i64>,
    /// Its value HT: quantity × price, or the maximum.
    pub amount_ht_cents: i64,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
    pub status: ContractStatus,
    pub created_at: DateTime<Utc>,
    /// The buyer's engagement or purchase-order number.
    pub buyer_reference: Option<String>,
    /// For a direct contract: the party that proposed it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proposed_by: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accepted_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub termination_reason: Option<String>,
    /// Days from delivery to the due date of its invoices, when shorter
    /// than the supplier's own terms; `null` for the supplier's terms.
    #[schema(minimum = 0, maximum = 30)]
    pub payment_days: Option<i16>,
    /// What it sells, at what price.
    pub lines: Vec<ContractLine>,
    /// What orders not cancelled or rejected take under it, HT, in cents.
    pub consumed_ht_cents: i64,
}

/// A contract's line: an offer or a described product, at a unit price.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContractLine {
    pub line_no: i16,
    /// The supplier's offer it prices; absent for a described product.
    pub offer_id: Option<Uuid>,
    pub description: String,
    pub family: ProductFamily,
    pub labels: Vec<Label>,
    pub origin: Origin,
    pub producer: crate::consultations::dto::OrganisationRefOpt,
    pub unit: Unit,
    pub unit_price_cents: i64,
    #[serde(with = "crate::http::decimal")]
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$", value_type = String, example = "5.5")]
    pub vat_rate: Decimal,
    pub tiers: Vec<Tier>,
}

/// From `min_quantity` up, `unit_price_cents`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    #[serde(with = "crate::http::decimal")]
    #[schema(value_type = String, pattern = "^[0-9]+(\\.[0-9]+)?$", example = "200")]
    pub min_quantity: Decimal,
    #[schema(minimum = 0, maximum = 100000000)]
    pub unit_price_cents: i64,
}

/// A contract agreed directly (below the thresholds, or a price agreed with
/// a supplier), proposed by a member of either party; the other accepts.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "buyer_id": "0193a6f2-7c1e-7d3a-9c51-2f6e8b1d4a11",
    "supplier_id": "0193a6f2-7c1e-7d3a-9c51-2f6e8b1d4a12",
    "buyer_reference": "EJ-2027-0042",
    "description": "Légumes de saison, année scolaire 2026-2027",
    "valid_from": "2027-01-04",
    "valid_until": "2027-07-03",
    "max_amount_ht_cents": 3500000,
    "payment_days": 20,
    "lines": [
        {"offer_id": "0193a6f2-8a10-7b22-8f3e-5c9d0e1f2a31", "unit_price_cents": 180, "vat_rate": "5.5",
         "tiers": [{"min_quantity": "200", "unit_price_cents": 165}]},
        {"description": "Potimarron, calibre moyen", "family": "FRUITS_ET_LEGUMES", "unit": "KGM",
         "origin": "FRANCE", "unit_price_cents": 240, "vat_rate": "5.5"}
    ]
}))]
pub struct ContractRequest {
    /// A verified canteen, or an authority buying for its canteens.
    pub buyer_id: Uuid,
    /// A verified farm or distributor.
    pub supplier_id: Uuid,
    /// The canteens delivered (default: the buyer, if a canteen; required
    /// for an authority, each a canteen of its territory).
    #[serde(default)]
    #[schema(max_items = 200)]
    pub canteen_ids: Vec<Uuid>,
    /// The buyer's engagement or purchase-order number, 1 to 50 characters.
    #[schema(min_length = 1, max_length = 50)]
    pub buyer_reference: Option<String>,
    /// What the contract is for, 1 to 300 characters.
    pub description: String,
    pub valid_from: NaiveDate,
    /// At most 4 years after `valid_from`.
    pub valid_until: NaiveDate,
    /// A framework agreement's maximum HT, in cents: orders beyond it are
    /// refused.
    #[schema(minimum = 1)]
    pub max_amount_ht_cents: Option<i64>,
    /// Days from delivery to the due date of its invoices, 0 to 30, when
    /// shorter than the supplier's own terms (the law caps perishable food
    /// at 30).
    #[schema(minimum = 0, maximum = 30)]
    pub payment_days: Option<i16>,
    #[schema(min_items = 1, max_items = 100)]
    pub lines: Vec<ContractLineRequest>,
}

/// A priced offer of the supplier, or a described product (then
/// `description`, `family`, `unit` and `origin` are required; labels are
/// claimed through offers, whose labels are checked).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContractLineRequest {
    pub offer_id: Option<Uuid>,
    pub description: Option<String>,
    pub family: Option<ProductFamily>,
    pub unit: Option<Unit>,
    pub origin: Option<Origin>,
    #[schema(minimum = 0, maximum = 100000000)]
    pub unit_price_cents: i64,
    #[serde(with = "crate::http::decimal")]
    #[schema(value_type = crate::codes::VatRate, example = "5.5")]
    pub vat_rate: Decimal,
    #[serde(default)]
    #[schema(max_items = 10)]
    pub tiers: Vec<Tier>,
}

/// Accepting or declining a proposed contract.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    /// On acceptance by the buyer: its engagement number, if not given yet
    /// (1 to 50 characters).
    #[schema(min_length = 1, max_length = 50)]
    pub buyer_reference: Option<String>,
}

/// Ending an active contract early.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "Cessation d'activité de la ferme au 31 mars."}))]
pub struct TerminateRequest {
    /// Why, 1 to 2,000 characters.
    #[schema(min_length = 1, max_length = 2000)]
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ContractList {
    pub items: Vec<Contract>,
    /// Pass it as `cursor` for the next page; `null` on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<Uuid>,
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

impl DecisionRequest {
    /// (reason, buyer reference) of an optional body.
    pub fn parts(body: Option<Self>) -> (Option<String>, Option<String>) {
        (None, body.unwrap_or_default().buyer_reference)
    }
}

impl TerminateRequest {
    pub fn parts(body: Option<Self>) -> (Option<String>, Option<String>) {
        (body.map(|b| b.reason), None)
    }
}
