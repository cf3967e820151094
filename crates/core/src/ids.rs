//! Activation and transaction ids.

use rand::distributions::Alphanumeric;
use rand::Rng;

use serde::{Deserialize, Serialize};

use crate::messages;

/// A controller instance (`controller0`, `controller1`, ...): where completions go back to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ControllerId(pub u32);

impl std::fmt::Display for ControllerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "controller{}", self.0)
    }
}

/// An invoker instance (`invoker0`, ...): the owner of the activations sent to it, of their
/// pending markers and of the containers it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct InvokerId(pub u32);

impl std::fmt::Display for InvokerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invoker{}", self.0)
    }
}

/// A new activation id: 32 lowercase hex characters (a random UUIDv4 without dashes).
pub fn new_activation_id() -> String {
    let bytes: [u8; 16] = rand::thread_rng().gen();
    let mut s = String::with_capacity(32);
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// A new transaction id: 32 random alphanumerics.
pub fn new_transaction_id() -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(32)
        .map(char::from)
        .collect()
}

/// Validate an activation id from a URL; the error is OpenWhisk's 400 message.
pub fn validate_activation_id(id: &str) -> Result<(), String> {
    if id.chars().count() != 32 {
        return Err(messages::activation_id_length(id.chars().count()));
    }
    if id.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(messages::INVALID_ACTIVATION_ID.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        let a = new_activation_id();
        assert_eq!(a.len(), 32);
        assert!(validate_activation_id(&a).is_ok());
        assert_eq!(new_transaction_id().len(), 32);
        assert!(validate_activation_id("zz")
            .unwrap_err()
            .contains("length is 2"));
        assert_eq!(
            validate_activation_id(&"g".repeat(32)).unwrap_err(),
            messages::INVALID_ACTIVATION_ID
        );
    }
}
