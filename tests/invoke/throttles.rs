//! Namespace throttles (spec §3.9): invocations per minute, concurrent invocations, fires per
//! minute, set with `whirl admin namespace limits set`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::json;

use crate::support::{node, python, server, NS};

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
        // Crossed a minute boundary: counters restarted mid-way; the next minute is fresh.
        let into = now_ms() % 60_000;
        std::thread::sleep(Duration::from_millis((60_000 - into) as u64 + 200));
    }
    panic!("could not run within one minute window");
}

#[test]
fn invocations_per_minute_limit_answers_429() {
    let s = server().start();
    let api = s.guest();
    api.action("echo", &node("function main(p) { return p }"));
    s.set_guest_limits(
        &["--invocations-per-minute", "3"],
        ("invocationsPerMinute", 3),
    );
    within_one_minute(|| {
        let mut codes = Vec::new();
        for i in 0..3 {
            codes.push(api.invoke("echo", "", &json!({ "i": i })).status);
        }
        let r = api.invoke("echo", "", &json!({}));
        if codes != [202, 202, 202] || r.status != 429 {
            // Only acceptable when a minute boundary was crossed (checked by the caller).
            return Err(format!("statuses {codes:?} then {}: {}", r.status, r.text));
        }
        r.assert_error(
            429,
            "Too many requests in the last minute (count: 4, allowed: 3).",
        );
        // Rejected requests count too, and the check comes before the action lookup.
        let r = api.invoke("does-not-exist", "", &json!({}));
        r.assert_error(
            429,
            "Too many requests in the last minute (count: 5, allowed: 3).",
        );
        Ok(())
    });
}

#[test]
fn concurrent_invocations_limit_answers_429() {
    let s = server().start();
    let api = s.guest();
    api.action(
        "slow",
        &python("import time\ndef main(args):\n    time.sleep(3)\n    return {'done': True}\n"),
    );
    s.set_guest_limits(
        &["--concurrent-invocations", "1"],
        ("concurrentInvocations", 1),
    );
    let first = api.start("slow", &json!({}));
    let r = api.invoke("slow", "", &json!({}));
    r.assert_error(
        429,
        "Too many concurrent requests in flight (count: 1, allowed: 1).",
    );
    let r = api.invoke("slow", "blocking=true", &json!({}));
    r.assert_error(
        429,
        "Too many concurrent requests in flight (count: 1, allowed: 1).",
    );
    let rec = api.activation(&first);
    assert_eq!(rec["response"]["result"], json!({"done": true}));
    // Once the first one completed its slot is free again.
    let mut second = None;
    crate::support::eventually("the concurrency slot is released", || {
        let r = api.invoke("slow", "blocking=true", &json!({}));
        if r.status == 429 {
            return false;
        }
        second = Some(r);
        true
    });
    let r = second.expect("second invoke");
    assert_eq!(r.status, 200, "{}", r.text);
}

#[test]
fn fires_per_minute_limit_answers_429() {
    let s = server().start();
    let api = s.guest();
    let r = api.put(&format!("{NS}/triggers/tick"), &json!({}));
    assert_eq!(r.status, 200, "{}", r.text);
    s.set_guest_limits(&["--fires-per-minute", "2"], ("firesPerMinute", 2));
    within_one_minute(|| {
        let codes: Vec<u16> = (0..2)
            .map(|_| api.post(&format!("{NS}/triggers/tick"), &json!({})).status)
            .collect();
        // No rule: 204.
        let r = api.post(&format!("{NS}/triggers/tick"), &json!({}));
        if codes != [204, 204] || r.status != 429 {
            return Err(format!("statuses {codes:?} then {}: {}", r.status, r.text));
        }
        r.assert_error(
            429,
            "Too many requests in the last minute (count: 3, allowed: 2).",
        );
        Ok(())
    });
}
