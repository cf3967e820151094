//! The scenarios (performance.md §5): each fills one [`Scenario`].

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use crate::direct::{self, Direct};
use crate::floor::Floor;
use crate::loadgen::{closed_loop, Conn, Load, LoadResult, Shape, ShapeFn, Stats};
use crate::model::{Breakdown, Figure, Scenario, Series};
use crate::server::Whirl;

pub const NODE_NOOP: &str = "function main(){return {}}";
pub const PY_NOOP: &str = "def main(a): return {}\n";

/// Scenario ids in run order.
pub const ALL: &[&str] = &["floor", "B6", "B1", "B2", "B3", "CP", "B4", "B9", "B5"];

pub fn title(id: &str) -> &'static str {
    match id {
        "floor" => "HTTP floor: minimal hyper server, same load generator",
        "B1" => "B1 warm blocking-invoke latency (c=1) vs the direct launcher round trip",
        "B2" => "B2 warm throughput, one action (c=4, c=32)",
        "B3" => "B3 warm mix of distinct actions (round robin, c=8)",
        "CP" => "Control plane: GET /api/v1, GET /ping, action GET and PUT (c=16)",
        "B4" => "B4 true cold start (no warm or prewarmed container) and its breakdown",
        "B5" => "B5 prewarmed start (stem cell of the kind available)",
        "B6" => "B6 sandbox create/destroy without a runtime",
        "B9" => "B9 burst of distinct cold actions fired at once",
        _ => "",
    }
}

/// The two language families: (family, kind alias, noop code).
const KINDS: &[(&str, &str, &str)] = &[
    ("nodejs", "nodejs:default", NODE_NOOP),
    ("python", "python:default", PY_NOOP),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ServerKind {
    /// Warm paths: `--user-memory-mb 16384`, default stem cells.
    Main,
    /// `--stem-cells none`.
    Cold,
    /// Stem cells of the default node and python kinds, 2 × 256 MB each.
    Prewarm,
}

/// What the scenarios share.
#[derive(Debug)]
pub struct Ctx {
    pub smoke: bool,
    pub whirl: PathBuf,
    pub direct: Direct,
    floor: Option<Floor>,
    /// Floor stats by concurrency.
    floor_stats: Vec<(usize, Stats)>,
    b2_rate_c4: Vec<f64>,
    b4_e2e_p50_ms: Vec<(String, f64)>,
    server: Option<(ServerKind, Whirl)>,
    actions: HashSet<String>,
    /// Server stderr errors seen when stopping servers.
    pub server_errors: Vec<String>,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn invoke_path(name: &str, result: bool) -> String {
    if result {
        format!("/api/v1/namespaces/_/actions/{name}?blocking=true&result=true")
    } else {
        format!("/api/v1/namespaces/_/actions/{name}?blocking=true")
    }
}

fn action_body(kind: &str, code: &str, memory: u32) -> Vec<u8> {
    json!({"exec": {"kind": kind, "code": code}, "limits": {"memory": memory}})
        .to_string()
        .into_bytes()
}

/// Latency percentiles of `st` as figures (`scale` converts µs to the unit).
fn pcts(key: &str, label: &str, st: &Stats, scale: f64, unit: &str) -> Vec<Figure> {
    let s = |v: f64| v / scale;
    vec![
        Figure::lower(
            &format!("{key}.p50"),
            &format!("{label} p50"),
            s(st.p50_us),
            unit,
        ),
        Figure::lower(
            &format!("{key}.p90"),
            &format!("{label} p90"),
            s(st.p90_us),
            unit,
        ),
        Figure::lower(&format!("{key}.p99"), &format!("{label} p99"), 0.0, unit)
            .opt(st.p99_us.map(s))
            .tail(),
        Figure::lower(&format!("{key}.p999"), &format!("{label} p99.9"), 0.0, unit)
            .opt(st.p999_us.map(s))
            .tail(),
    ]
}

fn set<F: FnOnce(Figure) -> Figure>(figs: &mut [Figure], key: &str, f: F) {
    if let Some(i) = figs.iter().position(|x| x.key == key) {
        let fig = figs[i].clone();
        figs[i] = f(fig);
    }
}

fn series(label: &str, st: &Stats) -> Series {
    Series {
        label: label.into(),
        cdf: st.cdf.clone(),
    }
}

/// The request shape the floor is measured with at concurrency `c`: the invoke shape (POST with
/// basic auth and a `{}` body), except c=16, the control plane's `GET /api/v1`.
fn floor_shape(c: usize) -> Shape {
    if c == 16 {
        Shape::get("/api/v1", false)
    } else {
        Shape::post(invoke_path("noop", true), "{}")
    }
}

fn sh_label(c: usize) -> &'static str {
    if c == 16 {
        "GET"
    } else {
        "POST"
    }
}

fn annotation(rec: &Value, key: &str) -> Option<f64> {
    rec.get("annotations")?
        .as_array()?
        .iter()
        .find(|a| a["key"] == key)?
        .get("value")?
        .as_f64()
}

impl Ctx {
    pub fn new(smoke: bool, whirl: PathBuf) -> Result<Ctx> {
        let direct = Direct::new(&whirl)?;
        Ok(Ctx {
            smoke,
            whirl,
            direct,
            floor: None,
            floor_stats: Vec::new(),
            b2_rate_c4: Vec::new(),
            b4_e2e_p50_ms: Vec::new(),
            server: None,
            actions: HashSet::new(),
            server_errors: Vec::new(),
        })
    }

    /// Full or smoke value.
    fn pick<T>(&self, full: T, smoke: T) -> T {
        if self.smoke {
            smoke
        } else {
            full
        }
    }

    fn secs(&self, full: f64, smoke: f64) -> Duration {
        Duration::from_secs_f64(self.pick(full, smoke))
    }

    fn kind_of(&self, family: &str) -> Result<String> {
        self.direct
            .factory
            .manifest()
            .default_for_family(family)
            .map(|k| k.kind.clone())
            .with_context(|| format!("no {family} runtime on this machine"))
    }

    async fn server(&mut self, kind: ServerKind) -> Result<SocketAddr> {
        if let Some((k, w)) = &self.server {
            if *k == kind {
                return Ok(w.addr);
            }
        }
        self.stop_server().await;
        let stems;
        let args: Vec<&str> = match kind {
            ServerKind::Main => vec!["--user-memory-mb", "16384"],
            ServerKind::Cold => vec!["--stem-cells", "none", "--user-memory-mb", "32768"],
            ServerKind::Prewarm => {
                stems = format!(
                    "{}:2:256,{}:2:256",
                    self.kind_of("nodejs")?,
                    self.kind_of("python")?
                );
                vec!["--stem-cells", &stems, "--user-memory-mb", "32768"]
            }
        };
        let w = Whirl::start(&self.whirl, &args).await?;
        let addr = w.addr;
        if kind == ServerKind::Prewarm {
            // Let the stem cells boot.
            tokio::time::sleep(self.secs(3.0, 2.0)).await;
        }
        self.server = Some((kind, w));
        self.actions.clear();
        Ok(addr)
    }

    fn server_flags(&self) -> Option<String> {
        self.server
            .as_ref()
            .map(|(_, w)| format!("whirl {}", w.args.join(" ")))
    }

    pub async fn stop_server(&mut self) {
        if let Some((_, w)) = self.server.take() {
            if let Ok(Some(errs)) = w.stop().await {
                self.server_errors.push(errs);
            }
        }
    }

    async fn put_action(
        &mut self,
        addr: SocketAddr,
        name: &str,
        kind: &str,
        code: &str,
        memory: u32,
    ) -> Result<()> {
        let mut c = Conn::connect(addr).await?;
        c.call(&Shape::put(
            format!("/api/v1/namespaces/_/actions/{name}?overwrite=true"),
            action_body(kind, code, memory),
        ))
        .await?;
        self.actions.insert(name.to_string());
        Ok(())
    }

    /// Creates the action once per server and invokes it once (cold).
    async fn ensure_warm(
        &mut self,
        addr: SocketAddr,
        name: &str,
        kind: &str,
        code: &str,
    ) -> Result<()> {
        if self.actions.contains(name) {
            return Ok(());
        }
        self.put_action(addr, name, kind, code, 256).await?;
        let mut c = Conn::connect(addr).await?;
        c.call(&Shape::post(invoke_path(name, true), "{}")).await?;
        Ok(())
    }

    fn floor_at(&self, c: usize) -> Option<&Stats> {
        self.floor_stats
            .iter()
            .find(|(k, _)| *k == c)
            .map(|(_, s)| s)
    }

    pub async fn run(&mut self, id: &str) -> Scenario {
        let t0 = Instant::now();
        let mut s = Scenario {
            id: id.into(),
            title: title(id).into(),
            ..Scenario::default()
        };
        let r = match id {
            "floor" => self.floor(&mut s).await,
            "B1" => self.b1(&mut s).await,
            "B2" => self.b2(&mut s).await,
            "B3" => self.b3(&mut s).await,
            "CP" => self.cp(&mut s).await,
            "B4" => self.b4(&mut s).await,
            "B5" => self.b5(&mut s).await,
            "B6" => self.b6(&mut s).await,
            "B9" => self.b9(&mut s).await,
            other => Err(anyhow::anyhow!("unknown scenario {other}")),
        };
        if let Err(e) = r {
            s.error = Some(format!("{e:#}"));
        }
        s.duration_s = t0.elapsed().as_secs_f64();
        s
    }

    async fn ensure_floor(&mut self) -> Result<SocketAddr> {
        if self.floor.is_none() {
            self.floor = Some(Floor::start()?);
        }
        self.floor
            .as_ref()
            .map(|f| f.addr)
            .context("floor server missing")
    }

    // ---------------------------------------------------------------- floor

    async fn floor(&mut self, s: &mut Scenario) -> Result<()> {
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

    async fn floor_stats_for(&mut self, c: usize) -> Option<Stats> {
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

    // ---------------------------------------------------------------- B1

    async fn b1(&mut self, s: &mut Scenario) -> Result<()> {
        let addr = self.server(ServerKind::Main).await?;
        s.server = self.server_flags();
        let floor = self.floor_stats_for(1).await;
        if let Some(f) = &floor {
            s.series.push(series("hyper floor c=1 POST", f));
        }
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
                .target(
                    250.0,
                    "invoker issue: ≤ 250 µs (performance.md stretch 100 µs)",
                )
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

    // ---------------------------------------------------------------- B2

    async fn b2(&mut self, s: &mut Scenario) -> Result<()> {
        let addr = self.server(ServerKind::Main).await?;
        s.server = self.server_flags();
        for &(fam, kind, code) in KINDS {
            let name = format!("noop-{fam}");
            self.ensure_warm(addr, &name, kind, code).await?;
            for c in [4usize, 32] {
                let sh = Shape::post(invoke_path(&name, true), "{}");
                let r = closed_loop(
                    addr,
                    &Load {
                        concurrency: c,
                        duration: self.secs(10.0, 1.5),
                        max_requests: u64::MAX,
                        // c=32 needs up to 32 containers of the action: let them start first.
                        warmup: self.secs(if c > 8 { 4.0 } else { 1.0 }, 1.0),
                    },
                    Arc::new(move |_, _| sh.clone()),
                    None,
                )
                .await?;
                s.errors += r.stats.errors;
                if let Some(e) = &r.first_error {
                    s.notes.push(format!("{fam} c={c}: first error: {e}"));
                }
                let floor = self.floor_stats_for(c).await;
                let key = format!("{fam}.c{c}");
                s.figures.push(
                    Figure::higher(
                        &format!("{key}.rate"),
                        &format!("{fam} c={c} throughput"),
                        r.stats.rate_per_s,
                        "req/s",
                    )
                    .target(
                        5000.0,
                        "issue: ≥ 5,000/s (performance.md: node ≥ 10k, python ≥ 5k)",
                    )
                    .baseline_opt(
                        floor.as_ref().map(|f| f.rate_per_s),
                        &format!("in-run hyper floor c={c}"),
                    ),
                );
                s.figures.push(
                    Figure::lower(
                        &format!("{key}.errors"),
                        &format!("{fam} c={c} errors"),
                        r.stats.errors as f64,
                        "",
                    )
                    .target(0.0, "0 errors"),
                );
                let mut p = pcts(&key, &format!("{fam} c={c}"), &r.stats, 1.0, "µs");
                p.retain(|f| f.key.ends_with(".p50") || f.key.ends_with(".p99"));
                s.figures.extend(p);
                s.series.push(series(&format!("{fam} c={c}"), &r.stats));
                if c == 4 {
                    self.b2_rate_c4.push(r.stats.rate_per_s);
                }
            }
        }
        Ok(())
    }

    // ---------------------------------------------------------------- B3

    async fn b3(&mut self, s: &mut Scenario) -> Result<()> {
        let addr = self.server(ServerKind::Main).await?;
        s.server = self.server_flags();
        let n: usize = self.pick(100, 10);
        let mut names = Vec::with_capacity(n);
        for i in 0..n {
            let (fam, kind, code) = KINDS[i % 2];
            let name = format!("mix-{fam}-{i}");
            if !self.actions.contains(&name) {
                self.put_action(addr, &name, kind, code, 128).await?;
            }
            names.push(name);
        }
        // Warm every action (4 at a time), not measured.
        let names = Arc::new(names);
        let next = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let names = names.clone();
            let next = next.clone();
            tasks.push(tokio::spawn(async move {
                let mut c = Conn::connect(addr).await?;
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(name) = names.get(i) else { break };
                    c.call(&Shape::post(invoke_path(name, true), "{}")).await?;
                }
                Ok::<_, anyhow::Error>(())
            }));
        }
        for t in tasks {
            t.await??;
        }
        // Connection w cycles over actions w, w+8, w+16, ...: every action is visited in turn
        // and never by two connections at once (which would need a second container).
        const C: usize = 8;
        let per_worker: Arc<Vec<Vec<Shape>>> = Arc::new(
            (0..C)
                .map(|w| {
                    names
                        .iter()
                        .skip(w)
                        .step_by(C)
                        .map(|n| Shape::post(invoke_path(n, false), "{}"))
                        .collect()
                })
                .collect(),
        );
        let shape: ShapeFn = Arc::new(move |w, i| {
            let mine = &per_worker[w % C];
            mine[(i as usize) % mine.len().max(1)].clone()
        });
        let r: LoadResult = closed_loop(
            addr,
            &Load {
                concurrency: C.min(n),
                duration: self.secs(20.0, 2.0),
                max_requests: u64::MAX,
                warmup: Duration::ZERO,
            },
            shape,
            Some(b"\"initTime\""),
        )
        .await?;
        s.errors += r.stats.errors;
        if let Some(e) = &r.first_error {
            s.notes.push(format!("first error: {e}"));
        }
        let hit = if r.stats.count > 0 {
            100.0 * (1.0 - r.flagged as f64 / r.stats.count as f64)
        } else {
            0.0
        };
        let b2 = (!self.b2_rate_c4.is_empty())
            .then(|| self.b2_rate_c4.iter().sum::<f64>() / self.b2_rate_c4.len() as f64);
        let mut rate = Figure::higher(
            "rate",
            &format!("{n} actions, c=8 throughput"),
            r.stats.rate_per_s,
            "req/s",
        );
        if let Some(b) = b2 {
            rate = rate
                .baseline(b, "in-run B2 c=4 (mean of node and python)")
                .target(0.8 * b, "performance.md: ≥ 80% of B2");
        }
        s.figures.push(rate);
        let mut p = pcts("lat", &format!("{n} actions"), &r.stats, 1.0, "µs");
        p.retain(|f| !f.key.ends_with(".p999"));
        s.figures.extend(p);
        s.figures.push(
            Figure::higher(
                "warm_hit",
                "warm-hit ratio (responses without initTime)",
                hit,
                "%",
            )
            .target(100.0, "performance.md: 100%"),
        );
        s.figures.push(
            Figure::lower(
                "cold_starts",
                "cold starts during the run",
                r.flagged as f64,
                "",
            )
            .target(0.0, "no sandbox churn"),
        );
        s.figures.push(
            Figure::lower("errors", "errors", r.stats.errors as f64, "").target(0.0, "0 errors"),
        );
        s.series
            .push(series(&format!("{n}-action mix c=8"), &r.stats));
        s.notes.push(format!(
            "{n} actions ({} nodejs + {} python, 128 MB each), invoked round robin at c=8 (connection w cycles over \
             actions w, w+8, ...) with ?blocking=true (full activation record, so that cold starts are visible as an initTime annotation)",
            n.div_ceil(2),
            n / 2
        ));
        Ok(())
    }

    // ---------------------------------------------------------------- control plane

    async fn cp(&mut self, s: &mut Scenario) -> Result<()> {
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

    // ---------------------------------------------------------------- B4

    async fn b4(&mut self, s: &mut Scenario) -> Result<()> {
        let iters: usize = self.pick(20, 3);
        // Direct measurements first, without a server running.
        self.stop_server().await;
        let init_exe = self.direct.init_exe.clone();
        let mut sandbox_ms = Vec::new();
        for _ in 0..iters.max(10) {
            let exe = init_exe.clone();
            let net = self.direct.network;
            let (spawn, _) =
                tokio::task::spawn_blocking(move || direct::sandbox_cycle_retry(&exe, net))
                    .await??;
            sandbox_ms.push(ms(spawn));
        }
        let sandbox_p50 = median(&mut sandbox_ms);
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
        // End to end on a server without stem cells.
        let addr = self.server(ServerKind::Cold).await?;
        s.server = self.server_flags();
        let mut e2e: Vec<Vec<Duration>> = vec![Vec::new(); KINDS.len()];
        let mut init_ann: Vec<Vec<f64>> = vec![Vec::new(); KINDS.len()];
        let mut wait_ann: Vec<Vec<f64>> = vec![Vec::new(); KINDS.len()];
        let mut conn = Conn::connect(addr).await?;
        let tag = std::process::id();
        for i in 0..iters {
            for (k, &(fam, kind, code)) in KINDS.iter().enumerate() {
                let name = format!("cold-{fam}-{tag}-{i}");
                self.put_action(addr, &name, kind, code, 256).await?;
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
        s.figures.push(
            Figure::lower(
                "sandbox",
                "sandbox set-up p50 (Sandbox::spawn of /bin/true, no runtime)",
                sandbox_p50,
                "ms",
            )
            .baseline(1.0, "performance.md [M] sandbox floor ≈ 1 ms"),
        );
        for (k, (fam, cold, mut bare, mut bare_s)) in parts.into_iter().enumerate() {
            let fam = fam.as_str();
            let st = Stats::from_durations(&e2e[k], 0, Duration::ZERO);
            if st.count == 0 {
                bail!("no successful {fam} cold start");
            }
            let e2e_p50 = st.p50_us / 1000.0;
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
            s.series.push(series(&format!("{fam} first invoke"), &st));
        }
        s.notes.push(format!(
            "{iters} iterations per kind. End to end: a new action each iteration, first blocking invoke, \
             server without stem cells. Breakdown measured directly through whirl-runtime/whirl-sandbox \
             (sandbox = Sandbox::spawn of /bin/true; boot = ProcessFactory::create − sandbox set-up; \
             init and run = Container::init / first Container::run); each part is a p50, 'platform (rest)' \
             = end-to-end p50 − the parts. Bare start: the same interpreter binary with the launcher's environment (PATH, HOME, LANG only), no sandbox, no launcher (python with -s, as the launcher)."
        ));
        self.b4_e2e_p50_ms = s
            .figures
            .iter()
            .filter(|f| f.key.ends_with(".e2e.p50"))
            .filter_map(|f| Some((f.key.split('.').next()?.to_string(), f.value?)))
            .collect();
        Ok(())
    }

    // ---------------------------------------------------------------- B5

    async fn b5(&mut self, s: &mut Scenario) -> Result<()> {
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

    // ---------------------------------------------------------------- B6

    async fn b6(&mut self, s: &mut Scenario) -> Result<()> {
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

    // ---------------------------------------------------------------- B9

    async fn b9(&mut self, s: &mut Scenario) -> Result<()> {
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
