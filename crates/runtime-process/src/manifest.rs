//! The runtime manifest: which kinds this machine can run and how.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};

/// Which launcher speaks the ActionLoop protocol for a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LauncherKind {
    Nodejs,
    Python,
    /// Native executables (`blackbox` + dockerskeleton, `--native`), run by a POSIX sh launcher.
    Native,
}

/// Prewarmed containers of a kind (OpenWhisk `stemCells`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StemCell {
    pub count: u32,
    pub memory_mb: u32,
}

/// One runtime kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindSpec {
    /// `nodejs:20`, `python:3.11`, `blackbox`.
    pub kind: String,
    /// `nodejs`, `python`, `blackbox`.
    pub family: String,
    /// The family's default kind (what `family:default` resolves to).
    pub default: bool,
    /// Other names accepted for this kind (`nodejs:default`, `python:3`).
    #[serde(default)]
    pub aliases: Vec<String>,
    pub launcher: LauncherKind,
    /// Real interpreter binary (resolved, not a shim); `/bin/sh` for native.
    pub interpreter: PathBuf,
    /// Interpreter version as reported by the interpreter.
    #[serde(default)]
    pub version: String,
    /// Host paths bound read-only into the sandbox for this kind (the interpreter install prefix).
    #[serde(default)]
    pub ro_paths: Vec<PathBuf>,
    #[serde(default)]
    pub stem_cells: Vec<StemCell>,
    /// Extra environment of the launcher process (e.g. python's site-packages directories).
    #[serde(default)]
    pub env: std::collections::BTreeMap<String, String>,
}

/// All kinds this machine runs, plus the host paths every sandbox sees read-only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeManifest {
    pub kinds: Vec<KindSpec>,
    /// System paths bound read-only into every sandbox (shared libraries, sh, certificates).
    #[serde(default)]
    pub system_ro_paths: Vec<PathBuf>,
}

const SYSTEM_PATHS: &[&str] = &[
    "/bin",
    "/sbin",
    "/usr",
    "/lib",
    "/lib64",
    "/lib32",
    "/etc/ssl",
    "/etc/ca-certificates",
    "/etc/pki",
    "/etc/alternatives",
    "/etc/ld.so.cache",
    "/etc/localtime",
    "/etc/resolv.conf",
    "/etc/hosts",
    "/etc/nsswitch.conf",
    "/etc/mime.types",
];

impl RuntimeManifest {
    /// Finds the machine's real node and python interpreters (env `WHIRL_NODE` / `WHIRL_PYTHON`
    /// override the search), plus the always available native kind (`blackbox`).
    pub fn detect() -> Self {
        let mut kinds = Vec::new();
        if let Some(k) = detect_node() {
            kinds.push(k);
        }
        if let Some(k) = detect_python() {
            kinds.push(k);
        }
        kinds.push(KindSpec {
            kind: "blackbox".into(),
            family: "blackbox".into(),
            default: true,
            aliases: vec![],
            launcher: LauncherKind::Native,
            interpreter: PathBuf::from("/bin/sh"),
            version: String::new(),
            ro_paths: vec![],
            stem_cells: vec![],
            env: Default::default(),
        });
        let system_ro_paths = SYSTEM_PATHS
            .iter()
            .map(PathBuf::from)
            .filter(|p| p.exists())
            .collect();
        RuntimeManifest {
            kinds,
            system_ro_paths,
        }
    }

    /// Resolves a kind name or alias (`nodejs:default`, `python:3`) to its spec.
    pub fn resolve(&self, kind: &str) -> Option<&KindSpec> {
        self.kinds.iter().find(|k| k.kind == kind).or_else(|| {
            self.kinds
                .iter()
                .find(|k| k.aliases.iter().any(|a| a == kind))
        })
    }

    /// Kinds of a family's default (`nodejs` → `nodejs:20`).
    pub fn default_for_family(&self, family: &str) -> Option<&KindSpec> {
        self.kinds.iter().find(|k| k.family == family && k.default)
    }
}

fn find_in_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for n in names {
            let p = dir.join(n);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

fn run_capture(exe: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new(exe).args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    String::from_utf8(out.stdout).ok()
}

/// The install prefix of an interpreter binary `<prefix>/bin/<exe>`.
fn prefix_of(exe: &Path) -> Option<PathBuf> {
    let bin = exe.parent()?;
    if bin.file_name()? == "bin" {
        bin.parent().map(Path::to_path_buf)
    } else {
        Some(bin.to_path_buf())
    }
}

fn detect_node() -> Option<KindSpec> {
    let exe = std::env::var_os("WHIRL_NODE")
        .map(PathBuf::from)
        .or_else(|| find_in_path(&["node", "nodejs"]))?;
    let out = run_capture(
        &exe,
        &[
            "-e",
            "console.log(process.version + ' ' + process.execPath)",
        ],
    )?;
    let (version, real) = out.trim().split_once(' ')?;
    let real = PathBuf::from(real).canonicalize().ok()?;
    let major = version
        .trim_start_matches('v')
        .split('.')
        .next()?
        .to_string();
    Some(KindSpec {
        kind: format!("nodejs:{major}"),
        family: "nodejs".into(),
        default: true,
        aliases: vec!["nodejs:default".into(), "nodejs".into()],
        launcher: LauncherKind::Nodejs,
        ro_paths: prefix_of(&real).into_iter().collect(),
        interpreter: real,
        version: version.to_string(),
        stem_cells: vec![StemCell {
            count: 2,
            memory_mb: 256,
        }],
        env: Default::default(),
    })
}

fn detect_python() -> Option<KindSpec> {
    let exe = std::env::var_os("WHIRL_PYTHON")
        .map(PathBuf::from)
        .or_else(|| find_in_path(&["python3", "python"]))?;
    // Ask python itself: a pyenv shim resolves to the real interpreter this way.
    let out = run_capture(
        &exe,
        &[
            "-c",
            "import sys, platform, site, os; print(sys.executable); print(sys.base_prefix); print(platform.python_version()); print(os.pathsep.join(site.getsitepackages()))",
        ],
    )?;
    let mut lines = out.lines();
    let real = PathBuf::from(lines.next()?).canonicalize().ok()?;
    let base_prefix = PathBuf::from(lines.next()?);
    let version = lines.next()?.trim().to_string();
    let site_dirs = lines.next().unwrap_or("").trim().to_string();
    let mut parts = version.split('.');
    let (major, minor) = (parts.next()?.to_string(), parts.next()?.to_string());
    let mut ro_paths = vec![base_prefix.canonicalize().unwrap_or(base_prefix)];
    if let Some(p) = prefix_of(&real) {
        if !ro_paths.iter().any(|r| p.starts_with(r)) {
            ro_paths.push(p);
        }
    }
    Some(KindSpec {
        kind: format!("python:{major}.{minor}"),
        family: "python".into(),
        default: true,
        aliases: vec![
            format!("python:{major}"),
            "python:default".into(),
            "python".into(),
        ],
        launcher: LauncherKind::Python,
        interpreter: real,
        version,
        ro_paths,
        stem_cells: vec![StemCell {
            count: 1,
            memory_mb: 256,
        }],
        // The launcher runs with `-S` (no `site` start-up: it costs tens of milliseconds, mostly
        // `.pth` processing) and puts these directories on `sys.path` itself.
        env: [("WHIRL_PYTHON_SITE".to_string(), site_dirs)]
            .into_iter()
            .collect(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn detect_finds_real_interpreters() {
        let m = RuntimeManifest::detect();
        let json = serde_json::to_string(&m).unwrap();
        let back: RuntimeManifest = serde_json::from_str(&json).unwrap();
        assert_eq!(back, m);
        assert_eq!(
            m.resolve("blackbox").unwrap().launcher,
            LauncherKind::Native
        );
        if let Some(py) = m.resolve("python:default") {
            assert!(!py.interpreter.to_string_lossy().contains("/shims/"));
            assert!(py.interpreter.is_file());
            assert!(py.kind.starts_with("python:3."));
        }
        if let Some(node) = m.resolve("nodejs:default") {
            assert!(node.interpreter.is_file());
        }
    }
}
