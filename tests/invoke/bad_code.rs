//! Limits and bad code (spec §3.1, §3.2, §3.10, §4): each case is a real action with the exact
//! outcome OpenWhisk gives.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::support::{
    alive, annotation, eventually, limits, node, python, server, zip_base64, Api, Resp,
};

const DEV: &str = "action developer error";
const APP: &str = "application error";

/// Blocking invoke expecting 502 with status `status`; the response.
#[track_caller]
fn fails(api: &Api, name: &str, payload: &Value, status: &str) -> Resp {
    let r = api.call(name, payload);
    assert_eq!(r.status, 502, "{name}: {}", r.text);
    assert_eq!(r.body["response"]["status"], status, "{name}: {}", r.text);
    assert!(r.header("x-openwhisk-activation-id").is_some());
    r
}

fn error_of(r: &Resp) -> String {
    r.result()["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error string in {}", r.text))
        .to_string()
}

#[test]
fn init_timeout_node_and_python() {
    let s = server().start();
    let api = s.guest();
    let msg = "The action exceeded its time limits of 1000 milliseconds during initialization.";
    api.action(
        "slowinitjs",
        &limits(
            node("const until = Date.now() + 5000; while (Date.now() < until) {}\nfunction main() { return {} }"),
            json!({"timeout": 1000}),
        ),
    );
    api.action(
        "slowinitpy",
        &limits(
            python("import time\ntime.sleep(5)\ndef main(args):\n    return {}\n"),
            json!({"timeout": 1000}),
        ),
    );
    for name in ["slowinitjs", "slowinitpy"] {
        let r = fails(&api, name, &json!({}), DEV);
        assert_eq!(r.result(), &json!({ "error": msg }), "{name}");
        assert_eq!(
            annotation(&r.body, "timeout"),
            Some(&json!(true)),
            "{name}: {}",
            r.text
        );
        assert!(annotation(&r.body, "initTime").is_some(), "{name}");
    }
    eventually("the timed-out containers are gone", || {
        s.containers().is_empty()
    });
}

#[test]
fn run_timeout_kills_the_sandbox() {
    let s = server().start();
    let api = s.guest();
    api.action(
        "forever",
        &limits(python("import time\ndef main(args):\n    time.sleep(args.get('secs', 30))\n    return {}\n"), json!({"timeout": 1000})),
    );
    // Warm it up so the container exists before the long run.
    assert_eq!(api.call_ok("forever", &json!({"secs": 0})), json!({}));
    let procs = s.sandbox_processes();
    assert!(!procs.is_empty());
    let r = fails(&api, "forever", &json!({"secs": 30}), DEV);
    assert_eq!(
        r.result(),
        &json!({"error": "The action exceeded its time limits of 1000 milliseconds."})
    );
    assert_eq!(annotation(&r.body, "timeout"), Some(&json!(true)));
    eventually("the sandbox processes are gone", || {
        procs.iter().all(|p| !alive(p))
    });
    eventually("the container cgroup is gone", || s.containers().is_empty());
    // A node action that never resolves.
    api.action(
        "pending",
        &limits(
            node("function main() { return new Promise(() => {}) }"),
            json!({"timeout": 1000}),
        ),
    );
    let r = fails(&api, "pending", &json!({}), DEV);
    assert_eq!(
        error_of(&r),
        "The action exceeded its time limits of 1000 milliseconds."
    );
    eventually("the container cgroup is gone", || s.containers().is_empty());
}

#[test]
fn memory_hog_is_aborted() {
    let s = server().start();
    let api = s.guest();
    let hog = "function main() {\n  const keep = [];\n  for (let i = 0; i < 100; i++) keep.push(Buffer.alloc(10 * 1024 * 1024, 1));\n  \
               return { n: keep.length };\n}";
    api.action("hog", &limits(node(hog), json!({"memory": 128})));
    let r = fails(&api, "hog", &json!({}), DEV);
    assert_eq!(
        r.result(),
        &json!({"error": "The action exhausted its memory and was aborted."})
    );
    let pyhog = "def main(args):\n    keep = []\n    for i in range(100):\n        keep.append(bytearray(b'x') * (10 * 1024 * 1024))\n    return {'n': len(keep)}\n";
    api.action("pyhog", &limits(python(pyhog), json!({"memory": 128})));
    let r = fails(&api, "pyhog", &json!({}), DEV);
    assert_eq!(
        r.result(),
        &json!({"error": "The action exhausted its memory and was aborted."})
    );
    // The server still runs actions.
    api.action("ok", &node("function main() { return { ok: true } }"));
    assert_eq!(api.call_ok("ok", &json!({})), json!({"ok": true}));
}

#[test]
fn fork_bomb_hits_the_pids_limit() {
    let s = server().start();
    let api = s.guest();
    // Forks until the pids limit (1024) refuses; the children exec a small `sleep`.
    let bomb = "import os\n\
                def main(args):\n    n = 0\n    err = None\n    while n < 5000:\n        try:\n            pid = os.fork()\n        \
                except OSError as e:\n            err = e.errno\n            break\n        if pid == 0:\n            \
                try:\n                os.execv('/bin/sleep', ['sleep', '3'])\n            finally:\n                os._exit(1)\n        \
                n += 1\n    return {'forked': n, 'errno': err}\n";
    api.action("bomb", &limits(python(bomb), json!({"memory": 512})));
    let out = api.call_ok("bomb", &json!({}));
    assert_eq!(out["errno"], 11, "EAGAIN from the pids limit: {out}");
    let n = out["forked"].as_u64().expect("forked");
    assert!(n > 0 && n < 1024, "{out}");
    // The server and other actions still work.
    api.action("other", &node("function main() { return { ok: true } }"));
    assert_eq!(api.call_ok("other", &json!({})), json!({"ok": true}));
    // The bomb's sandbox was reused or destroyed cleanly: it still hits the same limit.
    let out = api.call_ok("bomb", &json!({}));
    assert_eq!(out["errno"], 11, "{out}");
}

#[test]
fn endless_log_output_is_truncated_and_the_server_stays_small() {
    let s = server().start();
    let api = s.guest();
    let truncated =
        "Logs were truncated because the total bytes size exceeds the limit of 1048576 bytes.";
    // 5 MB of logs, then a result.
    let burst = "def main(args):\n    line = 'x' * 1000\n    for i in range(5000):\n        print(line)\n    return {'done': True}\n";
    api.action("burst", &limits(python(burst), json!({"logs": 1})));
    let rss_before = s.rss_kb();
    let r = api.call("burst", &json!({}));
    assert_eq!(r.status, 200, "{}", &r.text[..r.text.len().min(300)]);
    let rec = api.activation(&r.activation_header());
    let logs = rec["logs"].as_array().expect("logs");
    let last = logs.last().and_then(Value::as_str).expect("a log line");
    assert!(
        last.ends_with(&format!("stderr: {truncated}")),
        "last log line {last:?}"
    );
    let total: usize = logs.iter().map(|l| l.as_str().unwrap().len()).sum();
    assert!(
        total < 2 * 1024 * 1024,
        "logs are capped near 1 MB, got {total} bytes"
    );
    // Endless output until the time limit (python: node would buffer a synchronous loop's
    // output in its own memory instead of writing it).
    let endless = "import sys\ndef main(args):\n    line = 'y' * 1000\n    while True:\n        print(line)\n        print(line, file=sys.stderr)\n";
    api.action(
        "endless",
        &limits(python(endless), json!({"logs": 1, "timeout": 3000})),
    );
    for _ in 0..2 {
        let r = fails(&api, "endless", &json!({}), DEV);
        assert_eq!(
            error_of(&r),
            "The action exceeded its time limits of 3000 milliseconds."
        );
        let rec = api.activation(&r.activation_header());
        let logs: Vec<&str> = rec["logs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap())
            .collect();
        let tail: Vec<&str> = logs[logs.len().saturating_sub(3)..]
            .iter()
            .map(|l| &l[..l.len().min(120)])
            .collect();
        assert!(
            logs.iter().any(|l| l.ends_with(truncated)),
            "truncation line in {} lines, last ones: {tail:?}",
            logs.len()
        );
        let total: usize = logs.iter().map(|l| l.len()).sum();
        assert!(
            total < 2 * 1024 * 1024,
            "logs are capped near 1 MB, got {total} bytes"
        );
    }
    let rss_after = s.rss_kb();
    assert!(
        rss_after < 500 * 1024,
        "server RSS {rss_before} kB before, {rss_after} kB after"
    );
}

#[test]
fn result_over_1mb_is_truncated_as_application_error() {
    let s = server().start();
    let api = s.guest();
    api.action(
        "big",
        &node("function main() { return { s: 'x'.repeat(1100000) } }"),
    );
    let r = fails(&api, "big", &json!({}), APP);
    let e = error_of(&r);
    let prefix = "The action produced a response that exceeded the allowed length: 1100008 > 1048576 bytes. The truncated response was: {\"s\":\"xxx";
    assert!(e.starts_with(prefix), "{}", &e[..e.len().min(300)]);
    // Python too.
    api.action(
        "bigpy",
        &python("def main(args):\n    return {'s': 'y' * 2000000}\n"),
    );
    let r = fails(&api, "bigpy", &json!({}), APP);
    let e = error_of(&r);
    assert!(
        e.starts_with("The action produced a response that exceeded the allowed length: 2000009 > 1048576 bytes. The truncated response was: {\"s\": \"yyy"),
        "{}",
        &e[..e.len().min(300)]
    );
}

#[test]
fn native_action_printing_non_json_is_a_developer_error() {
    let s = server().start();
    let api = s.guest();
    let action = json!({"exec": {"kind": "blackbox", "image": "openwhisk/dockerskeleton",
        "code": "#!/bin/sh\necho a log line\necho this is not json\n"}});
    api.action("nonjson", &action);
    let r = fails(&api, "nonjson", &json!({}), DEV);
    assert_eq!(
        r.result(),
        &json!({"error": "The action did not return a dictionary."})
    );
    let action = json!({"exec": {"kind": "blackbox", "image": "openwhisk/dockerskeleton", "code": "#!/bin/sh\necho 42\n"}});
    api.action("scalar", &action);
    let r = fails(&api, "scalar", &json!({}), DEV);
    assert_eq!(
        r.result(),
        &json!({"error": "The action did not return a dictionary."})
    );
}

#[test]
fn exit_during_init_and_during_run() {
    let s = server().start();
    let api = s.guest();
    let init = "The action did not initialize and exited unexpectedly.";
    let run = "The action did not produce a valid response and exited unexpectedly.";
    api.action(
        "exitinitjs",
        &node("process.exit(1);\nfunction main() { return {} }"),
    );
    api.action(
        "exitinitpy",
        &python("import os\nos._exit(1)\ndef main(args):\n    return {}\n"),
    );
    api.action("exitrunjs", &node("function main() { process.exit(3) }"));
    api.action(
        "exitrunpy",
        &python("import os\ndef main(args):\n    os._exit(3)\n"),
    );
    for (name, msg) in [
        ("exitinitjs", init),
        ("exitinitpy", init),
        ("exitrunjs", run),
        ("exitrunpy", run),
    ] {
        let r = fails(&api, name, &json!({}), DEV);
        assert_eq!(r.result(), &json!({ "error": msg }), "{name}");
        assert_eq!(
            annotation(&r.body, "timeout"),
            Some(&json!(false)),
            "{name}"
        );
    }
    // The container is replaced: the next run is a cold start again.
    let r = fails(&api, "exitrunjs", &json!({}), DEV);
    assert!(annotation(&r.body, "initTime").is_some());
}

#[test]
fn syntax_errors_are_developer_errors() {
    let s = server().start();
    let api = s.guest();
    api.action("synjs", &node("function main(p) {\n  return {\n"));
    api.action("synpy", &python("def main(args)\n    return {}\n"));
    for name in ["synjs", "synpy"] {
        let r = fails(&api, name, &json!({}), DEV);
        let e = error_of(&r);
        assert!(
            e.starts_with("Initialization has failed due to: "),
            "{name}: {e}"
        );
        assert!(e.contains("SyntaxError"), "{name}: {e}");
        let rec = api.activation(&r.activation_header());
        let logs = rec["logs"].as_array().unwrap();
        assert!(
            logs.iter()
                .any(|l| l.as_str().unwrap().contains("SyntaxError")),
            "{name}: {logs:?}"
        );
    }
}

#[test]
fn node_rejected_promise_and_thrown_exception() {
    let s = server().start();
    let api = s.guest();
    api.action(
        "reject",
        &node("function main() { return Promise.reject({ code: 7, why: 'nope' }) }"),
    );
    let r = fails(&api, "reject", &json!({}), APP);
    assert_eq!(r.result(), &json!({"error": {"code": 7, "why": "nope"}}));
    api.action(
        "rejecterr",
        &node("async function main() { throw new Error('async kaboom') }"),
    );
    let r = fails(&api, "rejecterr", &json!({}), APP);
    assert_eq!(r.result()["error"]["message"], "async kaboom", "{}", r.text);
    api.action(
        "throw",
        &node("function main() { throw new Error('kaboom') }"),
    );
    let r = fails(&api, "throw", &json!({}), DEV);
    assert_eq!(
        r.result(),
        &json!({"error": "An error has occurred: Error: kaboom"})
    );
}

#[test]
fn python_exception_is_an_application_error() {
    let s = server().start();
    let api = s.guest();
    api.action(
        "raise",
        &python("def main(args):\n    raise ValueError('bad value ' + str(args.get('n')))\n"),
    );
    let r = fails(&api, "raise", &json!({"n": 1}), APP);
    assert_eq!(r.result(), &json!({"error": "bad value 1"}));
    // The container is kept.
    let r = fails(&api, "raise", &json!({"n": 2}), APP);
    assert_eq!(r.result(), &json!({"error": "bad value 2"}));
    assert!(
        annotation(&r.body, "initTime").is_none(),
        "warm after an application error"
    );
}

#[test]
fn empty_code_is_a_developer_error() {
    let s = server().start();
    let api = s.guest();
    api.action("emptyjs", &node(""));
    api.action("emptypy", &python(""));
    for name in ["emptyjs", "emptypy"] {
        let r = fails(&api, name, &json!({}), DEV);
        assert_eq!(
            r.result(),
            &json!({"error": "Initialization has failed due to: Action entrypoint 'main' is not a function."}),
            "{name}"
        );
    }
}

#[test]
fn opening_1100_files_reports_emfile() {
    let s = server().start();
    let api = s.guest();
    let py = "def main(args):\n    files = []\n    try:\n        for i in range(1100):\n            files.append(open('/dev/null'))\n    \
              except OSError as e:\n        return {'opened': len(files), 'errno': e.errno}\n    return {'opened': len(files)}\n";
    api.action("fdspy", &python(py));
    let out = api.call_ok("fdspy", &json!({}));
    assert_eq!(out["errno"], 24, "EMFILE: {out}");
    assert!(
        out["opened"].as_u64().is_some_and(|n| n > 900 && n < 1024),
        "{out}"
    );
    let js = "const fs = require('fs');\nfunction main() {\n  const fds = [];\n  try {\n    \
              for (let i = 0; i < 1100; i++) fds.push(fs.openSync('/dev/null', 'r'));\n  } catch (e) {\n    \
              fds.forEach(fd => fs.closeSync(fd));\n    return { opened: fds.length, code: e.code };\n  }\n  return { opened: fds.length };\n}";
    api.action("fdsjs", &node(js));
    let out = api.call_ok("fdsjs", &json!({}));
    assert_eq!(out["code"], "EMFILE", "{out}");
}

#[test]
fn zipped_node_action_with_package_json_and_node_modules() {
    let s = server().start();
    let api = s.guest();
    let code = zip_base64(&[
        (
            "package.json",
            r#"{"name": "zipped", "main": "lib/entry.js"}"#,
            false,
        ),
        (
            "lib/entry.js",
            "const greet = require('greeter');\nexports.main = p => ({ msg: greet(p.name) });\n",
            false,
        ),
        (
            "node_modules/greeter/index.js",
            "module.exports = n => 'hello ' + n + ' from a module';\n",
            false,
        ),
    ]);
    api.action(
        "zipjs",
        &json!({"exec": {"kind": "nodejs:default", "code": code, "binary": true}}),
    );
    let out = api.call_ok("zipjs", &json!({"name": "zip"}));
    assert_eq!(out, json!({"msg": "hello zip from a module"}));
}

#[test]
fn zipped_python_action_with_main_and_virtualenv() {
    let s = server().start();
    let api = s.guest();
    let code = zip_base64(&[
        ("__main__.py", "import helper\nfrom lib2 import twice\ndef main(args):\n    return {'msg': helper.shout(args.get('w', 'x')), 'n': twice(21)}\n", false),
        ("lib2.py", "def twice(n):\n    return 2 * n\n", false),
        ("virtualenv/lib/python3.11/site-packages/helper/__init__.py", "def shout(w):\n    return w.upper() + '!'\n", false),
    ]);
    api.action(
        "zippy",
        &json!({"exec": {"kind": "python:default", "code": code, "binary": true}}),
    );
    let out = api.call_ok("zippy", &json!({"w": "venv"}));
    assert_eq!(out, json!({"msg": "VENV!", "n": 42}));
}

#[test]
fn native_action_from_a_zip_with_exec() {
    let s = server().start();
    let api = s.guest();
    let exec = "#!/bin/sh\necho \"log from exec\"\necho \"error line\" >&2\necho \"{\\\"args\\\": $1, \\\"ns\\\": \\\"$__OW_NAMESPACE\\\"}\"\n";
    let code = zip_base64(&[("exec", exec, true)]);
    let action = json!({"exec": {"kind": "blackbox", "image": "openwhisk/dockerskeleton", "code": code, "binary": true}});
    api.action("native", &action);
    let r = api.call("native", &json!({"x": [1, 2]}));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.result(), &json!({"args": {"x": [1, 2]}, "ns": "guest"}));
    let rec = api.activation(&r.activation_header());
    let logs: Vec<&str> = rec["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert!(
        logs.iter().any(|l| l.ends_with("stdout: log from exec")),
        "{logs:?}"
    );
    assert!(
        logs.iter().any(|l| l.ends_with("stderr: error line")),
        "{logs:?}"
    );
    // Warm reuse works for native actions too.
    let r = api.call("native", &json!({"y": 1}));
    assert_eq!(r.result(), &json!({"args": {"y": 1}, "ns": "guest"}));
    // A plain (non-zip) script works as well.
    let action = json!({"exec": {"kind": "blackbox", "image": "openwhisk/dockerskeleton",
        "code": "#!/bin/sh\necho '{\"plain\": true}'\n"}});
    api.action("plain", &action);
    assert_eq!(api.call_ok("plain", &json!({})), json!({"plain": true}));
}

#[test]
fn non_native_docker_image_cannot_be_pulled() {
    let s = server().start();
    let api = s.guest();
    api.action(
        "img",
        &json!({"exec": {"kind": "blackbox", "image": "example/not-here:1.0"}}),
    );
    let r = fails(&api, "img", &json!({}), DEV);
    assert_eq!(
        r.result(),
        &json!({"error": "Failed to pull container image 'example/not-here:1.0'."})
    );
    let kinds: BTreeSet<String> = api
        .activations_of("img")
        .iter()
        .map(|a| a["statusCode"].to_string())
        .collect();
    assert_eq!(kinds, BTreeSet::from(["2".to_string()]));
}
