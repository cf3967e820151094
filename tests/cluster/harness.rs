//! The harness of the cluster suite: a private PostgreSQL and NATS JetStream server (the
//! launchers of `whirl_store_postgres::testing` and `whirl_bus_nats::testing`, free loopback
//! ports), then `whirl controller` and `whirl invoker` processes of the debug `whirl` binary,
//! each with its own data dir and log in the cluster's temporary directory. Tests drive the
//! controllers over HTTP like a client and kill, stop and restart any part.
//!
//! Clean-up: dropping a [`Cluster`] stops its processes (SIGTERM, so invokers remove their
//! sandboxes; SIGKILL after a grace), then the servers. A watchdog (`sh` reading a pipe that only
//! the test process holds) does the same when the test process dies without dropping it, as the
//! shared cluster in a `static` never is.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use base64::Engine;
use reqwest::blocking::Client;
use reqwest::Method;
use serde_json::{json, Value};
use whirl_bus_nats::testing::PrivateNats;
use whirl_store_postgres::testing::PrivatePostgres;

/// The well-known development key of `guest` (spec §1.8).
pub const GUEST_KEY: &str =
    "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP";

/// `/api/v1/namespaces/_`: the caller's namespace.
pub const NS: &str = "/api/v1/namespaces/_";

/// Guards against a hung process, never a performance threshold.
pub const HANG_GUARD: Duration = Duration::from_secs(120);

/// The password of the store's login role: errors must never show it.
pub const PG_PASSWORD: &str = "s3cret-Pg-pw-0f-the-cluster";

/// The `whirl` binary under test.
pub fn whirl_bin() -> &'static str {
    env!("CARGO_BIN_EXE_whirl")
}

/// Variables of the developer's shell that would change the processes' configuration.
const WHIRL_VARS: &[&str] = &[
    "WHIRL_CONFIG",
    "WHIRL_HOST",
    "WHIRL_PORT",
    "WHIRL_DATA_DIR",
    "WHIRL_STORE_URL",
    "WHIRL_BUS_URL",
    "WHIRL_CONTROLLER_ID",
    "WHIRL_CONTROLLERS",
    "WHIRL_BOOTSTRAP",
    "WHIRL_INVOKER_ID",
    "WHIRL_API_HOST",
    "WHIRL_HEALTH_PORT",
    "WHIRL_USER_MEMORY_MB",
    "WHIRL_STEM_CELLS",
    "WHIRL_PAUSE_GRACE_SECS",
    "WHIRL_IDLE_TIMEOUT_SECS",
    "WHIRL_ISOLATION",
    "WHIRL_RUNTIME_MANIFEST",
];

/// Kills what the test process started when it dies (see the module docs). Lines written to it
/// are pids; at end of input it sends SIGTERM to those still running a `whirl` or `nats-server`
/// executable, SIGKILL 5 s later, and removes the directories given as arguments.
#[derive(Debug)]
struct Watchdog {
    pipe: Mutex<Option<ChildStdin>>,
    child: Mutex<Child>,
}

impl Watchdog {
    fn start(dirs: &[&Path]) -> Watchdog {
        const SCRIPT: &str = r#"trap '' INT TERM HUP QUIT PIPE
pids=""
while read -r p; do pids="$pids $p"; done
ours() { tr '\0' ' ' < "/proc/$1/cmdline" 2>/dev/null | grep -qE 'whirl|nats-server'; }
for p in $pids; do ours "$p" && kill -TERM "$p" 2>/dev/null; done
sleep 5
for p in $pids; do ours "$p" && kill -KILL "$p" 2>/dev/null; done
for d in "$@"; do rm -rf "$d"; done"#;
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(SCRIPT)
            .arg("whirl-cluster-watchdog")
            .args(dirs)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let mut child = cmd.spawn().expect("start the watchdog (sh)");
        let pipe = child.stdin.take();
        Watchdog {
            pipe: Mutex::new(pipe),
            child: Mutex::new(child),
        }
    }

    fn watch(&self, pid: u32) {
        if let Some(p) = self.pipe.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
            let _ = writeln!(p, "{pid}");
        }
    }

    /// The cluster is being dropped normally: no more watching.
    fn dismiss(&self) {
        let _ = self.child.lock().unwrap_or_else(|e| e.into_inner()).kill();
        let _ = self.child.lock().unwrap_or_else(|e| e.into_inner()).wait();
    }
}

/// One `whirl controller` or `whirl invoker` process and how to start it again.
#[derive(Debug)]
pub struct Proc {
    pub name: String,
    args: Vec<String>,
    child: Option<Child>,
    pid: u32,
    log_dir: PathBuf,
    starts: u32,
    /// What the process printed to stdout so far.
    stdout: std::sync::Arc<Mutex<Vec<String>>>,
}

impl Proc {
    /// Start `whirl <args>` and wait for a stdout line starting with `ready` (returned).
    fn spawn(name: &str, args: Vec<String>, log_dir: &Path, ready: &str) -> (Proc, String) {
        let mut p = Proc {
            name: name.to_string(),
            args,
            child: None,
            pid: 0,
            log_dir: log_dir.to_path_buf(),
            starts: 0,
            stdout: Default::default(),
        };
        let line = p.launch(ready);
        (p, line)
    }

    fn log_path(&self) -> PathBuf {
        self.log_dir
            .join(format!("{}-{}.log", self.name, self.starts))
    }

    fn launch(&mut self, ready: &str) -> String {
        assert!(self.child.is_none(), "{} is running", self.name);
        self.starts += 1;
        let log = std::fs::File::create(self.log_path()).expect("log file");
        let mut cmd = Command::new(whirl_bin());
        cmd.args(&self.args)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log));
        for k in WHIRL_VARS {
            cmd.env_remove(k);
        }
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", self.name));
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        let lines = self.stdout.clone();
        let wanted = ready.to_string();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            // Drain stdout for the process's whole life.
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let ready = line.starts_with(&wanted);
                lines
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(line.clone());
                if ready {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(line);
                    }
                }
            }
        });
        self.pid = child.id();
        self.child = Some(child);
        match rx.recv_timeout(HANG_GUARD) {
            Ok(line) => line,
            Err(_) => {
                self.kill9();
                panic!(
                    "{} did not print {ready:?}; stderr:\n{}",
                    self.name,
                    self.log()
                );
            }
        }
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The value of the last stdout line starting with `prefix`.
    fn printed(&self, prefix: &str) -> Option<String> {
        self.stdout
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .rev()
            .find_map(|l| l.strip_prefix(prefix).map(|v| v.trim().to_string()))
    }

    /// The stderr (log) of the current start.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// The logs of every start, for diagnostics.
    pub fn all_logs(&self) -> String {
        let mut out = String::new();
        for n in 1..=self.starts {
            let path = self.log_dir.join(format!("{}-{n}.log", self.name));
            let text = std::fs::read_to_string(path).unwrap_or_default();
            out.push_str(&format!("--- {} start {n} ---\n{text}", self.name));
        }
        out
    }

    /// `kill -9` and reap.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM, and SIGKILL if it has not exited within `grace`. Returns whether it exited by
    /// itself.
    pub fn terminate(&mut self, grace: Duration) -> bool {
        let Some(mut c) = self.child.take() else {
            return true;
        };
        let _ = Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status();
        let start = Instant::now();
        while start.elapsed() < grace {
            if let Ok(Some(_)) = c.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = c.kill();
        let _ = c.wait();
        false
    }
}

/// A controller: its process and its API address.
#[derive(Debug)]
pub struct Controller {
    pub proc: Proc,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
}

/// An invoker: its process and its health port.
#[derive(Debug)]
pub struct Invoker {
    pub proc: Proc,
    /// The port of `/health` and `/ping` (`--health-port 0`: a new one at each start).
    pub health_port: u16,
}

impl Invoker {
    fn read_health_port(&mut self) {
        self.health_port = self
            .proc
            .printed("Health port: ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("{} printed no health port", self.proc.name));
    }
}

/// How big a cluster to start.
#[derive(Debug, Clone)]
pub struct Shape {
    pub controllers: usize,
    pub invokers: usize,
    /// `--user-memory-mb` of each invoker.
    pub user_memory_mb: u64,
}

impl Default for Shape {
    fn default() -> Self {
        Shape {
            controllers: 2,
            invokers: 3,
            user_memory_mb: 4096,
        }
    }
}

/// A running cluster; see the module docs.
#[derive(Debug)]
pub struct Cluster {
    pub controllers: Vec<Controller>,
    pub invokers: Vec<Invoker>,
    /// The store URL the processes use (a password role: errors must not show it).
    pub store_url: String,
    pub bus_url: String,
    shape: Shape,
    watchdog: Watchdog,
    pub pg: PrivatePostgres,
    pub nats: PrivateNats,
    tmp: tempfile::TempDir,
}

/// Fail with the launcher's own message (what to install) when a server cannot start.
fn must<T, E: std::fmt::Display>(what: &str, r: Result<T, E>) -> T {
    r.unwrap_or_else(|e| panic!("{what}: {e}"))
}

impl Cluster {
    /// 2 controllers and 3 invokers.
    pub fn start() -> Cluster {
        Self::with(Shape::default())
    }

    pub fn with(shape: Shape) -> Cluster {
        let tmp = tempfile::Builder::new()
            .prefix("whirl-cluster-")
            .tempdir()
            .expect("tempdir");
        let pg = must("private PostgreSQL", PrivatePostgres::launch());
        let nats = must("private nats-server", PrivateNats::start());
        let role_url = {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            must(
                "a password role",
                rt.block_on(pg.create_password_role("whirl_cluster", PG_PASSWORD)),
            )
        };
        // postgres://whirl_cluster@127.0.0.1:PORT/whirl → with the password.
        let store_url = role_url.replacen(
            "postgres://whirl_cluster@",
            &format!("postgres://whirl_cluster:{PG_PASSWORD}@"),
            1,
        );
        assert!(store_url.contains(PG_PASSWORD), "{store_url}");
        let bus_url = nats.url();
        let nats_dir = nats
            .store_dir()
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let watchdog = Watchdog::start(&[tmp.path(), &nats_dir]);
        if let Some(pid) = nats.pid() {
            watchdog.watch(pid);
        }
        let mut cluster = Cluster {
            controllers: Vec::new(),
            invokers: Vec::new(),
            store_url,
            bus_url,
            shape: shape.clone(),
            watchdog,
            pg,
            nats,
            tmp,
        };
        // The controllers start together (concurrent migrations and bootstrap are safe).
        let handles: Vec<_> = (0..shape.controllers)
            .map(|i| {
                let args = cluster.controller_args(i, 0);
                let dir = cluster.tmp.path().to_path_buf();
                std::thread::spawn(move || {
                    let (proc, line) =
                        Proc::spawn(&format!("controller{i}"), args, &dir, "API host: ");
                    (proc, line)
                })
            })
            .collect();
        for h in handles {
            let (proc, line) = h.join().expect("controller start");
            cluster.watchdog.watch(proc.pid());
            let base = line.trim_start_matches("API host: ").trim().to_string();
            assert!(base.starts_with("http://127.0.0.1:"), "{line}");
            cluster.controllers.push(Controller { proc, base });
        }
        for i in 0..shape.invokers {
            let args = cluster.invoker_args(i);
            let (proc, _) = Proc::spawn(
                &format!("invoker{i}"),
                args,
                cluster.tmp.path(),
                "Whirl invoker",
            );
            cluster.watchdog.watch(proc.pid());
            let mut invoker = Invoker {
                proc,
                health_port: 0,
            };
            invoker.read_health_port();
            cluster.invokers.push(invoker);
        }
        cluster.wait_invokers(shape.invokers, "up");
        cluster
    }

    fn controller_args(&self, i: usize, port: u16) -> Vec<String> {
        let data = self.tmp.path().join(format!("controller{i}"));
        vec![
            "controller".into(),
            "--port".into(),
            port.to_string(),
            "--controller-id".into(),
            i.to_string(),
            "--controllers".into(),
            self.shape.controllers.to_string(),
            "--data-dir".into(),
            data.display().to_string(),
            "--store-url".into(),
            self.store_url.clone(),
            "--bus-url".into(),
            self.bus_url.clone(),
        ]
    }

    fn invoker_args(&self, i: usize) -> Vec<String> {
        let data = self.tmp.path().join(format!("invoker{i}"));
        let api_host = self
            .controllers
            .first()
            .map(|c| c.base.clone())
            .unwrap_or_else(|| "http://127.0.0.1:9".into());
        vec![
            "invoker".into(),
            "--invoker-id".into(),
            i.to_string(),
            "--api-host".into(),
            api_host,
            "--stem-cells".into(),
            "none".into(),
            "--user-memory-mb".into(),
            self.shape.user_memory_mb.to_string(),
            "--health-port".into(),
            "0".into(),
            "--data-dir".into(),
            data.display().to_string(),
            "--store-url".into(),
            self.store_url.clone(),
            "--bus-url".into(),
            self.bus_url.clone(),
        ]
    }

    /// A guest client of controller `c`.
    pub fn guest(&self, c: usize) -> Api {
        self.api(c, GUEST_KEY)
    }

    /// A client of controller `c` with key `uuid:key`.
    pub fn api(&self, c: usize, key: &str) -> Api {
        Api::new(&self.controllers[c].base, key)
    }

    /// `GET /invokers` of controller `c`.
    pub fn invokers_of(&self, c: usize) -> Value {
        let r = self.guest(c).get("/invokers");
        assert_eq!(r.status, 200, "GET /invokers: {}", r.text);
        r.body
    }

    /// Wait until every running controller shows `n` invokers in `state`.
    #[track_caller]
    pub fn wait_invokers(&self, n: usize, state: &str) {
        for c in 0..self.controllers.len() {
            if self.controllers[c].proc.child.is_none() {
                continue;
            }
            eventually_or(
                &format!("controller{c} shows {n} invokers {state}"),
                || {
                    let body = self.invokers_of(c);
                    body.as_object()
                        .map(|m| m.values().filter(|v| *v == state).count())
                        == Some(n)
                },
                || format!("GET /invokers: {}\n{}", self.invokers_of(c), self.logs()),
            );
        }
    }

    /// Wait until every running controller shows invoker `i` in `state`.
    #[track_caller]
    pub fn wait_invoker_state(&self, i: usize, state: &str) {
        let key = format!("invoker{i}/{i}");
        for c in 0..self.controllers.len() {
            if self.controllers[c].proc.child.is_none() {
                continue;
            }
            eventually_or(
                &format!("controller{c} shows {key} {state}"),
                || self.invokers_of(c)[&key] == state,
                || format!("GET /invokers: {}", self.invokers_of(c)),
            );
        }
    }

    /// `kill -9` invoker `i`.
    pub fn kill_invoker(&mut self, i: usize) {
        self.invokers[i].proc.kill9();
    }

    /// SIGTERM invoker `i` (it removes its sandboxes) and wait for it to exit.
    pub fn stop_invoker(&mut self, i: usize) {
        let clean = self.invokers[i].proc.terminate(HANG_GUARD);
        assert!(clean, "invoker{i} did not stop on SIGTERM");
    }

    /// Start invoker `i` again: same id and data dir.
    pub fn restart_invoker(&mut self, i: usize) {
        let inv = &mut self.invokers[i];
        inv.proc.launch("Whirl invoker");
        inv.read_health_port();
        self.watchdog.watch(inv.proc.pid());
    }

    /// `kill -9` controller `c`.
    pub fn kill_controller(&mut self, c: usize) {
        self.controllers[c].proc.kill9();
    }

    /// Start controller `c` again on its port.
    pub fn restart_controller(&mut self, c: usize) {
        let port: u16 = self.controllers[c]
            .base
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("port");
        let args = self.controller_args(c, port);
        let ctl = &mut self.controllers[c];
        ctl.proc.args = args;
        let line = ctl.proc.launch("API host: ");
        assert!(line.ends_with(&format!(":{port}")), "{line}");
        self.watchdog.watch(ctl.proc.pid());
    }

    /// Run `whirl admin --store-url URL <args>`; asserts success and returns stdout.
    pub fn admin(&self, args: &[&str]) -> String {
        let out: Output = Command::new(whirl_bin())
            .arg("admin")
            .args(["--store-url", &self.store_url])
            .args(args)
            .env_remove("WHIRL_DATA_DIR")
            .env_remove("WHIRL_STORE_URL")
            .env_remove("WHIRL_CONFIG")
            .stdin(Stdio::null())
            .output()
            .expect("run whirl admin");
        assert!(
            out.status.success(),
            "whirl admin {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf8")
    }

    /// Create namespace `name` and return its `uuid:key` once both controllers accept it.
    pub fn create_namespace(&self, name: &str) -> String {
        let key = self
            .admin(&["namespace", "create", name])
            .trim()
            .to_string();
        assert_eq!(key.split(':').count(), 2, "admin printed {key:?}");
        for c in 0..self.controllers.len() {
            let api = self.api(c, &key);
            eventually("the new key authenticates", || {
                api.get("/api/v1/namespaces").status == 200
            });
        }
        key
    }

    /// The logs of every process, for assertion messages.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        for c in &self.controllers {
            out.push_str(&tail(&c.proc.all_logs(), 60));
            out.push('\n');
        }
        for i in &self.invokers {
            out.push_str(&tail(&i.proc.all_logs(), 60));
            out.push('\n');
        }
        out
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // SIGTERM to all first (in parallel), so the invokers remove their sandboxes.
        let all: Vec<&mut Proc> = self
            .controllers
            .iter_mut()
            .map(|c| &mut c.proc)
            .chain(self.invokers.iter_mut().map(|i| &mut i.proc))
            .collect();
        for p in &all {
            if let Some(c) = p.child.as_ref() {
                let _ = Command::new("kill")
                    .args(["-TERM", &c.id().to_string()])
                    .status();
            }
        }
        for p in all {
            p.terminate(Duration::from_secs(20));
        }
        self.watchdog.dismiss();
    }
}

/// The last `n` lines of `text`.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// The cluster most tests share (those that break nothing). Its processes are stopped by the
/// watchdog when the test binary exits.
pub fn shared() -> &'static Cluster {
    static SHARED: OnceLock<Cluster> = OnceLock::new();
    SHARED.get_or_init(Cluster::start)
}

/// Poll `cond` until it holds, guarded against hanging forever.
#[track_caller]
pub fn eventually(what: &str, cond: impl FnMut() -> bool) {
    eventually_or(what, cond, String::new);
}

/// [`eventually`] with details for the failure message.
#[track_caller]
pub fn eventually_or(what: &str, mut cond: impl FnMut() -> bool, details: impl FnOnce() -> String) {
    let start = Instant::now();
    while !cond() {
        if start.elapsed() > HANG_GUARD {
            panic!("timed out waiting until {what}\n{}", details());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `Basic base64(uuid:key)`.
pub fn basic(key: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(key)
    )
}

/// A response: status, body text and the body parsed as JSON (`Null` if not JSON); status 0
/// when the request failed without a response (connection refused or reset, timeout).
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub text: String,
    pub body: Value,
    pub activation_id: Option<String>,
}

impl Resp {
    /// `response.result` of an API-form activation body.
    pub fn result(&self) -> &Value {
        &self.body["response"]["result"]
    }
}

/// A client bound to one controller and one key.
#[derive(Debug, Clone)]
pub struct Api {
    pub base: String,
    pub key: String,
    http: Client,
}

impl Api {
    pub fn new(base: &str, key: &str) -> Api {
        Api {
            base: base.to_string(),
            key: key.to_string(),
            // Longer than the 60 s maximum blocking wait: a hang shows as status 0.
            http: Client::builder()
                .timeout(Duration::from_secs(90))
                .build()
                .expect("http client"),
        }
    }

    pub fn get(&self, path: &str) -> Resp {
        self.send(Method::GET, path, None)
    }

    pub fn put(&self, path: &str, body: &Value) -> Resp {
        self.send(Method::PUT, path, Some(body.to_string().into_bytes()))
    }

    pub fn post(&self, path: &str, body: &Value) -> Resp {
        self.send(Method::POST, path, Some(body.to_string().into_bytes()))
    }

    pub fn delete(&self, path: &str) -> Resp {
        self.send(Method::DELETE, path, None)
    }

    /// A request; transport failures give status 0 with the error as text.
    pub fn send(&self, method: Method, path: &str, body: Option<Vec<u8>>) -> Resp {
        let mut rb = self.http.request(method, format!("{}{}", self.base, path));
        if !self.key.is_empty() {
            rb = rb.header("authorization", basic(&self.key));
        }
        if let Some(b) = body {
            rb = rb.header("content-type", "application/json").body(b);
        }
        match rb.send() {
            Ok(r) => {
                let status = r.status().as_u16();
                let activation_id = r
                    .headers()
                    .get("x-openwhisk-activation-id")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                let text = r.text().unwrap_or_default();
                let body = serde_json::from_str(&text).unwrap_or(Value::Null);
                Resp {
                    status,
                    text,
                    body,
                    activation_id,
                }
            }
            Err(e) => Resp {
                status: 0,
                text: e.to_string(),
                body: Value::Null,
                activation_id: None,
            },
        }
    }

    /// Create or replace action `name` in the caller's namespace.
    #[track_caller]
    pub fn action(&self, name: &str, body: &Value) -> Value {
        let r = self.put(&format!("{NS}/actions/{name}?overwrite=true"), body);
        assert_eq!(r.status, 200, "create action {name}: {}", r.text);
        r.body
    }

    /// POST `…/actions/{name}?{query}` with `payload`.
    pub fn invoke(&self, name: &str, query: &str, payload: &Value) -> Resp {
        let q = if query.is_empty() {
            String::new()
        } else {
            format!("?{query}")
        };
        self.post(&format!("{NS}/actions/{name}{q}"), payload)
    }

    /// A blocking invoke that must succeed; the result.
    #[track_caller]
    pub fn call_ok(&self, name: &str, payload: &Value) -> Value {
        let r = self.invoke(name, "blocking=true", payload);
        assert_eq!(r.status, 200, "invoke {name} via {}: {}", self.base, r.text);
        r.result().clone()
    }

    /// A non-blocking invoke that must be accepted; its activation id.
    #[track_caller]
    pub fn start(&self, name: &str, payload: &Value) -> String {
        let r = self.invoke(name, "", payload);
        assert_eq!(r.status, 202, "non-blocking invoke {name}: {}", r.text);
        r.body["activationId"]
            .as_str()
            .expect("activationId")
            .to_string()
    }

    /// GET activation `id`: the record, or `None` while there is none (404).
    #[track_caller]
    pub fn record(&self, id: &str) -> Option<Value> {
        let r = self.get(&format!("{NS}/activations/{id}"));
        match r.status {
            200 => Some(r.body),
            404 => None,
            _ => panic!("GET activation {id}: {} {}", r.status, r.text),
        }
    }

    /// Poll GET activation `id` until its record exists.
    #[track_caller]
    pub fn wait_record(&self, id: &str) -> Value {
        let mut rec = None;
        eventually(&format!("activation {id} is recorded"), || {
            rec = self.record(id);
            rec.is_some()
        });
        rec.expect("record")
    }
}

/// A nodejs action.
pub fn node(code: &str) -> Value {
    json!({"exec": {"kind": "nodejs:default", "code": code}})
}

/// The cgroup owner directories of whirl process `pid` (`<mount>/whirl/<pid>-<start>` in every
/// hierarchy, cgroup v1 or v2).
pub fn sandbox_owners(pid: u32) -> Vec<PathBuf> {
    let prefix = format!("{pid}-");
    let root = Path::new("/sys/fs/cgroup");
    let mut parents = vec![root.join("whirl")];
    if let Ok(rd) = std::fs::read_dir(root) {
        parents.extend(rd.flatten().map(|e| e.path().join("whirl")));
    }
    let mut out = Vec::new();
    for parent in parents {
        let Ok(rd) = std::fs::read_dir(&parent) else {
            continue;
        };
        for e in rd.flatten() {
            if e.file_name().to_string_lossy().starts_with(&prefix) {
                out.push(e.path());
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The container ids (leaf cgroups) of whirl process `pid`'s sandboxes.
pub fn containers_of(pid: u32) -> std::collections::BTreeSet<String> {
    sandbox_owners(pid)
        .iter()
        .flat_map(|d| std::fs::read_dir(d).into_iter().flatten().flatten())
        .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

/// What invoker `i`'s durable consumer holds, as the NATS server sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Queue {
    /// Delivered and not acknowledged yet.
    pub ack_pending: u64,
    /// Not delivered yet.
    pub pending: u64,
}

impl Cluster {
    /// Invoker `i`'s queue (its JetStream consumer), through a connection of the test's own.
    pub fn queue(&self, i: usize) -> Queue {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let client = async_nats::connect(&self.bus_url)
                .await
                .expect("connect to NATS");
            let consumer: async_nats::jetstream::consumer::PullConsumer =
                async_nats::jetstream::new(client)
                    .get_stream(format!("whirl-invoker{i}"))
                    .await
                    .expect("the invoker's stream")
                    .get_consumer(&format!("invoker{i}"))
                    .await
                    .expect("the invoker's consumer");
            let info = consumer.get_info().await.expect("consumer info");
            Queue {
                ack_pending: u64::try_from(info.num_ack_pending).unwrap_or(u64::MAX),
                pending: info.num_pending,
            }
        })
    }
}

impl Cluster {
    /// Lift the throttles of namespace `ns` (whose key is `key`) for a load, and wait until both
    /// controllers apply them (they cache identities briefly).
    pub fn lift_limits(&self, ns: &str, key: &str) {
        self.admin(&[
            "namespace",
            "limits",
            "set",
            ns,
            "--invocations-per-minute",
            "100000",
            "--concurrent-invocations",
            "10000",
        ]);
        for c in 0..self.controllers.len() {
            if self.controllers[c].proc.child.is_none() {
                continue;
            }
            let api = self.api(c, key);
            eventually("the lifted limits apply", || {
                api.get(&format!("{NS}/limits")).body["concurrentInvocations"].as_u64()
                    == Some(10000)
            });
        }
    }
}
