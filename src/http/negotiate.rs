//! Content negotiation for endpoints that answer JSON or CSV.

use actix_web::HttpRequest;
use actix_web::http::header;

use crate::error::{ApiError, ApiResult};

/// CSV when `format=csv`, or without `format` when `Accept` asks for
/// `text/csv`; JSON otherwise.
pub fn wants_csv(req: &HttpRequest, format: Option<&str>) -> ApiResult<bool> {
    match format {
        Some("csv") => Ok(true),
        Some("json") => Ok(false),
        Some(_) => Err(ApiError::invalid_parameter("format", "must be json or csv")),
        None => Ok(req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/csv"))),
    }
}

/// A CSV attachment named `filename`.
pub fn csv_response(filename: &str, body: Vec<u8>) -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ))
        .body(body)
}
