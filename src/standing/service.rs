//! Standing orders: templates created and read by their canteen, days
//! changed or skipped before they are due, closures, and the job that
//! places due days through the checkout (`run_due`).

use std::collections::{BTreeSet, HashMap};

use chrono::{Datelike, Days, NaiveDate};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use uuid::Uuid;

use super::dto::*;
use super::queries::{self, ClosureRow, LineRow, TemplateRow};
use super::schedule::{self, Template};
use crate::accounts::access;
use crate::auth::extract::AuthUser;
use crate::auth::policy::{self, OrgAction};
use crate::clock::today_in_paris;
use crate::codes::FeedEventType;
use crate::error::{ApiError, ApiResult, FieldError, text_fits};
use crate::http::pagination::{self, Keyset};
use crate::orders::checkout::{self, Outcome};
use crate::orders::dto::{BasketLine, CheckoutRequest};
use crate::orders::feed_data::StandingOrderDay;

/// The job's name, in `jobs`, the logs and the metrics.
pub const JOB: &str = "standing_orders";
/// Days that passed unplaced are reported this far back.
const MISSED_LOOKBACK_DAYS: u64 = 14;
/// The furthest a template places ahead.
const MAX_DAYS_AHEAD: i16 = 42;
const MAX_LINES: usize = 700;

fn not_found() -> ApiError {
    ApiError::not_found("no standing order with this id")
}

/// The caller must buy for the template's canteen.
async fn as_buyer(conn: &mut AsyncPgConnection, user: &AuthUser, buyer: Uuid) -> ApiResult<()> {
    let org = access(conn, buyer, Some(user)).await?;
    policy::authorize(user, &org, OrgAction::Buy)
}

/// Checks a line list, each line at `lines[i]` (or `prefix[i]`).
fn check_lines<'a>(
    prefix: &str,
    lines: impl Iterator<Item = (Option<Uuid>, bool, Decimal)> + 'a,
    errors: &mut Vec<FieldError>,
) {
    for (i, (offer, contract, quantity)) in lines.enumerate() {
        if offer.is_none() && !contract {
            errors.push(FieldError::new(
                format!("{prefix}[{i}]"),
                "names an offer_id, a contract_line, or both",
            ));
        }
        if quantity <= Decimal::ZERO
            || quantity > Decimal::from(1_000_000)
            || quantity.normalize().scale() > 3
        {
            errors.push(FieldError::new(
                format!("{prefix}[{i}].quantity"),
                "must be above 0 and at most 1000000, with at most 3 decimals",
            ));
        }
    }
}

pub async fn create(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    body: StandingOrderRequest,
) -> ApiResult<StandingOrder> {
    as_buyer(conn, user, body.buyer_id).await?;
    let today = today_in_paris(conn).await?;
    let mut errors = Vec::new();
    let name = body.name.trim();
    if !text_fits(&body.name, 1, 200) {
        errors.push(FieldError::new("name", "1 to 200 characters"));
    }
    if body.note.chars().count() > 2000 {
        errors.push(FieldError::new("note", "at most 2000 characters"));
    }
    if body.ends_on.is_some_and(|end| end < body.starts_on) {
        errors.push(FieldError::new("ends_on", "is before starts_on"));
    }
    if body.ends_on.is_some_and(|end| end < today) {
        errors.push(FieldError::new("ends_on", "is in the past"));
    } else if body.ends_on.is_some_and(|end| end.year() > 2100) {
        errors.push(FieldError::new(
            "ends_on",
            "must be in the years 2000 to 2100",
        ));
    }
    if body.starts_on.year() > 2100 || body.starts_on.year() < 2000 {
        errors.push(FieldError::new(
            "starts_on",
            "must be in the years 2000 to 2100",
        ));
    }
    let days_ahead = body.days_ahead.unwrap_or(7);
    if !(1..=MAX_DAYS_AHEAD).contains(&days_ahead) {
        errors.push(FieldError::new("days_ahead", "1 to 42"));
    }
    if body.lines.is_empty() || body.lines.len() > MAX_LINES {
        errors.push(FieldError::new("lines", format!("1 to {MAX_LINES} lines")));
    }
    for (i, l) in body.lines.iter().enumerate() {
        if !(1..=7).contains(&l.weekday) {
            errors.push(FieldError::new(format!("lines[{i}].weekday"), "1 to 7"));
        }
    }
    check_lines(
        "lines",
        body.lines
            .iter()
            .map(|l| (l.offer_id, l.contract_line.is_some(), l.quantity)),
        &mut errors,
    );
    let site = body.delivery_site_id.unwrap_or(body.buyer_id);
    if site != body.buyer_id {
        let parties = crate::orders::queries::parties(conn, &[body.buyer_id, site]).await?;
        let ok = parties.get(&site).is_some_and(|s| {
            s.kind == "canteen"
                && s.status == "verified"
                && s.central_kitchen_siret.as_deref()
                    == parties.get(&body.buyer_id).map(|b| b.siret.as_str())
        });
        if !ok {
            errors.push(FieldError::new(
                "delivery_site_id",
                "is neither the buyer nor one of its verified satellite canteens",
            ));
        }
    }
    // Each offer must be orderable, and the day placed early enough for it:
    // `days_ahead` at least its notice and its supplier's cut-off.
    let offer_ids: Vec<Uuid> = body.lines.iter().filter_map(|l| l.offer_id).collect();
    let offers = crate::catalog::queries::load(conn, &offer_ids).await?;
    let mut suppliers: Vec<Uuid> = offers.iter().map(|o| o.row.supplier_id).collect();
    suppliers.sort_unstable();
    suppliers.dedup();
    let (terms, _) = crate::delivery::queries::for_day(conn, &suppliers, today).await?;
    for (i, l) in body.lines.iter().enumerate() {
        let Some(offer_id) = l.offer_id else { continue };
        let Some(o) = offers.iter().find(|o| o.row.id == offer_id) else {
            errors.push(FieldError::new(
                format!("lines[{i}].offer_id"),
                "no offer with this id",
            ));
            continue;
        };
        let cutoff = terms
            .get(&o.row.supplier_id)
            .map_or(0, |(t, _)| t.cutoff_days + 1);
        let notice = i16::try_from(o.row.lead_time_days)
            .unwrap_or(i16::MAX)
            .max(cutoff);
        if notice > days_ahead {
            errors.push(FieldError::new(
                format!("lines[{i}].offer_id"),
                format!(
                    "needs {notice} days' notice (its lead time and its supplier's cut-off): \
                     place at least {notice} days ahead"
                ),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let template = TemplateRow {
        id: Uuid::now_v7(),
        buyer_id: body.buyer_id,
        delivery_site_id: site,
        name: name.to_owned(),
        note: body.note.trim().to_owned(),
        starts_on: body.starts_on,
        ends_on: body.ends_on,
        days_ahead,
        status: "active".into(),
        created_by: user.id,
        created_at: chrono::Utc::now(),
    };
    let lines: Vec<LineRow> = (0i16..)
        .zip(&body.lines)
        .map(|(n, l)| LineRow {
            standing_order_id: template.id,
            line_no: n,
            weekday: l.weekday,
            offer_id: l.offer_id,
            contract_id: l.contract_line.map(|c| c.contract_id),
            contract_line_no: l.contract_line.map(|c| c.line_no),
            quantity: l.quantity.normalize(),
        })
        .collect();
    queries::insert(conn, &template, &lines).await?;
    read(conn, user, template.id).await
}

fn template_lines(lines: &[LineRow]) -> Vec<TemplateLine> {
    lines
        .iter()
        .map(|l| TemplateLine {
            weekday: l.weekday,
            offer_id: l.offer_id,
            contract_line: l
                .contract_id
                .zip(l.contract_line_no)
                .map(
                    |(contract_id, line_no)| crate::orders::dto::ContractLineRef {
                        contract_id,
                        line_no,
                    },
                ),
            quantity: l.quantity,
        })
        .collect()
}

/// The template's lines for `date`'s weekday.
fn day_lines(lines: &[LineRow], date: NaiveDate) -> Vec<DayLine> {
    let weekday = i16::try_from(date.weekday().number_from_monday()).unwrap_or(0);
    template_lines(lines)
        .into_iter()
        .filter(|l| l.weekday == weekday)
        .map(|l| DayLine {
            offer_id: l.offer_id,
            contract_line: l.contract_line,
            quantity: l.quantity,
        })
        .collect()
}

async fn views(
    conn: &mut AsyncPgConnection,
    templates: Vec<TemplateRow>,
) -> ApiResult<Vec<StandingOrder>> {
    let today = today_in_paris(conn).await?;
    let ids: Vec<Uuid> = templates.iter().map(|t| t.id).collect();
    let from = today - Days::new(14);
    let lines = queries::lines_of(conn, &ids).await?;
    let recorded = queries::occurrences(conn, &ids, from).await?;
    let sites: Vec<Uuid> = templates
        .iter()
        .flat_map(|t| [t.buyer_id, t.delivery_site_id])
        .collect();
    let closures = queries::closures(conn, &sites, from).await?;
    let mut out = Vec::with_capacity(templates.len());
    for t in templates {
        let mine: Vec<LineRow> = lines
            .iter()
            .filter(|l| l.standing_order_id == t.id)
            .cloned()
            .collect();
        let weekdays: BTreeSet<i16> = mine.iter().map(|l| l.weekday).collect();
        let weekdays: Vec<i16> = weekdays.into_iter().collect();
        let schedule = Template {
            starts_on: t.starts_on,
            ends_on: t.ends_on,
            days_ahead: u16::try_from(t.days_ahead).unwrap_or(7),
            weekdays: &weekdays,
        };
        let closed_days: Vec<(NaiveDate, NaiveDate, String)> = closures
            .iter()
            .filter(|c| c.canteen_id == t.buyer_id || c.canteen_id == t.delivery_site_id)
            .map(|c| (c.starts_on, c.ends_on, c.reason.clone()))
            .collect();
        let until = schedule.first_not_due(today) + Days::new(28);
        let mut occurrences = Vec::new();
        for date in from.iter_days().take_while(|d| *d < until) {
            if !schedule.delivers_on(date) {
                continue;
            }
            let due_on = date - Days::new(u64::try_from(t.days_ahead).unwrap_or(7));
            let record = recorded
                .iter()
                .find(|o| o.standing_order_id == t.id && o.delivery_date == date);
            let closed = schedule::closed(date, &closed_days);
            let (status, closed_because) = match (record, &closed) {
                (Some(r), _) => (r.status.clone(), None),
                (None, Some(why)) => (
                    "closed".to_owned(),
                    Some(match why {
                        schedule::Closed::Holiday(name) => format!("public holiday: {name}"),
                        schedule::Closed::Closure(reason) => reason.clone(),
                    }),
                ),
                (None, None) if date <= today && t.status == "active" => ("missed".into(), None),
                (None, None) => ("planned".into(), None),
            };
            let lines = match record.and_then(|r| r.lines.clone()) {
                Some(changed) => {
                    serde_json::from_value(changed).map_err(|e| ApiError::Internal(e.into()))?
                }
                None => day_lines(&mine, date),
            };
            occurrences.push(Occurrence {
                delivery_date: date,
                status,
                closed_because,
                due_on,
                lines,
                checkout_id: record.and_then(|r| r.checkout_id),
                problems: record
                    .and_then(|r| r.problems.as_array().cloned())
                    .unwrap_or_default(),
            });
        }
        out.push(StandingOrder {
            id: t.id,
            buyer_id: t.buyer_id,
            delivery_site_id: t.delivery_site_id,
            name: t.name,
            note: t.note,
            starts_on: t.starts_on,
            ends_on: t.ends_on,
            days_ahead: t.days_ahead,
            status: t.status,
            lines: template_lines(&mine),
            occurrences,
            created_at: t.created_at,
        });
    }
    Ok(out)
}

/// A standing order, for its canteen's members (404 to anyone else).
pub async fn read(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    id: Uuid,
) -> ApiResult<StandingOrder> {
    let t = queries::find(conn, id).await?.ok_or_else(not_found)?;
    let org = access(conn, t.buyer_id, Some(user))
        .await
        .map_err(|_| not_found())?;
    policy::authorize(user, &org, OrgAction::ReadPrivate).map_err(|_| not_found())?;
    views(conn, vec![t]).await?.pop().ok_or_else(not_found)
}

pub async fn list(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    buyer: Uuid,
    page: Keyset,
) -> ApiResult<StandingOrderList> {
    let org = access(conn, buyer, Some(user)).await?;
    policy::authorize(user, &org, OrgAction::ReadPrivate)?;
    let templates = queries::of_buyer(conn, buyer, page)
        .await?
        .ok_or_else(pagination::unknown_cursor)?;
    let (templates, next_cursor) = page.page(templates, |t| t.id);
    Ok(StandingOrderList {
        items: views(conn, templates).await?,
        next_cursor,
    })
}

/// Pauses, resumes or ends a standing order (its canteen's members).
pub async fn set_status(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    id: Uuid,
    status: &str,
) -> ApiResult<StandingOrder> {
    if !["active", "paused", "ended"].contains(&status) {
        return Err(ApiError::validation("status", "active, paused or ended"));
    }
    let t = queries::find(conn, id).await?.ok_or_else(not_found)?;
    as_buyer(conn, user, t.buyer_id).await?;
    if t.status == "ended" && status != "ended" {
        return Err(ApiError::Conflict(
            "an ended standing order stays ended".into(),
        ));
    }
    queries::set_status(conn, id, status).await?;
    read(conn, user, id).await
}

/// Changes or skips one day before it is due (its canteen's members).
pub async fn change_occurrence(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    id: Uuid,
    date: NaiveDate,
    body: OccurrenceRequest,
) -> ApiResult<StandingOrder> {
    let t = queries::find(conn, id).await?.ok_or_else(not_found)?;
    as_buyer(conn, user, t.buyer_id).await?;
    let lines = queries::lines_of(conn, &[id]).await?;
    let weekdays: Vec<i16> = lines.iter().map(|l| l.weekday).collect();
    let schedule = Template {
        starts_on: t.starts_on,
        ends_on: t.ends_on,
        days_ahead: u16::try_from(t.days_ahead).unwrap_or(7),
        weekdays: &weekdays,
    };
    if !schedule.delivers_on(date) {
        return Err(ApiError::not_found(
            "the standing order has no delivery on this date",
        ));
    }
    let today = today_in_paris(conn).await?;
    let due_on = date - Days::new(u64::try_from(t.days_ahead).unwrap_or(7));
    if due_on <= today {
        return Err(ApiError::Conflict(format!(
            "the delivery of {date} was due on {due_on}: it is (or was to be) an ordinary order \
             now; cancel or change that order instead"
        )));
    }
    let mut errors = Vec::new();
    if body.skip && !body.lines.is_empty() {
        errors.push(FieldError::new("lines", "a skipped day has no lines"));
    }
    if !body.skip && (body.lines.is_empty() || body.lines.len() > 100) {
        errors.push(FieldError::new("lines", "1 to 100 lines, or skip"));
    }
    check_lines(
        "lines",
        body.lines
            .iter()
            .map(|l| (l.offer_id, l.contract_line.is_some(), l.quantity)),
        &mut errors,
    );
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let (status, lines) = if body.skip {
        ("skipped", None)
    } else {
        let lines: Vec<DayLine> = body
            .lines
            .into_iter()
            .map(|l| DayLine {
                quantity: l.quantity.normalize(),
                ..l
            })
            .collect();
        (
            "changed",
            Some(serde_json::to_value(lines).map_err(|e| ApiError::Internal(e.into()))?),
        )
    };
    if !queries::change_occurrence(conn, id, date, status, lines.as_ref()).await? {
        return Err(ApiError::Conflict(format!(
            "the delivery of {date} is already decided"
        )));
    }
    read(conn, user, id).await
}

/// Who manages a canteen's closures: its members, and the members of the
/// verified authority of its territory.
async fn closure_manager(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    canteen: Uuid,
) -> ApiResult<Uuid> {
    let org = access(conn, canteen, Some(user)).await?;
    let is_canteen = org.kind == crate::codes::OrganisationKind::Canteen;
    if org.role.is_some() {
        // Its own members learn why, rather than that it does not exist.
        if !is_canteen {
            return Err(ApiError::Forbidden(format!(
                "only canteens have closures; this organisation is a {}",
                org.kind
            )));
        }
        policy::authorize(user, &org, OrgAction::Buy)?;
        return Ok(canteen);
    }
    if !is_canteen {
        return Err(ApiError::not_found("no canteen with this id"));
    }
    let parties = crate::orders::queries::parties(conn, &[canteen]).await?;
    let epci = parties.get(&canteen).and_then(|p| p.epci.clone());
    let authority = match epci {
        Some(epci) => {
            crate::contracts::queries::authority_member_for(conn, user.id, &[epci]).await?
        }
        None => None,
    };
    authority.ok_or_else(|| ApiError::not_found("no canteen with this id"))
}

pub async fn add_closure(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    canteen: Uuid,
    body: ClosureRequest,
) -> ApiResult<Closure> {
    let set_by = closure_manager(conn, user, canteen).await?;
    let mut errors = Vec::new();
    let reason = body.reason.trim();
    if reason.is_empty() || reason.chars().count() > 200 {
        errors.push(FieldError::new("reason", "1 to 200 characters"));
    }
    for (field, date) in [("starts_on", body.starts_on), ("ends_on", body.ends_on)] {
        if !(2000..=2100).contains(&date.year()) {
            errors.push(FieldError::new(field, "must be in the years 2000 to 2100"));
        }
    }
    if body.ends_on < body.starts_on {
        errors.push(FieldError::new("ends_on", "is before starts_on"));
    } else if (body.ends_on - body.starts_on).num_days() > 366 {
        errors.push(FieldError::new(
            "ends_on",
            "a closure lasts at most 366 days",
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let row = ClosureRow {
        id: Uuid::now_v7(),
        canteen_id: canteen,
        starts_on: body.starts_on,
        ends_on: body.ends_on,
        reason: reason.to_owned(),
        set_by,
    };
    queries::add_closure(conn, &row).await?;
    Ok(closure_view(row))
}

fn closure_view(c: ClosureRow) -> Closure {
    Closure {
        id: c.id,
        canteen_id: c.canteen_id,
        starts_on: c.starts_on,
        ends_on: c.ends_on,
        reason: c.reason,
        set_by: c.set_by,
    }
}

pub async fn list_closures(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    canteen: Uuid,
) -> ApiResult<ClosureList> {
    closure_manager(conn, user, canteen).await?;
    let today = today_in_paris(conn).await?;
    let rows = queries::closures(conn, &[canteen], today - Days::new(366)).await?;
    let public_holidays = [today.year(), today.year() + 1]
        .into_iter()
        .flat_map(crate::clock::public_holidays)
        .map(|(date, name)| PublicHoliday {
            date,
            name: name.to_owned(),
        })
        .collect();
    Ok(ClosureList {
        items: rows.into_iter().map(closure_view).collect(),
        public_holidays,
    })
}

pub async fn delete_closure(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    canteen: Uuid,
    id: Uuid,
) -> ApiResult<()> {
    closure_manager(conn, user, canteen).await?;
    if queries::delete_closure(conn, canteen, id).await? {
        Ok(())
    } else {
        Err(ApiError::not_found(
            "no closure with this id for this canteen",
        ))
    }
}

/// Whether a refusal is the basket's (recorded, reported) rather than the
/// system's (the day is left for the next run).
fn is_refusal(error: &ApiError) -> bool {
    matches!(
        error,
        ApiError::Validation(_)
            | ApiError::OutOfStock(_)
            | ApiError::DeliveryTerms(_)
            | ApiError::ContractMaximum(_)
            | ApiError::Forbidden(_)
            | ApiError::NotFound(_)
            | ApiError::Conflict(_)
    )
}

/// The lines `error` refuses, by index; all of them when it does not say.
async fn refused_lines(
    conn: &mut AsyncPgConnection,
    error: &ApiError,
    lines: &[DayLine],
) -> ApiResult<BTreeSet<usize>> {
    let all: BTreeSet<usize> = (0..lines.len()).collect();
    let index = |field: &str| -> Option<usize> {
        field
            .strip_prefix("lines[")?
            .split(']')
            .next()?
            .parse()
            .ok()
    };
    Ok(match error {
        ApiError::Validation(errors) => {
            let found: Option<BTreeSet<usize>> = errors.iter().map(|e| index(&e.field)).collect();
            found.unwrap_or(all)
        }
        ApiError::OutOfStock(short) => short.iter().map(|s| s.line).collect(),
        ApiError::DeliveryTerms(parts) => {
            let breached: BTreeSet<Uuid> = parts.iter().map(|p| p.supplier_id).collect();
            let mut refused = BTreeSet::new();
            for (i, l) in lines.iter().enumerate() {
                let supplier = match (l.contract_line, l.offer_id) {
                    (Some(c), _) => {
                        crate::contracts::queries::supplier_of(conn, c.contract_id).await?
                    }
                    (None, Some(offer)) => {
                        crate::catalog::queries::supplier_of(conn, offer).await?
                    }
                    (None, None) => None,
                };
                if supplier.is_none_or(|s| breached.contains(&s)) {
                    refused.insert(i);
                }
            }
            refused
        }
        ApiError::ContractMaximum(over) => {
            let ids: BTreeSet<Uuid> = over.iter().map(|o| o.contract_id).collect();
            let named: BTreeSet<usize> = lines
                .iter()
                .enumerate()
                .filter(|(_, l)| {
                    l.contract_line
                        .is_some_and(|c| ids.contains(&c.contract_id))
                })
                .map(|(i, _)| i)
                .collect();
            if named.is_empty() { all } else { named }
        }
        _ => all,
    })
}

/// What became of one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placed {
    Placed,
    Failed,
    /// Decided by another run (or instance), or skipped.
    AlreadyDecided,
}

/// Places one due day: claims it (once, ever), then checks out its lines
/// for the template's author. Lines the checkout refuses are left out and
/// reported, and the rest placed; if nothing can be placed the day fails,
/// reported too. A failure of the system (database, lock) rolls the claim
/// back: the next run tries again.
pub async fn place_day(
    conn: &mut AsyncPgConnection,
    t: &TemplateRow,
    date: NaiveDate,
    template: &[LineRow],
) -> ApiResult<Placed> {
    conn.transaction::<_, ApiError, _>(async |conn| {
        let Some(changed) = queries::claim(conn, t.id, date).await? else {
            return Ok(Placed::AlreadyDecided);
        };
        let mut current: Vec<DayLine> = match changed {
            Some(lines) => serde_json::from_value(lines).map_err(|e| ApiError::Internal(e.into()))?,
            None => day_lines(template, date),
        };
        let mut problems: Vec<Value> = Vec::new();
        let member =
            crate::contracts::queries::member_of_any(conn, t.created_by, &[t.buyer_id]).await?;
        if !member {
            problems.push(json!({"detail": "the member who set up this standing order has left the canteen; set it up again"}));
            current.clear();
        }
        let user = AuthUser {
            id: t.created_by,
            session_id: Uuid::nil(),
            email: String::new(),
            is_admin: false,
        };
        for attempt in 0..3 {
            if current.is_empty() {
                break;
            }
            let request = CheckoutRequest {
                buyer_id: t.buyer_id,
                delivery_site_id: (t.delivery_site_id != t.buyer_id).then_some(t.delivery_site_id),
                delivery_date: date,
                note: t.note.clone(),
                lines: current
                    .iter()
                    .map(|l| BasketLine {
                        offer_id: l.offer_id,
                        contract_line: l.contract_line,
                        quantity: l.quantity,
                    })
                    .collect(),
            };
            let key = format!("standing-{}-{date}-{attempt}", t.id);
            match checkout::place_nested(conn, &user, &key, &request).await {
                Ok(Outcome::Created(done) | Outcome::Replayed(done)) => {
                    let checkout = done["checkout_id"].as_str().and_then(|s| s.parse().ok());
                    let problems = Value::Array(problems);
                    queries::settle(conn, t.id, date, "placed", checkout, &problems).await?;
                    tell(conn, t, date, FeedEventType::StandingOrderPlaced, checkout, Some(&problems)).await?;
                    return Ok(Placed::Placed);
                }
                Err(error) if is_refusal(&error) => {
                    let refused = refused_lines(conn, &error, &current).await?;
                    let left_out: Vec<&DayLine> =
                        refused.iter().filter_map(|i| current.get(*i)).collect();
                    problems.push(json!({"lines": left_out, "problem": error.problem()}));
                    current = current
                        .into_iter()
                        .enumerate()
                        .filter(|(i, _)| !refused.contains(i))
                        .map(|(_, l)| l)
                        .collect();
                }
                Err(error) => return Err(error),
            }
        }
        let problems = Value::Array(problems);
        queries::settle(conn, t.id, date, "failed", None, &problems).await?;
        tell(conn, t, date, FeedEventType::StandingOrderFailed, None, Some(&problems)).await?;
        Ok(Placed::Failed)
    })
    .await
}

/// Tells the canteen, through its feed, what became of a day.
async fn tell(
    conn: &mut AsyncPgConnection,
    t: &TemplateRow,
    date: NaiveDate,
    event: FeedEventType,
    checkout_id: Option<Uuid>,
    problems: Option<&Value>,
) -> ApiResult<()> {
    let data = StandingOrderDay {
        standing_order_id: t.id,
        delivery_date: date,
        checkout_id,
        problems: problems.and_then(Value::as_array).cloned(),
    };
    crate::orders::feed::publish_to(conn, &[t.buyer_id], event, t.id, &data).await?;
    Ok(())
}

/// How a run went.
#[derive(Debug, Default, Clone, Copy)]
pub struct Run {
    pub due: usize,
    pub placed: usize,
    pub failed: usize,
    pub missed: usize,
}

/// The job: places every day due on today's Paris date, and reports the
/// days that passed unplaced. One instance at a time holds the job's
/// advisory lock (the others return at once); each day is claimed in its
/// own transaction, so a run killed midway leaves placed days placed and
/// the rest for the next run.
pub async fn run_due(conn: &mut AsyncPgConnection) -> ApiResult<Run> {
    #[derive(diesel::QueryableByName)]
    struct Locked {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        locked: bool,
    }
    let lock: Locked = diesel::sql_query(
        "SELECT pg_try_advisory_lock(hashtext('sesame.jobs.standing_orders')) AS locked",
    )
    .get_result(conn)
    .await?;
    if !lock.locked {
        return Ok(Run::default());
    }
    let run = run_locked(conn).await;
    diesel::sql_query("SELECT pg_advisory_unlock(hashtext('sesame.jobs.standing_orders'))")
        .execute(conn)
        .await?;
    let (failures, error) = match &run {
        Ok(r) => (r.failed, None),
        Err(e) => (1, Some(e.to_string())),
    };
    queries::record_run(
        conn,
        JOB,
        i64::try_from(failures).unwrap_or(i64::MAX),
        error.as_deref(),
    )
    .await?;
    metrics::counter!("sesame_jobs_runs_total", "job" => JOB).increment(1);
    metrics::counter!("sesame_jobs_failures_total", "job" => JOB)
        .increment(u64::try_from(failures).unwrap_or(0));
    run
}

async fn run_locked(conn: &mut AsyncPgConnection) -> ApiResult<Run> {
    let today = today_in_paris(conn).await?;
    let horizon = today + Days::new(u64::try_from(MAX_DAYS_AHEAD).unwrap_or(42));
    let due: Vec<(TemplateRow, NaiveDate)> =
        queries::candidates(conn, today + Days::new(1), horizon, today)
            .await?
            .into_iter()
            .filter(|(_, day)| crate::clock::public_holiday(*day).is_none())
            .collect();
    metrics::gauge!("sesame_jobs_queue_depth", "job" => JOB).set(due.len() as f64);
    let mut ids: Vec<Uuid> = due.iter().map(|(t, _)| t.id).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut lines: HashMap<Uuid, Vec<LineRow>> = HashMap::new();
    for l in queries::lines_of(conn, &ids).await? {
        lines.entry(l.standing_order_id).or_default().push(l);
    }
    let mut run = Run {
        due: due.len(),
        ..Run::default()
    };
    for (t, day) in &due {
        let template = lines.get(&t.id).map(Vec::as_slice).unwrap_or(&[]);
        match place_day(conn, t, *day, template).await? {
            Placed::Placed => run.placed += 1,
            Placed::Failed => run.failed += 1,
            Placed::AlreadyDecided => {}
        }
    }
    let lookback = today - Days::new(MISSED_LOOKBACK_DAYS);
    for (t, day) in queries::candidates(conn, lookback, today, today).await? {
        if crate::clock::public_holiday(day).is_some() {
            continue;
        }
        conn.transaction::<_, ApiError, _>(async |conn| {
            if queries::mark_missed(conn, t.id, day).await? {
                run.missed += 1;
                tell(
                    conn,
                    &t,
                    day,
                    FeedEventType::StandingOrderMissed,
                    None,
                    None,
                )
                .await?;
            }
            Ok(())
        })
        .await?;
    }
    Ok(run)
}
