//! Invoicing: profiles, billing mandates, issuing invoices and credit notes,
//! payments and the overdue job. Handlers call these; rules decide.

use std::collections::{BTreeSet, HashMap};

use chrono::{Days, NaiveDate};
use diesel_async::AsyncConnection;
use diesel_async::AsyncPgConnection;
use rust_decimal::Decimal;
use uuid::Uuid;

use super::dto::*;
use super::queries::{self, InvoiceRow, LineRow, MandateRow, ProfileRow};
use super::rules::{self, Series};
use crate::accounts::access;
use crate::auth::extract::AuthUser;
use crate::auth::policy::{self, OrgAction};
use crate::clock::today_in_paris;
use crate::codes::{
    ChorusRequirement, FeedEventType, MandateScope, OrganisationKind, PaymentStatus, from_db,
};
use crate::error::{ApiError, ApiResult, FieldError, check_text};
use crate::orders::feed_data::InvoiceChanged;
use crate::orders::money::{euros, line_cents, totals};

const MAX_ORDERS: usize = 200;

fn default_profile(org: Uuid) -> ProfileRow {
    ProfileRow {
        organisation_id: org,
        vat_number: None,
        iban: None,
        payment_days: 30,
        billing_siret: None,
        service_code: None,
        chorus_requires: ChorusRequirement::Nothing.as_str().to_owned(),
    }
}

fn profile_view(row: ProfileRow) -> ApiResult<InvoicingProfile> {
    Ok(InvoicingProfile {
        vat_number: row.vat_number,
        iban: row.iban,
        payment_days: row.payment_days,
        billing_siret: row.billing_siret,
        service_code: row.service_code,
        chorus_requires: from_db(&row.chorus_requires)?,
    })
}

/// An organisation's invoicing profile (its members, administrators).
pub async fn read_profile(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    org: Uuid,
) -> ApiResult<InvoicingProfile> {
    let access = access(conn, org, Some(user)).await?;
    policy::authorize(user, &access, OrgAction::ReadPrivate)?;
    let row = queries::profile(conn, org).await?;
    profile_view(row.unwrap_or_else(|| default_profile(org)))
}

/// Sets the profile (owners): every field checked at once.
pub async fn save_profile(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    org: Uuid,
    body: InvoicingProfile,
) -> ApiResult<InvoicingProfile> {
    let access = access(conn, org, Some(user)).await?;
    policy::authorize(user, &access, OrgAction::Update)?;
    let siren = crate::accounts::queries::load(conn, &[org])
        .await?
        .pop()
        .map(|o| o.siren)
        .ok_or_else(|| ApiError::not_found("no organisation with this id"))?;
    let mut errors = Vec::new();
    let trimmed = |v: &Option<String>| v.as_deref().map(str::trim).map(str::to_owned);
    let vat_number = trimmed(&body.vat_number).map(|v| v.replace(' ', "").to_uppercase());
    if let Some(vat) = &vat_number
        && rules::vat_number_of(&siren).as_deref() != Some(vat.as_str())
    {
        errors.push(FieldError::new(
            "vat_number",
            format!(
                "is not the VAT number of SIREN {siren} (FR, a two-digit key, the SIREN: {})",
                rules::vat_number_of(&siren).unwrap_or_default()
            ),
        ));
    }
    let iban = trimmed(&body.iban).map(|v| v.replace(' ', "").to_uppercase());
    if iban.as_deref().is_some_and(|i| !rules::iban_is_valid(i)) {
        errors.push(FieldError::new(
            "iban",
            "is not a valid IBAN (country, check digits, account; the check digits must match)",
        ));
    }
    if !(0..=30).contains(&body.payment_days) {
        errors.push(FieldError::new(
            "payment_days",
            "must be 0 to 30: perishable food is paid at most 30 days after delivery (C. com. L441-11)",
        ));
    }
    let billing_siret = trimmed(&body.billing_siret);
    if let Some(problem) = billing_siret.as_deref().and_then(crate::ids::siret_problem) {
        errors.push(FieldError::new("billing_siret", problem));
    }
    let service_code = trimmed(&body.service_code);
    if let Some(code) = &service_code {
        check_text(&mut errors, "service_code", code, 100);
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let row = ProfileRow {
        organisation_id: org,
        vat_number,
        iban,
        payment_days: body.payment_days,
        billing_siret,
        service_code,
        chorus_requires: body.chorus_requires.as_str().to_owned(),
    };
    queries::save_profile(conn, &row).await?;
    profile_view(row)
}

fn mandate_view(row: MandateRow) -> ApiResult<BillingMandate> {
    Ok(BillingMandate {
        id: row.id,
        supplier_id: row.supplier_id,
        scope: from_db(&row.scope)?,
        starts_on: row.starts_on,
        accepted_by: row.accepted_by,
        accepted_at: row.accepted_at,
        revoked_at: row.revoked_at,
    })
}

fn no_mandate() -> ApiError {
    ApiError::not_found("this supplier has no billing mandate in force")
}

/// The supplier's mandates, the one in force first (its members, administrators).
pub async fn mandates(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    supplier: Uuid,
) -> ApiResult<BillingMandates> {
    let access = access(conn, supplier, Some(user)).await?;
    policy::authorize(user, &access, OrgAction::ReadPrivate)?;
    let items = queries::mandates(conn, supplier)
        .await?
        .into_iter()
        .map(mandate_view)
        .collect::<ApiResult<_>>()?;
    Ok(BillingMandates { items })
}

/// Gives the platform a billing mandate: the owner's acceptance is recorded.
pub async fn grant_mandate(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    supplier: Uuid,
    body: MandateRequest,
) -> ApiResult<BillingMandate> {
    let access = access(conn, supplier, Some(user)).await?;
    policy::authorize(user, &access, OrgAction::GrantBillingMandate)?;
    let today = today_in_paris(conn).await?;
    if body.starts_on < today || body.starts_on > today + Days::new(366) {
        return Err(ApiError::validation(
            "starts_on",
            "must be from today to a year ahead: a mandate is given before the invoices it covers",
        ));
    }
    let row = MandateRow {
        id: Uuid::now_v7(),
        supplier_id: supplier,
        scope: body.scope.as_str().to_owned(),
        starts_on: body.starts_on,
        accepted_by: user.id,
        accepted_at: chrono::Utc::now(),
        revoked_at: None,
    };
    if !queries::insert_mandate(conn, &row).await? {
        return Err(ApiError::Conflict(
            "a billing mandate is already in force: revoke it first".into(),
        ));
    }
    mandate_view(row)
}

pub async fn revoke_mandate(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    supplier: Uuid,
) -> ApiResult<BillingMandate> {
    let access = access(conn, supplier, Some(user)).await?;
    policy::authorize(user, &access, OrgAction::GrantBillingMandate)?;
    let row = queries::revoke_mandate(conn, supplier, user.id)
        .await?
        .ok_or_else(no_mandate)?;
    mandate_view(row)
}

/// Who issues for a supplier: its members, or an administrator under a
/// mandate in force whose scope covers `series`; the mandate, if one is used.
async fn issuer(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    supplier: Uuid,
    series: Series,
    today: NaiveDate,
) -> ApiResult<Option<Uuid>> {
    let access = access(conn, supplier, Some(user)).await?;
    policy::authorize(user, &access, OrgAction::Invoice)?;
    if access.role.is_some() {
        return Ok(None);
    }
    let mandate = queries::mandate(conn, supplier).await?;
    let covers = |m: &MandateRow| {
        m.starts_on <= today
            && (series == Series::Invoice
                || m.scope == MandateScope::InvoicesAndCreditNotes.as_str())
    };
    match mandate {
        Some(m) if covers(&m) => Ok(Some(m.id)),
        _ => Err(ApiError::Forbidden(
            "the platform issues in a supplier's name only under its billing mandate in force, \
             whose scope covers this document"
                .into(),
        )),
    }
}

fn party(org: &crate::accounts::queries::Loaded, siret: Option<&str>) -> Party {
    let (line, postcode) = rules::split_address(&org.row.address);
    let siret = siret.unwrap_or(&org.row.siret).to_owned();
    Party {
        name: org.row.name.clone(),
        siren: siret[..9.min(siret.len())].to_owned(),
        siret,
        vat_number: None,
        address: PostalAddress {
            line,
            postcode,
            city: org.commune_name.clone(),
            country: "FR".into(),
        },
        iban: None,
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> ApiResult<serde_json::Value> {
    serde_json::to_value(value).map_err(|e| ApiError::Internal(e.into()))
}

fn from_json<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> ApiResult<T> {
    serde_json::from_value(value).map_err(|e| ApiError::Internal(e.into()))
}

/// The orders a request names, checked: every mistake at once.
fn check_issue(body: &IssueRequest) -> Vec<FieldError> {
    let mut errors = Vec::new();
    match (&body.orders, &body.statement) {
        (Some(_), Some(_)) | (None, None) => errors.push(FieldError::new(
            "orders",
            "give either `orders` or `statement`, not both",
        )),
        (Some(orders), None) => {
            let distinct: BTreeSet<_> = orders.iter().collect();
            if orders.is_empty() || orders.len() > MAX_ORDERS {
                errors.push(FieldError::new(
                    "orders",
                    format!("name 1 to {MAX_ORDERS} orders"),
                ));
            } else if distinct.len() != orders.len() {
                errors.push(FieldError::new("orders", "names an order twice"));
            }
        }
        (None, Some(s)) => {
            if s.to < s.from {
                errors.push(FieldError::new("statement.to", "is before statement.from"));
            } else if (s.to - s.from).num_days() > 92 {
                errors.push(FieldError::new(
                    "statement.to",
                    "a statement covers at most 93 days",
                ));
            }
        }
    }
    if let Some(number) = &body.engagement_number {
        check_text(&mut errors, "engagement_number", number, 50);
    }
    errors
}

/// Issues one invoice for received orders of one buyer (docs/invoices.md).
pub async fn issue(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    supplier: Uuid,
    body: IssueRequest,
) -> ApiResult<Invoice> {
    let today = today_in_paris(conn).await?;
    let id = issue_on(conn, user, supplier, body, today).await?;
    read(conn, user, id).await
}

/// [`issue`] on `today`, returning the invoice's id: the demonstration
/// replays past months with it, in the order of their dates (numbers stay
/// chronological).
pub(crate) async fn issue_on(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    supplier: Uuid,
    body: IssueRequest,
    today: NaiveDate,
) -> ApiResult<Uuid> {
    let mandate_id = issuer(conn, user, supplier, Series::Invoice, today).await?;
    let errors = check_issue(&body);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    conn.transaction::<_, ApiError, _>(async |conn| {
        let row = prepare(conn, user, supplier, &body, mandate_id, today).await?;
        let id = row.0.id;
        queries::insert(conn, &row.0, &row.1, &row.2).await?;
        tell(conn, &row.0, FeedEventType::InvoiceIssued).await?;
        Ok(id)
    })
    .await
}

/// Tells both parties, through their feeds, that a document was issued or
/// changed status; never its amounts.
async fn tell(
    conn: &mut AsyncPgConnection,
    invoice: &InvoiceRow,
    event: FeedEventType,
) -> ApiResult<()> {
    let data = InvoiceChanged {
        invoice_id: invoice.id,
        number: invoice.number.clone(),
        type_code: Some(invoice.type_code),
    };
    crate::orders::feed::publish_to(
        conn,
        &[invoice.supplier_id, invoice.buyer_id],
        event,
        invoice.id,
        &data,
    )
    .await?;
    Ok(())
}

/// Everything an invoice is made of, inside the issuing transaction: the
/// orders locked and checked, the parties as they are now, the number.
async fn prepare(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    supplier: Uuid,
    body: &IssueRequest,
    mandate_id: Option<Uuid>,
    today: NaiveDate,
) -> ApiResult<(InvoiceRow, Vec<LineRow>, Vec<Uuid>)> {
    use crate::orders::queries as orders;
    let (ids, field) = match (&body.orders, &body.statement) {
        (Some(ids), _) => (ids.clone(), "orders"),
        (None, Some(s)) => {
            let ids = orders::received_between(conn, supplier, s.buyer_id, s.from, s.to).await?;
            let claimed: BTreeSet<Uuid> = queries::invoiced(conn, &ids)
                .await?
                .into_iter()
                .map(|(order, _)| order)
                .collect();
            let left: Vec<Uuid> = ids.into_iter().filter(|i| !claimed.contains(i)).collect();
            if left.is_empty() {
                return Err(ApiError::validation(
                    "statement",
                    "no received order of this buyer left to invoice in this period",
                ));
            }
            (left, "statement")
        }
        (None, None) => unreachable!("checked by check_issue"),
    };
    let locked = orders::lock_orders(conn, &ids).await?;
    let mut errors = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let at = if field == "orders" {
            format!("orders[{i}]")
        } else {
            "statement".to_owned()
        };
        match locked.iter().find(|o| o.id == *id) {
            Some(o) if o.supplier_id == supplier => {
                if !matches!(o.status.as_str(), "received" | "disputed") {
                    errors.push(FieldError::new(
                        at,
                        format!(
                            "order {id} is {}: only received or disputed orders are invoiced",
                            o.status
                        ),
                    ));
                } else if o.buyer_id != locked[0].buyer_id {
                    errors.push(FieldError::new(at, "all orders must have the same buyer"));
                }
            }
            _ => errors.push(FieldError::new(
                at,
                format!("no order {id} of this supplier"),
            )),
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    if let Some((order, number)) = queries::invoiced(conn, &ids).await?.into_iter().next() {
        return Err(ApiError::Conflict(format!(
            "order {order} is already invoiced by {number}: correct it with a credit note"
        )));
    }
    let buyer_id = locked[0].buyer_id;
    let order_lines = orders::lines_of(conn, &ids).await?;
    let mut lines = Vec::new();
    for line in &order_lines {
        let quantity = line.quantity_delivered.unwrap_or(line.quantity_ordered);
        if quantity <= Decimal::ZERO {
            continue; // nothing delivered, nothing sold
        }
        let net_cents = line_cents(quantity, line.unit_price_cents)
            .ok_or_else(|| ApiError::validation(field, "an amount is too large"))?;
        lines.push(LineRow {
            invoice_id: Uuid::nil(),
            line_no: lines.len() as i16 + 1,
            order_id: line.order_id,
            order_line_no: line.line_no,
            corrects_line_no: None,
            description: line.product_name.clone(),
            labels: line.labels.clone(),
            origin: line.origin.clone(),
            unit: line.unit.clone(),
            quantity: quantity.normalize(),
            unit_price_cents: line.unit_price_cents,
            vat_rate: line.vat_rate.normalize(),
            net_cents,
        });
    }
    if lines.is_empty() {
        return Err(ApiError::validation(
            field,
            "nothing was delivered: there is nothing to invoice",
        ));
    }
    if lines.len() > i16::MAX as usize {
        return Err(ApiError::validation(
            field,
            "too many lines for one invoice",
        ));
    }

    // The parties as they are today; the invoice keeps this copy.
    let sites: BTreeSet<Uuid> = locked.iter().map(|o| o.delivery_site_id).collect();
    let mut wanted = vec![supplier, buyer_id];
    wanted.extend(sites.iter().copied());
    let loaded = crate::accounts::queries::load(conn, &wanted).await?;
    let find = |id: Uuid| loaded.iter().find(|o| o.row.id == id);
    let (Some(seller_org), Some(buyer_org)) = (find(supplier), find(buyer_id)) else {
        return Err(ApiError::not_found("no organisation with this id"));
    };
    let seller_profile = queries::profile(conn, supplier)
        .await?
        .unwrap_or_else(|| default_profile(supplier));
    let buyer_profile = queries::profile(conn, buyer_id)
        .await?
        .unwrap_or_else(|| default_profile(buyer_id));
    let mut missing = Vec::new();
    for (field, present) in [
        ("vat_number", seller_profile.vat_number.is_some()),
        ("iban", seller_profile.iban.is_some()),
    ] {
        if !present {
            missing.push(FieldError::new(
                field,
                format!(
                    "the supplier's invoicing profile has no {field}: \
                     set it with PUT /api/v1/organisations/{supplier}/invoicing-profile"
                ),
            ));
        }
    }
    let mut seller = party(seller_org, None);
    seller.vat_number = seller_profile.vat_number.clone();
    seller.iban = seller_profile.iban.clone();
    let buyer = party(buyer_org, buyer_profile.billing_siret.as_deref());
    let ship_to = match sites.iter().next().and_then(|s| find(*s)) {
        Some(site) if sites.len() == 1 && site.row.id != buyer_id => {
            let site = party(site, None);
            Some(ShipTo {
                name: site.name,
                address: site.address,
            })
        }
        _ => None,
    };

    // BT-12 and the default BT-13: the one contract the lines were bought
    // under. Every contract's payment terms bind, the shortest first.
    let contract_ids: BTreeSet<Uuid> = order_lines.iter().filter_map(|l| l.contract_id).collect();
    let mut contracts = Vec::with_capacity(contract_ids.len());
    for id in &contract_ids {
        contracts.extend(crate::contracts::queries::find(conn, *id).await?);
    }
    let payment_days = contracts
        .iter()
        .filter_map(|c| c.payment_days)
        .fold(seller_profile.payment_days, i16::min);
    let contract = (contracts.len() == 1).then(|| contracts.remove(0));
    let engagement_number = body
        .engagement_number
        .as_deref()
        .map(str::trim)
        .map(str::to_owned)
        .or_else(|| contract.as_ref().and_then(|c| c.buyer_reference.clone()));
    let chorus: ChorusRequirement = from_db(&buyer_profile.chorus_requires)?;
    missing.extend(rules::chorus_missing(
        chorus,
        buyer_profile.service_code.as_deref(),
        engagement_number.as_deref(),
    ));
    if !missing.is_empty() {
        return Err(ApiError::Validation(missing));
    }

    let public_buyer = buyer_org.row.kind == OrganisationKind::Authority.as_str()
        || buyer_org
            .canteen
            .as_ref()
            .is_some_and(|c| c.economic_model == "public");
    let first = locked
        .iter()
        .map(|o| o.delivery_date)
        .min()
        .unwrap_or(today);
    let last = locked
        .iter()
        .map(|o| o.delivery_date)
        .max()
        .unwrap_or(today);
    let period = match &body.statement {
        Some(s) => Some((s.from, s.to)),
        None if first != last => Some((first, last)),
        None => None,
    };
    let days = u16::try_from(payment_days).unwrap_or(30);
    let (n, issue_date) = queries::allocate_number(conn, supplier, Series::Invoice, today).await?;
    let due = rules::due_date(last, period.is_some(), days).max(issue_date);
    let t = totals(lines.iter().map(|l| (l.vat_rate, l.net_cents)));
    let id = Uuid::now_v7();
    for line in &mut lines {
        line.invoice_id = id;
    }
    let row = InvoiceRow {
        id,
        supplier_id: supplier,
        buyer_id,
        number: rules::number(Series::Invoice, chrono::Datelike::year(&issue_date), n),
        type_code: Series::Invoice.type_code(),
        corrects: None,
        issue_date,
        delivery_date: last,
        period_start: period.map(|p| p.0),
        period_end: period.map(|p| p.1),
        due_date: Some(due),
        seller: to_json(&seller)?,
        buyer: to_json(&buyer)?,
        ship_to: ship_to.as_ref().map(to_json).transpose()?,
        service_code: buyer_profile.service_code.clone(),
        engagement_number,
        contract_number: contract.map(|c| c.number),
        public_buyer,
        late_rate_points: if public_buyer {
            rules::PUBLIC_LATE_POINTS
        } else {
            rules::PRIVATE_LATE_POINTS
        },
        reason: None,
        net_cents: t.ht_cents,
        vat_cents: t.vat_cents,
        gross_cents: t.ttc_cents,
        issued_by: user.id,
        mandate_id,
        created_at: chrono::Utc::now(),
    };
    Ok((row, lines, ids))
}

/// How a caller stands towards a document: a party's member, or an
/// administrator; anyone else gets 404.
async fn readable(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    id: Uuid,
) -> ApiResult<InvoiceRow> {
    let not_found = || ApiError::not_found("no invoice with this id");
    let row = queries::find(conn, id).await?.ok_or_else(not_found)?;
    if user.is_admin {
        return Ok(row);
    }
    for org in [row.supplier_id, row.buyer_id] {
        if access(conn, org, Some(user)).await?.role.is_some() {
            return Ok(row);
        }
    }
    Err(not_found())
}

fn reference(row: &InvoiceRow) -> InvoiceRef {
    InvoiceRef {
        id: row.id,
        number: row.number.clone(),
        issue_date: row.issue_date,
        gross_cents: row.gross_cents,
    }
}

fn line_view(row: LineRow) -> ApiResult<InvoiceLine> {
    Ok(InvoiceLine {
        line_no: row.line_no,
        order_id: row.order_id,
        order_line_no: row.order_line_no,
        corrects_line_no: row.corrects_line_no,
        description: row.description,
        labels: row
            .labels
            .iter()
            .map(|l| from_db(l))
            .collect::<ApiResult<_>>()?,
        origin: row.origin,
        unit: from_db(&row.unit)?,
        quantity: row.quantity.normalize(),
        unit_price_cents: row.unit_price_cents,
        vat_rate: row.vat_rate.normalize(),
        net_cents: row.net_cents,
    })
}

/// An invoice or credit note, with its follow-up as of today.
pub async fn read(conn: &mut AsyncPgConnection, user: &AuthUser, id: Uuid) -> ApiResult<Invoice> {
    let row = readable(conn, user, id).await?;
    view(conn, row).await
}

async fn view(conn: &mut AsyncPgConnection, row: InvoiceRow) -> ApiResult<Invoice> {
    let lines: Vec<InvoiceLine> = queries::lines(conn, row.id)
        .await?
        .into_iter()
        .map(line_view)
        .collect::<ApiResult<_>>()?;
    let t = totals(lines.iter().map(|l| (l.vat_rate, l.net_cents)));
    let corrects = match row.corrects {
        Some(original) => queries::find(conn, original).await?.as_ref().map(reference),
        None => None,
    };
    let credit_notes: Vec<InvoiceRef> = queries::credit_notes(conn, row.id)
        .await?
        .iter()
        .map(reference)
        .collect();
    let follow_up = match row.due_date {
        Some(due) => Some(follow_up(conn, &row, due).await?),
        None => None,
    };
    let payment_terms = match (row.due_date, row.period_start) {
        (None, _) => "Avoir à déduire du prochain règlement".to_owned(),
        (Some(due), None) => format!(
            "Paiement par virement au plus tard le {due} (30 jours après livraison au plus)"
        ),
        (Some(due), Some(_)) => format!(
            "Paiement par virement au plus tard le {due} (30 jours après la fin de la décade de la dernière livraison au plus)"
        ),
    };
    let late_payment = if row.public_buyer {
        format!(
            "Intérêts moratoires au taux de la BCE majoré de {} points (R2192-31 du code de la commande publique)",
            row.late_rate_points
        )
    } else {
        format!(
            "Pénalités de retard au taux de la BCE majoré de {} points (L441-10 du code de commerce)",
            row.late_rate_points
        )
    };
    Ok(Invoice {
        id: row.id,
        number: row.number,
        type_code: row.type_code,
        supplier_id: row.supplier_id,
        buyer_id: row.buyer_id,
        issue_date: row.issue_date,
        delivery_date: row.delivery_date,
        period_start: row.period_start,
        period_end: row.period_end,
        due_date: row.due_date,
        seller: from_json(row.seller)?,
        buyer: from_json(row.buyer)?,
        ship_to: row.ship_to.map(from_json).transpose()?,
        service_code: row.service_code,
        engagement_number: row.engagement_number,
        contract_number: row.contract_number,
        nature: "goods".into(),
        public_buyer: row.public_buyer,
        payment_terms,
        late_payment,
        recovery_indemnity_cents: rules::RECOVERY_INDEMNITY_CENTS,
        mandate_id: row.mandate_id,
        corrects,
        reason: row.reason,
        lines,
        totals: t,
        credit_notes,
        follow_up,
        created_at: row.created_at,
    })
}

async fn follow_up(
    conn: &mut AsyncPgConnection,
    row: &InvoiceRow,
    due: NaiveDate,
) -> ApiResult<FollowUp> {
    let state = queries::follow_up(conn, row.id).await?.ok_or_else(|| {
        ApiError::Internal(anyhow::anyhow!("invoice {} has no follow-up", row.id))
    })?;
    let payments = queries::payments(conn, row.id).await?;
    let today = today_in_paris(conn).await?;
    let outstanding = (row.gross_cents - state.credited_cents - state.paid_cents).max(0);
    // Amounts paid late, each for its own days, and what is still unpaid.
    let mut late: Vec<(i64, i64)> = payments
        .iter()
        .map(|p| (p.amount_cents, (p.paid_on - due).num_days()))
        .collect();
    late.push((outstanding, (today - due).num_days()));
    let days_late = late
        .iter()
        .filter(|(amount, _)| *amount > 0)
        .map(|(_, days)| *days)
        .max()
        .unwrap_or(0)
        .max(0);
    let rate = match due.succ_opt() {
        Some(start) => queries::ecb_rate_on(conn, rules::half_year_start(start))
            .await?
            .map(|ecb| ecb + Decimal::from(row.late_rate_points)),
        None => None,
    };
    let late_interest_cents = match rate {
        Some(rate) => rules::late_interest_cents(&late, rate)
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("late interest overflow")))?,
        None => 0,
    };
    Ok(FollowUp {
        status: from_db(&state.status)?,
        paid_cents: state.paid_cents,
        credited_cents: state.credited_cents,
        outstanding_cents: outstanding,
        overdue_since: state.overdue_since,
        days_late,
        late_interest_percent: rate.map(|r| r.normalize()),
        late_interest_cents,
        recovery_indemnity_cents: if days_late > 0 {
            rules::RECOVERY_INDEMNITY_CENTS
        } else {
            0
        },
        paid_on: state.paid_on,
        payments: payments
            .into_iter()
            .map(|p| Payment {
                id: p.id,
                amount_cents: p.amount_cents,
                paid_on: p.paid_on,
                recorded_at: p.recorded_at,
            })
            .collect(),
    })
}

/// The documents an organisation issued or received (its members, administrators).
pub async fn list(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    org: Uuid,
    query: InvoiceListQuery,
) -> ApiResult<InvoicePage> {
    let access = access(conn, org, Some(user)).await?;
    policy::authorize(user, &access, OrgAction::ReadPrivate)?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::invalid_parameter("limit", "must be 1 to 200"));
    }
    let before =
        match query.cursor.as_deref() {
            Some(cursor) => Some(Uuid::parse_str(cursor).map_err(|_| {
                ApiError::invalid_parameter("cursor", "is not a cursor of this list")
            })?),
            None => None,
        };
    let rows = queries::list(conn, org, before, limit + 1).await?;
    let more = rows.len() as i64 > limit;
    let items: Vec<InvoiceSummary> = rows
        .into_iter()
        .take(limit as usize)
        .map(|(row, state)| {
            Ok(InvoiceSummary {
                id: row.id,
                number: row.number,
                type_code: row.type_code,
                supplier_id: row.supplier_id,
                buyer_id: row.buyer_id,
                issue_date: row.issue_date,
                due_date: row.due_date,
                gross_cents: row.gross_cents,
                status: state
                    .as_ref()
                    .map(|(s, _)| from_db::<PaymentStatus>(s))
                    .transpose()?,
                overdue_since: state.and_then(|(_, o)| o),
            })
        })
        .collect::<ApiResult<_>>()?;
    let next_cursor = if more {
        items.last().map(|i| i.id.to_string())
    } else {
        None
    };
    Ok(InvoicePage { items, next_cursor })
}

/// Issues a credit note on an invoice (docs/invoices.md § Credit notes).
pub async fn credit(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    invoice: Uuid,
    body: CreditNoteRequest,
) -> ApiResult<Invoice> {
    let original = readable(conn, user, invoice).await?;
    if original.corrects.is_some() {
        return Err(ApiError::Conflict(
            "a credit note is not corrected by another: credit the invoice".into(),
        ));
    }
    if !user.is_admin
        && access(conn, original.supplier_id, Some(user))
            .await?
            .role
            .is_none()
    {
        return Err(ApiError::Forbidden(
            "only the supplier issues credit notes; ask it for one".into(),
        ));
    }
    let today = today_in_paris(conn).await?;
    let mandate_id = issuer(conn, user, original.supplier_id, Series::CreditNote, today).await?;
    let mut errors = Vec::new();
    check_text(&mut errors, "reason", &body.reason, 500);
    if body.whole != body.lines.is_empty() {
        errors.push(FieldError::new(
            "lines",
            "give either `whole: true` or the lines to credit",
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let id = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let state = queries::lock_follow_up(conn, original.id)
                .await?
                .ok_or_else(|| ApiError::not_found("no invoice with this id"))?;
            let lines = queries::lines(conn, original.id).await?;
            let credited = queries::credited_lines(conn, original.id).await?;
            let id = Uuid::now_v7();
            let new_lines = credit_lines(id, &lines, &credited, &body)?;
            let t = totals(new_lines.iter().map(|l| (l.vat_rate, l.net_cents)));
            let credited_cents = state.credited_cents + t.ttc_cents;
            if credited_cents > original.gross_cents {
                return Err(ApiError::validation(
                    "lines",
                    format!(
                        "credits would total {} €, more than the invoice's {} €",
                        euros(credited_cents),
                        euros(original.gross_cents)
                    ),
                ));
            }
            let (n, issue_date) =
                queries::allocate_number(conn, original.supplier_id, Series::CreditNote, today)
                    .await?;
            let row = InvoiceRow {
                id,
                number: rules::number(Series::CreditNote, chrono::Datelike::year(&issue_date), n),
                type_code: Series::CreditNote.type_code(),
                corrects: Some(original.id),
                issue_date,
                due_date: None,
                reason: Some(body.reason.trim().to_owned()),
                net_cents: t.ht_cents,
                vat_cents: t.vat_cents,
                gross_cents: t.ttc_cents,
                issued_by: user.id,
                mandate_id,
                created_at: chrono::Utc::now(),
                ..original.clone()
            };
            queries::insert(conn, &row, &new_lines, &[]).await?;
            let status =
                rules::payment_status(original.gross_cents, credited_cents, state.paid_cents);
            queries::set_follow_up(
                conn,
                original.id,
                status.as_str(),
                state.paid_cents,
                credited_cents,
                state
                    .paid_on
                    .or((status == PaymentStatus::Paid).then_some(issue_date)),
            )
            .await?;
            tell(conn, &row, FeedEventType::InvoiceCredited).await?;
            Ok(id)
        })
        .await?;
    read(conn, user, id).await
}

/// The lines of a credit note: each within what is left to credit on the
/// invoice's line (its amount less earlier credits).
fn credit_lines(
    id: Uuid,
    lines: &[LineRow],
    credited: &[LineRow],
    body: &CreditNoteRequest,
) -> ApiResult<Vec<LineRow>> {
    let mut already: HashMap<i16, i64> = HashMap::new();
    for line in credited {
        if let Some(n) = line.corrects_line_no {
            *already.entry(n).or_default() += line.net_cents;
        }
    }
    let credit =
        |line: &LineRow, quantity: Decimal, price: i64, net_cents: i64, no: usize| LineRow {
            invoice_id: id,
            line_no: no as i16 + 1,
            corrects_line_no: Some(line.line_no),
            quantity,
            unit_price_cents: price,
            net_cents,
            ..line.clone()
        };
    if body.whole {
        if !already.is_empty() {
            return Err(ApiError::validation(
                "whole",
                "some lines are already credited: name the lines left to credit",
            ));
        }
        return Ok(lines
            .iter()
            .enumerate()
            .map(|(i, l)| credit(l, l.quantity, l.unit_price_cents, l.net_cents, i))
            .collect());
    }
    let mut errors = Vec::new();
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, asked) in body.lines.iter().enumerate() {
        let Some(line) = lines.iter().find(|l| l.line_no == asked.line_no) else {
            errors.push(FieldError::new(
                format!("lines[{i}].line_no"),
                "no such line on the invoice",
            ));
            continue;
        };
        if !seen.insert(asked.line_no) {
            errors.push(FieldError::new(
                format!("lines[{i}].line_no"),
                "appears twice",
            ));
            continue;
        }
        let quantity = asked.quantity.unwrap_or(line.quantity).normalize();
        if quantity <= Decimal::ZERO || quantity > line.quantity || quantity.scale() > 3 {
            errors.push(FieldError::new(
                format!("lines[{i}].quantity"),
                format!(
                    "must be more than 0 and at most the invoiced {}, with at most 3 decimals",
                    line.quantity.normalize()
                ),
            ));
            continue;
        }
        let price = asked.unit_price_cents.unwrap_or(line.unit_price_cents);
        if price <= 0 || price > line.unit_price_cents {
            errors.push(FieldError::new(
                format!("lines[{i}].unit_price_cents"),
                format!("must be 1 to the invoiced {}", line.unit_price_cents),
            ));
            continue;
        }
        let net = line_cents(quantity, price).unwrap_or(i64::MAX);
        let left = line.net_cents - already.get(&line.line_no).copied().unwrap_or(0);
        if net > left {
            errors.push(FieldError::new(
                format!("lines[{i}]"),
                format!(
                    "credits {} € HT, more than the {} € HT left to credit on this line",
                    euros(net),
                    euros(left.max(0))
                ),
            ));
            continue;
        }
        out.push(credit(line, quantity, price, net, out.len()));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    Ok(out)
}

/// Records a payment the supplier received (its members).
pub async fn record_payment(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    invoice: Uuid,
    body: PaymentRequest,
) -> ApiResult<Invoice> {
    let today = today_in_paris(conn).await?;
    record_payment_on(conn, user, invoice, body, today).await?;
    read(conn, user, invoice).await
}

/// [`record_payment`] as of `today` (the demonstration's past months).
pub(crate) async fn record_payment_on(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    invoice: Uuid,
    body: PaymentRequest,
    today: NaiveDate,
) -> ApiResult<()> {
    let row = readable(conn, user, invoice).await?;
    let access = access(conn, row.supplier_id, Some(user)).await?;
    if access.role.is_none() {
        return Err(ApiError::Forbidden(
            "only the supplier's members record the payments it received".into(),
        ));
    }
    policy::authorize(user, &access, OrgAction::Invoice)?;
    if row.corrects.is_some() {
        return Err(ApiError::Conflict(
            "a credit note is not paid: it lowers what its invoice asks".into(),
        ));
    }
    let mut errors = Vec::new();
    if body.amount_cents <= 0 {
        errors.push(FieldError::new("amount_cents", "must be more than 0"));
    }
    if body.paid_on > today || body.paid_on < row.issue_date {
        errors.push(FieldError::new(
            "paid_on",
            format!("must be from the issue date ({}) to today", row.issue_date),
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    conn.transaction::<_, ApiError, _>(async |conn| {
        let state = queries::lock_follow_up(conn, row.id)
            .await?
            .ok_or_else(|| ApiError::not_found("no invoice with this id"))?;
        let outstanding = row.gross_cents - state.credited_cents - state.paid_cents;
        if body.amount_cents > outstanding {
            return Err(ApiError::validation(
                "amount_cents",
                format!(
                    "is more than the {} € left to pay",
                    euros(outstanding.max(0))
                ),
            ));
        }
        queries::insert_payment(
            conn,
            &queries::PaymentRow {
                id: Uuid::now_v7(),
                invoice_id: row.id,
                amount_cents: body.amount_cents,
                paid_on: body.paid_on,
                recorded_by: user.id,
                recorded_at: chrono::Utc::now(),
            },
        )
        .await?;
        let paid = state.paid_cents + body.amount_cents;
        let status = rules::payment_status(row.gross_cents, state.credited_cents, paid);
        let paid_on = (status == PaymentStatus::Paid)
            .then(|| state.paid_on.map_or(body.paid_on, |p| p.max(body.paid_on)));
        queries::set_follow_up(
            conn,
            row.id,
            status.as_str(),
            paid,
            state.credited_cents,
            paid_on,
        )
        .await?;
        let event = match status {
            PaymentStatus::Issued => FeedEventType::InvoiceIssued,
            PaymentStatus::PartlyPaid => FeedEventType::InvoicePartlyPaid,
            PaymentStatus::Paid => FeedEventType::InvoicePaid,
        };
        tell(conn, &row, event).await?;
        Ok(())
    })
    .await
}

/// The job: invoices unpaid past their due date become overdue, once, and
/// both parties are told. Returns how many.
pub async fn mark_overdue(conn: &mut AsyncPgConnection) -> ApiResult<usize> {
    conn.transaction::<_, ApiError, _>(async |conn| {
        let today = today_in_paris(conn).await?;
        let overdue = queries::mark_overdue(conn, today).await?;
        for invoice in &overdue {
            let data = InvoiceChanged {
                invoice_id: invoice.id,
                number: invoice.number.clone(),
                type_code: None,
            };
            crate::orders::feed::publish_to(
                conn,
                &[invoice.supplier_id, invoice.buyer_id],
                FeedEventType::InvoiceOverdue,
                invoice.id,
                &data,
            )
            .await?;
        }
        Ok(overdue.len())
    })
    .await
}
