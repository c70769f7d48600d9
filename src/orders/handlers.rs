//! HTTP handlers of orders: checkout, reading, transitions, picking lists
//! and the integration feed.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use uuid::Uuid;

use super::checkout::{self, Outcome};
use super::dto::*;
use super::lifecycle::Action;
use super::transitions::{self, Input};
use super::{feed, picking, queries, view};
use crate::AppState;
use crate::accounts::access;
use crate::auth::extract::AuthUser;
use crate::auth::policy::{self, OrgAction};
use crate::db::{DbConn, Work};
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::extract::{Json, Query};
use crate::http::negotiate::csv_response;

const PROBLEM: &str = "application/problem+json";
const MAX_KEY_LEN: usize = 255;
const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 100;

/// The Idempotency-Key header: 1 to 255 visible ASCII characters.
fn idempotency_key(req: &HttpRequest) -> ApiResult<String> {
    let key = req
        .headers()
        .get("Idempotency-Key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .ok_or_else(|| {
            ApiError::invalid_parameter(
                "Idempotency-Key",
                "is required: a unique value per basket (a UUID), sent again on retries",
            )
        })?;
    if key.is_empty() || key.len() > MAX_KEY_LEN || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::invalid_parameter(
            "Idempotency-Key",
            format!("must be 1 to {MAX_KEY_LEN} visible ASCII characters"),
        ));
    }
    Ok(key.to_owned())
}

/// 201 with a `Link` to each order, and `Location` when there is only one.
fn created(body: serde_json::Value, replayed: bool) -> HttpResponse {
    let hrefs: Vec<String> = body["orders"]
        .as_array()
        .map(|orders| {
            orders
                .iter()
                .filter_map(|o| o["href"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let mut response = HttpResponse::Created();
    if let [only] = hrefs.as_slice() {
        response.insert_header((header::LOCATION, only.as_str()));
    }
    let links: Vec<String> = hrefs
        .iter()
        .map(|h| format!("<{h}>; rel=\"item\""))
        .collect();
    if let Ok(value) = HeaderValue::from_str(&links.join(", ")) {
        response.insert_header((header::LINK, value));
    }
    if replayed {
        response.insert_header(("Idempotent-Replayed", "true"));
    }
    response.json(body)
}

/// Place a canteen's basket: one order per supplier, all or none.
///
/// Send an `Idempotency-Key` (a UUID per basket) and send it again when
/// retrying: the same key and body return the first response (with
/// `Idempotent-Replayed: true`), the same key with another body is 422, and
/// the same request still running is 409. Only successful checkouts are
/// remembered (7 days): a refused basket may be retried with its key.
/// Each line is checked (offer active, minimum and step, availability
/// window, lead time, delivery weekday, delivery area) and every failure
/// is reported at once as `lines[i]…`. Stock is reserved atomically; short
/// lines are listed in `available` of a 409 `out-of-stock` problem.
#[utoipa::path(
    tag = "orders",
    operation_id = "checkout",
    security(("bearer" = [])),
    params(("Idempotency-Key" = String, Header, description = "Unique per basket; the same on retries (1 to 255 visible ASCII characters)",
        min_length = 1, max_length = 255, pattern = r"^[\x21-\x7E]+$", example = "0193a6f2-9d01-7e55-b0c1-1a2b3c4d5e6f")),
    request_body = CheckoutRequest,
    responses(
        (status = 201, description = "The orders, one per supplier", body = Checkout,
            headers(("Link" = String, description = "Each order's URL, rel=\"item\""),
                    ("Location" = String, description = "The order's URL, when there is one order"),
                    ("Idempotent-Replayed" = String, description = "`true` when this is the stored answer to an earlier request with the same key and body"))),
        (status = 400, description = "Malformed JSON, or Idempotency-Key missing or invalid", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 403, description = "Not a verified canteen", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such organisation visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 409, description = "`out-of-stock` (with `available` per short line); `idempotency-in-progress`; or `busy`: an offer of the basket is held by another transaction for longer than a second, nothing was reserved, retry after `Retry-After`", body = Problem, content_type = PROBLEM,
            headers(("Retry-After" = u32, description = "With `idempotency-in-progress` (1) and `busy` (2): seconds to wait before retrying with the same key")),
            example = json!({"type": "https://sesame.example/problems/out-of-stock", "title": "Not enough stock", "status": 409,
                "detail": "not enough stock for 1 line(s) of the basket",
                "available": [{"line": 1, "offer_id": "0193a6f2-8b44-7c01-a2d4-6e7f8a9b0c12", "requested": "30", "available": "12.5"}]})),
        (status = 422, description = "Invalid lines, each named `lines[i]…`, or `idempotency-key-reused`", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[post("/orders")]
pub async fn place_order(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: AuthUser,
    Json(body): Json<CheckoutRequest>,
) -> ApiResult<HttpResponse> {
    let key = idempotency_key(&req)?;
    let mut conn = state.pool.get_for(Work::Checkout).await?;
    Ok(match checkout::place(&mut conn, &user, &key, body).await? {
        Outcome::Created(checkout) => created(checkout, false),
        Outcome::Replayed(stored) => created(stored, true),
    })
}

/// The organisation `user` reads orders for: the one named, or their only one.
async fn reader_organisation(
    conn: &mut DbConn,
    user: &AuthUser,
    named: Option<Uuid>,
) -> ApiResult<Uuid> {
    let id = match named {
        Some(id) => id,
        None => {
            let mine = crate::auth::queries::memberships_of(conn, user.id).await?;
            match mine.as_slice() {
                [only] => only.0,
                _ => {
                    return Err(ApiError::invalid_parameter(
                        "organisation_id",
                        "is required for someone who belongs to several organisations (or none)",
                    ));
                }
            }
        }
    };
    let org = access(conn, id, Some(user)).await?;
    policy::authorize(user, &org, OrgAction::ReadPrivate)?;
    Ok(id)
}

/// List an organisation's orders, as buyer or supplier, newest first.
#[utoipa::path(
    tag = "orders",
    operation_id = "list_orders",
    security(("bearer" = [])),
    params(OrderQuery),
    responses(
        (status = 200, description = "One page of orders (without their events)", body = OrderPage),
        (status = 400, description = "A parameter is invalid", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such organisation visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[get("/orders")]
pub async fn list_orders(
    state: web::Data<AppState>,
    user: AuthUser,
    Query(query): Query<OrderQuery>,
) -> ApiResult<web::Json<OrderPage>> {
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::invalid_parameter(
            "limit",
            format!("must be between 1 and {MAX_LIMIT}"),
        ));
    }
    let mut conn = state.pool.get().await?;
    let organisation = reader_organisation(&mut conn, &user, query.organisation_id).await?;
    let filter = queries::Filter {
        organisation,
        as_buyer: query.role != Some(OrderRole::Supplier),
        as_supplier: query.role != Some(OrderRole::Buyer),
        status: query.status.map(|s| s.as_str().to_owned()),
        delivery_from: query.delivery_from,
        delivery_to: query.delivery_to,
        counterpart: query.counterpart,
        before: query.cursor,
        limit: i64::from(limit) + 1,
    };
    let mut rows = queries::list(&mut conn, &filter).await?;
    let next_cursor = if rows.len() > limit as usize {
        rows.truncate(limit as usize);
        rows.last().map(|o| o.id)
    } else {
        None
    };
    let items = view::load(&mut conn, rows, false).await?;
    Ok(web::Json(OrderPage { items, next_cursor }))
}

/// An order visible to `user` (its buyer's or supplier's members, admins).
async fn readable(conn: &mut DbConn, user: &AuthUser, id: Uuid) -> ApiResult<Order> {
    let order = queries::find_order(conn, id)
        .await?
        .ok_or_else(|| ApiError::not_found("no order with this id"))?;
    if !user.is_admin {
        let buyer = access(conn, order.buyer_id, Some(user)).await?;
        let supplier = access(conn, order.supplier_id, Some(user)).await?;
        if buyer.role.is_none() && supplier.role.is_none() {
            return Err(ApiError::not_found("no order with this id"));
        }
    }
    let mut views = view::load(conn, vec![order], true).await?;
    views
        .pop()
        .ok_or_else(|| ApiError::not_found("no order with this id"))
}

/// Read an order, with its lines and every change of status.
#[utoipa::path(
    tag = "orders",
    operation_id = "get_order",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Order id")),
    responses(
        (status = 200, description = "The order and its events", body = Order),
        (status = 400, description = "The id is not a UUID", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such order visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[get("/orders/{id}")]
pub async fn get_order(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<Order>> {
    let mut conn = state.pool.get().await?;
    Ok(web::Json(
        readable(&mut conn, &user, id.into_inner()).await?,
    ))
}

/// Runs a transition and answers with the order as it is now.
async fn transition(
    state: &AppState,
    user: &AuthUser,
    id: Uuid,
    action: Action,
    input: Input,
) -> ApiResult<web::Json<Order>> {
    let mut conn = state.pool.get().await?;
    transitions::apply(&mut conn, user, id, action, input).await?;
    Ok(web::Json(readable(&mut conn, user, id).await?))
}

/// A transition's handler, documented with the responses all transitions
/// share.
macro_rules! transition_handler {
    ($op:literal, $what:literal, [$($body:tt)*], $handler:item) => {
        #[utoipa::path(
            tag = "orders",
            operation_id = $op,
            summary = $what,
            security(("bearer" = [])),
            params(("id" = Uuid, Path, description = "Order id")),
            $($body)*
            responses(
                (status = 200, description = "The order as it is now, with its events", body = Order),
                (status = 400, description = "Malformed JSON or id", body = Problem, content_type = PROBLEM),
                (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
                (status = 403, description = "The other party's transition, or a suspended organisation", body = Problem, content_type = PROBLEM),
                (status = 404, description = "No such order visible to the caller", body = Problem, content_type = PROBLEM),
                (status = 409, description = "`invalid-transition`: not from the order's status; `allowed` lists what the caller may do. Or `busy`: the order or its offers are held by another transaction; retry after `Retry-After`", body = Problem, content_type = PROBLEM,
                    example = json!({"type": "https://sesame.example/problems/invalid-transition", "title": "Transition not allowed from this status",
                        "status": 409, "detail": "cannot accept an order that is cancelled", "allowed": []})),
                (status = 422, description = "Invalid fields, each named", body = Problem, content_type = PROBLEM),
                (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
            ),
        )]
        $handler
    };
}

transition_handler!(
    "accept_order",
    "Accept a submitted order (supplier)",
    [],
    #[post("/orders/{id}/accept")]
    pub async fn accept_order(
        state: web::Data<AppState>,
        user: AuthUser,
        id: web::Path<Uuid>,
    ) -> ApiResult<web::Json<Order>> {
        transition(
            &state,
            &user,
            id.into_inner(),
            Action::Accept,
            Input::Nothing,
        )
        .await
    }
);

transition_handler!(
    "reject_order",
    "Reject a submitted order with a reason (supplier); its stock is released",
    [request_body = Reason,],
    #[post("/orders/{id}/reject")]
    pub async fn reject_order(
        state: web::Data<AppState>,
        user: AuthUser,
        id: web::Path<Uuid>,
        Json(body): Json<Reason>,
    ) -> ApiResult<web::Json<Order>> {
        let input = Input::Reason(Some(body.reason));
        transition(&state, &user, id.into_inner(), Action::Reject, input).await
    }
);

transition_handler!(
    "cancel_order",
    "Cancel a submitted or accepted order (the buyer until `buyer_cancel_until`, the supplier with a reason); its stock is released",
    [request_body = Cancellation,],
    #[post("/orders/{id}/cancel")]
    pub async fn cancel_order(
        state: web::Data<AppState>,
        user: AuthUser,
        id: web::Path<Uuid>,
        Json(body): Json<Cancellation>,
    ) -> ApiResult<web::Json<Order>> {
        let input = Input::Reason(body.reason);
        transition(&state, &user, id.into_inner(), Action::Cancel, input).await
    }
);

transition_handler!(
    "deliver_order",
    "Record the delivery of an accepted order (supplier): totals are recomputed on the delivered quantities; what was not delivered returns to stock, extra weight leaves it",
    [request_body = Delivery,],
    #[post("/orders/{id}/deliver")]
    pub async fn deliver_order(
        state: web::Data<AppState>,
        user: AuthUser,
        id: web::Path<Uuid>,
        Json(body): Json<Delivery>,
    ) -> ApiResult<web::Json<Order>> {
        let input = Input::Delivery(body.lines);
        transition(&state, &user, id.into_inner(), Action::Deliver, input).await
    }
);

transition_handler!(
    "receive_order",
    "Confirm receipt of a delivered order (buyer)",
    [],
    #[post("/orders/{id}/receive")]
    pub async fn receive_order(
        state: web::Data<AppState>,
        user: AuthUser,
        id: web::Path<Uuid>,
    ) -> ApiResult<web::Json<Order>> {
        transition(
            &state,
            &user,
            id.into_inner(),
            Action::Receive,
            Input::Nothing,
        )
        .await
    }
);

transition_handler!(
    "dispute_order",
    "Dispute lines of a delivered order, each with a reason (buyer)",
    [request_body = Dispute,],
    #[post("/orders/{id}/dispute")]
    pub async fn dispute_order(
        state: web::Data<AppState>,
        user: AuthUser,
        id: web::Path<Uuid>,
        Json(body): Json<Dispute>,
    ) -> ApiResult<web::Json<Order>> {
        let input = Input::Dispute(body.lines);
        transition(&state, &user, id.into_inner(), Action::Dispute, input).await
    }
);

/// A supplier's picking list for a delivery date, from its accepted orders:
/// per offer, the quantity for each delivery site.
#[utoipa::path(
    tag = "orders",
    operation_id = "picking_list",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The supplier"), PickingQuery),
    responses(
        (status = 200, description = "What to prepare", body = PickingList),
        (status = 400, description = "A parameter is invalid", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 403, description = "Not a farm or distributor", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such organisation visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[get("/organisations/{id}/picking-list")]
pub async fn picking_list(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    Query(query): Query<PickingQuery>,
) -> ApiResult<HttpResponse> {
    picking_list_as(state, user, id.into_inner(), query, false).await
}

/// The same picking list as a spreadsheet: one row per offer and delivery site.
#[utoipa::path(
    tag = "orders",
    operation_id = "picking_list_csv",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The supplier"), PickingQuery),
    responses(
        (status = 200, description = "What to prepare, as CSV: one row per offer and delivery site", content_type = "text/csv", body = String,
            headers(("Content-Disposition" = String, description = "`attachment; filename=\"…\"`")),
            example = "delivery_date,offer_id,product_name,unit,quantity,site_id,site_name,site_address,site_commune_insee,order_ids\n"),
        (status = 400, description = "A parameter is invalid", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 403, description = "Not a farm or distributor", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such organisation visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[get("/organisations/{id}/picking-list.csv")]
pub async fn picking_list_csv(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    Query(query): Query<PickingQuery>,
) -> ApiResult<HttpResponse> {
    picking_list_as(state, user, id.into_inner(), query, true).await
}

/// `picking_list` and `picking_list_csv`: the same figures, as JSON or as CSV.
async fn picking_list_as(
    state: web::Data<AppState>,
    user: AuthUser,
    id: Uuid,
    query: PickingQuery,
    csv: bool,
) -> ApiResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let org = access(&mut conn, id, Some(&user)).await?;
    policy::authorize(&user, &org, OrgAction::ReadPrivate)?;
    if !matches!(
        org.kind,
        crate::codes::OrganisationKind::Farm | crate::codes::OrganisationKind::Distributor
    ) {
        return Err(ApiError::Forbidden(
            "only farms and distributors have picking lists".into(),
        ));
    }
    let rows = queries::picking(&mut conn, id, query.date).await?;
    if csv {
        let body = picking::csv(query.date, &rows)?;
        return Ok(csv_response(&format!("picking-{}.csv", query.date), body));
    }
    Ok(HttpResponse::Ok().json(picking::list(id, query.date, rows)?))
}

/// The organisation's integration feed: `order.submitted`, `order.accepted`,
/// `order.rejected`, `order.cancelled`, `order.delivered`, `order.received`,
/// `order.disputed`, oldest first. Pass each page's `next_cursor` as
/// `cursor`: every event is delivered once, in order, none skipped.
#[utoipa::path(
    tag = "orders",
    operation_id = "read_feed",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The organisation"), FeedQuery),
    responses(
        (status = 200, description = "The events after the cursor", body = FeedPage),
        (status = 400, description = "A parameter is invalid", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such organisation visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[get("/organisations/{id}/events")]
pub async fn read_feed(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    Query(query): Query<FeedQuery>,
) -> ApiResult<web::Json<FeedPage>> {
    let organisation = id.into_inner();
    let limit = query.limit.unwrap_or(feed::DEFAULT_LIMIT);
    if !(1..=feed::MAX_LIMIT).contains(&limit) {
        return Err(ApiError::invalid_parameter(
            "limit",
            format!("must be between 1 and {}", feed::MAX_LIMIT),
        ));
    }
    let after = query
        .cursor
        .as_deref()
        .map(feed::parse_cursor)
        .transpose()?;
    let mut conn = state.pool.get().await?;
    let org = access(&mut conn, organisation, Some(&user)).await?;
    policy::authorize(&user, &org, OrgAction::ReadPrivate)?;
    let items = feed::read(&mut conn, organisation, after, limit).await?;
    let next_cursor = items.last().map(|e| e.cursor.clone()).or(query.cursor);
    Ok(web::Json(FeedPage { items, next_cursor }))
}
