//! Authentication: HTTP Basic `uuid:key` against the subjects store (keys stored as SHA-256
//! hashes, compared in constant time), a short-lived identity cache, and the well-known
//! development namespaces bootstrapped by standalone mode.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use base64::Engine;
use rand::distributions::Alphanumeric;
use rand::Rng;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use whirl_core::messages;
use whirl_store::{AuthStore, NamespaceRecord, StoreError};

use crate::error::ApiError;
use crate::AppState;

/// OpenWhisk's public development key of `guest` (spec §1.8).
pub const GUEST_KEY: &str =
    "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP";
/// OpenWhisk's public development key of `whisk.system`.
pub const SYSTEM_KEY: &str =
    "789c46b1-71f6-4ed5-8c54-816aa4f8c502:abczO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP";

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
    pub limits: Map<String, Value>,
}

impl Identity {
    /// `uuid:key`.
    pub fn api_key(&self) -> String {
        format!("{}:{}", self.uuid, self.key)
    }
}

/// Hex SHA-256 of a key, the form in which keys are stored.
pub fn hash_key(key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A fresh `uuid:key` pair from the OS CSPRNG (key: 64 alphanumerics).
pub fn generate_key() -> (String, String) {
    let uuid = uuid::Uuid::new_v4().to_string();
    let key: String = rand::rngs::OsRng
        .sample_iter(&Alphanumeric)
        .take(64)
        .map(char::from)
        .collect();
    (uuid, key)
}

/// Split `uuid:key`, checking the shapes OpenWhisk requires.
pub fn split_auth(auth: &str) -> Option<(&str, &str)> {
    let (uuid, key) = auth.split_once(':')?;
    let uuid_ok = uuid::Uuid::parse_str(uuid).is_ok();
    let key_ok = key.len() == 64 && key.bytes().all(|b| b.is_ascii_alphanumeric());
    (uuid_ok && key_ok).then_some((uuid, key))
}

/// Create `namespace` with the given credentials if it does not exist (bootstrap of well-known
/// namespaces). Returns whether it was created.
pub async fn ensure_namespace(
    store: &dyn AuthStore,
    namespace: &str,
    auth: &str,
) -> Result<bool, StoreError> {
    if store.namespace(namespace).await?.is_some() {
        return Ok(false);
    }
    let (uuid, key) =
        split_auth(auth).ok_or(StoreError::Backend("malformed bootstrap key".into()))?;
    store
        .create_namespace(NamespaceRecord {
            subject: namespace.to_string(),
            namespace: namespace.to_string(),
            uuid: uuid.to_string(),
            key_hash: hash_key(key),
            limits: Value::Object(Map::new()),
        })
        .await?;
    Ok(true)
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

/// Resolve an `Authorization` header value to an identity.
pub async fn authenticate(state: &AppState, header: Option<&str>) -> Result<Identity, ApiError> {
    let header = header.ok_or_else(|| ApiError::unauthorized(messages::AUTHENTICATION_REQUIRED))?;
    let invalid = || ApiError::unauthorized(messages::AUTHENTICATION_INVALID);
    let encoded = header.strip_prefix("Basic ").ok_or_else(invalid)?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| invalid())?;
    let creds = String::from_utf8(decoded).map_err(|_| invalid())?;
    let (uuid, key) = split_auth(&creds).ok_or_else(invalid)?;
    let rec = state
        .inner
        .identities
        .lookup(state.inner.stores.auth.as_ref(), uuid)
        .await?
        .ok_or_else(invalid)?;
    let matches: bool = hash_key(key)
        .as_bytes()
        .ct_eq(rec.key_hash.as_bytes())
        .into();
    if !matches {
        return Err(invalid());
    }
    Ok(Identity {
        subject: rec.subject.clone(),
        namespace: rec.namespace.clone(),
        uuid: uuid.to_string(),
        key: key.to_string(),
        limits: rec.limits.as_object().cloned().unwrap_or_default(),
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        let (u, k) = generate_key();
        let auth = format!("{u}:{k}");
        assert!(split_auth(&auth).is_some());
        assert!(split_auth(GUEST_KEY).is_some());
        assert!(split_auth("nouuid:abc").is_none());
        assert_eq!(hash_key("a").len(), 64);
    }
}
