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
    // Actions call the controllers at `api_host`: the policy lets them reach the controllers'
    // addresses on the API port only. Where the action network has a gateway (root) and the API
    // speaks plain HTTP, this invoker also relays the gateway's API port to the controllers, so
    // actions reach them even when they run on this host (whose addresses the policy refuses).
    let (api_port, api_addrs) = api_addresses(&api_host).await?;
    let plain_http = api_host.starts_with("http://");
    let egress = parts::start_action_network(&config.invoker, api_port, api_addrs.clone()).await?;
    let relay = match egress.as_ref().and_then(|e| e.api_listen()) {
        Some(gw) if plain_http => Some(relay_api(gw, api_addrs.clone(), api_port).await?),
        _ => None,
    };
    let network = match &egress {
        Some(e) => whirl_runtime_process::NetworkMode::Egress(e.clone()),
        None => whirl_runtime_process::NetworkMode::Loopback,
    };
    let factory = parts::process_factory(
        &config.invoker,
        &manifest,
        &work_dir,
        network,
        relay.is_some(),
    )?;
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
    parts::print_action_network(egress.as_deref());
    parts::shutdown_signal().await;
    // Running activations finish first (up to the longest an action may run), their records
    // and completions going out, so a rolling restart cuts nothing off.
    invoker.shutdown_after(DRAIN).await;
    if let Some(r) = relay {
        r.abort();
    }
    parts::stop_action_network(egress).await;
    if let Some(h) = health {
        h.abort();
    }
    bus.close().await;
    println!("Whirl {id} stopped.");
    Ok(())
}

/// Relays TCP connections from the action network's gateway (`gw`) to the first of the
/// controllers' `addrs` that accepts, on `port`: the actions' way to the API.
async fn relay_api(
    gw: std::net::SocketAddr,
    addrs: Vec<ipnet::IpNet>,
    port: u16,
) -> Result<tokio::task::JoinHandle<()>> {
    let listener = tokio::net::TcpListener::bind(gw)
        .await
        .with_context(|| format!("cannot listen on {gw} (the API host for actions)"))?;
    let targets: Arc<Vec<std::net::SocketAddr>> = Arc::new(
        addrs
            .iter()
            .map(|n| std::net::SocketAddr::new(n.addr(), port))
            .collect(),
    );
    Ok(tokio::spawn(async move {
        loop {
            let Ok((mut inbound, _)) = listener.accept().await else {
                // Out of descriptors, say: let the actions' connections drain first.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            };
            let targets = targets.clone();
            tokio::spawn(async move {
                for t in targets.iter() {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(t).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        return;
                    }
                }
                tracing::warn!("no controller answered on the API host for an action");
            });
        }
    }))
}

/// The port of the API URL `api_host` and the addresses its host name has now (as host-sized
/// networks for the egress policy).
async fn api_addresses(api_host: &str) -> Result<(u16, Vec<ipnet::IpNet>)> {
    let (https, rest) = match api_host.split_once("://") {
        Some((scheme, rest)) => (scheme == "https", rest),
        None => (false, api_host),
    };
    let authority = rest.split('/').next().unwrap_or(rest);
    let default_port = if https { 443 } else { 80 };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => match p.parse() {
            Ok(p) => (h, p),
            Err(_) => (authority, default_port),
        },
        _ => (authority, default_port),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let addrs = tokio::net::lookup_host((host, port))
        .await
        .with_context(|| format!("cannot resolve the host of api_host ({host})"))?
        .map(|a| ipnet::IpNet::from(a.ip()))
        .collect();
    Ok((port, addrs))
}

/// How long a stopping invoker waits for its running activations: OpenWhisk's longest action
/// time limit.
const DRAIN: Duration = Duration::from_secs(300);

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
