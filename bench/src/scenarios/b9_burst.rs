//! B9: a burst of distinct cold actions fired at once.

use super::*;

impl Ctx {
    pub(super) async fn b9(&mut self, s: &mut Scenario) -> Result<()> {
        let n: usize = self.pick(50, 5);
        let mut flags = Vec::new();
        for (variant, server) in [("cold", ServerKind::Cold), ("prewarm", ServerKind::Prewarm)] {
            let addr = self.server(server).await?;
            flags.push(format!(
                "{variant}: {}",
                self.server_flags().unwrap_or_default()
            ));
            let tag = std::process::id();
            let mut names = Vec::new();
            for i in 0..n {
                let (fam, _, code) = KINDS[i % 2];
                let kind = self.kind_of(fam)?;
                let name = format!("burst-{variant}-{fam}-{tag}-{i}");
                self.put_action(addr, &name, &kind, code, 256).await?;
                names.push(name);
            }
            let mut conns = Vec::new();
            for _ in 0..n {
                conns.push(Conn::connect(addr).await?);
            }
            let go = Arc::new(tokio::sync::Barrier::new(n + 1));
            let mut tasks = Vec::new();
            for (mut c, name) in conns.into_iter().zip(names) {
                let go = go.clone();
                tasks.push(tokio::spawn(async move {
                    let shape = Shape::post(invoke_path(&name, true), "{}");
                    go.wait().await;
                    let t = Instant::now();
                    let r = c.send(&shape).await;
                    (
                        t.elapsed(),
                        r.map(|(st, b)| (st, String::from_utf8_lossy(&b).into_owned())),
                    )
                }));
            }
            go.wait().await;
            let t0 = Instant::now();
            let mut lat = Vec::new();
            let mut errors = 0u64;
            for t in tasks {
                let (d, r) = t.await?;
                match r {
                    Ok((st, _)) if st.is_success() => lat.push(d),
                    Ok((st, b)) => {
                        errors += 1;
                        if errors == 1 {
                            s.notes.push(format!("{variant}: first error: {st} {b}"));
                        }
                    }
                    Err(e) => {
                        errors += 1;
                        if errors == 1 {
                            s.notes.push(format!("{variant}: first error: {e:#}"));
                        }
                    }
                }
            }
            let done = t0.elapsed();
            s.errors += errors;
            let st = Stats::from_durations(&lat, errors, done);
            let (target, tsrc) = if variant == "cold" {
                (1500.0, "performance.md B9: burst ≤ 1.5 s")
            } else {
                (300.0, "performance.md B9: ≤ 300 ms with stem cells/zygotes")
            };
            s.figures.push(
                Figure::lower(
                    &format!("{variant}.completion"),
                    &format!("{variant}: burst of {n} completed in"),
                    ms(done),
                    "ms",
                )
                .target(target, tsrc),
            );
            let mut f = pcts(
                variant,
                &format!("{variant}: first-invoke latency"),
                &st,
                1000.0,
                "ms",
            );
            f.retain(|x| x.key.ends_with(".p50") || x.key.ends_with(".p99"));
            set(&mut f, &format!("{variant}.p99"), |x| {
                x.target(target, tsrc)
            });
            s.figures.extend(f);
            s.figures.push(
                Figure::lower(
                    &format!("{variant}.errors"),
                    &format!("{variant}: errors"),
                    errors as f64,
                    "",
                )
                .target(0.0, "0 errors"),
            );
            s.series.push(series(&format!("burst {variant}"), &st));
        }
        s.server = Some(flags.join("; "));
        s.notes.push(format!(
            "{n} never-invoked actions (alternating nodejs/python, 256 MB), one connection each, fired at once \
             (blocking, result only). 'cold': no stem cells; 'prewarm': 2 stem cells per kind, so at most 4 of \
             the {n} can start prewarmed."
        ));
        Ok(())
    }
}
