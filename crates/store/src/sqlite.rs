//! SQLite backend: the whole store in one database file (the standalone default).
//!
//! # Durability: WAL + `synchronous=FULL` (entities, subjects) / `NORMAL` (activations)
//!
//! The database runs in WAL mode with `synchronous=FULL`. In WAL mode a commit appends the changed
//! pages to the `-wal` file; with `FULL` that append is fsynced before `COMMIT` returns, so a write
//! that was acknowledged to a caller survives `kill -9` *and* power loss (`NORMAL` would only
//! survive a process crash). WAL also lets readers run concurrently with the single writer, which is
//! what makes the read pool below useful.
//!
//! Activation records (and pending markers) are the exception: a batch made only of them commits
//! with `synchronous=NORMAL`, which in WAL mode skips the fsync at commit. Such a commit survives a
//! crash or `kill -9` of the server (the WAL is in the OS page cache) but not a power loss or kernel
//! crash. An fsync costs milliseconds on ordinary disks and would dominate a sub-millisecond warm
//! invocation; see docs/adr/0002-activation-durability.md.
//!
//! # Threads: one writer with group commit, a small read pool
//!
//! SQLite is blocking, so no SQLite call ever runs on a tokio worker thread:
//!
//! * **Writes** go to one dedicated writer thread that owns the only write connection. A caller sends
//!   its operation over a channel together with a oneshot reply and awaits the reply. The writer takes
//!   one operation, then drains everything else already queued (bounded by [`MAX_BATCH`]) and runs the
//!   whole batch in a single `BEGIN IMMEDIATE … COMMIT` transaction. Each operation runs inside its
//!   own `SAVEPOINT`, so an operation that fails (a revision `Conflict`, `AlreadyExists`, …) is rolled
//!   back alone without disturbing the others. Only after the `COMMIT` (and its fsync) succeeded are
//!   the replies sent, so every acknowledged write is durable; if the commit fails every operation of
//!   the batch gets an error. Under load one fsync is shared by many writes (group commit), which is
//!   how thousands of activation records per second are stored with full durability.
//!   The writer thread exits when the last handle to the store is dropped (the channel closes); the
//!   drop waits for it to finish its current batch.
//!
//!   A batch made only of activation records handed over with [`ActivationStore::enqueue`] (which
//!   nobody waits on: the invoker answers its caller while the record commits) lingers up to
//!   [`LINGER`] for more before it commits. At a few thousand invokes per second that turns one
//!   commit (a writer wake-up and some 20 KB of WAL pages) per record into one per several: about
//!   a tenth of the server's CPU per warm invoke and one context switch fewer (measured at c=1).
//!   Nothing waits for the linger: any other write ends it at once, and so does a read, which
//!   first asks the writer to flush (see `settled`).
//! * **Reads** run on tokio's blocking pool ([`tokio::task::spawn_blocking`]) on one of at most
//!   [`READERS`] read connections (a semaphore bounds the concurrency; connections are opened lazily
//!   and reused). Read connections are `query_only`.
//!
//! # Schema and migrations
//!
//! The schema version is `PRAGMA user_version`; [`MIGRATIONS`] is the ordered list of steps, each
//! applied in its own transaction that also bumps `user_version`. Later schema changes append steps,
//! so existing files are upgraded in place. Opening a file written by a newer Whirl (higher version)
//! is refused.
//!
//! Tables: `entities` (JSON document plus the query columns, the action code attachment as the last
//! column so listing never touches its overflow pages), `activations` and `pending_activations`
//! (records and accepted-but-unfinished activations), `namespaces` (subjects with key hash and limit
//! overrides). The list indexes contain the full sort key (including the id tie-breaker), so every
//! list is an index range scan in order with `LIMIT/OFFSET`, and every count is a covering-index scan.

use std::fmt;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::types::Value as SqlValue;
use rusqlite::{params, params_from_iter, Connection, ErrorCode, OptionalExtension, Row};
use serde_json::Value;
use tokio::sync::{oneshot, watch, Semaphore};

use crate::{
    ActivationQuery, ActivationRecord, ActivationStore, AuthStore, EntityKind, EntityQuery,
    EntityStore, NamespaceRecord, NewEntity, Result, Scope, SharedJson, StoreError, StoreFuture,
    StoredEntity, Stores,
};

/// File name used when [`open`] is given a directory.
pub const DEFAULT_FILE_NAME: &str = "whirl.db";
/// Maximum number of read connections (and concurrent reads).
pub const READERS: usize = 4;
/// Maximum number of write operations committed together.
pub const MAX_BATCH: usize = 1024;
/// How long a batch of enqueued activation records waits for more before it commits.
pub const LINGER: Duration = Duration::from_millis(2);
/// How long a connection waits for a lock held by another connection or process.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Schema migrations, applied in order; step `i` brings `user_version` from `i` to `i + 1`.
/// Only ever append to this list.
pub const MIGRATIONS: &[&str] = &[
    // 1: initial schema.
    r#"
    CREATE TABLE entities (
        id      TEXT PRIMARY KEY NOT NULL,
        kind    TEXT NOT NULL,
        path    TEXT NOT NULL,
        root    TEXT NOT NULL,
        name    TEXT NOT NULL,
        rev     INTEGER NOT NULL,
        updated INTEGER NOT NULL,
        doc     TEXT NOT NULL,
        code    TEXT
    );
    CREATE INDEX entities_by_path ON entities (kind, path, updated DESC, id);
    CREATE INDEX entities_by_root ON entities (kind, root, updated DESC, id);

    CREATE TABLE activations (
        activation_id TEXT PRIMARY KEY NOT NULL,
        namespace     TEXT NOT NULL,
        entity_path   TEXT NOT NULL,
        start         INTEGER NOT NULL,
        "end"         INTEGER NOT NULL,
        doc           TEXT NOT NULL
    );
    CREATE INDEX activations_by_namespace
        ON activations (namespace, start DESC, activation_id);
    CREATE INDEX activations_by_entity
        ON activations (namespace, entity_path, start DESC, activation_id);

    CREATE TABLE pending_activations (
        activation_id TEXT PRIMARY KEY NOT NULL,
        namespace     TEXT NOT NULL,
        entity_path   TEXT NOT NULL,
        start         INTEGER NOT NULL,
        "end"         INTEGER NOT NULL,
        doc           TEXT NOT NULL
    );

    CREATE TABLE namespaces (
        namespace TEXT PRIMARY KEY NOT NULL,
        subject   TEXT NOT NULL,
        uuid      TEXT NOT NULL UNIQUE,
        key_hash  TEXT NOT NULL,
        limits    TEXT NOT NULL
    );
    "#,
    // 2: pending markers name their owner (the instance that will write the record).
    // Markers left by older versions belong to the one invoker standalone mode had.
    r#"
    ALTER TABLE pending_activations ADD COLUMN owner TEXT NOT NULL DEFAULT 'invoker0';
    CREATE INDEX pending_by_owner ON pending_activations (owner, start, activation_id);
    "#,
];

/// Open (creating it and its parent directories if needed) the SQLite database at `dir_or_file` and
/// return the three stores backed by it. `dir_or_file` is the database file (e.g.
/// `<data-dir>/whirl.db`); if it names an existing directory, [`DEFAULT_FILE_NAME`] inside it is used.
pub fn open(dir_or_file: &Path) -> Result<Stores> {
    Ok(SqliteStore::open(dir_or_file)?.into_stores())
}

/// One SQLite database implementing [`EntityStore`], [`ActivationStore`] and [`AuthStore`].
pub struct SqliteStore {
    path: PathBuf,
    writer: Option<mpsc::Sender<Box<dyn WriteJob>>>,
    /// The sequence number of the last write handed to the writer (assigned and sent under this
    /// lock, so the writer sees them in order).
    submitted: Mutex<u64>,
    /// The sequence number of the last write whose batch has finished (committed or failed).
    committed: watch::Receiver<u64>,
    writer_thread: Option<JoinHandle<()>>,
    /// Stops the checkpointer when dropped.
    checkpoint_stop: Option<mpsc::Sender<()>>,
    checkpoint_thread: Option<JoinHandle<()>>,
    readers: Arc<ReadPool>,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Open the database (see [`open`]): apply pending migrations, start the writer thread.
    pub fn open(dir_or_file: &Path) -> Result<SqliteStore> {
        let path = if dir_or_file.is_dir() {
            dir_or_file.join(DEFAULT_FILE_NAME)
        } else {
            dir_or_file.to_path_buf()
        };
        if let Some(parent) = path.parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent).map_err(|e| {
                    StoreError::Backend(format!("creating {}: {e}", parent.display()))
                })?;
            }
        }
        let conn = open_writer(&path)?;
        migrate(&conn)?;

        let (tx, rx) = mpsc::channel::<Box<dyn WriteJob>>();
        let (committed_tx, committed) = watch::channel(0u64);
        let writer_thread = std::thread::Builder::new()
            .name("whirl-store-writer".into())
            .spawn(move || writer_loop(conn, rx, committed_tx))
            .map_err(|e| StoreError::Backend(format!("starting the store writer thread: {e}")))?;
        let checkpoint_conn = open_checkpointer(&path)?;
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let checkpoint_thread = std::thread::Builder::new()
            .name("whirl-store-checkpoint".into())
            .spawn(move || checkpoint_loop(checkpoint_conn, stop_rx))
            .map_err(|e| {
                StoreError::Backend(format!("starting the store checkpoint thread: {e}"))
            })?;
        Ok(SqliteStore {
            readers: Arc::new(ReadPool {
                path: path.clone(),
                conns: Mutex::new(Vec::new()),
                permits: Arc::new(Semaphore::new(READERS)),
            }),
            path,
            writer: Some(tx),
            submitted: Mutex::new(0),
            committed,
            writer_thread: Some(writer_thread),
            checkpoint_stop: Some(stop_tx),
            checkpoint_thread: Some(checkpoint_thread),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
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

    /// Run `op` on the writer thread inside the next group-commit batch; resolves after the commit
    /// has been fsynced (survives power loss).
    async fn write<T, F>(&self, op: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        self.write_with(true, op).await
    }

    /// Like [`Self::write`], but with `fsync: false` the commit only has to reach the WAL file in
    /// the OS page cache: it survives a crash or `kill -9` of the process, not a power loss. Used
    /// for activation records, whose write sits on the invoke path (see docs/adr/0002).
    async fn write_with<T, F>(&self, fsync: bool, op: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        self.submit(fsync, false, op).await
    }

    /// Hand `op` to the writer now; the future resolves after its batch commits. With `linger`,
    /// its batch may wait up to [`LINGER`] for more before committing (nobody waits on it).
    fn submit<T, F>(&self, fsync: bool, linger: bool, op: F) -> StoreFuture<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let (reply, rx) = oneshot::channel();
        let sent = match &self.writer {
            None => Err(()),
            Some(sender) => {
                let mut seq = self.submitted.lock().unwrap_or_else(|e| e.into_inner());
                let job = Box::new(Job {
                    op: Some(op),
                    result: None,
                    reply,
                    fsync,
                    linger,
                    seq: *seq + 1,
                });
                match sender.send(job) {
                    Ok(()) => {
                        *seq += 1;
                        Ok(())
                    }
                    Err(_) => Err(()),
                }
            }
        };
        Box::pin(async move {
            sent.map_err(|()| StoreError::Backend("store writer is stopped".into()))?;
            rx.await
                .map_err(|_| StoreError::Backend("store writer stopped before replying".into()))?
        })
    }

    /// Insert or replace an activation record (and clear its pending marker); with `linger`
    /// its batch may wait for more (see [`LINGER`]).
    fn write_record(&self, record: ActivationRecord, linger: bool) -> StoreFuture<()> {
        let row = match ActivationRow::new(record) {
            Ok(r) => r,
            Err(e) => return Box::pin(async move { Err(e) }),
        };
        self.submit(false, linger, move |conn| {
            let ctx = |e| backend(&format!("put activation {}", row.activation_id), e);
            conn.prepare_cached(&format!(
                "INSERT OR REPLACE INTO activations ({ACTIVATION_COLUMNS}) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
            ))
            .and_then(|mut stmt| {
                stmt.execute(params![
                    row.activation_id,
                    row.namespace,
                    row.entity_path,
                    row.start,
                    row.end,
                    row.doc.as_str()
                ])
            })
            .map_err(ctx)?;
            conn.prepare_cached("DELETE FROM pending_activations WHERE activation_id = ?1")
                .and_then(|mut stmt| stmt.execute([&row.activation_id]))
                .map_err(ctx)?;
            Ok(())
        })
    }

    /// Wait until every write submitted before this call has finished, so that a read sees
    /// what this process has already handed to the writer (read-your-writes for
    /// [`ActivationStore::enqueue`]). Free when nothing is in flight.
    async fn settled(&self) {
        let target = *self.submitted.lock().unwrap_or_else(|e| e.into_inner());
        if *self.committed.borrow() >= target {
            return;
        }
        // A lingering batch commits now rather than keep the read waiting.
        if let Some(sender) = &self.writer {
            let _ = sender.send(Box::new(Flush));
        }
        let mut rx = self.committed.clone();
        // An error means the writer is gone; the read then reports its own failure.
        let _ = rx.wait_for(|c| *c >= target).await;
    }

    /// Run `op` on a read connection on the blocking pool.
    async fn read<T, F>(&self, op: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        self.readers.run(op).await
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        // Closing the channel lets the writer finish its current batch and exit.
        self.writer.take();
        if let Some(handle) = self.writer_thread.take() {
            if handle.join().is_err() {
                tracing::error!("store writer thread panicked");
            }
        }
        self.checkpoint_stop.take();
        if let Some(handle) = self.checkpoint_thread.take() {
            if handle.join().is_err() {
                tracing::error!("store checkpoint thread panicked");
            }
        }
    }
}

/// How often the WAL is copied back into the database file.
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(500);

/// Checkpoints run here rather than inside a writer's commit (the writer has
/// `wal_autocheckpoint = 0`): a checkpoint fsyncs the database file, and doing that in the commit
/// path would stall every write of the batch behind it (a p99 spike on the invoke path).
fn checkpoint_loop(conn: Connection, stop: mpsc::Receiver<()>) {
    loop {
        match stop.recv_timeout(CHECKPOINT_INTERVAL) {
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                    tracing::warn!("store checkpoint: {e}");
                }
            }
            // The store is closing: one last full checkpoint so the WAL is folded back.
            _ => {
                if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())) {
                    tracing::debug!("final store checkpoint: {e}");
                }
                break;
            }
        }
    }
    if let Err((_, e)) = conn.close() {
        tracing::warn!("closing the store checkpoint connection: {e}");
    }
}

// ---------------------------------------------------------------------------------------------
// Connections and migrations

fn backend(context: &str, e: impl fmt::Display) -> StoreError {
    StoreError::Backend(format!("{context}: {e}"))
}

fn is_constraint(e: &rusqlite::Error) -> bool {
    e.sqlite_error_code() == Some(ErrorCode::ConstraintViolation)
}

fn open_writer(path: &Path) -> Result<Connection> {
    let ctx = |e| backend(&format!("opening {}", path.display()), e);
    let conn = Connection::open(path).map_err(ctx)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(ctx)?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .map_err(ctx)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Backend(format!(
            "{}: cannot enable WAL journal mode (got {mode})",
            path.display()
        )));
    }
    conn.execute_batch(
        "PRAGMA synchronous = FULL;
         PRAGMA wal_autocheckpoint = 0;
         PRAGMA journal_size_limit = 67108864;
         PRAGMA temp_store = MEMORY;",
    )
    .map_err(ctx)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

fn open_checkpointer(path: &Path) -> Result<Connection> {
    let ctx = |e| backend(&format!("opening {} for checkpoints", path.display()), e);
    let conn = Connection::open(path).map_err(ctx)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(ctx)?;
    Ok(conn)
}

fn open_reader(path: &Path) -> Result<Connection> {
    let ctx = |e| backend(&format!("opening {} for reading", path.display()), e);
    let conn = Connection::open(path).map_err(ctx)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(ctx)?;
    conn.execute_batch("PRAGMA query_only = ON; PRAGMA temp_store = MEMORY;")
        .map_err(ctx)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

fn user_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
}

/// Apply the migrations the file does not have yet, each in its own transaction.
fn migrate(conn: &Connection) -> Result<()> {
    let known = MIGRATIONS.len() as i64;
    loop {
        // `BEGIN IMMEDIATE` takes the write lock before reading the version, so two processes
        // opening the same new file cannot both apply a step.
        conn.execute_batch("BEGIN IMMEDIATE")
            .map_err(|e| backend("migration: begin", e))?;
        let step = (|| -> Result<bool> {
            let version = user_version(conn).map_err(|e| backend("migration: read version", e))?;
            if version > known {
                return Err(StoreError::Backend(format!(
                    "database schema version {version} is newer than this build supports ({known})"
                )));
            }
            if version == known {
                return Ok(false);
            }
            let sql = usize::try_from(version)
                .ok()
                .and_then(|v| MIGRATIONS.get(v))
                .ok_or_else(|| {
                    StoreError::Backend(format!("invalid database schema version {version}"))
                })?;
            conn.execute_batch(sql)
                .map_err(|e| backend(&format!("migration {}", version + 1), e))?;
            conn.execute_batch(&format!("PRAGMA user_version = {}", version + 1))
                .map_err(|e| backend("migration: set version", e))?;
            tracing::debug!(version = version + 1, "applied store migration");
            Ok(true)
        })();
        match step {
            Ok(applied) => {
                conn.execute_batch("COMMIT")
                    .map_err(|e| backend("migration: commit", e))?;
                if !applied {
                    return Ok(());
                }
            }
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                return Err(e);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Read pool

struct ReadPool {
    path: PathBuf,
    conns: Mutex<Vec<Connection>>,
    permits: Arc<Semaphore>,
}

impl ReadPool {
    async fn run<T, F>(self: &Arc<Self>, op: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| backend("read pool", e))?;
        let pool = self.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let conn = match pool.take() {
                Some(conn) => conn,
                None => open_reader(&pool.path)?,
            };
            let result = op(&conn);
            pool.give_back(conn);
            result
        })
        .await
        .map_err(|e| backend("read task", e))?
    }

    fn take(&self) -> Option<Connection> {
        self.conns.lock().unwrap_or_else(|p| p.into_inner()).pop()
    }

    fn give_back(&self, conn: Connection) {
        self.conns
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(conn);
    }
}

// ---------------------------------------------------------------------------------------------
// Writer thread and group commit

/// A queued write: `run` executes it (inside a savepoint), `finish` replies once the batch's fate
/// is known (`commit_error` is `Some` when the batch was not committed).
trait WriteJob: Send {
    /// Whether the commit containing this job must be fsynced.
    fn fsync(&self) -> bool;
    /// Whether its batch may wait for more (see [`LINGER`]).
    fn linger(&self) -> bool {
        false
    }
    fn run(&mut self, conn: &Connection) -> bool;
    fn finish(self: Box<Self>, commit_error: Option<&str>);
    /// Order of submission (see `SqliteStore::submitted`).
    fn seq(&self) -> u64;
}

struct Job<T, F> {
    op: Option<F>,
    result: Option<Result<T>>,
    reply: oneshot::Sender<Result<T>>,
    fsync: bool,
    linger: bool,
    seq: u64,
}

/// Commits the current batch now (a read waits for it); writes nothing itself.
struct Flush;

impl WriteJob for Flush {
    fn fsync(&self) -> bool {
        false
    }

    fn run(&mut self, _: &Connection) -> bool {
        true
    }

    fn finish(self: Box<Self>, _: Option<&str>) {}

    fn seq(&self) -> u64 {
        0
    }
}

impl<T, F> WriteJob for Job<T, F>
where
    T: Send,
    F: FnOnce(&Connection) -> Result<T> + Send,
{
    fn fsync(&self) -> bool {
        self.fsync
    }

    fn linger(&self) -> bool {
        self.linger
    }

    fn seq(&self) -> u64 {
        self.seq
    }

    fn run(&mut self, conn: &Connection) -> bool {
        let result = match self.op.take() {
            Some(op) => std::panic::catch_unwind(AssertUnwindSafe(|| op(conn)))
                .unwrap_or_else(|_| Err(StoreError::Backend("write operation panicked".into()))),
            None => Err(StoreError::Backend("write operation ran twice".into())),
        };
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }

    fn finish(self: Box<Self>, commit_error: Option<&str>) {
        let result = match (self.result, commit_error) {
            // A failed operation was rolled back to its savepoint; its own error stands.
            (Some(Err(e)), _) => Err(e),
            (Some(Ok(v)), None) => Ok(v),
            (_, Some(e)) => Err(StoreError::Backend(format!("commit failed: {e}"))),
            (None, None) => Err(StoreError::Backend("write operation was not run".into())),
        };
        // The caller may have gone away (its future dropped); the write stands regardless.
        let _ = self.reply.send(result);
    }
}

fn writer_loop(
    conn: Connection,
    rx: mpsc::Receiver<Box<dyn WriteJob>>,
    committed: watch::Sender<u64>,
) {
    let mut batch: Vec<Box<dyn WriteJob>> = Vec::new();
    // The connection starts with `synchronous = FULL`; batches of activation records only need
    // process-crash durability (`NORMAL` in WAL mode: no fsync at commit).
    let mut full = true;
    while let Ok(first) = rx.recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        // Only enqueued activation records so far: wait a little for more (see `LINGER`).
        let until = std::time::Instant::now() + LINGER;
        while batch.len() < MAX_BATCH && batch.iter().all(|j| j.linger()) {
            let left = until.saturating_duration_since(std::time::Instant::now());
            match rx.recv_timeout(left) {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let need_full = batch.iter().any(|j| j.fsync());
        if need_full != full {
            let pragma = if need_full {
                "PRAGMA synchronous = FULL"
            } else {
                "PRAGMA synchronous = NORMAL"
            };
            match conn.execute_batch(pragma) {
                Ok(()) => full = need_full,
                Err(e) => tracing::error!("store: cannot switch synchronous mode: {e}"),
            }
        }
        let last = batch.iter().map(|j| j.seq()).max().unwrap_or(0);
        run_batch(&conn, &mut batch);
        // Never backwards: a batch of only a flush carries no sequence number.
        committed.send_if_modified(|c| {
            let newer = last > *c;
            if newer {
                *c = last;
            }
            newer
        });
    }
    tracing::debug!("store writer stopped");
    if let Err((_, e)) = conn.close() {
        tracing::warn!("closing the store write connection: {e}");
    }
}

fn exec_cached(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([])?;
    Ok(())
}

fn run_batch(conn: &Connection, batch: &mut Vec<Box<dyn WriteJob>>) {
    let mut fatal: Option<String> = None;
    if let Err(e) = exec_cached(conn, "BEGIN IMMEDIATE") {
        fatal = Some(format!("begin: {e}"));
    } else {
        for job in batch.iter_mut() {
            if let Err(e) = exec_cached(conn, "SAVEPOINT op") {
                fatal = Some(format!("savepoint: {e}"));
                break;
            }
            let ok = job.run(conn);
            let end = if ok {
                exec_cached(conn, "RELEASE op")
            } else {
                exec_cached(conn, "ROLLBACK TO op").and_then(|()| exec_cached(conn, "RELEASE op"))
            };
            if let Err(e) = end {
                fatal = Some(format!("savepoint end: {e}"));
                break;
            }
        }
        if fatal.is_none() {
            if let Err(e) = exec_cached(conn, "COMMIT") {
                fatal = Some(format!("commit: {e}"));
            }
        }
        if fatal.is_some() && !conn.is_autocommit() {
            if let Err(e) = conn.execute_batch("ROLLBACK") {
                tracing::error!("store rollback failed: {e}");
            }
        }
    }
    if let Some(e) = &fatal {
        tracing::error!(ops = batch.len(), "store write batch failed: {e}");
    }
    for job in batch.drain(..) {
        job.finish(fatal.as_deref());
    }
}

// ---------------------------------------------------------------------------------------------
// Row helpers

fn kind_str(kind: EntityKind) -> &'static str {
    match kind {
        EntityKind::Action => "action",
        EntityKind::Package => "package",
        EntityKind::Trigger => "trigger",
        EntityKind::Rule => "rule",
    }
}

fn parse_kind(s: &str) -> Option<EntityKind> {
    match s {
        "action" => Some(EntityKind::Action),
        "package" => Some(EntityKind::Package),
        "trigger" => Some(EntityKind::Trigger),
        "rule" => Some(EntityKind::Rule),
        _ => None,
    }
}

/// Clamp a `u64` to SQLite's signed 64-bit integers.
fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn limit_of(limit: Option<u64>) -> i64 {
    limit.map_or(-1, to_i64)
}

fn json_text(row: &Row<'_>, idx: usize) -> rusqlite::Result<Value> {
    let text = row.get_ref(idx)?.as_str()?;
    serde_json::from_str(text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, Box::new(e))
    })
}

const ENTITY_COLUMNS: &str = "id, kind, path, name, rev, updated, doc";

/// Reads [`ENTITY_COLUMNS`] (and `code` at index 7 when `with_code`).
fn entity_from_row(row: &Row<'_>, with_code: bool) -> rusqlite::Result<StoredEntity> {
    let kind_text = row.get_ref(1)?.as_str()?;
    let kind = parse_kind(kind_text).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            1,
            rusqlite::types::Type::Text,
            format!("unknown entity kind {kind_text:?}").into(),
        )
    })?;
    let rev: i64 = row.get(4)?;
    Ok(StoredEntity {
        id: row.get(0)?,
        kind,
        path: row.get(2)?,
        name: row.get(3)?,
        rev: u64::try_from(rev).unwrap_or(0),
        updated: row.get(5)?,
        doc: json_text(row, 6)?,
        code: if with_code { row.get(7)? } else { None },
    })
}

const ACTIVATION_COLUMNS: &str = r#"activation_id, namespace, entity_path, start, "end", doc"#;

fn activation_from_row(row: &Row<'_>) -> rusqlite::Result<ActivationRecord> {
    Ok(ActivationRecord {
        activation_id: row.get(0)?,
        namespace: row.get(1)?,
        entity_path: row.get(2)?,
        start: row.get(3)?,
        end: row.get(4)?,
        doc: shared_json_text(row, 5)?,
    })
}

fn namespace_from_row(row: &Row<'_>) -> rusqlite::Result<NamespaceRecord> {
    Ok(NamespaceRecord {
        namespace: row.get(0)?,
        subject: row.get(1)?,
        uuid: row.get(2)?,
        key_hash: row.get(3)?,
        limits: json_text(row, 4)?,
    })
}

const NAMESPACE_COLUMNS: &str = "namespace, subject, uuid, key_hash, limits";

/// A stored activation document as shared JSON (checked, not parsed into a tree).
fn shared_json_text(row: &Row<'_>, idx: usize) -> rusqlite::Result<SharedJson> {
    let text = row.get_ref(idx)?.as_str()?;
    SharedJson::from_text(text.to_string()).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn to_json(v: &Value) -> Result<String> {
    serde_json::to_string(v).map_err(|e| backend("serializing document", e))
}

/// An entity prepared for writing (JSON serialized on the caller's task, not the writer thread).
struct EntityRow {
    id: String,
    kind: &'static str,
    path: String,
    root: String,
    name: String,
    updated: i64,
    doc: String,
    code: Option<String>,
}

impl EntityRow {
    fn new(e: NewEntity) -> Result<EntityRow> {
        let doc = to_json(&e.doc)?;
        let root = e.path.split('/').next().unwrap_or_default().to_string();
        Ok(EntityRow {
            id: e.id,
            kind: kind_str(e.kind),
            path: e.path,
            root,
            name: e.name,
            updated: e.updated,
            doc,
            code: e.code,
        })
    }
}

struct ActivationRow {
    activation_id: String,
    namespace: String,
    entity_path: String,
    start: i64,
    end: i64,
    doc: SharedJson,
}

impl ActivationRow {
    fn new(r: ActivationRecord) -> Result<ActivationRow> {
        Ok(ActivationRow {
            doc: r.doc,
            activation_id: r.activation_id,
            namespace: r.namespace,
            entity_path: r.entity_path,
            start: r.start,
            end: r.end,
        })
    }
}

fn entity_list_sql(query: &EntityQuery) -> (String, Vec<SqlValue>) {
    let (column, value) = scope_filter(&query.scope);
    (
        format!(
            "SELECT {ENTITY_COLUMNS} FROM entities WHERE kind = ?1 AND {column} = ?2 \
             ORDER BY updated DESC, id ASC LIMIT ?3 OFFSET ?4"
        ),
        vec![
            SqlValue::Text(kind_str(query.kind).into()),
            SqlValue::Text(value.into()),
            SqlValue::Integer(limit_of(query.limit)),
            SqlValue::Integer(to_i64(query.skip)),
        ],
    )
}

fn scope_filter(scope: &Scope) -> (&'static str, &str) {
    match scope {
        Scope::Path(p) => ("path", p.as_str()),
        Scope::Namespace(ns) => ("root", ns.as_str()),
    }
}

/// The `WHERE` clause and parameters of an activation query.
fn activation_filter(query: &ActivationQuery) -> (String, Vec<SqlValue>) {
    let mut sql = String::from("namespace = ?");
    let mut params = vec![SqlValue::Text(query.namespace.clone())];
    if let Some(path) = &query.entity_path {
        sql.push_str(" AND entity_path = ?");
        params.push(SqlValue::Text(path.clone()));
    }
    if let Some(since) = query.since {
        sql.push_str(" AND start >= ?");
        params.push(SqlValue::Integer(since));
    }
    if let Some(upto) = query.upto {
        sql.push_str(" AND start <= ?");
        params.push(SqlValue::Integer(upto));
    }
    (sql, params)
}

fn activation_list_sql(query: &ActivationQuery) -> (String, Vec<SqlValue>) {
    let (filter, mut params) = activation_filter(query);
    params.push(SqlValue::Integer(limit_of(query.limit)));
    params.push(SqlValue::Integer(to_i64(query.skip)));
    (
        format!(
            "SELECT {ACTIVATION_COLUMNS} FROM activations WHERE {filter} \
             ORDER BY start DESC, activation_id ASC LIMIT ? OFFSET ?"
        ),
        params,
    )
}

fn activation_count_sql(query: &ActivationQuery) -> (String, Vec<SqlValue>) {
    let (filter, params) = activation_filter(query);
    (
        format!("SELECT COUNT(*) FROM activations WHERE {filter}"),
        params,
    )
}

fn count_from(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

// ---------------------------------------------------------------------------------------------
// EntityStore

#[async_trait]
impl EntityStore for SqliteStore {
    async fn get(&self, id: &str, with_code: bool) -> Result<Option<StoredEntity>> {
        let id = id.to_string();
        self.read(move |conn| {
            let sql = if with_code {
                "SELECT id, kind, path, name, rev, updated, doc, code FROM entities WHERE id = ?1"
            } else {
                "SELECT id, kind, path, name, rev, updated, doc FROM entities WHERE id = ?1"
            };
            conn.prepare_cached(sql)
                .and_then(|mut stmt| {
                    stmt.query_row([&id], |row| entity_from_row(row, with_code))
                        .optional()
                })
                .map_err(|e| backend(&format!("get entity {id}"), e))
        })
        .await
    }

    async fn put(&self, entity: NewEntity, expected_rev: Option<u64>) -> Result<u64> {
        let row = EntityRow::new(entity)?;
        self.write(move |conn| {
            let ctx = |e| backend(&format!("put entity {}", row.id), e);
            match expected_rev {
                None => {
                    let inserted = conn
                        .prepare_cached(
                            "INSERT INTO entities (id, kind, path, root, name, rev, updated, doc, code) \
                             VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, ?7, ?8)",
                        )
                        .and_then(|mut stmt| {
                            stmt.execute(params![
                                row.id, row.kind, row.path, row.root, row.name, row.updated,
                                row.doc, row.code
                            ])
                        });
                    match inserted {
                        Ok(_) => Ok(1),
                        Err(e) if is_constraint(&e) => Err(StoreError::AlreadyExists),
                        Err(e) => Err(ctx(e)),
                    }
                }
                Some(rev) => {
                    let changed = conn
                        .prepare_cached(
                            "UPDATE entities SET path = ?3, root = ?4, name = ?5, rev = rev + 1, \
                             updated = ?6, doc = ?7, code = ?8 \
                             WHERE id = ?1 AND kind = ?2 AND rev = ?9",
                        )
                        .and_then(|mut stmt| {
                            stmt.execute(params![
                                row.id,
                                row.kind,
                                row.path,
                                row.root,
                                row.name,
                                row.updated,
                                row.doc,
                                row.code,
                                to_i64(rev)
                            ])
                        })
                        .map_err(ctx)?;
                    if changed == 0 {
                        Err(StoreError::Conflict)
                    } else {
                        Ok(rev + 1)
                    }
                }
            }
        })
        .await
    }

    async fn delete(&self, id: &str, expected_rev: u64) -> Result<()> {
        let id = id.to_string();
        self.write(move |conn| {
            let ctx = |e| backend(&format!("delete entity {id}"), e);
            let deleted = conn
                .prepare_cached("DELETE FROM entities WHERE id = ?1 AND rev = ?2")
                .and_then(|mut stmt| stmt.execute(params![id, to_i64(expected_rev)]))
                .map_err(ctx)?;
            if deleted > 0 {
                return Ok(());
            }
            let exists = conn
                .prepare_cached("SELECT 1 FROM entities WHERE id = ?1")
                .and_then(|mut stmt| stmt.exists([&id]))
                .map_err(ctx)?;
            Err(if exists {
                StoreError::Conflict
            } else {
                StoreError::NotFound
            })
        })
        .await
    }

    async fn list(&self, query: &EntityQuery) -> Result<Vec<StoredEntity>> {
        let (sql, params) = entity_list_sql(query);
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(&sql)
                .map_err(|e| backend("list entities", e))?;
            let rows = stmt
                .query_map(params_from_iter(params), |row| entity_from_row(row, false))
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
                .map_err(|e| backend("list entities", e))?;
            Ok(rows)
        })
        .await
    }

    async fn count(&self, kind: EntityKind, scope: &Scope) -> Result<u64> {
        let (column, value) = scope_filter(scope);
        let sql = format!("SELECT COUNT(*) FROM entities WHERE kind = ?1 AND {column} = ?2");
        let value = value.to_string();
        self.read(move |conn| {
            conn.prepare_cached(&sql)
                .and_then(|mut stmt| {
                    stmt.query_row(params![kind_str(kind), value], |r| r.get::<_, i64>(0))
                })
                .map(count_from)
                .map_err(|e| backend("count entities", e))
        })
        .await
    }
}

// ---------------------------------------------------------------------------------------------
// ActivationStore

#[async_trait]
impl ActivationStore for SqliteStore {
    async fn put(&self, record: ActivationRecord) -> Result<()> {
        // Awaited by its caller: no linger.
        self.write_record(record, false).await
    }

    fn enqueue(&self, record: ActivationRecord) -> StoreFuture<()> {
        self.write_record(record, true)
    }

    async fn put_if_absent(&self, record: ActivationRecord) -> Result<bool> {
        let row = ActivationRow::new(record)?;
        self.write_with(false, move |conn| {
            let ctx = |e| backend(&format!("put activation {}", row.activation_id), e);
            let written = conn
                .prepare_cached(&format!(
                    "INSERT INTO activations ({ACTIVATION_COLUMNS}) \
                     SELECT ?1, ?2, ?3, ?4, ?5, ?6 \
                     WHERE NOT EXISTS (SELECT 1 FROM activations WHERE activation_id = ?1)"
                ))
                .and_then(|mut stmt| {
                    stmt.execute(params![
                        row.activation_id,
                        row.namespace,
                        row.entity_path,
                        row.start,
                        row.end,
                        row.doc.as_str()
                    ])
                })
                .map_err(ctx)?;
            if written > 0 {
                conn.prepare_cached("DELETE FROM pending_activations WHERE activation_id = ?1")
                    .and_then(|mut stmt| stmt.execute([&row.activation_id]))
                    .map_err(ctx)?;
            }
            Ok(written > 0)
        })
        .await
    }
    async fn get(&self, namespace: &str, activation_id: &str) -> Result<Option<ActivationRecord>> {
        self.settled().await;
        let namespace = namespace.to_string();
        let id = activation_id.to_string();
        self.read(move |conn| {
            conn.prepare_cached(&format!(
                "SELECT {ACTIVATION_COLUMNS} FROM activations \
                 WHERE activation_id = ?1 AND namespace = ?2"
            ))
            .and_then(|mut stmt| {
                stmt.query_row([&id, &namespace], activation_from_row)
                    .optional()
            })
            .map_err(|e| backend(&format!("get activation {id}"), e))
        })
        .await
    }

    async fn list(&self, query: &ActivationQuery) -> Result<Vec<ActivationRecord>> {
        self.settled().await;
        let (sql, params) = activation_list_sql(query);
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(&sql)
                .map_err(|e| backend("list activations", e))?;
            let rows = stmt
                .query_map(params_from_iter(params), activation_from_row)
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
                .map_err(|e| backend("list activations", e))?;
            Ok(rows)
        })
        .await
    }

    async fn count(&self, query: &ActivationQuery) -> Result<u64> {
        self.settled().await;
        let (sql, params) = activation_count_sql(query);
        self.read(move |conn| {
            conn.prepare_cached(&sql)
                .and_then(|mut stmt| {
                    stmt.query_row(params_from_iter(params), |r| r.get::<_, i64>(0))
                })
                .map(count_from)
                .map_err(|e| backend("count activations", e))
        })
        .await
    }

    async fn put_pending(&self, record: ActivationRecord, owner: &str) -> Result<()> {
        let row = ActivationRow::new(record)?;
        let owner = owner.to_string();
        self.write_with(false, move |conn| {
            // A record that already completed is not pending any more.
            conn.prepare_cached(&format!(
                "INSERT OR REPLACE INTO pending_activations ({ACTIVATION_COLUMNS}, owner) \
                 SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7 \
                 WHERE NOT EXISTS (SELECT 1 FROM activations WHERE activation_id = ?1)"
            ))
            .and_then(|mut stmt| {
                stmt.execute(params![
                    row.activation_id,
                    row.namespace,
                    row.entity_path,
                    row.start,
                    row.end,
                    row.doc.as_str(),
                    owner
                ])
            })
            .map_err(|e| backend(&format!("put pending activation {}", row.activation_id), e))?;
            Ok(())
        })
        .await
    }

    async fn pending(&self, owner: &str) -> Result<Vec<ActivationRecord>> {
        self.settled().await;
        let owner = owner.to_string();
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {ACTIVATION_COLUMNS} FROM pending_activations WHERE owner = ?1 \
                     ORDER BY start ASC, activation_id ASC"
                ))
                .map_err(|e| backend("list pending activations", e))?;
            let rows = stmt
                .query_map([&owner], activation_from_row)
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
                .map_err(|e| backend("list pending activations", e))?;
            Ok(rows)
        })
        .await
    }
}

// ---------------------------------------------------------------------------------------------
// AuthStore

#[async_trait]
impl AuthStore for SqliteStore {
    async fn namespace_by_uuid(&self, uuid: &str) -> Result<Option<NamespaceRecord>> {
        let uuid = uuid.to_string();
        self.read(move |conn| {
            conn.prepare_cached(&format!(
                "SELECT {NAMESPACE_COLUMNS} FROM namespaces WHERE uuid = ?1"
            ))
            .and_then(|mut stmt| stmt.query_row([&uuid], namespace_from_row).optional())
            .map_err(|e| backend("namespace by uuid", e))
        })
        .await
    }

    async fn namespace(&self, namespace: &str) -> Result<Option<NamespaceRecord>> {
        let namespace = namespace.to_string();
        self.read(move |conn| {
            conn.prepare_cached(&format!(
                "SELECT {NAMESPACE_COLUMNS} FROM namespaces WHERE namespace = ?1"
            ))
            .and_then(|mut stmt| stmt.query_row([&namespace], namespace_from_row).optional())
            .map_err(|e| backend(&format!("get namespace {namespace}"), e))
        })
        .await
    }

    async fn create_namespace(&self, record: NamespaceRecord) -> Result<()> {
        let limits = to_json(&record.limits)?;
        self.write(move |conn| {
            let inserted = conn
                .prepare_cached(&format!(
                    "INSERT INTO namespaces ({NAMESPACE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5)"
                ))
                .and_then(|mut stmt| {
                    stmt.execute(params![
                        record.namespace,
                        record.subject,
                        record.uuid,
                        record.key_hash,
                        limits
                    ])
                });
            match inserted {
                Ok(_) => Ok(()),
                Err(e) if is_constraint(&e) => Err(StoreError::AlreadyExists),
                Err(e) => Err(backend(
                    &format!("create namespace {}", record.namespace),
                    e,
                )),
            }
        })
        .await
    }

    async fn delete_namespace(&self, namespace: &str) -> Result<()> {
        let namespace = namespace.to_string();
        self.write(move |conn| {
            let deleted = conn
                .prepare_cached("DELETE FROM namespaces WHERE namespace = ?1")
                .and_then(|mut stmt| stmt.execute([&namespace]))
                .map_err(|e| backend(&format!("delete namespace {namespace}"), e))?;
            if deleted == 0 {
                Err(StoreError::NotFound)
            } else {
                Ok(())
            }
        })
        .await
    }

    async fn list_namespaces(&self) -> Result<Vec<NamespaceRecord>> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {NAMESPACE_COLUMNS} FROM namespaces ORDER BY namespace"
                ))
                .map_err(|e| backend("list namespaces", e))?;
            let rows = stmt
                .query_map([], namespace_from_row)
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
                .map_err(|e| backend("list namespaces", e))?;
            Ok(rows)
        })
        .await
    }

    async fn set_limits(&self, namespace: &str, limits: Value) -> Result<()> {
        let namespace = namespace.to_string();
        let limits = to_json(&limits)?;
        self.write(move |conn| {
            let changed = conn
                .prepare_cached("UPDATE namespaces SET limits = ?2 WHERE namespace = ?1")
                .and_then(|mut stmt| stmt.execute([&namespace, &limits]))
                .map_err(|e| backend(&format!("set limits of {namespace}"), e))?;
            if changed == 0 {
                Err(StoreError::NotFound)
            } else {
                Ok(())
            }
        })
        .await
    }
}

// ---------------------------------------------------------------------------------------------
// Test support (used by this crate's integration tests; not part of the supported API)

/// Insert activation records straight into the database file at `db` (which must already have been
/// opened once with [`open`], so the schema exists) in one transaction. Bypasses the writer thread;
/// meant for building large fixtures quickly. Returns the number of rows written.
#[doc(hidden)]
pub fn bulk_insert_activations_for_tests(
    db: &Path,
    records: impl IntoIterator<Item = ActivationRecord>,
) -> Result<u64> {
    let mut conn = open_writer(db)?;
    let tx = conn
        .transaction()
        .map_err(|e| backend("bulk insert: begin", e))?;
    let mut n = 0u64;
    {
        let mut stmt = tx
            .prepare(&format!(
                "INSERT OR REPLACE INTO activations ({ACTIVATION_COLUMNS}) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
            ))
            .map_err(|e| backend("bulk insert: prepare", e))?;
        for r in records {
            let doc = r.doc.as_str();
            stmt.execute(params![
                r.activation_id,
                r.namespace,
                r.entity_path,
                r.start,
                r.end,
                doc
            ])
            .map_err(|e| backend("bulk insert", e))?;
            n += 1;
        }
    }
    tx.commit().map_err(|e| backend("bulk insert: commit", e))?;
    Ok(n)
}

/// `EXPLAIN QUERY PLAN` details of the exact SQL the store runs for an activation list
/// (`count == false`) or count (`count == true`) query.
#[doc(hidden)]
pub fn explain_activation_query_for_tests(
    db: &Path,
    query: &ActivationQuery,
    count: bool,
) -> Result<Vec<String>> {
    let (sql, params) = if count {
        activation_count_sql(query)
    } else {
        activation_list_sql(query)
    };
    explain(db, &sql, params)
}

/// `EXPLAIN QUERY PLAN` details of the exact SQL the store runs for an entity list query.
#[doc(hidden)]
pub fn explain_entity_list_for_tests(db: &Path, query: &EntityQuery) -> Result<Vec<String>> {
    let (sql, params) = entity_list_sql(query);
    explain(db, &sql, params)
}

fn explain(db: &Path, sql: &str, params: Vec<SqlValue>) -> Result<Vec<String>> {
    let conn = open_reader(db)?;
    let mut stmt = conn
        .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
        .map_err(|e| backend("explain", e))?;
    let rows = stmt
        .query_map(params_from_iter(params), |row| row.get::<_, String>(3))
        .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
        .map_err(|e| backend("explain", e))?;
    Ok(rows)
}
