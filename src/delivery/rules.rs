//! The delivery rules of a supplier, without I/O.
//!
//! A basket part (one supplier's lines) is delivered on day D only if:
//! - D is one of the supplier's delivery weekdays;
//! - it is placed before the cut-off: `cutoff_time`, Paris time, on
//!   D − `cutoff_days` (so "Thursday 12:00 for Monday" is 4 days at 12:00).
//!   The instant is computed by PostgreSQL, which knows when Paris changes
//!   between summer and winter time;
//! - the delivery site is in the zone: one of its communes, EPCIs or
//!   départements (no zone at all means anywhere);
//! - its amount HT reaches the minimum order (franco de port).
//!
//! Every rule a part misses is reported, for every part at once.

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Utc};

use crate::error::MissedRule;
use crate::orders::money::euros;

pub const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// A supplier's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terms {
    /// ISO weekdays, 1 = Monday, ascending.
    pub weekdays: Vec<i16>,
    pub cutoff_days: i16,
    pub cutoff_time: NaiveTime,
    pub min_order_ht_cents: i64,
    pub zone_communes: Vec<String>,
    pub zone_epcis: Vec<String>,
    pub zone_departements: Vec<String>,
}

/// Where a part is delivered.
pub struct Site<'a> {
    pub name: &'a str,
    pub commune_insee: &'a str,
    pub epci: Option<&'a str>,
    pub departement: &'a str,
}

impl Terms {
    pub fn delivers_on(&self, day: NaiveDate) -> bool {
        let weekday = i16::try_from(day.weekday().number_from_monday()).unwrap_or(0);
        self.weekdays.contains(&weekday)
    }

    pub fn serves(&self, site: &Site) -> bool {
        let anywhere = self.zone_communes.is_empty()
            && self.zone_epcis.is_empty()
            && self.zone_departements.is_empty();
        anywhere
            || self.zone_communes.iter().any(|c| c == site.commune_insee)
            || site
                .epci
                .is_some_and(|e| self.zone_epcis.iter().any(|z| z == e))
            || self.zone_departements.iter().any(|d| d == site.departement)
    }

    fn weekday_names(&self) -> String {
        self.weekdays
            .iter()
            .filter_map(|d| WEEKDAYS.get(usize::try_from(*d).ok()?.checked_sub(1)?))
            .copied()
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Every rule a part of `amount_ht_cents` for `site` on `day` misses,
    /// placed at `now`, the day's cut-off being `cutoff_at`.
    pub fn missed(
        &self,
        day: NaiveDate,
        cutoff_at: DateTime<Utc>,
        now: DateTime<Utc>,
        amount_ht_cents: i64,
        site: &Site,
    ) -> Vec<MissedRule> {
        let mut missed = Vec::new();
        if !self.delivers_on(day) {
            let weekday = WEEKDAYS[day.weekday().num_days_from_monday() as usize];
            missed.push(MissedRule {
                rule: "delivery_day",
                message: format!(
                    "no delivery on {weekday}s; delivery days: {}",
                    self.weekday_names()
                ),
                shortfall_ht_cents: None,
                cutoff_at: None,
            });
        } else if now >= cutoff_at {
            missed.push(MissedRule {
                rule: "cutoff",
                message: format!(
                    "orders for {day} closed at {} ({} day(s) before, {} Paris time)",
                    cutoff_at.format("%Y-%m-%dT%H:%M:%SZ"),
                    self.cutoff_days,
                    self.cutoff_time.format("%H:%M")
                ),
                shortfall_ht_cents: None,
                cutoff_at: Some(cutoff_at),
            });
        }
        if !self.serves(site) {
            missed.push(MissedRule {
                rule: "zone",
                message: format!(
                    "no delivery to {} (commune {}): outside the supplier's zone",
                    site.name, site.commune_insee
                ),
                shortfall_ht_cents: None,
                cutoff_at: None,
            });
        }
        if amount_ht_cents < self.min_order_ht_cents {
            let short = self.min_order_ht_cents - amount_ht_cents;
            missed.push(MissedRule {
                rule: "minimum_order",
                message: format!(
                    "the minimum order is {} € HT: {} € HT short",
                    euros(self.min_order_ht_cents),
                    euros(short)
                ),
                shortfall_ht_cents: Some(short),
                cutoff_at: None,
            });
        }
        missed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms() -> Terms {
        Terms {
            weekdays: vec![1, 4],
            cutoff_days: 4,
            cutoff_time: NaiveTime::from_hms_opt(12, 0, 0).unwrap(),
            min_order_ht_cents: 8000,
            zone_communes: vec![],
            zone_epcis: vec!["200057859".into()],
            zone_departements: vec!["78".into()],
        }
    }

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    const ARPAJON: Site = Site {
        name: "Cantine d'Arpajon",
        commune_insee: "91021",
        epci: Some("200057859"),
        departement: "91",
    };

    #[test]
    fn a_part_that_meets_every_rule_misses_none() {
        let monday = "2027-11-01".parse().unwrap();
        let cutoff = at("2027-10-28T10:00:00Z");
        let missed = terms().missed(monday, cutoff, at("2027-10-28T09:59:59Z"), 8000, &ARPAJON);
        assert_eq!(missed, vec![]);
    }

    #[test]
    fn every_missed_rule_is_reported_with_its_numbers() {
        let monday = "2027-11-01".parse().unwrap();
        let cutoff = at("2027-10-28T10:00:00Z");
        let far = Site {
            name: "Cantine de Brest",
            commune_insee: "29019",
            epci: Some("242900314"),
            departement: "29",
        };
        let missed = terms().missed(monday, cutoff, cutoff, 5650, &far);
        let rules: Vec<&str> = missed.iter().map(|m| m.rule).collect();
        assert_eq!(rules, vec!["cutoff", "zone", "minimum_order"]);
        assert_eq!(missed[0].cutoff_at, Some(cutoff));
        assert_eq!(missed[2].shortfall_ht_cents, Some(2350));
        assert_eq!(
            missed[2].message,
            "the minimum order is 80.00 € HT: 23.50 € HT short"
        );
    }

    #[test]
    fn a_day_without_delivery_names_the_delivery_days() {
        let tuesday = "2027-11-02".parse().unwrap();
        let missed = terms().missed(
            tuesday,
            at("2027-10-29T11:00:00Z"),
            at("2027-10-01T00:00:00Z"),
            9000,
            &ARPAJON,
        );
        assert_eq!(missed.len(), 1);
        assert_eq!(
            missed[0].message,
            "no delivery on Tuesdays; delivery days: Monday, Thursday"
        );
    }
}
