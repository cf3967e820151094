//! The behaviour suite every store backend must pass.
//!
//! Each `pub async fn` checks one behaviour of the [`Stores`] it is given and panics (with a message
//! naming the step) on the first deviation; [`run_all`] runs all of them. Every check works in its own
//! freshly named namespaces and ids, so the suite needs no cleanup and can run against a store that
//! already holds data (including a previous run of the suite), and checks can run concurrently.
//!
//! A backend's integration test only has to open a store and call these, e.g.
//! `whirl_store::behaviour::run_all(&stores).await`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::{
    ActivationQuery, ActivationRecord, EntityKind, EntityQuery, NamespaceRecord, NewEntity, Result,
    Scope, StoreError, StoredEntity, Stores,
};

/// Run every behaviour check, one after the other.
pub async fn run_all(stores: &Stores) {
    entity_crud(stores).await;
    entity_revisions(stores).await;
    entity_concurrent_update(stores).await;
    entity_already_exists_across_kinds(stores).await;
    entity_list_and_count(stores).await;
    content_round_trips(stores).await;
    activation_put_get(stores).await;
    activation_list_filters(stores).await;
    activation_pending(stores).await;
    activation_pending_per_owner(stores).await;
    activation_put_if_absent(stores).await;
    activation_enqueue_read_your_writes(stores).await;
    activation_concurrent_puts(stores, 200).await;
    auth_namespaces(stores).await;
}

// ---------------------------------------------------------------------------------------------
// helpers

/// A name no other run of the suite uses (time, process id and a counter).
pub fn unique(tag: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{tag}_{:x}_{}_{n}", nanos, std::process::id())
}

/// A unique 32-hex-char activation id.
pub fn unique_activation_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mixed = (nanos as u64) ^ (u64::from(std::process::id()) << 40);
    format!("{mixed:016x}{n:016x}")
}

#[track_caller]
fn ok<T>(result: Result<T>, what: &str) -> T {
    match result {
        Ok(v) => v,
        Err(e) => panic!("{what}: unexpected error: {e}"),
    }
}

#[track_caller]
fn expect_err<T: std::fmt::Debug>(result: Result<T>, what: &str, want: &str) {
    let matches = match &result {
        Err(StoreError::NotFound) => want == "NotFound",
        Err(StoreError::AlreadyExists) => want == "AlreadyExists",
        Err(StoreError::Conflict) => want == "Conflict",
        _ => false,
    };
    assert!(matches, "{what}: expected {want}, got {result:?}");
}

fn entity(kind: EntityKind, path: &str, name: &str, updated: i64) -> NewEntity {
    NewEntity {
        id: format!("{path}/{name}"),
        kind,
        path: path.to_string(),
        name: name.to_string(),
        updated,
        doc: json!({"namespace": path, "name": name, "version": "0.0.1", "updated": updated}),
        code: None,
    }
}

fn activation(namespace: &str, entity_path: &str, start: i64) -> ActivationRecord {
    let id = unique_activation_id();
    ActivationRecord {
        doc: shared(
            json!({"activationId": id, "namespace": namespace, "start": start,
                    "response": {"statusCode": 0, "result": {"ok": true}}}),
        ),
        activation_id: id,
        namespace: namespace.to_string(),
        entity_path: entity_path.to_string(),
        start,
        end: start + 5,
    }
}

/// An activation document as the store takes it.
#[allow(clippy::expect_used)] // test helper: a `Value` always serialises
pub fn shared(doc: serde_json::Value) -> crate::SharedJson {
    crate::SharedJson::to_shared(&doc).expect("a JSON value serialises")
}

fn ids(entities: &[StoredEntity]) -> Vec<&str> {
    entities.iter().map(|e| e.id.as_str()).collect()
}

fn activation_ids(records: &[ActivationRecord]) -> Vec<&str> {
    records.iter().map(|r| r.activation_id.as_str()).collect()
}

// ---------------------------------------------------------------------------------------------
// entities

/// Create, get (with and without code), update, delete.
pub async fn entity_crud(stores: &Stores) {
    let s = &stores.entities;
    let ns = unique("crud");
    let mut e = entity(EntityKind::Action, &ns, "hello", 1_000);
    e.code = Some("function main() { return {}; }".into());
    let id = e.id.clone();

    assert_eq!(ok(s.get(&id, true).await, "get missing"), None);
    assert_eq!(ok(s.put(e.clone(), None).await, "create"), 1);

    let got = ok(s.get(&id, true).await, "get with code").expect_some("created entity");
    assert_eq!(got.id, id);
    assert_eq!(got.kind, EntityKind::Action);
    assert_eq!(got.path, ns);
    assert_eq!(got.name, "hello");
    assert_eq!(got.rev, 1);
    assert_eq!(got.updated, 1_000);
    assert_eq!(got.doc, e.doc);
    assert_eq!(got.code, e.code);

    let without = ok(s.get(&id, false).await, "get without code").expect_some("created entity");
    assert_eq!(
        without.code, None,
        "code must only be loaded when asked for"
    );
    assert_eq!(without.doc, e.doc);

    // Update with the right revision.
    let mut e2 = e.clone();
    e2.updated = 2_000;
    e2.doc = json!({"name": "hello", "version": "0.0.2"});
    e2.code = Some("new code".into());
    assert_eq!(ok(s.put(e2.clone(), Some(1)).await, "update"), 2);
    let got = ok(s.get(&id, true).await, "get updated").expect_some("updated entity");
    assert_eq!(got.rev, 2);
    assert_eq!(got.updated, 2_000);
    assert_eq!(got.doc, e2.doc);
    assert_eq!(got.code.as_deref(), Some("new code"));

    // An update may drop the attachment.
    let mut e3 = e2.clone();
    e3.code = None;
    assert_eq!(ok(s.put(e3, Some(2)).await, "update without code"), 3);
    let got = ok(s.get(&id, true).await, "get").expect_some("entity");
    assert_eq!(got.code, None);

    // A large attachment round-trips.
    let mut big = entity(EntityKind::Action, &ns, "big", 1_000);
    let code: String = "x".repeat(4 * 1024 * 1024);
    big.code = Some(code.clone());
    assert_eq!(ok(s.put(big.clone(), None).await, "create big"), 1);
    let got = ok(s.get(&big.id, true).await, "get big").expect_some("big entity");
    assert_eq!(got.code.as_deref().map(str::len), Some(code.len()));
    assert!(got.code == Some(code), "big code differs");

    // Delete.
    expect_err(s.delete(&id, 1).await, "delete at stale rev", "Conflict");
    ok(s.delete(&id, 3).await, "delete");
    assert_eq!(ok(s.get(&id, false).await, "get deleted"), None);
    expect_err(s.delete(&id, 3).await, "delete again", "NotFound");

    // The id is free again: a create starts at revision 1.
    assert_eq!(ok(s.put(e, None).await, "re-create"), 1);
}

/// Revision checks: stale or missing revisions conflict, duplicates do not get created.
pub async fn entity_revisions(stores: &Stores) {
    let s = &stores.entities;
    let ns = unique("rev");
    let e = entity(EntityKind::Trigger, &ns, "t", 10);

    expect_err(
        s.put(e.clone(), Some(1)).await,
        "update of missing entity",
        "Conflict",
    );
    assert_eq!(ok(s.put(e.clone(), None).await, "create"), 1);
    expect_err(
        s.put(e.clone(), None).await,
        "create twice",
        "AlreadyExists",
    );
    expect_err(
        s.put(e.clone(), Some(0)).await,
        "update at rev 0",
        "Conflict",
    );
    expect_err(
        s.put(e.clone(), Some(2)).await,
        "update at future rev",
        "Conflict",
    );
    assert_eq!(ok(s.put(e.clone(), Some(1)).await, "update at rev 1"), 2);
    expect_err(
        s.put(e.clone(), Some(1)).await,
        "update at stale rev 1",
        "Conflict",
    );
    assert_eq!(ok(s.put(e.clone(), Some(2)).await, "update at rev 2"), 3);
    let got = ok(s.get(&e.id, false).await, "get").expect_some("entity");
    assert_eq!(got.rev, 3);

    // Failed writes change nothing.
    let mut other = e.clone();
    other.doc = json!({"changed": true});
    expect_err(s.put(other, Some(1)).await, "stale update", "Conflict");
    let after = ok(s.get(&e.id, false).await, "get").expect_some("entity");
    assert_eq!(after, got);
}

/// Two concurrent updates at the same revision: exactly one wins, the other gets `Conflict`.
pub async fn entity_concurrent_update(stores: &Stores) {
    let s = &stores.entities;
    let ns = unique("race");
    for round in 0..10 {
        let mut e = entity(EntityKind::Package, &ns, &format!("p{round}"), 10);
        assert_eq!(ok(s.put(e.clone(), None).await, "create"), 1);
        e.doc = json!({"writer": "a"});
        let mut f = e.clone();
        f.doc = json!({"writer": "b"});
        let (sa, sb) = (s.clone(), s.clone());
        let a = tokio::spawn(async move { sa.put(e, Some(1)).await });
        let b = tokio::spawn(async move { sb.put(f, Some(1)).await });
        let (ra, rb) = (a.await, b.await);
        let (ra, rb) = match (ra, rb) {
            (Ok(ra), Ok(rb)) => (ra, rb),
            other => panic!("concurrent update task failed: {other:?}"),
        };
        let (winner, loser) = match (&ra, &rb) {
            (Ok(_), _) => (ra, rb),
            _ => (rb, ra),
        };
        assert_eq!(ok(winner, "winning update"), 2);
        expect_err(loser, "losing concurrent update", "Conflict");
    }
}

/// An id is unique across kinds: creating a trigger where an action exists is `AlreadyExists`,
/// and an update through the wrong kind does not touch the other entity.
pub async fn entity_already_exists_across_kinds(stores: &Stores) {
    let s = &stores.entities;
    let ns = unique("kinds");
    let action = entity(EntityKind::Action, &ns, "thing", 10);
    assert_eq!(ok(s.put(action.clone(), None).await, "create action"), 1);
    for kind in [EntityKind::Trigger, EntityKind::Rule, EntityKind::Package] {
        let other = entity(kind, &ns, "thing", 20);
        expect_err(
            s.put(other.clone(), None).await,
            "create same id as other kind",
            "AlreadyExists",
        );
        expect_err(
            s.put(other, Some(1)).await,
            "update through other kind",
            "Conflict",
        );
    }
    let got = ok(s.get(&action.id, false).await, "get").expect_some("action");
    assert_eq!(got.kind, EntityKind::Action);
    assert_eq!(got.rev, 1);
    assert_eq!(got.doc, action.doc);
}

/// List order (`updated` desc, then id), skip/limit, path vs namespace scope, kinds, count.
pub async fn entity_list_and_count(stores: &Stores) {
    let s = &stores.entities;
    let ns = unique("list");
    let other_ns = unique("list_other");
    let pkg = format!("{ns}/pkg");

    // Namespace-level actions; b and c share `updated` so the id breaks the tie.
    for (name, updated) in [("a", 100), ("c", 300), ("b", 300), ("d", 200)] {
        ok(
            s.put(entity(EntityKind::Action, &ns, name, updated), None)
                .await,
            "create",
        );
    }
    // Package actions, a package, a trigger, and another namespace's action.
    for (name, updated) in [("x", 250), ("y", 50)] {
        ok(
            s.put(entity(EntityKind::Action, &pkg, name, updated), None)
                .await,
            "create",
        );
    }
    ok(
        s.put(entity(EntityKind::Package, &ns, "pkg", 999), None)
            .await,
        "create package",
    );
    ok(
        s.put(entity(EntityKind::Trigger, &ns, "t", 999), None)
            .await,
        "create trigger",
    );
    ok(
        s.put(entity(EntityKind::Action, &other_ns, "a", 999), None)
            .await,
        "create other",
    );

    let list = |scope: Scope, skip: u64, limit: Option<u64>| EntityQuery {
        kind: EntityKind::Action,
        scope,
        skip,
        limit,
    };
    let path = || Scope::Path(ns.clone());
    let whole = || Scope::Namespace(ns.clone());

    let all = ok(s.list(&list(path(), 0, None)).await, "list path");
    let want = [
        format!("{ns}/b"),
        format!("{ns}/c"),
        format!("{ns}/d"),
        format!("{ns}/a"),
    ];
    assert_eq!(
        ids(&all),
        want.iter().map(String::as_str).collect::<Vec<_>>()
    );
    assert!(all.iter().all(|e| e.code.is_none() && e.rev == 1));
    assert!(all
        .iter()
        .all(|e| e.kind == EntityKind::Action && e.path == ns));

    let page = ok(
        s.list(&list(path(), 1, Some(2))).await,
        "list skip 1 limit 2",
    );
    assert_eq!(ids(&page), vec![want[1].as_str(), want[2].as_str()]);
    let tail = ok(s.list(&list(path(), 3, Some(10))).await, "list tail");
    assert_eq!(ids(&tail), vec![want[3].as_str()]);
    let none = ok(s.list(&list(path(), 10, None)).await, "list past end");
    assert!(none.is_empty());
    let zero = ok(s.list(&list(path(), 0, Some(0))).await, "list limit 0");
    assert!(zero.is_empty());

    let in_pkg = ok(
        s.list(&list(Scope::Path(pkg.clone()), 0, None)).await,
        "list package",
    );
    assert_eq!(ids(&in_pkg), vec![format!("{pkg}/x"), format!("{pkg}/y")]);

    let everything = ok(s.list(&list(whole(), 0, None)).await, "list namespace");
    let want_all = [
        format!("{ns}/b"),
        format!("{ns}/c"),
        format!("{pkg}/x"),
        format!("{ns}/d"),
        format!("{ns}/a"),
        format!("{pkg}/y"),
    ];
    assert_eq!(
        ids(&everything),
        want_all.iter().map(String::as_str).collect::<Vec<_>>()
    );
    let page = ok(
        s.list(&list(whole(), 2, Some(2))).await,
        "list namespace page",
    );
    assert_eq!(ids(&page), vec![want_all[2].as_str(), want_all[3].as_str()]);

    // The namespace scope matches the first path segment exactly, not a prefix of it.
    let prefix = ok(
        s.list(&list(Scope::Namespace("list".into()), 0, None))
            .await,
        "prefix",
    );
    assert!(prefix.iter().all(|e| !e.id.starts_with(&ns)));

    let pkgs = EntityQuery {
        kind: EntityKind::Package,
        scope: path(),
        skip: 0,
        limit: None,
    };
    assert_eq!(
        ids(&ok(s.list(&pkgs).await, "list packages")),
        vec![format!("{ns}/pkg")]
    );

    assert_eq!(
        ok(s.count(EntityKind::Action, &path()).await, "count path"),
        4
    );
    assert_eq!(
        ok(
            s.count(EntityKind::Action, &whole()).await,
            "count namespace"
        ),
        6
    );
    assert_eq!(
        ok(
            s.count(EntityKind::Action, &Scope::Path(pkg)).await,
            "count package"
        ),
        2
    );
    assert_eq!(
        ok(
            s.count(EntityKind::Trigger, &whole()).await,
            "count triggers"
        ),
        1
    );
    assert_eq!(
        ok(s.count(EntityKind::Rule, &whole()).await, "count rules"),
        0
    );

    // Updates move an entity to the front.
    let a = ok(s.get(&format!("{ns}/a"), false).await, "get").expect_some("a");
    let mut newer = entity(EntityKind::Action, &ns, "a", 1_000);
    newer.doc = a.doc;
    ok(s.put(newer, Some(a.rev)).await, "update a");
    let first = ok(s.list(&list(path(), 0, Some(1))).await, "list first");
    assert_eq!(ids(&first), vec![format!("{ns}/a")]);
}

/// Documents, code attachments and limits of any content come back exactly as written: NUL
/// characters (raw in code, escaped in JSON), non-ASCII text, quotes, extreme numbers; an
/// activation document keeps its exact text (spacing, key order).
pub async fn content_round_trips(stores: &Stores) {
    let s = &stores.entities;
    let ns = unique("content");
    let mut e = entity(EntityKind::Action, &ns, "odd", 1);
    e.doc = json!({
        "nul": "a\u{0}b",
        "text": "žluťoučký kůň \u{1F980} \u{7f}",
        "quotes": "\"'\\ \n\t",
        "big": u64::MAX,
        "small": i64::MIN,
        "float": 1.5e300,
        "nested": {"empty": {}, "list": [null, true, 0.25, []]}
    });
    e.code = Some("line 1\n\u{0}raw NUL, \u{1} control, \u{1F980} and \u{10FFFF}".into());
    assert_eq!(ok(s.put(e.clone(), None).await, "create odd"), 1);
    let got = ok(s.get(&e.id, true).await, "get odd").expect_some("odd entity");
    assert_eq!(got.doc, e.doc, "document round-trips");
    assert_eq!(got.code, e.code, "code round-trips");
    let listed = ok(
        s.list(&EntityQuery {
            kind: EntityKind::Action,
            scope: Scope::Path(ns.clone()),
            skip: 0,
            limit: None,
        })
        .await,
        "list odd",
    );
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].doc, e.doc);

    let mut rec = activation(&ns, &format!("{ns}/odd"), 1);
    let text = format!(
        r#"{{ "z" : 1,"a":[ 1, 2 ],  "nul":"\u0000", "id":"{}", "emoji":"{}" }}"#,
        rec.activation_id, '\u{1F980}'
    );
    rec.doc = match crate::SharedJson::from_text(text.clone()) {
        Ok(doc) => doc,
        Err(e) => panic!("test document is not JSON: {e}"),
    };
    ok(
        stores.activations.put(rec.clone()).await,
        "put odd activation",
    );
    let got = ok(
        stores.activations.get(&ns, &rec.activation_id).await,
        "get odd activation",
    )
    .expect_some("odd activation");
    assert_eq!(
        got.doc.as_str(),
        text,
        "activation document text is kept as written"
    );

    let auth = NamespaceRecord {
        subject: format!("{ns}-subject"),
        namespace: ns.clone(),
        uuid: unique("uuid"),
        key_hash: "ef".repeat(32),
        limits: json!({"note": "\u{0}\u{1F980}", "invocationsPerMinute": u64::MAX}),
    };
    ok(
        stores.auth.create_namespace(auth.clone()).await,
        "create odd namespace",
    );
    assert_eq!(
        ok(stores.auth.namespace(&ns).await, "get odd namespace"),
        Some(auth)
    );
}

// ---------------------------------------------------------------------------------------------
// activations

/// Put, get (scoped by namespace), replace.
pub async fn activation_put_get(stores: &Stores) {
    let s = &stores.activations;
    let ns = unique("act");
    let rec = activation(&ns, &format!("{ns}/hello"), 1_000);

    assert_eq!(
        ok(s.get(&ns, &rec.activation_id).await, "get missing"),
        None
    );
    ok(s.put(rec.clone()).await, "put");
    let got = ok(s.get(&ns, &rec.activation_id).await, "get").expect_some("record");
    assert_eq!(got, rec);
    assert_eq!(
        ok(
            s.get("some-other-namespace", &rec.activation_id).await,
            "get other ns"
        ),
        None,
        "a record is only visible in its own namespace"
    );

    // Put replaces.
    let mut again = rec.clone();
    again.doc = shared(json!({"replaced": true}));
    again.end = 0;
    ok(s.put(again.clone()).await, "put again");
    let got = ok(s.get(&ns, &rec.activation_id).await, "get").expect_some("record");
    assert_eq!(got, again);
    let q = ActivationQuery {
        namespace: ns.clone(),
        ..Default::default()
    };
    assert_eq!(ok(s.count(&q).await, "count"), 1);
}

/// List and count with every filter: entity path, since, upto (inclusive), skip, limit.
pub async fn activation_list_filters(stores: &Stores) {
    let s = &stores.activations;
    let ns = unique("actlist");
    let other = unique("actlist_other");
    let hello = format!("{ns}/hello");
    let bye = format!("{ns}/pkg/bye");

    let mut all = Vec::new();
    for i in 0..10i64 {
        let path = if i % 2 == 0 { &hello } else { &bye };
        all.push(activation(&ns, path, 1_000 + i * 100));
    }
    // Same start as the first record: ordered by id among equal starts.
    let mut twin = activation(&ns, &hello, 1_000);
    twin.doc = shared(json!({"twin": true}));
    all.push(twin);
    for r in &all {
        ok(s.put(r.clone()).await, "put");
    }
    ok(
        s.put(activation(&other, &format!("{other}/hello"), 1_500))
            .await,
        "put other",
    );

    // Expected order: start desc, then id asc.
    let mut sorted = all.clone();
    sorted.sort_by(|a, b| {
        b.start
            .cmp(&a.start)
            .then_with(|| a.activation_id.cmp(&b.activation_id))
    });
    let sorted_ids: Vec<&str> = activation_ids(&sorted);

    let q = |entity_path: Option<&str>, since, upto, skip, limit| ActivationQuery {
        namespace: ns.clone(),
        entity_path: entity_path.map(str::to_string),
        since,
        upto,
        skip,
        limit,
    };
    let expect = |filter: &dyn Fn(&ActivationRecord) -> bool, skip: usize, limit: Option<usize>| {
        sorted
            .iter()
            .filter(|r| filter(r))
            .skip(skip)
            .take(limit.unwrap_or(usize::MAX))
            .map(|r| r.activation_id.clone())
            .collect::<Vec<_>>()
    };

    let listed = ok(s.list(&q(None, None, None, 0, None)).await, "list all");
    assert_eq!(activation_ids(&listed), sorted_ids);
    assert_eq!(listed, sorted, "listed records carry their documents");
    assert_eq!(
        ok(s.count(&q(None, None, None, 0, None)).await, "count all"),
        11
    );

    let cases: Vec<(ActivationQuery, Vec<String>, u64)> = vec![
        (
            q(None, None, None, 2, Some(3)),
            expect(&|_| true, 2, Some(3)),
            11,
        ),
        (q(None, None, None, 0, Some(0)), vec![], 11),
        (q(None, None, None, 20, None), vec![], 11),
        (
            q(Some(&hello), None, None, 0, None),
            expect(&|r| r.entity_path == hello, 0, None),
            6,
        ),
        (
            q(Some(&bye), None, None, 1, Some(2)),
            expect(&|r| r.entity_path == bye, 1, Some(2)),
            5,
        ),
        (
            q(None, Some(1_300), None, 0, None),
            expect(&|r| r.start >= 1_300, 0, None),
            7,
        ),
        (
            q(None, None, Some(1_300), 0, None),
            expect(&|r| r.start <= 1_300, 0, None),
            5,
        ),
        (
            q(None, Some(1_200), Some(1_500), 1, Some(2)),
            expect(&|r| (1_200..=1_500).contains(&r.start), 1, Some(2)),
            4,
        ),
        (
            q(Some(&hello), Some(1_000), Some(1_400), 0, None),
            expect(
                &|r| r.entity_path == hello && (1_000..=1_400).contains(&r.start),
                0,
                None,
            ),
            4,
        ),
        (q(Some("nope/x"), None, None, 0, None), vec![], 0),
        (q(None, Some(5_000), None, 0, None), vec![], 0),
    ];
    for (query, want, count) in cases {
        let got = ok(s.list(&query).await, "list");
        assert_eq!(activation_ids(&got), want, "list {query:?}");
        assert_eq!(ok(s.count(&query).await, "count"), count, "count {query:?}");
    }

    let other_q = ActivationQuery {
        namespace: other,
        ..Default::default()
    };
    assert_eq!(ok(s.count(&other_q).await, "count other"), 1);
}

/// Pending entries: listed until the record is put, then gone.
pub async fn activation_pending(stores: &Stores) {
    let s = &stores.activations;
    let ns = unique("pending");
    let a = activation(&ns, &format!("{ns}/a"), 10);
    let b = activation(&ns, &format!("{ns}/b"), 20);
    ok(s.put_pending(a.clone(), OWNER).await, "put pending a");
    ok(s.put_pending(b.clone(), OWNER).await, "put pending b");

    let pending_ids = |list: Vec<ActivationRecord>| -> Vec<ActivationRecord> {
        list.into_iter().filter(|r| r.namespace == ns).collect()
    };
    let pending = pending_ids(ok(s.pending(OWNER).await, "pending"));
    assert_eq!(pending.len(), 2);
    assert!(pending.contains(&a) && pending.contains(&b));
    // Pending entries are not records.
    assert_eq!(ok(s.get(&ns, &a.activation_id).await, "get pending"), None);

    let mut done = a.clone();
    done.doc = shared(json!({"done": true}));
    ok(s.put(done.clone()).await, "complete a");
    let pending = pending_ids(ok(s.pending(OWNER).await, "pending"));
    assert_eq!(pending, vec![b.clone()]);
    assert_eq!(
        ok(s.get(&ns, &a.activation_id).await, "get a"),
        Some(done.clone())
    );

    // A late put_pending for a completed activation does not resurrect it.
    ok(s.put_pending(a.clone(), OWNER).await, "late put pending a");
    let pending = pending_ids(ok(s.pending(OWNER).await, "pending"));
    assert_eq!(pending, vec![b.clone()]);

    ok(s.put(b.clone()).await, "complete b");
    assert!(pending_ids(ok(s.pending(OWNER).await, "pending")).is_empty());
}

const OWNER: &str = "invoker0";

/// `put_if_absent` writes a record where there is none or only a pending marker, and never
/// replaces a record.
pub async fn activation_put_if_absent(stores: &Stores) {
    let s = &stores.activations;
    let ns = unique("absent");
    let a = activation(&ns, &format!("{ns}/a"), 10);
    assert!(ok(s.put_if_absent(a.clone()).await, "put a if absent"));
    assert_eq!(
        ok(s.get(&ns, &a.activation_id).await, "get a"),
        Some(a.clone())
    );
    let mut other = a.clone();
    other.doc = shared(json!({"other": true}));
    assert!(!ok(s.put_if_absent(other).await, "a again"));
    assert_eq!(
        ok(s.get(&ns, &a.activation_id).await, "get a"),
        Some(a.clone())
    );
    // A pending marker gives way, and is no longer pending.
    let b = activation(&ns, &format!("{ns}/b"), 20);
    ok(s.put_pending(b.clone(), OWNER).await, "put pending b");
    let mut lost = b.clone();
    lost.doc = shared(json!({"lost": true}));
    assert!(ok(s.put_if_absent(lost.clone()).await, "lost b"));
    assert_eq!(ok(s.get(&ns, &b.activation_id).await, "get b"), Some(lost));
    assert!(ok(s.pending(OWNER).await, "pending")
        .iter()
        .all(|r| r.activation_id != b.activation_id));
}

/// A record being enqueued is seen by every read issued after `enqueue` returned, before its
/// future is awaited; the future then reports success.
pub async fn activation_enqueue_read_your_writes(stores: &Stores) {
    let s = &stores.activations;
    let ns = unique("enqueued");
    let recs: Vec<ActivationRecord> = (0..20)
        .map(|i| activation(&ns, &format!("{ns}/a"), 100 + i))
        .collect();
    let mut pending = Vec::new();
    for r in &recs {
        pending.push(s.enqueue(r.clone()));
        // Read at once, without awaiting the write.
        assert_eq!(
            ok(s.get(&ns, &r.activation_id).await, "get enqueued"),
            Some(r.clone())
        );
    }
    let q = ActivationQuery {
        namespace: ns.clone(),
        ..Default::default()
    };
    assert_eq!(ok(s.count(&q).await, "count enqueued"), 20);
    for p in pending {
        ok(p.await, "enqueued write");
    }
}

/// Pending entries belong to their owner: one instance's recovery never sees another's.
pub async fn activation_pending_per_owner(stores: &Stores) {
    let s = &stores.activations;
    let ns = unique("owners");
    let mine = activation(&ns, &format!("{ns}/a"), 10);
    let theirs = activation(&ns, &format!("{ns}/b"), 20);
    ok(
        s.put_pending(mine.clone(), "invoker1").await,
        "put pending mine",
    );
    ok(
        s.put_pending(theirs.clone(), "invoker2").await,
        "put pending theirs",
    );
    let of = |list: Vec<ActivationRecord>| -> Vec<ActivationRecord> {
        list.into_iter().filter(|r| r.namespace == ns).collect()
    };
    assert_eq!(
        of(ok(s.pending("invoker1").await, "pending 1")),
        vec![mine.clone()]
    );
    assert_eq!(
        of(ok(s.pending("invoker2").await, "pending 2")),
        vec![theirs.clone()]
    );
    assert!(of(ok(s.pending("invoker3").await, "pending 3")).is_empty());
    ok(s.put(mine.clone()).await, "complete mine");
    assert!(of(ok(s.pending("invoker1").await, "pending 1")).is_empty());
    assert_eq!(
        of(ok(s.pending("invoker2").await, "pending 2")),
        vec![theirs]
    );
}

/// `n` concurrent activation puts all succeed and are all stored.
pub async fn activation_concurrent_puts(stores: &Stores, n: usize) {
    let ns = unique("concurrent");
    let mut tasks = tokio::task::JoinSet::new();
    let mut expected = Vec::with_capacity(n);
    for i in 0..n {
        let rec = activation(&ns, &format!("{ns}/a{}", i % 7), 1_000 + i as i64);
        expected.push(rec.clone());
        let s = stores.activations.clone();
        tasks.spawn(async move { s.put(rec).await });
    }
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(result) => ok(result, "concurrent put"),
            Err(e) => panic!("concurrent put task failed: {e}"),
        }
    }
    let q = ActivationQuery {
        namespace: ns.clone(),
        ..Default::default()
    };
    assert_eq!(ok(stores.activations.count(&q).await, "count"), n as u64);
    for rec in expected.iter().step_by(17) {
        let got = ok(stores.activations.get(&ns, &rec.activation_id).await, "get");
        assert_eq!(got.as_ref(), Some(rec));
    }
}

// ---------------------------------------------------------------------------------------------
// auth

/// Create, lookup by namespace and uuid, duplicates, limits, list, delete.
pub async fn auth_namespaces(stores: &Stores) {
    let s = &stores.auth;
    let ns = unique("auth");
    let rec = NamespaceRecord {
        subject: format!("{ns}-subject"),
        namespace: ns.clone(),
        uuid: unique("uuid"),
        key_hash: "ab".repeat(32),
        limits: json!({}),
    };

    assert_eq!(ok(s.namespace(&ns).await, "get missing"), None);
    assert_eq!(
        ok(s.namespace_by_uuid(&rec.uuid).await, "by uuid missing"),
        None
    );
    ok(s.create_namespace(rec.clone()).await, "create");
    assert_eq!(ok(s.namespace(&ns).await, "get"), Some(rec.clone()));
    assert_eq!(
        ok(s.namespace_by_uuid(&rec.uuid).await, "by uuid"),
        Some(rec.clone())
    );

    // Same namespace, different uuid; and different namespace, same uuid.
    let mut dup_ns = rec.clone();
    dup_ns.uuid = unique("uuid");
    expect_err(
        s.create_namespace(dup_ns.clone()).await,
        "duplicate namespace",
        "AlreadyExists",
    );
    assert_eq!(ok(s.namespace_by_uuid(&dup_ns.uuid).await, "by uuid"), None);
    let mut dup_uuid = rec.clone();
    dup_uuid.namespace = unique("auth2");
    expect_err(
        s.create_namespace(dup_uuid.clone()).await,
        "duplicate uuid",
        "AlreadyExists",
    );
    assert_eq!(ok(s.namespace(&dup_uuid.namespace).await, "get"), None);

    // A second namespace.
    let second = NamespaceRecord {
        subject: rec.subject.clone(),
        namespace: unique("auth3"),
        uuid: unique("uuid"),
        key_hash: "cd".repeat(32),
        limits: json!({"invocationsPerMinute": 10}),
    };
    ok(s.create_namespace(second.clone()).await, "create second");

    // Limits.
    let limits: Value = json!({"invocationsPerMinute": 120, "concurrentInvocations": 5});
    ok(s.set_limits(&ns, limits.clone()).await, "set limits");
    let got = ok(s.namespace(&ns).await, "get").expect_some("namespace");
    assert_eq!(got.limits, limits);
    assert_eq!(got.uuid, rec.uuid);
    expect_err(
        s.set_limits(&unique("absent"), json!({})).await,
        "set limits missing",
        "NotFound",
    );

    let listed = ok(s.list_namespaces().await, "list");
    assert!(listed
        .iter()
        .any(|r| r.namespace == ns && r.limits == limits));
    assert!(listed.contains(&second));

    // Delete.
    ok(s.delete_namespace(&ns).await, "delete");
    assert_eq!(ok(s.namespace(&ns).await, "get deleted"), None);
    assert_eq!(
        ok(s.namespace_by_uuid(&rec.uuid).await, "by uuid deleted"),
        None
    );
    expect_err(s.delete_namespace(&ns).await, "delete again", "NotFound");
    assert!(!ok(s.list_namespaces().await, "list")
        .iter()
        .any(|r| r.namespace == ns));
    // Both the namespace and the uuid are free again.
    ok(s.create_namespace(rec.clone()).await, "re-create");
    assert_eq!(
        ok(s.namespace_by_uuid(&rec.uuid).await, "by uuid"),
        Some(rec)
    );
}

/// `Option::expect` without the lint: panics naming what was missing.
trait ExpectSome<T> {
    fn expect_some(self, what: &str) -> T;
}

impl<T> ExpectSome<T> for Option<T> {
    #[track_caller]
    fn expect_some(self, what: &str) -> T {
        match self {
            Some(v) => v,
            None => panic!("{what}: missing"),
        }
    }
}
