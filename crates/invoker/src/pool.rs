//! The container pool (spec §4.4): warm containers keyed by invoking namespace + action + revision,
//! prewarmed stem cells per kind and memory, memory-based capacity with LRU eviction of idle
//! containers, and waiting when memory is short.
//!
//! The pool state sits behind a `std` mutex that is never held across an `.await`: callers take a
//! container out, run it without the lock, and give it back.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use whirl_runtime::Container;

/// Warm reuse key: containers are never shared across namespaces, actions or revisions.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WarmKey {
    pub namespace: String,
    pub action_id: String,
    pub revision: u64,
}

/// Stem cell key: kind and memory.
pub type StemKey = (String, u32);

pub struct Idle {
    pub container: Box<dyn Container>,
    pub memory_mb: u32,
    pub since: Instant,
    pub paused: bool,
}

impl std::fmt::Debug for Idle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Idle")
            .field("id", &self.container.id())
            .field("memory_mb", &self.memory_mb)
            .field("paused", &self.paused)
            .finish()
    }
}

/// What [`Pool::acquire`] hands out.
pub enum Acquired {
    /// A warm container of this action (maybe paused: resume before use).
    Warm(Idle),
    /// A started, uninitialised stem cell of the right kind and memory.
    Stem(Box<dyn Container>),
    /// Memory is reserved: create a container.
    Cold,
}

#[derive(Default)]
struct State {
    free_mb: u64,
    idle: HashMap<WarmKey, Vec<Idle>>,
    stems: HashMap<StemKey, Vec<Box<dyn Container>>>,
    closed: bool,
}

/// Counters for tests and diagnostics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    pub free_mb: u64,
    pub idle: usize,
    pub paused: usize,
    pub stems: usize,
}

pub struct Pool {
    state: Mutex<State>,
    freed: Notify,
    capacity_mb: u64,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("capacity_mb", &self.capacity_mb)
            .finish()
    }
}

impl std::fmt::Debug for Acquired {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Acquired::Warm(i) => f.debug_tuple("Warm").field(i).finish(),
            Acquired::Stem(c) => f.debug_tuple("Stem").field(&c.id()).finish(),
            Acquired::Cold => f.write_str("Cold"),
        }
    }
}

/// Containers taken out of the pool to be destroyed by the caller (outside the lock).
pub type Evicted = Vec<Box<dyn Container>>;

impl Pool {
    pub fn new(capacity_mb: u64) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(State {
                free_mb: capacity_mb,
                ..State::default()
            }),
            freed: Notify::new(),
            capacity_mb,
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A poisoned lock means a panic while holding it; the state is still structurally valid.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Take a container for `key`: warm, else a stem cell of `stem`, else reserve memory for a
    /// cold start, evicting least-recently-used idle containers when memory is short, and waiting
    /// when nothing can be evicted. Returns `None` when the pool is closed or the action can never
    /// fit. Evicted containers are returned for the caller to destroy.
    pub async fn acquire(&self, key: &WarmKey, stem: &StemKey) -> (Option<Acquired>, Evicted) {
        let memory = u64::from(stem.1);
        if memory > self.capacity_mb {
            return (None, Vec::new());
        }
        let mut evicted = Vec::new();
        loop {
            let notified = self.freed.notified();
            {
                let mut s = self.lock();
                if s.closed {
                    return (None, evicted);
                }
                if let Some(list) = s.idle.get_mut(key) {
                    // Most recently used first: it is the least likely to be paused.
                    if let Some(c) = list.pop() {
                        if list.is_empty() {
                            s.idle.remove(key);
                        }
                        return (Some(Acquired::Warm(c)), evicted);
                    }
                }
                if let Some(c) = s.stems.get_mut(stem).and_then(Vec::pop) {
                    return (Some(Acquired::Stem(c)), evicted);
                }
                if s.free_mb >= memory {
                    s.free_mb -= memory;
                    return (Some(Acquired::Cold), evicted);
                }
                if let Some(victim) = lru_victim(&s) {
                    let mut taken = None;
                    if let Some(list) = s.idle.get_mut(&victim) {
                        if !list.is_empty() {
                            taken = Some(list.remove(0));
                        }
                        if list.is_empty() {
                            s.idle.remove(&victim);
                        }
                    }
                    if let Some(c) = taken {
                        s.free_mb += u64::from(c.memory_mb);
                        evicted.push(c.container);
                    }
                    continue;
                }
            }
            // Nothing to evict: wait until a container is released or destroyed.
            notified.await;
        }
    }

    /// Give back a healthy container after a run.
    pub fn release(
        &self,
        key: WarmKey,
        container: Box<dyn Container>,
        memory_mb: u32,
    ) -> Option<Box<dyn Container>> {
        let mut s = self.lock();
        if s.closed {
            return Some(container);
        }
        s.idle.entry(key).or_default().push(Idle {
            container,
            memory_mb,
            since: Instant::now(),
            paused: false,
        });
        drop(s);
        self.freed.notify_waiters();
        None
    }

    /// Return the memory of a container that was destroyed (or never created).
    pub fn free(&self, memory_mb: u32) {
        self.lock().free_mb += u64::from(memory_mb);
        self.freed.notify_waiters();
    }

    /// Reserve memory for a new stem cell; false if there is not enough free.
    pub fn reserve_stem(&self, memory_mb: u32) -> bool {
        let mut s = self.lock();
        if s.closed || s.free_mb < u64::from(memory_mb) {
            return false;
        }
        s.free_mb -= u64::from(memory_mb);
        true
    }

    /// Add a started stem cell (its memory was reserved with [`Self::reserve_stem`]).
    pub fn add_stem(
        &self,
        key: StemKey,
        container: Box<dyn Container>,
    ) -> Option<Box<dyn Container>> {
        let mut s = self.lock();
        if s.closed {
            return Some(container);
        }
        s.stems.entry(key).or_default().push(container);
        drop(s);
        self.freed.notify_waiters();
        None
    }

    /// Number of stem cells of `key`.
    pub fn stem_count(&self, key: &StemKey) -> usize {
        self.lock().stems.get(key).map_or(0, Vec::len)
    }

    /// Idle containers due for pausing (idle longer than `grace`, not yet paused), taken out.
    pub fn take_to_pause(&self, grace: Duration) -> Vec<(WarmKey, Idle)> {
        let mut s = self.lock();
        let mut out = Vec::new();
        for (k, list) in s.idle.iter_mut() {
            let mut i = 0;
            while i < list.len() {
                if !list[i].paused && list[i].since.elapsed() >= grace {
                    out.push((k.clone(), list.remove(i)));
                } else {
                    i += 1;
                }
            }
        }
        s.idle.retain(|_, l| !l.is_empty());
        out
    }

    /// Put back a paused container (keeps its idle timestamp).
    pub fn put_back(&self, key: WarmKey, idle: Idle) -> Option<Box<dyn Container>> {
        let mut s = self.lock();
        if s.closed {
            return Some(idle.container);
        }
        let list = s.idle.entry(key).or_default();
        // Older entries first, so `pop` keeps taking the most recently used.
        list.insert(0, idle);
        None
    }

    /// Containers idle longer than `timeout`, taken out (their memory freed) for destruction.
    pub fn take_expired(&self, timeout: Duration) -> Evicted {
        let mut s = self.lock();
        let mut out = Vec::new();
        let mut freed = 0;
        for list in s.idle.values_mut() {
            let mut i = 0;
            while i < list.len() {
                if list[i].since.elapsed() >= timeout {
                    let c = list.remove(i);
                    freed += u64::from(c.memory_mb);
                    out.push(c.container);
                } else {
                    i += 1;
                }
            }
        }
        s.idle.retain(|_, l| !l.is_empty());
        s.free_mb += freed;
        drop(s);
        if !out.is_empty() {
            self.freed.notify_waiters();
        }
        out
    }

    /// Close the pool and take every idle container and stem cell out for destruction.
    pub fn close(&self) -> Evicted {
        let mut s = self.lock();
        s.closed = true;
        let mut out: Evicted = s
            .idle
            .drain()
            .flat_map(|(_, l)| l.into_iter().map(|i| i.container))
            .collect();
        out.extend(s.stems.drain().flat_map(|(_, l)| l));
        drop(s);
        self.freed.notify_waiters();
        out
    }

    pub fn stats(&self) -> PoolStats {
        let s = self.lock();
        PoolStats {
            free_mb: s.free_mb,
            idle: s.idle.values().map(Vec::len).sum(),
            paused: s.idle.values().flatten().filter(|i| i.paused).count(),
            stems: s.stems.values().map(Vec::len).sum(),
        }
    }
}

/// The key whose oldest idle container was used least recently.
fn lru_victim(s: &State) -> Option<WarmKey> {
    s.idle
        .iter()
        .filter_map(|(k, l)| l.iter().map(|i| i.since).min().map(|t| (k, t)))
        .min_by_key(|(_, t)| *t)
        .map(|(k, _)| k.clone())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use async_trait::async_trait;
    use whirl_runtime::{Container, InitOutcome, InitRequest, RunOutcome, RunRequest};

    use super::*;

    #[derive(Debug)]
    struct Fake(String);

    #[async_trait]
    impl Container for Fake {
        fn id(&self) -> &str {
            &self.0
        }
        fn kind(&self) -> &str {
            "nodejs:20"
        }
        async fn init(&mut self, _: InitRequest, _: Duration) -> InitOutcome {
            unreachable!("not used by the pool")
        }
        async fn run(&mut self, _: RunRequest, _: Duration, _: u64) -> RunOutcome {
            unreachable!("not used by the pool")
        }
        async fn pause(&mut self) -> whirl_runtime::Result<()> {
            Ok(())
        }
        async fn resume(&mut self) -> whirl_runtime::Result<()> {
            Ok(())
        }
        async fn prioritize(&mut self) -> whirl_runtime::Result<()> {
            Ok(())
        }
        async fn destroy(self: Box<Self>) -> whirl_runtime::Result<()> {
            Ok(())
        }
    }

    fn key(ns: &str, action: &str, rev: u64) -> WarmKey {
        WarmKey {
            namespace: ns.into(),
            action_id: action.into(),
            revision: rev,
        }
    }

    fn stem() -> StemKey {
        ("nodejs:20".into(), 256)
    }

    #[tokio::test]
    async fn warm_reuse_only_for_same_namespace_action_and_revision() {
        let pool = Pool::new(1024);
        let (a, _) = pool.acquire(&key("ns", "ns/a", 1), &stem()).await;
        assert!(matches!(a, Some(Acquired::Cold)));
        assert!(pool
            .release(key("ns", "ns/a", 1), Box::new(Fake("c1".into())), 256)
            .is_none());
        for other in [
            key("ns2", "ns/a", 1),
            key("ns", "ns/b", 1),
            key("ns", "ns/a", 2),
        ] {
            let (got, _) = pool.acquire(&other, &stem()).await;
            assert!(
                matches!(got, Some(Acquired::Cold)),
                "{other:?} must not reuse"
            );
        }
        let (got, _) = pool.acquire(&key("ns", "ns/a", 1), &stem()).await;
        match got {
            Some(Acquired::Warm(i)) => assert_eq!(i.container.id(), "c1"),
            other => panic!("expected warm, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn stem_cells_are_used_before_cold_starts() {
        let pool = Pool::new(1024);
        assert!(pool.reserve_stem(256));
        assert!(pool.add_stem(stem(), Box::new(Fake("s1".into()))).is_none());
        let (got, _) = pool.acquire(&key("ns", "ns/a", 1), &stem()).await;
        assert!(matches!(got, Some(Acquired::Stem(_))));
        assert_eq!(pool.stats().stems, 0);
        // A different memory size does not match the stem cell's.
        assert!(pool.reserve_stem(256));
        assert!(pool.add_stem(stem(), Box::new(Fake("s2".into()))).is_none());
        let (got, _) = pool
            .acquire(&key("ns", "ns/b", 1), &("nodejs:20".into(), 128))
            .await;
        assert!(matches!(got, Some(Acquired::Cold)));
    }

    #[tokio::test]
    async fn lru_eviction_when_memory_is_short() {
        let pool = Pool::new(512);
        for (name, id) in [("ns/a", "ca"), ("ns/b", "cb")] {
            let (got, _) = pool.acquire(&key("ns", name, 1), &stem()).await;
            assert!(matches!(got, Some(Acquired::Cold)));
            assert!(pool
                .release(key("ns", name, 1), Box::new(Fake(id.into())), 256)
                .is_none());
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let (got, evicted) = pool.acquire(&key("ns", "ns/c", 1), &stem()).await;
        assert!(matches!(got, Some(Acquired::Cold)));
        let ids: Vec<&str> = evicted.iter().map(|c| c.id()).collect();
        assert_eq!(
            ids,
            vec!["ca"],
            "the least recently used container goes first"
        );
        assert_eq!(pool.stats().free_mb, 0);
    }

    #[tokio::test]
    async fn waits_when_full_until_memory_is_freed() {
        let pool = Pool::new(256);
        let (got, _) = pool.acquire(&key("ns", "ns/a", 1), &stem()).await;
        assert!(matches!(got, Some(Acquired::Cold)));
        let p2 = pool.clone();
        let waiter =
            tokio::spawn(async move { p2.acquire(&key("ns", "ns/b", 1), &stem()).await.0 });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished(), "no memory: the second acquire waits");
        pool.free(256);
        let got = tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .unwrap()
            .unwrap();
        assert!(matches!(got, Some(Acquired::Cold)));
        // Too big for the whole pool: refused, not queued forever.
        let (got, _) = pool
            .acquire(&key("ns", "ns/x", 1), &("nodejs:20".into(), 512))
            .await;
        assert!(got.is_none());
    }

    #[tokio::test]
    async fn pause_expiry_and_close() {
        let pool = Pool::new(1024);
        let (_, _) = pool.acquire(&key("ns", "ns/a", 1), &stem()).await;
        assert!(pool
            .release(key("ns", "ns/a", 1), Box::new(Fake("c".into())), 256)
            .is_none());
        let to_pause = pool.take_to_pause(Duration::ZERO);
        assert_eq!(to_pause.len(), 1);
        for (k, mut idle) in to_pause {
            idle.paused = true;
            assert!(pool.put_back(k, idle).is_none());
        }
        assert_eq!(pool.stats().paused, 1);
        assert!(
            pool.take_to_pause(Duration::ZERO).is_empty(),
            "paused containers stay paused"
        );
        assert_eq!(pool.take_expired(Duration::ZERO).len(), 1);
        assert_eq!(pool.stats().free_mb, 1024);
        assert!(pool.reserve_stem(256));
        assert!(pool.add_stem(stem(), Box::new(Fake("s".into()))).is_none());
        assert_eq!(pool.close().len(), 1);
        let (got, _) = pool.acquire(&key("ns", "ns/a", 1), &stem()).await;
        assert!(got.is_none(), "a closed pool hands out nothing");
    }
}
