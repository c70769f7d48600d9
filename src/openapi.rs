//! The root of the OpenAPI document. Paths are collected from the routes
//! themselves (utoipa-actix-web); this adds what no handler carries.

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::{FieldError, Problem};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Sésame API",
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
    components(schemas(Problem, FieldError)),
)]
pub struct ApiDoc;

/// The `bearer` scheme: a JWT access token from `/api/v1/auth/login`.
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
    }
}

/// What the routes cannot say themselves: every operation that takes a body
/// answers 415 problem+json to a body of another media type, and 413 to a
/// body over the limit.
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
    for item in api.paths.paths.values_mut() {
        let operations = [
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ];
        for operation in operations.into_iter().flatten() {
            if operation.request_body.is_none() {
                continue;
            }
            let responses = &mut operation.responses.responses;
            responses
                .entry("413".to_owned())
                .or_insert_with(|| problem("The body is larger than the body limit"));
            responses.entry("415".to_owned()).or_insert_with(|| {
                problem("The body is not of the media type the operation takes")
            });
        }
    }
    api
}
