//! Whirl's typed configuration, one per role.
//!
//! A role's config is made of parts: [`CommonConfig`] (shared by every process of a
//! deployment: data dir, runtime manifest, and later the cluster's store and bus),
//! [`ControllerRoleConfig`] and [`InvokerRoleConfig`]. [`StandaloneConfig`] is all three; the
//! cluster's `whirl controller` ([`ControllerConfig`]) and `whirl invoker` ([`InvokerConfig`])
//! are the common part plus theirs, reading the same keys.
//!
//! Each key has one name in every layer: `port` in the TOML file, `WHIRL_PORT` in the
//! environment, `--port` on the command line. Layers, later wins: the defaults (OpenWhisk's
//! where it has one), then the config file (`--config FILE` or `WHIRL_CONFIG`), then `WHIRL_*`
//! variables, then flags. A value that does not parse, an unknown key in the file, or a setting
//! the role cannot honour fails the load with a [`ConfigError`] naming the key.
//!
//! The environment is read through an [`env::EnvSource`], so tests hand in a map.

mod cluster;
pub mod env;
mod error;
mod flags;
mod layers;
mod parse;
mod roles;
mod standalone;
mod stem_cells;

pub use cluster::{is_nats, is_postgres, ControllerConfig, InvokerConfig};
pub use error::{ConfigError, Origin, Result};
pub use flags::{
    CommonFlags, ControllerFlags, ControllerRoleFlags, InvokerFlags, InvokerRoleFlags,
    StandaloneFlags,
};
pub use layers::{Key, Origins};
pub use roles::{
    ActionNetwork, CommonConfig, ControllerRoleConfig, Defaults, InvokerRoleConfig, Isolation,
    DEFAULT_HOST, DEFAULT_IDLE_TIMEOUT_SECS, DEFAULT_PAUSE_GRACE_SECS, DEFAULT_PORT,
    DEFAULT_USER_MEMORY_MB,
};
pub use standalone::{AdminConfig, Effective, StandaloneConfig};
pub use stem_cells::{StemCellSpec, StemCells};
