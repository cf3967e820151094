//! What a web action's activation turns into (spec §2.4, OpenWhisk `WhiskWebActionsApi`): the
//! projection of the result by activation status, the `.json`/`.html`/`.svg`/`.text` media
//! transcoders and the `.http` rules (status code, headers, base64 bodies, content types).
//!
//! Everything here is pure: the result is read from the stored record's JSON text as borrowed raw
//! values, and only the parts a projection needs are decoded.

use axum::http::{HeaderName, HeaderValue, StatusCode};
use base64::Engine;
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use serde_json::Value;
use whirl_core::entity::is_binary_code;
use whirl_core::messages;

use crate::error::ApiError;

/// Most bytes of headers a `.http` result may set (names plus values).
pub const MAX_RESPONSE_HEADER_BYTES: usize = 16 * 1024;

/// The media extension of a web action URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extension {
    Http,
    Json,
    Html,
    Svg,
    Text,
}

const EXTENSIONS: &[(&str, Extension)] = &[
    (".http", Extension::Http),
    (".json", Extension::Json),
    (".html", Extension::Html),
    (".svg", Extension::Svg),
    (".text", Extension::Text),
];

/// Split the last action segment into the action name and its extension; a segment without a
/// known extension is all name and means `.http` (action names may contain dots).
pub fn split_extension(segment: &str) -> (&str, Extension) {
    for (ext, e) in EXTENSIONS {
        if let Some(base) = segment.strip_suffix(ext) {
            return (base, *e);
        }
    }
    (segment, Extension::Http)
}

/// A response computed from an activation, before CORS and the activation id header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebResponse {
    pub status: StatusCode,
    /// Headers set by a `.http` result (in order, repeated names allowed).
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// `None`: an empty entity without a content type.
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

impl WebResponse {
    fn ok(content_type: &str, body: Vec<u8>) -> Self {
        Self {
            status: StatusCode::OK,
            headers: Vec::new(),
            content_type: Some(content_type.to_string()),
            body,
        }
    }
}

const JSON: &str = "application/json";
const HTML: &str = "text/html; charset=UTF-8";
const SVG: &str = "image/svg+xml";
const TEXT: &str = "text/plain; charset=UTF-8";

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::bad_request(message)
}

fn invalid_http() -> ApiError {
    bad(messages::web_invalid_media("message/http"))
}

/// The value to project for an activation: the result on success, its `error` field on an
/// application error; 400 for developer and whisk errors.
pub fn projection(
    status_code: Option<u64>,
    result: Option<&RawValue>,
) -> Result<&RawValue, ApiError> {
    match status_code {
        Some(0) => result
            .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, messages::WEB_PROPERTY_NOT_FOUND)),
        Some(1) => {
            #[derive(Deserialize)]
            struct ErrorField<'a> {
                #[serde(borrow, default, deserialize_with = "present")]
                error: Option<&'a RawValue>,
            }
            result
                .filter(|r| starts_with(r, b'{'))
                .and_then(|r| serde_json::from_str::<ErrorField<'_>>(r.get()).ok())
                .and_then(|f| f.error)
                .ok_or_else(|| {
                    ApiError::new(StatusCode::NOT_FOUND, messages::WEB_PROPERTY_NOT_FOUND)
                })
        }
        _ => Err(bad(messages::WEB_ERROR_PROCESSING_REQUEST)),
    }
}

/// Transcode a projected value for the extension.
pub fn transcode(ext: Extension, value: &RawValue) -> Result<WebResponse, ApiError> {
    match ext {
        Extension::Json => as_json(value),
        Extension::Html => as_markup(value, Field::Html, HTML, "text/html"),
        Extension::Svg => as_markup(value, Field::Svg, SVG, "image/svg+xml"),
        Extension::Text => as_text(value),
        Extension::Http => as_http(value),
    }
}

/// Keep an explicit `null` as a value (plain `Option` would read it as absent).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(d).map(Some)
}

/// The fields of an object result the transcoders look at, borrowed from its text.
#[derive(Deserialize, Default)]
struct Fields<'a> {
    #[serde(borrow, default, deserialize_with = "present")]
    body: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    html: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    svg: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    text: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    headers: Option<&'a RawValue>,
    #[serde(rename = "statusCode", borrow, default, deserialize_with = "present")]
    status_code: Option<&'a RawValue>,
}

#[derive(Clone, Copy)]
enum Field {
    Html,
    Svg,
}

fn first_byte(v: &RawValue) -> u8 {
    v.get()
        .bytes()
        .find(|b| !b.is_ascii_whitespace())
        .unwrap_or(b'n')
}

fn starts_with(v: &RawValue, b: u8) -> bool {
    first_byte(v) == b
}

fn fields(v: &RawValue) -> Option<Fields<'_>> {
    if !starts_with(v, b'{') {
        return None;
    }
    serde_json::from_str(v.get()).ok()
}

fn pretty(v: &RawValue) -> Result<Vec<u8>, ApiError> {
    let parsed: Value = serde_json::from_str(v.get()).map_err(|_| ApiError::internal())?;
    serde_json::to_vec_pretty(&parsed).map_err(|_| ApiError::internal())
}

fn string_of(v: &RawValue) -> Option<String> {
    if !starts_with(v, b'"') {
        return None;
    }
    serde_json::from_str(v.get()).ok()
}

fn as_json(v: &RawValue) -> Result<WebResponse, ApiError> {
    match first_byte(v) {
        b'{' | b'[' => Ok(WebResponse::ok(JSON, pretty(v)?)),
        _ => Err(bad(messages::web_invalid_media("application/json"))),
    }
}

/// `.html` and `.svg`: the `body` field, else the extension's field, else (not an object) the
/// value itself; it must be a string.
fn as_markup(
    v: &RawValue,
    field: Field,
    content_type: &str,
    media: &str,
) -> Result<WebResponse, ApiError> {
    let chosen = if starts_with(v, b'{') {
        let f = fields(v).ok_or_else(|| bad(messages::web_invalid_media(media)))?;
        let named = match field {
            Field::Html => f.html,
            Field::Svg => f.svg,
        };
        f.body.or(named)
    } else {
        Some(v)
    };
    chosen
        .and_then(string_of)
        .map(|s| WebResponse::ok(content_type, s.into_bytes()))
        .ok_or_else(|| bad(messages::web_invalid_media(media)))
}

/// `.text`: the `body` field, else `text`, else (not an object) the value; objects and arrays
/// pretty-printed, scalars as their text; 404 when the object has neither field.
fn as_text(v: &RawValue) -> Result<WebResponse, ApiError> {
    let chosen = if starts_with(v, b'{') {
        let f = fields(v).ok_or_else(|| bad(messages::web_invalid_media("text/plain")))?;
        f.body.or(f.text)
    } else {
        Some(v)
    };
    let Some(c) = chosen else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            messages::WEB_PROPERTY_NOT_FOUND,
        ));
    };
    let body = match first_byte(c) {
        b'{' | b'[' => pretty(c)?,
        b'"' => string_of(c).ok_or_else(ApiError::internal)?.into_bytes(),
        _ => c.get().trim().as_bytes().to_vec(),
    };
    Ok(WebResponse::ok(TEXT, body))
}

/// A parsed media type: lowercase `type/subtype` and whether a charset parameter was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaType {
    pub essence: String,
    pub has_charset: bool,
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Parse a `Content-Type` value (`type/subtype[; k=v]*`); `None` if it is not one.
pub fn parse_media_type(s: &str) -> Option<MediaType> {
    let mut parts = s.split(';');
    let essence = parts.next()?.trim();
    let (main, sub) = essence.split_once('/')?;
    if !is_token(main) || !is_token(sub) {
        return None;
    }
    let mut has_charset = false;
    for p in parts {
        let p = p.trim();
        if p.is_empty() {
            continue;
        }
        let (k, v) = p.split_once('=')?;
        if !is_token(k.trim()) || v.trim().is_empty() {
            return None;
        }
        has_charset |= k.trim().eq_ignore_ascii_case("charset");
    }
    Some(MediaType {
        essence: essence.to_ascii_lowercase(),
        has_charset,
    })
}

/// `application/json` or any `*/*+json` type.
pub fn is_json_family(essence: &str) -> bool {
    essence == JSON || essence.ends_with("+json")
}

/// Non-binary `application/*` types of pekko-http's registry (everything else registered under
/// `application/` is binary).
const TEXTUAL_APPLICATION: &[&str] = &[
    "application/javascript",
    "application/xml",
    "application/xml-dtd",
    "application/xhtml+xml",
    "application/atom+xml",
    "application/rss+xml",
    "application/soap+xml",
    "application/x-www-form-urlencoded",
    "application/base64",
    "application/x-latex",
    "application/x-vrml",
    "application/vnd.google-earth.kml+xml",
];

const BINARY_APPLICATION: &[&str] = &[
    "application/octet-stream",
    "application/pdf",
    "application/zip",
    "application/gzip",
    "application/x-gzip",
    "application/x-tar",
    "application/x-gtar",
    "application/x-7z-compressed",
    "application/x-rar-compressed",
    "application/java-archive",
    "application/msword",
    "application/excel",
    "application/mspowerpoint",
    "application/postscript",
    "application/grpc+proto",
    "application/wasm",
];

/// Whether content of this type is binary (carried base64-encoded in JSON), following
/// pekko-http: text, message and JSON types are not; images, audio, video, fonts, multipart
/// and the binary `application/*` types are; an unregistered type is textual only if it names
/// a charset.
pub fn is_binary(mt: &MediaType) -> bool {
    let e = mt.essence.as_str();
    let main = e.split('/').next().unwrap_or("");
    if is_json_family(e) || TEXTUAL_APPLICATION.contains(&e) {
        return false;
    }
    match main {
        "text" | "message" => false,
        "image" | "audio" | "video" | "font" | "multipart" => true,
        _ if BINARY_APPLICATION.contains(&e) => true,
        _ => !mt.has_charset,
    }
}

/// The `Content-Type` sent for a textual body of the given type: as declared, with
/// `charset=UTF-8` added to open-charset types that name none.
fn textual_content_type(declared: &str, mt: &MediaType) -> String {
    if mt.has_charset || is_json_family(&mt.essence) {
        declared.trim().to_string()
    } else {
        format!("{}; charset=UTF-8", declared.trim())
    }
}

/// Headers from the `headers` object of a `.http` result: strings, numbers and booleans, or
/// arrays of them (one header each); anything else makes the result invalid.
fn headers_of(v: &RawValue) -> Result<Vec<(String, String)>, ApiError> {
    let obj: serde_json::Map<String, Value> = if starts_with(v, b'{') {
        serde_json::from_str(v.get()).map_err(|_| invalid_http())?
    } else {
        return Err(invalid_http());
    };
    let mut out = Vec::new();
    fn push(out: &mut Vec<(String, String)>, k: &str, v: &Value) -> Result<(), ApiError> {
        match v {
            Value::String(s) => out.push((k.to_string(), s.clone())),
            Value::Bool(b) => out.push((k.to_string(), b.to_string())),
            Value::Number(n) => out.push((k.to_string(), n.to_string())),
            Value::Array(a) => {
                for e in a {
                    push(out, k, e)?;
                }
            }
            _ => return Err(invalid_http()),
        }
        Ok(())
    }
    for (k, v) in &obj {
        push(&mut out, k, v)?;
    }
    Ok(out)
}

/// `statusCode`: an integral number or a string holding an integer, of a code HTTP can carry
/// as a final status (200..=999).
fn status_of(v: &RawValue) -> Result<StatusCode, ApiError> {
    let code: i64 = match first_byte(v) {
        b'"' => string_of(v)
            .and_then(|s| s.parse::<i64>().ok())
            .ok_or_else(invalid_http)?,
        _ => {
            let n: serde_json::Number =
                serde_json::from_str(v.get()).map_err(|_| invalid_http())?;
            match n.as_i64() {
                Some(i) => i,
                None => {
                    let f = n.as_f64().ok_or_else(invalid_http)?;
                    if f.fract() != 0.0 || f.abs() > 1e9 {
                        return Err(invalid_http());
                    }
                    f as i64
                }
            }
        }
    };
    u16::try_from(code)
        .ok()
        .filter(|c| (200..=999).contains(c))
        .and_then(|c| StatusCode::from_u16(c).ok())
        .ok_or_else(invalid_http)
}

/// Headers a result may not set: framing is the server's business.
fn reserved_header(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "content-length" | "transfer-encoding" | "connection" | "keep-alive" | "upgrade"
    )
}

fn as_http(v: &RawValue) -> Result<WebResponse, ApiError> {
    let f = fields(v).ok_or_else(invalid_http)?;
    let raw_headers = match f.headers {
        Some(h) => headers_of(h)?,
        None => Vec::new(),
    };
    let code = f.status_code.map(status_of).transpose()?;
    let size: usize = raw_headers.iter().map(|(k, v)| k.len() + v.len()).sum();
    if size > MAX_RESPONSE_HEADER_BYTES {
        return Err(bad(messages::web_response_headers_too_large(
            size,
            MAX_RESPONSE_HEADER_BYTES,
        )));
    }
    let mut declared_type: Option<String> = None;
    let mut headers = Vec::with_capacity(raw_headers.len());
    for (k, val) in raw_headers {
        let name = HeaderName::from_bytes(k.as_bytes()).map_err(|_| invalid_http())?;
        if name == axum::http::header::CONTENT_TYPE {
            if declared_type.is_none() {
                declared_type = Some(val);
            }
            continue;
        }
        if reserved_header(&name) {
            continue;
        }
        let value = HeaderValue::from_str(&val).map_err(|_| invalid_http())?;
        headers.push((name, value));
    }
    let empty = |status: StatusCode, headers| WebResponse {
        status,
        headers,
        content_type: None,
        body: Vec::new(),
    };
    let body = match f.body {
        None => return Ok(empty(code.unwrap_or(StatusCode::NO_CONTENT), headers)),
        Some(b) if b.get().trim() == "null" => {
            return Ok(empty(code.unwrap_or(StatusCode::NO_CONTENT), headers))
        }
        Some(b) => b,
    };
    let status = code.unwrap_or(StatusCode::OK);
    if starts_with(body, b'"') {
        let s = string_of(body).ok_or_else(invalid_http)?;
        if s.is_empty() {
            return Ok(empty(code.unwrap_or(StatusCode::NO_CONTENT), headers));
        }
        let (content_type, bytes) = string_entity(declared_type.as_deref(), s)?;
        return Ok(WebResponse {
            status,
            headers,
            content_type: Some(content_type),
            body: bytes,
        });
    }
    // Any other JSON value: sent as JSON, under a JSON-family content type.
    let content_type = match declared_type.as_deref() {
        None => JSON.to_string(),
        Some(d) => match parse_media_type(d) {
            Some(mt) if is_json_family(&mt.essence) => mt.essence,
            _ => return Err(bad(messages::WEB_HTTP_CONTENT_TYPE_ERROR)),
        },
    };
    Ok(WebResponse {
        status,
        headers,
        content_type: Some(content_type),
        body: pretty(body)?,
    })
}

/// A non-empty string body: text for textual types (base64-decoded for JSON types when it looks
/// like base64, a legacy rule), base64-decoded for binary types.
fn string_entity(declared: Option<&str>, s: String) -> Result<(String, Vec<u8>), ApiError> {
    let declared = declared.unwrap_or("text/html");
    let mt =
        parse_media_type(declared).ok_or_else(|| bad(messages::WEB_HTTP_UNKNOWN_CONTENT_TYPE))?;
    let decode = |s: &str| {
        base64::engine::general_purpose::STANDARD
            .decode(s.trim())
            .map_err(|_| bad(messages::WEB_HTTP_CONTENT_TYPE_ERROR))
    };
    if is_binary(&mt) {
        return Ok((declared.trim().to_string(), decode(&s)?));
    }
    let ct = textual_content_type(declared, &mt);
    if is_json_family(&mt.essence) && is_binary_code(&s) {
        return Ok((ct, decode(&s)?));
    }
    Ok((ct, s.into_bytes()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn raw(s: &str) -> Box<RawValue> {
        RawValue::from_string(s.to_string()).unwrap()
    }

    fn http(s: &str) -> Result<WebResponse, ApiError> {
        transcode(Extension::Http, &raw(s))
    }

    fn err(r: Result<WebResponse, ApiError>) -> (u16, String) {
        let e = r.unwrap_err();
        (e.status.as_u16(), e.message)
    }

    #[test]
    fn extensions_split_off_the_last_segment() {
        assert_eq!(split_extension("a.json"), ("a", Extension::Json));
        assert_eq!(split_extension("a.b.html"), ("a.b", Extension::Html));
        assert_eq!(split_extension("a.svg"), ("a", Extension::Svg));
        assert_eq!(split_extension("a.text"), ("a", Extension::Text));
        assert_eq!(split_extension("a.http"), ("a", Extension::Http));
        assert_eq!(split_extension("a.xyz"), ("a.xyz", Extension::Http));
        assert_eq!(split_extension("a"), ("a", Extension::Http));
    }

    #[test]
    fn projection_by_status() {
        let r = raw(r#"{"a":1}"#);
        assert_eq!(projection(Some(0), Some(&r)).unwrap().get(), r#"{"a":1}"#);
        let e = raw(r#"{"error":{"statusCode":404}}"#);
        assert_eq!(
            projection(Some(1), Some(&e)).unwrap().get(),
            r#"{"statusCode":404}"#
        );
        let none = raw(r#"{"x":1}"#);
        let pe = projection(Some(1), Some(&none)).unwrap_err();
        assert_eq!(pe.status, StatusCode::NOT_FOUND);
        for s in [Some(2), Some(3), None] {
            let e = projection(s, Some(&r)).unwrap_err();
            assert_eq!(e.status, StatusCode::BAD_REQUEST);
            assert_eq!(e.message, messages::WEB_ERROR_PROCESSING_REQUEST);
        }
    }

    #[test]
    fn json_needs_an_object_or_array_and_is_pretty() {
        let r = transcode(Extension::Json, &raw(r#"{"foobar":"foobar"}"#)).unwrap();
        assert_eq!(r.body, b"{\n  \"foobar\": \"foobar\"\n}");
        assert_eq!(r.content_type.as_deref(), Some("application/json"));
        assert!(transcode(Extension::Json, &raw("[1]")).is_ok());
        for bad in [r#""s""#, "1", "true", "null"] {
            assert_eq!(
                err(transcode(Extension::Json, &raw(bad))),
                (400, "Response is not valid 'application/json'.".into())
            );
        }
    }

    #[test]
    fn html_and_svg_take_body_then_their_field() {
        let r = transcode(Extension::Html, &raw(r#"{"html":"<p>"}"#)).unwrap();
        assert_eq!(r.body, b"<p>");
        assert_eq!(r.content_type.as_deref(), Some("text/html; charset=UTF-8"));
        let r = transcode(Extension::Html, &raw(r#"{"body":"b","html":"h"}"#)).unwrap();
        assert_eq!(r.body, b"b");
        let r = transcode(Extension::Html, &raw(r#""plain""#)).unwrap();
        assert_eq!(r.body, b"plain");
        assert_eq!(
            err(transcode(
                Extension::Html,
                &raw(r#"{"body":null,"html":"h"}"#)
            )),
            (400, "Response is not valid 'text/html'.".into())
        );
        assert_eq!(
            err(transcode(Extension::Html, &raw(r#"{"html":1}"#))),
            (400, "Response is not valid 'text/html'.".into())
        );
        let r = transcode(Extension::Svg, &raw(r#"{"svg":"<svg/>"}"#)).unwrap();
        assert_eq!(r.content_type.as_deref(), Some("image/svg+xml"));
        assert_eq!(
            err(transcode(Extension::Svg, &raw("{}"))),
            (400, "Response is not valid 'image/svg+xml'.".into())
        );
    }

    #[test]
    fn text_renders_every_json_value() {
        let t =
            |s: &str| String::from_utf8(transcode(Extension::Text, &raw(s)).unwrap().body).unwrap();
        assert_eq!(t(r#"{"body":{"a":"A"}}"#), "{\n  \"a\": \"A\"\n}");
        assert_eq!(t(r#"{"body":["a"]}"#), "[\n  \"a\"\n]");
        assert_eq!(t(r#"{"body":"a"}"#), "a");
        assert_eq!(t(r#"{"body":true}"#), "true");
        assert_eq!(t(r#"{"body":1}"#), "1");
        assert_eq!(t(r#"{"body":null}"#), "null");
        assert_eq!(t(r#"{"text":"default text"}"#), "default text");
        assert_eq!(t(r#""err""#), "err");
        assert_eq!(
            err(transcode(Extension::Text, &raw(r#"{"x":1}"#))),
            (404, messages::WEB_PROPERTY_NOT_FOUND.into())
        );
    }

    #[test]
    fn http_defaults_and_empty_bodies() {
        for s in ["{}", r#"{"body":""}"#, r#"{"body":null}"#] {
            let r = http(s).unwrap();
            assert_eq!(r.status, StatusCode::NO_CONTENT);
            assert!(r.body.is_empty());
            assert!(r.content_type.is_none());
        }
        let r = http(r#"{"statusCode":201,"headers":{"content-type":"application/json","Set-Cookie":"a=b"}}"#)
            .unwrap();
        assert_eq!(r.status, StatusCode::CREATED);
        assert!(r.content_type.is_none());
        assert_eq!(r.headers.len(), 1);
        assert_eq!(r.headers[0].0.as_str(), "set-cookie");
    }

    #[test]
    fn http_status_codes() {
        assert_eq!(http(r#"{"statusCode":444}"#).unwrap().status.as_u16(), 444);
        assert_eq!(
            http(r#"{"statusCode":"444"}"#).unwrap().status.as_u16(),
            444
        );
        assert_eq!(
            http(r#"{"statusCode":302.0}"#).unwrap().status.as_u16(),
            302
        );
        for bad in [
            r#"{"statusCode":"xyz"}"#,
            r#"{"statusCode":1.5}"#,
            r#"{"statusCode":null}"#,
            r#"{"statusCode":true}"#,
            r#"{"statusCode":99}"#,
            r#"{"statusCode":1000}"#,
            r#"{"statusCode":100}"#,
            r#"{"statusCode":-200}"#,
        ] {
            assert_eq!(
                err(http(bad)),
                (400, "Response is not valid 'message/http'.".into()),
                "{bad}"
            );
        }
    }

    #[test]
    fn http_headers_and_their_shapes() {
        let r = http(
            r#"{"headers":{"Set-Cookie":["a=b","c=d; Path = /"],"X-N":1,"X-B":true,"location":"http://x"},"statusCode":302}"#,
        )
        .unwrap();
        let h: Vec<(String, String)> = r
            .headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_string()))
            .collect();
        assert!(h.contains(&("set-cookie".into(), "a=b".into())));
        assert!(h.contains(&("set-cookie".into(), "c=d; Path = /".into())));
        assert!(h.contains(&("x-n".into(), "1".into())));
        assert!(h.contains(&("x-b".into(), "true".into())));
        assert!(h.contains(&("location".into(), "http://x".into())));
        for bad in [
            r#"{"headers":"x"}"#,
            r#"{"headers":null}"#,
            r#"{"headers":{"a":null}}"#,
            r#"{"headers":{"a":{"b":1}}}"#,
            r#"{"headers":{"bad name":"v"}}"#,
            r#"{"headers":{"a":"line\nbreak"}}"#,
            "[]",
            r#""s""#,
        ] {
            assert_eq!(
                err(http(bad)),
                (400, "Response is not valid 'message/http'.".into()),
                "{bad}"
            );
        }
        // Framing headers are the server's.
        let r =
            http(r#"{"headers":{"content-length":"5","transfer-encoding":"chunked"},"body":"hi"}"#)
                .unwrap();
        assert!(r.headers.is_empty());
        // Too many header bytes.
        let big = "v".repeat(MAX_RESPONSE_HEADER_BYTES);
        let (status, msg) = err(http(&format!(r#"{{"headers":{{"x":"{big}"}}}}"#)));
        assert_eq!(status, 400);
        assert!(msg.starts_with("Response headers too large: "), "{msg}");
    }

    #[test]
    fn http_string_bodies_by_content_type() {
        let r = http(r#"{"body":"hello world","statusCode":200}"#).unwrap();
        assert_eq!(r.body, b"hello world");
        assert_eq!(r.content_type.as_deref(), Some("text/html; charset=UTF-8"));
        // A JSON content type with a text body is allowed (not base64-looking).
        let r = http(r#"{"headers":{"content-type":"application/json"},"body":"hello world"}"#)
            .unwrap();
        assert_eq!(r.content_type.as_deref(), Some("application/json"));
        assert_eq!(r.body, b"hello world");
        // Legacy: base64 under a JSON type is decoded.
        let r = http(r#"{"headers":{"content-type":"application/json-patch+json"},"body":"eyJmaWVsZCI6InZhbHVlIn0="}"#)
            .unwrap();
        assert_eq!(r.body, br#"{"field":"value"}"#);
        // Binary types are base64-decoded.
        let r = http(r#"{"headers":{"Content-Type":"image/png"},"body":"AAEC"}"#).unwrap();
        assert_eq!(r.body, vec![0, 1, 2]);
        assert_eq!(r.content_type.as_deref(), Some("image/png"));
        assert_eq!(
            err(http(
                r#"{"headers":{"Content-Type":"image/png"},"body":"not base64!"}"#
            )),
            (400, messages::WEB_HTTP_CONTENT_TYPE_ERROR.into())
        );
        assert_eq!(
            err(http(
                r#"{"headers":{"content-type":"xyzbar"},"body":"hello"}"#
            )),
            (400, messages::WEB_HTTP_UNKNOWN_CONTENT_TYPE.into())
        );
        let r = http(r#"{"headers":{"content-type":"text/plain"},"body":"x"}"#).unwrap();
        assert_eq!(r.content_type.as_deref(), Some("text/plain; charset=UTF-8"));
    }

    #[test]
    fn http_json_bodies_need_a_json_type() {
        let r = http(r#"{"body":{"field":"value"}}"#).unwrap();
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.content_type.as_deref(), Some("application/json"));
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v, serde_json::json!({"field":"value"}));
        let r =
            http(r#"{"headers":{"content-type":"application/hal+json"},"body":{"a":1}}"#).unwrap();
        assert_eq!(r.content_type.as_deref(), Some("application/hal+json"));
        assert_eq!(http(r#"{"body":3}"#).unwrap().body, b"3");
        for ct in ["text/html", "xyzbar"] {
            assert_eq!(
                err(http(&format!(
                    r#"{{"headers":{{"content-type":"{ct}"}},"body":{{"a":1}}}}"#
                ))),
                (400, messages::WEB_HTTP_CONTENT_TYPE_ERROR.into())
            );
        }
    }

    #[test]
    fn media_types() {
        let p = |s| parse_media_type(s).unwrap();
        assert_eq!(p("Text/HTML; charset=utf-8").essence, "text/html");
        assert!(p("text/html; charset=utf-8").has_charset);
        assert!(parse_media_type("xyzbar").is_none());
        assert!(parse_media_type("text/").is_none());
        assert!(parse_media_type("a b/c").is_none());
        assert!(!is_binary(&p("text/plain")));
        assert!(!is_binary(&p("application/json")));
        assert!(!is_binary(&p("application/cloudevents+json")));
        assert!(!is_binary(&p("application/xml")));
        assert!(is_binary(&p("image/png")));
        assert!(is_binary(&p("application/octet-stream")));
        assert!(is_binary(&p("application/x-unknown")));
        assert!(!is_binary(&p("application/x-unknown; charset=utf-8")));
    }
}
