//! Entities written through one controller are what the other serves on its very next request
//! (its caches are invalidated over the bus): create, update and delete of actions, packages and
//! triggers, and invokes through both controllers run the new code right after an update.

use serde_json::json;

use crate::harness::{node, shared, NS};

fn echo(version: u32) -> serde_json::Value {
    node(&format!(
        "function main(p) {{ return {{ version: {version}, who: p.who }} }}"
    ))
}

#[test]
fn crud_through_one_controller_is_seen_by_the_other_at_once() {
    let cluster = shared();
    let key = cluster.create_namespace("crud");
    let c0 = cluster.api(0, &key);
    let c1 = cluster.api(1, &key);
    let path = format!("{NS}/actions/coherent");

    // Controller 1 reads first: a miss it may remember.
    assert_eq!(c1.get(&path).status, 404);
    assert_eq!(
        c1.invoke("coherent", "blocking=true", &json!({})).status,
        404
    );

    // Create through 0: 1 serves it at once, and both run it.
    let created = c0.action("coherent", &echo(1));
    let seen = c1.get(&path);
    assert_eq!(seen.status, 200, "{}", seen.text);
    assert_eq!(seen.body["version"], created["version"]);
    assert_eq!(seen.body["exec"]["code"], created["exec"]["code"]);
    assert_eq!(c1.call_ok("coherent", &json!({"who": 1}))["version"], 1);
    assert_eq!(c0.call_ok("coherent", &json!({"who": 0}))["version"], 1);

    // Both have it cached and warm now. Update through 0, repeatedly: every next request on
    // either controller sees (and runs) the new revision.
    for version in 2..=4 {
        let updated = c0.action("coherent", &echo(version));
        let seen = c1.get(&path);
        assert_eq!(
            seen.body["version"], updated["version"],
            "controller 1 serves the revision written through 0: {}",
            seen.text
        );
        assert_eq!(
            c1.call_ok("coherent", &json!({"who": 1}))["version"],
            version,
            "controller 1 runs the new code right after the update"
        );
        assert_eq!(
            c0.call_ok("coherent", &json!({"who": 0}))["version"],
            version
        );
    }

    // The other way round: an update through 1 is what 0 runs next.
    c1.action("coherent", &echo(5));
    assert_eq!(c0.call_ok("coherent", &json!({}))["version"], 5);
    assert_eq!(c0.get(&path).body["exec"]["code"], echo(5)["exec"]["code"]);

    // Packages and triggers too: created through 1, updated through 0, read through 1.
    let pkg = format!("{NS}/packages/coherent-pkg");
    let r = c1.put(
        &format!("{pkg}?overwrite=true"),
        &json!({"parameters": [{"key": "a", "value": 1}]}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(c0.get(&pkg).body["parameters"][0]["value"], 1);
    let r = c0.put(
        &format!("{pkg}?overwrite=true"),
        &json!({"parameters": [{"key": "a", "value": 2}]}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(c1.get(&pkg).body["parameters"][0]["value"], 2);
    let trigger = format!("{NS}/triggers/coherent-trigger");
    assert_eq!(c0.put(&trigger, &json!({})).status, 200);
    assert_eq!(c1.get(&trigger).status, 200);

    // Delete through 0: gone from 1 at once, for reads and invokes.
    let rev = c1.get(&path);
    assert_eq!(rev.status, 200);
    assert_eq!(c0.delete(&path).status, 200);
    assert_eq!(
        c1.get(&path).status,
        404,
        "controller 1 still serves a deleted action"
    );
    assert_eq!(
        c1.invoke("coherent", "blocking=true", &json!({})).status,
        404
    );
    assert_eq!(c0.delete(&pkg).status, 200);
    assert_eq!(c1.get(&pkg).status, 404);
    assert_eq!(c1.delete(&trigger).status, 200);
    assert_eq!(c0.get(&trigger).status, 404);

    // Re-created through 1 with other code: 0 runs that one, not a remembered older one.
    c1.action("coherent", &echo(6));
    assert_eq!(c0.call_ok("coherent", &json!({}))["version"], 6);
}
