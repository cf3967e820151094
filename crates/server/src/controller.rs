//! `whirl controller`: the REST API of a cluster. It shares the PostgreSQL store and the NATS
//! bus with the other controllers and the invokers, places activations on the invokers with
//! OpenWhisk's sharding balancer and watches their health.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result};
use whirl_config::ControllerConfig;

use crate::parts::{self, Buses};
use crate::tokio_runtime;

/// Start logging, serve until SIGINT or SIGTERM, then stop cleanly.
pub fn run(config: ControllerConfig) -> Result<()> {
    crate::init_tracing();
    tokio_runtime()?.block_on(serve(config))
}

pub async fn serve(config: ControllerConfig) -> Result<()> {
    let id = whirl_bus::ControllerId(config.controller.controller_id.unwrap_or(0));
    let stores = parts::open_stores(&config.common).await?;
    let manifest = parts::load_manifest(config.common.runtime_manifest.as_deref())?;
    if config.controller.bootstrap {
        parts::bootstrap(&stores, &manifest).await?;
    }
    // The compositions this controller ran when it stopped.
    parts::finish_interrupted(&stores, &id.to_string()).await?;
    let bus = Buses::open(&config.common).await?;
    let host = &config.controller.host;
    let port = config.controller.port;
    let listener = tokio::net::TcpListener::bind((host.as_str(), port))
        .await
        .with_context(|| format!("cannot listen on {host}:{port}"))?;
    let addr: SocketAddr = listener.local_addr()?;
    let controller_config = whirl_controller::ControllerConfig {
        controller_id: id,
        api_host: format!("http://{addr}"),
        runtimes: parts::runtimes_of(&manifest),
        controllers: config.controller.controllers,
        ..whirl_controller::ControllerConfig::default()
    };
    let balancer = Arc::new(whirl_controller::balancer::Sharding::new(
        config.controller.controllers,
    ));
    let state =
        whirl_controller::AppState::start(stores, controller_config, bus.bus(), balancer).await?;
    println!("Whirl controller {} is running.", id.0);
    println!("API host: http://{addr}");
    let served = axum::serve(listener, whirl_controller::app(state))
        .with_graceful_shutdown(parts::shutdown_signal())
        .await;
    bus.close().await;
    served.context("server failed")?;
    println!("Whirl controller {} stopped.", id.0);
    Ok(())
}
