//! Intra-container concurrency (`limits.concurrency`, spec §4.4): a nodejs action with
//! concurrency N runs up to N activations at once in one container, each with its own
//! `__OW_*` variables and its own logs; python runs one activation per container.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::{json, Value};

use crate::support::{limits, node, python, server, Api};

/// Every activation waits until `n` are in flight in its container (run one at a time, they
/// would all time out), then answers with the container's token and its own activation id.
fn barrier(n: u64) -> String {
    format!(
        r#"
        const token = Math.random().toString(36).slice(2);
        let active = 0;
        let release;
        const all = new Promise((r) => {{ release = r; }});
        async function main(p) {{
            const me = process.env.__OW_ACTIVATION_ID;
            console.log('start ' + me);
            if (++active === {n}) release();
            await all;
            await new Promise((r) => setTimeout(r, 5 * p.i));
            console.error('end ' + me + ' ' + process.env.__OW_ACTIVATION_ID);
            return {{ token, me, env: process.env.__OW_ACTIVATION_ID }};
        }}"#
    )
}

/// `n` blocking invokes of `name` at once; the response bodies.
fn at_once(api: &Api, name: &str, n: u64) -> Vec<Value> {
    let api = Arc::new(api.clone());
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let api = api.clone();
            let name = name.to_string();
            std::thread::spawn(move || {
                let r = api.call(&name, &json!({ "i": i }));
                assert_eq!(r.status, 200, "invoke {name}: {}", r.text);
                r.body
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

#[test]
fn nodejs_runs_concurrent_activations_in_one_container_with_their_own_logs() {
    let s = server().stem_cells("none").start();
    let api = s.guest();
    api.action(
        "conc",
        &limits(
            node(&barrier(5)),
            json!({"concurrency": 5, "timeout": 20000}),
        ),
    );
    let records = at_once(&api, "conc", 5);
    let tokens: BTreeSet<String> = records
        .iter()
        .map(|r| {
            r["response"]["result"]["token"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(tokens.len(), 1, "one container ran all five: {tokens:?}");
    assert_eq!(s.containers().len(), 1, "{:?}", s.containers());
    for rec in &records {
        let id = rec["activationId"].as_str().unwrap();
        let result = &rec["response"]["result"];
        assert_eq!(result["me"], json!(id), "{rec}");
        assert_eq!(result["env"], json!(id), "{rec}");
        // The stored record has the activation's own logs, nothing of the others'.
        let stored = api.activation(id);
        let mut logs: Vec<String> = stored["logs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap()[31..].to_string())
            .collect();
        logs.sort();
        assert_eq!(
            logs,
            vec![
                format!("stderr: end {id} {id}"),
                format!("stdout: start {id}")
            ],
            "{stored}"
        );
        assert_eq!(
            stored["annotations"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["key"] == "limits")
                .unwrap()["value"]["concurrency"],
            5
        );
    }
    // Warm now: five more share the same container.
    let again = at_once(&api, "conc", 5);
    for rec in &again {
        assert_eq!(
            rec["response"]["result"]["token"].as_str().unwrap(),
            tokens.iter().next().unwrap()
        );
    }
    assert_eq!(s.containers().len(), 1, "{:?}", s.containers());
}

#[test]
fn python_keeps_one_activation_per_container() {
    let s = server().stem_cells("none").start();
    let api = s.guest();
    let code = "import random, time\ntoken = random.random()\ndef main(a):\n    time.sleep(1)\n    return {'token': token}\n";
    api.action(
        "pyconc",
        &limits(python(code), json!({"concurrency": 3, "timeout": 20000})),
    );
    let records = at_once(&api, "pyconc", 3);
    let tokens: BTreeSet<String> = records
        .iter()
        .map(|r| r["response"]["result"]["token"].to_string())
        .collect();
    assert_eq!(tokens.len(), 3, "three containers: {tokens:?}");
}

#[test]
fn a_concurrency_over_500_is_refused() {
    let s = server().stem_cells("none").start();
    let api = s.guest();
    let r = api.put(
        "/api/v1/namespaces/_/actions/big?overwrite=true",
        &limits(
            node("function main() { return {} }"),
            json!({"concurrency": 501}),
        ),
    );
    r.assert_error(
        400,
        "requirement failed: concurrency 501 exceeds allowed threshold of 500",
    );
    let r = api.put(
        "/api/v1/namespaces/_/actions/max?overwrite=true",
        &limits(
            node("function main() { return {} }"),
            json!({"concurrency": 500}),
        ),
    );
    assert_eq!(r.status, 200, "{}", r.text);
}
