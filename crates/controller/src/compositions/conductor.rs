//! Conductor actions (spec §3.4), orchestrated in the controller as OpenWhisk's
//! `PrimitiveActions.invokeComposition` does: the conductor action (annotation `conductor`)
//! runs as a plain action and answers with a continuation `{action?, params?, state?}`; the
//! controller invokes `action` on `params`, then the conductor again on the component's result
//! merged with `state`, until the conductor names no action. The composition's own record (the
//! id the caller gets) lists every derived activation, conductor steps and components alike.

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use serde_json::{json, Map, Value};
use whirl_core::entity::{kv_truthy, ActivationResponse, ActivationStatus, KeyValue};
use whirl_core::names::FullyQualifiedName;
use whirl_core::now_millis;
use whirl_core::runtimes::SEQUENCE;

use super::{finish, Accounting, Outcome};
use crate::entities::{resolve_action, ResolvedAction};
use crate::invocation::{invoke_boxed, Invocation, Step, Waited};
use crate::AppState;

pub const TOO_LONG: &str = "Too many actions in the composition.";
const ACTIVATION_FAILURE: &str = "Activation failure during composition.";

fn activation_timeout(id: &str) -> String {
    format!("Timeout reached when retrieving activation {id} during composition.")
}

fn component_invalid(v: &Value) -> String {
    format!("Failed to parse action name from json value {v} during composition.")
}

fn component_not_found(name: &str) -> String {
    format!("Failed to resolve action with name '{name}' during composition.")
}

fn component_not_accessible(name: &str) -> String {
    format!("Failed entitlement check for action with name '{name}' during composition.")
}

/// How long the controller waits for a nested composition: it has no time limit of its own, so
/// this only bounds a controller's memory of it (its steps are each bounded).
const NESTED_WAIT: Duration = Duration::from_secs(2 * 60 * 60);

/// One composition being run.
struct Session {
    id: String,
    /// The caller, the conductor action and the composition's cause.
    inv: Invocation,
    duration: i64,
    max_memory: u64,
    state: Option<Map<String, Value>>,
    accounting: Arc<Accounting>,
    logs: Vec<String>,
}

/// What a composition reads from a derived activation's record.
#[derive(serde::Deserialize)]
struct DerivedRecord {
    #[serde(default)]
    duration: Option<i64>,
    #[serde(default)]
    start: i64,
    #[serde(default)]
    end: i64,
    response: ActivationResponse,
    #[serde(default)]
    annotations: Vec<KeyValue>,
}

/// Run the composition of conductor action `inv` under activation `id`; `accounting` is the
/// enclosing composition's (counts are global across nesting) or a new one. Writes the
/// composition's record and completes the waiter registered under `id`.
pub(crate) async fn run(
    state: AppState,
    inv: Invocation,
    id: String,
    accepted_at: i64,
    accounting: Arc<Accounting>,
) {
    let start = now_millis();
    let mut s = Session {
        id: id.clone(),
        max_memory: inv.action.action.limits.memory,
        inv,
        duration: 0,
        state: None,
        accounting,
        logs: Vec::new(),
    };
    let payload = s.inv.payload.clone();
    let response = compose(&state, &mut s, payload).await;
    let outcome = Outcome {
        start,
        end: now_millis(),
        accepted_at,
        duration: s.duration,
        max_memory: s.max_memory,
        response,
        logs: std::mem::take(&mut s.logs),
        conductor: true,
    };
    finish(&state, &s.inv, &id, outcome).await;
}

/// At most n component and 2n+1 conductor invocations per composition, nesting included, where
/// n is the longest sequence allowed.
fn max_components(state: &AppState) -> usize {
    usize::try_from(state.inner.config.namespace_defaults.sequence_max_length).unwrap_or(usize::MAX)
}

/// The conductor loop: returns the composition's response.
async fn compose(state: &AppState, s: &mut Session, first: Value) -> ActivationResponse {
    let n = max_components(state);
    let mut payload = first;
    loop {
        if s.accounting.conductors() > 2 * n {
            return ActivationResponse::new(
                ActivationStatus::ApplicationError,
                json!({"error": TOO_LONG}),
            );
        }
        // The state of the previous step goes into the conductor's parameters.
        if let Some(st) = s.state.take() {
            let mut p = match payload {
                Value::Object(m) => m,
                _ => Map::new(),
            };
            p.extend(st);
            payload = Value::Object(p);
        }
        s.accounting.add_conductor();
        let step = Invocation {
            who: s.inv.who.clone(),
            action: s.inv.action.clone(),
            payload,
            transaction_id: s.inv.transaction_id.clone(),
            cause: Some(s.id.clone()),
            step: Step::Conductor,
        };
        let wait =
            Duration::from_millis(s.inv.action.action.limits.timeout) + Duration::from_secs(60);
        let record = match derived(state, s, step, wait).await {
            Ok(r) => r,
            Err(failed) => return failed,
        };
        let result = match record.response.result.clone() {
            Some(Value::Object(m)) => m,
            _ => Map::new(),
        };
        // `params` and `state` that are not objects are boxed.
        let params = result.get("params").map(|p| match p {
            Value::Object(m) => m.clone(),
            other => Map::from_iter([("value".to_string(), other.clone())]),
        });
        s.state = result.get("state").map(|st| match st {
            Value::Object(m) => m.clone(),
            other => Map::from_iter([("state".to_string(), other.clone())]),
        });
        let Some(next) = result.get("action") else {
            let out = params.map(Value::Object).unwrap_or(Value::Object(result));
            return ActivationResponse::new(record.response.status(), out);
        };
        let params = params.map(Value::Object).unwrap_or_else(|| json!({}));
        payload = match parse_name(next, &s.inv.who.namespace) {
            Some(_) if s.accounting.components() >= n => json!({"error": TOO_LONG}),
            Some(fqn) => match component(state, s, &fqn, params).await {
                Ok(result) => result,
                Err(failed) => return failed,
            },
            None => json!({"error": component_invalid(next)}),
        };
    }
}

/// The name the conductor asked for, resolved against the caller's namespace.
fn parse_name(v: &Value, ns: &str) -> Option<FullyQualifiedName> {
    let name = v.as_str()?;
    let fqn = FullyQualifiedName::parse(name, ns).ok()?;
    whirl_core::names::validate_name(&fqn.name).ok()?;
    Some(fqn)
}

/// Invoke the component `fqn` on `params`: its result (what the conductor gets next), a
/// resolution or entitlement failure as `{error}` for the conductor, or the composition's end.
async fn component(
    state: &AppState,
    s: &mut Session,
    fqn: &FullyQualifiedName,
    params: Value,
) -> Result<Value, ActivationResponse> {
    let shown = fqn.doc_id();
    let action = match resolve_action(
        state,
        &s.inv.who,
        &fqn.namespace,
        fqn.package.as_deref(),
        &fqn.name,
        false,
    )
    .await
    {
        Ok(a) => a,
        Err(e) if e.status == StatusCode::FORBIDDEN => {
            return Ok(json!({"error": component_not_accessible(&shown)}))
        }
        Err(_) => return Ok(json!({"error": component_not_found(&shown)})),
    };
    let nested = is_conductor(&action);
    // A nested composition counts its own steps; anything else is one component.
    let (step, wait) = if nested {
        (Step::Component(s.accounting.clone()), NESTED_WAIT)
    } else {
        s.accounting.add_component();
        let wait = Duration::from_millis(action.action.limits.timeout) + Duration::from_secs(60);
        (Step::Outer, wait)
    };
    let child = Invocation {
        who: s.inv.who.clone(),
        action,
        payload: params,
        transaction_id: s.inv.transaction_id.clone(),
        cause: Some(s.id.clone()),
        step,
    };
    let record = derived(state, s, child, wait).await?;
    Ok(record.response.result.unwrap_or_else(|| json!({})))
}

/// Whether a resolved action runs as a composition.
pub(crate) fn is_conductor(action: &ResolvedAction) -> bool {
    action.action.exec.kind != SEQUENCE && kv_truthy(&action.action.annotations, "conductor")
}

/// Invoke a derived activation and wait for its record; log its id and account its duration
/// and memory. A timeout or failure ends the composition with a whisk error.
async fn derived(
    state: &AppState,
    s: &mut Session,
    inv: Invocation,
    wait: Duration,
) -> Result<DerivedRecord, ActivationResponse> {
    let whisk_error =
        |msg: String| ActivationResponse::new(ActivationStatus::WhiskError, json!({"error": msg}));
    match invoke_boxed(state.clone(), inv, wait).await {
        Ok((id, Waited::Done(record))) => {
            s.logs.push(id);
            let Ok(r) = record.parse::<DerivedRecord>() else {
                return Err(whisk_error(ACTIVATION_FAILURE.into()));
            };
            s.duration += r.duration.unwrap_or(r.end - r.start).max(0);
            let memory = r
                .annotations
                .iter()
                .find(|kv| kv.key == "limits")
                .and_then(|kv| kv.value.get("memory"))
                .and_then(Value::as_u64);
            if let Some(m) = memory {
                s.max_memory = s.max_memory.max(m);
            }
            Ok(r)
        }
        Ok((id, Waited::Accepted)) => {
            let msg = activation_timeout(&id);
            s.logs.push(id);
            Err(whisk_error(msg))
        }
        Err(_) => Err(whisk_error(ACTIVATION_FAILURE.into())),
    }
}
