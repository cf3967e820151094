//! COMP: compositions at c=1 next to a single warm invoke in the same run: a sequence of three
//! noop actions and a two-step conductor (conductor, noop, conductor, noop, conductor). The cost
//! of each activation beyond the first is judged against one warm invoke (issue 10: ≤ 1.2×).

use super::*;

/// Steps to `noop-nodejs` twice, counting in `state`.
const CONDUCTOR: &str = "function main(p) { const n = p.n || 0; \
    return n < 2 ? { action: 'noop-nodejs', params: {}, state: { n: n + 1 } } : { params: {} } }";

impl Ctx {
    pub(super) async fn comp(&mut self, s: &mut Scenario) -> Result<()> {
        let addr = self.server(ServerKind::Main).await?;
        s.server = self.server_flags();
        self.ensure_warm(addr, "noop-nodejs", "nodejs:default", NODE_NOOP)
            .await?;
        let mut c = Conn::connect(addr).await?;
        let seq = json!({"exec": {"kind": "sequence",
            "components": ["/_/noop-nodejs", "/_/noop-nodejs", "/_/noop-nodejs"]}});
        c.call(&Shape::put(
            "/api/v1/namespaces/_/actions/seq3?overwrite=true",
            seq.to_string().into_bytes(),
        ))
        .await?;
        let cond = json!({"exec": {"kind": "nodejs:default", "code": CONDUCTOR},
            "limits": {"memory": 256},
            "annotations": [{"key": "conductor", "value": true}]});
        c.call(&Shape::put(
            "/api/v1/namespaces/_/actions/cond2?overwrite=true",
            cond.to_string().into_bytes(),
        ))
        .await?;
        c.call(&Shape::post(invoke_path("cond2", true), "{}"))
            .await?;

        // (key, label, action, activations per request)
        let cases = [
            ("invoke", "single warm invoke", "noop-nodejs", 1.0),
            ("sequence3", "sequence of 3 noops", "seq3", 3.0),
            ("conductor2", "two-step conductor", "cond2", 5.0),
        ];
        let mut single = None;
        for (key, label, action, activations) in cases {
            let sh = Shape::post(invoke_path(action, true), "{}");
            let r = closed_loop(
                addr,
                &Load {
                    concurrency: 1,
                    duration: self.secs(10.0, 1.0),
                    max_requests: u64::MAX,
                    warmup: self.secs(1.0, 0.3),
                },
                Arc::new(move |_, _| sh.clone()),
                None,
            )
            .await?;
            s.errors += r.stats.errors;
            if let Some(e) = &r.first_error {
                s.notes.push(format!("{key}: first error: {e}"));
            }
            let mut figs = pcts(key, &format!("{label} c=1"), &r.stats, 1.0, "µs");
            figs.retain(|f| f.key.ends_with(".p50") || f.key.ends_with(".p99"));
            s.figures.extend(figs);
            s.series.push(series(label, &r.stats));
            let p50 = r.stats.p50_us;
            match single {
                None => single = Some(p50),
                Some(one) => {
                    s.figures.push(
                        Figure::lower(
                            &format!("{key}.per_step"),
                            &format!("{label}: p50 cost of each activation beyond the first"),
                            (p50 - one) / (activations - 1.0),
                            "µs",
                        )
                        .baseline(one, "single warm invoke p50, same run")
                        .target(1.2 * one, "issue 10: ≤ 1.2× one warm invoke"),
                    );
                }
            }
        }
        Ok(())
    }
}
