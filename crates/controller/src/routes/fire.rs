//! POST `…/triggers/{name}`: fire a trigger (spec §3.5). Active rules invoke their actions
//! (non-blocking, with the trigger owner's identity and throttles); the trigger activation's logs
//! record each rule's outcome.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};
use whirl_core::entity::{
    kv_to_object, ActivationResponse, ActivationStatus, WhiskActivation, WhiskTrigger,
};
use whirl_core::names::FullyQualifiedName;
use whirl_core::{ids, now_millis};
use whirl_store::{ActivationRecord, EntityKind};

use super::invoke::{payload, with_activation_id};
use crate::activation::{self, check_invoke_throttles, Invocation};
use crate::auth::{Auth, Identity};
use crate::entities::{load, require_owner, resolve_action, Loaded};
use crate::error::{ApiError, ApiResult, TransactionId};
use crate::extract::{entity_name, namespace_of, Segments};
use crate::routes::rules::ACTIVE;
use crate::throttle::Rate;
use crate::AppState;

pub async fn fire(
    State(state): State<AppState>,
    Auth(who): Auth,
    Segments(segs): Segments,
    req: Request,
) -> ApiResult<Response> {
    let ns = namespace_of(&segs[0], &who)?;
    let name = entity_name(segs.get(2).map(String::as_str).unwrap_or(""))?;
    let fqn = FullyQualifiedName::new(ns.clone(), None, name);
    require_owner(&who, &ns, &fqn.doc_id())?;
    let d = &state.inner.config.namespace_defaults;
    state.inner.activations.throttles.check_rate(
        &who.namespace,
        Rate::Fires,
        &who.limits,
        d.fires_per_minute,
    )?;
    let tid = req
        .extensions()
        .get::<TransactionId>()
        .map(|t| t.0.clone())
        .unwrap_or_default();
    let (parts, body) = req.into_parts();
    let payload = payload(body, &parts.headers).await?;
    let trigger: Loaded<WhiskTrigger> = load(&state, EntityKind::Trigger, &fqn.doc_id(), false)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let active: Vec<(String, FullyQualifiedName)> = trigger
        .entity
        .rules
        .iter()
        .flatten()
        .filter(|(_, r)| r.status == ACTIVE)
        .filter_map(|(rule, r)| {
            FullyQualifiedName::from_doc_id(&format!("{}/{}", r.action.path, r.action.name))
                .map(|a| (rule.clone(), a))
        })
        .collect();
    if active.is_empty() {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    // Action arguments: trigger parameters overridden by the payload and the request headers.
    let mut args: Map<String, Value> = kv_to_object(&trigger.entity.parameters);
    if let Value::Object(p) = &payload {
        args.extend(p.clone());
    }
    let headers: Map<String, Value> = parts
        .headers
        .iter()
        .filter(|(k, _)| k.as_str() != "authorization")
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                json!(v.to_str().unwrap_or("")),
            )
        })
        .collect();
    args.insert("__ow_headers".into(), Value::Object(headers));
    let id = ids::new_activation_id();
    let start = now_millis();
    let record = |logs: Vec<String>| {
        let doc = WhiskActivation {
            namespace: who.namespace.clone(),
            name: fqn.name.clone(),
            version: trigger.entity.version.clone(),
            subject: who.subject.clone(),
            publish: false,
            activation_id: id.clone(),
            start,
            end: 0,
            duration: None,
            cause: None,
            response: ActivationResponse::new(ActivationStatus::Success, payload.clone()),
            logs,
            annotations: vec![],
        };
        ActivationRecord {
            activation_id: id.clone(),
            namespace: who.namespace.clone(),
            entity_path: format!("{}/{}", who.namespace, fqn.name),
            start,
            end: 0,
            doc: serde_json::to_value(doc).unwrap_or(Value::Null),
        }
    };
    // The trigger activation is stored before it is acknowledged; rule logs are added later.
    state
        .inner
        .stores
        .activations
        .put(record(Vec::new()))
        .await?;
    let st = state.clone();
    let who2 = who.clone();
    let args = Value::Object(args);
    let rec_fn = record(Vec::new());
    tokio::spawn(async move {
        let mut logs = Vec::new();
        for (rule, action) in active {
            logs.push(
                fire_rule(&st, &who2, &rule, &action, args.clone(), &tid)
                    .await
                    .to_string(),
            );
        }
        let mut rec = rec_fn;
        rec.doc["logs"] = json!(logs);
        if let Err(e) = st.inner.stores.activations.put(rec).await {
            tracing::error!(error = %e, "cannot store the trigger activation");
        }
    });
    let resp = (StatusCode::ACCEPTED, Json(json!({"activationId": id}))).into_response();
    Ok(with_activation_id(resp, &id))
}

/// Invoke one rule's action (non-blocking); the log entry of the trigger activation.
async fn fire_rule(
    state: &AppState,
    who: &Identity,
    rule: &str,
    action: &FullyQualifiedName,
    args: Value,
    tid: &str,
) -> Value {
    let action_name = action.doc_id();
    let failed = |status: StatusCode, error: String| {
        let code = if status.is_server_error() { 3 } else { 1 };
        json!({"statusCode": code, "success": false, "error": error, "rule": rule, "action": action_name})
    };
    if let Err(e) = check_invoke_throttles(state, who) {
        return failed(e.status, e.message);
    }
    let resolved = resolve_action(
        state,
        who,
        &action.namespace,
        action.package.as_deref(),
        &action.name,
        false,
    )
    .await;
    let ra = match resolved {
        Ok(a) => a,
        Err(e) => return failed(e.status, e.message),
    };
    let inv = Invocation {
        who: who.clone(),
        action: ra,
        payload: args,
        transaction_id: tid.to_string(),
        cause: None,
    };
    match activation::invoke(state, inv, std::time::Duration::ZERO).await {
        Ok((id, _)) => {
            json!({"statusCode": 0, "success": true, "activationId": id, "rule": rule, "action": action_name})
        }
        Err(e) => failed(e.status, e.message),
    }
}
