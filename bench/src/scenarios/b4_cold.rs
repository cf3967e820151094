//! B4: true cold start (no warm or prewarmed container) and its breakdown.

use super::*;

use crate::direct::Net;

/// First invokes of new actions on one server: per kind, (end-to-end durations, initTime and
/// waitTime annotations).
type FirstInvokes = (Vec<Vec<Duration>>, Vec<Vec<f64>>, Vec<Vec<f64>>);

impl Ctx {
    /// `iters` new actions per kind on each server of `servers` (interleaved, so that every
    /// server sees the same machine state), each invoked once (blocking).
    async fn first_invokes(
        &mut self,
        servers: &[(SocketAddr, &str)],
        iters: usize,
        s: &mut Scenario,
    ) -> Result<Vec<FirstInvokes>> {
        let mut out: Vec<FirstInvokes> = servers
            .iter()
            .map(|_| {
                (
                    vec![Vec::new(); KINDS.len()],
                    vec![Vec::new(); KINDS.len()],
                    vec![Vec::new(); KINDS.len()],
                )
            })
            .collect();
        let mut conns = Vec::new();
        for (addr, _) in servers {
            conns.push(Conn::connect(*addr).await?);
        }
        let tag = std::process::id();
        for i in 0..iters {
            for (k, &(fam, kind, code)) in KINDS.iter().enumerate() {
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
                    self.put_action(*addr, &name, kind, code, 256).await?;
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
                    let (e2e, init_ann, wait_ann) = &mut out[j];
                    e2e[k].push(d);
                    let rec: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    if let Some(v) = annotation(&rec, "initTime") {
                        init_ann[k].push(v);
                    } else {
                        s.notes.push(format!(
                            "{name}: no initTime annotation (not a cold start?)"
                        ));
                    }
                    if let Some(v) = annotation(&rec, "waitTime") {
                        wait_ann[k].push(v);
                    }
                }
            }
        }
        Ok(out)
    }

    pub(super) async fn b4(&mut self, s: &mut Scenario) -> Result<()> {
        let iters: usize = self.pick(20, 3);
        // Direct measurements first, without a server running.
        self.stop_server().await;
        let init_exe = self.direct.init_exe.clone();
        let (pooled, _) = self.direct.egress().await?;
        let mut sandbox_ms = Vec::new();
        let mut sandbox_egress_ms = Vec::new();
        for i in 0..iters.max(10) {
            // Each setting goes first every other iteration.
            let egress_first = i % 2 == 1;
            for egress in [egress_first, !egress_first] {
                let net = if egress {
                    Net::Egress(pooled.clone())
                } else {
                    Net::None
                };
                let exe = init_exe.clone();
                let (spawn, _) =
                    tokio::task::spawn_blocking(move || direct::sandbox_cycle_retry(&exe, &net))
                        .await??;
                if egress {
                    sandbox_egress_ms.push(ms(spawn));
                } else {
                    sandbox_ms.push(ms(spawn));
                }
            }
            // As between activations: the pool refills.
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let mut paired: Vec<f64> = sandbox_egress_ms
            .iter()
            .zip(&sandbox_ms)
            .map(|(e, n)| e - n)
            .collect();
        let sandbox_net = median(&mut paired);
        let sandbox_p50 = median(&mut sandbox_ms);
        let sandbox_egress_p50 = median(&mut sandbox_egress_ms);
        // Per kind: (family, direct cold starts, bare start ms, python -S bare start ms).
        type KindParts = (String, Vec<direct::ColdParts>, Vec<f64>, Vec<f64>);
        let mut parts: Vec<KindParts> = Vec::new();
        for &(fam, kind, code) in KINDS {
            let exe = self
                .direct
                .interpreter(kind)
                .with_context(|| format!("no {fam} runtime"))?;
            let mut cold = Vec::new();
            let mut bare = Vec::new();
            let mut bare_s = Vec::new();
            for _ in 0..iters {
                cold.push(self.direct.cold(kind, code).await?);
                let e = exe.clone();
                let b = tokio::task::spawn_blocking(move || match fam {
                    "nodejs" => direct::bare_start(&e, &["-e", "process.stdout.write('{}')"]),
                    _ => direct::bare_start(
                        &e,
                        &[
                            "-s",
                            "-c",
                            "import sys; sys.stdout.write('{}'); sys.stdout.flush()",
                        ],
                    ),
                })
                .await??;
                bare.push(ms(b));
                if fam == "python" {
                    let e = exe.clone();
                    let b = tokio::task::spawn_blocking(move || {
                        direct::bare_start(
                            &e,
                            &[
                                "-S",
                                "-c",
                                "import sys; sys.stdout.write('{}'); sys.stdout.flush()",
                            ],
                        )
                    })
                    .await??;
                    bare_s.push(ms(b));
                }
            }
            parts.push((fam.to_string(), cold, bare, bare_s));
        }
        // End to end on servers without stem cells: with the action network (the default) and
        // with --action-network none, side by side.
        // Twice the iterations: the difference of two noisy cold starts needs more pairs.
        let addr = self.server(ServerKind::Cold).await?;
        s.server = self.server_flags();
        let none = self.extra_server(ServerKind::ColdNone).await?;
        let got = self
            .first_invokes(&[(addr, "cold"), (none.addr, "cold-none")], 2 * iters, s)
            .await;
        self.stop_extra(none).await;
        let mut got = got?.into_iter();
        let (e2e, mut init_ann, mut wait_ann) = got.next().context("egress results")?;
        let (e2e_none, _, _) = got.next().context("none results")?;
        s.figures.push(
            Figure::lower(
                "sandbox",
                "sandbox set-up p50 (Sandbox::spawn of /bin/true, no runtime; action_network none)",
                sandbox_p50,
                "ms",
            )
            .baseline(1.0, "performance.md [M] sandbox floor ≈ 1 ms"),
        );
        s.figures.push(
            Figure::lower(
                "sandbox_egress",
                "sandbox set-up p50 with the action network (network lease + spawn)",
                sandbox_egress_p50,
                "ms",
            )
            .baseline(sandbox_p50, "in-run set-up with action_network none"),
        );
        s.figures.push(
            Figure::lower(
                "sandbox_net",
                "network cost per cold start, sandbox set-up (median of paired egress − none)",
                sandbox_net,
                "ms",
            )
            .target(1.0, "issue: ≤ 1 ms p50 extra on a cold start"),
        );
        for (k, (fam, cold, mut bare, mut bare_s)) in parts.into_iter().enumerate() {
            let fam = fam.as_str();
            let st = Stats::from_durations(&e2e[k], 0, Duration::ZERO);
            if st.count == 0 {
                bail!("no successful {fam} cold start");
            }
            let e2e_p50 = st.p50_us / 1000.0;
            let st_none = Stats::from_durations(&e2e_none[k], 0, Duration::ZERO);
            if st_none.count > 0 {
                let none_p50 = st_none.p50_us / 1000.0;
                s.figures.push(
                    Figure::lower(
                        &format!("{fam}.e2e_none.p50"),
                        &format!("{fam} first invoke p50, --action-network none"),
                        none_p50,
                        "ms",
                    )
                    .baseline(e2e_p50, "in-run first invoke p50 with egress"),
                );
                s.figures.push(
                    Figure::lower(
                        &format!("{fam}.net"),
                        &format!(
                            "{fam} network cost per cold start, end to end (median of paired egress − none)"
                        ),
                        paired_median_ms(&e2e[k], &e2e_none[k]),
                        "ms",
                    )
                    .target(1.0, "issue: ≤ 1 ms p50 extra on a cold start"),
                );
                s.series
                    .push(series(&format!("{fam} first invoke (none)"), &st_none));
            }
            let bare_p50 = median(&mut bare);
            let create_p50 = median(&mut cold.iter().map(|c| ms(c.create)).collect::<Vec<_>>());
            let init_p50 = median(&mut cold.iter().map(|c| ms(c.init)).collect::<Vec<_>>());
            let run_p50 = median(&mut cold.iter().map(|c| ms(c.run)).collect::<Vec<_>>());
            let total_p50 = median(
                &mut cold
                    .iter()
                    .map(|c| ms(c.create + c.init + c.run))
                    .collect::<Vec<_>>(),
            );
            let boot = (create_p50 - sandbox_p50).max(0.0);
            let (target, tsrc) = if fam == "nodejs" {
                (80.0, "performance.md B4: node p50 ≤ 80 ms")
            } else {
                (45.0, "performance.md B4: python p50 ≤ 45 ms")
            };
            let mut figs = pcts(
                &format!("{fam}.e2e"),
                &format!("{fam} first invoke (end-to-end)"),
                &st,
                1000.0,
                "ms",
            );
            figs.retain(|f| !f.key.ends_with(".p999"));
            set(&mut figs, &format!("{fam}.e2e.p50"), |f| {
                f.target(target, tsrc)
                    .baseline(bare_p50, "in-run bare runtime start p50")
            });
            s.figures.extend(figs);
            s.figures.push(
                Figure::lower(
                    &format!("{fam}.vs_bare"),
                    &format!("{fam} first invoke p50 / bare start p50"),
                    e2e_p50 / bare_p50,
                    "×",
                )
                .target(1.3, "issue: within 1.3× of the bare start"),
            );
            s.figures.push(
                Figure::lower(
                    &format!("{fam}.platform"),
                    &format!("{fam} platform share p50 (first invoke − bare start)"),
                    e2e_p50 - bare_p50,
                    "ms",
                )
                .target(3.0, "performance.md B4: platform share ≤ 3 ms"),
            );
            s.figures.push(Figure::lower(
                &format!("{fam}.boot"),
                &format!("{fam} runtime boot p50 (create − sandbox set-up)"),
                boot,
                "ms",
            ));
            s.figures.push(Figure::lower(
                &format!("{fam}.create"),
                &format!("{fam} ProcessFactory::create p50 (launcher ready)"),
                create_p50,
                "ms",
            ));
            s.figures.push(Figure::lower(
                &format!("{fam}.init"),
                &format!("{fam} Container::init p50"),
                init_p50,
                "ms",
            ));
            s.figures.push(Figure::lower(
                &format!("{fam}.run"),
                &format!("{fam} first Container::run p50"),
                run_p50,
                "ms",
            ));
            s.figures.push(Figure::lower(
                &format!("{fam}.direct"),
                &format!("{fam} direct cold start p50 (create + init + run)"),
                total_p50,
                "ms",
            ));
            let (bb, bsrc) = if fam == "nodejs" {
                (
                    62.0,
                    "performance.md [M] node spawn → first result 62 ms (min)",
                )
            } else {
                (
                    34.0,
                    "performance.md [M] python spawn → first result 34 ms (min)",
                )
            };
            s.figures.push(
                Figure::lower(
                    &format!("{fam}.bare"),
                    &format!("{fam} bare runtime start p50 (spawn → first output)"),
                    bare_p50,
                    "ms",
                )
                .baseline(bb, bsrc),
            );
            if !bare_s.is_empty() {
                s.figures.push(
                    Figure::lower(
                        &format!("{fam}.bare_S"),
                        "python -S bare start p50 (no site)",
                        median(&mut bare_s),
                        "ms",
                    )
                    .baseline(8.6, "performance.md [M] python -S 8.6 ms (min)"),
                );
            }
            if !init_ann[k].is_empty() {
                s.figures.push(Figure::lower(
                    &format!("{fam}.ann_init"),
                    &format!("{fam} initTime annotation p50"),
                    median(&mut init_ann[k]),
                    "ms",
                ));
            }
            if !wait_ann[k].is_empty() {
                s.figures.push(Figure::lower(
                    &format!("{fam}.ann_wait"),
                    &format!("{fam} waitTime annotation p50"),
                    median(&mut wait_ann[k]),
                    "ms",
                ));
            }
            let rest = (e2e_p50 - boot - sandbox_p50 - init_p50 - run_p50).max(0.0);
            s.breakdowns.push(Breakdown {
                label: format!("{fam} cold"),
                parts: vec![
                    ("sandbox set-up".into(), sandbox_p50),
                    ("runtime boot".into(), boot),
                    ("init".into(), init_p50),
                    ("run".into(), run_p50),
                    ("platform (rest)".into(), rest),
                ],
                total_ms: Some(e2e_p50),
            });
            s.breakdowns.push(Breakdown {
                label: format!("{fam} bare start"),
                parts: vec![("bare runtime start".into(), bare_p50)],
                total_ms: None,
            });
            s.series
                .push(series(&format!("{fam} first invoke (egress)"), &st));
        }
        s.notes.push(format!(
            "{iters} iterations per kind ({} end to end). End to end: a new action each iteration, first blocking invoke, \
             server without stem cells, with the action network (egress, the default), next to a \
             second server with --action-network none running at the same time, the invokes \
             alternating between the two, each first every other iteration (the .net figures are the median of the differences of \
             each pair of neighbouring invokes, egress − none). Breakdown measured directly through whirl-runtime/whirl-sandbox \
             (sandbox = Sandbox::spawn of /bin/true; boot = ProcessFactory::create − sandbox set-up; \
             init and run = Container::init / first Container::run); each part is a p50, 'platform (rest)' \
             = end-to-end p50 − the parts. Bare start: the same interpreter binary with the launcher's environment (PATH, HOME, LANG only), no sandbox, no launcher (python with -s, as the launcher).",
            2 * iters
        ));
        self.b4_e2e_p50_ms = s
            .figures
            .iter()
            .filter(|f| f.key.ends_with(".e2e.p50"))
            .filter_map(|f| Some((f.key.split('.').next()?.to_string(), f.value?)))
            .collect();
        Ok(())
    }
}
