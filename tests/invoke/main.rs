//! End-to-end tests of invocation: each test starts the real `whirl standalone` binary (root,
//! cgroup v1 or v2, the Linux sandbox) on its own data dir and drives it over HTTP with real
//! nodejs, python and native actions (see `support`). One test binary, one module per area.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod api;
mod bad_code;
mod compositions;
mod concurrency;
mod conductors;
mod isolation;
mod leftovers;
mod pool;
mod records;
mod throttles;
