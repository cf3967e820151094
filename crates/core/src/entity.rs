//! The JSON shapes of OpenWhisk entities (spec §1.2–§1.7): stored documents, PUT bodies, and the
//! API views of activation records.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::limits::{ActionLimits, ActionLimitsPut};

/// One `{key, value}` entry of parameters or annotations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyValue {
    pub key: String,
    #[serde(default)]
    pub value: Value,
    /// Parameter passed to init as environment instead of to run.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub init: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<Value>,
}

impl KeyValue {
    pub fn new(key: impl Into<String>, value: Value) -> Self {
        Self {
            key: key.into(),
            value,
            init: false,
            encryption: None,
        }
    }
}

/// Parameters or annotations.
pub type KeyValues = Vec<KeyValue>;

/// The value of `key`, if present.
pub fn kv_get<'a>(kvs: &'a [KeyValue], key: &str) -> Option<&'a Value> {
    kvs.iter().find(|kv| kv.key == key).map(|kv| &kv.value)
}

/// Set `key` to `value`, replacing an existing entry in place or appending.
pub fn kv_set(kvs: &mut KeyValues, key: &str, value: Value) {
    match kvs.iter_mut().find(|kv| kv.key == key) {
        Some(kv) => kv.value = value,
        None => kvs.push(KeyValue::new(key, value)),
    }
}

/// `base` overridden by `over` (entries of `over` win; OpenWhisk's `++` on Parameters).
pub fn kv_merge(base: &[KeyValue], over: &[KeyValue]) -> KeyValues {
    let mut out: KeyValues = base
        .iter()
        .filter(|b| !over.iter().any(|o| o.key == b.key))
        .cloned()
        .collect();
    out.extend(over.iter().cloned());
    out
}

/// Whether an annotation is set to a truthy value (true, non-empty string, non-zero number).
pub fn kv_truthy(kvs: &[KeyValue], key: &str) -> bool {
    match kv_get(kvs, key) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        Some(Value::Array(_)) | Some(Value::Object(_)) => true,
        _ => false,
    }
}

/// Parameters as a JSON object (for invocation payloads).
pub fn kv_to_object(kvs: &[KeyValue]) -> Map<String, Value> {
    kvs.iter()
        .map(|kv| (kv.key.clone(), kv.value.clone()))
        .collect()
}

/// Serialized size of parameters or annotations, as checked against the 1 MB limit.
pub fn kv_size(kvs: &[KeyValue]) -> usize {
    serde_json::to_vec(kvs)
        .map(|v| v.len())
        .unwrap_or(usize::MAX)
}

/// `exec` of an action as stored (without `code`, which is an attachment) and returned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exec {
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub main: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub components: Option<Vec<String>>,
}

/// `exec` of an action PUT body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecPut {
    pub kind: String,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub image: Option<String>,
    #[serde(default)]
    pub main: Option<String>,
    #[serde(default)]
    pub components: Option<Vec<String>>,
    /// Legacy java field, same as `code`.
    #[serde(default)]
    pub jar: Option<String>,
    /// Ignored on input: binary is computed from the code.
    #[serde(default)]
    pub binary: Option<bool>,
}

/// OpenWhisk's rule: code is binary (base64) iff its trimmed length is positive, a multiple of 4,
/// and it uses only the base64 alphabet.
pub fn is_binary_code(code: &str) -> bool {
    let t = code.trim();
    if t.is_empty() || !t.len().is_multiple_of(4) {
        return false;
    }
    let body = t.trim_end_matches('=');
    t.len() - body.len() <= 2
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

/// A stored action (code kept separately).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WhiskAction {
    pub namespace: String,
    pub name: String,
    pub version: String,
    pub publish: bool,
    pub exec: Exec,
    pub annotations: KeyValues,
    pub parameters: KeyValues,
    pub limits: ActionLimits,
    pub updated: i64,
}

/// Action PUT body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionPut {
    pub exec: Option<ExecPut>,
    pub parameters: Option<KeyValues>,
    pub limits: Option<ActionLimitsPut>,
    pub version: Option<String>,
    pub publish: Option<bool>,
    pub annotations: Option<KeyValues>,
    pub del_annotations: Option<Vec<String>>,
}

/// `{namespace, name}` reference of a package binding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BindingRef {
    pub namespace: String,
    pub name: String,
}

/// A stored package. `binding` is `{}` for a real package.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WhiskPackage {
    pub namespace: String,
    pub name: String,
    pub version: String,
    pub publish: bool,
    pub binding: Value,
    pub annotations: KeyValues,
    pub parameters: KeyValues,
    pub updated: i64,
}

impl WhiskPackage {
    /// The package this binding refers to, if it is a binding.
    pub fn binding_ref(&self) -> Option<BindingRef> {
        serde_json::from_value::<BindingRef>(self.binding.clone()).ok()
    }
}

/// Package PUT body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PackagePut {
    pub binding: Option<BindingRef>,
    pub parameters: Option<KeyValues>,
    pub annotations: Option<KeyValues>,
    pub publish: Option<bool>,
    pub version: Option<String>,
}

/// `{path, name}` reference used by rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathName {
    pub path: String,
    pub name: String,
}

/// The link from a trigger to one of its rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReducedRule {
    pub action: PathName,
    pub status: String,
}

/// A stored trigger; rule status lives here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WhiskTrigger {
    pub namespace: String,
    pub name: String,
    pub version: String,
    pub publish: bool,
    pub annotations: KeyValues,
    pub parameters: KeyValues,
    pub limits: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules: Option<std::collections::BTreeMap<String, ReducedRule>>,
    pub updated: i64,
}

/// Trigger PUT body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TriggerPut {
    pub parameters: Option<KeyValues>,
    pub annotations: Option<KeyValues>,
    pub limits: Option<Map<String, Value>>,
    pub publish: Option<bool>,
    pub version: Option<String>,
}

/// A stored rule (status is computed from the trigger when read).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WhiskRule {
    pub namespace: String,
    pub name: String,
    pub version: String,
    pub publish: bool,
    pub annotations: KeyValues,
    pub trigger: PathName,
    pub action: PathName,
    pub updated: i64,
}

/// Rule PUT body: trigger and action as qualified-name strings or `{path, name}` objects.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RulePut {
    pub trigger: Option<Value>,
    pub action: Option<Value>,
    pub annotations: Option<KeyValues>,
    pub publish: Option<bool>,
    pub version: Option<String>,
    pub status: Option<Value>,
}

/// Activation status codes (spec §1.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ActivationStatus {
    Success = 0,
    ApplicationError = 1,
    DeveloperError = 2,
    WhiskError = 3,
}

impl ActivationStatus {
    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn from_code(code: u64) -> Self {
        match code {
            0 => Self::Success,
            1 => Self::ApplicationError,
            2 => Self::DeveloperError,
            _ => Self::WhiskError,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::ApplicationError => "application error",
            Self::DeveloperError => "action developer error",
            Self::WhiskError => "whisk internal error",
        }
    }
}

/// A stored activation record (DB form: `response.statusCode`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WhiskActivation {
    pub namespace: String,
    pub name: String,
    pub version: String,
    pub subject: String,
    pub publish: bool,
    pub activation_id: String,
    pub start: i64,
    pub end: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    pub response: ActivationResponse,
    pub logs: Vec<String>,
    pub annotations: KeyValues,
}

/// `response` of a stored activation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActivationResponse {
    pub status_code: u8,
    #[serde(default)]
    pub result: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

impl ActivationResponse {
    pub fn new(status: ActivationStatus, result: Value) -> Self {
        let size = serde_json::to_vec(&result).map(|v| v.len() as u64).ok();
        Self {
            status_code: status.code(),
            result: Some(result),
            size,
        }
    }

    pub fn status(&self) -> ActivationStatus {
        ActivationStatus::from_code(u64::from(self.status_code))
    }
}

/// The key the activations `name` filter matches: `invoker_ns/[pkg/]name`, where `pkg` is the
/// binding's package when the action was reached through a binding (`binding` = `ns/pkg`), else
/// the action's own package (`action_id` = `ns/[pkg/]name`).
pub fn activation_entity_path(invoker_ns: &str, action_id: &str, binding: Option<&str>) -> String {
    let parts: Vec<&str> = action_id.split('/').collect();
    let name = parts.last().copied().unwrap_or("");
    let pkg = match binding {
        Some(b) => b.rsplit('/').next(),
        None if parts.len() == 3 => Some(parts[1]),
        None => None,
    };
    match pkg {
        Some(p) => format!("{invoker_ns}/{p}/{name}"),
        None => format!("{invoker_ns}/{name}"),
    }
}

/// The API form of a stored activation document: `response.statusCode` replaced by `success` and
/// `status`, `duration` added (omitted with `end` when `end` is 0).
pub fn activation_api_view(stored: &Value) -> Value {
    let mut v = stored.clone();
    let Some(obj) = v.as_object_mut() else {
        return v;
    };
    let start = obj.get("start").and_then(Value::as_i64).unwrap_or(0);
    let end = obj.get("end").and_then(Value::as_i64).unwrap_or(0);
    if end == 0 {
        obj.remove("end");
        obj.remove("duration");
    } else if !obj.contains_key("duration") {
        obj.insert("duration".into(), json!(end - start));
    }
    if let Some(Value::Object(resp)) = obj.get_mut("response") {
        let code = resp
            .remove("statusCode")
            .and_then(|c| c.as_u64())
            .unwrap_or(3);
        let status = ActivationStatus::from_code(code);
        resp.insert("status".into(), json!(status.as_str()));
        resp.insert("success".into(), json!(code == 0));
    }
    v
}

/// [`activation_api_view`] over serialised JSON, without building a JSON tree: the record's
/// fields are borrowed as raw JSON and written out again, with `response.statusCode` replaced by
/// `status` and `success`, and `end`/`duration` as the API shows them. Every other field passes
/// through as stored.
pub fn activation_api_json(stored: &str) -> Result<String, serde_json::Error> {
    use std::borrow::Cow;
    use std::collections::BTreeMap;

    use serde_json::value::RawValue;

    type RawMap<'a> = BTreeMap<Cow<'a, str>, &'a RawValue>;
    let mut doc: RawMap<'_> = serde_json::from_str(stored)?;
    let int = |m: &RawMap<'_>, k: &str| -> i64 {
        m.get(k)
            .and_then(|v| serde_json::from_str::<i64>(v.get()).ok())
            .unwrap_or(0)
    };
    let (start, end) = (int(&doc, "start"), int(&doc, "end"));
    let duration_text;
    if end == 0 {
        doc.remove("end");
        doc.remove("duration");
    } else if !doc.contains_key("duration") {
        duration_text = RawValue::from_string((end - start).to_string())?;
        doc.insert(Cow::Borrowed("duration"), &duration_text);
    }
    let response_text;
    if let Some(resp) = doc.get("response") {
        if let Ok(mut resp) = serde_json::from_str::<RawMap<'_>>(resp.get()) {
            let code = resp
                .remove("statusCode")
                .and_then(|c| serde_json::from_str::<u64>(c.get()).ok())
                .unwrap_or(3);
            let status =
                serde_json::value::to_raw_value(ActivationStatus::from_code(code).as_str())?;
            let success = serde_json::value::to_raw_value(&(code == 0))?;
            resp.insert(Cow::Borrowed("status"), &status);
            resp.insert(Cow::Borrowed("success"), &success);
            response_text = serde_json::value::to_raw_value(&resp)?;
            doc.insert(Cow::Borrowed("response"), &response_text);
        }
    }
    serde_json::to_string(&doc)
}

/// The list-summary form of a stored activation document.
pub fn activation_summary(stored: &Value) -> Value {
    let mut out = Map::new();
    for k in [
        "namespace",
        "name",
        "version",
        "publish",
        "annotations",
        "activationId",
        "start",
    ] {
        if let Some(v) = stored.get(k) {
            out.insert(k.into(), v.clone());
        }
    }
    let start = stored.get("start").and_then(Value::as_i64).unwrap_or(0);
    let end = stored.get("end").and_then(Value::as_i64).unwrap_or(0);
    if end != 0 {
        out.insert("end".into(), json!(end));
        let d = stored
            .get("duration")
            .and_then(Value::as_i64)
            .unwrap_or(end - start);
        out.insert("duration".into(), json!(d));
    }
    if let Some(c) = stored.get("cause") {
        out.insert("cause".into(), c.clone());
    }
    if let Some(code) = stored.pointer("/response/statusCode") {
        out.insert("statusCode".into(), code.clone());
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn api_json_equals_the_api_view() {
        for doc in [
            json!({"activationId": "a", "start": 10, "end": 17, "logs": ["x"], "extra": {"k": [1]},
                   "response": {"statusCode": 2, "result": {"error": "e"}, "size": 13}}),
            json!({"start": 10, "end": 0, "duration": 4, "response": {"statusCode": 0, "result": {}}}),
            json!({"start": 10, "end": 12, "duration": 9, "response": {"result": {}}}),
            json!({"start": 1, "end": 2}),
        ] {
            let text = activation_api_json(&doc.to_string()).unwrap();
            let got: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(got, activation_api_view(&doc), "{doc}");
        }
    }

    use super::*;

    #[test]
    fn binary_detection() {
        assert!(is_binary_code("UEsDBAo="));
        assert!(!is_binary_code("function main() {}"));
        assert!(!is_binary_code(""));
        assert!(!is_binary_code("abc"));
    }

    #[test]
    fn merge() {
        let a = vec![KeyValue::new("x", json!(1)), KeyValue::new("y", json!(2))];
        let b = vec![KeyValue::new("y", json!(3))];
        let m = kv_to_object(&kv_merge(&a, &b));
        assert_eq!(Value::Object(m), json!({"x":1,"y":3}));
    }

    #[test]
    fn entity_paths() {
        assert_eq!(activation_entity_path("me", "ns/a", None), "me/a");
        assert_eq!(activation_entity_path("me", "ns/p/a", None), "me/p/a");
        assert_eq!(
            activation_entity_path("me", "ns/p/a", Some("me/bind")),
            "me/bind/a"
        );
    }

    #[test]
    fn api_view() {
        let stored = json!({"activationId":"a","start":10,"end":15,
            "response":{"statusCode":1,"result":{"error":"x"}}});
        let v = activation_api_view(&stored);
        assert_eq!(v["duration"], 5);
        assert_eq!(v["response"]["status"], "application error");
        assert_eq!(v["response"]["success"], false);
        assert!(v["response"].get("statusCode").is_none());
        let s = activation_summary(&stored);
        assert_eq!(s["statusCode"], 1);
        let trig = activation_api_view(&json!({"start":10,"end":0,"response":{"statusCode":0}}));
        assert!(trig.get("end").is_none());
    }
}
