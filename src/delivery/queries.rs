//! Delivery terms in SQL. Cut-off instants are computed here: PostgreSQL
//! knows when Paris changes between summer and winter time.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{
    Array, BigInt, Date, Int2, Int4, Text, Time, Timestamptz, Uuid as SqlUuid,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::rules::Terms;

/// The instant orders for `day` (an SQL date) close, for terms row `t`.
const CUTOFF_AT_SQL: &str = "((DAY - t.cutoff_days) + t.cutoff_time) AT TIME ZONE 'Europe/Paris'";

fn cutoff_at_sql(day: &str) -> String {
    CUTOFF_AT_SQL.replace("DAY", day)
}

#[derive(QueryableByName)]
struct TermsRow {
    #[diesel(sql_type = SqlUuid)]
    supplier_id: Uuid,
    #[diesel(sql_type = Array<Int2>)]
    delivery_weekdays: Vec<i16>,
    #[diesel(sql_type = Int2)]
    cutoff_days: i16,
    #[diesel(sql_type = Time)]
    cutoff_time: NaiveTime,
    #[diesel(sql_type = BigInt)]
    min_order_ht_cents: i64,
    #[diesel(sql_type = Array<Text>)]
    zone_communes: Vec<String>,
    #[diesel(sql_type = Array<Text>)]
    zone_epcis: Vec<String>,
    #[diesel(sql_type = Array<Text>)]
    zone_departements: Vec<String>,
    #[diesel(sql_type = Timestamptz)]
    updated_at: DateTime<Utc>,
}

impl TermsRow {
    fn terms(self) -> (Terms, DateTime<Utc>) {
        (
            Terms {
                weekdays: self.delivery_weekdays,
                cutoff_days: self.cutoff_days,
                cutoff_time: self.cutoff_time,
                min_order_ht_cents: self.min_order_ht_cents,
                zone_communes: self.zone_communes,
                zone_epcis: self.zone_epcis,
                zone_departements: self.zone_departements,
            },
            self.updated_at,
        )
    }
}

const COLUMNS: &str = "t.supplier_id, t.delivery_weekdays, t.cutoff_days, t.cutoff_time, \
     t.min_order_ht_cents, t.zone_communes, t.zone_epcis, t.zone_departements, t.updated_at";

/// A supplier's terms and when they last changed, if it has set any.
pub async fn find(
    conn: &mut AsyncPgConnection,
    supplier: Uuid,
) -> QueryResult<Option<(Terms, DateTime<Utc>)>> {
    let row: Option<TermsRow> = diesel::sql_query(format!(
        "SELECT {COLUMNS} FROM delivery_terms t WHERE t.supplier_id = $1"
    ))
    .bind::<SqlUuid, _>(supplier)
    .get_result(conn)
    .await
    .optional()?;
    Ok(row.map(TermsRow::terms))
}

/// Sets a supplier's terms.
pub async fn upsert(conn: &mut AsyncPgConnection, supplier: Uuid, t: &Terms) -> QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO delivery_terms (supplier_id, delivery_weekdays, cutoff_days, cutoff_time, \
                min_order_ht_cents, zone_communes, zone_epcis, zone_departements, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now()) \
         ON CONFLICT (supplier_id) DO UPDATE SET delivery_weekdays = $2, cutoff_days = $3, \
                cutoff_time = $4, min_order_ht_cents = $5, zone_communes = $6, zone_epcis = $7, \
                zone_departements = $8, updated_at = now()",
    )
    .bind::<SqlUuid, _>(supplier)
    .bind::<Array<Int2>, _>(&t.weekdays)
    .bind::<Int2, _>(t.cutoff_days)
    .bind::<Time, _>(t.cutoff_time)
    .bind::<BigInt, _>(t.min_order_ht_cents)
    .bind::<Array<Text>, _>(&t.zone_communes)
    .bind::<Array<Text>, _>(&t.zone_epcis)
    .bind::<Array<Text>, _>(&t.zone_departements)
    .execute(conn)
    .await
    .map(drop)
}

/// The terms of each of `suppliers` that has some, with the cut-off of
/// orders for `day`, and the database's clock.
pub async fn for_day(
    conn: &mut AsyncPgConnection,
    suppliers: &[Uuid],
    day: NaiveDate,
) -> QueryResult<(HashMap<Uuid, (Terms, DateTime<Utc>)>, DateTime<Utc>)> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(embed)]
        terms: TermsRow,
        #[diesel(sql_type = Timestamptz)]
        cutoff_at: DateTime<Utc>,
        #[diesel(sql_type = Timestamptz)]
        now: DateTime<Utc>,
    }
    let rows: Vec<Row> = diesel::sql_query(format!(
        "SELECT {COLUMNS}, {} AS cutoff_at, statement_timestamp() AS now \
           FROM delivery_terms t WHERE t.supplier_id = ANY($1)",
        cutoff_at_sql("$2::date")
    ))
    .bind::<Array<SqlUuid>, _>(suppliers)
    .bind::<Date, _>(day)
    .load(conn)
    .await?;
    let now = match rows.as_slice().first() {
        Some(row) => row.now,
        None => Utc::now(),
    };
    Ok((
        rows.into_iter()
            .map(|r| (r.terms.supplier_id, (r.terms.terms().0, r.cutoff_at)))
            .collect(),
        now,
    ))
}

/// The next `count` days from `from` on which `supplier` delivers, each
/// with the cut-off of its orders, in Paris local time and as an instant.
pub async fn delivery_days(
    conn: &mut AsyncPgConnection,
    supplier: Uuid,
    from: NaiveDate,
    count: i32,
) -> QueryResult<Vec<(NaiveDate, chrono::NaiveDateTime, DateTime<Utc>)>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Date)]
        day: NaiveDate,
        #[diesel(sql_type = diesel::sql_types::Timestamp)]
        cutoff_local: chrono::NaiveDateTime,
        #[diesel(sql_type = Timestamptz)]
        cutoff_at: DateTime<Utc>,
    }
    let rows: Vec<Row> = diesel::sql_query(format!(
        "SELECT d.day, (d.day - t.cutoff_days) + t.cutoff_time AS cutoff_local, \
                {} AS cutoff_at \
           FROM delivery_terms t, \
                LATERAL (SELECT g::date AS day FROM generate_series($2::date, $2::date + 366, \
                         interval '1 day') AS g) d \
          WHERE t.supplier_id = $1 \
            AND extract(isodow FROM d.day)::smallint = ANY (t.delivery_weekdays) \
          ORDER BY d.day LIMIT $3",
        cutoff_at_sql("d.day")
    ))
    .bind::<SqlUuid, _>(supplier)
    .bind::<Date, _>(from)
    .bind::<Int4, _>(count)
    .load(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.day, r.cutoff_local, r.cutoff_at))
        .collect())
}
