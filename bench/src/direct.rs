//! Measurements below the HTTP API: the direct pipe round trip to a warm launcher
//! (`Container::run`), the cold path split into its steps, bare sandboxes, bare runtime starts.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::json;
use whirl_runtime::{
    ActivationEnv, Container, ContainerFactory, ContainerSpec, InitRequest, RunRequest,
};
use whirl_runtime_process::{Isolation, ProcessFactory, ProcessFactoryConfig, RuntimeManifest};
use whirl_sandbox::{Sandbox, SandboxConfig};

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
    /// Whether sandboxes share the host network (the runtime's default setting).
    pub network: bool,
    _dir: tempfile::TempDir,
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
        let network = matches!(cfg.network, whirl_runtime_process::NetworkMode::Host);
        let factory = ProcessFactory::new(cfg)?;
        Ok(Direct {
            factory,
            init_exe: whirl_bin.to_path_buf(),
            network,
            _dir: dir,
        })
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

/// One sandbox with no runtime: spawn `/bin/true`, then destroy.
/// Returns (spawn until the payload is exec'd, destroy).
pub fn sandbox_cycle(init_exe: &Path, network: bool) -> Result<(Duration, Duration)> {
    let mut cfg = SandboxConfig::new(unique("b6"), 128 << 20, vec!["/bin/true".into()]);
    cfg.init_exe = Some(init_exe.to_path_buf());
    cfg.network = if network {
        whirl_sandbox::Network::Host
    } else {
        whirl_sandbox::Network::Loopback
    };
    let t0 = Instant::now();
    let sb = Sandbox::spawn(&cfg, whirl_sandbox::Stdio::null()?)
        .map_err(|e| anyhow::anyhow!("sandbox spawn: {e}"))?;
    let spawn = t0.elapsed();
    let t1 = Instant::now();
    sb.destroy()
        .map_err(|e| anyhow::anyhow!("sandbox destroy: {e}"))?;
    Ok((spawn, t1.elapsed()))
}

/// Sandbox spawns that failed with `EEXIST` on the cgroup owner directory and were retried: a
/// race in whirl-sandbox between creating the per-process owner directory and a concurrent
/// destroy removing it once empty (`mkdir_leaf`: `create_dir_all(base)` fails with EEXIST when the
/// directory disappears between its `mkdir` and `is_dir` check). Counted and reported, not hidden.
pub static SPAWN_RACES: AtomicU64 = AtomicU64::new(0);

/// [`sandbox_cycle`], retrying (up to 3 times) the cgroup owner-directory race.
pub fn sandbox_cycle_retry(init_exe: &Path, network: bool) -> Result<(Duration, Duration)> {
    let mut tries = 0;
    loop {
        match sandbox_cycle(init_exe, network) {
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
