//! The API gateway management web actions `/whisk.system/apimgmt/{createApi,getApi,deleteApi}`
//! as `wsk api ...` calls them: `{base}/api/v1/web/whisk.system/apimgmt/<op>.http`, Basic auth,
//! options in the query string (`accesstoken`, `spaceguid`, `basepath`, ...), the create request
//! as a JSON body `{"apidoc": {...}}`.

use serde_json::Value;

use crate::error::Result;
use crate::transport::Client;

/// Path of the API management web actions (append `<op>.http`).
pub const APIMGMT_PATH: &str = "/api/v1/web/whisk.system/apimgmt";

/// Sorts query pairs by key (Go's `url.Values.Encode` order, which wsk sends).
fn sorted<'a>(query: &[(&'a str, String)]) -> Vec<(&'a str, String)> {
    let mut q = query.to_vec();
    q.sort_by(|a, b| a.0.cmp(b.0));
    q
}

impl Client {
    /// `POST .../apimgmt/createApi.http?<query>` with `body` (`{"apidoc": {...}}`).
    pub fn api_create(&self, body: &Value, query: &[(&str, String)]) -> Result<Value> {
        let p = format!("{APIMGMT_PATH}/createApi.http");
        Ok(self.call("POST", &p, &sorted(query), Some(body))?.json)
    }

    /// `GET .../apimgmt/getApi.http?<query>` (list and get).
    pub fn api_get(&self, query: &[(&str, String)]) -> Result<Value> {
        let p = format!("{APIMGMT_PATH}/getApi.http");
        Ok(self.call("GET", &p, &sorted(query), None)?.json)
    }

    /// `DELETE .../apimgmt/deleteApi.http?<query>`.
    pub fn api_delete(&self, query: &[(&str, String)]) -> Result<Value> {
        let p = format!("{APIMGMT_PATH}/deleteApi.http");
        Ok(self.call("DELETE", &p, &sorted(query), None)?.json)
    }
}
