//! CP: the control plane (GET /api/v1, GET /ping, action GET and PUT at c=16).

use super::*;

impl Ctx {
    pub(super) async fn cp(&mut self, s: &mut Scenario) -> Result<()> {
        let addr = self.server(ServerKind::Main).await?;
        s.server = self.server_flags();
        self.ensure_warm(addr, "noop-nodejs", "nodejs:default", NODE_NOOP)
            .await?;
        // One action per connection: concurrent PUTs of the same action are (correctly) 409s.
        for w in 0..16 {
            let name = format!("cp-put-{w}");
            self.put_action(addr, &name, "nodejs:default", NODE_NOOP, 256)
                .await?;
        }
        let floor = self.floor_stats_for(16).await;
        let fixed = |sh: Shape| -> ShapeFn { Arc::new(move |_, _| sh.clone()) };
        let puts: Arc<Vec<Shape>> = Arc::new(
            (0..16)
                .map(|w| {
                    Shape::put(
                        format!("/api/v1/namespaces/_/actions/cp-put-{w}?overwrite=true"),
                        action_body("nodejs:default", NODE_NOOP, 256),
                    )
                })
                .collect(),
        );
        let cases: Vec<(&str, &str, ShapeFn, Option<f64>)> = vec![
            (
                "api_v1",
                "GET /api/v1",
                fixed(Shape::get("/api/v1", false)),
                Some(40_000.0),
            ),
            ("ping", "GET /ping", fixed(Shape::get("/ping", false)), None),
            (
                "action_get",
                "GET action",
                fixed(Shape::get("/api/v1/namespaces/_/actions/noop-nodejs", true)),
                None,
            ),
            (
                "action_put",
                "PUT action (overwrite, one action per connection)",
                Arc::new(move |w, _| puts[w % puts.len()].clone()),
                None,
            ),
        ];
        if let Some(f) = &floor {
            s.series.push(series("hyper floor c=16 GET", f));
        }
        for (key, label, shape, target) in cases {
            let r = closed_loop(
                addr,
                &Load {
                    concurrency: 16,
                    duration: self.secs(5.0, 1.0),
                    max_requests: u64::MAX,
                    warmup: self.secs(0.5, 0.2),
                },
                shape,
                None,
            )
            .await?;
            s.errors += r.stats.errors;
            if let Some(e) = &r.first_error {
                s.notes.push(format!("{label}: first error: {e}"));
            }
            let mut rate = Figure::higher(
                &format!("{key}.rate"),
                &format!("{label} throughput"),
                r.stats.rate_per_s,
                "req/s",
            )
            .baseline_opt(
                floor.as_ref().map(|f| f.rate_per_s),
                "in-run hyper floor c=16 GET",
            );
            if let Some(t) = target {
                rate = rate.target(t, "performance.md B2: GET /api/v1 ≥ 40k req/s");
            }
            s.figures.push(rate);
            s.figures.push(
                Figure::lower(
                    &format!("{key}.p50"),
                    &format!("{label} p50"),
                    r.stats.p50_us,
                    "µs",
                )
                .baseline_opt(
                    floor.as_ref().map(|f| f.p50_us),
                    "in-run hyper floor c=16 GET p50",
                ),
            );
            s.figures.push(
                Figure::lower(&format!("{key}.p99"), &format!("{label} p99"), 0.0, "µs")
                    .opt(r.stats.p99_us)
                    .tail(),
            );
            s.figures.push(
                Figure::lower(
                    &format!("{key}.errors"),
                    &format!("{label} errors"),
                    r.stats.errors as f64,
                    "",
                )
                .target(0.0, "0 errors"),
            );
            s.series.push(series(&format!("{label} c=16"), &r.stats));
        }
        Ok(())
    }
}
