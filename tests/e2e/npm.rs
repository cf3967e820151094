//! Compatibility with the real `openwhisk` npm client: CRUD of every entity (tests/npm/crud.js),
//! the API gateway through `ow.routes` (tests/npm/routes.js), and the events surface: the
//! whisk.system catalog, the alarms feed through `ow.feeds`, a conductor (tests/npm/events.js).

use std::path::Path;
use std::process::Command;

use crate::support::*;

#[test]
fn npm_client() {
    run_script("crud.js", &[]);
}

/// The client's own routes integration test runs with `__OW_APIGW_TOKEN` set, so the client
/// adds `accesstoken` and `spaceguid` to every route management call.
#[test]
fn npm_client_routes_with_a_gateway_token() {
    run_script("routes.js", &[("APIGW_TOKEN", "token-of-the-suite")]);
}

#[test]
fn npm_client_routes() {
    run_script("routes.js", &[]);
}

#[test]
fn npm_client_events() {
    run_script("events.js", &[]);
}

/// Runs `tests/npm/{script}` with the real client against a fresh server.
fn run_script(script: &str, env: &[(&str, &str)]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/npm");
    npm_ci(&dir, "node_modules/openwhisk");
    let s = Server::start();
    let out = Command::new("node")
        .arg(dir.join(script))
        .env("APIHOST", &s.base)
        .env("AUTH", GUEST_KEY)
        .envs(env.iter().copied())
        .current_dir(&dir)
        .output()
        .expect("run node (is Node.js installed?)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{script} failed ({}):\n{stdout}\n{stderr}\nserver log:\n{}",
        out.status,
        s.log()
    );
    assert!(stdout.contains("all checks passed"), "{stdout}");
}
