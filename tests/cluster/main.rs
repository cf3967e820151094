//! End-to-end tests of cluster mode: `whirl controller` and `whirl invoker` as separate
//! processes of the debug `whirl` binary over a private PostgreSQL store and a private NATS
//! JetStream bus, both on free loopback ports (see `harness`). Most tests share one cluster of 2
//! controllers and 3 invokers; those that kill or stop a part start their own. Without
//! PostgreSQL or nats-server installed the tests fail, saying what to install.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod harness;

mod controller_crash;
mod entities;
mod health;
mod invoker_crash;
mod npm;
mod outages;
mod throttles;
