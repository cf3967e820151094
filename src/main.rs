//! `whirl`: the whole platform in one binary.
//!
//! - `whirl standalone`: controller + store (+ invoker) on one machine.
//! - `whirl admin ...`: namespace and key management (OpenWhisk's `wskadmin`).
//! - any other verb (`action`, `trigger`, `property`, ...), or when invoked as `wsk`: the
//!   wsk-compatible client (`whirl-cli`).
//! - `whirl __sandbox-init`: the sandbox set-up helper (internal, re-executed by the invoker).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use serde_json::{json, Map, Value};
use whirl_controller::auth::{self, GUEST_KEY, SYSTEM_KEY};
use whirl_controller::{AppState, ControllerConfig};
use whirl_store::{NamespaceRecord, StoreError, Stores};

#[derive(Debug, Parser)]
#[command(
    name = "whirl",
    version,
    about = "Whirl: an OpenWhisk-compatible serverless platform",
    after_help = "Client verbs (same as wsk): property, action, activation, trigger, rule, package, \
namespace, list, completions. Run `whirl action --help` and so on for each."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the whole platform on this machine.
    Standalone(StandaloneArgs),
    /// Manage namespaces, keys and limits (like OpenWhisk's wskadmin).
    Admin(AdminArgs),
}

#[derive(Debug, Args)]
struct StandaloneArgs {
    /// Address to listen on.
    #[arg(long, env = "WHIRL_HOST", default_value = "127.0.0.1")]
    host: String,
    /// Port to listen on (0 picks a free one).
    #[arg(long, env = "WHIRL_PORT", default_value_t = 3233)]
    port: u16,
    /// Where the database and runtime files live (default: the user's data dir + /whirl).
    #[arg(long, env = "WHIRL_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Memory for action containers in MB (sum of their memory limits).
    #[arg(long, env = "WHIRL_USER_MEMORY_MB", default_value_t = 4096)]
    user_memory_mb: u64,
    /// Prewarmed containers per kind: `KIND:COUNT:MEMORY_MB`, comma separated. Default: the
    /// runtime manifest's (2 × 256 MB for nodejs and python); `none` disables them.
    #[arg(long, env = "WHIRL_STEM_CELLS")]
    stem_cells: Option<String>,
    /// Seconds a warm container stays unpaused after a run (OpenWhisk's pause grace).
    #[arg(long, env = "WHIRL_PAUSE_GRACE_SECS", default_value_t = 10)]
    pause_grace_secs: u64,
    /// Seconds an idle container is kept before it is destroyed.
    #[arg(long, env = "WHIRL_IDLE_TIMEOUT_SECS", default_value_t = 600)]
    idle_timeout_secs: u64,
    /// A runtime manifest (JSON, the shape `GET /` shows under each kind) replacing the detected
    /// one: kinds, aliases, interpreters, stem cells.
    #[arg(long, env = "WHIRL_RUNTIME_MANIFEST")]
    runtime_manifest: Option<PathBuf>,
    /// How action processes are isolated: `sandbox` (namespaces, cgroups, seccomp; needs root or
    /// user namespaces) or `none` (plain processes: development only, no isolation at all).
    #[arg(long, env = "WHIRL_ISOLATION", default_value = "sandbox", value_parser = ["sandbox", "none"])]
    isolation: String,
}

#[derive(Debug, Args)]
struct AdminArgs {
    /// The data dir of the platform to administer.
    #[arg(long, env = "WHIRL_DATA_DIR", global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Namespaces and their keys.
    #[command(subcommand)]
    Namespace(NamespaceCommand),
}

#[derive(Debug, Subcommand)]
enum NamespaceCommand {
    /// Create a namespace with a new key; prints `uuid:key`.
    Create {
        name: String,
        /// Subject owning the namespace (default: the namespace name).
        #[arg(long)]
        subject: Option<String>,
    },
    /// List namespaces with their subjects and key uuids.
    List,
    /// Delete a namespace and its key.
    Delete { name: String },
    /// Namespace limits.
    #[command(subcommand)]
    Limits(LimitsCommand),
}

#[derive(Debug, Subcommand)]
enum LimitsCommand {
    /// Set limit overrides (only the given ones change).
    Set {
        name: String,
        #[arg(long)]
        invocations_per_minute: Option<u64>,
        #[arg(long)]
        concurrent_invocations: Option<u64>,
        #[arg(long)]
        fires_per_minute: Option<u64>,
        /// Comma-separated kinds the namespace may use.
        #[arg(long, value_delimiter = ',')]
        allowed_kinds: Option<Vec<String>>,
        #[arg(long)]
        store_activations: Option<bool>,
    },
    /// Show the limit overrides.
    Get { name: String },
    /// Remove all overrides.
    Clear { name: String },
}

fn default_data_dir() -> PathBuf {
    dirs::data_dir()
        .unwrap_or_else(std::env::temp_dir)
        .join("whirl")
}

fn open_stores(data_dir: &Path) -> Result<Stores> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create data dir {}", data_dir.display()))?;
    whirl_store::sqlite::open(&data_dir.join("whirl.db"))
        .with_context(|| format!("cannot open the store in {}", data_dir.display()))
}

/// Verbs served by this file; every other invocation is the wsk-compatible client.
const SERVER_VERBS: &[&str] = &[
    "standalone",
    "admin",
    "help",
    "--help",
    "-h",
    "--version",
    "-V",
];

fn main() -> std::process::ExitCode {
    // Must come first: the sandbox helper runs before any thread exists.
    whirl_sandbox::run_init_if_requested();
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let invoked_as_wsk = args
        .first()
        .and_then(|a| Path::new(a).file_name())
        .is_some_and(|n| n == "wsk");
    let verb = args.get(1).and_then(|a| a.to_str()).unwrap_or("");
    if invoked_as_wsk || (!verb.is_empty() && !SERVER_VERBS.contains(&verb)) {
        let code = whirl_cli::run(args);
        return std::process::ExitCode::from(u8::try_from(code & 0xff).unwrap_or(1));
    }
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Standalone(args) => standalone(args),
        Command::Admin(args) => admin(args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start tokio")
}

fn standalone(args: StandaloneArgs) -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("WHIRL_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let data_dir = args.data_dir.unwrap_or_else(default_data_dir);
    runtime()?.block_on(async move {
        let stores = open_stores(&data_dir)?;
        auth::ensure_namespace(stores.auth.as_ref(), "guest", GUEST_KEY).await?;
        auth::ensure_namespace(stores.auth.as_ref(), "whisk.system", SYSTEM_KEY).await?;
        let invoker_id = whirl_bus::InvokerId(0);
        let controller_id = whirl_bus::ControllerId(0);
        // This process is the one invoker and the one controller: it finishes both owners'
        // interrupted activations.
        for owner in [invoker_id.to_string(), controller_id.to_string()] {
            match whirl_invoker::finish_interrupted(&stores, &owner).await {
                Ok(0) => {}
                Ok(n) => tracing::warn!(
                    count = n,
                    %owner,
                    "recorded activations interrupted by the last stop"
                ),
                Err(e) => {
                    return Err(anyhow::anyhow!(
                        "cannot recover interrupted activations: {e}"
                    ))
                }
            }
        }
        let listener = tokio::net::TcpListener::bind((args.host.as_str(), args.port))
            .await
            .with_context(|| format!("cannot listen on {}:{}", args.host, args.port))?;
        let addr: SocketAddr = listener.local_addr()?;
        let api_host = format!("http://{addr}");

        let manifest = match &args.runtime_manifest {
            None => whirl_runtime::RuntimeManifest::detect(),
            Some(path) => {
                let text = std::fs::read_to_string(path).with_context(|| {
                    format!("cannot read the runtime manifest {}", path.display())
                })?;
                serde_json::from_str(&text)
                    .with_context(|| format!("invalid runtime manifest {}", path.display()))?
            }
        };
        let stem_cells = stem_cells(args.stem_cells.as_deref(), &manifest)?;
        let isolation = match args.isolation.as_str() {
            "none" => whirl_runtime::Isolation::None,
            _ => whirl_runtime::Isolation::sandbox(None),
        };
        let factory = whirl_runtime::ProcessFactory::new(whirl_runtime::ProcessFactoryConfig::new(
            data_dir.join("runtime"),
            manifest.clone(),
            isolation,
        ))
        .context("cannot prepare the runtime directory")?;
        let bus = std::sync::Arc::new(whirl_bus::InProcessBus::new());
        let config = ControllerConfig {
            controller_id,
            api_host: api_host.clone(),
            runtimes: runtimes_of(&manifest),
            ..ControllerConfig::default()
        };
        let balancer = std::sync::Arc::new(whirl_controller::balancer::SingleInvoker::new(
            invoker_id,
            args.user_memory_mb,
        ));
        let state = AppState::start(stores.clone(), config, bus.clone(), balancer).await?;
        let invoker = whirl_invoker::Invoker::start(
            whirl_invoker::InvokerConfig {
                id: invoker_id,
                user_memory_mb: args.user_memory_mb,
                pause_grace: std::time::Duration::from_secs(args.pause_grace_secs),
                idle_timeout: std::time::Duration::from_secs(args.idle_timeout_secs),
                stem_cells,
                api_host: api_host.clone(),
            },
            stores,
            std::sync::Arc::new(factory),
            bus.as_ref(),
        )
        .await?;
        let app = whirl_controller::app(state);
        println!("Whirl standalone is running.");
        println!("API host: {api_host}");
        println!("Data dir: {}", data_dir.display());
        let kinds: Vec<&str> = manifest.kinds.iter().map(|k| k.kind.as_str()).collect();
        println!("Runtimes: {}", kinds.join(", "));
        println!("Guest key: {GUEST_KEY}");
        println!("Configure wsk (or use `whirl` as the client):");
        println!("  wsk property set --apihost {api_host} --auth {GUEST_KEY}");
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown_signal())
            .await;
        invoker.shutdown().await;
        bus.close();
        served.context("server failed")?;
        println!("Whirl standalone stopped.");
        Ok(())
    })
}

/// Parse `--stem-cells` (`KIND:COUNT:MB,...` or `none`), defaulting to the manifest's.
fn stem_cells(
    spec: Option<&str>,
    manifest: &whirl_runtime::RuntimeManifest,
) -> Result<Vec<(String, u32, u32)>> {
    let Some(spec) = spec else {
        return Ok(manifest
            .kinds
            .iter()
            .flat_map(|k| {
                k.stem_cells
                    .iter()
                    .map(|s| (k.kind.clone(), s.count, s.memory_mb))
            })
            .collect());
    };
    if spec.trim() == "none" || spec.trim().is_empty() {
        return Ok(Vec::new());
    }
    spec.split(',')
        .map(|item| {
            let parts: Vec<&str> = item.trim().rsplitn(3, ':').collect();
            match parts.as_slice() {
                [mb, count, kind] => {
                    let k = manifest
                        .resolve(kind)
                        .with_context(|| format!("--stem-cells: unknown kind '{kind}'"))?;
                    Ok((
                        k.kind.clone(),
                        count.parse().context("--stem-cells: bad count")?,
                        mb.parse().context("--stem-cells: bad memory")?,
                    ))
                }
                _ => bail!("--stem-cells: expected KIND:COUNT:MEMORY_MB, got '{item}'"),
            }
        })
        .collect()
}

/// The kinds the controller accepts: those the runtime manifest found on this machine.
fn runtimes_of(manifest: &whirl_runtime::RuntimeManifest) -> whirl_core::runtimes::Runtimes {
    let kinds = manifest
        .kinds
        .iter()
        .filter(|k| k.kind != whirl_core::runtimes::BLACKBOX)
        .map(|k| whirl_core::runtimes::RuntimeKind {
            kind: k.kind.clone(),
            family: k.family.clone(),
            default: k.default,
            deprecated: false,
            require_main: false,
            // OpenWhisk accepts `family:default` but not a bare family name.
            aliases: k
                .aliases
                .iter()
                .filter(|a| a.contains(':'))
                .cloned()
                .collect(),
            details: Some(json!({
                "interpreter": k.interpreter,
                "version": k.version,
                "stemCells": k.stem_cells,
            })),
        })
        .collect();
    whirl_core::runtimes::Runtimes { kinds }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

fn admin(args: AdminArgs) -> Result<()> {
    let data_dir = args.data_dir.unwrap_or_else(default_data_dir);
    runtime()?.block_on(async move {
        let stores = open_stores(&data_dir)?;
        let store = stores.auth.as_ref();
        match args.command {
            AdminCommand::Namespace(NamespaceCommand::Create { name, subject }) => {
                whirl_core::names::validate_namespace(&name).map_err(|e| anyhow::anyhow!("{e}"))?;
                let (uuid, key) = auth::generate_key();
                let rec = NamespaceRecord {
                    subject: subject.unwrap_or_else(|| name.clone()),
                    namespace: name.clone(),
                    uuid: uuid.clone(),
                    key_hash: auth::hash_key(&key),
                    limits: json!({}),
                };
                match store.create_namespace(rec).await {
                    Err(StoreError::AlreadyExists) => bail!("namespace '{name}' already exists"),
                    other => other?,
                }
                println!("{uuid}:{key}");
            }
            AdminCommand::Namespace(NamespaceCommand::List) => {
                for r in store.list_namespaces().await? {
                    println!("{}\t{}\t{}", r.namespace, r.subject, r.uuid);
                }
            }
            AdminCommand::Namespace(NamespaceCommand::Delete { name }) => {
                match store.delete_namespace(&name).await {
                    Err(StoreError::NotFound) => bail!("namespace '{name}' does not exist"),
                    other => other?,
                }
                println!("namespace '{name}' deleted");
            }
            AdminCommand::Namespace(NamespaceCommand::Limits(cmd)) => limits(store, cmd).await?,
        }
        Ok(())
    })
}

async fn limits(store: &dyn whirl_store::AuthStore, cmd: LimitsCommand) -> Result<()> {
    let name = match &cmd {
        LimitsCommand::Set { name, .. }
        | LimitsCommand::Get { name }
        | LimitsCommand::Clear { name } => name.clone(),
    };
    let rec = store
        .namespace(&name)
        .await?
        .with_context(|| format!("namespace '{name}' does not exist"))?;
    let mut current: Map<String, Value> = rec.limits.as_object().cloned().unwrap_or_default();
    match cmd {
        LimitsCommand::Get { .. } => {
            println!("{}", serde_json::to_string_pretty(&Value::Object(current))?);
            return Ok(());
        }
        LimitsCommand::Clear { .. } => current.clear(),
        LimitsCommand::Set {
            invocations_per_minute,
            concurrent_invocations,
            fires_per_minute,
            allowed_kinds,
            store_activations,
            ..
        } => {
            let mut set = |k: &str, v: Option<Value>| {
                if let Some(v) = v {
                    current.insert(k.to_string(), v);
                }
            };
            set(
                "invocationsPerMinute",
                invocations_per_minute.map(Value::from),
            );
            set(
                "concurrentInvocations",
                concurrent_invocations.map(Value::from),
            );
            set("firesPerMinute", fires_per_minute.map(Value::from));
            set("allowedKinds", allowed_kinds.map(|k| json!(k)));
            set("storeActivations", store_activations.map(Value::from));
        }
    }
    let v = whirl_core::limits::validate_namespace_limits(&Value::Object(current))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    store.set_limits(&name, Value::Object(v.clone())).await?;
    println!("{}", serde_json::to_string_pretty(&Value::Object(v))?);
    Ok(())
}
