//! A year of orders: what the territory's canteens bought, week after week,
//! at every stage of the lifecycle, written straight to the tables with the
//! same rows, snapshots, totals and events as checkout and transitions make.

use chrono::{DateTime, Datelike, Days, NaiveDate, TimeZone, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::Rng;
use super::territory::{Buyer, Seller, Territory};
use crate::catalog::queries::OfferRow;
use crate::codes::OrderStatus;
use crate::orders::money::{line_cents, totals};
use crate::orders::queries::{EventRow, LineRow, OrderRow};
use crate::schema::{order_events, order_lines, orders};

/// What the generator makes: only delivered lines (for benchmarks), or a
/// living year with every status and orders still to come.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Living,
    DeliveredOnly,
}

#[derive(Default)]
struct Batch {
    orders: Vec<OrderRow>,
    lines: Vec<LineRow>,
    events: Vec<EventRow>,
}

impl Batch {
    async fn flush(&mut self, conn: &mut AsyncPgConnection) -> QueryResult<()> {
        // Under PostgreSQL's 65,535 bind parameters per statement.
        for chunk in self.orders.chunks(4000) {
            diesel::insert_into(orders::table)
                .values(chunk)
                .execute(conn)
                .await?;
        }
        for chunk in self.lines.chunks(2500) {
            diesel::insert_into(order_lines::table)
                .values(chunk)
                .execute(conn)
                .await?;
        }
        for chunk in self.events.chunks(6000) {
            diesel::insert_into(order_events::table)
                .values(chunk)
                .execute(conn)
                .await?;
        }
        self.orders.clear();
        self.lines.clear();
        self.events.clear();
        Ok(())
    }
}

fn at(date: NaiveDate, hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.from_utc_datetime(&date.and_hms_opt(hour, minute, 0).unwrap_or_default())
}

/// A UUID v7 for `time`, its random part drawn from `rng`: deterministic,
/// and time-ordered like the ids the service makes.
fn id_at(time: DateTime<Utc>, rng: &mut Rng) -> Uuid {
    let mut bytes = [0u8; 10];
    bytes[..8].copy_from_slice(&rng.next_u64().to_le_bytes());
    bytes[8..].copy_from_slice(&(rng.next_u64() as u16).to_le_bytes());
    uuid::Builder::from_unix_timestamp_millis(time.timestamp_millis() as u64, &bytes).into_uuid()
}

fn school_holiday(date: NaiveDate) -> bool {
    let (m, d) = (date.month(), date.day());
    m == 8
        || (m == 7 && d > 7)
        || (m == 12 && d > 19)
        || (m == 1 && d < 3)
        || (m == 2 && (10..24).contains(&d))
        || (m == 4 && (7..21).contains(&d))
}

/// A quantity near `usual` scaled to the canteen's size, on the offer's step.
fn quantity(offer: &OfferRow, usual: u32, meals: i32, rng: &mut Rng) -> Decimal {
    let scale = (f64::from(meals) / 300.0) * (0.6 + rng.unit() * 0.8);
    let raw = Decimal::from_f64_retain(f64::from(usual) * scale).unwrap_or(Decimal::ONE);
    let steps = (raw / offer.order_step).round().max(Decimal::ONE);
    (steps * offer.order_step).max(offer.min_order_quantity)
}

/// What one canteen orders from one supplier for `date`: in-season offers.
fn choose_lines(
    seller: &Seller,
    buyer: &Buyer,
    month: u32,
    rng: &mut Rng,
) -> Vec<(OfferRow, Decimal)> {
    let in_season: Vec<&(OfferRow, u32)> = seller
        .offers
        .iter()
        .filter(|(o, _)| match (o.available_from, o.available_until) {
            (Some(from), Some(until)) => {
                let season = (from.month(), until.month());
                super::catalogue::in_season(Some(season), month)
            }
            _ => true,
        })
        .collect();
    if in_season.is_empty() {
        return Vec::new();
    }
    let count = 1 + rng.below(in_season.len().min(4) as u64) as usize;
    let mut picked: Vec<(OfferRow, Decimal)> = Vec::new();
    for _ in 0..count {
        let (offer, usual) = in_season[rng.below(in_season.len() as u64) as usize];
        if picked.iter().all(|(o, _)| o.id != offer.id) {
            picked.push((
                offer.clone(),
                quantity(offer, *usual, buyer.daily_meals, rng),
            ));
        }
    }
    picked
}

/// Which sellers a canteen buys from this time. Most canteens buy mostly
/// from wholesalers; engaged ones mostly from organic and local farms.
fn choose_sellers<'a>(
    territory: &'a Territory,
    buyer: &Buyer,
    weekday: i16,
    rng: &mut Rng,
) -> Vec<&'a Seller> {
    let (wholesalers, producers): (Vec<&Seller>, Vec<&Seller>) = territory
        .sellers
        .iter()
        .filter(|s| s.weekdays.contains(&weekday) && !s.offers.is_empty())
        .partition(|s| s.wholesale);
    let wholesale_share = if buyer.engaged { 0.15 } else { 0.85 };
    let wanted = 1 + rng.below(3) as usize;
    let mut chosen: Vec<&Seller> = Vec::new();
    for _ in 0..wanted * 6 {
        if chosen.len() == wanted {
            break;
        }
        let pool = if rng.chance(wholesale_share) {
            &wholesalers
        } else {
            &producers
        };
        let Some(s) = pool.get(rng.below(pool.len() as u64) as usize) else {
            continue;
        };
        let fish_only = s
            .offers
            .iter()
            .all(|(o, _)| o.family == "PRODUITS_DE_LA_MER");
        let weight = match (buyer.engaged, s.organic, s.local) {
            // fish once in a while (from one of five wholesalers),
            // vegetables and fruit every time
            _ if s.wholesale && fish_only => 0.04,
            _ if s.wholesale => 1.0,
            (true, true, _) => 1.0,
            (true, false, true) => 0.6,
            (true, false, false) => 0.2,
            (false, _, true) => 0.6,
            (false, _, false) => 0.3,
        };
        if !chosen.iter().any(|c| c.id == s.id) && rng.chance(weight) {
            chosen.push(s);
        }
    }
    chosen
}

/// Where an order made for `date` stands `today`, and who moved it.
fn fate(date: NaiveDate, today: NaiveDate, mode: Mode, rng: &mut Rng) -> Vec<OrderStatus> {
    use OrderStatus::*;
    if mode == Mode::DeliveredOnly {
        return vec![Submitted, Accepted, Delivered, Received];
    }
    let r = rng.unit();
    if date >= today {
        return if r < 0.5 {
            vec![Submitted]
        } else {
            vec![Submitted, Accepted]
        };
    }
    let recent = date + Days::new(14) > today;
    match r {
        r if r < 0.04 => vec![Submitted, Rejected],
        r if r < 0.08 => vec![Submitted, Cancelled],
        r if r < 0.11 => vec![Submitted, Accepted, Delivered, Disputed],
        r if recent && r < 0.6 => vec![Submitted, Accepted, Delivered],
        _ => vec![Submitted, Accepted, Delivered, Received],
    }
}

/// Generates orders for the delivery days from `start` to `end`, `rounds`
/// times each, until `max_lines` lines (if given); returns the line count.
#[allow(clippy::too_many_arguments)]
pub async fn generate(
    conn: &mut AsyncPgConnection,
    territory: &Territory,
    rng: &mut Rng,
    (start, end): (NaiveDate, NaiveDate),
    today: NaiveDate,
    mode: Mode,
    rounds: u32,
    max_lines: Option<u64>,
) -> QueryResult<u64> {
    let mut batch = Batch::default();
    let mut written = 0u64;
    let mut date = start;
    'days: while date <= end {
        let weekday = date.weekday().number_from_monday() as i16;
        if weekday == 2 || weekday == 4 {
            for _ in 0..rounds {
                for buyer in &territory.buyers {
                    if buyer.school && school_holiday(date) || !rng.chance(0.55) {
                        continue;
                    }
                    let checkout_id = id_at(at(date - Days::new(5), 9, 0), rng);
                    for seller in choose_sellers(territory, buyer, weekday, rng) {
                        let mut picked = choose_lines(seller, buyer, date.month(), rng);
                        if let Some(max) = max_lines {
                            picked.truncate((max - written) as usize);
                        }
                        if picked.is_empty() {
                            continue;
                        }
                        let path = fate(date, today, mode, rng);
                        written += picked.len() as u64;
                        make_order(
                            &mut batch,
                            buyer,
                            seller,
                            checkout_id,
                            date,
                            picked,
                            &path,
                            rng,
                        );
                        if max_lines.is_some_and(|max| written >= max) {
                            break 'days;
                        }
                    }
                }
            }
            if batch.lines.len() >= 20_000 {
                batch.flush(conn).await?;
            }
        }
        date = date + Days::new(1);
    }
    batch.flush(conn).await?;
    Ok(written)
}

#[allow(clippy::too_many_arguments)]
fn make_order(
    batch: &mut Batch,
    buyer: &Buyer,
    seller: &Seller,
    checkout_id: Uuid,
    date: NaiveDate,
    picked: Vec<(OfferRow, Decimal)>,
    path: &[OrderStatus],
    rng: &mut Rng,
) {
    let placed = at(
        date - Days::new(3 + rng.below(5)),
        8 + rng.below(9) as u32,
        rng.below(60) as u32,
    );
    let id = id_at(placed, rng);
    let delivered = path.contains(&OrderStatus::Delivered);
    let open = matches!(
        path.last(),
        Some(OrderStatus::Submitted | OrderStatus::Accepted)
    );
    let mut lines = Vec::with_capacity(picked.len());
    for (n, (offer, ordered)) in picked.into_iter().enumerate() {
        let delivered_q = delivered.then(|| match offer.unit.as_str() {
            // real weight: ±3 %; now and then a short delivery
            "KGM" if rng.chance(0.05) => (ordered * Decimal::new(70, 2)).round_dp(3),
            "KGM" => (ordered * Decimal::new(970 + rng.below(61) as i64, 3)).round_dp(3),
            _ => ordered,
        });
        let charged = delivered_q.unwrap_or(ordered);
        lines.push(LineRow {
            order_id: id,
            line_no: n as i16,
            offer_id: Some(offer.id),
            product_name: offer.name.clone(),
            family: offer.family.clone(),
            labels: offer.labels.clone(),
            origin: offer.origin.clone(),
            producer_id: offer.producer_id,
            producer_name: offer.producer_name.clone(),
            producer_commune_insee: offer.producer_commune_insee.clone(),
            producer_commune: String::new(),
            unit: offer.unit.clone(),
            package_net_quantity: offer.package_net_quantity,
            package_net_unit: offer.package_net_unit.clone(),
            unit_price_cents: offer.price_cents,
            vat_rate: offer.vat_rate,
            quantity_ordered: ordered,
            quantity_delivered: delivered_q,
            stock_held: if open && offer.stock_available.is_some() {
                ordered
            } else {
                Decimal::ZERO
            },
            total_ht_cents: line_cents(charged, offer.price_cents).unwrap_or(0),
            dispute_reason: None,
            contract_id: None,
            contract_line_no: None,
        });
    }
    if path.last() == Some(&OrderStatus::Disputed) {
        lines[0].dispute_reason = Some("Produit abîmé à la livraison".to_owned());
    }
    let t = totals(lines.iter().map(|l| (l.vat_rate, l.total_ht_cents)));
    let mut time = placed;
    let mut previous: Option<OrderStatus> = None;
    for status in path {
        let (actor, org, reason) = match status {
            OrderStatus::Submitted | OrderStatus::Received => (buyer.owner, buyer.id, None),
            OrderStatus::Cancelled => (
                buyer.owner,
                buyer.id,
                Some("Sortie scolaire : repas annulés"),
            ),
            OrderStatus::Disputed => (
                buyer.owner,
                buyer.id,
                Some("line 0: Produit abîmé à la livraison"),
            ),
            OrderStatus::Rejected => (
                seller.owner,
                seller.id,
                Some("Récolte insuffisante cette semaine"),
            ),
            OrderStatus::Accepted | OrderStatus::Delivered => (seller.owner, seller.id, None),
        };
        time = match status {
            OrderStatus::Submitted => placed,
            OrderStatus::Delivered => at(date, 7, 30),
            OrderStatus::Received | OrderStatus::Disputed => at(date, 13, 0),
            _ => time + chrono::Duration::hours(3),
        };
        batch.events.push(EventRow {
            id: id_at(time, rng),
            order_id: id,
            actor_user_id: actor,
            actor_organisation_id: org,
            from_status: previous.map(|s| s.as_str().to_owned()),
            to_status: status.as_str().to_owned(),
            reason: reason.map(str::to_owned),
            at: time,
        });
        previous = Some(*status);
    }
    batch.orders.push(OrderRow {
        id,
        checkout_id,
        buyer_id: buyer.id,
        supplier_id: seller.id,
        delivery_site_id: buyer.id,
        delivery_date: date,
        note: String::new(),
        status: path.last().map_or("submitted", |s| s.as_str()).to_owned(),
        total_ht_cents: t.ht_cents,
        total_vat_cents: t.vat_cents,
        total_ttc_cents: t.ttc_cents,
        placed_by: buyer.owner,
        created_at: placed,
        updated_at: time,
    });
    batch.lines.extend(lines);
}

/// Lines name their producer's commune; offers held stock for open orders.
pub async fn finish(conn: &mut AsyncPgConnection) -> QueryResult<()> {
    diesel::sql_query(
        "UPDATE order_lines l SET producer_commune = c.name FROM communes c \
          WHERE c.insee = l.producer_commune_insee AND l.producer_commune = ''",
    )
    .execute(conn)
    .await?;
    diesel::sql_query(
        "UPDATE offers o SET stock_reserved = h.held, stock_available = o.stock_available \
           FROM (SELECT offer_id, sum(stock_held) AS held FROM order_lines GROUP BY offer_id) h \
          WHERE h.offer_id = o.id AND o.stock_available IS NOT NULL",
    )
    .execute(conn)
    .await?;
    Ok(())
}
