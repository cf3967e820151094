//! Per-namespace throttles across controllers (spec §3.9): each of the 2 controllers enforces
//! its share of a namespace's invocations-per-minute limit, OpenWhisk's division by the number
//! of controllers dilated by 1.2, so the cluster as a whole admits about the limit, not twice it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::json;

use crate::harness::{eventually, node, shared, NS};

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_millis()
}

/// Run `attempt` inside one wall-clock minute (the per-minute throttles use fixed minute
/// windows): start early in a minute, and retry in the next one if a boundary was crossed.
fn within_one_minute(mut attempt: impl FnMut() -> Result<(), String>) {
    for _ in 0..3 {
        let into = now_ms() % 60_000;
        if into > 40_000 {
            std::thread::sleep(Duration::from_millis((60_000 - into) as u64 + 200));
        }
        let window = now_ms() / 60_000;
        let done = attempt();
        if now_ms() / 60_000 == window {
            if let Err(e) = done {
                panic!("within one minute window: {e}");
            }
            return;
        }
        let into = now_ms() % 60_000;
        std::thread::sleep(Duration::from_millis((60_000 - into) as u64 + 200));
    }
    panic!("could not run within one minute window");
}

#[test]
fn each_controller_enforces_its_share_of_a_namespace_limit() {
    let cluster = shared();
    let key = cluster.create_namespace("throttled");
    cluster.admin(&[
        "namespace",
        "limits",
        "set",
        "throttled",
        "--invocations-per-minute",
        "10",
    ]);
    let apis = [cluster.api(0, &key), cluster.api(1, &key)];
    for api in &apis {
        eventually("the limit applies", || {
            api.get(&format!("{NS}/limits")).body["invocationsPerMinute"].as_u64() == Some(10)
        });
    }
    apis[0].action("echo", &node("function main(p) { return p }"));
    // 10 per minute over 2 controllers: each allows ceil(10 / 2 × 1.2) = 6.
    within_one_minute(|| {
        for (c, api) in apis.iter().enumerate() {
            let mut codes = Vec::new();
            for n in 0..6 {
                codes.push(api.invoke("echo", "", &json!({ "n": n })).status);
            }
            let over = api.invoke("echo", "", &json!({}));
            if codes != [202; 6] || over.status != 429 {
                return Err(format!(
                    "controller {c}: statuses {codes:?} then {}: {}",
                    over.status, over.text
                ));
            }
            assert_eq!(
                over.body["error"], "Too many requests in the last minute (count: 7, allowed: 6).",
                "{}",
                over.text
            );
            assert!(over.body["code"].is_string(), "{}", over.text);
        }
        Ok(())
    });
}
