//! The built-in alarms feed `/whisk.system/alarms/{alarm,interval,once}`: its lifecycle driven
//! the way `wsk trigger create|get|update|delete --feed` drives it (a blocking invoke of the
//! feed action with `lifecycleEvent`, `triggerName`, `authKey`), upstream's messages for bad
//! parameters, and the scheduler: cron alarms that fire repeatedly, a `once` alarm that
//! survives a restart and fires once, deleting what `deleteAfterFire` says, and schedules that
//! stop when their trigger is gone.

use std::time::Duration;

use serde_json::{json, Value};

use crate::support::*;

const FEEDS: &str = "/api/v1/namespaces/whisk.system/actions/alarms";

/// Invoke feed `feed` (blocking) as the guest, as the CLI does.
fn feed(s: &Server, feed: &str, event: &str, trigger: &str, params: Value) -> Resp {
    feed_as(s, GUEST_KEY, feed, event, trigger, params)
}

fn feed_as(s: &Server, key: &str, feed: &str, event: &str, trigger: &str, params: Value) -> Resp {
    let mut body = json!({"lifecycleEvent": event, "triggerName": format!("/guest/{trigger}"),
                          "authKey": key});
    if let (Some(b), Value::Object(p)) = (body.as_object_mut(), params) {
        b.extend(p);
    }
    s.guest()
        .post(&format!("{FEEDS}/{feed}?blocking=true"), &body)
}

/// The feed's result, asserting it succeeded.
fn feed_ok(s: &Server, name: &str, event: &str, trigger: &str, params: Value) -> Value {
    let r = feed(s, name, event, trigger, params);
    assert_eq!(r.status, 200, "{event} {name}: {}\n{}", r.text, s.log());
    assert_eq!(r.body["response"]["success"], true, "{}", r.text);
    r.body["response"]["result"].clone()
}

/// The message of a refused lifecycle event (upstream: `{"error": {"error": msg}}`).
fn feed_error(s: &Server, name: &str, event: &str, trigger: &str, params: Value) -> String {
    let r = feed(s, name, event, trigger, params);
    assert_eq!(r.status, 502, "{event} {name} should fail: {}", r.text);
    assert_eq!(
        r.body["response"]["status"], "application error",
        "{}",
        r.text
    );
    let e = &r.body["response"]["result"]["error"];
    e["error"]
        .as_str()
        .or(e.as_str())
        .unwrap_or_default()
        .to_string()
}

/// A trigger `name` with a rule to a noop action, so that its fires are recorded.
fn watched_trigger(s: &Server, name: &str) {
    let g = s.guest();
    g.put(&format!("{NS}/triggers/{name}"), &json!({})).ok();
    g.put(
        &format!("{NS}/actions/{name}-noop?overwrite=true"),
        &node_action("function main(p) { return p }"),
    )
    .ok();
    g.put(
        &format!("{NS}/rules/{name}-rule"),
        &json!({"trigger": format!("/_/{name}"), "action": format!("/_/{name}-noop")}),
    )
    .ok();
}

/// The trigger activations of `name`, newest first.
fn fires(s: &Server, name: &str) -> Vec<Value> {
    let list = s
        .guest()
        .get(&format!("{NS}/activations?name={name}&docs=true&limit=200"))
        .ok();
    list.as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|a| a["annotations"].as_array().is_none_or(|a| a.is_empty()))
        .collect()
}

fn in_ms(ms: i64) -> i64 {
    whirl_core::now_millis() + ms
}

#[test]
fn the_alarms_package_is_shared_with_its_feeds() {
    let s = Server::start();
    let pkg = s
        .guest()
        .get("/api/v1/namespaces/whisk.system/packages/alarms")
        .ok();
    assert_eq!(pkg["publish"], true, "{pkg}");
    let mut feeds = names(&pkg["feeds"]);
    feeds.sort();
    assert_eq!(feeds, ["alarm", "interval", "once"], "{pkg}");
    let alarm = s.guest().get(&format!("{FEEDS}/alarm")).ok();
    assert_eq!(kv(&alarm["annotations"], "feed"), Some(&json!(true)));
    // A binding of the package reaches the same feeds.
    s.guest()
        .put(
            &format!("{NS}/packages/myalarms"),
            &json!({"binding": {"namespace": "whisk.system", "name": "alarms"}}),
        )
        .ok();
    watched_trigger(&s, "bound");
    let r = s.guest().post(
        &format!("{NS}/actions/myalarms/alarm?blocking=true"),
        &json!({"lifecycleEvent": "CREATE", "triggerName": "/_/bound", "authKey": GUEST_KEY,
                "cron": "0 0 1 1 *"}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["response"]["result"], json!({"status": "success"}));
    // Guests read and run the feeds but never change them.
    let put = s
        .guest()
        .put(&format!("{FEEDS}/alarm?overwrite=true"), &node_action("x"));
    assert_eq!(put.status, 403, "{}", put.text);
    assert_eq!(s.guest().delete(&format!("{FEEDS}/alarm")).status, 403);
}

#[test]
fn cron_alarm_fires_repeatedly_then_stops_when_deleted() {
    let s = Server::start();
    watched_trigger(&s, "tick");
    let created = feed_ok(
        &s,
        "alarm",
        "CREATE",
        "tick",
        json!({"cron": "* * * * * *", "trigger_payload": {"name": "test", "place": "hello"}}),
    );
    assert_eq!(created, json!({"status": "success"}));
    let read = feed_ok(&s, "alarm", "READ", "tick", json!({}));
    assert_eq!(
        read["config"],
        json!({"name": "tick", "namespace": "guest", "cron": "* * * * * *",
               "payload": {"name": "test", "place": "hello"}, "strict": false}),
        "{read}"
    );
    assert_eq!(read["status"]["active"], true, "{read}");
    assert!(read["status"]["dateChangedISO"]
        .as_str()
        .unwrap()
        .ends_with('Z'));

    eventually(
        || fires(&s, "tick").len() >= 2,
        "the cron alarm fired twice",
    );
    let got = fires(&s, "tick");
    // Each fire carries the trigger payload, at its own tick.
    for f in &got {
        assert_eq!(
            f["response"]["result"],
            json!({"name": "test", "place": "hello"}),
            "{f}"
        );
    }
    let seconds: std::collections::HashSet<i64> = got
        .iter()
        .map(|f| f["start"].as_i64().unwrap() / 1000)
        .collect();
    assert_eq!(seconds.len(), got.len(), "one fire per tick: {got:?}");
    // The rule's action ran with the payload.
    eventually(
        || {
            s.guest()
                .get(&format!("{NS}/activations?name=tick-noop&docs=true"))
                .ok()
                .as_array()
                .is_some_and(|a| {
                    a.iter()
                        .any(|x| x["response"]["result"]["place"] == "hello")
                })
        },
        "the rule's action ran with the fire payload",
    );

    // UPDATE changes the schedule; DELETE stops it.
    let updated = feed_ok(
        &s,
        "alarm",
        "UPDATE",
        "tick",
        json!({"cron": "*/2 * * * * *"}),
    );
    assert_eq!(updated, json!({"status": "success"}));
    let read = feed_ok(&s, "alarm", "READ", "tick", json!({}));
    assert_eq!(read["config"]["cron"], "*/2 * * * * *");
    assert_eq!(
        feed_ok(&s, "alarm", "DELETE", "tick", json!({})),
        json!({"status": "success"})
    );
    // Let a fire already on its way land, then nothing more comes.
    std::thread::sleep(Duration::from_millis(1500));
    let after = fires(&s, "tick").len();
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(
        fires(&s, "tick").len(),
        after,
        "a deleted schedule stopped firing"
    );
    assert_eq!(
        feed_error(&s, "alarm", "READ", "tick", json!({})),
        "could not find trigger /guest/tick in the database"
    );
}

#[test]
fn interval_alarm_reads_back_its_configuration() {
    let s = Server::start();
    watched_trigger(&s, "every");
    let start = in_ms(3_600_000);
    feed_ok(
        &s,
        "interval",
        "CREATE",
        "every",
        json!({"minutes": 5, "startDate": start, "trigger_payload": "hi"}),
    );
    let read = feed_ok(&s, "interval", "READ", "every", json!({}));
    assert_eq!(
        read["config"],
        json!({"name": "every", "namespace": "guest", "minutes": 5, "startDate": start,
               "payload": {"payload": "hi"}, "strict": false}),
        "{read}"
    );
    assert_eq!(
        feed_error(&s, "interval", "UPDATE", "every", json!({})),
        "no updatable parameters were specified"
    );
    feed_ok(&s, "interval", "UPDATE", "every", json!({"minutes": "10"}));
    let read = feed_ok(&s, "interval", "READ", "every", json!({}));
    assert_eq!(read["config"]["minutes"], 10);
}

#[test]
fn bad_parameters_get_upstream_messages() {
    let s = Server::start();
    watched_trigger(&s, "bad");
    let past = in_ms(-5000);
    let stop = in_ms(30_000);
    let cases: Vec<(&str, Value, String)> = vec![
        (
            "alarm",
            json!({}),
            "alarms trigger feed is missing the cron parameter".into(),
        ),
        (
            "alarm",
            json!({"cron": 1_700_000_000_000_i64}),
            "cron pattern '1700000000000' is not valid".into(),
        ),
        (
            "alarm",
            json!({"cron": "* * * * *", "timezone": "America/RTP"}),
            "Invalid timezone.".into(),
        ),
        (
            "alarm",
            json!({"cron": "* * * * *", "startDate": past}),
            format!("startDate parameter '{past}' must be in the future"),
        ),
        (
            "alarm",
            json!({"cron": "* * * * *", "startDate": stop, "stopDate": stop}),
            format!(
                "stopDate parameter '{stop}' must be greater than the startDate parameter '{stop}'"
            ),
        ),
        (
            "alarm",
            json!({"cron": "0 0 1 1 *", "stopDate": stop}),
            "the first scheduled trigger fire is not until after the stop date".into(),
        ),
        (
            "alarm",
            json!({"cron": "* * * * *", "maxTriggers": 3, "stopDate": stop}),
            "maxTriggers is not allowed when the stopDate parameter is specified".into(),
        ),
        (
            "once",
            json!({}),
            "alarms once trigger feed is missing the date parameter".into(),
        ),
        (
            "once",
            json!({"date": "tomorrow"}),
            "date parameter 'tomorrow' is not a valid Date".into(),
        ),
        (
            "once",
            json!({"date": past}),
            format!("date parameter '{past}' must be in the future"),
        ),
        (
            "once",
            json!({"date": stop, "deleteAfterFire": "maybe"}),
            "deleteAfterFire parameter must be one of [false, true, rules].".into(),
        ),
        (
            "interval",
            json!({}),
            "interval trigger feed is missing the minutes parameter".into(),
        ),
        (
            "interval",
            json!({"minutes": "five"}),
            "the minutes parameter must be an integer".into(),
        ),
        (
            "interval",
            json!({"minutes": -1}),
            "the minutes parameter must be an integer greater than zero".into(),
        ),
    ];
    for (name, params, message) in cases {
        assert_eq!(
            feed_error(&s, name, "CREATE", "bad", params.clone()),
            message,
            "{name} {params}"
        );
    }
    // A wrong key, or a trigger that does not exist, fails authentication.
    let wrong = format!("{}:nope", GUEST_KEY.split(':').next().unwrap());
    let r = feed_as(
        &s,
        &wrong,
        "alarm",
        "CREATE",
        "bad",
        json!({"cron": "* * * * *"}),
    );
    assert_eq!(r.status, 502, "{}", r.text);
    assert_eq!(
        r.body["response"]["result"]["error"]["error"],
        "Trigger authentication request failed."
    );
    assert_eq!(
        feed_error(
            &s,
            "alarm",
            "CREATE",
            "missing",
            json!({"cron": "* * * * *"})
        ),
        "Trigger authentication request failed."
    );
    // Upstream's feed answers only CREATE, READ, UPDATE and DELETE.
    for event in ["PAUSE", "UNPAUSE", "BOGUS"] {
        assert_eq!(
            feed_error(&s, "alarm", event, "bad", json!({})),
            "unsupported lifecycleEvent"
        );
    }
    // A refused CREATE stored nothing.
    assert_eq!(
        feed_error(&s, "alarm", "READ", "bad", json!({})),
        "could not find trigger /guest/bad in the database"
    );
    // Every refusal left a record: 7 + 2 + 3 + 1 of the `alarm` feed, 4 of `once`, 3 of `interval`.
    for (feed, n) in [("alarm", 13), ("once", 4), ("interval", 3)] {
        let records = s
            .guest()
            .get(&format!("{NS}/activations?name=alarms/{feed}&limit=200"))
            .ok();
        assert_eq!(records.as_array().unwrap().len(), n, "{feed}: {records}");
    }
}

#[test]
fn once_alarm_survives_a_restart_and_fires_once() {
    let mut s = Server::start();
    watched_trigger(&s, "later");
    let date = in_ms(3000);
    feed_ok(
        &s,
        "once",
        "CREATE",
        "later",
        json!({"date": date, "trigger_payload": {"x": 1}}),
    );
    s.kill9();
    // The date passes while no server runs.
    let wait = Duration::from_millis(u64::try_from(date - whirl_core::now_millis()).unwrap_or(0));
    std::thread::sleep(wait + Duration::from_millis(500));
    let s = s.restart();
    eventually(
        || fires(&s, "later").len() == 1,
        "the missed alarm fired at start",
    );
    let f = &fires(&s, "later")[0];
    assert_eq!(f["response"]["result"], json!({"x": 1}));
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(fires(&s, "later").len(), 1, "fired once, not again");
    let read = feed_ok(&s, "once", "READ", "later", json!({}));
    assert_eq!(read["config"]["date"], date);
    assert_eq!(read["status"]["active"], false, "{read}");
    assert_eq!(
        read["status"]["reason"]["message"],
        "Automatically disabled after firing once"
    );
}

#[test]
fn cron_alarm_fires_a_run_of_missed_ticks_once() {
    let mut s = Server::start();
    watched_trigger(&s, "missed");
    feed_ok(
        &s,
        "alarm",
        "CREATE",
        "missed",
        json!({"cron": "* * * * * *"}),
    );
    eventually(|| !fires(&s, "missed").is_empty(), "the alarm fired");
    s.kill9();
    // Three ticks pass while no server runs.
    std::thread::sleep(Duration::from_secs(3));
    let s = s.restart();
    let restarted = whirl_core::now_millis();
    let since = |s: &Server| -> Vec<i64> {
        fires(s, "missed")
            .iter()
            .filter_map(|f| f["start"].as_i64())
            .filter(|t| *t >= restarted)
            .collect()
    };
    eventually(
        || since(&s).len() >= 3,
        "the alarm fires again after the restart",
    );
    // Had the missed ticks been fired one by one, they would share the second of the start.
    let starts = since(&s);
    let seconds: std::collections::HashSet<i64> = starts.iter().map(|t| t / 1000).collect();
    assert_eq!(
        seconds.len(),
        starts.len(),
        "the missed run fired once: {starts:?}"
    );
}

#[test]
fn delete_after_fire_removes_the_trigger_and_its_rules() {
    let s = Server::start();
    watched_trigger(&s, "gone");
    feed_ok(
        &s,
        "once",
        "CREATE",
        "gone",
        json!({"date": in_ms(1500), "deleteAfterFire": "rules"}),
    );
    eventually(
        || s.guest().get(&format!("{NS}/triggers/gone")).status == 404,
        "the trigger was deleted after firing",
    );
    assert_eq!(s.guest().get(&format!("{NS}/rules/gone-rule")).status, 404);
    assert_eq!(fires(&s, "gone").len(), 1);
}

#[test]
fn a_deleted_trigger_disables_its_schedule() {
    let s = Server::start();
    watched_trigger(&s, "orphan");
    feed_ok(
        &s,
        "alarm",
        "CREATE",
        "orphan",
        json!({"cron": "* * * * * *"}),
    );
    eventually(|| !fires(&s, "orphan").is_empty(), "the alarm fired");
    // Deleted through the API, not the feed: the next tick finds no trigger.
    s.guest().delete(&format!("{NS}/triggers/orphan")).ok();
    std::thread::sleep(Duration::from_millis(2500));
    s.guest()
        .put(&format!("{NS}/triggers/orphan"), &json!({}))
        .ok();
    let read = feed_ok(&s, "alarm", "READ", "orphan", json!({}));
    assert_eq!(read["status"]["active"], false, "{read}");
    assert_eq!(read["status"]["reason"]["statusCode"], 404, "{read}");
    assert_eq!(
        read["status"]["reason"]["message"],
        "Trigger automatically disabled: The requested resource does not exist."
    );
}
