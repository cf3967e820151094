//! `whirl admin namespace ...` against a running server's data dir.

use serde_json::{json, Value};

use crate::support::*;

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn namespace_create_list_delete() {
    let s = Server::start();
    let key = s.create_namespace("team-a");
    let (uuid, secret) = key.split_once(':').unwrap();
    assert_eq!(secret.len(), 64);
    assert!(secret.bytes().all(|b| b.is_ascii_alphanumeric()));
    assert_eq!(uuid.len(), 36);
    let team = s.api(Some(&key));
    assert_eq!(team.get("/api/v1/namespaces").ok(), json!(["team-a"]));
    create_action(&team, "a");
    assert_eq!(
        team.get(&format!("{NS}/actions/a")).ok()["namespace"],
        "team-a"
    );

    let list = s.admin(&["namespace", "list"]);
    assert!(list.status.success(), "{}", stderr(&list));
    let out = stdout(&list);
    let line = out
        .lines()
        .find(|l| l.starts_with("team-a\t"))
        .unwrap_or_else(|| panic!("team-a listed: {out}"));
    assert!(line.contains(uuid), "{line}");
    assert!(!out.contains(secret), "keys are never shown");
    assert!(out.lines().any(|l| l.starts_with("guest\t")));
    assert!(out.lines().any(|l| l.starts_with("whisk.system\t")));

    // Duplicate create fails clearly.
    let dup = s.admin(&["namespace", "create", "team-a"]);
    assert!(!dup.status.success());
    assert!(
        stderr(&dup).contains("namespace 'team-a' already exists"),
        "{}",
        stderr(&dup)
    );
    assert!(stdout(&dup).is_empty());
    // The original key still works.
    team.get("/api/v1/namespaces").ok();

    // Invalid names are refused.
    let bad = s.admin(&["namespace", "create", "bad/name"]);
    assert!(!bad.status.success());
    assert!(
        stderr(&bad).contains("illegal characters"),
        "{}",
        stderr(&bad)
    );

    // Delete: the key stops working (after the server's short identity cache).
    let del = s.admin(&["namespace", "delete", "team-a"]);
    assert!(del.status.success(), "{}", stderr(&del));
    eventually(
        || team.get("/api/v1/namespaces").status == 401,
        "a deleted namespace's key is refused",
    );
    team.get("/api/v1/namespaces")
        .assert_error(401, "The supplied authentication is invalid");
    assert!(!stdout(&s.admin(&["namespace", "list"])).contains("team-a"));
    let again = s.admin(&["namespace", "delete", "team-a"]);
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("namespace 'team-a' does not exist"),
        "{}",
        stderr(&again)
    );
    // The name can be created again, with a new key.
    let key2 = s.create_namespace("team-a");
    assert_ne!(key2, key);
    // The guest is unaffected throughout.
    s.guest().get("/api/v1/namespaces").ok();
}

#[test]
fn subject_option() {
    let s = Server::start();
    let out = s.admin(&["namespace", "create", "proj", "--subject", "bob"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let list = stdout(&s.admin(&["namespace", "list"]));
    assert!(list.lines().any(|l| l.starts_with("proj\tbob\t")), "{list}");
}

#[test]
fn namespace_limits_set_get_and_api() {
    let s = Server::start();
    let key = s.create_namespace("lim");
    let api = s.api(Some(&key));
    let before = api.get(&format!("{NS}/limits")).ok();
    let (node, py) = (s.default_kind("nodejs"), s.default_kind("python"));
    let both = format!("{node},{py}");

    let set = s.admin(&[
        "namespace",
        "limits",
        "set",
        "lim",
        "--invocations-per-minute",
        "7",
        "--concurrent-invocations",
        "3",
        "--fires-per-minute",
        "9",
        "--allowed-kinds",
        &both,
        "--store-activations",
        "false",
    ]);
    assert!(set.status.success(), "{}", stderr(&set));
    let get = s.admin(&["namespace", "limits", "get", "lim"]);
    assert!(get.status.success(), "{}", stderr(&get));
    let shown: Value = serde_json::from_str(&stdout(&get)).expect("limits get prints JSON");
    assert_eq!(
        shown,
        json!({"invocationsPerMinute": 7, "concurrentInvocations": 3, "firesPerMinute": 9,
               "allowedKinds": [node, py], "storeActivations": false})
    );
    eventually(
        || api.get(&format!("{NS}/limits")).ok()["invocationsPerMinute"] == 7,
        "limits set shows in GET limits",
    );
    let l = api.get(&format!("{NS}/limits")).ok();
    assert_eq!(l["concurrentInvocations"], 3);
    assert_eq!(l["firesPerMinute"], 9);
    assert_eq!(l["allowedKinds"], json!([node, py]));
    assert_eq!(l["storeActivations"], false);
    assert_eq!(l["maxActionMemory"], before["maxActionMemory"]);
    // Other namespaces are unaffected.
    assert_eq!(s.guest().get(&format!("{NS}/limits")).ok(), before);

    // Only the given ones change.
    let set = s.admin(&[
        "namespace",
        "limits",
        "set",
        "lim",
        "--fires-per-minute",
        "11",
    ]);
    assert!(set.status.success());
    let shown: Value =
        serde_json::from_str(&stdout(&s.admin(&["namespace", "limits", "get", "lim"]))).unwrap();
    assert_eq!(shown["firesPerMinute"], 11);
    assert_eq!(shown["invocationsPerMinute"], 7);

    // allowedKinds is enforced on action create.
    eventually(
        || api.get(&format!("{NS}/limits")).ok()["firesPerMinute"] == 11,
        "second limits set visible",
    );
    let r = api.put(
        &format!("{NS}/actions/py"),
        &json!({"exec": {"kind": "python:3", "code": "x"}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let only_node = s.admin(&[
        "namespace",
        "limits",
        "set",
        "lim",
        "--allowed-kinds",
        &node,
    ]);
    assert!(only_node.status.success());
    eventually(
        || api.get(&format!("{NS}/limits")).ok()["allowedKinds"] == json!([node]),
        "allowedKinds visible",
    );
    api.put(
        &format!("{NS}/actions/py2"),
        &json!({"exec": {"kind": "python:3", "code": "x"}}),
    )
    .assert_error(
        403,
        &format!("The supplied authentication is not authorized to access actions of kind '{py}'."),
    );

    // Clear removes all overrides.
    assert!(s
        .admin(&["namespace", "limits", "clear", "lim"])
        .status
        .success());
    let shown: Value =
        serde_json::from_str(&stdout(&s.admin(&["namespace", "limits", "get", "lim"]))).unwrap();
    assert_eq!(shown, json!({}));
    eventually(
        || api.get(&format!("{NS}/limits")).ok() == before,
        "cleared limits are the defaults",
    );

    // Unknown namespace.
    let missing = s.admin(&["namespace", "limits", "get", "nobody"]);
    assert!(!missing.status.success());
    assert!(
        stderr(&missing).contains("namespace 'nobody' does not exist"),
        "{}",
        stderr(&missing)
    );
}
