//! `wsk namespace list|get` and `wsk list` (the same as `namespace get`).

use whirl_client::{Error as ClientError, ListOptions};

use super::common::{entity_table, sort_entities};
use super::names::normalize_ns;
use super::rule::fill_rule_status;
use super::{Ctx, QName, R};
use crate::args::NamespaceGet;
use crate::messages;
use crate::CliError;

pub(super) fn list(ctx: &mut Ctx<'_>) -> R {
    let c = ctx.auth_client()?;
    let names = c
        .namespaces()
        .map_err(|e| CliError::client(messages::NAMESPACES_FAILED, &e))?;
    let mut t = "namespaces\n".to_string();
    for n in names {
        t.push_str(&n);
        t.push('\n');
    }
    ctx.p(&t);
    Ok(())
}

pub(super) fn get(ctx: &mut Ctx<'_>, g: &NamespaceGet) -> R {
    let ns = match g.namespace.as_deref() {
        None | Some("/_") => ctx.ns()?,
        Some(n) => {
            let q = QName::parse(n, &ctx.ns()?)?;
            if !q.entity_name.is_empty() {
                return Err(CliError::general(messages::NO_ARGUMENTS).with_usage(true));
            }
            q.namespace
        }
    };
    let c = ctx.client_ns(&ns)?;
    let all = ListOptions { limit: 0, skip: 0 };
    let shown = normalize_ns(&ns);
    let err = |kind: &str, e: ClientError| {
        let _ = kind;
        CliError::client(
            &format!("Unable to obtain the list of entities for namespace '{shown}'"),
            &e,
        )
    };
    let mut packages = c.package_list(all).map_err(|e| err("Packages", e))?;
    let mut actions = c.action_list(None, all).map_err(|e| err("Actions", e))?;
    let mut triggers = c.trigger_list(all).map_err(|e| err("Triggers", e))?;
    let mut rules = c.rule_list(all).map_err(|e| err("Rules", e))?;
    fill_rule_status(&c, &mut rules)?;
    if g.name_sort {
        for v in [&mut packages, &mut actions, &mut triggers, &mut rules] {
            sort_entities(v);
        }
    }
    let mut t = format!("Entities in namespace: {shown}\n");
    t.push_str(&entity_table("packages", &packages));
    t.push_str(&entity_table("actions", &actions));
    t.push_str(&entity_table("triggers", &triggers));
    t.push_str(&entity_table("rules", &rules));
    ctx.p(&t);
    Ok(())
}
