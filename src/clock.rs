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
