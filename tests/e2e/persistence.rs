//! Everything written survives `kill -9` and a restart on the same data dir.

use serde_json::{json, Value};

use crate::support::*;

/// Every read a user could make of the fixture, as (path, body).
fn snapshot(g: &Api, activation: &str) -> Vec<(String, Value)> {
    let mut paths: Vec<String> = [
        "actions?limit=0",
        "actions/hello",
        "actions/hello?code=false",
        "actions/seq",
        "actions/native",
        "actions/pkg/inner",
        "actions/bound/inner",
        "actions/pkg/",
        "packages?limit=0",
        "packages/pkg",
        "packages/bound",
        "triggers?limit=0",
        "triggers/t",
        "rules?limit=0",
        "rules/r",
        "rules/off",
        "activations",
        "activations?docs=true",
        "limits",
    ]
    .iter()
    .map(|p| format!("{NS}/{p}"))
    .collect();
    paths.push(format!("{NS}/activations/{activation}"));
    paths.push(format!("{NS}/activations/{activation}/logs"));
    paths.push(format!("{NS}/activations/{activation}/result"));
    paths.push("/api/v1/namespaces".into());
    paths
        .into_iter()
        .map(|p| (p.clone(), g.get(&p).ok()))
        .collect()
}

#[test]
fn entities_and_activations_survive_kill_9() {
    let s = Server::start();
    let g = s.guest();
    g.put(
        &format!("{NS}/actions/hello"),
        &json!({"exec": {"kind": "nodejs:default", "code": "function main(p) {\n  return {msg: 'ünïcödé ✓'}\n}"},
                "parameters": [{"key": "name", "value": "World"}],
                "limits": {"timeout": 1000, "memory": 128},
                "annotations": [{"key": "web-export", "value": true}]}),
    )
    .ok();
    g.put(
        &format!("{NS}/actions/native"),
        &json!({"exec": {"kind": "blackbox", "image": "openwhisk/dockerskeleton", "code": "UEsDBAoAAAAAAA=="}}),
    )
    .ok();
    g.put(
        &format!("{NS}/actions/hello?overwrite=true"),
        &json!({"publish": true}),
    )
    .ok();
    g.put(
        &format!("{NS}/packages/pkg"),
        &json!({"parameters": [{"key": "p", "value": 1}], "publish": true}),
    )
    .ok();
    g.put(&format!("{NS}/actions/pkg/inner"), &node_action("inner"))
        .ok();
    g.put(
        &format!("{NS}/packages/bound"),
        &json!({"binding": {"namespace": "_", "name": "pkg"}}),
    )
    .ok();
    g.put(
        &format!("{NS}/actions/seq"),
        &json!({"exec": {"kind": "sequence", "components": ["hello", "pkg/inner"]}}),
    )
    .ok();
    g.put(
        &format!("{NS}/triggers/t"),
        &json!({"parameters": [{"key": "x", "value": [1, 2]}]}),
    )
    .ok();
    g.put(
        &format!("{NS}/rules/r"),
        &json!({"trigger": "/_/t", "action": "/_/hello"}),
    )
    .ok();
    g.put(
        &format!("{NS}/rules/off"),
        &json!({"trigger": "/_/t", "action": "/_/seq"}),
    )
    .ok();
    assert_eq!(
        g.post(&format!("{NS}/rules/off"), &json!({"status": "inactive"}))
            .text,
        "OK"
    );
    let rec = activation_record(
        "guest",
        None,
        "hello",
        1_700_000_000_000,
        0,
        json!({"msg": "hi"}),
    );
    let aid = rec.activation_id.clone();
    store_activations(&s, vec![rec]);
    let key = s.create_namespace("alice");
    let alice = s.api(Some(&key));
    create_action(&alice, "mine");

    let before = snapshot(&g, &aid);
    let alice_before = alice.get(&format!("{NS}/actions/mine")).ok();
    let old_pid = s.pid();

    let s = s.restart();
    assert_ne!(s.pid(), old_pid);
    let g = s.guest();
    let after = snapshot(&g, &aid);
    for ((p, b), (_, a)) in before.iter().zip(&after) {
        assert_eq!(a, b, "GET {p} differs after kill -9 and restart");
    }
    // The second namespace's key and entities survived too.
    let alice = s.api(Some(&key));
    assert_eq!(alice.get(&format!("{NS}/actions/mine")).ok(), alice_before);
    // And the restarted server keeps working on the same data: versions continue.
    let u = g
        .put(&format!("{NS}/actions/hello?overwrite=true"), &json!({}))
        .ok();
    assert_eq!(u["version"], "0.0.3");
    assert_eq!(
        g.post(&format!("{NS}/rules/off"), &json!({"status": "active"}))
            .text,
        "OK"
    );

    // A second crash right after writes loses nothing either.
    let s = s.restart();
    let g = s.guest();
    assert_eq!(
        g.get(&format!("{NS}/actions/hello")).ok()["version"],
        "0.0.3"
    );
    assert_eq!(g.get(&format!("{NS}/rules/off")).ok()["status"], "active");
    assert_eq!(
        g.get(&format!("{NS}/activations/{aid}")).ok(),
        after.iter().find(|(p, _)| p.ends_with(&aid)).unwrap().1
    );
}
