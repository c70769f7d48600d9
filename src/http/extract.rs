//! Extractors whose failures are problem+json that say which parameter or
//! field is wrong and why.

use std::future::{Ready, ready};

use actix_web::error::{JsonPayloadError, PathError};
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use serde::de::DeserializeOwned;

use crate::error::{ApiError, FieldError};

/// Query string deserialised into `T`; errors name the parameter.
/// Use `#[serde(deny_unknown_fields)]` on `T` so that typos are reported too.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let pairs = form_urlencoded::parse(req.query_string().as_bytes());
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

/// The JSON body configuration of the whole API: size limit and errors.
pub fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .error_handler(move |error, _| json_error(error, limit).into())
}

fn json_error(error: JsonPayloadError, limit: usize) -> ApiError {
    match error {
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            ApiError::PayloadTooLarge { limit }
        }
        JsonPayloadError::ContentType => ApiError::UnsupportedMediaType(
            "the body must be JSON (Content-Type: application/json)".into(),
        ),
        JsonPayloadError::Deserialize(e) if e.is_data() => {
            ApiError::Validation(vec![FieldError::new("body", e.to_string())])
        }
        JsonPayloadError::Deserialize(e) => ApiError::MalformedBody(format!("malformed JSON: {e}")),
        other => ApiError::MalformedBody(other.to_string()),
    }
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

    use super::json_config;

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Basket {
        #[allow(dead_code)]
        quantity: u32,
    }

    async fn accept(_: web::Json<Basket>) -> HttpResponse {
        HttpResponse::NoContent().finish()
    }

    /// Posts `body` to an app using the API's JSON configuration (limit 64
    /// bytes) and returns the status and the problem's type slug.
    async fn post(content_type: &str, body: &str) -> (u16, String) {
        let app = test::init_service(
            App::new()
                .app_data(json_config(64))
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
