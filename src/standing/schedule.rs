//! Which delivery days of a standing order are open, due or past, without
//! I/O.
//!
//! - A delivery day is a date from `starts_on` to `ends_on` (if any) whose
//!   weekday has lines, that is neither a public holiday nor inside one of
//!   the canteen's closures.
//! - It is **due** from `days_ahead` days before it (Paris dates): the job
//!   places it then, or at its next run after downtime, as long as the
//!   checkout still accepts it (lead times, cut-offs).
//! - Until it is due, the canteen changes or skips it; after, it is (or
//!   failed to be) an ordinary order.
//! - A day that passed without being placed is **missed**, and reported.

use chrono::{Datelike, Days, NaiveDate};

use crate::clock::public_holiday;

/// Why a date gets no delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Closed {
    Holiday(&'static str),
    Closure(String),
}

/// What the schedule needs of a template.
pub struct Template<'a> {
    pub starts_on: NaiveDate,
    pub ends_on: Option<NaiveDate>,
    pub days_ahead: u16,
    /// ISO weekdays with lines.
    pub weekdays: &'a [i16],
}

impl Template<'_> {
    /// Whether the template delivers on `date`, closures aside.
    pub fn delivers_on(&self, date: NaiveDate) -> bool {
        let weekday = i16::try_from(date.weekday().number_from_monday()).unwrap_or(0);
        date >= self.starts_on
            && self.ends_on.is_none_or(|end| date <= end)
            && self.weekdays.contains(&weekday)
    }

    /// The first date that is not yet due on `today`.
    pub fn first_not_due(&self, today: NaiveDate) -> NaiveDate {
        today + Days::new(u64::from(self.days_ahead) + 1)
    }
}

/// Why `date` is closed for a canteen with `closures` (start, end, reason).
pub fn closed(date: NaiveDate, closures: &[(NaiveDate, NaiveDate, String)]) -> Option<Closed> {
    if let Some(name) = public_holiday(date) {
        return Some(Closed::Holiday(name));
    }
    closures
        .iter()
        .find(|(from, to, _)| *from <= date && date <= *to)
        .map(|(_, _, reason)| Closed::Closure(reason.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn delivery_days_follow_weekdays_bounds_holidays_and_closures() {
        let t = Template {
            starts_on: d("2027-04-26"),
            ends_on: Some(d("2027-05-21")),
            days_ahead: 7,
            weekdays: &[1, 4],
        };
        let closures = vec![(
            d("2027-05-10"),
            d("2027-05-14"),
            "Pont de l'Ascension".into(),
        )];
        let open: Vec<String> = d("2027-04-20")
            .iter_days()
            .take(40)
            .filter(|day| t.delivers_on(*day) && closed(*day, &closures).is_none())
            .map(|day| day.to_string())
            .collect();
        // Ascension (Thursday 6 May) and Whit Monday (17 May) are holidays,
        // the week of 10 May is closed.
        assert_eq!(
            open,
            ["2027-04-26", "2027-04-29", "2027-05-03", "2027-05-20"]
        );
        assert_eq!(
            closed(d("2027-05-06"), &[]),
            Some(Closed::Holiday("Ascension"))
        );
        assert_eq!(t.first_not_due(d("2027-04-20")), d("2027-04-28"));
    }
}
