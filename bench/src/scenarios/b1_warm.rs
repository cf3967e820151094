//! B1: warm blocking-invoke latency at c=1 against the direct launcher round trip.

use super::*;

impl Ctx {
    pub(super) async fn b1(&mut self, s: &mut Scenario) -> Result<()> {
        let addr = self.server(ServerKind::Main).await?;
        s.server = self.server_flags();
        let floor = self.floor_stats_for(1).await;
        if let Some(f) = &floor {
            s.series.push(series("hyper floor c=1 POST", f));
        }
        // The same server's cheapest route at the same concurrency: issue 8 judges a warm
        // invoke against it.
        let ping_shape = Shape::get("/ping", false);
        let ping = closed_loop(
            addr,
            &Load {
                concurrency: 1,
                duration: self.secs(5.0, 1.0),
                max_requests: u64::MAX,
                warmup: self.secs(1.0, 0.2),
            },
            Arc::new(move |_, _| ping_shape.clone()),
            None,
        )
        .await?
        .stats;
        s.figures.push(Figure::lower(
            "ping.p50",
            "GET /ping c=1 p50 (same server)",
            ping.p50_us,
            "µs",
        ));
        for &(fam, kind, code) in KINDS {
            let name = format!("noop-{fam}");
            self.ensure_warm(addr, &name, kind, code).await?;
            let sh = Shape::post(invoke_path(&name, true), "{}");
            let r = closed_loop(
                addr,
                &Load {
                    concurrency: 1,
                    duration: self.secs(20.0, 2.0),
                    max_requests: u64::MAX,
                    warmup: self.secs(3.0, 0.5),
                },
                Arc::new(move |_, _| sh.clone()),
                None,
            )
            .await?;
            s.errors += r.stats.errors;
            if let Some(e) = &r.first_error {
                s.notes.push(format!("{fam}: first error: {e}"));
            }
            let e2e = r.stats;
            let n = self.pick(20_000, 2_000);
            let d = self.direct.warm(kind, code, n, 500).await?;
            let direct = Stats::from_durations(&d, 0, d.iter().sum());
            let mut figs = pcts(
                &format!("{fam}.e2e"),
                &format!("{fam} end-to-end"),
                &e2e,
                1.0,
                "µs",
            );
            set(&mut figs, &format!("{fam}.e2e.p50"), |f| {
                f.target(
                    1000.0,
                    "invoker issue: p50 ≤ 1 ms (performance.md stretch 250 µs)",
                )
                .baseline_opt(
                    floor.as_ref().map(|x| x.p50_us),
                    "in-run hyper floor c=1 p50",
                )
            });
            set(&mut figs, &format!("{fam}.e2e.p99"), |f| {
                f.target(1000.0, "performance.md B1: p99 ≤ 1 ms")
                    .baseline_opt(
                        floor.as_ref().and_then(|x| x.p99_us),
                        "in-run hyper floor c=1 p99",
                    )
            });
            figs.push(
                Figure::lower(
                    &format!("{fam}.e2e_per_ping"),
                    &format!("{fam} end-to-end p50 / GET /ping p50"),
                    e2e.p50_us / ping.p50_us,
                    "×",
                )
                .target(10.0, "issue 8: ≤ 10× the same server's GET /ping p50"),
            );
            figs.push(Figure::lower(
                &format!("{fam}.e2e.mean"),
                &format!("{fam} end-to-end mean"),
                e2e.mean_us,
                "µs",
            ));
            figs.push(Figure::higher(
                &format!("{fam}.e2e.rate"),
                &format!("{fam} end-to-end rate (c=1)"),
                e2e.rate_per_s,
                "req/s",
            ));
            figs.push(
                Figure::lower(
                    &format!("{fam}.direct.p50"),
                    &format!("{fam} direct Container::run p50"),
                    direct.p50_us,
                    "µs",
                )
                .baseline(9.5, "performance.md [M] pipe ping-pong p50 9.5 µs"),
            );
            figs.push(
                Figure::lower(
                    &format!("{fam}.direct.p99"),
                    &format!("{fam} direct Container::run p99"),
                    0.0,
                    "µs",
                )
                .opt(direct.p99_us)
                .tail(),
            );
            let oh50 = e2e.p50_us - direct.p50_us;
            figs.push(
                Figure::lower(
                    &format!("{fam}.overhead.p50"),
                    &format!("{fam} platform overhead p50 (end-to-end − direct)"),
                    oh50,
                    "µs",
                )
                .target(150.0, "issue 8: ≤ 150 µs (performance.md stretch 100 µs)")
                .baseline_opt(
                    floor.as_ref().map(|x| x.p50_us),
                    "in-run hyper floor c=1 p50",
                ),
            );
            let oh99 = match (e2e.p99_us, direct.p99_us) {
                (Some(a), Some(b)) => Some(a - b),
                _ => None,
            };
            figs.push(
                Figure::lower(
                    &format!("{fam}.overhead.p99"),
                    &format!("{fam} platform overhead p99"),
                    0.0,
                    "µs",
                )
                .opt(oh99)
                .tail(),
            );
            s.figures.extend(figs);
            s.series.push(series(&format!("{fam} end-to-end"), &e2e));
            s.series.push(series(&format!("{fam} direct"), &direct));
        }
        Ok(())
    }
}
