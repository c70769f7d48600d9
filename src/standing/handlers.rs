//! HTTP handlers of standing orders and closures: thin, over `service`.

use actix_web::{HttpResponse, delete, get, post, put, web};
use chrono::NaiveDate;
use uuid::Uuid;

use super::dto::*;
use super::service;
use crate::AppState;
use crate::auth::extract::AuthUser;
use crate::error::{ApiResult, Problem};
use crate::http::extract::{Json, Query};
use crate::http::pagination::KeysetQuery;

const PROBLEM: &str = "application/problem+json";

/// Set up a standing order (the canteen's members): lines per delivery
/// weekday, each placed as an ordinary order `days_ahead` days before,
/// skipping closures and public holidays.
#[utoipa::path(
    tag = "standing orders",
    operation_id = "create_standing_order",
    security(("bearer" = [])),
    request_body = StandingOrderRequest,
    responses(
        (status = 201, description = "The standing order, with its coming days", body = StandingOrder,
            headers(("Location" = String, description = "The standing order"))),
        (status = 400, description = "Malformed body", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 403, description = "Not a verified canteen", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such canteen visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 415, description = "Not JSON", body = Problem, content_type = PROBLEM),
        (status = 422, description = "Invalid; every field at once", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[post("/standing-orders")]
pub async fn create_standing_order(
    state: web::Data<AppState>,
    user: AuthUser,
    Json(body): Json<StandingOrderRequest>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let created = service::create(&mut conn, &user, body).await?;
    Ok(HttpResponse::Created()
        .insert_header((
            actix_web::http::header::LOCATION,
            format!("/api/v1/standing-orders/{}", created.id),
        ))
        .json(created))
}

/// A standing order and what became, or will become, of its days (the
/// canteen's members).
#[utoipa::path(
    tag = "standing orders",
    operation_id = "get_standing_order",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The standing order")),
    responses(
        (status = 200, description = "The standing order", body = StandingOrder),
        (status = 400, description = "Malformed id", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such standing order visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[get("/standing-orders/{id}")]
pub async fn get_standing_order(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<StandingOrder>> {
    let mut conn = state.pool.get().await?;
    Ok(web::Json(
        service::read(&mut conn, &user, id.into_inner()).await?,
    ))
}

/// A canteen's standing orders, newest first (its members).
#[utoipa::path(
    tag = "standing orders",
    operation_id = "list_standing_orders",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The canteen"), KeysetQuery),
    responses(
        (status = 200, description = "Its standing orders, newest first", body = StandingOrderList),
        (status = 400, description = "Malformed id or invalid parameter", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such organisation visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[get("/organisations/{id}/standing-orders")]
pub async fn list_standing_orders(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    Query(query): Query<KeysetQuery>,
) -> ApiResult<web::Json<StandingOrderList>> {
    let page = query.keyset()?;
    let mut conn = state.pool.get().await?;
    Ok(web::Json(
        service::list(&mut conn, &user, id.into_inner(), page).await?,
    ))
}

/// Pause, resume or end a standing order (the canteen's members). Days
/// already placed stay ordinary orders.
#[utoipa::path(
    tag = "standing orders",
    operation_id = "set_standing_order_status",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The standing order")),
    request_body = StatusRequest,
    responses(
        (status = 200, description = "The standing order", body = StandingOrder),
        (status = 400, description = "Malformed id or body", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such standing order visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 409, description = "Ended: it stays ended", body = Problem, content_type = PROBLEM),
        (status = 422, description = "Unknown status", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[put("/standing-orders/{id}/status")]
pub async fn set_status(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    Json(body): Json<StatusRequest>,
) -> ApiResult<web::Json<StandingOrder>> {
    let mut conn = state.pool.get().await?;
    Ok(web::Json(
        service::set_status(&mut conn, &user, id.into_inner(), &body.status).await?,
    ))
}

/// Change or skip one delivery day before it is due (the canteen's
/// members). Once due, the day is an ordinary order.
#[utoipa::path(
    tag = "standing orders",
    operation_id = "change_standing_order_day",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "The standing order"),
        ("date" = NaiveDate, Path, description = "The delivery day"),
    ),
    request_body = OccurrenceRequest,
    responses(
        (status = 200, description = "The standing order", body = StandingOrder),
        (status = 400, description = "Malformed id, date or body", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such standing order, or no delivery that day", body = Problem, content_type = PROBLEM),
        (status = 409, description = "The day is due or decided already", body = Problem, content_type = PROBLEM),
        (status = 422, description = "Invalid lines", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[put("/standing-orders/{id}/days/{date}")]
pub async fn change_occurrence(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(Uuid, NaiveDate)>,
    Json(body): Json<OccurrenceRequest>,
) -> ApiResult<web::Json<StandingOrder>> {
    let (id, date) = path.into_inner();
    let mut conn = state.pool.get().await?;
    Ok(web::Json(
        service::change_occurrence(&mut conn, &user, id, date, body).await?,
    ))
}

/// Close a canteen for deliveries over a period (its members, or the
/// verified authority of its territory): its standing orders skip it.
#[utoipa::path(
    tag = "standing orders",
    operation_id = "add_closure",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The canteen")),
    request_body = ClosureRequest,
    responses(
        (status = 201, description = "The closure", body = Closure),
        (status = 400, description = "Malformed id or body", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 403, description = "The organisation is not a canteen, or not yet verified", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such canteen visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 422, description = "Invalid closure", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[post("/organisations/{id}/closures")]
pub async fn add_closure(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    Json(body): Json<ClosureRequest>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let closure = service::add_closure(&mut conn, &user, id.into_inner(), body).await?;
    Ok(HttpResponse::Created().json(closure))
}

/// A canteen's closures of the last year and to come, and the public
/// holidays of this year and the next (its members, or the verified
/// authority of its territory): the days its standing orders skip.
#[utoipa::path(
    tag = "standing orders",
    operation_id = "list_closures",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The canteen")),
    responses(
        (status = 200, description = "Its closures", body = ClosureList),
        (status = 400, description = "Malformed id", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 403, description = "The organisation is not a canteen, or not yet verified", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such canteen visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[get("/organisations/{id}/closures")]
pub async fn list_closures(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<ClosureList>> {
    let mut conn = state.pool.get().await?;
    Ok(web::Json(
        service::list_closures(&mut conn, &user, id.into_inner()).await?,
    ))
}

/// Remove a closure (the canteen's members, or its authority).
#[utoipa::path(
    tag = "standing orders",
    operation_id = "delete_closure",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "The canteen"),
        ("closure_id" = Uuid, Path, description = "The closure"),
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 400, description = "Malformed id", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 403, description = "The organisation is not a canteen, or not yet verified", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such canteen or closure visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[delete("/organisations/{id}/closures/{closure_id}")]
pub async fn delete_closure(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (canteen, closure) = path.into_inner();
    let mut conn = state.pool.get().await?;
    service::delete_closure(&mut conn, &user, canteen, closure).await?;
    Ok(HttpResponse::NoContent().finish())
}
