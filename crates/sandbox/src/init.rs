//! The init helper: the program `Sandbox::spawn` starts (as pid 1 of fresh PID, mount, UTS, IPC
//! and network namespaces) to build the sandbox and exec the payload.
//!
//! It runs in a fresh single-threaded process, so it may freely allocate and use the standard
//! library. Protocol with the parent (`Sandbox::spawn`):
//! - argv: `<exe> __sandbox-init <config fd> <status fd>`; descriptors 0-2 and 3.. (the extra
//!   descriptors) are already in place; the environment is empty;
//! - the parent places the process in its cgroup, then writes an [`InitMsg`] as JSON to the
//!   config descriptor and closes it;
//! - on a set-up error the helper writes a message to the status descriptor and exits 125;
//! - right before `execve` it writes the single byte [`EXEC_MARK`]; the status descriptor is
//!   close-on-exec, so the parent sees end-of-file once the payload runs (or the mark followed by
//!   a message if `execve` failed).

use std::convert::Infallible;
use std::ffi::{CString, OsStr};
use std::fs::{self, File};
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{seccomp, sys, Network, SandboxConfig};

/// The first argument that makes a binary act as the sandbox init helper.
pub const INIT_ARG: &str = "__sandbox-init";

/// Written to the status pipe right before `execve`.
pub(crate) const EXEC_MARK: u8 = b'X';

/// Exit code of the helper when set-up fails.
const SETUP_FAILED: i32 = 125;

/// Hostname inside every sandbox.
const HOSTNAME: &[u8] = b"sandbox";

/// Devices bind-mounted from the host into the sandbox's /dev.
const DEVICES: &[&str] = &["null", "zero", "full", "random", "urandom"];

/// Sensitive /proc entries hidden behind /dev/null.
const PROC_MASKED: &[&str] = &[
    "kcore",
    "keys",
    "timer_list",
    "sched_debug",
    "sysrq-trigger",
    "latency_stats",
    "kallsyms",
];

/// /proc directories made read-only.
const PROC_READONLY: &[&str] = &["sys", "irq", "bus", "fs", "acpi", "scsi", "sysvipc"];

/// Securebits: root has no special powers (locked), keep-caps off (locked), no ambient raise
/// (locked).
const SECUREBITS: libc::c_ulong = 0x01 | 0x02 | 0x20 | 0x40 | 0x80;

const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// What the parent sends the helper.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct InitMsg {
    pub cfg: SandboxConfig,
    /// Rootless: the process is in a new user namespace where only the caller's uid and gid
    /// are mapped (to 0).
    pub userns: bool,
    /// Number of extra descriptors (at 3..) the payload inherits.
    pub extra_fds: usize,
    /// cgroup v1 `tasks` files the helper writes `0` to, moving itself into its cgroup. Empty:
    /// the parent has already moved it. A process moving its own single thread through `tasks`
    /// does not take the kernel's cgroup thread-group lock, whose write side (taken when another
    /// process writes a pid to `cgroup.procs`) waits for an RCU grace period: measured here,
    /// 10 ms at the median against 0.3 ms.
    #[serde(default)]
    pub join_tasks: Vec<PathBuf>,
    /// The descriptor of the network namespace to join ([`Network::Join`]).
    #[serde(default)]
    pub netns_fd: Option<RawFd>,
}

/// If this process was started as the sandbox init helper (first argument [`INIT_ARG`]), runs it
/// and never returns; otherwise returns immediately. Call it first thing in `main`, before any
/// thread or async runtime is started.
pub fn run_init_if_requested() {
    if std::env::args_os().nth(1).as_deref() == Some(OsStr::new(INIT_ARG)) {
        init_main()
    }
}

/// Entry point of the sandbox init helper: `<binary> __sandbox-init <config fd> <status fd>`.
///
/// The `whirl` binary must call this (or [`run_init_if_requested`]) when its first argument is
/// [`INIT_ARG`], before starting threads. Never returns: it either execs the sandboxed program
/// or exits with status 125 after reporting the set-up error to the parent.
pub fn init_main() -> ! {
    let args: Vec<String> = std::env::args().collect();
    let fd_arg = |i: usize| args.get(i).and_then(|s| s.parse::<RawFd>().ok());
    let (Some(cfg_fd), Some(status_fd)) = (fd_arg(2), fd_arg(3)) else {
        eprintln!("{INIT_ARG}: internal helper of whirl's sandbox; not meant to be run by hand");
        sys::exit_now(2)
    };
    let status = match sys::take_inherited_fd(status_fd) {
        Ok(fd) => fd,
        Err(e) => {
            eprintln!("{INIT_ARG}: status descriptor {status_fd}: {e}");
            sys::exit_now(2)
        }
    };
    let _ = sys::set_cloexec(status.as_fd(), true);
    let mut status = File::from(status);
    let err = match run(cfg_fd, &mut status) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    let _ = status.write_all(err.as_bytes());
    sys::exit_now(SETUP_FAILED)
}

trait Step<T> {
    fn step(self, what: impl FnOnce() -> String) -> Result<T, String>;
}

impl<T, E: std::fmt::Display> Step<T> for Result<T, E> {
    fn step(self, what: impl FnOnce() -> String) -> Result<T, String> {
        self.map_err(|e| format!("{}: {e}", what()))
    }
}

fn cstr(p: impl AsRef<OsStr>) -> Result<CString, String> {
    CString::new(p.as_ref().as_bytes()).map_err(|_| format!("{:?} contains a NUL byte", p.as_ref()))
}

fn run(cfg_fd: RawFd, status: &mut File) -> Result<Infallible, String> {
    let cfg_file = sys::take_inherited_fd(cfg_fd).step(|| "config descriptor".into())?;
    sys::set_cloexec(cfg_file.as_fd(), true).step(|| "config descriptor".into())?;
    let mut buf = Vec::new();
    File::from(cfg_file)
        .read_to_end(&mut buf)
        .step(|| "reading the sandbox config".into())?;
    let msg: InitMsg = serde_json::from_slice(&buf).step(|| "parsing the sandbox config".into())?;
    let c = &msg.cfg;
    sys::umask(0o022);

    // The prepared network namespace first: everything below lives in it.
    if let Some(fd) = msg.netns_fd {
        let ns = sys::take_inherited_fd(fd).step(|| "network namespace descriptor".into())?;
        sys::setns(ns.as_fd(), libc::CLONE_NEWNET)
            .step(|| "joining the prepared network namespace".into())?;
    }

    // Join our cgroup (still single-threaded: the whole process moves), unless the parent has
    // placed us there; then make it the root of our cgroup view.
    for tasks in &msg.join_tasks {
        fs::write(tasks, "0").step(|| format!("joining the cgroup ({})", tasks.display()))?;
    }
    sys::unshare(libc::CLONE_NEWCGROUP).step(|| "unshare(CLONE_NEWCGROUP)".into())?;

    if c.network == Network::Loopback {
        sys::loopback_up().step(|| "bringing up lo".into())?;
    }
    // With the host's file system still in view and every set-up privilege.
    for cmd in &c.setup_commands {
        run_setup_command(cmd)?;
    }

    build_root(c)?;

    sys::sethostname(HOSTNAME).step(|| "sethostname".into())?;
    std::env::set_current_dir(&c.cwd).step(|| format!("cwd {}", c.cwd.display()))?;
    sys::setrlimit(libc::RLIMIT_NOFILE, c.nofile).step(|| "setrlimit(NOFILE)".into())?;
    sys::setrlimit(libc::RLIMIT_CORE, 0).step(|| "setrlimit(CORE)".into())?;
    sys::reset_signals();
    // Everything above the payload's descriptors (0-2 and the extras) closes on exec.
    let keep = u32::try_from(3 + msg.extra_fds).unwrap_or(u32::MAX);
    sys::close_range_cloexec(keep).step(|| "close_range".into())?;

    if let (true, Some((uid, gid))) = (msg.userns, c.uid_gid) {
        // Rootless: only our own uid is mapped (as 0). Become `uid` through a nested user
        // namespace that maps it to us; this resets the bounding set and securebits, so it
        // comes before they are set.
        sys::unshare(libc::CLONE_NEWUSER).step(|| "unshare(CLONE_NEWUSER)".into())?;
        fs::write("/proc/self/setgroups", "deny").step(|| "writing setgroups".into())?;
        fs::write("/proc/self/uid_map", format!("{uid} 0 1")).step(|| "writing uid_map".into())?;
        fs::write("/proc/self/gid_map", format!("{gid} 0 1")).step(|| "writing gid_map".into())?;
    }
    // Privileges: securebits and the bounding set need CAP_SETPCAP, so they go first.
    sys::set_securebits(SECUREBITS).step(|| "PR_SET_SECUREBITS".into())?;
    for cap in 0..64 {
        if !sys::capbset_drop(cap).step(|| format!("PR_CAPBSET_DROP({cap})"))? {
            break;
        }
    }
    sys::ambient_clear_all().step(|| "clearing ambient capabilities".into())?;
    if let (false, Some((uid, gid))) = (msg.userns, c.uid_gid) {
        sys::setgroups_empty().step(|| "setgroups".into())?;
        sys::setresgid(gid).step(|| format!("setresgid({gid})"))?;
        sys::setresuid(uid).step(|| format!("setresuid({uid})"))?;
    }
    sys::capset_zero().step(|| "capset".into())?;
    sys::set_no_new_privs().step(|| "PR_SET_NO_NEW_PRIVS".into())?;

    // Prepare the exec before the filter (allocation is fine either way).
    let argv: Vec<CString> = c.argv.iter().map(cstr).collect::<Result<_, _>>()?;
    let envp: Vec<CString> = c
        .env
        .iter()
        .map(|(k, v)| cstr(format!("{k}={v}")))
        .collect::<Result<_, _>>()?;
    let candidates = exec_candidates(c)?;

    sys::seccomp_install(&seccomp::filter()).step(|| "installing the seccomp filter".into())?;

    let _ = status.write_all(&[EXEC_MARK]);
    let mut first_err: Option<(PathBuf, std::io::Error)> = None;
    for path in &candidates {
        let err = sys::execve(&cstr(path)?, &argv, &envp);
        match err.raw_os_error() {
            // Like execvp: keep searching PATH, remembering the most telling error.
            Some(libc::ENOENT | libc::ENOTDIR) => {
                first_err.get_or_insert((path.clone(), err));
            }
            Some(libc::EACCES) => first_err = Some((path.clone(), err)),
            _ => {
                first_err = Some((path.clone(), err));
                break;
            }
        }
    }
    Err(match first_err {
        Some((p, e)) => format!("execve {} ({:?}): {e}", p.display(), c.argv[0]),
        None => format!("{:?}: not found", c.argv[0]),
    })
}

/// Runs one [`crate::SetupCommand`] to completion (empty environment, its output captured for
/// the error message).
fn run_setup_command(cmd: &crate::SetupCommand) -> Result<(), String> {
    use std::process::{Command, Stdio};
    let (prog, args) = cmd.argv.split_first().ok_or("empty set-up command")?;
    let mut child = Command::new(prog)
        .args(args)
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .step(|| format!("starting {prog}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(cmd.stdin.as_bytes())
            .step(|| format!("writing to {prog}"))?;
    }
    let out = child
        .wait_with_output()
        .step(|| format!("waiting for {prog}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{prog} ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Paths to try for argv[0]: itself if it contains a slash, else each PATH entry (from the
/// sandbox environment, or a default).
fn exec_candidates(c: &SandboxConfig) -> Result<Vec<PathBuf>, String> {
    let prog = c.argv.first().ok_or("argv is empty")?;
    if prog.contains('/') {
        return Ok(vec![PathBuf::from(prog)]);
    }
    let path = c
        .env
        .iter()
        .find(|(k, _)| k == "PATH")
        .map_or(DEFAULT_PATH, |(_, v)| v.as_str());
    Ok(path
        .split(':')
        .filter(|d| !d.is_empty())
        .map(|d| Path::new(d).join(prog))
        .collect())
}

enum Source {
    Symlink(PathBuf),
    Fd { file: File, dir: bool },
}

fn open_source(p: &Path, follow: bool) -> Result<Source, String> {
    let md = fs::symlink_metadata(p).step(|| format!("sandbox path {}", p.display()))?;
    if md.file_type().is_symlink() && !follow {
        let t = fs::read_link(p).step(|| format!("readlink {}", p.display()))?;
        return Ok(Source::Symlink(t));
    }
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_CLOEXEC)
        .open(p)
        .step(|| format!("opening {}", p.display()))?;
    let dir = file
        .metadata()
        .step(|| format!("stat {}", p.display()))?
        .is_dir();
    Ok(Source::Fd { file, dir })
}

fn fd_path(f: &File) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", f.as_raw_fd()))
}

/// `inside` (absolute) re-rooted under `root`.
fn under(root: &Path, inside: &Path) -> PathBuf {
    let rel: PathBuf = inside
        .components()
        .filter(|c| matches!(c, Component::Normal(_)))
        .collect();
    root.join(rel)
}

fn ensure_mountpoint(target: &Path, dir: bool) -> Result<(), String> {
    if fs::symlink_metadata(target).is_ok() {
        return Ok(());
    }
    if let Some(parent) = target.parent() {
        fs::create_dir_all(parent).step(|| format!("mkdir {}", parent.display()))?;
    }
    if dir {
        fs::create_dir(target).step(|| format!("mkdir {}", target.display()))
    } else {
        File::create(target)
            .map(drop)
            .step(|| format!("creating {}", target.display()))
    }
}

fn mount(
    src: Option<&Path>,
    target: &Path,
    fstype: Option<&str>,
    flags: libc::c_ulong,
    data: Option<&str>,
) -> Result<(), String> {
    let s = src.map(cstr).transpose()?;
    let t = cstr(target)?;
    let f = fstype.map(cstr).transpose()?;
    let d = data.map(cstr).transpose()?;
    sys::mount(s.as_deref(), &t, f.as_deref(), flags, d.as_deref()).step(|| {
        format!(
            "mount {} on {} (type {}, flags {flags:#x}, {})",
            src.map_or("none".into(), |p| p.display().to_string()),
            target.display(),
            fstype.unwrap_or("-"),
            data.unwrap_or("")
        )
    })
}

/// Flags a remount must keep (they may be locked when the mount came from another user ns).
const KEEP_FLAGS: libc::c_ulong = libc::MS_RDONLY
    | libc::MS_NOSUID
    | libc::MS_NODEV
    | libc::MS_NOEXEC
    | libc::MS_NOATIME
    | libc::MS_NODIRATIME
    | libc::MS_RELATIME;

/// Bind-mounts `src` on `target` (non-recursively), then remounts it nosuid, nodev and, if `ro`,
/// read-only, keeping the flags the source mount already has.
fn bind(src: &Path, target: &Path, ro: bool) -> Result<(), String> {
    mount(Some(src), target, None, libc::MS_BIND, None)?;
    let have =
        sys::statvfs_flags(&cstr(target)?).step(|| format!("statvfs {}", target.display()))?;
    let mut flags = libc::MS_BIND | libc::MS_REMOUNT | libc::MS_NOSUID | libc::MS_NODEV;
    flags |= have & KEEP_FLAGS;
    if ro {
        flags |= libc::MS_RDONLY;
    }
    mount(None, target, None, flags, None)
}

fn build_root(c: &SandboxConfig) -> Result<(), String> {
    mount(
        None,
        Path::new("/"),
        None,
        libc::MS_REC | libc::MS_PRIVATE,
        None,
    )?;

    // Open every source before the new root covers anything (sources may live under /tmp).
    let mut ro: Vec<(&PathBuf, Source)> = c
        .ro_paths
        .iter()
        .map(|p| Ok((p, open_source(p, false)?)))
        .collect::<Result<_, String>>()?;
    ro.sort_by_key(|(p, _)| p.components().count());
    // Directory binds at another path: `(inside, source, read-only)`.
    let mut binds: Vec<(&PathBuf, File, bool)> =
        Vec::with_capacity(c.rw_paths.len() + c.ro_binds.len());
    let all = c.rw_paths.iter().map(|b| (b, false));
    for ((host, inside), ro) in all.chain(c.ro_binds.iter().map(|b| (b, true))) {
        match open_source(host, true)? {
            Source::Fd { file, dir: true } => binds.push((inside, file, ro)),
            _ => return Err(format!("bind source {} is not a directory", host.display())),
        }
    }
    binds.sort_by_key(|(p, _, _)| p.components().count());

    // Our private mount namespace can put the new root anywhere; /tmp always exists.
    let root = Path::new("/tmp");
    mount(
        Some(Path::new("tmpfs")),
        root,
        Some("tmpfs"),
        libc::MS_NOSUID | libc::MS_NODEV,
        Some("mode=0755,size=1m,nr_inodes=4096"),
    )?;

    for (inside, src) in &ro {
        let target = under(root, inside);
        match src {
            Source::Symlink(to) => {
                if let Some(parent) = target.parent() {
                    fs::create_dir_all(parent).step(|| format!("mkdir {}", parent.display()))?;
                }
                std::os::unix::fs::symlink(to, &target)
                    .step(|| format!("symlink {} -> {}", target.display(), to.display()))?;
            }
            Source::Fd { file, dir } => {
                ensure_mountpoint(&target, *dir)?;
                bind(&fd_path(file), &target, true)?;
            }
        }
    }

    let tmp = root.join("tmp");
    ensure_mountpoint(&tmp, true)?;
    mount(
        Some(Path::new("tmpfs")),
        &tmp,
        Some("tmpfs"),
        libc::MS_NOSUID | libc::MS_NODEV,
        Some(&format!("mode=1777,size={}", c.tmp_bytes)),
    )?;

    let owner = c
        .uid_gid
        .map_or(String::new(), |(u, g)| format!(",uid={u},gid={g}"));
    for (inside, bytes) in &c.tmpfs_dirs {
        let target = under(root, inside);
        ensure_mountpoint(&target, true)?;
        mount(
            Some(Path::new("tmpfs")),
            &target,
            Some("tmpfs"),
            libc::MS_NOSUID | libc::MS_NODEV,
            Some(&format!("mode=0755,size={bytes}{owner}")),
        )?;
    }

    for (inside, file, ro) in &binds {
        let target = under(root, inside);
        ensure_mountpoint(&target, true)?;
        bind(&fd_path(file), &target, *ro)?;
    }

    // Small files in the root itself (read-only with it, below).
    for (inside, contents) in &c.files {
        let target = under(root, inside);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).step(|| format!("mkdir {}", parent.display()))?;
        }
        fs::write(&target, contents).step(|| format!("writing {}", inside.display()))?;
    }

    build_dev(root)?;
    build_proc(root)?;

    // Switch to the new root and drop the old one.
    std::env::set_current_dir(root).step(|| "chdir to the new root".into())?;
    sys::pivot_root(&cstr(".")?, &cstr(".")?).step(|| "pivot_root".into())?;
    sys::umount2(&cstr(".")?, libc::MNT_DETACH).step(|| "detaching the old root".into())?;
    std::env::set_current_dir("/").step(|| "chdir /".into())?;
    mount(
        None,
        Path::new("/"),
        None,
        libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV,
        None,
    )?;
    Ok(())
}

fn build_dev(root: &Path) -> Result<(), String> {
    let dev = root.join("dev");
    ensure_mountpoint(&dev, true)?;
    mount(
        Some(Path::new("tmpfs")),
        &dev,
        Some("tmpfs"),
        libc::MS_NOSUID | libc::MS_NOEXEC,
        Some("mode=0755,size=64k,nr_inodes=64"),
    )?;
    for name in DEVICES {
        let host = Path::new("/dev").join(name);
        if !host.exists() {
            continue;
        }
        let target = dev.join(name);
        ensure_mountpoint(&target, false)?;
        mount(Some(&host), &target, None, libc::MS_BIND, None)?;
    }
    for (name, to) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        std::os::unix::fs::symlink(to, dev.join(name)).step(|| format!("symlink /dev/{name}"))?;
    }
    mount(
        None,
        &dev,
        None,
        libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NOEXEC,
        None,
    )
}

fn build_proc(root: &Path) -> Result<(), String> {
    let proc = root.join("proc");
    ensure_mountpoint(&proc, true)?;
    mount(
        Some(Path::new("proc")),
        &proc,
        Some("proc"),
        libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
        None,
    )?;
    for name in PROC_MASKED {
        let p = proc.join(name);
        if p.exists() {
            mount(Some(Path::new("/dev/null")), &p, None, libc::MS_BIND, None)?;
        }
    }
    for name in PROC_READONLY {
        let p = proc.join(name);
        if p.is_dir() {
            bind(&p, &p, true)?;
        }
    }
    Ok(())
}
