//! `whirl completions <shell>`: shell completion scripts.

use super::{Ctx, R};

/// Prints the completion script of `shell`.
pub(super) fn run(ctx: &mut Ctx<'_>, shell: clap_complete::Shell) -> R {
    let mut cmd = crate::command(&ctx.prog);
    let name = ctx.prog.clone();
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, name, &mut buf);
    ctx.p(&String::from_utf8_lossy(&buf));
    Ok(())
}
