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
//!
//! Layout: the transport (`transport`: base URL, auth header, tracing; `tls`: `--insecure` and
//! client certificates; `error` and `response`: the answer and its error mapping) is apart
//! from the verbs, one module per REST collection (`actions`, `packages`, `triggers`, `rules`,
//! `activations`, `namespaces`, and `apis` for the API gateway web actions), which add methods to [`Client`]. Shared option and response
//! types ([`ListOptions`], [`EntitySummary`], [`KeyValues`], [`Invocation`]) live in `entities`.
//! Where a caller prints the server's JSON as is (`wsk ... get`), the methods return the raw
//! [`serde_json::Value`]; the typed structs only carry the fields callers read.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod actions;
mod activations;
mod apis;
mod entities;
mod error;
mod namespaces;
mod packages;
mod response;
mod rules;
mod tls;
mod transport;
mod triggers;

pub use activations::{
    Activation, ActivationListOptions, ActivationLogs, ActivationResponse, ActivationResult,
};
pub use apis::APIMGMT_PATH;
pub use entities::{EntitySummary, Invocation, KeyValues, ListOptions};
pub use error::{Error, Result};
pub use response::Response;
pub use transport::{encode_path, encode_segment, normalize_apihost, Client, TraceFn};
