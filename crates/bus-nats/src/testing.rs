//! A private `nats-server` for tests: JetStream on, its own store in a temporary directory, a
//! free loopback port (never the well-known 4222), stopped (killed) when dropped, even when the
//! test panics. It can be stopped and started again on the same port and store, for outage and
//! durability tests.
//!
//! ```no_run
//! # async fn f() -> std::io::Result<()> {
//! use whirl_bus_nats::testing::PrivateNats;
//! let mut nats = PrivateNats::start()?;
//! let bus = whirl_bus_nats::connect(&nats.url(), "t1").await.expect("bus");
//! nats.stop()?;   // an outage
//! nats.start_again()?;   // same port, same store: the bus reconnects
//! # drop(bus); Ok(()) }
//! ```
//!
//! A missing `nats-server` is an error ("nats-server not installed: apt-get install
//! nats-server"), never a skipped test.

use std::fs::{self, File};
use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// What a test reports when the server binary is missing.
pub const NOT_INSTALLED: &str = "nats-server not installed: apt-get install nats-server";

/// The server's `max_payload`: what a cluster should configure (see
/// [`crate::RECOMMENDED_MAX_PAYLOAD`]), well above NATS's 1 MB default.
pub const MAX_PAYLOAD: usize = 8 * 1024 * 1024;

/// How long the server may take to accept connections, or to stop.
const PATIENCE: Duration = Duration::from_secs(30);

/// A `nats-server -js` of the test's own.
#[derive(Debug)]
pub struct PrivateNats {
    dir: tempfile::TempDir,
    port: u16,
    binary: PathBuf,
    /// `user`, `password` the server requires, if any.
    auth: Option<(String, String)>,
    child: Option<Child>,
}

/// A prefix no other bus of this process (or of an earlier run) uses: `<stem>-<pid>-<n>`.
pub fn unique_prefix(stem: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{stem}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

fn find_binary() -> io::Result<PathBuf> {
    let from_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    from_path
        .into_iter()
        .chain(["/usr/sbin", "/usr/bin", "/usr/local/bin"].map(PathBuf::from))
        .map(|d| d.join("nats-server"))
        .find(|p| p.is_file())
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, NOT_INSTALLED))
}

fn free_port() -> io::Result<u16> {
    loop {
        let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let port = l.local_addr()?.port();
        if port != 4222 {
            return Ok(port);
        }
    }
}

impl PrivateNats {
    /// Start a server on a free loopback port with a fresh store; returns once it accepts
    /// connections.
    pub fn start() -> io::Result<Self> {
        Self::launch(None)
    }

    /// [`PrivateNats::start`] with a server that requires `user` and `password` (for tests
    /// that credentials never leak into errors).
    pub fn start_with_user(user: &str, password: &str) -> io::Result<Self> {
        Self::launch(Some((user.to_string(), password.to_string())))
    }

    fn launch(auth: Option<(String, String)>) -> io::Result<Self> {
        let binary = find_binary()?;
        let dir = tempfile::Builder::new().prefix("whirl-nats-").tempdir()?;
        let port = free_port()?;
        let mut nats = Self {
            dir,
            port,
            binary,
            auth,
            child: None,
        };
        nats.write_config()?;
        nats.start_again()?;
        Ok(nats)
    }

    fn write_config(&self) -> io::Result<()> {
        let store = self.store_dir();
        fs::create_dir_all(&store)?;
        let mut config = format!(
            "listen: \"127.0.0.1:{port}\"\n\
             max_payload: {MAX_PAYLOAD}\n\
             jetstream {{\n  store_dir: \"{store}\"\n  max_memory_store: 67108864\n  max_file_store: 1073741824\n}}\n",
            port = self.port,
            store = store.display(),
        );
        if let Some((user, password)) = &self.auth {
            config.push_str(&format!(
                "authorization {{\n  user: \"{user}\"\n  password: \"{password}\"\n}}\n"
            ));
        }
        fs::write(self.config_file(), config)
    }

    fn config_file(&self) -> PathBuf {
        self.dir.path().join("nats.conf")
    }

    /// Where JetStream keeps its streams.
    pub fn store_dir(&self) -> PathBuf {
        self.dir.path().join("jetstream")
    }

    /// The server's log (all its runs).
    pub fn log_file(&self) -> PathBuf {
        self.dir.path().join("nats.log")
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `nats://127.0.0.1:<port>`, with the user and password when the server requires them.
    pub fn url(&self) -> String {
        match &self.auth {
            Some((user, password)) => format!("nats://{user}:{password}@127.0.0.1:{}", self.port),
            None => format!("nats://127.0.0.1:{}", self.port),
        }
    }

    /// The server's process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Start the server again (after [`PrivateNats::stop`] or [`PrivateNats::kill`]) on the
    /// same port with the same store; returns once it accepts connections. A no-op while it
    /// runs.
    pub fn start_again(&mut self) -> io::Result<()> {
        if self.is_running() {
            return Ok(());
        }
        let log = File::options()
            .create(true)
            .append(true)
            .open(self.log_file())?;
        let child = Command::new(&self.binary)
            .arg("-js")
            .arg("-c")
            .arg(self.config_file())
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .map_err(|e| {
                if e.kind() == io::ErrorKind::NotFound {
                    io::Error::new(io::ErrorKind::NotFound, NOT_INSTALLED)
                } else {
                    e
                }
            })?;
        self.child = Some(child);
        self.wait_ready()
    }

    fn wait_ready(&mut self) -> io::Result<()> {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Some(status) = child.try_wait()? {
                    self.child = None;
                    return Err(io::Error::other(format!(
                        "nats-server exited with {status} at start; its log:\n{}",
                        read_tail(&self.log_file())
                    )));
                }
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(io::Error::other(format!(
                    "nats-server does not accept connections on {addr}; its log:\n{}",
                    read_tail(&self.log_file())
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stop the server cleanly (SIGTERM: it flushes its store), as an operator would; killed
    /// if it takes longer than 30 s. A no-op when it is not running.
    pub fn stop(&mut self) -> io::Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        if child.try_wait()?.is_some() {
            return Ok(());
        }
        let pid = i32::try_from(child.id()).map_err(io::Error::other)?;
        kill(Pid::from_raw(pid), Signal::SIGTERM).map_err(io::Error::other)?;
        let deadline = Instant::now() + PATIENCE;
        while child.try_wait()?.is_none() {
            if Instant::now() >= deadline {
                child.kill()?;
                child.wait()?;
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    /// Kill the server (SIGKILL), as a crash would.
    pub fn kill(&mut self) -> io::Result<()> {
        if let Some(mut child) = self.child.take() {
            if child.try_wait()?.is_none() {
                child.kill()?;
            }
            child.wait()?;
        }
        Ok(())
    }
}

impl Drop for PrivateNats {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn read_tail(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}
