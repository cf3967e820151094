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
}

impl CommonFlags {
    pub(crate) fn values(&self) -> Vec<(&'static str, &str)> {
        given([
            ("data_dir", &self.data_dir),
            ("runtime_manifest", &self.runtime_manifest),
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
}

impl ControllerFlags {
    pub(crate) fn values(&self) -> Vec<(&'static str, &str)> {
        given([("host", &self.host), ("port", &self.port)])
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
