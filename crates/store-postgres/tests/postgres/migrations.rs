//! Versioned, idempotent migrations, safe when several processes start at once.

use serde_json::json;
use whirl_store::behaviour::unique;
use whirl_store::{EntityKind, NewEntity, Scope, StoreError};
use whirl_store_postgres::schema::MIGRATIONS_TABLE;
use whirl_store_postgres::{MIGRATIONS, SCHEMA_VERSION};

use crate::{client, fresh_url};

async fn versions(url: &str) -> Vec<i32> {
    client(url)
        .await
        .query(
            &format!("SELECT version FROM {MIGRATIONS_TABLE} ORDER BY version"),
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

fn rule(ns: &str, i: i64) -> NewEntity {
    NewEntity {
        id: format!("{ns}/r{i}"),
        kind: EntityKind::Rule,
        path: ns.to_string(),
        name: format!("r{i}"),
        updated: i,
        doc: json!({}),
        code: None,
    }
}

/// Eight stores connecting at once to a fresh database: every one succeeds, each step is applied
/// exactly once, and they all share the data.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_connects_on_a_fresh_database_migrate_once() {
    let url = fresh_url().await;
    let connects = (0..8).map(|_| {
        let url = url.clone();
        tokio::spawn(async move { whirl_store_postgres::connect(&url).await })
    });
    let mut stores = Vec::new();
    for c in connects {
        stores.push(c.await.unwrap().unwrap());
    }
    let want: Vec<i32> = (1..=SCHEMA_VERSION).collect();
    assert_eq!(versions(&url).await, want);
    assert_eq!(MIGRATIONS.len(), want.len());
    let ns = unique("mig");
    for (i, s) in stores.iter().enumerate() {
        s.entities.put(rule(&ns, i as i64), None).await.unwrap();
    }
    for s in &stores {
        let n = s
            .entities
            .count(EntityKind::Rule, &Scope::Path(ns.clone()))
            .await
            .unwrap();
        assert_eq!(n, 8);
    }
}

/// Reconnecting applies nothing new; data stays; a database from a newer build is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_are_idempotent_and_newer_schemas_refused() {
    let url = fresh_url().await;
    let ns = unique("again");
    for i in 0..3 {
        let stores = whirl_store_postgres::connect(&url).await.unwrap();
        stores.entities.put(rule(&ns, i), None).await.unwrap();
        let n = stores
            .entities
            .count(EntityKind::Rule, &Scope::Namespace(ns.clone()))
            .await
            .unwrap();
        assert_eq!(n, i as u64 + 1);
        assert_eq!(versions(&url).await.len(), MIGRATIONS.len());
    }
    client(&url)
        .await
        .execute(
            &format!("INSERT INTO {MIGRATIONS_TABLE} (version) VALUES ($1)"),
            &[&(SCHEMA_VERSION + 1)],
        )
        .await
        .unwrap();
    match whirl_store_postgres::connect(&url).await {
        Err(StoreError::Backend(msg)) => assert!(msg.contains("newer"), "{msg}"),
        other => panic!("expected a schema version error, got {other:?}"),
    }
}

/// `options=-csearch_path=…` in the URL puts the tables in that schema.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tables_go_to_the_schema_named_in_the_url() {
    let url = fresh_url().await;
    client(&url)
        .await
        .batch_execute("CREATE SCHEMA whirl_here")
        .await
        .unwrap();
    let in_schema = format!("{url}?options=-csearch_path%3Dwhirl_here");
    let stores = whirl_store_postgres::connect(&in_schema).await.unwrap();
    stores
        .entities
        .put(rule(&unique("schema"), 1), None)
        .await
        .unwrap();
    let c = client(&url).await;
    let schemas: Vec<String> = c
        .query(
            "SELECT table_schema::text FROM information_schema.tables WHERE table_name = 'entities'",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(schemas, ["whirl_here"]);
}

/// Once an owner has migrated the database, a role that may only read and write rows runs the
/// store (connecting does no DDL and takes no lock when the schema is current).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_without_ddl_rights_runs_a_migrated_database() {
    let (url, _owner) = crate::fresh().await;
    let role: String = unique("dml")
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .take(60)
        .collect();
    client(&url)
        .await
        .batch_execute(&format!(
            "CREATE ROLE {role} LOGIN;
             REVOKE CREATE ON SCHEMA public FROM PUBLIC;
             GRANT USAGE ON SCHEMA public TO {role};
             GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role};"
        ))
        .await
        .unwrap();
    let as_role = url.replacen("//whirl@", &format!("//{role}@"), 1);
    assert_ne!(as_role, url);
    let stores = whirl_store_postgres::connect(&as_role).await.unwrap();
    whirl_store::behaviour::run_all(&stores).await;
    // The role really cannot change the schema.
    let denied = client(&as_role)
        .await
        .batch_execute("CREATE TABLE nope (x int)")
        .await
        .unwrap_err();
    assert!(
        denied
            .as_db_error()
            .is_some_and(|e| e.message().contains("permission denied")),
        "{denied:?}"
    );
}
