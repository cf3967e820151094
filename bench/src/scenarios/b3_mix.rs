//! B3: warm mix of distinct actions, round robin at c=8.

use super::*;

impl Ctx {
    pub(super) async fn b3(&mut self, s: &mut Scenario) -> Result<()> {
        let addr = self.server(ServerKind::Main).await?;
        s.server = self.server_flags();
        let n: usize = self.pick(100, 10);
        let mut names = Vec::with_capacity(n);
        for i in 0..n {
            let (fam, kind, code) = KINDS[i % 2];
            let name = format!("mix-{fam}-{i}");
            if !self.actions.contains(&name) {
                self.put_action(addr, &name, kind, code, 128).await?;
            }
            names.push(name);
        }
        // Warm every action (4 at a time), not measured.
        let names = Arc::new(names);
        let next = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let names = names.clone();
            let next = next.clone();
            tasks.push(tokio::spawn(async move {
                let mut c = Conn::connect(addr).await?;
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(name) = names.get(i) else { break };
                    c.call(&Shape::post(invoke_path(name, true), "{}")).await?;
                }
                Ok::<_, anyhow::Error>(())
            }));
        }
        for t in tasks {
            t.await??;
        }
        // Connection w cycles over actions w, w+8, w+16, ...: every action is visited in turn
        // and never by two connections at once (which would need a second container).
        const C: usize = 8;
        let per_worker: Arc<Vec<Vec<Shape>>> = Arc::new(
            (0..C)
                .map(|w| {
                    names
                        .iter()
                        .skip(w)
                        .step_by(C)
                        .map(|n| Shape::post(invoke_path(n, false), "{}"))
                        .collect()
                })
                .collect(),
        );
        let shape: ShapeFn = Arc::new(move |w, i| {
            let mine = &per_worker[w % C];
            mine[(i as usize) % mine.len().max(1)].clone()
        });
        let r: LoadResult = closed_loop(
            addr,
            &Load {
                concurrency: C.min(n),
                duration: self.secs(20.0, 2.0),
                max_requests: u64::MAX,
                warmup: Duration::ZERO,
            },
            shape,
            Some(b"\"initTime\""),
        )
        .await?;
        s.errors += r.stats.errors;
        if let Some(e) = &r.first_error {
            s.notes.push(format!("first error: {e}"));
        }
        let hit = if r.stats.count > 0 {
            100.0 * (1.0 - r.flagged as f64 / r.stats.count as f64)
        } else {
            0.0
        };
        let b2 = (!self.b2_rate_c4.is_empty())
            .then(|| self.b2_rate_c4.iter().sum::<f64>() / self.b2_rate_c4.len() as f64);
        let mut rate = Figure::higher(
            "rate",
            &format!("{n} actions, c=8 throughput"),
            r.stats.rate_per_s,
            "req/s",
        );
        if let Some(b) = b2 {
            rate = rate
                .baseline(b, "in-run B2 c=4 (mean of node and python)")
                .target(0.8 * b, "performance.md: ≥ 80% of B2");
        }
        s.figures.push(rate);
        let mut p = pcts("lat", &format!("{n} actions"), &r.stats, 1.0, "µs");
        p.retain(|f| !f.key.ends_with(".p999"));
        s.figures.extend(p);
        s.figures.push(
            Figure::higher(
                "warm_hit",
                "warm-hit ratio (responses without initTime)",
                hit,
                "%",
            )
            .target(100.0, "performance.md: 100%"),
        );
        s.figures.push(
            Figure::lower(
                "cold_starts",
                "cold starts during the run",
                r.flagged as f64,
                "",
            )
            .target(0.0, "no sandbox churn"),
        );
        s.figures.push(
            Figure::lower("errors", "errors", r.stats.errors as f64, "").target(0.0, "0 errors"),
        );
        s.series
            .push(series(&format!("{n}-action mix c=8"), &r.stats));
        s.notes.push(format!(
            "{n} actions ({} nodejs + {} python, 128 MB each), invoked round robin at c=8 (connection w cycles over \
             actions w, w+8, ...) with ?blocking=true (full activation record, so that cold starts are visible as an initTime annotation)",
            n.div_ceil(2),
            n / 2
        ));
        Ok(())
    }
}
