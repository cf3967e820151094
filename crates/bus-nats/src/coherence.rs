//! Read-your-writes across controllers: a cache invalidation's publish returns once every other
//! live controller has handled it, so that a client that wrote an entity through one controller
//! and reads it through another at once never gets the old one.
//!
//! The invalidation stream alone delivers to every subscriber soon, but asynchronously: the
//! writer's HTTP answer and the client's next request can reach another controller before that
//! controller has evicted its entry (a race of a few task wake-ups, seen on a loaded machine).
//! So:
//!
//! - Every invalidation feed counts the stream sequences it has *handled* (returned by `next`,
//!   and `next` called again, which the controller does once it evicted the entries) and answers
//!   sync requests on core NATS subject `P.invalidation_sync` ("have you handled sequence S?")
//!   once it has, within [`SYNC_WAIT`]. It announces itself on `P.invalidation_feeds` every
//!   [`PRESENCE_EVERY`].
//! - Every bus keeps the feeds it heard from in the last [`PRESENCE_TTL`]. After the stream
//!   stored an invalidation (sequence S), the publisher asks the live feeds of other processes
//!   (its own process's feeds evicted at write time) and waits for each answer, at most
//!   [`SYNC_WAIT`]: a feed that is gone or stuck delays writes by that much, never blocks them.
//!
//! The cost is a core NATS round trip to the other controllers on each entity write; reads,
//! the hot path, pay nothing.

use std::collections::HashSet;
use std::sync::{Arc, Weak};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::Inner;

/// How often a feed announces itself.
const PRESENCE_EVERY: Duration = Duration::from_secs(1);
/// How long a feed counts as live after its last announcement.
const PRESENCE_TTL: Duration = Duration::from_secs(3);
/// The longest a publisher waits for the other feeds (and a feed waits to have handled the
/// sequence asked about).
pub(crate) const SYNC_WAIT: Duration = Duration::from_secs(1);

/// Record the feeds other buses announce, for as long as the bus lives.
pub(crate) fn watch_feeds(inner: &Arc<Inner>) {
    let weak: Weak<Inner> = Arc::downgrade(inner);
    let client = inner.client.clone();
    let subject = inner.names.invalidation_feeds_subject();
    tokio::spawn(async move {
        let mut sub = loop {
            match client.subscribe(subject.clone()).await {
                Ok(s) => break s,
                Err(e) => {
                    tracing::debug!(error = %e, "bus: cannot watch invalidation feeds yet");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    if weak.strong_count() == 0 {
                        return;
                    }
                }
            }
        };
        // Checked every second, so the task (and its connection handle) goes with the bus.
        let mut tick = tokio::time::interval(PRESENCE_EVERY);
        loop {
            tokio::select! {
                m = sub.next() => {
                    let Some(m) = m else { return };
                    let Some(inner) = weak.upgrade() else { return };
                    if let Ok(id) = std::str::from_utf8(&m.payload) {
                        inner.subs().feeds_seen.insert(id.to_string(), Instant::now());
                    }
                }
                _ = tick.tick() => {
                    let Some(inner) = weak.upgrade() else { return };
                    if inner.is_closed() {
                        return;
                    }
                    inner.subs().feeds_seen.retain(|_, seen| seen.elapsed() <= PRESENCE_TTL);
                }
            }
        }
    });
}

/// A feed's side: announce `id` and answer sync requests once `handled` reaches the sequence
/// asked about. Runs until aborted (the feed's drop) or the bus closes.
pub(crate) fn serve_feed(
    inner: &Arc<Inner>,
    id: String,
    handled: watch::Receiver<u64>,
) -> JoinHandle<()> {
    let weak = Arc::downgrade(inner);
    let client = inner.client.clone();
    let sync_subject = inner.names.invalidation_sync_subject();
    let feeds_subject = inner.names.invalidation_feeds_subject();
    tokio::spawn(async move {
        let mut sub = loop {
            match client.subscribe(sync_subject.clone()).await {
                Ok(s) => break s,
                Err(e) => {
                    tracing::debug!(error = %e, "bus: cannot answer invalidation syncs yet");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        };
        let mut tick = tokio::time::interval(PRESENCE_EVERY);
        loop {
            tokio::select! {
                m = sub.next() => {
                    let Some(m) = m else { return };
                    let (Some(reply), Some(seq)) = (
                        m.reply,
                        std::str::from_utf8(&m.payload).ok().and_then(|s| s.parse::<u64>().ok()),
                    ) else {
                        continue;
                    };
                    let mut handled = handled.clone();
                    let (client, id) = (client.clone(), id.clone());
                    tokio::spawn(async move {
                        let done = matches!(
                            tokio::time::timeout(SYNC_WAIT, handled.wait_for(|h| *h >= seq)).await,
                            Ok(Ok(_))
                        );
                        if done {
                            let _ = client.publish(reply, Bytes::from(id)).await;
                            let _ = client.flush().await;
                        }
                    });
                }
                _ = tick.tick() => {
                    match weak.upgrade() {
                        Some(inner) if !inner.is_closed() => {}
                        _ => return,
                    }
                    let _ = client.publish(feeds_subject.clone(), Bytes::from(id.clone())).await;
                }
            }
        }
    })
}

/// The publisher's side: wait until every live feed of another bus has handled stream sequence
/// `seq`, at most [`SYNC_WAIT`]. Never fails: the invalidation is stored either way, and a feed
/// that does not answer in time gets it a little later.
pub(crate) async fn wait_for_peers(inner: &Inner, seq: u64) {
    let mut waiting: HashSet<String> = {
        let subs = inner.subs();
        subs.feeds_seen
            .iter()
            .filter(|(id, seen)| seen.elapsed() <= PRESENCE_TTL && !subs.own_feeds.contains(*id))
            .map(|(id, _)| id.clone())
            .collect()
    };
    if waiting.is_empty() {
        return;
    }
    let deadline = Instant::now() + SYNC_WAIT;
    let inbox = inner.client.new_inbox();
    let Ok(mut replies) = inner.client.subscribe(inbox.clone()).await else {
        return;
    };
    let asked = inner
        .client
        .publish_with_reply(
            inner.names.invalidation_sync_subject(),
            inbox,
            Bytes::from(seq.to_string()),
        )
        .await;
    if asked.is_err() || inner.client.flush().await.is_err() {
        return;
    }
    while !waiting.is_empty() {
        match tokio::time::timeout_at(deadline, replies.next()).await {
            Ok(Some(m)) => {
                if let Ok(id) = std::str::from_utf8(&m.payload) {
                    waiting.remove(id);
                }
            }
            _ => break,
        }
    }
    if !waiting.is_empty() {
        tracing::debug!(
            seq,
            missing = waiting.len(),
            "bus: some controllers did not confirm an invalidation in time"
        );
    }
    let _ = replies.unsubscribe().await;
}
