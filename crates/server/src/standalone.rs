//! `whirl standalone`: the whole platform in one process.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use serde_json::json;
use whirl_config::{ActionNetwork, InvokerRoleConfig, Isolation, StandaloneConfig, StemCells};
use whirl_core::keys::GUEST_KEY;
use whirl_core::runtimes::{RuntimeKind, Runtimes, BLACKBOX};
use whirl_netpolicy::{Egress, EgressConfig, EgressPolicy};
use whirl_runtime_process::{NetworkMode, RuntimeManifest};
use whirl_store::Stores;

use crate::{bootstrap, catalog, open_stores, tokio_runtime};

/// Start logging, serve until SIGINT or SIGTERM, then stop cleanly.
pub fn run(config: StandaloneConfig) -> Result<()> {
    crate::init_tracing();
    tokio_runtime()?.block_on(serve(config))
}

/// Open the stores, bootstrap the well-known namespaces, start the invoker and the controller,
/// print the banner and serve until SIGINT or SIGTERM.
pub async fn serve(config: StandaloneConfig) -> Result<()> {
    let data_dir = &config.common.data_dir;
    let stores = open_stores(data_dir)?;
    bootstrap::well_known_namespaces(stores.auth.as_ref()).await?;
    let manifest = load_manifest(config.common.runtime_manifest.as_deref())?;
    let stem_cells = stem_cells(&config.invoker.stem_cells, &manifest)?;
    let node_kind = manifest
        .kinds
        .iter()
        .find(|k| k.family == "nodejs" && k.default)
        .map(|k| k.kind.clone());
    catalog::install(&stores, node_kind.as_deref()).await?;
    let host = &config.controller.host;
    let port = config.controller.port;
    let listener = tokio::net::TcpListener::bind((host.as_str(), port))
        .await
        .with_context(|| format!("cannot listen on {host}:{port}"))?;
    let addr: SocketAddr = listener.local_addr()?;
    let api_host = format!("http://{addr}");
    let egress = start_action_network(&config, addr).await?;
    // Sandboxes reach the API on the gateway (unless the API already listens everywhere).
    let gateway_listener = match egress.as_ref().and_then(|e| e.api_listen()) {
        Some(gw) if !addr.ip().is_unspecified() => Some(
            tokio::net::TcpListener::bind(gw)
                .await
                .with_context(|| format!("cannot listen on {gw} (the API host for actions)"))?,
        ),
        _ => None,
    };
    let network = match &egress {
        Some(e) => NetworkMode::Egress(e.clone()),
        None => NetworkMode::Loopback,
    };

    let (app, running) = wire(&config, stores, &manifest, stem_cells, &api_host, network).await?;
    println!("Whirl standalone is running.");
    println!("API host: {api_host}");
    println!("Data dir: {}", data_dir.display());
    let kinds: Vec<&str> = manifest.kinds.iter().map(|k| k.kind.as_str()).collect();
    println!("Runtimes: {}", kinds.join(", "));
    match &egress {
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
    println!("Guest key: {GUEST_KEY}");
    println!("Configure wsk (or use `whirl` as the client):");
    println!("  wsk property set --apihost {api_host} --auth {GUEST_KEY}");
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let gateway = gateway_listener.map(|l| {
        let app = app.clone();
        tokio::spawn(async move {
            axum::serve(l, app)
                .with_graceful_shutdown(async move {
                    let _ = stop_rx.changed().await;
                })
                .await
        })
    });
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await;
    let _ = stop_tx.send(true);
    if let Some(g) = gateway {
        let _ = g.await;
    }
    running.shutdown().await;
    if let Some(e) = egress {
        // Every sandbox is gone: remove the bridge and tables, restore the host settings.
        let _ = tokio::task::spawn_blocking(move || e.stop()).await;
    }
    served.context("server failed")?;
    println!("Whirl standalone stopped.");
    Ok(())
}

/// The action network (`action_network = egress` with sandbox isolation); `None` for loopback
/// only, or with plain processes (which share the host's network anyway).
async fn start_action_network(
    config: &StandaloneConfig,
    api: SocketAddr,
) -> Result<Option<Arc<Egress>>> {
    let inv = &config.invoker;
    if inv.action_network == ActionNetwork::None || inv.isolation == Isolation::None {
        return Ok(None);
    }
    let mut cfg = EgressConfig::new(
        EgressPolicy::new(inv.egress_allow.clone(), inv.egress_deny.clone()),
        api.port(),
    );
    if let Some(r) = &inv.resolv_conf {
        cfg.resolv_conf = r.clone();
    }
    let egress = Egress::start(cfg)
        .await
        .context("cannot set up the action network (action_network = egress)")?;
    Ok(Some(Arc::new(egress)))
}

/// What must be stopped when the server stops.
#[derive(Debug)]
struct Running {
    invoker: whirl_invoker::Invoker,
    bus: Arc<whirl_bus::InProcessBus>,
}

impl Running {
    async fn shutdown(self) {
        self.invoker.shutdown().await;
        self.bus.close();
    }
}

/// The one place the roles are wired together: crash recovery, the container factory, the bus,
/// the invoker and the controller. Returns the controller's app and what to stop at the end.
async fn wire(
    config: &StandaloneConfig,
    stores: Stores,
    manifest: &RuntimeManifest,
    stem_cells: Vec<(String, u32, u32)>,
    api_host: &str,
    network: NetworkMode,
) -> Result<(axum::Router, Running)> {
    // The config accepts no other ids for standalone (see `StandaloneConfig`).
    let invoker_id = whirl_bus::InvokerId(config.invoker.invoker_id.unwrap_or(0));
    let controller_id = whirl_bus::ControllerId(config.controller.controller_id.unwrap_or(0));
    // This process is the one invoker and the one controller: it finishes both owners'
    // interrupted activations.
    for owner in [invoker_id.to_string(), controller_id.to_string()] {
        match whirl_invoker::finish_interrupted(&stores, &owner).await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(
                count = n,
                %owner,
                "recorded activations interrupted by the last stop"
            ),
            Err(e) => {
                return Err(anyhow::anyhow!(
                    "cannot recover interrupted activations: {e}"
                ))
            }
        }
    }
    let isolation = match config.invoker.isolation {
        Isolation::None => whirl_runtime_process::Isolation::None,
        Isolation::Sandbox => whirl_runtime_process::Isolation::sandbox(None),
    };
    let mut factory_config = whirl_runtime_process::ProcessFactoryConfig::new(
        config.common.data_dir.join("runtime"),
        manifest.clone(),
        isolation,
    );
    factory_config.network = network;
    let factory = whirl_runtime_process::ProcessFactory::new(factory_config)
        .context("cannot prepare the runtime directory")?;
    let bus = Arc::new(whirl_bus::InProcessBus::new());
    let InvokerRoleConfig {
        user_memory_mb,
        pause_grace,
        idle_timeout,
        ..
    } = config.invoker;
    let controller_config = whirl_controller::ControllerConfig {
        controller_id,
        api_host: api_host.to_string(),
        runtimes: runtimes_of(manifest),
        ..whirl_controller::ControllerConfig::default()
    };
    let balancer = Arc::new(whirl_controller::balancer::SingleInvoker::new(
        invoker_id,
        user_memory_mb,
    ));
    let state =
        whirl_controller::AppState::start(stores.clone(), controller_config, bus.clone(), balancer)
            .await?;
    let invoker = whirl_invoker::Invoker::start(
        whirl_invoker::InvokerConfig {
            id: invoker_id,
            user_memory_mb,
            pause_grace,
            idle_timeout,
            stem_cells,
            api_host: api_host.to_string(),
        },
        stores,
        Arc::new(factory),
        bus.as_ref(),
    )
    .await?;
    Ok((whirl_controller::app(state), Running { invoker, bus }))
}

/// The runtime manifest: the given file's, or the one detected on this machine.
fn load_manifest(path: Option<&Path>) -> Result<RuntimeManifest> {
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
fn stem_cells(spec: &StemCells, manifest: &RuntimeManifest) -> Result<Vec<(String, u32, u32)>> {
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

/// The kinds the controller accepts: those the runtime manifest found on this machine.
fn runtimes_of(manifest: &RuntimeManifest) -> Runtimes {
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

async fn shutdown_signal() {
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
