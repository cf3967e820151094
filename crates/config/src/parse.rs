//! Turning one raw value (a TOML value from the file, or the text of a variable or flag) into a
//! typed one, with an error naming where it came from.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::error::{ConfigError, Origin, Result};

/// One value as a layer has it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Raw<'a> {
    /// From the config file: typed by TOML (a number is an integer, text is a string).
    Toml(&'a toml::Value),
    /// From an environment variable or a flag: text.
    Text(&'a str),
}

/// Where a value came from, and how to resolve relative paths in it.
#[derive(Debug, Clone)]
pub(crate) struct At {
    pub(crate) origin: Origin,
    /// The config file's directory, against which its relative paths are resolved.
    pub(crate) base: Option<PathBuf>,
}

impl Raw<'_> {
    fn shown(&self) -> String {
        match self {
            Raw::Toml(v) => v.to_string(),
            Raw::Text(s) => format!("{s:?}"),
        }
    }

    pub(crate) fn invalid(&self, at: &At, expected: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            origin: at.origin.clone(),
            value: self.shown(),
            expected: expected.into(),
        }
    }

    /// The text of a string value.
    fn str(&self) -> Option<&str> {
        match self {
            Raw::Toml(toml::Value::String(s)) => Some(s),
            Raw::Toml(_) => None,
            Raw::Text(s) => Some(s),
        }
    }
}

/// A non-empty string.
pub(crate) fn text(raw: Raw<'_>, at: &At, expected: &str) -> Result<String> {
    match raw.str() {
        Some(s) if !s.is_empty() => Ok(s.to_string()),
        _ => Err(raw.invalid(at, expected)),
    }
}

/// An unsigned integer: a TOML integer, or decimal text.
pub(crate) fn unsigned<T>(raw: Raw<'_>, at: &At, expected: &str) -> Result<T>
where
    T: TryFrom<i64> + FromStr,
{
    let v = match raw {
        Raw::Toml(toml::Value::Integer(i)) => T::try_from(*i).ok(),
        Raw::Toml(_) => None,
        Raw::Text(s) => s.parse().ok(),
    };
    v.ok_or_else(|| raw.invalid(at, expected))
}

/// A boolean: a TOML boolean, or `true`/`false` text (also `yes`/`no`, `1`/`0`).
pub(crate) fn boolean(raw: Raw<'_>, at: &At, expected: &str) -> Result<bool> {
    let v = match raw {
        Raw::Toml(toml::Value::Boolean(b)) => Some(*b),
        Raw::Toml(_) => None,
        Raw::Text(s) => match s.to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => Some(true),
            "false" | "no" | "0" => Some(false),
            _ => None,
        },
    };
    v.ok_or_else(|| raw.invalid(at, expected))
}

/// A path; relative paths in the config file are relative to the file's directory.
pub(crate) fn path(raw: Raw<'_>, at: &At, expected: &str) -> Result<PathBuf> {
    let p = PathBuf::from(text(raw, at, expected)?);
    Ok(match (&raw, &at.base) {
        (Raw::Toml(_), Some(base)) if p.is_relative() => base.join(p),
        _ => p,
    })
}

/// A string parsed by `T::from_str`; its error (if a non-empty string) says what was expected.
pub(crate) fn parsed<T>(raw: Raw<'_>, at: &At, expected: &str) -> Result<T>
where
    T: FromStr,
    T::Err: Into<String>,
{
    match raw.str() {
        Some(s) => s.parse().map_err(|e: T::Err| {
            let e: String = e.into();
            raw.invalid(
                at,
                if e.is_empty() {
                    expected.to_string()
                } else {
                    e
                },
            )
        }),
        None => Err(raw.invalid(at, expected)),
    }
}

/// A list of CIDRs: a TOML array of strings, or comma-separated text (empty: no entry). Each
/// entry is a CIDR or a single address (see `whirl_netpolicy::parse_cidr`: host bits cleared).
pub(crate) fn cidrs(raw: Raw<'_>, at: &At) -> Result<Vec<ipnet::IpNet>> {
    const EXPECTED: &str = "CIDRs like 10.0.0.0/8 or fd00::/8, comma separated";
    let items: Vec<String> = match raw {
        Raw::Toml(toml::Value::Array(a)) => a
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<_>>()
            .ok_or_else(|| raw.invalid(at, EXPECTED))?,
        Raw::Toml(toml::Value::String(s)) => s.split(',').map(str::to_string).collect(),
        Raw::Toml(_) => return Err(raw.invalid(at, EXPECTED)),
        Raw::Text(s) => s.split(',').map(str::to_string).collect(),
    };
    items
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(|s| cidr(s).map_err(|why| raw.invalid(at, format!("{EXPECTED}; {why}"))))
        .collect()
}

/// One CIDR or address, host bits cleared.
fn cidr(s: &str) -> std::result::Result<ipnet::IpNet, String> {
    if let Ok(net) = s.parse::<ipnet::IpNet>() {
        return Ok(net.trunc());
    }
    if let Ok(ip) = s.parse::<std::net::IpAddr>() {
        return Ok(ipnet::IpNet::from(ip));
    }
    Err(format!("'{s}' is not a CIDR or an IP address"))
}

/// The directory of a config file, for its relative paths.
pub(crate) fn base_of(file: &Path) -> PathBuf {
    match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}
