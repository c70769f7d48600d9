//! Order totals in integer cents, as a French invoice computes them.
//!
//! - A line's amount HT is its quantity × unit price HT, rounded to the cent,
//!   half away from zero (2.375 kg × 3.33 €/kg = 790.875 → 7.91 €).
//! - VAT is computed once per rate on the sum of the lines at that rate, and
//!   rounded the same way (not line by line, which drifts by cents).
//! - Order HT = Σ lines HT; VAT = Σ per rate; TTC = HT + VAT.

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;
use utoipa::ToSchema;

/// Non-negative cents as euros with two decimals: 2350 → "23.50".
pub fn euros(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// One line's amount HT in cents; `None` if it does not fit in 64 bits.
pub fn line_cents(quantity: Decimal, unit_price_cents: i64) -> Option<i64> {
    quantity
        .checked_mul(Decimal::from(unit_price_cents))?
        .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero)
        .to_i64()
}

/// The VAT due on one rate's base.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct VatBreakdown {
    /// VAT rate in percent.
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$", value_type = String, example = "5.5")]
    pub rate: Decimal,
    /// Sum of the lines HT at this rate.
    pub base_cents: i64,
    pub vat_cents: i64,
}

/// An order's totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Totals {
    pub ht_cents: i64,
    /// One entry per VAT rate present, by increasing rate.
    pub vat: Vec<VatBreakdown>,
    pub vat_cents: i64,
    pub ttc_cents: i64,
}

/// Totals of lines given as (VAT rate, amount HT in cents).
pub fn totals(lines: impl IntoIterator<Item = (Decimal, i64)>) -> Totals {
    let mut by_rate: Vec<VatBreakdown> = Vec::new();
    for (rate, cents) in lines {
        let rate = rate.normalize();
        match by_rate.iter_mut().find(|b| b.rate == rate) {
            Some(b) => b.base_cents += cents,
            None => by_rate.push(VatBreakdown {
                rate,
                base_cents: cents,
                vat_cents: 0,
            }),
        }
    }
    by_rate.sort_by_key(|b| b.rate);
    for b in &mut by_rate {
        // base ≤ i64::MAX and rate ≤ 20: the product fits in a Decimal.
        b.vat_cents = (Decimal::from(b.base_cents) * b.rate / Decimal::ONE_HUNDRED)
            .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero)
            .to_i64()
            .unwrap_or(i64::MAX);
    }
    let ht_cents = by_rate.iter().map(|b| b.base_cents).sum();
    let vat_cents = by_rate.iter().map(|b| b.vat_cents).sum();
    Totals {
        ht_cents,
        vat: by_rate,
        vat_cents,
        ttc_cents: ht_cents + vat_cents,
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn awkward_quantities_round_half_away_from_zero() {
        assert_eq!(line_cents(d("2.375"), 333), Some(791)); // 790.875
        assert_eq!(line_cents(d("0.5"), 1), Some(1)); // 0.5
        assert_eq!(line_cents(d("1.5"), 3), Some(5)); // 4.5
        assert_eq!(line_cents(d("0.001"), 499), Some(0)); // 0.499
        assert_eq!(line_cents(d("3"), 0), Some(0));
    }

    #[test]
    fn vat_is_computed_per_rate_on_the_summed_base() {
        // 792 × 5.5 % = 43.56 → 44; 250 × 20 % = 50.
        let t = totals([(d("5.5"), 791), (d("5.50"), 1), (d("20"), 250)]);
        assert_eq!(t.ht_cents, 1042);
        assert_eq!(
            t.vat,
            vec![
                VatBreakdown {
                    rate: d("5.5"),
                    base_cents: 792,
                    vat_cents: 44
                },
                VatBreakdown {
                    rate: d("20"),
                    base_cents: 250,
                    vat_cents: 50
                },
            ]
        );
        assert_eq!((t.vat_cents, t.ttc_cents), (94, 1136));
        // Three 9-cent lines: 27 × 5.5 % = 1.485 → 1, where rounding line
        // by line would give 3 × round(0.495) = 0.
        let nine = totals([(d("5.5"), 9), (d("5.5"), 9), (d("5.5"), 9)]);
        assert_eq!(nine.vat_cents, 1);
    }

    /// The same rule in plain integers (quantities in thousandths, rates in
    /// tenths of a percent), over many pseudo-random baskets.
    #[test]
    fn totals_match_an_integer_recomputation() {
        let mut seed: u64 = 0x5e5a_3e00_2026_1129;
        let mut next = |bound: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % bound
        };
        let rates = [(55u64, "5.5"), (100, "10"), (200, "20")];
        for _ in 0..1000 {
            let mut lines = Vec::new();
            let mut base = [0i128; 3];
            for _ in 0..1 + next(8) {
                let millis = 1 + next(500_000); // up to 500 units, by 0.001
                let price = next(10_000) as i64; // up to 100 €
                let r = next(3) as usize;
                // round half up of millis × price / 1000
                let exact = millis as i128 * price as i128;
                let cents = (exact + 500) / 1000;
                let quantity = Decimal::new(millis as i64, 3);
                let got = line_cents(quantity, price).unwrap();
                assert_eq!(got as i128, cents, "{quantity} × {price}");
                base[r] += cents;
                lines.push((d(rates[r].1), got));
            }
            let t = totals(lines);
            let vat: i128 = base
                .iter()
                .zip(rates)
                .map(|(b, (tenths, _))| (b * tenths as i128 + 500) / 1000)
                .sum();
            let ht: i128 = base.iter().sum();
            assert_eq!((t.ht_cents as i128, t.vat_cents as i128), (ht, vat));
            assert_eq!(t.ttc_cents as i128, ht + vat);
        }
    }
}
