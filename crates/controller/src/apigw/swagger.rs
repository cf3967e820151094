//! The Swagger 2.0 documents that describe an API, built and edited as OpenWhisk's route
//! management does (`apigw-utils.js`): one `paths[relpath][verb]` operation per route, carrying
//! an `x-openwhisk` extension with the target web action, plus the API Connect style
//! `x-ibm-configuration` assembly with the invoke `target-url`.

use serde_json::{json, Map, Value};

/// The response types a route can use (the web action extensions).
pub const RESPONSE_TYPES: [&str; 5] = ["json", "http", "html", "text", "svg"];

/// The verbs a route can have.
pub const VERBS: [&str; 7] = ["get", "put", "post", "delete", "patch", "head", "options"];

/// A new, empty API.
pub fn base(base_path: &str, api_name: Option<&str>) -> Value {
    json!({
        "swagger": "2.0",
        "info": {"title": api_name.unwrap_or(base_path), "version": "1.0.0"},
        "basePath": base_path,
        "paths": {},
        "x-ibm-configuration": {"assembly": {}, "cors": {"enabled": true}}
    })
}

/// `get` + camel-cased path segments: `getBooksIsbn` for `GET /books/{isbn}`.
pub fn operation_id(operation: &str, relpath: &str) -> String {
    let spaced: String = relpath
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                ' '
            }
        })
        .collect();
    let mut out = operation.to_lowercase();
    for word in spaced.split_whitespace() {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            out.extend(first.to_uppercase());
            out.push_str(&chars.as_str().to_lowercase());
        }
    }
    out
}

/// The names of the `{params}` in a path.
pub fn path_parameters(path: &str) -> Vec<String> {
    path.split('/')
        .filter_map(|seg| {
            let inner = seg.strip_prefix('{')?.strip_suffix('}')?;
            (!inner.is_empty()).then(|| inner.to_string())
        })
        .collect()
}

/// The pieces of a fully qualified action name `/ns/pkg/action` or `/ns/action` (the
/// namespace, if present, is ignored: the endpoint's `action.namespace` names it).
fn package_and_action(name: &str) -> (Option<String>, String) {
    let parts: Vec<&str> = name.trim_start_matches('/').split('/').collect();
    match parts.as_slice() {
        [a] => (None, a.to_string()),
        [p, a] if !name.starts_with('/') => (Some(p.to_string()), a.to_string()),
        [_, a] => (None, a.to_string()),
        [_, p, a] => (Some(p.to_string()), a.to_string()),
        _ => (None, name.to_string()),
    }
}

/// `PROTOCOL://HOST` of a backend URL (everything before `/api/v1/web/`, or the scheme and
/// authority).
fn origin(url: &str, fallback: &str) -> String {
    if let Some(i) = url.find("/api/v1/web/") {
        return url[..i].to_string();
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        return fallback.to_string();
    };
    let host = rest.split('/').next().unwrap_or("");
    if host.is_empty() {
        fallback.to_string()
    } else {
        format!("{scheme}://{host}")
    }
}

/// The web action URL of an endpoint.
fn web_action_url(
    origin: &str,
    ns: &str,
    package: Option<&str>,
    action: &str,
    ext: &str,
) -> String {
    let pkg = package.unwrap_or("default");
    format!("{origin}/api/v1/web/{ns}/{pkg}/{action}.{ext}")
}

/// A route to add, as createApi receives it.
#[derive(Debug, Clone)]
pub struct Endpoint<'a> {
    pub relpath: &'a str,
    pub operation: &'a str,
    pub action_name: &'a str,
    pub action_namespace: &'a str,
    pub backend_url: &'a str,
    pub secure_key: Option<String>,
    pub path_parameters: Option<Value>,
}

/// Add (or replace) one operation of `swagger`.
pub fn add_endpoint(swagger: &mut Value, ep: &Endpoint<'_>, response_type: &str, api_host: &str) {
    let operation = ep.operation.to_lowercase();
    let op_id = operation_id(&operation, ep.relpath);
    let (package, action) = package_and_action(ep.action_name);
    let origin = origin(ep.backend_url, api_host);
    let url = web_action_url(
        &origin,
        ep.action_namespace,
        package.as_deref(),
        &action,
        response_type,
    );
    let target = if response_type == "http" {
        format!("{url}$(request.path)")
    } else {
        url.clone()
    };
    let Some(doc) = swagger.as_object_mut() else {
        return;
    };
    let paths = object_at(doc, "paths");
    let path = object_entry(paths, ep.relpath);
    let mut op = json!({
        "operationId": op_id,
        "x-openwhisk": {
            "url": url,
            "namespace": ep.action_namespace,
            "package": package.clone().unwrap_or_default(),
            "action": action,
        },
        "responses": {"default": {"description": "Default response"}}
    });
    if let Some(params) = &ep.path_parameters {
        op["parameters"] = params.clone();
    } else {
        let names = path_parameters(ep.relpath);
        if !names.is_empty() {
            op["parameters"] = Value::Array(
                names
                    .iter()
                    .map(|n| {
                        json!({"name": n, "in": "path", "required": true, "type": "string",
                               "description": format!("Default description for '{n}'")})
                    })
                    .collect(),
            );
        }
    }
    path.insert(operation, op);
    // The API Connect assembly: one case per operation.
    let cases = cases_mut(doc);
    let mut case = json!({
        "operations": [op_id],
        "execute": [{"invoke": {"target-url": target, "verb": "keep"}}]
    });
    if let Some(key) = &ep.secure_key {
        if let Some(exec) = case["execute"].as_array_mut() {
            exec.push(json!({"set-variable": {"actions": [
                {"set": "message.headers.X-Require-Whisk-Auth", "value": key}
            ]}}));
        }
    }
    match cases.iter().position(|c| case_is(c, &op_id)) {
        Some(i) => cases[i] = case,
        None => cases.push(case),
    }
}

fn case_is(case: &Value, op_id: &str) -> bool {
    case.pointer("/operations/0").and_then(Value::as_str) == Some(op_id)
}

fn object_at<'a>(doc: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    object_entry(doc, key)
}

fn object_entry<'a>(map: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let slot = map
        .entry(key.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    match slot {
        Value::Object(m) => m,
        _ => unreachable!("replaced by an object above"),
    }
}

fn cases_mut(doc: &mut Map<String, Value>) -> &mut Vec<Value> {
    let config = object_entry(doc, "x-ibm-configuration");
    let assembly = object_entry(config, "assembly");
    let execute = assembly.entry("execute").or_insert_with(|| json!([{}]));
    if !execute.is_array() || execute.as_array().is_some_and(|a| a.is_empty()) {
        *execute = json!([{}]);
    }
    let first = &mut execute[0];
    if !first.is_object() {
        *first = json!({});
    }
    let switch = &mut first["operation-switch"];
    if !switch.is_object() {
        *switch = json!({});
    }
    let cases = &mut switch["case"];
    if !cases.is_array() {
        *cases = json!([]);
    }
    match cases {
        Value::Array(a) => a,
        _ => unreachable!("replaced by an array above"),
    }
}

fn remove_case(doc: &mut Value, op_id: &str) {
    if let Some(cases) = doc
        .pointer_mut("/x-ibm-configuration/assembly/execute/0/operation-switch/case")
        .and_then(Value::as_array_mut)
    {
        cases.retain(|c| !case_is(c, op_id));
    }
}

/// Remove a path (every operation) or one operation from `swagger`; the error is OpenWhisk's
/// message.
pub fn remove_endpoint(
    swagger: &mut Value,
    relpath: &str,
    operation: Option<&str>,
) -> Result<(), String> {
    let Some(paths) = swagger.get_mut("paths").and_then(Value::as_object_mut) else {
        return Err(format!("path '{relpath}' does not exist in the API"));
    };
    let mut removed_ops = Vec::new();
    match operation.map(str::to_lowercase) {
        None => {
            let Some(ops) = paths.remove(relpath) else {
                return Err(format!("path '{relpath}' does not exist in the API"));
            };
            if let Some(ops) = ops.as_object() {
                removed_ops.extend(ops.keys().cloned());
            }
        }
        Some(op) => {
            let gone = paths
                .get_mut(relpath)
                .and_then(Value::as_object_mut)
                .and_then(|ops| ops.remove(&op));
            if gone.is_none() {
                return Err(format!(
                    "path '{relpath}' with operation '{op}' does not exist in the API"
                ));
            }
            if paths
                .get(relpath)
                .and_then(Value::as_object)
                .is_some_and(|o| o.is_empty())
            {
                paths.remove(relpath);
            }
            removed_ops.push(op);
        }
    }
    for op in removed_ops {
        remove_case(swagger, &operation_id(&op, relpath));
    }
    Ok(())
}

/// Whether the API has no path left.
pub fn is_empty(swagger: &Value) -> bool {
    swagger
        .get("paths")
        .and_then(Value::as_object)
        .is_none_or(|p| p.is_empty())
}

/// The `info.title` of an API.
pub fn title(swagger: &Value) -> Option<&str> {
    swagger.pointer("/info/title").and_then(Value::as_str)
}

/// The checks OpenWhisk runs on an imported swagger (`validateArgs`) plus the structure the
/// gateway relies on.
pub fn validate_import(swagger: &Value) -> Result<(), String> {
    let Some(doc) = swagger.as_object() else {
        return Err(
            "swagger field is not an object and should be an object or a JSON string.".into(),
        );
    };
    match doc.get("basePath") {
        Some(Value::String(s)) if !s.is_empty() => {
            if !s.starts_with('/') {
                return Err(format!("swagger basePath '{s}' must begin with '/'."));
            }
        }
        Some(Value::String(_)) | None | Some(Value::Null) => {
            return Err("swagger is missing the basePath field.".into())
        }
        Some(_) => return Err("swagger basePath field must be a string.".into()),
    }
    match doc.get("paths") {
        None | Some(Value::Null) => return Err("swagger is missing the paths field.".into()),
        Some(Value::Object(paths)) => {
            for (path, ops) in paths {
                if !path.starts_with('/') {
                    return Err(format!("swagger path '{path}' must begin with '/'."));
                }
                let Some(ops) = ops.as_object() else {
                    return Err(format!("swagger path '{path}' must be an object."));
                };
                for (verb, op) in ops {
                    if verb == "parameters" || verb.starts_with("x-") {
                        continue;
                    }
                    if !VERBS.contains(&verb.as_str()) || !op.is_object() {
                        return Err(format!(
                            "swagger path '{path}' has an invalid operation '{verb}'."
                        ));
                    }
                }
            }
        }
        Some(_) => return Err("swagger paths field must be an object.".into()),
    }
    match doc.get("info") {
        None | Some(Value::Null) => Err("swagger is missing the info field.".into()),
        Some(_) => Ok(()),
    }
}

/// OpenWhisk's `validateFinalSwagger`: no parameters in the base path; a parameterized path
/// needs `.http` actions and a declared parameter for each `{name}`.
pub fn validate_final(swagger: &Value) -> Result<(), String> {
    let base = swagger
        .get("basePath")
        .and_then(Value::as_str)
        .unwrap_or("");
    if !path_parameters(base).is_empty() {
        return Err(format!(
            "The base path ({base}) cannot have parameters. Only the relative path supports path parameters."
        ));
    }
    let Some(paths) = swagger.get("paths").and_then(Value::as_object) else {
        return Ok(());
    };
    for (path, ops) in paths {
        let names = path_parameters(path);
        if names.is_empty() {
            continue;
        }
        let Some(ops) = ops.as_object() else { continue };
        let shared = ops
            .get("parameters")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for (verb, op) in ops {
            if verb == "parameters" {
                continue;
            }
            if let Some(url) = op.pointer("/x-openwhisk/url").and_then(Value::as_str) {
                if !url.ends_with(".http") {
                    return Err("The action must use a response type of '.http' in order to receive the path parameters.".into());
                }
            }
            let mut all = shared.clone();
            if let Some(p) = op.get("parameters").and_then(Value::as_array) {
                all.extend(p.iter().cloned());
            }
            for name in &names {
                let declared = all
                    .iter()
                    .any(|p| p.get("name").and_then(Value::as_str) == Some(name));
                if !declared {
                    return Err(format!("The parameter '{name}' defined in path '{path}' does not match any of the parameters defined for the path in the swagger file."));
                }
            }
        }
    }
    Ok(())
}

/// Replace namespace `_` by `ns` in the `x-openwhisk` extensions and web action URLs of an
/// imported swagger.
pub fn resolve_namespace(swagger: &mut Value, ns: &str) {
    let default_ns = "/api/v1/web/_/";
    let replacement = format!("/api/v1/web/{ns}/");
    if let Some(paths) = swagger.get_mut("paths").and_then(Value::as_object_mut) {
        for ops in paths.values_mut() {
            let Some(ops) = ops.as_object_mut() else {
                continue;
            };
            for op in ops.values_mut() {
                let Some(x) = op.get_mut("x-openwhisk").and_then(Value::as_object_mut) else {
                    continue;
                };
                if x.get("namespace").and_then(Value::as_str) == Some("_") {
                    x.insert("namespace".into(), Value::String(ns.into()));
                }
                if let Some(Value::String(url)) = x.get_mut("url") {
                    *url = url.replace(default_ns, &replacement);
                }
            }
        }
    }
    if let Some(cases) = swagger
        .pointer_mut("/x-ibm-configuration/assembly/execute/0/operation-switch/case")
        .and_then(Value::as_array_mut)
    {
        for case in cases {
            if let Some(Value::String(url)) = case.pointer_mut("/execute/0/invoke/target-url") {
                *url = url.replace(default_ns, &replacement);
            }
        }
    }
}

/// The backend of an operation: the web action URL path (from `/api/v1/web/`), whether the
/// request path is appended, and the `X-Require-Whisk-Auth` secret, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backend {
    pub web_path: String,
    pub append_path: bool,
    pub secure_key: Option<String>,
}

/// The backend of `op` in `swagger`, from `x-openwhisk.url`, else from the assembly's
/// `target-url`; `None` if the operation does not target a web action.
pub fn backend(swagger: &Value, op: &Value) -> Option<Backend> {
    let op_id = op.get("operationId").and_then(Value::as_str);
    let case = op_id.and_then(|id| {
        swagger
            .pointer("/x-ibm-configuration/assembly/execute/0/operation-switch/case")?
            .as_array()?
            .iter()
            .find(|c| case_is(c, id))
    });
    let target = case
        .and_then(|c| c.pointer("/execute/0/invoke/target-url"))
        .and_then(Value::as_str);
    let url = op
        .pointer("/x-openwhisk/url")
        .and_then(Value::as_str)
        .or(target)?;
    let url = url.strip_suffix("$(request.path)").unwrap_or(url);
    let i = url.find("/api/v1/web/")?;
    let web_path = url[i..].to_string();
    let append_path = web_path.ends_with(".http");
    let secure_key = case.and_then(|c| {
        c.get("execute")?.as_array()?.iter().find_map(|e| {
            e.pointer("/set-variable/actions")?
                .as_array()?
                .iter()
                .find(|a| {
                    a.get("set").and_then(Value::as_str)
                        == Some("message.headers.X-Require-Whisk-Auth")
                })
                .and_then(|a| match a.get("value")? {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
        })
    });
    Some(Backend {
        web_path,
        append_path,
        secure_key,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn operation_ids() {
        assert_eq!(operation_id("GET", "/books/{isbn}"), "getBooksIsbn");
        assert_eq!(operation_id("post", "/hello"), "postHello");
        assert_eq!(
            operation_id("get", "/my-path/x_y"),
            "getMy-path/X_y".replace('/', "")
        );
    }

    #[test]
    fn add_and_remove() {
        let mut s = base("/club", Some("Club"));
        let ep = Endpoint {
            relpath: "/books/{isbn}",
            operation: "GET",
            action_name: "lib/book",
            action_namespace: "guest",
            backend_url: "http://h:1/api/v1/web/guest/lib/book.http",
            secure_key: Some("42".into()),
            path_parameters: None,
        };
        add_endpoint(&mut s, &ep, "http", "http://x");
        assert!(validate_final(&s).is_ok());
        let op = &s["paths"]["/books/{isbn}"]["get"];
        assert_eq!(
            op["x-openwhisk"]["url"],
            "http://h:1/api/v1/web/guest/lib/book.http"
        );
        let b = backend(&s, op).unwrap();
        assert_eq!(b.web_path, "/api/v1/web/guest/lib/book.http");
        assert!(b.append_path);
        assert_eq!(b.secure_key.as_deref(), Some("42"));
        add_endpoint(
            &mut s,
            &Endpoint {
                relpath: "/x",
                ..ep.clone()
            },
            "json",
            "http://x",
        );
        assert!(remove_endpoint(&mut s, "/books/{isbn}", Some("post")).is_err());
        remove_endpoint(&mut s, "/books/{isbn}", Some("GET")).unwrap();
        assert!(!is_empty(&s));
        remove_endpoint(&mut s, "/x", None).unwrap();
        assert!(is_empty(&s));
        let cases = s.pointer("/x-ibm-configuration/assembly/execute/0/operation-switch/case");
        assert_eq!(cases.unwrap().as_array().unwrap().len(), 0);
    }

    #[test]
    fn path_parameters_need_http() {
        let mut s = base("/a", None);
        let ep = Endpoint {
            relpath: "/b/{id}",
            operation: "get",
            action_name: "act",
            action_namespace: "guest",
            backend_url: "",
            secure_key: None,
            path_parameters: None,
        };
        add_endpoint(&mut s, &ep, "json", "http://x");
        assert!(validate_final(&s).unwrap_err().contains(".http"));
        assert!(validate_final(&base("/a/{b}", None)).is_err());
    }

    #[test]
    fn imports() {
        assert!(validate_import(&json!("x")).is_err());
        assert!(validate_import(&json!({"paths": {}, "info": {}})).is_err());
        assert!(validate_import(&json!({"basePath": "/a", "info": {}})).is_err());
        assert!(validate_import(&json!({"basePath": "/a", "paths": {}})).is_err());
        assert!(
            validate_import(&json!({"basePath": "/a", "paths": {"/b": 3}, "info": {}})).is_err()
        );
        assert!(validate_import(
            &json!({"basePath": "/a", "paths": {"/b": {"get": {}}}, "info": {}})
        )
        .is_ok());
    }
}
