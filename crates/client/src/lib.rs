//! whirl-client: a small, blocking, typed client for the OpenWhisk REST API (`/api/v1`).
//!
//! Used by the `whirl`/`wsk` command line (crate `whirl-cli`) and by the end-to-end tests.
//!
//! * [`Client::new`] takes the API host (`http://127.0.0.1:3233`, `https://host`, or a bare `host[:port]`,
//!   which means https like `wsk`), an optional `(uuid, key)` pair, the default namespace (`_` = the
//!   namespace of the key) and whether TLS verification is skipped (`-i`).
//! * [`Client::request`] is the generic call: any method, path, query and JSON body; it returns the
//!   [`Response`] whatever the HTTP status (only transport failures are errors).
//! * The typed methods (`action_put`, `activation_list`, ...) call [`Client::call`], which turns every
//!   non-2xx answer into [`Error::Http`] carrying the status, the server's `error` message and its
//!   `code` (request id).
//!
//! The client is synchronous (ureq) and never needs a tokio runtime, so it can be used from plain
//! threads and from inside `#[tokio::test]` functions alike.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

use std::fmt;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

/// Upper bound of a response body we accept (code downloads can be large).
const MAX_BODY: u64 = 128 * 1024 * 1024;

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
}

/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

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
            return Ok(self);
        }
        let error = self.json.get("error").and_then(|e| match e {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        });
        let code = self.json.get("code").and_then(json_str);
        Err(Error::Http {
            status: self.status,
            error,
            code,
            response: Box::new(self),
        })
    }
}

fn json_str(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Paging options of list calls (`limit`, `skip`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListOptions {
    /// `limit` query parameter (always sent, 0 = server maximum).
    pub limit: u32,
    /// `skip` query parameter (always sent).
    pub skip: u32,
}

/// Options of `GET /namespaces/{ns}/activations`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActivationListOptions {
    /// `name` filter (`action` or `pkg/action`).
    pub name: Option<String>,
    /// `limit` (always sent).
    pub limit: u32,
    /// `skip` (always sent).
    pub skip: u32,
    /// `since` epoch ms.
    pub since: Option<u64>,
    /// `upto` epoch ms.
    pub upto: Option<u64>,
    /// `docs=true`: full records.
    pub docs: bool,
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
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let bad = |what: &Path, e: &dyn fmt::Display| {
            Error::ClientIdentity(format!("{}: {e}", what.display()))
        };
        let certs = CertificateDer::pem_file_iter(cert_pem)
            .map_err(|e| bad(cert_pem, &e))?
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| bad(cert_pem, &e))?;
        if certs.is_empty() {
            return Err(bad(cert_pem, &"no certificate in the file"));
        }
        let key = PrivateKeyDer::from_pem_file(key_pem).map_err(|e| bad(key_pem, &e))?;
        self.agent = agent(tls_config(self.insecure, Some((certs, key))).transpose()?);
        Ok(self)
    }

    /// Parses an `uuid:key` string into the pair [`Client::new`] takes.
    pub fn parse_auth(key: &str) -> Option<(String, String)> {
        let (u, k) = key.split_once(':')?;
        Some((u.to_string(), k.to_string()))
    }

    /// Base URL (scheme://host[:port], no trailing slash).
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

    // ----------------------------------------------------------------------------------- info

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
            encode_segment(&self.namespace)
        );
        Ok(self.call("GET", &p, &[], None)?.json)
    }

    fn list(&self, collection: &str, sub: Option<&str>, opts: ListOptions) -> Result<Vec<Value>> {
        let path = match sub {
            Some(s) => format!("{}/", self.entity_path(collection, Some(s))),
            None => self.entity_path(collection, None),
        };
        let q = [
            ("limit", opts.limit.to_string()),
            ("skip", opts.skip.to_string()),
        ];
        let v = self.call("GET", &path, &q, None)?.json;
        Ok(as_vec(v))
    }

    // -------------------------------------------------------------------------------- actions

    /// List actions (of a package when `package` is given).
    pub fn action_list(&self, package: Option<&str>, opts: ListOptions) -> Result<Vec<Value>> {
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
        Ok(invocation(r))
    }

    // ------------------------------------------------------------------------------- packages

    /// List packages.
    pub fn package_list(&self, opts: ListOptions) -> Result<Vec<Value>> {
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

    // ------------------------------------------------------------------------------- triggers

    /// List triggers.
    pub fn trigger_list(&self, opts: ListOptions) -> Result<Vec<Value>> {
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
        Ok(invocation(self.call("POST", &p, &[], Some(payload))?))
    }

    // ---------------------------------------------------------------------------------- rules

    /// List rules.
    pub fn rule_list(&self, opts: ListOptions) -> Result<Vec<Value>> {
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

    // ---------------------------------------------------------------------------- activations

    /// `GET activations` with filters.
    pub fn activation_list(&self, o: &ActivationListOptions) -> Result<Vec<Value>> {
        let mut q: Vec<(&str, String)> = Vec::new();
        if let Some(n) = o.name.as_deref().filter(|n| !n.is_empty()) {
            q.push(("name", n.to_string()));
        }
        q.push(("limit", o.limit.to_string()));
        q.push(("skip", o.skip.to_string()));
        if let Some(s) = o.since.filter(|s| *s > 0) {
            q.push(("since", s.to_string()));
        }
        if let Some(u) = o.upto.filter(|u| *u > 0) {
            q.push(("upto", u.to_string()));
        }
        if o.docs {
            q.push(("docs", "true".into()));
        }
        let p = self.entity_path("activations", None);
        Ok(as_vec(self.call("GET", &p, &q, None)?.json))
    }

    /// `GET activations/{id}`.
    pub fn activation_get(&self, id: &str) -> Result<Value> {
        let p = self.entity_path("activations", Some(id));
        Ok(self.call("GET", &p, &[], None)?.json)
    }

    /// `GET activations/{id}/logs` → `{"logs": [...]}`.
    pub fn activation_logs(&self, id: &str) -> Result<Value> {
        let p = format!("{}/logs", self.entity_path("activations", Some(id)));
        Ok(self.call("GET", &p, &[], None)?.json)
    }

    /// `GET activations/{id}/result` → `{"result", "success", "status", "size"}`.
    pub fn activation_result(&self, id: &str) -> Result<Value> {
        let p = format!("{}/result", self.entity_path("activations", Some(id)));
        Ok(self.call("GET", &p, &[], None)?.json)
    }
}

fn as_vec(v: Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a,
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

fn invocation(r: Response) -> Invocation {
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

// ------------------------------------------------------------------------------------------ TLS

/// A client certificate chain and its private key.
type Identity = (
    Vec<rustls::pki_types::CertificateDer<'static>>,
    rustls::pki_types::PrivateKeyDer<'static>,
);

/// The agent every request goes through; `tls` replaces ureq's default TLS set-up.
fn agent(tls: Option<rustls::ClientConfig>) -> ureq::Agent {
    let mut builder = ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(30))
        .timeout_read(Duration::from_secs(330))
        .redirects(0);
    if let Some(config) = tls {
        builder = builder.tls_config(Arc::new(config));
    }
    builder.build()
}

/// `None` when ureq's default (verify against the webpki roots, no client certificate) fits;
/// otherwise a config that skips server verification (`insecure`) and/or presents `identity`.
fn tls_config(insecure: bool, identity: Option<Identity>) -> Option<Result<rustls::ClientConfig>> {
    if !insecure && identity.is_none() {
        return None;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = match rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
    {
        Ok(b) => b,
        Err(e) => return Some(Err(Error::ClientIdentity(e.to_string()))),
    };
    let builder = if insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
    } else {
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        builder.with_root_certificates(roots)
    };
    Some(match identity {
        None => Ok(builder.with_no_client_auth()),
        Some((certs, key)) => builder
            .with_client_auth_cert(certs, key)
            .map_err(|e| Error::ClientIdentity(e.to_string())),
    })
}

/// Certificate verifier for `--insecure`: accepts any server certificate (signatures are still
/// checked so the handshake itself is sound).
#[derive(Debug)]
struct NoVerify(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> std::result::Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
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
