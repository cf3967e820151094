//! Recovery after the PostgreSQL server restarts: the pool reconnects by itself.

use std::time::Duration;

use serde_json::json;
use whirl_store::behaviour::{self, unique, unique_activation_id};
use whirl_store::{ActivationQuery, ActivationRecord, EntityKind, NewEntity, StoreError};
use whirl_store_postgres::testing::PrivatePostgres;
use whirl_store_postgres::PgOptions;

fn launch() -> PrivatePostgres {
    PrivatePostgres::launch()
        .unwrap_or_else(|e| panic!("this test needs a private PostgreSQL server: {e}"))
}

fn action(ns: &str, name: &str) -> NewEntity {
    NewEntity {
        id: format!("{ns}/{name}"),
        kind: EntityKind::Action,
        path: ns.to_string(),
        name: name.to_string(),
        updated: 1,
        doc: json!({"name": name}),
        code: Some(format!("code of {name}")),
    }
}

#[track_caller]
fn assert_backend<T: std::fmt::Debug>(result: Result<T, StoreError>, url: &str) {
    match result {
        Err(StoreError::Backend(msg)) => {
            assert!(!msg.contains(url), "the URL leaked: {msg}")
        }
        other => panic!("expected a backend error while the server is down, got {other:?}"),
    }
}

/// Stop the server under a working store: operations fail (promptly, as backend errors); start
/// it again on the same port and data directory: the same store works again, data intact,
/// without being reopened. Twice, to show recovery is not a one-off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_recovers_when_the_server_restarts() {
    let mut pg = launch();
    let url = pg.url();
    let options = PgOptions {
        connect_timeout: Duration::from_secs(2),
        ..PgOptions::default()
    };
    let stores = whirl_store_postgres::connect_with(&url, options)
        .await
        .unwrap();
    let ns = unique("restart");
    stores
        .entities
        .put(action(&ns, "before"), None)
        .await
        .unwrap();
    // Open several pooled connections, so there are stale ones to throw away.
    behaviour::activation_concurrent_puts(&stores, 50).await;

    for round in 0..2 {
        tokio::task::block_in_place(|| pg.stop()).unwrap();
        assert!(!pg.is_running());

        assert_backend(
            stores.entities.get(&format!("{ns}/before"), true).await,
            &url,
        );
        assert_backend(
            stores
                .entities
                .put(action(&ns, &format!("down{round}")), None)
                .await,
            &url,
        );
        let record = ActivationRecord {
            activation_id: unique_activation_id(),
            namespace: ns.clone(),
            entity_path: format!("{ns}/before"),
            start: round,
            end: round + 1,
            doc: behaviour::shared(json!({"round": round})),
        };
        // An enqueued write fails, and reads after it do not wait forever.
        let pending = stores.activations.enqueue(record.clone());
        assert_backend(
            stores.activations.get(&ns, &record.activation_id).await,
            &url,
        );
        assert_backend(pending.await, &url);
        assert_backend(stores.auth.list_namespaces().await, &url);

        tokio::task::block_in_place(|| pg.start()).unwrap();
        assert!(pg.is_running());

        // The first operation after the restart succeeds.
        let got = stores
            .entities
            .get(&format!("{ns}/before"), true)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got.code.as_deref(), Some("code of before"));
        let name = format!("after{round}");
        assert_eq!(
            stores.entities.put(action(&ns, &name), None).await.unwrap(),
            1
        );
        stores.activations.put(record.clone()).await.unwrap();
        assert_eq!(
            stores
                .activations
                .get(&ns, &record.activation_id)
                .await
                .unwrap(),
            Some(record)
        );
        // Many connections at once, all fresh.
        behaviour::activation_concurrent_puts(&stores, 50).await;
    }
    let q = ActivationQuery {
        namespace: ns.clone(),
        ..Default::default()
    };
    assert_eq!(stores.activations.count(&q).await.unwrap(), 2);
    assert!(stores
        .entities
        .get(&format!("{ns}/down0"), false)
        .await
        .unwrap()
        .is_none());
}

/// The launcher restarts on the same port and directory, and cleans up after itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_server_restarts_in_place_and_cleans_up() {
    let mut pg = launch();
    let (port, data) = (pg.port(), pg.data_dir().to_path_buf());
    assert!(data.join("PG_VERSION").is_file());
    let url = pg.create_database("restart_db").await.unwrap();
    tokio::task::block_in_place(|| pg.stop()).unwrap();
    tokio::task::block_in_place(|| pg.stop()).unwrap(); // stopping twice is fine
                                                        // Someone else took the port meanwhile: the start fails and says why.
    let squatter = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let err = tokio::task::block_in_place(|| pg.start()).unwrap_err();
    assert!(err.to_string().contains("already in use"), "{err}");
    assert!(!pg.is_running());
    drop(squatter);
    tokio::task::block_in_place(|| pg.start()).unwrap();
    assert_eq!((pg.port(), pg.data_dir()), (port, data.as_path()));
    let stores = whirl_store_postgres::connect(&url).await.unwrap();
    behaviour::auth_namespaces(&stores).await;
    drop(stores);
    let dir = data.parent().unwrap().to_path_buf();
    drop(pg);
    assert!(!dir.exists(), "{} left behind", dir.display());
    // Nothing listens on the port any more.
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

/// What was acknowledged to a writer.
#[derive(Debug, Clone)]
enum Ack {
    Created(String),
    Updated(String, u64),
    Activation(String),
}

/// A server crash (immediate shutdown: no checkpoint, crash recovery on restart) in the middle
/// of concurrent writes loses nothing the store acknowledged: a write is acknowledged only after
/// its commit. (The server here commits synchronously, as a production server does by default.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_a_server_crash() {
    let mut pg = PrivatePostgres::launch_with_settings(&["synchronous_commit = on"])
        .unwrap_or_else(|e| panic!("this test needs a private PostgreSQL server: {e}"));
    let url = pg.url();
    let options = PgOptions {
        connect_timeout: Duration::from_secs(2),
        ..PgOptions::default()
    };
    let stores = whirl_store_postgres::connect_with(&url, options)
        .await
        .unwrap();
    let ns = unique("crash");
    let acks = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Ack>::new()));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = tokio::task::JoinSet::new();
    for t in 0..8u64 {
        let (stores, acks, stop, ns) = (stores.clone(), acks.clone(), stop.clone(), ns.clone());
        writers.spawn(async move {
            let mut i = 0u64;
            // Whether the last attempt failed: its commit may still have happened (the answer
            // was lost in the crash), so a retry may find the write already done.
            let mut retrying = false;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let name = format!("e{t}_{}", i / 3 * 3);
                let ack = match i % 3 {
                    0 => stores
                        .entities
                        .put(action(&ns, &name), None)
                        .await
                        .map(|_| Ack::Created(format!("{ns}/{name}"))),
                    1 => stores
                        .entities
                        .put(action(&ns, &name), Some(1))
                        .await
                        .map(|rev| Ack::Updated(format!("{ns}/{name}"), rev)),
                    _ => {
                        let r = ActivationRecord {
                            activation_id: unique_activation_id(),
                            namespace: ns.clone(),
                            entity_path: format!("{ns}/{name}"),
                            start: i as i64,
                            end: i as i64 + 1,
                            doc: behaviour::shared(json!({"t": t, "i": i})),
                        };
                        let id = r.activation_id.clone();
                        stores
                            .activations
                            .enqueue(r)
                            .await
                            .map(|()| Ack::Activation(id))
                    }
                };
                match ack {
                    Ok(ack) => acks.lock().unwrap().push(ack),
                    // The crash: writes fail until the server is back; retry the same write.
                    Err(StoreError::Backend(_)) => {
                        retrying = true;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    }
                    Err(StoreError::AlreadyExists | StoreError::Conflict) if retrying => {}
                    Err(e) => panic!("unexpected error {e:?}"),
                }
                retrying = false;
                i += 1;
            }
        });
    }
    while acks.lock().unwrap().len() < 1_500 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::task::block_in_place(|| pg.crash()).unwrap();
    let acked_before_restart = acks.lock().unwrap().len();
    tokio::task::block_in_place(|| pg.start()).unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    while let Some(joined) = writers.join_next().await {
        joined.unwrap();
    }
    let acks = acks.lock().unwrap().clone();
    assert!(acks.len() >= acked_before_restart);
    let (mut created, mut updated, mut activations) = (0, 0, 0);
    for ack in &acks {
        match ack {
            Ack::Created(id) => {
                let e = stores.entities.get(id, true).await.unwrap();
                assert!(e.is_some(), "lost acknowledged create {id}");
                created += 1;
            }
            Ack::Updated(id, rev) => {
                let e = stores.entities.get(id, false).await.unwrap();
                assert!(
                    e.is_some_and(|e| e.rev >= *rev),
                    "lost acknowledged update {id} to {rev}"
                );
                updated += 1;
            }
            Ack::Activation(id) => {
                let r = stores.activations.get(&ns, id).await.unwrap();
                assert!(r.is_some(), "lost acknowledged activation {id}");
                activations += 1;
            }
        }
    }
    assert!(created > 0 && updated > 0 && activations > 0);
    // Recovery really ran: the server's log says so.
    assert!(
        pg.log().contains("database system was interrupted"),
        "no crash recovery in the log:\n{}",
        pg.log()
    );
}
