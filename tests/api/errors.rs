//! Errors are problem+json everywhere, and every response carries a request id.

use crate::helpers::{TestApp, assert_problem};

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
}
