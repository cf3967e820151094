//! `whirl-bench`: the Whirl benchmark suite (performance.md §5: B1-B6, B9, the control plane and
//! the HTTP floor).
//!
//! - `whirl-bench run [--smoke] [--only B1,B4] [--out FILE.json] [--compare OLD.json]`: builds
//!   `whirl` in release mode, starts its own `whirl standalone` servers on free ports with
//!   temporary data dirs, runs the scenarios, stops everything, writes the JSON and (full runs)
//!   bench/REPORT.md with SVG plots under bench/plots/.
//! - `whirl-bench report FILE.json`: regenerates bench/REPORT.md from a run.
//! - `whirl-bench compare OLD.json NEW.json`: the change per figure.

mod direct;
mod floor;
mod loadgen;
mod machine;
mod model;
mod report;
mod scenarios;
mod server;
mod testhost;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};

use crate::model::Run;

#[derive(Debug, Parser)]
#[command(name = "whirl-bench", about = "Whirl benchmark suite")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Build whirl (release), run the scenarios, write the JSON and the report.
    Run(RunArgs),
    /// Regenerate REPORT.md and the plots from a run's JSON.
    Report {
        json: PathBuf,
        /// Where REPORT.md and plots/ go (default: the bench/ folder).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Add a comparison section against this older run.
        #[arg(long)]
        compare: Option<PathBuf>,
    },
    /// Print the change per figure between two runs.
    Compare { old: PathBuf, new: PathBuf },
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// Each scenario a few seconds, few iterations (CI: the harness must not rot). Timings of a
    /// smoke run are not meaningful.
    #[arg(long)]
    smoke: bool,
    /// Comma-separated scenarios: floor, B1, B2, B3, B4, B5, B6, B9, CP, WEB, COMP, CONC, ALRM,
    /// CLUSTER (default: all).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// The JSON to write (default: bench/results/<date>.json for a full run of every scenario,
    /// otherwise <target dir>/bench-smoke.json or bench-full.json).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print (and add to the report) the change per figure against an older run.
    #[arg(long)]
    compare: Option<PathBuf>,
    /// Use this whirl binary instead of building it.
    #[arg(long)]
    whirl: Option<PathBuf>,
    /// Do not write bench/REPORT.md (smoke and --only runs never write it unless --report).
    #[arg(long)]
    no_report: bool,
    /// Write bench/REPORT.md even for a smoke or --only run.
    #[arg(long, conflicts_with = "no_report")]
    report: bool,
}

/// The bench/ folder of the source tree.
fn bench_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn workspace_dir() -> PathBuf {
    bench_dir()
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

fn rel_to(path: &Path, base: &Path) -> String {
    let p = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let b = base.canonicalize().unwrap_or_else(|_| base.to_path_buf());
    match p.strip_prefix(&b) {
        Ok(r) => r.display().to_string(),
        Err(_) => p.display().to_string(),
    }
}

fn main() -> ExitCode {
    // The bench binary may serve as a sandbox init helper too (it is not used as one by default).
    whirl_sandbox::run_init_if_requested();
    let cli = Cli::parse();
    let r = match cli.cmd {
        Cmd::Run(args) => run(args),
        Cmd::Report { json, dir, compare } => (|| {
            let run = report::load(&json)?;
            let dir = dir.unwrap_or_else(bench_dir);
            let old = compare.as_ref().map(|p| report::load(p)).transpose()?;
            let old_name = compare.as_ref().map(|p| p.display().to_string());
            report::write(
                &run,
                &dir,
                &rel_to(&json, &dir),
                old_name.as_deref().zip(old.as_ref()),
            )?;
            println!("wrote {}", dir.join("REPORT.md").display());
            Ok(true)
        })(),
        Cmd::Compare { old, new } => (|| {
            let o = report::load(&old)?;
            let n = report::load(&new)?;
            print!("{}", report::compare_text(&o, &n));
            Ok(true)
        })(),
    };
    match r {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Returns Ok(false) when a scenario failed or saw request errors.
fn run(args: RunArgs) -> Result<bool> {
    let selected: Vec<String> = if args.only.is_empty() {
        scenarios::ALL.iter().map(|s| s.to_string()).collect()
    } else {
        let mut v = Vec::new();
        for o in &args.only {
            let Some(id) = scenarios::ALL
                .iter()
                .find(|a| a.eq_ignore_ascii_case(o.trim()))
            else {
                bail!(
                    "unknown scenario '{o}'; known: {}",
                    scenarios::ALL.join(", ")
                );
            };
            v.push(id.to_string());
        }
        // Run order is fixed (later scenarios use earlier in-run baselines).
        scenarios::ALL
            .iter()
            .filter(|a| v.iter().any(|x| x == *a))
            .map(|s| s.to_string())
            .collect()
    };
    let old = args.compare.as_ref().map(|p| report::load(p)).transpose()?;
    let load_before = machine::load_average();
    let withheld =
        (load_before[0] > 1.0).then(|| format!("load average {:.2} > 1", load_before[0]));
    if let Some(w) = &withheld {
        eprintln!(
            "NOTE: {w} before the run: p99 figures will be withheld (null) from this run's results."
        );
    }
    let whirl = match &args.whirl {
        Some(p) => p.clone(),
        None => server::build_whirl(&workspace_dir())?,
    };
    let date = machine::now_utc();
    let (commit, dirty) = machine::git(&workspace_dir());
    let mode = if args.smoke { "smoke" } else { "full" };
    let command = {
        let mut c = String::from("cargo run --release -p whirl-bench -- run");
        if args.smoke {
            c.push_str(" --smoke");
        }
        if !args.only.is_empty() {
            c.push_str(&format!(" --only {}", args.only.join(",")));
        }
        c
    };
    eprintln!(
        "whirl-bench {mode}: {} ({})",
        selected.join(", "),
        whirl.display()
    );
    let t0 = Instant::now();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("tokio runtime")?;
    let (scenarios, server_errors) = rt.block_on(async {
        let mut ctx = scenarios::Ctx::new(args.smoke, whirl.clone())?;
        let mut out = Vec::new();
        for id in &selected {
            eprintln!("== {id}: {}", scenarios::title(id));
            let mut s = ctx.run(id).await;
            if withheld.is_some() {
                for f in s.figures.iter_mut().filter(|f| f.tail) {
                    f.value = None;
                }
                for x in &mut s.series {
                    x.cdf.retain(|(p, _)| *p <= 90.0);
                }
            }
            print_scenario(&s);
            out.push(s);
        }
        ctx.stop_server().await;
        ctx.direct.stop_egress();
        Ok::<_, anyhow::Error>((out, ctx.server_errors))
    })?;
    let run = Run {
        tool: format!("whirl-bench {}", env!("CARGO_PKG_VERSION")),
        date: date.clone(),
        mode: mode.into(),
        command,
        commit,
        dirty,
        machine: machine::machine(),
        load_before,
        load_after: machine::load_average(),
        p99_withheld: withheld.clone(),
        duration_s: t0.elapsed().as_secs_f64(),
        scenarios,
    };
    // Only a full run of every scenario is a candidate for bench/results and bench/REPORT.md.
    let complete = !args.smoke && args.only.is_empty();
    let out = args.out.clone().unwrap_or_else(|| {
        if !complete {
            std::env::var_os("CARGO_TARGET_DIR")
                .map_or_else(|| workspace_dir().join("target"), PathBuf::from)
                .join(format!("bench-{mode}.json"))
        } else {
            bench_dir()
                .join("results")
                .join(format!("{}.json", date.replace(':', "-")))
        }
    });
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&out, serde_json::to_string_pretty(&run)? + "\n")?;
    eprintln!("wrote {}", out.display());
    let write_report = if complete {
        !args.no_report
    } else {
        args.report
    };
    if write_report {
        let dir = bench_dir();
        report::write(
            &run,
            &dir,
            &rel_to(&out, &dir),
            args.compare
                .as_ref()
                .map(|p| p.display().to_string())
                .as_deref()
                .zip(old.as_ref()),
        )?;
        eprintln!("wrote {}", dir.join("REPORT.md").display());
    }
    if let Some(o) = &old {
        println!("\n{}", report::compare_text(o, &run));
    }
    if let Some(w) = &withheld {
        eprintln!("p99 withheld: {w} before the run started.");
    }
    for e in &server_errors {
        eprintln!("whirl logged errors:\n{e}");
    }
    let bad: Vec<String> = run
        .scenarios
        .iter()
        .filter(|s| s.error.is_some() || s.errors > 0)
        .map(|s| {
            format!(
                "{}: {}",
                s.id,
                s.error
                    .clone()
                    .unwrap_or_else(|| format!("{} request errors", s.errors))
            )
        })
        .collect();
    if !bad.is_empty() {
        eprintln!("FAILED scenarios:\n  {}", bad.join("\n  "));
        return Ok(false);
    }
    eprintln!(
        "all {} scenarios passed in {:.0} s",
        run.scenarios.len(),
        run.duration_s
    );
    Ok(true)
}

fn print_scenario(s: &model::Scenario) {
    if let Some(e) = &s.error {
        eprintln!("   ERROR: {e}");
    }
    for f in &s.figures {
        let v = f.value.map_or_else(
            || "withheld".to_string(),
            |v| format!("{} {}", report::num(v), f.unit),
        );
        let t = match (f.meets(), &f.target) {
            (Some(true), Some(t)) => format!("  (target {} met)", report::num(t.value)),
            (Some(false), Some(t)) => format!("  (target {} MISSED)", report::num(t.value)),
            _ => String::new(),
        };
        eprintln!("   {:<58} {:>16}{t}", f.label, v);
    }
    for n in &s.notes {
        if n.contains("error") {
            eprintln!("   note: {n}");
        }
    }
    eprintln!("   ({:.1} s)", s.duration_s);
}
