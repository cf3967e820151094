//! `/namespaces/{ns}/activations`: activation records (spec §1.7, §2.2).

use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Value};
use whirl_core::entity::{activation_api_view, activation_summary};
use whirl_core::ids::validate_activation_id;
use whirl_core::messages;
use whirl_core::names::validate_name;
use whirl_store::{ActivationQuery, ActivationRecord};

use super::count_json;
use crate::auth::Auth;
use crate::entities::require_owner;
use crate::error::{ApiError, ApiResult};
use crate::extract::{list_params, namespace_of, parse_bool, Query};
use crate::AppState;

fn epoch(v: &str) -> ApiResult<i64> {
    v.parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
        .ok_or_else(|| ApiError::bad_request(messages::bad_epoch(v)))
}

/// GET `…/activations?limit&skip&count&docs&name&since&upto`.
pub async fn list(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(ns): Path<String>,
    q: Query,
) -> ApiResult<Json<Value>> {
    let ns = namespace_of(&ns, &who)?;
    require_owner(&who, &ns, &ns)?;
    let p = list_params(&q.0, "activations")?;
    let docs = q.get("docs").is_some_and(parse_bool);
    if docs && p.count {
        return Err(ApiError::bad_request(messages::DOCS_NOT_ALLOWED_WITH_COUNT));
    }
    let entity_path = match q.get("name") {
        None | Some("") => None,
        Some(n) => {
            let parts: Vec<&str> = n.split('/').collect();
            let ok = matches!(parts.len(), 1 | 2) && parts.iter().all(|p| validate_name(p).is_ok());
            if !ok {
                return Err(ApiError::bad_request(messages::bad_name_filter(n)));
            }
            Some(format!("{ns}/{n}"))
        }
    };
    let query = ActivationQuery {
        namespace: ns,
        entity_path,
        since: q.get("since").map(epoch).transpose()?,
        upto: q.get("upto").map(epoch).transpose()?,
        skip: p.skip,
        limit: Some(p.limit),
    };
    let store = &state.inner.stores.activations;
    if p.count {
        return Ok(Json(count_json("activations", store.count(&query).await?)));
    }
    let list = store.list(&query).await?;
    let view = if docs {
        activation_api_view
    } else {
        activation_summary
    };
    Ok(Json(Value::Array(
        list.iter().map(|r| view(&r.doc)).collect(),
    )))
}

async fn load(
    state: &AppState,
    who: &crate::auth::Identity,
    ns: &str,
    id: &str,
) -> ApiResult<ActivationRecord> {
    let ns = namespace_of(ns, who)?;
    require_owner(who, &ns, &ns)?;
    validate_activation_id(id).map_err(ApiError::bad_request)?;
    state
        .inner
        .stores
        .activations
        .get(&ns, &id.to_ascii_lowercase())
        .await?
        .ok_or_else(ApiError::not_found)
}

/// GET `…/activations/{id}`.
pub async fn get(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path((ns, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let r = load(&state, &who, &ns, &id).await?;
    Ok(Json(activation_api_view(&r.doc)))
}

/// GET `…/activations/{id}/logs`.
pub async fn logs(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path((ns, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let r = load(&state, &who, &ns, &id).await?;
    Ok(Json(
        json!({ "logs": r.doc.get("logs").cloned().unwrap_or_else(|| json!([])) }),
    ))
}

/// GET `…/activations/{id}/result`: the API-form `response`.
pub async fn result(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path((ns, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let r = load(&state, &who, &ns, &id).await?;
    let api = activation_api_view(&r.doc);
    Ok(Json(
        api.get("response").cloned().unwrap_or_else(|| json!({})),
    ))
}
