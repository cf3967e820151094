//! whirl-sandbox: Linux process isolation for action containers.
//!
//! Every [`Sandbox`] is one process tree in new PID, mount, IPC, UTS, cgroup and network
//! namespaces (see [`Network`] for the network's choices), inside its own cgroup (memory, pids, cpu and
//! freezer; v1 or v2), with a read-only view of the host paths it is given, a private size-capped
//! `/tmp`, writable binds for the code directory, `no_new_privs`, every capability dropped and a
//! seccomp filter. As root no user namespace is needed; as another user a user namespace is used
//! where the kernel allows it.
//!
//! Spawning re-executes a helper (`/proc/self/exe __sandbox-init` by default) that builds the
//! sandbox in a fresh single-threaded process and then execs the payload, which becomes pid 1 of
//! its PID namespace and a direct child of the caller. The binary must therefore call
//! [`run_init_if_requested`] (or [`init_main`]) first thing in `main`:
//!
//! ```ignore
//! fn main() {
//!     whirl_sandbox::run_init_if_requested(); // never returns in the helper
//!     // ... normal start-up (argument parsing, tokio runtime, ...)
//! }
//! ```
//!
//! The payload is pid 1 in its namespace: signals it has no handler for are ignored when sent
//! from inside the sandbox (SIGKILL from outside always works), orphaned grandchildren are
//! re-parented to it, and when it exits the kernel kills everything else in the sandbox.

use std::any::Any;
use std::fmt;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Component, Path, PathBuf};
use std::process::ExitStatus;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

mod cgroup;
mod init;
mod seccomp;
mod sys;

pub use cgroup::CgroupVersion;
pub use init::{init_main, run_init_if_requested, INIT_ARG};

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A host-side operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The configuration is invalid.
    #[error("invalid sandbox config: {0}")]
    InvalidConfig(String),
    /// Building the sandbox failed (reported by the init helper, with the failing step).
    #[error("sandbox set-up failed: {0}")]
    Setup(String),
    /// The host cannot run sandboxes (not root and no user namespaces, no cgroup, ...).
    #[error("sandboxing unsupported on this host: {0}")]
    Unsupported(String),
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

pub(crate) trait IoContext<T> {
    fn ctx(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn ctx(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|source| Error::Io {
            context: what(),
            source,
        })
    }
}

/// The sandbox's network.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Network {
    /// Share the host's network namespace (development only).
    Host,
    /// A new, empty network namespace with only `lo` (up): no route out. A user-mode stack
    /// may still be attached to it ([`SandboxConfig::attach`]).
    #[default]
    Loopback,
    /// Join the prepared network namespace [`SandboxConfig::netns`] (interfaces, addresses and
    /// routes already in place; see whirl-netpolicy).
    Join,
}

/// Called with the sandbox process's host pid once it exists, before its set-up continues:
/// connects its (new) network namespace to the outside, e.g. by starting a user-mode network
/// stack. The returned guard lives as long as the sandbox and is dropped after its processes
/// are gone.
#[derive(Clone)]
pub struct AttachHook(pub Arc<dyn Fn(i32) -> io::Result<Box<dyn Any + Send + Sync>> + Send + Sync>);

impl fmt::Debug for AttachHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AttachHook")
    }
}

/// A program the init helper runs (and waits for) inside the sandbox's namespaces, with its
/// set-up privileges and before the payload's file system view is built, e.g. `nft -f -` loading
/// the network filter of a rootless sandbox. A failure aborts the set-up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupCommand {
    /// Program (absolute path) and arguments.
    pub argv: Vec<String>,
    /// Written to its standard input.
    pub stdin: String,
}

/// How to build one sandbox.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SandboxConfig {
    /// Unique among live sandboxes, 1 to 64 characters of `[A-Za-z0-9_-]`; names the cgroup
    /// (`<cgroup mount>/whirl/<owner pid>-<start time>/<id>`).
    pub id: String,
    /// cgroup memory limit (swap is disabled where the kernel accounts it).
    pub memory_bytes: u64,
    /// cgroup pids limit.
    pub pids_max: u64,
    /// cgroup v1 cpu.shares (mapped to cpu.weight on v2); see [`SandboxConfig::cpu_shares_for`].
    pub cpu_shares: u64,
    /// RLIMIT_NOFILE (soft and hard).
    pub nofile: u64,
    /// Size of the private tmpfs mounted at `/tmp` (its pages count against the memory limit).
    pub tmp_bytes: u64,
    /// Host paths bind-mounted read-only at the same path. A symlink is recreated as the same
    /// symlink (so `/lib -> usr/lib` works when `/usr` is listed too).
    pub ro_paths: Vec<PathBuf>,
    /// `(host directory, path inside)` writable binds.
    pub rw_paths: Vec<(PathBuf, PathBuf)>,
    /// `(host directory, path inside)` read-only binds at another path than the host's. Later
    /// writes on the host side stay visible inside (it is a bind, not a copy).
    #[serde(default)]
    pub ro_binds: Vec<(PathBuf, PathBuf)>,
    /// `(path inside, size in bytes)`: private writable tmpfs directories owned by the payload
    /// user, each capped at its size (writes beyond fail with `ENOSPC`); like `/tmp`, their pages
    /// count against the memory limit.
    #[serde(default)]
    pub tmpfs_dirs: Vec<(PathBuf, u64)>,
    /// The network namespace: [`Network::Loopback`] by default.
    #[serde(default)]
    pub network: Network,
    /// For [`Network::Join`]: the namespace to join (whirl-netpolicy prepares it).
    #[serde(skip)]
    pub netns: Option<Arc<OwnedFd>>,
    /// For [`Network::Loopback`]: connects the new namespace once the process exists.
    #[serde(skip)]
    pub attach: Option<AttachHook>,
    /// Run by the init helper before the file system view is built (see [`SetupCommand`]).
    #[serde(default)]
    pub setup_commands: Vec<SetupCommand>,
    /// `(path inside, contents)`: small read-only files written into the sandbox's root (e.g.
    /// `/etc/resolv.conf`); their parent directories are created as needed. A path must not lie
    /// under a bind or tmpfs the config also lists, nor be a read-only host path.
    #[serde(default)]
    pub files: Vec<(PathBuf, String)>,
    /// Program and arguments; a program without a slash is looked up in the `PATH` of `env`
    /// (default `/usr/local/bin:/usr/bin:/bin`) inside the sandbox.
    pub argv: Vec<String>,
    /// The complete environment (nothing is inherited).
    pub env: Vec<(String, String)>,
    /// Working directory inside the sandbox.
    pub cwd: PathBuf,
    /// Run as this uid/gid (e.g. 65534) after set-up; `None` stays uid 0 inside (still without
    /// any capability).
    pub uid_gid: Option<(u32, u32)>,
    /// The init helper binary; `None` = `/proc/self/exe` (the running binary, which must call
    /// [`run_init_if_requested`]). Tests point this at the `whirl-sandbox-init` binary.
    #[serde(skip)]
    pub init_exe: Option<PathBuf>,
    /// When not root and no cgroup can be created, run without cgroup limits instead of failing.
    /// Ignored as root (root always requires the cgroup).
    pub allow_no_cgroup: bool,
}

const MIB: u64 = 1024 * 1024;

impl SandboxConfig {
    /// A config with the defaults: pids 1024, nofile 1024, cpu shares from the memory, 64 MiB
    /// `/tmp` (at most the memory limit), [`SandboxConfig::default_ro_paths`], no network,
    /// empty environment, cwd `/`, uid 0 inside.
    pub fn new(id: impl Into<String>, memory_bytes: u64, argv: Vec<String>) -> SandboxConfig {
        SandboxConfig {
            id: id.into(),
            memory_bytes,
            pids_max: 1024,
            cpu_shares: Self::cpu_shares_for(memory_bytes),
            nofile: 1024,
            tmp_bytes: (64 * MIB).min(memory_bytes.max(MIB)),
            ro_paths: Self::default_ro_paths(),
            rw_paths: Vec::new(),
            ro_binds: Vec::new(),
            tmpfs_dirs: Vec::new(),
            network: Network::Loopback,
            netns: None,
            attach: None,
            setup_commands: Vec::new(),
            files: Vec::new(),
            argv,
            env: Vec::new(),
            cwd: PathBuf::from("/"),
            uid_gid: None,
            init_exe: None,
            allow_no_cgroup: false,
        }
    }

    /// cpu.shares proportional to memory: 1024 per 256 MiB (OpenWhisk's default ratio), at
    /// least 2.
    pub fn cpu_shares_for(memory_bytes: u64) -> u64 {
        (memory_bytes / (256 * MIB / 1024)).clamp(2, 262_144)
    }

    /// The host paths a typical dynamically linked runtime needs, those that exist: `/bin`,
    /// `/sbin`, `/usr`, `/lib`, `/lib64`, `/lib32`, `/etc/ld.so.cache`, `/etc/ssl`,
    /// `/etc/ca-certificates`, `/etc/localtime`. (No `/etc/passwd`, `/etc/shadow`, `/root`.)
    pub fn default_ro_paths() -> Vec<PathBuf> {
        [
            "/bin",
            "/sbin",
            "/usr",
            "/lib",
            "/lib64",
            "/lib32",
            "/etc/ld.so.cache",
            "/etc/ssl",
            "/etc/ca-certificates",
            "/etc/localtime",
        ]
        .iter()
        .map(PathBuf::from)
        .filter(|p| p.symlink_metadata().is_ok())
        .collect()
    }

    /// Checks the config without touching the system.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidConfig(m));
        if self.id.is_empty()
            || self.id.len() > 64
            || !self
                .id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return bad(format!(
                "id {:?} must be 1-64 characters of [A-Za-z0-9_-]",
                self.id
            ));
        }
        if self.memory_bytes < 4 * MIB {
            return bad(format!("memory_bytes {} is below 4 MiB", self.memory_bytes));
        }
        if self.pids_max == 0 {
            return bad("pids_max must be positive".into());
        }
        if self.nofile < 8 {
            return bad(format!("nofile {} is below 8", self.nofile));
        }
        if self.tmp_bytes == 0 {
            return bad("tmp_bytes must be positive".into());
        }
        let check_path = |what: &str, p: &Path| -> Result<()> {
            let clean = p.is_absolute()
                && p.components()
                    .all(|c| matches!(c, Component::RootDir | Component::Normal(_)));
            if !clean || p.as_os_str().as_bytes().contains(&0) {
                return bad(format!(
                    "{what} {} must be absolute, without . or ..",
                    p.display()
                ));
            }
            Ok(())
        };
        for p in &self.ro_paths {
            check_path("read-only path", p)?;
            if p.parent().is_none() {
                return bad("read-only path / would expose the whole host".into());
            }
        }
        for (host, inside) in self.rw_paths.iter().chain(&self.ro_binds) {
            check_path("bind host path", host)?;
            check_path("bind inside path", inside)?;
            if inside.parent().is_none() {
                return bad("bind inside path cannot be /".into());
            }
        }
        for (inside, bytes) in &self.tmpfs_dirs {
            check_path("tmpfs path", inside)?;
            if inside.parent().is_none() || *bytes == 0 {
                return bad(format!(
                    "tmpfs {} needs a path other than / and a positive size",
                    inside.display()
                ));
            }
        }
        let fixed_mounts = [
            PathBuf::from("/tmp"),
            PathBuf::from("/dev"),
            PathBuf::from("/proc"),
        ];
        for (inside, contents) in &self.files {
            check_path("file path", inside)?;
            if inside.parent().is_none() || contents.contains('\0') {
                return bad(format!(
                    "file {} needs a path other than / and contents without NUL bytes",
                    inside.display()
                ));
            }
            let covered = self
                .ro_paths
                .iter()
                .chain(self.rw_paths.iter().chain(&self.ro_binds).map(|(_, i)| i))
                .chain(self.tmpfs_dirs.iter().map(|(i, _)| i))
                .chain(fixed_mounts.iter())
                .find(|m| inside.starts_with(m));
            if let Some(m) = covered {
                return bad(format!(
                    "file {} lies under {}, which the sandbox mounts",
                    inside.display(),
                    m.display()
                ));
            }
        }
        for c in &self.setup_commands {
            match c.argv.first() {
                Some(p) if Path::new(p).is_absolute() => {}
                _ => return bad("a set-up command needs an absolute program path".into()),
            }
            if c.argv.iter().any(|a| a.contains('\0')) {
                return bad("a set-up command contains a NUL byte".into());
            }
        }
        match (self.network, &self.netns, &self.attach) {
            (Network::Join, None, _) => {
                return bad("network Join needs the namespace to join (netns)".into())
            }
            (Network::Join | Network::Host, _, Some(_)) => {
                return bad("an attach hook needs a new network namespace (Loopback)".into())
            }
            _ => {}
        }
        check_path("cwd", &self.cwd)?;
        if self.argv.is_empty() || self.argv[0].is_empty() {
            return bad("argv must name a program".into());
        }
        if self.argv.iter().any(|a| a.contains('\0')) {
            return bad("argv contains a NUL byte".into());
        }
        for (k, v) in &self.env {
            if k.is_empty() || k.contains('=') || k.contains('\0') || v.contains('\0') {
                return bad(format!("invalid environment variable name or value: {k:?}"));
            }
        }
        Ok(())
    }
}

/// The payload's standard descriptors. `extra[0]` becomes fd 3 in the sandbox, `extra[1]` fd 4,
/// and so on. The parent's copies are closed by [`Sandbox::spawn`].
#[derive(Debug)]
pub struct Stdio {
    /// fd 0.
    pub stdin: OwnedFd,
    /// fd 1.
    pub stdout: OwnedFd,
    /// fd 2.
    pub stderr: OwnedFd,
    /// fds 3, 4, ...
    pub extra: Vec<OwnedFd>,
}

impl Stdio {
    /// `/dev/null` for stdin, stdout and stderr, no extra descriptors.
    pub fn null() -> io::Result<Stdio> {
        let null = || -> io::Result<OwnedFd> {
            Ok(File::options()
                .read(true)
                .write(true)
                .open("/dev/null")?
                .into())
        };
        Ok(Stdio {
            stdin: null()?,
            stdout: null()?,
            stderr: null()?,
            extra: Vec::new(),
        })
    }
}

#[derive(Debug, Default)]
struct State {
    exit: Option<ExitStatus>,
    destroyed: bool,
}

/// A running sandbox. Dropping it destroys it (best effort); call [`Sandbox::destroy`] to see
/// errors.
pub struct Sandbox {
    id: String,
    pid: i32,
    pidfd: OwnedFd,
    cgroup: Mutex<Option<cgroup::Cgroup>>,
    state: Mutex<State>,
    setup_time: Duration,
    /// What [`SandboxConfig::attach`] returned; dropped once the processes are gone.
    net_guard: Mutex<Option<Box<dyn Any + Send + Sync>>>,
}

impl fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sandbox")
            .field("id", &self.id)
            .field("pid", &self.pid)
            .field("setup_time", &self.setup_time)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Sandbox {
    /// Builds the sandbox and starts `cfg.argv` in it. Returns once the program has been exec'd;
    /// set-up errors name the failing step. Blocking (a few milliseconds): call it from
    /// `spawn_blocking` in async code.
    pub fn spawn(cfg: &SandboxConfig, stdio: Stdio) -> Result<Sandbox> {
        let t0 = Instant::now();
        cfg.validate()?;
        let uid = sys::geteuid();
        let gid = sys::getegid();
        let userns = uid != 0;
        if userns {
            if let Err(why) = userns_available() {
                return Err(Error::Unsupported(format!(
                    "not running as root and cannot use a user namespace: {why}"
                )));
            }
        }
        let limits = cgroup::Limits {
            memory_bytes: cfg.memory_bytes,
            pids_max: cfg.pids_max,
            cpu_shares: cfg.cpu_shares,
        };
        let cg = match cgroup::Cgroup::create(&cfg.id, limits) {
            Ok(cg) => Some(cg),
            Err(_) if userns && cfg.allow_no_cgroup => None,
            Err(e) => return Err(e),
        };
        // From here on the cgroup is owned by a guard until the Sandbox exists.
        let mut guard = CgroupGuard(cg);

        let n_extra = stdio.extra.len();
        let cfg_fd = (3 + n_extra) as RawFd;
        let status_fd = cfg_fd + 1;
        // The namespace to join, if any, comes right after the status descriptor.
        let netns_fd = match (cfg.network, &cfg.netns) {
            (Network::Join, Some(_)) => Some(status_fd + 1),
            _ => None,
        };
        let (cfg_r, cfg_w) = io::pipe().ctx(|| "creating the config pipe".into())?;
        let (mut status_r, status_w) = io::pipe().ctx(|| "creating the status pipe".into())?;
        let cfg_r: OwnedFd = cfg_r.into();
        let status_w: OwnedFd = status_w.into();

        // Duplicate every descriptor the child needs above all target numbers, so the child's
        // dup2 calls cannot clobber a source.
        let min = netns_fd.unwrap_or(status_fd) + 1;
        let mut high = Vec::with_capacity(5 + n_extra);
        for fd in [
            stdio.stdin.as_fd(),
            stdio.stdout.as_fd(),
            stdio.stderr.as_fd(),
        ]
        .into_iter()
        .chain(stdio.extra.iter().map(AsFd::as_fd))
        .chain([cfg_r.as_fd(), status_w.as_fd()])
        .chain(
            cfg.netns
                .as_deref()
                .filter(|_| netns_fd.is_some())
                .map(AsFd::as_fd),
        ) {
            high.push(sys::dup_cloexec_above(fd, min).ctx(|| "duplicating descriptors".into())?);
        }
        drop(stdio);
        drop(cfg_r);
        drop(status_w);
        let fd_map: Vec<(RawFd, RawFd)> = high
            .iter()
            .enumerate()
            .map(|(i, fd)| (fd.as_raw_fd(), i as RawFd))
            .collect();

        let exe = cfg
            .init_exe
            .clone()
            .unwrap_or_else(|| PathBuf::from("/proc/self/exe"));
        let to_c = |s: &[u8]| {
            std::ffi::CString::new(s).map_err(|_| Error::InvalidConfig("NUL in init_exe".into()))
        };
        let exe_c = to_c(exe.as_os_str().as_bytes())?;
        let argv = [
            exe_c.clone(),
            to_c(INIT_ARG.as_bytes())?,
            to_c(cfg_fd.to_string().as_bytes())?,
            to_c(status_fd.to_string().as_bytes())?,
        ];
        let mut flags =
            libc::CLONE_NEWPID | libc::CLONE_NEWNS | libc::CLONE_NEWUTS | libc::CLONE_NEWIPC;
        if cfg.network == Network::Loopback {
            flags |= libc::CLONE_NEWNET;
        }
        if userns {
            flags |= libc::CLONE_NEWUSER;
        }
        // Rootless: the process is root (uid 0 -> our uid) in its user namespace when it execs
        // the helper, so it keeps its capabilities there for the set-up.
        let id_maps = userns.then(|| sys::IdMaps {
            uid_map: format!("0 {uid} 1").into_bytes(),
            gid_map: format!("0 {gid} 1").into_bytes(),
        });
        let (pid, pidfd) = sys::clone_exec(
            flags as u64,
            &exe_c,
            &argv,
            &fd_map,
            status_fd,
            id_maps.as_ref(),
        )
        .ctx(|| "creating the sandbox process (clone3)".into())?;
        drop(high);

        let sb = Sandbox {
            id: cfg.id.clone(),
            pid,
            pidfd,
            cgroup: Mutex::new(guard.0.take()),
            state: Mutex::new(State::default()),
            setup_time: Duration::ZERO,
            net_guard: Mutex::new(None),
        };
        // On any error below, dropping `sb` kills the helper and removes the cgroup.
        // As root on cgroup v1 the helper joins its cgroup itself (see `InitMsg::join_tasks`);
        // otherwise we move it in here.
        let join_tasks = lock(&sb.cgroup)
            .as_ref()
            .and_then(cgroup::Cgroup::tasks_files)
            .filter(|_| !userns)
            .unwrap_or_default();
        if join_tasks.is_empty() {
            if let Some(cg) = lock(&sb.cgroup).as_ref() {
                cg.add(pid)?;
            }
        }
        if let Some(hook) = &cfg.attach {
            // Before the helper reads its config: its namespaces are still the clone's.
            match (hook.0)(pid) {
                Ok(guard) => *lock(&sb.net_guard) = Some(guard),
                Err(e) => {
                    let _ = sb.destroy();
                    return Err(Error::Setup(format!(
                        "connecting the sandbox's network: {e}"
                    )));
                }
            }
        }
        let msg = init::InitMsg {
            cfg: cfg.clone(),
            userns,
            extra_fds: n_extra,
            join_tasks,
            netns_fd,
        };
        let json = serde_json::to_vec(&msg)
            .map_err(|e| Error::InvalidConfig(format!("cannot serialise the config: {e}")))?;
        let mut cfg_w = File::from(OwnedFd::from(cfg_w));
        let write_res = cfg_w.write_all(&json);
        drop(cfg_w);
        let mut status = Vec::new();
        let read_res = status_r.read_to_end(&mut status);
        if status.first() == Some(&init::EXEC_MARK) && status.len() == 1 {
            let mut sb = sb;
            sb.setup_time = t0.elapsed();
            return Ok(sb);
        }
        let detail =
            String::from_utf8_lossy(status.strip_prefix(&[init::EXEC_MARK]).unwrap_or(&status))
                .into_owned();
        let exit = sb.kill_and_reap();
        let _ = sb.destroy();
        let msg = if !detail.is_empty() {
            if detail.starts_with("cannot execute the sandbox init helper")
                || detail.starts_with("cannot write the user namespace")
            {
                format!("{detail} {}", exe.display())
            } else {
                detail
            }
        } else {
            format!(
                "the init helper {} exited ({}) without setting up the sandbox{}{}; does the binary \
                 call whirl_sandbox::run_init_if_requested() first thing in main?",
                exe.display(),
                exit.map_or("unknown status".to_string(), |s| s.to_string()),
                write_res.err().map(|e| format!(", config write: {e}")).unwrap_or_default(),
                read_res.err().map(|e| format!(", status read: {e}")).unwrap_or_default(),
            )
        };
        Err(Error::Setup(msg))
    }

    /// The sandbox id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Host pid of the sandboxed program (pid 1 inside; a direct child of this process).
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// A pidfd for the program (readable once it has exited).
    pub fn pidfd(&self) -> BorrowedFd<'_> {
        self.pidfd.as_fd()
    }

    /// Wall time `spawn` took, from call to exec of the program.
    pub fn setup_time(&self) -> Duration {
        self.setup_time
    }

    /// The cgroup directories of this sandbox (empty without a cgroup).
    pub fn cgroup_dirs(&self) -> Vec<PathBuf> {
        lock(&self.cgroup)
            .as_ref()
            .map(|c| c.dirs().to_vec())
            .unwrap_or_default()
    }

    fn with_cgroup<T>(&self, f: impl FnOnce(&cgroup::Cgroup) -> Result<T>) -> Result<T> {
        match lock(&self.cgroup).as_ref() {
            Some(cg) => f(cg),
            None => Err(Error::Unsupported(format!(
                "sandbox {} has no cgroup",
                self.id
            ))),
        }
    }

    /// Pauses every process of the sandbox (cgroup freezer); returns once they are frozen.
    pub fn freeze(&self) -> Result<()> {
        self.with_cgroup(cgroup::Cgroup::freeze)
    }

    /// Resumes a frozen sandbox.
    pub fn thaw(&self) -> Result<()> {
        self.with_cgroup(cgroup::Cgroup::thaw)
    }

    /// Changes the sandbox's CPU share (cgroup v1 `cpu.shares`, 2 to 262144; mapped to
    /// `cpu.weight` on v2), e.g. to start at the lowest share and get the normal one later.
    pub fn set_cpu_shares(&self, shares: u64) -> Result<()> {
        self.with_cgroup(|c| c.set_cpu_shares(shares))
    }

    /// Whether the sandbox is frozen (or freezing).
    pub fn is_frozen(&self) -> bool {
        self.with_cgroup(|c| Ok(c.is_frozen())).unwrap_or(false)
    }

    /// Whether the kernel's OOM killer killed a process of this sandbox (memory limit hit).
    pub fn oom_killed(&self) -> bool {
        self.with_cgroup(|c| Ok(c.oom_killed())).unwrap_or(false)
    }

    /// Current memory use of the sandbox's cgroup, in bytes.
    pub fn memory_usage(&self) -> Option<u64> {
        self.with_cgroup(|c| Ok(c.memory_usage())).ok().flatten()
    }

    /// Host pids of every process in the sandbox's cgroup.
    pub fn processes(&self) -> Vec<i32> {
        self.with_cgroup(|c| Ok(c.procs())).unwrap_or_default()
    }

    /// Reaps the program if it has exited; `Ok(None)` while it runs.
    pub fn try_wait(&self) -> Result<Option<ExitStatus>> {
        let mut st = lock(&self.state);
        if let Some(s) = st.exit {
            return Ok(Some(s));
        }
        match sys::waitpid(self.pid, true) {
            Ok(Some(raw)) => {
                let s = ExitStatus::from_raw(raw);
                st.exit = Some(s);
                Ok(Some(s))
            }
            Ok(None) => Ok(None),
            Err(e) => Err(e).ctx(|| format!("waitpid({})", self.pid)),
        }
    }

    /// Whether the program is still running.
    pub fn is_alive(&self) -> bool {
        matches!(self.try_wait(), Ok(None))
    }

    /// Waits (blocking the thread) until the program exits, and reaps it.
    pub fn wait(&self) -> Result<ExitStatus> {
        loop {
            if let Some(s) = self.try_wait()? {
                return Ok(s);
            }
            sys::poll_readable(self.pidfd.as_fd(), -1).ctx(|| "polling the pidfd".into())?;
        }
    }

    /// Waits (asynchronously, on the pidfd) until the program exits, and reaps it. Must run
    /// inside a tokio runtime with I/O enabled. Cancel-safe; may be called concurrently.
    pub async fn wait_exit(&self) -> Result<ExitStatus> {
        loop {
            if let Some(s) = self.try_wait()? {
                return Ok(s);
            }
            let fd = self
                .pidfd
                .try_clone()
                .ctx(|| "duplicating the pidfd".into())?;
            let afd = sys::async_readable_fd(fd).ctx(|| "registering the pidfd".into())?;
            let _ready = afd.readable().await.ctx(|| "waiting on the pidfd".into())?;
        }
    }

    /// Sends SIGKILL to every process of the sandbox (the sandbox stays until
    /// [`Sandbox::destroy`]).
    pub fn kill(&self) -> Result<()> {
        if let Some(cg) = lock(&self.cgroup).as_ref() {
            let _ = cg.thaw();
        }
        match sys::pidfd_send_signal(self.pidfd.as_fd(), libc::SIGKILL) {
            Ok(()) => Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::ESRCH) => Ok(()),
            Err(e) => Err(e).ctx(|| format!("killing sandbox {}", self.id)),
        }
    }

    fn kill_and_reap(&self) -> Option<ExitStatus> {
        let _ = self.kill();
        // The program is pid 1 of its namespace: killing it kills the rest; it becomes
        // reapable once they are all gone.
        for _ in 0..100 {
            match self.try_wait() {
                Ok(Some(s)) => return Some(s),
                Ok(None) => {
                    let _ = sys::poll_readable(self.pidfd.as_fd(), 100);
                }
                Err(_) => return None,
            }
        }
        None
    }

    /// Kills every process of the sandbox (thawing it first if frozen), reaps the program,
    /// removes its cgroup and drops what the attach hook returned. Idempotent; also run
    /// (ignoring errors) on drop. Nothing is left on the host: the sandbox's mounts live only in
    /// its own mount namespace, and its network namespace (with any interface in it) goes once
    /// no process and no descriptor holds it.
    pub fn destroy(&self) -> Result<()> {
        if lock(&self.state).destroyed {
            return Ok(());
        }
        let _ = self.kill();
        let mut result = Ok(());
        if let Some(cg) = lock(&self.cgroup).as_ref() {
            if let Err(e) = cg.kill_all() {
                result = Err(e);
            }
        }
        if self.kill_and_reap().is_none() && result.is_ok() {
            result = Err(Error::Setup(format!(
                "sandbox {} (pid {}) did not exit",
                self.id, self.pid
            )));
        }
        if let Some(mut cg) = lock(&self.cgroup).take() {
            if let Err(e) = cg.remove() {
                if result.is_ok() {
                    result = Err(e);
                }
            }
        }
        drop(lock(&self.net_guard).take());
        lock(&self.state).destroyed = true;
        result
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.destroy();
    }
}

/// Removes a cgroup whose sandbox was never started.
struct CgroupGuard(Option<cgroup::Cgroup>);

impl Drop for CgroupGuard {
    fn drop(&mut self) {
        if let Some(mut cg) = self.0.take() {
            let _ = cg.remove();
        }
    }
}

/// Removes what a crashed run left behind: every sandbox cgroup under `<mount>/whirl/` whose
/// owning process is gone, after killing its processes. Sandboxes of live whirl processes are
/// left alone. Returns the number of sandbox cgroups removed. Call it at start.
pub fn cleanup_leftovers() -> Result<usize> {
    cgroup::cleanup_leftovers()
}

/// What this host supports.
#[derive(Debug, Clone)]
pub struct Capabilities {
    /// Effective uid is 0.
    pub root: bool,
    /// The cgroup hierarchy in use, if a usable one was found.
    pub cgroup: Option<CgroupVersion>,
    /// Why no cgroup is usable (or why the whirl cgroup directory cannot be created).
    pub cgroup_problem: Option<String>,
    /// Unprivileged user namespaces look available.
    pub userns: bool,
    /// The kernel supports seccomp filters.
    pub seccomp: bool,
}

impl Capabilities {
    /// `Ok` if sandboxes with cgroup limits can be spawned here, else the reason.
    pub fn check(&self) -> std::result::Result<(), String> {
        if !self.root && !self.userns {
            return Err("not root, and unprivileged user namespaces are unavailable".into());
        }
        if let Some(p) = &self.cgroup_problem {
            return Err(p.clone());
        }
        if !self.seccomp {
            return Err("the kernel has no seccomp filter support".into());
        }
        Ok(())
    }
}

fn userns_available() -> std::result::Result<(), String> {
    let read = |p: &str| {
        std::fs::read_to_string(p)
            .ok()
            .map(|s| s.trim().to_string())
    };
    if read("/proc/sys/user/max_user_namespaces").as_deref() == Some("0") {
        return Err("user.max_user_namespaces is 0".into());
    }
    if read("/proc/sys/kernel/unprivileged_userns_clone").as_deref() == Some("0") {
        return Err("kernel.unprivileged_userns_clone is 0".into());
    }
    if read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns").as_deref() == Some("1") {
        return Err("kernel.apparmor_restrict_unprivileged_userns is 1".into());
    }
    if !Path::new("/proc/self/ns/user").exists() {
        return Err("the kernel has no user namespaces".into());
    }
    Ok(())
}

/// Probes what this host supports (for diagnostics, and for tests to fail clearly).
pub fn probe() -> Capabilities {
    let root = sys::geteuid() == 0;
    let (cgroup, mut cgroup_problem) = match cgroup::layout() {
        Ok(l) => (Some(l.version()), None),
        Err(e) => (None, Some(e.to_string())),
    };
    if let Ok(l) = cgroup::layout() {
        if let Err(e) = cgroup::check_writable(l) {
            cgroup_problem = Some(e);
        }
    }
    let seccomp = std::fs::read_to_string("/proc/self/status")
        .map(|s| s.lines().any(|l| l.starts_with("Seccomp:")))
        .unwrap_or(false);
    Capabilities {
        root,
        cgroup,
        cgroup_problem,
        userns: userns_available().is_ok(),
        seccomp,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> SandboxConfig {
        SandboxConfig::new("t-1", 128 * MIB, vec!["/bin/true".into()])
    }

    #[test]
    fn validates_ids_and_paths() {
        assert!(cfg().validate().is_ok());
        let mut c = cfg();
        c.id = "../x".into();
        assert!(c.validate().is_err());
        let mut c = cfg();
        c.ro_paths.push("/usr/../etc".into());
        assert!(c.validate().is_err());
        let mut c = cfg();
        c.ro_paths.push("/".into());
        assert!(c.validate().is_err());
        let mut c = cfg();
        c.env.push(("A=B".into(), "x".into()));
        assert!(c.validate().is_err());
        let mut c = cfg();
        c.argv.clear();
        assert!(c.validate().is_err());
    }

    #[test]
    fn sandbox_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Sandbox>();
        assert_send_sync::<SandboxConfig>();
    }

    #[test]
    fn cpu_shares_scale_with_memory() {
        assert_eq!(SandboxConfig::cpu_shares_for(256 * MIB), 1024);
        assert_eq!(SandboxConfig::cpu_shares_for(128 * MIB), 512);
        assert_eq!(SandboxConfig::cpu_shares_for(0), 2);
    }
}
