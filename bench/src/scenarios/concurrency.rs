//! CONC: intra-container concurrency. A nodejs action with `limits.concurrency` 50 under c=50
//! next to the same action with concurrency 1 in the same run: throughput, latency, and how
//! many containers served the load (each container answers with a token drawn at its init).
//! Twice: a noop, and an action that awaits 20 ms (a stand-in for I/O, where sharing a
//! container pays most).

use tokio::sync::Mutex;

use super::*;

/// Answers with its container's token, after `wait` ms.
const CODE: &str = "const token = Math.random().toString(36).slice(2);\n\
    async function main(p) { if (p.wait) await new Promise((r) => setTimeout(r, p.wait)); \
    return { token } }";

const C: usize = 50;

/// The token in a result body `{"token":"..."}`.
fn token(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    v.get("token")?.as_str().map(str::to_string)
}

/// A closed loop of `c` connections sending `shape` for `duration`, after `warmup`; the stats
/// and the tokens of the measured responses.
async fn run_collecting(
    addr: SocketAddr,
    c: usize,
    shape: Shape,
    warmup: Duration,
    duration: Duration,
) -> Result<(Stats, HashSet<String>, Option<String>)> {
    let start = Instant::now() + warmup;
    let end = start + duration;
    let tokens = Arc::new(Mutex::new(HashSet::new()));
    let mut tasks = Vec::new();
    for _ in 0..c {
        let shape = shape.clone();
        let tokens = tokens.clone();
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::connect(addr).await?;
            let mut samples = Vec::new();
            let mut errors = 0u64;
            let mut first_error = None;
            let mut mine = HashSet::new();
            loop {
                let t0 = Instant::now();
                if t0 >= end {
                    break;
                }
                let r = conn.send(&shape).await;
                let measured = t0 >= start;
                match r {
                    Ok((status, body)) if status.is_success() => {
                        if measured {
                            samples
                                .push(u64::try_from(t0.elapsed().as_nanos()).unwrap_or(u64::MAX));
                            if let Some(t) = token(&body) {
                                mine.insert(t);
                            }
                        }
                    }
                    Ok((status, body)) => {
                        errors += u64::from(measured);
                        first_error.get_or_insert_with(|| {
                            format!("{status}: {}", String::from_utf8_lossy(&body))
                        });
                    }
                    Err(e) => {
                        errors += u64::from(measured);
                        first_error.get_or_insert_with(|| e.to_string());
                        conn = Conn::connect(addr).await?;
                    }
                }
            }
            tokens.lock().await.extend(mine);
            Ok::<_, anyhow::Error>((samples, errors, first_error))
        }));
    }
    let mut samples = Vec::new();
    let mut errors = 0;
    let mut first_error = None;
    for t in tasks {
        let (s, e, f) = t.await??;
        samples.extend(s);
        errors += e;
        if first_error.is_none() {
            first_error = f;
        }
    }
    let stats = Stats::from_ns(samples, errors, duration);
    let tokens = std::mem::take(&mut *tokens.lock().await);
    Ok((stats, tokens, first_error))
}

impl Ctx {
    pub(super) async fn conc(&mut self, s: &mut Scenario) -> Result<()> {
        let addr = self.server(ServerKind::Main).await?;
        s.server = self.server_flags();
        let mut conn = Conn::connect(addr).await?;
        for n in [1u32, 50] {
            let body = json!({"exec": {"kind": "nodejs:default", "code": CODE},
                "limits": {"memory": 256, "concurrency": n}});
            conn.call(&Shape::put(
                format!("/api/v1/namespaces/_/actions/conc-{n}?overwrite=true"),
                body.to_string().into_bytes(),
            ))
            .await?;
        }
        for wait in [0u32, 20] {
            let mut one = None;
            for n in [1u32, 50] {
                let label = format!("concurrency {n}, {wait} ms action, c={C}");
                let key = format!("w{wait}.n{n}");
                let shape = Shape::post(
                    invoke_path(&format!("conc-{n}"), true),
                    json!({ "wait": wait }).to_string(),
                );
                // Concurrency 1 needs up to 50 containers: let them start first.
                let (st, tokens, first_error) =
                    run_collecting(addr, C, shape, self.secs(4.0, 1.0), self.secs(8.0, 1.5))
                        .await?;
                s.errors += st.errors;
                if let Some(e) = first_error {
                    s.notes.push(format!("{key}: first error: {e}"));
                }
                let mut rate = Figure::higher(
                    &format!("{key}.rate"),
                    &format!("{label} throughput"),
                    st.rate_per_s,
                    "req/s",
                );
                if let Some(base) = one {
                    rate = rate.baseline(base, "concurrency 1, same action and load, same run");
                }
                s.figures.push(rate);
                let mut p = pcts(&key, &label, &st, 1.0, "µs");
                p.retain(|f| f.key.ends_with(".p50") || f.key.ends_with(".p99"));
                s.figures.extend(p);
                let containers = Figure::lower(
                    &format!("{key}.containers"),
                    &format!("{label}: containers that served the load"),
                    tokens.len() as f64,
                    "",
                );
                s.figures.push(if n == 50 {
                    containers.target(1.0, "one container takes 50 activations at once")
                } else {
                    containers
                });
                s.figures.push(
                    Figure::lower(
                        &format!("{key}.errors"),
                        &format!("{label} errors"),
                        st.errors as f64,
                        "",
                    )
                    .target(0.0, "0 errors"),
                );
                s.series.push(series(&label, &st));
                if n == 1 {
                    one = Some(st.rate_per_s);
                }
            }
        }
        s.notes.push(
            "Each container answers with a token drawn when it initialised; `containers` counts \
             the distinct tokens of the measured responses. Server: --user-memory-mb 16384, so \
             concurrency 1 can start 50 containers of 256 MB."
                .into(),
        );
        Ok(())
    }
}
