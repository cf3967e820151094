//! WEB: a warm noop web action (`GET .json`) and an API gateway route to it, at c=1 and c=32,
//! next to the same action's blocking invoke measured in the same run (issue 9's targets:
//! web p50 ≤ 1.1× invoke p50, route p50 ≤ 1.1× web p50).

use super::*;

use crate::loadgen::GUEST_KEY;

const ACTION: &str = "web-noop";

impl Ctx {
    pub(super) async fn web(&mut self, s: &mut Scenario) -> Result<()> {
        let addr = self.server(ServerKind::Main).await?;
        s.server = self.server_flags();
        self.ensure_web(addr).await?;
        let uuid = GUEST_KEY.split(':').next().unwrap_or_default();
        for c in [1usize, 32] {
            let cases = [
                (
                    "invoke",
                    "blocking invoke",
                    Shape::post(invoke_path(ACTION, true), "{}"),
                ),
                (
                    "web",
                    "web action GET .json",
                    Shape::get(format!("/api/v1/web/guest/default/{ACTION}.json"), false),
                ),
                (
                    "route",
                    "API route GET",
                    Shape::get(format!("/api/{uuid}/bench/noop"), false),
                ),
            ];
            let mut p50 = Vec::new();
            for (key, label, sh) in cases {
                let r = closed_loop(
                    addr,
                    &Load {
                        concurrency: c,
                        duration: self.secs(10.0, 1.0),
                        max_requests: u64::MAX,
                        // c=32 needs up to 32 containers of the action: let them start first.
                        warmup: self.secs(if c > 8 { 3.0 } else { 1.0 }, 0.5),
                    },
                    Arc::new(move |_, _| sh.clone()),
                    None,
                )
                .await?;
                s.errors += r.stats.errors;
                if let Some(e) = &r.first_error {
                    s.notes.push(format!("{key} c={c}: first error: {e}"));
                }
                let fkey = format!("{key}.c{c}");
                let mut figs = pcts(&fkey, &format!("{label} c={c}"), &r.stats, 1.0, "µs");
                figs.retain(|f| f.key.ends_with(".p50") || f.key.ends_with(".p99"));
                let own = r.stats.p50_us;
                // Each case is judged against the one before it in the same run.
                match (key, p50.last()) {
                    ("web", Some(&invoke)) => set(&mut figs, &format!("{fkey}.p50"), |f| {
                        f.baseline(invoke, &format!("blocking invoke c={c} p50, same run"))
                            .target(1.1 * invoke, "issue 9: ≤ 1.1× the blocking invoke's p50")
                    }),
                    ("route", Some(&web)) => set(&mut figs, &format!("{fkey}.p50"), |f| {
                        f.baseline(web, &format!("web action c={c} p50, same run"))
                            .target(1.1 * web, "issue 9: ≤ 1.1× the web action's p50")
                    }),
                    _ => {}
                }
                p50.push(own);
                figs.push(Figure::higher(
                    &format!("{fkey}.rate"),
                    &format!("{label} c={c} throughput"),
                    r.stats.rate_per_s,
                    "req/s",
                ));
                s.figures.extend(figs);
                s.series.push(series(&format!("{label} c={c}"), &r.stats));
            }
        }
        Ok(())
    }

    /// The web-exported noop action, warm, and a route `/bench/noop` to it.
    async fn ensure_web(&mut self, addr: SocketAddr) -> Result<()> {
        if self.actions.contains(ACTION) {
            return Ok(());
        }
        let mut c = Conn::connect(addr).await?;
        let body = json!({
            "exec": {"kind": "nodejs:default", "code": NODE_NOOP},
            "limits": {"memory": 256},
            "annotations": [{"key": "web-export", "value": true}],
        });
        c.call(&Shape::put(
            format!("/api/v1/namespaces/_/actions/{ACTION}?overwrite=true"),
            body.to_string().into_bytes(),
        ))
        .await?;
        let route = json!({"apidoc": {
            "namespace": "_",
            "gatewayBasePath": "/bench",
            "gatewayPath": "/noop",
            "gatewayMethod": "GET",
            "id": "API:_:/bench",
            "action": {
                "name": ACTION,
                "namespace": "_",
                "backendMethod": "GET",
                "backendUrl": format!("http://{addr}/api/v1/web/guest/default/{ACTION}.json"),
                "authkey": GUEST_KEY,
            },
        }});
        c.call(&Shape::post(
            "/api/v1/web/whisk.system/apimgmt/createApi.http?responsetype=json",
            route.to_string().into_bytes(),
        ))
        .await?;
        c.call(&Shape::post(invoke_path(ACTION, true), "{}"))
            .await?;
        self.actions.insert(ACTION.to_string());
        Ok(())
    }
}
