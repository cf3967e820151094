//! The bus between controllers and invokers: the messages they exchange, the traits every bus
//! backend implements, the in-process backend of standalone mode, and the behaviour suite every
//! backend must pass ([`behaviour`]).
//!
//! Controllers and invokers never call each other. A controller publishes an
//! [`ActivationMessage`] to one named invoker (chosen by its load balancer); the invoker runs it,
//! stores the record and publishes a [`CompletionMessage`] back to the controller that issued
//! it, then acknowledges the delivery. Invokers announce themselves and stay alive with
//! [`InvokerPing`]s that every controller hears; controllers tell each other which cached
//! entities changed with [`CacheInvalidation`]s. Every message is plain serialisable data, so a
//! networked backend (NATS JetStream in a cluster: one durable stream per invoker, as OpenWhisk
//! has a Kafka topic per invoker) carries the same messages unchanged.
//!
//! Backends are used through [`Bus`], which hands out [`Publisher`]s and [`Feed`]s; no signature
//! here names a channel type, so a crate using the bus does not know which backend it talks to.

use std::fmt::Debug;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
pub use whirl_core::ids::{ControllerId, InvokerId};
use whirl_core::json::SharedJson;

pub mod behaviour;
pub mod in_process;

pub use in_process::InProcessBus;

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
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ActivationMessage {
    pub transaction_id: String,
    pub activation_id: String,
    /// The controller that issued the activation: where the completion goes.
    pub controller: ControllerId,
    /// The invoker chosen to run it (the bus delivers to this one only).
    pub invoker: InvokerId,
    /// Store id of the action: `ns/name` or `ns/pkg/name`.
    pub action_id: String,
    pub revision: u64,
    /// The action document's `updated` (epoch ms) at `revision`. An action deleted and created
    /// again starts over at revision 1, so the pair names the code; 0 when not known (the
    /// invoker then goes by the revision alone).
    #[serde(default)]
    pub updated: i64,
    pub version: String,
    /// `ns/pkg` binding the action was invoked through, if any.
    pub binding: Option<String>,
    pub user: Invoker,
    /// A waiter needs the result in the completion.
    pub blocking: bool,
    /// The run arguments (merged parameters and payload), already final, as raw JSON: the
    /// invoker passes them to the action without parsing them.
    pub content: Box<RawValue>,
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

/// "This activation is done": sent by the invoker that ran it to the controller that issued it,
/// after the record is stored. The controller releases the activation's slot and, for a
/// blocking caller, answers with `record`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompletionMessage {
    pub activation_id: String,
    pub transaction_id: String,
    /// Where the completion goes.
    pub controller: ControllerId,
    /// Who ran the activation.
    pub invoker: InvokerId,
    /// Namespace of the invoking identity (whose concurrency slot is released).
    pub namespace: String,
    /// The activation record as stored (`response.statusCode` form), only when a blocking
    /// waiter needs it; the record itself is the invoker's to store.
    pub record: Option<SharedJson>,
    /// The activation ended with a whisk internal error (the invoker's health counts it).
    #[serde(default)]
    pub whisk_error: bool,
}

/// "I am here": an invoker's registration (its first ping) and heartbeat. A controller marks an
/// invoker offline after a silence (see the controller's load balancer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvokerPing {
    pub invoker: InvokerId,
    /// Memory for action containers, in MB: the slots a load balancer may account.
    pub user_memory_mb: u64,
}

/// "These cached entities changed": published by the controller that wrote them, heard by every
/// controller (its own writes included; a receiver may skip its own).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheInvalidation {
    pub from: ControllerId,
    /// Store ids (`ns/name`, `ns/pkg/name`) of the changed entities.
    pub ids: Vec<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BusError {
    #[error("the bus is closed")]
    Closed,
    #[error("no invoker {0} is registered on the bus")]
    NoSuchInvoker(InvokerId),
    #[error("{0} already has a subscription")]
    AlreadySubscribed(String),
    #[error("bus backend: {0}")]
    Backend(String),
}

pub type Result<T, E = BusError> = std::result::Result<T, E>;

/// Sends messages of one kind. Where a message goes is in the message itself (its `invoker` or
/// `controller`), or everywhere for broadcasts (pings, invalidations).
#[async_trait]
pub trait Publisher<T: Send + 'static>: Send + Sync + Debug {
    /// Returns once the bus holds the message (for activations: durably, on a durable backend).
    async fn publish(&self, msg: T) -> Result<()>;
}

/// Receives messages of one kind, in the order they were published by one publisher.
#[async_trait]
pub trait Feed<T: Send + 'static>: Send + Debug {
    /// The next message, or `None` once the bus is closed.
    async fn next(&mut self) -> Option<T>;
}

/// Acknowledges one delivered activation.
#[async_trait]
pub trait Acknowledge: Send + Debug {
    async fn ack(self: Box<Self>);
}

/// An activation delivered to an invoker. The invoker acknowledges it only after the
/// activation's record is stored: a durable backend redelivers what was never acknowledged.
///
/// **At most once.** A redelivery must never run the activation a second time (OpenWhisk
/// promises at most once). A backend that redelivers marks the redelivered copy
/// ([`Delivery::is_redelivered`], the same flag as [`Ack::is_redelivered`]): it may have run
/// already, on an invoker that crashed or lost its connection before acknowledging. The invoker
/// does not run a redelivered activation; it acknowledges it once the activation has a final
/// record (writing a `whisk internal error` record if none is stored yet).
#[derive(Debug)]
pub struct Delivery {
    pub message: ActivationMessage,
    pub ack: Ack,
}

impl Delivery {
    /// Whether the bus delivered this activation before (see [`Delivery`]).
    pub fn is_redelivered(&self) -> bool {
        self.ack.is_redelivered()
    }
}

/// The acknowledgement of a [`Delivery`] (nothing to do on a backend without redelivery), and
/// whether the delivery is a redelivery.
#[derive(Debug)]
pub struct Ack {
    handle: Option<Box<dyn Acknowledge>>,
    redelivered: bool,
}

impl Ack {
    pub fn none() -> Self {
        Self {
            handle: None,
            redelivered: false,
        }
    }

    pub fn new(handle: Box<dyn Acknowledge>) -> Self {
        Self {
            handle: Some(handle),
            redelivered: false,
        }
    }

    /// The same acknowledgement, for a delivery that the bus made before (or not).
    pub fn with_redelivered(mut self, redelivered: bool) -> Self {
        self.redelivered = redelivered;
        self
    }

    /// Whether the bus delivered this activation before: it may have run already, so it must
    /// not run again (see [`Delivery`]). Always false on a backend without redelivery.
    pub fn is_redelivered(&self) -> bool {
        self.redelivered
    }

    pub async fn ack(self) {
        if let Some(h) = self.handle {
            h.ack().await;
        }
    }
}

/// A bus backend. Both roles get their ends from it: a controller publishes activations and
/// invalidations and subscribes to its completions, pings and invalidations; an invoker
/// subscribes to its activations and publishes completions and pings.
#[async_trait]
pub trait Bus: Send + Sync + Debug {
    /// Activations for `invoker` (one subscription per invoker).
    async fn activations(&self, invoker: InvokerId) -> Result<Box<dyn Feed<Delivery>>>;
    /// Completions for `controller` (one subscription per controller).
    async fn completions(
        &self,
        controller: ControllerId,
    ) -> Result<Box<dyn Feed<CompletionMessage>>>;
    /// Every invoker's pings.
    async fn pings(&self) -> Result<Box<dyn Feed<InvokerPing>>>;
    /// Every controller's cache invalidations.
    async fn invalidations(&self) -> Result<Box<dyn Feed<CacheInvalidation>>>;

    /// Whether the bus can carry messages now (a networked backend: connected to its server).
    fn connected(&self) -> bool {
        true
    }

    fn activation_publisher(&self) -> std::sync::Arc<dyn Publisher<ActivationMessage>>;
    fn completion_publisher(&self) -> std::sync::Arc<dyn Publisher<CompletionMessage>>;
    fn ping_publisher(&self) -> std::sync::Arc<dyn Publisher<InvokerPing>>;
    fn invalidation_publisher(&self) -> std::sync::Arc<dyn Publisher<CacheInvalidation>>;
}
