//! The invoker: consumes activation messages, runs them in containers from the pool, collects
//! logs, writes the activation record and publishes the completion (spec §4.4, §1.7, §3.10).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::task::JoinSet;
use tracing::Instrument;
use whirl_bus::{
    Ack, ActivationMessage, Bus, BusError, CompletionMessage, Delivery, Feed, InvokerId,
    InvokerPing, Publisher,
};
use whirl_core::entity::{
    activation_entity_path, ActivationResponse, ActivationStatus, KeyValue, WhiskAction,
    WhiskActivation,
};
use whirl_core::json::SharedJson;
use whirl_core::limits::MB;
use whirl_core::now_millis;
use whirl_runtime::{
    ActivationEnv, Container, ContainerFactory, ContainerSpec, ExecSpec, InitRequest, RunRequest,
};
use whirl_store::{ActivationRecord, Stores};

pub mod pool;

use pool::{Acquired, Lease, Pool, StemKey, WarmKey};

/// Invoker configuration (defaults follow OpenWhisk's invoker `application.conf`).
#[derive(Debug, Clone)]
pub struct InvokerConfig {
    /// This invoker's id: the bus delivers it the activations placed on it, and it owns their
    /// pending markers.
    pub id: InvokerId,
    /// Sum of action memory limits of all containers (`user-memory`).
    pub user_memory_mb: u64,
    /// Idle time before a warm container is paused (`pause-grace`, 10 s).
    pub pause_grace: Duration,
    /// Idle time before a warm container is destroyed (`idle-container`, 10 min).
    pub idle_timeout: Duration,
    /// Prewarmed containers: (kind, count, memory MB).
    pub stem_cells: Vec<(String, u32, u32)>,
    /// `__OW_API_HOST` for actions.
    pub api_host: String,
}

impl Default for InvokerConfig {
    fn default() -> Self {
        Self {
            id: InvokerId(0),
            user_memory_mb: 4096,
            pause_grace: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(600),
            stem_cells: Vec::new(),
            api_host: "http://127.0.0.1:3233".into(),
        }
    }
}

/// The message for activations that were accepted but whose run was interrupted by a crash.
pub const INTERRUPTED: &str = whirl_core::messages::ACTIVATION_INTERRUPTED;
use whirl_core::messages::PROVISION_FAILED;

/// An action as the invoker runs it: the typed document, its code, and the revision they are.
#[derive(Debug)]
struct LoadedAction {
    action: WhiskAction,
    code: Option<String>,
    revision: u64,
}

impl LoadedAction {
    /// Which code this is: the revision, told apart from the same revision number of an
    /// earlier incarnation of the action (deleted, then created again, it starts over at 1) by
    /// the document's `updated`. Keys warm containers.
    fn incarnation(&self) -> u64 {
        // An odd multiplier mixes `updated` bijectively; equal revisions of different
        // incarnations never collide.
        self.revision ^ (self.action.updated as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }
}

/// The action documents the invoker runs, cached by (id, revision, updated).
type ActionCache = Mutex<HashMap<(String, u64, i64), Arc<LoadedAction>>>;

/// How often the invoker pings the controllers (OpenWhisk: every second).
const PING_INTERVAL: Duration = Duration::from_secs(1);

struct Shared {
    config: InvokerConfig,
    stores: Stores,
    factory: Arc<dyn ContainerFactory>,
    pool: Arc<Pool>,
    completions: Arc<dyn Publisher<CompletionMessage>>,
    actions: ActionCache,
    next_id: AtomicU64,
    instance: String,
    /// When the last activation started executing (`now_millis`); stem-cell replacements wait
    /// for a quiet moment.
    last_start: std::sync::atomic::AtomicI64,
    /// Activations taken from the bus and not finished (a drain at shutdown waits for them).
    active: AtomicU64,
    drained: tokio::sync::Notify,
}

/// Counts one activation as active for its lifetime.
struct Active(Arc<Shared>);

impl Active {
    fn new(shared: &Arc<Shared>) -> Self {
        shared.active.fetch_add(1, Ordering::SeqCst);
        Active(shared.clone())
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        if self.0.active.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.drained.notify_waiters();
        }
    }
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("config", &self.config)
            .finish()
    }
}

/// A running invoker.
#[derive(Debug)]
pub struct Invoker {
    shared: Arc<Shared>,
    tasks: JoinSet<()>,
    /// The task taking activations from the bus (stopped first at shutdown).
    consumer: tokio::task::AbortHandle,
}

impl Invoker {
    /// Register on `bus` as `config.id` and start consuming the activations placed on this
    /// invoker. Cleans up leftovers of a crashed run first and starts stem cells.
    pub async fn start(
        config: InvokerConfig,
        stores: Stores,
        factory: Arc<dyn ContainerFactory>,
        bus: &dyn Bus,
    ) -> Result<Self, BusError> {
        let feed = bus.activations(config.id).await?;
        let completions = bus.completion_publisher();
        let pings = bus.ping_publisher();
        match factory.cleanup_leftovers() {
            Ok(0) => {}
            Ok(n) => tracing::info!(count = n, "removed containers left by a previous run"),
            Err(e) => tracing::warn!(error = %e, "could not clean up leftover containers"),
        }
        let pool = Pool::new(config.user_memory_mb);
        let shared = Arc::new(Shared {
            config,
            stores,
            factory,
            pool,
            completions,
            actions: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
            last_start: std::sync::atomic::AtomicI64::new(0),
            active: AtomicU64::new(0),
            drained: tokio::sync::Notify::new(),
            instance: format!("{:x}", now_millis()),
        });
        let mut tasks = JoinSet::new();
        // Registration: the first ping, before any activation can be placed here.
        let ping = InvokerPing {
            invoker: shared.config.id,
            user_memory_mb: shared.config.user_memory_mb,
        };
        pings.publish(ping.clone()).await?;
        tasks.spawn(heartbeat(pings, ping));
        let consumer = tasks.spawn(consume(shared.clone(), feed));
        tasks.spawn(janitor(shared.clone()));
        for (kind, count, memory) in shared.config.stem_cells.clone() {
            for _ in 0..count {
                tasks.spawn(add_stem_cell(shared.clone(), kind.clone(), memory));
            }
        }
        Ok(Self {
            shared,
            tasks,
            consumer,
        })
    }

    pub fn pool_stats(&self) -> pool::PoolStats {
        self.shared.pool.stats()
    }

    /// Stop: no new work, destroy every container (idle, paused, stem cells), and remove any
    /// sandbox still left (running activations are cut off).
    pub async fn shutdown(self) {
        self.shutdown_after(Duration::ZERO).await;
    }

    /// Stop taking activations, give the running ones up to `drain` to finish (their records
    /// and completions go out, the invoker keeps pinging meanwhile), then stop like
    /// [`Invoker::shutdown`]. What a durable bus still holds for this invoker waits there.
    pub async fn shutdown_after(mut self, drain: Duration) {
        self.consumer.abort();
        let deadline = tokio::time::Instant::now() + drain;
        loop {
            let notified = self.shared.drained.notified();
            let active = self.shared.active.load(Ordering::SeqCst);
            if active == 0 {
                break;
            }
            if tokio::time::Instant::now() >= deadline {
                tracing::warn!(active, "stopping with activations still running");
                break;
            }
            tracing::info!(active, "waiting for running activations to finish");
            let _ = tokio::time::timeout_at(deadline, notified).await;
        }
        self.tasks.abort_all();
        while self.tasks.join_next().await.is_some() {}
        for c in self.shared.pool.close() {
            let _ = c.destroy().await;
        }
        if let Err(e) = self.shared.factory.cleanup_leftovers() {
            tracing::warn!(error = %e, "cleanup at shutdown");
        }
    }
}

/// Write a whisk-internal-error record for every activation accepted for `owner` (an invoker,
/// or a controller for its compositions) but never completed: the owner stopped while it was
/// queued or running. Other owners' markers are left alone (their activations may be running).
/// Returns how many.
pub async fn finish_interrupted(
    stores: &Stores,
    owner: &str,
) -> Result<usize, whirl_store::StoreError> {
    let pending = stores.activations.pending(owner).await?;
    let n = pending.len();
    for mut rec in pending {
        let now = now_millis();
        let mut doc: Value = rec.doc.parse().unwrap_or_else(|_| json!({}));
        if let Some(obj) = doc.as_object_mut() {
            obj.insert("end".into(), json!(now.max(rec.start)));
            let resp = ActivationResponse::new(
                ActivationStatus::WhiskError,
                json!({ "error": INTERRUPTED }),
            );
            obj.insert(
                "response".into(),
                serde_json::to_value(resp).unwrap_or(Value::Null),
            );
        }
        rec.doc = SharedJson::to_shared(&doc)
            .map_err(|e| whirl_store::StoreError::Backend(format!("interrupted record: {e}")))?;
        rec.end = now.max(rec.start);
        stores.activations.put(rec).await?;
    }
    Ok(n)
}

async fn heartbeat(pings: Arc<dyn Publisher<InvokerPing>>, ping: InvokerPing) {
    let mut tick = tokio::time::interval(PING_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = pings.publish(ping.clone()).await {
            tracing::warn!(error = %e, "cannot ping the controllers");
        }
    }
}

async fn consume(shared: Arc<Shared>, mut feed: Box<dyn Feed<Delivery>>) {
    while let Some(Delivery { message, ack }) = feed.next().await {
        let span = tracing::debug_span!("activation", activation_id = %message.activation_id,
            namespace = %message.user.namespace, action = %message.action_id,
            transid = %message.transaction_id);
        let active = Active::new(&shared);
        let shared = shared.clone();
        let work = async move {
            if ack.is_redelivered() {
                redelivered(shared, message, ack).await;
            } else if now_millis() - message.accepted_at > STALE_AFTER_MS {
                stale(shared, message, ack).await;
            } else {
                activate(shared, message, ack).await;
            }
            drop(active);
        };
        tokio::spawn(work.instrument(span));
    }
}

/// A first delivery older than this may have been given up by its controller (its invoker
/// was offline that long): it runs only if no record exists yet.
const STALE_AFTER_MS: i64 = 10_000;

/// Whether `msg` already has its final record. A store that cannot answer is asked again
/// until it can (see [`STORE_PATIENCE`]): guessing "no" would replace a real record.
async fn recorded(shared: &Shared, msg: &ActivationMessage) -> Option<bool> {
    let activations = &shared.stores.activations;
    retry_store("look up the record", &msg.activation_id, || {
        activations.get(&msg.user.namespace, &msg.activation_id)
    })
    .await
    .map(|r| r.is_some())
}

/// How long the invoker keeps trying a store that fails (an outage): it holds the delivery
/// meanwhile (the bus is told the work is in progress), so the record of an activation that
/// ran is written once the store is back, not lost. Past this the delivery is left
/// unacknowledged: the bus redelivers it later and the redelivery records it as interrupted.
const STORE_PATIENCE: Duration = Duration::from_secs(600);

/// `op` until it succeeds or fails otherwise than with a backend error, pausing between
/// attempts (0.2 s doubling up to 5 s), for up to [`STORE_PATIENCE`]; `None` if the store
/// never came back.
async fn retry_store<T, F, Fut>(what: &str, activation_id: &str, mut op: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, whirl_store::StoreError>>,
{
    let deadline = tokio::time::Instant::now() + STORE_PATIENCE;
    let mut pause = Duration::from_millis(200);
    let mut warned = false;
    loop {
        match op().await {
            Ok(v) => {
                if warned {
                    tracing::info!(%activation_id, "the store is back: {what} done");
                }
                return Some(v);
            }
            Err(whirl_store::StoreError::Backend(e)) => {
                if tokio::time::Instant::now() + pause > deadline {
                    tracing::error!(%activation_id, error = %e,
                        "cannot {what}: the store failed for too long; left to a redelivery");
                    return None;
                }
                if !warned {
                    tracing::warn!(%activation_id, error = %e,
                        "cannot {what} yet: retrying until the store is back");
                    warned = true;
                }
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(5));
            }
            Err(e) => {
                tracing::error!(%activation_id, error = %e, "cannot {what}");
                return None;
            }
        }
    }
}

/// A delivery of a durable bus made again (this invoker, or the one before it with this id,
/// received it and never acknowledged it: it crashed, or lost the bus): it may have run, so it
/// never runs again (OpenWhisk is at most once). It ends with a whisk error record unless it
/// has its record already.
async fn redelivered(shared: Arc<Shared>, msg: ActivationMessage, ack: Ack) {
    match recorded(&shared, &msg).await {
        Some(true) => {
            ack.ack().await;
            return;
        }
        Some(false) => {}
        // The store never answered: leave the delivery to a later redelivery.
        None => return,
    }
    tracing::warn!(activation_id = %msg.activation_id,
        "redelivered activation: recorded as interrupted, not run again");
    let now = now_millis();
    let run = failure(
        ActivationStatus::WhiskError,
        INTERRUPTED,
        now,
        now - msg.accepted_at,
    );
    // Not this invoker's failure: the one that had it stopped.
    finish(&shared, &msg, run, None, ack, false).await;
}

/// A first delivery that waited long: run it unless its controller gave it up meanwhile.
async fn stale(shared: Arc<Shared>, msg: ActivationMessage, ack: Ack) {
    if msg.store {
        match recorded(&shared, &msg).await {
            Some(true) => {
                tracing::info!(activation_id = %msg.activation_id,
                    "activation given up by its controller before it arrived: not run");
                ack.ack().await;
                return;
            }
            Some(false) => {}
            None => return,
        }
    }
    activate(shared, msg, ack).await;
}

/// Pause idle containers after the grace period; destroy them after the idle timeout.
async fn janitor(shared: Arc<Shared>) {
    let tick =
        (shared.config.pause_grace / 2).clamp(Duration::from_millis(100), Duration::from_secs(1));
    loop {
        tokio::time::sleep(tick).await;
        for c in shared.pool.take_expired(shared.config.idle_timeout) {
            let _ = c.destroy().await;
        }
        for (key, mut idle) in shared.pool.take_to_pause(shared.config.pause_grace) {
            match idle.container.pause().await {
                Ok(()) => {
                    idle.paused = true;
                    if let Some(c) = shared.pool.put_back(key, idle) {
                        let _ = c.destroy().await;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "pause failed; destroying the container");
                    let memory = idle.memory_mb;
                    let _ = idle.container.destroy().await;
                    shared.pool.free(memory);
                }
            }
        }
    }
}

fn container_id(shared: &Shared, kind: &str) -> String {
    let n = shared.next_id.fetch_add(1, Ordering::Relaxed);
    let kind: String = kind
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("wsk-{}-{n}-{kind}", shared.instance)
}

/// Replaces a used stem cell after a quiet moment: no activation started for `QUIET_MS` (at most
/// `QUIET_MAX_WAIT_MS` later). A runtime booting next to an activation's init slows it down.
async fn backfill_stem_cell(shared: Arc<Shared>, kind: String, memory: u32) {
    const QUIET_MS: i64 = 20;
    const QUIET_MAX_WAIT_MS: i64 = 1000;
    let began = now_millis();
    loop {
        let now = now_millis();
        let quiet = now - shared.last_start.load(Ordering::Relaxed);
        if quiet >= QUIET_MS || now - began >= QUIET_MAX_WAIT_MS {
            break;
        }
        let wait = u64::try_from((QUIET_MS - quiet).max(1)).unwrap_or(1);
        tokio::time::sleep(Duration::from_millis(wait)).await;
    }
    add_stem_cell(shared, kind, memory).await;
}

/// Start one stem cell of `kind` if memory allows.
async fn add_stem_cell(shared: Arc<Shared>, kind: String, memory: u32) {
    if !shared.pool.reserve_stem(memory) {
        return;
    }
    let spec = ContainerSpec {
        id: container_id(&shared, &kind),
        kind: kind.clone(),
        memory_mb: memory,
        api_host: shared.config.api_host.clone(),
        image: None,
        prewarm: true,
    };
    match shared.factory.create(spec).await {
        Ok(c) => {
            if let Some(c) = shared.pool.add_stem((kind, memory), c) {
                let _ = c.destroy().await;
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, %kind, "cannot start a stem cell");
            shared.pool.free(memory);
        }
    }
}

/// The action to run for a message naming revision `rev` of the document `updated` at that
/// time (0: unknown). The store keeps the newest revision only, so an activation in flight
/// during an update runs the newer code: the result carries the revision it actually is, and
/// everything (cache, warm container key) uses that one. `updated` keeps a re-created action's
/// revision 1 apart from the deleted one's.
/// `Err` when the store stayed unavailable (see [`retry_store`]): the activation is left to a
/// redelivery rather than recorded as a failure of this invoker.
async fn load_action(
    shared: &Shared,
    id: &str,
    rev: u64,
    updated: i64,
    activation_id: &str,
) -> Result<Option<Arc<LoadedAction>>, ()> {
    let key = (id.to_string(), rev, updated);
    if let Some(a) = shared
        .actions
        .lock()
        .ok()
        .and_then(|m| m.get(&key).cloned())
    {
        return Ok(Some(a));
    }
    let stored = retry_store("load the action", activation_id, || {
        shared.stores.entities.get(id, true)
    })
    .await
    .ok_or(())?;
    let Some(stored) = stored else {
        return Ok(None);
    };
    let Ok(action) = serde_json::from_value::<WhiskAction>(stored.doc) else {
        return Ok(None);
    };
    let entry = Arc::new(LoadedAction {
        action,
        code: stored.code,
        revision: stored.rev,
    });
    if let Ok(mut m) = shared.actions.lock() {
        if m.len() >= 1024 {
            m.clear();
        }
        let own = (id.to_string(), entry.revision, entry.action.updated);
        if key != own {
            // What a message naming `rev` runs now (the store has no older code to give).
            m.insert(key, entry.clone());
        }
        m.insert(own, entry.clone());
    }
    Ok(Some(entry))
}

/// The runtime kind that runs an action, or the developer error when the container backend
/// cannot run it (the factory decides: an image it cannot pull, native code missing, ...).
/// `code` is the action's code attachment (the stored `exec` carries no code).
fn runtime_kind(
    factory: &dyn ContainerFactory,
    action: &WhiskAction,
    code: Option<&str>,
) -> Result<String, String> {
    let has_code = code.is_some_and(|c| !c.trim().is_empty())
        || action
            .exec
            .code
            .as_deref()
            .is_some_and(|c| !c.trim().is_empty());
    factory
        .supports(&ExecSpec {
            kind: &action.exec.kind,
            image: action.exec.image.as_deref(),
            has_code,
        })
        .map_err(|e| e.0)
}

/// Everything known about one run, to build the record.
struct Run {
    status: ActivationStatus,
    result: Value,
    logs: Vec<String>,
    start: i64,
    end: i64,
    init_time: Option<u64>,
    wait_time: i64,
    timed_out: bool,
}

fn failure(status: ActivationStatus, message: &str, start: i64, wait_time: i64) -> Run {
    Run {
        status,
        result: json!({ "error": message }),
        logs: Vec::new(),
        start,
        end: now_millis(),
        init_time: None,
        wait_time,
        timed_out: false,
    }
}

async fn activate(shared: Arc<Shared>, msg: ActivationMessage, ack: Ack) {
    let loaded = load_action(
        &shared,
        &msg.action_id,
        msg.revision,
        msg.updated,
        &msg.activation_id,
    )
    .await;
    let Ok(loaded) = loaded else {
        // Not acknowledged: a durable bus redelivers it (recorded as interrupted); otherwise
        // its pending marker or its controller's supervision records it.
        return;
    };
    let (record, annotations_limits) = match loaded {
        None => {
            let now = now_millis();
            let run = failure(
                ActivationStatus::WhiskError,
                PROVISION_FAILED,
                now,
                now - msg.accepted_at,
            );
            (run, None)
        }
        Some(entry) => {
            let (action, code) = (&entry.action, &entry.code);
            let run = match runtime_kind(shared.factory.as_ref(), action, code.as_deref()) {
                Err(e) => {
                    let now = now_millis();
                    failure(
                        ActivationStatus::DeveloperError,
                        &e,
                        now,
                        now - msg.accepted_at,
                    )
                }
                Ok(kind) => execute(&shared, &msg, &entry, &kind).await,
            };
            (run, Some(entry.clone()))
        }
    };
    finish(
        &shared,
        &msg,
        record,
        annotations_limits.as_deref().map(|e| &e.action),
        ack,
        true,
    )
    .await;
}

/// Record an activation's end: build and store its record, tell the issuing controller, then
/// acknowledge the delivery.
/// `blame`: a whisk error counts against this invoker's health at the controller.
async fn finish(
    shared: &Shared,
    msg: &ActivationMessage,
    run: Run,
    action: Option<&WhiskAction>,
    ack: Ack,
    blame: bool,
) {
    let doc = build_record(msg, run, action);
    // Serialised once: the same bytes are stored and handed to a blocking waiter.
    let doc_json = match SharedJson::to_shared(&doc) {
        Ok(j) => Some(j),
        Err(e) => {
            tracing::error!(error = %e, activation_id = %msg.activation_id, "cannot serialise the activation record");
            None
        }
    };
    let stored = if let (true, Some(doc_json)) = (msg.store, &doc_json) {
        let rec = ActivationRecord {
            activation_id: msg.activation_id.clone(),
            namespace: msg.user.namespace.clone(),
            entity_path: activation_entity_path(
                &msg.user.namespace,
                &msg.action_id,
                msg.binding.as_deref(),
            ),
            start: doc.start,
            end: doc.end,
            doc: doc_json.clone(),
        };
        // Started now; reads issued from here on see it. The waiter is answered while the
        // record commits (as OpenWhisk's invoker does), the delivery acknowledged after.
        Some(shared.stores.activations.enqueue(rec))
    } else {
        None
    };
    let whisk_error = blame && doc.response.status() == ActivationStatus::WhiskError;
    // The result travels only to a waiter; a non-blocking caller reads the stored record.
    let record = if msg.blocking { doc_json.clone() } else { None };
    if let Err(e) = shared
        .completions
        .publish(CompletionMessage {
            activation_id: msg.activation_id.clone(),
            transaction_id: msg.transaction_id.clone(),
            controller: msg.controller,
            invoker: shared.config.id,
            namespace: msg.user.namespace.clone(),
            record,
            whisk_error,
        })
        .await
    {
        tracing::warn!(error = %e, activation_id = %msg.activation_id, "cannot publish the completion");
    }
    if let (Some(stored), Some(doc_json)) = (stored, doc_json) {
        if stored.await.is_err() {
            // The store is down: write the record again until it is back (the delivery stays
            // held), so that an activation that ran never ends without its record.
            let activations = &shared.stores.activations;
            let rewritten = retry_store("store the activation record", &msg.activation_id, || {
                activations.put(ActivationRecord {
                    activation_id: msg.activation_id.clone(),
                    namespace: msg.user.namespace.clone(),
                    entity_path: activation_entity_path(
                        &msg.user.namespace,
                        &msg.action_id,
                        msg.binding.as_deref(),
                    ),
                    start: doc.start,
                    end: doc.end,
                    doc: doc_json.clone(),
                })
            })
            .await;
            if rewritten.is_none() {
                // Not acknowledged: the bus redelivers it, and the redelivery records it.
                return;
            }
        }
    }
    // Acknowledged only now: the record is stored and the controller told.
    ack.ack().await;
}

fn build_record(
    msg: &ActivationMessage,
    run: Run,
    action: Option<&WhiskAction>,
) -> WhiskActivation {
    let name = msg.action_id.rsplit('/').next().unwrap_or("").to_string();
    let mut annotations = vec![KeyValue::new("path", json!(msg.action_id))];
    if let Some(b) = &msg.binding {
        annotations.push(KeyValue::new("binding", json!(b)));
    }
    if let Some(a) = action {
        annotations.push(KeyValue::new("kind", json!(a.exec.kind)));
        annotations.push(KeyValue::new(
            "limits",
            serde_json::to_value(a.limits).unwrap_or(Value::Null),
        ));
    }
    annotations.push(KeyValue::new("timeout", json!(run.timed_out)));
    annotations.push(KeyValue::new("waitTime", json!(run.wait_time.max(0))));
    if let Some(t) = run.init_time {
        annotations.push(KeyValue::new("initTime", json!(t)));
    }
    if msg.cause.is_some() {
        annotations.push(KeyValue::new("causedBy", json!("sequence")));
    }
    WhiskActivation {
        namespace: msg.user.namespace.clone(),
        name,
        version: action.map_or_else(|| msg.version.clone(), |a| a.version.clone()),
        subject: msg.user.subject.clone(),
        publish: false,
        activation_id: msg.activation_id.clone(),
        start: run.start,
        end: run.end.max(run.start),
        duration: Some((run.end - run.start).max(0)),
        cause: msg.cause.clone(),
        response: ActivationResponse::new(run.status, run.result),
        logs: run.logs,
        annotations,
    }
}

/// Acquire a container, init it if needed, run, and give it back (or destroy it).
async fn execute(
    shared: &Arc<Shared>,
    msg: &ActivationMessage,
    loaded: &LoadedAction,
    kind: &str,
) -> Run {
    let (action, code) = (&loaded.action, loaded.code.as_deref());
    let memory = u32::try_from(action.limits.memory).unwrap_or(u32::MAX);
    // Keyed by the revision of the code this container gets, not the message's (see
    // `load_action`), and by its incarnation: a container never runs code other than its key
    // says.
    let key = WarmKey {
        namespace: msg.user.namespace.clone(),
        action_id: msg.action_id.clone(),
        revision: loaded.incarnation(),
    };
    let stem: StemKey = (kind.to_string(), memory);
    // Activations at once per container: the action's `limits.concurrency` where the backend
    // can run its kind concurrently, else one.
    let max = if shared.factory.supports_concurrency(kind) {
        u32::try_from(action.limits.concurrency.max(1)).unwrap_or(u32::MAX)
    } else {
        1
    };
    shared.last_start.store(now_millis(), Ordering::Relaxed);
    let (acquired, evicted) = shared.pool.acquire(&key, &stem, max).await;
    for c in evicted {
        let _ = c.destroy().await;
    }
    let Some(acquired) = acquired else {
        let now = now_millis();
        return failure(
            ActivationStatus::WhiskError,
            PROVISION_FAILED,
            now,
            now - msg.accepted_at,
        );
    };
    let (mut container, warming) = match acquired {
        Acquired::Slot(lease) => return run_shared(shared, msg, action, lease, memory, None).await,
        Acquired::Warm(mut idle) => {
            if idle.paused {
                if let Err(e) = idle.container.resume().await {
                    tracing::warn!(error = %e, "resume failed");
                    let _ = idle.container.destroy().await;
                    shared.pool.free(memory);
                    let now = now_millis();
                    return failure(
                        ActivationStatus::WhiskError,
                        PROVISION_FAILED,
                        now,
                        now - msg.accepted_at,
                    );
                }
            }
            return match idle.shared {
                None => run_warm(shared, msg, action, key, idle.container, memory, None).await,
                Some(slots) => {
                    match shared
                        .pool
                        .share(key, idle.container, memory, slots.runner, slots.max)
                    {
                        Ok(lease) => run_shared(shared, msg, action, lease, memory, None).await,
                        Err(c) => {
                            let _ = c.destroy().await;
                            shared.pool.free(memory);
                            let now = now_millis();
                            failure(
                                ActivationStatus::WhiskError,
                                PROVISION_FAILED,
                                now,
                                now - msg.accepted_at,
                            )
                        }
                    }
                }
            };
        }
        Acquired::Stem(mut c, warming) => {
            // Replace the used stem cell once activations leave a quiet moment.
            tokio::spawn(backfill_stem_cell(shared.clone(), kind.to_string(), memory));
            if let Err(e) = c.prioritize().await {
                tracing::warn!(error = %e, "cannot give the stem cell its normal CPU share");
            }
            (c, warming)
        }
        Acquired::Cold(warming) => {
            let spec = ContainerSpec {
                id: container_id(shared, kind),
                kind: kind.to_string(),
                memory_mb: memory,
                api_host: shared.config.api_host.clone(),
                image: action.exec.image.clone(),
                prewarm: false,
            };
            match shared.factory.create(spec).await {
                Ok(c) => (c, warming),
                Err(e) => {
                    tracing::error!(error = %e, "cannot create a container");
                    shared.pool.free(memory);
                    let now = now_millis();
                    return failure(
                        ActivationStatus::WhiskError,
                        PROVISION_FAILED,
                        now,
                        now - msg.accepted_at,
                    );
                }
            }
        }
    };
    // Cold path: init first.
    let start = now_millis();
    let wait_time = start - msg.accepted_at;
    let timeout = Duration::from_millis(action.limits.timeout);
    let init = InitRequest {
        name: action.name.clone(),
        main: action.exec.main.clone().unwrap_or_default(),
        code: code.unwrap_or("").to_string(),
        binary: action.exec.binary.unwrap_or(false),
        env: init_env(msg, action),
        concurrency: max,
    };
    let outcome = container.init(init, timeout).await;
    let init_ms = u64::try_from(outcome.duration.as_millis()).unwrap_or(u64::MAX);
    if !outcome.is_success() {
        let _ = container.destroy().await;
        shared.pool.free(memory);
        return Run {
            status: outcome.status,
            result: outcome.result,
            logs: outcome.logs,
            start,
            end: now_millis(),
            init_time: Some(init_ms),
            wait_time,
            timed_out: outcome.timed_out,
        };
    }
    let initialized = Initialized {
        start,
        wait_time,
        init_ms,
        logs: outcome.logs,
    };
    let Some(runner) = container.concurrent() else {
        drop(warming);
        return run_warm(
            shared,
            msg,
            action,
            key,
            container,
            memory,
            Some(initialized),
        )
        .await;
    };
    let shared_now = shared.pool.share(key, container, memory, runner, max);
    // In the pool: the activations that waited for this init take its other slots now.
    drop(warming);
    match shared_now {
        Ok(lease) => run_shared(shared, msg, action, lease, memory, Some(initialized)).await,
        Err(c) => {
            let _ = c.destroy().await;
            shared.pool.free(memory);
            let now = now_millis();
            failure(
                ActivationStatus::WhiskError,
                PROVISION_FAILED,
                now,
                now - msg.accepted_at,
            )
        }
    }
}

/// Run on a slot of a shared container, then give the slot back (the last activation on a
/// container that failed destroys it).
async fn run_shared(
    shared: &Arc<Shared>,
    msg: &ActivationMessage,
    action: &WhiskAction,
    lease: Lease,
    memory: u32,
    init: Option<Initialized>,
) -> Run {
    let (start, wait_time, init_time, mut logs) = started(msg, init);
    let timeout = Duration::from_millis(action.limits.timeout);
    let req = RunRequest {
        value: msg.content.clone(),
        env: activation_env(msg, action),
    };
    let outcome = lease
        .runner
        .run(req, timeout, action.limits.logs * MB)
        .await;
    logs.extend(outcome.logs);
    if let Some(c) = shared.pool.release_slot(lease) {
        let _ = c.destroy().await;
        shared.pool.free(memory);
    }
    Run {
        status: outcome.status,
        result: outcome.result,
        logs,
        start,
        end: now_millis(),
        init_time,
        wait_time,
        timed_out: outcome.timed_out,
    }
}

/// When work on an activation started, its wait, its init time and the init logs.
fn started(
    msg: &ActivationMessage,
    init: Option<Initialized>,
) -> (i64, i64, Option<u64>, Vec<String>) {
    match init {
        Some(i) => (i.start, i.wait_time, Some(i.init_ms), i.logs),
        None => {
            let s = now_millis();
            (s, s - msg.accepted_at, None, Vec::new())
        }
    }
}

/// What a cold start's init left for the run: when work started, the wait, the init time and
/// the init logs (they come first in the record).
struct Initialized {
    start: i64,
    wait_time: i64,
    init_ms: u64,
    logs: Vec<String>,
}

/// Run on an initialised container, then give it back to the pool (or destroy it after a
/// developer or whisk error).
async fn run_warm(
    shared: &Arc<Shared>,
    msg: &ActivationMessage,
    action: &WhiskAction,
    key: WarmKey,
    mut container: Box<dyn Container>,
    memory: u32,
    init: Option<Initialized>,
) -> Run {
    let (start, wait_time, init_time, mut logs) = started(msg, init);
    let timeout = Duration::from_millis(action.limits.timeout);
    let req = RunRequest {
        value: msg.content.clone(),
        env: activation_env(msg, action),
    };
    let outcome = container.run(req, timeout, action.limits.logs * MB).await;
    logs.extend(outcome.logs.iter().cloned());
    if outcome.container_healthy {
        if let Some(c) = shared.pool.release(key, container, memory) {
            let _ = c.destroy().await;
        }
    } else {
        let _ = container.destroy().await;
        shared.pool.free(memory);
    }
    Run {
        status: outcome.status,
        result: outcome.result,
        logs,
        start,
        end: now_millis(),
        init_time,
        wait_time,
        timed_out: outcome.timed_out,
    }
}

fn deadline(action: &WhiskAction) -> String {
    let ms = i64::try_from(action.limits.timeout).unwrap_or(i64::MAX);
    (now_millis().saturating_add(ms)).to_string()
}

fn activation_env(msg: &ActivationMessage, action: &WhiskAction) -> ActivationEnv {
    ActivationEnv {
        namespace: msg.user.namespace.clone(),
        action_name: format!("/{}", msg.action_id),
        action_version: action.version.clone(),
        activation_id: msg.activation_id.clone(),
        transaction_id: msg.transaction_id.clone(),
        deadline: deadline(action),
        api_key: msg.provide_api_key.then(|| msg.user.api_key.clone()),
    }
}

/// `/init` environment: the `__OW_*` variables plus init parameters (stringified).
fn init_env(msg: &ActivationMessage, action: &WhiskAction) -> BTreeMap<String, String> {
    let e = activation_env(msg, action);
    let mut env = BTreeMap::new();
    env.insert("__OW_NAMESPACE".into(), e.namespace);
    env.insert("__OW_ACTION_NAME".into(), e.action_name);
    env.insert("__OW_ACTION_VERSION".into(), e.action_version);
    env.insert("__OW_ACTIVATION_ID".into(), e.activation_id);
    env.insert("__OW_TRANSACTION_ID".into(), e.transaction_id);
    env.insert("__OW_DEADLINE".into(), e.deadline);
    if let Some(k) = e.api_key {
        env.insert("__OW_API_KEY".into(), k);
    }
    for (k, v) in &msg.init_args {
        let s = match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        env.insert(k.clone(), s);
    }
    env
}
