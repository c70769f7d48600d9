//! How answers are scored and ranked (docs/consultations.md). No I/O.
//!
//! - Every criterion gives a mark from 0 to 100. Price is marked
//!   automatically: `100 × lowest unit price of the lot / this unit price`
//!   (the lowest price gets 100; a price of 0 gets 100). The buyer marks the
//!   other criteria, each with a written justification.
//! - An answer's score is `Σ weight × mark / 100`, from 0 to 100. Marks and
//!   scores are kept to 2 decimals, rounded half away from zero.
//! - Ranking per lot: higher score first; on a tie, lower unit price, then
//!   the earlier answer (its last revision's reception time). An answer not
//!   yet marked on every criterion has no score and is ranked after the
//!   scored ones; a lot is awarded only once every answer has its score.

use chrono::{DateTime, Utc};
use rust_decimal::{Decimal, RoundingStrategy};

/// An answer as the ranking sees it.
#[derive(Debug, Clone)]
pub struct Scored<Id> {
    pub id: Id,
    pub unit_price_cents: i64,
    pub received_at: DateTime<Utc>,
    /// The price mark, computed.
    pub price_mark: Decimal,
    /// `None` until every criterion is marked.
    pub score: Option<Decimal>,
}

fn round(value: Decimal) -> Decimal {
    value.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// The price mark of `price` against the lowest price of its lot.
pub fn price_mark(price_cents: i64, lowest_cents: i64) -> Decimal {
    if price_cents <= 0 {
        return Decimal::ONE_HUNDRED;
    }
    round(Decimal::ONE_HUNDRED * Decimal::from(lowest_cents.max(0)) / Decimal::from(price_cents))
}

/// `Σ weight × mark / 100` over the criteria, `marks[i]` for `weights[i]`;
/// `None` if a mark is missing.
pub fn score(weights: &[i16], marks: &[Option<Decimal>]) -> Option<Decimal> {
    let mut total = Decimal::ZERO;
    for (weight, mark) in weights.iter().zip(marks) {
        total += Decimal::from(*weight) * (*mark)? / Decimal::ONE_HUNDRED;
    }
    Some(round(total))
}

/// Sorts one lot's answers by rank (best first).
pub fn rank<Id>(answers: &mut [Scored<Id>]) {
    answers.sort_by(|a, b| {
        let by_score = match (a.score, b.score) {
            (Some(x), Some(y)) => y.cmp(&x),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        };
        by_score
            .then(a.unit_price_cents.cmp(&b.unit_price_cents))
            .then(a.received_at.cmp(&b.received_at))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    #[test]
    fn the_lowest_price_gets_100_and_others_in_proportion() {
        assert_eq!(price_mark(180, 180), d("100"));
        assert_eq!(price_mark(240, 180), d("75"));
        assert_eq!(price_mark(270, 180), d("66.67"));
        assert_eq!(price_mark(0, 0), d("100"));
    }

    #[test]
    fn the_score_is_the_weighted_marks_and_needs_every_mark() {
        let weights = [60, 40];
        assert_eq!(
            score(&weights, &[Some(d("75")), Some(d("50"))]),
            Some(d("65"))
        );
        assert_eq!(
            score(&weights, &[Some(d("66.67")), Some(d("100"))]),
            Some(d("80"))
        );
        assert_eq!(score(&weights, &[Some(d("100")), None]), None);
    }

    #[test]
    fn ties_go_to_the_lower_price_then_the_earlier_answer() {
        let at = |s: i64| DateTime::from_timestamp(s, 0).unwrap();
        let mut answers = vec![
            Scored {
                id: 'a',
                unit_price_cents: 200,
                received_at: at(3),
                price_mark: d("90"),
                score: Some(d("80")),
            },
            Scored {
                id: 'b',
                unit_price_cents: 180,
                received_at: at(2),
                price_mark: d("100"),
                score: Some(d("80")),
            },
            Scored {
                id: 'c',
                unit_price_cents: 150,
                received_at: at(1),
                price_mark: d("100"),
                score: None,
            },
            Scored {
                id: 'd',
                unit_price_cents: 300,
                received_at: at(0),
                price_mark: d("60"),
                score: Some(d("90")),
            },
            Scored {
                id: 'e',
                unit_price_cents: 180,
                received_at: at(1),
                price_mark: d("100"),
                score: Some(d("80")),
            },
        ];
        rank(&mut answers);
        let order: String = answers.iter().map(|a| a.id).collect();
        assert_eq!(order, "debac");
    }
}
