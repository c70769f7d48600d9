//! Contracts in SQL.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{
    Array, BigInt, Date, Int2, Int4, Nullable, Numeric, Text, Timestamptz, Uuid as SqlUuid,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;
use uuid::Uuid;

/// Creates the contract of an awarded lot, at the awarded answer's price,
/// with the lot's canteens, and returns its id. Its number is
/// `SES<year>-<6 digits>` (14 characters, a valid DECP `id`).
pub async fn insert_from_award(
    conn: &mut AsyncPgConnection,
    lot: Uuid,
    answer: Uuid,
    amount_ht_cents: i64,
    valid_from: NaiveDate,
    valid_until: NaiveDate,
) -> QueryResult<Uuid> {
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
    }
    let id = Uuid::now_v7();
    let row: Id = diesel::sql_query(
        "INSERT INTO contracts (id, number, consultation_id, lot_id, answer_id, buyer_id, \
                supplier_id, family, description, unit, unit_price_cents, vat_rate, quantity, \
                max_amount_ht_cents, amount_ht_cents, valid_from, valid_until) \
         SELECT $1, 'SES' || to_char(now() AT TIME ZONE 'Europe/Paris', 'YYYY') || '-' \
                       || lpad(nextval('contracts_number_seq')::text, 6, '0'), \
                l.consultation_id, l.id, a.id, c.buyer_id, a.supplier_id, l.family, \
                l.description, l.unit, a.unit_price_cents, a.vat_rate, l.quantity, \
                l.max_amount_ht_cents, $4, $5, $6 \
           FROM consultation_lots l \
           JOIN consultations c ON c.id = l.consultation_id \
           JOIN consultation_answers a ON a.id = $3 AND a.lot_id = l.id \
          WHERE l.id = $2 \
      RETURNING id",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<SqlUuid, _>(lot)
    .bind::<SqlUuid, _>(answer)
    .bind::<BigInt, _>(amount_ht_cents)
    .bind::<Date, _>(valid_from)
    .bind::<Date, _>(valid_until)
    .get_result(conn)
    .await?;
    diesel::sql_query(
        "INSERT INTO contract_canteens (contract_id, canteen_id) \
         SELECT $1, canteen_id FROM consultation_lot_sites WHERE lot_id = $2",
    )
    .bind::<SqlUuid, _>(row.id)
    .bind::<SqlUuid, _>(lot)
    .execute(conn)
    .await?;
    Ok(row.id)
}

#[derive(QueryableByName, Debug, Clone)]
pub struct ContractRow {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Text)]
    pub number: String,
    #[diesel(sql_type = SqlUuid)]
    pub consultation_id: Uuid,
    #[diesel(sql_type = Int2)]
    pub lot_number: i16,
    #[diesel(sql_type = SqlUuid)]
    pub buyer_id: Uuid,
    #[diesel(sql_type = Text)]
    pub buyer_name: String,
    #[diesel(sql_type = SqlUuid)]
    pub supplier_id: Uuid,
    #[diesel(sql_type = Text)]
    pub supplier_name: String,
    #[diesel(sql_type = Array<SqlUuid>)]
    pub canteen_ids: Vec<Uuid>,
    #[diesel(sql_type = Array<Text>)]
    pub canteen_names: Vec<String>,
    #[diesel(sql_type = Text)]
    pub family: String,
    #[diesel(sql_type = Text)]
    pub description: String,
    #[diesel(sql_type = Text)]
    pub unit: String,
    #[diesel(sql_type = BigInt)]
    pub unit_price_cents: i64,
    #[diesel(sql_type = Numeric)]
    pub vat_rate: Decimal,
    #[diesel(sql_type = Nullable<Numeric>)]
    pub quantity: Option<Decimal>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub max_amount_ht_cents: Option<i64>,
    #[diesel(sql_type = BigInt)]
    pub amount_ht_cents: i64,
    #[diesel(sql_type = Date)]
    pub valid_from: NaiveDate,
    #[diesel(sql_type = Date)]
    pub valid_until: NaiveDate,
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
}

const SELECT: &str = "SELECT k.id, k.number, k.consultation_id, l.number AS lot_number, \
            k.buyer_id, b.name AS buyer_name, k.supplier_id, s.name AS supplier_name, \
            ARRAY(SELECT kc.canteen_id FROM contract_canteens kc JOIN organisations o \
                    ON o.id = kc.canteen_id WHERE kc.contract_id = k.id ORDER BY o.name, o.id) \
              AS canteen_ids, \
            ARRAY(SELECT o.name FROM contract_canteens kc JOIN organisations o \
                    ON o.id = kc.canteen_id WHERE kc.contract_id = k.id ORDER BY o.name, o.id) \
              AS canteen_names, \
            k.family, k.description, k.unit, k.unit_price_cents, k.vat_rate, k.quantity, \
            k.max_amount_ht_cents, k.amount_ht_cents, k.valid_from, k.valid_until, k.status, \
            k.created_at \
       FROM contracts k \
       JOIN consultation_lots l ON l.id = k.lot_id \
       JOIN organisations b ON b.id = k.buyer_id \
       JOIN organisations s ON s.id = k.supplier_id";

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<ContractRow>> {
    diesel::sql_query(format!("{SELECT} WHERE k.id = $1"))
        .bind::<SqlUuid, _>(id)
        .get_result(conn)
        .await
        .optional()
}

/// The contracts `organisation` is a party to (buyer, supplier or a
/// delivered canteen), newest first.
pub async fn list_for(
    conn: &mut AsyncPgConnection,
    organisation: Uuid,
) -> QueryResult<Vec<ContractRow>> {
    diesel::sql_query(format!(
        "{SELECT} WHERE k.buyer_id = $1 OR k.supplier_id = $1 \
                     OR EXISTS (SELECT 1 FROM contract_canteens kc \
                                 WHERE kc.contract_id = k.id AND kc.canteen_id = $1) \
          ORDER BY k.created_at DESC, k.id LIMIT 1000"
    ))
    .bind::<SqlUuid, _>(organisation)
    .load(conn)
    .await
}

/// The EPCIs of a contract's buyer and canteens: their authorities read it.
pub async fn epcis(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Vec<String>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        epci: String,
    }
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT DISTINCT coalesce(o.authority_epci, m.epci_siren) AS epci \
           FROM contracts k \
           JOIN organisations o ON o.id = k.buyer_id \
                OR o.id IN (SELECT canteen_id FROM contract_canteens WHERE contract_id = k.id) \
           JOIN communes m ON m.insee = o.commune_insee \
          WHERE k.id = $1 AND coalesce(o.authority_epci, m.epci_siren) IS NOT NULL",
    )
    .bind::<SqlUuid, _>(id)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.epci).collect())
}

/// What a DECP record needs of a contract.
#[derive(QueryableByName, Debug, Clone)]
pub struct DecpRow {
    #[diesel(sql_type = Text)]
    pub number: String,
    #[diesel(sql_type = Text)]
    pub buyer_siret: String,
    #[diesel(sql_type = Text)]
    pub buyer_commune_insee: String,
    #[diesel(sql_type = Text)]
    pub supplier_siret: String,
    #[diesel(sql_type = Text)]
    pub title: String,
    #[diesel(sql_type = Int2)]
    pub lot_number: i16,
    #[diesel(sql_type = Text)]
    pub description: String,
    #[diesel(sql_type = Text)]
    pub family: String,
    #[diesel(sql_type = Text)]
    pub procedure: String,
    #[diesel(sql_type = Nullable<Int4>)]
    pub duration_months: Option<i32>,
    #[diesel(sql_type = Date)]
    pub valid_from: NaiveDate,
    #[diesel(sql_type = Date)]
    pub valid_until: NaiveDate,
    #[diesel(sql_type = Date)]
    pub notified_on: NaiveDate,
    #[diesel(sql_type = BigInt)]
    pub amount_ht_cents: i64,
    #[diesel(sql_type = Text)]
    pub origin: String,
    #[diesel(sql_type = BigInt)]
    pub answers: i64,
}

/// The contracts of `amount` HT or more whose buyer is the authority
/// `authority` or a canteen of its EPCI, oldest first.
pub async fn decp_rows(
    conn: &mut AsyncPgConnection,
    authority: Uuid,
    epci: &str,
    min_amount_ht_cents: i64,
) -> QueryResult<Vec<DecpRow>> {
    diesel::sql_query(
        "SELECT k.number, b.siret AS buyer_siret, b.commune_insee AS buyer_commune_insee, \
                s.siret AS supplier_siret, c.title, l.number AS lot_number, l.description, \
                k.family, c.procedure, c.duration_months, k.valid_from, k.valid_until, \
                (k.created_at AT TIME ZONE 'Europe/Paris')::date AS notified_on, \
                k.amount_ht_cents, a.origin, \
                (SELECT count(*) FROM consultation_answers x WHERE x.lot_id = l.id) AS answers \
           FROM contracts k \
           JOIN consultations c ON c.id = k.consultation_id \
           JOIN consultation_lots l ON l.id = k.lot_id \
           JOIN consultation_answers a ON a.id = k.answer_id \
           JOIN organisations b ON b.id = k.buyer_id \
           JOIN communes bm ON bm.insee = b.commune_insee \
           JOIN organisations s ON s.id = k.supplier_id \
          WHERE k.amount_ht_cents >= $3 \
            AND (k.buyer_id = $1 OR (b.kind = 'canteen' AND bm.epci_siren = $2)) \
          ORDER BY k.created_at, k.id",
    )
    .bind::<SqlUuid, _>(authority)
    .bind::<Text, _>(epci)
    .bind::<BigInt, _>(min_amount_ht_cents)
    .load(conn)
    .await
}

/// Is `user` a member of one of `organisations`?
pub async fn member_of_any(
    conn: &mut AsyncPgConnection,
    user: Uuid,
    organisations: &[Uuid],
) -> QueryResult<bool> {
    use crate::schema::memberships;
    diesel::select(diesel::dsl::exists(
        memberships::table
            .filter(memberships::user_id.eq(user))
            .filter(memberships::organisation_id.eq_any(organisations)),
    ))
    .get_result(conn)
    .await
}

/// Is `user` a member of a verified authority speaking for one of `epcis`?
pub async fn speaks_for_any(
    conn: &mut AsyncPgConnection,
    user: Uuid,
    epcis: &[String],
) -> QueryResult<bool> {
    use crate::schema::{memberships, organisations};
    diesel::select(diesel::dsl::exists(
        memberships::table
            .inner_join(organisations::table)
            .filter(memberships::user_id.eq(user))
            .filter(organisations::kind.eq("authority"))
            .filter(organisations::status.eq("verified"))
            .filter(organisations::authority_epci.eq_any(epcis)),
    ))
    .get_result(conn)
    .await
}
