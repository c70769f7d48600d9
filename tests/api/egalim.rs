//! EGalim indicators on a hand-built set of purchases whose every figure is
//! computed by hand below; the ma-cantine export validated against the real
//! schema; the territory's statistics and who may read them.

use std::path::Path;
use std::process::Command;

use chrono::{Datelike, Days};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::{Value, json};
use sesame::schema::communes;
use uuid::Uuid;

use crate::helpers::{
    SIRETS, Session, TestApp, assert_problem, canteen, farm, python_tools, siret,
};

async fn offer(app: &TestApp, who: &Session, org: &str, body: Value) -> String {
    let response = app
        .post_json(
            &format!("/api/v1/organisations/{org}/offers"),
            &body,
            Some(&who.access),
        )
        .await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn product(name: &str, family: &str, labels: &[&str], price: i64) -> Value {
    json!({
        "name": name, "family": family, "labels": labels, "origin": "FRANCE", "unit": "KGM",
        "price_cents": price, "vat_rate": "5.5", "on_demand": true, "min_order_quantity": "1",
        "order_step": "0.5", "lead_time_days": 0, "delivery_weekdays": [1, 2, 3, 4, 5, 6, 7]
    })
}

async fn act(app: &TestApp, who: &Session, order: &str, action: &str, body: Value) -> Value {
    let response = app
        .client
        .post(app.url(&format!("/api/v1/orders/{order}/{action}")))
        .bearer_auth(&who.access)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        200,
        "{action}: {}",
        response.text().await.unwrap()
    );
    response.json().await.unwrap()
}

/// Checks out, accepts, delivers (with `delivered` quantities by line) and
/// returns the order.
async fn bought(
    app: &TestApp,
    buyer: (&Session, &str),
    seller: &Session,
    date: chrono::NaiveDate,
    lines: &[(&str, &str)],
    delivered: Value,
) -> Value {
    let body = json!({
        "buyer_id": buyer.1, "delivery_date": date,
        "lines": lines.iter().map(|(o, q)| json!({"offer_id": o, "quantity": q})).collect::<Vec<_>>()
    });
    let response = app
        .client
        .post(app.url("/api/v1/orders"))
        .bearer_auth(&buyer.0.access)
        .header("Idempotency-Key", Uuid::now_v7().to_string())
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    let order = response.json::<Value>().await.unwrap()["orders"][0].clone();
    let id = order["id"].as_str().unwrap();
    act(app, seller, id, "accept", json!(null)).await;
    act(app, seller, id, "deliver", delivered).await
}

#[tokio::test]
async fn a_canteens_indicators_match_the_hand_computed_figures() {
    // Installed before the app starts: a long pip run inside the test would
    // outlast the server's keep-alive and break the client's pooled connection.
    let validator = tokio::task::spawn_blocking(python_tools)
        .await
        .unwrap()
        .join("frictionless");
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    // Farm A: organic, at Brétigny (91). Farm B: Label Rouge and HVE, at Marolles (91).
    let marie = app.signed_up("marie@ferme-envol.fr").await;
    let farm_a = app.create_organisation(&marie, farm(SIRETS[0])).await;
    app.verify(&admin, &farm_a).await;
    let paul = app.signed_up("paul@marolles.fr").await;
    let mut b = farm(SIRETS[1]);
    b["name"] = json!("Ferme de Marolles");
    b["commune_insee"] = json!("91376");
    b["farm"] = json!({"certifications": [{"label": "LABEL_ROUGE"}, {"label": "HVE"}], "productions": ["VIANDES_VOLAILLES", "FRUITS_ET_LEGUMES"]});
    let farm_b = app.create_organisation(&paul, b).await;
    app.verify(&admin, &farm_b).await;
    // A distributor carrying farm A's carrots and lentils from an outside farm in the 28.
    let luc = app.signed_up("luc@legumerie.fr").await;
    let mut d = farm(&siret(1));
    d["kind"] = json!("distributor");
    d["name"] = json!("Légumerie");
    d.as_object_mut().unwrap().remove("farm");
    d["distributor"] = json!({"delivery_area": [{"kind": "departement", "code": "91"}]});
    let distributor = app.create_organisation(&luc, d).await;
    app.verify(&admin, &distributor).await;
    app.carry((&luc, &distributor), (&marie, &farm_a)).await;
    // The canteen at Saint-Michel-sur-Orge (91), "local" = its département.
    let claire = app.signed_up("claire@mairie-smo.fr").await;
    let mut c = canteen(SIRETS[2]);
    c["canteen"]["local_definition"] = json!("DEPARTEMENT");
    c["canteen"].as_object_mut().unwrap().remove("local_km");
    let canteen_id = app.create_organisation(&claire, c).await;
    app.verify(&admin, &canteen_id).await;

    let carrots = offer(
        &app,
        &marie,
        &farm_a,
        product("Carottes", "FRUITS_ET_LEGUMES", &["BIO"], 180),
    )
    .await;
    let chicken = offer(
        &app,
        &paul,
        &farm_b,
        product("Poulet", "VIANDES_VOLAILLES", &["HVE", "LABEL_ROUGE"], 900),
    )
    .await;
    let apples = offer(
        &app,
        &paul,
        &farm_b,
        product("Pommes", "FRUITS_ET_LEGUMES", &["HVE"], 250),
    )
    .await;
    let pork = offer(
        &app,
        &paul,
        &farm_b,
        product("Sauté de porc", "VIANDES_VOLAILLES", &[], 1100),
    )
    .await;
    let mut resold = product("Carottes de l'Envol", "FRUITS_ET_LEGUMES", &["BIO"], 220);
    resold["producer"] = json!({"organisation_id": farm_a});
    let resold = offer(&app, &luc, &distributor, resold).await;
    let mut fish = product("Colin", "PRODUITS_DE_LA_MER", &[], 1300);
    fish["producer"] = json!({"name": "Armement Boulonnais", "commune_insee": "62160"});
    let fish = offer(&app, &luc, &distributor, fish).await;
    let mut lentils = product("Lentilles", "AUTRES", &[], 450);
    lentils["producer"] = json!({"name": "Ferme de Beauce", "commune_insee": "28085"});
    let lentils = offer(&app, &luc, &distributor, lentils).await;

    let start = chrono::Utc::now().date_naive() + Days::new(3);
    let day = |n: u64| start + Days::new(n);
    let canteen_side = (&claire, canteen_id.as_str());
    bought(
        &app,
        canteen_side,
        &marie,
        day(0),
        &[(&carrots, "10")],
        json!({}),
    )
    .await;
    // The apples come short: 18 kg of 20.
    bought(
        &app,
        canteen_side,
        &paul,
        day(1),
        &[(&chicken, "5"), (&apples, "20"), (&pork, "3")],
        json!({"lines": [{"line_no": 1, "quantity_delivered": "18"}]}),
    )
    .await;
    let third = bought(
        &app,
        canteen_side,
        &luc,
        day(2),
        &[(&resold, "5"), (&fish, "4"), (&lentils, "2")],
        json!({}),
    )
    .await;
    // The fish is disputed: it does not count.
    act(
        &app,
        &claire,
        third["id"].as_str().unwrap(),
        "dispute",
        json!({"lines": [{"line_no": 1, "reason": "Odeur suspecte"}]}),
    )
    .await;
    // An order never delivered does not count either.
    let body = json!({"buyer_id": canteen_id, "delivery_date": day(4), "lines": [{"offer_id": carrots, "quantity": "50"}]});
    let pending = app
        .client
        .post(app.url("/api/v1/orders"))
        .bearer_auth(&claire.access)
        .header("Idempotency-Key", "pending")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(pending.status(), 201);

    // By hand: carrots A 1,800 (BIO, short, local); chicken 4,500 (SIQO
    // over HVE, meat, short, local); apples 18 × 250 = 4,500 (other EGalim,
    // short, local); pork 3,300 (none, meat, short, local); carrots via the
    // distributor 1,100 (BIO, short: a named platform farm, local: farm A in
    // the 91); lentils 900 (none, not short, not local: the 28).
    let (from, to) = (day(0), day(10));
    let response = app
        .get_as(
            &format!("/api/v1/canteens/{canteen_id}/egalim?from={from}&to={to}"),
            &claire.access,
        )
        .await;
    assert_eq!(response.status(), 200);
    let report: Value = response.json().await.unwrap();
    let totals = &report["totals"];
    let expected = json!({
        "total_ht_cents": 16100, "bio_cents": 2900, "siqo_cents": 4500, "other_egalim_cents": 4500,
        "externalities_cents": 0, "egalim_cents": 11900, "meat_and_fish_cents": 7800,
        "meat_and_fish_egalim_cents": 4500, "france_cents": 16100, "short_circuit_cents": 15200,
        "local_cents": 15200, "local_unknown_cents": 0,
        "bio_percent": "18.0", "egalim_percent": "73.9", "meat_and_fish_egalim_percent": "57.7",
        "france_percent": "100.0", "short_circuit_percent": "94.4", "local_percent": "94.4"
    });
    assert_eq!(totals, &expected);
    assert_eq!(
        report["targets"],
        json!([
            {"name": "egalim", "target_percent": 50, "share_percent": "73.9", "met": true, "missing_cents": 0},
            {"name": "bio", "target_percent": 20, "share_percent": "18.0", "met": false, "missing_cents": 320},
            {"name": "meat_and_fish", "target_percent": 60, "share_percent": "57.7", "met": false, "missing_cents": 180}
        ])
    );
    let families: Vec<(&str, i64)> = report["by_family"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["family"].as_str().unwrap(),
                f["indicators"]["total_ht_cents"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        families,
        [
            ("AUTRES", 900),
            ("FRUITS_ET_LEGUMES", 7400),
            ("VIANDES_VOLAILLES", 7800)
        ]
    );
    let months: i64 = report["by_month"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["indicators"]["total_ht_cents"].as_i64().unwrap())
        .sum();
    assert_eq!(months, 16100);

    // The CSV has the same figures.
    let csv = app
        .get_as(
            &format!("/api/v1/canteens/{canteen_id}/egalim.csv?from={from}&to={to}"),
            &claire.access,
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(
        csv.lines()
            .nth(1)
            .unwrap()
            .starts_with("total,,16100,2900,4500,4500,0,11900,7800,4500,16100,15200,15200,0"),
        "{csv}"
    );

    // ma-cantine's file: a header and 6 rows, valid against the real schema.
    let export = app
        .get_as(
            &format!("/api/v1/canteens/{canteen_id}/ma-cantine-purchases?from={from}&to={to}"),
            &claire.access,
        )
        .await;
    assert_eq!(export.status(), 200);
    assert_eq!(export.headers()["content-type"], "text/csv; charset=utf-8");
    let text = export.text().await.unwrap();
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows.len(), 7, "{text}");
    assert!(rows.contains(&format!("{},Carottes,Ferme de l'Envol,{},18.00,FRUITS_ET_LEGUMES,BIO,FRANCE,OUI,OUI,DEPARTEMENT,", SIRETS[2], day(0)).as_str()), "{text}");
    assert!(
        rows.iter().any(|r| r.contains(",Poulet,")
            && r.contains(",45.00,VIANDES_VOLAILLES,\"HVE,LABEL_ROUGE\",FRANCE,OUI,OUI,")),
        "{text}"
    );
    assert!(rows.iter().any(|r| r.contains(",Lentilles,Légumerie,") && r.ends_with(",9.00,AUTRES,,FRANCE,,,,")), "{text}");
    // frictionless only reads files under its working directory.
    let dir = std::env::temp_dir().join(format!("ma-cantine-{}", Uuid::now_v7()));
    let validated_dir = dir.clone();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("achats.csv"), &text).unwrap();
    let schema = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/ma-cantine/achats_siret.schema.json");
    std::fs::copy(&schema, dir.join("schema.json")).unwrap();
    let validated = tokio::task::spawn_blocking(move || {
        Command::new(validator)
            .current_dir(&dir)
            .args(["validate", "--schema", "schema.json", "achats.csv"])
            .output()
    })
    .await
    .unwrap()
    .unwrap();
    std::fs::remove_dir_all(&validated_dir).ok();
    assert!(
        validated.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&validated.stdout),
        String::from_utf8_lossy(&validated.stderr)
    );

    // The agglomeration sees its canteen; another EPCI's authority does not.
    let agent = app.signed_up("pat@coeuressonne.fr").await;
    let mut authority = farm(&siret(2));
    authority["kind"] = json!("authority");
    authority["name"] = json!("Cœur d'Essonne Agglomération");
    authority.as_object_mut().unwrap().remove("farm");
    authority["authority"] = json!({"epci": "200057859"});
    let authority_id = app.create_organisation(&agent, authority).await;
    app.verify(&admin, &authority_id).await;
    let mut db = app.db().await;
    let other_epci: String = communes::table
        .filter(communes::departement_code.eq("91"))
        .filter(communes::epci_siren.ne("200057859"))
        .select(communes::epci_siren.assume_not_null())
        .first(&mut db)
        .await
        .unwrap();
    let stranger = app.signed_up("elu@autre-agglo.fr").await;
    let mut other = farm(&siret(3));
    other["kind"] = json!("authority");
    other["name"] = json!("Autre agglomération");
    other.as_object_mut().unwrap().remove("farm");
    other["authority"] = json!({"epci": other_epci});
    let other_id = app.create_organisation(&stranger, other).await;
    app.verify(&admin, &other_id).await;

    let seen = app
        .get_as(
            &format!("/api/v1/canteens/{canteen_id}/egalim?from={from}&to={to}"),
            &agent.access,
        )
        .await;
    assert_eq!(seen.status(), 200);
    assert_problem(
        app.get_as(
            &format!("/api/v1/canteens/{canteen_id}/egalim?from={from}&to={to}"),
            &stranger.access,
        )
        .await,
        404,
        "not-found",
    )
    .await;
    assert_problem(
        app.get_as(
            &format!("/api/v1/authorities/{authority_id}/statistics"),
            &stranger.access,
        )
        .await,
        404,
        "not-found",
    )
    .await;
    assert_problem(
        app.get_as(
            &format!("/api/v1/canteens/{canteen_id}/egalim?from={from}&to={to}"),
            &paul.access,
        )
        .await,
        404,
        "not-found",
    )
    .await;

    let stats: Value = app
        .get_as(
            &format!("/api/v1/authorities/{authority_id}/statistics?from={from}&to={to}"),
            &agent.access,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stats["total_ht_cents"], 16100, "{stats}");
    let cells = stats["cells"].as_array().unwrap();
    let bio_epci: i64 = cells
        .iter()
        .filter(|c| c["label_group"] == "bio" && c["origin_class"] == "epci")
        .map(|c| c["value_ht_cents"].as_i64().unwrap())
        .sum();
    assert_eq!(bio_epci, 2900, "farm A at Brétigny is in the EPCI");
    let lentil_cell = cells.iter().find(|c| c["family"] == "AUTRES").unwrap();
    // The 28 is in another region: elsewhere in France.
    assert_eq!(
        (
            lentil_cell["origin_class"].as_str(),
            lentil_cell["label_group"].as_str()
        ),
        (Some("france"), Some("none"))
    );
    assert_eq!(lentil_cell["quantities"], json!({"KGM": "2"}));
    // The CSV form is an operation of its own, with the same cells.
    let csv = app
        .get_as(
            &format!("/api/v1/authorities/{authority_id}/statistics.csv?from={from}&to={to}"),
            &agent.access,
        )
        .await;
    assert_eq!(csv.status(), 200);
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = csv.text().await.unwrap();
    let rows: Vec<Vec<&str>> = csv.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(rows[0][4], "value_ht_cents", "{csv}");
    assert_eq!(rows.len(), cells.len() + 1, "{csv}");
    let csv_total: i64 = rows[1..].iter().map(|r| r[4].parse::<i64>().unwrap()).sum();
    assert_eq!(csv_total, 16100, "{csv}");
    assert!(
        rows.iter()
            .any(|r| r[1..4] == ["AUTRES", "none", "france"] && r[5] == "KGM=2"),
        "{csv}"
    );
    // The JSON operation has no `format` parameter any more: a clear 400.
    assert_problem(
        app.get_as(
            &format!(
                "/api/v1/authorities/{authority_id}/statistics?from={from}&to={to}&format=csv"
            ),
            &agent.access,
        )
        .await,
        400,
        "invalid-parameter",
    )
    .await;
    assert_problem(
        app.get_as(
            &format!("/api/v1/authorities/{authority_id}/statistics.csv"),
            &stranger.access,
        )
        .await,
        404,
        "not-found",
    )
    .await;
    let progress: Value = app.get_as(&format!("/api/v1/authorities/{authority_id}/progress?from={from}&to={to}&organic_farms_target=1"), &agent.access).await.json().await.unwrap();
    let sum: i64 = progress["canteens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["total_ht_cents"].as_i64().unwrap())
        .sum();
    assert_eq!(
        (progress["total_ht_cents"].as_i64(), sum),
        (Some(16100), 16100)
    );
    assert_eq!(
        progress["organic_farms"],
        json!({"active": 1, "target": 1, "met": true})
    );
    assert_eq!(progress["organic_or_local"]["share_percent"], "94.4");
    let year = from.year();
    let default_year = app
        .get_as(
            &format!("/api/v1/authorities/{authority_id}/progress?year={year}"),
            &agent.access,
        )
        .await;
    assert_eq!(default_year.status(), 200);
    let bad = app
        .get_as(
            &format!("/api/v1/canteens/{canteen_id}/egalim?from={to}&to={from}"),
            &claire.access,
        )
        .await;
    assert_problem(bad, 400, "invalid-parameter").await;
}
