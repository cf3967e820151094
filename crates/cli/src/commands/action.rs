//! `wsk action ...`.

use serde_json::{json, Map, Value};
use whirl_client::{Client, Error as ClientError, ListOptions};

use super::common::{
    check_args, check_field, entity_summary, entity_table, kv_del, kv_pairs, kv_set, print_got,
    sort_entities,
};
use super::names::normalize_ns;
use super::{qualify, Ctx, QName, R};
use crate::args::{ActionCmd, ActionPut, GlobalOpts};
use crate::messages;
use crate::output::{kv_get, pretty, s};
use crate::params::{self, to_kv_array, to_object};
use crate::{http_exit_code, CliError, Env, EXIT_NOT_ALLOWED, EXIT_TIMED_OUT, EXIT_USAGE};

pub(super) fn run(ctx: &mut Ctx<'_>, top: &GlobalOpts, cmd: ActionCmd) -> R {
    match cmd {
        ActionCmd::Create(put) => {
            ctx.set_global(top, &put.global);
            action_put(ctx, &put, false, &[])
        }
        ActionCmd::Update {
            put,
            del_annotation,
        } => {
            ctx.set_global(top, &put.global);
            action_put(ctx, &put, true, &del_annotation)
        }
        ActionCmd::Invoke {
            name,
            extra,
            blocking,
            result,
            global,
            ..
        } => {
            ctx.set_global(top, &global);
            let mut all = vec![name.clone()];
            all.extend(extra);
            check_args(&all, 1, 1, messages::ACTION_NAME_REQUIRED)?;
            let q = QName::parse(&name, &ctx.ns()?)?;
            let payload = to_object(&ctx.params_kv());
            let c = ctx.client_ns(&q.namespace)?;
            invoke_and_print(ctx, &c, &q, &payload, blocking || result, result, true).map(|_| ())
        }
        ActionCmd::Get {
            name,
            field,
            summary,
            url,
            save,
            save_as,
            global,
        } => {
            ctx.set_global(top, &global);
            action_get(ctx, &name, field, summary, url, save, save_as)
        }
        ActionCmd::Delete { name, global } => {
            ctx.set_global(top, &global);
            let q = QName::parse(&name, &ctx.ns()?)?;
            let c = ctx.client_ns(&q.namespace)?;
            c.action_delete(&q.entity_name).map_err(|e| {
                CliError::client(&messages::unable("delete", "action", &q.entity_name), &e)
                    .with_usage(true)
            })?;
            ctx.p(&messages::ok("deleted", "action", &q.entity_name));
            Ok(())
        }
        ActionCmd::List {
            namespace,
            list,
            global,
        } => {
            ctx.set_global(top, &global);
            let (ns, pkg) = match &namespace {
                Some(n) => {
                    let q = QName::parse(n, &ctx.ns()?)?;
                    (q.namespace.clone(), q.entity_name.clone())
                }
                None => (ctx.ns()?, String::new()),
            };
            let c = ctx.client_ns(&ns)?;
            let opts = ListOptions {
                limit: list.limit,
                skip: list.skip,
            };
            let mut actions = c.action_list(Some(&pkg), opts).map_err(|e| {
                CliError::client(&messages::list_failed("actions", &normalize_ns(&ns)), &e)
                    .with_usage(true)
            })?;
            if list.name_sort {
                sort_entities(&mut actions);
            }
            let t = entity_table("actions", &actions);
            ctx.p(&t);
            Ok(())
        }
    }
}

const ACTION_FIELDS: &[&str] = &[
    "namespace",
    "name",
    "version",
    "publish",
    "exec",
    "annotations",
    "parameters",
    "limits",
    "error",
    "updated",
];

fn random_secret() -> i64 {
    use rand::Rng as _;
    rand::thread_rng().gen_range(1..(1_i64 << 53))
}

fn action_put(ctx: &mut Ctx<'_>, put: &ActionPut, update: bool, del_annotations: &[String]) -> R {
    let mut all = vec![put.name.clone()];
    all.extend(put.artifact.clone());
    all.extend(put.extra.clone());
    let required = if update {
        messages::ACTION_NAME_CODE_OPTIONAL
    } else {
        messages::ACTION_NAME_AND_CODE_REQUIRED
    };
    check_args(&all, 1, 2, required)?;
    let default_ns = ctx.ns()?;
    let q = QName::parse(&put.name, &default_ns)?;
    let parse_err = |m: String, code: i32| {
        CliError::general(format!("Invalid argument(s). {m}"))
            .code(code)
            .with_usage(true)
    };
    if put.kind.is_some() && put.docker.is_some() {
        return Err(parse_err(
            messages::KIND_AND_DOCKER.into(),
            EXIT_NOT_ALLOWED,
        ));
    }
    let c = ctx.client_ns(&q.namespace)?;
    let mut body = Map::new();
    body.insert("namespace".into(), json!(q.namespace));
    body.insert("name".into(), json!(q.entity_name));
    let mut params_kv = ctx.params_kv();
    let mut annots_kv = ctx.annots_kv();
    let params_given = ctx.kv.params_given;
    let annots_given = ctx.kv.annotations_given;

    // exec
    let mut exec: Option<Value> = None;
    if put.copy {
        let Some(src) = &put.artifact else {
            return Err(parse_err(
                messages::ACTION_NAME_AND_CODE_REQUIRED.into(),
                EXIT_USAGE,
            ));
        };
        let sq = QName::parse(src, &default_ns)?;
        let existing = c
            .with_namespace(&sq.namespace)
            .action_get(&sq.entity_name, true)
            .map_err(|e| {
                CliError::client(&messages::unable("get", "action", &sq.entity_name), &e)
                    .with_usage(true)
            })?;
        exec = existing.get("exec").cloned();
        params_kv.extend(kv_pairs(existing.get("parameters")));
        annots_kv.extend(kv_pairs(existing.get("annotations")));
    } else if put.sequence {
        let Some(list) = &put.artifact else {
            return Err(parse_err(
                messages::ACTION_NAME_AND_CODE_REQUIRED.into(),
                EXIT_USAGE,
            ));
        };
        let comps: Vec<String> = list.split(',').map(|a| qualify(a, &default_ns)).collect();
        exec = Some(json!({"kind": "sequence", "components": comps}));
    } else if put.artifact.is_some()
        || put.docker.is_some()
        || (put.native && put.artifact.is_some())
    {
        exec = Some(build_exec(ctx.env, put).map_err(|m| parse_err(m, EXIT_USAGE))?);
    } else if !update {
        return Err(parse_err(
            messages::ACTION_NAME_AND_CODE_REQUIRED.into(),
            EXIT_USAGE,
        ));
    }
    if let Some(e) = exec {
        body.insert("exec".into(), e);
    }

    // limits
    let mut limits = Map::new();
    if let Some(v) = put.timeout {
        limits.insert("timeout".into(), json!(v));
    }
    if let Some(v) = put.memory {
        limits.insert("memory".into(), json!(v));
    }
    if let Some(v) = put.logsize {
        limits.insert("logs".into(), json!(v));
    }
    if let Some(v) = put.concurrency {
        limits.insert("concurrency".into(), json!(v));
    }
    if !limits.is_empty() {
        body.insert("limits".into(), Value::Object(limits));
    }

    // --web / --web-secure
    let mut del: Vec<String> = del_annotations.to_vec();
    let mut annots_changed = annots_given || put.copy;
    if put.web.is_some() || put.web_secure.is_some() {
        let existing = if update {
            match c.action_get(&q.entity_name, false) {
                Ok(a) => Some(a),
                Err(e) if e.status() == Some(404) => None,
                Err(e) => {
                    return Err(CliError::client(
                        &messages::unable("get", "action", &q.entity_name),
                        &e,
                    )
                    .with_usage(true))
                }
            }
        } else {
            None
        };
        let existing_annots = existing
            .as_ref()
            .map(|a| kv_pairs(a.get("annotations")))
            .unwrap_or_default();
        let preserve = !annots_given;
        if let Some(web) = &put.web {
            let (export, raw, fin) = match web.to_ascii_lowercase().as_str() {
                "yes" | "true" => (true, false, true),
                "no" | "false" => (false, false, false),
                "raw" => (true, true, true),
                _ => {
                    return Err(parse_err(
                        format!("Invalid argument '{web}' for --web flag. Valid input consist of 'yes', 'true', 'raw', 'false', or 'no'."),
                        EXIT_USAGE,
                    ))
                }
            };
            if preserve {
                for (k, v) in &existing_annots {
                    if !annots_kv.iter().any(|(x, _)| x == k) {
                        annots_kv.push((k.clone(), v.clone()));
                    }
                }
            }
            for k in ["web-export", "raw-http", "final"] {
                kv_del(&mut annots_kv, k);
            }
            annots_kv.push(("web-export".into(), json!(export)));
            annots_kv.push(("raw-http".into(), json!(raw)));
            annots_kv.push(("final".into(), json!(fin)));
            if let Some((_, v)) = existing_annots
                .iter()
                .find(|(k, _)| k == "require-whisk-auth")
            {
                if !annots_kv.iter().any(|(k, _)| k == "require-whisk-auth") {
                    annots_kv.push(("require-whisk-auth".into(), v.clone()));
                }
            }
            annots_changed = true;
        }
        if let Some(secure) = &put.web_secure {
            let is_web = |a: &[(String, Value)]| {
                a.iter()
                    .any(|(k, v)| k == "web-export" && v.as_bool() == Some(true))
            };
            let disable = put
                .web
                .as_deref()
                .map(|w| matches!(w.to_ascii_lowercase().as_str(), "false" | "no"))
                == Some(true);
            let valid = is_web(&annots_kv) || (is_web(&existing_annots) && !disable);
            if !valid {
                return Err(parse_err(messages::WEB_SECURE_NEEDS_WEB.into(), EXIT_USAGE));
            }
            if existing.is_some() {
                let carry: Vec<(String, Value)> = if preserve && put.web.is_none() {
                    existing_annots.clone()
                } else {
                    existing_annots
                        .iter()
                        .filter(|(k, _)| {
                            matches!(
                                k.as_str(),
                                "web-export" | "raw-http" | "final" | "require-whisk-auth"
                            )
                        })
                        .cloned()
                        .collect()
                };
                for (k, v) in carry {
                    if !annots_kv.iter().any(|(x, _)| *x == k) {
                        annots_kv.push((k, v));
                    }
                }
            }
            let existing_secret = annots_kv
                .iter()
                .find(|(k, _)| k == "require-whisk-auth")
                .map(|(_, v)| v.clone());
            // wsk's updateWebSecureAnnotation: `true` keeps an existing numeric secret, `false`
            // deletes an existing secret (and sets `false` when there was none), any other
            // value is the secret.
            match secure.to_ascii_lowercase().as_str() {
                "false" => {
                    if existing_secret.is_some() {
                        del.push("require-whisk-auth".into());
                        kv_del(&mut annots_kv, "require-whisk-auth");
                    } else {
                        kv_set(&mut annots_kv, "require-whisk-auth", json!(false));
                    }
                }
                "true" => {
                    let keep = existing_secret.as_ref().map(Value::is_number) == Some(true);
                    if !keep {
                        kv_set(&mut annots_kv, "require-whisk-auth", json!(random_secret()));
                    }
                }
                _ => kv_set(&mut annots_kv, "require-whisk-auth", json!(secure)),
            }
            annots_changed = true;
        }
    }
    if params_given || put.copy {
        body.insert("parameters".into(), to_kv_array(&params_kv));
    }
    if annots_changed {
        body.insert("annotations".into(), to_kv_array(&annots_kv));
    }
    if update && !del.is_empty() {
        body.insert("delAnnotations".into(), json!(del));
    }
    c.action_put(&q.entity_name, &Value::Object(body), update)
        .map_err(|e| {
            let verb = if update { "update" } else { "create" };
            CliError::client(&messages::unable(verb, "action", &q.entity_name), &e).with_usage(true)
        })?;
    let verb = if update { "updated" } else { "created" };
    ctx.p(&messages::ok(verb, "action", &q.entity_name));
    Ok(())
}

/// Builds `exec` from an artifact file / docker image / kind flags.
fn build_exec(env: &Env, put: &ActionPut) -> Result<Value, String> {
    let mut exec = Map::new();
    let mut ext = String::new();
    if let Some(file) = &put.artifact {
        ext = params::extension(file);
        let bytes = std::fs::read(env.resolve(file))
            .map_err(|_| format!("File '{file}' is not a valid file or it does not exist"))?;
        let code = if params::is_binary_extension(&ext) {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.encode(&bytes)
        } else {
            String::from_utf8_lossy(&bytes).into_owned()
        };
        exec.insert("code".into(), json!(code));
    }
    let kind = if let Some(k) = &put.kind {
        k.clone()
    } else if put.docker.is_some() || put.native {
        let image = put
            .docker
            .clone()
            .unwrap_or_else(|| "openwhisk/dockerskeleton".to_string());
        exec.insert("image".into(), json!(image));
        "blackbox".to_string()
    } else if let Some(k) = params::kind_for_extension(&ext) {
        k.to_string()
    } else if ext == ".zip" {
        return Err("creating an action from a .zip artifact requires specifying the action kind explicitly".into());
    } else {
        return Err(format!("'{ext}' is not a supported action runtime"));
    };
    exec.insert("kind".into(), json!(kind));
    match &put.main {
        Some(m) if !m.is_empty() => {
            exec.insert("main".into(), json!(m));
        }
        _ if kind == "java" => {
            return Err(
                "Java actions require --main to specify the fully-qualified name of the main class"
                    .into(),
            )
        }
        _ => {}
    }
    Ok(Value::Object(exec))
}

/// Invokes and prints like wsk (`header` = print the `ok: invoked` line).
pub(super) fn invoke_and_print(
    ctx: &mut Ctx<'_>,
    c: &Client,
    q: &QName,
    payload: &Value,
    blocking: bool,
    result: bool,
    header: bool,
) -> R<Value> {
    let header = header && !result;
    let fq = format!("/{}/{}", q.namespace, q.entity_name);
    match c.action_invoke(&q.entity_name, payload, blocking, result, None) {
        Ok(inv) => {
            let id = inv.activation_id.clone().unwrap_or_default();
            if blocking && inv.status == 202 {
                ctx.e(&messages::ok_invoked_not_finished(&fq, &id));
                return Err(CliError::silent(EXIT_TIMED_OUT));
            }
            if header {
                ctx.p(&messages::ok_invoked(&fq, &id));
            }
            if blocking {
                ctx.p(&pretty(&inv.body));
            }
            Ok(inv.body)
        }
        Err(e) => {
            if let ClientError::Http {
                status,
                code,
                response,
                ..
            } = &e
            {
                let body = &response.json;
                let is_activation_error = code.is_none()
                    && blocking
                    && (*status == 502 || *status == 500)
                    && (body.get("response").is_some() || body.get("error").is_some());
                if is_activation_error {
                    if header {
                        let id = body
                            .get("activationId")
                            .and_then(Value::as_str)
                            .map(str::to_string)
                            .or_else(|| {
                                response
                                    .header("x-openwhisk-activation-id")
                                    .map(str::to_string)
                            })
                            .unwrap_or_default();
                        ctx.e(&messages::ok_invoked(&fq, &id));
                    }
                    ctx.e(&pretty(body));
                    return Err(CliError::silent(http_exit_code(*status)));
                }
            }
            Err(
                CliError::client(&messages::unable("invoke", "action", &q.entity_name), &e)
                    .with_usage(true),
            )
        }
    }
}

fn action_get(
    ctx: &mut Ctx<'_>,
    name: &str,
    field: Option<String>,
    summary: bool,
    url: bool,
    save: bool,
    save_as: Option<String>,
) -> R {
    let field = if url || summary { None } else { field };
    if let Some(f) = &field {
        check_field(f, ACTION_FIELDS)?;
    }
    let q = QName::parse(name, &ctx.ns()?)?;
    let c = ctx.client_ns(&q.namespace)?;
    let fetch_code = save || save_as.is_some();
    let action = c.action_get(&q.entity_name, fetch_code).map_err(|e| {
        CliError::client(&messages::unable("get", "action", &q.entity_name), &e).with_usage(true)
    })?;
    if url {
        let p = ctx.props()?;
        let base = whirl_client::normalize_apihost(&p.apihost)
            .map_err(|e| CliError::general(format!("Invalid host address '{}': {e}", p.apihost)))?;
        let ns = s(&action, "namespace")
            .split('/')
            .next()
            .unwrap_or("")
            .to_string();
        let enc = whirl_client::encode_segment;
        let web =
            kv_get(action.get("annotations"), "web-export").and_then(Value::as_bool) == Some(true);
        let u = if web {
            let pkg = if q.package.is_empty() {
                "default".to_string()
            } else {
                q.package.clone()
            };
            format!(
                "{base}/api/{}/web/{}/{}/{}",
                p.apiversion,
                enc(&ns),
                enc(&pkg),
                enc(s(&action, "name"))
            )
        } else if q.package.is_empty() {
            format!(
                "{base}/api/{}/namespaces/{}/actions/{}",
                p.apiversion,
                enc(&ns),
                enc(s(&action, "name"))
            )
        } else {
            format!(
                "{base}/api/{}/namespaces/{}/actions/{}/{}",
                p.apiversion,
                enc(&ns),
                enc(&q.package),
                enc(s(&action, "name"))
            )
        };
        ctx.p(&format!("ok: got action {}\n{u}\n", q.entity));
        return Ok(());
    }
    if summary {
        let t = entity_summary("action", &action, "");
        ctx.p(&t);
        return Ok(());
    }
    if fetch_code {
        return save_code(ctx, &action, save_as);
    }
    print_got(ctx, "action", &q.entity_name, field.as_deref(), &action);
    Ok(())
}

fn save_code(ctx: &mut Ctx<'_>, action: &Value, save_as: Option<String>) -> R {
    let exec = action.get("exec").cloned().unwrap_or(Value::Null);
    let kind = s(&exec, "kind");
    let runtime = kind.split(':').next().unwrap_or("").to_ascii_lowercase();
    let binary = exec.get("binary").and_then(Value::as_bool).unwrap_or(false);
    if runtime == "blackbox" && exec.get("code").is_none() && !binary {
        return Err(CliError::usage("Cannot save Docker images"));
    }
    if runtime == "sequence" {
        return Err(CliError::usage("Cannot save action sequences"));
    }
    let code = s(&exec, "code").to_string();
    let (bytes, ext) = if binary {
        use base64::Engine as _;
        let b = base64::engine::general_purpose::STANDARD
            .decode(code.trim())
            .unwrap_or_default();
        let ext = match runtime.as_str() {
            "java" => ".jar",
            "ballerina" => ".balx",
            _ => ".zip",
        };
        (b, ext.to_string())
    } else {
        let ext = match runtime.as_str() {
            "nodejs" => ".js".to_string(),
            "python" => ".py".to_string(),
            "swift" | "php" => format!(".{runtime}"),
            "ruby" => ".rb".to_string(),
            "rust" => ".rs".to_string(),
            "go" => ".go".to_string(),
            _ => String::new(),
        };
        (code.into_bytes(), ext)
    };
    let filename = save_as.unwrap_or_else(|| format!("{}{ext}", s(action, "name")));
    let path = ctx.env.resolve(&filename);
    if path.exists() {
        return Err(CliError::usage(format!(
            "The file '{filename}' already exists"
        )));
    }
    std::fs::write(&path, bytes)
        .map_err(|e| CliError::general(format!("Unable to write '{filename}': {e}")))?;
    let shown = if path.is_absolute() {
        path
    } else {
        std::env::current_dir()
            .map(|d| d.join(&path))
            .unwrap_or(path)
    };
    ctx.p(&format!("ok: saved action code to {}\n", shown.display()));
    Ok(())
}
