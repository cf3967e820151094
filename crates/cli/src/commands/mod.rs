//! The verbs, one module per noun of `wsk <noun> <verb>` (its clap definitions are in the
//! module of the same name under `args/`). A new noun gets its own `commands/<noun>.rs` with a
//! `run` entry point and one arm in [`dispatch`] (`api` is the latest: the API gateway through
//! the `/whisk.system/apimgmt` web actions).
//!
//! * [`context`]: the execution context (output, configuration, the client).
//! * [`names`]: wsk's qualified names.
//! * [`common`]: helpers shared by the nouns (argument counts, field filters, list tables,
//!   `--summary` blocks).
//! * The user-visible wsk texts are in [`crate::messages`].

mod action;
mod activation;
mod api;
mod common;
mod completions;
mod context;
mod names;
mod namespace;
mod package;
mod property;
mod rule;
mod trigger;

pub(crate) use context::Ctx;
pub(crate) use names::{qualify, QName};

use crate::args::{Cli, Cmd, NamespaceCmd};
use crate::CliError;

/// What every command returns.
type R<T = ()> = Result<T, CliError>;

/// Runs the parsed command line.
pub(crate) fn dispatch(ctx: &mut Ctx<'_>, cli: Cli) -> R {
    let top = cli.global.clone();
    match cli.cmd {
        Cmd::Completions { shell } => completions::run(ctx, shell),
        Cmd::Action(a) => action::run(ctx, &top, a),
        Cmd::Activation(a) => activation::run(ctx, &top, a),
        Cmd::Api(a) => api::run(ctx, &top, a),
        Cmd::Trigger(t) => trigger::run(ctx, &top, t),
        Cmd::Rule(r) => rule::run(ctx, &top, r),
        Cmd::Package(p) => package::run(ctx, &top, p),
        Cmd::Property(p) => property::run(ctx, &top, p),
        Cmd::Namespace(NamespaceCmd::List { global }) => {
            ctx.set_global(&top, &global);
            namespace::list(ctx)
        }
        Cmd::Namespace(NamespaceCmd::Get(g)) | Cmd::List(g) => {
            ctx.set_global(&top, &g.global);
            namespace::get(ctx, &g)
        }
    }
}
