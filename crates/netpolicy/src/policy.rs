//! The egress policy: which destinations an action may reach.
//!
//! Order of the decision for a destination address (the same order the nftables rules follow):
//! 1. the API host (the gateway's API port and its DNS relay) is reachable — it is checked by the
//!    host-side rules before anything else, and no entry closes it;
//! 2. every address of the host itself is refused (not configurable);
//! 3. [`NEVER`]: unspecified, multicast, broadcast and reserved ranges are refused (an allow entry
//!    does not open them);
//! 4. a `deny` entry refuses (deny wins over allow for the same address);
//! 5. an `allow` entry admits (it opens a range of the default deny list);
//! 6. [`DEFAULT_DENY`]: loopback, link-local, private and shared ranges are refused;
//! 7. everything else is admitted.
//!
//! [`EgressPolicy::verdict`] implements steps 3 to 7 for tests and diagnostics.

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

/// Ranges refused unless an `allow` entry opens them: (CIDR, class).
pub const DEFAULT_DENY: &[(&str, &str)] = &[
    ("127.0.0.0/8", "loopback"),
    ("::1/128", "loopback"),
    ("169.254.0.0/16", "link-local"),
    ("fe80::/10", "link-local"),
    ("10.0.0.0/8", "private"),
    ("172.16.0.0/12", "private"),
    ("192.168.0.0/16", "private"),
    ("100.64.0.0/10", "shared address space"),
    ("fc00::/7", "unique local"),
];

/// Ranges never reachable, whatever the entries: (CIDR, class). IPv4-mapped IPv6 addresses
/// leave a dual-stack socket as IPv4 packets, so they are judged as IPv4 by the kernel rules;
/// the range is listed so that no IPv6 packet can carry one.
pub const NEVER: &[(&str, &str)] = &[
    ("0.0.0.0/8", "unspecified"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved and broadcast"),
    ("::/128", "unspecified"),
    ("ff00::/8", "multicast"),
    ("::ffff:0:0/96", "IPv4-mapped"),
];

fn parse_table(table: &[(&str, &'static str)]) -> Vec<(IpNet, &'static str)> {
    table
        .iter()
        .filter_map(|(cidr, class)| cidr.parse().ok().map(|n| (n, *class)))
        .collect()
}

/// [`DEFAULT_DENY`], parsed.
pub fn default_deny() -> Vec<(IpNet, &'static str)> {
    parse_table(DEFAULT_DENY)
}

/// [`NEVER`], parsed.
pub fn never() -> Vec<(IpNet, &'static str)> {
    parse_table(NEVER)
}

/// What the operator configured: `--egress-allow` and `--egress-deny` entries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EgressPolicy {
    /// Ranges opened in the default deny list.
    pub allow: Vec<IpNet>,
    /// Ranges closed (wins over `allow`).
    pub deny: Vec<IpNet>,
    /// A remote API (a cluster's controllers): these addresses are reachable on `api_port`
    /// (TCP) only, even where the lists above refuse them; the never-reachable classes and the
    /// host's own addresses still win.
    #[serde(default)]
    pub api: Vec<IpNet>,
    #[serde(default)]
    pub api_port: u16,
}

/// Why a destination is refused, or that it is admitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Reachable.
    Allowed,
    /// In a range that is never reachable (multicast, ...).
    Never(&'static str),
    /// Closed by a `deny` entry.
    Denied(IpNet),
    /// In the default deny list, not opened by an `allow` entry.
    Default(&'static str),
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Allowed => f.write_str("allowed"),
            Verdict::Never(class) => write!(f, "refused ({class}, never reachable)"),
            Verdict::Denied(net) => write!(f, "refused (egress_deny {net})"),
            Verdict::Default(class) => write!(f, "refused ({class}, default deny list)"),
        }
    }
}

impl EgressPolicy {
    /// The policy with the given entries, each truncated to its network (`10.1.2.3/8` is
    /// `10.0.0.0/8`).
    pub fn new(allow: Vec<IpNet>, deny: Vec<IpNet>) -> Self {
        EgressPolicy {
            allow: allow.iter().map(IpNet::trunc).collect(),
            deny: deny.iter().map(IpNet::trunc).collect(),
            api: Vec::new(),
            api_port: 0,
        }
    }

    /// The policy with the remote API at `addrs` (host addresses), TCP port `port`.
    pub fn with_remote_api(mut self, addrs: Vec<IpNet>, port: u16) -> Self {
        self.api = addrs;
        self.api_port = port;
        self
    }

    /// Steps 3 to 7 of the module's order for `ip` (the API host and the host's own addresses
    /// are decided by the host-side rules before this).
    pub fn verdict(&self, ip: IpAddr) -> Verdict {
        let ip = canonical(ip);
        if let Some((_, class)) = never().into_iter().find(|(n, _)| n.contains(&ip)) {
            return Verdict::Never(class);
        }
        if let Some(net) = self.deny.iter().find(|n| n.contains(&ip)) {
            return Verdict::Denied(*net);
        }
        if self.allow.iter().any(|n| n.contains(&ip)) {
            return Verdict::Allowed;
        }
        match default_deny().into_iter().find(|(n, _)| n.contains(&ip)) {
            Some((_, class)) => Verdict::Default(class),
            None => Verdict::Allowed,
        }
    }
}

/// An IPv4-mapped IPv6 address as the IPv4 address it leaves the socket as.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    #[test]
    fn tables_parse() {
        assert_eq!(default_deny().len(), DEFAULT_DENY.len());
        assert_eq!(never().len(), NEVER.len());
    }

    #[test]
    fn default_refuses_every_listed_class_and_admits_public_addresses() {
        let p = EgressPolicy::default();
        for (addr, class) in [
            ("127.0.0.1", "loopback"),
            ("127.5.5.5", "loopback"),
            ("::1", "loopback"),
            ("169.254.169.254", "link-local"),
            ("fe80::1", "link-local"),
            ("10.1.2.3", "private"),
            ("172.16.0.1", "private"),
            ("172.31.255.255", "private"),
            ("192.168.1.1", "private"),
            ("100.64.0.1", "shared address space"),
            ("fd12::1", "unique local"),
            ("fc00::1", "unique local"),
        ] {
            assert_eq!(p.verdict(ip(addr)), Verdict::Default(class), "{addr}");
        }
        for addr in [
            "203.0.113.10",
            "198.51.100.1",
            "172.32.0.1",
            "8.8.8.8",
            "2001:db8::1",
        ] {
            assert_eq!(p.verdict(ip(addr)), Verdict::Allowed, "{addr}");
        }
    }

    #[test]
    fn never_ranges_stay_closed_even_when_allowed() {
        let p = EgressPolicy::new(vec![net("0.0.0.0/0"), net("::/0")], vec![]);
        for (addr, class) in [
            ("224.0.0.1", "multicast"),
            ("239.1.1.1", "multicast"),
            ("255.255.255.255", "reserved and broadcast"),
            ("0.0.0.0", "unspecified"),
            ("ff02::1", "multicast"),
            ("::", "unspecified"),
        ] {
            assert_eq!(p.verdict(ip(addr)), Verdict::Never(class), "{addr}");
        }
        // Everything else is open with 0.0.0.0/0 and ::/0.
        assert_eq!(p.verdict(ip("10.0.0.1")), Verdict::Allowed);
        assert_eq!(p.verdict(ip("::1")), Verdict::Allowed);
    }

    #[test]
    fn allow_opens_a_default_range_and_deny_wins_for_the_same_address() {
        let p = EgressPolicy::new(
            vec![net("10.0.0.0/8"), net("192.168.7.0/24")],
            vec![
                net("10.1.0.0/16"),
                net("203.0.113.0/28"),
                net("192.168.7.7/32"),
            ],
        );
        assert_eq!(p.verdict(ip("10.2.3.4")), Verdict::Allowed);
        assert_eq!(
            p.verdict(ip("10.1.3.4")),
            Verdict::Denied(net("10.1.0.0/16"))
        );
        assert_eq!(p.verdict(ip("192.168.7.8")), Verdict::Allowed);
        assert_eq!(
            p.verdict(ip("192.168.7.7")),
            Verdict::Denied(net("192.168.7.7/32"))
        );
        assert_eq!(p.verdict(ip("192.168.8.1")), Verdict::Default("private"));
        // A deny entry closes a public range.
        assert_eq!(
            p.verdict(ip("203.0.113.5")),
            Verdict::Denied(net("203.0.113.0/28"))
        );
        assert_eq!(p.verdict(ip("203.0.113.20")), Verdict::Allowed);
    }

    #[test]
    fn mapped_addresses_are_judged_as_ipv4() {
        let p = EgressPolicy::default();
        assert_eq!(
            p.verdict(ip("::ffff:10.0.0.1")),
            Verdict::Default("private")
        );
        assert_eq!(p.verdict(ip("::ffff:203.0.113.1")), Verdict::Allowed);
    }

    #[test]
    fn verdicts_read_well() {
        assert_eq!(Verdict::Allowed.to_string(), "allowed");
        assert_eq!(
            Verdict::Default("private").to_string(),
            "refused (private, default deny list)"
        );
        assert_eq!(
            Verdict::Denied(net("10.0.0.0/8")).to_string(),
            "refused (egress_deny 10.0.0.0/8)"
        );
    }
}
