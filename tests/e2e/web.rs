//! Web actions (spec §2.4): `/api/v1/web/{ns}/{pkg|default}/{action}{.ext}{/path}` against a
//! real `whirl standalone` running real nodejs and python actions.

use std::time::Duration;

use base64::Engine;
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::{json, Value};

use crate::support::*;

/// Longer than the platform's 60 s blocking wait (a guard against hanging, not a threshold).
const SLOW_GUARD: Duration = Duration::from_secs(150);

/// A response with its raw bytes.
struct Web {
    resp: Resp,
    bytes: Vec<u8>,
}

impl std::ops::Deref for Web {
    type Target = Resp;
    fn deref(&self) -> &Resp {
        &self.resp
    }
}

/// Send a request to `path` with optional `uuid:key` credentials.
fn send(
    s: &Server,
    method: Method,
    path: &str,
    key: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<Vec<u8>>,
) -> Web {
    let http = reqwest::blocking::Client::builder()
        .timeout(SLOW_GUARD)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut rb = http.request(method, format!("{}{}", s.base, path));
    if let Some(k) = key {
        rb = rb.header("authorization", basic(k));
    }
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    if let Some(b) = body {
        rb = rb.body(b);
    }
    let r = rb.send().unwrap_or_else(|e| panic!("request {path}: {e}"));
    let status = r.status().as_u16();
    let headers: HeaderMap = r.headers().clone();
    let bytes = r.bytes().unwrap().to_vec();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Web {
        resp: Resp {
            status,
            headers,
            text,
            body,
        },
        bytes,
    }
}

fn get(s: &Server, path: &str) -> Web {
    send(s, Method::GET, path, None, &[], None)
}

fn post_json(s: &Server, path: &str, body: &Value) -> Web {
    send(
        s,
        Method::POST,
        path,
        None,
        &[("content-type", "application/json")],
        Some(body.to_string().into_bytes()),
    )
}

/// Create (or replace) a nodejs action `path` with `annotations` (`web-export: true` added).
fn web_action(api: &Api, path: &str, code: &str, extra: Value) -> Value {
    let mut body = json!({"exec": {"kind": "nodejs:default", "code": code}});
    let mut annotations = vec![json!({"key": "web-export", "value": true})];
    if let Some(obj) = extra.as_object() {
        for (k, v) in obj {
            match k.as_str() {
                "annotations" => annotations.extend(v.as_array().unwrap().iter().cloned()),
                _ => {
                    body[k] = v.clone();
                }
            }
        }
    }
    body["annotations"] = Value::Array(annotations);
    api.put(&format!("{NS}/actions/{path}?overwrite=true"), &body)
        .ok()
}

const ECHO: &str = "function main(p) { return p }";
/// Returns what the request asks for in `r` (a JSON body).
const RESPOND: &str = "function main(p) { return p.r }";

fn has_activation_id(r: &Resp) -> bool {
    r.header("x-openwhisk-activation-id")
        .is_some_and(|id| id.len() == 32)
}

#[test]
fn context_fields_query_and_bodies() {
    let s = Server::start();
    let g = s.guest();
    web_action(&g, "echo", ECHO, json!({}));
    let base = "/api/v1/web/guest/default/echo.json";

    // GET with a query and a custom header, anonymous.
    let r = send(
        &s,
        Method::GET,
        &format!("{base}?a=b&c=d%20e"),
        None,
        &[("X-Custom", "Value")],
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(has_activation_id(&r));
    let b = &r.body;
    assert_eq!(b["a"], "b");
    assert_eq!(b["c"], "d e");
    assert_eq!(b["__ow_method"], "get");
    assert_eq!(b["__ow_path"], "");
    assert_eq!(b["__ow_headers"]["x-custom"], "Value");
    assert!(b.get("__ow_user").is_none(), "anonymous: {b}");
    assert!(b.get("__ow_body").is_none());
    // OpenWhisk pretty-prints JSON answers.
    assert!(r.text.contains("\n  \""), "{}", r.text);

    // Authenticated: __ow_user is the caller's namespace.
    let r = send(&s, Method::GET, base, Some(GUEST_KEY), &[], None);
    assert_eq!(r.body["__ow_user"], "guest");
    // Invalid credentials make the request anonymous.
    let bad = "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:wrongwrongwrongwrongwrongwrongwrongwrongwrongwrongwrongwrongwron";
    let r = send(&s, Method::GET, base, Some(bad), &[], None);
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.body.get("__ow_user").is_none());

    // Every method; the extra path goes to __ow_path.
    for m in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
        let method = Method::from_bytes(m.as_bytes()).unwrap();
        let r = send(&s, method, &format!("{base}/foo/bar"), None, &[], None);
        assert_eq!(r.status, 200, "{m}: {}", r.text);
        assert_eq!(r.body["__ow_method"], m.to_lowercase());
        assert_eq!(r.body["__ow_path"], "/foo/bar");
    }
    let r = send(&s, Method::HEAD, base, None, &[], None);
    assert_eq!(r.status, 200);
    assert!(r.bytes.is_empty());
    assert!(has_activation_id(&r));
    // A trailing slash is an empty extra segment.
    assert_eq!(get(&s, &format!("{base}/")).body["__ow_path"], "/");

    // JSON object bodies merge over query parameters.
    let r = post_json(
        &s,
        &format!("{base}?a=q&k=q"),
        &json!({"a": "body", "n": 1}),
    );
    assert_eq!(r.body["a"], "body");
    assert_eq!(r.body["k"], "q");
    assert_eq!(r.body["n"], 1);
    assert_eq!(r.body["__ow_headers"]["content-type"], "application/json");
    assert!(r.body["__ow_headers"].get("content-length").is_none());
    // +json types too.
    let r = send(
        &s,
        Method::POST,
        base,
        None,
        &[("content-type", "application/cloudevents+json")],
        Some(br#"{"field1":"value1"}"#.to_vec()),
    );
    assert_eq!(r.body["field1"], "value1");
    // JSON non-objects land in __ow_body as JSON values.
    for v in [
        json!([1, "two", false]),
        json!("a string"),
        json!(99),
        json!(true),
    ] {
        let r = post_json(&s, base, &v);
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["__ow_body"], v);
    }
    // Empty JSON bodies are no body.
    let r = send(
        &s,
        Method::POST,
        base,
        None,
        &[("content-type", "application/json")],
        Some(Vec::new()),
    );
    assert_eq!(r.status, 200);
    assert!(r.body.get("__ow_body").is_none());
    // Form data merges.
    let r = send(
        &s,
        Method::POST,
        base,
        None,
        &[("content-type", "application/x-www-form-urlencoded")],
        Some(b"field1=value1&field2=a+b%21".to_vec()),
    );
    assert_eq!(r.body["field1"], "value1");
    assert_eq!(r.body["field2"], "a b!");
    // Text is a string, binary is base64.
    let r = send(
        &s,
        Method::POST,
        base,
        None,
        &[("content-type", "text/html; charset=UTF-8")],
        Some(b"1,2,3".to_vec()),
    );
    assert_eq!(r.body["__ow_body"], "1,2,3");
    let png = vec![0x89u8, b'P', b'N', b'G', 0, 1, 2, 255];
    let r = send(
        &s,
        Method::POST,
        base,
        None,
        &[("content-type", "image/png")],
        Some(png.clone()),
    );
    assert_eq!(
        r.body["__ow_body"],
        base64::engine::general_purpose::STANDARD.encode(&png)
    );
    // An unparseable content type is read as binary.
    let r = send(
        &s,
        Method::POST,
        base,
        None,
        &[("content-type", "not a type")],
        Some(b"abc".to_vec()),
    );
    assert_eq!(r.body["__ow_body"], "YWJj");
    // Malformed JSON is OpenWhisk's 400.
    let r = send(
        &s,
        Method::POST,
        base,
        None,
        &[("content-type", "application/json")],
        Some(b"{\"a\": ".to_vec()),
    );
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(
        r.error()
            .starts_with("The request content was malformed:\n"),
        "{}",
        r.text
    );
    r.assert_error_shape();
    // Binary bytes claiming to be JSON are malformed JSON, not a 500.
    let r = send(
        &s,
        Method::POST,
        base,
        None,
        &[("content-type", "application/json")],
        Some(png),
    );
    assert_eq!(r.status, 400, "{}", r.text);

    // Reserved names may not be set by the request.
    for p in [
        "__ow_method",
        "__ow_headers",
        "__ow_path",
        "__ow_user",
        "__ow_query",
        "__ow_body",
    ] {
        get(&s, &format!("{base}?{p}=x")).assert_error(
            400,
            "Request defines parameters that are not allowed (e.g., reserved properties).",
        );
        post_json(&s, base, &json!({ p: "x" })).assert_error(
            400,
            "Request defines parameters that are not allowed (e.g., reserved properties).",
        );
    }
}

#[test]
fn lookup_auth_final_raw_and_cors() {
    let s = Server::start();
    let g = s.guest();
    // Not exported: 404, as for unknown namespaces, packages and actions.
    g.put(&format!("{NS}/actions/private"), &node_action(ECHO))
        .ok();
    g.put(
        &format!("{NS}/actions/notweb"),
        &json!({"exec": {"kind": "nodejs:default", "code": ECHO},
                "annotations": [{"key": "web-export", "value": false}]}),
    )
    .ok();
    g.put(
        &format!("{NS}/actions/stringweb"),
        &json!({"exec": {"kind": "nodejs:default", "code": ECHO},
                "annotations": [{"key": "web-export", "value": "true"}]}),
    )
    .ok();
    for p in [
        "/api/v1/web/guest/default/private.json",
        "/api/v1/web/guest/default/private",
        "/api/v1/web/guest/default/notweb.json",
        "/api/v1/web/guest/default/stringweb.json",
        "/api/v1/web/nobody/default/private.json",
        "/api/v1/web/guest/nopkg/private.json",
        "/api/v1/web/guest/default/missing.json",
        "/api/v1/web/guest/default/private.xyz",
        "/api/v1/web/guest/default",
        "/api/v1/web/guest",
        "/api/v1/web/_/default/private.json",
    ] {
        for key in [None, Some(GUEST_KEY)] {
            send(&s, Method::GET, p, key, &[], None)
                .assert_error(404, "The requested resource does not exist.");
        }
    }
    // Methods OpenWhisk does not route.
    let r = send(
        &s,
        Method::from_bytes(b"TRACE").unwrap(),
        "/api/v1/web/guest/default/private.json",
        None,
        &[],
        None,
    );
    assert_eq!(r.status, 405, "{}", r.text);
    r.assert_error_shape();

    // require-whisk-auth: true needs valid credentials of any namespace.
    web_action(
        &g,
        "secure",
        ECHO,
        json!({"annotations": [{"key": "require-whisk-auth", "value": true}]}),
    );
    let p = "/api/v1/web/guest/default/secure.json";
    let r = get(&s, p);
    r.assert_error(
        401,
        "Authentication is possible but has failed or not yet been provided.",
    );
    let r = send(&s, Method::GET, p, Some(GUEST_KEY), &[], None);
    assert_eq!(r.status, 200);
    assert_eq!(r.body["__ow_user"], "guest");
    let other = s.create_namespace("other");
    let r = send(&s, Method::GET, p, Some(&other), &[], None);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["__ow_user"], "other");
    // OPTIONS is answered by the platform regardless of auth.
    let r = send(&s, Method::OPTIONS, p, None, &[], None);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    // A secret: header X-Require-Whisk-Auth must match exactly.
    web_action(
        &g,
        "secret",
        ECHO,
        json!({"annotations": [{"key": "require-whisk-auth", "value": "s3cret"}]}),
    );
    let p = "/api/v1/web/guest/default/secret.json";
    assert_eq!(get(&s, p).status, 401);
    let hdr = |v: &str| {
        send(
            &s,
            Method::GET,
            p,
            None,
            &[("X-Require-Whisk-Auth", v)],
            None,
        )
    };
    assert_eq!(hdr("S3CRET").status, 401);
    let r = hdr("s3cret");
    assert_eq!(r.status, 200);
    assert_eq!(r.body["__ow_headers"]["x-require-whisk-auth"], "s3cret");
    // Valid credentials do not replace the secret.
    assert_eq!(
        send(&s, Method::GET, p, Some(GUEST_KEY), &[], None).status,
        401
    );
    // A number secret (what `--web-secure true` stores).
    web_action(
        &g,
        "numsecret",
        ECHO,
        json!({"annotations": [{"key": "require-whisk-auth", "value": 4711}]}),
    );
    let p = "/api/v1/web/guest/default/numsecret.json";
    assert_eq!(get(&s, p).status, 401);
    assert_eq!(
        send(
            &s,
            Method::GET,
            p,
            None,
            &[("x-require-whisk-auth", "4711")],
            None
        )
        .status,
        200
    );
    // `false` is public.
    web_action(
        &g,
        "open",
        ECHO,
        json!({"annotations": [{"key": "require-whisk-auth", "value": false}]}),
    );
    assert_eq!(get(&s, "/api/v1/web/guest/default/open.json").status, 200);

    // Final parameters: defined ones are locked, null ones are not.
    web_action(
        &g,
        "final",
        ECHO,
        json!({
            "parameters": [{"key": "x", "value": "X"}, {"key": "empty", "value": null}],
            "annotations": [{"key": "final", "value": true}],
        }),
    );
    let p = "/api/v1/web/guest/default/final.json";
    let msg = "Request defines parameters that are not allowed (e.g., reserved properties).";
    get(&s, &format!("{p}?x=over")).assert_error(400, msg);
    post_json(&s, p, &json!({"x": "over"})).assert_error(400, msg);
    let r = get(&s, &format!("{p}?empty=set&y=1"));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["x"], "X");
    assert_eq!(r.body["empty"], "set");

    // Raw: query and body as they came (JSON as base64), no override check.
    web_action(
        &g,
        "raw",
        ECHO,
        json!({
            "parameters": [{"key": "x", "value": "X"}],
            "annotations": [{"key": "raw-http", "value": true}, {"key": "final", "value": true}],
        }),
    );
    let p = "/api/v1/web/guest/default/raw.json";
    let r = get(&s, &format!("{p}?x=over&__ow_body=1"));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["__ow_query"], "x=over&__ow_body=1");
    assert_eq!(r.body["__ow_body"], "");
    assert_eq!(r.body["x"], "X");
    let r = post_json(&s, p, &json!({"x": "over"}));
    assert_eq!(
        r.body["__ow_body"],
        base64::engine::general_purpose::STANDARD.encode(br#"{"x":"over"}"#)
    );
    assert_eq!(r.body["__ow_query"], "");
    let r = send(
        &s,
        Method::POST,
        p,
        None,
        &[("content-type", "text/plain")],
        Some(b"plain text".to_vec()),
    );
    assert_eq!(r.body["__ow_body"], "plain text");
    let r = send(
        &s,
        Method::POST,
        p,
        None,
        &[("content-type", "application/x-www-form-urlencoded")],
        Some(b"a=1".to_vec()),
    );
    assert_eq!(r.body["__ow_body"], "a=1");

    // Default CORS: OPTIONS is answered without invoking, and every answer carries the headers.
    let p = "/api/v1/web/guest/default/open.json";
    let r = send(
        &s,
        Method::OPTIONS,
        p,
        None,
        &[("Access-Control-Request-Headers", "x-custom-header")],
        None,
    );
    assert_eq!(r.status, 200);
    assert!(r.bytes.is_empty());
    assert!(r.header("x-openwhisk-activation-id").is_none());
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert_eq!(
        r.header("access-control-allow-methods"),
        Some("OPTIONS, GET, DELETE, POST, PUT, HEAD, PATCH")
    );
    assert_eq!(
        r.header("access-control-allow-headers"),
        Some("x-custom-header")
    );
    let r = get(&s, p);
    assert_eq!(
        r.header("access-control-allow-headers"),
        Some("Authorization, Origin, X-Requested-With, Content-Type, Accept, User-Agent")
    );
    assert_eq!(
        r.header("access-control-allow-methods"),
        Some("OPTIONS, GET, DELETE, POST, PUT, HEAD, PATCH")
    );
    // Custom options: the action answers OPTIONS, even when auth is required and missing.
    web_action(
        &g,
        "custom",
        "function main(p) { return {statusCode: 200, headers: {'Access-Control-Allow-Methods': 'OPTIONS, GET, PATCH', 'x-method': p.__ow_method}} }",
        json!({"annotations": [
            {"key": "web-custom-options", "value": true},
            {"key": "require-whisk-auth", "value": true}
        ]}),
    );
    let p = "/api/v1/web/guest/default/custom.http";
    let r = send(
        &s,
        Method::OPTIONS,
        p,
        None,
        &[("Access-Control-Request-Headers", "x-custom-header")],
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("x-method"), Some("options"));
    assert!(has_activation_id(&r));
    assert_eq!(
        r.header("access-control-allow-methods"),
        Some("OPTIONS, GET, PATCH")
    );
    assert!(r.header("access-control-allow-origin").is_none());
    assert!(r.header("access-control-allow-headers").is_none());
    assert_eq!(get(&s, p).status, 401);
    let r = send(&s, Method::GET, p, Some(GUEST_KEY), &[], None);
    assert_eq!(r.header("x-method"), Some("get"));
}

#[test]
fn projections_and_http_responses() {
    let s = Server::start();
    let g = s.guest();
    web_action(&g, "respond", RESPOND, json!({}));
    let call = |ext: &str, r: Value| {
        post_json(
            &s,
            &format!("/api/v1/web/guest/default/respond{ext}"),
            &json!({"r": r}),
        )
    };

    // .json: objects and arrays.
    let r = call(".json", json!({"foobar": "foobar"}));
    assert_eq!(r.status, 200);
    assert_eq!(r.text, "{\n  \"foobar\": \"foobar\"\n}");
    // Python returns arrays; a nodejs action returning a string is a developer error.
    call(".json", json!("text")).assert_error(400, "There was an error processing your request.");
    // .html, .svg, .text fields.
    let r = call(".html", json!({"html": "<html>hi</html>"}));
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/html; charset=UTF-8"));
    assert_eq!(r.text, "<html>hi</html>");
    call(".html", json!({"html": 1})).assert_error(400, "Response is not valid 'text/html'.");
    let svg = r#"<svg><circle cx="3" cy="3" r="3" fill="blue"/></svg>"#;
    let r = call(".svg", json!({"svg": svg}));
    assert_eq!(r.header("content-type"), Some("image/svg+xml"));
    assert_eq!(r.text, svg);
    call(".svg", json!({})).assert_error(400, "Response is not valid 'image/svg+xml'.");
    let r = call(".text", json!({"text": "default text"}));
    assert_eq!(r.header("content-type"), Some("text/plain; charset=UTF-8"));
    assert_eq!(r.text, "default text");
    assert_eq!(
        call(".text", json!({"body": {"a": "A"}})).text,
        "{\n  \"a\": \"A\"\n}"
    );
    assert_eq!(call(".text", json!({"body": 1})).text, "1");
    assert_eq!(call(".text", json!({"body": null})).text, "null");
    let r = call(".text", json!({"nothing": 1}));
    r.assert_error(404, "Response does not include requested property.");
    // Error bodies are pretty-printed {error, code}: four lines.
    assert_eq!(r.text.lines().count(), 4, "{}", r.text);

    // .http: status code and headers.
    let r = call(
        "",
        json!({"headers": {"location": "http://openwhisk.org"}, "statusCode": 302}),
    );
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location"), Some("http://openwhisk.org"));
    assert_eq!(call(".http", json!({"statusCode": 444})).status, 444);
    assert_eq!(call(".http", json!({"statusCode": "201"})).status, 201);
    call(".http", json!({"statusCode": "xyz"}))
        .assert_error(400, "Response is not valid 'message/http'.");
    // Defaults: no body → 204 without a content type.
    for res in [json!({}), json!({"body": ""}), json!({"body": null})] {
        let r = call(".http", res);
        assert_eq!(r.status, 204);
        assert!(r.bytes.is_empty());
        assert!(r.header("content-type").is_none());
        assert!(has_activation_id(&r));
    }
    // A string body defaults to text/html and 200.
    let r = call(".http", json!({"body": "hello world"}));
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/html; charset=UTF-8"));
    assert_eq!(r.text, "hello world");
    // A JSON body is JSON, or another +json type from the headers.
    let r = call(
        ".http",
        json!({"body": {"field": "value"}, "statusCode": 201}),
    );
    assert_eq!(r.status, 201);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.body, json!({"field": "value"}));
    let r = call(
        ".http",
        json!({"headers": {"content-type": "application/hal+json"}, "body": {"a": 1}}),
    );
    assert_eq!(r.header("content-type"), Some("application/hal+json"));
    assert_eq!(r.body, json!({"a": 1}));
    call(
        ".http",
        json!({"headers": {"content-type": "text/html"}, "body": {"a": 1}}),
    )
    .assert_error(
        400,
        "Response type in header did not match generated content type.",
    );
    call(
        ".http",
        json!({"headers": {"content-type": "xyzbar"}, "body": "hello"}),
    )
    .assert_error(400, "Response did not specify a known content-type.");
    // Binary content types carry base64 bodies.
    let png = [0x89u8, b'P', b'N', b'G', 13, 10, 26, 10];
    let b64 = base64::engine::general_purpose::STANDARD.encode(png);
    let r = call(
        ".http",
        json!({"headers": {"Content-Type": "image/png"}, "body": b64}),
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("image/png"));
    assert_eq!(r.bytes, png);
    call(
        ".http",
        json!({"headers": {"Content-Type": "image/png"}, "body": "not base64!"}),
    )
    .assert_error(
        400,
        "Response type in header did not match generated content type.",
    );
    // Repeated headers.
    let r = call(
        ".http",
        json!({"headers": {"Set-Cookie": ["a=b", "c=d; Path = /"]}, "statusCode": 200}),
    );
    let cookies: Vec<&str> = r
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(cookies, ["a=b", "c=d; Path = /"]);
    // Not an HTTP response.
    for bad in [
        json!([1, 2]),
        json!({"headers": "x"}),
        json!({"headers": {"a": {"b": 1}}}),
        json!({"headers": {"bad name": "v"}}),
    ] {
        call(".http", bad).assert_error(400, "Response is not valid 'message/http'.");
    }
    // Huge headers are refused, not sent.
    let big = "a".repeat(20_000);
    call(".http", json!({"headers": {"x-big": big}, "body": "x"}))
        .assert_error(400, "Response headers too large: 20005 > 16384 bytes.");
    // An Accept header that excludes the content type: 406.
    let r = send(
        &s,
        Method::POST,
        "/api/v1/web/guest/default/respond.http",
        None,
        &[
            ("content-type", "application/json"),
            ("accept", "application/json"),
        ],
        Some(
            json!({"r": {"body": "Plain text"}})
                .to_string()
                .into_bytes(),
        ),
    );
    // OpenWhisk's rejection handler wraps akka-http's message in its JSON error body
    // (WskWebActionsTests: the body includes the escaped `\n`).
    r.assert_error(
        406,
        "Resource representation is only available with these types:\ntext/html; charset=UTF-8",
    );
    assert!(r.text.contains("these types:\\ntext/html"), "{}", r.text);

    // Application errors project their `error` field.
    web_action(
        &g,
        "apperror",
        "function main(p) { return {error: p.r} }",
        json!({}),
    );
    let err = |ext: &str, r: Value| {
        post_json(
            &s,
            &format!("/api/v1/web/guest/default/apperror{ext}"),
            &json!({"r": r}),
        )
    };
    let r = err(
        ".http",
        json!({"statusCode": 404, "body": "no hello for you"}),
    );
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(r.text, "no hello for you");
    assert!(has_activation_id(&r));
    let r = err(".json", json!({"reason": "bad"}));
    assert_eq!(r.status, 200);
    assert_eq!(r.body, json!({"reason": "bad"}));
    err(".json", json!("bad response type"))
        .assert_error(400, "Response is not valid 'application/json'.");
    assert_eq!(err(".text", json!("oops")).text, "oops");
    // Developer errors: 400 with the generic message.
    web_action(
        &g,
        "throws",
        "function main(p) { throw new Error('boom') }",
        json!({}),
    );
    for ext in [".json", ".http", ".text"] {
        let r = get(&s, &format!("/api/v1/web/guest/default/throws{ext}"));
        r.assert_error(400, "There was an error processing your request.");
        assert!(has_activation_id(&r));
    }

    // Results over 1 MB are truncated into an application error.
    web_action(
        &g,
        "huge",
        "function main(p) { return {s: 'x'.repeat(1100000)} }",
        json!({}),
    );
    get(&s, "/api/v1/web/guest/default/huge.json")
        .assert_error(400, "Response is not valid 'application/json'.");
    let r = get(&s, "/api/v1/web/guest/default/huge.text");
    assert_eq!(r.status, 200);
    assert!(
        r.text
            .starts_with("The action produced a response that exceeded the allowed length"),
        "{}",
        &r.text[..200.min(r.text.len())]
    );

    // Python web actions.
    let py = s.default_kind("python");
    g.put(
        &format!("{NS}/actions/pyweb"),
        &json!({
            "exec": {"kind": py, "code": "def main(args):\n    return {'method': args.get('__ow_method'), 'path': args.get('__ow_path'), 'q': args.get('q')}\n"},
            "annotations": [{"key": "web-export", "value": true}],
        }),
    )
    .ok();
    let r = get(&s, "/api/v1/web/guest/default/pyweb.json/x?q=1");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!({"method": "get", "path": "/x", "q": "1"}));
}

#[test]
fn packages_bindings_sequences_and_owners() {
    let s = Server::start();
    let g = s.guest();
    g.put(
        &format!("{NS}/packages/pkg"),
        &json!({"publish": true, "parameters": [{"key": "p", "value": "pkg"}, {"key": "q", "value": "pkg"}, {"key": "b", "value": "pkg"}]}),
    )
    .ok();
    web_action(
        &g,
        "pkg/echo",
        ECHO,
        json!({"parameters": [{"key": "q", "value": "action"}]}),
    );
    g.put(
        &format!("{NS}/packages/bnd"),
        &json!({"binding": {"namespace": "guest", "name": "pkg"}, "parameters": [{"key": "p", "value": "binding"}],
                "annotations": [{"key": "web-export", "value": false}]}),
    )
    .ok();
    // Package < action < query < body.
    let r = post_json(
        &s,
        "/api/v1/web/guest/pkg/echo.json?b=query&z=query",
        &json!({"z": "body"}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        (&r.body["p"], &r.body["q"], &r.body["b"], &r.body["z"]),
        (
            &json!("pkg"),
            &json!("action"),
            &json!("query"),
            &json!("body")
        )
    );
    // Through a binding: binding parameters over the package's; the binding's annotations do
    // not matter.
    let r = get(&s, "/api/v1/web/guest/bnd/echo.json");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["p"], "binding");
    assert_eq!(r.body["q"], "action");
    get(&s, "/api/v1/web/guest/bnd/missing.json")
        .assert_error(404, "The requested resource does not exist.");
    get(&s, "/api/v1/web/guest/nobinding/echo.json")
        .assert_error(404, "The requested resource does not exist.");

    // A sequence as a web action.
    g.put(
        &format!("{NS}/actions/inc"),
        &node_action("function main(p) { return {n: (p.n|0) + 1, m: p.__ow_method} }"),
    )
    .ok();
    g.put(
        &format!("{NS}/actions/times"),
        &node_action("function main(p) { return {n: p.n * 10, m: p.m} }"),
    )
    .ok();
    g.put(
        &format!("{NS}/actions/seq"),
        &json!({"exec": {"kind": "sequence", "components": ["/guest/inc", "/guest/times"]},
                "annotations": [{"key": "web-export", "value": true}]}),
    )
    .ok();
    let r = get(&s, "/api/v1/web/guest/default/seq.json?n=1");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!({"n": 20, "m": "get"}));
    let seq_id = r.header("x-openwhisk-activation-id").unwrap().to_string();
    eventually(
        || g.get(&format!("{NS}/activations/{seq_id}")).status == 200,
        "the sequence's record is stored",
    );
    let rec = g.get(&format!("{NS}/activations/{seq_id}")).ok();
    assert_eq!(kv(&rec["annotations"], "kind"), Some(&json!("sequence")));

    // Another namespace's web action: billed to and recorded in the owner's namespace, whoever
    // calls.
    let alice_key = s.create_namespace("alice");
    let alice = s.api(Some(&alice_key));
    web_action(&alice, "hello", ECHO, json!({}));
    let r = send(
        &s,
        Method::GET,
        "/api/v1/web/alice/default/hello.json",
        Some(GUEST_KEY),
        &[],
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["__ow_user"], "guest");
    let id = r.header("x-openwhisk-activation-id").unwrap().to_string();
    eventually(
        || alice.get(&format!("{NS}/activations/{id}")).status == 200,
        "the record is in the owner's namespace",
    );
    let rec = alice.get(&format!("{NS}/activations/{id}")).ok();
    assert_eq!(rec["namespace"], "alice");
    assert_eq!(rec["subject"], "alice");
    assert_eq!(kv(&rec["annotations"], "path"), Some(&json!("alice/hello")));
    assert_ne!(g.get(&format!("{NS}/activations/{id}")).status, 200);
    // alice's binding of guest's public package works for the web too, as alice.
    alice
        .put(
            &format!("{NS}/packages/gb"),
            &json!({"binding": {"namespace": "guest", "name": "pkg"}, "parameters": [{"key": "p", "value": "alice"}]}),
        )
        .ok();
    let r = get(&s, "/api/v1/web/alice/gb/echo.json");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["p"], "alice");
    let id = r.header("x-openwhisk-activation-id").unwrap().to_string();
    eventually(
        || alice.get(&format!("{NS}/activations/{id}")).status == 200,
        "the binding's activation is alice's",
    );

    // Throttles are the owner's: alice at 2 per minute is refused, guest is not. A minute
    // boundary may reset the window once in a few calls, so look for the first 429.
    let set = s.admin(&[
        "namespace",
        "limits",
        "set",
        "alice",
        "--invocations-per-minute",
        "2",
    ]);
    assert!(
        set.status.success(),
        "{}",
        String::from_utf8_lossy(&set.stderr)
    );
    // The new limit is seen within the identity caches' lifetime.
    let mut throttled = None;
    eventually(
        || {
            let r = send(
                &s,
                Method::GET,
                "/api/v1/web/alice/default/hello.json",
                Some(GUEST_KEY),
                &[],
                None,
            );
            let hit = r.status == 429;
            if hit {
                throttled = Some(r);
            }
            hit
        },
        "alice's web action is throttled",
    );
    let r = throttled.unwrap();
    assert!(
        r.error()
            .starts_with("Too many requests in the last minute (count: "),
        "{}",
        r.text
    );
    r.assert_error_shape();
    assert_eq!(get(&s, "/api/v1/web/guest/pkg/echo.json").status, 200);
}

#[test]
fn bad_input_gets_clear_errors() {
    let s = Server::start();
    let g = s.guest();
    web_action(&g, "echo", ECHO, json!({}));
    let p = "/api/v1/web/guest/default/echo.json";
    // URLs up to 8 KB pass; a longer request line gets the front end's 414, as in OpenWhisk
    // (WskWebActionsTests: the full URL padded to 8192 characters answers, 100 more do not).
    let prefix = format!("{}{p}/a?a=", s.base);
    let pad = 8192 - prefix.len();
    let r = get(&s, &format!("{p}/a?a={}", "A".repeat(pad)));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["a"], "A".repeat(pad));
    let r = get(&s, &format!("{p}/a?a={}", "A".repeat(pad + 100)));
    assert_eq!(r.status, 414, "{}", r.text);
    assert!(r.text.contains("414 Request-URI Too Large"), "{}", r.text);
    // Over the owner's payload limit (1 MB): 413 from the declared length alone...
    let r = s.raw(
        format!(
            "POST {p} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: text/plain\r\nContent-Length: 1048577\r\nConnection: close\r\n\r\n",
            s.port
        )
        .as_bytes(),
    );
    r.assert_error(413, "Request larger than allowed: 1048577 > 1048576 bytes.");
    // ... and exactly at the limit it runs.
    web_action(
        &g,
        "size",
        "function main(p) { return {n: p.a.length} }",
        json!({}),
    );
    let json_body = format!(r#"{{"a":"{}"}}"#, "a".repeat(1024 * 1024 - 8));
    let r = send(
        &s,
        Method::POST,
        "/api/v1/web/guest/default/size.json",
        None,
        &[("content-type", "application/json")],
        Some(json_body.into_bytes()),
    );
    assert_eq!(r.status, 200, "{}", &r.text[..200.min(r.text.len())]);
    assert_eq!(r.body["n"], 1024 * 1024 - 8);
    // Request headers over 16 KB.
    let long = "h".repeat(17 * 1024);
    let r = send(&s, Method::GET, p, None, &[("x-long", &long)], None);
    assert_eq!(r.status, 431, "{}", r.text);
    assert!(
        r.error().starts_with("Request header fields too large: "),
        "{}",
        r.text
    );
    r.assert_error_shape();
    // Dot segments in the extra path.
    for path in [
        format!("{p}/../../etc/passwd"),
        format!("{p}/a/./b"),
        format!("{p}/%2e%2e/x"),
    ] {
        let req = format!(
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
            s.port
        );
        let r = s.raw(req.as_bytes());
        r.assert_error(
            400,
            "The path after the action name may not contain '.' or '..' segments.",
        );
    }
    // A dot segment naming the action itself does not match a web action.
    let req = format!(
        "GET /api/v1/web/guest/default/.. HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
        s.port
    );
    s.raw(req.as_bytes())
        .assert_error(404, "The requested resource does not exist.");
    // Non-UTF-8 percent escapes in names: 404, not 500.
    get(&s, "/api/v1/web/guest/default/%FF%FE.json")
        .assert_error(404, "The requested resource does not exist.");
    // The API keeps its own CORS and OPTIONS handling.
    let r = send(
        &s,
        Method::OPTIONS,
        "/api/v1/namespaces/_/actions",
        None,
        &[],
        None,
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("access-control-allow-methods"),
        Some("GET, DELETE, POST, PUT, HEAD")
    );
}

#[test]
fn slow_web_action_answers_202_with_its_activation_id() {
    let s = Server::start();
    let g = s.guest();
    web_action(
        &g,
        "slow",
        "function main() { return new Promise(r => setTimeout(() => r({done: true}), 70000)) }",
        json!({"limits": {"timeout": 120000}}),
    );
    let r = get(&s, "/api/v1/web/guest/default/slow.json");
    r.assert_error(202, "Response not yet ready.");
    let id = r.header("x-openwhisk-activation-id").unwrap().to_string();
    assert_eq!(id.len(), 32);
    // The activation is known to the owner (pending, then done).
    eventually(
        || g.get(&format!("{NS}/activations/{id}")).status == 200,
        "the pending activation is recorded",
    );
}
