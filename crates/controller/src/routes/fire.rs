//! POST `…/triggers/{name}`: fire a trigger (spec §3.5); the logic is [`crate::domain::fire`].

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};
use whirl_core::names::FullyQualifiedName;

use super::invoke::{payload, with_activation_id};
use crate::auth::Auth;
use crate::domain::fire::{authorize_fire, fire_authorized, Fire, FireOutcome};
use crate::error::{ApiResult, TransactionId};
use crate::extract::EntityPath;
use crate::AppState;

pub async fn fire(
    State(state): State<AppState>,
    Auth(who): Auth,
    path: EntityPath,
    req: Request,
) -> ApiResult<Response> {
    let trigger = FullyQualifiedName::new(path.namespace.resolve(&who), None, path.name);
    // Entitlement and throttle come before the payload is read, as in OpenWhisk.
    authorize_fire(&state, &who, &trigger)?;
    let transaction_id = req
        .extensions()
        .get::<TransactionId>()
        .map(|t| t.0.clone())
        .unwrap_or_default();
    let (parts, body) = req.into_parts();
    let payload = payload(body, &parts.headers).await?;
    let headers: Map<String, Value> = parts
        .headers
        .iter()
        .filter(|(k, _)| k.as_str() != "authorization")
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                json!(v.to_str().unwrap_or("")),
            )
        })
        .collect();
    let fire = Fire {
        payload,
        headers: Some(headers),
        transaction_id,
    };
    match fire_authorized(&state, &who, &trigger, fire).await? {
        FireOutcome::NoActiveRules => Ok(StatusCode::NO_CONTENT.into_response()),
        FireOutcome::Fired { activation_id } => {
            let body = Json(json!({ "activationId": activation_id }));
            let resp = (StatusCode::ACCEPTED, body).into_response();
            Ok(with_activation_id(resp, &activation_id))
        }
    }
}
