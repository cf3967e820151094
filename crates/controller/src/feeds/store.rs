//! Durable storage of alarm schedules and of the scheduler's lease, in the entity store's
//! reserved id space (as the API gateway keeps its APIs): one document per trigger at
//! `whisk.system/.alarms/{hex(ns/trigger)}`, and the lease at `whisk.system/.alarms-lease/fire`.
//! `.alarms` is not a valid entity name, so no real entity can collide with these documents, and
//! no entity list shows them.

use whirl_core::now_millis;
use whirl_store::{EntityKind, EntityQuery, NewEntity, Scope, StoreError, Stores};

use super::schedule::Schedule;

const SPACE: &str = "whisk.system/.alarms";
const LEASE_SPACE: &str = "whisk.system/.alarms-lease";
const LEASE_ID: &str = "whisk.system/.alarms-lease/fire";

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

/// The document id of the schedule of trigger `ns/name`.
pub fn doc_id(ns: &str, name: &str) -> String {
    format!("{SPACE}/{}", hex(&format!("{ns}/{name}")))
}

/// A schedule with the revision it was read at.
#[derive(Debug, Clone)]
pub struct Stored {
    pub id: String,
    pub rev: u64,
    pub schedule: Schedule,
}

fn decode(id: String, rev: u64, doc: serde_json::Value) -> Option<Stored> {
    match serde_json::from_value(doc) {
        Ok(schedule) => Some(Stored { id, rev, schedule }),
        Err(e) => {
            tracing::error!(%id, error = %e, "unreadable alarm schedule; ignored");
            None
        }
    }
}

pub async fn get(stores: &Stores, id: &str) -> Result<Option<Stored>, StoreError> {
    Ok(stores
        .entities
        .get(id, false)
        .await?
        .and_then(|d| decode(d.id, d.rev, d.doc)))
}

/// Every schedule.
pub async fn list(stores: &Stores) -> Result<Vec<Stored>, StoreError> {
    let query = EntityQuery {
        kind: EntityKind::Trigger,
        scope: Scope::Path(SPACE.into()),
        skip: 0,
        limit: None,
    };
    Ok(stores
        .entities
        .list(&query)
        .await?
        .into_iter()
        .filter_map(|d| decode(d.id, d.rev, d.doc))
        .collect())
}

/// Write a schedule: a create when `rev` is `None`, else a compare-and-set on `rev` (a
/// concurrent writer makes it a `Conflict`, a deleted schedule `NotFound`).
pub async fn put(stores: &Stores, s: &Schedule, rev: Option<u64>) -> Result<u64, StoreError> {
    let doc = serde_json::to_value(s).map_err(|e| StoreError::Backend(e.to_string()))?;
    let id = doc_id(&s.namespace, &s.name);
    let name = id.rsplit('/').next().unwrap_or_default().to_string();
    let entity = NewEntity {
        id,
        kind: EntityKind::Trigger,
        path: SPACE.into(),
        name,
        updated: now_millis(),
        doc,
        code: None,
    };
    stores.entities.put(entity, rev).await
}

pub async fn delete(stores: &Stores, stored: &Stored) -> Result<(), StoreError> {
    stores.entities.delete(&stored.id, stored.rev).await
}

/// Take or renew the lease that makes `holder` the one process firing alarms, for `ttl_ms`.
/// The lease is a document written with compare-and-set: a process gets it when it is free,
/// expired, or already its own (a restarted process keeps its id). Returns whether `holder`
/// holds it now.
pub async fn hold_lease(stores: &Stores, holder: &str, ttl_ms: i64) -> Result<bool, StoreError> {
    let now = now_millis();
    let current = stores.entities.get(LEASE_ID, false).await?;
    let rev = match &current {
        Some(d) => {
            let owner = d.doc.get("holder").and_then(|v| v.as_str()).unwrap_or("");
            let expires = d.doc.get("expires").and_then(|v| v.as_i64()).unwrap_or(0);
            if owner != holder && expires > now {
                return Ok(false);
            }
            Some(d.rev)
        }
        None => None,
    };
    let entity = NewEntity {
        id: LEASE_ID.into(),
        kind: EntityKind::Trigger,
        path: LEASE_SPACE.into(),
        name: "fire".into(),
        updated: now,
        doc: serde_json::json!({"holder": holder, "expires": now + ttl_ms}),
        code: None,
    };
    match stores.entities.put(entity, rev).await {
        Ok(_) => Ok(true),
        Err(StoreError::Conflict | StoreError::AlreadyExists | StoreError::NotFound) => Ok(false),
        Err(e) => Err(e),
    }
}
