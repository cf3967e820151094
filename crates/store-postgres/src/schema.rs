//! The schema and its migrations.
//!
//! Migrations are versioned: [`MIGRATIONS`] is the ordered list of steps and the table
//! `whirl_schema_migrations` records which ones a database has. Connecting reads that version;
//! if steps are missing, it applies them in one transaction that first takes a
//! transaction-scoped advisory lock, so two processes starting at once on a fresh database apply
//! each step exactly once (the second waits for the first to commit, then finds nothing left to
//! do). PostgreSQL's DDL is transactional: a step that fails leaves no trace.

use tokio_postgres::Client;

use crate::errors::Redactor;
use crate::Result;

/// Schema migrations, applied in order; step `i` brings the schema from version `i` to `i + 1`.
/// Only ever append to this list.
///
/// * Every text column that is compared or sorted is `COLLATE "C"`, so ordering (`id ASC`,
///   `activation_id ASC`, namespaces) is bytewise as in the SQLite backend, whatever locale the
///   database was created with, and index comparisons are cheap.
/// * Documents are `text`, not `jsonb`: the store never looks inside them, an activation document
///   (`SharedJson`) comes back byte for byte as it was written, and JSON that `jsonb` refuses
///   (`"\u0000"` in a string) is stored like any other.
/// * The action code attachment is `bytea` (any string, including NUL characters, round-trips) in
///   its own column; PostgreSQL moves large values out of line (TOAST), and the list and
///   `code=false` queries never select it.
/// * Pending markers are rows of `activations` with `pending_owner` set: a record put turns the
///   marker into the record (`pending_owner = NULL`) and a late marker never overwrites a record,
///   both decided by the primary key's `ON CONFLICT` in one statement, so the two cannot race.
///   Record queries use partial indexes `WHERE pending_owner IS NULL`.
pub const MIGRATIONS: &[&str] = &[
    // 1: initial schema.
    r#"
    CREATE TABLE entities (
        id      text COLLATE "C" PRIMARY KEY,
        kind    text COLLATE "C" NOT NULL,
        path    text COLLATE "C" NOT NULL,
        root    text COLLATE "C" NOT NULL,
        name    text COLLATE "C" NOT NULL,
        rev     bigint NOT NULL,
        updated bigint NOT NULL,
        doc     text NOT NULL,
        code    bytea
    );
    CREATE INDEX entities_by_path ON entities (kind, path, updated DESC, id);
    CREATE INDEX entities_by_root ON entities (kind, root, updated DESC, id);

    CREATE TABLE activations (
        activation_id text COLLATE "C" PRIMARY KEY,
        namespace     text COLLATE "C" NOT NULL,
        entity_path   text COLLATE "C" NOT NULL,
        start_ms      bigint NOT NULL,
        end_ms        bigint NOT NULL,
        doc           text NOT NULL,
        pending_owner text COLLATE "C"
    );
    CREATE INDEX activations_by_namespace
        ON activations (namespace, start_ms DESC, activation_id)
        WHERE pending_owner IS NULL;
    CREATE INDEX activations_by_entity
        ON activations (namespace, entity_path, start_ms DESC, activation_id)
        WHERE pending_owner IS NULL;
    CREATE INDEX activations_pending
        ON activations (pending_owner, start_ms, activation_id)
        WHERE pending_owner IS NOT NULL;

    CREATE TABLE namespaces (
        namespace text COLLATE "C" PRIMARY KEY,
        subject   text NOT NULL,
        uuid      text COLLATE "C" NOT NULL UNIQUE,
        key_hash  text NOT NULL,
        limits    text NOT NULL
    );
    "#,
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i32 = MIGRATIONS.len() as i32;

/// The advisory lock key that serialises migrations (any constant unlikely to be used by another
/// application sharing the database: the bytes of `whirlmig`).
pub const MIGRATION_LOCK_KEY: i64 = 0x7768_6972_6c6d_6967;

/// The table recording applied migrations.
pub const MIGRATIONS_TABLE: &str = "whirl_schema_migrations";

/// Bring the database up to [`SCHEMA_VERSION`]; refuses a database written by a newer build.
///
/// A database already at this version is only read (no lock, no DDL), so a role with no more
/// than `SELECT`, `INSERT`, `UPDATE` and `DELETE` on the tables can run the store once an owner
/// has migrated it.
pub(crate) async fn migrate(client: &mut Client, redact: &Redactor) -> Result<()> {
    let err = |what: &str, e: tokio_postgres::Error| redact.backend(what, &e);
    let installed: bool = client
        .query_one(
            &format!("SELECT to_regclass('{MIGRATIONS_TABLE}') IS NOT NULL"),
            &[],
        )
        .await
        .and_then(|row| row.try_get(0))
        .map_err(|e| err("migration: look for the version table", e))?;
    if installed {
        let version: i32 = client
            .query_one(
                &format!("SELECT COALESCE(max(version), 0) FROM {MIGRATIONS_TABLE}"),
                &[],
            )
            .await
            .and_then(|row| row.try_get(0))
            .map_err(|e| err("migration: read version", e))?;
        check_not_newer(version)?;
        if version == SCHEMA_VERSION {
            return Ok(());
        }
    }
    let tx = client
        .transaction()
        .await
        .map_err(|e| err("migration: begin", e))?;
    // Held until commit or rollback; a second process blocks here until the first is done.
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK_KEY])
        .await
        .map_err(|e| err("migration: lock", e))?;
    tx.batch_execute(&format!(
        "CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} (
             version    integer PRIMARY KEY,
             applied_at timestamptz NOT NULL DEFAULT now()
         )"
    ))
    .await
    .map_err(|e| err("migration: version table", e))?;
    let current: i32 = tx
        .query_one(
            &format!("SELECT COALESCE(max(version), 0) FROM {MIGRATIONS_TABLE}"),
            &[],
        )
        .await
        .and_then(|row| row.try_get(0))
        .map_err(|e| err("migration: read version", e))?;
    check_not_newer(current)?;
    let done = usize::try_from(current).unwrap_or(0);
    for (version, sql) in (1..).zip(MIGRATIONS.iter()).skip(done) {
        let version: i32 = version;
        tx.batch_execute(sql)
            .await
            .map_err(|e| err(&format!("migration {version}"), e))?;
        tx.execute(
            &format!("INSERT INTO {MIGRATIONS_TABLE} (version) VALUES ($1)"),
            &[&version],
        )
        .await
        .map_err(|e| err(&format!("migration {version}: record"), e))?;
        tracing::info!(version, "applied PostgreSQL store migration");
    }
    tx.commit().await.map_err(|e| err("migration: commit", e))?;
    Ok(())
}

fn check_not_newer(version: i32) -> Result<()> {
    if version > SCHEMA_VERSION {
        return Err(crate::StoreError::Backend(format!(
            "database schema version {version} is newer than this build supports \
             ({SCHEMA_VERSION})"
        )));
    }
    Ok(())
}
