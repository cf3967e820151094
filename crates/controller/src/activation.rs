//! Starting activations: throttles, parameter merging, publishing on the bus, waiting for
//! completions (blocking invokes), pending markers for acknowledged activations, and sequences
//! (orchestrated here, in the controller, as in OpenWhisk).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{json, Map, Value};
use tokio::sync::{mpsc, oneshot};
use whirl_bus::{ActivationMessage, ActivationPublisher, CompletionMessage, Invoker};
use whirl_core::entity::{
    activation_entity_path, kv_get, kv_truthy, ActivationResponse, ActivationStatus, KeyValue,
    WhiskActivation,
};
use whirl_core::names::FullyQualifiedName;
use whirl_core::runtimes::SEQUENCE;
use whirl_core::{ids, messages, now_millis};
use whirl_store::ActivationRecord;

use crate::auth::Identity;
use crate::entities::{resolve_action, ResolvedAction};
use crate::error::{ApiError, ApiResult};
use crate::throttle::Throttles;
use crate::AppState;

/// Blocking waiters and the bus.
#[derive(Debug)]
pub struct Activations {
    publisher: ActivationPublisher,
    waiters: Mutex<HashMap<String, oneshot::Sender<Value>>>,
    pub(crate) throttles: Throttles,
}

impl Activations {
    pub fn new(publisher: ActivationPublisher) -> Self {
        Self {
            publisher,
            waiters: Mutex::new(HashMap::new()),
            throttles: Throttles::default(),
        }
    }

    fn waiters(&self) -> std::sync::MutexGuard<'_, HashMap<String, oneshot::Sender<Value>>> {
        self.waiters.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Hand a completion to its waiter (if any) and release the concurrency slot.
    pub fn complete(&self, c: CompletionMessage) {
        self.throttles.completed(&c.namespace);
        if let Some(tx) = self.waiters().remove(&c.activation_id) {
            let _ = tx.send(c.record);
        }
    }

    fn register(&self, id: &str) -> oneshot::Receiver<Value> {
        let (tx, rx) = oneshot::channel();
        self.waiters().insert(id.to_string(), tx);
        rx
    }

    fn forget(&self, id: &str) {
        self.waiters().remove(id);
    }
}

/// Feed completions from the bus to the waiters until the bus closes.
pub async fn completion_loop(
    state: AppState,
    mut feed: mpsc::UnboundedReceiver<CompletionMessage>,
) {
    while let Some(c) = feed.recv().await {
        state.inner.activations.complete(c);
    }
}

/// An invocation request after HTTP parsing.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub who: Identity,
    pub action: ResolvedAction,
    /// The request payload: an object (merged over the parameters) or an array (passed as is).
    pub payload: Value,
    pub transaction_id: String,
    pub cause: Option<String>,
}

/// How an accepted activation ended for the caller.
#[derive(Debug)]
pub enum Waited {
    /// The stored record (DB form).
    Done(Value),
    /// Still running after the wait; the caller gets 202 (a pending marker was written).
    Accepted,
}

fn store_enabled(who: &Identity) -> bool {
    who.limits
        .get("storeActivations")
        .and_then(Value::as_bool)
        .unwrap_or(true)
}

/// 400 when the payload overrides a parameter the action made final.
fn check_final(inv: &Invocation) -> ApiResult<()> {
    if !kv_truthy(&inv.action.action.annotations, "final") {
        return Ok(());
    }
    if let Value::Object(p) = &inv.payload {
        for kv in &inv.action.params {
            if !kv.value.is_null() && p.contains_key(&kv.key) {
                return Err(ApiError::bad_request(messages::PARAMETERS_NOT_ALLOWED));
            }
        }
    }
    Ok(())
}

/// Run arguments and init arguments: parameters (without `init` ones) overridden by the payload.
fn arguments(params: &[KeyValue], payload: &Value) -> (Value, Map<String, Value>) {
    let mut init = Map::new();
    let mut args = Map::new();
    for kv in params {
        if kv.init {
            init.insert(kv.key.clone(), kv.value.clone());
        } else {
            args.insert(kv.key.clone(), kv.value.clone());
        }
    }
    match payload {
        Value::Object(p) => {
            for (k, v) in p {
                args.insert(k.clone(), v.clone());
            }
            (Value::Object(args), init)
        }
        other => (other.clone(), init),
    }
}

/// The record written for an accepted activation before it is acknowledged; replaced by the real
/// record on completion, turned into a whisk error after a crash.
fn pending_record(inv: &Invocation, id: &str, accepted_at: i64, kind: &str) -> ActivationRecord {
    let fqn = &inv.action.fqn;
    let mut annotations = vec![
        KeyValue::new("path", json!(fqn.doc_id())),
        KeyValue::new("kind", json!(kind)),
    ];
    if let Some(b) = &inv.action.binding {
        annotations.push(KeyValue::new("binding", json!(b)));
    }
    let doc = WhiskActivation {
        namespace: inv.who.namespace.clone(),
        name: fqn.name.clone(),
        version: inv.action.action.version.clone(),
        subject: inv.who.subject.clone(),
        publish: false,
        activation_id: id.to_string(),
        start: accepted_at,
        end: 0,
        duration: None,
        cause: inv.cause.clone(),
        response: ActivationResponse::new(
            ActivationStatus::WhiskError,
            json!({"error": "pending"}),
        ),
        logs: vec![],
        annotations,
    };
    ActivationRecord {
        activation_id: id.to_string(),
        namespace: inv.who.namespace.clone(),
        entity_path: entity_path(inv),
        start: accepted_at,
        end: 0,
        doc: serde_json::to_value(doc).unwrap_or(Value::Null),
    }
}

fn entity_path(inv: &Invocation) -> String {
    activation_entity_path(
        &inv.who.namespace,
        &inv.action.fqn.doc_id(),
        inv.action.binding.as_deref(),
    )
}

/// Check throttles for one invocation request (rate first, then concurrency, as OpenWhisk).
pub fn check_invoke_throttles(state: &AppState, who: &Identity) -> ApiResult<()> {
    let d = &state.inner.config.namespace_defaults;
    let t = &state.inner.activations.throttles;
    t.check_rate(
        &who.namespace,
        crate::throttle::Rate::Invocations,
        &who.limits,
        d.invocations_per_minute,
    )?;
    t.check_concurrency(&who.namespace, &who.limits, d.concurrent_invocations)
}

/// Start an activation and wait for it up to `wait` (zero: non-blocking). Returns its id and
/// how the wait ended. Every acknowledged activation ends with a record: a non-blocking or
/// timed-out one gets a pending marker first.
pub async fn invoke(
    state: &AppState,
    inv: Invocation,
    wait: Duration,
) -> ApiResult<(String, Waited)> {
    check_final(&inv)?;
    let id = ids::new_activation_id();
    let accepted_at = now_millis();
    if inv.action.action.exec.kind == SEQUENCE {
        let rx = state.inner.activations.register(&id);
        let st = state.clone();
        let inv2 = inv.clone();
        let id2 = id.clone();
        tokio::spawn(async move { run_sequence(st, inv2, id2, accepted_at).await });
        return wait_for(state, &inv, &id, accepted_at, rx, wait).await;
    }
    let (content, init_args) = arguments(&inv.action.params, &inv.payload);
    let provide_api_key = match kv_get(&inv.action.action.annotations, "provide-api-key") {
        None => true,
        Some(_) => kv_truthy(&inv.action.action.annotations, "provide-api-key"),
    };
    let msg = ActivationMessage {
        transaction_id: inv.transaction_id.clone(),
        activation_id: id.clone(),
        action_id: inv.action.fqn.doc_id(),
        revision: inv.action.rev,
        version: inv.action.action.version.clone(),
        binding: inv.action.binding.clone(),
        user: Invoker {
            subject: inv.who.subject.clone(),
            namespace: inv.who.namespace.clone(),
            api_key: inv.who.api_key(),
        },
        blocking: !wait.is_zero(),
        content,
        init_args,
        provide_api_key,
        cause: inv.cause.clone(),
        accepted_at,
        store: store_enabled(&inv.who),
    };
    let acts = &state.inner.activations;
    if wait.is_zero() {
        if msg.store {
            let kind = inv.action.action.exec.kind.clone();
            state
                .inner
                .stores
                .activations
                .put_pending(pending_record(&inv, &id, accepted_at, &kind))
                .await?;
        }
        acts.throttles.started(&inv.who.namespace);
        if acts.publisher.publish(msg).is_err() {
            acts.throttles.completed(&inv.who.namespace);
            return Err(ApiError::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                messages::SERVICE_UNAVAILABLE,
            ));
        }
        return Ok((id, Waited::Accepted));
    }
    let rx = acts.register(&id);
    acts.throttles.started(&inv.who.namespace);
    if acts.publisher.publish(msg).is_err() {
        acts.forget(&id);
        acts.throttles.completed(&inv.who.namespace);
        return Err(ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            messages::SERVICE_UNAVAILABLE,
        ));
    }
    wait_for(state, &inv, &id, accepted_at, rx, wait).await
}

async fn wait_for(
    state: &AppState,
    inv: &Invocation,
    id: &str,
    accepted_at: i64,
    rx: oneshot::Receiver<Value>,
    wait: Duration,
) -> ApiResult<(String, Waited)> {
    match tokio::time::timeout(wait, rx).await {
        Ok(Ok(record)) => Ok((id.to_string(), Waited::Done(record))),
        _ => {
            state.inner.activations.forget(id);
            if store_enabled(&inv.who) {
                let kind = inv.action.action.exec.kind.clone();
                // Ignored by the store if the record landed meanwhile.
                state
                    .inner
                    .stores
                    .activations
                    .put_pending(pending_record(inv, id, accepted_at, &kind))
                    .await?;
            }
            Ok((id.to_string(), Waited::Accepted))
        }
    }
}

type BoxedInvoke =
    std::pin::Pin<Box<dyn std::future::Future<Output = ApiResult<(String, Waited)>> + Send>>;

/// [`invoke`] behind a `dyn` future: sequences invoke their components recursively, and the
/// explicit `Send` box breaks the cycle in the compiler's `Send` inference.
fn invoke_boxed(state: AppState, inv: Invocation, wait: Duration) -> BoxedInvoke {
    Box::pin(async move { invoke(&state, inv, wait).await })
}

/// The longest a controller waits for one sequence component (its time limit + 1 min).
fn component_wait(timeout_ms: u64) -> Duration {
    Duration::from_millis(timeout_ms) + Duration::from_secs(60)
}

/// Run a sequence (spec §3.3): components one after another, each a blocking invocation on the
/// previous result; stop at the first error. Writes the sequence's own record and completes the
/// waiter registered under `id`.
async fn run_sequence(state: AppState, inv: Invocation, id: String, accepted_at: i64) {
    let start = now_millis();
    let components = inv
        .action
        .action
        .exec
        .components
        .clone()
        .unwrap_or_default();
    let mut input = match &inv.payload {
        Value::Object(_) | Value::Array(_) => inv.payload.clone(),
        _ => json!({}),
    };
    let mut logs = Vec::new();
    let mut duration = 0i64;
    let mut max_memory = 0u64;
    let mut response = ActivationResponse::new(ActivationStatus::Success, json!({}));
    for c in &components {
        let resolved = match FullyQualifiedName::parse(c, &inv.who.namespace) {
            Ok(f) => {
                resolve_action(
                    &state,
                    &inv.who,
                    &f.namespace,
                    f.package.as_deref(),
                    &f.name,
                    false,
                )
                .await
            }
            Err(_) => Err(ApiError::not_found()),
        };
        let action = match resolved {
            Ok(a) => a,
            Err(_) => {
                response = ActivationResponse::new(
                    ActivationStatus::ApplicationError,
                    json!({"error": messages::SEQUENCE_COMPONENT_NOT_FOUND}),
                );
                break;
            }
        };
        max_memory = max_memory.max(action.action.limits.memory);
        let wait = component_wait(action.action.limits.timeout);
        let child = Invocation {
            who: inv.who.clone(),
            action,
            payload: input.clone(),
            transaction_id: inv.transaction_id.clone(),
            cause: Some(id.clone()),
        };
        let outcome = invoke_boxed(state.clone(), child, wait).await;
        match outcome {
            Ok((child_id, Waited::Done(record))) => {
                logs.push(child_id);
                duration += record.get("duration").and_then(Value::as_i64).unwrap_or(0);
                let r: Option<ActivationResponse> = record
                    .get("response")
                    .and_then(|r| serde_json::from_value(r.clone()).ok());
                let Some(r) = r else {
                    response = ActivationResponse::new(
                        ActivationStatus::WhiskError,
                        json!({"error": "Sequence failed."}),
                    );
                    break;
                };
                let failed = r.status() != ActivationStatus::Success;
                let result = r.result.clone().unwrap_or_else(|| json!({}));
                response = r;
                if failed || result.get("error").is_some() {
                    break;
                }
                input = match result {
                    Value::Object(_) | Value::Array(_) => result,
                    _ => json!({}),
                };
            }
            Ok((child_id, Waited::Accepted)) => {
                logs.push(child_id.clone());
                response = ActivationResponse::new(
                    ActivationStatus::WhiskError,
                    json!({"error": format!("Timeout reached when retrieving activation {child_id} for sequence component.")}),
                );
                break;
            }
            Err(_) => {
                response = ActivationResponse::new(
                    ActivationStatus::WhiskError,
                    json!({"error": "Sequence failed."}),
                );
                break;
            }
        }
    }
    let end = now_millis();
    let fqn = &inv.action.fqn;
    let limits = inv.action.action.limits;
    let mut annotations = vec![
        KeyValue::new("topmost", json!(inv.cause.is_none())),
        KeyValue::new("path", json!(fqn.doc_id())),
        KeyValue::new("kind", json!(SEQUENCE)),
        KeyValue::new("waitTime", json!((start - accepted_at).max(0))),
        KeyValue::new(
            "limits",
            json!({"timeout": limits.timeout, "memory": max_memory, "logs": limits.logs, "concurrency": limits.concurrency}),
        ),
    ];
    if inv.cause.is_some() {
        annotations.push(KeyValue::new("causedBy", json!("sequence")));
    }
    if let Some(b) = &inv.action.binding {
        annotations.push(KeyValue::new("binding", json!(b)));
    }
    let doc = WhiskActivation {
        namespace: inv.who.namespace.clone(),
        name: fqn.name.clone(),
        version: inv.action.action.version.clone(),
        subject: inv.who.subject.clone(),
        publish: false,
        activation_id: id.clone(),
        start,
        end,
        duration: Some(duration),
        cause: inv.cause.clone(),
        response,
        logs,
        annotations,
    };
    let doc_json = serde_json::to_value(&doc).unwrap_or(Value::Null);
    if store_enabled(&inv.who) {
        let rec = ActivationRecord {
            activation_id: id.clone(),
            namespace: inv.who.namespace.clone(),
            entity_path: entity_path(&inv),
            start,
            end,
            doc: doc_json.clone(),
        };
        if let Err(e) = state.inner.stores.activations.put(rec).await {
            tracing::error!(error = %e, activation_id = %id, "cannot store the sequence record");
        }
    }
    if let Some(tx) = state.inner.activations.waiters().remove(&id) {
        let _ = tx.send(doc_json);
    }
}
