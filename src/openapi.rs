//! The root of the OpenAPI document. Paths are collected from the routes
//! themselves (utoipa-actix-web); this adds what no handler carries.

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::{FieldError, Problem};

#[derive(OpenApi)]
#[openapi(
    info(
        // ASCII: client generators derive package names from the title.
        title = "Sesame API",
        description = "Farm-to-canteen marketplace of Cœur d'Essonne Agglomération: \
            farmers and distributors list produce, canteens order it, and the local authority \
            follows the supply and publishes it as anonymised open data.\n\n\
            Every error is an RFC 9457 problem document (`application/problem+json`) whose \
            `type` URI is stable: switch on it, not on the text.\n\n\
            Any operation may answer 414 `uri-too-long` (a path and query over 8 KiB) or 431 \
            `request-header-fields-too-large` (more than 64 header fields or over 32 KiB of \
            them). Past the HTTP parser's own limits (a request head over 128 KiB or more than \
            96 header fields: 431; a target over 65,534 bytes: 400) the answer has no body and \
            the connection is closed.",
        license(name = "MIT OR Apache-2.0", identifier = "MIT OR Apache-2.0"),
    ),
    servers(
        (url = "/", description = "The instance serving this document"),
        (url = "http://127.0.0.1:8080", description = "The demo on your machine (`cargo run --release -- demo`)"),
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Accounts and sessions: register, log in, refresh, log out"),
        (name = "organisations", description = "Farms, distributors, canteens and authorities; members and invitations"),
        (name = "catalog", description = "Offers: listing, stock, CSV import, search"),
        (name = "supply", description = "Supply relationships: a distributor names a farm of the platform as producer only with the farm's consent"),
        (name = "orders", description = "Checkout, the order lifecycle, picking lists and the integration feed"),
        (name = "egalim", description = "EGalim indicators, the ma-cantine export, territory statistics and progress"),
        (name = "opendata", description = "Anonymised open data: releases an authority publishes, public downloads (Frictionless data packages)"),
        (name = "consultations", description = "Consultations: a public buyer calls for sealed answers lot by lot, scores and awards them; purchase thresholds"),
        (name = "contracts", description = "Contracts made by awarded lots, and their public data (DECP)"),
        (name = "delivery", description = "Suppliers' delivery terms: days, order cut-off, zone, minimum order"),
        (name = "invoices", description = "Invoices and credit notes (EN 16931 CII XML, printable), billing mandates, payments"),
        (name = "standing orders", description = "Canteens' weekly standing orders, closures and public holidays"),
        (name = "admin", description = "Platform administration: verifying organisations"),
        (name = "geography", description = "Reference geography: communes, EPCIs (Etalab, Licence Ouverte 2.0)"),
        (name = "operations", description = "Liveness, readiness and metrics"),
    ),
    // Schemas only parameters name (utoipa collects those of bodies).
    components(schemas(Problem, FieldError, crate::codes::ReleaseResource)),
)]
pub struct ApiDoc;

/// The `bearer` scheme, a JWT access token from `/api/v1/auth/login`; and
/// the metrics' own token.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.bearer_format = Some("JWT".to_owned());
        scheme.description = Some(
            "Access token from `POST /api/v1/auth/login` or `/auth/refresh`; valid 15 minutes."
                .to_owned(),
        );
        components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
        let mut metrics = Http::new(HttpAuthScheme::Bearer);
        metrics.description =
            Some("`GET /metrics` only, when `SESAME_METRICS_TOKEN` is set: that token.".to_owned());
        components.add_security_scheme("metrics_token", SecurityScheme::Http(metrics));
    }
}

/// What the routes cannot say themselves: every operation answers 414 to a
/// request target over the limit and 431 to a header section over it
/// (`http::limits`); every operation that takes a body answers 415
/// problem+json to a body of another media type, and 413 to a body over the
/// limit; every answer carries `X-Request-Id`; 503s, 429s and
/// 409s may carry `Retry-After`; 401s carry `WWW-Authenticate` (RFC 9110
/// §11.6.1); an operation without a security
/// requirement says so (`security: []`), so that no tool assumes one.
pub fn complete(mut api: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
    let problem = |description: &str| {
        RefOr::T(
            ResponseBuilder::new()
                .description(description)
                .content(
                    crate::error::PROBLEM_CONTENT_TYPE,
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("Problem")))
                        .build(),
                )
                .build(),
        )
    };
    let components = api.components.get_or_insert_with(Default::default);
    components
        .headers
        .insert(REQUEST_ID.to_owned(), RefOr::T(request_id_header()));
    components
        .headers
        .insert(RETRY_AFTER.to_owned(), RefOr::T(retry_after_header()));
    components.headers.insert(
        WWW_AUTHENTICATE.to_owned(),
        RefOr::T(www_authenticate_header()),
    );
    let header_ref = |name: &str| RefOr::Ref(Ref::new(format!("#/components/headers/{name}")));
    for operation in operations(&mut api) {
        operation.security.get_or_insert_with(Vec::new);
        let responses = &mut operation.responses.responses;
        responses
            .entry("414".to_owned())
            .or_insert_with(|| problem("The request target (path and query) is longer than 8 KiB"));
        responses.entry("431".to_owned()).or_insert_with(|| {
            problem("The header section is larger than 32 KiB or has more than 64 fields")
        });
        if operation.request_body.is_some() {
            responses
                .entry("413".to_owned())
                .or_insert_with(|| problem("The body is larger than the body limit"));
            responses.entry("415".to_owned()).or_insert_with(|| {
                problem("The body is not of the media type the operation takes")
            });
        }
        for (status, response) in responses.iter_mut() {
            let RefOr::T(response) = response else {
                continue;
            };
            response
                .headers
                .insert(REQUEST_ID.to_owned(), header_ref(REQUEST_ID));
            if matches!(status.as_str(), "409" | "429" | "503") {
                response
                    .headers
                    .insert(RETRY_AFTER.to_owned(), header_ref(RETRY_AFTER));
            }
            if status == "401" {
                response
                    .headers
                    .insert(WWW_AUTHENTICATE.to_owned(), header_ref(WWW_AUTHENTICATE));
            }
        }
    }
    add_links(&mut api);
    // Through JSON: the free strings are found by what they are, not by
    // how utoipa built them.
    let mut json = serde_json::to_value(&api).expect("the document is JSON");
    let bodies = request_body_schemas(&json);
    if let Some(schemas) = json
        .pointer_mut("/components/schemas")
        .and_then(|s| s.as_object_mut())
    {
        for (name, schema) in schemas.iter_mut() {
            if bodies.contains(name) {
                constrain_free_text(schema);
            }
        }
    }
    serde_json::from_value(json).expect("the document reads back")
}

/// A link: from operation, status, to operation, parameters (name, runtime
/// expression).
type Link = (
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

/// The document's links: from an answer to the operations a client calls
/// next on what it names, with the values it gives them (`from operation`,
/// `status`, `to operation`, `parameters`), so that a client or a stateful
/// fuzzer can chain creation, reading and the lifecycle.
const LINKS: &[Link] = {
    const ID: &[(&str, &str)] = &[("id", "$response.body#/id")];
    const SAME: &[(&str, &str)] = &[("id", "$request.path.id")];
    const FIRST_ITEM: &[(&str, &str)] = &[("id", "$response.body#/items/0/id")];
    const FIRST_ORDER: &[(&str, &str)] = &[("id", "$response.body#/orders/0/id")];
    const VERSION: &[(&str, &str)] = &[
        ("id", "$response.body#/id"),
        ("header.If-Match", "$response.header.ETag"),
    ];
    const MINE: &[(&str, &str)] = &[("id", "$response.body#/organisation/organisation_id")];
    &[
        ("me", "200", "get_organisation", MINE),
        ("me", "200", "canteen_indicators", MINE),
        ("me", "200", "territory_statistics", MINE),
        ("me", "200", "territory_progress", MINE),
        ("me", "200", "list_consultations", MINE),
        ("me", "200", "list_contracts", MINE),
        ("me", "200", "read_feed", MINE),
        ("create_organisation", "201", "get_organisation", ID),
        ("create_organisation", "201", "update_organisation", ID),
        ("create_organisation", "201", "list_members", ID),
        ("create_offer", "201", "get_offer", ID),
        ("create_offer", "201", "update_offer", VERSION),
        ("create_offer", "201", "adjust_stock", ID),
        ("get_offer", "200", "update_offer", VERSION),
        ("search_offers", "200", "get_offer", FIRST_ITEM),
        ("checkout", "201", "get_order", FIRST_ORDER),
        ("checkout", "201", "accept_order", FIRST_ORDER),
        ("checkout", "201", "reject_order", FIRST_ORDER),
        ("checkout", "201", "cancel_order", FIRST_ORDER),
        ("list_orders", "200", "get_order", FIRST_ITEM),
        ("accept_order", "200", "get_order", SAME),
        ("accept_order", "200", "deliver_order", SAME),
        ("create_consultation", "201", "get_consultation", ID),
        ("create_consultation", "201", "publish_consultation", ID),
        ("create_consultation", "201", "cancel_consultation", ID),
        ("list_consultations", "200", "get_consultation", FIRST_ITEM),
        ("propose_contract", "201", "get_contract", ID),
        ("propose_contract", "201", "accept_contract", ID),
        ("propose_contract", "201", "decline_contract", ID),
        ("list_contracts", "200", "get_contract", FIRST_ITEM),
        (
            "request_supply_relationship",
            "201",
            "accept_supply_relationship",
            ID,
        ),
        (
            "request_supply_relationship",
            "201",
            "refuse_supply_relationship",
            ID,
        ),
        ("publish_release", "201", "get_release", ID),
        ("publish_release", "201", "get_datapackage", ID),
        ("issue_invoice", "201", "get_invoice", ID),
        ("create_standing_order", "201", "get_standing_order", ID),
    ]
};

/// Every operation of the document.
fn operations(
    api: &mut utoipa::openapi::OpenApi,
) -> impl Iterator<Item = &mut utoipa::openapi::path::Operation> {
    api.paths.paths.values_mut().flat_map(|item| {
        [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
    })
}

fn add_links(api: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::RefOr;
    use utoipa::openapi::link::LinkBuilder;
    for operation in operations(api) {
        let Some(id) = operation.operation_id.clone() else {
            continue;
        };
        for (_, status, target, parameters) in LINKS.iter().filter(|l| l.0 == id) {
            let Some(RefOr::T(response)) = operation.responses.responses.get_mut(*status) else {
                continue;
            };
            let link = parameters
                .iter()
                .fold(
                    LinkBuilder::new().operation_id(*target),
                    |link, (name, value)| link.parameter(*name, *value),
                )
                .build();
            response.links.insert((*target).to_owned(), RefOr::T(link));
        }
    }
}

/// The component schemas request bodies use, directly or through others:
/// what a client sends. (Answers may echo what a client sent, NUL included,
/// in a problem's `detail`.)
fn request_body_schemas(document: &serde_json::Value) -> std::collections::BTreeSet<String> {
    fn refs(value: &serde_json::Value, found: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                if let Some(name) = map
                    .get("$ref")
                    .and_then(|r| r.as_str())
                    .and_then(|r| r.strip_prefix("#/components/schemas/"))
                {
                    found.push(name.to_owned());
                }
                map.values().for_each(|v| refs(v, found));
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
            _ => {}
        }
    }
    let mut pending = Vec::new();
    for item in document["paths"]
        .as_object()
        .into_iter()
        .flat_map(|p| p.values())
    {
        for operation in item.as_object().into_iter().flat_map(|o| o.values()) {
            refs(&operation["requestBody"], &mut pending);
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    while let Some(name) = pending.pop() {
        if seen.insert(name.clone()) {
            refs(&document["components"]["schemas"][&name], &mut pending);
        }
    }
    seen
}

/// Text cannot hold NUL (PostgreSQL refuses it, and the API answers 422),
/// and a required one (`minLength` ≥ 1) cannot be blank: every free string
/// a client sends says so with a pattern (`error::NOT_BLANK` for required
/// ones), as `error::text_fits` checks it. Strings that have a format, an
/// enum or a pattern already exclude both.
fn constrain_free_text(schema: &mut serde_json::Value) {
    use serde_json::Value;
    let Value::Object(map) = schema else {
        return;
    };
    let is_string = match map.get("type") {
        Some(Value::String(t)) => t == "string",
        Some(Value::Array(types)) => types.iter().any(|t| t == "string"),
        _ => false,
    };
    let constrained = ["format", "enum", "pattern", "const"]
        .iter()
        .any(|k| map.contains_key(*k));
    if is_string && !constrained {
        let required = map
            .get("minLength")
            .and_then(Value::as_u64)
            .is_some_and(|n| n >= 1);
        let pattern = if required {
            crate::error::NOT_BLANK
        } else {
            "^[^\\u0000]*$"
        };
        map.insert("pattern".into(), Value::from(pattern));
    }
    for key in ["properties", "patternProperties"] {
        if let Some(Value::Object(children)) = map.get_mut(key) {
            children.values_mut().for_each(constrain_free_text);
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(child) = map.get_mut(key) {
            constrain_free_text(child);
        }
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(Value::Array(children)) = map.get_mut(key) {
            children.iter_mut().for_each(constrain_free_text);
        }
    }
}

const REQUEST_ID: &str = "X-Request-Id";
const RETRY_AFTER: &str = "Retry-After";
const WWW_AUTHENTICATE: &str = "WWW-Authenticate";

fn www_authenticate_header() -> utoipa::openapi::header::Header {
    let mut header = utoipa::openapi::header::HeaderBuilder::new()
        .schema(Some(
            utoipa::openapi::ObjectBuilder::new()
                .schema_type(utoipa::openapi::schema::Type::String)
                .enum_values(Some(["Bearer"])),
        ))
        .description(Some(
            "The scheme to authenticate with: a bearer access token.",
        ))
        .build();
    header.example = Some(serde_json::json!("Bearer"));
    header
}

fn request_id_header() -> utoipa::openapi::header::Header {
    let mut header = utoipa::openapi::header::HeaderBuilder::new()
        .schema(Some(
            utoipa::openapi::ObjectBuilder::new()
                .schema_type(utoipa::openapi::schema::Type::String)
                .pattern(Some("^[A-Za-z0-9_-]{1,64}$")),
        ))
        .description(Some(
            "The request's id: the one the client sent in `X-Request-Id` when it is 1 to 64 \
             letters, digits, `-` or `_`, otherwise a new UUID. Every log line of the request \
             carries it.",
        ))
        .build();
    header.example = Some(serde_json::json!("0193a4f2-6c1e-7d3a-9b52-2f0c8e1d4a77"));
    header
}

fn retry_after_header() -> utoipa::openapi::header::Header {
    utoipa::openapi::header::HeaderBuilder::new()
        .schema(Some(
            utoipa::openapi::ObjectBuilder::new()
                .schema_type(utoipa::openapi::schema::Type::Integer)
                .minimum(Some(0)),
        ))
        .description(Some(
            "Seconds to wait before retrying: 5 when the database is unavailable or the \
             service at capacity (503), what the throttle says (429), 1 for \
             `idempotency-in-progress` and 2 for `busy` (409).",
        ))
        .build()
}
