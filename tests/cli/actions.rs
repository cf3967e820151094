//! `action create|update|invoke|get|list|delete` and their flags.

use serde_json::json;

use crate::support::{is_activation_id, kv, row, zip_of, Server};

const HELLO_JS: &str = "function main(params) {
  console.log('hello called with ' + JSON.stringify(params));
  return {payload: 'Hello, ' + (params.name || 'stranger') + '!'};
}
";

const HELLO_PY: &str = "def main(args):
    print('python got', args)
    return {'greeting': 'Hello ' + args.get('name', 'stranger') + '!'}
";

#[test]
fn action_crud_invoke_and_params() {
    let s = Server::start();
    let w = s.wsk();
    w.write("hello.js", HELLO_JS);

    let o = w.ok(&["action", "create", "hello", "hello.js"]);
    assert_eq!(o.stdout, "ok: created action hello\n");
    assert_eq!(o.stderr, "");

    // get: header + pretty JSON (4 spaces), no code by default.
    let o = w.ok(&["action", "get", "hello"]);
    assert!(
        o.stdout.starts_with("ok: got action hello\n{\n    \""),
        "{}",
        o.stdout
    );
    let a = o.json();
    assert_eq!(a["name"], "hello");
    assert_eq!(a["namespace"], "guest");
    assert_eq!(a["version"], "0.0.1");
    let kind = a["exec"]["kind"].as_str().expect("kind").to_string();
    assert!(kind.starts_with("nodejs:"), "{kind}");
    assert!(a["exec"].get("code").is_none(), "{a}");
    let o = w.ok(&["action", "get", "hello", "version"]);
    assert_eq!(
        o.stdout,
        "ok: got action hello, displaying field version\n\"0.0.1\"\n"
    );
    let o = w.fails(&["action", "get", "hello", "bogus"], 1);
    assert!(
        o.stderr.contains("Invalid field filter 'bogus'."),
        "{}",
        o.stderr
    );

    // list: the wsk table.
    let o = w.ok(&["action", "list"]);
    assert_eq!(
        o.stdout,
        format!(
            "actions\n{}\n",
            row("/guest/hello", &format!("private {kind}"))
        )
    );

    // invoke: non-blocking, blocking, result only.
    let o = w.ok(&["action", "invoke", "hello"]);
    assert_eq!(
        o.stdout,
        format!("ok: invoked /_/hello with id {}\n", o.id())
    );
    let o = w.ok(&[
        "action",
        "invoke",
        "hello",
        "--blocking",
        "--param",
        "name",
        "Bob",
    ]);
    let id = o.id();
    assert!(o
        .stdout
        .starts_with(&format!("ok: invoked /_/hello with id {id}\n{{\n")));
    let act = o.json();
    assert_eq!(act["activationId"].as_str(), Some(id.as_str()));
    assert_eq!(act["response"]["status"], "success");
    assert_eq!(act["response"]["result"], json!({"payload": "Hello, Bob!"}));
    let logs = act["logs"].as_array().expect("logs");
    assert_eq!(logs.len(), 1, "{act}");
    assert!(logs[0]
        .as_str()
        .unwrap_or("")
        .contains("stdout: hello called with {\"name\":\"Bob\"}"));
    let o = w.ok(&["action", "invoke", "hello", "-b", "-p", "name", "Ann"]);
    assert_eq!(o.json()["response"]["result"]["payload"], "Hello, Ann!");
    let o = w.ok(&["action", "invoke", "hello", "-r", "-p", "name", "Bob"]);
    assert_eq!(o.stdout, "{\n    \"payload\": \"Hello, Bob!\"\n}\n");
    let o = w.ok(&["action", "invoke", "hello", "--result"]);
    assert_eq!(o.json(), json!({"payload": "Hello, stranger!"}));

    // Default parameters, invoke parameters override them; -P file; JSON values.
    let o = w.ok(&["action", "update", "hello", "--param", "name", "World"]);
    assert_eq!(o.stdout, "ok: updated action hello\n");
    assert_eq!(
        w.ok(&["action", "invoke", "hello", "-r"]).json()["payload"],
        "Hello, World!"
    );
    let o = w.ok(&["action", "invoke", "hello", "-r", "-p", "name", "Bob"]);
    assert_eq!(o.json()["payload"], "Hello, Bob!");
    w.write(
        "params.json",
        r#"{"name": "File", "count": 3, "nested": {"a": [1, 2]}}"#,
    );
    let o = w.ok(&["action", "invoke", "hello", "-r", "-P", "params.json"]);
    assert_eq!(o.json()["payload"], "Hello, File!");
    w.write("echo.js", "function main(p) { return p }");
    w.ok(&[
        "action",
        "create",
        "echo",
        "echo.js",
        "-P",
        "params.json",
        "-p",
        "extra",
        "true",
    ]);
    let o = w.ok(&[
        "action", "invoke", "echo", "-r", "-p", "count", "4", "-p", "s", "x y",
    ]);
    assert_eq!(
        o.json(),
        json!({"name": "File", "count": 4, "nested": {"a": [1, 2]}, "extra": true, "s": "x y"})
    );
    let o = w.ok(&["action", "get", "echo", "parameters"]);
    assert_eq!(kv(&o.json(), "nested"), Some(&json!({"a": [1, 2]})));
    assert_eq!(kv(&o.json(), "extra"), Some(&json!(true)));

    // Annotations: -a and -A.
    w.write("annots.json", r#"{"description": "an echo", "level": 2}"#);
    w.ok(&[
        "action",
        "update",
        "echo",
        "-a",
        "owner",
        "me",
        "-A",
        "annots.json",
    ]);
    let annots = w.ok(&["action", "get", "echo", "annotations"]).json();
    assert_eq!(kv(&annots, "owner"), Some(&json!("me")));
    assert_eq!(kv(&annots, "description"), Some(&json!("an echo")));
    assert_eq!(kv(&annots, "level"), Some(&json!(2)));
    assert_eq!(kv(&annots, "exec"), Some(&json!(kind)));
    // --summary shows the description and the bound parameters.
    let o = w.ok(&["action", "get", "echo", "--summary"]);
    assert_eq!(
        o.stdout,
        "action /guest/echo: an echo\n   (parameters: *count, *extra, *name, *nested)\n"
    );
    let o = w.ok(&["action", "get", "hello", "-s"]);
    assert_eq!(
        o.stdout,
        "action /guest/hello: Returns a result based on parameter name\n   (parameters: *name)\n"
    );

    // Version bumps on update.
    assert_eq!(w.ok(&["action", "get", "hello", "version"]).json(), "0.0.2");

    // list flags.
    let o = w.ok(&["action", "list", "--name-sort"]);
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(lines[0], "actions");
    assert!(lines[1].starts_with("/guest/echo ") && lines[2].starts_with("/guest/hello "));
    assert_eq!(
        w.ok(&["action", "list", "-l", "1"]).stdout.lines().count(),
        2
    );
    assert_eq!(
        w.ok(&["action", "list", "--limit", "1", "--skip", "1"])
            .stdout
            .lines()
            .count(),
        2
    );
    assert_eq!(w.ok(&["action", "list", "-s", "5"]).stdout, "actions\n");

    // delete.
    let o = w.ok(&["action", "delete", "echo"]);
    assert_eq!(o.stdout, "ok: deleted action echo\n");
    w.fails(&["action", "get", "echo"], 148);
    w.fails(&["action", "delete", "echo"], 148);
}

#[test]
fn python_async_kind_main_and_limits() {
    let s = Server::start();
    let w = s.wsk();

    w.write("hello.py", HELLO_PY);
    w.ok(&["action", "create", "hellopy", "hello.py"]);
    let kind = w.ok(&["action", "get", "hellopy", "exec"]).json()["kind"].clone();
    assert!(kind.as_str().unwrap_or("").starts_with("python:"), "{kind}");
    let o = w.ok(&["action", "invoke", "hellopy", "-r", "-p", "name", "Py"]);
    assert_eq!(o.stdout, "{\n    \"greeting\": \"Hello Py!\"\n}\n");
    let o = w.ok(&["action", "invoke", "hellopy", "-b"]);
    let logs = o.json()["logs"].clone();
    assert!(
        logs[0]
            .as_str()
            .unwrap_or("")
            .contains("stdout: python got {}"),
        "{logs}"
    );

    // A Promise resolved later (setTimeout).
    w.write(
        "async.js",
        "function main(args) {\n  return new Promise(function(resolve) {\n    \
         setTimeout(function() { resolve({done: true, n: args.n}); }, 300);\n  });\n}\n",
    );
    w.ok(&["action", "create", "asyncAction", "async.js"]);
    let o = w.ok(&["action", "invoke", "asyncAction", "-r", "-p", "n", "7"]);
    assert_eq!(o.json(), json!({"done": true, "n": 7}));
    let o = w.ok(&["action", "invoke", "asyncAction"]);
    let a = w.activation(&o.id());
    assert_eq!(a["response"]["result"], json!({"done": true}));
    assert!(a["duration"].as_i64().unwrap_or(0) >= 300, "{a}");

    // --kind for a file without a known extension, --main for another entry point.
    w.write(
        "code.txt",
        "def other(args):\n    return {'via': 'other', 'x': args.get('x')}\n",
    );
    let o = w.ok(&[
        "action",
        "create",
        "k",
        "code.txt",
        "--kind",
        "python:default",
        "--main",
        "other",
    ]);
    assert_eq!(o.stdout, "ok: created action k\n");
    let exec = w.ok(&["action", "get", "k", "exec"]).json();
    assert_eq!(exec["kind"], kind);
    assert_eq!(exec["main"], "other");
    let o = w.ok(&["action", "invoke", "k", "-r", "-p", "x", "1"]);
    assert_eq!(o.json(), json!({"via": "other", "x": 1}));
    w.write("main.js", "function entry(p) { return {entry: true} }");
    w.ok(&["action", "create", "m", "main.js", "--main", "entry"]);
    assert_eq!(
        w.ok(&["action", "invoke", "m", "-r"]).json(),
        json!({"entry": true})
    );
    w.fails(&["action", "create", "bad", "code.txt"], 2);

    // Limits: only the given ones are sent, all are stored.
    w.ok(&[
        "action", "create", "lim", "main.js", "--main", "entry", "-t", "3000", "-m", "128",
    ]);
    let limits = w.ok(&["action", "get", "lim", "limits"]).json();
    assert_eq!(limits["timeout"], 3000);
    assert_eq!(limits["memory"], 128);
    w.ok(&[
        "action",
        "update",
        "lim",
        "-l",
        "5",
        "-c",
        "1",
        "--timeout",
        "4000",
    ]);
    let limits = w.ok(&["action", "get", "lim", "limits"]).json();
    // Limits not given keep their value.
    assert_eq!(
        limits,
        json!({"timeout": 4000, "memory": 128, "logs": 5, "concurrency": 1})
    );
    w.ok(&[
        "action",
        "update",
        "lim",
        "--memory",
        "192",
        "--logsize",
        "2",
        "--concurrency",
        "1",
    ]);
    let limits = w.ok(&["action", "get", "lim", "limits"]).json();
    assert_eq!(limits["memory"], 192);
    assert_eq!(limits["logs"], 2);
    assert_eq!(
        w.ok(&["action", "invoke", "lim", "-r"]).json(),
        json!({"entry": true})
    );
    // A timeout shorter than the action: the invoke fails (502 → 246).
    w.write(
        "slow.js",
        "function main() { return new Promise(r => setTimeout(() => r({}), 5000)) }",
    );
    w.ok(&["action", "create", "slow", "slow.js", "--timeout", "500"]);
    let o = w.fails(&["action", "invoke", "slow", "-b"], 246);
    let a = o.stderr_json();
    assert_eq!(a["response"]["status"], "action developer error");
    assert_eq!(kv(&a["annotations"], "timeout"), Some(&json!(true)));
}

#[test]
fn web_copy_sequence_and_save() {
    let s = Server::start();
    let w = s.wsk();
    w.write("hello.js", HELLO_JS);
    w.ok(&[
        "action", "create", "hello", "hello.js", "-p", "name", "Copy", "-a", "x", "1",
    ]);

    // --web true / raw / false and --web-secure.
    w.ok(&["action", "update", "hello", "--web", "true"]);
    let annots = w.ok(&["action", "get", "hello", "annotations"]).json();
    assert_eq!(kv(&annots, "web-export"), Some(&json!(true)));
    assert_eq!(kv(&annots, "raw-http"), Some(&json!(false)));
    assert_eq!(kv(&annots, "final"), Some(&json!(true)));
    assert_eq!(kv(&annots, "x"), Some(&json!(1)), "other annotations kept");
    let o = w.ok(&["action", "get", "hello", "--url"]);
    assert_eq!(
        o.stdout,
        format!(
            "ok: got action hello\n{}/api/v1/web/guest/default/hello\n",
            s.api_host
        )
    );
    // Final parameters are marked `**` in the summary.
    let o = w.ok(&["action", "get", "hello", "--summary"]);
    assert!(o.stdout.contains("(parameters: **name)"), "{}", o.stdout);
    w.ok(&["action", "update", "hello", "--web-secure", "s3cret"]);
    let annots = w.ok(&["action", "get", "hello", "annotations"]).json();
    assert_eq!(kv(&annots, "require-whisk-auth"), Some(&json!("s3cret")));
    assert_eq!(kv(&annots, "web-export"), Some(&json!(true)));
    w.ok(&["action", "update", "hello", "--web-secure", "true"]);
    let annots = w.ok(&["action", "get", "hello", "annotations"]).json();
    assert!(
        kv(&annots, "require-whisk-auth").is_some_and(|v| v.is_i64()),
        "{annots}"
    );
    w.ok(&[
        "action",
        "update",
        "hello",
        "--web",
        "raw",
        "--web-secure",
        "false",
    ]);
    let annots = w.ok(&["action", "get", "hello", "annotations"]).json();
    assert_eq!(kv(&annots, "raw-http"), Some(&json!(true)));
    assert_eq!(kv(&annots, "require-whisk-auth"), None);
    w.ok(&["action", "update", "hello", "--web", "no"]);
    let annots = w.ok(&["action", "get", "hello", "annotations"]).json();
    assert_eq!(kv(&annots, "web-export"), Some(&json!(false)));
    let o = w.ok(&["action", "get", "hello", "-r"]);
    assert_eq!(
        o.stdout,
        format!(
            "ok: got action hello\n{}/api/v1/namespaces/guest/actions/hello\n",
            s.api_host
        )
    );

    // --copy: code, parameters and annotations of the source.
    let o = w.ok(&["action", "create", "hello2", "--copy", "hello"]);
    assert_eq!(o.stdout, "ok: created action hello2\n");
    let copy = w.ok(&["action", "get", "hello2"]).json();
    assert_eq!(kv(&copy["parameters"], "name"), Some(&json!("Copy")));
    assert_eq!(kv(&copy["annotations"], "x"), Some(&json!(1)));
    assert_eq!(
        w.ok(&["action", "invoke", "hello2", "-r"]).json(),
        json!({"payload": "Hello, Copy!"})
    );

    // --sequence: the components' results flow through.
    w.write(
        "upper.js",
        "function main(p) { return {payload: p.payload.toUpperCase()} }",
    );
    w.ok(&["action", "create", "upper", "upper.js"]);
    let o = w.ok(&["action", "create", "shout", "--sequence", "hello2,upper"]);
    assert_eq!(o.stdout, "ok: created action shout\n");
    let exec = w.ok(&["action", "get", "shout", "exec"]).json();
    assert_eq!(exec["kind"], "sequence");
    // The server resolves `_` to the caller's namespace.
    assert_eq!(exec["components"], json!(["/guest/hello2", "/guest/upper"]));
    let o = w.ok(&["action", "invoke", "shout", "-r"]);
    assert_eq!(o.json(), json!({"payload": "HELLO, COPY!"}));
    let o = w.ok(&["action", "invoke", "shout", "-r", "-p", "name", "seq"]);
    assert_eq!(o.json(), json!({"payload": "HELLO, SEQ!"}));
    let o = w.ok(&["action", "invoke", "shout", "-b"]);
    let a = o.json();
    assert_eq!(
        a["logs"].as_array().map(Vec::len),
        Some(2),
        "one log line per component: {a}"
    );
    for id in a["logs"].as_array().expect("logs") {
        assert!(is_activation_id(id.as_str().unwrap_or("")), "{a}");
    }
    w.ok(&["action", "update", "shout", "--sequence", "upper"]);
    let exec = w.ok(&["action", "get", "shout", "exec"]).json();
    assert_eq!(exec["components"], json!(["/guest/upper"]));

    // --save / --save-as write the code.
    let o = w.fails(&["action", "get", "hello", "--save"], 2);
    assert!(
        o.stderr.contains("The file 'hello.js' already exists"),
        "{}",
        o.stderr
    );
    let path = w.dir().join("hello.js");
    std::fs::remove_file(&path).expect("rm");
    let o = w.ok(&["action", "get", "hello", "--save"]);
    assert_eq!(
        o.stdout,
        format!("ok: saved action code to {}\n", path.display())
    );
    assert_eq!(w.read("hello.js"), HELLO_JS);
    w.ok(&["action", "get", "hello", "--save-as", "copy.js"]);
    assert_eq!(w.read("copy.js"), HELLO_JS);
    w.write("hello.py", HELLO_PY);
    w.ok(&["action", "create", "py", "hello.py"]);
    std::fs::remove_file(w.dir().join("hello.py")).expect("rm");
    w.ok(&["action", "get", "py", "--save"]);
    assert_eq!(w.read("py.py"), HELLO_PY);
    let o = w.fails(&["action", "get", "shout", "--save"], 2);
    assert!(
        o.stderr.contains("Cannot save action sequences"),
        "{}",
        o.stderr
    );
}

#[test]
fn native_action_from_a_zip() {
    let s = Server::start();
    let w = s.wsk();
    let exec =
        "#!/bin/sh\necho \"native log line\"\necho \"{\\\"native\\\": true, \\\"args\\\": $1}\"\n";
    let zip = zip_of(&[("exec", exec, 0o755)]);
    w.write("native.zip", &zip);
    let o = w.ok(&["action", "create", "nat", "native.zip", "--native"]);
    assert_eq!(o.stdout, "ok: created action nat\n");
    let e = w.ok(&["action", "get", "nat", "exec"]).json();
    assert_eq!(e["kind"], "blackbox");
    assert_eq!(e["image"], "openwhisk/dockerskeleton");
    assert_eq!(e["binary"], true);
    // The archive round-trips through --save.
    w.ok(&["action", "get", "nat", "--save-as", "back.zip"]);
    assert_eq!(
        std::fs::read(w.dir().join("back.zip")).expect("saved zip"),
        zip
    );
    // It runs: the last stdout line is the result, the others are logs.
    let o = w.ok(&["action", "invoke", "nat", "-b", "-p", "x", "1"]);
    let a = o.json();
    assert_eq!(
        a["response"]["result"],
        json!({"native": true, "args": {"x": 1}}),
        "{a}"
    );
    assert!(
        a["logs"][0]
            .as_str()
            .unwrap_or("")
            .ends_with("native log line"),
        "{a}"
    );
    // --native on update keeps it native.
    w.ok(&[
        "action",
        "update",
        "nat",
        "native.zip",
        "--native",
        "-p",
        "y",
        "2",
    ]);
    let o = w.ok(&["action", "invoke", "nat", "-r"]);
    assert_eq!(o.json(), json!({"native": true, "args": {"y": 2}}));
}
