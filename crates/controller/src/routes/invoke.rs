//! POST `…/actions/[{pkg}/]{name}`: invoke an action (spec §2.3).

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use whirl_core::entity::activation_api_view;
use whirl_core::limits::MAX_PAYLOAD_BYTES;
use whirl_core::messages;

use crate::activation::{self, check_invoke_throttles, Invocation, Waited};
use crate::auth::Auth;
use crate::entities::resolve_action;
use crate::error::{ApiError, ApiResult, TransactionId};
use crate::extract::{
    content_length, entity_name, namespace_of, parse_json, read_body, Query, Segments,
};
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

/// HTTP status of a finished blocking activation: 200, 502 (application or developer error),
/// 500 (whisk error).
fn status_of(record: &Value) -> StatusCode {
    match record
        .pointer("/response/statusCode")
        .and_then(Value::as_u64)
    {
        Some(0) => StatusCode::OK,
        Some(1) | Some(2) => StatusCode::BAD_GATEWAY,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// POST `…/actions/[{pkg}/]{name}?blocking&result&timeout`.
pub async fn invoke(
    State(state): State<AppState>,
    Auth(who): Auth,
    Segments(segs): Segments,
    q: Query,
    req: Request,
) -> ApiResult<Response> {
    let ns = namespace_of(&segs[0], &who)?;
    let (pkg, name) = match &segs[2..] {
        [name] => (None, entity_name(name)?),
        [pkg, name] => (Some(entity_name(pkg)?), entity_name(name)?),
        _ => return Err(ApiError::not_found()),
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
        Waited::Done(mut record) => {
            let status = status_of(&record);
            let bare = record
                .pointer("/response/result")
                .is_some_and(Value::is_array);
            if result_only || bare {
                // The result alone needs no API view (which copies the whole record).
                let result = record
                    .pointer_mut("/response/result")
                    .map_or_else(|| json!({}), Value::take);
                (status, Json(result)).into_response()
            } else {
                (status, Json(activation_api_view(&record))).into_response()
            }
        }
    };
    Ok(with_activation_id(resp, &id))
}
