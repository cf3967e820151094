#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

#[allow(unused_imports)]
pub use whirl_runtime::behaviour::*;
use whirl_runtime_process::*;

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
