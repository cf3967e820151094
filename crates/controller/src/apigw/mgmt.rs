//! The system package `/whisk.system/apimgmt`: the web actions `createApi`, `getApi` and
//! `deleteApi` that `wsk api` and `ow.routes.*` call, answered natively with the request and
//! response shapes of OpenWhisk's route management actions.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};
use whirl_core::limits::MAX_PAYLOAD_BYTES;
use whirl_store::StoreError;

use super::store;
use super::swagger::{self, Endpoint};
use crate::auth::{self, Identity};
use crate::extract::{content_length, read_body};
use crate::web::context::query_pairs;
use crate::AppState;

/// The path prefixes of the package's web actions: `apimgmt` (today's `wsk` and `openwhisk` npm
/// client), and the legacy `routemgmt` paths of older clients.
pub const PREFIXES: [&str; 3] = [
    "/api/v1/web/whisk.system/apimgmt/",
    "/api/v1/web/whisk.system/routemgmt/",
    "/api/v1/experimental/web/whisk.system/routemgmt/",
];

/// The `{action}{.ext}...` part of a management URL, if `path` is one.
pub fn action_segment(path: &str) -> Option<&str> {
    PREFIXES.iter().find_map(|p| path.strip_prefix(p))
}

/// An answer: status and JSON body.
type Answer = (StatusCode, Value);

fn fail(status: StatusCode, msg: impl Into<String>) -> Answer {
    (status, json!({"error": msg.into()}))
}

/// A failure of the management action itself (bad arguments, a missing API, a store error):
/// upstream's actions reject with `makeErrorResponseObject`, which a web action answers as
/// 502 `{"error": msg}`; clients (wsk, ow.routes) print the message from that shape.
fn bad(msg: impl Into<String>) -> Answer {
    fail(StatusCode::BAD_GATEWAY, msg)
}

fn respond((status, body): Answer) -> Response {
    let mut r = (status, body.to_string()).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    r
}

/// `.../apimgmt/{createApi|getApi|deleteApi}{.http|.json|...}`.
pub async fn handle(state: &AppState, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let rest = action_segment(parts.uri.path()).unwrap_or("");
    let name = rest.split('/').next().unwrap_or("");
    let name = name.split_once('.').map_or(name, |(n, _)| n);
    if !matches!(name, "createApi" | "getApi" | "deleteApi") {
        return respond(fail(
            StatusCode::NOT_FOUND,
            "The requested resource does not exist.",
        ));
    }
    if parts.method == Method::OPTIONS {
        return respond((StatusCode::OK, json!({})));
    }
    let who = match caller(state, &parts.headers).await {
        Ok(who) => who,
        Err(a) => return respond(a),
    };
    let args = match arguments(parts.uri.query(), &parts.headers, body).await {
        Ok(a) => a,
        Err(a) => return respond(a),
    };
    let answer = match name {
        "createApi" => create(state, &who, &args).await,
        "getApi" => get(state, &who, &args).await,
        _ => delete(state, &who, &args).await,
    };
    respond(answer.unwrap_or_else(|a| a))
}

async fn caller(state: &AppState, headers: &HeaderMap) -> Result<Identity, Answer> {
    let h = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if h.is_none() {
        return Err(fail(
            StatusCode::UNAUTHORIZED,
            "A valid auth key is required.",
        ));
    }
    auth::authenticate(state, h)
        .await
        .map_err(|e| fail(e.status, e.message))
}

/// Query parameters, overridden by the fields of a JSON object body (as web action arguments).
async fn arguments(
    query: Option<&str>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Map<String, Value>, Answer> {
    let mut args: Map<String, Value> = query_pairs(query.unwrap_or(""))
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    let bytes = read_body(body, content_length(headers), MAX_PAYLOAD_BYTES)
        .await
        .map_err(|e| fail(e.status, e.message))?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(args);
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(fields)) => args.extend(fields),
        Ok(_) => {
            return Err(fail(
                StatusCode::BAD_REQUEST,
                "The request body must be a JSON object.",
            ))
        }
        Err(_) => {
            return Err(fail(
                StatusCode::BAD_REQUEST,
                "The request body is not valid JSON.",
            ))
        }
    }
    Ok(args)
}

fn str_arg<'a>(args: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    args.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// A field that may be an object or a JSON string (`apidoc`, `swagger`).
fn object_or_json(v: &Value, field: &str) -> Result<Value, Answer> {
    match v {
        Value::Object(_) => Ok(v.clone()),
        Value::String(s) => match serde_json::from_str::<Value>(s) {
            Ok(o @ Value::Object(_)) => Ok(o),
            _ => Err(bad(format!(
                "{field} field cannot be parsed. Ensure it is valid JSON."
            ))),
        },
        other => Err(bad(format!(
            "{field} field is of type {} and should be a JSON object or a JSON string.",
            js_type(other)
        ))),
    }
}

fn js_type(v: &Value) -> &'static str {
    match v {
        Value::Null | Value::Array(_) | Value::Object(_) => "object",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
    }
}

fn store_failure(e: StoreError) -> Answer {
    match e {
        StoreError::Conflict | StoreError::AlreadyExists => {
            bad("Concurrent modification of the API; retry the request.")
        }
        other => {
            tracing::error!(error = %other, "API store failure");
            bad("API store failure.")
        }
    }
}

fn api_error(e: crate::error::ApiError) -> Answer {
    fail(e.status, e.message)
}

/// The URL an API is served at.
pub fn gw_api_url(state: &AppState, who: &Identity, base_path: &str) -> String {
    let host = state.config().api_host.trim_end_matches('/');
    let base = if base_path == "/" { "" } else { base_path };
    format!("{host}/api/{}{base}", who.uuid)
}

/// The CLI's view of one API (`value` of getApi's entries, createApi's whole answer).
fn cli_value(state: &AppState, who: &Identity, base_path: &str, swagger: &Value) -> Value {
    json!({
        "namespace": who.namespace,
        "gwApiActivated": true,
        "tenantId": who.uuid,
        "gwApiUrl": gw_api_url(state, who, base_path),
        "apidoc": swagger,
    })
}

async fn create(
    state: &AppState,
    who: &Identity,
    args: &Map<String, Value>,
) -> Result<Answer, Answer> {
    let Some(apidoc) = args.get("apidoc").filter(|v| !v.is_null()) else {
        return Err(bad("apidoc is required."));
    };
    let mut doc = object_or_json(apidoc, "apidoc")?;
    if doc.get("namespace").is_none_or(|n| n.is_null() || n == "") {
        return Err(bad("apidoc is missing the namespace field"));
    }
    let response_type = str_arg(args, "responsetype")
        .unwrap_or("json")
        .to_lowercase();
    if !swagger::RESPONSE_TYPES.contains(&response_type.as_str()) {
        return Err(bad(format!(
            "Invalid responsetype value '{response_type}'. Valid values are: {}",
            swagger::RESPONSE_TYPES.join(", ")
        )));
    }
    let ns = who.namespace.as_str();
    // The caller's namespace replaces the CLI's `_` (and the apidoc's namespace).
    doc["namespace"] = Value::String(ns.to_string());
    let imported = match doc.get("swagger").filter(|v| !v.is_null()) {
        Some(s) => {
            if doc.get("gatewayBasePath").is_some_and(|v| !v.is_null()) {
                return Err(bad("swagger and gatewayBasePath are mutually exclusive and cannot be specified together."));
            }
            let mut s = object_or_json(s, "swagger")?;
            swagger::validate_import(&s).map_err(bad)?;
            swagger::resolve_namespace(&mut s, ns);
            Some(s)
        }
        None => None,
    };
    let (base_path, endpoint_parts) = match &imported {
        Some(s) => (
            s.get("basePath")
                .and_then(Value::as_str)
                .unwrap_or("/")
                .to_string(),
            None,
        ),
        None => {
            let field = |k: &str| {
                doc.get(k)
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
            };
            let base = field("gatewayBasePath")
                .ok_or_else(|| bad("apidoc is missing the gatewayBasePath field"))?;
            let rel = field("gatewayPath")
                .ok_or_else(|| bad("apidoc is missing the gatewayPath field"))?;
            let verb = field("gatewayMethod")
                .ok_or_else(|| bad("apidoc is missing the gatewayMethod field"))?;
            let action = doc
                .get("action")
                .filter(|a| a.is_object())
                .ok_or_else(|| bad("apidoc is missing the action field."))?;
            let afield = |k: &str| {
                action
                    .get(k)
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
            };
            afield("backendMethod")
                .ok_or_else(|| bad("action is missing the backendMethod field."))?;
            let backend_url = afield("backendUrl")
                .ok_or_else(|| bad("action is missing the backendUrl field."))?;
            let mut action_ns =
                afield("namespace").ok_or_else(|| bad("action is missing the namespace field."))?;
            let name = afield("name").ok_or_else(|| bad("action is missing the name field."))?;
            afield("authkey").ok_or_else(|| bad("action is missing the authkey field."))?;
            if !base.starts_with('/') || !rel.starts_with('/') {
                return Err(bad(
                    "The base path and the relative path must begin with '/'.",
                ));
            }
            if !swagger::VERBS.contains(&verb.to_lowercase().as_str()) {
                return Err(bad(format!(
                    "Invalid gatewayMethod '{verb}'. Valid values are: {}",
                    swagger::VERBS.join(", ")
                )));
            }
            if action_ns == "_" {
                action_ns = ns.to_string();
            }
            let secure_key = match action.get("secureKey") {
                Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
                Some(Value::Number(n)) => Some(n.to_string()),
                _ => None,
            };
            let api_name = field("apiName");
            let params = doc.get("pathParameters").filter(|p| p.is_array()).cloned();
            (
                base,
                Some((
                    rel,
                    verb,
                    name,
                    action_ns,
                    backend_url,
                    secure_key,
                    api_name,
                    params,
                )),
            )
        }
    };
    // Read, modify, write; a concurrent writer makes the write fail and the loop retry.
    let mut attempt = 0;
    loop {
        attempt += 1;
        let existing = store::get(state, ns, &base_path).await.map_err(api_error)?;
        let rev = existing.as_ref().map(|e| e.rev);
        let swagger = match (&imported, &endpoint_parts) {
            (Some(s), _) => s.clone(),
            (None, Some((rel, verb, name, action_ns, url, key, api_name, params))) => {
                let mut s = existing
                    .map(|e| e.swagger)
                    .unwrap_or_else(|| swagger::base(&base_path, api_name.as_deref()));
                let ep = Endpoint {
                    relpath: rel,
                    operation: verb,
                    action_name: name,
                    action_namespace: action_ns,
                    backend_url: url,
                    secure_key: key.clone(),
                    path_parameters: params.clone(),
                };
                swagger::add_endpoint(&mut s, &ep, &response_type, &state.config().api_host);
                s
            }
            (None, None) => return Err(bad("apidoc is missing the gatewayBasePath field")),
        };
        swagger::validate_final(&swagger).map_err(|m| bad(format!("API creation failure: {m}")))?;
        match store::put(state, ns, &base_path, &swagger, rev).await {
            Ok(()) => return Ok((StatusCode::OK, cli_value(state, who, &base_path, &swagger))),
            Err(StoreError::Conflict | StoreError::AlreadyExists) if attempt < 5 => continue,
            Err(e) => return Err(store_failure(e)),
        }
    }
}

/// The APIs of the caller matching `basepath` (a base path or an API name), all without it.
async fn matching(
    state: &AppState,
    who: &Identity,
    basepath: Option<&str>,
) -> Result<Vec<store::StoredApi>, Answer> {
    let apis = store::list(state, &who.namespace)
        .await
        .map_err(api_error)?;
    Ok(match basepath {
        None => apis,
        Some(bp) => apis
            .into_iter()
            .filter(|a| a.base_path == bp || swagger::title(&a.swagger) == Some(bp))
            .collect(),
    })
}

async fn get(
    state: &AppState,
    who: &Identity,
    args: &Map<String, Value>,
) -> Result<Answer, Answer> {
    if let Some(f) = str_arg(args, "outputFormat") {
        if !matches!(f.to_lowercase().as_str(), "apigw" | "swagger") {
            return Err(bad(
                "Invalid outputFormat value. Valid values are: apigw, swagger",
            ));
        }
    }
    let apis = matching(state, who, str_arg(args, "basepath")).await?;
    let num = |k: &str| {
        args.get(k).and_then(|v| match v {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        })
    };
    let skip = num("skip").unwrap_or(0) as usize;
    let limit = num("limit").filter(|l| *l > 0).unwrap_or(u64::MAX) as usize;
    let entries: Vec<Value> = apis
        .iter()
        .skip(skip)
        .take(limit)
        .map(|a| {
            let id = format!("API:{}:{}", who.namespace, a.base_path);
            json!({"id": id, "key": id,
                   "value": cli_value(state, who, &a.base_path, &a.swagger)})
        })
        .collect();
    Ok((StatusCode::OK, json!({"apis": entries})))
}

async fn delete(
    state: &AppState,
    who: &Identity,
    args: &Map<String, Value>,
) -> Result<Answer, Answer> {
    let Some(basepath) = str_arg(args, "basepath") else {
        return Err(bad("basepath is required."));
    };
    let relpath = str_arg(args, "relpath");
    let operation = str_arg(args, "operation");
    if relpath.is_none() && operation.is_some() {
        return Err(bad("When specifying an operation, the path is required."));
    }
    let mut attempt = 0;
    loop {
        attempt += 1;
        let apis = matching(state, who, Some(basepath)).await?;
        let Some(api) = apis.into_iter().next() else {
            return Err(bad(format!(
                "API deletion failure: API '{basepath}' does not exist."
            )));
        };
        let result = match relpath {
            None => store::delete(state, &api).await,
            Some(rel) => {
                let mut s = api.swagger.clone();
                swagger::remove_endpoint(&mut s, rel, operation)
                    .map_err(|m| bad(format!("API deletion failure: {m}")))?;
                if swagger::is_empty(&s) {
                    store::delete(state, &api).await
                } else {
                    store::put(state, &who.namespace, &api.base_path, &s, Some(api.rev)).await
                }
            }
        };
        match result {
            Ok(()) => return Ok((StatusCode::OK, json!({}))),
            Err(StoreError::Conflict | StoreError::NotFound) if attempt < 5 => continue,
            Err(e) => return Err(store_failure(e)),
        }
    }
}
