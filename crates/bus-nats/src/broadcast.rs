//! Completions and pings over core NATS, cache invalidations over a small JetStream stream read
//! by one ordered consumer per subscriber (see the crate documentation for why).

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::consumer::{push, DeliverPolicy};
use async_nats::jetstream::context::PublishErrorKind;
use async_nats::jetstream::stream::{self, RetentionPolicy, StorageType};
use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use serde::de::DeserializeOwned;
use whirl_bus::{
    BusError, CacheInvalidation, CompletionMessage, ControllerId, Feed, InvokerPing, Result,
};

use crate::Inner;

impl Inner {
    /// Create (or find) the invalidation stream.
    pub(crate) async fn ensure_invalidation_stream(&self) -> Result<stream::Stream> {
        let name = self.names.invalidation_stream();
        let what = format!("cannot set up the invalidation stream {name}");
        self.timed(&what, async {
            self.js
                .get_or_create_stream(stream::Config {
                    name: name.clone(),
                    subjects: vec![self.names.invalidation_subject()],
                    retention: RetentionPolicy::Limits,
                    storage: StorageType::File,
                    max_age: self.config.invalidation_max_age,
                    num_replicas: self.config.replicas,
                    ..Default::default()
                })
                .await
                .map_err(|e| self.error(&what, e))
        })
        .await
    }

    /// A round trip to the server: everything this connection sent before (subscriptions
    /// included) has been processed when it returns.
    async fn round_trip(&self) -> Result<()> {
        self.timed("subscribe", async {
            // A request nobody answers: the server's "no responders" is the round trip.
            match self
                .client
                .request(self.client.new_inbox(), Bytes::new())
                .await
            {
                Ok(_) => Ok(()),
                Err(e) if e.kind() == async_nats::RequestErrorKind::NoResponders => Ok(()),
                Err(e) => Err(self.error("subscribe", e)),
            }
        })
        .await
    }

    /// Publish on core NATS and flush, within the publish timeout.
    async fn publish_core(&self, subject: String, payload: Vec<u8>, what: &str) -> Result<()> {
        self.check_ready()?;
        self.timed(what, async {
            self.client
                .publish(subject, Bytes::from(payload))
                .await
                .map_err(|e| self.error(what, e))?;
            self.client.flush().await.map_err(|e| self.error(what, e))
        })
        .await
    }
}

/// A feed of one core NATS subject.
struct CoreFeed<T> {
    inner: Arc<Inner>,
    sub: async_nats::Subscriber,
    controller: Option<ControllerId>,
    _kind: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for CoreFeed<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CoreFeed")
            .field("kind", &std::any::type_name::<T>())
            .field("controller", &self.controller)
            .finish_non_exhaustive()
    }
}

impl<T> Drop for CoreFeed<T> {
    fn drop(&mut self) {
        if let Some(c) = self.controller {
            self.inner.subs().controllers.remove(&c);
        }
    }
}

#[async_trait]
impl<T: DeserializeOwned + Send + 'static> Feed<T> for CoreFeed<T> {
    async fn next(&mut self) -> Option<T> {
        loop {
            let m = tokio::select! {
                _ = self.inner.closed() => return None,
                m = self.sub.next() => m?,
            };
            match serde_json::from_slice(&m.payload) {
                Ok(v) => return Some(v),
                Err(e) => tracing::warn!(subject = %m.subject, error = %e,
                    "bus: not a {} message; ignored", std::any::type_name::<T>()),
            }
        }
    }
}

async fn subscribe_core<T: DeserializeOwned + Send + 'static>(
    inner: &Arc<Inner>,
    subject: String,
    controller: Option<ControllerId>,
) -> Result<Box<dyn Feed<T>>> {
    let sub = inner
        .timed("subscribe", async {
            inner
                .client
                .subscribe(subject)
                .await
                .map_err(|e| inner.error("subscribe", e))
        })
        .await;
    let feed = match sub {
        Ok(sub) => CoreFeed {
            inner: inner.clone(),
            sub,
            controller,
            _kind: PhantomData,
        },
        Err(e) => {
            if let Some(c) = controller {
                inner.subs().controllers.remove(&c);
            }
            return Err(e);
        }
    };
    // A message published by anyone after this returns reaches the subscription.
    inner.round_trip().await?;
    Ok(Box::new(feed))
}

pub(crate) async fn completions(
    inner: &Arc<Inner>,
    controller: ControllerId,
) -> Result<Box<dyn Feed<CompletionMessage>>> {
    inner.check_ready()?;
    if !inner.subs().controllers.insert(controller) {
        return Err(BusError::AlreadySubscribed(controller.to_string()));
    }
    subscribe_core(
        inner,
        inner.names.completion_subject(controller),
        Some(controller),
    )
    .await
}

pub(crate) async fn pings(inner: &Arc<Inner>) -> Result<Box<dyn Feed<InvokerPing>>> {
    inner.check_ready()?;
    subscribe_core(inner, inner.names.ping_subject(), None).await
}

pub(crate) async fn publish_completion(inner: &Inner, msg: CompletionMessage) -> Result<()> {
    let what = format!("cannot publish the completion of {}", msg.activation_id);
    let mut payload = serde_json::to_vec(&msg).map_err(|e| inner.error(&what, e))?;
    let max = inner.client.server_info().max_payload;
    if payload.len() > max && msg.record.is_some() {
        // The waiter reads the stored record instead (the caller gets 202 and the id).
        tracing::warn!(activation_id = %msg.activation_id, bytes = payload.len(), max,
            "bus: completion too large for the bus; sent without its record");
        let bare = CompletionMessage {
            record: None,
            ..msg.clone()
        };
        payload = serde_json::to_vec(&bare).map_err(|e| inner.error(&what, e))?;
    }
    inner
        .publish_core(
            inner.names.completion_subject(msg.controller),
            payload,
            &what,
        )
        .await
}

pub(crate) async fn publish_ping(inner: &Inner, msg: InvokerPing) -> Result<()> {
    let what = "cannot publish a ping";
    let payload = serde_json::to_vec(&msg).map_err(|e| inner.error(what, e))?;
    inner
        .publish_core(inner.names.ping_subject(), payload, what)
        .await
}

pub(crate) async fn publish_invalidation(inner: &Inner, msg: CacheInvalidation) -> Result<()> {
    inner.check_ready()?;
    let what = "cannot publish a cache invalidation";
    let payload = Bytes::from(serde_json::to_vec(&msg).map_err(|e| inner.error(what, e))?);
    let once = || async {
        let stored = match inner
            .js
            .publish(inner.names.invalidation_subject(), payload.clone())
            .await
        {
            Ok(ack) => ack.await,
            Err(e) => Err(e),
        };
        stored.map(|ack| ack.sequence)
    };
    let result = inner
        .timed(what, async {
            match once().await {
                Ok(seq) => Ok(Ok(seq)),
                // The stream is gone (a server that lost its store): set it up again.
                Err(e) if e.kind() == PublishErrorKind::StreamNotFound => Ok(Err(e)),
                Err(e) => Err(inner.error(what, e)),
            }
        })
        .await?;
    let seq = match result {
        Ok(seq) => seq,
        Err(_) => {
            inner.ensure_invalidation_stream().await?;
            inner
                .timed(what, async {
                    once().await.map_err(|e| inner.error(what, e))
                })
                .await?
        }
    };
    // Stored: return once the other controllers have handled it (read-your-writes).
    crate::coherence::wait_for_peers(inner, seq).await;
    Ok(())
}

/// Every invalidation published from the subscription on, through an ordered consumer that the
/// client recreates after a disconnect from the last sequence seen.
struct InvalidationFeed {
    inner: Arc<Inner>,
    messages: Option<push::Ordered>,
    /// The next stream sequence this feed expects (where a recreated consumer starts).
    next_seq: u64,
    /// The last sequence handled by the reader (see `coherence`), and the task answering
    /// publishers about it.
    handled: tokio::sync::watch::Sender<u64>,
    id: String,
    responder: tokio::task::JoinHandle<()>,
}

impl Drop for InvalidationFeed {
    fn drop(&mut self) {
        self.responder.abort();
        self.inner.subs().own_feeds.remove(&self.id);
    }
}

impl std::fmt::Debug for InvalidationFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InvalidationFeed")
            .field("next_seq", &self.next_seq)
            .finish_non_exhaustive()
    }
}

async fn open_invalidations(inner: &Inner, start: Option<u64>) -> Result<(push::Ordered, u64)> {
    let what = "cannot read cache invalidations";
    let stream = inner.ensure_invalidation_stream().await?;
    let start = match start {
        Some(s) => s,
        None => stream.cached_info().state.last_sequence + 1,
    };
    let messages = inner
        .timed(what, async {
            let consumer = stream
                .create_consumer(push::OrderedConfig {
                    deliver_subject: inner.client.new_inbox(),
                    deliver_policy: DeliverPolicy::ByStartSequence {
                        start_sequence: start,
                    },
                    ..Default::default()
                })
                .await
                .map_err(|e| inner.error(what, e))?;
            consumer.messages().await.map_err(|e| inner.error(what, e))
        })
        .await?;
    Ok((messages, start))
}

pub(crate) async fn invalidations(inner: &Arc<Inner>) -> Result<Box<dyn Feed<CacheInvalidation>>> {
    inner.check_ready()?;
    let (messages, next_seq) = open_invalidations(inner, None).await?;
    // Everything before the subscription counts as handled (the subscriber's caches are newer).
    let (handled, handled_rx) = tokio::sync::watch::channel(next_seq.saturating_sub(1));
    let id = inner.client.new_inbox();
    inner.subs().own_feeds.insert(id.clone());
    let responder = crate::coherence::serve_feed(inner, id.clone(), handled_rx);
    Ok(Box::new(InvalidationFeed {
        inner: inner.clone(),
        messages: Some(messages),
        next_seq,
        handled,
        id,
        responder,
    }))
}

#[async_trait]
impl Feed<CacheInvalidation> for InvalidationFeed {
    async fn next(&mut self) -> Option<CacheInvalidation> {
        // Called again: the reader has handled everything returned so far.
        let done = self.next_seq.saturating_sub(1);
        self.handled.send_if_modified(|h| {
            let newer = done > *h;
            if newer {
                *h = done;
            }
            newer
        });
        loop {
            if self.inner.is_closed() {
                return None;
            }
            let Some(messages) = self.messages.as_mut() else {
                if !self.inner.wait_connected().await {
                    return None;
                }
                match open_invalidations(&self.inner, Some(self.next_seq)).await {
                    Ok((m, _)) => self.messages = Some(m),
                    Err(e) => {
                        tracing::warn!(error = %e, "bus: cannot read invalidations yet");
                        tokio::select! {
                            _ = self.inner.closed() => return None,
                            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                        }
                    }
                }
                continue;
            };
            let item = tokio::select! {
                _ = self.inner.closed() => return None,
                item = messages.next() => item,
            };
            match item {
                Some(Ok(m)) => {
                    if let Ok(info) = m.info() {
                        if info.stream_sequence < self.next_seq {
                            // A consumer recreated before this feed saw anything starts from
                            // the beginning of the stream: skip what came before the feed.
                            continue;
                        }
                        self.next_seq = info.stream_sequence + 1;
                    }
                    match serde_json::from_slice(&m.message.payload) {
                        Ok(v) => return Some(v),
                        Err(e) => {
                            tracing::warn!(error = %e, "bus: not a cache invalidation; ignored")
                        }
                    }
                }
                Some(Err(e)) => {
                    // The ordered consumer recreates itself; do not spin meanwhile.
                    tracing::debug!(error = %e, "bus: invalidation feed interrupted");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                None => self.messages = None,
            }
        }
    }
}
