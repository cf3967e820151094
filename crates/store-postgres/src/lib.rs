//! PostgreSQL backend of the Whirl store (cluster mode): [`EntityStore`], [`ActivationStore`] and
//! [`AuthStore`] over one database, with the semantics of the SQLite backend
//! (`whirl_store::sqlite`) and the same behaviour suite (`whirl_store::behaviour`).
//!
//! # Driver and pool
//!
//! `tokio-postgres` with a `deadpool-postgres` pool, rather than `sqlx`: the store runs a handful
//! of fixed statements that need no query builder or compile-time checking (which in `sqlx` means a
//! database or prepared metadata at build time), and `tokio-postgres` gives direct access to what
//! this backend uses: per-connection prepared-statement caching and binary `COPY` for bulk loads.
//! It is also the driver DESIGN.md names. The pool checks on checkout that a
//! connection is still open (`RecyclingMethod::Fast`: no extra round trip); connections broken by
//! a server restart are dropped and replaced, so the store recovers without a process restart.
//! Operations during an outage fail with `StoreError::Backend` after at most the connect timeout.
//!
//! # Semantics
//!
//! * Entities: a create is `INSERT … ON CONFLICT (id) DO NOTHING` (no row: `AlreadyExists`, the id
//!   being unique across kinds); an update is a compare-and-set `UPDATE … WHERE id AND kind AND
//!   rev = expected RETURNING rev` (no row: `Conflict`); a delete reports `NotFound` or `Conflict`
//!   in the same round trip. Lists are ordered `updated DESC, id ASC` from an index holding the
//!   whole sort key, for both scopes (`path`, and `root` = the namespace segment).
//! * Activations: a put is one `INSERT … ON CONFLICT DO UPDATE` that also turns a pending marker
//!   into the record; see [`schema::MIGRATIONS`] for why markers live in the same table.
//!   [`ActivationStore::enqueue`] starts the write on its own task at once; activation reads first
//!   wait for the writes started before them (see `inflight`), so a read issued after `enqueue`
//!   returned sees the record.
//! * Every write is one autocommit statement (one round trip), acknowledged when the server
//!   reports the commit: durable as the server's `synchronous_commit` makes it (on by default:
//!   flushed to the WAL). Concurrent commits share WAL flushes on the server (group commit).
//!
//! # TLS
//!
//! Connections are plain TCP (`NoTls`): `sslmode=prefer` (the default) connects without TLS and
//! `sslmode=require` is refused at [`connect`] with a message saying so.
//!
//! # Errors
//!
//! Connection and query failures are `StoreError::Backend`; their messages never contain the
//! connection URL or password (see `errors`). The [`Debug`](std::fmt::Debug) output of the store
//! shows neither.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use serde_json::Value;
use tokio::sync::oneshot;
use tokio_postgres::config::SslMode;
use tokio_postgres::{NoTls, Row};
use whirl_store::{
    ActivationQuery, ActivationRecord, ActivationStore, AuthStore, EntityKind, EntityQuery,
    EntityStore, NamespaceRecord, NewEntity, Scope, SharedJson, StoreError, StoreFuture,
    StoredEntity, Stores,
};

mod errors;
mod inflight;
mod queries;
pub mod schema;
#[cfg(feature = "testing")]
pub mod testing;

use errors::Redactor;
use inflight::Inflight;
use queries::{count_from, param_refs, parse_kind, to_i64, Param};
pub use schema::{MIGRATIONS, SCHEMA_VERSION};

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Connection pool settings; [`PgOptions::default`] is what [`connect`] uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgOptions {
    /// Most connections open at once (per process).
    pub max_connections: usize,
    /// How long opening a connection may take, when the URL sets no `connect_timeout`.
    pub connect_timeout: Duration,
    /// How long an operation waits for a free connection when all are busy.
    pub acquire_timeout: Duration,
    /// How long sent data may stay unacknowledged before the connection is given up, when the URL
    /// sets no `tcp_user_timeout`: a query on a connection to a server that vanished (host crash,
    /// network partition) fails after this instead of hanging until TCP gives up.
    pub tcp_user_timeout: Duration,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions {
            max_connections: 16,
            connect_timeout: Duration::from_secs(5),
            acquire_timeout: Duration::from_secs(30),
            tcp_user_timeout: Duration::from_secs(30),
        }
    }
}

/// Open a pool on the database at `url` (`postgres://user:password@host:port/dbname`, or a
/// `host=… dbname=…` string; `options=-csearch_path%3Dwhirl` puts the tables in schema `whirl`),
/// bring its schema up to date, and return the three stores backed by it.
pub async fn connect(url: &str) -> Result<Stores> {
    connect_with(url, PgOptions::default()).await
}

/// [`connect`] with explicit pool settings.
pub async fn connect_with(url: &str, options: PgOptions) -> Result<Stores> {
    Ok(PgStore::connect(url, options).await?.into_stores())
}

/// One PostgreSQL database implementing [`EntityStore`], [`ActivationStore`] and [`AuthStore`].
#[derive(Clone)]
pub struct PgStore {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    redact: Redactor,
    inflight: Arc<Inflight>,
}

impl fmt::Debug for PgStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the URL: it may carry the password.
        let status = self.inner.pool.status();
        f.debug_struct("PgStore")
            .field("connections", &status.size)
            .field("max_connections", &status.max_size)
            .finish_non_exhaustive()
    }
}

impl PgStore {
    /// Open the pool and apply pending migrations (see [`schema`]).
    pub async fn connect(url: &str, options: PgOptions) -> Result<PgStore> {
        let early = Redactor::new(url, None);
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| early.backend("invalid PostgreSQL connection URL", &e))?;
        let redact = Redactor::new(url, config.get_password());
        if config.get_ssl_mode() == SslMode::Require {
            // Said once, here, rather than as a handshake error on every connection attempt.
            return Err(StoreError::Backend(
                "sslmode=require: this build of the PostgreSQL store has no TLS support yet \
                 (use sslmode=disable or prefer, e.g. behind a TLS-terminating proxy)"
                    .into(),
            ));
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(options.connect_timeout);
        }
        if config.get_tcp_user_timeout().is_none() {
            config.tcp_user_timeout(options.tcp_user_timeout);
        }
        if config.get_application_name().is_none() {
            config.application_name("whirl");
        }
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(options.max_connections.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(options.acquire_timeout))
            // The connect itself is bounded by `connect_timeout`; this also covers start-up.
            .create_timeout(Some(options.connect_timeout + Duration::from_secs(5)))
            .recycle_timeout(Some(Duration::from_secs(5)))
            .build()
            .map_err(|e| redact.backend("building the PostgreSQL pool", &e))?;
        let store = PgStore {
            inner: Arc::new(Inner {
                pool,
                redact,
                inflight: Inflight::new(),
            }),
        };
        {
            let mut conn = store.inner.conn().await?;
            schema::migrate(&mut conn, &store.inner.redact).await?;
        }
        Ok(store)
    }

    /// The three stores, all backed by this database.
    pub fn into_stores(self) -> Stores {
        let store = Arc::new(self);
        Stores {
            entities: store.clone(),
            activations: store.clone(),
            auth: store,
        }
    }

    /// Close the pool: idle connections are closed now, the others when they are returned.
    pub fn close(&self) {
        self.inner.pool.close();
    }

    /// The rows of a prepared (and per-connection cached) statement.
    async fn query(&self, context: &str, sql: &str, params: &[Param]) -> Result<Vec<Row>> {
        self.inner.query(context, sql, params).await
    }

    /// The one row, if any, of a statement returning at most one.
    async fn query_opt(&self, context: &str, sql: &str, params: &[Param]) -> Result<Option<Row>> {
        let mut rows = self.query(context, sql, params).await?;
        match rows.len() {
            0 | 1 => Ok(rows.pop()),
            n => Err(StoreError::Backend(format!(
                "{context}: {n} rows where one was expected"
            ))),
        }
    }

    /// The row of a statement returning exactly one.
    async fn query_one(&self, context: &str, sql: &str, params: &[Param]) -> Result<Row> {
        self.query_opt(context, sql, params)
            .await?
            .ok_or_else(|| StoreError::Backend(format!("{context}: no row returned")))
    }

    /// The number of rows a statement changed.
    async fn execute(&self, context: &str, sql: &str, params: &[Param]) -> Result<u64> {
        self.inner.execute(context, sql, params).await
    }
}

impl Inner {
    async fn conn(&self) -> Result<deadpool_postgres::Client> {
        self.pool
            .get()
            .await
            .map_err(|e| self.redact.backend("connecting to PostgreSQL", &e))
    }

    async fn query(&self, context: &str, sql: &str, params: &[Param]) -> Result<Vec<Row>> {
        let conn = self.conn().await?;
        let stmt = conn
            .prepare_cached(sql)
            .await
            .map_err(|e| self.redact.backend(context, &e))?;
        conn.query(&stmt, &param_refs(params))
            .await
            .map_err(|e| self.redact.backend(context, &e))
    }

    async fn execute(&self, context: &str, sql: &str, params: &[Param]) -> Result<u64> {
        let conn = self.conn().await?;
        let stmt = conn
            .prepare_cached(sql)
            .await
            .map_err(|e| self.redact.backend(context, &e))?;
        conn.execute(&stmt, &param_refs(params))
            .await
            .map_err(|e| self.redact.backend(context, &e))
    }
}

// ---------------------------------------------------------------------------------------------
// Row decoding

fn column<'a, T: tokio_postgres::types::FromSql<'a>>(row: &'a Row, idx: usize) -> Result<T> {
    row.try_get(idx)
        .map_err(|e| StoreError::Backend(format!("reading column {idx}: {e}")))
}

fn json_column(row: &Row, idx: usize) -> Result<Value> {
    let text: &str = column(row, idx)?;
    serde_json::from_str(text)
        .map_err(|e| StoreError::Backend(format!("stored document is not JSON: {e}")))
}

/// Reads [`queries::ENTITY_COLUMNS`] (and `code` at index 7 when `with_code`).
fn entity_from_row(row: &Row, with_code: bool) -> Result<StoredEntity> {
    let kind_text: &str = column(row, 1)?;
    let kind = parse_kind(kind_text)
        .ok_or_else(|| StoreError::Backend(format!("unknown entity kind {kind_text:?}")))?;
    let rev: i64 = column(row, 4)?;
    let code = if with_code {
        let bytes: Option<Vec<u8>> = column(row, 7)?;
        match bytes {
            Some(bytes) => Some(
                String::from_utf8(bytes)
                    .map_err(|e| StoreError::Backend(format!("stored code is not UTF-8: {e}")))?,
            ),
            None => None,
        }
    } else {
        None
    };
    Ok(StoredEntity {
        id: column(row, 0)?,
        kind,
        path: column(row, 2)?,
        name: column(row, 3)?,
        rev: u64::try_from(rev).unwrap_or(0),
        updated: column(row, 5)?,
        doc: json_column(row, 6)?,
        code,
    })
}

/// Reads [`queries::ACTIVATION_COLUMNS`]; the document is checked, not parsed into a tree.
fn activation_from_row(row: &Row) -> Result<ActivationRecord> {
    let doc: String = column(row, 5)?;
    Ok(ActivationRecord {
        activation_id: column(row, 0)?,
        namespace: column(row, 1)?,
        entity_path: column(row, 2)?,
        start: column(row, 3)?,
        end: column(row, 4)?,
        doc: SharedJson::from_text(doc).map_err(|e| {
            StoreError::Backend(format!("stored activation document is not JSON: {e}"))
        })?,
    })
}

fn namespace_from_row(row: &Row) -> Result<NamespaceRecord> {
    Ok(NamespaceRecord {
        namespace: column(row, 0)?,
        subject: column(row, 1)?,
        uuid: column(row, 2)?,
        key_hash: column(row, 3)?,
        limits: json_column(row, 4)?,
    })
}

fn to_json(v: &Value) -> Result<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Backend(format!("serializing document: {e}")))
}

fn activation_params(r: ActivationRecord) -> Vec<Param> {
    vec![
        Param::Text(r.activation_id),
        Param::Text(r.namespace),
        Param::Text(r.entity_path),
        Param::Int(r.start),
        Param::Int(r.end),
        Param::Json(r.doc),
    ]
}

// ---------------------------------------------------------------------------------------------
// EntityStore

#[async_trait]
impl EntityStore for PgStore {
    async fn get(&self, id: &str, with_code: bool) -> Result<Option<StoredEntity>> {
        let sql = if with_code {
            queries::GET_ENTITY_WITH_CODE
        } else {
            queries::GET_ENTITY
        };
        let row = self.query_opt("get entity", sql, &[id.into()]).await?;
        row.map(|row| entity_from_row(&row, with_code)).transpose()
    }

    async fn put(&self, entity: NewEntity, expected_rev: Option<u64>) -> Result<u64> {
        let root = entity
            .path
            .split('/')
            .next()
            .unwrap_or_default()
            .to_string();
        let doc = to_json(&entity.doc)?;
        let code: Option<Vec<u8>> = entity.code.map(String::into_bytes);
        let mut params: Vec<Param> = vec![
            Param::Text(entity.id),
            Param::Static(queries::kind_str(entity.kind)),
            Param::Text(entity.path),
            Param::Text(root),
            Param::Text(entity.name),
            Param::Int(entity.updated),
            Param::Text(doc),
            Param::OptBytes(code),
        ];
        match expected_rev {
            None => {
                let inserted = self
                    .execute("create entity", queries::CREATE_ENTITY, &params)
                    .await?;
                if inserted == 0 {
                    Err(StoreError::AlreadyExists)
                } else {
                    Ok(1)
                }
            }
            Some(rev) => {
                params.push(Param::Int(to_i64(rev)));
                let row = self
                    .query_opt("update entity", queries::UPDATE_ENTITY, &params)
                    .await?;
                match row {
                    None => Err(StoreError::Conflict),
                    Some(row) => {
                        let rev: i64 = column(&row, 0)?;
                        Ok(u64::try_from(rev).unwrap_or(0))
                    }
                }
            }
        }
    }

    async fn delete(&self, id: &str, expected_rev: u64) -> Result<()> {
        let row = self
            .query_one(
                "delete entity",
                queries::DELETE_ENTITY,
                &[id.into(), to_i64(expected_rev).into()],
            )
            .await?;
        let deleted: i64 = column(&row, 0)?;
        let existed: bool = column(&row, 1)?;
        match (deleted, existed) {
            (d, _) if d > 0 => Ok(()),
            (_, true) => Err(StoreError::Conflict),
            (_, false) => Err(StoreError::NotFound),
        }
    }

    async fn list(&self, query: &EntityQuery) -> Result<Vec<StoredEntity>> {
        let (sql, params) = queries::entity_list_sql(query);
        self.query("list entities", &sql, &params)
            .await?
            .iter()
            .map(|row| entity_from_row(row, false))
            .collect()
    }

    async fn count(&self, kind: EntityKind, scope: &Scope) -> Result<u64> {
        let (sql, params) = queries::entity_count_sql(kind, scope);
        let row = self.query_one("count entities", &sql, &params).await?;
        Ok(count_from(column(&row, 0)?))
    }
}

// ---------------------------------------------------------------------------------------------
// ActivationStore

#[async_trait]
impl ActivationStore for PgStore {
    async fn put(&self, record: ActivationRecord) -> Result<()> {
        self.enqueue(record).await
    }

    async fn put_if_absent(&self, record: ActivationRecord) -> Result<bool> {
        let _guard = self.inner.inflight.start();
        let params = activation_params(record);
        let written = self
            .execute(
                "put activation if absent",
                queries::PUT_ACTIVATION_IF_ABSENT,
                &params,
            )
            .await?;
        Ok(written > 0)
    }

    fn enqueue(&self, record: ActivationRecord) -> StoreFuture<()> {
        let runtime = match tokio::runtime::Handle::try_current() {
            Ok(handle) => handle,
            Err(_) => {
                return Box::pin(async {
                    Err(StoreError::Backend(
                        "activation write outside a tokio runtime".into(),
                    ))
                })
            }
        };
        // Numbered now, before `enqueue` returns: later reads wait for it.
        let guard = self.inner.inflight.start();
        let inner = self.inner.clone();
        let (reply, done) = oneshot::channel();
        runtime.spawn(async move {
            let params = activation_params(record);
            let result = inner
                .execute("put activation", queries::PUT_ACTIVATION, &params)
                .await
                .map(|_| ());
            drop(guard);
            // The caller may have dropped the future; the write stands regardless.
            let _ = reply.send(result);
        });
        Box::pin(async move {
            done.await.map_err(|_| {
                StoreError::Backend("activation write task ended without a result".into())
            })?
        })
    }

    async fn get(&self, namespace: &str, activation_id: &str) -> Result<Option<ActivationRecord>> {
        self.inner.inflight.settled().await;
        let row = self
            .query_opt(
                "get activation",
                queries::GET_ACTIVATION,
                &[activation_id.into(), namespace.into()],
            )
            .await?;
        row.map(|row| activation_from_row(&row)).transpose()
    }

    async fn list(&self, query: &ActivationQuery) -> Result<Vec<ActivationRecord>> {
        self.inner.inflight.settled().await;
        let (sql, params) = queries::activation_list_sql(query);
        self.query("list activations", &sql, &params)
            .await?
            .iter()
            .map(activation_from_row)
            .collect()
    }

    async fn count(&self, query: &ActivationQuery) -> Result<u64> {
        self.inner.inflight.settled().await;
        let (sql, params) = queries::activation_count_sql(query);
        let row = self.query_one("count activations", &sql, &params).await?;
        Ok(count_from(column(&row, 0)?))
    }

    async fn put_pending(&self, record: ActivationRecord, owner: &str) -> Result<()> {
        let mut params = activation_params(record);
        params.push(Param::from(owner));
        self.execute("put pending activation", queries::PUT_PENDING, &params)
            .await
            .map(|_| ())
    }

    async fn pending(&self, owner: &str) -> Result<Vec<ActivationRecord>> {
        self.inner.inflight.settled().await;
        self.query(
            "list pending activations",
            queries::PENDING_ACTIVATIONS,
            &[owner.into()],
        )
        .await?
        .iter()
        .map(activation_from_row)
        .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// AuthStore

#[async_trait]
impl AuthStore for PgStore {
    async fn namespace_by_uuid(&self, uuid: &str) -> Result<Option<NamespaceRecord>> {
        let row = self
            .query_opt(
                "namespace by uuid",
                queries::NAMESPACE_BY_UUID,
                &[uuid.into()],
            )
            .await?;
        row.map(|row| namespace_from_row(&row)).transpose()
    }

    async fn namespace(&self, namespace: &str) -> Result<Option<NamespaceRecord>> {
        let row = self
            .query_opt("get namespace", queries::NAMESPACE, &[namespace.into()])
            .await?;
        row.map(|row| namespace_from_row(&row)).transpose()
    }

    async fn create_namespace(&self, record: NamespaceRecord) -> Result<()> {
        let limits = to_json(&record.limits)?;
        let inserted = self
            .execute(
                "create namespace",
                queries::CREATE_NAMESPACE,
                &[
                    record.namespace.into(),
                    record.subject.into(),
                    record.uuid.into(),
                    record.key_hash.into(),
                    limits.into(),
                ],
            )
            .await?;
        if inserted == 0 {
            Err(StoreError::AlreadyExists)
        } else {
            Ok(())
        }
    }

    async fn delete_namespace(&self, namespace: &str) -> Result<()> {
        let deleted = self
            .execute(
                "delete namespace",
                queries::DELETE_NAMESPACE,
                &[namespace.into()],
            )
            .await?;
        if deleted == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }

    async fn list_namespaces(&self) -> Result<Vec<NamespaceRecord>> {
        self.query("list namespaces", queries::LIST_NAMESPACES, &[])
            .await?
            .iter()
            .map(namespace_from_row)
            .collect()
    }

    async fn set_limits(&self, namespace: &str, limits: Value) -> Result<()> {
        let limits = to_json(&limits)?;
        let changed = self
            .execute(
                "set limits",
                queries::SET_LIMITS,
                &[namespace.into(), limits.into()],
            )
            .await?;
        if changed == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }
}
