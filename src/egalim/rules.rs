//! The EGalim rules, without I/O: which category a purchase counts in, the
//! legal targets, and what is missing to reach them.

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;
use utoipa::ToSchema;

use crate::codes::TargetName;

/// The category a line counts in: each line once, with ma-cantine's
/// precedence BIO > SIQO > other EGalim > externalities/performance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    Bio,
    Siqo,
    OtherEgalim,
    Externalities,
    None,
}

pub const SIQO: [&str; 4] = ["LABEL_ROUGE", "AOCAOP", "IGP", "STG"];
pub const OTHER_EGALIM: [&str; 5] = [
    "HVE",
    "PECHE_DURABLE",
    "RUP",
    "FERMIER",
    "COMMERCE_EQUITABLE",
];
pub const EXTERNALITIES: [&str; 2] = ["EXTERNALITES", "PERFORMANCE"];

pub fn category(labels: &[String]) -> Category {
    let has = |set: &[&str]| labels.iter().any(|l| set.contains(&l.as_str()));
    if has(&["BIO"]) {
        Category::Bio
    } else if has(&SIQO) {
        Category::Siqo
    } else if has(&OTHER_EGALIM) {
        Category::OtherEgalim
    } else if has(&EXTERNALITIES) {
        Category::Externalities
    } else {
        Category::None
    }
}

/// The same precedence in SQL, over a `labels` text[] column.
pub const CATEGORY_SQL: &str = "CASE WHEN 'BIO' = ANY(l.labels) THEN 'bio' \
     WHEN l.labels && '{LABEL_ROUGE,AOCAOP,IGP,STG}' THEN 'siqo' \
     WHEN l.labels && '{HVE,PECHE_DURABLE,RUP,FERMIER,COMMERCE_EQUITABLE}' THEN 'other' \
     WHEN l.labels && '{EXTERNALITES,PERFORMANCE}' THEN 'externalities' \
     ELSE 'none' END";

/// A legal target and where the canteen stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Target {
    pub name: TargetName,
    /// The target share, in percent.
    pub target_percent: u8,
    /// The share reached, in percent, rounded to 0.1; null without purchases.
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$", value_type = Option<String>, example = "37.4")]
    pub share_percent: Option<Decimal>,
    pub met: bool,
    /// How much of the same purchases (HT, cents) would have to move into the
    /// category to reach the target, the total unchanged; 0 once met.
    pub missing_cents: i64,
}

/// Share of `part` in `whole`, in percent rounded to 0.1.
pub fn percent(part: i64, whole: i64) -> Option<Decimal> {
    (whole > 0).then(|| {
        let mut share = (Decimal::from(part) * Decimal::ONE_HUNDRED / Decimal::from(whole))
            .round_dp_with_strategy(1, RoundingStrategy::MidpointAwayFromZero);
        // Always one decimal: "100.0", "20.0".
        share.rescale(1);
        share
    })
}

pub fn target(name: TargetName, target_percent: u8, part: i64, whole: i64) -> Target {
    // Exact comparison in integers: part / whole ≥ target / 100.
    let met = whole > 0 && i128::from(part) * 100 >= i128::from(whole) * i128::from(target_percent);
    let needed = (Decimal::from(whole) * Decimal::from(target_percent) / Decimal::ONE_HUNDRED)
        .round_dp_with_strategy(0, RoundingStrategy::ToPositiveInfinity)
        .to_i64()
        .unwrap_or(i64::MAX);
    Target {
        name,
        target_percent,
        share_percent: percent(part, whole),
        met,
        missing_cents: if met { 0 } else { (needed - part).max(0) },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn a_line_counts_once_in_its_highest_category() {
        assert_eq!(category(&labels(&["HVE", "BIO", "IGP"])), Category::Bio);
        assert_eq!(
            category(&labels(&["FERMIER", "LABEL_ROUGE"])),
            Category::Siqo
        );
        assert_eq!(
            category(&labels(&["PERFORMANCE", "HVE"])),
            Category::OtherEgalim
        );
        assert_eq!(
            category(&labels(&["EXTERNALITES"])),
            Category::Externalities
        );
        assert_eq!(category(&labels(&[])), Category::None);
    }

    #[test]
    fn targets_say_what_is_missing_on_the_same_total() {
        // 1,000.00 € of purchases, 374.00 € EGalim: 126.00 € short of 50 %.
        let t = target(TargetName::Egalim, 50, 37_400, 100_000);
        assert_eq!((t.met, t.missing_cents), (false, 12_600));
        assert_eq!(t.share_percent, Some(Decimal::new(374, 1)));
        // Exactly 20 % is met.
        assert!(target(TargetName::Bio, 20, 20_000, 100_000).met);
        // 1 cent short of 20 % of 333 cents (66.6 → 67 needed).
        let t = target(TargetName::Bio, 20, 66, 333);
        assert_eq!((t.met, t.missing_cents), (false, 1));
        // No purchases: nothing met, nothing missing, no share.
        let t = target(TargetName::MeatAndFish, 60, 0, 0);
        assert_eq!((t.met, t.missing_cents, t.share_percent), (false, 0, None));
    }
}
