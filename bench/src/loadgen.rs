//! The load generator: keep-alive HTTP/1.1 connections (hyper), a closed loop per connection,
//! every latency kept (runs are bounded in time and count), exact percentiles.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use tokio::net::TcpStream;

/// The guest namespace key (OpenWhisk's well-known guest key; whirl standalone creates it).
pub const GUEST_KEY: &str = "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP";

/// Upper bound of samples one closed loop keeps (bounds memory; the run stops when reached).
pub const MAX_SAMPLES: usize = 2_000_000;

/// One keep-alive connection.
pub struct Conn {
    sender: SendRequest<Full<Bytes>>,
    host: HeaderValue,
    auth: HeaderValue,
    addr: SocketAddr,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn").field("addr", &self.addr).finish()
    }
}

/// What one request looks like.
#[derive(Debug, Clone)]
pub struct Shape {
    pub method: Method,
    pub path: String,
    pub body: Bytes,
    pub auth: bool,
}

impl Shape {
    pub fn get(path: impl Into<String>, auth: bool) -> Shape {
        Shape {
            method: Method::GET,
            path: path.into(),
            body: Bytes::new(),
            auth,
        }
    }
    pub fn post(path: impl Into<String>, body: impl Into<Bytes>) -> Shape {
        Shape {
            method: Method::POST,
            path: path.into(),
            body: body.into(),
            auth: true,
        }
    }
    pub fn put(path: impl Into<String>, body: impl Into<Bytes>) -> Shape {
        Shape {
            method: Method::PUT,
            path: path.into(),
            body: body.into(),
            auth: true,
        }
    }
}

pub fn basic_auth() -> HeaderValue {
    let enc = base64::engine::general_purpose::STANDARD.encode(GUEST_KEY);
    HeaderValue::from_str(&format!("Basic {enc}")).unwrap_or(HeaderValue::from_static(""))
}

impl Conn {
    pub async fn connect(addr: SocketAddr) -> Result<Conn> {
        let stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("cannot connect to {addr}"))?;
        stream.set_nodelay(true)?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Conn {
            sender,
            host: HeaderValue::from_str(&addr.to_string())?,
            auth: basic_auth(),
            addr,
        })
    }

    /// Sends one request and reads the whole response.
    pub async fn send(&mut self, shape: &Shape) -> Result<(StatusCode, Bytes)> {
        let mut req = Request::builder()
            .method(shape.method.clone())
            .uri(&shape.path)
            .header(HOST, self.host.clone());
        if shape.auth {
            req = req.header(AUTHORIZATION, self.auth.clone());
        }
        if !shape.body.is_empty() {
            req = req.header(CONTENT_TYPE, "application/json");
        }
        let req = req.body(Full::new(shape.body.clone()))?;
        self.sender.ready().await?;
        let resp = self.sender.send_request(req).await?;
        let status = resp.status();
        let body = resp.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }

    /// Sends a request and requires a 2xx answer; returns the parsed JSON body (or Null).
    pub async fn call(&mut self, shape: &Shape) -> Result<serde_json::Value> {
        let (status, body) = self.send(shape).await?;
        if !status.is_success() {
            bail!(
                "{} {} -> {}: {}",
                shape.method,
                shape.path,
                status,
                String::from_utf8_lossy(&body)
            );
        }
        if body.is_empty() {
            return Ok(serde_json::Value::Null);
        }
        Ok(serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null))
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

/// Latency summary, all in microseconds.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Stats {
    pub count: u64,
    pub errors: u64,
    pub elapsed_s: f64,
    pub rate_per_s: f64,
    pub min_us: f64,
    pub mean_us: f64,
    pub p50_us: f64,
    pub p90_us: f64,
    pub p99_us: Option<f64>,
    pub p999_us: Option<f64>,
    pub max_us: Option<f64>,
    /// (percentile, latency µs) points of the distribution for the plots.
    pub cdf: Vec<(f64, f64)>,
}

/// Percentiles kept in the CDF.
fn cdf_points() -> Vec<f64> {
    let mut v: Vec<f64> = (0..100).map(f64::from).collect();
    v.extend([99.5, 99.9, 100.0]);
    v
}

fn pct_sorted(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() - 1) as f64 * p / 100.0).round() as usize;
    sorted[idx.min(sorted.len() - 1)] as f64 / 1000.0
}

impl Stats {
    /// From latencies in nanoseconds.
    pub fn from_ns(mut samples: Vec<u64>, errors: u64, elapsed: Duration) -> Stats {
        samples.sort_unstable();
        let count = samples.len() as u64;
        let elapsed_s = elapsed.as_secs_f64();
        if samples.is_empty() {
            return Stats {
                errors,
                elapsed_s,
                ..Stats::default()
            };
        }
        let mean = samples.iter().map(|&s| s as f64).sum::<f64>() / samples.len() as f64 / 1000.0;
        Stats {
            count,
            errors,
            elapsed_s,
            rate_per_s: if elapsed_s > 0.0 {
                count as f64 / elapsed_s
            } else {
                0.0
            },
            min_us: pct_sorted(&samples, 0.0),
            mean_us: mean,
            p50_us: pct_sorted(&samples, 50.0),
            p90_us: pct_sorted(&samples, 90.0),
            p99_us: Some(pct_sorted(&samples, 99.0)),
            p999_us: Some(pct_sorted(&samples, 99.9)),
            max_us: Some(pct_sorted(&samples, 100.0)),
            cdf: cdf_points()
                .into_iter()
                .map(|p| (p, pct_sorted(&samples, p)))
                .collect(),
        }
    }

    pub fn from_durations(samples: &[Duration], errors: u64, elapsed: Duration) -> Stats {
        Stats::from_ns(
            samples.iter().map(|d| d.as_nanos() as u64).collect(),
            errors,
            elapsed,
        )
    }
}

/// A closed-loop run: `concurrency` connections, each sending its next request as soon as the
/// previous answer arrived, for `duration` or until `max_requests` in total.
#[derive(Debug, Clone)]
pub struct Load {
    pub concurrency: usize,
    pub duration: Duration,
    pub max_requests: u64,
    /// Unmeasured warm-up on the same connections before the clock starts.
    pub warmup: Duration,
}

#[derive(Debug, Clone)]
pub struct LoadResult {
    pub stats: Stats,
    /// Responses whose body contained the flag substring.
    pub flagged: u64,
    pub first_error: Option<String>,
}

/// Which request a worker sends next: `(worker index, request number of that worker)`.
pub type ShapeFn = Arc<dyn Fn(usize, u64) -> Shape + Send + Sync>;

pub async fn closed_loop(
    addr: SocketAddr,
    load: &Load,
    shape: ShapeFn,
    flag: Option<&'static [u8]>,
) -> Result<LoadResult> {
    let mut conns = Vec::with_capacity(load.concurrency);
    for _ in 0..load.concurrency {
        conns.push(Conn::connect(addr).await?);
    }
    // Warm-up on the same connections, not measured.
    if !load.warmup.is_zero() {
        let until = Instant::now() + load.warmup;
        let mut tasks = Vec::new();
        for (w, mut c) in conns.into_iter().enumerate() {
            let shape = shape.clone();
            tasks.push(tokio::spawn(async move {
                let mut i = 0u64;
                while Instant::now() < until {
                    let _ = c.send(&shape(w, i)).await;
                    i += 1;
                }
                c
            }));
        }
        conns = Vec::new();
        for t in tasks {
            conns.push(t.await?);
        }
    }
    let per_worker_cap = (MAX_SAMPLES / load.concurrency.max(1)) as u64;
    let budget = Arc::new(std::sync::atomic::AtomicU64::new(load.max_requests));
    let start = Instant::now();
    let until = start + load.duration;
    let mut tasks = Vec::new();
    for (w, mut c) in conns.into_iter().enumerate() {
        let shape = shape.clone();
        let budget = budget.clone();
        tasks.push(tokio::spawn(async move {
            let mut samples: Vec<u64> = Vec::with_capacity(4096);
            let mut errors = 0u64;
            let mut flagged = 0u64;
            let mut first_error: Option<String> = None;
            let mut i = 0u64;
            while Instant::now() < until && i < per_worker_cap {
                if budget
                    .fetch_update(
                        std::sync::atomic::Ordering::Relaxed,
                        std::sync::atomic::Ordering::Relaxed,
                        |b| b.checked_sub(1),
                    )
                    .is_err()
                {
                    break;
                }
                let req = shape(w, i);
                i += 1;
                let t = Instant::now();
                match c.send(&req).await {
                    Ok((status, body)) if status.is_success() => {
                        samples.push(t.elapsed().as_nanos() as u64);
                        if let Some(f) = flag {
                            if body.windows(f.len()).any(|win| win == f) {
                                flagged += 1;
                            }
                        }
                    }
                    Ok((status, body)) => {
                        errors += 1;
                        first_error.get_or_insert_with(|| {
                            format!(
                                "{} {} -> {status}: {}",
                                req.method,
                                req.path,
                                String::from_utf8_lossy(&body[..body.len().min(300)])
                            )
                        });
                    }
                    Err(e) => {
                        errors += 1;
                        first_error
                            .get_or_insert_with(|| format!("{} {}: {e:#}", req.method, req.path));
                        match Conn::connect(c.addr()).await {
                            Ok(n) => c = n,
                            Err(_) => break,
                        }
                    }
                }
            }
            (samples, errors, flagged, first_error)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    let mut flagged = 0;
    let mut first_error = None;
    for t in tasks {
        let (s, e, f, fe) = t.await?;
        all.extend(s);
        errors += e;
        flagged += f;
        if first_error.is_none() {
            first_error = fe;
        }
    }
    let elapsed = start.elapsed();
    Ok(LoadResult {
        stats: Stats::from_ns(all, errors, elapsed),
        flagged,
        first_error,
    })
}
