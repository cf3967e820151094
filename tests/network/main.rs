//! End-to-end tests of the action network: each test starts the real `whirl standalone` (root,
//! the Linux sandbox, the default `--action-network egress` or the flags under test) and runs
//! real actions that try to reach test hosts this process builds in its own network namespaces
//! (see `testnet`): a public-looking host at TEST-NET addresses, decoys at private, shared,
//! link-local and unique-local addresses, and listeners on the machine itself. Traffic goes
//! nowhere else. The tests run one at a time (they look at host-wide state: bridges, nftables
//! tables, IP forwarding).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
#[path = "../invoke/support.rs"]
mod support;

mod common;
mod testnet;

mod api;
mod bad_input;
mod dns;
mod leftovers;
mod policy;
