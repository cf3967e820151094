//! The shared behaviour suite against the SQLite backend, plus SQLite-specific tests: reopen,
//! migrations, crash durability (SIGKILL of a writing child process), group commit, query plans at
//! scale.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::json;
use whirl_store::sqlite::{self, MIGRATIONS};
use whirl_store::{
    behaviour, ActivationQuery, ActivationRecord, EntityKind, EntityQuery, NamespaceRecord,
    NewEntity, Scope, StoreError, Stores,
};

fn fresh() -> (tempfile::TempDir, Stores) {
    let dir = tempfile::tempdir().unwrap();
    let stores = sqlite::open(&dir.path().join("whirl.db")).unwrap();
    (dir, stores)
}

macro_rules! behaviour_tests {
    ($($name:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $name() {
            let (_dir, stores) = fresh();
            behaviour::$name(&stores).await;
        }
    )*};
}

behaviour_tests!(
    entity_crud,
    entity_revisions,
    entity_concurrent_update,
    entity_already_exists_across_kinds,
    entity_list_and_count,
    activation_put_get,
    activation_list_filters,
    activation_pending,
    activation_pending_per_owner,
    activation_put_if_absent,
    activation_enqueue_read_your_writes,
    auth_namespaces,
    content_round_trips,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn whole_suite_twice_on_one_store() {
    let (_dir, stores) = fresh();
    behaviour::run_all(&stores).await;
    // The suite uses fresh names, so it also passes on a store that already holds its data.
    behaviour::run_all(&stores).await;
}

#[tokio::test(flavor = "current_thread")]
async fn whole_suite_on_current_thread_runtime() {
    let (_dir, stores) = fresh();
    behaviour::run_all(&stores).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn group_commit_200_concurrent_activation_puts() {
    let (_dir, stores) = fresh();
    behaviour::activation_concurrent_puts(&stores, 200).await;
}

/// Failing operations in a batch (duplicate creates) do not affect the others committed with them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn group_commit_isolates_failing_operations() {
    let (_dir, stores) = fresh();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..100 {
        let entities = stores.entities.clone();
        tasks.spawn(async move {
            let e = NewEntity {
                id: "ns/same".into(),
                kind: EntityKind::Action,
                path: "ns".into(),
                name: "same".into(),
                updated: i,
                doc: json!({"i": i}),
                code: Some(format!("code {i}")),
            };
            entities.put(e, None).await.map(|_| true)
        });
        let activations = stores.activations.clone();
        tasks.spawn(async move {
            let r = ActivationRecord {
                activation_id: format!("{i:032x}"),
                namespace: "ns".into(),
                entity_path: "ns/same".into(),
                start: i,
                end: i + 1,
                doc: behaviour::shared(json!({"i": i})),
            };
            activations.put(r).await.map(|()| false)
        });
    }
    let (mut created, mut exists, mut activations) = (0, 0, 0);
    while let Some(joined) = tasks.join_next().await {
        match joined.unwrap() {
            Ok(true) => created += 1,
            Ok(false) => activations += 1,
            Err(StoreError::AlreadyExists) => exists += 1,
            Err(e) => panic!("unexpected error {e}"),
        }
    }
    assert_eq!((created, exists, activations), (1, 99, 100));
    let q = ActivationQuery {
        namespace: "ns".into(),
        ..Default::default()
    };
    assert_eq!(stores.activations.count(&q).await.unwrap(), 100);
    let e = stores.entities.get("ns/same", true).await.unwrap().unwrap();
    assert_eq!(e.rev, 1);
    assert_eq!(e.code, Some(format!("code {}", e.doc["i"])));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_survives_reopen_and_connections_close_on_drop() {
    let dir = tempfile::tempdir().unwrap();
    // Parent directories are created.
    let db = dir.path().join("nested/data/whirl.db");
    let ns = NamespaceRecord {
        subject: "guest".into(),
        namespace: "guest".into(),
        uuid: "23bc46b1-71f6-4ed5-8c54-816aa4f8c502".into(),
        key_hash: "00".repeat(32),
        limits: json!({"invocationsPerMinute": 60}),
    };
    let entity = NewEntity {
        id: "guest/hello".into(),
        kind: EntityKind::Action,
        path: "guest".into(),
        name: "hello".into(),
        updated: 42,
        doc: json!({"name": "hello", "exec": {"kind": "nodejs:20"}}),
        code: Some("function main(){}".into()),
    };
    let record = ActivationRecord {
        activation_id: "a".repeat(32),
        namespace: "guest".into(),
        entity_path: "guest/hello".into(),
        start: 1,
        end: 2,
        doc: behaviour::shared(json!({"response": {"result": {}}})),
    };
    let mut pending = record.clone();
    pending.activation_id = "b".repeat(32);
    {
        let stores = sqlite::open(&db).unwrap();
        stores.auth.create_namespace(ns.clone()).await.unwrap();
        stores.entities.put(entity.clone(), None).await.unwrap();
        stores.entities.put(entity.clone(), Some(1)).await.unwrap();
        stores.activations.put(record.clone()).await.unwrap();
        stores
            .activations
            .put_pending(pending.clone(), "invoker0")
            .await
            .unwrap();
        // Exercise the read pool so that read connections exist too.
        assert!(stores
            .entities
            .get("guest/hello", false)
            .await
            .unwrap()
            .is_some());
    }
    // Dropping the stores stopped the writer and closed every connection: the last close
    // checkpoints and removes the WAL.
    assert!(
        !db.with_extension("db-wal").exists(),
        "WAL left behind: a connection is still open"
    );

    for _ in 0..2 {
        let stores = sqlite::open(&db).unwrap();
        assert_eq!(
            stores.auth.namespace_by_uuid(&ns.uuid).await.unwrap(),
            Some(ns.clone())
        );
        let got = stores
            .entities
            .get("guest/hello", true)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (got.rev, got.code, got.doc),
            (2, entity.code.clone(), entity.doc.clone())
        );
        assert_eq!(
            stores
                .activations
                .get("guest", &record.activation_id)
                .await
                .unwrap(),
            Some(record.clone())
        );
        assert_eq!(
            stores.activations.pending("invoker0").await.unwrap(),
            vec![pending.clone()]
        );
    }
}

#[tokio::test]
async fn open_accepts_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let stores = sqlite::open(dir.path()).unwrap();
    stores
        .activations
        .put_pending(sample_record(0, "ns", "ns/a", 1), "invoker0")
        .await
        .unwrap();
    drop(stores);
    assert!(dir.path().join(sqlite::DEFAULT_FILE_NAME).is_file());
}

fn pragma_i64(db: &Path, pragma: &str) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(&format!("PRAGMA {pragma}"), [], |r| r.get(0))
        .unwrap()
}

#[tokio::test]
async fn migrations_are_idempotent_and_newer_schemas_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("whirl.db");
    for i in 0..3 {
        let stores = sqlite::open(&db).unwrap();
        // Two handles on the same file at once are fine too.
        let second = sqlite::open(&db).unwrap();
        assert_eq!(pragma_i64(&db, "user_version"), MIGRATIONS.len() as i64);
        let id = format!("ns/e{i}");
        let e = NewEntity {
            id: id.clone(),
            kind: EntityKind::Rule,
            path: "ns".into(),
            name: format!("e{i}"),
            updated: i,
            doc: json!({}),
            code: None,
        };
        stores.entities.put(e, None).await.unwrap();
        assert!(second.entities.get(&id, false).await.unwrap().is_some());
        let count = second
            .entities
            .count(EntityKind::Rule, &Scope::Namespace("ns".into()))
            .await
            .unwrap();
        assert_eq!(count, i as u64 + 1);
    }
    let conn = rusqlite::Connection::open(&db).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    conn.execute_batch(&format!("PRAGMA user_version = {}", MIGRATIONS.len() + 1))
        .unwrap();
    drop(conn);
    match sqlite::open(&db) {
        Err(StoreError::Backend(msg)) => assert!(msg.contains("newer"), "{msg}"),
        other => panic!("expected a schema version error, got {other:?}"),
    }
}

#[test]
fn entity_list_queries_use_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("whirl.db");
    drop(sqlite::open(&db).unwrap());
    for (scope, index) in [
        (Scope::Path("ns/pkg".into()), "entities_by_path"),
        (Scope::Namespace("ns".into()), "entities_by_root"),
    ] {
        let q = EntityQuery {
            kind: EntityKind::Action,
            scope,
            skip: 10,
            limit: Some(30),
        };
        let plan = sqlite::explain_entity_list_for_tests(&db, &q).unwrap();
        assert_indexed(&plan, "entities", index);
    }
}

// ---------------------------------------------------------------------------------------------
// Scale: query plans over 200,000 activations

fn sample_record(i: u64, namespace: &str, entity_path: &str, start: i64) -> ActivationRecord {
    ActivationRecord {
        activation_id: format!("{i:032x}"),
        namespace: namespace.into(),
        entity_path: entity_path.into(),
        start,
        end: start + 3,
        doc: behaviour::shared(json!({"duration": 3})),
    }
}

/// Every plan step touching `table` must be an index SEARCH on `index`, with no sorting step.
#[track_caller]
fn assert_indexed(plan: &[String], table: &str, index: &str) {
    assert!(!plan.is_empty());
    for step in plan {
        assert!(!step.contains("TEMP B-TREE"), "plan sorts: {plan:?}");
        if step.contains(table) {
            assert!(
                step.starts_with(&format!("SEARCH {table} USING")) && step.contains(index),
                "expected an index search on {index}, plan: {plan:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activation_queries_use_indexes_at_scale() {
    const ROWS: u64 = 200_000;
    const NAMESPACES: u64 = 20;
    const ACTIONS: u64 = 50;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("whirl.db");
    drop(sqlite::open(&db).unwrap());
    let written = sqlite::bulk_insert_activations_for_tests(
        &db,
        (0..ROWS).map(|i| {
            let ns = format!("ns{}", i % NAMESPACES);
            let path = format!("{ns}/action{}", (i / NAMESPACES) % ACTIONS);
            sample_record(i, &ns, &path, 1_000_000 + i as i64)
        }),
    )
    .unwrap();
    assert_eq!(written, ROWS);

    let q = |entity_path: Option<&str>, since, upto, skip, limit| ActivationQuery {
        namespace: "ns3".into(),
        entity_path: entity_path.map(str::to_string),
        since,
        upto,
        skip,
        limit,
    };
    let queries = [
        (q(None, None, None, 0, Some(30)), "activations_by_namespace"),
        (
            q(None, None, None, 5_000, Some(30)),
            "activations_by_namespace",
        ),
        (q(None, None, None, 0, None), "activations_by_namespace"),
        (
            q(None, Some(1_050_000), None, 0, Some(30)),
            "activations_by_namespace",
        ),
        (
            q(None, None, Some(1_150_000), 10, Some(30)),
            "activations_by_namespace",
        ),
        (
            q(None, Some(1_050_000), Some(1_150_000), 0, Some(200)),
            "activations_by_namespace",
        ),
        (
            q(Some("ns3/action7"), None, None, 0, Some(30)),
            "activations_by_entity",
        ),
        (
            q(Some("ns3/action7"), Some(1_050_000), None, 3, Some(30)),
            "activations_by_entity",
        ),
        (
            q(
                Some("ns3/action7"),
                Some(1_050_000),
                Some(1_150_000),
                0,
                None,
            ),
            "activations_by_entity",
        ),
    ];
    for (query, index) in &queries {
        for count in [false, true] {
            let plan = sqlite::explain_activation_query_for_tests(&db, query, count).unwrap();
            // A count by namespace alone may use either index: both are range searches on
            // `namespace`, and the plain `(namespace=?)` range is all rows of the namespace anyway.
            let unfiltered =
                query.entity_path.is_none() && query.since.is_none() && query.upto.is_none();
            let index = if count && unfiltered {
                "activations_by_"
            } else {
                index
            };
            assert_indexed(&plan, "activations", index);
        }
    }

    // And the store answers them correctly on this data.
    let stores = sqlite::open(&db).unwrap();
    let per_ns = ROWS / NAMESPACES;
    let all = q(None, None, None, 0, Some(30));
    assert_eq!(stores.activations.count(&all).await.unwrap(), per_ns);
    let page = stores.activations.list(&all).await.unwrap();
    assert_eq!(page.len(), 30);
    assert!(page.windows(2).all(|w| w[0].start > w[1].start));
    assert_eq!(page[0].start, 1_000_000 + (ROWS - NAMESPACES + 3) as i64);
    let by_action = q(Some("ns3/action7"), None, None, 0, None);
    assert_eq!(
        stores.activations.count(&by_action).await.unwrap(),
        per_ns / ACTIONS
    );
    let ranged = q(None, Some(1_000_000), Some(1_000_000 + 199), 0, None);
    assert_eq!(stores.activations.list(&ranged).await.unwrap().len(), 10);
}

// ---------------------------------------------------------------------------------------------
// Crash durability: a child process writes and prints each acknowledged write; it is killed with
// SIGKILL; every acknowledged write must be in the reopened database.

const CRASH_CHILD_ENV: &str = "WHIRL_STORE_CRASH_CHILD_DB";

/// Child mode of `acknowledged_writes_survive_sigkill` (does nothing in a normal test run).
#[test]
fn crash_child_writer() {
    let Ok(db) = std::env::var(CRASH_CHILD_ENV) else {
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let stores = sqlite::open(Path::new(&db)).unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut tasks = tokio::task::JoinSet::new();
        for t in 0..8u64 {
            let stores = stores.clone();
            tasks.spawn(async move {
                let mut i = 0u64;
                while Instant::now() < deadline && i < 20_000 {
                    let line = match i % 3 {
                        0 => {
                            let id = format!("crash/e{t}_{i}");
                            let e = NewEntity {
                                id: id.clone(),
                                kind: EntityKind::Action,
                                path: "crash".into(),
                                name: format!("e{t}_{i}"),
                                updated: i as i64,
                                doc: json!({"t": t, "i": i}),
                                code: Some(format!("code {t} {i}")),
                            };
                            stores.entities.put(e, None).await.unwrap();
                            format!("ACK E {id}")
                        }
                        1 => {
                            let id = format!("crash/e{t}_{}", i - 1);
                            let e = NewEntity {
                                id: id.clone(),
                                kind: EntityKind::Action,
                                path: "crash".into(),
                                name: format!("e{t}_{}", i - 1),
                                updated: i as i64,
                                doc: json!({"t": t, "i": i, "updated": true}),
                                code: None,
                            };
                            let rev = stores.entities.put(e, Some(1)).await.unwrap();
                            format!("ACK U {id} {rev}")
                        }
                        _ => {
                            let r = sample_record(t << 32 | i, "crash", "crash/a", i as i64);
                            let id = r.activation_id.clone();
                            stores.activations.put(r).await.unwrap();
                            format!("ACK A {id}")
                        }
                    };
                    let mut out = std::io::stdout().lock();
                    writeln!(out, "{line}").unwrap();
                    out.flush().unwrap();
                    i += 1;
                }
            });
        }
        while tasks.join_next().await.is_some() {}
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("whirl.db");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "crash_child_writer",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CRASH_CHILD_ENV, &db)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if line.starts_with("ACK ") && tx.send(line).is_err() {
                break;
            }
        }
    });

    let mut acks = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while acks.len() < 600 && Instant::now() < deadline {
        match rx.recv_timeout(Duration::from_secs(1)) {
            Ok(line) => acks.push(line),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    // `Child::kill` sends SIGKILL on Unix.
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(
        !status.success(),
        "the child must have been killed, not have finished"
    );
    reader.join().unwrap();
    // Lines printed before the kill and still in the pipe were acknowledged too.
    acks.extend(rx.try_iter());
    assert!(
        acks.len() >= 600,
        "child produced only {} acknowledgements",
        acks.len()
    );

    let stores = sqlite::open(&db).unwrap();
    let (mut entities, mut updates, mut activations) = (0, 0, 0);
    for ack in &acks {
        let parts: Vec<&str> = ack.split(' ').collect();
        match parts.as_slice() {
            ["ACK", "E", id] => {
                let e = stores.entities.get(id, true).await.unwrap();
                assert!(
                    e.is_some_and(|e| e.rev >= 1),
                    "lost acknowledged create {id}"
                );
                entities += 1;
            }
            ["ACK", "U", id, rev] => {
                let rev: u64 = rev.parse().unwrap();
                let e = stores.entities.get(id, false).await.unwrap();
                assert!(
                    e.is_some_and(|e| e.rev >= rev),
                    "lost acknowledged update {id}"
                );
                updates += 1;
            }
            ["ACK", "A", id] => {
                let r = stores.activations.get("crash", id).await.unwrap();
                assert!(r.is_some(), "lost acknowledged activation {id}");
                activations += 1;
            }
            _ => panic!("unexpected line {ack:?}"),
        }
    }
    assert!(entities > 0 && updates > 0 && activations > 0);
}

/// The read-through cache passes the whole behaviour suite and never serves a stale document.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cached_entity_store_passes_the_suite_and_stays_coherent() {
    use std::sync::Arc;
    use whirl_store::cache::CachedEntityStore;
    use whirl_store::{EntityKind, NewEntity};
    let dir = tempfile::tempdir().unwrap();
    let base = whirl_store::sqlite::open(&dir.path().join("whirl.db")).unwrap();
    let stores = whirl_store::Stores {
        entities: Arc::new(CachedEntityStore::new(base.entities.clone())),
        activations: base.activations.clone(),
        auth: base.auth.clone(),
    };
    whirl_store::behaviour::run_all(&stores).await;
    // Read-after-write through the cache, many rounds, readers racing the writer.
    let e = &stores.entities;
    let id = "ns/cached".to_string();
    let mk = |v: u64| NewEntity {
        id: id.clone(),
        kind: EntityKind::Action,
        path: "ns".into(),
        name: "cached".into(),
        updated: v as i64,
        doc: serde_json::json!({"v": v}),
        code: Some(format!("code {v}")),
    };
    let mut rev = e.put(mk(0), None).await.unwrap();
    for v in 1..50u64 {
        let readers: Vec<_> = (0..4)
            .map(|_| {
                let e = e.clone();
                let id = id.clone();
                tokio::spawn(async move { e.get(&id, true).await.unwrap() })
            })
            .collect();
        rev = e.put(mk(v), Some(rev)).await.unwrap();
        for r in readers {
            r.await.unwrap();
        }
        let got = e.get(&id, true).await.unwrap().unwrap();
        assert_eq!(got.doc["v"], v, "a read after a write sees the write");
        assert_eq!(got.code.as_deref(), Some(format!("code {v}").as_str()));
        let meta = e.get(&id, false).await.unwrap().unwrap();
        assert!(meta.code.is_none());
    }
    e.delete(&id, rev).await.unwrap();
    assert!(e.get(&id, true).await.unwrap().is_none());
}
