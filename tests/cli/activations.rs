//! `activation list|get|logs|result|poll`.

use serde_json::json;

use crate::support::{is_activation_id, Server};

#[test]
fn activation_list_get_logs_result() {
    let s = Server::start();
    let w = s.wsk();
    w.write("hello.js", "function main(p) {\n  console.log('hi ' + p.name);\n  console.error('err ' + p.name);\n  return {payload: 'Hello, ' + p.name};\n}\n");
    w.write("other.js", "function main(p) { return {other: true} }");
    w.ok(&["action", "create", "hello", "hello.js"]);
    w.ok(&["action", "create", "other", "other.js"]);
    let kind = w.ok(&["action", "get", "hello", "exec"]).json()["kind"]
        .as_str()
        .expect("kind")
        .to_string();

    let first = w
        .ok(&["action", "invoke", "hello", "-b", "-p", "name", "Ann"])
        .id();
    let o = w.ok(&["action", "invoke", "hello", "-p", "name", "Bob"]);
    let second = o.id();
    let rec2 = w.activation(&second);
    let third = w.ok(&["action", "invoke", "other", "-b"]).id();

    // The table: newest first.
    let o = w.ok(&["activation", "list"]);
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", o.stdout);
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(
        header,
        [
            "Datetime",
            "Activation",
            "ID",
            "Kind",
            "Start",
            "Duration",
            "Status",
            "Entity"
        ]
    );
    assert!(
        lines[1].contains(&third) && lines[1].ends_with(" guest/other:0.0.1"),
        "{}",
        o.stdout
    );
    assert!(
        lines[2].contains(&second) && lines[3].contains(&first),
        "{}",
        o.stdout
    );
    let cols: Vec<&str> = lines[3].split_whitespace().collect();
    // date, time, id, kind, start, duration, status, entity
    assert_eq!(cols.len(), 8, "{}", lines[3]);
    assert_eq!(cols[2], first);
    assert_eq!(cols[3], kind);
    assert!(cols[4] == "cold" || cols[4] == "warm", "{}", lines[3]);
    assert!(cols[5].ends_with('s'), "a Go duration: {}", lines[3]);
    assert_eq!(cols[6], "success");
    assert_eq!(cols[7], "guest/hello:0.0.1");
    assert_eq!(cols[0].len(), 10, "YYYY-MM-DD");

    // Filters and paging.
    let o = w.ok(&["activation", "list", "hello"]);
    assert_eq!(o.stdout.lines().count(), 3, "{}", o.stdout);
    assert!(!o.stdout.contains(&third));
    let o = w.ok(&["activation", "list", "-l", "1"]);
    assert_eq!(o.stdout.lines().count(), 2);
    assert!(o.stdout.contains(&third));
    let o = w.ok(&["activation", "list", "--limit", "1", "--skip", "1"]);
    assert!(
        o.stdout.contains(&second) && o.stdout.lines().count() == 2,
        "{}",
        o.stdout
    );
    let start2 = rec2["start"].as_u64().expect("start");
    let o = w.ok(&[
        "activation",
        "list",
        "hello",
        "--since",
        &start2.saturating_sub(1).to_string(),
    ]);
    assert!(o.stdout.contains(&second), "{}", o.stdout);
    let o = w.ok(&[
        "activation",
        "list",
        "--since",
        &(start2 + 3_600_000).to_string(),
    ]);
    assert_eq!(o.stdout.trim(), "", "nothing after an hour from now");
    let o = w.ok(&["activation", "list", "--upto", "1"]);
    assert_eq!(o.stdout.trim(), "");
    // --full: the records themselves.
    let o = w.ok(&["activation", "list", "hello", "--full", "-l", "1"]);
    assert!(o.stdout.starts_with("activations\n{\n"), "{}", o.stdout);
    let rec: serde_json::Value =
        serde_json::from_str(&o.stdout["activations\n".len()..]).expect("json");
    assert_eq!(rec["activationId"].as_str(), Some(second.as_str()));
    assert_eq!(rec["response"]["result"], json!({"payload": "Hello, Bob"}));

    // get: whole record, a field, --summary, --logs, --last.
    let o = w.ok(&["activation", "get", &first]);
    assert!(
        o.stdout
            .starts_with(&format!("ok: got activation {first}\n{{\n")),
        "{}",
        o.stdout
    );
    let a = o.json();
    assert_eq!(a["name"], "hello");
    assert_eq!(a["namespace"], "guest");
    assert_eq!(a["response"]["success"], true);
    let o = w.ok(&["activation", "get", &first, "response"]);
    assert!(o.stdout.starts_with(&format!(
        "ok: got activation {first}, displaying field response\n"
    )));
    assert_eq!(o.json()["result"], json!({"payload": "Hello, Ann"}));
    let o = w.ok(&["activation", "get", &first, "--summary"]);
    let head = o.stdout.lines().next().unwrap_or("");
    assert!(
        head.starts_with("activation result for '/guest/hello' (success at "),
        "{}",
        o.stdout
    );
    assert!(head.ends_with(" +0000 UTC)"), "{}", o.stdout);
    assert!(
        o.stdout
            .ends_with("{\n    \"payload\": \"Hello, Ann\"\n}\n"),
        "{}",
        o.stdout
    );
    let o = w.ok(&["activation", "get", &first, "--logs"]);
    assert_eq!(o.stdout, "hi Ann\nerr Ann\n");
    let o = w.ok(&["activation", "get", "--last"]);
    assert_eq!(o.json()["activationId"].as_str(), Some(third.as_str()));
    let o = w.ok(&["activation", "get", "-l", "name"]);
    assert_eq!(
        o.stdout,
        format!("ok: got activation {third}, displaying field name\n\"other\"\n")
    );

    // logs: with timestamps and streams, or stripped.
    let o = w.ok(&["activation", "logs", &first]);
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", o.stdout);
    assert!(
        lines[0].ends_with("Z stdout: hi Ann") && lines[0].contains('T'),
        "{}",
        o.stdout
    );
    assert!(lines[1].ends_with("Z stderr: err Ann"), "{}", o.stdout);
    let o = w.ok(&["activation", "logs", &second, "--strip"]);
    assert_eq!(o.stdout, "hi Bob\nerr Bob\n");
    let o = w.ok(&["activation", "logs", "--last"]);
    assert_eq!(o.stdout, "");
    let o = w.ok(&["activation", "logs", "-l", "-r"]);
    assert_eq!(o.stdout, "");

    // result.
    let o = w.ok(&["activation", "result", &first]);
    assert_eq!(o.stdout, "{\n    \"payload\": \"Hello, Ann\"\n}\n");
    let o = w.ok(&["activation", "result", "--last"]);
    assert_eq!(o.json(), json!({"other": true}));

    // Errors.
    let o = w.fails(&["activation", "get"], 1);
    assert!(
        o.stderr.contains("An activation ID is required."),
        "{}",
        o.stderr
    );
    let o = w.fails(
        &["activation", "result", "ffffffffffffffffffffffffffffffff"],
        148,
    );
    assert!(o.stderr.contains("(code "), "{}", o.stderr);
    w.fails(
        &["activation", "logs", "ffffffffffffffffffffffffffffffff"],
        148,
    );
}

#[test]
fn activation_poll_streams_logs() {
    let s = Server::start();
    let w = s.wsk();
    w.write(
        "hello.js",
        "function main(p) { console.log('polled ' + p.name); return {} }",
    );
    w.write(
        "quiet.js",
        "function main(p) { console.log('quiet ' + p.name); return {} }",
    );
    w.ok(&["action", "create", "hello", "hello.js"]);
    w.ok(&["action", "create", "quiet", "quiet.js"]);
    let old = w
        .ok(&["action", "invoke", "hello", "-b", "-p", "name", "before"])
        .id();

    // Poll one action from now on; kill it once it printed what we expect.
    let mut poll = w.spawn(&["activation", "poll", "hello"], "poll.out");
    poll.wait_for("Polling for activation logs\n");
    w.ok(&[
        "action",
        "invoke",
        "quiet",
        "-b",
        "-p",
        "name",
        "other action",
    ]);
    let id = w
        .ok(&["action", "invoke", "hello", "-p", "name", "live"])
        .id();
    poll.wait_for("stdout: polled live");
    // Ctrl-C ends it like wsk: "Poll terminated", exit code 1.
    poll.signal("INT");
    assert_eq!(poll.wait(), 1, "{}", poll.output());
    let out = poll.output();
    assert!(
        out.starts_with("Enter Ctrl-c to exit.\nPolling for activation logs\n"),
        "{out}"
    );
    assert!(out.ends_with("\nPoll terminated\n"), "{out}");
    assert!(
        out.contains(&format!("\nActivation: 'hello' ({id})\n[\n    \"")),
        "{out}"
    );
    assert!(
        !out.contains(&old),
        "activations before the poll started are not shown: {out}"
    );
    assert!(!out.contains("quiet"), "only the named action: {out}");

    // SIGTERM too.
    let mut poll = w.spawn(&["activation", "poll"], "poll-term.out");
    poll.wait_for("Polling for activation logs\n");
    poll.signal("TERM");
    assert_eq!(poll.wait(), 1, "{}", poll.output());
    assert!(poll.output().ends_with("Poll terminated\n"));

    // --since-minutes shows recent ones too; --exit ends the poll by itself.
    let mut poll = w.spawn(
        &["activation", "poll", "--since-minutes", "10", "--exit", "1"],
        "poll2.out",
    );
    assert_eq!(poll.wait(), 0, "{}", poll.output());
    let out = poll.output();
    for (name, id) in [("hello", &old), ("hello", &id)] {
        assert!(
            out.contains(&format!("Activation: '{name}' ({id})")),
            "{out}"
        );
    }
    assert!(out.contains("stdout: polled before"), "{out}");
    assert!(
        out.contains("stdout: quiet other action"),
        "all actions: {out}"
    );
    let ids: Vec<&str> = out
        .lines()
        .filter_map(|l| l.strip_prefix("Activation: '"))
        .filter_map(|l| l.split('(').nth(1))
        .map(|l| l.trim_end_matches(')'))
        .collect();
    assert_eq!(ids.len(), 3, "each activation once: {out}");
    assert!(ids.iter().all(|i| is_activation_id(i)), "{out}");
}
