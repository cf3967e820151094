//! `/namespaces/{ns}/actions`: create, update, get, list and delete actions (spec §1.3, §2.2).

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};
use whirl_core::entity::{
    is_binary_code, kv_get, kv_set, ActionPut, Exec, ExecPut, KeyValue, WhiskAction, WhiskPackage,
};
use whirl_core::limits::{ActionLimits, MAX_CODE_BYTES};
use whirl_core::names::FullyQualifiedName;
use whirl_core::runtimes::{BLACKBOX, SEQUENCE};
use whirl_core::{messages, now_millis};
use whirl_store::{EntityKind, Scope};

use super::{check_kv_sizes, list_page, next_version};
use crate::auth::{Auth, Identity};
use crate::domain::Error as DomainError;
use crate::entities::{
    self, action_json, find_action, load, require_owner, resolve_action, resolve_package,
};
use crate::error::{ApiError, ApiResult};
use crate::extract::{list_params, ActionPath, ActionTarget, JsonBody, Query};
use crate::AppState;

/// GET `…/actions` and `…/actions/{pkg}/`.
pub async fn list(
    State(state): State<AppState>,
    Auth(who): Auth,
    path: ActionPath,
    q: Query,
) -> ApiResult<Json<Value>> {
    let ns = path.namespace.resolve(&who);
    list_params(&q.0, "actions")?;
    let scope = match &path.target {
        ActionTarget::Collection => {
            require_owner(&who, &ns, &ns)?;
            Scope::Namespace(ns.clone())
        }
        ActionTarget::Package(pkg) => {
            let rp = resolve_package(&state, &who, &ns, pkg).await?;
            Scope::Path(rp.target_fqn.doc_id())
        }
        ActionTarget::Action { .. } => return Err(ApiError::not_found()),
    };
    list_page(&state, EntityKind::Action, scope, &q.0, |d| {
        let binary = d
            .pointer("/exec/binary")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        json!({
            "namespace": d["namespace"], "name": d["name"], "version": d["version"],
            "publish": d["publish"], "annotations": d["annotations"], "limits": d["limits"],
            "exec": {"binary": binary}, "updated": d["updated"],
        })
    })
    .await
}

/// GET `…/actions/[{pkg}/]{name}`.
pub async fn get(
    State(state): State<AppState>,
    Auth(who): Auth,
    path: ActionPath,
    q: Query,
) -> ApiResult<Json<Value>> {
    let ns = path.namespace.resolve(&who);
    if let ActionTarget::Package(_) = path.target {
        return list(State(state), Auth(who), path, q).await;
    }
    let (pkg, name) = path.action()?;
    let with_code = q.get("code").is_none_or(crate::extract::parse_bool);
    let ra = resolve_action(&state, &who, &ns, pkg.as_deref(), &name, with_code).await?;
    let mut action = WhiskAction::clone(&ra.action);
    action.parameters = ra.params;
    Ok(Json(action_json(
        &action,
        if with_code { ra.code } else { None },
    )))
}

/// DELETE `…/actions/[{pkg}/]{name}`.
pub async fn delete(
    State(state): State<AppState>,
    Auth(who): Auth,
    path: ActionPath,
) -> ApiResult<Json<Value>> {
    let ns = path.namespace.resolve(&who);
    let (pkg, name) = path.action()?;
    let fqn = FullyQualifiedName::new(ns.clone(), pkg, name);
    require_owner(&who, &ns, &fqn.doc_id())?;
    let loaded: Option<entities::Loaded<WhiskAction>> =
        load(&state, EntityKind::Action, &fqn.doc_id(), true).await?;
    let a = loaded.ok_or_else(ApiError::not_found)?;
    state
        .inner
        .stores
        .entities
        .delete(&fqn.doc_id(), a.rev)
        .await?;
    Ok(Json(action_json(&a.entity, a.code)))
}

/// PUT `…/actions/[{pkg}/]{name}?overwrite=`.
pub async fn put(
    State(state): State<AppState>,
    Auth(who): Auth,
    path: ActionPath,
    q: Query,
    JsonBody(body): JsonBody<ActionPut>,
) -> ApiResult<Json<Value>> {
    let ns = path.namespace.resolve(&who);
    let (pkg, name) = path.action()?;
    let fqn = FullyQualifiedName::new(ns.clone(), pkg.clone(), name);
    require_owner(&who, &ns, &fqn.doc_id())?;
    check_kv_sizes(body.parameters.as_ref(), body.annotations.as_ref())?;
    if let Some(e) = &body.exec {
        let size = e.code.as_ref().or(e.jar.as_ref()).map_or(0, String::len);
        if size > MAX_CODE_BYTES {
            return Err(ApiError::too_large(messages::field_too_large(
                "exec",
                size,
                MAX_CODE_BYTES,
            )));
        }
    }
    if let Some(p) = &pkg {
        let id = format!("{ns}/{p}");
        let parent: Option<entities::Loaded<WhiskPackage>> =
            load(&state, EntityKind::Package, &id, false).await?;
        let parent = parent.ok_or_else(ApiError::not_found)?;
        if parent.entity.binding_ref().is_some() {
            return Err(ApiError::bad_request(messages::NOT_ALLOWED_ON_BINDING));
        }
    }
    let overwrite = q.flag("overwrite");
    let existing: Option<entities::Loaded<WhiskAction>> =
        load(&state, EntityKind::Action, &fqn.doc_id(), true).await?;
    if existing.is_some() && !overwrite {
        return Err(ApiError::conflict(messages::RESOURCE_EXISTS));
    }
    let ranges = &state.inner.config.action_limits;
    let now = now_millis();
    let (action, code, rev) = match existing {
        None => {
            let exec_put = body
                .exec
                .ok_or_else(|| ApiError::bad_request(messages::EXEC_UNDEFINED))?;
            let (exec, code, params) = build_exec(
                &state,
                &who,
                &fqn,
                exec_put,
                body.parameters.unwrap_or_default(),
            )
            .await?;
            let limits = ranges
                .resolve(ranges.defaults(), &body.limits.unwrap_or_default())
                .map_err(ApiError::bad_request)?;
            check_instances(&state, &who, &limits)?;
            let mut annotations = body.annotations.unwrap_or_default();
            remove_keys(&mut annotations, body.del_annotations.as_deref());
            kv_set(&mut annotations, "exec", json!(exec.kind));
            if kv_get(&annotations, "provide-api-key").is_none() {
                annotations.push(KeyValue::new("provide-api-key", json!(false)));
            }
            let action = WhiskAction {
                namespace: fqn.path(),
                name: fqn.name.clone(),
                version: next_version(body.version.as_deref(), None)?,
                publish: body.publish.unwrap_or(false),
                exec,
                annotations,
                parameters: params,
                limits,
                updated: now,
            };
            (action, code, None)
        }
        Some(old) => {
            let (exec, code, params) = match body.exec {
                Some(e) => {
                    let params = body
                        .parameters
                        .unwrap_or_else(|| old.entity.parameters.clone());
                    build_exec(&state, &who, &fqn, e, params).await?
                }
                None => {
                    let mut params = body
                        .parameters
                        .unwrap_or_else(|| old.entity.parameters.clone());
                    if old.entity.exec.kind == SEQUENCE {
                        // A sequence keeps its synthetic `_actions` parameter only.
                        params = old.entity.parameters.clone();
                    }
                    (old.entity.exec.clone(), old.code.clone(), params)
                }
            };
            let limits = ranges
                .resolve(old.entity.limits, &body.limits.unwrap_or_default())
                .map_err(ApiError::bad_request)?;
            check_instances(&state, &who, &limits)?;
            let mut annotations = body
                .annotations
                .unwrap_or_else(|| old.entity.annotations.clone());
            remove_keys(&mut annotations, body.del_annotations.as_deref());
            kv_set(&mut annotations, "exec", json!(exec.kind));
            let action = WhiskAction {
                namespace: fqn.path(),
                name: fqn.name.clone(),
                version: next_version(body.version.as_deref(), Some(&old.entity.version))?,
                publish: body.publish.unwrap_or(old.entity.publish),
                exec,
                annotations,
                parameters: params,
                limits,
                updated: now,
            };
            (action, code, Some(old.rev))
        }
    };
    entities::save(
        &state,
        EntityKind::Action,
        &fqn,
        now,
        &action,
        code.clone(),
        rev,
    )
    .await?;
    Ok(Json(action_json(&action, code)))
}

/// `limits.instances` may not exceed the namespace's concurrent invocations (spec §1.3).
fn check_instances(state: &AppState, who: &Identity, limits: &ActionLimits) -> ApiResult<()> {
    let Some(instances) = limits.instances else {
        return Ok(());
    };
    let max = who
        .limits
        .concurrent_invocations(&state.inner.config.namespace_defaults);
    if instances == 0 || instances > max {
        return Err(ApiError::bad_request(messages::instances_out_of_range(
            instances, max,
        )));
    }
    Ok(())
}

fn remove_keys(annotations: &mut Vec<KeyValue>, keys: Option<&[String]>) {
    if let Some(keys) = keys {
        annotations.retain(|kv| !keys.contains(&kv.key));
    }
}

/// Validate an `exec` and produce the stored exec (without code), the code attachment and the
/// parameters to store (sequences replace them by `_actions`).
async fn build_exec(
    state: &AppState,
    who: &Identity,
    fqn: &FullyQualifiedName,
    e: ExecPut,
    params: Vec<KeyValue>,
) -> ApiResult<(Exec, Option<String>, Vec<KeyValue>)> {
    let code = e.code.or(e.jar);
    let main = e.main.filter(|m| !m.is_empty());
    match e.kind.as_str() {
        SEQUENCE => {
            let components = e.components.unwrap_or_default();
            let comps = validate_sequence(state, who, fqn, &components).await?;
            let exec = Exec {
                kind: SEQUENCE.into(),
                code: None,
                image: None,
                main: None,
                binary: None,
                components: Some(comps.clone()),
            };
            Ok((exec, None, vec![KeyValue::new("_actions", json!(comps))]))
        }
        BLACKBOX => {
            let image = e.image.filter(|i| !i.trim().is_empty()).ok_or_else(|| {
                ApiError::bad_request(messages::malformed("blackbox requires an image"))
            })?;
            let binary = code.as_deref().map(is_binary_code);
            let exec = Exec {
                kind: BLACKBOX.into(),
                code: None,
                image: Some(image),
                main,
                binary,
                components: None,
            };
            Ok((exec, code, params))
        }
        kind => {
            let rk = state
                .inner
                .config
                .runtimes
                .resolve(kind)
                .map_err(ApiError::bad_request)?;
            if rk.deprecated {
                return Err(ApiError::bad_request(messages::deprecated_runtime(
                    &rk.kind,
                )));
            }
            if !who.limits.allows_kind(&rk.kind) {
                return Err(ApiError::new(
                    axum::http::StatusCode::FORBIDDEN,
                    messages::kind_not_allowed(&rk.kind),
                ));
            }
            let code = code.ok_or_else(|| {
                ApiError::bad_request(messages::malformed("exec.code is required"))
            })?;
            if rk.require_main && main.is_none() {
                return Err(ApiError::bad_request(messages::malformed(
                    "exec.main is required",
                )));
            }
            let exec = Exec {
                kind: rk.kind.clone(),
                code: None,
                image: None,
                main,
                binary: Some(is_binary_code(&code)),
                components: None,
            };
            Ok((exec, Some(code), params))
        }
    }
}

/// Check a sequence's components (spec §3.3): non-empty, existing actions, no cycle through this
/// action, at most `sequence_max_length` atomic actions after inlining nested sequences.
async fn validate_sequence(
    state: &AppState,
    who: &Identity,
    this: &FullyQualifiedName,
    components: &[String],
) -> ApiResult<Vec<String>> {
    if components.is_empty() {
        return Err(ApiError::bad_request(messages::SEQUENCE_NO_COMPONENTS));
    }
    let max = state.inner.config.namespace_defaults.sequence_max_length;
    let mut resolved = Vec::with_capacity(components.len());
    for c in components {
        let f = FullyQualifiedName::parse(c, &who.namespace)
            .map_err(|_| ApiError::bad_request(messages::SEQUENCE_COMPONENT_NOT_FOUND))?;
        resolved.push(f);
    }
    // Depth-first count of atomic actions; `stack` detects cycles back to `this`.
    let mut atomic = 0u64;
    let mut work: Vec<(FullyQualifiedName, usize)> =
        resolved.iter().rev().map(|f| (f.clone(), 0)).collect();
    let mut visits = 0u32;
    while let Some((f, depth)) = work.pop() {
        visits += 1;
        if f == *this {
            return Err(ApiError::bad_request(messages::SEQUENCE_IS_CYCLE));
        }
        if depth > 64 || visits > 10_000 {
            return Err(ApiError::bad_request(messages::SEQUENCE_IS_TOO_LONG));
        }
        let ra = find_action(
            state,
            who,
            &f.namespace,
            f.package.as_deref(),
            &f.name,
            false,
        )
        .await
        .map_err(|e| match e {
            DomainError::Forbidden(_) => e.into(),
            _ => ApiError::bad_request(messages::SEQUENCE_COMPONENT_NOT_FOUND),
        })?;
        if ra.action.exec.kind == SEQUENCE {
            for c in ra
                .action
                .exec
                .components
                .clone()
                .unwrap_or_default()
                .iter()
                .rev()
            {
                if let Ok(inner) = FullyQualifiedName::parse(c, &ra.fqn.namespace) {
                    work.push((inner, depth + 1));
                }
            }
        } else {
            atomic += 1;
            if atomic > max {
                return Err(ApiError::bad_request(messages::SEQUENCE_IS_TOO_LONG));
            }
        }
    }
    Ok(resolved.iter().map(ToString::to_string).collect())
}
