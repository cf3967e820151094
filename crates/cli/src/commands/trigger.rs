//! `wsk trigger ...`.

use serde_json::{json, Map, Value};
use whirl_client::{Client, ListOptions};

use super::action::invoke_and_print;
use super::common::{
    check_args, check_field, entity_summary, entity_table, kv_set, list_namespace, print_got,
    sort_entities,
};
use super::names::normalize_ns;
use super::{Ctx, QName, R};
use crate::args::{GlobalOpts, TriggerCmd, TriggerPut};
use crate::messages;
use crate::output::kv_get;
use crate::params::{merge, to_kv_array, to_object};
use crate::{CliError, EXIT_NOT_ALLOWED};

const TRIGGER_FIELDS: &[&str] = &[
    "namespace",
    "name",
    "version",
    "publish",
    "annotations",
    "parameters",
    "limits",
    "rules",
    "error",
    "updated",
];

fn feed_params(lifecycle: &str, trigger: &QName, auth: &str, user: &[(String, Value)]) -> Value {
    let mut pairs = user.to_vec();
    kv_set(&mut pairs, "lifecycleEvent", json!(lifecycle));
    kv_set(
        &mut pairs,
        "triggerName",
        json!(format!("/{}/{}", trigger.namespace, trigger.entity_name)),
    );
    kv_set(&mut pairs, "authKey", json!(auth));
    to_object(&pairs)
}

fn configure_feed(
    ctx: &mut Ctx<'_>,
    c: &Client,
    trigger: &QName,
    feed: &str,
    payload: &Value,
) -> R {
    let fq = QName::parse(feed, &ctx.ns()?)?;
    let fc = c.with_namespace(&fq.namespace);
    invoke_and_print(ctx, &fc, &fq, payload, true, false, false).map_err(|e| CliError {
        msg: messages::feed_failed(feed, &e.msg),
        ..e
    })?;
    let _ = trigger;
    Ok(())
}

pub(super) fn run(ctx: &mut Ctx<'_>, top: &GlobalOpts, cmd: TriggerCmd) -> R {
    match cmd {
        TriggerCmd::Fire {
            name,
            payload,
            global,
            ..
        } => {
            ctx.set_global(top, &global);
            let q = QName::parse(&name, &ctx.ns()?)?;
            let mut objs = Vec::new();
            if let Some(p) = &payload {
                let v: Value = serde_json::from_str(p).map_err(|e| {
                    CliError::general(format!("Invalid parameter argument '{p}': {e}"))
                        .with_usage(true)
                })?;
                objs.push(v);
            }
            objs.extend(ctx.kv.params.clone());
            let body = to_object(&merge(&objs));
            let c = ctx.client_ns(&q.namespace)?;
            let inv = c.trigger_fire(&q.entity_name, &body).map_err(|e| {
                CliError::client(&messages::unable("fire", "trigger", &q.entity_name), &e)
            })?;
            ctx.p(&messages::ok_triggered(
                &format!("/{}/{}", q.namespace, q.entity_name),
                &inv.activation_id.unwrap_or_default(),
            ));
            Ok(())
        }
        TriggerCmd::Create(put) => {
            ctx.set_global(top, &put.global);
            trigger_create(ctx, &put)
        }
        TriggerCmd::Update(put) => {
            ctx.set_global(top, &put.global);
            trigger_update(ctx, &put)
        }
        TriggerCmd::Get {
            name,
            field,
            summary,
            global,
        } => {
            ctx.set_global(top, &global);
            if let Some(f) = &field {
                check_field(f, TRIGGER_FIELDS)?;
            }
            let q = QName::parse(&name, &ctx.ns()?)?;
            let c = ctx.client_ns(&q.namespace)?;
            let t = c.trigger_get(&q.entity_name).map_err(|e| {
                CliError::client(&messages::unable("get", "trigger", &q.entity_name), &e)
            })?;
            let feed = kv_get(t.get("annotations"), "feed")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            if !feed.is_empty() {
                let auth = c.auth_key().unwrap_or_default();
                let payload = feed_params("READ", &q, &auth, &ctx.params_kv());
                return configure_feed(ctx, &c, &q, &feed, &payload);
            }
            if summary {
                let t = entity_summary("trigger", &t, "");
                ctx.p(&t);
            } else {
                print_got(ctx, "trigger", &q.entity_name, field.as_deref(), &t);
            }
            Ok(())
        }
        TriggerCmd::Delete { name, global } => {
            ctx.set_global(top, &global);
            let q = QName::parse(&name, &ctx.ns()?)?;
            let c = ctx.client_ns(&q.namespace)?;
            trigger_delete(ctx, &c, &q, true)?;
            ctx.p(&messages::ok("deleted", "trigger", &q.entity_name));
            Ok(())
        }
        TriggerCmd::List {
            namespace,
            list,
            global,
        } => {
            ctx.set_global(top, &global);
            let ns = list_namespace(ctx, namespace.as_deref())?;
            let c = ctx.client_ns(&ns)?;
            let mut items = c
                .trigger_list(ListOptions {
                    limit: list.limit,
                    skip: list.skip,
                })
                .map_err(|e| {
                    CliError::client(&messages::list_failed("triggers", &normalize_ns(&ns)), &e)
                })?;
            if list.name_sort {
                sort_entities(&mut items);
            }
            let t = entity_table("triggers", &items);
            ctx.p(&t);
            Ok(())
        }
    }
}

fn trigger_delete(ctx: &mut Ctx<'_>, c: &Client, q: &QName, with_feed: bool) -> R {
    let t = c
        .trigger_get(&q.entity_name)
        .map_err(|e| CliError::client(&messages::unable("get", "trigger", &q.entity_name), &e))?;
    let feed = kv_get(t.get("annotations"), "feed")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if with_feed && !feed.is_empty() {
        let auth = c.auth_key().unwrap_or_default();
        let payload = feed_params("DELETE", q, &auth, &ctx.params_kv());
        // wsk ignores feed errors on delete
        let _ = configure_feed(ctx, c, q, &feed, &payload);
    }
    c.trigger_delete(&q.entity_name).map_err(|e| {
        CliError::client(&messages::unable("delete", "trigger", &q.entity_name), &e)
    })?;
    Ok(())
}

fn trigger_create(ctx: &mut Ctx<'_>, put: &TriggerPut) -> R {
    let mut all = vec![put.name.clone()];
    all.extend(put.extra.clone());
    check_args(&all, 1, 1, messages::TRIGGER_NAME_REQUIRED)?;
    let q = QName::parse(&put.name, &ctx.ns()?)?;
    let extended = !ctx.kv.params_given
        && (!ctx.kv.feed_params.is_empty() || !ctx.kv.trigger_params.is_empty());
    if !extended && (!ctx.kv.feed_params.is_empty() || !ctx.kv.trigger_params.is_empty()) {
        return Err(CliError::general(messages::FEED_TRIGGER_PARAMS_ALONE).code(EXIT_NOT_ALLOWED));
    }
    let c = ctx.client_ns(&q.namespace)?;
    let auth = c.auth_key().unwrap_or_default();
    let feed_q = match &put.feed {
        Some(f) => Some(QName::parse(f, &ctx.ns()?)?),
        None => None,
    };
    if extended && feed_q.is_none() && !ctx.kv.feed_params.is_empty() {
        return Err(CliError::general(messages::FEED_PARAMS_WITHOUT_FEED).code(EXIT_NOT_ALLOWED));
    }
    let mut annots = ctx.annots_kv();
    if let Some(f) = &feed_q {
        kv_set(&mut annots, "feed", json!(f.full()));
    }
    let (trigger_params, user_feed_params) = if extended {
        (merge(&ctx.kv.trigger_params), merge(&ctx.kv.feed_params))
    } else if feed_q.is_some() {
        (Vec::new(), ctx.params_kv())
    } else {
        (ctx.params_kv(), Vec::new())
    };
    let mut body = Map::new();
    body.insert("name".into(), json!(q.entity_name));
    if !annots.is_empty() {
        body.insert("annotations".into(), to_kv_array(&annots));
    }
    if !trigger_params.is_empty() {
        body.insert("parameters".into(), to_kv_array(&trigger_params));
    }
    c.trigger_put(&q.entity_name, &Value::Object(body), false)
        .map_err(|e| {
            CliError::client(&messages::unable("create", "trigger", &q.entity_name), &e)
        })?;
    if let Some(fq) = &feed_q {
        let payload = feed_params("CREATE", &q, &auth, &user_feed_params);
        let fc = c.with_namespace(&fq.namespace);
        if let Err(e) = invoke_and_print(ctx, &fc, fq, &payload, true, false, true) {
            // Like wsk: delete the trigger the way `trigger delete` does, which also sends the
            // feed its DELETE event so that it can drop any partial state.
            if trigger_delete(ctx, &c, &q, true).is_ok() {
                ctx.p(&messages::ok("deleted", "trigger", &q.entity_name));
            }
            return Err(CliError {
                msg: format!(
                    "Unable to create trigger '{}': Unable to configure feed '{}': {}",
                    q.entity_name,
                    fq.full(),
                    if e.msg.is_empty() {
                        "the feed action failed".to_string()
                    } else {
                        e.msg.clone()
                    }
                ),
                quiet: false,
                usage: false,
                ..e
            });
        }
    }
    ctx.p(&messages::ok("created", "trigger", &q.entity_name));
    Ok(())
}

fn trigger_update(ctx: &mut Ctx<'_>, put: &TriggerPut) -> R {
    let mut all = vec![put.name.clone()];
    all.extend(put.extra.clone());
    check_args(&all, 1, 1, messages::TRIGGER_NAME_REQUIRED)?;
    let q = QName::parse(&put.name, &ctx.ns()?)?;
    let c = ctx.client_ns(&q.namespace)?;
    let existing = match c.trigger_get(&q.entity_name) {
        Ok(t) => t,
        Err(e) if e.status() == Some(404) => return trigger_create(ctx, put),
        Err(e) => {
            return Err(CliError::client(
                &messages::unable("get", "trigger", &q.entity_name),
                &e,
            ));
        }
    };
    let feed = kv_get(existing.get("annotations"), "feed")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let extended = !ctx.kv.params_given
        && (!ctx.kv.feed_params.is_empty() || !ctx.kv.trigger_params.is_empty());
    let auth = c.auth_key().unwrap_or_default();
    if extended {
        let mut body = Map::new();
        body.insert("name".into(), json!(q.entity_name));
        let annots = ctx.annots_kv();
        if !annots.is_empty() {
            body.insert("annotations".into(), to_kv_array(&annots));
        }
        let tp = merge(&ctx.kv.trigger_params);
        if !tp.is_empty() {
            body.insert("parameters".into(), to_kv_array(&tp));
        }
        c.trigger_put(&q.entity_name, &Value::Object(body), true)
            .map_err(|e| {
                CliError::client(&messages::unable("update", "trigger", &q.entity_name), &e)
            })?;
        if !ctx.kv.feed_params.is_empty() {
            if feed.is_empty() {
                return Err(CliError::general(format!(
                    "Unable to configure feed '{}': this trigger does not contain a feed",
                    q.entity_name
                )));
            }
            let payload = feed_params("UPDATE", &q, &auth, &merge(&ctx.kv.feed_params));
            configure_feed(ctx, &c, &q, &feed, &payload)?;
        }
    } else if !ctx.kv.feed_params.is_empty() || !ctx.kv.trigger_params.is_empty() {
        return Err(CliError::general(messages::FEED_TRIGGER_PARAMS_ALONE).code(EXIT_NOT_ALLOWED));
    } else if !feed.is_empty() {
        let payload = feed_params("UPDATE", &q, &auth, &ctx.params_kv());
        configure_feed(ctx, &c, &q, &feed, &payload).map_err(|e| CliError {
            msg: format!("Unable to create trigger '{}': {}", q.entity_name, e.msg),
            ..e
        })?;
    } else {
        let mut body = Map::new();
        body.insert("name".into(), json!(q.entity_name));
        if ctx.kv.params_given {
            body.insert("parameters".into(), to_kv_array(&ctx.params_kv()));
        }
        if ctx.kv.annotations_given {
            body.insert("annotations".into(), to_kv_array(&ctx.annots_kv()));
        }
        c.trigger_put(&q.entity_name, &Value::Object(body), true)
            .map_err(|e| {
                CliError::client(&messages::unable("update", "trigger", &q.entity_name), &e)
            })?;
    }
    ctx.p(&messages::ok("updated", "trigger", &q.entity_name));
    Ok(())
}
