//! clap definitions of the `wsk`-compatible command line, one module per noun (the verbs of a
//! noun are in the module of the same name under `commands/`); flags shared by many commands
//! are in [`common`].

use clap::{Parser, Subcommand};

mod action;
mod activation;
mod api;
mod common;
mod namespace;
mod package;
mod property;
mod rule;
mod trigger;

pub use action::{ActionCmd, ActionPut};
pub use activation::ActivationCmd;
pub use api::ApiCmd;
pub use common::{AnnotOpts, GlobalOpts, ListOpts, ParamOpts};
pub use namespace::{NamespaceCmd, NamespaceGet};
pub use package::{PackageCmd, PackagePut};
pub use property::PropertyCmd;
pub use rule::{NameOnly, RuleCmd, RulePut};
pub use trigger::{TriggerCmd, TriggerPut};

/// Top level.
#[derive(Debug, Parser)]
#[command(
    about = "OpenWhisk cloud computing command line interface (Whirl).",
    disable_version_flag = true,
    after_help = "The `whirl` binary also runs the platform: `whirl standalone` starts the whole \
                  platform on 127.0.0.1:3233 and `whirl admin` manages subjects and keys."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalOpts,
    #[command(subcommand)]
    pub cmd: Cmd,
}

/// Commands.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// work with actions
    #[command(subcommand)]
    Action(ActionCmd),
    /// work with activations
    #[command(subcommand)]
    Activation(ActivationCmd),
    /// work with APIs
    #[command(subcommand)]
    Api(ApiCmd),
    /// work with packages
    #[command(subcommand)]
    Package(PackageCmd),
    /// work with rules
    #[command(subcommand)]
    Rule(RuleCmd),
    /// work with triggers
    #[command(subcommand)]
    Trigger(TriggerCmd),
    /// work with whisk properties
    #[command(subcommand)]
    Property(PropertyCmd),
    /// work with namespaces
    #[command(subcommand)]
    Namespace(NamespaceCmd),
    /// list entities in the current namespace
    List(NamespaceGet),
    /// print shell completions (bash, zsh or fish)
    Completions {
        /// the shell
        shell: clap_complete::Shell,
    },
}
