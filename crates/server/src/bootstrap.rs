//! The well-known development namespaces, created at the first start.

use serde_json::{Map, Value};
use whirl_core::keys::{hash_key, split_auth, GUEST_KEY, SYSTEM_KEY};
use whirl_store::{AuthStore, NamespaceRecord, StoreError};

/// Create `guest` and `whisk.system` with OpenWhisk's public development keys if missing.
pub(crate) async fn well_known_namespaces(store: &dyn AuthStore) -> Result<(), StoreError> {
    ensure_namespace(store, "guest", GUEST_KEY).await?;
    ensure_namespace(store, "whisk.system", SYSTEM_KEY).await?;
    Ok(())
}

/// Create `namespace` with the given credentials if it does not exist. Returns whether it was
/// created.
pub(crate) async fn ensure_namespace(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn creates_the_well_known_namespaces_once() {
        let dir = tempfile::tempdir().unwrap();
        let stores = crate::open_sqlite(dir.path()).unwrap();
        let store = stores.auth.as_ref();
        well_known_namespaces(store).await.unwrap();
        let guest = store.namespace("guest").await.unwrap().unwrap();
        let (uuid, key) = split_auth(GUEST_KEY).unwrap();
        assert_eq!(guest.uuid, uuid);
        assert_eq!(guest.key_hash, hash_key(key));
        assert!(store.namespace("whisk.system").await.unwrap().is_some());
        // A second start changes nothing.
        assert!(!ensure_namespace(store, "guest", GUEST_KEY).await.unwrap());
        well_known_namespaces(store).await.unwrap();
    }
}
