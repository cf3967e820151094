//! cgroup v1 and v2 (unified) management.
//!
//! Layout: `<controller mount>/whirl/<owner>/<sandbox id>` where `<owner>` is
//! `<pid>-<start time>` of the process that created the sandbox. [`cleanup_leftovers`] removes the
//! owner directories whose process is gone, so several whirl processes (or test binaries) can
//! share a host without killing each other's sandboxes.

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::{sys, Error, IoContext, Result};

/// Which cgroup hierarchy the host uses for the sandbox controllers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupVersion {
    /// Legacy per-controller hierarchies (memory, pids, cpu, freezer).
    V1,
    /// The unified hierarchy.
    V2,
}

#[derive(Debug, Clone)]
pub(crate) enum Layout {
    V1 {
        memory: PathBuf,
        pids: PathBuf,
        cpu: PathBuf,
        freezer: PathBuf,
    },
    V2 {
        root: PathBuf,
        cpu: bool,
    },
}

impl Layout {
    pub(crate) fn version(&self) -> CgroupVersion {
        match self {
            Layout::V1 { .. } => CgroupVersion::V1,
            Layout::V2 { .. } => CgroupVersion::V2,
        }
    }

    /// Hierarchy mount points, freezer first (so frozen leftovers are thawed before killing).
    fn mounts(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = Vec::new();
        match self {
            Layout::V1 {
                memory,
                pids,
                cpu,
                freezer,
            } => {
                for p in [freezer, memory, pids, cpu] {
                    if !v.contains(p) {
                        v.push(p.clone());
                    }
                }
            }
            Layout::V2 { root, .. } => v.push(root.clone()),
        }
        v
    }
}

const WHIRL_DIR: &str = "whirl";

static LAYOUT: OnceLock<std::result::Result<Layout, String>> = OnceLock::new();

/// The host's cgroup layout (detected once).
pub(crate) fn layout() -> Result<&'static Layout> {
    LAYOUT
        .get_or_init(detect)
        .as_ref()
        .map_err(|e| Error::Unsupported(e.clone()))
}

fn unescape_mount_path(s: &str) -> PathBuf {
    // mountinfo escapes space, tab, newline and backslash as \ooo.
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() {
            let oct = std::str::from_utf8(&b[i + 1..i + 4]).ok();
            if let Some(v) = oct.and_then(|o| u8::from_str_radix(o, 8).ok()) {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    use std::os::unix::ffi::OsStringExt;
    PathBuf::from(std::ffi::OsString::from_vec(out))
}

fn detect() -> std::result::Result<Layout, String> {
    let mi = fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| format!("cannot read /proc/self/mountinfo: {e}"))?;
    let mut memory = None;
    let mut pids = None;
    let mut cpu = None;
    let mut freezer = None;
    let mut v2: Option<PathBuf> = None;
    for line in mi.lines() {
        let Some((pre, post)) = line.split_once(" - ") else {
            continue;
        };
        let Some(mp) = pre.split(' ').nth(4) else {
            continue;
        };
        let mut post_f = post.split(' ');
        let fstype = post_f.next().unwrap_or("");
        let superopts = post_f.nth(1).unwrap_or("");
        match fstype {
            "cgroup" => {
                for opt in superopts.split(',') {
                    let slot = match opt {
                        "memory" => &mut memory,
                        "pids" => &mut pids,
                        "cpu" => &mut cpu,
                        "freezer" => &mut freezer,
                        _ => continue,
                    };
                    if slot.is_none() {
                        *slot = Some(unescape_mount_path(mp));
                    }
                }
            }
            "cgroup2" => {
                let p = unescape_mount_path(mp);
                if v2.is_none() || p == Path::new("/sys/fs/cgroup") {
                    v2 = Some(p);
                }
            }
            _ => {}
        }
    }
    if memory.is_some() {
        let missing: Vec<&str> = [("pids", &pids), ("cpu", &cpu), ("freezer", &freezer)]
            .iter()
            .filter(|(_, p)| p.is_none())
            .map(|(n, _)| *n)
            .collect();
        return match (memory, pids, cpu, freezer) {
            (Some(memory), Some(pids), Some(cpu), Some(freezer)) => Ok(Layout::V1 {
                memory,
                pids,
                cpu,
                freezer,
            }),
            _ => Err(format!(
                "cgroup v1 memory controller is mounted but not the {} controller(s)",
                missing.join(", ")
            )),
        };
    }
    if let Some(root) = v2 {
        let ctrls = fs::read_to_string(root.join("cgroup.controllers")).unwrap_or_default();
        let has = |c: &str| ctrls.split_whitespace().any(|x| x == c);
        if has("memory") && has("pids") {
            return Ok(Layout::V2 {
                cpu: has("cpu"),
                root,
            });
        }
        return Err(format!(
            "cgroup v2 at {} lacks the memory/pids controllers (available: {:?})",
            root.display(),
            ctrls.trim()
        ));
    }
    Err("no cgroup filesystem with a memory controller is mounted".to_string())
}

/// `<pid>-<start time>` of the calling process.
fn owner_tag() -> &'static str {
    static TAG: OnceLock<String> = OnceLock::new();
    TAG.get_or_init(|| {
        let pid = std::process::id();
        let start = proc_start_time(pid as i32).unwrap_or_default();
        format!("{pid}-{start}")
    })
}

fn proc_start_time(pid: i32) -> Option<String> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    // Field 22 (starttime); `rest` starts at field 3.
    rest.split_whitespace().nth(19).map(str::to_string)
}

fn owner_alive(tag: &str) -> bool {
    let Some((pid, start)) = tag.split_once('-') else {
        return false;
    };
    let Ok(pid) = pid.parse::<i32>() else {
        return false;
    };
    proc_start_time(pid).as_deref() == Some(start)
}

fn write(path: &Path, value: &str) -> Result<()> {
    fs::write(path, value).ctx(|| format!("writing {value:?} to {}", path.display()))
}

fn write_if_exists(path: &Path, value: &str) -> Result<()> {
    if path.exists() {
        write(path, value)?;
    }
    Ok(())
}

/// Limits applied to a sandbox cgroup.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub memory_bytes: u64,
    pub pids_max: u64,
    pub cpu_shares: u64,
}

/// Maps cgroup v1 cpu.shares (2..=262144) to v2 cpu.weight (1..=10000), as runc does.
pub(crate) fn shares_to_weight(shares: u64) -> u64 {
    let s = shares.clamp(2, 262_144);
    1 + ((s - 2) * 9999) / 262_142
}

/// One sandbox's cgroup (a leaf directory per hierarchy).
#[derive(Debug)]
pub(crate) struct Cgroup {
    version: CgroupVersion,
    /// Leaf directories, freezer (v1) first.
    dirs: Vec<PathBuf>,
    memory: PathBuf,
    freezer: PathBuf,
    procs: PathBuf,
    /// `cpu.shares` (v1) or `cpu.weight` (v2), when the cpu controller is there.
    cpu_file: Option<PathBuf>,
}

fn ensure_controllers(dir: &Path, want: &[&str]) -> Result<()> {
    let sub = fs::read_to_string(dir.join("cgroup.subtree_control")).unwrap_or_default();
    let missing: Vec<String> = want
        .iter()
        .filter(|c| !sub.split_whitespace().any(|x| x == **c))
        .map(|c| format!("+{c}"))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    write(&dir.join("cgroup.subtree_control"), &missing.join(" ")).map_err(|e| {
        Error::Unsupported(format!(
            "cannot enable cgroup v2 controllers {missing:?} in {} ({e}); with cgroup v2 whirl needs \
             a cgroup subtree it may delegate (e.g. run it as a systemd service with Delegate=yes, or \
             not from inside a cgroup that holds processes)",
            dir.display()
        ))
    })
}

fn mkdir_leaf(base: &Path, id: &str) -> Result<PathBuf> {
    let leaf = base.join(id);
    for _ in 0..20 {
        match fs::create_dir_all(base) {
            Ok(()) => {}
            // `create_dir_all` can report EEXIST when a concurrent destroy removes the owner
            // directory between its mkdir and its check: try again.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).ctx(|| format!("creating cgroup {}", base.display())),
        }
        match fs::create_dir(&leaf) {
            Ok(()) => return Ok(leaf),
            // Raced with a concurrent destroy removing the (then empty) owner directory.
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(Error::InvalidConfig(format!(
                    "cgroup {} already exists: sandbox id {id:?} is in use",
                    leaf.display()
                )))
            }
            Err(e) => return Err(e).ctx(|| format!("creating cgroup {}", leaf.display())),
        }
    }
    Err(Error::Setup(format!(
        "cannot create cgroup {}",
        leaf.display()
    )))
}

impl Cgroup {
    /// Creates the cgroup for sandbox `id` and applies `limits`.
    pub(crate) fn create(id: &str, limits: Limits) -> Result<Cgroup> {
        let layout = layout()?;
        let owner = owner_tag();
        let mut cg = match layout {
            Layout::V1 {
                memory,
                pids,
                cpu,
                freezer,
            } => {
                let mut cg = Cgroup {
                    version: CgroupVersion::V1,
                    dirs: Vec::new(),
                    memory: PathBuf::new(),
                    freezer: PathBuf::new(),
                    procs: PathBuf::new(),
                    cpu_file: None,
                };
                for (i, mp) in [freezer, memory, pids, cpu].into_iter().enumerate() {
                    let base = mp.join(WHIRL_DIR).join(owner);
                    let leaf = if let Some(d) = cg.dirs.iter().find(|d| d.starts_with(mp)) {
                        d.clone()
                    } else {
                        match mkdir_leaf(&base, id) {
                            Ok(l) => {
                                cg.dirs.push(l.clone());
                                l
                            }
                            Err(e) => {
                                cg.remove_dirs();
                                return Err(e);
                            }
                        }
                    };
                    match i {
                        0 => cg.freezer = leaf,
                        1 => cg.memory = leaf,
                        2 => cg.procs = leaf,
                        _ => {}
                    }
                }
                cg
            }
            Layout::V2 { root, cpu } => {
                let want: &[&str] = if *cpu {
                    &["memory", "pids", "cpu"]
                } else {
                    &["memory", "pids"]
                };
                let whirl = root.join(WHIRL_DIR);
                let base = whirl.join(owner);
                ensure_controllers(root, want)?;
                fs::create_dir_all(&whirl)
                    .ctx(|| format!("creating cgroup {}", whirl.display()))?;
                ensure_controllers(&whirl, want)?;
                fs::create_dir_all(&base).ctx(|| format!("creating cgroup {}", base.display()))?;
                ensure_controllers(&base, want)?;
                let leaf = mkdir_leaf(&base, id)?;
                Cgroup {
                    version: CgroupVersion::V2,
                    dirs: vec![leaf.clone()],
                    memory: leaf.clone(),
                    freezer: leaf.clone(),
                    procs: leaf,
                    cpu_file: None,
                }
            }
        };
        if let Err(e) = cg.apply(limits, layout) {
            cg.remove_dirs();
            return Err(e);
        }
        cg.dirs.shrink_to_fit();
        Ok(cg)
    }

    fn apply(&mut self, l: Limits, layout: &Layout) -> Result<()> {
        let mem = l.memory_bytes.to_string();
        match layout {
            Layout::V1 { cpu, .. } => {
                write(&self.memory.join("memory.limit_in_bytes"), &mem)?;
                // memsw exists only with swap accounting; it must be >= limit_in_bytes.
                write_if_exists(&self.memory.join("memory.memsw.limit_in_bytes"), &mem)?;
                let _ = write_if_exists(&self.memory.join("memory.swappiness"), "0");
                write(&self.procs.join("pids.max"), &l.pids_max.to_string())?;
                self.cpu_file = self
                    .dirs
                    .iter()
                    .find(|d| d.starts_with(cpu))
                    .map(|d| d.join("cpu.shares"));
            }
            Layout::V2 { cpu, .. } => {
                write(&self.memory.join("memory.max"), &mem)?;
                write_if_exists(&self.memory.join("memory.swap.max"), "0")?;
                let _ = write_if_exists(&self.memory.join("memory.oom.group"), "1");
                write(&self.procs.join("pids.max"), &l.pids_max.to_string())?;
                if *cpu {
                    self.cpu_file = Some(self.procs.join("cpu.weight"));
                }
            }
        }
        self.set_cpu_shares(l.cpu_shares)
    }

    /// Sets the CPU share (v1 `cpu.shares`; on v2 mapped to `cpu.weight`). No-op without the
    /// cpu controller.
    pub(crate) fn set_cpu_shares(&self, shares: u64) -> Result<()> {
        match (&self.cpu_file, self.version) {
            (Some(f), CgroupVersion::V1) => write(f, &shares.clamp(2, 262_144).to_string()),
            (Some(f), CgroupVersion::V2) => write(f, &shares_to_weight(shares).to_string()),
            (None, _) => Ok(()),
        }
    }

    /// Leaf directories (one per hierarchy).
    pub(crate) fn dirs(&self) -> &[PathBuf] {
        &self.dirs
    }

    /// cgroup v1: the `tasks` file of every hierarchy, for the sandbox helper to move itself in
    /// (see `InitMsg::join_tasks`). `None` on v2, where that move is not possible.
    pub(crate) fn tasks_files(&self) -> Option<Vec<PathBuf>> {
        match self.version {
            CgroupVersion::V1 => Some(self.dirs.iter().map(|d| d.join("tasks")).collect()),
            CgroupVersion::V2 => None,
        }
    }

    /// Moves `pid` into the cgroup in every hierarchy.
    pub(crate) fn add(&self, pid: i32) -> Result<()> {
        let p = pid.to_string();
        for d in &self.dirs {
            write(&d.join("cgroup.procs"), &p)?;
        }
        Ok(())
    }

    pub(crate) fn freeze(&self) -> Result<()> {
        match self.version {
            CgroupVersion::V1 => {
                let f = self.freezer.join("freezer.state");
                write(&f, "FROZEN")?;
                wait_until(Duration::from_secs(5), || {
                    fs::read_to_string(&f)
                        .map(|s| s.trim() == "FROZEN")
                        .unwrap_or(false)
                })
                .then_some(())
                .ok_or_else(|| Error::Setup(format!("{} did not reach FROZEN", f.display())))
            }
            CgroupVersion::V2 => {
                write(&self.freezer.join("cgroup.freeze"), "1")?;
                let ev = self.freezer.join("cgroup.events");
                wait_until(Duration::from_secs(5), || {
                    fs::read_to_string(&ev)
                        .map(|s| s.lines().any(|l| l.trim() == "frozen 1"))
                        .unwrap_or(false)
                })
                .then_some(())
                .ok_or_else(|| Error::Setup(format!("{} did not become frozen", ev.display())))
            }
        }
    }

    pub(crate) fn thaw(&self) -> Result<()> {
        match self.version {
            CgroupVersion::V1 => write(&self.freezer.join("freezer.state"), "THAWED"),
            CgroupVersion::V2 => write(&self.freezer.join("cgroup.freeze"), "0"),
        }
    }

    pub(crate) fn is_frozen(&self) -> bool {
        match self.version {
            CgroupVersion::V1 => fs::read_to_string(self.freezer.join("freezer.state"))
                .map(|s| s.trim() != "THAWED")
                .unwrap_or(false),
            CgroupVersion::V2 => fs::read_to_string(self.freezer.join("cgroup.freeze"))
                .map(|s| s.trim() == "1")
                .unwrap_or(false),
        }
    }

    /// Whether the OOM killer killed a process of this cgroup.
    pub(crate) fn oom_killed(&self) -> bool {
        let (file, keys): (&str, &[&str]) = match self.version {
            CgroupVersion::V1 => ("memory.oom_control", &["oom_kill"]),
            CgroupVersion::V2 => ("memory.events", &["oom_kill", "oom_group_kill"]),
        };
        let Ok(s) = fs::read_to_string(self.memory.join(file)) else {
            return false;
        };
        s.lines().any(|l| {
            let mut it = l.split_whitespace();
            matches!((it.next(), it.next()), (Some(k), Some(v)) if keys.contains(&k) && v != "0")
        })
    }

    /// Current memory usage in bytes, if readable.
    pub(crate) fn memory_usage(&self) -> Option<u64> {
        let file = match self.version {
            CgroupVersion::V1 => "memory.usage_in_bytes",
            CgroupVersion::V2 => "memory.current",
        };
        fs::read_to_string(self.memory.join(file))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// Pids (host view) of every process in the cgroup.
    pub(crate) fn procs(&self) -> Vec<i32> {
        read_procs(&self.procs)
    }

    /// SIGKILLs every process in the cgroup and waits until it is empty.
    pub(crate) fn kill_all(&self) -> Result<()> {
        kill_dir(&self.procs, self.version, Some(&self.freezer))
    }

    /// Removes the leaf directories (the cgroup must be empty) and the owner directory if empty.
    pub(crate) fn remove(&mut self) -> Result<()> {
        let mut first_err = None;
        for d in std::mem::take(&mut self.dirs) {
            if let Err(e) = rmdir_retry(&d) {
                first_err.get_or_insert(e);
            }
            if let Some(parent) = d.parent() {
                // Fails (ignored) while this process still has other sandboxes.
                let _ = fs::remove_dir(parent);
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    fn remove_dirs(&mut self) {
        for d in std::mem::take(&mut self.dirs) {
            let _ = fs::remove_dir(&d);
        }
    }
}

fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    let mut sleep = Duration::from_micros(50);
    loop {
        if f() {
            return true;
        }
        if start.elapsed() > timeout {
            return false;
        }
        std::thread::sleep(sleep);
        sleep = (sleep * 2).min(Duration::from_millis(5));
    }
}

fn read_procs(dir: &Path) -> Vec<i32> {
    fs::read_to_string(dir.join("cgroup.procs"))
        .map(|s| s.lines().filter_map(|l| l.trim().parse().ok()).collect())
        .unwrap_or_default()
}

/// Kills everything in cgroup `dir` (thawing `freezer` first) and waits until it is empty.
fn kill_dir(dir: &Path, version: CgroupVersion, freezer: Option<&Path>) -> Result<()> {
    if !dir.exists() {
        return Ok(());
    }
    let fz = freezer.unwrap_or(dir);
    match version {
        CgroupVersion::V1 => {
            // Freeze so nothing can fork while we kill, then thaw so the kills take effect.
            let state = fz.join("freezer.state");
            let has_freezer = state.exists();
            if has_freezer {
                let _ = fs::write(&state, "FROZEN");
            }
            for pid in read_procs(dir) {
                let _ = sys::kill(pid, libc::SIGKILL);
            }
            if has_freezer {
                let _ = fs::write(&state, "THAWED");
            }
        }
        CgroupVersion::V2 => {
            let killf = dir.join("cgroup.kill");
            if killf.exists() {
                let _ = fs::write(&killf, "1");
            } else {
                for pid in read_procs(dir) {
                    let _ = sys::kill(pid, libc::SIGKILL);
                }
            }
            let _ = write_if_exists(&fz.join("cgroup.freeze"), "0");
        }
    }
    let empty = wait_until(Duration::from_secs(10), || {
        let procs = read_procs(dir);
        for pid in &procs {
            let _ = sys::kill(*pid, libc::SIGKILL);
        }
        procs.is_empty()
    });
    if empty {
        Ok(())
    } else {
        Err(Error::Setup(format!(
            "processes survive SIGKILL in cgroup {}",
            dir.display()
        )))
    }
}

fn rmdir_retry(d: &Path) -> Result<()> {
    let mut last = None;
    let ok = wait_until(Duration::from_secs(5), || match fs::remove_dir(d) {
        Ok(()) => true,
        Err(e) if e.kind() == io::ErrorKind::NotFound => true,
        Err(e) => {
            last = Some(e);
            false
        }
    });
    if ok {
        Ok(())
    } else {
        let e = last.unwrap_or_else(|| io::Error::from_raw_os_error(libc::EBUSY));
        Err(e).ctx(|| format!("removing cgroup {}", d.display()))
    }
}

/// Removes `dir` and its descendants, killing their processes; returns the number of leaf
/// cgroups removed.
fn remove_tree(dir: &Path, version: CgroupVersion) -> Result<usize> {
    let mut n = 0;
    let mut has_children = false;
    if let Ok(rd) = fs::read_dir(dir) {
        for ent in rd.flatten() {
            if ent.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                has_children = true;
                n += remove_tree(&ent.path(), version)?;
            }
        }
    }
    kill_dir(dir, version, None)?;
    rmdir_retry(dir)?;
    Ok(if has_children { n } else { n + 1 })
}

/// Checks that the `whirl` cgroup directory exists or can be created in every hierarchy.
pub(crate) fn check_writable(layout: &Layout) -> std::result::Result<(), String> {
    for mp in layout.mounts() {
        let d = mp.join(WHIRL_DIR);
        fs::create_dir_all(&d).map_err(|e| format!("cannot create cgroup {}: {e}", d.display()))?;
    }
    Ok(())
}

/// See [`crate::cleanup_leftovers`].
pub(crate) fn cleanup_leftovers() -> Result<usize> {
    let layout = layout()?;
    let version = layout.version();
    let mut removed = BTreeSet::new();
    for mp in layout.mounts() {
        let whirl = mp.join(WHIRL_DIR);
        let Ok(rd) = fs::read_dir(&whirl) else {
            continue;
        };
        for ent in rd.flatten() {
            if !ent.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                continue;
            }
            let name = ent.file_name().to_string_lossy().into_owned();
            if owner_alive(&name) {
                continue;
            }
            let path = ent.path();
            let leaves: Vec<String> = fs::read_dir(&path)
                .map(|rd| {
                    rd.flatten()
                        .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .collect()
                })
                .unwrap_or_default();
            remove_tree(&path, version)?;
            if leaves.is_empty() {
                removed.insert((name.clone(), String::new()));
            }
            for l in leaves {
                removed.insert((name.clone(), l));
            }
        }
    }
    Ok(removed.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weight_mapping() {
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(262_144), 10_000);
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(shares_to_weight(0), 1);
    }

    #[test]
    fn unescapes_mountinfo_paths() {
        assert_eq!(unescape_mount_path("/a\\040b"), PathBuf::from("/a b"));
        assert_eq!(
            unescape_mount_path("/sys/fs/cgroup"),
            PathBuf::from("/sys/fs/cgroup")
        );
    }

    #[test]
    fn own_start_time_is_known() {
        assert!(owner_alive(owner_tag()));
        assert!(!owner_alive("not-an-owner"));
    }
}
