//! Contracts: reading them as their parties do, direct contracts proposed
//! and decided, and the expiry of contracts past their last day. Thin
//! handlers call here; SQL is in `queries`, the state machine in
//! `lifecycle`, prices in `pricing`.

use chrono::Months;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::dto::*;
use super::lifecycle::{self, Action, Side};
use super::pricing;
use super::queries::{self, ContractRow, LineRow, NewContract};
use crate::accounts::access;
use crate::auth::extract::AuthUser;
use crate::auth::policy::{self, OrgAction};
use crate::codes::{
    ContractStatus, FeedEventType, Label, OrganisationKind, OrganisationStatus, from_db,
};
use crate::consultations::dto::OrganisationRefOpt;
use crate::error::{ApiError, ApiResult, FieldError, check_text};
use crate::orders::dto::OrganisationRef;
use crate::orders::feed_data::ContractChanged;

/// A direct contract runs at most this long (as a framework agreement).
const MAX_YEARS: u32 = 4;
pub const MAX_LINES: usize = 100;

fn not_found() -> ApiError {
    ApiError::not_found("no contract with this id")
}

fn line_view(l: LineRow) -> ApiResult<ContractLine> {
    Ok(ContractLine {
        line_no: l.line_no,
        offer_id: l.offer_id,
        description: l.description,
        family: from_db(&l.family)?,
        labels: l
            .labels
            .iter()
            .map(|x| from_db::<Label>(x))
            .collect::<ApiResult<_>>()?,
        origin: from_db(&l.origin)?,
        producer: OrganisationRefOpt {
            id: l.producer_id,
            name: l.producer_name,
        },
        unit: from_db(&l.unit)?,
        unit_price_cents: l.unit_price_cents,
        vat_rate: l.vat_rate.normalize(),
        tiers: l
            .tier_min_quantities
            .into_iter()
            .zip(l.tier_prices_cents)
            .map(|(min_quantity, unit_price_cents)| Tier {
                min_quantity: min_quantity.normalize(),
                unit_price_cents,
            })
            .collect(),
    })
}

fn view(row: ContractRow, lines: Vec<LineRow>) -> ApiResult<Contract> {
    Ok(Contract {
        id: row.id,
        number: row.number,
        consultation_id: row.consultation_id,
        lot_number: row.lot_number,
        buyer: OrganisationRef {
            id: row.buyer_id,
            name: row.buyer_name,
        },
        supplier: OrganisationRef {
            id: row.supplier_id,
            name: row.supplier_name,
        },
        canteens: row
            .canteen_ids
            .into_iter()
            .zip(row.canteen_names)
            .map(|(id, name)| OrganisationRef { id, name })
            .collect(),
        family: from_db(&row.family)?,
        description: row.description,
        unit: from_db(&row.unit)?,
        unit_price_cents: row.unit_price_cents,
        vat_rate: row.vat_rate.normalize(),
        quantity: row.quantity.map(|q| q.normalize()),
        max_amount_ht_cents: row.max_amount_ht_cents,
        amount_ht_cents: row.amount_ht_cents,
        valid_from: row.valid_from,
        valid_until: row.valid_until,
        status: from_db(&row.status)?,
        created_at: row.created_at,
        buyer_reference: row.buyer_reference,
        proposed_by: row.proposed_by,
        accepted_at: row.accepted_at,
        ended_at: row.ended_at,
        termination_reason: row.termination_reason,
        payment_days: row.payment_days,
        lines: lines.into_iter().map(line_view).collect::<ApiResult<_>>()?,
        consumed_ht_cents: row.consumed_ht_cents,
    })
}

/// Contracts with their lines, in the rows' order.
pub async fn views(
    conn: &mut AsyncPgConnection,
    rows: Vec<ContractRow>,
) -> ApiResult<Vec<Contract>> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let mut lines = queries::lines_of(conn, &ids).await?;
    rows.into_iter()
        .map(|row| {
            let (mine, rest): (Vec<LineRow>, Vec<LineRow>) =
                lines.drain(..).partition(|l| l.contract_id == row.id);
            lines = rest;
            view(row, mine)
        })
        .collect()
}

/// A contract, for its parties (buyer, supplier, delivered canteens), the
/// authority of their territory, and administrators; 404 to anyone else.
pub async fn read(conn: &mut AsyncPgConnection, user: &AuthUser, id: Uuid) -> ApiResult<Contract> {
    let row = queries::find(conn, id).await?.ok_or_else(not_found)?;
    let mut parties = vec![row.buyer_id, row.supplier_id];
    parties.extend(row.canteen_ids.iter().copied());
    let is_party = queries::member_of_any(conn, user.id, &parties).await?;
    let is_authority = !is_party && {
        let epcis = queries::epcis(conn, row.id).await?;
        queries::speaks_for_any(conn, user.id, &epcis).await?
    };
    policy::contract_reader(user, is_party, is_authority)?;
    let mut all = views(conn, vec![row]).await?;
    all.pop().ok_or_else(not_found)
}

/// Checks a proposal's own fields (not the parties): every error at once.
fn check_request(body: &ContractRequest, today: chrono::NaiveDate) -> Vec<FieldError> {
    let mut errors = Vec::new();
    check_text(&mut errors, "description", &body.description, 300);
    if let Some(reference) = &body.buyer_reference {
        check_text(&mut errors, "buyer_reference", reference, 50);
    }
    if body.valid_until < body.valid_from {
        errors.push(FieldError::new("valid_until", "is before valid_from"));
    } else if body
        .valid_from
        .checked_add_months(Months::new(12 * MAX_YEARS))
        .is_none_or(|end| body.valid_until > end)
    {
        errors.push(FieldError::new(
            "valid_until",
            format!("a contract runs at most {MAX_YEARS} years (as a framework agreement)"),
        ));
    }
    if body.valid_until < today {
        errors.push(FieldError::new("valid_until", "is in the past"));
    }
    if body.payment_days.is_some_and(|d| !(0..=30).contains(&d)) {
        errors.push(FieldError::new("payment_days", "0 to 30"));
    }
    if body
        .max_amount_ht_cents
        .is_some_and(|m| m <= 0 || m > 100_000_000_000)
    {
        errors.push(FieldError::new(
            "max_amount_ht_cents",
            "above 0 and at most 100000000000",
        ));
    }
    if body.lines.is_empty() || body.lines.len() > MAX_LINES {
        errors.push(FieldError::new(
            "lines",
            format!("a contract has 1 to {MAX_LINES} lines"),
        ));
    }
    if body.canteen_ids.len() > 200 {
        errors.push(FieldError::new("canteen_ids", "at most 200 canteens"));
    }
    for (i, line) in body.lines.iter().enumerate() {
        let at = |f: &str| format!("lines[{i}].{f}");
        if !(0..=100_000_000).contains(&line.unit_price_cents) {
            errors.push(FieldError::new(at("unit_price_cents"), "0 to 100000000"));
        }
        crate::catalog::validate::vat(&mut errors, at("vat_rate"), line.vat_rate);
        let tiers: Vec<(Decimal, i64)> = line
            .tiers
            .iter()
            .map(|t| (t.min_quantity, t.unit_price_cents))
            .collect();
        if let Some(problem) = pricing::check_tiers(&tiers) {
            errors.push(FieldError::new(at("tiers"), problem));
        } else if tiers.iter().any(|(_, p)| *p > 100_000_000) {
            errors.push(FieldError::new(at("tiers"), "prices at most 100000000"));
        }
        match line.offer_id {
            Some(_) => {
                if line.description.is_some()
                    || line.family.is_some()
                    || line.unit.is_some()
                    || line.origin.is_some()
                {
                    errors.push(FieldError::new(
                        at("offer_id"),
                        "an offer's line takes its description, family, unit and origin from \
                         the offer: leave them out",
                    ));
                }
            }
            None => {
                match &line.description {
                    Some(d) => check_text(&mut errors, &at("description"), d, 300),
                    None => errors.push(FieldError::new(
                        at("description"),
                        "required for a described product (or give an offer_id)",
                    )),
                }
                for (field, missing) in [
                    ("family", line.family.is_none()),
                    ("unit", line.unit.is_none()),
                    ("origin", line.origin.is_none()),
                ] {
                    if missing {
                        errors.push(FieldError::new(
                            at(field),
                            "required for a described product (or give an offer_id)",
                        ));
                    }
                }
            }
        }
    }
    let mut offers: Vec<Uuid> = body.lines.iter().filter_map(|l| l.offer_id).collect();
    offers.sort_unstable();
    if offers.windows(2).any(|w| w[0] == w[1]) {
        errors.push(FieldError::new("lines", "an offer appears in two lines"));
    }
    errors
}

/// Proposes a direct contract, as a member of its buyer or of its supplier;
/// the other party accepts or declines it.
pub async fn propose(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    body: ContractRequest,
) -> ApiResult<Contract> {
    let buyer = access(conn, body.buyer_id, Some(user)).await;
    let supplier = access(conn, body.supplier_id, Some(user)).await;
    let (buyer, supplier) = match (buyer, supplier) {
        (Ok(b), Ok(s)) => (b, s),
        (Err(_), _) => {
            return Err(ApiError::validation(
                "buyer_id",
                "no organisation with this id",
            ));
        }
        (_, Err(_)) => {
            return Err(ApiError::validation(
                "supplier_id",
                "no organisation with this id",
            ));
        }
    };
    // The proposer acts for the side it is a member of.
    let proposer = if supplier.role.is_some() {
        policy::authorize(user, &supplier, OrgAction::ManageOffers)?;
        body.supplier_id
    } else if buyer.role.is_some() {
        policy::authorize(user, &buyer, OrgAction::RunConsultations)?;
        body.buyer_id
    } else {
        return Err(ApiError::Forbidden(
            "only a member of the buyer or of the supplier proposes their contract".into(),
        ));
    };
    let today = crate::clock::today_in_paris(conn).await?;
    let mut errors = check_request(&body, today);
    if !matches!(
        buyer.kind,
        OrganisationKind::Canteen | OrganisationKind::Authority
    ) || buyer.status != OrganisationStatus::Verified
    {
        errors.push(FieldError::new(
            "buyer_id",
            "is not a verified canteen or authority",
        ));
    }
    if !matches!(
        supplier.kind,
        OrganisationKind::Farm | OrganisationKind::Distributor
    ) || supplier.status != OrganisationStatus::Verified
    {
        errors.push(FieldError::new(
            "supplier_id",
            "is not a verified farm or distributor",
        ));
    }
    let canteens = if buyer.kind == OrganisationKind::Authority {
        let epci = crate::egalim::queries::authority_epci(conn, body.buyer_id).await?;
        let found = match &epci {
            Some(epci) => queries::canteens_of_epci(conn, &body.canteen_ids, epci).await?,
            None => Vec::new(),
        };
        if body.canteen_ids.is_empty() {
            errors.push(FieldError::new(
                "canteen_ids",
                "an authority's contract names the canteens it delivers",
            ));
        }
        for (i, c) in body.canteen_ids.iter().enumerate() {
            if !found.contains(c) {
                errors.push(FieldError::new(
                    format!("canteen_ids[{i}]"),
                    "is not a verified canteen of the authority's territory",
                ));
            }
        }
        let mut ids = body.canteen_ids.clone();
        ids.sort_unstable();
        ids.dedup();
        ids
    } else {
        if body.canteen_ids.iter().any(|c| *c != body.buyer_id) {
            errors.push(FieldError::new(
                "canteen_ids",
                "a canteen's contract delivers the canteen itself",
            ));
        }
        vec![body.buyer_id]
    };
    let offer_ids: Vec<Uuid> = body.lines.iter().filter_map(|l| l.offer_id).collect();
    let offers = crate::catalog::queries::load(conn, &offer_ids).await?;
    let (supplier_name, supplier_commune) =
        queries::name_and_commune(conn, body.supplier_id).await?;
    let mut lines = Vec::with_capacity(body.lines.len());
    for (i, (n, l)) in (0i16..).zip(&body.lines).enumerate() {
        let (tier_min_quantities, tier_prices_cents) = l
            .tiers
            .iter()
            .map(|t| (t.min_quantity, t.unit_price_cents))
            .unzip();
        let line = match l.offer_id {
            Some(offer_id) => {
                let Some(o) = offers
                    .iter()
                    .find(|o| o.row.id == offer_id && o.row.supplier_id == body.supplier_id)
                else {
                    errors.push(FieldError::new(
                        format!("lines[{i}].offer_id"),
                        "no offer of the supplier with this id",
                    ));
                    continue;
                };
                LineRow {
                    contract_id: Uuid::nil(),
                    line_no: n,
                    offer_id: Some(offer_id),
                    description: o.row.name.clone(),
                    family: o.row.family.clone(),
                    labels: o.row.labels.clone(),
                    origin: o.row.origin.clone(),
                    producer_id: o.row.producer_id,
                    producer_name: o.row.producer_name.clone(),
                    producer_commune_insee: o.row.producer_commune_insee.clone(),
                    producer_commune: o.commune.clone(),
                    unit: o.row.unit.clone(),
                    unit_price_cents: l.unit_price_cents,
                    vat_rate: l.vat_rate,
                    tier_min_quantities,
                    tier_prices_cents,
                }
            }
            None => LineRow {
                contract_id: Uuid::nil(),
                line_no: n,
                offer_id: None,
                description: l.description.as_deref().unwrap_or("").trim().to_owned(),
                family: l.family.map(|f| f.as_str().to_owned()).unwrap_or_default(),
                labels: Vec::new(),
                origin: l.origin.map(|o| o.as_str().to_owned()).unwrap_or_default(),
                producer_id: Some(body.supplier_id),
                producer_name: supplier_name.clone(),
                producer_commune_insee: supplier_commune.clone(),
                producer_commune: String::new(),
                unit: l.unit.map(|u| u.as_str().to_owned()).unwrap_or_default(),
                unit_price_cents: l.unit_price_cents,
                vat_rate: l.vat_rate,
                tier_min_quantities,
                tier_prices_cents,
            },
        };
        lines.push(line);
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let reference = body.buyer_reference.as_deref().map(str::trim);
    let id = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let id = queries::insert_direct(
                conn,
                &NewContract {
                    buyer_id: body.buyer_id,
                    supplier_id: body.supplier_id,
                    proposed_by: proposer,
                    canteens: &canteens,
                    buyer_reference: reference,
                    description: body.description.trim(),
                    valid_from: body.valid_from,
                    valid_until: body.valid_until,
                    max_amount_ht_cents: body.max_amount_ht_cents,
                    payment_days: body.payment_days,
                    lines: &lines,
                },
            )
            .await?;
            tell(
                conn,
                id,
                body.buyer_id,
                body.supplier_id,
                ContractStatus::Proposed,
                None,
            )
            .await?;
            Ok(id)
        })
        .await?;
    read(conn, user, id).await
}

/// Tells both parties, through their feeds, that a contract changed status.
/// Never its prices: the feed says which contract, and what happened.
async fn tell(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    buyer: Uuid,
    supplier: Uuid,
    status: ContractStatus,
    reason: Option<&str>,
) -> ApiResult<()> {
    let event = match status {
        ContractStatus::Proposed => FeedEventType::ContractProposed,
        ContractStatus::Active => FeedEventType::ContractActive,
        ContractStatus::Declined => FeedEventType::ContractDeclined,
        ContractStatus::Expired => FeedEventType::ContractExpired,
        ContractStatus::Terminated => FeedEventType::ContractTerminated,
    };
    let data = ContractChanged {
        contract_id: id,
        status,
        reason: reason.map(str::to_owned),
    };
    crate::orders::feed::publish_to(conn, &[buyer, supplier], event, id, &data).await?;
    Ok(())
}

/// Accepts, declines or terminates a contract, as one of its parties.
pub async fn decide(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    id: Uuid,
    action: Action,
    reason: Option<String>,
    buyer_reference: Option<String>,
) -> ApiResult<Contract> {
    let mut errors = Vec::new();
    if action.needs_reason() {
        check_text(&mut errors, "reason", reason.as_deref().unwrap_or(""), 2000);
    }
    if let Some(r) = &buyer_reference {
        check_text(&mut errors, "buyer_reference", r, 50);
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    conn.transaction::<_, ApiError, _>(async |conn| {
        let locked = queries::lock(conn, id).await?.ok_or_else(not_found)?;
        let side = if queries::member_of_any(conn, user.id, &[locked.buyer_id]).await? {
            Side::Buyer
        } else if queries::member_of_any(conn, user.id, &[locked.supplier_id]).await? {
            Side::Supplier
        } else {
            // Authorities and administrators read contracts; parties decide.
            return Err(match read(conn, user, id).await {
                Ok(_) => ApiError::Forbidden("only the contract's parties decide on it".into()),
                Err(e) => e,
            });
        };
        let org = access(
            conn,
            match side {
                Side::Buyer => locked.buyer_id,
                Side::Supplier => locked.supplier_id,
            },
            Some(user),
        )
        .await?;
        policy::authorize(user, &org, OrgAction::HandleOrders)?;
        let status: ContractStatus = from_db(&locked.status)?;
        let proposer = locked.proposed_by.map(|p| {
            if p == locked.buyer_id {
                Side::Buyer
            } else {
                Side::Supplier
            }
        });
        if !lifecycle::permits(action, status, side, proposer) {
            return Err(ApiError::Conflict(format!(
                "cannot {} a contract that is {status}{}",
                action.name(),
                if status == ContractStatus::Proposed {
                    " by its own side: the other party accepts or declines it"
                } else {
                    ""
                }
            )));
        }
        if buyer_reference.is_some() && side != Side::Buyer {
            return Err(ApiError::validation(
                "buyer_reference",
                "only the buyer gives its engagement number",
            ));
        }
        let target = action.target();
        let reason = reason.as_deref().map(str::trim);
        queries::set_status(conn, id, target.as_str(), reason).await?;
        if let Some(r) = &buyer_reference {
            queries::set_buyer_reference(conn, id, r.trim()).await?;
        }
        tell(
            conn,
            id,
            locked.buyer_id,
            locked.supplier_id,
            target,
            reason,
        )
        .await?;
        Ok(())
    })
    .await?;
    read(conn, user, id).await
}

/// Records the expiry of contracts past their last day and tells their
/// parties (idempotent: any number of instances may run it).
pub async fn expire_due(conn: &mut AsyncPgConnection) -> ApiResult<usize> {
    conn.transaction::<_, ApiError, _>(async |conn| {
        let expired = queries::expire_due(conn).await?;
        for (id, buyer, supplier) in &expired {
            tell(conn, *id, *buyer, *supplier, ContractStatus::Expired, None).await?;
        }
        Ok(expired.len())
    })
    .await
}
