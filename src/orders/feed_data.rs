//! What each event of the integration feed says: one `data` type per family
//! of event types, the only thing `feed::publish_to` writes, and the
//! `FeedEvent` schema built from them (`oneOf` by `type`, with a
//! discriminator), so that a generated client gets each event typed.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa::openapi::schema::{Discriminator, OneOfBuilder, Schema, Type};
use utoipa::openapi::{ObjectBuilder, Ref, RefOr};
use uuid::Uuid;

use crate::codes::{
    ConsultationStatus, ContractStatus, FeedEventType as T, Label, LotStatus, OrderStatus,
    Procedure, ProductFamily, SupplyStatus, Unit,
};

/// The `data` of some event types.
pub trait FeedData: Serialize + ToSchema {
    /// The event types whose `data` this is.
    const TYPES: &'static [T];
}

/// An order's state after the change (`order.*`).
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderChanged {
    pub order_id: Uuid,
    pub checkout_id: Uuid,
    pub status: OrderStatus,
    pub buyer_id: Uuid,
    pub supplier_id: Uuid,
    pub delivery_site_id: Uuid,
    pub delivery_date: NaiveDate,
    pub total_ht_cents: i64,
    pub total_vat_cents: i64,
    pub total_ttc_cents: i64,
    /// The organisation whose member made the change.
    pub actor_organisation_id: Uuid,
    /// Why, for a rejection, a cancellation or a dispute.
    pub reason: Option<String>,
}

impl FeedData for OrderChanged {
    const TYPES: &'static [T] = &[
        T::OrderSubmitted,
        T::OrderAccepted,
        T::OrderRejected,
        T::OrderCancelled,
        T::OrderDelivered,
        T::OrderReceived,
        T::OrderDisputed,
    ];
}

/// A supply relationship's state after the change (`supply.*`).
#[derive(Debug, Serialize, ToSchema)]
pub struct SupplyChanged {
    pub relationship_id: Uuid,
    pub distributor_id: Uuid,
    pub farm_id: Uuid,
    pub status: SupplyStatus,
    /// Why it was refused or ended.
    pub reason: Option<String>,
    /// The distributor's offers naming the farm that this paused.
    pub offers_paused: usize,
}

impl FeedData for SupplyChanged {
    const TYPES: &'static [T] = &[
        T::SupplyRequested,
        T::SupplyAccepted,
        T::SupplyRefused,
        T::SupplyEnded,
    ];
}

/// An offer the platform changed because of its producer (`offer.paused`,
/// `offer.labels_corrected`).
#[derive(Debug, Serialize, ToSchema)]
pub struct OfferCorrected {
    pub offer_id: Uuid,
    pub producer_id: Uuid,
    /// `consent_withdrawn`, `relationship_ended`, `producing_farm_certification_dropped`, …
    #[schema(example = "relationship_ended")]
    pub reason: String,
    /// `offer.labels_corrected`: the labels the offer keeps.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<Label>>,
}

impl FeedData for OfferCorrected {
    const TYPES: &'static [T] = &[T::OfferPaused, T::OfferLabelsCorrected];
}

/// A consultation's step: drafted, published, closed, cancelled, or its
/// outcome once every lot is decided.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsultationChanged {
    pub consultation_id: Uuid,
    pub status: ConsultationStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub procedure: Option<Procedure>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answers_due_at: Option<DateTime<Utc>>,
    /// Why it was cancelled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl FeedData for ConsultationChanged {
    const TYPES: &'static [T] = &[
        T::ConsultationDrafted,
        T::ConsultationPublished,
        T::ConsultationClosed,
        T::ConsultationCancelled,
        T::ConsultationAwarded,
        T::ConsultationPartlyAwarded,
        T::ConsultationUnsuccessful,
    ];
}

/// A published consultation a supplier can answer (`consultation.alert`).
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsultationAlert {
    pub consultation_id: Uuid,
    pub buyer_id: Uuid,
    pub buyer_name: String,
    pub title: String,
    pub procedure: Procedure,
    pub answers_due_at: DateTime<Utc>,
    pub lots: Vec<AlertLot>,
}

/// A lot as an alert shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertLot {
    pub number: i16,
    pub family: ProductFamily,
    pub labels: Vec<Label>,
    pub unit: Unit,
}

impl FeedData for ConsultationAlert {
    const TYPES: &'static [T] = &[T::ConsultationAlert];
}

/// The receipt of a supplier's sealed answer, to the supplier only
/// (`consultation.answer_received`).
#[derive(Debug, Serialize, ToSchema)]
pub struct AnswerReceived {
    pub consultation_id: Uuid,
    pub lot_number: i16,
    pub answer_id: Uuid,
    pub revision: i32,
    pub received_at: DateTime<Utc>,
    /// SHA-256 of the canonical answer, hexadecimal.
    pub sha256: String,
}

impl FeedData for AnswerReceived {
    const TYPES: &'static [T] = &[T::ConsultationAnswerReceived];
}

/// A lot awarded or declared unsuccessful (`consultation.lot_*`).
#[derive(Debug, Serialize, ToSchema)]
pub struct LotDecided {
    pub consultation_id: Uuid,
    pub lot_number: i16,
    pub status: LotStatus,
    pub rationale: String,
    pub winner: Option<super::dto::OrganisationRef>,
    /// The winner's score out of 100, as a decimal string.
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$", example = "84")]
    pub winner_score: Option<String>,
    /// How many answers the lot had.
    pub answers: usize,
}

impl FeedData for LotDecided {
    const TYPES: &'static [T] = &[T::ConsultationLotAwarded, T::ConsultationLotUnsuccessful];
}

/// What became of one bidder's answer, to that bidder (`consultation.outcome`).
#[derive(Debug, Serialize, ToSchema)]
pub struct BidderOutcome {
    pub consultation_id: Uuid,
    pub lot_number: i16,
    pub answer_id: Uuid,
    pub lot_status: LotStatus,
    pub rank: usize,
    pub answers: usize,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$", example = "71.25")]
    pub score: Option<String>,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$", example = "84")]
    pub winner_score: Option<String>,
    pub won: bool,
}

impl FeedData for BidderOutcome {
    const TYPES: &'static [T] = &[T::ConsultationOutcome];
}

/// The contract an awarded lot made (`contract.created`).
#[derive(Debug, Serialize, ToSchema)]
pub struct ContractAwarded {
    pub contract_id: Uuid,
    pub consultation_id: Uuid,
    pub lot_number: i16,
    pub supplier_id: Uuid,
    pub buyer_id: Uuid,
    pub unit_price_cents: i64,
    pub amount_ht_cents: i64,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
}

impl FeedData for ContractAwarded {
    const TYPES: &'static [T] = &[T::ContractCreated];
}

/// A contract's new status; never its prices (`contract.*`).
#[derive(Debug, Serialize, ToSchema)]
pub struct ContractChanged {
    pub contract_id: Uuid,
    pub status: ContractStatus,
    /// Why it was declined or terminated.
    pub reason: Option<String>,
}

impl FeedData for ContractChanged {
    const TYPES: &'static [T] = &[
        T::ContractProposed,
        T::ContractActive,
        T::ContractDeclined,
        T::ContractExpired,
        T::ContractTerminated,
    ];
}

/// An invoice or credit note issued, paid or overdue; never its amounts
/// (`invoice.*`).
#[derive(Debug, Serialize, ToSchema)]
pub struct InvoiceChanged {
    pub invoice_id: Uuid,
    pub number: String,
    /// UNTDID 1001: 380 an invoice, 381 a credit note.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = 380)]
    pub type_code: Option<i16>,
}

impl FeedData for InvoiceChanged {
    const TYPES: &'static [T] = &[
        T::InvoiceIssued,
        T::InvoiceCredited,
        T::InvoicePartlyPaid,
        T::InvoicePaid,
        T::InvoiceOverdue,
    ];
}

/// What became of a day of a standing order (`standing_order.*`).
#[derive(Debug, Serialize, ToSchema)]
pub struct StandingOrderDay {
    pub standing_order_id: Uuid,
    pub delivery_date: NaiveDate,
    /// `standing_order.placed`: the checkout that placed it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkout_id: Option<Uuid>,
    /// Lines left out, or the refusal, each with its problem document.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub problems: Option<Vec<serde_json::Value>>,
}

impl FeedData for StandingOrderDay {
    const TYPES: &'static [T] = &[
        T::StandingOrderPlaced,
        T::StandingOrderFailed,
        T::StandingOrderMissed,
    ];
}

/// One family of events as a schema: the envelope, `type` limited to the
/// family's types, and its `data`.
fn family<D: FeedData>(schemas: &mut Vec<(String, RefOr<Schema>)>) -> (String, Vec<T>) {
    let data = D::name().into_owned();
    let name = format!("{data}Event");
    let envelope = ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some(format!("A feed event whose `data` is `{data}`.")))
        .property(
            "cursor",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some("Position of this event: pass it as `after` to read what follows."))
                .pattern(Some("^[0-9]+-[0-9]+$")),
        )
        .property(
            "type",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(D::TYPES.iter().map(|t| t.as_str()))),
        )
        .property(
            "subject_id",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                    utoipa::openapi::KnownFormat::Uuid,
                )))
                .description(Some("What it is about: the order, relationship, offer, consultation, contract, invoice or standing order.")),
        )
        .property(
            "at",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                    utoipa::openapi::KnownFormat::DateTime,
                ))),
        )
        .property("data", Ref::from_schema_name(data.clone()))
        .required("cursor")
        .required("type")
        .required("subject_id")
        .required("at")
        .required("data")
        .build();
    schemas.push((data, D::schema()));
    D::schemas(schemas);
    schemas.push((name.clone(), RefOr::T(Schema::Object(envelope))));
    (name, D::TYPES.to_vec())
}

/// Every family, in the order a client tries them.
fn families(schemas: &mut Vec<(String, RefOr<Schema>)>) -> Vec<(String, Vec<T>)> {
    vec![
        family::<OrderChanged>(schemas),
        family::<SupplyChanged>(schemas),
        family::<OfferCorrected>(schemas),
        family::<ConsultationChanged>(schemas),
        family::<ConsultationAlert>(schemas),
        family::<AnswerReceived>(schemas),
        family::<LotDecided>(schemas),
        family::<BidderOutcome>(schemas),
        family::<ContractAwarded>(schemas),
        family::<ContractChanged>(schemas),
        family::<InvoiceChanged>(schemas),
        family::<StandingOrderDay>(schemas),
    ]
}

/// `FeedEvent`: one of the families, told apart by `type`.
pub fn feed_event_schema() -> RefOr<Schema> {
    let mut discriminator = Discriminator::new("type");
    let mut one_of = OneOfBuilder::new();
    for (name, types) in families(&mut Vec::new()) {
        let target = format!("#/components/schemas/{name}");
        for t in types {
            discriminator
                .mapping
                .insert(t.as_str().to_owned(), target.clone());
        }
        one_of = one_of.item(Ref::from_schema_name(name));
    }
    one_of
        .description(Some(
            "One entry of the integration feed: `type` says what happened and what `data` holds.",
        ))
        .discriminator(Some(discriminator))
        .into()
}

/// The schemas `FeedEvent` refers to.
pub fn feed_event_schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
    families(schemas);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_type_has_exactly_one_data_type() {
        let mut seen = Vec::new();
        for (_, types) in families(&mut Vec::new()) {
            seen.extend(types);
        }
        let mut sorted = seen.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), seen.len(), "a type in two families");
        assert_eq!(sorted.len(), T::ALL.len(), "a type in no family");
    }
}
