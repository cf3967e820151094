//! An invoker dies (`kill -9`) with activations in flight (reliability F1–F3): every activation
//! the controllers acknowledged ends with exactly one record (a `whisk internal error` for those
//! the dead invoker held), none runs twice, no blocking caller hangs, the other invokers take the
//! traffic, the controllers show it leave and rejoin, and the restarted invoker removes the
//! sandboxes its previous run left. With every invoker gone, invokes get 503 and CRUD goes on.

use std::collections::{BTreeMap, BTreeSet};
use std::thread;

use serde_json::{json, Value};

use crate::harness::{
    containers_of, eventually, eventually_or, node, sandbox_owners, Cluster, GUEST_KEY, NS,
};

/// Sleeps `secs` seconds, then returns its activation id (as the action sees it).
const SLEEPER: &str = "function main(p) {
  return new Promise(r => setTimeout(() => r({ id: process.env.__OW_ACTIVATION_ID, n: p.n }),
    (p.secs || 0) * 1000))
}";

/// `whisk internal error`.
const WHISK_ERROR: &str = "whisk internal error";

#[test]
fn kill9_of_an_invoker_with_activations_in_flight() {
    let mut cluster = Cluster::start();
    cluster.lift_limits("guest", GUEST_KEY);
    let c0 = cluster.guest(0);
    let c1 = cluster.guest(1);
    // One container runs them all at once (limits.concurrency), so all go to the action's
    // home invoker and the machine runs one node process, not thirty.
    let mut action = node(SLEEPER);
    action["limits"] = json!({"concurrency": 50, "timeout": 120_000});
    c0.action("sleeper", &action);
    let warm = c0.call_ok("sleeper", &json!({"secs": 0}));
    assert!(warm["id"].is_string(), "{warm}");
    let home = find_home(&cluster);

    // 30 non-blocking activations, half through each controller, and 4 blocking callers.
    let mut accepted: Vec<String> = Vec::new();
    for n in 0..30 {
        let api = if n % 2 == 0 { &c0 } else { &c1 };
        accepted.push(api.start("sleeper", &json!({"secs": 90, "n": n})));
    }
    let callers: Vec<_> = (0..4)
        .map(|n| {
            let api = if n % 2 == 0 { c0.clone() } else { c1.clone() };
            thread::spawn(move || {
                api.invoke(
                    "sleeper",
                    "blocking=true",
                    &json!({"secs": 90, "n": 100 + n}),
                )
            })
        })
        .collect();
    // All 34 delivered to the home invoker (it holds them unacknowledged: they run).
    eventually_or(
        "the home invoker holds the 34 activations",
        || cluster.queue(home).ack_pending >= 34,
        || format!("{:?}\n{}", cluster.queue(home), cluster.logs()),
    );
    let old_pid = cluster.invokers[home].proc.pid();
    let old_dirs = sandbox_owners(old_pid);
    assert!(
        !containers_of(old_pid).is_empty(),
        "the sleeper's container runs"
    );
    cluster.kill_invoker(home);

    // No blocking caller hangs: each gets an answer (the forced completion's record once the
    // invoker is offline, or 202 past the wait); never a transport failure or timeout.
    for caller in callers {
        let r = caller.join().expect("caller thread");
        assert!(
            r.status == 200 || r.status == 202 || (500..600).contains(&r.status),
            "blocking caller got {} {}",
            r.status,
            r.text
        );
        if let Some(id) = r.activation_id.clone() {
            accepted.push(id);
        } else {
            // A 5xx without an id: the activation was not acknowledged.
            assert!(
                r.status >= 500,
                "{} without an activation id: {}",
                r.status,
                r.text
            );
        }
    }
    cluster.wait_invoker_state(home, "down");

    // Every acknowledged activation ends with exactly one record, a whisk error: the dead
    // invoker was running them all.
    let mut records: BTreeMap<String, Value> = BTreeMap::new();
    for id in &accepted {
        let rec = c1.wait_record(id);
        assert_eq!(rec["activationId"], id.as_str());
        assert_eq!(
            rec["response"]["status"], WHISK_ERROR,
            "activation {id} on the killed invoker: {rec}"
        );
        assert_eq!(
            c0.record(id).as_ref(),
            Some(&rec),
            "both controllers read one record"
        );
        records.insert(id.clone(), rec);
    }
    assert_eq!(
        listed(&c0, &accepted),
        accepted.iter().cloned().collect::<BTreeSet<_>>()
    );

    // The other invokers take the traffic, through both controllers.
    for api in [&c0, &c1] {
        let r = api.call_ok("sleeper", &json!({"secs": 0, "n": 200}));
        assert_eq!(r["n"], 200);
    }

    // The invoker restarts with the same id and data dir: it removes the sandboxes its killed
    // run left, and rejoins.
    cluster.restart_invoker(home);
    eventually_or(
        "the killed run's sandboxes are removed",
        || old_dirs.iter().all(|d| !d.exists()) && sandbox_owners(old_pid).is_empty(),
        || format!("left: {:?}", sandbox_owners(old_pid)),
    );
    cluster.wait_invoker_state(home, "up");
    for c in 0..2 {
        assert_eq!(
            cluster.guest(c).get("/invokers/healthy/count").body,
            json!(3)
        );
    }
    // It gets back what the killed run held (redelivered after the ack wait) and runs none of
    // it again: its queue drains, and every record is still the one written before.
    eventually_or(
        "the restarted invoker has handled its redelivered activations",
        || {
            let q = cluster.queue(home);
            q.ack_pending == 0 && q.pending == 0
        },
        || format!("{:?}\n{}", cluster.queue(home), cluster.logs()),
    );
    for (id, before) in &records {
        let now = c0.record(id).expect("record");
        assert_eq!(
            &now, before,
            "activation {id} changed after the restart: it ran again"
        );
    }
    assert_eq!(
        listed(&c1, &accepted),
        accepted.iter().cloned().collect::<BTreeSet<_>>()
    );

    // Fresh work runs, on any invoker, including the home one again.
    let id = c1.start("sleeper", &json!({"secs": 0, "n": 300}));
    let rec = c0.wait_record(&id);
    assert_eq!(rec["response"]["result"]["id"], id.as_str(), "{rec}");
    assert_eq!(
        c0.call_ok("sleeper", &json!({"secs": 0, "n": 301}))["n"],
        301
    );
}

/// The ids among `ids` in the action's activation list, asserting none is listed twice.
#[track_caller]
fn listed(api: &crate::harness::Api, ids: &[String]) -> BTreeSet<String> {
    let r = api.get(&format!("{NS}/activations?name=sleeper&limit=200"));
    assert_eq!(r.status, 200, "{}", r.text);
    let mut seen = BTreeSet::new();
    for a in r.body.as_array().expect("list") {
        let id = a["activationId"].as_str().expect("id").to_string();
        if ids.contains(&id) {
            assert!(seen.insert(id.clone()), "activation {id} listed twice");
        }
    }
    seen
}

/// The invoker whose sandboxes run the (warm) sleeper.
fn find_home(cluster: &Cluster) -> usize {
    let mut home = Vec::new();
    eventually("the sleeper's container is seen", || {
        home = (0..cluster.invokers.len())
            .filter(|&i| !containers_of(cluster.invokers[i].proc.pid()).is_empty())
            .collect();
        home.len() == 1
    });
    home[0]
}

#[test]
fn with_no_invoker_left_invokes_get_503_and_crud_goes_on() {
    let mut cluster = Cluster::start();
    let c0 = cluster.guest(0);
    let c1 = cluster.guest(1);
    c0.action(
        "hello",
        &node("function main() { return { hello: 'world' } }"),
    );
    assert_eq!(c1.call_ok("hello", &json!({}))["hello"], "world");
    for i in 0..3 {
        cluster.stop_invoker(i);
    }
    cluster.wait_invokers(3, "down");
    for (c, api) in [&c0, &c1].into_iter().enumerate() {
        assert_eq!(
            cluster.guest(c).get("/invokers/healthy/count").body,
            json!(0)
        );
        for query in ["blocking=true", ""] {
            let r = api.invoke("hello", query, &json!({}));
            assert_eq!(
                r.status, 503,
                "invoke ({query}) via controller {c}: {}",
                r.text
            );
            assert!(r.body["error"].is_string(), "{}", r.text);
            assert!(r.body["code"].is_string(), "{}", r.text);
        }
        // CRUD keeps working.
        let name = format!("crud{c}");
        let path = format!("{NS}/actions/{name}");
        api.action(&name, &node("function main() { return {} }"));
        assert_eq!(api.get(&path).status, 200);
        assert_eq!(api.get(&format!("{NS}/actions")).status, 200);
        assert_eq!(api.get(&format!("{NS}/activations")).status, 200);
        assert_eq!(api.delete(&path).status, 200);
    }
    // One invoker back: invokes run again, with no controller restarted.
    cluster.restart_invoker(1);
    cluster.wait_invoker_state(1, "up");
    assert_eq!(c0.call_ok("hello", &json!({}))["hello"], "world");
    assert_eq!(c1.call_ok("hello", &json!({}))["hello"], "world");
}
