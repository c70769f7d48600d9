//! Requests and responses of orders. Quantities are exact decimals written as
//! JSON strings ("2.375"), money integer cents.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::money::Totals;
use crate::catalog::dto::Package;
use crate::codes::{
    Label, OrderStatus, OrganisationKind, Origin, PriceSource, ProductFamily, Unit,
};

/// A canteen's basket: one delivery date and site, lines from any suppliers.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "buyer_id": "0193a6f2-7c1e-7d3a-9c51-2f6e8b1d4a10",
    "delivery_date": "2026-12-08",
    "note": "Livraison par la cour arrière",
    "lines": [
        {"offer_id": "0193a6f2-8a10-7b22-8f3e-5c9d0e1f2a31", "quantity": "25"},
        {"offer_id": "0193a6f2-8b44-7c01-a2d4-6e7f8a9b0c12", "quantity": "2.375"}
    ]
}))]
pub struct CheckoutRequest {
    /// The canteen that buys; the caller must be one of its members.
    pub buyer_id: Uuid,
    /// Where to deliver: the buyer (default) or one of its satellite
    /// canteens (a verified canteen naming the buyer as central kitchen).
    pub delivery_site_id: Option<Uuid>,
    pub delivery_date: NaiveDate,
    /// For the suppliers (at most 2,000 characters).
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub note: String,
    /// 1 to 100 lines, each offer at most once.
    #[schema(min_items = 1, max_items = 100)]
    pub lines: Vec<BasketLine>,
}

/// A basket line names an offer, a line of one of the buyer's contracts,
/// or both (the contract line's offer). An offer the buyer has an active
/// contract for is bought at the contract's price.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BasketLine {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer_id: Option<Uuid>,
    /// A line of a contract the buyer (or the delivery site) is party to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract_line: Option<ContractLineRef>,
    /// In the offer's unit: at least its minimum, a multiple of its step.
    #[serde(with = "crate::http::decimal")]
    #[schema(value_type = String, pattern = "^[0-9]+(\\.[0-9]+)?$", example = "25")]
    pub quantity: Decimal,
}

/// A contract's line, by the contract's id and the line's number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContractLineRef {
    pub contract_id: Uuid,
    /// From 0.
    #[schema(minimum = 0, maximum = 99)]
    pub line_no: i16,
}

/// What a checkout made: one order per supplier.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Checkout {
    pub checkout_id: Uuid,
    pub orders: Vec<Order>,
    /// Families whose purchases of the delivery's year pass 60,000 € HT
    /// with this basket (competition is then due): a warning, the orders
    /// are placed. Absent when there is none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<crate::consultations::dto::ThresholdWarning>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrganisationRef {
    pub id: Uuid,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SupplierRef {
    pub id: Uuid,
    pub name: String,
    pub kind: OrganisationKind,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeliverySite {
    pub id: Uuid,
    pub name: String,
    pub address: String,
    pub commune_insee: String,
}

/// The farm that produced a line's product, as it was when bought.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LineProducer {
    /// The farm on the platform, if it is one.
    pub organisation_id: Option<Uuid>,
    pub name: String,
    pub commune_insee: String,
    pub commune: String,
}

/// One line of an order: a snapshot of the offer when it was bought, with
/// the quantities ordered and delivered.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrderLine {
    /// Position in the order, from 0.
    pub line_no: i16,
    /// None for a contract's described product.
    pub offer_id: Option<Uuid>,
    /// Where the unit price comes from: the offer, or a contract.
    pub price_source: PriceSource,
    /// The contract line it was bought under (its parties only see orders).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contract_line: Option<ContractLineRef>,
    pub product_name: String,
    pub family: ProductFamily,
    pub labels: Vec<Label>,
    pub origin: Origin,
    pub producer: LineProducer,
    pub unit: Unit,
    pub package: Option<Package>,
    /// Price per unit excluding VAT, in cents.
    pub unit_price_cents: i64,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$", value_type = String, example = "5.5")]
    pub vat_rate: Decimal,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$", value_type = String, example = "25")]
    pub quantity_ordered: Decimal,
    /// Set on delivery.
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$", value_type = Option<String>, example = "24.6")]
    pub quantity_delivered: Option<Decimal>,
    /// Quantity × unit price, rounded to the cent (half away from zero): on
    /// the delivered quantity once delivered.
    pub total_ht_cents: i64,
    pub dispute_reason: Option<String>,
}

/// A change of status.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrderEvent {
    pub at: DateTime<Utc>,
    pub from: Option<OrderStatus>,
    pub to: OrderStatus,
    pub actor_user_id: Uuid,
    pub actor_organisation_id: Uuid,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Order {
    pub id: Uuid,
    /// Where to read it.
    #[schema(example = "/api/v1/orders/0193a6f2-9d01-7e55-b0c1-1a2b3c4d5e6f")]
    pub href: String,
    pub checkout_id: Uuid,
    pub status: OrderStatus,
    pub buyer: OrganisationRef,
    pub supplier: SupplierRef,
    pub delivery_site: DeliverySite,
    pub delivery_date: NaiveDate,
    /// The last day (Paris time) the buyer may cancel.
    pub buyer_cancel_until: NaiveDate,
    pub note: String,
    pub lines: Vec<OrderLine>,
    pub totals: Totals,
    /// Every change of status, oldest first (only on `GET /orders/{id}` and
    /// transitions; empty in lists).
    pub events: Vec<OrderEvent>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One page of orders, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderPage {
    pub items: Vec<Order>,
    /// Pass as `cursor` for the next page; `null` on the last.
    #[schema(required = true)]
    pub next_cursor: Option<Uuid>,
}

/// Which side of its orders an organisation reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OrderRole {
    Buyer,
    Supplier,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OrderQuery {
    /// The organisation whose orders to list; may be left out by someone
    /// who belongs to exactly one.
    pub organisation_id: Option<Uuid>,
    /// Only the orders it placed (`buyer`) or received (`supplier`).
    #[param(inline)]
    pub role: Option<OrderRole>,
    pub status: Option<OrderStatus>,
    /// Delivery on or after this date.
    pub delivery_from: Option<NaiveDate>,
    /// Delivery on or before this date.
    pub delivery_to: Option<NaiveDate>,
    /// The other party: a supplier for a buyer, a buyer for a supplier.
    pub counterpart: Option<Uuid>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<Uuid>,
    /// 1 to 100; 50 by default.
    #[param(minimum = 1, maximum = 100, default = 50)]
    pub limit: Option<u32>,
}

/// The supplier's reason (required).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "Gel sur les carottes : plus de stock avant janvier"}))]
pub struct Reason {
    #[schema(min_length = 1, max_length = 2000)]
    pub reason: String,
}

/// Why the order is cancelled: required from the supplier, optional for
/// the buyer.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Cancellation {
    #[schema(max_length = 2000)]
    pub reason: Option<String>,
}

/// What was delivered. Lines left out were delivered as ordered.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"lines": [{"line_no": 0, "quantity_delivered": "24.6"}]}))]
pub struct Delivery {
    #[serde(default)]
    pub lines: Vec<DeliveredLine>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliveredLine {
    /// The order's line, numbered from 0 (an order has at most 100).
    #[schema(minimum = 0, maximum = 99)]
    pub line_no: i16,
    /// May be below (short delivery) or above (real weight) the ordered
    /// quantity; 0 if none came.
    #[serde(with = "crate::http::decimal")]
    #[schema(value_type = String, pattern = "^[0-9]+(\\.[0-9]+)?$", example = "24.6")]
    pub quantity_delivered: Decimal,
}

/// The lines the buyer disputes, each with its reason.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"lines": [{"line_no": 1, "reason": "Pommes abîmées, 3 kg inutilisables"}]}))]
pub struct Dispute {
    pub lines: Vec<DisputedLine>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisputedLine {
    /// The order's line, numbered from 0 (an order has at most 100).
    #[schema(minimum = 0, maximum = 99)]
    pub line_no: i16,
    #[schema(min_length = 1, max_length = 2000)]
    pub reason: String,
}

/// A supplier's picking list for one delivery date: what to prepare, per
/// offer and per delivery site, from its accepted orders.
#[derive(Debug, Serialize, ToSchema)]
pub struct PickingList {
    pub supplier_id: Uuid,
    pub delivery_date: NaiveDate,
    pub products: Vec<PickingProduct>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PickingProduct {
    /// None for a contract's described product.
    pub offer_id: Option<Uuid>,
    pub product_name: String,
    pub unit: Unit,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$", value_type = String, example = "75")]
    pub total_quantity: Decimal,
    pub sites: Vec<PickingSite>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PickingSite {
    pub delivery_site: DeliverySite,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$", value_type = String, example = "25")]
    pub quantity: Decimal,
    pub order_ids: Vec<Uuid>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PickingQuery {
    pub date: NaiveDate,
}

/// One entry of the integration feed; its schema, one of the families of
/// `orders::feed_data` told apart by `type`, is written there.
#[derive(Debug, Serialize)]
pub struct FeedEvent {
    /// Position of this event: pass it as `after` to read what follows.
    pub cursor: String,
    #[serde(rename = "type")]
    pub event_type: crate::codes::FeedEventType,
    pub subject_id: Uuid,
    pub at: DateTime<Utc>,
    /// One of `orders::feed_data`'s types, as `event_type` says.
    pub data: serde_json::Value,
}

impl utoipa::PartialSchema for FeedEvent {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        super::feed_data::feed_event_schema()
    }
}

impl ToSchema for FeedEvent {
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        super::feed_data::feed_event_schemas(schemas);
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FeedPage {
    pub items: Vec<FeedEvent>,
    /// Where to read from next time: the last item's cursor, or `cursor`
    /// unchanged when nothing is new (a feed has no last page: poll again
    /// with it later); `null` only when there is neither.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FeedQuery {
    /// The previous page's `next_cursor` (or any event's `cursor`): the
    /// events after it. From the beginning without it.
    pub cursor: Option<String>,
    /// 1 to 500; 100 by default.
    #[param(minimum = 1, maximum = 500, default = 100)]
    pub limit: Option<u32>,
}
