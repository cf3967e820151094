//! Triggers and rules (spec §1.5, §1.6): CRUD, rule status kept in the trigger document.

use reqwest::Method;
use serde_json::json;

use crate::support::*;

#[test]
fn trigger_crud() {
    let s = Server::start();
    let g = s.guest();
    let t = g
        .put(
            &format!("{NS}/triggers/t"),
            &json!({"parameters": [{"key": "p", "value": 1}], "annotations": [{"key": "a", "value": "b"}]}),
        )
        .ok();
    assert_eq!(t["namespace"], "guest");
    assert_eq!(t["name"], "t");
    assert_eq!(t["version"], "0.0.1");
    assert_eq!(t["publish"], false);
    assert_eq!(t["parameters"], json!([{"key": "p", "value": 1}]));
    assert_eq!(t["annotations"], json!([{"key": "a", "value": "b"}]));
    assert_eq!(t["limits"], json!({}));
    assert!(t.get("rules").is_none(), "no rules yet: {t}");
    assert_eq!(g.get(&format!("{NS}/triggers/t")).ok(), t);
    let u = g
        .put(
            &format!("{NS}/triggers/t?overwrite=true"),
            &json!({"parameters": [{"key": "p", "value": 2}]}),
        )
        .ok();
    assert_eq!(u["parameters"], json!([{"key": "p", "value": 2}]));
    assert_eq!(u["annotations"], t["annotations"]);
    assert_eq!(u["version"], "0.0.2");
    let list = g.get(&format!("{NS}/triggers")).ok();
    let mut keys: Vec<&str> = list[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "annotations",
            "name",
            "namespace",
            "publish",
            "updated",
            "version"
        ]
    );
    assert_eq!(g.delete(&format!("{NS}/triggers/t")).ok(), u);
    assert_eq!(g.get(&format!("{NS}/triggers")).ok(), json!([]));
}

#[test]
fn trigger_feed_annotation_must_be_a_valid_name() {
    let s = Server::start();
    let g = s.guest();
    for bad in [
        json!(""),
        json!(5),
        json!("/a/b/c/d"),
        json!("bad name!"),
        json!({"x": 1}),
    ] {
        g.put(
            &format!("{NS}/triggers/t"),
            &json!({"annotations": [{"key": "feed", "value": bad}]}),
        )
        .assert_error(400, "Feed name is not valid");
    }
    let t = g
        .put(
            &format!("{NS}/triggers/t"),
            &json!({"annotations": [{"key": "feed", "value": "/whisk.system/alarms/alarm"}]}),
        )
        .ok();
    assert_eq!(
        kv(&t["annotations"], "feed"),
        Some(&json!("/whisk.system/alarms/alarm"))
    );
    g.put(
        &format!("{NS}/triggers/t?overwrite=true"),
        &json!({"annotations": [{"key": "feed", "value": "a/b/c/d/e"}]}),
    )
    .assert_error(400, "Feed name is not valid");
}

fn setup(g: &Api) {
    create_action(g, "a");
    g.put(&format!("{NS}/triggers/t"), &json!({})).ok();
}

#[test]
fn rule_create_requires_an_existing_trigger_and_action() {
    let s = Server::start();
    let g = s.guest();
    setup(&g);
    let invalid = "rule requires a valid trigger and a valid action";
    for body in [
        json!({}),
        json!({"trigger": "/_/t"}),
        json!({"action": "/_/a"}),
        json!({"trigger": "", "action": "/_/a"}),
        json!({"trigger": "t", "action": "/_/a"}),
        json!({"trigger": "/_/t", "action": 5}),
        json!({"trigger": "/_/t", "action": "/_/a/b/c"}),
        json!({"trigger": {"path": "guest"}, "action": "/_/a"}),
    ] {
        g.put(&format!("{NS}/rules/r"), &body)
            .assert_error(400, invalid);
    }
    g.put(
        &format!("{NS}/rules/r"),
        &json!({"trigger": "/_/x", "action": "/_/a"}),
    )
    .assert_error(400, "trigger /guest/x does not exist");
    g.put(
        &format!("{NS}/rules/r"),
        &json!({"trigger": "/guest/t", "action": "/_/y"}),
    )
    .assert_error(400, "action /guest/y does not exist");
    g.put(
        &format!("{NS}/rules/r"),
        &json!({"trigger": "/_/t", "action": "/_/pkg/y"}),
    )
    .assert_error(400, "action /guest/pkg/y does not exist");
    // A trigger is not an action and vice versa.
    g.put(
        &format!("{NS}/rules/r"),
        &json!({"trigger": "/_/a", "action": "/_/a"}),
    )
    .assert_error(400, "trigger /guest/a does not exist");
    g.put(
        &format!("{NS}/rules/r"),
        &json!({"trigger": "/_/t", "action": "/_/t"}),
    )
    .assert_error(400, "action /guest/t does not exist");
    g.get(&format!("{NS}/rules/r"))
        .assert_error(404, "The requested resource does not exist.");
    assert!(g
        .get(&format!("{NS}/triggers/t"))
        .ok()
        .get("rules")
        .is_none());
}

#[test]
fn rule_lifecycle_and_status_in_the_trigger() {
    let s = Server::start();
    let g = s.guest();
    setup(&g);
    g.put(&format!("{NS}/packages/pkg"), &json!({})).ok();
    create_action(&g, "pkg/pa");
    let r = g
        .put(
            &format!("{NS}/rules/r"),
            &json!({"trigger": "/_/t", "action": "/_/a", "status": "inactive"}),
        )
        .ok();
    assert_eq!(r["namespace"], "guest");
    assert_eq!(r["name"], "r");
    assert_eq!(r["version"], "0.0.1");
    assert_eq!(
        r["status"], "active",
        "a new rule is active; body status ignored"
    );
    assert_eq!(r["trigger"], json!({"path": "guest", "name": "t"}));
    assert_eq!(r["action"], json!({"path": "guest", "name": "a"}));
    let t = g.get(&format!("{NS}/triggers/t")).ok();
    assert_eq!(
        t["rules"],
        json!({"guest/r": {"action": {"path": "guest", "name": "a"}, "status": "active"}})
    );
    assert_eq!(g.get(&format!("{NS}/rules/r")).ok(), r);

    // Disable / enable.
    let status = |st: &str| g.post(&format!("{NS}/rules/r"), &json!({"status": st}));
    let resp = status("inactive");
    assert_eq!((resp.status, resp.text.as_str()), (200, "OK"));
    assert_eq!(g.get(&format!("{NS}/rules/r")).ok()["status"], "inactive");
    assert_eq!(
        g.get(&format!("{NS}/triggers/t")).ok()["rules"]["guest/r"]["status"],
        "inactive"
    );
    let resp = status("inactive");
    assert_eq!(
        (resp.status, resp.text.as_str()),
        (200, "OK"),
        "already inactive is fine"
    );
    let resp = status("active");
    assert_eq!((resp.status, resp.text.as_str()), (200, "OK"));
    assert_eq!(g.get(&format!("{NS}/rules/r")).ok()["status"], "active");
    assert_eq!(
        g.get(&format!("{NS}/triggers/t")).ok()["rules"]["guest/r"]["status"],
        "active"
    );
    for bad in [
        json!({"status": "on"}),
        json!({}),
        json!({"status": true}),
        json!({"status": "ACTIVE"}),
    ] {
        let r = g.post(&format!("{NS}/rules/r"), &bad);
        assert_eq!(r.status, 400, "{bad}: {}", r.text);
        r.assert_error_shape();
    }
    g.post(&format!("{NS}/rules/nope"), &json!({"status": "active"}))
        .assert_error(404, "The requested resource does not exist.");

    // A second rule on the same trigger, with an object reference to a packaged action.
    let r2 = g
        .put(
            &format!("{NS}/rules/r2"),
            &json!({"trigger": {"path": "guest", "name": "t"}, "action": {"path": "guest/pkg", "name": "pa"}}),
        )
        .ok();
    assert_eq!(r2["action"], json!({"path": "guest/pkg", "name": "pa"}));
    let rules = g.get(&format!("{NS}/triggers/t")).ok()["rules"].clone();
    assert_eq!(rules.as_object().unwrap().len(), 2);
    assert_eq!(
        rules["guest/r2"],
        json!({"action": {"path": "guest/pkg", "name": "pa"}, "status": "active"})
    );
    // Updating a trigger keeps its rules.
    g.put(
        &format!("{NS}/triggers/t?overwrite=true"),
        &json!({"parameters": [{"key": "x", "value": 1}]}),
    )
    .ok();
    assert_eq!(g.get(&format!("{NS}/triggers/t")).ok()["rules"], rules);

    // The list has full rule documents without status.
    let list = g.get(&format!("{NS}/rules")).ok();
    assert_eq!(list.as_array().unwrap().len(), 2);
    for e in list.as_array().unwrap() {
        assert!(e.get("status").is_none(), "no status in list: {e}");
        assert!(e["trigger"].is_object() && e["action"].is_object());
    }
    assert_eq!(
        g.get(&format!("{NS}/rules?count=true")).ok(),
        json!({"rules": 2})
    );

    // Deleting a rule returns it inactive and unlinks it.
    let deleted = g.delete(&format!("{NS}/rules/r2")).ok();
    assert_eq!(deleted["status"], "inactive");
    assert_eq!(deleted["name"], "r2");
    let t = g.get(&format!("{NS}/triggers/t")).ok();
    assert_eq!(
        t["rules"].as_object().unwrap().keys().collect::<Vec<_>>(),
        ["guest/r"]
    );
    g.get(&format!("{NS}/rules/r2"))
        .assert_error(404, "The requested resource does not exist.");

    // Deleting the trigger leaves the rule, inactive; it cannot be enabled.
    g.delete(&format!("{NS}/triggers/t")).ok();
    let orphan = g.get(&format!("{NS}/rules/r")).ok();
    assert_eq!(orphan["status"], "inactive");
    let r = g.post(&format!("{NS}/rules/r"), &json!({"status": "active"}));
    r.assert_error(404, "Only rules with existing triggers can be activated");
    // Recreating the trigger does not resurrect the link.
    g.put(&format!("{NS}/triggers/t"), &json!({})).ok();
    assert_eq!(g.get(&format!("{NS}/rules/r")).ok()["status"], "inactive");
    // Rule delete still works.
    assert_eq!(
        g.delete(&format!("{NS}/rules/r")).ok()["status"],
        "inactive"
    );
    assert_eq!(g.get(&format!("{NS}/rules")).ok(), json!([]));
}

#[test]
fn rule_update_can_move_to_another_trigger() {
    let s = Server::start();
    let g = s.guest();
    setup(&g);
    g.put(&format!("{NS}/triggers/t2"), &json!({})).ok();
    create_action(&g, "b");
    g.put(
        &format!("{NS}/rules/r"),
        &json!({"trigger": "/_/t", "action": "/_/a"}),
    )
    .ok();
    g.post(&format!("{NS}/rules/r"), &json!({"status": "inactive"}))
        .ok();
    let u = g
        .put(
            &format!("{NS}/rules/r?overwrite=true"),
            &json!({"trigger": "/_/t2", "action": "/_/b"}),
        )
        .ok();
    assert_eq!(u["version"], "0.0.2");
    assert_eq!(u["trigger"], json!({"path": "guest", "name": "t2"}));
    assert_eq!(u["action"], json!({"path": "guest", "name": "b"}));
    assert_eq!(u["status"], "inactive", "status survives an update");
    assert!(g
        .get(&format!("{NS}/triggers/t"))
        .ok()
        .get("rules")
        .is_none());
    assert_eq!(
        g.get(&format!("{NS}/triggers/t2")).ok()["rules"],
        json!({"guest/r": {"action": {"path": "guest", "name": "b"}, "status": "inactive"}})
    );
    // An update that names a missing action fails and changes nothing.
    g.put(
        &format!("{NS}/rules/r?overwrite=true"),
        &json!({"action": "/_/missing"}),
    )
    .assert_error(400, "action /guest/missing does not exist");
    assert_eq!(
        g.get(&format!("{NS}/rules/r")).ok()["action"],
        json!({"path": "guest", "name": "b"})
    );
}

/// Rules are namespace-level: a rule may not use another namespace's trigger.
#[test]
fn rules_across_namespaces() {
    let s = Server::start();
    let g = s.guest();
    setup(&g);
    let alice = s.api(Some(&s.create_namespace("alice")));
    create_action(&alice, "mine");
    let r = alice.put(
        &format!("{NS}/rules/r"),
        &json!({"trigger": "/guest/t", "action": "/_/mine"}),
    );
    r.assert_error(
        403,
        "The supplied authentication is not authorized to access 'guest/t'.",
    );
    assert!(g
        .get(&format!("{NS}/triggers/t"))
        .ok()
        .get("rules")
        .is_none());
    let r = alice.send(Method::GET, "/api/v1/namespaces/guest/rules", &[], None);
    r.assert_error(
        403,
        "The supplied authentication is not authorized to access 'guest'.",
    );
}
