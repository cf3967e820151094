//! Concurrent framing: up to `limits.concurrency` activations at once in one launcher
//! (intra-container concurrency, spec §4.4; openwhisk-runtime-nodejs semantics).
//!
//! After an init with a concurrency above 1 the launcher reads run lines as they come instead of
//! one after the other. Each run line carries a number (`"seq"`); the launcher answers
//! `<seq> <reply>` on fd 3 in whatever order the activations end, and tags every log line
//! written inside an activation's asynchronous context (its handler and whatever it awaits or
//! schedules) as `\x01<seq>\x01<text>`, its end-of-activation sentinels included. Two reader
//! tasks hand replies and lines to the waiting runs, so each activation gets its own logs and
//! its own log limit. A line written outside every activation (a timer started at init, a child
//! process writing to the inherited stdout) belongs to no one in particular: it goes to every
//! activation in flight when it arrives (they are all of the same action and namespace).
//!
//! A developer error, an exit or a timeout of one activation makes the container unhealthy: it
//! takes no new activations, a timeout kills it (cutting off the others, which end with the
//! abnormal-exit error as in OpenWhisk), and the invoker destroys it when the last run ends.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde_json::json;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::unix::pipe;
use tokio::sync::{mpsc, Notify};
use tokio::task::JoinHandle;
use tokio::time::{sleep_until, timeout_at};
use whirl_runtime::actionloop::{
    classify_run_reply, run_line_concurrent, split_concurrent_reply, split_tagged_log, Replier,
};
use whirl_runtime::logs::{read_capped_line, CappedLine, LogCollector, LogEvent};
use whirl_runtime::{
    messages, ActivationStatus, ConcurrentRunner, RunOutcome, RunRequest, LOG_SENTINEL,
    MAX_RESULT_BYTES,
};

use crate::launch::Proc;

/// How long to wait for an activation's sentinels after its reply.
const SENTINEL_GRACE: Duration = Duration::from_secs(2);
/// How long to wait for remaining logs after a developer error, an exit or a kill.
const FAILURE_GRACE: Duration = Duration::from_millis(500);
/// Room for the `<seq> ` prefix of a reply line.
const SEQ_PREFIX: usize = 24;

/// One activation in flight.
#[derive(Debug)]
struct Slot {
    col: LogCollector,
    reply: Option<CappedLine>,
    wake: Arc<Notify>,
}

#[derive(Debug, Default)]
struct State {
    slots: HashMap<u64, Slot>,
    /// The reply pipe closed: the launcher exited or was killed.
    exited: bool,
    /// The log streams that have ended.
    eof: [bool; 2],
}

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A poisoned lock means a panic while holding it; the state is still structurally valid.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The pipes of an initialised launcher, handed over to the multiplexer.
pub(crate) struct Pipes {
    pub stdin: pipe::Sender,
    pub results: BufReader<pipe::Receiver>,
    pub logs: mpsc::Receiver<LogEvent>,
    pub eof: [bool; 2],
}

/// The concurrent runner of one container.
#[derive(Debug)]
pub(crate) struct Mux {
    stdin: tokio::sync::Mutex<pipe::Sender>,
    shared: Arc<Shared>,
    next_seq: AtomicU64,
    healthy: AtomicBool,
    proc: Arc<dyn Proc>,
    readers: [JoinHandle<()>; 2],
}

/// How waiting for an activation's reply ended.
enum Waited {
    Reply(CappedLine),
    Exited,
    TimedOut,
}

impl Mux {
    pub(crate) fn start(pipes: Pipes, proc: Arc<dyn Proc>) -> Arc<Self> {
        let shared = Arc::new(Shared::default());
        shared.lock().eof = pipes.eof;
        let replies = tokio::spawn(read_replies(pipes.results, shared.clone()));
        let logs = tokio::spawn(read_logs(pipes.logs, shared.clone()));
        Arc::new(Mux {
            stdin: tokio::sync::Mutex::new(pipes.stdin),
            shared,
            next_seq: AtomicU64::new(1),
            healthy: AtomicBool::new(true),
            proc,
            readers: [replies, logs],
        })
    }

    /// Stop reading (the container is being destroyed).
    pub(crate) fn stop(&self) {
        for r in &self.readers {
            r.abort();
        }
    }

    fn unhealthy(&self) {
        self.healthy.store(false, Ordering::SeqCst);
    }

    /// Waits until `done` holds for the slot, the streams end, or `until`.
    async fn wait_logs(
        &self,
        seq: u64,
        until: tokio::time::Instant,
        done: fn(&LogCollector) -> bool,
    ) {
        loop {
            let wake = {
                let s = self.shared.lock();
                match s.slots.get(&seq) {
                    Some(slot) if !done(&slot.col) => slot.wake.clone(),
                    _ => return,
                }
            };
            if timeout_at(until, wake.notified()).await.is_err() {
                return;
            }
        }
    }

    async fn wait_reply(&self, seq: u64, deadline: tokio::time::Instant) -> Waited {
        loop {
            let wake = {
                let mut s = self.shared.lock();
                let exited = s.exited;
                let Some(slot) = s.slots.get_mut(&seq) else {
                    return Waited::Exited;
                };
                if let Some(line) = slot.reply.take() {
                    return Waited::Reply(line);
                }
                if exited {
                    return Waited::Exited;
                }
                slot.wake.clone()
            };
            tokio::select! {
                _ = wake.notified() => {}
                _ = sleep_until(deadline) => return Waited::TimedOut,
            }
        }
    }

    fn take_logs(&self, seq: u64) -> LogCollector {
        self.shared
            .lock()
            .slots
            .remove(&seq)
            .map(|s| s.col)
            .unwrap_or_else(|| LogCollector::new(0, [true; 2]))
    }
}

fn finished(
    status: ActivationStatus,
    result: serde_json::Value,
    col: LogCollector,
    started: Instant,
    timed_out: bool,
) -> RunOutcome {
    RunOutcome {
        status,
        result,
        logs: col.lines,
        duration: started.elapsed(),
        timed_out,
        container_healthy: status != ActivationStatus::DeveloperError && !timed_out,
    }
}

fn refused(message: &str, started: Instant) -> RunOutcome {
    RunOutcome {
        status: ActivationStatus::DeveloperError,
        result: json!({ "error": message }),
        logs: Vec::new(),
        duration: started.elapsed(),
        timed_out: false,
        container_healthy: false,
    }
}

#[async_trait]
impl ConcurrentRunner for Mux {
    async fn run(&self, req: RunRequest, timeout: Duration, log_limit_bytes: u64) -> RunOutcome {
        let started = Instant::now();
        let deadline = tokio::time::Instant::now() + timeout;
        if !self.healthy() {
            return refused(messages::ABNORMAL_RUN, started);
        }
        let seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
        {
            let mut s = self.shared.lock();
            if s.exited {
                drop(s);
                self.unhealthy();
                return refused(messages::ABNORMAL_RUN, started);
            }
            let col = LogCollector::new(log_limit_bytes, s.eof);
            s.slots.insert(
                seq,
                Slot {
                    col,
                    reply: None,
                    wake: Arc::new(Notify::new()),
                },
            );
        }
        let line = run_line_concurrent(&req, seq);
        let sent = timeout_at(deadline, async {
            self.stdin.lock().await.write_all(&line).await
        })
        .await;
        let waited = match sent {
            Ok(Ok(())) => self.wait_reply(seq, deadline).await,
            Ok(Err(_)) => Waited::Exited,
            Err(_) => Waited::TimedOut,
        };
        match waited {
            Waited::Reply(line) => {
                let (status, result) = classify_run_reply(&line, Replier::Launcher);
                if status == ActivationStatus::DeveloperError {
                    self.unhealthy();
                    let until = tokio::time::Instant::now() + FAILURE_GRACE;
                    self.wait_logs(seq, until, LogCollector::complete).await;
                    let mut col = self.take_logs(seq);
                    col.append_system(messages::LOGS_MAY_BE_MISSING);
                    return finished(status, result, col, started, false);
                }
                let until = tokio::time::Instant::now() + SENTINEL_GRACE;
                self.wait_logs(seq, until, LogCollector::complete).await;
                finished(status, result, self.take_logs(seq), started, false)
            }
            Waited::TimedOut => {
                self.unhealthy();
                self.proc.kill();
                let until = tokio::time::Instant::now() + FAILURE_GRACE;
                self.wait_logs(seq, until, LogCollector::both_eof).await;
                let mut col = self.take_logs(seq);
                col.append_system(messages::LOGS_MAY_BE_MISSING);
                let msg = messages::timed_out(timeout, false);
                finished(
                    ActivationStatus::DeveloperError,
                    json!({ "error": msg }),
                    col,
                    started,
                    true,
                )
            }
            Waited::Exited => {
                self.unhealthy();
                // Give the kernel a moment to report an OOM kill before classifying.
                let until = tokio::time::Instant::now() + FAILURE_GRACE;
                self.wait_logs(seq, until, LogCollector::both_eof).await;
                let msg = if self.proc.oom_killed() {
                    messages::MEMORY_EXHAUSTED
                } else {
                    messages::ABNORMAL_RUN
                };
                self.proc.kill();
                let mut col = self.take_logs(seq);
                col.append_system(messages::LOGS_MAY_BE_MISSING);
                finished(
                    ActivationStatus::DeveloperError,
                    json!({ "error": msg }),
                    col,
                    started,
                    false,
                )
            }
        }
    }

    fn healthy(&self) -> bool {
        self.healthy.load(Ordering::SeqCst)
    }
}

/// Hands each reply line to its activation; marks the launcher exited when the pipe closes.
async fn read_replies(mut results: BufReader<pipe::Receiver>, shared: Arc<Shared>) {
    loop {
        match read_capped_line(&mut results, MAX_RESULT_BYTES + SEQ_PREFIX, false).await {
            Ok(Some(line)) => match split_concurrent_reply(&line) {
                Some((seq, reply)) => {
                    let mut s = shared.lock();
                    if let Some(slot) = s.slots.get_mut(&seq) {
                        slot.reply = Some(reply);
                        slot.wake.notify_one();
                    }
                }
                None => tracing::warn!("a concurrent launcher wrote an unframed reply; ignored"),
            },
            Ok(None) | Err(_) => {
                let mut s = shared.lock();
                s.exited = true;
                for slot in s.slots.values() {
                    slot.wake.notify_one();
                }
                return;
            }
        }
    }
}

/// Hands each log line to the activation that wrote it (untagged lines to every activation in
/// flight), and each activation's sentinels to it.
async fn read_logs(mut logs: mpsc::Receiver<LogEvent>, shared: Arc<Shared>) {
    while let Some(ev) = logs.recv().await {
        let mut s = shared.lock();
        match ev {
            LogEvent::Line(stream, t, text) => match split_tagged_log(&text) {
                Some((seq, rest)) => {
                    if let Some(slot) = s.slots.get_mut(&seq) {
                        if rest == LOG_SENTINEL {
                            slot.col.push(LogEvent::Sentinel(stream));
                            slot.wake.notify_one();
                        } else {
                            slot.col.push(LogEvent::Line(stream, t, rest.to_string()));
                        }
                    }
                }
                None => {
                    for slot in s.slots.values_mut() {
                        slot.col.push(LogEvent::Line(stream, t, text.clone()));
                    }
                }
            },
            // Sentinels come tagged in this framing; an untagged one ends nothing.
            LogEvent::Sentinel(_) => {}
            LogEvent::Eof(stream) => {
                s.eof[stream as usize] = true;
                for slot in s.slots.values_mut() {
                    slot.col.push(LogEvent::Eof(stream));
                    slot.wake.notify_one();
                }
            }
        }
    }
}
