//! Helpers shared by the nouns: argument counts, `[{key, value}]` arrays, field filters,
//! `ok: got ...` output, list tables and `--summary` blocks.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;
use whirl_client::EntitySummary;

use super::{Ctx, QName, R};
use crate::messages;
use crate::output::{kv_get, pretty, s};
use crate::CliError;

pub(super) fn check_args(args: &[String], min: usize, max: usize, required: &str) -> R {
    if args.len() < min {
        return Err(CliError::general(messages::too_few_args(required)).with_usage(true));
    }
    if args.len() > max {
        return Err(
            CliError::general(messages::too_many_args(&args[max..], required)).with_usage(true),
        );
    }
    Ok(())
}

pub(super) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

pub(super) fn kv_del(arr: &mut Vec<(String, Value)>, key: &str) {
    arr.retain(|(k, _)| k != key);
}

pub(super) fn kv_set(arr: &mut Vec<(String, Value)>, key: &str, v: Value) {
    if let Some(e) = arr.iter_mut().find(|(k, _)| k == key) {
        e.1 = v;
    } else {
        arr.push((key.to_string(), v));
    }
}

pub(super) fn kv_pairs(v: Option<&Value>) -> Vec<(String, Value)> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|e| {
                    Some((
                        e.get("key")?.as_str()?.to_string(),
                        e.get("value").cloned().unwrap_or(Value::Null),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

pub(super) fn field_of<'v>(v: &'v Value, field: &str) -> Option<&'v Value> {
    v.as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(field))
        .map(|(_, v)| v)
}

pub(super) fn check_field(field: &str, allowed: &[&str]) -> R {
    if allowed.iter().any(|f| f.eq_ignore_ascii_case(field)) {
        Ok(())
    } else {
        Err(CliError::general(messages::invalid_field(field)))
    }
}

pub(super) fn print_got(ctx: &mut Ctx<'_>, what: &str, name: &str, field: Option<&str>, v: &Value) {
    match field {
        Some(f) => {
            ctx.p(&format!("ok: got {what} {name}, displaying field {f}\n"));
            ctx.p(&pretty(field_of(v, f).unwrap_or(&Value::Null)));
        }
        None => {
            ctx.p(&format!("ok: got {what} {name}\n"));
            ctx.p(&pretty(v));
        }
    }
}

/// `[NAMESPACE]` argument of list commands: must be `/ns`, not an entity name.
pub(super) fn list_namespace(ctx: &mut Ctx<'_>, arg: Option<&str>) -> R<String> {
    match arg {
        None => ctx.ns(),
        Some(a) => {
            let q = QName::parse(a, &ctx.ns()?)?;
            if !q.entity_name.is_empty() {
                return Err(CliError::general(messages::entity_instead_of_namespace(
                    &q.entity_name,
                ))
                .with_usage(true));
            }
            Ok(q.namespace)
        }
    }
}

pub(super) fn sort_entities(v: &mut [EntitySummary]) {
    v.sort_by(|a, b| {
        let ka = (a.namespace.contains('/'), &a.namespace, &a.name);
        let kb = (b.namespace.contains('/'), &b.namespace, &b.name);
        ka.cmp(&kb)
    });
}

/// wsk list table: header line then one row per entity.
pub(super) fn entity_table(kind: &str, items: &[EntitySummary]) -> String {
    let mut t = format!("{kind}\n");
    for it in items {
        let full = format!("/{}/{}", it.namespace, it.name);
        let publish = if it.publish && kind == "packages" {
            "shared"
        } else {
            "private"
        };
        match kind {
            "actions" => {
                let k = it.annotations.get_str("exec").unwrap_or("");
                t.push_str(&format!("{full:<70} {publish} {k}\n"));
            }
            "rules" => {
                t.push_str(&format!("{full:<70} {publish:<20} {}\n", it.status));
            }
            _ => t.push_str(&format!("{full:<70} {publish}\n")),
        }
    }
    t
}

/// wsk's `--summary` block.
pub(super) fn entity_summary(kind: &str, v: &Value, pkg_prefix: &str) -> String {
    let full = if pkg_prefix.is_empty() {
        format!("/{}/{}", s(v, "namespace"), s(v, "name"))
    } else {
        format!("{pkg_prefix}/{}", s(v, "name"))
    };
    let annots = v.get("annotations");
    let tag = if kv_get(annots, "final").and_then(Value::as_bool) == Some(true) {
        "**"
    } else {
        "*"
    };
    let bound: Vec<String> = kv_pairs(v.get("parameters"))
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    let mut union = bound.clone();
    if let Some(ps) = kv_get(annots, "parameters").and_then(Value::as_array) {
        for p in ps {
            if let Some(n) = p.get("name").and_then(Value::as_str) {
                union.push(n.to_string());
            }
        }
    }
    union.sort();
    union.dedup();
    let tagged: Vec<String> = union
        .iter()
        .map(|p| {
            if bound.contains(p) {
                format!("{tag}{p}")
            } else {
                p.clone()
            }
        })
        .collect();
    let params = tagged.join(", ");
    let desc = kv_get(annots, "description")
        .and_then(Value::as_str)
        .unwrap_or("");
    let mut out = if !desc.is_empty() {
        format!("{kind} {full}: {desc}\n")
    } else if !params.is_empty() {
        let plain = params.replace('*', "");
        let parts: Vec<&str> = plain.split(',').collect();
        let d = if parts.len() > 1 {
            let last = parts[parts.len() - 1];
            format!(
                "Returns a result based on parameters {}",
                plain.replacen(&format!(",{last}"), &format!(" and{last}"), 1)
            )
        } else {
            format!("Returns a result based on parameter {plain}")
        };
        format!("{kind} {full}: {d}\n")
    } else {
        format!("{kind} {full}\n")
    };
    let params = if params.is_empty() {
        "none defined".to_string()
    } else {
        params
    };
    out.push_str(&format!("   (parameters: {params})\n"));
    out
}
