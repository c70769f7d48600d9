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
                    let field = match e.path().to_string() {
                        path if path == "." => "query".to_owned(),
                        path => path,
                    };
                    ApiError::invalid_parameter(field, e.into_inner().to_string())
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
        let limit = req
            .app_data::<BodyLimit>()
            .map_or(DEFAULT_BODY_LIMIT, |l| l.0);
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            if !is_json {
                return Err(ApiError::UnsupportedMediaType(
                    "the body must be JSON (Content-Type: application/json)".into(),
                ));
            }
            let bytes =
                body.await
                    .map_err(|e| match e.as_response_error().status_code().as_u16() {
                        413 => ApiError::PayloadTooLarge { limit },
                        _ => ApiError::MalformedBody(format!("cannot read the body: {e}")),
                    })?;
            if contains_escaped_nul(&bytes) {
                return Err(ApiError::validation(
                    "body",
                    "text must not contain NUL characters (\\u0000)",
                ));
            }
            let mut deserializer = serde_json::Deserializer::from_slice(&bytes);
            let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
                let path = e.path().to_string();
                let inner = e.into_inner();
                if inner.is_data() {
                    let field = if path == "." { "body".to_owned() } else { path };
                    ApiError::validation(field, inner.to_string())
                } else {
                    ApiError::MalformedBody(format!("malformed JSON: {inner}"))
                }
            })?;
            deserializer
                .end()
                .map_err(|e| ApiError::MalformedBody(format!("malformed JSON: {e}")))?;
            Ok(Json(value))
        })
    }
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

const DEFAULT_BODY_LIMIT: usize = 1_048_576;

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
