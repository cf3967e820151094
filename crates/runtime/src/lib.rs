//! whirl-runtime
