//! REPORT.md and its SVG plots, generated from a run's JSON; and the comparison of two runs.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};

use crate::model::{Better, Breakdown, Figure, Run, Series};

pub fn load(path: &Path) -> Result<Run> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not a whirl-bench run", path.display()))
}

/// A number with a sensible precision.
pub fn num(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    let a = v.abs();
    if a == 0.0 {
        "0".into()
    } else if a >= 1000.0 {
        let s = format!("{v:.0}");
        // Thousands separators.
        let (sign, digits) = s.strip_prefix('-').map_or(("", s.as_str()), |d| ("-", d));
        let mut out = String::new();
        for (i, ch) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(ch);
        }
        format!("{sign}{out}")
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn value_cell(f: &Figure) -> String {
    match f.value {
        Some(v) => format!("{} {}", num(v), f.unit).trim().to_string(),
        None if f.tail => "withheld".into(),
        None => "–".into(),
    }
}

fn reference_cell(r: Option<&crate::model::Reference>, f: &Figure, target: bool) -> String {
    match r {
        Some(r) => {
            let cmp = if !target {
                ""
            } else if f.better == Better::Lower {
                "≤ "
            } else {
                "≥ "
            };
            let v = format!("{} {}", num(r.value), f.unit);
            format!("{cmp}{} <sub>{}</sub>", v.trim(), r.source)
        }
        None => String::new(),
    }
}

fn esc(s: &str) -> String {
    s.replace('|', "\\|")
}

/// Writes `<dir>/REPORT.md` and `<dir>/plots/*.svg` for `run`, linking `json` (relative path).
pub fn write(run: &Run, dir: &Path, json_rel: &str, compare: Option<(&str, &Run)>) -> Result<()> {
    let plots = dir.join("plots");
    std::fs::create_dir_all(&plots)?;
    let mut md = String::new();
    let m = &run.machine;
    let _ = writeln!(md, "# Whirl benchmark report\n");
    let regen = if json_rel.starts_with('/') {
        json_rel.to_string()
    } else {
        format!("bench/{json_rel}")
    };
    let _ = writeln!(
        md,
        "Generated from [{json_rel}]({json_rel}) (the run's JSON). Do not edit by hand: \
         `cargo run --release -p whirl-bench -- run` makes a new run (see [README.md](README.md)), \
         `cargo run --release -p whirl-bench -- report {regen}` regenerates this page.\n"
    );
    let _ = writeln!(md, "| | |\n|---|---|");
    let _ = writeln!(md, "| date | {} |", run.date);
    let _ = writeln!(
        md,
        "| commit | `{}`{} |",
        run.commit,
        if run.dirty {
            " (with uncommitted changes)"
        } else {
            ""
        }
    );
    let _ = writeln!(md, "| mode | {} |", run.mode);
    let _ = writeln!(md, "| command | `{}` |", run.command);
    let _ = writeln!(
        md,
        "| machine | {} cores ({}), {} MB RAM, Linux {}, cgroup {} |",
        m.cores, m.cpu_model, m.mem_mb, m.kernel, m.cgroup
    );
    let _ = writeln!(md, "| runtimes | node {}, {} |", m.node, m.python);
    let _ = writeln!(
        md,
        "| load average before (1/5/15 min) | {:.2} / {:.2} / {:.2} |",
        run.load_before[0], run.load_before[1], run.load_before[2]
    );
    let _ = writeln!(
        md,
        "| load average after | {:.2} / {:.2} / {:.2} |",
        run.load_after[0], run.load_after[1], run.load_after[2]
    );
    let _ = writeln!(md, "| duration | {:.0} s |", run.duration_s);
    md.push('\n');
    if let Some(why) = &run.p99_withheld {
        let _ = writeln!(
            md,
            "> **p99 withheld: {why}.** The machine was busy before the run started, so tail \
             latencies (p99, p99.9, and the plots above p90) are not reported. Medians are still \
             representative. Rerun on an idle machine for tail figures.\n"
        );
    }
    let failed: Vec<&str> = run
        .scenarios
        .iter()
        .filter(|s| s.error.is_some() || s.errors > 0)
        .map(|s| s.id.as_str())
        .collect();
    if !failed.is_empty() {
        let _ = writeln!(
            md,
            "> **Scenarios with errors: {}** (see below).\n",
            failed.join(", ")
        );
    }
    let _ = writeln!(
        md,
        "Columns: *baseline* is the physical floor or reference the figure is judged against (measured in \
         the same run when marked in-run, otherwise quoted from `performance.md`); *× baseline* is \
         value ÷ baseline; *target* is the goal from the issue or performance.md §5; ✅/❌ says whether \
         the target is met. Latencies are client-side, closed loop, keep-alive HTTP/1.1 on loopback.\n"
    );

    // Summary of the headline figures.
    let _ = writeln!(md, "## Targets at a glance\n");
    let _ = writeln!(
        md,
        "| scenario | figure | value | target | met |\n|---|---|---:|---:|:---:|"
    );
    for s in &run.scenarios {
        for f in s.figures.iter().filter(|f| f.target.is_some()) {
            let met = match f.meets() {
                Some(true) => "✅",
                Some(false) => "❌",
                None => "–",
            };
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {met} |",
                s.id,
                esc(&f.label),
                value_cell(f),
                f.target.as_ref().map_or(String::new(), |t| format!(
                    "{}{}",
                    if f.better == Better::Lower {
                        "≤ "
                    } else {
                        "≥ "
                    },
                    num(t.value)
                ))
            );
        }
    }
    md.push('\n');

    for s in &run.scenarios {
        let _ = writeln!(md, "## {} — {}\n", s.id, s.title);
        if let Some(srv) = &s.server {
            let _ = writeln!(md, "Server: `{srv}`. Took {:.0} s.\n", s.duration_s);
        } else {
            let _ = writeln!(md, "Took {:.0} s.\n", s.duration_s);
        }
        if let Some(e) = &s.error {
            let _ = writeln!(md, "**Scenario failed:** `{}`\n", e.replace('`', "'"));
        }
        if !s.figures.is_empty() {
            let _ = writeln!(
                md,
                "| figure | value | baseline | × baseline | target | met |\n|---|---:|---|---:|---|:---:|"
            );
            for f in &s.figures {
                let ratio = f.ratio().map_or(String::new(), |r| format!("{r:.2}×"));
                let met = match f.meets() {
                    Some(true) => "✅",
                    Some(false) => "❌",
                    None => "",
                };
                let _ = writeln!(
                    md,
                    "| {} | {} | {} | {} | {} | {met} |",
                    esc(&f.label),
                    value_cell(f),
                    esc(&reference_cell(f.baseline.as_ref(), f, false)),
                    ratio,
                    esc(&reference_cell(f.target.as_ref(), f, true)),
                );
            }
            md.push('\n');
        }
        for n in &s.notes {
            let _ = writeln!(md, "- {}", n.replace('\n', " "));
        }
        if !s.notes.is_empty() {
            md.push('\n');
        }
        if s.series.iter().any(|x| !x.cdf.is_empty()) {
            let file = format!("{}-latency.svg", s.id);
            std::fs::write(
                plots.join(&file),
                cdf_svg(&format!("{} latency distribution", s.id), &s.series),
            )?;
            let _ = writeln!(md, "![{} latency distribution](plots/{file})\n", s.id);
        }
        if !s.breakdowns.is_empty() {
            let file = format!("{}-breakdown.svg", s.id);
            std::fs::write(
                plots.join(&file),
                breakdown_svg(
                    &format!("{} cold-start breakdown (p50, ms)", s.id),
                    &s.breakdowns,
                ),
            )?;
            let _ = writeln!(md, "![{} cold-start breakdown](plots/{file})\n", s.id);
        }
    }
    if let Some((old_path, old)) = compare {
        let _ = writeln!(md, "## Change against `{old_path}`\n");
        let _ = writeln!(md, "```\n{}```\n", compare_text(old, run));
    }
    std::fs::write(dir.join("REPORT.md"), md)?;
    Ok(())
}

const COLORS: &[&str] = &[
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf",
];

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Percentile position on a "nines" axis: p0 → 0, p90 → 1, p99 → 2, p99.9 → 3, max → 4.
fn nines(p: f64) -> f64 {
    if p >= 100.0 {
        4.0
    } else {
        (-(1.0 - p / 100.0).log10()).min(4.0)
    }
}

fn latency_label(us: f64) -> String {
    let short = |v: f64| {
        let s = num(v);
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    };
    if us >= 1_000_000.0 {
        format!("{} s", short(us / 1_000_000.0))
    } else if us >= 1000.0 {
        format!("{} ms", short(us / 1000.0))
    } else {
        format!("{} µs", short(us))
    }
}

/// Latency by percentile (HdrHistogram style): x = percentile on a "nines" scale, y = latency on
/// a log scale. One line per series.
pub fn cdf_svg(title: &str, series: &[Series]) -> String {
    let (w, h) = (760.0, 400.0);
    let (l, r, t, b) = (70.0, 210.0, 30.0, 45.0);
    let pw = w - l - r;
    let ph = h - t - b;
    let vals: Vec<f64> = series
        .iter()
        .flat_map(|s| s.cdf.iter().map(|p| p.1))
        .filter(|v| *v > 0.0)
        .collect();
    let lo = vals.iter().copied().fold(f64::INFINITY, f64::min).max(0.1);
    let hi = vals.iter().copied().fold(0.0f64, f64::max).max(lo * 10.0);
    let (llo, lhi) = (lo.log10().floor(), hi.log10().ceil());
    let xmax = series
        .iter()
        .flat_map(|s| s.cdf.iter().map(|p| nines(p.0)))
        .fold(1.0f64, f64::max);
    let x = |p: f64| l + nines(p) / xmax * pw;
    let y = |v: f64| t + ph - (v.max(lo).log10() - llo) / (lhi - llo) * ph;
    let mut o = String::new();
    let _ = write!(
        o,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="11">"#
    );
    let _ = write!(o, r#"<rect width="{w}" height="{h}" fill="white"/>"#);
    let _ = write!(
        o,
        r#"<text x="{l}" y="18" font-size="13">{}</text>"#,
        xml(title)
    );
    // Latency grid: every decade, plus 2 and 5 when there are few decades.
    let few = lhi - llo <= 3.0;
    let mut d = llo;
    while d <= lhi {
        for m in [1.0, 2.0, 5.0] {
            if m > 1.0 && !few {
                continue;
            }
            let v = 10f64.powf(d) * m;
            if v > 10f64.powf(lhi) * 1.0001 {
                continue;
            }
            let yv = y(v);
            let _ = write!(
                o,
                r##"<line x1="{l}" y1="{yv:.1}" x2="{:.1}" y2="{yv:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
                l + pw,
                l - 4.0,
                yv + 4.0,
                latency_label(v)
            );
        }
        d += 1.0;
    }
    for (p, label) in [
        (0.0, "p0"),
        (50.0, "p50"),
        (90.0, "p90"),
        (99.0, "p99"),
        (99.9, "p99.9"),
        (100.0, "max"),
    ] {
        if nines(p) > xmax + 1e-9 {
            continue;
        }
        let xv = x(p);
        let _ = write!(
            o,
            r##"<line x1="{xv:.1}" y1="{t}" x2="{xv:.1}" y2="{:.1}" stroke="#ddd"/><text x="{xv:.1}" y="{:.1}" text-anchor="middle">{label}</text>"##,
            t + ph,
            t + ph + 14.0
        );
    }
    let _ = write!(
        o,
        r##"<rect x="{l}" y="{t}" width="{pw}" height="{ph}" fill="none" stroke="#333"/>"##
    );
    let _ = write!(
        o,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">percentile</text>"#,
        l + pw / 2.0,
        h - 8.0
    );
    for (i, s) in series.iter().enumerate() {
        let c = COLORS[i % COLORS.len()];
        let pts: Vec<String> = s
            .cdf
            .iter()
            .map(|(p, v)| format!("{:.1},{:.1}", x(*p), y(*v)))
            .collect();
        let _ = write!(
            o,
            r#"<polyline fill="none" stroke="{c}" stroke-width="1.8" points="{}"/>"#,
            pts.join(" ")
        );
        let ly = t + 10.0 + i as f64 * 16.0;
        let lx = l + pw + 12.0;
        let _ = write!(
            o,
            r#"<line x1="{lx}" y1="{ly}" x2="{:.1}" y2="{ly}" stroke="{c}" stroke-width="3"/><text x="{:.1}" y="{:.1}">{}</text>"#,
            lx + 18.0,
            lx + 24.0,
            ly + 4.0,
            xml(&s.label)
        );
    }
    o.push_str("</svg>\n");
    o
}

/// Horizontal stacked bars (ms), one per breakdown.
pub fn breakdown_svg(title: &str, bars: &[Breakdown]) -> String {
    let row = 34.0;
    let (l, r, t) = (130.0, 70.0, 50.0);
    let w = 760.0;
    let pw = w - l - r;
    let parts: Vec<String> = {
        let mut v: Vec<String> = Vec::new();
        for b in bars {
            for (n, _) in &b.parts {
                if !v.contains(n) {
                    v.push(n.clone());
                }
            }
        }
        v
    };
    let max = bars
        .iter()
        .map(|b| {
            let s: f64 = b.parts.iter().map(|p| p.1).sum();
            s.max(b.total_ms.unwrap_or(0.0))
        })
        .fold(1.0f64, f64::max);
    let h = t + row * bars.len() as f64 + 50.0;
    let sx = |v: f64| v / max * pw;
    let mut o = String::new();
    let _ = write!(
        o,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="11">"#
    );
    let _ = write!(o, r#"<rect width="{w}" height="{h}" fill="white"/>"#);
    let _ = write!(
        o,
        r#"<text x="10" y="18" font-size="13">{}</text>"#,
        xml(title)
    );
    // Legend.
    let mut lx = 10.0;
    for (i, p) in parts.iter().enumerate() {
        let c = COLORS[i % COLORS.len()];
        let _ = write!(
            o,
            r#"<rect x="{lx}" y="28" width="10" height="10" fill="{c}"/><text x="{:.1}" y="37">{}</text>"#,
            lx + 14.0,
            xml(p)
        );
        lx += 24.0 + 6.5 * p.len() as f64;
    }
    for (i, b) in bars.iter().enumerate() {
        let y = t + i as f64 * row;
        let _ = write!(
            o,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            l - 6.0,
            y + 17.0,
            xml(&b.label)
        );
        let mut x = l;
        for (name, v) in &b.parts {
            let ci = parts.iter().position(|p| p == name).unwrap_or(0);
            let bw = sx(*v);
            let _ = write!(
                o,
                r#"<rect x="{x:.1}" y="{:.1}" width="{bw:.1}" height="22" fill="{}"><title>{}: {} ms</title></rect>"#,
                y + 2.0,
                COLORS[ci % COLORS.len()],
                xml(name),
                num(*v)
            );
            x += bw;
        }
        let sum: f64 = b.parts.iter().map(|p| p.1).sum();
        let total: f64 = b.total_ms.unwrap_or(sum);
        if let Some(tm) = b.total_ms {
            let tx = l + sx(tm);
            let _ = write!(
                o,
                r##"<line x1="{tx:.1}" y1="{:.1}" x2="{tx:.1}" y2="{:.1}" stroke="#000" stroke-width="2"/>"##,
                y - 1.0,
                y + 27.0
            );
        }
        let _ = write!(
            o,
            r#"<text x="{:.1}" y="{:.1}">{} ms</text>"#,
            (l + sx(total.max(sum)) + 4.0).min(w - 28.0),
            y + 17.0,
            num(total)
        );
    }
    let ay = t + row * bars.len() as f64 + 8.0;
    let _ = write!(
        o,
        r##"<line x1="{l}" y1="{ay}" x2="{:.1}" y2="{ay}" stroke="#333"/>"##,
        l + pw
    );
    let step = nice_step(max / 4.0);
    let ticks = (max / step).floor() as usize;
    for k in 0..=ticks {
        let v = step * k as f64;
        let _ = write!(
            o,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{} ms</text>"#,
            l + sx(v),
            ay + 14.0,
            num(v)
        );
    }
    o.push_str("</svg>\n");
    o
}

/// 1, 2 or 5 times a power of ten, at least `raw`.
fn nice_step(raw: f64) -> f64 {
    let p = 10f64.powf(raw.max(1e-9).log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * p)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * p)
}

/// Per-figure change from `old` to `new`; regressions (> 10% worse) are flagged.
pub fn compare_text(old: &Run, new: &Run) -> String {
    let om: std::collections::HashMap<String, &Figure> = old.figure_list().into_iter().collect();
    let nl = new.figure_list();
    let nm: std::collections::HashMap<&str, &Figure> =
        nl.iter().map(|(k, f)| (k.as_str(), *f)).collect();
    let mut o = String::new();
    let _ = writeln!(
        o,
        "old: {} {} ({}, load {:.2})   new: {} {} ({}, load {:.2})",
        &old.commit.get(..10).unwrap_or(&old.commit),
        old.date,
        old.mode,
        old.load_before[0],
        &new.commit.get(..10).unwrap_or(&new.commit),
        new.date,
        new.mode,
        new.load_before[0]
    );
    let _ = writeln!(
        o,
        "{:<46} {:>14} {:>14} {:>9}",
        "figure", "old", "new", "change"
    );
    let mut regressions = 0;
    for (k, nf) in &nl {
        let Some(of) = om.get(k) else {
            let _ = writeln!(
                o,
                "{k:<46} {:>14} {:>14}",
                "(new)",
                nf.value.map_or("–".into(), num)
            );
            continue;
        };
        let (ov, nv) = (of.value, nf.value);
        let (ch, flag) = match (ov, nv) {
            (Some(a), Some(b)) if a != 0.0 => {
                let pct = (b - a) / a.abs() * 100.0;
                let worse = match nf.better {
                    Better::Lower => pct > 10.0,
                    Better::Higher => pct < -10.0,
                };
                let better = match nf.better {
                    Better::Lower => pct < -10.0,
                    Better::Higher => pct > 10.0,
                };
                (
                    format!("{pct:+.1}%"),
                    if worse {
                        regressions += 1;
                        "REGRESSION"
                    } else if better {
                        "improved"
                    } else {
                        ""
                    },
                )
            }
            (Some(a), Some(b)) => {
                let worse = match nf.better {
                    Better::Lower => b > a,
                    Better::Higher => b < a,
                };
                (
                    if a == b { "=".into() } else { "n/a".into() },
                    if worse {
                        regressions += 1;
                        "REGRESSION"
                    } else {
                        ""
                    },
                )
            }
            _ => ("–".into(), ""),
        };
        let _ = writeln!(
            o,
            "{:<46} {:>14} {:>14} {:>9}  {flag}",
            k,
            ov.map_or("–".into(), |v| format!("{} {}", num(v), nf.unit)),
            nv.map_or("–".into(), |v| format!("{} {}", num(v), nf.unit)),
            ch
        );
    }
    for (k, _) in old
        .figure_list()
        .iter()
        .filter(|(k, _)| !nm.contains_key(k.as_str()))
    {
        let _ = writeln!(o, "{k:<46} (gone)");
    }
    let _ = writeln!(
        o,
        "{regressions} figure(s) more than 10% worse{}",
        if old.mode != new.mode {
            " (modes differ: compare like with like)"
        } else {
            ""
        }
    );
    o
}
