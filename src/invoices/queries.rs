//! Invoices in SQL: profiles, mandates, the numbering counters, the
//! immutable documents, and their payment follow-up.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Date, Int2, Int4, Nullable, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::rules::Series;
use crate::schema::{
    billing_mandates, ecb_rates, invoice_follow_up, invoice_lines, invoice_payments,
    invoiced_orders, invoices, invoicing_profiles,
};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = invoicing_profiles, treat_none_as_null = true)]
pub struct ProfileRow {
    pub organisation_id: Uuid,
    pub vat_number: Option<String>,
    pub iban: Option<String>,
    pub payment_days: i16,
    pub billing_siret: Option<String>,
    pub service_code: Option<String>,
    pub chorus_requires: String,
}

pub async fn profile(conn: &mut AsyncPgConnection, org: Uuid) -> QueryResult<Option<ProfileRow>> {
    invoicing_profiles::table
        .find(org)
        .select(ProfileRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn save_profile(conn: &mut AsyncPgConnection, row: &ProfileRow) -> QueryResult<()> {
    diesel::insert_into(invoicing_profiles::table)
        .values(row)
        .on_conflict(invoicing_profiles::organisation_id)
        .do_update()
        .set((row, invoicing_profiles::updated_at.eq(diesel::dsl::now)))
        .execute(conn)
        .await
        .map(drop)
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = billing_mandates)]
pub struct MandateRow {
    pub id: Uuid,
    pub supplier_id: Uuid,
    pub scope: String,
    pub starts_on: NaiveDate,
    pub accepted_by: Uuid,
    pub accepted_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// The supplier's mandate not revoked, if any (the index allows one).
pub async fn mandate(
    conn: &mut AsyncPgConnection,
    supplier: Uuid,
) -> QueryResult<Option<MandateRow>> {
    billing_mandates::table
        .filter(billing_mandates::supplier_id.eq(supplier))
        .filter(billing_mandates::revoked_at.is_null())
        .select(MandateRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// All the supplier's mandates: the one in force first, then newest first.
pub async fn mandates(
    conn: &mut AsyncPgConnection,
    supplier: Uuid,
) -> QueryResult<Vec<MandateRow>> {
    billing_mandates::table
        .filter(billing_mandates::supplier_id.eq(supplier))
        .order((
            billing_mandates::revoked_at.is_not_null(),
            billing_mandates::accepted_at.desc(),
        ))
        .select(MandateRow::as_select())
        .load(conn)
        .await
}

/// Records a mandate; `false` when one is already in force.
pub async fn insert_mandate(conn: &mut AsyncPgConnection, row: &MandateRow) -> QueryResult<bool> {
    diesel::insert_into(billing_mandates::table)
        .values(row)
        .on_conflict_do_nothing()
        .execute(conn)
        .await
        .map(|n| n == 1)
}

pub async fn revoke_mandate(
    conn: &mut AsyncPgConnection,
    supplier: Uuid,
    by: Uuid,
) -> QueryResult<Option<MandateRow>> {
    diesel::update(billing_mandates::table)
        .filter(billing_mandates::supplier_id.eq(supplier))
        .filter(billing_mandates::revoked_at.is_null())
        .set((
            billing_mandates::revoked_by.eq(by),
            billing_mandates::revoked_at.eq(diesel::dsl::now),
        ))
        .returning(MandateRow::as_returning())
        .get_result(conn)
        .await
        .optional()
}

#[derive(QueryableByName)]
struct Allocated {
    #[diesel(sql_type = Int4)]
    last_number: i32,
    #[diesel(sql_type = Date)]
    last_issue_date: NaiveDate,
}

/// The next number of the supplier's series for the year of `today`, and
/// the issue date that goes with it: never before the series' last one, so
/// numbers and dates rise together. The row stays locked until the issuing
/// transaction ends: concurrent issuers queue on it, and a rollback gives
/// the number back (a sequence would lose it).
pub async fn allocate_number(
    conn: &mut AsyncPgConnection,
    supplier: Uuid,
    series: Series,
    today: NaiveDate,
) -> QueryResult<(i32, NaiveDate)> {
    use chrono::Datelike;
    let row: Allocated = diesel::sql_query(
        "INSERT INTO invoice_counters AS c (supplier_id, series, year, last_number, last_issue_date) \
         VALUES ($1, $2, $3, 1, $4) \
         ON CONFLICT (supplier_id, series, year) DO UPDATE \
         SET last_number = c.last_number + 1, \
             last_issue_date = GREATEST(c.last_issue_date, EXCLUDED.last_issue_date) \
         RETURNING last_number, last_issue_date",
    )
    .bind::<SqlUuid, _>(supplier)
    .bind::<Text, _>(series.letter())
    .bind::<Int2, _>(today.year() as i16)
    .bind::<Date, _>(today)
    .get_result(conn)
    .await?;
    Ok((row.last_number, row.last_issue_date))
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = invoices)]
pub struct InvoiceRow {
    pub id: Uuid,
    pub supplier_id: Uuid,
    pub buyer_id: Uuid,
    pub number: String,
    pub type_code: i16,
    pub corrects: Option<Uuid>,
    pub issue_date: NaiveDate,
    pub delivery_date: NaiveDate,
    pub period_start: Option<NaiveDate>,
    pub period_end: Option<NaiveDate>,
    pub due_date: Option<NaiveDate>,
    pub seller: serde_json::Value,
    pub buyer: serde_json::Value,
    pub ship_to: Option<serde_json::Value>,
    pub service_code: Option<String>,
    pub engagement_number: Option<String>,
    pub contract_number: Option<String>,
    pub public_buyer: bool,
    pub late_rate_points: i16,
    pub reason: Option<String>,
    pub net_cents: i64,
    pub vat_cents: i64,
    pub gross_cents: i64,
    pub issued_by: Uuid,
    pub mandate_id: Option<Uuid>,
    #[diesel(skip_insertion)]
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = invoice_lines)]
pub struct LineRow {
    pub invoice_id: Uuid,
    pub line_no: i16,
    pub order_id: Uuid,
    pub order_line_no: i16,
    pub corrects_line_no: Option<i16>,
    pub description: String,
    pub labels: Vec<String>,
    pub origin: String,
    pub unit: String,
    pub quantity: Decimal,
    pub unit_price_cents: i64,
    pub vat_rate: Decimal,
    pub net_cents: i64,
}

/// Writes an issued document with its lines; an invoice also claims its
/// orders (once, ever: the key) and opens its payment follow-up.
pub async fn insert(
    conn: &mut AsyncPgConnection,
    invoice: &InvoiceRow,
    lines: &[LineRow],
    orders: &[Uuid],
) -> QueryResult<()> {
    diesel::insert_into(invoices::table)
        .values(invoice)
        .execute(conn)
        .await?;
    for chunk in lines.chunks(1000) {
        diesel::insert_into(invoice_lines::table)
            .values(chunk)
            .execute(conn)
            .await?;
    }
    if !orders.is_empty() {
        let claims: Vec<_> = orders
            .iter()
            .map(|order| {
                (
                    invoiced_orders::order_id.eq(order),
                    invoiced_orders::invoice_id.eq(invoice.id),
                )
            })
            .collect();
        diesel::insert_into(invoiced_orders::table)
            .values(claims)
            .execute(conn)
            .await?;
    }
    if invoice.corrects.is_none() {
        diesel::insert_into(invoice_follow_up::table)
            .values((
                invoice_follow_up::invoice_id.eq(invoice.id),
                invoice_follow_up::status.eq("issued"),
            ))
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// Of these orders, those already invoiced, with the invoice's number.
pub async fn invoiced(
    conn: &mut AsyncPgConnection,
    orders: &[Uuid],
) -> QueryResult<Vec<(Uuid, String)>> {
    invoiced_orders::table
        .inner_join(invoices::table)
        .filter(invoiced_orders::order_id.eq_any(orders))
        .select((invoiced_orders::order_id, invoices::number))
        .load(conn)
        .await
}

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<InvoiceRow>> {
    invoices::table
        .find(id)
        .select(InvoiceRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn lines(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Vec<LineRow>> {
    invoice_lines::table
        .filter(invoice_lines::invoice_id.eq(id))
        .order(invoice_lines::line_no)
        .select(LineRow::as_select())
        .load(conn)
        .await
}

/// The credit notes of an invoice, oldest first.
pub async fn credit_notes(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Vec<InvoiceRow>> {
    invoices::table
        .filter(invoices::corrects.eq(id))
        .order(invoices::id)
        .select(InvoiceRow::as_select())
        .load(conn)
        .await
}

/// The lines of an invoice's credit notes.
pub async fn credited_lines(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Vec<LineRow>> {
    invoice_lines::table
        .inner_join(invoices::table)
        .filter(invoices::corrects.eq(id))
        .select(LineRow::as_select())
        .load(conn)
        .await
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = invoice_follow_up)]
pub struct FollowUpRow {
    pub invoice_id: Uuid,
    pub status: String,
    pub paid_cents: i64,
    pub credited_cents: i64,
    pub overdue_since: Option<NaiveDate>,
    pub paid_on: Option<NaiveDate>,
}

pub async fn follow_up(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<FollowUpRow>> {
    invoice_follow_up::table
        .find(id)
        .select(FollowUpRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// The follow-up row, locked: credit notes and payments of one invoice
/// are counted one after the other.
pub async fn lock_follow_up(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> QueryResult<Option<FollowUpRow>> {
    invoice_follow_up::table
        .find(id)
        .select(FollowUpRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

pub async fn set_follow_up(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    status: &str,
    paid_cents: i64,
    credited_cents: i64,
    paid_on: Option<NaiveDate>,
) -> QueryResult<()> {
    diesel::update(invoice_follow_up::table.find(id))
        .set((
            invoice_follow_up::status.eq(status),
            invoice_follow_up::paid_cents.eq(paid_cents),
            invoice_follow_up::credited_cents.eq(credited_cents),
            invoice_follow_up::paid_on.eq(paid_on),
            invoice_follow_up::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await
        .map(drop)
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = invoice_payments)]
pub struct PaymentRow {
    pub id: Uuid,
    pub invoice_id: Uuid,
    pub amount_cents: i64,
    pub paid_on: NaiveDate,
    pub recorded_by: Uuid,
    #[diesel(skip_insertion)]
    pub recorded_at: DateTime<Utc>,
}

pub async fn insert_payment(conn: &mut AsyncPgConnection, row: &PaymentRow) -> QueryResult<()> {
    diesel::insert_into(invoice_payments::table)
        .values(row)
        .execute(conn)
        .await
        .map(drop)
}

pub async fn payments(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Vec<PaymentRow>> {
    invoice_payments::table
        .filter(invoice_payments::invoice_id.eq(id))
        .order((invoice_payments::paid_on, invoice_payments::id))
        .select(PaymentRow::as_select())
        .load(conn)
        .await
}

/// The ECB rate in force on `day`.
pub async fn ecb_rate_on(
    conn: &mut AsyncPgConnection,
    day: NaiveDate,
) -> QueryResult<Option<Decimal>> {
    ecb_rates::table
        .filter(ecb_rates::valid_from.le(day))
        .order(ecb_rates::valid_from.desc())
        .select(ecb_rates::percent)
        .first(conn)
        .await
        .optional()
}

/// A page of the documents an organisation issued or received, newest
/// first, with their payment status.
pub async fn list(
    conn: &mut AsyncPgConnection,
    org: Uuid,
    before: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<(InvoiceRow, Option<(String, Option<NaiveDate>)>)>> {
    let mut query = invoices::table
        .left_join(invoice_follow_up::table)
        .filter(invoices::supplier_id.eq(org).or(invoices::buyer_id.eq(org)))
        .select((
            InvoiceRow::as_select(),
            (invoice_follow_up::status, invoice_follow_up::overdue_since).nullable(),
        ))
        .order(invoices::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(invoices::id.lt(before));
    }
    query.load(conn).await
}

#[derive(QueryableByName)]
pub struct Overdue {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub supplier_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub buyer_id: Uuid,
    #[diesel(sql_type = Text)]
    pub number: String,
}

/// Marks the invoices unpaid past their due date as overdue from the day
/// after it, once; returns them.
pub async fn mark_overdue(
    conn: &mut AsyncPgConnection,
    today: NaiveDate,
) -> QueryResult<Vec<Overdue>> {
    diesel::sql_query(
        "UPDATE invoice_follow_up f SET overdue_since = i.due_date + 1, updated_at = now() \
         FROM invoices i \
         WHERE i.id = f.invoice_id AND f.status <> 'paid' AND f.overdue_since IS NULL \
           AND i.due_date < $1 \
         RETURNING i.id, i.supplier_id, i.buyer_id, i.number",
    )
    .bind::<Date, _>(today)
    .load(conn)
    .await
}

/// An invoice of a territory's canteen, as payment statistics count it.
#[derive(QueryableByName, Debug, Clone)]
pub struct TerritoryPayment {
    /// The canteen's sector category (`SECTOR_CATEGORY_SQL`).
    #[diesel(sql_type = Text)]
    pub sector_category: String,
    #[diesel(sql_type = SqlUuid)]
    pub buyer_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub supplier_id: Uuid,
    #[diesel(sql_type = Date)]
    pub issue_date: NaiveDate,
    #[diesel(sql_type = Date)]
    pub due_date: NaiveDate,
    /// The day the last payment settled it; none while unpaid.
    #[diesel(sql_type = Nullable<Date>)]
    pub paid_on: Option<NaiveDate>,
}

/// The invoices (not credit notes) of the verified canteens located in EPCI
/// `epci` that were paid from `from` to `to`, and, with `unpaid_due_before`,
/// those due in that period before that day and still not paid. An invoice settled by credit notes
/// alone was never paid by its buyer and does not count.
pub async fn territory_payments(
    conn: &mut AsyncPgConnection,
    epci: &str,
    from: NaiveDate,
    to: NaiveDate,
    unpaid_due_before: Option<NaiveDate>,
) -> QueryResult<Vec<TerritoryPayment>> {
    use crate::accounts::queries::SECTOR_CATEGORY_SQL;
    use crate::egalim::queries::TERRITORY_CANTEENS;
    diesel::sql_query(format!(
        "SELECT {SECTOR_CATEGORY_SQL} AS sector_category, i.buyer_id, i.supplier_id, \
                i.issue_date, i.due_date, f.paid_on \
           FROM invoices i \
           JOIN invoice_follow_up f ON f.invoice_id = i.id \
           JOIN canteen_profiles cp ON cp.organisation_id = i.buyer_id \
          WHERE i.type_code = 380 \
            AND i.buyer_id IN (SELECT {TERRITORY_CANTEENS}) \
            AND ((f.status = 'paid' AND f.paid_cents > 0 AND f.paid_on BETWEEN $2 AND $3) \
                 OR (f.status <> 'paid' AND i.due_date BETWEEN $2 AND $3 AND i.due_date < $4))"
    ))
    .bind::<Text, _>(epci)
    .bind::<Date, _>(from)
    .bind::<Date, _>(to)
    .bind::<Nullable<Date>, _>(unpaid_due_before)
    .load(conn)
    .await
}
