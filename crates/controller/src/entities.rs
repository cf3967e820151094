//! Typed access to stored entities: loading with collection checks, package and binding
//! resolution, and entitlement (own namespace, or read access to published packages).

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use whirl_core::entity::{kv_merge, KeyValues, WhiskAction, WhiskPackage};
use whirl_core::messages;
use whirl_core::names::FullyQualifiedName;
use whirl_store::{EntityKind, NewEntity, StoredEntity};

use crate::auth::Identity;
use crate::domain::{Error, Result};
use crate::error::ApiResult;
use crate::AppState;

/// A typed entity with its revision (and, for actions, its code).
#[derive(Debug, Clone)]
pub struct Loaded<T> {
    pub entity: T,
    pub rev: u64,
    pub code: Option<String>,
}

/// Load `id` as an entity of `kind`: `Ok(None)` if absent, 409 if it is of another kind.
pub async fn load<T: DeserializeOwned>(
    state: &AppState,
    kind: EntityKind,
    id: &str,
    with_code: bool,
) -> Result<Option<Loaded<T>>> {
    let Some(stored) = state.inner.stores.entities.get(id, with_code).await? else {
        return Ok(None);
    };
    typed(kind, stored).map(Some)
}

/// Convert a stored document, checking its collection.
pub fn typed<T: DeserializeOwned>(kind: EntityKind, stored: StoredEntity) -> Result<Loaded<T>> {
    if stored.kind != kind {
        return Err(Error::Conflict(messages::CONFORMANCE_MISMATCH.into()));
    }
    let entity = serde_json::from_value(stored.doc).map_err(|e| {
        tracing::error!(id = %stored.id, error = %e, "corrupted entity document");
        Error::Internal
    })?;
    Ok(Loaded {
        entity,
        rev: stored.rev,
        code: stored.code,
    })
}

/// Write an entity document (`rev: None` creates).
pub async fn save<T: Serialize>(
    state: &AppState,
    kind: EntityKind,
    fqn: &FullyQualifiedName,
    updated: i64,
    entity: &T,
    code: Option<String>,
    rev: Option<u64>,
) -> Result<u64> {
    let doc = serde_json::to_value(entity).map_err(|_| Error::Internal)?;
    let new = NewEntity {
        id: fqn.doc_id(),
        kind,
        path: fqn.path(),
        name: fqn.name.clone(),
        updated,
        doc,
        code,
    };
    Ok(state.inner.stores.entities.put(new, rev).await?)
}

/// Whether `who` owns namespace `ns`.
pub fn owns(who: &Identity, ns: &str) -> bool {
    who.namespace == ns
}

/// 403 unless `who` owns `ns`; `resource` is the fully qualified name in the message.
pub fn require_owner(who: &Identity, ns: &str, resource: &str) -> Result<()> {
    if owns(who, ns) {
        Ok(())
    } else {
        Err(Error::not_authorized(resource))
    }
}

/// A package as addressed, and the package its actions live in (itself, or a binding's target).
#[derive(Debug, Clone)]
pub struct ResolvedPackage {
    pub addressed: WhiskPackage,
    pub addressed_fqn: FullyQualifiedName,
    pub target: WhiskPackage,
    pub target_fqn: FullyQualifiedName,
    /// Target parameters overridden by the binding's.
    pub params: KeyValues,
}

impl ResolvedPackage {
    pub fn is_binding(&self) -> bool {
        self.addressed_fqn != self.target_fqn
    }
}

/// Resolve package `ns/name` for reading by `who`: the caller must own it or it must be
/// published; through a binding, the target must be owned by the binding's owner or published.
/// Missing packages in another namespace are 403, not 404, so existence does not leak.
pub async fn resolve_package(
    state: &AppState,
    who: &Identity,
    ns: &str,
    name: &str,
) -> Result<ResolvedPackage> {
    let fqn = FullyQualifiedName::new(ns, None, name);
    let resource = fqn.doc_id();
    let loaded: Option<Loaded<WhiskPackage>> = load(state, EntityKind::Package, &resource, false)
        .await
        .map_err(|e| {
            if owns(who, ns) {
                e
            } else {
                Error::not_authorized(&resource)
            }
        })?;
    let Some(pkg) = loaded else {
        return Err(if owns(who, ns) {
            Error::NotFound
        } else {
            Error::not_authorized(&resource)
        });
    };
    if !owns(who, ns) && !pkg.entity.publish {
        return Err(Error::not_authorized(&resource));
    }
    let Some(b) = pkg.entity.binding_ref() else {
        let params = pkg.entity.parameters.clone();
        return Ok(ResolvedPackage {
            addressed: pkg.entity.clone(),
            addressed_fqn: fqn.clone(),
            target: pkg.entity,
            target_fqn: fqn,
            params,
        });
    };
    let target_fqn = FullyQualifiedName::new(b.namespace.clone(), None, b.name.clone());
    if target_fqn == fqn {
        return Err(Error::Unprocessable(
            messages::PACKAGE_BINDING_CIRCULAR_REFERENCE.into(),
        ));
    }
    let target_id = target_fqn.doc_id();
    let target: Option<Loaded<WhiskPackage>> = load(state, EntityKind::Package, &target_id, false)
        .await
        .ok()
        .flatten();
    let Some(target) = target else {
        return Err(Error::NotFound);
    };
    if b.namespace != ns && !target.entity.publish {
        return Err(Error::not_authorized(&target_id));
    }
    let params = kv_merge(&target.entity.parameters, &pkg.entity.parameters);
    Ok(ResolvedPackage {
        addressed: pkg.entity,
        addressed_fqn: fqn,
        target: target.entity,
        target_fqn,
        params,
    })
}

/// An action resolved for reading or invoking: its real location, merged parameters, and the
/// binding it was reached through.
#[derive(Debug, Clone)]
pub struct ResolvedAction {
    /// Shared with the controller's typed action cache.
    pub action: Arc<WhiskAction>,
    pub rev: u64,
    pub code: Option<String>,
    /// Where the action really lives.
    pub fqn: FullyQualifiedName,
    /// `ns/binding` when reached through a binding.
    pub binding: Option<String>,
    /// Package (and binding) parameters overridden by the action's.
    pub params: KeyValues,
}

/// [`find_action`] with an HTTP error, for callers that still speak [`crate::error::ApiError`].
pub async fn resolve_action(
    state: &AppState,
    who: &Identity,
    ns: &str,
    pkg: Option<&str>,
    name: &str,
    with_code: bool,
) -> ApiResult<ResolvedAction> {
    Ok(find_action(state, who, ns, pkg, name, with_code).await?)
}

/// Resolve action `ns[/pkg]/name` for `who`, following a binding.
pub async fn find_action(
    state: &AppState,
    who: &Identity,
    ns: &str,
    pkg: Option<&str>,
    name: &str,
    with_code: bool,
) -> Result<ResolvedAction> {
    let (fqn, pkg_params, binding) = match pkg {
        None => {
            let fqn = FullyQualifiedName::new(ns, None, name);
            if !owns(who, ns) {
                return Err(Error::not_authorized(&fqn.doc_id()));
            }
            (fqn, Vec::new(), None)
        }
        Some(p) => {
            let rp = resolve_package(state, who, ns, p).await?;
            let binding = rp.is_binding().then(|| rp.addressed_fqn.doc_id());
            let fqn = FullyQualifiedName::new(
                rp.target_fqn.namespace.clone(),
                Some(rp.target_fqn.name.clone()),
                name,
            );
            (fqn, rp.params, binding)
        }
    };
    let id = fqn.doc_id();
    let (action, rev, code) = if with_code {
        let loaded: Option<Loaded<WhiskAction>> =
            load(state, EntityKind::Action, &id, true).await?;
        let Some(a) = loaded else {
            return Err(Error::NotFound);
        };
        (Arc::new(a.entity), a.rev, a.code)
    } else {
        let (rev, action) = shared_action(state, &id).await?.ok_or(Error::NotFound)?;
        (action, rev, None)
    };
    let params = kv_merge(&pkg_params, &action.parameters);
    Ok(ResolvedAction {
        action,
        rev,
        code,
        fqn,
        binding,
        params,
    })
}

/// An action without its code, as a shared typed value from the controller's cache (read and
/// parsed from the store on a miss).
async fn shared_action(state: &AppState, id: &str) -> Result<Option<(u64, Arc<WhiskAction>)>> {
    let cache = &state.inner.caches.actions;
    if let Some(hit) = cache.get(id) {
        return Ok(Some(hit));
    }
    let generation = cache.generation();
    let Some(a) = load::<WhiskAction>(state, EntityKind::Action, id, false).await? else {
        return Ok(None);
    };
    let action = Arc::new(a.entity);
    cache.insert(id, a.rev, action.clone(), generation);
    Ok(Some((a.rev, action)))
}

/// The action JSON with its code put back into `exec`.
pub fn action_json(action: &WhiskAction, code: Option<String>) -> Value {
    let mut a = action.clone();
    if code.is_some() {
        a.exec.code = code;
    }
    serde_json::to_value(a).unwrap_or(Value::Null)
}
