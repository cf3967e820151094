//! The bus behaviour suite (`whirl_bus::behaviour`) against a real nats-server: each behaviour
//! is its own test, on a private server of its own, through a bus with a fresh prefix.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use whirl_bus::behaviour;
use whirl_bus_nats::testing::{unique_prefix, PrivateNats};
use whirl_bus_nats::NatsBus;

/// A private server (stopped when the test ends, even by a panic) and a bus on it with a
/// prefix of its own.
async fn fresh() -> (PrivateNats, NatsBus) {
    let nats = PrivateNats::start().expect("a private nats-server");
    let bus = whirl_bus_nats::connect(&nats.url(), &unique_prefix("behaviour"))
        .await
        .expect("connect to the private server");
    (nats, bus)
}

macro_rules! behaviours {
    ($($name:ident),* $(,)?) => {$(
        #[tokio::test]
        async fn $name() {
            let (_nats, bus) = fresh().await;
            behaviour::$name(&bus).await;
        }
    )*};
}

behaviours!(
    activations_reach_the_named_invoker_only,
    activations_keep_their_order,
    messages_survive_the_wire,
    an_unknown_invoker_is_an_error,
    one_subscription_per_invoker_and_controller,
    completions_reach_the_issuing_controller_only,
    pings_reach_every_controller,
    invalidations_reach_every_controller,
    first_deliveries_are_not_redeliveries,
    a_dropped_subscription_can_be_taken_again,
    acknowledged_activations_are_not_delivered_again,
);
