//! Firing triggers: 204 without an active rule; otherwise 202, the rules' actions invoked and
//! one log line per rule in the trigger activation, in OpenWhisk's format.

use axum::http::StatusCode;
use serde_json::{json, Value};
use whirl_core::messages;

use whirl_controller::auth::{authenticate, GUEST_KEY};
use whirl_controller::domain::fire::{fire_trigger, FireOutcome};
use whirl_controller::domain::Error;
use whirl_core::names::FullyQualifiedName;

use crate::harness::{basic, App};

#[tokio::test]
async fn without_active_rules_is_204_and_stores_nothing() {
    let app = App::start().await;
    app.trigger("t").await;
    let r = app.post("/api/v1/namespaces/_/triggers/t", json!({})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    app.action("a").await;
    app.rule("r", "t", "a").await;
    app.post(
        "/api/v1/namespaces/_/rules/r",
        json!({"status": "inactive"}),
    )
    .await;
    let r = app.post("/api/v1/namespaces/_/triggers/t", json!({})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let count = app.get("/api/v1/namespaces/_/activations?count=true").await;
    assert_eq!(count.body, json!({"activations": 0}));
}

#[tokio::test]
async fn missing_trigger_is_404() {
    let app = App::start().await;
    let r = app
        .post("/api/v1/namespaces/_/triggers/nope", json!({}))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.error(), messages::RESOURCE_DOES_NOT_EXIST);
}

fn logs(record: &Value) -> Vec<String> {
    record["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn active_and_inactive_rules_are_logged() {
    let app = App::start().await;
    app.put(
        "/api/v1/namespaces/_/triggers/t",
        json!({"parameters": [{"key": "from", "value": "trigger"}, {"key": "x", "value": 0}]}),
    )
    .await;
    app.action("a").await;
    app.action("b").await;
    app.rule("r1", "t", "a").await;
    app.rule("r2", "t", "b").await;
    app.post(
        "/api/v1/namespaces/_/rules/r2",
        json!({"status": "inactive"}),
    )
    .await;

    let fired = app
        .post("/api/v1/namespaces/_/triggers/t", json!({"x": 1}))
        .await;
    assert_eq!(fired.status, StatusCode::ACCEPTED);
    let id = fired.body["activationId"].as_str().unwrap().to_string();
    assert_eq!(fired.headers["x-openwhisk-activation-id"], id.as_str());

    let record = app
        .wait_activation(&id, |r| !r["logs"].as_array().unwrap().is_empty())
        .await;
    assert_eq!(record["name"], "t");
    assert_eq!(record["namespace"], "guest");
    assert_eq!(record["response"]["result"], json!({"x": 1}));
    let logs = logs(&record);
    assert_eq!(logs.len(), 2);
    let action_id = serde_json::from_str::<Value>(&logs[0]).unwrap()["activationId"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        logs[0],
        format!(
            r#"{{"statusCode":0,"success":true,"activationId":"{action_id}","rule":"guest/r1","action":"guest/a"}}"#
        )
    );
    assert_eq!(
        logs[1],
        r#"{"statusCode":1,"success":false,"rule":"guest/r2","error":"Rule 'guest/r2' is inactive, action 'guest/b' was not activated.","action":"guest/b"}"#
    );

    // The rule's action ran with the trigger parameters overridden by the payload.
    let action = app
        .wait_activation(&action_id, |r| r["response"]["status"] == "success")
        .await;
    let args = &action["response"]["result"]["echo"];
    assert_eq!(args["from"], "trigger");
    assert_eq!(args["x"], 1);
    assert!(args["__ow_headers"].is_object());
    assert!(args["__ow_headers"].get("authorization").is_none());
}

#[tokio::test]
async fn a_rule_whose_action_is_gone_logs_its_error() {
    let app = App::start().await;
    app.trigger("t").await;
    app.action("a").await;
    app.rule("r", "t", "a").await;
    app.delete("/api/v1/namespaces/_/actions/a").await;
    let fired = app.post("/api/v1/namespaces/_/triggers/t", json!({})).await;
    assert_eq!(fired.status, StatusCode::ACCEPTED);
    let id = fired.body["activationId"].as_str().unwrap();
    let record = app
        .wait_activation(id, |r| !r["logs"].as_array().unwrap().is_empty())
        .await;
    assert_eq!(
        logs(&record),
        vec![
            r#"{"statusCode":1,"success":false,"rule":"guest/r","error":"The requested resource does not exist.","action":"guest/a"}"#
        ]
    );
}

#[tokio::test]
async fn fires_are_throttled() {
    let app = App::with_guest_limits(json!({"firesPerMinute": 1})).await;
    app.trigger("t").await;
    let first = app.post("/api/v1/namespaces/_/triggers/t", json!({})).await;
    assert_eq!(first.status, StatusCode::NO_CONTENT);
    let second = app.post("/api/v1/namespaces/_/triggers/t", json!({})).await;
    assert_eq!(second.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(second.error(), messages::too_many_requests(2, 1));
}

#[tokio::test]
async fn fire_without_http() {
    // What the alarms feed's scheduler does: no request, just the owner's identity.
    let app = App::start().await;
    app.trigger("t").await;
    app.action("a").await;
    let who = authenticate(&app.state, Some(&basic(GUEST_KEY)))
        .await
        .unwrap();
    let t = FullyQualifiedName::new("guest", None, "t");
    let outcome = fire_trigger(&app.state, &who, &t, json!({}), "tid").await;
    assert_eq!(outcome, Ok(FireOutcome::NoActiveRules));
    app.rule("r", "t", "a").await;
    let outcome = fire_trigger(&app.state, &who, &t, json!({"k": 1}), "tid")
        .await
        .unwrap();
    let FireOutcome::Fired { activation_id } = outcome else {
        panic!("not fired: {outcome:?}");
    };
    let record = app
        .wait_activation(&activation_id, |r| {
            !r["logs"].as_array().unwrap().is_empty()
        })
        .await;
    let line: Value = serde_json::from_str(record["logs"][0].as_str().unwrap()).unwrap();
    assert_eq!(line["success"], true);
    let action = app
        .wait_activation(line["activationId"].as_str().unwrap(), |r| {
            r["response"]["status"] == "success"
        })
        .await;
    // No request, so no `__ow_headers`.
    assert_eq!(action["response"]["result"]["echo"], json!({"k": 1}));

    let missing = FullyQualifiedName::new("guest", None, "nope");
    let err = fire_trigger(&app.state, &who, &missing, json!({}), "tid").await;
    assert_eq!(err, Err(Error::NotFound));
    let theirs = FullyQualifiedName::new("other", None, "t");
    let err = fire_trigger(&app.state, &who, &theirs, json!({}), "tid").await;
    assert_eq!(err, Err(Error::not_authorized("other/t")));
}
