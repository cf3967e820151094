//! Request parsing: JSON bodies with OpenWhisk's error texts and size limits, raw path segments
//! (so `%2F` inside a name is rejected rather than split) as typed path extractors, namespaces,
//! activation ids, and list parameters.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use percent_encoding::percent_decode_str;
use serde::de::DeserializeOwned;
use whirl_core::limits::MAX_BODY_BYTES;
use whirl_core::messages;
use whirl_core::names::{self, DEFAULT_NAMESPACE};

use crate::auth::Identity;
use crate::error::ApiError;

/// Read a body of at most `max` bytes without buffering past the limit. The 413 message uses the
/// declared length when there is one.
pub async fn read_body(body: Body, declared: Option<u64>, max: u64) -> Result<Bytes, ApiError> {
    if let Some(len) = declared {
        if len > max {
            return Err(ApiError::too_large(messages::request_too_large(len, max)));
        }
    }
    let limit = usize::try_from(max).unwrap_or(usize::MAX);
    match Limited::new(body, limit).collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(ApiError::too_large(
            messages::request_too_large(max.saturating_add(1), max),
        )),
        Err(_) => Err(ApiError::bad_request(messages::malformed(
            "the request body could not be read",
        ))),
    }
}

/// The `Content-Length` of a request, if declared.
pub fn content_length(headers: &axum::http::HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

fn check_content_type(headers: &axum::http::HeaderMap) -> Result<(), ApiError> {
    let Some(ct) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let ct = ct.to_str().unwrap_or("").to_ascii_lowercase();
    let mime = ct.split(';').next().unwrap_or("").trim();
    if mime.is_empty() || mime == "application/json" || mime.ends_with("+json") {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            messages::unsupported_media_type_expected("application/json"),
        ))
    }
}

/// Parse JSON with OpenWhisk's "malformed" message; an empty body is `{}`.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        bytes
    };
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request(messages::malformed(&e.to_string())))
}

/// A JSON request body of up to [`MAX_BODY_BYTES`] (entity PUTs; code uploads).
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        check_content_type(req.headers())?;
        let declared = content_length(req.headers());
        let bytes = read_body(req.into_body(), declared, MAX_BODY_BYTES as u64).await?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// The percent-decoded segments of the request path after `/api/v1/namespaces/`. Decoding
/// each raw segment (rather than the whole path) keeps a `%2F` inside a name in that name, where
/// name validation rejects it.
fn segments(parts: &Parts) -> Result<Vec<String>, ApiError> {
    let path = parts.uri.path();
    let rest = path
        .find("/namespaces/")
        .map(|i| &path[i + "/namespaces/".len()..])
        .unwrap_or("");
    rest.split('/')
        .map(|raw| {
            percent_decode_str(raw)
                .decode_utf8()
                .map(|d| d.into_owned())
                .map_err(|_| ApiError::bad_request(messages::ENTITY_ILLEGAL_CHARS))
        })
        .collect()
}

/// The namespace segment of a path: `_` (the caller's namespace) or a valid namespace name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace(String);

impl Namespace {
    /// Validate a namespace segment (`_` is always valid).
    pub fn parse(seg: &str) -> Result<Self, ApiError> {
        if seg != DEFAULT_NAMESPACE {
            names::validate_namespace(seg).map_err(|e| ApiError::bad_request(e.to_string()))?;
        }
        Ok(Self(seg.to_string()))
    }

    /// The namespace meant: the caller's for `_`.
    pub fn resolve(&self, who: &Identity) -> String {
        if self.0 == DEFAULT_NAMESPACE {
            who.namespace.clone()
        } else {
            self.0.clone()
        }
    }
}

fn namespace_segment(segs: &[String]) -> Result<Namespace, ApiError> {
    Namespace::parse(segs.first().map_or("", String::as_str))
}

/// `/namespaces/{ns}/...` where only the namespace matters (collection lists, limits).
#[derive(Debug, Clone)]
pub struct NamespacePath {
    pub namespace: Namespace,
}

impl<S: Send + Sync> FromRequestParts<S> for NamespacePath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let segs = segments(parts)?;
        Ok(Self {
            namespace: namespace_segment(&segs)?,
        })
    }
}

/// `/namespaces/{ns}/{collection}/{name}`: a package, trigger or rule.
#[derive(Debug, Clone)]
pub struct EntityPath {
    pub namespace: Namespace,
    pub name: String,
}

impl<S: Send + Sync> FromRequestParts<S> for EntityPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let segs = segments(parts)?;
        let namespace = namespace_segment(&segs)?;
        let name = entity_name(segs.get(2).map_or("", String::as_str))?;
        Ok(Self { namespace, name })
    }
}

/// What `/namespaces/{ns}/actions[/...]` addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionTarget {
    /// `…/actions` or `…/actions/`: the namespace's actions.
    Collection,
    /// `…/actions/{pkg}/`: the actions of a package.
    Package(String),
    /// `…/actions/[{pkg}/]{name}`.
    Action {
        package: Option<String>,
        name: String,
    },
}

/// `/namespaces/{ns}/actions[/[{pkg}/]{name}]`; any other shape is 404.
#[derive(Debug, Clone)]
pub struct ActionPath {
    pub namespace: Namespace,
    pub target: ActionTarget,
}

impl ActionPath {
    /// The addressed action as `(package, name)`; 404 for a collection or package path.
    pub fn action(&self) -> Result<(Option<String>, String), ApiError> {
        match &self.target {
            ActionTarget::Action { package, name } => Ok((package.clone(), name.clone())),
            _ => Err(ApiError::not_found()),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ActionPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let segs = segments(parts)?;
        let namespace = namespace_segment(&segs)?;
        let target = match segs.get(2..).unwrap_or_default() {
            [] => ActionTarget::Collection,
            [s] if s.is_empty() => ActionTarget::Collection,
            [name] => ActionTarget::Action {
                package: None,
                name: entity_name(name)?,
            },
            [pkg, s] if s.is_empty() => ActionTarget::Package(entity_name(pkg)?),
            [pkg, name] => ActionTarget::Action {
                package: Some(entity_name(pkg)?),
                name: entity_name(name)?,
            },
            _ => return Err(ApiError::not_found()),
        };
        Ok(Self { namespace, target })
    }
}

/// `/namespaces/{ns}/activations/{id}[/{tail}]` with a valid activation id: 32 lowercase hex
/// characters, else 400 with OpenWhisk's message (`ActivationId.parse`).
#[derive(Debug, Clone)]
pub struct ActivationPath {
    pub namespace: Namespace,
    pub id: String,
    /// `logs` or `result` (the router only routes those).
    pub tail: Option<String>,
}

/// OpenWhisk's activation id check: the length first, then lowercase hexadecimal digits.
pub fn activation_id(id: &str) -> Result<(), ApiError> {
    let len = id.encode_utf16().count();
    if len != 32 {
        return Err(ApiError::bad_request(messages::activation_id_length(len)));
    }
    if id
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        Ok(())
    } else {
        Err(ApiError::bad_request(messages::INVALID_ACTIVATION_ID))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ActivationPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let segs = segments(parts)?;
        let namespace = namespace_segment(&segs)?;
        let id = segs.get(2).cloned().unwrap_or_default();
        activation_id(&id)?;
        Ok(Self {
            namespace,
            id,
            tail: segs.get(3).cloned(),
        })
    }
}

/// Validate an entity name segment.
pub fn entity_name(seg: &str) -> Result<String, ApiError> {
    names::validate_name(seg).map_err(|e| ApiError::bad_request(e.to_string()))?;
    Ok(seg.to_string())
}

/// `limit`, `skip`, `count` of list requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListParams {
    pub skip: u64,
    pub limit: u64,
    pub count: bool,
}

pub const MAX_LIST_LIMIT: u64 = 200;
pub const DEFAULT_LIST_LIMIT: u64 = 30;

/// Parse list parameters from the query; `collection` names the collection in messages. The
/// values are Java `Int`s in OpenWhisk (`RestApiCommons.stringToListLimit`/`ListSkip`): anything
/// else is "not an integer"; out-of-range values are shown as parsed.
pub fn list_params(query: &[(String, String)], collection: &str) -> Result<ListParams, ApiError> {
    let mut p = ListParams {
        skip: 0,
        limit: DEFAULT_LIST_LIMIT,
        count: false,
    };
    let int = |v: &str| {
        v.parse::<i32>()
            .map(i64::from)
            .map_err(|_| ApiError::bad_request(messages::argument_not_integer(collection, v)))
    };
    for (k, v) in query {
        match k.as_str() {
            "limit" => {
                let n = int(v)?;
                if !(0..=MAX_LIST_LIMIT as i64).contains(&n) {
                    return Err(ApiError::bad_request(messages::list_limit_out_of_range(
                        &n.to_string(),
                        collection,
                        MAX_LIST_LIMIT,
                    )));
                }
                p.limit = if n == 0 { MAX_LIST_LIMIT } else { n as u64 };
            }
            "skip" => {
                let n = int(v)?;
                if n < 0 {
                    return Err(ApiError::bad_request(messages::list_skip_out_of_range(
                        collection, n,
                    )));
                }
                p.skip = n as u64;
            }
            "count" => p.count = parse_bool(v),
            _ => {}
        }
    }
    Ok(p)
}

/// Query booleans as OpenWhisk reads them.
pub fn parse_bool(v: &str) -> bool {
    v.eq_ignore_ascii_case("true") || v == "1" || v.eq_ignore_ascii_case("yes")
}

/// The query string as pairs.
#[derive(Debug, Default)]
pub struct Query(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for Query {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or("");
        let pairs = q
            .split('&')
            .filter(|s| !s.is_empty())
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                let dec = |s: &str| {
                    percent_decode_str(&s.replace('+', " "))
                        .decode_utf8_lossy()
                        .into_owned()
                };
                (dec(k), dec(v))
            })
            .collect();
        Ok(Query(pairs))
    }
}

impl Query {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn flag(&self, key: &str) -> bool {
        self.get(key).is_some_and(parse_bool)
    }
}
