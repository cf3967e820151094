//! List paging (`limit`, `skip`, `count`) and its errors, as OpenWhisk's
//! `RestApiCommons.stringToListLimit` / `stringToListSkip`.

use axum::http::StatusCode;
use serde_json::json;
use whirl_core::messages;

use crate::harness::App;

#[tokio::test]
async fn limit_skip_and_count() {
    let app = App::start().await;
    for t in ["t1", "t2", "t3"] {
        app.trigger(t).await;
    }
    let all = app.get("/api/v1/namespaces/_/triggers").await;
    // Most recently updated first.
    let names: Vec<_> = all
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].clone())
        .collect();
    assert_eq!(names, vec![json!("t3"), json!("t2"), json!("t1")]);
    let page = app.get("/api/v1/namespaces/_/triggers?limit=2").await;
    assert_eq!(page.body.as_array().unwrap().len(), 2);
    let rest = app
        .get("/api/v1/namespaces/_/triggers?limit=2&skip=2")
        .await;
    assert_eq!(rest.body.as_array().unwrap().len(), 1);
    assert_eq!(rest.body[0]["name"], "t1");
    let zero = app.get("/api/v1/namespaces/_/triggers?limit=0").await;
    assert_eq!(zero.body.as_array().unwrap().len(), 3);
    let count = app.get("/api/v1/namespaces/_/triggers?count=true").await;
    assert_eq!(count.body, json!({"triggers": 3}));
}

const COLLECTIONS: [&str; 5] = ["actions", "packages", "triggers", "rules", "activations"];

#[tokio::test]
async fn negative_skip_is_not_greater_than_or_equal_to_0() {
    let app = App::start().await;
    for c in COLLECTIONS {
        let r = app.get(&format!("/api/v1/namespaces/_/{c}?skip=-1")).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{c}");
        assert_eq!(
            r.error(),
            format!("The value '-1' is not greater than or equal to 0 for {c}.")
        );
    }
}

#[tokio::test]
async fn limit_out_of_range_and_non_integers() {
    let app = App::start().await;
    for c in COLLECTIONS {
        for v in ["-1", "201"] {
            let r = app
                .get(&format!("/api/v1/namespaces/_/{c}?limit={v}"))
                .await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{c} {v}");
            assert_eq!(
                r.error(),
                format!("The value '{v}' is not in the range of 0 to 200 for {c}.")
            );
        }
        for (k, v) in [("limit", "abc"), ("skip", "x"), ("skip", "99999999999")] {
            let r = app.get(&format!("/api/v1/namespaces/_/{c}?{k}={v}")).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{c} {k}={v}");
            assert_eq!(r.error(), messages::argument_not_integer(c, v));
        }
    }
}
