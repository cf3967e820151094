//! The controller's logic apart from HTTP: what the routes do once a request is parsed, callable
//! without a request (the alarms feed fires triggers from a scheduler). Domain functions return
//! [`Error`], which carries OpenWhisk's message; `crate::error` maps it to the status and the
//! `{"error", "code"}` body once, in `impl From<Error> for ApiError`.

use whirl_core::messages;
use whirl_store::StoreError;

pub mod fire;

/// A rule's status, as recorded in its trigger.
pub const ACTIVE: &str = "active";
pub const INACTIVE: &str = "inactive";

/// Why a controller operation was refused or failed. The message of each variant is the text
/// OpenWhisk shows for it (from `whirl_core::messages`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The request is invalid (400).
    #[error("{0}")]
    Invalid(String),
    /// The caller may not do this (403); the message names what is refused.
    #[error("{0}")]
    Forbidden(String),
    /// The entity does not exist (404).
    #[error("{}", messages::RESOURCE_DOES_NOT_EXIST)]
    NotFound,
    /// The entity exists, is of another collection or was modified concurrently (409).
    #[error("{0}")]
    Conflict(String),
    /// A field or the payload is larger than allowed (413).
    #[error("{0}")]
    TooLarge(String),
    /// The request is well formed but cannot be processed, e.g. a binding to itself (422).
    #[error("{0}")]
    Unprocessable(String),
    /// A namespace throttle refused the request (429).
    #[error("{0}")]
    Throttled(String),
    /// No invoker can take the activation, or the bus is down (503).
    #[error("{}", messages::SERVICE_UNAVAILABLE)]
    Unavailable,
    /// Anything else; the details are logged where they happen, never shown (500).
    #[error("{}", messages::INTERNAL_SERVER_ERROR)]
    Internal,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// 403 for a resource (fully qualified name or namespace) of someone else.
    pub fn not_authorized(resource: &str) -> Self {
        Self::Forbidden(messages::not_authorized(resource))
    }

    /// The OpenWhisk message.
    pub fn message(&self) -> String {
        self.to_string()
    }

    /// Whether the platform, not the caller, is at fault (OpenWhisk's `WhiskError` class).
    pub fn is_server_error(&self) -> bool {
        matches!(self, Self::Unavailable | Self::Internal)
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::NotFound,
            StoreError::AlreadyExists => Self::Conflict(messages::RESOURCE_EXISTS.into()),
            StoreError::Conflict => Self::Conflict(messages::CONFLICT_DETECTED.into()),
            StoreError::Backend(detail) => {
                // Details stay in the server log; clients get the generic text.
                tracing::error!(%detail, "store failure");
                Self::Internal
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_openwhisk_texts() {
        assert_eq!(
            Error::NotFound.message(),
            "The requested resource does not exist."
        );
        assert_eq!(
            Error::not_authorized("ns/t").message(),
            "The supplied authentication is not authorized to access 'ns/t'."
        );
        assert!(Error::Unavailable.is_server_error());
        assert!(!Error::Throttled("x".into()).is_server_error());
        assert_eq!(
            Error::from(StoreError::Conflict),
            Error::Conflict(messages::CONFLICT_DETECTED.into())
        );
    }
}
