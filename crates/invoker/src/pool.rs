//! The container pool (spec §4.4): warm containers keyed by invoking namespace + action + revision,
//! prewarmed stem cells per kind and memory, memory-based capacity with LRU eviction of idle
//! containers, and waiting when memory is short.
//!
//! The pool state sits behind a `std` mutex that is never held across an `.await`: callers take a
//! container out, run it without the lock, and give it back.
//!
//! Actions with `limits.concurrency` N > 1 (on kinds whose backend supports it) share
//! containers instead: a shared container stays in the pool while it runs up to N activations,
//! each holding a [`Lease`] on one of its slots, and is idle (paused, evicted, expired like any
//! other) only when none runs. As in OpenWhisk, an activation prefers a shared container with a
//! free slot, then one being warmed for the same action (it waits for its init rather than
//! starting a container of its own), then a stem cell, then a cold start.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::{watch, Notify};
use whirl_runtime::{ConcurrentRunner, Container};

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
    /// When it last became idle (no activation running).
    pub since: Instant,
    pub paused: bool,
    /// Set for a container shared by concurrent activations.
    pub shared: Option<Slots>,
}

/// The slots of a shared container.
#[derive(Debug, Clone)]
pub struct Slots {
    /// Identifies the container among the pool's shared ones.
    pub id: u64,
    pub runner: Arc<dyn ConcurrentRunner>,
    /// `limits.concurrency`.
    pub max: u32,
    /// Activations running on it now.
    pub active: u32,
}

impl Idle {
    /// Whether no activation runs on it (it can be paused, evicted or expire).
    fn unused(&self) -> bool {
        self.shared.as_ref().is_none_or(|s| s.active == 0)
    }
}

/// One slot of a shared container, held while an activation runs on it; give it back with
/// [`Pool::release_slot`].
#[derive(Debug)]
pub struct Lease {
    id: u64,
    key: WarmKey,
    pub runner: Arc<dyn ConcurrentRunner>,
}

/// A container being created and initialised for an action with concurrency: activations of
/// the same action wait for it instead of starting containers of their own. Dropping it (init
/// done, or failed) wakes them.
#[derive(Debug)]
pub struct Warming {
    pool: Arc<Pool>,
    key: WarmKey,
    id: u64,
}

impl Drop for Warming {
    fn drop(&mut self) {
        let mut s = self.pool.lock();
        if let Some(list) = s.warming.get_mut(&self.key) {
            list.retain(|w| w.id != self.id);
            if list.is_empty() {
                s.warming.remove(&self.key);
            }
        }
    }
}

#[derive(Debug)]
struct WarmingEntry {
    id: u64,
    max: u32,
    /// Activations waiting for it.
    waiting: u32,
    /// Never sent on: its drop (with the entry) wakes the waiters.
    done: watch::Sender<()>,
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
    /// A warm container of this action (maybe paused: resume before use). A shared one
    /// (`shared` set) is handed out alone only while paused: resume it, then
    /// [`Pool::share`] it.
    Warm(Idle),
    /// A started, uninitialised stem cell of the right kind and memory; with concurrency, the
    /// registration that makes other activations wait for its init.
    Stem(Box<dyn Container>, Option<Warming>),
    /// Memory is reserved: create a container (with concurrency, as for `Stem`).
    Cold(Option<Warming>),
    /// A slot on a shared container of this action.
    Slot(Lease),
}

#[derive(Default)]
struct State {
    free_mb: u64,
    idle: HashMap<WarmKey, Vec<Idle>>,
    stems: HashMap<StemKey, Vec<Box<dyn Container>>>,
    warming: HashMap<WarmKey, Vec<WarmingEntry>>,
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
    next_id: AtomicU64,
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
            Acquired::Stem(c, _) => f.debug_tuple("Stem").field(&c.id()).finish(),
            Acquired::Cold(_) => f.write_str("Cold"),
            Acquired::Slot(l) => f.debug_tuple("Slot").field(&l.id).finish(),
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
            next_id: AtomicU64::new(1),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A poisoned lock means a panic while holding it; the state is still structurally valid.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Take a container for `key` whose action runs up to `max` activations per container:
    /// with `max` > 1 a free slot of a shared container first, or a wait for one being warmed;
    /// then a warm container, a stem cell of `stem`, or memory reserved for a cold start,
    /// evicting least-recently-used idle containers when memory is short, and waiting when
    /// nothing can be evicted. Returns `None` when the pool is closed or the action can never
    /// fit. Evicted containers are returned for the caller to destroy.
    pub async fn acquire(
        self: &Arc<Self>,
        key: &WarmKey,
        stem: &StemKey,
        max: u32,
    ) -> (Option<Acquired>, Evicted) {
        let memory = u64::from(stem.1);
        if memory > self.capacity_mb {
            return (None, Vec::new());
        }
        let mut evicted = Vec::new();
        loop {
            let notified = self.freed.notified();
            let mut warming_done = None;
            {
                let mut s = self.lock();
                if s.closed {
                    return (None, evicted);
                }
                if let Some(list) = s.idle.get_mut(key) {
                    if max > 1 {
                        let free = list.iter_mut().rev().find_map(|i| match &mut i.shared {
                            Some(sl) if !i.paused && sl.active < sl.max && sl.runner.healthy() => {
                                Some(sl)
                            }
                            _ => None,
                        });
                        if let Some(sl) = free {
                            sl.active += 1;
                            let lease = Lease {
                                id: sl.id,
                                key: key.clone(),
                                runner: sl.runner.clone(),
                            };
                            return (Some(Acquired::Slot(lease)), evicted);
                        }
                    }
                    // Most recently used first: it is the least likely to be paused. A shared
                    // container goes out alone only while paused and unused.
                    let alone = list.iter().rposition(|i| match &i.shared {
                        None => true,
                        Some(sl) => sl.active == 0 && i.paused,
                    });
                    if let Some(at) = alone {
                        let c = list.remove(at);
                        if list.is_empty() {
                            s.idle.remove(key);
                        }
                        return (Some(Acquired::Warm(c)), evicted);
                    }
                }
                if max > 1 {
                    if let Some(w) = s
                        .warming
                        .get_mut(key)
                        .and_then(|l| l.iter_mut().find(|w| w.waiting + 1 < w.max))
                    {
                        w.waiting += 1;
                        warming_done = Some(w.done.subscribe());
                    }
                }
                if warming_done.is_none() {
                    if let Some(c) = s.stems.get_mut(stem).and_then(Vec::pop) {
                        let w = self.register_warming(&mut s, key, max);
                        return (Some(Acquired::Stem(c, w)), evicted);
                    }
                    if s.free_mb >= memory {
                        s.free_mb -= memory;
                        let w = self.register_warming(&mut s, key, max);
                        return (Some(Acquired::Cold(w)), evicted);
                    }
                    if let Some((victim, at)) = lru_victim(&s) {
                        let mut taken = None;
                        if let Some(list) = s.idle.get_mut(&victim) {
                            taken = Some(list.remove(at));
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
            }
            match warming_done {
                // Its init ended (the registration is dropped): look again.
                Some(mut done) => while done.changed().await.is_ok() {},
                // Nothing to evict: wait until a container is released or destroyed.
                None => notified.await,
            }
        }
    }

    fn register_warming(
        self: &Arc<Self>,
        s: &mut State,
        key: &WarmKey,
        max: u32,
    ) -> Option<Warming> {
        if max <= 1 {
            return None;
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (done, _) = watch::channel(());
        s.warming
            .entry(key.clone())
            .or_default()
            .push(WarmingEntry {
                id,
                max,
                waiting: 0,
                done,
            });
        Some(Warming {
            pool: self.clone(),
            key: key.clone(),
            id,
        })
    }

    /// Put an initialised (or resumed) container of an action with concurrency `max` in the
    /// pool as shared, with the caller's activation on one of its slots.
    pub fn share(
        &self,
        key: WarmKey,
        container: Box<dyn Container>,
        memory_mb: u32,
        runner: Arc<dyn ConcurrentRunner>,
        max: u32,
    ) -> Result<Lease, Box<dyn Container>> {
        let mut s = self.lock();
        if s.closed {
            return Err(container);
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        s.idle.entry(key.clone()).or_default().push(Idle {
            container,
            memory_mb,
            since: Instant::now(),
            paused: false,
            shared: Some(Slots {
                id,
                runner: runner.clone(),
                max,
                active: 1,
            }),
        });
        drop(s);
        self.freed.notify_waiters();
        Ok(Lease { id, key, runner })
    }

    /// An activation on a shared container ended. Returns the container for the caller to
    /// destroy (and free its memory) when it is no longer healthy and nothing runs on it.
    pub fn release_slot(&self, lease: Lease) -> Option<Box<dyn Container>> {
        let mut s = self.lock();
        let list = s.idle.get_mut(&lease.key)?;
        let at = list
            .iter()
            .position(|i| i.shared.as_ref().is_some_and(|sl| sl.id == lease.id))?;
        let entry = &mut list[at];
        let sl = entry.shared.as_mut()?;
        sl.active = sl.active.saturating_sub(1);
        if sl.active > 0 {
            return None;
        }
        entry.since = Instant::now();
        let out = if lease.runner.healthy() {
            None
        } else {
            let c = list.remove(at);
            if list.is_empty() {
                s.idle.remove(&lease.key);
            }
            Some(c.container)
        };
        drop(s);
        self.freed.notify_waiters();
        out
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
            shared: None,
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
                if !list[i].paused && list[i].unused() && list[i].since.elapsed() >= grace {
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
                if list[i].unused() && list[i].since.elapsed() >= timeout {
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

/// The idle container used least recently (nothing running on it): its key and position.
fn lru_victim(s: &State) -> Option<(WarmKey, usize)> {
    s.idle
        .iter()
        .flat_map(|(k, l)| {
            l.iter()
                .enumerate()
                .filter(|(_, i)| i.unused())
                .map(move |(at, i)| (k, at, i.since))
        })
        .min_by_key(|(_, _, t)| *t)
        .map(|(k, at, _)| (k.clone(), at))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use async_trait::async_trait;
    use whirl_runtime::{
        ConcurrentRunner, Container, InitOutcome, InitRequest, RunOutcome, RunRequest,
    };

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

    #[derive(Debug)]
    struct FakeRunner(std::sync::atomic::AtomicBool);

    #[async_trait]
    impl ConcurrentRunner for FakeRunner {
        async fn run(&self, _: RunRequest, _: Duration, _: u64) -> RunOutcome {
            unreachable!("not used by the pool")
        }
        fn healthy(&self) -> bool {
            self.0.load(std::sync::atomic::Ordering::SeqCst)
        }
    }

    fn runner() -> Arc<FakeRunner> {
        Arc::new(FakeRunner(std::sync::atomic::AtomicBool::new(true)))
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
        let (a, _) = pool.acquire(&key("ns", "ns/a", 1), &stem(), 1).await;
        assert!(matches!(a, Some(Acquired::Cold(_))));
        assert!(pool
            .release(key("ns", "ns/a", 1), Box::new(Fake("c1".into())), 256)
            .is_none());
        for other in [
            key("ns2", "ns/a", 1),
            key("ns", "ns/b", 1),
            key("ns", "ns/a", 2),
        ] {
            let (got, _) = pool.acquire(&other, &stem(), 1).await;
            assert!(
                matches!(got, Some(Acquired::Cold(_))),
                "{other:?} must not reuse"
            );
        }
        let (got, _) = pool.acquire(&key("ns", "ns/a", 1), &stem(), 1).await;
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
        let (got, _) = pool.acquire(&key("ns", "ns/a", 1), &stem(), 1).await;
        assert!(matches!(got, Some(Acquired::Stem(..))));
        assert_eq!(pool.stats().stems, 0);
        // A different memory size does not match the stem cell's.
        assert!(pool.reserve_stem(256));
        assert!(pool.add_stem(stem(), Box::new(Fake("s2".into()))).is_none());
        let (got, _) = pool
            .acquire(&key("ns", "ns/b", 1), &("nodejs:20".into(), 128), 1)
            .await;
        assert!(matches!(got, Some(Acquired::Cold(_))));
    }

    #[tokio::test]
    async fn lru_eviction_when_memory_is_short() {
        let pool = Pool::new(512);
        for (name, id) in [("ns/a", "ca"), ("ns/b", "cb")] {
            let (got, _) = pool.acquire(&key("ns", name, 1), &stem(), 1).await;
            assert!(matches!(got, Some(Acquired::Cold(_))));
            assert!(pool
                .release(key("ns", name, 1), Box::new(Fake(id.into())), 256)
                .is_none());
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let (got, evicted) = pool.acquire(&key("ns", "ns/c", 1), &stem(), 1).await;
        assert!(matches!(got, Some(Acquired::Cold(_))));
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
        let (got, _) = pool.acquire(&key("ns", "ns/a", 1), &stem(), 1).await;
        assert!(matches!(got, Some(Acquired::Cold(_))));
        let p2 = pool.clone();
        let waiter =
            tokio::spawn(async move { p2.acquire(&key("ns", "ns/b", 1), &stem(), 1).await.0 });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished(), "no memory: the second acquire waits");
        pool.free(256);
        let got = tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .unwrap()
            .unwrap();
        assert!(matches!(got, Some(Acquired::Cold(_))));
        // Too big for the whole pool: refused, not queued forever.
        let (got, _) = pool
            .acquire(&key("ns", "ns/x", 1), &("nodejs:20".into(), 512), 1)
            .await;
        assert!(got.is_none());
    }

    #[tokio::test]
    async fn pause_expiry_and_close() {
        let pool = Pool::new(1024);
        let (_, _) = pool.acquire(&key("ns", "ns/a", 1), &stem(), 1).await;
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
        let (got, _) = pool.acquire(&key("ns", "ns/a", 1), &stem(), 1).await;
        assert!(got.is_none(), "a closed pool hands out nothing");
    }

    #[tokio::test]
    async fn shared_containers_take_up_to_max_activations() {
        let pool = Pool::new(1024);
        let k = key("ns", "ns/c", 1);
        let (got, _) = pool.acquire(&k, &stem(), 3).await;
        let Some(Acquired::Cold(Some(warming))) = got else {
            panic!("a cold start registered as warming: {got:?}");
        };
        let r = runner();
        let lease1 = pool
            .share(k.clone(), Box::new(Fake("c".into())), 256, r.clone(), 3)
            .ok()
            .unwrap();
        drop(warming);
        let mut leases = vec![lease1];
        for _ in 0..2 {
            match pool.acquire(&k, &stem(), 3).await.0 {
                Some(Acquired::Slot(l)) => leases.push(l),
                other => panic!("expected a slot, got {other:?}"),
            }
        }
        // Full: the fourth activation gets a container of its own.
        let (got, _) = pool.acquire(&k, &stem(), 3).await;
        assert!(matches!(got, Some(Acquired::Cold(Some(_)))), "{got:?}");
        drop(got);
        pool.free(256);
        // A shared container in use is neither paused, expired nor evicted.
        assert!(pool.take_to_pause(Duration::ZERO).is_empty());
        assert!(pool.take_expired(Duration::ZERO).is_empty());
        for l in leases {
            assert!(pool.release_slot(l).is_none());
        }
        assert_eq!(pool.stats().idle, 1);
        // Unused now: it expires like any idle container.
        assert_eq!(pool.take_expired(Duration::ZERO).len(), 1);
        assert_eq!(pool.stats().free_mb, 1024);
    }

    #[tokio::test]
    async fn activations_wait_for_a_container_being_warmed() {
        let pool = Pool::new(1024);
        let k = key("ns", "ns/c", 1);
        let (got, _) = pool.acquire(&k, &stem(), 2).await;
        let Some(Acquired::Cold(Some(warming))) = got else {
            panic!("{got:?}");
        };
        let p2 = pool.clone();
        let k2 = k.clone();
        let waiter = tokio::spawn(async move { p2.acquire(&k2, &stem(), 2).await.0 });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(
            !waiter.is_finished(),
            "waits for the container being warmed"
        );
        // The container's one other slot is promised: a third activation starts its own.
        let (got, _) = pool.acquire(&k, &stem(), 2).await;
        assert!(matches!(got, Some(Acquired::Cold(Some(_)))), "{got:?}");
        drop(got);
        pool.free(256);
        let lease = pool
            .share(k.clone(), Box::new(Fake("c".into())), 256, runner(), 2)
            .ok()
            .unwrap();
        drop(warming);
        let got = tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .unwrap()
            .unwrap();
        let Some(Acquired::Slot(l2)) = got else {
            panic!("the waiter takes a slot: {got:?}");
        };
        assert!(pool.release_slot(lease).is_none());
        assert!(pool.release_slot(l2).is_none());
    }

    #[tokio::test]
    async fn a_failed_shared_container_is_destroyed_by_its_last_activation() {
        let pool = Pool::new(1024);
        let k = key("ns", "ns/c", 1);
        let _ = pool.acquire(&k, &stem(), 2).await;
        let r = runner();
        let l1 = pool
            .share(k.clone(), Box::new(Fake("c".into())), 256, r.clone(), 2)
            .ok()
            .unwrap();
        let Some(Acquired::Slot(l2)) = pool.acquire(&k, &stem(), 2).await.0 else {
            panic!("second slot");
        };
        r.0.store(false, std::sync::atomic::Ordering::SeqCst);
        // Unhealthy: no new activations on it.
        let (got, _) = pool.acquire(&k, &stem(), 2).await;
        assert!(matches!(got, Some(Acquired::Cold(_))), "{got:?}");
        drop(got);
        pool.free(256);
        assert!(
            pool.release_slot(l1).is_none(),
            "another activation still runs"
        );
        let c = pool.release_slot(l2).expect("the last one destroys it");
        assert_eq!(c.id(), "c");
        assert_eq!(pool.stats().idle, 0);
    }

    #[tokio::test]
    async fn a_paused_shared_container_is_resumed_alone_then_shared() {
        let pool = Pool::new(1024);
        let k = key("ns", "ns/c", 1);
        let _ = pool.acquire(&k, &stem(), 2).await;
        let r = runner();
        let l = pool
            .share(k.clone(), Box::new(Fake("c".into())), 256, r.clone(), 2)
            .ok()
            .unwrap();
        assert!(pool.release_slot(l).is_none());
        for (key, mut idle) in pool.take_to_pause(Duration::ZERO) {
            idle.paused = true;
            assert!(pool.put_back(key, idle).is_none());
        }
        let Some(Acquired::Warm(idle)) = pool.acquire(&k, &stem(), 2).await.0 else {
            panic!("the paused container comes out alone");
        };
        let slots = idle.shared.clone().unwrap();
        let l = pool
            .share(k.clone(), idle.container, 256, slots.runner, slots.max)
            .ok()
            .unwrap();
        assert!(matches!(
            pool.acquire(&k, &stem(), 2).await.0,
            Some(Acquired::Slot(_))
        ));
        drop(l);
    }
}
