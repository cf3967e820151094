//! The harness of the invocation suite: starts the real `whirl standalone` binary (with extra
//! flags and environment) on a free port and its own data dir, drives it over HTTP, and looks at
//! the sandboxes it creates (cgroups under `/sys/fs/cgroup/<controller>/whirl/<pid>-<start>/`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use reqwest::blocking::Client;
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::{json, Value};

#[path = "../common/standalone.rs"]
mod standalone;

/// The well-known development key of `guest` (spec §1.8).
pub const GUEST_KEY: &str =
    "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP";

/// `/api/v1/namespaces/_`: the caller's namespace.
pub const NS: &str = "/api/v1/namespaces/_";

/// Guards against a hung server or action, never a performance threshold.
pub const HANG_GUARD: Duration = Duration::from_secs(90);

/// The cgroup v1 controllers whirl creates directories in.
const CONTROLLERS: &[&str] = &["memory", "pids", "cpu", "freezer", "unified"];

/// The `whirl` binary under test.
pub fn whirl_bin() -> &'static str {
    env!("CARGO_BIN_EXE_whirl")
}

/// How to start a server: `whirl standalone --port 0 --data-dir D` plus these flags and env.
/// Stem cells are off unless asked for (`--stem-cells none`), so tests see only their containers.
#[derive(Debug, Clone)]
pub struct Builder {
    args: Vec<String>,
    env: Vec<(String, String)>,
    stem_cells: String,
}

/// A server builder with the suite's defaults.
pub fn server() -> Builder {
    Builder {
        args: Vec::new(),
        env: Vec::new(),
        stem_cells: "none".into(),
    }
}

impl Builder {
    /// An extra flag or flag value.
    pub fn arg(mut self, a: impl Into<String>) -> Self {
        self.args.push(a.into());
        self
    }

    /// `--stem-cells SPEC`.
    pub fn stem_cells(mut self, spec: &str) -> Self {
        self.stem_cells = spec.into();
        self
    }

    /// An environment variable of the server process.
    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.env.push((k.into(), v.into()));
        self
    }

    pub fn start(self) -> Server {
        let tmp = tempfile::Builder::new()
            .prefix("whirl-invoke-")
            .tempdir()
            .expect("tempdir");
        let data_dir = tmp.path().join("data");
        Server::spawn(self, tmp, data_dir, 0)
    }
}

/// A running `whirl standalone`; killed (SIGKILL) on drop.
#[derive(Debug)]
pub struct Server {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    pub port: u16,
    pub data_dir: PathBuf,
    tmp: Option<tempfile::TempDir>,
    builder: Builder,
    starts: u32,
    pid: u32,
}

impl Server {
    fn spawn(builder: Builder, tmp: tempfile::TempDir, data_dir: PathBuf, starts: u32) -> Server {
        let log_path = tmp.path().join(format!("server-{starts}.log"));
        let mut cmd = Command::new(whirl_bin());
        cmd.args(["standalone", "--port", "0", "--data-dir"])
            .arg(&data_dir)
            .args(["--stem-cells", &builder.stem_cells])
            .args(&builder.args);
        for k in [
            "WHIRL_HOST",
            "WHIRL_PORT",
            "WHIRL_DATA_DIR",
            "WHIRL_USER_MEMORY_MB",
            "WHIRL_STEM_CELLS",
            "WHIRL_PAUSE_GRACE_SECS",
            "WHIRL_IDLE_TIMEOUT_SECS",
            "WHIRL_ISOLATION",
        ] {
            cmd.env_remove(k);
        }
        for (k, v) in &builder.env {
            cmd.env(k, v);
        }
        let (child, base, port) = standalone::start(cmd, &log_path, HANG_GUARD);
        let pid = child.id();
        Server {
            child: Some(child),
            base,
            port,
            data_dir,
            tmp: Some(tmp),
            builder,
            starts,
            pid,
        }
    }

    /// The server's process id (of the current start).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The test's own temporary directory (holds the data dir and the server logs).
    pub fn tmp_dir(&self) -> &Path {
        self.tmp.as_ref().expect("tempdir").path()
    }

    /// The stderr log of the current server process.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.tmp_dir().join(format!("server-{}.log", self.starts)))
            .unwrap_or_default()
    }

    /// A client with the guest key.
    pub fn guest(&self) -> Api {
        self.api(GUEST_KEY)
    }

    /// A client with the given `uuid:key`.
    pub fn api(&self, key: &str) -> Api {
        Api {
            base: self.base.clone(),
            key: key.to_string(),
            http: http_client(),
        }
    }

    /// Run `whirl admin --data-dir D <args>`; asserts success.
    pub fn admin(&self, args: &[&str]) -> Output {
        let out = Command::new(whirl_bin())
            .arg("admin")
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(args)
            .env_remove("WHIRL_DATA_DIR")
            .stdin(Stdio::null())
            .output()
            .expect("run whirl admin");
        assert!(
            out.status.success(),
            "whirl admin {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Create namespace `name` and return its `uuid:key` once the server accepts it.
    pub fn create_namespace(&self, name: &str) -> String {
        let out = self.admin(&["namespace", "create", name]);
        let key = String::from_utf8(out.stdout)
            .expect("utf8")
            .trim()
            .to_string();
        assert_eq!(key.split(':').count(), 2, "admin printed {key:?}");
        let api = self.api(&key);
        eventually("the new key authenticates", || {
            api.get("/api/v1/namespaces").status == 200
        });
        key
    }

    /// Set limits of `guest` with `whirl admin` and wait until the server applies them (the
    /// server caches identities briefly). `expect` is `(limits key, value)` as GET limits shows it.
    pub fn set_guest_limits(&self, flags: &[&str], expect: (&str, u64)) {
        let mut args = vec!["namespace", "limits", "set", "guest"];
        args.extend_from_slice(flags);
        self.admin(&args);
        let api = self.guest();
        eventually("the new limits take effect", || {
            api.get(&format!("{NS}/limits")).body[expect.0].as_u64() == Some(expect.1)
        });
    }

    /// Send SIGTERM and wait (bounded) for the server to exit.
    pub fn terminate(&mut self) -> ExitStatus {
        let mut c = self.child.take().expect("server running");
        signal(c.id(), "TERM");
        let start = Instant::now();
        loop {
            if let Some(st) = c.try_wait().expect("wait") {
                return st;
            }
            if start.elapsed() > HANG_GUARD {
                let _ = c.kill();
                let _ = c.wait();
                panic!("server did not exit after SIGTERM; log:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `kill -9` the server and reap it.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            signal(c.id(), "KILL");
            let _ = c.wait();
        }
    }

    /// Start the server again (same flags, same data dir) after it was stopped.
    pub fn restart(mut self) -> Server {
        assert!(self.child.is_none(), "stop the server first");
        let tmp = self.tmp.take().expect("tempdir");
        Server::spawn(
            self.builder.clone(),
            tmp,
            self.data_dir.clone(),
            self.starts + 1,
        )
    }

    /// The cgroup owner directories of this server process (`<mount>/whirl/<pid>-<start>`), in
    /// every controller.
    pub fn owner_dirs(&self) -> Vec<PathBuf> {
        owner_dirs_of(self.pid)
    }

    /// The container cgroups (leaf directories) of this server in the memory controller.
    pub fn containers(&self) -> Vec<String> {
        containers_of(self.pid)
    }

    /// `(pid, start time)` of every process in this server's sandboxes.
    pub fn sandbox_processes(&self) -> Vec<(u32, String)> {
        let mut out = Vec::new();
        for dir in owner_dirs_of(self.pid)
            .iter()
            .filter(|d| d.starts_with("/sys/fs/cgroup/pids"))
        {
            for leaf in subdirs(dir) {
                let procs = std::fs::read_to_string(leaf.join("cgroup.procs")).unwrap_or_default();
                for p in procs.lines().filter_map(|l| l.trim().parse::<u32>().ok()) {
                    if let Some(st) = start_time(p) {
                        out.push((p, st));
                    }
                }
            }
        }
        out
    }

    /// The CPU share of each container cgroup: `(container id, cpu.shares)` (cgroup v1; on v2
    /// the `cpu.weight`).
    pub fn cpu_shares(&self) -> Vec<(String, u64)> {
        let mut out = Vec::new();
        for dir in owner_dirs_of(self.pid) {
            let file = if dir.starts_with("/sys/fs/cgroup/cpu") {
                "cpu.shares"
            } else if dir.starts_with("/sys/fs/cgroup/unified")
                || !dir.starts_with("/sys/fs/cgroup/memory")
            {
                "cpu.weight"
            } else {
                continue;
            };
            for leaf in subdirs(&dir) {
                if let Some(v) = std::fs::read_to_string(leaf.join(file))
                    .ok()
                    .and_then(|v| v.trim().parse().ok())
                {
                    out.push((file_name(&leaf), v));
                }
            }
        }
        out
    }

    /// `freezer.state` of each container cgroup: `(container id, state)`.
    pub fn freezer_states(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for dir in owner_dirs_of(self.pid)
            .iter()
            .filter(|d| d.starts_with("/sys/fs/cgroup/freezer"))
        {
            for leaf in subdirs(dir) {
                let st = std::fs::read_to_string(leaf.join("freezer.state")).unwrap_or_default();
                out.push((file_name(&leaf), st.trim().to_string()));
            }
        }
        out
    }

    /// VmRSS of the server in kB.
    pub fn rss_kb(&self) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid)).expect("server status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .expect("VmRSS")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SIGTERM first so the server removes its sandboxes; SIGKILL if it hangs.
            signal(c.id(), "TERM");
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(20) {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn signal(pid: u32, sig: &str) {
    let st = Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status()
        .expect("kill");
    assert!(st.success(), "kill -{sig} {pid}");
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn subdirs(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    rd.flatten()
        .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
        .map(|e| e.path())
        .collect()
}

/// `<mount>/whirl/<pid>-*` for every controller.
pub fn owner_dirs_of(pid: u32) -> Vec<PathBuf> {
    let prefix = format!("{pid}-");
    let mut out = Vec::new();
    for c in CONTROLLERS {
        for d in subdirs(&Path::new("/sys/fs/cgroup").join(c).join("whirl")) {
            if file_name(&d).starts_with(&prefix) {
                out.push(d);
            }
        }
    }
    out
}

/// Container cgroups of server `pid` in the memory controller.
pub fn containers_of(pid: u32) -> Vec<String> {
    let mut out: Vec<String> = owner_dirs_of(pid)
        .iter()
        .filter(|d| d.starts_with("/sys/fs/cgroup/memory"))
        .flat_map(|d| subdirs(d))
        .map(|d| file_name(&d))
        .collect();
    out.sort();
    out
}

/// Field 22 (start time) of `/proc/<pid>/stat`, if the process exists.
pub fn start_time(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    // After the command: state is field 3; start time is field 22.
    after.split_whitespace().nth(19).map(str::to_string)
}

/// Whether process `(pid, start time)` is still alive (and not a zombie).
pub fn alive(p: &(u32, String)) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{}/stat", p.0)) else {
        return false;
    };
    let Some((_, after)) = stat.rsplit_once(')') else {
        return false;
    };
    let mut f = after.split_whitespace();
    let state = f.next().unwrap_or("");
    let st = f.nth(18).unwrap_or("");
    st == p.1 && state != "Z" && state != "X"
}

/// Poll `cond` until it holds, guarded against hanging forever.
#[track_caller]
pub fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < HANG_GUARD,
            "timed out waiting until {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn http_client() -> Client {
    // Longer than the 60 s maximum blocking wait.
    Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .expect("http client")
}

/// `Basic base64(uuid:key)`.
pub fn basic(key: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(key)
    )
}

/// A response: status, headers, body text and the body parsed as JSON (`Null` if not JSON).
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    pub body: Value,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Assert status and exact error message of an error body `{"error","code"}`.
    #[track_caller]
    pub fn assert_error(&self, status: u16, message: &str) {
        assert_eq!(self.status, status, "status of response {}", self.text);
        assert_eq!(
            self.body["error"].as_str(),
            Some(message),
            "message of response {}",
            self.text
        );
        assert!(self.body["code"].is_string(), "code field: {}", self.text);
    }

    /// The `x-openwhisk-activation-id` header (asserted present).
    #[track_caller]
    pub fn activation_header(&self) -> String {
        self.header("x-openwhisk-activation-id")
            .unwrap_or_else(|| {
                panic!(
                    "no x-openwhisk-activation-id on {} {}",
                    self.status, self.text
                )
            })
            .to_string()
    }

    /// `response.result` of an API-form activation body.
    pub fn result(&self) -> &Value {
        &self.body["response"]["result"]
    }
}

/// A client bound to one server and one key.
#[derive(Debug, Clone)]
pub struct Api {
    pub base: String,
    pub key: String,
    http: Client,
}

impl Api {
    pub fn get(&self, path: &str) -> Resp {
        self.send(Method::GET, path, None)
    }

    pub fn put(&self, path: &str, body: &Value) -> Resp {
        self.send(Method::PUT, path, Some(body.to_string().into_bytes()))
    }

    pub fn post(&self, path: &str, body: &Value) -> Resp {
        self.send(Method::POST, path, Some(body.to_string().into_bytes()))
    }

    /// POST raw bytes as `application/json`.
    pub fn post_raw(&self, path: &str, body: Vec<u8>) -> Resp {
        self.send(Method::POST, path, Some(body))
    }

    pub fn send(&self, method: Method, path: &str, body: Option<Vec<u8>>) -> Resp {
        let mut rb = self
            .http
            .request(method, format!("{}{}", self.base, path))
            .header("authorization", basic(&self.key));
        if let Some(b) = body {
            rb = rb.header("content-type", "application/json").body(b);
        }
        let r = rb.send().unwrap_or_else(|e| panic!("request {path}: {e}"));
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            text,
            body,
        }
    }

    /// Create or replace action `path` (`name` or `pkg/name`) in the caller's namespace.
    #[track_caller]
    pub fn action(&self, path: &str, body: &Value) -> Value {
        let r = self.put(&format!("{NS}/actions/{path}?overwrite=true"), body);
        assert_eq!(r.status, 200, "create action {path}: {}", r.text);
        r.body
    }

    /// POST `…/actions/{path}?{query}` with `payload`.
    pub fn invoke(&self, path: &str, query: &str, payload: &Value) -> Resp {
        let q = if query.is_empty() {
            String::new()
        } else {
            format!("?{query}")
        };
        self.post(&format!("{NS}/actions/{path}{q}"), payload)
    }

    /// A blocking invoke (waits up to 60 s).
    pub fn call(&self, path: &str, payload: &Value) -> Resp {
        self.invoke(path, "blocking=true", payload)
    }

    /// A blocking invoke that must succeed; the result.
    #[track_caller]
    pub fn call_ok(&self, path: &str, payload: &Value) -> Value {
        let r = self.call(path, payload);
        assert_eq!(r.status, 200, "invoke {path}: {}", r.text);
        r.body["response"]["result"].clone()
    }

    /// A non-blocking invoke; its activation id.
    #[track_caller]
    pub fn start(&self, path: &str, payload: &Value) -> String {
        let r = self.invoke(path, "", payload);
        assert_eq!(r.status, 202, "non-blocking invoke {path}: {}", r.text);
        let id = r.body["activationId"]
            .as_str()
            .expect("activationId")
            .to_string();
        assert_eq!(r.activation_header(), id);
        id
    }

    /// Poll GET activation `id` until the record exists; the API form.
    #[track_caller]
    pub fn activation(&self, id: &str) -> Value {
        let mut rec = Value::Null;
        eventually(&format!("activation {id} is recorded"), || {
            let r = self.get(&format!("{NS}/activations/{id}"));
            if r.status == 200 {
                rec = r.body;
                true
            } else {
                assert_eq!(r.status, 404, "GET activation {id}: {}", r.text);
                false
            }
        });
        rec
    }

    /// The activation summaries of entity `name`, newest first.
    pub fn activations_of(&self, name: &str) -> Vec<Value> {
        let r = self.get(&format!("{NS}/activations?name={name}&limit=200"));
        assert_eq!(r.status, 200, "{}", r.text);
        r.body.as_array().cloned().unwrap_or_default()
    }
}

/// A nodejs action.
pub fn node(code: &str) -> Value {
    json!({"exec": {"kind": "nodejs:default", "code": code}})
}

/// A python action.
pub fn python(code: &str) -> Value {
    json!({"exec": {"kind": "python:default", "code": code}})
}

/// `action` with `limits` set.
pub fn limits(mut action: Value, limits: Value) -> Value {
    action["limits"] = limits;
    action
}

/// Value of annotation/parameter `key` in a `[{key, value}]` array.
pub fn kv<'a>(arr: &'a Value, key: &str) -> Option<&'a Value> {
    arr.as_array()?
        .iter()
        .find(|e| e["key"] == key)
        .map(|e| &e["value"])
}

/// Annotation `key` of an activation record.
pub fn annotation<'a>(record: &'a Value, key: &str) -> Option<&'a Value> {
    kv(&record["annotations"], key)
}

/// A zip archive (stored, no compression) of `(path, contents, executable)`, base64-encoded.
pub fn zip_base64(files: &[(&str, &str, bool)]) -> String {
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut buf);
        for (name, contents, exec) in files {
            let opts = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated)
                .unix_permissions(if *exec { 0o755 } else { 0o644 });
            z.start_file(*name, opts).expect("zip entry");
            z.write_all(contents.as_bytes()).expect("zip write");
        }
        z.finish().expect("zip finish");
    }
    base64::engine::general_purpose::STANDARD.encode(buf.into_inner())
}

/// Whether `line` is an OpenWhisk log line: `<RFC3339 with fraction>Z<spaces><stream>: <text>`.
pub fn log_line_ok(line: &str) -> Option<(&str, &str)> {
    let (ts, rest) = line.split_once(|c: char| c.is_whitespace())?;
    let b = ts.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|s| s.iter().all(u8::is_ascii_digit));
    let shape = b.len() > 21
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
        && b[19] == b'.'
        && digits(20..b.len() - 1)
        && b[b.len() - 1] == b'Z';
    if !shape {
        return None;
    }
    let rest = rest.trim_start();
    for stream in ["stdout", "stderr"] {
        if let Some(text) = rest.strip_prefix(stream).and_then(|r| r.strip_prefix(": ")) {
            return Some((stream, text));
        }
    }
    None
}
