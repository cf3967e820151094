//! The real `openwhisk` npm client against the cluster: tests/npm/crud.js (CRUD of actions,
//! packages, triggers and rules, invokes, activations) passes against controller 1 of the
//! shared cluster, as it does against `whirl standalone` (tests/e2e/npm.rs).

use std::path::Path;
use std::process::Command;

use crate::harness::{shared, GUEST_KEY};

#[test]
fn npm_client_crud_against_controller_1() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/npm");
    npm_ci(&dir);
    let cluster = shared();
    let out = Command::new("node")
        .arg(dir.join("crud.js"))
        .env("APIHOST", &cluster.controllers[1].base)
        .env("AUTH", GUEST_KEY)
        .current_dir(&dir)
        .output()
        .expect("run node (is Node.js installed?)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "crud.js failed ({}):\n{stdout}\n{stderr}\n{}",
        out.status,
        cluster.logs()
    );
    assert!(stdout.contains("all checks passed"), "{stdout}");
}

/// `npm ci` in `dir` unless the client is installed already (.ci/run installs it).
fn npm_ci(dir: &Path) {
    if !dir.join("node_modules/openwhisk").exists() {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(dir)
            .status()
            .expect("run npm (is Node.js with npm installed?)");
        assert!(
            status.success(),
            "`npm ci` in {} failed: {status}",
            dir.display()
        );
    }
    assert!(dir.join("node_modules/openwhisk").exists());
}
