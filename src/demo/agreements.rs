//! The demonstration's delivery terms, direct contracts, standing orders
//! and closures:
//! - every farm and distributor with offers delivers on its offers' days,
//!   orders close the day before at 12:00, from 30 € HT (farms) or 80 € HT
//!   (distributors);
//! - the demo canteen and the five canteens that buy most each have a
//!   contract with their main farm (its three offers they buy most, 8 %
//!   below the catalog, 5 % more off from ten minimum orders, up to
//!   20,000 € HT over a year), and a standing order of those products on
//!   Mondays and Thursdays from the start of next week, placed 14 days
//!   ahead;
//! - those canteens close for a week of (fictitious) school holidays in
//!   three weeks, labelled as demonstration data.
//!
//! Written with the service's own queries, as its members would have.

use chrono::{Datelike, Days, NaiveDate};
use diesel::prelude::*;
use diesel::sql_types::Uuid as SqlUuid;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::contracts::queries::{self as contracts, LineRow, NewContract};
use crate::standing::queries::{self as standing, ClosureRow, TemplateRow};

/// The demo canteen's email, whose canteen always gets a contract.
const DEMO_CANTEEN: &str = "contact@ecole-elementaire-jean-mace-saint-michel-sur-orge.demo";

/// A quantity worth about 15 € HT at the catalog price, in whole steps and
/// at least the minimum: three lines pass a farm's 30 € minimum.
fn about_fifteen_euros(o: &crate::catalog::queries::OfferRow) -> Decimal {
    let step = if o.order_step > Decimal::ZERO {
        o.order_step
    } else {
        Decimal::ONE
    };
    let price = Decimal::from(o.price_cents.max(1));
    let steps = (Decimal::from(1500) / price / step).ceil();
    (steps * step).max(o.min_order_quantity).normalize()
}

#[derive(QueryableByName)]
struct Engaged {
    #[diesel(sql_type = SqlUuid)]
    canteen: Uuid,
    #[diesel(sql_type = SqlUuid)]
    member: Uuid,
    #[diesel(sql_type = SqlUuid)]
    farm: Uuid,
}

#[derive(QueryableByName)]
struct Bought {
    #[diesel(sql_type = SqlUuid)]
    offer: Uuid,
}

pub async fn seed(conn: &mut AsyncPgConnection, today: NaiveDate) -> anyhow::Result<()> {
    diesel::sql_query(
        "INSERT INTO delivery_terms (supplier_id, delivery_weekdays, cutoff_days, cutoff_time, \
                min_order_ht_cents) \
         SELECT s.id, \
                (SELECT array_agg(DISTINCT d ORDER BY d) FROM offers o, unnest(o.delivery_weekdays) d \
                  WHERE o.supplier_id = s.id), \
                1, '12:00', CASE s.kind WHEN 'farm' THEN 3000 ELSE 8000 END \
           FROM organisations s \
          WHERE s.kind IN ('farm', 'distributor') AND s.status = 'verified' \
            AND EXISTS (SELECT 1 FROM offers o WHERE o.supplier_id = s.id)",
    )
    .execute(conn)
    .await?;

    // The demo canteen and the five that buy most, each with the farm it
    // buys most from.
    let engaged: Vec<Engaged> = diesel::sql_query(
        "WITH spend AS ( \
              SELECT o.buyer_id, o.supplier_id, sum(o.total_ht_cents) AS ht \
                FROM orders o JOIN organisations s ON s.id = o.supplier_id AND s.kind = 'farm' \
               WHERE o.status NOT IN ('cancelled', 'rejected') \
               GROUP BY o.buyer_id, o.supplier_id), \
            top AS ( \
              SELECT DISTINCT ON (buyer_id) buyer_id, supplier_id, \
                     sum(ht) OVER (PARTITION BY buyer_id) AS total \
                FROM spend ORDER BY buyer_id, ht DESC, supplier_id), \
            demo AS ( \
              SELECT m.organisation_id FROM memberships m JOIN users u ON u.id = m.user_id \
               WHERE u.email = $1) \
         SELECT t.buyer_id AS canteen, \
                (SELECT m.user_id FROM memberships m WHERE m.organisation_id = t.buyer_id \
                  ORDER BY m.user_id LIMIT 1) AS member, \
                t.supplier_id AS farm \
           FROM top t \
          ORDER BY (t.buyer_id IN (SELECT organisation_id FROM demo)) DESC, t.total DESC, t.buyer_id \
          LIMIT 6",
    )
    .bind::<diesel::sql_types::Text, _>(DEMO_CANTEEN)
    .load(conn)
    .await?;

    let monday = today + Days::new(u64::from(7 - today.weekday().num_days_from_monday()));
    let holidays = (today + Days::new(21), today + Days::new(27));
    for (n, e) in engaged.iter().enumerate() {
        let bought: Vec<Bought> = diesel::sql_query(
            "SELECT l.offer_id AS offer FROM order_lines l \
               JOIN orders o ON o.id = l.order_id \
               JOIN offers f ON f.id = l.offer_id AND f.status = 'active' \
                    AND (f.available_from IS NULL OR f.available_from <= $3) \
                    AND (f.available_until IS NULL OR f.available_until >= $3 + 90) \
              WHERE o.buyer_id = $1 AND o.supplier_id = $2 \
              GROUP BY l.offer_id ORDER BY sum(l.total_ht_cents) DESC, l.offer_id LIMIT 3",
        )
        .bind::<SqlUuid, _>(e.canteen)
        .bind::<SqlUuid, _>(e.farm)
        .bind::<diesel::sql_types::Date, _>(today)
        .load(conn)
        .await?;
        let offers: Vec<Uuid> = bought.iter().map(|b| b.offer).collect();
        if offers.is_empty() {
            continue;
        }
        let loaded = crate::catalog::queries::load(conn, &offers).await?;
        let lines: Vec<LineRow> = (0i16..)
            .zip(&loaded)
            .map(|(line_no, o)| {
                let price = o.row.price_cents * 92 / 100;
                let step = o.row.min_order_quantity.max(o.row.order_step);
                LineRow {
                    contract_id: Uuid::nil(),
                    line_no,
                    offer_id: Some(o.row.id),
                    description: o.row.name.clone(),
                    family: o.row.family.clone(),
                    labels: o.row.labels.clone(),
                    origin: o.row.origin.clone(),
                    producer_id: o.row.producer_id,
                    producer_name: o.row.producer_name.clone(),
                    producer_commune_insee: o.row.producer_commune_insee.clone(),
                    producer_commune: o.commune.clone(),
                    unit: o.row.unit.clone(),
                    unit_price_cents: price,
                    vat_rate: o.row.vat_rate,
                    tier_min_quantities: vec![step * Decimal::from(10)],
                    tier_prices_cents: vec![price * 95 / 100],
                }
            })
            .collect();
        let description = "Produits de saison de la ferme (contrat de démonstration)";
        let reference = format!("EJ-DEMO-{:04}", n + 1);
        let id = contracts::insert_direct(
            conn,
            &NewContract {
                buyer_id: e.canteen,
                supplier_id: e.farm,
                proposed_by: e.farm,
                canteens: &[e.canteen],
                buyer_reference: Some(&reference),
                description,
                valid_from: today - Days::new(90),
                valid_until: today + Days::new(275),
                max_amount_ht_cents: Some(2_000_000),
                // Public buyers pay sooner under their own contracts.
                payment_days: Some(20),
                lines: &lines,
            },
        )
        .await?;
        contracts::set_status(conn, id, "active", None).await?;

        let template = TemplateRow {
            id: Uuid::now_v7(),
            buyer_id: e.canteen,
            delivery_site_id: e.canteen,
            name: "Commande de la semaine (démonstration)".into(),
            note: String::new(),
            starts_on: monday,
            ends_on: None,
            days_ahead: 14,
            status: "active".into(),
            created_by: e.member,
            created_at: chrono::Utc::now(),
        };
        let mut template_lines = Vec::new();
        for weekday in [1i16, 4] {
            for o in &loaded {
                if !o.row.delivery_weekdays.contains(&weekday) {
                    continue;
                }
                template_lines.push(standing::LineRow {
                    standing_order_id: template.id,
                    line_no: i16::try_from(template_lines.len()).unwrap_or(0),
                    weekday,
                    offer_id: Some(o.row.id),
                    contract_id: None,
                    contract_line_no: None,
                    quantity: about_fifteen_euros(&o.row),
                });
            }
        }
        if !template_lines.is_empty() {
            standing::insert(conn, &template, &template_lines).await?;
        }
        standing::add_closure(
            conn,
            &ClosureRow {
                id: Uuid::now_v7(),
                canteen_id: e.canteen,
                starts_on: holidays.0,
                ends_on: holidays.1,
                reason: "Vacances scolaires (donnée de démonstration)".into(),
                set_by: e.canteen,
            },
        )
        .await?;
    }
    Ok(())
}
