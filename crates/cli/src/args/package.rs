//! `wsk package ...` arguments.

use clap::{Args, Subcommand};

use super::{AnnotOpts, GlobalOpts, ListOpts, ParamOpts};

/// `package create|update` flags.
#[derive(Debug, Clone, Args)]
pub struct PackagePut {
    /// PACKAGE_NAME
    pub name: String,
    /// package visibility SCOPE; yes = shared, no = private
    #[arg(long, value_name = "SCOPE")]
    pub shared: Option<String>,
    #[command(flatten)]
    pub params: ParamOpts,
    #[command(flatten)]
    pub annots: AnnotOpts,
    #[command(flatten)]
    pub global: GlobalOpts,
}

/// `package` subcommands.
#[derive(Debug, Subcommand)]
pub enum PackageCmd {
    /// bind parameters to a package
    Bind {
        /// PACKAGE_NAME
        package: String,
        /// BINDING_NAME
        binding: String,
        /// overwrite bind
        #[arg(short = 'o', long)]
        overwrite: bool,
        #[command(flatten)]
        params: ParamOpts,
        #[command(flatten)]
        annots: AnnotOpts,
        #[command(flatten)]
        global: GlobalOpts,
    },
    /// create a new package
    Create(PackagePut),
    /// update an existing package, or create a package if it does not exist
    Update(PackagePut),
    /// get package
    Get {
        /// PACKAGE_NAME
        name: String,
        /// FIELD_FILTER
        field: Option<String>,
        /// summarize package details; parameters with prefix "*" are bound
        #[arg(short = 's', long)]
        summary: bool,
        #[command(flatten)]
        global: GlobalOpts,
    },
    /// delete package
    Delete {
        /// PACKAGE_NAME
        name: String,
        /// also delete the package's actions
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        global: GlobalOpts,
    },
    /// list all packages
    List {
        /// NAMESPACE
        namespace: Option<String>,
        #[command(flatten)]
        list: ListOpts,
        #[command(flatten)]
        global: GlobalOpts,
    },
}
