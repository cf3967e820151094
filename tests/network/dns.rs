//! DNS from inside: the sandbox's resolv.conf names the gateway, whose relay asks the name
//! servers of the configured resolver configuration (here a test DNS server on the public test
//! host), over UDP and TCP.

use serde_json::json;

use crate::common::serial;
use crate::support::{python, server};
use crate::testnet::{dns_server, PUBLIC4};

const RESOLVE_PY: &str = r#"
import socket, struct

def tcp_query(server, name):
    q = struct.pack('>HHHHHH', 0x1234, 0x0100, 1, 0, 0, 0)
    for label in name.split('.'):
        q += bytes([len(label)]) + label.encode()
    q += b'\0' + struct.pack('>HH', 1, 1)
    s = socket.create_connection((server, 53), timeout=5)
    s.sendall(struct.pack('>H', len(q)) + q)
    n = struct.unpack('>H', s.recv(2))[0]
    r = b''
    while len(r) < n:
        r += s.recv(n - len(r))
    return socket.inet_ntoa(r[-4:]) if struct.unpack('>H', r[6:8])[0] == 1 else None

def main(args):
    resolv = open('/etc/resolv.conf').read()
    server = [l.split()[1] for l in resolv.splitlines() if l.startswith('nameserver')][0]
    addrs = sorted({a[4][0] for a in socket.getaddrinfo(args['name'], 80, socket.AF_INET)})
    try:
        socket.getaddrinfo('no-such-name.example', 80, socket.AF_INET)
        missing = 'resolved'
    except socket.gaierror as e:
        missing = 'not found'
    return {'resolv': resolv, 'addrs': addrs, 'tcp': tcp_query(server, args['name']),
            'missing': missing, 'localhost': socket.gethostbyname('localhost')}
"#;

#[test]
fn names_resolve_through_the_configured_resolver_over_udp_and_tcp() {
    let _g = serial();
    let asked = dns_server("whirl-test.example", [203, 0, 113, 10]);
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("resolv.conf");
    std::fs::write(
        &conf,
        format!("nameserver {PUBLIC4}\nsearch example\noptions ndots:1\n"),
    )
    .unwrap();
    let s = server()
        .arg("--resolv-conf")
        .arg(conf.to_str().unwrap())
        .start();
    let api = s.guest();
    api.action("resolve", &python(RESOLVE_PY));
    let out = api.call_ok("resolve", &json!({"name": "whirl-test.example"}));
    let resolv = out["resolv"].as_str().unwrap();
    assert!(
        resolv.starts_with("nameserver 169.254.") && resolv.contains("search example\n"),
        "{out}"
    );
    assert_eq!(out["addrs"], json!(["203.0.113.10"]), "{out}");
    assert_eq!(out["tcp"], "203.0.113.10", "{out}");
    assert_eq!(out["missing"], "not found", "{out}");
    assert_eq!(out["localhost"], "127.0.0.1", "{out}");
    let asked = asked.lock().unwrap().clone();
    assert!(
        asked.contains(&"udp whirl-test.example 1".to_string()),
        "{asked:?}"
    );
    assert!(
        asked.contains(&"tcp whirl-test.example 1".to_string()),
        "{asked:?}"
    );
}
