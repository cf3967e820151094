//! Output helpers: wsk-style pretty JSON, list rows, times and durations.

use serde_json::Value;

/// JSON indented with 4 spaces plus a newline, no HTML escaping (like wsk's printJSON).
pub fn pretty(v: &Value) -> String {
    use serde::Serialize as _;
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    if v.serialize(&mut ser).is_err() {
        return format!("{v}\n");
    }
    let mut s = String::from_utf8_lossy(&buf).into_owned();
    s.push('\n');
    s
}

/// String field of an object.
pub fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

/// Value of `key` in a `[{key, value}]` array.
pub fn kv_get<'a>(arr: Option<&'a Value>, key: &str) -> Option<&'a Value> {
    arr?.as_array()?
        .iter()
        .find(|e| e.get("key").and_then(Value::as_str) == Some(key))
        .and_then(|e| e.get("value"))
}

/// Civil date from days since the epoch (Howard Hinnant's algorithm).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `YYYY-MM-DD HH:MM:SS` (UTC) of an epoch-ms time.
pub fn datetime(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (y, m, d) = civil(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{y}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// Go's `time.Duration.String()` for a millisecond count.
pub fn go_duration(ms: i64) -> String {
    if ms == 0 {
        return "0s".to_string();
    }
    let neg = ms < 0;
    let ms = ms.unsigned_abs();
    let out = if ms < 1000 {
        format!("{ms}ms")
    } else {
        let total_secs = ms / 1000;
        let frac = ms % 1000;
        let h = total_secs / 3600;
        let m = (total_secs / 60) % 60;
        let sec = total_secs % 60;
        let mut secs = format!("{sec}");
        if frac > 0 {
            let f = format!("{frac:03}");
            secs.push('.');
            secs.push_str(f.trim_end_matches('0'));
        }
        if h > 0 {
            format!("{h}h{m}m{secs}s")
        } else if m > 0 {
            format!("{m}m{secs}s")
        } else {
            format!("{secs}s")
        }
    };
    if neg {
        format!("-{out}")
    } else {
        out
    }
}

/// wsk's TruncateStr: middle ellipsis when longer than `max`.
pub fn truncate_mid(s: &str, max: usize) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= max {
        return s.to_string();
    }
    let mut mid = max / 2;
    let upp = chars.len() - mid + 3;
    if !max.is_multiple_of(2) {
        mid += 1;
    }
    let head: String = chars[..mid].iter().collect();
    let tail: String = chars[upp.min(chars.len())..].iter().collect();
    format!("{head}...{tail}")
}

/// Strips `2017-...Z stdout: ` prefixes of log lines.
pub fn strip_timestamp(line: &str) -> String {
    // YYYY-MM-DDTHH:MM:SS.fffZ[ stream:] rest
    let b = line.as_bytes();
    let ts_ok = b.len() > 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[..4].iter().all(u8::is_ascii_digit);
    if !ts_ok {
        return line.to_string();
    }
    let Some(z) = line[19..].find('Z').map(|i| i + 19) else {
        return line.to_string();
    };
    let mut rest = line[z + 1..].trim_start_matches(' ');
    for stream in ["stdout:", "stderr:"] {
        if let Some(r) = rest.strip_prefix(stream) {
            rest = r;
            break;
        }
    }
    let rest = rest.strip_prefix(char::is_whitespace).unwrap_or(rest);
    if rest.is_empty() {
        line.to_string()
    } else {
        rest.to_string()
    }
}

/// YAML like wsk's `yaml.JSONToYAML` (go-yaml v2: sorted keys, two-space indentation,
/// sequences at the indentation of their key, strings quoted only when they would read back as
/// something else). Ends with a newline.
pub fn yaml(v: &Value) -> String {
    let mut out = String::new();
    match v {
        Value::Object(m) if !m.is_empty() => yaml_map(m, 0, &mut out),
        Value::Array(a) if !a.is_empty() => yaml_seq(a, 0, &mut out),
        other => {
            out.push_str(&yaml_scalar(other));
            out.push('\n');
        }
    }
    out
}

fn yaml_map(m: &serde_json::Map<String, Value>, indent: usize, out: &mut String) {
    let mut keys: Vec<&String> = m.keys().collect();
    keys.sort();
    for (i, k) in keys.into_iter().enumerate() {
        // The first key of a map inside a sequence item follows the "- " directly.
        if i > 0 || !out.ends_with("- ") {
            out.push_str(&" ".repeat(indent));
        }
        out.push_str(&yaml_str(k));
        out.push(':');
        yaml_value(&m[k], indent, false, out);
    }
}

fn yaml_seq(a: &[Value], indent: usize, out: &mut String) {
    for (i, v) in a.iter().enumerate() {
        if i > 0 || !out.ends_with("- ") {
            out.push_str(&" ".repeat(indent));
        }
        out.push_str("- ");
        match v {
            Value::Object(m) if !m.is_empty() => yaml_map(m, indent + 2, out),
            Value::Array(x) if !x.is_empty() => yaml_seq(x, indent + 2, out),
            other => {
                out.push_str(&yaml_scalar(other));
                out.push('\n');
            }
        }
    }
}

/// The value after `key:` at `indent`.
fn yaml_value(v: &Value, indent: usize, _in_seq: bool, out: &mut String) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            yaml_map(m, indent + 2, out);
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            yaml_seq(a, indent, out);
        }
        other => {
            out.push(' ');
            out.push_str(&yaml_scalar(other));
            out.push('\n');
        }
    }
}

fn yaml_scalar(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => yaml_str(s),
        Value::Array(_) => "[]".to_string(),
        Value::Object(_) => "{}".to_string(),
    }
}

fn yaml_str(s: &str) -> String {
    let lower = s.to_ascii_lowercase();
    let reserved = matches!(
        lower.as_str(),
        "" | "~" | "null" | "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n"
    );
    let numeric = s.parse::<f64>().is_ok()
        || s.starts_with("0x")
        || s.starts_with('.') && s[1..].parse::<f64>().is_ok();
    let first = s.chars().next().unwrap_or(' ');
    // `-`, `?` and `:` start a plain scalar only when a non-space follows.
    let special_start = if "-?:".contains(first) {
        s.len() == 1 || s[1..].starts_with(' ') || s.starts_with("---")
    } else {
        ",[]{}#&*!|>'\"%@`".contains(first)
    };
    let needs = reserved
        || numeric
        || special_start
        || s.contains(": ")
        || s.contains(" #")
        || s.ends_with(':')
        || s.starts_with(' ')
        || s.ends_with(' ')
        || s.chars().any(|c| c.is_control());
    if needs {
        serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn yaml_like_go_yaml() {
        let v = json!({"swagger": "2.0", "basePath": "/hello", "info": {"title": "t", "version": "1.0.0"},
            "paths": {"/world": {"get": {"operationId": "getWorld", "responses": {"default": {"description": "ok"}},
            "x-openwhisk": {"action": "hello", "package": ""}}}}, "tags": [{"a": 1, "b": [true]}, "x"], "e": []});
        assert_eq!(
            yaml(&v),
            "basePath: /hello\ne: []\ninfo:\n  title: t\n  version: 1.0.0\npaths:\n  /world:\n    get:\n      operationId: getWorld\n      responses:\n        default:\n          description: ok\n      x-openwhisk:\n        action: hello\n        package: \"\"\nswagger: \"2.0\"\ntags:\n- a: 1\n  b:\n  - true\n- x\n"
        );
    }

    #[test]
    fn pretty_uses_four_spaces() {
        assert_eq!(
            pretty(&json!({"a": [1]})),
            "{\n    \"a\": [\n        1\n    ]\n}\n"
        );
        assert_eq!(pretty(&json!({})), "{}\n");
    }

    #[test]
    fn durations_like_go() {
        assert_eq!(go_duration(0), "0s");
        assert_eq!(go_duration(15), "15ms");
        assert_eq!(go_duration(1500), "1.5s");
        assert_eq!(go_duration(61_000), "1m1s");
        assert_eq!(go_duration(3_723_250), "1h2m3.25s");
    }

    #[test]
    fn datetimes() {
        assert_eq!(datetime(0), "1970-01-01 00:00:00");
        assert_eq!(datetime(1_493_327_653_767), "2017-04-27 21:14:13");
    }

    #[test]
    fn strip() {
        assert_eq!(
            strip_timestamp("2017-04-27T21:14:13.767913398Z stdout: hello"),
            "hello"
        );
        assert_eq!(
            strip_timestamp("2017-04-27T21:14:13.7Z  stderr: x y"),
            "x y"
        );
        assert_eq!(strip_timestamp("plain"), "plain");
    }

    #[test]
    fn truncation() {
        assert_eq!(truncate_mid("short", 20), "short");
        let t = truncate_mid("abcdefghijklmnopqrstuvwxyz", 10);
        assert!(t.contains("..."));
    }
}
