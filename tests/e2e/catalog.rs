//! The `whisk.system` catalog: `utils` and `samples` installed at the first start, shared with
//! every namespace, behaving as apache/openwhisk-catalog's actions (its sample inputs and
//! outputs), usable through bindings and in sequences, closed to writes by others, and
//! rewritten only when the catalog changes.

use serde_json::{json, Value};

use crate::support::*;

const SYS: &str = "/api/v1/namespaces/whisk.system";

/// Invoke `/whisk.system/{path}` as the guest and return its result.
fn run(s: &Server, path: &str, params: Value) -> Value {
    let r = s.guest().post(
        &format!("{SYS}/actions/{path}?blocking=true&result=true"),
        &params,
    );
    assert_eq!(r.status, 200, "{path}: {}", r.text);
    r.body
}

/// Invoke `/whisk.system/{path}` as the guest, expecting the application error it returns.
fn run_error(s: &Server, path: &str, params: Value) -> Value {
    let r = s.guest().post(
        &format!("{SYS}/actions/{path}?blocking=true&result=true"),
        &params,
    );
    assert_eq!(r.status, 502, "{path}: {}", r.text);
    r.body
}

#[test]
fn utils_and_samples_behave_as_upstream() {
    let s = Server::start();
    let u = |a: &str, p: Value| run(&s, &format!("utils/{a}"), p);
    assert_eq!(
        u("echo", json!({"payload": "Five fuzzy felines"})),
        json!({"payload": "Five fuzzy felines"})
    );
    assert_eq!(
        u("cat", json!({"lines": [4, 2, 3]})),
        json!({"lines": [4, 2, 3], "payload": "4\n2\n3"})
    );
    assert_eq!(
        u("sort", json!({"lines": [4, 2, 3]})),
        json!({"lines": [2, 3, 4], "length": 3})
    );
    assert_eq!(
        u("head", json!({"lines": [4, 2, 3], "num": 2})),
        json!({"lines": [4, 2], "num": 2})
    );
    assert_eq!(
        u(
            "split",
            json!({"payload": "one,two,three", "separator": ","})
        ),
        json!({"lines": ["one", "two", "three"], "payload": "one,two,three"})
    );
    assert_eq!(
        u("split", json!({"payload": "a\nb\r\nc"}))["lines"],
        json!(["a", "b", "c"])
    );
    assert_eq!(
        u(
            "smash",
            json!({"a": 1, "b": {"c": 2, "d": 3}, "$fieldName": "p"})
        ),
        json!({"p": {"a": 1, "b": {"c": 2, "d": 3}}})
    );
    assert_eq!(
        run_error(&s, "utils/smash", json!({"a": 1})),
        json!({"error": "Expected an argument '$fieldName' of type 'string'."})
    );
    let date = u("date", json!({}));
    assert!(date["date"].as_str().unwrap().ends_with('Z'), "{date}");
    // The namespace and API host of the caller, not of whisk.system. The API host is the one
    // actions see: with the default action network, the sandbox's gateway at the server's port.
    assert_eq!(u("namespace", json!({})), json!({"namespace": "guest"}));
    let echo = u("hosturl", json!({"web": true, "path": "utils/echo"}));
    let api_host = echo["url"]
        .as_str()
        .and_then(|u| u.strip_suffix("/api/v1/web/guest/utils/echo"))
        .unwrap_or_else(|| panic!("{echo}"))
        .to_string();
    let port = s.base.rsplit(':').next().unwrap();
    assert!(
        api_host.starts_with("http://169.254.") && api_host.ends_with(&format!(":{port}")),
        "{echo}"
    );
    assert_eq!(
        u(
            "hosturl",
            json!({"web": true, "path": "echo", "ext": ".json"})
        ),
        json!({"url": format!("{api_host}/api/v1/web/guest/default/echo.json")})
    );
    assert_eq!(
        u("hosturl", json!({"trigger": true, "path": "t"})),
        json!({"url": format!("{api_host}/api/v1/namespaces/guest/triggers/t")})
    );
    assert_eq!(
        run_error(
            &s,
            "utils/hosturl",
            json!({"web": true, "ext": ".exe", "path": "a"})
        ),
        json!({"error": "extension for web action must be one of [\".html\", \".http\", \".json\", \".svg\", \".text\"]."})
    );

    let m = |a: &str, p: Value| run(&s, &format!("samples/{a}"), p);
    assert_eq!(
        m(
            "greeting",
            json!({"payload": "Cat", "place": "Narrowsburg"})
        ),
        json!({"payload": "Hello, Cat from Narrowsburg!"})
    );
    assert_eq!(
        m("greeting", json!({})),
        json!({"payload": "Hello, stranger from somewhere!"})
    );
    assert_eq!(
        m("wordCount", json!({"payload": "Five fuzzy felines"})),
        json!({"count": 3})
    );
    assert_eq!(m("helloWorld", json!({"payload": "Cat"})), json!({}));
    // helloWorld's log line.
    let r = s.guest().post(
        &format!("{SYS}/actions/samples/helloWorld?blocking=true"),
        &json!({"payload": "Cat"}),
    );
    let logs = r.body["logs"].as_array().cloned().unwrap_or_default();
    assert!(
        logs.iter()
            .any(|l| l.as_str().unwrap().ends_with("stdout: hello Cat!")),
        "{logs:?}"
    );
    // Actions have no outbound network (yet): curl reports that it could not connect.
    let curl = m("curl", json!({"payload": "example.invalid"}));
    let msg = curl["msg"].as_str().unwrap_or_default();
    assert!(msg.contains("curl"), "{curl}");
}

#[test]
fn shared_with_every_namespace_bindable_and_read_only() {
    let s = Server::start();
    let g = s.guest();
    let pkgs = g.get(&format!("{SYS}/packages")).ok();
    let mut list = names(&pkgs);
    list.sort();
    assert_eq!(list, ["alarms", "samples", "utils"], "{pkgs}");
    let utils = g.get(&format!("{SYS}/packages/utils")).ok();
    assert_eq!(utils["publish"], true);
    let mut actions = names(&utils["actions"]);
    actions.sort();
    assert_eq!(
        actions,
        [
            "cat",
            "date",
            "echo",
            "head",
            "hosturl",
            "namespace",
            "smash",
            "sort",
            "split"
        ]
    );
    let echo = g.get(&format!("{SYS}/actions/utils/echo")).ok();
    assert_eq!(
        kv(&echo["annotations"], "description"),
        Some(&json!("Returns the input"))
    );
    assert!(kv(&echo["annotations"], "sampleInput").is_some());
    let samples = g.get(&format!("{SYS}/packages/samples")).ok();
    let mut actions = names(&samples["actions"]);
    actions.sort();
    assert_eq!(actions, ["curl", "greeting", "helloWorld", "wordCount"]);

    // A binding, and a sequence of catalog actions, in the guest's namespace.
    g.put(
        &format!("{NS}/packages/myutils"),
        &json!({"binding": {"namespace": "whisk.system", "name": "utils"}}),
    )
    .ok();
    let r = g.post(
        &format!("{NS}/actions/myutils/echo?blocking=true&result=true"),
        &json!({"x": 1}),
    );
    assert_eq!(r.body, json!({"x": 1}), "{}", r.text);
    g.put(
        &format!("{NS}/actions/splitsort"),
        &json!({"exec": {"kind": "sequence",
                         "components": ["/whisk.system/utils/split", "/whisk.system/utils/sort"]}}),
    )
    .ok();
    let r = g.post(
        &format!("{NS}/actions/splitsort?blocking=true&result=true"),
        &json!({"payload": "c\nb\na"}),
    );
    assert_eq!(
        r.body,
        json!({"lines": ["a", "b", "c"], "length": 3}),
        "{}",
        r.text
    );

    // Others read and run the catalog but never change it.
    let put = g.put(
        &format!("{SYS}/actions/utils/echo?overwrite=true"),
        &node_action("function main() { return {} }"),
    );
    assert_eq!(put.status, 403, "{}", put.text);
    assert_eq!(g.delete(&format!("{SYS}/actions/utils/echo")).status, 403);
    assert_eq!(g.delete(&format!("{SYS}/packages/utils")).status, 403);
    let put = g.put(&format!("{SYS}/actions/utils/mine"), &node_action("x"));
    assert_eq!(put.status, 403, "{}", put.text);
}

#[test]
fn installed_once_and_rewritten_when_the_catalog_changes() {
    let s = Server::start();
    let updated =
        |s: &Server| s.guest().get(&format!("{SYS}/actions/utils/echo")).ok()["updated"].clone();
    let first = updated(&s);
    let mut s = s.restart();
    assert_eq!(updated(&s), first, "an unchanged catalog is not rewritten");
    // An older catalog on disk (its version marker differs) is replaced at the next start.
    s.kill9();
    {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let stores = whirl_store::sqlite::open(&s.data_dir).unwrap();
            let marker = stores
                .entities
                .get("whisk.system/.catalog/version", false)
                .await
                .unwrap()
                .expect("the catalog version marker");
            let mut doc = marker.doc.clone();
            doc["version"] = json!("an older catalog");
            stores
                .entities
                .put(
                    whirl_store::NewEntity {
                        id: marker.id.clone(),
                        kind: marker.kind,
                        path: marker.path.clone(),
                        name: marker.name.clone(),
                        updated: marker.updated,
                        doc,
                        code: None,
                    },
                    Some(marker.rev),
                )
                .await
                .unwrap();
        });
    }
    let s = s.restart();
    assert_ne!(updated(&s), first, "a changed catalog is rewritten");
    assert_eq!(run(&s, "utils/echo", json!({"a": 1})), json!({"a": 1}));
}
