//! The purchasing rules a consultation must follow before it is published
//! (shared/docs/purchasing.md §1, docs/consultations.md). No I/O.
//!
//! - Criteria: weights are whole percentages summing to 100; price is one
//!   of them and at least one criterion is `environmental` (décret 2022-767,
//!   in force for consultations launched from 21 August 2026): a price-only
//!   set is refused. A geographic or "local" preference is unlawful
//!   (R2111-7; CJCE 3 June 1992, C-360/89) and refused, whether asked as a
//!   kind or written in a criterion's description. `direct_supply` (at most
//!   one intermediary, R2152-7) is allowed.
//! - Minimum time to answer, counted from publication, per procedure:
//!   *gré à gré* 3 days (the law sets none; suppliers need time to quote),
//!   MAPA 20 days (the law asks a "délai raisonnable", R2151-1; 20 days is
//!   the practitioners' advice), *accord-cadre* 20 days, or 30 days when its
//!   lots' maxima reach the formalised threshold of 216,000 € HT (R2161-3).
//! - *Gré à gré* and MAPA serve needs below 216,000 € HT; above, a formalised
//!   procedure is due, which Sésame does not run.

use chrono::{DateTime, Duration, Utc};

use crate::codes::{CriterionKind, Procedure};
use crate::error::FieldError;

/// 60,000 € HT: below it a contract may be made without publicity or
/// competition (R2122-8, from 1 April 2026).
pub const GRE_A_GRE_LIMIT_CENTS: i64 = 6_000_000;
/// 90,000 € HT: a MAPA must be advertised in the BOAMP or a JAL.
pub const MAPA_ADVERTISING_CENTS: i64 = 9_000_000;
/// 216,000 € HT: the EU threshold for supplies of local authorities (2026–2027).
pub const FORMALISED_CENTS: i64 = 21_600_000;
/// The thresholds the guard compares a year's purchases with.
pub const THRESHOLDS_CENTS: [i64; 3] = [
    GRE_A_GRE_LIMIT_CENTS,
    MAPA_ADVERTISING_CENTS,
    FORMALISED_CENTS,
];
/// Consultations launched from this day need an environmental criterion.
pub const ENVIRONMENTAL_CRITERION_SINCE: &str = "2026-08-21";
/// A framework agreement lasts at most four years (L2125-1).
pub const MAX_FRAMEWORK_MONTHS: i32 = 48;

/// Kinds that express a geographic preference; refused with the rule.
const GEOGRAPHIC_KINDS: [&str; 7] = [
    "local",
    "local_preference",
    "proximity",
    "distance",
    "geographic",
    "origin",
    "territory",
];

/// Words of a description that make a criterion a geographic preference.
const GEOGRAPHIC_WORDS: [&str; 14] = [
    "local",
    "locale",
    "locaux",
    "locales",
    "proximite",
    "distance",
    "km",
    "kilometre",
    "kilometres",
    "geographique",
    "departement",
    "departemental",
    "region",
    "regional",
];

pub const LOCAL_PREFERENCE_RULE: &str = "a geographic or local preference is not a lawful award \
     criterion (code de la commande publique R2111-7; CJCE 3 June 1992, C-360/89); reward \
     direct supply with at most one intermediary (`direct_supply`, R2152-7) or environmental \
     performance (`environmental`) instead";

pub const PRICE_ONLY_RULE: &str = "since 21 August 2026 price may not be the only award \
     criterion: at least one criterion must take the environmental characteristics of the \
     offer into account (décret 2022-767, loi Climat et Résilience art. 35); add an \
     `environmental` criterion";

/// A criterion as asked, its kind still text so that an unlawful one is
/// named by the rule it breaks rather than as an unknown code.
pub struct CriterionInput<'a> {
    pub kind: &'a str,
    pub description: &'a str,
    pub weight: i32,
}

/// Why a set of criteria is refused.
#[derive(Debug, PartialEq, Eq)]
pub enum CriteriaProblem {
    /// A geographic preference, at this field.
    LocalPreference(String),
    /// Price (or nothing environmental) alone.
    PriceOnly,
    /// Malformed: by field.
    Invalid(Vec<FieldError>),
}

fn fold(text: &str) -> String {
    deunicode::deunicode(text).to_lowercase()
}

fn is_geographic(description: &str) -> bool {
    fold(description)
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|word| GEOGRAPHIC_WORDS.contains(&word))
}

/// Checks a set of award criteria; returns their kinds in order.
pub fn criteria(criteria: &[CriterionInput<'_>]) -> Result<Vec<CriterionKind>, CriteriaProblem> {
    let mut errors = Vec::new();
    let mut kinds = Vec::new();
    for (i, c) in criteria.iter().enumerate() {
        let field = format!("criteria[{i}]");
        if GEOGRAPHIC_KINDS.contains(&fold(c.kind).as_str()) {
            return Err(CriteriaProblem::LocalPreference(format!("{field}.kind")));
        }
        if is_geographic(c.description) {
            return Err(CriteriaProblem::LocalPreference(format!(
                "{field}.description"
            )));
        }
        match c.kind.parse::<CriterionKind>() {
            Ok(kind) => kinds.push(kind),
            Err(message) => errors.push(FieldError::new(format!("{field}.kind"), message)),
        }
        let length = c.description.trim().chars().count();
        if !(1..=500).contains(&length) {
            errors.push(FieldError::new(
                format!("{field}.description"),
                "must be 1 to 500 characters",
            ));
        }
        if !(1..=100).contains(&c.weight) {
            errors.push(FieldError::new(
                format!("{field}.weight"),
                "must be 1 to 100 (per cent)",
            ));
        }
    }
    if criteria.is_empty() || criteria.len() > 10 {
        errors.push(FieldError::new("criteria", "one to ten criteria"));
    }
    if !errors.is_empty() {
        return Err(CriteriaProblem::Invalid(errors));
    }
    let prices = kinds.iter().filter(|k| **k == CriterionKind::Price).count();
    if prices != 1 {
        return Err(CriteriaProblem::Invalid(vec![FieldError::new(
            "criteria",
            "exactly one `price` criterion: answers are scored on their price automatically",
        )]));
    }
    if !kinds.contains(&CriterionKind::Environmental) {
        return Err(CriteriaProblem::PriceOnly);
    }
    let total: i32 = criteria.iter().map(|c| c.weight).sum();
    if total != 100 {
        return Err(CriteriaProblem::Invalid(vec![FieldError::new(
            "criteria",
            format!("the weights must sum to 100; they sum to {total}"),
        )]));
    }
    Ok(kinds)
}

/// The least time between publication and the deadline; `max_total_cents`
/// is the sum of the lots' maxima of a framework agreement.
pub fn minimum_answer_time(procedure: Procedure, max_total_cents: i64) -> Duration {
    match procedure {
        Procedure::GreAGre => Duration::days(3),
        Procedure::Mapa => Duration::days(20),
        Procedure::AccordCadre if max_total_cents >= FORMALISED_CENTS => Duration::days(30),
        Procedure::AccordCadre => Duration::days(20),
    }
}

/// Whether a deadline leaves the minimum time when publishing at `now`.
pub fn deadline_problem(
    procedure: Procedure,
    max_total_cents: i64,
    now: DateTime<Utc>,
    deadline: DateTime<Utc>,
) -> Option<String> {
    let minimum = minimum_answer_time(procedure, max_total_cents);
    (deadline < now + minimum).then(|| {
        format!(
            "a {procedure} consultation leaves suppliers at least {} days from publication; \
             the earliest deadline now is {}",
            minimum.num_days(),
            (now + minimum).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        )
    })
}

/// Checks that the estimated value fits the procedure; by field.
pub fn procedure_amounts(
    procedure: Procedure,
    estimated_total_cents: i64,
    duration_months: Option<i32>,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    match procedure {
        Procedure::AccordCadre => match duration_months {
            None => errors.push(FieldError::new(
                "duration_months",
                "is required for a framework agreement (at most 48 months)",
            )),
            Some(m) if !(1..=MAX_FRAMEWORK_MONTHS).contains(&m) => errors.push(FieldError::new(
                "duration_months",
                "a framework agreement lasts 1 to 48 months (L2125-1)",
            )),
            Some(_) => {}
        },
        Procedure::GreAGre | Procedure::Mapa => {
            if duration_months.is_some_and(|m| !(1..=MAX_FRAMEWORK_MONTHS).contains(&m)) {
                errors.push(FieldError::new("duration_months", "must be 1 to 48 months"));
            }
            if estimated_total_cents >= FORMALISED_CENTS {
                errors.push(FieldError::new(
                    "lots",
                    format!(
                        "the lots are estimated at {} € HT: from 216,000 € HT a formalised \
                         procedure is due, which Sésame does not run",
                        estimated_total_cents / 100
                    ),
                ));
            }
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c<'a>(kind: &'a str, description: &'a str, weight: i32) -> CriterionInput<'a> {
        CriterionInput {
            kind,
            description,
            weight,
        }
    }

    #[test]
    fn price_and_environment_summing_to_100_pass() {
        let set = [
            c("price", "Prix unitaire", 40),
            c("environmental", "Emballages réutilisables", 30),
            c("direct_supply", "Au plus un intermédiaire", 30),
        ];
        assert_eq!(
            criteria(&set),
            Ok(vec![
                CriterionKind::Price,
                CriterionKind::Environmental,
                CriterionKind::DirectSupply
            ])
        );
    }

    #[test]
    fn price_alone_or_without_environment_is_refused() {
        assert_eq!(
            criteria(&[c("price", "Prix", 100)]),
            Err(CriteriaProblem::PriceOnly)
        );
        let no_env = [c("price", "Prix", 60), c("quality", "Goût", 40)];
        assert_eq!(criteria(&no_env), Err(CriteriaProblem::PriceOnly));
    }

    #[test]
    fn geographic_preferences_are_refused_as_kinds_or_words() {
        let kind = [c("price", "Prix", 50), c("local", "Producteurs", 50)];
        assert_eq!(
            criteria(&kind),
            Err(CriteriaProblem::LocalPreference("criteria[1].kind".into()))
        );
        let words = [
            c("price", "Prix", 50),
            c(
                "environmental",
                "Produits de proximité (moins de 50 km)",
                50,
            ),
        ];
        assert_eq!(
            criteria(&words),
            Err(CriteriaProblem::LocalPreference(
                "criteria[1].description".into()
            ))
        );
        // "Localisation" is not the word "local": the check is on whole words.
        let fine = [
            c("price", "Prix", 50),
            c("environmental", "Bilan carbone du transport", 50),
        ];
        assert!(criteria(&fine).is_ok());
    }

    #[test]
    fn weights_must_sum_to_100_and_price_appear_once() {
        let short = [c("price", "Prix", 50), c("environmental", "Carbone", 40)];
        assert!(matches!(criteria(&short), Err(CriteriaProblem::Invalid(_))));
        let twice = [
            c("price", "Prix", 40),
            c("price", "Prix bis", 20),
            c("environmental", "Carbone", 40),
        ];
        assert!(matches!(criteria(&twice), Err(CriteriaProblem::Invalid(_))));
    }

    #[test]
    fn minimum_times_per_procedure() {
        assert_eq!(
            minimum_answer_time(Procedure::GreAGre, 0),
            Duration::days(3)
        );
        assert_eq!(minimum_answer_time(Procedure::Mapa, 0), Duration::days(20));
        assert_eq!(
            minimum_answer_time(Procedure::AccordCadre, FORMALISED_CENTS - 1),
            Duration::days(20)
        );
        assert_eq!(
            minimum_answer_time(Procedure::AccordCadre, FORMALISED_CENTS),
            Duration::days(30)
        );
        let now = Utc::now();
        assert!(deadline_problem(Procedure::Mapa, 0, now, now + Duration::days(19)).is_some());
        assert!(deadline_problem(Procedure::Mapa, 0, now, now + Duration::days(20)).is_none());
    }
}
