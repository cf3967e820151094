//! What the roles are assembled from: the store and the bus a config names, the runtime
//! manifest, the container factory, the bootstrap of the well-known namespaces and the catalog,
//! the stop signal.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use serde_json::json;
use whirl_bus::{Bus, InProcessBus};
use whirl_bus_nats::NatsBus;
use whirl_config::{ActionNetwork, CommonConfig, InvokerRoleConfig, Isolation, StemCells};
use whirl_core::runtimes::{RuntimeKind, Runtimes, BLACKBOX};
use whirl_netpolicy::{Egress, EgressConfig, EgressPolicy};
use whirl_runtime_process::{NetworkMode, ProcessFactory, ProcessFactoryConfig, RuntimeManifest};
use whirl_store::Stores;

use crate::{bootstrap, catalog, open_sqlite};

/// The subject and stream prefix of Whirl's messages on a NATS server.
const NATS_PREFIX: &str = "whirl";

/// The store `common` names: PostgreSQL at `store_url`, else SQLite in `data_dir`.
pub(crate) async fn open_stores(common: &CommonConfig) -> Result<Stores> {
    match &common.store_url {
        // The store's errors never carry the URL (it holds the password).
        Some(url) => whirl_store_postgres::connect(url)
            .await
            .context("cannot open the PostgreSQL store (store_url)"),
        None => open_sqlite(&common.data_dir),
    }
}

/// The bus a role talks over.
#[derive(Debug, Clone)]
pub(crate) enum Buses {
    InProcess(Arc<InProcessBus>),
    Nats(Arc<NatsBus>),
}

impl Buses {
    /// NATS JetStream at `bus_url`, else the in-process bus of standalone.
    pub(crate) async fn open(common: &CommonConfig) -> Result<Self> {
        match &common.bus_url {
            Some(url) => Ok(Buses::Nats(Arc::new(
                whirl_bus_nats::connect(url, NATS_PREFIX)
                    .await
                    .context("cannot connect to the NATS bus (bus_url)")?,
            ))),
            None => Ok(Buses::InProcess(Arc::new(InProcessBus::new()))),
        }
    }

    pub(crate) fn bus(&self) -> Arc<dyn Bus> {
        match self {
            Buses::InProcess(b) => b.clone(),
            Buses::Nats(b) => b.clone(),
        }
    }

    /// Whether invokers of other processes can join (the bus is not this process's own).
    pub(crate) fn shared(&self) -> bool {
        matches!(self, Buses::Nats(_))
    }

    pub(crate) async fn close(&self) {
        match self {
            Buses::InProcess(b) => b.close(),
            Buses::Nats(b) => b.close().await,
        }
    }
}

/// Create `guest` and `whisk.system` with OpenWhisk's development keys, and install or
/// upgrade the system catalog. Safe when several controllers start at once.
pub(crate) async fn bootstrap(stores: &Stores, manifest: &RuntimeManifest) -> Result<()> {
    bootstrap::well_known_namespaces(stores.auth.as_ref())
        .await
        .context("cannot create the well-known namespaces")?;
    let node_kind = manifest
        .kinds
        .iter()
        .find(|k| k.family == "nodejs" && k.default)
        .map(|k| k.kind.clone());
    // A concurrent install by another controller makes ours conflict: theirs stands.
    match catalog::install(stores, node_kind.as_deref()).await {
        Ok(_) | Err(whirl_store::StoreError::Conflict | whirl_store::StoreError::AlreadyExists) => {
            Ok(())
        }
        Err(e) => Err(anyhow::anyhow!("cannot install the system catalog: {e}")),
    }
}

/// The runtime manifest: the given file's, or the one detected on this machine.
pub(crate) fn load_manifest(path: Option<&Path>) -> Result<RuntimeManifest> {
    match path {
        None => Ok(RuntimeManifest::detect()),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the runtime manifest {}", path.display()))?;
            serde_json::from_str(&text)
                .with_context(|| format!("invalid runtime manifest {}", path.display()))
        }
    }
}

/// The stem cells to keep as (kind, count, memory MB): the configured ones with their kinds
/// resolved against the manifest, or the manifest's own.
pub(crate) fn stem_cells(
    spec: &StemCells,
    manifest: &RuntimeManifest,
) -> Result<Vec<(String, u32, u32)>> {
    match spec {
        StemCells::Manifest => Ok(manifest
            .kinds
            .iter()
            .flat_map(|k| {
                k.stem_cells
                    .iter()
                    .map(|s| (k.kind.clone(), s.count, s.memory_mb))
            })
            .collect()),
        StemCells::List(list) => list
            .iter()
            .map(|s| {
                let k = manifest
                    .resolve(&s.kind)
                    .with_context(|| format!("--stem-cells: unknown kind '{}'", s.kind))?;
                Ok((k.kind.clone(), s.count, s.memory_mb))
            })
            .collect(),
    }
}

/// The container factory of an invoker whose work files live in `work_dir`, its sandboxes on
/// `network`. `api_on_gateway`: actions reach the API on the action network's gateway (the API
/// server runs in this process and listens there too); otherwise at the invoker's `api_host`.
pub(crate) fn process_factory(
    invoker: &InvokerRoleConfig,
    manifest: &RuntimeManifest,
    work_dir: &Path,
    network: NetworkMode,
    api_on_gateway: bool,
) -> Result<ProcessFactory> {
    let isolation = match invoker.isolation {
        Isolation::None => whirl_runtime_process::Isolation::None,
        Isolation::Sandbox => whirl_runtime_process::Isolation::sandbox(None),
    };
    let mut cfg = ProcessFactoryConfig::new(work_dir, manifest.clone(), isolation);
    cfg.network = network;
    cfg.api_on_gateway = api_on_gateway;
    ProcessFactory::new(cfg).context("cannot prepare the runtime directory")
}

/// The action network (`action_network = egress` with sandbox isolation); `None` for loopback
/// only, or with plain processes (which share the host's network anyway). `api_port` is the
/// API's port actions call; `remote_api`, the addresses of a cluster's controllers, which
/// actions may reach on that port (TCP) only, whatever the lists say.
pub(crate) async fn start_action_network(
    invoker: &InvokerRoleConfig,
    api_port: u16,
    remote_api: Vec<ipnet::IpNet>,
) -> Result<Option<Arc<Egress>>> {
    if invoker.action_network == ActionNetwork::None || invoker.isolation == Isolation::None {
        return Ok(None);
    }
    let policy = EgressPolicy::new(invoker.egress_allow.clone(), invoker.egress_deny.clone())
        .with_remote_api(remote_api, api_port);
    let mut cfg = EgressConfig::new(policy, api_port);
    if let Some(r) = &invoker.resolv_conf {
        cfg.resolv_conf = r.clone();
    }
    let egress = Egress::start(cfg)
        .await
        .context("cannot set up the action network (action_network = egress)")?;
    Ok(Some(Arc::new(egress)))
}

/// The banner line about the action network.
pub(crate) fn print_action_network(egress: Option<&Egress>) {
    match egress {
        Some(e) => {
            let info = e.info();
            println!(
                "Action network: egress ({} slot {}), API host for actions: {}",
                info.mechanism,
                info.slot,
                e.api_host()
            );
        }
        None => println!("Action network: none"),
    }
}

/// Every sandbox is gone: remove the bridge and tables, restore the host settings.
pub(crate) async fn stop_action_network(egress: Option<Arc<Egress>>) {
    if let Some(e) = egress {
        let _ = tokio::task::spawn_blocking(move || e.stop()).await;
    }
}

/// The kinds a controller accepts: those the runtime manifest found on this machine.
pub(crate) fn runtimes_of(manifest: &RuntimeManifest) -> Runtimes {
    let kinds = manifest
        .kinds
        .iter()
        .filter(|k| k.kind != BLACKBOX)
        .map(|k| RuntimeKind {
            kind: k.kind.clone(),
            family: k.family.clone(),
            default: k.default,
            deprecated: false,
            require_main: false,
            // OpenWhisk accepts `family:default` but not a bare family name.
            aliases: k
                .aliases
                .iter()
                .filter(|a| a.contains(':'))
                .cloned()
                .collect(),
            details: Some(json!({
                "interpreter": k.interpreter,
                "version": k.version,
                "stemCells": k.stem_cells,
            })),
        })
        .collect();
    Runtimes { kinds }
}

/// Finish the activations `owner` accepted but never completed (a crash left their pending
/// markers).
pub(crate) async fn finish_interrupted(stores: &Stores, owner: &str) -> Result<()> {
    match whirl_invoker::finish_interrupted(stores, owner).await {
        Ok(0) => Ok(()),
        Ok(n) => {
            tracing::warn!(
                count = n,
                %owner,
                "recorded activations interrupted by the last stop"
            );
            Ok(())
        }
        Err(e) => Err(anyhow::anyhow!(
            "cannot recover interrupted activations: {e}"
        )),
    }
}

/// Resolves at SIGINT or SIGTERM.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
