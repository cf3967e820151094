//! whirl-netpolicy: the network an action sees (`action_network = egress`).
//!
//! An action reaches outside networks (TCP and UDP, IPv4 and IPv6 where the host has it) under
//! the [`EgressPolicy`]: loopback, link-local, private and shared ranges and every address of
//! the host itself are refused, except the API host, which actions reach at `__OW_API_HOST`.
//! DNS goes through the host's resolver configuration. The policy is enforced outside the
//! action's control: the action has no capability to change interfaces, routes or filters, and
//! raw sockets stay forbidden (whirl-sandbox).
//!
//! Two mechanisms, chosen by who runs the server (see docs/adr/0006-action-network.md):
//! - **root**: a bridge per server (`whirl<slot>`), a veth pair per sandbox, nftables tables
//!   of its own in the host's namespace (filter and masquerade), IPv4/IPv6 forwarding while a
//!   server runs, a DNS relay on the gateway. Network namespaces are prepared ahead of time, so
//!   a sandbox only joins one.
//! - **rootless** (where the kernel allows user namespaces): a user-mode stack, `pasta`, per
//!   sandbox, and the policy as nftables rules inside the sandbox's own namespace, loaded by the
//!   sandbox's set-up helper before the action starts.
//!
//! Nothing is left behind: a sandbox's namespace and veth pair go when the sandbox does;
//! [`Egress::stop`] removes the bridge and tables and restores the host settings; a server that
//! starts after a crash removes what the crashed one left (see [`host`]).

use std::any::Any;
use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;

mod dns;
mod host;
mod netlink;
mod nft;
mod pasta;
mod policy;
mod resolv;
mod root;

pub use policy::{default_deny, never, EgressPolicy, Verdict, DEFAULT_DENY, NEVER};

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A host-side operation failed.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
    /// `nft` refused a ruleset.
    #[error("nft: {0}")]
    Nft(String),
    /// A tool or kernel feature egress needs is missing.
    #[error("{0}")]
    Unavailable(String),
    /// No slot, or no address, is free.
    #[error("{0}")]
    Exhausted(String),
    /// Setting up failed.
    #[error("action network set-up: {0}")]
    Setup(String),
    /// A thread could not return to the host's network namespace: it must not run anything else.
    #[error("{0}")]
    Fatal(String),
}

impl Error {
    pub(crate) fn io(context: String, source: io::Error) -> Error {
        Error::Io { context, source }
    }
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How many namespaces the root mode keeps ready by default.
pub const DEFAULT_PREPARED: usize = 4;

/// The configuration of the action network.
#[derive(Debug, Clone)]
pub struct EgressConfig {
    pub policy: EgressPolicy,
    /// The API server's port: actions reach it on the gateway (root) or on their own loopback
    /// (rootless).
    pub api_port: u16,
    /// The resolver configuration whose name servers answer the actions' DNS queries.
    pub resolv_conf: PathBuf,
    /// Where slot locks, the host settings record and pasta's pid files live.
    pub run_dir: PathBuf,
    /// Namespaces kept ready (root mode).
    pub prepared: usize,
}

impl EgressConfig {
    /// The defaults: `/etc/resolv.conf`, [`EgressConfig::default_run_dir`], [`DEFAULT_PREPARED`].
    pub fn new(policy: EgressPolicy, api_port: u16) -> EgressConfig {
        EgressConfig {
            policy,
            api_port,
            resolv_conf: PathBuf::from("/etc/resolv.conf"),
            run_dir: Self::default_run_dir(),
            prepared: DEFAULT_PREPARED,
        }
    }

    /// `/run/whirl/net` as root; else `$XDG_RUNTIME_DIR/whirl/net`, or
    /// `<temp dir>/whirl-<uid>/net`.
    pub fn default_run_dir() -> PathBuf {
        let uid = nix::unistd::geteuid();
        if uid.is_root() {
            return PathBuf::from("/run/whirl/net");
        }
        match std::env::var_os("XDG_RUNTIME_DIR") {
            Some(d) if !d.is_empty() => Path::new(&d).join("whirl/net"),
            _ => std::env::temp_dir().join(format!("whirl-{uid}/net")),
        }
    }
}

/// Connects a rootless sandbox's namespace to the outside once the sandbox process `pid`
/// exists; the returned guard disconnects it when dropped.
pub type Attach =
    Arc<dyn Fn(i32) -> io::Result<Box<dyn Any + Send + Sync>> + Send + Sync + 'static>;

/// What one sandbox needs to get its network. Dropping it gives its address back: drop it only
/// after the sandbox is destroyed.
pub struct Lease {
    /// Root mode: the prepared network namespace the sandbox joins.
    pub netns: Option<OwnedFd>,
    /// Files the sandbox sees under `/etc`: `resolv.conf` (the gateway's relay), `hosts`,
    /// `nsswitch.conf`.
    pub files: Vec<(PathBuf, String)>,
    /// Rootless: the filter the sandbox's set-up helper loads into its own namespace before the
    /// action starts: (the `nft` binary, the ruleset for `nft -f -`).
    pub setup: Option<(PathBuf, String)>,
    /// Rootless: starts the user-mode stack for the sandbox process.
    pub attach: Option<Attach>,
    /// The sandbox's own address (root mode).
    pub address: Option<IpAddr>,
    release: Option<Box<dyn FnOnce() + Send + Sync>>,
}

impl fmt::Debug for Lease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lease")
            .field("netns", &self.netns)
            .field("address", &self.address)
            .field("setup", &self.setup.is_some())
            .field("attach", &self.attach.is_some())
            .finish_non_exhaustive()
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(r) = self.release.take() {
            r();
        }
    }
}

/// What the network looks like, for logs and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EgressInfo {
    /// `bridge` (root) or `pasta` (rootless).
    pub mechanism: &'static str,
    /// The server's slot (root: names the bridge `whirl<slot>` and tables `whirl<slot>`).
    pub slot: u8,
    /// The gateway address sandboxes reach the API and DNS at (root).
    pub gateway: Option<IpAddr>,
    /// The sandboxes' IPv4 network (root).
    pub network: Option<String>,
    /// Whether sandboxes get IPv6.
    pub ipv6: bool,
}

enum Inner {
    Root(root::RootNetwork),
    Rootless(pasta::PastaNetwork),
}

/// The running action network of one server.
pub struct Egress {
    inner: Inner,
}

impl fmt::Debug for Egress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Egress")
            .field("info", &self.info())
            .finish()
    }
}

impl Egress {
    /// Sets up the action network: the root mechanism as root, else the rootless one. Fails
    /// with a message saying what is missing (nft, pasta, user namespaces, a free slot).
    pub async fn start(cfg: EgressConfig) -> Result<Egress> {
        let inner = if nix::unistd::geteuid().is_root() {
            Inner::Root(root::RootNetwork::start(&cfg).await?)
        } else {
            Inner::Rootless(pasta::PastaNetwork::start(&cfg)?)
        };
        Ok(Egress { inner })
    }

    /// `__OW_API_HOST` as seen from inside a sandbox.
    pub fn api_host(&self) -> &str {
        match &self.inner {
            Inner::Root(r) => r.api_host(),
            Inner::Rootless(p) => p.api_host(),
        }
    }

    /// An address the API server must also listen on for sandboxes to reach it (root: the
    /// gateway; rootless: none, pasta forwards the sandbox's loopback port to the host's).
    pub fn api_listen(&self) -> Option<SocketAddr> {
        match &self.inner {
            Inner::Root(r) => Some(r.api_listen()),
            Inner::Rootless(_) => None,
        }
    }

    /// What one sandbox needs. Blocking (root mode: at most one namespace preparation when
    /// none is ready).
    pub fn lease(&self) -> Result<Lease> {
        match &self.inner {
            Inner::Root(r) => r.lease(),
            Inner::Rootless(p) => p.lease(),
        }
    }

    pub fn info(&self) -> EgressInfo {
        match &self.inner {
            Inner::Root(r) => {
                let p = r.plan();
                EgressInfo {
                    mechanism: "bridge",
                    slot: p.k,
                    gateway: Some(IpAddr::V4(p.gateway4)),
                    network: Some(p.net4.to_string()),
                    ipv6: p.net6.is_some(),
                }
            }
            Inner::Rootless(p) => EgressInfo {
                mechanism: "pasta",
                slot: p.slot(),
                gateway: None,
                network: None,
                ipv6: true,
            },
        }
    }

    /// Removes what the server created on the host and restores the host settings (root), or
    /// stops the remaining pasta processes (rootless). Idempotent. Blocking: call it after
    /// every sandbox is destroyed.
    pub fn stop(&self) {
        match &self.inner {
            Inner::Root(r) => r.stop(),
            Inner::Rootless(p) => p.stop(),
        }
    }
}
