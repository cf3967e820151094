//! Authentication: HTTP Basic `uuid:key` against the subjects store (keys stored as SHA-256
//! hashes, compared in constant time) and a short-lived identity cache. The keys themselves
//! (well-known keys, hashing, generation) are `whirl_core::keys`, re-exported here.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use base64::Engine;
use subtle::ConstantTimeEq;
use whirl_core::limits::NamespaceLimits;
use whirl_core::messages;
use whirl_store::{AuthStore, NamespaceRecord};

use crate::error::ApiError;
use crate::AppState;

pub use whirl_core::keys::{generate_key, hash_key, split_auth, GUEST_KEY, SYSTEM_KEY};

/// How long a resolved identity is trusted before the store is asked again, so that keys and
/// limits changed by `whirl admin` (another process) take effect quickly.
const CACHE_TTL: Duration = Duration::from_secs(2);

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Identity {
    pub subject: String,
    pub namespace: String,
    pub uuid: String,
    /// The caller's key, needed to hand `__OW_API_KEY` to actions. Never logged.
    pub key: String,
    /// Limit overrides of the namespace.
    pub limits: NamespaceLimits,
}

impl Identity {
    /// `uuid:key`.
    pub fn api_key(&self) -> String {
        format!("{}:{}", self.uuid, self.key)
    }
}

/// When a record was read, and the record (`None`: no such uuid).
type CachedIdentity = (Instant, Option<Arc<NamespaceRecord>>);

/// Caches uuid → namespace record for [`CACHE_TTL`].
#[derive(Debug, Default)]
pub struct IdentityCache {
    entries: RwLock<HashMap<String, CachedIdentity>>,
}

impl IdentityCache {
    async fn lookup(
        &self,
        store: &dyn AuthStore,
        uuid: &str,
    ) -> Result<Option<Arc<NamespaceRecord>>, ApiError> {
        if let Ok(map) = self.entries.read() {
            if let Some((at, rec)) = map.get(uuid) {
                if at.elapsed() < CACHE_TTL {
                    return Ok(rec.clone());
                }
            }
        }
        let rec = store.namespace_by_uuid(uuid).await?.map(Arc::new);
        if let Ok(mut map) = self.entries.write() {
            if map.len() > 10_000 {
                map.clear();
            }
            map.insert(uuid.to_string(), (Instant::now(), rec.clone()));
        }
        Ok(rec)
    }
}

/// The namespace whose key has `uuid` (the API gateway's URLs name it), from the identity cache.
pub async fn namespace_by_uuid(
    state: &AppState,
    uuid: &str,
) -> Result<Option<Arc<NamespaceRecord>>, ApiError> {
    state
        .inner
        .identities
        .lookup(state.inner.stores.auth.as_ref(), uuid)
        .await
}

/// Resolve an `Authorization` header value to an identity.
pub async fn authenticate(state: &AppState, header: Option<&str>) -> Result<Identity, ApiError> {
    let header = header.ok_or_else(|| ApiError::unauthorized(messages::AUTHENTICATION_REQUIRED))?;
    let invalid = || ApiError::unauthorized(messages::AUTHENTICATION_INVALID);
    let encoded = header.strip_prefix("Basic ").ok_or_else(invalid)?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| invalid())?;
    let creds = String::from_utf8(decoded).map_err(|_| invalid())?;
    identify(state, &creds).await?.ok_or_else(invalid)
}

/// The identity whose credentials are `uuid:key`; `None` when they match no namespace (the
/// alarms feed checks the `authKey` it is given, and fires with it, this way).
pub async fn identify(state: &AppState, creds: &str) -> Result<Option<Identity>, ApiError> {
    let Some((uuid, key)) = split_auth(creds) else {
        return Ok(None);
    };
    let Some(rec) = state
        .inner
        .identities
        .lookup(state.inner.stores.auth.as_ref(), uuid)
        .await?
    else {
        return Ok(None);
    };
    let matches: bool = hash_key(key)
        .as_bytes()
        .ct_eq(rec.key_hash.as_bytes())
        .into();
    if !matches {
        return Ok(None);
    }
    Ok(Some(Identity {
        subject: rec.subject.clone(),
        namespace: rec.namespace.clone(),
        uuid: uuid.to_string(),
        key: key.to_string(),
        limits: NamespaceLimits::from_document(&rec.limits),
    }))
}

/// Extractor: the authenticated caller (401 otherwise).
#[derive(Debug, Clone)]
pub struct Auth(pub Identity);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        authenticate(state, header).await.map(Auth)
    }
}
