//! Actions that misbehave on the network stay inside their limits and the policy; the server
//! and other actions are unaffected.

use serde_json::json;

use crate::common::{probe, serial, slot_of, target};
use crate::support::{node, python, server};
use crate::testnet::{net, Recorder, PUBLIC4};

/// Opens as many TCP connections as it can (kept open), then sends datagrams from as many fresh
/// UDP sockets (each a new flow).
const FLOOD_PY: &str = r#"
import errno, socket

def main(args):
    host, port = args['host'], args['port']
    conns, tcp_errors = [], {}
    for i in range(args['tcp']):
        s = None
        try:
            s = socket.socket(); s.settimeout(2)
            s.connect((host, port)); conns.append(s)
        except OSError as e:
            if s is not None:
                s.close()
            name = errno.errorcode.get(e.errno, str(e.errno)) if e.errno else 'timeout'
            tcp_errors[name] = tcp_errors.get(name, 0) + 1
    for c in conns:
        c.close()
    sent = 0
    for i in range(args['udp']):
        try:
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u.sendto(b'flood', (host, port)); u.close(); sent += 1
        except OSError:
            pass
    return {'tcp_ok': len(conns), 'tcp_errors': tcp_errors, 'udp_sent': sent}
"#;

#[test]
fn a_connection_flood_stays_within_the_flow_limit_and_the_server_is_unaffected() {
    let _g = serial();
    let n = net();
    let held = Recorder::start(Some(&n.public), true);
    let s = server().start();
    let api = s.guest();
    api.action("flood", &python(FLOOD_PY));
    api.action("noop", &node("function main() { return { ok: true } }"));
    let out = api.call_ok(
        "flood",
        &json!({"host": PUBLIC4, "port": held.port, "tcp": 1500, "udp": 3000}),
    );
    let tcp_ok = out["tcp_ok"].as_u64().unwrap();
    assert!(tcp_ok > 100, "the action could not connect at all: {out}");
    // Bounded by the file descriptor limit (1024) and the per-sandbox flow limit (1024).
    assert!(tcp_ok <= 1024, "{out}");
    let seen = held.seen();
    let tcp = seen.iter().filter(|x| x.proto == "tcp").count();
    let udp = seen.iter().filter(|x| x.proto == "udp").count();
    assert!(tcp <= 1024, "{tcp} connections reached the host");
    assert!(
        udp + tcp <= 1024 + 64,
        "{udp} datagram flows passed on top of {tcp} connections: the flow limit did not hold"
    );
    assert!(udp < 3000, "every datagram passed");
    eprintln!("flood: {out}; the host saw {tcp} connections, {udp} datagrams");
    // The server and another action are fine.
    assert_eq!(api.call_ok("noop", &json!({})), json!({"ok": true}));
    assert_eq!(api.get("/api/v1").status, 200);
}

const SPOOF_PY: &str = r#"
import errno, socket, subprocess

def attempt(fn):
    try:
        fn()
        return 'ok'
    except OSError as e:
        return 'error:' + errno.errorcode.get(e.errno, str(e.errno))

def sh(cmd):
    r = subprocess.run(cmd, shell=True, capture_output=True, text=True)
    return r.returncode

def main(args):
    host, port = args['host'], args['port']
    out = {}
    out['addr_add'] = sh('ip addr add 169.254.0.250/21 dev eth0')
    out['route_add'] = sh('ip route add 10.77.0.0/24 dev eth0')
    out['link_down'] = sh('ip link set eth0 down')
    out['nft'] = sh('nft add table inet mine')
    out['raw'] = attempt(lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP))
    out['packet'] = attempt(lambda: socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0))
    def transparent():
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_IP, 19, 1)  # IP_TRANSPARENT
    out['transparent'] = attempt(transparent)
    def freebind():
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_IP, 15, 1)  # IP_FREEBIND
        s.bind(('169.254.0.250', 0))
        s.sendto(b'spoofed', (host, port))
    out['freebind_send'] = attempt(freebind)
    def other_source():
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_IP, 15, 1)
        s.bind(('203.0.113.99', 0))
        s.sendto(b'spoofed-public', (host, port))
    out['public_source_send'] = attempt(other_source)
    return out
"#;

#[test]
fn actions_cannot_change_their_network_or_spoof_their_source() {
    let _g = serial();
    let n = net();
    let public = Recorder::start(Some(&n.public), false);
    let s = server().start();
    let api = s.guest();
    api.action("spoof", &python(SPOOF_PY));
    let out = api.call_ok("spoof", &json!({"host": PUBLIC4, "port": public.port}));
    for k in ["addr_add", "route_add", "link_down", "nft"] {
        assert_ne!(out[k], 0, "{k} worked inside the sandbox: {out}");
    }
    assert_eq!(out["raw"], "error:EPERM", "{out}");
    assert_eq!(out["packet"], "error:EPERM", "{out}");
    assert_eq!(out["transparent"], "error:EPERM", "{out}");
    for k in ["freebind_send", "public_source_send"] {
        assert_ne!(
            out[k], "ok",
            "{k}: a datagram with a foreign source left: {out}"
        );
    }
    let spoofed: Vec<_> = public
        .seen()
        .into_iter()
        .filter(|x| x.data.starts_with("spoofed"))
        .collect();
    assert!(spoofed.is_empty(), "{spoofed:?}");
    // The network still works for the action after all that.
    let r = probe(&api, &[target(PUBLIC4, public.port, "tcp")]);
    assert_eq!(r[0], format!("ok:hello {PUBLIC4}"));
}

const SCAN_PY: &str = r#"
import socket

def main(args):
    open_ports = []
    for host in args['hosts']:
        for port in list(range(1, 1025)) + args['extra']:
            s = socket.socket(socket.AF_INET6 if ':' in host else socket.AF_INET)
            s.settimeout(1)
            try:
                s.connect((host, port)); open_ports.append('%s:%d' % (host, port))
            except OSError:
                pass
            finally:
                s.close()
    return {'open': open_ports}
"#;

#[test]
fn a_port_scan_of_the_host_finds_only_the_api_and_dns() {
    let _g = serial();
    let host = Recorder::start(None, false);
    let s = server().start();
    let api = s.guest();
    let (slot, _) = slot_of(&api).expect("egress");
    let gw4 = format!("169.254.{}.1", u32::from(slot) * 8);
    api.action("scan", &python(SCAN_PY));
    let out = api.call_ok(
        "scan",
        &json!({"hosts": [gw4, "192.0.2.2", format!("fd77:6869:726c:{slot:x}::1")],
                "extra": [s.port, host.port]}),
    );
    let open: Vec<String> = serde_json::from_value(out["open"].clone()).unwrap();
    assert_eq!(
        open,
        [format!("{gw4}:53"), format!("{gw4}:{}", s.port)],
        "{out}"
    );
    assert!(host.seen().is_empty(), "{:?}", host.seen());
}
