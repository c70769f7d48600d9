//! When an offer can be delivered, by the rules a checkout enforces
//! (`orders::checkout`): not before today plus the lead time (Paris days),
//! inside the availability window, on one of the delivery weekdays, and at
//! most [`MAX_DAYS_AHEAD`] days ahead. No I/O: the search states the same
//! rule in SQL ([`deliverable_by_sql`]), and a test holds the two together.

use chrono::{Datelike, Days, NaiveDate};

/// How far ahead a basket may be delivered.
pub const MAX_DAYS_AHEAD: u64 = 366;
/// How many dates an offer lists in `next_delivery_dates`.
pub const NEXT_DATES: usize = 3;

/// An offer's delivery terms.
pub struct Schedule<'a> {
    pub lead_time_days: i32,
    /// ISO weekdays, 1 = Monday.
    pub weekdays: &'a [i16],
    pub available_from: Option<NaiveDate>,
    pub available_until: Option<NaiveDate>,
}

impl Schedule<'_> {
    /// The earliest date a basket placed `today` may ask for, ignoring weekdays.
    pub fn earliest(&self, today: NaiveDate) -> NaiveDate {
        let notice = today + Days::new(u64::try_from(self.lead_time_days).unwrap_or(0));
        self.available_from.map_or(notice, |from| from.max(notice))
    }

    /// The first `count` dates a basket placed `today` can be delivered on.
    pub fn next_dates(&self, today: NaiveDate, count: usize) -> Vec<NaiveDate> {
        let horizon = today + Days::new(MAX_DAYS_AHEAD);
        let last = self
            .available_until
            .map_or(horizon, |until| until.min(horizon));
        self.earliest(today)
            .iter_days()
            .take_while(|day| *day <= last)
            .filter(|day| self.delivers_on(*day))
            .take(count)
            .collect()
    }

    fn delivers_on(&self, day: NaiveDate) -> bool {
        let weekday = i16::try_from(day.weekday().number_from_monday()).unwrap_or(0);
        self.weekdays.contains(&weekday)
    }
}

/// The SQL condition "offer `o` can be delivered on or before `by`" for a
/// basket placed on `today` (both SQL date expressions), as [`Schedule`]
/// decides it: some day from the earliest to `by` (within the window and the
/// horizon) is a delivery weekday; a week of days covers every weekday.
pub fn deliverable_by_sql(today: &str, by: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM generate_series(\
             greatest({today} + o.lead_time_days, coalesce(o.available_from, {today}))::timestamp, \
             least({by}, coalesce(o.available_until, {by}), {today} + {MAX_DAYS_AHEAD}, \
                   greatest({today} + o.lead_time_days, coalesce(o.available_from, {today})) + 6)::timestamp, \
             interval '1 day') AS day \
         WHERE extract(isodow FROM day)::smallint = ANY (o.delivery_weekdays))"
    )
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::Schedule;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn dates_follow_lead_time_weekdays_and_window() {
        // Monday 2026-11-30; Tuesdays and Thursdays, two days' notice.
        let today = day("2026-11-30");
        let schedule = Schedule {
            lead_time_days: 2,
            weekdays: &[2, 4],
            available_from: None,
            available_until: None,
        };
        assert_eq!(
            schedule.next_dates(today, 3),
            vec![day("2026-12-03"), day("2026-12-08"), day("2026-12-10")]
        );
        let window = Schedule {
            available_from: Some(day("2026-12-09")),
            available_until: Some(day("2026-12-15")),
            ..schedule
        };
        assert_eq!(
            window.next_dates(today, 3),
            vec![day("2026-12-10"), day("2026-12-15")]
        );
        let over = Schedule {
            available_until: Some(day("2026-12-02")),
            ..window
        };
        assert!(over.next_dates(today, 3).is_empty());
    }
}
