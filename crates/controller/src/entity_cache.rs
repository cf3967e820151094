//! The controller's view of entities: a read-through cache ([`CachedEntityStore`]) kept
//! coherent across controllers. Every write through this controller invalidates its own entry
//! at once and announces the changed id on the bus ([`CacheInvalidation`]); every controller
//! evicts what the others announce. So an update through one controller is seen by the next
//! read on any controller, as soon as the message arrives.
//!
//! Actions are also cached as typed values ([`ActionCache`]): the invoke path shares one parsed
//! `WhiskAction` instead of cloning and re-parsing its JSON document on every request. The same
//! invalidations evict both caches, and the values derived from all entities under one path
//! ([`DerivedCache`], such as the API gateway's route table of a namespace).

use std::any::Any;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use whirl_bus::{CacheInvalidation, ControllerId, Feed, Publisher};
use whirl_core::entity::WhiskAction;
use whirl_store::cache::CachedEntityStore;
use whirl_store::{EntityKind, EntityQuery, EntityStore, NewEntity, Result, Scope, StoredEntity};

/// Most typed actions kept (the whole map is dropped when full, as the document cache does).
const MAX_TYPED_ACTIONS: usize = 20_000;

/// Parsed actions by store id, with the revision they were read at.
#[derive(Debug, Default)]
pub struct ActionCache {
    entries: RwLock<HashMap<String, (u64, Arc<WhiskAction>)>>,
    /// Bumped by every invalidation: a read that raced a write does not fill the cache.
    generation: AtomicU64,
}

impl ActionCache {
    pub fn get(&self, id: &str) -> Option<(u64, Arc<WhiskAction>)> {
        self.entries.read().ok()?.get(id).cloned()
    }

    /// The generation to pass to [`ActionCache::insert`] after reading the store.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Remember an action read at `generation` (ignored if an invalidation came since).
    pub fn insert(&self, id: &str, rev: u64, action: Arc<WhiskAction>, generation: u64) {
        if let Ok(mut m) = self.entries.write() {
            if self.generation.load(Ordering::SeqCst) != generation {
                return;
            }
            if m.len() >= MAX_TYPED_ACTIONS {
                m.clear();
            }
            m.insert(id.to_string(), (rev, action));
        }
    }

    pub fn invalidate(&self, id: &str) {
        if let Ok(mut m) = self.entries.write() {
            self.generation.fetch_add(1, Ordering::SeqCst);
            m.remove(id);
        }
    }
}

/// Most derived values kept (the whole map is dropped when full).
const MAX_DERIVED: usize = 10_000;

type Derived = Arc<dyn Any + Send + Sync>;

/// Values computed from every entity under one store path (the parent of their ids), evicted
/// when any entity under that path changes: a read path that would otherwise list and parse
/// the same documents on every request keeps the parsed result instead.
#[derive(Debug, Default)]
pub struct DerivedCache {
    entries: RwLock<HashMap<String, Derived>>,
    /// Bumped by every invalidation: a value computed from a read that raced a write is dropped.
    generation: AtomicU64,
}

impl DerivedCache {
    /// The value kept for `path`, if it is a `T`.
    pub fn get<T: Any + Send + Sync>(&self, path: &str) -> Option<Arc<T>> {
        let v = self.entries.read().ok()?.get(path).cloned()?;
        v.downcast::<T>().ok()
    }

    /// The generation to pass to [`DerivedCache::insert`], taken before reading the store.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Keep `value` for `path` (ignored if an invalidation came since `generation`).
    pub fn insert<T: Any + Send + Sync>(&self, path: &str, value: Arc<T>, generation: u64) {
        if let Ok(mut m) = self.entries.write() {
            if self.generation.load(Ordering::SeqCst) != generation {
                return;
            }
            if m.len() >= MAX_DERIVED {
                m.clear();
            }
            m.insert(path.to_string(), value);
        }
    }

    /// An entity changed: drop what was derived from its path.
    fn invalidate(&self, id: &str) {
        if let Ok(mut m) = self.entries.write() {
            self.generation.fetch_add(1, Ordering::SeqCst);
            if let Some((path, _)) = id.rsplit_once('/') {
                m.remove(path);
            }
        }
    }
}

/// The caches of one controller, evicted together.
#[derive(Debug)]
pub struct Caches {
    documents: Arc<CachedEntityStore>,
    pub actions: ActionCache,
    pub derived: DerivedCache,
}

impl Caches {
    fn invalidate(&self, id: &str) {
        self.documents.invalidate(id);
        self.actions.invalidate(id);
        self.derived.invalidate(id);
    }

    /// Before and after a write of `id` through this controller: the typed and derived
    /// caches must not serve, nor be filled from, what the write replaces.
    fn invalidate_typed(&self, id: &str) {
        self.actions.invalidate(id);
        self.derived.invalidate(id);
    }
}

/// Wrap `store` in caches whose writes are announced as `controller`. Returns the store to
/// use and the caches (for [`invalidation_loop`] and typed reads).
pub fn coherent(
    store: Arc<dyn EntityStore>,
    controller: ControllerId,
    announce: Arc<dyn Publisher<CacheInvalidation>>,
) -> (Arc<dyn EntityStore>, Arc<Caches>) {
    let caches = Arc::new(Caches {
        documents: Arc::new(CachedEntityStore::new(store)),
        actions: ActionCache::default(),
        derived: DerivedCache::default(),
    });
    let store = Arc::new(AnnouncingStore {
        cache: caches.documents.clone(),
        caches: caches.clone(),
        controller,
        announce,
    });
    (store, caches)
}

/// Evict the entries other controllers announce, until the bus closes.
pub async fn invalidation_loop(
    caches: Arc<Caches>,
    me: ControllerId,
    mut feed: Box<dyn Feed<CacheInvalidation>>,
) {
    while let Some(msg) = feed.next().await {
        if msg.from == me {
            continue; // our own writes invalidated the caches already
        }
        for id in &msg.ids {
            caches.invalidate(id);
        }
    }
}

#[derive(Debug)]
struct AnnouncingStore {
    cache: Arc<CachedEntityStore>,
    caches: Arc<Caches>,
    controller: ControllerId,
    announce: Arc<dyn Publisher<CacheInvalidation>>,
}

/// How long an announcement that could not be published (the bus is down) is retried: the
/// other controllers would serve the old entity until their next restart otherwise.
const ANNOUNCE_PATIENCE: std::time::Duration = std::time::Duration::from_secs(3600);

impl AnnouncingStore {
    async fn announce(&self, id: &str) {
        let msg = CacheInvalidation {
            from: self.controller,
            ids: vec![id.to_string()],
        };
        if let Err(e) = self.announce.publish(msg.clone()).await {
            tracing::warn!(error = %e, id,
                "cannot announce an entity change to other controllers yet: retrying");
            tokio::spawn(announce_later(self.announce.clone(), msg));
        }
    }
}

/// Publish `msg` once the bus takes it (pausing 0.2 s doubling up to 5 s between attempts),
/// for up to [`ANNOUNCE_PATIENCE`].
async fn announce_later(announce: Arc<dyn Publisher<CacheInvalidation>>, msg: CacheInvalidation) {
    let deadline = tokio::time::Instant::now() + ANNOUNCE_PATIENCE;
    let mut pause = std::time::Duration::from_millis(200);
    loop {
        tokio::time::sleep(pause).await;
        match announce.publish(msg.clone()).await {
            Ok(()) => {
                tracing::info!(ids = ?msg.ids, "announced an entity change after a bus outage");
                return;
            }
            Err(e) if tokio::time::Instant::now() >= deadline => {
                tracing::error!(error = %e, ids = ?msg.ids,
                    "gave up announcing an entity change: other controllers may serve it stale");
                return;
            }
            Err(_) => pause = (pause * 2).min(std::time::Duration::from_secs(5)),
        }
    }
}

#[async_trait]
impl EntityStore for AnnouncingStore {
    async fn get(&self, id: &str, with_code: bool) -> Result<Option<StoredEntity>> {
        self.cache.get(id, with_code).await
    }

    async fn put(&self, entity: NewEntity, expected_rev: Option<u64>) -> Result<u64> {
        let id = entity.id.clone();
        self.caches.invalidate_typed(&id);
        let r = self.cache.put(entity, expected_rev).await;
        self.caches.invalidate_typed(&id);
        if r.is_ok() {
            self.announce(&id).await;
        }
        r
    }

    async fn delete(&self, id: &str, expected_rev: u64) -> Result<()> {
        self.caches.invalidate_typed(id);
        let r = self.cache.delete(id, expected_rev).await;
        self.caches.invalidate_typed(id);
        if r.is_ok() {
            self.announce(id).await;
        }
        r
    }

    async fn list(&self, query: &EntityQuery) -> Result<Vec<StoredEntity>> {
        self.cache.list(query).await
    }

    async fn count(&self, kind: EntityKind, scope: &Scope) -> Result<u64> {
        self.cache.count(kind, scope).await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn derived_values_are_evicted_by_a_change_under_their_path() {
        let c = DerivedCache::default();
        let g = c.generation();
        c.insert("ns/.apigw", Arc::new(vec![1u32, 2]), g);
        assert_eq!(*c.get::<Vec<u32>>("ns/.apigw").unwrap(), vec![1, 2]);
        // Another type under the same path is not this value.
        assert!(c.get::<String>("ns/.apigw").is_none());
        // A change elsewhere keeps it; a change under the path drops it.
        c.invalidate("other/.apigw/2f");
        assert!(c.get::<Vec<u32>>("ns/.apigw").is_some());
        c.invalidate("ns/.apigw/2f62");
        assert!(c.get::<Vec<u32>>("ns/.apigw").is_none());
    }

    #[test]
    fn a_value_read_before_an_invalidation_is_not_kept() {
        let c = DerivedCache::default();
        let g = c.generation();
        c.invalidate("ns/.apigw/2f");
        c.insert("ns/.apigw", Arc::new(1u8), g);
        assert!(c.get::<u8>("ns/.apigw").is_none());
    }
}
