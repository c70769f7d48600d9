//! The reference geography shipped inside the binary (`data/geography.json.gz`,
//! built from Etalab's `@etalab/decoupage-administratif`, see `data/README.md`)
//! and its loading into the database.

use std::io::Read;

use anyhow::Context;
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use flate2::read::GzDecoder;
use serde::Deserialize;

use super::search::fold;
use crate::schema::{communes, departements, epcis, reference_datasets, regions};

const GEOGRAPHY_GZ: &[u8] = include_bytes!("../../data/geography.json.gz");
const DATASET_NAME: &str = "geography";
/// Rows per INSERT: well under PostgreSQL's 65,535 bind parameters.
const BATCH: usize = 2_000;

#[derive(Deserialize)]
pub struct Geography {
    pub source: String,
    pub version: String,
    pub licence: String,
    pub regions: Vec<Region>,
    pub departements: Vec<Departement>,
    pub epcis: Vec<Epci>,
    pub communes: Vec<Commune>,
}

#[derive(Deserialize, Insertable)]
#[diesel(table_name = regions)]
pub struct Region {
    pub code: String,
    pub name: String,
}

#[derive(Deserialize, Insertable)]
#[diesel(table_name = departements)]
pub struct Departement {
    pub code: String,
    pub name: String,
    #[serde(rename = "region")]
    #[diesel(column_name = region_code)]
    pub region_code: String,
}

#[derive(Deserialize, Insertable)]
#[diesel(table_name = epcis)]
pub struct Epci {
    pub siren: String,
    pub name: String,
    pub nature: String,
    pub population: Option<i32>,
}

#[derive(Deserialize)]
pub struct Commune {
    pub insee: String,
    pub name: String,
    pub departement: String,
    pub epci: Option<String>,
    pub population: Option<i32>,
}

#[derive(Insertable)]
#[diesel(table_name = communes)]
struct CommuneRow<'a> {
    insee: &'a str,
    name: &'a str,
    search_name: String,
    departement_code: &'a str,
    epci_siren: Option<&'a str>,
    population: Option<i32>,
}

pub fn shipped() -> anyhow::Result<Geography> {
    let mut json = String::new();
    GzDecoder::new(GEOGRAPHY_GZ)
        .read_to_string(&mut json)
        .context("the shipped geography file is not valid gzip")?;
    serde_json::from_str(&json).context("the shipped geography file is not valid JSON")
}

/// Loads the shipped geography unless this exact version is already loaded.
/// Returns the version loaded, if it loaded anything.
pub async fn sync(conn: &mut AsyncPgConnection) -> anyhow::Result<Option<String>> {
    if is_loaded(conn).await? {
        return Ok(None);
    }
    let geography = shipped()?;
    conn.transaction(async |conn| load(conn, &geography).await)
        .await?;
    Ok(Some(geography.version))
}

/// Upserts everything (rows that other tables reference stay in place), then
/// removes what the new version no longer has.
async fn load(conn: &mut AsyncPgConnection, geo: &Geography) -> anyhow::Result<()> {
    // Serialise concurrent loaders (several instances starting at once).
    diesel::sql_query("LOCK TABLE reference_datasets IN EXCLUSIVE MODE")
        .execute(conn)
        .await?;

    for chunk in geo.regions.chunks(BATCH) {
        diesel::insert_into(regions::table)
            .values(chunk)
            .on_conflict(regions::code)
            .do_update()
            .set(regions::name.eq(excluded(regions::name)))
            .execute(conn)
            .await?;
    }
    for chunk in geo.departements.chunks(BATCH) {
        diesel::insert_into(departements::table)
            .values(chunk)
            .on_conflict(departements::code)
            .do_update()
            .set((
                departements::name.eq(excluded(departements::name)),
                departements::region_code.eq(excluded(departements::region_code)),
            ))
            .execute(conn)
            .await?;
    }
    for chunk in geo.epcis.chunks(BATCH) {
        diesel::insert_into(epcis::table)
            .values(chunk)
            .on_conflict(epcis::siren)
            .do_update()
            .set((
                epcis::name.eq(excluded(epcis::name)),
                epcis::nature.eq(excluded(epcis::nature)),
                epcis::population.eq(excluded(epcis::population)),
            ))
            .execute(conn)
            .await?;
    }
    for chunk in geo.communes.chunks(BATCH) {
        let rows: Vec<CommuneRow> = chunk
            .iter()
            .map(|c| CommuneRow {
                insee: &c.insee,
                name: &c.name,
                search_name: fold(&c.name),
                departement_code: &c.departement,
                epci_siren: c.epci.as_deref(),
                population: c.population,
            })
            .collect();
        diesel::insert_into(communes::table)
            .values(&rows)
            .on_conflict(communes::insee)
            .do_update()
            .set((
                communes::name.eq(excluded(communes::name)),
                communes::search_name.eq(excluded(communes::search_name)),
                communes::departement_code.eq(excluded(communes::departement_code)),
                communes::epci_siren.eq(excluded(communes::epci_siren)),
                communes::population.eq(excluded(communes::population)),
            ))
            .execute(conn)
            .await?;
    }

    let insees: Vec<&str> = geo.communes.iter().map(|c| c.insee.as_str()).collect();
    diesel::delete(communes::table.filter(communes::insee.ne_all(&insees)))
        .execute(conn)
        .await?;
    let sirens: Vec<&str> = geo.epcis.iter().map(|e| e.siren.as_str()).collect();
    diesel::delete(epcis::table.filter(epcis::siren.ne_all(&sirens)))
        .execute(conn)
        .await?;
    let departement_codes: Vec<&str> = geo.departements.iter().map(|d| d.code.as_str()).collect();
    diesel::delete(departements::table.filter(departements::code.ne_all(&departement_codes)))
        .execute(conn)
        .await?;
    let region_codes: Vec<&str> = geo.regions.iter().map(|r| r.code.as_str()).collect();
    diesel::delete(regions::table.filter(regions::code.ne_all(&region_codes)))
        .execute(conn)
        .await?;

    diesel::insert_into(reference_datasets::table)
        .values((
            reference_datasets::name.eq(DATASET_NAME),
            reference_datasets::source.eq(&geo.source),
            reference_datasets::version.eq(&geo.version),
            reference_datasets::licence.eq(&geo.licence),
        ))
        .on_conflict(reference_datasets::name)
        .do_update()
        .set((
            reference_datasets::source.eq(excluded(reference_datasets::source)),
            reference_datasets::version.eq(excluded(reference_datasets::version)),
            reference_datasets::licence.eq(excluded(reference_datasets::licence)),
            reference_datasets::loaded_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// True when the shipped geography version is the one in the database.
pub async fn is_loaded(conn: &mut AsyncPgConnection) -> QueryResult<bool> {
    let loaded: Option<String> = reference_datasets::table
        .find(DATASET_NAME)
        .select(reference_datasets::version)
        .first(conn)
        .await
        .optional()?;
    Ok(loaded.as_deref() == Some(shipped_version()))
}

/// The version of the shipped file, read once.
pub fn shipped_version() -> &'static str {
    static VERSION: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    VERSION.get_or_init(|| shipped().map(|g| g.version).unwrap_or_default())
}
