//! The bus or the store down for a while (reliability F6, F7): requests that need it fail with a
//! 5xx and OpenWhisk's generic `{"error","code"}` body (no URL, password or stack), nothing is
//! served unauthenticated, what does not need it goes on, and once the server is back everything
//! works again without restarting any Whirl process.

use serde_json::{json, Value};

use crate::harness::{
    eventually, eventually_or, node, Api, Cluster, Resp, GUEST_KEY, NS, PG_PASSWORD,
};

/// A 5xx with a generic JSON error body that names none of the cluster's servers or secrets.
#[track_caller]
fn generic_5xx(r: &Resp, cluster: &Cluster, what: &str) {
    assert!(
        (500..600).contains(&r.status),
        "{what}: expected a 5xx, got {} {}",
        r.status,
        r.text
    );
    assert!(
        r.body["error"].is_string(),
        "{what}: not a JSON error: {}",
        r.text
    );
    assert!(r.body["code"].is_string(), "{what}: no code: {}", r.text);
    let text = r.text.to_lowercase();
    for secret in [
        "postgres",
        "nats://",
        PG_PASSWORD,
        "whirl_cluster",
        &format!(":{}", cluster.pg.port()),
        &format!(":{}", cluster.nats.port()),
        "panicked",
        ".rs:",
        "backtrace",
    ] {
        assert!(
            !text.contains(&secret.to_lowercase()),
            "{what}: the body shows {secret:?}: {}",
            r.text
        );
    }
}

fn echo(version: u32) -> Value {
    node(&format!(
        "function main(p) {{ return {{ version: {version}, id: process.env.__OW_ACTIVATION_ID }} }}"
    ))
}

#[test]
fn nats_down_fails_invokes_fast_and_recovers_without_a_restart() {
    let mut cluster = Cluster::start();
    let c0 = cluster.guest(0);
    let c1 = cluster.guest(1);
    c0.action("echo", &echo(1));
    assert_eq!(c0.call_ok("echo", &json!({}))["version"], 1);
    assert_eq!(c1.call_ok("echo", &json!({}))["version"], 1);

    cluster.nats.stop().expect("stop nats-server");
    for (c, api) in [&c0, &c1].into_iter().enumerate() {
        for query in ["blocking=true", ""] {
            let r = api.invoke("echo", query, &json!({}));
            generic_5xx(
                &r,
                &cluster,
                &format!("invoke ({query}) via controller {c}"),
            );
        }
        // Entities are read and listed from the store.
        assert_eq!(api.get(&format!("{NS}/actions/echo")).status, 200);
        assert_eq!(api.get(&format!("{NS}/actions")).status, 200);
        assert_eq!(api.get(&format!("{NS}/activations")).status, 200);
    }
    for (i, inv) in cluster.invokers.iter().enumerate() {
        let health = Api::new(&format!("http://127.0.0.1:{}", inv.health_port), "");
        eventually(&format!("invoker{i} reports the bus down"), || {
            let r = health.get("/health");
            r.status == 503 && r.body["bus"] == false
        });
    }
    // An update written meanwhile through controller 0: controller 1 cannot hear of it now.
    c0.action("echo", &echo(2));

    cluster.nats.start_again().expect("start nats-server again");
    for (c, api) in [&c0, &c1].into_iter().enumerate() {
        eventually_or(
            &format!("invokes through controller {c} work again"),
            || api.invoke("echo", "blocking=true", &json!({})).status == 200,
            || cluster.logs(),
        );
    }
    cluster.wait_invokers(3, "up");
    // Both run the code written during the outage: controller 0 at once, controller 1 once
    // the announcement held back by the outage reaches it (no restart).
    assert_eq!(c0.call_ok("echo", &json!({}))["version"], 2);
    eventually_or(
        "controller 1 runs the code written during the outage",
        || c1.call_ok("echo", &json!({}))["version"] == 2,
        || cluster.logs(),
    );
    let id = c1.start("echo", &json!({}));
    assert_eq!(c0.wait_record(&id)["response"]["result"]["id"], id.as_str());
    for inv in &cluster.invokers {
        let health = Api::new(&format!("http://127.0.0.1:{}", inv.health_port), "");
        eventually("the invoker reports healthy", || {
            health.get("/health").status == 200
        });
    }
}

#[test]
fn postgres_down_fails_closed_and_recovers_without_a_restart() {
    let mut cluster = Cluster::start();
    cluster.lift_limits("guest", GUEST_KEY);
    let c0 = cluster.guest(0);
    let c1 = cluster.guest(1);
    c0.action("echo", &echo(1));
    assert_eq!(c1.call_ok("echo", &json!({}))["version"], 1);

    // Activations running when the store goes down: 4 non-blocking and 2 blocking ones, which
    // finish while it is down.
    let mut slow = node(
        "function main(p) { return new Promise(r => setTimeout(() => r({ id: process.env.__OW_ACTIVATION_ID }), 4000)) }",
    );
    slow["limits"] = json!({"concurrency": 10});
    c0.action("slow", &slow);
    let mut in_flight: Vec<String> = (0..4)
        .map(|n| if n % 2 == 0 { &c0 } else { &c1 }.start("slow", &json!({})))
        .collect();
    let callers: Vec<_> = [c0.clone(), c1.clone()]
        .into_iter()
        .map(|api| std::thread::spawn(move || api.invoke("slow", "blocking=true", &json!({}))))
        .collect();
    eventually("the invokers hold the 6 slow activations", || {
        (0..3).map(|i| cluster.queue(i).ack_pending).sum::<u64>() >= 6
    });
    cluster.pg.stop().expect("stop PostgreSQL");
    for caller in callers {
        let r = caller.join().expect("caller");
        match (r.status, r.activation_id.clone()) {
            (200 | 202, Some(id)) => in_flight.push(id),
            _ => generic_5xx(&r, &cluster, "blocking invoke in flight"),
        }
    }
    for (c, api) in [&c0, &c1].into_iter().enumerate() {
        // Past the identity cache, every request needs the store.
        eventually(&format!("controller {c} fails requests"), || {
            api.get(&format!("{NS}/actions")).status >= 500
        });
        for path in [
            format!("{NS}/actions"),
            format!("{NS}/activations"),
            format!("{NS}/actions/echo"),
            "/api/v1/namespaces".to_string(),
        ] {
            generic_5xx(
                &api.get(&path),
                &cluster,
                &format!("GET {path} via controller {c}"),
            );
        }
        let r = api.put(&format!("{NS}/actions/other"), &echo(9));
        generic_5xx(&r, &cluster, "PUT action");
        let r = api.invoke("echo", "", &json!({}));
        generic_5xx(&r, &cluster, "non-blocking invoke");
        let r = api.invoke("echo", "blocking=true", &json!({}));
        generic_5xx(&r, &cluster, "blocking invoke");
        // Nothing is served unauthenticated: no credentials, a wrong key, an unknown key.
        let anonymous = Api::new(&api.base, "");
        let r = anonymous.get(&format!("{NS}/actions"));
        assert_eq!(r.status, 401, "no credentials: {}", r.text);
        let wrong_secret = format!(
            "{}:{}",
            GUEST_KEY.split(':').next().unwrap(),
            "x".repeat(64)
        );
        let unknown = "11111111-2222-3333-4444-555555555555:secret";
        for key in [wrong_secret.as_str(), unknown] {
            let r = Api::new(&api.base, key).get(&format!("{NS}/actions"));
            assert!(
                r.status == 401 || (500..600).contains(&r.status),
                "a bad key got {} {}",
                r.status,
                r.text
            );
            if r.status != 401 {
                generic_5xx(&r, &cluster, "bad key");
            }
        }
    }
    for (i, inv) in cluster.invokers.iter().enumerate() {
        let health = Api::new(&format!("http://127.0.0.1:{}", inv.health_port), "");
        eventually(&format!("invoker{i} reports the store down"), || {
            let r = health.get("/health");
            r.status == 503 && r.body["store"] == false
        });
    }

    cluster.pg.start().expect("start PostgreSQL again");
    for (c, api) in [&c0, &c1].into_iter().enumerate() {
        eventually_or(
            &format!("controller {c} serves again"),
            || api.get(&format!("{NS}/actions")).status == 200,
            || cluster.logs(),
        );
        api.action(&format!("after{c}"), &echo(3));
        assert_eq!(api.call_ok(&format!("after{c}"), &json!({}))["version"], 3);
        let id = api.start("echo", &json!({}));
        assert_eq!(
            api.wait_record(&id)["response"]["result"]["id"],
            id.as_str()
        );
    }
    // The activations acknowledged before the outage, which ended during it, have their
    // records: nothing acknowledged is lost.
    for id in &in_flight {
        let rec = c0.wait_record(id);
        assert_eq!(rec["response"]["status"], "success", "{id}: {rec}");
        assert_eq!(rec["response"]["result"]["id"], id.as_str());
    }
    cluster.wait_invokers(3, "up");
}
