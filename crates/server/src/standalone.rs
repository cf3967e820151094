//! `whirl standalone`: the whole platform in one process. By default over the in-process bus
//! and the SQLite store in the data dir; given a cluster's `store_url` and `bus_url` it is a
//! controller and an invoker of that cluster in one process.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result};
use whirl_config::{InvokerRoleConfig, StandaloneConfig};
use whirl_core::keys::GUEST_KEY;
use whirl_runtime_process::{NetworkMode, RuntimeManifest};
use whirl_store::Stores;

use crate::parts::{self, Buses};
use crate::tokio_runtime;

/// Start logging, serve until SIGINT or SIGTERM, then stop cleanly.
pub fn run(config: StandaloneConfig) -> Result<()> {
    crate::init_tracing();
    tokio_runtime()?.block_on(serve(config))
}

/// Open the stores, bootstrap the well-known namespaces, start the action network, the invoker
/// and the controller, print the banner and serve until SIGINT or SIGTERM.
pub async fn serve(config: StandaloneConfig) -> Result<()> {
    let data_dir = &config.common.data_dir;
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create data dir {}", data_dir.display()))?;
    let stores = parts::open_stores(&config.common).await?;
    let manifest = parts::load_manifest(config.common.runtime_manifest.as_deref())?;
    if config.controller.bootstrap {
        parts::bootstrap(&stores, &manifest).await?;
    }
    let stem_cells = parts::stem_cells(&config.invoker.stem_cells, &manifest)?;
    let host = &config.controller.host;
    let port = config.controller.port;
    let listener = tokio::net::TcpListener::bind((host.as_str(), port))
        .await
        .with_context(|| format!("cannot listen on {host}:{port}"))?;
    let addr: SocketAddr = listener.local_addr()?;
    let api_host = format!("http://{addr}");
    let egress = parts::start_action_network(&config.invoker, addr.port(), Vec::new()).await?;
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
    let actions_api_host = config.invoker.api_host.clone().unwrap_or(api_host.clone());

    let (app, running) = wire(
        &config,
        stores,
        &manifest,
        stem_cells,
        &actions_api_host,
        network,
    )
    .await?;
    println!("Whirl standalone is running.");
    println!("API host: {api_host}");
    println!("Data dir: {}", data_dir.display());
    let kinds: Vec<&str> = manifest.kinds.iter().map(|k| k.kind.as_str()).collect();
    println!("Runtimes: {}", kinds.join(", "));
    parts::print_action_network(egress.as_deref());
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
        .with_graceful_shutdown(parts::shutdown_signal())
        .await;
    let _ = stop_tx.send(true);
    if let Some(g) = gateway {
        let _ = g.await;
    }
    running.shutdown().await;
    parts::stop_action_network(egress).await;
    served.context("server failed")?;
    println!("Whirl standalone stopped.");
    Ok(())
}

/// What must be stopped when the server stops.
#[derive(Debug)]
struct Running {
    invoker: whirl_invoker::Invoker,
    bus: Buses,
}

impl Running {
    async fn shutdown(self) {
        self.invoker.shutdown().await;
        self.bus.close().await;
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
    // On the in-process bus the config accepts only the ids 0 (see `StandaloneConfig`).
    let invoker_id = whirl_bus::InvokerId(config.invoker.invoker_id.unwrap_or(0));
    let controller_id = whirl_bus::ControllerId(config.controller.controller_id.unwrap_or(0));
    let bus = Buses::open(&config.common).await?;
    // This process is an invoker and a controller: it finishes both owners' interrupted
    // activations. (On a cluster's bus, what its invoker left is redelivered instead.)
    if !bus.shared() {
        parts::finish_interrupted(&stores, &invoker_id.to_string()).await?;
    }
    parts::finish_interrupted(&stores, &controller_id.to_string()).await?;
    let factory = parts::process_factory(
        &config.invoker,
        manifest,
        &config.common.data_dir.join("runtime"),
        network,
        true,
    )?;
    let InvokerRoleConfig {
        user_memory_mb,
        pause_grace,
        idle_timeout,
        ..
    } = config.invoker;
    let controller_config = whirl_controller::ControllerConfig {
        controller_id,
        api_host: api_host.to_string(),
        runtimes: parts::runtimes_of(manifest),
        controllers: config.controller.controllers,
        ..whirl_controller::ControllerConfig::default()
    };
    let balancer: Arc<dyn whirl_controller::balancer::LoadBalancer> = if bus.shared() {
        Arc::new(whirl_controller::balancer::Sharding::new(
            config.controller.controllers,
        ))
    } else {
        Arc::new(whirl_controller::balancer::SingleInvoker::new(
            invoker_id,
            user_memory_mb,
        ))
    };
    let state =
        whirl_controller::AppState::start(stores.clone(), controller_config, bus.bus(), balancer)
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
        bus.bus().as_ref(),
    )
    .await?;
    Ok((whirl_controller::app(state), Running { invoker, bus }))
}
