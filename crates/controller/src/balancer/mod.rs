//! Load balancing: which invoker runs an activation, and how much of each invoker's memory the
//! activations this controller sent are holding (spec §5; OpenWhisk's `LoadBalancer` SPI).
//!
//! A balancer sees the invokers through their pings ([`whirl_bus::InvokerPing`]): the first ping
//! registers an invoker, later ones keep it up, and an invoker that has been silent longer than
//! [`OFFLINE_AFTER`] is offline and gets no activations. Standalone runs one invoker in the same
//! process ([`SingleInvoker`]); a cluster uses OpenWhisk's sharding balancer ([`Sharding`]).

use std::time::Duration;

use whirl_bus::{InvokerId, InvokerPing};

mod sharding;
mod single;

pub use sharding::Sharding;
pub use single::SingleInvoker;

/// How long an invoker may be silent before it is offline (OpenWhisk's invoker supervision
/// marks an invoker offline after 10 s without a ping).
pub const OFFLINE_AFTER: Duration = Duration::from_secs(10);
/// How often invokers ping (OpenWhisk: every second).
pub const PING_INTERVAL: Duration = Duration::from_secs(1);

/// An invoker's health as a controller sees it (OpenWhisk's states; `unhealthy` and
/// `unresponsive` come from its test actions, which the cluster balancer adds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvokerState {
    Up,
    Unhealthy,
    Unresponsive,
    Offline,
}

impl InvokerState {
    /// The word `GET /invokers` shows.
    pub fn as_str(self) -> &'static str {
        match self {
            InvokerState::Up => "up",
            InvokerState::Unhealthy => "unhealthy",
            InvokerState::Unresponsive => "unresponsive",
            InvokerState::Offline => "down",
        }
    }
}

/// What a balancer needs to know about one activation to place it.
#[derive(Debug, Clone, Copy)]
pub struct Placement<'a> {
    pub activation_id: &'a str,
    /// Namespace of the invoking identity.
    pub namespace: &'a str,
    /// Store id of the action (`ns/name`, `ns/pkg/name`).
    pub action_id: &'a str,
    pub memory_mb: u32,
    /// `limits.concurrency`: activations one container of the action takes at once.
    pub concurrency: u32,
}

/// How an activation placed on an invoker ended, for the invoker's health (OpenWhisk keeps the
/// last 10 per invoker).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Anything but a system error: the invoker did its part.
    Success,
    /// A whisk internal error.
    SystemError,
    /// No completion within the forced-completion timeout.
    Timeout,
}

/// No invoker can take activations now (the caller answers 503).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no healthy invoker")]
pub struct NoInvoker;

/// Picks invokers and accounts their memory slots.
pub trait LoadBalancer: Send + Sync + std::fmt::Debug {
    /// Choose the invoker for an activation and reserve its memory there until
    /// [`LoadBalancer::release`] with the same activation id. When every healthy invoker is
    /// full, one is chosen anyway (its queue absorbs the overload, as in OpenWhisk).
    fn place(&self, activation: Placement<'_>) -> Result<InvokerId, NoInvoker>;
    /// The activation ended (completion received, or given up): free its slot.
    fn release(&self, activation_id: &str);
    /// An invoker pinged.
    fn ping(&self, ping: &InvokerPing);
    /// Every known invoker with its state, in id order.
    fn invokers(&self) -> Vec<(InvokerId, InvokerState)>;
    /// How an activation on `invoker` ended (its health counts it).
    fn outcome(&self, _invoker: InvokerId, _outcome: Outcome) {}
    /// Invokers that get only health test activations until their results recover.
    fn needs_test(&self) -> Vec<InvokerId> {
        Vec::new()
    }
    /// The activations this controller placed on `invoker` and still holds.
    fn held_by(&self, invoker: InvokerId) -> Vec<String>;
}
