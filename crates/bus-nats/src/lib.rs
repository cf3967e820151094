//! The bus of cluster mode over NATS JetStream: [`NatsBus`], a [`whirl_bus::Bus`] that
//! controllers and invokers in separate processes share through one NATS server (or cluster),
//! as OpenWhisk's controllers and invokers share Kafka. It passes the same behaviour suite as
//! the in-process bus of standalone mode ([`whirl_bus::behaviour`]).
//!
//! # Streams and subjects
//! Every name starts with the prefix given to [`connect`] (`P` below), so that several clusters
//! or test buses can share one server.
//!
//! | what | where | delivery |
//! |---|---|---|
//! | activations for invoker `N` (OpenWhisk topic `invokerN`) | JetStream stream `P-invokerN` on subject `P.activation.N`, file storage, work-queue retention; durable pull consumer `invokerN` | durable, explicit ack |
//! | completions for controller `C` (`completedC`) | core NATS subject `P.completion.C` | at most once, only while subscribed |
//! | invoker pings (`health`) | core NATS subject `P.ping` | at most once, to every subscriber |
//! | cache invalidations (`cacheInvalidation`) | JetStream stream `P-invalidations` on `P.invalidation`, read by one ordered consumer per subscriber | to every subscriber, resumed after a disconnect |
//!
//! Messages are the `serde_json` form of the bus types, the same bytes as the in-process
//! backend's wire form; an activation's `content` is raw JSON that passes through unparsed.
//!
//! # Activations, acknowledgements and at most once
//! An invoker's stream is created when the invoker first subscribes ([`Bus::activations`]); it
//! outlives the invoker's process, so activations published while the invoker restarts wait for
//! it. Publishing an activation for an invoker that never subscribed (no stream) fails with
//! [`BusError::NoSuchInvoker`]. A publish returns once JetStream has stored the message (the
//! JetStream publish acknowledgement), with the activation id as message id, so a repeated
//! publish of the same activation within the stream's duplicate window (2 min) is stored once.
//!
//! The invoker acknowledges a delivery after the activation's record is stored; the ack is
//! confirmed by the server (a "double ack", retried in the background through an outage). While
//! an invoker holds an unacknowledged delivery, its process tells the server every third of the
//! ack wait that the work is in progress, so a long queue or a long action is never redelivered
//! behind a live invoker's back. What is redelivered is what an invoker received and did not
//! acknowledge before it crashed, was cut off for longer than the ack wait
//! ([`NatsConfig::ack_wait`], 30 s), or dropped without acknowledging.
//!
//! **A redelivered activation must not run again** (OpenWhisk runs an activation at most once).
//! JetStream counts deliveries: any delivery after the first is flagged
//! ([`whirl_bus::Delivery::is_redelivered`]). The invoker's contract for a flagged delivery: do
//! not run it; if the store holds no final record for the activation, write a
//! `whisk internal error` record (the activation may have run, partly or wholly, on the
//! invoker that lost it), publish the completion, then acknowledge. The flag is conservative:
//! an activation that was received but never started (buffered in a process that crashed) is
//! flagged too and ends with that error record instead of running. Within one process a
//! redelivery of a delivery it still holds, or has just acknowledged, is never yielded twice.
//! A message is delivered at most [`NatsConfig::max_deliver`] times (5), so nothing is
//! redelivered in a loop; what stays unacknowledged expires with the stream's
//! [`NatsConfig::max_age`]. A message that is not a valid activation is terminated (never
//! redelivered) and logged.
//!
//! # Completions, pings and invalidations
//! Completions go over core NATS: they are on the warm path (no disk write, no ack round
//! trip), and one lost while its controller is down or cut off costs nothing durable: the
//! record is in the store, written by the invoker, and the controller's forced-completion
//! timeout frees the slot and answers the caller (a blocking caller gets 202 and reads the
//! record). A completion larger than the server's `max_payload` is sent without its record,
//! which has the same effect. Pings go over core NATS too: a ping lost is one second of
//! heartbeat. Cache invalidations are rare and a lost one would leave a controller serving a
//! stale entity, so they go through a small JetStream stream and each subscriber reads it with
//! an ordered consumer that resumes where it stopped after a reconnect (within
//! [`NatsConfig::invalidation_max_age`]).
//!
//! # Outages
//! The client reconnects by itself (delays up to [`NatsConfig::reconnect_delay_max`]). While it
//! is disconnected every publish fails at once with [`BusError::Backend`], and a publish that
//! gets no answer fails after [`NatsConfig::publish_timeout`] (3 s): nothing hangs. Feeds wait
//! and resume when the server is back, without a new bus. Errors and logs never show the
//! credentials of the URL.
//!
//! One subscription per invoker and per controller is enforced within a process (one
//! [`NatsBus`] and its clones); across processes, invoker and controller ids must be unique in
//! a cluster, as in OpenWhisk.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use async_nats::connection::State;
use async_nats::jetstream;
use async_trait::async_trait;
use tokio::sync::watch;
pub use whirl_bus::BusError;
use whirl_bus::{
    ActivationMessage, Bus, CacheInvalidation, CompletionMessage, ControllerId, Delivery, Feed,
    InvokerId, InvokerPing, Publisher, Result,
};

mod activations;
mod broadcast;
mod coherence;
mod names;
mod redact;
#[cfg(feature = "testing")]
pub mod testing;

use activations::InvokerState;
use names::Names;

/// Tuning of a [`NatsBus`]. The defaults suit a cluster; tests shorten the waits.
#[derive(Debug, Clone)]
pub struct NatsConfig {
    /// How long a publish (or a subscription's set-up, or an ack) may wait for the server
    /// before failing with [`BusError::Backend`]. While disconnected, publishes fail at once.
    pub publish_timeout: Duration,
    /// How long the server waits for an invoker's ack before redelivering; a live invoker
    /// extends it while it holds the delivery, so this is how long after a crash its
    /// unacknowledged activations come back (flagged as redelivered).
    pub ack_wait: Duration,
    /// Deliveries of one activation at most (the first one included).
    pub max_deliver: i64,
    /// Unacknowledged activations an invoker may hold at once; the server delivers no more
    /// until some are acknowledged.
    pub max_ack_pending: i64,
    /// Activations fetched per pull request.
    pub pull_batch: usize,
    /// How long an activation may wait in an invoker's stream (for an invoker that is gone).
    pub max_age: Duration,
    /// How long invalidations are kept for subscribers resuming after a disconnect.
    pub invalidation_max_age: Duration,
    /// Replicas of every stream (1 on a single server, 3 on a NATS cluster).
    pub replicas: usize,
    /// The longest delay between two reconnection attempts.
    pub reconnect_delay_max: Duration,
    /// How often the client pings the server (detects a dead connection).
    pub ping_interval: Duration,
}

impl Default for NatsConfig {
    fn default() -> Self {
        Self {
            publish_timeout: Duration::from_secs(3),
            ack_wait: Duration::from_secs(30),
            max_deliver: 5,
            max_ack_pending: 1000,
            pull_batch: 32,
            max_age: Duration::from_secs(24 * 3600),
            invalidation_max_age: Duration::from_secs(3600),
            replicas: 1,
            reconnect_delay_max: Duration::from_secs(2),
            ping_interval: Duration::from_secs(10),
        }
    }
}

/// The smallest server `max_payload` that carries every activation: 1 MB of payload merged
/// over up to 1 MB of parameters, plus init arguments and the envelope. NATS defaults to 1 MB.
pub const RECOMMENDED_MAX_PAYLOAD: usize = 4 * 1024 * 1024;

/// A bus over one NATS connection. Cheap to clone; clones share the connection and the
/// subscriptions' bookkeeping.
#[derive(Clone)]
pub struct NatsBus {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    client: async_nats::Client,
    js: jetstream::Context,
    names: Names,
    config: NatsConfig,
    /// The URL as it may be shown (credentials replaced).
    shown_url: String,
    secrets: Vec<String>,
    subs: Mutex<Subscriptions>,
    closed: watch::Sender<bool>,
}

#[derive(Default)]
struct Subscriptions {
    /// Per invoker: its acknowledgement bookkeeping (alive while a feed or an unacknowledged
    /// delivery holds it) and whether a feed is open.
    invokers: HashMap<InvokerId, (Weak<InvokerState>, bool)>,
    controllers: HashSet<ControllerId>,
    /// Ids of this bus's own invalidation feeds (its writes evicted their caches already).
    own_feeds: HashSet<String>,
    /// Invalidation feeds heard from, with when (see `coherence`).
    feeds_seen: HashMap<String, tokio::time::Instant>,
}

impl std::fmt::Debug for NatsBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsBus")
            .field("url", &self.inner.shown_url)
            .field("prefix", &self.inner.names.prefix())
            .finish_non_exhaustive()
    }
}

/// Connect to the NATS server(s) at `url` (`nats://[user:password@]host:port`, several
/// separated by commas) with the default [`NatsConfig`]; every stream and subject name starts
/// with `prefix`.
pub async fn connect(url: &str, prefix: &str) -> Result<NatsBus> {
    connect_with(url, prefix, NatsConfig::default()).await
}

/// [`connect`] with explicit tuning.
pub async fn connect_with(url: &str, prefix: &str, config: NatsConfig) -> Result<NatsBus> {
    let names = Names::new(prefix)?;
    let shown_url = redact::redact_url(url);
    let secrets = redact::secrets(url);
    let mut addrs = Vec::new();
    for one in url.split(',') {
        let addr: async_nats::ServerAddr = one
            .trim()
            .parse()
            .map_err(|_| BusError::Backend(format!("invalid NATS URL {shown_url}")))?;
        addrs.push(addr);
    }
    // Credentials in the URL: `user:password@` or a token as `token@` (percent-decoded).
    let credentials = addrs.iter().find_map(|a| {
        a.username()
            .map(|u| (u.to_string(), a.password().map(str::to_string)))
    });
    let mut options = async_nats::ConnectOptions::new();
    match credentials {
        Some((user, Some(password))) => {
            options = options.user_and_password(
                redact::percent_decode(&user),
                redact::percent_decode(&password),
            );
        }
        Some((token, None)) => options = options.token(redact::percent_decode(&token)),
        None => {}
    }
    let max_delay = config.reconnect_delay_max;
    let event_secrets = secrets.clone();
    let options = options
        .name("whirl")
        .connection_timeout(config.publish_timeout)
        .ping_interval(config.ping_interval)
        .reconnect_delay_callback(move |attempts| {
            let exp = u32::try_from(attempts.min(16)).unwrap_or(16);
            Duration::from_millis(50)
                .saturating_mul(2u32.saturating_pow(exp))
                .min(max_delay)
        })
        .event_callback(move |event| {
            let text = redact::scrub(&event.to_string(), &event_secrets);
            async move {
                match event {
                    async_nats::Event::Connected => tracing::info!("bus: {text}"),
                    async_nats::Event::Disconnected | async_nats::Event::SlowConsumer(_) => {
                        tracing::warn!("bus: {text}")
                    }
                    _ => tracing::debug!("bus: {text}"),
                }
            }
        });
    let client = tokio::time::timeout(
        config.publish_timeout.saturating_mul(2),
        options.connect(addrs),
    )
    .await
    .map_err(|_| {
        BusError::Backend(format!(
            "cannot connect to the NATS server at {shown_url}: timed out"
        ))
    })?
    .map_err(|e| {
        BusError::Backend(redact::scrub(
            &format!("cannot connect to the NATS server at {shown_url}: {e}"),
            &secrets,
        ))
    })?;
    let max_payload = client.server_info().max_payload;
    if max_payload < RECOMMENDED_MAX_PAYLOAD {
        tracing::warn!(
            max_payload,
            recommended = RECOMMENDED_MAX_PAYLOAD,
            "the NATS server's max_payload is smaller than the largest activation"
        );
    }
    let js = jetstream::ContextBuilder::new()
        .timeout(config.publish_timeout)
        .build(client.clone());
    let (closed, _) = watch::channel(false);
    let bus = NatsBus {
        inner: Arc::new(Inner {
            client,
            js,
            names,
            config,
            shown_url,
            secrets,
            subs: Mutex::new(Subscriptions::default()),
            closed,
        }),
    };
    bus.inner.ensure_invalidation_stream().await?;
    coherence::watch_feeds(&bus.inner);
    Ok(bus)
}

impl NatsBus {
    /// The configuration this bus was connected with.
    pub fn config(&self) -> &NatsConfig {
        &self.inner.config
    }

    /// Whether the client is connected to a server right now.
    pub fn is_connected(&self) -> bool {
        self.inner.client.connection_state() == State::Connected
    }

    /// Close the bus: every feed ends, every publish fails with [`BusError::Closed`], and the
    /// connection is drained and closed. Unacknowledged deliveries stay unacknowledged (the
    /// server redelivers them, flagged, after the ack wait).
    pub async fn close(&self) {
        self.inner.closed.send_replace(true);
        if let Err(e) = self.inner.client.drain().await {
            tracing::debug!(error = %e, "bus: drain at close");
        }
    }
}

impl Inner {
    fn subs(&self) -> MutexGuard<'_, Subscriptions> {
        // No code path panics while holding the lock; recover the data if one ever did.
        self.subs.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn is_closed(&self) -> bool {
        *self.closed.borrow()
    }

    /// Resolves once the bus is closed.
    pub(crate) async fn closed(&self) {
        let mut rx = self.closed.subscribe();
        // An error means the sender is gone, which cannot happen while `self` lives.
        let _ = rx.wait_for(|closed| *closed).await;
    }

    pub(crate) fn is_connected(&self) -> bool {
        self.client.connection_state() == State::Connected
    }

    /// Fail fast: closed, or not connected right now.
    pub(crate) fn check_ready(&self) -> Result<()> {
        if self.is_closed() {
            return Err(BusError::Closed);
        }
        if !self.is_connected() {
            return Err(BusError::Backend(format!(
                "not connected to the NATS server at {}",
                self.shown_url
            )));
        }
        Ok(())
    }

    /// A backend error for `what`, without credentials.
    pub(crate) fn error(&self, what: &str, e: impl std::fmt::Display) -> BusError {
        BusError::Backend(redact::scrub(&format!("{what}: {e}"), &self.secrets))
    }

    /// Run `fut` within the publish timeout.
    pub(crate) async fn timed<T>(
        &self,
        what: &str,
        fut: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        match tokio::time::timeout(self.config.publish_timeout, fut).await {
            Ok(r) => r,
            Err(_) => Err(BusError::Backend(format!(
                "{what}: no answer from the NATS server within {:?}",
                self.config.publish_timeout
            ))),
        }
    }

    /// Wait until connected (or closed); true when connected.
    pub(crate) async fn wait_connected(&self) -> bool {
        let mut delay = Duration::from_millis(20);
        loop {
            if self.is_closed() {
                return false;
            }
            if self.is_connected() {
                return true;
            }
            tokio::select! {
                _ = self.closed() => return false,
                _ = tokio::time::sleep(delay) => {}
            }
            delay = (delay * 2).min(Duration::from_millis(500));
        }
    }
}

#[async_trait]
impl Bus for NatsBus {
    fn connected(&self) -> bool {
        self.is_connected()
    }

    async fn activations(&self, invoker: InvokerId) -> Result<Box<dyn Feed<Delivery>>> {
        activations::subscribe(&self.inner, invoker).await
    }

    async fn completions(
        &self,
        controller: ControllerId,
    ) -> Result<Box<dyn Feed<CompletionMessage>>> {
        broadcast::completions(&self.inner, controller).await
    }

    async fn pings(&self) -> Result<Box<dyn Feed<InvokerPing>>> {
        broadcast::pings(&self.inner).await
    }

    async fn invalidations(&self) -> Result<Box<dyn Feed<CacheInvalidation>>> {
        broadcast::invalidations(&self.inner).await
    }

    fn activation_publisher(&self) -> Arc<dyn Publisher<ActivationMessage>> {
        Arc::new(self.clone())
    }

    fn completion_publisher(&self) -> Arc<dyn Publisher<CompletionMessage>> {
        Arc::new(self.clone())
    }

    fn ping_publisher(&self) -> Arc<dyn Publisher<InvokerPing>> {
        Arc::new(self.clone())
    }

    fn invalidation_publisher(&self) -> Arc<dyn Publisher<CacheInvalidation>> {
        Arc::new(self.clone())
    }
}

#[async_trait]
impl Publisher<ActivationMessage> for NatsBus {
    async fn publish(&self, msg: ActivationMessage) -> Result<()> {
        activations::publish(&self.inner, msg).await
    }
}

#[async_trait]
impl Publisher<CompletionMessage> for NatsBus {
    /// A completion for a controller that is not subscribed is dropped: nobody waits for it,
    /// and the record is already stored.
    async fn publish(&self, msg: CompletionMessage) -> Result<()> {
        broadcast::publish_completion(&self.inner, msg).await
    }
}

#[async_trait]
impl Publisher<InvokerPing> for NatsBus {
    async fn publish(&self, msg: InvokerPing) -> Result<()> {
        broadcast::publish_ping(&self.inner, msg).await
    }
}

#[async_trait]
impl Publisher<CacheInvalidation> for NatsBus {
    async fn publish(&self, msg: CacheInvalidation) -> Result<()> {
        broadcast::publish_invalidation(&self.inner, msg).await
    }
}
