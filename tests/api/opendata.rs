//! Open data: an authority publishes frozen releases of the demo territory,
//! made harder with a farm dominating a family in a month; the packages pass
//! `frictionless validate`; an independent attacker (tests/opendata/attack.py)
//! combining two consecutive releases recovers no unit's value and singles
//! out no one, while it does break a release published below the defaults.

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{Months, NaiveDate};
use diesel::sql_types::{Date, Text};
use diesel_async::RunQueryDsl;
use serde_json::{Value, json};
use sesame::opendata::release::last_closed_month;
use uuid::Uuid;

use crate::helpers::{Session, TestApp, TestDatabase, assert_problem, item_keys, python_tools};

const EPCI: &str = "200057859";

fn month(date: NaiveDate) -> String {
    date.format("%Y-%m").to_string()
}

fn months_before(last: NaiveDate, n: u32) -> NaiveDate {
    last.checked_sub_months(Months::new(n)).unwrap()
}

async fn login(app: &TestApp, email: &str) -> Session {
    let response = app.login(email, sesame::demo::PASSWORD).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let access = body["access_token"].as_str().unwrap().to_owned();
    let me: Value = app
        .get_as("/api/v1/me", &access)
        .await
        .json()
        .await
        .unwrap();
    Session {
        user_id: me["user"]["id"].as_str().unwrap().to_owned(),
        refresh: body["refresh_token"].as_str().unwrap().to_owned(),
        access,
    }
}

async fn publish(app: &TestApp, who: &Session, authority: &str, body: Value) -> reqwest::Response {
    app.post_json(
        &format!("/api/v1/authorities/{authority}/opendata/releases"),
        &body,
        Some(&who.access),
    )
    .await
}

/// The organisation `who` belongs to (its only membership).
async fn own_organisation(app: &TestApp, who: &Session) -> String {
    let me: Value = app
        .get_as("/api/v1/me", &who.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["user"]["id"], who.user_id.as_str());
    me["memberships"][0]["organisation_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Downloads a release's descriptor and files into a fresh folder.
async fn download(app: &TestApp, release: &Value) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sesame-release-{}", Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut urls = vec![release["links"]["datapackage"].as_str().unwrap().to_owned()];
    urls.extend(
        release["links"]["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap().to_owned()),
    );
    for url in urls {
        let response = app.get(&url).await;
        assert_eq!(response.status(), 200, "{url}");
        assert!(
            response.headers().contains_key("etag")
                && response.headers().contains_key("last-modified")
        );
        let name = url.rsplit('/').next().unwrap().to_owned();
        std::fs::write(dir.join(name), response.bytes().await.unwrap()).unwrap();
    }
    dir
}

/// Every delivered line of the period and the territory, raw, for the
/// attacker's truth (it classifies them itself), with what is public anyway:
/// the catalog (every offer ever listed, with every price it was ordered at
/// and its current one) and the directory of the territory's organisations.
async fn truth(app: &TestApp, from: NaiveDate, to: NaiveDate) -> PathBuf {
    #[derive(diesel::QueryableByName)]
    struct Truth {
        #[diesel(sql_type = Text)]
        json: String,
    }
    let mut db = app.db().await;
    let row: Truth = diesel::sql_query(
        "SELECT json_build_object( \
           'territory', (SELECT json_build_object('epci', $1::text, \
                'departements', json_agg(DISTINCT c.departement_code), 'regions', json_agg(DISTINCT d.region_code)) \
              FROM communes c JOIN departements d ON d.code = c.departement_code WHERE c.epci_siren = $1), \
           'lines', (SELECT json_agg(json_build_object( \
                'month', to_char(o.delivery_date, 'YYYY-MM'), 'family', l.family, 'labels', l.labels, 'origin', l.origin, \
                'producer_epci', pc.epci_siren, 'producer_departement', pc.departement_code, 'producer_region', pd.region_code, \
                'sector', cp.sectors[1], 'supplier_kind', s.kind, 'unit', coalesce(l.package_net_unit, l.unit), \
                'supplier_id', o.supplier_id, 'buyer_id', o.buyer_id, 'value_cents', l.total_ht_cents, \
                'status', o.status, 'disputed', l.dispute_reason IS NOT NULL, 'buyer_epci', bc.epci_siren, 'buyer_status', b.status, \
                'offer_id', l.offer_id, 'unit_price_cents', l.unit_price_cents)) \
              FROM orders o JOIN order_lines l ON l.order_id = o.id JOIN organisations s ON s.id = o.supplier_id \
              JOIN organisations b ON b.id = o.buyer_id JOIN communes bc ON bc.insee = b.commune_insee \
              JOIN canteen_profiles cp ON cp.organisation_id = b.id \
              JOIN communes pc ON pc.insee = l.producer_commune_insee JOIN departements pd ON pd.code = pc.departement_code \
              WHERE o.delivery_date BETWEEN $2 AND $3), \
           'catalog', (SELECT json_agg(json_build_object( \
                'offer_id', f.id, 'supplier_id', f.supplier_id, 'supplier_kind', s.kind, 'family', f.family, 'labels', f.labels, \
                'origin', f.origin, 'producer_epci', pc.epci_siren, 'producer_departement', pc.departement_code, \
                'producer_region', pd.region_code, 'unit', coalesce(f.package_net_unit, f.unit), \
                'min_order_quantity', f.min_order_quantity, 'order_step', f.order_step, \
                'prices', (SELECT json_agg(p.cents ORDER BY p.cents) FROM (SELECT f.price_cents AS cents \
                    UNION SELECT ol.unit_price_cents FROM order_lines ol WHERE ol.offer_id = f.id) p)) ORDER BY f.id) \
              FROM offers f JOIN organisations s ON s.id = f.supplier_id \
              JOIN communes pc ON pc.insee = f.producer_commune_insee JOIN departements pd ON pd.code = pc.departement_code), \
           'directory', (SELECT json_agg(json_build_object('organisation_id', b.id, 'kind', b.kind, 'status', b.status, \
                'sector', cp.sectors[1]) ORDER BY b.id) \
              FROM organisations b JOIN communes bc ON bc.insee = b.commune_insee \
              LEFT JOIN canteen_profiles cp ON cp.organisation_id = b.id WHERE bc.epci_siren = $1))::text AS json",
    )
    .bind::<Text, _>(EPCI)
    .bind::<Date, _>(from)
    .bind::<Date, _>(to)
    .get_result(&mut db)
    .await
    .unwrap();
    let path = std::env::temp_dir().join(format!("sesame-truth-{}.json", Uuid::now_v7()));
    std::fs::write(&path, row.json).unwrap();
    path
}

/// The invoices of the territory's canteens paid in a period, by month of
/// payment and sector category, counted here without the service's code.
#[derive(diesel::QueryableByName, Debug)]
struct PaidCell {
    #[diesel(sql_type = Text)]
    month: String,
    #[diesel(sql_type = Text)]
    category: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    invoices: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    canteens: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    suppliers: i64,
    /// The largest share of the invoices one canteen or supplier has, in %.
    #[diesel(sql_type = diesel::sql_types::Double)]
    dominant_percent: f64,
    #[diesel(sql_type = diesel::sql_types::Double)]
    median_days: f64,
}

async fn paid_invoices(app: &TestApp, from: NaiveDate, to: NaiveDate) -> Vec<PaidCell> {
    let mut db = app.db().await;
    diesel::sql_query(
        "WITH paid AS ( \
           SELECT to_char(f.paid_on, 'YYYY-MM') AS month, \
                  CASE WHEN cp.sectors[1] LIKE 'autres%' THEN 'loisir' ELSE split_part(cp.sectors[1], '_', 1) END AS category, \
                  i.buyer_id, i.supplier_id, f.paid_on - i.issue_date AS days \
             FROM invoices i JOIN invoice_follow_up f ON f.invoice_id = i.id \
             JOIN organisations b ON b.id = i.buyer_id JOIN communes c ON c.insee = b.commune_insee \
             JOIN canteen_profiles cp ON cp.organisation_id = b.id \
            WHERE i.type_code = 380 AND f.status = 'paid' AND f.paid_cents > 0 AND b.status = 'verified' \
              AND c.epci_siren = $1 AND f.paid_on BETWEEN $2 AND $3) \
         SELECT month, category, count(*) AS invoices, count(DISTINCT buyer_id) AS canteens, \
                count(DISTINCT supplier_id) AS suppliers, \
                (100.0 * greatest((SELECT max(n) FROM (SELECT count(*) AS n FROM paid q WHERE q.month = p.month \
                                     AND q.category = p.category GROUP BY q.buyer_id) b), \
                                 (SELECT max(n) FROM (SELECT count(*) AS n FROM paid q WHERE q.month = p.month \
                                     AND q.category = p.category GROUP BY q.supplier_id) s)) / count(*))::float8 \
                  AS dominant_percent, \
                percentile_cont(0.5) WITHIN GROUP (ORDER BY days) AS median_days \
           FROM paid p GROUP BY month, category",
    )
    .bind::<Text, _>(EPCI)
    .bind::<Date, _>(from)
    .bind::<Date, _>(to)
    .load(&mut db)
    .await
    .unwrap()
}

/// `payment_delays.csv` is the full grid of months × sector categories; a
/// published row has the true count and median and at least three
/// canteens and suppliers, none behind more than 85 % of the invoices; a
/// row that fails either rule is suppressed, numbers empty.
fn payment_delays_keep_the_secrecy(dir: &Path, months: &[String], paid: &[PaidCell]) {
    let text = std::fs::read_to_string(dir.join("payment_delays.csv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("month,sector_category,invoices,median_days,status")
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), months.len() * 6, "{text}");
    let mut published = 0;
    for row in &rows {
        assert!(months.iter().any(|m| m == row[0]), "{row:?}");
        let truth = paid
            .iter()
            .find(|c| c.month == row[0] && c.category == row[1]);
        let passes = truth
            .is_some_and(|t| t.canteens >= 3 && t.suppliers >= 3 && t.dominant_percent <= 85.0);
        match row[4] {
            "published" => {
                let truth = truth.unwrap();
                assert!(passes, "{row:?} published for {truth:?}");
                assert_eq!(row[2].parse::<i64>().unwrap(), truth.invoices, "{row:?}");
                assert_eq!(row[3].parse::<f64>().unwrap(), truth.median_days, "{row:?}");
                published += 1;
            }
            "suppressed" => assert_eq!((row[2], row[3]), ("", ""), "{row:?}"),
            other => panic!("status {other}"),
        }
        if !passes {
            assert_eq!(row[4], "suppressed", "{row:?} for {truth:?}");
        }
    }
    assert!(published > 0, "{text}");
    // The prison, alone in its category, is never published.
    assert!(
        rows.iter()
            .filter(|r| r[1] == "administration")
            .all(|r| r[4] == "suppressed")
    );
}

/// The authority's payment delays over the months: every group's paid
/// invoices and median as counted here; the other organisations see none.
async fn authority_payment_delays_add_up(
    app: &TestApp,
    pat: &Session,
    authority: &str,
    canteen: &Session,
    from: NaiveDate,
    to: NaiveDate,
    paid: &[PaidCell],
) {
    let to = sesame::opendata::release::end_of_month(to);
    let path = format!("/api/v1/authorities/{authority}/payment-delays?from={from}&to={to}");
    assert_problem(app.get_as(&path, &canteen.access).await, 404, "not-found").await;
    let response = app.get_as(&path, &pat.access).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let groups = body["groups"].as_array().unwrap();
    assert_eq!(groups.last().unwrap()["group"], "all");
    let total: i64 = paid.iter().map(|c| c.invoices).sum();
    assert!(total > 0);
    assert_eq!(groups.last().unwrap()["invoices_paid"], total);
    for group in &groups[..groups.len() - 1] {
        let name = group["group"].as_str().unwrap();
        let count: i64 = paid
            .iter()
            .filter(|c| c.category == name)
            .map(|c| c.invoices)
            .sum();
        assert_eq!(group["invoices_paid"], count, "{group}");
    }
    // A one-month period's medians are the cells' own.
    let last = &paid
        .iter()
        .filter(|c| c.month == month(to))
        .max_by_key(|c| c.invoices)
        .unwrap();
    let first_day = NaiveDate::parse_from_str(&format!("{}-01", last.month), "%Y-%m-%d").unwrap();
    let body: Value = app
        .get_as(
            &format!("/api/v1/authorities/{authority}/payment-delays?from={first_day}&to={to}"),
            &pat.access,
        )
        .await
        .json()
        .await
        .unwrap();
    let group = body["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["group"] == last.category.as_str())
        .unwrap();
    assert_eq!(group["invoices_paid"], last.invoices);
    assert_eq!(group["median_days_to_pay"].as_f64(), Some(last.median_days));
    let csv = app
        .client
        .get(app.url(&path.replace("/payment-delays?", "/payment-delays.csv?")))
        .bearer_auth(&pat.access)
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    let csv = csv.text().await.unwrap();
    assert!(
        csv.starts_with(
            "group,canteens,invoices_paid,median_days_to_pay,paid_late,unpaid_overdue\n"
        )
    );
    assert!(csv.lines().last().unwrap().starts_with("all,"), "{csv}");
}

/// Runs the attacker; its exit status and JSON report.
async fn attack(tools: &Path, truth: &Path, packages: &[&Path]) -> (bool, Value) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/opendata/attack.py");
    let mut command = Command::new(tools.join("python"));
    command.arg(script).arg(truth).args(packages);
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap();
    let report: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&output.stderr)));
    (output.status.success(), report)
}

async fn frictionless(tools: &Path, dir: &Path) {
    let mut command = Command::new(tools.join("frictionless"));
    command
        .current_dir(dir)
        .args(["validate", "datapackage.json"]);
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap();
    assert!(
        output.status.success(),
        "frictionless: {}",
        String::from_utf8_lossy(&output.stdout)
    );
}

/// Makes the farm selling the most dairy in `month` sell ten times the rest
/// of that month's dairy, on one more delivered order.
async fn make_one_farm_dominate_dairy(app: &TestApp, month: NaiveDate) {
    let mut db = app.db().await;
    let inserted = diesel::sql_query(
        "WITH dairy AS ( \
           SELECT o.supplier_id, o.buyer_id, o.placed_by, o.delivery_date, l.*, \
                  sum(l.total_ht_cents) OVER () AS month_total, \
                  sum(l.total_ht_cents) OVER (PARTITION BY o.supplier_id) AS supplier_total \
             FROM orders o JOIN order_lines l ON l.order_id = o.id JOIN organisations s ON s.id = o.supplier_id \
            WHERE l.family = 'PRODUITS_LAITIERS' AND s.kind = 'farm' AND o.status = 'received' \
              AND date_trunc('month', o.delivery_date) = $1 \
            ORDER BY supplier_total DESC, o.id LIMIT 1), \
         new_order AS ( \
           INSERT INTO orders (id, checkout_id, buyer_id, supplier_id, delivery_site_id, delivery_date, status, \
                               total_ht_cents, total_vat_cents, total_ttc_cents, placed_by) \
           SELECT gen_random_uuid(), gen_random_uuid(), buyer_id, supplier_id, buyer_id, delivery_date, 'received', \
                  month_total * 10, 0, month_total * 10, placed_by FROM dairy RETURNING id) \
         INSERT INTO order_lines (order_id, line_no, offer_id, product_name, family, labels, origin, producer_id, \
                                  producer_name, producer_commune_insee, producer_commune, unit, package_net_quantity, \
                                  package_net_unit, unit_price_cents, vat_rate, quantity_ordered, quantity_delivered, \
                                  stock_held, total_ht_cents) \
         SELECT n.id, 0, d.offer_id, d.product_name, d.family, d.labels, d.origin, d.producer_id, d.producer_name, \
                d.producer_commune_insee, d.producer_commune, d.unit, d.package_net_quantity, d.package_net_unit, \
                d.unit_price_cents, d.vat_rate, 100, 100, 0, d.month_total * 10 \
           FROM dairy d, new_order n",
    )
    .bind::<Date, _>(month)
    .execute(&mut db)
    .await
    .unwrap();
    assert_eq!(inserted, 1, "no dairy delivered by a farm in {month}");
}

#[tokio::test]
async fn releases_are_frozen_valid_and_resist_an_attacker_combining_them() {
    let tools = tokio::task::spawn_blocking(python_tools).await.unwrap();
    let database = TestDatabase::new().await;
    let url = database.url.clone();
    sesame::demo::ensure(&url).await.expect("demo seeded");
    let app = TestApp::spawn_on(database, &url).await;
    let last = last_closed_month(chrono::Utc::now().date_naive());
    let (first_from, first_to) = (months_before(last, 3), months_before(last, 2));
    let (second_from, second_to) = (months_before(last, 1), last);
    make_one_farm_dominate_dairy(&app, second_to).await;

    // The territory has a canteen alone in its sector category (the prison
    // of Fleury-Mérogis, the only administration) and a
    // farm that is the only organic supplier of its commune.
    let mut db = app.db().await;
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let lone: Count = diesel::sql_query(
        "SELECT count(*) AS n FROM canteen_profiles cp JOIN organisations b ON b.id = cp.organisation_id \
           JOIN communes c ON c.insee = b.commune_insee WHERE c.epci_siren = $1 AND cp.sectors[1] LIKE 'administration%'",
    )
    .bind::<Text, _>(EPCI)
    .get_result(&mut db)
    .await
    .unwrap();
    assert_eq!(lone.n, 1, "one canteen in the administration category");
    let lone_organic: Count = diesel::sql_query(
        "SELECT count(*) AS n FROM (SELECT l.producer_commune_insee FROM orders o JOIN order_lines l ON l.order_id = o.id \
           WHERE 'BIO' = ANY(l.labels) AND o.delivery_date BETWEEN $1 AND $2 \
           GROUP BY 1 HAVING count(DISTINCT coalesce(l.producer_id, o.supplier_id)) = 1) c",
    )
    .bind::<Date, _>(first_from)
    .bind::<Date, _>(sesame::opendata::release::end_of_month(second_to))
    .get_result(&mut db)
    .await
    .unwrap();
    assert!(lone_organic.n >= 1, "a commune with one organic farm");

    let pat = login(&app, "pat@coeuressonne.demo").await;
    let canteen = login(
        &app,
        "contact@ecole-elementaire-jean-mace-saint-michel-sur-orge.demo",
    )
    .await;
    let authority = own_organisation(&app, &pat).await;

    // Who may publish, and what.
    let period = json!({"from": month(first_from), "to": month(first_to)});
    let response = publish(&app, &canteen, &authority, period.clone()).await;
    assert_problem(response, 404, "not-found").await;
    // The month under way in Paris, where the service counts months.
    let current = crate::orders::paris_today(&app).await;
    let response = publish(
        &app,
        &pat,
        &authority,
        json!({"from": month(first_from), "to": month(current)}),
    )
    .await;
    assert_problem(response, 422, "validation-failed").await;
    let weak = json!({"min_units": 1, "dominance_percent": 99, "k": 1, "p_percent": 0});
    let response = publish(
        &app,
        &pat,
        &authority,
        json!({"from": "2020-01", "to": "2020-02", "thresholds": weak}),
    )
    .await;
    let problem = assert_problem(response, 422, "validation-failed").await;
    assert_eq!(problem["errors"][0]["field"], "thresholds");

    let response = publish(&app, &pat, &authority, period).await;
    assert_eq!(response.status(), 201);
    let first: Value = response.json().await.unwrap();
    let response = publish(
        &app,
        &pat,
        &authority,
        json!({"from": month(second_from), "to": month(second_to)}),
    )
    .await;
    assert_eq!(response.status(), 201);
    let second: Value = response.json().await.unwrap();
    assert_eq!(
        (first["version"].as_i64(), second["version"].as_i64()),
        (Some(1), Some(2))
    );
    assert_eq!(second["disclosure"]["below_defaults"], false);
    assert!(second["disclosure"]["k"].as_i64().unwrap() >= 5);
    // Most of the value is published at month × family (the second release
    // holds the farm made dominant, a tenth of its value on purpose).
    assert!(
        first["disclosure"]["value_published_month_family_percent"]
            .as_f64()
            .unwrap()
            >= 80.0,
        "{}",
        first["disclosure"]
    );
    assert!(
        second["disclosure"]["supply_stats"]["cells_primary"]
            .as_i64()
            .unwrap()
            > 0
    );

    // Releases never overlap: no two can be subtracted from each other.
    let response = publish(
        &app,
        &pat,
        &authority,
        json!({"from": month(first_to), "to": month(second_from)}),
    )
    .await;
    assert_problem(response, 409, "release-overlap").await;

    // Public, frozen, valid.
    let listed: Value = app
        .get(&format!("/api/v1/opendata/releases?epci={EPCI}"))
        .await
        .json()
        .await
        .unwrap();
    let ids = |page: &Value| item_keys(page, "id");
    assert_eq!(ids(&listed).len(), 2, "{listed}");
    assert_eq!(listed["next_cursor"], Value::Null);
    // One at a time: the same two, newest first, then the end.
    let page = |query: String| {
        let app = &app;
        async move {
            let response = app
                .get(&format!(
                    "/api/v1/opendata/releases?epci={EPCI}&limit=1{query}"
                ))
                .await;
            assert_eq!(response.status(), 200);
            response.json::<Value>().await.unwrap()
        }
    };
    let one = page(String::new()).await;
    let cursor = one["next_cursor"].as_str().expect("a next page").to_owned();
    let two = page(format!("&cursor={cursor}")).await;
    assert_eq!(two["next_cursor"], Value::Null, "{two}");
    assert_eq!([ids(&one), ids(&two)].concat(), ids(&listed));
    assert_problem(
        app.get(&format!(
            "/api/v1/opendata/releases?cursor={}",
            Uuid::now_v7()
        ))
        .await,
        400,
        "invalid-parameter",
    )
    .await;
    let first_dir = download(&app, &first).await;
    let second_dir = download(&app, &second).await;
    let again = download(&app, &second).await;
    for file in [
        "datapackage.json",
        "supply_stats.csv",
        "supply_stats.json",
        "transactions.csv",
        "transactions.json",
        "payment_delays.csv",
        "payment_delays.json",
    ] {
        assert_eq!(
            std::fs::read(second_dir.join(file)).unwrap(),
            std::fs::read(again.join(file)).unwrap(),
            "{file}"
        );
    }
    let file = app.get(second["links"]["files"][2].as_str().unwrap()).await;
    let etag = file.headers()["etag"].to_str().unwrap().to_owned();
    let cached = app
        .client
        .get(app.url(second["links"]["files"][2].as_str().unwrap()))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status(), 304);
    let unknown = app
        .get(&format!(
            "/api/v1/opendata/releases/{}/secrets.csv",
            second["id"].as_str().unwrap()
        ))
        .await;
    assert_problem(unknown, 404, "not-found").await;
    let descriptor: Value =
        serde_json::from_slice(&std::fs::read(second_dir.join("datapackage.json")).unwrap())
            .unwrap();
    assert_eq!(descriptor["licenses"][0]["name"], "etalab-2.0");
    assert_eq!(
        descriptor["disclosure_control"]["thresholds"],
        json!({"min_units": 3, "dominance_percent": 85, "k": 5, "p_percent": 15})
    );
    // The full grid: every month × family × label group × origin class ×
    // sector category is a row, traded in or not, so that a row's presence
    // says nothing.
    let stats = std::fs::read_to_string(second_dir.join("supply_stats.csv")).unwrap();
    let cells = stats.lines().filter(|l| l.starts_with("cell,")).count();
    let families = descriptor["resources"][0]["schema"]["fields"][2]["constraints"]["enum"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(cells, 2 * families * 4 * 5 * 6);
    // HEAD on every file: the headers of a download, no body.
    for url in std::iter::once(&second["links"]["datapackage"])
        .chain(second["links"]["files"].as_array().unwrap())
    {
        let url = url.as_str().unwrap();
        let head = app.client.head(app.url(url)).send().await.unwrap();
        assert_eq!(head.status(), 200, "{url}");
        assert!(
            head.headers().contains_key("etag") && head.headers().contains_key("last-modified")
        );
        assert!(head.bytes().await.unwrap().is_empty(), "{url}");
    }
    frictionless(&tools, &first_dir).await;
    frictionless(&tools, &second_dir).await;
    let paid = paid_invoices(
        &app,
        second_from,
        sesame::opendata::release::end_of_month(second_to),
    )
    .await;
    payment_delays_keep_the_secrecy(&second_dir, &[month(second_from), month(second_to)], &paid);
    authority_payment_delays_add_up(
        &app,
        &pat,
        &authority,
        &canteen,
        second_from,
        second_to,
        &paid,
    )
    .await;

    // The attacker, with both releases, finds nothing...
    let known = truth(
        &app,
        first_from,
        sesame::opendata::release::end_of_month(second_to),
    )
    .await;
    let (safe, report) = attack(&tools, &known, &[&first_dir, &second_dir]).await;
    assert!(safe, "{report}");
    assert!(
        report["suppressed"].as_i64().unwrap() > 0
            && report["linear_programmes"].as_i64().unwrap() > 0,
        "{report}"
    );
    assert!(
        report["microdata_rows"].as_i64().unwrap() > 0
            && report["groups_checked"].as_i64().unwrap() > 0,
        "{report}"
    );

    // ...but breaks a release published below the defaults, which says so.
    let (weak_from, weak_to) = (months_before(last, 5), months_before(last, 4));
    let response = publish(
        &app,
        &pat,
        &authority,
        json!({"from": month(weak_from), "to": month(weak_to), "thresholds": weak, "allow_below_defaults": true}),
    )
    .await;
    assert_eq!(response.status(), 201);
    let naive: Value = response.json().await.unwrap();
    assert_eq!(naive["disclosure"]["below_defaults"], true);
    let naive_dir = download(&app, &naive).await;
    let descriptor: Value =
        serde_json::from_slice(&std::fs::read(naive_dir.join("datapackage.json")).unwrap())
            .unwrap();
    assert_eq!(descriptor["disclosure_control"]["below_defaults"], true);
    let known = truth(
        &app,
        weak_from,
        sesame::opendata::release::end_of_month(weak_to),
    )
    .await;
    let (safe, report) = attack(&tools, &known, &[&naive_dir]).await;
    assert!(
        !safe && report["breaches_count"].as_i64().unwrap() > 0,
        "{report}"
    );
    assert_eq!(report["mismatches_count"], 0, "{report}");

    // Months without a delivery: the grid, all suppressed, and no
    // microdata; still a valid package.
    let response = publish(
        &app,
        &pat,
        &authority,
        json!({"from": "2020-03", "to": "2020-04"}),
    )
    .await;
    assert_eq!(response.status(), 201);
    let empty: Value = response.json().await.unwrap();
    assert_eq!(empty["disclosure"]["transactions_published"], 0);
    assert_eq!(empty["disclosure"]["k"], Value::Null);
    let empty_dir = download(&app, &empty).await;
    assert_eq!(
        std::fs::read(empty_dir.join("transactions.json")).unwrap(),
        b"[]\n"
    );
    let stats = std::fs::read_to_string(empty_dir.join("supply_stats.csv")).unwrap();
    assert!(
        stats.lines().skip(1).all(|l| l.ends_with(",,,suppressed")),
        "{stats}"
    );
    frictionless(&tools, &empty_dir).await;

    // `sesame export` refuses months a release covers, and says why...
    let out = std::env::temp_dir().join(format!("sesame-export-{}", Uuid::now_v7()));
    let export = |force: bool| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_sesame"));
        command
            .args([
                "export",
                "--epci",
                EPCI,
                "--from",
                &month(second_from),
                "--to",
                &month(second_to),
                "--out",
            ])
            .arg(&out)
            .env("DATABASE_URL", &url)
            .env("SESAME_LOG", "warn");
        if force {
            command.arg("--force");
        }
        command.output().unwrap()
    };
    let refused = export(false);
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("already covers") && said.contains("--force"),
        "{said}"
    );
    assert!(!out.exists(), "nothing written");
    // ...and with --force writes the same resources as the published release.
    let forced = export(true);
    assert!(
        forced.status.success(),
        "{}",
        String::from_utf8_lossy(&forced.stderr)
    );
    for file in [
        "supply_stats.csv",
        "supply_stats.json",
        "transactions.csv",
        "transactions.json",
        "payment_delays.csv",
        "payment_delays.json",
    ] {
        assert_eq!(
            std::fs::read(second_dir.join(file)).unwrap(),
            std::fs::read(out.join(file)).unwrap(),
            "{file}"
        );
    }
}

/// A 503 `at-capacity` saying which slots are taken, with `Retry-After`.
async fn assert_at_capacity(response: reqwest::Response, slots: &str) {
    assert_eq!(response.headers()["retry-after"], "5");
    let problem = assert_problem(response, 503, "at-capacity").await;
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains(slots), "{problem}");
}

/// With every download slot taken, a download answers 503 `at-capacity`
/// (not a database failure) with `Retry-After`; `HEAD` needs no slot.
#[tokio::test]
async fn a_full_house_says_so_and_head_still_answers() {
    let app = TestApp::spawn_with(|state| {
        state.exports = sesame::opendata::export_slots(0);
    })
    .await;
    let id = Uuid::now_v7();
    let mut db = app.db().await;
    diesel::sql_query(
        "INSERT INTO opendata_releases (id, epci_siren, version, period_from, period_to, created_at, disclosure) \
         VALUES ($1, $2, 1, '2026-01-01', '2026-01-31', now(), '{\"transactions_published\": 0}')",
    )
    .bind::<diesel::sql_types::Uuid, _>(id)
    .bind::<Text, _>(EPCI)
    .execute(&mut db)
    .await
    .unwrap();
    let url = format!("/api/v1/opendata/releases/{id}/supply_stats.csv");
    assert_at_capacity(app.get(&url).await, "download slot").await;
    let head = app.client.head(app.url(&url)).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["content-type"], "text/csv; charset=utf-8");
}

/// Build slots are the cluster's, not one instance's: with both held by
/// another connection (another instance building), publishing answers 503
/// `at-capacity` and claims nothing; once one is free, the same request
/// builds the release.
#[tokio::test]
async fn build_slots_are_shared_by_every_instance() {
    use diesel_async::SimpleAsyncConnection;
    let database = TestDatabase::new().await;
    let url = database.url.clone();
    sesame::demo::ensure(&url).await.expect("demo seeded");
    let app = TestApp::spawn_on(database, &url).await;
    let pat = login(&app, "pat@coeuressonne.demo").await;
    let authority = &own_organisation(&app, &pat).await;
    let period = json!({"from": "2020-01", "to": "2020-01"});
    let mut other = app.db().await;
    other
        .batch_execute(
            "SELECT pg_advisory_lock(hashtext('sesame.opendata.builds'), 0); \
             SELECT pg_advisory_lock(hashtext('sesame.opendata.builds'), 1)",
        )
        .await
        .unwrap();

    let response = publish(&app, &pat, authority, period.clone()).await;
    assert_at_capacity(response, "2 open data releases").await;
    let count = "SELECT count(*) AS n FROM opendata_releases";
    let releases = app.count(count).await;

    other
        .batch_execute("SELECT pg_advisory_unlock(hashtext('sesame.opendata.builds'), 1)")
        .await
        .unwrap();
    let response = publish(&app, &pat, authority, period).await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    assert_eq!(app.count(count).await, releases + 1);
}

/// Another generated territory (seed 11), with more lines than the demo's
/// year: two releases published by its authority, valid, and attacked
/// together, find nothing; most of the value stays published at month ×
/// family, and microdata rows are published.
#[tokio::test]
async fn a_larger_generated_territory_resists_the_attacker_too() {
    let tools = tokio::task::spawn_blocking(python_tools).await.unwrap();
    let database = TestDatabase::new().await;
    let url = database.url.clone();
    let written = sesame::demo::seed_lines(&url, 60_000, 11)
        .await
        .expect("territory seeded");
    assert!(written >= 60_000);
    let app = TestApp::spawn_on(database, &url).await;
    let last = last_closed_month(chrono::Utc::now().date_naive());
    let periods = [
        (months_before(last, 5), months_before(last, 3)),
        (months_before(last, 2), last),
    ];
    let pat = login(&app, "pat@coeuressonne.demo").await;
    let authority = own_organisation(&app, &pat).await;
    let mut dirs = Vec::new();
    for (from, to) in periods {
        let response = publish(
            &app,
            &pat,
            &authority,
            json!({"from": month(from), "to": month(to)}),
        )
        .await;
        assert_eq!(response.status(), 201);
        let release: Value = response.json().await.unwrap();
        let disclosure = &release["disclosure"];
        assert!(
            disclosure["value_published_month_family_percent"]
                .as_f64()
                .unwrap()
                >= 80.0,
            "{disclosure}"
        );
        assert!(disclosure["k"].as_i64().unwrap() >= 5, "{disclosure}");
        let dir = download(&app, &release).await;
        frictionless(&tools, &dir).await;
        dirs.push(dir);
    }
    let known = truth(
        &app,
        periods[0].0,
        sesame::opendata::release::end_of_month(periods[1].1),
    )
    .await;
    let packages: Vec<&Path> = dirs.iter().map(PathBuf::as_path).collect();
    let (safe, report) = attack(&tools, &known, &packages).await;
    assert!(safe, "{report}");
    assert!(
        report["microdata_rows"].as_i64().unwrap() > 0
            && report["rows_checked"].as_i64().unwrap() > 0
            && report["linear_programmes"].as_i64().unwrap() > 0,
        "{report}"
    );
}
