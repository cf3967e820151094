//! Integration tests of the PostgreSQL store against private PostgreSQL servers started by
//! `whirl_store_postgres::testing` (one shared server for this binary, plus servers of their own
//! for the tests that stop and restart one). One test binary with a module per area keeps link
//! time and server start-ups down. Every test that needs a server fails, with the reason, when
//! PostgreSQL is not installed: nothing is skipped silently.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod behaviour;
mod errors;
mod launcher;
mod migrations;
mod restart;
mod scale;
mod semantics;

use whirl_store::Stores;
use whirl_store_postgres::testing::{self, PrivatePostgres};

/// The server shared by the tests of this binary.
pub fn server() -> &'static PrivatePostgres {
    testing::shared().unwrap_or_else(|e| panic!("this test needs a private PostgreSQL server: {e}"))
}

/// A new database on the shared server.
pub async fn fresh_url() -> String {
    server()
        .fresh_database()
        .await
        .unwrap_or_else(|e| panic!("creating a test database: {e}"))
}

/// Stores on a new database of the shared server.
pub async fn fresh() -> (String, Stores) {
    let url = fresh_url().await;
    let stores = whirl_store_postgres::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("connecting to {url}: {e}"));
    (url, stores)
}

/// A plain client on `url` (to look below the store).
pub async fn client(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}
