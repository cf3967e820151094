//! The container behaviour suite (`whirl_runtime::behaviour`) through the plain (unsandboxed) process backend.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use whirl_runtime::behaviour as suite;

macro_rules! plain_tests {
    ($($name:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let env = common::plain();
            suite::$name(&env.factory).await;
        }
    )*};
}

plain_tests!(
    node_sync_and_env,
    node_async_named_and_warm,
    node_module_exports_and_undefined,
    node_errors,
    node_rejections,
    node_init_errors,
    node_zip,
    python_actions,
    python_zip_virtualenv,
    timeout_kills,
    log_limits,
    big_result,
    native_exec,
    lifecycle_errors,
    env_and_stdin_isolation,
    node_concurrency,
);
