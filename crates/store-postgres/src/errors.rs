//! Turning driver and pool errors into [`StoreError`]s that never carry a secret.
//!
//! Store errors end up in logs and (as generic 5xx bodies) near clients, so no message built here
//! may contain the connection URL or its password. Our own messages never include them; as a
//! second line of defence every message passes through [`Redactor::clean`], which blanks out the
//! URL and the password (as written in the URL and as decoded) wherever a driver message might
//! have echoed them.

use std::error::Error;
use std::fmt;
use std::sync::Arc;

use whirl_store::StoreError;

/// What replaces a secret in a message.
pub(crate) const REDACTED: &str = "[redacted]";

/// Removes the connection URL and its password from messages.
#[derive(Clone, Default)]
pub(crate) struct Redactor {
    /// Longest first, so a secret containing another is removed whole.
    secrets: Arc<[String]>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redactor").finish_non_exhaustive()
    }
}

impl Redactor {
    /// A redactor for `url` and, if known, the decoded `password`.
    pub(crate) fn new(url: &str, password: Option<&[u8]>) -> Redactor {
        let mut secrets: Vec<String> = Vec::new();
        let mut add = |s: &str| {
            let s = s.trim();
            if !s.is_empty() && !secrets.iter().any(|known| known == s) {
                secrets.push(s.to_string());
            }
        };
        add(url);
        if let Some(raw) = url_password(url) {
            add(raw);
        }
        if let Some(kv) = keyword_password(url) {
            add(kv);
        }
        if let Some(pw) = password {
            add(&String::from_utf8_lossy(pw));
        }
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Redactor {
            secrets: secrets.into(),
        }
    }

    /// `msg` with every secret replaced by [`REDACTED`].
    pub(crate) fn clean(&self, msg: &str) -> String {
        let mut out = msg.to_string();
        for secret in self.secrets.iter() {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), REDACTED);
            }
        }
        out
    }

    /// `StoreError::Backend("{context}: {e}: {causes}")`, cleaned.
    pub(crate) fn backend(&self, context: &str, e: &dyn Error) -> StoreError {
        StoreError::Backend(self.clean(&format!("{context}: {}", describe(e))))
    }
}

/// An error and its causes on one line. The driver's own `Display` often says only `db error`
/// and keeps the server's message (`FATAL: password authentication failed …`) in its source, so
/// every cause is appended that the text does not already contain.
pub(crate) fn describe(e: &dyn Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !more.is_empty() && !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    text
}

/// The password of a `postgres://user:password@host/db` URL, as written (percent-encoded).
fn url_password(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))?;
    let authority = rest.split(['/', '?']).next()?;
    let (userinfo, _) = authority.rsplit_once('@')?;
    let (_, password) = userinfo.split_once(':')?;
    Some(password)
}

/// The password of a `host=… password=… dbname=…` connection string, as written.
fn keyword_password(dsn: &str) -> Option<&str> {
    let start = dsn.find("password")?;
    let rest = dsn[start + "password".len()..].trim_start();
    let rest = rest.strip_prefix('=')?.trim_start();
    if let Some(quoted) = rest.strip_prefix('\'') {
        return Some(quoted.split('\'').next().unwrap_or(quoted));
    }
    rest.split_whitespace().next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_removed_from_messages() {
        let url = "postgres://whirl:s%40cret-pw@db.example:5432/whirl?sslmode=disable";
        let r = Redactor::new(url, Some(b"s@cret-pw"));
        let msg = format!("connecting to {url}: password s%40cret-pw or s@cret-pw refused");
        let cleaned = r.clean(&msg);
        assert!(!cleaned.contains("cret-pw"), "{cleaned}");
        assert!(!cleaned.contains("db.example:5432/whirl?"), "{cleaned}");
        assert!(cleaned.contains("refused"));

        let dsn = "host=db user=whirl password='two words' dbname=whirl";
        let r = Redactor::new(dsn, Some(b"two words"));
        assert_eq!(
            r.clean("auth for two words failed"),
            format!("auth for {REDACTED} failed")
        );
        let dsn = "host=db password = plain dbname=whirl";
        assert_eq!(keyword_password(dsn), Some("plain"));
        assert_eq!(url_password("postgres://u@h/db"), None);
        assert_eq!(url_password("postgresql://u:p@h/db"), Some("p"));
    }

    #[derive(Debug)]
    struct Outer(std::io::Error);
    impl fmt::Display for Outer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("db error")
        }
    }
    impl Error for Outer {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn causes_are_described() {
        let e = Outer(std::io::Error::other(
            "FATAL: password authentication failed",
        ));
        assert_eq!(
            describe(&e),
            "db error: FATAL: password authentication failed"
        );
    }

    #[test]
    fn debug_shows_no_secret() {
        let r = Redactor::new("postgres://u:hunter2@h/db", None);
        assert!(!format!("{r:?}").contains("hunter2"));
        let e = r.backend(
            "op",
            &std::io::Error::other("failed for postgres://u:hunter2@h/db"),
        );
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }
}
