//! `careplan bench serve`: ingest throughput of `careplan serve`, with
//! validation on and off. Each run starts a real server process on a fresh
//! database, warms it up, posts generated care-plan transactions and
//! Synthea-style patient Bundles from concurrent clients, and reads the
//! server's peak memory. A measurement, not a test: it always exits 0.

use super::load_args::LoadArgs;
use crate::server::bench::{self, Load, LoadReport};
use anyhow::{anyhow, Context as _, Result};
use clap::Args;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// Goal: resources stored per second with validation on.
pub const GOAL_RESOURCES_PER_SEC: f64 = 3000.0;
/// Goal: validation costs less than this share of ingest throughput.
pub const GOAL_VALIDATION_SHARE: f64 = 0.30;

#[derive(Args, Debug)]
pub struct BenchServeArgs {
    /// Care-plan transactions (7 resources each) per run.
    #[arg(long, default_value_t = 400)]
    pub care_plans: usize,
    /// Synthea-style patient Bundles (43 resources each) per run.
    #[arg(long, default_value_t = 150)]
    pub patient_bundles: usize,
    /// Concurrent clients.
    #[arg(long, default_value_t = 4)]
    pub clients: usize,
    /// Runs of each mode, alternating on and off (a fresh server each); the median run is reported.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Print the figures as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

struct Running {
    child: Child,
    base: String,
}

fn start(load: &LoadArgs, database: &std::path::Path, validation: &str) -> Result<Running> {
    let exe = std::env::current_exe()?;
    let mut cmd = Command::new(exe);
    cmd.args(["serve", "--open", "--address", "127.0.0.1:0", "--validation", validation, "--database"]).arg(database);
    if load.offline {
        cmd.arg("--offline");
    }
    if let Some(cache) = &load.cache {
        cmd.arg("--cache").arg(cache);
    }
    for ig in &load.igs {
        cmd.args(["--ig", ig]);
    }
    let mut child = cmd.env("CAREPLAN_LOG", "warn").stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn()?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?).read_line(&mut line)?;
    let base = line.trim().strip_prefix("careplan serve: listening on ").ok_or_else(|| anyhow!("the server did not start: {line}"))?.to_string();
    Ok(Running { child, base })
}

fn peak_rss_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = status.lines().find(|l| l.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn stop(mut running: Running) -> Result<()> {
    Command::new("kill").args(["-TERM", &running.child.id().to_string()]).status()?;
    running.child.wait()?;
    Ok(())
}

/// One run: a fresh server in this validation mode, warmed up, then the load.
fn run_mode(args: &BenchServeArgs, load: &LoadArgs, validation: &str) -> Result<(LoadReport, Option<f64>)> {
    let dir = std::env::temp_dir().join(format!("careplan-bench-serve-{}-{validation}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let running = start(load, &dir.join("bench.db"), validation).context("starting careplan serve")?;
    let warm = Load { base: running.base.clone(), care_plans: 20, patient_bundles: 5, clients: args.clients };
    bench::drive(&warm, &bench::bundles(&warm, 10_000_000));
    let real = Load { base: running.base.clone(), care_plans: args.care_plans, patient_bundles: args.patient_bundles, clients: args.clients };
    let bundles = bench::bundles(&real, 0);
    let report = bench::drive(&real, &bundles);
    let peak = peak_rss_mb(running.child.id());
    stop(running)?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok((report, peak))
}

/// The run with the median throughput, the range of throughputs, and the highest peak memory.
fn summarise(runs: Vec<(LoadReport, Option<f64>)>) -> (LoadReport, (f64, f64), Option<f64>) {
    let peak = runs.iter().filter_map(|r| r.1).reduce(f64::max);
    let mut reports: Vec<LoadReport> = runs.into_iter().map(|r| r.0).collect();
    reports.sort_by(|a, b| a.resources_per_second.total_cmp(&b.resources_per_second));
    let range = (reports.first().map_or(0.0, |r| r.resources_per_second), reports.last().map_or(0.0, |r| r.resources_per_second));
    let median = reports.swap_remove(reports.len() / 2);
    (median, range, peak)
}

pub fn run(args: BenchServeArgs, load: &LoadArgs) -> Result<i32> {
    let (mut on_runs, mut off_runs) = (Vec::new(), Vec::new());
    for _ in 0..args.rounds.max(1) {
        on_runs.push(run_mode(&args, load, "reject")?);
        off_runs.push(run_mode(&args, load, "off")?);
    }
    let (on, on_range, peak_on) = summarise(on_runs);
    let (off, off_range, peak_off) = summarise(off_runs);
    let share = 1.0 - on.resources_per_second / off.resources_per_second.max(1e-9);
    if args.json {
        let v = serde_json::json!({"validation_on": on, "validation_off": off, "range_on": on_range, "range_off": off_range, "peak_mb_on": peak_on, "peak_mb_off": peak_off, "validation_share": share});
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(super::exit::OK);
    }
    println!(
        "careplan bench serve: {} care-plan transactions (7 resources) + {} patient Bundles (43 resources), {} clients; median of {} runs per mode",
        args.care_plans,
        args.patient_bundles,
        args.clients,
        args.rounds.max(1)
    );
    println!("{:<16} {:>10} {:>9} {:>12} {:>13} {:>9} {:>9} {:>10} {:>9}", "validation", "resources", "seconds", "resources/s", "range", "p50 ms", "p99 ms", "peak MB", "failures");
    for (name, r, range, peak) in [("on (reject)", &on, on_range, peak_on), ("off", &off, off_range, peak_off)] {
        println!(
            "{:<16} {:>10} {:>9.2} {:>12.0} {:>13} {:>9.1} {:>9.1} {:>10} {:>9}",
            name,
            r.resources,
            r.seconds,
            r.resources_per_second,
            format!("{:.0}-{:.0}", range.0, range.1),
            r.p50_ms,
            r.p99_ms,
            peak.map_or("?".into(), |p| format!("{p:.0}")),
            r.failures
        );
        if let Some(f) = &r.first_failure {
            println!("  first failure: {f}");
        }
    }
    let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
    println!("validation's share of ingest time: {:.0}% (goal < {:.0}%: {})", share * 100.0, GOAL_VALIDATION_SHARE * 100.0, verdict(share < GOAL_VALIDATION_SHARE));
    println!("resources/s with validation: {:.0} (goal >= {GOAL_RESOURCES_PER_SEC:.0}: {})", on.resources_per_second, verdict(on.resources_per_second >= GOAL_RESOURCES_PER_SEC));
    Ok(super::exit::OK)
}
