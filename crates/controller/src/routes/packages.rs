//! `/namespaces/{ns}/packages`: packages and bindings (spec §1.4).

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};
use whirl_core::entity::{kv_get, kv_set, PackagePut, WhiskPackage};
use whirl_core::names::{FullyQualifiedName, DEFAULT_NAMESPACE};
use whirl_core::{messages, now_millis};
use whirl_store::{EntityKind, EntityQuery, Scope};

use super::{check_kv_sizes, count_json, next_version};
use crate::auth::Auth;
use crate::entities::{self, load, owns, require_owner, resolve_package, Loaded};
use crate::error::{ApiError, ApiResult};
use crate::extract::{list_params, EntityPath, JsonBody, NamespacePath, Query};
use crate::AppState;

fn summary(d: &Value) -> Value {
    let binding = match d.get("binding") {
        Some(Value::Object(m)) if !m.is_empty() => Value::Object(m.clone()),
        _ => json!(false),
    };
    json!({
        "namespace": d["namespace"], "name": d["name"], "version": d["version"],
        "publish": d["publish"], "annotations": d["annotations"], "binding": binding,
        "updated": d["updated"],
    })
}

/// GET `…/packages`: all of the caller's packages, or another namespace's public packages.
pub async fn list(
    State(state): State<AppState>,
    Auth(who): Auth,
    path: NamespacePath,
    q: Query,
) -> ApiResult<Json<Value>> {
    let ns = path.namespace.resolve(&who);
    let p = list_params(&q.0, "packages")?;
    let store = &state.inner.stores.entities;
    let scope = Scope::Path(ns.clone());
    if owns(&who, &ns) {
        if p.count {
            return Ok(Json(count_json(
                "packages",
                store.count(EntityKind::Package, &scope).await?,
            )));
        }
        let q = EntityQuery {
            kind: EntityKind::Package,
            scope,
            skip: p.skip,
            limit: Some(p.limit),
        };
        let list = store.list(&q).await?;
        return Ok(Json(Value::Array(
            list.iter().map(|e| summary(&e.doc)).collect(),
        )));
    }
    // Another namespace: public, non-binding packages only (filtered after reading).
    let q = EntityQuery {
        kind: EntityKind::Package,
        scope,
        skip: 0,
        limit: None,
    };
    let public: Vec<Value> = store
        .list(&q)
        .await?
        .into_iter()
        .filter(|e| {
            e.doc["publish"] == json!(true)
                && e.doc
                    .get("binding")
                    .and_then(Value::as_object)
                    .is_none_or(|m| m.is_empty())
        })
        .map(|e| summary(&e.doc))
        .collect();
    if p.count {
        return Ok(Json(count_json("packages", public.len() as u64)));
    }
    let page = public
        .into_iter()
        .skip(p.skip as usize)
        .take(p.limit as usize)
        .collect();
    Ok(Json(Value::Array(page)))
}

/// GET `…/packages/{name}`: the package (merged parameters for a binding) with its actions and feeds.
pub async fn get(
    State(state): State<AppState>,
    Auth(who): Auth,
    path: EntityPath,
) -> ApiResult<Json<Value>> {
    let ns = path.namespace.resolve(&who);
    let name = path.name;
    let rp = resolve_package(&state, &who, &ns, &name).await?;
    let q = EntityQuery {
        kind: EntityKind::Action,
        scope: Scope::Path(rp.target_fqn.doc_id()),
        skip: 0,
        limit: None,
    };
    let contents = state.inner.stores.entities.list(&q).await?;
    let (mut actions, mut feeds) = (Vec::new(), Vec::new());
    for e in contents {
        let is_feed = e
            .doc
            .get("annotations")
            .and_then(|a| {
                serde_json::from_value::<Vec<whirl_core::entity::KeyValue>>(a.clone()).ok()
            })
            .is_some_and(|a| kv_get(&a, "feed").is_some());
        let item = json!({"name": e.doc["name"], "version": e.doc["version"], "annotations": e.doc["annotations"]});
        if is_feed {
            feeds.push(item)
        } else {
            actions.push(item)
        }
    }
    let mut pkg = rp.addressed.clone();
    pkg.parameters = rp.params.clone();
    let mut v = serde_json::to_value(&pkg).map_err(|_| ApiError::internal())?;
    v["actions"] = Value::Array(actions);
    v["feeds"] = Value::Array(feeds);
    Ok(Json(v))
}

/// PUT `…/packages/{name}?overwrite=`.
pub async fn put(
    State(state): State<AppState>,
    Auth(who): Auth,
    path: EntityPath,
    q: Query,
    JsonBody(body): JsonBody<PackagePut>,
) -> ApiResult<Json<Value>> {
    let ns = path.namespace.resolve(&who);
    let name = path.name;
    let fqn = FullyQualifiedName::new(ns.clone(), None, name.clone());
    require_owner(&who, &ns, &fqn.doc_id())?;
    if name == "default" {
        return Err(ApiError::bad_request(messages::PACKAGE_NAME_RESERVED));
    }
    check_kv_sizes(body.parameters.as_ref(), body.annotations.as_ref())?;
    let existing: Option<Loaded<WhiskPackage>> =
        load(&state, EntityKind::Package, &fqn.doc_id(), false).await?;
    if existing.is_some() && !q.flag("overwrite") {
        return Err(ApiError::conflict(messages::RESOURCE_EXISTS));
    }
    // A real package never becomes a binding, whatever the target (checked before the target,
    // as OpenWhisk does).
    if let (Some(old), Some(_)) = (&existing, &body.binding) {
        if old.entity.binding_ref().is_none() {
            return Err(ApiError::conflict(messages::PACKAGE_CANNOT_BECOME_BINDING));
        }
    }
    // Validate a binding target.
    let binding = match &body.binding {
        None => None,
        Some(b) => {
            let target_ns = if b.namespace == DEFAULT_NAMESPACE || b.namespace.is_empty() {
                who.namespace.clone()
            } else {
                b.namespace.clone()
            };
            let target =
                FullyQualifiedName::parse(&format!("/{}/{}", target_ns, b.name), &who.namespace)
                    .map_err(|e| ApiError::bad_request(e.to_string()))?;
            let stored = state
                .inner
                .stores
                .entities
                .get(&target.doc_id(), false)
                .await?;
            let Some(stored) = stored else {
                return Err(ApiError::bad_request(messages::BINDING_DOES_NOT_EXIST));
            };
            if stored.kind != EntityKind::Package {
                return Err(ApiError::conflict(messages::REQUESTED_BINDING_IS_NOT_VALID));
            }
            let t: Loaded<WhiskPackage> = entities::typed(EntityKind::Package, stored)?;
            if !owns(&who, &target.namespace) && !t.entity.publish {
                return Err(ApiError::forbidden(&target.doc_id()));
            }
            if t.entity.binding_ref().is_some() {
                return Err(ApiError::bad_request(
                    messages::BINDING_CANNOT_REFERENCE_BINDING,
                ));
            }
            Some(json!({"namespace": target.namespace, "name": target.name}))
        }
    };
    let now = now_millis();
    let (pkg, rev) = match existing {
        None => {
            let mut annotations = body.annotations.unwrap_or_default();
            if let Some(b) = &binding {
                kv_set(&mut annotations, "binding", b.clone());
            }
            let pkg = WhiskPackage {
                namespace: ns.clone(),
                name: name.clone(),
                version: next_version(body.version.as_deref(), None)?,
                publish: body.publish.unwrap_or(false),
                binding: binding.unwrap_or_else(|| json!({})),
                annotations,
                parameters: body.parameters.unwrap_or_default(),
                updated: now,
            };
            (pkg, None)
        }
        Some(old) => {
            let was_binding = old.entity.binding_ref().is_some();
            if binding.is_some() && !was_binding {
                return Err(ApiError::conflict(messages::PACKAGE_CANNOT_BECOME_BINDING));
            }
            let new_binding = binding.unwrap_or_else(|| old.entity.binding.clone());
            let mut annotations = body
                .annotations
                .unwrap_or_else(|| old.entity.annotations.clone());
            if was_binding {
                kv_set(&mut annotations, "binding", new_binding.clone());
            }
            let pkg = WhiskPackage {
                namespace: ns.clone(),
                name: name.clone(),
                version: next_version(body.version.as_deref(), Some(&old.entity.version))?,
                publish: body.publish.unwrap_or(old.entity.publish),
                binding: new_binding,
                annotations,
                parameters: body
                    .parameters
                    .unwrap_or_else(|| old.entity.parameters.clone()),
                updated: now,
            };
            (pkg, Some(old.rev))
        }
    };
    entities::save(&state, EntityKind::Package, &fqn, now, &pkg, None, rev).await?;
    Ok(Json(
        serde_json::to_value(&pkg).map_err(|_| ApiError::internal())?,
    ))
}

/// DELETE `…/packages/{name}?force=`.
pub async fn delete(
    State(state): State<AppState>,
    Auth(who): Auth,
    path: EntityPath,
    q: Query,
) -> ApiResult<Json<Value>> {
    let ns = path.namespace.resolve(&who);
    let name = path.name;
    let fqn = FullyQualifiedName::new(ns.clone(), None, name);
    require_owner(&who, &ns, &fqn.doc_id())?;
    let pkg: Loaded<WhiskPackage> = load(&state, EntityKind::Package, &fqn.doc_id(), false)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let store = &state.inner.stores.entities;
    let scope = Scope::Path(fqn.doc_id());
    if pkg.entity.binding_ref().is_none() {
        let n = store.count(EntityKind::Action, &scope).await?;
        if n > 0 {
            if !q.flag("force") {
                return Err(ApiError::conflict(messages::package_not_empty(n)));
            }
            let contents = store
                .list(&EntityQuery {
                    kind: EntityKind::Action,
                    scope,
                    skip: 0,
                    limit: None,
                })
                .await?;
            for a in contents {
                store.delete(&a.id, a.rev).await?;
            }
        }
    }
    store.delete(&fqn.doc_id(), pkg.rev).await?;
    Ok(Json(
        serde_json::to_value(&pkg.entity).map_err(|_| ApiError::internal())?,
    ))
}
