//! The offer search: validated filters become one SQL statement with bound
//! parameters (see `docs/benchmarks.md` for its plan).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::delivery::{MAX_DAYS_AHEAD, deliverable_by_sql};
use super::dto::{Local, SearchQuery, Sort};
use super::queries::{CanteenPlace, Param};
use crate::auth::token::to_hex;
use crate::clock::TODAY_IN_PARIS_SQL;
use crate::codes::Label;
use crate::error::{ApiError, FieldError};
use crate::geo::search::fold;

pub const MAX_LIMIT: u32 = 100;
const DEFAULT_LIMIT: u32 = 50;

/// Where the last page stopped, for keyset pagination.
#[derive(Serialize, Deserialize)]
struct Cursor {
    sort: String,
    price_cents: i64,
    name: String,
    created_at: DateTime<Utc>,
    id: Uuid,
}

/// The SQL and its parameters, plus what the handler needs afterwards.
pub struct Plan {
    pub sql: String,
    pub params: Vec<Param>,
    pub limit: u32,
    pub sort: Sort,
}

struct Builder {
    conditions: Vec<String>,
    params: Vec<Param>,
}

impl Builder {
    fn bind(&mut self, param: Param) -> String {
        self.params.push(param);
        format!("${}", self.params.len())
    }
}

fn parse_labels(field: &str, value: &str, errors: &mut Vec<FieldError>) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .filter_map(|l| match l.parse::<Label>() {
            Ok(label) => Some(label.as_str().to_owned()),
            Err(e) => {
                errors.push(FieldError::new(field, e));
                None
            }
        })
        .collect()
}

/// The commune's EPCI and département, for `deliverable_to`.
pub struct Destination {
    pub insee: String,
    pub epci: Option<String>,
    pub departement: String,
}

pub fn plan(
    query: SearchQuery,
    destination: Option<Destination>,
    canteen: Option<&CanteenPlace>,
) -> Result<Plan, ApiError> {
    let mut errors = Vec::new();
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        errors.push(FieldError::new(
            "limit",
            format!("must be between 1 and {MAX_LIMIT}"),
        ));
    }
    let sort = query.sort.unwrap_or_default();
    let mut b = Builder {
        conditions: vec!["o.status = 'active'".into(), "s.status = 'verified'".into()],
        params: Vec::new(),
    };

    if let Some(q) = &query.q {
        let folded = fold(q);
        if folded.is_empty() || q.chars().count() > 200 {
            errors.push(FieldError::new(
                "q",
                "must hold a word, in at most 200 characters",
            ));
        } else {
            let p = b.bind(Param::Text(folded));
            b.conditions
                .push(format!("o.search @@ plainto_tsquery('french', {p})"));
        }
    }
    if let Some(family) = query.family {
        let p = b.bind(Param::Text(family.as_str().into()));
        b.conditions.push(format!("o.family = {p}"));
    }
    if let Some(any) = &query.labels_any {
        let labels = parse_labels("labels_any", any, &mut errors);
        let p = b.bind(Param::Texts(labels));
        b.conditions.push(format!("o.labels && {p}"));
    }
    if let Some(all) = &query.labels_all {
        let labels = parse_labels("labels_all", all, &mut errors);
        let p = b.bind(Param::Texts(labels));
        b.conditions.push(format!("o.labels @> {p}"));
    }
    if let Some(egalim) = query.egalim {
        let all: Vec<String> = Label::ALL.iter().map(|l| l.as_str().to_owned()).collect();
        let p = b.bind(Param::Texts(all));
        b.conditions.push(if egalim {
            format!("o.labels && {p}")
        } else {
            format!("NOT (o.labels && {p})")
        });
    }
    if let Some(origin) = query.origin {
        let p = b.bind(Param::Text(origin.as_str().into()));
        b.conditions.push(format!("o.origin = {p}"));
    }
    if let Some(supplier) = query.supplier {
        let p = b.bind(Param::Uuid(supplier));
        b.conditions.push(format!("o.supplier_id = {p}"));
    }
    if let Some(producer) = query.producer {
        let p = b.bind(Param::Uuid(producer));
        b.conditions.push(format!("o.producer_id = {p}"));
    }
    let places = [
        (
            "origin_commune",
            &query.origin_commune,
            "o.producer_commune_insee",
        ),
        ("origin_epci", &query.origin_epci, "c.epci_siren"),
        (
            "origin_departement",
            &query.origin_departement,
            "c.departement_code",
        ),
        ("origin_region", &query.origin_region, "d.region_code"),
    ];
    for (field, value, column) in places {
        if let Some(value) = value {
            if value.is_empty()
                || value.len() > 9
                || !value.bytes().all(|c| c.is_ascii_alphanumeric())
            {
                errors.push(FieldError::new(field, "is not a code"));
            }
            let p = b.bind(Param::Text(value.clone()));
            b.conditions.push(format!("{column} = {p}"));
        }
    }
    if let Some(day) = query.available_on {
        let p = b.bind(Param::Date(day));
        b.conditions.push(format!(
            "(o.available_from IS NULL OR o.available_from <= {p}) \
             AND (o.available_until IS NULL OR o.available_until >= {p}) \
             AND {p} >= {TODAY_IN_PARIS_SQL} + o.lead_time_days \
             AND {p} <= {TODAY_IN_PARIS_SQL} + {MAX_DAYS_AHEAD} \
             AND extract(isodow FROM {p})::smallint = ANY (o.delivery_weekdays)"
        ));
    }
    if let Some(day) = query.deliverable_by {
        let p = b.bind(Param::Date(day));
        b.conditions.push(deliverable_by_sql(
            TODAY_IN_PARIS_SQL,
            &format!("{p}::date"),
        ));
    }
    if let Some(to) = destination {
        let commune = b.bind(Param::Text(to.insee));
        let epci = b.bind(Param::Text(to.epci.unwrap_or_default()));
        let departement = b.bind(Param::Text(to.departement));
        b.conditions.push(format!(
            "(cardinality(o.area_communes) + cardinality(o.area_epcis) + cardinality(o.area_departements) = 0 \
             OR {commune} = ANY (o.area_communes) OR {epci} = ANY (o.area_epcis) \
             OR {departement} = ANY (o.area_departements))"
        ));
    }
    if let Some(min) = query.min_price_cents {
        let p = b.bind(Param::Int(min));
        b.conditions.push(format!("o.price_cents >= {p}"));
    }
    if let Some(max) = query.max_price_cents {
        let p = b.bind(Param::Int(max));
        b.conditions.push(format!("o.price_cents <= {p}"));
    }
    let local = match canteen {
        Some(place) => {
            let expression = local_expression(&mut b, place);
            if let Some(wanted) = query.local {
                let answer = match wanted {
                    Local::Yes => "yes",
                    Local::No => "no",
                    Local::Unknown => "unknown",
                };
                let p = b.bind(Param::Text(answer.to_owned()));
                b.conditions.push(format!("({expression}) = {p}"));
            }
            expression
        }
        None => {
            if query.local.is_some() {
                errors.push(FieldError::new(
                    "local",
                    "needs local_to: local for which canteen?",
                ));
            }
            "NULL::text".to_owned()
        }
    };

    let (order, keyset) = match sort {
        Sort::Price => ("o.price_cents, o.id", "(o.price_cents, o.id) > ({}, {})"),
        Sort::Name => ("o.name, o.id", "(o.name, o.id) > ({}, {})"),
        Sort::Newest => (
            "o.created_at DESC, o.id DESC",
            "(o.created_at, o.id) < ({}, {})",
        ),
    };
    if let Some(cursor) = &query.cursor {
        match decode_cursor(cursor) {
            Some(c) if c.sort == sort_name(sort) => {
                let value = match sort {
                    Sort::Price => b.bind(Param::Int(c.price_cents)),
                    Sort::Name => b.bind(Param::Text(c.name)),
                    Sort::Newest => format!(
                        "{}::timestamptz",
                        b.bind(Param::Text(c.created_at.to_rfc3339()))
                    ),
                };
                let id = b.bind(Param::Uuid(c.id));
                b.conditions
                    .push(keyset.replacen("{}", &value, 1).replacen("{}", &id, 1));
            }
            _ => errors.push(FieldError::new(
                "cursor",
                "is not a cursor of this search's sort",
            )),
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::InvalidParameters(errors));
    }
    let limit_param = b.bind(Param::Int(i64::from(limit) + 1));
    let sql = format!(
        "SELECT o.id, {local} AS local, o.price_cents, o.name, o.created_at \
         FROM offers o \
         JOIN organisations s ON s.id = o.supplier_id \
         JOIN communes c ON c.insee = o.producer_commune_insee \
         JOIN departements d ON d.code = c.departement_code \
         LEFT JOIN organisations p ON p.id = o.producer_id \
         WHERE {} ORDER BY {order} LIMIT {limit_param}",
        b.conditions.join(" AND ")
    );
    Ok(Plan {
        sql,
        params: b.params,
        limit,
        sort,
    })
}

/// 'yes', 'no' or 'unknown' for the canteen's own definition of local.
fn local_expression(b: &mut Builder, place: &CanteenPlace) -> String {
    match place.definition.as_str() {
        "COMMUNE" => {
            let commune = b.bind(Param::Text(place.commune.clone()));
            let epci = b.bind(Param::Text(place.epci.clone().unwrap_or_default()));
            format!(
                "CASE WHEN o.producer_commune_insee = {commune} OR c.epci_siren = {epci} THEN 'yes' ELSE 'no' END"
            )
        }
        "DEPARTEMENT" => {
            let departement = b.bind(Param::Text(place.departement.clone()));
            format!("CASE WHEN c.departement_code = {departement} THEN 'yes' ELSE 'no' END")
        }
        "REGION" => {
            let region = b.bind(Param::Text(place.region.clone()));
            format!("CASE WHEN d.region_code = {region} THEN 'yes' ELSE 'no' END")
        }
        "KM" => match (place.latitude, place.longitude, place.km) {
            (Some(latitude), Some(longitude), Some(km)) => {
                let lat = b.bind(Param::Float(Some(latitude)));
                let lon = b.bind(Param::Float(Some(longitude)));
                let radius = b.bind(Param::Int(i64::from(km)));
                // Great-circle distance (haversine), Earth radius 6371 km.
                format!(
                    "CASE WHEN p.latitude IS NULL OR p.longitude IS NULL THEN 'unknown' \
                     WHEN 2 * 6371 * asin(sqrt(power(sin(radians(p.latitude - {lat}) / 2), 2) \
                     + cos(radians({lat})) * cos(radians(p.latitude)) \
                     * power(sin(radians(p.longitude - {lon}) / 2), 2))) <= {radius} \
                     THEN 'yes' ELSE 'no' END"
                )
            }
            _ => "'unknown'::text".to_owned(),
        },
        // No food territorial project (PAT) is known to Sésame.
        _ => "'unknown'::text".to_owned(),
    }
}

fn sort_name(sort: Sort) -> &'static str {
    match sort {
        Sort::Price => "price",
        Sort::Name => "name",
        Sort::Newest => "newest",
    }
}

pub fn encode_cursor(
    sort: Sort,
    price_cents: i64,
    name: &str,
    created_at: DateTime<Utc>,
    id: Uuid,
) -> String {
    let cursor = Cursor {
        sort: sort_name(sort).to_owned(),
        price_cents,
        name: name.to_owned(),
        created_at,
        id,
    };
    to_hex(&serde_json::to_vec(&cursor).unwrap_or_default())
}

fn decode_cursor(text: &str) -> Option<Cursor> {
    if !text.len().is_multiple_of(2) || text.len() > 2048 {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect();
    serde_json::from_slice(&bytes?).ok()
}
