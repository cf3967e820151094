//! Unauthenticated information routes: `GET /`, `GET /ping`, `GET /invokers`,
//! `GET /invokers/healthy/count`, `GET /api/v1`, `GET /api/v1/api-docs`.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};
use whirl_core::limits::MB;

use crate::AppState;

/// GET `/`: platform description, limits (bytes and ms) and the runtimes.
pub async fn root(State(state): State<AppState>) -> Json<Value> {
    let c = &state.inner.config;
    let d = &c.namespace_defaults;
    let r = &c.action_limits;
    Json(json!({
        "description": "OpenWhisk",
        "support": {
            "github": "https://github.com/apache/openwhisk/issues",
            "slack": "http://slack.openwhisk.org"
        },
        "api_paths": ["/api/v1"],
        "limits": {
            "actions_per_minute": d.invocations_per_minute,
            "triggers_per_minute": d.fires_per_minute,
            "concurrent_actions": d.concurrent_invocations,
            "sequence_length": d.sequence_max_length,
            "min_action_duration": r.timeout.min,
            "max_action_duration": r.timeout.max,
            "default_action_duration": r.timeout.std,
            "min_action_memory": r.memory.min * MB,
            "max_action_memory": r.memory.max * MB,
            "default_action_memory": r.memory.std * MB,
            "min_action_logs": r.logs.min * MB,
            "max_action_logs": r.logs.max * MB,
            "default_action_logs": r.logs.std * MB,
            "min_action_concurrency": r.concurrency.min,
            "max_action_concurrency": r.concurrency.max,
        },
        "runtimes": c.runtimes.info_json(),
    }))
}

/// GET `/ping`.
pub async fn ping() -> &'static str {
    "pong"
}

/// GET `/invokers`: every invoker this controller knows with its state, as OpenWhisk shows
/// them (`{"invoker0/0": "up", "invoker1/1": "down"}`).
pub async fn invokers(State(state): State<AppState>) -> Json<Value> {
    let map: serde_json::Map<String, Value> = state
        .inner
        .activations
        .balancer
        .invokers()
        .into_iter()
        .map(|(id, s)| (format!("invoker{0}/{0}", id.0), json!(s.as_str())))
        .collect();
    Json(Value::Object(map))
}

/// GET `/invokers/healthy/count`: how many invokers take activations.
pub async fn healthy_count(State(state): State<AppState>) -> Json<Value> {
    let n = state
        .inner
        .activations
        .balancer
        .invokers()
        .into_iter()
        .filter(|(_, s)| *s == crate::balancer::InvokerState::Up)
        .count();
    Json(json!(n))
}

/// GET `/api/v1`.
pub async fn api_info(State(state): State<AppState>) -> Json<Value> {
    Json(json!({
        "description": "OpenWhisk API",
        "api_version": "1.0.0",
        "api_version_path": "v1",
        "build": state.inner.config.build,
        "buildno": state.inner.config.build,
        "swagger_paths": {"ui": "/docs", "api-docs": "/api-docs"},
    }))
}

/// GET `/api/v1/api-docs`: the OpenAPI description of this server's routes.
pub async fn api_docs() -> Json<Value> {
    Json(crate::openapi::document())
}
