//! `/namespaces/{ns}/rules`.

use serde_json::{json, Value};

use crate::entities::{EntitySummary, ListOptions};
use crate::error::Result;
use crate::transport::Client;

impl Client {
    /// List rules (their `status` is not part of the list answer).
    pub fn rule_list(&self, opts: ListOptions) -> Result<Vec<EntitySummary>> {
        self.list("rules", None, opts)
    }

    /// `GET rules/{name}`.
    pub fn rule_get(&self, name: &str) -> Result<Value> {
        let p = self.entity_path("rules", Some(name));
        Ok(self.call("GET", &p, &[], None)?.json)
    }

    /// `PUT rules/{name}?overwrite=` with `{"trigger": "/ns/t", "action": "/ns/a"}` (+ extra fields).
    pub fn rule_put(&self, name: &str, body: &Value, overwrite: bool) -> Result<Value> {
        let p = self.entity_path("rules", Some(name));
        Ok(self
            .call(
                "PUT",
                &p,
                &[("overwrite", overwrite.to_string())],
                Some(body),
            )?
            .json)
    }

    /// `POST rules/{name}` with `{"status": "active"|"inactive"}`.
    pub fn rule_set_state(&self, name: &str, status: &str) -> Result<Value> {
        let p = self.entity_path("rules", Some(name));
        Ok(self
            .call("POST", &p, &[], Some(&json!({ "status": status })))?
            .json)
    }

    /// `DELETE rules/{name}`.
    pub fn rule_delete(&self, name: &str) -> Result<Value> {
        let p = self.entity_path("rules", Some(name));
        Ok(self.call("DELETE", &p, &[], None)?.json)
    }
}
