//! The parts roles are made of: [`CommonConfig`] (what every process of a deployment shares),
//! [`ControllerRoleConfig`] and [`InvokerRoleConfig`]. `whirl standalone` is all three; the
//! cluster roles (`whirl controller`, `whirl invoker`) are each the common part plus theirs.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use serde::{Serialize, Serializer};

use crate::env;
use crate::error::Result;
use crate::layers::{Key, Layer};
use crate::parse::{self, At, Raw};
use crate::stem_cells::{self, StemCells};

/// `host`'s default: loopback only.
pub const DEFAULT_HOST: &str = "127.0.0.1";
/// `port`'s default: OpenWhisk standalone's.
pub const DEFAULT_PORT: u16 = 3233;
/// `user_memory_mb`'s default.
pub const DEFAULT_USER_MEMORY_MB: u64 = 4096;
/// `pause_grace_secs`'s default (OpenWhisk's pause grace).
pub const DEFAULT_PAUSE_GRACE_SECS: u64 = 10;
/// `idle_timeout_secs`'s default (OpenWhisk's idle container timeout).
pub const DEFAULT_IDLE_TIMEOUT_SECS: u64 = 600;

/// Defaults that depend on the machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Defaults {
    /// `data_dir`'s default.
    pub data_dir: PathBuf,
}

impl Defaults {
    /// This machine's: the data dir is the user's data dir (or the temp dir) + `/whirl`.
    pub fn from_system() -> Self {
        Self {
            data_dir: dirs::data_dir()
                .unwrap_or_else(std::env::temp_dir)
                .join("whirl"),
        }
    }
}

fn secs<S: Serializer>(d: &Duration, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_secs())
}

/// Settings every process of a deployment shares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommonConfig {
    /// Where the SQLite database and the runtime files live.
    pub data_dir: PathBuf,
    /// A runtime manifest replacing the detected one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime_manifest: Option<PathBuf>,
    /// The shared store of a cluster (`postgres://...`); unset: SQLite under `data_dir`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store_url: Option<String>,
    /// The bus of a cluster (`nats://...`); unset: the in-process bus of standalone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bus_url: Option<String>,
}

/// Settings of the controller (the REST API).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ControllerRoleConfig {
    /// Address to listen on.
    pub host: String,
    /// Port to listen on (0 picks a free one).
    pub port: u16,
    /// This controller's instance number in a cluster.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub controller_id: Option<u32>,
    /// How many controllers serve the cluster: each enforces its share of a namespace's
    /// throttles (OpenWhisk divides them by the number of controllers).
    pub controllers: u32,
    /// Create the well-known namespaces (`guest`, `whisk.system`, with OpenWhisk's public
    /// development keys) and install the system catalog at start.
    pub bootstrap: bool,
}

/// How action processes are isolated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Isolation {
    /// Namespaces, cgroups, seccomp (needs root or user namespaces).
    #[default]
    Sandbox,
    /// Plain processes: development only, no isolation at all.
    None,
}

impl FromStr for Isolation {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "sandbox" => Ok(Isolation::Sandbox),
            "none" => Ok(Isolation::None),
            _ => Err(String::new()),
        }
    }
}

/// The network actions see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ActionNetwork {
    /// Outside networks under the egress policy, and the API host (`__OW_API_HOST`).
    #[default]
    Egress,
    /// Loopback only: no route out, no API host.
    None,
}

impl FromStr for ActionNetwork {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "egress" => Ok(ActionNetwork::Egress),
            "none" => Ok(ActionNetwork::None),
            _ => Err(String::new()),
        }
    }
}

fn cidrs<S: Serializer>(v: &[ipnet::IpNet], s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_seq(v.iter().map(ToString::to_string))
}

/// Settings of the invoker (the container pool).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvokerRoleConfig {
    /// Memory for action containers in MB (sum of their memory limits).
    pub user_memory_mb: u64,
    /// Prewarmed containers per kind.
    #[serde(skip_serializing_if = "StemCells::is_manifest")]
    pub stem_cells: StemCells,
    /// How long a warm container stays unpaused after a run.
    #[serde(rename = "pause_grace_secs", serialize_with = "secs")]
    pub pause_grace: Duration,
    /// How long an idle container is kept before it is destroyed.
    #[serde(rename = "idle_timeout_secs", serialize_with = "secs")]
    pub idle_timeout: Duration,
    pub isolation: Isolation,
    /// The network actions see (sandbox isolation only: plain processes share the host's).
    pub action_network: ActionNetwork,
    /// Ranges of the default deny list opened to actions (egress).
    #[serde(serialize_with = "cidrs")]
    pub egress_allow: Vec<ipnet::IpNet>,
    /// Ranges closed to actions; wins over `egress_allow` (egress).
    #[serde(serialize_with = "cidrs")]
    pub egress_deny: Vec<ipnet::IpNet>,
    /// The resolver configuration whose name servers answer actions' DNS queries (egress).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolv_conf: Option<PathBuf>,
    /// This invoker's instance number in a cluster.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoker_id: Option<u32>,
    /// The API URL actions get as `__OW_API_HOST` (a cluster invoker must be told; standalone
    /// uses its own address).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_host: Option<String>,
    /// Port of an invoker's `GET /ping` and `GET /health` (cluster mode; unset: none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_port: Option<u16>,
}

const PATH: &str = "a path";
const URL: &str = "a URL";
const ID: &str = "an instance number (0, 1, ...)";
const INVOKER_ID: &str = "an instance number from 0 to 1023";
/// The largest invoker id: controllers keep a slot per id up to the highest they hear of.
pub const MAX_INVOKER_ID: u32 = 1023;

/// [`CommonConfig`] being layered.
#[derive(Debug, Clone, Default)]
pub(crate) struct CommonLayer {
    data_dir: Option<PathBuf>,
    runtime_manifest: Option<PathBuf>,
    store_url: Option<String>,
    bus_url: Option<String>,
}

impl CommonLayer {
    pub(crate) const KEYS: &'static [Key] = &[
        Key {
            name: "data_dir",
            env: env::DATA_DIR,
            when_unset: "",
        },
        Key {
            name: "runtime_manifest",
            env: env::RUNTIME_MANIFEST,
            when_unset: "the manifest detected on this machine",
        },
        Key {
            name: "store_url",
            env: env::STORE_URL,
            when_unset: "SQLite under data_dir",
        },
        Key {
            name: "bus_url",
            env: env::BUS_URL,
            when_unset: "the in-process bus",
        },
    ];

    pub(crate) fn resolve(self, defaults: &Defaults) -> CommonConfig {
        CommonConfig {
            data_dir: self.data_dir.unwrap_or_else(|| defaults.data_dir.clone()),
            runtime_manifest: self.runtime_manifest,
            store_url: self.store_url,
            bus_url: self.bus_url,
        }
    }
}

impl Layer for CommonLayer {
    fn keys(&self) -> &'static [Key] {
        Self::KEYS
    }

    fn set(&mut self, key: &str, raw: Raw<'_>, at: &At) -> Result<bool> {
        match key {
            "data_dir" => self.data_dir = Some(parse::path(raw, at, PATH)?),
            "runtime_manifest" => self.runtime_manifest = Some(parse::path(raw, at, PATH)?),
            "store_url" => self.store_url = Some(parse::text(raw, at, URL)?),
            "bus_url" => self.bus_url = Some(parse::text(raw, at, URL)?),
            _ => return Ok(false),
        }
        Ok(true)
    }
}

/// A list key's new value: a flag given again adds to the list the flags started; any other
/// layer replaces what came before.
fn add_cidrs(slot: &mut Option<(Vec<ipnet::IpNet>, bool)>, new: Vec<ipnet::IpNet>, at: &At) {
    let from_flag = matches!(at.origin, crate::Origin::Flag(_));
    match slot {
        Some((list, true)) if from_flag => list.extend(new),
        _ => *slot = Some((new, from_flag)),
    }
}

/// [`ControllerRoleConfig`] being layered.
#[derive(Debug, Clone, Default)]
pub(crate) struct ControllerLayer {
    host: Option<String>,
    port: Option<u16>,
    controller_id: Option<u32>,
    controllers: Option<u32>,
    bootstrap: Option<bool>,
}

impl ControllerLayer {
    pub(crate) const KEYS: &'static [Key] = &[
        Key {
            name: "host",
            env: env::HOST,
            when_unset: "",
        },
        Key {
            name: "port",
            env: env::PORT,
            when_unset: "",
        },
        Key {
            name: "controller_id",
            env: env::CONTROLLER_ID,
            when_unset: "0",
        },
        Key {
            name: "controllers",
            env: env::CONTROLLERS,
            when_unset: "",
        },
        Key {
            name: "bootstrap",
            env: env::BOOTSTRAP,
            when_unset: "",
        },
    ];

    pub(crate) fn resolve(self) -> ControllerRoleConfig {
        ControllerRoleConfig {
            host: self.host.unwrap_or_else(|| DEFAULT_HOST.to_string()),
            port: self.port.unwrap_or(DEFAULT_PORT),
            controller_id: self.controller_id,
            controllers: self.controllers.unwrap_or(1),
            bootstrap: self.bootstrap.unwrap_or(true),
        }
    }
}

impl Layer for ControllerLayer {
    fn keys(&self) -> &'static [Key] {
        Self::KEYS
    }

    fn set(&mut self, key: &str, raw: Raw<'_>, at: &At) -> Result<bool> {
        match key {
            "host" => self.host = Some(parse::text(raw, at, "a host name or IP address")?),
            "port" => self.port = Some(parse::unsigned(raw, at, "a port number")?),
            "controller_id" => self.controller_id = Some(parse::unsigned(raw, at, ID)?),
            "controllers" => {
                let n: u32 = parse::unsigned(raw, at, "a number of controllers (1 or more)")?;
                if n == 0 {
                    return Err(raw.invalid(at, "a number of controllers (1 or more)"));
                }
                self.controllers = Some(n);
            }
            "bootstrap" => self.bootstrap = Some(parse::boolean(raw, at, "true or false")?),
            _ => return Ok(false),
        }
        Ok(true)
    }
}

/// [`InvokerRoleConfig`] being layered.
#[derive(Debug, Clone, Default)]
pub(crate) struct InvokerLayer {
    user_memory_mb: Option<u64>,
    stem_cells: Option<StemCells>,
    pause_grace_secs: Option<u64>,
    idle_timeout_secs: Option<u64>,
    isolation: Option<Isolation>,
    action_network: Option<ActionNetwork>,
    /// The list and whether a flag set it (repeated flags add up).
    egress_allow: Option<(Vec<ipnet::IpNet>, bool)>,
    egress_deny: Option<(Vec<ipnet::IpNet>, bool)>,
    resolv_conf: Option<PathBuf>,
    invoker_id: Option<u32>,
    api_host: Option<String>,
    health_port: Option<u16>,
}

impl InvokerLayer {
    pub(crate) const KEYS: &'static [Key] = &[
        Key {
            name: "user_memory_mb",
            env: env::USER_MEMORY_MB,
            when_unset: "",
        },
        Key {
            name: "stem_cells",
            env: env::STEM_CELLS,
            when_unset: "the runtime manifest's",
        },
        Key {
            name: "pause_grace_secs",
            env: env::PAUSE_GRACE_SECS,
            when_unset: "",
        },
        Key {
            name: "idle_timeout_secs",
            env: env::IDLE_TIMEOUT_SECS,
            when_unset: "",
        },
        Key {
            name: "isolation",
            env: env::ISOLATION,
            when_unset: "",
        },
        Key {
            name: "action_network",
            env: env::ACTION_NETWORK,
            when_unset: "",
        },
        Key {
            name: "egress_allow",
            env: env::EGRESS_ALLOW,
            when_unset: "",
        },
        Key {
            name: "egress_deny",
            env: env::EGRESS_DENY,
            when_unset: "",
        },
        Key {
            name: "resolv_conf",
            env: env::RESOLV_CONF,
            when_unset: "/etc/resolv.conf",
        },
        Key {
            name: "invoker_id",
            env: env::INVOKER_ID,
            when_unset: "0",
        },
        Key {
            name: "api_host",
            env: env::API_HOST,
            when_unset: "standalone: its own address",
        },
        Key {
            name: "health_port",
            env: env::HEALTH_PORT,
            when_unset: "no health listener",
        },
    ];

    pub(crate) fn resolve(self) -> InvokerRoleConfig {
        InvokerRoleConfig {
            user_memory_mb: self.user_memory_mb.unwrap_or(DEFAULT_USER_MEMORY_MB),
            stem_cells: self.stem_cells.unwrap_or_default(),
            pause_grace: Duration::from_secs(
                self.pause_grace_secs.unwrap_or(DEFAULT_PAUSE_GRACE_SECS),
            ),
            idle_timeout: Duration::from_secs(
                self.idle_timeout_secs.unwrap_or(DEFAULT_IDLE_TIMEOUT_SECS),
            ),
            isolation: self.isolation.unwrap_or_default(),
            action_network: self.action_network.unwrap_or_default(),
            egress_allow: self.egress_allow.map(|(v, _)| v).unwrap_or_default(),
            egress_deny: self.egress_deny.map(|(v, _)| v).unwrap_or_default(),
            resolv_conf: self.resolv_conf,
            invoker_id: self.invoker_id,
            api_host: self.api_host,
            health_port: self.health_port,
        }
    }
}

impl Layer for InvokerLayer {
    fn keys(&self) -> &'static [Key] {
        Self::KEYS
    }

    fn set(&mut self, key: &str, raw: Raw<'_>, at: &At) -> Result<bool> {
        const MB: &str = "a number of megabytes";
        const SECS: &str = "a number of seconds";
        match key {
            "user_memory_mb" => self.user_memory_mb = Some(parse::unsigned(raw, at, MB)?),
            "stem_cells" => {
                self.stem_cells = Some(parse::parsed(raw, at, stem_cells::EXPECTED)?);
            }
            "pause_grace_secs" => self.pause_grace_secs = Some(parse::unsigned(raw, at, SECS)?),
            "idle_timeout_secs" => {
                self.idle_timeout_secs = Some(parse::unsigned(raw, at, SECS)?);
            }
            "isolation" => self.isolation = Some(parse::parsed(raw, at, "sandbox or none")?),
            "action_network" => {
                self.action_network = Some(parse::parsed(raw, at, "egress or none")?);
            }
            "egress_allow" => add_cidrs(&mut self.egress_allow, parse::cidrs(raw, at)?, at),
            "egress_deny" => add_cidrs(&mut self.egress_deny, parse::cidrs(raw, at)?, at),
            "resolv_conf" => self.resolv_conf = Some(parse::path(raw, at, PATH)?),
            "invoker_id" => {
                let id: u32 = parse::unsigned(raw, at, INVOKER_ID)?;
                if id > MAX_INVOKER_ID {
                    return Err(raw.invalid(at, INVOKER_ID));
                }
                self.invoker_id = Some(id);
            }
            "api_host" => {
                let url = parse::text(raw, at, "an http:// or https:// URL")?;
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err(raw.invalid(at, "an http:// or https:// URL"));
                }
                self.api_host = Some(url.trim_end_matches('/').to_string());
            }
            "health_port" => self.health_port = Some(parse::unsigned(raw, at, "a port number")?),
            _ => return Ok(false),
        }
        Ok(true)
    }
}
