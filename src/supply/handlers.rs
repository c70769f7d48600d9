//! HTTP handlers of supply relationships: thin, over `relationships`.

use actix_web::http::header;
use actix_web::{HttpResponse, get, post, web};
use uuid::Uuid;

use super::dto::*;
use super::lifecycle::Action;
use super::queries::{self, RelationshipRow};
use super::relationships;
use crate::AppState;
use crate::accounts::access;
use crate::auth::extract::AuthUser;
use crate::auth::policy::{self, OrgAction};
use crate::codes::from_db;
use crate::error::{ApiResult, Problem};
use crate::http::extract::{Json, Query};
use crate::orders::dto::OrganisationRef;

const PROBLEM: &str = "application/problem+json";

fn view(row: RelationshipRow) -> ApiResult<Relationship> {
    Ok(Relationship {
        id: row.id,
        distributor: OrganisationRef {
            id: row.distributor_id,
            name: row.distributor_name,
        },
        farm: OrganisationRef {
            id: row.farm_id,
            name: row.farm_name,
        },
        status: from_db(&row.status)?,
        note: row.note,
        requested_at: row.requested_at,
        decided_at: row.decided_at,
        ended_at: row.ended_at,
        reason: row.reason,
    })
}

/// Ask a verified farm for consent to carry it (members of a verified
/// distributor). Until the farm accepts, no offer of the distributor may name
/// it as producer.
#[utoipa::path(
    tag = "supply",
    operation_id = "request_supply_relationship",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The distributor")),
    request_body = SupplyRequest,
    responses(
        (status = 201, description = "Requested; the farm's feed has `supply.requested`", body = Relationship,
            headers(("Location" = String, description = "The relationship"))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 403, description = "Not a verified distributor", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such organisation visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 409, description = "A request is pending or the farm already accepted", body = Problem, content_type = PROBLEM),
        (status = 422, description = "Not a verified farm, or a note too long", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[post("/organisations/{id}/supply-relationships")]
pub async fn request_supply_relationship(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    Json(body): Json<SupplyRequest>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let row =
        relationships::request(&mut conn, &user, id.into_inner(), body.farm_id, &body.note).await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/supply-relationships/{}", row.id),
        ))
        .json(view(row)?))
}

/// The supply relationships an organisation is a party to, newest first
/// (its members).
#[utoipa::path(
    tag = "supply",
    operation_id = "list_supply_relationships",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "A farm or a distributor"), RelationshipQuery),
    responses(
        (status = 200, description = "Its relationships", body = RelationshipList),
        (status = 400, description = "Invalid parameter", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such organisation visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[get("/organisations/{id}/supply-relationships")]
pub async fn list_supply_relationships(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    Query(query): Query<RelationshipQuery>,
) -> ApiResult<web::Json<RelationshipList>> {
    let id = id.into_inner();
    let mut conn = state.pool.get().await?;
    let org = access(&mut conn, id, Some(&user)).await?;
    policy::authorize(&user, &org, OrgAction::ReadPrivate)?;
    let items = queries::list_for(&mut conn, id, query.status)
        .await?
        .into_iter()
        .map(view)
        .collect::<ApiResult<_>>()?;
    Ok(web::Json(RelationshipList { items }))
}

async fn act(
    state: &AppState,
    user: &AuthUser,
    id: Uuid,
    action: Action,
    body: Option<SupplyDecision>,
) -> ApiResult<web::Json<Relationship>> {
    let mut conn = state.pool.get().await?;
    let reason = body.and_then(|b| b.reason);
    let row = relationships::act(&mut conn, user, id, action, reason).await?;
    Ok(web::Json(view(row)?))
}

macro_rules! transition {
    ($name:ident, $action:expr, $path:literal, $summary:literal, $done:literal) => {
        #[doc = $summary]
        #[utoipa::path(
            tag = "supply",
            operation_id = stringify!($name),
            security(("bearer" = [])),
            params(("id" = Uuid, Path, description = "The relationship")),
            request_body(content = Option<SupplyDecision>, description = "Optional reason"),
            responses(
                (status = 200, description = $done, body = Relationship),
                (status = 400, description = "Malformed JSON", body = Problem, content_type = PROBLEM),
                (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
                (status = 403, description = "The caller's side may not do this", body = Problem, content_type = PROBLEM),
                (status = 404, description = "No such relationship visible to the caller", body = Problem, content_type = PROBLEM),
                (status = 409, description = "Not allowed from the current status; the detail says what is", body = Problem, content_type = PROBLEM),
                (status = 422, description = "Reason too long", body = Problem, content_type = PROBLEM),
                (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
            ),
        )]
        #[post($path)]
        pub async fn $name(
            state: web::Data<AppState>,
            user: AuthUser,
            id: web::Path<Uuid>,
            body: Option<Json<SupplyDecision>>,
        ) -> ApiResult<web::Json<Relationship>> {
            act(&state, &user, id.into_inner(), $action, body.map(|Json(b)| b)).await
        }
    };
}

transition!(
    accept_supply_relationship,
    Action::Accept,
    "/supply-relationships/{id}/accept",
    "The farm consents: the distributor may name it as producer in its offers.",
    "Accepted"
);
transition!(
    refuse_supply_relationship,
    Action::Refuse,
    "/supply-relationships/{id}/refuse",
    "The farm refuses a request.",
    "Refused"
);
transition!(
    end_supply_relationship,
    Action::End,
    "/supply-relationships/{id}/end",
    "Either side ends the relationship (or the distributor withdraws its request): the distributor's active offers naming the farm are paused at once.",
    "Ended; `offers_paused` in the feed event says how many offers were paused"
);
