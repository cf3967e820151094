//! wsk's qualified entity names (`[/ns/][pkg/]name`).

use super::R;
use crate::{messages, CliError};

/// A parsed entity name like wsk's QualifiedName.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QName {
    pub namespace: String,
    pub package: String,
    pub entity: String,
    /// `pkg/entity` or `entity` (what goes in the URL after the collection).
    pub entity_name: String,
}

impl QName {
    pub(crate) fn parse(name: &str, default_ns: &str) -> R<QName> {
        let bad = || CliError::general(messages::invalid_qualified_name(name)).with_usage(true);
        let mut n = name.to_string();
        let parts: Vec<&str> = n.split('/').collect();
        if parts.len() == 3 && !parts[0].is_empty() {
            n = format!("/{n}");
        }
        let parts: Vec<&str> = n.split('/').collect();
        if n.starts_with('/') {
            if parts.len() < 2 || parts.len() > 4 {
                return Err(bad());
            }
            if parts[1..].iter().any(|p| p.is_empty() || *p == ".") {
                return Err(bad());
            }
            Ok(QName {
                namespace: parts[1].to_string(),
                package: if parts.len() == 4 {
                    parts[2].to_string()
                } else {
                    String::new()
                },
                entity: if parts.len() > 2 {
                    parts[parts.len() - 1].to_string()
                } else {
                    String::new()
                },
                entity_name: parts[2..].join("/"),
            })
        } else {
            if n.is_empty() || n == "." || parts.len() > 2 || parts.iter().any(|p| p.is_empty()) {
                return Err(bad());
            }
            Ok(QName {
                namespace: default_ns.to_string(),
                package: if parts.len() == 2 {
                    parts[0].to_string()
                } else {
                    String::new()
                },
                entity: parts[parts.len() - 1].to_string(),
                entity_name: n,
            })
        }
    }

    /// `/ns[/pkg]/entity`.
    pub(crate) fn full(&self) -> String {
        let mut s = String::new();
        if !self.namespace.is_empty() {
            s.push('/');
            s.push_str(&self.namespace);
            s.push('/');
        }
        if !self.package.is_empty() {
            s.push_str(&self.package);
            s.push('/');
        }
        s.push_str(&self.entity);
        s
    }
}

/// wsk's getQualifiedName: `/ns/name` for rule trigger/action and sequence components.
pub(crate) fn qualify(name: &str, ns: &str) -> String {
    let parts: Vec<&str> = name.split('/').collect();
    let name = if parts.len() == 3 && !parts[0].is_empty() {
        format!("/{name}")
    } else {
        name.to_string()
    };
    if name.starts_with('/') {
        name
    } else {
        format!("/{ns}/{name}")
    }
}

pub(super) fn normalize_ns(ns: &str) -> String {
    if ns == "_" {
        "default".to_string()
    } else {
        ns.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qualified_names() {
        let q = QName::parse("hello", "_").unwrap();
        assert_eq!(
            (
                q.namespace.as_str(),
                q.package.as_str(),
                q.entity_name.as_str()
            ),
            ("_", "", "hello")
        );
        let q = QName::parse("pkg/hello", "_").unwrap();
        assert_eq!(
            (
                q.package.as_str(),
                q.entity.as_str(),
                q.entity_name.as_str()
            ),
            ("pkg", "hello", "pkg/hello")
        );
        let q = QName::parse("/guest/pkg/hello", "_").unwrap();
        assert_eq!(
            (q.namespace.as_str(), q.entity_name.as_str()),
            ("guest", "pkg/hello")
        );
        let q = QName::parse("guest/pkg/hello", "_").unwrap();
        assert_eq!(q.namespace, "guest");
        let q = QName::parse("/guest", "_").unwrap();
        assert_eq!(
            (q.namespace.as_str(), q.entity_name.as_str()),
            ("guest", "")
        );
        let q = QName::parse("/guest/t", "_").unwrap();
        assert_eq!(q.full(), "/guest/t");
        assert!(QName::parse("", "_").is_err());
        assert!(QName::parse("/a/b/c/d", "_").is_err());
        assert!(QName::parse("/a//c", "_").is_err());
        assert_eq!(qualify("t", "_"), "/_/t");
        assert_eq!(qualify("ns/p/a", "_"), "/ns/p/a");
        assert_eq!(qualify("/x/a", "_"), "/x/a");
    }
}
