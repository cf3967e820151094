//! `/namespaces/{ns}/activations`: activation records (spec §1.7, §2.2).

use axum::extract::State;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};
use whirl_core::entity::{activation_api_json, activation_api_view, activation_summary};
use whirl_core::messages;
use whirl_core::names::validate_name;
use whirl_store::{ActivationQuery, ActivationRecord};

use super::count_json;
use crate::auth::Auth;
use crate::entities::require_owner;
use crate::error::{ApiError, ApiResult};
use crate::extract::{list_params, parse_bool, ActivationPath, NamespacePath, Query};
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
    path: NamespacePath,
    q: Query,
) -> ApiResult<Json<Value>> {
    let ns = path.namespace.resolve(&who);
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
        list.iter().map(|r| view(&doc_value(r))).collect(),
    )))
}

/// A stored record as a JSON tree (for the list forms; single records are answered from the
/// text).
fn doc_value(r: &ActivationRecord) -> Value {
    r.doc.parse().unwrap_or(Value::Null)
}

async fn load(
    state: &AppState,
    who: &crate::auth::Identity,
    path: &ActivationPath,
) -> ApiResult<ActivationRecord> {
    let ns = path.namespace.resolve(who);
    require_owner(who, &ns, &ns)?;
    state
        .inner
        .stores
        .activations
        .get(&ns, &path.id)
        .await?
        .ok_or_else(ApiError::not_found)
}

/// GET `…/activations/{id}`.
pub async fn get(
    State(state): State<AppState>,
    Auth(who): Auth,
    path: ActivationPath,
) -> ApiResult<axum::response::Response> {
    let r = load(&state, &who, &path).await?;
    let view = activation_api_json(r.doc.as_str()).map_err(|e| {
        tracing::error!(error = %e, activation_id = %r.activation_id, "unreadable activation record");
        ApiError::internal()
    })?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        view,
    )
        .into_response())
}

/// GET `…/activations/{id}/logs`.
pub async fn logs(
    State(state): State<AppState>,
    Auth(who): Auth,
    path: ActivationPath,
) -> ApiResult<Json<Value>> {
    let r = load(&state, &who, &path).await?;
    let doc = doc_value(&r);
    Ok(Json(
        json!({ "logs": doc.get("logs").cloned().unwrap_or_else(|| json!([])) }),
    ))
}

/// GET `…/activations/{id}/result`: the API-form `response`.
pub async fn result(
    State(state): State<AppState>,
    Auth(who): Auth,
    path: ActivationPath,
) -> ApiResult<Json<Value>> {
    let r = load(&state, &who, &path).await?;
    let api = activation_api_view(&doc_value(&r));
    Ok(Json(
        api.get("response").cloned().unwrap_or_else(|| json!({})),
    ))
}
