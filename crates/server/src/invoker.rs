//! `whirl invoker`: one invoker of a cluster. It consumes the activations the controllers place
//! on it from its NATS stream, runs them in sandboxed containers, stores their records in the
//! shared PostgreSQL store and pings the controllers. Optionally it answers `GET /ping` and
//! `GET /health` on `health_port` (for an orchestrator's probes).

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use whirl_bus::Bus;
use whirl_config::InvokerConfig;
use whirl_store::Stores;

use crate::parts::{self, Buses};
use crate::tokio_runtime;

/// Start logging, serve until SIGINT or SIGTERM, then stop cleanly.
pub fn run(config: InvokerConfig) -> Result<()> {
    crate::init_tracing();
    tokio_runtime()?.block_on(serve(config))
}

pub async fn serve(config: InvokerConfig) -> Result<()> {
    let id = whirl_bus::InvokerId(config.invoker.invoker_id.unwrap_or(0));
    let api_host = config
        .invoker
        .api_host
        .clone()
        .context("whirl invoker needs api_host")?;
    let stores = parts::open_stores(&config.common).await?;
    let manifest = parts::load_manifest(config.common.runtime_manifest.as_deref())?;
    let stem_cells = parts::stem_cells(&config.invoker.stem_cells, &manifest)?;
    // Several invokers on one host keep their work files apart.
    let work_dir = config.common.data_dir.join(format!("{id}")).join("runtime");
    let factory = parts::process_factory(&config.invoker, &manifest, &work_dir)?;
    let bus = Buses::open(&config.common).await?;
    let health = match config.invoker.health_port {
        Some(port) => {
            let listener = tokio::net::TcpListener::bind(("0.0.0.0", port))
                .await
                .with_context(|| format!("cannot listen on health_port {port}"))?;
            // The port it got (health_port 0 picks a free one).
            println!("Health port: {}", listener.local_addr()?.port());
            let app = Router::new()
                .route("/ping", get(|| async { Json(json!({"ping": "pong"})) }))
                .route("/health", get(healthy))
                .with_state((stores.clone(), bus.bus()));
            Some(tokio::spawn(async move {
                let _ = axum::serve(listener, app).await;
            }))
        }
        None => None,
    };
    let invoker = whirl_invoker::Invoker::start(
        whirl_invoker::InvokerConfig {
            id,
            user_memory_mb: config.invoker.user_memory_mb,
            pause_grace: config.invoker.pause_grace,
            idle_timeout: config.invoker.idle_timeout,
            stem_cells,
            api_host,
        },
        stores,
        Arc::new(factory),
        bus.bus().as_ref(),
    )
    .await?;
    println!("Whirl {id} is running.");
    parts::shutdown_signal().await;
    invoker.shutdown().await;
    if let Some(h) = health {
        h.abort();
    }
    bus.close().await;
    println!("Whirl {id} stopped.");
    Ok(())
}

/// 200 when the store answers and the bus is connected, else 503.
async fn healthy(
    State((stores, bus)): State<(Stores, Arc<dyn Bus>)>,
) -> (StatusCode, Json<serde_json::Value>) {
    let store = matches!(
        tokio::time::timeout(
            Duration::from_secs(2),
            stores.auth.namespace("whisk.system")
        )
        .await,
        Ok(Ok(_))
    );
    let connected = bus.connected();
    let status = if store && connected {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(json!({"store": store, "bus": connected})))
}
