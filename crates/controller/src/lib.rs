//! whirl-controller
