//! whirl-core
