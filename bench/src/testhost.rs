//! A test host for the network scenario: a network namespace this process makes (held by a
//! descriptor, so it goes when the process does) with a veth pair to the machine, the TEST-NET
//! address 203.0.113.10 inside (203.0.113.1 on the machine's end), no default route, and a
//! minimal HTTP server on port 8080 answering every request with a short body.

use std::fs::File;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::fd::AsRawFd;
use std::process::Command;

use anyhow::{bail, Context, Result};
use nix::sched::CloneFlags;

/// The test host's address and the server's port.
pub const ADDR: &str = "203.0.113.10";
pub const PORT: u16 = 8080;

/// The running test host (namespace and server thread live as long as this process).
#[derive(Debug)]
pub struct TestHost {
    _ns: File,
}

fn run(args: &[&str]) -> Result<()> {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .with_context(|| format!("{args:?}"))?;
    if !out.status.success() {
        bail!("{args:?}: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}

impl TestHost {
    pub fn start() -> Result<TestHost> {
        let routes = Command::new("ip")
            .args(["route", "show", "203.0.113.0/24"])
            .output()?;
        if !routes.stdout.is_empty() {
            bail!("203.0.113.0/24 is already routed on this machine");
        }
        let ns = std::thread::spawn(|| -> Result<File> {
            nix::sched::unshare(CloneFlags::CLONE_NEWNET).context("unshare(CLONE_NEWNET)")?;
            Ok(File::open("/proc/thread-self/ns/net")?)
        })
        .join()
        .map_err(|_| anyhow::anyhow!("netns thread panicked"))??;
        let pid = std::process::id().to_string();
        let net = format!("--net=/proc/{pid}/fd/{}", ns.as_raw_fd());
        let host_if = format!("wbh{pid}");
        run(&["nsenter", &net, "ip", "link", "set", "lo", "up"])?;
        run(&[
            "nsenter", &net, "ip", "link", "add", "eth0", "type", "veth", "peer", "name", &host_if,
            "netns", &pid,
        ])?;
        run(&["ip", "addr", "add", "203.0.113.1/24", "dev", &host_if])?;
        run(&["ip", "link", "set", &host_if, "up"])?;
        run(&[
            "nsenter",
            &net,
            "ip",
            "addr",
            "add",
            "203.0.113.10/24",
            "dev",
            "eth0",
        ])?;
        run(&["nsenter", &net, "ip", "link", "set", "eth0", "up"])?;
        let ns2 = ns.try_clone()?;
        let listener = std::thread::spawn(move || -> Result<TcpListener> {
            nix::sched::setns(&ns2, CloneFlags::CLONE_NEWNET).context("setns")?;
            Ok(TcpListener::bind((ADDR, PORT))?)
        })
        .join()
        .map_err(|_| anyhow::anyhow!("listener thread panicked"))??;
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut c) = conn else { continue };
                let _ = c.set_nodelay(true);
                let mut buf = [0u8; 2048];
                // One request per connection (the clients send Connection: close).
                let mut got = Vec::new();
                while let Ok(n) = c.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    got.extend_from_slice(&buf[..n]);
                    if got.windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
                let _ = c.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                );
            }
        });
        Ok(TestHost { _ns: ns })
    }
}
