//! Errors are problem+json everywhere, and every response carries a request id.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::{TEST_BODY_LIMIT, TEST_CORS_ORIGIN, TestApp, assert_problem, error_fields};

#[tokio::test]
async fn unknown_routes_are_404_problems() {
    let app = TestApp::spawn().await;
    for path in [
        "/nowhere",
        "/api/v1/",
        "/api/v1/communes/91103/extra",
        "/api/v2/communes",
    ] {
        let problem = assert_problem(app.get(path).await, 404, "not-found").await;
        assert!(
            problem["detail"].as_str().unwrap().contains(path),
            "{problem}"
        );
    }
}

#[tokio::test]
async fn wrong_methods_are_405_with_allow() {
    let app = TestApp::spawn().await;
    for (path, allow) in [
        ("/api/v1/communes", "GET"),
        ("/api/v1/communes/91103", "GET"),
        ("/healthz", "GET"),
    ] {
        let response = app.client.delete(app.url(path)).send().await.unwrap();
        assert_eq!(response.headers()["allow"], allow, "{path}");
        assert_problem(response, 405, "method-not-allowed").await;
    }
}

#[tokio::test]
async fn every_response_has_a_request_id_and_a_callers_id_is_kept() {
    let app = TestApp::spawn().await;
    let ok = app.get("/api/v1/communes/91103").await;
    let missing = app.get("/missing").await;
    let first = ok.headers()["x-request-id"].to_str().unwrap().to_owned();
    let second = missing.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(uuid::Uuid::parse_str(&first).is_ok(), "{first}");
    assert_ne!(first, second);

    let traced = app
        .client
        .get(app.url("/healthz"))
        .header("X-Request-Id", "upstream-42")
        .send()
        .await
        .unwrap();
    assert_eq!(traced.headers()["x-request-id"], "upstream-42");

    // Ids that could inject into logs are replaced.
    let hostile = app
        .client
        .get(app.url("/healthz"))
        .header("X-Request-Id", "a b\"c")
        .send()
        .await
        .unwrap();
    assert_ne!(hostile.headers()["x-request-id"], "a b\"c");
}

#[tokio::test]
async fn responses_carry_security_headers_and_no_server_banner() {
    let app = TestApp::spawn().await;
    let response = app.get("/api/v1/communes/91103").await;
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert!(response.headers().get("server").is_none());
    // No other site may frame a page of ours, the Swagger UI above all.
    for path in [
        "/docs/",
        "/docs/index.css",
        "/api/v1/communes/91103",
        "/nowhere",
    ] {
        let response = app.get(path).await;
        let headers = response.headers();
        assert_eq!(
            headers["content-security-policy"], "frame-ancestors 'none'",
            "{path}"
        );
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
    }
}

#[tokio::test]
async fn cors_answers_the_configured_origin_only() {
    let app = TestApp::spawn().await;
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/api/v1/orders"))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header(
                "Access-Control-Request-Headers",
                "authorization, content-type, idempotency-key",
            )
            .send()
    };
    let allowed = preflight(TEST_CORS_ORIGIN).await.unwrap();
    assert_eq!(allowed.status(), 200);
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        TEST_CORS_ORIGIN
    );
    let methods = allowed.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap();
    assert!(methods.contains("POST"), "{methods}");
    let refused = preflight("https://evil.example").await.unwrap();
    assert!(!refused.status().is_success());
    assert!(
        refused
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );

    let read = app
        .client
        .get(app.url("/api/v1/communes/91103"))
        .header("Origin", TEST_CORS_ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    assert_eq!(
        read.headers()["access-control-allow-origin"],
        TEST_CORS_ORIGIN
    );
    let exposed = read.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(
        exposed.contains("x-request-id") && exposed.contains("etag"),
        "{exposed}"
    );
}

#[tokio::test]
async fn hostile_bodies_are_refused_quickly() {
    let app = TestApp::spawn().await;
    let claire = app.signed_up("claire@mairie-smo.fr").await;
    let post = |body: String| {
        app.client
            .post(app.url("/api/v1/orders"))
            .bearer_auth(&claire.access)
            .header("Idempotency-Key", uuid::Uuid::now_v7().to_string())
            .header("Content-Type", "application/json")
            .body(body)
            .send()
    };
    let basket = |lines: usize| {
        let line = r#"{"offer_id":"0193a5c4-8a1e-7cc0-b3f5-5ad0d2b1e001","quantity":"1"}"#;
        format!(
            r#"{{"buyer_id":"0193a5c4-8a1e-7cc0-b3f5-5ad0d2b1e002","delivery_date":"2030-01-08","lines":[{}]}}"#,
            vec![line; lines].join(",")
        )
    };
    // Within the body limit: the basket's length is checked before anything else.
    let started = Instant::now();
    let problem = assert_problem(post(basket(900)).await.unwrap(), 422, "validation-failed").await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("1 to 100 lines"),
        "{problem}"
    );
    // 10,000 lines are over the body limit.
    let started = Instant::now();
    assert_problem(
        post(basket(10_000)).await.unwrap(),
        413,
        "payload-too-large",
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // Deeply nested JSON: typed parsing stops at the first value of the wrong
    // shape, without descending.
    let started = Instant::now();
    let deep = format!(
        r#"{{"buyer_id":{}{}}}"#,
        "[".repeat(20_000),
        "]".repeat(20_000)
    );
    assert_problem(post(deep).await.unwrap(), 422, "validation-failed").await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // Every list bounds its limit.
    for path in [
        "/api/v1/opendata/releases?limit=1000",
        "/api/v1/communes?q=ar&limit=1000",
        "/api/v1/offers?limit=0",
    ] {
        assert_problem(app.get(path).await, 400, "invalid-parameter").await;
    }
    // Authenticated answers are never cached.
    let me = app.get_as("/api/v1/me", &claire.access).await;
    assert_eq!(me.headers()["cache-control"], "no-store");
}

/// A newcomer's usual mistakes: each answer names the field by its JSON
/// path (or the parameter) and says what to write there.
#[tokio::test]
async fn mistakes_are_answered_with_the_field_and_what_to_write() {
    let app = TestApp::spawn().await;
    let session = app.signed_up("newcomer@mairie.example").await;
    let id = "0193a6f2-7c1e-7d3a-9c51-2f6e8b1d4a10";
    let line = |quantity: serde_json::Value| json!([{"offer_id": id, "quantity": quantity}]);
    let bodies = [
        (
            json!({"buyer_id": id, "delivery_date": "2026-12-08", "lines": line(json!(10))}),
            "lines[0].quantity",
            r#"write "10" (in quotes)"#,
        ),
        (
            json!({"buyer_id": id, "delivery_date": "2026-12-08", "lines": line(json!(2.5))}),
            "lines[0].quantity",
            r#"write "2.5" (in quotes)"#,
        ),
        (
            json!({"buyer_id": id, "delivery_date": "2026-12-08", "lines": line(json!("1e2"))}),
            "lines[0].quantity",
            r#"such as "12" or "2.375""#,
        ),
        (
            json!({"buyer_id": id, "delivery_date": "2026-12-08", "lines": line(json!("1_5"))}),
            "lines[0].quantity",
            r#"such as "12" or "2.375""#,
        ),
        (
            json!({"buyer_id": id, "delivery_date": "02/12/2026", "lines": line(json!("5"))}),
            "delivery_date",
            "YYYY-MM-DD, such as 2026-12-08",
        ),
        (
            json!({"delivery_date": "2026-12-08", "lines": line(json!("5"))}),
            "buyer_id",
            "is required",
        ),
        (
            json!({"buyerId": id, "buyer_id": id, "delivery_date": "2026-12-08", "lines": line(json!("5"))}),
            "buyerId",
            "expected one of `buyer_id`",
        ),
        (
            json!({"buyer_id": id, "delivery_date": "2026-12-08", "lines": {"offer_id": id}}),
            "lines",
            "expected an array",
        ),
        (
            json!({"buyer_id": id, "delivery_date": "2026-12-08", "lines": [{"offer_id": id}]}),
            "lines[0].quantity",
            "is required",
        ),
    ];
    for (body, field, hint) in bodies {
        let response = app
            .client
            .post(app.url("/api/v1/orders"))
            .bearer_auth(&session.access)
            .header("Idempotency-Key", uuid::Uuid::now_v7().to_string())
            .json(&body)
            .send()
            .await
            .unwrap();
        let problem = assert_problem(response, 422, "validation-failed").await;
        assert_eq!(error_fields(&problem), [field], "{body}: {problem}");
        let message = problem["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains(hint), "{body}: {message}");
    }

    let parameters = [
        ("labels_any=bio", "labels_any", "did you mean `BIO`?"),
        ("labels_all=BIO,rouge", "labels_all", "allowed: BIO, "),
        ("available_on=02/12/2026", "available_on", "YYYY-MM-DD"),
        ("deliverable_by=2026-13-01", "deliverable_by", "YYYY-MM-DD"),
        ("limit=ten", "limit", "whole number"),
        ("family=legumes", "family", "FRUITS_ET_LEGUMES"),
        ("sort=cheapest", "sort", "`price`"),
        ("labels=BIO", "labels", "expected one of"),
    ];
    for (query, field, hint) in parameters {
        let problem = assert_problem(
            app.get(&format!("/api/v1/offers?{query}")).await,
            400,
            "invalid-parameter",
        )
        .await;
        assert_eq!(error_fields(&problem), [field], "{query}: {problem}");
        let message = problem["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains(hint), "{query}: {message}");
    }
    let db_orders: i64 = {
        use diesel_async::RunQueryDsl;
        let mut db = app.db().await;
        diesel::dsl::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
            "(SELECT count(*) FROM orders)",
        ))
        .get_result(&mut db)
        .await
        .unwrap()
    };
    assert_eq!(db_orders, 0, "no mistake wrote an order");
}

/// Sends raw bytes on a fresh connection and reads the answer until the
/// server closes it (bounded by a read timeout): status, lower-cased
/// headers and body, exactly as written. The server may stop reading early,
/// so write errors are expected and ignored.
async fn raw_exchange(address: &str, request: Vec<u8>) -> (u16, Vec<(String, String)>, Vec<u8>) {
    use std::io::{Read, Write};
    let address = address.trim_start_matches("http://").to_owned();
    tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(&address).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        for chunk in request.chunks(16 * 1024) {
            if stream.write_all(chunk).is_err() {
                break;
            }
        }
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        let end = answer
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or_else(|| {
                panic!("no response head in {:?}", String::from_utf8_lossy(&answer))
            });
        let head = String::from_utf8_lossy(&answer[..end]).into_owned();
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        (status, headers, answer[end + 4..].to_vec())
    })
    .await
    .unwrap()
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// The problem document of a raw answer, after checking its media type.
fn raw_problem(headers: &[(String, String)], body: &[u8], slug: &str) -> serde_json::Value {
    assert_eq!(
        header(headers, "content-type"),
        Some("application/problem+json"),
        "{headers:?} {}",
        String::from_utf8_lossy(body)
    );
    let problem: serde_json::Value = serde_json::from_slice(body).unwrap();
    assert_eq!(
        problem["type"],
        format!("https://sesame.example/problems/{slug}")
    );
    problem
}

#[tokio::test]
async fn oversized_bodies_are_413_problems_whatever_their_type() {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let marie = app.signed_up("marie@ferme-envol.fr").await;
    let farm = app
        .create_organisation(&marie, crate::helpers::farm(crate::helpers::SIRETS[0]))
        .await;
    app.verify(&admin, &farm).await;
    let import = format!("/api/v1/organisations/{farm}/offers/import");
    let row = "Carottes,FRUITS_ET_LEGUMES,FRANCE,KGM,180,5.5,400,5,5,2;4,BIO\n";
    let csv = format!(
        "name,family,origin,unit,price_cents,vat_rate,stock,min_order_quantity,order_step,delivery_weekdays,labels\n{}",
        row.repeat(TEST_BODY_LIMIT / row.len() + 1)
    );
    assert!(csv.len() > TEST_BODY_LIMIT);

    let sends = [
        (
            "/api/v1/auth/register",
            "application/json",
            json!({"email": "x".repeat(TEST_BODY_LIMIT)}).to_string(),
        ),
        (import.as_str(), "text/csv", csv.clone()),
        (
            "/api/v1/auth/register",
            "application/xml",
            format!("<a>{}</a>", "x".repeat(TEST_BODY_LIMIT)),
        ),
        (
            "/healthz",
            "application/octet-stream",
            "x".repeat(TEST_BODY_LIMIT + 1),
        ),
    ];
    for (path, media_type, body) in sends {
        let response = app
            .client
            .post(app.url(path))
            .bearer_auth(&marie.access)
            .header("Content-Type", media_type)
            .body(body)
            .send()
            .await
            .unwrap();
        let problem = assert_problem(response, 413, "payload-too-large").await;
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains(&TEST_BODY_LIMIT.to_string()),
            "{media_type}: {problem}"
        );
    }

    // Without a declared length (chunked), the import stops reading at the limit.
    let mut request = format!(
        "POST {import} HTTP/1.1\r\nHost: sesame\r\nAuthorization: Bearer {}\r\n\
         Content-Type: text/csv\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        marie.access
    )
    .into_bytes();
    for chunk in csv.as_bytes().chunks(4096) {
        request.extend(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend(chunk);
        request.extend(b"\r\n");
    }
    request.extend(b"0\r\n\r\n");
    let (status, headers, body) = raw_exchange(&app.address, request).await;
    assert_eq!(status, 413, "{}", String::from_utf8_lossy(&body));
    raw_problem(&headers, &body, "payload-too-large");

    let mut conn = app.db().await;
    let offers: i64 = sesame::schema::offers::table
        .count()
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(offers, 0, "nothing imported");
}

#[tokio::test]
async fn long_targets_and_large_header_sections_are_problems() {
    use sesame::http::limits::{MAX_HEADER_BYTES, MAX_HEADER_FIELDS, MAX_TARGET_BYTES};
    let app = TestApp::spawn().await;
    let long_query = format!("/api/v1/communes?q={}", "a".repeat(MAX_TARGET_BYTES));
    let problem = assert_problem(app.get(&long_query).await, 414, "uri-too-long").await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains(&MAX_TARGET_BYTES.to_string()),
        "{problem}"
    );

    let mut many = reqwest::header::HeaderMap::new();
    for i in 0..MAX_HEADER_FIELDS {
        many.insert(
            reqwest::header::HeaderName::try_from(format!("x-pad-{i}")).unwrap(),
            "1".parse().unwrap(),
        );
    }
    let response = app
        .client
        .get(app.url("/healthz"))
        .headers(many)
        .send()
        .await
        .unwrap();
    assert_problem(response, 431, "request-header-fields-too-large").await;
    let response = app
        .client
        .get(app.url("/healthz"))
        .header("X-Pad", "a".repeat(MAX_HEADER_BYTES))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(response, 431, "request-header-fields-too-large").await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains(&MAX_HEADER_BYTES.to_string())
    );

    // Just within the limits, requests are served.
    let near = format!("/healthz?pad={}", "a".repeat(MAX_TARGET_BYTES - 20));
    assert_eq!(app.get(&near).await.status(), 200);
    let response = app
        .client
        .get(app.url("/healthz"))
        .header("X-Pad", "a".repeat(MAX_HEADER_BYTES - 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

/// Past the HTTP/1 parser's own limits the request never reaches the app, and
/// the parser answers by itself, without a body, then closes the connection.
/// docs/api.md describes these answers; this test keeps the description true.
#[tokio::test]
async fn past_the_parsers_limits_the_answers_are_the_parsers() {
    let app = TestApp::spawn().await;
    let get = |target: &str, extra: &str| {
        format!("GET {target} HTTP/1.1\r\nHost: sesame\r\n{extra}Connection: close\r\n\r\n")
            .into_bytes()
    };
    let bare = |(status, headers, body): (u16, Vec<(String, String)>, Vec<u8>)| {
        assert!(body.is_empty(), "{}", String::from_utf8_lossy(&body));
        assert_eq!(header(&headers, "content-length"), Some("0"));
        assert_eq!(header(&headers, "connection"), Some("close"));
        assert_eq!(header(&headers, "content-type"), None);
        status
    };
    // A head over 128 KiB, or more than 96 header fields: 431.
    let huge = format!("X-Pad: {}\r\n", "a".repeat(130 * 1024));
    let answer = raw_exchange(&app.address, get("/healthz", &huge)).await;
    assert_eq!(bare(answer), 431);
    let fields: String = (0..97).map(|i| format!("X-Pad-{i}: 1\r\n")).collect();
    let answer = raw_exchange(&app.address, get("/healthz", &fields)).await;
    assert_eq!(bare(answer), 431);
    // A target over 65,534 bytes: 400.
    let target = format!("/healthz?pad={}", "a".repeat(65_535));
    let answer = raw_exchange(&app.address, get(&target, "")).await;
    assert_eq!(bare(answer), 400);
    // Below those limits, the app's own answer.
    let target = format!("/healthz?pad={}", "a".repeat(60_000));
    let (status, headers, body) = raw_exchange(&app.address, get(&target, "")).await;
    assert_eq!(status, 414);
    raw_problem(&headers, &body, "uri-too-long");
    let fields: String = (0..90).map(|i| format!("X-Pad-{i}: 1\r\n")).collect();
    let (status, headers, body) = raw_exchange(&app.address, get("/healthz", &fields)).await;
    assert_eq!(status, 431);
    raw_problem(&headers, &body, "request-header-fields-too-large");
}
