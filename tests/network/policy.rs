//! The egress policy seen from real actions: the public test host answers; every refused class
//! is refused and its decoy sees nothing; the allow/deny flags and `none` do what they say;
//! sandboxes cannot reach one another.

use serde_json::{json, Value};

use crate::common::{probe, serial, slot_of, target};
use crate::support::{eventually, python, server};
use crate::testnet::{host_addresses, net, Recorder, DECOYS, PUBLIC4, PUBLIC4_B, PUBLIC6};

fn assert_refused(results: &[String], targets: &[Value], skip: usize) {
    for (r, t) in results.iter().zip(targets).skip(skip) {
        assert!(
            !r.starts_with("ok"),
            "{t} was reached: {r} (all results: {results:?})"
        );
    }
}

#[test]
fn egress_reaches_the_public_host_and_refuses_every_other_class() {
    let _g = serial();
    let n = net();
    let public = Recorder::start(Some(&n.public), false);
    let decoy = Recorder::start(Some(&n.decoy), false);
    let host = Recorder::start(None, false);
    let s = server().start();
    let api = s.guest();
    let (slot, api_host) = slot_of(&api).expect("egress is the default");
    assert_eq!(
        api_host,
        format!("http://169.254.{}.1:{}", u32::from(slot) * 8, s.port)
    );
    let gw4 = format!("169.254.{}.1", u32::from(slot) * 8);
    let gw6 = format!("fd77:6869:726c:{slot:x}::1");
    let subnet_broadcast = format!("169.254.{}.255", u32::from(slot) * 8 + 7);

    let mut targets = vec![
        target(PUBLIC4, public.port, "tcp"),
        target(PUBLIC4, public.port, "udp"),
        target(PUBLIC4_B, public.port, "tcp"),
        target(PUBLIC6, public.port, "tcp"),
        target(PUBLIC6, public.port, "udp"),
    ];
    let reachable = targets.len();
    for (addr, _) in DECOYS {
        targets.push(target(addr, decoy.port, "tcp"));
        targets.push(target(addr, decoy.port, "udp"));
    }
    // The machine itself: every address it has (the test veths' public-range host ends
    // included), the gateway (other than the API port), loopback.
    let mut own = host_addresses();
    own.extend([gw4.clone(), gw6, "127.0.0.1".into(), "::1".into()]);
    own.sort();
    own.dedup();
    for addr in &own {
        targets.push(target(addr, host.port, "tcp"));
        targets.push(target(addr, host.port, "udp"));
    }
    // Broadcast and multicast.
    for addr in [
        "255.255.255.255",
        subnet_broadcast.as_str(),
        "224.0.0.1",
        "ff02::1",
    ] {
        targets.push(target(addr, host.port, "udp"));
    }
    let r = probe(&api, &targets);
    assert_eq!(r[0], format!("ok:hello {PUBLIC4}"), "{r:?}");
    assert_eq!(r[1], format!("ok:echo udp-{PUBLIC4}"), "{r:?}");
    assert_eq!(r[2], format!("ok:hello {PUBLIC4_B}"), "{r:?}");
    assert_eq!(r[3], format!("ok:hello {PUBLIC6}"), "{r:?}");
    assert_eq!(r[4], format!("ok:echo udp-{PUBLIC6}"), "{r:?}");
    assert_refused(&r, &targets, reachable);
    // TCP to a refused address fails at once (a reset), not by a timeout.
    for (res, t) in r.iter().zip(&targets).skip(reachable) {
        if t["proto"] == "tcp" {
            assert_eq!(res, "error:ECONNREFUSED", "{t}");
        }
    }
    assert_eq!(decoy.seen(), vec![], "a decoy was reached");
    assert_eq!(host.seen(), vec![], "the machine itself was reached");
    // The public host sees the machine's address, never a sandbox's.
    let sources: Vec<String> = public
        .seen()
        .iter()
        .map(|x| x.peer.ip().to_string())
        .collect();
    for src in &sources {
        assert!(
            [
                "::ffff:203.0.113.1",
                "::ffff:198.51.100.1",
                "2001:db8:77::1"
            ]
            .contains(&src.as_str()),
            "source {src} leaked: {sources:?}"
        );
    }
    // The API answers on the gateway.
    let r = probe(&api, &[target(&gw4, s.port, "tcp")]);
    assert!(r[0].starts_with("ok:"), "{r:?}");
}

#[test]
fn allow_and_deny_entries_open_and_close_ranges() {
    let _g = serial();
    let n = net();
    let public = Recorder::start(Some(&n.public), false);
    let decoy = Recorder::start(Some(&n.decoy), false);
    let s = server()
        .arg("--egress-allow")
        .arg("10.77.0.0/24")
        .arg("--egress-allow")
        .arg("172.16.77.0/24")
        .arg("--egress-deny")
        .arg("172.16.77.10")
        .arg("--egress-deny")
        .arg("203.0.113.0/24")
        .env("WHIRL_EGRESS_ALLOW", "192.168.77.0/24")
        .start();
    let api = s.guest();
    let targets = [
        target("10.77.0.10", decoy.port, "tcp"),
        target(PUBLIC4_B, public.port, "tcp"),
        target("172.16.77.10", decoy.port, "tcp"),
        target("192.168.77.10", decoy.port, "tcp"),
        target(PUBLIC4, public.port, "tcp"),
        target("100.64.77.10", decoy.port, "tcp"),
    ];
    let r = probe(&api, &targets);
    assert_eq!(r[0], "ok:hello 10.77.0.10", "allowed private range: {r:?}");
    assert_eq!(r[1], format!("ok:hello {PUBLIC4_B}"), "{r:?}");
    assert_eq!(r[2], "error:ECONNREFUSED", "deny wins over allow: {r:?}");
    assert_eq!(
        r[3], "error:ECONNREFUSED",
        "flags replace the environment's list: {r:?}"
    );
    assert_eq!(r[4], "error:ECONNREFUSED", "denied public range: {r:?}");
    assert_eq!(
        r[5], "error:ECONNREFUSED",
        "still in the default list: {r:?}"
    );
    let reached: Vec<String> = decoy
        .seen()
        .iter()
        .map(|x| crate::testnet::canonical(x.local.ip()).to_string())
        .collect();
    assert_eq!(reached, ["10.77.0.10"]);
    let reached: Vec<String> = public
        .seen()
        .iter()
        .map(|x| crate::testnet::canonical(x.local.ip()).to_string())
        .collect();
    assert_eq!(reached, [PUBLIC4_B]);
}

#[test]
fn action_network_none_keeps_actions_on_loopback() {
    let _g = serial();
    let n = net();
    let public = Recorder::start(Some(&n.public), false);
    let decoy = Recorder::start(Some(&n.decoy), false);
    let bridges_before: Vec<String> = crate::common::links()
        .into_iter()
        .map(|(_, n)| n)
        .filter(|n| n.starts_with("whirl"))
        .collect();
    let s = server().arg("--action-network").arg("none").start();
    let api = s.guest();
    assert_eq!(slot_of(&api), None);
    let targets = [
        target(PUBLIC4, public.port, "tcp"),
        target(PUBLIC6, public.port, "tcp"),
        target("10.77.0.10", decoy.port, "tcp"),
        target("127.0.0.1", s.port, "tcp"),
    ];
    let r = probe(&api, &targets);
    assert_eq!(&r[0], "error:ENETUNREACH", "{r:?}");
    assert_eq!(&r[1], "error:ENETUNREACH", "{r:?}");
    assert_eq!(&r[2], "error:ENETUNREACH", "{r:?}");
    assert_eq!(&r[3], "error:ECONNREFUSED", "own loopback only: {r:?}");
    let out = api.call_ok("probe", &json!({"targets": []}));
    assert_eq!(out["api_host"], format!("http://127.0.0.1:{}", s.port));
    assert!(public.seen().is_empty() && decoy.seen().is_empty());
    let bridges_after: Vec<String> = crate::common::links()
        .into_iter()
        .map(|(_, n)| n)
        .filter(|n| n.starts_with("whirl"))
        .collect();
    assert_eq!(bridges_before, bridges_after, "none creates no bridge");
}

/// Listens on port 7777 (TCP, both families, and UDP), tells the public test host its
/// addresses, then counts what reaches it for `secs` seconds.
const LISTENER_PY: &str = r#"
import socket, time

def main(args):
    t = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    t.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    t.bind(('::', 7777)); t.listen(16); t.settimeout(0.2)
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(('0.0.0.0', 7777)); u.settimeout(0.2)
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); probe.connect(('203.0.113.10', 9))
    v4 = probe.getsockname()[0]
    probe6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); probe6.connect(('2001:db8:77::10', 9))
    v6 = probe6.getsockname()[0]
    c = socket.create_connection((args['host'], args['port']), timeout=5)
    c.sendall(('addrs %s %s\r\n\r\n' % (v4, v6)).encode()); c.close()
    got = 0
    end = time.time() + args['secs']
    while time.time() < end:
        for s in (t, u):
            try:
                if s is t:
                    s.accept()[0].close()
                else:
                    s.recvfrom(100)
                got += 1
            except socket.timeout:
                pass
    return {'got': got, 'v4': v4, 'v6': v6}
"#;

#[test]
fn sandboxes_cannot_reach_one_another() {
    let _g = serial();
    let n = net();
    let public = Recorder::start(Some(&n.public), false);
    let s = server().start();
    let api = s.guest();
    api.action("listener", &python(LISTENER_PY));
    let id = api.start(
        "listener",
        &json!({"host": PUBLIC4, "port": public.port, "secs": 8}),
    );
    let mut addrs: Vec<String> = Vec::new();
    eventually("the listener action reports its addresses", || {
        if let Some(seen) = public.seen().iter().find(|x| x.data.starts_with("addrs ")) {
            addrs = seen
                .data
                .split_whitespace()
                .skip(1)
                .take(2)
                .map(str::to_string)
                .collect();
            true
        } else {
            false
        }
    });
    let (v4, v6) = (&addrs[0], &addrs[1]);
    assert!(v4.starts_with("169.254."), "{addrs:?}");
    let targets = [
        target(v4, 7777, "tcp"),
        target(v4, 7777, "udp"),
        target(v6, 7777, "tcp"),
    ];
    let r = probe(&api, &targets);
    assert!(r.iter().all(|x| !x.starts_with("ok")), "{r:?}");
    let rec = api.activation(&id);
    assert_eq!(
        rec["response"]["result"]["got"], 0,
        "another sandbox reached the listener: {rec}"
    );
}
