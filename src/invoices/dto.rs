//! Requests and responses of invoicing.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::codes::{ChorusRequirement, Label, MandateScope, PaymentStatus, Unit};
use crate::orders::money::Totals;

/// What an organisation's invoices need. A seller sets its VAT number, IBAN
/// and payment days; a public buyer its billing SIRET and what its Chorus
/// Pro record requires.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "vat_number": "FR11123456782", "iban": "FR7630006000011234567890189", "payment_days": 30,
    "billing_siret": null, "service_code": null, "chorus_requires": "none"
}))]
pub struct InvoicingProfile {
    /// Intra-EU VAT number; its key must match the organisation's SIREN.
    pub vat_number: Option<String>,
    /// Where buyers pay (SEPA credit transfer), without spaces.
    pub iban: Option<String>,
    /// Days from delivery to the due date, at most 30 (perishable food).
    #[schema(minimum = 0, maximum = 30)]
    pub payment_days: i16,
    /// The SIRET invoices are addressed to, when not the organisation's own.
    pub billing_siret: Option<String>,
    /// Chorus Pro service code (*service exécutant*), carried as BT-10.
    pub service_code: Option<String>,
    pub chorus_requires: ChorusRequirement,
}

/// A supplier's billing mandate: the platform issues invoices in its name.
#[derive(Debug, Serialize, ToSchema)]
pub struct BillingMandate {
    pub id: Uuid,
    pub supplier_id: Uuid,
    pub scope: MandateScope,
    pub starts_on: NaiveDate,
    /// The supplier's member who accepted it, and when.
    pub accepted_by: Uuid,
    pub accepted_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BillingMandates {
    pub items: Vec<BillingMandate>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"scope": "invoices_and_credit_notes", "starts_on": "2026-12-01"}))]
pub struct MandateRequest {
    pub scope: MandateScope,
    /// From when invoices may be issued in the supplier's name; today at the earliest.
    pub starts_on: NaiveDate,
}

/// Issue one invoice: for the listed received orders of one buyer, or for
/// all its received orders not yet invoiced whose delivery falls in the
/// period (a statement).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"orders": ["0193a6f2-a1b2-7c3d-8e4f-5a6b7c8d9e0f"], "engagement_number": "EJ-2026-0042"}))]
pub struct IssueRequest {
    /// The orders to invoice (1 to 200), all to the same buyer.
    pub orders: Option<Vec<Uuid>>,
    /// A statement: the buyer and the period of the deliveries.
    pub statement: Option<StatementRequest>,
    /// The buyer's engagement number (EJ) or purchase order number (BT-13).
    /// Defaults to the buyer reference of the contract the orders used.
    pub engagement_number: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatementRequest {
    pub buyer_id: Uuid,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// A credit note on an invoice: the whole of what is left, or lines by
/// quantity, by price, or both.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "4 kg de carottes abîmées", "lines": [{"line_no": 1, "quantity": "4"}]}))]
pub struct CreditNoteRequest {
    /// Why: a return, damage, a price error, a settled dispute.
    pub reason: String,
    /// Credit everything not yet credited.
    #[serde(default)]
    pub whole: bool,
    #[serde(default)]
    pub lines: Vec<CreditLineRequest>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreditLineRequest {
    /// The invoice's line.
    pub line_no: i16,
    /// The quantity credited (default: the whole line's).
    #[serde(default, with = "crate::http::decimal::option")]
    #[schema(pattern = r"^[0-9]+(\.[0-9]+)?$", value_type = Option<String>, example = "4")]
    pub quantity: Option<Decimal>,
    /// The unit price credited, in cents (default: the line's; less for a
    /// price correction).
    pub unit_price_cents: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"amount_cents": 10853, "paid_on": "2026-11-20"}))]
pub struct PaymentRequest {
    pub amount_cents: i64,
    pub paid_on: NaiveDate,
}

/// A postal address, as invoices write it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PostalAddress {
    pub line: String,
    pub postcode: Option<String>,
    pub city: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
}

/// A party to an invoice, as it was when the invoice was issued.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Party {
    pub name: String,
    pub siret: String,
    pub siren: String,
    pub vat_number: Option<String>,
    pub address: PostalAddress,
    /// The seller's account for payment; absent for buyers.
    pub iban: Option<String>,
}

/// Where the goods were delivered, when not at the buyer's address.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ShipTo {
    pub name: String,
    pub address: PostalAddress,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InvoiceLine {
    pub line_no: i16,
    pub order_id: Uuid,
    pub order_line_no: i16,
    /// A credit note's line: the invoice's line it corrects.
    pub corrects_line_no: Option<i16>,
    pub description: String,
    pub labels: Vec<Label>,
    pub origin: String,
    pub unit: Unit,
    #[serde(with = "crate::http::decimal")]
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$", value_type = String, example = "24.6")]
    pub quantity: Decimal,
    pub unit_price_cents: i64,
    #[serde(with = "crate::http::decimal")]
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$", value_type = String, example = "5.5")]
    pub vat_rate: Decimal,
    /// Quantity × unit price, rounded to the cent.
    pub net_cents: i64,
}

/// Another invoice, by its number.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InvoiceRef {
    pub id: Uuid,
    pub number: String,
    pub issue_date: NaiveDate,
    pub gross_cents: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Payment {
    pub id: Uuid,
    pub amount_cents: i64,
    pub paid_on: NaiveDate,
    pub recorded_at: DateTime<Utc>,
}

/// Where an invoice's payment stands, as of today (Paris).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FollowUp {
    pub status: PaymentStatus,
    pub paid_cents: i64,
    /// Total of its credit notes, VAT included.
    pub credited_cents: i64,
    /// Left to pay.
    pub outstanding_cents: i64,
    /// Since when it is overdue, as recorded by the job runner.
    pub overdue_since: Option<NaiveDate>,
    /// Days past the due date: until payment, or until today while unpaid.
    pub days_late: i64,
    /// The yearly rate of late interest: the ECB rate plus the points.
    #[serde(with = "crate::http::decimal::option")]
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$", value_type = Option<String>, example = "10.15")]
    pub late_interest_percent: Option<Decimal>,
    pub late_interest_cents: i64,
    /// 40 € once the invoice is paid late or overdue.
    pub recovery_indemnity_cents: i64,
    pub paid_on: Option<NaiveDate>,
    pub payments: Vec<Payment>,
}

/// An invoice (type 380) or a credit note (381), with every mention French
/// law asks of it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Invoice {
    pub id: Uuid,
    pub number: String,
    /// UNTDID 1001: 380 invoice, 381 credit note.
    #[schema(example = 380)]
    pub type_code: i16,
    pub supplier_id: Uuid,
    pub buyer_id: Uuid,
    pub issue_date: NaiveDate,
    /// The (last) delivery invoiced.
    pub delivery_date: NaiveDate,
    /// A statement's period of deliveries.
    pub period_start: Option<NaiveDate>,
    pub period_end: Option<NaiveDate>,
    /// Absent on credit notes.
    pub due_date: Option<NaiveDate>,
    pub seller: Party,
    pub buyer: Party,
    pub ship_to: Option<ShipTo>,
    /// Chorus Pro service code (BT-10).
    pub service_code: Option<String>,
    /// Engagement or purchase order number (BT-13).
    pub engagement_number: Option<String>,
    /// The contract (*marché*) number (BT-12).
    pub contract_number: Option<String>,
    /// Nature of the operation: always `goods` here.
    pub nature: String,
    pub public_buyer: bool,
    /// The payment terms as written on the invoice.
    pub payment_terms: String,
    /// The late payment penalty as written on the invoice.
    pub late_payment: String,
    pub recovery_indemnity_cents: i64,
    /// Issued by the platform in the supplier's name, under this mandate.
    pub mandate_id: Option<Uuid>,
    /// A credit note: the invoice it corrects, and why.
    pub corrects: Option<InvoiceRef>,
    pub reason: Option<String>,
    pub lines: Vec<InvoiceLine>,
    pub totals: Totals,
    /// An invoice's credit notes.
    pub credit_notes: Vec<InvoiceRef>,
    /// An invoice's payment; absent on credit notes.
    pub follow_up: Option<FollowUp>,
    pub created_at: DateTime<Utc>,
}

/// One invoice in a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvoiceSummary {
    pub id: Uuid,
    pub number: String,
    pub type_code: i16,
    pub supplier_id: Uuid,
    pub buyer_id: Uuid,
    pub issue_date: NaiveDate,
    pub due_date: Option<NaiveDate>,
    pub gross_cents: i64,
    pub status: Option<PaymentStatus>,
    pub overdue_since: Option<NaiveDate>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvoicePage {
    pub items: Vec<InvoiceSummary>,
    /// Pass as `cursor` for the next page; `null` on the last.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct InvoiceListQuery {
    /// 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}
