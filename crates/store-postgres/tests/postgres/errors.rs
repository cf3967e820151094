//! Failures are `StoreError::Backend`, and no message or debug output carries the connection URL
//! or its password.

use std::net::{Ipv4Addr, TcpListener};
use std::time::Duration;

use whirl_store::behaviour::unique;
use whirl_store::{EntityKind, Scope, StoreError};
use whirl_store_postgres::{PgOptions, PgStore};

use crate::server;

#[track_caller]
fn assert_clean(text: &str, secrets: &[&str]) {
    for secret in secrets {
        assert!(
            !text.contains(secret),
            "{secret:?} leaked into an error or debug output: {text}"
        );
    }
}

#[track_caller]
fn backend_message<T: std::fmt::Debug>(result: Result<T, StoreError>) -> String {
    match result {
        Err(e @ StoreError::Backend(_)) => {
            let display = e.to_string();
            let debug = format!("{e:?}");
            assert!(display.starts_with("store backend: "), "{display}");
            assert!(!debug.is_empty());
            format!("{display}\n{debug}")
        }
        other => panic!("expected a backend error, got {other:?}"),
    }
}

/// Nothing listens on the port: `Backend`, quickly, without the URL or password.
#[tokio::test]
async fn refused_connection_is_a_backend_error_without_secrets() {
    let port = {
        let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        l.local_addr().unwrap().port()
    };
    let password = "Sup3r-Secret-Passw0rd";
    let url = format!("postgres://whirl:{password}@127.0.0.1:{port}/whirl_db_name");
    let options = PgOptions {
        connect_timeout: Duration::from_secs(2),
        ..PgOptions::default()
    };
    let msg = backend_message(PgStore::connect(&url, options).await);
    assert!(msg.contains("connecting to PostgreSQL"), "{msg}");
    assert_clean(&msg, &[password, &url, "whirl_db_name"]);
}

/// A URL the driver cannot parse is reported without echoing it.
#[tokio::test]
async fn invalid_url_is_reported_without_secrets() {
    for url in [
        "postgres://whirl:pw-in-a-bad-url@127.0.0.1:notaport/db",
        "host=127.0.0.1 password=pw-in-a-bad-url port=x",
        "postgres://whirl:pw-in-a-bad-url@127.0.0.1:1/db?no_such_option=1",
    ] {
        let msg = backend_message(whirl_store_postgres::connect(url).await);
        assert!(msg.contains("invalid PostgreSQL connection URL"), "{msg}");
        assert_clean(&msg, &["pw-in-a-bad-url", url]);
    }
}

/// Password authentication: a wrong password is refused without being echoed; the right one
/// works, and the store's debug output does not show it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_authentication_and_no_leaks() {
    let role = unique("pw").to_lowercase();
    let role: String = role
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .take(60)
        .collect();
    let password = "correct-horse-battery";
    let base = server()
        .create_password_role(&role, password)
        .await
        .unwrap();
    let with = |pw: &str| base.replacen(&format!("//{role}@"), &format!("//{role}:{pw}@"), 1);

    // No password at all.
    let msg = backend_message(whirl_store_postgres::connect(&base).await);
    assert_clean(&msg, &[&base]);

    let wrong = with("wrong-staple-guess");
    let msg = backend_message(whirl_store_postgres::connect(&wrong).await);
    assert!(msg.contains("password authentication failed"), "{msg}");
    assert_clean(&msg, &["wrong-staple-guess", &wrong]);

    let right = with(password);
    let store = PgStore::connect(&right, PgOptions::default())
        .await
        .unwrap();
    assert_clean(&format!("{store:?}"), &[password, &right]);
    let stores = store.into_stores();
    assert_clean(&format!("{stores:?}"), &[password, &right]);
    assert_eq!(
        stores
            .entities
            .count(EntityKind::Action, &Scope::Namespace(unique("none")))
            .await
            .unwrap(),
        0
    );
}

/// Queries against a schema that is not there (someone dropped the tables) are backend errors.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_schema_is_a_backend_error() {
    let (url, stores) = crate::fresh().await;
    crate::client(&url)
        .await
        .batch_execute("DROP TABLE entities")
        .await
        .unwrap();
    let msg = backend_message(stores.entities.get("ns/x", false).await);
    assert!(msg.contains("entities"), "{msg}");
    assert_clean(&msg, &[&url]);
}

/// TLS is not supported yet: a URL requiring it is refused up front, saying so.
#[tokio::test]
async fn required_tls_is_refused_with_a_clear_message() {
    let url = format!("{}?sslmode=require", server().url());
    let msg = backend_message(whirl_store_postgres::connect(&url).await);
    assert!(msg.contains("no TLS support"), "{msg}");
    assert_clean(&msg, &[&url]);
}
