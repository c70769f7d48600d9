//! Invoicing rules, without I/O (docs/invoices.md).
//!
//! - **Numbers**: `F-2026-000123` for invoices, `A-2026-000007` for credit
//!   notes; one series per supplier, letter and year of issue, from 1, with
//!   no gap (CGI ann. II art. 242 nonies A). At most 35 characters of
//!   `[A-Z0-9-]` (BR-FR-01).
//! - **Due date**: perishable food is paid at most 30 days after delivery;
//!   a statement counts from the end of the ten-day period (*décade*) of its
//!   last delivery (C. com. L441-11 II 1°). The supplier may grant fewer days.
//! - **Late payment**: interest on what is left to pay, per day late over
//!   365, at the ECB rate in force on the first day of the half-year in which
//!   the invoice fell due, plus 8 points for a public buyer (R2192-31) or 10
//!   for others (L441-10); plus a 40 € recovery indemnity per invoice
//!   (D441-5). Rounded to the cent, half away from zero; overflow is `None`.
//! - **Chorus Pro**: a public buyer's record may require a service code,
//!   an engagement number, both, or either; an invoice lacking one is refused.

use chrono::{Datelike, Days, NaiveDate};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};

use crate::codes::{ChorusRequirement, PaymentStatus};
use crate::error::FieldError;

pub const RECOVERY_INDEMNITY_CENTS: i64 = 4000;
/// Points over the ECB rate: public buyers' *intérêts moratoires*, and
/// other buyers' default penalties.
pub const PUBLIC_LATE_POINTS: i16 = 8;
pub const PRIVATE_LATE_POINTS: i16 = 10;

/// A series of numbers: invoices or credit notes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Series {
    Invoice,
    CreditNote,
}

impl Series {
    pub fn letter(self) -> &'static str {
        match self {
            Series::Invoice => "F",
            Series::CreditNote => "A",
        }
    }

    /// UNTDID 1001: 380 commercial invoice, 381 credit note.
    pub fn type_code(self) -> i16 {
        match self {
            Series::Invoice => 380,
            Series::CreditNote => 381,
        }
    }
}

pub fn number(series: Series, year: i32, n: i32) -> String {
    format!("{}-{year:04}-{n:06}", series.letter())
}

/// The last day of the ten-day period holding `date`: the 10th, the 20th or
/// the month's last day.
pub fn decade_end(date: NaiveDate) -> NaiveDate {
    match date.day() {
        1..=10 => date.with_day(10),
        11..=20 => date.with_day(20),
        _ => date
            .with_day(1)
            .and_then(|first| first.checked_add_months(chrono::Months::new(1)))
            .and_then(|next| next.pred_opt()),
    }
    .unwrap_or(date)
}

/// When an invoice falls due: `days` after its last delivery, or after the
/// end of that delivery's *décade* for a statement.
pub fn due_date(last_delivery: NaiveDate, statement: bool, days: u16) -> NaiveDate {
    let start = if statement {
        decade_end(last_delivery)
    } else {
        last_delivery
    };
    start + Days::new(u64::from(days))
}

/// The first day of the half-year holding `date`.
pub fn half_year_start(date: NaiveDate) -> NaiveDate {
    let month = if date.month() <= 6 { 1 } else { 7 };
    NaiveDate::from_ymd_opt(date.year(), month, 1).unwrap_or(date)
}

/// Late interest at `rate_percent` a year on amounts each late by some
/// days (those paid late, and what is still unpaid), rounded once.
pub fn late_interest_cents(late: &[(i64, i64)], rate_percent: Decimal) -> Option<i64> {
    let mut cent_days = Decimal::ZERO;
    for &(cents, days) in late {
        if cents > 0 && days > 0 {
            cent_days =
                cent_days.checked_add(Decimal::from(cents).checked_mul(Decimal::from(days))?)?;
        }
    }
    cent_days
        .checked_mul(rate_percent)?
        .checked_div(Decimal::from(36_500))?
        .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero)
        .to_i64()
}

/// Where the payment of an invoice stands: what was credited counts as paid.
pub fn payment_status(gross_cents: i64, credited_cents: i64, paid_cents: i64) -> PaymentStatus {
    if paid_cents + credited_cents >= gross_cents {
        PaymentStatus::Paid
    } else if paid_cents > 0 {
        PaymentStatus::PartlyPaid
    } else {
        PaymentStatus::Issued
    }
}

/// What a buyer's Chorus Pro record requires and the invoice lacks, by field.
pub fn chorus_missing(
    requires: ChorusRequirement,
    service_code: Option<&str>,
    engagement_number: Option<&str>,
) -> Vec<FieldError> {
    let service = || {
        FieldError::new(
            "service_code",
            "the buyer's Chorus Pro record requires a service code: \
             it is set in the buyer's invoicing profile",
        )
    };
    let engagement = || {
        FieldError::new(
            "engagement_number",
            "the buyer's Chorus Pro record requires its engagement number (EJ)",
        )
    };
    let (has_service, has_engagement) = (service_code.is_some(), engagement_number.is_some());
    match requires {
        ChorusRequirement::Nothing => vec![],
        ChorusRequirement::ServiceCode if !has_service => vec![service()],
        ChorusRequirement::EngagementNumber if !has_engagement => vec![engagement()],
        ChorusRequirement::Both => [
            (!has_service).then(service),
            (!has_engagement).then(engagement),
        ]
        .into_iter()
        .flatten()
        .collect(),
        ChorusRequirement::Either if !has_service && !has_engagement => vec![FieldError::new(
            "engagement_number",
            "the buyer's Chorus Pro record requires an engagement number (EJ) \
             or a service code in its invoicing profile",
        )],
        _ => vec![],
    }
}

/// The French intra-EU VAT number of a SIREN: `FR`, a two-digit key, the
/// SIREN. `None` for anything but nine digits.
pub fn vat_number_of(siren: &str) -> Option<String> {
    if siren.len() != 9 || !siren.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = siren.parse().ok()?;
    Some(format!("FR{:02}{siren}", (12 + 3 * (n % 97)) % 97))
}

/// ISO 13616: the country and check digits moved to the end, letters as
/// numbers, the whole modulo 97 is 1.
pub fn iban_is_valid(iban: &str) -> bool {
    let valid_shape = (15..=34).contains(&iban.len())
        && iban
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
        && iban.as_bytes()[..2].iter().all(u8::is_ascii_uppercase)
        && iban.as_bytes()[2..4].iter().all(u8::is_ascii_digit);
    if !valid_shape {
        return false;
    }
    let rearranged = iban[4..].bytes().chain(iban[..4].bytes());
    let remainder = rearranged.fold(0u32, |acc, b| {
        let value = if b.is_ascii_digit() {
            u32::from(b - b'0')
        } else {
            u32::from(b - b'A') + 10
        };
        if value >= 10 {
            (acc * 100 + value) % 97
        } else {
            (acc * 10 + value) % 97
        }
    });
    remainder == 1
}

/// Splits a French address written on one line, "12 rue des Écoles, 91240
/// Saint-Michel-sur-Orge", into its street part and postcode (the last
/// five-digit word). Without a postcode the whole text is the street.
pub fn split_address(address: &str) -> (String, Option<String>) {
    let words: Vec<&str> = address.split_whitespace().collect();
    let postcode = words
        .iter()
        .rposition(|w| w.len() == 5 && w.bytes().all(|b| b.is_ascii_digit()));
    match postcode {
        Some(at) => {
            let street = words[..at].join(" ");
            let street = street.trim_end_matches([',', ' ']).to_owned();
            (street, Some(words[at].to_owned()))
        }
        None => (address.trim().to_owned(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn numbers_follow_the_documented_format() {
        assert_eq!(number(Series::Invoice, 2026, 123), "F-2026-000123");
        assert_eq!(
            number(Series::CreditNote, 2027, 1_234_567),
            "A-2027-1234567"
        );
    }

    #[test]
    fn statements_fall_due_from_the_end_of_the_decade() {
        assert_eq!(due_date(day("2026-11-03"), false, 30), day("2026-12-03"));
        assert_eq!(due_date(day("2026-11-03"), true, 30), day("2026-12-10"));
        assert_eq!(due_date(day("2026-11-15"), true, 30), day("2026-12-20"));
        assert_eq!(decade_end(day("2026-02-21")), day("2026-02-28"));
        assert_eq!(decade_end(day("2028-02-29")), day("2028-02-29"));
        assert_eq!(decade_end(day("2026-12-31")), day("2026-12-31"));
        assert_eq!(due_date(day("2026-12-25"), true, 20), day("2027-01-20"));
    }

    #[test]
    fn late_interest_is_prorated_by_day_and_rounded_once() {
        let rate = Decimal::new(1015, 2);
        // 1,000.00 € at 10.15 % for 73 days: 20.30 €.
        assert_eq!(late_interest_cents(&[(100_000, 73)], rate), Some(2030));
        // 600 € paid 10 days late, 400 € still unpaid after 73 days.
        assert_eq!(
            late_interest_cents(&[(60_000, 10), (40_000, 73)], rate),
            Some(979)
        );
        // Paid on time, or nothing left: no interest.
        assert_eq!(late_interest_cents(&[(50_000, -3), (0, 40)], rate), Some(0));
        // 12.34 € for 1 day: 0.34 cent, rounded to 0.
        assert_eq!(late_interest_cents(&[(1234, 1)], rate), Some(0));
        assert_eq!(
            late_interest_cents(&[(i64::MAX, i64::MAX)], Decimal::MAX),
            None
        );
        assert_eq!(half_year_start(day("2026-07-01")), day("2026-07-01"));
        assert_eq!(half_year_start(day("2026-06-30")), day("2026-01-01"));
    }

    #[test]
    fn credits_count_as_payment() {
        assert_eq!(payment_status(10_000, 0, 0), PaymentStatus::Issued);
        assert_eq!(payment_status(10_000, 0, 1), PaymentStatus::PartlyPaid);
        assert_eq!(payment_status(10_000, 2_500, 7_500), PaymentStatus::Paid);
        assert_eq!(payment_status(10_000, 10_000, 0), PaymentStatus::Paid);
    }

    #[test]
    fn chorus_requirements_name_each_missing_field() {
        let fields = |r, s, e| {
            chorus_missing(r, s, e)
                .into_iter()
                .map(|f| f.field)
                .collect::<Vec<_>>()
        };
        assert!(fields(ChorusRequirement::Nothing, None, None).is_empty());
        assert_eq!(
            fields(ChorusRequirement::ServiceCode, None, Some("EJ")),
            ["service_code"]
        );
        assert_eq!(
            fields(ChorusRequirement::Both, None, None),
            ["service_code", "engagement_number"]
        );
        assert_eq!(
            fields(ChorusRequirement::Either, None, None),
            ["engagement_number"]
        );
        assert!(fields(ChorusRequirement::Either, Some("S"), None).is_empty());
        assert!(fields(ChorusRequirement::EngagementNumber, None, Some("EJ")).is_empty());
    }

    #[test]
    fn vat_numbers_and_ibans_are_checked_by_their_keys() {
        assert_eq!(vat_number_of("123456782").as_deref(), Some("FR11123456782"));
        assert_eq!(vat_number_of("12345678"), None);
        assert!(iban_is_valid("FR7630006000011234567890189"));
        assert!(!iban_is_valid("FR7630006000011234567890188"));
        assert!(!iban_is_valid("fr7630006000011234567890189"));
        assert!(!iban_is_valid("FR76"));
    }

    #[test]
    fn addresses_split_at_the_last_postcode() {
        assert_eq!(
            split_address("12 rue des Écoles, 91240 Saint-Michel-sur-Orge"),
            ("12 rue des Écoles".to_owned(), Some("91240".to_owned()))
        );
        assert_eq!(
            split_address("Ferme du Gué"),
            ("Ferme du Gué".to_owned(), None)
        );
    }
}
