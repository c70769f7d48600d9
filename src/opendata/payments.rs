//! The release's payment delays, without I/O: for every month of the period
//! and sector category of canteens, the invoices whose payment was completed
//! that month and their median days from issue to payment.
//!
//! A row is published only if it passes the primary rules of
//! `disclosure.rs` on both sides, counted in invoices: `min_units` canteens
//! and suppliers, none behind more than `dominance` % of the invoices (it
//! would be behind the median), no two able to tell a third one's count.
//! Empty rows are suppressed like small ones, so that a row's status says
//! nothing of whether anyone paid. No total is published: a median is not
//! a sum, and no published count adds up to a hidden one, so primary
//! suppression is all the protection a row needs.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::disclosure::{Contributions, Thresholds, top_three};
use super::package::SECTOR_CATEGORIES;
use super::queries::PaymentDelayRow;
use crate::invoices::delays::{days_to_pay, median};
use crate::invoices::queries::TerritoryPayment;

/// How many rows of `payment_delays` were published and suppressed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DelayCounts {
    pub published: usize,
    pub suppressed: usize,
}

#[derive(Default)]
struct Cell {
    days: Vec<i64>,
    suppliers: HashMap<Uuid, i64>,
    buyers: HashMap<Uuid, i64>,
}

impl Cell {
    fn contributions(&self) -> Contributions {
        Contributions {
            value_cents: self.days.len() as i64,
            suppliers: self.suppliers.len() as i64,
            buyers: self.buyers.len() as i64,
            top_suppliers: top_three(self.suppliers.values().copied()),
            top_buyers: top_three(self.buyers.values().copied()),
        }
    }
}

/// The rows of `payment_delays`: months (`YYYY-MM`) × sector categories, in
/// that order, each published or suppressed. Payments outside `months` or
/// not yet paid are ignored.
pub fn rows(
    release: Uuid,
    months: &[String],
    payments: &[TerritoryPayment],
    thresholds: &Thresholds,
) -> (Vec<PaymentDelayRow>, DelayCounts) {
    let wanted: BTreeSet<&str> = months.iter().map(String::as_str).collect();
    let mut cells: BTreeMap<(String, &str), Cell> = BTreeMap::new();
    for p in payments {
        let Some(paid_on) = p.paid_on else { continue };
        let month = paid_on.format("%Y-%m").to_string();
        if !wanted.contains(month.as_str()) {
            continue;
        }
        let cell = cells
            .entry((month, p.sector_category.as_str()))
            .or_default();
        cell.days.push(days_to_pay(p.issue_date, paid_on));
        *cell.suppliers.entry(p.supplier_id).or_default() += 1;
        *cell.buyers.entry(p.buyer_id).or_default() += 1;
    }
    let mut counts = DelayCounts::default();
    let mut rows = Vec::with_capacity(months.len() * SECTOR_CATEGORIES.len());
    for month in months {
        for category in SECTOR_CATEGORIES {
            let cell = cells.remove(&(month.clone(), category));
            let shown = cell
                .as_ref()
                .is_some_and(|c| thresholds.passes(&c.contributions()));
            let (invoices, median_days) = match cell {
                Some(mut c) if shown => (
                    i32::try_from(c.days.len()).ok(),
                    median(&mut c.days)
                        .and_then(Decimal::from_f64_retain)
                        .map(|d| d.round_dp(1)),
                ),
                _ => (None, None),
            };
            if shown {
                counts.published += 1;
            } else {
                counts.suppressed += 1;
            }
            rows.push(PaymentDelayRow {
                release_id: release,
                seq: i32::try_from(rows.len() + 1).unwrap_or(i32::MAX),
                month: month.clone(),
                sector_category: category.to_owned(),
                invoices,
                median_days,
                status: if shown { "published" } else { "suppressed" }.to_owned(),
            });
        }
    }
    (rows, counts)
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    fn paid(category: &str, buyer: u128, supplier: u128, days: u64) -> TerritoryPayment {
        let issue_date = NaiveDate::from_ymd_opt(2026, 9, 20).unwrap();
        TerritoryPayment {
            sector_category: category.to_owned(),
            buyer_id: Uuid::from_u128(buyer),
            supplier_id: Uuid::from_u128(100 + supplier),
            issue_date,
            due_date: issue_date + chrono::Days::new(30),
            paid_on: Some(issue_date + chrono::Days::new(days)),
        }
    }

    fn row<'a>(rows: &'a [PaymentDelayRow], month: &str, category: &str) -> &'a PaymentDelayRow {
        rows.iter()
            .find(|r| r.month == month && r.sector_category == category)
            .unwrap()
    }

    #[test]
    fn a_row_is_published_only_with_enough_balanced_units_on_both_sides() {
        let months = vec!["2026-10".to_owned()];
        let mut payments = Vec::new();
        // education: 4 canteens × 4 suppliers, one invoice each: published.
        for i in 0..4 {
            payments.push(paid("education", i, i, 20 + 4 * i as u64));
        }
        // sante: 4 canteens, but one supplier issued every invoice.
        for i in 0..4 {
            payments.push(paid("sante", 10 + i, 0, 25));
        }
        // social: 4 canteens and suppliers, but one canteen paid 40 of 43.
        for i in 0..3 {
            payments.push(paid("social", 20 + i, i, 15));
        }
        for _ in 0..40 {
            payments.push(paid("social", 23, 3, 45));
        }
        // Paid in September: outside the period.
        payments.push(paid("education", 0, 0, 5));
        let (rows, counts) = rows(Uuid::nil(), &months, &payments, &Thresholds::default());
        assert_eq!(rows.len(), SECTOR_CATEGORIES.len());
        assert_eq!(
            counts,
            DelayCounts {
                published: 1,
                suppressed: 5
            }
        );
        let education = row(&rows, "2026-10", "education");
        assert_eq!(education.status, "published");
        assert_eq!(education.invoices, Some(4));
        // 20, 24, 28, 32 days: the median is 26.
        assert_eq!(education.median_days, Some(Decimal::new(260, 1)));
        for category in ["sante", "social", "administration", "entreprise", "loisir"] {
            let r = row(&rows, "2026-10", category);
            assert_eq!(r.status, "suppressed", "{category}");
            assert_eq!((r.invoices, r.median_days), (None, None));
        }
        let seqs: Vec<i32> = rows.iter().map(|r| r.seq).collect();
        assert_eq!(seqs, (1..=6).collect::<Vec<_>>());
    }
}
