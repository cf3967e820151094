//! One HTTP answer, its body decoded as JSON when possible.

use serde_json::Value;

use crate::error::{Error, Result};

/// An HTTP response with its body decoded as JSON when possible.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// Response headers (names lower-cased), in the order received.
    pub headers: Vec<(String, String)>,
    /// Body parsed as JSON; `Value::Null` when empty, `Value::String(text)` when not JSON.
    pub json: Value,
    /// Raw body text.
    pub text: String,
}

impl Response {
    /// First header with that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The request id: `X-Request-ID` header or the `code` of an error body.
    pub fn request_id(&self) -> Option<String> {
        self.header("x-request-id")
            .map(str::to_string)
            .or_else(|| self.json.get("code").and_then(json_str))
    }

    /// `true` for 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// Turns a non-2xx response into [`Error::Http`].
    pub fn into_result(self) -> Result<Response> {
        if self.is_success() {
            Ok(self)
        } else {
            Err(Error::from_response(self))
        }
    }
}

/// A string or number field as text (`code` and ids come as either).
pub(crate) fn json_str(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}
