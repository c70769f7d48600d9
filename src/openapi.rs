//! The root of the OpenAPI document. Paths are collected from the routes
//! themselves (utoipa-actix-web); this adds what no handler carries.

use utoipa::OpenApi;

use crate::error::{FieldError, Problem};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Sésame API",
        description = "Farm-to-canteen marketplace of Cœur d'Essonne Agglomération: \
            farmers and distributors list produce, canteens order it, and the local authority \
            follows the supply and publishes it as anonymised open data.\n\n\
            Every error is an RFC 9457 problem document (`application/problem+json`) whose \
            `type` URI is stable: switch on it, not on the text.",
        license(name = "MIT OR Apache-2.0", identifier = "MIT OR Apache-2.0"),
    ),
    tags(
        (name = "geography", description = "Reference geography: communes, EPCIs (Etalab, Licence Ouverte 2.0)"),
        (name = "operations", description = "Liveness, readiness and metrics"),
    ),
    components(schemas(Problem, FieldError)),
)]
pub struct ApiDoc;
