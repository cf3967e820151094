//! Compatibility with the real `openwhisk` npm client (tests/npm/crud.js).

use std::path::Path;
use std::process::Command;

use crate::support::*;

#[test]
fn npm_client() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/npm");
    if !dir.join("node_modules/openwhisk").is_dir() {
        // A fresh clone: install the locked client once (CI does this in .ci/run).
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&dir)
            .status()
            .expect("run npm (is Node.js with npm installed?)");
        assert!(
            status.success(),
            "`npm ci --prefix tests/npm` failed: {status}"
        );
    }
    assert!(
        dir.join("node_modules/openwhisk").is_dir(),
        "tests/npm/node_modules/openwhisk is missing after `npm ci`"
    );
    let s = Server::start();
    let out = Command::new("node")
        .arg(dir.join("crud.js"))
        .env("APIHOST", &s.base)
        .env("AUTH", GUEST_KEY)
        .current_dir(&dir)
        .output()
        .expect("run node (is Node.js installed?)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "crud.js failed ({}):\n{stdout}\n{stderr}\nserver log:\n{}",
        out.status,
        s.log()
    );
    assert!(stdout.contains("all checks passed"), "{stdout}");
}
