//! HTTP handlers: an authority publishes a release; anyone lists releases and
//! downloads their frozen files, streamed.

use std::time::{Duration, SystemTime};

use actix_web::http::header::{self, HttpDate};
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, get, post, route, web};
use diesel_async::{AsyncConnection, SimpleAsyncConnection};
use futures_util::StreamExt;
use uuid::Uuid;

use super::dto::*;
use super::package::{self, File, Format};
use super::queries::{self, ReleaseRow};
use super::release::{self, Build, end_of_month, last_closed_month, parse_month};
use crate::AppState;
use crate::accounts::access;
use crate::auth::extract::AuthUser;
use crate::auth::policy::{self, OrgAction};
use crate::codes::ReleaseResource;
use crate::db::Work;
use crate::error::{ApiError, ApiResult, FieldError, Problem};
use crate::http::extract::{Json, Query};
use crate::http::pagination;

const PROBLEM: &str = "application/problem+json";
/// The longest period of one release, in months.
const MAX_MONTHS: u32 = 36;
/// A build runs several statements, each bounded at 300 s by the build's
/// `SET LOCAL`, and may first wait up to 60 s for another build of its EPCI:
/// ten minutes in all. Builds are rare, and capped at two at once.
const BUILD: Work = Work::Long(std::time::Duration::from_secs(600));
/// One page of a download: one statement bounded at 30 s.
const PAGE: Work = Work::Long(std::time::Duration::from_secs(35));

/// Checks a publishing request against today (Paris time).
fn validate(
    body: &PublishRelease,
    today: chrono::NaiveDate,
) -> ApiResult<(
    chrono::NaiveDate,
    chrono::NaiveDate,
    super::disclosure::Thresholds,
)> {
    let mut errors = Vec::new();
    let month = |field: &str, value: &str, errors: &mut Vec<FieldError>| {
        let parsed = parse_month(value);
        if parsed.is_none() {
            errors.push(FieldError::new(field, "must be a month, YYYY-MM"));
        }
        parsed
    };
    let from = month("from", &body.from, &mut errors);
    let to = month("to", &body.to, &mut errors);
    let last = last_closed_month(today);
    if let (Some(from), Some(to)) = (from, to) {
        if to < from {
            errors.push(FieldError::new("to", "is before from"));
        } else if to > last {
            errors.push(FieldError::new(
                "to",
                format!(
                    "must be a month that is over: {} at the latest",
                    last.format("%Y-%m")
                ),
            ));
        } else if month_index(to) - month_index(from) >= MAX_MONTHS as i32 {
            errors.push(FieldError::new(
                "to",
                format!("a release covers at most {MAX_MONTHS} months"),
            ));
        }
    }
    let thresholds = body.thresholds.unwrap_or_default();
    if let Some((field, message)) = thresholds.invalid() {
        errors.push(FieldError::new(field, message));
    } else if thresholds.below_defaults() && !body.allow_below_defaults {
        errors.push(FieldError::new(
            "thresholds",
            "protects less than the defaults (3 units, 85 %, k = 5, p = 15 %); set allow_below_defaults to publish anyway",
        ));
    }
    match (from, to, errors.is_empty()) {
        (Some(from), Some(to), true) => Ok((from, end_of_month(to), thresholds)),
        _ => Err(ApiError::Validation(errors)),
    }
}

fn month_index(date: chrono::NaiveDate) -> i32 {
    use chrono::Datelike;
    date.year() * 12 + date.month() as i32
}

/// Publish the territory's supply as open data for whole past months: the
/// release is built, protected by the statistical secrecy, and frozen.
/// Releases of one EPCI never overlap, so that no two releases can be
/// subtracted from each other.
#[utoipa::path(
    tag = "opendata",
    operation_id = "publish_release",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The authority")),
    request_body(content = PublishRelease, example = json!({"from": "2026-01", "to": "2026-06"})),
    responses(
        (status = 201, description = "Published", body = Release,
            headers(("Location" = String, description = "URL of the release"))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 403, description = "Not an owner of a verified authority", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such authority visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 409, description = "A release of this EPCI already covers part of the period (`release-overlap`), or another release of it is still being built after a minute (`busy`)", body = Problem, content_type = PROBLEM),
        (status = 422, description = "Invalid period or thresholds, each named", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable (`service-unavailable`), or two releases are being built already (`at-capacity`)", body = Problem, content_type = PROBLEM),
    ),
)]
#[post("/authorities/{id}/opendata/releases")]
pub async fn publish_release(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    Json(body): Json<PublishRelease>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let mut conn = state.pool.get_for(BUILD).await?;
    let org = access(&mut conn, id, Some(&user)).await?;
    policy::authorize(&user, &org, OrgAction::PublishOpenData)?;
    let epci = crate::egalim::queries::authority_epci(&mut conn, id)
        .await?
        .ok_or_else(|| ApiError::not_found("no authority with this id"))?;
    let today = crate::clock::today_in_paris(&mut conn).await?;
    let (from, to, thresholds) = validate(&body, today)?;
    let release = conn
        .transaction::<_, ApiError, _>(async |conn| {
            if !queries::take_build_slot(conn).await? {
                return Err(ApiError::AtCapacity(format!(
                    "{} open data releases are being built already; publish again in a few \
                     seconds",
                    queries::BUILD_SLOTS
                )));
            }
            let (overlaps, version) = queries::claim_period(conn, &epci, from, to).await?;
            if overlaps {
                return Err(ApiError::ReleaseOverlap(format!(
                    "a release of EPCI {epci} already covers part of {from} – {to}; \
                     releases never overlap, so that none can be subtracted from another"
                )));
            }
            let build = Build {
                id: Uuid::now_v7(),
                epci: &epci,
                version,
                from,
                to,
                created_at: chrono::Utc::now(),
                published_by: Some(user.id),
                thresholds,
            };
            release::build(conn, build).await
        })
        .await;
    super::trim_heap();
    let release = release?;
    let (row, name) = queries::release(&mut conn, release.id)
        .await?
        .ok_or_else(|| {
            ApiError::Internal(anyhow::anyhow!("the release just written is missing"))
        })?;
    let body = Release::new(row, name, release::summary(&release)?);
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/opendata/releases/{}", body.id),
        ))
        .json(body))
}

/// The published releases, newest first. Public.
#[utoipa::path(
    tag = "opendata",
    operation_id = "list_releases",
    params(ReleasesQuery),
    responses(
        (status = 200, description = "Releases, newest first", body = ReleasePage),
        (status = 400, description = "A parameter is invalid", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[get("/opendata/releases")]
pub async fn list_releases(
    state: web::Data<AppState>,
    Query(query): Query<ReleasesQuery>,
) -> ApiResult<HttpResponse> {
    let page = pagination::keyset(query.limit, query.cursor)?;
    if let Some(epci) = &query.epci
        && !(epci.len() == 9 && epci.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(ApiError::invalid_parameter(
            "epci",
            "must be a SIREN, 9 digits",
        ));
    }
    let mut conn = state.pool.get().await?;
    let rows = queries::releases(&mut conn, query.epci.as_deref(), page.cursor, page.fetch())
        .await?
        .ok_or_else(pagination::unknown_cursor)?;
    let (rows, next_cursor) = page.page(rows, |(row, _)| row.id);
    let items = rows
        .into_iter()
        .map(|(row, name)| {
            let summary = release::summary(&row)?;
            Ok(Release::new(row, name, summary))
        })
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(HttpResponse::Ok().json(ReleasePage { items, next_cursor }))
}

async fn find(state: &AppState, id: Uuid) -> ApiResult<(ReleaseRow, String)> {
    let mut conn = state.pool.get().await?;
    queries::release(&mut conn, id)
        .await?
        .ok_or_else(|| ApiError::not_found("no release with this id"))
}

/// One release's metadata. Public.
#[utoipa::path(
    tag = "opendata",
    operation_id = "get_release",
    params(("id" = Uuid, Path, description = "The release")),
    responses(
        (status = 200, description = "The release", body = Release),
        (status = 404, description = "No such release", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[get("/opendata/releases/{id}")]
pub async fn get_release(
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let (row, name) = find(&state, id.into_inner()).await?;
    let summary = release::summary(&row)?;
    Ok(HttpResponse::Ok().json(Release::new(row, name, summary)))
}

/// Validators of a frozen file: its bytes change only with the release or
/// with the service's version (the encoding).
fn validators(release: &ReleaseRow, file: &str) -> (String, HttpDate) {
    let etag = format!("\"{}-{file}-{}\"", release.id, env!("CARGO_PKG_VERSION"));
    let seconds = u64::try_from(release.created_at.timestamp()).unwrap_or(0);
    (
        etag,
        HttpDate::from(SystemTime::UNIX_EPOCH + Duration::from_secs(seconds)),
    )
}

/// Does the client already hold these bytes?
fn fresh(req: &HttpRequest, etag: &str, modified: HttpDate) -> bool {
    if let Some(tags) = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        return tags.split(',').any(|t| {
            let t = t.trim();
            t == "*" || t == etag || t.strip_prefix("W/") == Some(etag)
        });
    }
    req.headers()
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<HttpDate>().ok())
        .is_some_and(|since| SystemTime::from(since) >= SystemTime::from(modified))
}

fn frozen(etag: &str, modified: HttpDate) -> actix_web::HttpResponseBuilder {
    let mut builder = HttpResponse::Ok();
    builder
        .insert_header((header::ETAG, etag.to_owned()))
        .insert_header((header::LAST_MODIFIED, modified))
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"));
    builder
}

fn not_modified(etag: &str, modified: HttpDate) -> HttpResponse {
    HttpResponse::NotModified()
        .insert_header((header::ETAG, etag.to_owned()))
        .insert_header((header::LAST_MODIFIED, modified))
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .finish()
}

/// The release's `datapackage.json` (Frictionless Data Package): resources,
/// their Table Schemas, licence, producer, period and the disclosure
/// control applied. Public; `HEAD` gives the headers.
#[utoipa::path(
    get,
    tag = "opendata",
    operation_id = "get_datapackage",
    params(("id" = Uuid, Path, description = "The release")),
    responses(
        (status = 200, description = "The data package descriptor",
            body = Object, content_type = "application/json",
            headers(("ETag" = String), ("Last-Modified" = String))),
        (status = 304, description = "Not modified (If-None-Match or If-Modified-Since)",
            headers(("ETag" = String), ("Last-Modified" = String))),
        (status = 404, description = "No such release", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[route(
    "/opendata/releases/{id}/datapackage.json",
    method = "GET",
    method = "HEAD"
)]
pub async fn get_datapackage(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let (row, name) = find(&state, id.into_inner()).await?;
    let (etag, modified) = validators(&row, "datapackage.json");
    if fresh(&req, &etag, modified) {
        return Ok(not_modified(&etag, modified));
    }
    let body = serde_json::to_vec_pretty(&package::datapackage(&row, &name))
        .map_err(|e| ApiError::Internal(e.into()))?;
    Ok(frozen(&etag, modified)
        .content_type("application/json")
        .body(body))
}

/// A resource of the release as CSV (RFC 4180, UTF-8, with its header
/// row), streamed page by page with the same bytes on every download.
/// Public; `HEAD` gives the headers.
#[utoipa::path(
    get,
    tag = "opendata",
    operation_id = "get_release_csv",
    params(
        ("id" = Uuid, Path, description = "The release"),
        ("resource" = ReleaseResource, Path, description = "The resource", example = "transactions"),
    ),
    responses(
        (status = 200, description = "The resource as CSV", content_type = "text/csv", body = String,
            headers(("ETag" = String), ("Last-Modified" = String)),
            example = "month,sector_category,buyer_territory,supplier_kind,origin_class,family,label_group,unit_kind,value_band\n2026-01,education,200057859,farm,epci,FRUITS_ET_LEGUMES,bio,kg,50-100\n"),
        (status = 304, description = "Not modified (If-None-Match or If-Modified-Since)",
            headers(("ETag" = String), ("Last-Modified" = String))),
        (status = 404, description = "No such release or resource", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable (`service-unavailable`), or every download slot is taken (`at-capacity`)", body = Problem, content_type = PROBLEM),
    ),
)]
#[route(
    "/opendata/releases/{id}/{resource}.csv",
    method = "GET",
    method = "HEAD"
)]
pub async fn get_release_csv(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, String)>,
) -> ApiResult<HttpResponse> {
    let (id, resource) = path.into_inner();
    release_file(req, state, id, &resource, Format::Csv).await
}

/// A resource of the release as JSON (an array of row objects, with the
/// fields of its Table Schema), streamed page by page with the same bytes
/// on every download. Public; `HEAD` gives the headers.
#[utoipa::path(
    get,
    tag = "opendata",
    operation_id = "get_release_json",
    params(
        ("id" = Uuid, Path, description = "The release"),
        ("resource" = ReleaseResource, Path, description = "The resource", example = "transactions"),
    ),
    responses(
        (status = 200, description = "The resource's rows", body = Vec<Object>,
            headers(("ETag" = String), ("Last-Modified" = String)),
            example = json!([{"month": "2026-01", "sector_category": "education", "buyer_territory": "200057859", "supplier_kind": "farm", "origin_class": "epci", "family": "FRUITS_ET_LEGUMES", "label_group": "bio", "unit_kind": "kg", "value_band": "50-100"}])),
        (status = 304, description = "Not modified (If-None-Match or If-Modified-Since)",
            headers(("ETag" = String), ("Last-Modified" = String))),
        (status = 404, description = "No such release or resource", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable (`service-unavailable`), or every download slot is taken (`at-capacity`)", body = Problem, content_type = PROBLEM),
    ),
)]
#[route(
    "/opendata/releases/{id}/{resource}.json",
    method = "GET",
    method = "HEAD"
)]
pub async fn get_release_json(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, String)>,
) -> ApiResult<HttpResponse> {
    let (id, resource) = path.into_inner();
    release_file(req, state, id, &resource, Format::Json).await
}

/// Streams `resource` of release `id` in `format`.
async fn release_file(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: Uuid,
    resource: &str,
    format: Format,
) -> ApiResult<HttpResponse> {
    let resource = resource.parse::<ReleaseResource>().map_err(|_| {
        ApiError::not_found(format!(
            "no such resource; a release has {}",
            ReleaseResource::CODES.join(", ")
        ))
    })?;
    let file = File { resource, format };
    let (row, _) = find(&state, id).await?;
    let (etag, modified) = validators(&row, file.name());
    if fresh(&req, &etag, modified) {
        return Ok(not_modified(&etag, modified));
    }
    let mut response = frozen(&etag, modified);
    response.content_type(file.content_type()).insert_header((
        header::CONTENT_DISPOSITION,
        format!("attachment; filename=\"{}\"", file.name()),
    ));
    // HEAD: the headers a download would have, without reading a row.
    if req.method() == actix_web::http::Method::HEAD {
        return Ok(response.finish());
    }
    // The slot is held by the body until the last byte is sent.
    let slot = state.exports.clone().try_acquire_owned().map_err(|_| {
        ApiError::AtCapacity(
            "every open data download slot is taken (SESAME_MAX_EXPORTS); retry in a few seconds"
                .into(),
        )
    })?;
    let pool = state.pool.clone();
    enum Step {
        Head,
        Rows { after: i64, first: bool },
        Done,
    }
    let body = futures_util::stream::unfold(Step::Head, move |step| {
        let pool = pool.clone();
        async move {
            match step {
                Step::Head => Some((Ok(Bytes::from(file.head())), Step::Rows { after: 0, first: true })),
                Step::Rows { after, first } => {
                    let page = async {
                        let mut conn = pool.get_for(PAGE).await?;
                        conn.transaction::<_, ApiError, _>(async |conn| {
                            conn.batch_execute("SET LOCAL statement_timeout = '30s'").await?;
                            Ok(file.page(conn, id, after, first).await?)
                        })
                        .await
                    };
                    match page.await {
                        Ok(Some((bytes, last))) => {
                            Some((Ok(Bytes::from(bytes)), Step::Rows { after: last, first: false }))
                        }
                        Ok(None) => Some((Ok(Bytes::from_static(file.tail())), Step::Done)),
                        Err(error) => {
                            tracing::error!(%error, release = %id, file = file.name(), "download interrupted");
                            Some((Err(error), Step::Done))
                        }
                    }
                }
                Step::Done => None,
            }
        }
    })
    .map(move |chunk| {
        let _held = &slot;
        chunk
    });
    Ok(response.streaming(body))
}
