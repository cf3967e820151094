//! Firing a trigger (spec §3.5, OpenWhisk's `Triggers.scala`), apart from HTTP: the route and
//! the alarms feed's scheduler both call [`fire_trigger`].
//!
//! With at least one active rule, the trigger activation is stored before the caller is
//! answered, each active rule's action is invoked (non-blocking, with the firing identity and
//! its throttles), and the record's logs are then rewritten with one JSON line per rule of the
//! trigger, inactive rules included. Without an active rule nothing is stored.

use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value};
use whirl_core::entity::{
    kv_to_object, ActivationResponse, ActivationStatus, ReducedRule, WhiskActivation, WhiskTrigger,
};
use whirl_core::json::SharedJson;
use whirl_core::names::FullyQualifiedName;
use whirl_core::{ids, messages, now_millis};
use whirl_store::{ActivationRecord, EntityKind};

use super::{Error, Result, ACTIVE};
use crate::activation::{self, check_invoke_throttles, Invocation};
use crate::auth::Identity;
use crate::entities::{find_action, load, owns, Loaded};
use crate::throttle::Rate;
use crate::AppState;

/// A fire request, once parsed.
#[derive(Debug, Clone, Default)]
pub struct Fire {
    /// The payload: the trigger activation's result, merged over the trigger's parameters as the
    /// rules' action arguments.
    pub payload: Value,
    /// `__ow_headers` for the rules' actions (the fire request's headers, lowercase names);
    /// `None` when the trigger is not fired over HTTP.
    pub headers: Option<Map<String, Value>>,
    pub transaction_id: String,
}

/// How a fire ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FireOutcome {
    /// The trigger activation (stored; its logs are filled in once the rules are invoked).
    Fired { activation_id: String },
    /// The trigger has no active rule: nothing was invoked nor stored (HTTP 204).
    NoActiveRules,
}

/// Fire `trigger` as `who`: [`authorize_fire`], then [`fire_authorized`].
pub async fn fire_trigger(
    state: &AppState,
    who: &Identity,
    trigger: &FullyQualifiedName,
    payload: Value,
    transaction_id: &str,
) -> Result<FireOutcome> {
    authorize_fire(state, who, trigger)?;
    let fire = Fire {
        payload,
        headers: None,
        transaction_id: transaction_id.to_string(),
    };
    fire_authorized(state, who, trigger, fire).await
}

/// The checks made before the payload is read, as in OpenWhisk: the trigger must be in the
/// caller's namespace (403), and the namespace's fires per minute are counted (429).
pub fn authorize_fire(
    state: &AppState,
    who: &Identity,
    trigger: &FullyQualifiedName,
) -> Result<()> {
    if !owns(who, &trigger.namespace) {
        return Err(Error::not_authorized(&trigger.doc_id()));
    }
    let d = &state.inner.config.namespace_defaults;
    state.inner.activations.throttles.check_rate(
        &who.namespace,
        Rate::Fires,
        &who.limits,
        d.fires_per_minute,
    )?;
    Ok(())
}

/// Fire a trigger [`authorize_fire`] let through: load it (404), and with an active rule store
/// the trigger activation and invoke the rules in a task.
pub async fn fire_authorized(
    state: &AppState,
    who: &Identity,
    trigger: &FullyQualifiedName,
    fire: Fire,
) -> Result<FireOutcome> {
    let loaded: Loaded<WhiskTrigger> = load(state, EntityKind::Trigger, &trigger.doc_id(), false)
        .await?
        .ok_or(Error::NotFound)?;
    let t = loaded.entity;
    let rules: Vec<(String, ReducedRule)> =
        t.rules.clone().unwrap_or_default().into_iter().collect();
    if !rules.iter().any(|(_, r)| r.status == ACTIVE) {
        return Ok(FireOutcome::NoActiveRules);
    }
    // Action arguments: trigger parameters overridden by the payload and the request headers.
    let mut args: Map<String, Value> = kv_to_object(&t.parameters);
    if let Value::Object(p) = &fire.payload {
        args.extend(p.clone());
    }
    if let Some(h) = fire.headers {
        args.insert("__ow_headers".into(), Value::Object(h));
    }
    let id = ids::new_activation_id();
    let (record, mut doc) = trigger_record(who, trigger, &t, &id, fire.payload)?;
    // The trigger activation is stored before it is acknowledged; rule logs are added later.
    state.inner.stores.activations.put(record.clone()).await?;
    let st = state.clone();
    let who = who.clone();
    let args = Value::Object(args);
    let tid = fire.transaction_id;
    tokio::spawn(async move {
        let mut logs = Vec::with_capacity(rules.len());
        for (rule, link) in &rules {
            let result = activate_rule(&st, &who, rule, link, &args, &tid).await;
            logs.push(serde_json::to_string(&result).unwrap_or_default());
        }
        doc.logs = logs;
        let mut rec = record;
        match SharedJson::to_shared(&doc) {
            Ok(d) => rec.doc = d,
            Err(e) => tracing::error!(error = %e, "cannot serialise the trigger activation"),
        }
        if let Err(e) = st.inner.stores.activations.put(rec).await {
            tracing::error!(error = %e, "cannot store the trigger activation");
        }
    });
    Ok(FireOutcome::Fired { activation_id: id })
}

fn trigger_record(
    who: &Identity,
    trigger: &FullyQualifiedName,
    t: &WhiskTrigger,
    id: &str,
    payload: Value,
) -> Result<(ActivationRecord, WhiskActivation)> {
    let start = now_millis();
    let doc = WhiskActivation {
        namespace: who.namespace.clone(),
        name: trigger.name.clone(),
        version: t.version.clone(),
        subject: who.subject.clone(),
        publish: false,
        activation_id: id.to_string(),
        start,
        end: 0,
        duration: None,
        cause: None,
        response: ActivationResponse::new(ActivationStatus::Success, payload),
        logs: Vec::new(),
        annotations: vec![],
    };
    let record = ActivationRecord {
        activation_id: id.to_string(),
        namespace: who.namespace.clone(),
        entity_path: format!("{}/{}", who.namespace, trigger.name),
        start,
        end: 0,
        doc: SharedJson::to_shared(&doc).map_err(|e| {
            tracing::error!(error = %e, "cannot serialise the trigger activation");
            Error::Internal
        })?,
    };
    Ok((record, doc))
}

/// One line of the trigger activation's logs (OpenWhisk's `RuleActivationResult`). The fields
/// are in the order OpenWhisk prints them: its `JsObject` is a Scala hash map of these five keys,
/// which iterates `statusCode, success, activationId, rule, action` and
/// `statusCode, success, rule, error, action`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleActivationResult {
    /// 0 success, 1 application error (the caller's), 3 whisk error (the platform's).
    pub status_code: u8,
    pub success: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activation_id: Option<String>,
    pub rule: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub action: String,
}

impl RuleActivationResult {
    fn activated(rule: &str, action: &str, id: String) -> Self {
        Self {
            status_code: 0,
            success: true,
            activation_id: Some(id),
            rule: rule.to_string(),
            error: None,
            action: action.to_string(),
        }
    }

    fn failed(rule: &str, action: &str, e: &Error) -> Self {
        Self::failed_with(rule, action, e.is_server_error(), e.message())
    }

    fn failed_with(rule: &str, action: &str, server_error: bool, error: String) -> Self {
        Self {
            status_code: if server_error { 3 } else { 1 },
            success: false,
            activation_id: None,
            rule: rule.to_string(),
            error: Some(error),
            action: action.to_string(),
        }
    }
}

/// Invoke one rule's action (non-blocking); an inactive rule is only reported.
async fn activate_rule(
    state: &AppState,
    who: &Identity,
    rule: &str,
    link: &ReducedRule,
    args: &Value,
    tid: &str,
) -> RuleActivationResult {
    let action_name = format!("{}/{}", link.action.path, link.action.name);
    if link.status != ACTIVE {
        let msg = messages::trigger_with_inactive_rule(rule, &action_name);
        return RuleActivationResult::failed_with(rule, &action_name, false, msg);
    }
    let Some(action) = FullyQualifiedName::from_doc_id(&action_name) else {
        return RuleActivationResult::failed(rule, &action_name, &Error::NotFound);
    };
    match invoke_rule_action(state, who, &action, args.clone(), tid).await {
        Ok(id) => RuleActivationResult::activated(rule, &action_name, id),
        Err(e) => RuleActivationResult::failed(rule, &action_name, &e),
    }
}

async fn invoke_rule_action(
    state: &AppState,
    who: &Identity,
    action: &FullyQualifiedName,
    args: Value,
    tid: &str,
) -> Result<String> {
    check_invoke_throttles(state, who)?;
    let resolved = find_action(
        state,
        who,
        &action.namespace,
        action.package.as_deref(),
        &action.name,
        false,
    )
    .await?;
    let inv = Invocation {
        who: who.clone(),
        action: resolved,
        payload: args,
        transaction_id: tid.to_string(),
        cause: None,
        step: Default::default(),
    };
    let (id, _) = activation::invoke(state, inv, Duration::ZERO).await?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_results_print_in_openwhisk_order() {
        let ok = RuleActivationResult::activated("ns/r", "ns/a", "abc".into());
        assert_eq!(
            serde_json::to_string(&ok).unwrap(),
            r#"{"statusCode":0,"success":true,"activationId":"abc","rule":"ns/r","action":"ns/a"}"#
        );
        let msg = messages::trigger_with_inactive_rule("ns/r", "ns/a");
        let inactive = RuleActivationResult::failed_with("ns/r", "ns/a", false, msg);
        assert_eq!(
            serde_json::to_string(&inactive).unwrap(),
            r#"{"statusCode":1,"success":false,"rule":"ns/r","error":"Rule 'ns/r' is inactive, action 'ns/a' was not activated.","action":"ns/a"}"#
        );
        let down = RuleActivationResult::failed("ns/r", "ns/a", &Error::Unavailable);
        assert_eq!(down.status_code, 3);
    }
}
