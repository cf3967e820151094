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
    let created = store
        .create_namespace(NamespaceRecord {
            subject: namespace.to_string(),
            namespace: namespace.to_string(),
            uuid: uuid.to_string(),
            key_hash: hash_key(key),
            limits: Value::Object(Map::new()),
        })
        .await;
    match created {
        Ok(()) => Ok(true),
        // Created meanwhile by another process starting on the same store (the controllers of
        // a cluster start together): theirs stands.
        Err(StoreError::AlreadyExists) => Ok(false),
        Err(e) => Err(e),
    }
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

    /// A store whose lookups miss: what a process sees when another one creates the namespace
    /// between its lookup and its create.
    #[derive(Debug)]
    struct LateLookups(std::sync::Arc<dyn AuthStore>);

    #[async_trait::async_trait]
    impl AuthStore for LateLookups {
        async fn namespace_by_uuid(
            &self,
            uuid: &str,
        ) -> Result<Option<NamespaceRecord>, StoreError> {
            self.0.namespace_by_uuid(uuid).await
        }
        async fn namespace(&self, _: &str) -> Result<Option<NamespaceRecord>, StoreError> {
            Ok(None)
        }
        async fn create_namespace(&self, record: NamespaceRecord) -> Result<(), StoreError> {
            self.0.create_namespace(record).await
        }
        async fn delete_namespace(&self, namespace: &str) -> Result<(), StoreError> {
            self.0.delete_namespace(namespace).await
        }
        async fn list_namespaces(&self) -> Result<Vec<NamespaceRecord>, StoreError> {
            self.0.list_namespaces().await
        }
        async fn set_limits(&self, namespace: &str, limits: Value) -> Result<(), StoreError> {
            self.0.set_limits(namespace, limits).await
        }
    }

    /// Controllers of a cluster start together on one store: the one that loses the race to
    /// create a well-known namespace starts anyway.
    #[tokio::test]
    async fn a_namespace_created_meanwhile_by_another_process_is_not_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let stores = crate::open_sqlite(dir.path()).unwrap();
        well_known_namespaces(stores.auth.as_ref()).await.unwrap();
        let racing = LateLookups(stores.auth.clone());
        assert!(!ensure_namespace(&racing, "guest", GUEST_KEY).await.unwrap());
        well_known_namespaces(&racing).await.unwrap();
    }
}
