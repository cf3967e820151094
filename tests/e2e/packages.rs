//! Packages and bindings (spec §1.4).

use serde_json::{json, Value};

use crate::support::*;

fn pkg(g: &Api, name: &str, body: &Value) -> Value {
    g.put(&format!("{NS}/packages/{name}"), body).ok()
}

fn params_obj(v: &Value) -> Value {
    Value::Object(
        v.as_array()
            .unwrap()
            .iter()
            .map(|e| (e["key"].as_str().unwrap().to_string(), e["value"].clone()))
            .collect(),
    )
}

#[test]
fn package_crud() {
    let s = Server::start();
    let g = s.guest();
    let p = pkg(
        &g,
        "p",
        &json!({"parameters": [{"key": "a", "value": 1}], "annotations": [{"key": "description", "value": "d"}]}),
    );
    assert_eq!(p["namespace"], "guest");
    assert_eq!(p["name"], "p");
    assert_eq!(p["version"], "0.0.1");
    assert_eq!(p["publish"], false);
    assert_eq!(p["binding"], json!({}));
    assert_eq!(p["parameters"], json!([{"key": "a", "value": 1}]));
    assert_eq!(
        p["annotations"],
        json!([{"key": "description", "value": "d"}])
    );
    let got = g.get(&format!("{NS}/packages/p")).ok();
    assert_eq!(got["actions"], json!([]));
    assert_eq!(got["feeds"], json!([]));
    assert_eq!(got["binding"], json!({}));
    assert_eq!(got["parameters"], p["parameters"]);
    // Update keeps what is not given.
    let u = g
        .put(
            &format!("{NS}/packages/p?overwrite=true"),
            &json!({"publish": true}),
        )
        .ok();
    assert_eq!(u["publish"], true);
    assert_eq!(u["parameters"], p["parameters"]);
    assert_eq!(u["annotations"], p["annotations"]);
    assert_eq!(u["version"], "0.0.2");
    // List summaries: `binding: false` for real packages.
    let list = g.get(&format!("{NS}/packages")).ok();
    assert_eq!(list.as_array().unwrap().len(), 1);
    let e = &list[0];
    let mut keys: Vec<&str> = e.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "annotations",
            "binding",
            "name",
            "namespace",
            "publish",
            "updated",
            "version"
        ]
    );
    assert_eq!(e["binding"], false);
    assert_eq!(
        g.get(&format!("{NS}/packages?count=true")).ok(),
        json!({"packages": 1})
    );
    assert_eq!(g.delete(&format!("{NS}/packages/p")).ok()["name"], "p");
    assert_eq!(g.get(&format!("{NS}/packages")).ok(), json!([]));
}

#[test]
fn default_is_a_reserved_package_name() {
    let s = Server::start();
    let g = s.guest();
    g.put(&format!("{NS}/packages/default"), &json!({}))
        .assert_error(400, "Package name 'default' is reserved.");
    g.put(&format!("{NS}/packages/default?overwrite=true"), &json!({}))
        .assert_error(400, "Package name 'default' is reserved.");
}

#[test]
fn bindings() {
    let s = Server::start();
    let g = s.guest();
    pkg(
        &g,
        "p",
        &json!({"parameters": [{"key": "x", "value": "pkg"}, {"key": "y", "value": "pkg"}]}),
    );
    g.put(&format!("{NS}/actions/p/act"), &node_action("x"))
        .ok();
    g.put(
        &format!("{NS}/actions/p/feed"),
        &json!({"exec": {"kind": "nodejs:default", "code": "x"}, "annotations": [{"key": "feed", "value": true}]}),
    )
    .ok();
    create_action(&g, "loose");

    let b = pkg(
        &g,
        "b",
        &json!({"binding": {"namespace": "_", "name": "p"}, "parameters": [{"key": "y", "value": "binding"}]}),
    );
    assert_eq!(b["binding"], json!({"namespace": "guest", "name": "p"}));
    assert_eq!(
        kv(&b["annotations"], "binding"),
        Some(&json!({"namespace": "guest", "name": "p"}))
    );
    assert_eq!(
        b["parameters"],
        json!([{"key": "y", "value": "binding"}]),
        "stored params are the binding's own"
    );
    // GET merges parameters and shows the bound package's contents under the binding's name.
    let got = g.get(&format!("{NS}/packages/b")).ok();
    assert_eq!(got["name"], "b");
    assert_eq!(got["namespace"], "guest");
    assert_eq!(
        params_obj(&got["parameters"]),
        json!({"x": "pkg", "y": "binding"})
    );
    assert_eq!(names(&got["actions"]), ["act"]);
    assert_eq!(names(&got["feeds"]), ["feed"]);
    assert_eq!(
        kv(&got["feeds"][0]["annotations"], "feed"),
        Some(&json!(true))
    );
    for item in got["actions"]
        .as_array()
        .unwrap()
        .iter()
        .chain(got["feeds"].as_array().unwrap())
    {
        let mut keys: Vec<&str> = item
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(keys, ["annotations", "name", "version"]);
    }
    // The package itself partitions the same way.
    let real = g.get(&format!("{NS}/packages/p")).ok();
    assert_eq!(names(&real["actions"]), ["act"]);
    assert_eq!(names(&real["feeds"]), ["feed"]);
    // The list shows the binding reference.
    let list = g.get(&format!("{NS}/packages")).ok();
    let listed = list
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "b")
        .unwrap();
    assert_eq!(
        listed["binding"],
        json!({"namespace": "guest", "name": "p"})
    );
    let listed = list
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "p")
        .unwrap();
    assert_eq!(listed["binding"], false);

    // Errors.
    g.put(
        &format!("{NS}/packages/b2"),
        &json!({"binding": {"namespace": "_", "name": "nope"}}),
    )
    .assert_error(400, "Binding references a package that does not exist.");
    g.put(
        &format!("{NS}/packages/b2"),
        &json!({"binding": {"namespace": "guest", "name": "b"}}),
    )
    .assert_error(400, "Cannot bind to another package binding.");
    g.put(
        &format!("{NS}/packages/b2"),
        &json!({"binding": {"namespace": "_", "name": "loose"}}),
    )
    .assert_error(409, "Cannot bind to a resource that is not a package.");
    g.put(
        &format!("{NS}/packages/p?overwrite=true"),
        &json!({"binding": {"namespace": "_", "name": "b"}}),
    )
    .assert_error(
        409,
        "Resource is a package and cannot be converted into a binding.",
    );
    pkg(&g, "q", &json!({}));
    g.put(
        &format!("{NS}/packages/p?overwrite=true"),
        &json!({"binding": {"namespace": "_", "name": "q"}}),
    )
    .assert_error(
        409,
        "Resource is a package and cannot be converted into a binding.",
    );
    g.get(&format!("{NS}/packages/b2"))
        .assert_error(404, "The requested resource does not exist.");
    // A binding can be re-pointed.
    let moved = g
        .put(
            &format!("{NS}/packages/b?overwrite=true"),
            &json!({"binding": {"namespace": "guest", "name": "q"}}),
        )
        .ok();
    assert_eq!(moved["binding"], json!({"namespace": "guest", "name": "q"}));
    assert_eq!(
        kv(&moved["annotations"], "binding"),
        Some(&json!({"namespace": "guest", "name": "q"}))
    );
    assert_eq!(
        g.get(&format!("{NS}/packages/b")).ok()["actions"],
        json!([])
    );
    // Deleting a binding leaves the package's actions alone.
    g.delete(&format!("{NS}/packages/b")).ok();
    assert_eq!(names(&g.get(&format!("{NS}/actions/p/")).ok()).len(), 2);
}

#[test]
fn delete_non_empty_package_needs_force() {
    let s = Server::start();
    let g = s.guest();
    pkg(&g, "p", &json!({}));
    create_action(&g, "p/a");
    g.delete(&format!("{NS}/packages/p")).assert_error(
        409,
        "Package not empty (contains 1 entity). Set force param or delete package contents.",
    );
    create_action(&g, "p/b");
    g.delete(&format!("{NS}/packages/p?force=false"))
        .assert_error(
            409,
            "Package not empty (contains 2 entities). Set force param or delete package contents.",
        );
    assert_eq!(g.get(&format!("{NS}/packages/p")).ok()["name"], "p");
    let deleted = g.delete(&format!("{NS}/packages/p?force=true")).ok();
    assert_eq!(deleted["name"], "p");
    g.get(&format!("{NS}/packages/p"))
        .assert_error(404, "The requested resource does not exist.");
    g.get(&format!("{NS}/actions/p/a"))
        .assert_error(404, "The requested resource does not exist.");
    assert_eq!(
        g.get(&format!("{NS}/actions?count=true")).ok(),
        json!({"actions": 0})
    );
    // The name is free again, and empty.
    pkg(&g, "p", &json!({}));
    assert_eq!(g.get(&format!("{NS}/actions/p/")).ok(), json!([]));
}

#[test]
fn published_packages_are_readable_across_namespaces() {
    let s = Server::start();
    let g = s.guest();
    let alice = s.api(Some(&s.create_namespace("alice")));
    pkg(
        &g,
        "pub",
        &json!({"publish": true, "parameters": [{"key": "k", "value": "pub"}]}),
    );
    pkg(&g, "priv", &json!({}));
    pkg(
        &g,
        "pubbinding",
        &json!({"publish": true, "binding": {"namespace": "_", "name": "pub"}}),
    );
    g.put(&format!("{NS}/actions/pub/hello"), &node_action("x"))
        .ok();
    g.put(&format!("{NS}/actions/priv/secret"), &node_action("x"))
        .ok();

    // The list of another namespace: public, non-binding packages only.
    let list = alice.get("/api/v1/namespaces/guest/packages").ok();
    assert_eq!(names(&list), ["pub"]);
    assert_eq!(
        alice
            .get("/api/v1/namespaces/guest/packages?count=true")
            .ok(),
        json!({"packages": 1})
    );
    // Guest sees all three.
    assert_eq!(
        g.get(&format!("{NS}/packages?count=true")).ok(),
        json!({"packages": 3})
    );

    let got = alice.get("/api/v1/namespaces/guest/packages/pub").ok();
    assert_eq!(got["namespace"], "guest");
    assert_eq!(names(&got["actions"]), ["hello"]);
    let a = alice.get("/api/v1/namespaces/guest/actions/pub/hello").ok();
    assert_eq!(a["name"], "hello");
    assert_eq!(params_obj(&a["parameters"]), json!({"k": "pub"}));
    assert_eq!(
        names(&alice.get("/api/v1/namespaces/guest/actions/pub/").ok()),
        ["hello"]
    );

    let forbidden =
        |r: &str| format!("The supplied authentication is not authorized to access '{r}'.");
    alice
        .get("/api/v1/namespaces/guest/packages/priv")
        .assert_error(403, &forbidden("guest/priv"));
    alice
        .get("/api/v1/namespaces/guest/actions/priv/secret")
        .assert_error(403, &forbidden("guest/priv"));
    alice
        .get("/api/v1/namespaces/guest/actions/priv/")
        .assert_error(403, &forbidden("guest/priv"));
    // Read-only: no writes into a published package.
    alice
        .put(
            "/api/v1/namespaces/guest/actions/pub/mine",
            &node_action("x"),
        )
        .assert_error(403, &forbidden("guest/pub/mine"));
    alice
        .put(
            "/api/v1/namespaces/guest/packages/pub?overwrite=true",
            &json!({}),
        )
        .assert_error(403, &forbidden("guest/pub"));
    alice
        .delete("/api/v1/namespaces/guest/packages/pub")
        .assert_error(403, &forbidden("guest/pub"));

    // Alice can bind to the public package but not to the private one.
    let b = alice
        .put(
            &format!("{NS}/packages/mine"),
            &json!({"binding": {"namespace": "guest", "name": "pub"}, "parameters": [{"key": "k", "value": "alice"}]}),
        )
        .ok();
    assert_eq!(b["binding"], json!({"namespace": "guest", "name": "pub"}));
    let through = alice.get(&format!("{NS}/actions/mine/hello")).ok();
    assert_eq!(params_obj(&through["parameters"]), json!({"k": "alice"}));
    assert_eq!(
        names(&alice.get(&format!("{NS}/packages/mine")).ok()["actions"]),
        ["hello"]
    );
    alice
        .put(
            &format!("{NS}/packages/mine2"),
            &json!({"binding": {"namespace": "guest", "name": "priv"}}),
        )
        .assert_error(403, &forbidden("guest/priv"));
    // Unpublishing cuts the binding off.
    g.put(
        &format!("{NS}/packages/pub?overwrite=true"),
        &json!({"publish": false}),
    )
    .ok();
    assert_eq!(
        alice.get("/api/v1/namespaces/guest/packages").ok(),
        json!([])
    );
    alice
        .get(&format!("{NS}/packages/mine"))
        .assert_error(403, &forbidden("guest/pub"));
    alice
        .get(&format!("{NS}/actions/mine/hello"))
        .assert_error(403, &forbidden("guest/pub"));
}
