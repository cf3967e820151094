//! Compositions the controller runs itself, on top of [`crate::invocation`]: sequences now,
//! conductor actions next (`conductor.rs`). A composition's own record is written by the
//! controller, which therefore owns its pending marker.

pub mod sequence;
