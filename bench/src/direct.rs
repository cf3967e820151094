//! Measurements below the HTTP API: the direct pipe round trip to a warm launcher
//! (`Container::run`), the cold path split into its steps, bare sandboxes, bare runtime starts.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::json;
use whirl_netpolicy::{Egress, EgressConfig, EgressPolicy};
use whirl_runtime::{
    ActivationEnv, Container, ContainerFactory, ContainerSpec, InitRequest, RunRequest,
};
use whirl_runtime_process::{Isolation, ProcessFactory, ProcessFactoryConfig, RuntimeManifest};
use whirl_sandbox::{Network, Sandbox, SandboxConfig};

static SEQ: AtomicU64 = AtomicU64::new(0);

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    )
}

/// A process factory with the product isolation (the sandbox), using the release `whirl`
/// binary as the sandbox init helper (`whirl __sandbox-init`), exactly as the invoker does.
#[derive(Debug)]
pub struct Direct {
    pub factory: ProcessFactory,
    pub init_exe: PathBuf,
    /// The action network (`egress`) as a server sets it up, started on first use: with
    /// namespaces kept ready, and without (every lease prepares one: the mechanism's cost).
    egress: Option<(std::sync::Arc<Egress>, std::sync::Arc<Egress>)>,
    _dir: tempfile::TempDir,
}

/// The network of a bare sandbox.
#[derive(Debug, Clone)]
pub enum Net {
    /// `action_network = none`: a new namespace with only loopback.
    None,
    /// `action_network = egress`: a lease from the action network (a prepared namespace).
    Egress(std::sync::Arc<Egress>),
}

fn env() -> ActivationEnv {
    ActivationEnv {
        namespace: "guest".into(),
        action_name: "/guest/noop".into(),
        action_version: "0.0.1".into(),
        activation_id: "0".into(),
        transaction_id: "bench".into(),
        deadline: "0".into(),
        api_key: None,
    }
}

/// One cold start through the runtime API, in parts.
#[derive(Debug, Clone, Copy)]
pub struct ColdParts {
    /// `ProcessFactory::create` (sandbox + runtime boot until the launcher's ready line).
    pub create: Duration,
    pub init: Duration,
    pub run: Duration,
}

impl Direct {
    pub fn new(whirl_bin: &Path) -> Result<Direct> {
        let dir = tempfile::Builder::new()
            .prefix("whirl-bench-direct-")
            .tempdir()?;
        let cfg = ProcessFactoryConfig::new(
            dir.path(),
            RuntimeManifest::detect(),
            Isolation::sandbox(Some(whirl_bin.to_path_buf())),
        );
        let factory = ProcessFactory::new(cfg)?;
        Ok(Direct {
            factory,
            init_exe: whirl_bin.to_path_buf(),
            egress: None,
            _dir: dir,
        })
    }

    /// The action network (pooled, unpooled), set up on first use.
    pub async fn egress(&mut self) -> Result<(std::sync::Arc<Egress>, std::sync::Arc<Egress>)> {
        if let Some(e) = &self.egress {
            return Ok(e.clone());
        }
        // The API port does not matter here: no action calls it.
        let pooled = Egress::start(EgressConfig::new(EgressPolicy::default(), 9))
            .await
            .context("starting the action network (needs root and nft)")?;
        let mut cfg = EgressConfig::new(EgressPolicy::default(), 9);
        cfg.prepared = 0;
        let unpooled = Egress::start(cfg)
            .await
            .context("starting the action network (needs root and nft)")?;
        let e = (std::sync::Arc::new(pooled), std::sync::Arc::new(unpooled));
        self.egress = Some(e.clone());
        Ok(e)
    }

    /// Removes the action networks this process set up.
    pub fn stop_egress(&mut self) {
        if let Some((a, b)) = self.egress.take() {
            a.stop();
            b.stop();
        }
    }

    pub fn interpreter(&self, kind: &str) -> Option<PathBuf> {
        self.factory
            .manifest()
            .resolve(kind)
            .map(|k| k.interpreter.clone())
    }

    async fn start(
        &self,
        kind: &str,
        code: &str,
        memory_mb: u32,
    ) -> Result<(Box<dyn Container>, ColdParts)> {
        let t0 = Instant::now();
        let mut c = self
            .factory
            .create(ContainerSpec {
                id: unique("bench"),
                kind: kind.into(),
                memory_mb,
                api_host: "http://127.0.0.1:1".into(),
                prewarm: false,
                image: None,
            })
            .await
            .with_context(|| format!("creating a {kind} container"))?;
        let create = t0.elapsed();
        let t1 = Instant::now();
        let init = c
            .init(
                InitRequest {
                    name: "noop".into(),
                    main: String::new(),
                    code: code.into(),
                    binary: false,
                    env: Default::default(),
                    concurrency: 1,
                },
                Duration::from_secs(30),
            )
            .await;
        let init_t = t1.elapsed();
        if !init.is_success() {
            let _ = c.destroy().await;
            bail!("init of {kind} failed: {}", init.result);
        }
        let req = RunRequest::from_value(&json!({}), env());
        let t2 = Instant::now();
        let out = c.run(req, Duration::from_secs(30), 1 << 20).await;
        let run_t = t2.elapsed();
        if !out.is_success() {
            let _ = c.destroy().await;
            bail!("first run of {kind} failed: {}", out.result);
        }
        Ok((
            c,
            ColdParts {
                create,
                init: init_t,
                run: run_t,
            },
        ))
    }

    /// A cold start (create, init, first run), then destroy.
    pub async fn cold(&self, kind: &str, code: &str) -> Result<ColdParts> {
        let (c, parts) = self.start(kind, code, 256).await?;
        c.destroy().await?;
        Ok(parts)
    }

    /// Warm round trips on one container: `Container::run` timed `n` times after `warm` untimed.
    pub async fn warm(
        &self,
        kind: &str,
        code: &str,
        n: usize,
        warm: usize,
    ) -> Result<Vec<Duration>> {
        let (mut c, _) = self.start(kind, code, 256).await?;
        let req = RunRequest::from_value(&json!({}), env());
        let mut out = Vec::with_capacity(n);
        let mut failed = None;
        for i in 0..warm + n {
            let t = Instant::now();
            let r = c.run(req.clone(), Duration::from_secs(30), 1 << 20).await;
            let d = t.elapsed();
            if !r.is_success() {
                failed = Some(r.result.to_string());
                break;
            }
            if i >= warm {
                out.push(d);
            }
        }
        c.destroy().await?;
        if let Some(f) = failed {
            bail!("direct run of {kind} failed: {f}");
        }
        Ok(out)
    }
}

/// One sandbox with no runtime: spawn `/bin/true` (with the network lease first, for egress),
/// then destroy. Returns (lease + spawn until the payload is exec'd, destroy).
pub fn sandbox_cycle(init_exe: &Path, net: &Net) -> Result<(Duration, Duration)> {
    let mut cfg = SandboxConfig::new(unique("b6"), 128 << 20, vec!["/bin/true".into()]);
    cfg.init_exe = Some(init_exe.to_path_buf());
    let t0 = Instant::now();
    let lease = match net {
        Net::None => None,
        Net::Egress(e) => {
            let mut lease = e
                .lease()
                .map_err(|e| anyhow::anyhow!("network lease: {e}"))?;
            if let Some(ns) = lease.netns.take() {
                cfg.network = Network::Join;
                cfg.netns = Some(std::sync::Arc::new(ns));
            }
            cfg.files = lease.files.clone();
            Some(lease)
        }
    };
    let sb = Sandbox::spawn(&cfg, whirl_sandbox::Stdio::null()?)
        .map_err(|e| anyhow::anyhow!("sandbox spawn: {e}"))?;
    let spawn = t0.elapsed();
    drop(cfg);
    let t1 = Instant::now();
    sb.destroy()
        .map_err(|e| anyhow::anyhow!("sandbox destroy: {e}"))?;
    let destroy = t1.elapsed();
    drop(lease);
    Ok((spawn, destroy))
}

/// The time one lease takes from the unpooled action network: preparing a namespace (veth
/// pair on the bridge, addresses, routes).
pub fn prepare_once(unpooled: &Egress) -> Result<Duration> {
    let t0 = Instant::now();
    let lease = unpooled
        .lease()
        .map_err(|e| anyhow::anyhow!("network lease: {e}"))?;
    let d = t0.elapsed();
    drop(lease);
    Ok(d)
}

/// Sandbox spawns that failed with `EEXIST` on the cgroup owner directory and were retried: a
/// race in whirl-sandbox between creating the per-process owner directory and a concurrent
/// destroy removing it once empty (`mkdir_leaf`: `create_dir_all(base)` fails with EEXIST when the
/// directory disappears between its `mkdir` and `is_dir` check). Counted and reported, not hidden.
pub static SPAWN_RACES: AtomicU64 = AtomicU64::new(0);

/// [`sandbox_cycle`], retrying (up to 3 times) the cgroup owner-directory race.
pub fn sandbox_cycle_retry(init_exe: &Path, net: &Net) -> Result<(Duration, Duration)> {
    let mut tries = 0;
    loop {
        match sandbox_cycle(init_exe, net) {
            Err(e) if tries < 3 && format!("{e:#}").contains("File exists") => {
                SPAWN_RACES.fetch_add(1, Ordering::Relaxed);
                tries += 1;
            }
            other => return other,
        }
    }
}

/// Bare runtime start: spawn the interpreter with a one-liner that writes `{}`, time until the
/// first byte of output arrives (no sandbox, no launcher).
pub fn bare_start(exe: &Path, args: &[&str]) -> Result<Duration> {
    let t0 = Instant::now();
    // The launcher's environment (the sandbox passes a complete, explicit one): the parent's
    // environment could slow the start down (e.g. NODE_EXTRA_CA_CERTS costs node ~50 ms).
    let mut child = std::process::Command::new(exe)
        .args(args)
        .env_clear()
        .env(
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        )
        .env("HOME", "/tmp")
        .env("LANG", "C.UTF-8")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .current_dir("/tmp")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start {}", exe.display()))?;
    let mut out = child.stdout.take().context("no stdout")?;
    let mut b = [0u8; 1];
    let n = out.read(&mut b)?;
    let d = t0.elapsed();
    let _ = child.wait();
    if n == 0 {
        bail!("{} printed nothing", exe.display());
    }
    Ok(d)
}
