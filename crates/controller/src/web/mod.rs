//! Web actions (spec §2.4): `/api/v1/web/{namespace}/{package|default}/{action}{.ext}{/path}`
//! for every HTTP method, with or without credentials, invoked as the namespace's owner.
//!
//! This router is mounted outside the API's transaction layer: web actions answer `OPTIONS`
//! themselves (or get the platform's answer) with their own CORS headers, and an action's 4xx
//! responses are its own bodies, so this module assigns the transaction id and renders its
//! `{"error", "code"}` bodies itself (pretty-printed, as OpenWhisk's web API does).
//!
//! [`context`] builds the arguments, [`response`] turns the activation into the HTTP answer.

pub mod context;
pub mod response;

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock, Weak};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use percent_encoding::percent_decode_str;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};
use subtle::ConstantTimeEq;
use whirl_core::entity::{kv_get, kv_set, kv_truthy};
use whirl_core::json::SharedJson;
use whirl_core::limits::MAX_PAYLOAD_BYTES;
use whirl_core::{ids, messages, names};
use whirl_store::NamespaceRecord;

use crate::auth::{self, hash_key, split_auth, Identity, GUEST_KEY, SYSTEM_KEY};
use crate::entities::{find_action, ResolvedAction};
use crate::error::ApiError;
use crate::extract::{content_length, read_body};
use crate::invocation::{check_invoke_throttles, invoke, Invocation, Waited};
use crate::{AppState, Inner};

use context::Context;
use response::{Extension, WebResponse};

/// The path prefix of web actions.
pub const PREFIX: &str = "/api/v1/web/";

/// Most bytes of request headers (names plus values) a web action accepts.
pub const MAX_REQUEST_HEADER_BYTES: usize = 16 * 1024;

/// How long a web request waits for its activation (`max-wait-for-blocking-activation`).
pub const MAX_WAIT: Duration = Duration::from_secs(60);

/// How long a namespace's identity is trusted before the store is asked again (as
/// [`crate::auth`]'s cache).
const OWNER_TTL: Duration = Duration::from_secs(2);

const ACTIVATION_ID_HEADER: HeaderName = HeaderName::from_static("x-openwhisk-activation-id");
const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const REQUIRE_WHISK_AUTH_HEADER: &str = "x-require-whisk-auth";

const ALLOWED_METHODS: &str = "GET, DELETE, POST, PUT, HEAD, OPTIONS, PATCH";
const CORS_METHODS: &str = "OPTIONS, GET, DELETE, POST, PUT, HEAD, PATCH";
const CORS_DEFAULT_HEADERS: &str =
    "Authorization, Origin, X-Requested-With, Content-Type, Accept, User-Agent";

/// The web action routes, with their state (mount outside the API's transaction layer).
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/v1/web/{*rest}", any(handle))
        .with_state(state)
}

/// A web action URL, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebPath {
    pub namespace: String,
    /// `None` for `default`.
    pub package: Option<String>,
    pub action: String,
    pub extension: Extension,
    /// The raw path after the action segment (`/foo/bar`), or `""`.
    pub extra: String,
}

fn decode(seg: &str) -> Option<String> {
    percent_decode_str(seg)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

/// Parse a request path. Unknown shapes and invalid names are 404 (nothing is routed there); a
/// `.` or `..` segment in the extra path is 400.
pub fn parse_path(path: &str) -> Result<WebPath, ApiError> {
    let rest = path.strip_prefix(PREFIX).ok_or_else(ApiError::not_found)?;
    let mut parts = rest.splitn(4, '/');
    let (Some(ns), Some(pkg), Some(seg)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(ApiError::not_found());
    };
    let remainder = parts.next();
    let ns = decode(ns).ok_or_else(ApiError::not_found)?;
    let pkg = decode(pkg).ok_or_else(ApiError::not_found)?;
    let seg = decode(seg).ok_or_else(ApiError::not_found)?;
    names::validate_namespace(&ns).map_err(|_| ApiError::not_found())?;
    let package = if pkg == "default" {
        None
    } else {
        names::validate_name(&pkg).map_err(|_| ApiError::not_found())?;
        Some(pkg)
    };
    let (action, extension) = response::split_extension(&seg);
    names::validate_name(action).map_err(|_| ApiError::not_found())?;
    let extra = match remainder {
        None => String::new(),
        Some(r) => {
            let dot = r.split('/').any(|s| {
                let d = percent_decode_str(s).decode_utf8_lossy();
                d == "." || d == ".."
            });
            if dot {
                return Err(ApiError::bad_request(messages::WEB_PATH_DOT_SEGMENT));
            }
            format!("/{r}")
        }
    };
    Ok(WebPath {
        namespace: ns,
        package,
        action: action.to_string(),
        extension,
        extra,
    })
}

/// The owner of a namespace as an identity. The store keeps only a hash of each key, so the key
/// is known only for the well-known development keys (`key_known`); otherwise the action gets no
/// `__OW_API_KEY` unless the caller is the owner.
#[derive(Debug, Clone)]
struct Owner {
    identity: Identity,
    key_known: bool,
}

type OwnerEntry = (Weak<Inner>, Instant, Option<Arc<Owner>>);

fn owners() -> &'static RwLock<HashMap<String, OwnerEntry>> {
    static OWNERS: OnceLock<RwLock<HashMap<String, OwnerEntry>>> = OnceLock::new();
    OWNERS.get_or_init(Default::default)
}

fn owner_of(rec: &NamespaceRecord) -> Owner {
    let known = [GUEST_KEY, SYSTEM_KEY].into_iter().find_map(|k| {
        let (uuid, key) = split_auth(k)?;
        let same: bool = hash_key(key)
            .as_bytes()
            .ct_eq(rec.key_hash.as_bytes())
            .into();
        (uuid == rec.uuid && same).then(|| key.to_string())
    });
    Owner {
        key_known: known.is_some(),
        identity: Identity {
            subject: rec.subject.clone(),
            namespace: rec.namespace.clone(),
            uuid: rec.uuid.clone(),
            key: known.unwrap_or_default(),
            limits: whirl_core::limits::NamespaceLimits::from_document(&rec.limits),
        },
    }
}

/// The identity owning namespace `ns` (`None`: no such namespace), cached briefly per
/// controller.
async fn identity_of_namespace(state: &AppState, ns: &str) -> Result<Option<Arc<Owner>>, ApiError> {
    if let Ok(map) = owners().read() {
        if let Some((inner, at, owner)) = map.get(ns) {
            if at.elapsed() < OWNER_TTL && Weak::as_ptr(inner) == Arc::as_ptr(&state.inner) {
                return Ok(owner.clone());
            }
        }
    }
    let rec = state.inner.stores.auth.namespace(ns).await?;
    let owner = rec.as_ref().map(|r| Arc::new(owner_of(r)));
    if let Ok(mut map) = owners().write() {
        if map.len() > 10_000 {
            map.clear();
        }
        map.insert(
            ns.to_string(),
            (Arc::downgrade(&state.inner), Instant::now(), owner.clone()),
        );
    }
    Ok(owner)
}

/// A strictly boolean annotation (OpenWhisk reads these with `getAs[Boolean]`).
fn annotation_is_true(action: &ResolvedAction, key: &str) -> bool {
    kv_get(&action.action.annotations, key) == Some(&Value::Bool(true))
}

/// `require-whisk-auth`: `true` needs an authenticated caller, a string or number needs an equal
/// `X-Require-Whisk-Auth` header, `false` or absent is public; any other value refuses.
fn authorized(action: &ResolvedAction, headers: &HeaderMap, authenticated: bool) -> bool {
    let header_is = |expected: &str| {
        headers
            .get(REQUIRE_WHISK_AUTH_HEADER)
            .is_some_and(|v| v.as_bytes() == expected.as_bytes())
    };
    match kv_get(&action.action.annotations, "require-whisk-auth") {
        None | Some(Value::Bool(false)) => true,
        Some(Value::Bool(true)) => authenticated,
        Some(Value::String(s)) => header_is(s),
        Some(Value::Number(n)) => header_is(&n.to_string()),
        Some(_) => false,
    }
}

fn transaction_id(headers: &HeaderMap) -> String {
    headers
        .get(&X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|s| !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_string)
        .unwrap_or_else(ids::new_transaction_id)
}

/// OpenWhisk's error body, pretty-printed as its web API prints it.
fn error_response(e: &ApiError, tid: &str) -> Response {
    let body =
        serde_json::to_string_pretty(&json!({"error": e.message, "code": tid})).unwrap_or_default();
    let mut r = (e.status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

fn with_activation_id(mut r: Response, id: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(id) {
        r.headers_mut().insert(ACTIVATION_ID_HEADER, v);
    }
    r
}

/// Default CORS headers: the requested headers are echoed, else the default list.
fn cors_headers(req: &HeaderMap) -> [(HeaderName, HeaderValue); 3] {
    let allow_headers = req
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .cloned()
        .unwrap_or(HeaderValue::from_static(CORS_DEFAULT_HEADERS));
    [
        (
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        ),
        (
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(CORS_METHODS),
        ),
        (header::ACCESS_CONTROL_ALLOW_HEADERS, allow_headers),
    ]
}

/// Whether an `Accept` header admits `content_type` (no header, or a range that matches with a
/// non-zero quality).
pub fn acceptable(accept: Option<&str>, content_type: &str) -> bool {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return true;
    };
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let (main, _) = essence.split_once('/').unwrap_or((essence.as_str(), ""));
    accept.split(',').any(|range| {
        let mut parts = range.split(';');
        let r = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let zero = parts.any(|p| {
            let p = p.trim();
            p.strip_prefix("q=")
                .and_then(|q| q.trim().parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        if zero {
            return false;
        }
        r == "*/*" || r == essence || r.strip_suffix("/*") == Some(main)
    })
}

/// The response, or 406 (OpenWhisk's JSON error body, as its rejection handler wraps
/// akka-http's message) when the request's `Accept` rules out the content type.
fn build(r: WebResponse, accept: Option<&str>) -> Result<Response, ApiError> {
    if let Some(ct) = &r.content_type {
        if !acceptable(accept, ct) {
            return Err(ApiError::new(
                StatusCode::NOT_ACCEPTABLE,
                format!("Resource representation is only available with these types:\n{ct}"),
            ));
        }
    }
    let no_body = matches!(r.status.as_u16(), 204 | 304);
    let mut resp = Response::new(if no_body {
        Body::empty()
    } else {
        Body::from(r.body)
    });
    *resp.status_mut() = r.status;
    let h = resp.headers_mut();
    for (k, v) in r.headers {
        h.append(k, v);
    }
    if let Some(ct) = r.content_type.filter(|_| !no_body) {
        if let Ok(v) = HeaderValue::from_str(&ct) {
            h.insert(header::CONTENT_TYPE, v);
        }
    }
    Ok(resp)
}

/// The part of a stored record a web response needs, borrowed from its JSON text.
#[derive(Deserialize)]
struct RecordHead<'a> {
    #[serde(borrow)]
    response: ResponseHead<'a>,
}

#[derive(Deserialize)]
struct ResponseHead<'a> {
    #[serde(rename = "statusCode", default)]
    status_code: Option<u64>,
    #[serde(borrow, default)]
    result: Option<&'a RawValue>,
}

/// The HTTP answer of a finished activation.
fn finished(
    record: &SharedJson,
    ext: Extension,
    accept: Option<&str>,
) -> Result<Response, ApiError> {
    let head: RecordHead<'_> = record.parse().map_err(|e| {
        tracing::error!(error = %e, "unreadable activation record");
        ApiError::internal()
    })?;
    let empty;
    let result = match head.response.result {
        Some(r) => Some(r),
        None => {
            empty = RawValue::from_string("{}".into()).map_err(|_| ApiError::internal())?;
            Some(&*empty)
        }
    };
    let value = response::projection(head.response.status_code, result)?;
    build(response::transcode(ext, value)?, accept)
}

/// GET/POST/... `/api/v1/web/...`.
pub async fn handle(State(state): State<AppState>, req: Request) -> Response {
    let tid = transaction_id(req.headers());
    let mut resp = serve(&state, &tid, req).await;
    if let Ok(v) = HeaderValue::from_str(&tid) {
        resp.headers_mut().insert(X_REQUEST_ID, v);
    }
    resp
}

fn precheck(parts: &Parts) -> Result<(), ApiError> {
    let allowed = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::HEAD,
        Method::OPTIONS,
    ];
    if !allowed.contains(&parts.method) {
        return Err(ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("{}{ALLOWED_METHODS}", messages::METHOD_NOT_ALLOWED),
        ));
    }
    let size: usize = parts
        .headers
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len())
        .sum();
    if size > MAX_REQUEST_HEADER_BYTES {
        return Err(ApiError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            messages::web_request_headers_too_large(size, MAX_REQUEST_HEADER_BYTES),
        ));
    }
    Ok(())
}

/// The caller, if the request carries valid credentials (invalid ones make it anonymous, as in
/// OpenWhisk, where the web routes are tried again without an identity).
async fn caller(state: &AppState, headers: &HeaderMap) -> Option<Identity> {
    let h = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    auth::authenticate(state, Some(h)).await.ok()
}

/// Identity lookup, action resolution and the export check: 404 for every miss.
async fn lookup(
    state: &AppState,
    path: &WebPath,
    caller: Option<&Identity>,
) -> Result<(Identity, ResolvedAction), ApiError> {
    let owner = identity_of_namespace(state, &path.namespace)
        .await?
        .ok_or_else(ApiError::not_found)?;
    // The caller's own identity carries its key (for `__OW_API_KEY`).
    let (identity, key_known) = match caller {
        Some(c) if c.namespace == owner.identity.namespace => (c.clone(), true),
        _ => (owner.identity.clone(), owner.key_known),
    };
    let mut action = find_action(
        state,
        &identity,
        &path.namespace,
        path.package.as_deref(),
        &path.action,
        false,
    )
    .await
    .map_err(|e| match ApiError::from(e) {
        e if e.status == StatusCode::FORBIDDEN => e,
        e if e.status.is_server_error() => e,
        _ => ApiError::not_found(),
    })?;
    if !annotation_is_true(&action, "web-export") {
        return Err(ApiError::not_found());
    }
    let provides_key = match kv_get(&action.action.annotations, "provide-api-key") {
        None => true,
        Some(_) => kv_truthy(&action.action.annotations, "provide-api-key"),
    };
    if provides_key && !key_known {
        let mut a = (*action.action).clone();
        kv_set(&mut a.annotations, "provide-api-key", Value::Bool(false));
        action.action = Arc::new(a);
    }
    Ok((identity, action))
}

async fn serve(state: &AppState, tid: &str, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let found = async {
        precheck(&parts)?;
        let path = parse_path(parts.uri.path())?;
        let caller = caller(state, &parts.headers).await;
        let (owner, action) = lookup(state, &path, caller.as_ref()).await?;
        // Entitlement and throttles are the owner's, after the export check.
        check_invoke_throttles(state, &owner)?;
        if let Some(len) = content_length(&parts.headers) {
            if len > MAX_PAYLOAD_BYTES {
                return Err(ApiError::too_large(messages::request_too_large(
                    len,
                    MAX_PAYLOAD_BYTES,
                )));
            }
        }
        Ok((path, caller, owner, action))
    }
    .await;
    let (path, caller, owner, action) = match found {
        Ok(f) => f,
        Err(e) => return error_response(&e, tid),
    };
    let custom_options = annotation_is_true(&action, "web-custom-options");
    if custom_options {
        return run(state, tid, &parts, body, &path, caller, owner, action).await;
    }
    let mut resp = if parts.method == Method::OPTIONS {
        StatusCode::OK.into_response()
    } else {
        run(state, tid, &parts, body, &path, caller, owner, action).await
    };
    let h = resp.headers_mut();
    for (k, v) in cors_headers(&parts.headers) {
        if !h.contains_key(&k) {
            h.insert(k, v);
        }
    }
    resp
}

/// Authorization, body, arguments, invocation and the answer.
#[allow(clippy::too_many_arguments)]
async fn run(
    state: &AppState,
    tid: &str,
    parts: &Parts,
    body: Body,
    path: &WebPath,
    caller: Option<Identity>,
    owner: Identity,
    action: ResolvedAction,
) -> Response {
    let custom_options = annotation_is_true(&action, "web-custom-options");
    // With custom options the action answers OPTIONS itself, even unauthenticated.
    let skip_auth = custom_options && parts.method == Method::OPTIONS;
    if !skip_auth && !authorized(&action, &parts.headers, caller.is_some()) {
        return error_response(
            &ApiError::new(StatusCode::UNAUTHORIZED, messages::WEB_UNAUTHORIZED),
            tid,
        );
    }
    let raw = annotation_is_true(&action, "raw-http");
    let prepared = async {
        let bytes = read_body(body, content_length(&parts.headers), MAX_PAYLOAD_BYTES).await?;
        let mt = context::request_media_type(&parts.headers);
        let body = context::body_value(mt.as_ref(), &bytes, raw)?;
        let raw_query = parts.uri.query().unwrap_or("");
        let query = context::query_pairs(raw_query);
        if !raw {
            let finals =
                kv_truthy(&action.action.annotations, "final").then_some(action.params.as_slice());
            context::check_overrides(&query, body.as_ref(), finals)?;
        }
        let ctx = Context {
            method: &parts.method,
            headers: &parts.headers,
            path: &path.extra,
            raw_query,
            query,
            body,
            user: caller.map(|c| c.namespace),
        };
        Ok::<_, ApiError>(Value::Object(context::arguments(ctx, raw)))
    }
    .await;
    let payload = match prepared {
        Ok(p) => p,
        Err(e) => return error_response(&e, tid),
    };
    let inv = Invocation {
        who: owner,
        action,
        payload,
        transaction_id: tid.to_string(),
        cause: None,
        step: Default::default(),
    };
    let (id, waited) = match invoke(state, inv, MAX_WAIT).await {
        Ok(r) => r,
        Err(e) => return error_response(&e, tid),
    };
    let accept = parts
        .headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok());
    let resp = match waited {
        Waited::Accepted => error_response(
            &ApiError::new(StatusCode::ACCEPTED, messages::WEB_RESPONSE_NOT_READY),
            tid,
        ),
        Waited::Done(record) => {
            finished(&record, path.extension, accept).unwrap_or_else(|e| error_response(&e, tid))
        }
    };
    with_activation_id(resp, &id)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        let p = parse_path("/api/v1/web/guest/default/hello.json").unwrap();
        assert_eq!(
            p,
            WebPath {
                namespace: "guest".into(),
                package: None,
                action: "hello".into(),
                extension: Extension::Json,
                extra: String::new(),
            }
        );
        let p = parse_path("/api/v1/web/guest/pkg/a.b/x/y%20z").unwrap();
        assert_eq!(p.package.as_deref(), Some("pkg"));
        assert_eq!(p.action, "a.b");
        assert_eq!(p.extension, Extension::Http);
        assert_eq!(p.extra, "/x/y%20z");
        let p = parse_path("/api/v1/web/guest/default/a.text/").unwrap();
        assert_eq!(p.extra, "/");
        let p = parse_path("/api/v1/web/guest/default/my%20action.html").unwrap();
        assert_eq!(p.action, "my action");
        for bad in [
            "/api/v1/web/guest",
            "/api/v1/web/guest/default",
            "/api/v1/web/guest/default/",
            "/api/v1/web/guest/default/.json",
            "/api/v1/web/guest/default/a%2Fb",
            "/api/v1/web/gu%ZZest/default/a",
            "/api/v1/web/_bad!/default/a",
            "/api/v1/web/guest/p!/a",
            "/api/v1/web/guest/default/%FF",
        ] {
            assert_eq!(
                parse_path(bad).unwrap_err().status,
                StatusCode::NOT_FOUND,
                "{bad}"
            );
        }
        for bad in [
            "/api/v1/web/guest/default/a.json/../x",
            "/api/v1/web/guest/default/a/./x",
            "/api/v1/web/guest/default/a/x/%2e%2E",
        ] {
            let e = parse_path(bad).unwrap_err();
            assert_eq!(e.status, StatusCode::BAD_REQUEST, "{bad}");
            assert_eq!(e.message, messages::WEB_PATH_DOT_SEGMENT);
        }
    }

    #[test]
    fn accept_negotiation() {
        assert!(acceptable(None, "text/html; charset=UTF-8"));
        assert!(acceptable(Some("*/*"), "text/html"));
        assert!(acceptable(Some("text/*"), "text/html"));
        assert!(acceptable(
            Some("application/json, text/html;q=0.5"),
            "text/html; charset=UTF-8"
        ));
        assert!(!acceptable(
            Some("application/json"),
            "text/html; charset=UTF-8"
        ));
        assert!(!acceptable(Some("text/html;q=0"), "text/html"));
        assert!(acceptable(Some(""), "text/html"));
    }

    #[test]
    fn whisk_auth_annotations() {
        use whirl_core::entity::KeyValue;
        let with = |v: Value| {
            let mut a: whirl_core::entity::WhiskAction = serde_json::from_value(json!({
                "namespace": "ns", "name": "a", "version": "0.0.1", "publish": false,
                "exec": {"kind": "nodejs:20", "binary": false},
                "annotations": [], "parameters": [],
                "limits": {"timeout": 1000, "memory": 256, "logs": 10, "concurrency": 1},
                "updated": 0
            }))
            .unwrap();
            if !v.is_null() {
                a.annotations.push(KeyValue::new("require-whisk-auth", v));
            }
            ResolvedAction {
                action: Arc::new(a),
                rev: 1,
                code: None,
                fqn: whirl_core::names::FullyQualifiedName::new("ns", None, "a"),
                binding: None,
                params: vec![],
            }
        };
        let none = HeaderMap::new();
        let mut secret = HeaderMap::new();
        secret.insert(
            REQUIRE_WHISK_AUTH_HEADER,
            HeaderValue::from_static("s3cret"),
        );
        let mut number = HeaderMap::new();
        number.insert(REQUIRE_WHISK_AUTH_HEADER, HeaderValue::from_static("1234"));
        assert!(authorized(&with(Value::Null), &none, false));
        assert!(authorized(&with(json!(false)), &none, false));
        assert!(!authorized(&with(json!(true)), &none, false));
        assert!(authorized(&with(json!(true)), &none, true));
        assert!(authorized(&with(json!("s3cret")), &secret, false));
        assert!(!authorized(&with(json!("S3cret")), &secret, false));
        assert!(!authorized(&with(json!("s3cret")), &none, true));
        assert!(authorized(&with(json!(1234)), &number, false));
        assert!(!authorized(&with(json!({"a": 1})), &secret, true));
    }
}
