//! Information routes: `GET /`, `/ping`, `/api/v1`, `/api/v1/api-docs`, `/namespaces`, limits.

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::*;

#[test]
fn root_describes_the_platform_without_auth() {
    let s = Server::start();
    let b = s.anon().get("/").ok();
    assert_eq!(b["description"], "OpenWhisk");
    assert_eq!(b["api_paths"], json!(["/api/v1"]));
    assert!(b["support"]["github"].is_string());
    assert!(b["support"]["slack"].is_string());
    let l = &b["limits"];
    for k in [
        "actions_per_minute",
        "triggers_per_minute",
        "concurrent_actions",
        "sequence_length",
        "min_action_duration",
        "max_action_duration",
        "min_action_memory",
        "max_action_memory",
        "min_action_logs",
        "max_action_logs",
    ] {
        assert!(l[k].is_u64(), "limits.{k} in {l}");
    }
    // Memory in bytes, durations in ms.
    assert_eq!(l["min_action_memory"], 128 * 1024 * 1024);
    assert_eq!(l["max_action_memory"], 512 * 1024 * 1024);
    assert_eq!(l["min_action_duration"], 100);
    assert_eq!(l["max_action_duration"], 300_000);
    let node = b["runtimes"]["nodejs"].as_array().expect("nodejs runtimes");
    let default = node
        .iter()
        .find(|k| k["default"] == true)
        .expect("a default nodejs kind");
    assert!(
        default["kind"].as_str().unwrap().starts_with("nodejs:"),
        "{default}"
    );
    for k in ["image", "deprecated", "attached", "requireMain"] {
        assert!(default.get(k).is_some(), "runtime field {k}");
    }
    let py = b["runtimes"]["python"].as_array().expect("python runtimes");
    assert!(
        py.iter()
            .any(|k| k["kind"].as_str().unwrap().starts_with("python:3.")),
        "{py:?}"
    );
}

#[test]
fn ping_answers_pong() {
    let s = Server::start();
    let r = s.anon().get("/ping");
    assert_eq!(r.status, 200);
    assert_eq!(r.text, "pong");
}

#[test]
fn api_v1_info_without_auth() {
    let s = Server::start();
    let b = s.anon().get("/api/v1").ok();
    assert_eq!(b["description"], "OpenWhisk API");
    assert_eq!(b["api_version"], "1.0.0");
    assert_eq!(b["api_version_path"], "v1");
    assert!(b["build"].is_string());
    assert!(b.get("buildno").is_some());
    assert_eq!(
        b["swagger_paths"],
        json!({"ui": "/docs", "api-docs": "/api-docs"})
    );
}

/// Every path the OpenAPI document describes is routed: GETs of existing entities answer 200,
/// other methods never answer the unknown-route 404 or 405.
#[test]
fn api_docs_document_only_routed_paths() {
    let s = Server::start();
    let g = s.guest();
    let doc = s.anon().get("/api/v1/api-docs").ok();
    let paths = doc["paths"].as_object().expect("paths object");
    assert!(paths.len() >= 10, "documents the API: {}", paths.len());

    // Fixtures, one distinct name per collection.
    g.put(&format!("{NS}/packages/p1"), &json!({})).ok();
    create_action(&g, "a1");
    create_action(&g, "p1/a1");
    g.put(&format!("{NS}/triggers/t1"), &json!({})).ok();
    g.put(
        &format!("{NS}/rules/r1"),
        &json!({"trigger": "/_/t1", "action": "/_/a1"}),
    )
    .ok();
    let rec = activation_record(
        "guest",
        None,
        "a1",
        1_700_000_000_000,
        0,
        json!({"ok": true}),
    );
    let aid = rec.activation_id.clone();
    store_activations(&s, vec![rec]);
    // A web action and an API route to it, for the web and gateway paths.
    let mut web = node_action("function main(p) { return {ok: true} }");
    web["annotations"] = json!([{"key": "web-export", "value": true}]);
    g.put(&format!("{NS}/actions/p1/w1"), &web).ok();
    g.post(
        "/api/v1/web/whisk.system/apimgmt/createApi.http?responsetype=json",
        &json!({"apidoc": {"namespace": "_", "gatewayBasePath": "/docs", "gatewayPath": "/hello",
            "gatewayMethod": "GET", "id": "API:_:/docs",
            "action": {"name": "p1/w1", "namespace": "guest", "backendMethod": "GET",
                "backendUrl": format!("{}/api/v1/web/guest/p1/w1.http", s.base), "authkey": GUEST_KEY}}}),
    )
    .ok();
    let uuid = GUEST_KEY.split(':').next().unwrap();

    let server = doc["servers"][0]["url"]
        .as_str()
        .unwrap_or("/")
        .trim_end_matches('/')
        .to_string();
    let concrete = |template: &str| -> String {
        let segs: Vec<&str> = template.split('/').collect();
        let coll = segs
            .iter()
            .position(|s| *s == "namespaces")
            .and_then(|i| segs.get(i + 2))
            .copied();
        let name = match coll {
            Some("actions") => "a1",
            Some("packages") => "p1",
            Some("triggers") => "t1",
            Some("rules") => "r1",
            _ => "x",
        };
        let web = template.starts_with("/api/v1/web/");
        let path = format!(
            "{server}{}",
            template
                .replace("{namespace}", if web { "guest" } else { "_" })
                .replace("{action}", "w1.json")
                .replace("{namespaceUuid}", uuid)
                .replace("{basePath}", "docs")
                .replace("{relPath}", "hello")
                .replace("{package}", "p1")
                .replace("{name}", name)
                .replace("{activationid}", &aid)
        );
        if path.is_empty() {
            "/".into()
        } else {
            path
        }
    };
    // The info route itself is documented.
    assert!(
        paths.keys().any(|t| concrete(t) == "/api/v1"),
        "GET /api/v1 documented: {:?}",
        paths.keys()
    );
    let mut deletes = Vec::new();
    for (template, item) in paths {
        let path = concrete(template);
        assert!(
            !path.contains('{'),
            "unhandled template parameter in {template}"
        );
        let ops = item.as_object().expect("path item");
        for method in ops.keys() {
            match method.as_str() {
                "get" => {
                    let r = g.get(&path);
                    assert_eq!(
                        r.status, 200,
                        "GET {path} (documented as {template}): {}",
                        r.text
                    );
                }
                "put" => {
                    let r = g.put(&path, &json!({}));
                    assert!(
                        ![404, 405].contains(&r.status),
                        "PUT {path} not routed: {} {}",
                        r.status,
                        r.text
                    );
                }
                "post" => {
                    let r = g.post(&path, &json!({"status": "active"}));
                    assert!(
                        ![404, 405].contains(&r.status),
                        "POST {path} not routed: {} {}",
                        r.status,
                        r.text
                    );
                }
                "patch" | "options" => {
                    let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
                    let r = g.send(m, &path, &[], None);
                    assert!(
                        ![404, 405].contains(&r.status),
                        "{method} {path} not routed: {} {}",
                        r.status,
                        r.text
                    );
                }
                "delete" => deletes.push(path.clone()),
                other => panic!("unexpected method {other} documented for {template}"),
            }
        }
    }
    for path in deletes {
        let r = g.send(Method::DELETE, &path, &[], None);
        assert!(
            ![404, 405].contains(&r.status),
            "DELETE {path} not routed: {} {}",
            r.status,
            r.text
        );
    }
}

#[test]
fn namespaces_lists_the_callers_namespace() {
    let s = Server::start();
    assert_eq!(s.guest().get("/api/v1/namespaces").ok(), json!(["guest"]));
    let key = s.create_namespace("alice");
    assert_eq!(
        s.api(Some(&key)).get("/api/v1/namespaces").ok(),
        json!(["alice"])
    );
    s.anon()
        .get("/api/v1/namespaces")
        .assert_error(401, AUTH_REQUIRED);
}

pub const AUTH_REQUIRED: &str =
    "The resource requires authentication, which was not supplied with the request";

#[test]
fn namespace_limits_with_defaults() {
    let s = Server::start();
    let g = s.guest();
    let l = g.get(&format!("{NS}/limits")).ok();
    for k in [
        "invocationsPerMinute",
        "concurrentInvocations",
        "firesPerMinute",
        "minActionMemory",
        "maxActionMemory",
        "minActionLogs",
        "maxActionLogs",
        "minActionTimeout",
        "maxActionTimeout",
        "minActionConcurrency",
        "maxActionConcurrency",
    ] {
        assert!(l[k].is_u64(), "{k} in {l}");
    }
    assert_eq!(l["maxActionMemory"], 512);
    assert_eq!(l["minActionMemory"], 128);
    assert_eq!(l["maxActionTimeout"], 300_000);
    assert_eq!(l["maxParameterSize"], "1048576 B");
    assert_eq!(g.get("/api/v1/namespaces/guest/limits").ok(), l);
    g.get("/api/v1/namespaces/whisk.system/limits")
        .assert_error(
            403,
            "The supplied authentication is not authorized to access 'whisk.system'.",
        );
    s.anon()
        .get(&format!("{NS}/limits"))
        .assert_error(401, AUTH_REQUIRED);
}

/// Info documents are JSON objects (not wrapped, not empty).
#[test]
fn info_routes_carry_cors_and_request_id() {
    let s = Server::start();
    for p in ["/api/v1", "/api/v1/api-docs"] {
        let r = s.anon().get(p);
        assert_eq!(r.status, 200);
        assert!(matches!(r.body, Value::Object(_)));
        assert_eq!(r.header("access-control-allow-origin"), Some("*"));
        assert!(r.header("x-request-id").is_some_and(|v| !v.is_empty()));
    }
}
