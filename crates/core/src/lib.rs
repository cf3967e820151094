//! The OpenWhisk entity model shared by every Whirl crate: names and paths, entities and their JSON
//! shapes, limits, semantic versions, ids and the exact user-visible error messages.
//!
//! No I/O and no async here: this crate is pure data and validation, so the controller, the invoker,
//! the stores and the clients agree on one definition of each shape.

pub mod entity;
pub mod ids;
pub mod json;
pub mod keys;
pub mod limits;
pub mod messages;
pub mod names;
pub mod runtimes;
pub mod semver;

/// Milliseconds since the Unix epoch, the unit of every OpenWhisk timestamp.
pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
