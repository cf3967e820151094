//! Action limits (spec §1.3) and size limits (413) of entity fields and request bodies.

use serde_json::{json, Value};

use crate::support::*;

fn with_limits(limits: Value) -> Value {
    let mut b = node_action("x");
    b["limits"] = limits;
    b
}

#[test]
fn action_limits_default_on_create_and_are_kept_on_update() {
    let s = Server::start();
    let g = s.guest();
    let a = create_action(&g, "a");
    assert_eq!(
        a["limits"],
        json!({"timeout": 60000, "memory": 256, "logs": 10, "concurrency": 1})
    );
    let a = g
        .put(
            &format!("{NS}/actions/b"),
            &with_limits(json!({"timeout": 100, "memory": 512, "logs": 0})),
        )
        .ok();
    assert_eq!(
        a["limits"],
        json!({"timeout": 100, "memory": 512, "logs": 0, "concurrency": 1})
    );
    // Update: only the given fields change.
    let a = g
        .put(
            &format!("{NS}/actions/b?overwrite=true"),
            &json!({"limits": {"memory": 128}}),
        )
        .ok();
    assert_eq!(
        a["limits"],
        json!({"timeout": 100, "memory": 128, "logs": 0, "concurrency": 1})
    );
    let a = g
        .put(&format!("{NS}/actions/b?overwrite=true"), &node_action("y"))
        .ok();
    assert_eq!(
        a["limits"],
        json!({"timeout": 100, "memory": 128, "logs": 0, "concurrency": 1})
    );
    assert_eq!(
        g.get(&format!("{NS}/actions/b")).ok()["limits"],
        a["limits"]
    );
    let a = g
        .put(
            &format!("{NS}/actions/b?overwrite=true"),
            &with_limits(json!({"timeout": 300000})),
        )
        .ok();
    assert_eq!(a["limits"]["timeout"], 300000);
}

#[test]
fn action_limits_out_of_range_are_400_with_exact_messages() {
    let s = Server::start();
    let g = s.guest();
    for (limits, msg) in [
        (json!({"memory": 1024}), "requirement failed: memory 1024 MB exceeds allowed threshold of 512 MB"),
        (json!({"memory": 64}), "requirement failed: memory 64 MB below allowed threshold of 128 MB"),
        (
            json!({"timeout": 50}),
            "requirement failed: duration 50 milliseconds below allowed threshold of 100 milliseconds",
        ),
        (
            json!({"timeout": 300001}),
            "requirement failed: duration 300001 milliseconds exceeds allowed threshold of 300000 milliseconds",
        ),
        (json!({"logs": 20}), "requirement failed: log 20 MB exceeds allowed threshold of 10 MB"),
        (json!({"concurrency": 501}), "requirement failed: concurrency 501 exceeds allowed threshold of 500"),
        (json!({"concurrency": 0}), "requirement failed: concurrency 0 below allowed threshold of 1"),
    ] {
        g.put(&format!("{NS}/actions/a"), &with_limits(limits.clone())).assert_error(400, msg);
        // Same on update of an existing action.
        create_action(&g, "u");
        g.put(&format!("{NS}/actions/u?overwrite=true"), &json!({"limits": limits})).assert_error(400, msg);
        g.delete(&format!("{NS}/actions/u")).ok();
    }
    g.get(&format!("{NS}/actions/a"))
        .assert_error(404, "The requested resource does not exist.");
    // Non-integers are malformed content.
    for bad in [
        json!({"memory": "256"}),
        json!({"timeout": 1.5}),
        json!({"logs": null, "bogus": 1}),
    ] {
        let r = g.put(&format!("{NS}/actions/a"), &with_limits(bad.clone()));
        assert_eq!(r.status, 400, "{bad}: {}", r.text);
        assert!(
            r.error().starts_with("The request content was malformed:"),
            "{}",
            r.text
        );
    }
}

const MB: usize = 1024 * 1024;

/// The serialized size of a `[{key, value}]` array, as the server measures it.
fn kv_size(v: &Value) -> usize {
    serde_json::to_vec(v).unwrap().len()
}

#[test]
fn parameters_and_annotations_over_1mb_are_413() {
    let s = Server::start();
    let g = s.guest();
    create_action(&g, "existing");
    let big = json!([{"key": "big", "value": "x".repeat(MB)}]);
    let n = kv_size(&big);
    let just_fits = json!([{"key": "big", "value": "x".repeat(MB - 30)}]);
    assert!(kv_size(&just_fits) <= MB);
    for (p, base) in [
        ("actions/a", node_action("x")),
        ("actions/existing?overwrite=true", json!({})),
        ("packages/p", json!({})),
        ("triggers/t", json!({})),
    ] {
        let mut b = base.clone();
        b["parameters"] = big.clone();
        g.put(&format!("{NS}/{p}"), &b).assert_error(
            413,
            &format!("parameters larger than allowed: {n} > 1048576 bytes."),
        );
        let mut b = base.clone();
        b["annotations"] = big.clone();
        g.put(&format!("{NS}/{p}"), &b).assert_error(
            413,
            &format!("annotations larger than allowed: {n} > 1048576 bytes."),
        );
    }
    // Rules carry annotations only.
    g.put(&format!("{NS}/triggers/t0"), &json!({})).ok();
    g.put(
        &format!("{NS}/rules/r"),
        &json!({"trigger": "/_/t0", "action": "/_/existing", "annotations": big}),
    )
    .assert_error(
        413,
        &format!("annotations larger than allowed: {n} > 1048576 bytes."),
    );
    // Exactly at the limit is fine.
    let mut b = node_action("x");
    b["parameters"] = just_fits.clone();
    let a = g.put(&format!("{NS}/actions/fits"), &b).ok();
    assert_eq!(a["parameters"], just_fits);
    assert_eq!(
        g.get(&format!("{NS}/actions/existing")).ok()["version"],
        "0.0.1"
    );
}

#[test]
fn code_over_48mb_is_413() {
    let s = Server::start();
    let g = s.guest();
    let max = 48 * MB;
    let code = "a".repeat(max + 1);
    let r = g.put(
        &format!("{NS}/actions/big"),
        &json!({"exec": {"kind": "nodejs:default", "code": code}}),
    );
    r.assert_error(
        413,
        &format!("exec larger than allowed: {} > {max} bytes.", max + 1),
    );
    drop(code);
    // Exactly 48 MB is accepted and read back whole.
    let code = format!("//{}", "b".repeat(max - 2));
    let a = g
        .put(
            &format!("{NS}/actions/big"),
            &json!({"exec": {"kind": "nodejs:default", "code": code}}),
        )
        .ok();
    assert_eq!(a["exec"]["code"].as_str().map(str::len), Some(max));
    let back = g.get(&format!("{NS}/actions/big")).ok();
    assert_eq!(back["exec"]["code"].as_str().map(str::len), Some(max));
    let meta = g.get(&format!("{NS}/actions/big?code=false")).ok();
    assert!(meta["exec"].get("code").is_none());
}

/// A declared body larger than the server's maximum is refused from the headers alone: the body
/// is never sent, and the 413 still arrives.
#[test]
fn oversized_declared_body_is_refused_without_reading_it() {
    let s = Server::start();
    for path in [
        "/api/v1/namespaces/_/actions/huge",
        "/api/v1/namespaces/_/triggers/huge",
        "/api/v1/namespaces/_/packages/huge",
        "/api/v1/namespaces/_/rules/huge",
    ] {
        let r = s.raw_guest(
            "PUT",
            path,
            &[
                "Content-Type: application/json",
                "Content-Length: 1000000000",
            ],
            b"",
        );
        assert_eq!(r.status, 413, "{path}: {}", r.text);
        assert!(
            r.error()
                .starts_with("Request larger than allowed: 1000000000 > "),
            "{}",
            r.text
        );
        r.assert_error_shape();
    }
    // Nothing was created, and the server still answers.
    assert_eq!(
        s.guest()
            .get("/api/v1/namespaces/_/actions?count=true")
            .ok(),
        json!({"actions": 0})
    );
}
