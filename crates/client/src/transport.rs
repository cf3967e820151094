//! The transport: base URL, Basic auth header, user agent, TLS agent, `-v` tracing, and the
//! generic [`Client::request`] / [`Client::call`] every verb goes through.

use std::fmt;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::response::Response;
use crate::tls::{agent, load_identity, tls_config};

/// Upper bound of a response body we accept (code downloads can be large).
const MAX_BODY: u64 = 128 * 1024 * 1024;

/// Percent-encodes one path segment (everything but RFC 3986 unreserved characters).
pub fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Encodes a `pkg/name` style path, keeping the slashes.
pub fn encode_path(s: &str) -> String {
    s.split('/')
        .map(encode_segment)
        .collect::<Vec<_>>()
        .join("/")
}

/// Normalises an API host like `wsk`: no scheme means `https://`; a trailing `/` is removed.
pub fn normalize_apihost(host: &str) -> Result<String> {
    let host = host.trim();
    if host.is_empty() {
        return Err(Error::InvalidHost(
            "An API host must be provided.".to_string(),
        ));
    }
    let with_scheme = if host.starts_with("http://") || host.starts_with("https://") {
        host.to_string()
    } else {
        format!("https://{host}")
    };
    let trimmed = with_scheme.trim_end_matches('/').to_string();
    let rest = trimmed.split_once("://").map(|(_, r)| r).unwrap_or("");
    if rest.is_empty() || rest.starts_with('/') {
        return Err(Error::InvalidHost(format!("Invalid host address '{host}'")));
    }
    Ok(trimmed)
}

/// Hook called with the request and the response when verbose output is wanted.
pub type TraceFn = Arc<dyn Fn(&str) + Send + Sync>;

/// The REST client. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    base: String,
    auth: Option<(String, String)>,
    namespace: String,
    insecure: bool,
    agent: ureq::Agent,
    user_agent: String,
    headers: Vec<(String, String)>,
    trace: Option<TraceFn>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .field("auth", &self.auth.as_ref().map(|(u, _)| u))
            .field("namespace", &self.namespace)
            .field("insecure", &self.insecure)
            .finish()
    }
}

impl Client {
    /// A client for `apihost` (see [`normalize_apihost`]), with Basic auth `uuid:key` if given,
    /// default namespace `namespace` (`""` means `_`), skipping TLS verification when `insecure`.
    pub fn new(
        apihost: &str,
        auth: Option<(String, String)>,
        namespace: &str,
        insecure: bool,
    ) -> Result<Client> {
        let base = normalize_apihost(apihost)?;
        let namespace = if namespace.is_empty() {
            "_".to_string()
        } else {
            namespace.to_string()
        };
        Ok(Client {
            base,
            auth,
            namespace,
            insecure,
            agent: agent(tls_config(insecure, None).transpose()?),
            user_agent: format!("OpenWhisk-CLI/1.0 (whirl {})", env!("CARGO_PKG_VERSION")),
            headers: Vec::new(),
            trace: None,
        })
    }

    /// Presents the certificate chain in `cert_pem` with the private key in `key_pem` (PEM
    /// files) when the server asks for a client certificate (mutual TLS, `wsk --cert --key`).
    pub fn with_client_cert(mut self, cert_pem: &Path, key_pem: &Path) -> Result<Client> {
        let identity = load_identity(cert_pem, key_pem)?;
        self.agent = agent(tls_config(self.insecure, Some(identity)).transpose()?);
        Ok(self)
    }

    /// Parses an `uuid:key` string into the pair [`Client::new`] takes.
    pub fn parse_auth(key: &str) -> Option<(String, String)> {
        let (u, k) = key.split_once(':')?;
        Some((u.to_string(), k.to_string()))
    }

    /// Base URL (`scheme://host[:port]`, no trailing slash).
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// Default namespace used by the typed methods.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The `uuid:key` string, if any.
    pub fn auth_key(&self) -> Option<String> {
        self.auth.as_ref().map(|(u, k)| format!("{u}:{k}"))
    }

    /// Whether TLS verification is skipped.
    pub fn insecure(&self) -> bool {
        self.insecure
    }

    /// The same client with another default namespace.
    pub fn with_namespace(&self, namespace: &str) -> Client {
        let mut c = self.clone();
        c.namespace = if namespace.is_empty() {
            "_".to_string()
        } else {
            namespace.to_string()
        };
        c
    }

    /// Adds a header sent with every request.
    pub fn with_header(mut self, name: &str, value: &str) -> Client {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Sets the User-Agent.
    pub fn with_user_agent(mut self, ua: &str) -> Client {
        self.user_agent = ua.to_string();
        self
    }

    /// Installs a trace hook (used by `-v`): it receives human readable request/response dumps.
    pub fn with_trace(mut self, trace: TraceFn) -> Client {
        self.trace = Some(trace);
        self
    }

    fn emit(&self, text: &str) {
        if let Some(t) = &self.trace {
            t(text);
        }
    }

    /// Generic request. `path` is absolute (`/api/v1/...`); query pairs are encoded here.
    /// Returns the response whatever its status; only transport failures are errors.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Response> {
        let mut url = format!("{}{}", self.base, path);
        if !query.is_empty() {
            let q: Vec<String> = query
                .iter()
                .map(|(k, v)| format!("{}={}", encode_segment(k), encode_segment(v)))
                .collect();
            url.push(if url.contains('?') { '&' } else { '?' });
            url.push_str(&q.join("&"));
        }
        let mut req = self
            .agent
            .request(method, &url)
            .set("User-Agent", &self.user_agent)
            .set("Accept", "application/json");
        if let Some((u, k)) = &self.auth {
            use base64::Engine as _;
            let token = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{k}"));
            req = req.set("Authorization", &format!("Basic {token}"));
        }
        for (k, v) in &self.headers {
            req = req.set(k, v);
        }
        let body_text = body.map(|b| b.to_string());
        if self.trace.is_some() {
            let mut t = format!("REQUEST:\n[{method}]\t{url}\n");
            if let Some(b) = &body_text {
                t.push_str("Req Body\n");
                t.push_str(&truncate(b, 1000));
                t.push('\n');
            }
            self.emit(&t);
        }
        let result = match &body_text {
            Some(b) => req.set("Content-Type", "application/json").send_string(b),
            None => req.call(),
        };
        let resp = match result {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(ureq::Error::Transport(t)) => {
                return Err(Error::Transport(format!("{method} {url} failed: {t}")))
            }
        };
        let status = resp.status();
        let headers: Vec<(String, String)> = resp
            .headers_names()
            .into_iter()
            .flat_map(|n| {
                resp.all(&n)
                    .into_iter()
                    .map(|v| (n.to_ascii_lowercase(), v.to_string()))
                    .collect::<Vec<_>>()
            })
            .collect();
        let mut bytes = Vec::new();
        resp.into_reader()
            .take(MAX_BODY)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::Transport(format!("reading response of {method} {url}: {e}")))?;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let json = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text.clone()))
        };
        if self.trace.is_some() {
            self.emit(&format!(
                "RESPONSE:\nGot response with code {status}\nResponse body size is {} bytes\nResponse body received:\n{}\n",
                text.len(),
                truncate(&text, 1000)
            ));
        }
        Ok(Response {
            status,
            headers,
            json,
            text,
        })
    }

    /// Like [`Client::request`] but non-2xx answers become [`Error::Http`].
    pub fn call(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Response> {
        self.request(method, path, query, body)?.into_result()
    }

    /// `/api/v1/namespaces/{ns}/{collection}[/{name}]` with the client's namespace.
    pub fn entity_path(&self, collection: &str, name: Option<&str>) -> String {
        let mut p = format!(
            "/api/v1/namespaces/{}/{}",
            encode_segment(&self.namespace),
            collection
        );
        if let Some(n) = name {
            p.push('/');
            p.push_str(&encode_path(n));
        }
        p
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apihost_normalisation() {
        assert_eq!(
            normalize_apihost("127.0.0.1:3233").unwrap(),
            "https://127.0.0.1:3233"
        );
        assert_eq!(
            normalize_apihost("http://localhost:3233/").unwrap(),
            "http://localhost:3233"
        );
        assert_eq!(normalize_apihost("https://x.io").unwrap(), "https://x.io");
        assert!(normalize_apihost("").is_err());
        assert!(normalize_apihost("http://").is_err());
    }

    #[test]
    fn segment_encoding() {
        assert_eq!(encode_segment("a b&c"), "a%20b%26c");
        assert_eq!(encode_path("pkg/my action"), "pkg/my%20action");
    }

    #[test]
    fn insecure_config_builds() {
        let c = Client::new("https://127.0.0.1:1", None, "", true).unwrap();
        assert!(c.insecure());
        assert_eq!(c.namespace(), "_");
        // TLS set-up must not panic; a refused connection is a transport error.
        for insecure in [false, true] {
            let c = Client::new("https://127.0.0.1:9", None, "", insecure).unwrap();
            let e = c.api_info().unwrap_err();
            assert!(matches!(e, Error::Transport(_)), "{e}");
        }
    }
}
