//! `/namespaces/{ns}/triggers`.

use serde_json::Value;

use crate::entities::{EntitySummary, Invocation, ListOptions};
use crate::error::Result;
use crate::transport::Client;

impl Client {
    /// List triggers.
    pub fn trigger_list(&self, opts: ListOptions) -> Result<Vec<EntitySummary>> {
        self.list("triggers", None, opts)
    }

    /// `GET triggers/{name}`.
    pub fn trigger_get(&self, name: &str) -> Result<Value> {
        let p = self.entity_path("triggers", Some(name));
        Ok(self.call("GET", &p, &[], None)?.json)
    }

    /// `PUT triggers/{name}?overwrite=`.
    pub fn trigger_put(&self, name: &str, body: &Value, overwrite: bool) -> Result<Value> {
        let p = self.entity_path("triggers", Some(name));
        Ok(self
            .call(
                "PUT",
                &p,
                &[("overwrite", overwrite.to_string())],
                Some(body),
            )?
            .json)
    }

    /// `DELETE triggers/{name}`.
    pub fn trigger_delete(&self, name: &str) -> Result<Value> {
        let p = self.entity_path("triggers", Some(name));
        Ok(self.call("DELETE", &p, &[], None)?.json)
    }

    /// `POST triggers/{name}` (fire): 202 with an activation id, or 204 without active rules.
    pub fn trigger_fire(&self, name: &str, payload: &Value) -> Result<Invocation> {
        let p = self.entity_path("triggers", Some(name));
        Ok(Invocation::from_response(self.call(
            "POST",
            &p,
            &[],
            Some(payload),
        )?))
    }
}
