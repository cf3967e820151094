//! Egress as root: a bridge per server, one veth pair per sandbox, nftables in the host's
//! namespace, and network namespaces prepared ahead of time.
//!
//! Layout of slot `k` (see [`crate::host`]): bridge `whirl<k>` holding the gateway addresses
//! `169.254.<8k>.1/21` and `fd77:6869:726c:<k>::1/64`; sandbox `i` gets `eth0` with
//! `169.254.<8k>.<i+2>` (within the /21) and `fd77:6869:726c:<k>::<i+2>`, default routes via the
//! gateway, and its host-side end `wh<k>x<n>` is a port of the bridge. Table `inet whirl<k>`
//! filters what sandboxes send (see [`crate::nft`]); table `bridge whirl<k>` keeps sandboxes
//! from talking to one another on the bridge.
//!
//! Preparing a namespace (about a millisecond: the namespace itself, the veth pair, addresses
//! and routes) happens on a background thread, so that a sandbox just joins a ready one: the
//! pool keeps `prepared` of them. A namespace lives as long as a process or a descriptor holds
//! it; when the sandbox is destroyed and the pool's descriptor is closed, the kernel removes it
//! with its veth pair.

use std::collections::VecDeque;
use std::fs::File;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use ipnet::{Ipv4Net, Ipv6Net};
use nix::sched::CloneFlags;

use crate::dns::{self, DnsRelay};
use crate::host::{self, RunDir, Slot};
use crate::netlink::{self, Netlink, CREATE, LOOPBACK_INDEX};
use crate::nft::{self, HostRules};
use crate::resolv::{self, ResolvConf};
use crate::{EgressConfig, Error, Lease, Result};

/// Addresses of one slot: 169.254.(8k).0/21 minus network, gateway and broadcast.
const SANDBOXES_PER_SLOT: u16 = 2045;
/// The ULA prefix of the sandboxes' IPv6 addresses ("whirl" in ASCII after fd).
const ULA: [u16; 3] = [0xfd77, 0x6869, 0x726c];
/// The sandbox side of every pair.
const SANDBOX_IF: &str = "eth0";
/// `eth0`'s index in its (fresh) namespace: `lo` is 1.
const SANDBOX_IF_INDEX: u32 = 2;

/// The addresses of slot `k`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Plan {
    pub k: u8,
    pub net4: Ipv4Net,
    pub gateway4: Ipv4Addr,
    pub net6: Option<Ipv6Net>,
    pub gateway6: Option<Ipv6Addr>,
}

impl Plan {
    pub(crate) fn new(k: u8, ipv6: bool) -> Plan {
        let base = Ipv4Addr::new(169, 254, k.wrapping_mul(8), 0);
        let gateway4 = Ipv4Addr::new(169, 254, k.wrapping_mul(8), 1);
        let prefix6 = Ipv6Addr::new(ULA[0], ULA[1], ULA[2], u16::from(k), 0, 0, 0, 0);
        Plan {
            k,
            net4: Ipv4Net::new_assert(base, 21),
            gateway4,
            net6: ipv6.then(|| Ipv6Net::new_assert(prefix6, 64)),
            gateway6: ipv6.then(|| Ipv6Addr::new(ULA[0], ULA[1], ULA[2], u16::from(k), 0, 0, 0, 1)),
        }
    }

    /// Sandbox `i`'s IPv4 address.
    pub(crate) fn addr4(&self, i: u16) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.net4.network()) + 2 + u32::from(i))
    }

    /// Sandbox `i`'s IPv6 address.
    pub(crate) fn addr6(&self, i: u16) -> Option<Ipv6Addr> {
        self.net6
            .map(|n| Ipv6Addr::from(u128::from(n.network()) + 2 + u128::from(i)))
    }

    /// Sandbox `i`'s MAC (locally administered, unique per slot and address).
    fn mac(&self, i: u16) -> [u8; 6] {
        let [hi, lo] = (i + 2).to_be_bytes();
        [0x02, 0x77, 0x68, self.k, hi, lo]
    }

    fn bridge_mac(&self) -> [u8; 6] {
        [0x02, 0x77, 0x68, self.k, 0x00, 0x01]
    }
}

/// Free address indexes, reused oldest-freed first (so a freed address rests as long as
/// possible before it is handed out again).
#[derive(Debug)]
struct Addresses(Mutex<VecDeque<u16>>);

impl Addresses {
    fn take(&self) -> Result<u16> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop_front()
            .ok_or_else(|| {
                Error::Exhausted(format!(
                    "all {SANDBOXES_PER_SLOT} sandbox addresses of this server are in use"
                ))
            })
    }

    fn give_back(&self, i: u16) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push_back(i);
    }
}

/// A namespace ready for a sandbox.
#[derive(Debug)]
struct Prepared {
    netns: OwnedFd,
    index: u16,
}

#[derive(Debug, Default)]
struct PoolState {
    ready: VecDeque<Prepared>,
    stop: bool,
}

/// What the preparing threads share.
#[derive(Debug)]
struct Shared {
    plan: Plan,
    /// Set once the bridge exists (before any namespace is prepared).
    bridge_index: AtomicU32,
    /// The host's namespace (where this process's main thread lives).
    host_ns: File,
    /// A netlink socket in the host's namespace.
    host_nl: Mutex<Netlink>,
    addresses: Addresses,
    names: AtomicU32,
    pool: Mutex<PoolState>,
    wake: Condvar,
    target: usize,
    files: Vec<(PathBuf, String)>,
}

/// The root-mode action network of one server.
#[derive(Debug)]
pub(crate) struct RootNetwork {
    shared: Arc<Shared>,
    slot: Mutex<Option<Slot>>,
    dir: RunDir,
    nft: PathBuf,
    filler: Mutex<Option<JoinHandle<()>>>,
    dns: Mutex<Option<DnsRelay>>,
    api_host: String,
    api_listen: SocketAddr,
}

/// Whether the kernel has IPv6 on.
fn host_has_ipv6() -> bool {
    std::fs::read_to_string("/proc/sys/net/ipv6/conf/all/disable_ipv6")
        .map(|s| s.trim() == "0")
        .unwrap_or(false)
}

impl RootNetwork {
    /// Claims a slot, applies the host settings, creates the bridge and the tables, starts the
    /// DNS relay and the preparing thread. On error, what was done is undone.
    pub(crate) async fn start(cfg: &EgressConfig) -> Result<RootNetwork> {
        let nft_bin = nft::nft_binary()?;
        let host_rc = ResolvConf::read(&cfg.resolv_conf).map_err(|e| {
            Error::io(
                format!(
                    "reading the resolver configuration {}",
                    cfg.resolv_conf.display()
                ),
                e,
            )
        })?;
        let dir = RunDir::open(&cfg.run_dir)?;
        let ipv6 = host_has_ipv6();
        let (dir2, nft2) = (dir.clone(), nft_bin.clone());
        // Blocking work (locks, netlink, nft) off the async threads.
        let (slot, host_nl) = tokio::task::spawn_blocking(move || -> Result<_> {
            let mut nl = Netlink::open().map_err(|e| Error::io("opening netlink".into(), e))?;
            let slot = host::claim_slot(&dir2, &mut nl, &nft2)?;
            Ok((slot, nl))
        })
        .await
        .map_err(|e| Error::Setup(e.to_string()))??;
        let plan = Plan::new(slot.index, ipv6);
        let mut net = RootNetwork {
            shared: Arc::new(Shared {
                plan,
                bridge_index: AtomicU32::new(0),
                host_ns: File::open("/proc/thread-self/ns/net")
                    .map_err(|e| Error::io("opening the host's network namespace".into(), e))?,
                host_nl: Mutex::new(host_nl),
                addresses: Addresses(Mutex::new((0..SANDBOXES_PER_SLOT).collect())),
                names: AtomicU32::new(0),
                pool: Mutex::new(PoolState::default()),
                wake: Condvar::new(),
                target: cfg.prepared,
                files: resolv::sandbox_files(IpAddr::V4(plan.gateway4), &host_rc),
            }),
            slot: Mutex::new(Some(slot)),
            dir,
            nft: nft_bin,
            filler: Mutex::new(None),
            dns: Mutex::new(None),
            api_host: format!("http://{}:{}", plan.gateway4, cfg.api_port),
            api_listen: SocketAddr::from((plan.gateway4, cfg.api_port)),
        };
        match net.build(cfg, ipv6).await {
            Ok(()) => Ok(net),
            Err(e) => {
                net.stop_blocking_parts();
                Err(e)
            }
        }
    }

    async fn build(&mut self, cfg: &EgressConfig, ipv6: bool) -> Result<()> {
        let plan = self.shared.plan;
        let (dir, nft_bin) = (self.dir.clone(), self.nft.clone());
        let policy = cfg.policy.clone();
        let api_port = cfg.api_port;
        let shared = self.shared.clone();
        let bridge_index = tokio::task::spawn_blocking(move || -> Result<u32> {
            host::acquire_settings(&dir, plan.k, &host::wanted(ipv6, Path::new("/proc/sys")))?;
            let bridge = host::bridge_name(plan.k);
            let mut nl = shared.host_nl.lock().unwrap_or_else(|p| p.into_inner());
            nl.request(
                "creating the bridge",
                netlink::new_bridge(&bridge, plan.bridge_mac()),
                CREATE,
            )
            .map_err(|e| Error::io(format!("creating bridge {bridge}"), e))?;
            let index = nl
                .link_index(&bridge)
                .map_err(|e| Error::io("listing links".into(), e))?
                .ok_or_else(|| Error::Setup(format!("bridge {bridge} vanished")))?;
            let mut msgs = vec![(
                "the bridge's IPv4 address",
                netlink::new_address(index, IpAddr::V4(plan.gateway4), 21),
                CREATE,
            )];
            if let Some(gw6) = plan.gateway6 {
                msgs.push((
                    "the bridge's IPv6 address",
                    netlink::new_address(index, IpAddr::V6(gw6), 64),
                    CREATE,
                ));
            }
            nl.batch(msgs)
                .map_err(|e| Error::io(format!("configuring bridge {bridge}"), e))?;
            drop(nl);
            let table = host::table_name(plan.k);
            let prefix = host::port_prefix(plan.k);
            let rules = HostRules {
                table: &table,
                bridge: &bridge,
                port_prefix: &prefix,
                net4: plan.net4,
                gateway4: plan.gateway4,
                net6: plan.net6,
                api_port,
                policy: &policy,
            };
            nft::apply(&nft_bin, &rules.ruleset())?;
            Ok(index)
        })
        .await
        .map_err(|e| Error::Setup(e.to_string()))??;
        // The index is known only now; the preparing threads start after this.
        self.shared
            .bridge_index
            .store(bridge_index, Ordering::Release);
        let relay = dns::start(plan.gateway4, &cfg.resolv_conf).await?;
        *self.dns.lock().unwrap_or_else(|p| p.into_inner()) = Some(relay);
        if self.shared.target > 0 {
            let shared = self.shared.clone();
            let handle = std::thread::Builder::new()
                .name("whirl-netns".into())
                .spawn(move || fill(&shared))
                .map_err(|e| Error::io("starting the namespace thread".into(), e))?;
            *self.filler.lock().unwrap_or_else(|p| p.into_inner()) = Some(handle);
        }
        tracing::info!(
            slot = plan.k,
            bridge = %host::bridge_name(plan.k),
            gateway = %plan.gateway4,
            ipv6 = plan.net6.is_some(),
            "action network ready (egress)"
        );
        Ok(())
    }

    pub(crate) fn api_host(&self) -> &str {
        &self.api_host
    }

    pub(crate) fn api_listen(&self) -> SocketAddr {
        self.api_listen
    }

    pub(crate) fn plan(&self) -> Plan {
        self.shared.plan
    }

    /// A prepared namespace for one sandbox (from the pool, else made now).
    pub(crate) fn lease(&self) -> Result<Lease> {
        let popped = {
            let mut st = self.shared.pool.lock().unwrap_or_else(|p| p.into_inner());
            if st.stop {
                return Err(Error::Setup("the action network is stopped".into()));
            }
            st.ready.pop_front()
        };
        let p = match popped {
            Some(p) => {
                self.shared.wake.notify_all();
                p
            }
            None => {
                tracing::debug!("no prepared network namespace ready: preparing one now");
                // Never switch namespaces on a caller's (pooled) thread: a short-lived one.
                let shared = self.shared.clone();
                std::thread::Builder::new()
                    .name("whirl-netns-now".into())
                    .spawn(move || prepare(&shared))
                    .map_err(|e| Error::io("starting a namespace thread".into(), e))?
                    .join()
                    .map_err(|_| Error::Setup("the namespace thread panicked".into()))??
            }
        };
        let plan = self.shared.plan;
        let shared = self.shared.clone();
        let index = p.index;
        Ok(Lease {
            netns: Some(p.netns),
            files: self.shared.files.clone(),
            setup: None,
            attach: None,
            address: Some(IpAddr::V4(plan.addr4(index))),
            release: Some(Box::new(move || shared.addresses.give_back(index))),
        })
    }

    fn stop_blocking_parts(&self) {
        {
            let mut st = self.shared.pool.lock().unwrap_or_else(|p| p.into_inner());
            st.stop = true;
            st.ready.clear();
        }
        self.shared.wake.notify_all();
        if let Some(h) = self.filler.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = h.join();
        }
        if let Some(mut d) = self.dns.lock().unwrap_or_else(|p| p.into_inner()).take() {
            d.stop();
        }
        let Some(slot) = self.slot.lock().unwrap_or_else(|p| p.into_inner()).take() else {
            return;
        };
        let k = slot.index;
        {
            let mut nl = self
                .shared
                .host_nl
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if let Err(e) = host::remove_slot(k, &mut nl, &self.nft) {
                tracing::warn!(error = %e, "removing the action network");
            }
        }
        if let Err(e) = host::release_settings(&self.dir, k) {
            tracing::warn!(error = %e, "restoring host settings");
        }
        drop(slot);
    }

    /// Removes the bridge and the tables, restores the host settings (if no other server
    /// runs), releases the slot. Idempotent. Blocking.
    pub(crate) fn stop(&self) {
        self.stop_blocking_parts();
    }
}

impl Drop for RootNetwork {
    fn drop(&mut self) {
        self.stop_blocking_parts();
    }
}

/// The background thread: keeps `target` namespaces ready.
fn fill(shared: &Shared) {
    loop {
        {
            let mut st = shared.pool.lock().unwrap_or_else(|p| p.into_inner());
            while !st.stop && st.ready.len() >= shared.target {
                st = shared.wake.wait(st).unwrap_or_else(|p| p.into_inner());
            }
            if st.stop {
                return;
            }
        }
        match prepare(shared) {
            Ok(p) => {
                let mut st = shared.pool.lock().unwrap_or_else(|p| p.into_inner());
                if st.stop {
                    return;
                }
                st.ready.push_back(p);
            }
            Err(Error::Fatal(e)) => {
                tracing::error!(error = %e, "the namespace thread stops");
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot prepare a sandbox network namespace");
                // Do not spin on a persistent failure; sandboxes prepare their own meanwhile.
                std::thread::sleep(std::time::Duration::from_millis(500));
            }
        }
    }
}

/// Creates a network namespace on this thread and comes back to the host's, returning the new
/// namespace and a netlink socket inside it.
fn new_namespace(host_ns: &File) -> Result<(OwnedFd, Netlink)> {
    nix::sched::unshare(CloneFlags::CLONE_NEWNET)
        .map_err(|e| Error::io("creating a network namespace".into(), e.into()))?;
    let inside = (|| -> std::io::Result<(OwnedFd, Netlink)> {
        let ns: OwnedFd = File::open("/proc/thread-self/ns/net")?.into();
        Ok((ns, Netlink::open()?))
    })();
    if let Err(e) = nix::sched::setns(host_ns.as_fd(), CloneFlags::CLONE_NEWNET) {
        return Err(Error::Fatal(format!(
            "cannot return to the host's network namespace: {e}"
        )));
    }
    inside.map_err(|e| Error::io("opening the new network namespace".into(), e))
}

/// Prepares one namespace: the veth pair (host end on the bridge), then inside: `lo` up, the
/// addresses and the default routes.
fn prepare(shared: &Shared) -> Result<Prepared> {
    let index = shared.addresses.take()?;
    let result = prepare_at(shared, index);
    if result.is_err() {
        shared.addresses.give_back(index);
    }
    result
}

fn prepare_at(shared: &Shared, i: u16) -> Result<Prepared> {
    let plan = shared.plan;
    let (netns, mut inside) = new_namespace(&shared.host_ns)?;
    let n = shared.names.fetch_add(1, Ordering::Relaxed);
    let host_if = format!("{}{n:x}", host::port_prefix(plan.k));
    shared
        .host_nl
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .request(
            "creating the veth pair",
            netlink::new_veth(
                &host_if,
                shared.bridge_index.load(Ordering::Acquire),
                SANDBOX_IF,
                SANDBOX_IF_INDEX,
                plan.mac(i),
                netns.as_fd(),
            ),
            CREATE,
        )
        .map_err(|e| Error::io(format!("creating veth {host_if}"), e))?;
    let mut msgs = vec![
        ("bringing lo up", netlink::link_up(LOOPBACK_INDEX), 0),
        ("bringing eth0 up", netlink::link_up(SANDBOX_IF_INDEX), 0),
        (
            "the sandbox's IPv4 address",
            netlink::new_address(SANDBOX_IF_INDEX, IpAddr::V4(plan.addr4(i)), 21),
            CREATE,
        ),
    ];
    if let (Some(a6), Some(_)) = (plan.addr6(i), plan.gateway6) {
        msgs.push((
            "the sandbox's IPv6 address",
            netlink::new_address(SANDBOX_IF_INDEX, IpAddr::V6(a6), 64),
            CREATE,
        ));
    }
    msgs.push((
        "the IPv4 default route",
        netlink::default_route(SANDBOX_IF_INDEX, IpAddr::V4(plan.gateway4)),
        CREATE,
    ));
    if let Some(gw6) = plan.gateway6 {
        msgs.push((
            "the IPv6 default route",
            netlink::default_route(SANDBOX_IF_INDEX, IpAddr::V6(gw6)),
            CREATE,
        ));
    }
    inside
        .batch(msgs)
        .map_err(|e| Error::io(format!("configuring the namespace of {host_if}"), e))?;
    Ok(Prepared { netns, index: i })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_plans_do_not_overlap_and_avoid_the_metadata_address() {
        let metadata: Ipv4Addr = "169.254.169.254".parse().unwrap();
        for k in 0..host::SLOTS {
            let p = Plan::new(k, true);
            assert_eq!(p.net4.prefix_len(), 21);
            assert!(!p.net4.contains(&metadata), "{}", p.net4);
            assert_eq!(p.gateway4, Ipv4Addr::from(u32::from(p.net4.network()) + 1));
            let last = p.addr4(SANDBOXES_PER_SLOT - 1);
            assert!(p.net4.contains(&last));
            assert_ne!(last, p.net4.broadcast());
            for other in 0..k {
                let q = Plan::new(other, true);
                assert!(!p.net4.contains(&q.gateway4));
                assert_ne!(p.net6, q.net6);
            }
        }
        let p = Plan::new(3, true);
        assert_eq!(p.gateway4.to_string(), "169.254.24.1");
        assert_eq!(p.addr4(0).to_string(), "169.254.24.2");
        assert_eq!(p.addr6(0).unwrap().to_string(), "fd77:6869:726c:3::2");
        assert_eq!(p.gateway6.unwrap().to_string(), "fd77:6869:726c:3::1");
        assert_eq!(p.mac(0), [2, 0x77, 0x68, 3, 0, 2]);
        assert!(Plan::new(0, false).net6.is_none());
    }

    #[test]
    fn addresses_are_reused_oldest_freed_first() {
        let a = Addresses(Mutex::new((0..3).collect()));
        assert_eq!(a.take().unwrap(), 0);
        assert_eq!(a.take().unwrap(), 1);
        a.give_back(0);
        assert_eq!(a.take().unwrap(), 2);
        assert_eq!(a.take().unwrap(), 0);
        assert!(matches!(a.take(), Err(Error::Exhausted(_))));
    }
}
