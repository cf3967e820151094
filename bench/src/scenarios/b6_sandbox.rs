//! B6: sandbox create/destroy without a runtime.

use super::*;

impl Ctx {
    pub(super) async fn b6(&mut self, s: &mut Scenario) -> Result<()> {
        let n: usize = self.pick(300, 30);
        let exe = self.direct.init_exe.clone();
        // The product setting (ProcessFactoryConfig's default): a sandbox shares the host network
        // namespace or gets its own.
        let net = self.direct.network;
        let e = exe.clone();
        let (create, destroy, wall) = tokio::task::spawn_blocking(move || -> Result<_> {
            let mut c = Vec::with_capacity(n);
            let mut d = Vec::with_capacity(n);
            let t0 = Instant::now();
            for _ in 0..n {
                let (a, b) = direct::sandbox_cycle_retry(&e, net)?;
                c.push(a);
                d.push(b);
            }
            Ok((c, d, t0.elapsed()))
        })
        .await??;
        let cs = Stats::from_durations(&create, 0, wall);
        let ds = Stats::from_durations(&destroy, 0, wall);
        // c=2: two threads.
        let mut handles = Vec::new();
        let t0 = Instant::now();
        for _ in 0..2 {
            let e = exe.clone();
            handles.push(tokio::task::spawn_blocking(
                move || -> Result<Vec<Duration>> {
                    let mut c = Vec::with_capacity(n / 2);
                    for _ in 0..n / 2 {
                        let (a, b) = direct::sandbox_cycle_retry(&e, net)?;
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
        // Serial with the other network setting.
        let nn: usize = self.pick(100, 10);
        let e = exe.clone();
        let alt = tokio::task::spawn_blocking(move || -> Result<Vec<Duration>> {
            (0..nn)
                .map(|_| direct::sandbox_cycle_retry(&e, !net).map(|(a, _)| a))
                .collect()
        })
        .await??;
        let alts = Stats::from_durations(&alt, 0, Duration::ZERO);
        let (with, without) = ("with a new network namespace", "sharing the host network");
        let (this, other) = if net {
            (without, with)
        } else {
            (with, without)
        };

        let mut f = pcts(
            "create",
            &format!("create {this} (spawn → payload exec'd)"),
            &cs,
            1.0,
            "µs",
        );
        f.retain(|x| !x.key.ends_with(".p999"));
        set(&mut f, "create.p50", |x| {
            let x = if net {
                x.target(500.0, "performance.md B6: create ≤ 0.5 ms p50")
            } else {
                x.target(1000.0, "performance.md B6: create ≤ 1 ms p50 with netns")
            };
            x.baseline(
                if net { 860.0 } else { 800.0 },
                if net {
                    "performance.md [M] clone(PID|NS|UTS|IPC|CGROUP)+execve(/bin/true) p50 0.86 ms"
                } else {
                    "performance.md [M] clone(PID|NS|UTS|IPC|CGROUP|NET)+exit+wait p50 0.8 ms"
                },
            )
        });
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
        s.figures.push(
            Figure::higher(
                "serial.rate",
                "sandboxes/s, serial (create + destroy)",
                n as f64 / wall.as_secs_f64(),
                "1/s",
            )
            .target(1000.0, "performance.md B6: ≥ 1,000 sandboxes/s"),
        );
        s.figures.push(
            Figure::higher(
                "c2.rate",
                "sandboxes/s, c=2",
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
        let alt_fig = Figure::lower(
            "alt.create.p50",
            &format!("create {other} p50"),
            alts.p50_us,
            "µs",
        );
        s.figures.push(if net {
            alt_fig.target(1000.0, "performance.md B6: ≤ 1 ms with netns")
        } else {
            alt_fig.target(500.0, "performance.md B6: ≤ 0.5 ms without netns")
        });
        s.figures.push(
            Figure::lower("alt.create.p99", &format!("create {other} p99"), 0.0, "µs")
                .opt(alts.p99_us)
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
        s.series.push(series("create", &cs));
        s.series.push(series("destroy", &ds));
        s.series.push(series("c=2 create+destroy", &c2s));
        s.series.push(series(&format!("create {other}"), &alts));
        s.notes.push(format!(
            "Sandbox::spawn of /bin/true (128 MB cgroup; PID, mount, UTS, IPC, cgroup namespaces, \
             {this} as the runtime's default) then Sandbox::destroy; {n} serial, {n} at c=2 \
             (two threads), {nn} {other}. Init helper: the release whirl binary."
        ));
        Ok(())
    }
}
