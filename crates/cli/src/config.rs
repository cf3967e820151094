//! Configuration like `wsk`: `~/.wskprops` (or `$WSK_CONFIG_FILE`), then `WHISK_*` environment
//! variables, then command line flags (flag > env > wskprops).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

/// The process environment the CLI runs in, injectable for tests.
#[derive(Debug, Clone)]
pub struct Env {
    /// Environment variables (only `WSK_CONFIG_FILE`, `WHISK_APIHOST`, `WHISK_AUTH`,
    /// `WHISK_APIVERSION`, `WHISK_NAMESPACE` are looked at).
    pub vars: BTreeMap<String, String>,
    /// Home directory (for `~/.wskprops`); `None` = no default properties file.
    pub home: Option<PathBuf>,
    /// Working directory used for relative paths (`--save`); `None` = process cwd.
    pub cwd: Option<PathBuf>,
    /// Interval of `activation poll` (2 s like wsk).
    pub poll_interval: Duration,
    /// Set to stop `activation poll` (besides `--exit`).
    pub interrupt: Arc<AtomicBool>,
    /// `activation poll` sets `interrupt` on SIGINT and SIGTERM (the real process only).
    pub catch_signals: bool,
}

impl Default for Env {
    fn default() -> Self {
        Env {
            vars: BTreeMap::new(),
            home: None,
            cwd: None,
            poll_interval: Duration::from_secs(2),
            interrupt: Arc::new(AtomicBool::new(false)),
            catch_signals: false,
        }
    }
}

impl Env {
    /// The real process environment.
    pub fn from_process() -> Env {
        let vars = std::env::vars().collect();
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .filter(|p| !p.as_os_str().is_empty());
        Env {
            vars,
            home,
            catch_signals: true,
            ..Env::default()
        }
    }

    /// An environment with the given home directory and no variables.
    pub fn with_home(home: impl Into<PathBuf>) -> Env {
        Env {
            home: Some(home.into()),
            ..Env::default()
        }
    }

    /// Adds a variable.
    pub fn var(mut self, k: &str, v: &str) -> Env {
        self.vars.insert(k.to_string(), v.to_string());
        self
    }

    fn get(&self, k: &str) -> Option<&str> {
        self.vars
            .get(k)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// Path of the properties file: `$WSK_CONFIG_FILE` or `~/.wskprops`.
    pub fn props_path(&self) -> Option<PathBuf> {
        if let Some(p) = self.vars.get("WSK_CONFIG_FILE") {
            return Some(PathBuf::from(p));
        }
        self.home.as_ref().map(|h| h.join(".wskprops"))
    }

    /// Resolves a path against [`Env::cwd`].
    pub fn resolve(&self, p: &str) -> PathBuf {
        match &self.cwd {
            Some(c) if Path::new(p).is_relative() => c.join(p),
            _ => PathBuf::from(p),
        }
    }
}

/// Ordered `KEY=VALUE` properties file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PropsFile {
    /// Entries in file order.
    pub entries: Vec<(String, String)>,
}

impl PropsFile {
    /// Parses wskprops text: `#` starts a comment, lines are `KEY=VALUE`, others are skipped.
    pub fn parse(text: &str) -> PropsFile {
        let mut p = PropsFile::default();
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("").trim();
            let mut parts = line.split('=');
            if let (Some(k), Some(v), None) = (parts.next(), parts.next(), parts.next()) {
                p.set(k.trim(), v.trim());
            }
        }
        p
    }

    /// Reads the file; a missing file is an empty set.
    pub fn read(path: &Path) -> std::io::Result<PropsFile> {
        match std::fs::read_to_string(path) {
            Ok(t) => Ok(PropsFile::parse(&t)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(PropsFile::default()),
            Err(e) => Err(e),
        }
    }

    /// Writes the file.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let mut s = String::new();
        for (k, v) in &self.entries {
            s.push_str(&format!("{}={}\n", k.to_ascii_uppercase(), v));
        }
        std::fs::write(path, s)
    }

    /// Value of a key.
    pub fn get(&self, k: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    }

    /// Sets (replaces in place or appends).
    pub fn set(&mut self, k: &str, v: &str) {
        if let Some(e) = self.entries.iter_mut().find(|(key, _)| key == k) {
            e.1 = v.to_string();
        } else {
            self.entries.push((k.to_string(), v.to_string()));
        }
    }

    /// Removes a key.
    pub fn unset(&mut self, k: &str) {
        self.entries.retain(|(key, _)| key != k);
    }
}

/// Global flags that override the configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    /// `-u/--auth`.
    pub auth: Option<String>,
    /// `--apihost`.
    pub apihost: Option<String>,
    /// `--apiversion`.
    pub apiversion: Option<String>,
    /// `--cert`.
    pub cert: Option<String>,
    /// `--key`.
    pub key: Option<String>,
}

/// The effective configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Properties {
    /// API host as configured (may lack a scheme); empty when unset.
    pub apihost: String,
    /// `uuid:key`; empty when unset.
    pub auth: String,
    /// Default namespace (`_` unless `NAMESPACE` is set).
    pub namespace: String,
    /// API version (`v1`).
    pub apiversion: String,
    /// Client certificate (PEM) presented for mutual TLS, with `key`; empty when unset.
    pub cert: String,
    /// Private key (PEM) of `cert`; empty when unset.
    pub key: String,
    /// The properties file path.
    pub props_path: Option<PathBuf>,
}

impl Properties {
    /// Loads wskprops, applies env, then flags.
    pub fn load(env: &Env, flags: &Overrides) -> Result<Properties, String> {
        let props_path = env.props_path();
        let file = match &props_path {
            Some(p) => PropsFile::read(p).map_err(|e| {
                format!("Unable to read the properties file '{}': {e}", p.display())
            })?,
            None => PropsFile::default(),
        };
        let mut p = Properties {
            apihost: String::new(),
            auth: String::new(),
            namespace: "_".to_string(),
            apiversion: "v1".to_string(),
            cert: String::new(),
            key: String::new(),
            props_path,
        };
        if let Some(v) = file.get("CERT") {
            p.cert = v.to_string();
        }
        if let Some(v) = file.get("KEY") {
            p.key = v.to_string();
        }
        if let Some(v) = file.get("AUTH") {
            p.auth = v.to_string();
        }
        if let Some(v) = file.get("NAMESPACE").filter(|v| !v.is_empty()) {
            p.namespace = v.to_string();
        }
        if let Some(v) = file.get("APIVERSION") {
            p.apiversion = v.to_string();
        }
        if let Some(v) = file.get("APIHOST") {
            p.apihost = v.trim_end_matches('/').to_string();
        }
        if let Some(v) = env.get("WHISK_AUTH") {
            p.auth = v.to_string();
        }
        if let Some(v) = env.get("WHISK_APIVERSION") {
            p.apiversion = v.to_string();
        }
        if let Some(v) = env.get("WHISK_APIHOST") {
            p.apihost = v.to_string();
        }
        if let Some(v) = env.get("WHISK_NAMESPACE") {
            p.namespace = v.to_string();
        }
        let set = |target: &mut String, v: &Option<String>| {
            if let Some(v) = v.as_ref().filter(|v| !v.is_empty()) {
                *target = v.clone();
            }
        };
        set(&mut p.auth, &flags.auth);
        set(&mut p.apihost, &flags.apihost);
        set(&mut p.apiversion, &flags.apiversion);
        set(&mut p.cert, &flags.cert);
        set(&mut p.key, &flags.key);
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_props() {
        let p =
            PropsFile::parse("# comment\nAPIHOST=localhost:3233 # x\nAUTH=a:b\nbad line\nX=1=2\n");
        assert_eq!(p.get("APIHOST"), Some("localhost:3233"));
        assert_eq!(p.get("AUTH"), Some("a:b"));
        assert_eq!(p.get("X"), None);
    }

    #[test]
    fn precedence_flag_env_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(".wskprops"),
            "APIHOST=file-host/\nAUTH=file:auth\nNAMESPACE=filens\nAPIVERSION=v9\n",
        )
        .unwrap();
        let env = Env::with_home(dir.path());
        let p = Properties::load(&env, &Overrides::default()).unwrap();
        assert_eq!(p.apihost, "file-host");
        assert_eq!(p.auth, "file:auth");
        assert_eq!(p.namespace, "filens");
        assert_eq!(p.apiversion, "v9");

        let env = env
            .var("WHISK_APIHOST", "env-host")
            .var("WHISK_AUTH", "env:auth");
        let p = Properties::load(&env, &Overrides::default()).unwrap();
        assert_eq!(p.apihost, "env-host");
        assert_eq!(p.auth, "env:auth");

        let flags = Overrides {
            apihost: Some("flag-host".into()),
            ..Overrides::default()
        };
        let p = Properties::load(&env, &flags).unwrap();
        assert_eq!(p.apihost, "flag-host");
        assert_eq!(p.auth, "env:auth");
    }

    #[test]
    fn wsk_config_file_overrides_home() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("custom");
        std::fs::write(&f, "APIHOST=custom\n").unwrap();
        let env = Env::with_home(dir.path()).var("WSK_CONFIG_FILE", f.to_str().unwrap());
        let p = Properties::load(&env, &Overrides::default()).unwrap();
        assert_eq!(p.apihost, "custom");
        assert_eq!(p.namespace, "_");
        assert_eq!(p.apiversion, "v1");
    }

    #[test]
    fn missing_file_is_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let p = Properties::load(&Env::with_home(dir.path()), &Overrides::default()).unwrap();
        assert_eq!(p.apihost, "");
        assert_eq!(p.auth, "");
    }
}
