//! The committed OpenAPI document is the one the code generates and serves.

use std::path::Path;

use crate::helpers::TestApp;

const REGENERATE: &str = "cargo run --quiet -- openapi > openapi/openapi.json";

fn committed() -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi/openapi.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run `{REGENERATE}`", path.display()));
    serde_json::from_str(&text).expect("openapi/openapi.json is JSON")
}

#[test]
fn the_committed_document_is_the_generated_one() {
    let generated = serde_json::to_value(sesame::openapi_document()).unwrap();
    assert!(
        generated == committed(),
        "openapi/openapi.json is out of date: regenerate it with `{REGENERATE}` and commit it"
    );
}

#[test]
fn every_operation_is_documented_completely() {
    let document = committed();
    assert_eq!(document["openapi"], "3.1.0");
    assert_eq!(
        document["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let at = format!("{method} {path}");
            assert!(operation["operationId"].is_string(), "{at}: operationId");
            assert!(
                operation["summary"].is_string() || operation["description"].is_string(),
                "{at}: summary"
            );
            assert!(operation["tags"].is_array(), "{at}: tag");
            let responses = operation["responses"].as_object().unwrap();
            assert!(
                responses.keys().any(|s| s.starts_with('2')),
                "{at}: success response"
            );
            // Every documented error is a problem document (a 304 has no body).
            let errors = responses.iter().filter(|(s, _)| s.starts_with(['4', '5']));
            for (status, response) in errors {
                assert!(
                    response["content"]["application/problem+json"].is_object(),
                    "{at}: {status} is not problem+json"
                );
            }
            if path.starts_with("/api/") {
                assert!(
                    responses.contains_key("503"),
                    "{at}: the database-down answer"
                );
            }
        }
    }
}

/// Every `$ref` in `value`.
fn references<'a>(value: &'a serde_json::Value, found: &mut Vec<&'a str>) {
    match value {
        serde_json::Value::Object(map) => {
            if let Some(target) = map.get("$ref").and_then(|r| r.as_str()) {
                found.push(target);
            }
            map.values().for_each(|v| references(v, found));
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| references(v, found)),
        _ => {}
    }
}

#[test]
fn every_reference_resolves_and_codes_are_spelt_as_the_domain_spells_them() {
    let document = committed();
    let mut found = Vec::new();
    references(&document, &mut found);
    assert!(!found.is_empty());
    for target in found {
        let pointer = target
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("{target}: not a reference into the document"));
        assert!(
            pointer.starts_with("/components/")
                && document.pointer(pointer).is_some_and(|v| v.is_object()),
            "dangling reference {target}"
        );
    }
    let schemas = &document["components"]["schemas"];
    let codes = |name: &str| -> Vec<String> {
        schemas[name]["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("{name}"))
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        codes("ProductFamily"),
        [
            "VIANDES_VOLAILLES",
            "CHARCUTERIE",
            "PRODUITS_DE_LA_MER",
            "FRUITS_ET_LEGUMES",
            "PRODUITS_LAITIERS",
            "BOULANGERIE",
            "BOISSONS",
            "AUTRES"
        ]
    );
    assert_eq!(
        codes("OrganisationKind"),
        ["farm", "distributor", "canteen", "authority"]
    );
    assert!(codes("CanteenSector").contains(&"education_primaire".to_owned()));
    assert_eq!(
        codes("LocalDefinition"),
        ["PAT", "COMMUNE", "DEPARTEMENT", "REGION", "KM"]
    );
}

#[tokio::test]
async fn the_served_document_and_swagger_ui() {
    let app = TestApp::spawn().await;
    let served: serde_json::Value = app.get("/api/openapi.json").await.json().await.unwrap();
    assert_eq!(served, committed());

    let ui = app.get("/docs/").await;
    assert_eq!(ui.status(), 200);
    let html = ui.text().await.unwrap();
    assert!(html.contains("swagger"), "{html}");
    // The UI is served from the binary: no CDN.
    assert!(!html.contains("https://"), "{html}");
}

/// The problem types: one enum in the document, each with a row in the
/// docs' table of problems, and nothing else there.
#[test]
fn problem_types_are_an_enum_and_each_is_documented() {
    let document = committed();
    let listed: std::collections::BTreeSet<String> =
        document["components"]["schemas"]["Problem"]["properties"]["type"]["enum"]
            .as_array()
            .expect("Problem.type is an enum")
            .iter()
            .map(|uri| {
                let uri = uri.as_str().unwrap();
                uri.strip_prefix("https://sesame.example/problems/")
                    .unwrap_or_else(|| panic!("{uri}: not under the problems' base"))
                    .to_owned()
            })
            .collect();
    assert!(listed.contains("out-of-stock") && listed.contains("not-found"));
    let docs = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/api.md"))
        .expect("docs/api.md");
    let table = &docs[docs
        .find("| slug | status | when |")
        .expect("the table of problems")..];
    let documented: std::collections::BTreeSet<String> = table
        .lines()
        .skip(2)
        .take_while(|line| line.starts_with('|'))
        .map(|line| {
            line.split('`')
                .nth(1)
                .expect("a slug in backquotes")
                .to_owned()
        })
        .collect();
    assert_eq!(listed, documented, "docs/api.md's table of problems");
}

/// What a generated client needs from every operation: a security
/// requirement stated (`[]` when public), `X-Request-Id` on every answer,
/// `Retry-After` on every 503.
#[test]
fn every_operation_states_its_security_and_headers() {
    let document = committed();
    assert!(
        document["servers"]
            .as_array()
            .is_some_and(|s| !s.is_empty())
    );
    let mut public = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let at = format!("{method} {path}");
            let security = operation["security"]
                .as_array()
                .unwrap_or_else(|| panic!("{at}: security"));
            if security.is_empty() {
                public.push(at.clone());
            }
            for (status, response) in operation["responses"].as_object().unwrap() {
                let headers = &response["headers"];
                assert_eq!(
                    headers["X-Request-Id"]["$ref"], "#/components/headers/X-Request-Id",
                    "{at} {status}"
                );
                if status == "503" {
                    assert_eq!(
                        headers["Retry-After"]["$ref"], "#/components/headers/Retry-After",
                        "{at} {status}"
                    );
                }
                if status == "401" {
                    assert_eq!(
                        headers["WWW-Authenticate"]["$ref"],
                        "#/components/headers/WWW-Authenticate",
                        "{at} {status}"
                    );
                }
            }
        }
    }
    assert!(
        public.contains(&"post /api/v1/auth/login".to_owned()),
        "{public:?}"
    );
    assert!(
        !public.contains(&"post /api/v1/orders".to_owned()),
        "{public:?}"
    );
}

/// Where Schemathesis' positive_data_acceptance also accepts a refusal: one
/// operation at a time, with the statuses its rules answer. The reasons are
/// in tests/fuzz/schemathesis.toml, above each block; a new allowance goes
/// in both places.
const SCHEMATHESIS_ALLOWANCES: &[(&str, &[&str])] = &[
    ("canteen_indicators", &["400"]),
    ("canteen_indicators_csv", &["400"]),
    ("ma_cantine_purchases", &["400"]),
    ("territory_statistics", &["400"]),
    ("territory_statistics_csv", &["400"]),
    ("territory_progress", &["400"]),
    ("territory_progress_csv", &["400"]),
    ("territory_payment_delays", &["400"]),
    ("territory_payment_delays_csv", &["400"]),
    ("search_offers", &["400"]),
    ("list_communes", &["400"]),
    ("read_feed", &["400"]),
    ("list_orders", &["400"]),
    ("checkout", &["400", "422"]),
    ("register", &["400", "422"]),
    ("create_organisation", &["400", "422"]),
    ("update_organisation", &["400", "422"]),
    ("put_certifications", &["400", "422"]),
    ("create_offer", &["400", "422"]),
    ("import_offers", &["400", "422"]),
    ("update_offer", &["400", "412", "422"]),
    ("adjust_stock", &["400", "422"]),
    ("deliver_order", &["400", "422"]),
    ("dispute_order", &["400", "422"]),
    ("publish_release", &["400", "422"]),
    ("put_invoicing_profile", &["400", "422"]),
    ("issue_invoice", &["400", "422"]),
    ("grant_billing_mandate", &["400", "422"]),
    ("issue_credit_note", &["400", "422"]),
    ("record_payment", &["400", "422"]),
    ("list_invoices", &["400"]),
    ("create_consultation", &["400", "422"]),
    ("mark_answer", &["400", "422"]),
    ("award_lot", &["400", "422"]),
    ("propose_contract", &["400", "422"]),
    ("create_standing_order", &["400", "422"]),
    ("add_closure", &["400", "422"]),
    ("list_releases", &["400"]),
    ("list_organisations", &["400"]),
    ("list_consultations", &["400"]),
    ("list_open_consultations", &["400"]),
    ("list_contracts", &["400"]),
    ("list_standing_orders", &["400"]),
];

#[test]
fn schemathesis_allowances_are_named_one_by_one() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/schemathesis.toml");
    let text = std::fs::read_to_string(path).unwrap();
    let config: toml::Table = text.parse().expect("schemathesis.toml is TOML");
    let document = committed();
    let operation_ids: Vec<&str> = document["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| item.as_object().unwrap().values())
        .filter_map(|op| op["operationId"].as_str())
        .collect();
    let problem_types: Vec<&str> =
        document["components"]["schemas"]["Problem"]["properties"]["type"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap().rsplit('/').next().unwrap())
            .collect();
    let mut found = Vec::new();
    for block in config["operations"].as_array().expect("[[operations]]") {
        let block = block.as_table().unwrap();
        assert!(
            !block.keys().any(|k| k.ends_with("-regex")),
            "a block names one operation by its id, not a pattern: {block:?}"
        );
        let op = block["include-operation-id"]
            .as_str()
            .expect("include-operation-id");
        assert!(operation_ids.contains(&op), "{op}: no such operation");
        // The reason above the block: the problem types answered and the rule.
        let reason = text
            .lines()
            .find(|l| l.starts_with(&format!("# {op}: ")))
            .unwrap_or_else(|| panic!("{op}: no `# {op}: ` comment giving the reason"));
        // `# op: `type`, `type`. The rule.`
        let types = reason
            .split_once(": ")
            .unwrap()
            .1
            .split(". ")
            .next()
            .unwrap();
        let named: Vec<&str> = types.split('`').skip(1).step_by(2).collect();
        assert!(!named.is_empty(), "{op}: the reason names no problem type");
        for slug in named {
            assert!(
                problem_types.contains(&slug),
                "{op}: `{slug}` is no problem type"
            );
        }
        let statuses = block
            .get("checks")
            .and_then(|c| c.get("positive_data_acceptance"))
            .and_then(|c| c.get("expected-statuses"))
            .and_then(|s| s.as_array());
        let Some(statuses) = statuses else {
            continue;
        };
        let default = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"];
        let extra: Vec<&str> = statuses
            .iter()
            .map(|s| s.as_str().unwrap())
            .filter(|s| !default.contains(s))
            .collect();
        found.push((op, extra));
    }
    let expected: Vec<(&str, Vec<&str>)> = SCHEMATHESIS_ALLOWANCES
        .iter()
        .map(|(op, statuses)| (*op, statuses.to_vec()))
        .collect();
    assert_eq!(found, expected, "tests/fuzz/schemathesis.toml's allowances");
}

/// Links name operations of the document and parameters those operations
/// take; the ones a stateful client needs are there.
#[test]
fn links_chain_the_main_flows() {
    let document = committed();
    let mut operations = std::collections::BTreeMap::new();
    for item in document["paths"].as_object().unwrap().values() {
        for operation in item.as_object().unwrap().values() {
            operations.insert(operation["operationId"].as_str().unwrap(), operation);
        }
    }
    let mut links = Vec::new();
    for (source, operation) in &operations {
        for response in operation["responses"].as_object().unwrap().values() {
            let Some(found) = response["links"].as_object() else {
                continue;
            };
            for link in found.values() {
                let target = link["operationId"].as_str().unwrap();
                let parameters: Vec<String> =
                    operations
                        .get(target)
                        .unwrap_or_else(|| panic!("{source} links to {target}: no such operation"))
                        ["parameters"]
                        .as_array()
                        .map(|p| {
                            p.iter()
                                .map(|p| match p["in"].as_str().unwrap() {
                                    "path" => p["name"].as_str().unwrap().to_owned(),
                                    place => format!("{place}.{}", p["name"].as_str().unwrap()),
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                for name in link["parameters"].as_object().unwrap().keys() {
                    assert!(
                        parameters.contains(name),
                        "{source} → {target}: no parameter {name}"
                    );
                }
                links.push((*source, target));
            }
        }
    }
    for needed in [
        ("create_offer", "update_offer"),
        ("checkout", "accept_order"),
        ("propose_contract", "accept_contract"),
        ("create_consultation", "publish_consultation"),
        ("me", "canteen_indicators"),
        ("me", "territory_statistics"),
    ] {
        assert!(links.contains(&needed), "no link {needed:?}");
    }
}

/// Free text a client sends excludes NUL, which the API refuses; answers
/// that may echo it do not.
#[test]
fn free_strings_exclude_nul() {
    let document = committed();
    let schemas = &document["components"]["schemas"];
    // Required: not blank either, as the service checks it.
    let reason = &schemas["CancelConsultation"]["properties"]["reason"];
    assert_eq!(reason["pattern"], sesame::error::NOT_BLANK, "{reason}");
    let note = &schemas["CheckoutRequest"]["properties"]["note"];
    assert_eq!(note["pattern"], "^[^\\u0000]*$", "{note}");
    let id = &schemas["CheckoutRequest"]["properties"]["buyer_id"];
    assert!(id.get("pattern").is_none(), "a uuid has its format: {id}");
    // A problem may echo what the client sent (an unknown parameter's name).
    let detail = &schemas["Problem"]["properties"]["detail"];
    assert!(detail.get("pattern").is_none(), "{detail}");
}
