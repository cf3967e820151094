#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{Cursor, Write};
use std::time::Duration;

use base64::Engine;
use serde_json::{json, Value};
use whirl_runtime::*;

pub mod suite;

pub const T: Duration = Duration::from_secs(20);
pub const LOG_LIMIT: u64 = 10 * 1024 * 1024;

pub struct Env {
    pub dir: tempfile::TempDir,
    pub factory: ProcessFactory,
}

pub fn plain() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let cfg = ProcessFactoryConfig::new(dir.path(), RuntimeManifest::detect(), Isolation::None);
    let factory = ProcessFactory::new(cfg).unwrap();
    Env { dir, factory }
}

pub fn spec(id: &str, kind: &str) -> ContainerSpec {
    ContainerSpec {
        id: format!("{id}-{}", std::process::id()),
        kind: kind.into(),
        memory_mb: 256,
        api_host: "http://127.0.0.1:3233".into(),
        prewarm: false,
    }
}

pub fn act_env() -> ActivationEnv {
    ActivationEnv {
        namespace: "guest".into(),
        action_name: "/guest/hello".into(),
        action_version: "0.0.1".into(),
        activation_id: "a1b2c3".into(),
        transaction_id: "tid".into(),
        deadline: "1700000060000".into(),
        api_key: Some("uuid:key".into()),
    }
}

pub fn init_req(code: &str, main: &str) -> InitRequest {
    InitRequest {
        name: "hello".into(),
        main: main.into(),
        code: code.into(),
        binary: false,
        env: [("__OW_NAMESPACE".to_string(), "guest".to_string())].into(),
    }
}

pub fn zip_req(files: &[(&str, &str, u32)], main: &str) -> InitRequest {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, data, mode) in files {
        w.start_file(
            *name,
            zip::write::SimpleFileOptions::default().unix_permissions(*mode),
        )
        .unwrap();
        w.write_all(data.as_bytes()).unwrap();
    }
    let bytes = w.finish().unwrap().into_inner();
    InitRequest {
        name: "zipped".into(),
        main: main.into(),
        code: base64::engine::general_purpose::STANDARD.encode(bytes),
        binary: true,
        env: Default::default(),
    }
}

pub fn run_req(v: Value) -> RunRequest {
    RunRequest::from_value(&v, act_env())
}

/// Creates a container of `kind`, initializes it with `init`, asserting success.
pub async fn ready(
    f: &ProcessFactory,
    id: &str,
    kind: &str,
    init: InitRequest,
) -> Box<dyn Container> {
    let mut c = f.create(spec(id, kind)).await.unwrap();
    let out = c.init(init, T).await;
    assert_eq!(
        out.status,
        ActivationStatus::Success,
        "init failed: {out:?}"
    );
    c
}

pub async fn run(c: &mut Box<dyn Container>, v: Value) -> RunOutcome {
    c.run(run_req(v), T, LOG_LIMIT).await
}

pub fn texts(logs: &[String]) -> Vec<String> {
    logs.iter().map(|l| l[31..].to_string()).collect()
}

pub fn err_msg(out: &Outcome) -> String {
    match out.result.get("error") {
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
        None => json!(null).to_string(),
    }
}
