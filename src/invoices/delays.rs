//! Payment delays as an authority follows them, per group of canteens:
//! invoices paid in a period, the median days from issue to payment (the
//! supplier deposits an invoice the day it issues it, so this is the buyer's
//! *délai global de paiement*), how many were paid after their due date and
//! how many fell due unpaid. No I/O.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::queries::TerritoryPayment;

/// The group of every canteen together.
pub const ALL: &str = "all";

/// One group's payments over the period.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DelayGroup {
    /// A sector category (`education`, `sante`, `social`, `administration`,
    /// `entreprise`, `loisir`) or `all`.
    #[schema(example = "education")]
    pub group: String,
    /// Canteens with an invoice paid in the period or fallen due unpaid.
    pub canteens: i64,
    /// Invoices whose payment was completed in the period.
    pub invoices_paid: i64,
    /// Median days from issue to the payment that completed it; null
    /// without payments.
    #[schema(example = 27.5)]
    pub median_days_to_pay: Option<f64>,
    /// Invoices paid in the period after their due date.
    pub paid_late: i64,
    /// Invoices that fell due in the period (before today) and are unpaid.
    pub unpaid_overdue: i64,
}

/// Days from issue to payment.
pub fn days_to_pay(issue_date: NaiveDate, paid_on: NaiveDate) -> i64 {
    (paid_on - issue_date).num_days()
}

/// The median of `values` (sorted in place): the middle one, or the mean
/// of the two middle ones.
pub fn median(values: &mut [i64]) -> Option<f64> {
    values.sort_unstable();
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2] as f64),
        _ => Some((values[n / 2 - 1] + values[n / 2]) as f64 / 2.0),
    }
}

#[derive(Default)]
struct Tally {
    canteens: BTreeSet<Uuid>,
    days: Vec<i64>,
    paid_late: i64,
    unpaid_overdue: i64,
}

impl Tally {
    fn add(&mut self, p: &TerritoryPayment) {
        self.canteens.insert(p.buyer_id);
        match p.paid_on {
            Some(paid_on) => {
                self.days.push(days_to_pay(p.issue_date, paid_on));
                self.paid_late += i64::from(paid_on > p.due_date);
            }
            None => self.unpaid_overdue += 1,
        }
    }

    fn finish(mut self, group: &str) -> DelayGroup {
        DelayGroup {
            group: group.to_owned(),
            canteens: self.canteens.len() as i64,
            invoices_paid: self.days.len() as i64,
            median_days_to_pay: median(&mut self.days),
            paid_late: self.paid_late,
            unpaid_overdue: self.unpaid_overdue,
        }
    }
}

/// Each group with payments, by name, then `all`.
pub fn by_group(payments: &[TerritoryPayment]) -> Vec<DelayGroup> {
    let mut groups: BTreeMap<&str, Tally> = BTreeMap::new();
    let mut all = Tally::default();
    for p in payments {
        groups.entry(&p.sector_category).or_default().add(p);
        all.add(p);
    }
    groups
        .into_iter()
        .map(|(group, tally)| tally.finish(group))
        .chain([all.finish(ALL)])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn payment(group: &str, buyer: u128, paid_on: Option<&str>) -> TerritoryPayment {
        TerritoryPayment {
            sector_category: group.to_owned(),
            buyer_id: Uuid::from_u128(buyer),
            supplier_id: Uuid::from_u128(99),
            issue_date: day("2026-10-01"),
            due_date: day("2026-10-31"),
            paid_on: paid_on.map(day),
        }
    }

    #[test]
    fn the_median_is_the_middle_value_or_the_mean_of_the_two() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [40, 10, 25]), Some(25.0));
        assert_eq!(median(&mut [40, 10, 25, 30]), Some(27.5));
        assert_eq!(median(&mut [7]), Some(7.0));
    }

    #[test]
    fn groups_count_paid_late_and_unpaid_and_all_gathers_them() {
        let payments = [
            payment("education", 1, Some("2026-10-21")), // 20 days
            payment("education", 2, Some("2026-11-10")), // 40 days, late
            payment("education", 2, None),
            payment("sante", 3, Some("2026-10-31")), // 30 days, on the due date
        ];
        let groups = by_group(&payments);
        let names: Vec<&str> = groups.iter().map(|g| g.group.as_str()).collect();
        assert_eq!(names, ["education", "sante", ALL]);
        let education = &groups[0];
        assert_eq!(education.canteens, 2);
        assert_eq!(education.invoices_paid, 2);
        assert_eq!(education.median_days_to_pay, Some(30.0));
        assert_eq!(education.paid_late, 1);
        assert_eq!(education.unpaid_overdue, 1);
        assert_eq!(groups[1].median_days_to_pay, Some(30.0));
        assert_eq!(groups[1].paid_late, 0);
        let all = &groups[2];
        assert_eq!(
            (
                all.canteens,
                all.invoices_paid,
                all.paid_late,
                all.unpaid_overdue
            ),
            (3, 3, 1, 1)
        );
        assert_eq!(all.median_days_to_pay, Some(30.0));
        assert!(by_group(&[]).iter().all(|g| g.invoices_paid == 0));
    }
}
