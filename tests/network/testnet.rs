//! Test hosts in network namespaces this test process makes itself: a "public" host at TEST-NET
//! addresses (203.0.113.10, 198.51.100.10, 2001:db8:77::10) and a decoy host at private, shared,
//! link-local and unique-local addresses, each reached from the host through a veth pair whose
//! host end carries the `.1` address of each range. The namespaces are held by descriptors of
//! this process only, so they (and their veth pairs and routes) vanish when it exits, however it
//! exits. Listeners inside them ([`Recorder`]) record every connection and datagram.
//!
//! Traffic never goes anywhere else: the namespaces have no default route, and every address the
//! tests aim at is either one of these hosts or the machine itself.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsRawFd;
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use nix::sched::CloneFlags;

/// The public host's addresses (IPv4, a second IPv4 range, IPv6).
pub const PUBLIC4: &str = "203.0.113.10";
pub const PUBLIC4_B: &str = "198.51.100.10";
pub const PUBLIC6: &str = "2001:db8:77::10";

/// The decoys: (address, class), one per refused class that can be routed to a test host.
pub const DECOYS: &[(&str, &str)] = &[
    ("10.77.0.10", "private 10/8"),
    ("172.16.77.10", "private 172.16/12"),
    ("192.168.77.10", "private 192.168/16"),
    ("100.64.77.10", "shared 100.64/10"),
    ("169.254.200.10", "link-local 169.254/16"),
    ("fd12:77::10", "unique local fc00::/7"),
];

/// (host-side address, test-host address, prefix) of each veth.
const PUBLIC_NETS: &[(&str, &str, u8)] = &[
    ("203.0.113.1", PUBLIC4, 24),
    ("198.51.100.1", PUBLIC4_B, 24),
    ("2001:db8:77::1", PUBLIC6, 64),
];
const DECOY_NETS: &[(&str, &str, u8)] = &[
    ("10.77.0.1", "10.77.0.10", 24),
    ("172.16.77.1", "172.16.77.10", 24),
    ("192.168.77.1", "192.168.77.10", 24),
    ("100.64.77.1", "100.64.77.10", 24),
    ("169.254.200.1", "169.254.200.10", 24),
    ("fd12:77::1", "fd12:77::10", 64),
];

/// The test hosts of this process.
#[derive(Debug)]
pub struct TestNet {
    pub public: File,
    pub decoy: File,
}

fn run(args: &[&str]) {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn output(args: &[&str]) -> String {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A new network namespace, held by the returned descriptor (made on a thread that then ends).
fn new_netns() -> File {
    std::thread::spawn(|| {
        nix::sched::unshare(CloneFlags::CLONE_NEWNET).expect("unshare(CLONE_NEWNET): needs root");
        File::open("/proc/thread-self/ns/net").expect("open the new netns")
    })
    .join()
    .expect("netns thread")
}

/// `/proc/<pid>/fd/<n>`: a path other processes (nsenter) can open to enter `ns`.
fn ns_path(ns: &File) -> String {
    format!("/proc/{}/fd/{}", std::process::id(), ns.as_raw_fd())
}

fn build_host(prefix: &str, nets: &[(&str, &str, u8)]) -> File {
    let ns = new_netns();
    let path = ns_path(&ns);
    let net = format!("--net={path}");
    let host_if = format!("{prefix}{}", std::process::id());
    let pid = std::process::id().to_string();
    run(&["nsenter", &net, "ip", "link", "set", "lo", "up"]);
    run(&[
        "nsenter", &net, "ip", "link", "add", "eth0", "type", "veth", "peer", "name", &host_if,
        "netns", &pid,
    ]);
    for (host, inside, len) in nets {
        let v6 = host.contains(':');
        let fam = if v6 { "-6" } else { "-4" };
        let mut a = vec!["ip", fam, "addr", "add"];
        let h = format!("{host}/{len}");
        a.extend([h.as_str(), "dev", host_if.as_str()]);
        if v6 {
            a.push("nodad");
        }
        run(&a);
        let i = format!("{inside}/{len}");
        let mut b = vec!["nsenter", &net, "ip", fam, "addr", "add", &i, "dev", "eth0"];
        if v6 {
            b.push("nodad");
        }
        run(&b);
    }
    run(&["ip", "link", "set", &host_if, "up"]);
    run(&["nsenter", &net, "ip", "link", "set", "eth0", "up"]);
    ns
}

/// The shared test hosts, made on first use. Panics (with the reason) when the machine cannot
/// have them: not root, or a range already in use here.
pub fn net() -> &'static TestNet {
    static NET: OnceLock<TestNet> = OnceLock::new();
    NET.get_or_init(|| {
        assert!(
            nix::unistd::geteuid().is_root(),
            "the network tests need root (they create network namespaces, veth pairs and \
             whirl's action network); run them as root"
        );
        let addrs = output(&["ip", "-o", "addr"]);
        for (host, inside, len) in PUBLIC_NETS.iter().chain(DECOY_NETS) {
            let network: ipnet::IpNet = format!("{inside}/{len}").parse().expect("test range");
            let routes = output(&["ip", "route", "show", &network.trunc().to_string()]);
            assert!(
                !addrs.contains(&format!(" {host}/"))
                    && !addrs.contains(&format!(" {inside}/"))
                    && routes.trim().is_empty(),
                "this machine already uses the test range {network}: the test hosts would \
                 collide with it"
            );
        }
        TestNet {
            public: build_host("wtp", PUBLIC_NETS),
            decoy: build_host("wtd", DECOY_NETS),
        }
    })
}

/// Runs `f` on a thread inside `ns` (sockets it creates stay in `ns`).
pub fn in_ns<T: Send + 'static>(ns: &File, f: impl FnOnce() -> T + Send + 'static) -> T {
    let ns = ns.try_clone().expect("dup netns");
    std::thread::spawn(move || {
        nix::sched::setns(&ns, CloneFlags::CLONE_NEWNET).expect("setns");
        f()
    })
    .join()
    .expect("netns thread")
}

/// What a [`Recorder`] saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub proto: &'static str,
    /// The address the peer aimed at.
    pub local: SocketAddr,
    pub peer: SocketAddr,
    pub data: String,
}

/// A TCP and UDP listener on one port of every address of a namespace (or of the machine):
/// records everything, answers TCP with a short HTTP response naming the address reached and
/// UDP with `echo <data>`; with `hold`, keeps TCP connections open until the process ends.
#[derive(Debug, Clone)]
pub struct Recorder {
    pub port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Recorder {
    pub fn start(ns: Option<&File>, hold: bool) -> Recorder {
        let make = || {
            let t = TcpListener::bind("[::]:0").expect("bind tcp");
            let port = t.local_addr().expect("addr").port();
            let u = UdpSocket::bind(("::", port)).expect("bind udp");
            (t, u, port)
        };
        let (tcp, udp, port) = match ns {
            Some(ns) => in_ns(ns, make),
            None => make(),
        };
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for conn in tcp.incoming() {
                let Ok(c) = conn else { continue };
                let local = c.local_addr().expect("local");
                let peer = c.peer_addr().expect("peer");
                if hold {
                    s.lock().unwrap().push(Seen {
                        proto: "tcp",
                        local,
                        peer,
                        data: String::new(),
                    });
                    held.push(c);
                    continue;
                }
                let s = s.clone();
                let handle = move |mut c: TcpStream| -> TcpStream {
                    let _ = c.set_read_timeout(Some(Duration::from_millis(500)));
                    let mut buf = [0u8; 512];
                    let n = c.read(&mut buf).unwrap_or(0);
                    s.lock().unwrap().push(Seen {
                        proto: "tcp",
                        local,
                        peer,
                        data: String::from_utf8_lossy(&buf[..n]).into_owned(),
                    });
                    let body = format!("hello {}", canonical(local.ip()));
                    let _ = write!(
                        c,
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    c
                };
                std::thread::spawn(move || {
                    let c = handle(c);
                    let _ = c.shutdown(Shutdown::Write);
                });
            }
        });
        let s = seen.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            loop {
                let Ok((n, peer)) = udp.recv_from(&mut buf) else {
                    continue;
                };
                let data = String::from_utf8_lossy(&buf[..n]).into_owned();
                s.lock().unwrap().push(Seen {
                    proto: "udp",
                    local: udp.local_addr().expect("local"),
                    peer,
                    data: data.clone(),
                });
                let _ = udp.send_to(format!("echo {data}").as_bytes(), peer);
            }
        });
        Recorder { port, seen }
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// An IPv4-mapped address as IPv4.
pub fn canonical(ip: std::net::IpAddr) -> std::net::IpAddr {
    match ip {
        std::net::IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map_or(std::net::IpAddr::V6(v6), std::net::IpAddr::V4),
        v4 => v4,
    }
}

/// The machine's own addresses (every interface, both families), without the scope suffix.
pub fn host_addresses() -> Vec<String> {
    output(&["ip", "-o", "addr"])
        .lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            let i = w.iter().position(|x| *x == "inet" || *x == "inet6")?;
            let addr = w.get(i + 1)?.split('/').next()?.to_string();
            // Link-local addresses need a scope: they are covered by the fe80::/10 class.
            (!addr.starts_with("fe80")).then_some(addr)
        })
        .collect()
}

/// A tiny DNS server on UDP and TCP port 53 of the public host: A queries for `name` are
/// answered with `answer`; other names get NXDOMAIN, other types an empty answer.
pub fn dns_server(name: &'static str, answer: [u8; 4]) -> Arc<Mutex<Vec<String>>> {
    let asked = Arc::new(Mutex::new(Vec::new()));
    let ns = &net().public;
    let (udp, tcp) = in_ns(ns, || {
        (
            UdpSocket::bind((PUBLIC4, 53)).expect("bind dns udp (port 53 is taken?)"),
            TcpListener::bind((PUBLIC4, 53)).expect("bind dns tcp"),
        )
    });
    let a = asked.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 1500];
        loop {
            let Ok((n, peer)) = udp.recv_from(&mut buf) else {
                continue;
            };
            if let Some((q, reply)) = dns_answer(&buf[..n], name, answer) {
                a.lock().unwrap().push(format!("udp {q}"));
                let _ = udp.send_to(&reply, peer);
            }
        }
    });
    let a = asked.clone();
    std::thread::spawn(move || {
        for conn in tcp.incoming() {
            let Ok(mut c) = conn else { continue };
            let mut len = [0u8; 2];
            if c.read_exact(&mut len).is_err() {
                continue;
            }
            let mut msg = vec![0u8; usize::from(u16::from_be_bytes(len))];
            if c.read_exact(&mut msg).is_err() {
                continue;
            }
            if let Some((q, reply)) = dns_answer(&msg, name, answer) {
                a.lock().unwrap().push(format!("tcp {q}"));
                let mut out = (reply.len() as u16).to_be_bytes().to_vec();
                out.extend(reply);
                let _ = c.write_all(&out);
            }
        }
    });
    asked
}

/// (the question as `name type`, the reply) for a one-question query.
fn dns_answer(q: &[u8], name: &str, answer: [u8; 4]) -> Option<(String, Vec<u8>)> {
    if q.len() < 12 {
        return None;
    }
    let mut i = 12;
    let mut labels = Vec::new();
    while i < q.len() && q[i] != 0 {
        let l = usize::from(q[i]);
        labels.push(String::from_utf8_lossy(q.get(i + 1..i + 1 + l)?).into_owned());
        i += 1 + l;
    }
    let qend = i + 5;
    let qtype = u16::from_be_bytes([*q.get(i + 1)?, *q.get(i + 2)?]);
    let qname = labels.join(".");
    let hit = qname.eq_ignore_ascii_case(name);
    let mut r = Vec::new();
    r.extend_from_slice(&q[..2]);
    let rcode = if hit { 0 } else { 3 };
    r.extend_from_slice(&[0x81, 0x80 | rcode]);
    let ancount: u16 = if hit && qtype == 1 { 1 } else { 0 };
    r.extend_from_slice(&[0, 1]);
    r.extend_from_slice(&ancount.to_be_bytes());
    r.extend_from_slice(&[0, 0, 0, 0]);
    r.extend_from_slice(q.get(12..qend)?);
    if ancount == 1 {
        r.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]);
        r.extend_from_slice(&answer);
    }
    Some((format!("{qname} {qtype}"), r))
}
