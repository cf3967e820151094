//! The invocation API (spec §2.3): blocking and non-blocking invokes, result shapes, status
//! codes, the `timeout` parameter, payload limits, final and init parameters, precedence.

use serde_json::{json, Value};

use crate::support::{annotation, limits, node, python, server, NS};

const ECHO: &str = "function main(p) { return p }";

#[test]
fn non_blocking_invoke_answers_202_and_the_record_arrives() {
    let s = server().start();
    let api = s.guest();
    api.action("echo", &node(ECHO));
    let r = api.invoke("echo", "", &json!({"hello": "world"}));
    assert_eq!(r.status, 202, "{}", r.text);
    let id = r.body["activationId"]
        .as_str()
        .expect("activationId")
        .to_string();
    assert_eq!(
        r.body.as_object().map(|o| o.len()),
        Some(1),
        "only activationId: {}",
        r.text
    );
    assert_eq!(id.len(), 32);
    assert_eq!(r.activation_header(), id);
    let rec = api.activation(&id);
    assert_eq!(rec["activationId"], id.as_str());
    assert_eq!(rec["response"]["status"], "success");
    assert_eq!(rec["response"]["result"], json!({"hello": "world"}));
}

#[test]
fn blocking_invoke_answers_200_with_the_activation() {
    let s = server().start();
    let api = s.guest();
    api.action("echo", &node(ECHO));
    let r = api.call("echo", &json!({"n": 1}));
    assert_eq!(r.status, 200, "{}", r.text);
    let id = r.body["activationId"].as_str().expect("activationId");
    assert_eq!(r.activation_header(), id);
    assert_eq!(r.body["name"], "echo");
    assert_eq!(r.body["namespace"], "guest");
    let resp = &r.body["response"];
    assert_eq!(resp["status"], "success");
    assert_eq!(resp["success"], true);
    assert_eq!(resp["result"], json!({"n": 1}));
    assert!(
        resp.get("statusCode").is_none(),
        "API form has no statusCode: {resp}"
    );
    assert!(r.body["duration"].is_u64(), "{}", r.text);
}

#[test]
fn result_true_answers_the_result_only() {
    let s = server().start();
    let api = s.guest();
    api.action("echo", &node(ECHO));
    let r = api.invoke(
        "echo",
        "blocking=true&result=true",
        &json!({"a": [1, 2], "b": null}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!({"a": [1, 2], "b": null}));
    assert!(r.header("x-openwhisk-activation-id").is_some());
}

#[test]
fn array_results_are_answered_as_bare_arrays() {
    let s = server().start();
    let api = s.guest();
    api.action(
        "arr",
        &node("function main(p) { return Array.isArray(p) ? p.concat(['end']) : [1, 2, 3] }"),
    );
    // Without result=true the array is still answered bare.
    let r = api.call("arr", &json!({}));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!([1, 2, 3]));
    let id = r.activation_header();
    // The stored record has the array as its result.
    assert_eq!(api.activation(&id)["response"]["result"], json!([1, 2, 3]));
    // Arrays are accepted as input too.
    let r = api.invoke("arr", "blocking=true&result=true", &json!(["a", {"b": 1}]));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!(["a", {"b": 1}, "end"]));
    // Python too.
    api.action("pyarr", &python("def main(args):\n    return [args, 2]\n"));
    let r = api.call("pyarr", &json!({"x": 1}));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!([{"x": 1}, 2]));
}

#[test]
fn application_error_answers_502() {
    let s = server().start();
    let api = s.guest();
    api.action(
        "fail",
        &node("function main(p) { return { error: 'boom', detail: p.d } }"),
    );
    let r = api.call("fail", &json!({"d": 7}));
    assert_eq!(r.status, 502, "{}", r.text);
    let id = r.activation_header();
    assert_eq!(r.body["activationId"], id.as_str());
    assert_eq!(r.body["response"]["status"], "application error");
    assert_eq!(r.body["response"]["success"], false);
    assert_eq!(r.result(), &json!({"error": "boom", "detail": 7}));
    let r = api.invoke("fail", "blocking=true&result=true", &json!({"d": 8}));
    assert_eq!(r.status, 502, "{}", r.text);
    assert_eq!(r.body, json!({"error": "boom", "detail": 8}));
    assert!(r.header("x-openwhisk-activation-id").is_some());
}

#[test]
fn developer_error_answers_502() {
    let s = server().start();
    let api = s.guest();
    api.action("scalar", &node("function main() { return 42 }"));
    let r = api.call("scalar", &json!({}));
    assert_eq!(r.status, 502, "{}", r.text);
    assert_eq!(
        r.activation_header(),
        r.body["activationId"].as_str().unwrap()
    );
    assert_eq!(r.body["response"]["status"], "action developer error");
    assert_eq!(
        r.result(),
        &json!({"error": "The action did not return a dictionary."})
    );
    // Python: a non-dictionary result.
    api.action("pyscalar", &python("def main(args):\n    return 'text'\n"));
    let r = api.invoke("pyscalar", "blocking=true&result=true", &json!({}));
    assert_eq!(r.status, 502, "{}", r.text);
    assert_eq!(
        r.body,
        json!({"error": "The action did not return a dictionary or array."})
    );
}

#[test]
fn bad_timeout_parameter_is_400() {
    let s = server().start();
    let api = s.guest();
    api.action("echo", &node(ECHO));
    for t in ["abc", "0", "-5", "60001", "1.5"] {
        let r = api.invoke("echo", &format!("blocking=true&timeout={t}"), &json!({}));
        r.assert_error(400, "Timeout must be number of milliseconds up to 60000.");
    }
    let r = api.invoke("echo", "blocking=true&timeout=60000", &json!({"ok": 1}));
    assert_eq!(r.status, 200, "{}", r.text);
}

#[test]
fn blocking_wait_shorter_than_the_action_answers_202_and_the_record_arrives() {
    let s = server().start();
    let api = s.guest();
    api.action(
        "slow",
        &python("import time\ndef main(args):\n    time.sleep(3)\n    return {'slept': True}\n"),
    );
    let r = api.invoke("slow", "blocking=true&timeout=500", &json!({}));
    assert_eq!(r.status, 202, "{}", r.text);
    let id = r.body["activationId"]
        .as_str()
        .expect("activationId")
        .to_string();
    assert_eq!(r.activation_header(), id);
    let rec = api.activation(&id);
    assert_eq!(rec["response"]["status"], "success", "{rec}");
    assert_eq!(rec["response"]["result"], json!({"slept": true}));
}

#[test]
fn payload_over_1mb_is_413() {
    let s = server().start();
    let api = s.guest();
    api.action("echo", &node(ECHO));
    let filler = "x".repeat(1024 * 1024);
    let body = format!("{{\"a\":\"{filler}\"}}").into_bytes();
    let n = body.len();
    let r = api.post_raw(&format!("{NS}/actions/echo?blocking=true"), body);
    r.assert_error(
        413,
        &format!("Request larger than allowed: {n} > 1048576 bytes."),
    );
    // Just under the limit is fine.
    let under = "y".repeat(1024 * 1024 - 100);
    let r = api.invoke("echo", "blocking=true&result=true", &json!({ "a": under }));
    assert_eq!(r.status, 200, "{}", &r.text[..r.text.len().min(200)]);
    assert_eq!(r.body["a"].as_str().map(str::len), Some(under.len()));
}

#[test]
fn final_parameters_cannot_be_overridden() {
    let s = server().start();
    let api = s.guest();
    api.action(
        "locked",
        &json!({
            "exec": {"kind": "nodejs:default", "code": ECHO},
            "parameters": [{"key": "x", "value": 1}, {"key": "unset", "value": null}],
            "annotations": [{"key": "final", "value": true}],
        }),
    );
    let r = api.call("locked", &json!({"x": 2}));
    r.assert_error(
        400,
        "Request defines parameters that are not allowed (e.g., reserved properties).",
    );
    // Other keys (and keys whose default is null) may still be given.
    let r = api.invoke(
        "locked",
        "blocking=true&result=true",
        &json!({"y": 3, "unset": 4}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!({"x": 1, "y": 3, "unset": 4}));
}

#[test]
fn parameter_precedence_and_binding_annotation() {
    let s = server().start();
    let api = s.guest();
    let r = api.put(
        &format!("{NS}/packages/pkg"),
        &json!({"parameters": [
            {"key": "a", "value": "package"}, {"key": "b", "value": "package"},
            {"key": "c", "value": "package"}, {"key": "d", "value": "package"},
        ]}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let r = api.put(
        &format!("{NS}/packages/bound"),
        &json!({
            "binding": {"namespace": "guest", "name": "pkg"},
            "parameters": [
                {"key": "b", "value": "binding"}, {"key": "c", "value": "binding"}, {"key": "d", "value": "binding"},
            ],
        }),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    api.action(
        "pkg/show",
        &json!({
            "exec": {"kind": "nodejs:default", "code": ECHO},
            "parameters": [{"key": "c", "value": "action"}, {"key": "d", "value": "action"}],
        }),
    );
    // Through the binding: package < binding < action < payload.
    let r = api.call("bound/show", &json!({"d": "payload"}));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.result(),
        &json!({"a": "package", "b": "binding", "c": "action", "d": "payload"})
    );
    let id = r.activation_header();
    let rec = api.activation(&id);
    assert_eq!(
        annotation(&rec, "binding"),
        Some(&json!("guest/bound")),
        "{rec}"
    );
    assert_eq!(
        annotation(&rec, "path"),
        Some(&json!("guest/pkg/show")),
        "{rec}"
    );
    // Directly through the package: no binding parameters, no binding annotation.
    let r = api.call("pkg/show", &json!({}));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.result(),
        &json!({"a": "package", "b": "package", "c": "action", "d": "action"})
    );
    let rec = api.activation(&r.activation_header());
    assert_eq!(annotation(&rec, "binding"), None, "{rec}");
    assert_eq!(annotation(&rec, "path"), Some(&json!("guest/pkg/show")));
}

#[test]
fn init_parameters_are_environment_at_init_and_not_arguments() {
    let s = server().start();
    let api = s.guest();
    let params = json!([
        {"key": "SECRET_TOKEN", "value": "s3cr3t", "init": true},
        {"key": "CONFIG", "value": {"deep": [1, 2]}, "init": true},
        {"key": "plain", "value": 1},
    ]);
    // Node: the variable is read at load time (init), and again at run.
    let code = "const atInit = process.env.SECRET_TOKEN;\n\
                function main(p) { return { atInit, atRun: process.env.SECRET_TOKEN, config: process.env.CONFIG, args: p } }";
    let mut action = node(code);
    action["parameters"] = params.clone();
    api.action("initp", &action);
    let out = api.call_ok("initp", &json!({"extra": true}));
    assert_eq!(out["atInit"], "s3cr3t");
    assert_eq!(out["atRun"], "s3cr3t");
    assert_eq!(out["config"], "{\"deep\":[1,2]}");
    assert_eq!(out["args"], json!({"plain": 1, "extra": true}));
    // Python as well.
    let code = "import os\nAT_INIT = os.environ.get('SECRET_TOKEN')\n\
                def main(args):\n    return {'atInit': AT_INIT, 'args': args}\n";
    let mut action = python(code);
    action["parameters"] = params;
    api.action("initpy", &action);
    let out = api.call_ok("initpy", &json!({}));
    assert_eq!(out, json!({"atInit": "s3cr3t", "args": {"plain": 1}}));
}

#[test]
fn timeouts_limits_and_memory_are_recorded_as_given() {
    let s = server().start();
    let api = s.guest();
    api.action(
        "lim",
        &limits(
            node(ECHO),
            json!({"timeout": 5000, "memory": 128, "logs": 1}),
        ),
    );
    let r = api.call("lim", &json!({}));
    assert_eq!(r.status, 200, "{}", r.text);
    let rec = api.activation(&r.activation_header());
    let l: &Value = annotation(&rec, "limits").expect("limits annotation");
    assert_eq!(l["timeout"], 5000);
    assert_eq!(l["memory"], 128);
    assert_eq!(l["logs"], 1);
    assert_eq!(l["concurrency"], 1);
}
