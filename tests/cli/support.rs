//! The harness of the CLI tests: a real `whirl standalone` on a free port with its own data dir,
//! and the real `whirl` binary run as a `wsk` client in a clean environment (its own temporary
//! `HOME`, no inherited `WHISK_*`/`WSK_*` variables, nothing from the developer's `~/.wskprops`).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

#[path = "../common/standalone.rs"]
mod standalone;

/// The well-known development key of `guest`.
pub const GUEST_KEY: &str = "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:\
123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP";

/// Guards against a hung server or client, not a performance threshold.
const HANG_GUARD: Duration = Duration::from_secs(120);

/// The `whirl` binary under test.
pub fn whirl_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_whirl"))
}

/// A running `whirl standalone`; killed on drop.
#[derive(Debug)]
pub struct Server {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT` as printed on the `API host:` line.
    pub api_host: String,
    /// The port.
    pub port: u16,
    /// The data dir and the server log (removed after the server is killed).
    _tmp: tempfile::TempDir,
}

impl Server {
    /// Starts a server on a fresh data dir and waits for its `API host:` line.
    pub fn start() -> Server {
        let tmp = tempfile::Builder::new()
            .prefix("whirl-cli-srv-")
            .tempdir()
            .expect("tempdir");
        let mut cmd = Command::new(whirl_bin());
        cmd.args(["standalone", "--port", "0", "--data-dir"])
            .arg(tmp.path().join("data"))
            .env_remove("WHIRL_HOST")
            .env_remove("WHIRL_PORT")
            .env_remove("WHIRL_DATA_DIR");
        let (child, api_host, port) =
            standalone::start(cmd, &tmp.path().join("server.log"), HANG_GUARD);
        Server {
            child: Some(child),
            api_host,
            port,
            _tmp: tmp,
        }
    }

    /// A client whose `~/.wskprops` points at this server with the guest key (written with
    /// `whirl property set`).
    pub fn wsk(&self) -> Wsk {
        let w = Wsk::new();
        w.ok(&[
            "property",
            "set",
            "--apihost",
            &self.api_host,
            "--auth",
            GUEST_KEY,
        ]);
        w
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

/// What a client run produced.
#[derive(Debug, Clone)]
pub struct Out {
    /// The command line (for messages).
    pub cmd: String,
    /// Exit code (-1 when killed by a signal).
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    /// The JSON printed after an `ok: ...` header line (or the whole stdout when there is none).
    #[track_caller]
    pub fn json(&self) -> Value {
        json_after_header(&self.stdout)
            .unwrap_or_else(|| panic!("`{}` printed no JSON:\n{}", self.cmd, self.stdout))
    }

    /// The JSON printed on stderr after an optional `ok: invoked` line (failed blocking invokes).
    #[track_caller]
    pub fn stderr_json(&self) -> Value {
        json_after_header(&self.stderr)
            .unwrap_or_else(|| panic!("`{}` printed no JSON on stderr:\n{}", self.cmd, self.stderr))
    }

    /// The id of an `ok: invoked ... with id ID` / `ok: triggered ... with id ID` line.
    #[track_caller]
    pub fn id(&self) -> String {
        let text = format!("{}{}", self.stdout, self.stderr);
        let line = text
            .lines()
            .find(|l| l.starts_with("ok: invoked") || l.starts_with("ok: triggered"))
            .unwrap_or_else(|| panic!("`{}` printed no invoked/triggered line:\n{text}", self.cmd));
        let id = line
            .rsplit(" with id ")
            .next()
            .unwrap_or("")
            .trim()
            .to_string();
        assert!(
            is_activation_id(&id),
            "`{}`: no activation id in {line:?}",
            self.cmd
        );
        id
    }

    /// The request id of an `error: ... (code ID)` message.
    #[track_caller]
    pub fn request_id(&self) -> String {
        let start = self.stderr.rfind("(code ").unwrap_or_else(|| {
            panic!(
                "`{}`: no `(code ID)` in the error:\n{}",
                self.cmd, self.stderr
            )
        });
        let rest = &self.stderr[start + "(code ".len()..];
        let id = &rest[..rest.find(')').expect("closing parenthesis")];
        assert!(
            !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
            "request id {id:?}"
        );
        id.to_string()
    }
}

/// `true` for a 32 hex digit activation id.
pub fn is_activation_id(s: &str) -> bool {
    s.len() == 32 && s.chars().all(|c| c.is_ascii_hexdigit())
}

fn json_after_header(text: &str) -> Option<Value> {
    let body: Vec<&str> = text.lines().skip_while(|l| l.starts_with("ok: ")).collect();
    serde_json::from_str(body.join("\n").trim()).ok()
}

/// One client "installation": a temporary home (also the working directory) and the program
/// path (the real binary, or a `wsk` symlink to it).
#[derive(Debug)]
pub struct Wsk {
    home: tempfile::TempDir,
    program: PathBuf,
    vars: Vec<(String, String)>,
}

impl Default for Wsk {
    fn default() -> Self {
        Wsk::new()
    }
}

impl Wsk {
    /// An unconfigured client (empty home, no variables).
    pub fn new() -> Wsk {
        let home = tempfile::Builder::new()
            .prefix("whirl-cli-home-")
            .tempdir()
            .expect("tempdir");
        Wsk {
            home,
            program: whirl_bin(),
            vars: Vec::new(),
        }
    }

    /// Runs the client through a symlink named `wsk` (created in the home directory).
    pub fn via_wsk_symlink(mut self) -> Wsk {
        let dir = self.home.path().join("bin");
        std::fs::create_dir_all(&dir).expect("bin dir");
        let link = dir.join("wsk");
        std::os::unix::fs::symlink(whirl_bin(), &link).expect("symlink wsk");
        self.program = link;
        self
    }

    /// Adds an environment variable to every run.
    pub fn env(mut self, k: &str, v: &str) -> Wsk {
        self.vars.push((k.to_string(), v.to_string()));
        self
    }

    /// The home (and working) directory.
    pub fn dir(&self) -> &Path {
        self.home.path()
    }

    /// Writes a file into the home directory and returns its path.
    pub fn write(&self, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let p = self.home.path().join(name);
        std::fs::write(&p, content).expect("write file");
        p
    }

    /// Reads a file of the home directory.
    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.home.path().join(name)).expect("read file")
    }

    /// The process, with a clean environment.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.program);
        c.args(args)
            .env_clear()
            .env("HOME", self.home.path())
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .current_dir(self.home.path())
            .stdin(Stdio::null());
        for (k, v) in &self.vars {
            c.env(k, v);
        }
        c
    }

    /// Runs `whirl ARGS` to completion (guarded against hangs).
    pub fn run(&self, args: &[&str]) -> Out {
        let cmd = format!("whirl {}", args.join(" "));
        let mut child = self
            .command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn `{cmd}`: {e}"));
        let out = drain(child.stdout.take().expect("stdout"));
        let err = drain(child.stderr.take().expect("stderr"));
        let start = Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait().expect("wait") {
                break s;
            }
            if start.elapsed() > HANG_GUARD {
                let _ = child.kill();
                let _ = child.wait();
                panic!("`{cmd}` hung");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        Out {
            cmd,
            code: status.code().unwrap_or(-1),
            stdout: out.join().expect("stdout reader"),
            stderr: err.join().expect("stderr reader"),
        }
    }

    /// Runs and asserts exit code 0.
    #[track_caller]
    pub fn ok(&self, args: &[&str]) -> Out {
        let o = self.run(args);
        assert_eq!(
            o.code, 0,
            "`{}` failed:\nstdout: {}\nstderr: {}",
            o.cmd, o.stdout, o.stderr
        );
        o
    }

    /// Runs and asserts the exit code.
    #[track_caller]
    pub fn fails(&self, args: &[&str], code: i32) -> Out {
        let o = self.run(args);
        assert_eq!(
            o.code, code,
            "exit code of `{}`:\nstdout: {}\nstderr: {}",
            o.cmd, o.stdout, o.stderr
        );
        o
    }

    /// Starts a long-running client command (`activation poll`) whose output goes to a file.
    pub fn spawn(&self, args: &[&str], name: &str) -> Background {
        let path = self.home.path().join(name);
        let file = std::fs::File::create(&path).expect("output file");
        let child = self
            .command(args)
            .stdout(Stdio::from(file.try_clone().expect("clone")))
            .stderr(Stdio::from(file))
            .spawn()
            .expect("spawn");
        Background {
            child: Some(child),
            path,
        }
    }

    /// Waits until `activation get ID` succeeds and returns the record.
    #[track_caller]
    pub fn activation(&self, id: &str) -> Value {
        let mut last = None;
        eventually(
            || {
                let o = self.run(&["activation", "get", id]);
                let done = o.code == 0;
                last = Some(o);
                done
            },
            &format!("activation {id} is stored"),
        );
        last.expect("ran").json()
    }
}

fn drain(mut r: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    })
}

/// A client process running in the background; killed on drop.
#[derive(Debug)]
pub struct Background {
    child: Option<Child>,
    path: PathBuf,
}

impl Background {
    /// Output so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.path).unwrap_or_default()
    }

    /// Waits until the output contains `text`.
    #[track_caller]
    pub fn wait_for(&self, text: &str) {
        eventually(
            || self.output().contains(text),
            &format!("output contains {text:?}"),
        );
    }

    /// Waits for the process to exit by itself; returns its exit code.
    #[track_caller]
    pub fn wait(&mut self) -> i32 {
        let mut child = self.child.take().expect("running");
        let start = Instant::now();
        loop {
            if let Some(s) = child.try_wait().expect("wait") {
                return s.code().unwrap_or(-1);
            }
            if start.elapsed() > HANG_GUARD {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "background command did not exit; output:\n{}",
                    self.output()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends `signal` (a `kill` name such as `INT`) to the process.
    pub fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("running").id();
        let st = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .status()
            .expect("kill");
        assert!(st.success(), "kill -{signal} {pid}");
    }

    /// Kills the process.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Polls `cond` until it holds (guarded against hanging forever).
#[track_caller]
pub fn eventually(mut cond: impl FnMut() -> bool, what: &str) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < HANG_GUARD,
            "timed out waiting until {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A `wsk` list row: the name padded to 70 columns, then the rest.
pub fn row(name: &str, rest: &str) -> String {
    format!("{name:<70} {rest}")
}

/// A port nothing listens on (bound and released).
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// Value of `key` in a `[{key, value}]` array.
pub fn kv<'a>(arr: &'a Value, key: &str) -> Option<&'a Value> {
    arr.as_array()?
        .iter()
        .find(|e| e["key"] == key)
        .map(|e| &e["value"])
}

/// A zip archive of `(name, content, unix mode)` entries.
pub fn zip_of(entries: &[(&str, &str, u32)]) -> Vec<u8> {
    use std::io::Write as _;
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut buf);
        for (name, content, mode) in entries {
            let opts = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated)
                .unix_permissions(*mode);
            z.start_file(*name, opts).expect("zip entry");
            z.write_all(content.as_bytes()).expect("zip write");
        }
        z.finish().expect("zip finish");
    }
    buf.into_inner()
}
