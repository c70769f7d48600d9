//! HTTP handlers of delivery terms: thin, over `queries` and `rules`.

use actix_web::{get, put, web};
use chrono::Datelike;
use uuid::Uuid;

use super::dto::*;
use super::queries;
use crate::AppState;
use crate::accounts::access;
use crate::auth::extract::AuthUser;
use crate::auth::policy::{self, OrgAction};
use crate::codes::{OrganisationKind, OrganisationStatus};
use crate::error::{ApiError, ApiResult, FieldError, Problem};
use crate::http::extract::{Json, Query};

const PROBLEM: &str = "application/problem+json";

fn no_terms() -> ApiError {
    ApiError::not_found(
        "no verified farm or distributor with this id has set delivery terms \
         (without them, its offers' own days and lead times apply)",
    )
}

/// A verified supplier's terms are public, like its offers.
async fn public_supplier(conn: &mut diesel_async::AsyncPgConnection, id: Uuid) -> ApiResult<()> {
    let org = access(conn, id, None).await.map_err(|_| no_terms())?;
    let supplier = matches!(
        org.kind,
        OrganisationKind::Farm | OrganisationKind::Distributor
    );
    if supplier && org.status == OrganisationStatus::Verified {
        Ok(())
    } else {
        Err(no_terms())
    }
}

/// A supplier's delivery terms (public): delivery days, order cut-off, zone
/// and minimum order.
#[utoipa::path(
    tag = "delivery",
    operation_id = "get_delivery_terms",
    params(("id" = Uuid, Path, description = "A verified farm or distributor")),
    responses(
        (status = 200, description = "Its terms", body = DeliveryTerms),
        (status = 400, description = "Malformed id", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such supplier, or no terms set", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[get("/organisations/{id}/delivery-terms")]
pub async fn get_terms(
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<DeliveryTerms>> {
    let id = id.into_inner();
    let mut conn = state.pool.get().await?;
    public_supplier(&mut conn, id).await?;
    let (terms, updated_at) = queries::find(&mut conn, id).await?.ok_or_else(no_terms)?;
    Ok(web::Json(DeliveryTerms::new(id, terms, updated_at)))
}

/// Set the supplier's delivery terms (its members; verified farms and
/// distributors). The checkout enforces them on every basket from then on.
#[utoipa::path(
    tag = "delivery",
    operation_id = "put_delivery_terms",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The farm or distributor")),
    request_body = TermsRequest,
    responses(
        (status = 200, description = "The terms as stored", body = DeliveryTerms),
        (status = 400, description = "Malformed body", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 403, description = "Not a verified supplier", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such organisation visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 415, description = "Not JSON", body = Problem, content_type = PROBLEM),
        (status = 422, description = "Invalid terms; every field at once", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[put("/organisations/{id}/delivery-terms")]
pub async fn put_terms(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    Json(body): Json<TermsRequest>,
) -> ApiResult<web::Json<DeliveryTerms>> {
    let id = id.into_inner();
    let mut conn = state.pool.get().await?;
    let org = access(&mut conn, id, Some(&user)).await?;
    policy::authorize(&user, &org, OrgAction::ManageOffers)?;
    let terms = body.validate().map_err(ApiError::Validation)?;
    let (communes, epcis, departements) = crate::geo::queries::unknown_codes(
        &mut conn,
        &terms.zone_communes,
        &terms.zone_epcis,
        &terms.zone_departements,
    )
    .await?;
    let unknown: Vec<FieldError> = [
        ("zone.communes", communes, "no commune has this INSEE code"),
        ("zone.epcis", epcis, "no EPCI has this SIREN"),
        (
            "zone.departements",
            departements,
            "no département has this code",
        ),
    ]
    .into_iter()
    .flat_map(|(field, codes, why)| {
        codes
            .into_iter()
            .map(move |code| FieldError::new(field, format!("{code}: {why}")))
    })
    .collect();
    if !unknown.is_empty() {
        return Err(ApiError::Validation(unknown));
    }
    queries::upsert(&mut conn, id, &terms).await?;
    let (terms, updated_at) = queries::find(&mut conn, id).await?.ok_or_else(no_terms)?;
    Ok(web::Json(DeliveryTerms::new(id, terms, updated_at)))
}

/// The next days a supplier delivers on, each with the cut-off of its
/// orders (public): Paris local time and the same instant in UTC, right
/// across the changes between summer and winter time.
#[utoipa::path(
    tag = "delivery",
    operation_id = "list_delivery_days",
    params(("id" = Uuid, Path, description = "A verified farm or distributor"), DatesQuery),
    responses(
        (status = 200, description = "Its next delivery days", body = DeliveryDays),
        (status = 400, description = "Invalid parameter", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such supplier, or no terms set", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[get("/organisations/{id}/delivery-days")]
pub async fn delivery_dates(
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    Query(query): Query<DatesQuery>,
) -> ApiResult<web::Json<DeliveryDays>> {
    let id = id.into_inner();
    let count = query.count.unwrap_or(10);
    if !(1..=60).contains(&count) {
        return Err(ApiError::invalid_parameter("count", "must be 1 to 60"));
    }
    if query
        .from
        .is_some_and(|d| !(2000..=2100).contains(&d.year()))
    {
        return Err(ApiError::invalid_parameter(
            "from",
            "must be in the years 2000 to 2100",
        ));
    }
    let mut conn = state.pool.get().await?;
    public_supplier(&mut conn, id).await?;
    queries::find(&mut conn, id).await?.ok_or_else(no_terms)?;
    let from = match query.from {
        Some(from) => from,
        None => crate::clock::today_in_paris(&mut conn).await?,
    };
    let items = queries::delivery_days(&mut conn, id, from, count)
        .await?
        .into_iter()
        .map(|(date, cutoff_local, cutoff_at)| DeliveryDay {
            date,
            cutoff_local,
            cutoff_at,
        })
        .collect();
    Ok(web::Json(DeliveryDays {
        supplier_id: id,
        items,
    }))
}
