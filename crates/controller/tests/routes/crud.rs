//! Create, read, update, list and delete of actions, packages, triggers and rules.

use axum::http::StatusCode;
use serde_json::json;
use whirl_core::messages;

use crate::harness::App;

#[tokio::test]
async fn actions() {
    let app = App::start().await;
    let created = app.action("hello").await;
    assert_eq!(created.body["name"], "hello");
    assert_eq!(created.body["namespace"], "guest");
    assert_eq!(created.body["version"], "0.0.1");
    assert_eq!(created.body["exec"]["kind"], "nodejs:20");

    let again = app
        .put(
            "/api/v1/namespaces/_/actions/hello",
            json!({"exec": {"kind": "nodejs:20", "code": "x"}}),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.error(), messages::RESOURCE_EXISTS);

    let updated = app
        .put(
            "/api/v1/namespaces/_/actions/hello?overwrite=true",
            json!({"parameters": [{"key": "a", "value": 1}]}),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK);
    assert_eq!(updated.body["version"], "0.0.2");

    let got = app.get("/api/v1/namespaces/guest/actions/hello").await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.body["exec"]["code"], "function main(a) { return a; }");
    assert_eq!(got.body["parameters"], json!([{"key": "a", "value": 1}]));

    let list = app.get("/api/v1/namespaces/_/actions").await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.body.as_array().unwrap().len(), 1);
    assert_eq!(list.body[0]["exec"], json!({"binary": false}));

    let deleted = app.delete("/api/v1/namespaces/_/actions/hello").await;
    assert_eq!(deleted.status, StatusCode::OK);
    assert_eq!(deleted.body["name"], "hello");
    let gone = app.get("/api/v1/namespaces/_/actions/hello").await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(gone.error(), messages::RESOURCE_DOES_NOT_EXIST);
    let gone = app.delete("/api/v1/namespaces/_/actions/hello").await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn action_errors() {
    let app = App::start().await;
    let no_exec = app.put("/api/v1/namespaces/_/actions/a", json!({})).await;
    assert_eq!(no_exec.status, StatusCode::BAD_REQUEST);
    assert_eq!(no_exec.error(), messages::EXEC_UNDEFINED);
    // `%2F` inside a name is part of the name, which is then invalid.
    let slash = app.get("/api/v1/namespaces/_/actions/a%2Fb").await;
    assert_eq!(slash.status, StatusCode::BAD_REQUEST);
    assert_eq!(slash.error(), messages::ENTITY_ILLEGAL_CHARS);
    let bad_ns = app.get("/api/v1/namespaces/b%21d/actions/a").await;
    assert_eq!(bad_ns.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad_ns.error(), messages::NAMESPACE_ILLEGAL_CHARS);
    let deep = app.get("/api/v1/namespaces/_/actions/a/b/c").await;
    assert_eq!(deep.status, StatusCode::NOT_FOUND);
    let too_many = app
        .put(
            "/api/v1/namespaces/_/actions/a",
            json!({"exec": {"kind": "nodejs:20", "code": "x"}, "limits": {"instances": 0}}),
        )
        .await;
    assert_eq!(too_many.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        too_many.error(),
        "requirement failed: instances 0 below allowed threshold of 1"
    );
}

#[tokio::test]
async fn packages_and_bindings() {
    let app = App::start().await;
    let pkg = app
        .put(
            "/api/v1/namespaces/_/packages/utils",
            json!({"parameters": [{"key": "p", "value": "pkg"}]}),
        )
        .await;
    assert_eq!(pkg.status, StatusCode::OK);
    assert_eq!(pkg.body["binding"], json!({}));
    app.action("utils/echo").await;

    let got = app.get("/api/v1/namespaces/_/packages/utils").await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.body["actions"][0]["name"], "echo");
    assert_eq!(got.body["feeds"], json!([]));

    let bound = app
        .put(
            "/api/v1/namespaces/_/packages/mine",
            json!({"binding": {"namespace": "_", "name": "utils"}}),
        )
        .await;
    assert_eq!(bound.status, StatusCode::OK);
    assert_eq!(
        bound.body["binding"],
        json!({"namespace": "guest", "name": "utils"})
    );
    let in_binding = app.get("/api/v1/namespaces/_/actions/mine/").await;
    assert_eq!(in_binding.status, StatusCode::OK);
    assert_eq!(in_binding.body[0]["name"], "echo");
    let via_binding = app.get("/api/v1/namespaces/_/actions/mine/echo").await;
    assert_eq!(via_binding.status, StatusCode::OK);
    assert_eq!(via_binding.body["parameters"][0]["value"], "pkg");
    let write_in_binding = app
        .put(
            "/api/v1/namespaces/_/actions/mine/x",
            json!({"exec": {"kind": "nodejs:20", "code": "x"}}),
        )
        .await;
    assert_eq!(write_in_binding.status, StatusCode::BAD_REQUEST);
    assert_eq!(write_in_binding.error(), messages::NOT_ALLOWED_ON_BINDING);

    let list = app.get("/api/v1/namespaces/_/packages").await;
    assert_eq!(list.body.as_array().unwrap().len(), 2);

    let reserved = app
        .put("/api/v1/namespaces/_/packages/default", json!({}))
        .await;
    assert_eq!(reserved.status, StatusCode::BAD_REQUEST);
    assert_eq!(reserved.error(), messages::PACKAGE_NAME_RESERVED);

    let not_empty = app.delete("/api/v1/namespaces/_/packages/utils").await;
    assert_eq!(not_empty.status, StatusCode::CONFLICT);
    assert_eq!(not_empty.error(), messages::package_not_empty(1));
    let forced = app
        .delete("/api/v1/namespaces/_/packages/utils?force=true")
        .await;
    assert_eq!(forced.status, StatusCode::OK);
    let gone = app.get("/api/v1/namespaces/_/actions/utils/echo").await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn triggers() {
    let app = App::start().await;
    let t = app
        .put(
            "/api/v1/namespaces/_/triggers/tick",
            json!({"parameters": [{"key": "a", "value": 1}]}),
        )
        .await;
    assert_eq!(t.status, StatusCode::OK);
    assert_eq!(t.body["name"], "tick");
    let got = app.get("/api/v1/namespaces/_/triggers/tick").await;
    assert_eq!(got.body["parameters"], json!([{"key": "a", "value": 1}]));
    let list = app.get("/api/v1/namespaces/_/triggers").await;
    assert_eq!(list.body[0]["name"], "tick");
    assert!(list.body[0].get("parameters").is_none());
    let bad_feed = app
        .put(
            "/api/v1/namespaces/_/triggers/fed",
            json!({"annotations": [{"key": "feed", "value": 3}]}),
        )
        .await;
    assert_eq!(bad_feed.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad_feed.error(), messages::FEED_NAME_INVALID);
    let deleted = app.delete("/api/v1/namespaces/_/triggers/tick").await;
    assert_eq!(deleted.status, StatusCode::OK);
    let gone = app.get("/api/v1/namespaces/_/triggers/tick").await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn rules() {
    let app = App::start().await;
    app.trigger("t").await;
    app.action("a").await;
    let r = app.rule("r", "t", "a").await;
    assert_eq!(r.body["status"], "active");
    assert_eq!(r.body["trigger"], json!({"path": "guest", "name": "t"}));
    assert_eq!(r.body["action"], json!({"path": "guest", "name": "a"}));

    let disabled = app
        .post(
            "/api/v1/namespaces/_/rules/r",
            json!({"status": "inactive"}),
        )
        .await;
    assert_eq!(disabled.status, StatusCode::OK);
    assert_eq!(disabled.body, json!("OK"));
    let got = app.get("/api/v1/namespaces/_/rules/r").await;
    assert_eq!(got.body["status"], "inactive");
    let bad = app
        .post("/api/v1/namespaces/_/rules/r", json!({"status": "on"}))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.error(), messages::BAD_RULE_STATUS);

    let list = app.get("/api/v1/namespaces/_/rules").await;
    assert_eq!(list.body[0]["name"], "r");
    assert!(list.body[0].get("status").is_none());

    let missing = app
        .put(
            "/api/v1/namespaces/_/rules/r2",
            json!({"trigger": "/_/nope", "action": "/_/a"}),
        )
        .await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert_eq!(missing.error(), "trigger /guest/nope does not exist");
    let no_action = app
        .put(
            "/api/v1/namespaces/_/rules/r2",
            json!({"trigger": "/_/t", "action": "/_/nope"}),
        )
        .await;
    assert_eq!(no_action.status, StatusCode::BAD_REQUEST);
    assert_eq!(no_action.error(), "action /guest/nope does not exist");
    let incomplete = app
        .put("/api/v1/namespaces/_/rules/r2", json!({"trigger": "/_/t"}))
        .await;
    assert_eq!(incomplete.error(), messages::RULE_MISSING_TRIGGER_OR_ACTION);

    let deleted = app.delete("/api/v1/namespaces/_/rules/r").await;
    assert_eq!(deleted.status, StatusCode::OK);
    assert_eq!(deleted.body["status"], "inactive");
    let gone = app.get("/api/v1/namespaces/_/rules/r").await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
}
