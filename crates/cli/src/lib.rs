//! whirl-cli
