//! The authenticated caller, from a `Bearer` access token whose session is
//! still open and whose user is not disabled.

use actix_web::http::header::AUTHORIZATION;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use futures_util::future::LocalBoxFuture;
use uuid::Uuid;

use super::queries;
use crate::AppState;
use crate::error::ApiError;

#[derive(Debug, Clone)]
pub struct AuthUser {
    pub id: Uuid,
    pub session_id: Uuid,
    pub email: String,
    pub is_admin: bool,
}

/// The caller when a token is given; `None` when none is. A token that is
/// given but invalid is still refused (401), never taken as anonymous.
pub struct MaybeAuthUser(pub Option<AuthUser>);

fn bearer(req: &HttpRequest) -> Option<Result<String, ApiError>> {
    let header = req.headers().get(AUTHORIZATION)?;
    Some(
        header
            .to_str()
            .ok()
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .map(|t| t.trim().to_owned())
            .ok_or_else(|| {
                ApiError::Unauthorized(
                    "the Authorization header must be `Bearer <access token>`".into(),
                )
            }),
    )
}

async fn authenticate(
    state: Option<web::Data<AppState>>,
    token: String,
) -> Result<AuthUser, ApiError> {
    let state = state.ok_or_else(|| ApiError::Internal(anyhow::anyhow!("AppState missing")))?;
    let claims = state.auth.keys.verify_access(&token)?;
    let mut conn = state.pool.get().await?;
    queries::active_session_user(&mut conn, claims.sub, claims.sid)
        .await?
        .ok_or_else(|| ApiError::Unauthorized("the session has ended; log in again".into()))
}

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer(req);
        Box::pin(async move {
            let token = token.unwrap_or_else(|| {
                Err(ApiError::Unauthorized(
                    "a bearer access token is required".into(),
                ))
            })?;
            authenticate(state, token).await
        })
    }
}

impl FromRequest for MaybeAuthUser {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer(req);
        Box::pin(async move {
            match token {
                None => Ok(MaybeAuthUser(None)),
                Some(token) => Ok(MaybeAuthUser(Some(authenticate(state, token?).await?))),
            }
        })
    }
}
