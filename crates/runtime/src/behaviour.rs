//! The behaviour suite every container backend must pass.
//!
//! Each `pub async fn` (but the helpers) checks one behaviour of the [`ContainerFactory`] it is
//! given and panics on the first deviation. The kinds used are `nodejs:default`/`nodejs:20`,
//! `python:default`/`python:3` and `blackbox` (native executables). A backend's integration test
//! only has to build a factory and call these, e.g.
//! `whirl_runtime::behaviour::node_errors(&factory).await` (see `whirl-runtime-process`'s
//! `tests/`). Container ids carry the process id, so separate test binaries do not collide.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::{Cursor, Write};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};

use crate::{
    ActivationEnv, ActivationStatus, Container, ContainerFactory, ContainerSpec, InitRequest,
    Outcome, RunOutcome, RunRequest, RuntimeError,
};

// ---------------------------------------------------------------------------------------------
// helpers

pub const T: Duration = Duration::from_secs(20);
pub const LOG_LIMIT: u64 = 10 * 1024 * 1024;

pub fn spec(id: &str, kind: &str) -> ContainerSpec {
    ContainerSpec {
        id: format!("{id}-{}", std::process::id()),
        kind: kind.into(),
        memory_mb: 256,
        api_host: "http://127.0.0.1:3233".into(),
        prewarm: false,
        image: None,
    }
}

pub fn act_env() -> ActivationEnv {
    ActivationEnv {
        namespace: "guest".into(),
        action_name: "/guest/hello".into(),
        action_version: "0.0.1".into(),
        activation_id: "a1b2c3".into(),
        transaction_id: "tid".into(),
        deadline: "1700000060000".into(),
        api_key: Some("uuid:key".into()),
    }
}

pub fn init_req(code: &str, main: &str) -> InitRequest {
    InitRequest {
        name: "hello".into(),
        main: main.into(),
        code: code.into(),
        binary: false,
        env: [("__OW_NAMESPACE".to_string(), "guest".to_string())].into(),
        concurrency: 1,
    }
}

pub fn zip_req(files: &[(&str, &str, u32)], main: &str) -> InitRequest {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, data, mode) in files {
        w.start_file(
            *name,
            zip::write::SimpleFileOptions::default().unix_permissions(*mode),
        )
        .unwrap();
        w.write_all(data.as_bytes()).unwrap();
    }
    let bytes = w.finish().unwrap().into_inner();
    InitRequest {
        name: "zipped".into(),
        main: main.into(),
        code: base64::engine::general_purpose::STANDARD.encode(bytes),
        binary: true,
        env: Default::default(),
        concurrency: 1,
    }
}

pub fn run_req(v: Value) -> RunRequest {
    RunRequest::from_value(&v, act_env())
}

/// Creates a container of `kind`, initializes it with `init`, asserting success.
pub async fn ready(
    f: &dyn ContainerFactory,
    id: &str,
    kind: &str,
    init: InitRequest,
) -> Box<dyn Container> {
    let mut c = f.create(spec(id, kind)).await.unwrap();
    let out = c.init(init, T).await;
    assert_eq!(
        out.status,
        ActivationStatus::Success,
        "init failed: {out:?}"
    );
    c
}

pub async fn run(c: &mut Box<dyn Container>, v: Value) -> RunOutcome {
    c.run(run_req(v), T, LOG_LIMIT).await
}

/// Log lines without their timestamp (`stdout: text`).
pub fn texts(logs: &[String]) -> Vec<String> {
    logs.iter().map(|l| l[31..].to_string()).collect()
}

/// The `error` of a result as text.
pub fn err_msg(out: &Outcome) -> String {
    match out.result.get("error") {
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
        None => json!(null).to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// checks

pub async fn node_sync_and_env(f: &dyn ContainerFactory) {
    let code = r#"
        function main(params) {
            console.log('hello stdout');
            console.error('hello stderr');
            return { greeting: 'Hello ' + (params.name || 'World'),
                     ns: process.env.__OW_NAMESPACE, action: process.env.__OW_ACTION_NAME,
                     id: process.env.__OW_ACTIVATION_ID, key: process.env.__OW_API_KEY,
                     deadline: process.env.__OW_DEADLINE, host: process.env.__OW_API_HOST,
                     home: process.env.HOME };
        }"#;
    let mut c = ready(f, "node-sync", "nodejs:default", init_req(code, "")).await;
    let out = run(&mut c, json!({"name": "Whirl"})).await;
    assert_eq!(out.status, ActivationStatus::Success, "{out:?}");
    assert_eq!(out.result["greeting"], "Hello Whirl");
    assert_eq!(out.result["ns"], "guest");
    assert_eq!(out.result["action"], "/guest/hello");
    assert_eq!(out.result["id"], "a1b2c3");
    assert_eq!(out.result["key"], "uuid:key");
    assert_eq!(out.result["deadline"], "1700000060000");
    assert_eq!(out.result["host"], "http://127.0.0.1:3233");
    assert_eq!(out.result["home"], "/tmp");
    let mut t = texts(&out.logs);
    t.sort();
    assert_eq!(t, vec!["stderr: hello stderr", "stdout: hello stdout"]);
    assert_eq!(&out.logs[0][29..31], "Z ");
    assert!(out.container_healthy);
    c.destroy().await.unwrap();
}

pub async fn node_async_named_and_warm(f: &dyn ContainerFactory) {
    let code = r#"
        let counter = 0;
        exports.niam = async function (p) {
            counter++;
            await new Promise(r => setTimeout(r, 10));
            return { counter, echo: p };
        };"#;
    let mut c = ready(f, "node-async", "nodejs:20", init_req(code, "niam")).await;
    let first = run(&mut c, json!({"a": 1})).await;
    assert_eq!(first.result, json!({"counter": 1, "echo": {"a": 1}}));
    let second = run(&mut c, json!([1, 2])).await;
    assert_eq!(second.status, ActivationStatus::Success);
    assert_eq!(second.result, json!({"counter": 2, "echo": [1, 2]}));
    c.pause().await.unwrap();
    c.resume().await.unwrap();
    let third = run(&mut c, json!({})).await;
    assert_eq!(third.result["counter"], 3);
    c.destroy().await.unwrap();
}

pub async fn node_module_exports_and_undefined(f: &dyn ContainerFactory) {
    let mut c = ready(
        f,
        "node-modexp",
        "nodejs:default",
        init_req("module.exports.main = () => undefined;", ""),
    )
    .await;
    let out = run(&mut c, json!({})).await;
    assert_eq!(
        (out.status, out.result.clone()),
        (ActivationStatus::Success, json!({}))
    );
    c.destroy().await.unwrap();
}

pub async fn node_errors(f: &dyn ContainerFactory) {
    // Rejected promise: application error, container stays healthy.
    let mut c = ready(
        f,
        "node-reject",
        "nodejs:default",
        init_req(
            "function main() { return Promise.reject(new Error('nope')); }",
            "",
        ),
    )
    .await;
    let out = run(&mut c, json!({})).await;
    assert_eq!(out.status, ActivationStatus::ApplicationError);
    assert_eq!(out.result["error"]["message"], "nope");
    assert!(out.container_healthy);
    let out = run(&mut c, json!({})).await;
    assert_eq!(out.status, ActivationStatus::ApplicationError);
    c.destroy().await.unwrap();

    // Returning {error}: application error.
    let mut c = ready(
        f,
        "node-errobj",
        "nodejs:default",
        init_req("function main() { return {error: 'bad'}; }", ""),
    )
    .await;
    let out = run(&mut c, json!({})).await;
    assert_eq!(
        (out.status, out.result.clone()),
        (ActivationStatus::ApplicationError, json!({"error": "bad"}))
    );
    c.destroy().await.unwrap();

    // Synchronous throw: developer error.
    let mut c = ready(
        f,
        "node-throw",
        "nodejs:default",
        init_req("function main() { throw new Error('boom'); }", ""),
    )
    .await;
    let out = run(&mut c, json!({})).await;
    assert_eq!(out.status, ActivationStatus::DeveloperError);
    assert_eq!(err_msg(&out), "An error has occurred: Error: boom");
    assert!(!out.container_healthy);
    assert!(out.logs.last().unwrap().ends_with(
        "stderr: The action did not initialize or run as expected. Log data might be missing."
    ));
    c.destroy().await.unwrap();

    // Non-object result.
    let mut c = ready(
        f,
        "node-scalar",
        "nodejs:default",
        init_req("function main() { return 42; }", ""),
    )
    .await;
    let out = run(&mut c, json!({})).await;
    assert_eq!(out.status, ActivationStatus::DeveloperError);
    assert_eq!(err_msg(&out), "The action did not return a dictionary.");
    c.destroy().await.unwrap();

    // Process exits during the run.
    let mut c = ready(
        f,
        "node-exit",
        "nodejs:default",
        init_req(
            "function main() { console.log('bye'); process.exit(3); }",
            "",
        ),
    )
    .await;
    let out = run(&mut c, json!({})).await;
    assert_eq!(out.status, ActivationStatus::DeveloperError);
    assert_eq!(
        err_msg(&out),
        "The action did not produce a valid response and exited unexpectedly."
    );
    assert!(
        texts(&out.logs).contains(&"stdout: bye".to_string()),
        "{:?}",
        out.logs
    );
    assert!(!out.container_healthy);
    c.destroy().await.unwrap();
}

/// A rejected promise gives `{"error": <serialized reason>}` (application error, container kept),
/// exactly as openwhisk-runtime-nodejs, which serializes the reason with serialize-error: an
/// object is copied, not unwrapped, so an object with an `error` key ends up wrapped twice.
pub async fn node_rejections(f: &dyn ContainerFactory) {
    let code = r#"
        function main(p) {
            switch (p.how) {
                case 'error-key': return Promise.reject({ error: 'x' });
                case 'object': return Promise.reject({ code: 7, why: 'nope' });
                case 'error': return Promise.reject(new Error('nope'));
                case 'typed': { const e = new TypeError('bad type'); e.code = 'E_BAD'; e.extra = { n: 1 }; return Promise.reject(e); }
                case 'async-throw': return (async () => { throw new RangeError('async kaboom'); })();
                case 'string': return Promise.reject('a string');
                case 'number': return Promise.reject(42);
                case 'nothing': return Promise.reject();
                case 'null': return Promise.reject(null);
                case 'array': return Promise.reject([1, { b: 2 }]);
                case 'function': return Promise.reject(function foo() {});
                case 'nested': return Promise.reject({ inner: new Error('in'), when: new Date(0), f() {} });
                case 'circular': { const c = { a: 1 }; c.self = c; return Promise.reject(c); }
            }
        }"#;
    let mut c = ready(f, "node-rejections", "nodejs:default", init_req(code, "")).await;
    let mut reject = async |how: &str| {
        let out = run(&mut c, json!({ "how": how })).await;
        assert_eq!(
            out.status,
            ActivationStatus::ApplicationError,
            "{how}: {out:?}"
        );
        assert!(out.container_healthy, "{how}");
        out.result
    };
    let exact = [
        ("error-key", json!({"error": {"error": "x"}})),
        ("object", json!({"error": {"code": 7, "why": "nope"}})),
        ("string", json!({"error": "a string"})),
        ("number", json!({"error": 42})),
        ("nothing", json!({"error": {}})),
        ("null", json!({"error": {}})),
        ("array", json!({"error": [1, {"b": 2}]})),
        ("function", json!({"error": "[Function: foo]"})),
        ("circular", json!({"error": {"a": 1, "self": "[Circular]"}})),
    ];
    for (how, expect) in exact {
        assert_eq!(reject(how).await, expect, "{how}");
    }
    // Error instances: own enumerable properties plus name, message, stack (and code). The keys
    // come back sorted (serde_json's map).
    let keys = |v: &Value| -> Vec<String> { v.as_object().unwrap().keys().cloned().collect() };
    let r = reject("error").await;
    let e = &r["error"];
    assert_eq!(keys(&r), ["error"]);
    assert_eq!(keys(e), ["message", "name", "stack"], "{e}");
    assert_eq!(
        (&e["name"], &e["message"]),
        (&json!("Error"), &json!("nope"))
    );
    assert!(
        e["stack"]
            .as_str()
            .unwrap()
            .starts_with("Error: nope\n    at "),
        "{e}"
    );
    let r = reject("typed").await;
    let e = &r["error"];
    assert_eq!(
        keys(e),
        ["code", "extra", "message", "name", "stack"],
        "{e}"
    );
    assert_eq!(
        (&e["code"], &e["extra"], &e["name"], &e["message"]),
        (
            &json!("E_BAD"),
            &json!({"n": 1}),
            &json!("TypeError"),
            &json!("bad type")
        )
    );
    let r = reject("async-throw").await;
    assert_eq!(r["error"]["name"], "RangeError");
    assert_eq!(r["error"]["message"], "async kaboom");
    // Nested errors are serialized too, toJSON is used, functions are left out.
    let r = reject("nested").await;
    let e = &r["error"];
    assert_eq!(keys(e), ["inner", "when"], "{e}");
    assert_eq!(keys(&e["inner"]), ["message", "name", "stack"]);
    assert_eq!(e["inner"]["message"], "in");
    assert_eq!(e["when"], "1970-01-01T00:00:00.000Z");
    c.destroy().await.unwrap();
}

pub async fn node_init_errors(f: &dyn ContainerFactory) {
    for (id, code, main, expect) in [
        (
            "node-syntax",
            "function main( {",
            "",
            "Initialization has failed due to: ",
        ),
        ("node-empty", "", "", "Initialization has failed due to: "),
        (
            "node-nomain",
            "function other() {}",
            "",
            "Initialization has failed due to: Action entrypoint 'main' is not a function.",
        ),
    ] {
        let mut c = f.create(spec(id, "nodejs:default")).await.unwrap();
        let out = c.init(init_req(code, main), T).await;
        assert_eq!(
            out.status,
            ActivationStatus::DeveloperError,
            "{id}: {out:?}"
        );
        assert!(err_msg(&out).starts_with(expect), "{id}: {}", err_msg(&out));
        assert!(!out.container_healthy);
        c.destroy().await.unwrap();
    }
    // Exit during init.
    let mut c = f
        .create(spec("node-initexit", "nodejs:default"))
        .await
        .unwrap();
    let out = c
        .init(init_req("process.exit(1); function main() {}", ""), T)
        .await;
    assert_eq!(
        err_msg(&out),
        "The action did not initialize and exited unexpectedly."
    );
    c.destroy().await.unwrap();
    // Init timeout.
    let mut c = f
        .create(spec("node-inittimeout", "nodejs:default"))
        .await
        .unwrap();
    let out = c
        .init(
            init_req("while (true) {} function main() {}", ""),
            Duration::from_millis(500),
        )
        .await;
    assert_eq!(
        err_msg(&out),
        "The action exceeded its time limits of 500 milliseconds during initialization."
    );
    assert!(out.timed_out);
    c.destroy().await.unwrap();
}

pub async fn node_zip(f: &dyn ContainerFactory) {
    let req = zip_req(
        &[
            (
                "package.json",
                r#"{"name":"z","main":"lib/entry.js"}"#,
                0o644,
            ),
            (
                "lib/entry.js",
                "const dep = require('dep'); exports.run = p => ({ v: dep.twice(p.n) });",
                0o644,
            ),
            (
                "node_modules/dep/index.js",
                "exports.twice = n => n * 2;",
                0o644,
            ),
        ],
        "run",
    );
    let mut c = ready(f, "node-zip", "nodejs:default", req).await;
    let out = run(&mut c, json!({"n": 21})).await;
    assert_eq!(out.result, json!({"v": 42}));
    c.destroy().await.unwrap();

    let req = zip_req(&[("other.js", "", 0o644)], "main");
    let mut c = f
        .create(spec("node-badzip", "nodejs:default"))
        .await
        .unwrap();
    let out = c.init(req, T).await;
    assert_eq!(
        err_msg(&out),
        "Initialization has failed due to: Zipped actions must contain either package.json or index.js at the root."
    );
    c.destroy().await.unwrap();
}

pub async fn python_actions(f: &dyn ContainerFactory) {
    let code = r#"
import os
count = 0
def main(args):
    global count
    count += 1
    print("hello from python")
    return {"greeting": "Hello " + args.get("name", "stranger"), "count": count,
            "ns": os.environ["__OW_NAMESPACE"], "deadline": os.environ["__OW_DEADLINE"]}
"#;
    let mut c = ready(f, "py", "python:default", init_req(code, "")).await;
    let out = run(&mut c, json!({"name": "Py"})).await;
    assert_eq!(out.status, ActivationStatus::Success, "{out:?}");
    assert_eq!(out.result["greeting"], "Hello Py");
    assert_eq!(out.result["ns"], "guest");
    assert_eq!(out.result["deadline"], "1700000060000");
    assert_eq!(texts(&out.logs), vec!["stdout: hello from python"]);
    let out = run(&mut c, json!({})).await;
    assert_eq!(out.result["count"], 2);
    c.destroy().await.unwrap();

    // Named main returning an array.
    let mut c = ready(
        f,
        "py-named",
        "python:3",
        init_req("def other(a):\n    return [a, 1]\n", "other"),
    )
    .await;
    let out = run(&mut c, json!({"x": 1})).await;
    assert_eq!(out.result, json!([{"x": 1}, 1]));
    c.destroy().await.unwrap();

    // Exception: application error with str(ex).
    let mut c = ready(
        f,
        "py-raise",
        "python:default",
        init_req("def main(a):\n    raise ValueError('bad value')\n", ""),
    )
    .await;
    let out = run(&mut c, json!({})).await;
    assert_eq!(out.status, ActivationStatus::ApplicationError);
    assert_eq!(out.result, json!({"error": "bad value"}));
    assert!(out.container_healthy);
    assert!(
        out.logs
            .iter()
            .any(|l| l.contains("stderr: ValueError: bad value")),
        "{:?}",
        out.logs
    );
    c.destroy().await.unwrap();

    // Non-dict result.
    let mut c = ready(
        f,
        "py-scalar",
        "python:default",
        init_req("def main(a):\n    return 'x'\n", ""),
    )
    .await;
    let out = run(&mut c, json!({})).await;
    assert_eq!(out.status, ActivationStatus::DeveloperError);
    assert_eq!(
        err_msg(&out),
        "The action did not return a dictionary or array."
    );
    c.destroy().await.unwrap();

    // Syntax error and empty file: init failures.
    for (id, code) in [("py-syntax", "def main(a:\n"), ("py-empty", "")] {
        let mut c = f.create(spec(id, "python:default")).await.unwrap();
        let out = c.init(init_req(code, ""), T).await;
        assert_eq!(out.status, ActivationStatus::DeveloperError, "{id}");
        assert!(
            err_msg(&out).starts_with("Initialization has failed due to: "),
            "{}",
            err_msg(&out)
        );
        c.destroy().await.unwrap();
    }
}

pub async fn python_zip_virtualenv(f: &dyn ContainerFactory) {
    let req = zip_req(
        &[
            ("__main__.py", "import helper\nimport vdep\ndef main(a):\n    return {'v': helper.f() + vdep.g()}\n", 0o644),
            ("helper.py", "def f():\n    return 'h'\n", 0o644),
            ("virtualenv/lib/python3.11/site-packages/vdep/__init__.py", "def g():\n    return 'v'\n", 0o644),
            ("virtualenv/lib/python3.12/site-packages/vdep/__init__.py", "def g():\n    return 'v'\n", 0o644),
        ],
        "main",
    );
    let mut c = ready(f, "py-zip", "python:default", req).await;
    let out = run(&mut c, json!({})).await;
    assert_eq!(out.result, json!({"v": "hv"}), "{out:?}");
    c.destroy().await.unwrap();
}

pub async fn timeout_kills(f: &dyn ContainerFactory) {
    let mut c = ready(
        f,
        "node-loop",
        "nodejs:default",
        init_req(
            "function main() { console.log('spinning'); while (true) {} }",
            "",
        ),
    )
    .await;
    let t0 = Instant::now();
    let out = c
        .run(run_req(json!({})), Duration::from_millis(300), LOG_LIMIT)
        .await;
    assert!(t0.elapsed() < Duration::from_secs(5));
    assert!(out.timed_out);
    assert_eq!(out.status, ActivationStatus::DeveloperError);
    assert_eq!(
        err_msg(&out),
        "The action exceeded its time limits of 300 milliseconds."
    );
    assert!(!out.container_healthy);
    assert!(
        texts(&out.logs).contains(&"stdout: spinning".to_string()),
        "{:?}",
        out.logs
    );
    c.destroy().await.unwrap();
}

pub async fn log_limits(f: &dyn ContainerFactory) {
    let code = r#"
        function main(p) {
            for (let i = 0; i < 100; i++) console.log('line ' + i);
            return {};
        }"#;
    let mut c = ready(f, "node-logs", "nodejs:default", init_req(code, "")).await;
    let out = c.run(run_req(json!({})), T, 50).await;
    assert_eq!(out.status, ActivationStatus::Success);
    assert_eq!(out.logs.len(), 9, "{:?}", out.logs);
    assert!(out.logs[8].ends_with(
        "stderr: Logs were truncated because the total bytes size exceeds the limit of 50 bytes."
    ));
    // Sentinels were consumed: the next activation starts clean.
    let out = c.run(run_req(json!({})), T, 1_000_000).await;
    assert_eq!(out.logs.len(), 100);
    c.destroy().await.unwrap();
    // Infinite output stays bounded and the timeout still fires.
    let code = "import sys\ndef main(a):\n    while True:\n        print('x' * 1000)\n        print('y' * 1000, file=sys.stderr)\n";
    let mut c = ready(f, "py-logs", "python:default", init_req(code, "")).await;
    let out = c
        .run(run_req(json!({})), Duration::from_secs(2), 10_000)
        .await;
    assert!(out.timed_out, "{:?} {:?}", out.result, out.logs);
    assert!(out.logs.len() < 20, "{}", out.logs.len());
    c.destroy().await.unwrap();
}

pub async fn big_result(f: &dyn ContainerFactory) {
    let mut c = ready(
        f,
        "node-big",
        "nodejs:default",
        init_req(
            "function main() { return { big: 'x'.repeat(2 * 1024 * 1024) }; }",
            "",
        ),
    )
    .await;
    let out = run(&mut c, json!({})).await;
    assert_eq!(out.status, ActivationStatus::ApplicationError);
    let msg = err_msg(&out);
    assert!(
        msg.starts_with(
            "The action produced a response that exceeded the allowed length: 2097162 > 1048576 bytes. The truncated response was: {\"big\":\"xxx"
        ),
        "{}",
        &msg[..200]
    );
    c.destroy().await.unwrap();
}

pub async fn native_exec(f: &dyn ContainerFactory) {
    let script = "#!/bin/sh\necho \"log line 1\"\necho \"args: $1\" >&2\necho \"{\\\"ns\\\": \\\"$__OW_NAMESPACE\\\", \\\"input\\\": $1}\"\n";
    let mut c = ready(f, "native-script", "blackbox", init_req(script, "")).await;
    let out = run(&mut c, json!({"a": [1, 2]})).await;
    assert_eq!(out.status, ActivationStatus::Success, "{out:?}");
    assert_eq!(out.result, json!({"ns": "guest", "input": {"a": [1, 2]}}));
    let mut t = texts(&out.logs);
    t.sort();
    assert_eq!(t, vec!["stderr: args: {\"a\":[1,2]}", "stdout: log line 1"]);
    let out = run(&mut c, json!({"b": 1})).await;
    assert_eq!(out.result["input"], json!({"b": 1}));
    c.destroy().await.unwrap();

    // Zip with an exec file.
    let req = zip_req(&[("exec", "#!/bin/sh\necho '[1,2,3]'\n", 0o755)], "");
    let mut c = ready(f, "native-zip", "blackbox", req).await;
    let out = run(&mut c, json!({})).await;
    assert_eq!(out.result, json!([1, 2, 3]));
    c.destroy().await.unwrap();

    // No JSON on the last line.
    let mut c = ready(
        f,
        "native-nojson",
        "blackbox",
        init_req("#!/bin/sh\necho hello\n", ""),
    )
    .await;
    let out = run(&mut c, json!({})).await;
    assert_eq!(out.status, ActivationStatus::DeveloperError);
    assert_eq!(err_msg(&out), "The action did not return a dictionary.");
    c.destroy().await.unwrap();

    // Zip without exec.
    let req = zip_req(&[("other", "x", 0o644)], "");
    let mut c = f.create(spec("native-noexec", "blackbox")).await.unwrap();
    let out = c.init(req, T).await;
    assert_eq!(
        err_msg(&out),
        "The action failed to generate or locate a binary. See logs for details."
    );
    c.destroy().await.unwrap();
}

pub async fn lifecycle_errors(f: &dyn ContainerFactory) {
    let mut c = f.create(spec("life", "nodejs:default")).await.unwrap();
    let out = run(&mut c, json!({})).await;
    assert_eq!(err_msg(&out), "no action defined yet");
    let out = c
        .init(init_req("function main() { return {}; }", ""), T)
        .await;
    assert!(out.is_success());
    let out = c
        .init(init_req("function main() { return {}; }", ""), T)
        .await;
    assert_eq!(
        err_msg(&out),
        "Cannot initialize the action more than once."
    );
    c.destroy().await.unwrap();
    assert!(matches!(
        f.create(spec("nokind", "cobol:1")).await.err(),
        Some(RuntimeError::UnknownKind(_))
    ));
}

pub async fn env_and_stdin_isolation(f: &dyn ContainerFactory) {
    let mut without_key = act_env();
    without_key.api_key = None;
    let code = "function main() { return { key: process.env.__OW_API_KEY || null }; }";
    let mut c = ready(f, "node-key", "nodejs:default", init_req(code, "")).await;
    assert_eq!(
        run(&mut c, json!({})).await.result,
        json!({"key": "uuid:key"})
    );
    let out = c
        .run(
            RunRequest::from_value(&json!({}), without_key.clone()),
            T,
            LOG_LIMIT,
        )
        .await;
    assert_eq!(out.result, json!({"key": null}));
    c.destroy().await.unwrap();

    let code = "import os\ndef main(a):\n    try:\n        input()\n    except EOFError:\n        pass\n    return {'key': os.environ.get('__OW_API_KEY')}\n";
    let mut c = ready(f, "py-key", "python:default", init_req(code, "")).await;
    assert_eq!(
        run(&mut c, json!({})).await.result,
        json!({"key": "uuid:key"})
    );
    let out = c
        .run(
            RunRequest::from_value(&json!({}), without_key.clone()),
            T,
            LOG_LIMIT,
        )
        .await;
    assert_eq!(out.result, json!({"key": null}));
    c.destroy().await.unwrap();

    let code = "#!/bin/sh\nread x\necho \"{\\\"key\\\": \\\"${__OW_API_KEY:-none}\\\"}\"\n";
    let mut c = ready(f, "native-key", "blackbox", init_req(code, "")).await;
    assert_eq!(
        run(&mut c, json!({})).await.result,
        json!({"key": "uuid:key"})
    );
    let out = c
        .run(
            RunRequest::from_value(&json!({}), without_key),
            T,
            LOG_LIMIT,
        )
        .await;
    assert_eq!(out.result, json!({"key": "none"}));
    c.destroy().await.unwrap();
}

/// A run request with its own activation id.
fn run_req_as(v: Value, activation_id: &str) -> RunRequest {
    let mut env = act_env();
    env.activation_id = activation_id.into();
    RunRequest::from_value(&v, env)
}

/// Intra-container concurrency (nodejs): N activations run at once in one container, each with
/// its own `__OW_*` variables and its own logs; python and native run one at a time.
pub async fn node_concurrency(f: &dyn ContainerFactory) {
    assert!(f.supports_concurrency("nodejs:default"));
    assert!(!f.supports_concurrency("python:default"));
    assert!(!f.supports_concurrency("blackbox"));
    // Every activation waits until all four are in flight: run one at a time, they would time out.
    let code = r#"
        const token = Math.random();
        let active = 0;
        let release;
        const all = new Promise((r) => { release = r; });
        async function main(p) {
            const me = process.env.__OW_ACTIVATION_ID;
            console.log('start ' + me);
            if (++active === 4) release();
            await all;
            await new Promise((r) => setTimeout(r, 10 * p.n));
            process.stdout.write('part of ' + me);
            process.stdout.write(' then the rest\n');
            console.error('end ' + me + ' ' + process.env.__OW_ACTIVATION_ID);
            if (p.big) console.log('x'.repeat(20000));
            return { me, env: process.env.__OW_ACTIVATION_ID, token, keys: Object.keys(process.env).includes('__OW_ACTIVATION_ID') };
        }"#;
    let mut init = init_req(code, "");
    init.concurrency = 4;
    let c = ready(f, "node-conc", "nodejs:default", init).await;
    let runner = c
        .concurrent()
        .expect("a concurrent runner after init with concurrency 4");
    let runs: Vec<_> = (0..4)
        .map(|i| {
            let runner = runner.clone();
            tokio::spawn(async move {
                let id = format!("act{i}");
                let req = run_req_as(json!({"n": 4 - i, "big": i == 3}), &id);
                let out = runner.run(req, T, LOG_LIMIT).await;
                (id, out)
            })
        })
        .collect();
    let mut outs = Vec::new();
    for r in runs {
        outs.push(r.await.unwrap());
    }
    let mut tokens = std::collections::HashSet::new();
    for (id, out) in &outs {
        assert_eq!(out.status, ActivationStatus::Success, "{id}: {out:?}");
        assert!(out.container_healthy);
        assert_eq!(out.result["me"], json!(id), "{out:?}");
        assert_eq!(out.result["env"], json!(id), "{out:?}");
        assert_eq!(out.result["keys"], json!(true), "{out:?}");
        tokens.insert(out.result["token"].to_string());
        let mut t = texts(&out.logs);
        if id == "act3" {
            // A long line stays one activation's, in pieces of the host's line size.
            let long: String = t
                .iter()
                .filter(|l| l.starts_with("stdout: x"))
                .map(|l| &l[8..])
                .collect();
            assert_eq!(long, "x".repeat(20000));
            t.retain(|l| !l.starts_with("stdout: x"));
        }
        // Each stream in its order; the two streams are separate pipes, read apart.
        t.sort();
        assert_eq!(
            t,
            vec![
                format!("stderr: end {id} {id}"),
                format!("stdout: part of {id} then the rest"),
                format!("stdout: start {id}"),
            ],
            "{id}: {:?}",
            out.logs
        );
    }
    assert_eq!(tokens.len(), 1, "one container ran them all");
    assert!(runner.healthy());
    // A second round on the same container.
    let mut runs = Vec::new();
    for i in 0..4 {
        let runner = runner.clone();
        runs.push(tokio::spawn(async move {
            runner
                .run(run_req_as(json!({"n": 1}), &format!("b{i}")), T, LOG_LIMIT)
                .await
        }));
    }
    for r in runs {
        assert_eq!(r.await.unwrap().status, ActivationStatus::Success);
    }
    c.destroy().await.unwrap();

    // A timeout kills the container: the others in flight end as an abnormal exit, and the
    // runner takes nothing new.
    let code = r#"
        async function main(p) {
            console.log('waiting ' + p.forever);
            if (p.forever) await new Promise(() => {});
            await new Promise((r) => setTimeout(r, 60000));
            return {};
        }"#;
    let mut init = init_req(code, "");
    init.concurrency = 2;
    let c = ready(f, "node-conc-timeout", "nodejs:default", init).await;
    let runner = c.concurrent().unwrap();
    let r2 = runner.clone();
    let slow = tokio::spawn(async move {
        r2.run(run_req_as(json!({"forever": false}), "slow"), T, LOG_LIMIT)
            .await
    });
    let stuck = runner
        .run(
            run_req_as(json!({"forever": true}), "stuck"),
            Duration::from_millis(500),
            LOG_LIMIT,
        )
        .await;
    assert!(stuck.timed_out, "{stuck:?}");
    assert_eq!(stuck.status, ActivationStatus::DeveloperError);
    assert_eq!(
        err_msg(&stuck),
        "The action exceeded its time limits of 500 milliseconds."
    );
    assert!(!stuck.container_healthy);
    assert!(
        texts(&stuck.logs).contains(&"stdout: waiting true".to_string()),
        "{:?}",
        stuck.logs
    );
    let slow = slow.await.unwrap();
    assert_eq!(slow.status, ActivationStatus::DeveloperError, "{slow:?}");
    assert_eq!(
        err_msg(&slow),
        "The action did not produce a valid response and exited unexpectedly."
    );
    assert!(!runner.healthy());
    let refused = runner
        .run(run_req_as(json!({}), "late"), T, LOG_LIMIT)
        .await;
    assert_eq!(refused.status, ActivationStatus::DeveloperError);
    c.destroy().await.unwrap();

    // Python asked for concurrency runs one at a time: no concurrent runner.
    let mut init = init_req("def main(a):\n    return {'ok': True}\n", "");
    init.concurrency = 4;
    let mut c = ready(f, "py-conc", "python:default", init).await;
    assert!(c.concurrent().is_none());
    assert_eq!(
        run(&mut c, json!({})).await.status,
        ActivationStatus::Success
    );
    c.destroy().await.unwrap();
}
