//! `/namespaces/{ns}/packages`.

use serde_json::Value;

use crate::entities::{EntitySummary, ListOptions};
use crate::error::Result;
use crate::transport::Client;

impl Client {
    /// List packages.
    pub fn package_list(&self, opts: ListOptions) -> Result<Vec<EntitySummary>> {
        self.list("packages", None, opts)
    }

    /// `GET packages/{name}`.
    pub fn package_get(&self, name: &str) -> Result<Value> {
        let p = self.entity_path("packages", Some(name));
        Ok(self.call("GET", &p, &[], None)?.json)
    }

    /// `PUT packages/{name}?overwrite=`.
    pub fn package_put(&self, name: &str, body: &Value, overwrite: bool) -> Result<Value> {
        let p = self.entity_path("packages", Some(name));
        Ok(self
            .call(
                "PUT",
                &p,
                &[("overwrite", overwrite.to_string())],
                Some(body),
            )?
            .json)
    }

    /// `DELETE packages/{name}[?force=true]`.
    pub fn package_delete(&self, name: &str, force: bool) -> Result<Value> {
        let p = self.entity_path("packages", Some(name));
        let q: Vec<(&str, String)> = if force {
            vec![("force", "true".into())]
        } else {
            vec![]
        };
        Ok(self.call("DELETE", &p, &q, None)?.json)
    }
}
