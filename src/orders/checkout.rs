//! Checkout: a basket becomes one order per supplier, in one transaction.
//!
//! In order: the transaction's lock timeout is set (a held offer gives
//! `busy` within a second); the Idempotency-Key is locked (a concurrent duplicate gets 409)
//! and looked up (a replay gets the stored response); the basket's offers are
//! locked in id order (no deadlock between baskets) and every line checked,
//! all failures reported at once; stock is reserved with conditional
//! updates (never negative); the orders, their events and feed entries, and
//! the key with its response are written. Any failure rolls all of it back.

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, NaiveDate, Utc};
use diesel::sql_types::{Array, Date, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use rust_decimal::Decimal;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::dto::{BasketLine, Checkout, CheckoutRequest, ContractLineRef};
use super::lifecycle::event_type;
use super::money::{line_cents, totals};
use super::queries::{self, EventRow, LineRow, OrderRow, Party};
use super::{feed, view};
use crate::accounts::access;
use crate::auth::extract::AuthUser;
use crate::auth::policy::{self, OrgAction};
use crate::catalog::delivery::MAX_DAYS_AHEAD;
use crate::codes::{ContractStatus, OrderStatus};
use crate::contracts::{self, queries::PriceLine};
use crate::db::DbConn;
use crate::db::PrepareOnce;
use crate::error::{ApiError, ApiResult, ContractOverrun, FieldError, Shortage, TermsBreach};

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
    .prepared()
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
    let mut seen: HashMap<(Option<Uuid>, Option<ContractLineRef>), usize> = HashMap::new();
    for (i, line) in request.lines.iter().enumerate() {
        let q = line.quantity;
        if q <= Decimal::ZERO || q > Decimal::from(MAX_QUANTITY) || q.normalize().scale() > 3 {
            errors.push(FieldError::new(
                format!("lines[{i}].quantity"),
                format!("must be above 0 and at most {MAX_QUANTITY}, with at most 3 decimals"),
            ));
        }
        if line.offer_id.is_none() && line.contract_line.is_none() {
            errors.push(FieldError::new(
                format!("lines[{i}]"),
                "names an offer_id, a contract_line, or both",
            ));
            continue;
        }
        let (key, field, what) = match line.contract_line {
            Some(c) => ((None, Some(c)), "contract_line", "contract line"),
            None => ((line.offer_id, None), "offer_id", "offer"),
        };
        if let Some(first) = seen.insert(key, i) {
            errors.push(FieldError::new(
                format!("lines[{i}].{field}"),
                format!("the {what} is already in lines[{first}]: one line per {what}"),
            ));
        }
    }
}

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
            .filter_map(|d| {
                crate::delivery::rules::WEEKDAYS
                    .get((*d as usize).wrapping_sub(1))
                    .copied()
            })
            .collect();
        errors.push(FieldError::new(
            at(""),
            format!(
                "not delivered on {}s; delivery days: {}",
                crate::delivery::rules::WEEKDAYS[weekday as usize - 1],
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

/// Places `request` for `user` inside the caller's transaction, in a
/// savepoint (a refusal rolls back only the basket): a standing order's
/// occurrence, whose caller has checked the user may buy for the buyer.
pub async fn place_nested(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    key: &str,
    request: &CheckoutRequest,
) -> ApiResult<Outcome> {
    if let Some(error) = line_count(request) {
        return Err(ApiError::Validation(vec![error]));
    }
    let hash = fingerprint(request)?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        place_in_transaction(conn, user, key, request, &hash).await
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

    let site_id = request.delivery_site_id.unwrap_or(request.buyer_id);
    // The buyer's contract lines for the basket: those it names, and those
    // pricing its offers. Other buyers' contracts are never read.
    let named: Vec<(Uuid, i16)> = request
        .lines
        .iter()
        .filter_map(|l| l.contract_line.map(|c| (c.contract_id, c.line_no)))
        .collect();
    let basket_offers: Vec<Uuid> = request.lines.iter().filter_map(|l| l.offer_id).collect();
    let contract_lines =
        contracts::queries::price_lines(conn, request.buyer_id, site_id, &basket_offers, &named)
            .await?;

    let mut offer_ids: Vec<Uuid> = basket_offers.clone();
    offer_ids.extend(contract_lines.iter().filter_map(|c| c.line.offer_id));
    offer_ids.sort_unstable();
    offer_ids.dedup();
    let offers: HashMap<Uuid, BasketOffer> = lock_offers(conn, &offer_ids)
        .await?
        .into_iter()
        .map(|o| (o.id, o))
        .collect();

    let mut party_ids: Vec<Uuid> = offers.values().map(|o| o.supplier_id).collect();
    party_ids.extend(contract_lines.iter().map(|c| c.supplier_id));
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
    let date = request.delivery_date;
    let mut resolved: Vec<Option<Resolved>> = Vec::with_capacity(request.lines.len());
    for (i, line) in request.lines.iter().enumerate() {
        let source = resolve(
            i,
            line,
            date,
            &offers,
            &contract_lines,
            &parties,
            &mut errors,
        );
        if let Some(r) = &source {
            if let Some(offer) = r.offer {
                check_line(
                    i,
                    line.quantity,
                    Some(offer),
                    date,
                    today,
                    site,
                    &mut errors,
                );
            }
        } else if line.offer_id.is_some() && line.contract_line.is_none() {
            check_line(i, line.quantity, None, date, today, site, &mut errors);
        }
        resolved.push(source);
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let resolved: Vec<Resolved> = resolved.into_iter().flatten().collect();

    // Each supplier part against its supplier's delivery terms: every part,
    // every rule, at once.
    let parts = part_amounts(request, &resolved);
    let suppliers: Vec<Uuid> = parts.iter().map(|(s, _)| *s).collect();
    let (terms, now) = crate::delivery::queries::for_day(conn, &suppliers, date).await?;
    let where_to = crate::delivery::rules::Site {
        name: &site.name,
        commune_insee: &site.commune_insee,
        epci: site.epci.as_deref(),
        departement: &site.departement,
    };
    let breaches: Vec<TermsBreach> = parts
        .iter()
        .filter_map(|(supplier, amount)| {
            let (t, cutoff_at) = terms.get(supplier)?;
            let rules = t.missed(date, *cutoff_at, now, *amount, &where_to);
            (!rules.is_empty()).then(|| TermsBreach {
                supplier_id: *supplier,
                supplier_name: parties[supplier].name.clone(),
                amount_ht_cents: *amount,
                rules,
            })
        })
        .collect();
    if !breaches.is_empty() {
        return Err(ApiError::DeliveryTerms(breaches));
    }

    // Contracts' maxima, locked after the offers (see lock_maxima).
    let mut asked: BTreeMap<Uuid, i64> = BTreeMap::new();
    for (line, r) in request.lines.iter().zip(&resolved) {
        if let Some(c) = r.contract.filter(|c| c.max_amount_ht_cents.is_some()) {
            *asked.entry(c.line.contract_id).or_default() +=
                line_cents(line.quantity, r.unit_price_cents).unwrap_or(i64::MAX / 4);
        }
    }
    if !asked.is_empty() {
        let ids: Vec<Uuid> = asked.keys().copied().collect();
        let overruns: Vec<ContractOverrun> = contracts::queries::lock_maxima(conn, &ids)
            .await?
            .into_iter()
            .filter_map(|m| {
                let requested = asked[&m.id];
                let remaining = (m.max_amount_ht_cents - m.consumed_ht_cents).max(0);
                (requested > remaining).then_some(ContractOverrun {
                    contract_id: m.id,
                    number: m.number,
                    max_amount_ht_cents: m.max_amount_ht_cents,
                    consumed_ht_cents: m.consumed_ht_cents,
                    remaining_ht_cents: remaining,
                    requested_ht_cents: requested,
                })
            })
            .collect();
        if !overruns.is_empty() {
            return Err(ApiError::ContractMaximum(overruns));
        }
    }

    // Reserve in offer id order, like the locks: every short line is
    // reported, then the whole basket rolls back.
    let mut by_offer: Vec<(usize, Uuid, Decimal)> = request
        .lines
        .iter()
        .zip(&resolved)
        .enumerate()
        .filter_map(|(i, (l, r))| Some((i, r.offer?.id, l.quantity)))
        .collect();
    by_offer.sort_by_key(|(_, offer, _)| *offer);
    let mut short = Vec::new();
    for (i, offer_id, quantity) in by_offer {
        let offer = &offers[&offer_id];
        let Some(available) = offer.stock_available else {
            continue; // produced on demand: not limited
        };
        let reserved = available >= quantity && queries::reserve(conn, offer.id, quantity).await?;
        if !reserved {
            short.push(Shortage {
                line: i,
                offer_id: offer.id,
                requested: quantity.normalize(),
                available: available.normalize(),
            });
        }
    }
    if !short.is_empty() {
        short.sort_by_key(|s| s.line);
        return Err(ApiError::OutOfStock(short));
    }

    let checkout = build(user, request, &resolved, &parties)?;
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
    resolved: &[Resolved],
    parties: &HashMap<Uuid, Party>,
) -> ApiResult<Vec<(OrderRow, Vec<LineRow>, EventRow)>> {
    let now = Utc::now();
    let checkout_id = Uuid::now_v7();
    let site_id = request.delivery_site_id.unwrap_or(request.buyer_id);
    let mut built = Vec::new();
    for (supplier, _) in part_amounts(request, resolved) {
        debug_assert!(parties.contains_key(&supplier));
        let order_id = Uuid::now_v7();
        let lines: Vec<LineRow> = request
            .lines
            .iter()
            .zip(resolved)
            .filter(|(_, r)| r.supplier_id == supplier)
            .enumerate()
            .map(|(n, (l, r))| r.line_row(order_id, n as i16, l.quantity))
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

/// Each supplier of the basket, in order of first appearance, with the
/// amount HT of its part.
fn part_amounts(request: &CheckoutRequest, resolved: &[Resolved]) -> Vec<(Uuid, i64)> {
    let mut parts: Vec<(Uuid, i64)> = Vec::new();
    for (line, r) in request.lines.iter().zip(resolved) {
        // checked by resolve and check_line
        let amount = line_cents(line.quantity, r.unit_price_cents).unwrap_or(0);
        match parts.iter_mut().find(|(s, _)| *s == r.supplier_id) {
            Some((_, total)) => *total = total.saturating_add(amount),
            None => parts.push((r.supplier_id, amount)),
        }
    }
    parts
}

/// What a basket line buys: an offer, a contract line, or an offer at a
/// contract line's price.
struct Resolved<'a> {
    offer: Option<&'a BasketOffer>,
    contract: Option<&'a PriceLine>,
    supplier_id: Uuid,
    unit_price_cents: i64,
    vat_rate: Decimal,
}

impl Resolved<'_> {
    /// The order line: a snapshot of the offer (or of the contract line's
    /// described product) at the price that applies.
    fn line_row(&self, order_id: Uuid, line_no: i16, quantity: Decimal) -> LineRow {
        let total_ht_cents = line_cents(quantity, self.unit_price_cents).unwrap_or(0);
        let (contract_id, contract_line_no) = match self.contract {
            Some(c) => (Some(c.line.contract_id), Some(c.line.line_no)),
            None => (None, None),
        };
        match (self.offer, self.contract) {
            (Some(o), _) => LineRow {
                order_id,
                line_no,
                offer_id: Some(o.id),
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
                unit_price_cents: self.unit_price_cents,
                vat_rate: self.vat_rate,
                quantity_ordered: quantity,
                quantity_delivered: None,
                stock_held: if o.stock_available.is_some() {
                    quantity
                } else {
                    Decimal::ZERO
                },
                total_ht_cents,
                dispute_reason: None,
                contract_id,
                contract_line_no,
            },
            (None, Some(c)) => LineRow {
                order_id,
                line_no,
                offer_id: None,
                product_name: c.line.description.clone(),
                family: c.line.family.clone(),
                labels: c.line.labels.clone(),
                origin: c.line.origin.clone(),
                producer_id: c.line.producer_id,
                producer_name: c.line.producer_name.clone(),
                producer_commune_insee: c.line.producer_commune_insee.clone(),
                producer_commune: c.line.producer_commune.clone(),
                unit: c.line.unit.clone(),
                package_net_quantity: None,
                package_net_unit: None,
                unit_price_cents: self.unit_price_cents,
                vat_rate: self.vat_rate,
                quantity_ordered: quantity,
                quantity_delivered: None,
                stock_held: Decimal::ZERO,
                total_ht_cents,
                dispute_reason: None,
                contract_id,
                contract_line_no,
            },
            (None, None) => unreachable!("resolve gives an offer or a contract line"),
        }
    }
}

/// What line `i` buys, at what price; `None` (with its errors) if it
/// cannot be bought. An offer without a named contract line takes the
/// cheapest line of the buyer's contracts usable that day that prices it.
fn resolve<'a>(
    i: usize,
    line: &BasketLine,
    date: NaiveDate,
    offers: &'a HashMap<Uuid, BasketOffer>,
    contract_lines: &'a [PriceLine],
    parties: &HashMap<Uuid, Party>,
    errors: &mut Vec<FieldError>,
) -> Option<Resolved<'a>> {
    let usable = |c: &PriceLine| {
        c.status == ContractStatus::Active.as_str() && c.valid_from <= date && date <= c.valid_until
    };
    let price = |c: &PriceLine| {
        let tiers: Vec<(Decimal, i64)> = c
            .line
            .tier_min_quantities
            .iter()
            .copied()
            .zip(c.line.tier_prices_cents.iter().copied())
            .collect();
        contracts::pricing::unit_price(c.line.unit_price_cents, &tiers, line.quantity)
    };
    let contract = match line.contract_line {
        Some(named) => {
            let found = contract_lines.iter().find(|c| {
                c.line.contract_id == named.contract_id && c.line.line_no == named.line_no
            });
            let Some(c) = found else {
                errors.push(FieldError::new(
                    format!("lines[{i}].contract_line"),
                    "no such line in a contract of the buyer or of the delivery site",
                ));
                return None;
            };
            if !usable(c) {
                errors.push(FieldError::new(
                    format!("lines[{i}].contract_line"),
                    format!(
                        "contract {} is {}, valid from {} to {}: not usable for a delivery on {date}",
                        c.number, c.status, c.valid_from, c.valid_until
                    ),
                ));
                return None;
            }
            if line.offer_id.is_some() && line.offer_id != c.line.offer_id {
                errors.push(FieldError::new(
                    format!("lines[{i}].offer_id"),
                    "is not the offer the contract line prices",
                ));
                return None;
            }
            Some(c)
        }
        None => contract_lines
            .iter()
            .filter(|c| c.line.offer_id.is_some() && c.line.offer_id == line.offer_id && usable(c))
            .min_by_key(|c| (price(c), c.line.contract_id, c.line.line_no)),
    };
    let offer = match contract.map_or(line.offer_id, |c| c.line.offer_id) {
        Some(id) => Some(offers.get(&id)?),
        None => None,
    };
    let supplier_id = match (offer, contract) {
        (Some(o), _) => o.supplier_id,
        (None, Some(c)) => c.supplier_id,
        (None, None) => return None,
    };
    if offer.is_none()
        && parties
            .get(&supplier_id)
            .is_none_or(|p| p.status != "verified")
    {
        errors.push(FieldError::new(
            format!("lines[{i}].contract_line"),
            "the contract's supplier is not a verified supplier any more",
        ));
        return None;
    }
    let (unit_price_cents, vat_rate) = match (contract, offer) {
        (Some(c), _) => (price(c), c.line.vat_rate),
        (None, Some(o)) => (o.price_cents, o.vat_rate),
        (None, None) => return None,
    };
    if line_cents(line.quantity, unit_price_cents).is_none() {
        errors.push(FieldError::new(
            format!("lines[{i}].quantity"),
            "the amount is too large",
        ));
        return None;
    }
    Some(Resolved {
        offer,
        contract,
        supplier_id,
        unit_price_cents,
        vat_rate,
    })
}
