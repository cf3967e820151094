//! `wsk action ...` arguments.

use clap::{Args, Subcommand};

use super::{AnnotOpts, GlobalOpts, ListOpts, ParamOpts};

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
