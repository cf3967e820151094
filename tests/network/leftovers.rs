//! Nothing is left: a destroyed sandbox's veth goes; stopping the server removes its bridge and
//! tables and restores the host settings; after a SIGKILL the next start removes what the
//! crashed server left.

use serde_json::json;

use crate::common::{host_settings, probe, serial, slot_links, slot_of, slot_tables, target};
use crate::support::{eventually, python, server};
use crate::testnet::{net, Recorder, PUBLIC4};

const SLEEPER: &str =
    "import time\ndef main(a):\n    time.sleep(a.get('secs', 0))\n    return {'slept': True}\n";

#[test]
fn a_destroyed_sandbox_and_a_stopped_server_leave_nothing() {
    let _g = serial();
    net();
    let before = host_settings();
    let s = server()
        .arg("--idle-timeout-secs")
        .arg("2")
        .arg("--pause-grace-secs")
        .arg("1")
        .start();
    let api = s.guest();
    let (k, _) = slot_of(&api).expect("egress");
    let pool = whirl_netpolicy::DEFAULT_PREPARED;
    // The probe's container holds one pair; the pool keeps its prepared ones.
    eventually("the pool is full again", || {
        slot_links(k).len() == 1 + pool + 1
    });
    let with_container: Vec<(u32, String)> = slot_links(k);
    assert_eq!(slot_tables(k).len(), 2, "{:?}", slot_tables(k));
    assert_eq!(
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward")
            .unwrap()
            .trim(),
        "1"
    );
    // The idle container is destroyed after 2 s: its veth pair goes with its namespace.
    eventually("the destroyed sandbox's veth is gone", || {
        slot_links(k).len() == 1 + pool
    });
    let now = slot_links(k);
    assert!(
        with_container.iter().any(|l| !now.contains(l)),
        "{with_container:?} {now:?}"
    );
    let mut s = s;
    let status = s.terminate();
    assert!(status.success(), "{}", s.log());
    eventually("the slot's interfaces are gone", || {
        slot_links(k).is_empty()
    });
    assert!(slot_tables(k).is_empty(), "{:?}", slot_tables(k));
    assert_eq!(host_settings(), before, "host settings restored");
}

#[test]
fn after_sigkill_a_restart_removes_the_old_network_and_a_stop_restores_the_host() {
    let _g = serial();
    let n = net();
    let public = Recorder::start(Some(&n.public), false);
    let before = host_settings();
    let mut s = server().start();
    let api = s.guest();
    let (k, _) = slot_of(&api).expect("egress");
    api.action("sleeper", &python(SLEEPER));
    let _running = api.start("sleeper", &json!({"secs": 120}));
    eventually("the sleeper's sandbox runs", || {
        !s.sandbox_processes().is_empty()
    });
    let old = slot_links(k);
    assert!(old.len() >= 3, "{old:?}");
    s.kill9();
    // Killed: the bridge, the tables and the host settings are still there.
    assert_eq!(slot_tables(k).len(), 2);
    let s = s.restart();
    let api = s.guest();
    let r = probe(&api, &[target(PUBLIC4, public.port, "tcp")]);
    assert_eq!(
        r[0],
        format!("ok:hello {PUBLIC4}"),
        "the restarted server's network works"
    );
    let indexes: Vec<u32> = crate::common::links().iter().map(|(i, _)| *i).collect();
    eventually("the crashed server's interfaces are gone", || {
        let now: Vec<u32> = crate::common::links().iter().map(|(i, _)| *i).collect();
        old.iter().all(|(i, _)| !now.contains(i))
    });
    drop(indexes);
    let (k2, _) = slot_of(&api).expect("egress");
    let mut s = s;
    assert!(s.terminate().success(), "{}", s.log());
    eventually("every interface is gone", || {
        slot_links(k).is_empty() && slot_links(k2).is_empty()
    });
    assert!(slot_tables(k).is_empty() && slot_tables(k2).is_empty());
    assert_eq!(host_settings(), before, "host settings restored");
}
