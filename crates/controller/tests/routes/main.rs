//! Route tests: the whole axum application over a temporary SQLite store, driven in-process
//! with `tower::ServiceExt::oneshot` (no socket, no root). Invocations go over the in-process
//! bus to a fake invoker ([`harness::FakeInvoker`]) that answers with canned results.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod harness;

mod activations;
mod auth;
mod crud;
mod fire;
mod invoke;
mod paging;
