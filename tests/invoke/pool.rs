//! The container pool (spec §4.4): warm reuse, isolation of containers across revisions and
//! namespaces, destruction after developer errors, stem cells, pausing, idle timeout, memory
//! capacity with LRU eviction and queueing.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::support::{annotation, eventually, limits, node, server, Api, NS};

/// A node action with a global counter: returns how many times this container ran it.
const COUNTER: &str = "let n = 0;\nfunction main(p) { n += 1; return { n } }";

/// Invoke blocking; `(n, had initTime)`.
fn count(api: &Api, name: &str) -> (u64, bool) {
    let r = api.call(name, &json!({}));
    assert_eq!(r.status, 200, "invoke {name}: {}", r.text);
    let n = r.result()["n"].as_u64().expect("counter");
    // The stored record has the same annotations as the response.
    (n, annotation(&r.body, "initTime").is_some())
}

#[test]
fn warm_container_is_reused_and_keeps_state() {
    let s = server().start();
    let api = s.guest();
    api.action("counter", &node(COUNTER));
    assert_eq!(count(&api, "counter"), (1, true), "cold start has initTime");
    assert_eq!(
        count(&api, "counter"),
        (2, false),
        "warm start has no initTime"
    );
    assert_eq!(count(&api, "counter"), (3, false));
    // The stored records agree.
    let list = api.activations_of("counter");
    assert_eq!(list.len(), 3);
    let inits: Vec<bool> = list
        .iter()
        .map(|a| annotation(a, "initTime").is_some())
        .collect();
    assert_eq!(inits, [false, false, true], "newest first");
    assert_eq!(
        s.containers().len(),
        1,
        "one container: {:?}",
        s.containers()
    );
}

#[test]
fn containers_are_not_shared_across_revisions() {
    let s = server().start();
    let api = s.guest();
    api.action("counter", &node(COUNTER));
    assert_eq!(count(&api, "counter").0, 1);
    assert_eq!(count(&api, "counter").0, 2);
    // Same code, new revision.
    api.action("counter", &node(COUNTER));
    assert_eq!(count(&api, "counter"), (1, true));
    assert_eq!(count(&api, "counter"), (2, false));
}

#[test]
fn containers_are_not_shared_across_namespaces() {
    let s = server().start();
    let guest = s.guest();
    let r = guest.put(&format!("{NS}/packages/shared"), &json!({"publish": true}));
    assert_eq!(r.status, 200, "{}", r.text);
    guest.action("shared/counter", &node(COUNTER));
    let other = s.api(&s.create_namespace("other"));
    assert_eq!(count(&guest, "shared/counter").0, 1);
    assert_eq!(count(&guest, "shared/counter").0, 2);
    // The same action invoked by another namespace gets its own container.
    let fq = |api: &Api| {
        let r = api.post(
            "/api/v1/namespaces/guest/actions/shared/counter?blocking=true",
            &json!({}),
        );
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(
            r.body["namespace"], "other",
            "activation namespace is the invoker's"
        );
        r.result()["n"].as_u64().expect("n")
    };
    assert_eq!(fq(&other), 1);
    assert_eq!(fq(&other), 2);
    // Through a binding in the other namespace: still not guest's container.
    let r = other.put(
        &format!("{NS}/packages/mine"),
        &json!({"binding": {"namespace": "guest", "name": "shared"}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let r = other.call("mine/counter", &json!({}));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.result()["n"],
        3,
        "other's own warm container of the same action"
    );
    assert_eq!(annotation(&r.body, "binding"), Some(&json!("other/mine")));
    assert_eq!(
        annotation(&r.body, "path"),
        Some(&json!("guest/shared/counter"))
    );
    assert_eq!(count(&guest, "shared/counter").0, 3);
}

#[test]
fn developer_error_destroys_the_container_application_error_keeps_it() {
    let s = server().start();
    let api = s.guest();
    let code = "let n = 0;\nfunction main(p) {\n  n += 1;\n  if (p.mode === 'app') return { error: 'app', n };\n  \
                if (p.mode === 'dev') throw new Error('dev');\n  return { n };\n}";
    api.action("modes", &node(code));
    let call = |mode: &str| api.call("modes", &json!({ "mode": mode }));
    assert_eq!(call("ok").result()["n"], 1);
    let r = call("app");
    assert_eq!(r.status, 502);
    assert_eq!(r.body["response"]["status"], "application error");
    assert_eq!(r.result(), &json!({"error": "app", "n": 2}));
    let r = call("ok");
    assert_eq!(r.result()["n"], 3, "kept after an application error");
    assert!(annotation(&r.body, "initTime").is_none());
    let r = call("dev");
    assert_eq!(r.status, 502);
    assert_eq!(r.body["response"]["status"], "action developer error");
    let r = call("ok");
    assert_eq!(
        r.result()["n"],
        1,
        "a new container after a developer error"
    );
    assert!(annotation(&r.body, "initTime").is_some());
}

#[test]
fn stem_cell_serves_the_first_invoke_of_its_kind_and_memory() {
    // 384 MB: the 256 MB stem cell plus room for one 128 MB container, so a 256 MB action can
    // only ever run in the stem cell (whether or not it finished booting when the invoke came).
    let s = server()
        .stem_cells("nodejs:default:1:256")
        .arg("--user-memory-mb")
        .arg("384")
        .start();
    let api = s.guest();
    eventually("the stem cell is started", || s.containers().len() == 1);
    let stem = s.containers()[0].clone();
    assert!(stem.contains("nodejs"), "stem cell id {stem}");
    // A stem cell waits at the lowest CPU share (it yields to running actions).
    let share_of = |id: &str| {
        s.cpu_shares()
            .into_iter()
            .find(|(c, _)| c == id)
            .map(|(_, v)| v)
    };
    let lowest = share_of(&stem).expect("the stem cell's CPU share");
    // A 128 MB action does not take the 256 MB stem cell: a cold container of its own.
    api.action("small", &limits(node(COUNTER), json!({"memory": 128})));
    assert_eq!(count(&api, "small"), (1, true));
    let now = s.containers();
    assert_eq!(now.len(), 2, "{now:?}");
    assert!(now.contains(&stem), "the stem cell is still there: {now:?}");
    let small = now
        .iter()
        .find(|c| *c != &stem)
        .expect("small's container")
        .clone();
    // A cold container gets the share for its memory right away (v1: 1024 per 256 MB).
    let small_share = share_of(&small).expect("small's CPU share");
    assert!(
        lowest < small_share,
        "stem cell {lowest}, small {small_share}"
    );
    // A 256 MB node action runs in the stem cell: no new container appears.
    api.action("counter", &limits(node(COUNTER), json!({"memory": 256})));
    assert_eq!(
        count(&api, "counter"),
        (1, true),
        "a stem cell still needs init"
    );
    assert_eq!(count(&api, "counter"), (2, false));
    let now = s.containers();
    assert!(now.contains(&stem), "{now:?}");
    assert!(
        now.iter().all(|c| c == &stem || c == &small),
        "no container but the stem cell and small's: {now:?}"
    );
    // Taken by an activation, the stem cell has the normal share for its 256 MB.
    let taken = share_of(&stem).expect("the stem cell's CPU share");
    assert!(
        taken > small_share,
        "small {small_share}, taken stem cell {taken}"
    );
    if std::path::Path::new("/sys/fs/cgroup/cpu/cpu.shares").exists() {
        assert_eq!((lowest, small_share, taken), (2, 512, 1024));
    }
    // Both actions still work (small's container may have been evicted for the stem cell).
    let (n, _) = count(&api, "small");
    assert!(n == 1 || n == 2, "{n}");
    assert_eq!(count(&api, "counter").0, 3);
}

#[test]
fn used_stem_cell_is_replaced() {
    let s = server().stem_cells("nodejs:default:1:256").start();
    let api = s.guest();
    eventually("the stem cell is started", || s.containers().len() == 1);
    api.action("counter", &limits(node(COUNTER), json!({"memory": 256})));
    assert_eq!(count(&api, "counter"), (1, true));
    // Whether the invoke took the stem cell or started cold, one stem cell is kept ready.
    eventually("a stem cell plus the action's container", || {
        s.containers().len() == 2
    });
    assert_eq!(count(&api, "counter"), (2, false));
    assert_eq!(s.containers().len(), 2, "{:?}", s.containers());
}

#[test]
fn paused_container_is_resumed_warm() {
    let s = server().arg("--pause-grace-secs").arg("1").start();
    let api = s.guest();
    api.action("counter", &node(COUNTER));
    assert_eq!(count(&api, "counter"), (1, true));
    eventually("the idle container is frozen", || {
        let st = s.freezer_states();
        st.len() == 1 && st[0].1 == "FROZEN"
    });
    assert_eq!(count(&api, "counter"), (2, false), "resumed with its state");
    // It is running (thawed) right after the invoke, and frozen again later.
    eventually("the container is frozen again", || {
        let st = s.freezer_states();
        st.len() == 1 && st[0].1 == "FROZEN"
    });
    assert_eq!(count(&api, "counter"), (3, false));
}

#[test]
fn idle_container_is_destroyed_after_the_idle_timeout() {
    let s = server()
        .arg("--pause-grace-secs")
        .arg("1")
        .arg("--idle-timeout-secs")
        .arg("2")
        .start();
    let api = s.guest();
    api.action("counter", &node(COUNTER));
    assert_eq!(count(&api, "counter"), (1, true));
    assert_eq!(s.containers().len(), 1);
    eventually("the idle container is destroyed", || {
        s.containers().is_empty()
    });
    assert_eq!(count(&api, "counter"), (1, true), "a new container");
}

#[test]
fn memory_capacity_evicts_the_least_recently_used_container() {
    let s = server().arg("--user-memory-mb").arg("256").start();
    let api = s.guest();
    api.action("a", &limits(node(COUNTER), json!({"memory": 256})));
    api.action("b", &limits(node(COUNTER), json!({"memory": 256})));
    // Only one 256 MB container fits: each switch evicts the other one.
    for _ in 0..2 {
        assert_eq!(count(&api, "a"), (1, true));
        assert_eq!(s.containers().len(), 1);
        assert_eq!(count(&api, "b"), (1, true));
        assert_eq!(s.containers().len(), 1);
    }
    // Consecutive invokes of the same action stay warm.
    assert_eq!(count(&api, "b"), (2, false));
}

#[test]
fn invocations_queue_when_memory_is_full() {
    let s = server().arg("--user-memory-mb").arg("256").start();
    let api = s.guest();
    let slow =
        "function main(p) { return new Promise(r => setTimeout(() => r({ who: p.who }), 2000)) }";
    api.action("slow1", &limits(node(slow), json!({"memory": 256})));
    api.action("slow2", &limits(node(slow), json!({"memory": 256})));
    let ids: Vec<String> = vec![
        api.start("slow1", &json!({"who": 1})),
        api.start("slow2", &json!({"who": 2})),
    ];
    let seen: BTreeSet<u64> = ids
        .iter()
        .map(|id| {
            let rec = api.activation(id);
            assert_eq!(rec["response"]["status"], "success", "{rec}");
            rec["response"]["result"]["who"].as_u64().expect("who")
        })
        .collect();
    assert_eq!(seen, BTreeSet::from([1, 2]));
    // Also blocking, from two threads at once.
    let results: Vec<Value> = std::thread::scope(|sc| {
        let hs: Vec<_> = [("slow1", 3), ("slow2", 4)]
            .into_iter()
            .map(|(name, who)| {
                let api = api.clone();
                sc.spawn(move || api.call(name, &json!({ "who": who })))
            })
            .collect();
        hs.into_iter()
            .map(|h| h.join().expect("thread"))
            .map(|r| r.body)
            .collect()
    });
    for (r, who) in results.iter().zip([3, 4]) {
        assert_eq!(r["response"]["result"]["who"], who, "{r}");
    }
}
