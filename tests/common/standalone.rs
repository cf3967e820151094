//! Starting `whirl standalone` for the end-to-end suites: tests/e2e, tests/invoke and tests/cli
//! include this file with `#[path]`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Spawns `cmd` (a configured `whirl standalone --port 0 ...`) with stdin closed and stderr in
/// the file `log`, and waits up to `guard` for its `API host:` line. Returns the child, the API
/// host (`http://127.0.0.1:PORT`) and the port. Panics with the server's stderr if no such line
/// comes.
pub fn start(mut cmd: Command, log: &Path, guard: Duration) -> (Child, String, u16) {
    let log_file = std::fs::File::create(log).expect("log file");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log_file))
        .spawn()
        .expect("start whirl standalone");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        // Keep draining stdout for the server's whole life.
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(host) = line.strip_prefix("API host: ") {
                if let Some(tx) = tx.take() {
                    let _ = tx.send(host.trim().to_string());
                }
            }
        }
    });
    let Ok(api_host) = rx.recv_timeout(guard) else {
        let _ = child.kill();
        let _ = child.wait();
        let stderr = std::fs::read_to_string(log).unwrap_or_default();
        panic!("whirl standalone did not print its API host; stderr:\n{stderr}");
    };
    assert!(
        api_host.starts_with("http://127.0.0.1:"),
        "unexpected API host line: {api_host}"
    );
    let port = api_host
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port in API host");
    (child, api_host, port)
}
