//! HTTP handlers of `/api/v1/organisations`, `/api/v1/invitations` and
//! `/api/v1/admin/organisations`. Every access decision goes through
//! `auth::policy`.

use actix_web::{HttpResponse, delete, get, patch, post, put, web};
use chrono::{Duration, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::dto::*;
use super::queries::{
    self, Acceptance, Actor, CanteenRow, MembershipChange, OrganisationChanges, OrganisationRow,
};
use super::{access, validate};
use crate::AppState;
use crate::auth::extract::{AuthUser, MaybeAuthUser};
use crate::auth::policy::{self, OrgAction};
use crate::auth::token::{hash_token, new_opaque_token};
use crate::codes::{AreaKind, OrganisationKind, OrganisationStatus, Role, from_db};
use crate::db::DbConn;
use crate::error::{ApiError, ApiResult, FieldError, Problem};
use crate::http::extract::{Json, Query};
use crate::http::pagination::{self, Page};
use crate::ids::{check_email, normalise_email};

const INVITATION_TTL_DAYS: i64 = 14;

/// An organisation as shown; `private` adds the contacts.
fn view(loaded: queries::Loaded, private: bool) -> ApiResult<Organisation> {
    let row = loaded.row;
    let kind: OrganisationKind = from_db(&row.kind)?;
    let canteen = loaded
        .canteen
        .map(|c| -> ApiResult<CanteenProfile> {
            Ok(CanteenProfile {
                sectors: c
                    .sectors
                    .iter()
                    .map(|s| from_db(s))
                    .collect::<ApiResult<_>>()?,
                management_type: from_db(&c.management_type)?,
                production_type: from_db(&c.production_type)?,
                economic_model: from_db(&c.economic_model)?,
                daily_meal_count: c.daily_meal_count,
                yearly_meal_count: c.yearly_meal_count,
                central_kitchen_siret: c.central_kitchen_siret,
                local_definition: from_db(&c.local_definition)?,
                local_km: c.local_km,
            })
        })
        .transpose()?;
    Ok(Organisation {
        id: row.id,
        kind,
        name: row.name,
        siret: row.siret,
        siren: loaded.siren,
        place: Place {
            insee: row.commune_insee,
            commune: loaded.commune_name,
            departement: loaded.departement,
            region: loaded.region,
            epci: loaded.epci,
        },
        address: row.address,
        location: row
            .latitude
            .zip(row.longitude)
            .map(|(latitude, longitude)| Location {
                latitude,
                longitude,
            }),
        description: row.description,
        status: from_db(&row.status)?,
        farm: (kind == OrganisationKind::Farm)
            .then(|| -> ApiResult<FarmProfile> {
                Ok(FarmProfile {
                    certifications: loaded.certifications,
                    productions: row
                        .productions
                        .iter()
                        .map(|p| from_db(p))
                        .collect::<ApiResult<_>>()?,
                })
            })
            .transpose()?,
        distributor: (kind == OrganisationKind::Distributor).then_some(DistributorProfile {
            delivery_area: loaded.delivery_area,
        }),
        canteen,
        authority: row.authority_epci.map(|epci| AuthorityProfile { epci }),
        contact: private.then_some(Contact {
            email: row.contact_email,
            phone: row.contact_phone,
        }),
        created_at: loaded.created_at,
    })
}

async fn load_one(conn: &mut DbConn, id: Uuid, private: bool) -> ApiResult<Organisation> {
    let loaded = queries::load(conn, &[id])
        .await?
        .pop()
        .ok_or_else(|| ApiError::not_found("no organisation with this id"))?;
    view(loaded, private)
}

/// Checks against the reference geography: the commune, and the codes of a
/// delivery area or of an authority's EPCI.
async fn check_places(
    conn: &mut DbConn,
    errors: &mut Vec<FieldError>,
    commune: Option<(&str, &str)>,
    areas: Option<(&str, &[DeliveryArea])>,
    epci: Option<(&str, &str)>,
) -> ApiResult<()> {
    if let Some((field, insee)) = commune
        && !errors.iter().any(|e| e.field == field)
        && !queries::commune_exists(conn, insee).await?
    {
        errors.push(FieldError::new(
            field,
            format!("no current commune has the INSEE code {insee}"),
        ));
    }
    if let Some((prefix, areas)) = areas {
        for (i, area) in areas.iter().enumerate() {
            let known = match area.kind {
                AreaKind::Commune => queries::commune_exists(conn, &area.code).await?,
                AreaKind::Epci => queries::epci_exists(conn, &area.code).await?,
                AreaKind::Departement => queries::departement_exists(conn, &area.code).await?,
            };
            if !known {
                errors.push(FieldError::new(
                    format!("{prefix}[{i}].code"),
                    format!("no {} has the code {}", area.kind, area.code),
                ));
            }
        }
    }
    if let Some((field, siren)) = epci
        && !queries::epci_exists(conn, siren).await?
    {
        errors.push(FieldError::new(
            field,
            format!("no EPCI has the SIREN {siren}"),
        ));
    }
    Ok(())
}

const PROBLEM: &str = "application/problem+json";

/// Register an organisation; its creator becomes its owner. It starts
/// `pending` until a platform administrator verifies it.
#[utoipa::path(
    tag = "organisations",
    operation_id = "create_organisation",
    security(("bearer" = [])),
    request_body = CreateOrganisation,
    responses(
        (status = 201, description = "Created, pending verification", body = Organisation,
            headers(("Location" = String, description = "URL of the organisation"))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 422, description = "Invalid fields, each named", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[post("/organisations")]
pub async fn create_organisation(
    state: web::Data<AppState>,
    user: AuthUser,
    Json(body): Json<CreateOrganisation>,
) -> ApiResult<HttpResponse> {
    let mut errors = validate::create(&body);
    let mut conn = state.pool.get().await?;
    let areas = body
        .distributor
        .as_ref()
        .map(|d| d.delivery_area.as_slice())
        .unwrap_or_default();
    check_places(
        &mut conn,
        &mut errors,
        Some(("commune_insee", &body.commune_insee)),
        Some(("distributor.delivery_area", areas)),
        body.authority
            .as_ref()
            .map(|a| ("authority.epci", a.epci.as_str())),
    )
    .await?;
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let id = Uuid::now_v7();
    let farm = body.farm.clone().unwrap_or_default();
    let row = OrganisationRow {
        id,
        kind: body.kind.as_str().to_owned(),
        name: body.name.trim().to_owned(),
        siret: body.siret.clone(),
        commune_insee: body.commune_insee.clone(),
        address: body.address.trim().to_owned(),
        latitude: body.location.map(|l| l.latitude),
        longitude: body.location.map(|l| l.longitude),
        description: body.description.trim().to_owned(),
        contact_email: body.contact_email.as_deref().map(normalise_email),
        contact_phone: body.contact_phone.as_deref().map(|p| p.trim().to_owned()),
        status: OrganisationStatus::Pending.as_str().to_owned(),
        productions: farm
            .productions
            .iter()
            .map(|p| p.as_str().to_owned())
            .collect(),
        authority_epci: body.authority.as_ref().map(|a| a.epci.clone()),
    };
    let canteen = body.canteen.as_ref().map(|c| CanteenRow::new(id, c));
    queries::insert_organisation(
        &mut conn,
        &row,
        &farm.certifications,
        areas,
        canteen.as_ref(),
        user.id,
    )
    .await?;
    let organisation = load_one(&mut conn, id, true).await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/organisations/{id}")))
        .json(organisation))
}

/// The public directory: verified organisations' public profiles only.
#[utoipa::path(
    tag = "organisations",
    operation_id = "list_organisations",
    params(DirectoryQuery),
    responses(
        (status = 200, description = "One page of public profiles", body = Page<Organisation>),
        (status = 400, description = "Invalid query parameter", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[get("/organisations")]
pub async fn list_organisations(
    state: web::Data<AppState>,
    Query(query): Query<DirectoryQuery>,
) -> ApiResult<web::Json<Page<Organisation>>> {
    let limit =
        pagination::limit(query.limit).map_err(|error| ApiError::InvalidParameters(vec![error]))?;
    let filter = queries::Directory {
        kind: query.kind.map(|k| k.as_str().to_owned()),
        epci: query.epci,
        commune: query.commune,
        departement: query.departement,
        label: query.label.map(|l| l.as_str().to_owned()),
    };
    let mut conn = state.pool.get().await?;
    let ids = queries::directory(&mut conn, &filter, limit.into(), query.cursor)
        .await?
        .ok_or_else(pagination::unknown_cursor)?;
    let page = Page::from_rows(ids, limit, Uuid::to_string);
    let items = queries::load(&mut conn, &page.items)
        .await?
        .into_iter()
        .map(|loaded| view(loaded, false))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(web::Json(Page {
        items,
        next_cursor: page.next_cursor,
    }))
}

/// One organisation: its public profile once verified; with its private
/// details for its members and administrators.
#[utoipa::path(
    tag = "organisations",
    operation_id = "get_organisation",
    security((), ("bearer" = [])),
    params(("id" = Uuid, Path, description = "Organisation id")),
    responses(
        (status = 200, description = "The organisation", body = Organisation),
        (status = 401, description = "A token was given but is invalid", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such organisation visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[get("/organisations/{id}")]
pub async fn get_organisation(
    state: web::Data<AppState>,
    MaybeAuthUser(user): MaybeAuthUser,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<Organisation>> {
    let id = id.into_inner();
    let mut conn = state.pool.get().await?;
    let org = access(&mut conn, id, user.as_ref()).await?;
    let private = match &user {
        Some(user) => policy::authorize(user, &org, OrgAction::ReadPrivate).is_ok(),
        None => false,
    };
    if !private && !policy::is_public(org.status) {
        return Err(ApiError::not_found("no organisation with this id"));
    }
    Ok(web::Json(load_one(&mut conn, id, private).await?))
}

/// Change an organisation's profile (owners).
#[utoipa::path(
    tag = "organisations",
    operation_id = "update_organisation",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Organisation id")),
    request_body = UpdateOrganisation,
    responses(
        (status = 200, description = "The updated organisation", body = Organisation),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 403, description = "Members who are not owners", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such organisation visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 422, description = "Invalid or not settable fields, each named", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[patch("/organisations/{id}")]
pub async fn update_organisation(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    Json(body): Json<UpdateOrganisation>,
) -> ApiResult<web::Json<Organisation>> {
    let id = id.into_inner();
    let mut conn = state.pool.get().await?;
    let org = access(&mut conn, id, Some(&user)).await?;
    policy::authorize(&user, &org, OrgAction::Update)?;
    let mut errors = validate::update(org.kind, &body);
    check_places(
        &mut conn,
        &mut errors,
        body.commune_insee.as_deref().map(|c| ("commune_insee", c)),
        body.delivery_area.as_deref().map(|a| ("delivery_area", a)),
        None,
    )
    .await?;
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let changes = OrganisationChanges {
        name: body.name.map(|n| n.trim().to_owned()),
        commune_insee: body.commune_insee,
        address: body.address.map(|a| a.trim().to_owned()),
        latitude: body.location.map(|l| l.latitude),
        longitude: body.location.map(|l| l.longitude),
        description: body.description.map(|d| d.trim().to_owned()),
        contact_email: body.contact_email.as_deref().map(normalise_email),
        contact_phone: body.contact_phone.map(|p| p.trim().to_owned()),
        productions: body
            .productions
            .map(|p| p.iter().map(|f| f.as_str().to_owned()).collect()),
        updated_at: Some(Utc::now()),
    };
    let canteen = body.canteen.as_ref().map(|c| CanteenRow::new(id, c));
    queries::update(
        &mut conn,
        id,
        &changes,
        body.delivery_area.as_deref(),
        canteen.as_ref(),
    )
    .await?;
    Ok(web::Json(load_one(&mut conn, id, true).await?))
}

/// Declare the labels a farm is certified for (replaces the list). Farms only.
#[utoipa::path(
    tag = "organisations",
    operation_id = "put_certifications",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Organisation id (a farm)")),
    request_body = Vec<Certification>,
    responses(
        (status = 200, description = "The farm's certifications", body = Vec<Certification>),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 403, description = "The organisation is not a farm", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such organisation visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 422, description = "Invalid certifications, each named", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[put("/organisations/{id}/certifications")]
pub async fn put_certifications(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    Json(body): Json<Vec<Certification>>,
) -> ApiResult<web::Json<Vec<Certification>>> {
    let id = id.into_inner();
    let mut conn = state.pool.get().await?;
    let org = access(&mut conn, id, Some(&user)).await?;
    policy::authorize(&user, &org, OrgAction::ManageCertifications)?;
    let mut errors = Vec::new();
    validate::certifications(&mut errors, "body", &body);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    queries::set_certifications(&mut conn, id, &body).await?;
    let farm = load_one(&mut conn, id, true)
        .await?
        .farm
        .unwrap_or_default();
    Ok(web::Json(farm.certifications))
}

/// The members of an organisation (members only).
#[utoipa::path(
    tag = "organisations",
    operation_id = "list_members",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Organisation id")),
    responses(
        (status = 200, description = "Members", body = Vec<Member>),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such organisation visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[get("/organisations/{id}/members")]
pub async fn list_members(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<Vec<Member>>> {
    let id = id.into_inner();
    let mut conn = state.pool.get().await?;
    let org = access(&mut conn, id, Some(&user)).await?;
    policy::authorize(&user, &org, OrgAction::ReadPrivate)?;
    members(&mut conn, id).await.map(web::Json)
}

async fn members(conn: &mut DbConn, id: Uuid) -> ApiResult<Vec<Member>> {
    queries::members(conn, id)
        .await?
        .into_iter()
        .map(|(user_id, email, display_name, role, since)| {
            Ok(Member {
                user_id,
                email,
                display_name,
                role: from_db(&role)?,
                since,
            })
        })
        .collect()
}

/// Invite someone by email (owners). The response carries the invitation
/// token, shown once, for the owner to pass on.
#[utoipa::path(
    tag = "organisations",
    operation_id = "invite_member",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Organisation id")),
    request_body = InviteMember,
    responses(
        (status = 201, description = "Invitation created", body = Invitation),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 403, description = "Members who are not owners", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such organisation visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 422, description = "Invalid email", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[post("/organisations/{id}/invitations")]
pub async fn invite_member(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    Json(body): Json<InviteMember>,
) -> ApiResult<HttpResponse> {
    let organisation = id.into_inner();
    let mut conn = state.pool.get().await?;
    let org = access(&mut conn, organisation, Some(&user)).await?;
    policy::authorize(&user, &org, OrgAction::ManageMembers)?;
    let email = normalise_email(&body.email);
    if let Some(problem) = check_email(&email) {
        return Err(ApiError::validation("email", problem));
    }
    let (token, hash) = new_opaque_token()?;
    let invitation_id = Uuid::now_v7();
    let expires_at = Utc::now() + Duration::days(INVITATION_TTL_DAYS);
    let invitation = queries::NewInvitation {
        id: invitation_id,
        organisation_id: organisation,
        email: &email,
        role: body.role.as_str(),
        token_hash: &hash,
        invited_by: user.id,
        expires_at,
    };
    queries::insert_invitation(&mut conn, &invitation).await?;
    Ok(HttpResponse::Created().json(Invitation {
        id: invitation_id,
        organisation_id: organisation,
        email,
        role: body.role,
        token,
        expires_at,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct Joined {
    pub organisation_id: Uuid,
    pub role: Role,
}

/// Accept an invitation addressed to the caller's email.
#[utoipa::path(
    tag = "organisations",
    operation_id = "accept_invitation",
    security(("bearer" = [])),
    request_body = AcceptInvitation,
    responses(
        (status = 200, description = "The caller is now a member", body = Joined),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No valid invitation for the caller with this token", body = Problem, content_type = PROBLEM),
        (status = 422, description = "Missing field", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[post("/invitations/accept")]
pub async fn accept_invitation(
    state: web::Data<AppState>,
    user: AuthUser,
    Json(body): Json<AcceptInvitation>,
) -> ApiResult<web::Json<Joined>> {
    let mut conn = state.pool.get().await?;
    match queries::accept_invitation(&mut conn, &hash_token(&body.token), user.id, &user.email)
        .await?
    {
        Acceptance::Joined { organisation, role } => Ok(web::Json(Joined {
            organisation_id: organisation,
            role,
        })),
        Acceptance::Invalid => Err(ApiError::not_found(
            "no open invitation for your email has this token (used, expired or for someone else)",
        )),
    }
}

fn actor(user: &AuthUser) -> Actor {
    Actor {
        user: user.id,
        is_admin: user.is_admin,
    }
}

fn membership_outcome(outcome: MembershipChange) -> ApiResult<()> {
    match outcome {
        MembershipChange::Done => Ok(()),
        MembershipChange::NotAMember => Err(ApiError::not_found("this user is not a member")),
        MembershipChange::NotAllowed => Err(ApiError::Forbidden(
            "only the organisation's owners may do this".into(),
        )),
        MembershipChange::LastOwner => Err(ApiError::Conflict(
            "the organisation would have no owner left; make someone else owner first".into(),
        )),
    }
}

/// Change a member's role (owners). The last owner cannot be demoted.
#[utoipa::path(
    tag = "organisations",
    operation_id = "change_member_role",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "Organisation id"),
        ("user_id" = Uuid, Path, description = "Member's user id"),
    ),
    request_body = ChangeRole,
    responses(
        (status = 200, description = "Members after the change", body = Vec<Member>),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 403, description = "Members who are not owners", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such organisation or member", body = Problem, content_type = PROBLEM),
        (status = 409, description = "It would leave no owner", body = Problem, content_type = PROBLEM),
        (status = 422, description = "Unknown role", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[patch("/organisations/{id}/members/{user_id}")]
pub async fn change_member_role(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(Uuid, Uuid)>,
    Json(body): Json<ChangeRole>,
) -> ApiResult<web::Json<Vec<Member>>> {
    let (organisation, member) = path.into_inner();
    let mut conn = state.pool.get().await?;
    let org = access(&mut conn, organisation, Some(&user)).await?;
    policy::authorize(&user, &org, OrgAction::ManageMembers)?;
    membership_outcome(
        queries::change_membership(
            &mut conn,
            organisation,
            &actor(&user),
            member,
            Some(body.role),
        )
        .await?,
    )?;
    members(&mut conn, organisation).await.map(web::Json)
}

/// Remove a member (owners), or leave (anyone, for themselves). The last
/// owner cannot leave.
#[utoipa::path(
    tag = "organisations",
    operation_id = "remove_member",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "Organisation id"),
        ("user_id" = Uuid, Path, description = "Member's user id"),
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 403, description = "Removing someone else without being an owner", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such organisation or member", body = Problem, content_type = PROBLEM),
        (status = 409, description = "The last owner cannot leave", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[delete("/organisations/{id}/members/{user_id}")]
pub async fn remove_member(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (organisation, member) = path.into_inner();
    let mut conn = state.pool.get().await?;
    let org = access(&mut conn, organisation, Some(&user)).await?;
    let action = if member == user.id {
        OrgAction::Leave
    } else {
        OrgAction::ManageMembers
    };
    policy::authorize(&user, &org, action)?;
    membership_outcome(
        queries::change_membership(&mut conn, organisation, &actor(&user), member, None).await?,
    )?;
    Ok(HttpResponse::NoContent().finish())
}

/// Verify, suspend or reset an organisation (platform administrators).
#[utoipa::path(
    tag = "admin",
    operation_id = "set_organisation_status",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Organisation id")),
    request_body = ChangeStatus,
    responses(
        (status = 200, description = "The organisation with its new status", body = Organisation),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 403, description = "Not an administrator", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such organisation", body = Problem, content_type = PROBLEM),
        (status = 409, description = "Another live organisation has this SIRET", body = Problem, content_type = PROBLEM),
        (status = 422, description = "Unknown status", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[post("/admin/organisations/{id}/status")]
pub async fn set_organisation_status(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    Json(body): Json<ChangeStatus>,
) -> ApiResult<web::Json<Organisation>> {
    policy::require_admin(&user)?;
    let id = id.into_inner();
    let mut conn = state.pool.get().await?;
    access(&mut conn, id, Some(&user)).await?;
    queries::set_status(&mut conn, id, body.status)
        .await
        .map_err(|e| match ApiError::from(e) {
            ApiError::Conflict(_) => ApiError::Conflict(
                "another organisation with this SIRET is already verified or suspended".into(),
            ),
            other => other,
        })?;
    tracing::info!(organisation = %id, status = %body.status, admin = %user.id, "organisation status changed");
    Ok(web::Json(load_one(&mut conn, id, true).await?))
}
