//! Types shared by the entity verbs: paging options, list entries, `[{key, value}]` arrays and
//! the answer of an invocation, plus the lenient decoding they use.
//!
//! The typed structs only carry what callers read; whatever prints the server's JSON as is
//! (`wsk ... get`) keeps using the raw [`Value`].

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::error::Result;
use crate::response::{json_str, Response};
use crate::transport::Client;

/// Paging options of list calls (`limit`, `skip`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListOptions {
    /// `limit` query parameter (always sent, 0 = server maximum).
    pub limit: u32,
    /// `skip` query parameter (always sent).
    pub skip: u32,
}

/// A `[{"key": .., "value": ..}]` array (annotations, parameters), in the server's order.
/// Entries without a string `key` or without a `value` are skipped.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KeyValues(pub Vec<(String, Value)>);

impl KeyValues {
    /// The value of the first entry named `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The value of `key` when it is a string.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Value::as_str)
    }

    /// The value of `key` when it is a boolean.
    pub fn get_bool(&self, key: &str) -> Option<bool> {
        self.get(key).and_then(Value::as_bool)
    }
}

impl<'de> Deserialize<'de> for KeyValues {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        let pairs = v
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| {
                        Some((e.get("key")?.as_str()?.to_string(), e.get("value")?.clone()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(KeyValues(pairs))
    }
}

/// One entry of an entity list (`GET actions|packages|triggers|rules`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct EntitySummary {
    /// Namespace (`ns` or `ns/pkg` for actions in a package).
    #[serde(deserialize_with = "lenient")]
    pub namespace: String,
    /// Entity name.
    #[serde(deserialize_with = "lenient")]
    pub name: String,
    /// Semantic version.
    #[serde(deserialize_with = "lenient")]
    pub version: String,
    /// Shared (packages).
    #[serde(deserialize_with = "lenient")]
    pub publish: bool,
    /// Annotations (`exec` carries the kind of actions).
    pub annotations: KeyValues,
    /// `active` / `inactive` (rules; filled in by `wsk rule list` from `GET rules/{name}`).
    #[serde(deserialize_with = "lenient")]
    pub status: String,
}

impl EntitySummary {
    /// Decodes one list entry; fields of the wrong type are left empty.
    pub fn from_json(v: &Value) -> EntitySummary {
        decode(v)
    }
}

/// Answer to an action invocation or trigger fire.
#[derive(Debug, Clone, PartialEq)]
pub struct Invocation {
    /// HTTP status (200 done, 202 accepted / not finished in time, 204 fire without active rule).
    pub status: u16,
    /// Activation id (from the body or the `x-openwhisk-activation-id` header).
    pub activation_id: Option<String>,
    /// Body: `{"activationId"}`, the activation record, or only the result when `result=true`.
    pub body: Value,
}

impl Invocation {
    /// Reads the activation id out of the body or the `x-openwhisk-activation-id` header.
    pub(crate) fn from_response(r: Response) -> Invocation {
        let activation_id = r
            .json
            .get("activationId")
            .and_then(json_str)
            .or_else(|| r.header("x-openwhisk-activation-id").map(str::to_string));
        Invocation {
            status: r.status,
            activation_id,
            body: r.json,
        }
    }
}

impl Client {
    /// `GET {collection}[/{sub}/]?limit=&skip=` (entries of a package when `sub` is given).
    pub(crate) fn list(
        &self,
        collection: &str,
        sub: Option<&str>,
        opts: ListOptions,
    ) -> Result<Vec<EntitySummary>> {
        let path = match sub {
            Some(s) => format!("{}/", self.entity_path(collection, Some(s))),
            None => self.entity_path(collection, None),
        };
        let q = [
            ("limit", opts.limit.to_string()),
            ("skip", opts.skip.to_string()),
        ];
        let v = self.call("GET", &path, &q, None)?.json;
        Ok(as_vec(v).iter().map(EntitySummary::from_json).collect())
    }
}

/// A list answer as its entries (`null` = none, a single object = one).
pub(crate) fn as_vec(v: Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a,
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

/// Decodes `v` as `T`, falling back to `T::default()` when it does not fit.
pub(crate) fn decode<T: DeserializeOwned + Default>(v: &Value) -> T {
    T::deserialize(v).unwrap_or_default()
}

/// Field decoder: a value of the wrong type becomes the default (like reading JSON by hand).
pub(crate) fn lenient<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned + Default,
{
    let v = Value::deserialize(d)?;
    Ok(decode(&v))
}

/// Field decoder of a list of strings: entries that are not strings become `""`.
pub(crate) fn lenient_strings<'de, D>(d: D) -> Result<Vec<String>, D::Error>
where
    D: Deserializer<'de>,
{
    let v = Value::deserialize(d)?;
    Ok(v.as_array()
        .map(|a| {
            a.iter()
                .map(|l| l.as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn entity_summary_is_lenient() {
        let e = EntitySummary::from_json(&json!({
            "namespace": "guest/pkg", "name": 7, "publish": true, "extra": 1,
            "annotations": [{"key": "exec", "value": "nodejs:20"}, {"value": 1}, "junk"]
        }));
        assert_eq!(e.namespace, "guest/pkg");
        assert_eq!(e.name, "");
        assert!(e.publish);
        assert_eq!(e.annotations.get_str("exec"), Some("nodejs:20"));
        assert_eq!(e.annotations.0.len(), 1);
        assert_eq!(
            EntitySummary::from_json(&json!("x")),
            EntitySummary::default()
        );
    }
}
