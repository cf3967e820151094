//! Read-your-writes for [`ActivationStore::enqueue`](whirl_store::ActivationStore::enqueue).
//!
//! An enqueued write runs on its own pooled connection, concurrently with everything else, so a
//! read issued right after `enqueue` returned could reach the server before the write committed.
//! Every write is numbered when it starts; [`Inflight::settled`] waits until every write numbered
//! up to the moment it was called has finished (committed or failed). Writes finish out of order,
//! so the tracker keeps the set of running numbers and publishes the low-water mark: "every write
//! numbered at or below this has finished". A read with nothing in flight does not wait at all.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

#[derive(Debug)]
pub(crate) struct Inflight {
    state: Mutex<State>,
    /// Every write numbered at or below this value has finished.
    done: watch::Sender<u64>,
}

#[derive(Debug, Default)]
struct State {
    /// The number of the last write started.
    last: u64,
    running: BTreeSet<u64>,
}

impl Inflight {
    pub(crate) fn new() -> Arc<Inflight> {
        Arc::new(Inflight {
            state: Mutex::new(State::default()),
            done: watch::Sender::new(0),
        })
    }

    /// Number a write that starts now; it counts as finished when the guard is dropped.
    pub(crate) fn start(self: &Arc<Self>) -> WriteGuard {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.last += 1;
        let seq = state.last;
        state.running.insert(seq);
        WriteGuard {
            tracker: self.clone(),
            seq,
        }
    }

    /// Wait until every write started before this call has finished.
    pub(crate) async fn settled(&self) {
        let target = {
            let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            match state.running.first() {
                None => return,
                Some(_) => state.last,
            }
        };
        let mut rx = self.done.subscribe();
        // The sender lives as long as `self`, so this only ends when the target is reached.
        let _ = rx.wait_for(|done| *done >= target).await;
    }

    fn finish(&self, seq: u64) {
        let mark = {
            let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            state.running.remove(&seq);
            match state.running.first() {
                Some(oldest) => oldest - 1,
                None => state.last,
            }
        };
        self.done.send_if_modified(|done| {
            if *done < mark {
                *done = mark;
                true
            } else {
                false
            }
        });
    }
}

/// A running write; finishing (dropping) it may release waiting reads.
#[derive(Debug)]
pub(crate) struct WriteGuard {
    tracker: Arc<Inflight>,
    seq: u64,
}

impl Drop for WriteGuard {
    fn drop(&mut self) {
        self.tracker.finish(self.seq);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn yield_a_while() {
        for _ in 0..100 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn waits_for_every_earlier_write_even_when_they_finish_out_of_order() {
        let t = Inflight::new();
        // Nothing in flight: no wait.
        t.settled().await;

        let a = t.start();
        let b = t.start();
        let settled = {
            let t = t.clone();
            tokio::spawn(async move { t.settled().await })
        };
        // Let the read take its target, then start a write that must not hold it back.
        yield_a_while().await;
        let c = t.start();
        yield_a_while().await;
        assert!(!settled.is_finished());
        drop(b);
        yield_a_while().await;
        assert!(!settled.is_finished(), "a is still running");
        drop(a);
        settled.await.unwrap();
        assert_eq!(*t.done.borrow(), 2, "c (3) is still running");
        drop(c);
        assert_eq!(*t.done.borrow(), 3);
        t.settled().await;
    }
}
