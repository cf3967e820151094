//! `wsk rule ...`.

use serde_json::json;
use whirl_client::{Client, EntitySummary, ListOptions};

use super::common::{
    check_args, check_field, entity_table, list_namespace, print_got, sort_entities,
};
use super::names::normalize_ns;
use super::{qualify, Ctx, QName, R};
use crate::args::{GlobalOpts, NameOnly, RuleCmd, RulePut};
use crate::messages;
use crate::output::s;
use crate::CliError;

const RULE_FIELDS: &[&str] = &[
    "namespace",
    "name",
    "version",
    "publish",
    "annotations",
    "status",
    "trigger",
    "action",
    "updated",
];

pub(super) fn run(ctx: &mut Ctx<'_>, top: &GlobalOpts, cmd: RuleCmd) -> R {
    match cmd {
        RuleCmd::Enable(n) => rule_state(ctx, top, n, "active"),
        RuleCmd::Disable(n) => rule_state(ctx, top, n, "inactive"),
        RuleCmd::Status(n) => {
            ctx.set_global(top, &n.global);
            let q = QName::parse(&n.name, &ctx.ns()?)?;
            let c = ctx.client_ns(&q.namespace)?;
            let r = c.rule_get(&q.entity_name).map_err(|e| {
                CliError::client(
                    &messages::unable("get status of", "rule", &q.entity_name),
                    &e,
                )
            })?;
            ctx.p(&format!(
                "ok: rule {} is {}\n",
                q.entity_name,
                s(&r, "status")
            ));
            Ok(())
        }
        RuleCmd::Create(p) => rule_put(ctx, top, p, false),
        RuleCmd::Update(p) => rule_put(ctx, top, p, true),
        RuleCmd::Get {
            name,
            field,
            summary,
            global,
        } => {
            ctx.set_global(top, &global);
            if let Some(f) = &field {
                check_field(f, RULE_FIELDS)?;
            }
            let q = QName::parse(&name, &ctx.ns()?)?;
            let c = ctx.client_ns(&q.namespace)?;
            let r = c.rule_get(&q.entity_name).map_err(|e| {
                CliError::client(&messages::unable("get", "rule", &q.entity_name), &e)
            })?;
            if summary {
                ctx.p(&format!(
                    "rule /{}/{}\n   (status: {})\n",
                    s(&r, "namespace"),
                    s(&r, "name"),
                    s(&r, "status")
                ));
            } else {
                print_got(ctx, "rule", &q.entity_name, field.as_deref(), &r);
            }
            Ok(())
        }
        RuleCmd::Delete {
            name,
            disable,
            global,
        } => {
            ctx.set_global(top, &global);
            let q = QName::parse(&name, &ctx.ns()?)?;
            let c = ctx.client_ns(&q.namespace)?;
            if disable {
                c.rule_set_state(&q.entity_name, "inactive").map_err(|e| {
                    CliError::client(&messages::unable("disable", "rule", &q.entity_name), &e)
                })?;
            }
            c.rule_delete(&q.entity_name).map_err(|e| {
                CliError::client(&messages::unable("delete", "rule", &q.entity_name), &e)
            })?;
            ctx.p(&messages::ok("deleted", "rule", &q.entity_name));
            Ok(())
        }
        RuleCmd::List {
            namespace,
            list,
            global,
        } => {
            ctx.set_global(top, &global);
            let ns = list_namespace(ctx, namespace.as_deref())?;
            let c = ctx.client_ns(&ns)?;
            let mut items = c
                .rule_list(ListOptions {
                    limit: list.limit,
                    skip: list.skip,
                })
                .map_err(|e| {
                    CliError::client(&messages::list_failed("rules", &normalize_ns(&ns)), &e)
                })?;
            fill_rule_status(&c, &mut items)?;
            if list.name_sort {
                sort_entities(&mut items);
            }
            let t = entity_table("rules", &items);
            ctx.p(&t);
            Ok(())
        }
    }
}

/// Rule lists do not carry the status: get each rule for it, like wsk.
pub(super) fn fill_rule_status(c: &Client, items: &mut [EntitySummary]) -> R {
    for r in items.iter_mut() {
        let got = c.rule_get(&r.name).map_err(|e| {
            CliError::client(&messages::unable("get status of", "rule", &r.name), &e)
        })?;
        r.status = s(&got, "status").to_string();
    }
    Ok(())
}

fn rule_state(ctx: &mut Ctx<'_>, top: &GlobalOpts, n: NameOnly, state: &str) -> R {
    ctx.set_global(top, &n.global);
    let q = QName::parse(&n.name, &ctx.ns()?)?;
    let c = ctx.client_ns(&q.namespace)?;
    let (verb, done) = if state == "active" {
        ("enable", "enabled")
    } else {
        ("disable", "disabled")
    };
    c.rule_set_state(&q.entity_name, state)
        .map_err(|e| CliError::client(&messages::unable(verb, "rule", &q.entity_name), &e))?;
    ctx.p(&messages::ok(done, "rule", &q.entity_name));
    Ok(())
}

fn rule_put(ctx: &mut Ctx<'_>, top: &GlobalOpts, p: RulePut, update: bool) -> R {
    ctx.set_global(top, &p.global);
    check_args(&p.args, 3, 3, messages::RULE_ARGS_REQUIRED)?;
    let ns = ctx.ns()?;
    let q = QName::parse(&p.args[0], &ns)?;
    let body = json!({
        "name": q.entity_name,
        "trigger": qualify(&p.args[1], &ns),
        "action": qualify(&p.args[2], &ns),
    });
    let c = ctx.client_ns(&q.namespace)?;
    let (verb, done) = if update {
        ("update", "updated")
    } else {
        ("create", "created")
    };
    c.rule_put(&q.entity_name, &body, update)
        .map_err(|e| CliError::client(&messages::unable(verb, "rule", &q.entity_name), &e))?;
    ctx.p(&messages::ok(done, "rule", &q.entity_name));
    Ok(())
}
