//! Activation records (spec §1.7, §3.10) and the environment given to actions (§3.8).

use serde_json::{json, Value};

use crate::support::{annotation, log_line_ok, node, python, server, GUEST_KEY};

#[test]
fn activation_record_has_every_field() {
    let s = server().start();
    let api = s.guest();
    let code = "function main(p) {\n  console.log('to stdout ' + p.name);\n  console.error('to stderr');\n  \
                console.log('second line');\n  return { greeting: 'hello ' + p.name };\n}";
    api.action("hello", &node(code));
    let r = api.call("hello", &json!({"name": "Ada"}));
    assert_eq!(r.status, 200, "{}", r.text);
    let id = r.activation_header();
    let rec = api.activation(&id);
    assert_eq!(rec["activationId"], id.as_str());
    assert!(
        id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{id}"
    );
    assert_eq!(rec["namespace"], "guest");
    assert_eq!(rec["name"], "hello");
    assert_eq!(rec["version"], "0.0.1");
    assert_eq!(rec["subject"], "guest");
    assert_eq!(rec["publish"], false);
    let start = rec["start"].as_i64().expect("start");
    let end = rec["end"].as_i64().expect("end");
    assert!(start > 1_600_000_000_000 && end >= start, "{rec}");
    assert_eq!(rec["duration"].as_i64(), Some(end - start), "{rec}");
    assert!(rec.get("cause").is_none());
    let result = json!({"greeting": "hello Ada"});
    assert_eq!(
        rec["response"],
        json!({"status": "success", "success": true, "result": result, "size": result.to_string().len()})
    );
    // Logs: OpenWhisk's format, both streams, in order per stream, no sentinels.
    let logs: Vec<&str> = rec["logs"]
        .as_array()
        .expect("logs")
        .iter()
        .map(|l| l.as_str().expect("str"))
        .collect();
    let parsed: Vec<(&str, &str)> = logs
        .iter()
        .map(|l| log_line_ok(l).unwrap_or_else(|| panic!("bad log line {l:?}")))
        .collect();
    let out: Vec<&str> = parsed
        .iter()
        .filter(|(s, _)| *s == "stdout")
        .map(|(_, t)| *t)
        .collect();
    let err: Vec<&str> = parsed
        .iter()
        .filter(|(s, _)| *s == "stderr")
        .map(|(_, t)| *t)
        .collect();
    assert_eq!(out, ["to stdout Ada", "second line"], "{logs:?}");
    assert_eq!(err, ["to stderr"], "{logs:?}");
    // Annotations.
    let keys: Vec<&str> = rec["annotations"]
        .as_array()
        .expect("annotations")
        .iter()
        .map(|a| a["key"].as_str().unwrap())
        .collect();
    for k in ["path", "kind", "limits", "timeout", "waitTime", "initTime"] {
        assert!(keys.contains(&k), "annotation {k} missing: {keys:?}");
    }
    assert!(
        !keys.contains(&"binding") && !keys.contains(&"causedBy"),
        "{keys:?}"
    );
    assert_eq!(annotation(&rec, "path"), Some(&json!("guest/hello")));
    assert!(
        annotation(&rec, "kind")
            .and_then(Value::as_str)
            .is_some_and(|k| k.starts_with("nodejs:")),
        "{rec}"
    );
    assert_eq!(
        annotation(&rec, "limits"),
        Some(&json!({"timeout": 60000, "memory": 256, "logs": 10, "concurrency": 1}))
    );
    assert_eq!(annotation(&rec, "timeout"), Some(&json!(false)));
    assert!(annotation(&rec, "waitTime").is_some_and(Value::is_u64));
    assert!(annotation(&rec, "initTime").is_some_and(Value::is_u64));
    // GET …/logs and the list summary.
    let r = api.get(&format!("{}/activations/{id}/logs", crate::support::NS));
    assert_eq!(r.body["logs"], rec["logs"]);
    let list = api.activations_of("hello");
    assert_eq!(list[0]["activationId"], id.as_str());
    assert_eq!(list[0]["statusCode"], 0);
    // Python logs too.
    api.action("pylog", &python("import sys\ndef main(args):\n    print('py out')\n    print('py err', file=sys.stderr)\n    return {}\n"));
    let r = api.call("pylog", &json!({}));
    let rec = api.activation(&r.activation_header());
    let parsed: Vec<(String, String)> = rec["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            let (s, t) =
                log_line_ok(l.as_str().unwrap()).unwrap_or_else(|| panic!("bad log line {l}"));
            (s.to_string(), t.to_string())
        })
        .collect();
    assert!(
        parsed.contains(&("stdout".into(), "py out".into())),
        "{parsed:?}"
    );
    assert!(
        parsed.contains(&("stderr".into(), "py err".into())),
        "{parsed:?}"
    );
}

const NODE_ENV: &str =
    "function main() {\n  const e = {};\n  for (const k of Object.keys(process.env)) \
                        if (k.startsWith('__OW_')) e[k] = process.env[k];\n  return e;\n}";
const PY_ENV: &str = "import os\ndef main(args):\n    return {k: v for k, v in os.environ.items() if k.startswith('__OW_')}\n";

fn check_ow_env(env: &Value, name: &str, version: &str, id: &str, api_host: &str, start: i64) {
    // With the default action network (egress) actions reach the API on their gateway, at the
    // server's port (tests/network checks the address itself).
    let port = api_host.rsplit(':').next().unwrap_or_default();
    let seen = env["__OW_API_HOST"].as_str().unwrap_or_default();
    assert!(
        seen.starts_with("http://169.254.") && seen.ends_with(&format!(":{port}")),
        "{env}"
    );
    assert_eq!(env["__OW_NAMESPACE"], "guest", "{env}");
    assert_eq!(env["__OW_ACTION_NAME"], format!("/guest/{name}"), "{env}");
    assert_eq!(env["__OW_ACTION_VERSION"], version, "{env}");
    assert_eq!(env["__OW_ACTIVATION_ID"], id, "{env}");
    assert!(
        env["__OW_TRANSACTION_ID"]
            .as_str()
            .is_some_and(|t| !t.is_empty()),
        "{env}"
    );
    let deadline: i64 = env["__OW_DEADLINE"]
        .as_str()
        .and_then(|d| d.parse().ok())
        .expect("__OW_DEADLINE");
    // Default time limit 60 s from when the invoker started the run.
    assert!(
        deadline > start && deadline <= start + 60_000 + 60_000,
        "deadline {deadline} start {start}"
    );
}

#[test]
fn actions_get_the_ow_environment_and_the_api_key_only_when_asked() {
    let s = server().start();
    let api = s.guest();
    for (name, action) in [("envjs", node(NODE_ENV)), ("envpy", python(PY_ENV))] {
        let created = api.action(name, &action);
        // New actions get provide-api-key: false.
        assert_eq!(
            crate::support::kv(&created["annotations"], "provide-api-key"),
            Some(&json!(false))
        );
        let r = api.call(name, &json!({}));
        assert_eq!(r.status, 200, "{}", r.text);
        let id = r.activation_header();
        let start = r.body["start"].as_i64().unwrap();
        check_ow_env(r.result(), name, "0.0.1", &id, &s.base, start);
        assert!(
            r.result().get("__OW_API_KEY").is_none(),
            "{}: no API key by default: {}",
            name,
            r.text
        );
        // Warm: the per-activation variables change.
        let r2 = api.call(name, &json!({}));
        let id2 = r2.activation_header();
        assert_ne!(id, id2);
        check_ow_env(
            r2.result(),
            name,
            "0.0.1",
            &id2,
            &s.base,
            r2.body["start"].as_i64().unwrap(),
        );
        // With provide-api-key: true the key is there.
        let mut with_key = action.clone();
        with_key["annotations"] = json!([{"key": "provide-api-key", "value": true}]);
        api.action(name, &with_key);
        let r = api.call(name, &json!({}));
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.result()["__OW_API_KEY"], GUEST_KEY, "{name}");
        check_ow_env(
            r.result(),
            name,
            "0.0.2",
            &r.activation_header(),
            &s.base,
            r.body["start"].as_i64().unwrap(),
        );
    }
}

#[test]
fn action_name_includes_the_package() {
    let s = server().start();
    let api = s.guest();
    let r = api.put(
        &format!("{}/packages/tools", crate::support::NS),
        &json!({}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    api.action("tools/envjs", &node(NODE_ENV));
    let out = api.call_ok("tools/envjs", &json!({}));
    assert_eq!(out["__OW_ACTION_NAME"], "/guest/tools/envjs");
}
