//! whirl-runtime: the container abstraction shared by the invoker and every container backend.
//!
//! A [`Container`] is created from a [`ContainerSpec`] by a [`ContainerFactory`] *before* the action
//! code is known (so it can be a prewarmed "stem cell"), then initialized once with the code
//! ([`Container::init`]) and run many times ([`Container::run`]). A factory also says which execs
//! it can run at all ([`ContainerFactory::supports`]), so the invoker does not hard-code what a
//! backend can do.
//!
//! This crate holds only what is backend independent:
//! - the abstraction ([`ContainerFactory`], [`Container`], [`ContainerSpec`], [`ExecSpec`],
//!   [`InitRequest`], [`RunRequest`], [`ActivationEnv`], [`Outcome`], [`RuntimeError`]);
//! - the ActionLoop framing and result classification ([`actionloop`]): how requests become
//!   lines, the `!` developer-error convention, how a reply becomes status + result, truncation;
//! - log collection primitives ([`logs`]): the sentinel, the log line format, bounded collection;
//! - the exact OpenWhisk messages of action outcomes ([`messages`]);
//! - the behaviour suite every backend must pass (module `behaviour`, feature `behaviour`).
//!
//! Backends live in their own crates: `whirl-runtime-process` (sandboxed launcher processes over
//! pipes, the default), later `whirl-runtime-docker` and `whirl-runtime-wasm`. The runtime
//! manifest with detected interpreters is process-backend specific and lives in
//! `whirl-runtime-process`; the backend-independent catalogue of kinds (families, defaults,
//! aliases) is `whirl_core::runtimes`.
//!
//! Protocol (ours, ActionLoop-shaped): the launcher writes `{"ok":true}` on fd 3 when it has
//! started (stem cell ready); init is one line `{"init":{"name","main","dir","file","env"}}`
//! (the runtime has already written/extracted the code into `dir`), answered `{"ok":true}`;
//! a run is one line `{"value":..,"namespace":..,"action_name":..,...}` (non-`value` keys become
//! `__OW_<KEY>`), answered by the raw JSON result. A reply starting with `!` (`!{"error":..}`)
//! is a developer error detected by the launcher (sync throw, non-dictionary result, bad code):
//! no JSON text starts with `!`, so raw ActionLoop results stay unambiguous.
//!
//! An init with `"concurrency": N` > 1 (backends that support it) switches the launcher to
//! concurrent framing: run lines carry `"seq"`, replies are `<seq> <reply>` in any order, and
//! log lines and sentinels written inside an activation are tagged `\x01<seq>\x01`
//! ([`actionloop::run_line_concurrent`], [`ConcurrentRunner`]).

pub mod actionloop;
#[cfg(feature = "behaviour")]
#[doc(hidden)]
pub mod behaviour;
pub mod logs;

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;
use serde_json::value::RawValue;

pub use logs::{format_log_line, rfc3339_nanos, LOG_SENTINEL};

/// Maximum size of an action result (whisk.activation.payload.max); larger results are truncated.
pub const MAX_RESULT_BYTES: usize = 1_048_576;

/// Errors of the runtime layer (container provisioning and management, not action outcomes).
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("The specified runtime '{0}' is not supported by this platform.")]
    UnknownKind(String),
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    #[error("failed to start the container: {0}")]
    Spawn(String),
    #[error("the container did not become ready within {0:?}")]
    StartTimeout(Duration),
    #[error("the container exited during start")]
    StartExited,
    #[error("sandbox error: {0}")]
    Sandbox(String),
    #[error("invalid zip archive: {0}")]
    Zip(String),
}

pub type Result<T, E = RuntimeError> = std::result::Result<T, E>;

/// Activation status codes (activation record `response.statusCode`), shared with the rest of
/// the platform.
pub use whirl_core::entity::ActivationStatus;

/// What a container is created for. `kind` may be an alias (`nodejs:default`, `python:3`).
#[derive(Debug, Clone)]
pub struct ContainerSpec {
    /// Unique container id (used for the work dir and the sandbox/cgroup name).
    pub id: String,
    pub kind: String,
    pub memory_mb: u32,
    /// `__OW_API_HOST` given to the action (container-level environment).
    pub api_host: String,
    /// A stem cell: it boots at the lowest CPU share, so that it yields to running actions,
    /// until [`Container::prioritize`] gives it the normal share when an activation takes it.
    pub prewarm: bool,
    /// The exec's image (`exec.image` of blackbox actions), for backends that run images.
    pub image: Option<String>,
}

/// What an action's exec needs, as far as choosing a backend goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExecSpec<'a> {
    /// `exec.kind` as stored (`nodejs:20`, `python:3`, `blackbox`).
    pub kind: &'a str,
    /// `exec.image` (blackbox actions).
    pub image: Option<&'a str>,
    /// Whether the action has code to run (inline or attachment, not blank).
    pub has_code: bool,
}

/// An exec a factory cannot run; the message is the developer error of the activation
/// (e.g. `Failed to pull container image 'x'.`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unsupported(pub String);

/// `/init` payload.
#[derive(Debug, Clone)]
pub struct InitRequest {
    /// Simple action name.
    pub name: String,
    /// Entry point; empty means `main`.
    pub main: String,
    /// Source text, or base64 (zip archive or executable) when `binary`.
    pub code: String,
    pub binary: bool,
    /// The `__OW_*` variables computed at init time plus the init parameters.
    pub env: BTreeMap<String, String>,
    /// How many activations the container may run at once (`limits.concurrency`; 1 = one
    /// after the other). Only asked of kinds the factory supports concurrency for
    /// ([`ContainerFactory::supports_concurrency`]).
    pub concurrency: u32,
}

impl Default for InitRequest {
    fn default() -> Self {
        InitRequest {
            name: String::new(),
            main: String::new(),
            code: String::new(),
            binary: false,
            env: BTreeMap::new(),
            concurrency: 1,
        }
    }
}

/// The per-activation variables exported by the launcher as `__OW_<UPPER KEY>`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ActivationEnv {
    pub namespace: String,
    pub action_name: String,
    pub action_version: String,
    pub activation_id: String,
    pub transaction_id: String,
    /// Epoch milliseconds, as a string (as OpenWhisk sends it).
    pub deadline: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
}

/// `/run` payload: the raw JSON input (passed through without re-parsing) and the activation env.
#[derive(Debug, Clone)]
pub struct RunRequest {
    pub value: Box<RawValue>,
    pub env: ActivationEnv,
}

impl RunRequest {
    /// Builds a request from an already parsed JSON value.
    pub fn from_value(value: &serde_json::Value, env: ActivationEnv) -> Self {
        let value = serde_json::value::to_raw_value(value)
            .unwrap_or_else(|_| RawValue::from_string("{}".to_string()).unwrap_or_default());
        RunRequest { value, env }
    }
}

/// Outcome of an init or a run.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub status: ActivationStatus,
    /// The result; on failure always `{"error": ...}`. `{}` for a successful init.
    pub result: serde_json::Value,
    /// Log lines already formatted as `<timestamp padded to 30> stdout|stderr: <text>`.
    pub logs: Vec<String>,
    pub duration: Duration,
    pub timed_out: bool,
    /// `false` means the invoker must destroy the container (developer/whisk errors, exits, timeouts).
    pub container_healthy: bool,
}

pub type InitOutcome = Outcome;
pub type RunOutcome = Outcome;

impl Outcome {
    pub fn is_success(&self) -> bool {
        self.status == ActivationStatus::Success
    }

    /// The `error` field of the result, if any.
    pub fn error(&self) -> Option<&serde_json::Value> {
        self.result.get("error")
    }
}

/// Creates containers of the kinds it supports.
#[async_trait]
pub trait ContainerFactory: Send + Sync {
    /// Whether this factory can run `exec`: `Ok` with the runtime kind to create containers of,
    /// or the developer error to record. The default accepts every exec as its own kind (an
    /// unknown kind then fails at [`ContainerFactory::create`] with
    /// [`RuntimeError::UnknownKind`]); backends that cannot run some execs (images, missing
    /// code) override it.
    fn supports(&self, exec: &ExecSpec<'_>) -> Result<String, Unsupported> {
        Ok(exec.kind.to_string())
    }
    /// Whether containers of runtime kind `kind` can run several activations at once
    /// (intra-container concurrency, spec §4.4: openwhisk-runtime-nodejs can, the others run
    /// one at a time). The invoker runs an action with `limits.concurrency` N > 1 on shared
    /// containers only when this holds, and one activation per container otherwise.
    fn supports_concurrency(&self, _kind: &str) -> bool {
        false
    }
    /// Starts a container (launcher process) that is ready for `init`.
    async fn create(&self, spec: ContainerSpec) -> Result<Box<dyn Container>>;
    /// Removes what a previous process left behind (work dirs, sandboxes); returns how many.
    fn cleanup_leftovers(&self) -> Result<usize>;
}

/// One container: initialized once, run many times (warm reuse), paused while idle.
#[async_trait]
pub trait Container: Send + Sync {
    fn id(&self) -> &str;
    /// The concrete kind (aliases resolved).
    fn kind(&self) -> &str;
    async fn init(&mut self, req: InitRequest, timeout: Duration) -> InitOutcome;
    /// The direct warm path: one line to the launcher, one line back, logs until the sentinels.
    async fn run(&mut self, req: RunRequest, timeout: Duration, log_limit_bytes: u64)
        -> RunOutcome;
    /// After an init with [`InitRequest::concurrency`] > 1: the handle that runs up to that
    /// many activations at once on this container. `None` when the container runs one at a
    /// time (then [`Container::run`] is the way in). While runs are in flight through the
    /// handle, the container itself is only kept, not used; it is paused, resumed and
    /// destroyed as usual once they have ended.
    fn concurrent(&self) -> Option<std::sync::Arc<dyn ConcurrentRunner>> {
        None
    }
    async fn pause(&mut self) -> Result<()>;
    async fn resume(&mut self) -> Result<()>;
    /// Gives a container created with [`ContainerSpec::prewarm`] the normal CPU share for its
    /// memory (no-op otherwise, and without isolation).
    async fn prioritize(&mut self) -> Result<()>;
    async fn destroy(self: Box<Self>) -> Result<()>;
}

/// Runs activations concurrently on one initialised container (see [`Container::concurrent`]).
/// Each run's logs are its own: the backend attributes every log line to the activation that
/// wrote it, and applies the log limit per activation.
#[async_trait]
pub trait ConcurrentRunner: Send + Sync + std::fmt::Debug {
    async fn run(&self, req: RunRequest, timeout: Duration, log_limit_bytes: u64) -> RunOutcome;
    /// `false` once a run failed in a way that leaves the container unusable (developer error,
    /// exit, timeout): it takes no new activations and is destroyed when the others end.
    fn healthy(&self) -> bool;
}

/// Exact OpenWhisk messages used in action outcomes.
pub mod messages {
    use std::time::Duration;

    pub const ABNORMAL_INIT: &str = "The action did not initialize and exited unexpectedly.";
    pub const ABNORMAL_RUN: &str =
        "The action did not produce a valid response and exited unexpectedly.";
    pub const MEMORY_EXHAUSTED: &str = "The action exhausted its memory and was aborted.";
    pub const LOGS_MAY_BE_MISSING: &str =
        "The action did not initialize or run as expected. Log data might be missing.";
    pub const NOT_A_DICTIONARY: &str = "The action did not return a dictionary.";
    pub const DOUBLE_INIT: &str = "Cannot initialize the action more than once.";
    pub const NOT_INITIALIZED: &str = "no action defined yet";
    pub const NO_CODE: &str = "Missing main/no code to execute.";
    pub const NO_BINARY: &str =
        "The action failed to generate or locate a binary. See logs for details.";
    pub const BAD_ARCHIVE: &str = "There was an error uncompressing the action archive.";

    pub fn timed_out(timeout: Duration, init: bool) -> String {
        format!(
            "The action exceeded its time limits of {} milliseconds{}",
            timeout.as_millis(),
            if init { " during initialization." } else { "." }
        )
    }

    pub fn invalid_run_response(output: &str) -> String {
        let t = output.trim();
        if t.is_empty() {
            "The action did not produce a valid JSON or JSON Array response".to_string()
        } else {
            format!("The action did not produce a valid JSON or JSON Array response: {t}")
        }
    }

    pub fn truncated_response(trunk: &str, length: usize, max: usize) -> String {
        format!(
            "The action produced a response that exceeded the allowed length: {length} > {max} bytes. The truncated response was: {trunk}"
        )
    }

    pub fn logs_truncated(limit: u64) -> String {
        format!(
            "Logs were truncated because the total bytes size exceeds the limit of {limit} bytes."
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    struct Nothing;

    #[async_trait]
    impl ContainerFactory for Nothing {
        async fn create(&self, spec: ContainerSpec) -> Result<Box<dyn Container>> {
            Err(RuntimeError::UnknownKind(spec.kind))
        }
        fn cleanup_leftovers(&self) -> Result<usize> {
            Ok(0)
        }
    }

    #[test]
    fn default_supports_runs_the_kind_as_named() {
        let exec = ExecSpec {
            kind: "nodejs:20",
            image: None,
            has_code: true,
        };
        assert_eq!(Nothing.supports(&exec), Ok("nodejs:20".to_string()));
    }
}
