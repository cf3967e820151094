//! Building the release `whirl` binary and running `whirl standalone` on a free port with a
//! temporary data dir.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Builds `whirl` in release mode (`cargo build --release --bin whirl`) and returns the path of
/// the executable cargo reports.
pub fn build_whirl(workspace: &Path) -> Result<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    eprintln!("building whirl (cargo build --release --bin whirl) ...");
    let out = std::process::Command::new(cargo)
        .current_dir(workspace)
        .args([
            "build",
            "--release",
            "--bin",
            "whirl",
            "--message-format=json-render-diagnostics",
        ])
        .stderr(Stdio::inherit())
        .output()
        .context("cannot run cargo")?;
    if !out.status.success() {
        bail!("cargo build --release --bin whirl failed ({})", out.status);
    }
    let mut exe = None;
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if v["reason"] == "compiler-artifact" && v["target"]["name"] == "whirl" {
            if let Some(p) = v["executable"].as_str() {
                exe = Some(PathBuf::from(p));
            }
        }
    }
    exe.context("cargo did not report the whirl executable")
}

/// A running `whirl standalone`; killed when dropped.
#[derive(Debug)]
pub struct Whirl {
    child: Child,
    pub addr: SocketAddr,
    pub args: Vec<String>,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Whirl {
    /// Starts `whirl standalone --port 0 --data-dir <tmp> <extra>` and waits for its API host.
    pub async fn start(bin: &Path, extra: &[&str]) -> Result<Whirl> {
        let dir = tempfile::Builder::new().prefix("whirl-bench-").tempdir()?;
        let data = dir.path().join("data");
        let log = dir.path().join("whirl.log");
        let mut args: Vec<String> = vec![
            "standalone".into(),
            "--port".into(),
            "0".into(),
            "--data-dir".into(),
            data.display().to_string(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let mut child = Command::new(bin)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log)?)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let found = tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(line) = lines.next_line().await? {
                if let Some(h) = line.strip_prefix("API host: http://") {
                    return Ok::<_, anyhow::Error>(Some(h.trim().to_string()));
                }
            }
            Ok(None)
        })
        .await;
        let host = match found {
            Ok(Ok(Some(h))) => h,
            other => {
                let _ = child.kill().await;
                let logs = std::fs::read_to_string(&log).unwrap_or_default();
                bail!(
                    "whirl standalone did not report its API host ({other:?}); its stderr:\n{}",
                    logs.lines().rev().take(20).collect::<Vec<_>>().join("\n")
                );
            }
        };
        // Keep draining stdout so the server never blocks on it.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let addr: SocketAddr = host
            .parse()
            .with_context(|| format!("bad API host {host}"))?;
        let w = Whirl {
            child,
            addr,
            args: args[5..].to_vec(),
            log,
            _dir: dir,
        };
        // Wait until it answers.
        for _ in 0..100 {
            if let Ok(mut c) = crate::loadgen::Conn::connect(addr).await {
                if c.send(&crate::loadgen::Shape::get("/ping", false))
                    .await
                    .is_ok()
                {
                    return Ok(w);
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("whirl at {addr} does not answer /ping")
    }

    /// SIGTERM, then SIGKILL after 15 s. Returns the tail of the server's stderr if it logged
    /// errors or panicked.
    pub async fn stop(mut self) -> Result<Option<String>> {
        if let Some(pid) = self.child.id() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
        }
        match tokio::time::timeout(Duration::from_secs(15), self.child.wait()).await {
            Ok(_) => {}
            Err(_) => {
                let _ = self.child.kill().await;
            }
        }
        let logs = std::fs::read_to_string(&self.log).unwrap_or_default();
        let bad: Vec<&str> = logs
            .lines()
            .filter(|l| l.contains("ERROR") || l.contains("panicked"))
            .take(10)
            .collect();
        Ok((!bad.is_empty()).then(|| bad.join("\n")))
    }
}

/// A `whirl controller` or `whirl invoker` of the CLUSTER scenario; killed when dropped.
#[derive(Debug)]
pub struct Role {
    child: Child,
    log: PathBuf,
}

impl Role {
    /// Starts `bin <args>` with its stderr in `log` and waits (60 s) for a stdout line starting
    /// with `ready`, which it returns (after the prefix).
    pub async fn start(
        bin: &Path,
        args: &[String],
        log: &Path,
        ready: &str,
    ) -> Result<(Role, String)> {
        let mut child = Command::new(bin)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(log)?)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let found = tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(line) = lines.next_line().await? {
                if let Some(rest) = line.strip_prefix(ready) {
                    return Ok::<_, anyhow::Error>(Some(rest.trim().to_string()));
                }
            }
            Ok(None)
        })
        .await;
        let rest = match found {
            Ok(Ok(Some(r))) => r,
            other => {
                let _ = child.kill().await;
                let logs = std::fs::read_to_string(log).unwrap_or_default();
                bail!(
                    "whirl {} did not print {ready:?} ({other:?}); its stderr:\n{}",
                    args.first().map(String::as_str).unwrap_or(""),
                    logs.lines().rev().take(20).collect::<Vec<_>>().join("\n")
                );
            }
        };
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok((
            Role {
                child,
                log: log.to_path_buf(),
            },
            rest,
        ))
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// SIGTERM, then SIGKILL after 15 s. Returns the errors the process logged, if any.
    pub async fn stop(mut self) -> Option<String> {
        if let Some(pid) = self.child.id() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
        }
        if tokio::time::timeout(Duration::from_secs(15), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
        let logs = std::fs::read_to_string(&self.log).unwrap_or_default();
        let bad: Vec<&str> = logs
            .lines()
            .filter(|l| l.contains("ERROR") || l.contains("panicked"))
            .take(10)
            .collect();
        (!bad.is_empty()).then(|| bad.join("\n"))
    }
}
