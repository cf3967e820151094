//! Stream, consumer and subject names under one prefix, so that several buses (test buses,
//! clusters) share a server without seeing each other.

use whirl_bus::{BusError, ControllerId, InvokerId, Result};

/// The longest prefix accepted: stream names end up as directory names on the server.
const MAX_PREFIX: usize = 64;

#[derive(Debug, Clone)]
pub(crate) struct Names {
    prefix: String,
}

impl Names {
    /// `prefix` must be 1 to 64 ASCII letters, digits, `-` or `_`: it is both a subject token
    /// and part of stream names, where `.`, `*`, `>` and spaces are not allowed.
    pub(crate) fn new(prefix: &str) -> Result<Self> {
        let ok = !prefix.is_empty()
            && prefix.len() <= MAX_PREFIX
            && prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !ok {
            return Err(BusError::Backend(format!(
                "invalid bus prefix {prefix:?}: use 1 to {MAX_PREFIX} ASCII letters, digits, '-' or '_'"
            )));
        }
        Ok(Self {
            prefix: prefix.to_string(),
        })
    }

    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The JetStream stream that holds `invoker`'s activations (OpenWhisk's topic `invoker{N}`).
    pub(crate) fn invoker_stream(&self, invoker: InvokerId) -> String {
        format!("{}-invoker{}", self.prefix, invoker.0)
    }

    /// The durable pull consumer through which `invoker` reads its stream.
    pub(crate) fn invoker_consumer(&self, invoker: InvokerId) -> String {
        format!("invoker{}", invoker.0)
    }

    pub(crate) fn activation_subject(&self, invoker: InvokerId) -> String {
        format!("{}.activation.{}", self.prefix, invoker.0)
    }

    /// Core NATS subject of `controller`'s completions (OpenWhisk's topic `completed{C}`).
    pub(crate) fn completion_subject(&self, controller: ControllerId) -> String {
        format!("{}.completion.{}", self.prefix, controller.0)
    }

    /// Core NATS subject of invoker pings (OpenWhisk's topic `health`).
    pub(crate) fn ping_subject(&self) -> String {
        format!("{}.ping", self.prefix)
    }

    /// The JetStream stream of cache invalidations (OpenWhisk's topic `cacheInvalidation`).
    pub(crate) fn invalidation_stream(&self) -> String {
        format!("{}-invalidations", self.prefix)
    }

    pub(crate) fn invalidation_subject(&self) -> String {
        format!("{}.invalidation", self.prefix)
    }

    /// Core NATS subject of "have you handled invalidation S?" requests (see `coherence`).
    pub(crate) fn invalidation_sync_subject(&self) -> String {
        format!("{}.invalidation_sync", self.prefix)
    }

    /// Core NATS subject where invalidation feeds announce themselves (see `coherence`).
    pub(crate) fn invalidation_feeds_subject(&self) -> String {
        format!("{}.invalidation_feeds", self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_single_safe_tokens() {
        for good in ["whirl", "t-1_x", "A9"] {
            assert!(Names::new(good).is_ok(), "{good}");
        }
        let long = "x".repeat(MAX_PREFIX + 1);
        for bad in ["", "a.b", "a*", "a>", "a b", "a/b", "é", long.as_str()] {
            assert!(Names::new(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn names_are_distinct_per_invoker_and_controller() {
        let n = Names::new("p").unwrap();
        assert_eq!(n.invoker_stream(InvokerId(3)), "p-invoker3");
        assert_eq!(n.activation_subject(InvokerId(3)), "p.activation.3");
        assert_eq!(n.completion_subject(ControllerId(1)), "p.completion.1");
        assert_ne!(
            n.activation_subject(InvokerId(1)),
            n.activation_subject(InvokerId(11))
        );
    }
}
