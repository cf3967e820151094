//! What the NATS backend promises beyond the behaviour suite: durability across server
//! restarts and crashes, acknowledgements and the redelivery flag (at most once), fast failures
//! during an outage and feeds that resume after it, credentials kept out of errors, isolation
//! of invokers and prefixes, and the private-server launcher itself. Every test runs its own
//! nats-server on a free loopback port.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::Future;
use std::time::Duration;

use async_nats::jetstream::consumer::PullConsumer;
use serde_json::json;
use whirl_bus::behaviour::activation;
use whirl_bus::{
    Bus, BusError, CacheInvalidation, CompletionMessage, ControllerId, Delivery, Feed, InvokerId,
    InvokerPing,
};
use whirl_bus_nats::testing::{unique_prefix, PrivateNats, NOT_INSTALLED};
use whirl_bus_nats::{NatsBus, NatsConfig};
use whirl_core::json::SharedJson;

/// Generous: how long to wait for something that must happen.
const PATIENCE: Duration = Duration::from_secs(30);

/// Short waits so that redelivery tests run in seconds.
fn fast() -> NatsConfig {
    NatsConfig {
        ack_wait: Duration::from_secs(1),
        publish_timeout: Duration::from_secs(2),
        reconnect_delay_max: Duration::from_millis(200),
        ..NatsConfig::default()
    }
}

fn server() -> PrivateNats {
    PrivateNats::start().expect("a private nats-server")
}

async fn bus(nats: &PrivateNats, prefix: &str, config: NatsConfig) -> NatsBus {
    whirl_bus_nats::connect_with(&nats.url(), prefix, config)
        .await
        .expect("connect to the private server")
}

async fn arrives<T: Send + 'static>(feed: &mut Box<dyn Feed<T>>) -> T {
    tokio::time::timeout(PATIENCE, feed.next())
        .await
        .expect("a message must arrive")
        .expect("the feed must stay open")
}

/// Nothing arrives for `wait`.
async fn stays_quiet<T: Send + std::fmt::Debug + 'static>(
    feed: &mut Box<dyn Feed<T>>,
    wait: Duration,
) {
    if let Ok(Some(m)) = tokio::time::timeout(wait, feed.next()).await {
        panic!("unexpected message: {m:?}");
    }
}

async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !check() {
        assert!(tokio::time::Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A future that must finish: publishes fail fast, they never hang.
async fn finishes<T>(fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(PATIENCE, fut)
        .await
        .expect("must not hang")
}

fn blocking<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

async fn publish_activation(bus: &NatsBus, invoker: u32, id: &str) {
    bus.activation_publisher()
        .publish(activation(ControllerId(0), InvokerId(invoker), id))
        .await
        .unwrap();
}

/// The invoker's consumer as the server sees it, through a connection of the test's own.
async fn raw_consumer(nats: &PrivateNats, prefix: &str, invoker: u32) -> PullConsumer {
    let raw = async_nats::connect(nats.url()).await.unwrap();
    async_nats::jetstream::new(raw)
        .get_stream(format!("{prefix}-invoker{invoker}"))
        .await
        .unwrap()
        .get_consumer(&format!("invoker{invoker}"))
        .await
        .unwrap()
}

async fn next_delivery(feed: &mut Box<dyn Feed<Delivery>>) -> Delivery {
    arrives(feed).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_activation_survives_a_server_restart() {
    let mut nats = server();
    let prefix = unique_prefix("durable");
    let bus = bus(&nats, &prefix, fast()).await;
    drop(bus.activations(InvokerId(0)).await.unwrap()); // the invoker registered once
    publish_activation(&bus, 0, "d1").await;
    bus.close().await;

    blocking(|| nats.stop()).unwrap();
    blocking(|| nats.start_again()).unwrap();

    let bus = self::bus(&nats, &prefix, fast()).await;
    let mut feed = bus.activations(InvokerId(0)).await.unwrap();
    let d = next_delivery(&mut feed).await;
    assert_eq!(d.message.activation_id, "d1");
    assert!(!d.is_redelivered(), "it was never delivered before");
    d.ack.ack().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_activation_survives_a_server_crash() {
    let mut nats = server();
    let prefix = unique_prefix("crash");
    let bus = bus(&nats, &prefix, fast()).await;
    let mut feed = bus.activations(InvokerId(0)).await.unwrap();
    drop(feed);
    for i in 0..5 {
        publish_activation(&bus, 0, &format!("c{i}")).await;
    }
    // Stored means stored: SIGKILL right after the publish acknowledgements.
    blocking(|| nats.kill()).unwrap();
    blocking(|| nats.start_again()).unwrap();

    // The same bus reconnects by itself; the invoker subscribes again.
    eventually("the bus reconnects", || bus.is_connected()).await;
    feed = bus.activations(InvokerId(0)).await.unwrap();
    for i in 0..5 {
        let d = next_delivery(&mut feed).await;
        assert_eq!(d.message.activation_id, format!("c{i}"));
        d.ack.ack().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unacknowledged_activation_comes_back_flagged_to_the_restarted_invoker() {
    let nats = server();
    let prefix = unique_prefix("crashed-invoker");
    // The invoker's first process receives the activation and dies before acknowledging.
    let first = bus(&nats, &prefix, fast()).await;
    let mut feed = first.activations(InvokerId(0)).await.unwrap();
    publish_activation(&first, 0, "r1").await;
    let d = next_delivery(&mut feed).await;
    assert!(!d.is_redelivered());
    first.close().await;
    drop(d);
    drop(feed);

    // Its next process gets it again, marked: it may have run, so it must not run again.
    let second = bus(&nats, &prefix, fast()).await;
    let mut feed = second.activations(InvokerId(0)).await.unwrap();
    let again = next_delivery(&mut feed).await;
    assert_eq!(again.message.activation_id, "r1");
    assert!(again.is_redelivered(), "a redelivery is flagged");
    assert!(again.ack.is_redelivered());
    again.ack.ack().await;
    second.close().await;
    drop(feed);

    // Acknowledged is done: a third process gets nothing, well past the ack wait.
    let third = bus(&nats, &prefix, fast()).await;
    let mut feed = third.activations(InvokerId(0)).await.unwrap();
    stays_quiet(&mut feed, Duration::from_secs(3)).await;
}

#[tokio::test]
async fn a_dropped_delivery_comes_back_flagged() {
    let nats = server();
    let bus = bus(&nats, &unique_prefix("dropped"), fast()).await;
    let mut feed = bus.activations(InvokerId(0)).await.unwrap();
    publish_activation(&bus, 0, "x1").await;
    publish_activation(&bus, 0, "x2").await;
    let d1 = next_delivery(&mut feed).await;
    let d2 = next_delivery(&mut feed).await;
    assert_eq!(d2.message.activation_id, "x2");
    d2.ack.ack().await;
    // The invoker lost x1 without acknowledging it (a task that died, say).
    drop(d1);
    let again = next_delivery(&mut feed).await;
    assert_eq!(again.message.activation_id, "x1");
    assert!(again.is_redelivered());
    again.ack.ack().await;
    stays_quiet(&mut feed, Duration::from_secs(3)).await;
}

#[tokio::test]
async fn a_delivery_held_by_a_live_invoker_is_not_redelivered() {
    let nats = server();
    let prefix = unique_prefix("held");
    // A two-second ack wait: in-progress signals every 2/3 s leave room for a loaded machine.
    let config = NatsConfig {
        ack_wait: Duration::from_secs(2),
        ..fast()
    };
    let bus = bus(&nats, &prefix, config.clone()).await;
    let mut feed = bus.activations(InvokerId(0)).await.unwrap();
    publish_activation(&bus, 0, "long").await;
    let d = next_delivery(&mut feed).await;
    // A witness: another connection reading the same invoker's consumer would get any
    // redelivery the server makes.
    let witness = self::bus(&nats, &prefix, config).await;
    let mut watching = witness.activations(InvokerId(0)).await.unwrap();
    assert!(!d.is_redelivered());
    // A long action: held for three ack waits.
    stays_quiet(&mut watching, Duration::from_secs(6)).await;
    d.ack.ack().await;
    stays_quiet(&mut watching, Duration::from_secs(2)).await;
    stays_quiet(&mut feed, Duration::from_millis(200)).await;
}

#[tokio::test]
async fn redelivery_stops_after_max_deliver() {
    let nats = server();
    let config = NatsConfig {
        max_deliver: 2,
        ..fast()
    };
    let bus = bus(&nats, &unique_prefix("maxdeliver"), config).await;
    let mut feed = bus.activations(InvokerId(0)).await.unwrap();
    publish_activation(&bus, 0, "m1").await;
    let first = next_delivery(&mut feed).await;
    assert!(!first.is_redelivered());
    drop(first);
    let second = next_delivery(&mut feed).await;
    assert!(second.is_redelivered());
    drop(second);
    // No loop: two deliveries at most.
    stays_quiet(&mut feed, Duration::from_secs(4)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishes_fail_fast_during_an_outage_and_feeds_resume_after_it() {
    let mut nats = server();
    let bus = bus(&nats, &unique_prefix("outage"), fast()).await;
    let mut acts = bus.activations(InvokerId(0)).await.unwrap();
    let mut done = bus.completions(ControllerId(0)).await.unwrap();
    let mut pings = bus.pings().await.unwrap();
    let mut invs = bus.invalidations().await.unwrap();
    let completion = |id: &str| CompletionMessage {
        activation_id: id.into(),
        transaction_id: "t".into(),
        controller: ControllerId(0),
        invoker: InvokerId(0),
        namespace: "guest".into(),
        record: None,
        whisk_error: false,
    };
    let ping = InvokerPing {
        invoker: InvokerId(0),
        user_memory_mb: 1024,
    };
    let invalidation = |id: &str| CacheInvalidation {
        from: ControllerId(1),
        ids: vec![id.into()],
    };

    blocking(|| nats.stop()).unwrap();
    eventually("the bus sees the outage", || !bus.is_connected()).await;
    let backend = |r: Result<(), BusError>| matches!(r, Err(BusError::Backend(_)));
    let a = activation(ControllerId(0), InvokerId(0), "lost");
    assert!(backend(
        finishes(bus.activation_publisher().publish(a)).await
    ));
    assert!(backend(
        finishes(bus.completion_publisher().publish(completion("lost"))).await
    ));
    assert!(backend(
        finishes(bus.ping_publisher().publish(ping.clone())).await
    ));
    assert!(backend(
        finishes(bus.invalidation_publisher().publish(invalidation("lost"))).await
    ));
    assert!(finishes(bus.activations(InvokerId(1))).await.is_err());

    blocking(|| nats.start_again()).unwrap();
    eventually("the bus reconnects", || bus.is_connected()).await;

    // The same bus and the same feeds carry on.
    publish_activation(&bus, 0, "after").await;
    let d = next_delivery(&mut acts).await;
    assert_eq!(
        d.message.activation_id, "after",
        "nothing published in the outage"
    );
    assert!(!d.is_redelivered());
    d.ack.ack().await;
    bus.completion_publisher()
        .publish(completion("after"))
        .await
        .unwrap();
    assert_eq!(arrives(&mut done).await.activation_id, "after");
    bus.ping_publisher().publish(ping.clone()).await.unwrap();
    assert_eq!(arrives(&mut pings).await, ping);
    bus.invalidation_publisher()
        .publish(invalidation("after"))
        .await
        .unwrap();
    assert_eq!(arrives(&mut invs).await.ids, vec!["after".to_string()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_acknowledged_during_an_outage_is_acknowledged_after_it() {
    let mut nats = server();
    let prefix = unique_prefix("late-ack");
    let bus = bus(&nats, &prefix, fast()).await;
    let mut feed = bus.activations(InvokerId(0)).await.unwrap();
    publish_activation(&bus, 0, "a1").await;
    let d = next_delivery(&mut feed).await;
    blocking(|| nats.stop()).unwrap();
    eventually("the bus sees the outage", || !bus.is_connected()).await;
    // The record is stored, the ack cannot reach the server: retried in the background.
    finishes(d.ack.ack()).await;
    blocking(|| nats.start_again()).unwrap();
    eventually("the bus reconnects", || bus.is_connected()).await;
    // The retried ack lands: the server holds nothing unacknowledged for the invoker.
    let consumer = raw_consumer(&nats, &prefix, 0).await;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let info = consumer.get_info().await.unwrap();
        // Acknowledged (the ack floor passed it), not merely given up on after max_deliver.
        if info.num_ack_pending == 0 && info.num_pending == 0 && info.ack_floor.stream_sequence >= 1
        {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{info:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // and no process ever gets a1 again.
    let other = self::bus(&nats, &prefix, fast()).await;
    let mut witness = other.activations(InvokerId(0)).await.unwrap();
    stays_quiet(&mut witness, Duration::from_secs(4)).await;
    stays_quiet(&mut feed, Duration::from_millis(200)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_never_show_credentials() {
    let mut nats = PrivateNats::start_with_user("whirl-user", "pa55-w0rd-s3cret").unwrap();
    let wrong = format!("nats://whirl-user:wr0ng-s3cret@127.0.0.1:{}", nats.port());
    let err = finishes(whirl_bus_nats::connect_with(&wrong, "creds", fast()))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, BusError::Backend(_)), "{text}");
    assert!(
        !text.contains("wr0ng-s3cret") && !text.contains("whirl-user"),
        "{text}"
    );

    let bus = bus(&nats, "creds", fast()).await;
    assert!(!format!("{bus:?}").contains("pa55-w0rd-s3cret"));
    drop(bus.activations(InvokerId(0)).await.unwrap());
    blocking(|| nats.stop()).unwrap();
    eventually("the bus sees the outage", || !bus.is_connected()).await;
    let a = activation(ControllerId(0), InvokerId(0), "x");
    let text = finishes(bus.activation_publisher().publish(a))
        .await
        .unwrap_err()
        .to_string();
    assert!(text.contains("127.0.0.1"), "names the server: {text}");
    assert!(
        !text.contains("pa55-w0rd-s3cret") && !text.contains("whirl-user"),
        "{text}"
    );
}

#[tokio::test]
async fn connecting_to_no_server_fails() {
    let mut nats = server();
    let url = nats.url();
    nats.stop().unwrap();
    let err = finishes(whirl_bus_nats::connect_with(&url, "none", fast()))
        .await
        .unwrap_err();
    assert!(matches!(err, BusError::Backend(_)), "{err}");
}

#[tokio::test]
async fn invokers_are_isolated_by_id_and_by_prefix() {
    let nats = server();
    let one = bus(&nats, &unique_prefix("iso-a"), fast()).await;
    let two = bus(&nats, &unique_prefix("iso-b"), fast()).await;
    let mut a0 = one.activations(InvokerId(0)).await.unwrap();
    let mut a1 = one.activations(InvokerId(1)).await.unwrap();
    let mut b0 = two.activations(InvokerId(0)).await.unwrap();
    publish_activation(&one, 1, "for-a1").await;
    publish_activation(&one, 0, "for-a0").await;
    publish_activation(&two, 0, "for-b0").await;
    for (feed, id) in [
        (&mut a0, "for-a0"),
        (&mut a1, "for-a1"),
        (&mut b0, "for-b0"),
    ] {
        let d = next_delivery(feed).await;
        assert_eq!(d.message.activation_id, id);
        d.ack.ack().await;
    }
    for feed in [&mut a0, &mut a1, &mut b0] {
        stays_quiet(feed, Duration::from_millis(300)).await;
    }
    // Invoker 1 exists under the first prefix only.
    let m = activation(ControllerId(0), InvokerId(1), "nowhere");
    assert_eq!(
        two.activation_publisher().publish(m).await,
        Err(BusError::NoSuchInvoker(InvokerId(1)))
    );
    // Completions and pings do not cross prefixes either.
    let mut c_one = one.completions(ControllerId(0)).await.unwrap();
    let mut p_one = one.pings().await.unwrap();
    let c = CompletionMessage {
        activation_id: "x".into(),
        transaction_id: "t".into(),
        controller: ControllerId(0),
        invoker: InvokerId(0),
        namespace: "guest".into(),
        record: None,
        whisk_error: false,
    };
    two.completion_publisher().publish(c).await.unwrap();
    two.ping_publisher()
        .publish(InvokerPing {
            invoker: InvokerId(0),
            user_memory_mb: 1,
        })
        .await
        .unwrap();
    stays_quiet(&mut c_one, Duration::from_millis(300)).await;
    stays_quiet(&mut p_one, Duration::from_millis(300)).await;
}

#[tokio::test]
async fn a_message_that_is_not_an_activation_is_skipped_and_terminated() {
    let nats = server();
    let prefix = unique_prefix("garbage");
    let bus = bus(&nats, &prefix, fast()).await;
    let mut feed = bus.activations(InvokerId(0)).await.unwrap();
    let raw = async_nats::connect(nats.url()).await.unwrap();
    let js = async_nats::jetstream::new(raw);
    js.publish(format!("{prefix}.activation.0"), "not json".into())
        .await
        .unwrap()
        .await
        .unwrap();
    publish_activation(&bus, 0, "good").await;
    let d = next_delivery(&mut feed).await;
    assert_eq!(d.message.activation_id, "good");
    d.ack.ack().await;
    // Nothing is left pending: the bad one was terminated, not left to be redelivered.
    let consumer = raw_consumer(&nats, &prefix, 0).await;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let info = consumer.get_info().await.unwrap();
        if info.num_ack_pending == 0 && info.num_pending == 0 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{info:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stays_quiet(&mut feed, Duration::from_secs(3)).await;
    // Well past the ack wait, still two deliveries in all: the bad one was never redelivered.
    let info = consumer.get_info().await.unwrap();
    assert_eq!(info.delivered.consumer_sequence, 2, "{info:?}");
    assert_eq!(info.num_redelivered, 0, "{info:?}");
}

#[tokio::test]
async fn oversized_messages() {
    let nats = server();
    let bus = bus(&nats, &unique_prefix("big"), fast()).await;
    let mut done = bus.completions(ControllerId(0)).await.unwrap();
    let _feed = bus.activations(InvokerId(0)).await.unwrap();
    let big = "x".repeat(whirl_bus_nats::testing::MAX_PAYLOAD + 1);
    // A completion too large for the bus goes without its record: the waiter reads the store.
    let c = CompletionMessage {
        activation_id: "big".into(),
        transaction_id: "t".into(),
        controller: ControllerId(0),
        invoker: InvokerId(0),
        namespace: "guest".into(),
        record: Some(SharedJson::to_shared(&json!({ "logs": [big] })).unwrap()),
        whisk_error: false,
    };
    bus.completion_publisher().publish(c).await.unwrap();
    let got = arrives(&mut done).await;
    assert_eq!(got.activation_id, "big");
    assert!(got.record.is_none());
    // An activation too large is refused, saying why.
    let mut a = activation(ControllerId(0), InvokerId(0), "big");
    a.content = serde_json::value::to_raw_value(&json!({ "blob": big })).unwrap();
    let err = bus.activation_publisher().publish(a).await.unwrap_err();
    assert!(err.to_string().contains("max_payload"), "{err}");
    // A large one within the limit passes unchanged.
    let mut a = activation(ControllerId(0), InvokerId(0), "large");
    let blob = "y".repeat(3 * 1024 * 1024);
    a.content = serde_json::value::to_raw_value(&json!({ "blob": blob })).unwrap();
    let sent = a.content.get().to_string();
    bus.activation_publisher().publish(a).await.unwrap();
    let mut feed = _feed;
    let d = next_delivery(&mut feed).await;
    assert_eq!(d.message.content.get(), sent);
    d.ack.ack().await;
}

#[tokio::test]
async fn the_consumer_takes_the_settings_of_the_latest_bus() {
    let nats = server();
    let prefix = unique_prefix("settings");
    let slow = bus(&nats, &prefix, NatsConfig::default()).await;
    drop(slow.activations(InvokerId(0)).await.unwrap());
    // A later bus with a one-second ack wait: its redeliveries come after one second, not 30.
    let quick = bus(&nats, &prefix, fast()).await;
    let mut feed = quick.activations(InvokerId(0)).await.unwrap();
    publish_activation(&quick, 0, "s1").await;
    drop(next_delivery(&mut feed).await);
    let again = tokio::time::timeout(Duration::from_secs(15), next_delivery(&mut feed))
        .await
        .expect("redelivered after the new ack wait, long before the old one");
    assert!(again.is_redelivered());
    again.ack.ack().await;
}

#[tokio::test]
async fn a_closed_bus_ends_feeds_and_refuses_publishes() {
    let nats = server();
    let bus = bus(&nats, &unique_prefix("closed"), fast()).await;
    let mut acts = bus.activations(InvokerId(0)).await.unwrap();
    let mut done = bus.completions(ControllerId(0)).await.unwrap();
    let mut invs = bus.invalidations().await.unwrap();
    bus.close().await;
    assert!(finishes(acts.next()).await.is_none());
    assert!(finishes(done.next()).await.is_none());
    assert!(finishes(invs.next()).await.is_none());
    let a = activation(ControllerId(0), InvokerId(0), "late");
    assert_eq!(
        bus.activation_publisher().publish(a).await,
        Err(BusError::Closed)
    );
    assert!(matches!(
        bus.activations(InvokerId(1)).await,
        Err(BusError::Closed)
    ));
}

#[test]
fn the_launcher_restarts_on_the_same_port_and_store_and_kills_on_drop() {
    let mut nats = server();
    let port = nats.port();
    assert_ne!(port, 4222);
    let store = nats.store_dir();
    let first = nats.pid().unwrap();
    nats.stop().unwrap();
    assert!(!nats.is_running());
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
    nats.start_again().unwrap();
    assert!(nats.is_running());
    assert_eq!(nats.port(), port);
    assert_eq!(nats.store_dir(), store);
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
    let second = nats.pid().unwrap();
    assert_ne!(first, second);
    assert!(store.exists());
    drop(nats);
    assert!(
        !std::path::Path::new(&format!("/proc/{second}")).exists(),
        "the server is gone with its launcher"
    );
    assert!(!store.exists(), "and so is its store");
    assert!(NOT_INSTALLED.contains("apt-get install nats-server"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalidations_published_while_a_controller_is_cut_off_still_reach_it() {
    let mut nats = server();
    let prefix = unique_prefix("cutoff");
    // This controller reconnects slowly: the others publish before it is back.
    let slow = NatsConfig {
        reconnect_delay_max: Duration::from_secs(3),
        ..fast()
    };
    let cut_off = bus(&nats, &prefix, slow).await;
    let mut invs = cut_off.invalidations().await.unwrap();
    blocking(|| nats.stop()).unwrap();
    eventually("the outage is seen", || !cut_off.is_connected()).await;
    blocking(|| nats.start_again()).unwrap();
    let other = bus(&nats, &prefix, fast()).await;
    for id in ["guest/a", "guest/b"] {
        other
            .invalidation_publisher()
            .publish(CacheInvalidation {
                from: ControllerId(1),
                ids: vec![id.into()],
            })
            .await
            .unwrap();
    }
    assert_eq!(arrives(&mut invs).await.ids, vec!["guest/a".to_string()]);
    assert_eq!(arrives(&mut invs).await.ids, vec!["guest/b".to_string()]);
    stays_quiet(&mut invs, Duration::from_millis(500)).await;
}

/// Read-your-writes across controllers: an invalidation's publish returns only once another
/// live controller's feed has handled it (its reader called `next` again after evicting), so a
/// client that reads through that controller right after the write never gets the old entity.
/// A feed that does not read delays a publish (at most about a second), never fails it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalidation_publish_returns_once_other_controllers_have_handled_it() {
    let nats = server();
    let prefix = unique_prefix("coherent");
    let writer = bus(&nats, &prefix, fast()).await;
    let reader = bus(&nats, &prefix, fast()).await;
    let mut feed = reader.invalidations().await.unwrap();
    // The reader evicts slowly; `evicted` holds the ids it has finished with.
    let evicted = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let log = evicted.clone();
    let reading = tokio::spawn(async move {
        while let Some(m) = feed.next().await {
            tokio::time::sleep(Duration::from_millis(300)).await;
            log.lock().unwrap().extend(m.ids);
        }
    });
    // The writer hears of the reader's feed (announced every second).
    tokio::time::sleep(Duration::from_millis(2500)).await;
    for id in ["guest/a", "guest/b", "guest/c"] {
        finishes(writer.invalidation_publisher().publish(CacheInvalidation {
            from: ControllerId(0),
            ids: vec![id.into()],
        }))
        .await
        .unwrap();
        assert!(
            evicted.lock().unwrap().contains(&id.to_string()),
            "the publish of {id} returned before the other controller handled it"
        );
    }
    // A subscriber that stops reading: publishes still succeed.
    reading.abort();
    let mut idle = reader.invalidations().await.unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    finishes(writer.invalidation_publisher().publish(CacheInvalidation {
        from: ControllerId(0),
        ids: vec!["guest/d".into()],
    }))
    .await
    .unwrap();
    assert_eq!(arrives(&mut idle).await.ids, vec!["guest/d".to_string()]);
}
