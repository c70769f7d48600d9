//! CSV answers: the attachment and the table (the CSV forms of reports are
//! operations of their own, `….csv`, beside their JSON forms).

use actix_web::http::header;

use crate::error::{ApiError, ApiResult};

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
