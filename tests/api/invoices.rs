//! Invoices: gapless numbers under concurrency, documents the database
//! refuses to change, CII XML that passes both schemas and both
//! schematrons, totals recomputed independently, Chorus Pro requirements,
//! mandates, payments and overdue, and nothing seen by other organisations.

use std::collections::BTreeMap;
use std::process::Command;

use chrono::{Days, NaiveDate, Weekday};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl, SimpleAsyncConnection};
use futures_util::future::join_all;
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{Value, json};
use sesame::invoices::rules::{Series, vat_number_of};
use sesame::schema::{domain_events, invoices};
use uuid::Uuid;

use crate::helpers::{SIRETS, Session, assert_problem, error_fields, python_tools};
use crate::orders::{World, dec, next, paris_today};

const IBAN: &str = "FR7630006000011234567890189";

async fn put(w: &World, session: &Session, path: &str, body: Value) -> reqwest::Response {
    w.app
        .client
        .put(w.app.url(path))
        .bearer_auth(&session.access)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// Gives farm A (and farm B) what a seller's invoices need.
async fn seller_profiles(w: &World) {
    for (session, farm, siret) in [
        (&w.marie, &w.farm_a, SIRETS[0]),
        (&w.paul, &w.farm_b, SIRETS[1]),
    ] {
        let response = put(
            w,
            session,
            &format!("/api/v1/organisations/{farm}/invoicing-profile"),
            json!({"vat_number": vat_number_of(&siret[..9]), "iban": IBAN, "payment_days": 30,
                   "billing_siret": null, "service_code": null, "chorus_requires": "none"}),
        )
        .await;
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    }
}

/// Checks out `lines` for the canteen, has each supplier accept and deliver
/// (`delivered` by line number, else as ordered) and the canteen receive;
/// returns the orders' ids.
async fn received(
    w: &World,
    date: NaiveDate,
    lines: &[(&str, &str)],
    delivered: &[(i64, &str)],
) -> Vec<String> {
    let orders = w.order(date, lines).await;
    let mut ids = Vec::new();
    for order in orders {
        let id = order["id"].as_str().unwrap().to_owned();
        let seller = if order["supplier"]["id"] == json!(w.farm_a) {
            &w.marie
        } else {
            &w.paul
        };
        assert_eq!(w.act(seller, &id, "accept", None).await.status(), 200);
        let body = json!({"lines": delivered.iter()
            .filter(|(n, _)| order["lines"].as_array().unwrap().iter().any(|l| l["line_no"] == *n))
            .map(|(n, q)| json!({"line_no": n, "quantity_delivered": q})).collect::<Vec<_>>()});
        let response = w.act(seller, &id, "deliver", Some(body)).await;
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
        assert_eq!(w.act(&w.claire, &id, "receive", None).await.status(), 200);
        ids.push(id);
    }
    ids
}

async fn issue(w: &World, session: &Session, supplier: &str, body: Value) -> reqwest::Response {
    w.app
        .post_json(
            &format!("/api/v1/organisations/{supplier}/invoices"),
            &body,
            Some(&session.access),
        )
        .await
}

async fn issued(w: &World, session: &Session, supplier: &str, body: Value) -> Value {
    let response = issue(w, session, supplier, body).await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    response.json().await.unwrap()
}

fn cents(d: Decimal) -> i64 {
    d.round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero)
        .try_into()
        .unwrap()
}

/// Recomputes a document's totals from its lines alone, as EN 16931 does:
/// each line rounded to the cent, VAT once per rate on the sum of its lines.
fn check_totals(doc: &Value) {
    let mut by_rate: BTreeMap<Decimal, i64> = BTreeMap::new();
    for line in doc["lines"].as_array().unwrap() {
        let quantity = dec(line["quantity"].as_str().unwrap());
        let price = Decimal::from(line["unit_price_cents"].as_i64().unwrap());
        let net = cents(quantity * price);
        assert_eq!(line["net_cents"], net, "line {line}");
        *by_rate
            .entry(dec(line["vat_rate"].as_str().unwrap()))
            .or_default() += net;
    }
    let net: i64 = by_rate.values().sum();
    let vat: i64 = by_rate
        .iter()
        .map(|(rate, base)| cents(Decimal::from(*base) * rate / Decimal::ONE_HUNDRED))
        .sum();
    let totals = &doc["totals"];
    assert_eq!(
        (totals["ht_cents"].as_i64(), totals["vat_cents"].as_i64()),
        (Some(net), Some(vat))
    );
    assert_eq!(totals["ttc_cents"], net + vat);
    assert_eq!(totals["vat"].as_array().unwrap().len(), by_rate.len());
}

#[tokio::test]
async fn concurrent_issuances_number_without_gap_or_duplicate_and_a_rollback_leaves_no_hole() {
    let w = World::new().await;
    seller_profiles(&w).await;
    let date = next(Weekday::Tue, 7);
    let mut orders = Vec::new();
    for _ in 0..24 {
        orders.extend(received(&w, date, &[(&w.carrots, "5")], &[]).await);
    }
    // Each order invoiced twice at once: one invoice each, the other refused.
    let attempts = orders
        .iter()
        .chain(orders.iter())
        .map(|order| issue(&w, &w.marie, &w.farm_a, json!({"orders": [order]})));
    let mut statuses = BTreeMap::new();
    for response in join_all(attempts).await {
        *statuses.entry(response.status().as_u16()).or_insert(0) += 1;
        if response.status() == 409 {
            assert_problem(response, 409, "conflict").await;
        }
    }
    assert_eq!(statuses, BTreeMap::from([(201, 24), (409, 24)]));

    // A number taken by a transaction that rolls back is given again.
    let mut db = w.app.db().await;
    let today = paris_today(&w.app).await;
    let supplier: Uuid = w.farm_a.parse().unwrap();
    let _ = db
        .transaction::<(), diesel::result::Error, _>(async |conn| {
            let (n, _) =
                sesame::invoices::queries::allocate_number(conn, supplier, Series::Invoice, today)
                    .await?;
            assert_eq!(n, 25);
            Err(diesel::result::Error::RollbackTransaction)
        })
        .await;
    let more = received(&w, date, &[(&w.carrots, "5")], &[]).await;
    let last = issued(&w, &w.marie, &w.farm_a, json!({"orders": more})).await;

    let rows: Vec<(String, NaiveDate)> = invoices::table
        .filter(invoices::supplier_id.eq(supplier))
        .order(invoices::number)
        .select((invoices::number, invoices::issue_date))
        .load(&mut db)
        .await
        .unwrap();
    let year = last["issue_date"].as_str().unwrap()[..4].to_owned();
    let expected: Vec<String> = (1..=25).map(|n| format!("F-{year}-{n:06}")).collect();
    let numbers: Vec<&String> = rows.iter().map(|(n, _)| n).collect();
    assert_eq!(numbers, expected.iter().collect::<Vec<_>>());
    assert_eq!(last["number"], expected[24]);
    // Chronological: dates never go down as numbers go up.
    assert!(rows.windows(2).all(|p| p[0].1 <= p[1].1));
}

#[tokio::test]
async fn no_path_changes_an_issued_invoice() {
    let w = World::new().await;
    seller_profiles(&w).await;
    let orders = received(&w, next(Weekday::Wed, 7), &[(&w.carrots, "10")], &[]).await;
    let invoice = issued(&w, &w.marie, &w.farm_a, json!({"orders": orders})).await;
    let id = invoice["id"].as_str().unwrap();
    let mut db = w.app.db().await;
    for sql in [
        format!(
            "UPDATE invoices SET gross_cents = gross_cents + 1, net_cents = net_cents + 1 WHERE id = '{id}'"
        ),
        format!("DELETE FROM invoices WHERE id = '{id}'"),
        format!("UPDATE invoice_lines SET quantity = 1 WHERE invoice_id = '{id}'"),
        format!("DELETE FROM invoice_lines WHERE invoice_id = '{id}'"),
        format!("DELETE FROM invoiced_orders WHERE invoice_id = '{id}'"),
        "TRUNCATE invoices CASCADE".to_owned(),
    ] {
        let error = db.batch_execute(&sql).await.expect_err(&sql);
        assert!(
            error
                .to_string()
                .contains("an issued invoice never changes"),
            "{sql}: {error}"
        );
    }
    // The API offers no way either.
    for method in [
        reqwest::Method::PUT,
        reqwest::Method::PATCH,
        reqwest::Method::DELETE,
    ] {
        let response = w
            .app
            .client
            .request(method.clone(), w.app.url(&format!("/api/v1/invoices/{id}")))
            .bearer_auth(&w.marie.access)
            .json(&json!({"lines": []}))
            .send()
            .await
            .unwrap();
        assert_problem(response, 405, "method-not-allowed").await;
    }
    let again: Value = w
        .app
        .get_as(&format!("/api/v1/invoices/{id}"), &w.marie.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["totals"], invoice["totals"]);
    assert_eq!(again["lines"], invoice["lines"]);
}

#[tokio::test]
async fn every_document_passes_both_schemas_and_both_schematrons_and_adds_up() {
    // Installed before the app starts (a long pip run would outlast keep-alive).
    let python = tokio::task::spawn_blocking(python_tools)
        .await
        .unwrap()
        .join("python");
    let w = World::new().await;
    seller_profiles(&w).await;
    // A 10 % product beside the 5.5 % and 20 % ones.
    let response = w
        .app
        .post_json(
            &format!("/api/v1/organisations/{}/offers", w.farm_b),
            &json!({"name": "Soupe de légumes & potiron <maison>", "family": "AUTRES", "labels": [],
                    "origin": "FRANCE", "unit": "LTR", "price_cents": 395, "vat_rate": "10",
                    "min_order_quantity": "1", "order_step": "0.5", "lead_time_days": 2,
                    "delivery_weekdays": [1, 2, 3, 4, 5], "stock": "200"}),
            Some(&w.paul.access),
        )
        .await;
    assert_eq!(response.status(), 201);
    let soup = response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // The canteen is a public buyer whose Chorus Pro record wants both codes.
    let response = put(
        &w,
        &w.claire,
        &format!("/api/v1/organisations/{}/invoicing-profile", w.canteen),
        json!({"vat_number": null, "iban": null, "payment_days": 30, "billing_siret": null,
               "service_code": "RESTAURATION-SCOLAIRE", "chorus_requires": "both"}),
    )
    .await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());

    let mut documents = Vec::new();
    // Decimal, awkward quantities over several weeks: a statement of many lines.
    let mut farm_a_orders = Vec::new();
    let mut seed = 17u64;
    for week in 0..4 {
        let mut random = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % 1000
        };
        let ordered = 5 * (1 + random() % 6);
        let carrots = ordered.to_string();
        let potatoes = format!("{}.{:03}", 1 + random() % 9, random());
        // The real weight: a little under what was ordered.
        let delivered = format!("{}.{:03}", ordered - 1, random());
        let ids = received(
            &w,
            next(Weekday::Thu, 7 + 7 * week),
            &[(&w.carrots, &carrots), (&w.potatoes, &potatoes)],
            &[(0, &delivered)],
        )
        .await;
        farm_a_orders.extend(ids);
    }
    let statement = issued(
        &w,
        &w.marie,
        &w.farm_a,
        json!({"statement": {"buyer_id": w.canteen, "from": paris_today(&w.app).await,
                             "to": next(Weekday::Thu, 40)},
               "engagement_number": "EJ-2026-0042"}),
    )
    .await;
    assert_eq!(statement["lines"].as_array().unwrap().len(), 8);
    assert!(statement["period_start"].is_string());
    documents.push(statement.clone());

    // All three VAT rates on one invoice, from farm B.
    let b_orders = received(
        &w,
        next(Weekday::Mon, 7),
        &[(&w.apples, "7"), (&w.jam, "3"), (&soup, "12.5")],
        &[],
    )
    .await;
    let mixed = issued(
        &w,
        &w.paul,
        &w.farm_b,
        json!({"orders": b_orders, "engagement_number": "EJ-2026-0043"}),
    )
    .await;
    let rates: Vec<&str> = mixed["totals"]["vat"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["rate"].as_str().unwrap())
        .collect();
    assert_eq!(rates, ["5.5", "10", "20"]);
    documents.push(mixed.clone());

    // Credit notes: by quantity, by price, and the whole of what is left.
    let credit = |invoice: &Value, body: Value| {
        let path = format!(
            "/api/v1/invoices/{}/credit-notes",
            invoice["id"].as_str().unwrap()
        );
        let token = if invoice["supplier_id"] == json!(w.farm_a) {
            &w.marie
        } else {
            &w.paul
        };
        let app = &w.app;
        async move {
            let response = app.post_json(&path, &body, Some(&token.access)).await;
            assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
            response.json::<Value>().await.unwrap()
        }
    };
    documents.push(
        credit(&statement, json!({"reason": "4 kg de carottes abîmées", "lines": [{"line_no": 1, "quantity": "4"}]})).await,
    );
    documents.push(
        credit(
            &mixed,
            json!({"reason": "Erreur de prix", "lines": [{"line_no": 2, "unit_price_cents": 50}]}),
        )
        .await,
    );
    let b_small = received(&w, next(Weekday::Tue, 14), &[(&w.apples, "2")], &[]).await;
    let small = issued(
        &w,
        &w.paul,
        &w.farm_b,
        json!({"orders": b_small, "engagement_number": "EJ-2026-0044"}),
    )
    .await;
    documents.push(small.clone());
    documents.push(
        credit(
            &small,
            json!({"reason": "Litige réglé : commande non conforme", "whole": true}),
        )
        .await,
    );
    // Issued by the platform under farm B's mandate: the XML says so.
    let response = w
        .app
        .post_json(
            &format!("/api/v1/organisations/{}/billing-mandates", w.farm_b),
            &json!({"scope": "invoices_and_credit_notes", "starts_on": paris_today(&w.app).await}),
            Some(&w.paul.access),
        )
        .await;
    assert_eq!(response.status(), 201);
    let b_mandated = received(&w, next(Weekday::Fri, 7), &[(&w.jam, "2")], &[]).await;
    let mandated = issued(
        &w,
        &w.admin,
        &w.farm_b,
        json!({"orders": b_mandated, "engagement_number": "EJ-2026-0045"}),
    )
    .await;
    assert!(mandated["mandate_id"].is_string());
    documents.push(mandated);

    // Every document adds up, line by line and rate by rate.
    for doc in &documents {
        check_totals(doc);
    }
    let first_credit = &documents[2];
    assert_eq!(first_credit["type_code"], 381);
    assert_eq!(first_credit["corrects"]["number"], statement["number"]);
    assert_eq!(first_credit["lines"][0]["quantity"], "4");

    // The XML of each, through both schemas and both schematrons.
    let dir = std::env::temp_dir().join(format!("sesame-cii-{}", Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut files = Vec::new();
    for doc in &documents {
        let response = w
            .app
            .get_as(
                &format!("/api/v1/invoices/{}/cii.xml", doc["id"].as_str().unwrap()),
                if doc["supplier_id"] == json!(w.farm_a) {
                    &w.marie.access
                } else {
                    &w.paul.access
                },
            )
            .await;
        assert_eq!(response.status(), 200);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/xml")
        );
        let xml = response.text().await.unwrap();
        assert!(xml.contains(&format!(
            "<ram:ID>{}</ram:ID>",
            doc["number"].as_str().unwrap()
        )));
        let path = dir.join(format!("{}.xml", doc["id"].as_str().unwrap()));
        std::fs::write(&path, xml).unwrap();
        files.push(path);
    }
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/einvoicing/validate_cii.py");
    let output = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(script)
            .args(&files)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        report.contains(&format!("files={} failed=0", documents.len())),
        "{report}"
    );
    std::fs::remove_dir_all(&dir).unwrap();

    // The printable page carries the mentions and escapes what it quotes.
    let page = w
        .app
        .get_as(
            &format!(
                "/api/v1/invoices/{}/print.html",
                mixed["id"].as_str().unwrap()
            ),
            &w.claire.access,
        )
        .await
        .text()
        .await
        .unwrap();
    for mention in [
        mixed["number"].as_str().unwrap(),
        "Indemnité forfaitaire pour frais de recouvrement : 40 €",
        "Intérêts moratoires",
        "EJ-2026-0043",
        "RESTAURATION-SCOLAIRE",
        "Soupe de légumes &amp; potiron &lt;maison&gt;",
        IBAN,
    ] {
        assert!(page.contains(mention), "{mention} missing from the page");
    }
}

#[tokio::test]
async fn chorus_requirements_and_the_sellers_profile_are_checked_field_by_field() {
    let w = World::new().await;
    let orders = received(&w, next(Weekday::Wed, 7), &[(&w.carrots, "10")], &[]).await;
    // No seller profile yet: both fields named.
    let response = issue(&w, &w.marie, &w.farm_a, json!({"orders": orders})).await;
    let problem = assert_problem(response, 422, "validation-failed").await;
    assert_eq!(error_fields(&problem), ["vat_number", "iban"]);
    // A VAT number that is not the SIREN's, an IBAN with a wrong key.
    let response = put(
        &w,
        &w.marie,
        &format!("/api/v1/organisations/{}/invoicing-profile", w.farm_a),
        json!({"vat_number": "FR00123456782", "iban": "FR7630006000011234567890188", "payment_days": 45,
               "billing_siret": null, "service_code": null, "chorus_requires": "none"}),
    )
    .await;
    let problem = assert_problem(response, 422, "validation-failed").await;
    assert_eq!(
        error_fields(&problem),
        ["vat_number", "iban", "payment_days"]
    );
    seller_profiles(&w).await;

    for (requires, service_code, engagement, missing) in [
        ("service_code", None, Some("EJ-1"), vec!["service_code"]),
        (
            "engagement_number",
            Some("SC"),
            None,
            vec!["engagement_number"],
        ),
        (
            "both",
            None,
            None,
            vec!["service_code", "engagement_number"],
        ),
        ("either", None, None, vec!["engagement_number"]),
    ] {
        let response = put(
            &w,
            &w.claire,
            &format!("/api/v1/organisations/{}/invoicing-profile", w.canteen),
            json!({"vat_number": null, "iban": null, "payment_days": 30, "billing_siret": SIRETS[3],
                   "service_code": service_code, "chorus_requires": requires}),
        )
        .await;
        assert_eq!(response.status(), 200);
        let response = issue(
            &w,
            &w.marie,
            &w.farm_a,
            json!({"orders": orders, "engagement_number": engagement}),
        )
        .await;
        let problem = assert_problem(response, 422, "validation-failed").await;
        assert_eq!(error_fields(&problem), missing, "{requires}");
    }
    // Refusals left no number behind: the first invoice is number 1, and it
    // is addressed to the billing SIRET with both references.
    let invoice = issued(
        &w,
        &w.marie,
        &w.farm_a,
        json!({"orders": orders, "engagement_number": "EJ-9"}),
    )
    .await;
    assert!(invoice["number"].as_str().unwrap().ends_with("-000001"));
    assert_eq!(invoice["buyer"]["siret"], SIRETS[3]);
    assert_eq!(invoice["buyer"]["siren"], &SIRETS[3][..9]);
    assert_eq!(invoice["engagement_number"], "EJ-9");
    let xml = w
        .app
        .get_as(
            &format!(
                "/api/v1/invoices/{}/cii.xml",
                invoice["id"].as_str().unwrap()
            ),
            &w.claire.access,
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(xml.contains(
        "<ram:BuyerOrderReferencedDocument><ram:IssuerAssignedID>EJ-9</ram:IssuerAssignedID>"
    ));
    assert!(xml.contains(&format!(
        "<ram:GlobalID schemeID=\"0009\">{}</ram:GlobalID>",
        SIRETS[3]
    )));
}

#[tokio::test]
async fn only_the_parties_see_a_document_and_the_platform_issues_only_under_mandate() {
    let w = World::new().await;
    seller_profiles(&w).await;
    let orders = received(
        &w,
        next(Weekday::Wed, 7),
        &[(&w.carrots, "10"), (&w.apples, "4")],
        &[],
    )
    .await;
    let (a_order, b_order) = (&orders[0], &orders[1]);
    let invoice = issued(&w, &w.marie, &w.farm_a, json!({"orders": [a_order]})).await;
    let id = invoice["id"].as_str().unwrap();

    // Farm B's member: nothing exists.
    for path in [
        format!("/api/v1/invoices/{id}"),
        format!("/api/v1/invoices/{id}/cii.xml"),
        format!("/api/v1/invoices/{id}/print.html"),
    ] {
        assert_problem(w.app.get_as(&path, &w.paul.access).await, 404, "not-found").await;
    }
    for (path, body) in [
        (
            format!("/api/v1/invoices/{id}/credit-notes"),
            json!({"reason": "x", "whole": true}),
        ),
        (
            format!("/api/v1/invoices/{id}/payments"),
            json!({"amount_cents": 100, "paid_on": paris_today(&w.app).await}),
        ),
    ] {
        assert_problem(
            w.app.post_json(&path, &body, Some(&w.paul.access)).await,
            404,
            "not-found",
        )
        .await;
    }
    let listed: Value = w
        .app
        .get_as(
            &format!("/api/v1/organisations/{}/invoices", w.farm_b),
            &w.paul.access,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"], json!([]));
    // Farm B cannot invoice farm A's order, nor farm A for it.
    let response = issue(&w, &w.paul, &w.farm_b, json!({"orders": [a_order]})).await;
    let problem = assert_problem(response, 422, "validation-failed").await;
    assert_eq!(error_fields(&problem), ["orders[0]"]);
    assert_problem(
        issue(&w, &w.paul, &w.farm_a, json!({"orders": [b_order]})).await,
        404,
        "not-found",
    )
    .await;

    // The buyer reads it, and cannot credit it.
    let seen = w
        .app
        .get_as(&format!("/api/v1/invoices/{id}"), &w.claire.access)
        .await;
    assert_eq!(seen.status(), 200);
    let response = w
        .app
        .post_json(
            &format!("/api/v1/invoices/{id}/credit-notes"),
            &json!({"reason": "x", "whole": true}),
            Some(&w.claire.access),
        )
        .await;
    assert_problem(response, 403, "forbidden").await;

    // An administrator issues for farm B only once it gave a mandate.
    let response = issue(&w, &w.admin, &w.farm_b, json!({"orders": [b_order]})).await;
    assert_problem(response, 403, "forbidden").await;
    let today = paris_today(&w.app).await;
    let response = w
        .app
        .post_json(
            &format!("/api/v1/organisations/{}/billing-mandates", w.farm_b),
            &json!({"scope": "invoices", "starts_on": today}),
            Some(&w.admin.access),
        )
        .await;
    assert_problem(response, 403, "forbidden").await;
    let response = w
        .app
        .post_json(
            &format!("/api/v1/organisations/{}/billing-mandates", w.farm_b),
            &json!({"scope": "invoices", "starts_on": today}),
            Some(&w.paul.access),
        )
        .await;
    assert_eq!(response.status(), 201);
    let mandate: Value = response.json().await.unwrap();
    assert_eq!(mandate["accepted_by"], json!(w.paul.user_id));
    let by_platform = issued(&w, &w.admin, &w.farm_b, json!({"orders": [b_order]})).await;
    assert_eq!(by_platform["mandate_id"], mandate["id"]);
    // Its scope is invoices only: no credit note in farm B's name.
    let response = w
        .app
        .post_json(
            &format!(
                "/api/v1/invoices/{}/credit-notes",
                by_platform["id"].as_str().unwrap()
            ),
            &json!({"reason": "x", "whole": true}),
            Some(&w.admin.access),
        )
        .await;
    assert_problem(response, 403, "forbidden").await;
    // Revoked by its owner: the history keeps who accepted it and when it ended.
    let response = w
        .app
        .post_json(
            &format!("/api/v1/organisations/{}/billing-mandates/revoke", w.farm_b),
            &json!({}),
            Some(&w.paul.access),
        )
        .await;
    assert_eq!(response.status(), 200);
    let listed: Value = w
        .app
        .get_as(
            &format!("/api/v1/organisations/{}/billing-mandates", w.farm_b),
            &w.paul.access,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert_eq!(listed["items"][0]["id"], mandate["id"]);
    assert!(listed["items"][0]["revoked_at"].is_string());
}

#[tokio::test]
async fn payments_and_credits_settle_an_invoice_and_lateness_costs_interest_and_40_euros() {
    let w = World::new().await;
    seller_profiles(&w).await;
    let orders = received(&w, next(Weekday::Wed, 7), &[(&w.carrots, "100")], &[]).await;
    let invoice = issued(&w, &w.marie, &w.farm_a, json!({"orders": orders})).await;
    let id = invoice["id"].as_str().unwrap().to_owned();
    let gross = invoice["totals"]["ttc_cents"].as_i64().unwrap(); // 100 × 1.80 € + 5.5 %
    assert_eq!(gross, 18990);
    assert_eq!(invoice["follow_up"]["status"], "issued");
    assert_eq!(invoice["follow_up"]["outstanding_cents"], gross);
    let today = paris_today(&w.app).await;
    let pay = |amount: i64, on: NaiveDate| {
        let path = format!("/api/v1/invoices/{id}/payments");
        let app = &w.app;
        let token = w.marie.access.clone();
        async move {
            app.post_json(
                &path,
                &json!({"amount_cents": amount, "paid_on": on}),
                Some(&token),
            )
            .await
        }
    };
    let response = pay(10_000, today).await;
    assert_eq!(response.status(), 200);
    let after: Value = response.json().await.unwrap();
    assert_eq!(after["follow_up"]["status"], "partly_paid");
    // More than is left, or a date to come: refused, nothing recorded.
    let problem = assert_problem(pay(gross, today).await, 422, "validation-failed").await;
    assert_eq!(error_fields(&problem), ["amount_cents"]);
    let problem =
        assert_problem(pay(1, today + Days::new(1)).await, 422, "validation-failed").await;
    assert_eq!(error_fields(&problem), ["paid_on"]);
    // The buyer does not record the supplier's receipts.
    let response = w
        .app
        .post_json(
            &format!("/api/v1/invoices/{id}/payments"),
            &json!({"amount_cents": 1, "paid_on": today}),
            Some(&w.claire.access),
        )
        .await;
    assert_problem(response, 403, "forbidden").await;

    // EGalim counts what was delivered, less what credit notes take off.
    let egalim = || {
        let path = format!(
            "/api/v1/canteens/{}/egalim?from={}&to={}",
            w.canteen,
            today,
            today + Days::new(60)
        );
        let app = &w.app;
        let token = w.claire.access.clone();
        async move {
            let report: Value = app.get_as(&path, &token).await.json().await.unwrap();
            report["totals"]["total_ht_cents"].as_i64().unwrap()
        }
    };
    assert_eq!(egalim().await, 18000);
    // 10 kg credited: what is left to pay drops by their 18.99 €.
    let response = w
        .app
        .post_json(
            &format!("/api/v1/invoices/{id}/credit-notes"),
            &json!({"reason": "10 kg refusés à la livraison", "lines": [{"line_no": 1, "quantity": "10"}]}),
            Some(&w.marie.access),
        )
        .await;
    assert_eq!(response.status(), 201);
    let note: Value = response.json().await.unwrap();
    assert_eq!(note["totals"]["ttc_cents"], 1899);
    assert_eq!(egalim().await, 18000 - 1800);
    // Crediting past what is left is refused, per line.
    let response = w
        .app
        .post_json(
            &format!("/api/v1/invoices/{id}/credit-notes"),
            &json!({"reason": "trop", "lines": [{"line_no": 1, "quantity": "95"}]}),
            Some(&w.marie.access),
        )
        .await;
    let problem = assert_problem(response, 422, "validation-failed").await;
    assert_eq!(error_fields(&problem), ["lines[0]"]);

    // Sixty days pass: move every date of the invoice back (the test's
    // stand-in for time; triggers are off for this session only).
    let mut db = w.app.db().await;
    db.batch_execute(&format!(
        "SET session_replication_role = replica; \
         UPDATE invoices SET issue_date = issue_date - 90, delivery_date = delivery_date - 90, \
                due_date = due_date - 90 WHERE id = '{id}'; \
         UPDATE invoice_payments SET paid_on = paid_on - 90 WHERE invoice_id = '{id}'; \
         SET session_replication_role = origin;"
    ))
    .await
    .unwrap();
    let due: NaiveDate = invoices::table
        .find(id.parse::<Uuid>().unwrap())
        .select(invoices::due_date.assume_not_null())
        .first(&mut db)
        .await
        .unwrap();
    // The job marks it overdue once, and tells both parties.
    let mut conn = w.app.db().await;
    assert_eq!(
        sesame::invoices::service::mark_overdue(&mut conn)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        sesame::invoices::service::mark_overdue(&mut conn)
            .await
            .unwrap(),
        0
    );
    let events: i64 = domain_events::table
        .filter(domain_events::event_type.eq("invoice.overdue"))
        .count()
        .get_result(&mut db)
        .await
        .unwrap();
    assert_eq!(events, 2);
    let late: Value = w
        .app
        .get_as(&format!("/api/v1/invoices/{id}"), &w.claire.access)
        .await
        .json()
        .await
        .unwrap();
    let follow = &late["follow_up"];
    let outstanding = gross - 10_000 - 1899;
    assert_eq!(follow["outstanding_cents"], outstanding);
    assert_eq!(follow["overdue_since"], json!(due + Days::new(1)));
    let days_late = (today - due).num_days();
    assert_eq!(follow["days_late"], days_late);
    // The canteen is private: ECB + 10 points; the 10,000 paid on time owe nothing.
    let rate = dec(follow["late_interest_percent"].as_str().unwrap());
    let expected =
        cents(Decimal::from(outstanding) * Decimal::from(days_late) * rate / Decimal::from(36_500));
    assert!(expected > 0);
    assert_eq!(follow["late_interest_cents"], expected);
    assert_eq!(follow["recovery_indemnity_cents"], 4000);

    // Paying the rest settles it.
    let response = pay(outstanding, today).await;
    let paid: Value = response.json().await.unwrap();
    assert_eq!(paid["follow_up"]["status"], "paid");
    assert_eq!(paid["follow_up"]["paid_on"], json!(today));
    assert_eq!(paid["follow_up"]["outstanding_cents"], 0);
}

/// A contract may shorten the seller's payment terms, never beyond the 30
/// days of perishable food: what was bought under it falls due sooner,
/// what was bought from the catalog at the seller's 30 days.
#[tokio::test]
async fn a_contract_shortens_the_payment_terms_of_what_was_bought_under_it() {
    let w = World::new().await;
    seller_profiles(&w).await;
    let today = paris_today(&w.app).await;
    let contract = |payment_days: i64| {
        json!({
            "buyer_id": w.canteen, "supplier_id": w.farm_a,
            "description": "Carottes de la Ferme de l'Envol",
            "valid_from": today, "valid_until": today + Days::new(90),
            "payment_days": payment_days,
            "lines": [{"offer_id": w.carrots, "unit_price_cents": 150, "vat_rate": "5.5"}]
        })
    };
    let response = w
        .app
        .post_json("/api/v1/contracts", &contract(31), Some(&w.marie.access))
        .await;
    let problem = assert_problem(response, 422, "validation-failed").await;
    assert_eq!(error_fields(&problem), ["payment_days"]);
    let response = w
        .app
        .post_json("/api/v1/contracts", &contract(12), Some(&w.marie.access))
        .await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    let proposed: Value = response.json().await.unwrap();
    assert_eq!(proposed["payment_days"], 12);
    let contract_id = proposed["id"].as_str().unwrap().to_owned();
    let accepted = w
        .app
        .post_json(
            &format!("/api/v1/contracts/{contract_id}/accept"),
            &json!({}),
            Some(&w.claire.access),
        )
        .await;
    assert_eq!(accepted.status(), 200);

    // One order under the contract, one of another product from the
    // catalog (the contract's offer would get the contract's price and
    // terms), each received.
    let date = next(Weekday::Wed, 7);
    let mut received_orders = Vec::new();
    for line in [
        json!({"contract_line": {"contract_id": contract_id, "line_no": 0}, "quantity": "10"}),
        json!({"offer_id": w.potatoes, "quantity": "10"}),
    ] {
        let response = w
            .checkout(
                &w.claire,
                &Uuid::now_v7().to_string(),
                &json!({"buyer_id": w.canteen, "delivery_date": date, "lines": [line]}),
            )
            .await;
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
        let placed: Value = response.json().await.unwrap();
        let id = placed["orders"][0]["id"].as_str().unwrap().to_owned();
        assert_eq!(w.act(&w.marie, &id, "accept", None).await.status(), 200);
        let deliver = w
            .act(&w.marie, &id, "deliver", Some(json!({"lines": []})))
            .await;
        assert_eq!(deliver.status(), 200, "{}", deliver.text().await.unwrap());
        assert_eq!(w.act(&w.claire, &id, "receive", None).await.status(), 200);
        received_orders.push(id);
    }
    let under_contract = issued(
        &w,
        &w.marie,
        &w.farm_a,
        json!({"orders": [received_orders[0]]}),
    )
    .await;
    let from_catalog = issued(
        &w,
        &w.marie,
        &w.farm_a,
        json!({"orders": [received_orders[1]]}),
    )
    .await;
    let due = |doc: &Value| {
        doc["due_date"]
            .as_str()
            .unwrap()
            .parse::<NaiveDate>()
            .unwrap()
    };
    assert_eq!(due(&under_contract), date + Days::new(12));
    assert_eq!(due(&from_catalog), date + Days::new(30));
    assert_eq!(under_contract["contract_number"], proposed["number"]);
    assert_eq!(from_catalog["contract_number"], Value::Null);
    // The database agrees with what was answered.
    let mut db = w.app.db().await;
    let stored: Vec<Option<NaiveDate>> = invoices::table
        .filter(invoices::supplier_id.eq(w.farm_a.parse::<Uuid>().unwrap()))
        .order(invoices::number)
        .select(invoices::due_date)
        .load(&mut db)
        .await
        .unwrap();
    assert_eq!(
        stored,
        [Some(date + Days::new(12)), Some(date + Days::new(30))]
    );
}
