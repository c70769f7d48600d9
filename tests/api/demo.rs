//! The demonstration: a living territory seeded once, into nothing but an
//! empty database, whose accounts work; and order lines at scale, exactly
//! as many as asked, the same for the same seed.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::Value;
use sesame::schema::{offers, order_lines, orders, organisations};

use crate::helpers::{SIRETS, TestApp, TestDatabase, canteen};

async fn count_by_kind(db: &mut diesel_async::AsyncPgConnection, kind: &str) -> i64 {
    organisations::table
        .filter(organisations::kind.eq(kind))
        .count()
        .get_result(db)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_demo_seeds_a_living_territory_once_and_its_accounts_work() {
    let database = TestDatabase::new().await;
    let url = database.url.clone();
    let accounts = sesame::demo::ensure(&url).await.expect("seeded");
    let mut db = database.connect().await;
    let farms = count_by_kind(&mut db, "farm").await;
    let canteens = count_by_kind(&mut db, "canteen").await;
    assert!((55..=65).contains(&farms), "{farms} farms");
    assert_eq!(count_by_kind(&mut db, "distributor").await, 9);
    assert!((100..=140).contains(&canteens), "{canteens} canteens");
    let statuses: Vec<String> = orders::table
        .select(orders::status)
        .distinct()
        .load(&mut db)
        .await
        .unwrap();
    for status in [
        "submitted",
        "accepted",
        "delivered",
        "received",
        "disputed",
        "cancelled",
        "rejected",
    ] {
        assert!(
            statuses.iter().any(|s| s == status),
            "no {status} order in {statuses:?}"
        );
    }
    // Consultations at every stage, one of them open for answers, and the
    // awarded lots' contracts.
    let stages: Vec<String> = sesame::schema::consultations::table
        .select(sesame::schema::consultations::status)
        .distinct()
        .load(&mut db)
        .await
        .unwrap();
    for stage in [
        "draft",
        "published",
        "closed",
        "awarded",
        "partly_awarded",
        "unsuccessful",
        "cancelled",
    ] {
        assert!(
            stages.iter().any(|s| s == stage),
            "no {stage} consultation in {stages:?}"
        );
    }
    let contracts: i64 = sesame::schema::contracts::table
        .count()
        .get_result(&mut db)
        .await
        .unwrap();
    assert!(contracts >= 3, "{contracts} contracts");
    // No strawberries in January.
    let strawberries: Vec<(Option<chrono::NaiveDate>, Option<chrono::NaiveDate>)> = offers::table
        .filter(offers::name.eq("Fraises"))
        .filter(offers::origin.eq("FRANCE"))
        .select((offers::available_from, offers::available_until))
        .load(&mut db)
        .await
        .unwrap();
    assert!(!strawberries.is_empty());
    for (from, until) in strawberries {
        let (from, until) = (from.expect("a season"), until.expect("a season"));
        assert!(
            from.format("%m-%d").to_string() == "05-01"
                && until.format("%m-%d").to_string() == "07-31",
            "{from}..{until}"
        );
    }
    let lines: i64 = order_lines::table
        .count()
        .get_result(&mut db)
        .await
        .unwrap();

    // A second start changes nothing.
    sesame::demo::ensure(&url).await.expect("already seeded");
    assert_eq!(
        order_lines::table
            .count()
            .get_result::<i64>(&mut db)
            .await
            .unwrap(),
        lines
    );

    let app = TestApp::spawn_on(database, &url).await;
    for (role, email, _) in &accounts {
        let login = app.login(email, sesame::demo::PASSWORD).await;
        assert_eq!(login.status(), 200, "{role} {email}");
        let tokens: Value = login.json().await.unwrap();
        let token = tokens["access_token"].as_str().unwrap();
        let me: Value = app.get_as("/api/v1/me", token).await.json().await.unwrap();
        if *role == "canteen" {
            let orders: Value = app
                .get_as("/api/v1/orders?limit=100", token)
                .await
                .json()
                .await
                .unwrap();
            assert!(orders["items"].as_array().unwrap().len() > 10, "{me}");
        }
        if *role == "farm" {
            // Last month's statements, each with its EN 16931 file.
            let farm = me["organisation"]["organisation_id"].as_str().unwrap();
            let invoices: Value = app
                .get_as(&format!("/api/v1/organisations/{farm}/invoices"), token)
                .await
                .json()
                .await
                .unwrap();
            let items = invoices["items"].as_array().unwrap();
            assert!(!items.is_empty(), "{invoices}");
            let first = items[0]["id"].as_str().unwrap();
            let xml = app
                .get_as(&format!("/api/v1/invoices/{first}/cii.xml"), token)
                .await;
            assert_eq!(xml.status(), 200);
        }
    }
}

#[tokio::test]
async fn the_demo_never_writes_into_someone_elses_database() {
    let app = TestApp::spawn().await;
    let owner = app.signed_up("claire@mairie.fr").await;
    app.create_organisation(&owner, canteen(SIRETS[2])).await;
    let error = sesame::demo::ensure(&app.database.url)
        .await
        .expect_err("refused");
    assert!(
        error.to_string().contains("not the demonstration's"),
        "{error}"
    );
    let error = sesame::demo::seed_lines(&app.database.url, 10, 1)
        .await
        .expect_err("refused");
    assert!(
        error.to_string().contains("not the demonstration's"),
        "{error}"
    );
    let mut db = app.db().await;
    let count: i64 = organisations::table
        .count()
        .get_result(&mut db)
        .await
        .unwrap();
    assert_eq!(count, 1);
}

#[tokio::test]
async fn seeding_writes_exactly_the_lines_asked_the_same_for_the_same_seed() {
    let mut sums = Vec::new();
    for _ in 0..2 {
        let database = TestDatabase::new().await;
        let written = sesame::demo::seed_lines(&database.url, 3000, 7)
            .await
            .expect("seeded");
        assert_eq!(written, 3000);
        let mut db = database.connect().await;
        let (count, undelivered): (i64, i64) = (
            order_lines::table
                .count()
                .get_result(&mut db)
                .await
                .unwrap(),
            order_lines::table
                .filter(order_lines::quantity_delivered.is_null())
                .count()
                .get_result(&mut db)
                .await
                .unwrap(),
        );
        assert_eq!((count, undelivered), (3000, 0));
        let total: Option<i64> = orders::table
            .select(diesel::dsl::sum(orders::total_ht_cents))
            .first::<Option<rust_decimal::Decimal>>(&mut db)
            .await
            .unwrap()
            .map(|d| d.try_into().unwrap());
        sums.push(total);
    }
    assert_eq!(sums[0], sums[1]);
}
