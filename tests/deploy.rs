//! The deployment layer (`deploy/`): `deploy/validate.sh` renders every kustomization under
//! `deploy/kubernetes` with `kubectl kustomize` and checks every object against the Kubernetes
//! schemas (`kubernetes-validate --strict`), plus whirl's own rules (controller replicas equal to
//! `WHIRL_CONTROLLERS`, the invoker's memory limit above `user_memory_mb`). This runs it, so that
//! `cargo test --workspace` checks the manifests too.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Stdio};

/// Whether `cmd` runs (found on PATH and exits 0 with `args`).
fn runs(cmd: &str, args: &[&str]) -> bool {
    Command::new(cmd)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn manifests_render_and_validate_against_the_kubernetes_schemas() {
    assert!(
        runs("kubectl", &["version", "--client"]),
        "kubectl is not installed; deploy/validate.sh renders the manifests with `kubectl \
         kustomize` (Debian: apt-get install kubernetes-client; .ci/run installs it)"
    );
    assert!(
        runs("kubernetes-validate", &["--version"])
            || runs("python3", &["-c", "import kubernetes_validate"]),
        "kubernetes-validate is not installed; deploy/validate.sh checks every object with it \
         (pip install kubernetes-validate; .ci/run installs it)"
    );
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/validate.sh");
    let out = Command::new("bash")
        .arg(&script)
        .output()
        .expect("cannot run bash");
    assert!(
        out.status.success(),
        "{} failed ({}):\n{}\n{}",
        script.display(),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("== base") && stdout.contains("== overlays/external-services"),
        "deploy/validate.sh did not check the base and the external-services overlay:\n{stdout}"
    );
}
