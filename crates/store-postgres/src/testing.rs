//! Test support (feature `testing`): a private PostgreSQL server, and helpers that reach below the
//! store traits (bulk loads, `EXPLAIN` of the exact statements the store runs).
//!
//! [`PrivatePostgres::launch`] runs `initdb` into a fresh temporary directory and starts the server
//! with `pg_ctl` on a free loopback port (never a shared default port; a port lost to another
//! process between probing and binding is retried with a new one). Tests never depend on a system
//! service such as Debian's default cluster. The server is tuned for tests (`fsync=off`,
//! `synchronous_commit=off`, `full_page_writes=off`): fast, and not crash-safe.
//!
//! PostgreSQL refuses to run as root. When the tests run as root (CI does), every server command
//! runs as the `postgres` system user that Debian's `postgresql` package creates, and the
//! temporary directory is handed to that user.
//!
//! Clean-up: dropping a [`PrivatePostgres`] stops the server (`-m fast`, or `-m immediate` while
//! the thread is panicking) and removes its directory. A watchdog process also holds one end of a
//! pipe to the test process; when the test process exits in any way (including `SIGKILL`, or
//! without dropping a server kept in a `static`, see [`shared`]), the pipe closes and the watchdog
//! stops the server and removes the directory. So no test run leaves a server behind.
//!
//! Binaries are looked up in `$WHIRL_PG_BIN` (a directory), then `/usr/lib/postgresql/*/bin`
//! (newest version first), then `PATH`.
//!
//! Use (with `whirl-store-postgres = { workspace = true, features = ["testing"] }` in
//! `[dev-dependencies]`):
//!
//! ```text
//! // One server per test binary, a database per test:
//! let url = testing::shared()?.fresh_database().await?;        // or fresh_database_blocking()
//! let stores = whirl_store_postgres::connect(&url).await?;
//!
//! // A server of one's own, e.g. to restart it under a running store:
//! let mut pg = PrivatePostgres::launch()?;
//! let stores = whirl_store_postgres::connect(&pg.url()).await?;
//! pg.stop()?;   // operations fail with StoreError::Backend
//! pg.start()?;  // same port and data; the store works again
//! ```

use std::fmt;
use std::io::{Read, Seek, SeekFrom};
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::Type;
use tokio_postgres::NoTls;
use whirl_store::{ActivationQuery, ActivationRecord, EntityQuery, StoreError};

use crate::queries::{self, Param};

/// The superuser `initdb` creates; trusted on loopback.
pub const SUPERUSER: &str = "whirl";
/// The database [`PrivatePostgres::url`] points at.
pub const DEFAULT_DATABASE: &str = "whirl";
/// Roles that are members of this role must authenticate with a password (scram-sha-256); every
/// other role is trusted on loopback. See [`PrivatePostgres::create_password_role`].
pub const PASSWORD_ROLE_GROUP: &str = "password_users";
/// Environment variable naming a directory that holds `initdb`, `pg_ctl` and `createdb`.
pub const ENV_PG_BIN: &str = "WHIRL_PG_BIN";

const PORT_ATTEMPTS: usize = 10;
const SERVER_SETTINGS: &str = "
# --- whirl_store_postgres::testing::PrivatePostgres ---
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
max_connections = 300
fsync = off
synchronous_commit = off
full_page_writes = off
log_min_messages = warning
log_line_prefix = '%m [%p] '
";

/// Why a private server could not be provided.
#[derive(Debug, thiserror::Error)]
pub enum TestingError {
    #[error(
        "PostgreSQL not installed: no initdb, pg_ctl and createdb in {searched} \
         (apt-get install postgresql, or set {ENV_PG_BIN} to the directory holding them)"
    )]
    NotInstalled { searched: String },
    #[error(
        "PostgreSQL refuses to run as root and there is no `postgres` system user to run it as \
         (apt-get install postgresql creates it)"
    )]
    NoServerUser,
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{what} failed ({status})\n{output}")]
    Command {
        what: String,
        status: String,
        output: String,
    },
    #[error("{what}: {message}")]
    Client { what: String, message: String },
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> TestingError {
    let what = what.into();
    move |source| TestingError::Io { what, source }
}

fn client_err(what: &str) -> impl FnOnce(tokio_postgres::Error) -> TestingError + '_ {
    move |e| TestingError::Client {
        what: what.to_string(),
        message: e.to_string(),
    }
}

/// The user the server runs as, when the tests run as root.
#[derive(Debug, Clone, Copy)]
struct RunAs {
    uid: u32,
    gid: u32,
}

/// A PostgreSQL server of its own for a test (or a test binary); see the module docs.
pub struct PrivatePostgres {
    bin: PathBuf,
    dir: PathBuf,
    data: PathBuf,
    log: PathBuf,
    port: u16,
    run_as: Option<RunAs>,
    running: bool,
    /// Writing end of the watchdog's pipe; dropping it releases the watchdog.
    watchdog_pipe: Option<ChildStdin>,
    watchdog: Option<Child>,
}

impl fmt::Debug for PrivatePostgres {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivatePostgres")
            .field("port", &self.port)
            .field("dir", &self.dir)
            .field("running", &self.running)
            .finish_non_exhaustive()
    }
}

static SHARED: OnceLock<Result<PrivatePostgres, String>> = OnceLock::new();

/// One server for the whole test binary, launched by the first caller. It is never dropped (it
/// lives in a `static`); the watchdog stops it and removes its files when the process exits.
/// Tests sharing it should each work in their own database ([`PrivatePostgres::fresh_database`]).
pub fn shared() -> Result<&'static PrivatePostgres, String> {
    SHARED
        .get_or_init(|| PrivatePostgres::launch().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(Clone::clone)
}

impl PrivatePostgres {
    /// `initdb` a new cluster in a temporary directory, start it on a free loopback port and create
    /// the database [`DEFAULT_DATABASE`]. Blocks for about a second.
    pub fn launch() -> Result<PrivatePostgres, TestingError> {
        Self::launch_with_settings(&[])
    }

    /// [`launch`](Self::launch) with extra `postgresql.conf` lines, which override the test
    /// defaults (e.g. `"synchronous_commit = on"` for a test of acknowledged commits).
    pub fn launch_with_settings(settings: &[&str]) -> Result<PrivatePostgres, TestingError> {
        let bin = find_bin()?;
        let run_as = server_user()?;
        let dir = tempfile::Builder::new()
            .prefix("whirl-pg-")
            .tempdir_in(temp_root(run_as.is_some()))
            .map_err(io("creating a temporary directory"))?
            .keep();
        let mut pg = PrivatePostgres {
            data: dir.join("data"),
            log: dir.join("postgres.log"),
            bin,
            dir,
            port: 0,
            run_as,
            running: false,
            watchdog_pipe: None,
            watchdog: None,
        };
        // From here on, dropping `pg` cleans up whatever was done.
        if let Some(user) = run_as {
            std::os::unix::fs::chown(&pg.dir, Some(user.uid), Some(user.gid))
                .map_err(io(format!("handing {} to postgres", pg.dir.display())))?;
        }
        pg.spawn_watchdog()?;
        pg.initdb(settings)?;
        let mut last = None;
        for _ in 0..PORT_ATTEMPTS {
            pg.port = free_port()?;
            match pg.start() {
                Ok(()) => {
                    last = None;
                    break;
                }
                Err(e) if e.to_string().contains("already in use") => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        if let Some(e) = last {
            return Err(e);
        }
        pg.create_database_blocking(DEFAULT_DATABASE)?;
        Ok(pg)
    }

    /// `postgres://whirl@127.0.0.1:PORT/whirl`.
    pub fn url(&self) -> String {
        self.url_for(DEFAULT_DATABASE)
    }

    /// The URL of database `dbname` on this server, as the superuser.
    pub fn url_for(&self, dbname: &str) -> String {
        format!("postgres://{SUPERUSER}@127.0.0.1:{}/{dbname}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The data directory (kept across [`stop`](Self::stop) and [`start`](Self::start)).
    pub fn data_dir(&self) -> &Path {
        &self.data
    }

    pub fn is_running(&self) -> bool {
        self.running
    }

    /// Start the server again after [`stop`](Self::stop): same data directory, same port.
    pub fn start(&mut self) -> Result<(), TestingError> {
        if self.running {
            return Ok(());
        }
        let log_start = file_len(&self.log);
        let started = self.run(
            "pg_ctl start",
            Command::new(self.bin.join("pg_ctl"))
                .arg("-D")
                .arg(&self.data)
                .arg("-l")
                .arg(&self.log)
                .args(["-w", "-t", "60", "-o"])
                .arg(format!("-p {}", self.port))
                .arg("start"),
        );
        match started {
            Ok(_) => {
                self.running = true;
                Ok(())
            }
            Err(TestingError::Command {
                what,
                status,
                output,
            }) => Err(TestingError::Command {
                what,
                status,
                output: format!("{output}\nserver log:\n{}", read_from(&self.log, log_start)),
            }),
            Err(e) => Err(e),
        }
    }

    /// Stop the server (fast shutdown: sessions are ended, the port is free when this returns).
    pub fn stop(&mut self) -> Result<(), TestingError> {
        self.stop_with("fast")
    }

    /// Crash the server: immediate shutdown (every server process quits at once, no checkpoint;
    /// the next [`start`](Self::start) runs crash recovery from the WAL).
    pub fn crash(&mut self) -> Result<(), TestingError> {
        self.stop_with("immediate")
    }

    fn stop_with(&mut self, mode: &str) -> Result<(), TestingError> {
        if !self.running {
            return Ok(());
        }
        self.run(
            "pg_ctl stop",
            Command::new(self.bin.join("pg_ctl"))
                .arg("-D")
                .arg(&self.data)
                .args(["-m", mode, "-w", "-t", "60", "stop"]),
        )?;
        self.running = false;
        Ok(())
    }

    /// The server log so far (for diagnostics).
    pub fn log(&self) -> String {
        read_from(&self.log, 0)
    }

    /// Create database `name` (letters, digits and `_` only) and return its URL.
    pub async fn create_database(&self, name: &str) -> Result<String, TestingError> {
        check_identifier(name)?;
        let client = self.admin_client().await?;
        client
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .await
            .map_err(client_err("CREATE DATABASE"))?;
        Ok(self.url_for(name))
    }

    /// Create a database with a name no other call (in any process) uses; returns its URL.
    pub async fn fresh_database(&self) -> Result<String, TestingError> {
        self.create_database(&unique_database_name()).await
    }

    /// [`create_database`](Self::create_database) for code without a tokio runtime (it runs
    /// `createdb`).
    pub fn create_database_blocking(&self, name: &str) -> Result<String, TestingError> {
        check_identifier(name)?;
        self.run(
            "createdb",
            Command::new(self.bin.join("createdb"))
                .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
                .args(["-U", SUPERUSER, name]),
        )?;
        Ok(self.url_for(name))
    }

    /// [`fresh_database`](Self::fresh_database) for code without a tokio runtime.
    pub fn fresh_database_blocking(&self) -> Result<String, TestingError> {
        self.create_database_blocking(&unique_database_name())
    }

    /// Create a login role that must authenticate with `password` (scram-sha-256), and return the
    /// URL of [`DEFAULT_DATABASE`] for it *without* the password.
    pub async fn create_password_role(
        &self,
        name: &str,
        password: &str,
    ) -> Result<String, TestingError> {
        check_identifier(name)?;
        let client = self.admin_client().await?;
        client
            .batch_execute(&format!(
                "DO $$ BEGIN CREATE ROLE {PASSWORD_ROLE_GROUP} NOLOGIN; \
                 EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;"
            ))
            .await
            .map_err(client_err("CREATE ROLE password group"))?;
        client
            .batch_execute(&format!(
                "CREATE ROLE \"{name}\" LOGIN SUPERUSER PASSWORD '{}' IN ROLE {PASSWORD_ROLE_GROUP}",
                password.replace('\'', "''")
            ))
            .await
            .map_err(client_err("CREATE ROLE"))?;
        Ok(format!(
            "postgres://{name}@127.0.0.1:{}/{DEFAULT_DATABASE}",
            self.port
        ))
    }

    async fn admin_client(&self) -> Result<tokio_postgres::Client, TestingError> {
        let (client, connection) = tokio_postgres::connect(&self.url_for("postgres"), NoTls)
            .await
            .map_err(client_err("connecting to the private server"))?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(client)
    }

    fn initdb(&self, extra_settings: &[&str]) -> Result<(), TestingError> {
        self.run(
            "initdb",
            Command::new(self.bin.join("initdb"))
                .arg("-D")
                .arg(&self.data)
                .args(["-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--no-locale"])
                .arg("--no-sync"),
        )?;
        let conf = self.data.join("postgresql.conf");
        let mut settings =
            std::fs::read_to_string(&conf).map_err(io(format!("reading {}", conf.display())))?;
        settings.push_str(SERVER_SETTINGS);
        for line in extra_settings {
            settings.push_str(line);
            settings.push('\n');
        }
        std::fs::write(&conf, settings).map_err(io(format!("writing {}", conf.display())))?;
        let hba = self.data.join("pg_hba.conf");
        std::fs::write(
            &hba,
            format!(
                "# whirl_store_postgres::testing::PrivatePostgres: loopback only; members of\n\
                 # {PASSWORD_ROLE_GROUP} need a password, every other role is trusted.\n\
                 host all +{PASSWORD_ROLE_GROUP} 127.0.0.1/32 scram-sha-256\n\
                 host all all 127.0.0.1/32 trust\n"
            ),
        )
        .map_err(io(format!("writing {}", hba.display())))?;
        Ok(())
    }

    /// The watchdog: `sh` blocked reading a pipe whose other end only this process holds (it is
    /// close-on-exec, so no other child inherits it). When this process exits, however it exits,
    /// the read ends and the watchdog stops the server and removes the directory. It ignores the
    /// terminal's signals and has its own process group, so Ctrl-C of a test run reaches it only
    /// through the closed pipe, after the test process is gone.
    fn spawn_watchdog(&mut self) -> Result<(), TestingError> {
        const SCRIPT: &str = "trap '' INT TERM HUP QUIT PIPE
cat >/dev/null
\"$1\" -D \"$2\" -m immediate -w -t 30 stop >/dev/null 2>&1
rm -rf \"$3\"";
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(SCRIPT)
            .arg("whirl-pg-watchdog")
            .arg(self.bin.join("pg_ctl"))
            .arg(&self.data)
            .arg(&self.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0);
        self.as_server_user(&mut cmd);
        let mut child = cmd.spawn().map_err(io("starting the watchdog (sh)"))?;
        self.watchdog_pipe = child.stdin.take();
        self.watchdog = Some(child);
        Ok(())
    }

    fn as_server_user(&self, cmd: &mut Command) {
        if let Some(user) = self.run_as {
            // Dropping root: std also clears the supplementary groups.
            cmd.uid(user.uid).gid(user.gid);
        }
        cmd.current_dir(&self.dir);
    }

    fn run(&self, what: &str, cmd: &mut Command) -> Result<Output, TestingError> {
        self.as_server_user(cmd);
        let output = cmd
            .stdin(Stdio::null())
            .output()
            .map_err(io(format!("running {what}")))?;
        if output.status.success() {
            return Ok(output);
        }
        Err(TestingError::Command {
            what: what.to_string(),
            status: output.status.to_string(),
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        })
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let mode = if std::thread::panicking() {
            "immediate"
        } else {
            "fast"
        };
        if let Err(e) = self.stop_with(mode) {
            eprintln!("PrivatePostgres: stopping the server: {e}");
            let _ = self.stop_with("immediate");
        }
        // Releasing the watchdog makes it remove the directory; wait so the files are gone when
        // drop returns.
        self.watchdog_pipe.take();
        if let Some(mut child) = self.watchdog.take() {
            let _ = child.wait();
        }
        if self.dir.exists() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Where the server's directory goes: the usual temporary directory, unless the server runs as
/// another user who could not reach it (a `TMPDIR` under `/root`, say); then `/tmp`.
fn temp_root(other_user: bool) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let base = std::env::temp_dir();
    let reachable = base
        .ancestors()
        .all(|dir| std::fs::metadata(dir).is_ok_and(|m| m.permissions().mode() & 0o001 != 0));
    if other_user && !reachable {
        PathBuf::from("/tmp")
    } else {
        base
    }
}

/// A database name no other call (in any process) uses.
fn unique_database_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("t_{}_{n}_{:x}", std::process::id(), nanos & 0xffff_ffff)
}

fn check_identifier(name: &str) -> Result<(), TestingError> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(TestingError::Client {
            what: "identifier".into(),
            message: format!("{name:?}: use 1 to 63 of a-z, 0-9 and _"),
        })
    }
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

fn read_from(path: &Path, offset: u64) -> String {
    let mut text = String::new();
    if let Ok(mut f) = std::fs::File::open(path) {
        let mut bytes = Vec::new();
        if f.seek(SeekFrom::Start(offset)).is_ok() && f.read_to_end(&mut bytes).is_ok() {
            text = String::from_utf8_lossy(&bytes).into_owned();
        }
    }
    text
}

/// A loopback port nobody listens on right now.
fn free_port() -> Result<u16, TestingError> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(io("binding a probe socket to 127.0.0.1:0"))?;
    let port = listener
        .local_addr()
        .map_err(io("reading the probe socket's port"))?
        .port();
    Ok(port)
}

fn has_tools(dir: &Path) -> bool {
    ["initdb", "pg_ctl", "createdb"]
        .iter()
        .all(|b| dir.join(b).is_file())
}

fn find_bin() -> Result<PathBuf, TestingError> {
    find_bin_in(
        std::env::var_os(ENV_PG_BIN).map(PathBuf::from),
        Path::new("/usr/lib/postgresql"),
        std::env::var_os("PATH"),
    )
}

fn find_bin_in(
    configured: Option<PathBuf>,
    versions_root: &Path,
    path: Option<std::ffi::OsString>,
) -> Result<PathBuf, TestingError> {
    let mut searched = Vec::new();
    if let Some(dir) = configured {
        if has_tools(&dir) {
            return Ok(dir);
        }
        searched.push(format!("${ENV_PG_BIN} ({})", dir.display()));
    }
    let mut versions: Vec<(Vec<u32>, PathBuf)> = std::fs::read_dir(versions_root)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    let version = name
                        .split('.')
                        .map(|p| p.parse::<u32>().ok())
                        .collect::<Option<Vec<u32>>>()?;
                    let bin = e.path().join("bin");
                    has_tools(&bin).then_some((version, bin))
                })
                .collect()
        })
        .unwrap_or_default();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Ok(bin);
    }
    searched.push(format!("{}/*/bin", versions_root.display()));
    if let Some(path) = path {
        if let Some(dir) = std::env::split_paths(&path).find(|d| has_tools(d)) {
            return Ok(dir);
        }
    }
    searched.push("PATH".into());
    Err(TestingError::NotInstalled {
        searched: searched.join(", "),
    })
}

fn server_user() -> Result<Option<RunAs>, TestingError> {
    if !nix::unistd::geteuid().is_root() {
        return Ok(None);
    }
    match nix::unistd::User::from_name("postgres") {
        Ok(Some(user)) => Ok(Some(RunAs {
            uid: user.uid.as_raw(),
            gid: user.gid.as_raw(),
        })),
        _ => Err(TestingError::NoServerUser),
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers below the store traits

async fn connect_plain(url: &str) -> Result<tokio_postgres::Client, StoreError> {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .map_err(|e| StoreError::Backend(format!("connecting: {e}")))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

fn backend(what: &str) -> impl FnOnce(tokio_postgres::Error) -> StoreError + '_ {
    move |e| StoreError::Backend(format!("{what}: {e}"))
}

/// Load activation records with one binary `COPY` into the database at `url` (whose schema
/// exists: connect a store to it first), then `ANALYZE` the table. Returns the rows written.
pub async fn bulk_load_activations(
    url: &str,
    records: impl IntoIterator<Item = ActivationRecord>,
) -> Result<u64, StoreError> {
    let client = connect_plain(url).await?;
    let sink = client
        .copy_in(
            "COPY activations (activation_id, namespace, entity_path, start_ms, end_ms, doc) \
             FROM STDIN BINARY",
        )
        .await
        .map_err(backend("COPY"))?;
    let types = [
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::INT8,
        Type::INT8,
        Type::TEXT,
    ];
    let writer = BinaryCopyInWriter::new(sink, &types);
    let mut writer = std::pin::pin!(writer);
    for r in records {
        writer
            .as_mut()
            .write(&[
                &r.activation_id,
                &r.namespace,
                &r.entity_path,
                &r.start,
                &r.end,
                &r.doc.as_str(),
            ])
            .await
            .map_err(backend("COPY row"))?;
    }
    let n = writer
        .as_mut()
        .finish()
        .await
        .map_err(backend("COPY end"))?;
    client
        .batch_execute("ANALYZE activations")
        .await
        .map_err(backend("ANALYZE"))?;
    Ok(n)
}

/// How the plan of a prepared statement is chosen (PostgreSQL's `plan_cache_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanMode {
    /// Planned for the actual parameter values (what a statement's first executions get).
    Custom,
    /// Planned once for any values (what PostgreSQL may switch a cached statement to).
    Generic,
}

/// The text `EXPLAIN` of the exact statement the store runs for an activation list
/// (`count == false`) or count (`count == true`).
pub async fn explain_activation_query(
    url: &str,
    query: &ActivationQuery,
    count: bool,
    mode: PlanMode,
) -> Result<Vec<String>, StoreError> {
    let (sql, params) = if count {
        queries::activation_count_sql(query)
    } else {
        queries::activation_list_sql(query)
    };
    explain(url, &sql, &params, mode).await
}

/// The text `EXPLAIN` of the exact statement the store runs for an entity list.
pub async fn explain_entity_list(
    url: &str,
    query: &EntityQuery,
    mode: PlanMode,
) -> Result<Vec<String>, StoreError> {
    let (sql, params) = queries::entity_list_sql(query);
    explain(url, &sql, &params, mode).await
}

async fn explain(
    url: &str,
    sql: &str,
    params: &[Param],
    mode: PlanMode,
) -> Result<Vec<String>, StoreError> {
    let client = connect_plain(url).await?;
    let rows = match mode {
        PlanMode::Custom => client
            .query(&format!("EXPLAIN {sql}"), &queries::param_refs(params))
            .await
            .map_err(backend("EXPLAIN"))?,
        PlanMode::Generic => {
            client
                .batch_execute(&format!(
                    "SET plan_cache_mode = force_generic_plan; PREPARE whirl_explained AS {sql}"
                ))
                .await
                .map_err(backend("PREPARE"))?;
            let literals: Vec<String> = params.iter().map(literal).collect();
            let explain = if literals.is_empty() {
                "EXPLAIN EXECUTE whirl_explained".to_string()
            } else {
                format!("EXPLAIN EXECUTE whirl_explained({})", literals.join(", "))
            };
            client
                .query(&explain, &[])
                .await
                .map_err(backend("EXPLAIN EXECUTE"))?
        }
    };
    rows.iter()
        .map(|row| {
            row.try_get::<_, String>(0)
                .map_err(backend("reading the plan"))
        })
        .collect()
}

/// A parameter as an SQL literal (test helper: only for `EXPLAIN EXECUTE`).
fn literal(p: &Param) -> String {
    let quote = |s: &str| format!("'{}'", s.replace('\'', "''"));
    match p {
        Param::Text(s) => quote(s),
        Param::Static(s) => quote(s),
        Param::Json(j) => quote(j.as_str()),
        Param::Int(i) => i.to_string(),
        Param::OptInt(Some(i)) => i.to_string(),
        Param::OptInt(None) | Param::OptBytes(None) => "NULL".into(),
        Param::OptBytes(Some(b)) => {
            let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
            format!("'\\x{hex}'::bytea")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_install(dir: &Path) {
        std::fs::create_dir_all(dir).unwrap();
        for tool in ["initdb", "pg_ctl", "createdb"] {
            std::fs::write(dir.join(tool), "").unwrap();
        }
    }

    #[test]
    fn binaries_are_found_newest_version_first_then_on_path() {
        let root = tempfile::tempdir().unwrap();
        let versions = root.path().join("lib");
        fake_install(&versions.join("9.6/bin"));
        fake_install(&versions.join("15/bin"));
        fake_install(&versions.join("13/bin"));
        std::fs::create_dir_all(versions.join("16/bin")).unwrap(); // incomplete: skipped
        assert_eq!(
            find_bin_in(None, &versions, None).unwrap(),
            versions.join("15/bin")
        );
        let custom = root.path().join("custom");
        fake_install(&custom);
        assert_eq!(
            find_bin_in(Some(custom.clone()), &versions, None).unwrap(),
            custom
        );
        let on_path = root.path().join("on-path");
        fake_install(&on_path);
        let path = std::env::join_paths([root.path().join("nothing"), on_path.clone()]).unwrap();
        assert_eq!(
            find_bin_in(None, &root.path().join("none"), Some(path)).unwrap(),
            on_path
        );
    }

    #[test]
    fn a_missing_installation_says_what_to_install() {
        let root = tempfile::tempdir().unwrap();
        let err = find_bin_in(
            Some(root.path().join("nope")),
            &root.path().join("none"),
            Some(root.path().as_os_str().to_owned()),
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("PostgreSQL not installed"), "{msg}");
        assert!(msg.contains("apt-get install postgresql"), "{msg}");
        assert!(msg.contains(ENV_PG_BIN), "{msg}");
    }

    #[test]
    fn identifiers_are_checked() {
        assert!(check_identifier("t_1_abc").is_ok());
        for bad in ["", "Upper", "semi;colon", "quote\"", &"x".repeat(64)] {
            assert!(check_identifier(bad).is_err(), "{bad:?}");
        }
    }
}
