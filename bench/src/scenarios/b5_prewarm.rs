//! B5: prewarmed start (a stem cell of the kind available).

use super::*;

/// Per kind: (first-invoke latencies, initTime annotations).
type Starts = (Vec<Vec<Duration>>, Vec<Vec<f64>>);

impl Ctx {
    /// `iters` new 256 MB actions per kind on each server of `servers` (alternating), each
    /// invoked once while a stem cell of its kind exists.
    async fn prewarmed_starts(
        &mut self,
        servers: &[(SocketAddr, &str)],
        iters: usize,
        s: &mut Scenario,
    ) -> Result<Vec<Starts>> {
        let mut out: Vec<Starts> = servers
            .iter()
            .map(|_| (vec![Vec::new(); KINDS.len()], vec![Vec::new(); KINDS.len()]))
            .collect();
        let mut conns = Vec::new();
        for (addr, _) in servers {
            conns.push(Conn::connect(*addr).await?);
        }
        let tag = std::process::id();
        for i in 0..iters {
            for (k, &(fam, _, code)) in KINDS.iter().enumerate() {
                let kind = self.kind_of(fam)?;
                // Each server goes first every other iteration: the first invoke after a pause
                // meets colder caches.
                let order: Vec<usize> = if i % 2 == 0 {
                    (0..servers.len()).collect()
                } else {
                    (0..servers.len()).rev().collect()
                };
                for j in order {
                    let (addr, prefix) = &servers[j];
                    let name = format!("{prefix}-{fam}-{tag}-{i}");
                    self.put_action(*addr, &name, &kind, code, 256).await?;
                    let t = Instant::now();
                    let (status, body) = conns[j]
                        .send(&Shape::post(invoke_path(&name, false), "{}"))
                        .await?;
                    let d = t.elapsed();
                    if !status.is_success() {
                        s.errors += 1;
                        s.notes.push(format!(
                            "{name}: {status} {}",
                            String::from_utf8_lossy(&body)
                        ));
                        continue;
                    }
                    let (lat, init_ann) = &mut out[j];
                    lat[k].push(d);
                    let rec: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    if let Some(v) = annotation(&rec, "initTime") {
                        init_ann[k].push(v);
                    }
                }
            }
            // Let the stem cells be replaced.
            tokio::time::sleep(self.secs(1.0, 0.5)).await;
        }
        Ok(out)
    }

    pub(super) async fn b5(&mut self, s: &mut Scenario) -> Result<()> {
        let iters: usize = self.pick(40, 3);
        let addr = self.server(ServerKind::Prewarm).await?;
        s.server = self.server_flags();
        let none = self.extra_server(ServerKind::PrewarmNone).await?;
        let got = self
            .prewarmed_starts(&[(addr, "pre"), (none.addr, "pre-none")], iters, s)
            .await;
        self.stop_extra(none).await;
        let mut got = got?.into_iter();
        let (lat, mut init_ann) = got.next().context("egress results")?;
        let (lat_none, _) = got.next().context("none results")?;
        for (k, &(fam, _, _)) in KINDS.iter().enumerate() {
            let st = Stats::from_durations(&lat[k], 0, Duration::ZERO);
            if st.count == 0 {
                bail!("no successful {fam} prewarmed start");
            }
            let cold = self
                .b4_e2e_p50_ms
                .iter()
                .find(|(f, _)| f == fam)
                .map(|(_, v)| *v);
            let mut figs = pcts(
                fam,
                &format!("{fam} prewarmed first invoke"),
                &st,
                1000.0,
                "ms",
            );
            figs.retain(|f| !f.key.ends_with(".p999"));
            set(&mut figs, &format!("{fam}.p50"), |f| {
                f.target(10.0, "issue: p50 ≤ 10 ms (performance.md stretch 3 ms)")
                    .baseline_opt(cold, "in-run B4 true cold start p50")
            });
            set(&mut figs, &format!("{fam}.p99"), |f| {
                f.target(10.0, "performance.md B5: p99 ≤ 10 ms")
            });
            s.figures.extend(figs);
            let st_none = Stats::from_durations(&lat_none[k], 0, Duration::ZERO);
            if st_none.count > 0 {
                s.figures.push(
                    Figure::lower(
                        &format!("{fam}.none.p50"),
                        &format!("{fam} prewarmed first invoke p50, --action-network none"),
                        st_none.p50_us / 1000.0,
                        "ms",
                    )
                    .baseline(st.p50_us / 1000.0, "in-run p50 with egress"),
                );
                s.figures.push(
                    Figure::lower(
                        &format!("{fam}.net"),
                        &format!(
                            "{fam} network cost per stem-cell start (median of paired egress − none)"
                        ),
                        paired_median_ms(&lat[k], &lat_none[k]),
                        "ms",
                    )
                    .target(0.2, "issue: ≤ 0.2 ms on a stem-cell start"),
                );
                s.series
                    .push(series(&format!("{fam} prewarmed (none)"), &st_none));
            }
            if !init_ann[k].is_empty() {
                s.figures.push(Figure::lower(
                    &format!("{fam}.ann_init"),
                    &format!("{fam} initTime annotation p50"),
                    median(&mut init_ann[k]),
                    "ms",
                ));
            }
            s.series
                .push(series(&format!("{fam} prewarmed (egress)"), &st));
        }
        s.notes.push(format!(
            "{iters} iterations per kind: a new 256 MB action of the stem cell's kind, first blocking invoke; \
             1 s (smoke: 0.5 s) between iterations for the stem cell to be replaced. With the \
             action network (egress, the default: a stem cell's network is prepared when it boots) \
             and, alternating (each first every other iteration), on a second server with --action-network none running at the same \
             time; .net = the median of the differences of each pair of neighbouring invokes, egress − \
             none."
        ));
        Ok(())
    }
}
