//! How a launcher process is started: unsandboxed (development, unit tests) or in the sandbox.

use std::fmt::Debug;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;
use std::sync::Mutex;

use async_trait::async_trait;
use command_fds::{CommandFdExt, FdMapping};
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

use whirl_runtime::{Result, RuntimeError};

/// Everything needed to start one launcher process.
#[derive(Debug, Clone)]
pub(crate) struct LaunchSpec {
    pub id: String,
    pub argv: Vec<String>,
    pub env: Vec<(String, String)>,
    pub cwd: PathBuf,
    pub memory_bytes: u64,
    /// CPU share to start with; `None`: the one for `memory_bytes`.
    pub cpu_shares: Option<u64>,
    /// Host paths visible read-only at the same path.
    pub ro_paths: Vec<PathBuf>,
    /// (host, inside) read-only binds.
    pub ro_binds: Vec<(PathBuf, PathBuf)>,
    /// (inside, bytes) private size-capped writable tmpfs dirs.
    pub tmpfs_dirs: Vec<(PathBuf, u64)>,
    pub network: crate::NetworkMode,
}

/// The child's ends of the pipes; fd 3 is the result channel.
#[derive(Debug)]
pub(crate) struct ChildStdio {
    pub stdin: OwnedFd,
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
    pub fd3: OwnedFd,
}

#[async_trait]
pub(crate) trait Spawner: Send + Sync + Debug {
    async fn spawn(&self, spec: &LaunchSpec, stdio: ChildStdio) -> Result<Box<dyn Proc>>;
    fn cleanup_leftovers(&self) -> Result<usize>;
}

/// A running launcher process (and everything it started).
#[async_trait]
pub(crate) trait Proc: Send + Sync + Debug {
    fn freeze(&self) -> Result<()>;
    fn thaw(&self) -> Result<()>;
    /// Changes the CPU share (no-op without a cgroup).
    fn set_cpu_shares(&self, shares: u64) -> Result<()>;
    fn oom_killed(&self) -> bool;
    /// Kills the process and its descendants (idempotent, never blocks).
    fn kill(&self);
    /// Kills, reaps and releases everything (once; the container shares the handle with its
    /// concurrent runner, which only kills).
    async fn destroy(&self) -> Result<()>;
}

/// Plain child process in its own process group, no isolation. For development and tests only.
#[derive(Debug, Default)]
pub(crate) struct PlainSpawner;

#[derive(Debug)]
struct PlainProc {
    pgid: Pid,
    child: Mutex<Option<tokio::process::Child>>,
}

#[async_trait]
impl Spawner for PlainSpawner {
    async fn spawn(&self, spec: &LaunchSpec, stdio: ChildStdio) -> Result<Box<dyn Proc>> {
        let (exe, args) = spec
            .argv
            .split_first()
            .ok_or_else(|| RuntimeError::Spawn("empty argv".into()))?;
        let mut cmd = tokio::process::Command::new(exe);
        cmd.args(args)
            .env_clear()
            .envs(spec.env.iter().map(|(k, v)| (k, v)))
            .current_dir(&spec.cwd)
            .stdin(std::process::Stdio::from(stdio.stdin))
            .stdout(std::process::Stdio::from(stdio.stdout))
            .stderr(std::process::Stdio::from(stdio.stderr))
            .process_group(0)
            .kill_on_drop(true);
        cmd.fd_mappings(vec![FdMapping {
            parent_fd: stdio.fd3,
            child_fd: 3,
        }])
        .map_err(|e| RuntimeError::Spawn(e.to_string()))?;
        let child = cmd
            .spawn()
            .map_err(|e| RuntimeError::Spawn(format!("{exe}: {e}")))?;
        // Dropping the command closes the parent's copies of the child's pipe ends.
        drop(cmd);
        let pid = child
            .id()
            .ok_or_else(|| RuntimeError::Spawn("child exited immediately".into()))?;
        Ok(Box::new(PlainProc {
            pgid: Pid::from_raw(pid as i32),
            child: Mutex::new(Some(child)),
        }))
    }

    fn cleanup_leftovers(&self) -> Result<usize> {
        Ok(0)
    }
}

impl PlainProc {
    fn signal(&self, sig: Signal) -> Result<()> {
        killpg(self.pgid, sig).map_err(|e| RuntimeError::Io(std::io::Error::from(e)))
    }
}

#[async_trait]
impl Proc for PlainProc {
    fn freeze(&self) -> Result<()> {
        self.signal(Signal::SIGSTOP)
    }

    fn thaw(&self) -> Result<()> {
        self.signal(Signal::SIGCONT)
    }

    fn set_cpu_shares(&self, _shares: u64) -> Result<()> {
        Ok(())
    }

    fn oom_killed(&self) -> bool {
        false
    }

    fn kill(&self) {
        let _ = self.signal(Signal::SIGKILL);
    }

    async fn destroy(&self) -> Result<()> {
        self.kill();
        let child = self.child.lock().ok().and_then(|mut c| c.take());
        if let Some(mut child) = child {
            let _ = child.wait().await;
        }
        Ok(())
    }
}

/// Creates a pipe whose both ends are close-on-exec (the spawner dups the child's ends).
pub(crate) fn cloexec_pipe() -> Result<(OwnedFd, OwnedFd)> {
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| RuntimeError::Io(std::io::Error::from(e)))?;
    debug_assert!(r.as_raw_fd() >= 0 && w.as_raw_fd() >= 0);
    Ok((r, w))
}

/// Launcher processes in a `whirl-sandbox` sandbox (namespaces, cgroup limits, seccomp).
#[derive(Debug, Clone)]
pub(crate) struct SandboxSpawner {
    pub init_exe: Option<PathBuf>,
    pub uid_gid: Option<(u32, u32)>,
}

#[derive(Debug)]
struct SandboxProc {
    sb: std::sync::Arc<whirl_sandbox::Sandbox>,
    /// The sandbox's network (egress): given back after the sandbox is destroyed (fields drop
    /// in order, so also after `sb` on drop).
    lease: Mutex<Option<whirl_netpolicy::Lease>>,
}

/// Puts what a network lease provides into the sandbox config.
fn apply_lease(cfg: &mut whirl_sandbox::SandboxConfig, lease: &mut whirl_netpolicy::Lease) {
    use whirl_sandbox::{AttachHook, Network, SetupCommand};
    cfg.network = Network::Loopback;
    if let Some(ns) = lease.netns.take() {
        cfg.network = Network::Join;
        cfg.netns = Some(std::sync::Arc::new(ns));
    }
    // The lease's files (resolv.conf, hosts, nsswitch.conf) replace the host's.
    cfg.ro_paths
        .retain(|p| !lease.files.iter().any(|(f, _)| f == p));
    cfg.files = lease.files.clone();
    if let Some((nft, ruleset)) = &lease.setup {
        cfg.setup_commands = vec![SetupCommand {
            argv: vec![nft.to_string_lossy().into_owned(), "-f".into(), "-".into()],
            stdin: ruleset.clone(),
        }];
    }
    cfg.attach = lease.attach.clone().map(AttachHook);
}

fn sandbox_err(e: whirl_sandbox::Error) -> RuntimeError {
    RuntimeError::Sandbox(e.to_string())
}

#[async_trait]
impl Spawner for SandboxSpawner {
    async fn spawn(&self, spec: &LaunchSpec, stdio: ChildStdio) -> Result<Box<dyn Proc>> {
        let mut cfg = whirl_sandbox::SandboxConfig::new(
            spec.id.clone(),
            spec.memory_bytes,
            spec.argv.clone(),
        );
        cfg.ro_paths = spec.ro_paths.clone();
        cfg.ro_binds = spec.ro_binds.clone();
        cfg.tmpfs_dirs = spec.tmpfs_dirs.clone();
        if let Some(shares) = spec.cpu_shares {
            cfg.cpu_shares = shares;
        }
        cfg.network = match spec.network {
            crate::NetworkMode::Host => whirl_sandbox::Network::Host,
            _ => whirl_sandbox::Network::Loopback,
        };
        let egress = match &spec.network {
            crate::NetworkMode::Egress(e) => Some(e.clone()),
            _ => None,
        };
        cfg.env = spec.env.clone();
        cfg.cwd = spec.cwd.clone();
        cfg.uid_gid = self.uid_gid;
        cfg.init_exe = self.init_exe.clone();
        let stdio = whirl_sandbox::Stdio {
            stdin: stdio.stdin,
            stdout: stdio.stdout,
            stderr: stdio.stderr,
            extra: vec![stdio.fd3],
        };
        let (sb, lease) = tokio::task::spawn_blocking(move || {
            // The network first (a prepared namespace is usually ready), given back if the
            // sandbox cannot be built.
            let mut lease = match egress {
                Some(e) => Some(e.lease().map_err(|e| {
                    RuntimeError::Sandbox(format!("cannot provide the action network: {e}"))
                })?),
                None => None,
            };
            if let Some(l) = lease.as_mut() {
                apply_lease(&mut cfg, l);
            }
            let sb = whirl_sandbox::Sandbox::spawn(&cfg, stdio).map_err(sandbox_err)?;
            Ok::<_, RuntimeError>((sb, lease))
        })
        .await
        .map_err(|e| RuntimeError::Spawn(e.to_string()))??;
        tracing::debug!(id = %spec.id, setup = ?sb.setup_time(), "sandbox started");
        Ok(Box::new(SandboxProc {
            sb: std::sync::Arc::new(sb),
            lease: Mutex::new(lease),
        }))
    }

    fn cleanup_leftovers(&self) -> Result<usize> {
        whirl_sandbox::cleanup_leftovers().map_err(sandbox_err)
    }
}

#[async_trait]
impl Proc for SandboxProc {
    fn freeze(&self) -> Result<()> {
        self.sb.freeze().map_err(sandbox_err)
    }

    fn thaw(&self) -> Result<()> {
        self.sb.thaw().map_err(sandbox_err)
    }

    fn set_cpu_shares(&self, shares: u64) -> Result<()> {
        self.sb.set_cpu_shares(shares).map_err(sandbox_err)
    }

    fn oom_killed(&self) -> bool {
        self.sb.oom_killed()
    }

    fn kill(&self) {
        let _ = self.sb.kill();
    }

    async fn destroy(&self) -> Result<()> {
        let sb = self.sb.clone();
        let lease = self.lease.lock().ok().and_then(|mut l| l.take());
        let r = tokio::task::spawn_blocking(move || sb.destroy())
            .await
            .map_err(|e| RuntimeError::Spawn(e.to_string()))?
            .map_err(sandbox_err);
        drop(lease);
        r
    }
}
