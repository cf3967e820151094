//! The nftables rules, as the text `nft -f` reads (Debian's `nftables` package, started the
//! documented way: the whole ruleset on standard input, applied as one transaction).
//!
//! Whirl only ever touches its own tables (`inet whirlN`, `bridge whirlN` on the host; `inet
//! whirl` inside a rootless sandbox's namespace); a host's existing tables are left as they are.
//! A packet dropped or rejected by a whirl table stays dropped; one a whirl table accepts still
//! goes through the host's own tables.

use std::fmt::Write as _;
use std::io::Write as _;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::policy::{default_deny, never, EgressPolicy};
use crate::{Error, Result};

/// Concurrent tracked flows (TCP connections not yet closed, UDP flows) one sandbox may have:
/// the connection flood bound, equal to the sandbox's file descriptor limit.
pub(crate) const FLOW_LIMIT: u32 = 1024;

/// Where `nft` is looked for.
const NFT_CANDIDATES: &[&str] = &["/usr/sbin/nft", "/sbin/nft", "/usr/bin/nft", "/bin/nft"];

/// The `nft` binary, or an error saying how to get it.
pub(crate) fn nft_binary() -> Result<PathBuf> {
    NFT_CANDIDATES
        .iter()
        .map(Path::new)
        .find(|p| p.is_file())
        .map(Path::to_path_buf)
        .ok_or_else(|| {
            Error::Unavailable(
                "action_network = egress needs the nftables command `nft` (Debian: apt-get install \
                 nftables); or start with --action-network none"
                    .into(),
            )
        })
}

/// Runs `nft -f -` with `ruleset` on standard input.
pub(crate) fn apply(nft: &Path, ruleset: &str) -> Result<()> {
    let mut child = Command::new(nft)
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::io(format!("starting {}", nft.display()), e))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(ruleset.as_bytes())
            .map_err(|e| Error::io("writing the ruleset to nft".into(), e))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| Error::io("waiting for nft".into(), e))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(Error::Nft(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ))
    }
}

/// The names of the host's whirl tables (`whirl<N>` in families inet and bridge): (family,
/// name).
pub(crate) fn list_whirl_tables(nft: &Path) -> Result<Vec<(String, String)>> {
    let out = Command::new(nft)
        .args(["list", "tables"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::io(format!("starting {}", nft.display()), e))?;
    if !out.status.success() {
        return Err(Error::Nft(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ));
    }
    Ok(parse_tables(&String::from_utf8_lossy(&out.stdout)))
}

fn parse_tables(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            match (w.next(), w.next(), w.next()) {
                (Some("table"), Some(family), Some(name))
                    if (family == "inet" || family == "bridge") && is_whirl_table(name) =>
                {
                    Some((family.to_string(), name.to_string()))
                }
                _ => None,
            }
        })
        .collect()
}

/// `whirl` followed by a slot number.
fn is_whirl_table(name: &str) -> bool {
    name.strip_prefix("whirl")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The transaction deleting the given tables (each created empty first, so that a missing one is
/// no error).
pub(crate) fn delete_tables(tables: &[(String, String)]) -> String {
    let mut s = String::new();
    for (family, name) in tables {
        let _ = writeln!(
            s,
            "table {family} {name} {{}}\ndelete table {family} {name}"
        );
    }
    s
}

fn elements<N: std::fmt::Display>(nets: impl IntoIterator<Item = N>) -> String {
    let v: Vec<String> = nets.into_iter().map(|n| n.to_string()).collect();
    if v.is_empty() {
        String::new()
    } else {
        format!(" elements = {{ {} }}", v.join(", "))
    }
}

fn v4_of(nets: &[IpNet]) -> Vec<Ipv4Net> {
    nets.iter()
        .filter_map(|n| match n {
            IpNet::V4(n) => Some(*n),
            IpNet::V6(_) => None,
        })
        .collect()
}

fn v6_of(nets: &[IpNet]) -> Vec<Ipv6Net> {
    nets.iter()
        .filter_map(|n| match n {
            IpNet::V6(n) => Some(*n),
            IpNet::V4(_) => None,
        })
        .collect()
}

/// The destination sets and the verdict rules common to both rule sets: never, deny, allow,
/// default deny (in that order), each as an IPv4 and an IPv6 set.
fn policy_sets(s: &mut String, policy: &EgressPolicy, extra_deny: &[IpNet]) {
    let never: Vec<IpNet> = never().into_iter().map(|(n, _)| n).collect();
    let default: Vec<IpNet> = default_deny().into_iter().map(|(n, _)| n).collect();
    let mut deny = policy.deny.clone();
    deny.extend_from_slice(extra_deny);
    for (name, nets) in [
        ("never", &never),
        ("api", &policy.api),
        ("deny", &deny),
        ("allow", &policy.allow),
        ("default_deny", &default),
    ] {
        let _ = writeln!(
            s,
            "  set {name}4 {{\n    type ipv4_addr\n    flags interval\n    auto-merge\n   {}\n  }}",
            elements(v4_of(nets))
        );
        let _ = writeln!(
            s,
            "  set {name}6 {{\n    type ipv6_addr\n    flags interval\n    auto-merge\n   {}\n  }}",
            elements(v6_of(nets))
        );
    }
}

/// The rules judging a new destination (jumped to once the source is known to be a sandbox).
fn policy_rules(s: &mut String, policy: &EgressPolicy) {
    s.push_str(
        "    ip daddr @never4 jump refuse\n\
         \x20   ip6 daddr @never6 jump refuse\n",
    );
    if !policy.api.is_empty() {
        let port = policy.api_port;
        let _ = writeln!(
            s,
            "    ip daddr @api4 tcp dport {port} accept\n\
             \x20   ip6 daddr @api6 tcp dport {port} accept"
        );
    }
    s.push_str(
        "    ip daddr @deny4 jump refuse\n\
         \x20   ip6 daddr @deny6 jump refuse\n\
         \x20   ip daddr @allow4 accept\n\
         \x20   ip6 daddr @allow6 accept\n\
         \x20   ip daddr @default_deny4 jump refuse\n\
         \x20   ip6 daddr @default_deny6 jump refuse\n",
    );
}

/// A refusal the sender sees at once: a TCP reset, else an ICMP "administratively prohibited".
const REFUSE_CHAIN: &str = "  chain refuse {\n\
    \x20   meta l4proto tcp reject with tcp reset\n\
    \x20   reject with icmpx admin-prohibited\n\
    \x20 }\n";

/// The flood bound: at most [`FLOW_LIMIT`] tracked flows per sandbox address.
fn flow_sets(s: &mut String) {
    s.push_str(
        "  set flows4 {\n    type ipv4_addr\n    size 65535\n    flags dynamic\n  }\n\
         \x20 set flows6 {\n    type ipv6_addr\n    size 65535\n    flags dynamic\n  }\n",
    );
}

fn flow_rules(s: &mut String) {
    let _ = writeln!(
        s,
        "    ct state new add @flows4 {{ ip saddr ct count over {FLOW_LIMIT} }} jump refuse\n\
         \x20   ct state new add @flows6 {{ ip6 saddr ct count over {FLOW_LIMIT} }} jump refuse"
    );
}

/// What the host-side rules of one server (slot) need.
#[derive(Debug, Clone)]
pub(crate) struct HostRules<'a> {
    /// Table name (`whirl<slot>`).
    pub table: &'a str,
    /// The bridge the sandboxes are ports of.
    pub bridge: &'a str,
    /// Name prefix of the host-side veths (`wh<slot>x`).
    pub port_prefix: &'a str,
    /// The sandboxes' IPv4 network; its first address is the gateway.
    pub net4: Ipv4Net,
    pub gateway4: Ipv4Addr,
    /// The sandboxes' IPv6 network, when the host has IPv6.
    pub net6: Option<Ipv6Net>,
    pub api_port: u16,
    pub policy: &'a EgressPolicy,
}

impl HostRules<'_> {
    /// The whole transaction: replace this slot's tables with fresh ones.
    pub(crate) fn ruleset(&self) -> String {
        let HostRules {
            table,
            bridge,
            port_prefix,
            net4,
            gateway4,
            net6,
            api_port,
            policy,
        } = self;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "table inet {table} {{}}\ndelete table inet {table}\n\
             table bridge {table} {{}}\ndelete table bridge {table}\n"
        );
        let _ = writeln!(s, "table inet {table} {{");
        policy_sets(&mut s, policy, &[]);
        flow_sets(&mut s);
        s.push_str(REFUSE_CHAIN);
        // Packets from sandboxes must carry their own source address.
        let v6_source = match net6 {
            Some(n) => format!("    ip6 saddr != {{ {n}, fe80::/10 }} drop\n"),
            None => "    meta nfproto ipv6 drop\n".to_string(),
        };
        let _ = writeln!(
            s,
            "  chain input {{\n\
             \x20   type filter hook input priority filter - 10; policy accept;\n\
             \x20   iifname \"{bridge}\" jump sandbox_to_host\n\
             \x20 }}\n\
             \x20 chain sandbox_to_host {{\n\
             \x20   ip saddr != {net4} drop\n\
             {v6_source}\
             \x20   icmpv6 type {{ nd-neighbor-solicit, nd-neighbor-advert }} accept\n\
             \x20   meta pkttype != unicast drop\n"
        );
        flow_rules(&mut s);
        let _ = writeln!(
            s,
            "    ip daddr {gateway4} tcp dport {api_port} accept\n\
             \x20   ip daddr {gateway4} udp dport 53 accept\n\
             \x20   ip daddr {gateway4} tcp dport 53 accept\n\
             \x20   jump refuse\n\
             \x20 }}\n\
             \x20 chain forward {{\n\
             \x20   type filter hook forward priority filter - 10; policy accept;\n\
             \x20   iifname \"{bridge}\" jump from_sandbox\n\
             \x20   oifname \"{bridge}\" ct state established,related accept\n\
             \x20   oifname \"{bridge}\" drop\n\
             \x20 }}\n\
             \x20 chain from_sandbox {{\n\
             \x20   oifname \"whirl*\" jump refuse\n\
             \x20   ip saddr != {net4} drop\n\
             {v6_source}\
             \x20   meta pkttype != unicast drop\n\
             \x20   ct state established,related accept"
        );
        flow_rules(&mut s);
        policy_rules(&mut s, policy);
        s.push_str("    accept\n  }\n");
        let _ = writeln!(
            s,
            "  chain postrouting {{\n\
             \x20   type nat hook postrouting priority srcnat; policy accept;\n\
             \x20   ip saddr {net4} oifname != \"{bridge}\" masquerade"
        );
        if let Some(n) = net6 {
            let _ = writeln!(s, "    ip6 saddr {n} oifname != \"{bridge}\" masquerade");
        }
        s.push_str("  }\n}\n");
        // Frames between two sandboxes of the bridge never pass (ARP included).
        let _ = writeln!(
            s,
            "table bridge {table} {{\n\
             \x20 chain forward {{\n\
             \x20   type filter hook forward priority filter; policy accept;\n\
             \x20   iifname \"{port_prefix}*\" drop\n\
             \x20 }}\n\
             }}"
        );
        s
    }
}

/// The rules a rootless sandbox's own namespace gets (loaded by the sandbox's set-up helper
/// before the action starts; the action has no capability to change them).
#[derive(Debug, Clone)]
pub(crate) struct InsideRules<'a> {
    pub policy: &'a EgressPolicy,
    /// The host's own addresses (refused like the default deny list, and never opened).
    pub host_addrs: &'a [IpNet],
    /// The address the namespace's DNS queries go to (pasta's DNS forwarder).
    pub dns: Ipv4Addr,
}

impl InsideRules<'_> {
    pub(crate) fn ruleset(&self) -> String {
        let mut s =
            String::from("table inet whirl {}\ndelete table inet whirl\ntable inet whirl {\n");
        // The host's addresses join the never-opened refusals.
        let never_host: Vec<IpNet> = self.host_addrs.to_vec();
        policy_sets(&mut s, self.policy, &[]);
        let _ = writeln!(
            s,
            "  set host4 {{\n    type ipv4_addr\n    flags interval\n    auto-merge\n   {}\n  }}\n\
             \x20 set host6 {{\n    type ipv6_addr\n    flags interval\n    auto-merge\n   {}\n  }}",
            elements(v4_of(&never_host)),
            elements(v6_of(&never_host))
        );
        flow_sets(&mut s);
        s.push_str(REFUSE_CHAIN);
        let _ = writeln!(
            s,
            "  chain output {{\n\
             \x20   type filter hook output priority filter - 10; policy accept;\n\
             \x20   oifname \"lo\" accept\n\
             \x20   ct state established,related accept\n\
             \x20   ip daddr {} udp dport 53 accept\n\
             \x20   ip daddr @host4 jump refuse\n\
             \x20   ip6 daddr @host6 jump refuse",
            self.dns
        );
        flow_rules(&mut s);
        policy_rules(&mut s, self.policy);
        s.push_str("    accept\n  }\n");
        s.push_str(
            "  chain input {\n\
             \x20   type filter hook input priority filter - 10; policy drop;\n\
             \x20   iifname \"lo\" accept\n\
             \x20   ct state established,related accept\n\
             \x20   icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-advert } accept\n\
             \x20 }\n}\n",
        );
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(policy: &EgressPolicy, v6: bool) -> String {
        HostRules {
            table: "whirl3",
            bridge: "whirl3",
            port_prefix: "wh3x",
            net4: "169.254.24.0/21".parse().unwrap(),
            gateway4: "169.254.24.1".parse().unwrap(),
            net6: v6.then(|| "fd77:6869:726c:3::/64".parse().unwrap()),
            api_port: 3233,
            policy,
        }
        .ruleset()
    }

    #[test]
    fn host_rules_replace_only_the_slots_tables() {
        let r = rules(&EgressPolicy::default(), true);
        assert!(r.starts_with(
            "table inet whirl3 {}\ndelete table inet whirl3\ntable bridge whirl3 {}\ndelete table bridge whirl3\n"
        ));
        for line in r.lines().filter(|l| l.starts_with("table")) {
            assert!(line.contains("whirl3"), "{line}");
        }
    }

    #[test]
    fn host_rules_admit_only_the_api_and_dns_on_the_gateway() {
        let r = rules(&EgressPolicy::default(), true);
        assert!(
            r.contains("ip daddr 169.254.24.1 tcp dport 3233 accept"),
            "{r}"
        );
        assert!(
            r.contains("ip daddr 169.254.24.1 udp dport 53 accept"),
            "{r}"
        );
        assert!(
            r.contains("ip daddr 169.254.24.1 tcp dport 53 accept"),
            "{r}"
        );
        let host = &r[r.find("chain sandbox_to_host").unwrap()..];
        let host = &host[..host.find("chain forward").unwrap()];
        assert!(host.contains("    jump refuse\n  }"), "{host}");
        assert!(r.contains("masquerade"), "{r}");
        assert!(r.contains("fd77:6869:726c:3::/64"), "{r}");
        assert!(r.contains("iifname \"wh3x*\" drop"), "{r}");
    }

    #[test]
    fn host_rules_without_ipv6_drop_ipv6() {
        let r = rules(&EgressPolicy::default(), false);
        assert!(r.contains("meta nfproto ipv6 drop"), "{r}");
        assert!(!r.contains("ip6 saddr fd77"), "{r}");
    }

    #[test]
    fn policy_entries_land_in_their_sets_in_order() {
        let p = EgressPolicy::new(
            vec!["10.0.0.0/8".parse().unwrap(), "fd12::/16".parse().unwrap()],
            vec!["10.1.0.0/16".parse().unwrap()],
        );
        let r = rules(&p, true);
        let set = |name: &str| {
            let start = r.find(&format!("set {name} {{")).unwrap();
            r[start..start + r[start..].find('}').unwrap()].to_string()
        };
        assert!(set("allow4").contains("10.0.0.0/8"));
        assert!(set("allow6").contains("fd12::/16"));
        assert!(set("deny4").contains("10.1.0.0/16"));
        assert!(!set("deny6").contains("elements"));
        assert!(set("default_deny4").contains("169.254.0.0/16"));
        assert!(set("never4").contains("224.0.0.0/4"));
        // never, deny, allow, default: deny wins over allow.
        let pos = |s: &str| r.find(s).unwrap();
        assert!(pos("ip daddr @never4") < pos("ip daddr @deny4"));
        assert!(pos("ip daddr @deny4") < pos("ip daddr @allow4"));
        assert!(pos("ip daddr @allow4") < pos("ip daddr @default_deny4"));
    }

    #[test]
    fn inside_rules_refuse_the_hosts_addresses() {
        let p = EgressPolicy::default();
        let host = [
            "192.0.2.2/32".parse().unwrap(),
            "fd00::2/128".parse().unwrap(),
        ];
        let r = InsideRules {
            policy: &p,
            host_addrs: &host,
            dns: "169.254.1.53".parse().unwrap(),
        }
        .ruleset();
        assert!(r.starts_with("table inet whirl {}\ndelete table inet whirl\n"));
        assert!(r.contains("192.0.2.2/32") || r.contains("192.0.2.2"), "{r}");
        assert!(
            r.contains("ip daddr 169.254.1.53 udp dport 53 accept"),
            "{r}"
        );
        assert!(r.contains("policy drop"), "{r}");
    }

    #[test]
    fn tables_are_listed_and_deleted_by_name() {
        let t = parse_tables(
            "table inet filter\ntable inet whirl0\ntable bridge whirl12\ntable ip whirl1\ntable inet whirlx\n",
        );
        assert_eq!(
            t,
            [
                ("inet".to_string(), "whirl0".to_string()),
                ("bridge".to_string(), "whirl12".to_string())
            ]
        );
        assert_eq!(
            delete_tables(&t),
            "table inet whirl0 {}\ndelete table inet whirl0\ntable bridge whirl12 {}\ndelete table bridge whirl12\n"
        );
    }
}
