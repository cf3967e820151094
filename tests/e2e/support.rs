//! The harness: starts the real `whirl standalone` binary on a free port with its own data dir,
//! and talks to it over HTTP like a user would.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use reqwest::blocking::Client;
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::Value;

#[path = "../common/standalone.rs"]
mod standalone;

/// The well-known development key of `guest` (spec §1.8).
pub const GUEST_KEY: &str =
    "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP";

/// `/api/v1/namespaces/_`: the caller's namespace.
pub const NS: &str = "/api/v1/namespaces/_";

/// Guards against a hung server, not a performance threshold.
const HANG_GUARD: Duration = Duration::from_secs(60);

/// The `whirl` binary under test.
pub fn whirl_bin() -> &'static str {
    env!("CARGO_BIN_EXE_whirl")
}

/// A running `whirl standalone`; killed (SIGKILL) on drop.
#[derive(Debug)]
pub struct Server {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    pub port: u16,
    /// The data dir (inside `tmp`).
    pub data_dir: PathBuf,
    tmp: Option<tempfile::TempDir>,
    starts: u32,
}

impl Server {
    /// A server on a fresh, empty data dir.
    pub fn start() -> Server {
        let tmp = tempfile::Builder::new()
            .prefix("whirl-e2e-")
            .tempdir()
            .expect("tempdir");
        let data_dir = tmp.path().join("data");
        Self::spawn(tmp, data_dir, 0)
    }

    fn spawn(tmp: tempfile::TempDir, data_dir: PathBuf, starts: u32) -> Server {
        let mut cmd = Command::new(whirl_bin());
        cmd.args([
            "standalone",
            "--port",
            "0",
            "--stem-cells",
            "none",
            "--data-dir",
        ])
        .arg(&data_dir)
        .env_remove("WHIRL_HOST")
        .env_remove("WHIRL_PORT")
        .env_remove("WHIRL_DATA_DIR");
        let log = tmp.path().join(format!("server-{starts}.log"));
        let (child, base, port) = standalone::start(cmd, &log, HANG_GUARD);
        Server {
            child: Some(child),
            base,
            port,
            data_dir,
            tmp: Some(tmp),
            starts,
        }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// `kill -9` the server and wait for it to be gone.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let status = Command::new("kill")
                .args(["-9", &c.id().to_string()])
                .status()
                .expect("kill");
            assert!(status.success());
            let _ = c.wait();
        }
    }

    /// Kill the server with SIGKILL and start a new one on the same data dir.
    pub fn restart(mut self) -> Server {
        self.kill9();
        let tmp = self.tmp.take().expect("tempdir");
        let data_dir = self.data_dir.clone();
        Self::spawn(tmp, data_dir, self.starts + 1)
    }

    /// The stderr log of the current server process.
    pub fn log(&self) -> String {
        let dir = self.tmp.as_ref().expect("tempdir").path();
        std::fs::read_to_string(dir.join(format!("server-{}.log", self.starts))).unwrap_or_default()
    }

    /// The concrete default kind of a runtime family (`nodejs` → `nodejs:20`), from `GET /`:
    /// the platform offers the runtimes it finds on the machine.
    pub fn default_kind(&self, family: &str) -> String {
        let info = self.anon().get("/").ok();
        let kinds = info["runtimes"][family]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let k = kinds
            .iter()
            .find(|k| k["default"] == true)
            .unwrap_or_else(|| panic!("no default {family} kind in GET /: {}", info["runtimes"]));
        k["kind"].as_str().expect("kind").to_string()
    }

    /// A client with the guest key.
    pub fn guest(&self) -> Api {
        self.api(Some(GUEST_KEY))
    }

    /// A client with the given `uuid:key` (or none).
    pub fn api(&self, key: Option<&str>) -> Api {
        Api {
            base: self.base.clone(),
            auth: key.map(str::to_string),
            http: http_client(),
        }
    }

    /// A client without credentials.
    pub fn anon(&self) -> Api {
        self.api(None)
    }

    /// Run `whirl admin --data-dir D <args>`.
    pub fn admin(&self, args: &[&str]) -> Output {
        admin(&self.data_dir, args)
    }

    /// Create namespace `name` with `whirl admin` and return its `uuid:key` once the server
    /// accepts it.
    pub fn create_namespace(&self, name: &str) -> String {
        let out = self.admin(&["namespace", "create", name]);
        assert!(
            out.status.success(),
            "admin namespace create {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let key = String::from_utf8(out.stdout)
            .expect("utf8")
            .trim()
            .to_string();
        assert_eq!(key.split(':').count(), 2, "admin printed {key:?}");
        let api = self.api(Some(&key));
        eventually(
            || api.get("/api/v1/namespaces").status == 200,
            "new key authenticates",
        );
        key
    }

    /// Send raw bytes on a fresh connection and parse the response (for requests an HTTP client
    /// would normalise, e.g. `..` segments, or a lying `Content-Length`).
    pub fn raw(&self, request: &[u8]) -> Resp {
        raw_request(self.port, request)
    }

    /// A raw request with the guest key; `extra` are further header lines; `body` is sent as is
    /// (give a matching `Content-Length` in `extra`).
    pub fn raw_guest(&self, method: &str, path: &str, extra: &[&str], body: &[u8]) -> Resp {
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAuthorization: {}\r\nConnection: close\r\n",
            self.port,
            basic(GUEST_KEY)
        );
        for h in extra {
            req.push_str(h);
            req.push_str("\r\n");
        }
        req.push_str("\r\n");
        let mut bytes = req.into_bytes();
        bytes.extend_from_slice(body);
        self.raw(&bytes)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Run `whirl admin --data-dir D <args>`.
pub fn admin(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(whirl_bin())
        .arg("admin")
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env_remove("WHIRL_DATA_DIR")
        .stdin(Stdio::null())
        .output()
        .expect("run whirl admin")
}

/// Poll `cond` until it holds (guarded against hanging forever).
pub fn eventually(mut cond: impl FnMut() -> bool, what: &str) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "timed out waiting until {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn http_client() -> Client {
    Client::builder()
        .timeout(HANG_GUARD)
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

    /// The `error` field of an error body.
    pub fn error(&self) -> &str {
        self.body["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no error message in {} {}", self.status, self.text))
    }

    /// Assert status and exact error message, and the `{"error","code"}` shape with
    /// `code` = `X-Request-ID`.
    #[track_caller]
    pub fn assert_error(&self, status: u16, message: &str) {
        assert_eq!(self.status, status, "status of response {}", self.text);
        assert_eq!(self.error(), message, "message of response {}", self.text);
        self.assert_error_shape();
    }

    /// Assert the error body shape only.
    #[track_caller]
    pub fn assert_error_shape(&self) {
        let obj = self
            .body
            .as_object()
            .unwrap_or_else(|| panic!("error body is not an object: {}", self.text));
        assert!(obj["error"].is_string(), "error field: {}", self.text);
        let code = obj["code"]
            .as_str()
            .unwrap_or_else(|| panic!("code field: {}", self.text));
        assert_eq!(
            Some(code),
            self.header("x-request-id"),
            "code equals X-Request-ID"
        );
        assert_eq!(obj.len(), 2, "only error and code: {}", self.text);
    }

    #[track_caller]
    pub fn ok(self) -> Value {
        assert_eq!(
            self.status, 200,
            "expected 200, got {}: {}",
            self.status, self.text
        );
        self.body
    }
}

/// A client bound to one server and one key.
#[derive(Debug, Clone)]
pub struct Api {
    pub base: String,
    pub auth: Option<String>,
    http: Client,
}

impl Api {
    pub fn get(&self, path: &str) -> Resp {
        self.send(Method::GET, path, &[], None)
    }

    pub fn delete(&self, path: &str) -> Resp {
        self.send(Method::DELETE, path, &[], None)
    }

    pub fn put(&self, path: &str, body: &Value) -> Resp {
        self.send(
            Method::PUT,
            path,
            &[("content-type", "application/json")],
            Some(body.to_string().into_bytes()),
        )
    }

    pub fn post(&self, path: &str, body: &Value) -> Resp {
        self.send(
            Method::POST,
            path,
            &[("content-type", "application/json")],
            Some(body.to_string().into_bytes()),
        )
    }

    /// PUT raw bytes as `application/json`.
    pub fn put_raw(&self, path: &str, body: impl Into<Vec<u8>>) -> Resp {
        self.send(
            Method::PUT,
            path,
            &[("content-type", "application/json")],
            Some(body.into()),
        )
    }

    pub fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Resp {
        let mut rb = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(k) = &self.auth {
            rb = rb.header("authorization", basic(k));
        }
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        if let Some(b) = body {
            rb = rb.body(b);
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
}

fn raw_request(port: u16, request: &[u8]) -> Resp {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(HANG_GUARD)).expect("timeout");
    s.write_all(request).expect("write request");
    s.flush().expect("flush");
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i;
        }
        let n = s.read(&mut chunk).expect("read response head");
        assert!(
            n > 0,
            "connection closed before a response: {}",
            String::from_utf8_lossy(&buf)
        );
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("status line");
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status code");
    let mut headers = HeaderMap::new();
    for l in lines {
        if let Some((k, v)) = l.split_once(':') {
            headers.append(
                reqwest::header::HeaderName::from_bytes(k.trim().as_bytes()).expect("header name"),
                reqwest::header::HeaderValue::from_str(v.trim()).expect("header value"),
            );
        }
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("content-length on raw response");
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < len {
        let n = s.read(&mut chunk).expect("read response body");
        assert!(n > 0, "connection closed mid-body");
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(len);
    let text = String::from_utf8_lossy(&body).into_owned();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Resp {
        status,
        headers,
        text,
        body,
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Value of annotation/parameter `key` in a `[{key, value}]` array.
pub fn kv<'a>(arr: &'a Value, key: &str) -> Option<&'a Value> {
    arr.as_array()?
        .iter()
        .find(|e| e["key"] == key)
        .map(|e| &e["value"])
}

/// The keys of a `[{key, value}]` array, in order.
pub fn kv_keys(arr: &Value) -> Vec<String> {
    arr.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e["key"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The `name`s of a list response, in order.
pub fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|e| e["name"].as_str().expect("name").to_string())
        .collect()
}

/// A minimal nodejs action body.
pub fn node_action(code: &str) -> Value {
    serde_json::json!({"exec": {"kind": "nodejs:default", "code": code}})
}

/// Create a nodejs action `path` (e.g. `hello` or `pkg/hello`) in the caller's namespace.
pub fn create_action(api: &Api, path: &str) -> Value {
    api.put(
        &format!("{NS}/actions/{path}"),
        &node_action("function main(p) { return p }"),
    )
    .ok()
}

/// The patch number of a `x.y.z` version.
pub fn patch(version: &Value) -> u64 {
    version
        .as_str()
        .and_then(|v| v.rsplit('.').next())
        .and_then(|p| p.parse().ok())
        .expect("semver")
}

/// Write activation records straight into the server's database (the server cannot run code in
/// this issue). The server has the same WAL database open; SQLite arbitrates.
pub fn store_activations(server: &Server, records: Vec<whirl_store::ActivationRecord>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let stores =
            whirl_store::sqlite::open(&server.data_dir.join("whirl.db")).expect("open store");
        for r in records {
            stores.activations.put(r).await.expect("put activation");
        }
    });
}

/// A realistic stored activation record of action `ns[/pkg]/name` invoked by `ns`.
pub fn activation_record(
    ns: &str,
    pkg: Option<&str>,
    name: &str,
    start: i64,
    status_code: u8,
    result: Value,
) -> whirl_store::ActivationRecord {
    let id = whirl_core::ids::new_activation_id();
    let path = match pkg {
        Some(p) => format!("{ns}/{p}/{name}"),
        None => format!("{ns}/{name}"),
    };
    let size = result.to_string().len();
    let end = start + 7;
    let doc = serde_json::json!({
        "activationId": id,
        "namespace": ns,
        "name": name,
        "version": "0.0.1",
        "subject": ns,
        "publish": false,
        "start": start,
        "end": end,
        "duration": 7,
        "response": {"statusCode": status_code, "result": result, "size": size},
        "logs": [
            "2024-01-01T00:00:00.000000001Z stdout: hello from the action",
            "2024-01-01T00:00:00.000000002Z stderr: a warning",
        ],
        "annotations": [
            {"key": "path", "value": path},
            {"key": "kind", "value": "nodejs:20"},
            {"key": "limits", "value": {"timeout": 60000, "memory": 256, "logs": 10, "concurrency": 1}},
            {"key": "timeout", "value": false},
            {"key": "waitTime", "value": 3},
            {"key": "initTime", "value": 2},
        ],
    });
    whirl_store::ActivationRecord {
        activation_id: id,
        namespace: ns.to_string(),
        entity_path: path,
        start,
        end,
        doc: whirl_store::SharedJson::to_shared(&doc).expect("a record serialises"),
    }
}

/// The stored document of a record, as a JSON tree.
pub fn doc_of(r: &whirl_store::ActivationRecord) -> Value {
    r.doc.parse().expect("stored records are JSON")
}

/// `npm ci` in `dir` unless `marker` (a path in it) exists: a fresh clone installs the locked
/// packages once (CI does this in .ci/run). Tests run in parallel: one installs, others wait.
pub fn npm_ci(dir: &Path, marker: &str) {
    static INSTALL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _installing = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    if !dir.join(marker).exists() {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(dir)
            .status()
            .expect("run npm (is Node.js with npm installed?)");
        assert!(
            status.success(),
            "`npm ci` in {} failed: {status}",
            dir.display()
        );
    }
    assert!(
        dir.join(marker).exists(),
        "{} is missing after `npm ci`",
        dir.join(marker).display()
    );
}
