//! Checkout: a basket becomes one order per supplier, in one transaction.
//!
//! In order: the transaction's lock timeout is set (a held offer gives
//! `busy` within a second); the Idempotency-Key is locked (a concurrent duplicate gets 409)
//! and looked up (a replay gets the stored response); the basket's offers are
//! locked in id order (no deadlock between baskets) and every line checked,
//! all failures reported at once; stock is reserved with conditional
//! updates (never negative); the orders, their events and feed entries, and
//! the key with its response are written. Any failure rolls all of it back.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{Datelike, NaiveDate, Utc};
use diesel::sql_types::{Array, Date, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use rust_decimal::Decimal;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::dto::{Checkout, CheckoutRequest};
use super::lifecycle::event_type;
use super::money::{line_cents, totals};
use super::queries::{self, EventRow, LineRow, OrderRow, Party};
use super::{feed, view};
use crate::accounts::access;
use crate::auth::extract::AuthUser;
use crate::auth::policy::{self, OrgAction};
use crate::catalog::delivery::MAX_DAYS_AHEAD;
use crate::codes::OrderStatus;
use crate::db::DbConn;
use crate::error::{ApiError, ApiResult, FieldError, Shortage};

pub const MAX_LINES: usize = 100;
const MAX_NOTE_CHARS: usize = 2000;
/// No line may ask more than this, in any unit.
const MAX_QUANTITY: i64 = 1_000_000;
/// What a checkout returns: the new orders, or the response stored under
/// the Idempotency-Key by the first identical request.
pub enum Outcome {
    /// The checkout as JSON, exactly as stored under the key.
    Created(serde_json::Value),
    Replayed(serde_json::Value),
}

/// An offer of the basket, locked for the transaction.
#[derive(diesel::QueryableByName)]
struct BasketOffer {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    supplier_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Text)]
    supplier_status: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<SqlUuid>)]
    producer_id: Option<Uuid>,
    #[diesel(sql_type = diesel::sql_types::Text)]
    producer_name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    producer_commune_insee: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    producer_commune: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    family: String,
    #[diesel(sql_type = Array<diesel::sql_types::Text>)]
    labels: Vec<String>,
    #[diesel(sql_type = diesel::sql_types::Text)]
    origin: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    unit: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Numeric>)]
    package_net_quantity: Option<Decimal>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    package_net_unit: Option<String>,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    price_cents: i64,
    #[diesel(sql_type = diesel::sql_types::Numeric)]
    vat_rate: Decimal,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Numeric>)]
    stock_available: Option<Decimal>,
    #[diesel(sql_type = diesel::sql_types::Numeric)]
    min_order_quantity: Decimal,
    #[diesel(sql_type = diesel::sql_types::Numeric)]
    order_step: Decimal,
    #[diesel(sql_type = diesel::sql_types::Nullable<Date>)]
    available_from: Option<NaiveDate>,
    #[diesel(sql_type = diesel::sql_types::Nullable<Date>)]
    available_until: Option<NaiveDate>,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    lead_time_days: i32,
    #[diesel(sql_type = Array<diesel::sql_types::SmallInt>)]
    delivery_weekdays: Vec<i16>,
    #[diesel(sql_type = Array<diesel::sql_types::Text>)]
    area_communes: Vec<String>,
    #[diesel(sql_type = Array<diesel::sql_types::Text>)]
    area_epcis: Vec<String>,
    #[diesel(sql_type = Array<diesel::sql_types::Text>)]
    area_departements: Vec<String>,
    #[diesel(sql_type = diesel::sql_types::Text)]
    status: String,
}

/// The basket's offers, locked in id order (`FOR UPDATE OF o`: the
/// suppliers' and communes' rows stay free), each waited for at most the
/// transaction's lock timeout.
async fn lock_offers(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> ApiResult<Vec<BasketOffer>> {
    Ok(diesel::sql_query(
        "SELECT o.id, o.supplier_id, s.status AS supplier_status, o.producer_id, o.producer_name, \
                o.producer_commune_insee, c.name AS producer_commune, o.name, o.family, o.labels, \
                o.origin, o.unit, o.package_net_quantity, o.package_net_unit, o.price_cents, \
                o.vat_rate, o.stock_available, o.min_order_quantity, o.order_step, \
                o.available_from, o.available_until, o.lead_time_days, o.delivery_weekdays, \
                o.area_communes, o.area_epcis, o.area_departements, o.status \
           FROM offers o \
           JOIN organisations s ON s.id = o.supplier_id \
           JOIN communes c ON c.insee = o.producer_commune_insee \
          WHERE o.id = ANY($1) \
          ORDER BY o.id \
            FOR UPDATE OF o",
    )
    .bind::<Array<SqlUuid>, _>(ids)
    .load(conn)
    .await?)
}

/// The request's fingerprint: same key with another body → 422.
fn fingerprint(request: &CheckoutRequest) -> ApiResult<Vec<u8>> {
    // "25" and "25.0" are the same basket.
    let mut request = request.clone();
    for line in &mut request.lines {
        line.quantity = line.quantity.normalize();
    }
    let canonical = serde_json::to_vec(&request).map_err(|e| ApiError::Internal(e.into()))?;
    Ok(Sha256::digest(canonical).to_vec())
}

/// The basket's size, checked before anything else: a huge basket then costs
/// no more than its parsing.
fn line_count(request: &CheckoutRequest) -> Option<FieldError> {
    (request.lines.is_empty() || request.lines.len() > MAX_LINES)
        .then(|| FieldError::new("lines", format!("a basket has 1 to {MAX_LINES} lines")))
}

/// Checks what needs no database: sizes, quantities, duplicates.
fn check_shape(request: &CheckoutRequest, today: NaiveDate, errors: &mut Vec<FieldError>) {
    errors.extend(line_count(request));
    if request.note.chars().count() > MAX_NOTE_CHARS {
        errors.push(FieldError::new(
            "note",
            format!("at most {MAX_NOTE_CHARS} characters"),
        ));
    }
    if request.delivery_date < today {
        errors.push(FieldError::new("delivery_date", "is in the past"));
    } else if request.delivery_date > today + chrono::Days::new(MAX_DAYS_AHEAD) {
        errors.push(FieldError::new(
            "delivery_date",
            format!("is more than {MAX_DAYS_AHEAD} days ahead"),
        ));
    }
    let mut seen: HashMap<Uuid, usize> = HashMap::new();
    for (i, line) in request.lines.iter().enumerate() {
        let q = line.quantity;
        if q <= Decimal::ZERO || q > Decimal::from(MAX_QUANTITY) || q.normalize().scale() > 3 {
            errors.push(FieldError::new(
                format!("lines[{i}].quantity"),
                format!("must be above 0 and at most {MAX_QUANTITY}, with at most 3 decimals"),
            ));
        }
        if let Some(first) = seen.insert(line.offer_id, i) {
            errors.push(FieldError::new(
                format!("lines[{i}].offer_id"),
                format!("the offer is already in lines[{first}]: one line per offer"),
            ));
        }
    }
}

const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// Everything that makes one line impossible, each as an error of `lines[i]`.
fn check_line(
    i: usize,
    quantity: Decimal,
    offer: Option<&BasketOffer>,
    date: NaiveDate,
    today: NaiveDate,
    site: &Party,
    errors: &mut Vec<FieldError>,
) {
    let at = |field: &str| format!("lines[{i}]{field}");
    let Some(o) = offer.filter(|o| o.status == "active" && o.supplier_status == "verified") else {
        errors.push(FieldError::new(
            at(".offer_id"),
            "no active offer with this id",
        ));
        return;
    };
    if quantity > Decimal::ZERO {
        if quantity < o.min_order_quantity {
            errors.push(FieldError::new(
                at(".quantity"),
                format!(
                    "is below the minimum order of {} {}",
                    o.min_order_quantity.normalize(),
                    o.unit
                ),
            ));
        }
        if !(quantity % o.order_step).is_zero() {
            errors.push(FieldError::new(
                at(".quantity"),
                format!("must be a multiple of {}", o.order_step.normalize()),
            ));
        }
        if line_cents(quantity, o.price_cents).is_none() {
            errors.push(FieldError::new(at(".quantity"), "the amount is too large"));
        }
    }
    if o.available_from.is_some_and(|from| date < from)
        || o.available_until.is_some_and(|until| date > until)
    {
        let bound = |d: Option<NaiveDate>| d.map_or("…".to_owned(), |d| d.to_string());
        errors.push(FieldError::new(
            at(""),
            format!(
                "not available on {date}: offered from {} to {}",
                bound(o.available_from),
                bound(o.available_until)
            ),
        ));
    }
    let earliest = today + chrono::Days::new(o.lead_time_days.max(0) as u64);
    if date < earliest {
        errors.push(FieldError::new(
            at(""),
            format!(
                "needs {} days' notice: the earliest delivery is {earliest}",
                o.lead_time_days
            ),
        ));
    }
    let weekday = date.weekday().number_from_monday() as i16;
    if !o.delivery_weekdays.contains(&weekday) {
        let days: Vec<&str> = o
            .delivery_weekdays
            .iter()
            .filter_map(|d| WEEKDAYS.get((*d as usize).wrapping_sub(1)).copied())
            .collect();
        errors.push(FieldError::new(
            at(""),
            format!(
                "not delivered on {}s; delivery days: {}",
                WEEKDAYS[weekday as usize - 1],
                days.join(", ")
            ),
        ));
    }
    let anywhere =
        o.area_communes.is_empty() && o.area_epcis.is_empty() && o.area_departements.is_empty();
    let inside = o.area_communes.contains(&site.commune_insee)
        || site.epci.as_ref().is_some_and(|e| o.area_epcis.contains(e))
        || o.area_departements.contains(&site.departement);
    if !(anywhere || inside) {
        errors.push(FieldError::new(
            at(""),
            format!(
                "the supplier does not deliver to {} (commune {})",
                site.name, site.commune_insee
            ),
        ));
    }
}

/// Places the basket for `user`: see the module's documentation.
pub async fn place(
    conn: &mut DbConn,
    user: &AuthUser,
    key: &str,
    request: CheckoutRequest,
) -> ApiResult<Outcome> {
    if let Some(error) = line_count(&request) {
        return Err(ApiError::Validation(vec![error]));
    }
    let buyer_access = access(conn, request.buyer_id, Some(user)).await?;
    policy::authorize(user, &buyer_access, OrgAction::Buy)?;
    let hash = fingerprint(&request)?;
    let conn: &mut AsyncPgConnection = &mut *conn;
    conn.transaction::<_, ApiError, _>(async |conn| {
        place_in_transaction(conn, user, key, &request, &hash).await
    })
    .await
}

/// A checkout waits this long for an offer row another transaction holds
/// (another checkout of the same offer takes milliseconds; an import or an
/// operator's session may take much longer), then answers `busy`. Well
/// below the pool's wait, so that waiting checkouts never hold connections
/// other requests need for long.
const LOCK_TIMEOUT: &str = "SET LOCAL lock_timeout = '1s'";

async fn place_in_transaction(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    key: &str,
    request: &CheckoutRequest,
    hash: &[u8],
) -> ApiResult<Outcome> {
    conn.batch_execute(LOCK_TIMEOUT).await?;
    let (locked, today) = queries::lock_key(conn, request.buyer_id, key).await?;
    if !locked {
        return Err(ApiError::IdempotencyInProgress);
    }
    if let Some((stored_hash, response)) = queries::find_key(conn, request.buyer_id, key).await? {
        return if stored_hash == hash {
            Ok(Outcome::Replayed(response))
        } else {
            Err(ApiError::IdempotencyKeyReused(
                "this Idempotency-Key was used for another basket: use a new key for a new basket"
                    .into(),
            ))
        };
    }
    let mut errors = Vec::new();
    check_shape(request, today, &mut errors);

    let mut offer_ids: Vec<Uuid> = request.lines.iter().map(|l| l.offer_id).collect();
    offer_ids.sort_unstable();
    offer_ids.dedup();
    let offers: HashMap<Uuid, BasketOffer> = lock_offers(conn, &offer_ids)
        .await?
        .into_iter()
        .map(|o| (o.id, o))
        .collect();

    let site_id = request.delivery_site_id.unwrap_or(request.buyer_id);
    let mut party_ids: Vec<Uuid> = offers.values().map(|o| o.supplier_id).collect();
    party_ids.extend([request.buyer_id, site_id]);
    let parties = queries::parties(conn, &party_ids).await?;
    let buyer = &parties[&request.buyer_id];
    let site = parties.get(&site_id).filter(|s| {
        s.id == buyer.id
            || (s.kind == "canteen"
                && s.status == "verified"
                && s.central_kitchen_siret.as_deref() == Some(buyer.siret.as_str()))
    });
    let Some(site) = site else {
        errors.push(FieldError::new(
            "delivery_site_id",
            "is neither the buyer nor one of its verified satellite canteens",
        ));
        return Err(ApiError::Validation(errors));
    };
    for (i, line) in request.lines.iter().enumerate() {
        let offer = offers.get(&line.offer_id);
        check_line(
            i,
            line.quantity,
            offer,
            request.delivery_date,
            today,
            site,
            &mut errors,
        );
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }

    // Reserve in offer id order, like the locks: every short line is
    // reported, then the whole basket rolls back.
    let mut by_offer: Vec<(usize, &super::dto::BasketLine)> =
        request.lines.iter().enumerate().collect();
    by_offer.sort_by_key(|(_, l)| l.offer_id);
    let mut short = Vec::new();
    for (i, line) in by_offer {
        let offer = &offers[&line.offer_id];
        let Some(available) = offer.stock_available else {
            continue; // produced on demand: not limited
        };
        let reserved =
            available >= line.quantity && queries::reserve(conn, offer.id, line.quantity).await?;
        if !reserved {
            short.push(Shortage {
                line: i,
                offer_id: offer.id,
                requested: line.quantity.normalize(),
                available: available.normalize(),
            });
        }
    }
    if !short.is_empty() {
        short.sort_by_key(|s| s.line);
        return Err(ApiError::OutOfStock(short));
    }

    let checkout = build(user, request, &offers, &parties)?;
    let rows: Vec<OrderRow> = checkout.iter().map(|(o, _, _)| o.clone()).collect();
    let lines: Vec<LineRow> = checkout.iter().flat_map(|(_, l, _)| l.clone()).collect();
    let events: Vec<EventRow> = checkout.iter().map(|(_, _, e)| e.clone()).collect();
    // Before the orders count in the year's purchases.
    let mut added: BTreeMap<(Uuid, String), i64> = BTreeMap::new();
    for line in &lines {
        *added
            .entry((request.buyer_id, line.family.clone()))
            .or_default() += line.total_ht_cents;
    }
    let warnings = crate::consultations::service::crossing_warnings(
        conn,
        request.delivery_date.year(),
        added,
        "this basket",
    )
    .await?;
    queries::insert_orders(conn, &rows, &lines, &events).await?;
    feed::publish(
        conn,
        event_type(OrderStatus::Submitted),
        &rows,
        buyer.id,
        None,
    )
    .await?;
    let checkout_id = checkout[0].0.checkout_id;
    let orders = checkout
        .into_iter()
        .map(|(order, lines, event)| view::assemble(order, lines, vec![event], &parties))
        .collect::<ApiResult<Vec<_>>>()?;
    let result = Checkout {
        checkout_id,
        orders,
        warnings,
    };
    let response = serde_json::to_value(&result).map_err(|e| ApiError::Internal(e.into()))?;
    queries::store_key(conn, request.buyer_id, key, hash, &response).await?;
    Ok(Outcome::Created(response))
}

/// The orders of a checked basket: one per supplier, in the basket's order
/// of first appearance, lines numbered in the basket's order.
fn build(
    user: &AuthUser,
    request: &CheckoutRequest,
    offers: &HashMap<Uuid, BasketOffer>,
    parties: &HashMap<Uuid, Party>,
) -> ApiResult<Vec<(OrderRow, Vec<LineRow>, EventRow)>> {
    let now = Utc::now();
    let checkout_id = Uuid::now_v7();
    let site_id = request.delivery_site_id.unwrap_or(request.buyer_id);
    let mut suppliers: Vec<Uuid> = Vec::new();
    let mut seen = HashSet::new();
    for line in &request.lines {
        let supplier = offers[&line.offer_id].supplier_id;
        if seen.insert(supplier) {
            suppliers.push(supplier);
        }
    }
    let mut built = Vec::with_capacity(suppliers.len());
    for supplier in suppliers {
        debug_assert!(parties.contains_key(&supplier));
        let order_id = Uuid::now_v7();
        let lines: Vec<LineRow> = request
            .lines
            .iter()
            .filter(|l| offers[&l.offer_id].supplier_id == supplier)
            .enumerate()
            .map(|(n, l)| {
                let o = &offers[&l.offer_id];
                LineRow {
                    order_id,
                    line_no: n as i16,
                    offer_id: o.id,
                    product_name: o.name.clone(),
                    family: o.family.clone(),
                    labels: o.labels.clone(),
                    origin: o.origin.clone(),
                    producer_id: o.producer_id,
                    producer_name: o.producer_name.clone(),
                    producer_commune_insee: o.producer_commune_insee.clone(),
                    producer_commune: o.producer_commune.clone(),
                    unit: o.unit.clone(),
                    package_net_quantity: o.package_net_quantity,
                    package_net_unit: o.package_net_unit.clone(),
                    unit_price_cents: o.price_cents,
                    vat_rate: o.vat_rate,
                    quantity_ordered: l.quantity,
                    quantity_delivered: None,
                    stock_held: if o.stock_available.is_some() {
                        l.quantity
                    } else {
                        Decimal::ZERO
                    },
                    // checked by check_line
                    total_ht_cents: line_cents(l.quantity, o.price_cents).unwrap_or(0),
                    dispute_reason: None,
                }
            })
            .collect();
        let t = totals(lines.iter().map(|l| (l.vat_rate, l.total_ht_cents)));
        let order = OrderRow {
            id: order_id,
            checkout_id,
            buyer_id: request.buyer_id,
            supplier_id: supplier,
            delivery_site_id: site_id,
            delivery_date: request.delivery_date,
            note: request.note.trim().to_owned(),
            status: OrderStatus::Submitted.as_str().to_owned(),
            total_ht_cents: t.ht_cents,
            total_vat_cents: t.vat_cents,
            total_ttc_cents: t.ttc_cents,
            placed_by: user.id,
            created_at: now,
            updated_at: now,
        };
        let event = EventRow {
            id: Uuid::now_v7(),
            order_id,
            actor_user_id: user.id,
            actor_organisation_id: request.buyer_id,
            from_status: None,
            to_status: OrderStatus::Submitted.as_str().to_owned(),
            reason: None,
            at: now,
        };
        built.push((order, lines, event));
    }
    Ok(built)
}
