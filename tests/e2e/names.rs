//! Entity and namespace name rules in URLs (spec §1.1, §2.1).

use serde_json::json;

use crate::support::*;

const ILLEGAL: &str = "The name of the entity contains illegal characters.";

fn body_for(coll: &str) -> serde_json::Value {
    match coll {
        "actions" => node_action("x"),
        "rules" => json!({"trigger": "/_/t", "action": "/_/a"}),
        _ => json!({}),
    }
}

#[test]
fn illegal_names_are_rejected_in_every_collection() {
    let s = Server::start();
    let g = s.guest();
    create_action(&g, "a");
    g.put(&format!("{NS}/triggers/t"), &json!({})).ok();
    for coll in ["actions", "packages", "triggers", "rules"] {
        for bad in [
            "a%2Fb",
            "a%01b",
            "%00",
            "trailing%20",
            "%20leading",
            "-dash",
            "a%7Cb",
            "a%22b",
            "caf%C3%A9",
        ] {
            let p = format!("{NS}/{coll}/{bad}");
            g.get(&p).assert_error(400, ILLEGAL);
            g.put(&format!("{p}?overwrite=true"), &body_for(coll))
                .assert_error(400, ILLEGAL);
            g.delete(&p).assert_error(400, ILLEGAL);
        }
    }
    // A package segment is checked too.
    g.put(&format!("{NS}/actions/a%2Fb/x"), &node_action("x"))
        .assert_error(400, ILLEGAL);
    g.get(&format!("{NS}/actions/bad%01pkg/x"))
        .assert_error(400, ILLEGAL);
    // Nothing was created.
    let count = |c: &str| {
        g.get(&format!("{NS}/{c}?count=true")).ok()[c]
            .as_u64()
            .unwrap()
    };
    assert_eq!(
        (
            count("actions"),
            count("packages"),
            count("triggers"),
            count("rules")
        ),
        (1, 0, 1, 0)
    );
}

/// `..` and `.` as a raw path segment (clients normalise them away, so send raw bytes).
#[test]
fn dot_segments_are_rejected() {
    let s = Server::start();
    for coll in ["actions", "packages", "triggers", "rules"] {
        for seg in ["..", "."] {
            let r = s.raw_guest(
                "GET",
                &format!("/api/v1/namespaces/_/{coll}/{seg}"),
                &[],
                b"",
            );
            assert_eq!(r.status, 400, "{coll}/{seg}: {}", r.text);
            assert_eq!(r.error(), ILLEGAL);
            r.assert_error_shape();
            let r = s.raw_guest(
                "PUT",
                &format!("/api/v1/namespaces/_/{coll}/{seg}"),
                &["Content-Type: application/json", "Content-Length: 2"],
                b"{}",
            );
            assert_eq!(r.status, 400, "PUT {coll}/{seg}: {}", r.text);
        }
    }
    // Dot segments never reach another entity.
    create_action(&s.guest(), "x");
    for p in [
        "/api/v1/namespaces/_/actions/../actions/x",
        "/api/v1/namespaces/_/actions/./x",
    ] {
        let r = s.raw_guest("GET", p, &[], b"");
        assert!(
            r.status == 400 || r.status == 404,
            "{p}: {} {}",
            r.status,
            r.text
        );
        r.assert_error_shape();
    }
}

#[test]
fn name_length_limit_is_256() {
    let s = Server::start();
    let g = s.guest();
    let long = "a".repeat(257);
    let msg = "Name segement longer than allowed: 257 > 256.";
    for (coll, c) in [
        ("triggers", "a"),
        ("packages", "b"),
        ("actions", "c"),
        ("rules", "d"),
    ] {
        if coll == "rules" {
            create_action(&g, "act");
            g.put(&format!("{NS}/triggers/t"), &json!({})).ok();
        }
        let ok = c.repeat(256);
        let body = if coll == "rules" {
            json!({"trigger": "/_/t", "action": "/_/act"})
        } else {
            body_for(coll)
        };
        let created = g.put(&format!("{NS}/{coll}/{ok}"), &body).ok();
        assert_eq!(created["name"], ok.as_str());
        assert_eq!(
            g.get(&format!("{NS}/{coll}/{ok}")).ok()["name"],
            ok.as_str()
        );
        g.put(&format!("{NS}/{coll}/{long}"), &body)
            .assert_error(400, msg);
        g.get(&format!("{NS}/{coll}/{long}")).assert_error(400, msg);
        g.delete(&format!("{NS}/{coll}/{long}"))
            .assert_error(400, msg);
    }
    g.put(&format!("{NS}/rules/{long}"), &body_for("rules"))
        .assert_error(400, msg);
    // In a package path, and as a namespace.
    g.put(&format!("{NS}/packages/pkg"), &json!({})).ok();
    let r = g
        .put(
            &format!("{NS}/actions/pkg/{}", "e".repeat(256)),
            &node_action("x"),
        )
        .ok();
    assert_eq!(r["namespace"], "guest/pkg");
    g.put(&format!("{NS}/actions/pkg/{long}"), &node_action("x"))
        .assert_error(400, msg);
    g.get(&format!("/api/v1/namespaces/{long}/actions"))
        .assert_error(400, msg);
}

#[test]
fn spaces_ampersands_and_friends_are_allowed() {
    let s = Server::start();
    let g = s.guest();
    for (enc, name) in [
        ("a%20b%26c", "a b&c"),
        ("x@y.z-w_1", "x@y.z-w_1"),
        ("Q", "Q"),
        ("_", "_"),
        ("9lives", "9lives"),
        ("end.", "end."),
        ("a&", "a&"),
    ] {
        let r = g.put(&format!("{NS}/triggers/{enc}"), &json!({})).ok();
        assert_eq!(r["name"], name);
        assert_eq!(g.get(&format!("{NS}/triggers/{enc}")).ok()["name"], name);
    }
    let a = g
        .put(&format!("{NS}/actions/hello%20world"), &node_action("x"))
        .ok();
    assert_eq!(a["name"], "hello world");
    let list = g.get(&format!("{NS}/triggers?limit=0")).ok();
    assert!(names(&list).contains(&"a b&c".to_string()));
    g.delete(&format!("{NS}/triggers/a%20b%26c")).ok();
}

#[test]
fn illegal_namespaces_are_rejected() {
    let s = Server::start();
    let g = s.guest();
    for ns in ["-x", "a%2Fb", "a%01", "%20x"] {
        for coll in ["actions", "packages", "triggers", "rules", "activations"] {
            let r = g.get(&format!("/api/v1/namespaces/{ns}/{coll}"));
            r.assert_error(400, "The namespace contains illegal characters.");
        }
        g.get(&format!("/api/v1/namespaces/{ns}/limits"))
            .assert_error(400, "The namespace contains illegal characters.");
    }
}
