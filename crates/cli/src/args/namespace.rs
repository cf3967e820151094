//! `wsk namespace ...` and `wsk list` arguments.

use clap::{Args, Subcommand};

use super::GlobalOpts;

/// `namespace get` / `list`.
#[derive(Debug, Clone, Args)]
pub struct NamespaceGet {
    /// NAMESPACE
    pub namespace: Option<String>,
    /// sorts a list alphabetically by entity name
    #[arg(short = 'n', long = "name-sort")]
    pub name_sort: bool,
    #[command(flatten)]
    pub global: GlobalOpts,
}

/// `namespace` subcommands.
#[derive(Debug, Subcommand)]
pub enum NamespaceCmd {
    /// list available namespaces
    List {
        #[command(flatten)]
        global: GlobalOpts,
    },
    /// get triggers, actions, and rules in the registry for namespace
    Get(NamespaceGet),
}
