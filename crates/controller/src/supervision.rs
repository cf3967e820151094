//! Supervision of the activations this controller placed on invokers (spec §5, OpenWhisk's
//! `InvokerSupervision` and the forced completion of `CommonLoadBalancer`):
//!
//! - **Forced completion.** An activation whose completion does not come within
//!   `max(timeout, 60 s) × 2 + 60 s` (OpenWhisk's ack timeout), or whose invoker went offline,
//!   is given up: its slot and concurrency count are released, its invoker's health counts a
//!   timeout, a blocking caller still waiting gets the record, and the record is written as a
//!   `whisk internal error` unless one exists already (OpenWhisk writes none here; every
//!   accepted activation must end with a record). The invoker, when it comes back, does not run
//!   what it gets again for such an activation: a redelivered message is never run, and a
//!   first delivery that is older than the offline delay is run only if no record exists.
//! - **Health tests.** An invoker whose recent results make it unhealthy or unresponsive gets
//!   no activations, only a test action (`whisk.system/invokerHealthTestAction{N}`, a native
//!   no-op created on demand) every few seconds, until its results recover.

use std::time::Duration;

use serde_json::json;
use tokio::time::Instant;
use whirl_bus::{ActivationMessage, Invoker as RunAs, InvokerId};
use whirl_core::entity::{ActivationResponse, ActivationStatus, Exec, KeyValue, WhiskActivation};
use whirl_core::json::SharedJson;
use whirl_core::limits::ActionLimitRanges;
use whirl_core::runtimes::{BLACKBOX, NATIVE_IMAGE};
use whirl_core::{ids, messages, now_millis};
use whirl_store::{ActivationRecord, EntityKind, NewEntity};

use crate::balancer::{InvokerState, Outcome, OFFLINE_AFTER};
use crate::AppState;

/// How often the supervisor looks.
const TICK: Duration = Duration::from_secs(1);
/// How often an unusable invoker gets a test action.
const TEST_EVERY: Duration = Duration::from_secs(3);
/// An activation on an offline invoker is given up only once it is this old: its invoker, if
/// it comes back, then checks for a record before running what it finds this old (the
/// invoker's stale delay, on the same clock: the activation's acceptance).
const STALE_AFTER: Duration = Duration::from_secs(10);
/// The namespace of the test actions (OpenWhisk's).
const SYSTEM: &str = "whisk.system";

/// OpenWhisk's completion-ack timeout for an action with this time limit.
pub(crate) fn ack_timeout(timeout_ms: u64) -> Duration {
    Duration::from_millis(timeout_ms.max(60_000)) * 2 + Duration::from_secs(60)
}

/// What a lost activation's record is made of.
#[derive(Debug, Clone)]
pub(crate) struct LostRecord {
    pub namespace: String,
    pub subject: String,
    pub name: String,
    pub version: String,
    pub entity_path: String,
    /// The action's store id (the record's `path` annotation).
    pub path: String,
    pub kind: String,
    pub binding: Option<String>,
    pub cause: Option<String>,
    pub accepted_at: i64,
}

impl LostRecord {
    fn record(&self, id: &str) -> Option<ActivationRecord> {
        let end = now_millis().max(self.accepted_at);
        let mut annotations = vec![
            KeyValue::new("path", json!(self.path)),
            KeyValue::new("kind", json!(self.kind)),
        ];
        if let Some(b) = &self.binding {
            annotations.push(KeyValue::new("binding", json!(b)));
        }
        let doc = WhiskActivation {
            namespace: self.namespace.clone(),
            name: self.name.clone(),
            version: self.version.clone(),
            subject: self.subject.clone(),
            publish: false,
            activation_id: id.to_string(),
            start: self.accepted_at,
            end,
            duration: Some(end - self.accepted_at),
            cause: self.cause.clone(),
            response: ActivationResponse::new(
                ActivationStatus::WhiskError,
                json!({ "error": messages::ACTIVATION_LOST }),
            ),
            logs: vec![],
            annotations,
        };
        let doc = SharedJson::to_shared(&doc).ok()?;
        Some(ActivationRecord {
            activation_id: id.to_string(),
            namespace: self.namespace.clone(),
            entity_path: self.entity_path.clone(),
            start: self.accepted_at,
            end,
            doc,
        })
    }
}

/// An activation placed on an invoker and not completed yet.
#[derive(Debug, Clone)]
pub(crate) struct InFlight {
    pub invoker: InvokerId,
    /// When it was accepted.
    pub placed: Instant,
    /// The namespace whose concurrency count it holds.
    pub namespace: String,
    pub deadline: Instant,
    /// `None` when no record is to be written (storing disabled, or a health test).
    pub lost: Option<LostRecord>,
}

/// Run the supervisor until the process ends.
pub(crate) async fn run(state: AppState) {
    let mut last_test = Instant::now() - TEST_EVERY;
    let mut bus_down_since: Option<Instant> = None;
    loop {
        tokio::time::sleep(TICK).await;
        if !state.inner.bus.connected() {
            bus_down_since = Some(Instant::now());
        }
        give_up_lost(&state, bus_down_since).await;
        if last_test.elapsed() >= TEST_EVERY {
            last_test = Instant::now();
            for invoker in state.inner.activations.balancer.needs_test() {
                if let Err(e) = send_test(&state, invoker).await {
                    tracing::warn!(%invoker, error = %e, "cannot send a health test action");
                }
            }
        }
    }
}

/// Give up the activations past their deadline or on an offline invoker.
/// `bus_down_since`: when this controller last saw its bus disconnected. While it is, and for
/// the offline delay after, it cannot tell a silent invoker from its own lost pings, so it
/// gives up nothing for being on an "offline" invoker.
async fn give_up_lost(state: &AppState, bus_down_since: Option<Instant>) {
    let acts = &state.inner.activations;
    let bus_trusted = bus_down_since.is_none_or(|t| t.elapsed() > OFFLINE_AFTER);
    let offline: Vec<InvokerId> = if bus_trusted {
        acts.balancer
            .invokers()
            .into_iter()
            .filter(|(_, s)| *s == InvokerState::Offline)
            .map(|(id, _)| id)
            .collect()
    } else {
        Vec::new()
    };
    let now = Instant::now();
    for (id, f) in acts.take_lost(now, &offline, STALE_AFTER) {
        let timed_out = f.deadline <= now;
        tracing::warn!(activation_id = %id, invoker = %f.invoker, timed_out,
            "no completion from the invoker: the activation is given up");
        acts.throttles.completed(&f.namespace);
        acts.balancer.release(&id);
        let Some(lost) = f.lost.as_ref().and_then(|l| l.record(&id)) else {
            if timed_out {
                acts.balancer.outcome(f.invoker, Outcome::Timeout);
            }
            acts.wake(&id, None);
            continue;
        };
        // Written only where no record exists: one that arrived meanwhile (its completion
        // lost) stands, and is what a waiter gets.
        let stores = state.stores();
        let record = match stores.activations.put_if_absent(lost.clone()).await {
            Ok(true) => {
                if timed_out {
                    acts.balancer.outcome(f.invoker, Outcome::Timeout);
                }
                Some(lost.doc)
            }
            Ok(false) => {
                acts.balancer.outcome(f.invoker, Outcome::Success);
                match stores.activations.get(&lost.namespace, &id).await {
                    Ok(Some(stored)) => Some(stored.doc),
                    _ => None,
                }
            }
            Err(e) => {
                tracing::error!(activation_id = %id, error = %e, "cannot record a lost activation");
                None
            }
        };
        acts.wake(&id, record);
    }
}

fn test_action_id(invoker: InvokerId) -> String {
    format!("{SYSTEM}/invokerHealthTestAction{}", invoker.0)
}

/// Send `invoker` its test action, creating the action first if needed.
async fn send_test(state: &AppState, invoker: InvokerId) -> Result<(), String> {
    let id = test_action_id(invoker);
    let stores = state.stores();
    let stored = stores
        .entities
        .get(&id, false)
        .await
        .map_err(|e| e.to_string())?;
    let (rev, updated, version) = match stored {
        Some(e) => (
            e.rev,
            e.doc.get("updated").and_then(|v| v.as_i64()).unwrap_or(0),
            e.doc
                .get("version")
                .and_then(|v| v.as_str())
                .unwrap_or("0.0.1")
                .to_string(),
        ),
        None => {
            let name = id.rsplit('/').next().unwrap_or_default().to_string();
            let updated = now_millis();
            let action = whirl_core::entity::WhiskAction {
                namespace: SYSTEM.into(),
                name: name.clone(),
                version: "0.0.1".into(),
                publish: false,
                exec: Exec {
                    kind: BLACKBOX.into(),
                    code: None,
                    image: Some(NATIVE_IMAGE.into()),
                    main: None,
                    binary: Some(false),
                    components: None,
                },
                annotations: vec![KeyValue::new("exec", json!(BLACKBOX))],
                parameters: vec![],
                limits: ActionLimitRanges::default().defaults(),
                updated,
            };
            let doc = serde_json::to_value(&action).map_err(|e| e.to_string())?;
            let put = stores
                .entities
                .put(
                    NewEntity {
                        id: id.clone(),
                        kind: EntityKind::Action,
                        path: SYSTEM.into(),
                        name,
                        updated,
                        doc,
                        code: Some("#!/bin/sh\necho '{\"healthy\": true}'\n".into()),
                    },
                    None,
                )
                .await;
            match put {
                Ok(rev) => (rev, updated, "0.0.1".to_string()),
                // Another controller created it meanwhile: next round.
                Err(e) => return Err(e.to_string()),
            }
        }
    };
    let activation_id = ids::new_activation_id();
    let acts = &state.inner.activations;
    let msg = ActivationMessage {
        transaction_id: ids::new_transaction_id(),
        activation_id: activation_id.clone(),
        controller: acts.controller(),
        invoker,
        action_id: id,
        revision: rev,
        updated,
        version,
        binding: None,
        user: RunAs {
            subject: SYSTEM.into(),
            namespace: SYSTEM.into(),
            api_key: String::new(),
        },
        blocking: false,
        content: serde_json::value::to_raw_value(&json!({})).map_err(|e| e.to_string())?,
        init_args: Default::default(),
        provide_api_key: false,
        cause: None,
        accepted_at: now_millis(),
        store: false,
    };
    acts.track(
        &activation_id,
        InFlight {
            invoker,
            placed: Instant::now(),
            namespace: SYSTEM.into(),
            deadline: Instant::now() + ack_timeout(0),
            lost: None,
        },
    );
    acts.throttles.started(SYSTEM);
    if let Err(e) = acts.publish(msg).await {
        acts.untrack(&activation_id);
        acts.throttles.completed(SYSTEM);
        return Err(e.to_string());
    }
    Ok(())
}
