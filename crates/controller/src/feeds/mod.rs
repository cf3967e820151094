//! Feeds built into the controller: the `/whisk.system/alarms` package (`alarm`, `interval`,
//! `once`), which OpenWhisk runs as a separate provider service with its own database.
//!
//! The feed actions are stored entities (so they are listed, read and bound like any action)
//! of exec kind [`BUILTIN`]: invoking one runs [`alarms::lifecycle`] here instead of a
//! container, and writes an activation record as a container would. The schedules they
//! create live in the store ([`store`]), and [`scheduler`] fires them.

use serde_json::{json, Value};
use tokio::sync::Notify;
use whirl_core::entity::{ActivationResponse, ActivationStatus, KeyValue, WhiskActivation};
use whirl_core::now_millis;
use whirl_core::runtimes::BUILTIN;

use crate::entities::ResolvedAction;
use crate::invocation::{arguments, finish_local, Invocation};
use crate::AppState;

pub mod alarms;
pub mod schedule;
pub mod scheduler;
pub mod store;

/// The package of the alarm feeds.
pub const ALARMS_PACKAGE: &str = "alarms";
const SYSTEM: &str = "whisk.system";

/// The scheduler's doorbell: a feed action that changed a schedule rings it.
#[derive(Debug, Default)]
pub struct Alarms {
    pub(crate) wake: Notify,
}

impl Alarms {
    pub fn changed(&self) {
        self.wake.notify_one();
    }
}

/// Whether the controller runs this action itself.
pub(crate) fn is_builtin(action: &ResolvedAction) -> bool {
    action.action.exec.kind == BUILTIN
}

/// Run built-in action `inv` as activation `id`, then store its record.
pub(crate) async fn run(state: AppState, inv: Invocation, id: String, accepted_at: i64) {
    let start = now_millis();
    let (args, _) = arguments(&inv.action.params, &inv.payload);
    let fqn = &inv.action.fqn;
    let answer = match (args, fqn.namespace.as_str(), fqn.package.as_deref()) {
        (Value::Object(args), SYSTEM, Some(ALARMS_PACKAGE)) => {
            alarms::lifecycle(&state, &inv.who, &args).await
        }
        (Value::Object(_), _, _) => Err(json!(format!(
            "The built-in action {} does not exist in this version.",
            fqn.doc_id()
        ))),
        _ => Err(json!(
            "The action did not receive a dictionary as its argument."
        )),
    };
    let response = match answer {
        Ok(result) => ActivationResponse::new(ActivationStatus::Success, result),
        Err(e) => ActivationResponse::new(ActivationStatus::ApplicationError, json!({"error": e})),
    };
    let end = now_millis();
    let limits = inv.action.action.limits;
    let mut annotations = vec![
        KeyValue::new("path", json!(fqn.doc_id())),
        KeyValue::new("waitTime", json!((start - accepted_at).max(0))),
        KeyValue::new("kind", json!(BUILTIN)),
        KeyValue::new(
            "limits",
            json!({"timeout": limits.timeout, "memory": limits.memory, "logs": limits.logs, "concurrency": limits.concurrency}),
        ),
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
        activation_id: id.clone(),
        start,
        end,
        duration: Some(end - start),
        cause: inv.cause.clone(),
        response,
        logs: vec![],
        annotations,
    };
    finish_local(&state, &inv, &id, &doc).await;
}
