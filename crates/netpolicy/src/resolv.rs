//! The resolver configuration: the host's (`/etc/resolv.conf` or the configured file) for the
//! upstream name servers, and the small `/etc` files a sandbox sees.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

/// What the host's resolver configuration says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ResolvConf {
    /// `nameserver` lines, in order (port 53).
    pub nameservers: Vec<SocketAddr>,
    /// `search`/`domain` and `options` lines, as they are.
    pub passthrough: Vec<String>,
}

impl ResolvConf {
    pub(crate) fn parse(text: &str) -> ResolvConf {
        let mut rc = ResolvConf::default();
        for line in text.lines() {
            let line = line.trim();
            let mut words = line.split_whitespace();
            match words.next() {
                Some("nameserver") => {
                    // A scoped IPv6 address (fe80::1%eth0) is the host's link; it is used as is.
                    if let Some(addr) = words.next() {
                        let (ip, scope) = match addr.split_once('%') {
                            Some((ip, scope)) => (ip, Some(scope)),
                            None => (addr, None),
                        };
                        if let Ok(ip) = ip.parse::<IpAddr>() {
                            let mut sa = SocketAddr::new(ip, 53);
                            if let (SocketAddr::V6(v6), Some(scope)) = (&mut sa, scope) {
                                v6.set_scope_id(scope_id(scope));
                            }
                            rc.nameservers.push(sa);
                        }
                    }
                }
                Some("search") | Some("domain") | Some("options") => {
                    rc.passthrough.push(line.to_string());
                }
                _ => {}
            }
        }
        if rc.nameservers.is_empty() {
            // resolv.conf(5): no nameserver line means the local one.
            rc.nameservers.push(SocketAddr::from(([127, 0, 0, 1], 53)));
        }
        rc
    }

    pub(crate) fn read(path: &Path) -> std::io::Result<ResolvConf> {
        std::fs::read_to_string(path).map(|t| ResolvConf::parse(&t))
    }
}

/// The index of interface `name` (numeric scopes are taken as they are).
fn scope_id(scope: &str) -> u32 {
    scope.parse().unwrap_or_else(|_| {
        std::fs::read_to_string(format!("/sys/class/net/{scope}/ifindex"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    })
}

/// The `/etc` files a sandbox with a network sees: its resolv.conf (the given name server, plus
/// the host's search and options lines), hosts and nsswitch.conf.
pub(crate) fn sandbox_files(nameserver: IpAddr, host: &ResolvConf) -> Vec<(PathBuf, String)> {
    let mut resolv = format!("nameserver {nameserver}\n");
    for l in &host.passthrough {
        resolv.push_str(l);
        resolv.push('\n');
    }
    vec![
        (PathBuf::from("/etc/resolv.conf"), resolv),
        (
            PathBuf::from("/etc/hosts"),
            "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\tsandbox\n"
                .to_string(),
        ),
        (
            PathBuf::from("/etc/nsswitch.conf"),
            "hosts: files dns\nnetworks: files\n".to_string(),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nameservers_and_keeps_search_and_options() {
        let rc = ResolvConf::parse(
            "# comment\nnameserver 10.255.255.53\nnameserver ::1\nnameserver bad\n\
             search example.org corp\noptions ndots:2 edns0\nsortlist 1.2.3.4\n",
        );
        assert_eq!(
            rc.nameservers,
            [
                "10.255.255.53:53".parse::<SocketAddr>().unwrap(),
                "[::1]:53".parse().unwrap()
            ]
        );
        assert_eq!(
            rc.passthrough,
            ["search example.org corp", "options ndots:2 edns0"]
        );
    }

    #[test]
    fn no_nameserver_means_the_local_one() {
        let rc = ResolvConf::parse("search x\n");
        assert_eq!(rc.nameservers, ["127.0.0.1:53".parse().unwrap()]);
    }

    #[test]
    fn sandbox_files_point_at_the_relay() {
        let rc = ResolvConf::parse("nameserver 10.0.0.2\nsearch corp\n");
        let files = sandbox_files("169.254.0.1".parse().unwrap(), &rc);
        assert_eq!(files[0].0, PathBuf::from("/etc/resolv.conf"));
        assert_eq!(files[0].1, "nameserver 169.254.0.1\nsearch corp\n");
        assert!(files[1].1.contains("localhost"));
        assert!(files[2].1.starts_with("hosts: files dns"));
    }
}
