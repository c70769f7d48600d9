//! The catalog: listing offers, optimistic concurrency, atomic stock, CSV
//! import and search.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use sesame::schema::{offers, organisations};

use crate::helpers::{SIRETS, Session, TestApp, assert_problem, canteen, error_fields, farm};

/// A verified organic farm at Brétigny-sur-Orge, and its owner.
async fn verified_farm(app: &TestApp, admin: &Session) -> (Session, String) {
    let marie = app.signed_up("marie@ferme-envol.fr").await;
    let id = app.create_organisation(&marie, farm(SIRETS[0])).await;
    app.verify(admin, &id).await;
    (marie, id)
}

fn carrots() -> Value {
    json!({
        "name": "Carotte des sables",
        "description": "Lavée, calibre moyen",
        "family": "FRUITS_ET_LEGUMES",
        "labels": ["BIO"],
        "origin": "FRANCE",
        "unit": "KGM",
        "price_cents": 180,
        "vat_rate": "5.5",
        "stock": "400",
        "min_order_quantity": "5",
        "order_step": "5",
        "lead_time_days": 2,
        "delivery_weekdays": [1, 2, 3, 4, 5]
    })
}

async fn create(app: &TestApp, session: &Session, org: &str, body: &Value) -> Value {
    let response = app
        .post_json(
            &format!("/api/v1/organisations/{org}/offers"),
            body,
            Some(&session.access),
        )
        .await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    response.json().await.unwrap()
}

#[tokio::test]
async fn a_verified_farm_lists_an_offer_with_an_etag() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (marie, farm_id) = verified_farm(&app, &admin).await;
    let response = app
        .post_json(
            &format!("/api/v1/organisations/{farm_id}/offers"),
            &carrots(),
            Some(&marie.access),
        )
        .await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["etag"], "\"1\"");
    let offer: Value = response.json().await.unwrap();
    assert_eq!(offer["producer"]["organisation_id"], farm_id.as_str());
    assert_eq!(offer["producer"]["commune"], "Brétigny-sur-Orge");
    assert_eq!(
        offer["stock"],
        json!({"on_demand": false, "availability": "in_stock", "available": "400", "reserved": "0"})
    );
    assert_eq!(offer["vat_rate"], "5.5");
    assert_eq!(
        (offer["egalim"].as_bool(), offer["organic"].as_bool()),
        (Some(true), Some(true))
    );

    let public = app
        .get(&format!("/api/v1/offers/{}", offer["id"].as_str().unwrap()))
        .await;
    assert_eq!(public.status(), 200);
    assert_eq!(public.headers()["etag"], "\"1\"");
}

#[tokio::test]
async fn labels_must_be_certified_and_applicable_and_only_sellers_sell() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (marie, farm_id) = verified_farm(&app, &admin).await;
    let url = format!("/api/v1/organisations/{farm_id}/offers");

    let mut uncertified = carrots();
    uncertified["labels"] = json!(["BIO", "LABEL_ROUGE"]);
    let problem = assert_problem(
        app.post_json(&url, &uncertified, Some(&marie.access)).await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "labels[1]");

    let mut fish_label = carrots();
    fish_label["labels"] = json!(["PECHE_DURABLE"]);
    let problem = assert_problem(
        app.post_json(&url, &fish_label, Some(&marie.access)).await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "labels[0]");

    // A sign is refused on the wire, with the form to write.
    let mut negative = carrots();
    negative["stock"] = json!("-3");
    let problem = assert_problem(
        app.post_json(&url, &negative, Some(&marie.access)).await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(error_fields(&problem), ["stock"]);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("such as \"12\"")
    );

    let mut sloppy = carrots();
    sloppy["vat_rate"] = json!("7");
    sloppy["stock"] = json!("1.2345");
    sloppy["delivery_weekdays"] = json!([0, 8]);
    sloppy["unit"] = json!("XCR");
    let problem = assert_problem(
        app.post_json(&url, &sloppy, Some(&marie.access)).await,
        422,
        "validation-failed",
    )
    .await;
    let fields = error_fields(&problem);
    assert_eq!(
        fields,
        ["package", "vat_rate", "stock", "delivery_weekdays"]
    );
    // A rate is one of the document's codes, as written there.
    let mut spelt = carrots();
    spelt["vat_rate"] = json!("5.50");
    let problem = assert_problem(
        app.post_json(&url, &spelt, Some(&marie.access)).await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(error_fields(&problem), ["vat_rate"]);

    // A canteen does not sell; a pending farm does not yet.
    let paul = app.signed_up("paul@cantine.fr").await;
    let canteen_id = app.create_organisation(&paul, canteen(SIRETS[1])).await;
    app.verify(&admin, &canteen_id).await;
    let as_canteen = app
        .post_json(
            &format!("/api/v1/organisations/{canteen_id}/offers"),
            &carrots(),
            Some(&paul.access),
        )
        .await;
    assert_problem(as_canteen, 403, "forbidden").await;
    let pending = app.create_organisation(&marie, farm(SIRETS[2])).await;
    let as_pending = app
        .post_json(
            &format!("/api/v1/organisations/{pending}/offers"),
            &carrots(),
            Some(&marie.access),
        )
        .await;
    assert_problem(as_pending, 403, "forbidden").await;
    // Someone else's organisation: 404.
    assert_problem(
        app.post_json(&url, &carrots(), Some(&paul.access)).await,
        404,
        "not-found",
    )
    .await;

    let mut conn = app.db().await;
    let count: i64 = offers::table.count().get_result(&mut conn).await.unwrap();
    assert_eq!(count, 0);
}

#[tokio::test]
async fn updates_need_the_current_etag() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (marie, farm_id) = verified_farm(&app, &admin).await;
    let offer = create(&app, &marie, &farm_id, &carrots()).await;
    let url = app.url(&format!("/api/v1/offers/{}", offer["id"].as_str().unwrap()));
    let patch = |if_match: Option<&str>, body: Value| {
        let mut request = app
            .client
            .patch(url.clone())
            .bearer_auth(&marie.access)
            .json(&body);
        if let Some(tag) = if_match {
            request = request.header("If-Match", tag);
        }
        request.send()
    };

    assert_problem(
        patch(None, json!({"price_cents": 170})).await.unwrap(),
        428,
        "if-match-required",
    )
    .await;
    let first = patch(Some("\"1\""), json!({"price_cents": 170}))
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers()["etag"], "\"2\"");
    let stale = patch(Some("\"1\""), json!({"price_cents": 150}))
        .await
        .unwrap();
    assert_problem(stale, 412, "stale-version").await;
    let mut conn = app.db().await;
    let price: i64 = offers::table
        .select(offers::price_cents)
        .first(&mut conn)
        .await
        .unwrap();
    assert_eq!(price, 170, "the stale update changed nothing");

    let supplier_change = patch(Some("\"2\""), json!({"supplier_id": farm_id}))
        .await
        .unwrap();
    assert_problem(supplier_change, 422, "validation-failed").await;

    // RFC 9110: a weak tag never matches; a list matches by any of its
    // tags; `*` matches the offer as it is.
    let weak = patch(Some("W/\"2\""), json!({"price_cents": 150}))
        .await
        .unwrap();
    assert_problem(weak, 412, "stale-version").await;
    let listed = patch(Some("\"7\", \"2\""), json!({"price_cents": 160}))
        .await
        .unwrap();
    assert_eq!(listed.status(), 200);
    assert_eq!(listed.headers()["etag"], "\"3\"");
    let any = patch(Some("*"), json!({"price_cents": 165})).await.unwrap();
    assert_eq!(any.status(), 200);
    assert_eq!(any.headers()["etag"], "\"4\"");
    let price: i64 = offers::table
        .select(offers::price_cents)
        .first(&mut conn)
        .await
        .unwrap();
    assert_eq!(price, 165, "the unconditional update applied");

    // Another supplier's offer: 404, even with the right version.
    let eve = app.signed_up("eve@autre-ferme.fr").await;
    let other_farm = app.create_organisation(&eve, farm(SIRETS[2])).await;
    app.verify(&admin, &other_farm).await;
    let foreign = app
        .client
        .patch(url.clone())
        .bearer_auth(&eve.access)
        .header("If-Match", "\"4\"")
        .json(&json!({"price_cents": 1}))
        .send()
        .await
        .unwrap();
    assert_problem(foreign, 404, "not-found").await;
}

#[tokio::test]
async fn concurrent_stock_movements_all_count_and_never_go_negative() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (marie, farm_id) = verified_farm(&app, &admin).await;
    let mut body = carrots();
    body["stock"] = json!("10");
    let offer = create(&app, &marie, &farm_id, &body).await;
    let url = app.url(&format!(
        "/api/v1/offers/{}/stock",
        offer["id"].as_str().unwrap()
    ));

    // 50 clients at once: 25 add 1.5 kg, 25 remove 2 kg.
    let requests = (0..50).map(|i| {
        let (operation, quantity) = if i % 2 == 0 {
            ("add", "1.5")
        } else {
            ("remove", "2")
        };
        app.client
            .post(url.clone())
            .bearer_auth(&marie.access)
            .json(&json!({"operation": operation, "quantity": quantity}))
            .send()
    });
    let responses = futures_util::future::join_all(requests).await;
    let mut expected = Decimal::from(10);
    for (i, response) in responses.into_iter().enumerate() {
        let status = response.unwrap().status().as_u16();
        match (i % 2, status) {
            (0, 200) => expected += Decimal::new(15, 1),
            (1, 200) => expected -= Decimal::from(2),
            (1, 409) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    let mut conn = app.db().await;
    let stock: Option<Decimal> = offers::table
        .select(offers::stock_available)
        .first(&mut conn)
        .await
        .unwrap();
    assert_eq!(stock, Some(expected));
    assert!(expected >= Decimal::ZERO);

    let too_much = app
        .client
        .post(url.clone())
        .bearer_auth(&marie.access)
        .json(&json!({"operation": "remove", "quantity": "100000"}))
        .send()
        .await
        .unwrap();
    assert_problem(too_much, 409, "conflict").await;
    let set = app
        .client
        .post(url.clone())
        .bearer_auth(&marie.access)
        .json(&json!({"operation": "set", "quantity": "12.125"}))
        .send()
        .await
        .unwrap();
    assert_eq!(set.json::<Value>().await.unwrap()["available"], "12.125");
    let precise = app
        .client
        .post(url)
        .bearer_auth(&marie.access)
        .json(&json!({"operation": "add", "quantity": "0.0001"}))
        .send()
        .await
        .unwrap();
    assert_problem(precise, 422, "validation-failed").await;
}

const CSV_HEADER: &str = "name,family,origin,unit,price_cents,vat_rate,stock,min_order_quantity,order_step,delivery_weekdays,labels";

#[tokio::test]
async fn a_csv_import_is_all_or_nothing_and_names_every_bad_row() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (marie, farm_id) = verified_farm(&app, &admin).await;
    let url = app.url(&format!("/api/v1/organisations/{farm_id}/offers/import"));
    let mut lines = vec![CSV_HEADER.to_owned()];
    for i in 1..=500 {
        lines.push(match i {
            17 => "Poireau,FRUITS_ET_LEGUMES,FRANCE,KGM,deux euros,5.5,100,1,1,2,BIO".to_owned(),
            250 => "Saumon,FRUITS_ET_LEGUMES,FRANCE,KGM,900,5.5,100,1,1,2,PECHE_DURABLE".to_owned(),
            499 => "Lait,PRODUITS_LAITIERS,FRANCE,LTR,95,5.5,50,1,1,8,".to_owned(),
            _ => format!(
                "Légume {i},FRUITS_ET_LEGUMES,FRANCE,KGM,{},5.5,100,1,1,2;4,BIO",
                100 + i
            ),
        });
    }
    let send = |body: String| {
        app.client
            .post(url.clone())
            .bearer_auth(&marie.access)
            .header("Content-Type", "text/csv")
            .body(body)
            .send()
    };
    let response = send(lines.join("\n")).await.unwrap();
    let problem = assert_problem(response, 422, "validation-failed").await;
    let fields = error_fields(&problem);
    assert_eq!(
        fields,
        [
            "rows[17].price_cents",
            "rows[250].labels[0]",
            "rows[499].delivery_weekdays"
        ]
    );
    let mut conn = app.db().await;
    let count: i64 = offers::table.count().get_result(&mut conn).await.unwrap();
    assert_eq!(count, 0, "nothing imported");

    lines[17] = "Poireau,FRUITS_ET_LEGUMES,FRANCE,KGM,200,5.5,100,1,1,2,BIO".to_owned();
    lines[250] = "Navet,FRUITS_ET_LEGUMES,FRANCE,KGM,900,5.5,100,1,1,2,".to_owned();
    lines[499] = "Lait,PRODUITS_LAITIERS,FRANCE,LTR,95,5.5,on_demand,1,1,5,".to_owned();
    let response = send(lines.join("\n")).await.unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(response.json::<Value>().await.unwrap()["imported"], 500);
    let count: i64 = offers::table.count().get_result(&mut conn).await.unwrap();
    assert_eq!(count, 500);

    let json_body = app
        .client
        .post(url.clone())
        .bearer_auth(&marie.access)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_problem(json_body, 415, "unsupported-media-type").await;
}

/// A CSV import's mistakes are the body's: the header's columns by name,
/// cells by row and column, decimals under the same rule as in JSON.
#[tokio::test]
async fn csv_import_mistakes_name_the_row_and_column() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (marie, farm_id) = verified_farm(&app, &admin).await;
    let url = app.url(&format!("/api/v1/organisations/{farm_id}/offers/import"));
    let send = |body: String| {
        app.client
            .post(url.clone())
            .bearer_auth(&marie.access)
            .header("Content-Type", "text/csv")
            .body(body)
            .send()
    };

    let header = format!("{CSV_HEADER},colour").replace(",origin", "");
    let response = send(format!(
        "{header}\nCarotte,FRUITS_ET_LEGUMES,KGM,180,5.5,400,5,5,2,BIO,orange\n"
    ))
    .await
    .unwrap();
    let problem = assert_problem(response, 422, "validation-failed").await;
    assert_eq!(error_fields(&problem), ["header.origin", "header.colour"]);
    let unknown = problem["errors"][1]["message"].as_str().unwrap();
    assert!(
        unknown.contains("`colour` is not a column") && unknown.contains("producer_name"),
        "{unknown}"
    );

    let rows = [
        "Carotte,FRUITS_ET_LEGUMES,FRANCE,KGM,180,5.5,400,5,5,2,BIO",
        "Poireau,FRUITS_ET_LEGUMES,FRANCE,KGM,180,5.5,1e3,5,5,2,",
        "Navet,FRUITS_ET_LEGUMES,FRANCE,KGM,180,+5.5,400,1_5,5,2,",
        "Radis,FRUITS_ET_LEGUMES,FRANCE,KGM,180,5.5,400,5,\"0,5\",2,",
        "Chou,FRUITS_ET_LEGUMES,FRANCE,KGM,180,5.5,400,5,2.5,2,",
    ];
    let response = send(format!("{CSV_HEADER}\n{}\n", rows.join("\n")))
        .await
        .unwrap();
    let problem = assert_problem(response, 422, "validation-failed").await;
    assert_eq!(
        error_fields(&problem),
        [
            "rows[2].stock",
            "rows[3].vat_rate",
            "rows[3].min_order_quantity",
            "rows[4].order_step"
        ]
    );
    for error in problem["errors"].as_array().unwrap() {
        let message = error["message"].as_str().unwrap();
        assert!(message.contains("such as 12 or 2.375"), "{message}");
    }
    let mut conn = app.db().await;
    let count: i64 = offers::table.count().get_result(&mut conn).await.unwrap();
    assert_eq!(count, 0, "nothing imported");

    let response = send(format!("{CSV_HEADER}\n{}\n{}\n", rows[0], rows[4]))
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    let steps: Vec<Decimal> = offers::table
        .select(offers::order_step)
        .order(offers::name)
        .load(&mut conn)
        .await
        .unwrap();
    assert_eq!(steps, [Decimal::new(5, 0), Decimal::new(25, 1)]);
}

/// Two farms (Brétigny in the 91, Loiret), two canteens (KM 50 with a
/// location, DEPARTEMENT in the 91) and five offers.
struct Market {
    app: TestApp,
    farm_91: String,
    km_canteen: String,
    departement_canteen: String,
}

async fn market() -> Market {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (marie, farm_91) = verified_farm(&app, &admin).await;
    let eve = app.signed_up("eve@beauce.fr").await;
    let mut beauce = farm(SIRETS[2]);
    beauce["name"] = json!("Ferme de Beauce");
    beauce["commune_insee"] = json!("45234");
    beauce["location"] = json!({"latitude": 48.05, "longitude": 1.75});
    beauce["farm"]["certifications"] = json!([{"label": "HVE"}]);
    let farm_45 = app.create_organisation(&eve, beauce).await;
    app.verify(&admin, &farm_45).await;

    let paul = app.signed_up("paul@cantine.fr").await;
    let mut near = canteen(SIRETS[1]);
    near["location"] = json!({"latitude": 48.63, "longitude": 2.30});
    let km_canteen = app.create_organisation(&paul, near).await;
    app.verify(&admin, &km_canteen).await;
    let mut by_departement = canteen(SIRETS[3]);
    by_departement["canteen"]["local_definition"] = json!("DEPARTEMENT");
    by_departement["canteen"]["local_km"] = Value::Null;
    let departement_canteen = app.create_organisation(&paul, by_departement).await;
    app.verify(&admin, &departement_canteen).await;

    let offer = |name: &str, family: &str, labels: Value, price: i64| {
        let mut o = carrots();
        o["name"] = json!(name);
        o["family"] = json!(family);
        o["labels"] = labels;
        o["price_cents"] = json!(price);
        o
    };
    create(
        &app,
        &marie,
        &farm_91,
        &offer("Carotte nouvelle", "FRUITS_ET_LEGUMES", json!(["BIO"]), 180),
    )
    .await;
    create(
        &app,
        &marie,
        &farm_91,
        &offer("Pomme Reinette", "FRUITS_ET_LEGUMES", json!([]), 250),
    )
    .await;
    let mut winter = offer("Poireau d'hiver", "FRUITS_ET_LEGUMES", json!(["BIO"]), 300);
    winter["available_from"] = json!("2027-01-01");
    winter["available_until"] = json!("2027-02-28");
    winter["delivery_weekdays"] = json!([2]);
    create(&app, &marie, &farm_91, &winter).await;
    create(
        &app,
        &eve,
        &farm_45,
        &offer("Farine de blé", "AUTRES", json!(["HVE"]), 120),
    )
    .await;
    let mut yoghurt = offer("Yaourt nature", "PRODUITS_LAITIERS", json!([]), 60);
    yoghurt["delivery_area"] = json!([{"kind": "departement", "code": "45"}]);
    create(&app, &eve, &farm_45, &yoghurt).await;
    Market {
        app,
        farm_91,
        km_canteen,
        departement_canteen,
    }
}

async fn names(app: &TestApp, query: &str) -> Vec<String> {
    let response = app.get(&format!("/api/v1/offers?{query}")).await;
    assert_eq!(response.status(), 200, "{query}");
    let page: Value = response.json().await.unwrap();
    let mut names: Vec<String> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn search_filters_match_hand_computed_answers() {
    let Market { app, farm_91, .. } = market().await;
    let all = [
        "Carotte nouvelle",
        "Farine de blé",
        "Poireau d'hiver",
        "Pomme Reinette",
        "Yaourt nature",
    ];
    assert_eq!(names(&app, "").await, all);
    assert_eq!(
        names(&app, "q=carottes").await,
        ["Carotte nouvelle"],
        "stemming and case"
    );
    assert_eq!(names(&app, "q=BLE").await, ["Farine de blé"], "accents");
    assert_eq!(
        names(&app, "family=PRODUITS_LAITIERS").await,
        ["Yaourt nature"]
    );
    assert_eq!(
        names(&app, "labels_any=BIO,HVE").await,
        ["Carotte nouvelle", "Farine de blé", "Poireau d'hiver"]
    );
    assert_eq!(
        names(&app, "labels_all=BIO,HVE").await,
        Vec::<String>::new()
    );
    assert_eq!(
        names(&app, "egalim=false").await,
        ["Pomme Reinette", "Yaourt nature"]
    );
    assert_eq!(
        names(&app, &format!("supplier={farm_91}")).await,
        ["Carotte nouvelle", "Poireau d'hiver", "Pomme Reinette"]
    );
    assert_eq!(
        names(&app, "origin_departement=45").await,
        ["Farine de blé", "Yaourt nature"]
    );
    assert_eq!(
        names(&app, "origin_epci=200057859&max_price_cents=250").await,
        ["Carotte nouvelle", "Pomme Reinette"]
    );
    assert_eq!(
        names(&app, "min_price_cents=200").await,
        ["Poireau d'hiver", "Pomme Reinette"]
    );
    // 2027-01-05 is a Tuesday: inside the leek's window and weekdays.
    assert_eq!(
        names(&app, "available_on=2027-01-05&family=FRUITS_ET_LEGUMES").await,
        ["Carotte nouvelle", "Poireau d'hiver", "Pomme Reinette"]
    );
    // A Wednesday: the leek delivers on Tuesdays only.
    assert_eq!(
        names(&app, "available_on=2027-01-06&family=FRUITS_ET_LEGUMES").await,
        ["Carotte nouvelle", "Pomme Reinette"]
    );
    // Today: lead time of 2 days not met.
    let today = chrono::Utc::now().date_naive();
    assert_eq!(
        names(&app, &format!("available_on={today}")).await,
        Vec::<String>::new()
    );
    // The yoghurt only goes to the Loiret.
    assert_eq!(
        names(&app, "deliverable_to=91103&family=PRODUITS_LAITIERS").await,
        Vec::<String>::new()
    );
    assert_eq!(
        names(&app, "deliverable_to=45234&family=PRODUITS_LAITIERS").await,
        ["Yaourt nature"]
    );
}

#[tokio::test]
async fn local_follows_each_canteens_own_definition() {
    let Market {
        app,
        km_canteen,
        departement_canteen,
        ..
    } = market().await;
    let locals = |canteen: String, query: &'static str| {
        let app = &app;
        async move {
            let page: Value = app
                .get(&format!("/api/v1/offers?local_to={canteen}&{query}"))
                .await
                .json()
                .await
                .unwrap();
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| {
                    (
                        o["name"].as_str().unwrap().to_owned(),
                        o["local"].as_str().unwrap().to_owned(),
                    )
                })
                .collect::<std::collections::BTreeMap<_, _>>()
        }
    };
    // 50 km around Saint-Michel-sur-Orge: Brétigny (3 km) yes, Beauce (~75 km) no.
    let by_km = locals(km_canteen.clone(), "sort=name").await;
    // The same offers under a département definition: the 91 only.
    let by_departement = locals(departement_canteen.clone(), "sort=name").await;
    let answer = |map: &std::collections::BTreeMap<String, String>, name: &str| map[name].clone();
    assert_eq!(by_km.len(), 5, "every offer is answered");
    assert_eq!(answer(&by_km, "Carotte nouvelle"), "yes");
    assert_eq!(answer(&by_km, "Farine de blé"), "no");
    assert_eq!(answer(&by_departement, "Carotte nouvelle"), "yes");
    assert_eq!(answer(&by_departement, "Yaourt nature"), "no");

    // Only the local ones.
    let only_yes = locals(km_canteen.clone(), "local=yes").await;
    assert!(only_yes.values().all(|l| l == "yes"));
    assert_eq!(only_yes.len(), 3);

    // Without a location, KM cannot be answered: unknown, not no.
    let mut conn = app.db().await;
    diesel::update(organisations::table.filter(organisations::name.eq("Ferme de Beauce")))
        .set((
            organisations::latitude.eq(None::<f64>),
            organisations::longitude.eq(None::<f64>),
        ))
        .execute(&mut conn)
        .await
        .unwrap();
    let after = locals(km_canteen.clone(), "sort=name").await;
    assert_eq!(answer(&after, "Farine de blé"), "unknown");
    assert_eq!(
        answer(
            &locals(departement_canteen.clone(), "sort=name").await,
            "Farine de blé"
        ),
        "no"
    );
    assert_problem(
        app.get("/api/v1/offers?local=yes").await,
        400,
        "invalid-parameter",
    )
    .await;

    let unknown_canteen = app
        .get(&format!("/api/v1/offers?local_to={}", uuid::Uuid::now_v7()))
        .await;
    assert_problem(unknown_canteen, 400, "invalid-parameter").await;
}

#[tokio::test]
async fn pages_follow_the_cursor_and_limits_are_enforced() {
    let Market { app, .. } = market().await;
    let mut seen = Vec::new();
    let mut query = "sort=price&limit=2".to_owned();
    loop {
        let page: Value = app
            .get(&format!("/api/v1/offers?{query}"))
            .await
            .json()
            .await
            .unwrap();
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["price_cents"].as_i64().unwrap()),
        );
        match page["next_cursor"].as_str() {
            Some(cursor) => query = format!("sort=price&limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, [60, 120, 180, 250, 300]);
    assert_problem(
        app.get("/api/v1/offers?limit=101").await,
        400,
        "invalid-parameter",
    )
    .await;
    assert_problem(
        app.get("/api/v1/offers?cursor=zz").await,
        400,
        "invalid-parameter",
    )
    .await;
    assert_problem(
        app.get("/api/v1/offers?labels_any=ORGANIC").await,
        400,
        "invalid-parameter",
    )
    .await;
}

#[tokio::test]
async fn distributors_name_the_farm_and_paused_offers_are_private() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (marie, farm_id) = verified_farm(&app, &admin).await;
    let luc = app.signed_up("luc@legumerie.fr").await;
    let mut distributor = farm(SIRETS[2]);
    distributor["kind"] = json!("distributor");
    distributor["name"] = json!("Légumerie du Cœur d'Essonne");
    distributor.as_object_mut().unwrap().remove("farm");
    distributor["distributor"] = json!({"delivery_area": [{"kind": "epci", "code": "200057859"}]});
    let distributor_id = app.create_organisation(&luc, distributor).await;
    app.verify(&admin, &distributor_id).await;
    let url = format!("/api/v1/organisations/{distributor_id}/offers");

    let mut anonymous = carrots();
    anonymous["labels"] = json!([]);
    let problem = assert_problem(
        app.post_json(&url, &anonymous, Some(&luc.access)).await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "producer");

    // Naming a farm of the platform needs its consent.
    let mut from_marie = carrots();
    from_marie["producer"] = json!({"organisation_id": farm_id});
    let problem = assert_problem(
        app.post_json(&url, &from_marie, Some(&luc.access)).await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(error_fields(&problem), ["producer.organisation_id"]);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("has not accepted")
    );
    app.carry((&luc, &distributor_id), (&marie, &farm_id)).await;
    let offer = create(&app, &luc, &distributor_id, &from_marie).await;
    assert_eq!(offer["supplier"]["kind"], "distributor");
    assert_eq!(offer["producer"]["name"], "Ferme de l'Envol");
    assert_eq!(offer["labels"], json!(["BIO"]));

    let mut outside = carrots();
    outside["producer"] = json!({"name": "Ferme du Hurepoix", "commune_insee": "91376"});
    let problem = assert_problem(
        app.post_json(&url, &outside, Some(&luc.access)).await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(
        problem["errors"][0]["field"], "labels",
        "labels need a farm whose certifications are known"
    );
    outside["labels"] = json!([]);
    let outside_offer = create(&app, &luc, &distributor_id, &outside).await;
    assert_eq!(outside_offer["producer"]["organisation_id"], Value::Null);
    assert_eq!(outside_offer["producer"]["commune"], "Marolles-en-Hurepoix");

    // A farm sells its own produce only.
    let mut not_mine = carrots();
    not_mine["producer"] = json!({"name": "Autre ferme", "commune_insee": "91376"});
    let response = app
        .post_json(
            &format!("/api/v1/organisations/{farm_id}/offers"),
            &not_mine,
            Some(&marie.access),
        )
        .await;
    assert_problem(response, 422, "validation-failed").await;

    // Paused: gone from the public, still there for its supplier.
    let id = offer["id"].as_str().unwrap();
    let paused = app
        .client
        .patch(app.url(&format!("/api/v1/offers/{id}")))
        .bearer_auth(&luc.access)
        .header("If-Match", "\"1\"")
        .json(&json!({"status": "paused"}))
        .send()
        .await
        .unwrap();
    assert_eq!(paused.status(), 200);
    assert_problem(
        app.get(&format!("/api/v1/offers/{id}")).await,
        404,
        "not-found",
    )
    .await;
    assert_problem(
        app.get_as(&format!("/api/v1/offers/{id}"), &marie.access)
            .await,
        404,
        "not-found",
    )
    .await;
    assert_eq!(
        app.get_as(&format!("/api/v1/offers/{id}"), &luc.access)
            .await
            .status(),
        200
    );
    assert_eq!(
        names(&app, &format!("supplier={distributor_id}")).await,
        ["Carotte des sables"]
    );
}
