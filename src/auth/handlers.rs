//! HTTP handlers of `/api/v1/auth/*` and `/api/v1/me`.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::extract::AuthUser;
use super::password::check_strength;
use super::queries::{self, NewUser, Rotation};
use super::throttle;
use super::token::{ACCESS_TTL_SECONDS, hash_token, new_opaque_token};
use crate::AppState;
use crate::codes::{OrganisationKind, OrganisationStatus, Role, from_db};
use crate::error::{ApiError, ApiResult, FieldError, Problem, text_fits};
use crate::http::extract::Json;
use crate::ids::{check_email, normalise_email};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "marie@ferme-envol.fr", "password": "les carottes de l'Envol poussent", "display_name": "Marie Dupont"}))]
pub struct RegisterRequest {
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    /// 12 to 128 characters, no composition rules, not easy to guess.
    #[schema(min_length = 12, max_length = 128)]
    pub password: String,
    /// 1 to 100 characters.
    #[schema(min_length = 1, max_length = 100)]
    pub display_name: String,
}

#[derive(Serialize, ToSchema)]
pub struct UserView {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    /// Platform administrator (verifies organisations).
    pub is_admin: bool,
    pub created_at: DateTime<Utc>,
}

impl From<queries::User> for UserView {
    fn from(user: queries::User) -> Self {
        Self {
            id: user.id,
            email: user.email,
            display_name: user.display_name,
            is_admin: user.is_admin,
            created_at: user.created_at,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "marie@ferme-envol.fr", "password": "les carottes de l'Envol poussent"}))]
pub struct LoginRequest {
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    pub password: String,
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"access_token": "eyJhbGciOiJIUzI1NiJ9…", "refresh_token": "9c1f…e2", "token_type": "Bearer", "expires_in": 900}))]
pub struct TokenPair {
    /// JWT to send as `Authorization: Bearer …`.
    pub access_token: String,
    /// Opaque, single use: trade it at `/auth/refresh` for a new pair.
    pub refresh_token: String,
    pub token_type: &'static str,
    /// Lifetime of the access token, in seconds.
    pub expires_in: i64,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    pub new_password: String,
}

#[derive(Clone, Serialize, ToSchema)]
pub struct MembershipView {
    pub organisation_id: Uuid,
    pub organisation_name: String,
    pub kind: OrganisationKind,
    pub status: OrganisationStatus,
    pub role: Role,
}

#[derive(Serialize, ToSchema)]
pub struct Me {
    pub user: UserView,
    /// The organisation to act as (`buyer_id` of a checkout, the
    /// `{id}` of `/organisations/{id}/offers`): the caller's only verified
    /// organisation; null when there is none or several (then choose among
    /// `memberships`).
    pub organisation: Option<MembershipView>,
    pub memberships: Vec<MembershipView>,
}

fn token_pair(
    state: &AppState,
    user_id: Uuid,
    session_id: Uuid,
    refresh_token: String,
) -> ApiResult<TokenPair> {
    Ok(TokenPair {
        access_token: state.auth.keys.issue_access(user_id, session_id)?,
        refresh_token,
        token_type: "Bearer",
        expires_in: ACCESS_TTL_SECONDS,
    })
}

/// Create an account.
#[utoipa::path(
    tag = "auth",
    operation_id = "register",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "Account created", body = UserView,
            headers(("Location" = String, description = "`/api/v1/me`"))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "An account with this email exists", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid email, name or weak password", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many registrations from this address (20 an hour; IPv6 per /64)", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/auth/register")]
pub async fn register(
    req: HttpRequest,
    state: web::Data<AppState>,
    Json(body): Json<RegisterRequest>,
) -> ApiResult<HttpResponse> {
    let email = normalise_email(&body.email);
    let display_name = body.display_name.trim();
    let mut errors = Vec::new();
    if let Some(problem) = check_email(&email) {
        errors.push(FieldError::new("email", problem));
    }
    if !text_fits(&body.display_name, 1, 100) {
        errors.push(FieldError::new(
            "display_name",
            "must be 1 to 100 characters",
        ));
    }
    if let Err(ApiError::Validation(password_errors)) =
        check_strength("password", &body.password, &[&email, display_name])
    {
        errors.extend(password_errors);
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let mut conn = state.pool.get().await?;
    throttle::register(&mut conn, state.auth.client_address(&req)).await?;
    let password_hash = state.auth.hasher.hash(&body.password).await?;
    let new_user = NewUser {
        id: Uuid::now_v7(),
        email: &email,
        display_name,
        password_hash: &password_hash,
        is_admin: false,
    };
    let user =
        queries::insert_user(&mut conn, &new_user)
            .await
            .map_err(|e| match ApiError::from(e) {
                ApiError::Conflict(_) => {
                    ApiError::Conflict("an account with this email already exists".into())
                }
                other => other,
            })?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", "/api/v1/me"))
        .json(UserView::from(user)))
}

/// Log in: a new session and its first token pair.
///
/// Failures are throttled per account and client address, without locking
/// out the others behind a shared address (429 with `Retry-After`; see
/// `auth::throttle`); unknown emails and wrong passwords get the same answer.
#[utoipa::path(
    tag = "auth",
    operation_id = "login",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = TokenPair),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Wrong email or password", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Missing field", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failures from this address", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/auth/login")]
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    Json(body): Json<LoginRequest>,
) -> ApiResult<web::Json<TokenPair>> {
    let email = normalise_email(&body.email);
    let address = state.auth.client_address(&req);
    let mut conn = state.pool.get().await?;
    let attempt = throttle::start(&mut conn, &email, address).await?;
    let user = queries::find_user_by_email(&mut conn, &email).await?;
    let matches = state
        .auth
        .hasher
        .verify(
            &body.password,
            user.as_ref().map(|u| u.password_hash.as_str()),
        )
        .await?;
    let user = match user {
        Some(user) if matches && user.disabled_at.is_none() => user,
        _ => {
            attempt.failed(&mut conn).await?;
            return Err(ApiError::Unauthorized(
                "the email or the password is wrong".into(),
            ));
        }
    };
    attempt.succeeded(&mut conn).await?;
    let (refresh_token, refresh_hash) = new_opaque_token()?;
    let session_id = queries::open_session(&mut conn, user.id, &refresh_hash).await?;
    Ok(web::Json(token_pair(
        &state,
        user.id,
        session_id,
        refresh_token,
    )?))
}

/// Trade a refresh token for a new pair. Each refresh token works once: a
/// second use revokes the whole session.
#[utoipa::path(
    tag = "auth",
    operation_id = "refresh",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new token pair; the presented refresh token is spent", body = TokenPair),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Unknown, expired, revoked or reused refresh token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Missing field", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/auth/refresh")]
pub async fn refresh(
    state: web::Data<AppState>,
    Json(body): Json<RefreshRequest>,
) -> ApiResult<web::Json<TokenPair>> {
    let (new_token, new_hash) = new_opaque_token()?;
    let mut conn = state.pool.get().await?;
    match queries::rotate_refresh_token(&mut conn, &hash_token(&body.refresh_token), &new_hash)
        .await?
    {
        Rotation::Rotated {
            user_id,
            session_id,
        } => Ok(web::Json(token_pair(
            &state, user_id, session_id, new_token,
        )?)),
        Rotation::ReuseDetected => Err(ApiError::Unauthorized(
            "this refresh token was already used; its session is revoked: log in again".into(),
        )),
        Rotation::Invalid => Err(ApiError::Unauthorized(
            "the refresh token is invalid or expired".into(),
        )),
    }
}

/// Log out: the session ends, its access and refresh tokens stop working.
#[utoipa::path(
    tag = "auth",
    operation_id = "logout",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Logged out"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/auth/logout")]
pub async fn logout(state: web::Data<AppState>, user: AuthUser) -> ApiResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    queries::revoke_session(&mut conn, user.session_id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Change one's password; every other session is closed.
#[utoipa::path(
    tag = "auth",
    operation_id = "change_password",
    security(("bearer" = [])),
    request_body = ChangePasswordRequest,
    responses(
        (status = 204, description = "Password changed; other sessions revoked"),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Wrong current password", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Weak new password", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong current passwords", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/auth/password")]
pub async fn change_password(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: AuthUser,
    Json(body): Json<ChangePasswordRequest>,
) -> ApiResult<HttpResponse> {
    let address = state.auth.client_address(&req);
    let mut conn = state.pool.get().await?;
    let attempt = throttle::start(&mut conn, &user.email, address).await?;
    let current = queries::find_user(&mut conn, user.id).await?;
    if !state
        .auth
        .hasher
        .verify(&body.current_password, Some(&current.password_hash))
        .await?
    {
        attempt.failed(&mut conn).await?;
        // 403, not 401: the session is fine, the proof is not.
        return Err(ApiError::Forbidden("the current password is wrong".into()));
    }
    attempt.succeeded(&mut conn).await?;
    check_strength(
        "new_password",
        &body.new_password,
        &[&current.email, &current.display_name],
    )?;
    let hash = state.auth.hasher.hash(&body.new_password).await?;
    queries::change_password(&mut conn, user.id, &hash, user.session_id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The caller and the organisations they belong to.
#[utoipa::path(
    tag = "auth",
    operation_id = "me",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller", body = Me),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    ),
)]
#[get("/me")]
pub async fn me(state: web::Data<AppState>, user: AuthUser) -> ApiResult<web::Json<Me>> {
    let mut conn = state.pool.get().await?;
    let account = queries::find_user(&mut conn, user.id).await?;
    let memberships = queries::memberships_of(&mut conn, user.id)
        .await?
        .into_iter()
        .map(|(organisation_id, organisation_name, kind, status, role)| {
            Ok(MembershipView {
                organisation_id,
                organisation_name,
                kind: from_db(&kind)?,
                status: from_db(&status)?,
                role: from_db(&role)?,
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let mut verified = memberships
        .iter()
        .filter(|m| m.status == OrganisationStatus::Verified);
    let organisation = match (verified.next(), verified.next()) {
        (Some(only), None) => Some(only.clone()),
        _ => None,
    };
    Ok(web::Json(Me {
        user: account.into(),
        organisation,
        memberships,
    }))
}
