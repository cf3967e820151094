//! Flags shared by many commands: global options, `-p/-P`, `-a/-A`, list paging.

use clap::Args;

/// Options accepted everywhere (cobra "persistent flags" in wsk).
#[derive(Debug, Clone, Default, Args)]
pub struct GlobalOpts {
    /// authorization KEY
    #[arg(short = 'u', long = "auth", value_name = "KEY")]
    pub auth: Option<String>,
    /// whisk API HOST
    #[arg(long = "apihost", value_name = "HOST")]
    pub apihost: Option<String>,
    /// whisk API VERSION
    #[arg(long = "apiversion", value_name = "VERSION")]
    pub apiversion: Option<String>,
    /// bypass certificate checking
    #[arg(short = 'i', long = "insecure")]
    pub insecure: bool,
    /// client cert
    #[arg(long = "cert")]
    pub cert: Option<String>,
    /// client key
    #[arg(long = "key")]
    pub key: Option<String>,
    /// verbose output
    #[arg(short = 'v', long = "verbose")]
    pub verbose: bool,
    /// debug level output
    #[arg(short = 'd', long = "debug")]
    pub debug: bool,
}

impl GlobalOpts {
    /// Merges `other` (more specific, e.g. given after the subcommand) over `self`.
    pub fn merge(&self, other: &GlobalOpts) -> GlobalOpts {
        GlobalOpts {
            auth: other.auth.clone().or_else(|| self.auth.clone()),
            apihost: other.apihost.clone().or_else(|| self.apihost.clone()),
            apiversion: other.apiversion.clone().or_else(|| self.apiversion.clone()),
            insecure: self.insecure || other.insecure,
            cert: other.cert.clone().or_else(|| self.cert.clone()),
            key: other.key.clone().or_else(|| self.key.clone()),
            verbose: self.verbose || other.verbose,
            debug: self.debug || other.debug,
        }
    }
}

/// `-p/-P` (extracted before parsing; declared for help only).
#[derive(Debug, Clone, Default, Args)]
pub struct ParamOpts {
    /// parameter values in KEY VALUE format
    #[arg(short = 'p', long = "param", num_args = 2, value_names = ["KEY", "VALUE"], allow_hyphen_values = true)]
    pub param: Vec<String>,
    /// FILE containing parameter values in JSON format
    #[arg(short = 'P', long = "param-file", value_name = "FILE")]
    pub param_file: Option<String>,
}

/// `-a/-A` (extracted before parsing; declared for help only).
#[derive(Debug, Clone, Default, Args)]
pub struct AnnotOpts {
    /// annotation values in KEY VALUE format
    #[arg(short = 'a', long = "annotation", num_args = 2, value_names = ["KEY", "VALUE"], allow_hyphen_values = true)]
    pub annotation: Vec<String>,
    /// FILE containing annotation values in JSON format
    #[arg(short = 'A', long = "annotation-file", value_name = "FILE")]
    pub annotation_file: Option<String>,
}

/// `--limit/--skip/--name-sort` of list commands.
#[derive(Debug, Clone, Args)]
pub struct ListOpts {
    /// exclude the first SKIP number of entities from the result
    #[arg(short = 's', long = "skip", default_value_t = 0, value_name = "SKIP")]
    pub skip: u32,
    /// only return LIMIT number of entities from the collection
    #[arg(
        short = 'l',
        long = "limit",
        default_value_t = 30,
        value_name = "LIMIT"
    )]
    pub limit: u32,
    /// sorts a list alphabetically by entity name; only applicable within the limit/skip returned entity block
    #[arg(short = 'n', long = "name-sort")]
    pub name_sort: bool,
}
