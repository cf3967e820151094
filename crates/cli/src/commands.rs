//! The verbs.

use std::io::Write;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};
use whirl_client::{ActivationListOptions, Client, Error as ClientError, ListOptions};

use crate::args::*;
use crate::config::{Overrides, Properties, PropsFile};
use crate::output::{datetime, go_duration, kv_get, pretty, s, strip_timestamp, truncate_mid};
use crate::params::{self, merge, to_kv_array, to_object, KvArgs};
use crate::{
    http_exit_code, CliError, Env, TraceBuf, EXIT_GENERAL, EXIT_NOT_ALLOWED, EXIT_TIMED_OUT,
    EXIT_USAGE,
};

type R<T = ()> = Result<T, CliError>;

/// Execution context of one command.
pub(crate) struct Ctx<'a> {
    env: &'a Env,
    out: &'a mut dyn Write,
    err: &'a mut dyn Write,
    prog: String,
    kv: KvArgs,
    global: GlobalOpts,
    props: Option<Properties>,
    trace: TraceBuf,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(
        env: &'a Env,
        out: &'a mut dyn Write,
        err: &'a mut dyn Write,
        prog: String,
        kv: KvArgs,
    ) -> Ctx<'a> {
        Ctx {
            env,
            out,
            err,
            prog,
            kv,
            global: GlobalOpts::default(),
            props: None,
            trace: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// Moves `-v` output collected by the client hook to stdout.
    pub(crate) fn flush_trace(&mut self) {
        let data = match self.trace.lock() {
            Ok(mut b) => std::mem::take(&mut *b),
            Err(_) => return,
        };
        if !data.is_empty() {
            let _ = self.out.write_all(&data);
        }
    }

    fn p(&mut self, text: &str) {
        self.flush_trace();
        let _ = self.out.write_all(text.as_bytes());
        let _ = self.out.flush();
    }

    fn e(&mut self, text: &str) {
        self.flush_trace();
        let _ = self.err.write_all(text.as_bytes());
    }

    fn set_global(&mut self, top: &GlobalOpts, leaf: &GlobalOpts) {
        self.global = top.merge(leaf);
    }

    fn props(&mut self) -> R<Properties> {
        if let Some(p) = &self.props {
            return Ok(p.clone());
        }
        let g = &self.global;
        let o = Overrides {
            auth: g.auth.clone(),
            apihost: g.apihost.clone(),
            apiversion: g.apiversion.clone(),
            cert: g.cert.clone(),
            key: g.key.clone(),
        };
        let p = Properties::load(self.env, &o).map_err(|m| {
            CliError::general(format!("Unable to access configuration properties: {m}"))
                .with_usage(true)
        })?;
        self.props = Some(p.clone());
        Ok(p)
    }

    /// Namespace used for unqualified names (`_` unless configured).
    fn ns(&mut self) -> R<String> {
        Ok(self.props()?.namespace)
    }

    fn client(&mut self) -> R<Client> {
        let p = self.props()?;
        if p.apihost.is_empty() {
            return Err(CliError::general(
                "The API host is not valid: An API host must be provided.",
            ));
        }
        let auth = if p.auth.is_empty() {
            None
        } else {
            Client::parse_auth(&p.auth)
        };
        let insecure = self.global.insecure;
        let mut c = Client::new(&p.apihost, auth, &p.namespace, insecure)
            .map_err(|e| CliError::general(format!("The API host is not valid: {e}")))?;
        // Like wsk: a client certificate needs both files; one without the other is an error
        // unless certificate checking is off.
        match (p.cert.is_empty(), p.key.is_empty()) {
            (false, false) => {
                c = c
                    .with_client_cert(std::path::Path::new(&p.cert), std::path::Path::new(&p.key))
                    .map_err(|e| {
                        CliError::general(format!(
                            "Unable to load the X509 key pair due to the following reason: {e}"
                        ))
                    })?;
            }
            (true, false) if !insecure => {
                return Err(CliError::general(
                    "The Cert file is not configured. Please configure the missing Cert file.",
                ));
            }
            (false, true) if !insecure => {
                return Err(CliError::general(
                    "The Key file is not configured. Please configure the missing Key file.",
                ));
            }
            _ => {}
        }
        if self.global.verbose || self.global.debug {
            let buf = self.trace.clone();
            c = c.with_trace(Arc::new(move |t: &str| {
                if let Ok(mut b) = buf.lock() {
                    b.extend_from_slice(t.as_bytes());
                }
            }));
        }
        Ok(c)
    }

    /// A client that must carry credentials.
    fn auth_client(&mut self) -> R<Client> {
        let c = self.client()?;
        if c.auth_key().is_none() {
            return Err(CliError::usage(
                "Authorization key is not configured (--auth is required)",
            ));
        }
        Ok(c)
    }

    fn client_ns(&mut self, ns: &str) -> R<Client> {
        Ok(self.auth_client()?.with_namespace(ns))
    }

    fn params_kv(&self) -> Vec<(String, Value)> {
        merge(&self.kv.params)
    }

    fn annots_kv(&self) -> Vec<(String, Value)> {
        merge(&self.kv.annotations)
    }
}

// ------------------------------------------------------------------------------ qualified names

/// A parsed entity name like wsk's QualifiedName.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QName {
    pub namespace: String,
    pub package: String,
    pub entity: String,
    /// `pkg/entity` or `entity` (what goes in the URL after the collection).
    pub entity_name: String,
}

impl QName {
    pub(crate) fn parse(name: &str, default_ns: &str) -> R<QName> {
        let bad = || {
            CliError::general(format!(
                "'{name}' is not a valid qualified name: A valid qualified name must be specified."
            ))
            .with_usage(true)
        };
        let mut n = name.to_string();
        let parts: Vec<&str> = n.split('/').collect();
        if parts.len() == 3 && !parts[0].is_empty() {
            n = format!("/{n}");
        }
        let parts: Vec<&str> = n.split('/').collect();
        if n.starts_with('/') {
            if parts.len() < 2 || parts.len() > 4 {
                return Err(bad());
            }
            if parts[1..].iter().any(|p| p.is_empty() || *p == ".") {
                return Err(bad());
            }
            Ok(QName {
                namespace: parts[1].to_string(),
                package: if parts.len() == 4 {
                    parts[2].to_string()
                } else {
                    String::new()
                },
                entity: if parts.len() > 2 {
                    parts[parts.len() - 1].to_string()
                } else {
                    String::new()
                },
                entity_name: parts[2..].join("/"),
            })
        } else {
            if n.is_empty() || n == "." || parts.len() > 2 || parts.iter().any(|p| p.is_empty()) {
                return Err(bad());
            }
            Ok(QName {
                namespace: default_ns.to_string(),
                package: if parts.len() == 2 {
                    parts[0].to_string()
                } else {
                    String::new()
                },
                entity: parts[parts.len() - 1].to_string(),
                entity_name: n,
            })
        }
    }

    /// `/ns[/pkg]/entity`.
    pub(crate) fn full(&self) -> String {
        let mut s = String::new();
        if !self.namespace.is_empty() {
            s.push('/');
            s.push_str(&self.namespace);
            s.push('/');
        }
        if !self.package.is_empty() {
            s.push_str(&self.package);
            s.push('/');
        }
        s.push_str(&self.entity);
        s
    }
}

/// wsk's getQualifiedName: `/ns/name` for rule trigger/action and sequence components.
pub(crate) fn qualify(name: &str, ns: &str) -> String {
    let parts: Vec<&str> = name.split('/').collect();
    let name = if parts.len() == 3 && !parts[0].is_empty() {
        format!("/{name}")
    } else {
        name.to_string()
    };
    if name.starts_with('/') {
        name
    } else {
        format!("/{ns}/{name}")
    }
}

fn normalize_ns(ns: &str) -> String {
    if ns == "_" {
        "default".to_string()
    } else {
        ns.to_string()
    }
}

fn check_args(args: &[String], min: usize, max: usize, required: &str) -> R {
    if args.len() < min {
        return Err(CliError::general(format!("Invalid argument(s). {required}")).with_usage(true));
    }
    if args.len() > max {
        return Err(CliError::general(format!(
            "Invalid argument(s): {}. {required}",
            args[max..].join(", ")
        ))
        .with_usage(true));
    }
    Ok(())
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

// ------------------------------------------------------------------------------------ dispatch

pub(crate) fn dispatch(ctx: &mut Ctx<'_>, cli: Cli) -> R {
    let top = cli.global.clone();
    match cli.cmd {
        Cmd::Completions { shell } => {
            let mut cmd = crate::command(&ctx.prog);
            let name = ctx.prog.clone();
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut cmd, name, &mut buf);
            ctx.p(&String::from_utf8_lossy(&buf));
            Ok(())
        }
        Cmd::Action(a) => action(ctx, &top, a),
        Cmd::Activation(a) => activation(ctx, &top, a),
        Cmd::Trigger(t) => trigger(ctx, &top, t),
        Cmd::Rule(r) => rule(ctx, &top, r),
        Cmd::Package(p) => package(ctx, &top, p),
        Cmd::Property(p) => property(ctx, &top, p),
        Cmd::Namespace(NamespaceCmd::List { global }) => {
            ctx.set_global(&top, &global);
            namespace_list(ctx)
        }
        Cmd::Namespace(NamespaceCmd::Get(g)) | Cmd::List(g) => {
            ctx.set_global(&top, &g.global);
            namespace_get(ctx, &g)
        }
    }
}

// -------------------------------------------------------------------------------------- actions

fn action(ctx: &mut Ctx<'_>, top: &GlobalOpts, cmd: ActionCmd) -> R {
    match cmd {
        ActionCmd::Create(put) => {
            ctx.set_global(top, &put.global);
            action_put(ctx, &put, false, &[])
        }
        ActionCmd::Update {
            put,
            del_annotation,
        } => {
            ctx.set_global(top, &put.global);
            action_put(ctx, &put, true, &del_annotation)
        }
        ActionCmd::Invoke {
            name,
            extra,
            blocking,
            result,
            global,
            ..
        } => {
            ctx.set_global(top, &global);
            let mut all = vec![name.clone()];
            all.extend(extra);
            check_args(&all, 1, 1, "An action name is required.")?;
            let q = QName::parse(&name, &ctx.ns()?)?;
            let payload = to_object(&ctx.params_kv());
            let c = ctx.client_ns(&q.namespace)?;
            invoke_and_print(ctx, &c, &q, &payload, blocking || result, result, true).map(|_| ())
        }
        ActionCmd::Get {
            name,
            field,
            summary,
            url,
            save,
            save_as,
            global,
        } => {
            ctx.set_global(top, &global);
            action_get(ctx, &name, field, summary, url, save, save_as)
        }
        ActionCmd::Delete { name, global } => {
            ctx.set_global(top, &global);
            let q = QName::parse(&name, &ctx.ns()?)?;
            let c = ctx.client_ns(&q.namespace)?;
            c.action_delete(&q.entity_name).map_err(|e| {
                CliError::client(&format!("Unable to delete action '{}'", q.entity_name), &e)
                    .with_usage(true)
            })?;
            ctx.p(&format!("ok: deleted action {}\n", q.entity_name));
            Ok(())
        }
        ActionCmd::List {
            namespace,
            list,
            global,
        } => {
            ctx.set_global(top, &global);
            let (ns, pkg) = match &namespace {
                Some(n) => {
                    let q = QName::parse(n, &ctx.ns()?)?;
                    (q.namespace.clone(), q.entity_name.clone())
                }
                None => (ctx.ns()?, String::new()),
            };
            let c = ctx.client_ns(&ns)?;
            let opts = ListOptions {
                limit: list.limit,
                skip: list.skip,
            };
            let mut actions = c.action_list(Some(&pkg), opts).map_err(|e| {
                CliError::client(
                    &format!(
                        "Unable to obtain the list of actions for namespace '{}'",
                        normalize_ns(&ns)
                    ),
                    &e,
                )
                .with_usage(true)
            })?;
            if list.name_sort {
                sort_entities(&mut actions);
            }
            let t = entity_table("actions", &actions);
            ctx.p(&t);
            Ok(())
        }
    }
}

fn sort_entities(v: &mut [Value]) {
    v.sort_by(|a, b| {
        let ka = (
            s(a, "namespace").contains('/'),
            s(a, "namespace").to_string(),
            s(a, "name").to_string(),
        );
        let kb = (
            s(b, "namespace").contains('/'),
            s(b, "namespace").to_string(),
            s(b, "name").to_string(),
        );
        ka.cmp(&kb)
    });
}

/// wsk list table: header line then one row per entity.
fn entity_table(kind: &str, items: &[Value]) -> String {
    let mut t = format!("{kind}\n");
    for it in items {
        let full = format!("/{}/{}", s(it, "namespace"), s(it, "name"));
        let publish =
            if it.get("publish").and_then(Value::as_bool) == Some(true) && kind == "packages" {
                "shared"
            } else {
                "private"
            };
        match kind {
            "actions" => {
                let k = kv_get(it.get("annotations"), "exec")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                t.push_str(&format!("{full:<70} {publish} {k}\n"));
            }
            "rules" => {
                t.push_str(&format!("{full:<70} {publish:<20} {}\n", s(it, "status")));
            }
            _ => t.push_str(&format!("{full:<70} {publish}\n")),
        }
    }
    t
}

fn random_secret() -> i64 {
    use rand::Rng as _;
    rand::thread_rng().gen_range(1..(1_i64 << 53))
}

fn kv_del(arr: &mut Vec<(String, Value)>, key: &str) {
    arr.retain(|(k, _)| k != key);
}

fn kv_set(arr: &mut Vec<(String, Value)>, key: &str, v: Value) {
    if let Some(e) = arr.iter_mut().find(|(k, _)| k == key) {
        e.1 = v;
    } else {
        arr.push((key.to_string(), v));
    }
}

fn kv_pairs(v: Option<&Value>) -> Vec<(String, Value)> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|e| {
                    Some((
                        e.get("key")?.as_str()?.to_string(),
                        e.get("value").cloned().unwrap_or(Value::Null),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn action_put(ctx: &mut Ctx<'_>, put: &ActionPut, update: bool, del_annotations: &[String]) -> R {
    let mut all = vec![put.name.clone()];
    all.extend(put.artifact.clone());
    all.extend(put.extra.clone());
    let required = if update {
        "An action name is required. A code artifact is optional."
    } else {
        "An action name and code artifact are required."
    };
    check_args(&all, 1, 2, required)?;
    let default_ns = ctx.ns()?;
    let q = QName::parse(&put.name, &default_ns)?;
    let parse_err = |m: String, code: i32| {
        CliError::general(format!("Invalid argument(s). {m}"))
            .code(code)
            .with_usage(true)
    };
    if put.kind.is_some() && put.docker.is_some() {
        return Err(parse_err(
            "Cannot specify both --kind and --docker at the same time.".into(),
            EXIT_NOT_ALLOWED,
        ));
    }
    let c = ctx.client_ns(&q.namespace)?;
    let mut body = Map::new();
    body.insert("namespace".into(), json!(q.namespace));
    body.insert("name".into(), json!(q.entity_name));
    let mut params_kv = ctx.params_kv();
    let mut annots_kv = ctx.annots_kv();
    let params_given = ctx.kv.params_given;
    let annots_given = ctx.kv.annotations_given;

    // exec
    let mut exec: Option<Value> = None;
    if put.copy {
        let Some(src) = &put.artifact else {
            return Err(parse_err(
                "An action name and code artifact are required.".into(),
                EXIT_USAGE,
            ));
        };
        let sq = QName::parse(src, &default_ns)?;
        let existing = c
            .with_namespace(&sq.namespace)
            .action_get(&sq.entity_name, true)
            .map_err(|e| {
                CliError::client(&format!("Unable to get action '{}'", sq.entity_name), &e)
                    .with_usage(true)
            })?;
        exec = existing.get("exec").cloned();
        params_kv.extend(kv_pairs(existing.get("parameters")));
        annots_kv.extend(kv_pairs(existing.get("annotations")));
    } else if put.sequence {
        let Some(list) = &put.artifact else {
            return Err(parse_err(
                "An action name and code artifact are required.".into(),
                EXIT_USAGE,
            ));
        };
        let comps: Vec<String> = list.split(',').map(|a| qualify(a, &default_ns)).collect();
        exec = Some(json!({"kind": "sequence", "components": comps}));
    } else if put.artifact.is_some()
        || put.docker.is_some()
        || (put.native && put.artifact.is_some())
    {
        exec = Some(build_exec(ctx.env, put).map_err(|m| parse_err(m, EXIT_USAGE))?);
    } else if !update {
        return Err(parse_err(
            "An action name and code artifact are required.".into(),
            EXIT_USAGE,
        ));
    }
    if let Some(e) = exec {
        body.insert("exec".into(), e);
    }

    // limits
    let mut limits = Map::new();
    if let Some(v) = put.timeout {
        limits.insert("timeout".into(), json!(v));
    }
    if let Some(v) = put.memory {
        limits.insert("memory".into(), json!(v));
    }
    if let Some(v) = put.logsize {
        limits.insert("logs".into(), json!(v));
    }
    if let Some(v) = put.concurrency {
        limits.insert("concurrency".into(), json!(v));
    }
    if !limits.is_empty() {
        body.insert("limits".into(), Value::Object(limits));
    }

    // --web / --web-secure
    let mut del: Vec<String> = del_annotations.to_vec();
    let mut annots_changed = annots_given || put.copy;
    if put.web.is_some() || put.web_secure.is_some() {
        let existing = if update {
            match c.action_get(&q.entity_name, false) {
                Ok(a) => Some(a),
                Err(e) if e.status() == Some(404) => None,
                Err(e) => {
                    return Err(CliError::client(
                        &format!("Unable to get action '{}'", q.entity_name),
                        &e,
                    )
                    .with_usage(true))
                }
            }
        } else {
            None
        };
        let existing_annots = existing
            .as_ref()
            .map(|a| kv_pairs(a.get("annotations")))
            .unwrap_or_default();
        let preserve = !annots_given;
        if let Some(web) = &put.web {
            let (export, raw, fin) = match web.to_ascii_lowercase().as_str() {
                "yes" | "true" => (true, false, true),
                "no" | "false" => (false, false, false),
                "raw" => (true, true, true),
                _ => {
                    return Err(parse_err(
                        format!("Invalid argument '{web}' for --web flag. Valid input consist of 'yes', 'true', 'raw', 'false', or 'no'."),
                        EXIT_USAGE,
                    ))
                }
            };
            if preserve {
                for (k, v) in &existing_annots {
                    if !annots_kv.iter().any(|(x, _)| x == k) {
                        annots_kv.push((k.clone(), v.clone()));
                    }
                }
            }
            for k in ["web-export", "raw-http", "final"] {
                kv_del(&mut annots_kv, k);
            }
            annots_kv.push(("web-export".into(), json!(export)));
            annots_kv.push(("raw-http".into(), json!(raw)));
            annots_kv.push(("final".into(), json!(fin)));
            if let Some((_, v)) = existing_annots
                .iter()
                .find(|(k, _)| k == "require-whisk-auth")
            {
                if !annots_kv.iter().any(|(k, _)| k == "require-whisk-auth") {
                    annots_kv.push(("require-whisk-auth".into(), v.clone()));
                }
            }
            annots_changed = true;
        }
        if let Some(secure) = &put.web_secure {
            let is_web = |a: &[(String, Value)]| {
                a.iter()
                    .any(|(k, v)| k == "web-export" && v.as_bool() == Some(true))
            };
            let disable = put
                .web
                .as_deref()
                .map(|w| matches!(w.to_ascii_lowercase().as_str(), "false" | "no"))
                == Some(true);
            let valid = is_web(&annots_kv) || (is_web(&existing_annots) && !disable);
            if !valid {
                return Err(parse_err(
                    "The --web-secure option is only valid when the --web option is enabled."
                        .into(),
                    EXIT_USAGE,
                ));
            }
            if existing.is_some() {
                let carry: Vec<(String, Value)> = if preserve && put.web.is_none() {
                    existing_annots.clone()
                } else {
                    existing_annots
                        .iter()
                        .filter(|(k, _)| {
                            matches!(
                                k.as_str(),
                                "web-export" | "raw-http" | "final" | "require-whisk-auth"
                            )
                        })
                        .cloned()
                        .collect()
                };
                for (k, v) in carry {
                    if !annots_kv.iter().any(|(x, _)| *x == k) {
                        annots_kv.push((k, v));
                    }
                }
            }
            let existing_secret = annots_kv
                .iter()
                .find(|(k, _)| k == "require-whisk-auth")
                .map(|(_, v)| v.clone());
            match secure.to_ascii_lowercase().as_str() {
                "false" => {
                    if existing_secret.is_some() {
                        del.push("require-whisk-auth".into());
                    }
                    kv_del(&mut annots_kv, "require-whisk-auth");
                }
                "true" => {
                    let keep = existing_secret.as_ref().map(Value::is_i64) == Some(true);
                    if !keep {
                        kv_set(&mut annots_kv, "require-whisk-auth", json!(random_secret()));
                    }
                }
                _ => kv_set(&mut annots_kv, "require-whisk-auth", json!(secure)),
            }
            annots_changed = true;
        }
    }
    if params_given || put.copy {
        body.insert("parameters".into(), to_kv_array(&params_kv));
    }
    if annots_changed {
        body.insert("annotations".into(), to_kv_array(&annots_kv));
    }
    if update && !del.is_empty() {
        body.insert("delAnnotations".into(), json!(del));
    }
    c.action_put(&q.entity_name, &Value::Object(body), update)
        .map_err(|e| {
            let verb = if update { "update" } else { "create" };
            CliError::client(&format!("Unable to {verb} action '{}'", q.entity_name), &e)
                .with_usage(true)
        })?;
    let verb = if update { "updated" } else { "created" };
    ctx.p(&format!("ok: {verb} action {}\n", q.entity_name));
    Ok(())
}

/// Builds `exec` from an artifact file / docker image / kind flags.
fn build_exec(env: &Env, put: &ActionPut) -> Result<Value, String> {
    let mut exec = Map::new();
    let mut ext = String::new();
    if let Some(file) = &put.artifact {
        ext = params::extension(file);
        let bytes = std::fs::read(env.resolve(file))
            .map_err(|_| format!("File '{file}' is not a valid file or it does not exist"))?;
        let code = if params::is_binary_extension(&ext) {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.encode(&bytes)
        } else {
            String::from_utf8_lossy(&bytes).into_owned()
        };
        exec.insert("code".into(), json!(code));
    }
    let kind = if let Some(k) = &put.kind {
        k.clone()
    } else if put.docker.is_some() || put.native {
        let image = put
            .docker
            .clone()
            .unwrap_or_else(|| "openwhisk/dockerskeleton".to_string());
        exec.insert("image".into(), json!(image));
        "blackbox".to_string()
    } else if let Some(k) = params::kind_for_extension(&ext) {
        k.to_string()
    } else if ext == ".zip" {
        return Err("creating an action from a .zip artifact requires specifying the action kind explicitly".into());
    } else {
        return Err(format!("'{ext}' is not a supported action runtime"));
    };
    exec.insert("kind".into(), json!(kind));
    match &put.main {
        Some(m) if !m.is_empty() => {
            exec.insert("main".into(), json!(m));
        }
        _ if kind == "java" => {
            return Err(
                "Java actions require --main to specify the fully-qualified name of the main class"
                    .into(),
            )
        }
        _ => {}
    }
    Ok(Value::Object(exec))
}

/// Invokes and prints like wsk (`header` = print the `ok: invoked` line).
fn invoke_and_print(
    ctx: &mut Ctx<'_>,
    c: &Client,
    q: &QName,
    payload: &Value,
    blocking: bool,
    result: bool,
    header: bool,
) -> R<Value> {
    let header = header && !result;
    let fq = format!("/{}/{}", q.namespace, q.entity_name);
    match c.action_invoke(&q.entity_name, payload, blocking, result, None) {
        Ok(inv) => {
            let id = inv.activation_id.clone().unwrap_or_default();
            if blocking && inv.status == 202 {
                ctx.e(&format!(
                    "ok: invoked {fq}, but the request has not yet finished, with id {id}\n"
                ));
                return Err(CliError::silent(EXIT_TIMED_OUT));
            }
            if header {
                ctx.p(&format!("ok: invoked {fq} with id {id}\n"));
            }
            if blocking {
                ctx.p(&pretty(&inv.body));
            }
            Ok(inv.body)
        }
        Err(e) => {
            if let ClientError::Http {
                status,
                code,
                response,
                ..
            } = &e
            {
                let body = &response.json;
                let is_activation_error = code.is_none()
                    && blocking
                    && (*status == 502 || *status == 500)
                    && (body.get("response").is_some() || body.get("error").is_some());
                if is_activation_error {
                    if header {
                        let id = body
                            .get("activationId")
                            .and_then(Value::as_str)
                            .map(str::to_string)
                            .or_else(|| {
                                response
                                    .header("x-openwhisk-activation-id")
                                    .map(str::to_string)
                            })
                            .unwrap_or_default();
                        ctx.e(&format!("ok: invoked {fq} with id {id}\n"));
                    }
                    ctx.e(&pretty(body));
                    return Err(CliError::silent(http_exit_code(*status)));
                }
            }
            Err(
                CliError::client(&format!("Unable to invoke action '{}'", q.entity_name), &e)
                    .with_usage(true),
            )
        }
    }
}

fn field_of<'v>(v: &'v Value, field: &str) -> Option<&'v Value> {
    v.as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(field))
        .map(|(_, v)| v)
}

const ACTION_FIELDS: &[&str] = &[
    "namespace",
    "name",
    "version",
    "publish",
    "exec",
    "annotations",
    "parameters",
    "limits",
    "error",
    "updated",
];
const TRIGGER_FIELDS: &[&str] = &[
    "namespace",
    "name",
    "version",
    "publish",
    "annotations",
    "parameters",
    "limits",
    "rules",
    "error",
    "updated",
];
const RULE_FIELDS: &[&str] = &[
    "namespace",
    "name",
    "version",
    "publish",
    "annotations",
    "status",
    "trigger",
    "action",
    "updated",
];
const PACKAGE_FIELDS: &[&str] = &[
    "namespace",
    "name",
    "version",
    "publish",
    "annotations",
    "parameters",
    "binding",
    "actions",
    "feeds",
    "updated",
];
const ACTIVATION_FIELDS: &[&str] = &[
    "namespace",
    "name",
    "version",
    "subject",
    "activationid",
    "start",
    "end",
    "duration",
    "statuscode",
    "response",
    "logs",
    "annotations",
    "publish",
    "cause",
];

fn check_field(field: &str, allowed: &[&str]) -> R {
    if allowed.iter().any(|f| f.eq_ignore_ascii_case(field)) {
        Ok(())
    } else {
        Err(CliError::general(format!(
            "Invalid field filter '{field}'."
        )))
    }
}

fn print_got(ctx: &mut Ctx<'_>, what: &str, name: &str, field: Option<&str>, v: &Value) {
    match field {
        Some(f) => {
            ctx.p(&format!("ok: got {what} {name}, displaying field {f}\n"));
            ctx.p(&pretty(field_of(v, f).unwrap_or(&Value::Null)));
        }
        None => {
            ctx.p(&format!("ok: got {what} {name}\n"));
            ctx.p(&pretty(v));
        }
    }
}

fn action_get(
    ctx: &mut Ctx<'_>,
    name: &str,
    field: Option<String>,
    summary: bool,
    url: bool,
    save: bool,
    save_as: Option<String>,
) -> R {
    let field = if url || summary { None } else { field };
    if let Some(f) = &field {
        check_field(f, ACTION_FIELDS)?;
    }
    let q = QName::parse(name, &ctx.ns()?)?;
    let c = ctx.client_ns(&q.namespace)?;
    let fetch_code = save || save_as.is_some();
    let action = c.action_get(&q.entity_name, fetch_code).map_err(|e| {
        CliError::client(&format!("Unable to get action '{}'", q.entity_name), &e).with_usage(true)
    })?;
    if url {
        let p = ctx.props()?;
        let base = whirl_client::normalize_apihost(&p.apihost)
            .map_err(|e| CliError::general(format!("Invalid host address '{}': {e}", p.apihost)))?;
        let ns = s(&action, "namespace")
            .split('/')
            .next()
            .unwrap_or("")
            .to_string();
        let enc = whirl_client::encode_segment;
        let web =
            kv_get(action.get("annotations"), "web-export").and_then(Value::as_bool) == Some(true);
        let u = if web {
            let pkg = if q.package.is_empty() {
                "default".to_string()
            } else {
                q.package.clone()
            };
            format!(
                "{base}/api/{}/web/{}/{}/{}",
                p.apiversion,
                enc(&ns),
                enc(&pkg),
                enc(s(&action, "name"))
            )
        } else if q.package.is_empty() {
            format!(
                "{base}/api/{}/namespaces/{}/actions/{}",
                p.apiversion,
                enc(&ns),
                enc(s(&action, "name"))
            )
        } else {
            format!(
                "{base}/api/{}/namespaces/{}/actions/{}/{}",
                p.apiversion,
                enc(&ns),
                enc(&q.package),
                enc(s(&action, "name"))
            )
        };
        ctx.p(&format!("ok: got action {}\n{u}\n", q.entity));
        return Ok(());
    }
    if summary {
        let t = entity_summary("action", &action, "");
        ctx.p(&t);
        return Ok(());
    }
    if fetch_code {
        return save_code(ctx, &action, save_as);
    }
    print_got(ctx, "action", &q.entity_name, field.as_deref(), &action);
    Ok(())
}

fn save_code(ctx: &mut Ctx<'_>, action: &Value, save_as: Option<String>) -> R {
    let exec = action.get("exec").cloned().unwrap_or(Value::Null);
    let kind = s(&exec, "kind");
    let runtime = kind.split(':').next().unwrap_or("").to_ascii_lowercase();
    let binary = exec.get("binary").and_then(Value::as_bool).unwrap_or(false);
    if runtime == "blackbox" && exec.get("code").is_none() && !binary {
        return Err(CliError::usage("Cannot save Docker images"));
    }
    if runtime == "sequence" {
        return Err(CliError::usage("Cannot save action sequences"));
    }
    let code = s(&exec, "code").to_string();
    let (bytes, ext) = if binary {
        use base64::Engine as _;
        let b = base64::engine::general_purpose::STANDARD
            .decode(code.trim())
            .unwrap_or_default();
        let ext = match runtime.as_str() {
            "java" => ".jar",
            "ballerina" => ".balx",
            _ => ".zip",
        };
        (b, ext.to_string())
    } else {
        let ext = match runtime.as_str() {
            "nodejs" => ".js".to_string(),
            "python" => ".py".to_string(),
            "swift" | "php" => format!(".{runtime}"),
            "ruby" => ".rb".to_string(),
            "rust" => ".rs".to_string(),
            "go" => ".go".to_string(),
            _ => String::new(),
        };
        (code.into_bytes(), ext)
    };
    let filename = save_as.unwrap_or_else(|| format!("{}{ext}", s(action, "name")));
    let path = ctx.env.resolve(&filename);
    if path.exists() {
        return Err(CliError::usage(format!(
            "The file '{filename}' already exists"
        )));
    }
    std::fs::write(&path, bytes)
        .map_err(|e| CliError::general(format!("Unable to write '{filename}': {e}")))?;
    let shown = if path.is_absolute() {
        path
    } else {
        std::env::current_dir()
            .map(|d| d.join(&path))
            .unwrap_or(path)
    };
    ctx.p(&format!("ok: saved action code to {}\n", shown.display()));
    Ok(())
}

/// wsk's `--summary` block.
fn entity_summary(kind: &str, v: &Value, pkg_prefix: &str) -> String {
    let full = if pkg_prefix.is_empty() {
        format!("/{}/{}", s(v, "namespace"), s(v, "name"))
    } else {
        format!("{pkg_prefix}/{}", s(v, "name"))
    };
    let annots = v.get("annotations");
    let tag = if kv_get(annots, "final").and_then(Value::as_bool) == Some(true) {
        "**"
    } else {
        "*"
    };
    let bound: Vec<String> = kv_pairs(v.get("parameters"))
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    let mut union = bound.clone();
    if let Some(ps) = kv_get(annots, "parameters").and_then(Value::as_array) {
        for p in ps {
            if let Some(n) = p.get("name").and_then(Value::as_str) {
                union.push(n.to_string());
            }
        }
    }
    union.sort();
    union.dedup();
    let tagged: Vec<String> = union
        .iter()
        .map(|p| {
            if bound.contains(p) {
                format!("{tag}{p}")
            } else {
                p.clone()
            }
        })
        .collect();
    let params = tagged.join(", ");
    let desc = kv_get(annots, "description")
        .and_then(Value::as_str)
        .unwrap_or("");
    let mut out = if !desc.is_empty() {
        format!("{kind} {full}: {desc}\n")
    } else if !params.is_empty() {
        let plain = params.replace('*', "");
        let parts: Vec<&str> = plain.split(',').collect();
        let d = if parts.len() > 1 {
            let last = parts[parts.len() - 1];
            format!(
                "Returns a result based on parameters {}",
                plain.replacen(&format!(",{last}"), &format!(" and{last}"), 1)
            )
        } else {
            format!("Returns a result based on parameter {plain}")
        };
        format!("{kind} {full}: {d}\n")
    } else {
        format!("{kind} {full}\n")
    };
    let params = if params.is_empty() {
        "none defined".to_string()
    } else {
        params
    };
    out.push_str(&format!("   (parameters: {params})\n"));
    out
}

// ---------------------------------------------------------------------------------- activations

fn last_id(c: &Client) -> R<String> {
    let list = c
        .with_namespace("_")
        .activation_list(&ActivationListOptions {
            limit: 1,
            ..Default::default()
        })
        .map_err(|e| CliError::client("", &e))?;
    list.first()
        .and_then(|a| a.get("activationId"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| {
            CliError::general("Activation list does not contain any activations.").with_usage(true)
        })
}

fn with_last(c: &Client, mut args: Vec<String>, last: bool, what: &str) -> R<Vec<String>> {
    if last {
        let id = last_id(c).map_err(|e| CliError {
            msg: format!("Unable to get {what}: {}", e.msg),
            ..e
        })?;
        args.insert(0, id);
    }
    Ok(args)
}

fn activation(ctx: &mut Ctx<'_>, top: &GlobalOpts, cmd: ActivationCmd) -> R {
    match cmd {
        ActivationCmd::List {
            name,
            skip,
            limit,
            full,
            upto,
            since,
            global,
        } => {
            ctx.set_global(top, &global);
            let ns = ctx.ns()?;
            let name = match &name {
                Some(n) => Some(QName::parse(n, &ns)?.entity_name),
                None => None,
            };
            let c = ctx.auth_client()?.with_namespace("_");
            let opts = ActivationListOptions {
                name,
                limit,
                skip,
                since,
                upto,
                docs: full,
            };
            let acts = c.activation_list(&opts).map_err(|e| {
                CliError::client(
                    &format!(
                        "Unable to obtain the list of activations for namespace '{}'",
                        normalize_ns(&ns)
                    ),
                    &e,
                )
            })?;
            if full {
                let mut t = "activations\n".to_string();
                for a in &acts {
                    t.push_str(&pretty(a));
                }
                ctx.p(&t);
            } else {
                let t = activation_table(&acts);
                ctx.p(&t);
            }
            Ok(())
        }
        ActivationCmd::Get {
            args,
            summary,
            last,
            logs,
            global,
        } => {
            ctx.set_global(top, &global);
            let c = ctx.auth_client()?;
            let args = with_last(&c, args, last, "activation")?;
            check_args(&args, 1, 2, "An activation ID is required.")?;
            let field = args.get(1).cloned();
            if let Some(f) = &field {
                check_field(f, ACTIVATION_FIELDS)?;
            }
            let id = &args[0];
            let a = c
                .with_namespace("_")
                .activation_get(id)
                .map_err(|e| CliError::client(&format!("Unable to get activation '{id}'"), &e))?;
            if summary {
                let resp = a.get("response").cloned().unwrap_or(Value::Null);
                let end = a.get("end").and_then(Value::as_i64).unwrap_or(0);
                ctx.p(&format!(
                    "activation result for '/{}/{}' ({} at {} +0000 UTC)\n",
                    s(&a, "namespace"),
                    s(&a, "name"),
                    s(&resp, "status"),
                    datetime(end / 1000 * 1000)
                ));
                ctx.p(&pretty(resp.get("result").unwrap_or(&Value::Null)));
            } else if logs {
                let mut t = String::new();
                for l in a
                    .get("logs")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    t.push_str(&strip_timestamp(l.as_str().unwrap_or("")));
                    t.push('\n');
                }
                ctx.p(&t);
            } else {
                print_got(ctx, "activation", id, field.as_deref(), &a);
            }
            Ok(())
        }
        ActivationCmd::Logs {
            args,
            last,
            strip,
            global,
        } => {
            ctx.set_global(top, &global);
            let c = ctx.auth_client()?;
            let args = with_last(&c, args, last, "logs for activation")?;
            check_args(&args, 1, 1, "An activation ID is required.")?;
            let id = &args[0];
            let l = c.with_namespace("_").activation_logs(id).map_err(|e| {
                CliError::client(&format!("Unable to get logs for activation '{id}'"), &e)
            })?;
            let mut t = String::new();
            for line in l
                .get("logs")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let line = line.as_str().unwrap_or("");
                t.push_str(&if strip {
                    strip_timestamp(line)
                } else {
                    line.to_string()
                });
                t.push('\n');
            }
            ctx.p(&t);
            Ok(())
        }
        ActivationCmd::Result { args, last, global } => {
            ctx.set_global(top, &global);
            let c = ctx.auth_client()?;
            let args = with_last(&c, args, last, "result for activation")?;
            check_args(&args, 1, 1, "An activation ID is required.")?;
            let id = &args[0];
            let r = c.with_namespace("_").activation_result(id).map_err(|e| {
                CliError::client(&format!("Unable to get result for activation '{id}'"), &e)
            })?;
            ctx.p(&pretty(r.get("result").unwrap_or(&Value::Null)));
            Ok(())
        }
        ActivationCmd::Poll {
            name,
            exit,
            since_seconds,
            since_minutes,
            since_hours,
            since_days,
            global,
        } => {
            ctx.set_global(top, &global);
            let c = ctx.auth_client()?.with_namespace("_");
            poll(
                ctx,
                &c,
                name,
                exit,
                since_seconds + 60 * since_minutes + 3600 * (since_hours + 24 * since_days),
            )
        }
    }
}

fn activation_table(acts: &[Value]) -> String {
    const STATUS: [&str; 4] = [
        "success",
        "application error",
        "developer error",
        "internal error",
    ];
    if acts.is_empty() {
        return "\n".to_string();
    }
    let kind_of = |a: &Value| {
        kv_get(a.get("annotations"), "kind")
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .to_string()
    };
    let status_of = |a: &Value| {
        let c = a.get("statusCode").and_then(Value::as_u64).unwrap_or(0) as usize;
        STATUS.get(c).copied().unwrap_or(STATUS[0])
    };
    let kw = acts
        .iter()
        .map(|a| kind_of(a).len())
        .max()
        .unwrap_or(0)
        .max(4);
    let sw = acts
        .iter()
        .map(|a| status_of(a).len())
        .max()
        .unwrap_or(0)
        .max(7);
    let mut t = format!(
        "{:<19} {:<32} {:<kw$} {:<6}{:<10} {:<sw$} {:<6}\n",
        "Datetime", "Activation ID", "Kind", "Start", "Duration", "Status", "Entity"
    );
    for a in acts {
        let start = a.get("start").and_then(Value::as_i64).unwrap_or(0);
        let dur = a
            .get("duration")
            .and_then(Value::as_i64)
            .or_else(|| {
                a.get("end")
                    .and_then(Value::as_i64)
                    .filter(|e| *e > 0)
                    .map(|e| e - start)
            })
            .unwrap_or(0);
        let cold = kv_get(a.get("annotations"), "initTime").is_some();
        let fqn = format!(
            "{}/{}:{}",
            truncate_mid(s(a, "namespace"), 20),
            truncate_mid(s(a, "name"), 30),
            truncate_mid(s(a, "version"), 20)
        );
        t.push_str(&format!(
            "{} {:<32} {:<kw$} {:<5} {:<10} {:<sw$} {}\n",
            datetime(start),
            s(a, "activationId"),
            kind_of(a),
            if cold { "cold" } else { "warm" },
            go_duration(dur),
            status_of(a),
            fqn
        ));
    }
    t
}

fn poll(ctx: &mut Ctx<'_>, c: &Client, name: Option<String>, exit: u64, since_secs: u64) -> R {
    if ctx.env.catch_signals {
        // Like wsk: Ctrl-C or SIGTERM ends the poll with "Poll terminated" and exit code 1.
        for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            signal_hook::flag::register(sig, Arc::clone(&ctx.env.interrupt))
                .map_err(|e| CliError::general(format!("cannot handle signals: {e}")))?;
        }
    }
    ctx.p("Enter Ctrl-c to exit.\n");
    let mut since: u64 = if since_secs == 0 {
        match c.activation_list(&ActivationListOptions {
            limit: 1,
            docs: true,
            ..Default::default()
        }) {
            Ok(l) => l
                .first()
                .and_then(|a| a.get("start"))
                .and_then(Value::as_u64)
                .map(|s| s + 1)
                .unwrap_or(0),
            Err(_) => now_ms(),
        }
    } else {
        now_ms().saturating_sub(since_secs * 1000)
    };
    ctx.p("Polling for activation logs\n");
    let started = Instant::now();
    let mut reported = std::collections::HashSet::new();
    let interrupted = |ctx: &mut Ctx<'_>| -> R {
        ctx.p("Poll terminated\n");
        Err(CliError::silent(EXIT_GENERAL))
    };
    loop {
        if ctx.env.interrupt.load(Ordering::SeqCst) {
            return interrupted(ctx);
        }
        if exit > 0 && started.elapsed() > Duration::from_secs(exit) {
            return Ok(());
        }
        let opts = ActivationListOptions {
            name: name.clone(),
            since: Some(since),
            docs: true,
            ..Default::default()
        };
        if let Ok(acts) = c.activation_list(&opts) {
            // oldest first so logs stream in order
            for a in acts.iter().rev() {
                let id = s(a, "activationId").to_string();
                if reported.insert(id.clone()) {
                    let logs = a.get("logs").cloned().unwrap_or(json!([]));
                    ctx.p(&format!("\nActivation: '{}' ({id})\n", s(a, "name")));
                    ctx.p(&pretty(&logs));
                }
                if let Some(st) = a.get("start").and_then(Value::as_u64) {
                    if st >= since {
                        since = st + 1;
                    }
                }
            }
        }
        // Sleep in short slices so an interrupt ends the poll at once.
        let wake = Instant::now() + ctx.env.poll_interval;
        while Instant::now() < wake {
            if ctx.env.interrupt.load(Ordering::SeqCst) {
                return interrupted(ctx);
            }
            std::thread::sleep(Duration::from_millis(50).min(ctx.env.poll_interval));
        }
    }
}

// ------------------------------------------------------------------------------------- triggers

fn feed_params(lifecycle: &str, trigger: &QName, auth: &str, user: &[(String, Value)]) -> Value {
    let mut pairs = user.to_vec();
    kv_set(&mut pairs, "lifecycleEvent", json!(lifecycle));
    kv_set(
        &mut pairs,
        "triggerName",
        json!(format!("/{}/{}", trigger.namespace, trigger.entity_name)),
    );
    kv_set(&mut pairs, "authKey", json!(auth));
    to_object(&pairs)
}

fn configure_feed(
    ctx: &mut Ctx<'_>,
    c: &Client,
    trigger: &QName,
    feed: &str,
    payload: &Value,
) -> R {
    let fq = QName::parse(feed, &ctx.ns()?)?;
    let fc = c.with_namespace(&fq.namespace);
    invoke_and_print(ctx, &fc, &fq, payload, true, false, false).map_err(|e| CliError {
        msg: format!("Unable to configure feed '{feed}': {}", e.msg),
        ..e
    })?;
    let _ = trigger;
    Ok(())
}

fn trigger(ctx: &mut Ctx<'_>, top: &GlobalOpts, cmd: TriggerCmd) -> R {
    match cmd {
        TriggerCmd::Fire {
            name,
            payload,
            global,
            ..
        } => {
            ctx.set_global(top, &global);
            let q = QName::parse(&name, &ctx.ns()?)?;
            let mut objs = Vec::new();
            if let Some(p) = &payload {
                let v: Value = serde_json::from_str(p).map_err(|e| {
                    CliError::general(format!("Invalid parameter argument '{p}': {e}"))
                        .with_usage(true)
                })?;
                objs.push(v);
            }
            objs.extend(ctx.kv.params.clone());
            let body = to_object(&merge(&objs));
            let c = ctx.client_ns(&q.namespace)?;
            let inv = c.trigger_fire(&q.entity_name, &body).map_err(|e| {
                CliError::client(&format!("Unable to fire trigger '{}'", q.entity_name), &e)
            })?;
            ctx.p(&format!(
                "ok: triggered /{}/{} with id {}\n",
                q.namespace,
                q.entity_name,
                inv.activation_id.unwrap_or_default()
            ));
            Ok(())
        }
        TriggerCmd::Create(put) => {
            ctx.set_global(top, &put.global);
            trigger_create(ctx, &put)
        }
        TriggerCmd::Update(put) => {
            ctx.set_global(top, &put.global);
            trigger_update(ctx, &put)
        }
        TriggerCmd::Get {
            name,
            field,
            summary,
            global,
        } => {
            ctx.set_global(top, &global);
            if let Some(f) = &field {
                check_field(f, TRIGGER_FIELDS)?;
            }
            let q = QName::parse(&name, &ctx.ns()?)?;
            let c = ctx.client_ns(&q.namespace)?;
            let t = c.trigger_get(&q.entity_name).map_err(|e| {
                CliError::client(&format!("Unable to get trigger '{}'", q.entity_name), &e)
            })?;
            let feed = kv_get(t.get("annotations"), "feed")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            if !feed.is_empty() {
                let auth = c.auth_key().unwrap_or_default();
                let payload = feed_params("READ", &q, &auth, &ctx.params_kv());
                return configure_feed(ctx, &c, &q, &feed, &payload);
            }
            if summary {
                let t = entity_summary("trigger", &t, "");
                ctx.p(&t);
            } else {
                print_got(ctx, "trigger", &q.entity_name, field.as_deref(), &t);
            }
            Ok(())
        }
        TriggerCmd::Delete { name, global } => {
            ctx.set_global(top, &global);
            let q = QName::parse(&name, &ctx.ns()?)?;
            let c = ctx.client_ns(&q.namespace)?;
            trigger_delete(ctx, &c, &q, true)?;
            ctx.p(&format!("ok: deleted trigger {}\n", q.entity_name));
            Ok(())
        }
        TriggerCmd::List {
            namespace,
            list,
            global,
        } => {
            ctx.set_global(top, &global);
            let ns = list_namespace(ctx, namespace.as_deref())?;
            let c = ctx.client_ns(&ns)?;
            let mut items = c
                .trigger_list(ListOptions {
                    limit: list.limit,
                    skip: list.skip,
                })
                .map_err(|e| {
                    CliError::client(
                        &format!(
                            "Unable to obtain the list of triggers for namespace '{}'",
                            normalize_ns(&ns)
                        ),
                        &e,
                    )
                })?;
            if list.name_sort {
                sort_entities(&mut items);
            }
            let t = entity_table("triggers", &items);
            ctx.p(&t);
            Ok(())
        }
    }
}

/// `[NAMESPACE]` argument of list commands: must be `/ns`, not an entity name.
fn list_namespace(ctx: &mut Ctx<'_>, arg: Option<&str>) -> R<String> {
    match arg {
        None => ctx.ns(),
        Some(a) => {
            let q = QName::parse(a, &ctx.ns()?)?;
            if !q.entity_name.is_empty() {
                return Err(CliError::general(format!(
                    "An entity name, '{}', was provided instead of a namespace. Valid namespaces are of the following format: /NAMESPACE.",
                    q.entity_name
                ))
                .with_usage(true));
            }
            Ok(q.namespace)
        }
    }
}

fn trigger_delete(ctx: &mut Ctx<'_>, c: &Client, q: &QName, with_feed: bool) -> R {
    let t = c
        .trigger_get(&q.entity_name)
        .map_err(|e| CliError::client(&format!("Unable to get trigger '{}'", q.entity_name), &e))?;
    let feed = kv_get(t.get("annotations"), "feed")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if with_feed && !feed.is_empty() {
        let auth = c.auth_key().unwrap_or_default();
        let payload = feed_params("DELETE", q, &auth, &ctx.params_kv());
        // wsk ignores feed errors on delete
        let _ = configure_feed(ctx, c, q, &feed, &payload);
    }
    c.trigger_delete(&q.entity_name).map_err(|e| {
        CliError::client(&format!("Unable to delete trigger '{}'", q.entity_name), &e)
    })?;
    Ok(())
}

fn trigger_create(ctx: &mut Ctx<'_>, put: &TriggerPut) -> R {
    let mut all = vec![put.name.clone()];
    all.extend(put.extra.clone());
    check_args(&all, 1, 1, "A trigger name is required.")?;
    let q = QName::parse(&put.name, &ctx.ns()?)?;
    let extended = !ctx.kv.params_given
        && (!ctx.kv.feed_params.is_empty() || !ctx.kv.trigger_params.is_empty());
    if !extended && (!ctx.kv.feed_params.is_empty() || !ctx.kv.trigger_params.is_empty()) {
        return Err(CliError::general(
            "Incorrect usage. Cannot combine --feed-param or --trigger-param flag with neither --param nor --param-file flag",
        )
        .code(EXIT_NOT_ALLOWED));
    }
    let c = ctx.client_ns(&q.namespace)?;
    let auth = c.auth_key().unwrap_or_default();
    let feed_q = match &put.feed {
        Some(f) => Some(QName::parse(f, &ctx.ns()?)?),
        None => None,
    };
    if extended && feed_q.is_none() && !ctx.kv.feed_params.is_empty() {
        return Err(CliError::general(
            "Incorrect usage. Trigger without a feed cannot have feed parameters",
        )
        .code(EXIT_NOT_ALLOWED));
    }
    let mut annots = ctx.annots_kv();
    if let Some(f) = &feed_q {
        kv_set(&mut annots, "feed", json!(f.full()));
    }
    let (trigger_params, user_feed_params) = if extended {
        (merge(&ctx.kv.trigger_params), merge(&ctx.kv.feed_params))
    } else if feed_q.is_some() {
        (Vec::new(), ctx.params_kv())
    } else {
        (ctx.params_kv(), Vec::new())
    };
    let mut body = Map::new();
    body.insert("name".into(), json!(q.entity_name));
    if !annots.is_empty() {
        body.insert("annotations".into(), to_kv_array(&annots));
    }
    if !trigger_params.is_empty() {
        body.insert("parameters".into(), to_kv_array(&trigger_params));
    }
    c.trigger_put(&q.entity_name, &Value::Object(body), false)
        .map_err(|e| {
            CliError::client(&format!("Unable to create trigger '{}'", q.entity_name), &e)
        })?;
    if let Some(fq) = &feed_q {
        let payload = feed_params("CREATE", &q, &auth, &user_feed_params);
        let fc = c.with_namespace(&fq.namespace);
        if let Err(e) = invoke_and_print(ctx, &fc, fq, &payload, true, false, true) {
            // Like wsk: delete the trigger the way `trigger delete` does, which also sends the
            // feed its DELETE event so that it can drop any partial state.
            if trigger_delete(ctx, &c, &q, true).is_ok() {
                ctx.p(&format!("ok: deleted trigger {}\n", q.entity_name));
            }
            return Err(CliError {
                msg: format!(
                    "Unable to create trigger '{}': Unable to configure feed '{}': {}",
                    q.entity_name,
                    fq.full(),
                    if e.msg.is_empty() {
                        "the feed action failed".to_string()
                    } else {
                        e.msg.clone()
                    }
                ),
                quiet: false,
                usage: false,
                ..e
            });
        }
    }
    ctx.p(&format!("ok: created trigger {}\n", q.entity_name));
    Ok(())
}

fn trigger_update(ctx: &mut Ctx<'_>, put: &TriggerPut) -> R {
    let mut all = vec![put.name.clone()];
    all.extend(put.extra.clone());
    check_args(&all, 1, 1, "A trigger name is required.")?;
    let q = QName::parse(&put.name, &ctx.ns()?)?;
    let c = ctx.client_ns(&q.namespace)?;
    let existing = match c.trigger_get(&q.entity_name) {
        Ok(t) => t,
        Err(e) if e.status() == Some(404) => return trigger_create(ctx, put),
        Err(e) => {
            return Err(CliError::client(
                &format!("Unable to get trigger '{}'", q.entity_name),
                &e,
            ));
        }
    };
    let feed = kv_get(existing.get("annotations"), "feed")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let extended = !ctx.kv.params_given
        && (!ctx.kv.feed_params.is_empty() || !ctx.kv.trigger_params.is_empty());
    let auth = c.auth_key().unwrap_or_default();
    if extended {
        let mut body = Map::new();
        body.insert("name".into(), json!(q.entity_name));
        let annots = ctx.annots_kv();
        if !annots.is_empty() {
            body.insert("annotations".into(), to_kv_array(&annots));
        }
        let tp = merge(&ctx.kv.trigger_params);
        if !tp.is_empty() {
            body.insert("parameters".into(), to_kv_array(&tp));
        }
        c.trigger_put(&q.entity_name, &Value::Object(body), true)
            .map_err(|e| {
                CliError::client(&format!("Unable to update trigger '{}'", q.entity_name), &e)
            })?;
        if !ctx.kv.feed_params.is_empty() {
            if feed.is_empty() {
                return Err(CliError::general(format!(
                    "Unable to configure feed '{}': this trigger does not contain a feed",
                    q.entity_name
                )));
            }
            let payload = feed_params("UPDATE", &q, &auth, &merge(&ctx.kv.feed_params));
            configure_feed(ctx, &c, &q, &feed, &payload)?;
        }
    } else if !ctx.kv.feed_params.is_empty() || !ctx.kv.trigger_params.is_empty() {
        return Err(CliError::general(
            "Incorrect usage. Cannot combine --feed-param or --trigger-param flag with neither --param nor --param-file flag",
        )
        .code(EXIT_NOT_ALLOWED));
    } else if !feed.is_empty() {
        let payload = feed_params("UPDATE", &q, &auth, &ctx.params_kv());
        configure_feed(ctx, &c, &q, &feed, &payload).map_err(|e| CliError {
            msg: format!("Unable to create trigger '{}': {}", q.entity_name, e.msg),
            ..e
        })?;
    } else {
        let mut body = Map::new();
        body.insert("name".into(), json!(q.entity_name));
        if ctx.kv.params_given {
            body.insert("parameters".into(), to_kv_array(&ctx.params_kv()));
        }
        if ctx.kv.annotations_given {
            body.insert("annotations".into(), to_kv_array(&ctx.annots_kv()));
        }
        c.trigger_put(&q.entity_name, &Value::Object(body), true)
            .map_err(|e| {
                CliError::client(&format!("Unable to update trigger '{}'", q.entity_name), &e)
            })?;
    }
    ctx.p(&format!("ok: updated trigger {}\n", q.entity_name));
    Ok(())
}

// ---------------------------------------------------------------------------------------- rules

fn rule(ctx: &mut Ctx<'_>, top: &GlobalOpts, cmd: RuleCmd) -> R {
    match cmd {
        RuleCmd::Enable(n) => rule_state(ctx, top, n, "active"),
        RuleCmd::Disable(n) => rule_state(ctx, top, n, "inactive"),
        RuleCmd::Status(n) => {
            ctx.set_global(top, &n.global);
            let q = QName::parse(&n.name, &ctx.ns()?)?;
            let c = ctx.client_ns(&q.namespace)?;
            let r = c.rule_get(&q.entity_name).map_err(|e| {
                CliError::client(
                    &format!("Unable to get status of rule '{}'", q.entity_name),
                    &e,
                )
            })?;
            ctx.p(&format!(
                "ok: rule {} is {}\n",
                q.entity_name,
                s(&r, "status")
            ));
            Ok(())
        }
        RuleCmd::Create(p) => rule_put(ctx, top, p, false),
        RuleCmd::Update(p) => rule_put(ctx, top, p, true),
        RuleCmd::Get {
            name,
            field,
            summary,
            global,
        } => {
            ctx.set_global(top, &global);
            if let Some(f) = &field {
                check_field(f, RULE_FIELDS)?;
            }
            let q = QName::parse(&name, &ctx.ns()?)?;
            let c = ctx.client_ns(&q.namespace)?;
            let r = c.rule_get(&q.entity_name).map_err(|e| {
                CliError::client(&format!("Unable to get rule '{}'", q.entity_name), &e)
            })?;
            if summary {
                ctx.p(&format!(
                    "rule /{}/{}\n   (status: {})\n",
                    s(&r, "namespace"),
                    s(&r, "name"),
                    s(&r, "status")
                ));
            } else {
                print_got(ctx, "rule", &q.entity_name, field.as_deref(), &r);
            }
            Ok(())
        }
        RuleCmd::Delete {
            name,
            disable,
            global,
        } => {
            ctx.set_global(top, &global);
            let q = QName::parse(&name, &ctx.ns()?)?;
            let c = ctx.client_ns(&q.namespace)?;
            if disable {
                c.rule_set_state(&q.entity_name, "inactive").map_err(|e| {
                    CliError::client(&format!("Unable to disable rule '{}'", q.entity_name), &e)
                })?;
            }
            c.rule_delete(&q.entity_name).map_err(|e| {
                CliError::client(&format!("Unable to delete rule '{}'", q.entity_name), &e)
            })?;
            ctx.p(&format!("ok: deleted rule {}\n", q.entity_name));
            Ok(())
        }
        RuleCmd::List {
            namespace,
            list,
            global,
        } => {
            ctx.set_global(top, &global);
            let ns = list_namespace(ctx, namespace.as_deref())?;
            let c = ctx.client_ns(&ns)?;
            let mut items = c
                .rule_list(ListOptions {
                    limit: list.limit,
                    skip: list.skip,
                })
                .map_err(|e| {
                    CliError::client(
                        &format!(
                            "Unable to obtain the list of rules for namespace '{}'",
                            normalize_ns(&ns)
                        ),
                        &e,
                    )
                })?;
            fill_rule_status(&c, &mut items)?;
            if list.name_sort {
                sort_entities(&mut items);
            }
            let t = entity_table("rules", &items);
            ctx.p(&t);
            Ok(())
        }
    }
}

fn fill_rule_status(c: &Client, items: &mut [Value]) -> R {
    for r in items.iter_mut() {
        let name = s(r, "name").to_string();
        let got = c
            .rule_get(&name)
            .map_err(|e| CliError::client(&format!("Unable to get status of rule '{name}'"), &e))?;
        if let Some(o) = r.as_object_mut() {
            o.insert(
                "status".into(),
                got.get("status").cloned().unwrap_or(Value::Null),
            );
        }
    }
    Ok(())
}

fn rule_state(ctx: &mut Ctx<'_>, top: &GlobalOpts, n: NameOnly, state: &str) -> R {
    ctx.set_global(top, &n.global);
    let q = QName::parse(&n.name, &ctx.ns()?)?;
    let c = ctx.client_ns(&q.namespace)?;
    let (verb, done) = if state == "active" {
        ("enable", "enabled")
    } else {
        ("disable", "disabled")
    };
    c.rule_set_state(&q.entity_name, state)
        .map_err(|e| CliError::client(&format!("Unable to {verb} rule '{}'", q.entity_name), &e))?;
    ctx.p(&format!("ok: {done} rule {}\n", q.entity_name));
    Ok(())
}

fn rule_put(ctx: &mut Ctx<'_>, top: &GlobalOpts, p: RulePut, update: bool) -> R {
    ctx.set_global(top, &p.global);
    check_args(
        &p.args,
        3,
        3,
        "A rule, trigger and action name are required.",
    )?;
    let ns = ctx.ns()?;
    let q = QName::parse(&p.args[0], &ns)?;
    let body = json!({
        "name": q.entity_name,
        "trigger": qualify(&p.args[1], &ns),
        "action": qualify(&p.args[2], &ns),
    });
    let c = ctx.client_ns(&q.namespace)?;
    let (verb, done) = if update {
        ("update", "updated")
    } else {
        ("create", "created")
    };
    c.rule_put(&q.entity_name, &body, update)
        .map_err(|e| CliError::client(&format!("Unable to {verb} rule '{}'", q.entity_name), &e))?;
    ctx.p(&format!("ok: {done} rule {}\n", q.entity_name));
    Ok(())
}

// ------------------------------------------------------------------------------------- packages

fn parse_shared(v: Option<&str>) -> R<Option<bool>> {
    match v.map(str::to_ascii_lowercase).as_deref() {
        None | Some("") => Ok(None),
        Some("yes") => Ok(Some(true)),
        Some("no") => Ok(Some(false)),
        Some(_) => Err(CliError::general(format!(
            "Cannot use value '{}' for shared.",
            v.unwrap_or("")
        ))
        .with_usage(true)),
    }
}

fn package(ctx: &mut Ctx<'_>, top: &GlobalOpts, cmd: PackageCmd) -> R {
    match cmd {
        PackageCmd::Bind {
            package,
            binding,
            overwrite,
            global,
            ..
        } => {
            ctx.set_global(top, &global);
            let ns = ctx.ns()?;
            let pq = QName::parse(&package, &ns)?;
            let bq = QName::parse(&binding, &ns)?;
            let mut body = Map::new();
            body.insert("name".into(), json!(bq.entity_name));
            body.insert(
                "binding".into(),
                json!({"namespace": pq.namespace, "name": pq.entity_name}),
            );
            let params = ctx.params_kv();
            if !params.is_empty() {
                body.insert("parameters".into(), to_kv_array(&params));
            }
            let annots = ctx.annots_kv();
            if !annots.is_empty() {
                body.insert("annotations".into(), to_kv_array(&annots));
            }
            let c = ctx.client_ns(&bq.namespace)?;
            c.package_put(&bq.entity_name, &Value::Object(body), overwrite)
                .map_err(|e| CliError::client("Binding creation failed", &e))?;
            ctx.p(&format!("ok: created binding {binding}\n"));
            Ok(())
        }
        PackageCmd::Create(p) => package_put(ctx, top, p, false),
        PackageCmd::Update(p) => package_put(ctx, top, p, true),
        PackageCmd::Get {
            name,
            field,
            summary,
            global,
        } => {
            ctx.set_global(top, &global);
            if let Some(f) = &field {
                check_field(f, PACKAGE_FIELDS)?;
            }
            let q = QName::parse(&name, &ctx.ns()?)?;
            let c = ctx.client_ns(&q.namespace)?;
            let p = c.package_get(&q.entity_name).map_err(|e| {
                CliError::client(&format!("Unable to get package '{}'", q.entity_name), &e)
            })?;
            if summary {
                let full = format!("/{}/{}", s(&p, "namespace"), s(&p, "name"));
                let mut t = entity_summary("package", &p, "");
                for a in p
                    .get("actions")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    t.push_str(&entity_summary(" action", a, &full));
                }
                for f in p
                    .get("feeds")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    t.push_str(&entity_summary("feed  ", f, &full));
                }
                ctx.p(&t);
            } else {
                print_got(ctx, "package", &q.entity_name, field.as_deref(), &p);
            }
            Ok(())
        }
        PackageCmd::Delete {
            name,
            force,
            global,
        } => {
            ctx.set_global(top, &global);
            let q = QName::parse(&name, &ctx.ns()?)?;
            let c = ctx.client_ns(&q.namespace)?;
            c.package_delete(&q.entity_name, force).map_err(|e| {
                CliError::client(&format!("Unable to delete package '{}'", q.entity_name), &e)
            })?;
            ctx.p(&format!("ok: deleted package {}\n", q.entity_name));
            Ok(())
        }
        PackageCmd::List {
            namespace,
            list,
            global,
        } => {
            ctx.set_global(top, &global);
            let ns = list_namespace(ctx, namespace.as_deref())?;
            let c = ctx.client_ns(&ns)?;
            let mut items = c
                .package_list(ListOptions {
                    limit: list.limit,
                    skip: list.skip,
                })
                .map_err(|e| {
                    CliError::client(
                        &format!(
                            "Unable to obtain the list of packages for namespace '{}'",
                            normalize_ns(&ns)
                        ),
                        &e,
                    )
                })?;
            if list.name_sort {
                sort_entities(&mut items);
            }
            let t = entity_table("packages", &items);
            ctx.p(&t);
            Ok(())
        }
    }
}

fn package_put(ctx: &mut Ctx<'_>, top: &GlobalOpts, p: PackagePut, update: bool) -> R {
    ctx.set_global(top, &p.global);
    let q = QName::parse(&p.name, &ctx.ns()?)?;
    let shared = parse_shared(p.shared.as_deref())?;
    let mut body = Map::new();
    body.insert("namespace".into(), json!(q.namespace));
    body.insert("name".into(), json!(q.entity_name));
    let params = ctx.params_kv();
    if !params.is_empty() {
        body.insert("parameters".into(), to_kv_array(&params));
    }
    let annots = ctx.annots_kv();
    if !annots.is_empty() {
        body.insert("annotations".into(), to_kv_array(&annots));
    }
    if let Some(sh) = shared {
        body.insert("publish".into(), json!(sh));
    }
    let c = ctx.client_ns(&q.namespace)?;
    let (verb, done) = if update {
        ("update", "updated")
    } else {
        ("create", "created")
    };
    c.package_put(&q.entity_name, &Value::Object(body), update)
        .map_err(|e| {
            CliError::client(&format!("Unable to {verb} package '{}'", q.entity_name), &e)
        })?;
    ctx.p(&format!("ok: {done} package {}\n", q.entity_name));
    Ok(())
}

// ----------------------------------------------------------------------------------- namespaces

fn namespace_list(ctx: &mut Ctx<'_>) -> R {
    let c = ctx.auth_client()?;
    let names = c
        .namespaces()
        .map_err(|e| CliError::client("Unable to obtain the list of available namespaces", &e))?;
    let mut t = "namespaces\n".to_string();
    for n in names {
        t.push_str(&n);
        t.push('\n');
    }
    ctx.p(&t);
    Ok(())
}

fn namespace_get(ctx: &mut Ctx<'_>, g: &NamespaceGet) -> R {
    let ns = match g.namespace.as_deref() {
        None | Some("/_") => ctx.ns()?,
        Some(n) => {
            let q = QName::parse(n, &ctx.ns()?)?;
            if !q.entity_name.is_empty() {
                return Err(
                    CliError::general("Invalid argument(s). No arguments are required.")
                        .with_usage(true),
                );
            }
            q.namespace
        }
    };
    let c = ctx.client_ns(&ns)?;
    let all = ListOptions { limit: 0, skip: 0 };
    let shown = normalize_ns(&ns);
    let err = |kind: &str, e: ClientError| {
        let _ = kind;
        CliError::client(
            &format!("Unable to obtain the list of entities for namespace '{shown}'"),
            &e,
        )
    };
    let mut packages = c.package_list(all).map_err(|e| err("Packages", e))?;
    let mut actions = c.action_list(None, all).map_err(|e| err("Actions", e))?;
    let mut triggers = c.trigger_list(all).map_err(|e| err("Triggers", e))?;
    let mut rules = c.rule_list(all).map_err(|e| err("Rules", e))?;
    fill_rule_status(&c, &mut rules)?;
    if g.name_sort {
        for v in [&mut packages, &mut actions, &mut triggers, &mut rules] {
            sort_entities(v);
        }
    }
    let mut t = format!("Entities in namespace: {shown}\n");
    t.push_str(&entity_table("packages", &packages));
    t.push_str(&entity_table("actions", &actions));
    t.push_str(&entity_table("triggers", &triggers));
    t.push_str(&entity_table("rules", &rules));
    ctx.p(&t);
    Ok(())
}

// ----------------------------------------------------------------------------------- properties

fn property(ctx: &mut Ctx<'_>, top: &GlobalOpts, cmd: PropertyCmd) -> R {
    match cmd {
        PropertyCmd::Set {
            auth,
            cert,
            key,
            apihost,
            apiversion,
            insecure,
            verbose,
            debug,
            namespace,
        } => {
            let mut leaf = GlobalOpts {
                insecure,
                verbose,
                debug,
                ..GlobalOpts::default()
            };
            leaf.auth = None;
            ctx.set_global(top, &leaf);
            let auth = auth.or_else(|| top.auth.clone());
            let cert = cert.or_else(|| top.cert.clone());
            let key = key.or_else(|| top.key.clone());
            let apihost = apihost.or_else(|| top.apihost.clone());
            let apiversion = apiversion.or_else(|| top.apiversion.clone());
            let path = ctx.env.props_path().ok_or_else(|| {
                CliError::general(
                    "Unable to set the property value: no home directory and no WSK_CONFIG_FILE",
                )
            })?;
            let mut props = PropsFile::read(&path)
                .map_err(|e| CliError::general(format!("Unable to set the property value: {e}")))?;
            let mut msg = String::new();
            let mut failure = None;
            if let Some(v) = cert.filter(|v| !v.is_empty()) {
                props.set("CERT", &v);
                msg.push_str(
                    "ok: client cert set. Run 'wsk property get --cert' to see the new value.\n",
                );
            }
            if let Some(v) = key.filter(|v| !v.is_empty()) {
                props.set("KEY", &v);
                msg.push_str(
                    "ok: client key set. Run 'wsk property get --key' to see the new value.\n",
                );
            }
            if let Some(v) = auth.filter(|v| !v.is_empty()) {
                props.set("AUTH", &v);
                msg.push_str(
                    "ok: whisk auth set. Run 'wsk property get --auth' to see the new value.\n",
                );
            }
            if let Some(v) = apihost.filter(|v| !v.is_empty()) {
                match whirl_client::normalize_apihost(&v) {
                    Ok(_) => {
                        props.set("APIHOST", &v);
                        msg.push_str(&format!("ok: whisk API host set to {v}\n"));
                    }
                    Err(e) => {
                        failure = Some(
                            CliError::general(format!(
                                "Unable to set API host value; the API host value '{v}' is invalid: {e}"
                            ))
                            .with_usage(true),
                        )
                    }
                }
            }
            if let Some(v) = apiversion.filter(|v| !v.is_empty()) {
                props.set("APIVERSION", &v);
                msg.push_str(&format!("ok: whisk API version set to {v}\n"));
            }
            if let Some(v) = namespace.filter(|v| !v.is_empty()) {
                props.set("NAMESPACE", &v);
                msg.push_str(&format!("ok: whisk namespace set to {v}\n"));
            }
            props.write(&path).map_err(|e| {
                CliError::general(format!("Unable to set the property value(s): {e}"))
            })?;
            ctx.p(&msg);
            match failure {
                Some(f) => Err(f),
                None => Ok(()),
            }
        }
        PropertyCmd::Unset {
            sel,
            namespace,
            verbose,
        } => {
            let leaf = GlobalOpts {
                verbose,
                ..GlobalOpts::default()
            };
            ctx.set_global(top, &leaf);
            let path = ctx.env.props_path().ok_or_else(|| {
                CliError::general("Unable to unset the property value: no home directory")
            })?;
            let mut props = PropsFile::read(&path).map_err(|e| {
                CliError::general(format!("Unable to unset the property value: {e}"))
            })?;
            let mut msg = String::new();
            if sel.cert {
                props.unset("CERT");
                msg.push_str("ok: client cert unset.\n");
            }
            if sel.key {
                props.unset("KEY");
                msg.push_str("ok: client key unset.\n");
            }
            if sel.auth {
                props.unset("AUTH");
                msg.push_str("ok: whisk auth unset.\n");
            }
            if sel.apihost {
                props.unset("APIHOST");
                msg.push_str("ok: whisk API host unset.\n");
            }
            if sel.apiversion {
                props.unset("APIVERSION");
                msg.push_str(
                    "ok: whisk API version unset; the default value of v1 will be used.\n",
                );
            }
            if namespace {
                props.unset("NAMESPACE");
                msg.push_str("ok: whisk namespace unset; the default value of _ will be used.\n");
            }
            props.write(&path).map_err(|e| {
                CliError::general(format!("Unable to unset the property value: {e}"))
            })?;
            ctx.p(&msg);
            Ok(())
        }
        PropertyCmd::Get {
            sel,
            apibuild,
            apibuildno,
            cliversion,
            namespace,
            all,
            output,
            insecure,
            verbose,
        } => {
            let leaf = GlobalOpts {
                insecure,
                verbose,
                ..GlobalOpts::default()
            };
            ctx.set_global(top, &leaf);
            let raw = match output.as_str() {
                "std" => false,
                "raw" => true,
                _ => return Err(CliError::general("Supported output format are std|raw")),
            };
            let any = sel.cert
                || sel.key
                || sel.auth
                || sel.apihost
                || sel.apiversion
                || apibuild
                || apibuildno
                || cliversion
                || namespace;
            let all = all || !any;
            if all && raw {
                return Err(CliError::general(
                    "--output|-o raw only supported with specific property type",
                ));
            }
            let p = ctx.props()?;
            let cli_version = env!("CARGO_PKG_VERSION").to_string();
            let line = |label: &str, v: &str, tabs: &str| {
                if raw {
                    format!("{v}\n")
                } else {
                    format!("{label}{tabs}{v}\n")
                }
            };
            let mut t = String::new();
            let need_ns = all || namespace;
            let ns_value = if need_ns {
                match ctx
                    .client()
                    .and_then(|c| c.namespaces().map_err(|e| CliError::client("", &e)))
                {
                    Ok(v) if !v.is_empty() => v[0].clone(),
                    _ => "_".to_string(),
                }
            } else {
                String::new()
            };
            if all {
                t.push_str(&line("whisk API host", &p.apihost, "\t\t"));
                t.push_str(&line("whisk auth", &p.auth, "\t\t"));
                t.push_str(&line("whisk namespace", &ns_value, "\t\t"));
                t.push_str(&line("client cert", &p.cert, "\t\t"));
                t.push_str(&line("Client key", &p.key, "\t\t"));
                t.push_str(&line("whisk API version", &p.apiversion, "\t"));
                t.push_str(&line("whisk CLI version", &cli_version, "\t"));
            } else {
                if sel.apihost {
                    t.push_str(&line("whisk API host", &p.apihost, "\t\t"));
                }
                if sel.auth {
                    t.push_str(&line("whisk auth", &p.auth, "\t\t"));
                }
                if namespace {
                    t.push_str(&line("whisk namespace", &ns_value, "\t\t"));
                }
                if sel.cert {
                    t.push_str(&line("client cert", &p.cert, "\t\t"));
                }
                if sel.key {
                    t.push_str(&line("Client key", &p.key, "\t\t"));
                }
                if cliversion {
                    t.push_str(&line("whisk CLI version", &cli_version, "\t"));
                }
                if sel.apiversion {
                    t.push_str(&line("whisk API version", &p.apiversion, "\t"));
                }
            }
            let mut failure = None;
            if all || apibuild || apibuildno {
                let info = ctx
                    .client()
                    .and_then(|c| c.api_info().map_err(|e| CliError::client("", &e)));
                let (build, buildno) = match &info {
                    Ok(i) => (
                        i.get("build").map(json_text).unwrap_or_default(),
                        i.get("buildno").map(json_text).unwrap_or_default(),
                    ),
                    Err(e) => {
                        failure = Some(CliError {
                            msg: format!("Unable to obtain API build information: {}", e.msg),
                            usage: false,
                            ..e.clone()
                        });
                        ("Unknown".to_string(), "Unknown".to_string())
                    }
                };
                if all {
                    t.push_str(&line("whisk API build", &build, "\t\t"));
                    t.push_str(&line("whisk API build number", &buildno, "\t"));
                } else {
                    if apibuild {
                        t.push_str(&line("whisk API build", &build, "\t\t"));
                    }
                    if apibuildno {
                        t.push_str(&line("whisk API build number", &buildno, "\t"));
                    }
                }
            }
            ctx.p(&t);
            match failure {
                Some(f) => Err(f),
                None => Ok(()),
            }
        }
    }
}

fn json_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qualified_names() {
        let q = QName::parse("hello", "_").unwrap();
        assert_eq!(
            (
                q.namespace.as_str(),
                q.package.as_str(),
                q.entity_name.as_str()
            ),
            ("_", "", "hello")
        );
        let q = QName::parse("pkg/hello", "_").unwrap();
        assert_eq!(
            (
                q.package.as_str(),
                q.entity.as_str(),
                q.entity_name.as_str()
            ),
            ("pkg", "hello", "pkg/hello")
        );
        let q = QName::parse("/guest/pkg/hello", "_").unwrap();
        assert_eq!(
            (q.namespace.as_str(), q.entity_name.as_str()),
            ("guest", "pkg/hello")
        );
        let q = QName::parse("guest/pkg/hello", "_").unwrap();
        assert_eq!(q.namespace, "guest");
        let q = QName::parse("/guest", "_").unwrap();
        assert_eq!(
            (q.namespace.as_str(), q.entity_name.as_str()),
            ("guest", "")
        );
        let q = QName::parse("/guest/t", "_").unwrap();
        assert_eq!(q.full(), "/guest/t");
        assert!(QName::parse("", "_").is_err());
        assert!(QName::parse("/a/b/c/d", "_").is_err());
        assert!(QName::parse("/a//c", "_").is_err());
        assert_eq!(qualify("t", "_"), "/_/t");
        assert_eq!(qualify("ns/p/a", "_"), "/ns/p/a");
        assert_eq!(qualify("/x/a", "_"), "/x/a");
    }
}
