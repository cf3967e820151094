//! The container behaviour suite (`whirl_runtime::behaviour`) through the sandboxed process backend (the product path). Needs root.
//!
//! The sandbox init helper is taken from `WHIRL_SANDBOX_INIT`, or built from the `whirl-sandbox`
//! crate into this test's target dir.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use common::*;
use serde_json::json;
use whirl_runtime::behaviour as suite;
use whirl_runtime::{ActivationStatus, ContainerFactory};
use whirl_runtime_process::*;

fn init_exe() -> PathBuf {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    EXE.get_or_init(|| {
        if let Some(p) = std::env::var_os("WHIRL_SANDBOX_INIT") {
            return PathBuf::from(p);
        }
        // <target>/<profile>/deps/sandbox-xxxx → <target>/<profile>/whirl-sandbox-init
        let exe = std::env::current_exe().unwrap();
        let profile_dir = exe.parent().unwrap().parent().unwrap().to_path_buf();
        let target_dir = profile_dir.parent().unwrap().to_path_buf();
        let helper = profile_dir.join("whirl-sandbox-init");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = std::process::Command::new(cargo);
        cmd.args([
            "build",
            "-p",
            "whirl-sandbox",
            "--bin",
            "whirl-sandbox-init",
        ])
        .env("CARGO_TARGET_DIR", &target_dir);
        if profile_dir.file_name().unwrap() == "release" {
            cmd.arg("--release");
        }
        let status = cmd
            .status()
            .expect("running cargo to build whirl-sandbox-init");
        assert!(status.success(), "building whirl-sandbox-init failed");
        assert!(helper.is_file(), "{} missing after build", helper.display());
        helper
    })
    .clone()
}

fn require_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test needs root (namespaces and cgroups): run the root_* tests as root"
    );
}

fn sandboxed() -> Env {
    require_root();
    let dir = tempfile::tempdir().unwrap();
    let cfg = ProcessFactoryConfig::new(
        dir.path(),
        RuntimeManifest::detect(),
        Isolation::sandbox(Some(init_exe())),
    );
    let factory = ProcessFactory::new(cfg).unwrap();
    Env { dir, factory }
}

macro_rules! sandbox_tests {
    ($($name:ident => $suite:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let env = sandboxed();
            suite::$suite(&env.factory).await;
        }
    )*};
}

sandbox_tests!(
    root_node_sync_and_env => node_sync_and_env,
    root_node_async_named_and_warm => node_async_named_and_warm,
    root_node_module_exports_and_undefined => node_module_exports_and_undefined,
    root_node_errors => node_errors,
    root_node_rejections => node_rejections,
    root_node_init_errors => node_init_errors,
    root_node_zip => node_zip,
    root_python_actions => python_actions,
    root_python_zip_virtualenv => python_zip_virtualenv,
    root_timeout_kills => timeout_kills,
    root_log_limits => log_limits,
    root_big_result => big_result,
    root_native_exec => native_exec,
    root_lifecycle_errors => lifecycle_errors,
    root_env_and_stdin_isolation => env_and_stdin_isolation,
    root_node_concurrency => node_concurrency,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn root_oom_is_reported() {
    let env = sandboxed();
    let f = &env.factory;
    let mut s = spec("oom", "nodejs:default");
    s.memory_mb = 128;
    let mut c = f.create(s).await.unwrap();
    let code =
        "function main() { const a = []; for (;;) a.push(Buffer.alloc(8 * 1024 * 1024, 1)); }";
    assert!(c.init(init_req(code, ""), T).await.is_success());
    let out = run(&mut c, json!({})).await;
    assert_eq!(out.status, ActivationStatus::DeveloperError);
    assert_eq!(
        err_msg(&out),
        "The action exhausted its memory and was aborted."
    );
    assert!(!out.container_healthy);
    c.destroy().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn root_isolation_view() {
    let env = sandboxed();
    let f = &env.factory;
    let code = r#"
import os
def main(a):
    def can(p):
        try:
            os.listdir(p)
            return True
        except Exception:
            return False
    open('/tmp/x', 'w').write('ok')
    try:
        open('/action/x', 'w').write('ok')
        action_writable = True
    except Exception:
        action_writable = False
    return {"pid": os.getpid(), "work": can("/work"), "proc_pids": len([p for p in os.listdir('/proc') if p.isdigit()]),
            "cwd": os.getcwd(), "env": sorted(k for k in os.environ if not k.startswith('__OW_') and k not in ('LC_CTYPE',)),
            "action_writable": action_writable}
"#;
    let mut c = ready(f, "view", "python:default", init_req(code, "")).await;
    let out = run(&mut c, json!({})).await;
    assert_eq!(out.status, ActivationStatus::Success, "{out:?}");
    assert_eq!(out.result["pid"], 1);
    assert_eq!(out.result["work"], false);
    assert_eq!(out.result["proc_pids"], 1);
    assert_eq!(out.result["cwd"], "/action");
    assert_eq!(
        out.result["env"],
        json!([
            "HOME",
            "LANG",
            "PATH",
            "PYTHONDONTWRITEBYTECODE",
            "PYTHONIOENCODING"
        ])
    );
    c.pause().await.unwrap();
    let paused = tokio::time::timeout(
        Duration::from_millis(300),
        c.run(run_req(json!({})), T, LOG_LIMIT),
    );
    // A run on a paused container resumes it first.
    assert!(paused.await.unwrap().is_success());
    c.destroy().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn root_cleanup_leftovers_runs() {
    let env = sandboxed();
    env.factory.cleanup_leftovers().unwrap();
}
