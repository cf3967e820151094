//! `wsk activation ...`.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use whirl_client::{Activation, ActivationListOptions, Client};

use super::common::{check_args, check_field, now_ms, print_got};
use super::names::normalize_ns;
use super::{Ctx, QName, R};
use crate::args::{ActivationCmd, GlobalOpts};
use crate::messages;
use crate::output::{datetime, go_duration, pretty, strip_timestamp, truncate_mid};
use crate::{CliError, EXIT_GENERAL};

const ACTIVATION_FIELDS: &[&str] = &[
    "namespace",
    "name",
    "version",
    "subject",
    "activationid",
    "start",
    "end",
    "duration",
    "statuscode",
    "response",
    "logs",
    "annotations",
    "publish",
    "cause",
];

fn last_id(c: &Client) -> R<String> {
    let list = c
        .with_namespace("_")
        .activation_list(&ActivationListOptions {
            limit: 1,
            ..Default::default()
        })
        .map_err(|e| CliError::client("", &e))?;
    list.first()
        .map(|a| Activation::from_json(a).activation_id)
        .filter(|id| !id.is_empty())
        .ok_or_else(|| CliError::general(messages::NO_ACTIVATIONS).with_usage(true))
}

fn with_last(c: &Client, mut args: Vec<String>, last: bool, what: &str) -> R<Vec<String>> {
    if last {
        let id = last_id(c).map_err(|e| CliError {
            msg: format!("Unable to get {what}: {}", e.msg),
            ..e
        })?;
        args.insert(0, id);
    }
    Ok(args)
}

pub(super) fn run(ctx: &mut Ctx<'_>, top: &GlobalOpts, cmd: ActivationCmd) -> R {
    match cmd {
        ActivationCmd::List {
            name,
            skip,
            limit,
            full,
            upto,
            since,
            global,
        } => {
            ctx.set_global(top, &global);
            let ns = ctx.ns()?;
            let name = match &name {
                Some(n) => Some(QName::parse(n, &ns)?.entity_name),
                None => None,
            };
            let c = ctx.auth_client()?.with_namespace("_");
            let opts = ActivationListOptions {
                name,
                limit,
                skip,
                since,
                upto,
                docs: full,
            };
            let acts = c.activation_list(&opts).map_err(|e| {
                CliError::client(
                    &messages::list_failed("activations", &normalize_ns(&ns)),
                    &e,
                )
            })?;
            if full {
                let mut t = "activations\n".to_string();
                for a in &acts {
                    t.push_str(&pretty(a));
                }
                ctx.p(&t);
            } else {
                let t = activation_table(&acts);
                ctx.p(&t);
            }
            Ok(())
        }
        ActivationCmd::Get {
            args,
            summary,
            last,
            logs,
            global,
        } => {
            ctx.set_global(top, &global);
            let c = ctx.auth_client()?;
            let args = with_last(&c, args, last, "activation")?;
            check_args(&args, 1, 2, messages::ACTIVATION_ID_REQUIRED)?;
            let field = args.get(1).cloned();
            if let Some(f) = &field {
                check_field(f, ACTIVATION_FIELDS)?;
            }
            let id = &args[0];
            let a = c
                .with_namespace("_")
                .activation_get(id)
                .map_err(|e| CliError::client(&messages::unable("get", "activation", id), &e))?;
            if summary {
                let rec = Activation::from_json(&a);
                let end = rec.end.unwrap_or(0);
                ctx.p(&format!(
                    "activation result for '/{}/{}' ({} at {} +0000 UTC)\n",
                    rec.namespace,
                    rec.name,
                    rec.response.status,
                    datetime(end / 1000 * 1000)
                ));
                ctx.p(&pretty(
                    rec.response.result.as_ref().unwrap_or(&Value::Null),
                ));
            } else if logs {
                let mut t = String::new();
                for l in &Activation::from_json(&a).logs {
                    t.push_str(&strip_timestamp(l));
                    t.push('\n');
                }
                ctx.p(&t);
            } else {
                print_got(ctx, "activation", id, field.as_deref(), &a);
            }
            Ok(())
        }
        ActivationCmd::Logs {
            args,
            last,
            strip,
            global,
        } => {
            ctx.set_global(top, &global);
            let c = ctx.auth_client()?;
            let args = with_last(&c, args, last, "logs for activation")?;
            check_args(&args, 1, 1, messages::ACTIVATION_ID_REQUIRED)?;
            let id = &args[0];
            let l = c.with_namespace("_").activation_logs(id).map_err(|e| {
                CliError::client(&messages::unable("get logs for", "activation", id), &e)
            })?;
            let mut t = String::new();
            for line in &l.logs {
                t.push_str(&if strip {
                    strip_timestamp(line)
                } else {
                    line.to_string()
                });
                t.push('\n');
            }
            ctx.p(&t);
            Ok(())
        }
        ActivationCmd::Result { args, last, global } => {
            ctx.set_global(top, &global);
            let c = ctx.auth_client()?;
            let args = with_last(&c, args, last, "result for activation")?;
            check_args(&args, 1, 1, messages::ACTIVATION_ID_REQUIRED)?;
            let id = &args[0];
            let r = c.with_namespace("_").activation_result(id).map_err(|e| {
                CliError::client(&messages::unable("get result for", "activation", id), &e)
            })?;
            ctx.p(&pretty(r.result.as_ref().unwrap_or(&Value::Null)));
            Ok(())
        }
        ActivationCmd::Poll {
            name,
            exit,
            since_seconds,
            since_minutes,
            since_hours,
            since_days,
            global,
        } => {
            ctx.set_global(top, &global);
            let c = ctx.auth_client()?.with_namespace("_");
            poll(
                ctx,
                &c,
                name,
                exit,
                since_seconds + 60 * since_minutes + 3600 * (since_hours + 24 * since_days),
            )
        }
    }
}

fn activation_table(acts: &[Value]) -> String {
    const STATUS: [&str; 4] = [
        "success",
        "application error",
        "developer error",
        "internal error",
    ];
    if acts.is_empty() {
        return "\n".to_string();
    }
    let acts: Vec<Activation> = acts.iter().map(Activation::from_json).collect();
    let kind_of = |a: &Activation| {
        a.annotations
            .get_str("kind")
            .unwrap_or("unknown")
            .to_string()
    };
    let status_of = |a: &Activation| {
        usize::try_from(a.status_code)
            .ok()
            .and_then(|c| STATUS.get(c).copied())
            .unwrap_or(STATUS[0])
    };
    let kw = acts
        .iter()
        .map(|a| kind_of(a).len())
        .max()
        .unwrap_or(0)
        .max(4);
    let sw = acts
        .iter()
        .map(|a| status_of(a).len())
        .max()
        .unwrap_or(0)
        .max(7);
    let mut t = format!(
        "{:<19} {:<32} {:<kw$} {:<6}{:<10} {:<sw$} {:<6}\n",
        "Datetime", "Activation ID", "Kind", "Start", "Duration", "Status", "Entity"
    );
    for a in &acts {
        let start = a.start.unwrap_or(0);
        let dur = a
            .duration
            .or_else(|| a.end.filter(|e| *e > 0).map(|e| e - start))
            .unwrap_or(0);
        let cold = a.annotations.get("initTime").is_some();
        let fqn = format!(
            "{}/{}:{}",
            truncate_mid(&a.namespace, 20),
            truncate_mid(&a.name, 30),
            truncate_mid(&a.version, 20)
        );
        t.push_str(&format!(
            "{} {:<32} {:<kw$} {:<5} {:<10} {:<sw$} {}\n",
            datetime(start),
            a.activation_id,
            kind_of(a),
            if cold { "cold" } else { "warm" },
            go_duration(dur),
            status_of(a),
            fqn
        ));
    }
    t
}

fn poll(ctx: &mut Ctx<'_>, c: &Client, name: Option<String>, exit: u64, since_secs: u64) -> R {
    if ctx.env.catch_signals {
        // Like wsk: Ctrl-C or SIGTERM ends the poll with "Poll terminated" and exit code 1.
        for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            signal_hook::flag::register(sig, Arc::clone(&ctx.env.interrupt))
                .map_err(|e| CliError::general(format!("cannot handle signals: {e}")))?;
        }
    }
    ctx.p("Enter Ctrl-c to exit.\n");
    let mut since: u64 = if since_secs == 0 {
        match c.activation_list(&ActivationListOptions {
            limit: 1,
            docs: true,
            ..Default::default()
        }) {
            Ok(l) => l
                .first()
                .and_then(|a| start_ms(&Activation::from_json(a)))
                .map(|s| s + 1)
                .unwrap_or(0),
            Err(_) => now_ms(),
        }
    } else {
        now_ms().saturating_sub(since_secs * 1000)
    };
    ctx.p("Polling for activation logs\n");
    let started = Instant::now();
    let mut reported = std::collections::HashSet::new();
    let interrupted = |ctx: &mut Ctx<'_>| -> R {
        ctx.p("Poll terminated\n");
        Err(CliError::silent(EXIT_GENERAL))
    };
    loop {
        if ctx.env.interrupt.load(Ordering::SeqCst) {
            return interrupted(ctx);
        }
        if exit > 0 && started.elapsed() > Duration::from_secs(exit) {
            return Ok(());
        }
        let opts = ActivationListOptions {
            name: name.clone(),
            since: Some(since),
            docs: true,
            ..Default::default()
        };
        if let Ok(acts) = c.activation_list(&opts) {
            // oldest first so logs stream in order
            for a in acts.iter().rev().map(Activation::from_json) {
                let id = a.activation_id.clone();
                if reported.insert(id.clone()) {
                    ctx.p(&format!("\nActivation: '{}' ({id})\n", a.name));
                    ctx.p(&pretty(&json!(a.logs)));
                }
                if let Some(st) = start_ms(&a) {
                    if st >= since {
                        since = st + 1;
                    }
                }
            }
        }
        // Sleep in short slices so an interrupt ends the poll at once.
        let wake = Instant::now() + ctx.env.poll_interval;
        while Instant::now() < wake {
            if ctx.env.interrupt.load(Ordering::SeqCst) {
                return interrupted(ctx);
            }
            std::thread::sleep(Duration::from_millis(50).min(ctx.env.poll_interval));
        }
    }
}

/// The start of an activation as the `since` of a poll (none when missing or negative).
fn start_ms(a: &Activation) -> Option<u64> {
    a.start.and_then(|s| u64::try_from(s).ok())
}
