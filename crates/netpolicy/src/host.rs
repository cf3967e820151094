//! What a server changes on the host, and how it is undone: its slot (a numbered lock file that
//! names its bridge, addresses and tables), the leftovers of slots whose server is gone, and the
//! host settings (IP forwarding) that must hold while any server runs.
//!
//! Every running server holds an exclusive `flock` on its slot file for its whole life; the
//! kernel releases it when the process dies, however it dies. A slot whose lock can be taken is
//! therefore free, and whatever carries its number (tables, bridge, veths) is a leftover.
//!
//! Host settings: the first server to start records each setting's original value in
//! `host-settings.json` and applies it; the last one to stop (no other slot held) restores the
//! originals and removes the file. A server that starts and finds the file with no other slot
//! held is looking at a crashed run's: it restores first. A value someone changed in the
//! meantime (not the one whirl applied) is left alone.

use std::fs::{self, File, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};

use crate::netlink::Netlink;
use crate::nft;
use crate::{Error, Result};

/// How many servers can run egress on one host at once.
pub(crate) const SLOTS: u8 = 16;

/// The bridge of slot `k`.
pub(crate) fn bridge_name(k: u8) -> String {
    format!("whirl{k}")
}

/// The nftables table name of slot `k` (families inet and bridge).
pub(crate) fn table_name(k: u8) -> String {
    format!("whirl{k}")
}

/// Name prefix of slot `k`'s host-side veths (`wh3x1f`).
pub(crate) fn port_prefix(k: u8) -> String {
    format!("wh{k}x")
}

/// The directory of the slot locks and the host settings record.
#[derive(Debug, Clone)]
pub(crate) struct RunDir {
    path: PathBuf,
}

/// A held slot: released when dropped (or when the process dies).
#[derive(Debug)]
pub(crate) struct Slot {
    pub(crate) index: u8,
    _lock: Flock<File>,
}

fn lock_file(path: &Path) -> Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::io(format!("opening {}", path.display()), e))
}

impl RunDir {
    pub(crate) fn open(path: &Path) -> Result<RunDir> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(path)
            .map_err(|e| Error::io(format!("creating {}", path.display()), e))?;
        Ok(RunDir {
            path: path.to_path_buf(),
        })
    }

    fn slot_path(&self, k: u8) -> PathBuf {
        self.path.join(format!("slot-{k}.lock"))
    }

    /// Takes slot `k` if no live server holds it.
    pub(crate) fn try_slot(&self, k: u8) -> Result<Option<Slot>> {
        let f = lock_file(&self.slot_path(k))?;
        match Flock::lock(f, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => Ok(Some(Slot {
                index: k,
                _lock: lock,
            })),
            Err((_, nix::errno::Errno::EWOULDBLOCK)) => Ok(None),
            Err((_, e)) => Err(Error::io(
                format!("locking {}", self.slot_path(k).display()),
                e.into(),
            )),
        }
    }

    /// Whether a server other than slot `mine` is running.
    fn others_running(&self, mine: u8) -> Result<bool> {
        for k in (0..SLOTS).filter(|k| *k != mine) {
            if !self.slot_path(k).exists() {
                continue;
            }
            if self.try_slot(k)?.is_none() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn host_lock(&self) -> Result<Flock<File>> {
        let path = self.path.join("host.lock");
        let f = lock_file(&path)?;
        Flock::lock(f, FlockArg::LockExclusive)
            .map_err(|(_, e)| Error::io(format!("locking {}", path.display()), e.into()))
    }

    fn settings_path(&self) -> PathBuf {
        self.path.join("host-settings.json")
    }
}

/// Claims the first free slot, removing the leftovers of every free slot on the way (tables,
/// bridge and veths of servers that are gone).
pub(crate) fn claim_slot(dir: &RunDir, nl: &mut Netlink, nft_bin: &Path) -> Result<Slot> {
    let tables = nft::list_whirl_tables(nft_bin)?;
    let links = nl
        .links()
        .map_err(|e| Error::io("listing links".into(), e))?;
    let mut mine: Option<Slot> = None;
    let mut stale_tables = Vec::new();
    for k in 0..SLOTS {
        let Some(slot) = dir.try_slot(k)? else {
            continue;
        };
        let name = table_name(k);
        stale_tables.extend(tables.iter().filter(|(_, n)| *n == name).cloned());
        let bridge = bridge_name(k);
        let prefix = port_prefix(k);
        for (index, link) in &links {
            if *link == bridge || link.starts_with(&prefix) {
                match nl.delete_link(*index) {
                    Ok(()) => {
                        tracing::info!(link = %link, "removed a network interface left by a stopped server")
                    }
                    // Gone meanwhile (a veth goes with its peer).
                    Err(e) if e.raw_os_error() == Some(libc::ENODEV) => {}
                    Err(e) => return Err(Error::io(format!("removing interface {link}"), e)),
                }
            }
        }
        if mine.is_none() {
            mine = Some(slot);
        }
    }
    if !stale_tables.is_empty() {
        tracing::info!(tables = ?stale_tables, "removing nftables tables left by a stopped server");
        nft::apply(nft_bin, &nft::delete_tables(&stale_tables))?;
    }
    mine.ok_or_else(|| {
        Error::Exhausted(format!(
            "all {SLOTS} action network slots are held by running whirl servers"
        ))
    })
}

/// Removes what slot `k` created (its tables and its bridge; the sandboxes' veths go with their
/// namespaces).
pub(crate) fn remove_slot(k: u8, nl: &mut Netlink, nft_bin: &Path) -> Result<()> {
    let t = table_name(k);
    nft::apply(
        nft_bin,
        &nft::delete_tables(&[("inet".into(), t.clone()), ("bridge".into(), t)]),
    )?;
    if let Some(index) = nl
        .link_index(&bridge_name(k))
        .map_err(|e| Error::io("listing links".into(), e))?
    {
        nl.delete_link(index)
            .map_err(|e| Error::io(format!("removing bridge {}", bridge_name(k)), e))?;
    }
    Ok(())
}

/// One host setting (a `/proc/sys` file) and the value whirl found and applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Setting {
    pub path: PathBuf,
    pub original: String,
    pub applied: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Saved {
    settings: Vec<Setting>,
}

fn read_value(path: &Path) -> Result<String> {
    fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .map_err(|e| Error::io(format!("reading {}", path.display()), e))
}

fn write_value(path: &Path, value: &str) -> Result<()> {
    fs::write(path, value).map_err(|e| Error::io(format!("writing {}", path.display()), e))
}

/// The settings egress needs, as (file, value): IPv4 forwarding; with IPv6, IPv6 forwarding,
/// and `accept_ra = 2` on interfaces that accept router advertisements only while not
/// forwarding (`accept_ra = 1`), so that turning forwarding on does not make the host drop its
/// own SLAAC addresses and routes.
pub(crate) fn wanted(ipv6: bool, proc_sys: &Path) -> Vec<(PathBuf, String)> {
    let mut v = vec![(proc_sys.join("net/ipv4/ip_forward"), "1".to_string())];
    if ipv6 {
        let conf = proc_sys.join("net/ipv6/conf");
        let forwarding_on = fs::read_to_string(conf.join("all/forwarding"))
            .map(|s| s.trim() == "1")
            .unwrap_or(false);
        v.push((conf.join("all/forwarding"), "1".to_string()));
        if !forwarding_on {
            let mut ifaces: Vec<String> = fs::read_dir(&conf)
                .map(|d| {
                    d.filter_map(|e| e.ok())
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .collect()
                })
                .unwrap_or_default();
            ifaces.sort();
            for name in ifaces {
                if ["all", "default", "lo"].contains(&name.as_str()) || name.starts_with("wh") {
                    continue;
                }
                let p = conf.join(&name).join("accept_ra");
                if fs::read_to_string(&p)
                    .map(|s| s.trim() == "1")
                    .unwrap_or(false)
                {
                    v.push((p, "2".to_string()));
                }
            }
        }
    }
    v
}

fn restore(settings: &[Setting]) {
    for s in settings.iter().rev() {
        match read_value(&s.path) {
            Ok(now) if now == s.applied => {
                if let Err(e) = write_value(&s.path, &s.original) {
                    tracing::warn!(error = %e, "cannot restore a host setting");
                } else {
                    tracing::info!(path = %s.path.display(), value = %s.original, "restored a host setting");
                }
            }
            Ok(now) => tracing::info!(
                path = %s.path.display(), now = %now, applied = %s.applied,
                "host setting changed by someone else since whirl applied it: left as it is"
            ),
            // An interface that is gone.
            Err(_) => {}
        }
    }
}

/// Applies `wanted` for slot `mine` (see the module doc).
pub(crate) fn acquire_settings(dir: &RunDir, mine: u8, wanted: &[(PathBuf, String)]) -> Result<()> {
    let _lock = dir.host_lock()?;
    let path = dir.settings_path();
    let others = dir.others_running(mine)?;
    let mut saved = match fs::read(&path) {
        Ok(bytes) => serde_json::from_slice::<Saved>(&bytes).unwrap_or_default(),
        Err(e) if e.kind() == ErrorKind::NotFound => Saved::default(),
        Err(e) => return Err(Error::io(format!("reading {}", path.display()), e)),
    };
    if !others && !saved.settings.is_empty() {
        tracing::info!("restoring host settings left by a server that did not stop cleanly");
        restore(&saved.settings);
        saved.settings.clear();
    }
    for (p, value) in wanted {
        if saved.settings.iter().any(|s| &s.path == p) {
            continue;
        }
        let original = read_value(p)?;
        if &original != value {
            write_value(p, value)?;
            tracing::info!(path = %p.display(), from = %original, to = %value, "applied a host setting for the action network");
        }
        saved.settings.push(Setting {
            path: p.clone(),
            original,
            applied: value.clone(),
        });
        // Record as we go: a crash after this point still leaves the original on disk.
        write_saved(&path, &saved)?;
    }
    write_saved(&path, &saved)
}

fn write_saved(path: &Path, saved: &Saved) -> Result<()> {
    let tmp = path.with_extension("json.tmp");
    let bytes = serde_json::to_vec_pretty(saved).unwrap_or_default();
    fs::write(&tmp, bytes).map_err(|e| Error::io(format!("writing {}", tmp.display()), e))?;
    fs::rename(&tmp, path).map_err(|e| Error::io(format!("writing {}", path.display()), e))
}

/// Restores the host settings if no other server runs (slot `mine` is stopping).
pub(crate) fn release_settings(dir: &RunDir, mine: u8) -> Result<()> {
    let _lock = dir.host_lock()?;
    if dir.others_running(mine)? {
        return Ok(());
    }
    let path = dir.settings_path();
    let saved = match fs::read(&path) {
        Ok(bytes) => serde_json::from_slice::<Saved>(&bytes).unwrap_or_default(),
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(format!("reading {}", path.display()), e)),
    };
    restore(&saved.settings);
    match fs::remove_file(&path) {
        Err(e) if e.kind() != ErrorKind::NotFound => {
            Err(Error::io(format!("removing {}", path.display()), e))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake `/proc/sys` in a temp dir.
    fn proc_sys(forwarding: &str, ifaces: &[(&str, &str)]) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        let p = d.path();
        fs::create_dir_all(p.join("net/ipv4")).unwrap();
        fs::write(p.join("net/ipv4/ip_forward"), "0\n").unwrap();
        for name in ["all", "default", "lo"] {
            fs::create_dir_all(p.join("net/ipv6/conf").join(name)).unwrap();
            fs::write(p.join("net/ipv6/conf").join(name).join("accept_ra"), "1\n").unwrap();
        }
        fs::write(
            p.join("net/ipv6/conf/all/forwarding"),
            format!("{forwarding}\n"),
        )
        .unwrap();
        for (name, ra) in ifaces {
            fs::create_dir_all(p.join("net/ipv6/conf").join(name)).unwrap();
            fs::write(
                p.join("net/ipv6/conf").join(name).join("accept_ra"),
                format!("{ra}\n"),
            )
            .unwrap();
        }
        d
    }

    #[test]
    fn wanted_settings_keep_router_advertisements() {
        let d = proc_sys("0", &[("eth0", "1"), ("eth1", "0"), ("whirl0", "1")]);
        let w = wanted(true, d.path());
        let names: Vec<String> = w
            .iter()
            .map(|(p, v)| format!("{}={v}", p.strip_prefix(d.path()).unwrap().display()))
            .collect();
        assert_eq!(
            names,
            [
                "net/ipv4/ip_forward=1",
                "net/ipv6/conf/all/forwarding=1",
                "net/ipv6/conf/eth0/accept_ra=2"
            ]
        );
        assert_eq!(wanted(false, d.path()).len(), 1);
        // Forwarding already on: accept_ra already means what it will mean.
        let d = proc_sys("1", &[("eth0", "1")]);
        assert_eq!(wanted(true, d.path()).len(), 2);
    }

    #[test]
    fn settings_are_applied_once_and_restored_by_the_last_server() {
        let sys = proc_sys("0", &[("eth0", "1")]);
        let run = tempfile::tempdir().unwrap();
        let dir = RunDir::open(run.path()).unwrap();
        let w = wanted(true, sys.path());
        let fwd = sys.path().join("net/ipv4/ip_forward");
        let ra = sys.path().join("net/ipv6/conf/eth0/accept_ra");
        let a = dir.try_slot(0).unwrap().unwrap();
        acquire_settings(&dir, 0, &w).unwrap();
        assert_eq!(read_value(&fwd).unwrap(), "1");
        assert_eq!(read_value(&ra).unwrap(), "2");
        // A second server: nothing more to apply; its stop keeps them (the first still runs).
        // (flock is per open file: a second lock in this process behaves like another server.)
        let b = dir.try_slot(1).unwrap().unwrap();
        acquire_settings(&dir, 1, &w).unwrap();
        release_settings(&dir, 1).unwrap();
        drop(b);
        assert_eq!(read_value(&fwd).unwrap(), "1");
        // The last one restores.
        release_settings(&dir, 0).unwrap();
        drop(a);
        assert_eq!(read_value(&fwd).unwrap(), "0");
        assert_eq!(read_value(&ra).unwrap(), "1");
        assert!(!dir.settings_path().exists());
    }

    #[test]
    fn a_crashed_runs_settings_are_restored_at_the_next_start_unless_changed_since() {
        let sys = proc_sys("0", &[]);
        let run = tempfile::tempdir().unwrap();
        let dir = RunDir::open(run.path()).unwrap();
        let w = wanted(true, sys.path());
        let fwd = sys.path().join("net/ipv4/ip_forward");
        let fwd6 = sys.path().join("net/ipv6/conf/all/forwarding");
        {
            let _crashed = dir.try_slot(3).unwrap().unwrap();
            acquire_settings(&dir, 3, &w).unwrap();
            // The lock goes with the process; the record stays.
        }
        assert!(dir.settings_path().exists());
        // Someone turned IPv6 forwarding off again meanwhile: theirs to keep.
        fs::write(&fwd6, "0").unwrap();
        let _next = dir.try_slot(0).unwrap().unwrap();
        // The next start restores, then applies anew and records the originals again.
        acquire_settings(&dir, 0, &w).unwrap();
        assert_eq!(read_value(&fwd).unwrap(), "1");
        let saved: Saved = serde_json::from_slice(&fs::read(dir.settings_path()).unwrap()).unwrap();
        let orig: Vec<&str> = saved.settings.iter().map(|s| s.original.as_str()).collect();
        assert_eq!(orig, ["0", "0"], "{saved:?}");
        release_settings(&dir, 0).unwrap();
        assert_eq!(read_value(&fwd).unwrap(), "0");
        assert_eq!(read_value(&fwd6).unwrap(), "0");
    }

    #[test]
    fn slots_are_exclusive() {
        let run = tempfile::tempdir().unwrap();
        let dir = RunDir::open(run.path()).unwrap();
        let a = dir.try_slot(2).unwrap();
        assert!(a.is_some());
        assert!(dir.try_slot(2).unwrap().is_none());
        assert!(dir.others_running(0).unwrap());
        assert!(!dir.others_running(2).unwrap());
        drop(a);
        assert!(dir.try_slot(2).unwrap().is_some());
    }
}
