//! The scenarios (performance.md §5): each fills one [`Scenario`]. One file per scenario (a
//! `Ctx` method named after its id); what they share (the context, servers, actions, figure
//! helpers) is here.

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

mod alarms;
mod b1_warm;
mod b2_throughput;
mod b3_mix;
mod b4_cold;
mod b5_prewarm;
mod b6_sandbox;
mod b9_burst;
mod cluster;
mod compositions;
mod concurrency;
mod cp_control_plane;
mod floor;
mod net_get;
mod web_routes;

pub const NODE_NOOP: &str = "function main(){return {}}";
pub const PY_NOOP: &str = "def main(a): return {}\n";

/// Scenario ids in run order.
pub const ALL: &[&str] = &[
    "floor", "B6", "B1", "B2", "B3", "CP", "WEB", "COMP", "CONC", "ALRM", "NET", "B4", "B9", "B5",
    "CLUSTER",
];

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
        "COMP" => "COMP a 3-action sequence and a two-step conductor next to one warm invoke (c=1)",
        "CONC" => "CONC intra-container concurrency: concurrency 50 next to 1 under c=50",
        "ALRM" => "ALRM alarm fire jitter: a per-second cron alarm next to a bare timer",
        "WEB" => "WEB web action GET .json and API route, next to the blocking invoke (c=1, c=32)",
        "NET" => "NET a warm action's HTTP GET to a test host, next to the same GET from the host",
        "CLUSTER" => "CLUSTER controller + 1-3 invokers as processes over PostgreSQL and NATS, next to standalone (c=1, c=16)",
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
    /// `Cold` with `--action-network none`.
    ColdNone,
    /// `Prewarm` with `--action-network none`.
    PrewarmNone,
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

/// The median of the paired differences `a[i] − b[i]` (ms): with `a` and `b` measured
/// alternately, the drift of the machine's state cancels out of each pair.
fn paired_median_ms(a: &[Duration], b: &[Duration]) -> f64 {
    let mut d: Vec<f64> = a.iter().zip(b).map(|(x, y)| ms(*x) - ms(*y)).collect();
    median(&mut d)
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
        let args = self.server_args(kind)?;
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let w = Whirl::start(&self.whirl, &args).await?;
        let addr = w.addr;
        if matches!(kind, ServerKind::Prewarm | ServerKind::PrewarmNone) {
            // Let the stem cells boot.
            tokio::time::sleep(self.secs(3.0, 2.0)).await;
        }
        self.server = Some((kind, w));
        self.actions.clear();
        Ok(addr)
    }

    /// The flags of a server of `kind`.
    fn server_args(&self, kind: ServerKind) -> Result<Vec<String>> {
        let mut args: Vec<String> = match kind {
            ServerKind::Main => vec!["--user-memory-mb".into(), "16384".into()],
            ServerKind::Cold | ServerKind::ColdNone => vec![
                "--stem-cells".into(),
                "none".into(),
                "--user-memory-mb".into(),
                "32768".into(),
            ],
            ServerKind::Prewarm | ServerKind::PrewarmNone => vec![
                "--stem-cells".into(),
                format!(
                    "{}:2:256,{}:2:256",
                    self.kind_of("nodejs")?,
                    self.kind_of("python")?
                ),
                "--user-memory-mb".into(),
                "32768".into(),
            ],
        };
        if matches!(kind, ServerKind::ColdNone | ServerKind::PrewarmNone) {
            args.extend(["--action-network".into(), "none".into()]);
        }
        Ok(args)
    }

    /// A second server of `kind` next to the current one (for same-run comparisons); the
    /// caller stops it with [`Ctx::stop_extra`].
    async fn extra_server(&mut self, kind: ServerKind) -> Result<Whirl> {
        let args = self.server_args(kind)?;
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let w = Whirl::start(&self.whirl, &args).await?;
        if matches!(kind, ServerKind::Prewarm | ServerKind::PrewarmNone) {
            tokio::time::sleep(self.secs(3.0, 2.0)).await;
        }
        Ok(w)
    }

    async fn stop_extra(&mut self, w: Whirl) {
        if let Ok(Some(errs)) = w.stop().await {
            self.server_errors.push(errs);
        }
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
            "WEB" => self.web(&mut s).await,
            "COMP" => self.comp(&mut s).await,
            "ALRM" => self.alrm(&mut s).await,
            "CONC" => self.conc(&mut s).await,
            "NET" => self.net(&mut s).await,
            "CLUSTER" => self.cluster(&mut s).await,
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
}
