//! An alarm schedule: what the `alarm`, `interval` and `once` feeds store for a trigger, and when
//! it fires next (openwhisk-package-alarms' `cronAlarm`, `intervalAlarm`, `dateAlarm`).
//!
//! Times are epoch milliseconds. Dates keep the value the user gave (a string or a number, as
//! upstream echoes them back on READ); [`parse_date`] reads them as JavaScript's `new Date(x)`
//! does for the forms people use.

use std::str::FromStr;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use croner::parser::{CronParser, Seconds, Year};
use croner::Cron;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Which feed made the schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Cron,
    Interval,
    Once,
}

/// Why a schedule stopped (upstream's `status.reason`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reason {
    pub kind: String,
    #[serde(rename = "statusCode", skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    pub active: bool,
    #[serde(rename = "dateChanged")]
    pub date_changed: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
}

/// One trigger's alarm, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Schedule {
    /// The trigger: its namespace and name.
    pub namespace: String,
    pub name: String,
    /// The `uuid:key` the feed was created with: the trigger fires as this identity (as the
    /// upstream provider stores `apikey`). Never shown by READ.
    pub apikey: String,
    pub kind: Kind,
    pub payload: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cron: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minutes: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_after_fire: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_date: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_date: Option<Value>,
    /// -1: unlimited.
    #[serde(default = "unlimited")]
    pub max_triggers: i64,
    /// Fires left when `max_triggers` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub triggers_left: Option<i64>,
    pub status: Status,
    /// The next tick (epoch ms); `None` once the schedule has nothing left to fire.
    #[serde(default)]
    pub next: Option<i64>,
    /// The tick fired last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_fired: Option<i64>,
}

fn unlimited() -> i64 {
    -1
}

/// A cron pattern as the node `cron` package the upstream feed uses reads it: five fields, or
/// six with seconds first.
pub fn parse_cron(pattern: &str) -> Option<Cron> {
    CronParser::builder()
        .seconds(Seconds::Optional)
        .year(Year::Disallowed)
        .build()
        .parse(pattern.trim())
        .ok()
}

/// A time zone name (`America/New_York`); `None` if unknown.
pub fn parse_timezone(name: &str) -> Option<chrono_tz::Tz> {
    chrono_tz::Tz::from_str(name).ok()
}

/// The first tick of `cron` strictly after `after_ms`, in `tz` (UTC without one).
pub fn next_cron(cron: &Cron, tz: Option<chrono_tz::Tz>, after_ms: i64) -> Option<i64> {
    let after = Utc.timestamp_millis_opt(after_ms).single()?;
    let tz = tz.unwrap_or(chrono_tz::UTC);
    cron.find_next_occurrence(&after.with_timezone(&tz), false)
        .ok()
        .map(|t| t.timestamp_millis())
}

/// The first tick of an interval that started at `start_ms` strictly after `after_ms`
/// (ticks are at `start + k × period`, k ≥ 0).
pub fn next_interval(start_ms: i64, minutes: i64, after_ms: i64) -> Option<i64> {
    let period = minutes.checked_mul(60_000)?;
    if period <= 0 {
        return None;
    }
    if after_ms < start_ms {
        return Some(start_ms);
    }
    let k = (after_ms - start_ms) / period + 1;
    start_ms.checked_add(k.checked_mul(period)?)
}

/// A date as JavaScript's `new Date(x)` reads it: a number is epoch milliseconds; a string is an
/// ISO 8601 date or date-time (UTC when it names no offset) or an RFC 2822 date.
pub fn parse_date(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64),
        Value::String(s) => parse_date_str(s.trim()),
        _ => None,
    }
}

fn parse_date_str(s: &str) -> Option<i64> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_millis());
    }
    if let Ok(t) = DateTime::parse_from_rfc2822(s) {
        return Some(t.timestamp_millis());
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s.trim_end_matches('Z'), fmt) {
            return Some(t.and_utc().timestamp_millis());
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp_millis())
}

/// How JavaScript prints a value in a template literal (`${x}`), for upstream's messages.
pub fn js_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "null".into(),
        Value::Array(a) => a.iter().map(js_text).collect::<Vec<_>>().join(","),
        Value::Object(_) => "[object Object]".into(),
        other => other.to_string(),
    }
}

/// JavaScript truthiness of a parameter (`if (params.x)`).
pub fn truthy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0 && !f.is_nan()),
        Some(Value::String(s)) => !s.is_empty(),
        Some(_) => true,
    }
}

/// `+x` (JavaScript's unary plus) of a parameter; NaN when it is not a number.
fn js_number(v: &Value) -> f64 {
    match v {
        Value::Number(n) => n.as_f64().unwrap_or(f64::NAN),
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::String(s) => {
            let t = s.trim();
            if t.is_empty() {
                0.0
            } else {
                t.parse::<f64>().unwrap_or(f64::NAN)
            }
        }
        Value::Null => 0.0,
        _ => f64::NAN,
    }
}

/// `parseInt(x)`: the leading integer of the value's text; NaN without one.
fn js_parse_int(v: &Value) -> f64 {
    let text = js_text(v);
    let t = text.trim_start();
    let (sign, digits) = match t.strip_prefix('-') {
        Some(rest) => (-1.0, rest),
        None => (1.0, t.strip_prefix('+').unwrap_or(t)),
    };
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    digits[..end]
        .parse::<f64>()
        .map(|n| sign * n)
        .unwrap_or(f64::NAN)
}

/// The `minutes` parameter as upstream checks it: `+m === parseInt(m)` (an integer), then > 0.
pub fn minutes(v: &Value) -> Result<i64, &'static str> {
    let n = js_number(v);
    let p = js_parse_int(v);
    if n.is_nan() || n != p {
        return Err("the minutes parameter must be an integer");
    }
    if p <= 0.0 {
        return Err("the minutes parameter must be an integer greater than zero");
    }
    Ok(p as i64)
}

impl Schedule {
    /// The tick after `after_ms`, or `None` when the schedule has no tick left.
    pub fn tick_after(&self, after_ms: i64) -> Option<i64> {
        let next = match self.kind {
            Kind::Once => {
                let at = self.date.as_ref().and_then(parse_date)?;
                (at > after_ms).then_some(at)
            }
            Kind::Interval => {
                let start = self.start_date.as_ref().and_then(parse_date)?;
                next_interval(start, self.minutes?, after_ms)
            }
            Kind::Cron => {
                let cron = parse_cron(self.cron.as_deref()?)?;
                let tz = self.timezone.as_deref().and_then(parse_timezone);
                // The cron job starts at the start date (upstream waits for it).
                let from = match self.start_date.as_ref().and_then(parse_date) {
                    Some(start) => after_ms.max(start - 1),
                    None => after_ms,
                };
                next_cron(&cron, tz, from)
            }
        }?;
        match self.stop_date.as_ref().and_then(parse_date) {
            Some(stop) if next > stop => None,
            _ => Some(next),
        }
    }

    /// Stop the schedule, saying why (upstream's `disableTrigger`).
    pub fn disable(&mut self, now: i64, status_code: Option<u16>, message: &str) {
        self.status = Status {
            active: false,
            date_changed: now,
            reason: Some(Reason {
                kind: "AUTO".into(),
                status_code,
                message: message.into(),
            }),
        };
        self.next = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cron_patterns_with_and_without_seconds() {
        let every_8s = parse_cron("*/8 * * * * *").unwrap();
        // 2026-01-01T00:00:01Z → the next multiple of 8 seconds.
        let t0 = 1_767_225_601_000;
        assert_eq!(next_cron(&every_8s, None, t0), Some(1_767_225_608_000));
        let minutely = parse_cron("* * * * *").unwrap();
        assert_eq!(next_cron(&minutely, None, t0), Some(1_767_225_660_000));
        assert!(parse_cron("1700000000000").is_none());
        assert!(parse_cron("* * * *").is_none());
        assert!(parse_cron("61 * * * *").is_none());
    }

    #[test]
    fn cron_in_a_time_zone() {
        let nine = parse_cron("0 9 * * *").unwrap();
        let tz = parse_timezone("America/New_York");
        // 2026-01-01T00:00:00Z; 09:00 in New York (UTC-5) is 14:00Z.
        let t0 = 1_767_225_600_000;
        assert_eq!(next_cron(&nine, tz, t0), Some(t0 + 14 * 3_600_000));
        assert!(parse_timezone("America/RTP").is_none());
    }

    #[test]
    fn interval_ticks() {
        assert_eq!(next_interval(1000, 1, 0), Some(1000));
        assert_eq!(next_interval(1000, 1, 1000), Some(61_000));
        assert_eq!(next_interval(1000, 1, 60_999), Some(61_000));
        assert_eq!(next_interval(1000, 1, 61_000), Some(121_000));
        assert_eq!(next_interval(1000, 0, 0), None);
    }

    #[test]
    fn dates_as_javascript_reads_them() {
        assert_eq!(
            parse_date(&json!(1_700_000_000_000_i64)),
            Some(1_700_000_000_000)
        );
        assert_eq!(
            parse_date(&json!("2026-01-01T00:00:00.000Z")),
            Some(1_767_225_600_000)
        );
        assert_eq!(
            parse_date(&json!("2026-01-01T01:00:00+01:00")),
            Some(1_767_225_600_000)
        );
        assert_eq!(parse_date(&json!("2026-01-01")), Some(1_767_225_600_000));
        assert_eq!(parse_date(&json!("tomorrow")), None);
        assert_eq!(parse_date(&json!(true)), None);
    }

    #[test]
    fn minutes_as_upstream_checks_them() {
        assert_eq!(minutes(&json!(5)), Ok(5));
        assert_eq!(minutes(&json!("5")), Ok(5));
        assert_eq!(
            minutes(&json!("five")),
            Err("the minutes parameter must be an integer")
        );
        assert_eq!(
            minutes(&json!(1.5)),
            Err("the minutes parameter must be an integer")
        );
        assert_eq!(
            minutes(&json!(-2)),
            Err("the minutes parameter must be an integer greater than zero")
        );
    }

    #[test]
    fn js_text_and_truthiness() {
        assert_eq!(js_text(&json!(1_700_000_000_000_i64)), "1700000000000");
        assert_eq!(js_text(&json!("x")), "x");
        assert!(!truthy(Some(&json!(""))));
        assert!(!truthy(Some(&json!(0))));
        assert!(truthy(Some(&json!("false"))));
        assert!(!truthy(None));
    }
}
