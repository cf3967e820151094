//! The application under test and a fake invoker.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::Router;
use base64::Engine;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tempfile::TempDir;
use tower::ServiceExt;
use whirl_bus::{Bus, CompletionMessage, InProcessBus, InvokerId, InvokerPing};
use whirl_controller::auth::{hash_key, GUEST_KEY};
use whirl_controller::balancer::SingleInvoker;
use whirl_controller::{AppState, ControllerConfig};
use whirl_core::entity::{ActivationResponse, ActivationStatus, KeyValue, WhiskActivation};
use whirl_core::json::SharedJson;
use whirl_store::{ActivationRecord, NamespaceRecord, Stores};

/// The key of the second namespace, `other`.
pub const OTHER_KEY: &str =
    "11111111-2222-4333-8444-555555555555:abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ab";

const INVOKER: InvokerId = InvokerId(0);

/// One controller over a fresh store, with a fake invoker on its bus.
pub struct App {
    pub router: Router,
    /// The state behind `router`, for calling domain logic directly.
    pub state: AppState,
    _dir: TempDir,
}

/// A response, its body parsed as JSON when it is JSON (else a JSON string of the text).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    /// The `error` of an OpenWhisk error body.
    pub fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or("")
    }
}

pub fn basic(key: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(key)
    )
}

async fn namespace(stores: &Stores, ns: &str, key: &str, limits: Value) {
    let (uuid, secret) = key.split_once(':').unwrap();
    stores
        .auth
        .create_namespace(NamespaceRecord {
            subject: ns.into(),
            namespace: ns.into(),
            uuid: uuid.into(),
            key_hash: hash_key(secret),
            limits,
        })
        .await
        .unwrap();
}

impl App {
    pub async fn start() -> Self {
        Self::with_guest_limits(json!({})).await
    }

    /// With limit overrides for `guest`.
    pub async fn with_guest_limits(limits: Value) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let stores = whirl_store::sqlite::open(dir.path()).unwrap();
        namespace(&stores, "guest", GUEST_KEY, limits).await;
        namespace(&stores, "other", OTHER_KEY, json!({})).await;
        let bus = Arc::new(InProcessBus::new());
        FakeInvoker::start(bus.clone(), stores.clone()).await;
        let balancer = Arc::new(SingleInvoker::new(INVOKER, 2048));
        let state = AppState::start(stores.clone(), ControllerConfig::default(), bus, balancer)
            .await
            .unwrap();
        Self {
            router: whirl_controller::app(state.clone()),
            state,
            _dir: dir,
        }
    }

    /// A request as `guest`.
    pub async fn call(&self, method: Method, uri: &str, body: Option<Value>) -> Reply {
        self.call_as(Some(GUEST_KEY), method, uri, body).await
    }

    pub async fn get(&self, uri: &str) -> Reply {
        self.call(Method::GET, uri, None).await
    }

    pub async fn put(&self, uri: &str, body: Value) -> Reply {
        self.call(Method::PUT, uri, Some(body)).await
    }

    pub async fn post(&self, uri: &str, body: Value) -> Reply {
        self.call(Method::POST, uri, Some(body)).await
    }

    pub async fn delete(&self, uri: &str) -> Reply {
        self.call(Method::DELETE, uri, None).await
    }

    /// A request with the given key (`None`: no `Authorization`).
    pub async fn call_as(
        &self,
        key: Option<&str>,
        method: Method,
        uri: &str,
        body: Option<Value>,
    ) -> Reply {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(k) = key {
            req = req.header("authorization", basic(k));
        }
        let body = match body {
            Some(v) => {
                req = req.header("content-type", "application/json");
                Body::from(v.to_string())
            }
            None => Body::empty(),
        };
        let resp = self
            .router
            .clone()
            .oneshot(req.body(body).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        Reply {
            status,
            headers,
            body,
        }
    }

    /// Create a Node.js action (the fake invoker never runs its code).
    pub async fn action(&self, name: &str) -> Reply {
        let r = self
            .put(
                &format!("/api/v1/namespaces/_/actions/{name}"),
                json!({"exec": {"kind": "nodejs:20", "code": "function main(a) { return a; }"}}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{r:?}");
        r
    }

    pub async fn trigger(&self, name: &str) {
        let r = self
            .put(&format!("/api/v1/namespaces/_/triggers/{name}"), json!({}))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{r:?}");
    }

    pub async fn rule(&self, name: &str, trigger: &str, action: &str) -> Reply {
        let r = self
            .put(
                &format!("/api/v1/namespaces/_/rules/{name}"),
                json!({"trigger": format!("/_/{trigger}"), "action": format!("/_/{action}")}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{r:?}");
        r
    }

    /// Poll an activation until `done` holds for it (up to 10 s).
    pub async fn wait_activation(&self, id: &str, done: impl Fn(&Value) -> bool) -> Value {
        for _ in 0..200 {
            let r = self
                .get(&format!("/api/v1/namespaces/_/activations/{id}"))
                .await;
            if r.status == StatusCode::OK && done(&r.body) {
                return r.body;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("activation {id} did not reach the expected state");
    }
}

/// A fake invoker on the bus: it answers every activation with a canned result, without
/// running anything. An action named `fail*` ends in an application error with
/// `{"error": "failed"}`; any other returns `{"echo": <its arguments>}`. Like the real invoker,
/// it stores the record when the message asks for it and answers the controller with the record
/// when a caller is blocking.
#[derive(Debug)]
pub struct FakeInvoker;

impl FakeInvoker {
    pub async fn start(bus: Arc<InProcessBus>, stores: Stores) {
        let mut feed = bus.activations(INVOKER).await.unwrap();
        let completions = bus.completion_publisher();
        bus.ping_publisher()
            .publish(InvokerPing {
                invoker: INVOKER,
                user_memory_mb: 2048,
            })
            .await
            .unwrap();
        tokio::spawn(async move {
            while let Some(d) = feed.next().await {
                let m = d.message;
                let name = m.action_id.rsplit('/').next().unwrap_or("").to_string();
                let args: Value = serde_json::from_str(m.content.get()).unwrap_or(Value::Null);
                let response = if name.starts_with("fail") {
                    ActivationResponse::new(
                        ActivationStatus::ApplicationError,
                        json!({"error": "failed"}),
                    )
                } else {
                    ActivationResponse::new(ActivationStatus::Success, json!({ "echo": args }))
                };
                let start = whirl_core::now_millis();
                let doc = WhiskActivation {
                    namespace: m.user.namespace.clone(),
                    name: name.clone(),
                    version: m.version.clone(),
                    subject: m.user.subject.clone(),
                    publish: false,
                    activation_id: m.activation_id.clone(),
                    start,
                    end: start + 1,
                    duration: Some(1),
                    cause: m.cause.clone(),
                    response,
                    logs: vec![],
                    annotations: vec![
                        KeyValue::new("path", json!(m.action_id)),
                        KeyValue::new("kind", json!("nodejs:20")),
                    ],
                };
                let doc = SharedJson::to_shared(&doc).unwrap();
                if m.store {
                    let record = ActivationRecord {
                        activation_id: m.activation_id.clone(),
                        namespace: m.user.namespace.clone(),
                        entity_path: format!("{}/{}", m.user.namespace, name),
                        start,
                        end: start + 1,
                        doc: doc.clone(),
                    };
                    stores.activations.put(record).await.unwrap();
                }
                let completion = CompletionMessage {
                    activation_id: m.activation_id.clone(),
                    transaction_id: m.transaction_id.clone(),
                    controller: m.controller,
                    invoker: m.invoker,
                    namespace: m.user.namespace.clone(),
                    record: m.blocking.then(|| doc.clone()),
                    whisk_error: false,
                };
                let _ = completions.publish(completion).await;
                d.ack.ack().await;
            }
        });
    }
}
