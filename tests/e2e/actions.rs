//! Actions (spec §1.3): exec kinds, annotations, packages and bindings, lists.

use base64::Engine;
use serde_json::{json, Value};

use crate::support::*;

fn put(g: &Api, path: &str, body: &Value) -> Value {
    g.put(&format!("{NS}/actions/{path}"), body).ok()
}

#[test]
fn nodejs_action_round_trip() {
    let s = Server::start();
    let g = s.guest();
    let node = s.default_kind("nodejs");
    assert!(node.starts_with("nodejs:"), "{node}");
    let code = "function main(params) {\n  return {payload: 'Hello ' + params.name};\n}\n";
    let a = put(
        &g,
        "hello",
        &json!({
            "exec": {"kind": "nodejs:default", "code": code, "main": "main"},
            "parameters": [{"key": "name", "value": "World"}, {"key": "secret", "value": "s", "init": true}],
            "annotations": [{"key": "description", "value": "says hello"}],
        }),
    );
    assert_eq!(a["namespace"], "guest");
    assert_eq!(a["name"], "hello");
    assert_eq!(a["version"], "0.0.1");
    assert_eq!(a["publish"], false);
    assert_eq!(
        a["exec"],
        json!({"kind": node, "code": code, "binary": false, "main": "main"})
    );
    assert_eq!(
        a["parameters"],
        json!([{"key": "name", "value": "World"}, {"key": "secret", "value": "s", "init": true}])
    );
    assert_eq!(kv(&a["annotations"], "exec"), Some(&json!(node)));
    assert_eq!(
        kv(&a["annotations"], "provide-api-key"),
        Some(&json!(false))
    );
    assert_eq!(
        kv(&a["annotations"], "description"),
        Some(&json!("says hello"))
    );
    assert_eq!(a["limits"]["memory"], 256);
    let got = g.get(&format!("{NS}/actions/hello")).ok();
    assert_eq!(got, a);
    let got = g.get(&format!("{NS}/actions/hello?code=true")).ok();
    assert_eq!(got, a);
    // The concrete kind is accepted as is.
    let explicit = put(
        &g,
        "explicit",
        &json!({"exec": {"kind": node, "code": "x"}}),
    );
    assert_eq!(explicit["exec"]["kind"], node.as_str());
}

#[test]
fn python_kinds_resolve_to_the_concrete_kind() {
    let s = Server::start();
    let g = s.guest();
    let py = s.default_kind("python");
    assert!(py.starts_with("python:3."), "{py}");
    for (i, kind) in ["python:3", "python:default", py.as_str()]
        .iter()
        .enumerate()
    {
        let a = put(
            &g,
            &format!("py{i}"),
            &json!({"exec": {"kind": kind, "code": "def main(a):\n  return a\n"}}),
        );
        assert_eq!(a["exec"]["kind"], py.as_str(), "{kind}");
        assert_eq!(kv(&a["annotations"], "exec"), Some(&json!(py)));
        assert_eq!(
            g.get(&format!("{NS}/actions/py{i}")).ok()["exec"]["kind"],
            py.as_str()
        );
    }
}

#[test]
fn unknown_kinds_are_rejected_with_the_valid_list() {
    let s = Server::start();
    let g = s.guest();
    let valid = format!(
        "{}, {}, blackbox, sequence",
        s.default_kind("nodejs"),
        s.default_kind("python")
    );
    for kind in [
        "cobol:1",
        "nodejs:6",
        "python:2",
        "java:default",
        "",
        "NODEJS:20",
        "nodejs:20 ",
    ] {
        let r = g.put(
            &format!("{NS}/actions/a"),
            &json!({"exec": {"kind": kind, "code": "x"}}),
        );
        r.assert_error(
            400,
            &format!(
                "The specified runtime '{kind}' is not supported by this platform. Valid values are: {valid}."
            ),
        );
    }
    // Also on update.
    create_action(&g, "b");
    let r = g.put(
        &format!("{NS}/actions/b?overwrite=true"),
        &json!({"exec": {"kind": "cobol:1", "code": "x"}}),
    );
    assert_eq!(r.status, 400);
    assert!(r
        .error()
        .starts_with("The specified runtime 'cobol:1' is not supported"));
    assert_eq!(g.get(&format!("{NS}/actions/b")).ok()["version"], "0.0.1");
}

#[test]
fn exec_is_required_on_create_only() {
    let s = Server::start();
    let g = s.guest();
    g.put(&format!("{NS}/actions/a"), &json!({}))
        .assert_error(400, "exec undefined");
    g.put(
        &format!("{NS}/actions/a"),
        &json!({"parameters": [{"key": "x", "value": 1}]}),
    )
    .assert_error(400, "exec undefined");
    g.put(&format!("{NS}/actions/a?overwrite=true"), &json!({}))
        .assert_error(400, "exec undefined");
    // Kind-specific requirements.
    let r = g.put(
        &format!("{NS}/actions/a"),
        &json!({"exec": {"kind": "nodejs:default"}}),
    );
    assert_eq!(r.status, 400, "code missing: {}", r.text);
    r.assert_error_shape();
    let r = g.put(
        &format!("{NS}/actions/a"),
        &json!({"exec": {"kind": "blackbox"}}),
    );
    assert_eq!(r.status, 400, "image missing: {}", r.text);
    r.assert_error_shape();
    let r = g.put(&format!("{NS}/actions/a"), &json!({"exec": {"code": "x"}}));
    assert_eq!(r.status, 400, "kind missing: {}", r.text);
    // Update without exec keeps the code.
    create_action(&g, "a");
    let a = g
        .put(
            &format!("{NS}/actions/a?overwrite=true"),
            &json!({"parameters": [{"key": "x", "value": 1}]}),
        )
        .ok();
    assert_eq!(a["exec"]["code"], "function main(p) { return p }");
    assert_eq!(a["parameters"], json!([{"key": "x", "value": 1}]));
    assert_eq!(a["version"], "0.0.2");
}

#[test]
fn blackbox_and_native_actions() {
    let s = Server::start();
    let g = s.guest();
    let a = put(
        &g,
        "docker",
        &json!({"exec": {"kind": "blackbox", "image": "openwhisk/example"}}),
    );
    assert_eq!(a["exec"]["kind"], "blackbox");
    assert_eq!(a["exec"]["image"], "openwhisk/example");
    assert!(a["exec"].get("code").is_none());
    assert_eq!(kv(&a["annotations"], "exec"), Some(&json!("blackbox")));

    // `wsk action create --native`: the skeleton image plus a base64 zip.
    let zip: &[u8] =
        b"PK\x03\x04\x14\x00\x00\x00\x08\x00exec\x00#!/bin/bash\necho '{\"ok\":true}'\n";
    let code = base64::engine::general_purpose::STANDARD.encode(zip);
    let a = put(
        &g,
        "native",
        &json!({"exec": {"kind": "blackbox", "image": "openwhisk/dockerskeleton", "code": code}}),
    );
    assert_eq!(a["exec"]["image"], "openwhisk/dockerskeleton");
    assert_eq!(a["exec"]["binary"], true);
    assert_eq!(a["exec"]["code"], code.as_str());
    let back = g.get(&format!("{NS}/actions/native")).ok();
    assert_eq!(back["exec"]["code"], code.as_str());
    assert_eq!(back["exec"]["binary"], true);
    let meta = g.get(&format!("{NS}/actions/native?code=false")).ok();
    assert_eq!(
        meta["exec"],
        json!({"kind": "blackbox", "image": "openwhisk/dockerskeleton", "binary": true})
    );
    // Binary nodejs code (a zip) too.
    let a = put(
        &g,
        "zipped",
        &json!({"exec": {"kind": "nodejs:default", "code": code}}),
    );
    assert_eq!(a["exec"]["binary"], true);
    assert_eq!(
        g.get(&format!("{NS}/actions"))
            .ok()
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["name"] == "zipped")
            .unwrap()["exec"],
        json!({"binary": true})
    );
}

#[test]
fn code_false_returns_metadata_only() {
    let s = Server::start();
    let g = s.guest();
    put(
        &g,
        "a",
        &json!({"exec": {"kind": "nodejs:default", "code": "function main(){}", "main": "run"}}),
    );
    let meta = g.get(&format!("{NS}/actions/a?code=false")).ok();
    assert_eq!(
        meta["exec"],
        json!({"kind": s.default_kind("nodejs"), "binary": false, "main": "run"})
    );
    assert_eq!(meta["name"], "a");
    assert!(meta["annotations"].is_array());
    assert!(meta["limits"].is_object());
    let full = g.get(&format!("{NS}/actions/a")).ok();
    assert_eq!(full["exec"]["code"], "function main(){}");
}

#[test]
fn system_annotations_and_del_annotations() {
    let s = Server::start();
    let g = s.guest();
    // The user's `exec` annotation is overridden; a user `provide-api-key` is kept.
    let a = put(
        &g,
        "a",
        &json!({"exec": {"kind": "nodejs:default", "code": "x"}, "annotations": [
            {"key": "exec", "value": "fake"}, {"key": "provide-api-key", "value": true}, {"key": "web-export", "value": true},
            {"key": "keep", "value": 1}]}),
    );
    assert_eq!(
        kv(&a["annotations"], "exec"),
        Some(&json!(s.default_kind("nodejs")))
    );
    assert_eq!(kv(&a["annotations"], "provide-api-key"), Some(&json!(true)));
    assert_eq!(
        kv_keys(&a["annotations"])
            .iter()
            .filter(|k| *k == "exec")
            .count(),
        1
    );
    // delAnnotations removes on update; provide-api-key is only added on create.
    let a = g
        .put(
            &format!("{NS}/actions/a?overwrite=true"),
            &json!({"delAnnotations": ["web-export", "provide-api-key", "not-there"]}),
        )
        .ok();
    assert_eq!(kv(&a["annotations"], "web-export"), None);
    assert_eq!(kv(&a["annotations"], "provide-api-key"), None);
    assert_eq!(kv(&a["annotations"], "keep"), Some(&json!(1)));
    assert_eq!(
        kv(&a["annotations"], "exec"),
        Some(&json!(s.default_kind("nodejs")))
    );
    // New annotations replace the old set (system ones re-added).
    let a = g
        .put(
            &format!("{NS}/actions/a?overwrite=true"),
            &json!({"annotations": [{"key": "only", "value": "me"}]}),
        )
        .ok();
    assert_eq!(kv_keys(&a["annotations"]), ["only", "exec"]);
    assert_eq!(
        g.get(&format!("{NS}/actions/a")).ok()["annotations"],
        a["annotations"]
    );
    // delAnnotations on create.
    let b = put(
        &g,
        "b",
        &json!({"exec": {"kind": "nodejs:default", "code": "x"}, "annotations": [{"key": "x", "value": 1}], "delAnnotations": ["x"]}),
    );
    assert_eq!(kv(&b["annotations"], "x"), None);
}

#[test]
fn sequences() {
    let s = Server::start();
    let g = s.guest();
    create_action(&g, "a");
    g.put(&format!("{NS}/packages/pkg"), &json!({})).ok();
    create_action(&g, "pkg/b");
    let seq = put(
        &g,
        "seq",
        &json!({"exec": {"kind": "sequence", "components": ["a", "/_/pkg/b", "/guest/a", "pkg/b"]},
                "parameters": [{"key": "dropped", "value": true}]}),
    );
    let comps = json!(["/guest/a", "/guest/pkg/b", "/guest/a", "/guest/pkg/b"]);
    assert_eq!(seq["exec"]["kind"], "sequence");
    assert_eq!(seq["exec"]["components"], comps);
    assert_eq!(
        seq["parameters"],
        json!([{"key": "_actions", "value": comps}])
    );
    assert_eq!(kv(&seq["annotations"], "exec"), Some(&json!("sequence")));
    assert_eq!(
        g.get(&format!("{NS}/actions/seq?code=false")).ok()["exec"],
        json!({"kind": "sequence", "components": comps})
    );
    assert_eq!(
        g.get(&format!("{NS}/actions/seq")).ok()["exec"],
        json!({"kind": "sequence", "components": comps})
    );

    let seq_body = |c: Value| json!({"exec": {"kind": "sequence", "components": c}});
    g.put(&format!("{NS}/actions/s2"), &seq_body(json!([])))
        .assert_error(400, "No component specified for the sequence.");
    g.put(
        &format!("{NS}/actions/s2"),
        &json!({"exec": {"kind": "sequence"}}),
    )
    .assert_error(400, "No component specified for the sequence.");
    for missing in [
        json!(["/_/nope"]),
        json!(["a", "nope"]),
        json!(["/_/pkg/nope"]),
        json!(["/_/nopkg/a"]),
        json!(["a/b/c/d"]),
    ] {
        g.put(&format!("{NS}/actions/s2"), &seq_body(missing))
            .assert_error(400, "Sequence component does not exist.");
    }
    // Self reference on update, directly or through another sequence.
    g.put(
        &format!("{NS}/actions/seq?overwrite=true"),
        &seq_body(json!(["a", "seq"])),
    )
    .assert_error(400, "Sequence may not refer to itself.");
    put(&g, "outer", &seq_body(json!(["seq", "a"])));
    g.put(
        &format!("{NS}/actions/seq?overwrite=true"),
        &seq_body(json!(["outer"])),
    )
    .assert_error(400, "Sequence may not refer to itself.");
    // Update without exec keeps `_actions` and ignores parameters.
    let upd = g
        .put(
            &format!("{NS}/actions/seq?overwrite=true"),
            &json!({"parameters": [{"key": "p", "value": 1}]}),
        )
        .ok();
    assert_eq!(
        upd["parameters"],
        json!([{"key": "_actions", "value": comps}])
    );
    assert_eq!(upd["version"], "0.0.2");
    // A sequence of sequences is fine.
    let nested = put(&g, "nested", &seq_body(json!(["outer", "seq"])));
    assert_eq!(
        nested["exec"]["components"],
        json!(["/guest/outer", "/guest/seq"])
    );
    // Another namespace's private action may not be a component.
    let alice = s.api(Some(&s.create_namespace("alice")));
    let r = alice.put(&format!("{NS}/actions/s"), &seq_body(json!(["/guest/a"])));
    r.assert_error(
        403,
        "The supplied authentication is not authorized to access 'guest/a'.",
    );
}

#[test]
fn actions_in_packages_and_lists() {
    let s = Server::start();
    let g = s.guest();
    create_action(&g, "top");
    // The package must exist.
    g.put(&format!("{NS}/actions/nopkg/a"), &node_action("x"))
        .assert_error(404, "The requested resource does not exist.");
    g.put(&format!("{NS}/packages/pkg"), &json!({})).ok();
    let a = create_action(&g, "pkg/inner");
    assert_eq!(a["namespace"], "guest/pkg");
    assert_eq!(a["name"], "inner");
    g.put(&format!("{NS}/packages/other"), &json!({})).ok();
    create_action(&g, "other/x");

    let list = g.get(&format!("{NS}/actions")).ok();
    let mut found: Vec<(String, String)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["namespace"].as_str().unwrap().to_string(),
                e["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    found.sort();
    assert_eq!(
        found,
        [
            ("guest".into(), "top".into()),
            ("guest/other".into(), "x".into()),
            ("guest/pkg".into(), "inner".into())
        ]
    );
    for e in list.as_array().unwrap() {
        let mut keys: Vec<&str> = e.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "annotations",
                "exec",
                "limits",
                "name",
                "namespace",
                "publish",
                "updated",
                "version"
            ]
        );
        assert_eq!(e["exec"], json!({"binary": false}));
    }
    assert_eq!(
        g.get(&format!("{NS}/actions?count=true")).ok(),
        json!({"actions": 3})
    );
    // One package's actions (trailing slash).
    let in_pkg = g.get(&format!("{NS}/actions/pkg/")).ok();
    assert_eq!(names(&in_pkg), ["inner"]);
    assert_eq!(in_pkg[0]["namespace"], "guest/pkg");
    assert_eq!(
        g.get(&format!("{NS}/actions/pkg/?count=true")).ok(),
        json!({"actions": 1})
    );
    g.get(&format!("{NS}/actions/nopkg/"))
        .assert_error(404, "The requested resource does not exist.");
    // Get, update and delete inside the package.
    assert_eq!(g.get(&format!("{NS}/actions/pkg/inner")).ok(), a);
    let u = g
        .put(
            &format!("{NS}/actions/pkg/inner?overwrite=true"),
            &node_action("new"),
        )
        .ok();
    assert_eq!(u["version"], "0.0.2");
    assert_eq!(u["namespace"], "guest/pkg");
    g.get(&format!("{NS}/actions/inner"))
        .assert_error(404, "The requested resource does not exist.");
    assert_eq!(
        g.delete(&format!("{NS}/actions/pkg/inner")).ok()["name"],
        "inner"
    );
    assert_eq!(g.get(&format!("{NS}/actions/pkg/")).ok(), json!([]));
}

#[test]
fn actions_through_bindings() {
    let s = Server::start();
    let g = s.guest();
    g.put(
        &format!("{NS}/packages/pkg"),
        &json!({"parameters": [{"key": "x", "value": "pkg"}, {"key": "y", "value": "pkg"}, {"key": "z", "value": "pkg"}]}),
    )
    .ok();
    g.put(
        &format!("{NS}/actions/pkg/a"),
        &json!({"exec": {"kind": "nodejs:default", "code": "x"}, "parameters": [{"key": "z", "value": "action"}]}),
    )
    .ok();
    g.put(
        &format!("{NS}/packages/bound"),
        &json!({"binding": {"namespace": "_", "name": "pkg"},
                "parameters": [{"key": "y", "value": "binding"}, {"key": "z", "value": "binding"}]}),
    )
    .ok();
    let obj = |v: &Value| -> serde_json::Map<String, Value> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|e| (e["key"].as_str().unwrap().to_string(), e["value"].clone()))
            .collect()
    };
    let through = g.get(&format!("{NS}/actions/bound/a")).ok();
    assert_eq!(
        Value::Object(obj(&through["parameters"])),
        json!({"x": "pkg", "y": "binding", "z": "action"})
    );
    assert_eq!(
        through["namespace"], "guest/pkg",
        "the action's real location"
    );
    let direct = g.get(&format!("{NS}/actions/pkg/a")).ok();
    assert_eq!(
        Value::Object(obj(&direct["parameters"])),
        json!({"x": "pkg", "y": "pkg", "z": "action"})
    );
    // Listing through a binding lists the bound package's actions.
    let list = g.get(&format!("{NS}/actions/bound/")).ok();
    assert_eq!(names(&list), ["a"]);
    assert_eq!(list[0]["namespace"], "guest/pkg");
    // No writes under a binding.
    let msg = "Operation not permitted on package binding.";
    g.put(&format!("{NS}/actions/bound/b"), &node_action("x"))
        .assert_error(400, msg);
    g.put(
        &format!("{NS}/actions/bound/a?overwrite=true"),
        &node_action("x"),
    )
    .assert_error(400, msg);
    g.get(&format!("{NS}/actions/bound/b"))
        .assert_error(404, "The requested resource does not exist.");
    // The stored action is unchanged.
    assert_eq!(
        g.get(&format!("{NS}/actions/pkg/a")).ok()["version"],
        "0.0.1"
    );
}
