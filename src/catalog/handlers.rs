//! HTTP handlers of the catalog: `/api/v1/offers` and
//! `/api/v1/organisations/{id}/offers`.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use chrono::Utc;
use uuid::Uuid;

use super::delivery::{self, Schedule};
use super::dto::*;
use super::queries::{self, Changes, Loaded, OfferRow, StockOutcome};
use super::search::{self, Destination};
use super::{csv_import, validate};
use crate::AppState;
use crate::accounts::access;
use crate::accounts::dto::DeliveryArea;
use crate::auth::extract::{AuthUser, MaybeAuthUser};
use crate::auth::policy::{self, OrgAction};
use crate::codes::{AreaKind, Label, OfferStatus, OrganisationKind, OrganisationStatus, from_db};
use crate::db::DbConn;
use crate::error::{ApiError, ApiResult, FieldError, Problem};
use crate::geo::search::fold;
use crate::http::extract::{Body, Json, Query};

const PROBLEM: &str = "application/problem+json";

fn etag(version: i32) -> String {
    format!("\"{version}\"")
}

/// The version an update applies to, from `If-Match` (RFC 9110, 13.1.1):
/// `*`, or a list of entity tags compared strongly with the offer's
/// `current` version (a weak tag `W/"…"` never matches). 428 without the
/// header, 412 when no tag names the current version.
fn if_match(req: &HttpRequest, current: i32) -> ApiResult<i32> {
    let mut values = req.headers().get_all(header::IF_MATCH).peekable();
    if values.peek().is_none() {
        return Err(ApiError::PreconditionRequired(
            "send If-Match with the ETag you read".into(),
        ));
    }
    let wanted = etag(current);
    let matches = values
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|tag| tag == "*" || tag == wanted);
    if matches {
        Ok(current)
    } else {
        Err(ApiError::PreconditionFailed(format!(
            "If-Match names no current version of this offer (its ETag is {wanted}; \
             a weak tag never matches): read it again and retry"
        )))
    }
}

/// The stock as `reader` may see it.
fn stock(row: &OfferRow, reader: Reader) -> Stock {
    let exact = reader == Reader::Supplier;
    Stock {
        on_demand: row.stock_available.is_none(),
        availability: Availability::of(row.stock_available, row.min_order_quantity, row.order_step),
        available: row.stock_available.filter(|_| exact).map(|q| q.normalize()),
        reserved: exact.then(|| row.stock_reserved.normalize()),
    }
}

/// Who reads an offer: its supplier's members see the exact stock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    Supplier,
    Anyone,
}

pub fn view(loaded: Loaded, local: Option<Local>, reader: Reader) -> ApiResult<Offer> {
    let row = loaded.row;
    let stock = stock(&row, reader);
    let labels: Vec<Label> = row
        .labels
        .iter()
        .map(|l| from_db(l))
        .collect::<ApiResult<_>>()?;
    let mut delivery_area = Vec::new();
    for (kind, codes) in [
        (AreaKind::Commune, &row.area_communes),
        (AreaKind::Epci, &row.area_epcis),
        (AreaKind::Departement, &row.area_departements),
    ] {
        delivery_area.extend(codes.iter().map(|code| DeliveryArea {
            kind,
            code: code.clone(),
        }));
    }
    Ok(Offer {
        id: row.id,
        supplier: Supplier {
            id: row.supplier_id,
            name: loaded.supplier_name,
            kind: from_db(&loaded.supplier_kind)?,
        },
        producer: Producer {
            organisation_id: row.producer_id,
            name: row.producer_name,
            commune_insee: row.producer_commune_insee,
            commune: loaded.commune,
            departement: loaded.departement,
            region: loaded.region,
            epci: loaded.epci,
        },
        name: row.name,
        description: row.description,
        family: from_db(&row.family)?,
        egalim: !labels.is_empty(),
        organic: labels.contains(&Label::Bio),
        labels,
        origin: from_db(&row.origin)?,
        unit: from_db(&row.unit)?,
        package: match (row.package_net_quantity, row.package_net_unit) {
            (Some(net_quantity), Some(unit)) => Some(Package {
                net_quantity,
                net_unit: from_db(&unit)?,
            }),
            _ => None,
        },
        price_cents: row.price_cents,
        vat_rate: row.vat_rate.normalize(),
        stock,
        min_order_quantity: row.min_order_quantity.normalize(),
        order_step: row.order_step.normalize(),
        available_from: row.available_from,
        available_until: row.available_until,
        next_delivery_dates: Schedule {
            lead_time_days: row.lead_time_days,
            weekdays: &row.delivery_weekdays,
            available_from: row.available_from,
            available_until: row.available_until,
        }
        .next_dates(loaded.today, delivery::NEXT_DATES),
        lead_time_days: row.lead_time_days,
        delivery_weekdays: row.delivery_weekdays,
        delivery_area,
        status: from_db(&row.status)?,
        local,
        version: loaded.version,
        created_at: loaded.created_at,
        updated_at: loaded.updated_at,
    })
}

async fn load_one(conn: &mut DbConn, id: Uuid) -> ApiResult<Loaded> {
    queries::load(conn, &[id])
        .await?
        .pop()
        .ok_or_else(|| ApiError::not_found("no offer with this id"))
}

fn with_etag(mut response: HttpResponse, version: i32) -> HttpResponse {
    if let Ok(value) = HeaderValue::from_str(&etag(version)) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}

/// Resolves who produced an offer, checks its labels against that farm's
/// certifications and the delivery area against the geography, and makes
/// the row. Problems are pushed, by field, under `prefix`.
pub async fn prepare(
    conn: &mut DbConn,
    supplier: (Uuid, OrganisationKind),
    offer: NewOffer,
    prefix: &str,
    errors: &mut Vec<FieldError>,
) -> ApiResult<Option<OfferRow>> {
    let at = |field: &str| {
        if prefix.is_empty() {
            field.to_owned()
        } else {
            format!("{prefix}.{field}")
        }
    };
    let (supplier_id, supplier_kind) = supplier;
    let producer_id = match (&offer.producer, supplier_kind) {
        (None, OrganisationKind::Farm) => Some(supplier_id),
        (Some(p), OrganisationKind::Farm)
            if p.organisation_id == Some(supplier_id) && p.name.is_none() =>
        {
            Some(supplier_id)
        }
        (Some(_), OrganisationKind::Farm) => {
            errors.push(FieldError::new(
                at("producer"),
                "a farm sells its own produce: leave producer out",
            ));
            return Ok(None);
        }
        (None, _) => {
            errors.push(FieldError::new(
                at("producer"),
                "is required: name the farm that produced it",
            ));
            return Ok(None);
        }
        (Some(p), _) => p.organisation_id,
    };
    let (producer_name, producer_commune, certified) = match producer_id {
        Some(id) => match queries::farm_for_producer(conn, id).await? {
            Some((name, commune, kind, status, labels))
                if kind == "farm" && (id == supplier_id || status == "verified") =>
            {
                (name, commune, Some(labels))
            }
            _ => {
                errors.push(FieldError::new(
                    at("producer.organisation_id"),
                    "is not a verified farm on the platform (name an outside farm by \
                     producer.name and producer.commune_insee instead)",
                ));
                return Ok(None);
            }
        },
        None => {
            let p = offer.producer.clone().unwrap_or(ProducerInput {
                organisation_id: None,
                name: None,
                commune_insee: None,
            });
            let name = p.name.unwrap_or_default().trim().to_owned();
            if name.is_empty() || name.chars().count() > 200 {
                errors.push(FieldError::new(
                    at("producer.name"),
                    "name the outside farm (1 to 200 characters)",
                ));
            }
            let commune = p.commune_insee.unwrap_or_default();
            if !crate::accounts::queries::commune_exists(conn, &commune).await? {
                errors.push(FieldError::new(
                    at("producer.commune_insee"),
                    "no current commune has this INSEE code",
                ));
            }
            (name, commune, None)
        }
    };
    if let Some(farm) = producer_id.filter(|farm| *farm != supplier_id)
        && !crate::supply::queries::is_accepted(conn, supplier_id, farm).await?
    {
        errors.push(FieldError::new(
            at("producer.organisation_id"),
            format!(
                "the farm has not accepted to be carried by you: ask it first with \
                 POST /api/v1/organisations/{supplier_id}/supply-relationships"
            ),
        ));
        return Ok(None);
    }
    match &certified {
        Some(certified) => {
            for (i, label) in offer.labels.iter().enumerate() {
                if !certified.iter().any(|c| c == label.as_str()) {
                    errors.push(FieldError::new(
                        format!("{}[{i}]", at("labels")),
                        format!("the producing farm is not certified {label}"),
                    ));
                }
            }
        }
        None if !offer.labels.is_empty() => errors.push(FieldError::new(
            at("labels"),
            "labels need a producing farm on the platform, whose certifications Sésame knows",
        )),
        None => {}
    }
    let (communes, epcis, departements) =
        split_area(conn, &offer.delivery_area, &at("delivery_area"), errors).await?;
    if !errors.is_empty() {
        return Ok(None);
    }
    Ok(Some(OfferRow {
        id: Uuid::now_v7(),
        supplier_id,
        producer_id,
        producer_name,
        producer_commune_insee: producer_commune,
        search_text: fold(&format!("{} {}", offer.name, offer.description)),
        name: offer.name.trim().to_owned(),
        description: offer.description.trim().to_owned(),
        family: offer.family.as_str().to_owned(),
        labels: offer.labels.iter().map(|l| l.as_str().to_owned()).collect(),
        origin: offer.origin.as_str().to_owned(),
        unit: offer.unit.as_str().to_owned(),
        package_net_quantity: offer.package.as_ref().map(|p| p.net_quantity),
        package_net_unit: offer
            .package
            .as_ref()
            .map(|p| p.net_unit.as_str().to_owned()),
        price_cents: offer.price_cents,
        vat_rate: offer.vat_rate,
        stock_available: offer.stock,
        stock_reserved: rust_decimal::Decimal::ZERO,
        min_order_quantity: offer.min_order_quantity,
        order_step: offer.order_step,
        available_from: offer.available_from,
        available_until: offer.available_until,
        lead_time_days: offer.lead_time_days,
        delivery_weekdays: offer.delivery_weekdays,
        area_communes: communes,
        area_epcis: epcis,
        area_departements: departements,
        status: offer
            .status
            .unwrap_or(OfferStatus::Active)
            .as_str()
            .to_owned(),
    }))
}

/// A delivery area as three code lists, each code checked.
async fn split_area(
    conn: &mut DbConn,
    area: &[DeliveryArea],
    field: &str,
    errors: &mut Vec<FieldError>,
) -> ApiResult<(Vec<String>, Vec<String>, Vec<String>)> {
    use crate::accounts::queries::{commune_exists, departement_exists, epci_exists};
    let (mut communes, mut epcis, mut departements) = (Vec::new(), Vec::new(), Vec::new());
    for (i, a) in area.iter().enumerate() {
        let known = match a.kind {
            AreaKind::Commune => commune_exists(conn, &a.code).await?,
            AreaKind::Epci => epci_exists(conn, &a.code).await?,
            AreaKind::Departement => departement_exists(conn, &a.code).await?,
        };
        if !known {
            errors.push(FieldError::new(
                format!("{field}[{i}].code"),
                format!("no {} has this code", a.kind),
            ));
        }
        let list = match a.kind {
            AreaKind::Commune => &mut communes,
            AreaKind::Epci => &mut epcis,
            AreaKind::Departement => &mut departements,
        };
        if !list.contains(&a.code) {
            list.push(a.code.clone());
        }
    }
    Ok((communes, epcis, departements))
}

/// List an offer (members of a verified farm or distributor).
#[utoipa::path(
    tag = "catalog",
    operation_id = "create_offer",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The supplying organisation")),
    request_body = NewOffer,
    responses(
        (status = 201, description = "Listed", body = Offer,
            headers(("Location" = String), ("ETag" = String, description = "Version, for If-Match"))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 403, description = "Not a verified farm or distributor", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such organisation visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 422, description = "Invalid fields, each named (labels the farm is not certified for too)", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[post("/organisations/{id}/offers")]
pub async fn create_offer(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    Json(body): Json<NewOffer>,
) -> ApiResult<HttpResponse> {
    let supplier = id.into_inner();
    let mut conn = state.pool.get().await?;
    let org = access(&mut conn, supplier, Some(&user)).await?;
    policy::authorize(&user, &org, OrgAction::ManageOffers)?;
    let mut errors = validate::new_offer("", &body);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let row = prepare(&mut conn, (supplier, org.kind), body, "", &mut errors).await?;
    let Some(row) = row else {
        return Err(ApiError::Validation(errors));
    };
    let id = row.id;
    queries::insert(&mut conn, &[row]).await?;
    let loaded = load_one(&mut conn, id).await?;
    let version = loaded.version;
    let response = HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/offers/{id}")))
        .json(view(loaded, None, Reader::Supplier)?);
    Ok(with_etag(response, version))
}

/// One offer: public when active and its supplier verified; otherwise for
/// the supplier's members only.
#[utoipa::path(
    tag = "catalog",
    operation_id = "get_offer",
    security((), ("bearer" = [])),
    params(("id" = Uuid, Path, description = "Offer id")),
    responses(
        (status = 200, description = "The offer", body = Offer, headers(("ETag" = String, description = "Version, for If-Match"))),
        (status = 401, description = "A token was given but is invalid", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such offer visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[get("/offers/{id}")]
pub async fn get_offer(
    state: web::Data<AppState>,
    MaybeAuthUser(user): MaybeAuthUser,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let loaded = load_one(&mut conn, id.into_inner()).await?;
    let public = loaded.row.status == OfferStatus::Active.as_str()
        && loaded.supplier_status == OrganisationStatus::Verified.as_str();
    let member = match &user {
        Some(user) => {
            let org = access(&mut conn, loaded.row.supplier_id, Some(user)).await?;
            policy::authorize(user, &org, OrgAction::ReadPrivate).is_ok()
        }
        None => false,
    };
    if !public && !member {
        return Err(ApiError::not_found("no offer with this id"));
    }
    let reader = if member {
        Reader::Supplier
    } else {
        Reader::Anyone
    };
    let version = loaded.version;
    Ok(with_etag(
        HttpResponse::Ok().json(view(loaded, None, reader)?),
        version,
    ))
}

/// The offer after the policy allowed the caller to manage it.
async fn managed(conn: &mut DbConn, user: &AuthUser, id: Uuid) -> ApiResult<Loaded> {
    let supplier = queries::supplier_of(conn, id)
        .await?
        .ok_or_else(|| ApiError::not_found("no offer with this id"))?;
    let org = access(conn, supplier, Some(user))
        .await
        .map_err(|_| ApiError::not_found("no offer with this id"))?;
    policy::authorize(user, &org, OrgAction::ManageOffers).map_err(|e| match e {
        ApiError::NotFound(_) => ApiError::not_found("no offer with this id"),
        other => other,
    })?;
    load_one(conn, id).await
}

/// Change an offer. Send `If-Match` with the `ETag` you read: 412 if the
/// offer changed since.
#[utoipa::path(
    tag = "catalog",
    operation_id = "update_offer",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "Offer id"),
        ("If-Match" = String, Header, description = "The ETag of the version read (strong comparison, RFC 9110), or `*`", example = "\"1\""),
    ),
    request_body = OfferChanges,
    responses(
        (status = 200, description = "The changed offer", body = Offer, headers(("ETag" = String))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 403, description = "The supplier may not sell (not verified, suspended)", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such offer visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 409, description = "`busy`: the offer is held by another transaction (a checkout, an import); retry after `Retry-After`", body = Problem, content_type = PROBLEM),
        (status = 412, description = "The offer changed since it was read", body = Problem, content_type = PROBLEM),
        (status = 422, description = "Invalid fields, each named", body = Problem, content_type = PROBLEM),
        (status = 428, description = "If-Match missing", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[patch("/offers/{id}")]
pub async fn update_offer(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    Json(body): Json<OfferChanges>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let mut conn = state.pool.get().await?;
    let current = managed(&mut conn, &user, id).await?;
    let version = if_match(&req, current.version)?;
    let family = from_db(&current.row.family)?;
    let mut errors = validate::changes(&body, family);
    if let Some(labels) = &body.labels {
        let certified = match current.row.producer_id {
            Some(producer) => queries::farm_for_producer(&mut conn, producer)
                .await?
                .map(|f| f.4),
            None => None,
        };
        for (i, label) in labels.iter().enumerate() {
            if !certified
                .as_ref()
                .is_some_and(|c| c.iter().any(|l| l == label.as_str()))
            {
                errors.push(FieldError::new(
                    format!("labels[{i}]"),
                    format!("the producing farm is not certified {label}"),
                ));
            }
        }
    }
    let from = body.available_from.or(current.row.available_from);
    let until = body.available_until.or(current.row.available_until);
    if let (Some(from), Some(until)) = (from, until)
        && until < from
    {
        errors.push(FieldError::new(
            "available_until",
            "is before available_from",
        ));
    }
    let area = match &body.delivery_area {
        Some(area) => Some(split_area(&mut conn, area, "delivery_area", &mut errors).await?),
        None => None,
    };
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let name = body.name.as_deref().map(str::trim).map(str::to_owned);
    let description = body
        .description
        .as_deref()
        .map(str::trim)
        .map(str::to_owned);
    let search_text = (name.is_some() || description.is_some()).then(|| {
        fold(&format!(
            "{} {}",
            name.as_deref().unwrap_or(&current.row.name),
            description.as_deref().unwrap_or(&current.row.description)
        ))
    });
    let (area_communes, area_epcis, area_departements) = match area {
        Some((c, e, d)) => (Some(c), Some(e), Some(d)),
        None => (None, None, None),
    };
    let changes = Changes {
        name,
        description,
        search_text,
        labels: body
            .labels
            .map(|l| l.iter().map(|x| x.as_str().to_owned()).collect()),
        origin: body.origin.map(|o| o.as_str().to_owned()),
        price_cents: body.price_cents,
        vat_rate: body.vat_rate,
        min_order_quantity: body.min_order_quantity,
        order_step: body.order_step,
        available_from: body.available_from,
        available_until: body.available_until,
        lead_time_days: body.lead_time_days,
        delivery_weekdays: body.delivery_weekdays,
        area_communes,
        area_epcis,
        area_departements,
        status: body.status.map(|s| s.as_str().to_owned()),
    };
    let updated = super::consent::update_offer(&mut conn, &current.row, version, &changes).await?;
    if !updated {
        return Err(ApiError::PreconditionFailed(format!(
            "the offer changed since version {version}: read it again and retry"
        )));
    }
    let loaded = load_one(&mut conn, id).await?;
    let version = loaded.version;
    Ok(with_etag(
        HttpResponse::Ok().json(view(loaded, None, Reader::Supplier)?),
        version,
    ))
}

/// Move an offer's stock: add, remove, or set the quantity on hand. Atomic:
/// concurrent movements all count, and stock never goes below zero or below
/// what orders hold.
#[utoipa::path(
    tag = "catalog",
    operation_id = "adjust_stock",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Offer id")),
    request_body = StockAdjustment,
    responses(
        (status = 200, description = "The stock after the movement", body = Stock, headers(("ETag" = String))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 403, description = "The supplier may not sell", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such offer visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 409, description = "Not enough stock, or an on-demand offer; or `busy`: the offer is held by another transaction, retry after `Retry-After`", body = Problem, content_type = PROBLEM),
        (status = 422, description = "Invalid quantity", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[post("/offers/{id}/stock")]
pub async fn adjust_stock(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    Json(body): Json<StockAdjustment>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let mut errors = Vec::new();
    let allow_zero = matches!(body.operation, StockOperation::Set);
    validate::quantity(&mut errors, "quantity".into(), body.quantity, allow_zero);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let mut conn = state.pool.get().await?;
    managed(&mut conn, &user, id).await?;
    match queries::adjust_stock(&mut conn, id, body.operation, body.quantity).await? {
        StockOutcome::Done => {}
        StockOutcome::OnDemand => {
            return Err(ApiError::Conflict(
                "this offer is produced on demand: it has no stock".into(),
            ));
        }
        StockOutcome::Insufficient {
            available,
            reserved,
        } => {
            return Err(ApiError::Conflict(format!(
                "not enough stock: {} available, {} reserved by orders",
                available.normalize(),
                reserved.normalize()
            )));
        }
    }
    let loaded = load_one(&mut conn, id).await?;
    let version = loaded.version;
    let offer = view(loaded, None, Reader::Supplier)?;
    Ok(with_etag(HttpResponse::Ok().json(offer.stock), version))
}

/// Search the active offers of verified suppliers.
#[utoipa::path(
    tag = "catalog",
    operation_id = "search_offers",
    params(SearchQuery),
    responses(
        (status = 200, description = "One page of offers", body = OfferPage),
        (status = 400, description = "A parameter is invalid (limit above 100, unknown label, bad cursor…)", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[get("/offers")]
pub async fn search_offers(
    state: web::Data<AppState>,
    Query(query): Query<SearchQuery>,
) -> ApiResult<web::Json<OfferPage>> {
    let mut conn = state.pool.get().await?;
    let destination = match &query.deliverable_to {
        Some(insee) => {
            let commune = crate::geo::queries::find_commune(&mut conn, insee)
                .await?
                .ok_or_else(|| {
                    ApiError::invalid_parameter(
                        "deliverable_to",
                        "no current commune has this INSEE code",
                    )
                })?;
            Some(Destination {
                insee: commune.insee,
                epci: commune.epci_siren,
                departement: commune.departement_code,
            })
        }
        None => None,
    };
    let canteen = match query.local_to {
        Some(id) => Some(
            queries::canteen_place(&mut conn, id)
                .await?
                .ok_or_else(|| {
                    ApiError::invalid_parameter("local_to", "no verified canteen has this id")
                })?,
        ),
        None => None,
    };
    let plan = search::plan(query, destination, canteen.as_ref())?;
    let mut hits = queries::run_search(&mut conn, &plan.sql, plan.params).await?;
    let next_cursor = if hits.len() > plan.limit as usize {
        hits.truncate(plan.limit as usize);
        hits.last()
            .map(|h| search::encode_cursor(plan.sort, h.price_cents, &h.name, h.created_at, h.id))
    } else {
        None
    };
    let ids: Vec<Uuid> = hits.iter().map(|h| h.id).collect();
    let loaded = queries::load(&mut conn, &ids).await?;
    let items = loaded
        .into_iter()
        .zip(&hits)
        .map(|(offer, hit)| {
            let local = hit.local.as_deref().map(|l| match l {
                "yes" => Local::Yes,
                "no" => Local::No,
                _ => Local::Unknown,
            });
            view(offer, local, Reader::Anyone)
        })
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(web::Json(OfferPage { items, next_cursor }))
}

/// Import a supplier's catalog from CSV, all or nothing: on any error,
/// nothing is imported and every bad row and field is reported.
#[utoipa::path(
    tag = "catalog",
    operation_id = "import_offers",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The supplying organisation")),
    request_body(content = CsvFile, content_type = "text/csv", description = csv_import::FORMAT),
    responses(
        (status = 201, description = "Every row imported", body = csv_import::Imported),
        (status = 400, description = "Not readable as CSV: not UTF-8, no header, or over 5,000 rows", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 403, description = "Not a verified farm or distributor", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such organisation visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 413, description = "File too large", body = Problem, content_type = PROBLEM),
        (status = 415, description = "Not text/csv", body = Problem, content_type = PROBLEM),
        (status = 422, description = "Missing or unknown columns, as `header.column`; or bad rows: every one, as `rows[N].column` (N counts data rows from 1)", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[post("/organisations/{id}/offers/import")]
pub async fn import_offers(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    Body(body): Body,
) -> ApiResult<HttpResponse> {
    let supplier = id.into_inner();
    let is_csv = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/csv"));
    if !is_csv {
        return Err(ApiError::UnsupportedMediaType(
            "send the catalog as text/csv".into(),
        ));
    }
    let mut conn = state.pool.get().await?;
    let org = access(&mut conn, supplier, Some(&user)).await?;
    policy::authorize(&user, &org, OrgAction::ManageOffers)?;
    let parsed = csv_import::parse(&body)?;
    let mut errors = parsed.errors;
    let mut rows = Vec::new();
    for (index, offer) in parsed.offers {
        let prefix = format!("rows[{index}]");
        let mut row_errors = validate::new_offer(&prefix, &offer);
        if row_errors.is_empty()
            && let Some(row) = prepare(
                &mut conn,
                (supplier, org.kind),
                offer,
                &prefix,
                &mut row_errors,
            )
            .await?
        {
            rows.push(row);
        }
        errors.extend(row_errors);
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    queries::insert(&mut conn, &rows).await?;
    Ok(HttpResponse::Created().json(csv_import::Imported {
        imported: rows.len(),
        at: Utc::now(),
    }))
}
