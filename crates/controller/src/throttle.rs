//! Per-namespace throttles (spec §3.9): invocations per minute, triggers fired per minute (fixed
//! wall-clock minute windows; rejected requests count too), and activations in flight.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::http::StatusCode;
use whirl_core::limits::NamespaceLimits;
use whirl_core::messages;

use crate::error::ApiError;

#[derive(Debug, Default)]
struct Counters {
    minute: i64,
    invocations: u64,
    fires: u64,
    in_flight: u64,
}

/// Throttle state of every namespace.
#[derive(Debug, Default)]
pub struct Throttles {
    counters: Mutex<HashMap<String, Counters>>,
    /// How many controllers share each limit (0 or 1: this one alone).
    controllers: u32,
}

/// Which per-minute counter a check uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rate {
    Invocations,
    Fires,
}

/// A namespace's override, or the default; an override of 0 refuses everything (OpenWhisk's
/// "underzero" 429).
fn limit_of(value: Option<u64>, default: u64) -> Result<u64, ApiError> {
    match value {
        Some(0) => Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            messages::NAMESPACE_LIMIT_UNDERZERO,
        )),
        Some(n) => Ok(n),
        None => Ok(default),
    }
}

impl Throttles {
    /// Throttles of one of `controllers` controllers: each enforces its share of a limit,
    /// dilated by 1.2 when there are several (OpenWhisk's division of limits over the
    /// controllers, which the sharding of traffic makes uneven), and at least 1.
    pub fn shared_by(controllers: u32) -> Self {
        Self {
            counters: Mutex::default(),
            controllers,
        }
    }

    /// This controller's share of `limit`.
    fn share(&self, limit: u64) -> u64 {
        if self.controllers <= 1 {
            return limit;
        }
        let share = limit as f64 / f64::from(self.controllers) * 1.2;
        (share.ceil() as u64).clamp(1, limit.max(1))
    }

    fn with<T>(&self, ns: &str, f: impl FnOnce(&mut Counters) -> T) -> T {
        let mut map = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        let c = map.entry(ns.to_string()).or_default();
        let minute = whirl_core::now_millis() / 60_000;
        if c.minute != minute {
            c.minute = minute;
            c.invocations = 0;
            c.fires = 0;
        }
        f(c)
    }

    /// Count one request against the per-minute limit; 429 when over.
    pub fn check_rate(
        &self,
        ns: &str,
        rate: Rate,
        overrides: &NamespaceLimits,
        default: u64,
    ) -> Result<(), ApiError> {
        let value = match rate {
            Rate::Invocations => overrides.invocations_per_minute,
            Rate::Fires => overrides.fires_per_minute,
        };
        let allowed = self.share(limit_of(value, default)?);
        let count = self.with(ns, |c| {
            let counter = match rate {
                Rate::Invocations => &mut c.invocations,
                Rate::Fires => &mut c.fires,
            };
            *counter += 1;
            *counter
        });
        if count > allowed {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                messages::too_many_requests(count, allowed),
            ));
        }
        Ok(())
    }

    /// 429 when the namespace already has its maximum of activations in flight.
    pub fn check_concurrency(
        &self,
        ns: &str,
        overrides: &NamespaceLimits,
        default: u64,
    ) -> Result<(), ApiError> {
        let allowed = self.share(limit_of(overrides.concurrent_invocations, default)?);
        let count = self.with(ns, |c| c.in_flight);
        if count >= allowed {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                messages::too_many_concurrent(count, allowed),
            ));
        }
        Ok(())
    }

    /// An activation of `ns` was handed to an invoker.
    pub fn started(&self, ns: &str) {
        self.with(ns, |c| c.in_flight += 1);
    }

    /// An activation of `ns` completed.
    pub fn completed(&self, ns: &str) {
        self.with(ns, |c| c.in_flight = c.in_flight.saturating_sub(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_and_concurrency() {
        let t = Throttles::default();
        let o = NamespaceLimits::default();
        assert!(t.check_rate("a", Rate::Invocations, &o, 2).is_ok());
        assert!(t.check_rate("a", Rate::Invocations, &o, 2).is_ok());
        let e = t.check_rate("a", Rate::Invocations, &o, 2).unwrap_err();
        assert_eq!(
            e.message,
            "Too many requests in the last minute (count: 3, allowed: 2)."
        );
        assert!(t.check_rate("a", Rate::Fires, &o, 2).is_ok());
        t.started("a");
        let e = t.check_concurrency("a", &o, 1).unwrap_err();
        assert_eq!(
            e.message,
            "Too many concurrent requests in flight (count: 1, allowed: 1)."
        );
        t.completed("a");
        assert!(t.check_concurrency("a", &o, 1).is_ok());
        let zero = NamespaceLimits {
            concurrent_invocations: Some(0),
            ..Default::default()
        };
        assert_eq!(
            t.check_concurrency("a", &zero, 5).unwrap_err().message,
            messages::NAMESPACE_LIMIT_UNDERZERO
        );
    }
}
