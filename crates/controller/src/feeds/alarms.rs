//! The feed lifecycle of `/whisk.system/alarms/{alarm,interval,once}` (spec §3.5), answered as
//! openwhisk-package-alarms' feed action and its `alarmWebAction` answer it: the same parameter
//! checks in the same order with the same messages, the same `{"status":"success"}` and READ
//! shapes. Upstream's feed action rejects with the web action's error body, so a refused
//! request ends as the application error `{"error": {"error": "<message>"}}`.
//!
//! Which feed is asked is told by the action's own parameters, as upstream installs them:
//! `once` has `fireOnce: true`, `interval` has `isInterval: true`, `alarm` neither.

use serde_json::{json, Map, Value};
use whirl_core::entity::WhiskTrigger;
use whirl_core::now_millis;
use whirl_store::EntityKind;

use super::schedule::{
    js_text, minutes, next_cron, parse_cron, parse_date, parse_timezone, truthy, Kind, Schedule,
    Status,
};
use super::store;
use crate::auth::{self, Identity};
use crate::entities::{load, owns};
use crate::AppState;

/// The feed's answer: its result, or the value it rejects with.
pub type Answer = Result<Value, Value>;

const AUTH_FAILED: &str = "Trigger authentication request failed.";
const DELETE_AFTER_FIRE: [&str; 3] = ["false", "true", "rules"];

/// Upstream's `sendError(statusCode, error)`: the body of the web action's error response.
fn fail(message: impl Into<String>) -> Value {
    json!({"error": message.into()})
}

/// Upstream's `validateDate`: the message for a date that is not a date, is past, or is not
/// after `start`.
fn check_date(v: &Value, param: &str, start: Option<&Value>) -> Result<(), Value> {
    let text = js_text(v);
    let Some(at) = parse_date(v) else {
        return Err(fail(format!(
            "{param} parameter '{text}' is not a valid Date"
        )));
    };
    if now_millis() >= at {
        return Err(fail(format!(
            "{param} parameter '{text}' must be in the future"
        )));
    }
    if let Some(start) = start {
        if parse_date(start).is_some_and(|s| at <= s) {
            return Err(fail(format!(
                "{param} parameter '{text}' must be greater than the startDate parameter '{}'",
                js_text(start)
            )));
        }
    }
    Ok(())
}

/// The cron pattern and time zone, checked as the node `cron` package checks them (the zone
/// first).
fn check_cron(
    cron: &Value,
    timezone: Option<&Value>,
) -> Result<(croner::Cron, Option<chrono_tz::Tz>), Value> {
    let tz = match timezone.filter(|t| truthy(Some(t))) {
        Some(t) => Some(parse_timezone(&js_text(t)).ok_or_else(|| fail("Invalid timezone."))?),
        None => None,
    };
    let pattern = js_text(cron);
    let parsed = parse_cron(&pattern)
        .ok_or_else(|| fail(format!("cron pattern '{pattern}' is not valid")))?;
    Ok((parsed, tz))
}

/// The trigger payload as upstream stores it: a string becomes `{"payload": s}`.
fn payload(v: Option<&Value>) -> Value {
    match v {
        Some(Value::String(s)) => json!({ "payload": s }),
        Some(v) if truthy(Some(v)) => v.clone(),
        _ => json!({}),
    }
}

/// Upstream's `verifyTriggerAuth`: the `authKey` must name an identity that can read the
/// trigger (a missing trigger is fine for DELETE).
async fn verify_trigger_auth(
    state: &AppState,
    auth_key: Option<&Value>,
    ns: &str,
    name: &str,
    is_delete: bool,
) -> Result<Identity, Value> {
    let key = auth_key.map(js_text).unwrap_or_default();
    let who = match auth::identify(state, &key).await {
        Ok(Some(who)) => who,
        Ok(None) => return Err(fail(AUTH_FAILED)),
        Err(_) => return Err(json!({"error": AUTH_FAILED, "message": "the store is unavailable"})),
    };
    if !owns(&who, ns) {
        return Err(fail(AUTH_FAILED));
    }
    let id = format!("{ns}/{name}");
    match load::<WhiskTrigger>(state, EntityKind::Trigger, &id, false).await {
        Ok(Some(_)) => Ok(who),
        Ok(None) if is_delete => Ok(who),
        _ => Err(fail(AUTH_FAILED)),
    }
}

fn not_in_database(ns: &str, name: &str) -> Value {
    fail(format!(
        "could not find trigger /{ns}/{name} in the database"
    ))
}

fn store_failed(what: &str, e: &whirl_store::StoreError) -> Value {
    tracing::error!(error = %e, "alarm schedule store failure");
    json!({"error": format!("there was an error while {what} the trigger in the database."),
           "message": "the store is unavailable"})
}

/// Run one lifecycle event. `caller` is who invoked the feed action: the trigger is theirs
/// (upstream names it `/{__OW_NAMESPACE}/{name}`).
pub async fn lifecycle(state: &AppState, caller: &Identity, p: &Map<String, Value>) -> Answer {
    let event = p.get("lifecycleEvent").map(js_text).unwrap_or_default();
    if !matches!(event.as_str(), "CREATE" | "READ" | "UPDATE" | "DELETE") {
        return Err(json!("unsupported lifecycleEvent"));
    }
    let Some(trigger) = p.get("triggerName").filter(|v| truthy(Some(v))) else {
        return Err(fail("no trigger name parameter was provided"));
    };
    let qname = js_text(trigger);
    let name = match qname.strip_prefix('/') {
        Some(rest) => rest.split_once('/').map(|(_, n)| n).unwrap_or(""),
        None => qname.as_str(),
    };
    let ns = caller.namespace.as_str();
    let answer = match event.as_str() {
        "CREATE" => create(state, ns, name, p).await,
        "READ" => read(state, ns, name, p).await,
        "UPDATE" => update(state, ns, name, p).await,
        _ => delete(state, ns, name, p).await,
    };
    if answer.is_ok() && event != "READ" {
        state.inner.alarms.changed();
    }
    answer
}

async fn create(state: &AppState, ns: &str, name: &str, p: &Map<String, Value>) -> Answer {
    let now = now_millis();
    let mut s = Schedule {
        namespace: ns.into(),
        name: name.into(),
        apikey: String::new(),
        kind: Kind::Cron,
        payload: payload(p.get("trigger_payload")),
        cron: None,
        timezone: None,
        strict: None,
        minutes: None,
        date: None,
        delete_after_fire: None,
        start_date: None,
        stop_date: None,
        max_triggers: p
            .get("maxTriggers")
            .filter(|v| truthy(Some(v)))
            .and_then(Value::as_i64)
            .unwrap_or(-1),
        triggers_left: None,
        status: Status {
            active: true,
            date_changed: now,
            reason: None,
        },
        next: None,
        last_fired: None,
    };
    if truthy(p.get("fireOnce")) {
        s.kind = Kind::Once;
        let Some(date) = p.get("date").filter(|v| truthy(Some(v))) else {
            return Err(fail(
                "alarms once trigger feed is missing the date parameter",
            ));
        };
        check_date(date, "date", None)?;
        s.date = Some(date.clone());
        if let Some(d) = p.get("deleteAfterFire").filter(|v| truthy(Some(v))) {
            let d = js_text(d).trim().to_lowercase();
            if !DELETE_AFTER_FIRE.contains(&d.as_str()) {
                return Err(fail(
                    "deleteAfterFire parameter must be one of [false, true, rules].",
                ));
            }
            s.delete_after_fire = Some(d);
        }
    } else {
        let is_interval = truthy(p.get("isInterval"));
        let mut cron_handle = None;
        if is_interval {
            s.kind = Kind::Interval;
            let Some(m) = p.get("minutes").filter(|v| truthy(Some(v))) else {
                return Err(fail(
                    "interval trigger feed is missing the minutes parameter",
                ));
            };
            s.minutes = Some(minutes(m).map_err(fail)?);
        } else {
            let Some(cron) = p.get("cron").filter(|v| truthy(Some(v))) else {
                return Err(fail("alarms trigger feed is missing the cron parameter"));
            };
            let (parsed, tz) = check_cron(cron, p.get("timezone"))?;
            cron_handle = Some((parsed, tz));
            s.cron = Some(js_text(cron));
            s.timezone = p.get("timezone").filter(|v| truthy(Some(v))).map(js_text);
            s.strict = p.get("strict").cloned();
        }
        if let Some(start) = p.get("startDate").filter(|v| truthy(Some(v))) {
            check_date(start, "startDate", None)?;
            s.start_date = Some(start.clone());
        } else if is_interval {
            // Upstream starts an interval 30 seconds from now when no start date is given.
            s.start_date = Some(json!(now + 30_000));
        }
        let stop = p.get("stopDate").filter(|v| truthy(Some(v)));
        if truthy(p.get("maxTriggers")) && stop.is_some() {
            return Err(fail(if is_interval {
                "maxTriggers is not supported for the interval trigger feed"
            } else {
                "maxTriggers is not allowed when the stopDate parameter is specified"
            }));
        }
        if let Some(stop) = stop {
            check_date(stop, "stopDate", s.start_date.as_ref())?;
            s.stop_date = Some(stop.clone());
            if let Some((cron, tz)) = &cron_handle {
                let first = next_cron(cron, *tz, now);
                if first.is_some_and(|f| parse_date(stop).is_some_and(|st| f > st)) {
                    return Err(fail(
                        "the first scheduled trigger fire is not until after the stop date",
                    ));
                }
            }
        }
    }
    let who = verify_trigger_auth(state, p.get("authKey"), ns, name, false).await?;
    s.apikey = who.api_key();
    if s.max_triggers > 0 {
        s.triggers_left = Some(s.max_triggers);
    }
    s.next = s.tick_after(now);
    let id = store::doc_id(ns, name);
    let rev = match store::get(state.stores(), &id).await {
        Ok(existing) => existing.map(|e| e.rev),
        Err(e) => return Err(store_failed("creating", &e)),
    };
    match store::put(state.stores(), &s, rev).await {
        Ok(_) => Ok(json!({"status": "success"})),
        Err(e) => Err(json!({"error": "error creating alarm trigger.", "message": e.to_string()})),
    }
}

async fn read(state: &AppState, ns: &str, name: &str, p: &Map<String, Value>) -> Answer {
    verify_trigger_auth(state, p.get("authKey"), ns, name, false).await?;
    let stored = match store::get(state.stores(), &store::doc_id(ns, name)).await {
        Ok(Some(s)) => s.schedule,
        Ok(None) => return Err(not_in_database(ns, name)),
        Err(e) => return Err(store_failed("reading", &e)),
    };
    let mut config = Map::new();
    config.insert("name".into(), json!(stored.name));
    config.insert("namespace".into(), json!(stored.namespace));
    config.insert("payload".into(), stored.payload.clone());
    config.insert(
        "strict".into(),
        stored.strict.clone().unwrap_or(Value::Bool(false)),
    );
    let mut put = |k: &str, v: &Option<Value>| {
        if let Some(v) = v {
            config.insert(k.into(), v.clone());
        }
    };
    if stored.date.is_some() {
        put("date", &stored.date);
        put(
            "deleteAfterFire",
            &stored.delete_after_fire.clone().map(Value::String),
        );
    } else {
        put("startDate", &stored.start_date);
        put("stopDate", &stored.stop_date);
        if stored.minutes.is_some() {
            put("minutes", &stored.minutes.map(|m| json!(m)));
        } else {
            put("cron", &stored.cron.clone().map(Value::String));
            put("timezone", &stored.timezone.clone().map(Value::String));
        }
    }
    let changed = stored.status.date_changed;
    let iso = chrono::DateTime::from_timestamp_millis(changed)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default();
    let mut status = json!({
        "active": stored.status.active,
        "dateChanged": changed,
        "dateChangedISO": iso,
    });
    if let Some(r) = &stored.status.reason {
        status["reason"] = json!(r);
    }
    Ok(json!({"config": config, "status": status}))
}

async fn update(state: &AppState, ns: &str, name: &str, p: &Map<String, Value>) -> Answer {
    verify_trigger_auth(state, p.get("authKey"), ns, name, false).await?;
    let stored = match store::get(state.stores(), &store::doc_id(ns, name)).await {
        Ok(Some(s)) => s,
        Ok(None) => return Err(not_in_database(ns, name)),
        Err(e) => return Err(store_failed("updating", &e)),
    };
    let mut s = stored.schedule.clone();
    let mut changed = false;
    if let Some(tp) = p.get("trigger_payload").filter(|v| truthy(Some(v))) {
        s.payload = payload(Some(tp));
        changed = true;
    }
    let given = |k: &str| p.get(k).filter(|v| truthy(Some(v)));
    if s.kind == Kind::Once {
        if let Some(date) = given("date") {
            check_date(date, "date", None)?;
            s.date = Some(date.clone());
            changed = true;
        }
        if let Some(d) = given("deleteAfterFire") {
            let d = js_text(d).trim().to_lowercase();
            if !DELETE_AFTER_FIRE.contains(&d.as_str()) {
                return Err(fail(
                    "deleteAfterFire parameter must be one of [false, true, rules].",
                ));
            }
            s.delete_after_fire = Some(d);
            changed = true;
        }
    } else {
        if s.kind == Kind::Interval {
            if let Some(m) = given("minutes") {
                s.minutes = Some(minutes(m).map_err(fail)?);
                changed = true;
            }
        } else {
            if given("cron").is_some() || given("timezone").is_some() {
                let cron = given("cron")
                    .cloned()
                    .or_else(|| s.cron.clone().map(Value::String))
                    .unwrap_or(Value::Null);
                let tz = given("timezone")
                    .cloned()
                    .or_else(|| s.timezone.clone().map(Value::String));
                check_cron(&cron, tz.as_ref())?;
                if let Some(c) = given("cron") {
                    s.cron = Some(js_text(c));
                }
                if let Some(t) = given("timezone") {
                    s.timezone = Some(js_text(t));
                }
                changed = true;
            }
            if let Some(strict) = p.get("strict") {
                s.strict = Some(strict.clone());
                changed = true;
            }
        }
        if let Some(start) = given("startDate") {
            check_date(start, "startDate", None)?;
            s.start_date = Some(start.clone());
            changed = true;
        }
        if let Some(stop) = given("stopDate") {
            let start = given("startDate").cloned().or_else(|| s.start_date.clone());
            check_date(stop, "stopDate", start.as_ref())?;
            s.stop_date = Some(stop.clone());
            changed = true;
        } else if let (Some(start), Some(stop)) = (given("startDate"), s.stop_date.clone()) {
            let (a, b) = (parse_date(start), parse_date(&stop));
            if a.zip(b).is_some_and(|(a, b)| a >= b) {
                return Err(fail(format!(
                    "startDate parameter '{}' must be less than the stopDate parameter '{}'",
                    js_text(start),
                    js_text(&stop)
                )));
            }
        }
    }
    if !changed {
        return Err(fail("no updatable parameters were specified"));
    }
    let now = now_millis();
    s.status = Status {
        active: true,
        date_changed: now,
        reason: None,
    };
    s.next = s.tick_after(now);
    match store::put(state.stores(), &s, Some(stored.rev)).await {
        Ok(_) => Ok(json!({"status": "success"})),
        Err(e) => Err(store_failed("updating", &e)),
    }
}

async fn delete(state: &AppState, ns: &str, name: &str, p: &Map<String, Value>) -> Answer {
    verify_trigger_auth(state, p.get("authKey"), ns, name, true).await?;
    let stored = match store::get(state.stores(), &store::doc_id(ns, name)).await {
        Ok(Some(s)) => s,
        Ok(None) => return Err(not_in_database(ns, name)),
        Err(e) => return Err(store_failed("deleting", &e)),
    };
    match store::delete(state.stores(), &stored).await {
        Ok(()) => Ok(json!({"status": "success"})),
        Err(e) => Err(store_failed("deleting", &e)),
    }
}
