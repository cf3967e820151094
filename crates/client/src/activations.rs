//! `/namespaces/{ns}/activations`: list, records, logs and results.

use serde::Deserialize;
use serde_json::Value;

use crate::entities::{as_vec, decode, lenient, lenient_strings, KeyValues};
use crate::error::Result;
use crate::transport::Client;

/// Options of `GET /namespaces/{ns}/activations`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActivationListOptions {
    /// `name` filter (`action` or `pkg/action`).
    pub name: Option<String>,
    /// `limit` (always sent).
    pub limit: u32,
    /// `skip` (always sent).
    pub skip: u32,
    /// `since` epoch ms.
    pub since: Option<u64>,
    /// `upto` epoch ms.
    pub upto: Option<u64>,
    /// `docs=true`: full records.
    pub docs: bool,
}

/// The fields of an activation record (or list entry) that callers read. Print the raw
/// [`Value`] to show a record as the server sent it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Activation {
    /// Activation id.
    #[serde(deserialize_with = "lenient")]
    pub activation_id: String,
    /// Namespace (`ns` or `ns/pkg`).
    #[serde(deserialize_with = "lenient")]
    pub namespace: String,
    /// Action or trigger name.
    #[serde(deserialize_with = "lenient")]
    pub name: String,
    /// Version of the entity.
    #[serde(deserialize_with = "lenient")]
    pub version: String,
    /// Start, epoch ms.
    #[serde(deserialize_with = "lenient")]
    pub start: Option<i64>,
    /// End, epoch ms.
    #[serde(deserialize_with = "lenient")]
    pub end: Option<i64>,
    /// Duration in ms (list entries carry it; otherwise `end - start`).
    #[serde(deserialize_with = "lenient")]
    pub duration: Option<i64>,
    /// 0 success, 1 application error, 2 developer error, 3 internal error.
    #[serde(deserialize_with = "lenient")]
    pub status_code: u64,
    /// The response (full records only).
    #[serde(deserialize_with = "lenient")]
    pub response: ActivationResponse,
    /// Log lines (full records only).
    #[serde(deserialize_with = "lenient_strings")]
    pub logs: Vec<String>,
    /// Annotations (`kind`, `initTime`, `path`, ...).
    pub annotations: KeyValues,
}

impl Activation {
    /// Decodes a record or list entry; fields of the wrong type are left empty.
    pub fn from_json(v: &Value) -> Activation {
        decode(v)
    }
}

/// `response` of an activation record.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ActivationResponse {
    /// `success`, `application error`, `action developer error`, `whisk internal error`.
    #[serde(deserialize_with = "lenient")]
    pub status: String,
    /// Whether the activation succeeded.
    #[serde(deserialize_with = "lenient")]
    pub success: bool,
    /// The result object (`None` when absent or `null`).
    pub result: Option<Value>,
}

/// Answer of `GET activations/{id}/logs`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ActivationLogs {
    /// Log lines as stored (`<time> <stream>: <text>`); non-string entries are `""`.
    #[serde(deserialize_with = "lenient_strings")]
    pub logs: Vec<String>,
}

/// Answer of `GET activations/{id}/result`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ActivationResult {
    /// The result object (`None` when absent or `null`).
    pub result: Option<Value>,
    /// Whether the activation succeeded.
    #[serde(deserialize_with = "lenient")]
    pub success: bool,
    /// Status text, as in [`ActivationResponse::status`].
    #[serde(deserialize_with = "lenient")]
    pub status: String,
    /// Size of the result in bytes, when reported.
    #[serde(deserialize_with = "lenient")]
    pub size: Option<u64>,
}

impl Client {
    /// `GET activations` with filters; entries as the server sent them (see
    /// [`Activation::from_json`] to read their fields).
    pub fn activation_list(&self, o: &ActivationListOptions) -> Result<Vec<Value>> {
        let mut q: Vec<(&str, String)> = Vec::new();
        if let Some(n) = o.name.as_deref().filter(|n| !n.is_empty()) {
            q.push(("name", n.to_string()));
        }
        q.push(("limit", o.limit.to_string()));
        q.push(("skip", o.skip.to_string()));
        if let Some(s) = o.since.filter(|s| *s > 0) {
            q.push(("since", s.to_string()));
        }
        if let Some(u) = o.upto.filter(|u| *u > 0) {
            q.push(("upto", u.to_string()));
        }
        if o.docs {
            q.push(("docs", "true".into()));
        }
        let p = self.entity_path("activations", None);
        Ok(as_vec(self.call("GET", &p, &q, None)?.json))
    }

    /// `GET activations/{id}`: the record as the server sent it.
    pub fn activation_get(&self, id: &str) -> Result<Value> {
        let p = self.entity_path("activations", Some(id));
        Ok(self.call("GET", &p, &[], None)?.json)
    }

    /// `GET activations/{id}/logs` → `{"logs": [...]}`.
    pub fn activation_logs(&self, id: &str) -> Result<ActivationLogs> {
        let p = format!("{}/logs", self.entity_path("activations", Some(id)));
        Ok(decode(&self.call("GET", &p, &[], None)?.json))
    }

    /// `GET activations/{id}/result` → `{"result", "success", "status", "size"}`.
    pub fn activation_result(&self, id: &str) -> Result<ActivationResult> {
        let p = format!("{}/result", self.entity_path("activations", Some(id)));
        Ok(decode(&self.call("GET", &p, &[], None)?.json))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn activation_fields() {
        let a = Activation::from_json(&json!({
            "activationId": "abc", "namespace": "guest", "name": "hello", "start": 5,
            "statusCode": 2, "logs": ["l1", 3], "response": {"status": "success", "result": {"x": 1}},
            "annotations": [{"key": "kind", "value": "nodejs:20"}]
        }));
        assert_eq!(a.activation_id, "abc");
        assert_eq!((a.start, a.end, a.status_code), (Some(5), None, 2));
        assert_eq!(a.logs, vec!["l1".to_string(), String::new()]);
        assert_eq!(a.response.result, Some(json!({"x": 1})));
        assert_eq!(a.annotations.get_str("kind"), Some("nodejs:20"));
        let r: ActivationResult = decode(&json!({"result": null, "success": true}));
        assert_eq!((r.result, r.success), (None, true));
    }
}
