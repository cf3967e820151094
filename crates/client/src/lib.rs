//! whirl-client
