//! `wsk activation ...` arguments.

use clap::Subcommand;

use super::GlobalOpts;

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
