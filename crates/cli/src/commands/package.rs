//! `wsk package ...`.

use serde_json::{json, Map, Value};
use whirl_client::ListOptions;

use super::common::{
    check_field, entity_summary, entity_table, list_namespace, print_got, sort_entities,
};
use super::names::normalize_ns;
use super::{Ctx, QName, R};
use crate::args::{GlobalOpts, PackageCmd, PackagePut};
use crate::messages;
use crate::output::s;
use crate::params::to_kv_array;
use crate::CliError;

const PACKAGE_FIELDS: &[&str] = &[
    "namespace",
    "name",
    "version",
    "publish",
    "annotations",
    "parameters",
    "binding",
    "actions",
    "feeds",
    "updated",
];

fn parse_shared(v: Option<&str>) -> R<Option<bool>> {
    match v.map(str::to_ascii_lowercase).as_deref() {
        None | Some("") => Ok(None),
        Some("yes") => Ok(Some(true)),
        Some("no") => Ok(Some(false)),
        Some(_) => Err(CliError::general(format!(
            "Cannot use value '{}' for shared.",
            v.unwrap_or("")
        ))
        .with_usage(true)),
    }
}

pub(super) fn run(ctx: &mut Ctx<'_>, top: &GlobalOpts, cmd: PackageCmd) -> R {
    match cmd {
        PackageCmd::Bind {
            package,
            binding,
            overwrite,
            global,
            ..
        } => {
            ctx.set_global(top, &global);
            let ns = ctx.ns()?;
            let pq = QName::parse(&package, &ns)?;
            let bq = QName::parse(&binding, &ns)?;
            let mut body = Map::new();
            body.insert("name".into(), json!(bq.entity_name));
            body.insert(
                "binding".into(),
                json!({"namespace": pq.namespace, "name": pq.entity_name}),
            );
            let params = ctx.params_kv();
            if !params.is_empty() {
                body.insert("parameters".into(), to_kv_array(&params));
            }
            let annots = ctx.annots_kv();
            if !annots.is_empty() {
                body.insert("annotations".into(), to_kv_array(&annots));
            }
            let c = ctx.client_ns(&bq.namespace)?;
            c.package_put(&bq.entity_name, &Value::Object(body), overwrite)
                .map_err(|e| CliError::client("Binding creation failed", &e))?;
            ctx.p(&format!("ok: created binding {binding}\n"));
            Ok(())
        }
        PackageCmd::Create(p) => package_put(ctx, top, p, false),
        PackageCmd::Update(p) => package_put(ctx, top, p, true),
        PackageCmd::Get {
            name,
            field,
            summary,
            global,
        } => {
            ctx.set_global(top, &global);
            if let Some(f) = &field {
                check_field(f, PACKAGE_FIELDS)?;
            }
            let q = QName::parse(&name, &ctx.ns()?)?;
            let c = ctx.client_ns(&q.namespace)?;
            let p = c.package_get(&q.entity_name).map_err(|e| {
                CliError::client(&messages::unable("get", "package", &q.entity_name), &e)
            })?;
            if summary {
                let full = format!("/{}/{}", s(&p, "namespace"), s(&p, "name"));
                let mut t = entity_summary("package", &p, "");
                for a in p
                    .get("actions")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    t.push_str(&entity_summary(" action", a, &full));
                }
                for f in p
                    .get("feeds")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    t.push_str(&entity_summary("feed  ", f, &full));
                }
                ctx.p(&t);
            } else {
                print_got(ctx, "package", &q.entity_name, field.as_deref(), &p);
            }
            Ok(())
        }
        PackageCmd::Delete {
            name,
            force,
            global,
        } => {
            ctx.set_global(top, &global);
            let q = QName::parse(&name, &ctx.ns()?)?;
            let c = ctx.client_ns(&q.namespace)?;
            c.package_delete(&q.entity_name, force).map_err(|e| {
                CliError::client(&messages::unable("delete", "package", &q.entity_name), &e)
            })?;
            ctx.p(&messages::ok("deleted", "package", &q.entity_name));
            Ok(())
        }
        PackageCmd::List {
            namespace,
            list,
            global,
        } => {
            ctx.set_global(top, &global);
            let ns = list_namespace(ctx, namespace.as_deref())?;
            let c = ctx.client_ns(&ns)?;
            let mut items = c
                .package_list(ListOptions {
                    limit: list.limit,
                    skip: list.skip,
                })
                .map_err(|e| {
                    CliError::client(&messages::list_failed("packages", &normalize_ns(&ns)), &e)
                })?;
            if list.name_sort {
                sort_entities(&mut items);
            }
            let t = entity_table("packages", &items);
            ctx.p(&t);
            Ok(())
        }
    }
}

fn package_put(ctx: &mut Ctx<'_>, top: &GlobalOpts, p: PackagePut, update: bool) -> R {
    ctx.set_global(top, &p.global);
    let q = QName::parse(&p.name, &ctx.ns()?)?;
    let shared = parse_shared(p.shared.as_deref())?;
    let mut body = Map::new();
    body.insert("namespace".into(), json!(q.namespace));
    body.insert("name".into(), json!(q.entity_name));
    let params = ctx.params_kv();
    if !params.is_empty() {
        body.insert("parameters".into(), to_kv_array(&params));
    }
    let annots = ctx.annots_kv();
    if !annots.is_empty() {
        body.insert("annotations".into(), to_kv_array(&annots));
    }
    if let Some(sh) = shared {
        body.insert("publish".into(), json!(sh));
    }
    let c = ctx.client_ns(&q.namespace)?;
    let (verb, done) = if update {
        ("update", "updated")
    } else {
        ("create", "created")
    };
    c.package_put(&q.entity_name, &Value::Object(body), update)
        .map_err(|e| CliError::client(&messages::unable(verb, "package", &q.entity_name), &e))?;
    ctx.p(&messages::ok(done, "package", &q.entity_name));
    Ok(())
}
