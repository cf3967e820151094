//! Invokers register and ping: both controllers show the three as `up` (OpenWhisk's
//! `GET /invokers` shape) and count them healthy; each invoker answers its health port; invokes
//! through both controllers run, on more than one invoker, and each record is readable through
//! the other controller.

use std::collections::BTreeSet;

use serde_json::json;

use crate::harness::{containers_of, eventually, node, shared, Api};

#[test]
fn invokers_are_up_and_invokes_run_through_both_controllers() {
    let cluster = shared();
    for c in 0..2 {
        let body = cluster.invokers_of(c);
        assert_eq!(
            body,
            json!({"invoker0/0": "up", "invoker1/1": "up", "invoker2/2": "up"}),
            "GET /invokers of controller {c}"
        );
        let count = cluster.guest(c).get("/invokers/healthy/count");
        assert_eq!(count.status, 200, "{}", count.text);
        assert_eq!(count.body, json!(3), "{}", count.text);
    }
    for (i, inv) in cluster.invokers.iter().enumerate() {
        let health = Api::new(&format!("http://127.0.0.1:{}", inv.health_port), "");
        let r = health.get("/health");
        assert_eq!(r.status, 200, "invoker{i} /health: {}", r.text);
        assert_eq!(r.body, json!({"store": true, "bus": true}), "invoker{i}");
        let r = health.get("/ping");
        assert_eq!(r.status, 200, "invoker{i} /ping: {}", r.text);
    }

    let key = cluster.create_namespace("spread");
    let c0 = cluster.api(0, &key);
    let c1 = cluster.api(1, &key);
    // Nine actions: their home invokers (a hash modulo 3) cover more than one invoker.
    let names: Vec<String> = (0..9).map(|i| format!("spread{i}")).collect();
    let before: Vec<BTreeSet<String>> = cluster
        .invokers
        .iter()
        .map(|inv| containers_of(inv.proc.pid()))
        .collect();
    for (i, name) in names.iter().enumerate() {
        c0.action(
            name,
            &node(&format!(
                "function main(p) {{ return {{ action: {i}, id: process.env.__OW_ACTIVATION_ID, p }} }}"
            )),
        );
    }
    for (i, name) in names.iter().enumerate() {
        // Blocking through each controller.
        for (c, api) in [&c0, &c1].into_iter().enumerate() {
            let r = api.invoke(name, "blocking=true", &json!({"via": c}));
            assert_eq!(r.status, 200, "{name} via controller {c}: {}", r.text);
            assert_eq!(r.result()["action"], i);
            assert_eq!(r.result()["p"]["via"], c);
            let id = r.activation_id.clone().expect("activation id header");
            assert_eq!(r.result()["id"], id.as_str());
            // The record, through the other controller.
            let other = if c == 0 { &c1 } else { &c0 };
            let rec = other.wait_record(&id);
            assert_eq!(rec["response"]["result"]["p"]["via"], c);
        }
        // Non-blocking through each controller; the records, through the other.
        let a = c0.start(name, &json!({"via": "async0"}));
        let b = c1.start(name, &json!({"via": "async1"}));
        assert_eq!(c1.wait_record(&a)["response"]["result"]["id"], a.as_str());
        assert_eq!(c0.wait_record(&b)["response"]["result"]["id"], b.as_str());
    }
    // New containers (of these actions) started on more than one invoker.
    let mut used = BTreeSet::new();
    eventually("containers started on two invokers", || {
        used = cluster
            .invokers
            .iter()
            .enumerate()
            .filter(|(i, inv)| !containers_of(inv.proc.pid()).is_subset(&before[*i]))
            .map(|(i, _)| i)
            .collect();
        used.len() >= 2
    });
}
