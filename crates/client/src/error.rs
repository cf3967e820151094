//! The client's error type and the mapping of non-2xx answers onto it.

use serde_json::Value;

use crate::response::{json_str, Response};

/// Errors of the client.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server answered with a non-2xx status.
    #[error("{}", http_error_text(*status, error.as_deref(), code.as_deref()))]
    Http {
        /// HTTP status code.
        status: u16,
        /// The `error` field of the body, when the body is an OpenWhisk error object.
        error: Option<String>,
        /// The `code` field (transaction / request id) of the body.
        code: Option<String>,
        /// The whole response.
        response: Box<Response>,
    },
    /// The request never produced an HTTP answer (connection refused, DNS, TLS ...).
    #[error("{0}")]
    Transport(String),
    /// The API host could not be turned into a base URL.
    #[error("{0}")]
    InvalidHost(String),
    /// The client certificate or its key could not be loaded or does not fit.
    #[error("{0}")]
    ClientIdentity(String),
}

/// wsk's rendering of an HTTP error: `<error> (code <code>)`, or its generic text.
fn http_error_text(status: u16, error: Option<&str>, code: Option<&str>) -> String {
    match (error, code) {
        (Some(e), Some(c)) => format!("{e} (code {c})"),
        (Some(e), None) => e.to_string(),
        _ => format!("The connection failed, or timed out. (HTTP status code {status})"),
    }
}

impl Error {
    /// HTTP status for [`Error::Http`], `None` otherwise.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Http { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The response of an [`Error::Http`].
    pub fn response(&self) -> Option<&Response> {
        match self {
            Error::Http { response, .. } => Some(response),
            _ => None,
        }
    }

    /// Turns a non-2xx `response` into [`Error::Http`], taking `error` and `code` from its body.
    pub(crate) fn from_response(response: Response) -> Error {
        let error = response.json.get("error").and_then(|e| match e {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        });
        let code = response.json.get("code").and_then(json_str);
        Error::Http {
            status: response.status,
            error,
            code,
            response: Box::new(response),
        }
    }
}

/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn error_display_matches_wsk() {
        let r = Response {
            status: 404,
            headers: vec![],
            json: json!({"error": "The requested resource does not exist.", "code": "abc"}),
            text: String::new(),
        };
        let e = r.into_result().unwrap_err();
        assert_eq!(
            e.to_string(),
            "The requested resource does not exist. (code abc)"
        );
        assert_eq!(e.status(), Some(404));
        let r = Response {
            status: 500,
            headers: vec![],
            json: Value::Null,
            text: String::new(),
        };
        assert_eq!(
            r.into_result().unwrap_err().to_string(),
            "The connection failed, or timed out. (HTTP status code 500)"
        );
    }
}
