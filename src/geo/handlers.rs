//! HTTP handlers of the reference geography.

use actix_web::{get, web};
use serde::Deserialize;
use utoipa::IntoParams;

use super::model::{Commune, Epci};
use super::queries::{self, CommuneFilter};
use super::search::fold;
use crate::AppState;
use crate::error::{ApiError, ApiResult, FieldError, Problem};
use crate::http::extract::Query;
use crate::http::pagination::{self, Page};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CommuneSearch {
    /// Part of the commune's name; accents, case, hyphens and apostrophes are
    /// ignored (`bretigny` finds Brétigny-sur-Orge).
    #[param(example = "bretigny", max_length = 100)]
    pub q: Option<String>,
    /// SIREN of an EPCI: only its member communes.
    #[param(example = "200057859", pattern = r"^\d{9}$")]
    pub epci: Option<String>,
    /// Code of a département (`91`, `2A`, `971`).
    #[param(example = "91", pattern = r"^(\d{2,3}|2[AB])$")]
    pub departement: Option<String>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub limit: Option<u32>,
    /// The previous page's `next_cursor` (an INSEE code).
    #[param(example = "91103", pattern = r"^(\d{5}|2[AB]\d{3})$")]
    pub cursor: Option<String>,
}

impl CommuneSearch {
    fn validate(self) -> Result<(CommuneFilter, u32, Option<String>), ApiError> {
        let mut errors = Vec::new();
        let name = self.q.map(|q| (fold(&q), q.chars().count()));
        if let Some((folded, length)) = &name {
            if *length > 100 {
                errors.push(FieldError::new("q", "must be at most 100 characters"));
            } else if folded.is_empty() {
                errors.push(FieldError::new(
                    "q",
                    "must contain at least one letter or digit",
                ));
            }
        }
        if self.epci.as_deref().is_some_and(|epci| !is_siren(epci)) {
            errors.push(FieldError::new("epci", "must be a SIREN: 9 digits"));
        }
        if self
            .departement
            .as_deref()
            .is_some_and(|code| !is_departement_code(code))
        {
            errors.push(FieldError::new(
                "departement",
                "must be a département code such as 91, 2A or 971",
            ));
        }
        if self
            .cursor
            .as_deref()
            .is_some_and(|code| !is_insee_code(code))
        {
            errors.push(FieldError::new("cursor", "must be an INSEE code"));
        }
        let limit = pagination::limit(self.limit);
        if let Err(error) = &limit {
            errors.push(error.clone());
        }
        match (errors.is_empty(), limit) {
            (true, Ok(limit)) => Ok((
                CommuneFilter {
                    name: name.map(|(folded, _)| folded),
                    epci: self.epci,
                    departement: self.departement,
                },
                limit,
                self.cursor,
            )),
            _ => Err(ApiError::InvalidParameters(errors)),
        }
    }
}

fn is_siren(value: &str) -> bool {
    value.len() == 9 && value.bytes().all(|b| b.is_ascii_digit())
}

/// Five digits, or Corsica's `2A`/`2B` and three digits.
fn is_insee_code(value: &str) -> bool {
    let b = value.as_bytes();
    b.len() == 5
        && b[2..].iter().all(u8::is_ascii_digit)
        && (b[..2].iter().all(u8::is_ascii_digit) || matches!(&b[..2], b"2A" | b"2B"))
}

fn is_departement_code(value: &str) -> bool {
    let digits = value.bytes().all(|b| b.is_ascii_digit());
    (digits && (2..=3).contains(&value.len())) || value == "2A" || value == "2B"
}

/// Search current French communes.
#[utoipa::path(
    tag = "geography",
    operation_id = "list_communes",
    params(CommuneSearch),
    responses(
        (status = 200, description = "One page of communes", body = Page<Commune>),
        (status = 400, description = "A query parameter is invalid", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    ),
)]
#[get("/communes")]
pub async fn list_communes(
    state: web::Data<AppState>,
    Query(search): Query<CommuneSearch>,
) -> ApiResult<web::Json<Page<Commune>>> {
    let (filter, limit, cursor) = search.validate()?;
    let mut conn = state.pool.get().await?;
    let rows = queries::list_communes(&mut conn, &filter, limit.into(), cursor.as_deref())
        .await?
        .ok_or_else(pagination::unknown_cursor)?;
    let page = Page::from_rows(rows, limit, |row| row.insee.clone());
    Ok(web::Json(page.map(Commune::from)))
}

/// One commune by its INSEE code.
#[utoipa::path(
    tag = "geography",
    operation_id = "get_commune",
    params(("insee" = String, Path, description = "INSEE code of the commune (not its postcode)", example = "91103")),
    responses(
        (status = 200, description = "The commune", body = Commune),
        (status = 404, description = "No current commune has this code", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    ),
)]
#[get("/communes/{insee}")]
pub async fn get_commune(
    state: web::Data<AppState>,
    insee: web::Path<String>,
) -> ApiResult<web::Json<Commune>> {
    if !insee.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(ApiError::not_found(
            "no current commune has this INSEE code",
        ));
    }
    let mut conn = state.pool.get().await?;
    let row = queries::find_commune(&mut conn, &insee)
        .await?
        .ok_or_else(|| {
            ApiError::not_found(format!("no current commune has the INSEE code {insee}"))
        })?;
    Ok(web::Json(row.into()))
}

/// One EPCI (intercommunality) by its SIREN, with its member communes.
#[utoipa::path(
    tag = "geography",
    operation_id = "get_epci",
    params(("siren" = String, Path, description = "SIREN of the EPCI", example = "200057859")),
    responses(
        (status = 200, description = "The EPCI and its members", body = Epci),
        (status = 404, description = "No EPCI has this SIREN", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    ),
)]
#[get("/epcis/{siren}")]
pub async fn get_epci(
    state: web::Data<AppState>,
    siren: web::Path<String>,
) -> ApiResult<web::Json<Epci>> {
    if !is_siren(&siren) {
        return Err(ApiError::not_found(format!(
            "no EPCI has the SIREN {siren}"
        )));
    }
    let mut conn = state.pool.get().await?;
    let (siren, name, nature, population) = queries::find_epci(&mut conn, &siren)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no EPCI has the SIREN {siren}")))?;
    let members = queries::epci_members(&mut conn, &siren).await?;
    Ok(web::Json(Epci {
        siren,
        name,
        nature,
        population,
        member_count: members.len(),
        members,
    }))
}
