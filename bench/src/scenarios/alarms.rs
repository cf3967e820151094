//! ALRM: alarm fire jitter. A cron alarm firing every second (`* * * * * *`) drives a trigger
//! with a rule to a warm noop; each trigger activation's `start` (when the scheduler fired it)
//! minus its tick (the whole second) is the jitter. Next to it, in the same run, the same
//! measurement of a bare tokio timer in this process sleeping to each whole second: the floor
//! any scheduler on this machine starts from. Target (issue 10): p99 ≤ 50 ms on a quiet machine.

use super::*;
use crate::loadgen::GUEST_KEY;

const TRIGGER: &str = "alarm-jitter";

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Jitter of a tokio timer woken at each whole second, for `seconds` seconds.
async fn timer_floor(seconds: u64) -> Vec<u64> {
    let mut out = Vec::new();
    for _ in 0..seconds {
        let now = now_ms();
        let next = (now / 1000 + 1) * 1000;
        tokio::time::sleep(Duration::from_millis((next - now) as u64)).await;
        out.push(((now_ms() - next).max(0) as u64) * 1_000_000);
    }
    out
}

impl Ctx {
    pub(super) async fn alrm(&mut self, s: &mut Scenario) -> Result<()> {
        let addr = self.server(ServerKind::Main).await?;
        s.server = self.server_flags();
        self.ensure_warm(addr, "noop-nodejs", "nodejs:default", NODE_NOOP)
            .await?;
        let mut c = Conn::connect(addr).await?;
        c.call(&Shape::put(
            format!("/api/v1/namespaces/_/triggers/{TRIGGER}?overwrite=true"),
            "{}",
        ))
        .await?;
        let rule = json!({"trigger": format!("/_/{TRIGGER}"), "action": "/_/noop-nodejs"});
        c.call(&Shape::put(
            format!("/api/v1/namespaces/_/rules/{TRIGGER}-rule?overwrite=true"),
            rule.to_string().into_bytes(),
        ))
        .await?;
        let feed = |event: &str| {
            let body = json!({"lifecycleEvent": event, "triggerName": format!("/guest/{TRIGGER}"),
                              "authKey": GUEST_KEY, "cron": "* * * * * *"});
            Shape::post(
                "/api/v1/namespaces/whisk.system/actions/alarms/alarm?blocking=true",
                body.to_string().into_bytes(),
            )
        };
        let seconds = self.pick(30, 4);
        let since = now_ms();
        c.call(&feed("CREATE")).await?;
        let floor = timer_floor(seconds).await;
        c.call(&feed("DELETE")).await?;
        // Let the last fire's record land.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let list = c
            .call(&Shape::get(
                format!("/api/v1/namespaces/_/activations?name={TRIGGER}&docs=true&limit=200"),
                true,
            ))
            .await?;
        let jitter: Vec<u64> = list
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .filter_map(|a| a["start"].as_i64())
            .filter(|t| *t >= since)
            .map(|t| ((t % 1000) as u64) * 1_000_000)
            .collect();
        if jitter.is_empty() {
            bail!("the alarm never fired");
        }
        s.notes.push(format!(
            "{} fires in {seconds} s of a per-second cron alarm",
            jitter.len()
        ));
        let fired = Stats::from_ns(jitter, 0, Duration::from_secs(seconds));
        let timer = Stats::from_ns(floor, 0, Duration::from_secs(seconds));
        for (p, v, b) in [
            ("p50", Some(fired.p50_us), Some(timer.p50_us)),
            ("p99", fired.p99_us, timer.p99_us),
        ] {
            let mut f = Figure::lower(
                &format!("jitter.{p}"),
                &format!("alarm fire time − scheduled time {p}"),
                0.0,
                "ms",
            )
            .opt(v.map(|v| v / 1000.0))
            .baseline_opt(
                b.map(|b| b / 1000.0),
                "tokio timer to the whole second, same run",
            );
            if p == "p99" {
                f = f
                    .target(50.0, "issue 10: p99 ≤ 50 ms on a quiet machine")
                    .tail();
            }
            s.figures.push(f);
        }
        s.series.push(series("alarm fire jitter", &fired));
        s.series.push(series("tokio timer jitter", &timer));
        Ok(())
    }
}
