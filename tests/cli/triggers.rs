//! `trigger create|update|fire|get|list|delete`, `rule ...` and the feed lifecycle.

use serde_json::{json, Value};

use crate::support::{eventually, is_activation_id, kv, row, Server, Wsk, GUEST_KEY};

/// The ids of the activations of `name` (newest first).
fn activation_ids(w: &Wsk, name: &str) -> Vec<String> {
    w.ok(&["activation", "list", name, "-l", "200"])
        .stdout
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().nth(2).map(str::to_string))
        .collect()
}

#[test]
fn triggers_and_rules() {
    let s = Server::start();
    let w = s.wsk();
    w.write(
        "echo.js",
        "function main(p) { return {color: p.color, name: p.name, x: p.x} }",
    );
    w.ok(&["action", "create", "echo", "echo.js"]);
    w.ok(&["action", "create", "other", "echo.js"]);

    // trigger create / get / update / list.
    let o = w.ok(&["trigger", "create", "t", "-p", "color", "red"]);
    assert_eq!(o.stdout, "ok: created trigger t\n");
    let o = w.ok(&["trigger", "get", "t"]);
    assert!(
        o.stdout.starts_with("ok: got trigger t\n{\n"),
        "{}",
        o.stdout
    );
    let t = o.json();
    assert_eq!(t["name"], "t");
    assert_eq!(kv(&t["parameters"], "color"), Some(&json!("red")));
    let o = w.ok(&["trigger", "get", "t", "parameters"]);
    assert!(o
        .stdout
        .starts_with("ok: got trigger t, displaying field parameters\n"));
    let o = w.ok(&["trigger", "get", "t", "--summary"]);
    assert_eq!(
        o.stdout,
        "trigger /guest/t: Returns a result based on parameter color\n   (parameters: *color)\n"
    );
    w.fails(&["trigger", "create", "t"], 153);
    w.write("tp.json", r#"{"color": "blue", "x": 1}"#);
    let o = w.ok(&[
        "trigger",
        "update",
        "t",
        "-P",
        "tp.json",
        "-a",
        "description",
        "my trigger",
    ]);
    assert_eq!(o.stdout, "ok: updated trigger t\n");
    let t = w.ok(&["trigger", "get", "t"]).json();
    assert_eq!(kv(&t["parameters"], "color"), Some(&json!("blue")));
    assert_eq!(
        kv(&t["annotations"], "description"),
        Some(&json!("my trigger"))
    );
    assert_eq!(t["version"], "0.0.2");
    let o = w.ok(&["trigger", "update", "t2"]);
    assert_eq!(
        o.stdout, "ok: created trigger t2\n",
        "update creates a missing trigger"
    );
    let o = w.ok(&["trigger", "list", "--name-sort"]);
    assert_eq!(
        o.stdout,
        format!(
            "triggers\n{}\n{}\n",
            row("/guest/t", "private"),
            row("/guest/t2", "private")
        )
    );

    // Without an active rule a fire is accepted but records nothing (wsk prints an empty id).
    let o = w.ok(&["trigger", "fire", "t"]);
    assert_eq!(o.stdout, "ok: triggered /_/t with id \n");

    // rule create / status / get / list.
    let o = w.ok(&["rule", "create", "r", "t", "echo"]);
    assert_eq!(o.stdout, "ok: created rule r\n");
    let o = w.ok(&["rule", "status", "r"]);
    assert_eq!(o.stdout, "ok: rule r is active\n");
    let o = w.ok(&["rule", "get", "r"]);
    assert!(o.stdout.starts_with("ok: got rule r\n"), "{}", o.stdout);
    let r = o.json();
    assert_eq!(r["status"], "active");
    assert_eq!(r["trigger"], json!({"name": "t", "path": "guest"}));
    assert_eq!(r["action"], json!({"name": "echo", "path": "guest"}));
    let o = w.ok(&["rule", "get", "r", "status"]);
    assert_eq!(
        o.stdout,
        "ok: got rule r, displaying field status\n\"active\"\n"
    );
    let o = w.ok(&["rule", "get", "r", "-s"]);
    assert_eq!(o.stdout, "rule /guest/r\n   (status: active)\n");
    let o = w.ok(&["rule", "list"]);
    assert_eq!(
        o.stdout,
        format!(
            "rules\n{}\n",
            row("/guest/r", &format!("{:<20} active", "private"))
        )
    );
    w.fails(&["rule", "create", "r", "t", "echo"], 153);
    let o = w.fails(&["rule", "create", "r2", "t", "missing"], 144);
    assert!(
        o.stderr
            .contains("action /guest/missing does not exist (code "),
        "{}",
        o.stderr
    );

    // fire: the rule's action runs with trigger params < fire params.
    let o = w.ok(&["trigger", "fire", "t", "-p", "name", "Fired"]);
    let fire_id = o.id();
    assert_eq!(o.stdout, format!("ok: triggered /_/t with id {fire_id}\n"));
    let mut ids = Vec::new();
    eventually(
        || {
            ids = activation_ids(&w, "echo");
            !ids.is_empty()
        },
        "the rule's action ran",
    );
    let o = w.ok(&["activation", "result", &ids[0]]);
    assert_eq!(o.json(), json!({"color": "blue", "name": "Fired", "x": 1}));
    let o = w.ok(&["trigger", "fire", "t", "-p", "x", "2", "-P", "tp.json"]);
    assert!(is_activation_id(&o.id()));
    // The trigger activation lists the rule that ran.
    let t_act = w.activation(&fire_id);
    assert_eq!(t_act["name"], "t");
    let mut log = Value::Null;
    eventually(
        || {
            log = w.activation(&fire_id)["logs"][0].clone();
            log.is_string()
        },
        "the trigger activation has its rule log",
    );
    let log: Value = serde_json::from_str(log.as_str().unwrap_or("")).expect("json log");
    assert_eq!(log["rule"], "guest/r");
    assert_eq!(log["action"], "guest/echo");
    assert_eq!(log["success"], true);

    // disable / enable.
    let o = w.ok(&["rule", "disable", "r"]);
    assert_eq!(o.stdout, "ok: disabled rule r\n");
    assert_eq!(
        w.ok(&["rule", "status", "r"]).stdout,
        "ok: rule r is inactive\n"
    );
    let o = w.ok(&["rule", "list"]);
    assert!(
        o.stdout
            .contains(&row("/guest/r", &format!("{:<20} inactive", "private"))),
        "{}",
        o.stdout
    );
    assert_eq!(
        w.ok(&["trigger", "fire", "t"]).stdout,
        "ok: triggered /_/t with id \n"
    );
    let o = w.ok(&["rule", "enable", "r"]);
    assert_eq!(o.stdout, "ok: enabled rule r\n");
    assert_eq!(
        w.ok(&["rule", "status", "r"]).stdout,
        "ok: rule r is active\n"
    );

    // update points the rule elsewhere.
    let o = w.ok(&["rule", "update", "r", "t", "other"]);
    assert_eq!(o.stdout, "ok: updated rule r\n");
    assert_eq!(
        w.ok(&["rule", "get", "r", "action"]).json(),
        json!({"name": "other", "path": "guest"})
    );
    w.ok(&["trigger", "fire", "t", "-p", "name", "Other"]);
    let mut ids = Vec::new();
    eventually(
        || {
            ids = activation_ids(&w, "other");
            !ids.is_empty()
        },
        "the updated rule's action ran",
    );
    assert_eq!(
        w.ok(&["activation", "result", &ids[0]]).json()["name"],
        "Other"
    );

    // delete (with --disable), then the trigger.
    let o = w.ok(&["rule", "delete", "r", "--disable"]);
    assert_eq!(o.stdout, "ok: deleted rule r\n");
    w.fails(&["rule", "get", "r"], 148);
    w.ok(&["rule", "create", "r3", "t2", "echo"]);
    w.ok(&["rule", "delete", "r3"]);
    assert_eq!(w.ok(&["rule", "list"]).stdout, "rules\n");
    let o = w.ok(&["trigger", "delete", "t"]);
    assert_eq!(o.stdout, "ok: deleted trigger t\n");
    w.fails(&["trigger", "get", "t"], 148);
    w.fails(&["trigger", "delete", "t"], 148);
    w.ok(&["trigger", "delete", "t2"]);
    assert_eq!(w.ok(&["trigger", "list"]).stdout, "triggers\n");
}

#[test]
fn feed_lifecycle() {
    let s = Server::start();
    let w = s.wsk();
    // A feed action that just reports what it was given.
    w.write(
        "feed.js",
        "function main(p) {\n  return {lifecycleEvent: p.lifecycleEvent, triggerName: p.triggerName, \
         authKey: p.authKey, interval: p.interval};\n}\n",
    );
    w.ok(&["package", "create", "feeds"]);
    w.ok(&[
        "action",
        "create",
        "feeds/feedaction",
        "feed.js",
        "-a",
        "feed",
        "true",
    ]);

    // CREATE: the trigger is created, then the feed invoked (blocking) and its activation printed.
    let o = w.ok(&[
        "trigger",
        "create",
        "ft",
        "--feed",
        "feeds/feedaction",
        "-p",
        "interval",
        "5",
    ]);
    let create_id = o.id();
    assert!(o.stdout.starts_with(&format!(
        "ok: invoked /_/feeds/feedaction with id {create_id}\n{{\n"
    )));
    assert!(
        o.stdout.ends_with("}\nok: created trigger ft\n"),
        "{}",
        o.stdout
    );
    // The trigger carries the feed annotation, not the parameters.
    let http = reqwest::blocking::Client::new();
    let t: Value = http
        .get(format!("{}/api/v1/namespaces/_/triggers/ft", s.api_host))
        .basic_auth(
            "23bc46b1-71f6-4ed5-8c54-816aa4f8c502",
            GUEST_KEY.split(':').nth(1),
        )
        .send()
        .expect("GET trigger")
        .json()
        .expect("json");
    assert_eq!(
        kv(&t["annotations"], "feed"),
        Some(&json!("/_/feeds/feedaction")),
        "{t}"
    );
    assert_eq!(t["parameters"], json!([]), "{t}");

    // READ: `trigger get` invokes the feed and shows its activation.
    let o = w.ok(&["trigger", "get", "ft"]);
    assert_eq!(o.json()["response"]["result"]["lifecycleEvent"], "READ");
    let read_id = o.json()["activationId"].as_str().expect("id").to_string();
    // UPDATE with new parameters.
    let o = w.ok(&["trigger", "update", "ft", "-p", "interval", "10"]);
    assert!(
        o.stdout.ends_with("}\nok: updated trigger ft\n"),
        "{}",
        o.stdout
    );
    let update_id = o.json_prefix_id();
    // DELETE.
    let o = w.ok(&["trigger", "delete", "ft"]);
    assert!(
        o.stdout.ends_with("}\nok: deleted trigger ft\n"),
        "{}",
        o.stdout
    );
    let delete_id = o.json_prefix_id();
    w.fails(&["trigger", "get", "ft"], 148);

    // The feed action's activations, oldest first, with what it received.
    let ids = activation_ids(&w, "feeds/feedaction");
    assert_eq!(
        ids,
        [
            delete_id.clone(),
            update_id.clone(),
            read_id.clone(),
            create_id.clone()
        ]
    );
    let expected = [
        ("CREATE", &create_id, json!(5)),
        ("READ", &read_id, Value::Null),
        ("UPDATE", &update_id, json!(10)),
        ("DELETE", &delete_id, Value::Null),
    ];
    for (event, id, interval) in expected {
        let r = w.ok(&["activation", "result", id]).json();
        assert_eq!(r["lifecycleEvent"], event, "{r}");
        assert_eq!(r["triggerName"], "/_/ft", "{r}");
        assert_eq!(r["authKey"], GUEST_KEY, "{r}");
        assert_eq!(
            r.get("interval").cloned().unwrap_or(Value::Null),
            interval,
            "{event}: {r}"
        );
    }

    // A feed that fails on CREATE: the failure is reported (exit code of the failed invoke) and
    // the trigger deleted again like `trigger delete` does, feed DELETE event included.
    w.write(
        "badfeed.js",
        "function main(p) {\n  if (p.lifecycleEvent === 'CREATE') return {error: 'no such source'};\n  \
         return {event: p.lifecycleEvent};\n}\n",
    );
    w.ok(&["action", "create", "feeds/bad", "badfeed.js"]);
    let o = w.fails(&["trigger", "create", "bt", "--feed", "feeds/bad"], 246);
    assert!(o.stderr.contains("no such source"), "{}", o.stderr);
    assert!(
        o.stderr.contains("error: Unable to create trigger 'bt'"),
        "{}",
        o.stderr
    );
    assert!(
        o.stdout.ends_with("ok: deleted trigger bt\n"),
        "{}",
        o.stdout
    );
    w.fails(&["trigger", "get", "bt"], 148);
    let ids = activation_ids(&w, "feeds/bad");
    assert_eq!(ids.len(), 2, "CREATE then DELETE");
    assert_eq!(
        w.ok(&["activation", "result", &ids[1]]).json()["error"],
        "no such source"
    );
    assert_eq!(
        w.ok(&["activation", "result", &ids[0]]).json()["event"],
        "DELETE"
    );
}

trait FeedOut {
    /// The activation id of the JSON a feed invocation printed before the `ok:` line.
    fn json_prefix_id(&self) -> String;
}

impl FeedOut for crate::support::Out {
    fn json_prefix_id(&self) -> String {
        let end = self.stdout.rfind("\nok: ").expect("ok line");
        let v: Value = serde_json::from_str(&self.stdout[..end]).expect("feed activation json");
        v["activationId"]
            .as_str()
            .expect("activationId")
            .to_string()
    }
}

/// The docs' alarms walk-through with `whirl` in place of `wsk`: a trigger fed by
/// `/whisk.system/alarms/alarm`, a rule, fires, `trigger get` (the feed's READ), a refused feed
/// (the trigger is not left behind) and `trigger delete` (the feed's DELETE).
#[test]
fn alarms_walkthrough() {
    let s = Server::start();
    let w = s.wsk();
    w.write(
        "hello.js",
        "function main(p) { return {payload: 'Hello, ' + p.name + ' from ' + p.place} }",
    );
    w.ok(&["action", "create", "hello", "hello.js"]);
    let o = w.ok(&[
        "trigger",
        "create",
        "everySecond",
        "--feed",
        "/whisk.system/alarms/alarm",
        "-p",
        "cron",
        "* * * * * *",
        "-p",
        "trigger_payload",
        r#"{"name":"Odin","place":"Asgard"}"#,
    ]);
    assert!(
        o.stdout.contains("\"status\": \"success\"")
            && o.stdout.ends_with("ok: created trigger everySecond\n"),
        "{}",
        o.stdout
    );
    w.ok(&["rule", "create", "greet", "everySecond", "hello"]);
    eventually(
        || activation_ids(&w, "hello").len() >= 2,
        "hello ran twice from the alarm",
    );
    let id = activation_ids(&w, "hello")[0].clone();
    let r = w.ok(&["activation", "result", &id]);
    assert!(r.stdout.contains("Hello, Odin from Asgard"), "{}", r.stdout);

    // `trigger get` asks the feed (READ).
    let got = w.ok(&["trigger", "get", "everySecond"]);
    assert!(
        got.stdout.contains("\"cron\": \"* * * * * *\""),
        "{}",
        got.stdout
    );
    assert!(got.stdout.contains("\"active\": true"), "{}", got.stdout);

    // A refused feed: the message is shown and the trigger is gone again.
    let bad = w.fails(
        &[
            "trigger",
            "create",
            "bad",
            "--feed",
            "/whisk.system/alarms/alarm",
            "-p",
            "cron",
            "nope",
        ],
        246,
    );
    let text = format!("{}{}", bad.stdout, bad.stderr);
    assert!(text.contains("cron pattern 'nope' is not valid"), "{text}");
    w.fails(&["trigger", "get", "bad"], 148);

    // `trigger delete` runs the feed's DELETE; the alarm stops with it.
    w.ok(&["rule", "delete", "greet"]);
    w.ok(&["trigger", "delete", "everySecond"]);
    w.fails(&["trigger", "get", "everySecond"], 148);
}

/// The alarms package's `interval` and `once` walk-throughs with `whirl` in place of `wsk`
/// (dates in the future rather than the docs' 2019 ones): an interval trigger reads back its
/// configuration; a `once` trigger with `deleteAfterFire rules` fires once, then it and its rule
/// are gone.
#[test]
fn alarms_interval_and_once_walkthrough() {
    let s = Server::start();
    let w = s.wsk();
    let in_ms = |ms: u64| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        (now + ms).to_string()
    };
    let stop = in_ms(86_400_000);
    w.ok(&[
        "trigger",
        "create",
        "interval",
        "--feed",
        "/whisk.system/alarms/interval",
        "--param",
        "minutes",
        "2",
        "--param",
        "trigger_payload",
        r#"{"name":"Odin","place":"Asgard"}"#,
        "--param",
        "stopDate",
        &stop,
    ]);
    let got = w.ok(&["trigger", "get", "interval"]);
    assert!(got.stdout.contains("\"minutes\": 2"), "{}", got.stdout);
    assert!(
        got.stdout.contains(&format!("\"stopDate\": {stop}")),
        "{}",
        got.stdout
    );
    w.ok(&["trigger", "delete", "interval"]);

    w.write(
        "hello.js",
        "function main(p) { return {payload: 'Hello, ' + p.name + ' from ' + p.place} }",
    );
    w.ok(&["action", "create", "hello", "hello.js"]);
    let date = in_ms(2_000);
    w.ok(&[
        "trigger",
        "create",
        "fireOnce",
        "--feed",
        "/whisk.system/alarms/once",
        "--param",
        "trigger_payload",
        r#"{"name":"Odin","place":"Asgard"}"#,
        "--param",
        "date",
        &date,
        "--param",
        "deleteAfterFire",
        "rules",
    ]);
    w.ok(&["rule", "create", "onceRule", "fireOnce", "hello"]);
    eventually(
        || activation_ids(&w, "hello").len() == 1,
        "hello ran once from the alarm",
    );
    eventually(
        || w.run(&["trigger", "get", "fireOnce"]).code == 148,
        "the trigger is deleted after it fired",
    );
    w.fails(&["rule", "get", "onceRule"], 148);
    let id = activation_ids(&w, "hello")[0].clone();
    let r = w.ok(&["activation", "result", &id]);
    assert!(r.stdout.contains("Hello, Odin from Asgard"), "{}", r.stdout);
}
