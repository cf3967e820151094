//! Conductor actions (spec §3.4) with real nodejs actions: the continuation protocol, boxing of
//! `params` and `state`, failures fed back to the conductor, the invocation limits, records,
//! nesting with sequences and other conductors, blocking and non-blocking.

use serde_json::{json, Value};

use crate::support::{annotation, node, server, Api, NS};

fn conductor(api: &Api, name: &str, code: &str) {
    let mut body = node(code);
    body["annotations"] = json!([{"key": "conductor", "value": true}]);
    api.action(name, &body);
}

fn ids(rec: &Value) -> Vec<String> {
    rec["logs"]
        .as_array()
        .unwrap_or_else(|| panic!("logs in {rec}"))
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect()
}

/// Steps through `inc` then `dbl`, keeping its place in `state`.
const TWO_STEPS: &str = r#"function main(p) {
  if (p.step === undefined) return { action: 'inc', params: { v: p.v }, state: { step: 1 } };
  if (p.step === 1) return { action: '/guest/dbl', params: { v: p.v }, state: { step: 2 } };
  return { params: { v: p.v, step: p.step } };
}"#;

#[test]
fn conductor_runs_its_steps_and_records_them() {
    let s = server().start();
    let api = s.guest();
    api.action("inc", &node("function main(p) { return { v: p.v + 1 } }"));
    api.action("dbl", &node("function main(p) { return { v: p.v * 2 } }"));
    conductor(&api, "twice", TWO_STEPS);

    let r = api.call("twice", &json!({"v": 3}));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.result(), &json!({"v": 8, "step": 2}));
    let id = r.activation_header();
    let rec = api.activation(&id);
    assert_eq!(rec["name"], "twice");
    assert_eq!(rec["response"]["status"], "success");
    assert_eq!(annotation(&rec, "kind"), Some(&json!("sequence")));
    assert_eq!(annotation(&rec, "conductor"), Some(&json!(true)));
    assert_eq!(annotation(&rec, "topmost"), Some(&json!(true)));
    assert_eq!(annotation(&rec, "path"), Some(&json!("guest/twice")));
    assert!(annotation(&rec, "causedBy").is_none(), "{rec}");
    // Conductor, inc, conductor, dbl, conductor: every derived activation, in order.
    let logs = ids(&rec);
    let names: Vec<String> = logs
        .iter()
        .map(|l| api.activation(l)["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["twice", "inc", "twice", "dbl", "twice"]);
    let mut total = 0;
    for l in &logs {
        let d = api.activation(l);
        assert_eq!(d["cause"], id.as_str(), "{d}");
        assert_eq!(annotation(&d, "causedBy"), Some(&json!("sequence")));
        total += d["duration"].as_i64().unwrap();
    }
    assert_eq!(
        rec["duration"].as_i64(),
        Some(total),
        "duration = sum: {rec}"
    );
    // The conductor's second run saw the component's result with the state merged in.
    let second = api.activation(&logs[2]);
    assert_eq!(
        second["response"]["result"],
        json!({"action": "/guest/dbl", "params": {"v": 4}, "state": {"step": 2}})
    );

    // Non-blocking: 202 with the composition's id, whose record comes later.
    let id = api.start("twice", &json!({"v": 1}));
    let rec = api.activation(&id);
    assert_eq!(rec["response"]["result"], json!({"v": 4, "step": 2}));
    assert_eq!(ids(&rec).len(), 5);
}

#[test]
fn continuations_box_values_and_feed_failures_back() {
    let s = server().start();
    let api = s.guest();
    api.action("echo", &node("function main(p) { return p }"));
    // No `action`: the composition ends with the whole output, or `params` boxed.
    conductor(&api, "whole", "function main(p) { return { x: 1 } }");
    assert_eq!(api.call_ok("whole", &json!({})), json!({"x": 1}));
    conductor(&api, "boxed", "function main(p) { return { params: 5 } }");
    assert_eq!(api.call_ok("boxed", &json!({})), json!({"value": 5}));
    // A state that is not an object reaches the next conductor run boxed.
    conductor(
        &api,
        "stateful",
        "function main(p) { return p.state === undefined ? { action: 'echo', params: { a: 1 }, state: 7 } : { params: p } }",
    );
    assert_eq!(
        api.call_ok("stateful", &json!({})),
        json!({"a": 1, "state": 7})
    );

    // Failures to resolve, to parse or to be entitled go back to the conductor as `error`.
    let report = |target: &str| {
        format!(
            "function main(p) {{ return p.error === undefined ? {{ action: {target} }} : {{ params: {{ got: p.error }} }} }}"
        )
    };
    conductor(&api, "missing", &report("'nope'"));
    assert_eq!(
        api.call_ok("missing", &json!({})),
        json!({"got": "Failed to resolve action with name 'guest/nope' during composition."})
    );
    conductor(&api, "invalid", &report("42"));
    assert_eq!(
        api.call_ok("invalid", &json!({})),
        json!({"got": "Failed to parse action name from json value 42 during composition."})
    );
    let key = s.create_namespace("alice");
    let alice = s.api(&key);
    alice.action("private", &node("function main() { return {} }"));
    conductor(&api, "foreign", &report("'/alice/private'"));
    assert_eq!(
        api.call_ok("foreign", &json!({})),
        json!({"got": "Failed entitlement check for action with name 'alice/private' during composition."})
    );

    // A conductor that fails ends the composition with its error and status.
    conductor(
        &api,
        "fails",
        "function main(p) { return { error: 'conductor says no' } }",
    );
    let r = api.call("fails", &json!({}));
    assert_eq!(r.status, 502, "{}", r.text);
    assert_eq!(r.body["response"]["status"], "application error");
    assert_eq!(r.result(), &json!({"error": "conductor says no"}));
    // A component's error is the conductor's input, not the end.
    api.action(
        "bad",
        &node("function main() { return { error: 'component failed' } }"),
    );
    conductor(&api, "recovers", &report("'bad'"));
    assert_eq!(
        api.call_ok("recovers", &json!({})),
        json!({"got": "component failed"})
    );
}

#[test]
fn limits_count_across_nesting_and_compositions_nest() {
    let s = server().start();
    let api = s.guest();
    api.action("echo", &node("function main(p) { return p }"));
    // A conductor that never stops: 50 components, then 101 conductor runs in all.
    conductor(
        &api,
        "forever",
        "function main(p) { return { action: 'echo', params: p } }",
    );
    let r = api.call("forever", &json!({}));
    assert_eq!(r.status, 502, "{}", r.text);
    assert_eq!(
        r.result(),
        &json!({"error": "Too many actions in the composition."})
    );
    let rec = api.activation(&r.activation_header());
    let logs = ids(&rec);
    assert_eq!(logs.len(), 50 + 101, "{}", logs.len());
    // After the 50th component the conductor is told so, and keeps asking until cut off.
    let after = api.activation(&logs[logs.len() - 1]);
    assert_eq!(
        after["response"]["result"]["params"]["error"],
        "Too many actions in the composition."
    );

    // A sequence inside a conductor counts as one component; a conductor inside a conductor
    // runs as its own composition, linked by `cause`.
    api.action("inc", &node("function main(p) { return { v: p.v + 1 } }"));
    api.action("dbl", &node("function main(p) { return { v: p.v * 2 } }"));
    let r = api.put(
        &format!("{NS}/actions/incdbl?overwrite=true"),
        &json!({"exec": {"kind": "sequence", "components": ["/guest/inc", "/guest/dbl"]}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    conductor(
        &api,
        "inner",
        "function main(p) { return p.step ? { params: { v: p.v } } : { action: 'incdbl', params: { v: p.v }, state: { step: 1 } } }",
    );
    conductor(
        &api,
        "outer",
        "function main(p) { return p.step ? { params: { v: p.v } } : { action: 'inner', params: { v: p.v }, state: { step: 1 } } }",
    );
    let r = api.call("outer", &json!({"v": 1}));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.result(), &json!({"v": 4}));
    let outer_id = r.activation_header();
    let outer = api.activation(&outer_id);
    let logs = ids(&outer);
    assert_eq!(
        logs.len(),
        3,
        "conductor, inner composition, conductor: {outer}"
    );
    let inner = api.activation(&logs[1]);
    assert_eq!(inner["name"], "inner");
    assert_eq!(inner["cause"], outer_id.as_str());
    assert_eq!(annotation(&inner, "conductor"), Some(&json!(true)));
    assert_eq!(annotation(&inner, "topmost"), Some(&json!(false)));
    // Not flattened: the inner composition lists its own steps, the sequence among them.
    let inner_logs = ids(&inner);
    assert_eq!(inner_logs.len(), 3, "{inner}");
    let seq = api.activation(&inner_logs[1]);
    assert_eq!(seq["name"], "incdbl");
    assert_eq!(annotation(&seq, "kind"), Some(&json!("sequence")));

    // A conductor inside a sequence.
    let r = api.put(
        &format!("{NS}/actions/seqouter?overwrite=true"),
        &json!({"exec": {"kind": "sequence", "components": ["/guest/inc", "/guest/inner"]}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(api.call_ok("seqouter", &json!({"v": 1})), json!({"v": 6}));
}
