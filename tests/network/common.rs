//! What the network tests share: one test at a time, the probe action, and the host-side view
//! of the action network (interfaces, tables, settings).

use std::process::Command;
use std::sync::{Mutex, MutexGuard};

use serde_json::{json, Value};

use crate::support::{python, Api};

/// Taken by every test: they look at host-wide state.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

/// A python action that tries each target (`{host, port, proto, tag}`) and reports, per
/// target: `ok:<answer>`, `noreply` (a datagram went unanswered), `timeout`, or
/// `error:<errno name>`.
pub const PROBE_PY: &str = r#"
import errno, os, socket

def one(t, timeout):
    host, port, proto = t['host'], t['port'], t['proto']
    fam = socket.AF_INET6 if ':' in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM if proto == 'tcp' else socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        if proto == 'tcp':
            s.connect((host, port))
            s.sendall(('GET / HTTP/1.0\r\nX-Probe: %s\r\n\r\n' % t.get('tag', '')).encode())
            data = b''
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            return 'ok:' + data.decode(errors='replace').split('\r\n\r\n', 1)[-1]
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        s.sendto(t.get('tag', 'probe').encode(), (host, port))
        s.settimeout(0.5)
        try:
            data, _ = s.recvfrom(2048)
            return 'ok:' + data.decode(errors='replace')
        except socket.timeout:
            return 'noreply'
    except socket.timeout:
        return 'timeout'
    except OSError as e:
        return 'error:' + errno.errorcode.get(e.errno, str(e.errno))
    finally:
        s.close()

def main(args):
    timeout = args.get('timeout', 2)
    return {
        'results': [one(t, timeout) for t in args['targets']],
        'api_host': os.environ.get('__OW_API_HOST'),
    }
"#;

/// A probe target.
pub fn target(host: &str, port: u16, proto: &str) -> Value {
    json!({"host": host, "port": port, "proto": proto, "tag": format!("{proto}-{host}")})
}

/// Creates the probe action (once per server) and runs it on `targets`; the results in order.
pub fn probe(api: &Api, targets: &[Value]) -> Vec<String> {
    api.action("probe", &python(PROBE_PY));
    let out = api.call_ok("probe", &json!({ "targets": targets }));
    out["results"]
        .as_array()
        .unwrap_or_else(|| panic!("probe output {out}"))
        .iter()
        .map(|v| v.as_str().unwrap_or("").to_string())
        .collect()
}

/// The action network as an action sees it: (slot, `__OW_API_HOST`) when the sandbox reaches
/// the API on a bridge gateway (`http://169.254.<8 × slot>.1:PORT`); `None` otherwise.
pub fn slot_of(api: &Api) -> Option<(u8, String)> {
    api.action("probe", &python(PROBE_PY));
    let out = api.call_ok("probe", &json!({ "targets": [] }));
    let host = out["api_host"].as_str()?.to_string();
    let ip = host.strip_prefix("http://169.254.")?;
    let third: u8 = ip.split('.').next()?.parse().ok()?;
    Some((third / 8, host))
}

/// The machine's network interfaces: (index, name).
pub fn links() -> Vec<(u32, String)> {
    let out = Command::new("ip")
        .args(["-o", "link"])
        .output()
        .expect("ip link");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut parts = l.split(": ");
            let index = parts.next()?.trim().parse().ok()?;
            let name = parts.next()?.split('@').next()?.to_string();
            Some((index, name))
        })
        .collect()
}

/// The interfaces slot `k` of the action network creates (bridge and sandbox veths).
pub fn slot_links(k: u8) -> Vec<(u32, String)> {
    let bridge = format!("whirl{k}");
    let prefix = format!("wh{k}x");
    links()
        .into_iter()
        .filter(|(_, n)| *n == bridge || n.starts_with(&prefix))
        .collect()
}

/// The host's nftables tables named `whirl<k>`.
pub fn slot_tables(k: u8) -> Vec<String> {
    let out = Command::new("nft")
        .args(["list", "tables"])
        .output()
        .expect("nft list tables");
    let name = format!("whirl{k}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.split_whitespace().nth(2) == Some(name.as_str()))
        .map(str::to_string)
        .collect()
}

/// The host settings the action network changes, as they are now.
pub fn host_settings() -> Vec<(String, String)> {
    let mut paths = vec![
        "/proc/sys/net/ipv4/ip_forward".to_string(),
        "/proc/sys/net/ipv6/conf/all/forwarding".to_string(),
    ];
    if let Ok(d) = std::fs::read_dir("/proc/sys/net/ipv6/conf") {
        let mut names: Vec<String> = d
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with("wh") && !n.starts_with("wt"))
            .collect();
        names.sort();
        paths.extend(
            names
                .iter()
                .map(|n| format!("/proc/sys/net/ipv6/conf/{n}/accept_ra")),
        );
    }
    paths
        .into_iter()
        .map(|p| {
            let v = std::fs::read_to_string(&p)
                .unwrap_or_default()
                .trim()
                .to_string();
            (p, v)
        })
        .collect()
}
