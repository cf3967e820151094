//! Durable storage for Whirl: entities (actions, packages, triggers, rules), activation records and
//! subjects (namespaces with their keys and limits).
//!
//! The traits are document oriented: entities and activations are stored as JSON documents plus the
//! few columns needed to query them, so the store never has to understand the OpenWhisk entity model
//! (that lives in `whirl-core` and the controller). Every backend must pass [`behaviour`], the one
//! behaviour suite shared by all implementations.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;
pub use whirl_core::json::SharedJson;

pub mod behaviour;
pub mod cache;
pub mod sqlite;

/// Errors of every store backend.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The document does not exist.
    #[error("document not found")]
    NotFound,
    /// A create found a document with the same id (of any kind).
    #[error("document already exists")]
    AlreadyExists,
    /// An update or delete was based on a stale revision.
    #[error("concurrent modification (stale revision)")]
    Conflict,
    /// Anything the backend reports (I/O, corruption, ...).
    #[error("store backend: {0}")]
    Backend(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The collection an entity belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntityKind {
    Action,
    Package,
    Trigger,
    Rule,
}

impl EntityKind {
    /// The REST collection name (`actions`, `packages`, `triggers`, `rules`).
    pub fn collection(self) -> &'static str {
        match self {
            EntityKind::Action => "actions",
            EntityKind::Package => "packages",
            EntityKind::Trigger => "triggers",
            EntityKind::Rule => "rules",
        }
    }
}

/// An entity as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEntity {
    /// Document id: `ns/name` or `ns/pkg/name`.
    pub id: String,
    pub kind: EntityKind,
    /// The entity path: `ns` or `ns/pkg`.
    pub path: String,
    /// The simple name (last id segment).
    pub name: String,
    /// Revision, 1 on create and +1 on every successful write.
    pub rev: u64,
    /// Epoch milliseconds of the last write (the entity's `updated` field), used for list order.
    pub updated: i64,
    /// The entity JSON. For actions, `exec` carries no `code`: code is the separate attachment.
    pub doc: Value,
    /// The action code attachment; `Some` only when asked for and present.
    pub code: Option<String>,
}

/// An entity to write. `rev` is assigned by the store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEntity {
    pub id: String,
    pub kind: EntityKind,
    pub path: String,
    pub name: String,
    pub updated: i64,
    pub doc: Value,
    pub code: Option<String>,
}

/// Which entities a list covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Entities whose path is exactly this (`ns`, or `ns/pkg` for a package's actions).
    Path(String),
    /// Entities of the namespace `ns` at any depth (`ns` and every `ns/pkg`).
    Namespace(String),
}

/// An entity list query; results are ordered by `updated` descending, then id ascending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityQuery {
    pub kind: EntityKind,
    pub scope: Scope,
    pub skip: u64,
    /// `None` means no limit.
    pub limit: Option<u64>,
}

#[async_trait]
pub trait EntityStore: Send + Sync + std::fmt::Debug {
    /// The entity with this id, of whatever kind; code attachment loaded only if `with_code`.
    async fn get(&self, id: &str, with_code: bool) -> Result<Option<StoredEntity>>;
    /// Create (`expected_rev: None`; `AlreadyExists` if the id is taken by any kind) or update
    /// (`Some(rev)`; `Conflict` if the stored revision differs or the document is gone).
    /// Returns the new revision. Durable when it returns.
    async fn put(&self, entity: NewEntity, expected_rev: Option<u64>) -> Result<u64>;
    /// Delete at the expected revision (`NotFound` if absent, `Conflict` if stale).
    async fn delete(&self, id: &str, expected_rev: u64) -> Result<()>;
    /// List without code attachments.
    async fn list(&self, query: &EntityQuery) -> Result<Vec<StoredEntity>>;
    /// Count matching entities (ignores skip and limit).
    async fn count(&self, kind: EntityKind, scope: &Scope) -> Result<u64>;
}

/// An activation record as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivationRecord {
    /// 32 hex chars.
    pub activation_id: String,
    /// Namespace of the invoking identity (the record's `namespace`).
    pub namespace: String,
    /// `namespace/name` or `namespace/pkg/name` of the entity, used by the `name` filter.
    pub entity_path: String,
    /// Epoch ms.
    pub start: i64,
    /// Epoch ms, 0 when the activation has no end (trigger activations).
    pub end: i64,
    /// The stored activation document, serialised once by whoever built it and shared (the
    /// same bytes go to the store and to a blocking waiter).
    pub doc: SharedJson,
}

/// An activation list query; results are ordered by `start` descending, then id.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ActivationQuery {
    pub namespace: String,
    /// Exact match on `entity_path`.
    pub entity_path: Option<String>,
    /// Inclusive lower bound on `start` (epoch ms).
    pub since: Option<i64>,
    /// Inclusive upper bound on `start` (epoch ms).
    pub upto: Option<i64>,
    pub skip: u64,
    /// `None` means no limit.
    pub limit: Option<u64>,
}

/// A store operation already started, resolving when it is done.
pub type StoreFuture<T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<T>> + Send + 'static>>;

#[async_trait]
pub trait ActivationStore: Send + Sync + std::fmt::Debug {
    /// Insert or replace a record; also clears a pending entry with the same id. Durable when it
    /// returns (backends may group concurrent writes into one commit).
    async fn put(&self, record: ActivationRecord) -> Result<()>;
    /// [`ActivationStore::put`], started now: activation reads through this store issued after
    /// `enqueue` returns see the record (they wait for its commit if they must); the future
    /// resolves when the record is durable. Lets the invoker answer a blocking caller while the
    /// record commits, as OpenWhisk's invoker does, without a later read missing it.
    fn enqueue(&self, record: ActivationRecord) -> StoreFuture<()>;
    async fn get(&self, namespace: &str, activation_id: &str) -> Result<Option<ActivationRecord>>;
    async fn list(&self, query: &ActivationQuery) -> Result<Vec<ActivationRecord>>;
    /// Count matching records (ignores skip and limit).
    async fn count(&self, query: &ActivationQuery) -> Result<u64>;
    /// Insert `record` unless a record with its id exists already (a pending marker is
    /// replaced); returns whether it was written. Atomic: a record written concurrently is
    /// never overwritten (used for the record of an activation given up by its controller,
    /// which may still arrive from its invoker).
    async fn put_if_absent(&self, record: ActivationRecord) -> Result<bool>;
    /// Remember an accepted activation that has no record yet (a crash leaves it pending).
    /// `owner` is the instance that will write its record (`invoker0`, or `controller0` for a
    /// composition the controller runs): after a crash only that owner finishes it, so one
    /// invoker restarting never fails another's running activations.
    async fn put_pending(&self, record: ActivationRecord, owner: &str) -> Result<()>;
    /// Activations accepted for `owner` but never completed.
    async fn pending(&self, owner: &str) -> Result<Vec<ActivationRecord>>;
}

/// A namespace with its credentials and limit overrides.
#[derive(Debug, Clone, PartialEq)]
pub struct NamespaceRecord {
    pub subject: String,
    pub namespace: String,
    pub uuid: String,
    /// Hex SHA-256 of the key; the key itself is never stored.
    pub key_hash: String,
    /// Limit overrides as a JSON object (`{}` when none).
    pub limits: Value,
}

#[async_trait]
pub trait AuthStore: Send + Sync + std::fmt::Debug {
    async fn namespace_by_uuid(&self, uuid: &str) -> Result<Option<NamespaceRecord>>;
    async fn namespace(&self, namespace: &str) -> Result<Option<NamespaceRecord>>;
    /// `AlreadyExists` if the namespace or the uuid is taken.
    async fn create_namespace(&self, record: NamespaceRecord) -> Result<()>;
    /// `NotFound` if absent.
    async fn delete_namespace(&self, namespace: &str) -> Result<()>;
    async fn list_namespaces(&self) -> Result<Vec<NamespaceRecord>>;
    /// Replace the limit overrides; `NotFound` if absent.
    async fn set_limits(&self, namespace: &str, limits: Value) -> Result<()>;
}

/// The three stores of one backend.
#[derive(Debug, Clone)]
pub struct Stores {
    pub entities: Arc<dyn EntityStore>,
    pub activations: Arc<dyn ActivationStore>,
    pub auth: Arc<dyn AuthStore>,
}
