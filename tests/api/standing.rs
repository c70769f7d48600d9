//! Standing orders: each due day placed once, ever, through the checkout,
//! whatever the number of instances running the job; closures and public
//! holidays skipped; days changed or skipped before they are due; refused
//! lines left out and reported; days that passed during downtime reported
//! as missed.

use std::collections::BTreeMap;

use chrono::{Datelike, Days, NaiveDate};
use diesel::prelude::*;
use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
use serde_json::{Value, json};
use sesame::schema::{domain_events, orders};
use uuid::Uuid;

use crate::helpers::{assert_problem, error_fields, item_keys};
use crate::orders::{World, paris_today};

async fn create(w: &World, body: &Value) -> Value {
    let response = w
        .app
        .post_json("/api/v1/standing-orders", body, Some(&w.claire.access))
        .await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    response.json().await.unwrap()
}

async fn run(w: &World) -> sesame::standing::service::Run {
    let mut db = w.app.db().await;
    sesame::standing::service::run_due(&mut db).await.unwrap()
}

/// Orders placed per delivery date, and their suppliers.
async fn placed(w: &World) -> BTreeMap<NaiveDate, Vec<Uuid>> {
    let mut db = w.app.db().await;
    let rows: Vec<(NaiveDate, Uuid)> = orders::table
        .select((orders::delivery_date, orders::supplier_id))
        .order((orders::delivery_date, orders::supplier_id))
        .load(&mut db)
        .await
        .unwrap();
    let mut by_day: BTreeMap<NaiveDate, Vec<Uuid>> = BTreeMap::new();
    for (day, supplier) in rows {
        by_day.entry(day).or_default().push(supplier);
    }
    by_day
}

fn weekday(day: NaiveDate) -> u32 {
    day.weekday().number_from_monday()
}

#[tokio::test]
async fn a_canteens_standing_orders_page_newest_first() {
    let w = World::new().await;
    let today = paris_today(&w.app).await;
    let mut created = Vec::new();
    for name in ["Lundis", "Mardis", "Jeudis"] {
        let template = create(
            &w,
            &json!({
                "buyer_id": w.canteen,
                "name": name,
                "starts_on": today + Days::new(3),
                "days_ahead": 7,
                "lines": [{"weekday": 2, "offer_id": w.carrots, "quantity": "5"}]
            }),
        )
        .await;
        created.push(template["id"].as_str().unwrap().to_owned());
    }
    let list = format!("/api/v1/organisations/{}/standing-orders", w.canteen);
    let w = &w;
    let read = |query: String| {
        let path = format!("{list}?{query}");
        async move { w.app.json_as(&path, &w.claire.access).await }
    };
    let first = read("limit=2".into()).await;
    assert_eq!(
        item_keys(&first, "id"),
        [created[2].clone(), created[1].clone()]
    );
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    let second = read(format!("limit=2&cursor={cursor}")).await;
    assert_eq!(item_keys(&second, "id"), [created[0].clone()]);
    assert_eq!(second["next_cursor"], Value::Null);
    let unknown = w
        .app
        .get_as(
            &format!("{list}?cursor={}", Uuid::now_v7()),
            &w.claire.access,
        )
        .await;
    assert_problem(unknown, 400, "invalid-parameter").await;
}

#[tokio::test]
async fn due_days_are_placed_once_by_two_instances_skipping_closures_and_holidays() {
    let w = World::new().await;
    let today = paris_today(&w.app).await;
    let starts = today + Days::new(3);
    let ends = today + Days::new(20);
    let template = create(
        &w,
        &json!({
            "buyer_id": w.canteen,
            "name": "Semaine type",
            "starts_on": starts,
            "ends_on": ends,
            "days_ahead": 14,
            "lines": [
                {"weekday": 1, "offer_id": w.carrots, "quantity": "5"},
                {"weekday": 1, "offer_id": w.apples, "quantity": "2"},
                {"weekday": 4, "offer_id": w.carrots, "quantity": "10"}
            ]
        }),
    )
    .await;
    // The canteen closes on the first Thursday of the period.
    let closed_thursday = starts.iter_days().find(|d| weekday(*d) == 4).unwrap();
    let response = w
        .app
        .post_json(
            &format!("/api/v1/organisations/{}/closures", w.canteen),
            &json!({"starts_on": closed_thursday, "ends_on": closed_thursday, "reason": "Sortie scolaire"}),
            Some(&w.claire.access),
        )
        .await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());

    // What should be placed: Mondays and Thursdays from the start to 14
    // days ahead (due), but the closure and public holidays.
    let horizon = today + Days::new(14);
    let expected: Vec<NaiveDate> = starts
        .iter_days()
        .take_while(|d| *d <= horizon.min(ends))
        .filter(|d| matches!(weekday(*d), 1 | 4))
        .filter(|d| *d != closed_thursday && sesame::clock::public_holiday(*d).is_none())
        .collect();
    assert!(!expected.is_empty());

    // Two instances run the job at once: each day is placed once.
    let (a, b) = tokio::join!(run(&w), run(&w));
    assert_eq!(a.placed + b.placed, expected.len(), "{a:?} {b:?}");
    let by_day = placed(&w).await;
    assert_eq!(by_day.keys().copied().collect::<Vec<_>>(), expected);
    for (day, suppliers) in &by_day {
        // Monday: carrots (farm A) and apples (farm B); Thursday: carrots.
        let want = if weekday(*day) == 1 { 2 } else { 1 };
        assert_eq!(suppliers.len(), want, "{day}");
    }
    // Again, and again: nothing more.
    let again = run(&w).await;
    assert_eq!((again.placed, again.failed), (0, 0));
    assert_eq!(placed(&w).await, by_day);

    // The template shows each day's fate.
    let id = template["id"].as_str().unwrap();
    let read: Value = w
        .app
        .get_as(&format!("/api/v1/standing-orders/{id}"), &w.claire.access)
        .await
        .json()
        .await
        .unwrap();
    let status_of = |day: NaiveDate| {
        read["occurrences"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["delivery_date"] == day.to_string())
            .map(|o| o["status"].as_str().unwrap().to_owned())
    };
    assert_eq!(status_of(closed_thursday).as_deref(), Some("closed"));
    for day in &expected {
        assert_eq!(status_of(*day).as_deref(), Some("placed"), "{day}");
    }
    // Another canteen's member does not see it.
    let other = w.app.signed_up("intrus@exemple.fr").await;
    let response = w
        .app
        .get_as(&format!("/api/v1/standing-orders/{id}"), &other.access)
        .await;
    assert_problem(response, 404, "not-found").await;
}

#[tokio::test]
async fn days_change_before_they_are_due_and_refused_lines_are_reported() {
    let w = World::new().await;
    let today = paris_today(&w.app).await;
    let mondays: Vec<NaiveDate> = (today + Days::new(3))
        .iter_days()
        .filter(|d| weekday(*d) == 1 && sesame::clock::public_holiday(*d).is_none())
        .take(4)
        .collect();
    let template = create(
        &w,
        &json!({
            "buyer_id": w.canteen,
            "name": "Lundis",
            "starts_on": mondays[0],
            "days_ahead": 10,
            "lines": [
                {"weekday": 1, "offer_id": w.carrots, "quantity": "5"},
                {"weekday": 1, "offer_id": w.apples, "quantity": "80"}
            ]
        }),
    )
    .await;
    let id = template["id"].as_str().unwrap();
    let day_path = |day: NaiveDate| format!("/api/v1/standing-orders/{id}/days/{day}");
    let put = |path: String, body: Value| {
        let w = &w;
        async move {
            w.app
                .client
                .put(w.app.url(&path))
                .bearer_auth(&w.claire.access)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    // Not yet due (more than 10 days ahead): changed, and skipped.
    let (later, skipped) = (mondays[2], mondays[3]);
    let response = put(
        day_path(later),
        json!({"lines": [{"offer_id": w.carrots, "quantity": "15"}]}),
    )
    .await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    assert_eq!(
        put(day_path(skipped), json!({"skip": true})).await.status(),
        200
    );
    // A day without delivery, a bad line.
    let tuesday = later + Days::new(1);
    assert_problem(
        put(day_path(tuesday), json!({"skip": true})).await,
        404,
        "not-found",
    )
    .await;
    // A template placed later than an offer's notice is refused up front.
    let short = w
        .app
        .post_json(
            "/api/v1/standing-orders",
            &json!({"buyer_id": w.canteen, "name": "Trop tard", "starts_on": mondays[0],
                    "days_ahead": 1, "lines": [{"weekday": 1, "offer_id": w.carrots, "quantity": "5"}]}),
            Some(&w.claire.access),
        )
        .await;
    let problem = assert_problem(short, 422, "validation-failed").await;
    assert_eq!(error_fields(&problem), ["lines[0].offer_id"]);
    let problem = assert_problem(
        put(day_path(later), json!({"lines": [{"quantity": "0"}]})).await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(error_fields(&problem), ["lines[0]", "lines[0].quantity"]);

    // The first Monday is due: apples are short (50 in stock), so that line
    // is left out and reported, and the carrots are placed.
    let first = mondays[0];
    let done = run(&w).await;
    assert!(done.placed >= 1, "{done:?}");
    let by_day = placed(&w).await;
    assert_eq!(by_day[&first], vec![w.farm_a.parse::<Uuid>().unwrap()]);
    assert_eq!(w.stock(&w.apples).await.1, rust_decimal::Decimal::ZERO);
    let mut db = w.app.db().await;
    let events: Vec<(String, Value)> = domain_events::table
        .filter(domain_events::organisation_id.eq(w.canteen.parse::<Uuid>().unwrap()))
        .filter(domain_events::event_type.like("standing_order.%"))
        .select((domain_events::event_type, domain_events::payload))
        .load(&mut db)
        .await
        .unwrap();
    let report = events
        .iter()
        .find(|(kind, data)| {
            kind == "standing_order.placed" && data["delivery_date"] == first.to_string()
        })
        .map(|(_, data)| data)
        .expect("a placed event for the first Monday");
    assert_eq!(
        report["problems"][0]["problem"]["type"],
        "https://sesame.example/problems/out-of-stock"
    );
    assert_eq!(
        report["problems"][0]["lines"][0]["offer_id"],
        w.apples.as_str()
    );
    // A due day is an ordinary order now.
    assert_problem(
        put(day_path(first), json!({"skip": true})).await,
        409,
        "conflict",
    )
    .await;

    // The changed and skipped days, once due, are placed as changed or not
    // at all: the job runs as if 21 days had passed.
    db.batch_execute(&format!(
        "UPDATE standing_orders SET days_ahead = 42 WHERE id = '{id}'"
    ))
    .await
    .unwrap();
    run(&w).await;
    let by_day = placed(&w).await;
    assert!(!by_day.contains_key(&skipped));
    let quantity: rust_decimal::Decimal = sesame::schema::order_lines::table
        .inner_join(orders::table)
        .filter(orders::delivery_date.eq(later))
        .select(sesame::schema::order_lines::quantity_ordered)
        .first(&mut db)
        .await
        .unwrap();
    assert_eq!(quantity, rust_decimal::Decimal::from(15));
}

#[tokio::test]
async fn days_that_passed_during_downtime_are_reported_missed_and_the_rest_caught_up() {
    let w = World::new().await;
    let today = paris_today(&w.app).await;
    let lines: Vec<Value> = (1..=5)
        .map(|d| json!({"weekday": d, "offer_id": w.carrots, "quantity": "5"}))
        .collect();
    let template = create(
        &w,
        &json!({
            "buyer_id": w.canteen,
            "name": "Tous les jours ouvrés",
            "starts_on": today,
            "days_ahead": 5,
            "lines": lines
        }),
    )
    .await;
    let id = template["id"].as_str().unwrap();
    // The service was down for the ten days after the standing order was
    // set up: nothing ran.
    let mut db = w.app.db().await;
    db.batch_execute(&format!(
        "UPDATE standing_orders SET created_at = now() - interval '10 days', \
                starts_on = starts_on - 10 WHERE id = '{id}'"
    ))
    .await
    .unwrap();
    let done = run(&w).await;
    let created = today - Days::new(10);
    let missed: Vec<NaiveDate> = (created + Days::new(1))
        .iter_days()
        .take_while(|d| *d <= today)
        .filter(|d| weekday(*d) <= 5 && sesame::clock::public_holiday(*d).is_none())
        .collect();
    assert_eq!(done.missed, missed.len(), "{done:?}");
    let events: i64 = domain_events::table
        .filter(domain_events::event_type.eq("standing_order.missed"))
        .count()
        .get_result(&mut db)
        .await
        .unwrap();
    assert_eq!(events, i64::try_from(missed.len()).unwrap());
    // Days still ahead were caught up: placed if the offer's two days'
    // notice allows, reported failed otherwise; none forgotten.
    let ahead: Vec<NaiveDate> = (today + Days::new(1))
        .iter_days()
        .take_while(|d| *d <= today + Days::new(5))
        .filter(|d| weekday(*d) <= 5 && sesame::clock::public_holiday(*d).is_none())
        .collect();
    assert_eq!(done.placed + done.failed, ahead.len(), "{done:?}");
    let notice_ok = ahead.iter().filter(|d| **d >= today + Days::new(2)).count();
    assert_eq!(done.placed, notice_ok, "{done:?}");
    // A second run finds nothing to do.
    let again = run(&w).await;
    assert_eq!((again.placed, again.failed, again.missed), (0, 0, 0));
}

#[tokio::test]
async fn closures_belong_to_the_canteen_and_list_the_public_holidays() {
    let w = World::new().await;
    let listed: Value = w
        .app
        .get_as(
            &format!("/api/v1/organisations/{}/closures", w.canteen),
            &w.claire.access,
        )
        .await
        .json()
        .await
        .unwrap();
    let today = paris_today(&w.app).await;
    let holidays: Vec<String> = listed["public_holidays"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["date"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(holidays.len(), 22);
    let christmas = format!("{}-12-25", today.year());
    assert!(holidays.contains(&christmas), "{holidays:?}");
    // A farm's member cannot close the canteen.
    let response = w
        .app
        .post_json(
            &format!("/api/v1/organisations/{}/closures", w.canteen),
            &json!({"starts_on": "2027-02-13", "ends_on": "2027-03-01", "reason": "Vacances"}),
            Some(&w.marie.access),
        )
        .await;
    assert_problem(response, 404, "not-found").await;
    // Asking its own farm's closures, it learns that only canteens have them.
    for response in [
        w.app
            .get_as(
                &format!("/api/v1/organisations/{}/closures", w.farm_a),
                &w.marie.access,
            )
            .await,
        w.app
            .post_json(
                &format!("/api/v1/organisations/{}/closures", w.farm_a),
                &json!({"starts_on": "2027-02-13", "ends_on": "2027-03-01", "reason": "Vacances"}),
                Some(&w.marie.access),
            )
            .await,
    ] {
        let problem = assert_problem(response, 403, "forbidden").await;
        assert_eq!(
            problem["detail"],
            "only canteens have closures; this organisation is a farm"
        );
    }
    let response = w
        .app
        .post_json(
            &format!("/api/v1/organisations/{}/closures", w.canteen),
            &json!({"starts_on": "2027-03-01", "ends_on": "2027-02-13", "reason": " "}),
            Some(&w.claire.access),
        )
        .await;
    let problem = assert_problem(response, 422, "validation-failed").await;
    assert_eq!(error_fields(&problem), ["reason", "ends_on"]);
}
