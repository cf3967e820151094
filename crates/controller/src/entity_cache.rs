//! The controller's view of entities: a read-through cache ([`CachedEntityStore`]) kept
//! coherent across controllers. Every write through this controller invalidates its own entry
//! at once and announces the changed id on the bus ([`CacheInvalidation`]); every controller
//! evicts what the others announce. So an update through one controller is seen by the next
//! read on any controller, as soon as the message arrives.

use std::sync::Arc;

use async_trait::async_trait;
use whirl_bus::{CacheInvalidation, ControllerId, Feed, Publisher};
use whirl_store::cache::CachedEntityStore;
use whirl_store::{EntityKind, EntityQuery, EntityStore, NewEntity, Result, Scope, StoredEntity};

/// Wrap `store` in a cache whose writes are announced as `controller`. Returns the store to
/// use and the cache (for [`invalidation_loop`]).
pub fn coherent(
    store: Arc<dyn EntityStore>,
    controller: ControllerId,
    announce: Arc<dyn Publisher<CacheInvalidation>>,
) -> (Arc<dyn EntityStore>, Arc<CachedEntityStore>) {
    let cache = Arc::new(CachedEntityStore::new(store));
    let store = Arc::new(AnnouncingStore {
        cache: cache.clone(),
        controller,
        announce,
    });
    (store, cache)
}

/// Evict the entries other controllers announce, until the bus closes.
pub async fn invalidation_loop(
    cache: Arc<CachedEntityStore>,
    me: ControllerId,
    mut feed: Box<dyn Feed<CacheInvalidation>>,
) {
    while let Some(msg) = feed.next().await {
        if msg.from == me {
            continue; // our own writes invalidated the cache already
        }
        for id in &msg.ids {
            cache.invalidate(id);
        }
    }
}

#[derive(Debug)]
struct AnnouncingStore {
    cache: Arc<CachedEntityStore>,
    controller: ControllerId,
    announce: Arc<dyn Publisher<CacheInvalidation>>,
}

impl AnnouncingStore {
    async fn announce(&self, id: &str) {
        let msg = CacheInvalidation {
            from: self.controller,
            ids: vec![id.to_string()],
        };
        if let Err(e) = self.announce.publish(msg).await {
            tracing::warn!(error = %e, id, "cannot announce an entity change to other controllers");
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
        let r = self.cache.put(entity, expected_rev).await;
        if r.is_ok() {
            self.announce(&id).await;
        }
        r
    }

    async fn delete(&self, id: &str, expected_rev: u64) -> Result<()> {
        let r = self.cache.delete(id, expected_rev).await;
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
