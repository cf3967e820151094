//! POST `…/actions/[{pkg}/]{name}`: invoke an action (spec §2.3).

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};
use whirl_core::entity::activation_api_json;
use whirl_core::json::SharedJson;
use whirl_core::limits::MAX_PAYLOAD_BYTES;
use whirl_core::messages;

use crate::activation::{self, check_invoke_throttles, Invocation, Waited};
use crate::auth::Auth;
use crate::entities::resolve_action;
use crate::error::{ApiError, ApiResult, TransactionId};
use crate::extract::{content_length, parse_json, read_body, ActionPath, ActionTarget, Query};
use crate::AppState;

/// The longest a blocking invoke waits (`max-wait-for-blocking-activation`).
pub const MAX_BLOCKING_WAIT_MS: u64 = 60_000;

pub(crate) const ACTIVATION_ID_HEADER: &str = "x-openwhisk-activation-id";

/// Read and check an invoke or fire payload: at most 1 MB, a JSON object or array (empty = `{}`).
pub(crate) async fn payload(body: Body, headers: &axum::http::HeaderMap) -> ApiResult<Value> {
    let bytes = read_body(body, content_length(headers), MAX_PAYLOAD_BYTES).await?;
    let v: Value = parse_json(&bytes)?;
    match v {
        Value::Object(_) | Value::Array(_) => Ok(v),
        _ => Err(ApiError::bad_request(messages::malformed(
            "the payload must be a JSON object or array",
        ))),
    }
}

pub(crate) fn with_activation_id(mut r: Response, id: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(id) {
        r.headers_mut().insert(ACTIVATION_ID_HEADER, v);
    }
    r
}

/// The part of a stored record a blocking answer needs, borrowed from its JSON text.
#[derive(Deserialize)]
struct RecordHead<'a> {
    #[serde(borrow)]
    response: ResponseHead<'a>,
}

#[derive(Deserialize)]
struct ResponseHead<'a> {
    #[serde(rename = "statusCode", default)]
    status_code: Option<u64>,
    #[serde(borrow, default)]
    result: Option<&'a RawValue>,
}

/// HTTP status of a finished blocking activation: 200, 502 (application or developer error),
/// 500 (whisk error).
fn status_of(status_code: Option<u64>) -> StatusCode {
    match status_code {
        Some(0) => StatusCode::OK,
        Some(1) | Some(2) => StatusCode::BAD_GATEWAY,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn json_response(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// The answer to a blocking invoke that finished: the result alone (`result=true`, or when the
/// result is an array) or the record's API view, written from the record's JSON text without
/// building a JSON tree.
pub(crate) fn finished(record: &SharedJson, result_only: bool) -> ApiResult<Response> {
    let unreadable = |e: serde_json::Error| {
        tracing::error!(error = %e, "unreadable activation record");
        ApiError::internal()
    };
    let head: RecordHead<'_> = record.parse().map_err(unreadable)?;
    let status = status_of(head.response.status_code);
    let result = head.response.result.map(RawValue::get);
    let bare = result.is_some_and(|r| r.trim_start().starts_with('['));
    if result_only || bare {
        return Ok(json_response(status, result.unwrap_or("{}").to_string()));
    }
    let view = activation_api_json(record.as_str()).map_err(unreadable)?;
    Ok(json_response(status, view))
}

/// POST `…/actions/[{pkg}/]{name}?blocking&result&timeout`.
pub async fn invoke(
    State(state): State<AppState>,
    Auth(who): Auth,
    path: ActionPath,
    q: Query,
    req: Request,
) -> ApiResult<Response> {
    let ns = path.namespace.resolve(&who);
    let (pkg, name) = match path.target {
        ActionTarget::Action { package, name } => (package, name),
        // `…/actions/{pkg}/` names no action: its empty name is invalid.
        ActionTarget::Package(_) => {
            return Err(ApiError::bad_request(messages::ENTITY_ILLEGAL_CHARS))
        }
        ActionTarget::Collection => return Err(ApiError::not_found()),
    };
    let blocking = q.flag("blocking");
    let result_only = q.flag("result");
    let wait_ms = match q.get("timeout") {
        None => MAX_BLOCKING_WAIT_MS,
        Some(t) => t
            .parse::<u64>()
            .ok()
            .filter(|t| (1..=MAX_BLOCKING_WAIT_MS).contains(t))
            .ok_or_else(|| ApiError::bad_request(messages::INVALID_TIMEOUT))?,
    };
    // Throttles come before the entitlement and existence checks, as in OpenWhisk.
    check_invoke_throttles(&state, &who)?;
    let tid = req
        .extensions()
        .get::<TransactionId>()
        .map(|t| t.0.clone())
        .unwrap_or_default();
    let (parts, body) = req.into_parts();
    let payload = payload(body, &parts.headers).await?;
    let action = resolve_action(&state, &who, &ns, pkg.as_deref(), &name, false).await?;
    let inv = Invocation {
        who,
        action,
        payload,
        transaction_id: tid,
        cause: None,
        step: Default::default(),
    };
    let wait = if blocking {
        Duration::from_millis(wait_ms)
    } else {
        Duration::ZERO
    };
    let (id, waited) = activation::invoke(&state, inv, wait).await?;
    let resp = match waited {
        Waited::Accepted => {
            (StatusCode::ACCEPTED, Json(json!({ "activationId": id }))).into_response()
        }
        Waited::Done(record) => finished(&record, result_only)?,
    };
    Ok(with_activation_id(resp, &id))
}
