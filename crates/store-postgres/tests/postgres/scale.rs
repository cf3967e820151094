//! Query plans at scale: activation lists and counts stay index scans over a million records,
//! entity lists over tens of thousands of entities; checked with `EXPLAIN` of the exact statements
//! the store runs, for custom plans (a statement's first executions) and generic plans (what
//! PostgreSQL may switch a cached statement to). No timing is asserted.

use serde_json::json;
use whirl_store::{behaviour, ActivationQuery, ActivationRecord, EntityKind, EntityQuery, Scope};
use whirl_store_postgres::testing::{self, PlanMode};

use crate::{client, fresh};

/// Records loaded; `WHIRL_PG_SCALE_ROWS` overrides (e.g. to try larger tables).
const DEFAULT_ROWS: u64 = 1_000_000;
const NAMESPACES: u64 = 20;
const ACTIONS: u64 = 50;

fn rows() -> u64 {
    std::env::var("WHIRL_PG_SCALE_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_ROWS)
}

fn sample(i: u64) -> ActivationRecord {
    let ns = format!("ns{}", i % NAMESPACES);
    let start = 1_000_000 + i as i64;
    ActivationRecord {
        activation_id: format!("{i:032x}"),
        entity_path: format!("{ns}/action{}", (i / NAMESPACES) % ACTIONS),
        namespace: ns,
        start,
        end: start + 3,
        doc: behaviour::shared(json!({"duration": 3, "response": {"statusCode": 0}})),
    }
}

/// Estimated rows of the plan's `Sort` nodes.
fn sorted_rows(plan: &[String]) -> Vec<u64> {
    plan.iter()
        .filter(|line| {
            line.trim_start()
                .trim_start_matches("->")
                .trim_start()
                .starts_with("Sort ")
        })
        .filter_map(|line| {
            let rows = line.split("rows=").nth(1)?;
            rows.split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()
        })
        .collect()
}

/// The plan reads the table only through `index` (an index, index-only or bitmap index scan),
/// never with a sequential scan. With `ordered`, it returns rows in the index's order; it may
/// only sort when the planner expects a small set (at most `MAX_SORTED` rows: a few matches read
/// through the index and sorted costs less than walking the index in order).
#[track_caller]
fn assert_indexed(plan: &[String], index: &str, ordered: bool) {
    const MAX_SORTED: u64 = 1_000;
    let text = plan.join("\n");
    assert!(!text.contains("Seq Scan"), "sequential scan:\n{text}");
    let uses = [
        format!("Index Scan using {index}"),
        format!("Index Only Scan using {index}"),
        format!("Bitmap Index Scan on {index}"),
    ];
    assert!(
        uses.iter().any(|u| text.contains(u.as_str())),
        "expected a scan of {index}:\n{text}"
    );
    if ordered {
        let sorts = sorted_rows(plan);
        assert_eq!(
            sorts.len(),
            text.matches("Sort  (").count(),
            "unparsed sort:\n{text}"
        );
        assert!(
            sorts.iter().all(|rows| *rows <= MAX_SORTED),
            "plan sorts a large set:\n{text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activation_and_entity_queries_use_indexes_at_scale() {
    let rows = rows();
    let (url, stores) = fresh().await;
    let loading = std::time::Instant::now();
    let written = testing::bulk_load_activations(&url, (0..rows).map(sample))
        .await
        .unwrap();
    assert_eq!(written, rows);
    // Reported, not asserted.
    eprintln!(
        "loaded {rows} activation records in {:?}",
        loading.elapsed()
    );

    let q = |entity_path: Option<&str>, since, upto, skip, limit| ActivationQuery {
        namespace: "ns3".into(),
        entity_path: entity_path.map(str::to_string),
        since,
        upto,
        skip,
        limit,
    };
    let mid = 1_000_000 + (rows / 2) as i64;
    // A page a tenth of the way into the namespace (5,000 records in at a million).
    let deep = rows / NAMESPACES / 10;
    let queries = [
        (q(None, None, None, 0, Some(30)), "activations_by_namespace"),
        (
            q(None, None, None, deep, Some(30)),
            "activations_by_namespace",
        ),
        (
            q(None, None, None, 0, Some(200)),
            "activations_by_namespace",
        ),
        (
            q(None, Some(mid), None, 0, Some(30)),
            "activations_by_namespace",
        ),
        (
            q(None, None, Some(mid), 10, Some(30)),
            "activations_by_namespace",
        ),
        (
            q(None, Some(mid - 10_000), Some(mid), 0, Some(200)),
            "activations_by_namespace",
        ),
        (
            q(Some("ns3/action7"), None, None, 0, Some(30)),
            "activations_by_entity",
        ),
        (
            q(Some("ns3/action7"), Some(mid), None, 3, Some(30)),
            "activations_by_entity",
        ),
        (
            q(Some("ns3/action7"), Some(mid - 100_000), Some(mid), 0, None),
            "activations_by_entity",
        ),
    ];
    for mode in [PlanMode::Custom, PlanMode::Generic] {
        for (query, index) in &queries {
            let plan = testing::explain_activation_query(&url, query, false, mode)
                .await
                .unwrap();
            assert_indexed(&plan, index, true);
            // Counts may use either index of the namespace (both hold every record of it), and
            // need no order.
            let plan = testing::explain_activation_query(&url, query, true, mode)
                .await
                .unwrap();
            let index = if query.entity_path.is_some() {
                "activations_by_entity"
            } else {
                "activations_by_"
            };
            assert_indexed(&plan, index, false);
        }
    }

    // And the store answers them correctly on this data (several times each, so that cached
    // statements are exercised past PostgreSQL's switch to generic plans).
    let per_ns = rows / NAMESPACES;
    let all = q(None, None, None, 0, Some(30));
    for _ in 0..7 {
        assert_eq!(stores.activations.count(&all).await.unwrap(), per_ns);
        let page = stores.activations.list(&all).await.unwrap();
        assert_eq!(page.len(), 30);
        assert!(page.windows(2).all(|w| w[0].start > w[1].start));
        assert_eq!(page[0].start, 1_000_000 + (rows - NAMESPACES + 3) as i64);
        assert_eq!(page[0], sample(rows - NAMESPACES + 3));
    }
    let by_action = q(Some("ns3/action7"), None, None, 0, None);
    assert_eq!(
        stores.activations.count(&by_action).await.unwrap(),
        per_ns / ACTIONS
    );
    let ranged = q(None, Some(1_000_000), Some(1_000_000 + 199), 0, None);
    assert_eq!(stores.activations.list(&ranged).await.unwrap().len(), 10);
    let last = q(None, None, None, per_ns - 5, Some(30));
    assert_eq!(stores.activations.list(&last).await.unwrap().len(), 5);

    // Entities: 40,000 over 200 namespaces, half of them in packages.
    let c = client(&url).await;
    c.batch_execute(
        "INSERT INTO entities (id, kind, path, root, name, rev, updated, doc)
         SELECT path || '/e' || i, 'action', path, root, 'e' || i, 1, i, '{}'
         FROM (SELECT i, 'ns' || (i % 200) AS root,
                      CASE WHEN (i / 200) % 2 = 0 THEN 'ns' || (i % 200)
                           ELSE 'ns' || (i % 200) || '/pkg' END AS path
               FROM generate_series(1, 40000) AS i) AS s;
         ANALYZE entities;",
    )
    .await
    .unwrap();
    for mode in [PlanMode::Custom, PlanMode::Generic] {
        for (scope, index) in [
            (Scope::Path("ns7/pkg".into()), "entities_by_path"),
            (Scope::Namespace("ns7".into()), "entities_by_root"),
        ] {
            let query = EntityQuery {
                kind: EntityKind::Action,
                scope,
                skip: 10,
                limit: Some(30),
            };
            let plan = testing::explain_entity_list(&url, &query, mode)
                .await
                .unwrap();
            assert_indexed(&plan, index, true);
        }
    }
    let listed = stores
        .entities
        .list(&EntityQuery {
            kind: EntityKind::Action,
            scope: Scope::Namespace("ns7".into()),
            skip: 0,
            limit: Some(3),
        })
        .await
        .unwrap();
    let ids: Vec<&str> = listed.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["ns7/pkg/e39807", "ns7/e39607", "ns7/pkg/e39407"]);
}
