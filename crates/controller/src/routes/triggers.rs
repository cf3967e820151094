//! `/namespaces/{ns}/triggers`: trigger CRUD (spec §1.5). Firing is in `fire`.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};
use whirl_core::entity::{kv_get, TriggerPut, WhiskTrigger};
use whirl_core::names::FullyQualifiedName;
use whirl_core::{messages, now_millis};
use whirl_store::{EntityKind, Scope};

use super::{check_kv_sizes, list_page, next_version};
use crate::auth::Auth;
use crate::entities::{self, load, require_owner, Loaded};
use crate::error::{ApiError, ApiResult};
use crate::extract::{EntityPath, JsonBody, NamespacePath, Query};
use crate::AppState;

/// GET `…/triggers`.
pub async fn list(
    State(state): State<AppState>,
    Auth(who): Auth,
    path: NamespacePath,
    q: Query,
) -> ApiResult<Json<Value>> {
    let ns = path.namespace.resolve(&who);
    require_owner(&who, &ns, &ns)?;
    list_page(&state, EntityKind::Trigger, Scope::Path(ns), &q.0, |d| {
        json!({"namespace": d["namespace"], "name": d["name"], "version": d["version"],
               "publish": d["publish"], "annotations": d["annotations"], "updated": d["updated"]})
    })
    .await
}

async fn load_trigger(
    state: &AppState,
    fqn: &FullyQualifiedName,
) -> ApiResult<Loaded<WhiskTrigger>> {
    load(state, EntityKind::Trigger, &fqn.doc_id(), false)
        .await?
        .ok_or_else(ApiError::not_found)
}

fn addressed(who: &crate::auth::Identity, path: EntityPath) -> ApiResult<FullyQualifiedName> {
    let ns = path.namespace.resolve(who);
    let fqn = FullyQualifiedName::new(ns.clone(), None, path.name);
    require_owner(who, &ns, &fqn.doc_id())?;
    Ok(fqn)
}

/// GET `…/triggers/{name}`.
pub async fn get(
    State(state): State<AppState>,
    Auth(who): Auth,
    path: EntityPath,
) -> ApiResult<Json<Value>> {
    let fqn = addressed(&who, path)?;
    let t = load_trigger(&state, &fqn).await?;
    Ok(Json(
        serde_json::to_value(t.entity).map_err(|_| ApiError::internal())?,
    ))
}

/// DELETE `…/triggers/{name}` (rules stay, orphaned; they report `inactive`).
pub async fn delete(
    State(state): State<AppState>,
    Auth(who): Auth,
    path: EntityPath,
) -> ApiResult<Json<Value>> {
    let fqn = addressed(&who, path)?;
    let t = load_trigger(&state, &fqn).await?;
    state
        .inner
        .stores
        .entities
        .delete(&fqn.doc_id(), t.rev)
        .await?;
    Ok(Json(
        serde_json::to_value(t.entity).map_err(|_| ApiError::internal())?,
    ))
}

/// PUT `…/triggers/{name}?overwrite=`.
pub async fn put(
    State(state): State<AppState>,
    Auth(who): Auth,
    path: EntityPath,
    q: Query,
    JsonBody(body): JsonBody<TriggerPut>,
) -> ApiResult<Json<Value>> {
    let fqn = addressed(&who, path)?;
    check_kv_sizes(body.parameters.as_ref(), body.annotations.as_ref())?;
    if let Some(feed) = body.annotations.as_ref().and_then(|a| kv_get(a, "feed")) {
        let valid = feed
            .as_str()
            .is_some_and(|f| FullyQualifiedName::parse(f, &who.namespace).is_ok());
        if !valid {
            return Err(ApiError::bad_request(messages::FEED_NAME_INVALID));
        }
    }
    let existing: Option<Loaded<WhiskTrigger>> =
        load(&state, EntityKind::Trigger, &fqn.doc_id(), false).await?;
    if existing.is_some() && !q.flag("overwrite") {
        return Err(ApiError::conflict(messages::RESOURCE_EXISTS));
    }
    let now = now_millis();
    let limits = body.limits.map_or_else(|| json!({}), Value::Object);
    let (t, rev) = match existing {
        None => (
            WhiskTrigger {
                namespace: fqn.namespace.clone(),
                name: fqn.name.clone(),
                version: next_version(body.version.as_deref(), None)?,
                publish: body.publish.unwrap_or(false),
                annotations: body.annotations.unwrap_or_default(),
                parameters: body.parameters.unwrap_or_default(),
                limits,
                rules: None,
                updated: now,
            },
            None,
        ),
        Some(old) => (
            WhiskTrigger {
                version: next_version(body.version.as_deref(), Some(&old.entity.version))?,
                publish: body.publish.unwrap_or(old.entity.publish),
                annotations: body
                    .annotations
                    .unwrap_or_else(|| old.entity.annotations.clone()),
                parameters: body
                    .parameters
                    .unwrap_or_else(|| old.entity.parameters.clone()),
                updated: now,
                ..old.entity
            },
            Some(old.rev),
        ),
    };
    entities::save(&state, EntityKind::Trigger, &fqn, now, &t, None, rev).await?;
    Ok(Json(
        serde_json::to_value(t).map_err(|_| ApiError::internal())?,
    ))
}
