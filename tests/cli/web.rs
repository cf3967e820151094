//! `action create|update --web|--web-secure`, `action get --url` and `api create|get|list|delete`
//! end to end, with wsk's texts and exit codes.

use serde_json::{json, Value};

use crate::support::{kv, Server};

const ECHO_JS: &str = "function main(p) { return {name: p.name || 'nobody', m: p.__ow_method} }";

fn annotations(w: &crate::support::Wsk, name: &str) -> Value {
    w.ok(&["action", "get", name, "annotations"]).json()
}

fn http(method: &str, url: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let c = reqwest::blocking::Client::new();
    let mut r = c.request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url);
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    let resp = r.send().expect("http request");
    let status = resp.status().as_u16();
    (status, resp.text().unwrap_or_default())
}

#[test]
fn web_flags_annotations_and_errors() {
    let s = Server::start();
    let w = s.wsk();
    w.write("echo.js", ECHO_JS);

    // --web on create; case-insensitive values.
    let o = w.ok(&["action", "create", "echo", "echo.js", "--web", "TRUE"]);
    assert_eq!(o.stdout, "ok: created action echo\n");
    let a = annotations(&w, "echo");
    assert_eq!(kv(&a, "web-export"), Some(&json!(true)));
    assert_eq!(kv(&a, "raw-http"), Some(&json!(false)));
    assert_eq!(kv(&a, "final"), Some(&json!(true)));
    assert_eq!(kv(&a, "require-whisk-auth"), None);

    w.ok(&["action", "create", "raw", "echo.js", "--web", "raw"]);
    let a = annotations(&w, "raw");
    assert_eq!(kv(&a, "web-export"), Some(&json!(true)));
    assert_eq!(kv(&a, "raw-http"), Some(&json!(true)));
    assert_eq!(kv(&a, "final"), Some(&json!(true)));

    w.ok(&["action", "create", "plain", "echo.js", "--web", "no"]);
    let a = annotations(&w, "plain");
    assert_eq!(kv(&a, "web-export"), Some(&json!(false)));
    assert_eq!(kv(&a, "raw-http"), Some(&json!(false)));
    assert_eq!(kv(&a, "final"), Some(&json!(false)));

    // Invalid --web values: usage error (exit 2) with wsk's text; nothing is created.
    let o = w.fails(&["action", "create", "bad", "echo.js", "--web", "maybe"], 2);
    assert_eq!(
        o.stderr,
        "error: Invalid argument(s). Invalid argument 'maybe' for --web flag. Valid input consist of 'yes', 'true', 'raw', 'false', or 'no'.\nRun 'whirl --help' for usage.\n"
    );
    w.fails(&["action", "get", "bad"], 148);
    let o = w.fails(&["action", "update", "echo", "--web", "1"], 2);
    assert!(
        o.stderr.contains("Invalid argument '1' for --web flag."),
        "{}",
        o.stderr
    );

    // --web-secure needs a web action (from --web or the existing action).
    let o = w.fails(
        &["action", "create", "sec", "echo.js", "--web-secure", "true"],
        2,
    );
    assert_eq!(
        o.stderr,
        "error: Invalid argument(s). The --web-secure option is only valid when the --web option is enabled.\nRun 'whirl --help' for usage.\n"
    );
    w.fails(&["action", "update", "plain", "--web-secure", "s"], 2);
    w.fails(
        &[
            "action",
            "update",
            "echo",
            "--web",
            "false",
            "--web-secure",
            "s",
        ],
        2,
    );

    // --web-secure true: a random numeric secret, kept by a second `true`.
    w.ok(&[
        "action",
        "create",
        "sec",
        "echo.js",
        "--web",
        "yes",
        "--web-secure",
        "true",
    ]);
    let a = annotations(&w, "sec");
    let secret = kv(&a, "require-whisk-auth").cloned().unwrap();
    assert!(
        secret.as_i64().is_some_and(|n| n > 0 && n < (1 << 53)),
        "{secret}"
    );
    w.ok(&["action", "update", "sec", "--web-secure", "true"]);
    assert_eq!(
        kv(&annotations(&w, "sec"), "require-whisk-auth"),
        Some(&secret)
    );

    // -a replaces the annotations, but --web carries the secret forward.
    w.ok(&[
        "action", "update", "sec", "-a", "note", "x", "--web", "true",
    ]);
    let a = annotations(&w, "sec");
    assert_eq!(kv(&a, "note"), Some(&json!("x")));
    assert_eq!(kv(&a, "require-whisk-auth"), Some(&secret));
    // A string secret; the existing web annotations and other annotations stay.
    w.ok(&["action", "update", "sec", "--web-secure", "s3cret"]);
    let a = annotations(&w, "sec");
    assert_eq!(kv(&a, "require-whisk-auth"), Some(&json!("s3cret")));
    assert_eq!(kv(&a, "web-export"), Some(&json!(true)));
    assert_eq!(kv(&a, "note"), Some(&json!("x")));

    // The secret guards the web URL.
    let url = format!("{}/api/v1/web/guest/default/sec.json", s.api_host);
    let (st, _) = http("GET", &url, &[]);
    assert_eq!(st, 401);
    let (st, body) = http("GET", &url, &[("X-Require-Whisk-Auth", "s3cret")]);
    assert_eq!(st, 200, "{body}");

    // --web again carries the secret forward; --web-secure false removes it.
    w.ok(&["action", "update", "sec", "--web", "true"]);
    assert_eq!(
        kv(&annotations(&w, "sec"), "require-whisk-auth"),
        Some(&json!("s3cret"))
    );
    w.ok(&["action", "update", "sec", "--web-secure", "false"]);
    let a = annotations(&w, "sec");
    assert_eq!(kv(&a, "require-whisk-auth"), None, "{a}");
    assert_eq!(kv(&a, "web-export"), Some(&json!(true)));
    let (st, body) = http("GET", &url, &[]);
    assert_eq!(st, 200, "{body}");

    // --web-secure false without a secret sets it to false, as wsk does.
    w.ok(&["action", "update", "raw", "--web-secure", "false"]);
    assert_eq!(
        kv(&annotations(&w, "raw"), "require-whisk-auth"),
        Some(&json!(false))
    );

    // --web false on update turns the web annotations off.
    w.ok(&["action", "update", "echo", "--web", "false"]);
    let a = annotations(&w, "echo");
    assert_eq!(kv(&a, "web-export"), Some(&json!(false)));
    assert_eq!(kv(&a, "raw-http"), Some(&json!(false)));
    assert_eq!(kv(&a, "final"), Some(&json!(false)));
    let (st, _) = http(
        "GET",
        &format!("{}/api/v1/web/guest/default/echo.json", s.api_host),
        &[],
    );
    assert_eq!(st, 404);
}

#[test]
fn get_url_resolves_namespace_and_package() {
    let s = Server::start();
    let w = s.wsk();
    w.write("echo.js", ECHO_JS);
    w.ok(&["package", "create", "demo"]);
    w.ok(&["action", "create", "demo/echo", "echo.js", "--web", "true"]);
    w.ok(&["action", "create", "top", "echo.js", "--web", "true"]);
    w.ok(&["action", "create", "std", "echo.js"]);

    let host = &s.api_host;
    let o = w.ok(&["action", "get", "demo/echo", "--url"]);
    assert_eq!(
        o.stdout,
        format!("ok: got action echo\n{host}/api/v1/web/guest/demo/echo\n")
    );
    let o = w.ok(&["action", "get", "/_/top", "--url"]);
    assert_eq!(
        o.stdout,
        format!("ok: got action top\n{host}/api/v1/web/guest/default/top\n")
    );
    let o = w.ok(&["action", "get", "/guest/demo/echo", "-r"]);
    assert_eq!(
        o.stdout,
        format!("ok: got action echo\n{host}/api/v1/web/guest/demo/echo\n")
    );
    let o = w.ok(&["action", "get", "std", "--url"]);
    assert_eq!(
        o.stdout,
        format!("ok: got action std\n{host}/api/v1/namespaces/guest/actions/std\n")
    );
    // A field filter is ignored with --url.
    let o = w.ok(&["action", "get", "top", "exec", "--url"]);
    assert!(o.stdout.starts_with("ok: got action top\n"), "{}", o.stdout);

    // The printed URL answers.
    let url = format!("{host}/api/v1/web/guest/demo/echo.json?name=Ann");
    let (st, body) = http("GET", &url, &[]);
    assert_eq!(st, 200, "{body}");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["name"], "Ann");

    let o = w.fails(&["action", "get", "nope", "--url"], 148);
    assert!(
        o.stderr.starts_with("error: Unable to get action 'nope': "),
        "{}",
        o.stderr
    );
}

#[test]
fn api_routes_end_to_end() {
    let s = Server::start();
    let w = s.wsk();
    w.write("echo.js", ECHO_JS);
    w.ok(&["action", "create", "hello", "echo.js", "--web", "true"]);
    w.ok(&["action", "create", "std", "echo.js"]);

    // Only web actions can back a route.
    let o = w.fails(&["api", "create", "/hello", "/world", "get", "std"], 1);
    assert_eq!(
        o.stderr,
        "error: Action '/_/std' is not a web action. Issue 'wsk action update \"/_/std\" --web true' to convert the action to a web action.\nRun 'whirl --help' for usage.\n"
    );

    let o = w.ok(&[
        "api",
        "create",
        "/hello",
        "/world",
        "get",
        "hello",
        "--response-type",
        "json",
    ]);
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", o.stdout);
    assert_eq!(
        lines[0],
        "ok: created API /hello/world GET for action /_/hello"
    );
    let url = lines[1].to_string();
    assert!(url.ends_with("/hello/world"), "{url}");
    let (st, body) = http("GET", &format!("{url}?name=Bo"), &[]);
    assert_eq!(st, 200, "{body}");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["name"], "Bo");

    w.ok(&[
        "api", "create", "/hello", "/there", "post", "hello", "-n", "Greeter",
    ]);

    let o = w.ok(&["api", "get", "/hello"]);
    let doc = o.json();
    assert_eq!(doc["basePath"], "/hello");
    assert!(doc["paths"]["/world"]["get"].is_object(), "{doc}");
    let o = w.ok(&["api", "get", "/hello", "--format", "yaml"]);
    assert!(o.stdout.contains("basePath: /hello\n"), "{}", o.stdout);
    let o = w.fails(&["api", "get", "/nothing"], 1);
    assert_eq!(
        o.stderr,
        "error: API does not exist for basepath /nothing\n"
    );

    let o = w.ok(&["api", "list"]);
    assert!(o.stdout.starts_with("ok: APIs\nAction "), "{}", o.stdout);
    assert!(o.stdout.contains(&url), "{}", o.stdout);
    let rows: Vec<&str> = o.stdout.lines().skip(2).collect();
    assert_eq!(rows.len(), 2, "{}", o.stdout);
    let o = w.ok(&["api", "list", "/hello", "/there", "post", "-f"]);
    assert!(o.stdout.starts_with("ok: APIs\nAction: /"), "{}", o.stdout);
    assert!(
        o.stdout.contains("   Path: /there\n   Verb: post\n"),
        "{}",
        o.stdout
    );

    let o = w.ok(&["api", "delete", "/hello", "/there", "post"]);
    assert_eq!(o.stdout, "ok: deleted /there POST from /hello\n");
    let o = w.ok(&["api", "delete", "/hello"]);
    assert_eq!(o.stdout, "ok: deleted API /hello\n");
    let o = w.ok(&["api", "list"]);
    assert_eq!(
        o.stdout,
        "ok: APIs\nAction                            Verb             API Name  URL\n"
    );
}
