//! Consultations: a canteen calls for sealed answers, two farms answer,
//! nobody reads a price before the deadline, the deadline freezes the
//! answers (exactly those received before it count), the buyer marks and
//! awards, the award makes a contract and the bidders learn the outcome;
//! the criterion rules; concurrent awards; DECP records validated against
//! the official schema. Time passes by moving the deadline in the database.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use chrono::{DateTime, Duration, Utc};
use diesel::sql_types::{Text, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::helpers::{
    SIRETS, Session, TestApp, assert_problem, canteen, error_fields, farm, item_keys, python_tools,
    siret,
};

struct Market {
    app: TestApp,
    admin: Session,
    chef: Session,
    canteen: String,
    marie: Session,
    farm_a: String,
    paul: Session,
    farm_b: String,
    /// A dairy farm: not alerted for vegetables.
    dairy: String,
    jeanne: Session,
}

impl Market {
    async fn new() -> Self {
        let app = TestApp::spawn().await;
        let admin = app.admin().await;
        let chef = app.signed_up("chef@mairie.fr").await;
        let canteen = app.create_organisation(&chef, canteen(SIRETS[3])).await;
        app.verify(&admin, &canteen).await;
        let (marie, farm_a) = vegetable_farm(&app, &admin, "marie@ferme-envol.fr", SIRETS[0]).await;
        let (paul, farm_b) = vegetable_farm(&app, &admin, "paul@marolles.fr", SIRETS[1]).await;
        let jeanne = app.signed_up("jeanne@laiterie.fr").await;
        let mut dairy = farm(SIRETS[2]);
        dairy["name"] = json!("Laiterie du Plateau");
        dairy["farm"] = json!({"certifications": [], "productions": ["PRODUITS_LAITIERS"]});
        let dairy = app.create_organisation(&jeanne, dairy).await;
        app.verify(&admin, &dairy).await;
        Market {
            app,
            admin,
            chef,
            canteen,
            marie,
            farm_a,
            paul,
            farm_b,
            dairy,
            jeanne,
        }
    }

    async fn create(&self, body: &Value) -> Value {
        let response = self
            .app
            .post_json("/api/v1/consultations", body, Some(&self.chef.access))
            .await;
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
        response.json().await.unwrap()
    }

    async fn publish(&self, id: &str) -> Value {
        let response = self
            .app
            .post_json(
                &format!("/api/v1/consultations/{id}/publish"),
                &json!(null),
                Some(&self.chef.access),
            )
            .await;
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
        response.json().await.unwrap()
    }

    /// A published MAPA with one lot of organic carrots delivered to the canteen.
    async fn published(&self) -> String {
        let created = self.create(&mapa(&self.canteen)).await;
        let id = created["id"].as_str().unwrap().to_owned();
        self.publish(&id).await;
        id
    }
}

async fn vegetable_farm(
    app: &TestApp,
    admin: &Session,
    email: &str,
    siret: &str,
) -> (Session, String) {
    let who = app.signed_up(email).await;
    let mut body = farm(siret);
    body["name"] = json!(format!("Ferme {}", email.split('@').next().unwrap()));
    let id = app.create_organisation(&who, body).await;
    app.verify(admin, &id).await;
    // An active offer of the family, delivering anywhere: it can serve the canteen.
    let offer = json!({
        "name": "Carottes", "family": "FRUITS_ET_LEGUMES", "labels": ["BIO"], "origin": "FRANCE",
        "unit": "KGM", "price_cents": 200, "vat_rate": "5.5", "on_demand": true,
        "min_order_quantity": "1", "order_step": "1", "lead_time_days": 2,
        "delivery_weekdays": [1, 2, 3, 4, 5]
    });
    let response = app
        .post_json(
            &format!("/api/v1/organisations/{id}/offers"),
            &offer,
            Some(&who.access),
        )
        .await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    (who, id)
}

fn in_days(days: i64) -> String {
    (Utc::now() + Duration::days(days)).to_rfc3339()
}

fn mapa(canteen: &str) -> Value {
    json!({
        "buyer_id": canteen,
        "title": "Légumes de saison",
        "description": "Légumes frais pour l'école.",
        "procedure": "mapa",
        "answers_due_at": in_days(25),
        "criteria": [
            {"kind": "price", "description": "Prix unitaire HT", "weight": 60},
            {"kind": "environmental", "description": "Emballages réutilisables", "weight": 40}
        ],
        "lots": [{
            "description": "Carottes lavées",
            "family": "FRUITS_ET_LEGUMES",
            "labels": ["BIO"],
            "unit": "KGM",
            "quantity": "600",
            "estimated_amount_ht_cents": 120000,
            "delivery": {"weekdays": [2, 4], "from": "2027-01-05", "until": "2027-03-31"},
            "site_ids": [canteen]
        }]
    })
}

fn answer(price: i64) -> Value {
    json!({
        "unit_price_cents": price, "vat_rate": "5.5", "labels": ["BIO"], "origin": "FRANCE",
        "delivery_terms": "Mardi et jeudi avant 8 h", "note": "Plein champ"
    })
}

async fn put(app: &TestApp, path: &str, body: &Value, token: &str) -> reqwest::Response {
    app.client
        .put(app.url(path))
        .json(body)
        .bearer_auth(token)
        .send()
        .await
        .expect("request")
}

async fn submit(
    app: &TestApp,
    who: &Session,
    supplier: &str,
    id: &str,
    price: i64,
) -> reqwest::Response {
    put(
        app,
        &format!("/api/v1/organisations/{supplier}/consultations/{id}/lots/1/answer"),
        &answer(price),
        &who.access,
    )
    .await
}

async fn json_ok(response: reqwest::Response) -> Value {
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, 200, "{text}");
    serde_json::from_str(&text).unwrap()
}

/// The deadline passes: moved into the past, as time would.
async fn pass_deadline(app: &TestApp, id: &str) {
    let mut db = app.db().await;
    diesel::sql_query(
        "UPDATE consultations SET answers_due_at = now() - interval '1 second' WHERE id = $1",
    )
    .bind::<SqlUuid, _>(Uuid::parse_str(id).unwrap())
    .execute(&mut db)
    .await
    .unwrap();
}

async fn text_of(app: &TestApp, sql: &str) -> String {
    #[derive(diesel::QueryableByName)]
    struct T {
        #[diesel(sql_type = Text)]
        t: String,
    }
    let mut db = app.db().await;
    diesel::sql_query(sql)
        .get_result::<T>(&mut db)
        .await
        .unwrap()
        .t
}

async fn feed(app: &TestApp, who: &Session, organisation: &str) -> Vec<Value> {
    let body = json_ok(
        app.get_as(
            &format!("/api/v1/organisations/{organisation}/events?limit=500"),
            &who.access,
        )
        .await,
    )
    .await;
    body["items"].as_array().cloned().unwrap_or_default()
}

fn types(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .filter_map(|e| e["type"].as_str().or(e["event_type"].as_str()))
        .collect()
}

fn hex_sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn consultation_lists_page_by_cursor_without_overlap() {
    let m = Market::new().await;
    let app = &m.app;
    let mut created = Vec::new();
    for _ in 0..3 {
        let consultation = m.create(&mapa(&m.canteen)).await;
        let id = consultation["id"].as_str().unwrap().to_owned();
        m.publish(&id).await;
        created.push(id);
    }
    let list = |path: String, who: &Session| {
        let access = who.access.clone();
        async move { json_ok(app.get_as(&path, &access).await).await }
    };
    let ids = |page: &Value| item_keys(page, "id");

    // The buyer's list, newest first, two by two.
    let buyer = format!("/api/v1/organisations/{}/consultations", m.canteen);
    let first = list(format!("{buyer}?limit=2"), &m.chef).await;
    assert_eq!(ids(&first), [created[2].clone(), created[1].clone()]);
    let cursor = first["next_cursor"].as_str().unwrap();
    assert_eq!(cursor, created[1]);
    let second = list(format!("{buyer}?limit=2&cursor={cursor}"), &m.chef).await;
    assert_eq!(ids(&second), [created[0].clone()]);
    assert_eq!(second["next_cursor"], Value::Null);

    // The supplier's open list, nearest deadline first (created in order,
    // same deadline rule: creation order), one by one.
    let open = format!("/api/v1/organisations/{}/open-consultations", m.farm_a);
    let whole = list(format!("{open}?limit=200"), &m.marie).await;
    assert_eq!(whole["next_cursor"], Value::Null);
    let mut paged = Vec::new();
    let mut cursor = None::<String>;
    loop {
        let after = cursor.map(|c| format!("&cursor={c}")).unwrap_or_default();
        let page = list(format!("{open}?limit=1{after}"), &m.marie).await;
        paged.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(paged, ids(&whole));
    assert_eq!(paged.len(), 3);

    for path in [&buyer, &open] {
        let who = if path == &buyer { &m.chef } else { &m.marie };
        let unknown = app
            .get_as(&format!("{path}?cursor={}", Uuid::now_v7()), &who.access)
            .await;
        let problem = assert_problem(unknown, 400, "invalid-parameter").await;
        assert_eq!(problem["errors"][0]["field"], "cursor");
        let too_many = app.get_as(&format!("{path}?limit=201"), &who.access).await;
        assert_problem(too_many, 400, "invalid-parameter").await;
    }
}

#[tokio::test]
async fn a_consultation_from_call_to_contract_keeps_prices_sealed_until_the_deadline() {
    let m = Market::new().await;
    let app = &m.app;
    let created = m.create(&mapa(&m.canteen)).await;
    assert_eq!(created["status"], "draft");
    assert_eq!(created["minimum_answer_days"], 20);
    let id = created["id"].as_str().unwrap().to_owned();
    // A draft is the buyer's own.
    assert_problem(
        app.get_as(&format!("/api/v1/consultations/{id}"), &m.marie.access)
            .await,
        404,
        "not-found",
    )
    .await;
    let published = m.publish(&id).await;
    assert_eq!(published["status"], "published");
    assert_problem(
        app.post_json(
            &format!("/api/v1/consultations/{id}/publish"),
            &json!(null),
            Some(&m.chef.access),
        )
        .await,
        409,
        "conflict",
    )
    .await;

    // Alerts go to the farms that can serve the lot, not to the dairy.
    let alerted = |events: &[Value]| types(events).contains(&"consultation.alert");
    assert!(alerted(&feed(app, &m.marie, &m.farm_a).await));
    assert!(alerted(&feed(app, &m.paul, &m.farm_b).await));
    assert!(!alerted(&feed(app, &m.jeanne, &m.dairy).await));
    let open = json_ok(
        app.get_as(
            &format!("/api/v1/organisations/{}/open-consultations", m.farm_a),
            &m.marie.access,
        )
        .await,
    )
    .await;
    assert_eq!(open["items"][0]["id"], id.as_str());
    let none = json_ok(
        app.get_as(
            &format!("/api/v1/organisations/{}/open-consultations", m.dairy),
            &m.jeanne.access,
        )
        .await,
    )
    .await;
    assert_eq!(none["items"], json!([]));

    // Two farms answer; Marie revises hers.
    let first = json_ok(submit(app, &m.marie, &m.farm_a, &id, 200).await).await;
    assert_eq!(first["revision"], 1);
    json_ok(submit(app, &m.paul, &m.farm_b, &id, 180).await).await;
    let receipt = json_ok(submit(app, &m.marie, &m.farm_a, &id, 190).await).await;
    assert_eq!(receipt["revision"], 2);
    assert_eq!(receipt["answer_id"], first["answer_id"]);
    let canonical = receipt["canonical"].as_str().unwrap();
    assert_eq!(receipt["sha256"], hex_sha256(canonical));
    let sent: Value = serde_json::from_str(canonical).unwrap();
    assert_eq!(sent["unit_price_cents"], 190);
    assert_eq!(sent["received_at"], receipt["received_at"]);
    // Labels are checked against the producer's certifications.
    let mut uncertified = answer(150);
    uncertified["labels"] = json!(["BIO", "HVE"]);
    let problem = assert_problem(
        put(
            app,
            &format!(
                "/api/v1/organisations/{}/consultations/{id}/lots/1/answer",
                m.farm_b
            ),
            &uncertified,
            &m.paul.access,
        )
        .await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(error_fields(&problem), ["labels[1]"]);
    // A supplier answers only for its own organisation.
    assert_problem(
        submit(app, &m.paul, &m.farm_a, &id, 1).await,
        404,
        "not-found",
    )
    .await;

    // Before the deadline nobody reads a price: not the buyer, not another
    // supplier, not an administrator; not even how many answers there are.
    for who in [&m.chef, &m.admin, &m.paul] {
        let seen = app
            .get_as(&format!("/api/v1/consultations/{id}"), &who.access)
            .await;
        let text = seen.text().await.unwrap();
        assert!(!text.contains("unit_price_cents"), "{text}");
        let body: Value = serde_json::from_str(&text).unwrap();
        // The prices answered (190 and 180 cents) appear nowhere, in any
        // form; ids and timestamps may hold those digits by chance.
        assert!(!holds_price(&body, &[190, 180]), "{text}");
        assert_eq!(body["answers_received"], Value::Null);
        assert_eq!(body["status"], "published");
    }
    assert_problem(
        app.get_as(
            &format!("/api/v1/consultations/{id}/evaluation"),
            &m.chef.access,
        )
        .await,
        409,
        "answers-sealed",
    )
    .await;
    assert_problem(
        app.get_as(
            &format!("/api/v1/consultations/{id}/evaluation"),
            &m.admin.access,
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        app.get_as(
            &format!("/api/v1/consultations/{id}/evaluation"),
            &m.paul.access,
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    let answer_a = first["answer_id"].as_str().unwrap();
    let marks =
        json!({"marks": [{"position": 2, "mark": "100", "justification": "Caisses consignées"}]});
    let sealed = assert_problem(
        put(
            app,
            &format!("/api/v1/consultations/{id}/answers/{answer_a}/marks"),
            &marks,
            &m.chef.access,
        )
        .await,
        409,
        "answers-sealed",
    )
    .await;
    assert!(!sealed.to_string().contains("190"));
    assert_problem(
        app.post_json(
            &format!("/api/v1/consultations/{id}/lots/1/award"),
            &json!({"answer_id": answer_a, "rationale": "trop tôt"}),
            Some(&m.chef.access),
        )
        .await,
        409,
        "answers-sealed",
    )
    .await;
    // Another supplier cannot read Marie's answers; Paul sees only his own.
    assert_problem(
        app.get_as(
            &format!(
                "/api/v1/organisations/{}/consultations/{id}/answers",
                m.farm_a
            ),
            &m.paul.access,
        )
        .await,
        404,
        "not-found",
    )
    .await;
    // Nor an administrator acting for the farm.
    assert_problem(
        app.get_as(
            &format!(
                "/api/v1/organisations/{}/consultations/{id}/answers",
                m.farm_a
            ),
            &m.admin.access,
        )
        .await,
        404,
        "not-found",
    )
    .await;
    let own = json_ok(
        app.get_as(
            &format!(
                "/api/v1/organisations/{}/consultations/{id}/answers",
                m.farm_b
            ),
            &m.paul.access,
        )
        .await,
    )
    .await;
    assert_eq!(own["items"].as_array().unwrap().len(), 1);
    assert_eq!(own["items"][0]["answer"]["unit_price_cents"], 180);
    let mine = json_ok(
        app.get_as(
            &format!(
                "/api/v1/organisations/{}/consultations/{id}/answers",
                m.farm_a
            ),
            &m.marie.access,
        )
        .await,
    )
    .await;
    assert_eq!(mine["items"][0]["receipts"].as_array().unwrap().len(), 2);
    assert_eq!(mine["items"][0]["outcome"], Value::Null);
    // No feed but the answering supplier's own carries anything about its price.
    for (who, org) in [
        (&m.chef, &m.canteen),
        (&m.paul, &m.farm_b),
        (&m.jeanne, &m.dairy),
    ] {
        let text = serde_json::to_string(&feed(app, who, org).await).unwrap();
        assert!(
            !text.contains("unit_price_cents") && !text.contains(answer_a),
            "{text}"
        );
    }

    // The deadline passes: answers are frozen.
    pass_deadline(app, &id).await;
    assert_problem(
        submit(app, &m.marie, &m.farm_a, &id, 100).await,
        409,
        "consultation-closed",
    )
    .await;
    assert_eq!(
        app.count(&format!(
            "SELECT unit_price_cents AS n FROM consultation_answers WHERE id = '{answer_a}'"
        ))
        .await,
        190
    );
    let closed = json_ok(
        app.get_as(&format!("/api/v1/consultations/{id}"), &m.chef.access)
            .await,
    )
    .await;
    assert_eq!(closed["status"], "closed");
    assert_eq!(closed["answers_received"], 2);

    // Evaluation: price marked automatically, the rest by the buyer.
    let evaluation = json_ok(
        app.get_as(
            &format!("/api/v1/consultations/{id}/evaluation"),
            &m.chef.access,
        )
        .await,
    )
    .await;
    let lot = &evaluation["lots"][0];
    assert_eq!(lot["complete"], false);
    let by_supplier: BTreeMap<String, Value> = lot["answers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["answer"]["supplier"]["id"].as_str().unwrap().to_owned(),
                a.clone(),
            )
        })
        .collect();
    assert_eq!(by_supplier[&m.farm_b]["marks"][0]["mark"], "100");
    assert_eq!(by_supplier[&m.farm_a]["marks"][0]["mark"], "94.74");
    // The buyer can check each answer against its receipt.
    let a = &by_supplier[&m.farm_a]["answer"];
    assert_eq!(a["sha256"], receipt["sha256"]);
    assert_eq!(a["revision"], 2);
    let answer_b = by_supplier[&m.farm_b]["answer"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_problem(
        app.post_json(
            &format!("/api/v1/consultations/{id}/lots/1/award"),
            &json!({"answer_id": answer_a, "rationale": "Meilleure note"}),
            Some(&m.chef.access),
        )
        .await,
        409,
        "conflict",
    )
    .await;
    let no_reason = json!({"marks": [{"position": 2, "mark": "50", "justification": " "}]});
    let problem = assert_problem(
        put(
            app,
            &format!("/api/v1/consultations/{id}/answers/{answer_b}/marks"),
            &no_reason,
            &m.chef.access,
        )
        .await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(error_fields(&problem), ["marks[0].justification"]);
    let price = json!({"marks": [{"position": 1, "mark": "50", "justification": "non"}]});
    assert_problem(
        put(
            app,
            &format!("/api/v1/consultations/{id}/answers/{answer_b}/marks"),
            &price,
            &m.chef.access,
        )
        .await,
        422,
        "validation-failed",
    )
    .await;
    let mark_b =
        json!({"marks": [{"position": 2, "mark": "50", "justification": "Cagettes jetables"}]});
    json_ok(
        put(
            app,
            &format!("/api/v1/consultations/{id}/answers/{answer_b}/marks"),
            &mark_b,
            &m.chef.access,
        )
        .await,
    )
    .await;
    let evaluation = json_ok(
        put(
            app,
            &format!("/api/v1/consultations/{id}/answers/{answer_a}/marks"),
            &marks,
            &m.chef.access,
        )
        .await,
    )
    .await;
    let lot = &evaluation["lots"][0];
    assert_eq!(lot["complete"], true);
    // Recomputed by hand: A = 0.6 × (100 × 180 / 190 = 94.74) + 0.4 × 100 = 96.84;
    // B = 0.6 × 100 + 0.4 × 50 = 80.
    assert_eq!(
        lot["answers"][0]["answer"]["supplier"]["id"],
        m.farm_a.as_str()
    );
    assert_eq!(lot["answers"][0]["score"], "96.84");
    assert_eq!(lot["answers"][0]["rank"], 1);
    assert_eq!(lot["answers"][1]["score"], "80");

    // The award goes to the best-ranked answer, with a rationale.
    let problem = assert_problem(
        app.post_json(
            &format!("/api/v1/consultations/{id}/lots/1/award"),
            &json!({"answer_id": answer_b, "rationale": "Moins cher"}),
            Some(&m.chef.access),
        )
        .await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(error_fields(&problem), ["answer_id"]);
    let decision = json_ok(
        app.post_json(
            &format!("/api/v1/consultations/{id}/lots/1/award"),
            &json!({"answer_id": answer_a, "rationale": "Meilleure note globale", "valid_from": "2027-01-04"}),
            Some(&m.chef.access),
        )
        .await,
    )
    .await;
    assert_eq!(decision["status"], "awarded");
    assert_eq!(decision["consultation_status"], "awarded");
    let contract_id = decision["contract_id"].as_str().unwrap().to_owned();
    // Final: no second award, no new marks.
    assert_problem(
        app.post_json(
            &format!("/api/v1/consultations/{id}/lots/1/award"),
            &json!({"answer_id": answer_a, "rationale": "encore"}),
            Some(&m.chef.access),
        )
        .await,
        409,
        "lot-decided",
    )
    .await;
    assert_problem(
        put(
            app,
            &format!("/api/v1/consultations/{id}/answers/{answer_b}/marks"),
            &mark_b,
            &m.chef.access,
        )
        .await,
        409,
        "lot-decided",
    )
    .await;

    // The contract, for its parties only.
    for who in [&m.chef, &m.marie] {
        let contract = json_ok(
            app.get_as(&format!("/api/v1/contracts/{contract_id}"), &who.access)
                .await,
        )
        .await;
        assert_eq!(contract["unit_price_cents"], 190);
        assert_eq!(contract["quantity"], "600");
        assert_eq!(contract["amount_ht_cents"], 114_000);
        assert_eq!(contract["valid_from"], "2027-01-04");
        assert_eq!(contract["valid_until"], "2027-03-31");
        assert_eq!(contract["status"], "active");
        assert_eq!(contract["supplier"]["id"], m.farm_a.as_str());
        assert_eq!(contract["canteens"][0]["id"], m.canteen.as_str());
    }
    assert_problem(
        app.get_as(&format!("/api/v1/contracts/{contract_id}"), &m.paul.access)
            .await,
        404,
        "not-found",
    )
    .await;
    // The authority of the canteen's territory reads it too.
    let agent = app.signed_up("agent@coeuressonne.fr").await;
    let mut authority = farm(&siret(3));
    authority["kind"] = json!("authority");
    authority["name"] = json!("Cœur d'Essonne Agglomération");
    authority.as_object_mut().unwrap().remove("farm");
    authority["authority"] = json!({"epci": "200057859"});
    let authority = app.create_organisation(&agent, authority).await;
    app.verify(&m.admin, &authority).await;
    let seen = json_ok(
        app.get_as(&format!("/api/v1/contracts/{contract_id}"), &agent.access)
            .await,
    )
    .await;
    assert_eq!(seen["amount_ht_cents"], 114_000);
    let listed = json_ok(
        app.get_as(
            &format!("/api/v1/organisations/{}/contracts", m.farm_a),
            &m.marie.access,
        )
        .await,
    )
    .await;
    assert_eq!(listed["items"][0]["id"], contract_id.as_str());
    assert_eq!(app.count("SELECT count(*) AS n FROM contracts").await, 1);
    assert_eq!(
        text_of(
            app,
            &format!("SELECT status AS t FROM consultations WHERE id = '{id}'")
        )
        .await,
        "awarded"
    );
    assert_eq!(
        text_of(
            app,
            &format!("SELECT status AS t FROM consultation_lots WHERE consultation_id = '{id}'")
        )
        .await,
        "awarded"
    );
    let shown = json_ok(
        app.get_as(&format!("/api/v1/consultations/{id}"), &m.paul.access)
            .await,
    )
    .await;
    assert_eq!(
        shown["lots"][0]["award"]["supplier"]["id"],
        m.farm_a.as_str()
    );
    assert_eq!(
        shown["lots"][0]["award"]["contract_id"],
        contract_id.as_str()
    );

    // Each bidder learns its rank, its score and the winner's.
    let mine = json_ok(
        app.get_as(
            &format!(
                "/api/v1/organisations/{}/consultations/{id}/answers",
                m.farm_a
            ),
            &m.marie.access,
        )
        .await,
    )
    .await;
    let outcome = &mine["items"][0]["outcome"];
    assert_eq!(
        (
            outcome["rank"].clone(),
            outcome["won"].clone(),
            outcome["score"].clone()
        ),
        (json!(1), json!(true), json!("96.84"))
    );
    let theirs = json_ok(
        app.get_as(
            &format!(
                "/api/v1/organisations/{}/consultations/{id}/answers",
                m.farm_b
            ),
            &m.paul.access,
        )
        .await,
    )
    .await;
    let outcome = &theirs["items"][0]["outcome"];
    assert_eq!(outcome["rank"], 2);
    assert_eq!(outcome["won"], false);
    assert_eq!(outcome["score"], "80");
    assert_eq!(outcome["winner_score"], "96.84");
    assert_eq!(outcome["winner"]["id"], m.farm_a.as_str());
    assert_eq!(outcome["rationale"], "Meilleure note globale");

    // Every step is on the feeds.
    let canteen_events = feed(app, &m.chef, &m.canteen).await;
    let kinds = types(&canteen_events);
    for expected in [
        "consultation.drafted",
        "consultation.published",
        "consultation.closed",
        "consultation.lot_awarded",
        "consultation.awarded",
        "contract.created",
    ] {
        assert!(
            kinds.contains(&expected),
            "{expected} missing from {kinds:?}"
        );
    }
    let paul_events = feed(app, &m.paul, &m.farm_b).await;
    let kinds = types(&paul_events);
    for expected in [
        "consultation.alert",
        "consultation.answer_received",
        "consultation.closed",
        "consultation.outcome",
    ] {
        assert!(
            kinds.contains(&expected),
            "{expected} missing from {kinds:?}"
        );
    }
}

#[tokio::test]
async fn unlawful_or_malformed_criteria_are_refused_with_the_rule() {
    let m = Market::new().await;
    let app = &m.app;
    let token = m.chef.access.as_str();
    let post = |body: Value| async move {
        app.post_json("/api/v1/consultations", &body, Some(token))
            .await
    };
    let with = |criteria: Value| {
        let mut body = mapa(&m.canteen);
        body["criteria"] = criteria;
        body
    };
    let local = post(with(json!([
        {"kind": "price", "description": "Prix", "weight": 50},
        {"kind": "local", "description": "Producteurs du territoire", "weight": 50}
    ])))
    .await;
    let problem = assert_problem(local, 422, "local-preference-forbidden").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("R2111-7"),
        "{problem}"
    );
    let worded = post(with(json!([
        {"kind": "price", "description": "Prix", "weight": 50},
        {"kind": "environmental", "description": "Produits locaux, moins de 50 km", "weight": 50}
    ])))
    .await;
    let problem = assert_problem(worded, 422, "local-preference-forbidden").await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .starts_with("criteria[1].description")
    );
    let price_only = post(with(
        json!([{"kind": "price", "description": "Prix", "weight": 100}]),
    ))
    .await;
    let problem = assert_problem(price_only, 422, "price-only-criteria").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("2022-767"),
        "{problem}"
    );
    let no_environment = post(with(json!([
        {"kind": "price", "description": "Prix", "weight": 70},
        {"kind": "quality", "description": "Goût", "weight": 30}
    ])))
    .await;
    assert_problem(no_environment, 422, "price-only-criteria").await;
    // Direct supply is allowed.
    let direct = post(with(json!([
        {"kind": "price", "description": "Prix", "weight": 40},
        {"kind": "environmental", "description": "Emballages", "weight": 30},
        {"kind": "direct_supply", "description": "Au plus un intermédiaire", "weight": 30}
    ])))
    .await;
    assert_eq!(direct.status(), 201);
    let short = post(with(json!([
        {"kind": "price", "description": "Prix", "weight": 50},
        {"kind": "environmental", "description": "Emballages", "weight": 40}
    ])))
    .await;
    let problem = assert_problem(short, 422, "validation-failed").await;
    assert_eq!(error_fields(&problem), ["criteria"]);
    // The minimum time to answer: 20 days for a MAPA.
    let mut soon = mapa(&m.canteen);
    soon["answers_due_at"] = json!(in_days(5));
    let problem = assert_problem(post(soon).await, 422, "validation-failed").await;
    assert_eq!(error_fields(&problem), ["answers_due_at"]);
    // A framework agreement: a duration of at most 4 years, a range and a maximum.
    let mut framework = mapa(&m.canteen);
    framework["procedure"] = json!("accord_cadre");
    framework["duration_months"] = json!(60);
    let problem = assert_problem(post(framework).await, 422, "validation-failed").await;
    let fields = error_fields(&problem);
    assert!(
        fields.contains(&"duration_months")
            && fields.contains(&"lots[0].quantity_range")
            && fields.contains(&"lots[0].max_amount_ht_cents"),
        "{fields:?}"
    );
    // A canteen delivers itself; farms do not run consultations.
    let mut elsewhere = mapa(&m.canteen);
    elsewhere["lots"][0]["site_ids"] = json!([m.farm_a]);
    let problem = assert_problem(post(elsewhere).await, 422, "validation-failed").await;
    assert_eq!(error_fields(&problem), ["lots[0].site_ids[0]"]);
    let mut by_farm = mapa(&m.farm_a);
    by_farm["lots"][0]["site_ids"] = json!([m.farm_a]);
    assert_problem(
        app.post_json("/api/v1/consultations", &by_farm, Some(&m.marie.access))
            .await,
        403,
        "forbidden",
    )
    .await;
    assert_eq!(
        app.count("SELECT count(*) AS n FROM consultations").await,
        1
    );
}

#[tokio::test]
async fn exactly_the_answers_received_before_the_deadline_count() {
    let m = Market::new().await;
    let app = &m.app;
    let id = m.published().await;
    let mut suppliers = vec![(m.marie, m.farm_a), (m.paul, m.farm_b)];
    for i in 0..4 {
        suppliers.push(
            vegetable_farm(
                app,
                &m.admin,
                &format!("ferme{i}@essonne.fr"),
                &siret(20 + i),
            )
            .await,
        );
    }
    // The deadline is a moment away, by the database's clock.
    let deadline: DateTime<Utc> = {
        #[derive(diesel::QueryableByName)]
        struct At {
            #[diesel(sql_type = diesel::sql_types::Timestamptz)]
            at: DateTime<Utc>,
        }
        let mut db = app.db().await;
        diesel::sql_query(
            "UPDATE consultations SET answers_due_at = clock_timestamp() + interval '700 milliseconds' \
              WHERE id = $1 RETURNING answers_due_at AS at",
        )
        .bind::<SqlUuid, _>(Uuid::parse_str(&id).unwrap())
        .get_result::<At>(&mut db)
        .await
        .unwrap()
        .at
    };
    // Every supplier sends revisions as fast as it can until refused.
    let runs = suppliers.iter().map(|(who, org)| {
        let id = id.clone();
        async move {
            let mut accepted: Vec<(i64, Value)> = Vec::new();
            for price in 1000..1400 {
                let response = submit(app, who, org, &id, price).await;
                match response.status().as_u16() {
                    200 => accepted.push((price, response.json().await.unwrap())),
                    409 => {
                        let problem: Value = response.json().await.unwrap();
                        assert_eq!(
                            problem["type"],
                            "https://sesame.example/problems/consultation-closed"
                        );
                        return (org.clone(), accepted, true);
                    }
                    other => panic!("unexpected {other}: {}", response.text().await.unwrap()),
                }
            }
            (org.clone(), accepted, false)
        }
    });
    let results = futures_util::future::join_all(runs).await;
    let evaluation = json_ok(
        app.get_as(
            &format!("/api/v1/consultations/{id}/evaluation"),
            &m.chef.access,
        )
        .await,
    )
    .await;
    let answers = evaluation["lots"][0]["answers"].as_array().unwrap();
    let mut total = 0;
    for (org, accepted, refused) in &results {
        assert!(
            refused,
            "{org} was never refused: the deadline did not pass within the loop"
        );
        for (_, receipt) in accepted {
            let at: DateTime<Utc> = receipt["received_at"].as_str().unwrap().parse().unwrap();
            assert!(at < deadline, "{at} is not before {deadline}");
        }
        total += accepted.len();
        let counted = answers
            .iter()
            .find(|a| a["answer"]["supplier"]["id"] == org.as_str());
        match accepted.last() {
            Some((price, receipt)) => {
                let counted = counted.unwrap_or_else(|| panic!("{org}'s answer is missing"));
                assert_eq!(counted["answer"]["unit_price_cents"], *price);
                assert_eq!(counted["answer"]["revision"], accepted.len());
                assert_eq!(counted["answer"]["sha256"], receipt["sha256"]);
            }
            None => assert!(counted.is_none()),
        }
    }
    assert_eq!(
        answers.len(),
        results.iter().filter(|(_, a, _)| !a.is_empty()).count()
    );
    assert_eq!(
        app.count("SELECT count(*) AS n FROM consultation_answer_receipts")
            .await,
        total as i64
    );
    assert_eq!(
        app.count(&format!("SELECT count(*) AS n FROM consultation_answers WHERE received_at >= (SELECT answers_due_at FROM consultations WHERE id = '{id}')")).await,
        0
    );
}

#[tokio::test]
async fn of_concurrent_decisions_on_a_lot_exactly_one_wins() {
    let m = Market::new().await;
    let app = &m.app;
    let id = m.published().await;
    let receipt = json_ok(submit(app, &m.marie, &m.farm_a, &id, 190).await).await;
    let answer = receipt["answer_id"].as_str().unwrap().to_owned();
    pass_deadline(app, &id).await;
    let marks =
        json!({"marks": [{"position": 2, "mark": "70", "justification": "Caisses consignées"}]});
    json_ok(
        put(
            app,
            &format!("/api/v1/consultations/{id}/answers/{answer}/marks"),
            &marks,
            &m.chef.access,
        )
        .await,
    )
    .await;
    let award_path = format!("/api/v1/consultations/{id}/lots/1/award");
    let award_body = json!({"answer_id": answer, "rationale": "Seule réponse, conforme"});
    let award = || app.post_json(&award_path, &award_body, Some(&m.chef.access));
    let failed_path = format!("/api/v1/consultations/{id}/lots/1/unsuccessful");
    let failed_body = json!({"rationale": "Prix trop élevé"});
    let unsuccessful = app.post_json(&failed_path, &failed_body, Some(&m.chef.access));
    let (a, b, c, d) = tokio::join!(award(), award(), award(), unsuccessful);
    let mut statuses: Vec<u16> = [&a, &b, &c, &d]
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409, 409, 409]);
    for response in [a, b, c, d] {
        if response.status() == 409 {
            assert_problem(response, 409, "lot-decided").await;
        }
    }
    let contracts = app.count("SELECT count(*) AS n FROM contracts").await;
    let status = text_of(
        app,
        &format!("SELECT status AS t FROM consultation_lots WHERE consultation_id = '{id}'"),
    )
    .await;
    assert_eq!(contracts, i64::from(status == "awarded"));
    assert_eq!(
        text_of(
            app,
            &format!("SELECT status AS t FROM consultations WHERE id = '{id}'")
        )
        .await,
        if status == "awarded" {
            "awarded"
        } else {
            "unsuccessful"
        }
    );
    // The database keeps the decision final whoever writes.
    let mut db = app.db().await;
    let rewritten = diesel::sql_query(
        "UPDATE consultation_lots SET rationale = 'autre' WHERE consultation_id = $1",
    )
    .bind::<SqlUuid, _>(Uuid::parse_str(&id).unwrap())
    .execute(&mut db)
    .await;
    assert!(
        rewritten.is_err_and(|e| e.to_string().contains("already")),
        "a decided lot was rewritten"
    );
}

#[tokio::test]
async fn a_cancelled_consultation_keeps_its_answers_sealed() {
    let m = Market::new().await;
    let app = &m.app;
    let id = m.published().await;
    json_ok(submit(app, &m.marie, &m.farm_a, &id, 190).await).await;
    let cancelled = json_ok(
        app.post_json(
            &format!("/api/v1/consultations/{id}/cancel"),
            &json!({"reason": "Besoin regroupé"}),
            Some(&m.chef.access),
        )
        .await,
    )
    .await;
    assert_eq!(cancelled["status"], "cancelled");
    // Time passes: the deadline is now behind, the cancellation before it.
    let mut db = app.db().await;
    diesel::sql_query(
        "UPDATE consultations SET answers_due_at = now() - interval '1 second', \
                cancelled_at = now() - interval '2 seconds' WHERE id = $1",
    )
    .bind::<SqlUuid, _>(Uuid::parse_str(&id).unwrap())
    .execute(&mut db)
    .await
    .unwrap();
    assert_problem(
        app.get_as(
            &format!("/api/v1/consultations/{id}/evaluation"),
            &m.chef.access,
        )
        .await,
        409,
        "answers-sealed",
    )
    .await;
    let seen = json_ok(
        app.get_as(&format!("/api/v1/consultations/{id}"), &m.chef.access)
            .await,
    )
    .await;
    assert_eq!(seen["answers_received"], Value::Null);
    assert!(types(&feed(app, &m.marie, &m.farm_a).await).contains(&"consultation.cancelled"));
}

#[tokio::test]
async fn an_authoritys_framework_agreement_is_published_as_valid_decp_and_counts_against_thresholds()
 {
    // Installed before the app starts (a long pip run would outlast keep-alive).
    let python = tokio::task::spawn_blocking(python_tools)
        .await
        .unwrap()
        .join("python");
    let m = Market::new().await;
    let app = &m.app;
    // A second canteen of the agglomeration, and the agglomeration itself.
    let cook = app.signed_up("cuisine@bretigny.fr").await;
    let mut second = canteen(&siret(2));
    second["commune_insee"] = json!("91103");
    second["name"] = json!("Collège Pablo Picasso");
    let second = app.create_organisation(&cook, second).await;
    app.verify(&m.admin, &second).await;
    let agent = app.signed_up("agent@coeuressonne.fr").await;
    let mut authority = farm(&siret(3));
    authority["kind"] = json!("authority");
    authority["name"] = json!("Cœur d'Essonne Agglomération");
    authority.as_object_mut().unwrap().remove("farm");
    authority["authority"] = json!({"epci": "200057859"});
    let authority = app.create_organisation(&agent, authority).await;
    app.verify(&m.admin, &authority).await;

    let body = json!({
        "buyer_id": authority,
        "title": "Groupement de commandes : légumes bio",
        "procedure": "accord_cadre",
        "duration_months": 12,
        "answers_due_at": in_days(21),
        "criteria": [
            {"kind": "price", "description": "Prix unitaire HT", "weight": 50},
            {"kind": "environmental", "description": "Bilan carbone du transport", "weight": 30},
            {"kind": "direct_supply", "description": "Au plus un intermédiaire", "weight": 20}
        ],
        "lots": [{
            "description": "Carottes lavées",
            "family": "FRUITS_ET_LEGUMES",
            "labels": ["BIO"],
            "unit": "KGM",
            "quantity_range": {"min": "10000", "max": "25000"},
            "max_amount_ht_cents": 5_000_000,
            "estimated_amount_ht_cents": 4_000_000,
            "delivery": {"weekdays": [2], "from": "2027-01-05", "until": "2027-12-21"},
            "site_ids": [m.canteen, second]
        }]
    });
    let created = app
        .post_json("/api/v1/consultations", &body, Some(&agent.access))
        .await;
    assert_eq!(created.status(), 201, "{}", created.text().await.unwrap());
    let created: Value = created.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["lots"][0]["sites"].as_array().unwrap().len(), 2);
    json_ok(
        app.post_json(
            &format!("/api/v1/consultations/{id}/publish"),
            &json!(null),
            Some(&agent.access),
        )
        .await,
    )
    .await;
    // The canteens it delivers read it; another canteen's cook does not act on it.
    json_ok(
        app.get_as(&format!("/api/v1/consultations/{id}"), &cook.access)
            .await,
    )
    .await;
    assert_problem(
        app.post_json(
            &format!("/api/v1/consultations/{id}/cancel"),
            &json!({"reason": "non"}),
            Some(&cook.access),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    let a = json_ok(submit(app, &m.marie, &m.farm_a, &id, 210).await).await;
    json_ok(submit(app, &m.paul, &m.farm_b, &id, 230).await).await;
    pass_deadline(app, &id).await;
    let evaluation = json_ok(
        app.get_as(
            &format!("/api/v1/consultations/{id}/evaluation"),
            &agent.access,
        )
        .await,
    )
    .await;
    for ranked in evaluation["lots"][0]["answers"].as_array().unwrap() {
        let answer = ranked["answer"]["id"].as_str().unwrap();
        let marks = json!({"marks": [
            {"position": 2, "mark": "60", "justification": "Tournée mutualisée"},
            {"position": 3, "mark": "100", "justification": "Vente directe"}
        ]});
        json_ok(
            put(
                app,
                &format!("/api/v1/consultations/{id}/answers/{answer}/marks"),
                &marks,
                &agent.access,
            )
            .await,
        )
        .await;
    }
    let decision = json_ok(
        app.post_json(
            &format!("/api/v1/consultations/{id}/lots/1/award"),
            &json!({"answer_id": a["answer_id"], "rationale": "Meilleure offre", "valid_from": "2027-01-04"}),
            Some(&agent.access),
        )
        .await,
    )
    .await;
    let contract_id = decision["contract_id"].as_str().unwrap();
    let contract = json_ok(
        app.get_as(&format!("/api/v1/contracts/{contract_id}"), &cook.access)
            .await,
    )
    .await;
    assert_eq!(contract["max_amount_ht_cents"], 5_000_000);
    assert_eq!(contract["quantity"], Value::Null);
    assert_eq!(contract["valid_until"], "2028-01-03");

    // Each canteen counts its share of the maximum against the thresholds.
    let thresholds = json_ok(
        app.get_as(
            &format!("/api/v1/organisations/{}/purchase-thresholds", m.canteen),
            &agent.access,
        )
        .await,
    )
    .await;
    assert_eq!(
        thresholds["thresholds_ht_cents"],
        json!([6_000_000, 9_000_000, 21_600_000])
    );
    let year: i32 = contract["valid_from"].as_str().unwrap()[..4]
        .parse()
        .unwrap();
    let for_year = json_ok(
        app.get_as(
            &format!(
                "/api/v1/organisations/{}/purchase-thresholds?year={year}",
                m.canteen
            ),
            &m.chef.access,
        )
        .await,
    )
    .await;
    assert_eq!(for_year["families"][0]["family"], "FRUITS_ET_LEGUMES");
    assert_eq!(for_year["families"][0]["contracts_ht_cents"], 2_500_000);
    assert_eq!(
        for_year["families"][0]["next_threshold_ht_cents"],
        6_000_000
    );
    assert_problem(
        app.get_as(
            &format!("/api/v1/organisations/{}/purchase-thresholds", m.canteen),
            &m.marie.access,
        )
        .await,
        404,
        "not-found",
    )
    .await;

    // A gré à gré that would pass 60,000 € HT in the family is warned, not refused.
    let mut direct = mapa(&m.canteen);
    direct["procedure"] = json!("gre_a_gre");
    direct["answers_due_at"] = json!(in_days(4));
    direct["lots"][0]["estimated_amount_ht_cents"] = json!(6_100_000);
    let warned = m.create(&direct).await;
    let warning = &warned["warnings"][0];
    assert_eq!(warning["threshold_ht_cents"], 6_000_000);
    assert_eq!(warning["family"], "FRUITS_ET_LEGUMES");
    assert!(warning["with_this_purchase_ht_cents"].as_i64().unwrap() > 6_000_000);

    // DECP: the contract of 50,000 € HT, valid against the official schema.
    let decp = json_ok(
        app.get_as(
            &format!("/api/v1/authorities/{authority}/decp.json"),
            &agent.access,
        )
        .await,
    )
    .await;
    let records = decp["marches"]["marche"].as_array().unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["montant"], 50000);
    assert_eq!(records[0]["offresRecues"], 2);
    assert_eq!(
        records[0]["techniques"]["technique"],
        json!(["Accord-cadre"])
    );
    assert_eq!(records[0]["titulaires"][0]["titulaire"]["id"], SIRETS[0]);
    let above = json_ok(
        app.get_as(
            &format!("/api/v1/authorities/{authority}/decp.json?min_amount_ht_cents=6000000"),
            &agent.access,
        )
        .await,
    )
    .await;
    assert_eq!(above["marches"]["marche"], json!([]));
    assert_problem(
        app.get_as(
            &format!("/api/v1/authorities/{authority}/decp.json"),
            &m.chef.access,
        )
        .await,
        404,
        "not-found",
    )
    .await;
    let schema =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/decp/schema_decp_v2.0.3.json");
    assert!(schema.exists(), "{} is missing", schema.display());
    let document = std::env::temp_dir().join(format!("decp-{}.json", Uuid::now_v7()));
    std::fs::write(&document, serde_json::to_vec(&decp).unwrap()).unwrap();
    let script = "import json, sys\n\
                  from jsonschema import Draft7Validator\n\
                  schema = json.load(open(sys.argv[1], encoding='utf-8'))\n\
                  document = json.load(open(sys.argv[2], encoding='utf-8'))\n\
                  errors = list(Draft7Validator(schema).iter_errors(document))\n\
                  for e in errors: print('/'.join(map(str, e.path)), '->', e.message)\n\
                  sys.exit(1 if errors else 0)\n";
    let checked = tokio::task::spawn_blocking({
        let document = document.clone();
        move || {
            Command::new(python)
                .args(["-c", script])
                .arg(&schema)
                .arg(&document)
                .output()
        }
    })
    .await
    .unwrap()
    .unwrap();
    std::fs::remove_file(&document).ok();
    assert!(
        checked.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
}

/// Whether a price in cents appears anywhere in `value`: as a number, or as
/// euros written in a string ("1.90").
fn holds_price(value: &Value, cents: &[i64]) -> bool {
    match value {
        Value::Number(n) => n.as_i64().is_some_and(|n| cents.contains(&n)),
        Value::String(s) => cents
            .iter()
            .any(|c| s.contains(&format!("{}.{:02}", c / 100, c % 100))),
        Value::Array(items) => items.iter().any(|v| holds_price(v, cents)),
        Value::Object(fields) => fields.values().any(|v| holds_price(v, cents)),
        _ => false,
    }
}
