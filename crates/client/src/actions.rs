//! `/namespaces/{ns}/actions`.

use serde_json::Value;

use crate::entities::{EntitySummary, Invocation, ListOptions};
use crate::error::Result;
use crate::transport::Client;

impl Client {
    /// List actions (of a package when `package` is given).
    pub fn action_list(
        &self,
        package: Option<&str>,
        opts: ListOptions,
    ) -> Result<Vec<EntitySummary>> {
        self.list("actions", package.filter(|p| !p.is_empty()), opts)
    }

    /// `GET actions/{name}?code=`.
    pub fn action_get(&self, name: &str, code: bool) -> Result<Value> {
        let p = self.entity_path("actions", Some(name));
        Ok(self
            .call("GET", &p, &[("code", code.to_string())], None)?
            .json)
    }

    /// `PUT actions/{name}?overwrite=`.
    pub fn action_put(&self, name: &str, body: &Value, overwrite: bool) -> Result<Value> {
        let p = self.entity_path("actions", Some(name));
        Ok(self
            .call(
                "PUT",
                &p,
                &[("overwrite", overwrite.to_string())],
                Some(body),
            )?
            .json)
    }

    /// `DELETE actions/{name}`.
    pub fn action_delete(&self, name: &str) -> Result<Value> {
        let p = self.entity_path("actions", Some(name));
        Ok(self.call("DELETE", &p, &[], None)?.json)
    }

    /// `POST actions/{name}?blocking=&result=[&timeout=]`. 202 and 2xx are `Ok`; a blocking
    /// invocation that failed (502/500 with an activation body) is an [`Error::Http`] whose
    /// response still carries the activation.
    ///
    /// [`Error::Http`]: crate::Error::Http
    pub fn action_invoke(
        &self,
        name: &str,
        payload: &Value,
        blocking: bool,
        result: bool,
        timeout_ms: Option<u64>,
    ) -> Result<Invocation> {
        let p = self.entity_path("actions", Some(name));
        let mut q = vec![
            ("blocking", blocking.to_string()),
            ("result", result.to_string()),
        ];
        if let Some(t) = timeout_ms {
            q.push(("timeout", t.to_string()));
        }
        let r = self.call("POST", &p, &q, Some(payload))?;
        Ok(Invocation::from_response(r))
    }
}
