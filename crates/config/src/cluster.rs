//! The cluster's roles: `whirl controller` (the REST API, [`ControllerConfig`]) and
//! `whirl invoker` (the container pool, [`InvokerConfig`]), separate processes that share a
//! PostgreSQL store and a NATS JetStream bus. Each is the common part plus its own, read with
//! the same keys, variables and flags as `whirl standalone`.

use serde::Serialize;

use crate::env::{EnvSource, ProcessEnv};
use crate::error::{ConfigError, Result};
use crate::flags::{ControllerRoleFlags, InvokerRoleFlags};
use crate::layers::{config_file, Layering, Origins};
use crate::roles::{
    CommonConfig, CommonLayer, ControllerLayer, ControllerRoleConfig, Defaults, InvokerLayer,
    InvokerRoleConfig,
};
use crate::standalone::{section, Effective};

/// The typed config of `whirl controller`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ControllerConfig {
    #[serde(flatten)]
    pub common: CommonConfig,
    #[serde(flatten)]
    pub controller: ControllerRoleConfig,
}

/// The typed config of `whirl invoker`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvokerConfig {
    #[serde(flatten)]
    pub common: CommonConfig,
    #[serde(flatten)]
    pub invoker: InvokerRoleConfig,
}

/// The store and bus URLs a cluster role cannot do without.
fn check_cluster(role: &str, common: &CommonConfig, origins: &Origins) -> Result<()> {
    match common.store_url.as_deref() {
        None => {
            return Err(ConfigError::Unsupported {
                origin: origins.of("store_url"),
                message: format!(
                    "whirl {role} needs store_url: the cluster's PostgreSQL store \
                     (--store-url postgres://USER:PASSWORD@HOST:PORT/DB or WHIRL_STORE_URL)"
                ),
            })
        }
        Some(url) if !is_postgres(url) => {
            return Err(ConfigError::Unsupported {
                origin: origins.of("store_url"),
                message: format!(
                    "store_url must be a postgres:// URL for whirl {role} (got a URL of \
                     another scheme)"
                ),
            })
        }
        Some(_) => {}
    }
    match common.bus_url.as_deref() {
        None => Err(ConfigError::Unsupported {
            origin: origins.of("bus_url"),
            message: format!(
                "whirl {role} needs bus_url: the cluster's NATS JetStream server \
                 (--bus-url nats://HOST:PORT or WHIRL_BUS_URL)"
            ),
        }),
        Some(url) if !is_nats(url) => Err(ConfigError::Unsupported {
            origin: origins.of("bus_url"),
            message: format!("bus_url must be a nats:// URL for whirl {role}"),
        }),
        Some(_) => Ok(()),
    }
}

/// Whether a store URL names PostgreSQL.
pub fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// Whether a bus URL names NATS (one server or a comma-separated list).
pub fn is_nats(url: &str) -> bool {
    url.split(',')
        .all(|u| u.trim().starts_with("nats://") || u.trim().starts_with("tls://"))
}

impl ControllerConfig {
    /// Defaults, then the config file (`--config` or `WHIRL_CONFIG`), then `WHIRL_*`, then
    /// `flags`.
    pub fn load(flags: &ControllerRoleFlags) -> Result<Effective<Self>> {
        Self::load_from(flags, &ProcessEnv, &Defaults::from_system())
    }

    pub fn load_from(
        flags: &ControllerRoleFlags,
        env: &dyn EnvSource,
        defaults: &Defaults,
    ) -> Result<Effective<Self>> {
        let mut common = CommonLayer::default();
        let mut controller = ControllerLayer::default();
        let file = config_file(flags.common.config.as_deref(), env);
        let origins = {
            let mut layers = Layering::new(vec![&mut common, &mut controller]);
            if let Some(path) = &file {
                layers.file(path)?;
            }
            layers.env(env)?;
            layers.flags(flags.values())?;
            layers.into_origins()
        };
        let config = ControllerConfig {
            common: common.resolve(defaults),
            controller: controller.resolve(),
        };
        check_cluster("controller", &config.common, &origins)?;
        Ok(Effective {
            config,
            origins,
            file,
        })
    }
}

impl InvokerConfig {
    /// Defaults, then the config file (`--config` or `WHIRL_CONFIG`), then `WHIRL_*`, then
    /// `flags`.
    pub fn load(flags: &InvokerRoleFlags) -> Result<Effective<Self>> {
        Self::load_from(flags, &ProcessEnv, &Defaults::from_system())
    }

    pub fn load_from(
        flags: &InvokerRoleFlags,
        env: &dyn EnvSource,
        defaults: &Defaults,
    ) -> Result<Effective<Self>> {
        let mut common = CommonLayer::default();
        let mut invoker = InvokerLayer::default();
        let file = config_file(flags.common.config.as_deref(), env);
        let origins = {
            let mut layers = Layering::new(vec![&mut common, &mut invoker]);
            if let Some(path) = &file {
                layers.file(path)?;
            }
            layers.env(env)?;
            layers.flags(flags.values())?;
            layers.into_origins()
        };
        let config = InvokerConfig {
            common: common.resolve(defaults),
            invoker: invoker.resolve(),
        };
        check_cluster("invoker", &config.common, &origins)?;
        if config.invoker.api_host.is_none() {
            return Err(ConfigError::Unsupported {
                origin: origins.of("api_host"),
                message: "whirl invoker needs api_host: the controllers' URL that actions get \
                          as __OW_API_HOST (--api-host http://HOST:PORT or WHIRL_API_HOST)"
                    .into(),
            });
        }
        Ok(Effective {
            config,
            origins,
            file,
        })
    }
}

impl Effective<ControllerConfig> {
    /// The effective config as a TOML config file (see `whirl config print`).
    pub fn to_toml(&self) -> String {
        let mut out = String::from(
            "# whirl controller: effective configuration\n\
             # (defaults < config file < WHIRL_* environment < flags)\n",
        );
        let c = &self.config;
        section(
            &mut out,
            "shared",
            &c.common,
            CommonLayer::KEYS,
            &self.origins,
        );
        section(
            &mut out,
            "controller",
            &c.controller,
            ControllerLayer::KEYS,
            &self.origins,
        );
        out
    }
}

impl Effective<InvokerConfig> {
    /// The effective config as a TOML config file (see `whirl config print`).
    pub fn to_toml(&self) -> String {
        let mut out = String::from(
            "# whirl invoker: effective configuration\n\
             # (defaults < config file < WHIRL_* environment < flags)\n",
        );
        let c = &self.config;
        section(
            &mut out,
            "shared",
            &c.common,
            CommonLayer::KEYS,
            &self.origins,
        );
        section(
            &mut out,
            "invoker",
            &c.invoker,
            InvokerLayer::KEYS,
            &self.origins,
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::env::MapEnv;
    use crate::Origin;

    fn defaults() -> Defaults {
        Defaults {
            data_dir: PathBuf::from("/var/lib/whirl"),
        }
    }

    const URLS: [(&str, &str); 2] = [
        ("WHIRL_STORE_URL", "postgres://whirl:secret@db:5432/whirl"),
        ("WHIRL_BUS_URL", "nats://bus:4222"),
    ];

    #[test]
    fn controller_keys_from_every_layer() {
        let mut flags = ControllerRoleFlags::default();
        flags.controller.controller_id = Some("1".into());
        let env = MapEnv::new(URLS.into_iter().chain([("WHIRL_CONTROLLERS", "2")]));
        let e = ControllerConfig::load_from(&flags, &env, &defaults()).unwrap();
        let c = e.config;
        assert_eq!(c.controller.controller_id, Some(1));
        assert_eq!(c.controller.controllers, 2);
        assert!(c.controller.bootstrap);
        assert_eq!(c.controller.port, 3233);
        assert_eq!(
            c.common.store_url.as_deref(),
            Some("postgres://whirl:secret@db:5432/whirl")
        );
        assert_eq!(
            e.origins.of("controllers"),
            Origin::Env("WHIRL_CONTROLLERS")
        );
        let text = e_toml(&flags, &env);
        assert!(text.contains("controllers = 2"), "{text}");
        // A printed config is a valid config file for the same role.
        let parsed: toml::Table = toml::from_str(&text).unwrap();
        assert_eq!(parsed["controller_id"].as_integer(), Some(1));
    }

    fn e_toml(flags: &ControllerRoleFlags, env: &MapEnv) -> String {
        ControllerConfig::load_from(flags, env, &defaults())
            .unwrap()
            .to_toml()
    }

    #[test]
    fn roles_need_the_cluster_urls() {
        let err = ControllerConfig::load_from(
            &ControllerRoleFlags::default(),
            &MapEnv::default(),
            &defaults(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("needs store_url"), "{err}");
        let env = MapEnv::new([URLS[0]]);
        let err = ControllerConfig::load_from(&ControllerRoleFlags::default(), &env, &defaults())
            .unwrap_err()
            .to_string();
        assert!(err.contains("needs bus_url"), "{err}");
        let env = MapEnv::new([("WHIRL_STORE_URL", "mysql://x"), URLS[1]]);
        let err = ControllerConfig::load_from(&ControllerRoleFlags::default(), &env, &defaults())
            .unwrap_err()
            .to_string();
        assert!(err.contains("WHIRL_STORE_URL"), "{err}");
        assert!(!err.contains("mysql://x"), "no URL in messages: {err}");
        // An invoker also needs the API host its actions call.
        let env = MapEnv::new(URLS);
        let err = InvokerConfig::load_from(&InvokerRoleFlags::default(), &env, &defaults())
            .unwrap_err()
            .to_string();
        assert!(err.contains("needs api_host"), "{err}");
    }

    #[test]
    fn invoker_keys_and_bad_values() {
        let mut flags = InvokerRoleFlags::default();
        flags.invoker.invoker_id = Some("2".into());
        flags.invoker.api_host = Some("http://controllers:3233/".into());
        flags.invoker.health_port = Some("8081".into());
        let e = InvokerConfig::load_from(&flags, &MapEnv::new(URLS), &defaults()).unwrap();
        assert_eq!(e.config.invoker.invoker_id, Some(2));
        assert_eq!(
            e.config.invoker.api_host.as_deref(),
            Some("http://controllers:3233")
        );
        assert_eq!(e.config.invoker.health_port, Some(8081));
        flags.invoker.api_host = Some("controllers:3233".into());
        let err = InvokerConfig::load_from(&flags, &MapEnv::new(URLS), &defaults())
            .unwrap_err()
            .to_string();
        assert!(err.contains("--api-host"), "{err}");
        let env = MapEnv::new(URLS.into_iter().chain([("WHIRL_CONTROLLERS", "0")]));
        let err = ControllerConfig::load_from(&ControllerRoleFlags::default(), &env, &defaults())
            .unwrap_err()
            .to_string();
        assert!(err.contains("WHIRL_CONTROLLERS"), "{err}");
        // A key of another role in a role's config file is an error naming it.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("invoker.toml");
        std::fs::write(&path, "port = 1\n").unwrap();
        let mut flags = InvokerRoleFlags::default();
        flags.common.config = Some(path.to_str().unwrap().into());
        let err = InvokerConfig::load_from(&flags, &MapEnv::new(URLS), &defaults())
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown key 'port'"), "{err}");
    }
}
