//! The API gateway inside the server (spec §2.5, OpenWhisk's `wsk api`).
//!
//! - [`mgmt`]: the system package `/whisk.system/apimgmt` (`createApi`, `getApi`, `deleteApi`),
//!   answered natively.
//! - the gateway itself: every route of a namespace is served at
//!   `{APIHOST}/api/{namespace-uuid}{basePath}{relPath}` by rewriting the request onto the
//!   route's web action (`/api/v1/web/...`), which then runs exactly like a web action.
//! - [`swagger`]: the Swagger 2.0 documents that describe the APIs; [`store`]: their storage.
//!
//! Both are dispatched by [`layer`], a middleware around the whole application.

pub mod mgmt;
pub mod store;
pub mod swagger;

use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use percent_encoding::percent_decode_str;
use serde_json::{json, Value};
use whirl_store::NamespaceRecord;

use crate::AppState;

const CORS_METHODS: &str = "OPTIONS, GET, DELETE, POST, PUT, HEAD, PATCH";
const CORS_DEFAULT_HEADERS: &str =
    "Authorization, Origin, X-Requested-With, Content-Type, Accept, User-Agent";

/// Routes `whisk.system/apimgmt/*` and `/api/{uuid}/...` here, everything else on.
pub async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if mgmt::action_segment(path).is_some() {
        return mgmt::handle(&state, req).await;
    }
    if req.method() == Method::GET
        && path.trim_end_matches('/') == "/api/v1/namespaces/whisk.system/packages/apimgmt"
    {
        return package_info();
    }
    if let Some(rest) = path.strip_prefix("/api/") {
        let (uuid, tail) = rest.split_once('/').unwrap_or((rest, ""));
        if uuid != "v1" && !uuid.is_empty() {
            // Only a known namespace uuid makes this a gateway URL; anything else is the API's.
            match crate::auth::namespace_by_uuid(&state, uuid).await {
                Ok(Some(owner)) => {
                    let tail = format!("/{tail}");
                    return serve(&state, &owner, &tail, req).await;
                }
                Ok(None) => {}
                Err(e) => return gw_error(e.status, &e.message),
            }
        }
    }
    next.run(req).await
}

fn json_response(status: StatusCode, body: Value) -> Response {
    let mut r = (status, body.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// `GET /api/v1/namespaces/whisk.system/packages/apimgmt`: the system package as OpenWhisk
/// shows it (its actions are built in).
fn package_info() -> Response {
    let action = |name: &str| {
        json!({"name": name, "version": "0.0.1",
               "annotations": [{"key": "web-export", "value": true},
                               {"key": "exec", "value": "nodejs:default"}]})
    };
    json_response(
        StatusCode::OK,
        json!({
            "namespace": "whisk.system",
            "name": "apimgmt",
            "version": "0.0.1",
            "publish": false,
            "binding": {},
            "parameters": [],
            "annotations": [{"key": "description",
                             "value": "API management (built into Whirl's controller)"}],
            "actions": [action("createApi"), action("deleteApi"), action("getApi")],
            "feeds": [],
            "updated": 0
        }),
    )
}

/// The API gateway's error shape.
fn gw_error(status: StatusCode, message: &str) -> Response {
    let mut r = json_response(
        status,
        json!({"status": status.as_u16(), "message": format!("Error: {message}")}),
    );
    add_cors(&mut r, None);
    r
}

fn add_cors(r: &mut Response, requested: Option<HeaderValue>) {
    let h = r.headers_mut();
    h.entry(header::ACCESS_CONTROL_ALLOW_ORIGIN)
        .or_insert(HeaderValue::from_static("*"));
    h.entry(header::ACCESS_CONTROL_ALLOW_METHODS)
        .or_insert(HeaderValue::from_static(CORS_METHODS));
    h.entry(header::ACCESS_CONTROL_ALLOW_HEADERS)
        .or_insert(requested.unwrap_or(HeaderValue::from_static(CORS_DEFAULT_HEADERS)));
}

fn decode(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// How well `template` (`/books/{isbn}`) matches the request's relative path: `None` if not,
/// else the number of literal segments (more literal wins).
pub fn match_template(template: &str, rel: &str) -> Option<usize> {
    let t: Vec<&str> = template.trim_end_matches('/').split('/').collect();
    let r: Vec<&str> = rel.trim_end_matches('/').split('/').collect();
    if t.len() != r.len() {
        return None;
    }
    let mut literal = 0;
    for (ts, rs) in t.iter().zip(&r) {
        if ts.starts_with('{') && ts.ends_with('}') && ts.len() > 2 {
            if rs.is_empty() {
                return None;
            }
        } else if decode(ts) == decode(rs) {
            literal += 1;
        } else {
            return None;
        }
    }
    Some(literal)
}

/// The relative path of `path` under `base` (`/` base matches everything).
fn under_base<'a>(base: &str, path: &'a str) -> Option<&'a str> {
    let base = base.trim_end_matches('/');
    let rest = path.strip_prefix(base)?;
    if rest.is_empty() {
        Some("/")
    } else if rest.starts_with('/') {
        Some(rest)
    } else {
        None
    }
}

/// A request to `/api/{uuid}{path}`.
async fn serve(state: &AppState, owner: &NamespaceRecord, path: &str, req: Request) -> Response {
    let apis = match store::routing(state, &owner.namespace).await {
        Ok(a) => a,
        Err(e) => return gw_error(e.status, &e.message),
    };
    // The best match over all APIs: the longest base path, then the most literal segments.
    let mut best: Option<(usize, usize, &store::StoredApi, &str, String)> = None;
    for api in apis.iter() {
        let Some(rel) = under_base(&api.base_path, path) else {
            continue;
        };
        let Some(paths) = api.swagger.get("paths").and_then(Value::as_object) else {
            continue;
        };
        for template in paths.keys() {
            if let Some(score) = match_template(template, rel) {
                let key = (api.base_path.trim_end_matches('/').len(), score);
                if best.as_ref().is_none_or(|b| (b.0, b.1) < key) {
                    best = Some((key.0, key.1, api, template.as_str(), rel.to_string()));
                }
            }
        }
    }
    let Some((_, _, api, template, rel)) = best else {
        return gw_error(StatusCode::NOT_FOUND, "Not found.");
    };
    let verb = req.method().as_str().to_lowercase();
    let op = api
        .swagger
        .pointer(&format!(
            "/paths/{}/{verb}",
            template.replace('~', "~0").replace('/', "~1")
        ))
        .cloned();
    let Some(op) = op else {
        if req.method() == Method::OPTIONS {
            let requested = req
                .headers()
                .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
                .cloned();
            let mut r = StatusCode::OK.into_response();
            add_cors(&mut r, requested);
            return r;
        }
        return gw_error(StatusCode::NOT_FOUND, "Whoops. Verb not supported.");
    };
    let Some(backend) = swagger::backend(&api.swagger, &op) else {
        return gw_error(StatusCode::NOT_FOUND, "Not found.");
    };
    let (mut parts, body) = req.into_parts();
    let mut uri = backend.web_path.clone();
    if backend.append_path {
        uri.push_str(&rel);
    }
    if let Some(q) = parts.uri.query() {
        uri.push('?');
        uri.push_str(q);
    }
    parts.uri = match uri.parse() {
        Ok(u) => u,
        Err(_) => return gw_error(StatusCode::NOT_FOUND, "Not found."),
    };
    if let Some(key) = backend
        .secure_key
        .and_then(|k| HeaderValue::from_str(&k).ok())
    {
        parts
            .headers
            .insert(HeaderName::from_static("x-require-whisk-auth"), key);
    }
    let requested = parts
        .headers
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .cloned();
    let mut r = crate::web::handle(State(state.clone()), Request::from_parts(parts, body)).await;
    add_cors(&mut r, requested);
    r
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn templates() {
        assert_eq!(match_template("/books/{isbn}", "/books/123"), Some(2));
        assert_eq!(match_template("/books/new", "/books/new"), Some(3));
        assert_eq!(match_template("/books/{isbn}", "/books"), None);
        assert_eq!(match_template("/books/{isbn}", "/books/"), None);
        assert_eq!(match_template("/a", "/a/"), Some(2));
        assert_eq!(match_template("/a%20b", "/a b"), Some(2));
    }

    #[test]
    fn base_paths() {
        assert_eq!(under_base("/club", "/club/books"), Some("/books"));
        assert_eq!(under_base("/club", "/clubs/books"), None);
        assert_eq!(under_base("/", "/books"), Some("/books"));
        assert_eq!(under_base("/club/", "/club"), Some("/"));
    }
}
