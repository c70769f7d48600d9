//! HTTP plumbing shared by every feature: extractors with problem+json errors,
//! pagination, the request-context middleware, and the 404/405 fallback.

pub mod decimal;
pub mod extract;
pub mod fallback;
pub mod limits;
pub mod middleware;
pub mod negotiate;
pub mod pagination;

use actix_web::HttpResponse;
use actix_web::http::header::ContentType;
use serde::Serialize;

use crate::error::{ApiError, ApiResult};

/// A 200 JSON response written into a buffer of `capacity` bytes: for large
/// bodies whose size is known roughly, it saves the buffer's regrowth
/// (each a copy of everything written so far).
pub fn large_json<T: Serialize>(value: &T, capacity: usize) -> ApiResult<HttpResponse> {
    let mut body = Vec::with_capacity(capacity);
    serde_json::to_writer(&mut body, value).map_err(|e| ApiError::Internal(e.into()))?;
    Ok(HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(body))
}
