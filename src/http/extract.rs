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
