//! The `/api/v1` routes, one module per REST collection.

use axum::routing::get;
use axum::Router;

use crate::AppState;

pub mod actions;
pub mod activations;
pub mod fire;
pub mod info;
pub mod invoke;
pub mod namespaces;
pub mod packages;
pub mod rules;
pub mod triggers;

/// Routes under `/api/v1`.
pub fn api_router() -> Router<AppState> {
    Router::new()
        .route("/", get(info::api_info))
        .route("/api-docs", get(info::api_docs))
        .route("/namespaces", get(namespaces::list))
        .route("/namespaces/", get(namespaces::list))
        .route("/namespaces/{ns}/limits", get(namespaces::limits))
        .route("/namespaces/{ns}/actions", get(actions::list))
        .route("/namespaces/{ns}/actions/", get(actions::list))
        .route(
            "/namespaces/{ns}/actions/{*rest}",
            get(actions::get)
                .put(actions::put)
                .delete(actions::delete)
                .post(invoke::invoke),
        )
        .route("/namespaces/{ns}/packages", get(packages::list))
        .route("/namespaces/{ns}/packages/", get(packages::list))
        .route(
            "/namespaces/{ns}/packages/{name}",
            get(packages::get)
                .put(packages::put)
                .delete(packages::delete),
        )
        .route("/namespaces/{ns}/triggers", get(triggers::list))
        .route("/namespaces/{ns}/triggers/", get(triggers::list))
        .route(
            "/namespaces/{ns}/triggers/{name}",
            get(triggers::get)
                .put(triggers::put)
                .delete(triggers::delete)
                .post(fire::fire),
        )
        .route("/namespaces/{ns}/rules", get(rules::list))
        .route("/namespaces/{ns}/rules/", get(rules::list))
        .route(
            "/namespaces/{ns}/rules/{name}",
            get(rules::get)
                .put(rules::put)
                .delete(rules::delete)
                .post(rules::set_status),
        )
        .route("/namespaces/{ns}/activations", get(activations::list))
        .route("/namespaces/{ns}/activations/", get(activations::list))
        .route("/namespaces/{ns}/activations/{id}", get(activations::get))
        .route(
            "/namespaces/{ns}/activations/{id}/logs",
            get(activations::logs),
        )
        .route(
            "/namespaces/{ns}/activations/{id}/result",
            get(activations::result),
        )
}

/// One page of a collection (or its count with `count=true`), each stored document rendered by
/// `view`. `kind.collection()` names the collection in messages and in the count object.
pub(crate) async fn list_page(
    state: &AppState,
    kind: whirl_store::EntityKind,
    scope: whirl_store::Scope,
    query: &[(String, String)],
    view: impl Fn(serde_json::Value) -> serde_json::Value,
) -> crate::error::ApiResult<axum::Json<serde_json::Value>> {
    let collection = kind.collection();
    let p = crate::extract::list_params(query, collection)?;
    let store = &state.inner.stores.entities;
    if p.count {
        return Ok(axum::Json(count_json(
            collection,
            store.count(kind, &scope).await?,
        )));
    }
    let q = whirl_store::EntityQuery {
        kind,
        scope,
        skip: p.skip,
        limit: Some(p.limit),
    };
    let list = store.list(&q).await?;
    Ok(axum::Json(serde_json::Value::Array(
        list.into_iter().map(|e| view(e.doc)).collect(),
    )))
}

/// `{"<collection>": n}` for `count=true`.
pub(crate) fn count_json(collection: &str, n: u64) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    m.insert(collection.to_string(), serde_json::json!(n));
    serde_json::Value::Object(m)
}

/// Common PUT checks of parameters and annotations sizes (413).
pub(crate) fn check_kv_sizes(
    parameters: Option<&whirl_core::entity::KeyValues>,
    annotations: Option<&whirl_core::entity::KeyValues>,
) -> crate::error::ApiResult<()> {
    use whirl_core::entity::kv_size;
    use whirl_core::limits::MAX_PARAMETER_BYTES;
    for (field, kvs) in [("parameters", parameters), ("annotations", annotations)] {
        if let Some(kvs) = kvs {
            let size = kv_size(kvs);
            if size > MAX_PARAMETER_BYTES {
                return Err(crate::error::ApiError::too_large(
                    whirl_core::messages::field_too_large(field, size, MAX_PARAMETER_BYTES),
                ));
            }
        }
    }
    Ok(())
}

/// The version of an entity being written: the body's, else bumped from the old one, else 0.0.1.
pub(crate) fn next_version(
    body: Option<&str>,
    old: Option<&str>,
) -> crate::error::ApiResult<String> {
    use whirl_core::semver::SemVer;
    if let Some(v) = body {
        let v: SemVer = v.parse().map_err(|_| {
            crate::error::ApiError::bad_request(whirl_core::messages::malformed(
                "bad semantic version",
            ))
        })?;
        return Ok(v.to_string());
    }
    Ok(match old.and_then(|o| o.parse::<SemVer>().ok()) {
        Some(o) => o.bump_patch().to_string(),
        None => SemVer::INITIAL.to_string(),
    })
}
