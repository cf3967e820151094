//! The `whisk.system` catalog, installed at bootstrap and upgraded when it changes:
//!
//! - `utils` (echo, cat, sort, head, date, split, smash, namespace, hosturl) and `samples`
//!   (helloWorld, greeting, wordCount, curl): ordinary Node.js actions with
//!   apache/openwhisk-catalog's behaviour, parameters and annotations (sources in
//!   `crates/server/catalog/`);
//! - `alarms` (alarm, interval, once): the feeds the controller runs itself
//!   (`whirl_controller::feeds`), stored as actions of kind `builtin` with upstream's
//!   annotations and parameters (`fireOnce`, `isInterval`, which tell the feeds apart).
//!
//! Every package is shared (`publish: true`), so every namespace can read, run and bind it; only
//! `whisk.system` can change it. The installed catalog is identified by a hash of its definition
//! (with the binary's version and the Node.js kind), kept in a reserved document
//! (`whisk.system/.catalog/version`): an unchanged catalog is not rewritten at start, a changed
//! one replaces the packages' actions and drops those it no longer has.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use whirl_core::entity::{Exec, KeyValue, WhiskAction, WhiskPackage};
use whirl_core::limits::ActionLimitRanges;
use whirl_core::now_millis;
use whirl_core::runtimes::BUILTIN;
use whirl_store::{EntityKind, EntityQuery, NewEntity, Scope, StoreError, Stores};

const SYSTEM: &str = "whisk.system";
const MARKER_ID: &str = "whisk.system/.catalog/version";
const MARKER_PATH: &str = "whisk.system/.catalog";

/// How an action of the catalog runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Runs {
    /// Node.js code (the default Node.js kind of this machine).
    Node(&'static str),
    /// Built into the controller.
    Builtin,
}

#[derive(Debug, Clone)]
struct CatalogAction {
    name: &'static str,
    runs: Runs,
    /// `description`, `parameters`, `sampleInput`, ... as upstream annotates the action.
    annotations: Value,
    parameters: Value,
}

#[derive(Debug, Clone)]
struct CatalogPackage {
    name: &'static str,
    annotations: Value,
    parameters: Value,
    actions: Vec<CatalogAction>,
}

fn node(name: &'static str, code: &'static str, annotations: Value) -> CatalogAction {
    CatalogAction {
        name,
        runs: Runs::Node(code),
        annotations,
        parameters: json!({}),
    }
}

fn utils() -> CatalogPackage {
    let lines = |desc: &str| json!({"name": "lines", "required": true, "type": "array", "description": desc});
    CatalogPackage {
        name: "utils",
        annotations: json!({"description": "Building blocks that format and assemble data"}),
        parameters: json!({}),
        actions: vec![
            node(
                "echo",
                include_str!("../catalog/utils/echo.js"),
                json!({
                "description": "Returns the input",
                "parameters": [{"name": "payload", "required": false, "description": "Any JSON entity"}],
                "sampleInput": {"payload": "Five fuzzy felines"},
                "sampleOutput": {"payload": "Five fuzzy felines"}}),
            ),
            node(
                "cat",
                include_str!("../catalog/utils/cat.js"),
                json!({
                "description": "Concatenates input into a string",
                "parameters": [lines("An array of strings or numbers")],
                "sampleInput": {"lines": [4, 2, 3]},
                "sampleOutput": {"lines": [4, 2, 3]}}),
            ),
            node(
                "smash",
                include_str!("../catalog/utils/smash.js"),
                json!({
                "description": "Nests all properties under given property",
                "parameters": [{"name": "$fieldName", "required": true, "type": "string",
                                "description": "Name of property to nest object under"}],
                "sampleInput": {"a": 1, "b": {"c": 2, "d": 3}, "$fieldName": "p"},
                "sampleOutput": {"p": {"a": 1, "b": {"c": 2, "d": 3}}}}),
            ),
            node(
                "split",
                include_str!("../catalog/utils/split.js"),
                json!({
                "description": "Split a string into an array",
                "parameters": [{"name": "payload", "required": true, "description": "A string"},
                               {"name": "separator", "required": false,
                                "description": "The character, or the regular expression, to use for splitting the string"}],
                "sampleInput": {"payload": "one,two,three", "separator": ","},
                "sampleOutput": {"lines": ["one", "two", "three"], "payload": "one,two,three"}}),
            ),
            node(
                "sort",
                include_str!("../catalog/utils/sort.js"),
                json!({
                "description": "Sorts an array",
                "parameters": [lines("An array of strings")],
                "sampleInput": {"lines": [4, 2, 3]},
                "sampleOutput": {"lines": [2, 3, 4], "length": 3}}),
            ),
            node(
                "head",
                include_str!("../catalog/utils/head.js"),
                json!({
                "description": "Extract prefix of an array",
                "parameters": [lines("An array of strings"),
                               {"name": "num", "required": false, "type": "integer",
                                "description": "The length of the prefix"}],
                "sampleInput": {"lines": [4, 2, 3], "num": 2},
                "sampleOutput": {"lines": [4, 2], "num": 2}}),
            ),
            node(
                "date",
                include_str!("../catalog/utils/date.js"),
                json!({
                "description": "Current date and time",
                "sampleOutput": {"date": "2016-03-22T00:59:55.961Z"}}),
            ),
            node(
                "namespace",
                include_str!("../catalog/utils/namespace.js"),
                json!({
                "description": "Returns namespace for the authorization key used to invoke this action",
                "sampleOutput": {"namespace": "guest"}}),
            ),
            node(
                "hosturl",
                include_str!("../catalog/utils/hosturl.js"),
                json!({
                "description": "Returns the URL to activate an action or trigger",
                "parameters": [
                    {"name": "web", "type": "boolean", "description": "True for web actions"},
                    {"name": "ext", "type": "string",
                     "description": "Extension for web action, one of .html, .http, .json, .text"},
                    {"name": "trigger", "type": "boolean",
                     "description": "True to construct path for trigger instead of action."},
                    {"name": "path", "type": "string",
                     "description": "The action name as just <action name> or <package name>/<action name>."}],
                "sampleInput": {"web": true, "path": "utils/echo"},
                "sampleOutput": {"url": "https://openwhisk.ng.bluemix.net/api/v1/experimental/web/guest/utils/echo.json"}}),
            ),
        ],
    }
}

fn samples() -> CatalogPackage {
    CatalogPackage {
        name: "samples",
        annotations: json!({"description": "A suite of simple actions to help you get started with OpenWhisk"}),
        parameters: json!({}),
        actions: vec![
            node(
                "helloWorld",
                include_str!("../catalog/samples/helloWorld.js"),
                json!({
                "description": "Demonstrates logging facilities",
                "parameters": [{"name": "payload", "required": false,
                                "description": "The string to be included in the log record"}],
                "sampleInput": {"payload": "Cat"},
                "sampleOutput": {},
                "sampleLogOutput": "2016-03-22T01:02:26.387624916Z stdout: hello Cat!"}),
            ),
            node(
                "greeting",
                include_str!("../catalog/samples/greeting.js"),
                json!({
                "description": "Returns a friendly greeting",
                "parameters": [{"name": "name", "required": false},
                               {"name": "place", "required": false,
                                "description": "The string to be included in the return value"}],
                "sampleInput": {"payload": "Cat", "place": "Narrowsburg"},
                "sampleOutput": {"payload": "Hello, Cat from Narrowsburg!"},
                "sampleLogOutput": "2016-03-22T01:07:08.384982272Z stdout: params: { place: 'Narrowsburg', payload: 'Cat' }"}),
            ),
            node(
                "wordCount",
                include_str!("../catalog/samples/wordCount.js"),
                json!({
                "description": "Count words in a string",
                "parameters": [{"name": "payload", "required": true, "description": "A string"}],
                "sampleInput": {"payload": "Five fuzzy felines"},
                "sampleOutput": {"count": 3},
                "sampleLogOutput": "2016-03-22T01:10:07.361649586Z stdout: The message 'Five fuzzy felines' has 3 words"}),
            ),
            node(
                "curl",
                include_str!("../catalog/samples/curl.js"),
                json!({
                "description": "Curl a host url",
                "parameters": [{"name": "payload", "required": true, "description": "A host url"}],
                "sampleInput": {"payload": "google.com"},
                "sampleOutput": {"msg": "content returned from google.com"}}),
            ),
        ],
    }
}

fn alarms() -> CatalogPackage {
    let feed = |name, description: &str, parameters: Value, own: Value| CatalogAction {
        name,
        runs: Runs::Builtin,
        annotations: json!({"description": description, "parameters": parameters, "feed": true}),
        parameters: own,
    };
    CatalogPackage {
        name: whirl_controller::feeds::ALARMS_PACKAGE,
        annotations: json!({"description": "Alarms and periodic utility",
                            "parameters": [{"name": "trigger_payload", "required": false}]}),
        parameters: json!({"trigger_payload": ""}),
        actions: vec![
            feed(
                "alarm",
                "Fire trigger when alarm occurs",
                json!([{"name": "cron", "required": true}, {"name": "timezone", "required": false},
                       {"name": "startDate", "required": false}, {"name": "stopDate", "required": false},
                       {"name": "strict", "required": false}]),
                json!({}),
            ),
            feed(
                "once",
                "Fire trigger once when alarm occurs",
                json!([{"name": "date", "required": true}, {"name": "deleteAfterFire", "required": false}]),
                json!({"fireOnce": true}),
            ),
            feed(
                "interval",
                "Fire trigger at specified interval",
                json!([{"name": "minutes", "required": true}, {"name": "startDate", "required": false},
                       {"name": "stopDate", "required": false}]),
                json!({"isInterval": true}),
            ),
        ],
    }
}

/// `{k: v}` → `[{"key": k, "value": v}]`, in the definition's order.
fn kvs(v: &Value) -> Vec<KeyValue> {
    v.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| KeyValue::new(k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// The packages to install: `utils` and `samples` need a Node.js kind.
fn packages(node_kind: Option<&str>) -> Vec<CatalogPackage> {
    let mut all = vec![alarms()];
    if node_kind.is_some() {
        all.push(utils());
        all.push(samples());
    }
    all
}

fn version_of(packages: &[CatalogPackage], node_kind: Option<&str>) -> String {
    let mut h = Sha256::new();
    h.update(env!("CARGO_PKG_VERSION"));
    h.update(node_kind.unwrap_or("-"));
    for p in packages {
        h.update(p.name);
        h.update(p.annotations.to_string());
        h.update(p.parameters.to_string());
        for a in &p.actions {
            h.update(a.name);
            h.update(a.annotations.to_string());
            h.update(a.parameters.to_string());
            if let Runs::Node(code) = a.runs {
                h.update(code);
            }
        }
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn backend(e: serde_json::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// Write `doc` as `id`, replacing what is there.
async fn upsert(stores: &Stores, mut entity: NewEntity) -> Result<(), StoreError> {
    let rev = stores.entities.get(&entity.id, false).await?.map(|e| e.rev);
    entity.updated = now_millis();
    stores.entities.put(entity, rev).await.map(|_| ())
}

/// Install or upgrade the catalog. `node_kind` is the concrete default Node.js kind
/// (`nodejs:20`), `None` when this machine has no Node.js.
pub(crate) async fn install(stores: &Stores, node_kind: Option<&str>) -> Result<bool, StoreError> {
    let packages = packages(node_kind);
    let version = version_of(&packages, node_kind);
    if let Some(marker) = stores.entities.get(MARKER_ID, false).await? {
        if marker.doc.get("version").and_then(Value::as_str) == Some(version.as_str()) {
            return Ok(false);
        }
    }
    let now = now_millis();
    let limits = ActionLimitRanges::default().defaults();
    for p in &packages {
        let pkg = WhiskPackage {
            namespace: SYSTEM.into(),
            name: p.name.into(),
            version: "0.0.1".into(),
            publish: true,
            binding: json!({}),
            annotations: kvs(&p.annotations),
            parameters: kvs(&p.parameters),
            updated: now,
        };
        upsert(
            stores,
            NewEntity {
                id: format!("{SYSTEM}/{}", p.name),
                kind: EntityKind::Package,
                path: SYSTEM.into(),
                name: p.name.into(),
                updated: now,
                doc: serde_json::to_value(&pkg).map_err(backend)?,
                code: None,
            },
        )
        .await?;
        let path = format!("{SYSTEM}/{}", p.name);
        for a in &p.actions {
            let (kind, code) = match a.runs {
                Runs::Node(code) => (node_kind.unwrap_or_default().to_string(), Some(code)),
                Runs::Builtin => (BUILTIN.to_string(), None),
            };
            let mut annotations = kvs(&a.annotations);
            annotations.push(KeyValue::new("exec", json!(kind)));
            let action = WhiskAction {
                namespace: path.clone(),
                name: a.name.into(),
                version: "0.0.1".into(),
                publish: false,
                exec: Exec {
                    kind,
                    code: None,
                    image: None,
                    main: None,
                    binary: Some(false),
                    components: None,
                },
                annotations,
                parameters: kvs(&a.parameters),
                limits,
                updated: now,
            };
            upsert(
                stores,
                NewEntity {
                    id: format!("{path}/{}", a.name),
                    kind: EntityKind::Action,
                    path: path.clone(),
                    name: a.name.into(),
                    updated: now,
                    doc: serde_json::to_value(&action).map_err(backend)?,
                    code: code.map(str::to_string),
                },
            )
            .await?;
        }
        // Actions an older catalog had in this package and this one has not.
        let query = EntityQuery {
            kind: EntityKind::Action,
            scope: Scope::Path(path.clone()),
            skip: 0,
            limit: None,
        };
        for old in stores.entities.list(&query).await? {
            if !p.actions.iter().any(|a| a.name == old.name) {
                stores.entities.delete(&old.id, old.rev).await?;
            }
        }
    }
    upsert(
        stores,
        NewEntity {
            id: MARKER_ID.into(),
            kind: EntityKind::Trigger,
            path: MARKER_PATH.into(),
            name: "version".into(),
            updated: now,
            doc: json!({"version": version}),
            code: None,
        },
    )
    .await?;
    tracing::info!(%version, "installed the whisk.system catalog");
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn installs_once_and_upgrades_on_change() {
        let dir = tempfile::tempdir().unwrap();
        let stores = crate::open_sqlite(dir.path()).unwrap();
        assert!(install(&stores, Some("nodejs:20")).await.unwrap());
        assert!(!install(&stores, Some("nodejs:20")).await.unwrap());
        let echo = stores
            .entities
            .get("whisk.system/utils/echo", true)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(echo.doc["exec"]["kind"], "nodejs:20");
        assert!(echo.code.unwrap().contains("function main"));
        let alarm = stores
            .entities
            .get("whisk.system/alarms/alarm", false)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(alarm.doc["exec"]["kind"], BUILTIN);
        // Another Node.js kind is another catalog.
        assert!(install(&stores, Some("nodejs:22")).await.unwrap());
        // Without Node.js only the alarms are installed; nothing else is removed.
        let dir2 = tempfile::tempdir().unwrap();
        let bare = crate::open_sqlite(dir2.path()).unwrap();
        install(&bare, None).await.unwrap();
        assert!(bare
            .entities
            .get("whisk.system/utils/echo", false)
            .await
            .unwrap()
            .is_none());
    }
}
