//! Activations: one JetStream stream and one durable pull consumer per invoker, explicit acks
//! confirmed by the server, in-progress signals while an invoker holds a delivery, and the
//! redelivery flag (see the crate documentation).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use async_nats::jetstream::consumer::{pull, AckPolicy, DeliverPolicy, PullConsumer};
use async_nats::jetstream::context::PublishErrorKind;
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::stream::{self, RetentionPolicy, StorageType};
use async_nats::jetstream::{self as js};
use async_nats::Subject;
use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use whirl_bus::{Ack, Acknowledge, ActivationMessage, BusError, Delivery, Feed, InvokerId, Result};

use crate::Inner;

/// How many acknowledged stream sequences an invoker remembers, to swallow a redelivery that
/// raced its ack.
const RECENT_ACKS: usize = 4096;
/// How long an ack that could not reach the server is retried in the background.
const ACK_RETRY_FOR: Duration = Duration::from_secs(600);
/// Idle heartbeat of a pull request (detects a dead subscription while nothing is delivered).
const PULL_HEARTBEAT: Duration = Duration::from_secs(5);
/// Room kept for the headers of a published activation (its message id).
const HEADER_ROOM: usize = 256;
/// How long one pull request waits on the server.
const PULL_EXPIRES: Duration = Duration::from_secs(30);

/// One invoker's deliveries that this process holds or just acknowledged.
pub(crate) struct InvokerState {
    held: Mutex<Held>,
    /// The consumer's ack wait as the server has it, in ms (in-progress signals go every third).
    ack_wait_ms: AtomicU64,
}

#[derive(Default)]
struct Held {
    /// Yielded, not yet acknowledged: stream sequence → ack subject.
    inflight: HashMap<u64, Subject>,
    recent: VecDeque<u64>,
    recent_set: HashSet<u64>,
}

impl InvokerState {
    fn held(&self) -> MutexGuard<'_, Held> {
        // No code path panics while holding the lock; recover the data if one ever did.
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn acked(&self, seq: u64) {
        let mut h = self.held();
        h.inflight.remove(&seq);
        if h.recent_set.insert(seq) {
            h.recent.push_back(seq);
            if h.recent.len() > RECENT_ACKS {
                if let Some(old) = h.recent.pop_front() {
                    h.recent_set.remove(&old);
                }
            }
        }
    }

    fn abandoned(&self, seq: u64) {
        self.held().inflight.remove(&seq);
    }

    /// Take the ack wait of the consumer as the server reports it (another process may have
    /// set it).
    fn follow(&self, consumer: &PullConsumer) {
        let ms =
            u64::try_from(consumer.cached_info().config.ack_wait.as_millis()).unwrap_or(u64::MAX);
        if ms > 0 {
            self.ack_wait_ms.store(ms, Ordering::Relaxed);
        }
    }

    fn progress_every(&self) -> Duration {
        (Duration::from_millis(self.ack_wait_ms.load(Ordering::Relaxed)) / 3)
            .max(Duration::from_millis(50))
    }
}

/// Create (or find) `invoker`'s stream and durable consumer.
async fn ensure(inner: &Inner, invoker: InvokerId) -> Result<PullConsumer> {
    let names = &inner.names;
    let cfg = &inner.config;
    let stream_name = names.invoker_stream(invoker);
    let what = format!("cannot set up the activation stream {stream_name}");
    inner
        .timed(&what, async {
            let stream = inner
                .js
                .get_or_create_stream(stream::Config {
                    name: stream_name.clone(),
                    subjects: vec![names.activation_subject(invoker)],
                    retention: RetentionPolicy::WorkQueue,
                    storage: StorageType::File,
                    max_age: cfg.max_age,
                    num_replicas: cfg.replicas,
                    ..Default::default()
                })
                .await
                .map_err(|e| inner.error(&what, e))?;
            let consumer_config = pull::Config {
                durable_name: Some(names.invoker_consumer(invoker)),
                deliver_policy: DeliverPolicy::All,
                ack_policy: AckPolicy::Explicit,
                ack_wait: cfg.ack_wait,
                max_deliver: cfg.max_deliver,
                max_ack_pending: cfg.max_ack_pending,
                num_replicas: cfg.replicas,
                ..Default::default()
            };
            // Creates the consumer, or updates its settings when it exists (it keeps its
            // position and its pending acks).
            stream
                .create_consumer(consumer_config)
                .await
                .map_err(|e| inner.error(&what, e))
        })
        .await
}

pub(crate) async fn subscribe(
    inner: &Arc<Inner>,
    invoker: InvokerId,
) -> Result<Box<dyn Feed<Delivery>>> {
    inner.check_ready()?;
    let state = {
        let mut subs = inner.subs();
        let slot = subs.invokers.entry(invoker).or_insert((Weak::new(), false));
        if slot.1 {
            return Err(BusError::AlreadySubscribed(invoker.to_string()));
        }
        let state = match slot.0.upgrade() {
            Some(s) => s,
            None => {
                let ack_wait = u64::try_from(inner.config.ack_wait.as_millis()).unwrap_or(u64::MAX);
                let s = Arc::new(InvokerState {
                    held: Mutex::new(Held::default()),
                    ack_wait_ms: AtomicU64::new(ack_wait),
                });
                tokio::spawn(keep_in_progress(inner.clone(), Arc::downgrade(&s)));
                slot.0 = Arc::downgrade(&s);
                s
            }
        };
        slot.1 = true;
        state
    };
    let mut feed = ActivationFeed {
        inner: inner.clone(),
        invoker,
        state,
        messages: None,
    };
    // Set up now, so that activations published from here on find the stream.
    let consumer = ensure(inner, invoker).await?;
    feed.state.follow(&consumer);
    feed.messages = Some(feed.open(&consumer).await?);
    Ok(Box::new(feed))
}

/// Tell the server, every third of the ack wait, that the deliveries this process holds are in
/// progress; ends when nothing holds `state` any more.
async fn keep_in_progress(inner: Arc<Inner>, state: Weak<InvokerState>) {
    loop {
        let Some(every) = state.upgrade().map(|s| s.progress_every()) else {
            return;
        };
        tokio::time::sleep(every).await;
        let Some(state) = state.upgrade() else { return };
        let replies: Vec<Subject> = state.held().inflight.values().cloned().collect();
        drop(state);
        if !inner.is_connected() {
            continue;
        }
        for reply in replies {
            if let Err(e) = inner
                .client
                .publish(reply, Bytes::from_static(b"+WPI"))
                .await
            {
                tracing::debug!(error = %e, "bus: in-progress signal not sent");
                break;
            }
        }
    }
}

struct ActivationFeed {
    inner: Arc<Inner>,
    invoker: InvokerId,
    state: Arc<InvokerState>,
    messages: Option<pull::Stream>,
}

impl std::fmt::Debug for ActivationFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActivationFeed")
            .field("invoker", &self.invoker)
            .finish_non_exhaustive()
    }
}

impl Drop for ActivationFeed {
    fn drop(&mut self) {
        let mut subs = self.inner.subs();
        if let Some(slot) = subs.invokers.get_mut(&self.invoker) {
            slot.1 = false;
        }
    }
}

impl ActivationFeed {
    async fn open(&self, consumer: &PullConsumer) -> Result<pull::Stream> {
        let what = format!("cannot read the activations of {}", self.invoker);
        self.inner
            .timed(&what, async {
                consumer
                    .stream()
                    .max_messages_per_batch(self.inner.config.pull_batch.max(1))
                    .heartbeat(PULL_HEARTBEAT)
                    .expires(PULL_EXPIRES)
                    .messages()
                    .await
                    .map_err(|e| self.inner.error(&what, e))
            })
            .await
    }

    /// (Re)open the pull stream once the client is connected; false if the bus closed.
    async fn reopen(&mut self) -> bool {
        let mut delay = Duration::from_millis(50);
        loop {
            if !self.inner.wait_connected().await {
                return false;
            }
            let opened = match ensure(&self.inner, self.invoker).await {
                Ok(consumer) => {
                    self.state.follow(&consumer);
                    self.open(&consumer).await
                }
                Err(e) => Err(e),
            };
            match opened {
                Ok(s) => {
                    tracing::info!(invoker = %self.invoker, "bus: reading activations again");
                    self.messages = Some(s);
                    return true;
                }
                Err(e) => {
                    tracing::warn!(invoker = %self.invoker, error = %e, "bus: cannot read activations yet")
                }
            }
            tokio::select! {
                _ = self.inner.closed() => return false,
                _ = tokio::time::sleep(delay) => {}
            }
            delay = (delay * 2).min(Duration::from_secs(2));
        }
    }

    /// Turn a JetStream message into a delivery, or `None` for one not to yield (a redelivery
    /// of a delivery this process holds or acknowledged, or garbage).
    async fn accept(&self, msg: js::Message) -> Option<Delivery> {
        let (seq, delivered) = match msg.info() {
            Ok(info) => (info.stream_sequence, info.delivered),
            Err(e) => {
                tracing::warn!(error = %e, "bus: a message without JetStream metadata; ignored");
                return None;
            }
        };
        let reply = msg.message.reply.clone()?;
        let again = {
            let h = self.state.held();
            if h.inflight.contains_key(&seq) {
                // Still ours: the ack (or its background retry) will settle it.
                return None;
            }
            h.recent_set.contains(&seq)
        };
        if again {
            // Our ack lost the race with this redelivery; acknowledge it again.
            if let Err(e) = msg.ack().await {
                tracing::debug!(error = %e, "bus: re-ack of an acknowledged activation");
            }
            return None;
        }
        let message: ActivationMessage = match serde_json::from_slice(&msg.message.payload) {
            Ok(m) => m,
            Err(e) => {
                tracing::error!(invoker = %self.invoker, seq, error = %e,
                    "bus: not an activation message; terminated");
                if let Err(e) = msg.ack_with(js::AckKind::Term).await {
                    tracing::debug!(error = %e, "bus: terminating a bad message");
                }
                return None;
            }
        };
        self.state.held().inflight.insert(seq, reply.clone());
        let pending = PendingAck {
            inner: self.inner.clone(),
            state: self.state.clone(),
            seq,
            reply,
            settled: false,
        };
        Some(Delivery {
            message,
            ack: Ack::new(Box::new(pending)).with_redelivered(delivered > 1),
        })
    }
}

#[async_trait]
impl Feed<Delivery> for ActivationFeed {
    async fn next(&mut self) -> Option<Delivery> {
        loop {
            if self.inner.is_closed() {
                return None;
            }
            let Some(messages) = self.messages.as_mut() else {
                if !self.reopen().await {
                    return None;
                }
                continue;
            };
            let item = tokio::select! {
                _ = self.inner.closed() => return None,
                item = messages.next() => item,
            };
            match item {
                Some(Ok(msg)) => {
                    if let Some(d) = self.accept(msg).await {
                        return Some(d);
                    }
                }
                Some(Err(e)) => {
                    tracing::debug!(invoker = %self.invoker, error = %e, "bus: activation pull interrupted");
                    self.messages = None;
                    // Rebuilt below; not in a tight loop if the error repeats.
                    tokio::select! {
                        _ = self.inner.closed() => return None,
                        _ = tokio::time::sleep(Duration::from_millis(50)) => {}
                    }
                }
                None => self.messages = None,
            }
        }
    }
}

/// The acknowledgement of one delivery. Dropped without acknowledging, the delivery is
/// abandoned: no more in-progress signals, and the server redelivers it after the ack wait.
struct PendingAck {
    inner: Arc<Inner>,
    state: Arc<InvokerState>,
    seq: u64,
    reply: Subject,
    settled: bool,
}

impl std::fmt::Debug for PendingAck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingAck")
            .field("seq", &self.seq)
            .finish_non_exhaustive()
    }
}

impl Drop for PendingAck {
    fn drop(&mut self) {
        if !self.settled {
            self.state.abandoned(self.seq);
        }
    }
}

impl PendingAck {
    /// One acknowledgement confirmed by the server.
    async fn try_ack(&self) -> Result<()> {
        self.inner.check_ready()?;
        self.inner
            .timed("ack", async {
                self.inner
                    .client
                    .request(self.reply.clone(), Bytes::from_static(b"+ACK"))
                    .await
                    .map(|_| ())
                    .map_err(|e| self.inner.error("ack", e))
            })
            .await
    }

    fn settle(mut self) {
        self.settled = true;
        self.state.acked(self.seq);
    }
}

#[async_trait]
impl Acknowledge for PendingAck {
    async fn ack(self: Box<Self>) {
        let pending = *self;
        match pending.try_ack().await {
            Ok(()) => pending.settle(),
            Err(BusError::Closed) => {}
            Err(e) => {
                tracing::warn!(seq = pending.seq, error = %e, "bus: ack failed; retrying in the background");
                // Still held meanwhile: in-progress signals keep the server from
                // redelivering it, and a redelivery to this process is swallowed.
                tokio::spawn(async move {
                    let give_up = tokio::time::Instant::now() + ACK_RETRY_FOR;
                    let mut delay = Duration::from_millis(100);
                    while tokio::time::Instant::now() < give_up {
                        tokio::time::sleep(delay).await;
                        delay = (delay * 2).min(Duration::from_secs(5));
                        if !pending.inner.is_connected() {
                            continue;
                        }
                        match pending.try_ack().await {
                            Ok(()) => return pending.settle(),
                            Err(BusError::Closed) => return,
                            Err(e) => tracing::debug!(error = %e, "bus: ack retry failed"),
                        }
                    }
                    tracing::warn!(
                        seq = pending.seq,
                        "bus: gave up acknowledging an activation"
                    );
                });
            }
        }
    }
}

pub(crate) async fn publish(inner: &Inner, msg: ActivationMessage) -> Result<()> {
    inner.check_ready()?;
    let invoker = msg.invoker;
    let payload =
        serde_json::to_vec(&msg).map_err(|e| inner.error("cannot serialise an activation", e))?;
    let max = inner.client.server_info().max_payload;
    // The message id header counts against the limit too.
    if payload.len() + HEADER_ROOM > max {
        return Err(BusError::Backend(format!(
            "activation {} is {} bytes, more than the NATS server's max_payload of {max}",
            msg.activation_id,
            payload.len()
        )));
    }
    let publish = PublishMessage::build()
        .payload(Bytes::from(payload))
        .message_id(&msg.activation_id);
    let subject = inner.names.activation_subject(invoker);
    let what = format!("cannot publish activation {}", msg.activation_id);
    inner
        .timed(&what, async {
            let stored = match inner.js.send_publish(subject, publish).await {
                Ok(ack) => ack.await,
                Err(e) => Err(e),
            };
            match stored {
                Ok(_) => Ok(()),
                Err(e) if e.kind() == PublishErrorKind::StreamNotFound => {
                    Err(BusError::NoSuchInvoker(invoker))
                }
                Err(e) => Err(inner.error(&what, e)),
            }
        })
        .await
}
