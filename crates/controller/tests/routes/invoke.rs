//! Invoking actions through the fake invoker: blocking (200 / 502, whole record or result
//! only), non-blocking (202), and request errors.

use axum::http::StatusCode;
use serde_json::json;
use whirl_core::messages;

use crate::harness::App;

#[tokio::test]
async fn blocking_success_is_200_with_the_record() {
    let app = App::start().await;
    app.action("echo").await;
    let r = app
        .post(
            "/api/v1/namespaces/_/actions/echo?blocking=true",
            json!({"a": 1}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let id = r.body["activationId"].as_str().unwrap();
    assert_eq!(r.headers["x-openwhisk-activation-id"], id);
    assert_eq!(r.body["response"]["status"], "success");
    assert_eq!(r.body["response"]["success"], true);
    assert_eq!(r.body["response"]["result"], json!({"echo": {"a": 1}}));
    // The record was stored too.
    let stored = app
        .get(&format!("/api/v1/namespaces/_/activations/{id}"))
        .await;
    assert_eq!(stored.status, StatusCode::OK);
    let result = app
        .get(&format!("/api/v1/namespaces/_/activations/{id}/result"))
        .await;
    assert_eq!(result.body["result"], json!({"echo": {"a": 1}}));
    let logs = app
        .get(&format!("/api/v1/namespaces/_/activations/{id}/logs"))
        .await;
    assert_eq!(logs.body, json!({"logs": []}));
}

#[tokio::test]
async fn blocking_result_only() {
    let app = App::start().await;
    app.action("echo").await;
    let r = app
        .post(
            "/api/v1/namespaces/_/actions/echo?blocking=true&result=true",
            json!({"a": 1}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, json!({"echo": {"a": 1}}));
}

#[tokio::test]
async fn blocking_application_error_is_502() {
    let app = App::start().await;
    app.action("fails").await;
    let r = app
        .post(
            "/api/v1/namespaces/_/actions/fails?blocking=true",
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_GATEWAY);
    assert_eq!(r.body["response"]["status"], "application error");
    assert_eq!(r.body["response"]["result"], json!({"error": "failed"}));
    let only = app
        .post(
            "/api/v1/namespaces/_/actions/fails?blocking=true&result=true",
            json!({}),
        )
        .await;
    assert_eq!(only.status, StatusCode::BAD_GATEWAY);
    assert_eq!(only.body, json!({"error": "failed"}));
}

#[tokio::test]
async fn non_blocking_is_202_and_the_record_follows() {
    let app = App::start().await;
    app.action("echo").await;
    let r = app
        .post("/api/v1/namespaces/_/actions/echo", json!({"b": 2}))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let id = r.body["activationId"].as_str().unwrap().to_string();
    assert_eq!(r.body, json!({ "activationId": id }));
    assert_eq!(r.headers["x-openwhisk-activation-id"], id.as_str());
    let record = app
        .wait_activation(&id, |r| r["response"]["status"] == "success")
        .await;
    assert_eq!(record["response"]["result"], json!({"echo": {"b": 2}}));
}

#[tokio::test]
async fn in_a_package() {
    let app = App::start().await;
    app.put(
        "/api/v1/namespaces/_/packages/p",
        json!({"parameters": [{"key": "k", "value": "v"}]}),
    )
    .await;
    app.action("p/echo").await;
    let r = app
        .post(
            "/api/v1/namespaces/_/actions/p/echo?blocking=true&result=true",
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, json!({"echo": {"k": "v"}}));
}

#[tokio::test]
async fn request_errors() {
    let app = App::start().await;
    app.action("echo").await;
    let timeout = app
        .post(
            "/api/v1/namespaces/_/actions/echo?blocking=true&timeout=0",
            json!({}),
        )
        .await;
    assert_eq!(timeout.status, StatusCode::BAD_REQUEST);
    assert_eq!(timeout.error(), messages::INVALID_TIMEOUT);
    let missing = app
        .post("/api/v1/namespaces/_/actions/nope", json!({}))
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let scalar = app
        .post("/api/v1/namespaces/_/actions/echo", json!(3))
        .await;
    assert_eq!(scalar.status, StatusCode::BAD_REQUEST);
    assert!(scalar
        .error()
        .starts_with(messages::MALFORMED_CONTENT_PREFIX));
    let package_path = app.post("/api/v1/namespaces/_/actions/p/", json!({})).await;
    assert_eq!(package_path.status, StatusCode::BAD_REQUEST);
    assert_eq!(package_path.error(), messages::ENTITY_ILLEGAL_CHARS);
}
