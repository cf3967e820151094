//! CLI tests against a tiny in-process HTTP server that records requests and returns canned
//! OpenWhisk-shaped answers.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use crate::{run_with, Env};

const GUEST: &str =
    "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP";

#[derive(Debug, Clone)]
struct Req {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Req {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
    fn header(&self, n: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(n))
            .map(|(_, v)| v.as_str())
    }
}

type Handler = Arc<dyn Fn(&Req) -> (u16, String) + Send + Sync>;

struct Server {
    url: String,
    reqs: Arc<Mutex<Vec<Req>>>,
}

impl Server {
    fn start(h: impl Fn(&Req) -> (u16, String) + Send + Sync + 'static) -> Server {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", l.local_addr().unwrap());
        let reqs = Arc::new(Mutex::new(Vec::new()));
        let r2 = reqs.clone();
        let h: Handler = Arc::new(h);
        std::thread::spawn(move || {
            for s in l.incoming() {
                let Ok(mut s) = s else { continue };
                let mut rd = BufReader::new(s.try_clone().unwrap());
                let mut line = String::new();
                if rd.read_line(&mut line).is_err() || line.is_empty() {
                    continue;
                }
                let mut parts = line.split_whitespace();
                let method = parts.next().unwrap_or("").to_string();
                let target = parts.next().unwrap_or("").to_string();
                let (path, query) = match target.split_once('?') {
                    Some((p, q)) => (p.to_string(), q.to_string()),
                    None => (target.clone(), String::new()),
                };
                let mut headers = Vec::new();
                let mut len = 0usize;
                loop {
                    let mut h = String::new();
                    rd.read_line(&mut h).unwrap();
                    let h = h.trim_end();
                    if h.is_empty() {
                        break;
                    }
                    if let Some((k, v)) = h.split_once(':') {
                        if k.eq_ignore_ascii_case("content-length") {
                            len = v.trim().parse().unwrap();
                        }
                        headers.push((k.to_string(), v.trim().to_string()));
                    }
                }
                let mut body = vec![0u8; len];
                rd.read_exact(&mut body).unwrap();
                let req = Req {
                    method,
                    path,
                    query,
                    headers,
                    body: String::from_utf8_lossy(&body).into(),
                };
                let (status, text) = h(&req);
                r2.lock().unwrap().push(req);
                let resp = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nX-Request-ID: tid123\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                    text.len()
                );
                let _ = s.write_all(resp.as_bytes());
            }
        });
        Server { url, reqs }
    }

    fn reqs(&self) -> Vec<Req> {
        self.reqs.lock().unwrap().clone()
    }
}

struct Out {
    code: i32,
    out: String,
    err: String,
}

fn run_env(args: &[&str], env: &Env) -> Out {
    let mut out = Vec::new();
    let mut err = Vec::new();
    let mut argv = vec!["wsk"];
    argv.extend_from_slice(args);
    let code = run_with(argv, env, &mut out, &mut err);
    Out {
        code,
        out: String::from_utf8_lossy(&out).into(),
        err: String::from_utf8_lossy(&err).into(),
    }
}

fn env_for(s: &Server, dir: &tempfile::TempDir) -> Env {
    std::fs::write(
        dir.path().join(".wskprops"),
        format!("APIHOST={}\nAUTH={GUEST}\n", s.url),
    )
    .unwrap();
    let mut e = Env::with_home(dir.path());
    e.cwd = Some(dir.path().to_path_buf());
    e.poll_interval = std::time::Duration::from_millis(20);
    e
}

fn ok_server() -> Server {
    Server::start(|r| {
        let body = match (r.method.as_str(), r.path.as_str()) {
            ("GET", "/api/v1/namespaces") => json!(["guest"]),
            ("GET", "/api/v1") => json!({"build": "2024", "buildno": "42"}),
            ("POST", p) if p.contains("/actions/") => {
                if r.query.contains("blocking=true") {
                    json!({"activationId": "a1", "response": {"status": "success", "success": true, "result": {"x": 1}}})
                } else {
                    json!({"activationId": "a1"})
                }
            }
            ("POST", p) if p.contains("/triggers/") => json!({"activationId": "t1"}),
            ("GET", p)
                if p.ends_with("/actions")
                    || p.ends_with("/packages")
                    || p.ends_with("/triggers") =>
            {
                json!([])
            }
            ("GET", p) if p.ends_with("/rules") => json!([{"namespace": "guest", "name": "r1"}]),
            ("GET", p) if p.contains("/rules/") => json!({"name": "r1", "status": "active"}),
            ("GET", p) if p.ends_with("/activations") => json!([{
                "activationId": "abc", "namespace": "guest", "name": "hello", "version": "0.0.1",
                "start": 1_493_327_653_767_i64, "end": 1_493_327_653_769_i64, "duration": 2, "statusCode": 0,
                "annotations": [{"key": "kind", "value": "nodejs:20"}, {"key": "initTime", "value": 5}],
                "logs": ["2017-04-27T21:14:13.767913398Z stdout: hello"]
            }]),
            ("GET", p) if p.ends_with("/logs") => {
                json!({"logs": ["2017-04-27T21:14:13.767913398Z stdout: hi"]})
            }
            ("GET", p) if p.ends_with("/result") => json!({"result": {"r": 2}, "success": true}),
            ("GET", p) if p.contains("/activations/") => {
                json!({"activationId": "abc", "name": "hello", "namespace": "guest", "response": {"status": "success", "result": {"r": 2}}, "end": 0})
            }
            _ => json!({"name": "x", "namespace": "guest", "annotations": []}),
        };
        (200, body.to_string())
    })
}

#[test]
fn clap_definition_is_valid() {
    crate::command("wsk").debug_assert();
    crate::command("whirl").debug_assert();
}

#[test]
fn help_and_unknown_commands() {
    let d = tempfile::tempdir().unwrap();
    let env = Env::with_home(d.path());
    let o = run_env(&["--help"], &env);
    assert_eq!(o.code, 0);
    assert!(o.out.contains("whirl standalone"));
    assert!(o.out.contains("Usage: wsk"));
    let o = run_env(&["bogus"], &env);
    assert_eq!(o.code, 1);
    assert!(!o.err.is_empty());
}

#[test]
fn completions() {
    let d = tempfile::tempdir().unwrap();
    let env = Env::with_home(d.path());
    for sh in ["bash", "zsh", "fish"] {
        let o = run_env(&["completions", sh], &env);
        assert_eq!(o.code, 0, "{}", o.err);
        assert!(o.out.contains("wsk"));
    }
}

#[test]
fn action_create_infers_kind_and_sends_params() {
    let s = ok_server();
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("hello.js"), "function main(){}").unwrap();
    let env = env_for(&s, &d);
    let o = run_env(
        &[
            "action",
            "create",
            "hello",
            "hello.js",
            "-p",
            "n",
            "5",
            "-p",
            "s",
            "text",
            "-a",
            "description",
            "hi",
            "-m",
            "128",
            "--web",
            "true",
        ],
        &env,
    );
    assert_eq!(o.code, 0, "{}", o.err);
    assert_eq!(o.out, "ok: created action hello\n");
    let r = &s.reqs()[0];
    assert_eq!(r.method, "PUT");
    assert_eq!(r.path, "/api/v1/namespaces/_/actions/hello");
    assert_eq!(r.query, "overwrite=false");
    assert!(r.header("authorization").unwrap().starts_with("Basic "));
    let b = r.json();
    assert_eq!(
        b["exec"],
        json!({"kind": "nodejs:default", "code": "function main(){}"})
    );
    assert_eq!(
        b["parameters"],
        json!([{"key": "n", "value": 5}, {"key": "s", "value": "text"}])
    );
    assert_eq!(b["limits"], json!({"memory": 128}));
    let annots = b["annotations"].as_array().unwrap();
    assert!(annots.contains(&json!({"key": "web-export", "value": true})));
    assert!(annots.contains(&json!({"key": "final", "value": true})));
    assert!(annots.contains(&json!({"key": "description", "value": "hi"})));
}

#[test]
fn action_create_zip_is_base64_and_needs_kind() {
    let s = ok_server();
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("a.zip"), [0u8, 1, 2, 255]).unwrap();
    let env = env_for(&s, &d);
    let o = run_env(&["action", "create", "a", "a.zip"], &env);
    assert_eq!(o.code, 2);
    assert!(
        o.err.contains("requires specifying the action kind"),
        "{}",
        o.err
    );
    let o = run_env(
        &[
            "action",
            "create",
            "a",
            "a.zip",
            "--kind",
            "python:3.11",
            "--main",
            "go",
        ],
        &env,
    );
    assert_eq!(o.code, 0, "{}", o.err);
    let b = s.reqs()[0].json();
    assert_eq!(
        b["exec"],
        json!({"kind": "python:3.11", "code": "AAEC/w==", "main": "go"})
    );
}

#[test]
fn action_sequence_docker_and_update() {
    let s = ok_server();
    let d = tempfile::tempdir().unwrap();
    let env = env_for(&s, &d);
    let o = run_env(
        &["action", "create", "seq", "a,pkg/b,/other/c", "--sequence"],
        &env,
    );
    assert_eq!(o.code, 0, "{}", o.err);
    assert_eq!(
        s.reqs()[0].json()["exec"],
        json!({"kind": "sequence", "components": ["/_/a", "/_/pkg/b", "/other/c"]})
    );
    let o = run_env(
        &[
            "action", "update", "img", "--docker", "me/img", "-t", "1000",
        ],
        &env,
    );
    assert_eq!(o.code, 0, "{}", o.err);
    assert_eq!(o.out, "ok: updated action img\n");
    let r = &s.reqs()[1];
    assert_eq!(r.query, "overwrite=true");
    assert_eq!(
        r.json()["exec"],
        json!({"kind": "blackbox", "image": "me/img"})
    );
    assert!(r.json().get("parameters").is_none());
    let o = run_env(
        &["action", "create", "x", "--kind", "k", "--docker", "i"],
        &env,
    );
    assert_eq!(o.code, 149);
    assert!(o.err.contains("Cannot specify both --kind and --docker"));
}

#[test]
fn invoke_variants() {
    let s = ok_server();
    let d = tempfile::tempdir().unwrap();
    let env = env_for(&s, &d);
    let o = run_env(&["action", "invoke", "hello", "-p", "name", "Bob"], &env);
    assert_eq!(o.code, 0, "{}", o.err);
    assert_eq!(o.out, "ok: invoked /_/hello with id a1\n");
    let r = &s.reqs()[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.query, "blocking=false&result=false");
    assert_eq!(r.json(), json!({"name": "Bob"}));
    let o = run_env(&["action", "invoke", "/guest/pkg/hello", "-b"], &env);
    assert_eq!(o.code, 0);
    assert!(o
        .out
        .starts_with("ok: invoked /guest/pkg/hello with id a1\n{\n    \"activationId\""));
    assert_eq!(
        s.reqs()[1].path,
        "/api/v1/namespaces/guest/actions/pkg/hello"
    );
    let o = run_env(&["action", "invoke", "hello", "-r"], &env);
    assert_eq!(s.reqs()[2].query, "blocking=true&result=true");
    assert!(!o.out.contains("ok:"));
}

#[test]
fn invoke_errors_and_exit_codes() {
    let s = Server::start(|r| {
        match r.path.as_str() {
        p if p.ends_with("/missing") => {
            (404, json!({"error": "The requested resource does not exist.", "code": "tid9"}).to_string())
        }
        p if p.ends_with("/slow") => (202, json!({"activationId": "s1"}).to_string()),
        _ => (
            502,
            json!({"activationId": "e1", "response": {"status": "application error", "success": false, "result": {"error": "boom"}}}).to_string(),
        ),
    }
    });
    let d = tempfile::tempdir().unwrap();
    let env = env_for(&s, &d);
    let o = run_env(&["action", "invoke", "missing"], &env);
    assert_eq!(o.code, 148);
    assert_eq!(
        o.err,
        "error: Unable to invoke action 'missing': The requested resource does not exist. (code tid9)\nRun 'wsk --help' for usage.\n"
    );
    let o = run_env(&["action", "invoke", "slow", "-b"], &env);
    assert_eq!(o.code, 202);
    assert!(o
        .err
        .contains("ok: invoked /_/slow, but the request has not yet finished, with id s1"));
    let o = run_env(&["action", "invoke", "bad", "-b"], &env);
    assert_eq!(o.code, 246);
    assert!(o.err.starts_with("ok: invoked /_/bad with id e1\n"));
    assert!(o.err.contains("\"boom\""));
    assert!(o.out.is_empty());
}

#[test]
fn get_delete_list_outputs() {
    let s = ok_server();
    let d = tempfile::tempdir().unwrap();
    let env = env_for(&s, &d);
    let o = run_env(&["action", "get", "x"], &env);
    assert_eq!(o.code, 0, "{}", o.err);
    assert!(o
        .out
        .starts_with("ok: got action x\n{\n    \"annotations\": []"));
    assert_eq!(s.reqs()[0].query, "code=false");
    let o = run_env(&["action", "get", "x", "name"], &env);
    assert_eq!(o.out, "ok: got action x, displaying field name\n\"x\"\n");
    let o = run_env(&["action", "get", "x", "bogus"], &env);
    assert_eq!(o.code, 1);
    let o = run_env(&["action", "delete", "x"], &env);
    assert_eq!(o.out, "ok: deleted action x\n");
    let o = run_env(&["action", "list", "pkg", "-l", "5"], &env);
    assert_eq!(o.code, 0, "{}", o.err);
    let r = s.reqs().into_iter().last().unwrap();
    assert_eq!(r.path, "/api/v1/namespaces/_/actions/pkg/");
    assert_eq!(r.query, "limit=5&skip=0");
    let o = run_env(&["rule", "list"], &env);
    assert_eq!(
        o.out,
        format!("rules\n{:<70} {:<20} active\n", "/guest/r1", "private")
    );
}

#[test]
fn activation_commands() {
    let s = ok_server();
    let d = tempfile::tempdir().unwrap();
    let env = env_for(&s, &d);
    let o = run_env(&["activation", "list", "hello", "--since", "5"], &env);
    assert_eq!(o.code, 0, "{}", o.err);
    assert!(o.out.starts_with("Datetime "));
    assert!(o.out.contains("2017-04-27 21:14:13 abc"));
    assert!(o.out.contains("cold"));
    assert!(o.out.contains("guest/hello:0.0.1"));
    let r = &s.reqs()[0];
    assert_eq!(r.path, "/api/v1/namespaces/_/activations");
    assert_eq!(r.query, "name=hello&limit=30&skip=0&since=5");
    let o = run_env(&["activation", "logs", "--last", "-r"], &env);
    assert_eq!(o.out, "hi\n");
    assert_eq!(s.reqs()[1].query, "limit=1&skip=0");
    assert_eq!(
        s.reqs()[2].path,
        "/api/v1/namespaces/_/activations/abc/logs"
    );
    let o = run_env(&["activation", "result", "abc"], &env);
    assert_eq!(o.out, "{\n    \"r\": 2\n}\n");
    let o = run_env(&["activation", "get", "abc"], &env);
    assert!(o.out.starts_with("ok: got activation abc\n"));
    let o = run_env(&["activation", "poll", "-e", "1"], &env);
    assert_eq!(o.code, 0);
    assert!(o.out.contains("Polling for activation logs"));
}

#[test]
fn triggers_rules_packages() {
    let s = ok_server();
    let d = tempfile::tempdir().unwrap();
    let env = env_for(&s, &d);
    let o = run_env(&["trigger", "create", "t", "-p", "a", "1"], &env);
    assert_eq!(o.out, "ok: created trigger t\n");
    assert_eq!(
        s.reqs()[0].json(),
        json!({"name": "t", "parameters": [{"key": "a", "value": 1}]})
    );
    let o = run_env(&["trigger", "fire", "t", "-p", "x", "y"], &env);
    assert_eq!(o.out, "ok: triggered /_/t with id t1\n");
    assert_eq!(s.reqs()[1].json(), json!({"x": "y"}));
    let o = run_env(&["rule", "create", "r", "t", "a"], &env);
    assert_eq!(o.out, "ok: created rule r\n");
    assert_eq!(
        s.reqs()[2].json(),
        json!({"name": "r", "trigger": "/_/t", "action": "/_/a"})
    );
    let o = run_env(&["rule", "disable", "r"], &env);
    assert_eq!(o.out, "ok: disabled rule r\n");
    assert_eq!(s.reqs()[3].json(), json!({"status": "inactive"}));
    let o = run_env(&["rule", "status", "r1"], &env);
    assert_eq!(o.out, "ok: rule r1 is active\n");
    let o = run_env(
        &[
            "package",
            "bind",
            "/whisk.system/samples",
            "mine",
            "-p",
            "k",
            "v",
        ],
        &env,
    );
    assert_eq!(o.out, "ok: created binding mine\n");
    let b = s.reqs()[5].json();
    assert_eq!(
        b["binding"],
        json!({"namespace": "whisk.system", "name": "samples"})
    );
    let o = run_env(&["package", "create", "p", "--shared", "yes"], &env);
    assert_eq!(o.out, "ok: created package p\n");
    assert_eq!(s.reqs()[6].json()["publish"], json!(true));
}

#[test]
fn trigger_with_feed_runs_lifecycle() {
    let s = ok_server();
    let d = tempfile::tempdir().unwrap();
    let env = env_for(&s, &d);
    let o = run_env(
        &[
            "trigger",
            "create",
            "t",
            "--feed",
            "/whisk.system/alarms/alarm",
            "-p",
            "cron",
            "* * * * *",
        ],
        &env,
    );
    assert_eq!(o.code, 0, "{}", o.err);
    let rs = s.reqs();
    assert_eq!(
        rs[0].json()["annotations"],
        json!([{"key": "feed", "value": "/whisk.system/alarms/alarm"}])
    );
    assert!(rs[0].json().get("parameters").is_none());
    assert_eq!(
        rs[1].path,
        "/api/v1/namespaces/whisk.system/actions/alarms/alarm"
    );
    assert_eq!(rs[1].query, "blocking=true&result=false");
    let p = rs[1].json();
    assert_eq!(p["lifecycleEvent"], "CREATE");
    assert_eq!(p["triggerName"], "/_/t");
    assert_eq!(p["authKey"], GUEST);
    assert_eq!(p["cron"], "* * * * *");
    assert!(o.out.ends_with("ok: created trigger t\n"));
}

#[test]
fn namespace_and_property() {
    let s = ok_server();
    let d = tempfile::tempdir().unwrap();
    let env = env_for(&s, &d);
    let o = run_env(&["namespace", "list"], &env);
    assert_eq!(o.out, "namespaces\nguest\n");
    let o = run_env(&["list"], &env);
    assert!(
        o.out
            .starts_with("Entities in namespace: default\npackages\nactions\ntriggers\nrules\n"),
        "{}",
        o.out
    );
    let o = run_env(&["property", "get", "--apibuild", "-o", "raw"], &env);
    assert_eq!(o.out, "2024\n");
    let o = run_env(
        &[
            "property",
            "set",
            "--apihost",
            "example.com:443",
            "--namespace",
            "ns1",
        ],
        &env,
    );
    assert_eq!(o.code, 0, "{}", o.err);
    assert!(o.out.contains("ok: whisk API host set to example.com:443"));
    let text = std::fs::read_to_string(d.path().join(".wskprops")).unwrap();
    assert!(text.contains("APIHOST=example.com:443\n"));
    assert!(text.contains(&format!("AUTH={GUEST}\n")));
    let o = run_env(&["property", "unset", "--auth"], &env);
    assert_eq!(o.out, "ok: whisk auth unset.\n");
    let o = run_env(&["property", "get", "--auth"], &env);
    assert_eq!(o.out, "whisk auth\t\t\n");
}

#[test]
fn config_errors() {
    let d = tempfile::tempdir().unwrap();
    let env = Env::with_home(d.path());
    let o = run_env(&["action", "list"], &env);
    assert_eq!(o.code, 1);
    assert!(o.err.contains("The API host is not valid"));
    let o = run_env(&["action", "list", "--apihost", "http://127.0.0.1:9"], &env);
    assert_eq!(o.code, 2);
    assert!(o
        .err
        .contains("Authorization key is not configured (--auth is required)"));
    // connection refused -> network error exit 3
    let o = run_env(
        &[
            "action",
            "list",
            "--apihost",
            "http://127.0.0.1:9",
            "-u",
            GUEST,
        ],
        &env,
    );
    assert_eq!(o.code, 3, "{}", o.err);
}

#[test]
fn flags_override_env_override_file() {
    let s = ok_server();
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join(".wskprops"),
        "APIHOST=http://127.0.0.1:9\nAUTH=file:key\n",
    )
    .unwrap();
    let env = Env::with_home(d.path()).var("WHISK_APIHOST", &s.url);
    let o = run_env(&["namespace", "list"], &env);
    assert_eq!(o.code, 0, "{}", o.err);
    let auth = s.reqs()[0].header("authorization").unwrap().to_string();
    let o = run_env(&["namespace", "list", "-u", GUEST], &env);
    assert_eq!(o.code, 0);
    assert_ne!(s.reqs()[1].header("authorization").unwrap(), auth);
    let env = Env::with_home(d.path()).var("WHISK_APIHOST", "http://127.0.0.1:9");
    let o = run_env(&["--apihost", &s.url, "namespace", "list"], &env);
    assert_eq!(o.code, 0, "{}", o.err);
}

#[test]
fn verbose_prints_requests() {
    let s = ok_server();
    let d = tempfile::tempdir().unwrap();
    let env = env_for(&s, &d);
    let o = run_env(&["namespace", "list", "-v"], &env);
    assert!(o.out.contains("REQUEST:\n[GET]\t"));
    assert!(o.out.contains("namespaces\nguest\n"));
}

#[test]
fn program_name_from_argv0() {
    let d = tempfile::tempdir().unwrap();
    let env = Env::with_home(d.path());
    let mut out = Vec::new();
    let mut err = Vec::new();
    let code = run_with(["/usr/local/bin/whirl", "--help"], &env, &mut out, &mut err);
    assert_eq!(code, 0);
    assert!(String::from_utf8_lossy(&out).contains("Usage: whirl"));
}

mod api;
