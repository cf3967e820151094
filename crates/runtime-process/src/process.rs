//! The process backend: one launcher process per container, ActionLoop over pipes.

use std::fs;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use base64::Engine;
use serde_json::{json, Value};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::unix::pipe;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{sleep_until, timeout_at};

use crate::launch::{
    cloexec_pipe, ChildStdio, LaunchSpec, PlainSpawner, Proc, SandboxSpawner, Spawner,
};
use crate::manifest::{KindSpec, LauncherKind, RuntimeManifest};
use crate::mux::{Mux, Pipes};
use crate::zipx::{extract_zip, ZipLimits};
use whirl_core::runtimes::{BLACKBOX, NATIVE_IMAGE};
use whirl_runtime::actionloop::{self, Replier};
use whirl_runtime::logs::{
    read_capped_line, spawn_log_reader, CappedLine, LogCollector, LogEvent, Stream,
};
use whirl_runtime::{
    messages, ActivationStatus, ConcurrentRunner, Container, ContainerFactory, ContainerSpec,
    ExecSpec, InitOutcome, InitRequest, Outcome, Result, RunOutcome, RunRequest, RuntimeError,
    Unsupported, MAX_RESULT_BYTES,
};

const LAUNCHER_JS: &str = include_str!("../launchers/launcher.js");
const LAUNCHER_PY: &str = include_str!("../launchers/launcher.py");
const LAUNCHER_SH: &str = include_str!("../launchers/native.sh");

/// Log limit applied to init output (the invoker may cap the combined logs further).
const INIT_LOG_LIMIT: u64 = 10 * 1024 * 1024;
/// How long to wait for the sentinels after a normal reply.
const SENTINEL_GRACE: Duration = Duration::from_secs(2);
/// How long to wait for remaining logs after a developer error, an exit or a kill.
const FAILURE_GRACE: Duration = Duration::from_millis(500);

/// How launcher processes are isolated.
#[derive(Debug, Clone)]
pub enum Isolation {
    /// Plain child processes: no namespaces, no cgroup limits (development and tests only).
    None,
    /// The product path: every container is a `whirl-sandbox` sandbox.
    Sandbox {
        /// The sandbox init helper; `None` = the running binary (`whirl __sandbox-init`).
        init_exe: Option<PathBuf>,
        /// uid/gid inside the sandbox; `None` = uid 0 without any capability.
        uid_gid: Option<(u32, u32)>,
    },
}

impl Isolation {
    /// Sandboxed, running as uid 0 (without capabilities) inside.
    pub fn sandbox(init_exe: Option<PathBuf>) -> Self {
        Isolation::Sandbox {
            init_exe,
            uid_gid: None,
        }
    }
}

/// The network of sandboxed containers.
#[derive(Debug, Clone, Default)]
pub enum NetworkMode {
    /// Share the host's network namespace (development only).
    Host,
    /// A network namespace with only loopback: no route out (`action_network = none`).
    #[default]
    Loopback,
    /// Outside networks under the egress policy, and the API host at `__OW_API_HOST`
    /// (`action_network = egress`).
    Egress(Arc<whirl_netpolicy::Egress>),
}

/// Configuration of the process backend.
#[derive(Debug, Clone)]
pub struct ProcessFactoryConfig {
    /// Runtime work dir: `launchers/` and `containers/<id>/` live here.
    pub work_dir: PathBuf,
    pub manifest: RuntimeManifest,
    pub isolation: Isolation,
    /// Time for a launcher to report ready.
    pub start_timeout: Duration,
    /// The sandboxes' network: [`NetworkMode::Loopback`] unless set.
    pub network: NetworkMode,
    /// With egress: the API server of this process also listens on the network's gateway, and
    /// actions get that address as `__OW_API_HOST` (standalone). `false`: actions get the
    /// container spec's `api_host` (a cluster invoker: the controllers', reached through the
    /// egress policy).
    pub api_on_gateway: bool,
    pub zip_limits: ZipLimits,
}

impl ProcessFactoryConfig {
    pub fn new(
        work_dir: impl Into<PathBuf>,
        manifest: RuntimeManifest,
        isolation: Isolation,
    ) -> Self {
        ProcessFactoryConfig {
            work_dir: work_dir.into(),
            manifest,
            isolation,
            start_timeout: Duration::from_secs(30),
            network: NetworkMode::Loopback,
            api_on_gateway: true,
            zip_limits: ZipLimits::default(),
        }
    }
}

/// [`ContainerFactory`] of the process backend.
#[derive(Debug)]
pub struct ProcessFactory {
    cfg: ProcessFactoryConfig,
    spawner: Arc<dyn Spawner>,
    containers_dir: PathBuf,
}

/// Where the action dir appears inside the sandbox (like the `/action` dir of OpenWhisk images):
/// a private tmpfs capped at [`action_dir_bytes`], into which the launcher copies the code at init.
const SANDBOX_ACTION_DIR: &str = "/action";
/// Where the host's code dir is bound read-only inside the sandbox (the source of that copy).
/// The host writes the code there at init, after the sandbox started (stem cells).
const SANDBOX_CODE_SRC: &str = "/.whirl-code";

/// CPU share of a booting stem cell: the lowest, so that it takes only CPU time running actions
/// leave (a share only matters when the CPUs are contended).
const BACKGROUND_CPU_SHARES: u64 = 2;

/// Size cap of the sandbox's `/action`: half the memory limit. Its pages count against the memory
/// limit, so the cap turns a runaway writer into `ENOSPC` before it becomes an OOM kill, and no
/// action can fill the host's disk through its code directory.
pub(crate) fn action_dir_bytes(memory_bytes: u64) -> u64 {
    memory_bytes / 2
}

impl ProcessFactory {
    /// Prepares `<work_dir>/containers` (one dir per container, removed on destroy).
    pub fn new(cfg: ProcessFactoryConfig) -> Result<Self> {
        fs::create_dir_all(&cfg.work_dir)?;
        let containers_dir = cfg.work_dir.canonicalize()?.join("containers");
        fs::create_dir_all(&containers_dir)?;
        let spawner: Arc<dyn Spawner> = match &cfg.isolation {
            Isolation::None => Arc::new(PlainSpawner),
            Isolation::Sandbox { init_exe, uid_gid } => Arc::new(SandboxSpawner {
                init_exe: init_exe.clone(),
                uid_gid: *uid_gid,
            }),
        };
        Ok(ProcessFactory {
            cfg,
            spawner,
            containers_dir,
        })
    }

    pub fn manifest(&self) -> &RuntimeManifest {
        &self.cfg.manifest
    }

    /// The action dir as the launcher sees it.
    fn guest_action_dir(&self, host_dir: &Path) -> PathBuf {
        match self.cfg.isolation {
            Isolation::None => host_dir.join("action"),
            Isolation::Sandbox { .. } => PathBuf::from(SANDBOX_ACTION_DIR),
        }
    }

    /// Where the launcher copies the code from at init (sandbox only; without isolation the
    /// launcher uses the host's code dir in place).
    fn guest_code_src(&self) -> Option<PathBuf> {
        match self.cfg.isolation {
            Isolation::None => None,
            Isolation::Sandbox { .. } => Some(PathBuf::from(SANDBOX_CODE_SRC)),
        }
    }

    /// The launcher sources are passed on the command line (`node -e`, `python -c`, `sh -c`):
    /// nothing of the runtime's own files needs to be visible inside the sandbox.
    fn launch_spec(&self, spec: &ContainerSpec, kind: &KindSpec, dir: &Path) -> LaunchSpec {
        let interp = kind.interpreter.to_string_lossy().into_owned();
        let guest = self.guest_action_dir(dir);
        let code_src = self.guest_code_src();
        let argv = match kind.launcher {
            LauncherKind::Nodejs => vec![interp, "-e".into(), LAUNCHER_JS.into()],
            LauncherKind::Python => {
                vec![
                    interp,
                    "-S".into(),
                    "-s".into(),
                    "-c".into(),
                    LAUNCHER_PY.into(),
                ]
            }
            LauncherKind::Native => {
                let mut argv = vec![
                    interp,
                    "-c".into(),
                    LAUNCHER_SH.into(),
                    "native-launcher".into(),
                    guest.to_string_lossy().into_owned(),
                ];
                argv.extend(code_src.iter().map(|p| p.to_string_lossy().into_owned()));
                argv
            }
        };
        let mut env = vec![
            (
                "PATH".to_string(),
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_string(),
            ),
            ("HOME".to_string(), "/tmp".to_string()),
            ("LANG".to_string(), "C.UTF-8".to_string()),
            ("__OW_API_HOST".to_string(), self.api_host(spec)),
        ];
        env.extend(kind.env.iter().map(|(k, v)| (k.clone(), v.clone())));
        if kind.launcher == LauncherKind::Python {
            env.push(("PYTHONIOENCODING".into(), "utf-8".into()));
            env.push(("PYTHONDONTWRITEBYTECODE".into(), "1".into()));
        }
        let mut ro_paths = self.cfg.manifest.system_ro_paths.clone();
        for p in kind
            .ro_paths
            .iter()
            .map(PathBuf::as_path)
            .chain(kind.interpreter.parent())
        {
            if !ro_paths.iter().any(|r| p.starts_with(r)) {
                ro_paths.push(p.to_path_buf());
            }
        }
        let memory_bytes = u64::from(spec.memory_mb.max(16)) * 1024 * 1024;
        let (ro_binds, tmpfs_dirs) = match code_src {
            Some(src) => (
                vec![(dir.join("action"), src)],
                vec![(guest.clone(), action_dir_bytes(memory_bytes))],
            ),
            None => (Vec::new(), Vec::new()),
        };
        LaunchSpec {
            id: spec.id.clone(),
            argv,
            env,
            cwd: guest,
            memory_bytes,
            cpu_shares: spec.prewarm.then_some(BACKGROUND_CPU_SHARES),
            ro_paths,
            ro_binds,
            tmpfs_dirs,
            network: self.cfg.network.clone(),
        }
    }

    /// `__OW_API_HOST` as the action sees it: with egress, the address the sandbox reaches the
    /// API at; otherwise the server's own.
    fn api_host(&self, spec: &ContainerSpec) -> String {
        match (&self.cfg.network, &self.cfg.isolation) {
            (NetworkMode::Egress(e), Isolation::Sandbox { .. }) if self.cfg.api_on_gateway => {
                e.api_host().to_string()
            }
            _ => spec.api_host.clone(),
        }
    }
}

fn io_err(e: impl std::fmt::Display) -> RuntimeError {
    RuntimeError::Io(std::io::Error::other(e.to_string()))
}

/// Whether an image is the native skeleton (`openwhisk/dockerskeleton`, with any tag).
fn is_native_image(image: &str) -> bool {
    image
        .strip_prefix(NATIVE_IMAGE)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(':'))
}

#[async_trait]
impl ContainerFactory for ProcessFactory {
    /// Blackbox execs run only as native executables: the image must be the docker skeleton
    /// (no container engine pulls images here) and there must be code. Other kinds run as they
    /// are named; a kind missing from the manifest fails at `create` ([`RuntimeError::UnknownKind`]).
    fn supports(&self, exec: &ExecSpec<'_>) -> std::result::Result<String, Unsupported> {
        if exec.kind == BLACKBOX {
            let image = exec.image.unwrap_or("");
            if !is_native_image(image) {
                return Err(Unsupported(format!(
                    "Failed to pull container image '{image}'."
                )));
            }
            if !exec.has_code {
                return Err(Unsupported(messages::NO_CODE.to_string()));
            }
        }
        Ok(exec.kind.to_string())
    }

    /// The Node.js launcher runs activations concurrently (as openwhisk-runtime-nodejs does);
    /// python and native executables run one at a time.
    fn supports_concurrency(&self, kind: &str) -> bool {
        self.cfg
            .manifest
            .resolve(kind)
            .is_some_and(|k| k.launcher == LauncherKind::Nodejs)
    }

    async fn create(&self, spec: ContainerSpec) -> Result<Box<dyn Container>> {
        let kind = self
            .cfg
            .manifest
            .resolve(&spec.kind)
            .ok_or_else(|| RuntimeError::UnknownKind(spec.kind.clone()))?
            .clone();
        if spec.id.is_empty()
            || spec.id.len() > 64
            || !spec
                .id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(RuntimeError::Spawn(format!(
                "invalid container id '{}': 1-64 characters of [A-Za-z0-9_-]",
                spec.id
            )));
        }
        let dir = self.containers_dir.join(&spec.id);
        if dir.exists() {
            fs::remove_dir_all(&dir)?;
        }
        fs::create_dir_all(dir.join("action"))?;
        let launch = self.launch_spec(&spec, &kind, &dir);

        let (stdin_r, stdin_w) = cloexec_pipe()?;
        let (out_r, out_w) = cloexec_pipe()?;
        let (err_r, err_w) = cloexec_pipe()?;
        let (res_r, res_w) = cloexec_pipe()?;
        let stdio = ChildStdio {
            stdin: stdin_r,
            stdout: out_w,
            stderr: err_w,
            fd3: res_w,
        };
        let proc = match self.spawner.spawn(&launch, stdio).await {
            Ok(p) => p,
            Err(e) => {
                let _ = fs::remove_dir_all(&dir);
                return Err(e);
            }
        };
        let (tx, rx) = mpsc::channel(1024);
        let readers = vec![
            spawn_log_reader(
                pipe::Receiver::from_owned_fd(out_r)?,
                Stream::Stdout,
                tx.clone(),
            ),
            spawn_log_reader(pipe::Receiver::from_owned_fd(err_r)?, Stream::Stderr, tx),
        ];
        let mut c = ProcessContainer {
            id: spec.id.clone(),
            kind,
            guest_dir: self.guest_action_dir(&dir),
            code_src: self.guest_code_src(),
            background: launch.cpu_shares.is_some(),
            cpu_shares: whirl_sandbox::SandboxConfig::cpu_shares_for(launch.memory_bytes),
            dir,
            proc: Some(Arc::from(proc)),
            io: Some(Io {
                stdin: pipe::Sender::from_owned_fd(stdin_w)?,
                results: BufReader::with_capacity(64 * 1024, pipe::Receiver::from_owned_fd(res_r)?),
                logs: rx,
                logs_open: true,
                eof: [false; 2],
            }),
            mux: None,
            readers,
            state: State::Started,
            paused: false,
            zip_limits: self.cfg.zip_limits,
        };
        // Wait for the launcher's ready line ({"ok":true}) on fd 3.
        let deadline = tokio::time::Instant::now() + self.cfg.start_timeout;
        let ready = match c.io.as_mut() {
            Some(io) => timeout_at(deadline, read_capped_line(&mut io.results, 4096, false)).await,
            None => Ok(Ok(None)),
        };
        match ready {
            Ok(Ok(Some(line))) if actionloop::is_ready(&line.bytes) => Ok(Box::new(c)),
            Ok(_) => {
                let _ = Box::new(c).destroy().await;
                Err(RuntimeError::StartExited)
            }
            Err(_) => {
                let _ = Box::new(c).destroy().await;
                Err(RuntimeError::StartTimeout(self.cfg.start_timeout))
            }
        }
    }

    fn cleanup_leftovers(&self) -> Result<usize> {
        let mut n = self.spawner.cleanup_leftovers()?;
        for entry in fs::read_dir(&self.containers_dir)? {
            let entry = entry?;
            fs::remove_dir_all(entry.path())?;
            n += 1;
        }
        Ok(n)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Started,
    Initialized,
    Failed,
}

/// The pipes of a launcher in one-at-a-time framing.
#[derive(Debug)]
struct Io {
    stdin: pipe::Sender,
    results: BufReader<pipe::Receiver>,
    logs: mpsc::Receiver<LogEvent>,
    logs_open: bool,
    eof: [bool; 2],
}

#[derive(Debug)]
struct ProcessContainer {
    id: String,
    kind: KindSpec,
    /// Host dir of the container (`action/` holds the code).
    dir: PathBuf,
    /// The action dir as seen by the launcher.
    guest_dir: PathBuf,
    /// Where the launcher copies the code from into `guest_dir` at init, if it does.
    code_src: Option<PathBuf>,
    /// Runs at the background CPU share (a stem cell not yet taken).
    background: bool,
    /// The normal CPU share for its memory.
    cpu_shares: u64,
    proc: Option<Arc<dyn Proc>>,
    /// The launcher's pipes while it runs one activation at a time; handed to `mux` when an
    /// init asks for concurrency.
    io: Option<Io>,
    mux: Option<Arc<Mux>>,
    readers: Vec<JoinHandle<()>>,
    state: State,
    paused: bool,
    zip_limits: ZipLimits,
}

/// How an interaction with the launcher ended.
enum Reply {
    Line(CappedLine),
    Exited,
    TimedOut,
}

fn failure(status: ActivationStatus, msg: impl Into<String>, started: Instant) -> Outcome {
    Outcome {
        status,
        result: json!({ "error": msg.into() }),
        logs: Vec::new(),
        duration: started.elapsed(),
        timed_out: false,
        container_healthy: false,
    }
}

/// One-line-safe env value (the native launcher reads KEY=VALUE lines).
fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

impl Io {
    /// Sends one request and waits for the reply line while draining logs, bounded by `deadline`.
    async fn interact(
        &mut self,
        msg: &[u8],
        deadline: tokio::time::Instant,
        col: &mut LogCollector,
    ) -> Reply {
        let Io {
            stdin,
            results,
            logs,
            logs_open,
            ..
        } = self;
        let read = async {
            stdin.write_all(msg).await?;
            read_capped_line(results, MAX_RESULT_BYTES, false).await
        };
        tokio::pin!(read);
        let sleep = sleep_until(deadline);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                r = &mut read => {
                    return match r {
                        Ok(Some(line)) => Reply::Line(line),
                        Ok(None) | Err(_) => Reply::Exited,
                    };
                }
                ev = logs.recv(), if *logs_open => match ev {
                    Some(ev) => col.push(ev),
                    None => *logs_open = false,
                },
                _ = &mut sleep => return Reply::TimedOut,
            }
        }
    }

    /// Drains logs until `done` holds, the streams end, or `grace` passes.
    async fn drain(
        &mut self,
        col: &mut LogCollector,
        grace: Duration,
        done: fn(&LogCollector) -> bool,
    ) {
        let until = tokio::time::Instant::now() + grace;
        while self.logs_open && !done(col) {
            match timeout_at(until, self.logs.recv()).await {
                Ok(Some(ev)) => col.push(ev),
                Ok(None) => self.logs_open = false,
                Err(_) => break,
            }
        }
        self.eof = col.eof;
    }
}

impl ProcessContainer {
    /// Sends one request and waits for the reply (see [`Io::interact`]); a container whose
    /// pipes went to the concurrent runner answers as exited.
    async fn interact(
        &mut self,
        msg: &[u8],
        deadline: tokio::time::Instant,
        col: &mut LogCollector,
    ) -> Reply {
        match self.io.as_mut() {
            Some(io) => io.interact(msg, deadline, col).await,
            None => Reply::Exited,
        }
    }

    async fn drain(
        &mut self,
        col: &mut LogCollector,
        grace: Duration,
        done: fn(&LogCollector) -> bool,
    ) {
        if let Some(io) = self.io.as_mut() {
            io.drain(col, grace, done).await;
        }
    }

    fn eof(&self) -> [bool; 2] {
        self.io.as_ref().map_or([true; 2], |io| io.eof)
    }

    fn oom_killed(&self) -> bool {
        self.proc.as_ref().is_some_and(|p| p.oom_killed())
    }

    fn kill(&self) {
        if let Some(p) = &self.proc {
            p.kill();
        }
    }

    /// Finishes an interaction: classifies exits/timeouts, collects the remaining logs.
    async fn finish_failure(
        &mut self,
        reply: &Reply,
        init: bool,
        timeout: Duration,
        mut col: LogCollector,
        started: Instant,
    ) -> Outcome {
        self.state = State::Failed;
        let (msg, timed_out) = match reply {
            Reply::TimedOut => {
                self.kill();
                (messages::timed_out(timeout, init), true)
            }
            _ => {
                // Give the kernel a moment to report an OOM kill before classifying.
                self.drain(&mut col, FAILURE_GRACE, LogCollector::both_eof)
                    .await;
                if self.oom_killed() {
                    (messages::MEMORY_EXHAUSTED.to_string(), false)
                } else if init {
                    (messages::ABNORMAL_INIT.to_string(), false)
                } else {
                    (messages::ABNORMAL_RUN.to_string(), false)
                }
            }
        };
        self.kill();
        self.drain(&mut col, FAILURE_GRACE, LogCollector::both_eof)
            .await;
        col.append_system(messages::LOGS_MAY_BE_MISSING);
        let mut out = failure(ActivationStatus::DeveloperError, msg, started);
        out.timed_out = timed_out;
        out.logs = col.lines;
        out
    }

    /// Writes the code into `<dir>/action`; returns the single source file name, if any.
    fn prepare_code(
        dir: &Path,
        launcher: LauncherKind,
        req: &InitRequest,
        limits: ZipLimits,
    ) -> std::result::Result<Option<String>, String> {
        let action = dir.join("action");
        let write_exec = |bytes: &[u8]| -> std::result::Result<Option<String>, String> {
            use std::os::unix::fs::PermissionsExt;
            let p = action.join("exec");
            fs::write(&p, bytes).map_err(|e| e.to_string())?;
            fs::set_permissions(&p, fs::Permissions::from_mode(0o755))
                .map_err(|e| e.to_string())?;
            Ok(None)
        };
        if req.binary {
            let cleaned: String = req
                .code
                .chars()
                .filter(|c| !c.is_ascii_whitespace())
                .collect();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(cleaned.as_bytes())
                .map_err(|_| messages::BAD_ARCHIVE.to_string())?;
            if bytes.starts_with(b"PK\x03\x04") {
                extract_zip(Cursor::new(bytes), &action, limits).map_err(|e| {
                    tracing::debug!(error = %e, "zip extraction failed");
                    format!("{} {e}", messages::BAD_ARCHIVE)
                })?;
                if launcher == LauncherKind::Native {
                    let exec = action.join("exec");
                    if !exec.is_file() {
                        return Err(messages::NO_BINARY.to_string());
                    }
                    use std::os::unix::fs::PermissionsExt;
                    fs::set_permissions(&exec, fs::Permissions::from_mode(0o755))
                        .map_err(|e| e.to_string())?;
                }
                return Ok(None);
            }
            return match launcher {
                LauncherKind::Native => write_exec(&bytes),
                _ => Err(messages::BAD_ARCHIVE.to_string()),
            };
        }
        match launcher {
            LauncherKind::Native => {
                if req.code.trim().is_empty() {
                    return Err(messages::NO_CODE.to_string());
                }
                write_exec(req.code.as_bytes())
            }
            LauncherKind::Nodejs | LauncherKind::Python => {
                let name = if launcher == LauncherKind::Nodejs {
                    "index.js"
                } else {
                    "main__.py"
                };
                fs::write(action.join(name), &req.code).map_err(|e| e.to_string())?;
                Ok(Some(name.to_string()))
            }
        }
    }

    /// Hands the launcher's pipes to a concurrent runner (the launcher switched framing when it
    /// accepted the init).
    fn go_concurrent(&mut self) {
        if let (Some(io), Some(proc)) = (self.io.take(), self.proc.clone()) {
            let pipes = Pipes {
                stdin: io.stdin,
                results: io.results,
                logs: io.logs,
                eof: io.eof,
            };
            self.mux = Some(Mux::start(pipes, proc));
        }
    }

    fn init_message(&self, req: &InitRequest, file: Option<String>, concurrency: u32) -> Vec<u8> {
        match self.kind.launcher {
            LauncherKind::Native => {
                let mut s = format!("init {}\n", req.env.len());
                for (k, v) in &req.env {
                    s.push_str(&format!("{}={}\n", one_line(k), one_line(v)));
                }
                s.into_bytes()
            }
            _ if concurrency != req.concurrency => actionloop::init_line(
                &InitRequest {
                    concurrency,
                    ..req.clone()
                },
                &self.guest_dir,
                self.code_src.as_deref(),
                file.as_deref(),
            ),
            _ => actionloop::init_line(
                req,
                &self.guest_dir,
                self.code_src.as_deref(),
                file.as_deref(),
            ),
        }
    }

    fn run_message(&self, req: &RunRequest) -> Vec<u8> {
        match self.kind.launcher {
            LauncherKind::Native => {
                let raw = req.value.get();
                let mut out = Vec::with_capacity(raw.len() + 512);
                let e = &req.env;
                let mut vars = vec![
                    ("NAMESPACE", e.namespace.as_str()),
                    ("ACTION_NAME", &e.action_name),
                    ("ACTION_VERSION", &e.action_version),
                    ("ACTIVATION_ID", &e.activation_id),
                    ("TRANSACTION_ID", &e.transaction_id),
                    ("DEADLINE", &e.deadline),
                ];
                if let Some(k) = &e.api_key {
                    vars.push(("API_KEY", k));
                }
                out.extend_from_slice(format!("run {}\n", vars.len()).as_bytes());
                for (k, v) in vars {
                    out.extend_from_slice(format!("__OW_{k}={}\n", one_line(v)).as_bytes());
                }
                actionloop::push_one_line(&mut out, raw);
                out.push(b'\n');
                out
            }
            _ => actionloop::run_line(req),
        }
    }

    fn classify_result(&self, line: CappedLine) -> (ActivationStatus, Value) {
        let replier = match self.kind.launcher {
            LauncherKind::Native => Replier::Executable,
            LauncherKind::Nodejs | LauncherKind::Python => Replier::Launcher,
        };
        actionloop::classify_run_reply(&line, replier)
    }
}

#[async_trait]
impl Container for ProcessContainer {
    fn id(&self) -> &str {
        &self.id
    }

    fn kind(&self) -> &str {
        &self.kind.kind
    }

    async fn init(&mut self, req: InitRequest, timeout: Duration) -> InitOutcome {
        let started = Instant::now();
        let deadline = tokio::time::Instant::now() + timeout;
        match self.state {
            State::Started => {}
            State::Initialized => {
                return failure(
                    ActivationStatus::DeveloperError,
                    messages::DOUBLE_INIT,
                    started,
                )
            }
            State::Failed => {
                return failure(
                    ActivationStatus::DeveloperError,
                    messages::ABNORMAL_INIT,
                    started,
                )
            }
        }
        if self.paused {
            if let Err(e) = self.resume().await {
                return failure(ActivationStatus::WhiskError, e.to_string(), started);
            }
        }
        // Prepare the code outside the async threads (zip extraction can take a while).
        let dir = self.dir.clone();
        let launcher = self.kind.launcher;
        let limits = self.zip_limits;
        let req = Arc::new(req);
        let req2 = Arc::clone(&req);
        let prepared =
            tokio::task::spawn_blocking(move || Self::prepare_code(&dir, launcher, &req2, limits));
        let file = match timeout_at(deadline, prepared).await {
            Ok(Ok(Ok(file))) => file,
            Ok(Ok(Err(msg))) => {
                self.state = State::Failed;
                return failure(ActivationStatus::DeveloperError, msg, started);
            }
            Ok(Err(e)) => {
                self.state = State::Failed;
                return failure(ActivationStatus::WhiskError, e.to_string(), started);
            }
            Err(_) => {
                self.state = State::Failed;
                let mut out = failure(
                    ActivationStatus::DeveloperError,
                    messages::timed_out(timeout, true),
                    started,
                );
                out.timed_out = true;
                return out;
            }
        };
        let concurrency = if self.kind.launcher == LauncherKind::Nodejs {
            req.concurrency
        } else {
            1
        };
        let msg = self.init_message(&req, file, concurrency);
        let mut col = LogCollector::new(INIT_LOG_LIMIT, self.eof());
        let reply = self.interact(&msg, deadline, &mut col).await;
        match reply {
            Reply::Line(line) => {
                if actionloop::is_init_ok(&line.bytes) {
                    self.drain(&mut col, SENTINEL_GRACE, LogCollector::complete)
                        .await;
                    self.state = State::Initialized;
                    if concurrency > 1 {
                        self.go_concurrent();
                    }
                    Outcome {
                        status: ActivationStatus::Success,
                        result: json!({}),
                        logs: col.lines,
                        duration: started.elapsed(),
                        timed_out: false,
                        container_healthy: true,
                    }
                } else {
                    self.state = State::Failed;
                    let result = actionloop::init_failure_result(&line.bytes);
                    self.drain(&mut col, FAILURE_GRACE, LogCollector::complete)
                        .await;
                    col.append_system(messages::LOGS_MAY_BE_MISSING);
                    Outcome {
                        status: ActivationStatus::DeveloperError,
                        result,
                        logs: col.lines,
                        duration: started.elapsed(),
                        timed_out: false,
                        container_healthy: false,
                    }
                }
            }
            other => {
                self.finish_failure(&other, true, timeout, col, started)
                    .await
            }
        }
    }

    async fn run(
        &mut self,
        req: RunRequest,
        timeout: Duration,
        log_limit_bytes: u64,
    ) -> RunOutcome {
        if let Some(mux) = &self.mux {
            return mux.run(req, timeout, log_limit_bytes).await;
        }
        let started = Instant::now();
        let deadline = tokio::time::Instant::now() + timeout;
        match self.state {
            State::Initialized => {}
            State::Started => {
                return failure(
                    ActivationStatus::DeveloperError,
                    messages::NOT_INITIALIZED,
                    started,
                )
            }
            State::Failed => {
                return failure(
                    ActivationStatus::DeveloperError,
                    messages::ABNORMAL_RUN,
                    started,
                )
            }
        }
        if self.paused {
            if let Err(e) = self.resume().await {
                return failure(ActivationStatus::WhiskError, e.to_string(), started);
            }
        }
        let msg = self.run_message(&req);
        let mut col = LogCollector::new(log_limit_bytes, self.eof());
        let reply = self.interact(&msg, deadline, &mut col).await;
        match reply {
            Reply::Line(line) => {
                let (status, result) = self.classify_result(line);
                let healthy = status != ActivationStatus::DeveloperError;
                if healthy {
                    self.drain(&mut col, SENTINEL_GRACE, LogCollector::complete)
                        .await;
                } else {
                    self.state = State::Failed;
                    self.drain(&mut col, FAILURE_GRACE, LogCollector::complete)
                        .await;
                    col.append_system(messages::LOGS_MAY_BE_MISSING);
                }
                Outcome {
                    status,
                    result,
                    logs: col.lines,
                    duration: started.elapsed(),
                    timed_out: false,
                    container_healthy: healthy,
                }
            }
            other => {
                self.finish_failure(&other, false, timeout, col, started)
                    .await
            }
        }
    }

    fn concurrent(&self) -> Option<Arc<dyn ConcurrentRunner>> {
        self.mux.clone().map(|m| -> Arc<dyn ConcurrentRunner> { m })
    }

    async fn pause(&mut self) -> Result<()> {
        if !self.paused {
            if let Some(p) = &self.proc {
                p.freeze()?;
            }
            self.paused = true;
        }
        Ok(())
    }

    async fn resume(&mut self) -> Result<()> {
        if self.paused {
            if let Some(p) = &self.proc {
                p.thaw()?;
            }
            self.paused = false;
        }
        Ok(())
    }

    async fn prioritize(&mut self) -> Result<()> {
        if let (true, Some(p)) = (self.background, &self.proc) {
            p.set_cpu_shares(self.cpu_shares)?;
            self.background = false;
        }
        Ok(())
    }

    async fn destroy(mut self: Box<Self>) -> Result<()> {
        let result = match self.proc.take() {
            Some(p) => p.destroy().await,
            None => Ok(()),
        };
        for r in &self.readers {
            r.abort();
        }
        if let Some(m) = &self.mux {
            m.stop();
        }
        let dir = self.dir.clone();
        let removed = tokio::task::spawn_blocking(move || match fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        })
        .await
        .map_err(io_err)?;
        result?;
        removed?;
        Ok(())
    }
}

impl Drop for ProcessContainer {
    fn drop(&mut self) {
        if let Some(p) = self.proc.take() {
            p.kill();
            let _ = fs::remove_dir_all(&self.dir);
        }
        for r in &self.readers {
            r.abort();
        }
        if let Some(m) = &self.mux {
            m.stop();
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn factory() -> (tempfile::TempDir, ProcessFactory) {
        let dir = tempfile::tempdir().unwrap();
        let manifest = RuntimeManifest {
            kinds: Vec::new(),
            system_ro_paths: Vec::new(),
        };
        let cfg = ProcessFactoryConfig::new(dir.path(), manifest, Isolation::None);
        let f = ProcessFactory::new(cfg).unwrap();
        (dir, f)
    }

    fn exec<'a>(kind: &'a str, image: Option<&'a str>, has_code: bool) -> ExecSpec<'a> {
        ExecSpec {
            kind,
            image,
            has_code,
        }
    }

    #[test]
    fn supports_native_blackbox_only() {
        let (_dir, f) = factory();
        let pull = |image: &str| {
            Err(Unsupported(format!(
                "Failed to pull container image '{image}'."
            )))
        };
        assert_eq!(
            f.supports(&exec("blackbox", Some("openwhisk/dockerskeleton"), true)),
            Ok("blackbox".to_string())
        );
        assert_eq!(
            f.supports(&exec(
                "blackbox",
                Some("openwhisk/dockerskeleton:1.14"),
                true
            )),
            Ok("blackbox".to_string())
        );
        for image in [
            "openwhisk/dockerskeletonx",
            "openwhisk/example",
            "docker.io/openwhisk/dockerskeleton",
        ] {
            assert_eq!(
                f.supports(&exec("blackbox", Some(image), true)),
                pull(image)
            );
        }
        assert_eq!(f.supports(&exec("blackbox", None, true)), pull(""));
        // The image is checked before the code.
        assert_eq!(
            f.supports(&exec("blackbox", Some("user/image"), false)),
            pull("user/image")
        );
        assert_eq!(
            f.supports(&exec("blackbox", Some("openwhisk/dockerskeleton"), false)),
            Err(Unsupported("Missing main/no code to execute.".into()))
        );
        assert_eq!(
            Unsupported("Missing main/no code to execute.".into()).to_string(),
            "Missing main/no code to execute."
        );
    }

    #[test]
    fn supports_other_kinds_as_named() {
        let (_dir, f) = factory();
        // Kinds run as they are named; an unknown kind fails at `create`.
        for kind in ["nodejs:20", "python:3", "nodejs:default", "cobol:1"] {
            assert_eq!(f.supports(&exec(kind, None, true)), Ok(kind.to_string()));
        }
        // An image on a language kind (`--docker` is only for blackbox) does not matter here.
        assert_eq!(
            f.supports(&exec("nodejs:20", Some("x/y"), false)),
            Ok("nodejs:20".to_string())
        );
    }
}
