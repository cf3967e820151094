//! Sequences (spec §3.3) and trigger fires through rules (§3.5) with real actions.

use serde_json::{json, Value};

use crate::support::{annotation, eventually, node, server, Api, NS};

fn sequence(api: &Api, name: &str, components: &[&str]) {
    let r = api.put(
        &format!("{NS}/actions/{name}?overwrite=true"),
        &json!({"exec": {"kind": "sequence", "components": components}}),
    );
    assert_eq!(r.status, 200, "create sequence {name}: {}", r.text);
}

#[test]
fn sequence_chains_results_and_links_records() {
    let s = server().start();
    let api = s.guest();
    api.action(
        "inc",
        &node(
            "function main(p) { console.log('inc'); return { v: p.v + 1, seen: p.extra || null } }",
        ),
    );
    api.action(
        "dbl",
        &node("function main(p) { return { v: p.v * 2, keys: Object.keys(p).sort() } }"),
    );
    sequence(&api, "both", &["/guest/inc", "/guest/dbl"]);
    let r = api.call("both", &json!({"v": 3}));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.result(), &json!({"v": 8, "keys": ["seen", "v"]}));
    let seq_id = r.activation_header();
    let rec = api.activation(&seq_id);
    assert_eq!(rec["response"]["status"], "success");
    assert_eq!(annotation(&rec, "kind"), Some(&json!("sequence")));
    assert_eq!(annotation(&rec, "topmost"), Some(&json!(true)));
    assert_eq!(annotation(&rec, "path"), Some(&json!("guest/both")));
    let logs: Vec<String> = rec["logs"]
        .as_array()
        .expect("logs")
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect();
    assert_eq!(logs.len(), 2, "{rec}");
    for (id, (name, v)) in logs.iter().zip([("inc", 4), ("dbl", 8)]) {
        let c = api.activation(id);
        assert_eq!(c["name"], name);
        assert_eq!(c["cause"], seq_id.as_str(), "{c}");
        assert_eq!(annotation(&c, "causedBy"), Some(&json!("sequence")));
        assert_eq!(c["response"]["result"]["v"], v);
    }
    // The components' own text logs are in their records.
    let inc = api.activation(&logs[0]);
    assert!(
        inc["logs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l.as_str().unwrap().ends_with("stdout: inc")),
        "{inc}"
    );
}

#[test]
fn sequence_stops_at_the_first_error() {
    let s = server().start();
    let api = s.guest();
    api.action(
        "stop",
        &node("function main(p) { return { error: 'stopped at ' + p.v } }"),
    );
    api.action(
        "never",
        &node("function main(p) { return { reached: true } }"),
    );
    sequence(&api, "halts", &["/guest/stop", "/guest/never"]);
    let r = api.call("halts", &json!({"v": 1}));
    assert_eq!(r.status, 502, "{}", r.text);
    assert_eq!(r.body["response"]["status"], "application error");
    assert_eq!(r.result(), &json!({"error": "stopped at 1"}));
    let rec = api.activation(&r.activation_header());
    assert_eq!(rec["logs"].as_array().map(Vec::len), Some(1), "{rec}");
    assert!(
        api.activations_of("never").is_empty(),
        "the second component never ran"
    );
    // A developer error in a component short-circuits with its status too.
    api.action(
        "crash",
        &node("function main() { throw new Error('crash') }"),
    );
    sequence(&api, "crashes", &["/guest/crash", "/guest/never"]);
    let r = api.call("crashes", &json!({}));
    assert_eq!(r.status, 502, "{}", r.text);
    assert_eq!(r.body["response"]["status"], "action developer error");
    assert!(api.activations_of("never").is_empty());
}

#[test]
fn trigger_fire_runs_the_rule_action() {
    let s = server().start();
    let api = s.guest();
    api.action("handler", &node("function main(p) { return { got: p.x, trig: p.fixed, agent: p.__ow_headers['user-agent'] || null } }"));
    let r = api.put(
        &format!("{NS}/triggers/ring"),
        &json!({"parameters": [{"key": "fixed", "value": "tp"}]}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let r = api.put(
        &format!("{NS}/rules/onring"),
        &json!({"trigger": "/_/ring", "action": "/_/handler"}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let r = api.post(&format!("{NS}/triggers/ring"), &json!({"x": 42}));
    assert_eq!(r.status, 202, "{}", r.text);
    let tid = r.body["activationId"]
        .as_str()
        .expect("activationId")
        .to_string();
    assert_eq!(r.activation_header(), tid);
    // The trigger activation's logs get the rule outcome.
    let mut rule_log = Value::Null;
    eventually("the trigger activation lists the rule outcome", || {
        let rec = api.get(&format!("{NS}/activations/{tid}"));
        let Some(first) = rec.body["logs"]
            .as_array()
            .and_then(|l| l.first())
            .and_then(Value::as_str)
        else {
            return false;
        };
        rule_log = serde_json::from_str(first).expect("rule log is JSON");
        true
    });
    assert_eq!(rule_log["statusCode"], 0, "{rule_log}");
    assert_eq!(rule_log["success"], true);
    assert_eq!(rule_log["rule"], "guest/onring");
    assert_eq!(rule_log["action"], "guest/handler");
    let aid = rule_log["activationId"].as_str().expect("activationId");
    let rec = api.activation(aid);
    assert_eq!(rec["name"], "handler");
    assert_eq!(rec["response"]["result"]["got"], 42);
    assert_eq!(rec["response"]["result"]["trig"], "tp");
    let trig = api.activation(&tid);
    assert_eq!(trig["name"], "ring");
    assert_eq!(trig["response"]["result"], json!({"x": 42}));
}

#[test]
fn trigger_without_active_rule_answers_204() {
    let s = server().start();
    let api = s.guest();
    api.action("handler", &node("function main(p) { return p }"));
    let r = api.put(&format!("{NS}/triggers/quiet"), &json!({}));
    assert_eq!(r.status, 200, "{}", r.text);
    let r = api.post(&format!("{NS}/triggers/quiet"), &json!({"x": 1}));
    assert_eq!(r.status, 204, "{}", r.text);
    // A disabled rule does not count either.
    let r = api.put(
        &format!("{NS}/rules/off"),
        &json!({"trigger": "/_/quiet", "action": "/_/handler"}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let r = api.post(&format!("{NS}/rules/off"), &json!({"status": "inactive"}));
    assert!(r.status == 200 || r.status == 202, "{}", r.text);
    let r = api.post(&format!("{NS}/triggers/quiet"), &json!({"x": 1}));
    assert_eq!(r.status, 204, "{}", r.text);
    assert!(api.activations_of("quiet").is_empty());
    assert!(api.activations_of("handler").is_empty());
}
