//! The messages the controller and the invoker exchange, and the in-process bus that carries them
//! in standalone mode.
//!
//! The controller and the invoker never call each other: the controller publishes an
//! [`ActivationMessage`]; an invoker runs it, stores the record and publishes a
//! [`CompletionMessage`]. Every message is plain serialisable data (no shared structures), so a
//! networked bus (NATS JetStream in a cluster) can carry the same messages unchanged.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio::sync::mpsc;

/// The identity an activation runs as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invoker {
    pub subject: String,
    pub namespace: String,
    /// `uuid:key`, handed to the action only when `provide_api_key` is set.
    pub api_key: String,
}

/// "Run this action": everything the invoker needs except the code, which it loads from the
/// store by `action_id` and `revision` (and caches).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivationMessage {
    pub transaction_id: String,
    pub activation_id: String,
    /// Store id of the action: `ns/name` or `ns/pkg/name`.
    pub action_id: String,
    pub revision: u64,
    pub version: String,
    /// `ns/pkg` binding the action was invoked through, if any.
    pub binding: Option<String>,
    pub user: Invoker,
    pub blocking: bool,
    /// The run arguments (merged parameters and payload), already final.
    pub content: Value,
    /// Parameters flagged `init`, passed to init as environment.
    pub init_args: Map<String, Value>,
    pub provide_api_key: bool,
    /// Id of the enclosing sequence or conductor activation.
    pub cause: Option<String>,
    /// Epoch ms when the controller accepted the request (for `waitTime`).
    pub accepted_at: i64,
    /// Whether to store the record (namespace limit `storeActivations`).
    pub store: bool,
}

/// "This activation is done": the stored record (DB form), for blocking waiters, and the slot to
/// release.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompletionMessage {
    pub activation_id: String,
    pub transaction_id: String,
    /// Namespace of the invoking identity (whose concurrency slot is released).
    pub namespace: String,
    /// The activation record as stored (`response.statusCode` form).
    pub record: Value,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BusError {
    #[error("the bus is closed")]
    Closed,
}

/// The controller's end: publishes activations.
#[derive(Debug, Clone)]
pub struct ActivationPublisher {
    tx: mpsc::UnboundedSender<ActivationMessage>,
}

impl ActivationPublisher {
    pub fn publish(&self, msg: ActivationMessage) -> Result<(), BusError> {
        self.tx.send(msg).map_err(|_| BusError::Closed)
    }
}

/// The invoker's end: publishes completions.
#[derive(Debug, Clone)]
pub struct CompletionPublisher {
    tx: mpsc::UnboundedSender<CompletionMessage>,
}

impl CompletionPublisher {
    pub fn publish(&self, msg: CompletionMessage) -> Result<(), BusError> {
        self.tx.send(msg).map_err(|_| BusError::Closed)
    }
}

/// Subscriptions of an in-process bus.
#[derive(Debug)]
pub struct InProcessBus {
    pub activations: ActivationPublisher,
    pub activation_feed: mpsc::UnboundedReceiver<ActivationMessage>,
    pub completions: CompletionPublisher,
    pub completion_feed: mpsc::UnboundedReceiver<CompletionMessage>,
}

/// A bus for one controller and one invoker in the same process. Unbounded: back-pressure is the
/// controller's throttles and the invoker's memory-based queue, as with Kafka in OpenWhisk.
pub fn in_process() -> InProcessBus {
    let (atx, arx) = mpsc::unbounded_channel();
    let (ctx, crx) = mpsc::unbounded_channel();
    InProcessBus {
        activations: ActivationPublisher { tx: atx },
        activation_feed: arx,
        completions: CompletionPublisher { tx: ctx },
        completion_feed: crx,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn roundtrip() {
        let mut bus = in_process();
        let msg = ActivationMessage {
            transaction_id: "t".into(),
            activation_id: "a".into(),
            action_id: "guest/x".into(),
            revision: 1,
            version: "0.0.1".into(),
            binding: None,
            user: Invoker {
                subject: "s".into(),
                namespace: "guest".into(),
                api_key: "k".into(),
            },
            blocking: true,
            content: serde_json::json!({"x": 1}),
            init_args: Map::new(),
            provide_api_key: false,
            cause: None,
            accepted_at: 0,
            store: true,
        };
        // Messages survive serialisation unchanged (a networked bus carries the same bytes).
        let wire = serde_json::to_string(&msg).unwrap();
        assert_eq!(
            serde_json::from_str::<ActivationMessage>(&wire).unwrap(),
            msg
        );
        bus.activations.publish(msg.clone()).unwrap();
        assert_eq!(bus.activation_feed.recv().await.unwrap(), msg);
        drop(bus.activation_feed);
        assert_eq!(bus.activations.publish(msg), Err(BusError::Closed));
    }
}
