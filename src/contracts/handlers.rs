//! HTTP handlers of contracts: thin, over `queries` and `decp`.

use actix_web::{HttpResponse, get, web};
use uuid::Uuid;

use super::decp;
use super::dto::*;
use super::queries::{self, ContractRow};
use crate::AppState;
use crate::accounts::access;
use crate::auth::extract::AuthUser;
use crate::auth::policy::{self, OrgAction};
use crate::codes::{OrganisationKind, OrganisationStatus, from_db};
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::extract::Query;
use crate::orders::dto::OrganisationRef;

const PROBLEM: &str = "application/problem+json";

pub fn view(row: ContractRow) -> ApiResult<Contract> {
    Ok(Contract {
        id: row.id,
        number: row.number,
        consultation_id: row.consultation_id,
        lot_number: row.lot_number,
        buyer: OrganisationRef {
            id: row.buyer_id,
            name: row.buyer_name,
        },
        supplier: OrganisationRef {
            id: row.supplier_id,
            name: row.supplier_name,
        },
        canteens: row
            .canteen_ids
            .into_iter()
            .zip(row.canteen_names)
            .map(|(id, name)| OrganisationRef { id, name })
            .collect(),
        family: from_db(&row.family)?,
        description: row.description,
        unit: from_db(&row.unit)?,
        unit_price_cents: row.unit_price_cents,
        vat_rate: row.vat_rate.normalize(),
        quantity: row.quantity.map(|q| q.normalize()),
        max_amount_ht_cents: row.max_amount_ht_cents,
        amount_ht_cents: row.amount_ht_cents,
        valid_from: row.valid_from,
        valid_until: row.valid_until,
        status: from_db(&row.status)?,
        created_at: row.created_at,
    })
}

/// A contract made by the award of a consultation's lot: readable by its
/// parties (buyer, supplier, delivered canteens) and by the authority of
/// their territory.
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
    let row = queries::find(&mut conn, id.into_inner())
        .await?
        .ok_or_else(|| ApiError::not_found("no contract with this id"))?;
    let mut parties = vec![row.buyer_id, row.supplier_id];
    parties.extend(row.canteen_ids.iter().copied());
    let is_party = queries::member_of_any(&mut conn, user.id, &parties).await?;
    let is_authority = !is_party && {
        let epcis = queries::epcis(&mut conn, row.id).await?;
        queries::speaks_for_any(&mut conn, user.id, &epcis).await?
    };
    policy::contract_reader(&user, is_party, is_authority)?;
    Ok(web::Json(view(row)?))
}

/// The contracts an organisation is a party to (buyer, supplier or
/// delivered canteen), newest first (its members).
#[utoipa::path(
    tag = "contracts",
    operation_id = "list_contracts",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "A canteen, authority, farm or distributor")),
    responses(
        (status = 200, description = "Its contracts (at most 1,000)", body = ContractList),
        (status = 400, description = "Malformed id", body = Problem, content_type = PROBLEM),
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
) -> ApiResult<web::Json<ContractList>> {
    let id = id.into_inner();
    let mut conn = state.pool.get().await?;
    let org = access(&mut conn, id, Some(&user)).await?;
    policy::authorize(&user, &org, OrgAction::ReadPrivate)?;
    let items = queries::list_for(&mut conn, id)
        .await?
        .into_iter()
        .map(view)
        .collect::<ApiResult<_>>()?;
    Ok(web::Json(ContractList { items }))
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
