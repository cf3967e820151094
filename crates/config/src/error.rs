//! Config errors: each names the key and the layer it came from.

use std::fmt;
use std::path::PathBuf;

pub type Result<T, E = ConfigError> = std::result::Result<T, E>;

/// Which layer set a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The built-in default.
    Default,
    /// The key `key` of the config file `path`.
    File { path: PathBuf, key: String },
    /// The environment variable of that name.
    Env(&'static str),
    /// The command-line flag of that name (with its `--`).
    Flag(String),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => f.write_str("the default"),
            Origin::File { path, key } => {
                write!(f, "config file {}: key '{key}'", path.display())
            }
            Origin::Env(name) => f.write_str(name),
            Origin::Flag(flag) => f.write_str(flag),
        }
    }
}

/// Why a config could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A value that does not parse, or is out of range.
    #[error("{}", invalid(.origin, .value, .expected))]
    Invalid {
        origin: Origin,
        /// The value as given (quoted).
        value: String,
        expected: String,
    },
    /// A config file key that no setting has.
    #[error("config file {}: unknown key '{key}' (known keys: {known})", .path.display())]
    UnknownKey {
        path: PathBuf,
        key: String,
        known: String,
    },
    /// The config file cannot be read.
    #[error("cannot read config file {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The config file is not valid TOML.
    #[error("config file {}: {message}", .path.display())]
    Syntax { path: PathBuf, message: String },
    /// A setting this role does not support (yet), set to a value it cannot honour.
    #[error("{origin}: {message}")]
    Unsupported { origin: Origin, message: String },
}

fn invalid(origin: &Origin, value: &str, expected: &str) -> String {
    match origin {
        Origin::File { .. } => format!("{origin}: invalid value {value} (expected {expected})"),
        _ => format!("invalid value for {origin}: {value} (expected {expected})"),
    }
}
