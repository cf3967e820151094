//! The shared behaviour suite, one test per behaviour, each on a database of its own.

use std::sync::Arc;

use whirl_store::cache::CachedEntityStore;
use whirl_store::{behaviour, Stores};

use crate::fresh;

macro_rules! behaviour_tests {
    ($($name:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $name() {
            let (_url, stores) = fresh().await;
            behaviour::$name(&stores).await;
        }
    )*};
}

behaviour_tests!(
    entity_crud,
    entity_revisions,
    entity_concurrent_update,
    entity_already_exists_across_kinds,
    entity_list_and_count,
    content_round_trips,
    activation_put_get,
    activation_list_filters,
    activation_pending,
    activation_pending_per_owner,
    activation_put_if_absent,
    activation_enqueue_read_your_writes,
    auth_namespaces,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn activation_concurrent_puts() {
    let (_url, stores) = fresh().await;
    behaviour::activation_concurrent_puts(&stores, 500).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn whole_suite_twice_on_one_store() {
    let (_url, stores) = fresh().await;
    behaviour::run_all(&stores).await;
    // The suite uses fresh names, so it also passes on a store that already holds its data.
    behaviour::run_all(&stores).await;
}

#[tokio::test(flavor = "current_thread")]
async fn whole_suite_on_current_thread_runtime() {
    let (_url, stores) = fresh().await;
    behaviour::run_all(&stores).await;
}

/// Two stores (as two controllers would have) on one database pass the suite together.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn whole_suite_on_two_pools_at_once() {
    let url = crate::fresh_url().await;
    let (a, b) = tokio::join!(
        whirl_store_postgres::connect(&url),
        whirl_store_postgres::connect(&url)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    tokio::join!(behaviour::run_all(&a), behaviour::run_all(&b));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cached_entity_store_over_postgres_passes_the_suite() {
    let (_url, base) = fresh().await;
    let stores = Stores {
        entities: Arc::new(CachedEntityStore::new(base.entities.clone())),
        activations: base.activations.clone(),
        auth: base.auth.clone(),
    };
    behaviour::run_all(&stores).await;
}
