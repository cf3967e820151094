//! The private-server launcher leaves nothing behind: not when a test panics, not when the test
//! process is killed.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use whirl_store_postgres::testing::PrivatePostgres;

const CHILD_ENV: &str = "WHIRL_PG_LAUNCHER_CHILD";

fn listening(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_ok()
}

/// Wait (bounded) until the server's directory is gone and its port closed.
fn wait_for_cleanup(dir: &Path, port: u16) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while (dir.exists() || listening(port)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!dir.exists(), "{} left behind", dir.display());
    assert!(!listening(port), "a server still listens on {port}");
}

/// A panicking test stops its server (immediate shutdown) and removes its files while unwinding.
#[test]
fn server_is_stopped_when_a_test_panics() {
    let (tx, rx) = mpsc::channel();
    let test = std::thread::spawn(move || {
        let pg = PrivatePostgres::launch()
            .unwrap_or_else(|e| panic!("this test needs a private PostgreSQL server: {e}"));
        assert!(listening(pg.port()));
        tx.send((pg.port(), pg.data_dir().parent().unwrap().to_path_buf()))
            .unwrap();
        panic!("deliberate panic of a test holding a PrivatePostgres");
    });
    assert!(test.join().is_err());
    let (port, dir) = rx.recv().unwrap();
    // Drop ran during unwinding, so this holds at once.
    assert!(!dir.exists(), "{} left behind", dir.display());
    assert!(!listening(port));
}

/// Child mode of `server_of_a_killed_test_process_is_cleaned_up` (does nothing in a normal run).
#[test]
fn launcher_child() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let pg = PrivatePostgres::launch().unwrap();
    println!(
        "READY {} {}",
        pg.port(),
        pg.data_dir().parent().unwrap().display()
    );
    std::thread::sleep(Duration::from_secs(600));
}

/// SIGKILL of a test process holding a server: its watchdog stops the server and removes the
/// directory.
#[test]
fn server_of_a_killed_test_process_is_cleaned_up() {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "launcher::launcher_child",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            // libtest may have printed `test … ... ` before it on the same line.
            if let Some((_, rest)) = line.split_once("READY ") {
                let _ = tx.send(rest.to_string());
            }
        }
    });
    let ready = rx.recv_timeout(Duration::from_secs(120));
    let Ok(ready) = ready else {
        let _ = child.kill();
        panic!("the child never reported a running server: {ready:?}");
    };
    let (port, dir) = ready.split_once(' ').unwrap();
    let (port, dir): (u16, PathBuf) = (port.parse().unwrap(), dir.into());
    assert!(dir.join("data/PG_VERSION").is_file());
    assert!(listening(port));

    // `Child::kill` is SIGKILL: no destructor runs in the child.
    child.kill().unwrap();
    child.wait().unwrap();
    wait_for_cleanup(&dir, port);
}

/// The blocking helpers work without a tokio runtime (as end-to-end tests driving the real binary
/// would use them), and databases are separate.
#[test]
fn databases_can_be_created_without_a_runtime() {
    let pg = crate::server();
    let a = pg.fresh_database_blocking().unwrap();
    let b = pg.fresh_database_blocking().unwrap();
    assert_ne!(a, b);
    assert!(a.starts_with(&format!("postgres://whirl@127.0.0.1:{}/t_", pg.port())));
    let err = pg.create_database_blocking("bad name").unwrap_err();
    assert!(err.to_string().contains("a-z"), "{err}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let sa = whirl_store_postgres::connect(&a).await.unwrap();
        let sb = whirl_store_postgres::connect(&b).await.unwrap();
        whirl_store::behaviour::auth_namespaces(&sa).await;
        assert!(sb.auth.list_namespaces().await.unwrap().is_empty());
    });
}
