//! The invoker runs the action revision it loaded and keys its warm container by that revision,
//! whatever revision the message named (an activation in flight during an update). A fake
//! container backend stands in for the sandbox, so this runs without root.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::json;
use whirl_bus::{
    ActivationMessage, Bus, CompletionMessage, ControllerId, Feed, InProcessBus, Invoker, InvokerId,
};
use whirl_core::entity::ActivationStatus;
use whirl_invoker::{Invoker as InvokerService, InvokerConfig};
use whirl_runtime::{
    Container, ContainerFactory, ContainerSpec, InitOutcome, InitRequest, RunOutcome, RunRequest,
};
use whirl_store::{EntityKind, NewEntity};

/// Containers that answer `{"code": <the code they were initialised with>}`.
#[derive(Debug, Default)]
struct EchoCodeFactory {
    created: AtomicUsize,
}

struct EchoCode {
    id: String,
    kind: String,
    code: String,
}

fn outcome(result: serde_json::Value) -> RunOutcome {
    RunOutcome {
        status: ActivationStatus::Success,
        result,
        logs: Vec::new(),
        duration: Duration::from_millis(1),
        timed_out: false,
        container_healthy: true,
    }
}

#[async_trait]
impl ContainerFactory for EchoCodeFactory {
    async fn create(&self, spec: ContainerSpec) -> whirl_runtime::Result<Box<dyn Container>> {
        self.created.fetch_add(1, Ordering::SeqCst);
        Ok(Box::new(EchoCode {
            id: spec.id,
            kind: spec.kind,
            code: String::new(),
        }))
    }

    fn cleanup_leftovers(&self) -> whirl_runtime::Result<usize> {
        Ok(0)
    }
}

#[async_trait]
impl Container for EchoCode {
    fn id(&self) -> &str {
        &self.id
    }
    fn kind(&self) -> &str {
        &self.kind
    }
    async fn init(&mut self, req: InitRequest, _timeout: Duration) -> InitOutcome {
        self.code = req.code;
        outcome(json!({}))
    }
    async fn run(&mut self, _req: RunRequest, _t: Duration, _logs: u64) -> RunOutcome {
        outcome(json!({ "code": self.code }))
    }
    async fn pause(&mut self) -> whirl_runtime::Result<()> {
        Ok(())
    }
    async fn resume(&mut self) -> whirl_runtime::Result<()> {
        Ok(())
    }
    async fn prioritize(&mut self) -> whirl_runtime::Result<()> {
        Ok(())
    }
    async fn destroy(self: Box<Self>) -> whirl_runtime::Result<()> {
        Ok(())
    }
}

fn action(code: &str) -> NewEntity {
    action_at(code, 1)
}

/// Action `guest/a` with `code`, written at `updated`.
fn action_at(code: &str, updated: i64) -> NewEntity {
    NewEntity {
        id: "guest/a".into(),
        kind: EntityKind::Action,
        path: "guest".into(),
        name: "a".into(),
        updated,
        doc: json!({
            "namespace": "guest", "name": "a", "version": "0.0.1", "publish": false,
            "exec": {"kind": "nodejs:20"}, "annotations": [], "parameters": [],
            "limits": {"timeout": 60000, "memory": 256, "logs": 10, "concurrency": 1},
            "updated": updated
        }),
        code: Some(code.into()),
    }
}

fn message(id: &str, revision: u64) -> ActivationMessage {
    message_at(id, revision, 1)
}

/// A message for revision `revision` of the action document written at `updated`.
fn message_at(id: &str, revision: u64, updated: i64) -> ActivationMessage {
    ActivationMessage {
        transaction_id: "t".into(),
        activation_id: id.into(),
        controller: ControllerId(0),
        invoker: InvokerId(0),
        action_id: "guest/a".into(),
        revision,
        updated,
        version: "0.0.1".into(),
        binding: None,
        user: Invoker {
            subject: "guest".into(),
            namespace: "guest".into(),
            api_key: "k".into(),
        },
        blocking: true,
        content: serde_json::value::to_raw_value(&json!({})).unwrap(),
        init_args: Default::default(),
        provide_api_key: false,
        cause: None,
        accepted_at: 0,
        store: true,
    }
}

async fn result_of(feed: &mut Box<dyn Feed<CompletionMessage>>) -> serde_json::Value {
    let c = tokio::time::timeout(Duration::from_secs(10), feed.next())
        .await
        .unwrap()
        .unwrap();
    let record: serde_json::Value = c.record.expect("blocking: record").parse().unwrap();
    record["response"]["result"].clone()
}

#[tokio::test]
async fn an_activation_in_flight_during_an_update_runs_and_caches_the_revision_it_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let stores = whirl_store::sqlite::open(&dir.path().join("w.db")).unwrap();
    stores.entities.put(action("v1"), None).await.unwrap();
    // Updated after the controller resolved revision 1, before the invoker loads it.
    assert_eq!(stores.entities.put(action("v2"), Some(1)).await.unwrap(), 2);

    let bus = InProcessBus::new();
    let mut completions = bus.completions(ControllerId(0)).await.unwrap();
    let factory = Arc::new(EchoCodeFactory::default());
    let invoker = InvokerService::start(
        InvokerConfig::default(),
        stores.clone(),
        factory.clone(),
        &bus,
    )
    .await
    .unwrap();
    let publish = bus.activation_publisher();

    publish.publish(message("a1", 1)).await.unwrap();
    assert_eq!(result_of(&mut completions).await, json!({"code": "v2"}));
    // The container holds revision 2's code and is keyed by revision 2: a message for revision
    // 2 reuses it, and so does another late message for revision 1.
    publish.publish(message("a2", 2)).await.unwrap();
    assert_eq!(result_of(&mut completions).await, json!({"code": "v2"}));
    publish.publish(message("a3", 1)).await.unwrap();
    assert_eq!(result_of(&mut completions).await, json!({"code": "v2"}));
    assert_eq!(factory.created.load(Ordering::SeqCst), 1, "one container");

    // Every activation has its record.
    for id in ["a1", "a2", "a3"] {
        assert!(stores.activations.get("guest", id).await.unwrap().is_some());
    }
    invoker.shutdown().await;
}

/// An action deleted and created again starts over at revision 1: the invoker runs the new
/// code (not its cached document or a warm container of the old one), told apart by the
/// document's `updated` the message carries.
#[tokio::test]
async fn a_re_created_action_runs_its_new_code_not_the_deleted_one() {
    let dir = tempfile::tempdir().unwrap();
    let stores = whirl_store::sqlite::open(&dir.path().join("w.db")).unwrap();
    assert_eq!(
        stores
            .entities
            .put(action_at("old", 1000), None)
            .await
            .unwrap(),
        1
    );
    let bus = InProcessBus::new();
    let mut completions = bus.completions(ControllerId(0)).await.unwrap();
    let factory = Arc::new(EchoCodeFactory::default());
    let invoker = InvokerService::start(
        InvokerConfig::default(),
        stores.clone(),
        factory.clone(),
        &bus,
    )
    .await
    .unwrap();
    let publish = bus.activation_publisher();
    publish.publish(message_at("b1", 1, 1000)).await.unwrap();
    assert_eq!(result_of(&mut completions).await, json!({"code": "old"}));

    stores.entities.delete("guest/a", 1).await.unwrap();
    assert_eq!(
        stores
            .entities
            .put(action_at("new", 2000), None)
            .await
            .unwrap(),
        1
    );
    publish.publish(message_at("b2", 1, 2000)).await.unwrap();
    assert_eq!(result_of(&mut completions).await, json!({"code": "new"}));
    // Its own container: the warm one holds the old code.
    assert_eq!(factory.created.load(Ordering::SeqCst), 2);
    publish.publish(message_at("b3", 1, 2000)).await.unwrap();
    assert_eq!(result_of(&mut completions).await, json!({"code": "new"}));
    assert_eq!(
        factory.created.load(Ordering::SeqCst),
        2,
        "warm reuse of the new one"
    );
    invoker.shutdown().await;
}
