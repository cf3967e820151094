//! `wsk trigger ...` arguments.

use clap::{Args, Subcommand};

use super::{AnnotOpts, GlobalOpts, ListOpts, ParamOpts};

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
