//! Orders: checkout into per-supplier orders, stock that is never oversold,
//! idempotency, the lifecycle and who may move it, picking lists and the
//! integration feed.

use std::collections::HashSet;

use chrono::{Datelike, Days, NaiveDate, Weekday};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use futures_util::future::join_all;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use sesame::db::local::{self, LocalPostgres};
use sesame::schema::{offers, order_lines, orders};
use uuid::Uuid;

use crate::helpers::{
    SIRETS, Session, TestApp, TestDatabase, assert_problem, canteen, error_fields, farm, item_keys,
    siret,
};

/// Two verified farms with offers, a verified canteen, and their people.
pub(crate) struct World {
    pub(crate) app: TestApp,
    pub(crate) admin: Session,
    pub(crate) marie: Session,
    pub(crate) farm_a: String,
    pub(crate) paul: Session,
    pub(crate) farm_b: String,
    pub(crate) claire: Session,
    pub(crate) canteen: String,
    /// Farm A: 400 kg, min 5, step 5, 1.80 €/kg, 2 days' notice, Mon–Fri.
    pub(crate) carrots: String,
    /// Farm A: on demand, by the gram of a kilo (step 0.001), 3.33 €/kg.
    pub(crate) potatoes: String,
    /// Farm B: 50 pieces, min 1, step 1, 0.25 € each.
    pub(crate) apples: String,
    /// Farm B: jam at 20 % VAT, 30 jars.
    pub(crate) jam: String,
}

fn offer(name: &str, price: i64, vat: &str, stock: Option<&str>, min: &str, step: &str) -> Value {
    let mut body = json!({
        "name": name,
        "family": "FRUITS_ET_LEGUMES",
        "labels": [],
        "origin": "FRANCE",
        "unit": "KGM",
        "price_cents": price,
        "vat_rate": vat,
        "min_order_quantity": min,
        "order_step": step,
        "lead_time_days": 2,
        "delivery_weekdays": [1, 2, 3, 4, 5]
    });
    match stock {
        Some(stock) => body["stock"] = json!(stock),
        None => body["on_demand"] = json!(true),
    }
    body
}

async fn create_offer(app: &TestApp, session: &Session, org: &str, body: &Value) -> String {
    let response = app
        .post_json(
            &format!("/api/v1/organisations/{org}/offers"),
            body,
            Some(&session.access),
        )
        .await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    let created: Value = response.json().await.unwrap();
    created["id"].as_str().unwrap().to_owned()
}

impl World {
    pub(crate) async fn new() -> Self {
        Self::on(TestApp::spawn().await).await
    }

    async fn on(app: TestApp) -> Self {
        let admin = app.admin().await;
        let marie = app.signed_up("marie@ferme-envol.fr").await;
        let farm_a = app.create_organisation(&marie, farm(SIRETS[0])).await;
        app.verify(&admin, &farm_a).await;
        let paul = app.signed_up("paul@vergers.fr").await;
        let mut orchard = farm(SIRETS[1]);
        orchard["name"] = json!("Vergers de Marolles");
        orchard["commune_insee"] = json!("91376");
        let farm_b = app.create_organisation(&paul, orchard).await;
        app.verify(&admin, &farm_b).await;
        let claire = app.signed_up("claire@mairie-smo.fr").await;
        let canteen_id = app.create_organisation(&claire, canteen(SIRETS[2])).await;
        app.verify(&admin, &canteen_id).await;

        let carrots = create_offer(
            &app,
            &marie,
            &farm_a,
            &offer("Carottes", 180, "5.5", Some("400"), "5", "5"),
        )
        .await;
        let potatoes = create_offer(
            &app,
            &marie,
            &farm_a,
            &offer("Pommes de terre", 333, "5.5", None, "1", "0.001"),
        )
        .await;
        let mut apple = offer("Pommes Reinette", 25, "5.5", Some("50"), "1", "1");
        apple["unit"] = json!("H87");
        let apples = create_offer(&app, &paul, &farm_b, &apple).await;
        let mut jar = offer("Confiture de coings", 450, "20", Some("30"), "1", "1");
        jar["family"] = json!("AUTRES");
        jar["unit"] = json!("H87");
        let jam = create_offer(&app, &paul, &farm_b, &jar).await;
        World {
            app,
            admin,
            marie,
            farm_a,
            paul,
            farm_b,
            claire,
            canteen: canteen_id,
            carrots,
            potatoes,
            apples,
            jam,
        }
    }

    pub(crate) fn basket(&self, date: NaiveDate, lines: &[(&str, &str)]) -> Value {
        json!({
            "buyer_id": self.canteen,
            "delivery_date": date,
            "lines": lines.iter().map(|(offer, q)| json!({"offer_id": offer, "quantity": q})).collect::<Vec<_>>()
        })
    }

    pub(crate) async fn checkout(
        &self,
        session: &Session,
        key: &str,
        body: &Value,
    ) -> reqwest::Response {
        self.app
            .client
            .post(self.app.url("/api/v1/orders"))
            .bearer_auth(&session.access)
            .header("Idempotency-Key", key)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    /// Checks out as Claire and returns the orders.
    pub(crate) async fn order(&self, date: NaiveDate, lines: &[(&str, &str)]) -> Vec<Value> {
        let response = self
            .checkout(
                &self.claire,
                &Uuid::now_v7().to_string(),
                &self.basket(date, lines),
            )
            .await;
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
        let body: Value = response.json().await.unwrap();
        body["orders"].as_array().unwrap().clone()
    }

    pub(crate) async fn act(
        &self,
        session: &Session,
        order: &str,
        action: &str,
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut request = self
            .app
            .client
            .post(self.app.url(&format!("/api/v1/orders/{order}/{action}")))
            .bearer_auth(&session.access);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("request")
    }

    pub(crate) async fn stock(&self, offer: &str) -> (Option<Decimal>, Decimal) {
        let mut db = self.app.db().await;
        offers::table
            .find(offer.parse::<Uuid>().unwrap())
            .select((offers::stock_available, offers::stock_reserved))
            .first(&mut db)
            .await
            .unwrap()
    }

    pub(crate) async fn order_count(&self) -> i64 {
        let mut db = self.app.db().await;
        orders::table.count().get_result(&mut db).await.unwrap()
    }
}

pub(crate) fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// The first `weekday` at least `days` days from today (UTC and Paris agree
/// but around midnight; a week's margin keeps every check clear of it).
pub(crate) fn next(weekday: Weekday, days: u64) -> NaiveDate {
    let mut date = chrono::Utc::now().date_naive() + Days::new(days);
    while date.weekday() != weekday {
        date = date + Days::new(1);
    }
    date
}

#[tokio::test]
async fn a_basket_becomes_one_order_per_supplier_with_stock_reserved() {
    let w = World::new().await;
    let date = next(Weekday::Tue, 7);
    let key = Uuid::now_v7().to_string();
    let body = json!({
        "buyer_id": w.canteen,
        "delivery_date": date,
        "note": "  Cour arrière  ",
        "lines": [
            {"offer_id": w.carrots, "quantity": "25"},
            {"offer_id": w.apples, "quantity": "12"},
            {"offer_id": w.potatoes, "quantity": "2.375"}
        ]
    });
    let response = w.checkout(&w.claire, &key, &body).await;
    assert_eq!(response.status(), 201);
    let link = response.headers()["link"].to_str().unwrap().to_owned();
    assert!(
        response.headers().get("location").is_none(),
        "two orders, no single Location"
    );
    let checkout: Value = response.json().await.unwrap();
    let orders = checkout["orders"].as_array().unwrap();
    assert_eq!(orders.len(), 2);
    for order in orders {
        assert!(link.contains(&format!(
            "<{}>; rel=\"item\"",
            order["href"].as_str().unwrap()
        )));
        assert_eq!(order["status"], "submitted");
        assert_eq!(order["checkout_id"], checkout["checkout_id"]);
        assert_eq!(order["note"], "Cour arrière");
        assert_eq!(order["delivery_site"]["id"], w.canteen.as_str());
    }
    // Farm A's order comes first (its offer is the basket's first line).
    let (a, b) = (&orders[0], &orders[1]);
    assert_eq!(a["supplier"]["id"], w.farm_a.as_str());
    assert_eq!(a["lines"].as_array().unwrap().len(), 2);
    assert_eq!(a["lines"][0]["product_name"], "Carottes");
    assert_eq!(a["lines"][0]["producer"]["commune"], "Brétigny-sur-Orge");
    assert_eq!(a["lines"][0]["total_ht_cents"], 4500);
    assert_eq!(a["lines"][1]["total_ht_cents"], 791); // 2.375 × 333 = 790.875
    assert_eq!(
        a["totals"],
        json!({"ht_cents": 5291, "vat": [{"rate": "5.5", "base_cents": 5291, "vat_cents": 291}], "vat_cents": 291, "ttc_cents": 5582})
    );
    assert_eq!(b["supplier"]["id"], w.farm_b.as_str());
    assert_eq!(b["totals"]["ht_cents"], 300);
    assert_eq!(b["events"][0]["to"], "submitted");

    assert_eq!(w.stock(&w.carrots).await, (Some(dec("375")), dec("25")));
    assert_eq!(w.stock(&w.apples).await, (Some(dec("38")), dec("12")));
    assert_eq!(w.stock(&w.potatoes).await, (None, dec("0")));
    let mut db = w.app.db().await;
    let stored: Vec<(i64, i64, i64)> = orders::table
        .order(orders::id)
        .select((
            orders::total_ht_cents,
            orders::total_vat_cents,
            orders::total_ttc_cents,
        ))
        .load(&mut db)
        .await
        .unwrap();
    assert_eq!(stored, vec![(5291, 291, 5582), (300, 17, 317)]);

    // The feeds of both suppliers and the buyer: see
    // the_feed_resumes_from_a_cursor, on a cluster of its own.
}

#[tokio::test]
async fn every_bad_line_is_reported_at_once_and_nothing_is_written() {
    let w = World::new().await;
    let sunday = next(Weekday::Sun, 7);
    let tomorrow_weekday = {
        let mut d = chrono::Utc::now().date_naive() + Days::new(1);
        while d.weekday().number_from_monday() > 5 {
            d = d + Days::new(1);
        }
        d
    };
    let body = json!({
        "buyer_id": w.canteen,
        "delivery_date": sunday,
        "lines": [
            {"offer_id": Uuid::now_v7(), "quantity": "1"},
            {"offer_id": w.carrots, "quantity": "3"},
            {"offer_id": w.apples, "quantity": "1.5"},
            {"offer_id": w.carrots, "quantity": "10"},
            {"offer_id": w.jam, "quantity": "0"}
        ]
    });
    let response = w.checkout(&w.claire, "bad-basket", &body).await;
    let problem = assert_problem(response, 422, "validation-failed").await;
    let fields = error_fields(&problem);
    for expected in [
        "lines[0].offer_id",
        "lines[1].quantity", // below the minimum of 5, and not a multiple of 5
        "lines[1]",          // not delivered on Sundays
        "lines[2].quantity", // not a multiple of 1
        "lines[3].offer_id", // the carrots again
        "lines[4].quantity", // zero
    ] {
        assert!(
            fields.contains(&expected),
            "{expected} missing from {fields:?}"
        );
    }
    let messages = problem["errors"].to_string();
    assert!(messages.contains("not delivered on Sundays"), "{messages}");
    assert!(
        messages.contains("below the minimum order of 5 KGM"),
        "{messages}"
    );

    // Too soon for two days' notice, outside the availability window.
    let mut soon = w.basket(tomorrow_weekday, &[(&w.carrots, "5")]);
    soon["delivery_date"] = json!(tomorrow_weekday);
    let problem = assert_problem(
        w.checkout(&w.claire, "too-soon", &soon).await,
        422,
        "validation-failed",
    )
    .await;
    assert!(
        problem["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("days' notice"),
        "{problem}"
    );

    // A satellite site must name the buyer as its central kitchen.
    let stranger = w.app.signed_up("jean@college.fr").await;
    let other = w
        .app
        .create_organisation(&stranger, canteen(&siret(1)))
        .await;
    w.app.verify(&w.admin, &other).await;
    let mut elsewhere = w.basket(next(Weekday::Tue, 7), &[(&w.carrots, "5")]);
    elsewhere["delivery_site_id"] = json!(other);
    let problem = assert_problem(
        w.checkout(&w.claire, "elsewhere", &elsewhere).await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(error_fields(&problem), ["delivery_site_id"]);

    assert_eq!(w.order_count().await, 0);
    assert_eq!(w.stock(&w.carrots).await, (Some(dec("400")), dec("0")));
}

#[tokio::test]
async fn a_satellite_canteen_is_a_delivery_site_and_areas_are_enforced() {
    let w = World::new().await;
    let cook = w.app.signed_up("chef@ecole-satellite.fr").await;
    let mut satellite = canteen(&siret(2));
    satellite["name"] = json!("École maternelle Jules Ferry");
    satellite["commune_insee"] = json!("91021");
    satellite["canteen"]["production_type"] = json!("site_cooked_elsewhere");
    satellite["canteen"]["central_kitchen_siret"] = json!(SIRETS[2]);
    let satellite_id = w.app.create_organisation(&cook, satellite).await;
    w.app.verify(&w.admin, &satellite_id).await;

    // Farm B only delivers in Eure-et-Loir (28) from now on.
    let mut beauce = offer("Lentilles", 400, "5.5", Some("100"), "1", "1");
    beauce["delivery_area"] = json!([{"kind": "departement", "code": "28"}]);
    let lentils = create_offer(&w.app, &w.paul, &w.farm_b, &beauce).await;

    let date = next(Weekday::Wed, 7);
    let mut body = w.basket(date, &[(&w.carrots, "10"), (&lentils, "3")]);
    body["delivery_site_id"] = json!(satellite_id);
    let problem = assert_problem(
        w.checkout(&w.claire, "k1", &body).await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(error_fields(&problem), ["lines[1]"]);
    assert!(
        problem["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("does not deliver to École maternelle Jules Ferry")
    );

    body["lines"].as_array_mut().unwrap().pop();
    let response = w.checkout(&w.claire, "k2", &body).await;
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let checkout: Value = response.json().await.unwrap();
    assert_eq!(location, checkout["orders"][0]["href"].as_str().unwrap());
    assert_eq!(
        checkout["orders"][0]["delivery_site"]["id"],
        satellite_id.as_str()
    );
    assert_eq!(
        checkout["orders"][0]["delivery_site"]["commune_insee"],
        "91021"
    );
}

#[tokio::test]
async fn out_of_stock_lists_each_short_line_and_reserves_nothing() {
    let w = World::new().await;
    let date = next(Weekday::Thu, 7);
    let body = w.basket(
        date,
        &[(&w.apples, "60"), (&w.carrots, "10"), (&w.jam, "31")],
    );
    let problem = assert_problem(
        w.checkout(&w.claire, "greedy", &body).await,
        409,
        "out-of-stock",
    )
    .await;
    let mut short = problem["available"].as_array().unwrap().clone();
    short.sort_by_key(|s| s["line"].as_u64());
    assert_eq!(
        short,
        vec![
            json!({"line": 0, "offer_id": w.apples, "requested": "60", "available": "50"}),
            json!({"line": 2, "offer_id": w.jam, "requested": "31", "available": "30"}),
        ]
    );
    assert_eq!(w.stock(&w.carrots).await, (Some(dec("400")), dec("0")));
    assert_eq!(w.stock(&w.apples).await, (Some(dec("50")), dec("0")));
    assert_eq!(w.order_count().await, 0);
    // The key was not used up by the refusal: the same key works once stock allows.
    let fewer = w.basket(
        date,
        &[(&w.apples, "50"), (&w.carrots, "10"), (&w.jam, "30")],
    );
    assert_eq!(w.checkout(&w.claire, "greedy", &fewer).await.status(), 201);
}

/// Farm A's offers in the public search, with their stock as shown.
async fn supplier_search(w: &World) -> Vec<(String, Value)> {
    let url = format!("/api/v1/offers?supplier={}", w.farm_a);
    let page: Value = w.app.get(&url).await.json().await.unwrap();
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["id"].as_str().unwrap().to_owned(), o["stock"].clone()))
        .collect()
}

/// Anonymous callers and other organisations see a coarse availability
/// that one order does not move; the supplier sees the exact figures; the
/// buyer learns them only when its basket asks more than is left.
#[tokio::test]
async fn stock_tells_no_one_else_what_was_ordered() {
    let w = World::new().await;
    let public_view = |body: Value| body["stock"].clone();
    let carrots = format!("/api/v1/offers/{}", w.carrots);
    let anonymous_before = public_view(w.app.get(&carrots).await.json().await.unwrap());
    let canteen_before = public_view(
        w.app
            .get_as(&carrots, &w.claire.access)
            .await
            .json()
            .await
            .unwrap(),
    );
    let search_before = supplier_search(&w).await;
    assert_eq!(
        anonymous_before,
        json!({"on_demand": false, "availability": "in_stock"})
    );
    assert_eq!(canteen_before, anonymous_before);
    assert!(
        search_before
            .iter()
            .all(|(_, stock)| stock.get("available").is_none() && stock.get("reserved").is_none()),
        "{search_before:?}"
    );

    w.order(next(Weekday::Tue, 7), &[(&w.carrots, "25")]).await;
    assert_eq!(w.stock(&w.carrots).await, (Some(dec("375")), dec("25")));
    let anonymous_after = public_view(w.app.get(&carrots).await.json().await.unwrap());
    assert_eq!(anonymous_after, anonymous_before);
    assert_eq!(supplier_search(&w).await, search_before);
    let supplier: Value = w
        .app
        .get_as(&carrots, &w.marie.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        supplier["stock"],
        json!({"on_demand": false, "availability": "in_stock", "available": "375", "reserved": "25"})
    );

    // Fewer than ten minimum orders (5 kg) left: limited; none: out of stock.
    w.order(next(Weekday::Tue, 7), &[(&w.carrots, "330")]).await;
    let limited = public_view(w.app.get(&carrots).await.json().await.unwrap());
    assert_eq!(limited["availability"], "limited");
    w.order(next(Weekday::Tue, 7), &[(&w.carrots, "45")]).await;
    let empty = public_view(w.app.get(&carrots).await.json().await.unwrap());
    assert_eq!(empty["availability"], "out_of_stock");
    let potatoes: Value = w
        .app
        .get(&format!("/api/v1/offers/{}", w.potatoes))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        potatoes["stock"],
        json!({"on_demand": true, "availability": "on_demand"})
    );
}

#[tokio::test]
async fn concurrent_baskets_never_oversell_nor_deadlock() {
    let w = World::new().await;
    let date = next(Weekday::Mon, 7);
    // 120 baskets of 1 apple (50 in stock) and 5 kg of carrots (400 kg),
    // half of them listing the offers in the other order.
    let requests = (0..120).map(|i| {
        let lines: [(&str, &str); 2] = if i % 2 == 0 {
            [(&w.apples, "1"), (&w.carrots, "5")]
        } else {
            [(&w.carrots, "5"), (&w.apples, "1")]
        };
        let body = w.basket(date, &lines);
        let w = &w;
        async move {
            let response = w.checkout(&w.claire, &format!("basket-{i}"), &body).await;
            let status = response.status().as_u16();
            let problem: Value = response.json().await.unwrap();
            (status, problem)
        }
    });
    let results = join_all(requests).await;
    let created = results.iter().filter(|(s, _)| *s == 201).count();
    let refused: Vec<&Value> = results
        .iter()
        .filter(|(s, _)| *s == 409)
        .map(|(_, p)| p)
        .collect();
    assert_eq!(
        created,
        50,
        "{:?}",
        results.iter().map(|r| r.0).collect::<Vec<_>>()
    );
    assert_eq!(refused.len(), 70);
    for problem in refused {
        assert_eq!(
            problem["type"],
            "https://sesame.example/problems/out-of-stock"
        );
        assert_eq!(problem["available"][0]["offer_id"], w.apples.as_str());
        assert_eq!(problem["available"][0]["available"], "0");
    }
    assert_eq!(w.stock(&w.apples).await, (Some(dec("0")), dec("50")));
    assert_eq!(w.stock(&w.carrots).await, (Some(dec("150")), dec("250")));
    let mut db = w.app.db().await;
    let ordered: Option<Decimal> = order_lines::table
        .filter(order_lines::offer_id.eq(w.apples.parse::<Uuid>().unwrap()))
        .select(diesel::dsl::sum(order_lines::quantity_ordered))
        .first(&mut db)
        .await
        .unwrap();
    assert_eq!(ordered, Some(dec("50")));
}

#[tokio::test]
async fn the_same_idempotency_key_makes_one_checkout() {
    let w = World::new().await;
    let body = w.basket(
        next(Weekday::Tue, 7),
        &[(&w.apples, "2"), (&w.carrots, "5")],
    );
    let results = join_all((0..20).map(|_| async {
        let response = w.checkout(&w.claire, "same-key", &body).await;
        let status = response.status().as_u16();
        (status, response.json::<Value>().await.unwrap())
    }))
    .await;
    let checkouts: HashSet<String> = results
        .iter()
        .filter(|(s, _)| *s == 201)
        .map(|(_, b)| b["checkout_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(checkouts.len(), 1, "{results:?}");
    for (status, body) in &results {
        assert!(
            *status == 201
                || (*status == 409
                    && body["type"] == "https://sesame.example/problems/idempotency-in-progress"),
            "{status} {body}"
        );
    }
    assert_eq!(w.order_count().await, 2);
    assert_eq!(w.stock(&w.apples).await, (Some(dec("48")), dec("2")));

    // A retry later gets the first response, marked as a replay.
    let replay = w.checkout(&w.claire, "same-key", &body).await;
    assert_eq!(replay.status(), 201);
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    let replayed: Value = replay.json().await.unwrap();
    assert_eq!(
        replayed["checkout_id"].as_str(),
        checkouts.iter().next().map(String::as_str)
    );
    // "2.0" is the same quantity as "2": still the same basket.
    let mut rewritten = body.clone();
    rewritten["lines"][0]["quantity"] = json!("2.0");
    let replay = w.checkout(&w.claire, "same-key", &rewritten).await;
    assert_eq!(replay.status(), 201);
    assert_eq!(replay.headers()["idempotent-replayed"], "true");

    // The same key for another basket is refused; no key at all too.
    let other = w.basket(next(Weekday::Tue, 7), &[(&w.apples, "3")]);
    assert_problem(
        w.checkout(&w.claire, "same-key", &other).await,
        422,
        "idempotency-key-reused",
    )
    .await;
    let no_key = w
        .app
        .post_json("/api/v1/orders", &other, Some(&w.claire.access))
        .await;
    let problem = assert_problem(no_key, 400, "invalid-parameter").await;
    assert_eq!(error_fields(&problem), ["Idempotency-Key"]);
    assert_eq!(w.order_count().await, 2);
}

#[tokio::test]
async fn an_order_goes_from_submitted_to_received_with_stock_and_totals_corrected() {
    let w = World::new().await;
    let orders = w
        .order(
            next(Weekday::Wed, 7),
            &[(&w.carrots, "25"), (&w.potatoes, "10")],
        )
        .await;
    let id = orders[0]["id"].as_str().unwrap();

    let accepted = w.act(&w.marie, id, "accept", None).await;
    assert_eq!(accepted.status(), 200);
    // Carrots: 24.6 kg delivered (real weight); potatoes: 10.5 kg.
    let delivered = w
        .act(
            &w.marie,
            id,
            "deliver",
            Some(json!({"lines": [
                {"line_no": 0, "quantity_delivered": "24.6"},
                {"line_no": 1, "quantity_delivered": "10.5"}
            ]})),
        )
        .await;
    assert_eq!(delivered.status(), 200);
    let order: Value = delivered.json().await.unwrap();
    assert_eq!(order["status"], "delivered");
    assert_eq!(order["lines"][0]["quantity_delivered"], "24.6");
    assert_eq!(order["lines"][0]["total_ht_cents"], 4428); // 24.6 × 180
    assert_eq!(order["lines"][1]["total_ht_cents"], 3497); // 10.5 × 333 = 3496.5
    assert_eq!(order["totals"]["ht_cents"], 7925);
    assert_eq!(order["totals"]["vat_cents"], 436); // 7925 × 5.5 % = 435.875
    // 0.4 kg of carrots were not delivered: back in stock; nothing reserved.
    assert_eq!(w.stock(&w.carrots).await, (Some(dec("375.4")), dec("0")));

    let received = w.act(&w.claire, id, "receive", None).await;
    assert_eq!(received.status(), 200);
    let order: Value = w
        .app
        .get_as(&format!("/api/v1/orders/{id}"), &w.claire.access)
        .await
        .json()
        .await
        .unwrap();
    let steps: Vec<(&str, &str)> = order["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["to"].as_str().unwrap(),
                e["actor_organisation_id"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            ("submitted", w.canteen.as_str()),
            ("accepted", w.farm_a.as_str()),
            ("delivered", w.farm_a.as_str()),
            ("received", w.canteen.as_str())
        ]
    );
    let mut db = w.app.db().await;
    let total: i64 = orders::table
        .find(id.parse::<Uuid>().unwrap())
        .select(orders::total_ht_cents)
        .first(&mut db)
        .await
        .unwrap();
    assert_eq!(total, 7925);
}

#[tokio::test]
async fn heavier_deliveries_take_stock_and_disputes_name_lines() {
    let w = World::new().await;
    let orders = w
        .order(next(Weekday::Wed, 7), &[(&w.apples, "10"), (&w.jam, "2")])
        .await;
    let id = orders[0]["id"].as_str().unwrap();
    assert_eq!(w.act(&w.paul, id, "accept", None).await.status(), 200);
    // Up to twice the ordered quantity: 21 apples for 10 is refused.
    let too_many = w
        .act(
            &w.paul,
            id,
            "deliver",
            Some(json!({"lines": [{"line_no": 0, "quantity_delivered": "21"}]})),
        )
        .await;
    let problem = assert_problem(too_many, 422, "validation-failed").await;
    assert_eq!(error_fields(&problem), ["lines[0].quantity_delivered"]);
    // 12 apples delivered where 10 were ordered: 2 more leave the stock.
    let delivered = w
        .act(
            &w.paul,
            id,
            "deliver",
            Some(json!({"lines": [{"line_no": 0, "quantity_delivered": "12"}]})),
        )
        .await;
    assert_eq!(delivered.status(), 200);
    let order: Value = delivered.json().await.unwrap();
    assert_eq!(
        order["lines"][1]["quantity_delivered"], "2",
        "lines left out are delivered as ordered"
    );
    assert_eq!(w.stock(&w.apples).await, (Some(dec("38")), dec("0")));
    assert_eq!(w.stock(&w.jam).await, (Some(dec("28")), dec("0")));

    let no_reason = w
        .act(
            &w.claire,
            id,
            "dispute",
            Some(json!({"lines": [{"line_no": 1, "reason": " "}, {"line_no": 7, "reason": "?"}]})),
        )
        .await;
    let problem = assert_problem(no_reason, 422, "validation-failed").await;
    assert_eq!(
        error_fields(&problem),
        ["lines[0].reason", "lines[1].line_no"]
    );
    let long = format!("Pommes {}", "abîmées ".repeat(249));
    assert!(long.chars().count() <= 2000);
    let disputed = w
        .act(
            &w.claire,
            id,
            "dispute",
            Some(json!({"lines": [{"line_no": 1, "reason": "Un pot cassé"}, {"line_no": 0, "reason": long}]})),
        )
        .await;
    assert_eq!(disputed.status(), 200);
    let order: Value = disputed.json().await.unwrap();
    assert_eq!(order["status"], "disputed");
    assert_eq!(order["lines"][1]["dispute_reason"], "Un pot cassé");
    assert_eq!(order["lines"][0]["dispute_reason"], long.trim());
    // The event sums the reasons up, cut to its 2,000 characters.
    let summary = order["events"].as_array().unwrap().last().unwrap()["reason"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        summary.starts_with("line 1: Un pot cassé; line 0: Pommes"),
        "{summary}"
    );
    assert_eq!(summary.chars().count(), 2000);
    assert!(summary.ends_with('…'));
}

#[tokio::test]
async fn rejecting_or_cancelling_releases_stock_exactly_once() {
    let w = World::new().await;
    let date = next(Weekday::Thu, 7);
    let first = w.order(date, &[(&w.apples, "20")]).await;
    let second = w.order(date, &[(&w.apples, "5")]).await;
    let (first, second) = (
        first[0]["id"].as_str().unwrap(),
        second[0]["id"].as_str().unwrap(),
    );
    assert_eq!(w.stock(&w.apples).await, (Some(dec("25")), dec("25")));

    let problem = assert_problem(
        w.act(&w.paul, first, "reject", Some(json!({"reason": ""})))
            .await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(error_fields(&problem), ["reason"]);
    let rejected = w
        .act(
            &w.paul,
            first,
            "reject",
            Some(json!({"reason": "Grêle : récolte perdue"})),
        )
        .await;
    assert_eq!(rejected.status(), 200);
    assert_eq!(w.stock(&w.apples).await, (Some(dec("45")), dec("5")));
    // A second rejection or a cancellation finds it closed: 409, stock unchanged.
    let again = assert_problem(
        w.act(&w.paul, first, "reject", Some(json!({"reason": "encore"})))
            .await,
        409,
        "invalid-transition",
    )
    .await;
    assert_eq!(again["allowed"], json!([]));
    assert_problem(
        w.act(&w.claire, first, "cancel", Some(json!({}))).await,
        409,
        "invalid-transition",
    )
    .await;
    assert_eq!(w.stock(&w.apples).await, (Some(dec("45")), dec("5")));

    // Concurrent cancellations of the second order: one wins, stock moves once.
    let attempts =
        join_all((0..8).map(|_| w.act(&w.claire, second, "cancel", Some(json!({}))))).await;
    let statuses: Vec<u16> = attempts.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        7,
        "{statuses:?}"
    );
    assert_eq!(w.stock(&w.apples).await, (Some(dec("50")), dec("0")));
}

#[tokio::test]
async fn forbidden_transitions_are_refused_and_name_the_allowed_ones() {
    let w = World::new().await;
    let orders = w.order(next(Weekday::Fri, 7), &[(&w.carrots, "5")]).await;
    let id = orders[0]["id"].as_str().unwrap();

    // The other party's transitions: 403.
    assert_problem(w.act(&w.claire, id, "accept", None).await, 403, "forbidden").await;
    assert_problem(w.act(&w.marie, id, "receive", None).await, 403, "forbidden").await;
    // Not from this status: 409 with what the caller may do instead.
    let problem = assert_problem(
        w.act(&w.marie, id, "deliver", Some(json!({}))).await,
        409,
        "invalid-transition",
    )
    .await;
    assert_eq!(
        problem["allowed"],
        json!([{"action": "accept", "to": "accepted"}, {"action": "reject", "to": "rejected"}, {"action": "cancel", "to": "cancelled"}])
    );
    let problem = assert_problem(
        w.act(&w.claire, id, "dispute", Some(json!({"lines": []})))
            .await,
        409,
        "invalid-transition",
    )
    .await;
    assert_eq!(
        problem["allowed"],
        json!([{"action": "cancel", "to": "cancelled"}])
    );
    // The supplier cancels only with a reason.
    let problem = assert_problem(
        w.act(&w.marie, id, "cancel", Some(json!({}))).await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(error_fields(&problem), ["reason"]);

    // Another organisation sees nothing and moves nothing: 404.
    let paul_get = w
        .app
        .get_as(&format!("/api/v1/orders/{id}"), &w.paul.access)
        .await;
    assert_problem(paul_get, 404, "not-found").await;
    assert_problem(w.act(&w.paul, id, "accept", None).await, 404, "not-found").await;
    let listed = w
        .app
        .get_as(
            &format!("/api/v1/orders?organisation_id={}", w.farm_a),
            &w.paul.access,
        )
        .await;
    assert_problem(listed, 404, "not-found").await;
    let feed = w
        .app
        .get_as(
            &format!("/api/v1/organisations/{}/events", w.canteen),
            &w.paul.access,
        )
        .await;
    assert_problem(feed, 404, "not-found").await;
    // An administrator reads but does not act.
    assert_eq!(
        w.app
            .get_as(&format!("/api/v1/orders/{id}"), &w.admin.access)
            .await
            .status(),
        200
    );
    assert_problem(w.act(&w.admin, id, "accept", None).await, 403, "forbidden").await;

    let mut db = w.app.db().await;
    let status: String = orders::table
        .find(id.parse::<Uuid>().unwrap())
        .select(orders::status)
        .first(&mut db)
        .await
        .unwrap();
    assert_eq!(status, "submitted");
}

#[tokio::test]
async fn past_the_cut_off_only_the_supplier_cancels() {
    let w = World::new().await;
    // Potatoes with no notice: deliverable tomorrow (any day).
    let mut quick = offer("Radis", 150, "5.5", Some("40"), "1", "1");
    quick["lead_time_days"] = json!(0);
    quick["delivery_weekdays"] = json!([1, 2, 3, 4, 5, 6, 7]);
    let radishes = create_offer(&w.app, &w.marie, &w.farm_a, &quick).await;
    let tomorrow = chrono::Utc::now().date_naive() + Days::new(1);
    let orders = w.order(tomorrow, &[(&radishes, "4")]).await;
    let id = orders[0]["id"].as_str().unwrap();
    assert_eq!(
        orders[0]["buyer_cancel_until"],
        json!(tomorrow - Days::new(2))
    );

    let problem = assert_problem(
        w.act(&w.claire, id, "cancel", Some(json!({}))).await,
        409,
        "invalid-transition",
    )
    .await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("ask the supplier"),
        "{problem}"
    );
    let cancelled = w
        .act(
            &w.marie,
            id,
            "cancel",
            Some(json!({"reason": "Le camion est en panne"})),
        )
        .await;
    assert_eq!(cancelled.status(), 200);
    let order: Value = cancelled.json().await.unwrap();
    assert_eq!(order["events"][1]["reason"], "Le camion est en panne");
    assert_eq!(w.stock(&radishes).await, (Some(dec("40")), dec("0")));
}

#[tokio::test]
async fn a_past_order_keeps_what_was_bought_when_the_offer_changes() {
    let w = World::new().await;
    let orders = w.order(next(Weekday::Tue, 7), &[(&w.carrots, "10")]).await;
    let id = orders[0]["id"].as_str().unwrap();
    let changed = w
        .app
        .client
        .patch(w.app.url(&format!("/api/v1/offers/{}", w.carrots)))
        .bearer_auth(&w.marie.access)
        .header("If-Match", "\"1\"")
        .json(&json!({"name": "Carottes nouvelles", "price_cents": 250, "vat_rate": "10"}))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200, "{}", changed.text().await.unwrap());
    let order: Value = w
        .app
        .get_as(&format!("/api/v1/orders/{id}"), &w.claire.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(order["lines"][0]["product_name"], "Carottes");
    assert_eq!(order["lines"][0]["unit_price_cents"], 180);
    assert_eq!(order["lines"][0]["vat_rate"], "5.5");
    assert_eq!(order["totals"]["ttc_cents"], 1899); // 1800 + 99
}

#[tokio::test]
async fn lists_filter_and_page_and_picking_lists_add_up() {
    let w = World::new().await;
    let (tue, wed) = (next(Weekday::Tue, 7), next(Weekday::Wed, 7));
    let first = w.order(tue, &[(&w.carrots, "10"), (&w.apples, "3")]).await;
    let second = w.order(tue, &[(&w.carrots, "15")]).await;
    let third = w.order(wed, &[(&w.carrots, "5")]).await;
    for order in [&first[0], &second[0]] {
        let id = order["id"].as_str().unwrap();
        assert_eq!(w.act(&w.marie, id, "accept", None).await.status(), 200);
    }

    let page = |query: String, token: String| {
        let app = &w.app;
        async move {
            let response = app.get_as(&format!("/api/v1/orders?{query}"), &token).await;
            assert_eq!(response.status(), 200);
            response.json::<Value>().await.unwrap()
        }
    };
    let ids = |page: &Value| item_keys(page, "id");
    // Claire belongs to one organisation: no need to name it.
    let p1 = page("limit=2".into(), w.claire.access.clone()).await;
    assert_eq!(
        ids(&p1),
        [
            third[0]["id"].as_str().unwrap(),
            second[0]["id"].as_str().unwrap()
        ]
    );
    let p2 = page(
        format!("limit=2&cursor={}", p1["next_cursor"].as_str().unwrap()),
        w.claire.access.clone(),
    )
    .await;
    assert_eq!(
        p2["items"].as_array().unwrap().len(),
        2,
        "farm A's and farm B's orders of the first basket"
    );
    assert_eq!(p2["next_cursor"], Value::Null);

    let accepted = page(
        format!("organisation_id={}&role=supplier&status=accepted", w.farm_a),
        w.marie.access.clone(),
    )
    .await;
    assert_eq!(accepted["items"].as_array().unwrap().len(), 2);
    let on_wed = page(
        format!("delivery_from={wed}&delivery_to={wed}"),
        w.claire.access.clone(),
    )
    .await;
    assert_eq!(ids(&on_wed), [third[0]["id"].as_str().unwrap()]);
    let with_b = page(format!("counterpart={}", w.farm_b), w.claire.access.clone()).await;
    assert_eq!(ids(&with_b), [first[1]["id"].as_str().unwrap()]);
    let bad = w
        .app
        .get_as("/api/v1/orders?limit=1000", &w.claire.access)
        .await;
    assert_problem(bad, 400, "invalid-parameter").await;

    // Farm A prepares 25 kg of carrots for Tuesday (the Wednesday order is not accepted).
    let picking: Value = w
        .app
        .get_as(
            &format!("/api/v1/organisations/{}/picking-list?date={tue}", w.farm_a),
            &w.marie.access,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(picking["products"].as_array().unwrap().len(), 1);
    assert_eq!(picking["products"][0]["total_quantity"], "25");
    assert_eq!(
        picking["products"][0]["sites"][0]["order_ids"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let csv = w
        .app
        .client
        .get(w.app.url(&format!(
            "/api/v1/organisations/{}/picking-list.csv?date={tue}",
            w.farm_a
        )))
        .bearer_auth(&w.marie.access)
        .send()
        .await
        .unwrap();
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let text = csv.text().await.unwrap();
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows.len(), 2, "{text}");
    assert!(rows[0].starts_with("delivery_date,offer_id,product_name,unit,quantity"));
    assert!(rows[1].contains(",Carottes,KGM,25,"), "{text}");
    let canteen_picking = w
        .app
        .get_as(
            &format!(
                "/api/v1/organisations/{}/picking-list?date={tue}",
                w.canteen
            ),
            &w.claire.access,
        )
        .await;
    assert_problem(canteen_picking, 403, "forbidden").await;
}

/// A cluster of the test's own with the service's database prepared: the
/// feed shows an event once every transaction of its database older than
/// it has ended, and on the shared test server other tests' transactions
/// (in the same database template, or running while it is copied) would
/// delay it.
async fn own_cluster(name: &str) -> (LocalPostgres, String) {
    let dir = std::env::temp_dir().join(format!("sesame-{name}-{}", Uuid::new_v4().simple()));
    let options = local::Options {
        durable: false,
        remove_on_stop: true,
        max_connections: 40,
    };
    let cluster = LocalPostgres::start(&dir, options).expect("own cluster");
    let url = cluster.url(local::DATABASE);
    sesame::server::prepare(&url).await.expect("prepare");
    (cluster, url)
}

async fn stop(cluster: LocalPostgres) {
    tokio::task::spawn_blocking(move || cluster.stop())
        .await
        .unwrap()
        .expect("stop");
}

/// The event types of a feed page, in order.
fn event_types(page: &Value) -> Vec<&str> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn the_feed_resumes_from_a_cursor() {
    let (cluster, url) = own_cluster("feed").await;
    let w = World::on(TestApp::spawn_on(TestDatabase::external(url.clone()), &url).await).await;
    // A basket of two suppliers: one order each.
    let orders = w
        .order(
            next(Weekday::Tue, 7),
            &[(&w.carrots, "5"), (&w.apples, "12")],
        )
        .await;
    let id = orders[0]["id"].as_str().unwrap();
    let feed = |organisation: &str, session: &Session, after: Option<String>| {
        let (w, organisation, access) = (&w, organisation.to_owned(), session.access.clone());
        async move {
            let query = after.map(|a| format!("?cursor={a}")).unwrap_or_default();
            let response = w
                .app
                .get_as(
                    &format!("/api/v1/organisations/{organisation}/events{query}"),
                    &access,
                )
                .await;
            assert_eq!(response.status(), 200);
            response.json::<Value>().await.unwrap()
        }
    };
    let read = |after: Option<String>| feed(&w.farm_a, &w.marie, after);

    // The buyer reads both orders in its feed, each supplier its own.
    let buyer = feed(&w.canteen, &w.claire, None).await;
    assert_eq!(event_types(&buyer), ["order.submitted", "order.submitted"]);
    let farm_b = feed(&w.farm_b, &w.paul, None).await;
    assert_eq!(farm_b["items"].as_array().unwrap().len(), 1);
    assert_eq!(farm_b["items"][0]["subject_id"], orders[1]["id"]);
    assert_eq!(
        farm_b["items"][0]["data"]["total_ttc_cents"],
        orders[1]["totals"]["ttc_cents"]
    );

    let start = read(None).await;
    assert_eq!(start["items"].as_array().unwrap().len(), 1);
    let cursor = start["next_cursor"].as_str().unwrap().to_owned();
    let nothing_new = read(Some(cursor.clone())).await;
    assert_eq!(nothing_new["items"], json!([]));
    assert_eq!(nothing_new["next_cursor"], cursor.as_str());

    assert_eq!(w.act(&w.marie, id, "accept", None).await.status(), 200);
    assert_eq!(
        w.act(&w.marie, id, "deliver", Some(json!({})))
            .await
            .status(),
        200
    );
    let next_events = read(Some(cursor)).await;
    assert_eq!(
        event_types(&next_events),
        ["order.accepted", "order.delivered"]
    );
    assert_eq!(next_events["items"][1]["data"]["status"], "delivered");
    let bad = w
        .app
        .get_as(
            &format!("/api/v1/organisations/{}/events?cursor=abc", w.farm_a),
            &w.marie.access,
        )
        .await;
    assert_problem(bad, 400, "invalid-parameter").await;
    drop(w);
    stop(cluster).await;
}

/// A transaction left open in another database of the cluster does not
/// hold the feed back; one of this database, older than an event, does until
/// it ends, so that the event it may still write is not passed over.
#[tokio::test]
async fn only_this_databases_transactions_hold_the_feed_back() {
    use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
    let (cluster, url) = own_cluster("horizon").await;
    let w = World::on(TestApp::spawn_on(TestDatabase::external(url.clone()), &url).await).await;
    let read = |cursor: Option<String>| {
        let w = &w;
        async move {
            let query = cursor.map(|c| format!("?cursor={c}")).unwrap_or_default();
            let path = format!("/api/v1/organisations/{}/events{query}", w.farm_a);
            let response = w.app.get_as(&path, &w.marie.access).await;
            assert_eq!(response.status(), 200);
            response.json::<Value>().await.unwrap()
        }
    };

    let mut admin = AsyncPgConnection::establish(&url).await.unwrap();
    admin
        .batch_execute("CREATE DATABASE elsewhere")
        .await
        .unwrap();
    let mut elsewhere = AsyncPgConnection::establish(&cluster.url("elsewhere"))
        .await
        .unwrap();
    // An open transaction with an id, as a long report or a stuck session would be.
    elsewhere
        .batch_execute("BEGIN; SELECT pg_current_xact_id()")
        .await
        .unwrap();
    let orders = w.order(next(Weekday::Tue, 7), &[(&w.carrots, "5")]).await;
    let id = orders[0]["id"].as_str().unwrap();
    let first = read(None).await;
    assert_eq!(event_types(&first), ["order.submitted"]);
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();

    // The same in this database: the acceptance, younger, waits for it.
    let mut here = AsyncPgConnection::establish(&url).await.unwrap();
    here.batch_execute("BEGIN; SELECT pg_current_xact_id()")
        .await
        .unwrap();
    assert_eq!(w.act(&w.marie, id, "accept", None).await.status(), 200);
    let held = read(Some(cursor.clone())).await;
    assert_eq!(held["items"], json!([]));
    assert_eq!(held["next_cursor"], cursor.as_str());
    here.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(event_types(&read(Some(cursor)).await), ["order.accepted"]);

    elsewhere.batch_execute("ROLLBACK").await.unwrap();
    drop((elsewhere, here, admin, w));
    stop(cluster).await;
}

#[tokio::test]
async fn someone_in_both_organisations_acts_as_the_party_the_action_belongs_to() {
    let w = World::new().await;
    // Marie runs farm A and also the canteen of her village.
    let mut own = canteen(&siret(5));
    own["name"] = json!("Cantine de Brétigny");
    let own_canteen = w.app.create_organisation(&w.marie, own).await;
    w.app.verify(&w.admin, &own_canteen).await;
    let mut body = w.basket(next(Weekday::Tue, 7), &[(&w.carrots, "5")]);
    body["buyer_id"] = json!(own_canteen);
    let response = w.checkout(&w.marie, "own-farm", &body).await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    let checkout: Value = response.json().await.unwrap();
    let id = checkout["orders"][0]["id"].as_str().unwrap();
    // Accepting is the supplier's: she accepts as the farm.
    let accepted = w.act(&w.marie, id, "accept", None).await;
    assert_eq!(accepted.status(), 200);
    let order: Value = accepted.json().await.unwrap();
    assert_eq!(
        order["events"][1]["actor_organisation_id"],
        w.farm_a.as_str()
    );
    // Receiving is the buyer's: after delivery she confirms as the canteen.
    assert_eq!(
        w.act(&w.marie, id, "deliver", Some(json!({})))
            .await
            .status(),
        200
    );
    let received = w.act(&w.marie, id, "receive", None).await;
    assert_eq!(received.status(), 200);
    let order: Value = received.json().await.unwrap();
    assert_eq!(
        order["events"][3]["actor_organisation_id"],
        own_canteen.as_str()
    );
}

/// Today in Paris, as the service counts days.
pub(crate) async fn paris_today(app: &TestApp) -> NaiveDate {
    let mut db = app.db().await;
    diesel::dsl::select(diesel::dsl::sql::<diesel::sql_types::Date>(
        "(now() AT TIME ZONE 'Europe/Paris')::date",
    ))
    .get_result(&mut db)
    .await
    .unwrap()
}

/// An offer lists the next dates it can be delivered on; checkout accepts
/// the first and refuses the day before; `deliverable_by` agrees with both.
#[tokio::test]
async fn offers_say_when_they_can_be_delivered_and_checkout_agrees() {
    let world = World::new().await;
    let app = &world.app;
    let today = paris_today(app).await;
    let mut body = offer("Céleri", 150, "5.5", Some("100"), "1", "1");
    body["lead_time_days"] = json!(3);
    body["delivery_weekdays"] = json!([2, 4]);
    body["available_until"] = json!(today + Days::new(40));
    let celery = create_offer(app, &world.marie, &world.farm_a, &body).await;

    // Tuesdays and Thursdays from three days on, counted here by hand.
    let mut expected = Vec::new();
    let mut day = today + Days::new(3);
    while expected.len() < 3 {
        if matches!(day.weekday(), Weekday::Tue | Weekday::Thu) {
            expected.push(day.to_string());
        }
        day = day + Days::new(1);
    }
    let read: Value = app
        .get(&format!("/api/v1/offers/{celery}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read["next_delivery_dates"], json!(expected), "{read}");
    let first: NaiveDate = expected[0].parse().unwrap();

    let found = |by: NaiveDate| {
        let path = format!(
            "/api/v1/offers?supplier={}&deliverable_by={by}&limit=100",
            world.farm_a
        );
        async move {
            let page: Value = app.get(&path).await.json().await.unwrap();
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert!(found(first).await.contains(&celery));
    assert!(found(first + Days::new(20)).await.contains(&celery));
    assert!(!found(first - Days::new(1)).await.contains(&celery));

    let early = world.basket(first - Days::new(1), &[(&celery, "2")]);
    let refused = world.checkout(&world.claire, "early", &early).await;
    assert_problem(refused, 422, "validation-failed").await;
    assert_eq!(world.order_count().await, 0);
    let orders = world.order(first, &[(&celery, "2")]).await;
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0]["delivery_date"], json!(expected[0]));
}

/// `/me` names the one verified organisation to act as, and none while the
/// caller's only organisation waits for verification.
#[tokio::test]
async fn me_names_the_organisation_to_act_as() {
    let world = World::new().await;
    let me: Value = world
        .app
        .get_as("/api/v1/me", &world.claire.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["organisation"]["organisation_id"], json!(world.canteen));
    assert_eq!(me["organisation"]["kind"], "canteen");

    let newcomer = world.app.signed_up("nouveau@cantine.example").await;
    let pending = world
        .app
        .create_organisation(&newcomer, canteen(SIRETS[3]))
        .await;
    let me: Value = world
        .app
        .get_as("/api/v1/me", &newcomer.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["organisation"], Value::Null, "{me}");
    assert_eq!(me["memberships"][0]["organisation_id"], json!(pending));
}

/// A basket that takes a family's purchases of the year past 60,000 € HT
/// is placed, with a warning that competition is due; a small one has none.
#[tokio::test]
async fn a_basket_past_sixty_thousand_euros_in_a_family_is_placed_with_a_warning() {
    let w = World::new().await;
    let date = next(Weekday::Tue, 7);
    let small = w
        .checkout(
            &w.claire,
            &Uuid::now_v7().to_string(),
            &w.basket(date, &[(&w.carrots, "25")]),
        )
        .await;
    assert_eq!(small.status(), 201);
    let small: Value = small.json().await.unwrap();
    assert!(small.get("warnings").is_none(), "{small}");
    // 20,000 kg of potatoes at 3.33 €/kg: 66,600 € HT, with 45 € of carrots.
    let large = w
        .checkout(
            &w.claire,
            &Uuid::now_v7().to_string(),
            &w.basket(date, &[(&w.potatoes, "20000")]),
        )
        .await;
    assert_eq!(large.status(), 201);
    let large: Value = large.json().await.unwrap();
    assert_eq!(large["orders"].as_array().unwrap().len(), 1);
    let warnings = large["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{large}");
    assert_eq!(warnings[0]["family"], "FRUITS_ET_LEGUMES");
    assert_eq!(warnings[0]["canteen_id"], w.canteen.as_str());
    assert_eq!(warnings[0]["purchases_ht_cents"], 4500);
    assert_eq!(warnings[0]["with_this_purchase_ht_cents"], 4500 + 6_660_000);
    assert_eq!(warnings[0]["threshold_ht_cents"], 6_000_000);
    assert!(
        warnings[0]["message"]
            .as_str()
            .unwrap()
            .contains("this basket")
    );
    assert_eq!(w.order_count().await, 2);
}
