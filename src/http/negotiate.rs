//! Content negotiation for endpoints that answer JSON or CSV.

use actix_web::HttpRequest;
use actix_web::http::header;

use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult};

/// The `format` query parameter of endpoints that answer JSON or CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Json,
    Csv,
}

/// CSV when `format=csv`, or without `format` when `Accept` asks for
/// `text/csv`; JSON otherwise.
pub fn wants_csv(req: &HttpRequest, format: Option<Format>) -> bool {
    match format {
        Some(format) => format == Format::Csv,
        None => req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/csv")),
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

/// A CSV table in memory: the header, then the rows (comma-separated,
/// quoted where needed, UTF-8).
pub fn csv_table<R, F>(header: &[&str], rows: R) -> ApiResult<Vec<u8>>
where
    R: IntoIterator<Item = Vec<F>>,
    F: AsRef<[u8]>,
{
    let fail = |e: csv::Error| ApiError::Internal(e.into());
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(header).map_err(fail)?;
    for row in rows {
        writer.write_record(row).map_err(fail)?;
    }
    writer
        .into_inner()
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("csv: {e}")))
}

/// A text cell that a spreadsheet will not run as a formula: text another
/// organisation wrote (a product, a name) starting with `=`, `+`, `-`, `@`,
/// tab or carriage return gets a leading apostrophe.
pub fn csv_text(value: &str) -> std::borrow::Cow<'_, str> {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}").into()
    } else {
        value.into()
    }
}

#[cfg(test)]
mod tests {
    use super::csv_text;

    #[test]
    fn formulas_are_defused_and_plain_text_is_kept() {
        assert_eq!(csv_text("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(csv_text("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_text("Carottes de l'Envol"), "Carottes de l'Envol");
    }
}
