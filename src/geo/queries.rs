//! SQL for the geography endpoints.

use diesel::prelude::*;
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

/// One page of communes and the total number matching. With a name, the best
/// matches come first: exact name, then names starting with it, then the most
/// populated; otherwise by INSEE code.
pub async fn list_communes(
    conn: &mut AsyncPgConnection,
    filter: &CommuneFilter,
    limit: i64,
    offset: i64,
) -> QueryResult<(Vec<CommuneRow>, i64)> {
    let total = filtered!(communes::table.into_boxed(), filter)
        .count()
        .get_result(conn)
        .await?;
    let mut query = filtered!(commune_with_areas().into_boxed(), filter);
    query = match &filter.name {
        Some(name) => query.order((
            communes::search_name.eq(name.clone()).desc(),
            communes::search_name.like(format!("{name}%")).desc(),
            communes::population.desc().nulls_last(),
            communes::insee,
        )),
        None => query.order(communes::insee),
    };
    let rows = query.limit(limit).offset(offset).load(conn).await?;
    Ok((rows, total))
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
