//! Activation records (spec §1.7, §2.2). The server cannot run code in this issue, so records
//! are written straight into its store.

use serde_json::{json, Value};
use whirl_store::ActivationRecord;

use crate::support::*;

const T0: i64 = 1_700_000_000_000;

/// Four records of guest (hello ×2, pkg/hello, other) and one of alice, start times T0+i*1000.
fn fixture(s: &Server) -> Vec<ActivationRecord> {
    let recs = vec![
        activation_record("guest", None, "hello", T0, 0, json!({"payload": "Hello"})),
        activation_record(
            "guest",
            Some("pkg"),
            "hello",
            T0 + 1000,
            1,
            json!({"error": "app"}),
        ),
        activation_record(
            "guest",
            None,
            "other",
            T0 + 2000,
            2,
            json!({"error": "dev"}),
        ),
        activation_record(
            "guest",
            None,
            "hello",
            T0 + 3000,
            3,
            json!({"error": "internal"}),
        ),
        activation_record("alice", None, "hello", T0 + 4000, 0, json!({"mine": true})),
    ];
    store_activations(s, recs.clone());
    recs
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|e| e["activationId"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn list_summaries_newest_first() {
    let s = Server::start();
    let g = s.guest();
    let recs = fixture(&s);
    let list = g.get(&format!("{NS}/activations")).ok();
    let expected: Vec<String> = recs[..4]
        .iter()
        .rev()
        .map(|r| r.activation_id.clone())
        .collect();
    assert_eq!(ids(&list), expected);
    let first = &list[0];
    let mut keys: Vec<&str> = first
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "activationId",
            "annotations",
            "duration",
            "end",
            "name",
            "namespace",
            "publish",
            "start",
            "statusCode",
            "version"
        ]
    );
    assert_eq!(first["statusCode"], 3);
    assert_eq!(first["start"], T0 + 3000);
    assert_eq!(first["end"], T0 + 3007);
    assert_eq!(first["duration"], 7);
    assert_eq!(first["name"], "hello");
    assert_eq!(
        kv(&first["annotations"], "path"),
        Some(&json!("guest/hello"))
    );
    let codes: Vec<i64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["statusCode"].as_i64().unwrap())
        .collect();
    assert_eq!(codes, [3, 2, 1, 0]);
    assert_eq!(
        g.get(&format!("{NS}/activations?count=true")).ok(),
        json!({"activations": 4})
    );
    // Through the explicit namespace name too.
    assert_eq!(
        ids(&g.get("/api/v1/namespaces/guest/activations").ok()),
        expected
    );
}

#[test]
fn list_with_docs_returns_api_form_records() {
    let s = Server::start();
    let g = s.guest();
    fixture(&s);
    let docs = g.get(&format!("{NS}/activations?docs=true")).ok();
    assert_eq!(docs.as_array().unwrap().len(), 4);
    let statuses: Vec<(Value, Value)> = docs
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["response"]["status"].clone(),
                d["response"]["success"].clone(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            (json!("whisk internal error"), json!(false)),
            (json!("action developer error"), json!(false)),
            (json!("application error"), json!(false)),
            (json!("success"), json!(true)),
        ]
    );
    for d in docs.as_array().unwrap() {
        assert!(d["response"].get("statusCode").is_none(), "{d}");
        assert!(d.get("statusCode").is_none());
        assert_eq!(d["duration"], 7);
        assert_eq!(d["logs"].as_array().unwrap().len(), 2);
        assert_eq!(d["subject"], "guest");
        assert!(d["response"]["result"].is_object());
    }
    assert_eq!(docs[3]["response"]["result"], json!({"payload": "Hello"}));
}

#[test]
fn list_filters() {
    let s = Server::start();
    let g = s.guest();
    let recs = fixture(&s);
    let q = |query: &str| ids(&g.get(&format!("{NS}/activations?{query}")).ok());
    let id = |i: usize| recs[i].activation_id.clone();
    assert_eq!(q("name=hello"), [id(3), id(0)]);
    assert_eq!(q("name=pkg/hello"), [id(1)]);
    assert_eq!(q("name=other"), [id(2)]);
    assert_eq!(q("name=nope"), Vec::<String>::new());
    assert_eq!(
        g.get(&format!("{NS}/activations?name=hello&count=true"))
            .ok(),
        json!({"activations": 2})
    );
    for bad in ["a/b/c", "bad%20name%20", "/x", "a//b"] {
        let decoded = bad.replace("%20", " ");
        g.get(&format!("{NS}/activations?name={bad}")).assert_error(
            400,
            &format!("Parameter may be a 'simple' name or 'package-name/simple' name: {decoded}"),
        );
    }
    // since/upto are inclusive bounds on start (epoch ms).
    assert_eq!(q(&format!("since={}", T0 + 1000)), [id(3), id(2), id(1)]);
    assert_eq!(q(&format!("upto={}", T0 + 1000)), [id(1), id(0)]);
    assert_eq!(
        q(&format!("since={}&upto={}", T0 + 1000, T0 + 2000)),
        [id(2), id(1)]
    );
    assert_eq!(q(&format!("since={}&name=hello", T0 + 1)), [id(3)]);
    for (p, bad) in [
        ("since", "x"),
        ("upto", "1.5"),
        ("since", "-5"),
        ("upto", ""),
    ] {
        g.get(&format!("{NS}/activations?{p}={bad}")).assert_error(
            400,
            &format!("Parameter is not a valid value for epoch seconds: {bad}"),
        );
    }
    // skip/limit/count.
    assert_eq!(q("limit=2"), [id(3), id(2)]);
    assert_eq!(q("skip=1&limit=2"), [id(2), id(1)]);
    assert_eq!(q("skip=4"), Vec::<String>::new());
    assert_eq!(q("limit=0").len(), 4);
    assert_eq!(
        g.get(&format!("{NS}/activations?count=true&skip=1&limit=1"))
            .ok(),
        json!({"activations": 4})
    );
    g.get(&format!("{NS}/activations?count=true&docs=true"))
        .assert_error(400, "The parameter 'docs' is not permitted with 'count'.");
    // docs=false is the summary form.
    assert!(g.get(&format!("{NS}/activations?docs=false")).ok()[0]
        .get("statusCode")
        .is_some());
}

#[test]
fn get_logs_and_result() {
    let s = Server::start();
    let g = s.guest();
    let recs = fixture(&s);
    for (i, (status, success)) in [
        ("success", true),
        ("application error", false),
        ("action developer error", false),
        ("whisk internal error", false),
    ]
    .into_iter()
    .enumerate()
    {
        let r = &recs[i];
        let id = &r.activation_id;
        let got = g.get(&format!("{NS}/activations/{id}")).ok();
        let mut expected = doc_of(r);
        let code = expected["response"]
            .as_object_mut()
            .unwrap()
            .remove("statusCode");
        assert_eq!(code, Some(json!(i)));
        expected["response"]["status"] = json!(status);
        expected["response"]["success"] = json!(success);
        assert_eq!(got, expected, "API form of record {i}");
        let logs = g.get(&format!("{NS}/activations/{id}/logs")).ok();
        assert_eq!(logs, json!({"logs": doc_of(r)["logs"]}));
        let result = g.get(&format!("{NS}/activations/{id}/result")).ok();
        assert_eq!(result["result"], doc_of(r)["response"]["result"]);
        assert_eq!(result["status"], status);
        assert_eq!(result["success"], success);
        assert_eq!(result["size"], doc_of(r)["response"]["size"]);
        assert!(result.get("statusCode").is_none());
        // An id that is not 32 lowercase hex characters is not valid (issue 8, item 9).
        g.get(&format!("{NS}/activations/{}", id.to_ascii_uppercase()))
            .assert_error(400, "The activation id is not valid.");
    }
}

#[test]
fn trigger_style_records_without_end() {
    let s = Server::start();
    let g = s.guest();
    let mut r = activation_record("guest", None, "t", T0, 0, json!({}));
    r.end = 0;
    let mut doc = doc_of(&r);
    doc["end"] = json!(0);
    doc.as_object_mut().unwrap().remove("duration");
    r.doc = whirl_store::SharedJson::to_shared(&doc).unwrap();
    store_activations(&s, vec![r.clone()]);
    let got = g.get(&format!("{NS}/activations/{}", r.activation_id)).ok();
    assert!(
        got.get("end").is_none() && got.get("duration").is_none(),
        "{got}"
    );
    let summary = g.get(&format!("{NS}/activations")).ok();
    assert!(summary[0].get("end").is_none() && summary[0].get("duration").is_none());
}

#[test]
fn unknown_invalid_and_foreign_activation_ids() {
    let s = Server::start();
    let g = s.guest();
    let recs = fixture(&s);
    let missing = "0123456789abcdef0123456789abcdef";
    for suffix in ["", "/logs", "/result"] {
        g.get(&format!("{NS}/activations/{missing}{suffix}"))
            .assert_error(404, "The requested resource does not exist.");
        g.get(&format!("{NS}/activations/abc{suffix}"))
            .assert_error(400, "Activation id length is 3 but must be 32.");
        g.get(&format!("{NS}/activations/{}0{suffix}", missing))
            .assert_error(400, "Activation id length is 33 but must be 32.");
        g.get(&format!("{NS}/activations/{}{suffix}", "g".repeat(32)))
            .assert_error(400, "The activation id is not valid.");
        g.get(&format!(
            "{NS}/activations/0123456789abcdef0123456789abcde-{suffix}"
        ))
        .assert_error(400, "The activation id is not valid.");
        // Alice's record is invisible to guest under guest's namespace...
        let alices = &recs[4].activation_id;
        g.get(&format!("{NS}/activations/{alices}{suffix}"))
            .assert_error(404, "The requested resource does not exist.");
        // ... and alice's namespace is forbidden.
        g.get(&format!(
            "/api/v1/namespaces/alice/activations/{alices}{suffix}"
        ))
        .assert_error(
            403,
            "The supplied authentication is not authorized to access 'alice'.",
        );
    }
    g.get("/api/v1/namespaces/alice/activations").assert_error(
        403,
        "The supplied authentication is not authorized to access 'alice'.",
    );
    // Alice (once she exists) sees only hers.
    let alice = s.api(Some(&s.create_namespace("alice")));
    assert_eq!(
        ids(&alice.get(&format!("{NS}/activations")).ok()),
        [recs[4].activation_id.clone()]
    );
    alice
        .get(&format!("{NS}/activations/{}", recs[0].activation_id))
        .assert_error(404, "The requested resource does not exist.");
}
