//! `whirl admin`: namespaces, keys and limits in a platform's data dir (OpenWhisk's wskadmin).
//! It opens the store directly; a running server sees the changes within its identity cache's
//! lifetime.

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use serde_json::{json, Map, Value};
use whirl_core::keys::{generate_key, hash_key};
use whirl_store::{AuthStore, NamespaceRecord, StoreError};

use crate::{parts, tokio_runtime};

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Namespaces and their keys.
    #[command(subcommand)]
    Namespace(NamespaceCommand),
}

#[derive(Debug, Subcommand)]
pub enum NamespaceCommand {
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
pub enum LimitsCommand {
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

/// Run `command` against the store `config` names (the cluster's PostgreSQL store, or the
/// SQLite store in the data dir); results go to stdout.
pub fn run(config: &whirl_config::AdminConfig, command: AdminCommand) -> Result<()> {
    tokio_runtime()?.block_on(async move {
        let common = whirl_config::CommonConfig {
            data_dir: config.data_dir.clone(),
            runtime_manifest: None,
            store_url: config.store_url.clone(),
            bus_url: None,
        };
        let stores = parts::open_stores(&common).await?;
        let store = stores.auth.as_ref();
        match command {
            AdminCommand::Namespace(NamespaceCommand::Create { name, subject }) => {
                whirl_core::names::validate_namespace(&name).map_err(|e| anyhow::anyhow!("{e}"))?;
                let (uuid, key) = generate_key();
                let rec = NamespaceRecord {
                    subject: subject.unwrap_or_else(|| name.clone()),
                    namespace: name.clone(),
                    uuid: uuid.clone(),
                    key_hash: hash_key(&key),
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

async fn limits(store: &dyn AuthStore, cmd: LimitsCommand) -> Result<()> {
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
