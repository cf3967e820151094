//! Entity names, namespace paths and fully qualified names (spec §1.1).

use std::fmt;
use std::sync::OnceLock;

use regex::Regex;

use crate::messages;

/// Maximum length of one name segment.
pub const MAX_NAME_LENGTH: usize = 256;

/// The placeholder for the caller's own namespace.
pub const DEFAULT_NAMESPACE: &str = "_";

/// Why a name or path was rejected; the message is the one OpenWhisk returns with 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("{}", messages::ENTITY_ILLEGAL_CHARS)]
    IllegalEntity,
    #[error("{}", messages::NAMESPACE_ILLEGAL_CHARS)]
    IllegalNamespace,
    #[error("{}", messages::name_too_long(*.0, MAX_NAME_LENGTH))]
    TooLong(usize),
}

fn name_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        // \w is ASCII-only in OpenWhisk (Java regex without UNICODE_CHARACTER_CLASS).
        #[allow(clippy::expect_used)]
        // A constant pattern: failing to compile is a programming error caught by the unit tests.
        Regex::new(r"\A(?:[A-Za-z0-9_]|[A-Za-z0-9_][A-Za-z0-9_@ .&-]*[A-Za-z0-9_@.&-])\z")
            .expect("constant regex")
    })
}

/// Validate one entity name segment.
pub fn validate_name(name: &str) -> Result<(), NameError> {
    if name.chars().count() > MAX_NAME_LENGTH {
        return Err(NameError::TooLong(name.chars().count()));
    }
    if name_regex().is_match(name) {
        Ok(())
    } else {
        Err(NameError::IllegalEntity)
    }
}

/// Validate one namespace segment (same rule, different message).
pub fn validate_namespace(ns: &str) -> Result<(), NameError> {
    match validate_name(ns) {
        Err(NameError::IllegalEntity) => Err(NameError::IllegalNamespace),
        other => other,
    }
}

/// A fully qualified entity name: `namespace[/package]/name`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FullyQualifiedName {
    pub namespace: String,
    pub package: Option<String>,
    pub name: String,
}

impl FullyQualifiedName {
    pub fn new(
        namespace: impl Into<String>,
        package: Option<String>,
        name: impl Into<String>,
    ) -> Self {
        Self {
            namespace: namespace.into(),
            package,
            name: name.into(),
        }
    }

    /// The entity path: `ns` or `ns/pkg`.
    pub fn path(&self) -> String {
        match &self.package {
            Some(p) => format!("{}/{}", self.namespace, p),
            None => self.namespace.clone(),
        }
    }

    /// The store document id: `ns[/pkg]/name`.
    pub fn doc_id(&self) -> String {
        format!("{}/{}", self.path(), self.name)
    }

    /// Parse a qualified name as the CLI and rule/sequence bodies write it, resolving `_` and a
    /// missing namespace to `default_ns`:
    /// `/ns/name`, `/ns/pkg/name`, `pkg/name` (default namespace), `name`, `ns/pkg/name`.
    pub fn parse(s: &str, default_ns: &str) -> Result<Self, NameError> {
        let absolute = s.starts_with('/');
        let parts: Vec<&str> = s.trim_start_matches('/').split('/').collect();
        let (ns, pkg, name) = match (absolute, parts.as_slice()) {
            (_, [name]) => (default_ns, None, *name),
            (true, [ns, name]) => (*ns, None, *name),
            (false, [pkg, name]) => (default_ns, Some(*pkg), *name),
            (_, [ns, pkg, name]) => (*ns, Some(*pkg), *name),
            _ => return Err(NameError::IllegalEntity),
        };
        let ns = if ns == DEFAULT_NAMESPACE {
            default_ns
        } else {
            ns
        };
        validate_namespace(ns)?;
        if let Some(p) = pkg {
            validate_name(p)?;
        }
        validate_name(name)?;
        Ok(Self::new(ns, pkg.map(str::to_string), name))
    }

    /// Parse a document id or path-like `ns[/pkg]/name` (no default namespace).
    pub fn from_doc_id(id: &str) -> Option<Self> {
        let parts: Vec<&str> = id.split('/').collect();
        match parts.as_slice() {
            [ns, name] => Some(Self::new(*ns, None, *name)),
            [ns, pkg, name] => Some(Self::new(*ns, Some((*pkg).to_string()), *name)),
            _ => None,
        }
    }
}

impl fmt::Display for FullyQualifiedName {
    /// `/ns[/pkg]/name`, the form used in sequences, rules and `__OW_ACTION_NAME`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "/{}", self.doc_id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(validate_name("hello").is_ok());
        assert!(validate_name("a").is_ok());
        assert!(validate_name("hello world&co@x.y-z").is_ok());
        assert_eq!(validate_name("trailing "), Err(NameError::IllegalEntity));
        assert_eq!(validate_name(".."), Err(NameError::IllegalEntity));
        assert_eq!(validate_name("a/b"), Err(NameError::IllegalEntity));
        assert_eq!(validate_name("a\u{1}b"), Err(NameError::IllegalEntity));
        assert_eq!(validate_name(""), Err(NameError::IllegalEntity));
        assert!(validate_name(&"a".repeat(256)).is_ok());
        assert_eq!(
            validate_name(&"a".repeat(257)),
            Err(NameError::TooLong(257))
        );
        assert_eq!(validate_namespace("-x"), Err(NameError::IllegalNamespace));
    }

    #[test]
    fn qualified() {
        let q = FullyQualifiedName::parse("/_/pkg/a", "guest").unwrap();
        assert_eq!(q.doc_id(), "guest/pkg/a");
        let q = FullyQualifiedName::parse("pkg/a", "guest").unwrap();
        assert_eq!(q.to_string(), "/guest/pkg/a");
        let q = FullyQualifiedName::parse("/other/a", "guest").unwrap();
        assert_eq!(q.path(), "other");
        assert!(FullyQualifiedName::parse("/a/b/c/d", "guest").is_err());
        assert!(FullyQualifiedName::parse("", "guest").is_err());
    }
}
