//! The behaviour every bus backend must show, as functions over a fresh bus (the store has the
//! same kind of suite). A backend's tests call [`run_all`] with a constructor of fresh,
//! isolated buses (for a networked backend: a private server or a unique subject prefix).
//!
//! The suite checks routing (activations reach the named invoker only, completions the issuing
//! controller only, broadcasts every subscriber), order per publisher, that messages arrive
//! unchanged, the errors of misuse, that a dropped subscription can be taken again, that first
//! deliveries are not flagged as redeliveries, and that acknowledged activations stay done.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::Future;
use std::time::Duration;

use serde_json::{json, Map};

use crate::{
    ActivationMessage, Bus, BusError, CacheInvalidation, CompletionMessage, ControllerId, Feed,
    Invoker, InvokerId, InvokerPing,
};
use whirl_core::json::SharedJson;

/// How long the suite waits to conclude that a message was (rightly) not delivered.
const QUIET: Duration = Duration::from_millis(150);
/// How long the suite waits for a message that must arrive.
const ARRIVAL: Duration = Duration::from_secs(10);

/// A message for the suite (also handy in other crates' tests).
pub fn activation(controller: ControllerId, invoker: InvokerId, id: &str) -> ActivationMessage {
    ActivationMessage {
        transaction_id: format!("tid-{id}"),
        activation_id: id.to_string(),
        controller,
        invoker,
        action_id: "guest/pkg/hello".into(),
        revision: 3,
        updated: 1_700_000_000_000,
        version: "0.0.2".into(),
        binding: Some("guest/bound".into()),
        user: Invoker {
            subject: "guest".into(),
            namespace: "guest".into(),
            api_key: "uuid:key".into(),
        },
        blocking: true,
        content: serde_json::value::to_raw_value(&json!({"name": "Whirl", "n": [1, 2.5]})).unwrap(),
        init_args: Map::from_iter([("X".to_string(), json!("y"))]),
        provide_api_key: false,
        cause: Some("c0ffee".into()),
        accepted_at: 1_700_000_000_000,
        store: true,
    }
}

fn completion(controller: ControllerId, id: &str, with_record: bool) -> CompletionMessage {
    CompletionMessage {
        activation_id: id.to_string(),
        transaction_id: format!("tid-{id}"),
        controller,
        invoker: InvokerId(7),
        namespace: "guest".into(),
        record: with_record.then(|| {
            SharedJson::to_shared(&json!({"activationId": id, "response": {"statusCode": 0}}))
                .unwrap()
        }),
        whisk_error: false,
    }
}

async fn arrives<T: Send + 'static>(feed: &mut Box<dyn Feed<T>>) -> T {
    tokio::time::timeout(ARRIVAL, feed.next())
        .await
        .expect("a message must arrive")
        .expect("the feed must stay open")
}

async fn stays_quiet<T: Send + std::fmt::Debug + 'static>(feed: &mut Box<dyn Feed<T>>) {
    if let Ok(Some(m)) = tokio::time::timeout(QUIET, feed.next()).await {
        panic!("unexpected message: {m:?}");
    }
}

fn wire<T: serde::Serialize>(m: &T) -> String {
    serde_json::to_string(m).unwrap()
}

pub async fn activations_reach_the_named_invoker_only(bus: &dyn Bus) {
    let mut zero = bus.activations(InvokerId(0)).await.unwrap();
    let mut one = bus.activations(InvokerId(1)).await.unwrap();
    let publisher = bus.activation_publisher();
    let sent = activation(ControllerId(0), InvokerId(1), "a1");
    publisher.publish(sent.clone()).await.unwrap();
    let got = arrives(&mut one).await;
    assert_eq!(wire(&got.message), wire(&sent), "delivered unchanged");
    got.ack.ack().await;
    stays_quiet(&mut zero).await;
}

pub async fn activations_keep_their_order(bus: &dyn Bus) {
    let mut feed = bus.activations(InvokerId(3)).await.unwrap();
    let publisher = bus.activation_publisher();
    for i in 0..50 {
        let m = activation(ControllerId(0), InvokerId(3), &format!("o{i}"));
        publisher.publish(m).await.unwrap();
    }
    for i in 0..50 {
        let d = arrives(&mut feed).await;
        assert_eq!(d.message.activation_id, format!("o{i}"));
        d.ack.ack().await;
    }
}

pub async fn messages_survive_the_wire(bus: &dyn Bus) {
    // What a networked backend does to every message: serialise, then parse.
    let m = activation(ControllerId(2), InvokerId(4), "w1");
    let back: ActivationMessage = serde_json::from_str(&wire(&m)).unwrap();
    assert_eq!(wire(&back), wire(&m));
    assert_eq!(back.content.get(), r#"{"n":[1,2.5],"name":"Whirl"}"#);
    let c = completion(ControllerId(2), "w1", true);
    let back: CompletionMessage = serde_json::from_str(&wire(&c)).unwrap();
    assert_eq!(back, c);
    // and the backend itself delivers the same bytes
    let mut feed = bus.completions(ControllerId(2)).await.unwrap();
    bus.completion_publisher().publish(c.clone()).await.unwrap();
    assert_eq!(arrives(&mut feed).await, c);
}

pub async fn an_unknown_invoker_is_an_error(bus: &dyn Bus) {
    let publisher = bus.activation_publisher();
    let m = activation(ControllerId(0), InvokerId(99), "u1");
    assert_eq!(
        publisher.publish(m).await,
        Err(BusError::NoSuchInvoker(InvokerId(99)))
    );
}

pub async fn one_subscription_per_invoker_and_controller(bus: &dyn Bus) {
    let _feed = bus.activations(InvokerId(5)).await.unwrap();
    assert!(matches!(
        bus.activations(InvokerId(5)).await,
        Err(BusError::AlreadySubscribed(_))
    ));
    let _c = bus.completions(ControllerId(5)).await.unwrap();
    assert!(matches!(
        bus.completions(ControllerId(5)).await,
        Err(BusError::AlreadySubscribed(_))
    ));
}

pub async fn completions_reach_the_issuing_controller_only(bus: &dyn Bus) {
    let mut c0 = bus.completions(ControllerId(0)).await.unwrap();
    let mut c1 = bus.completions(ControllerId(1)).await.unwrap();
    let publisher = bus.completion_publisher();
    let non_blocking = completion(ControllerId(1), "c1", false);
    publisher.publish(non_blocking.clone()).await.unwrap();
    assert_eq!(arrives(&mut c1).await, non_blocking);
    assert!(non_blocking.record.is_none());
    stays_quiet(&mut c0).await;
    // A controller that is gone: nobody waits, not an error for the invoker.
    publisher
        .publish(completion(ControllerId(42), "c2", true))
        .await
        .unwrap();
}

pub async fn pings_reach_every_controller(bus: &dyn Bus) {
    let mut a = bus.pings().await.unwrap();
    let mut b = bus.pings().await.unwrap();
    let ping = InvokerPing {
        invoker: InvokerId(2),
        user_memory_mb: 2048,
    };
    bus.ping_publisher().publish(ping.clone()).await.unwrap();
    assert_eq!(arrives(&mut a).await, ping);
    assert_eq!(arrives(&mut b).await, ping);
}

pub async fn invalidations_reach_every_controller(bus: &dyn Bus) {
    let mut a = bus.invalidations().await.unwrap();
    let mut b = bus.invalidations().await.unwrap();
    let inv = CacheInvalidation {
        from: ControllerId(1),
        ids: vec!["guest/hello".into(), "guest/pkg".into()],
    };
    bus.invalidation_publisher()
        .publish(inv.clone())
        .await
        .unwrap();
    assert_eq!(arrives(&mut a).await, inv);
    assert_eq!(arrives(&mut b).await, inv);
}

pub async fn first_deliveries_are_not_redeliveries(bus: &dyn Bus) {
    let mut feed = bus.activations(InvokerId(6)).await.unwrap();
    let publisher = bus.activation_publisher();
    for i in 0..3 {
        let m = activation(ControllerId(0), InvokerId(6), &format!("f{i}"));
        publisher.publish(m).await.unwrap();
    }
    for i in 0..3 {
        let d = arrives(&mut feed).await;
        assert_eq!(d.message.activation_id, format!("f{i}"));
        assert!(!d.is_redelivered(), "a first delivery is not a redelivery");
        assert!(!d.ack.is_redelivered());
        d.ack.ack().await;
    }
}

pub async fn a_dropped_subscription_can_be_taken_again(bus: &dyn Bus) {
    let feed = bus.activations(InvokerId(8)).await.unwrap();
    drop(feed);
    let mut feed = bus.activations(InvokerId(8)).await.unwrap();
    let c = bus.completions(ControllerId(8)).await.unwrap();
    drop(c);
    let mut c = bus.completions(ControllerId(8)).await.unwrap();
    // and the new subscriptions are the live ones
    let m = activation(ControllerId(8), InvokerId(8), "d1");
    bus.activation_publisher().publish(m).await.unwrap();
    let d = arrives(&mut feed).await;
    assert_eq!(d.message.activation_id, "d1");
    d.ack.ack().await;
    let done = completion(ControllerId(8), "d1", false);
    bus.completion_publisher()
        .publish(done.clone())
        .await
        .unwrap();
    assert_eq!(arrives(&mut c).await, done);
}

pub async fn acknowledged_activations_are_not_delivered_again(bus: &dyn Bus) {
    let mut feed = bus.activations(InvokerId(9)).await.unwrap();
    let publisher = bus.activation_publisher();
    for i in 0..3 {
        let m = activation(ControllerId(0), InvokerId(9), &format!("k{i}"));
        publisher.publish(m).await.unwrap();
    }
    for i in 0..3 {
        let d = arrives(&mut feed).await;
        assert_eq!(d.message.activation_id, format!("k{i}"));
        d.ack.ack().await;
    }
    drop(feed);
    // The invoker comes back: what it acknowledged is done.
    let mut feed = bus.activations(InvokerId(9)).await.unwrap();
    stays_quiet(&mut feed).await;
}

/// Run every behaviour, each on a fresh bus from `fresh`.
pub async fn run_all<F, Fut>(fresh: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Box<dyn Bus>>,
{
    activations_reach_the_named_invoker_only(fresh().await.as_ref()).await;
    activations_keep_their_order(fresh().await.as_ref()).await;
    messages_survive_the_wire(fresh().await.as_ref()).await;
    an_unknown_invoker_is_an_error(fresh().await.as_ref()).await;
    one_subscription_per_invoker_and_controller(fresh().await.as_ref()).await;
    completions_reach_the_issuing_controller_only(fresh().await.as_ref()).await;
    pings_reach_every_controller(fresh().await.as_ref()).await;
    invalidations_reach_every_controller(fresh().await.as_ref()).await;
    first_deliveries_are_not_redeliveries(fresh().await.as_ref()).await;
    a_dropped_subscription_can_be_taken_again(fresh().await.as_ref()).await;
    acknowledged_activations_are_not_delivered_again(fresh().await.as_ref()).await;
}
