//! The alarm scheduler: fires each stored schedule's triggers at its ticks, through the same
//! trigger-fire logic as `POST /triggers/{name}` ([`crate::domain::fire`]), as the identity
//! whose key the feed was created with.
//!
//! - **One process fires.** Only the holder of the store lease ([`store::hold_lease`]) fires;
//!   the others wait for it to expire. A restarted process keeps its controller id, and so its
//!   lease.
//! - **Each tick fires once.** Before firing, the schedule's next tick is advanced in the store
//!   with a compare-and-set on the revision it was read at; only the writer that wins fires.
//!   This makes a tick at most once: a crash between the write and the fire loses that tick
//!   rather than firing it twice.
//! - **A missed tick fires once.** A tick that passed while no process was running is fired
//!   once at start, and the schedule continues with its first tick after now.
//! - **Stopping.** A deleted schedule is gone from the store and is never fired; a trigger that
//!   no longer exists, or a key that no longer authenticates, disables the schedule with
//!   upstream's reason, as does the last tick before a stop date, a `once` alarm after it fired
//!   and `maxTriggers` reached.

use std::collections::HashMap;
use std::time::Duration;

use whirl_core::entity::WhiskTrigger;
use whirl_core::names::FullyQualifiedName;
use whirl_core::{ids, now_millis};
use whirl_store::{EntityKind, StoreError};

use super::schedule::{Kind, Schedule};
use super::store::{self, Stored};
use crate::auth;
use crate::domain::{fire, Error};
use crate::entities::load;
use crate::AppState;

/// How long the lease lasts without renewal, and how often a process that does not hold it
/// tries again.
const LEASE_TTL_MS: i64 = 10_000;
const LEASE_RETRY: Duration = Duration::from_secs(2);
/// The longest the scheduler sleeps: schedules written by another process are picked up at
/// least this often (those written here wake it at once).
const RESCAN: Duration = Duration::from_secs(1);
/// A fire refused with 429 is tried again this many times, a second apart (upstream retries).
const THROTTLE_RETRIES: u32 = 3;

/// Run the scheduler until the process ends.
pub async fn run(state: AppState) {
    let holder = state.inner.activations.controller().to_string();
    let mut leased_until = 0_i64;
    loop {
        let now = now_millis();
        if leased_until - now < LEASE_TTL_MS / 2 {
            match store::hold_lease(state.stores(), &holder, LEASE_TTL_MS).await {
                Ok(true) => leased_until = now + LEASE_TTL_MS,
                Ok(false) => leased_until = 0,
                Err(e) => {
                    tracing::warn!(error = %e, "alarm lease: store unavailable");
                    leased_until = 0;
                }
            }
        }
        if leased_until <= now {
            tokio::select! {
                _ = tokio::time::sleep(LEASE_RETRY) => {}
                _ = state.inner.alarms.wake.notified() => {}
            }
            continue;
        }
        let wait = match tick(&state).await {
            Some(next) => {
                Duration::from_millis(u64::try_from((next - now_millis()).max(0)).unwrap_or(0))
            }
            None => RESCAN,
        }
        .min(RESCAN);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = state.inner.alarms.wake.notified() => {}
        }
    }
}

/// Fire every due schedule; returns the earliest tick still to come.
async fn tick(state: &AppState) -> Option<i64> {
    let all = match store::list(state.stores()).await {
        Ok(all) => all,
        Err(e) => {
            tracing::warn!(error = %e, "alarm schedules: store unavailable");
            return None;
        }
    };
    let now = now_millis();
    let mut earliest: Option<i64> = None;
    let mut due = Vec::new();
    for s in all {
        if !s.schedule.status.active {
            continue;
        }
        match s.schedule.next {
            Some(at) if at <= now => due.push(s),
            Some(at) => earliest = Some(earliest.map_or(at, |e| e.min(at))),
            None => {}
        }
    }
    for s in due {
        if let Some(next) = take_tick(state, s, now).await {
            earliest = Some(earliest.map_or(next, |e| e.min(next)));
        }
    }
    earliest
}

/// Advance a due schedule in the store and, if this process won the write, fire its trigger.
/// Returns the schedule's next tick.
async fn take_tick(state: &AppState, stored: Stored, now: i64) -> Option<i64> {
    let Stored { rev, schedule, .. } = stored;
    let tick = schedule.next?;
    let mut s = schedule.clone();
    s.last_fired = Some(tick);
    // The first tick after now: a run of missed ticks collapses into this one fire.
    s.next = s.tick_after(now.max(tick));
    if let Some(left) = s.triggers_left.as_mut() {
        *left -= 1;
    }
    let kind = s.kind;
    match kind {
        Kind::Once if !deletes_after_fire(&s) => {
            s.disable(now, None, "Automatically disabled after firing once")
        }
        Kind::Once => s.next = None,
        Kind::Cron if s.stop_date.is_some() && s.next.is_none() => s.disable(
            now,
            None,
            "Automatically disabled after firing last scheduled cron trigger",
        ),
        Kind::Interval if s.stop_date.is_some() && s.next.is_none() => s.disable(
            now,
            None,
            "Automatically disabled after firing last scheduled interval trigger",
        ),
        _ if s.triggers_left == Some(0) => s.disable(
            now,
            None,
            "Automatically disabled after reaching max triggers",
        ),
        _ => {}
    }
    let new_rev = match store::put(state.stores(), &s, Some(rev)).await {
        Ok(r) => r,
        // Changed, deleted or fired meanwhile (by the API or another process): not ours.
        Err(StoreError::Conflict | StoreError::NotFound) => return None,
        Err(e) => {
            tracing::warn!(error = %e, trigger = %s.name, "alarm: cannot advance the schedule");
            return None;
        }
    };
    let next = s.next;
    let st = state.clone();
    tokio::spawn(async move { fire_and_settle(st, s, new_rev, tick).await });
    next
}

fn deletes_after_fire(s: &Schedule) -> bool {
    matches!(s.delete_after_fire.as_deref(), Some("true" | "rules"))
}

/// Fire the trigger of `s` for `tick`; then disable the schedule if the fire showed the
/// trigger or the key to be gone, or delete what a `once` alarm deletes after firing.
async fn fire_and_settle(state: AppState, s: Schedule, rev: u64, tick: i64) {
    let outcome = fire_with_retries(&state, &s).await;
    let lateness = now_millis() - tick;
    match &outcome {
        Ok(()) => {
            tracing::debug!(trigger = %s.name, namespace = %s.namespace, lateness, "alarm fired")
        }
        Err((code, message)) => {
            tracing::info!(trigger = %s.name, namespace = %s.namespace, code, %message, "alarm fire refused")
        }
    }
    if let Err((code, message)) = outcome {
        // Upstream disables a trigger on a 4xx other than 408, 409 and 429.
        if (400..500).contains(&code) && ![408, 409, 429].contains(&code) {
            let mut d = s.clone();
            d.disable(
                now_millis(),
                Some(code),
                &format!("Trigger automatically disabled: {message}"),
            );
            if let Err(e) = store::put(state.stores(), &d, Some(rev)).await {
                tracing::debug!(error = %e, "alarm: schedule changed before it could be disabled");
            }
            state.inner.alarms.changed();
            return;
        }
    }
    if s.kind == Kind::Once && deletes_after_fire(&s) {
        delete_after_fire(&state, &s, rev).await;
    }
}

async fn fire_with_retries(state: &AppState, s: &Schedule) -> Result<(), (u16, String)> {
    let mut attempt = 0;
    loop {
        match fire_once(state, s).await {
            Err((429, _)) if attempt < THROTTLE_RETRIES => {
                attempt += 1;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            other => return other,
        }
    }
}

async fn fire_once(state: &AppState, s: &Schedule) -> Result<(), (u16, String)> {
    let who = match auth::identify(state, &s.apikey).await {
        Ok(Some(who)) => who,
        Ok(None) => {
            return Err((
                401,
                "Received a 401 status code when firing the trigger".into(),
            ))
        }
        Err(e) => return Err((e.status.as_u16(), e.message.clone())),
    };
    let trigger = FullyQualifiedName::new(&s.namespace, None, &s.name);
    let tid = ids::new_transaction_id();
    match fire::fire_trigger(state, &who, &trigger, s.payload.clone(), &tid).await {
        Ok(_) => Ok(()),
        Err(e) => Err((status_of(&e), e.message())),
    }
}

fn status_of(e: &Error) -> u16 {
    crate::error::ApiError::from(e.clone()).status.as_u16()
}

/// `deleteAfterFire`: remove the schedule and the trigger, and with `rules` the trigger's
/// rules too (upstream's sanitizer).
async fn delete_after_fire(state: &AppState, s: &Schedule, rev: u64) {
    let stores = state.stores();
    let id = store::doc_id(&s.namespace, &s.name);
    if let Err(e) = stores.entities.delete(&id, rev).await {
        tracing::debug!(error = %e, "alarm: schedule already changed; not deleting");
        return;
    }
    let trigger_id = format!("{}/{}", s.namespace, s.name);
    let Ok(Some(t)) = load::<WhiskTrigger>(state, EntityKind::Trigger, &trigger_id, false).await
    else {
        return;
    };
    if s.delete_after_fire.as_deref() == Some("rules") {
        let rules: HashMap<String, _> = t
            .entity
            .rules
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect();
        for rule in rules.keys() {
            if let Ok(Some(r)) = stores.entities.get(rule, false).await {
                if let Err(e) = stores.entities.delete(rule, r.rev).await {
                    tracing::warn!(error = %e, %rule, "alarm: cannot delete a rule after firing");
                }
            }
        }
    }
    if let Err(e) = stores.entities.delete(&trigger_id, t.rev).await {
        tracing::warn!(error = %e, trigger = %trigger_id, "alarm: cannot delete the trigger after firing");
    }
}
