//! Delivery terms and contracts agreed directly: terms the checkout
//! enforces on every supplier part at once, cut-offs in Paris time across
//! the change to winter time, contract prices only their buyer pays and
//! sees, and a contract's maximum that concurrent baskets never pass.

use chrono::{Days, Weekday};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use futures_util::future::join_all;
use serde_json::{Value, json};
use sesame::schema::{order_lines, orders};
use uuid::Uuid;

use crate::helpers::{SIRETS, Session, assert_problem, canteen, error_fields, item_keys};
use crate::orders::{World, dec, next};

async fn put_terms(
    w: &World,
    session: &Session,
    supplier: &str,
    body: &Value,
) -> reqwest::Response {
    w.app
        .client
        .put(
            w.app
                .url(&format!("/api/v1/organisations/{supplier}/delivery-terms")),
        )
        .bearer_auth(&session.access)
        .json(body)
        .send()
        .await
        .expect("request")
}

#[tokio::test]
async fn every_supplier_part_that_misses_its_terms_is_reported_at_once() {
    let w = World::new().await;
    let date = next(Weekday::Mon, 8);
    // Farm A: Mondays and Thursdays, 80 € minimum, only the Yvelines (78).
    let a = json!({"delivery_weekdays": [1, 4], "cutoff_days": 2, "cutoff_time": "12:00",
                   "min_order_ht_cents": 8000, "zone": {"departements": ["78"]}});
    let response = put_terms(&w, &w.marie, &w.farm_a, &a).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    // Farm B: Tuesdays only, 100 € minimum, anywhere.
    let b = json!({"delivery_weekdays": [2], "cutoff_days": 1, "cutoff_time": "18:30",
                   "min_order_ht_cents": 10000});
    assert_eq!(put_terms(&w, &w.paul, &w.farm_b, &b).await.status(), 200);
    // A farm sets only its own terms.
    assert_eq!(put_terms(&w, &w.marie, &w.farm_b, &b).await.status(), 404);

    // Public: anyone reads them.
    let terms: Value = w
        .app
        .get(&format!(
            "/api/v1/organisations/{}/delivery-terms",
            w.farm_a
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(terms["delivery_weekdays"], json!([1, 4]));
    assert_eq!(terms["cutoff_time"], "12:00");
    assert_eq!(terms["zone"]["departements"], json!(["78"]));

    let before = (w.stock(&w.carrots).await, w.stock(&w.apples).await);
    let basket = w.basket(date, &[(&w.carrots, "5"), (&w.apples, "2")]);
    let response = w.checkout(&w.claire, "terms-1", &basket).await;
    let problem = assert_problem(response, 422, "delivery-terms-not-met").await;
    let parts = problem["parts"].as_array().unwrap();
    assert_eq!(parts.len(), 2, "{problem}");
    assert_eq!(parts[0]["supplier_id"], w.farm_a.as_str());
    assert_eq!(parts[0]["amount_ht_cents"], 900);
    let rules = |p: &Value| -> Vec<String> {
        p["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["rule"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(rules(&parts[0]), ["zone", "minimum_order"]);
    assert_eq!(parts[0]["rules"][1]["shortfall_ht_cents"], 8000 - 900);
    assert_eq!(parts[1]["supplier_id"], w.farm_b.as_str());
    assert_eq!(rules(&parts[1]), ["delivery_day", "minimum_order"]);
    assert_eq!(parts[1]["rules"][1]["shortfall_ht_cents"], 10000 - 50);
    // Nothing was written or reserved.
    assert_eq!(w.order_count().await, 0);
    assert_eq!(
        (w.stock(&w.carrots).await, w.stock(&w.apples).await),
        before
    );

    // Farm A delivers the Essonne from 5 €: its part alone goes through.
    let a = json!({"delivery_weekdays": [1, 4], "cutoff_days": 2, "cutoff_time": "12:00",
                   "min_order_ht_cents": 500, "zone": {"departements": ["91"]}});
    assert_eq!(put_terms(&w, &w.marie, &w.farm_a, &a).await.status(), 200);
    let response = w
        .checkout(&w.claire, "terms-2", &w.basket(date, &[(&w.carrots, "5")]))
        .await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());

    // A cut-off 14 days ahead has passed for a delivery 8 to 14 days ahead.
    let a = json!({"delivery_weekdays": [1, 4], "cutoff_days": 14, "cutoff_time": "00:00"});
    assert_eq!(put_terms(&w, &w.marie, &w.farm_a, &a).await.status(), 200);
    let response = w
        .checkout(&w.claire, "terms-3", &w.basket(date, &[(&w.carrots, "5")]))
        .await;
    let problem = assert_problem(response, 422, "delivery-terms-not-met").await;
    assert_eq!(rules(&problem["parts"][0]), ["cutoff"]);
    assert!(problem["parts"][0]["rules"][0]["cutoff_at"].is_string());
    assert_eq!(w.order_count().await, 1);
}

#[tokio::test]
async fn terms_are_checked_field_by_field() {
    let w = World::new().await;
    let bad = json!({"delivery_weekdays": [0, 1, 1], "cutoff_days": 15, "cutoff_time": "25:00",
                     "min_order_ht_cents": -1, "zone": {"communes": ["91999"], "departements": ["91"]}});
    let problem = assert_problem(
        put_terms(&w, &w.marie, &w.farm_a, &bad).await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(
        error_fields(&problem),
        [
            "delivery_weekdays",
            "cutoff_days",
            "cutoff_time",
            "min_order_ht_cents"
        ]
    );
    let unknown = json!({"delivery_weekdays": [1], "cutoff_days": 1, "cutoff_time": "12:00",
                         "zone": {"communes": ["91999"], "epcis": ["200057859"]}});
    let problem = assert_problem(
        put_terms(&w, &w.marie, &w.farm_a, &unknown).await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(error_fields(&problem), ["zone.communes"]);
    // A canteen sets no delivery terms.
    let body = json!({"delivery_weekdays": [1], "cutoff_days": 1, "cutoff_time": "12:00"});
    assert_eq!(
        put_terms(&w, &w.claire, &w.canteen, &body).await.status(),
        403
    );
    let none = w
        .app
        .get(&format!(
            "/api/v1/organisations/{}/delivery-terms",
            w.farm_b
        ))
        .await;
    assert_problem(none, 404, "not-found").await;
}

#[tokio::test]
async fn cutoffs_follow_paris_time_across_the_change_to_winter_time() {
    let w = World::new().await;
    // Thursday 12:00 for Monday, Sunday 12:00 for Thursday.
    let body = json!({"delivery_weekdays": [1, 4], "cutoff_days": 4, "cutoff_time": "12:00"});
    assert_eq!(
        put_terms(&w, &w.marie, &w.farm_a, &body).await.status(),
        200
    );
    let days: Value = w
        .app
        .get(&format!(
            "/api/v1/organisations/{}/delivery-days?from=2027-10-25&count=4",
            w.farm_a
        ))
        .await
        .json()
        .await
        .unwrap();
    let got: Vec<(String, String, String)> = days["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["date"].as_str().unwrap().to_owned(),
                d["cutoff_local"].as_str().unwrap().to_owned(),
                d["cutoff_at"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    // Paris leaves summer time (UTC+2) on Sunday 31 October 2027 at 03:00.
    let want = [
        ("2027-10-25", "2027-10-21T12:00:00", "2027-10-21T10:00:00Z"),
        ("2027-10-28", "2027-10-24T12:00:00", "2027-10-24T10:00:00Z"),
        ("2027-11-01", "2027-10-28T12:00:00", "2027-10-28T10:00:00Z"),
        ("2027-11-04", "2027-10-31T12:00:00", "2027-10-31T11:00:00Z"),
    ];
    let want: Vec<(String, String, String)> = want
        .iter()
        .map(|(a, b, c)| ((*a).to_owned(), (*b).to_owned(), (*c).to_owned()))
        .collect();
    assert_eq!(got, want);
}

/// Farm A proposes to Claire's canteen: carrots at 1.50 € (1.40 € from
/// 50 kg) instead of 1.80 €, and a described product, up to 50 € HT.
async fn agreed_contract(w: &World) -> Value {
    let today = chrono::Utc::now().date_naive();
    let body = json!({
        "buyer_id": w.canteen,
        "supplier_id": w.farm_a,
        "description": "Légumes de la Ferme de l'Envol",
        "valid_from": today,
        "valid_until": today + Days::new(90),
        "max_amount_ht_cents": 5000,
        "lines": [
            {"offer_id": w.carrots, "unit_price_cents": 150, "vat_rate": "5.5",
             "tiers": [{"min_quantity": "50", "unit_price_cents": 140}]},
            {"description": "Potimarron", "family": "FRUITS_ET_LEGUMES", "unit": "KGM",
             "origin": "FRANCE", "unit_price_cents": 240, "vat_rate": "5.5"}
        ]
    });
    let response = w
        .app
        .post_json("/api/v1/contracts", &body, Some(&w.marie.access))
        .await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    let proposed: Value = response.json().await.unwrap();
    assert_eq!(proposed["status"], "proposed");
    let id = proposed["id"].as_str().unwrap().to_owned();
    // The proposer does not accept its own proposal.
    let own = w
        .app
        .post_json(
            &format!("/api/v1/contracts/{id}/accept"),
            &json!({}),
            Some(&w.marie.access),
        )
        .await;
    assert_problem(own, 409, "conflict").await;
    let accepted = w
        .app
        .post_json(
            &format!("/api/v1/contracts/{id}/accept"),
            &json!({"buyer_reference": "EJ-2027-0042"}),
            Some(&w.claire.access),
        )
        .await;
    assert_eq!(accepted.status(), 200);
    let accepted: Value = accepted.json().await.unwrap();
    assert_eq!(accepted["status"], "active");
    assert_eq!(accepted["buyer_reference"], "EJ-2027-0042");
    accepted
}

#[tokio::test]
async fn a_partys_contracts_page_newest_first() {
    let w = World::new().await;
    let today = chrono::Utc::now().date_naive();
    let mut proposed = Vec::new();
    for n in 0..3 {
        let body = json!({
            "buyer_id": w.canteen,
            "supplier_id": w.farm_a,
            "description": format!("Légumes, proposition {n}"),
            "valid_from": today,
            "valid_until": today + Days::new(90),
            "max_amount_ht_cents": 5000,
            "lines": [{"offer_id": w.carrots, "unit_price_cents": 150, "vat_rate": "5.5"}]
        });
        let response = w
            .app
            .post_json("/api/v1/contracts", &body, Some(&w.marie.access))
            .await;
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
        let contract: Value = response.json().await.unwrap();
        proposed.push(contract["id"].as_str().unwrap().to_owned());
    }
    let list = format!("/api/v1/organisations/{}/contracts", w.canteen);
    let w = &w;
    let page = |query: String| {
        let path = format!("{list}?{query}");
        async move { w.app.json_as(&path, &w.claire.access).await }
    };
    let ids = |page: &Value| item_keys(page, "id");
    let first = page("limit=2".into()).await;
    assert_eq!(ids(&first), [proposed[2].clone(), proposed[1].clone()]);
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    let second = page(format!("limit=2&cursor={cursor}")).await;
    assert_eq!(ids(&second), [proposed[0].clone()]);
    assert_eq!(second["next_cursor"], Value::Null);
    let unknown = w
        .app
        .get_as(
            &format!("{list}?cursor={}", uuid::Uuid::now_v7()),
            &w.claire.access,
        )
        .await;
    assert_problem(unknown, 400, "invalid-parameter").await;
}

#[tokio::test]
async fn a_contract_price_is_paid_and_seen_by_its_buyer_only() {
    let w = World::new().await;
    let contract = agreed_contract(&w).await;
    let id = contract["id"].as_str().unwrap();
    let date = next(Weekday::Tue, 7);

    let orders = w
        .app
        .client
        .post(w.app.url("/api/v1/orders"))
        .bearer_auth(&w.claire.access)
        .header("Idempotency-Key", "under-contract")
        .json(
            &json!({"buyer_id": w.canteen, "delivery_date": date, "lines": [
                {"offer_id": w.carrots, "quantity": "10"},
                {"contract_line": {"contract_id": id, "line_no": 1}, "quantity": "2"},
                {"offer_id": w.apples, "quantity": "4"}
            ]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(orders.status(), 201, "{}", orders.text().await.unwrap());
    let placed: Value = orders.json().await.unwrap();
    let farm_a = &placed["orders"][0];
    assert_eq!(farm_a["lines"][0]["unit_price_cents"], 150);
    assert_eq!(farm_a["lines"][0]["price_source"], "contract");
    assert_eq!(farm_a["lines"][0]["contract_line"]["contract_id"], id);
    assert_eq!(farm_a["lines"][1]["offer_id"], Value::Null);
    assert_eq!(farm_a["lines"][1]["product_name"], "Potimarron");
    assert_eq!(farm_a["lines"][1]["unit_price_cents"], 240);
    assert_eq!(farm_a["totals"]["ht_cents"], 1500 + 480);
    assert_eq!(placed["orders"][1]["lines"][0]["price_source"], "catalog");
    let contract: Value = w
        .app
        .get_as(&format!("/api/v1/contracts/{id}"), &w.claire.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(contract["consumed_ht_cents"], 1980, "{contract}");

    // Another canteen pays the catalog price and cannot see the contract.
    let admin = &w.admin;
    let other = w.app.signed_up("chef@college-arpajon.fr").await;
    let other_canteen = w.app.create_organisation(&other, canteen(SIRETS[3])).await;
    w.app.verify(admin, &other_canteen).await;
    let response = w
        .app
        .client
        .post(w.app.url("/api/v1/orders"))
        .bearer_auth(&other.access)
        .header("Idempotency-Key", "not-mine")
        .json(
            &json!({"buyer_id": other_canteen, "delivery_date": date, "lines": [
                {"offer_id": w.carrots, "quantity": "10"},
                {"contract_line": {"contract_id": id, "line_no": 1}, "quantity": "2"}
            ]}),
        )
        .send()
        .await
        .unwrap();
    let problem = assert_problem(response, 422, "validation-failed").await;
    assert_eq!(error_fields(&problem), ["lines[1].contract_line"]);
    assert!(!problem.to_string().contains("240"), "{problem}");
    let response = w
        .app
        .get_as(&format!("/api/v1/contracts/{id}"), &other.access)
        .await;
    assert_problem(response, 404, "not-found").await;
    let offer: Value = w
        .app
        .get_as(&format!("/api/v1/offers/{}", w.carrots), &other.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(offer["price_cents"], 180);
    assert!(!offer.to_string().contains("150"), "{offer}");
    let mine = w
        .checkout(
            &other,
            "catalog-price",
            &json!({"buyer_id": other_canteen, "delivery_date": date,
            "lines": [{"offer_id": w.carrots, "quantity": "10"}]}),
        )
        .await;
    let mine: Value = mine.json().await.unwrap();
    assert_eq!(mine["orders"][0]["lines"][0]["unit_price_cents"], 180);
    assert_eq!(mine["orders"][0]["lines"][0]["price_source"], "catalog");
}

#[tokio::test]
async fn concurrent_baskets_never_pass_a_contract_maximum() {
    let w = World::new().await;
    let contract = agreed_contract(&w).await;
    let id: Uuid = contract["id"].as_str().unwrap().parse().unwrap();
    let date = next(Weekday::Wed, 7);
    // 50 € HT in all; 10 baskets of 10 kg at 1.50 €: 3 fit (45 €), 7 do not.
    let requests = (0..10).map(|i| {
        let body = w.basket(date, &[(&w.carrots, "10")]);
        let w = &w;
        async move {
            let response = w.checkout(&w.claire, &format!("max-{i}"), &body).await;
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        }
    });
    let results = join_all(requests).await;
    let placed = results.iter().filter(|(s, _)| *s == 201).count();
    assert_eq!(
        placed,
        3,
        "{:?}",
        results.iter().map(|r| r.0).collect::<Vec<_>>()
    );
    for (status, problem) in results.iter().filter(|(s, _)| *s != 201) {
        assert_eq!(*status, 409);
        assert_eq!(
            problem["type"],
            "https://sesame.example/problems/contract-maximum-exceeded"
        );
        assert_eq!(problem["contracts"][0]["remaining_ht_cents"], 500);
        assert_eq!(problem["contracts"][0]["requested_ht_cents"], 1500);
    }
    let mut db = w.app.db().await;
    let under: Option<i64> = order_lines::table
        .filter(order_lines::contract_id.eq(id))
        .select(diesel::dsl::sum(order_lines::total_ht_cents))
        .first::<Option<rust_decimal::Decimal>>(&mut db)
        .await
        .unwrap()
        .map(|d| i64::try_from(d).unwrap());
    assert_eq!(under, Some(4500));

    // A cancelled order gives its amount back to the contract.
    let first: Uuid = orders::table
        .select(orders::id)
        .order(orders::created_at)
        .first(&mut db)
        .await
        .unwrap();
    let cancel = w
        .act(
            &w.claire,
            &first.to_string(),
            "cancel",
            Some(json!({"reason": "Menu changé"})),
        )
        .await;
    assert_eq!(cancel.status(), 200, "{}", cancel.text().await.unwrap());
    let contract: Value = w
        .app
        .get_as(&format!("/api/v1/contracts/{id}"), &w.claire.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(contract["consumed_ht_cents"], 3000);
    assert_eq!(w.stock(&w.carrots).await.1, dec("20"));

    // Terminated, its price no longer applies: the catalog's does.
    let response = w
        .app
        .post_json(
            &format!("/api/v1/contracts/{id}/terminate"),
            &json!({"reason": "Fin de la saison des carottes."}),
            Some(&w.marie.access),
        )
        .await;
    assert_eq!(response.status(), 200);
    let placed = w.order(date, &[(&w.carrots, "10")]).await;
    assert_eq!(placed[0]["lines"][0]["unit_price_cents"], 180);
}

#[tokio::test]
async fn a_proposal_is_checked_field_by_field() {
    let w = World::new().await;
    let today = chrono::Utc::now().date_naive();
    let body = json!({
        "buyer_id": w.canteen,
        "supplier_id": w.farm_a,
        "description": " ",
        "valid_from": today,
        "valid_until": today + Days::new(365 * 5),
        "lines": [
            {"offer_id": w.apples, "unit_price_cents": 20, "vat_rate": "7"},
            {"description": "Potimarron", "unit_price_cents": 240, "vat_rate": "5.5",
             "tiers": [{"min_quantity": "50", "unit_price_cents": 200}, {"min_quantity": "10", "unit_price_cents": 220}]}
        ]
    });
    let response = w
        .app
        .post_json("/api/v1/contracts", &body, Some(&w.marie.access))
        .await;
    let problem = assert_problem(response, 422, "validation-failed").await;
    assert_eq!(
        error_fields(&problem),
        [
            "description",
            "valid_until",
            "lines[0].vat_rate",
            "lines[1].tiers",
            "lines[1].family",
            "lines[1].unit",
            "lines[1].origin",
            "lines[0].offer_id"
        ]
    );
    let mut db = w.app.db().await;
    let count: i64 = sesame::schema::contracts::table
        .count()
        .get_result(&mut db)
        .await
        .unwrap();
    assert_eq!(count, 0);
}
