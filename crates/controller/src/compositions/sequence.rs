//! Sequences (spec §3.3), orchestrated in the controller as in OpenWhisk: each component is a
//! blocking invocation on the previous result; the sequence's record lists the components'
//! activation ids.

use std::time::Duration;

use serde_json::{json, Value};
use whirl_core::entity::{ActivationResponse, ActivationStatus};
use whirl_core::messages;
use whirl_core::names::FullyQualifiedName;
use whirl_core::now_millis;

use crate::entities::resolve_action;
use crate::error::ApiError;
use crate::invocation::{invoke_boxed, Invocation, Waited};
use crate::AppState;

/// The longest a controller waits for one sequence component (its time limit + 1 min).
fn component_wait(timeout_ms: u64) -> Duration {
    Duration::from_millis(timeout_ms) + Duration::from_secs(60)
}

/// Run a sequence (spec §3.3): components one after another, each a blocking invocation on the
/// previous result; stop at the first error. Writes the sequence's own record and completes the
/// waiter registered under `id`.
pub(crate) async fn run(state: AppState, inv: Invocation, id: String, accepted_at: i64) {
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
            step: Default::default(),
        };
        let outcome = invoke_boxed(state.clone(), child, wait).await;
        match outcome {
            Ok((child_id, Waited::Done(record))) => {
                logs.push(child_id);
                let component = record.parse::<ComponentRecord>().ok();
                duration += component.as_ref().and_then(|c| c.duration).unwrap_or(0);
                let Some(r) = component.map(|c| c.response) else {
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
    let outcome = super::Outcome {
        start,
        end: now_millis(),
        accepted_at,
        duration,
        max_memory,
        response,
        logs,
        conductor: false,
    };
    super::finish(&state, &inv, &id, outcome).await;
}

/// What a sequence reads from a component's record.
#[derive(serde::Deserialize)]
struct ComponentRecord {
    #[serde(default)]
    duration: Option<i64>,
    response: ActivationResponse,
}
