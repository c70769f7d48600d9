//! Requests and responses of consultations. Money is integer cents HT,
//! quantities and VAT rates exact decimals written as JSON strings.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::codes::{
    ConsultationStatus, CriterionKind, Label, LotStatus, Origin, Procedure, ProductFamily, Unit,
};
use crate::orders::dto::OrganisationRef;

/// A call for offers, created as a draft.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "buyer_id": "0193a6f2-7c1e-7d3a-9c51-2f6e8b1d4a10",
    "title": "Légumes de saison, premier trimestre 2027",
    "description": "Légumes frais pour la restauration scolaire.",
    "procedure": "mapa",
    "answers_due_at": "2026-12-28T12:00:00Z",
    "criteria": [
        {"kind": "price", "description": "Prix unitaire HT", "weight": 50},
        {"kind": "environmental", "description": "Emballages réutilisables, bilan carbone du transport", "weight": 30},
        {"kind": "direct_supply", "description": "Approvisionnement direct (au plus un intermédiaire)", "weight": 20}
    ],
    "lots": [{
        "description": "Carottes lavées, calibre moyen",
        "family": "FRUITS_ET_LEGUMES",
        "labels": ["BIO"],
        "unit": "KGM",
        "quantity": "600",
        "estimated_amount_ht_cents": 120000,
        "delivery": {"weekdays": [2, 4], "from": "2027-01-05", "until": "2027-03-31"},
        "site_ids": ["0193a6f2-7c1e-7d3a-9c51-2f6e8b1d4a10"]
    }]
}))]
pub struct NewConsultation {
    /// A verified canteen (delivered itself) or a verified authority (a
    /// group of the canteens of its EPCI); the caller is one of its members.
    pub buyer_id: Uuid,
    /// 1 to 200 characters.
    pub title: String,
    /// At most 5,000 characters.
    #[serde(default)]
    pub description: String,
    pub procedure: Procedure,
    /// How long the contracts run, 1 to 48 months; required for `accord_cadre`.
    pub duration_months: Option<i32>,
    /// When answers close; the minimum time from publication depends on the
    /// procedure (docs/consultations.md).
    pub answers_due_at: DateTime<Utc>,
    /// Weights sum to 100: one `price`, at least one `environmental`.
    pub criteria: Vec<NewCriterion>,
    /// 1 to 50 lots.
    pub lots: Vec<NewLot>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCriterion {
    /// `price`, `environmental`, `direct_supply`, `quality`, `freshness` or
    /// `other`. A geographic preference (`local`, `distance`, …) is refused
    /// with the problem `local-preference-forbidden`.
    #[schema(example = "environmental")]
    pub kind: String,
    /// What is judged, 1 to 500 characters; a geographic preference here is
    /// refused too.
    pub description: String,
    /// Whole per cent.
    #[schema(minimum = 1, maximum = 100)]
    pub weight: i32,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLot {
    /// 1 to 1,000 characters.
    pub description: String,
    pub family: ProductFamily,
    /// Labels every answer must carry (checked against the producer's certifications).
    #[serde(default)]
    pub labels: Vec<Label>,
    pub unit: Unit,
    /// A firm quantity (not for `accord_cadre`).
    #[serde(default, with = "crate::http::decimal::option")]
    #[schema(value_type = Option<String>, pattern = "^[0-9]+(\\.[0-9]+)?$", example = "600")]
    pub quantity: Option<Decimal>,
    /// The estimated range of a framework agreement (`accord_cadre` only).
    pub quantity_range: Option<QuantityRange>,
    /// The lot's maximum amount HT, required for `accord_cadre` (R2162-4).
    pub max_amount_ht_cents: Option<i64>,
    /// The buyer's estimate of the lot's value HT.
    #[schema(minimum = 1)]
    pub estimated_amount_ht_cents: i64,
    pub delivery: LotDelivery,
    /// The canteens delivered: the buyer itself for a canteen; canteens of
    /// the authority's EPCI for an authority.
    #[schema(min_items = 1, max_items = 100)]
    pub site_ids: Vec<Uuid>,
}

/// An estimated range of quantity.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuantityRange {
    #[serde(with = "crate::http::decimal")]
    #[schema(value_type = String, pattern = "^[0-9]+(\\.[0-9]+)?$", example = "2000")]
    pub min: Decimal,
    #[serde(with = "crate::http::decimal")]
    #[schema(value_type = String, pattern = "^[0-9]+(\\.[0-9]+)?$", example = "5000")]
    pub max: Decimal,
}

/// When a lot is delivered: given dates, or weekdays over a period.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LotDelivery {
    /// Delivery dates (1 to 100), or empty when weekdays are given.
    #[serde(default)]
    pub dates: Vec<NaiveDate>,
    /// ISO weekdays, 1 = Monday to 7 = Sunday, with `from` and `until`.
    #[serde(default)]
    #[schema(schema_with = crate::catalog::dto::weekday_set)]
    pub weekdays: Vec<i16>,
    pub from: Option<NaiveDate>,
    pub until: Option<NaiveDate>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConsultationCriterion {
    /// 1, 2, …: the criterion's number, used when scoring.
    pub position: i16,
    pub kind: CriterionKind,
    pub description: String,
    pub weight: i16,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConsultationSite {
    pub id: Uuid,
    pub name: String,
    pub commune_insee: String,
}

/// The awarded answer of a lot, public once awarded.
#[derive(Debug, Serialize, ToSchema)]
pub struct LotAward {
    pub supplier: OrganisationRef,
    pub unit_price_cents: i64,
    pub contract_id: Option<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConsultationLot {
    pub id: Uuid,
    pub number: i16,
    pub description: String,
    pub family: ProductFamily,
    pub labels: Vec<Label>,
    pub unit: Unit,
    #[serde(with = "crate::http::decimal::option")]
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$", value_type = Option<String>, example = "600")]
    pub quantity: Option<Decimal>,
    pub quantity_range: Option<QuantityRange>,
    pub max_amount_ht_cents: Option<i64>,
    pub estimated_amount_ht_cents: i64,
    pub delivery: LotDelivery,
    pub sites: Vec<ConsultationSite>,
    pub status: LotStatus,
    /// Why the lot was awarded or declared unsuccessful.
    pub rationale: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub award: Option<LotAward>,
}

/// A threshold the buyer should know about: a warning, never a refusal.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "canteen_id": "0193a6f2-7c1e-7d3a-9c51-2f6e8b1d4a10",
    "family": "FRUITS_ET_LEGUMES",
    "year": 2026,
    "purchases_ht_cents": 5500000,
    "with_this_purchase_ht_cents": 6700000,
    "threshold_ht_cents": 6000000,
    "message": "with this consultation the canteen's FRUITS_ET_LEGUMES purchases of 2026 would reach 67000 € HT, past the 60,000 € HT under which a contract may be made without publicity or competition (R2122-8): a MAPA is due"
}))]
pub struct ThresholdWarning {
    pub canteen_id: Uuid,
    pub family: ProductFamily,
    pub year: i32,
    /// The year's purchases so far: orders, and contracts' values.
    pub purchases_ht_cents: i64,
    /// With this consultation, or this basket.
    pub with_this_purchase_ht_cents: i64,
    pub threshold_ht_cents: i64,
    pub message: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Consultation {
    pub id: Uuid,
    pub buyer: OrganisationRef,
    pub title: String,
    pub description: String,
    pub procedure: Procedure,
    pub duration_months: Option<i32>,
    pub answers_due_at: DateTime<Utc>,
    /// As the server's clock has it: `closed` from the deadline on.
    pub status: ConsultationStatus,
    pub cancel_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub published_at: Option<DateTime<Utc>>,
    pub decided_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    /// The least days from publication to the deadline for this procedure.
    pub minimum_answer_days: i64,
    /// The estimated value HT, the sum of the lots'.
    pub estimated_amount_ht_cents: i64,
    pub criteria: Vec<ConsultationCriterion>,
    pub lots: Vec<ConsultationLot>,
    /// How many answers were received, once the deadline has passed
    /// (`null` before: even their number is sealed).
    pub answers_received: Option<i64>,
    /// Threshold warnings (on creation and publication of a `gre_a_gre`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<ThresholdWarning>,
}

/// A consultation in a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsultationSummary {
    pub id: Uuid,
    pub buyer: OrganisationRef,
    pub title: String,
    pub procedure: Procedure,
    pub answers_due_at: DateTime<Utc>,
    pub status: ConsultationStatus,
    pub lots: i64,
    /// The product families of its lots.
    pub families: Vec<ProductFamily>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConsultationList {
    pub items: Vec<ConsultationSummary>,
    /// Pass it as `cursor` for the next page; `null` on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<Uuid>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ConsultationQuery {
    /// Only consultations in this status (as the clock has it).
    pub status: Option<ConsultationStatus>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub limit: Option<u32>,
    /// The previous page's `next_cursor`.
    pub cursor: Option<Uuid>,
}

/// Why a consultation is cancelled (required, 1 to 2,000 characters).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "Le besoin a été regroupé avec celui de la commune voisine."}))]
pub struct CancelConsultation {
    #[schema(min_length = 1, max_length = 2000)]
    pub reason: String,
}

/// A supplier's sealed answer to one lot.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "unit_price_cents": 185,
    "vat_rate": "5.5",
    "labels": ["BIO"],
    "origin": "FRANCE",
    "delivery_terms": "Livraison le mardi et le jeudi avant 8 h, franco dès 50 kg",
    "note": "Carottes de plein champ, récolte de la semaine."
}))]
pub struct AnswerRequest {
    /// Unit price HT, in cents, per the lot's unit.
    #[schema(minimum = 0, maximum = 100000000)]
    pub unit_price_cents: i64,
    #[serde(with = "crate::http::decimal")]
    #[schema(value_type = crate::codes::VatRate, example = "5.5")]
    pub vat_rate: Decimal,
    /// The producing farm's certified labels; every label the lot asks for.
    #[serde(default)]
    pub labels: Vec<Label>,
    pub origin: Origin,
    /// Who produces it: a farm answers for itself (leave out); a distributor
    /// names a farm of the platform that accepted to be carried, or an
    /// outside farm by name (without labels).
    pub producer: Option<crate::catalog::dto::ProducerInput>,
    /// At most 2,000 characters.
    #[serde(default)]
    pub delivery_terms: String,
    /// At most 2,000 characters.
    #[serde(default)]
    pub note: String,
}

/// What proves later what was sent and when.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "answer_id": "0193a6f2-9d01-7a55-b0e2-1f2e3d4c5b6a",
    "revision": 1,
    "received_at": "2026-12-14T09:12:44.318204Z",
    "sha256": "5b0e8f8d2c1f4c3f3f0a0e7f0f3a43c2b8f1a7d2f3e4c5b6a7980a1b2c3d4e5f",
    "canonical": "{\"consultation_id\":\"…\",\"lot_number\":1,…}"
}))]
pub struct AnswerReceipt {
    pub answer_id: Uuid,
    /// 1 for the first submission, then one more per revision.
    pub revision: i32,
    /// The server's time of reception.
    pub received_at: DateTime<Utc>,
    /// SHA-256 (hex) of `canonical`.
    pub sha256: String,
    /// The canonical text of the answer (docs/consultations.md): keep it.
    pub canonical: String,
}

/// A receipt as Sésame keeps it: digest and time.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeptReceipt {
    pub revision: i32,
    pub received_at: DateTime<Utc>,
    pub sha256: String,
}

/// An answer with everything it says.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsultationAnswer {
    pub id: Uuid,
    pub lot_number: i16,
    pub supplier: OrganisationRef,
    pub unit_price_cents: i64,
    #[serde(with = "crate::http::decimal")]
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$", value_type = String, example = "5.5")]
    pub vat_rate: Decimal,
    pub labels: Vec<Label>,
    pub origin: Origin,
    pub producer: OrganisationRefOpt,
    /// 0 when the farm sells its own produce, 1 through a distributor.
    pub intermediaries: i16,
    pub delivery_terms: String,
    pub note: String,
    pub revision: i32,
    pub received_at: DateTime<Utc>,
    pub sha256: String,
}

/// A producer: a farm of the platform (with its id) or an outside farm.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrganisationRefOpt {
    pub id: Option<Uuid>,
    pub name: String,
}

/// A mark on one criterion.
#[derive(Debug, Serialize, ToSchema)]
pub struct CriterionMark {
    pub position: i16,
    pub kind: CriterionKind,
    pub weight: i16,
    /// 0 to 100; the price mark is computed.
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$", example = "75")]
    pub mark: Option<String>,
    /// Required for the buyer's marks; absent for price.
    pub justification: Option<String>,
}

/// An answer as the evaluation ranks it.
#[derive(Debug, Serialize, ToSchema)]
pub struct RankedAnswer {
    /// 1 for the best; by score, then lower price, then earlier answer.
    pub rank: usize,
    /// 0 to 100, once every criterion is marked.
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$", example = "82.5")]
    pub score: Option<String>,
    pub marks: Vec<CriterionMark>,
    pub answer: ConsultationAnswer,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LotEvaluation {
    pub number: i16,
    pub status: LotStatus,
    /// Whether every answer has every mark (needed to award).
    pub complete: bool,
    pub answers: Vec<RankedAnswer>,
}

/// The buyer's evaluation, readable from the deadline on.
#[derive(Debug, Serialize, ToSchema)]
pub struct Evaluation {
    pub consultation_id: Uuid,
    pub status: ConsultationStatus,
    pub lots: Vec<LotEvaluation>,
}

/// The buyer's marks for one answer on criteria other than price.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"marks": [
    {"position": 2, "mark": "80", "justification": "Caisses consignées, tournée mutualisée avec deux autres fermes."},
    {"position": 3, "mark": "100", "justification": "Vente directe par la ferme, sans intermédiaire."}
]}))]
pub struct ScoreRequest {
    pub marks: Vec<MarkInput>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkInput {
    /// The criterion's position (not the price criterion's).
    #[schema(minimum = 1, maximum = 32767)]
    pub position: i16,
    /// 0 to 100, at most 2 decimals.
    #[serde(with = "crate::http::decimal")]
    #[schema(value_type = String, pattern = "^[0-9]+(\\.[0-9]+)?$", example = "80")]
    pub mark: Decimal,
    /// Why, 1 to 2,000 characters (required).
    #[schema(min_length = 1, max_length = 2000)]
    pub justification: String,
}

/// Awarding a lot to one answer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "answer_id": "0193a6f2-9d01-7a55-b0e2-1f2e3d4c5b6a",
    "rationale": "Meilleure note globale : prix et emballages réutilisables.",
    "valid_from": "2027-01-04"
}))]
pub struct AwardRequest {
    pub answer_id: Uuid,
    /// Why, 1 to 2,000 characters.
    #[schema(min_length = 1, max_length = 2000)]
    pub rationale: String,
    /// When the contract starts (default: today in Paris).
    pub valid_from: Option<NaiveDate>,
}

/// Declaring a lot unsuccessful.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"rationale": "Aucune réponse ne couvre les trois sites."}))]
pub struct UnsuccessfulRequest {
    /// Why, 1 to 2,000 characters.
    #[schema(min_length = 1, max_length = 2000)]
    pub rationale: String,
}

/// A lot decided: its status and, when awarded, the contract.
#[derive(Debug, Serialize, ToSchema)]
pub struct LotDecision {
    pub consultation_id: Uuid,
    pub number: i16,
    pub status: LotStatus,
    pub consultation_status: ConsultationStatus,
    pub contract_id: Option<Uuid>,
}

/// What a bidder learns of one of its answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct AnswerOutcome {
    pub lot_status: LotStatus,
    /// Its rank among the lot's answers.
    pub rank: Option<usize>,
    pub answers: usize,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$", example = "71.25")]
    pub score: Option<String>,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$", example = "84")]
    pub winner_score: Option<String>,
    pub winner: Option<OrganisationRef>,
    pub won: bool,
    pub rationale: Option<String>,
}

/// A supplier's own answer, its receipts and, once the lot is decided, the outcome.
#[derive(Debug, Serialize, ToSchema)]
pub struct OwnAnswer {
    pub answer: ConsultationAnswer,
    pub receipts: Vec<KeptReceipt>,
    pub outcome: Option<AnswerOutcome>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OwnAnswers {
    pub consultation_id: Uuid,
    pub status: ConsultationStatus,
    pub items: Vec<OwnAnswer>,
}

/// The thresholds of public procurement a canteen's purchases of a family
/// are compared with (all HT): 60,000 € (no publicity or competition below,
/// R2122-8), 90,000 € (a MAPA is advertised in the BOAMP or a JAL), 216,000 €
/// (formalised procedure).
#[derive(Debug, Serialize, ToSchema)]
pub struct FamilyPurchases {
    pub family: ProductFamily,
    /// Its orders' lines HT (not rejected or cancelled) delivered in the year.
    pub orders_ht_cents: i64,
    /// Its share of the contracts starting in the year (value or maximum HT).
    pub contracts_ht_cents: i64,
    pub total_ht_cents: i64,
    /// The thresholds reached or passed.
    pub reached_ht_cents: Vec<i64>,
    /// The next threshold, if any remains.
    pub next_threshold_ht_cents: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "canteen_id": "0193a6f2-7c1e-7d3a-9c51-2f6e8b1d4a10",
    "year": 2026,
    "thresholds_ht_cents": [6000000, 9000000, 21600000],
    "families": [{"family": "FRUITS_ET_LEGUMES", "orders_ht_cents": 3120000, "contracts_ht_cents": 2800000,
                  "total_ht_cents": 5920000, "reached_ht_cents": [], "next_threshold_ht_cents": 6000000}]
}))]
pub struct PurchaseThresholds {
    pub canteen_id: Uuid,
    pub year: i32,
    pub thresholds_ht_cents: Vec<i64>,
    pub families: Vec<FamilyPurchases>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct YearQuery {
    /// The calendar year (default: this year in Paris).
    #[param(minimum = 2000, maximum = 2100, example = 2026)]
    pub year: Option<i32>,
}
