//! Keeping credentials out of errors and logs: a bus URL may carry `user:password@` or a token.

/// The server list of `url` as it may be shown: each `scheme://user:pass@host:port` becomes
/// `scheme://***@host:port`.
pub(crate) fn redact_url(url: &str) -> String {
    url.split(',')
        .map(|one| {
            let one = one.trim();
            let (scheme, rest) = match one.find("://") {
                Some(i) => (&one[..i + 3], &one[i + 3..]),
                None => ("", one),
            };
            match rest.rfind('@') {
                Some(at) => format!("{scheme}***@{}", &rest[at + 1..]),
                None => one.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The secrets in `url` (user info, password, token), longest first, to scrub from messages.
pub(crate) fn secrets(url: &str) -> Vec<String> {
    let mut out = Vec::new();
    for one in url.split(',') {
        let one = one.trim();
        let rest = one.find("://").map_or(one, |i| &one[i + 3..]);
        if let Some(at) = rest.rfind('@') {
            let userinfo = &rest[..at];
            out.push(userinfo.to_string());
            out.extend(userinfo.split(':').map(str::to_string));
        }
    }
    let decoded: Vec<String> = out.iter().map(|s| percent_decode(s)).collect();
    out.extend(decoded);
    out.retain(|s| !s.is_empty());
    out.sort_by_key(|s| std::cmp::Reverse(s.len()));
    out.dedup();
    out
}

/// `%XX` escapes of a URL's user info decoded (invalid escapes are kept as they are).
pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `message` with every secret replaced by `***`.
pub(crate) fn scrub(message: &str, secrets: &[String]) -> String {
    let mut m = message.to_string();
    for s in secrets {
        m = m.replace(s.as_str(), "***");
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_user_info() {
        assert_eq!(
            redact_url("nats://alice:s3cret@10.0.0.1:4222"),
            "nats://***@10.0.0.1:4222"
        );
        assert_eq!(redact_url("tok@host:1"), "***@host:1");
        assert_eq!(
            redact_url("nats://h:1, nats://u:p@h2:2"),
            "nats://h:1,nats://***@h2:2"
        );
        assert_eq!(redact_url("nats://127.0.0.1:4222"), "nats://127.0.0.1:4222");
    }

    #[test]
    fn user_info_is_percent_decoded() {
        assert_eq!(percent_decode("p%40ss%3Aw"), "p@ss:w");
        assert_eq!(percent_decode("plain"), "plain");
        assert_eq!(percent_decode("bad%zz%4"), "bad%zz%4");
        let s = secrets("nats://u:p%40ss@h:1");
        assert!(s.contains(&"p@ss".to_string()) && s.contains(&"p%40ss".to_string()));
    }

    #[test]
    fn secrets_are_scrubbed_from_messages() {
        let s = secrets("nats://alice:s3cret@h:1,nats://T0KEN@h2:2");
        let m = scrub("auth alice:s3cret failed; token T0KEN; pw s3cret", &s);
        assert!(
            !m.contains("s3cret") && !m.contains("T0KEN") && !m.contains("alice"),
            "{m}"
        );
        assert!(secrets("nats://h:1").is_empty());
    }
}
