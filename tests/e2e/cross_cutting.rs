//! Cross-cutting behaviour (spec §2.1): error bodies, transaction ids, authentication,
//! entitlement, CORS, request parsing, list parameters, versions and timestamps.

use reqwest::Method;
use serde_json::{json, Value};

use crate::info::AUTH_REQUIRED;
use crate::support::*;

const AUTH_INVALID: &str = "The supplied authentication is invalid";
const MALFORMED: &str = "The request content was malformed:\n";

fn assert_cors(r: &Resp) {
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("*"),
        "{:?}",
        r.headers
    );
    assert_eq!(
        r.header("access-control-allow-headers"),
        Some("Authorization, Origin, X-Requested-With, Content-Type, Accept, User-Agent")
    );
    assert_eq!(
        r.header("access-control-allow-methods"),
        Some("GET, DELETE, POST, PUT, HEAD")
    );
}

#[test]
fn unknown_routes_answer_404_in_openwhisk_shape() {
    let s = Server::start();
    let g = s.guest();
    for p in [
        "/api/v1/nope",
        "/nope",
        "/api/v2/namespaces",
        &format!("{NS}/widgets"),
        &format!("{NS}/actions/a/b/c"),
    ] {
        let r = g.get(p);
        r.assert_error(404, "The requested resource does not exist.");
        assert_cors(&r);
    }
    // Without credentials too.
    s.anon()
        .get("/api/v1/nope")
        .assert_error(404, "The requested resource does not exist.");
}

#[test]
fn method_not_allowed_answers_405_in_openwhisk_shape() {
    let s = Server::start();
    let g = s.guest();
    for (m, p) in [
        (Method::POST, format!("{NS}/actions")),
        (Method::DELETE, format!("{NS}/triggers")),
        (Method::PUT, "/api/v1/namespaces".to_string()),
        (Method::PATCH, format!("{NS}/packages/p")),
        (Method::POST, "/ping".to_string()),
    ] {
        let r = g.send(m.clone(), &p, &[], None);
        assert_eq!(r.status, 405, "{m} {p}: {}", r.text);
        assert!(
            r.error()
                .starts_with("HTTP method not allowed, supported methods:"),
            "{}",
            r.text
        );
        r.assert_error_shape();
        assert_cors(&r);
    }
}

#[test]
fn malformed_and_truncated_json_answer_400() {
    let s = Server::start();
    let g = s.guest();
    for body in [
        r#"{"exec": {"kind": "nodejs:default", "code": "x""#,
        "{",
        "[",
        "nonsense",
        r#"{"exec":}"#,
        "\"str\"",
    ] {
        let r = g.put_raw(&format!("{NS}/actions/a"), body);
        assert_eq!(r.status, 400, "{body}: {}", r.text);
        assert!(r.error().starts_with(MALFORMED), "{}", r.text);
        r.assert_error_shape();
    }
    for coll in ["packages/p", "triggers/t", "rules/r"] {
        let r = g.put_raw(&format!("{NS}/{coll}"), "{\"annotations\": [");
        assert_eq!(r.status, 400, "{coll}: {}", r.text);
        assert!(r.error().starts_with(MALFORMED));
    }
    // Nothing was created.
    g.get(&format!("{NS}/actions/a"))
        .assert_error(404, "The requested resource does not exist.");
}

#[test]
fn wrong_field_types_answer_400() {
    let s = Server::start();
    let g = s.guest();
    let code = json!({"kind": "nodejs:default", "code": "x"});
    for body in [
        json!({"exec": "x"}),
        json!({"exec": {"kind": 20, "code": "x"}}),
        json!({"exec": {"kind": "nodejs:default", "code": 5}}),
        json!({"exec": code, "parameters": "x"}),
        json!({"exec": code, "parameters": [{"value": 1}]}),
        json!({"exec": code, "annotations": {"a": 1}}),
        json!({"exec": code, "publish": "yes"}),
        json!({"exec": code, "limits": {"memory": "256"}}),
        json!({"exec": code, "limits": {"memory": 256.5}}),
        json!({"exec": code, "limits": {"timeout": -1}}),
        json!({"exec": code, "limits": 5}),
        json!({"exec": code, "version": 3}),
        json!({"exec": code, "version": "not.a.version"}),
    ] {
        let r = g.put(&format!("{NS}/actions/a"), &body);
        assert_eq!(r.status, 400, "{body}: {}", r.text);
        assert!(r.error().starts_with(MALFORMED), "{body}: {}", r.text);
        r.assert_error_shape();
    }
    for (p, body) in [
        ("packages/p", json!({"binding": "x"})),
        ("packages/p", json!({"parameters": 1})),
        ("triggers/t", json!({"annotations": "x"})),
        ("triggers/t", json!({"publish": 1})),
        (
            "rules/r",
            json!({"trigger": "/_/t", "action": "/_/a", "annotations": 1}),
        ),
    ] {
        let r = g.put(&format!("{NS}/{p}"), &body);
        assert_eq!(r.status, 400, "{p} {body}: {}", r.text);
        assert!(r.error().starts_with(MALFORMED), "{p} {body}: {}", r.text);
    }
}

#[test]
fn unsupported_content_type_answers_415() {
    let s = Server::start();
    let g = s.guest();
    let r = g.send(
        Method::PUT,
        &format!("{NS}/triggers/t"),
        &[("content-type", "text/plain")],
        Some(b"{}".to_vec()),
    );
    assert_eq!(r.status, 415, "{}", r.text);
    assert!(
        r.error()
            .starts_with("The request's Content-Type is not supported."),
        "{}",
        r.text
    );
    r.assert_error_shape();
    assert_cors(&r);
    // JSON with a charset is fine.
    let r = g.send(
        Method::PUT,
        &format!("{NS}/triggers/t"),
        &[("content-type", "application/json; charset=utf-8")],
        Some(b"{}".to_vec()),
    );
    assert_eq!(r.status, 200, "{}", r.text);
}

#[test]
fn empty_body_is_an_empty_object() {
    let s = Server::start();
    let g = s.guest();
    let r = g.send(Method::PUT, &format!("{NS}/triggers/t"), &[], None);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["name"], "t");
    let r = g.send(
        Method::PUT,
        &format!("{NS}/packages/p"),
        &[("content-type", "application/json")],
        Some(Vec::new()),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    // An action needs exec, so an empty body is "exec undefined", not malformed.
    g.send(Method::PUT, &format!("{NS}/actions/a"), &[], None)
        .assert_error(400, "exec undefined");
}

#[test]
fn request_ids_are_generated_and_echoed() {
    let s = Server::start();
    let g = s.guest();
    // Generated: present, differing per request, and equal to the error code.
    let a = g.get(&format!("{NS}/actions/missing"));
    let b = g.get(&format!("{NS}/actions/missing"));
    a.assert_error_shape();
    b.assert_error_shape();
    let (ida, idb) = (
        a.header("x-request-id").unwrap(),
        b.header("x-request-id").unwrap(),
    );
    assert_ne!(ida, idb);
    assert!(!ida.is_empty());
    // Echoed on success and on error.
    let r = g.send(
        Method::GET,
        "/api/v1/namespaces",
        &[("x-request-id", "my-tid-0123456789")],
        None,
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-request-id"), Some("my-tid-0123456789"));
    let r = g.send(
        Method::GET,
        &format!("{NS}/actions/nope"),
        &[("x-request-id", "tid-for-an-error")],
        None,
    );
    r.assert_error(404, "The requested resource does not exist.");
    assert_eq!(r.body["code"], "tid-for-an-error");
    // Also on 401 and on unknown routes.
    let r = s.anon().send(
        Method::GET,
        "/api/v1/namespaces",
        &[("x-request-id", "anon-tid")],
        None,
    );
    r.assert_error(401, AUTH_REQUIRED);
    assert_eq!(r.body["code"], "anon-tid");
    let r = g.send(
        Method::GET,
        "/api/v1/zzz",
        &[("x-request-id", "route-tid")],
        None,
    );
    assert_eq!(r.body["code"], "route-tid");
}

#[test]
fn missing_or_wrong_credentials_answer_401_with_challenge() {
    let s = Server::start();
    let challenge = "Basic realm=\"OpenWhisk secure realm\"";
    let paths = [
        "/api/v1/namespaces".to_string(),
        format!("{NS}/actions"),
        format!("{NS}/actions/a"),
        format!("{NS}/packages/p"),
        format!("{NS}/triggers"),
        format!("{NS}/rules/r"),
        format!("{NS}/activations"),
        format!("{NS}/limits"),
    ];
    for p in &paths {
        let r = s.anon().get(p);
        r.assert_error(401, AUTH_REQUIRED);
        assert_eq!(r.header("www-authenticate"), Some(challenge), "{p}");
        assert_cors(&r);
    }
    let wrong_key =
        "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:000zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP";
    let unknown_uuid =
        "00000000-71f6-4ed5-8c54-816aa4f8c502:123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP";
    for key in [wrong_key, unknown_uuid, "not-a-key", "a:b", ""] {
        for p in &paths {
            let r = s.api(Some(key)).get(p);
            r.assert_error(401, AUTH_INVALID);
            assert_eq!(r.header("www-authenticate"), Some(challenge));
        }
    }
    // Non-Basic schemes and undecodable credentials.
    for h in ["Bearer abc", "Basic !!!notbase64", "Basic"] {
        let r = s.anon().send(
            Method::GET,
            "/api/v1/namespaces",
            &[("authorization", h)],
            None,
        );
        r.assert_error(401, AUTH_INVALID);
        assert_eq!(r.header("www-authenticate"), Some(challenge));
    }
    // PUT without credentials creates nothing.
    let r = s.anon().put(&format!("{NS}/triggers/t"), &json!({}));
    r.assert_error(401, AUTH_REQUIRED);
    s.guest()
        .get(&format!("{NS}/triggers/t"))
        .assert_error(404, "The requested resource does not exist.");
}

fn forbidden(resource: &str) -> String {
    format!("The supplied authentication is not authorized to access '{resource}'.")
}

#[test]
fn another_namespaces_entities_are_403_existing_or_not() {
    let s = Server::start();
    let g = s.guest();
    let alice = s.api(Some(&s.create_namespace("alice")));
    create_action(&g, "a");
    g.put(&format!("{NS}/packages/p"), &json!({})).ok();
    create_action(&g, "p/pa");
    g.put(&format!("{NS}/triggers/t"), &json!({})).ok();
    g.put(
        &format!("{NS}/rules/r"),
        &json!({"trigger": "/_/t", "action": "/_/a"}),
    )
    .ok();

    let base = "/api/v1/namespaces/guest";
    for (name, resource) in [
        ("actions/a", "guest/a"),
        ("actions/nope", "guest/nope"),
        ("actions/p/pa", "guest/p"),
        ("actions/p/nope", "guest/p"),
        ("actions/nopkg/x", "guest/nopkg"),
        ("packages/p", "guest/p"),
        ("packages/nope", "guest/nope"),
        ("triggers/t", "guest/t"),
        ("triggers/nope", "guest/nope"),
        ("rules/r", "guest/r"),
        ("rules/nope", "guest/nope"),
    ] {
        alice
            .get(&format!("{base}/{name}"))
            .assert_error(403, &forbidden(resource));
    }
    for (name, resource) in [
        ("actions/a", "guest/a"),
        ("actions/new", "guest/new"),
        ("actions/p/new", "guest/p/new"),
        ("triggers/t", "guest/t"),
        ("triggers/new", "guest/new"),
        ("rules/new", "guest/new"),
        ("packages/new", "guest/new"),
    ] {
        let r = alice.put(&format!("{base}/{name}?overwrite=true"), &node_action("x"));
        r.assert_error(403, &forbidden(resource));
        let r = alice.delete(&format!("{base}/{name}"));
        r.assert_error(403, &forbidden(resource));
    }
    alice
        .post(&format!("{base}/rules/r"), &json!({"status": "inactive"}))
        .assert_error(403, &forbidden("guest/r"));
    for coll in ["actions", "triggers", "rules", "activations"] {
        alice
            .get(&format!("{base}/{coll}"))
            .assert_error(403, &forbidden("guest"));
    }
    // Not even for namespaces that do not exist.
    alice
        .get("/api/v1/namespaces/nobody/actions/x")
        .assert_error(403, &forbidden("nobody/x"));
    // Nothing changed for guest.
    assert_eq!(g.get(&format!("{NS}/actions/a")).ok()["version"], "0.0.1");
    assert_eq!(g.get(&format!("{NS}/rules/r")).ok()["status"], "active");
}

#[test]
fn underscore_resolves_to_the_callers_namespace() {
    let s = Server::start();
    let g = s.guest();
    let created = create_action(&g, "a");
    assert_eq!(created["namespace"], "guest");
    assert_eq!(
        g.get("/api/v1/namespaces/guest/actions/a").ok(),
        g.get(&format!("{NS}/actions/a")).ok()
    );
    // Writing through the explicit name and reading through `_`.
    g.put("/api/v1/namespaces/guest/triggers/t", &json!({}))
        .ok();
    assert_eq!(
        g.get(&format!("{NS}/triggers/t")).ok()["namespace"],
        "guest"
    );
    // For another user `_` is their own namespace.
    let alice = s.api(Some(&s.create_namespace("alice")));
    alice
        .get(&format!("{NS}/actions/a"))
        .assert_error(404, "The requested resource does not exist.");
    assert_eq!(create_action(&alice, "a")["namespace"], "alice");
    assert_eq!(names(&alice.get(&format!("{NS}/actions")).ok()), ["a"]);
}

#[test]
fn cors_on_every_response_and_options_on_any_path() {
    let s = Server::start();
    let g = s.guest();
    assert_cors(&g.get("/api/v1/namespaces"));
    assert_cors(&g.get(&format!("{NS}/actions/missing")));
    assert_cors(&s.anon().get("/api/v1"));
    for p in [
        "/api/v1/namespaces/_/actions/x",
        "/anything/at/all",
        "/",
        "/api/v1/namespaces/_/rules",
    ] {
        for api in [s.anon(), g.clone()] {
            let r = api.send(
                Method::OPTIONS,
                p,
                &[("origin", "http://example.com")],
                None,
            );
            assert_eq!(r.status, 200, "OPTIONS {p}: {}", r.text);
            assert_cors(&r);
        }
    }
}

/// 10,000 levels of nesting are rejected (not a stack overflow) and the server keeps serving.
#[test]
fn deeply_nested_json_is_rejected_without_crashing() {
    let s = Server::start();
    let g = s.guest();
    let depth = 10_000;
    let arrays = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let objects = format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth));
    for nested in [&arrays, &objects] {
        let body = format!(r#"{{"parameters":[{{"key":"deep","value":{nested}}}]}}"#);
        for p in ["actions/a", "packages/p", "triggers/t", "rules/r"] {
            let r = g.put_raw(&format!("{NS}/{p}"), body.clone());
            assert_eq!(r.status, 400, "{p}: {}", r.status);
            r.assert_error_shape();
        }
        let r = g.put_raw(&format!("{NS}/rules/r"), nested.clone());
        assert_eq!(r.status, 400);
        let r = g.post(&format!("{NS}/rules/r"), &json!({})); // rule missing; still alive
        assert_eq!(r.status, 400);
        let r = g.send(
            Method::POST,
            &format!("{NS}/rules/r"),
            &[("content-type", "application/json")],
            Some(nested.clone().into_bytes()),
        );
        assert_eq!(r.status, 400);
    }
    assert_eq!(s.anon().get("/ping").text, "pong");
    g.get(&format!("{NS}/triggers")).ok();
}

#[test]
fn create_without_overwrite_conflicts() {
    let s = Server::start();
    let g = s.guest();
    create_action(&g, "a");
    g.put(&format!("{NS}/packages/p"), &json!({})).ok();
    create_action(&g, "p/a");
    g.put(&format!("{NS}/triggers/t"), &json!({})).ok();
    g.put(
        &format!("{NS}/rules/r"),
        &json!({"trigger": "/_/t", "action": "/_/a"}),
    )
    .ok();
    for (p, body) in [
        ("actions/a", node_action("y")),
        ("actions/p/a", node_action("y")),
        ("packages/p", json!({})),
        ("triggers/t", json!({})),
        ("rules/r", json!({"trigger": "/_/t", "action": "/_/a"})),
    ] {
        g.put(&format!("{NS}/{p}"), &body)
            .assert_error(409, "resource already exists");
        g.put(&format!("{NS}/{p}?overwrite=false"), &body)
            .assert_error(409, "resource already exists");
        let updated = g.put(&format!("{NS}/{p}?overwrite=true"), &body).ok();
        assert_eq!(updated["version"], "0.0.2", "{p}");
    }
    // Names are shared across collections: same name, other collection.
    let mismatch = "Resource by this name exists but is not in this collection.";
    g.put(&format!("{NS}/triggers/a"), &json!({}))
        .assert_error(409, mismatch);
    g.put(&format!("{NS}/triggers/a?overwrite=true"), &json!({}))
        .assert_error(409, mismatch);
    g.put(&format!("{NS}/actions/t"), &node_action("x"))
        .assert_error(409, mismatch);
    g.get(&format!("{NS}/actions/t"))
        .assert_error(409, mismatch);
    g.get(&format!("{NS}/packages/a"))
        .assert_error(409, mismatch);
    g.get(&format!("{NS}/rules/t")).assert_error(409, mismatch);
    g.delete(&format!("{NS}/triggers/r"))
        .assert_error(409, mismatch);
    g.get(&format!("{NS}/triggers/t")).ok();
}

#[test]
fn put_and_delete_return_the_entity_and_delete_removes_it() {
    let s = Server::start();
    let g = s.guest();
    let a = create_action(&g, "a");
    assert_eq!(a["name"], "a");
    assert_eq!(a["namespace"], "guest");
    assert_eq!(a["version"], "0.0.1");
    assert_eq!(a["publish"], false);
    assert!(a["updated"].is_i64());
    assert_eq!(a["exec"]["code"], "function main(p) { return p }");
    let t = g
        .put(
            &format!("{NS}/triggers/t"),
            &json!({"parameters": [{"key": "k", "value": 1}]}),
        )
        .ok();
    let r = g
        .put(
            &format!("{NS}/rules/r"),
            &json!({"trigger": "/_/t", "action": "/_/a"}),
        )
        .ok();
    let p = g
        .put(&format!("{NS}/packages/p"), &json!({"publish": true}))
        .ok();

    let gone = "The requested resource does not exist.";
    let deleted = g.delete(&format!("{NS}/rules/r")).ok();
    assert_eq!(deleted["name"], r["name"]);
    assert_eq!(deleted["trigger"], r["trigger"]);
    g.get(&format!("{NS}/rules/r")).assert_error(404, gone);
    let deleted = g.delete(&format!("{NS}/actions/a")).ok();
    assert_eq!(deleted, a);
    g.get(&format!("{NS}/actions/a")).assert_error(404, gone);
    let deleted = g.delete(&format!("{NS}/triggers/t")).ok();
    assert_eq!(deleted, t);
    g.get(&format!("{NS}/triggers/t")).assert_error(404, gone);
    let deleted = g.delete(&format!("{NS}/packages/p")).ok();
    assert_eq!(deleted, p);
    g.get(&format!("{NS}/packages/p")).assert_error(404, gone);
    for p in [
        "actions/a",
        "actions/p/a",
        "triggers/t",
        "rules/r",
        "packages/p",
    ] {
        g.delete(&format!("{NS}/{p}")).assert_error(404, gone);
    }
}

fn wait_for_next_millisecond(after: i64) {
    eventually(
        || {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis() as i64;
            now > after
        },
        "the clock moves on",
    );
}

#[test]
fn updates_bump_the_patch_version_and_the_timestamp() {
    let s = Server::start();
    let g = s.guest();
    let rule = json!({"trigger": "/_/t", "action": "/_/a"});
    let bodies = [
        ("actions/a", node_action("x")),
        ("packages/p", json!({})),
        ("triggers/t", json!({})),
        ("rules/r", rule.clone()),
    ];
    for (p, body) in &bodies {
        let mut last = g.put(&format!("{NS}/{p}"), body).ok();
        assert_eq!(last["version"], "0.0.1");
        for expected in ["0.0.2", "0.0.3"] {
            wait_for_next_millisecond(last["updated"].as_i64().unwrap());
            let next = g.put(&format!("{NS}/{p}?overwrite=true"), body).ok();
            assert_eq!(next["version"], expected, "{p}");
            assert!(
                next["updated"].as_i64() > last["updated"].as_i64(),
                "{p}: updated moves"
            );
            assert_eq!(g.get(&format!("{NS}/{p}")).ok()["version"], expected);
            last = next;
        }
        // An explicit version wins.
        let mut b = body.clone();
        b["version"] = json!("1.2.3");
        assert_eq!(
            g.put(&format!("{NS}/{p}?overwrite=true"), &b).ok()["version"],
            "1.2.3"
        );
        assert_eq!(
            g.put(&format!("{NS}/{p}?overwrite=true"), body).ok()["version"],
            "1.2.4"
        );
    }
    // Body namespace/name are ignored.
    let r = g
        .put(
            &format!("{NS}/triggers/t2"),
            &json!({"namespace": "other", "name": "zzz"}),
        )
        .ok();
    assert_eq!(
        (r["namespace"].as_str(), r["name"].as_str()),
        (Some("guest"), Some("t2"))
    );
}

#[test]
fn lists_are_most_recently_updated_first() {
    let s = Server::start();
    let g = s.guest();
    let mut last = 0;
    let mut step = |p: &str, body: &Value| {
        wait_for_next_millisecond(last);
        last = g.put(&format!("{NS}/{p}"), body).ok()["updated"]
            .as_i64()
            .unwrap();
    };
    create_action(&g, "seed");
    for n in ["a", "b", "c"] {
        step(&format!("actions/{n}"), &node_action("x"));
        step(&format!("packages/p{n}"), &json!({}));
        step(&format!("triggers/t{n}"), &json!({}));
        step(
            &format!("rules/r{n}"),
            &json!({"trigger": format!("/_/t{n}"), "action": "/_/seed"}),
        );
    }
    step("actions/a?overwrite=true", &node_action("y"));
    step("packages/pa?overwrite=true", &json!({}));
    step("triggers/ta?overwrite=true", &json!({}));
    step("rules/ra?overwrite=true", &json!({}));
    assert_eq!(
        names(&g.get(&format!("{NS}/actions")).ok()),
        ["a", "c", "b", "seed"]
    );
    assert_eq!(
        names(&g.get(&format!("{NS}/packages")).ok()),
        ["pa", "pc", "pb"]
    );
    assert_eq!(
        names(&g.get(&format!("{NS}/triggers")).ok()),
        ["ta", "tc", "tb"]
    );
    assert_eq!(
        names(&g.get(&format!("{NS}/rules")).ok()),
        ["ra", "rc", "rb"]
    );
}

#[test]
fn list_limit_skip_and_count() {
    let s = Server::start();
    let g = s.guest();
    for i in 0..32 {
        g.put(&format!("{NS}/triggers/t{i:02}"), &json!({})).ok();
    }
    let all = |q: &str| {
        g.get(&format!("{NS}/triggers{q}"))
            .ok()
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(all(""), 30, "default limit 30");
    assert_eq!(all("?limit=0"), 32, "limit=0 means the maximum");
    assert_eq!(all("?limit=200"), 32);
    assert_eq!(all("?limit=5"), 5);
    assert_eq!(all("?skip=30"), 2);
    assert_eq!(all("?skip=40"), 0);
    let full = names(&g.get(&format!("{NS}/triggers?limit=0")).ok());
    let page = names(&g.get(&format!("{NS}/triggers?skip=3&limit=4")).ok());
    assert_eq!(page, full[3..7]);
    assert_eq!(
        g.get(&format!("{NS}/triggers?count=true")).ok(),
        json!({"triggers": 32})
    );
    assert_eq!(
        g.get(&format!("{NS}/triggers?count=true&limit=1&skip=5"))
            .ok(),
        json!({"triggers": 32})
    );
    // Trailing slash is the same collection.
    assert_eq!(
        g.get(&format!("{NS}/triggers/?count=true")).ok(),
        json!({"triggers": 32})
    );

    for coll in ["actions", "packages", "triggers", "rules", "activations"] {
        g.get(&format!("{NS}/{coll}?limit=201")).assert_error(
            400,
            &format!("The value '201' is not in the range of 0 to 200 for {coll}."),
        );
        g.get(&format!("{NS}/{coll}?limit=-1")).assert_error(
            400,
            &format!("The value '-1' is not in the range of 0 to 200 for {coll}."),
        );
        for bad in ["-1", "x"] {
            let r = g.get(&format!("{NS}/{coll}?skip={bad}"));
            assert_eq!(r.status, 400, "{coll} skip={bad}: {}", r.text);
            r.assert_error_shape();
        }
        let r = g.get(&format!("{NS}/{coll}?limit=abc"));
        assert_eq!(r.status, 400);
        r.assert_error_shape();
        assert!(g.get(&format!("{NS}/{coll}?count=true")).ok()[coll].is_u64());
        g.get(&format!("{NS}/{coll}?limit=200&skip=0")).ok();
    }
}
