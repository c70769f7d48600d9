//! The request context: a request id on every response and log line, one
//! access-log line per request, and the Prometheus request metrics.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};
use tracing::Instrument;

pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the current request, also available to handlers as an extension.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// Keeps a caller's id when it is short and plain (so that ids can be followed
/// across services), otherwise makes a new one.
fn request_id(req: &ServiceRequest) -> String {
    req.headers()
        .get(&REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            (1..=64).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string())
}

pub async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let id = request_id(&req);
    req.extensions_mut().insert(RequestId(id.clone()));
    let method = req.method().to_string();
    // Responses about someone (authenticated, or carrying tokens) must not
    // be kept by any cache.
    let private = req
        .headers()
        .contains_key(actix_web::http::header::AUTHORIZATION)
        || req.path().starts_with("/api/v1/auth/");
    let span =
        tracing::info_span!("request", request_id = %id, method = %method, path = %req.path());
    let started = Instant::now();

    let mut res = next.call(req).instrument(span.clone()).await?;

    let elapsed = started.elapsed();
    let status = res.status();
    // The route pattern, not the raw path, so that metrics stay low-cardinality.
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    metrics::counter!("http_requests_total",
        "method" => method.clone(), "route" => route.clone(), "status" => status.as_str().to_owned())
    .increment(1);
    metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route)
        .record(elapsed.as_secs_f64());
    span.in_scope(|| {
        tracing::info!(
            status = status.as_u16(),
            elapsed_us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
            "request served"
        );
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    if private {
        res.headers_mut().insert(
            actix_web::http::header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        );
    }
    Ok(res)
}
