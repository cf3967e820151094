//! Command-line flags of each part, as clap argument groups that a role's command flattens.
//! Flags are taken as text and parsed by this crate, so a bad flag gets the same kind of message
//! as a bad variable or file key. They do not read the environment: the layering does.

use clap::Args;

/// Flags of [`crate::CommonConfig`] and the config file.
#[derive(Debug, Clone, Default, Args)]
pub struct CommonFlags {
    /// A TOML config file with the keys `whirl config print` shows [env: WHIRL_CONFIG].
    #[arg(long, value_name = "FILE")]
    pub config: Option<String>,
    /// Where the database and runtime files live [env: WHIRL_DATA_DIR] [default: the user's
    /// data dir + /whirl].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<String>,
    /// A runtime manifest (JSON, the shape `GET /` shows under each kind) replacing the detected
    /// one: kinds, aliases, interpreters, stem cells [env: WHIRL_RUNTIME_MANIFEST].
    #[arg(long, value_name = "FILE")]
    pub runtime_manifest: Option<String>,
    /// The cluster's store, `postgres://USER:PASSWORD@HOST:PORT/DB` [env: WHIRL_STORE_URL]
    /// [default: SQLite under the data dir].
    #[arg(long, value_name = "URL")]
    pub store_url: Option<String>,
    /// The cluster's bus, `nats://HOST:PORT` [env: WHIRL_BUS_URL] [default: the in-process bus
    /// of standalone].
    #[arg(long, value_name = "URL")]
    pub bus_url: Option<String>,
}

impl CommonFlags {
    pub(crate) fn values(&self) -> Vec<(&'static str, &str)> {
        given([
            ("data_dir", &self.data_dir),
            ("runtime_manifest", &self.runtime_manifest),
            ("store_url", &self.store_url),
            ("bus_url", &self.bus_url),
        ])
    }
}

/// Flags of [`crate::ControllerRoleConfig`].
#[derive(Debug, Clone, Default, Args)]
pub struct ControllerFlags {
    /// Address to listen on [env: WHIRL_HOST] [default: 127.0.0.1].
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,
    /// Port to listen on, 0 picks a free one [env: WHIRL_PORT] [default: 3233].
    #[arg(long, value_name = "PORT")]
    pub port: Option<String>,
    /// This controller's instance number, unique in the cluster [env: WHIRL_CONTROLLER_ID]
    /// [default: 0].
    #[arg(long, value_name = "N")]
    pub controller_id: Option<String>,
    /// How many controllers serve the cluster; each enforces its share of the namespace
    /// throttles [env: WHIRL_CONTROLLERS] [default: 1].
    #[arg(long, value_name = "N")]
    pub controllers: Option<String>,
    /// Create `guest` and `whisk.system` with OpenWhisk's public development keys and install
    /// the system catalog at start [env: WHIRL_BOOTSTRAP] [default: true].
    #[arg(long, value_name = "true|false")]
    pub bootstrap: Option<String>,
}

impl ControllerFlags {
    pub(crate) fn values(&self) -> Vec<(&'static str, &str)> {
        given([
            ("host", &self.host),
            ("port", &self.port),
            ("controller_id", &self.controller_id),
            ("controllers", &self.controllers),
            ("bootstrap", &self.bootstrap),
        ])
    }
}

/// Flags of [`crate::InvokerRoleConfig`].
#[derive(Debug, Clone, Default, Args)]
pub struct InvokerFlags {
    /// Memory for action containers in MB (sum of their memory limits)
    /// [env: WHIRL_USER_MEMORY_MB] [default: 4096].
    #[arg(long, value_name = "MB")]
    pub user_memory_mb: Option<String>,
    /// Prewarmed containers per kind: `KIND:COUNT:MEMORY_MB`, comma separated, or `none`
    /// [env: WHIRL_STEM_CELLS] [default: the runtime manifest's, 2 × 256 MB for nodejs and
    /// python].
    #[arg(long, value_name = "SPEC")]
    pub stem_cells: Option<String>,
    /// Seconds a warm container stays unpaused after a run (OpenWhisk's pause grace)
    /// [env: WHIRL_PAUSE_GRACE_SECS] [default: 10].
    #[arg(long, value_name = "SECS")]
    pub pause_grace_secs: Option<String>,
    /// Seconds an idle container is kept before it is destroyed
    /// [env: WHIRL_IDLE_TIMEOUT_SECS] [default: 600].
    #[arg(long, value_name = "SECS")]
    pub idle_timeout_secs: Option<String>,
    /// How action processes are isolated: `sandbox` (namespaces, cgroups, seccomp; needs root
    /// or user namespaces) or `none` (plain processes: development only, no isolation at all)
    /// [env: WHIRL_ISOLATION] [default: sandbox].
    #[arg(long, value_name = "sandbox|none")]
    pub isolation: Option<String>,
    /// This invoker's instance number, unique in the cluster [env: WHIRL_INVOKER_ID]
    /// [default: 0].
    #[arg(long, value_name = "N")]
    pub invoker_id: Option<String>,
    /// The API URL actions get as `__OW_API_HOST` [env: WHIRL_API_HOST] [default: standalone's
    /// own address; a cluster invoker must be told].
    #[arg(long, value_name = "URL")]
    pub api_host: Option<String>,
    /// Port of the invoker's `GET /ping` and `GET /health`, 0 picks a free one (printed as
    /// `Health port: N`) [env: WHIRL_HEALTH_PORT] [default: none].
    #[arg(long, value_name = "PORT")]
    pub health_port: Option<String>,
    /// The network actions see: `egress` (outside networks under the policy, and the API host
    /// at __OW_API_HOST) or `none` (loopback only) [env: WHIRL_ACTION_NETWORK]
    /// [default: egress].
    #[arg(long, value_name = "egress|none")]
    pub action_network: Option<String>,
    /// Opens a range of the default deny list to actions (CIDR or address; repeatable)
    /// [env: WHIRL_EGRESS_ALLOW, comma separated].
    #[arg(long, value_name = "CIDR")]
    pub egress_allow: Vec<String>,
    /// Closes a range to actions, winning over --egress-allow (CIDR or address; repeatable)
    /// [env: WHIRL_EGRESS_DENY, comma separated].
    #[arg(long, value_name = "CIDR")]
    pub egress_deny: Vec<String>,
    /// The resolver configuration whose name servers answer actions' DNS queries
    /// [env: WHIRL_RESOLV_CONF] [default: /etc/resolv.conf].
    #[arg(long, value_name = "FILE")]
    pub resolv_conf: Option<String>,
}

impl InvokerFlags {
    pub(crate) fn values(&self) -> Vec<(&'static str, &str)> {
        let mut v = given([
            ("user_memory_mb", &self.user_memory_mb),
            ("stem_cells", &self.stem_cells),
            ("pause_grace_secs", &self.pause_grace_secs),
            ("idle_timeout_secs", &self.idle_timeout_secs),
            ("isolation", &self.isolation),
            ("invoker_id", &self.invoker_id),
            ("api_host", &self.api_host),
            ("health_port", &self.health_port),
            ("action_network", &self.action_network),
            ("resolv_conf", &self.resolv_conf),
        ]);
        v.extend(
            self.egress_allow
                .iter()
                .map(|c| ("egress_allow", c.as_str())),
        );
        v.extend(self.egress_deny.iter().map(|c| ("egress_deny", c.as_str())));
        v
    }
}

/// Flags of `whirl controller`.
#[derive(Debug, Clone, Default, Args)]
pub struct ControllerRoleFlags {
    #[command(flatten)]
    pub common: CommonFlags,
    #[command(flatten)]
    pub controller: ControllerFlags,
}

impl ControllerRoleFlags {
    pub(crate) fn values(&self) -> Vec<(&'static str, &str)> {
        let mut v = self.common.values();
        v.extend(self.controller.values());
        v
    }
}

/// Flags of `whirl invoker`.
#[derive(Debug, Clone, Default, Args)]
pub struct InvokerRoleFlags {
    #[command(flatten)]
    pub common: CommonFlags,
    #[command(flatten)]
    pub invoker: InvokerFlags,
}

impl InvokerRoleFlags {
    pub(crate) fn values(&self) -> Vec<(&'static str, &str)> {
        let mut v = self.common.values();
        v.extend(self.invoker.values());
        v
    }
}

/// Flags of `whirl standalone` (and `whirl config print`).
#[derive(Debug, Clone, Default, Args)]
pub struct StandaloneFlags {
    #[command(flatten)]
    pub common: CommonFlags,
    #[command(flatten)]
    pub controller: ControllerFlags,
    #[command(flatten)]
    pub invoker: InvokerFlags,
}

impl StandaloneFlags {
    pub(crate) fn values(&self) -> Vec<(&'static str, &str)> {
        let mut v = self.common.values();
        v.extend(self.controller.values());
        v.extend(self.invoker.values());
        v
    }
}

fn given<'a, const N: usize>(
    flags: [(&'static str, &'a Option<String>); N],
) -> Vec<(&'static str, &'a str)> {
    flags
        .into_iter()
        .filter_map(|(k, v)| v.as_deref().map(|v| (k, v)))
        .collect()
}
