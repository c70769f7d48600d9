//! One error type for the whole API, rendered as RFC 9457 problem+json.
//!
//! Each kind has a stable `type` URI under [`PROBLEM_BASE`]; clients switch on
//! it, never on `title` or `detail`. Internal details (SQL, causes) are logged
//! with the request id and never returned.

use actix_web::http::{Method, StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

pub const PROBLEM_BASE: &str = "https://sesame.example/problems/";
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";
/// Seconds a client should wait before retrying when the database is unavailable.
const RETRY_AFTER_SECONDS: &str = "5";
/// Seconds before retrying an operation whose rows another transaction held:
/// locks are usually brief, and a retry soon most often succeeds.
const BUSY_RETRY_AFTER_SECONDS: &str = "2";

/// Declares [`ProblemKind`] from one table: each kind's slug (the end of its
/// `type` URI), status and title, so that the document's enum of `type`
/// URIs, the answers and the docs' table cannot drift apart.
macro_rules! problem_kinds {
    ($($kind:ident = $slug:literal, $status:ident, $title:literal;)+) => {
        /// Every kind of problem the API answers.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum ProblemKind {
            $($kind),+
        }

        impl ProblemKind {
            pub const ALL: &'static [Self] = &[$(Self::$kind),+];

            /// The end of the `type` URI, stable: clients switch on it.
            pub fn slug(self) -> &'static str {
                match self {
                    $(Self::$kind => $slug),+
                }
            }

            pub fn status(self) -> StatusCode {
                match self {
                    $(Self::$kind => StatusCode::$status),+
                }
            }

            pub fn title(self) -> &'static str {
                match self {
                    $(Self::$kind => $title),+
                }
            }
        }
    };
}

problem_kinds! {
    NotFound = "not-found", NOT_FOUND, "Resource not found";
    Unauthorized = "unauthorized", UNAUTHORIZED, "Authentication required";
    Forbidden = "forbidden", FORBIDDEN, "Action not allowed";
    Conflict = "conflict", CONFLICT, "Conflict with the current state";
    OutOfStock = "out-of-stock", CONFLICT, "Not enough stock";
    DeliveryTerms = "delivery-terms-not-met", UNPROCESSABLE_ENTITY, "The basket misses suppliers' delivery terms";
    ContractMaximum = "contract-maximum-exceeded", CONFLICT, "The contract's maximum amount would be exceeded";
    InvalidTransition = "invalid-transition", CONFLICT, "Transition not allowed from this status";
    IdempotencyKeyReused = "idempotency-key-reused", UNPROCESSABLE_ENTITY, "Idempotency-Key already used for another request";
    ReleaseOverlap = "release-overlap", CONFLICT, "A release already covers part of this period";
    IdempotencyInProgress = "idempotency-in-progress", CONFLICT, "Same request already in progress";
    Busy = "busy", CONFLICT, "Held by another operation";
    LocalPreference = "local-preference-forbidden", UNPROCESSABLE_ENTITY, "A geographic preference is not a lawful award criterion";
    PriceOnly = "price-only-criteria", UNPROCESSABLE_ENTITY, "Price may not be the only award criterion";
    AnswersSealed = "answers-sealed", CONFLICT, "Answers are sealed until the deadline";
    ConsultationClosed = "consultation-closed", CONFLICT, "The consultation no longer takes answers";
    LotDecided = "lot-decided", CONFLICT, "The lot is already decided";
    PreconditionFailed = "stale-version", PRECONDITION_FAILED, "The resource changed since it was read";
    PreconditionRequired = "if-match-required", PRECONDITION_REQUIRED, "If-Match header required";
    TooManyRequests = "too-many-requests", TOO_MANY_REQUESTS, "Too many requests";
    MethodNotAllowed = "method-not-allowed", METHOD_NOT_ALLOWED, "Method not allowed";
    MalformedBody = "malformed-body", BAD_REQUEST, "Malformed request body";
    InvalidParameters = "invalid-parameter", BAD_REQUEST, "Invalid query parameter";
    Validation = "validation-failed", UNPROCESSABLE_ENTITY, "Validation failed";
    PayloadTooLarge = "payload-too-large", PAYLOAD_TOO_LARGE, "Request body too large";
    UriTooLong = "uri-too-long", URI_TOO_LONG, "Request target too long";
    HeaderFieldsTooLarge = "request-header-fields-too-large", REQUEST_HEADER_FIELDS_TOO_LARGE, "Request header fields too large";
    UnsupportedMediaType = "unsupported-media-type", UNSUPPORTED_MEDIA_TYPE, "Unsupported media type";
    Unavailable = "service-unavailable", SERVICE_UNAVAILABLE, "Service temporarily unavailable";
    AtCapacity = "at-capacity", SERVICE_UNAVAILABLE, "Too many of these at once";
    NotReady = "not-ready", SERVICE_UNAVAILABLE, "Service not ready";
    Internal = "internal-error", INTERNAL_SERVER_ERROR, "Internal server error";
}

impl ProblemKind {
    /// The `type` URI of problems of this kind.
    pub fn uri(self) -> String {
        format!("{PROBLEM_BASE}{}", self.slug())
    }
}

/// `Problem.type`: the URI of one of [`ProblemKind::ALL`].
fn problem_type_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .format(Some(utoipa::openapi::SchemaFormat::Custom("uri".into())))
        .enum_values(Some(ProblemKind::ALL.iter().map(|k| k.uri())))
        .description(Some(
            "Stable URI identifying the kind of problem: switch on it.",
        ))
        .build()
}

/// An RFC 9457 problem document.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "https://sesame.example/problems/invalid-parameter",
    "title": "Invalid query parameter",
    "status": 400,
    "detail": "limit: must be between 1 and 200",
    "errors": [{"field": "limit", "message": "must be between 1 and 200"}]
}))]
pub struct Problem {
    #[serde(rename = "type")]
    #[schema(schema_with = problem_type_schema)]
    pub problem_type: String,
    /// Short human-readable summary of the kind of problem.
    pub title: String,
    /// HTTP status code.
    pub status: u16,
    /// Human-readable explanation of this occurrence.
    pub detail: String,
    /// One entry per offending field or parameter, when there are any.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// `out-of-stock`: each short line of the basket and what is available.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub available: Vec<Shortage>,
    /// `delivery-terms-not-met`: each supplier part of the basket that misses
    /// its supplier's delivery terms, with every rule it misses.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<TermsBreach>,
    /// `contract-maximum-exceeded`: each contract the basket would take past
    /// its maximum, and what remains of it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub contracts: Vec<ContractOverrun>,
    /// `invalid-transition`: what the caller may do with the order now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed: Option<Vec<AllowedTransition>>,
}

/// A basket line that asks for more than the offer's stock.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Shortage {
    /// Index of the line in the basket, from 0.
    pub line: usize,
    pub offer_id: uuid::Uuid,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$", value_type = String, example = "12")]
    pub requested: rust_decimal::Decimal,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$", value_type = String, example = "7.5")]
    pub available: rust_decimal::Decimal,
}

/// A supplier part of a basket that misses its supplier's delivery terms.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TermsBreach {
    pub supplier_id: uuid::Uuid,
    pub supplier_name: String,
    /// The part's amount HT, in cents.
    pub amount_ht_cents: i64,
    pub rules: Vec<MissedRule>,
}

/// One delivery rule a basket part misses.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct MissedRule {
    /// `minimum_order`, `delivery_day`, `cutoff` or `zone`.
    #[schema(example = "minimum_order")]
    pub rule: &'static str,
    #[schema(example = "the minimum order is 80.00 € HT: 23.50 € HT short")]
    pub message: String,
    /// `minimum_order`: how much HT is missing, in cents.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shortfall_ht_cents: Option<i64>,
    /// `cutoff`: when orders for that day closed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cutoff_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// A contract a basket would take past its maximum amount.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ContractOverrun {
    pub contract_id: uuid::Uuid,
    pub number: String,
    pub max_amount_ht_cents: i64,
    /// What orders not cancelled or rejected already take, HT.
    pub consumed_ht_cents: i64,
    pub remaining_ht_cents: i64,
    /// What this basket asks under the contract, HT.
    pub requested_ht_cents: i64,
}

/// A transition the caller may make: the action (the endpoint
/// `POST /api/v1/orders/{id}/{action}`) and the status it leads to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct AllowedTransition {
    #[schema(example = "cancel")]
    pub action: &'static str,
    pub to: crate::codes::OrderStatus,
}

/// What is wrong with one field of a body or one query parameter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// Name of the parameter, or path of the field in the body (`lines[2].quantity`).
    pub field: String,
    pub message: String,
}

/// Adds an error unless `value` is a required text of 1 to `max`
/// characters ([`text_fits`]).
pub fn check_text(errors: &mut Vec<FieldError>, field: &str, value: &str, max: usize) {
    if !text_fits(value, 1, max) {
        errors.push(FieldError::new(
            field,
            format!("must be 1 to {max} characters"),
        ));
    }
}

/// Whether `value` is a text of `min` to `max` characters as sent (JSON
/// Schema's `minLength` and `maxLength` count them so), without NUL, and,
/// when required (`min` ≥ 1), not blank: the document states the same rule
/// with [`NOT_BLANK`], so that a client's validator and the service agree on
/// every string.
pub fn text_fits(value: &str, min: usize, max: usize) -> bool {
    let length = value.chars().count();
    (min..=max).contains(&length)
        && !value.contains('\0')
        && (min == 0 || !value.chars().all(is_blank))
}

/// A character a required text may not consist of only: white space (as
/// Rust has it) and the byte order mark, together JSON Schema's `\s` plus
/// U+0085.
pub fn is_blank(c: char) -> bool {
    c.is_whitespace() || c == '\u{feff}'
}

/// The pattern of a required text: no NUL, and a character that is not
/// [`is_blank`], spelt out so that every regex engine reads it alike.
pub const NOT_BLANK: &str = "^[^\\u0000]*[^\\u0000\\t\\n\\u000b\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff][^\\u0000]*$";

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    #[error("not enough stock for {} line(s) of the basket", .0.len())]
    OutOfStock(Vec<Shortage>),
    #[error("{} supplier part(s) of the basket miss their delivery terms", .0.len())]
    DeliveryTerms(Vec<TermsBreach>),
    #[error("the basket would take {} contract(s) past their maximum amount", .0.len())]
    ContractMaximum(Vec<ContractOverrun>),
    #[error("{detail}")]
    InvalidTransition {
        detail: String,
        allowed: Vec<AllowedTransition>,
    },
    #[error("{0}")]
    IdempotencyKeyReused(String),
    #[error("{0}")]
    ReleaseOverlap(String),
    #[error("a request with this Idempotency-Key is still being processed; retry in a moment")]
    IdempotencyInProgress,
    #[error("{0}")]
    Busy(String),
    /// A geographic or "local" award criterion (R2111-7).
    #[error("{0}")]
    LocalPreference(String),
    /// Price as the only award criterion (décret 2022-767).
    #[error("{0}")]
    PriceOnly(String),
    /// Answers' prices asked before the consultation's deadline.
    #[error("{0}")]
    AnswersSealed(String),
    /// An answer sent when the consultation no longer takes answers.
    #[error("{0}")]
    ConsultationClosed(String),
    /// A lot already awarded or declared unsuccessful.
    #[error("{0}")]
    LotDecided(String),
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("{0}")]
    PreconditionRequired(String),
    #[error("too many attempts; retry in {retry_after} seconds")]
    TooManyRequests { retry_after: u64 },
    #[error("{method} is not allowed on this resource")]
    MethodNotAllowed {
        method: Method,
        allowed: Vec<Method>,
    },
    #[error("{0}")]
    MalformedBody(String),
    #[error("{}", describe(.0))]
    InvalidParameters(Vec<FieldError>),
    #[error("{}", describe(.0))]
    Validation(Vec<FieldError>),
    #[error("the request body exceeds the limit of {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("the request target (path and query) is longer than {limit} bytes")]
    UriTooLong { limit: usize },
    #[error("{0}")]
    HeaderFieldsTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("the database is unavailable; retry shortly")]
    Unavailable(String),
    /// Every slot of a bounded kind of work (open data builds, downloads)
    /// is taken: the service is fine, only busy with that work.
    #[error("{0}")]
    AtCapacity(String),
    #[error("{0}")]
    NotReady(String),
    #[error("an internal error occurred; it has been logged with the request id")]
    Internal(#[source] anyhow::Error),
}

fn describe(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

impl ApiError {
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::NotFound(what.into())
    }

    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }

    pub fn invalid_parameter(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::InvalidParameters(vec![FieldError::new(field, message)])
    }

    /// The kind of problem this error is.
    pub fn kind(&self) -> ProblemKind {
        match self {
            Self::NotFound(_) => ProblemKind::NotFound,
            Self::Unauthorized(_) => ProblemKind::Unauthorized,
            Self::Forbidden(_) => ProblemKind::Forbidden,
            Self::Conflict(_) => ProblemKind::Conflict,
            Self::OutOfStock(_) => ProblemKind::OutOfStock,
            Self::DeliveryTerms(_) => ProblemKind::DeliveryTerms,
            Self::ContractMaximum(_) => ProblemKind::ContractMaximum,
            Self::InvalidTransition { .. } => ProblemKind::InvalidTransition,
            Self::IdempotencyKeyReused(_) => ProblemKind::IdempotencyKeyReused,
            Self::ReleaseOverlap(_) => ProblemKind::ReleaseOverlap,
            Self::IdempotencyInProgress => ProblemKind::IdempotencyInProgress,
            Self::Busy(_) => ProblemKind::Busy,
            Self::LocalPreference(_) => ProblemKind::LocalPreference,
            Self::PriceOnly(_) => ProblemKind::PriceOnly,
            Self::AnswersSealed(_) => ProblemKind::AnswersSealed,
            Self::ConsultationClosed(_) => ProblemKind::ConsultationClosed,
            Self::LotDecided(_) => ProblemKind::LotDecided,
            Self::PreconditionFailed(_) => ProblemKind::PreconditionFailed,
            Self::PreconditionRequired(_) => ProblemKind::PreconditionRequired,
            Self::TooManyRequests { .. } => ProblemKind::TooManyRequests,
            Self::MethodNotAllowed { .. } => ProblemKind::MethodNotAllowed,
            Self::MalformedBody(_) => ProblemKind::MalformedBody,
            Self::InvalidParameters(_) => ProblemKind::InvalidParameters,
            Self::Validation(_) => ProblemKind::Validation,
            Self::PayloadTooLarge { .. } => ProblemKind::PayloadTooLarge,
            Self::UriTooLong { .. } => ProblemKind::UriTooLong,
            Self::HeaderFieldsTooLarge(_) => ProblemKind::HeaderFieldsTooLarge,
            Self::UnsupportedMediaType(_) => ProblemKind::UnsupportedMediaType,
            Self::Unavailable(_) => ProblemKind::Unavailable,
            Self::AtCapacity(_) => ProblemKind::AtCapacity,
            Self::NotReady(_) => ProblemKind::NotReady,
            Self::Internal(_) => ProblemKind::Internal,
        }
    }

    pub fn problem(&self) -> Problem {
        let kind = self.kind();
        let errors = match self {
            Self::InvalidParameters(errors) | Self::Validation(errors) => errors.clone(),
            _ => Vec::new(),
        };
        Problem {
            problem_type: kind.uri(),
            title: kind.title().to_owned(),
            status: self.status_code().as_u16(),
            detail: self.to_string(),
            errors,
            available: match self {
                Self::OutOfStock(short) => short.clone(),
                _ => Vec::new(),
            },
            parts: match self {
                Self::DeliveryTerms(parts) => parts.clone(),
                _ => Vec::new(),
            },
            contracts: match self {
                Self::ContractMaximum(contracts) => contracts.clone(),
                _ => Vec::new(),
            },
            allowed: match self {
                Self::InvalidTransition { allowed, .. } => Some(allowed.clone()),
                _ => None,
            },
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.kind().status()
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Internal(cause) => tracing::error!(error = ?cause, "internal error"),
            Self::Unavailable(cause) => tracing::warn!(%cause, "database unavailable"),
            _ => {}
        }
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CONTENT_TYPE, PROBLEM_CONTENT_TYPE));
        match self {
            Self::Unavailable(_) | Self::AtCapacity(_) | Self::NotReady(_) => {
                response.insert_header((header::RETRY_AFTER, RETRY_AFTER_SECONDS));
            }
            Self::IdempotencyInProgress => {
                response.insert_header((header::RETRY_AFTER, "1"));
            }
            Self::Busy(_) => {
                response.insert_header((header::RETRY_AFTER, BUSY_RETRY_AFTER_SECONDS));
            }
            Self::TooManyRequests { retry_after } => {
                response.insert_header((header::RETRY_AFTER, retry_after.to_string()));
            }
            Self::Unauthorized(_) => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            Self::MethodNotAllowed { allowed, .. } => {
                let allow = allowed
                    .iter()
                    .map(Method::as_str)
                    .collect::<Vec<_>>()
                    .join(", ");
                response.insert_header((header::ALLOW, allow));
            }
            _ => {}
        }
        response.json(self.problem())
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(error: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match &error {
            Error::NotFound => Self::not_found("resource not found"),
            // The trigger that holds offers to their producer's consent.
            Error::DatabaseError(DatabaseErrorKind::CheckViolation, info)
                if info.constraint_name() == Some("offers_producer_consents") =>
            {
                Self::Conflict(
                    "the producing farm is not verified or has not accepted to be carried by \
                     this distributor (see /organisations/{id}/supply-relationships)"
                        .into(),
                )
            }
            // The trigger that keeps a decided lot final.
            Error::DatabaseError(DatabaseErrorKind::CheckViolation, info)
                if info.constraint_name() == Some("consultation_lots_final") =>
            {
                Self::LotDecided("the lot is already decided: its decision is final".into())
            }
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                Self::Conflict("a resource with the same unique value already exists".into())
            }
            Error::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                info,
            ) => Self::Unavailable(info.message().to_owned()),
            // Text PostgreSQL cannot store (NUL): the client's input, never a 500.
            Error::DatabaseError(DatabaseErrorKind::Unknown, info)
                if info.message().starts_with("invalid byte sequence") =>
            {
                Self::validation("body", "text must not contain NUL characters")
            }
            // A sum past a column's precision (stock added again and again).
            Error::DatabaseError(DatabaseErrorKind::Unknown, info)
                if info.message().starts_with("numeric field overflow") =>
            {
                Self::validation("body", "the result would be too large")
            }
            // lock_timeout (55P03): another transaction holds a row this one
            // needs (a checkout of the same offer, an import, an operator's
            // session). The service is fine and the state is unchanged: 409,
            // not a 5xx that would count against the instance's health.
            Error::DatabaseError(DatabaseErrorKind::Unknown, info)
                if info.message().contains("lock timeout")
                    || info.message().starts_with("could not obtain lock") =>
            {
                Self::Busy(
                    "another operation holds what this one needs (an offer, an order); \
                     nothing was changed, retry in a moment"
                        .into(),
                )
            }
            // statement_timeout: too much to aggregate at once, not a fault.
            Error::DatabaseError(DatabaseErrorKind::Unknown, info)
                if info.message().contains("statement timeout") =>
            {
                Self::Unavailable(
                    "the query took too long; ask for a shorter period or retry later".into(),
                )
            }
            // Our own cancel request, sent when a request's deadline passed.
            Error::DatabaseError(DatabaseErrorKind::Unknown, info)
                if info
                    .message()
                    .contains("canceling statement due to user request") =>
            {
                Self::Unavailable("the database did not answer in time".into())
            }
            Error::DatabaseError(DatabaseErrorKind::Unknown, info)
                if is_server_going_away(info.message()) =>
            {
                Self::Unavailable(info.message().to_owned())
            }
            _ => Self::Internal(error.into()),
        }
    }
}

/// PostgreSQL's messages for SQLSTATE classes 57P (operator intervention) that
/// mean "try again soon": the server is shutting down, restarting or killed
/// this session. diesel reports them as `Unknown`, so the message is all we have.
fn is_server_going_away(message: &str) -> bool {
    const TRANSIENT: [&str; 4] = [
        "terminating connection",
        "the database system is shutting down",
        "the database system is starting up",
        "the database system is in recovery mode",
    ];
    TRANSIENT.iter().any(|t| message.starts_with(t))
}

impl From<crate::db::PoolError> for ApiError {
    fn from(error: crate::db::PoolError) -> Self {
        // Every way of failing to get a connection (timeout, refused, closed pool)
        // is an outage from the client's point of view.
        Self::Unavailable(error.to_string())
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::{NOT_BLANK, is_blank, text_fits};

    /// The characters of `NOT_BLANK`'s middle class, besides NUL.
    fn blank_class() -> Vec<char> {
        let class = NOT_BLANK
            .split_once("*[^\\u0000")
            .and_then(|(_, rest)| rest.split_once(']'))
            .map(|(class, _)| class)
            .expect("the pattern's class");
        let mut chars = Vec::new();
        let mut rest = class;
        while !rest.is_empty() {
            let (c, tail) = match rest.strip_prefix('\\') {
                Some(escaped) if escaped.starts_with('u') => (
                    char::from_u32(u32::from_str_radix(&escaped[1..5], 16).unwrap()).unwrap(),
                    &escaped[5..],
                ),
                Some(escaped) => {
                    let c = match &escaped[..1] {
                        "t" => '\t',
                        "n" => '\n',
                        "f" => '\u{c}',
                        "r" => '\r',
                        other => panic!("unknown escape {other}"),
                    };
                    (c, &escaped[1..])
                }
                None => (rest.chars().next().unwrap(), &rest[1..]),
            };
            if let Some(range_end) = tail.strip_prefix('-') {
                let (last, after) = range_end.split_at(6);
                let last = u32::from_str_radix(&last[2..], 16).unwrap();
                chars.extend((c as u32..=last).filter_map(char::from_u32));
                rest = after;
            } else {
                chars.push(c);
                rest = tail;
            }
        }
        chars
    }

    #[test]
    fn the_schema_and_the_service_call_the_same_characters_blank() {
        let class = blank_class();
        for c in (0..=0x10_FFFF)
            .filter_map(char::from_u32)
            .filter(|&c| c != '\0')
        {
            assert_eq!(is_blank(c), class.contains(&c), "U+{:04X}", c as u32);
        }
    }

    #[test]
    fn a_required_text_has_a_character_that_is_not_blank_and_fits_as_sent() {
        assert!(text_fits("Blé", 1, 3));
        assert!(text_fits(" a ", 1, 3));
        assert!(text_fits("\u{1c}", 1, 3), "not white space for either");
        for blank in [" ", "\u{b}", "\u{85}", "\u{feff}", "\u{3000} \t"] {
            assert!(!text_fits(blank, 1, 10), "{blank:?}");
            assert!(text_fits(blank, 0, 10), "optional: {blank:?}");
        }
        assert!(!text_fits("", 1, 3));
        assert!(!text_fits("abc ", 1, 3), "counted as sent");
        assert!(!text_fits("a\0b", 0, 3));
    }
}
