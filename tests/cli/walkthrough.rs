//! OpenWhisk's getting-started walk-through with `whirl` in place of `wsk`; the commands and
//! outputs of `docs/getting-started.md` come from this test (run it with
//! `WHIRL_WALKTHROUGH_OUT=FILE` to get the transcript, with the port shown as 3233).

use serde_json::json;

use crate::support::{eventually, Out, Server, Wsk, GUEST_KEY};

const HELLO_JS: &str = "function main(params) {
  var name = params.name || 'stranger';
  var place = params.place || 'somewhere';
  console.log('Greeting ' + name);
  return {payload: 'Hello, ' + name + ' from ' + place + '!'};
}
";

const HELLO_PY: &str = "def main(args):
    name = args.get(\"name\", \"stranger\")
    greeting = \"Hello \" + name + \"!\"
    print(greeting)
    return {\"greeting\": greeting}
";

const ASYNC_JS: &str = "function main(args) {
  return new Promise(function(resolve, reject) {
    setTimeout(function() {
      resolve({ done: true });
    }, 1000);
  });
}
";

const IDENTITY_JS: &str = "function main(params) {
  return params;
}
";

const UPPER_JS: &str = "function main(params) {
  return {payload: params.payload.toUpperCase()};
}
";

/// Runs commands and keeps a transcript.
struct Walk<'a> {
    w: &'a Wsk,
    host: String,
    transcript: String,
}

impl Walk<'_> {
    fn shown(&self, text: &str) -> String {
        text.replace(&self.host, "http://127.0.0.1:3233")
    }

    fn record(&mut self, args: &[&str], o: &Out) {
        let quoted: Vec<String> = args
            .iter()
            .map(|a| {
                if a.contains([' ', '"']) {
                    format!("'{a}'")
                } else {
                    a.to_string()
                }
            })
            .collect();
        let line = format!("$ whirl {}\n", quoted.join(" "));
        self.transcript.push_str(&self.shown(&line));
        self.transcript.push_str(&self.shown(&o.stdout));
        self.transcript.push_str(&self.shown(&o.stderr));
        if o.code != 0 {
            self.transcript
                .push_str(&format!("(exit code {})\n", o.code));
        }
        self.transcript.push('\n');
    }

    #[track_caller]
    fn ok(&mut self, args: &[&str]) -> Out {
        let o = self.w.ok(args);
        self.record(args, &o);
        o
    }

    fn file(&mut self, name: &str, content: &str) {
        self.w.write(name, content);
        self.transcript
            .push_str(&format!("$ cat {name}\n{content}\n"));
    }

    fn note(&mut self, text: &str) {
        self.transcript.push_str(&format!("# {text}\n"));
    }
}

#[test]
fn walkthrough() {
    let s = Server::start();
    let w = Wsk::new();
    let mut t = Walk {
        w: &w,
        host: s.api_host.clone(),
        transcript: String::new(),
    };

    // Configure the client.
    let o = t.ok(&[
        "property",
        "set",
        "--apihost",
        &s.api_host,
        "--auth",
        GUEST_KEY,
    ]);
    assert!(
        o.stdout.contains("ok: whisk API host set to"),
        "{}",
        o.stdout
    );
    let o = t.ok(&["property", "get", "--namespace"]);
    assert_eq!(o.stdout, "whisk namespace\t\tguest\n");
    t.ok(&["namespace", "list"]);

    // Hello world in JavaScript.
    t.file("hello.js", HELLO_JS);
    let o = t.ok(&["action", "create", "hello", "hello.js"]);
    assert_eq!(o.stdout, "ok: created action hello\n");
    let o = t.ok(&["action", "list"]);
    assert!(o.stdout.contains("/guest/hello"), "{}", o.stdout);
    let o = t.ok(&["action", "invoke", "hello", "--blocking"]);
    assert_eq!(
        o.json()["response"]["result"],
        json!({"payload": "Hello, stranger from somewhere!"})
    );
    let o = t.ok(&[
        "action", "invoke", "hello", "--result", "--param", "name", "Bernie", "--param", "place",
        "Vermont",
    ]);
    assert_eq!(o.json(), json!({"payload": "Hello, Bernie from Vermont!"}));

    // Default parameters, and invoke parameters overriding them.
    let o = t.ok(&["action", "update", "hello", "--param", "name", "World"]);
    assert_eq!(o.stdout, "ok: updated action hello\n");
    let o = t.ok(&["action", "invoke", "hello", "--result"]);
    assert_eq!(o.json(), json!({"payload": "Hello, World from somewhere!"}));
    let o = t.ok(&[
        "action", "invoke", "hello", "--result", "--param", "name", "Bernie", "--param", "place",
        "Vermont",
    ]);
    assert_eq!(o.json(), json!({"payload": "Hello, Bernie from Vermont!"}));
    t.file(
        "parameters.json",
        "{\n  \"name\": \"Dorothy\",\n  \"place\": \"Kansas\"\n}",
    );
    let o = t.ok(&[
        "action",
        "invoke",
        "hello",
        "--result",
        "--param-file",
        "parameters.json",
    ]);
    assert_eq!(o.json(), json!({"payload": "Hello, Dorothy from Kansas!"}));
    let o = t.ok(&["action", "get", "hello", "parameters"]);
    assert_eq!(o.json(), json!([{"key": "name", "value": "World"}]));

    // Python.
    t.file("hello.py", HELLO_PY);
    t.ok(&["action", "create", "helloPython", "hello.py"]);
    let o = t.ok(&[
        "action",
        "invoke",
        "helloPython",
        "--result",
        "--param",
        "name",
        "Guido",
    ]);
    assert_eq!(o.json(), json!({"greeting": "Hello Guido!"}));

    // An asynchronous action, invoked without blocking.
    t.file("asyncAction.js", ASYNC_JS);
    t.ok(&["action", "create", "asyncAction", "asyncAction.js"]);
    let o = t.ok(&["action", "invoke", "asyncAction"]);
    let id = o.id();
    t.note("a moment later, once the activation finished:");
    w.activation(&id);
    let o = t.ok(&["activation", "result", &id]);
    assert_eq!(o.json(), json!({"done": true}));
    let o = t.ok(&["activation", "get", &id]);
    let a = o.json();
    assert!(a["duration"].as_i64().unwrap_or(0) >= 1000, "{a}");
    let o = t.ok(&["action", "invoke", "asyncAction", "--blocking"]);
    assert_eq!(o.json()["response"]["result"], json!({"done": true}));

    // Activations.
    let o = t.ok(&["activation", "list", "--limit", "5"]);
    assert_eq!(o.stdout.lines().count(), 6, "{}", o.stdout);
    let hello_id = t
        .ok(&["action", "invoke", "hello", "--param", "name", "Logs"])
        .id();
    w.activation(&hello_id);
    let o = t.ok(&["activation", "logs", &hello_id]);
    assert!(
        o.stdout.trim_end().ends_with("stdout: Greeting Logs"),
        "{}",
        o.stdout
    );
    let o = t.ok(&["activation", "logs", "--last", "--strip"]);
    assert_eq!(o.stdout, "Greeting Logs\n");
    let o = t.ok(&["activation", "result", "--last"]);
    assert_eq!(o.json(), json!({"payload": "Hello, Logs from somewhere!"}));
    let o = t.ok(&["activation", "get", "--last", "--summary"]);
    assert!(
        o.stdout
            .starts_with("activation result for '/guest/hello' (success at "),
        "{}",
        o.stdout
    );

    // Polling: start `activation poll` in another terminal, then invoke.
    let mut poll = w.spawn(&["activation", "poll"], "poll.out");
    poll.wait_for("Polling for activation logs\n");
    let polled = t
        .ok(&["action", "invoke", "hello", "--param", "name", "Poll"])
        .id();
    poll.wait_for("stdout: Greeting Poll");
    poll.kill();
    let out = poll.output();
    assert!(
        out.contains(&format!("Activation: 'hello' ({polled})")),
        "{out}"
    );
    t.note("meanwhile, in the other terminal:");
    t.transcript.push_str("$ whirl activation poll\n");
    t.transcript.push_str(&out);
    t.transcript.push_str("^C\n\n");

    // Packages and bindings.
    t.file("identity.js", IDENTITY_JS);
    t.ok(&[
        "package", "create", "custom", "--param", "city", "Austin", "--param", "country", "USA",
    ]);
    t.ok(&["action", "create", "custom/identity", "identity.js"]);
    let o = t.ok(&["action", "invoke", "custom/identity", "--result"]);
    assert_eq!(o.json(), json!({"city": "Austin", "country": "USA"}));
    let o = t.ok(&[
        "package", "bind", "custom", "myCustom", "--param", "country", "Canada", "--param", "city",
        "Toronto",
    ]);
    assert_eq!(o.stdout, "ok: created binding myCustom\n");
    let o = t.ok(&[
        "action",
        "invoke",
        "myCustom/identity",
        "--result",
        "--param",
        "zip",
        "M5V",
    ]);
    assert_eq!(
        o.json(),
        json!({"city": "Toronto", "country": "Canada", "zip": "M5V"})
    );
    t.ok(&["package", "get", "custom", "--summary"]);
    t.ok(&["package", "list"]);

    // Triggers and rules.
    let o = t.ok(&["trigger", "create", "locationUpdate"]);
    assert_eq!(o.stdout, "ok: created trigger locationUpdate\n");
    t.ok(&["trigger", "list"]);
    let o = t.ok(&["rule", "create", "myRule", "locationUpdate", "hello"]);
    assert_eq!(o.stdout, "ok: created rule myRule\n");
    t.ok(&["rule", "get", "myRule", "--summary"]);
    let o = t.ok(&[
        "trigger",
        "fire",
        "locationUpdate",
        "--param",
        "name",
        "Donald",
        "--param",
        "place",
        "Washington, D.C.",
    ]);
    let fired = o.id();
    let mut ran = String::new();
    eventually(
        || {
            let o = w.ok(&["activation", "list", "hello", "--limit", "1"]);
            let id = o
                .stdout
                .lines()
                .nth(1)
                .and_then(|l| l.split_whitespace().nth(2))
                .unwrap_or("");
            let done = !id.is_empty() && id != polled;
            ran = id.to_string();
            done
        },
        "the rule invoked hello",
    );
    t.note("the rule invoked hello:");
    let o = t.ok(&["activation", "list", "--limit", "2"]);
    assert!(
        o.stdout.contains(&fired) && o.stdout.contains(&ran),
        "{}",
        o.stdout
    );
    let o = t.ok(&["activation", "result", &ran]);
    assert_eq!(
        o.json(),
        json!({"payload": "Hello, Donald from Washington, D.C.!"})
    );
    let o = t.ok(&["rule", "disable", "myRule"]);
    assert_eq!(o.stdout, "ok: disabled rule myRule\n");
    let o = t.ok(&["rule", "status", "myRule"]);
    assert_eq!(o.stdout, "ok: rule myRule is inactive\n");
    let o = t.ok(&[
        "trigger",
        "fire",
        "locationUpdate",
        "--param",
        "name",
        "Nobody",
    ]);
    assert_eq!(o.stdout, "ok: triggered /_/locationUpdate with id \n");
    let o = t.ok(&["rule", "enable", "myRule"]);
    assert_eq!(o.stdout, "ok: enabled rule myRule\n");
    t.ok(&["rule", "list"]);

    // A sequence.
    t.file("upper.js", UPPER_JS);
    t.ok(&["action", "create", "upper", "upper.js"]);
    let o = t.ok(&[
        "action",
        "create",
        "helloShout",
        "--sequence",
        "hello,upper",
    ]);
    assert_eq!(o.stdout, "ok: created action helloShout\n");
    let o = t.ok(&[
        "action",
        "invoke",
        "helloShout",
        "--result",
        "--param",
        "name",
        "Sequence",
    ]);
    assert_eq!(
        o.json(),
        json!({"payload": "HELLO, SEQUENCE FROM SOMEWHERE!"})
    );

    // Everything in the namespace.
    t.ok(&["list"]);

    if let Some(path) = std::env::var_os("WHIRL_WALKTHROUGH_OUT") {
        std::fs::write(path, &t.transcript).expect("write transcript");
    }
}
