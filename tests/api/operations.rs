//! Liveness, readiness (including database outages) and metrics.

use std::time::{Duration, Instant};

use diesel_async::SimpleAsyncConnection;
use sesame::db::local::{self, LocalPostgres};

use crate::helpers::{TestApp, TestDatabase, assert_problem};

#[tokio::test]
async fn healthz_and_readyz_answer_when_all_is_well() {
    let app = TestApp::spawn().await;
    let health = app.get("/healthz").await;
    assert_eq!(health.status(), 200);
    assert_eq!(
        health.json::<serde_json::Value>().await.unwrap()["status"],
        "ok"
    );
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 200);
    assert_eq!(
        ready.json::<serde_json::Value>().await.unwrap()["status"],
        "ready"
    );
}

#[tokio::test]
async fn readyz_is_503_when_the_schema_is_not_this_versions() {
    let app = TestApp::spawn().await;
    app.db()
        .await
        .batch_execute("DELETE FROM __diesel_schema_migrations")
        .await
        .unwrap();
    let response = app.get("/readyz").await;
    assert_eq!(response.headers()["retry-after"], "5");
    let problem = assert_problem(response, 503, "not-ready").await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("sesame migrate"),
        "{problem}"
    );
}

#[tokio::test]
async fn an_unreachable_database_gives_quick_503s_with_retry_after() {
    // Port 1 on loopback: nothing listens, connections are refused at once.
    let database = TestDatabase::new().await;
    let app = TestApp::spawn_on(database, "postgres://sesame:x@127.0.0.1:1/sesame").await;
    for path in [
        "/readyz",
        "/api/v1/communes/91103",
        "/api/v1/communes?q=arpajon",
    ] {
        let started = Instant::now();
        let response = app.get(path).await;
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{path} took {:?}",
            started.elapsed()
        );
        assert_eq!(response.headers()["retry-after"], "5");
        let problem = assert_problem(response, 503, "service-unavailable").await;
        assert!(
            !problem["detail"].as_str().unwrap().contains("127.0.0.1"),
            "no internals: {problem}"
        );
    }
    // Liveness does not depend on the database.
    assert_eq!(app.get("/healthz").await.status(), 200);
}

/// The database stops under a running service, then comes back: the service
/// answers 503 meanwhile and recovers by itself, without a restart.
#[tokio::test]
async fn the_service_recovers_when_its_database_comes_back() {
    let dir = std::env::temp_dir().join(format!("sesame-outage-{}", uuid::Uuid::new_v4().simple()));
    let options = local::Options {
        durable: false,
        remove_on_stop: false,
        max_connections: 20,
    };
    let cluster = LocalPostgres::start(&dir, options).expect("own cluster");
    let url = cluster.url(local::DATABASE);
    sesame::server::prepare(&url).await.expect("prepare");
    let app = TestApp::spawn_on(TestDatabase::new().await, &url).await;
    assert_eq!(app.get("/readyz").await.status(), 200);
    assert_eq!(app.get("/api/v1/communes/91103").await.status(), 200);

    tokio::task::spawn_blocking(move || cluster.stop())
        .await
        .unwrap()
        .expect("stop");
    assert_problem(app.get("/readyz").await, 503, "service-unavailable").await;
    assert_problem(
        app.get("/api/v1/communes/91103").await,
        503,
        "service-unavailable",
    )
    .await;

    let options = local::Options {
        remove_on_stop: true,
        ..options
    };
    let restarted = tokio::task::spawn_blocking(move || LocalPostgres::start(&dir, options))
        .await
        .unwrap()
        .expect("restart");
    assert_eq!(
        restarted.url(local::DATABASE),
        url,
        "same port after a restart"
    );
    // Pooled connections to the old server are seen closed and replaced: the
    // very first requests succeed.
    for _ in 0..6 {
        assert_eq!(app.get("/api/v1/communes/91103").await.status(), 200);
    }
    assert_eq!(app.get("/readyz").await.status(), 200);
    tokio::task::spawn_blocking(move || restarted.stop())
        .await
        .unwrap()
        .expect("stop");
}

#[tokio::test]
async fn metrics_count_requests_by_route_pattern() {
    let app = TestApp::spawn().await;
    app.get("/api/v1/communes/91103").await;
    app.get("/api/v1/communes/91105").await;
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = response.text().await.unwrap();
    let line = text
        .lines()
        .find(|l| {
            l.starts_with("http_requests_total{")
                && l.contains("route=\"/api/v1/communes/{insee}\"")
                && l.contains("status=\"200\"")
        })
        .unwrap_or_else(|| panic!("no request counter in:\n{text}"));
    let count: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
    // Other tests in this process count too: at least our two.
    assert!(count >= 2.0, "{line}");
    assert!(
        text.contains("http_request_duration_seconds_bucket"),
        "{text}"
    );
}

#[tokio::test]
async fn metrics_behind_a_token_need_it() {
    let token = "4f1c0b9e7a2d4c8e9b3a6f5d1e0c2b7a";
    let app = TestApp::spawn_with(|state| {
        state.metrics = sesame::ops::MetricsAccess::new(false, Some(token));
    })
    .await;
    let scrape = |authorization: Option<String>| {
        let mut request = app.client.get(app.url("/metrics"));
        if let Some(value) = authorization {
            request = request.header("Authorization", value);
        }
        request.send()
    };
    for refused in [
        None,
        Some("Bearer".to_owned()),
        Some(format!("Bearer {}", &token[..31])),
        Some(format!("Bearer {token}x")),
        Some(format!("Basic {token}")),
    ] {
        let response = scrape(refused.clone()).await.unwrap();
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        let problem = assert_problem(response, 401, "unauthorized").await;
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("SESAME_METRICS_TOKEN"),
            "{refused:?}: {problem}"
        );
    }
    let response = scrape(Some(format!("Bearer {token}"))).await.unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert!(text.contains("http_requests_total"), "{text}");
    // The rest of the service is as open as ever.
    assert_eq!(app.get("/healthz").await.status(), 200);
}

#[tokio::test]
async fn metrics_on_their_own_address_are_not_on_the_apis() {
    let app = TestApp::spawn_with(|state| {
        state.metrics = sesame::ops::MetricsAccess::new(true, None);
    })
    .await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let metrics_address = format!("http://{}", listener.local_addr().unwrap());
    let server =
        sesame::server::metrics_server(listener, sesame::ops::MetricsAccess::new(true, None))
            .unwrap();
    let handle = server.handle();
    tokio::spawn(server);

    app.get("/api/v1/communes/91103").await;
    assert_problem(app.get("/metrics").await, 404, "not-found").await;
    let response = app
        .client
        .get(format!("{metrics_address}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert!(
        text.lines().any(|l| l.starts_with("http_requests_total{")
            && l.contains("route=\"/api/v1/communes/{insee}\"")),
        "{text}"
    );
    // That address serves nothing else.
    for path in ["/healthz", "/api/v1/communes/91103", "/docs/"] {
        let response = app
            .client
            .get(format!("{metrics_address}{path}"))
            .send()
            .await
            .unwrap();
        assert_problem(response, 404, "not-found").await;
    }
    handle.stop(false).await;
}
