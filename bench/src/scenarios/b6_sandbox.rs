//! B6: sandbox create/destroy without a runtime, with the action network (`egress`, the
//! default) and without (`none`), plus what the network costs off the critical path (preparing
//! one namespace).

use super::*;

use crate::direct::Net;

/// `n` serial create/destroy cycles, `pause` after each: (create durations, destroy
/// durations, wall time).
async fn cycles(
    exe: &std::path::Path,
    net: &Net,
    n: usize,
    pause: Duration,
) -> Result<(Vec<Duration>, Vec<Duration>, Duration)> {
    let (e, net) = (exe.to_path_buf(), net.clone());
    tokio::task::spawn_blocking(move || -> Result<_> {
        let mut c = Vec::with_capacity(n);
        let mut d = Vec::with_capacity(n);
        let t0 = Instant::now();
        for _ in 0..n {
            let (a, b) = direct::sandbox_cycle_retry(&e, &net)?;
            c.push(a);
            d.push(b);
            std::thread::sleep(pause);
        }
        Ok((c, d, t0.elapsed()))
    })
    .await?
}

impl Ctx {
    pub(super) async fn b6(&mut self, s: &mut Scenario) -> Result<()> {
        let n: usize = self.pick(300, 30);
        let exe = self.direct.init_exe.clone();
        let (pooled, unpooled) = self.direct.egress().await?;
        let egress = Net::Egress(pooled);
        // The two settings alternate, one sandbox each, with a pause after each cycle (as
        // between activations: the pool refills meanwhile).
        let mut create = Vec::new();
        let mut destroy = Vec::new();
        let mut none = Vec::new();
        let pause = Duration::from_millis(3);
        for i in 0..n {
            // Each setting goes first every other iteration.
            if i % 2 == 1 {
                none.extend(cycles(&exe, &Net::None, 1, pause).await?.0);
            }
            let (c, d, _) = cycles(&exe, &egress, 1, pause).await?;
            create.extend(c);
            destroy.extend(d);
            if i % 2 == 0 {
                none.extend(cycles(&exe, &Net::None, 1, pause).await?.0);
            }
        }
        let cs = Stats::from_durations(&create, 0, Duration::ZERO);
        let ds = Stats::from_durations(&destroy, 0, Duration::ZERO);
        let ns = Stats::from_durations(&none, 0, Duration::ZERO);
        // Back to back, no pause: the pool runs dry and sandboxes prepare their own.
        let (burst, _, wall) = cycles(&exe, &egress, n, Duration::ZERO).await?;
        let bs = Stats::from_durations(&burst, 0, wall);
        // c=2: two threads, egress.
        let mut handles = Vec::new();
        let t0 = Instant::now();
        for _ in 0..2 {
            let (e, net) = (exe.clone(), egress.clone());
            handles.push(tokio::task::spawn_blocking(
                move || -> Result<Vec<Duration>> {
                    let mut c = Vec::with_capacity(n / 2);
                    for _ in 0..n / 2 {
                        let (a, b) = direct::sandbox_cycle_retry(&e, &net)?;
                        c.push(a + b);
                    }
                    Ok(c)
                },
            ));
        }
        let mut c2 = Vec::new();
        for h in handles {
            c2.extend(h.await??);
        }
        let c2_wall = t0.elapsed();
        let c2s = Stats::from_durations(&c2, 0, c2_wall);
        // The mechanism itself: one namespace prepared (veth pair on the bridge, addresses,
        // routes), which the pool does in the background.
        let np: usize = self.pick(100, 10);
        let u = unpooled.clone();
        let prep = tokio::task::spawn_blocking(move || -> Result<Vec<Duration>> {
            (0..np).map(|_| direct::prepare_once(&u)).collect()
        })
        .await??;
        let ps = Stats::from_durations(&prep, 0, Duration::ZERO);

        let mut f = pcts(
            "create",
            "create with the action network, egress (lease + spawn → payload exec'd)",
            &cs,
            1.0,
            "µs",
        );
        f.retain(|x| !x.key.ends_with(".p999"));
        set(&mut f, "create.p50", |x| {
            x.target(1000.0, "performance.md B6: create ≤ 1 ms p50 with netns")
                .baseline(ns.p50_us, "in-run create with --action-network none p50")
        });
        s.figures.extend(f);
        let mut f = pcts(
            "none.create",
            "create with action_network none",
            &ns,
            1.0,
            "µs",
        );
        f.retain(|x| x.key.ends_with(".p50") || x.key.ends_with(".p99"));
        set(&mut f, "none.create.p50", |x| {
            x.target(1000.0, "performance.md B6: create ≤ 1 ms p50 with netns")
                .baseline(
                    800.0,
                    "performance.md [M] clone(PID|NS|UTS|IPC|CGROUP|NET)+exit+wait p50 0.8 ms",
                )
        });
        s.figures.extend(f);
        s.figures.push(
            Figure::lower(
                "net.cost",
                "network cost per sandbox on the critical path (median of paired egress − none)",
                paired_median_ms(&create, &none) * 1000.0,
                "µs",
            )
            .target(1000.0, "issue: ≤ 1 ms p50 extra on a cold start"),
        );
        let mut f = pcts(
            "prepare",
            "namespace preparation (off the critical path: veth pair, addresses, routes)",
            &ps,
            1.0,
            "µs",
        );
        f.retain(|x| !x.key.ends_with(".p999"));
        s.figures.extend(f);
        let mut f = pcts(
            "destroy",
            "destroy (kill, reap, cgroup removal)",
            &ds,
            1.0,
            "µs",
        );
        f.retain(|x| x.key.ends_with(".p50") || x.key.ends_with(".p99"));
        s.figures.extend(f);
        s.figures.push(Figure::lower(
            "burst.create.p50",
            "create with the action network back to back p50 (the pool runs dry)",
            bs.p50_us,
            "µs",
        ));
        s.figures.push(
            Figure::higher(
                "serial.rate",
                "sandboxes/s, serial back to back (create + destroy, egress)",
                burst.len() as f64 / wall.as_secs_f64(),
                "1/s",
            )
            .target(1000.0, "performance.md B6: ≥ 1,000 sandboxes/s"),
        );
        s.figures.push(
            Figure::higher(
                "c2.rate",
                "sandboxes/s, c=2 (egress)",
                c2s.count as f64 / c2_wall.as_secs_f64(),
                "1/s",
            )
            .target(1000.0, "performance.md B6: ≥ 1,000 sandboxes/s"),
        );
        s.figures.push(Figure::lower(
            "c2.p50",
            "c=2 create + destroy p50",
            c2s.p50_us,
            "µs",
        ));
        s.figures.push(
            Figure::lower("c2.p99", "c=2 create + destroy p99", 0.0, "µs")
                .opt(c2s.p99_us)
                .tail(),
        );
        let races = direct::SPAWN_RACES.swap(0, Ordering::Relaxed);
        s.figures.push(
            Figure::lower(
                "spawn_races",
                "spawns retried after the cgroup owner-dir EEXIST race",
                races as f64,
                "",
            )
            .target(0.0, "whirl-sandbox must not race with itself"),
        );
        if races > 0 {
            s.notes.push(format!(
                "{races} Sandbox::spawn call(s) failed with EEXIST on the per-process cgroup owner \
                 directory while another thread destroyed the last sandbox (race in whirl-sandbox \
                 cgroup::mkdir_leaf) and were retried by the benchmark."
            ));
        }
        s.series.push(series("create (egress)", &cs));
        s.series.push(series("create (none)", &ns));
        s.series.push(series("namespace preparation", &ps));
        s.series.push(series("create back to back (egress)", &bs));
        s.series.push(series("destroy", &ds));
        s.series.push(series("c=2 create+destroy", &c2s));
        s.notes.push(format!(
            "Sandbox::spawn of /bin/true (128 MB cgroup; PID, mount, UTS, IPC, cgroup and network \
             namespaces) then Sandbox::destroy; {n} with the action network (a lease of a namespace \
             the pool prepared: the sandbox joins it instead of creating one) and {n} with \
             action_network none (a new namespace with lo up), alternating (each first every other \
             time), 3 ms after each; then \
             {n} back to back with the action network (the pool of 4 runs dry: most sandboxes \
             prepare their namespace themselves); {n} at c=2 (two threads, egress); {np} \
             namespace preparations timed alone (an action network keeping none ready). Init \
             helper: the release whirl binary."
        ));
        Ok(())
    }
}
