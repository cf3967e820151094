//! Measures the direct pipe round trip to a warm launcher (`Container::run`), and cold start.
//!
//! `cargo run --release -p whirl-runtime-process --example roundtrip [-- N]`
//! Env: `WHIRL_SANDBOX_INIT=<path to whirl-sandbox-init>` runs through the sandbox (root).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use serde_json::json;
use whirl_runtime::*;
use whirl_runtime_process::*;

fn isolation() -> Isolation {
    match std::env::var_os("WHIRL_SANDBOX_INIT") {
        Some(p) => Isolation::sandbox(Some(p.into())),
        None => Isolation::None,
    }
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    let dir = tempfile::tempdir()?;
    let iso = isolation();
    println!("isolation: {iso:?}");
    let factory = ProcessFactory::new(ProcessFactoryConfig::new(
        dir.path(),
        RuntimeManifest::detect(),
        iso,
    ))?;
    let env = ActivationEnv {
        namespace: "guest".into(),
        action_name: "/guest/bench".into(),
        action_version: "0.0.1".into(),
        activation_id: "0".into(),
        transaction_id: "tid".into(),
        deadline: "0".into(),
        api_key: None,
    };
    for (kind, code) in [
        ("nodejs:default", "function main(p) { return { n: p.n }; }"),
        (
            "python:default",
            "def main(p):\n    return {'n': p.get('n')}\n",
        ),
        ("blackbox", "#!/bin/sh\necho \"{\\\"n\\\": 1}\"\n"),
    ] {
        let runs = if kind == "blackbox" { n.min(200) } else { n };
        let t0 = Instant::now();
        let mut c = factory
            .create(ContainerSpec {
                id: format!("bench-{}", kind.replace(':', "-")),
                kind: kind.into(),
                memory_mb: 256,
                api_host: "http://127.0.0.1:3233".into(),
                prewarm: false,
                image: None,
            })
            .await?;
        let created = t0.elapsed();
        let init = c
            .init(
                InitRequest {
                    name: "bench".into(),
                    main: String::new(),
                    code: code.into(),
                    binary: false,
                    env: Default::default(),
                    concurrency: 1,
                },
                Duration::from_secs(30),
            )
            .await;
        assert!(init.is_success(), "{init:?}");
        let cold = t0.elapsed();
        let first = Instant::now();
        let req = RunRequest::from_value(&json!({"n": 1}), env.clone());
        let out = c.run(req.clone(), Duration::from_secs(30), 1 << 20).await;
        assert!(out.is_success(), "{out:?}");
        let first = first.elapsed();
        let mut times = Vec::with_capacity(runs);
        for _ in 0..runs {
            let t = Instant::now();
            let out = c.run(req.clone(), Duration::from_secs(30), 1 << 20).await;
            times.push(t.elapsed());
            assert!(out.is_success());
        }
        times.sort();
        println!(
            "{kind:16} create {:>8.2?}  create+init {:>8.2?}  first run {:>8.2?}  warm x{runs}: p50 {:>8.2?} p90 {:>8.2?} p99 {:>8.2?}",
            created,
            cold,
            first,
            pct(&times, 0.5),
            pct(&times, 0.9),
            pct(&times, 0.99)
        );
        c.destroy().await?;
    }
    Ok(())
}
