//! OpenWhisk's conductor-actions walk-through (docs/conductors.md upstream) with `whirl` in
//! place of `wsk`: `triple` and `increment`, the conductor `tripleAndIncrement` created with
//! `-a conductor true`, its blocking result, and the six activation records of one invocation
//! (the primary record with its causal chain, and the secondary ones).

use crate::support::{kv, Server};

const TRIPLE_JS: &str = "function main({ value }) { return { value: value * 3 } }\n";
const INCREMENT_JS: &str = "function main({ value }) { return { value: value + 1 } }\n";
/// Steps through triple, then increment, keeping its place in `$step`.
const CONDUCTOR_JS: &str = "function main(params) {
    let step = params.$step || 0
    delete params.$step
    switch (step) {
        case 0: return { action: 'triple', params, state: { $step: 1 } }
        case 1: return { action: 'increment', params, state: { $step: 2 } }
        case 2: return { params }
    }
}
";

#[test]
fn conductor_walkthrough() {
    let s = Server::start();
    let w = s.wsk();
    w.write("triple.js", TRIPLE_JS);
    w.write("increment.js", INCREMENT_JS);
    w.write("tripleAndIncrement.js", CONDUCTOR_JS);
    let o = w.ok(&["action", "create", "triple", "triple.js"]);
    assert_eq!(o.stdout, "ok: created action triple\n");
    w.ok(&["action", "create", "increment", "increment.js"]);
    let o = w.ok(&[
        "action",
        "create",
        "tripleAndIncrement",
        "tripleAndIncrement.js",
        "-a",
        "conductor",
        "true",
    ]);
    assert_eq!(o.stdout, "ok: created action tripleAndIncrement\n");

    // Invocation: the composition's result.
    let r = w.ok(&[
        "action",
        "invoke",
        "tripleAndIncrement",
        "-r",
        "-p",
        "value",
        "3",
    ]);
    assert_eq!(r.json(), serde_json::json!({"value": 10}));

    // Activations: one invocation, six records.
    let o = w.ok(&["action", "invoke", "tripleAndIncrement", "-p", "value", "3"]);
    assert!(
        o.stdout
            .starts_with("ok: invoked /_/tripleAndIncrement with id "),
        "{}",
        o.stdout
    );
    let primary_id = o.id();
    let primary = w.activation(&primary_id);
    assert_eq!(
        primary["response"]["result"],
        serde_json::json!({"value": 10})
    );
    assert_eq!(
        kv(&primary["annotations"], "kind"),
        Some(&serde_json::json!("sequence"))
    );
    assert_eq!(
        kv(&primary["annotations"], "conductor"),
        Some(&serde_json::json!(true))
    );
    assert_eq!(
        kv(&primary["annotations"], "topmost"),
        Some(&serde_json::json!(true))
    );
    let caused: Vec<String> = primary["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(caused.len(), 5, "{primary}");
    let mut names = Vec::new();
    for id in &caused {
        let a = w.activation(id);
        assert_eq!(a["cause"], serde_json::json!(primary_id), "{a}");
        names.push(a["name"].as_str().unwrap().to_string());
    }
    assert_eq!(
        names,
        [
            "tripleAndIncrement",
            "triple",
            "tripleAndIncrement",
            "increment",
            "tripleAndIncrement"
        ]
    );
    // `activation list` shows the primary record as a sequence, the others as nodejs.
    let list = w.ok(&["activation", "list", "--limit", "6"]);
    let lines: Vec<&str> = list.stdout.lines().skip(1).collect();
    assert_eq!(lines.len(), 6, "{}", list.stdout);
    assert!(
        lines
            .iter()
            .any(|l| l.contains(&primary_id) && l.contains(" sequence ")),
        "{}",
        list.stdout
    );
    for id in &caused {
        assert!(
            lines
                .iter()
                .any(|l| l.contains(id.as_str()) && l.contains(" nodejs:")),
            "{}",
            list.stdout
        );
    }
}
