//! `whirl standalone`: the controller and the invoker in one process, over the in-process bus and
//! the SQLite store in the data dir. Also the data dir `whirl admin` opens.

use std::fmt::Write as _;
use std::path::PathBuf;

use serde::Serialize;

use crate::env::{self, EnvSource, ProcessEnv};
use crate::error::{ConfigError, Result};
use crate::flags::StandaloneFlags;
use crate::layers::{config_file, Key, Layer, Layering, Origins};
use crate::parse::{At, Raw};
use crate::roles::{
    CommonConfig, CommonLayer, ControllerLayer, ControllerRoleConfig, Defaults, InvokerLayer,
    InvokerRoleConfig,
};
use crate::Origin;

/// The typed config of `whirl standalone`. Serialized (flat, as TOML) it is a config file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StandaloneConfig {
    #[serde(flatten)]
    pub common: CommonConfig,
    #[serde(flatten)]
    pub controller: ControllerRoleConfig,
    #[serde(flatten)]
    pub invoker: InvokerRoleConfig,
}

/// A loaded config and where each of its values came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effective<C> {
    pub config: C,
    pub origins: Origins,
    /// The config file read, if any.
    pub file: Option<PathBuf>,
}

impl StandaloneConfig {
    /// Defaults, then the config file (`--config` or `WHIRL_CONFIG`), then the process's
    /// `WHIRL_*` variables, then `flags`.
    pub fn load(flags: &StandaloneFlags) -> Result<Effective<Self>> {
        Self::load_from(flags, &ProcessEnv, &Defaults::from_system())
    }

    /// [`Self::load`] with the environment and the machine's defaults given.
    pub fn load_from(
        flags: &StandaloneFlags,
        env: &dyn EnvSource,
        defaults: &Defaults,
    ) -> Result<Effective<Self>> {
        let mut common = CommonLayer::default();
        let mut controller = ControllerLayer::default();
        let mut invoker = InvokerLayer::default();
        let file = config_file(flags.common.config.as_deref(), env);
        let origins = {
            let mut layers = Layering::new(vec![&mut common, &mut controller, &mut invoker]);
            if let Some(path) = &file {
                layers.file(path)?;
            }
            layers.env(env)?;
            layers.flags(flags.values())?;
            layers.into_origins()
        };
        let config = StandaloneConfig {
            common: common.resolve(defaults),
            controller: controller.resolve(),
            invoker: invoker.resolve(),
        };
        config.check(&origins)?;
        Ok(Effective {
            config,
            origins,
            file,
        })
    }

    /// Refuse what standalone cannot honour: a store or bus URL of another kind than the
    /// cluster's, and ids other than 0 on the in-process bus (where it is the only controller
    /// and the only invoker).
    fn check(&self, origins: &Origins) -> Result<()> {
        let unsupported = |key: &str, message: String| ConfigError::Unsupported {
            origin: origins.of(key),
            message,
        };
        if let Some(url) = &self.common.store_url {
            if !crate::cluster::is_postgres(url) {
                return Err(unsupported(
                    "store_url",
                    "store_url must be a postgres:// URL (unset: SQLite under data_dir)".into(),
                ));
            }
        }
        if let Some(url) = &self.common.bus_url {
            if !crate::cluster::is_nats(url) {
                return Err(unsupported(
                    "bus_url",
                    "bus_url must be a nats:// URL (unset: the in-process bus)".into(),
                ));
            }
            return Ok(());
        }
        for (key, id) in [
            ("controller_id", self.controller.controller_id),
            ("invoker_id", self.invoker.invoker_id),
        ] {
            if let Some(id) = id.filter(|id| *id != 0) {
                return Err(unsupported(
                    key,
                    format!(
                        "{key} {id} is not supported by whirl standalone on the in-process bus: \
                         it runs one controller and one invoker, both with id 0"
                    ),
                ));
            }
        }
        Ok(())
    }
}

impl Effective<StandaloneConfig> {
    /// The effective config as a TOML config file, each value commented with the layer that
    /// set it, unset optional keys commented out with what they mean.
    pub fn to_toml(&self) -> String {
        let mut out = String::from(
            "# whirl standalone: effective configuration\n\
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

pub(crate) fn section<T: Serialize>(
    out: &mut String,
    title: &str,
    part: &T,
    keys: &[Key],
    o: &Origins,
) {
    let _ = writeln!(out, "\n# {title}");
    let table = toml::Table::try_from(part).unwrap_or_default();
    for key in keys {
        match table.get(key.name) {
            Some(value) => {
                let line = format!("{} = {value}", key.name);
                let from = match o.of(key.name) {
                    Origin::Default => "default".to_string(),
                    Origin::File { path, .. } => format!("config file {}", path.display()),
                    other => other.to_string(),
                };
                let _ = writeln!(out, "{line:<40} # {from}");
            }
            None => {
                let _ = writeln!(out, "# {} = (not set: {})", key.name, key.when_unset);
            }
        }
    }
}

/// The data dir `whirl admin` opens: the server's, from the same layers (only `data_dir` and
/// the config file matter; the file is checked like the server checks it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminConfig {
    pub data_dir: PathBuf,
    /// The cluster's store (`--store-url`, `WHIRL_STORE_URL`, or the config file's); `None`:
    /// the SQLite store in `data_dir`.
    pub store_url: Option<String>,
}

impl AdminConfig {
    /// `config`: `--config`; `data_dir`: `--data-dir`; `store_url`: `--store-url`.
    pub fn load(
        config: Option<&str>,
        data_dir: Option<&str>,
        store_url: Option<&str>,
    ) -> Result<Self> {
        Self::load_from(
            config,
            data_dir,
            store_url,
            &ProcessEnv,
            &Defaults::from_system(),
        )
    }

    pub fn load_from(
        config: Option<&str>,
        data_dir: Option<&str>,
        store_url: Option<&str>,
        env: &dyn EnvSource,
        defaults: &Defaults,
    ) -> Result<Self> {
        let mut common = CommonLayer::default();
        let mut controller = ControllerLayer::default();
        let mut invoker = InvokerLayer::default();
        {
            let mut layers = Layering::new(vec![&mut common, &mut controller, &mut invoker]);
            if let Some(path) = config_file(config, env) {
                layers.file(&path)?;
            }
            layers.flags(
                data_dir
                    .map(|d| ("data_dir", d))
                    .into_iter()
                    .chain(store_url.map(|u| ("store_url", u))),
            )?;
        }
        for (given, key, var) in [
            (data_dir, "data_dir", env::DATA_DIR),
            (store_url, "store_url", env::STORE_URL),
        ] {
            if given.is_none() {
                if let Some(v) = env.var(var) {
                    let at = At {
                        origin: Origin::Env(var),
                        base: None,
                    };
                    common.set(key, Raw::Text(&v), &at)?;
                }
            }
        }
        let common = common.resolve(defaults);
        Ok(Self {
            data_dir: common.data_dir,
            store_url: common.store_url,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use super::*;
    use crate::env::MapEnv;
    use crate::{ActionNetwork, Isolation, StemCellSpec, StemCells};

    fn defaults() -> Defaults {
        Defaults {
            data_dir: PathBuf::from("/home/u/.local/share/whirl"),
        }
    }

    fn load(flags: &StandaloneFlags, env: &[(&str, &str)]) -> Result<Effective<StandaloneConfig>> {
        StandaloneConfig::load_from(flags, &MapEnv::new(env.iter().copied()), &defaults())
    }

    fn err(flags: &StandaloneFlags, env: &[(&str, &str)]) -> String {
        load(flags, env).expect_err("an error").to_string()
    }

    /// A config file in a temp dir; the dir lives as long as the returned guard.
    fn file(text: &str) -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("whirl.toml");
        std::fs::write(&path, text).unwrap();
        let path = path.to_str().unwrap().to_string();
        (dir, path)
    }

    fn with_config(path: &str) -> StandaloneFlags {
        let mut f = StandaloneFlags::default();
        f.common.config = Some(path.into());
        f
    }

    #[test]
    fn defaults_are_those_of_the_flags_before() {
        let e = load(&StandaloneFlags::default(), &[]).unwrap();
        let c = e.config;
        assert_eq!(c.controller.host, "127.0.0.1");
        assert_eq!(c.controller.port, 3233);
        assert_eq!(c.common.data_dir, defaults().data_dir);
        assert_eq!(c.common.runtime_manifest, None);
        assert_eq!(c.invoker.user_memory_mb, 4096);
        assert_eq!(c.invoker.stem_cells, StemCells::Manifest);
        assert_eq!(c.invoker.pause_grace, Duration::from_secs(10));
        assert_eq!(c.invoker.idle_timeout, Duration::from_secs(600));
        assert_eq!(c.invoker.isolation, Isolation::Sandbox);
        assert_eq!(e.origins.of("port"), Origin::Default);
        assert_eq!(e.file, None);
    }

    #[test]
    fn system_default_data_dir_ends_in_whirl() {
        assert!(Defaults::from_system().data_dir.ends_with("whirl"));
    }

    #[test]
    fn file_then_env_then_flags() {
        let (_dir, path) = file("port = 1000\nhost = \"0.0.0.0\"\nuser_memory_mb = 1\n");
        let mut flags = with_config(&path);
        // File only.
        let c = load(&flags, &[]).unwrap();
        assert_eq!(c.config.controller.port, 1000);
        assert_eq!(c.config.controller.host, "0.0.0.0");
        assert_eq!(c.file.as_deref(), Some(Path::new(&path)));
        // Env beats the file.
        let env = [("WHIRL_PORT", "2000"), ("WHIRL_USER_MEMORY_MB", "2")];
        let c = load(&flags, &env).unwrap();
        assert_eq!(c.config.controller.port, 2000);
        assert_eq!(c.config.invoker.user_memory_mb, 2);
        assert_eq!(c.config.controller.host, "0.0.0.0");
        assert_eq!(c.origins.of("port"), Origin::Env("WHIRL_PORT"));
        // Flags beat both.
        flags.controller.port = Some("3000".into());
        let c = load(&flags, &env).unwrap();
        assert_eq!(c.config.controller.port, 3000);
        assert_eq!(c.config.invoker.user_memory_mb, 2);
        assert_eq!(c.origins.of("port"), Origin::Flag("--port".into()));
        assert_eq!(
            c.origins.of("host"),
            Origin::File {
                path: path.clone().into(),
                key: "host".into()
            }
        );
    }

    #[test]
    fn every_existing_variable_still_works() {
        let env = [
            ("WHIRL_HOST", "0.0.0.0"),
            ("WHIRL_PORT", "0"),
            ("WHIRL_DATA_DIR", "/srv/whirl"),
            ("WHIRL_USER_MEMORY_MB", "512"),
            ("WHIRL_STEM_CELLS", "nodejs:1:128"),
            ("WHIRL_PAUSE_GRACE_SECS", "1"),
            ("WHIRL_IDLE_TIMEOUT_SECS", "2"),
            ("WHIRL_RUNTIME_MANIFEST", "m.json"),
            ("WHIRL_ISOLATION", "none"),
        ];
        let c = load(&StandaloneFlags::default(), &env).unwrap().config;
        assert_eq!(c.controller.host, "0.0.0.0");
        assert_eq!(c.controller.port, 0);
        assert_eq!(c.common.data_dir, PathBuf::from("/srv/whirl"));
        assert_eq!(c.invoker.user_memory_mb, 512);
        assert_eq!(
            c.invoker.stem_cells,
            StemCells::List(vec![StemCellSpec {
                kind: "nodejs".into(),
                count: 1,
                memory_mb: 128
            }])
        );
        assert_eq!(c.invoker.pause_grace, Duration::from_secs(1));
        assert_eq!(c.invoker.idle_timeout, Duration::from_secs(2));
        assert_eq!(c.common.runtime_manifest, Some(PathBuf::from("m.json")));
        assert_eq!(c.invoker.isolation, Isolation::None);
    }

    #[test]
    fn config_file_from_env_and_flag() {
        let (_a, env_file) = file("port = 1\n");
        let (_b, flag_file) = file("port = 2\n");
        let env = [("WHIRL_CONFIG", env_file.as_str())];
        let c = load(&StandaloneFlags::default(), &env).unwrap();
        assert_eq!(c.config.controller.port, 1);
        let c = load(&with_config(&flag_file), &env).unwrap();
        assert_eq!(c.config.controller.port, 2, "--config beats WHIRL_CONFIG");
        let c = load(&StandaloneFlags::default(), &[("WHIRL_CONFIG", "")]).unwrap();
        assert_eq!(c.file, None, "empty WHIRL_CONFIG: no file");
    }

    #[test]
    fn relative_paths_in_the_file_are_relative_to_it() {
        let (dir, path) = file("data_dir = \"data\"\nruntime_manifest = \"/etc/m.json\"\n");
        let c = load(&with_config(&path), &[]).unwrap().config;
        assert_eq!(c.common.data_dir, dir.path().join("data"));
        assert_eq!(
            c.common.runtime_manifest,
            Some(PathBuf::from("/etc/m.json"))
        );
        // From env or flags they stay relative to the working directory, as before.
        let c = load(&StandaloneFlags::default(), &[("WHIRL_DATA_DIR", "data")]).unwrap();
        assert_eq!(c.config.common.data_dir, PathBuf::from("data"));
    }

    #[test]
    fn invalid_values_name_the_key() {
        let none = StandaloneFlags::default();
        assert_eq!(
            err(&none, &[("WHIRL_PORT", "abc")]),
            r#"invalid value for WHIRL_PORT: "abc" (expected a port number)"#
        );
        assert_eq!(
            err(&none, &[("WHIRL_PORT", "70000")]),
            r#"invalid value for WHIRL_PORT: "70000" (expected a port number)"#
        );
        assert_eq!(
            err(&none, &[("WHIRL_ISOLATION", "docker")]),
            r#"invalid value for WHIRL_ISOLATION: "docker" (expected sandbox or none)"#
        );
        assert_eq!(
            err(&none, &[("WHIRL_USER_MEMORY_MB", "-1")]),
            r#"invalid value for WHIRL_USER_MEMORY_MB: "-1" (expected a number of megabytes)"#
        );
        assert_eq!(
            err(&none, &[("WHIRL_STEM_CELLS", "nodejs:two:256")]),
            "invalid value for WHIRL_STEM_CELLS: \"nodejs:two:256\" \
             (expected KIND:COUNT:MEMORY_MB,... or none; bad count 'two')"
        );
        let mut flags = StandaloneFlags::default();
        flags.invoker.pause_grace_secs = Some("soon".into());
        assert_eq!(
            err(&flags, &[]),
            r#"invalid value for --pause-grace-secs: "soon" (expected a number of seconds)"#
        );
        // A bad variable is an error even when a flag overrides it: every layer is checked.
        let mut flags = StandaloneFlags::default();
        flags.controller.port = Some("1".into());
        assert!(load(&flags, &[("WHIRL_PORT", "x")]).is_err());
    }

    #[test]
    fn invalid_file_values_name_the_file_and_key() {
        let (_d, path) = file("port = \"abc\"\n");
        assert_eq!(
            err(&with_config(&path), &[]),
            format!(
                r#"config file {path}: key 'port': invalid value "abc" (expected a port number)"#
            )
        );
        let (_d, path) = file("isolation = true\n");
        assert_eq!(
            err(&with_config(&path), &[]),
            format!("config file {path}: key 'isolation': invalid value true (expected sandbox or none)")
        );
        let (_d, path) = file("idle_timeout_secs = -3\n");
        assert_eq!(
            err(&with_config(&path), &[]),
            format!(
                "config file {path}: key 'idle_timeout_secs': invalid value -3 \
                 (expected a number of seconds)"
            )
        );
    }

    #[test]
    fn unknown_keys_and_bad_files_are_errors() {
        let (_d, path) = file("prot = 1\n");
        let e = err(&with_config(&path), &[]);
        assert!(
            e.starts_with(&format!(
                "config file {path}: unknown key 'prot' (known keys: data_dir, "
            )),
            "{e}"
        );
        let (_d, path) = file("[controller]\nport = 1\n");
        assert!(err(&with_config(&path), &[]).contains("unknown key 'controller'"));
        let (_d, path) = file("port = \n");
        assert!(err(&with_config(&path), &[]).starts_with(&format!("config file {path}: ")));
        let e = err(&with_config("/nonexistent/whirl.toml"), &[]);
        assert!(
            e.starts_with("cannot read config file /nonexistent/whirl.toml: "),
            "{e}"
        );
    }

    #[test]
    fn standalone_takes_the_cluster_urls_and_refuses_others() {
        let none = StandaloneFlags::default();
        let c = load(&none, &[("WHIRL_STORE_URL", "postgres://db")]).unwrap();
        assert_eq!(c.config.common.store_url.as_deref(), Some("postgres://db"));
        let e = err(&none, &[("WHIRL_STORE_URL", "mysql://db")]);
        assert!(
            e.starts_with("WHIRL_STORE_URL: store_url must be a postgres:// URL"),
            "{e}"
        );
        let (_d, path) = file("bus_url = \"redis://bus\"\n");
        let e = err(&with_config(&path), &[]);
        assert!(
            e.starts_with(&format!(
                "config file {path}: key 'bus_url': bus_url must be a nats:// URL"
            )),
            "{e}"
        );
        // On the in-process bus standalone is invoker 0 and controller 0.
        let e = err(&none, &[("WHIRL_INVOKER_ID", "2")]);
        assert!(
            e.starts_with(
                "WHIRL_INVOKER_ID: invoker_id 2 is not supported by whirl standalone on the \
                 in-process bus"
            ),
            "{e}"
        );
        let env = [("WHIRL_INVOKER_ID", "0"), ("WHIRL_CONTROLLER_ID", "0")];
        assert!(load(&none, &env).is_ok());
        // On a cluster's bus it joins with the ids it is given.
        let env = [
            ("WHIRL_INVOKER_ID", "2"),
            ("WHIRL_BUS_URL", "nats://bus:4222"),
        ];
        assert_eq!(
            load(&none, &env).unwrap().config.invoker.invoker_id,
            Some(2)
        );
    }

    #[test]
    fn print_is_a_config_file_that_loads_to_the_same_config() {
        let mut flags = StandaloneFlags::default();
        flags.controller.port = Some("8080".into());
        flags.invoker.stem_cells = Some("nodejs:20:1:256".into());
        let env = [("WHIRL_ISOLATION", "none")];
        let e = load(&flags, &env).unwrap();
        let text = e.to_toml();
        assert!(text.contains("port = 8080"), "{text}");
        assert!(text.contains("# --port"), "{text}");
        assert!(text.contains("# WHIRL_ISOLATION"), "{text}");
        assert!(text.contains("host = \"127.0.0.1\""), "{text}");
        assert!(
            text.contains("# runtime_manifest = (not set: the manifest detected on this machine)"),
            "{text}"
        );
        let (_d, path) = file(&text);
        let again = load(&with_config(&path), &[]).unwrap();
        assert_eq!(again.config, e.config, "{text}");
        // Stem cells left to the manifest stay so.
        let e = load(&StandaloneFlags::default(), &[]).unwrap();
        assert!(e
            .to_toml()
            .contains("# stem_cells = (not set: the runtime manifest's)"));
    }

    fn nets(list: &[&str]) -> Vec<ipnet::IpNet> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    #[test]
    fn action_network_defaults_to_egress_with_no_entries() {
        let c = load(&StandaloneFlags::default(), &[]).unwrap().config;
        assert_eq!(c.invoker.action_network, ActionNetwork::Egress);
        assert!(c.invoker.egress_allow.is_empty());
        assert!(c.invoker.egress_deny.is_empty());
        assert_eq!(c.invoker.resolv_conf, None);
    }

    #[test]
    fn action_network_keys_in_every_layer() {
        let (_d, path) = file(
            "action_network = \"none\"\negress_allow = [\"10.0.0.0/8\", \"fd00::/8\"]\n\
             egress_deny = \"192.168.1.0/24, 10.1.0.0/16\"\nresolv_conf = \"r.conf\"\n",
        );
        let c = load(&with_config(&path), &[]).unwrap().config;
        assert_eq!(c.invoker.action_network, ActionNetwork::None);
        assert_eq!(c.invoker.egress_allow, nets(&["10.0.0.0/8", "fd00::/8"]));
        assert_eq!(
            c.invoker.egress_deny,
            nets(&["192.168.1.0/24", "10.1.0.0/16"])
        );
        assert_eq!(
            c.invoker.resolv_conf,
            Some(Path::new(&path).parent().unwrap().join("r.conf"))
        );
        // The environment replaces the file's lists (comma separated).
        let env = [
            ("WHIRL_ACTION_NETWORK", "egress"),
            ("WHIRL_EGRESS_ALLOW", "100.64.0.0/10,169.254.7.7"),
            ("WHIRL_EGRESS_DENY", ""),
        ];
        let c = load(&with_config(&path), &env).unwrap().config;
        assert_eq!(c.invoker.action_network, ActionNetwork::Egress);
        assert_eq!(
            c.invoker.egress_allow,
            nets(&["100.64.0.0/10", "169.254.7.7/32"])
        );
        assert!(c.invoker.egress_deny.is_empty());
        // Repeated flags add up, and replace the other layers' list.
        let mut flags = with_config(&path);
        flags.invoker.egress_allow = vec!["203.0.113.0/24".into(), "10.9.9.9/8".into()];
        flags.invoker.egress_deny = vec!["198.51.100.7".into()];
        flags.invoker.action_network = Some("none".into());
        let e = load(&flags, &env).unwrap();
        let c = e.config;
        assert_eq!(c.invoker.action_network, ActionNetwork::None);
        assert_eq!(
            c.invoker.egress_allow,
            nets(&["203.0.113.0/24", "10.0.0.0/8"]),
            "host bits are cleared"
        );
        assert_eq!(c.invoker.egress_deny, nets(&["198.51.100.7/32"]));
        assert_eq!(
            e.origins.of("egress_allow"),
            Origin::Flag("--egress-allow".into())
        );
    }

    #[test]
    fn invalid_action_network_values_name_the_key() {
        let none = StandaloneFlags::default();
        assert_eq!(
            err(&none, &[("WHIRL_ACTION_NETWORK", "bridge")]),
            r#"invalid value for WHIRL_ACTION_NETWORK: "bridge" (expected egress or none)"#
        );
        assert_eq!(
            err(&none, &[("WHIRL_EGRESS_ALLOW", "10.0.0.0/8,10.0.0/33")]),
            "invalid value for WHIRL_EGRESS_ALLOW: \"10.0.0.0/8,10.0.0/33\" (expected CIDRs \
             like 10.0.0.0/8 or fd00::/8, comma separated; '10.0.0/33' is not a CIDR or an IP \
             address)"
        );
        let mut flags = StandaloneFlags::default();
        flags.invoker.egress_deny = vec!["192.168.0.0/16".into(), "example.com".into()];
        let e = err(&flags, &[]);
        assert!(
            e.starts_with(r#"invalid value for --egress-deny: "example.com""#),
            "{e}"
        );
        let (_d, path) = file("egress_allow = [1]\n");
        let e = err(&with_config(&path), &[]);
        assert!(
            e.starts_with(&format!(
                "config file {path}: key 'egress_allow': invalid value [1]"
            )),
            "{e}"
        );
    }

    #[test]
    fn print_shows_the_action_network_and_loads_back() {
        let mut flags = StandaloneFlags::default();
        flags.invoker.egress_allow = vec!["10.0.0.0/8".into()];
        flags.invoker.egress_deny = vec!["fd00::/8".into(), "203.0.113.0/24".into()];
        let e = load(&flags, &[]).unwrap();
        let text = e.to_toml();
        assert!(text.contains("action_network = \"egress\""), "{text}");
        assert!(text.contains("egress_allow = [\"10.0.0.0/8\"]"), "{text}");
        assert!(
            text.contains("egress_deny = [\"fd00::/8\", \"203.0.113.0/24\"]"),
            "{text}"
        );
        assert!(
            text.contains("# resolv_conf = (not set: /etc/resolv.conf)"),
            "{text}"
        );
        let (_d, path) = file(&text);
        assert_eq!(load(&with_config(&path), &[]).unwrap().config, e.config);
    }

    #[test]
    fn admin_opens_the_servers_data_dir() {
        let d = defaults();
        let env = MapEnv::default();
        let a = AdminConfig::load_from(None, None, None, &env, &d).unwrap();
        assert_eq!(a.data_dir, d.data_dir);
        let (dir, path) = file("data_dir = \"/from/file\"\nport = 1\n");
        let a = AdminConfig::load_from(Some(&path), None, None, &env, &d).unwrap();
        assert_eq!(a.data_dir, PathBuf::from("/from/file"));
        let env = MapEnv::new([("WHIRL_DATA_DIR", "/from/env"), ("WHIRL_PORT", "bad")]);
        let a = AdminConfig::load_from(Some(&path), None, None, &env, &d).unwrap();
        assert_eq!(
            a.data_dir,
            PathBuf::from("/from/env"),
            "other variables are ignored"
        );
        let a = AdminConfig::load_from(Some(&path), Some("/from/flag"), None, &env, &d).unwrap();
        assert_eq!(a.data_dir, PathBuf::from("/from/flag"));
        drop(dir);
    }
}
