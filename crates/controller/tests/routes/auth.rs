//! Authentication (401) and entitlement (403).

use axum::http::{Method, StatusCode};
use serde_json::json;
use whirl_core::messages;

use crate::harness::{App, OTHER_KEY};

#[tokio::test]
async fn missing_or_invalid_credentials_are_401() {
    let app = App::start().await;
    let none = app
        .call_as(None, Method::GET, "/api/v1/namespaces/_/actions", None)
        .await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert_eq!(none.error(), messages::AUTHENTICATION_REQUIRED);
    assert_eq!(
        none.headers["www-authenticate"],
        "Basic realm=\"OpenWhisk secure realm\""
    );
    let wrong_secret = "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:0000000000000000000000000000000000000000000000000000000000000000";
    let bad = app
        .call_as(
            Some(wrong_secret),
            Method::GET,
            "/api/v1/namespaces/_/triggers",
            None,
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    assert_eq!(bad.error(), messages::AUTHENTICATION_INVALID);
    let malformed = app
        .call_as(Some("nope"), Method::GET, "/api/v1/namespaces", None)
        .await;
    assert_eq!(malformed.status, StatusCode::UNAUTHORIZED);
    // The error body carries the transaction id, also sent as `X-Request-ID`.
    assert_eq!(
        malformed.body["code"],
        malformed.headers["x-request-id"].to_str().unwrap()
    );
}

#[tokio::test]
async fn other_namespaces_are_403() {
    let app = App::start().await;
    app.action("mine").await;
    app.trigger("t").await;
    let as_other = |m: Method, uri: &'static str| app.call_as(Some(OTHER_KEY), m, uri, None);
    let r = as_other(Method::GET, "/api/v1/namespaces/guest/actions/mine").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.error(), messages::not_authorized("guest/mine"));
    let r = as_other(Method::GET, "/api/v1/namespaces/guest/triggers").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.error(), messages::not_authorized("guest"));
    let r = as_other(Method::POST, "/api/v1/namespaces/guest/triggers/t").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.error(), messages::not_authorized("guest/t"));
    let r = as_other(Method::GET, "/api/v1/namespaces/guest/activations").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = as_other(Method::GET, "/api/v1/namespaces").await;
    assert_eq!(r.body, json!(["other"]));
}
