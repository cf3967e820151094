//! A read-through cache in front of an [`EntityStore`], so the hot paths (GET of an action,
//! invoke) do not read the database for every request.
//!
//! Coherence: every write through the cache invalidates the entry after the write; a read that
//! missed only fills the cache if no write happened anywhere while it was reading (a global write
//! counter, checked and moved under the map's lock), so a slow read can never re-insert a stale
//! document. Writes that bypass this cache
//! (another process) are not seen: use it only where this process is the only entity writer, as
//! the controller of `whirl standalone` is.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use async_trait::async_trait;

use crate::{EntityKind, EntityQuery, EntityStore, NewEntity, Result, Scope, StoredEntity};

/// Code attachments above this size are not kept in memory.
const MAX_CACHED_CODE: usize = 1024 * 1024;
/// Entries kept before the cache starts over.
const MAX_ENTRIES: usize = 20_000;

#[derive(Debug)]
pub struct CachedEntityStore {
    inner: Arc<dyn EntityStore>,
    entries: RwLock<HashMap<String, Option<Arc<StoredEntity>>>>,
    writes: AtomicU64,
}

impl CachedEntityStore {
    pub fn new(inner: Arc<dyn EntityStore>) -> Self {
        Self {
            inner,
            entries: RwLock::new(HashMap::new()),
            writes: AtomicU64::new(0),
        }
    }

    /// Forget `id` (a write here, or another controller's write announced on the bus).
    pub fn invalidate(&self, id: &str) {
        // The counter moves under the map's lock, so that a reader's check-then-insert (also
        // under it) either sees this write or is undone by this removal.
        match self.entries.write() {
            Ok(mut m) => {
                self.writes.fetch_add(1, Ordering::SeqCst);
                m.remove(id);
            }
            Err(_) => {
                self.writes.fetch_add(1, Ordering::SeqCst);
            }
        }
    }
}

#[async_trait]
impl EntityStore for CachedEntityStore {
    async fn get(&self, id: &str, with_code: bool) -> Result<Option<StoredEntity>> {
        if let Ok(m) = self.entries.read() {
            match m.get(id) {
                Some(None) => return Ok(None),
                Some(Some(e)) if !with_code || e.code.is_some() || e.kind != EntityKind::Action => {
                    let mut e = StoredEntity::clone(e);
                    if !with_code {
                        e.code = None;
                    }
                    return Ok(Some(e));
                }
                _ => {}
            }
        }
        let seen = self.writes.load(Ordering::SeqCst);
        let found = self.inner.get(id, with_code).await?;
        let cacheable = found
            .as_ref()
            .is_none_or(|e| e.code.as_ref().is_none_or(|c| c.len() <= MAX_CACHED_CODE));
        if cacheable {
            if let Ok(mut m) = self.entries.write() {
                if self.writes.load(Ordering::SeqCst) != seen {
                    return Ok(found);
                }
                if m.len() >= MAX_ENTRIES {
                    m.clear();
                }
                // An action read without its code is cached without it; a later read that needs the
                // code goes to the store and replaces the entry.
                m.insert(id.to_string(), found.clone().map(Arc::new));
            }
        }
        Ok(found)
    }

    async fn put(&self, entity: NewEntity, expected_rev: Option<u64>) -> Result<u64> {
        let id = entity.id.clone();
        self.invalidate(&id);
        let r = self.inner.put(entity, expected_rev).await;
        self.invalidate(&id);
        r
    }

    async fn delete(&self, id: &str, expected_rev: u64) -> Result<()> {
        self.invalidate(id);
        let r = self.inner.delete(id, expected_rev).await;
        self.invalidate(id);
        r
    }

    async fn list(&self, query: &EntityQuery) -> Result<Vec<StoredEntity>> {
        self.inner.list(query).await
    }

    async fn count(&self, kind: EntityKind, scope: &Scope) -> Result<u64> {
        self.inner.count(kind, scope).await
    }
}
