//! `wsk api create|get|list|delete`: the API gateway through the `/whisk.system/apimgmt` web
//! actions, with wsk's requests (query options `accesstoken`, `spaceguid`, `basepath`,
//! `relpath`, `operation`, `responsetype`, `limit`, `skip`; create body `{"apidoc": {...}}`),
//! its output lines and its exit codes.

use serde_json::{json, Map, Value};
use whirl_client::Error as ClientError;

use super::common::{check_args, kv_pairs};
use super::{Ctx, QName, R};
use crate::args::{ApiCmd, GlobalOpts};
use crate::config::PropsFile;
use crate::messages;
use crate::output::{pretty, s};
use crate::{CliError, EXIT_GENERAL};

/// The verbs an API operation may have (wsk's `whisk.ApiVerbs`).
const VERBS: &[&str] = &["GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS"];

/// The operations of a swagger path object, in a fixed order.
const OPS: &[&str] = &["get", "put", "post", "delete", "options", "head", "patch"];

pub(super) fn run(ctx: &mut Ctx<'_>, top: &GlobalOpts, cmd: ApiCmd) -> R {
    match cmd {
        ApiCmd::Create {
            args,
            apiname,
            config_file,
            response_type,
            global,
        } => {
            ctx.set_global(top, &global);
            create(ctx, &args, apiname, config_file, &response_type)
        }
        ApiCmd::Get {
            args,
            full,
            format,
            global,
        } => {
            ctx.set_global(top, &global);
            get(ctx, &args, full, &format)
        }
        ApiCmd::Delete { args, global } => {
            ctx.set_global(top, &global);
            delete(ctx, &args)
        }
        ApiCmd::List {
            args,
            skip,
            limit,
            name_sort,
            full,
            global,
        } => {
            ctx.set_global(top, &global);
            list(ctx, &args, skip, limit, name_sort, full)
        }
    }
}

/// `error` + usage hint, exit 1 (wsk's `MakeWskError(.., EXIT_CODE_ERR_GENERAL, DISPLAY_MSG,
/// DISPLAY_USAGE)`).
fn usage_err(msg: impl Into<String>) -> CliError {
    CliError::general(msg).with_usage(true)
}

// ------------------------------------------------------------------------ request options

/// `spaceguid` and `accesstoken` like wsk: the uuid of `AUTH` in the properties file (falling
/// back to the effective `--auth`), and `APIGW_ACCESS_TOKEN` of the properties file or
/// `DUMMY TOKEN`.
fn user_options(ctx: &mut Ctx<'_>) -> R<Vec<(&'static str, String)>> {
    let p = ctx.props()?;
    let file = p
        .props_path
        .as_deref()
        .and_then(|f| PropsFile::read(f).ok())
        .unwrap_or_default();
    let auth = file
        .get("AUTH")
        .filter(|a| !a.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| p.auth.clone());
    if auth.is_empty() {
        return Err(CliError::general(messages::AUTH_REQUIRED));
    }
    let guid = auth.split(':').next().unwrap_or("").to_string();
    let token = file
        .get("APIGW_ACCESS_TOKEN")
        .filter(|t| !t.is_empty())
        .unwrap_or("DUMMY TOKEN")
        .to_string();
    Ok(vec![("spaceguid", guid), ("accesstoken", token)])
}

/// wsk's rendering of a failed apimgmt call (client-go's error parsing): an error object with a
/// `code` is `<error> (code <code>)`; a 502 without `code` is the web action's application
/// error; anything else is the generic connection text.
fn call_error_text(e: &ClientError) -> String {
    match e {
        ClientError::Http {
            status,
            code,
            response,
            ..
        } => {
            let body = &response.json;
            let err = body.get("error");
            if response.text.trim().is_empty() {
                return "Command failed due to an HTTP failure".to_string();
            }
            match (code, err) {
                (Some(c), Some(m)) if !m.is_null() => {
                    let m = match m {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    format!("{m} (code {c})")
                }
                (None, Some(m)) if *status == 502 && !m.is_null() => application_error(m),
                _ => format!("The connection failed, or timed out. (HTTP status code {status})"),
            }
        }
        other => other.to_string(),
    }
}

/// client-go's `getApplicationErrorMessage` of an `error` value.
fn application_error(err: &Value) -> String {
    match err {
        Value::String(s) => s.clone(),
        Value::Object(m) => {
            let inner = m.get("error");
            match inner {
                None => Value::Object(m.clone()).to_string(),
                Some(Value::String(s)) => s.clone(),
                Some(Value::Object(o)) => {
                    let parts: Vec<&str> = o.values().filter_map(Value::as_str).collect();
                    if parts.is_empty() {
                        Value::Object(o.clone()).to_string()
                    } else {
                        parts.join("; ")
                    }
                }
                Some(other) => other.to_string(),
            }
        }
        other => other.to_string(),
    }
}

/// A failed call: `"<prefix>: <text>"`, exit 1, no usage hint.
fn call_failed(prefix: &str, e: &ClientError) -> CliError {
    let exit = match e {
        ClientError::Transport(_) => crate::EXIT_NETWORK,
        _ => EXIT_GENERAL,
    };
    CliError::general(format!("{prefix}: {}", call_error_text(e))).code(exit)
}

// --------------------------------------------------------------------------------- paths

fn has_path_prefix(path: &str) -> R {
    if path.starts_with('/') {
        Ok(())
    } else {
        Err(usage_err(messages::path_needs_slash(path)))
    }
}

fn valid_verb(verb: &str) -> R<String> {
    let up = verb.to_ascii_uppercase();
    if VERBS.contains(&up.as_str()) {
        Ok(up)
    } else {
        Err(usage_err(messages::invalid_api_verb(verb, VERBS)))
    }
}

/// Names of the `{name}` segments of a path (wsk's `getPathParameterNames`).
fn path_parameter_names(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|seg| seg.len() > 2 && seg.starts_with('{') && seg.ends_with('}'))
        .map(|seg| seg[1..seg.len() - 1].to_string())
        .collect()
}

// -------------------------------------------------------------------------------- create

fn create(
    ctx: &mut Ctx<'_>,
    args: &[String],
    apiname: Option<String>,
    config_file: Option<String>,
    response_type: &str,
) -> R {
    let config_file = config_file.filter(|c| !c.is_empty());
    let mut secret: Option<Value> = None;
    let (apidoc, from_args) = if args.is_empty() {
        let Some(cfg) = config_file else {
            return Err(usage_err(messages::too_few_args(messages::API_CREATE_ARGS)));
        };
        let ns = ctx.ns()?;
        let doc = parse_swagger_file(ctx, &cfg, &ns)
            .map_err(|m| usage_err(format!("Unable to parse swagger file: {m}")))?;
        (doc, false)
    } else {
        check_args(args, 3, 4, messages::API_CREATE_ARGS)?;
        let (doc, q) = parse_api(ctx, args, apiname.as_deref(), response_type)
            .map_err(|e| usage_err(format!("Unable to parse api command arguments: {}", e.msg)))?;
        let action = web_action(ctx, &q)?;
        secret = kv_pairs(action.get("annotations"))
            .into_iter()
            .find(|(k, _)| k == "require-whisk-auth")
            .map(|(_, v)| v);
        (doc, true)
    };
    let mut apidoc = apidoc;
    if let (Some(sec), Some(a)) = (secret, apidoc.get_mut("action")) {
        if let Some(o) = a.as_object_mut() {
            o.insert("secureKey".into(), sec);
        }
    }
    let mut query = user_options(ctx)?;
    if !response_type.is_empty() {
        query.push(("responsetype", response_type.to_string()));
    }
    let c = ctx.auth_client()?;
    let ret = c
        .api_create(&json!({ "apidoc": apidoc }), &query)
        .map_err(|e| call_failed("Unable to create API", &e))?;
    let Some(swagger) = ret.get("apidoc").filter(|d| d.is_object()) else {
        return Err(CliError::general(format!(
            "Unable to create API: {}",
            messages::API_MISSING_APIDOC
        )));
    };
    validate_swagger(swagger)
        .map_err(|m| CliError::general(format!("Unable to create API: {m}")))?;
    let base_url = s(&ret, "gwApiUrl").trim_end_matches('/').to_string();
    let mut out = String::new();
    if from_args {
        let rel = s(&apidoc, "gatewayPath");
        let action = &apidoc["action"];
        out.push_str(&messages::ok_api_created(
            &format!(
                "{}{rel}",
                s(&apidoc, "gatewayBasePath").trim_end_matches('/')
            ),
            s(&apidoc, "gatewayMethod"),
            Some(&format!(
                "/{}/{}",
                s(action, "namespace"),
                s(action, "name")
            )),
            &format!("{base_url}{rel}"),
        ));
    } else {
        let base_path = s(swagger, "basePath").trim_end_matches('/').to_string();
        for (path, ops) in paths_of(swagger) {
            for (op, opv) in operations(ops) {
                out.push_str(&messages::ok_api_created(
                    &format!("{base_path}{path}"),
                    op,
                    x_openwhisk_action(opv).as_deref(),
                    &format!("{base_url}{path}"),
                ));
            }
        }
    }
    ctx.p(&out);
    Ok(())
}

/// `[BASE_PATH] API_PATH API_VERB ACTION` into an `apidoc` (wsk's `parseApi`).
fn parse_api(
    ctx: &mut Ctx<'_>,
    args: &[String],
    apiname_flag: Option<&str>,
    response_type: &str,
) -> R<(Value, QName)> {
    let mut basepath = "/".to_string();
    let mut basepath_is_name = false;
    let mut args = args;
    if args.len() > 3 {
        if !args[0].starts_with('/') {
            basepath_is_name = true;
        }
        if !path_parameter_names(&args[0]).is_empty() {
            return Err(usage_err(messages::basepath_with_params(&args[0])));
        }
        basepath = args[0].clone();
        args = &args[1..];
    }
    has_path_prefix(&args[0])?;
    let relpath = args[0].clone();
    let params = path_parameter_names(&relpath);
    if !params.is_empty() && response_type != "http" {
        return Err(usage_err(messages::API_PATH_PARAMS_NEED_HTTP));
    }
    let verb = valid_verb(&args[1])?;
    let default_ns = ctx.ns()?;
    let q = QName::parse(&args[2], &default_ns).map_err(|e| {
        usage_err(format!(
            "'{}' is not a valid action name: {}",
            args[2], e.msg
        ))
    })?;
    if q.entity_name.is_empty() {
        return Err(usage_err(format!(
            "'{}' is not a valid action name.",
            args[2]
        )));
    }
    let mut apiname = String::new();
    if let Some(n) = apiname_flag.filter(|n| !n.is_empty()) {
        if basepath_is_name {
            return Err(usage_err(messages::API_NAME_TWICE));
        }
        apiname = n.to_string();
    }
    let p = ctx.props()?;
    let pkg = if q.package.is_empty() {
        "default"
    } else {
        q.package.as_str()
    };
    let mut backend = format!(
        "{}/api/v1/web/{}/{pkg}/{}.http",
        p.apihost, q.namespace, q.entity
    );
    if !backend.starts_with("http") {
        backend = format!("https://{backend}");
    }
    let mut action = Map::new();
    action.insert("name".into(), json!(q.entity_name));
    action.insert("namespace".into(), json!(q.namespace));
    action.insert("backendMethod".into(), json!(verb));
    action.insert("backendUrl".into(), json!(backend));
    if !p.auth.is_empty() {
        action.insert("authkey".into(), json!(p.auth));
    }
    let mut doc = Map::new();
    doc.insert("namespace".into(), json!(default_ns));
    if !apiname.is_empty() {
        doc.insert("apiName".into(), json!(apiname));
    }
    doc.insert("gatewayBasePath".into(), json!(basepath));
    doc.insert("gatewayPath".into(), json!(relpath));
    doc.insert("gatewayMethod".into(), json!(verb));
    if !basepath_is_name {
        doc.insert("id".into(), json!(format!("API:{default_ns}:{basepath}")));
    }
    doc.insert("action".into(), Value::Object(action));
    let mut unique: Vec<String> = Vec::new();
    for n in params {
        if !unique.contains(&n) {
            unique.push(n);
        }
    }
    if !unique.is_empty() {
        let ps: Vec<Value> = unique
            .iter()
            .map(|n| {
                json!({
                    "name": n,
                    "in": "path",
                    "description": format!("Default description for '{n}'"),
                    "required": true,
                    "type": "string",
                })
            })
            .collect();
        doc.insert("pathParameters".into(), Value::Array(ps));
    }
    Ok((Value::Object(doc), q))
}

/// The action behind a route must be a web action (wsk's `isWebAction`).
fn web_action(ctx: &mut Ctx<'_>, q: &QName) -> R<Value> {
    let full = format!("/{}/{}", q.namespace, q.entity_name);
    let c = ctx.client_ns(&q.namespace)?;
    let action = c
        .action_get(&q.entity_name, false)
        .map_err(|e| usage_err(format!("Unable to get action '{full}': {e}")))?;
    let web = kv_pairs(action.get("annotations"))
        .iter()
        .any(|(k, v)| k == "web-export" && v.as_bool() == Some(true));
    if !web {
        return Err(usage_err(messages::not_web_action(&full)));
    }
    Ok(action)
}

/// Reads and checks a swagger file (JSON); the `apidoc` carries it as a string.
fn parse_swagger_file(ctx: &mut Ctx<'_>, file: &str, ns: &str) -> Result<Value, String> {
    let text = std::fs::read_to_string(ctx.env.resolve(file)).map_err(|_| {
        format!(
            "Error reading swagger file '{file}': File '{file}' is not a valid file or it does not exist"
        )
    })?;
    if file.ends_with("yaml") || file.ends_with("yml") {
        return Err(
            "Unable to parse YAML configuration file: YAML swagger files are not supported; use JSON"
                .to_string(),
        );
    }
    let swagger: Value = serde_json::from_str(&text)
        .map_err(|e| format!("Error parsing swagger file '{file}': {e}"))?;
    let missing = |k: &str| match swagger.get(k) {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.is_empty(),
        Some(_) => false,
    };
    if missing("basePath") || missing("swagger") || missing("info") || missing("paths") {
        return Err(messages::SWAGGER_INVALID.into());
    }
    if !s(&swagger, "basePath").starts_with('/') {
        return Err(messages::SWAGGER_BASEPATH.into());
    }
    Ok(json!({"namespace": ns, "swagger": text}))
}

// ----------------------------------------------------------------------------- swagger

fn paths_of(swagger: &Value) -> Vec<(&String, &Value)> {
    swagger
        .get("paths")
        .and_then(Value::as_object)
        .map(|m| m.iter().collect())
        .unwrap_or_default()
}

fn operations(path: &Value) -> Vec<(&'static str, &Value)> {
    OPS.iter()
        .filter_map(|op| path.get(*op).filter(|v| v.is_object()).map(|v| (*op, v)))
        .collect()
}

/// `/ns[/pkg]/action` of an operation's `x-openwhisk`, if any.
fn x_openwhisk_action(op: &Value) -> Option<String> {
    let x = op.get("x-openwhisk").filter(|x| x.is_object())?;
    let pkg = s(x, "package");
    Some(if pkg.is_empty() {
        format!("/{}/{}", s(x, "namespace"), s(x, "action"))
    } else {
        format!("/{}/{pkg}/{}", s(x, "namespace"), s(x, "action"))
    })
}

/// client-go's checks of a returned swagger document.
fn validate_swagger(swagger: &Value) -> Result<(), String> {
    for (_, path) in paths_of(swagger) {
        for (op, opv) in operations(path) {
            let Some(x) = opv.get("x-openwhisk").filter(|x| x.is_object()) else {
                continue;
            };
            let empty = |v: &Value, k: &str| s(v, k).is_empty();
            if empty(opv, "operationId") {
                return Err(format!(
                    "Missing operationId field in API configuration for operation {op}"
                ));
            }
            for (k, name) in [
                ("namespace", "x-openwhisk.namespace"),
                ("action", "x-openwhisk.action"),
                ("url", "x-openwhisk.url"),
            ] {
                if empty(x, k) {
                    return Err(format!(
                        "Missing {name} field in API configuration for operation {op}"
                    ));
                }
            }
        }
    }
    Ok(())
}

// ----------------------------------------------------------------------------------- get

fn get(ctx: &mut Ctx<'_>, args: &[String], full: bool, format: &str) -> R {
    check_args(args, 1, 1, messages::API_GET_ARGS)?;
    let fmt = format.to_ascii_lowercase();
    if fmt != "json" && fmt != "yaml" {
        return Err(CliError::general(format!("Invalid format type: {format}")));
    }
    let mut query = vec![("basepath", args[0].clone())];
    query.extend(user_options(ctx)?);
    let c = ctx.auth_client()?;
    let ret = c
        .api_get(&query)
        .map_err(|e| call_failed(&format!("Unable to get API '{}'", args[0]), &e))?;
    let value = ret
        .get("apis")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .and_then(|a| a.get("value"))
        .filter(|v| v.is_object());
    let shown = if full {
        value
    } else {
        value.and_then(|v| v.get("apidoc")).filter(|d| !d.is_null())
    };
    let Some(shown) = shown else {
        return Err(CliError::general(format!(
            "API does not exist for basepath {}",
            args[0]
        )));
    };
    if fmt == "yaml" {
        let mut y = crate::output::yaml(shown);
        y.push('\n');
        ctx.p(&y);
    } else {
        ctx.p(&pretty(shown));
    }
    Ok(())
}

// -------------------------------------------------------------------------------- delete

fn delete(ctx: &mut Ctx<'_>, args: &[String]) -> R {
    check_args(args, 1, 3, messages::API_DELETE_ARGS)?;
    let mut query = user_options(ctx)?;
    query.push(("basepath", args[0].clone()));
    let mut verb = String::new();
    if let Some(rel) = args.get(1) {
        has_path_prefix(rel)?;
        query.push(("relpath", rel.clone()));
    }
    if let Some(v) = args.get(2) {
        verb = valid_verb(v)?;
        query.push(("operation", verb.clone()));
    }
    let c = ctx.auth_client()?;
    c.api_delete(&query)
        .map_err(|e| call_failed("Unable to delete API", &e))?;
    let base = &args[0];
    let line = match args.len() {
        1 => format!("ok: deleted API {base}\n"),
        2 => format!("ok: deleted {} from {base}\n", args[1]),
        _ => format!("ok: deleted {} {verb} from {base}\n", args[1]),
    };
    ctx.p(&line);
    Ok(())
}

// ---------------------------------------------------------------------------------- list

/// One operation of one API, as `wsk api list` prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    action: String,
    verb: String,
    api_name: String,
    base_path: String,
    rel_path: String,
    url: String,
}

fn rows_of(apis: &[Value], rel: &str, verb: &str) -> Vec<Row> {
    let mut rows = Vec::new();
    for api in apis {
        let v = &api["value"];
        let base_url = s(v, "gwApiUrl").trim_end_matches('/');
        let swagger = &v["apidoc"];
        let api_name = s(&swagger["info"], "title");
        let base_path = s(swagger, "basePath");
        for (path, ops) in paths_of(swagger) {
            if !rel.is_empty() && path != rel {
                continue;
            }
            for (op, opv) in operations(ops) {
                if !verb.is_empty() && !op.eq_ignore_ascii_case(verb) {
                    continue;
                }
                rows.push(Row {
                    action: x_openwhisk_action(opv).unwrap_or_default(),
                    verb: op.to_string(),
                    api_name: api_name.to_string(),
                    base_path: base_path.to_string(),
                    rel_path: path.clone(),
                    url: format!("{base_url}{path}"),
                });
            }
        }
    }
    rows
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// The table of `wsk api list` (header and rows).
fn list_table(rows: &[Row]) -> String {
    if rows.is_empty() {
        return format!(
            "{:<30} {:>7} {:>20}  {}\n",
            "Action", "Verb", "API Name", "URL"
        );
    }
    let wa = rows
        .iter()
        .map(|r| r.action.chars().count())
        .max()
        .unwrap_or(0)
        .max("Action".len())
        .min(40);
    let wn = rows
        .iter()
        .map(|r| r.api_name.chars().count())
        .max()
        .unwrap_or(0)
        .max("API Name".len())
        .min(30)
        + 1;
    let line = |a: &str, v: &str, n: &str, u: &str| format!("{a:<wa$} {v:>7} {n:>wn$}  {u}\n");
    let mut t = line("Action", "Verb", "API Name", "URL");
    for r in rows {
        t.push_str(&line(
            &truncate(&r.action, 40.min(wa)),
            &r.verb,
            &truncate(&r.api_name, wn - 1),
            &r.url,
        ));
    }
    t
}

/// The `--full` form of `wsk api list`.
fn list_full(rows: &[Row]) -> String {
    if rows.is_empty() {
        return "\n".to_string();
    }
    rows.iter()
        .map(|r| {
            format!(
                "Action: {}\n   API Name: {}\n   Base path: {}\n   Path: {}\n   Verb: {}\n   URL: {}\n",
                r.action, r.api_name, r.base_path, r.rel_path, r.verb, r.url
            )
        })
        .collect()
}

fn list(ctx: &mut Ctx<'_>, args: &[String], skip: u32, limit: u32, sort: bool, full: bool) -> R {
    check_args(args, 0, 3, messages::API_LIST_ARGS)?;
    let mut rel = String::new();
    let mut verb = String::new();
    let ret = if args.is_empty() {
        let mut query = user_options(ctx)?;
        query.push(("limit", limit.to_string()));
        query.push(("skip", skip.to_string()));
        let c = ctx.auth_client()?;
        let ret = c
            .api_get(&query)
            .map_err(|e| call_failed("Unable to obtain the API list", &e))?;
        for a in ret
            .get("apis")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(v) = a.get("value").filter(|v| v.is_object()) else {
                return Err(CliError::general(format!(
                    "Unable to obtain the API list: {}",
                    messages::API_MISSING_VALUE
                )));
            };
            let Some(doc) = v.get("apidoc").filter(|d| d.is_object()) else {
                return Err(CliError::general(format!(
                    "Unable to obtain the API list: {}",
                    messages::API_MISSING_APIDOC
                )));
            };
            validate_swagger(doc)
                .map_err(|m| CliError::general(format!("Unable to obtain the API list: {m}")))?;
        }
        ret
    } else {
        let mut query = user_options(ctx)?;
        query.push(("basepath", args[0].clone()));
        if let Some(r) = args.get(1) {
            has_path_prefix(r)?;
            rel = r.clone();
            query.push(("relpath", rel.clone()));
        }
        if let Some(v) = args.get(2) {
            verb = valid_verb(v)?;
            query.push(("operation", verb.clone()));
        }
        let c = ctx.auth_client()?;
        c.api_get(&query).map_err(|e| {
            let exit = crate::exit_code_of(&e);
            CliError::general(format!(
                "Unable to obtain the API list: {}",
                call_error_text(&e)
            ))
            .code(exit)
        })?
    };
    let apis: Vec<Value> = ret
        .get("apis")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter(|x| x.get("value").is_some_and(Value::is_object))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let mut rows = rows_of(&apis, &rel, &verb);
    if sort {
        rows.sort_by_key(|r| format!("{}{}{}", r.base_path, r.rel_path, r.verb).to_lowercase());
    }
    let mut out = "ok: APIs\n".to_string();
    out.push_str(&if full {
        list_full(&rows)
    } else {
        list_table(&rows)
    });
    ctx.p(&out);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_parameters() {
        assert_eq!(path_parameter_names("/a/{id}/b/{x}"), vec!["id", "x"]);
        assert!(path_parameter_names("/a/b{c}").is_empty());
        assert!(path_parameter_names("/{}").is_empty());
    }

    #[test]
    fn application_errors() {
        assert_eq!(application_error(&json!("boom")), "boom");
        assert_eq!(application_error(&json!({"error": "x"})), "x");
        assert_eq!(
            application_error(&json!({"error": {"error": "a", "n": 1}})),
            "a"
        );
    }

    #[test]
    fn table_widths() {
        let r = Row {
            action: "/guest/hello".into(),
            verb: "get".into(),
            api_name: "/hello".into(),
            base_path: "/hello".into(),
            rel_path: "/world".into(),
            url: "http://gw/hello/world".into(),
        };
        assert_eq!(
            list_table(&[r]),
            "Action          Verb  API Name  URL\n/guest/hello     get    /hello  http://gw/hello/world\n"
        );
        assert_eq!(
            list_table(&[]),
            "Action                            Verb             API Name  URL\n"
        );
    }
}
