//! `package create|update|bind|get|list|delete`.

use serde_json::json;

use crate::support::{kv, row, Server};

#[test]
fn packages_and_bindings() {
    let s = Server::start();
    let w = s.wsk();
    w.write(
        "greet.js",
        "function main(p) { return {msg: p.greeting + ', ' + p.name + ' from ' + p.place} }",
    );

    let o = w.ok(&[
        "package", "create", "demo", "-p", "greeting", "Hi", "-p", "place", "Earth",
    ]);
    assert_eq!(o.stdout, "ok: created package demo\n");
    w.fails(&["package", "create", "demo"], 153);
    let o = w.ok(&["package", "get", "demo"]);
    assert!(
        o.stdout.starts_with("ok: got package demo\n{\n"),
        "{}",
        o.stdout
    );
    let p = o.json();
    assert_eq!(kv(&p["parameters"], "greeting"), Some(&json!("Hi")));
    assert_eq!(p["publish"], false);
    assert_eq!(p["actions"], json!([]));

    // Actions in the package see its parameters, under their own defaults.
    let o = w.ok(&[
        "action",
        "create",
        "demo/greet",
        "greet.js",
        "-p",
        "name",
        "Anon",
    ]);
    assert_eq!(o.stdout, "ok: created action demo/greet\n");
    let o = w.ok(&["action", "invoke", "demo/greet", "-r"]);
    assert_eq!(o.json(), json!({"msg": "Hi, Anon from Earth"}));
    let o = w.ok(&[
        "action",
        "invoke",
        "/guest/demo/greet",
        "-p",
        "name",
        "Full",
    ]);
    assert!(
        o.stdout
            .starts_with("ok: invoked /guest/demo/greet with id "),
        "{}",
        o.stdout
    );
    let kind = w.ok(&["action", "get", "demo/greet", "exec"]).json()["kind"]
        .as_str()
        .expect("kind")
        .to_string();
    let o = w.ok(&["action", "list", "demo"]);
    assert_eq!(
        o.stdout,
        format!(
            "actions\n{}\n",
            row("/guest/demo/greet", &format!("private {kind}"))
        )
    );

    // update: --shared, annotations, new parameters.
    w.write("pkg.json", r#"{"greeting": "Hello", "place": "Earth"}"#);
    let o = w.ok(&[
        "package",
        "update",
        "demo",
        "--shared",
        "yes",
        "-P",
        "pkg.json",
        "-a",
        "description",
        "A demo",
    ]);
    assert_eq!(o.stdout, "ok: updated package demo\n");
    assert_eq!(
        w.ok(&["package", "get", "demo", "publish"]).json(),
        json!(true)
    );
    let o = w.fails(&["package", "update", "demo", "--shared", "maybe"], 1);
    assert!(
        o.stderr.contains("Cannot use value 'maybe' for shared."),
        "{}",
        o.stderr
    );
    // The package lists its actions without their parameters, so none are shown for them.
    let o = w.ok(&["package", "get", "demo", "--summary"]);
    assert_eq!(
        o.stdout,
        "package /guest/demo: A demo\n   (parameters: *greeting, *place)\n \
         action /guest/demo/greet\n   (parameters: none defined)\n"
    );

    // bind: binding parameters override the package's; invoke parameters override both.
    let o = w.ok(&["package", "bind", "demo", "mydemo", "-p", "place", "Mars"]);
    assert_eq!(o.stdout, "ok: created binding mydemo\n");
    let b = w.ok(&["package", "get", "mydemo"]).json();
    assert_eq!(b["binding"], json!({"namespace": "guest", "name": "demo"}));
    let o = w.ok(&["action", "invoke", "mydemo/greet", "-r"]);
    assert_eq!(o.json(), json!({"msg": "Hello, Anon from Mars"}));
    let o = w.ok(&[
        "action",
        "invoke",
        "mydemo/greet",
        "-r",
        "-p",
        "name",
        "Zed",
        "-p",
        "place",
        "Venus",
    ]);
    assert_eq!(o.json(), json!({"msg": "Hello, Zed from Venus"}));
    let o = w.ok(&["action", "invoke", "demo/greet", "-r", "-p", "name", "Zed"]);
    assert_eq!(
        o.json(),
        json!({"msg": "Hello, Zed from Earth"}),
        "the package itself is unchanged"
    );
    let o = w.fails(&["package", "bind", "missing", "b2"], 144);
    assert!(
        o.stderr.starts_with("error: Binding creation failed: "),
        "{}",
        o.stderr
    );
    w.ok(&["package", "bind", "/guest/demo", "b3", "-a", "note", "x"]);
    let b3 = w.ok(&["package", "get", "b3", "annotations"]).json();
    assert_eq!(kv(&b3, "note"), Some(&json!("x")));

    // list.
    let o = w.ok(&["package", "list", "-n"]);
    assert_eq!(
        o.stdout,
        format!(
            "packages\n{}\n{}\n{}\n",
            row("/guest/b3", "private"),
            row("/guest/demo", "shared"),
            row("/guest/mydemo", "private")
        )
    );
    let o = w.ok(&["package", "list", "/guest", "--limit", "1"]);
    assert_eq!(o.stdout.lines().count(), 2, "{}", o.stdout);
    let o = w.fails(&["package", "list", "demo"], 1);
    assert!(
        o.stderr
            .contains("An entity name, 'demo', was provided instead of a namespace"),
        "{}",
        o.stderr
    );

    // delete: bindings first; a package with actions cannot go.
    let o = w.ok(&["package", "delete", "mydemo"]);
    assert_eq!(o.stdout, "ok: deleted package mydemo\n");
    w.ok(&["package", "delete", "b3"]);
    let o = w.fails(&["package", "delete", "demo"], 153);
    assert!(
        o.stderr
            .starts_with("error: Unable to delete package 'demo': "),
        "{}",
        o.stderr
    );
    o.request_id();
    w.ok(&["action", "delete", "demo/greet"]);
    w.ok(&["package", "delete", "demo"]);
    w.fails(&["package", "get", "demo"], 148);
    assert_eq!(w.ok(&["package", "list"]).stdout, "packages\n");
}
