//! Former home of [`crate::invocation`]; kept while callers move over.

pub use crate::invocation::*;
