//! Assembles Whirl's roles into a running process: [`standalone`] (the controller and the
//! invoker in one process, by default over the in-process bus and the SQLite store), and the
//! cluster's [`controller`] and [`invoker`] processes over NATS JetStream and PostgreSQL. Also
//! [`admin`], the `whirl admin` commands, which work on the same store.
//!
//! This crate is the binary's assembly: its errors are `anyhow` errors with context, printed by
//! `main` as they are.

use std::path::Path;

use anyhow::{Context, Result};
use whirl_store::Stores;

pub mod admin;
mod bootstrap;
mod catalog;
pub mod controller;
pub mod invoker;
mod parts;
pub mod standalone;

/// Log to stderr, filtered by `WHIRL_LOG` (tracing `EnvFilter` syntax; default `warn`).
pub fn init_tracing() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env(whirl_config::env::LOG)
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
}

fn tokio_runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start tokio")
}

/// The SQLite stores in `data_dir` (created if missing).
fn open_sqlite(data_dir: &Path) -> Result<Stores> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create data dir {}", data_dir.display()))?;
    whirl_store::sqlite::open(&data_dir.join("whirl.db"))
        .with_context(|| format!("cannot open the store in {}", data_dir.display()))
}
