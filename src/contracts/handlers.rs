//! HTTP handlers of contracts: thin, over `queries` and `decp`.

use actix_web::{HttpResponse, get, post, web};
use uuid::Uuid;

use super::decp;
use super::dto::*;
use super::lifecycle::Action;
use super::{queries, service};
use crate::AppState;
use crate::accounts::access;
use crate::auth::extract::AuthUser;
use crate::auth::policy::{self, OrgAction};
use crate::codes::{OrganisationKind, OrganisationStatus};
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::extract::{Json, Query};
use crate::http::pagination::{self, KeysetQuery};

const PROBLEM: &str = "application/problem+json";

/// A contract (an awarded lot, or agreed directly): readable by its parties
/// (buyer, supplier, delivered canteens) and by the authority of their
/// territory; its prices by no one else.
#[utoipa::path(
    tag = "contracts",
    operation_id = "get_contract",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The contract")),
    responses(
        (status = 200, description = "The contract", body = Contract),
        (status = 400, description = "Malformed id", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such contract visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[get("/contracts/{id}")]
pub async fn get_contract(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<Contract>> {
    let mut conn = state.pool.get().await?;
    Ok(web::Json(
        service::read(&mut conn, &user, id.into_inner()).await?,
    ))
}

/// The contracts an organisation is a party to (buyer, supplier or
/// delivered canteen), newest first (its members).
#[utoipa::path(
    tag = "contracts",
    operation_id = "list_contracts",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "A canteen, authority, farm or distributor"), KeysetQuery),
    responses(
        (status = 200, description = "Its contracts, newest first", body = ContractList),
        (status = 400, description = "Malformed id or invalid parameter", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such organisation visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[get("/organisations/{id}/contracts")]
pub async fn list_contracts(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    Query(query): Query<KeysetQuery>,
) -> ApiResult<web::Json<ContractList>> {
    let id = id.into_inner();
    let page = query.keyset()?;
    let mut conn = state.pool.get().await?;
    let org = access(&mut conn, id, Some(&user)).await?;
    policy::authorize(&user, &org, OrgAction::ReadPrivate)?;
    let rows = queries::list_for(&mut conn, id, page)
        .await?
        .ok_or_else(pagination::unknown_cursor)?;
    let (rows, next_cursor) = page.page(rows, |row| row.id);
    let items = service::views(&mut conn, rows).await?;
    Ok(web::Json(ContractList { items, next_cursor }))
}

/// The authority's public contract data: the contracts of 40,000 € HT or
/// more (configurable) made by the authority or by the canteens of its
/// EPCI, as DECP v2.0.3 records, one per awarded lot.
#[utoipa::path(
    tag = "contracts",
    operation_id = "authority_decp",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The authority"), DecpQuery),
    responses(
        (status = 200, description = "DECP v2.0.3 (`{\"marches\": {\"marche\": [...]}}`)", body = Object,
            example = json!({"marches": {"marche": [{"id": "SES2026-000001", "acheteur": {"id": "21910000500012"}, "nature": "Marché", "objet": "Légumes de saison - lot 1 : Carottes lavées", "codeCPV": "03220000", "techniques": {"technique": ["Accord-cadre"]}, "modalitesExecution": {"modaliteExecution": ["Bons de commande"]}, "marcheInnovant": false, "ccag": "Fournitures courantes et services", "offresRecues": 3, "attributionAvance": false, "typeGroupementOperateurs": "Pas de groupement", "procedure": "Procédure adaptée", "lieuExecution": {"code": "91103", "typeCode": "Code commune"}, "dureeMois": 12, "dateNotification": "2026-12-29", "datePublicationDonnees": "2026-12-29", "montant": 48000, "typesPrix": {"typePrix": ["Définitif ferme"]}, "formePrix": "Unitaire", "origineUE": 1, "origineFrance": 1, "sousTraitanceDeclaree": false, "titulaires": [{"titulaire": {"typeIdentifiant": "SIRET", "id": "12345678200010"}}], "considerationsSociales": {"considerationSociale": ["Pas de considération sociale"]}, "considerationsEnvironnementales": {"considerationEnvironnementale": ["Critère environnemental"]}}]}})),
        (status = 400, description = "Invalid parameter", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 403, description = "The authority is not verified", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such authority visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[get("/authorities/{id}/decp.json")]
pub async fn authority_decp(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    Query(query): Query<DecpQuery>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let min = query
        .min_amount_ht_cents
        .unwrap_or(decp::DEFAULT_MIN_AMOUNT_HT_CENTS);
    if min < 0 {
        return Err(ApiError::invalid_parameter(
            "min_amount_ht_cents",
            "must be zero or more",
        ));
    }
    let mut conn = state.pool.get().await?;
    let org = access(&mut conn, id, Some(&user)).await?;
    policy::authorize(&user, &org, OrgAction::ReadPrivate)?;
    if org.kind != OrganisationKind::Authority {
        return Err(ApiError::not_found("no authority with this id"));
    }
    if org.status != OrganisationStatus::Verified {
        return Err(ApiError::Forbidden(
            "only verified authorities publish contract data; ask the platform administrators"
                .into(),
        ));
    }
    let epci = crate::egalim::queries::authority_epci(&mut conn, id)
        .await?
        .ok_or_else(|| ApiError::not_found("no authority with this id"))?;
    let rows = queries::decp_rows(&mut conn, id, &epci, min).await?;
    Ok(HttpResponse::Ok().json(decp::document(&rows)))
}

/// Propose a contract agreed directly (a member of the buyer or of the
/// supplier): its lines price the supplier's offers or described products,
/// optionally with volume tiers and a maximum amount. It is `proposed`
/// until the other party accepts it.
#[utoipa::path(
    tag = "contracts",
    operation_id = "propose_contract",
    security(("bearer" = [])),
    request_body = ContractRequest,
    responses(
        (status = 201, description = "The proposed contract", body = Contract,
            headers(("Location" = String, description = "The contract"))),
        (status = 400, description = "Malformed body", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 403, description = "Not a member of either party, or a party that may not contract", body = Problem, content_type = PROBLEM),
        (status = 415, description = "Not JSON", body = Problem, content_type = PROBLEM),
        (status = 422, description = "Invalid contract; every field at once", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[post("/contracts")]
pub async fn propose_contract(
    state: web::Data<AppState>,
    user: AuthUser,
    Json(body): Json<ContractRequest>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let contract = service::propose(&mut conn, &user, body).await?;
    Ok(HttpResponse::Created()
        .insert_header((
            actix_web::http::header::LOCATION,
            format!("/api/v1/contracts/{}", contract.id),
        ))
        .json(contract))
}

macro_rules! decision {
    ($fn:ident, $op:literal, $path:literal, $action:expr, $body:ty, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(
            tag = "contracts",
            operation_id = $op,
            security(("bearer" = [])),
            params(("id" = Uuid, Path, description = "The contract")),
            request_body = $body,
            responses(
                (status = 200, description = "The contract", body = Contract),
                (status = 400, description = "Malformed id or body", body = Problem, content_type = PROBLEM),
                (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
                (status = 403, description = "Not a party", body = Problem, content_type = PROBLEM),
                (status = 404, description = "No such contract visible to the caller", body = Problem, content_type = PROBLEM),
                (status = 409, description = "Not possible in its status, or not by this party", body = Problem, content_type = PROBLEM),
                (status = 422, description = "Invalid body", body = Problem, content_type = PROBLEM),
                (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
            ),
        )]
        #[post($path)]
        pub async fn $fn(
            state: web::Data<AppState>,
            user: AuthUser,
            id: web::Path<Uuid>,
            body: Option<Json<$body>>,
        ) -> ApiResult<web::Json<Contract>> {
            let mut conn = state.pool.get().await?;
            let (reason, reference) = <$body>::parts(body.map(|Json(b)| b));
            Ok(web::Json(
                service::decide(&mut conn, &user, id.into_inner(), $action, reason, reference)
                    .await?,
            ))
        }
    };
}

decision!(
    accept_contract,
    "accept_contract",
    "/contracts/{id}/accept",
    Action::Accept,
    DecisionRequest,
    "Accept a proposed contract (a member of the party that did not propose it); the buyer may give its engagement number."
);
decision!(
    decline_contract,
    "decline_contract",
    "/contracts/{id}/decline",
    Action::Decline,
    DecisionRequest,
    "Decline a proposed contract (a member of the party that did not propose it)."
);
decision!(
    terminate_contract,
    "terminate_contract",
    "/contracts/{id}/terminate",
    Action::Terminate,
    TerminateRequest,
    "Terminate an active contract early, with a reason (a member of either party). Orders already placed stay."
);
