//! CLUSTER: a `whirl controller` and 1-3 `whirl invoker`s as separate processes of the release
//! binary, over a private PostgreSQL and a private NATS JetStream (the test launchers: free
//! loopback ports, temporary directories), next to `whirl standalone` in the same run.
//!
//! - Warm blocking noop nodejs invoke at c=1, standalone then cluster (one invoker): the
//!   difference is what the cluster adds (HTTP → controller → JetStream publish and its
//!   acknowledgement → invoker pull → run → completion over core NATS → controller; the record
//!   goes to PostgreSQL off the answer's path). Target: cluster p50 ≤ standalone p50 + 1 ms.
//! - Throughput of the same action at c=16 with 1, 2 and 3 invokers (the curve), each invoker
//!   with 1024 MB of user memory (4 containers of the 256 MB action), so that the sharding
//!   balancer spreads the load instead of keeping it on the action's home invoker; standalone
//!   at c=16 in the same run as the baseline. All processes share the machine's cores.

use whirl_bus_nats::testing::PrivateNats;
use whirl_store_postgres::testing::PrivatePostgres;

use super::*;
use crate::server::Role;

/// User memory of each invoker (see the module docs).
const INVOKER_MEMORY_MB: &str = "1024";

fn load(concurrency: usize, duration: Duration, warmup: Duration) -> Load {
    Load {
        concurrency,
        duration,
        max_requests: u64::MAX,
        warmup,
    }
}

async fn measure(addr: SocketAddr, load: &Load) -> Result<LoadResult> {
    let sh = Shape::post(invoke_path("noop-nodejs", true), "{}");
    closed_loop(addr, load, Arc::new(move |_, _| sh.clone()), None).await
}

/// Wait until the controller counts `n` healthy invokers.
async fn healthy(addr: SocketAddr, n: u64) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut c = Conn::connect(addr).await?;
        let count = c
            .call(&Shape::get("/invokers/healthy/count", false))
            .await?;
        if count.as_u64() == Some(n) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the controller counts {count} healthy invokers, not {n}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `/proc/<pid>/stat` fields after the command: (ppid, own CPU ticks, reaped children's ticks).
fn stat(pid: u32) -> Option<(u32, u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let f: Vec<&str> = text.rsplit_once(')')?.1.split_whitespace().collect();
    let n = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok());
    // Fields 4 (ppid) and 14-17 (utime, stime, cutime, cstime); the state, field 3, is first.
    Some((u32::try_from(n(1)?).ok()?, n(11)? + n(12)?, n(13)? + n(14)?))
}

/// CPU ticks (1/100 s) of `root` alone, and of `root` with every descendant (live ones, and
/// the children it reaped).
fn cpu_ticks(root: u32) -> (u64, u64) {
    let mut procs: Vec<(u32, u32, u64, u64)> = Vec::new();
    if let Ok(rd) = std::fs::read_dir("/proc") {
        for e in rd.flatten() {
            if let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) {
                if let Some((ppid, own, reaped)) = stat(pid) {
                    procs.push((pid, ppid, own, reaped));
                }
            }
        }
    }
    let mut tree = vec![root];
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i];
        tree.extend(procs.iter().filter(|p| p.1 == parent).map(|p| p.0));
        i += 1;
    }
    let of = |pid: u32| procs.iter().find(|p| p.0 == pid);
    let alone = of(root).map_or(0, |p| p.2);
    let total = tree
        .iter()
        .filter_map(|&pid| of(pid))
        .map(|p| p.2 + p.3)
        .sum();
    (alone, total)
}

/// CPU ticks by part of the cluster (and the load generator) at one moment.
#[derive(Debug, Clone, Copy, Default)]
struct Cpu {
    controller: u64,
    invokers: u64,
    containers: u64,
    nats: u64,
    postgres: u64,
    loadgen: u64,
}

impl Cpu {
    fn since(&self, before: &Cpu) -> Cpu {
        Cpu {
            controller: self.controller.saturating_sub(before.controller),
            invokers: self.invokers.saturating_sub(before.invokers),
            containers: self.containers.saturating_sub(before.containers),
            nats: self.nats.saturating_sub(before.nats),
            postgres: self.postgres.saturating_sub(before.postgres),
            loadgen: self.loadgen.saturating_sub(before.loadgen),
        }
    }

    fn parts(&self) -> [(&'static str, &'static str, u64); 6] {
        [
            ("controller", "controller", self.controller),
            ("invokers", "invoker processes", self.invokers),
            ("containers", "action containers", self.containers),
            ("nats", "nats-server", self.nats),
            ("postgres", "PostgreSQL", self.postgres),
            ("loadgen", "load generator", self.loadgen),
        ]
    }
}

/// The servers and processes of the scenario; stopped in [`Cluster::stop`].
struct Cluster {
    pg: PrivatePostgres,
    nats: PrivateNats,
    dir: tempfile::TempDir,
    controller: Option<Role>,
    invokers: Vec<Role>,
    addr: SocketAddr,
}

impl Cluster {
    async fn start(whirl: &std::path::Path) -> Result<Cluster> {
        let pg = tokio::task::spawn_blocking(PrivatePostgres::launch)
            .await?
            .context("a private PostgreSQL")?;
        let nats = PrivateNats::start().context("a private nats-server")?;
        let dir = tempfile::Builder::new()
            .prefix("whirl-bench-cluster-")
            .tempdir()?;
        let args: Vec<String> = [
            "controller",
            "--port",
            "0",
            "--controller-id",
            "0",
            "--controllers",
            "1",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([
            "--data-dir".into(),
            dir.path().join("controller0").display().to_string(),
            "--store-url".into(),
            pg.url(),
            "--bus-url".into(),
            nats.url(),
        ])
        .collect();
        let (controller, host) = Role::start(
            whirl,
            &args,
            &dir.path().join("controller0.log"),
            "API host: http://",
        )
        .await?;
        let addr: SocketAddr = host.parse().with_context(|| format!("API host {host}"))?;
        Ok(Cluster {
            pg,
            nats,
            dir,
            controller: Some(controller),
            invokers: Vec::new(),
            addr,
        })
    }

    async fn add_invoker(&mut self, whirl: &std::path::Path) -> Result<()> {
        let i = self.invokers.len();
        let args: Vec<String> = vec![
            "invoker".into(),
            "--invoker-id".into(),
            i.to_string(),
            "--api-host".into(),
            format!("http://{}", self.addr),
            "--user-memory-mb".into(),
            INVOKER_MEMORY_MB.into(),
            "--data-dir".into(),
            self.dir
                .path()
                .join(format!("invoker{i}"))
                .display()
                .to_string(),
            "--store-url".into(),
            self.pg.url(),
            "--bus-url".into(),
            self.nats.url(),
        ];
        let log = self.dir.path().join(format!("invoker{i}.log"));
        let (role, _) = Role::start(whirl, &args, &log, "Whirl invoker").await?;
        self.invokers.push(role);
        healthy(self.addr, self.invokers.len() as u64).await
    }

    /// Where the CPU time went so far.
    fn cpu(&self) -> Cpu {
        let mut cpu = Cpu::default();
        if let Some(pid) = self.controller.as_ref().and_then(Role::pid) {
            cpu.controller = cpu_ticks(pid).1;
        }
        for pid in self.invokers.iter().filter_map(Role::pid) {
            let (alone, total) = cpu_ticks(pid);
            cpu.invokers += alone;
            cpu.containers += total.saturating_sub(alone);
        }
        if let Some(pid) = self.nats.pid() {
            cpu.nats = cpu_ticks(pid).1;
        }
        let postmaster = std::fs::read_to_string(self.pg.data_dir().join("postmaster.pid"))
            .ok()
            .and_then(|t| t.lines().next().and_then(|l| l.trim().parse::<u32>().ok()));
        if let Some(pid) = postmaster {
            cpu.postgres = cpu_ticks(pid).1;
        }
        cpu.loadgen = cpu_ticks(std::process::id()).0;
        cpu
    }

    async fn stop(mut self) -> Vec<String> {
        let mut errors = Vec::new();
        for r in self.invokers.drain(..) {
            errors.extend(r.stop().await);
        }
        if let Some(c) = self.controller.take() {
            errors.extend(c.stop().await);
        }
        let mut pg = self.pg;
        let _ = tokio::task::spawn_blocking(move || pg.stop()).await;
        drop(self.nats);
        errors
    }
}

impl Ctx {
    pub(super) async fn cluster(&mut self, s: &mut Scenario) -> Result<()> {
        let kind = self.kind_of("nodejs")?;
        let c1 = load(1, self.secs(15.0, 2.0), self.secs(2.0, 0.5));
        let c16 = load(16, self.secs(10.0, 1.5), self.secs(3.0, 1.0));

        // Standalone, in the same run; stopped before the cluster starts (one at a time).
        let addr = self.server(ServerKind::Main).await?;
        self.ensure_warm(addr, "noop-nodejs", &kind, NODE_NOOP)
            .await?;
        let alone = measure(addr, &c1).await?;
        let alone16 = measure(addr, &c16).await?;
        s.errors += alone.stats.errors + alone16.stats.errors;
        self.stop_server().await;

        let mut cluster = Cluster::start(&self.whirl).await?;
        s.server = Some(format!(
            "whirl controller --controllers 1 + whirl invoker ×1..3 --user-memory-mb \
             {INVOKER_MEMORY_MB}, private PostgreSQL (test settings: fsync off) and nats-server \
             -js on loopback; baseline: whirl standalone --user-memory-mb 16384"
        ));
        let result = self
            .cluster_figures(s, &mut cluster, &kind, &c1, &c16, &alone, &alone16)
            .await;
        self.server_errors.extend(cluster.stop().await);
        result
    }

    #[allow(clippy::too_many_arguments)]
    async fn cluster_figures(
        &mut self,
        s: &mut Scenario,
        cluster: &mut Cluster,
        kind: &str,
        c1: &Load,
        c16: &Load,
        alone: &LoadResult,
        alone16: &LoadResult,
    ) -> Result<()> {
        cluster.add_invoker(&self.whirl).await?;
        let addr = cluster.addr;
        let mut c = Conn::connect(addr).await?;
        c.call(&Shape::put(
            "/api/v1/namespaces/_/actions/noop-nodejs?overwrite=true",
            action_body(kind, NODE_NOOP, 256),
        ))
        .await?;
        c.call(&Shape::post(invoke_path("noop-nodejs", true), "{}"))
            .await?;

        let r = measure(addr, c1).await?;
        s.errors += r.stats.errors;
        if let Some(e) = &r.first_error {
            s.notes.push(format!("cluster c=1: first error: {e}"));
        }
        let mut figs = pcts("cluster.c1", "cluster c=1", &r.stats, 1.0, "µs");
        set(&mut figs, "cluster.c1.p50", |f| {
            f.baseline(alone.stats.p50_us, "standalone c=1 p50, same run")
                .target(
                    alone.stats.p50_us + 1000.0,
                    "issue: p50 ≤ standalone + 1 ms",
                )
        });
        s.figures.extend(figs);
        s.figures.extend(pcts(
            "standalone.c1",
            "standalone c=1",
            &alone.stats,
            1.0,
            "µs",
        ));
        s.figures.push(Figure::lower(
            "cluster.c1.added_p50",
            "what the cluster adds at c=1 (p50 cluster − standalone: bus hops + store)",
            r.stats.p50_us - alone.stats.p50_us,
            "µs",
        ));
        s.series.push(series("standalone c=1", &alone.stats));
        s.series.push(series("cluster c=1", &r.stats));

        s.figures.push(Figure::higher(
            "standalone.c16.rate",
            "standalone c=16 throughput",
            alone16.stats.rate_per_s,
            "req/s",
        ));
        for n in 1..=3usize {
            if n > 1 {
                cluster.add_invoker(&self.whirl).await?;
            }
            let before = cluster.cpu();
            let r = measure(addr, c16).await?;
            let used = cluster.cpu().since(&before);
            s.errors += r.stats.errors;
            if let Some(e) = &r.first_error {
                s.notes
                    .push(format!("cluster c=16, {n} invokers: first error: {e}"));
            }
            // CPU per activation by part (the warm-up included: a few seconds of the same
            // load, counted at the measured rate).
            let activations = r.stats.count as f64
                * (1.0 + c16.warmup.as_secs_f64() / c16.duration.as_secs_f64());
            let mut line = Vec::new();
            for (key, label, ticks) in used.parts() {
                let us = ticks as f64 * 10_000.0 / activations.max(1.0);
                line.push(format!("{label} {us:.0}"));
                s.figures.push(Figure::lower(
                    &format!("cluster.c16.invokers{n}.cpu.{key}"),
                    &format!("CPU per activation, {label}, {n} invoker(s)"),
                    us,
                    "µs",
                ));
            }
            s.notes.push(format!(
                "c=16, {n} invoker(s): CPU µs per activation: {}",
                line.join(", ")
            ));
            s.figures.push(
                Figure::higher(
                    &format!("cluster.c16.invokers{n}.rate"),
                    &format!("cluster c=16 throughput, {n} invoker(s)"),
                    r.stats.rate_per_s,
                    "req/s",
                )
                .baseline(alone16.stats.rate_per_s, "standalone c=16, same run"),
            );
            let mut p = pcts(
                &format!("cluster.c16.invokers{n}"),
                &format!("cluster c=16, {n} invoker(s)"),
                &r.stats,
                1.0,
                "µs",
            );
            p.retain(|f| f.key.ends_with(".p50") || f.key.ends_with(".p99"));
            s.figures.extend(p);
            s.series
                .push(series(&format!("cluster c=16, {n} invoker(s)"), &r.stats));
        }
        s.notes.push(
            "one machine: the controller, the invokers, their containers, PostgreSQL, NATS and \
             the load generator share its cores, so the curve shows the cost of each hop, not \
             the scaling of a real cluster (docs/ARCHITECTURE.md models that)"
                .into(),
        );
        Ok(())
    }
}
