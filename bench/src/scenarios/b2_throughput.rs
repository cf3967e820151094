//! B2: warm throughput of one action (c=4, c=32).

use super::*;

impl Ctx {
    pub(super) async fn b2(&mut self, s: &mut Scenario) -> Result<()> {
        let addr = self.server(ServerKind::Main).await?;
        s.server = self.server_flags();
        for &(fam, kind, code) in KINDS {
            let name = format!("noop-{fam}");
            self.ensure_warm(addr, &name, kind, code).await?;
            for c in [4usize, 32] {
                let sh = Shape::post(invoke_path(&name, true), "{}");
                let r = closed_loop(
                    addr,
                    &Load {
                        concurrency: c,
                        duration: self.secs(10.0, 1.5),
                        max_requests: u64::MAX,
                        // c=32 needs up to 32 containers of the action: let them start first.
                        warmup: self.secs(if c > 8 { 4.0 } else { 1.0 }, 1.0),
                    },
                    Arc::new(move |_, _| sh.clone()),
                    None,
                )
                .await?;
                s.errors += r.stats.errors;
                if let Some(e) = &r.first_error {
                    s.notes.push(format!("{fam} c={c}: first error: {e}"));
                }
                let floor = self.floor_stats_for(c).await;
                let key = format!("{fam}.c{c}");
                s.figures.push(
                    Figure::higher(
                        &format!("{key}.rate"),
                        &format!("{fam} c={c} throughput"),
                        r.stats.rate_per_s,
                        "req/s",
                    )
                    .target(
                        5000.0,
                        "issue: ≥ 5,000/s (performance.md: node ≥ 10k, python ≥ 5k)",
                    )
                    .baseline_opt(
                        floor.as_ref().map(|f| f.rate_per_s),
                        &format!("in-run hyper floor c={c}"),
                    ),
                );
                s.figures.push(
                    Figure::lower(
                        &format!("{key}.errors"),
                        &format!("{fam} c={c} errors"),
                        r.stats.errors as f64,
                        "",
                    )
                    .target(0.0, "0 errors"),
                );
                let mut p = pcts(&key, &format!("{fam} c={c}"), &r.stats, 1.0, "µs");
                p.retain(|f| f.key.ends_with(".p50") || f.key.ends_with(".p99"));
                s.figures.extend(p);
                s.series.push(series(&format!("{fam} c={c}"), &r.stats));
                if c == 4 {
                    self.b2_rate_c4.push(r.stats.rate_per_s);
                }
            }
        }
        Ok(())
    }
}
