//! A contract line's unit price for a quantity, without I/O.
//!
//! - A line has a base unit price HT and up to 10 volume tiers, each a
//!   minimum quantity (above 0, strictly increasing) and a unit price.
//! - A quantity pays the price of the highest tier whose minimum it reaches,
//!   else the base price. Tiers need not be cheaper, but usually are.

use rust_decimal::Decimal;

pub const MAX_TIERS: usize = 10;

/// The unit price of `quantity`: `tiers` are `(minimum, price)`, ascending.
pub fn unit_price(base_cents: i64, tiers: &[(Decimal, i64)], quantity: Decimal) -> i64 {
    tiers
        .iter()
        .rev()
        .find(|(minimum, _)| quantity >= *minimum)
        .map_or(base_cents, |(_, price)| *price)
}

/// What is wrong with a line's tiers, if anything.
pub fn check_tiers(tiers: &[(Decimal, i64)]) -> Option<String> {
    if tiers.len() > MAX_TIERS {
        return Some(format!("at most {MAX_TIERS} tiers"));
    }
    if tiers.iter().any(|(minimum, price)| {
        *minimum <= Decimal::ZERO || minimum.normalize().scale() > 3 || *price < 0
    }) {
        return Some(
            "each tier's minimum is above 0 (at most 3 decimals), its price 0 or more".into(),
        );
    }
    if tiers.windows(2).any(|w| w[0].0 >= w[1].0) {
        return Some("tiers' minimum quantities must increase".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    #[test]
    fn a_quantity_pays_the_highest_tier_it_reaches() {
        let tiers = [(d("50"), 180), (d("200"), 165)];
        assert_eq!(unit_price(195, &tiers, d("49.999")), 195);
        assert_eq!(unit_price(195, &tiers, d("50")), 180);
        assert_eq!(unit_price(195, &tiers, d("199")), 180);
        assert_eq!(unit_price(195, &tiers, d("200")), 165);
        assert_eq!(unit_price(195, &[], d("1000")), 195);
    }

    #[test]
    fn tiers_must_increase_and_be_positive() {
        assert_eq!(check_tiers(&[(d("50"), 180), (d("200"), 165)]), None);
        assert!(check_tiers(&[(d("200"), 180), (d("50"), 165)]).is_some());
        assert!(check_tiers(&[(d("0"), 180)]).is_some());
        assert!(check_tiers(&[(d("1.0001"), 180)]).is_some());
    }
}
