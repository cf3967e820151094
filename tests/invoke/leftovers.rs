//! Nothing is left behind: SIGTERM removes every sandbox; after a SIGKILL the next start on the
//! same data dir removes the old sandboxes and records the interrupted activation.

use serde_json::json;

use crate::support::{alive, eventually, node, owner_dirs_of, python, server};

const SLEEPER: &str = "import time\ndef main(args):\n    time.sleep(args.get('secs', 60))\n    return {'slept': True}\n";

#[test]
fn sigterm_leaves_no_sandbox_process_or_cgroup() {
    let s = server().stem_cells("nodejs:default:1:256").start();
    let api = s.guest();
    api.action(
        "counter",
        &node("let n = 0; function main() { n += 1; return { n } }"),
    );
    api.action("sleeper", &python(SLEEPER));
    assert_eq!(api.call_ok("counter", &json!({}))["n"], 1);
    // One warm container, one stem cell (possibly replaced), one running action.
    let running = api.start("sleeper", &json!({"secs": 60}));
    // A cgroup exists a moment before its process joins it, so wait for the processes.
    eventually("three sandboxes run", || {
        s.containers().len() >= 3 && s.sandbox_processes().len() >= 3
    });
    let procs = s.sandbox_processes();
    assert!(procs.iter().all(alive));
    let dirs = s.owner_dirs();
    assert!(!dirs.is_empty());
    let pid = s.pid();
    let mut s = s;
    let status = s.terminate();
    assert!(
        status.success(),
        "server exit status {status:?}; log:\n{}",
        s.log()
    );
    let left: Vec<_> = procs.iter().filter(|p| alive(p)).collect();
    assert!(
        left.is_empty(),
        "sandbox processes left after SIGTERM: {left:?}"
    );
    let dirs_left: Vec<_> = dirs.iter().filter(|d| d.exists()).collect();
    assert!(
        dirs_left.is_empty(),
        "cgroups left after SIGTERM: {dirs_left:?}"
    );
    assert!(owner_dirs_of(pid).is_empty(), "{:?}", owner_dirs_of(pid));
    // The cut-off activation is not lost: the next start records it as interrupted.
    let s = s.restart();
    let rec = s.guest().activation(&running);
    assert_eq!(rec["response"]["status"], "whisk internal error", "{rec}");
}

#[test]
fn after_sigkill_a_restart_cleans_up_and_records_the_interrupted_activation() {
    let mut s = server().start();
    let api = s.guest();
    api.action("sleeper", &python(SLEEPER));
    let id = api.start("sleeper", &json!({"secs": 120}));
    // Wait until the action runs in its sandbox.
    eventually("the action's sandbox runs", || {
        !s.containers().is_empty() && !s.sandbox_processes().is_empty()
    });
    let old_pid = s.pid();
    let procs = s.sandbox_processes();
    let dirs = s.owner_dirs();
    s.kill9();
    let s = s.restart();
    assert_ne!(s.pid(), old_pid);
    // The old sandboxes are gone once the new server is up (bounded polling).
    eventually("the old sandbox processes are gone", || {
        procs.iter().all(|p| !alive(p))
    });
    eventually("the old cgroups are gone", || {
        dirs.iter().all(|d| !d.exists())
    });
    assert!(
        owner_dirs_of(old_pid).is_empty(),
        "{:?}",
        owner_dirs_of(old_pid)
    );
    // The accepted activation got a whisk internal error record.
    let api = s.guest();
    let rec = api.activation(&id);
    assert_eq!(rec["response"]["status"], "whisk internal error", "{rec}");
    assert_eq!(rec["response"]["success"], false);
    assert!(rec["response"]["result"]["error"].is_string(), "{rec}");
    let list = api.activations_of("sleeper");
    let summary = list
        .iter()
        .find(|a| a["activationId"] == id.as_str())
        .expect("in the list");
    assert_eq!(summary["statusCode"], 3, "{summary}");
    // The restarted server runs actions normally.
    let r = api.call("sleeper", &json!({"secs": 0}));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.result(), &json!({"slept": true}));
}
