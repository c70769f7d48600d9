//! What each step of a consultation does, each write in one transaction
//! with its feed events. Handlers call these; SQL is in `queries`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{Datelike, Days, Months, NaiveDate};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::dto::*;
use super::lifecycle::{self, Action};
use super::queries::{self, AnswerRow, ConsultationRow, CriterionRow, LotRow, MarkRow};
use super::receipt;
use super::rules::{self, CriteriaProblem, CriterionInput};
use super::scoring::{self, Scored};
use crate::accounts::access;
use crate::auth::extract::AuthUser;
use crate::auth::policy::{self, ConsultationSeat, OrgAction};
use crate::codes::{
    ConsultationStatus, CriterionKind, FeedEventType, Label, LotStatus, OrganisationKind,
    Procedure, ProductFamily, from_db,
};
use crate::contracts::queries as contracts;
use crate::error::{ApiError, ApiResult, FieldError, text_fits};
use crate::http::pagination::Keyset;
use crate::orders::dto::OrganisationRef;
use crate::orders::feed;
use crate::orders::feed_data::{
    AlertLot, AnswerReceived, BidderOutcome, ConsultationAlert, ConsultationChanged,
    ContractAwarded, FeedData, LotDecided,
};

pub const MAX_TEXT_CHARS: usize = 2000;

fn not_found() -> ApiError {
    ApiError::not_found("no consultation with this id")
}

fn text(errors: &mut Vec<FieldError>, field: &str, value: &str, min: usize, max: usize) {
    if !text_fits(value, min, max) {
        errors.push(FieldError::new(
            field,
            format!("must be {min} to {max} characters"),
        ));
    }
}

fn required_text(field: &str, value: &str) -> ApiResult<String> {
    let mut errors = Vec::new();
    text(&mut errors, field, value, 1, MAX_TEXT_CHARS);
    if errors.is_empty() {
        Ok(value.trim().to_owned())
    } else {
        Err(ApiError::Validation(errors))
    }
}

/// Stored label codes as labels.
fn labels(codes: &[String]) -> ApiResult<Vec<Label>> {
    codes.iter().map(|code| from_db(code)).collect()
}

/// A consultation's step, as the feed tells it.
fn changed(
    id: Uuid,
    status: ConsultationStatus,
    answers_due_at: Option<chrono::DateTime<chrono::Utc>>,
) -> ConsultationChanged {
    ConsultationChanged {
        consultation_id: id,
        status,
        procedure: None,
        answers_due_at,
        reason: None,
    }
}

async fn event(
    conn: &mut AsyncPgConnection,
    to: &[Uuid],
    event_type: FeedEventType,
    subject: Uuid,
    data: impl FeedData,
) -> ApiResult<()> {
    let to: Vec<Uuid> = to
        .iter()
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if !to.is_empty() {
        feed::publish_to(conn, &to, event_type, subject, &data).await?;
    }
    Ok(())
}

/// Records the closing of the consultation (or of every one due, with
/// `None`) once its deadline has passed, and tells the buyer, the delivered
/// canteens and the bidders. Idempotent: the UPDATE matches only
/// consultations still recorded as published.
pub async fn close_due(conn: &mut AsyncPgConnection, id: Option<Uuid>) -> ApiResult<usize> {
    conn.transaction::<_, ApiError, _>(async |conn| {
        let closed = queries::close_due(conn, id).await?;
        for c in &closed {
            let mut to = vec![c.buyer_id];
            to.extend(queries::site_ids(conn, c.id).await?);
            to.extend(queries::bidders(conn, c.id).await?);
            let data = changed(c.id, ConsultationStatus::Closed, Some(c.answers_due_at));
            event(conn, &to, FeedEventType::ConsultationClosed, c.id, data).await?;
        }
        Ok(closed.len())
    })
    .await
}

/// The consultation and the caller's seat; 404 to those who may not see it.
pub async fn seat(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    id: Uuid,
) -> ApiResult<(ConsultationRow, ConsultationSeat)> {
    let row = queries::find(conn, id).await?.ok_or_else(not_found)?;
    let is_buyer = contracts::member_of_any(conn, user.id, &[row.buyer_id]).await?;
    let is_site = !is_buyer && {
        let sites = queries::site_ids(conn, id).await?;
        contracts::member_of_any(conn, user.id, &sites).await?
    };
    let is_supplier =
        !is_buyer && !is_site && queries::verified_supplier_member(conn, user.id).await?;
    let is_draft = row.status == ConsultationStatus::Draft.as_str();
    let seat = policy::consultation_seat(user, is_buyer, is_site, is_supplier, is_draft)?;
    Ok((row, seat))
}

/// The consultation as everyone who may see it reads it: never a price
/// before the deadline (only the awarded one, once awarded).
pub async fn view(
    conn: &mut AsyncPgConnection,
    row: ConsultationRow,
    warnings: Vec<ThresholdWarning>,
) -> ApiResult<Consultation> {
    let criteria = queries::criteria(conn, row.id).await?;
    let lots = queries::lots(conn, row.id).await?;
    let mut sites: BTreeMap<Uuid, Vec<ConsultationSite>> = BTreeMap::new();
    for s in queries::sites(conn, row.id).await? {
        sites.entry(s.lot_id).or_default().push(ConsultationSite {
            id: s.id,
            name: s.name,
            commune_insee: s.commune_insee,
        });
    }
    let procedure: Procedure = from_db(&row.procedure)?;
    let max_total: i64 = lots.iter().filter_map(|l| l.max_amount_ht_cents).sum();
    let estimated = lots.iter().map(|l| l.estimated_amount_ht_cents).sum();
    let lots = lots
        .into_iter()
        .map(|l| {
            let lot_sites = sites.remove(&l.id).unwrap_or_default();
            lot_view(l, lot_sites)
        })
        .collect::<ApiResult<_>>()?;
    Ok(Consultation {
        id: row.id,
        buyer: OrganisationRef {
            id: row.buyer_id,
            name: row.buyer_name,
        },
        title: row.title,
        description: row.description,
        procedure,
        duration_months: row.duration_months,
        answers_due_at: row.answers_due_at,
        status: from_db(&row.status)?,
        cancel_reason: row.cancel_reason,
        created_at: row.created_at,
        published_at: row.published_at,
        decided_at: row.decided_at,
        cancelled_at: row.cancelled_at,
        minimum_answer_days: rules::minimum_answer_time(procedure, max_total).num_days(),
        estimated_amount_ht_cents: estimated,
        criteria: criteria
            .into_iter()
            .map(|c| {
                Ok(ConsultationCriterion {
                    position: c.position,
                    kind: from_db(&c.kind)?,
                    description: c.description,
                    weight: c.weight,
                })
            })
            .collect::<ApiResult<_>>()?,
        lots,
        answers_received: row.answers_received,
        warnings,
    })
}

fn lot_view(l: LotRow, sites: Vec<ConsultationSite>) -> ApiResult<ConsultationLot> {
    let award = match (l.winner_id, l.winner_name, l.winner_price_cents) {
        (Some(id), Some(name), Some(price)) => Some(LotAward {
            supplier: OrganisationRef { id, name },
            unit_price_cents: price,
            contract_id: l.contract_id,
        }),
        _ => None,
    };
    Ok(ConsultationLot {
        id: l.id,
        number: l.number,
        description: l.description,
        family: from_db(&l.family)?,
        labels: labels(&l.labels)?,
        unit: from_db(&l.unit)?,
        quantity: l.quantity.map(|q| q.normalize()),
        quantity_range: match (l.quantity_min, l.quantity_max) {
            (min, Some(max)) => Some(QuantityRange {
                min: min.unwrap_or(Decimal::ZERO).normalize(),
                max: max.normalize(),
            }),
            _ => None,
        },
        max_amount_ht_cents: l.max_amount_ht_cents,
        estimated_amount_ht_cents: l.estimated_amount_ht_cents,
        delivery: LotDelivery {
            dates: l.delivery_dates,
            weekdays: l.delivery_weekdays,
            from: l.delivery_from,
            until: l.delivery_until,
        },
        sites,
        status: from_db(&l.status)?,
        rationale: l.rationale,
        decided_at: l.decided_at,
        award,
    })
}

fn criteria_problem(problem: CriteriaProblem) -> ApiError {
    match problem {
        CriteriaProblem::LocalPreference(field) => {
            ApiError::LocalPreference(format!("{field}: {}", rules::LOCAL_PREFERENCE_RULE))
        }
        CriteriaProblem::PriceOnly => ApiError::PriceOnly(rules::PRICE_ONLY_RULE.to_owned()),
        CriteriaProblem::Invalid(errors) => ApiError::Validation(errors),
    }
}

fn delivery(errors: &mut Vec<FieldError>, at: &str, d: &LotDelivery) {
    let weekdays: BTreeSet<_> = d.weekdays.iter().collect();
    match (d.dates.is_empty(), d.weekdays.is_empty()) {
        (false, true) => {
            let distinct: BTreeSet<_> = d.dates.iter().collect();
            if d.dates.len() > 100 || distinct.len() != d.dates.len() {
                errors.push(FieldError::new(
                    format!("{at}.dates"),
                    "1 to 100 distinct dates",
                ));
            }
            if d.from.is_some() || d.until.is_some() {
                errors.push(FieldError::new(
                    format!("{at}.from"),
                    "give dates, or weekdays with from and until, not both",
                ));
            }
        }
        (true, false) => {
            if d.weekdays.iter().any(|w| !(1..=7).contains(w)) || weekdays.len() != d.weekdays.len()
            {
                errors.push(FieldError::new(
                    format!("{at}.weekdays"),
                    "one to seven distinct ISO weekdays, 1 (Monday) to 7",
                ));
            }
            match (d.from, d.until) {
                (Some(from), Some(until)) if from <= until => {}
                _ => errors.push(FieldError::new(
                    format!("{at}.until"),
                    "weekdays need a period: from and until, from first",
                )),
            }
        }
        _ => errors.push(FieldError::new(
            at,
            "give delivery dates, or weekdays with from and until",
        )),
    }
}

fn lot_row(
    errors: &mut Vec<FieldError>,
    i: usize,
    procedure: Procedure,
    lot: &NewLot,
) -> queries::NewLotRow {
    let at = |field: &str| format!("lots[{i}].{field}");
    text(errors, &at("description"), &lot.description, 1, 1000);
    crate::catalog::validate::labels(errors, at("labels"), &lot.labels, lot.family);
    let framework = procedure == Procedure::AccordCadre;
    let (quantity, min, max) = match (&lot.quantity, &lot.quantity_range, framework) {
        (Some(q), None, false) => {
            crate::catalog::validate::quantity(errors, at("quantity"), *q, false);
            (Some(*q), None, None)
        }
        (None, Some(r), true) => {
            crate::catalog::validate::quantity(errors, at("quantity_range.min"), r.min, true);
            crate::catalog::validate::quantity(errors, at("quantity_range.max"), r.max, false);
            if r.min > r.max {
                errors.push(FieldError::new(
                    at("quantity_range"),
                    "min must not exceed max",
                ));
            }
            (None, Some(r.min), Some(r.max))
        }
        (_, _, false) => {
            errors.push(FieldError::new(
                at("quantity"),
                "is required (and quantity_range is for framework agreements only)",
            ));
            (None, None, None)
        }
        (_, _, true) => {
            errors.push(FieldError::new(
                at("quantity_range"),
                "a framework agreement gives an estimated range (min, max), not a quantity",
            ));
            (None, None, None)
        }
    };
    match (framework, lot.max_amount_ht_cents) {
        (true, Some(m)) if (1..=10_000_000_000).contains(&m) => {}
        (true, _) => errors.push(FieldError::new(
            at("max_amount_ht_cents"),
            "a framework agreement states its maximum amount HT (R2162-4), in cents",
        )),
        (false, Some(_)) => errors.push(FieldError::new(
            at("max_amount_ht_cents"),
            "is for framework agreements only",
        )),
        (false, None) => {}
    }
    if !(1..=10_000_000_000).contains(&lot.estimated_amount_ht_cents) {
        errors.push(FieldError::new(
            at("estimated_amount_ht_cents"),
            "must be more than zero",
        ));
    }
    delivery(errors, &at("delivery"), &lot.delivery);
    let sites: BTreeSet<_> = lot.site_ids.iter().collect();
    if lot.site_ids.is_empty() || lot.site_ids.len() > 100 || sites.len() != lot.site_ids.len() {
        errors.push(FieldError::new(
            at("site_ids"),
            "1 to 100 distinct canteens",
        ));
    }
    queries::NewLotRow {
        id: Uuid::now_v7(),
        number: i16::try_from(i + 1).unwrap_or(i16::MAX),
        description: lot.description.trim().to_owned(),
        family: lot.family.as_str().to_owned(),
        labels: lot.labels.iter().map(|l| l.as_str().to_owned()).collect(),
        unit: lot.unit.as_str().to_owned(),
        quantity,
        quantity_min: min,
        quantity_max: max,
        max_amount_ht_cents: lot.max_amount_ht_cents,
        estimated_amount_ht_cents: lot.estimated_amount_ht_cents,
        delivery_dates: lot.delivery.dates.clone(),
        delivery_weekdays: lot.delivery.weekdays.clone(),
        delivery_from: lot.delivery.from,
        delivery_until: lot.delivery.until,
        sites: lot.site_ids.clone(),
    }
}

/// Checks the delivery sites: a canteen delivers itself; an authority the
/// verified canteens of its EPCI.
async fn check_sites(
    conn: &mut AsyncPgConnection,
    buyer: Uuid,
    buyer_kind: OrganisationKind,
    lots: &[queries::NewLotRow],
    errors: &mut Vec<FieldError>,
) -> ApiResult<()> {
    let all: Vec<Uuid> = lots
        .iter()
        .flat_map(|l| l.sites.iter().copied())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let places: BTreeMap<Uuid, queries::CanteenPlace> = queries::places(conn, &all)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let epci = match buyer_kind {
        OrganisationKind::Authority => crate::egalim::queries::authority_epci(conn, buyer).await?,
        _ => None,
    };
    for (i, lot) in lots.iter().enumerate() {
        for (j, site) in lot.sites.iter().enumerate() {
            let field = format!("lots[{i}].site_ids[{j}]");
            let fits = match buyer_kind {
                OrganisationKind::Canteen => *site == buyer,
                _ => places.get(site).is_some_and(|p| {
                    p.kind == "canteen"
                        && p.status == "verified"
                        && p.epci.is_some()
                        && p.epci == epci
                }),
            };
            if !fits {
                errors.push(FieldError::new(
                    field,
                    match buyer_kind {
                        OrganisationKind::Canteen => {
                            "a canteen's consultation delivers the canteen itself; a group of \
                             canteens is run by their authority"
                        }
                        _ => "is not a verified canteen of the authority's EPCI",
                    },
                ));
            }
        }
    }
    Ok(())
}

/// Creates a draft consultation.
pub async fn create(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    body: NewConsultation,
) -> ApiResult<Consultation> {
    let org = access(conn, body.buyer_id, Some(user)).await?;
    policy::authorize(user, &org, OrgAction::RunConsultations)?;
    let inputs: Vec<CriterionInput<'_>> = body
        .criteria
        .iter()
        .map(|c| CriterionInput {
            kind: &c.kind,
            description: &c.description,
            weight: c.weight,
        })
        .collect();
    let kinds = rules::criteria(&inputs).map_err(criteria_problem)?;
    let mut errors = Vec::new();
    text(&mut errors, "title", &body.title, 1, 200);
    text(&mut errors, "description", &body.description, 0, 5000);
    if body.lots.is_empty() || body.lots.len() > 50 {
        errors.push(FieldError::new("lots", "one to fifty lots"));
    }
    let lots: Vec<_> = body
        .lots
        .iter()
        .enumerate()
        .map(|(i, lot)| lot_row(&mut errors, i, body.procedure, lot))
        .collect();
    let estimated: i64 = lots.iter().map(|l| l.estimated_amount_ht_cents).sum();
    errors.extend(rules::procedure_amounts(
        body.procedure,
        estimated,
        body.duration_months,
    ));
    let max_total: i64 = lots.iter().filter_map(|l| l.max_amount_ht_cents).sum();
    let now = queries::clock(conn).await?;
    if let Some(problem) =
        rules::deadline_problem(body.procedure, max_total, now, body.answers_due_at)
    {
        errors.push(FieldError::new("answers_due_at", problem));
    }
    check_sites(conn, body.buyer_id, org.kind, &lots, &mut errors).await?;
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let row = queries::NewConsultationRow {
        id: Uuid::now_v7(),
        buyer_id: body.buyer_id,
        title: body.title.trim().to_owned(),
        description: body.description.trim().to_owned(),
        procedure: body.procedure.as_str().to_owned(),
        duration_months: body.duration_months,
        answers_due_at: body.answers_due_at,
        created_by: user.id,
        criteria: body
            .criteria
            .iter()
            .zip(&kinds)
            .map(|(c, kind)| {
                (
                    kind.as_str().to_owned(),
                    c.description.trim().to_owned(),
                    i16::try_from(c.weight).unwrap_or(0),
                )
            })
            .collect(),
        lots,
    };
    let id = row.id;
    conn.transaction::<_, ApiError, _>(async |conn| {
        queries::insert(conn, &row).await?;
        let data = ConsultationChanged {
            procedure: Some(from_db(&row.procedure)?),
            ..changed(id, ConsultationStatus::Draft, None)
        };
        event(
            conn,
            &[row.buyer_id],
            FeedEventType::ConsultationDrafted,
            id,
            data,
        )
        .await
    })
    .await?;
    let found = queries::find(conn, id).await?.ok_or_else(not_found)?;
    let warnings = warnings(conn, &found).await?;
    view(conn, found, warnings).await
}

/// For a *gré à gré*: the canteens and families whose year's purchases
/// would pass 60,000 € HT with this consultation (its lots' estimates,
/// shared equally between their sites).
async fn warnings(
    conn: &mut AsyncPgConnection,
    row: &ConsultationRow,
) -> ApiResult<Vec<ThresholdWarning>> {
    if row.procedure != Procedure::GreAGre.as_str()
        || !matches!(row.status.as_str(), "draft" | "published")
    {
        return Ok(Vec::new());
    }
    let year = crate::clock::today_in_paris(conn).await?.year();
    let lots = queries::lots(conn, row.id).await?;
    let mut by_lot: BTreeMap<Uuid, Vec<Uuid>> = BTreeMap::new();
    for s in queries::sites(conn, row.id).await? {
        by_lot.entry(s.lot_id).or_default().push(s.id);
    }
    let mut added: BTreeMap<(Uuid, String), i64> = BTreeMap::new();
    for lot in &lots {
        let sites = by_lot.get(&lot.id).cloned().unwrap_or_default();
        let count = i64::try_from(sites.len()).unwrap_or(1).max(1);
        for site in sites {
            *added.entry((site, lot.family.clone())).or_default() +=
                lot.estimated_amount_ht_cents / count;
        }
    }
    crossing_warnings(conn, year, added, "this consultation").await
}

/// For purchases about to be `added` (per canteen and family, in cents):
/// the canteens and families whose purchases of `year` would then pass
/// 60,000 € HT, the limit of a purchase without publicity or competition.
/// `what` names the purchase in the message ("this basket").
pub async fn crossing_warnings(
    conn: &mut AsyncPgConnection,
    year: i32,
    added: BTreeMap<(Uuid, String), i64>,
    what: &str,
) -> ApiResult<Vec<ThresholdWarning>> {
    let mut out = Vec::new();
    let mut totals: BTreeMap<Uuid, Vec<queries::FamilyTotal>> = BTreeMap::new();
    for ((site, family), cents) in added {
        if let std::collections::btree_map::Entry::Vacant(entry) = totals.entry(site) {
            entry.insert(queries::year_purchases(conn, site, year).await?);
        }
        let so_far = totals
            .get(&site)
            .into_iter()
            .flatten()
            .find(|t| t.family == family)
            .map_or(0, |t| t.orders_ht_cents + t.contracts_ht_cents);
        let with = so_far + cents;
        if with > rules::GRE_A_GRE_LIMIT_CENTS {
            out.push(ThresholdWarning {
                canteen_id: site,
                family: from_db(&family)?,
                year,
                purchases_ht_cents: so_far,
                with_this_purchase_ht_cents: with,
                threshold_ht_cents: rules::GRE_A_GRE_LIMIT_CENTS,
                message: format!(
                    "with {what} the canteen's {family} purchases of {year} would \
                     reach {} € HT, past the 60,000 € HT under which a contract may be made \
                     without publicity or competition (R2122-8): a MAPA is due",
                    with / 100
                ),
            });
        }
    }
    Ok(out)
}

fn transition_refused(from: ConsultationStatus, action: Action) -> ApiError {
    let allowed = lifecycle::allowed(from);
    ApiError::Conflict(format!(
        "cannot {} a consultation that is {from}; {}",
        action.name(),
        match allowed.as_slice() {
            [] => "nothing more can be done with it".to_owned(),
            some => format!("you may: {}", some.join(", ")),
        }
    ))
}

/// Publishes a draft: the deadline must still leave the procedure's
/// minimum; the buyer and its canteens are told, and the suppliers who can
/// serve a lot are alerted.
pub async fn publish(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    id: Uuid,
) -> ApiResult<Consultation> {
    let (row, seat) = seat(conn, user, id).await?;
    policy::require_buyer(seat)?;
    let org = access(conn, row.buyer_id, Some(user)).await?;
    policy::authorize(user, &org, OrgAction::RunConsultations)?;
    let procedure: Procedure = from_db(&row.procedure)?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        let locked = queries::lock(conn, id).await?.ok_or_else(not_found)?;
        let from = lifecycle::effective(from_db(&locked.status)?, locked.deadline_passed);
        if lifecycle::next(from, Action::Publish).is_none() {
            return Err(transition_refused(from, Action::Publish));
        }
        let lots = queries::lots(conn, id).await?;
        let max_total: i64 = lots.iter().filter_map(|l| l.max_amount_ht_cents).sum();
        let now = queries::clock(conn).await?;
        if let Some(problem) =
            rules::deadline_problem(procedure, max_total, now, locked.answers_due_at)
        {
            return Err(ApiError::validation(
                "answers_due_at",
                format!("{problem}; move it with a new draft"),
            ));
        }
        queries::set_published(conn, id).await?;
        let mut to = vec![row.buyer_id];
        to.extend(queries::site_ids(conn, id).await?);
        let data = changed(
            id,
            ConsultationStatus::Published,
            Some(locked.answers_due_at),
        );
        event(conn, &to, FeedEventType::ConsultationPublished, id, data).await?;
        let suppliers = queries::eligible_suppliers(conn, id).await?;
        let alert = ConsultationAlert {
            consultation_id: id,
            buyer_id: row.buyer_id,
            buyer_name: row.buyer_name.clone(),
            title: row.title.clone(),
            procedure: from_db(&row.procedure)?,
            answers_due_at: locked.answers_due_at,
            lots: lots
                .iter()
                .map(|l| {
                    Ok(AlertLot {
                        number: l.number,
                        family: from_db(&l.family)?,
                        labels: labels(&l.labels)?,
                        unit: from_db(&l.unit)?,
                    })
                })
                .collect::<ApiResult<_>>()?,
        };
        event(
            conn,
            &suppliers,
            FeedEventType::ConsultationAlert,
            id,
            alert,
        )
        .await
    })
    .await?;
    let found = queries::find(conn, id).await?.ok_or_else(not_found)?;
    let warnings = warnings(conn, &found).await?;
    view(conn, found, warnings).await
}

/// Cancels a consultation not yet decided, with the reason. Answers of a
/// consultation cancelled before its deadline stay sealed for ever.
pub async fn cancel(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    id: Uuid,
    reason: &str,
) -> ApiResult<Consultation> {
    let reason = required_text("reason", reason)?;
    let (row, seat) = seat(conn, user, id).await?;
    policy::require_buyer(seat)?;
    let org = access(conn, row.buyer_id, Some(user)).await?;
    policy::authorize(user, &org, OrgAction::RunConsultations)?;
    close_due(conn, Some(id)).await?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        let locked = queries::lock(conn, id).await?.ok_or_else(not_found)?;
        let from = lifecycle::effective(from_db(&locked.status)?, locked.deadline_passed);
        if lifecycle::next(from, Action::Cancel).is_none() {
            return Err(transition_refused(from, Action::Cancel));
        }
        queries::set_cancelled(conn, id, &reason).await?;
        let mut to = vec![row.buyer_id];
        to.extend(queries::site_ids(conn, id).await?);
        to.extend(queries::bidders(conn, id).await?);
        let data = ConsultationChanged {
            reason: Some(reason.clone()),
            ..changed(id, ConsultationStatus::Cancelled, None)
        };
        event(conn, &to, FeedEventType::ConsultationCancelled, id, data).await
    })
    .await?;
    let found = queries::find(conn, id).await?.ok_or_else(not_found)?;
    view(conn, found, Vec::new()).await
}

/// Reads a consultation (recording its closing first if its deadline has passed).
pub async fn get(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    id: Uuid,
) -> ApiResult<Consultation> {
    close_due(conn, Some(id)).await?;
    let (row, _) = seat(conn, user, id).await?;
    view(conn, row, Vec::new()).await
}

/// A page of summaries from the rows fetched for `page`.
pub fn summaries(rows: Vec<queries::SummaryRow>, page: Keyset) -> ApiResult<ConsultationList> {
    let (rows, next_cursor) = page.page(rows, |row| row.id);
    Ok(ConsultationList {
        items: rows.into_iter().map(summary).collect::<ApiResult<_>>()?,
        next_cursor,
    })
}

fn summary(row: queries::SummaryRow) -> ApiResult<ConsultationSummary> {
    Ok(ConsultationSummary {
        id: row.id,
        buyer: OrganisationRef {
            id: row.buyer_id,
            name: row.buyer_name,
        },
        title: row.title,
        procedure: from_db(&row.procedure)?,
        answers_due_at: row.answers_due_at,
        status: from_db(&row.status)?,
        lots: row.lots,
        families: row
            .families
            .iter()
            .map(|f| from_db(f))
            .collect::<ApiResult<_>>()?,
    })
}

/// The producer of an answer and the labels it may claim.
struct Producer {
    id: Option<Uuid>,
    name: String,
    certified: Option<Vec<String>>,
    intermediaries: i16,
}

async fn producer(
    conn: &mut AsyncPgConnection,
    supplier: Uuid,
    kind: OrganisationKind,
    input: Option<&crate::catalog::dto::ProducerInput>,
    errors: &mut Vec<FieldError>,
) -> ApiResult<Option<Producer>> {
    use crate::catalog::queries::farm_for_producer;
    let farm_id = match (kind, input) {
        (OrganisationKind::Farm, None) => supplier,
        (OrganisationKind::Farm, Some(p))
            if p.organisation_id == Some(supplier) && p.name.is_none() =>
        {
            supplier
        }
        (OrganisationKind::Farm, Some(_)) => {
            errors.push(FieldError::new(
                "producer",
                "a farm answers with its own produce: leave producer out",
            ));
            return Ok(None);
        }
        (_, None) => {
            errors.push(FieldError::new(
                "producer",
                "is required: name the farm that produces it",
            ));
            return Ok(None);
        }
        (_, Some(p)) => match p.organisation_id {
            Some(id) => id,
            None => {
                let name = p.name.clone().unwrap_or_default().trim().to_owned();
                if name.is_empty() || name.chars().count() > 200 {
                    errors.push(FieldError::new(
                        "producer.name",
                        "name the outside farm (1 to 200 characters)",
                    ));
                    return Ok(None);
                }
                if let Some(commune) = &p.commune_insee
                    && !crate::accounts::queries::commune_exists(conn, commune).await?
                {
                    errors.push(FieldError::new(
                        "producer.commune_insee",
                        "no current commune has this INSEE code",
                    ));
                }
                return Ok(Some(Producer {
                    id: None,
                    name,
                    certified: None,
                    intermediaries: 1,
                }));
            }
        },
    };
    match farm_for_producer(conn, farm_id).await? {
        Some((name, _, kind, status, labels))
            if kind == "farm" && (farm_id == supplier || status == "verified") =>
        {
            if farm_id != supplier
                && !crate::supply::queries::is_accepted(conn, supplier, farm_id).await?
            {
                errors.push(FieldError::new(
                    "producer.organisation_id",
                    format!(
                        "the farm has not accepted to be carried by you: ask it first with \
                         POST /api/v1/organisations/{supplier}/supply-relationships"
                    ),
                ));
                return Ok(None);
            }
            Ok(Some(Producer {
                id: Some(farm_id),
                name,
                certified: Some(labels),
                intermediaries: i16::from(farm_id != supplier),
            }))
        }
        _ => {
            errors.push(FieldError::new(
                "producer.organisation_id",
                "is not a verified farm on the platform (name an outside farm by producer.name instead)",
            ));
            Ok(None)
        }
    }
}

/// Submits or revises `supplier`'s sealed answer to a lot; returns the receipt.
pub async fn answer(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    supplier: Uuid,
    id: Uuid,
    lot_number: i16,
    body: AnswerRequest,
) -> ApiResult<AnswerReceipt> {
    let org = access(conn, supplier, Some(user)).await?;
    policy::authorize(user, &org, OrgAction::AnswerConsultations)?;
    let row = queries::find(conn, id).await?.ok_or_else(not_found)?;
    if row.status == ConsultationStatus::Draft.as_str() {
        return Err(not_found());
    }
    let lot = queries::lots(conn, id)
        .await?
        .into_iter()
        .find(|l| l.number == lot_number)
        .ok_or_else(|| ApiError::not_found("no lot with this number in the consultation"))?;
    let closed = || {
        ApiError::ConsultationClosed(format!(
            "answers closed at the deadline, {}: nothing was recorded",
            row.answers_due_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ))
    };
    if row.status != ConsultationStatus::Published.as_str() {
        return Err(closed());
    }
    let family: ProductFamily = from_db(&lot.family)?;
    let mut errors = Vec::new();
    if !(0..=100_000_000).contains(&body.unit_price_cents) {
        errors.push(FieldError::new(
            "unit_price_cents",
            "must be between 0 and 100000000 cents",
        ));
    }
    crate::catalog::validate::vat(&mut errors, "vat_rate".into(), body.vat_rate);
    crate::catalog::validate::labels(&mut errors, "labels".into(), &body.labels, family);
    for wanted in &lot.labels {
        if !body.labels.iter().any(|l| l.as_str() == wanted) {
            errors.push(FieldError::new(
                "labels",
                format!("the lot asks for {wanted}"),
            ));
        }
    }
    text(
        &mut errors,
        "delivery_terms",
        &body.delivery_terms,
        0,
        MAX_TEXT_CHARS,
    );
    text(&mut errors, "note", &body.note, 0, MAX_TEXT_CHARS);
    let producer = producer(
        conn,
        supplier,
        org.kind,
        body.producer.as_ref(),
        &mut errors,
    )
    .await?;
    if let Some(p) = &producer {
        match &p.certified {
            Some(certified) => {
                for (i, label) in body.labels.iter().enumerate() {
                    if !certified.iter().any(|c| c == label.as_str()) {
                        errors.push(FieldError::new(
                            format!("labels[{i}]"),
                            format!("the producing farm is not certified {label}"),
                        ));
                    }
                }
            }
            None if !body.labels.is_empty() => errors.push(FieldError::new(
                "labels",
                "labels need a producing farm on the platform, whose certifications Sésame knows",
            )),
            None => {}
        }
    }
    let Some(producer) = producer.filter(|_| errors.is_empty()) else {
        return Err(ApiError::Validation(errors));
    };
    let mut labels: Vec<String> = body.labels.iter().map(|l| l.as_str().to_owned()).collect();
    labels.sort();
    let input = queries::AnswerInput {
        consultation_id: id,
        lot_id: lot.id,
        supplier_id: supplier,
        unit_price_cents: body.unit_price_cents,
        vat_rate: body.vat_rate.normalize(),
        labels,
        origin: body.origin.as_str().to_owned(),
        producer_id: producer.id,
        producer_name: producer.name,
        intermediaries: producer.intermediaries,
        delivery_terms: body.delivery_terms.trim().to_owned(),
        note: body.note.trim().to_owned(),
        user: user.id,
    };
    conn.transaction::<_, ApiError, _>(async |conn| {
        let written = queries::upsert_answer(conn, &input)
            .await?
            .ok_or_else(closed)?;
        let canonical = receipt::canonical(&receipt::Sealed {
            consultation_id: id,
            lot_number,
            supplier_id: supplier,
            revision: written.revision,
            received_at: written.received_at,
            unit_price_cents: input.unit_price_cents,
            vat_rate: input.vat_rate,
            labels: &input.labels,
            origin: &input.origin,
            producer_id: input.producer_id,
            producer_name: &input.producer_name,
            delivery_terms: &input.delivery_terms,
            note: &input.note,
        });
        let digest = receipt::digest(&canonical);
        queries::seal(conn, &written, &digest).await?;
        let data = AnswerReceived {
            consultation_id: id,
            lot_number,
            answer_id: written.id,
            revision: written.revision,
            received_at: written.received_at,
            sha256: digest.clone(),
        };
        event(
            conn,
            &[supplier],
            FeedEventType::ConsultationAnswerReceived,
            id,
            data,
        )
        .await?;
        Ok(AnswerReceipt {
            answer_id: written.id,
            revision: written.revision,
            received_at: written.received_at,
            sha256: digest,
            canonical,
        })
    })
    .await
}

pub fn answer_view(a: AnswerRow) -> ApiResult<ConsultationAnswer> {
    Ok(ConsultationAnswer {
        id: a.id,
        lot_number: a.lot_number,
        supplier: OrganisationRef {
            id: a.supplier_id,
            name: a.supplier_name,
        },
        unit_price_cents: a.unit_price_cents,
        vat_rate: a.vat_rate.normalize(),
        labels: a
            .labels
            .iter()
            .map(|l| from_db::<Label>(l))
            .collect::<ApiResult<_>>()?,
        origin: from_db(&a.origin)?,
        producer: OrganisationRefOpt {
            id: a.producer_id,
            name: a.producer_name,
        },
        intermediaries: a.intermediaries,
        delivery_terms: a.delivery_terms,
        note: a.note,
        revision: a.revision,
        received_at: a.received_at,
        sha256: a.digest,
    })
}

/// Scores and ranks the answers of `lots` (`scoring`); answers of other
/// lots are left out.
pub fn evaluate(
    lots: &[LotRow],
    criteria: &[CriterionRow],
    answers: Vec<AnswerRow>,
    marks: Vec<MarkRow>,
) -> ApiResult<Vec<LotEvaluation>> {
    let kinds: Vec<CriterionKind> = criteria
        .iter()
        .map(|c| from_db(&c.kind))
        .collect::<ApiResult<_>>()?;
    let weights: Vec<i16> = criteria.iter().map(|c| c.weight).collect();
    // Each answer's marks as `(position, mark, justification)`.
    let mut marked: HashMap<Uuid, Vec<(i16, Decimal, String)>> = HashMap::new();
    for m in marks {
        let mark = Decimal::new(i64::from(m.mark_hundredths), 2);
        marked
            .entry(m.answer_id)
            .or_default()
            .push((m.position, mark, m.justification));
    }
    let mut by_lot: HashMap<Uuid, Vec<AnswerRow>> = HashMap::new();
    for a in answers {
        by_lot.entry(a.lot_id).or_default().push(a);
    }
    let mut out = Vec::with_capacity(lots.len());
    for lot in lots {
        let of_lot = by_lot.remove(&lot.id).unwrap_or_default();
        let lowest = of_lot.iter().map(|a| a.unit_price_cents).min().unwrap_or(0);
        let mut scored = Vec::with_capacity(of_lot.len());
        let mut marks_of = Vec::with_capacity(of_lot.len());
        for (i, a) in of_lot.iter().enumerate() {
            let price_mark = scoring::price_mark(a.unit_price_cents, lowest);
            let mut given = marked.remove(&a.id).unwrap_or_default();
            let mut values = Vec::with_capacity(criteria.len());
            let mut marks = Vec::with_capacity(criteria.len());
            for (c, kind) in criteria.iter().zip(&kinds) {
                let (value, justification) = if *kind == CriterionKind::Price {
                    (Some(price_mark), None)
                } else {
                    match given.iter_mut().find(|(p, _, _)| *p == c.position) {
                        Some((_, mark, why)) => (Some(*mark), Some(std::mem::take(why))),
                        None => (None, None),
                    }
                };
                values.push(value);
                marks.push(CriterionMark {
                    position: c.position,
                    kind: *kind,
                    weight: c.weight,
                    mark: value.map(|v| v.normalize().to_string()),
                    justification,
                });
            }
            marks_of.push(Some(marks));
            scored.push(Scored {
                id: i,
                unit_price_cents: a.unit_price_cents,
                received_at: a.received_at,
                price_mark,
                score: scoring::score(&weights, &values),
            });
        }
        scoring::rank(&mut scored);
        let complete = scored.iter().all(|s| s.score.is_some());
        let mut rows: Vec<Option<AnswerRow>> = of_lot.into_iter().map(Some).collect();
        let answers = scored
            .iter()
            .enumerate()
            .map(|(rank, s)| {
                let row = rows[s.id].take().ok_or_else(not_found)?;
                Ok(RankedAnswer {
                    rank: rank + 1,
                    score: s.score.map(|v| v.normalize().to_string()),
                    marks: marks_of[s.id].take().unwrap_or_default(),
                    answer: answer_view(row)?,
                })
            })
            .collect::<ApiResult<_>>()?;
        out.push(LotEvaluation {
            number: lot.number,
            status: from_db(&lot.status)?,
            complete,
            answers,
        });
    }
    Ok(out)
}

/// Whether prices may be read now; the reason as a problem otherwise.
fn sealed(row: &ConsultationRow) -> ApiResult<()> {
    let until = row
        .answers_due_at
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    match row.status.as_str() {
        "draft" | "published" => Err(ApiError::AnswersSealed(format!(
            "answers stay sealed until the deadline, {until}"
        ))),
        "cancelled" if row.cancelled_at.is_some_and(|at| at < row.answers_due_at) => {
            Err(ApiError::AnswersSealed(
                "the consultation was cancelled before its deadline: its answers stay sealed"
                    .into(),
            ))
        }
        _ => Ok(()),
    }
}

/// The buyer's evaluation: every answer, scored and ranked per lot, from
/// the deadline on.
pub async fn evaluation(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    id: Uuid,
) -> ApiResult<Evaluation> {
    close_due(conn, Some(id)).await?;
    let (row, seat) = seat(conn, user, id).await?;
    policy::require_buyer(seat)?;
    sealed(&row)?;
    let lots = queries::lots(conn, id).await?;
    let criteria = queries::criteria(conn, id).await?;
    let answers = queries::revealed_answers(conn, id).await?;
    let marks = queries::marks(conn, id).await?;
    Ok(Evaluation {
        consultation_id: id,
        status: from_db(&row.status)?,
        lots: evaluate(&lots, &criteria, answers, marks)?,
    })
}

/// The buyer marks an answer on the criteria other than price, while its
/// lot is undecided.
pub async fn mark(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    id: Uuid,
    answer: Uuid,
    body: ScoreRequest,
) -> ApiResult<Evaluation> {
    close_due(conn, Some(id)).await?;
    let (row, seat) = seat(conn, user, id).await?;
    policy::require_buyer(seat)?;
    let org = access(conn, row.buyer_id, Some(user)).await?;
    policy::authorize(user, &org, OrgAction::RunConsultations)?;
    sealed(&row)?;
    let criteria = queries::criteria(conn, id).await?;
    let mut errors = Vec::new();
    let mut seen = BTreeSet::new();
    let mut marks = Vec::new();
    if body.marks.is_empty() {
        errors.push(FieldError::new("marks", "at least one mark"));
    }
    for (i, m) in body.marks.iter().enumerate() {
        let at = |f: &str| format!("marks[{i}].{f}");
        match criteria.iter().find(|c| c.position == m.position) {
            Some(c) if c.kind == CriterionKind::Price.as_str() => errors.push(FieldError::new(
                at("position"),
                "price is marked automatically (docs/consultations.md)",
            )),
            Some(_) if !seen.insert(m.position) => {
                errors.push(FieldError::new(at("position"), "is listed twice"))
            }
            Some(_) => {}
            None => errors.push(FieldError::new(
                at("position"),
                "no criterion has this position",
            )),
        }
        if m.mark > Decimal::ONE_HUNDRED || m.mark.normalize().scale() > 2 {
            errors.push(FieldError::new(at("mark"), "0 to 100, at most 2 decimals"));
        }
        text(
            &mut errors,
            &at("justification"),
            &m.justification,
            1,
            MAX_TEXT_CHARS,
        );
        marks.push((m.position, m.mark, m.justification.trim().to_owned()));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    conn.transaction::<_, ApiError, _>(async |conn| {
        let locked = queries::lock(conn, id).await?.ok_or_else(not_found)?;
        if locked.status != ConsultationStatus::Closed.as_str() {
            return Err(ApiError::LotDecided(format!(
                "the consultation is {}: its marks are final",
                locked.status
            )));
        }
        let (_, status) = queries::answer_lot(conn, id, answer)
            .await?
            .ok_or_else(|| ApiError::not_found("no answer with this id in the consultation"))?;
        if status != LotStatus::Open.as_str() {
            return Err(ApiError::LotDecided(format!(
                "the answer's lot is {status}: its marks are final"
            )));
        }
        queries::upsert_marks(conn, id, answer, &marks, user.id).await?;
        Ok(())
    })
    .await?;
    evaluation(conn, user, id).await
}

/// The end of a contract: its duration from `from`, or the lot's last
/// delivery day.
fn valid_until(from: NaiveDate, duration_months: Option<i32>, lot: &LotRow) -> NaiveDate {
    match duration_months.and_then(|m| u32::try_from(m).ok()) {
        Some(months) => from
            .checked_add_months(Months::new(months))
            .and_then(|d| d.checked_sub_days(Days::new(1)))
            .unwrap_or(from),
        None => lot
            .delivery_dates
            .iter()
            .copied()
            .chain(lot.delivery_until)
            .max()
            .unwrap_or(from)
            .max(from),
    }
}

/// Awards a lot to its best-ranked answer (or declares it unsuccessful
/// with `None`): one conditional UPDATE of the lot under the consultation's
/// lock, so of concurrent decisions exactly one wins; an award makes the
/// contract. Bidders learn their rank, their score and the winner's.
pub async fn decide(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    id: Uuid,
    lot_number: i16,
    award: Option<(Uuid, Option<NaiveDate>)>,
    rationale: &str,
) -> ApiResult<LotDecision> {
    let rationale = required_text("rationale", rationale)?;
    close_due(conn, Some(id)).await?;
    let (row, seat) = seat(conn, user, id).await?;
    policy::require_buyer(seat)?;
    let org = access(conn, row.buyer_id, Some(user)).await?;
    policy::authorize(user, &org, OrgAction::RunConsultations)?;
    sealed(&row)?;
    let today = crate::clock::today_in_paris(conn).await?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        let locked = queries::lock(conn, id).await?.ok_or_else(not_found)?;
        if locked.status != ConsultationStatus::Closed.as_str() {
            return Err(ApiError::LotDecided(format!(
                "the consultation is {}: no lot can be decided",
                locked.status
            )));
        }
        let lots = queries::lots(conn, id).await?;
        let lot = lots
            .iter()
            .find(|l| l.number == lot_number)
            .ok_or_else(|| ApiError::not_found("no lot with this number in the consultation"))?;
        if lot.status != LotStatus::Open.as_str() {
            return Err(ApiError::LotDecided(format!(
                "lot {lot_number} is already {}",
                lot.status
            )));
        }
        let criteria = queries::criteria(conn, id).await?;
        let answers = queries::revealed_answers(conn, id).await?;
        let marks = queries::marks(conn, id).await?;
        let evaluated = evaluate(std::slice::from_ref(lot), &criteria, answers, marks)?
            .pop()
            .ok_or_else(not_found)?;
        let (status, answer_id, winner) = match award {
            Some((answer_id, _)) => {
                let Some(first) = evaluated.answers.first() else {
                    return Err(ApiError::validation(
                        "answer_id",
                        "the lot received no answer",
                    ));
                };
                if !evaluated.complete {
                    return Err(ApiError::Conflict(
                        "mark every answer of the lot on every criterion before awarding it \
                         (PUT /api/v1/consultations/{id}/answers/{answer_id}/marks)"
                            .into(),
                    ));
                }
                if !evaluated.answers.iter().any(|a| a.answer.id == answer_id) {
                    return Err(ApiError::validation(
                        "answer_id",
                        "is not an answer to this lot",
                    ));
                }
                if first.answer.id != answer_id {
                    return Err(ApiError::validation(
                        "answer_id",
                        format!(
                            "the lot goes to the best-ranked answer, the most economically \
                             advantageous offer (L2152-7): {}",
                            first.answer.id
                        ),
                    ));
                }
                (LotStatus::Awarded, Some(answer_id), Some(first))
            }
            None => (LotStatus::Unsuccessful, None, None),
        };
        if !queries::decide_lot(
            conn,
            lot.id,
            status.as_str(),
            answer_id,
            &rationale,
            user.id,
        )
        .await?
        {
            return Err(ApiError::LotDecided(format!(
                "lot {lot_number} is already decided"
            )));
        }
        let sites = queries::site_ids(conn, id).await?;
        let mut contract_id = None;
        if let (Some(winner), Some((_, valid_from))) = (winner, award) {
            let from = valid_from.unwrap_or(today);
            let until = valid_until(from, row.duration_months, lot);
            let amount = match (lot.max_amount_ht_cents, lot.quantity) {
                (Some(max), _) => max,
                (None, Some(q)) => {
                    crate::orders::money::line_cents(q, winner.answer.unit_price_cents).ok_or_else(
                        || ApiError::validation("answer_id", "the contract's value is too large"),
                    )?
                }
                (None, None) => 0,
            };
            let contract =
                contracts::insert_from_award(conn, lot.id, winner.answer.id, amount, from, until)
                    .await?;
            contract_id = Some(contract);
            let mut parties = vec![row.buyer_id, winner.answer.supplier.id];
            parties.extend(sites.iter().copied());
            let data = ContractAwarded {
                contract_id: contract,
                consultation_id: id,
                lot_number,
                supplier_id: winner.answer.supplier.id,
                buyer_id: row.buyer_id,
                unit_price_cents: winner.answer.unit_price_cents,
                amount_ht_cents: amount,
                valid_from: from,
                valid_until: until,
            };
            event(
                conn,
                &parties,
                FeedEventType::ContractCreated,
                contract,
                data,
            )
            .await?;
        }
        let winner_score = evaluated
            .answers
            .first()
            .filter(|_| winner.is_some())
            .and_then(|a| a.score.clone());
        let bidders: Vec<Uuid> = evaluated
            .answers
            .iter()
            .map(|a| a.answer.supplier.id)
            .collect();
        let mut to = vec![row.buyer_id];
        to.extend(sites.iter().copied());
        to.extend(bidders.iter().copied());
        let data = LotDecided {
            consultation_id: id,
            lot_number,
            status,
            rationale: rationale.clone(),
            winner: winner.map(|w| OrganisationRef {
                id: w.answer.supplier.id,
                name: w.answer.supplier.name.clone(),
            }),
            winner_score: winner_score.clone(),
            answers: evaluated.answers.len(),
        };
        let kind = if winner.is_some() {
            FeedEventType::ConsultationLotAwarded
        } else {
            FeedEventType::ConsultationLotUnsuccessful
        };
        event(conn, &to, kind, id, data).await?;
        for ranked in &evaluated.answers {
            let data = BidderOutcome {
                consultation_id: id,
                lot_number,
                answer_id: ranked.answer.id,
                lot_status: status,
                rank: ranked.rank,
                answers: evaluated.answers.len(),
                score: ranked.score.clone(),
                winner_score: winner_score.clone(),
                won: answer_id == Some(ranked.answer.id),
            };
            let to = [ranked.answer.supplier.id];
            event(conn, &to, FeedEventType::ConsultationOutcome, id, data).await?;
        }
        let statuses: Vec<LotStatus> = queries::lot_statuses(conn, id)
            .await?
            .iter()
            .map(|s| from_db(s))
            .collect::<ApiResult<_>>()?;
        let mut consultation_status = ConsultationStatus::Closed;
        if let Some(outcome) = lifecycle::outcome(&statuses) {
            queries::set_outcome(conn, id, outcome.as_str()).await?;
            consultation_status = outcome;
            let mut to = vec![row.buyer_id];
            to.extend(sites.iter().copied());
            to.extend(queries::bidders(conn, id).await?);
            let kind = match outcome {
                ConsultationStatus::Awarded => FeedEventType::ConsultationAwarded,
                ConsultationStatus::PartlyAwarded => FeedEventType::ConsultationPartlyAwarded,
                _ => FeedEventType::ConsultationUnsuccessful,
            };
            event(conn, &to, kind, id, changed(id, outcome, None)).await?;
        }
        Ok(LotDecision {
            consultation_id: id,
            number: lot_number,
            status,
            consultation_status,
            contract_id,
        })
    })
    .await
}

/// A supplier's own answers to a consultation with their receipts, and
/// the outcome of each once its lot is decided.
pub async fn own_answers(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    supplier: Uuid,
    id: Uuid,
) -> ApiResult<OwnAnswers> {
    close_due(conn, Some(id)).await?;
    let org = access(conn, supplier, Some(user)).await?;
    policy::authorize(user, &org, OrgAction::ReadPrivate)?;
    policy::own_answers_reader(&org)?;
    let row = queries::find(conn, id).await?.ok_or_else(not_found)?;
    let own = queries::own_answers(conn, id, supplier).await?;
    if own.is_empty() && row.status == ConsultationStatus::Draft.as_str() {
        return Err(not_found());
    }
    let ids: Vec<Uuid> = own.iter().map(|a| a.id).collect();
    let receipts = queries::receipts(conn, &ids).await?;
    let lots = queries::lots(conn, id).await?;
    let decided: Vec<LotRow> = lots
        .iter()
        .filter(|l| l.status != "open")
        .cloned()
        .collect();
    let evaluated = if decided.is_empty() {
        Vec::new()
    } else {
        let criteria = queries::criteria(conn, id).await?;
        let answers = queries::revealed_answers(conn, id).await?;
        let marks = queries::marks(conn, id).await?;
        evaluate(&decided, &criteria, answers, marks)?
    };
    let items = own
        .iter()
        .map(|a| {
            let lot = lots
                .iter()
                .find(|l| l.id == a.lot_id)
                .ok_or_else(not_found)?;
            let outcome = evaluated
                .iter()
                .find(|e| e.number == a.lot_number)
                .map(|e| {
                    let mine = e.answers.iter().find(|r| r.answer.id == a.id);
                    let winner = e.answers.first().filter(|_| lot.status == "awarded");
                    AnswerOutcome {
                        lot_status: e.status,
                        rank: mine.map(|r| r.rank),
                        answers: e.answers.len(),
                        score: mine.and_then(|r| r.score.clone()),
                        winner_score: winner.and_then(|w| w.score.clone()),
                        winner: winner.map(|w| OrganisationRef {
                            id: w.answer.supplier.id,
                            name: w.answer.supplier.name.clone(),
                        }),
                        won: lot.winner_id == Some(supplier)
                            && winner.is_some_and(|w| w.answer.id == a.id),
                        rationale: lot.rationale.clone(),
                    }
                });
            Ok(OwnAnswer {
                answer: answer_view(a.clone())?,
                receipts: receipts
                    .iter()
                    .filter(|r| r.answer_id == a.id)
                    .map(|r| KeptReceipt {
                        revision: r.revision,
                        received_at: r.received_at,
                        sha256: r.digest.clone(),
                    })
                    .collect(),
                outcome,
            })
        })
        .collect::<ApiResult<_>>()?;
    Ok(OwnAnswers {
        consultation_id: id,
        status: from_db(&row.status)?,
        items,
    })
}

/// A canteen's purchases of a year per family against the thresholds.
pub async fn thresholds(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    canteen: Uuid,
    year: Option<i32>,
) -> ApiResult<PurchaseThresholds> {
    if year.is_some_and(|y| !(2000..=2100).contains(&y)) {
        return Err(ApiError::invalid_parameter("year", "must be 2000 to 2100"));
    }
    let place = queries::places(conn, &[canteen])
        .await?
        .pop()
        .filter(|p| p.kind == "canteen")
        .ok_or_else(|| ApiError::not_found("no canteen with this id"))?;
    let is_member = contracts::member_of_any(conn, user.id, &[canteen]).await?;
    let is_authority = !is_member
        && match &place.epci {
            Some(epci) => {
                contracts::speaks_for_any(conn, user.id, std::slice::from_ref(epci)).await?
            }
            None => false,
        };
    policy::canteen_figures_reader(user, is_member, is_authority)?;
    let year = match year {
        Some(y) => y,
        None => crate::clock::today_in_paris(conn).await?.year(),
    };
    let families = queries::year_purchases(conn, canteen, year)
        .await?
        .into_iter()
        .map(|t| {
            let total = t.orders_ht_cents + t.contracts_ht_cents;
            Ok(FamilyPurchases {
                family: from_db(&t.family)?,
                orders_ht_cents: t.orders_ht_cents,
                contracts_ht_cents: t.contracts_ht_cents,
                total_ht_cents: total,
                reached_ht_cents: rules::THRESHOLDS_CENTS
                    .iter()
                    .copied()
                    .filter(|th| total >= *th)
                    .collect(),
                next_threshold_ht_cents: rules::THRESHOLDS_CENTS
                    .iter()
                    .copied()
                    .find(|th| total < *th),
            })
        })
        .collect::<ApiResult<_>>()?;
    Ok(PurchaseThresholds {
        canteen_id: canteen,
        year,
        thresholds_ht_cents: rules::THRESHOLDS_CENTS.to_vec(),
        families,
    })
}
