//! `wsk api ...` arguments.

use clap::Subcommand;

use super::GlobalOpts;

/// `api` subcommands.
#[derive(Debug, Subcommand)]
pub enum ApiCmd {
    /// create a new API
    #[command()]
    Create {
        /// [BASE_PATH] API_PATH API_VERB ACTION
        args: Vec<String>,
        /// Friendly name of the API; ignored when CFG_FILE is specified (default BASE_PATH)
        #[arg(short = 'n', long = "apiname", value_name = "API_NAME")]
        apiname: Option<String>,
        /// CFG_FILE containing API configuration in swagger JSON format
        #[arg(short = 'c', long = "config-file", value_name = "CFG_FILE")]
        config_file: Option<String>,
        /// Set the web action response TYPE. Possible values are html, http, json, text, svg
        #[arg(long = "response-type", value_name = "TYPE", default_value = "json")]
        response_type: String,
        #[command(flatten)]
        global: GlobalOpts,
    },
    /// get API details
    Get {
        /// BASE_PATH | API_NAME
        args: Vec<String>,
        /// display full API configuration details
        #[arg(short = 'f', long = "full")]
        full: bool,
        /// Specify the API output TYPE, either json or yaml
        #[arg(long = "format", value_name = "TYPE", default_value = "json")]
        format: String,
        #[command(flatten)]
        global: GlobalOpts,
    },
    /// delete an API
    Delete {
        /// BASE_PATH | API_NAME [API_PATH [API_VERB]]
        args: Vec<String>,
        #[command(flatten)]
        global: GlobalOpts,
    },
    /// list APIs
    List {
        /// [BASE_PATH | API_NAME] [API_PATH [API_VERB]]
        args: Vec<String>,
        /// exclude the first SKIP number of actions from the result
        #[arg(short = 's', long = "skip", default_value_t = 0, value_name = "SKIP")]
        skip: u32,
        /// only return LIMIT number of actions from the collection
        #[arg(
            short = 'l',
            long = "limit",
            default_value_t = 30,
            value_name = "LIMIT"
        )]
        limit: u32,
        /// sorts a list alphabetically by order of [BASE_PATH | API_NAME], API_PATH, then API_VERB; only applicable within the limit/skip returned entity block
        #[arg(short = 'n', long = "name-sort")]
        name_sort: bool,
        /// display full description of each API
        #[arg(short = 'f', long = "full")]
        full: bool,
        #[command(flatten)]
        global: GlobalOpts,
    },
}
