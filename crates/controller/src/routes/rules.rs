//! `/namespaces/{ns}/rules`: rules link a trigger to an action; their status lives in the
//! trigger document (spec §1.6, §3.5).

use std::collections::BTreeMap;

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};
use whirl_core::entity::{PathName, ReducedRule, RulePut, WhiskRule, WhiskTrigger};
use whirl_core::names::FullyQualifiedName;
use whirl_core::{messages, now_millis};
use whirl_store::{EntityKind, Scope, StoreError};

use super::{check_kv_sizes, list_page, next_version};
use crate::auth::{Auth, Identity};
use crate::domain::Error as DomainError;
use crate::entities::{self, find_action, load, require_owner, Loaded};
use crate::error::{ApiError, ApiResult};
use crate::extract::{EntityPath, JsonBody, NamespacePath, Query};
use crate::AppState;

pub use crate::domain::{ACTIVE, INACTIVE};

fn addressed(who: &Identity, path: EntityPath) -> ApiResult<FullyQualifiedName> {
    let ns = path.namespace.resolve(who);
    let fqn = FullyQualifiedName::new(ns.clone(), None, path.name);
    require_owner(who, &ns, &fqn.doc_id())?;
    Ok(fqn)
}

fn trigger_fqn(r: &WhiskRule) -> FullyQualifiedName {
    FullyQualifiedName::from_doc_id(&format!("{}/{}", r.trigger.path, r.trigger.name))
        .unwrap_or_else(|| {
            FullyQualifiedName::new(r.trigger.path.clone(), None, r.trigger.name.clone())
        })
}

/// The rule's status as recorded in its trigger (`inactive` if the trigger or link is gone).
async fn status_of(state: &AppState, rule_id: &str, rule: &WhiskRule) -> ApiResult<String> {
    let t: Option<Loaded<WhiskTrigger>> = load(
        state,
        EntityKind::Trigger,
        &trigger_fqn(rule).doc_id(),
        false,
    )
    .await
    .ok()
    .flatten();
    Ok(t.and_then(|t| {
        t.entity
            .rules
            .and_then(|m| m.get(rule_id).map(|r| r.status.clone()))
    })
    .unwrap_or_else(|| INACTIVE.to_string()))
}

fn with_status(rule: &WhiskRule, status: &str) -> ApiResult<Value> {
    let mut v = serde_json::to_value(rule).map_err(|_| ApiError::internal())?;
    v["status"] = json!(status);
    Ok(v)
}

/// Apply `f` to the rules map of a trigger, retrying on concurrent modification (the link is
/// internal bookkeeping, so a retry on a fresh read is always safe). A missing trigger is a no-op
/// unless `must_exist`.
async fn update_trigger_links(
    state: &AppState,
    trigger: &FullyQualifiedName,
    must_exist: bool,
    f: impl Fn(&mut BTreeMap<String, ReducedRule>),
) -> ApiResult<()> {
    for _ in 0..10 {
        let t: Option<Loaded<WhiskTrigger>> =
            load(state, EntityKind::Trigger, &trigger.doc_id(), false).await?;
        let Some(mut t) = t else {
            return if must_exist {
                Err(ApiError::not_found())
            } else {
                Ok(())
            };
        };
        let mut rules = t.entity.rules.take().unwrap_or_default();
        f(&mut rules);
        t.entity.rules = (!rules.is_empty()).then_some(rules);
        match entities::save(
            state,
            EntityKind::Trigger,
            trigger,
            t.entity.updated,
            &t.entity,
            None,
            Some(t.rev),
        )
        .await
        {
            Err(DomainError::Conflict(m)) if m == messages::CONFLICT_DETECTED => continue,
            other => return Ok(other.map(|_| ())?),
        }
    }
    Err(ApiError::conflict(messages::CONFLICT_DETECTED))
}

/// Parse a trigger or action reference of a rule body: a qualified name string (at least two
/// segments, `_` resolved) or a `{path, name}` object.
fn reference(v: Option<&Value>, who: &Identity) -> Option<FullyQualifiedName> {
    match v? {
        Value::String(s) => {
            if s.trim_start_matches('/').split('/').count() < 2 {
                return None;
            }
            FullyQualifiedName::parse(s, &who.namespace).ok()
        }
        Value::Object(o) => {
            let path = o.get("path")?.as_str()?;
            let name = o.get("name")?.as_str()?;
            FullyQualifiedName::parse(&format!("/{path}/{name}"), &who.namespace).ok()
        }
        _ => None,
    }
}

/// GET `…/rules` (full documents, without status).
pub async fn list(
    State(state): State<AppState>,
    Auth(who): Auth,
    path: NamespacePath,
    q: Query,
) -> ApiResult<Json<Value>> {
    let ns = path.namespace.resolve(&who);
    require_owner(&who, &ns, &ns)?;
    list_page(&state, EntityKind::Rule, Scope::Path(ns), &q.0, |d| d).await
}

/// GET `…/rules/{name}` with its status.
pub async fn get(
    State(state): State<AppState>,
    Auth(who): Auth,
    path: EntityPath,
) -> ApiResult<Json<Value>> {
    let fqn = addressed(&who, path)?;
    let r: Loaded<WhiskRule> = load(&state, EntityKind::Rule, &fqn.doc_id(), false)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let status = status_of(&state, &fqn.doc_id(), &r.entity).await?;
    Ok(Json(with_status(&r.entity, &status)?))
}

/// PUT `…/rules/{name}?overwrite=`.
pub async fn put(
    State(state): State<AppState>,
    Auth(who): Auth,
    path: EntityPath,
    q: Query,
    JsonBody(body): JsonBody<RulePut>,
) -> ApiResult<Json<Value>> {
    let fqn = addressed(&who, path)?;
    check_kv_sizes(None, body.annotations.as_ref())?;
    let rule_id = fqn.doc_id();
    let existing: Option<Loaded<WhiskRule>> =
        load(&state, EntityKind::Rule, &rule_id, false).await?;
    if existing.is_some() && !q.flag("overwrite") {
        return Err(ApiError::conflict(messages::RESOURCE_EXISTS));
    }
    let (trigger, action) = match &existing {
        None => {
            let t = reference(body.trigger.as_ref(), &who);
            let a = reference(body.action.as_ref(), &who);
            match (t, a) {
                (Some(t), Some(a)) => (t, a),
                _ => {
                    return Err(ApiError::bad_request(
                        messages::RULE_MISSING_TRIGGER_OR_ACTION,
                    ))
                }
            }
        }
        Some(old) => {
            let t = match body.trigger.as_ref() {
                Some(_) => reference(body.trigger.as_ref(), &who),
                None => Some(trigger_fqn(&old.entity)),
            };
            let a = match body.action.as_ref() {
                Some(_) => reference(body.action.as_ref(), &who),
                None => FullyQualifiedName::from_doc_id(&format!(
                    "{}/{}",
                    old.entity.action.path, old.entity.action.name
                )),
            };
            match (t, a) {
                (Some(t), Some(a)) => (t, a),
                _ => {
                    return Err(ApiError::bad_request(
                        messages::RULE_MISSING_TRIGGER_OR_ACTION,
                    ))
                }
            }
        }
    };
    // The trigger must exist (and be ours); the action must resolve (through bindings).
    require_owner(&who, &trigger.namespace, &trigger.doc_id())?;
    let t: Option<Loaded<WhiskTrigger>> =
        load(&state, EntityKind::Trigger, &trigger.doc_id(), false)
            .await
            .map_err(|_| {
                ApiError::bad_request(messages::rule_entity_missing(
                    "trigger",
                    &trigger.to_string(),
                ))
            })?;
    if t.is_none() {
        return Err(ApiError::bad_request(messages::rule_entity_missing(
            "trigger",
            &trigger.to_string(),
        )));
    }
    find_action(
        &state,
        &who,
        &action.namespace,
        action.package.as_deref(),
        &action.name,
        false,
    )
    .await
    .map_err(|e| match e {
        DomainError::Forbidden(_) => e.into(),
        _ => ApiError::bad_request(messages::rule_entity_missing("action", &action.to_string())),
    })?;
    let now = now_millis();
    let action_ref = PathName {
        path: action.path(),
        name: action.name.clone(),
    };
    let trigger_ref = PathName {
        path: trigger.path(),
        name: trigger.name.clone(),
    };
    let (rule, rev, status) = match existing {
        None => (
            WhiskRule {
                namespace: fqn.namespace.clone(),
                name: fqn.name.clone(),
                version: next_version(body.version.as_deref(), None)?,
                publish: body.publish.unwrap_or(false),
                annotations: body.annotations.unwrap_or_default(),
                trigger: trigger_ref,
                action: action_ref,
                updated: now,
            },
            None,
            ACTIVE.to_string(),
        ),
        Some(old) => {
            let status = status_of(&state, &rule_id, &old.entity).await?;
            let old_trigger = trigger_fqn(&old.entity);
            if old_trigger != trigger {
                let id = rule_id.clone();
                update_trigger_links(&state, &old_trigger, false, move |m| {
                    m.remove(&id);
                })
                .await?;
            }
            (
                WhiskRule {
                    version: next_version(body.version.as_deref(), Some(&old.entity.version))?,
                    publish: body.publish.unwrap_or(old.entity.publish),
                    annotations: body
                        .annotations
                        .unwrap_or_else(|| old.entity.annotations.clone()),
                    trigger: trigger_ref,
                    action: action_ref,
                    updated: now,
                    ..old.entity
                },
                Some(old.rev),
                status,
            )
        }
    };
    entities::save(&state, EntityKind::Rule, &fqn, now, &rule, None, rev).await?;
    let link = ReducedRule {
        action: rule.action.clone(),
        status: status.clone(),
    };
    let id = rule_id.clone();
    update_trigger_links(&state, &trigger, false, move |m| {
        m.insert(id.clone(), link.clone());
    })
    .await?;
    Ok(Json(with_status(&rule, &status)?))
}

/// POST `…/rules/{name}` with `{"status": "active"|"inactive"}`.
pub async fn set_status(
    State(state): State<AppState>,
    Auth(who): Auth,
    path: EntityPath,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<&'static str> {
    let fqn = addressed(&who, path)?;
    let status = match body.get("status").and_then(Value::as_str) {
        Some(s) if s == ACTIVE || s == INACTIVE => s.to_string(),
        _ => return Err(ApiError::bad_request(messages::BAD_RULE_STATUS)),
    };
    let r: Loaded<WhiskRule> = load(&state, EntityKind::Rule, &fqn.doc_id(), false)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let rule_id = fqn.doc_id();
    let link = ReducedRule {
        action: r.entity.action.clone(),
        status,
    };
    update_trigger_links(&state, &trigger_fqn(&r.entity), true, move |m| {
        m.insert(rule_id.clone(), link.clone());
    })
    .await
    .map_err(|e| {
        if e.status == axum::http::StatusCode::NOT_FOUND {
            ApiError::new(
                axum::http::StatusCode::NOT_FOUND,
                messages::RULE_WITH_INACTIVE_TRIGGER,
            )
        } else {
            e
        }
    })?;
    Ok("OK")
}

/// DELETE `…/rules/{name}`: unlinks from the trigger; returns the rule with status `inactive`.
pub async fn delete(
    State(state): State<AppState>,
    Auth(who): Auth,
    path: EntityPath,
) -> ApiResult<Json<Value>> {
    let fqn = addressed(&who, path)?;
    let rule_id = fqn.doc_id();
    let r: Loaded<WhiskRule> = load(&state, EntityKind::Rule, &rule_id, false)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let id = rule_id.clone();
    update_trigger_links(&state, &trigger_fqn(&r.entity), false, move |m| {
        m.remove(&id);
    })
    .await?;
    match state.inner.stores.entities.delete(&rule_id, r.rev).await {
        Ok(()) | Err(StoreError::NotFound) => {}
        Err(e) => return Err(e.into()),
    }
    Ok(Json(with_status(&r.entity, INACTIVE)?))
}
