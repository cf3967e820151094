//! Compositions the controller runs itself, on top of [`crate::invocation`]: sequences and
//! conductor actions. A composition's own record is written by the controller, which therefore
//! owns its pending marker.

use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::json;
use whirl_core::entity::{ActivationResponse, KeyValue, WhiskActivation};
use whirl_core::runtimes::SEQUENCE;

use crate::invocation::{finish_local, Invocation};
use crate::AppState;

pub mod conductor;
pub mod sequence;

/// What a composition and the compositions nested in it have invoked so far: the limits on
/// component and conductor invocations apply to the whole tree (OpenWhisk's
/// `CompositionAccounting`, shared between a composition and the ones it calls).
#[derive(Debug, Default)]
pub struct Accounting {
    components: AtomicUsize,
    conductors: AtomicUsize,
}

impl Accounting {
    pub fn components(&self) -> usize {
        self.components.load(Ordering::SeqCst)
    }

    pub fn conductors(&self) -> usize {
        self.conductors.load(Ordering::SeqCst)
    }

    pub fn add_component(&self) {
        self.components.fetch_add(1, Ordering::SeqCst);
    }

    pub fn add_conductor(&self) {
        self.conductors.fetch_add(1, Ordering::SeqCst);
    }
}

/// How a composition ended, for its record.
pub(crate) struct Outcome {
    pub start: i64,
    pub end: i64,
    pub accepted_at: i64,
    /// The sum of the durations of the activations it caused.
    pub duration: i64,
    /// The largest memory limit among them.
    pub max_memory: u64,
    pub response: ActivationResponse,
    /// Their ids, in order.
    pub logs: Vec<String>,
    pub conductor: bool,
}

/// Write the record of composition `inv` (activation `id`) and complete its waiter.
pub(crate) async fn finish(state: &AppState, inv: &Invocation, id: &str, o: Outcome) {
    let fqn = &inv.action.fqn;
    let limits = inv.action.action.limits;
    let mut annotations = vec![
        KeyValue::new("topmost", json!(inv.cause.is_none())),
        KeyValue::new("path", json!(fqn.doc_id())),
        KeyValue::new("kind", json!(SEQUENCE)),
    ];
    if o.conductor {
        annotations.push(KeyValue::new("conductor", json!(true)));
    }
    if inv.cause.is_some() {
        annotations.push(KeyValue::new("causedBy", json!("sequence")));
    }
    annotations.push(KeyValue::new(
        "waitTime",
        json!((o.start - o.accepted_at).max(0)),
    ));
    if let Some(b) = &inv.action.binding {
        annotations.push(KeyValue::new("binding", json!(b)));
    }
    annotations.push(KeyValue::new(
        "limits",
        json!({"timeout": limits.timeout, "memory": o.max_memory, "logs": limits.logs, "concurrency": limits.concurrency}),
    ));
    let doc = WhiskActivation {
        namespace: inv.who.namespace.clone(),
        name: fqn.name.clone(),
        version: inv.action.action.version.clone(),
        subject: inv.who.subject.clone(),
        publish: false,
        activation_id: id.to_string(),
        start: o.start,
        end: o.end,
        duration: Some(o.duration),
        cause: inv.cause.clone(),
        response: o.response,
        logs: o.logs,
        annotations,
    };
    finish_local(state, inv, id, &doc).await;
}
