//! Invocation, the domain logic behind every way of running an action (the REST invoke, a
//! sequence or conductor step, a rule fired by a trigger): throttles, parameter merging, the
//! load balancer's choice of invoker, publishing on the bus, waiting for completions (blocking
//! invokes), and pending markers for acknowledged activations. Compositions build on it in
//! [`crate::compositions`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Map, Value};
use tokio::sync::oneshot;
use whirl_bus::{
    ActivationMessage, CompletionMessage, ControllerId, Feed, Invoker, InvokerPing, Publisher,
};
use whirl_core::entity::{
    activation_entity_path, kv_get, kv_truthy, ActivationResponse, ActivationStatus, KeyValue,
    WhiskActivation,
};
use whirl_core::json::SharedJson;
use whirl_core::runtimes::SEQUENCE;
use whirl_core::{ids, messages, now_millis};
use whirl_store::ActivationRecord;

use crate::auth::Identity;
use crate::balancer::{LoadBalancer, Outcome, Placement};
use crate::compositions;
use crate::entities::ResolvedAction;
use crate::error::{ApiError, ApiResult};
use crate::supervision::{ack_timeout, InFlight, LostRecord};
use crate::throttle::Throttles;
use crate::AppState;

/// What a waiter gets: the stored record (DB form), or nothing if the completion carried none.
type Waiter = oneshot::Sender<Option<SharedJson>>;

/// This controller's activations in flight: the bus, the balancer, blocking waiters, throttles.
#[derive(Debug)]
pub struct Activations {
    controller: ControllerId,
    publisher: Arc<dyn Publisher<ActivationMessage>>,
    pub(crate) balancer: Arc<dyn LoadBalancer>,
    waiters: Mutex<HashMap<String, Waiter>>,
    /// Activations placed on invokers and not completed (see [`crate::supervision`]).
    in_flight: Mutex<HashMap<String, InFlight>>,
    pub(crate) throttles: Throttles,
}

impl Activations {
    pub fn new(
        controller: ControllerId,
        publisher: Arc<dyn Publisher<ActivationMessage>>,
        balancer: Arc<dyn LoadBalancer>,
    ) -> Self {
        Self {
            controller,
            publisher,
            balancer,
            waiters: Mutex::new(HashMap::new()),
            in_flight: Mutex::new(HashMap::new()),
            throttles: Throttles::default(),
        }
    }

    /// Divide the per-namespace throttles among `controllers` controllers (OpenWhisk: each
    /// enforces its share, dilated by 1.2 when there is more than one).
    pub fn with_controllers(mut self, controllers: u32) -> Self {
        self.throttles = Throttles::shared_by(controllers);
        self
    }

    fn in_flight(&self) -> std::sync::MutexGuard<'_, HashMap<String, InFlight>> {
        self.in_flight.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Remember an activation about to be published (before: its completion may come first).
    pub(crate) fn track(&self, id: &str, f: InFlight) {
        self.in_flight().insert(id.to_string(), f);
    }

    pub(crate) fn untrack(&self, id: &str) {
        self.in_flight().remove(id);
    }

    /// The activations to give up: past their deadline, or placed on an offline invoker at
    /// least `stale` ago.
    pub(crate) fn take_lost(
        &self,
        now: tokio::time::Instant,
        offline: &[whirl_bus::InvokerId],
        stale: std::time::Duration,
    ) -> Vec<(String, InFlight)> {
        let mut map = self.in_flight();
        let lost: Vec<String> = map
            .iter()
            .filter(|(_, f)| {
                f.deadline <= now
                    || (offline.contains(&f.invoker) && now.duration_since(f.placed) >= stale)
            })
            .map(|(id, _)| id.clone())
            .collect();
        lost.into_iter()
            .filter_map(|id| map.remove(&id).map(|f| (id, f)))
            .collect()
    }

    /// Answer a waiter, if one is still there.
    pub(crate) fn wake(&self, id: &str, record: Option<SharedJson>) {
        if let Some(tx) = self.waiters().remove(id) {
            let _ = tx.send(record);
        }
    }

    pub(crate) async fn publish(&self, msg: ActivationMessage) -> whirl_bus::Result<()> {
        self.publisher.publish(msg).await
    }

    pub fn controller(&self) -> ControllerId {
        self.controller
    }

    fn waiters(&self) -> std::sync::MutexGuard<'_, HashMap<String, Waiter>> {
        self.waiters.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Hand a completion to its waiter (if any) and release the slot and the concurrency count.
    /// A completion for an activation already given up (see [`crate::supervision`]) only
    /// reaches its waiter, if any is left.
    pub fn complete(&self, c: CompletionMessage) {
        if self.in_flight().remove(&c.activation_id).is_some() {
            self.throttles.completed(&c.namespace);
            self.balancer.release(&c.activation_id);
            let outcome = if c.whisk_error {
                Outcome::SystemError
            } else {
                Outcome::Success
            };
            self.balancer.outcome(c.invoker, outcome);
        }
        self.wake(&c.activation_id, c.record);
    }

    /// Complete a waiter registered for an activation this controller runs itself (a
    /// composition).
    pub(crate) fn complete_local(&self, id: &str, record: SharedJson) {
        if let Some(tx) = self.waiters().remove(id) {
            let _ = tx.send(Some(record));
        }
    }

    pub(crate) fn register(&self, id: &str) -> oneshot::Receiver<Option<SharedJson>> {
        let (tx, rx) = oneshot::channel();
        self.waiters().insert(id.to_string(), tx);
        rx
    }

    fn forget(&self, id: &str) {
        self.waiters().remove(id);
    }
}

/// Feed completions from the bus to the waiters until the bus closes.
pub async fn completion_loop(state: AppState, mut feed: Box<dyn Feed<CompletionMessage>>) {
    while let Some(c) = feed.next().await {
        state.inner.activations.complete(c);
    }
}

/// Feed invoker pings to the load balancer until the bus closes.
pub async fn ping_loop(state: AppState, mut feed: Box<dyn Feed<InvokerPing>>) {
    while let Some(p) = feed.next().await {
        state.inner.activations.balancer.ping(&p);
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
    /// Where this invocation stands in a composition.
    pub step: Step,
}

/// How an invocation relates to a conductor composition (spec §3.4).
#[derive(Debug, Clone, Default)]
pub enum Step {
    /// On its own (a request, a rule, a sequence component): a conductor action starts a new
    /// composition.
    #[default]
    Outer,
    /// A conductor step of a running composition: the conductor action runs as a plain action.
    Conductor,
    /// A component of a running composition: a conductor action starts a nested composition
    /// that shares the enclosing one's accounting.
    Component(Arc<compositions::Accounting>),
}

/// How an accepted activation ended for the caller.
#[derive(Debug)]
pub enum Waited {
    /// The stored record (DB form).
    Done(SharedJson),
    /// Still running after the wait; the caller gets 202 (a pending marker was written).
    Accepted,
}

pub(crate) fn store_enabled(who: &Identity) -> bool {
    who.limits.stores_activations()
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
pub(crate) fn arguments(params: &[KeyValue], payload: &Value) -> (Value, Map<String, Value>) {
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
pub(crate) fn pending_record(
    inv: &Invocation,
    id: &str,
    accepted_at: i64,
    kind: &str,
) -> ApiResult<ActivationRecord> {
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
    Ok(ActivationRecord {
        activation_id: id.to_string(),
        namespace: inv.who.namespace.clone(),
        entity_path: entity_path(inv),
        start: accepted_at,
        end: 0,
        doc: SharedJson::to_shared(&doc).map_err(|e| {
            tracing::error!(error = %e, "cannot serialise a pending marker");
            ApiError::internal()
        })?,
    })
}

pub(crate) fn entity_path(inv: &Invocation) -> String {
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
    let acts = &state.inner.activations;
    if inv.action.action.exec.kind == SEQUENCE {
        // The controller runs compositions itself, so it owns their pending markers.
        let owner = acts.controller.to_string();
        let rx = acts.register(&id);
        let st = state.clone();
        let inv2 = inv.clone();
        let id2 = id.clone();
        tokio::spawn(async move { compositions::sequence::run(st, inv2, id2, accepted_at).await });
        return wait_for(state, &inv, &id, &owner, accepted_at, rx, wait).await;
    }
    if crate::feeds::is_builtin(&inv.action) {
        // Built-in feed actions run in the controller, which owns their pending markers.
        let owner = acts.controller.to_string();
        let rx = acts.register(&id);
        let st = state.clone();
        let inv2 = inv.clone();
        let id2 = id.clone();
        tokio::spawn(async move { crate::feeds::run(st, inv2, id2, accepted_at).await });
        return wait_for(state, &inv, &id, &owner, accepted_at, rx, wait).await;
    }
    let accounting = match &inv.step {
        Step::Conductor => None,
        _ if !compositions::conductor::is_conductor(&inv.action) => None,
        Step::Component(a) => Some(a.clone()),
        Step::Outer => Some(Arc::default()),
    };
    if let Some(accounting) = accounting {
        let owner = acts.controller.to_string();
        let rx = acts.register(&id);
        let st = state.clone();
        let inv2 = inv.clone();
        let id2 = id.clone();
        tokio::spawn(async move {
            compositions::conductor::run(st, inv2, id2, accepted_at, accounting).await
        });
        return wait_for(state, &inv, &id, &owner, accepted_at, rx, wait).await;
    }
    let (content, init_args) = arguments(&inv.action.params, &inv.payload);
    let provide_api_key = match kv_get(&inv.action.action.annotations, "provide-api-key") {
        None => true,
        Some(_) => kv_truthy(&inv.action.action.annotations, "provide-api-key"),
    };
    let memory_mb = u32::try_from(inv.action.action.limits.memory).unwrap_or(u32::MAX);
    let action_id = inv.action.fqn.doc_id();
    let invoker = acts
        .balancer
        .place(Placement {
            activation_id: &id,
            namespace: &inv.who.namespace,
            action_id: &action_id,
            memory_mb,
            concurrency: u32::try_from(inv.action.action.limits.concurrency.max(1))
                .unwrap_or(u32::MAX),
        })
        .map_err(|_| unavailable())?;
    let owner = invoker.to_string();
    let content = serde_json::value::to_raw_value(&content).map_err(|e| {
        acts.balancer.release(&id);
        ApiError::bad_request(messages::malformed(&e.to_string()))
    })?;
    let tracked = InFlight {
        invoker,
        placed: tokio::time::Instant::now(),
        namespace: inv.who.namespace.clone(),
        deadline: tokio::time::Instant::now() + ack_timeout(inv.action.action.limits.timeout),
        lost: store_enabled(&inv.who).then(|| LostRecord {
            namespace: inv.who.namespace.clone(),
            subject: inv.who.subject.clone(),
            name: inv.action.fqn.name.clone(),
            version: inv.action.action.version.clone(),
            entity_path: entity_path(&inv),
            path: action_id.clone(),
            kind: inv.action.action.exec.kind.clone(),
            binding: inv.action.binding.clone(),
            cause: inv.cause.clone(),
            accepted_at,
        }),
    };
    let msg = ActivationMessage {
        transaction_id: inv.transaction_id.clone(),
        activation_id: id.clone(),
        controller: acts.controller,
        invoker,
        action_id,
        revision: inv.action.rev,
        updated: inv.action.action.updated,
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
    if wait.is_zero() {
        let store = msg.store;
        acts.throttles.started(&inv.who.namespace);
        acts.track(&id, tracked);
        if acts.publisher.publish(msg).await.is_err() {
            acts.untrack(&id);
            acts.throttles.completed(&inv.who.namespace);
            acts.balancer.release(&id);
            return Err(unavailable());
        }
        // Published, so it runs; the marker (written before the caller is answered) makes sure
        // it ends with a record even if its owner stops before writing one. Written after the
        // publish, so that a publish that fails leaves no marker behind; one that comes after
        // the record is ignored by the store.
        if store {
            let kind = inv.action.action.exec.kind.clone();
            let marked = match pending_record(&inv, &id, accepted_at, &kind) {
                Ok(marker) => state
                    .inner
                    .stores
                    .activations
                    .put_pending(marker, &owner)
                    .await
                    .map_err(|e| e.to_string()),
                Err(_) => Err("cannot build the marker".into()),
            };
            if let Err(e) = marked {
                tracing::error!(activation_id = %id, error = %e,
                    "cannot write the pending marker; the activation runs without one");
            }
        }
        return Ok((id, Waited::Accepted));
    }
    let rx = acts.register(&id);
    acts.throttles.started(&inv.who.namespace);
    acts.track(&id, tracked);
    if acts.publisher.publish(msg).await.is_err() {
        acts.untrack(&id);
        acts.forget(&id);
        acts.throttles.completed(&inv.who.namespace);
        acts.balancer.release(&id);
        return Err(unavailable());
    }
    wait_for(state, &inv, &id, &owner, accepted_at, rx, wait).await
}

fn unavailable() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        messages::SERVICE_UNAVAILABLE,
    )
}

/// Wait for the record of `id`; past `wait`, write the pending marker (owned by `owner`) and
/// answer "accepted".
async fn wait_for(
    state: &AppState,
    inv: &Invocation,
    id: &str,
    owner: &str,
    accepted_at: i64,
    rx: oneshot::Receiver<Option<SharedJson>>,
    wait: Duration,
) -> ApiResult<(String, Waited)> {
    match tokio::time::timeout(wait, rx).await {
        Ok(Ok(Some(record))) => Ok((id.to_string(), Waited::Done(record))),
        _ => {
            state.inner.activations.forget(id);
            if store_enabled(&inv.who) {
                let kind = inv.action.action.exec.kind.clone();
                // Ignored by the store if the record landed meanwhile.
                state
                    .inner
                    .stores
                    .activations
                    .put_pending(pending_record(inv, id, accepted_at, &kind)?, owner)
                    .await?;
            }
            Ok((id.to_string(), Waited::Accepted))
        }
    }
}

type BoxedInvoke =
    std::pin::Pin<Box<dyn std::future::Future<Output = ApiResult<(String, Waited)>> + Send>>;

/// [`invoke`] behind a `dyn` future: compositions invoke their components recursively, and the
/// explicit `Send` box breaks the cycle in the compiler's `Send` inference.
pub(crate) fn invoke_boxed(state: AppState, inv: Invocation, wait: Duration) -> BoxedInvoke {
    Box::pin(async move { invoke(&state, inv, wait).await })
}

/// Store the record of an activation the controller ran itself (a composition, a built-in feed
/// action) and complete its waiter.
pub(crate) async fn finish_local(
    state: &AppState,
    inv: &Invocation,
    id: &str,
    doc: &WhiskActivation,
) {
    let doc_json = match SharedJson::to_shared(doc) {
        Ok(d) => d,
        Err(e) => {
            tracing::error!(error = %e, activation_id = %id, "cannot serialise an activation record");
            return;
        }
    };
    // Started now (reads issued from here on see it); the waiter is answered while the record
    // commits, as the invoker answers for the activations it runs (ADR 0002).
    let stored = store_enabled(&inv.who).then(|| {
        state.inner.stores.activations.enqueue(ActivationRecord {
            activation_id: id.to_string(),
            namespace: inv.who.namespace.clone(),
            entity_path: entity_path(inv),
            start: doc.start,
            end: doc.end,
            doc: doc_json.clone(),
        })
    });
    state.inner.activations.complete_local(id, doc_json);
    if let Some(stored) = stored {
        if let Err(e) = stored.await {
            tracing::error!(error = %e, activation_id = %id, "cannot store an activation record");
        }
    }
}
