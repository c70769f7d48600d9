//! Extractors whose failures are problem+json that say which parameter or
//! field is wrong and why.

use std::future::{Ready, ready};

use actix_web::error::PathError;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// Query string deserialised into `T`; errors name the parameter.
/// Use `#[serde(deny_unknown_fields)]` on `T` so that typos are reported too.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let pairs = form_urlencoded::parse(req.query_string().as_bytes());
        // PostgreSQL text cannot hold NUL: refuse it here, by name.
        if let Some((name, _)) = pairs.clone().find(|(_, value)| value.contains('\0')) {
            return ready(Err(ApiError::invalid_parameter(
                name,
                "must not contain NUL characters",
            )));
        }
        let deserializer = serde_urlencoded::Deserializer::new(pairs);
        ready(
            serde_path_to_error::deserialize(deserializer)
                .map(Query)
                .map_err(|e| {
                    let path = e.path().to_string();
                    let (field, message) = teach(&path, &e.into_inner().to_string());
                    ApiError::invalid_parameter(field.unwrap_or_else(|| "query".into()), message)
                }),
        )
    }
}

/// A JSON body deserialised into `T`. Malformed JSON is 400; JSON of the
/// wrong shape is 422 naming the field (`lines[2].quantity`), including
/// unknown fields when `T` has `#[serde(deny_unknown_fields)]`.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = futures_util::future::LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let is_json = req
            .headers()
            .get(actix_web::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<mime::Mime>().ok())
            .is_some_and(|m| m.subtype() == mime::JSON || m.suffix() == Some(mime::JSON));
        let limit = body_limit(req);
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            if !is_json {
                return Err(ApiError::UnsupportedMediaType(
                    "the body must be JSON (Content-Type: application/json)".into(),
                ));
            }
            let bytes = body.await.map_err(|e| unreadable(&e, limit))?;
            if contains_escaped_nul(&bytes) {
                return Err(ApiError::validation(
                    "body",
                    "text must not contain NUL characters (\\u0000)",
                ));
            }
            let problem = |e: serde_path_to_error::Error<serde_json::Error>| {
                let path = e.path().to_string();
                let inner = e.into_inner();
                if inner.is_data() {
                    let (field, message) = teach(&path, &inner.to_string());
                    ApiError::validation(field.unwrap_or_else(|| "body".into()), message)
                } else {
                    ApiError::MalformedBody(format!("malformed JSON: {inner}"))
                }
            };
            let mut deserializer = serde_json::Deserializer::from_slice(&bytes);
            let value = match serde_path_to_error::deserialize(&mut deserializer) {
                Ok(value) => value,
                // `3.0` where an integer is due: read again with integral
                // floats as integers (rare, so the common path parses once).
                Err(e)
                    if e.inner()
                        .to_string()
                        .starts_with("invalid type: floating point") =>
                {
                    let mut json: serde_json::Value = serde_json::from_slice(&bytes)
                        .map_err(|e| ApiError::MalformedBody(format!("malformed JSON: {e}")))?;
                    integral_floats_as_integers(&mut json);
                    return serde_path_to_error::deserialize(json)
                        .map(Json)
                        .map_err(problem);
                }
                Err(e) => return Err(problem(e)),
            };
            deserializer
                .end()
                .map_err(|e| ApiError::MalformedBody(format!("malformed JSON: {e}")))?;
            Ok(Json(value))
        })
    }
}

/// JSON (and JSON Schema) count `2.0` as the integer 2: so does the API.
/// A number with a fraction stays a float, refused where an integer is due.
fn integral_floats_as_integers(value: &mut serde_json::Value) {
    use serde_json::Value;
    /// Beyond 2^53 a float no longer holds every integer exactly.
    const EXACT: f64 = 9_007_199_254_740_992.0;
    match value {
        Value::Number(n) => {
            if let Some(f) = n.as_f64().filter(|_| n.is_f64())
                && f.fract() == 0.0
                && f.abs() <= EXACT
            {
                // Exact: |f| is at most 2^53, well within i64.
                #[allow(clippy::cast_possible_truncation)]
                let whole = f as i64;
                *value = Value::from(whole);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_floats_as_integers),
        Value::Object(fields) => fields.values_mut().for_each(integral_floats_as_integers),
        _ => {}
    }
}

/// A body taken whole as bytes (a CSV import), within the body limit; its
/// failures are problems like the JSON extractor's, never actix's plain text.
pub struct Body(pub web::Bytes);

impl FromRequest for Body {
    type Error = ApiError;
    type Future = futures_util::future::LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = body_limit(req);
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move { body.await.map(Body).map_err(|e| unreadable(&e, limit)) })
    }
}

fn body_limit(req: &HttpRequest) -> usize {
    req.app_data::<BodyLimit>()
        .map_or(DEFAULT_BODY_LIMIT, |l| l.0)
}

/// Why a body could not be read: too large, or cut off or garbled on the way.
fn unreadable(error: &actix_web::Error, limit: usize) -> ApiError {
    match error.as_response_error().status_code().as_u16() {
        413 => ApiError::PayloadTooLarge { limit },
        _ => ApiError::MalformedBody(format!("cannot read the body: {error}")),
    }
}

/// Turns serde's message about the value at `path` (`.` for the whole
/// input) into the field it is about and what to write there. serde names a
/// missing or unknown field only in its message, and describes expected
/// values by Rust type (`u32`); people need the JSON path and a format.
fn teach(path: &str, message: &str) -> (Option<String>, String) {
    // serde_json appends the position; the path says more.
    let message = match message.rsplit_once(" at line ") {
        Some((text, position)) if position.contains(" column ") => text,
        _ => message,
    };
    let at = |name: &str| match path {
        "." => name.to_owned(),
        parent => format!("{parent}.{name}"),
    };
    let quoted = |text: &str| text.split('`').nth(1).map(str::to_owned);
    if let Some(name) = message.strip_prefix("missing field ").and_then(quoted) {
        return (Some(at(&name)), "is required".into());
    }
    if let Some(rest) = message.strip_prefix("unknown field ") {
        let name = quoted(rest).unwrap_or_default();
        let expected = rest.split_once(", expected ").map_or("", |(_, e)| e);
        let message = match expected {
            "" => "is not a field here".to_owned(),
            fields => format!("is not a field here; expected {fields}"),
        };
        // The path already ends with an unknown key.
        let known = path == name || path.ends_with(&format!(".{name}"));
        return (
            Some(if known { path.to_owned() } else { at(&name) }),
            message,
        );
    }
    let field = (path != ".").then(|| path.to_owned());
    (field, explain(message))
}

/// What to write instead, for serde's and its parsers' terse messages.
fn explain(message: &str) -> String {
    const DATE: &str = "a date written YYYY-MM-DD, such as 2026-12-08";
    // chrono's ParseError texts, when a date string does not parse.
    const DATE_ERRORS: [&str; 6] = [
        "input contains invalid characters",
        "premature end of input",
        "trailing input",
        "input is out of range",
        "input is not enough for unique date and time",
        "no possible date and time matching input",
    ];
    // Integer parsing (query strings), from `str::parse`.
    const INTEGER_ERRORS: [&str; 5] = [
        "invalid digit found in string",
        "cannot parse integer from empty string",
        "number too large to fit in target type",
        "number too small to fit in target type",
        "number would be zero for non-zero type",
    ];
    if DATE_ERRORS.contains(&message) {
        return format!("is not a valid date ({message}): expected {DATE}");
    }
    if INTEGER_ERRORS.contains(&message) {
        return format!("expected a whole number, such as 10 ({message})");
    }
    let Some((found, expected)) = message.split_once(", expected ") else {
        return message.to_owned();
    };
    let expected = match expected {
        "u8" | "u16" | "u32" | "u64" | "usize" => "a whole number, 0 or more",
        "i8" | "i16" | "i32" | "i64" | "isize" => "a whole number",
        "f32" | "f64" => "a number",
        "a formatted date string" => DATE,
        "a sequence" => "an array",
        other if other.starts_with("struct ") => "an object",
        other => other,
    };
    format!("{found}; expected {expected}")
}

/// True when a JSON text holds the escape `\u0000` (PostgreSQL text cannot
/// store NUL; a raw NUL byte is already invalid JSON). Escapes are skipped
/// whole, so an escaped backslash followed by `u0000` does not count.
fn contains_escaped_nul(json: &[u8]) -> bool {
    let mut i = 0;
    while i < json.len() {
        if json[i] == b'\\' {
            if json[i + 1..].starts_with(b"u0000") {
                return true;
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    false
}

/// The largest accepted body, in bytes (app data).
#[derive(Clone, Copy)]
pub struct BodyLimit(pub usize);

pub const DEFAULT_BODY_LIMIT: usize = 1_048_576;

/// Bodies over `limit` are refused before being read whole.
pub fn payload_config(limit: usize) -> web::PayloadConfig {
    web::PayloadConfig::new(limit)
}

/// Path segments that do not parse (for example a non-numeric id) mean the
/// resource does not exist.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|error: PathError, _| {
        ApiError::not_found(format!("no such resource ({error})")).into()
    })
}

#[cfg(test)]
mod tests {
    use actix_web::{App, HttpResponse, test, web};
    use serde::Deserialize;

    use super::{BodyLimit, Json, payload_config};

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Basket {
        #[allow(dead_code)]
        quantity: u32,
    }

    async fn accept(_: Json<Basket>) -> HttpResponse {
        HttpResponse::NoContent().finish()
    }

    /// Posts `body` to an app using the API's JSON configuration (limit 64
    /// bytes) and returns the status and the problem's type slug.
    async fn post(content_type: &str, body: &str) -> (u16, String) {
        let app = test::init_service(
            App::new()
                .app_data(payload_config(64))
                .app_data(BodyLimit(64))
                .route("/", web::post().to(accept)),
        )
        .await;
        let request = test::TestRequest::post()
            .uri("/")
            .insert_header(("content-type", content_type))
            .set_payload(body.to_owned())
            .to_request();
        let response = test::call_service(&app, request).await;
        let status = response.status().as_u16();
        if status == 204 {
            return (status, String::new());
        }
        assert_eq!(
            response.headers().get("content-type").unwrap(),
            "application/problem+json"
        );
        let problem: serde_json::Value = test::read_body_json(response).await;
        let slug = problem["type"]
            .as_str()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .to_owned();
        (status, slug)
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Checkout {
        buyer_id: uuid::Uuid,
        delivery_date: chrono::NaiveDate,
        lines: Vec<Line>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Line {
        offer_id: uuid::Uuid,
        count: u32,
    }

    /// The field and message a JSON body's mistake is reported with.
    fn mistake(json: &str) -> (Option<String>, String) {
        let mut de = serde_json::Deserializer::from_str(json);
        let error = serde_path_to_error::deserialize::<_, Checkout>(&mut de).unwrap_err();
        super::teach(&error.path().to_string(), &error.into_inner().to_string())
    }

    const ID: &str = "0193a6f2-7c1e-7d3a-9c51-2f6e8b1d4a10";

    #[actix_web::test]
    async fn body_mistakes_name_the_field_and_what_to_write() {
        let (field, message) = mistake(r#"{"delivery_date": "2026-12-08", "lines": []}"#);
        assert_eq!(field.as_deref(), Some("buyer_id"));
        assert_eq!(message, "is required");

        let body = format!(r#"{{"buyer_id": "{ID}", "delivery_date": "02/12/2026", "lines": []}}"#);
        let (field, message) = mistake(&body);
        assert_eq!(field.as_deref(), Some("delivery_date"));
        assert!(
            message.contains("YYYY-MM-DD, such as 2026-12-08"),
            "{message}"
        );

        let body = format!(
            r#"{{"buyer_id": "{ID}", "delivery_date": "2026-12-08", "lines": [{{"offer_id": "{ID}", "count": "3"}}]}}"#
        );
        let (field, message) = mistake(&body);
        assert_eq!(field.as_deref(), Some("lines[0].count"));
        assert!(message.contains("expected a whole number"), "{message}");

        let body = format!(
            r#"{{"buyer_id": "{ID}", "delivery_date": "2026-12-08", "lines": [{{"offer": "{ID}"}}]}}"#
        );
        let (field, message) = mistake(&body);
        assert_eq!(field.as_deref(), Some("lines[0].offer"));
        assert!(
            message.contains("expected `offer_id` or `count`"),
            "{message}"
        );

        let body =
            format!(r#"{{"buyer_id": "{ID}", "delivery_date": "2026-12-08", "lines": {{}}}}"#);
        let (field, message) = mistake(&body);
        assert_eq!(field.as_deref(), Some("lines"));
        assert!(message.ends_with("expected an array"), "{message}");
    }

    #[actix_web::test]
    async fn json_bodies_fail_with_precise_problems() {
        let json = "application/json";
        assert_eq!(post(json, r#"{"quantity": 3}"#).await, (204, String::new()));
        assert_eq!(
            post(json, r#"{"quantity": "#).await,
            (400, "malformed-body".into())
        );
        assert_eq!(
            post(json, r#"{"quantity": -1}"#).await,
            (422, "validation-failed".into())
        );
        // 3.0 is the integer 3 in JSON Schema; 3.5 is not an integer.
        assert_eq!(
            post(json, r#"{"quantity": 3.0}"#).await,
            (204, String::new())
        );
        assert_eq!(
            post(json, r#"{"quantity": 3.5}"#).await,
            (422, "validation-failed".into())
        );
        assert_eq!(
            post(json, r#"{"quantity": 1, "price": 0}"#).await,
            (422, "validation-failed".into())
        );
        let oversized = format!(r#"{{"quantity": 1, "note": "{}"}}"#, "x".repeat(100));
        assert_eq!(
            post(json, &oversized).await,
            (413, "payload-too-large".into())
        );
        assert_eq!(
            post("text/plain", r#"{"quantity": 3}"#).await,
            (415, "unsupported-media-type".into())
        );
    }
}
