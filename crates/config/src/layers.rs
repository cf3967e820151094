//! The layering machinery: a role's config is made of parts (shared, controller, invoker); each
//! part has a [`Layer`] of optional values. The config file, then the environment, then the flags
//! are applied on top of one another, so a later layer wins, and the [`Origins`] remember which
//! layer set each key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::env::EnvSource;
use crate::error::{ConfigError, Origin, Result};
use crate::parse::{self, At, Raw};

/// One setting: its key in the config file (`port`), its environment variable (`WHIRL_PORT`);
/// its flag is the key with dashes (`--port`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub name: &'static str,
    pub env: &'static str,
    /// What an unset optional key means, for `whirl config print`.
    pub when_unset: &'static str,
}

impl Key {
    /// `--user-memory-mb` for `user_memory_mb`.
    pub fn flag(&self) -> String {
        flag_of(self.name)
    }
}

pub(crate) fn flag_of(name: &str) -> String {
    format!("--{}", name.replace('_', "-"))
}

/// Which layer set each key (keys no layer set are defaults).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origins(BTreeMap<String, Origin>);

impl Origins {
    /// Where `key`'s value came from.
    pub fn of(&self, key: &str) -> Origin {
        self.0.get(key).cloned().unwrap_or(Origin::Default)
    }
}

/// The optional values of one part of a config, as the layers so far set them.
pub(crate) trait Layer {
    /// The part's settings, in the order `whirl config print` shows them.
    fn keys(&self) -> &'static [Key];
    /// Parse `raw` as the value of `key` and keep it; `false` if `key` is not this part's.
    fn set(&mut self, key: &str, raw: Raw<'_>, at: &At) -> Result<bool>;
}

/// The parts of one role's config, being layered.
pub(crate) struct Layering<'a> {
    parts: Vec<&'a mut dyn Layer>,
    origins: Origins,
}

impl<'a> Layering<'a> {
    pub(crate) fn new(parts: Vec<&'a mut dyn Layer>) -> Self {
        Self {
            parts,
            origins: Origins::default(),
        }
    }

    pub(crate) fn into_origins(self) -> Origins {
        self.origins
    }

    fn set(&mut self, key: &str, raw: Raw<'_>, at: At) -> Result<bool> {
        for part in self.parts.iter_mut() {
            if part.set(key, raw, &at)? {
                self.origins.0.insert(key.to_string(), at.origin);
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn known(&self) -> String {
        self.parts
            .iter()
            .flat_map(|p| p.keys().iter().map(|k| k.name))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The config file: every key must be a setting of this role.
    pub(crate) fn file(&mut self, path: &Path) -> Result<()> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        self.file_text(path, &text)
    }

    pub(crate) fn file_text(&mut self, path: &Path, text: &str) -> Result<()> {
        let table: toml::Table = toml::from_str(text).map_err(|e| ConfigError::Syntax {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().to_string(),
        })?;
        let base = parse::base_of(path);
        for (key, value) in &table {
            let at = At {
                origin: Origin::File {
                    path: path.to_path_buf(),
                    key: key.clone(),
                },
                base: Some(base.clone()),
            };
            if !self.set(key, Raw::Toml(value), at)? {
                return Err(ConfigError::UnknownKey {
                    path: path.to_path_buf(),
                    key: key.clone(),
                    known: self.known(),
                });
            }
        }
        Ok(())
    }

    /// The `WHIRL_*` variable of every setting that has one set.
    pub(crate) fn env(&mut self, env: &dyn EnvSource) -> Result<()> {
        let keys: Vec<Key> = self
            .parts
            .iter()
            .flat_map(|p| p.keys().iter().copied())
            .collect();
        for key in keys {
            if let Some(value) = env.var(key.env) {
                let at = At {
                    origin: Origin::Env(key.env),
                    base: None,
                };
                self.set(key.name, Raw::Text(&value), at)?;
            }
        }
        Ok(())
    }

    /// Flags: (key, value) for each flag given.
    pub(crate) fn flags<'v>(
        &mut self,
        flags: impl IntoIterator<Item = (&'static str, &'v str)>,
    ) -> Result<()> {
        for (key, value) in flags {
            let at = At {
                origin: Origin::Flag(flag_of(key)),
                base: None,
            };
            if !self.set(key, Raw::Text(value), at)? {
                // A flag without a setting is a bug in this crate, not a user error.
                return Err(ConfigError::Unsupported {
                    origin: Origin::Flag(flag_of(key)),
                    message: "not a setting of this role".into(),
                });
            }
        }
        Ok(())
    }
}

/// The config file to read: `--config`, else `WHIRL_CONFIG` (empty: none).
pub(crate) fn config_file(flag: Option<&str>, env: &dyn EnvSource) -> Option<PathBuf> {
    flag.map(PathBuf::from)
        .or_else(|| crate::env::non_empty(env, crate::env::CONFIG).map(PathBuf::from))
}
