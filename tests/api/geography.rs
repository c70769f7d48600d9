//! Reference geography: communes and EPCIs.

use std::collections::BTreeMap;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::Value;
use sesame::schema::communes;

use crate::helpers::{TestApp, assert_problem, error_fields, item_keys};

/// The 21 communes of Cœur d'Essonne Agglomération and their municipal
/// populations, as listed in the domain reference (shared/docs/domain.md §5).
const COEUR_D_ESSONNE: [(&str, &str, i64); 21] = [
    ("91021", "Arpajon", 11698),
    ("91041", "Avrainville", 1052),
    ("91103", "Brétigny-sur-Orge", 26658),
    ("91105", "Breuillet", 9157),
    ("91115", "Bruyères-le-Châtel", 3788),
    ("91156", "Cheptainville", 2204),
    ("91207", "Égly", 7166),
    ("91235", "Fleury-Mérogis", 13721),
    ("91292", "Guibeville", 923),
    ("91333", "Leuville-sur-Orge", 4271),
    ("91347", "Longpont-sur-Orge", 6482),
    ("91376", "Marolles-en-Hurepoix", 5708),
    ("91434", "Morsang-sur-Orge", 21667),
    ("91457", "La Norville", 4268),
    ("91461", "Ollainville", 5455),
    ("91494", "Le Plessis-Pâté", 4154),
    ("91549", "Sainte-Geneviève-des-Bois", 35438),
    ("91552", "Saint-Germain-lès-Arpajon", 11623),
    ("91570", "Saint-Michel-sur-Orge", 21776),
    ("91667", "Villemoisson-sur-Orge", 7332),
    ("91685", "Villiers-sur-Orge", 4545),
];

async fn json(app: &TestApp, path: &str) -> Value {
    let response = app.get(path).await;
    assert_eq!(response.status(), 200, "GET {path}");
    response.json().await.expect("JSON body")
}

fn names_by_insee(page: &Value) -> BTreeMap<String, (String, i64)> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|c| {
            (
                c["insee"].as_str().unwrap().to_owned(),
                (
                    c["name"].as_str().unwrap().to_owned(),
                    c["population"].as_i64().unwrap(),
                ),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_epci_filter_lists_the_21_communes_of_coeur_d_essonne() {
    let app = TestApp::spawn().await;
    let page = json(&app, "/api/v1/communes?epci=200057859").await;

    assert_eq!(page["items"].as_array().unwrap().len(), 21);
    assert_eq!(page["next_cursor"], serde_json::Value::Null, "one page");
    let expected: BTreeMap<String, (String, i64)> = COEUR_D_ESSONNE
        .iter()
        .map(|(insee, name, population)| (insee.to_string(), (name.to_string(), *population)))
        .collect();
    assert_eq!(names_by_insee(&page), expected);
    for commune in page["items"].as_array().unwrap() {
        assert_eq!(commune["departement"]["code"], "91");
        assert_eq!(commune["region"]["name"], "Île-de-France");
        assert_eq!(commune["epci"]["siren"], "200057859");
    }
}

#[tokio::test]
async fn search_ignores_accents_case_and_hyphens() {
    let app = TestApp::spawn().await;
    for q in ["bretigny", "BRETIGNY", "Bretigny", "br%C3%A9tigny"] {
        let page = json(&app, &format!("/api/v1/communes?q={q}")).await;
        let found = names_by_insee(&page);
        assert!(found.contains_key("91103"), "q={q}: {page}");
        assert!(
            found
                .values()
                .all(|(name, _)| sesame::geo::search::fold(name).contains("bretigny"))
        );
        // Other communes are named exactly "Brétigny": they come first.
        assert_eq!(
            page["items"][0]["name"]
                .as_str()
                .map(sesame::geo::search::fold)
                .as_deref(),
            Some("bretigny")
        );
    }
    for q in [
        "Br%C3%A9tigny-sur-Orge",
        "BRETIGNY%20SUR%20ORGE",
        "bretigny-sur",
    ] {
        let page = json(&app, &format!("/api/v1/communes?q={q}")).await;
        assert_eq!(page["items"].as_array().unwrap().len(), 1, "q={q}: {page}");
        assert_eq!(page["items"][0]["insee"], "91103");
    }
    let page = json(&app, "/api/v1/communes?q=saint%20germain%20les%20arpajon").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["insee"], "91552");
}

#[tokio::test]
async fn search_ranks_exact_then_prefix_then_population() {
    let app = TestApp::spawn().await;
    // "Arpajon" is itself a commune, and also part of other names.
    let page = json(&app, "/api/v1/communes?q=arpajon").await;
    let names: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names[0], "Arpajon");
    assert!(names.contains(&"Saint-Germain-lès-Arpajon"), "{names:?}");
    assert!(names.contains(&"Arpajon-sur-Cère"), "{names:?}");
}

#[tokio::test]
async fn filters_combine() {
    let app = TestApp::spawn().await;
    let page = json(&app, "/api/v1/communes?q=orge&epci=200057859").await;
    let found = names_by_insee(&page);
    let expected: Vec<&str> = COEUR_D_ESSONNE
        .iter()
        .filter(|(_, name, _)| name.contains("Orge"))
        .map(|(insee, _, _)| *insee)
        .collect();
    assert_eq!(
        found.keys().map(String::as_str).collect::<Vec<_>>(),
        expected
    );

    let corsica = json(&app, "/api/v1/communes?departement=2A&q=ajaccio").await;
    assert_eq!(corsica["items"].as_array().unwrap().len(), 1);
    assert_eq!(corsica["items"][0]["insee"], "2A004");
    assert_eq!(corsica["items"][0]["region"]["code"], "94");
}

/// Every page of `query` through `next_cursor`, as INSEE codes in order.
async fn every_page(app: &TestApp, query: &str) -> (Vec<String>, usize) {
    let mut seen = Vec::new();
    let mut pages = 0;
    let mut cursor: Option<String> = None;
    loop {
        let after = cursor.map(|c| format!("&cursor={c}")).unwrap_or_default();
        let page = json(app, &format!("/api/v1/communes?{query}{after}")).await;
        pages += 1;
        seen.extend(item_keys(&page, "insee"));
        match page["next_cursor"].as_str() {
            Some(next) => {
                assert_eq!(
                    Some(next),
                    seen.last().map(String::as_str),
                    "the last item's key"
                );
                cursor = Some(next.to_owned());
            }
            None => return (seen, pages),
        }
    }
}

#[tokio::test]
async fn pages_cover_the_list_without_overlap() {
    let app = TestApp::spawn().await;
    let (seen, pages) = every_page(&app, "epci=200057859&limit=8").await;
    let all: Vec<String> = COEUR_D_ESSONNE
        .iter()
        .map(|(insee, _, _)| insee.to_string())
        .collect();
    assert_eq!(seen, all, "pages are in INSEE order, each commune once");
    assert_eq!(pages, 3, "8 + 8 + 5");

    // With a name, pages follow the relevance order of the whole list.
    let whole = json(&app, "/api/v1/communes?q=saint&departement=91&limit=200").await;
    assert_eq!(whole["next_cursor"], serde_json::Value::Null);
    let expected = item_keys(&whole, "insee");
    assert!(expected.len() > 10, "{}", expected.len());
    let (paged, _) = every_page(&app, "q=saint&departement=91&limit=4").await;
    assert_eq!(paged, expected);
}

#[tokio::test]
async fn a_commune_by_insee_code() {
    let app = TestApp::spawn().await;
    let commune = json(&app, "/api/v1/communes/91103").await;
    assert_eq!(
        commune,
        serde_json::json!({
            "insee": "91103",
            "name": "Brétigny-sur-Orge",
            "population": 26658,
            "departement": {"code": "91", "name": "Essonne"},
            "region": {"code": "11", "name": "Île-de-France"},
            "epci": {"siren": "200057859", "name": "CA Coeur d'Essonne Agglomération"}
        })
    );

    // An island that belongs to no EPCI.
    let ouessant = json(&app, "/api/v1/communes/29155").await;
    assert_eq!(ouessant["epci"], Value::Null);

    let missing = app.get("/api/v1/communes/91999").await;
    let problem = assert_problem(missing, 404, "not-found").await;
    assert!(problem["detail"].as_str().unwrap().contains("91999"));
}

#[tokio::test]
async fn an_epci_with_its_members() {
    let app = TestApp::spawn().await;
    let epci = json(&app, "/api/v1/epcis/200057859").await;
    assert_eq!(epci["name"], "CA Coeur d'Essonne Agglomération");
    assert_eq!(epci["nature"], "CA");
    // The official population of the EPCI (domain reference §5).
    assert_eq!(epci["population"], 208019);
    assert_eq!(epci["member_count"], 21);
    let members: Vec<&str> = epci["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["insee"].as_str().unwrap())
        .collect();
    let expected: Vec<&str> = COEUR_D_ESSONNE.iter().map(|(insee, _, _)| *insee).collect();
    assert_eq!(members, expected);

    assert_problem(app.get("/api/v1/epcis/123456789").await, 404, "not-found").await;
}

#[tokio::test]
async fn bad_query_parameters_are_named_with_the_reason() {
    let app = TestApp::spawn().await;
    let cases = [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=ten", "limit"),
        ("cursor=9110", "cursor"),
        ("cursor=99999", "cursor"),
        ("epci=2000", "epci"),
        ("departement=9", "departement"),
        ("q=%20-%20", "q"),
    ];
    for (query, field) in cases {
        let response = app.get(&format!("/api/v1/communes?{query}")).await;
        let problem = assert_problem(response, 400, "invalid-parameter").await;
        assert_eq!(problem["errors"][0]["field"], field, "{query}: {problem}");
        assert!(
            problem["errors"][0]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }

    let unknown = app.get("/api/v1/communes?departemnt=91").await;
    let problem = assert_problem(unknown, 400, "invalid-parameter").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("departemnt"),
        "{problem}"
    );

    // Every error at once, not just the first.
    let several = app.get("/api/v1/communes?limit=0&epci=x").await;
    let problem = assert_problem(several, 400, "invalid-parameter").await;
    let fields = error_fields(&problem);
    assert_eq!(fields, ["epci", "limit"]);
}

#[tokio::test]
async fn the_whole_shipped_geography_is_in_the_database() {
    let app = TestApp::spawn().await;
    let shipped = sesame::geo::reference::shipped().expect("shipped geography");
    let mut conn = app.db().await;
    let count: i64 = communes::table.count().get_result(&mut conn).await.unwrap();
    assert_eq!(count, shipped.communes.len() as i64);
    assert!(count > 34_000, "every current commune of France: {count}");
    let searchable: String = communes::table
        .find("91207")
        .select(communes::search_name)
        .first(&mut conn)
        .await
        .unwrap();
    assert_eq!(searchable, "egly");
}
