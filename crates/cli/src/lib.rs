//! whirl-cli: the `wsk`-compatible command line of Whirl.
//!
//! * [`run`] is what the `whirl` binary calls (argv including argv[0]); it prints to the real
//!   stdout/stderr and returns the exit code.
//! * [`run_with`] does the same with an injected [`Env`] (variables, home directory) and output
//!   streams, for tests.
//!
//! Exit codes follow wsk: 0 success, 1 general error, 2 usage error (e.g. missing auth), 3 network
//! error, HTTP errors `status - 256` (404 → 148, 409 → 153, 502 → 246 ...), 202 for a blocking
//! invocation that did not finish in time, 149 for "not allowed" usage combinations.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod args;
mod commands;
pub mod config;
mod messages;
pub mod output;
pub mod params;

use std::ffi::OsString;
use std::io::Write;
use std::sync::{Arc, Mutex};

use clap::{CommandFactory, FromArgMatches};

pub use config::{Env, Overrides, Properties, PropsFile};

/// Exit code of general errors.
pub const EXIT_GENERAL: i32 = 1;
/// Exit code of usage errors.
pub const EXIT_USAGE: i32 = 2;
/// Exit code of network errors.
pub const EXIT_NETWORK: i32 = 3;
/// Exit code of disallowed flag combinations.
pub const EXIT_NOT_ALLOWED: i32 = 149;
/// Exit code of a blocking invocation that is still running.
pub const EXIT_TIMED_OUT: i32 = 202;

/// An error of a command: message, exit code and whether the usage hint is printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError {
    /// Message (printed as `error: <msg>` unless empty or `quiet`).
    pub msg: String,
    /// Process exit code.
    pub exit: i32,
    /// Print `Run '<prog> --help' for usage.`.
    pub usage: bool,
    /// The message was already printed (or must not be).
    pub quiet: bool,
}

impl CliError {
    /// General error (exit 1).
    pub fn general(msg: impl Into<String>) -> CliError {
        CliError {
            msg: msg.into(),
            exit: EXIT_GENERAL,
            usage: false,
            quiet: false,
        }
    }

    /// Usage error (exit 2, with the usage hint).
    pub fn usage(msg: impl Into<String>) -> CliError {
        CliError {
            msg: msg.into(),
            exit: EXIT_USAGE,
            usage: true,
            quiet: false,
        }
    }

    /// Sets the exit code.
    pub fn code(mut self, exit: i32) -> CliError {
        self.exit = exit;
        self
    }

    /// Sets the usage hint.
    pub fn with_usage(mut self, usage: bool) -> CliError {
        self.usage = usage;
        self
    }

    /// An error that prints nothing more (output already written).
    pub fn silent(exit: i32) -> CliError {
        CliError {
            msg: String::new(),
            exit,
            usage: false,
            quiet: true,
        }
    }

    /// Wraps a client error: `"{prefix}: {err}"`, exit code from the HTTP status
    /// (`status - 256`) or 3 for network failures.
    pub fn client(prefix: &str, e: &whirl_client::Error) -> CliError {
        let exit = exit_code_of(e);
        let msg = if prefix.is_empty() {
            e.to_string()
        } else {
            format!("{prefix}: {e}")
        };
        CliError {
            msg,
            exit,
            usage: false,
            quiet: false,
        }
    }
}

/// Exit code for a client error, like wsk.
pub fn exit_code_of(e: &whirl_client::Error) -> i32 {
    match e {
        whirl_client::Error::Http { status, .. } => http_exit_code(*status),
        whirl_client::Error::Transport(_) => EXIT_NETWORK,
        whirl_client::Error::InvalidHost(_) | whirl_client::Error::ClientIdentity(_) => {
            EXIT_GENERAL
        }
    }
}

/// `status - 256` as the process sees it (wsk's behaviour); 1 for statuses below 256.
pub fn http_exit_code(status: u16) -> i32 {
    let s = i32::from(status);
    if s > 256 {
        (s - 256) & 0xff
    } else {
        EXIT_GENERAL
    }
}

/// Runs the CLI with the process environment and stdio; returns the exit code.
pub fn run<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let env = Env::from_process();
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let mut out = stdout.lock();
    let mut err = stderr.lock();
    let code = run_with(args, &env, &mut out, &mut err);
    let _ = out.flush();
    let _ = err.flush();
    code
}

/// Program name from argv[0] (`wsk` when invoked as wsk, else `whirl`).
fn prog_name(argv0: Option<&OsString>) -> String {
    let name = argv0
        .map(|a| {
            std::path::Path::new(a)
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
        .unwrap_or_default();
    let name = name.strip_suffix(".exe").unwrap_or(&name).to_string();
    if name == "wsk" {
        "wsk".to_string()
    } else {
        "whirl".to_string()
    }
}

/// The clap command (named `prog`).
pub fn command(prog: &str) -> clap::Command {
    let name: &'static str = if prog == "wsk" { "wsk" } else { "whirl" };
    args::Cli::command().name(name).bin_name(name)
}

/// Runs the CLI with an injected environment and output streams; returns the exit code.
pub fn run_with<I, T>(args: I, env: &Env, out: &mut dyn Write, err: &mut dyn Write) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let argv: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let prog = prog_name(argv.first());
    // A missing `-P`/`-A` file is a usage error in wsk (exit 2, "Failed to parse arguments: ...").
    let missing_file = std::cell::Cell::new(false);
    let read_file = |f: &str| -> Result<String, String> {
        std::fs::read_to_string(env.resolve(f)).map_err(|_| {
            missing_file.set(true);
            format!(
                "Failed to parse arguments: File '{f}' is not a valid file or it does not exist"
            )
        })
    };
    let (argv, kv) = match params::extract(argv, &read_file) {
        Ok(x) => x,
        Err(m) => {
            let _ = writeln!(err, "error: {m}");
            let _ = writeln!(err, "Run '{prog} --help' for usage.");
            return if missing_file.get() {
                EXIT_USAGE
            } else {
                EXIT_GENERAL
            };
        }
    };
    let cmd = command(&prog);
    let matches = match cmd.try_get_matches_from(argv) {
        Ok(m) => m,
        Err(e) => {
            use clap::error::ErrorKind;
            let text = e.render().to_string();
            return match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
                    let _ = write!(out, "{text}");
                    0
                }
                ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                    let _ = write!(out, "{text}");
                    0
                }
                _ => {
                    let _ = write!(err, "{text}");
                    EXIT_GENERAL
                }
            };
        }
    };
    let cli = match args::Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => {
            let _ = write!(err, "{}", e.render());
            return EXIT_GENERAL;
        }
    };
    let result = {
        let mut ctx = commands::Ctx::new(env, out, err, prog.clone(), kv);
        let r = commands::dispatch(&mut ctx, cli);
        ctx.flush_trace();
        r
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            if !e.quiet && !e.msg.is_empty() {
                let _ = writeln!(err, "error: {}", e.msg);
            }
            if e.usage {
                let _ = writeln!(err, "Run '{prog} --help' for usage.");
            }
            e.exit
        }
    }
}

/// Buffer shared with the client's trace hook for `-v`.
pub(crate) type TraceBuf = Arc<Mutex<Vec<u8>>>;

#[cfg(test)]
mod tests;
