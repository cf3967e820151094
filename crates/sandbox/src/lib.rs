//! whirl-sandbox
