//! The kinds this platform accepts (the controller's view of the runtime manifest): validation of
//! `exec.kind`, `family:default` resolution, aliases, and the `runtimes` map of `GET /`.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::messages;

pub const BLACKBOX: &str = "blackbox";
pub const SEQUENCE: &str = "sequence";
/// Actions the controller itself runs (the `/whisk.system/alarms` feeds): written only by the
/// catalog at bootstrap, never accepted in a PUT.
pub const BUILTIN: &str = "builtin";
/// The image `wsk action create --native` sends.
pub const NATIVE_IMAGE: &str = "openwhisk/dockerskeleton";

/// One runtime kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeKind {
    pub kind: String,
    pub family: String,
    #[serde(default)]
    pub default: bool,
    #[serde(default)]
    pub deprecated: bool,
    #[serde(default)]
    pub require_main: bool,
    /// Other names accepted on input and stored as `kind` (e.g. `python:3`).
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Extra facts shown in `GET /` (interpreter, version, stem cells).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
}

/// The accepted kinds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Runtimes {
    pub kinds: Vec<RuntimeKind>,
}

impl Default for Runtimes {
    /// The kinds Whirl's process backend runs with this project's launchers.
    fn default() -> Self {
        let k = |kind: &str, family: &str, aliases: &[&str]| RuntimeKind {
            kind: kind.into(),
            family: family.into(),
            default: true,
            deprecated: false,
            require_main: false,
            aliases: aliases.iter().map(|s| s.to_string()).collect(),
            details: None,
        };
        Self {
            kinds: vec![
                k("nodejs:20", "nodejs", &[]),
                k("python:3.11", "python", &["python:3"]),
            ],
        }
    }
}

impl Runtimes {
    /// Resolve an input kind (`nodejs:20`, `nodejs:default`, an alias) to the stored kind.
    /// `blackbox` and `sequence` are handled by the caller. Errors carry OpenWhisk's message.
    pub fn resolve(&self, kind: &str) -> Result<&RuntimeKind, String> {
        let found = if let Some(family) = kind.strip_suffix(":default") {
            self.kinds.iter().find(|k| k.family == family && k.default)
        } else {
            self.kinds
                .iter()
                .find(|k| k.kind == kind || k.aliases.iter().any(|a| a == kind))
        };
        found.ok_or_else(|| messages::unsupported_kind(kind, &self.valid_list()))
    }

    fn valid_list(&self) -> String {
        let mut v: Vec<String> = self.kinds.iter().map(|k| k.kind.clone()).collect();
        v.push(BLACKBOX.into());
        v.push(SEQUENCE.into());
        v.join(", ")
    }

    /// The `runtimes` object of `GET /`: family → list of kinds.
    pub fn info_json(&self) -> Value {
        let mut m = Map::new();
        for k in &self.kinds {
            let mut entry = json!({
                "kind": k.kind,
                "image": format!("whirl/{}", k.kind.replace(':', "-")),
                "deprecated": k.deprecated,
                "default": k.default,
                "attached": true,
                "requireMain": k.require_main,
            });
            if let (Some(Value::Object(d)), Value::Object(e)) = (&k.details, &mut entry) {
                e.extend(d.clone());
            }
            if let Some(Value::Array(a)) = m.get_mut(&k.family) {
                a.push(entry);
            } else {
                m.insert(k.family.clone(), Value::Array(vec![entry]));
            }
        }
        Value::Object(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve() {
        let r = Runtimes::default();
        assert_eq!(r.resolve("nodejs:default").unwrap().kind, "nodejs:20");
        assert_eq!(r.resolve("python:3").unwrap().kind, "python:3.11");
        let e = r.resolve("cobol:1").unwrap_err();
        assert!(
            e.starts_with("The specified runtime 'cobol:1' is not supported"),
            "{e}"
        );
    }
}
