//! `whirl`: the whole platform in one binary. This file only parses the command line and runs
//! what it names; the wiring is in `whirl-server`, the configuration in `whirl-config`.
//!
//! - `whirl standalone`: controller + store + invoker on one machine.
//! - `whirl controller`, `whirl invoker`: the roles of a cluster (PostgreSQL store, NATS bus).
//! - `whirl config print`: the configuration `whirl standalone` would run with.
//! - `whirl admin ...`: namespace and key management (OpenWhisk's `wskadmin`).
//! - any other verb (`action`, `trigger`, `property`, ...), or when invoked as `wsk`: the
//!   wsk-compatible client (`whirl-cli`).
//! - `whirl __sandbox-init`: the sandbox set-up helper (internal, re-executed by the invoker).

use std::path::Path;

use anyhow::Result;
use clap::{Args, Parser, Subcommand};
use whirl_config::{
    AdminConfig, ControllerConfig, ControllerRoleFlags, InvokerConfig, InvokerRoleFlags,
    StandaloneConfig, StandaloneFlags,
};
use whirl_server::admin::AdminCommand;

#[derive(Debug, Parser)]
#[command(
    name = "whirl",
    version,
    about = "Whirl: an OpenWhisk-compatible serverless platform",
    after_help = "Client verbs (same as wsk): property, action, activation, trigger, rule, package, \
namespace, list, completions. Run `whirl action --help` and so on for each."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the whole platform on this machine.
    Standalone(StandaloneFlags),
    /// Run a controller of a cluster (the REST API) over its PostgreSQL store and NATS bus.
    Controller(ControllerRoleFlags),
    /// Run an invoker of a cluster (the container pool) over its PostgreSQL store and NATS bus.
    Invoker(InvokerRoleFlags),
    /// Show the configuration (defaults < config file < WHIRL_* environment < flags).
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Manage namespaces, keys and limits (like OpenWhisk's wskadmin).
    Admin(AdminArgs),
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Print the effective `whirl standalone` configuration as TOML (a valid config file).
    Print(StandaloneFlags),
    /// Print the effective `whirl controller` configuration as TOML.
    Controller(ControllerRoleFlags),
    /// Print the effective `whirl invoker` configuration as TOML.
    Invoker(InvokerRoleFlags),
}

#[derive(Debug, Args)]
struct AdminArgs {
    /// The data dir of the platform to administer [env: WHIRL_DATA_DIR] [default: the one
    /// `whirl standalone` uses].
    #[arg(long, value_name = "DIR", global = true)]
    data_dir: Option<String>,
    /// The server's config file, for its `data_dir` [env: WHIRL_CONFIG].
    #[arg(long, value_name = "FILE", global = true)]
    config: Option<String>,
    /// The cluster's store, `postgres://...` [env: WHIRL_STORE_URL] [default: the SQLite
    /// store in the data dir].
    #[arg(long, value_name = "URL", global = true)]
    store_url: Option<String>,
    #[command(subcommand)]
    command: AdminCommand,
}

/// Verbs served by this file; every other invocation is the wsk-compatible client.
const SERVER_VERBS: &[&str] = &[
    "standalone",
    "controller",
    "invoker",
    "config",
    "admin",
    "help",
    "--help",
    "-h",
    "--version",
    "-V",
];

fn main() -> std::process::ExitCode {
    // Must come first: the sandbox helper runs before any thread exists.
    whirl_sandbox::run_init_if_requested();
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let invoked_as_wsk = args
        .first()
        .and_then(|a| Path::new(a).file_name())
        .is_some_and(|n| n == "wsk");
    let verb = args.get(1).and_then(|a| a.to_str()).unwrap_or("");
    if invoked_as_wsk || (!verb.is_empty() && !SERVER_VERBS.contains(&verb)) {
        let code = whirl_cli::run(args);
        return std::process::ExitCode::from(u8::try_from(code & 0xff).unwrap_or(1));
    }
    match run(Cli::parse().command) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> Result<()> {
    match command {
        Command::Standalone(flags) => {
            whirl_server::standalone::run(StandaloneConfig::load(&flags)?.config)
        }
        Command::Controller(flags) => {
            whirl_server::controller::run(ControllerConfig::load(&flags)?.config)
        }
        Command::Invoker(flags) => whirl_server::invoker::run(InvokerConfig::load(&flags)?.config),
        Command::Config(ConfigCommand::Print(flags)) => {
            print!("{}", StandaloneConfig::load(&flags)?.to_toml());
            Ok(())
        }
        Command::Config(ConfigCommand::Controller(flags)) => {
            print!("{}", ControllerConfig::load(&flags)?.to_toml());
            Ok(())
        }
        Command::Config(ConfigCommand::Invoker(flags)) => {
            print!("{}", InvokerConfig::load(&flags)?.to_toml());
            Ok(())
        }
        Command::Admin(args) => {
            let config = AdminConfig::load(
                args.config.as_deref(),
                args.data_dir.as_deref(),
                args.store_url.as_deref(),
            )?;
            whirl_server::admin::run(&config, args.command)
        }
    }
}
