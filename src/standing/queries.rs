//! Standing orders and closures in SQL.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{
    Array, BigInt, Date, Int2, Jsonb, Nullable, Numeric, Text, Timestamptz, Uuid as SqlUuid,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::http::pagination::Keyset;

#[derive(QueryableByName, Debug, Clone)]
pub struct TemplateRow {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub buyer_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub delivery_site_id: Uuid,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Text)]
    pub note: String,
    #[diesel(sql_type = Date)]
    pub starts_on: NaiveDate,
    #[diesel(sql_type = Nullable<Date>)]
    pub ends_on: Option<NaiveDate>,
    #[diesel(sql_type = Int2)]
    pub days_ahead: i16,
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = SqlUuid)]
    pub created_by: Uuid,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
}

#[derive(QueryableByName, Debug, Clone)]
pub struct LineRow {
    #[diesel(sql_type = SqlUuid)]
    pub standing_order_id: Uuid,
    #[diesel(sql_type = Int2)]
    pub line_no: i16,
    #[diesel(sql_type = Int2)]
    pub weekday: i16,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub offer_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub contract_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Int2>)]
    pub contract_line_no: Option<i16>,
    #[diesel(sql_type = Numeric)]
    pub quantity: Decimal,
}

#[derive(QueryableByName, Debug, Clone)]
pub struct OccurrenceRow {
    #[diesel(sql_type = SqlUuid)]
    pub standing_order_id: Uuid,
    #[diesel(sql_type = Date)]
    pub delivery_date: NaiveDate,
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = Nullable<Jsonb>)]
    pub lines: Option<serde_json::Value>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub checkout_id: Option<Uuid>,
    #[diesel(sql_type = Jsonb)]
    pub problems: serde_json::Value,
}

const TEMPLATE: &str = "SELECT id, buyer_id, delivery_site_id, name, note, starts_on, ends_on, \
     days_ahead, status, created_by, created_at FROM standing_orders";

pub async fn insert(
    conn: &mut AsyncPgConnection,
    t: &TemplateRow,
    lines: &[LineRow],
) -> QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO standing_orders (id, buyer_id, delivery_site_id, name, note, starts_on, \
                ends_on, days_ahead, status, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind::<SqlUuid, _>(t.id)
    .bind::<SqlUuid, _>(t.buyer_id)
    .bind::<SqlUuid, _>(t.delivery_site_id)
    .bind::<Text, _>(&t.name)
    .bind::<Text, _>(&t.note)
    .bind::<Date, _>(t.starts_on)
    .bind::<Nullable<Date>, _>(t.ends_on)
    .bind::<Int2, _>(t.days_ahead)
    .bind::<Text, _>(&t.status)
    .bind::<SqlUuid, _>(t.created_by)
    .execute(conn)
    .await?;
    let weekdays: Vec<i16> = lines.iter().map(|l| l.weekday).collect();
    let numbers: Vec<i16> = lines.iter().map(|l| l.line_no).collect();
    let offers: Vec<Option<Uuid>> = lines.iter().map(|l| l.offer_id).collect();
    let contracts: Vec<Option<Uuid>> = lines.iter().map(|l| l.contract_id).collect();
    let contract_lines: Vec<Option<i16>> = lines.iter().map(|l| l.contract_line_no).collect();
    let quantities: Vec<Decimal> = lines.iter().map(|l| l.quantity).collect();
    diesel::sql_query(
        "INSERT INTO standing_order_lines (standing_order_id, line_no, weekday, offer_id, \
                contract_id, contract_line_no, quantity) \
         SELECT $1, * FROM unnest($2::int2[], $3::int2[], $4::uuid[], $5::uuid[], $6::int2[], \
                                  $7::numeric[])",
    )
    .bind::<SqlUuid, _>(t.id)
    .bind::<Array<Int2>, _>(&numbers)
    .bind::<Array<Int2>, _>(&weekdays)
    .bind::<Array<Nullable<SqlUuid>>, _>(&offers)
    .bind::<Array<Nullable<SqlUuid>>, _>(&contracts)
    .bind::<Array<Nullable<Int2>>, _>(&contract_lines)
    .bind::<Array<Numeric>, _>(&quantities)
    .execute(conn)
    .await
    .map(drop)
}

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<TemplateRow>> {
    diesel::sql_query(format!("{TEMPLATE} WHERE id = $1"))
        .bind::<SqlUuid, _>(id)
        .get_result(conn)
        .await
        .optional()
}

/// A page of the standing orders of `buyer`, newest first (one more row
/// than the page, to tell that another follows); `None` when the cursor is
/// no standing order.
pub async fn of_buyer(
    conn: &mut AsyncPgConnection,
    buyer: Uuid,
    page: Keyset,
) -> QueryResult<Option<Vec<TemplateRow>>> {
    if let Some(cursor) = page.cursor
        && find(conn, cursor).await?.is_none()
    {
        return Ok(None);
    }
    diesel::sql_query(format!(
        "{TEMPLATE} WHERE buyer_id = $1 \
            AND ($2::uuid IS NULL OR (created_at, id) < \
                 (SELECT x.created_at, x.id FROM standing_orders x WHERE x.id = $2)) \
          ORDER BY created_at DESC, id DESC LIMIT $3"
    ))
    .bind::<SqlUuid, _>(buyer)
    .bind::<Nullable<SqlUuid>, _>(page.cursor)
    .bind::<BigInt, _>(page.fetch())
    .load(conn)
    .await
    .map(Some)
}

pub async fn lines_of(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<Vec<LineRow>> {
    diesel::sql_query(
        "SELECT standing_order_id, line_no, weekday, offer_id, contract_id, contract_line_no, \
                quantity FROM standing_order_lines WHERE standing_order_id = ANY($1) \
          ORDER BY standing_order_id, line_no",
    )
    .bind::<Array<SqlUuid>, _>(ids)
    .load(conn)
    .await
}

/// The recorded occurrences of `ids` from `from` on.
pub async fn occurrences(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
    from: NaiveDate,
) -> QueryResult<Vec<OccurrenceRow>> {
    diesel::sql_query(
        "SELECT standing_order_id, delivery_date, status, lines, checkout_id, problems \
           FROM standing_order_occurrences \
          WHERE standing_order_id = ANY($1) AND delivery_date >= $2 \
          ORDER BY standing_order_id, delivery_date",
    )
    .bind::<Array<SqlUuid>, _>(ids)
    .bind::<Date, _>(from)
    .load(conn)
    .await
}

pub async fn set_status(conn: &mut AsyncPgConnection, id: Uuid, status: &str) -> QueryResult<()> {
    diesel::sql_query("UPDATE standing_orders SET status = $2, updated_at = now() WHERE id = $1")
        .bind::<SqlUuid, _>(id)
        .bind::<Text, _>(status)
        .execute(conn)
        .await
        .map(drop)
}

/// Records a change or a skip of a day not yet placed; false if the day is
/// already decided (placed, failed, missed).
pub async fn change_occurrence(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    date: NaiveDate,
    status: &str,
    lines: Option<&serde_json::Value>,
) -> QueryResult<bool> {
    let changed = diesel::sql_query(
        "INSERT INTO standing_order_occurrences (standing_order_id, delivery_date, status, lines) \
         VALUES ($1, $2, $3, $4) \
         ON CONFLICT (standing_order_id, delivery_date) DO UPDATE \
                SET status = $3, lines = $4, decided_at = now() \
          WHERE standing_order_occurrences.status IN ('changed', 'skipped')",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<Date, _>(date)
    .bind::<Text, _>(status)
    .bind::<Nullable<Jsonb>, _>(lines)
    .execute(conn)
    .await?;
    Ok(changed == 1)
}

/// Claims a day for placement: records it `placed` unless it is already
/// decided, and returns its changed lines (`Some(None)`: the template's).
/// Two instances claiming the same day: the second waits for the first's
/// transaction, then finds it decided (`None`). This row is the "once,
/// ever" of each delivery.
pub async fn claim(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    date: NaiveDate,
) -> QueryResult<Option<Option<serde_json::Value>>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Nullable<Jsonb>)]
        lines: Option<serde_json::Value>,
    }
    let row: Option<Row> = diesel::sql_query(
        "INSERT INTO standing_order_occurrences (standing_order_id, delivery_date, status) \
         VALUES ($1, $2, 'placed') \
         ON CONFLICT (standing_order_id, delivery_date) DO UPDATE \
                SET status = 'placed', decided_at = now() \
          WHERE standing_order_occurrences.status = 'changed' \
      RETURNING lines",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<Date, _>(date)
    .get_result(conn)
    .await
    .optional()?;
    Ok(row.map(|r| r.lines))
}

/// Records how a claimed day ended: `placed` (with its checkout) or
/// `failed`, and the problems met.
pub async fn settle(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    date: NaiveDate,
    status: &str,
    checkout: Option<Uuid>,
    problems: &serde_json::Value,
) -> QueryResult<()> {
    diesel::sql_query(
        "UPDATE standing_order_occurrences SET status = $3, checkout_id = $4, problems = $5, \
                decided_at = now() \
          WHERE standing_order_id = $1 AND delivery_date = $2",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<Date, _>(date)
    .bind::<Text, _>(status)
    .bind::<Nullable<SqlUuid>, _>(checkout)
    .bind::<Jsonb, _>(problems)
    .execute(conn)
    .await
    .map(drop)
}

/// Records a day that passed without being placed; false if it was decided.
pub async fn mark_missed(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    date: NaiveDate,
) -> QueryResult<bool> {
    let n = diesel::sql_query(
        "INSERT INTO standing_order_occurrences (standing_order_id, delivery_date, status) \
         VALUES ($1, $2, 'missed') \
         ON CONFLICT (standing_order_id, delivery_date) DO UPDATE SET status = 'missed', \
                decided_at = now() \
          WHERE standing_order_occurrences.status = 'changed'",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<Date, _>(date)
    .execute(conn)
    .await?;
    Ok(n == 1)
}

/// The days from `from` to `until` of active standing orders that are due
/// on `today` (`days_ahead` before them at most) and still undecided
/// (neither placed, failed, missed nor skipped), outside the closures of
/// their sites. Public holidays are the caller's (`schedule`).
pub async fn candidates(
    conn: &mut AsyncPgConnection,
    from: NaiveDate,
    until: NaiveDate,
    today: NaiveDate,
) -> QueryResult<Vec<(TemplateRow, NaiveDate)>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(embed)]
        template: TemplateRow,
        #[diesel(sql_type = Date)]
        day: NaiveDate,
    }
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT s.id, s.buyer_id, s.delivery_site_id, s.name, s.note, s.starts_on, s.ends_on, \
                s.days_ahead, s.status, s.created_by, s.created_at, d.day \
           FROM standing_orders s \
          CROSS JOIN LATERAL ( \
                SELECT g::date AS day \
                  FROM generate_series(greatest($1::date, s.starts_on, \
                                                (s.created_at AT TIME ZONE 'Europe/Paris')::date + 1), \
                                       least($2::date, coalesce(s.ends_on, $2::date)), \
                                       interval '1 day') AS g) d \
          WHERE s.status = 'active' \
            AND d.day - s.days_ahead <= $3::date \
            AND EXISTS (SELECT 1 FROM standing_order_lines l \
                         WHERE l.standing_order_id = s.id \
                           AND l.weekday = extract(isodow FROM d.day)::int2) \
            AND NOT EXISTS (SELECT 1 FROM standing_order_occurrences o \
                             WHERE o.standing_order_id = s.id AND o.delivery_date = d.day \
                               AND o.status <> 'changed') \
            AND NOT EXISTS (SELECT 1 FROM closures c \
                             WHERE c.canteen_id IN (s.buyer_id, s.delivery_site_id) \
                               AND d.day BETWEEN c.starts_on AND c.ends_on) \
          ORDER BY d.day, s.id",
    )
    .bind::<Date, _>(from)
    .bind::<Date, _>(until)
    .bind::<Date, _>(today)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.template, r.day)).collect())
}

#[derive(QueryableByName, Debug)]
pub struct ClosureRow {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub canteen_id: Uuid,
    #[diesel(sql_type = Date)]
    pub starts_on: NaiveDate,
    #[diesel(sql_type = Date)]
    pub ends_on: NaiveDate,
    #[diesel(sql_type = Text)]
    pub reason: String,
    #[diesel(sql_type = SqlUuid)]
    pub set_by: Uuid,
}

pub async fn add_closure(conn: &mut AsyncPgConnection, c: &ClosureRow) -> QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO closures (id, canteen_id, starts_on, ends_on, reason, set_by) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind::<SqlUuid, _>(c.id)
    .bind::<SqlUuid, _>(c.canteen_id)
    .bind::<Date, _>(c.starts_on)
    .bind::<Date, _>(c.ends_on)
    .bind::<Text, _>(&c.reason)
    .bind::<SqlUuid, _>(c.set_by)
    .execute(conn)
    .await
    .map(drop)
}

/// The closures of `canteens` that end on or after `from`.
pub async fn closures(
    conn: &mut AsyncPgConnection,
    canteens: &[Uuid],
    from: NaiveDate,
) -> QueryResult<Vec<ClosureRow>> {
    diesel::sql_query(
        "SELECT id, canteen_id, starts_on, ends_on, reason, set_by FROM closures \
          WHERE canteen_id = ANY($1) AND ends_on >= $2 ORDER BY starts_on, id LIMIT 1000",
    )
    .bind::<Array<SqlUuid>, _>(canteens)
    .bind::<Date, _>(from)
    .load(conn)
    .await
}

pub async fn delete_closure(
    conn: &mut AsyncPgConnection,
    canteen: Uuid,
    id: Uuid,
) -> QueryResult<bool> {
    let n = diesel::sql_query("DELETE FROM closures WHERE id = $1 AND canteen_id = $2")
        .bind::<SqlUuid, _>(id)
        .bind::<SqlUuid, _>(canteen)
        .execute(conn)
        .await?;
    Ok(n == 1)
}

/// Records a run of job `name` and its failures.
pub async fn record_run(
    conn: &mut AsyncPgConnection,
    name: &str,
    failures: i64,
    error: Option<&str>,
) -> QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO jobs (name, last_run_at, last_error, runs, failures) \
         VALUES ($1, now(), $3, 1, $2) \
         ON CONFLICT (name) DO UPDATE SET last_run_at = now(), last_error = $3, \
                runs = jobs.runs + 1, failures = jobs.failures + $2",
    )
    .bind::<Text, _>(name)
    .bind::<BigInt, _>(failures)
    .bind::<Nullable<Text>, _>(error)
    .execute(conn)
    .await
    .map(drop)
}
