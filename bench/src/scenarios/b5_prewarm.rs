//! B5: prewarmed start (a stem cell of the kind available).

use super::*;

impl Ctx {
    pub(super) async fn b5(&mut self, s: &mut Scenario) -> Result<()> {
        let iters: usize = self.pick(20, 3);
        let addr = self.server(ServerKind::Prewarm).await?;
        s.server = self.server_flags();
        let mut conn = Conn::connect(addr).await?;
        let tag = std::process::id();
        let mut lat: Vec<Vec<Duration>> = vec![Vec::new(); KINDS.len()];
        let mut init_ann: Vec<Vec<f64>> = vec![Vec::new(); KINDS.len()];
        for i in 0..iters {
            for (k, &(fam, _, code)) in KINDS.iter().enumerate() {
                let kind = self.kind_of(fam)?;
                let name = format!("pre-{fam}-{tag}-{i}");
                self.put_action(addr, &name, &kind, code, 256).await?;
                let t = Instant::now();
                let (status, body) = conn
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
                lat[k].push(d);
                let rec: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                if let Some(v) = annotation(&rec, "initTime") {
                    init_ann[k].push(v);
                }
            }
            // Let the stem cells be replaced.
            tokio::time::sleep(self.secs(1.0, 0.5)).await;
        }
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
            if !init_ann[k].is_empty() {
                s.figures.push(Figure::lower(
                    &format!("{fam}.ann_init"),
                    &format!("{fam} initTime annotation p50"),
                    median(&mut init_ann[k]),
                    "ms",
                ));
            }
            s.series.push(series(&format!("{fam} prewarmed"), &st));
        }
        s.notes.push(format!(
            "{iters} iterations per kind: a new 256 MB action of the stem cell's kind, first blocking invoke; \
             1 s (smoke: 0.5 s) between iterations for the stem cell to be replaced."
        ));
        Ok(())
    }
}
