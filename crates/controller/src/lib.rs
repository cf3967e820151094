//! The Whirl controller: OpenWhisk's REST API (`/api/v1/...`) over the stores.
//!
//! One module per REST collection under [`routes`]; authentication in [`auth`]; the error shape in
//! [`error`]; request parsing helpers in [`extract`]; entity resolution (packages, bindings,
//! entitlement) in [`entities`].

use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use whirl_bus::{Bus, BusError, ControllerId};
use whirl_core::limits::{ActionLimitRanges, NamespaceDefaults};
use whirl_core::runtimes::Runtimes;
use whirl_store::Stores;

pub mod activation;
pub mod apigw;
pub mod auth;
pub mod balancer;
pub mod compositions;
pub mod domain;
pub mod entities;
pub mod entity_cache;
pub mod error;
pub mod extract;
pub mod feeds;
pub mod invocation;
pub mod openapi;
pub mod routes;
mod supervision;
pub mod throttle;
pub mod web;

/// Controller configuration (defaults equal OpenWhisk's where OpenWhisk has one).
#[derive(Debug, Clone)]
pub struct ControllerConfig {
    /// This controller's id: completions of the activations it issues come back to it.
    pub controller_id: ControllerId,
    /// The externally visible API host (`http://127.0.0.1:3233`), given to actions as `__OW_API_HOST`.
    pub api_host: String,
    pub action_limits: ActionLimitRanges,
    pub namespace_defaults: NamespaceDefaults,
    pub runtimes: Runtimes,
    /// Build identifier shown by `GET /api/v1`.
    pub build: String,
    /// How many controllers serve the cluster (they share the namespace throttles).
    pub controllers: u32,
}

impl Default for ControllerConfig {
    fn default() -> Self {
        Self {
            controller_id: ControllerId(0),
            api_host: "http://127.0.0.1:3233".into(),
            action_limits: ActionLimitRanges::default(),
            namespace_defaults: NamespaceDefaults::default(),
            runtimes: Runtimes::default(),
            build: env!("CARGO_PKG_VERSION").into(),
            controllers: 1,
        }
    }
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) stores: Stores,
    pub(crate) config: ControllerConfig,
    pub(crate) identities: auth::IdentityCache,
    pub(crate) activations: invocation::Activations,
    pub(crate) caches: Arc<entity_cache::Caches>,
    pub(crate) alarms: feeds::Alarms,
    /// For its connection state (supervision).
    pub(crate) bus: Arc<dyn Bus>,
}

/// Shared state of all handlers.
#[derive(Debug, Clone)]
pub struct AppState {
    pub(crate) inner: Arc<Inner>,
}

impl AppState {
    /// A controller on `bus`: it publishes activations to the invokers `balancer` picks, and
    /// consumes its completions, the invokers' pings and the cache invalidations in tasks.
    pub async fn start(
        stores: Stores,
        config: ControllerConfig,
        bus: Arc<dyn Bus>,
        balancer: Arc<dyn balancer::LoadBalancer>,
    ) -> Result<Self, BusError> {
        let id = config.controller_id;
        let completions = bus.completions(id).await?;
        let pings = bus.pings().await?;
        let invalidations = bus.invalidations().await?;
        let (entities, caches) =
            entity_cache::coherent(stores.entities, id, bus.invalidation_publisher());
        let stores = Stores { entities, ..stores };
        let controllers = config.controllers;
        let state = Self {
            inner: Arc::new(Inner {
                stores,
                config,
                identities: auth::IdentityCache::default(),
                activations: invocation::Activations::new(id, bus.activation_publisher(), balancer)
                    .with_controllers(controllers),
                caches: caches.clone(),
                alarms: feeds::Alarms::default(),
                bus: bus.clone(),
            }),
        };
        tokio::spawn(invocation::completion_loop(state.clone(), completions));
        tokio::spawn(invocation::ping_loop(state.clone(), pings));
        tokio::spawn(entity_cache::invalidation_loop(caches, id, invalidations));
        tokio::spawn(feeds::scheduler::run(state.clone()));
        tokio::spawn(supervision::run(state.clone()));
        Ok(state)
    }

    pub fn config(&self) -> &ControllerConfig {
        &self.inner.config
    }

    pub fn stores(&self) -> &Stores {
        &self.inner.stores
    }
}

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    let web = web::router(state.clone());
    let gateway = state.clone();
    let api = routes::api_router();
    let routes = Router::new()
        .route("/", get(routes::info::root))
        .route("/ping", get(routes::info::ping))
        .route("/invokers", get(routes::info::invokers))
        .route("/invokers/healthy/count", get(routes::info::healthy_count))
        .route("/api/v1/", get(routes::info::api_info))
        .nest("/api/v1", api)
        .fallback(error::not_found)
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(state);
    // The transaction layer wraps the whole router (not each route) so that it also sees what
    // routing adds afterwards, such as the `Allow` header of a 405.
    Router::new()
        .fallback_service(routes)
        .layer(axum::middleware::from_fn(error::transaction_layer))
        .merge(web)
        .layer(axum::middleware::from_fn_with_state(gateway, apigw::layer))
        .layer(axum::middleware::from_fn(error::request_line_limit))
}
