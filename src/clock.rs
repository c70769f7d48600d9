//! The Paris clock. Lead times, delivery dates and EGalim years count in
//! Paris days, whatever the time zone of the server or of PostgreSQL, and
//! PostgreSQL (which ships the time zone rules) tells the date.

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::Date;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

/// Today's date in Paris, as an SQL expression for statements that need it.
pub const TODAY_IN_PARIS_SQL: &str = "(now() AT TIME ZONE 'Europe/Paris')::date";

/// Today's date in Paris.
pub async fn today_in_paris(conn: &mut AsyncPgConnection) -> QueryResult<NaiveDate> {
    #[derive(QueryableByName)]
    struct Today {
        #[diesel(sql_type = Date)]
        today: NaiveDate,
    }
    let row: Today = diesel::sql_query(format!("SELECT {TODAY_IN_PARIS_SQL} AS today"))
        .get_result(conn)
        .await?;
    Ok(row.today)
}

/// The French public holidays (jours fériés, Code du travail L3133-1) of
/// `year`, by date: the eleven of metropolitan France. Alsace-Moselle's two
/// more are not included (the service's territories are elsewhere).
pub fn public_holidays(year: i32) -> Vec<(NaiveDate, &'static str)> {
    let day = |m, d| NaiveDate::from_ymd_opt(year, m, d);
    let Some(easter) = easter_sunday(year) else {
        return Vec::new();
    };
    let after = |days: u64| easter.checked_add_days(chrono::Days::new(days));
    let mut holidays: Vec<(NaiveDate, &'static str)> = [
        (day(1, 1), "Jour de l'an"),
        (after(1), "Lundi de Pâques"),
        (day(5, 1), "Fête du Travail"),
        (day(5, 8), "Victoire 1945"),
        (after(39), "Ascension"),
        (after(50), "Lundi de Pentecôte"),
        (day(7, 14), "Fête nationale"),
        (day(8, 15), "Assomption"),
        (day(11, 1), "Toussaint"),
        (day(11, 11), "Armistice 1918"),
        (day(12, 25), "Noël"),
    ]
    .into_iter()
    .filter_map(|(date, name)| Some((date?, name)))
    .collect();
    holidays.sort();
    holidays
}

/// The public holiday on `date`, if any.
pub fn public_holiday(date: NaiveDate) -> Option<&'static str> {
    use chrono::Datelike;
    public_holidays(date.year())
        .into_iter()
        .find(|(d, _)| *d == date)
        .map(|(_, name)| name)
}

/// Easter Sunday of the Gregorian calendar (the anonymous algorithm
/// published by Butcher, 1876).
fn easter_sunday(year: i32) -> Option<NaiveDate> {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, u32::try_from(month).ok()?, u32::try_from(day).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn easter_falls_where_the_calendars_say() {
        for (year, easter) in [
            (2024, "2024-03-31"),
            (2025, "2025-04-20"),
            (2026, "2026-04-05"),
            (2027, "2027-03-28"),
            (2038, "2038-04-25"),
            (2285, "2285-03-22"),
        ] {
            assert_eq!(easter_sunday(year), Some(d(easter)), "{year}");
        }
    }

    #[test]
    fn the_eleven_holidays_of_2027() {
        let dates: Vec<String> = public_holidays(2027)
            .iter()
            .map(|(d, _)| d.to_string())
            .collect();
        assert_eq!(
            dates,
            [
                "2027-01-01",
                "2027-03-29",
                "2027-05-01",
                "2027-05-06",
                "2027-05-08",
                "2027-05-17",
                "2027-07-14",
                "2027-08-15",
                "2027-11-01",
                "2027-11-11",
                "2027-12-25"
            ]
        );
        assert_eq!(public_holiday(d("2027-05-06")), Some("Ascension"));
        assert_eq!(public_holiday(d("2027-05-07")), None);
    }
}
