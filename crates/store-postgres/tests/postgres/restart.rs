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
