//! `wsk rule ...` arguments.

use clap::{Args, Subcommand};

use super::{GlobalOpts, ListOpts};

/// `rule create|update` arguments.
#[derive(Debug, Clone, Args)]
pub struct RulePut {
    /// RULE_NAME TRIGGER_NAME ACTION_NAME
    pub args: Vec<String>,
    #[command(flatten)]
    pub global: GlobalOpts,
}

/// A command taking only a name.
#[derive(Debug, Clone, Args)]
pub struct NameOnly {
    /// NAME
    pub name: String,
    #[command(flatten)]
    pub global: GlobalOpts,
}

/// `rule` subcommands.
#[derive(Debug, Subcommand)]
pub enum RuleCmd {
    /// enable rule
    Enable(NameOnly),
    /// disable rule
    Disable(NameOnly),
    /// get rule status
    Status(NameOnly),
    /// create new rule
    Create(RulePut),
    /// update an existing rule, or create a rule if it does not exist
    Update(RulePut),
    /// get rule
    Get {
        /// RULE_NAME
        name: String,
        /// FIELD_FILTER
        field: Option<String>,
        /// summarize rule details
        #[arg(short = 's', long)]
        summary: bool,
        #[command(flatten)]
        global: GlobalOpts,
    },
    /// delete rule
    Delete {
        /// RULE_NAME
        name: String,
        /// automatically disable rule before deleting it
        #[arg(long)]
        disable: bool,
        #[command(flatten)]
        global: GlobalOpts,
    },
    /// list all rules
    List {
        /// NAMESPACE
        namespace: Option<String>,
        #[command(flatten)]
        list: ListOpts,
        #[command(flatten)]
        global: GlobalOpts,
    },
}
