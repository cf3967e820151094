//! `wsk property ...` arguments.

use clap::{Args, Subcommand};

/// `property get|unset` selectors.
#[derive(Debug, Clone, Default, Args)]
pub struct PropSelect {
    /// client cert
    #[arg(long)]
    pub cert: bool,
    /// Client key
    #[arg(long)]
    pub key: bool,
    /// authorization key
    #[arg(long)]
    pub auth: bool,
    /// whisk API host
    #[arg(long)]
    pub apihost: bool,
    /// whisk API version
    #[arg(long)]
    pub apiversion: bool,
}

/// `property` subcommands.
#[derive(Debug, Subcommand)]
pub enum PropertyCmd {
    /// set property
    Set {
        /// authorization KEY
        #[arg(short = 'u', long)]
        auth: Option<String>,
        /// client cert
        #[arg(long)]
        cert: Option<String>,
        /// client key
        #[arg(long)]
        key: Option<String>,
        /// whisk API HOST
        #[arg(long)]
        apihost: Option<String>,
        /// whisk API VERSION
        #[arg(long)]
        apiversion: Option<String>,
        /// bypass certificate checking
        #[arg(short = 'i', long)]
        insecure: bool,
        /// verbose output
        #[arg(short = 'v', long)]
        verbose: bool,
        /// debug level output
        #[arg(short = 'd', long)]
        debug: bool,
        /// set the default namespace (written as NAMESPACE)
        #[arg(long)]
        namespace: Option<String>,
    },
    /// unset property
    Unset {
        #[command(flatten)]
        sel: PropSelect,
        /// the default namespace
        #[arg(long)]
        namespace: bool,
        /// verbose output
        #[arg(short = 'v', long)]
        verbose: bool,
    },
    /// get property
    Get {
        #[command(flatten)]
        sel: PropSelect,
        /// whisk API build version
        #[arg(long)]
        apibuild: bool,
        /// whisk API build number
        #[arg(long)]
        apibuildno: bool,
        /// whisk CLI version
        #[arg(long)]
        cliversion: bool,
        /// whisk namespace
        #[arg(long)]
        namespace: bool,
        /// all properties
        #[arg(long)]
        all: bool,
        /// Output format in std|raw
        #[arg(short = 'o', long, default_value = "std")]
        output: String,
        /// bypass certificate checking
        #[arg(short = 'i', long)]
        insecure: bool,
        /// verbose output
        #[arg(short = 'v', long)]
        verbose: bool,
    },
}
