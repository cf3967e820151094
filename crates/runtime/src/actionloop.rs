//! The ActionLoop framing: how init and run requests become lines, and how a reply line becomes
//! an activation status and result.
//!
//! The launcher (or an ActionLoop proxy) reads one JSON line per request and answers one line.
//! A reply that starts with [`DEV_ERROR_PREFIX`] (`!{"error":..}`) is a developer error the
//! launcher detected itself (synchronous throw, non-dictionary result, bad code): no JSON text
//! starts with `!`, so raw results stay unambiguous. Executables (native actions) have no such
//! convention: their last output line is the result as is.

use std::path::Path;

use serde_json::{json, Value};

use crate::logs::CappedLine;
use crate::{messages, ActivationStatus, InitRequest, RunRequest, MAX_RESULT_BYTES};

/// First byte of a reply that reports a developer error detected by the launcher.
pub const DEV_ERROR_PREFIX: u8 = b'!';

/// Whether a line is the launcher's ready line (`{"ok":true}` written once it has started).
pub fn is_ready(line: &[u8]) -> bool {
    line.starts_with(b"{\"ok\"")
}

/// Whether an init reply reports success (`{"ok":true}`).
pub fn is_init_ok(line: &[u8]) -> bool {
    line.starts_with(b"{\"ok\":true}")
}

/// The entry point of an init request: `main` when none is given.
pub fn entry_point(req: &InitRequest) -> &str {
    if req.main.is_empty() {
        "main"
    } else {
        &req.main
    }
}

/// The init line `{"init":{"name","main","dir","src","file","env"}}` + newline: `dir` is where
/// the action runs from, `src` where the launcher copies the code from first (if it does), `file`
/// the single source file the backend wrote (none for an archive). With a concurrency above 1
/// the line also carries `"concurrency": N`, which switches the launcher to concurrent framing
/// (see [`run_line_concurrent`]).
pub fn init_line(req: &InitRequest, dir: &Path, src: Option<&Path>, file: Option<&str>) -> Vec<u8> {
    let mut init = json!({
        "name": req.name,
        "main": entry_point(req),
        "dir": dir,
        "src": src,
        "file": file,
        "env": req.env,
    });
    if req.concurrency > 1 {
        init["concurrency"] = json!(req.concurrency);
    }
    let msg = json!({ "init": init });
    let mut v = msg.to_string().into_bytes();
    v.push(b'\n');
    v
}

/// Appends a raw JSON value on one line: newlines in raw JSON are only whitespace, so they can
/// become spaces without re-parsing the payload.
pub fn push_one_line(out: &mut Vec<u8>, raw: &str) {
    out.extend(
        raw.bytes()
            .map(|b| if b == b'\n' || b == b'\r' { b' ' } else { b }),
    );
}

/// The run line `{"value":<raw input>,"namespace":..,...}` + newline. The input is passed
/// through without re-parsing.
pub fn run_line(req: &RunRequest) -> Vec<u8> {
    let raw = req.value.get();
    let mut out = Vec::with_capacity(raw.len() + 512);
    let env = serde_json::to_string(&req.env).unwrap_or_else(|_| "{}".into());
    out.extend_from_slice(b"{\"value\":");
    push_one_line(&mut out, raw);
    if env.len() > 2 {
        out.push(b',');
        out.extend_from_slice(&env.as_bytes()[1..]);
    } else {
        out.push(b'}');
    }
    out.push(b'\n');
    out
}

/// The run line of a launcher in concurrent framing: [`run_line`] with `"seq": n` first, the
/// number the launcher tags the reply and every log line of this activation with (the reply is
/// `<seq> <reply>` on fd 3; a log line is [`LOG_TAG`]`<seq>`[`LOG_TAG`]`<text>`, its sentinel
/// likewise).
pub fn run_line_concurrent(req: &RunRequest, seq: u64) -> Vec<u8> {
    let plain = run_line(req);
    let mut out = Vec::with_capacity(plain.len() + 24);
    out.extend_from_slice(format!("{{\"seq\":{seq},").as_bytes());
    out.extend_from_slice(&plain[1..]);
    out
}

/// Delimits the activation number that starts a log line in concurrent framing (a control
/// character that a log line of an action starts with only if it writes it itself).
pub const LOG_TAG: char = '\u{1}';

/// Splits a reply line of concurrent framing into the activation number and the reply proper.
pub fn split_concurrent_reply(line: &CappedLine) -> Option<(u64, CappedLine)> {
    let space = line.bytes.iter().position(|&b| b == b' ')?;
    let seq = std::str::from_utf8(&line.bytes[..space])
        .ok()?
        .parse()
        .ok()?;
    let rest = line.bytes[space + 1..].to_vec();
    let total = line.total.saturating_sub(space + 1);
    Some((seq, CappedLine { bytes: rest, total }))
}

/// Splits a log line of concurrent framing into the activation number and the text; `None`
/// for a line written outside any activation.
pub fn split_tagged_log(text: &str) -> Option<(u64, &str)> {
    let rest = text.strip_prefix(LOG_TAG)?;
    let (seq, text) = rest.split_once(LOG_TAG)?;
    Some((seq.parse().ok()?, text))
}

/// Who produced a run reply, which decides how it is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replier {
    /// A language launcher speaking ActionLoop: `!` marks a developer error, a reply that is not
    /// JSON is an invalid response.
    Launcher,
    /// An executable (native action): the last output line is the result as is; anything but a
    /// JSON object or array is "did not return a dictionary".
    Executable,
}

/// Turns a run reply into status + result (OpenWhisk's `processRunResponseContent`, plus the
/// `!` convention): an object with an `error` field is an application error, other objects and
/// arrays are a success, a reply longer than [`MAX_RESULT_BYTES`] is an application error with
/// the truncated text.
pub fn classify_run_reply(line: &CappedLine, replier: Replier) -> (ActivationStatus, Value) {
    let executable = replier == Replier::Executable;
    if !executable && line.bytes.first() == Some(&DEV_ERROR_PREFIX) {
        let body = &line.bytes[1..];
        let v = match serde_json::from_slice::<Value>(body) {
            Ok(v) if v.get("error").is_some() => v,
            _ => json!({ "error": String::from_utf8_lossy(body) }),
        };
        return (ActivationStatus::DeveloperError, v);
    }
    if line.total > MAX_RESULT_BYTES {
        let trunk = String::from_utf8_lossy(&line.bytes);
        let msg = messages::truncated_response(&trunk, line.total, MAX_RESULT_BYTES);
        return (ActivationStatus::ApplicationError, json!({ "error": msg }));
    }
    match serde_json::from_slice::<Value>(&line.bytes) {
        Ok(v @ Value::Object(_)) => {
            if v.get("error").is_some() {
                (ActivationStatus::ApplicationError, v)
            } else {
                (ActivationStatus::Success, v)
            }
        }
        Ok(v @ Value::Array(_)) => (ActivationStatus::Success, v),
        _ if executable => (
            ActivationStatus::DeveloperError,
            json!({ "error": messages::NOT_A_DICTIONARY }),
        ),
        _ => (
            ActivationStatus::DeveloperError,
            json!({ "error": messages::invalid_run_response(&String::from_utf8_lossy(&line.bytes)) }),
        ),
    }
}

/// The result of a failed init from its reply (anything but [`is_init_ok`]): the reply's own
/// `{"error": ..}` (with or without the `!` prefix), else the reply text wrapped in
/// "The action failed during initialization: ..".
pub fn init_failure_result(line: &[u8]) -> Value {
    let body = line.strip_prefix(&[DEV_ERROR_PREFIX]).unwrap_or(line);
    match serde_json::from_slice::<Value>(body) {
        Ok(v) if v.get("error").is_some() => v,
        _ => json!({ "error": format!(
            "The action failed during initialization: {}",
            String::from_utf8_lossy(body)
        ) }),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::ActivationEnv;

    fn line(s: &str) -> CappedLine {
        CappedLine {
            bytes: s.as_bytes().to_vec(),
            total: s.len(),
        }
    }

    #[test]
    fn concurrent_framing() {
        let req = RunRequest::from_value(&json!({"a": 1}), ActivationEnv::default());
        let l = run_line_concurrent(&req, 42);
        assert!(l.ends_with(b"\n"));
        let v: Value = serde_json::from_slice(&l).unwrap();
        assert_eq!(v["seq"], 42);
        assert_eq!(v["value"], json!({"a": 1}));
        let (seq, rest) = split_concurrent_reply(&line("7 {\"x\":1}")).unwrap();
        assert_eq!(
            (seq, rest.bytes.as_slice(), rest.total),
            (7, &b"{\"x\":1}"[..], 7)
        );
        assert!(split_concurrent_reply(&line("{\"x\":1}")).is_none());
        assert_eq!(split_tagged_log("\u{1}3\u{1}hello"), Some((3, "hello")));
        assert_eq!(split_tagged_log("\u{1}3\u{1}"), Some((3, "")));
        assert_eq!(split_tagged_log("hello"), None);
        assert_eq!(split_tagged_log("\u{1}x\u{1}hello"), None);
        let req = InitRequest {
            concurrency: 5,
            ..Default::default()
        };
        let v: Value =
            serde_json::from_slice(&init_line(&req, Path::new("/action"), None, None)).unwrap();
        assert_eq!(v["init"]["concurrency"], 5);
    }

    #[test]
    fn run_replies() {
        let l = Replier::Launcher;
        assert_eq!(
            classify_run_reply(&line(r#"{"a":1}"#), l),
            (ActivationStatus::Success, json!({"a": 1}))
        );
        assert_eq!(
            classify_run_reply(&line("[1]"), l),
            (ActivationStatus::Success, json!([1]))
        );
        assert_eq!(
            classify_run_reply(&line(r#"{"error":{"error":"x"}}"#), l),
            (
                ActivationStatus::ApplicationError,
                json!({"error": {"error": "x"}})
            )
        );
        assert_eq!(
            classify_run_reply(&line(r#"!{"error":"boom"}"#), l),
            (ActivationStatus::DeveloperError, json!({"error": "boom"}))
        );
        assert_eq!(
            classify_run_reply(&line("!oops"), l),
            (ActivationStatus::DeveloperError, json!({"error": "oops"}))
        );
        assert_eq!(
            classify_run_reply(&line("42"), l),
            (
                ActivationStatus::DeveloperError,
                json!({"error": "The action did not produce a valid JSON or JSON Array response: 42"})
            )
        );
        // Executables: no `!` convention, and a non-object is "not a dictionary".
        assert_eq!(
            classify_run_reply(&line("hello"), Replier::Executable),
            (
                ActivationStatus::DeveloperError,
                json!({"error": "The action did not return a dictionary."})
            )
        );
        let big = CappedLine {
            bytes: b"{\"a\":\"xx".to_vec(),
            total: MAX_RESULT_BYTES + 1,
        };
        let (status, result) = classify_run_reply(&big, l);
        assert_eq!(status, ActivationStatus::ApplicationError);
        assert_eq!(
            result["error"],
            "The action produced a response that exceeded the allowed length: 1048577 > 1048576 bytes. The truncated response was: {\"a\":\"xx"
        );
    }

    #[test]
    fn init_replies_and_lines() {
        assert!(is_ready(b"{\"ok\":true}"));
        assert!(is_init_ok(b"{\"ok\":true}"));
        assert!(!is_init_ok(b"!{\"error\":\"x\"}"));
        assert_eq!(
            init_failure_result(b"!{\"error\":\"bad\"}"),
            json!({"error": "bad"})
        );
        assert_eq!(
            init_failure_result(b"nope"),
            json!({"error": "The action failed during initialization: nope"})
        );
        let req = InitRequest {
            name: "a".into(),
            ..Default::default()
        };
        let l = init_line(&req, Path::new("/action"), None, Some("index.js"));
        let v: Value = serde_json::from_slice(&l).unwrap();
        assert!(v["init"].get("concurrency").is_none());
        assert_eq!(v["init"]["main"], "main");
        assert_eq!(v["init"]["dir"], "/action");
        assert_eq!(v["init"]["file"], "index.js");
        assert_eq!(*l.last().unwrap(), b'\n');

        let run = RunRequest::from_value(
            &json!({"x": "a\nb"}),
            ActivationEnv {
                namespace: "guest".into(),
                ..Default::default()
            },
        );
        let l = run_line(&run);
        assert_eq!(l.iter().filter(|&&b| b == b'\n').count(), 1);
        let v: Value = serde_json::from_slice(&l).unwrap();
        assert_eq!(v["value"], json!({"x": "a\nb"}));
        assert_eq!(v["namespace"], "guest");
        assert!(v.get("api_key").is_none());
    }
}
