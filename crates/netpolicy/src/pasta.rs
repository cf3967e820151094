//! Egress without root: `pasta` (Debian's `passt` package), a user-mode network stack, per
//! sandbox. pasta joins the sandbox's user and network namespaces, creates a tap device there
//! (`eth0`, configured like the host's uplink: `--config-net`) and carries the sandbox's TCP
//! and UDP flows out through ordinary sockets of the host. Options (pasta(1)):
//! - `-t none -u none`: nothing from outside reaches the sandbox;
//! - `-T <api port> -U none`: the sandbox's own `127.0.0.1:<api port>` is the host's, that is
//!   the API server (`__OW_API_HOST`), and no other host port;
//! - `--no-map-gw`: the gateway address is not the host (no other way to the host's loopback);
//! - `--dns-forward 169.254.1.53 -D <name server>...`: the sandbox's DNS queries go to the
//!   configured resolver.
//!
//! pasta does not filter destinations: the policy is an nftables ruleset in the sandbox's own
//! namespace ([`crate::nft::InsideRules`]: the default deny list, the entries, and the host's
//! own addresses), which the sandbox's set-up helper loads with its capabilities in that
//! namespace before the action starts and before it drops them.
//!
//! pasta forks into the background once the namespace is configured; its pid file (one per
//! sandbox, under `<run dir>/pasta-<slot>/`) lets the sandbox's destroy stop it, and a server
//! that starts after a crash stop those of its free slot.

use std::fs;
use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use ipnet::IpNet;

use crate::host::{RunDir, Slot, SLOTS};
use crate::netlink::Netlink;
use crate::nft::{self, InsideRules};
use crate::resolv::{self, ResolvConf};
use crate::{Attach, EgressConfig, Error, Lease, Result};

/// The address sandboxes send DNS queries to; pasta forwards them to the name server.
const DNS_FORWARD: Ipv4Addr = Ipv4Addr::new(169, 254, 1, 53);

const PASTA_CANDIDATES: &[&str] = &["/usr/bin/pasta", "/usr/sbin/pasta", "/bin/pasta"];

fn pasta_binary() -> Result<PathBuf> {
    PASTA_CANDIDATES
        .iter()
        .map(Path::new)
        .find(|p| p.is_file())
        .map(Path::to_path_buf)
        .ok_or_else(|| {
            Error::Unavailable(
                "action_network = egress without root needs pasta (Debian: apt-get install \
                 passt); or start with --action-network none"
                    .into(),
            )
        })
}

/// The rootless action network of one server.
#[derive(Debug)]
pub(crate) struct PastaNetwork {
    cmd: PastaCommand,
    slot: Mutex<Option<Slot>>,
    index: u8,
    pids: PathBuf,
    api_host: String,
    nft: PathBuf,
    ruleset: String,
    files: Vec<(PathBuf, String)>,
    counter: Arc<AtomicU32>,
}

fn pid_dir(dir: &Path, k: u8) -> PathBuf {
    dir.join(format!("pasta-{k}"))
}

/// Stops the pasta whose pid file is `pidfile`, if it still runs (checked by its command line,
/// which names the pid file, so a reused pid is never signalled).
fn stop_pasta(pidfile: &Path) {
    let Ok(text) = fs::read_to_string(pidfile) else {
        return;
    };
    if let Ok(pid) = text.trim().parse::<i32>() {
        let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let needle = pidfile.as_os_str().as_encoded_bytes();
        if cmdline.windows(needle.len()).any(|w| w == needle) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGTERM,
            );
        }
    }
    let _ = fs::remove_file(pidfile);
}

fn stop_all(dir: &Path) {
    if let Ok(entries) = fs::read_dir(dir) {
        for e in entries.flatten() {
            stop_pasta(&e.path());
        }
    }
}

/// Stops pasta when the sandbox goes.
#[derive(Debug)]
struct PastaGuard {
    pidfile: PathBuf,
}

impl Drop for PastaGuard {
    fn drop(&mut self) {
        stop_pasta(&self.pidfile);
    }
}

impl PastaNetwork {
    pub(crate) fn start(cfg: &EgressConfig) -> Result<PastaNetwork> {
        let pasta = pasta_binary()?;
        let nft = nft::nft_binary()?;
        let rc = ResolvConf::read(&cfg.resolv_conf).map_err(|e| {
            Error::io(
                format!(
                    "reading the resolver configuration {}",
                    cfg.resolv_conf.display()
                ),
                e,
            )
        })?;
        let dir = RunDir::open(&cfg.run_dir)?;
        let mut mine = None;
        for k in 0..SLOTS {
            if let Some(slot) = dir.try_slot(k)? {
                // A free slot's pasta processes belong to a server that is gone.
                stop_all(&pid_dir(&cfg.run_dir, k));
                if mine.is_none() {
                    mine = Some(slot);
                }
            }
        }
        let slot = mine.ok_or_else(|| {
            Error::Exhausted(format!(
                "all {SLOTS} action network slots are held by running whirl servers"
            ))
        })?;
        let index = slot.index;
        let pids = pid_dir(&cfg.run_dir, index);
        fs::create_dir_all(&pids)
            .map_err(|e| Error::io(format!("creating {}", pids.display()), e))?;
        let host_addrs: Vec<IpNet> = Netlink::open()
            .and_then(|mut nl| nl.addresses())
            .map_err(|e| Error::io("listing the host's addresses".into(), e))?
            .into_iter()
            .map(IpNet::from)
            .collect();
        let ruleset = InsideRules {
            policy: &cfg.policy,
            host_addrs: &host_addrs,
            dns: DNS_FORWARD,
        }
        .ruleset();
        tracing::info!(slot = index, "action network ready (egress through pasta)");
        Ok(PastaNetwork {
            cmd: PastaCommand {
                pasta,
                api_port: cfg.api_port,
                nameservers: rc.nameservers.iter().map(|s| s.ip()).collect(),
            },
            slot: Mutex::new(Some(slot)),
            index,
            pids,
            api_host: format!("http://127.0.0.1:{}", cfg.api_port),
            nft,
            ruleset,
            files: resolv::sandbox_files(IpAddr::V4(DNS_FORWARD), &rc),
            counter: Arc::new(AtomicU32::new(0)),
        })
    }

    pub(crate) fn api_host(&self) -> &str {
        &self.api_host
    }

    pub(crate) fn slot(&self) -> u8 {
        self.index
    }

    pub(crate) fn lease(&self) -> Result<Lease> {
        let (pids, counter) = (self.pids.clone(), self.counter.clone());
        let me = self.cmd.clone();
        let attach: Attach = Arc::new(move |pid: i32| {
            let n = counter.fetch_add(1, Ordering::Relaxed);
            let pidfile = pids.join(format!("{n}.pid"));
            let out = me.command(pid, &pidfile).output()?;
            if !out.status.success() {
                stop_pasta(&pidfile);
                return Err(io::Error::other(format!(
                    "pasta failed ({}): {}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim()
                )));
            }
            Ok(Box::new(PastaGuard { pidfile }) as Box<dyn std::any::Any + Send + Sync>)
        });
        Ok(Lease {
            netns: None,
            files: self.files.clone(),
            setup: Some((self.nft.clone(), self.ruleset.clone())),
            attach: Some(attach),
            address: None,
            release: None,
        })
    }

    pub(crate) fn stop(&self) {
        stop_all(&self.pids);
        drop(self.slot.lock().unwrap_or_else(|p| p.into_inner()).take());
    }
}

impl Drop for PastaNetwork {
    fn drop(&mut self) {
        self.stop();
    }
}

/// How to start pasta (the attach closure owns a copy).
#[derive(Debug, Clone)]
struct PastaCommand {
    pasta: PathBuf,
    api_port: u16,
    nameservers: Vec<IpAddr>,
}

impl PastaCommand {
    /// The pasta command line for sandbox process `pid`, its pid file `pidfile`.
    fn command(&self, pid: i32, pidfile: &Path) -> Command {
        let mut cmd = Command::new(&self.pasta);
        cmd.args([
            "--config-net",
            "--quiet",
            "-t",
            "none",
            "-u",
            "none",
            "-U",
            "none",
        ])
        .args(["-T", &self.api_port.to_string()])
        .args(["--no-map-gw", "-I", "eth0"])
        .args(["--dns-forward", &DNS_FORWARD.to_string()]);
        for ns in &self.nameservers {
            cmd.args(["-D", &ns.to_string()]);
        }
        cmd.arg("-P")
            .arg(pidfile)
            .arg(pid.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        cmd
    }
}
