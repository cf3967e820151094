//! A controller dies (`kill -9`) under load through both (reliability F4, F5): the other keeps
//! serving every request it gets, the non-blocking activations the dead one acknowledged all end
//! with their records (the invokers write them), and the dead one, restarted, serves again.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::{eventually, node, Cluster, GUEST_KEY, NS};

#[test]
fn kill9_of_a_controller_under_load() {
    let mut cluster = Cluster::start();
    cluster.lift_limits("guest", GUEST_KEY);
    let c0 = cluster.guest(0);
    let c1 = cluster.guest(1);
    c0.action(
        "echo",
        &node("function main(p) { return { n: p.n, id: process.env.__OW_ACTIVATION_ID } }"),
    );
    let mut slow =
        node("function main(p) { return new Promise(r => setTimeout(() => r({ n: p.n }), 2000)) }");
    slow["limits"] = json!({"concurrency": 100});
    c0.action("slow", &slow);
    assert_eq!(c0.call_ok("echo", &json!({"n": 0}))["n"], 0);
    assert_eq!(c1.call_ok("slow", &json!({"n": 0}))["n"], 0);

    let stop = Arc::new(AtomicBool::new(false));
    let killed_at: Arc<Mutex<Option<Instant>>> = Arc::default();
    // Controller 0's clients: blocking invokes and GETs, every answer must be a success.
    let clients0: Vec<_> = (0..2)
        .map(|t| {
            let (api, stop, killed_at) = (c0.clone(), stop.clone(), killed_at.clone());
            thread::spawn(move || {
                let (mut ok, mut after_kill, mut failures) = (0u32, 0u32, Vec::new());
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let r = api.invoke("echo", "blocking=true", &json!({"n": n}));
                    let get = api.get(&format!("{NS}/actions/echo"));
                    if r.status == 200 && r.result()["n"] == n && get.status == 200 {
                        ok += 1;
                        if killed_at.lock().unwrap().is_some() {
                            after_kill += 1;
                        }
                    } else {
                        failures.push(format!(
                            "client {t}: {} {} / GET {}",
                            r.status, r.text, get.status
                        ));
                    }
                }
                (ok, after_kill, failures)
            })
        })
        .collect();
    // Controller 1's client: non-blocking invokes of the slow action until it dies.
    let client1 = {
        let (api, stop) = (c1.clone(), stop.clone());
        thread::spawn(move || {
            let mut accepted = Vec::new();
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let r = api.invoke("slow", "", &json!({"n": n}));
                match r.status {
                    202 => accepted.push(r.body["activationId"].as_str().unwrap().to_string()),
                    // The controller is gone (connection refused or reset).
                    0 => break,
                    other => panic!("controller 1 answered {other}: {}", r.text),
                }
                thread::sleep(Duration::from_millis(20));
            }
            accepted
        })
    };
    // Let the load run, then kill controller 1 with activations it acknowledged in flight.
    thread::sleep(Duration::from_secs(3));
    cluster.kill_controller(1);
    *killed_at.lock().unwrap() = Some(Instant::now());
    let accepted = client1.join().expect("client of controller 1");
    assert!(
        accepted.len() >= 10,
        "controller 1 accepted {} activations",
        accepted.len()
    );
    // Controller 0 keeps serving: its clients go on for a while after the kill.
    thread::sleep(Duration::from_secs(5));
    stop.store(true, Ordering::Relaxed);
    for c in clients0 {
        let (ok, after_kill, failures) = c.join().expect("client of controller 0");
        assert!(
            failures.is_empty(),
            "controller 0 failed requests: {failures:#?}\n{}",
            cluster.logs()
        );
        assert!(
            ok > 0 && after_kill > 0,
            "ok {ok}, after the kill {after_kill}"
        );
    }

    // Every activation controller 1 acknowledged ran and has its record.
    for id in &accepted {
        let rec = c0.wait_record(id);
        assert_eq!(rec["response"]["status"], "success", "{id}: {rec}");
    }
    assert_eq!(
        cluster.invokers_of(0),
        json!({"invoker0/0": "up", "invoker1/1": "up", "invoker2/2": "up"})
    );

    // Controller 1 restarted (same id and port) serves again, with the invokers it hears.
    cluster.restart_controller(1);
    cluster.wait_invokers(3, "up");
    assert_eq!(c1.call_ok("echo", &json!({"n": 7}))["n"], 7);
    let id = c1.start("slow", &json!({"n": 8}));
    eventually("the new activation is recorded", || {
        c0.record(&id).is_some()
    });
}
