//! clap definitions of the `wsk`-compatible command line.

use clap::{Args, Parser, Subcommand};

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

/// Flags shared by `action create` and `action update`.
#[derive(Debug, Clone, Args)]
pub struct ActionPut {
    /// ACTION_NAME
    pub name: String,
    /// code artifact (file), existing action (--copy) or comma separated actions (--sequence)
    pub artifact: Option<String>,
    /// extra arguments (reported as an error)
    #[arg(hide = true)]
    pub extra: Vec<String>,
    /// treat ACTION as native action (zip file provides a compatible executable to run)
    #[arg(long)]
    pub native: bool,
    /// use provided docker image (a path on DockerHub) to run the action
    #[arg(long, value_name = "IMAGE")]
    pub docker: Option<String>,
    /// treat ACTION as the name of an existing action
    #[arg(long)]
    pub copy: bool,
    /// treat ACTION as comma separated sequence of actions to invoke
    #[arg(long)]
    pub sequence: bool,
    /// the KIND of the action runtime (example: swift:default, nodejs:default)
    #[arg(long, value_name = "KIND")]
    pub kind: Option<String>,
    /// the name of the action entry point (function or fully-qualified method name when applicable)
    #[arg(long, value_name = "MAIN")]
    pub main: Option<String>,
    /// the timeout LIMIT in milliseconds after which the action is terminated
    #[arg(short = 't', long, value_name = "LIMIT")]
    pub timeout: Option<u64>,
    /// the maximum memory LIMIT in MB for the action
    #[arg(short = 'm', long, value_name = "LIMIT")]
    pub memory: Option<u64>,
    /// the maximum log size LIMIT in MB for the action
    #[arg(short = 'l', long = "logsize", value_name = "LIMIT")]
    pub logsize: Option<u64>,
    /// the maximum intra-container concurrent activation LIMIT for the action
    #[arg(short = 'c', long, value_name = "LIMIT")]
    pub concurrency: Option<u64>,
    /// treat ACTION as a web action, a raw HTTP web action, or as a standard action; yes | true = web action, raw = raw HTTP web action, no | false = standard action
    #[arg(long, value_name = "yes|true|raw|no|false")]
    pub web: Option<String>,
    /// secure the web action. where SECRET is true, false, or any string. Only valid when the ACTION is a web action
    #[arg(long = "web-secure", value_name = "SECRET")]
    pub web_secure: Option<String>,
    #[command(flatten)]
    pub params: ParamOpts,
    #[command(flatten)]
    pub annots: AnnotOpts,
    #[command(flatten)]
    pub global: GlobalOpts,
}

/// `action` subcommands.
#[derive(Debug, Subcommand)]
pub enum ActionCmd {
    /// create a new action
    Create(ActionPut),
    /// update an existing action, or create an action if it does not exist
    Update {
        #[command(flatten)]
        put: ActionPut,
        /// the list of annotations to be deleted from the action, e.g. --del-annotation key1 --del-annotation key2
        #[arg(long = "del-annotation", value_name = "KEY")]
        del_annotation: Vec<String>,
    },
    /// invoke action
    Invoke {
        /// ACTION_NAME
        name: String,
        #[arg(hide = true)]
        extra: Vec<String>,
        /// blocking invoke
        #[arg(short = 'b', long)]
        blocking: bool,
        /// blocking invoke; show only activation result (unless there is a failure)
        #[arg(short = 'r', long)]
        result: bool,
        #[command(flatten)]
        params: ParamOpts,
        #[command(flatten)]
        global: GlobalOpts,
    },
    /// get action
    Get {
        /// ACTION_NAME
        name: String,
        /// FIELD_FILTER
        field: Option<String>,
        /// summarize action details; parameters with prefix "*" are bound, "**" are bound and finalized
        #[arg(short = 's', long)]
        summary: bool,
        /// get action url
        #[arg(short = 'r', long)]
        url: bool,
        /// save action code to file corresponding with action name
        #[arg(long)]
        save: bool,
        /// file to save action code to
        #[arg(long = "save-as", value_name = "FILE")]
        save_as: Option<String>,
        #[command(flatten)]
        global: GlobalOpts,
    },
    /// delete action
    Delete {
        /// ACTION_NAME
        name: String,
        #[command(flatten)]
        global: GlobalOpts,
    },
    /// list all actions in a namespace or actions contained in a package
    List {
        /// NAMESPACE or PACKAGE_NAME
        namespace: Option<String>,
        #[command(flatten)]
        list: ListOpts,
        #[command(flatten)]
        global: GlobalOpts,
    },
}

/// `activation` subcommands.
#[derive(Debug, Subcommand)]
pub enum ActivationCmd {
    /// list activations
    List {
        /// NAMESPACE or NAME
        name: Option<String>,
        /// exclude the first SKIP number of activations from the result
        #[arg(short = 's', long, default_value_t = 0)]
        skip: u32,
        /// only return LIMIT number of activations from the collection with a maximum LIMIT of 200 activations
        #[arg(short = 'l', long, default_value_t = 30)]
        limit: u32,
        /// include full activation description
        #[arg(short = 'f', long)]
        full: bool,
        /// return activations with timestamps earlier than UPTO; measured in milliseconds since Th, 01, Jan 1970
        #[arg(long, value_name = "UPTO")]
        upto: Option<u64>,
        /// return activations with timestamps later than SINCE; measured in milliseconds since Th, 01, Jan 1970
        #[arg(long, value_name = "SINCE")]
        since: Option<u64>,
        #[command(flatten)]
        global: GlobalOpts,
    },
    /// get activation
    Get {
        /// ACTIVATION_ID [FIELD_FILTER]
        args: Vec<String>,
        /// summarize activation details
        #[arg(short = 's', long)]
        summary: bool,
        /// retrieves the last activation
        #[arg(short = 'l', long)]
        last: bool,
        /// emit only the logs, stripped of time stamps and stream identifier
        #[arg(short = 'g', long)]
        logs: bool,
        #[command(flatten)]
        global: GlobalOpts,
    },
    /// get the logs of an activation
    Logs {
        /// ACTIVATION_ID
        args: Vec<String>,
        /// retrieves the last activation
        #[arg(short = 'l', long)]
        last: bool,
        /// strip timestamp and stream information
        #[arg(short = 'r', long)]
        strip: bool,
        #[command(flatten)]
        global: GlobalOpts,
    },
    /// get the result of an activation
    Result {
        /// ACTIVATION_ID
        args: Vec<String>,
        /// retrieves the last activation
        #[arg(short = 'l', long)]
        last: bool,
        #[command(flatten)]
        global: GlobalOpts,
    },
    /// poll continuously for log messages from currently running actions
    Poll {
        /// NAMESPACE or ACTION_NAME
        name: Option<String>,
        /// stop polling after SECONDS seconds
        #[arg(short = 'e', long, value_name = "SECONDS", default_value_t = 0)]
        exit: u64,
        /// start polling for activations SECONDS seconds ago
        #[arg(long = "since-seconds", default_value_t = 0)]
        since_seconds: u64,
        /// start polling for activations MINUTES minutes ago
        #[arg(long = "since-minutes", default_value_t = 0)]
        since_minutes: u64,
        /// start polling for activations HOURS hours ago
        #[arg(long = "since-hours", default_value_t = 0)]
        since_hours: u64,
        /// start polling for activations DAYS days ago
        #[arg(long = "since-days", default_value_t = 0)]
        since_days: u64,
        #[command(flatten)]
        global: GlobalOpts,
    },
}

/// `trigger create|update` flags.
#[derive(Debug, Clone, Args)]
pub struct TriggerPut {
    /// TRIGGER_NAME
    pub name: String,
    #[arg(hide = true)]
    pub extra: Vec<String>,
    /// trigger feed ACTION_NAME
    #[arg(short = 'f', long, value_name = "ACTION_NAME")]
    pub feed: Option<String>,
    /// feed parameter values in KEY VALUE format
    #[arg(short = 'F', long = "feed-param", num_args = 2, value_names = ["KEY", "VALUE"])]
    pub feed_param: Vec<String>,
    /// trigger parameter values in KEY VALUE format
    #[arg(short = 'T', long = "trigger-param", num_args = 2, value_names = ["KEY", "VALUE"])]
    pub trigger_param: Vec<String>,
    #[command(flatten)]
    pub params: ParamOpts,
    #[command(flatten)]
    pub annots: AnnotOpts,
    #[command(flatten)]
    pub global: GlobalOpts,
}

/// `trigger` subcommands.
#[derive(Debug, Subcommand)]
pub enum TriggerCmd {
    /// fire trigger event
    Fire {
        /// TRIGGER_NAME
        name: String,
        /// PAYLOAD (JSON object)
        payload: Option<String>,
        #[command(flatten)]
        params: ParamOpts,
        #[command(flatten)]
        global: GlobalOpts,
    },
    /// create new trigger
    Create(TriggerPut),
    /// update an existing trigger, or create a trigger if it does not exist
    Update(TriggerPut),
    /// get trigger
    Get {
        /// TRIGGER_NAME
        name: String,
        /// FIELD_FILTER
        field: Option<String>,
        /// summarize trigger details; parameters with prefix "*" are bound
        #[arg(short = 's', long)]
        summary: bool,
        #[command(flatten)]
        global: GlobalOpts,
    },
    /// delete trigger
    Delete {
        /// TRIGGER_NAME
        name: String,
        #[command(flatten)]
        global: GlobalOpts,
    },
    /// list all triggers
    List {
        /// NAMESPACE
        namespace: Option<String>,
        #[command(flatten)]
        list: ListOpts,
        #[command(flatten)]
        global: GlobalOpts,
    },
}

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
