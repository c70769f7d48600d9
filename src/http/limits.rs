//! Limits on the request head and the declared body, checked before routing.
//!
//! The HTTP/1 parser has limits of its own (a head of 128 KiB, 96 header
//! fields, a target of 65,534 bytes) and answers past them by itself, with an
//! empty body. These limits sit below the parser's, so that an oversized
//! request the parser lets through is refused here as a problem document.
//! A body declared larger than the body limit is refused the same way
//! whatever its media type and whichever route it is sent to.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::CONTENT_LENGTH;
use actix_web::middleware::Next;

use crate::error::ApiError;
use crate::http::extract::{BodyLimit, DEFAULT_BODY_LIMIT};

/// Longest request target (path and query): 414 beyond.
pub const MAX_TARGET_BYTES: usize = 8 * 1024;
/// Most header fields in one request: 431 beyond.
pub const MAX_HEADER_FIELDS: usize = 64;
/// Largest header section (names, values and their separators): 431 beyond.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

pub async fn request_limits(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    if let Some(refusal) = refusal(&req) {
        return Ok(req.error_response(refusal).map_into_right_body());
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

fn refusal(req: &ServiceRequest) -> Option<ApiError> {
    let target = req.uri().path_and_query().map_or(0, |t| t.as_str().len());
    if target > MAX_TARGET_BYTES {
        return Some(ApiError::UriTooLong {
            limit: MAX_TARGET_BYTES,
        });
    }
    let headers = req.headers();
    if headers.len() > MAX_HEADER_FIELDS {
        return Some(ApiError::HeaderFieldsTooLarge(format!(
            "the request has {} header fields; at most {MAX_HEADER_FIELDS} are accepted",
            headers.len()
        )));
    }
    // As on the wire: `name: value\r\n`.
    let size: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    if size > MAX_HEADER_BYTES {
        return Some(ApiError::HeaderFieldsTooLarge(format!(
            "the request's header fields take {size} bytes; at most {MAX_HEADER_BYTES} are accepted"
        )));
    }
    let limit = req
        .app_data::<BodyLimit>()
        .map_or(DEFAULT_BODY_LIMIT, |l| l.0);
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    // A chunked body has no declared length: the extractors stop it at the limit.
    if declared.is_some_and(|length| length > u64::try_from(limit).unwrap_or(u64::MAX)) {
        return Some(ApiError::PayloadTooLarge { limit });
    }
    None
}
