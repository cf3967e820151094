//! PostgreSQL-specific checks of the store's semantics, beyond the shared suite.

use serde_json::json;
use whirl_store::behaviour::{self, unique, unique_activation_id};
use whirl_store::{
    ActivationQuery, ActivationRecord, EntityKind, EntityQuery, NewEntity, Scope, StoreError,
};

use crate::{fresh, fresh_url};

fn record(ns: &str, id: String, start: i64) -> ActivationRecord {
    ActivationRecord {
        doc: behaviour::shared(json!({"activationId": id, "start": start})),
        activation_id: id,
        namespace: ns.to_string(),
        entity_path: format!("{ns}/a"),
        start,
        end: start + 1,
    }
}

/// A pending marker racing the record's put never resurrects the marker nor hides the record,
/// whichever statement reaches the server first.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pending_marker_racing_its_record_never_wins() {
    let (_url, stores) = fresh().await;
    let ns = unique("race");
    let owner = unique("invoker");
    let mut ids = Vec::new();
    for round in 0..200 {
        let r = record(&ns, unique_activation_id(), round);
        ids.push(r.activation_id.clone());
        let (a, b) = (stores.activations.clone(), stores.activations.clone());
        let (marker, done) = (r.clone(), r.clone());
        let owner2 = owner.clone();
        let m = tokio::spawn(async move { a.put_pending(marker, &owner2).await });
        let p = tokio::spawn(async move { b.put(done).await });
        m.await.unwrap().unwrap();
        p.await.unwrap().unwrap();
    }
    assert!(
        stores.activations.pending(&owner).await.unwrap().is_empty(),
        "a marker survived its record"
    );
    let q = ActivationQuery {
        namespace: ns.clone(),
        ..Default::default()
    };
    assert_eq!(stores.activations.count(&q).await.unwrap(), 200);
    for id in ids.iter().step_by(23) {
        assert!(stores.activations.get(&ns, id).await.unwrap().is_some());
    }
}

/// Markers are not records: they are in no list, count or get, and a marker can move to another
/// owner until its record is put.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn markers_stay_out_of_record_queries() {
    let (_url, stores) = fresh().await;
    let ns = unique("markers");
    let r = record(&ns, unique_activation_id(), 5);
    let s = &stores.activations;
    s.put_pending(r.clone(), "invoker7").await.unwrap();
    s.put_pending(r.clone(), "invoker8").await.unwrap();
    assert!(s.pending("invoker7").await.unwrap().is_empty());
    assert_eq!(s.pending("invoker8").await.unwrap(), vec![r.clone()]);
    let q = ActivationQuery {
        namespace: ns.clone(),
        entity_path: Some(r.entity_path.clone()),
        ..Default::default()
    };
    assert_eq!(s.count(&q).await.unwrap(), 0);
    assert!(s.list(&q).await.unwrap().is_empty());
    assert_eq!(s.get(&ns, &r.activation_id).await.unwrap(), None);
    s.put(r.clone()).await.unwrap();
    assert_eq!(s.list(&q).await.unwrap(), vec![r]);
    assert!(s.pending("invoker8").await.unwrap().is_empty());
}

/// Two processes' pools on one database: writes are seen across them at once and a
/// compare-and-set race between them has exactly one winner.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_pools_share_revisions() {
    let url = fresh_url().await;
    let a = whirl_store_postgres::connect(&url).await.unwrap();
    let b = whirl_store_postgres::connect(&url).await.unwrap();
    let ns = unique("pools");
    for round in 0..20 {
        let e = NewEntity {
            id: format!("{ns}/e{round}"),
            kind: EntityKind::Rule,
            path: ns.clone(),
            name: format!("e{round}"),
            updated: round,
            doc: json!({"round": round}),
            code: None,
        };
        a.entities.put(e.clone(), None).await.unwrap();
        assert_eq!(b.entities.get(&e.id, false).await.unwrap().unwrap().rev, 1);
        let (ea, eb) = (a.entities.clone(), b.entities.clone());
        let (xa, xb) = (e.clone(), e.clone());
        let ra = tokio::spawn(async move { ea.put(xa, Some(1)).await });
        let rb = tokio::spawn(async move { eb.put(xb, Some(1)).await });
        let mut results = [ra.await.unwrap(), rb.await.unwrap()];
        results.sort_by_key(|r| r.is_err());
        assert!(matches!(results[0], Ok(2)), "{results:?}");
        assert!(
            matches!(results[1], Err(StoreError::Conflict)),
            "{results:?}"
        );
        assert!(matches!(
            b.entities.delete(&e.id, 1).await,
            Err(StoreError::Conflict)
        ));
    }
}

/// List order is bytewise (`COLLATE "C"`), as in the SQLite backend, whatever the database's
/// locale: upper case before `_` before lower case.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ties_are_broken_bytewise() {
    let (_url, stores) = fresh().await;
    let ns = unique("collate");
    for name in ["b", "B", "a", "A", "_x", "Z", "a1", "ä"] {
        let e = NewEntity {
            id: format!("{ns}/{name}"),
            kind: EntityKind::Action,
            path: ns.clone(),
            name: name.into(),
            updated: 7,
            doc: json!({}),
            code: None,
        };
        stores.entities.put(e, None).await.unwrap();
    }
    let listed = stores
        .entities
        .list(&EntityQuery {
            kind: EntityKind::Action,
            scope: Scope::Path(ns.clone()),
            skip: 0,
            limit: None,
        })
        .await
        .unwrap();
    let names: Vec<&str> = listed.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["A", "B", "Z", "_x", "a", "a1", "b", "ä"]);
}

/// An enqueued write stands even if its future is dropped unpolled, and a later read sees it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enqueued_write_stands_when_its_future_is_dropped() {
    let (_url, stores) = fresh().await;
    let ns = unique("dropped");
    let recs: Vec<ActivationRecord> = (0..50)
        .map(|i| record(&ns, unique_activation_id(), i))
        .collect();
    for r in &recs {
        drop(stores.activations.enqueue(r.clone()));
    }
    let q = ActivationQuery {
        namespace: ns.clone(),
        ..Default::default()
    };
    assert_eq!(stores.activations.count(&q).await.unwrap(), 50);
    let listed = stores.activations.list(&q).await.unwrap();
    assert_eq!(listed.len(), 50);
    assert_eq!(listed[0], recs[49]);
}
