//! Log and result line reading, timestamp formatting and bounded log collection, independent of
//! how a backend gets its streams (pipes of a process, a container engine's log stream).
//!
//! A backend turns each of the action's output streams into [`LogEvent`]s (for a byte stream,
//! with [`spawn_log_reader`]) and feeds them to a [`LogCollector`] per interaction: lines are
//! formatted as `<timestamp padded to 30> stdout|stderr: <text>`, capped by the log limit (one
//! truncation notice, then nothing), and an interaction is complete when both streams showed
//! [`LOG_SENTINEL`] or ended.

use std::io;
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, BufReader};
use tokio::sync::mpsc;

use crate::messages;

/// The line a launcher writes on stdout and stderr after each interaction.
pub const LOG_SENTINEL: &str = "XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX";

/// Log lines longer than this are split (like docker's json-file driver at 16 KiB).
pub const MAX_LOG_LINE: usize = 16 * 1024;

/// RFC 3339 UTC timestamp with nanoseconds, e.g. `2016-09-21T12:03:35.619234386Z` (30 chars).
pub fn rfc3339_nanos(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, day) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}.{:09}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60,
        d.subsec_nanos()
    )
}

/// Days since 1970-01-01 to (year, month, day) — H. Hinnant's algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
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

/// `<timestamp left-justified to 30> <stream>: <text>`.
pub fn format_log_line(t: SystemTime, stream: &str, text: &str) -> String {
    format!("{:<30} {stream}: {text}", rfc3339_nanos(t))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout = 0,
    Stderr = 1,
}

impl Stream {
    pub fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

#[derive(Debug)]
pub enum LogEvent {
    Line(Stream, SystemTime, String),
    Sentinel(Stream),
    Eof(Stream),
}

/// A line read with a cap: `bytes` holds at most the cap, `total` counts the whole line.
#[derive(Debug, Default)]
pub struct CappedLine {
    pub bytes: Vec<u8>,
    pub total: usize,
}

/// Reads one line (without the newline). With `split`, a line longer than `max` is returned in
/// pieces of `max` bytes; otherwise the rest of the line is counted in `total` and dropped.
/// Returns `None` at end of file with nothing read. Not cancel safe: pin the future.
pub async fn read_capped_line<R: AsyncBufRead + Unpin>(
    r: &mut R,
    max: usize,
    split: bool,
) -> io::Result<Option<CappedLine>> {
    let mut line = CappedLine::default();
    let mut any = false;
    loop {
        let buf = r.fill_buf().await?;
        if buf.is_empty() {
            return Ok(if any { Some(line) } else { None });
        }
        any = true;
        let (chunk, found) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (&buf[..i], true),
            None => (buf, false),
        };
        let room = max.saturating_sub(line.bytes.len());
        if split && chunk.len() >= room && !(found && chunk.len() == room) {
            line.bytes.extend_from_slice(&chunk[..room]);
            line.total += room;
            r.consume(room);
            return Ok(Some(line));
        }
        line.bytes
            .extend_from_slice(&chunk[..chunk.len().min(room)]);
        line.total += chunk.len();
        let used = chunk.len() + usize::from(found);
        r.consume(used);
        if found {
            return Ok(Some(line));
        }
    }
}

/// Reads a log stream forever, sending lines and sentinels; the channel bounds memory.
pub fn spawn_log_reader<R: AsyncRead + Unpin + Send + 'static>(
    reader: R,
    stream: Stream,
    tx: mpsc::Sender<LogEvent>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut r = BufReader::with_capacity(64 * 1024, reader);
        loop {
            let ev = match read_capped_line(&mut r, MAX_LOG_LINE, true).await {
                Ok(Some(line)) => {
                    if line.bytes == LOG_SENTINEL.as_bytes() {
                        LogEvent::Sentinel(stream)
                    } else {
                        let text = match String::from_utf8(line.bytes) {
                            Ok(s) => s,
                            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
                        };
                        LogEvent::Line(stream, SystemTime::now(), text)
                    }
                }
                Ok(None) | Err(_) => {
                    let _ = tx.send(LogEvent::Eof(stream)).await;
                    return;
                }
            };
            if tx.send(ev).await.is_err() {
                return;
            }
        }
    })
}

/// Collects the logs of one interaction, bounded by the log limit.
#[derive(Debug)]
pub struct LogCollector {
    pub lines: Vec<String>,
    bytes: u64,
    limit: u64,
    truncated: bool,
    sentinel: [bool; 2],
    pub eof: [bool; 2],
}

impl LogCollector {
    pub fn new(limit: u64, eof: [bool; 2]) -> Self {
        LogCollector {
            lines: Vec::new(),
            bytes: 0,
            limit,
            truncated: false,
            sentinel: [false; 2],
            eof,
        }
    }

    pub fn push(&mut self, ev: LogEvent) {
        match ev {
            LogEvent::Line(stream, t, text) => {
                if self.limit == 0 || self.truncated {
                    return;
                }
                let n = text.len() as u64;
                if self.bytes + n > self.limit {
                    self.truncated = true;
                    self.lines.push(format_log_line(
                        SystemTime::now(),
                        "stderr",
                        &messages::logs_truncated(self.limit),
                    ));
                } else {
                    self.bytes += n;
                    self.lines.push(format_log_line(t, stream.name(), &text));
                }
            }
            LogEvent::Sentinel(s) => self.sentinel[s as usize] = true,
            LogEvent::Eof(s) => self.eof[s as usize] = true,
        }
    }

    /// Both streams ended the interaction (sentinel seen, or the stream closed).
    pub fn complete(&self) -> bool {
        (0..2).all(|i| self.sentinel[i] || self.eof[i])
    }

    pub fn both_eof(&self) -> bool {
        self.eof[0] && self.eof[1]
    }

    pub fn append_system(&mut self, text: &str) {
        if self.limit > 0 {
            self.lines
                .push(format_log_line(SystemTime::now(), "stderr", text));
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamp_format() {
        let t = UNIX_EPOCH + Duration::new(1_474_459_415, 619_234_386);
        assert_eq!(rfc3339_nanos(t), "2016-09-21T12:03:35.619234386Z");
        assert_eq!(
            format_log_line(t, "stdout", "Hello World"),
            "2016-09-21T12:03:35.619234386Z stdout: Hello World"
        );
        assert_eq!(rfc3339_nanos(UNIX_EPOCH), "1970-01-01T00:00:00.000000000Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert!(rfc3339_nanos(leap).starts_with("2000-02-29T00:00:00"));
    }

    #[tokio::test]
    async fn capped_lines() {
        let data: &[u8] = b"abc\ndefghij\nxy";
        let mut r = BufReader::with_capacity(4, data);
        let l = read_capped_line(&mut r, 4, true).await.unwrap().unwrap();
        assert_eq!(l.bytes, b"abc");
        let l = read_capped_line(&mut r, 4, true).await.unwrap().unwrap();
        assert_eq!(l.bytes, b"defg");
        let l = read_capped_line(&mut r, 4, true).await.unwrap().unwrap();
        assert_eq!(l.bytes, b"hij");
        let l = read_capped_line(&mut r, 4, true).await.unwrap().unwrap();
        assert_eq!(l.bytes, b"xy");
        assert!(read_capped_line(&mut r, 4, true).await.unwrap().is_none());

        let data: &[u8] = b"0123456789\nok\n";
        let mut r = BufReader::with_capacity(3, data);
        let l = read_capped_line(&mut r, 4, false).await.unwrap().unwrap();
        assert_eq!((l.bytes.as_slice(), l.total), (&b"0123"[..], 10));
        let l = read_capped_line(&mut r, 4, false).await.unwrap().unwrap();
        assert_eq!((l.bytes.as_slice(), l.total), (&b"ok"[..], 2));
    }

    #[test]
    fn collector_truncates() {
        let mut c = LogCollector::new(10, [false; 2]);
        let t = SystemTime::now();
        c.push(LogEvent::Line(Stream::Stdout, t, "12345".into()));
        c.push(LogEvent::Line(Stream::Stderr, t, "12345".into()));
        c.push(LogEvent::Line(Stream::Stdout, t, "1".into()));
        c.push(LogEvent::Line(Stream::Stdout, t, "1".into()));
        assert_eq!(c.lines.len(), 3);
        assert!(c.lines[1].ends_with(" stderr: 12345"));
        assert!(c.lines[2].ends_with(
            "stderr: Logs were truncated because the total bytes size exceeds the limit of 10 bytes."
        ));
        assert!(!c.complete());
        c.push(LogEvent::Sentinel(Stream::Stdout));
        c.push(LogEvent::Eof(Stream::Stderr));
        assert!(c.complete());
    }
}
