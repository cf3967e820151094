//! API and system information, the namespace list and the namespace's limits.

use serde_json::Value;

use crate::error::Result;
use crate::transport::{encode_segment, Client};

impl Client {
    /// `GET /api/v1` (no auth needed).
    pub fn api_info(&self) -> Result<Value> {
        Ok(self.call("GET", "/api/v1", &[], None)?.json)
    }

    /// `GET /` (system info: limits, runtimes).
    pub fn system_info(&self) -> Result<Value> {
        Ok(self.call("GET", "/", &[], None)?.json)
    }

    /// `GET /api/v1/namespaces`.
    pub fn namespaces(&self) -> Result<Vec<String>> {
        let v = self.call("GET", "/api/v1/namespaces", &[], None)?.json;
        Ok(v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// `GET /api/v1/namespaces/{ns}/limits`.
    pub fn limits(&self) -> Result<Value> {
        let p = format!(
            "/api/v1/namespaces/{}/limits",
            encode_segment(self.namespace())
        );
        Ok(self.call("GET", &p, &[], None)?.json)
    }
}
