//! End-to-end tests of the "Standalone platform core": each test starts the real
//! `whirl standalone` binary on its own data dir and drives it over HTTP like a user
//! (see `support`). One test binary, one module per area.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod actions;
mod activations;
mod admin;
mod alarms;
mod apigw;
mod catalog;
mod concurrency;
mod cross_cutting;
mod info;
mod limits;
mod names;
mod npm;
mod packages;
mod persistence;
mod serverless;
mod triggers_rules;
mod web;
