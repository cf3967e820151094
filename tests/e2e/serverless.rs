//! The Serverless Framework with the serverless-openwhisk provider (tests/sls): a user's
//! `sls deploy`, `sls info`, `sls invoke`, `sls logs` and `sls remove` against
//! `whirl standalone`, and the API route it deploys answering over HTTP.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::*;

fn service_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sls")
}

/// `sls ARGS` in the service folder, with the server's credentials in the environment (as
/// serverless-openwhisk reads them) and a private home, so no `~/.wskprops` or earlier state
/// of the framework is seen.
fn sls(s: &Server, home: &Path, args: &[&str]) -> (String, Output) {
    let dir = service_dir();
    let out = Command::new(dir.join("node_modules/.bin/sls"))
        .args(args)
        .current_dir(&dir)
        .env("HOME", home)
        .env("OW_APIHOST", &s.base)
        .env("OW_AUTH", GUEST_KEY)
        .env("SLS_TELEMETRY_DISABLED", "1")
        .env("SLS_NOTIFICATIONS_MODE", "off")
        .env("SLS_DEPRECATION_DISABLE", "*")
        .output()
        .expect("run sls");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "sls {args:?} failed ({}):\n{text}\nserver log:\n{}",
        out.status,
        s.log()
    );
    (text, out)
}

#[test]
fn serverless_deploy_info_invoke_remove() {
    let dir = service_dir();
    npm_ci(&dir, "node_modules/.bin/sls");
    let s = Server::start();
    let home = tempfile::tempdir().unwrap();
    let uuid = GUEST_KEY.split(':').next().unwrap();

    let (out, _) = sls(&s, home.path(), &["deploy"]);
    assert!(out.contains("Deployment successful!"), "{out}");

    let (info, _) = sls(&s, home.path(), &["info"]);
    let after = |heading: &str| -> String {
        let i = info
            .find(heading)
            .unwrap_or_else(|| panic!("{heading} in {info}"));
        info[i + heading.len()..]
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or_default()
            .to_string()
    };
    // The plugin deploys the functions concurrently and lists them as the API does (newest
    // first), so their order is whichever finished last.
    let mut actions: Vec<String> = after("actions:")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    actions.sort();
    assert_eq!(actions, ["whirl-sls-dev-greet", "whirl-sls-dev-hello"]);
    assert_eq!(after("triggers:"), "whirl_sls_trigger");
    assert_eq!(after("rules:"), "whirl-sls_whirl_sls_trigger_to_greet");
    let route = format!("{}/api/{uuid}/hello/world", s.base);
    assert_eq!(
        after("endpoints (api-gw):"),
        format!("GET {route} --> whirl-sls-dev-hello")
    );
    // The plugin prints `https://` before whatever the API host is.
    assert_eq!(
        after("endpoints (web actions):"),
        format!(
            "https://{}/api/v1/web/guest/default/whirl-sls-dev-hello",
            s.base
        )
    );

    // The deployed route and web action answer without credentials.
    let r = s
        .anon()
        .get(&format!("/api/{uuid}/hello/world?name=sls"))
        .ok();
    assert_eq!(r, json!({"payload": "hi sls"}));
    // The plugin secures a routed web action with a generated `require-whisk-auth` key, which
    // the route passes on: called directly, the action wants that key.
    let web = "/api/v1/web/guest/default/whirl-sls-dev-hello.json?name=web";
    let denied = s.anon().get(web);
    assert_eq!(denied.status, 401, "{}", denied.text);
    let action = s
        .guest()
        .get(&format!("{NS}/actions/whirl-sls-dev-hello"))
        .ok();
    let secret = action["annotations"]
        .as_array()
        .and_then(|a| a.iter().find(|kv| kv["key"] == "require-whisk-auth"))
        .map(|kv| kv["value"].clone())
        .unwrap_or_else(|| panic!("require-whisk-auth in {action}"));
    let secret = secret.as_str().map_or(secret.to_string(), str::to_string);
    let r = s
        .anon()
        .send(Method::GET, web, &[("x-require-whisk-auth", &secret)], None)
        .ok();
    assert_eq!(r["payload"], "hi web");

    let (out, _) = sls(
        &s,
        home.path(),
        &["invoke", "-f", "hello", "-d", r#"{"name":"x"}"#],
    );
    let start = out.find('{').expect("a JSON result");
    let end = out.rfind('}').expect("a JSON result");
    let result: Value = serde_json::from_str(&out[start..=end]).expect(&out);
    assert_eq!(result, json!({"payload": "hi x"}));

    let (logs, _) = sls(&s, home.path(), &["logs", "-f", "hello"]);
    assert!(logs.contains("greeting x"), "{logs}");

    // The trigger fires the rule's action, whose logs `sls logs` then shows.
    let fired = s.guest().post(
        &format!("{NS}/triggers/whirl_sls_trigger"),
        &json!({"name": "rule"}),
    );
    assert_eq!(fired.status, 202, "{}", fired.text);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let list = s
            .guest()
            .get(&format!("{NS}/activations?name=whirl-sls-dev-greet"))
            .ok();
        if list.as_array().is_some_and(|a| !a.is_empty()) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "greet never ran");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let (logs, _) = sls(&s, home.path(), &["logs", "-f", "greet"]);
    assert!(logs.contains("greeting rule"), "{logs}");

    let (out, _) = sls(&s, home.path(), &["remove"]);
    assert!(out.contains("Resource removal successful!"), "{out}");
    let (info, _) = sls(&s, home.path(), &["info"]);
    assert!(info.contains("**no actions deployed**"), "{info}");
    assert!(info.contains("**no routes deployed**"), "{info}");
    assert!(info.contains("**no triggers deployed**"), "{info}");
    let gone = s.anon().get(&format!("/api/{uuid}/hello/world"));
    assert_eq!(gone.status, 404, "{}", gone.text);
}
