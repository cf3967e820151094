//! End-to-end tests of the `wsk`-compatible command line: every test starts a real
//! `whirl standalone` and runs the real `whirl` binary as the client (see `support`), in a clean
//! environment with its own `HOME`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod actions;
mod activations;
mod conductors;
mod config;
mod packages;
mod triggers;
mod walkthrough;
mod web;
