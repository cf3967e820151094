//! NET: a warm action's HTTP GET to a server on a test host, next to the same GET from the host.

use super::*;

use crate::testhost::{self, TestHost};

/// `n` sequential GETs (a new connection each), after `warm` untimed ones; p50 and p90 in µs.
const GET_JS: &str = r#"
const http = require('http');
function get(url) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    http.get(url, { agent: false }, (r) => {
      r.resume();
      r.on('end', () => resolve(Number(process.hrtime.bigint() - t0) / 1e3));
    }).on('error', reject);
  });
}
async function main(p) {
  const d = [];
  for (let i = 0; i < p.warm + p.n; i++) {
    const us = await get(p.url);
    if (i >= p.warm) d.push(us);
  }
  d.sort((a, b) => a - b);
  return { p50: d[Math.floor(d.length / 2)], p90: d[Math.floor(d.length * 0.9)], n: d.length };
}
"#;

impl Ctx {
    pub(super) async fn net(&mut self, s: &mut Scenario) -> Result<()> {
        let n: u64 = self.pick(500, 50);
        let _host = TestHost::start().context("starting the test host (needs root)")?;
        let url = format!("http://{}:{}/", testhost::ADDR, testhost::PORT);
        let addr = self.server(ServerKind::Main).await?;
        s.server = self.server_flags();
        let node = self
            .direct
            .interpreter(&self.kind_of("nodejs")?)
            .context("no nodejs runtime")?;
        let kind = self.kind_of("nodejs")?;
        self.put_action(addr, "net-get", &kind, GET_JS, 256).await?;
        let mut conn = Conn::connect(addr).await?;
        let payload = json!({"url": url, "n": n, "warm": 20}).to_string();
        // The first call makes the action warm; the second is measured (inside the action).
        let mut action = None;
        for _ in 0..2 {
            let (status, body) = conn
                .send(&Shape::post(invoke_path("net-get", true), payload.clone()))
                .await?;
            if !status.is_success() {
                bail!("net-get: {status} {}", String::from_utf8_lossy(&body));
            }
            action = Some(serde_json::from_slice::<Value>(&body)?);
        }
        let action = action.context("no result")?;
        // The same code, on the host (no sandbox), with the launcher's environment.
        let script = format!(
            "{GET_JS}\nmain({payload}).then(r => process.stdout.write(JSON.stringify(r)));"
        );
        let out = tokio::process::Command::new(&node)
            .args(["-e", &script])
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .output()
            .await?;
        if !out.status.success() {
            bail!("node on the host: {}", String::from_utf8_lossy(&out.stderr));
        }
        let host: Value = serde_json::from_slice(&out.stdout)?;
        let (a50, h50) = (
            action["p50"].as_f64().context("p50")?,
            host["p50"].as_f64().context("p50")?,
        );
        s.figures.push(
            Figure::lower(
                "action.p50",
                "GET from a warm action (egress) p50",
                a50,
                "µs",
            )
            .baseline(h50, "in-run: the same GET from the host"),
        );
        s.figures.push(Figure::lower(
            "action.p90",
            "GET from a warm action (egress) p90",
            action["p90"].as_f64().unwrap_or(f64::NAN),
            "µs",
        ));
        s.figures.push(Figure::lower(
            "host.p50",
            "the same GET from the host p50",
            h50,
            "µs",
        ));
        s.figures.push(Figure::lower(
            "host.p90",
            "the same GET from the host p90",
            host["p90"].as_f64().unwrap_or(f64::NAN),
            "µs",
        ));
        s.figures.push(
            Figure::lower("ratio", "action GET p50 / host GET p50", a50 / h50, "×")
                .target(1.5, "issue: within 1.5× of the same GET from the host"),
        );
        s.notes.push(format!(
            "A test host in a network namespace made by the bench (203.0.113.10, reached through a \
             veth pair; a minimal HTTP server answering 'ok'). The nodejs action does {n} sequential \
             http.get calls (a new connection each, after 20 untimed) and reports its own p50/p90; \
             the same script runs with the same node binary directly on the host. The action's \
             path: veth → bridge → forward + policy (nftables) → masquerade → the test host's veth."
        ));
        Ok(())
    }
}
