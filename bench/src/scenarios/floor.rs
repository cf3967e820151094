//! HTTP floor: a minimal hyper server under the same load generator.

use super::*;

impl Ctx {
    pub(super) async fn floor(&mut self, s: &mut Scenario) -> Result<()> {
        let addr = self.ensure_floor().await?;
        s.server = Some("in-process hyper 1.x http1 server, answers {} to every request".into());
        for (c, full) in [(1usize, 10.0), (4, 3.0), (16, 3.0), (32, 3.0)] {
            let sh = floor_shape(c);
            let r = closed_loop(
                addr,
                &Load {
                    concurrency: c,
                    duration: self.secs(full, 1.0),
                    max_requests: u64::MAX,
                    warmup: self.secs(0.5, 0.2),
                },
                Arc::new(move |_, _| sh.clone()),
                None,
            )
            .await?;
            s.errors += r.stats.errors;
            let what = format!("c={c} {}", sh_label(c));
            let mut figs = pcts(&format!("c{c}"), &what, &r.stats, 1.0, "µs");
            if c == 1 {
                set(&mut figs, "c1.p50", |f| {
                    f.baseline(19.0, "performance.md [M] hyper RTT p50 19-21 µs")
                });
            } else {
                figs.truncate(1);
                figs.push(
                    Figure::lower(&format!("c{c}.p99"), &format!("{what} p99"), 0.0, "µs")
                        .opt(r.stats.p99_us)
                        .tail(),
                );
            }
            let mut rate = Figure::higher(
                &format!("c{c}.rate"),
                &format!("{what} throughput"),
                r.stats.rate_per_s,
                "req/s",
            );
            if c >= 16 {
                rate = rate.baseline(
                    60_000.0,
                    "performance.md [M] hyper + wrk on 2 cores ~60-65k",
                );
            }
            figs.push(rate);
            s.figures.extend(figs);
            s.series.push(series(&format!("floor {what}"), &r.stats));
            self.floor_stats.push((c, r.stats));
        }
        Ok(())
    }

    pub(super) async fn floor_stats_for(&mut self, c: usize) -> Option<Stats> {
        if self.floor_at(c).is_none() {
            // Measured on demand when the floor scenario was not selected.
            let addr = self.ensure_floor().await.ok()?;
            let sh = floor_shape(c);
            let r = closed_loop(
                addr,
                &Load {
                    concurrency: c,
                    duration: self.secs(3.0, 1.0),
                    max_requests: u64::MAX,
                    warmup: Duration::from_millis(200),
                },
                Arc::new(move |_, _| sh.clone()),
                None,
            )
            .await
            .ok()?;
            self.floor_stats.push((c, r.stats));
        }
        self.floor_at(c).cloned()
    }
}
