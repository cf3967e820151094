//! `/namespaces` and `/namespaces/{ns}/limits`.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use crate::auth::Auth;
use crate::entities::require_owner;
use crate::error::ApiResult;
use crate::extract::NamespacePath;
use crate::AppState;

/// GET `/namespaces`: the caller's namespace.
pub async fn list(Auth(who): Auth) -> Json<Value> {
    Json(json!([who.namespace]))
}

/// GET `/namespaces/{ns}/limits`: the namespace's limits with system defaults filled in.
pub async fn limits(
    State(state): State<AppState>,
    Auth(who): Auth,
    path: NamespacePath,
) -> ApiResult<Json<Value>> {
    let ns = path.namespace.resolve(&who);
    require_owner(&who, &ns, &ns)?;
    let c = &state.inner.config;
    let d = &c.namespace_defaults;
    let r = &c.action_limits;
    let o = &who.limits;
    let mut v = json!({
        "invocationsPerMinute": o.invocations_per_minute(d),
        "concurrentInvocations": o.concurrent_invocations(d),
        "firesPerMinute": o.fires_per_minute(d),
        "minActionMemory": r.memory.min, "maxActionMemory": r.memory.max,
        "minActionLogs": r.logs.min, "maxActionLogs": r.logs.max,
        "minActionTimeout": r.timeout.min, "maxActionTimeout": r.timeout.max,
        "minActionConcurrency": r.concurrency.min, "maxActionConcurrency": r.concurrency.max,
        "maxParameterSize": format!("{} B", whirl_core::limits::MAX_PARAMETER_BYTES),
        "maxActionInstances": o.concurrent_invocations(d),
    });
    if let Some(kinds) = &o.allowed_kinds {
        v["allowedKinds"] = json!(kinds);
    }
    if let Some(store) = o.store_activations {
        v["storeActivations"] = json!(store);
    }
    Ok(Json(v))
}
