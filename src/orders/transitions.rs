//! Moving an order along its lifecycle, in one transaction with the order
//! row locked: the status, its event, the feed entries and the stock held by
//! the lines change together or not at all, and a second identical request
//! finds the new status and gets 409: stock is released exactly once.

use std::collections::HashSet;

use chrono::Utc;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::dto::{DeliveredLine, DisputedLine};
use super::feed;
use super::lifecycle::{self, Action, Party, event_type};
use super::money::{line_cents, totals};
use super::queries::{self, EventRow, LineRow, OrderRow, Settled};
use crate::accounts::access;
use crate::auth::extract::AuthUser;
use crate::auth::policy::{self, OrgAction};
use crate::codes::{OrderStatus, from_db};
use crate::db::DbConn;
use crate::error::{ApiError, ApiResult, FieldError, is_blank, text_fits};

const MAX_REASON_CHARS: usize = 2000;
/// A delivered quantity may exceed the ordered one (real weight), up to
/// this many times it: more would be another order, not a heavier crate.
const MAX_DELIVERED_RATIO: i64 = 2;

/// What a transition carries besides its name.
pub enum Input {
    Nothing,
    Reason(Option<String>),
    Delivery(Vec<DeliveredLine>),
    Dispute(Vec<DisputedLine>),
}

/// The side `user` acts for on `order`; 404 to strangers.
/// The side `user` acts for on `order`, preferring one that may make
/// `action` (someone in both organisations acts as the one the action
/// belongs to); 404 to strangers.
pub async fn party_of(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    order: &OrderRow,
    action: Action,
) -> ApiResult<Party> {
    let mut sides = Vec::new();
    for (party, organisation) in [
        (Party::Buyer, order.buyer_id),
        (Party::Supplier, order.supplier_id),
    ] {
        let org = access(conn, organisation, Some(user)).await?;
        if org.role.is_some() {
            sides.push((party, org));
        }
    }
    sides.sort_by_key(|(party, _)| !action.parties().contains(party));
    match sides.first() {
        Some((party, org)) => {
            policy::authorize(user, org, OrgAction::HandleOrders)?;
            Ok(*party)
        }
        None if user.is_admin => Err(ApiError::Forbidden(
            "administrators read orders; only the buyer and the supplier act on them".into(),
        )),
        None => Err(ApiError::not_found("no order with this id")),
    }
}

/// A reason as given (counted as sent, as the schema's `maxLength`), kept
/// trimmed; a blank one is no reason.
fn reason(text: Option<String>, required: bool) -> ApiResult<Option<String>> {
    if text
        .as_deref()
        .is_some_and(|t| !text_fits(t, 0, MAX_REASON_CHARS))
    {
        return Err(ApiError::validation(
            "reason",
            format!("at most {MAX_REASON_CHARS} characters"),
        ));
    }
    let text = text
        .filter(|t| !t.chars().all(is_blank))
        .map(|t| t.trim().to_owned());
    match text {
        None if required => Err(ApiError::validation("reason", "is required: say why")),
        other => Ok(other),
    }
}

/// Gives back the stock the lines hold (`consumed` of each was used up), in
/// offer id order like every other stock movement. A line that consumed
/// more than it held plus the stock left is returned with what was left
/// (over-delivery policy: the extra must be in stock, see `settle_stock`);
/// the caller refuses the whole transition then.
async fn settle(
    conn: &mut AsyncPgConnection,
    lines: &mut [LineRow],
    consumed: impl Fn(&LineRow) -> Decimal,
) -> ApiResult<Vec<(i16, Decimal)>> {
    let mut order: Vec<usize> = (0..lines.len()).collect();
    order.sort_by_key(|&i| lines[i].offer_id);
    let mut short = Vec::new();
    for i in order {
        let line = &mut lines[i];
        let Some(offer) = line.offer_id else {
            continue; // a contract's described product holds no stock
        };
        if line.stock_held > Decimal::ZERO {
            match queries::settle_stock(conn, offer, line.stock_held, consumed(line)).await? {
                Settled::Done | Settled::OnDemand => line.stock_held = Decimal::ZERO,
                Settled::Short { available } => short.push((line.line_no, available)),
            }
        }
    }
    Ok(short)
}

/// The refusal of a delivery above what the order held plus the stock
/// left, one error per such line of the request.
fn over_delivery(
    lines: &[LineRow],
    delivered: &[DeliveredLine],
    short: &[(i16, Decimal)],
) -> ApiError {
    let errors = short
        .iter()
        .filter_map(|(line_no, available)| {
            let index = delivered.iter().position(|d| d.line_no == *line_no)?;
            let line = lines.iter().find(|l| l.line_no == *line_no)?;
            Some(FieldError::new(
                format!("lines[{index}].quantity_delivered"),
                format!(
                    "is more than the order held ({}) plus the stock left ({}): record the extra \
                     in the offer's stock first (POST /api/v1/offers/{}/stock)",
                    line.stock_held.normalize(),
                    available.normalize(),
                    line.offer_id.map(|o| o.to_string()).unwrap_or_default()
                ),
            ))
        })
        .collect();
    ApiError::Validation(errors)
}

fn apply_delivery(lines: &mut [LineRow], delivered: &[DeliveredLine]) -> ApiResult<()> {
    let mut errors = Vec::new();
    let mut seen = HashSet::new();
    for (i, d) in delivered.iter().enumerate() {
        let q = d.quantity_delivered;
        if !lines.iter().any(|l| l.line_no == d.line_no) {
            errors.push(FieldError::new(
                format!("lines[{i}].line_no"),
                "no such line in this order",
            ));
        } else if !seen.insert(d.line_no) {
            errors.push(FieldError::new(
                format!("lines[{i}].line_no"),
                "appears twice",
            ));
        }
        let ordered = lines
            .iter()
            .find(|l| l.line_no == d.line_no)
            .map_or(Decimal::ZERO, |l| l.quantity_ordered);
        let most = ordered * Decimal::from(MAX_DELIVERED_RATIO);
        if q < Decimal::ZERO || q > most || q.normalize().scale() > 3 {
            errors.push(FieldError::new(
                format!("lines[{i}].quantity_delivered"),
                format!(
                    "must be between 0 and {} ({MAX_DELIVERED_RATIO} × ordered), with at most 3 decimals",
                    most.normalize()
                ),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    for line in lines.iter_mut() {
        let q = delivered
            .iter()
            .find(|d| d.line_no == line.line_no)
            .map_or(line.quantity_ordered, |d| d.quantity_delivered);
        line.quantity_delivered = Some(q);
        line.total_ht_cents = line_cents(q, line.unit_price_cents)
            .ok_or_else(|| ApiError::validation("lines", "the delivered amount is too large"))?;
    }
    Ok(())
}

fn apply_dispute(lines: &mut [LineRow], disputed: Vec<DisputedLine>) -> ApiResult<String> {
    let mut errors = Vec::new();
    if disputed.is_empty() {
        errors.push(FieldError::new("lines", "name at least one line and why"));
    }
    let mut seen = HashSet::new();
    for (i, d) in disputed.iter().enumerate() {
        if !lines.iter().any(|l| l.line_no == d.line_no) {
            errors.push(FieldError::new(
                format!("lines[{i}].line_no"),
                "no such line in this order",
            ));
        } else if !seen.insert(d.line_no) {
            errors.push(FieldError::new(
                format!("lines[{i}].line_no"),
                "appears twice",
            ));
        }
        if !text_fits(&d.reason, 1, MAX_REASON_CHARS) {
            errors.push(FieldError::new(
                format!("lines[{i}].reason"),
                format!("say why, in 1 to {MAX_REASON_CHARS} characters"),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let mut summary = Vec::new();
    for d in disputed {
        let reason = d.reason.trim().to_owned();
        summary.push(format!("line {}: {reason}", d.line_no));
        if let Some(line) = lines.iter_mut().find(|l| l.line_no == d.line_no) {
            line.dispute_reason = Some(reason);
        }
    }
    // Each line keeps its whole reason; the event's summary is cut to fit.
    let summary = summary.join("; ");
    Ok(match summary.char_indices().nth(MAX_REASON_CHARS - 1) {
        Some((cut, _)) => format!("{}…", &summary[..cut]),
        None => summary,
    })
}

/// Makes `action` on order `id` as `user`.
pub async fn apply(
    conn: &mut DbConn,
    user: &AuthUser,
    id: Uuid,
    action: Action,
    input: Input,
) -> ApiResult<()> {
    let conn: &mut AsyncPgConnection = &mut *conn;
    conn.transaction::<_, ApiError, _>(async |conn| {
        apply_in_transaction(conn, user, id, action, input).await
    })
    .await
}

async fn apply_in_transaction(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    id: Uuid,
    action: Action,
    input: Input,
) -> ApiResult<()> {
    let mut order = queries::lock_order(conn, id)
        .await?
        .ok_or_else(|| ApiError::not_found("no order with this id"))?;
    let party = party_of(conn, user, &order, action).await?;
    if !action.parties().contains(&party) {
        return Err(ApiError::Forbidden(format!(
            "only the {} may {} an order",
            if party == Party::Buyer {
                "supplier"
            } else {
                "buyer"
            },
            action.name()
        )));
    }
    let status: OrderStatus = from_db(&order.status)?;
    let today = crate::clock::today_in_paris(conn).await?;
    if !lifecycle::permits(action, party, status, order.delivery_date, today) {
        let mut detail = format!("cannot {} an order that is {status}", action.name());
        if action == Action::Cancel
            && party == Party::Buyer
            && matches!(status, OrderStatus::Submitted | OrderStatus::Accepted)
        {
            detail = format!(
                "the buyer could cancel until {}; ask the supplier",
                lifecycle::buyer_cancel_until(order.delivery_date)
            );
        }
        return Err(ApiError::InvalidTransition {
            detail,
            allowed: lifecycle::allowed(party, status, order.delivery_date, today),
        });
    }
    let mut lines = queries::lines_of(conn, &[id]).await?;
    let before = lines.clone();
    let mut why = None;
    match (action, input) {
        (Action::Reject | Action::Cancel, Input::Reason(text)) => {
            why = reason(text, action.needs_reason(party))?;
            // Consuming nothing can never be short.
            settle(conn, &mut lines, |_| Decimal::ZERO).await?;
        }
        (Action::Deliver, Input::Delivery(delivered)) => {
            apply_delivery(&mut lines, &delivered)?;
            let short = settle(conn, &mut lines, |l| {
                l.quantity_delivered.unwrap_or_default()
            })
            .await?;
            if !short.is_empty() {
                return Err(over_delivery(&lines, &delivered, &short));
            }
        }
        (Action::Dispute, Input::Dispute(disputed)) => {
            why = Some(apply_dispute(&mut lines, disputed)?);
        }
        (Action::Accept | Action::Receive, Input::Nothing) => {}
        _ => {
            return Err(ApiError::Internal(anyhow::anyhow!(
                "{} called with the wrong input",
                action.name()
            )));
        }
    }
    for (line, old) in lines.iter().zip(&before) {
        if line.quantity_delivered != old.quantity_delivered
            || line.stock_held != old.stock_held
            || line.dispute_reason != old.dispute_reason
        {
            queries::update_line(conn, line).await?;
        }
    }
    let t = totals(lines.iter().map(|l| (l.vat_rate, l.total_ht_cents)));
    let now = Utc::now();
    let target = action.target();
    order.status = target.as_str().to_owned();
    order.total_ht_cents = t.ht_cents;
    order.total_vat_cents = t.vat_cents;
    order.total_ttc_cents = t.ttc_cents;
    order.updated_at = now;
    let actor_organisation = match party {
        Party::Buyer => order.buyer_id,
        Party::Supplier => order.supplier_id,
    };
    let event = EventRow {
        id: Uuid::now_v7(),
        order_id: id,
        actor_user_id: user.id,
        actor_organisation_id: actor_organisation,
        from_status: Some(status.as_str().to_owned()),
        to_status: order.status.clone(),
        reason: why.clone(),
        at: now,
    };
    queries::record_transition(conn, &order, &event).await?;
    feed::publish(
        conn,
        event_type(target),
        std::slice::from_ref(&order),
        actor_organisation,
        why.as_deref(),
    )
    .await?;
    Ok(())
}
