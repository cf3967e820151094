//! Concurrent updates of one entity: optimistic concurrency, never a lost write.

use std::sync::{Arc, Barrier};

use serde_json::json;

use crate::support::*;

fn hammer(
    s: &Server,
    path: &str,
    body: serde_json::Value,
    threads: usize,
    per_thread: usize,
) -> (usize, usize) {
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let g = s.guest();
            let barrier = barrier.clone();
            let path = path.to_string();
            let mut body = body.clone();
            std::thread::spawn(move || {
                barrier.wait();
                let mut ok = Vec::new();
                let mut conflicts = 0;
                for i in 0..per_thread {
                    body["parameters"] = json!([{"key": "writer", "value": format!("{t}-{i}")}]);
                    let r = g.put(&format!("{path}?overwrite=true"), &body);
                    match r.status {
                        200 => ok.push(r.body["version"].clone()),
                        409 => {
                            r.assert_error(409, "Concurrent modification to resource detected.");
                            conflicts += 1;
                        }
                        other => panic!("unexpected {other}: {}", r.text),
                    }
                }
                (ok, conflicts)
            })
        })
        .collect();
    let mut versions = Vec::new();
    let mut conflicts = 0;
    for h in handles {
        let (ok, c) = h.join().expect("writer thread");
        versions.extend(ok);
        conflicts += c;
    }
    // Every successful write produced a distinct version.
    let mut patches: Vec<u64> = versions.iter().map(patch).collect();
    patches.sort_unstable();
    let n = patches.len();
    patches.dedup();
    assert_eq!(
        patches.len(),
        n,
        "two successful writes returned the same version"
    );
    (n, conflicts)
}

#[test]
fn concurrent_action_updates_never_lose_a_write() {
    let s = Server::start();
    let g = s.guest();
    create_action(&g, "contended");
    let (ok, conflicts) = hammer(
        &s,
        &format!("{NS}/actions/contended"),
        node_action("x"),
        8,
        10,
    );
    assert_eq!(ok + conflicts, 80);
    assert!(ok >= 1);
    let a = g.get(&format!("{NS}/actions/contended")).ok();
    assert_eq!(
        patch(&a["version"]),
        1 + ok as u64,
        "final version = 1 + successful updates"
    );
    assert_eq!(a["exec"]["code"], "x");
}

#[test]
fn concurrent_trigger_and_package_updates_never_lose_a_write() {
    let s = Server::start();
    let g = s.guest();
    g.put(&format!("{NS}/triggers/t"), &json!({})).ok();
    g.put(&format!("{NS}/packages/p"), &json!({})).ok();
    for path in ["triggers/t", "packages/p"] {
        let (ok, conflicts) = hammer(&s, &format!("{NS}/{path}"), json!({}), 6, 8);
        assert_eq!(ok + conflicts, 48);
        let e = g.get(&format!("{NS}/{path}")).ok();
        assert_eq!(patch(&e["version"]), 1 + ok as u64, "{path}");
    }
}

/// Rules linking to one trigger concurrently: every created rule ends up in the trigger's map.
#[test]
fn concurrent_rule_creation_links_every_rule() {
    let s = Server::start();
    let g = s.guest();
    create_action(&g, "a");
    g.put(&format!("{NS}/triggers/t"), &json!({})).ok();
    let handles: Vec<_> = (0..6)
        .map(|i| {
            let g = s.guest();
            std::thread::spawn(move || {
                let r = g.put(
                    &format!("{NS}/rules/r{i}"),
                    &json!({"trigger": "/_/t", "action": "/_/a"}),
                );
                assert_eq!(r.status, 200, "{}", r.text);
            })
        })
        .collect();
    for h in handles {
        h.join().expect("rule thread");
    }
    let t = g.get(&format!("{NS}/triggers/t")).ok();
    assert_eq!(t["rules"].as_object().map(|m| m.len()), Some(6), "{t}");
    for i in 0..6 {
        assert_eq!(g.get(&format!("{NS}/rules/r{i}")).ok()["status"], "active");
    }
}
