//! The arguments of a web action (spec §2.4): the request body decoded by content type, the
//! query, and the `__ow_*` context fields; the check against reserved and final parameters.

use axum::http::{header, HeaderMap, Method};
use base64::Engine;
use percent_encoding::percent_decode_str;
use serde_json::{Map, Value};
use whirl_core::entity::KeyValue;
use whirl_core::messages;

use super::response::{is_binary, is_json_family, parse_media_type, MediaType};
use crate::error::ApiError;

pub const OW_METHOD: &str = "__ow_method";
pub const OW_HEADERS: &str = "__ow_headers";
pub const OW_PATH: &str = "__ow_path";
pub const OW_USER: &str = "__ow_user";
pub const OW_QUERY: &str = "__ow_query";
pub const OW_BODY: &str = "__ow_body";

/// The context fields a request may not set.
pub const RESERVED: &[&str] = &[OW_METHOD, OW_HEADERS, OW_PATH, OW_USER, OW_QUERY, OW_BODY];

/// Parse a query string into pairs (`+` is a space, percent-decoding is lenient).
pub fn query_pairs(q: &str) -> Vec<(String, String)> {
    let dec = |s: &str| {
        percent_decode_str(&s.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned()
    };
    q.split('&')
        .filter(|s| !s.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (dec(k), dec(v))
        })
        .collect()
}

/// The request's media type: its `Content-Type` if it parses, else (a body without a usable
/// type) `application/octet-stream`, as pekko-http reads it. `None` without the header.
pub fn request_media_type(headers: &HeaderMap) -> Option<MediaType> {
    let v = headers.get(header::CONTENT_TYPE)?;
    Some(
        v.to_str()
            .ok()
            .and_then(parse_media_type)
            .unwrap_or(MediaType {
                essence: "application/octet-stream".into(),
                has_charset: false,
            }),
    )
}

/// The body as an action argument. Non-raw: JSON types parse (an object is merged into the
/// parameters, another value goes to `__ow_body`; malformed → 400), form data becomes an object
/// of strings; otherwise binary types (and, raw, `application/json`) are base64 and the rest
/// text. `None`: there is no body.
pub fn body_value(
    mt: Option<&MediaType>,
    bytes: &[u8],
    raw: bool,
) -> Result<Option<Value>, ApiError> {
    let Some(mt) = mt else {
        if bytes.is_empty() {
            return Ok(None);
        }
        return Ok(Some(Value::String(base64(bytes))));
    };
    let json = is_json_family(&mt.essence);
    if json && !raw {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        return serde_json::from_slice(bytes)
            .map(Some)
            .map_err(|e| ApiError::bad_request(messages::malformed(&e.to_string())));
    }
    if mt.essence == "application/x-www-form-urlencoded" && !raw {
        let text = String::from_utf8_lossy(bytes);
        let mut form = Map::new();
        for (k, v) in query_pairs(&text) {
            form.insert(k, Value::String(v));
        }
        return Ok(Some(Value::Object(form)));
    }
    if is_binary(mt) || mt.essence == "application/json" {
        return Ok(Some(Value::String(base64(bytes))));
    }
    Ok(Some(Value::String(
        String::from_utf8_lossy(bytes).into_owned(),
    )))
}

fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// `__ow_headers`: every request header by lowercase name (the last of repeated ones), without
/// the framing headers.
pub fn headers_object(headers: &HeaderMap) -> Map<String, Value> {
    let mut out = Map::new();
    for (k, v) in headers {
        if k == header::CONTENT_LENGTH || k == header::TRANSFER_ENCODING {
            continue;
        }
        out.insert(
            k.as_str().to_string(),
            Value::String(String::from_utf8_lossy(v.as_bytes()).into_owned()),
        );
    }
    out
}

/// 400 if the query or a body object sets a reserved `__ow_*` name or, when the action is
/// `final`, one of its defined parameters (raw actions are not checked).
pub fn check_overrides(
    query: &[(String, String)],
    body: Option<&Value>,
    final_params: Option<&[KeyValue]>,
) -> Result<(), ApiError> {
    let locked = |k: &str| {
        RESERVED.contains(&k)
            || final_params.is_some_and(|ps| ps.iter().any(|p| p.key == k && !p.value.is_null()))
    };
    let in_body = match body {
        Some(Value::Object(o)) => o.keys().any(|k| locked(k)),
        _ => false,
    };
    if in_body || query.iter().any(|(k, _)| locked(k)) {
        return Err(ApiError::bad_request(messages::PARAMETERS_NOT_ALLOWED));
    }
    Ok(())
}

/// What the request contributes to the arguments.
#[derive(Debug)]
pub struct Context<'a> {
    pub method: &'a Method,
    pub headers: &'a HeaderMap,
    /// The path after the action segment (`/foo/bar`, or `""`).
    pub path: &'a str,
    /// The raw query string (`""` without one).
    pub raw_query: &'a str,
    pub query: Vec<(String, String)>,
    pub body: Option<Value>,
    /// The authenticated caller's namespace.
    pub user: Option<String>,
}

/// The action's payload: context fields, then query parameters (raw: `__ow_query`), then the
/// body (an object's fields, else `__ow_body`; raw: `__ow_body` always).
pub fn arguments(ctx: Context<'_>, raw: bool) -> Map<String, Value> {
    let mut args = Map::new();
    args.insert(
        OW_METHOD.into(),
        Value::String(ctx.method.as_str().to_ascii_lowercase()),
    );
    args.insert(
        OW_HEADERS.into(),
        Value::Object(headers_object(ctx.headers)),
    );
    args.insert(OW_PATH.into(), Value::String(ctx.path.to_string()));
    if let Some(u) = ctx.user {
        args.insert(OW_USER.into(), Value::String(u));
    }
    if raw {
        args.insert(OW_QUERY.into(), Value::String(ctx.raw_query.to_string()));
    } else {
        for (k, v) in ctx.query {
            args.insert(k, Value::String(v));
        }
    }
    match ctx.body {
        Some(Value::Object(fields)) if !raw => args.extend(fields),
        Some(v) => {
            args.insert(OW_BODY.into(), v);
        }
        None if raw => {
            args.insert(OW_BODY.into(), Value::String(String::new()));
        }
        None => {}
    }
    args
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use serde_json::json;

    fn mt(s: &str) -> MediaType {
        parse_media_type(s).unwrap()
    }

    #[test]
    fn bodies_by_content_type() {
        let j = mt("application/json");
        assert_eq!(body_value(Some(&j), b"", false).unwrap(), None);
        assert_eq!(
            body_value(Some(&j), br#"{"a":1}"#, false).unwrap(),
            Some(json!({"a":1}))
        );
        assert_eq!(
            body_value(Some(&j), b"[1,2]", false).unwrap(),
            Some(json!([1, 2]))
        );
        assert_eq!(
            body_value(
                Some(&mt("application/cloudevents+json")),
                br#"{"a":1}"#,
                false
            )
            .unwrap(),
            Some(json!({"a":1}))
        );
        let e = body_value(Some(&j), b"{nope", false).unwrap_err();
        assert_eq!(e.status.as_u16(), 400);
        assert!(e.message.starts_with(messages::MALFORMED_CONTENT_PREFIX));
        // Raw: JSON is base64.
        assert_eq!(
            body_value(Some(&j), br#"{"a":1}"#, true).unwrap(),
            Some(json!("eyJhIjoxfQ=="))
        );
        let f = mt("application/x-www-form-urlencoded");
        assert_eq!(
            body_value(Some(&f), b"a=1&b=x+y%21", false).unwrap(),
            Some(json!({"a":"1","b":"x y!"}))
        );
        assert_eq!(
            body_value(Some(&f), b"a=1", true).unwrap(),
            Some(json!("a=1"))
        );
        assert_eq!(
            body_value(Some(&mt("text/plain")), b"1,2,3", false).unwrap(),
            Some(json!("1,2,3"))
        );
        assert_eq!(
            body_value(Some(&mt("image/png")), &[0, 1, 2], false).unwrap(),
            Some(json!("AAEC"))
        );
        assert_eq!(body_value(None, b"", false).unwrap(), None);
        assert_eq!(
            body_value(None, &[0, 1, 2], false).unwrap(),
            Some(json!("AAEC"))
        );
    }

    #[test]
    fn unparseable_content_types_are_binary() {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("???"));
        let m = request_media_type(&h).unwrap();
        assert_eq!(m.essence, "application/octet-stream");
        assert!(request_media_type(&HeaderMap::new()).is_none());
    }

    #[test]
    fn reserved_and_final_parameters() {
        let q = |k: &str| vec![(k.to_string(), "v".to_string())];
        for r in RESERVED {
            assert!(check_overrides(&q(r), None, None).is_err());
            assert!(check_overrides(&[], Some(&json!({ *r: 1 })), None).is_err());
        }
        let params = vec![
            KeyValue::new("x", json!("X")),
            KeyValue::new("empty", Value::Null),
        ];
        assert!(check_overrides(&q("x"), None, Some(&params)).is_err());
        assert!(check_overrides(&[], Some(&json!({"x": 1})), Some(&params)).is_err());
        assert!(check_overrides(&q("empty"), None, Some(&params)).is_ok());
        assert!(check_overrides(&q("x"), None, None).is_ok());
        // A non-object body sets no names.
        assert!(check_overrides(&[], Some(&json!(["__ow_body"])), None).is_ok());
    }

    #[test]
    fn arguments_merge_in_order() {
        let mut headers = HeaderMap::new();
        headers.insert("X-Custom", HeaderValue::from_static("v"));
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("7"));
        let m = Method::POST;
        let ctx = Context {
            method: &m,
            headers: &headers,
            path: "/a/b",
            raw_query: "a=1&b=2",
            query: query_pairs("a=1&b=2"),
            body: Some(json!({"b": 3})),
            user: Some("guest".into()),
        };
        let a = Value::Object(arguments(ctx, false));
        assert_eq!(
            a,
            json!({"__ow_method":"post","__ow_headers":{"x-custom":"v"},"__ow_path":"/a/b",
                   "__ow_user":"guest","a":"1","b":3})
        );
        let ctx = Context {
            method: &m,
            headers: &headers,
            path: "",
            raw_query: "a=1&b=2",
            query: query_pairs("a=1&b=2"),
            body: None,
            user: None,
        };
        let a = Value::Object(arguments(ctx, true));
        assert_eq!(
            a,
            json!({"__ow_method":"post","__ow_headers":{"x-custom":"v"},"__ow_path":"",
                   "__ow_query":"a=1&b=2","__ow_body":""})
        );
        let ctx = Context {
            method: &m,
            headers: &headers,
            path: "",
            raw_query: "",
            query: vec![],
            body: Some(json!([1])),
            user: None,
        };
        assert_eq!(arguments(ctx, false)["__ow_body"], json!([1]));
    }

    #[test]
    fn query_pairs_decode() {
        assert_eq!(
            query_pairs("a=b&c=d%20e&f&g=h+i"),
            vec![
                ("a".into(), "b".into()),
                ("c".into(), "d e".into()),
                ("f".into(), "".into()),
                ("g".into(), "h i".into())
            ]
        );
    }
}
