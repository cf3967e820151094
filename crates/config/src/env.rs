//! The `WHIRL_*` environment variables, and the injectable source they are read through (so tests
//! hand in a map instead of calling `std::env::set_var`).

use std::collections::HashMap;
use std::fmt::Debug;

/// A TOML config file, like `--config`.
pub const CONFIG: &str = "WHIRL_CONFIG";
/// `data_dir`.
pub const DATA_DIR: &str = "WHIRL_DATA_DIR";
/// `runtime_manifest`.
pub const RUNTIME_MANIFEST: &str = "WHIRL_RUNTIME_MANIFEST";
/// `store_url` (`postgres://...`: the cluster's shared store).
pub const STORE_URL: &str = "WHIRL_STORE_URL";
/// `bus_url` (`nats://...`: the cluster's bus).
pub const BUS_URL: &str = "WHIRL_BUS_URL";
/// `host`.
pub const HOST: &str = "WHIRL_HOST";
/// `port`.
pub const PORT: &str = "WHIRL_PORT";
/// `controller_id` (cluster mode).
pub const CONTROLLER_ID: &str = "WHIRL_CONTROLLER_ID";
/// `controllers` (cluster mode: how many controllers share the throttles).
pub const CONTROLLERS: &str = "WHIRL_CONTROLLERS";
/// `bootstrap` (create the well-known namespaces and the system catalog).
pub const BOOTSTRAP: &str = "WHIRL_BOOTSTRAP";
/// `user_memory_mb`.
pub const USER_MEMORY_MB: &str = "WHIRL_USER_MEMORY_MB";
/// `stem_cells`.
pub const STEM_CELLS: &str = "WHIRL_STEM_CELLS";
/// `pause_grace_secs`.
pub const PAUSE_GRACE_SECS: &str = "WHIRL_PAUSE_GRACE_SECS";
/// `idle_timeout_secs`.
pub const IDLE_TIMEOUT_SECS: &str = "WHIRL_IDLE_TIMEOUT_SECS";
/// `isolation`.
pub const ISOLATION: &str = "WHIRL_ISOLATION";
/// `action_network`.
pub const ACTION_NETWORK: &str = "WHIRL_ACTION_NETWORK";
/// `egress_allow` (comma-separated CIDRs).
pub const EGRESS_ALLOW: &str = "WHIRL_EGRESS_ALLOW";
/// `egress_deny` (comma-separated CIDRs).
pub const EGRESS_DENY: &str = "WHIRL_EGRESS_DENY";
/// `resolv_conf`.
pub const RESOLV_CONF: &str = "WHIRL_RESOLV_CONF";
/// `invoker_id` (cluster mode).
pub const INVOKER_ID: &str = "WHIRL_INVOKER_ID";
/// `api_host` (the API URL actions get as `__OW_API_HOST`).
pub const API_HOST: &str = "WHIRL_API_HOST";
/// `health_port` (an invoker's `/ping` and `/health` listener).
pub const HEALTH_PORT: &str = "WHIRL_HEALTH_PORT";
/// The log filter (tracing `EnvFilter` syntax); not part of the typed config.
pub const LOG: &str = "WHIRL_LOG";

/// Where environment variables come from.
pub trait EnvSource: Debug {
    /// The value of `name`; `None` when unset.
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl EnvSource for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var_os(name).map(|v| v.to_string_lossy().into_owned())
    }
}

/// A fixed environment (tests, or a caller that has its own).
#[derive(Debug, Clone, Default)]
pub struct MapEnv(pub HashMap<String, String>);

impl MapEnv {
    pub fn new<K: Into<String>, V: Into<String>>(vars: impl IntoIterator<Item = (K, V)>) -> Self {
        Self(
            vars.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

impl EnvSource for MapEnv {
    fn var(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }
}

/// `name`'s value, an empty value counting as unset (for variables new with this crate; the
/// older ones keep meaning what an empty value meant before: an empty value).
pub(crate) fn non_empty(env: &dyn EnvSource, name: &str) -> Option<String> {
    env.var(name).filter(|v| !v.is_empty())
}
