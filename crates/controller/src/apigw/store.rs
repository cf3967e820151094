//! Durable storage of a namespace's APIs: one document per (namespace, base path) in the entity
//! store, in a reserved id space (`{ns}/.apigw/{hex(basePath)}`, kind trigger, path `{ns}/.apigw`).
//! `.apigw` is not a valid entity name, so no real entity can collide with these documents, and
//! the trigger list (path = namespace exactly) never shows them.

use std::sync::Arc;

use serde_json::{json, Value};
use whirl_store::{EntityKind, EntityQuery, NewEntity, Scope, StoreError};

use crate::error::ApiError;
use crate::AppState;

const SPACE: &str = ".apigw";

/// One stored API.
#[derive(Debug, Clone)]
pub struct StoredApi {
    pub id: String,
    pub rev: u64,
    pub base_path: String,
    pub swagger: Value,
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

fn space(ns: &str) -> String {
    format!("{ns}/{SPACE}")
}

/// The document id of the API at `base_path` in `ns`.
pub fn doc_id(ns: &str, base_path: &str) -> String {
    format!("{}/{}", space(ns), hex(base_path))
}

/// Every API of `ns`, as the gateway routes by them: parsed once and kept until one of the
/// namespace's APIs changes (on any controller).
pub async fn routing(state: &AppState, ns: &str) -> Result<Arc<Vec<StoredApi>>, ApiError> {
    let path = space(ns);
    let cache = &state.inner.caches.derived;
    if let Some(apis) = cache.get::<Vec<StoredApi>>(&path) {
        return Ok(apis);
    }
    let generation = cache.generation();
    let apis = Arc::new(list(state, ns).await?);
    cache.insert(&path, apis.clone(), generation);
    Ok(apis)
}

/// Every API of `ns`.
pub async fn list(state: &AppState, ns: &str) -> Result<Vec<StoredApi>, ApiError> {
    let query = EntityQuery {
        kind: EntityKind::Trigger,
        scope: Scope::Path(space(ns)),
        skip: 0,
        limit: None,
    };
    let docs = state.stores().entities.list(&query).await?;
    let mut apis: Vec<StoredApi> = docs
        .into_iter()
        .filter_map(|d| {
            let base_path = d.doc.get("basePath")?.as_str()?.to_string();
            let swagger = d.doc.get("swagger")?.clone();
            Some(StoredApi {
                id: d.id,
                rev: d.rev,
                base_path,
                swagger,
            })
        })
        .collect();
    apis.sort_by(|a, b| a.base_path.cmp(&b.base_path));
    Ok(apis)
}

/// The API at `base_path`, if any.
pub async fn get(
    state: &AppState,
    ns: &str,
    base_path: &str,
) -> Result<Option<StoredApi>, ApiError> {
    let id = doc_id(ns, base_path);
    let Some(d) = state.stores().entities.get(&id, false).await? else {
        return Ok(None);
    };
    Ok(d.doc.get("swagger").map(|s| StoredApi {
        id: d.id.clone(),
        rev: d.rev,
        base_path: base_path.to_string(),
        swagger: s.clone(),
    }))
}

/// Write the API (create when `rev` is `None`). A concurrent writer makes this a conflict.
pub async fn put(
    state: &AppState,
    ns: &str,
    base_path: &str,
    swagger: &Value,
    rev: Option<u64>,
) -> Result<(), StoreError> {
    let name = hex(base_path);
    let entity = NewEntity {
        id: doc_id(ns, base_path),
        kind: EntityKind::Trigger,
        path: space(ns),
        name,
        updated: now_ms(),
        doc: json!({"namespace": ns, "basePath": base_path, "swagger": swagger}),
        code: None,
    };
    state.stores().entities.put(entity, rev).await.map(|_| ())
}

/// Delete a stored API.
pub async fn delete(state: &AppState, api: &StoredApi) -> Result<(), StoreError> {
    state.stores().entities.delete(&api.id, api.rev).await
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
