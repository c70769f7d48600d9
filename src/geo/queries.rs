//! SQL for the geography endpoints.

use diesel::dsl::{exists, sql};
use diesel::prelude::*;
use diesel::sql_types::{Bool, Integer, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::model::{CommuneRow, EpciMember};
use crate::schema::{communes, departements, epcis, regions};

/// Filters of the commune list; `name` is already folded (see `search::fold`).
#[derive(Debug, Default)]
pub struct CommuneFilter {
    pub name: Option<String>,
    pub epci: Option<String>,
    pub departement: Option<String>,
}

#[diesel::dsl::auto_type]
fn commune_with_areas() -> _ {
    communes::table
        .inner_join(departements::table.inner_join(regions::table))
        .left_join(epcis::table)
        .select((
            communes::insee,
            communes::name,
            communes::population,
            departements::code,
            departements::name,
            regions::code,
            regions::name,
            epcis::siren.nullable(),
            epcis::name.nullable(),
        ))
}

/// Applies a [`CommuneFilter`] to a boxed query over (at least) `communes`.
macro_rules! filtered {
    ($query:expr, $filter:expr) => {{
        let mut query = $query;
        if let Some(name) = &$filter.name {
            query = query.filter(communes::search_name.like(format!("%{name}%")));
        }
        if let Some(epci) = &$filter.epci {
            query = query.filter(communes::epci_siren.eq(epci.clone()));
        }
        if let Some(departement) = &$filter.departement {
            query = query.filter(communes::departement_code.eq(departement.clone()));
        }
        query
    }};
}

/// Up to `limit` communes after the commune `cursor` (and one more, to tell
/// that a page follows), or `None` when `cursor` is no commune. With a name,
/// the best matches come first: exact name, then names starting with it, then
/// the most populated; otherwise by INSEE code. The relevance is written as a
/// key sorted ascending so that the cursor is one row comparison.
pub async fn list_communes(
    conn: &mut AsyncPgConnection,
    filter: &CommuneFilter,
    limit: i64,
    cursor: Option<&str>,
) -> QueryResult<Option<Vec<CommuneRow>>> {
    if let Some(cursor) = cursor {
        let known = diesel::select(exists(communes::table.find(cursor)))
            .get_result::<bool>(conn)
            .await?;
        if !known {
            return Ok(None);
        }
    }
    let mut query = filtered!(commune_with_areas().into_boxed(), filter);
    match &filter.name {
        Some(name) => {
            let prefix = format!("{name}%");
            query = query.order((
                communes::search_name.ne(name.clone()),
                communes::search_name.not_like(prefix.clone()),
                sql::<Integer>("COALESCE(-communes.population, 1)"),
                communes::insee,
            ));
            if let Some(cursor) = cursor {
                query = query.filter(
                    sql::<Bool>("(communes.search_name <> ")
                        .bind::<Text, _>(name.clone())
                        .sql(", communes.search_name NOT LIKE ")
                        .bind::<Text, _>(prefix.clone())
                        .sql(", COALESCE(-communes.population, 1), communes.insee) > ")
                        .sql("(SELECT c.search_name <> ")
                        .bind::<Text, _>(name.clone())
                        .sql(", c.search_name NOT LIKE ")
                        .bind::<Text, _>(prefix)
                        .sql(", COALESCE(-c.population, 1), c.insee FROM communes c WHERE c.insee = ")
                        .bind::<Text, _>(cursor.to_owned())
                        .sql(")"),
                );
            }
        }
        None => {
            query = query.order(communes::insee);
            if let Some(cursor) = cursor {
                query = query.filter(communes::insee.gt(cursor.to_owned()));
            }
        }
    }
    query.limit(limit + 1).load(conn).await.map(Some)
}

pub async fn find_commune(
    conn: &mut AsyncPgConnection,
    insee: &str,
) -> QueryResult<Option<CommuneRow>> {
    commune_with_areas()
        .filter(communes::insee.eq(insee))
        .first(conn)
        .await
        .optional()
}

/// The EPCI's own row: name, nature, population.
pub async fn find_epci(
    conn: &mut AsyncPgConnection,
    siren: &str,
) -> QueryResult<Option<(String, String, String, Option<i32>)>> {
    epcis::table
        .find(siren)
        .select((epcis::siren, epcis::name, epcis::nature, epcis::population))
        .first(conn)
        .await
        .optional()
}

pub async fn epci_members(
    conn: &mut AsyncPgConnection,
    siren: &str,
) -> QueryResult<Vec<EpciMember>> {
    communes::table
        .filter(communes::epci_siren.eq(siren))
        .select((
            communes::insee,
            communes::name,
            communes::population,
            communes::departement_code,
        ))
        .order(communes::insee)
        .load(conn)
        .await
}

/// The codes of each list that name no commune, EPCI or département.
pub async fn unknown_codes(
    conn: &mut AsyncPgConnection,
    communes: &[String],
    epcis: &[String],
    departements: &[String],
) -> QueryResult<(Vec<String>, Vec<String>, Vec<String>)> {
    let known_communes: Vec<String> = communes::table
        .filter(communes::insee.eq_any(communes))
        .select(communes::insee)
        .load(conn)
        .await?;
    let known_epcis: Vec<String> = epcis::table
        .filter(epcis::siren.eq_any(epcis))
        .select(epcis::siren)
        .load(conn)
        .await?;
    let known_departements: Vec<String> = departements::table
        .filter(departements::code.eq_any(departements))
        .select(departements::code)
        .load(conn)
        .await?;
    let missing = |asked: &[String], known: &[String]| {
        asked
            .iter()
            .filter(|c| !known.contains(c))
            .cloned()
            .collect::<Vec<_>>()
    };
    Ok((
        missing(communes, &known_communes),
        missing(epcis, &known_epcis),
        missing(departements, &known_departements),
    ))
}
