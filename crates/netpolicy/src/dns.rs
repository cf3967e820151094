//! The DNS relay: sandboxes send their queries to the gateway (port 53, UDP and TCP); the relay
//! forwards each one, unchanged, to the host's name servers (from the resolver configuration,
//! re-read when it changes) and sends the answer back. It never parses more than a message's
//! id, so it works for any query type. Bounded: concurrent queries per sandbox address and in
//! all, TCP connections, message sizes and every wait.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::timeout;

use crate::resolv::ResolvConf;
use crate::{Error, Result};

/// Queries in flight at once, all sandboxes together.
const MAX_IN_FLIGHT: usize = 256;
/// Queries in flight at once from one sandbox address.
const MAX_PER_CLIENT: usize = 32;
/// TCP connections at once.
const MAX_TCP: usize = 64;
/// TCP connections one sandbox may hold at once.
const MAX_TCP_PER_CLIENT: usize = 8;
/// How long one upstream server gets to answer.
const UPSTREAM_WAIT: Duration = Duration::from_secs(2);
/// How long a TCP client may stay idle.
const TCP_IDLE: Duration = Duration::from_secs(10);
/// The largest DNS message (UDP with EDNS, or TCP).
const MAX_MESSAGE: usize = 65_535;

/// The running relay; stops when dropped.
#[derive(Debug)]
pub(crate) struct DnsRelay {
    tasks: JoinSet<()>,
}

impl DnsRelay {
    pub(crate) fn stop(&mut self) {
        self.tasks.abort_all();
    }
}

impl Drop for DnsRelay {
    fn drop(&mut self) {
        self.tasks.abort_all();
    }
}

/// The upstream servers, re-read when the file's modification time changes.
#[derive(Debug)]
struct Upstreams {
    path: PathBuf,
    cached: Mutex<(Option<SystemTime>, Vec<SocketAddr>)>,
}

impl Upstreams {
    fn get(&self) -> Vec<SocketAddr> {
        let mtime = std::fs::metadata(&self.path)
            .and_then(|m| m.modified())
            .ok();
        let mut c = self.cached.lock().unwrap_or_else(|p| p.into_inner());
        if c.0 != mtime || c.1.is_empty() {
            match ResolvConf::read(&self.path) {
                Ok(rc) => *c = (mtime, rc.nameservers),
                Err(e) => {
                    tracing::warn!(path = %self.path.display(), error = %e, "cannot read the resolver configuration")
                }
            }
        }
        c.1.clone()
    }
}

/// Per-client counts of queries in flight.
#[derive(Debug, Default)]
struct Clients(Mutex<HashMap<IpAddr, usize>>);

impl Clients {
    fn enter(&self, ip: IpAddr) -> bool {
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let n = m.entry(ip).or_default();
        if *n >= MAX_PER_CLIENT {
            return false;
        }
        *n += 1;
        true
    }

    fn leave(&self, ip: IpAddr) {
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = m.get_mut(&ip) {
            *n -= 1;
            if *n == 0 {
                m.remove(&ip);
            }
        }
    }
}

/// A socket bound to `addr` with `SO_REUSEADDR`, so that a resolver already listening on the
/// wildcard address of port 53 (dnsmasq and the like) does not keep the relay from its own
/// address.
fn bound(addr: SocketAddr, kind: socket2::Type) -> std::io::Result<socket2::Socket> {
    let s = socket2::Socket::new(socket2::Domain::IPV4, kind, None)?;
    s.set_reuse_address(true)?;
    s.set_nonblocking(true)?;
    s.bind(&addr.into())?;
    Ok(s)
}

/// Starts the relay on `listen`:53 (UDP and TCP).
pub(crate) async fn start(listen: Ipv4Addr, resolv_conf: &Path) -> Result<DnsRelay> {
    let addr = SocketAddr::from((listen, 53));
    let udp = bound(addr, socket2::Type::DGRAM)
        .and_then(|s| UdpSocket::from_std(s.into()))
        .map_err(|e| Error::io(format!("binding the DNS relay on {addr}/udp"), e))?;
    let tcp = bound(addr, socket2::Type::STREAM)
        .and_then(|s| {
            s.listen(128)?;
            TcpListener::from_std(s.into())
        })
        .map_err(|e| Error::io(format!("binding the DNS relay on {addr}/tcp"), e))?;
    let up = Arc::new(Upstreams {
        path: resolv_conf.to_path_buf(),
        cached: Mutex::new((None, Vec::new())),
    });
    let mut tasks = JoinSet::new();
    tasks.spawn(serve_udp(Arc::new(udp), up.clone()));
    tasks.spawn(serve_tcp(tcp, up));
    Ok(DnsRelay { tasks })
}

async fn serve_udp(sock: Arc<UdpSocket>, up: Arc<Upstreams>) {
    let slots = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let clients = Arc::new(Clients::default());
    let mut buf = vec![0u8; MAX_MESSAGE];
    loop {
        let (n, from) = match sock.recv_from(&mut buf).await {
            Ok(x) => x,
            Err(e) => {
                tracing::debug!(error = %e, "DNS relay receive");
                continue;
            }
        };
        if n < 12 {
            continue;
        }
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            continue;
        };
        if !clients.enter(from.ip()) {
            continue;
        }
        let query = buf[..n].to_vec();
        let (sock, up, clients) = (sock.clone(), up.clone(), clients.clone());
        tokio::spawn(async move {
            if let Some(answer) = ask_udp(&query, &up.get()).await {
                let _ = sock.send_to(&answer, from).await;
            }
            clients.leave(from.ip());
            drop(permit);
        });
    }
}

/// Asks each upstream in turn until one answers with the query's id.
async fn ask_udp(query: &[u8], upstreams: &[SocketAddr]) -> Option<Vec<u8>> {
    for server in upstreams {
        let local: SocketAddr = if server.is_ipv4() {
            (Ipv4Addr::UNSPECIFIED, 0).into()
        } else {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let Ok(s) = UdpSocket::bind(local).await else {
            continue;
        };
        if s.connect(server).await.is_err() || s.send(query).await.is_err() {
            continue;
        }
        let mut buf = vec![0u8; MAX_MESSAGE];
        let deadline = tokio::time::Instant::now() + UPSTREAM_WAIT;
        while let Ok(Ok(n)) = tokio::time::timeout_at(deadline, s.recv(&mut buf)).await {
            if n >= 2 && buf[..2] == query[..2] {
                buf.truncate(n);
                return Some(buf);
            }
        }
    }
    None
}

async fn serve_tcp(listener: TcpListener, up: Arc<Upstreams>) {
    let slots = Arc::new(Semaphore::new(MAX_TCP));
    // Connections per sandbox address: no sandbox takes all the slots from its neighbours.
    let per_client: Arc<std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>> =
        Arc::default();
    loop {
        let Ok((conn, peer)) = listener.accept().await else {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            continue;
        };
        let client = peer.ip();
        {
            let mut m = per_client.lock().unwrap_or_else(|e| e.into_inner());
            let n = m.entry(client).or_insert(0);
            if *n >= MAX_TCP_PER_CLIENT {
                drop(conn);
                continue;
            }
            *n += 1;
        }
        let release = {
            let per_client = per_client.clone();
            move || {
                let mut m = per_client.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(n) = m.get_mut(&client) {
                    *n -= 1;
                    if *n == 0 {
                        m.remove(&client);
                    }
                }
            }
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            release();
            drop(conn);
            continue;
        };
        let up = up.clone();
        tokio::spawn(async move {
            let _ = relay_tcp(conn, &up).await;
            drop(permit);
            release();
        });
    }
}

async fn read_message(s: &mut TcpStream) -> std::io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 2];
    match timeout(TCP_IDLE, s.read_exact(&mut len)).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Ok(Err(e)) => return Err(e),
        Err(_) => return Ok(None),
    }
    let mut msg = vec![0u8; usize::from(u16::from_be_bytes(len))];
    timeout(TCP_IDLE, s.read_exact(&mut msg))
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
    Ok(Some(msg))
}

async fn write_message(s: &mut TcpStream, msg: &[u8]) -> std::io::Result<()> {
    let len = u16::try_from(msg.len())
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidData))?;
    let mut out = Vec::with_capacity(2 + msg.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(msg);
    s.write_all(&out).await
}

/// One client connection: each query asked of the upstreams over TCP in turn.
async fn relay_tcp(mut client: TcpStream, up: &Upstreams) -> std::io::Result<()> {
    while let Some(query) = read_message(&mut client).await? {
        if query.len() < 12 {
            return Ok(());
        }
        let mut answered = false;
        for server in up.get() {
            let Ok(Ok(mut s)) = timeout(UPSTREAM_WAIT, TcpStream::connect(server)).await else {
                continue;
            };
            if write_message(&mut s, &query).await.is_err() {
                continue;
            }
            if let Ok(Ok(Some(answer))) = timeout(UPSTREAM_WAIT, read_message(&mut s)).await {
                write_message(&mut client, &answer).await?;
                answered = true;
                break;
            }
        }
        if !answered {
            return Ok(());
        }
    }
    Ok(())
}
