//! Action limits (spec §1.3) and namespace limits (spec §3.9), with OpenWhisk's defaults and the
//! exact `requirement failed: ...` messages for values out of range.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub const MB: u64 = 1024 * 1024;

/// Size limits of requests and entity fields.
pub const MAX_PARAMETER_BYTES: usize = 1024 * 1024;
pub const MAX_CODE_BYTES: usize = 48 * 1024 * 1024;
pub const MAX_PAYLOAD_BYTES: u64 = 1024 * 1024;
/// The largest body the server reads at all (code uploads, base64 of 48 MB plus JSON).
pub const MAX_BODY_BYTES: usize = 68 * 1024 * 1024;

/// The limits stored on an action. All fields are always present once stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionLimits {
    pub timeout: u64,
    pub memory: u64,
    pub logs: u64,
    pub concurrency: u64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub instances: Option<u64>,
}

/// The limits of an action PUT body: every field optional.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionLimitsPut {
    pub timeout: Option<u64>,
    pub memory: Option<u64>,
    pub logs: Option<u64>,
    pub concurrency: Option<u64>,
    pub instances: Option<u64>,
}

/// Minimum, maximum and default of one limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Range {
    pub min: u64,
    pub max: u64,
    pub std: u64,
}

/// The system-wide action limit ranges (OpenWhisk `application.conf` defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionLimitRanges {
    /// Milliseconds.
    pub timeout: Range,
    /// Megabytes.
    pub memory: Range,
    /// Megabytes.
    pub logs: Range,
    pub concurrency: Range,
}

impl Default for ActionLimitRanges {
    fn default() -> Self {
        Self {
            timeout: Range {
                min: 100,
                max: 300_000,
                std: 60_000,
            },
            memory: Range {
                min: 128,
                max: 512,
                std: 256,
            },
            logs: Range {
                min: 0,
                max: 10,
                std: 10,
            },
            // OpenWhisk's range where intra-container concurrency is enabled
            // (`limit_action_concurrency_max` 500); its code default max is 1.
            concurrency: Range {
                min: 1,
                max: 500,
                std: 1,
            },
        }
    }
}

impl ActionLimitRanges {
    pub fn defaults(&self) -> ActionLimits {
        ActionLimits {
            timeout: self.timeout.std,
            memory: self.memory.std,
            logs: self.logs.std,
            concurrency: self.concurrency.std,
            instances: None,
        }
    }

    /// Merge a PUT's limits over `base` (defaults on create, the old limits on update) and check
    /// each against the ranges. The error is OpenWhisk's message.
    pub fn resolve(
        &self,
        base: ActionLimits,
        put: &ActionLimitsPut,
    ) -> Result<ActionLimits, String> {
        let l = ActionLimits {
            timeout: put.timeout.unwrap_or(base.timeout),
            memory: put.memory.unwrap_or(base.memory),
            logs: put.logs.unwrap_or(base.logs),
            concurrency: put.concurrency.unwrap_or(base.concurrency),
            instances: put.instances.or(base.instances),
        };
        check(l.timeout, self.timeout, "duration", " milliseconds")?;
        check(l.memory, self.memory, "memory", " MB")?;
        check(l.logs, self.logs, "log", " MB")?;
        check(l.concurrency, self.concurrency, "concurrency", "")?;
        Ok(l)
    }
}

fn check(value: u64, range: Range, what: &str, unit: &str) -> Result<(), String> {
    if value < range.min {
        Err(format!(
            "requirement failed: {what} {value}{unit} below allowed threshold of {}{unit}",
            range.min
        ))
    } else if value > range.max {
        Err(format!(
            "requirement failed: {what} {value}{unit} exceeds allowed threshold of {}{unit}",
            range.max
        ))
    } else {
        Ok(())
    }
}

/// Per-namespace throttles and switches (the `<ns>/limits` document), with defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamespaceDefaults {
    pub invocations_per_minute: u64,
    pub concurrent_invocations: u64,
    pub fires_per_minute: u64,
    pub sequence_max_length: u64,
}

impl Default for NamespaceDefaults {
    /// Whirl standalone defaults: high enough that a local load test of a fast platform is not
    /// throttled (OpenWhisk's own standalone uses 60/min and 30 concurrent; see README).
    fn default() -> Self {
        Self {
            invocations_per_minute: 600_000,
            concurrent_invocations: 1_000,
            fires_per_minute: 60_000,
            sequence_max_length: 50,
        }
    }
}

/// The keys `whirl admin namespace limits set` accepts, and their JSON types.
pub const NAMESPACE_LIMIT_KEYS: &[(&str, &str)] = &[
    ("invocationsPerMinute", "integer"),
    ("concurrentInvocations", "integer"),
    ("firesPerMinute", "integer"),
    ("allowedKinds", "array of kinds"),
    ("storeActivations", "boolean"),
];

/// Validate a limits override document; returns the normalised object.
pub fn validate_namespace_limits(v: &Value) -> Result<Map<String, Value>, String> {
    let obj = v.as_object().ok_or("limits must be a JSON object")?;
    for (k, val) in obj {
        let ok = match k.as_str() {
            "invocationsPerMinute" | "concurrentInvocations" | "firesPerMinute" => val.is_u64(),
            "allowedKinds" => val
                .as_array()
                .is_some_and(|a| a.iter().all(Value::is_string)),
            "storeActivations" => val.is_boolean(),
            _ => return Err(format!("unknown limit '{k}'")),
        };
        if !ok {
            return Err(format!("limit '{k}' has the wrong type"));
        }
    }
    Ok(obj.clone())
}

/// A namespace's limit overrides, typed (the stored form is the JSON object that
/// [`validate_namespace_limits`] accepts). `None` means the system default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceLimits {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invocations_per_minute: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrent_invocations: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fires_per_minute: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_kinds: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_activations: Option<bool>,
}

impl NamespaceLimits {
    /// The overrides of a stored limits document; anything unreadable counts as no override
    /// (the document was validated when it was written).
    pub fn from_document(doc: &Value) -> Self {
        serde_json::from_value(doc.clone()).unwrap_or_default()
    }

    pub fn invocations_per_minute(&self, d: &NamespaceDefaults) -> u64 {
        self.invocations_per_minute
            .unwrap_or(d.invocations_per_minute)
    }

    pub fn concurrent_invocations(&self, d: &NamespaceDefaults) -> u64 {
        self.concurrent_invocations
            .unwrap_or(d.concurrent_invocations)
    }

    pub fn fires_per_minute(&self, d: &NamespaceDefaults) -> u64 {
        self.fires_per_minute.unwrap_or(d.fires_per_minute)
    }

    /// Whether records of this namespace's activations are stored (default: yes).
    pub fn stores_activations(&self) -> bool {
        self.store_activations.unwrap_or(true)
    }

    /// Whether the namespace may use `kind` (every kind when no list is set).
    pub fn allows_kind(&self, kind: &str) -> bool {
        self.allowed_kinds
            .as_ref()
            .is_none_or(|k| k.iter().any(|a| a == kind))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_namespace_limits() {
        let d = NamespaceDefaults::default();
        let l = NamespaceLimits::from_document(&serde_json::json!({
            "concurrentInvocations": 5, "allowedKinds": ["nodejs:20"], "storeActivations": false
        }));
        assert_eq!(l.concurrent_invocations(&d), 5);
        assert_eq!(l.invocations_per_minute(&d), d.invocations_per_minute);
        assert!(!l.stores_activations());
        assert!(l.allows_kind("nodejs:20") && !l.allows_kind("python:3"));
        assert!(NamespaceLimits::default().allows_kind("anything"));
        assert_eq!(
            serde_json::to_value(&l).unwrap(),
            serde_json::json!({"concurrentInvocations": 5, "allowedKinds": ["nodejs:20"], "storeActivations": false})
        );
    }

    #[test]
    fn resolve_limits() {
        let r = ActionLimitRanges::default();
        let d = r.defaults();
        assert_eq!(d.memory, 256);
        let e = r
            .resolve(
                d,
                &ActionLimitsPut {
                    memory: Some(1024),
                    ..Default::default()
                },
            )
            .unwrap_err();
        assert_eq!(
            e,
            "requirement failed: memory 1024 MB exceeds allowed threshold of 512 MB"
        );
        let e = r
            .resolve(
                d,
                &ActionLimitsPut {
                    timeout: Some(50),
                    ..Default::default()
                },
            )
            .unwrap_err();
        assert_eq!(
            e,
            "requirement failed: duration 50 milliseconds below allowed threshold of 100 milliseconds"
        );
        let l = r
            .resolve(
                d,
                &ActionLimitsPut {
                    logs: Some(0),
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(l.logs, 0);
        assert_eq!(l.timeout, 60_000);
    }

    #[test]
    fn namespace_limits() {
        assert!(validate_namespace_limits(&serde_json::json!({"invocationsPerMinute": 5})).is_ok());
        assert!(validate_namespace_limits(&serde_json::json!({"bogus": 5})).is_err());
        assert!(validate_namespace_limits(&serde_json::json!({"firesPerMinute": "x"})).is_err());
    }
}
