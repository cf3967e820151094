//! The SQL the store runs, built in one place so the tests can `EXPLAIN` exactly these statements.

use std::error::Error;

use tokio_postgres::types::{to_sql_checked, IsNull, ToSql, Type};
use whirl_store::{ActivationQuery, EntityKind, EntityQuery, Scope, SharedJson};

/// A query parameter owned by a built statement (an enum rather than `Box<dyn ToSql>` so the
/// test helpers can also render it as a literal, see `testing`).
#[derive(Debug, Clone)]
pub(crate) enum Param {
    Text(String),
    Static(&'static str),
    /// An activation document, passed on without copying its text.
    Json(SharedJson),
    Int(i64),
    /// `NULL` for `None` (`LIMIT NULL` is no limit).
    OptInt(Option<i64>),
    OptBytes(Option<Vec<u8>>),
}

impl ToSql for Param {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        // Each variant checks the column type itself.
        match self {
            Param::Text(s) => s.to_sql_checked(ty, out),
            Param::Static(s) => s.to_sql_checked(ty, out),
            Param::Json(j) => j.as_str().to_sql_checked(ty, out),
            Param::Int(i) => i.to_sql_checked(ty, out),
            Param::OptInt(i) => i.to_sql_checked(ty, out),
            Param::OptBytes(b) => b.to_sql_checked(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

impl From<String> for Param {
    fn from(s: String) -> Param {
        Param::Text(s)
    }
}

impl From<&str> for Param {
    fn from(s: &str) -> Param {
        Param::Text(s.to_string())
    }
}

impl From<i64> for Param {
    fn from(i: i64) -> Param {
        Param::Int(i)
    }
}

/// Borrow built parameters the way `tokio_postgres` takes them.
pub(crate) fn param_refs(params: &[Param]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}

pub(crate) fn kind_str(kind: EntityKind) -> &'static str {
    match kind {
        EntityKind::Action => "action",
        EntityKind::Package => "package",
        EntityKind::Trigger => "trigger",
        EntityKind::Rule => "rule",
    }
}

pub(crate) fn parse_kind(s: &str) -> Option<EntityKind> {
    match s {
        "action" => Some(EntityKind::Action),
        "package" => Some(EntityKind::Package),
        "trigger" => Some(EntityKind::Trigger),
        "rule" => Some(EntityKind::Rule),
        _ => None,
    }
}

/// Clamp a `u64` to PostgreSQL's `bigint`.
pub(crate) fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

pub(crate) fn count_from(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// `LIMIT NULL` is no limit.
fn limit_param(limit: Option<u64>) -> Param {
    Param::OptInt(limit.map(to_i64))
}

// ---------------------------------------------------------------------------------------------
// entities

pub(crate) const ENTITY_COLUMNS: &str = "id, kind, path, name, rev, updated, doc";

pub(crate) const GET_ENTITY: &str =
    "SELECT id, kind, path, name, rev, updated, doc FROM entities WHERE id = $1";
pub(crate) const GET_ENTITY_WITH_CODE: &str =
    "SELECT id, kind, path, name, rev, updated, doc, code FROM entities WHERE id = $1";

/// A create: no row affected means the id is taken (by any kind).
pub(crate) const CREATE_ENTITY: &str =
    "INSERT INTO entities (id, kind, path, root, name, rev, updated, doc, code) \
     VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $8) ON CONFLICT (id) DO NOTHING";

/// A compare-and-set update: no row returned means a stale revision, another kind, or no row.
/// Under concurrency the second writer waits for the first's row lock, then re-checks `rev`
/// against the new version, so exactly one of two updates at the same revision wins.
pub(crate) const UPDATE_ENTITY: &str =
    "UPDATE entities SET path = $3, root = $4, name = $5, rev = rev + 1, updated = $6, \
     doc = $7, code = $8 WHERE id = $1 AND kind = $2 AND rev = $9 RETURNING rev";

/// Delete at a revision in one round trip: the number deleted, and whether the id existed before
/// the statement (its snapshot does not see the statement's own delete).
pub(crate) const DELETE_ENTITY: &str =
    "WITH gone AS (DELETE FROM entities WHERE id = $1 AND rev = $2 RETURNING 1) \
     SELECT (SELECT count(*) FROM gone), EXISTS (SELECT 1 FROM entities WHERE id = $1)";

fn scope_filter(scope: &Scope) -> (&'static str, String) {
    match scope {
        Scope::Path(p) => ("path", p.clone()),
        Scope::Namespace(ns) => ("root", ns.clone()),
    }
}

pub(crate) fn entity_list_sql(query: &EntityQuery) -> (String, Vec<Param>) {
    let (column, value) = scope_filter(&query.scope);
    (
        format!(
            "SELECT {ENTITY_COLUMNS} FROM entities WHERE kind = $1 AND {column} = $2 \
             ORDER BY updated DESC, id ASC LIMIT $3 OFFSET $4"
        ),
        vec![
            Param::Static(kind_str(query.kind)),
            Param::Text(value),
            limit_param(query.limit),
            Param::Int(to_i64(query.skip)),
        ],
    )
}

pub(crate) fn entity_count_sql(kind: EntityKind, scope: &Scope) -> (String, Vec<Param>) {
    let (column, value) = scope_filter(scope);
    (
        format!("SELECT count(*) FROM entities WHERE kind = $1 AND {column} = $2"),
        vec![Param::Static(kind_str(kind)), Param::Text(value)],
    )
}

// ---------------------------------------------------------------------------------------------
// activations

pub(crate) const ACTIVATION_COLUMNS: &str =
    "activation_id, namespace, entity_path, start_ms, end_ms, doc";

/// Insert or replace a record; a pending marker with the same id becomes the record.
pub(crate) const PUT_ACTIVATION: &str = "INSERT INTO activations \
     (activation_id, namespace, entity_path, start_ms, end_ms, doc, pending_owner) \
     VALUES ($1, $2, $3, $4, $5, $6, NULL) \
     ON CONFLICT (activation_id) DO UPDATE SET namespace = EXCLUDED.namespace, \
     entity_path = EXCLUDED.entity_path, start_ms = EXCLUDED.start_ms, \
     end_ms = EXCLUDED.end_ms, doc = EXCLUDED.doc, pending_owner = NULL";

/// Insert a record unless one exists (a pending marker with the same id becomes the record).
pub(crate) const PUT_ACTIVATION_IF_ABSENT: &str = "INSERT INTO activations \
     (activation_id, namespace, entity_path, start_ms, end_ms, doc, pending_owner) \
     VALUES ($1, $2, $3, $4, $5, $6, NULL) \
     ON CONFLICT (activation_id) DO UPDATE SET namespace = EXCLUDED.namespace, \
     entity_path = EXCLUDED.entity_path, start_ms = EXCLUDED.start_ms, \
     end_ms = EXCLUDED.end_ms, doc = EXCLUDED.doc, pending_owner = NULL \
     WHERE activations.pending_owner IS NOT NULL";

/// Insert or replace a pending marker, unless the record already exists. `ON CONFLICT` waits for
/// a concurrent insert of the same id and then checks the committed row, so a marker can never
/// overwrite a record, however the two writes interleave.
pub(crate) const PUT_PENDING: &str = "INSERT INTO activations \
     (activation_id, namespace, entity_path, start_ms, end_ms, doc, pending_owner) \
     VALUES ($1, $2, $3, $4, $5, $6, $7) \
     ON CONFLICT (activation_id) DO UPDATE SET namespace = EXCLUDED.namespace, \
     entity_path = EXCLUDED.entity_path, start_ms = EXCLUDED.start_ms, \
     end_ms = EXCLUDED.end_ms, doc = EXCLUDED.doc, pending_owner = EXCLUDED.pending_owner \
     WHERE activations.pending_owner IS NOT NULL";

pub(crate) const GET_ACTIVATION: &str =
    "SELECT activation_id, namespace, entity_path, start_ms, end_ms, doc FROM activations \
     WHERE activation_id = $1 AND namespace = $2 AND pending_owner IS NULL";

pub(crate) const PENDING_ACTIVATIONS: &str =
    "SELECT activation_id, namespace, entity_path, start_ms, end_ms, doc FROM activations \
     WHERE pending_owner = $1 ORDER BY start_ms ASC, activation_id ASC";

/// The `WHERE` clause and parameters of an activation query (records only, never markers).
fn activation_filter(query: &ActivationQuery) -> (String, Vec<Param>) {
    let mut sql = String::from("pending_owner IS NULL AND namespace = $1");
    let mut params: Vec<Param> = vec![Param::Text(query.namespace.clone())];
    if let Some(path) = &query.entity_path {
        params.push(Param::Text(path.clone()));
        sql.push_str(&format!(" AND entity_path = ${}", params.len()));
    }
    if let Some(since) = query.since {
        params.push(Param::Int(since));
        sql.push_str(&format!(" AND start_ms >= ${}", params.len()));
    }
    if let Some(upto) = query.upto {
        params.push(Param::Int(upto));
        sql.push_str(&format!(" AND start_ms <= ${}", params.len()));
    }
    (sql, params)
}

pub(crate) fn activation_list_sql(query: &ActivationQuery) -> (String, Vec<Param>) {
    let (filter, mut params) = activation_filter(query);
    params.push(limit_param(query.limit));
    params.push(Param::Int(to_i64(query.skip)));
    let n = params.len();
    (
        format!(
            "SELECT {ACTIVATION_COLUMNS} FROM activations WHERE {filter} \
             ORDER BY start_ms DESC, activation_id ASC LIMIT ${} OFFSET ${n}",
            n - 1
        ),
        params,
    )
}

pub(crate) fn activation_count_sql(query: &ActivationQuery) -> (String, Vec<Param>) {
    let (filter, params) = activation_filter(query);
    (
        format!("SELECT count(*) FROM activations WHERE {filter}"),
        params,
    )
}

// ---------------------------------------------------------------------------------------------
// namespaces

pub(crate) const NAMESPACE_BY_UUID: &str =
    "SELECT namespace, subject, uuid, key_hash, limits FROM namespaces WHERE uuid = $1";
pub(crate) const NAMESPACE: &str =
    "SELECT namespace, subject, uuid, key_hash, limits FROM namespaces WHERE namespace = $1";
/// No row inserted means the namespace or the uuid is taken.
pub(crate) const CREATE_NAMESPACE: &str =
    "INSERT INTO namespaces (namespace, subject, uuid, key_hash, limits) \
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING";
pub(crate) const DELETE_NAMESPACE: &str = "DELETE FROM namespaces WHERE namespace = $1";
pub(crate) const LIST_NAMESPACES: &str =
    "SELECT namespace, subject, uuid, key_hash, limits FROM namespaces ORDER BY namespace";
pub(crate) const SET_LIMITS: &str = "UPDATE namespaces SET limits = $2 WHERE namespace = $1";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activation_sql_numbers_its_parameters() {
        let q = ActivationQuery {
            namespace: "ns".into(),
            entity_path: Some("ns/a".into()),
            since: Some(1),
            upto: Some(2),
            skip: 3,
            limit: Some(4),
        };
        let (sql, params) = activation_list_sql(&q);
        assert_eq!(params.len(), 6);
        assert!(sql.contains("entity_path = $2 AND start_ms >= $3 AND start_ms <= $4"));
        assert!(sql.ends_with("LIMIT $5 OFFSET $6"), "{sql}");
        let (sql, params) = activation_list_sql(&ActivationQuery {
            namespace: "ns".into(),
            upto: Some(2),
            ..Default::default()
        });
        assert_eq!(params.len(), 4);
        assert!(sql.contains("start_ms <= $2"));
        assert!(sql.ends_with("LIMIT $3 OFFSET $4"), "{sql}");
        let (sql, params) = activation_count_sql(&q);
        assert_eq!(params.len(), 4);
        assert!(!sql.contains("LIMIT"));
    }
}
