//! `careplan conformance`: runs a fhir-test-cases style manifest and prints
//! how far we agree with the reference validator, per module and in total.

use super::exit;
use super::load_args::LoadArgs;
use crate::conformance::{self, Filter, Manifest, RunOutcome};
use anyhow::Result;
use clap::Args;
use std::io::Write;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ConformanceArgs {
    #[command(flatten)]
    pub load: LoadArgs,
    /// Run every case, not only those whose reference run used no options.
    #[arg(long)]
    pub all: bool,
    /// Only the cases of this module.
    #[arg(long, value_name = "M")]
    pub module: Option<String>,
    /// Print every run (ours and the reference's messages) and the summary as JSON.
    #[arg(long)]
    pub json: bool,
    /// List each disagreeing case with our errors and the reference's.
    #[arg(long)]
    pub verbose: bool,
    /// The manifest (manifest.json of a fhir-test-cases style folder).
    #[arg(value_name = "MANIFEST")]
    pub manifest: PathBuf,
}

/// How many messages of each side `--verbose` shows per case.
const SHOWN: usize = 4;

pub fn run(args: ConformanceArgs) -> Result<i32> {
    let manifest = Manifest::read(&args.manifest)?;
    let mut opts = args.load.options();
    opts.progress = false;
    let base = conformance::load_base(&opts)?;
    let filter = Filter { plain_only: !args.all, module: args.module.clone() };
    let report = conformance::run_manifest(&manifest, base, &filter);
    let summary = report.summary(!args.all);
    let mut out = std::io::stdout().lock();
    if args.json {
        let v = serde_json::json!({ "summary": summary, "runs": report.runs });
        writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
        return Ok(exit::OK);
    }
    if args.verbose {
        for r in report.runs.iter().filter(|r| !r.count_agrees()) {
            write!(out, "{}", describe(r))?;
        }
        writeln!(out, "Disagreements by first difference:")?;
        for (key, runs) in report.disagreement_groups(!args.all) {
            writeln!(out, "{:>4}  {}", runs.len(), one_line(&key, 160))?;
        }
        writeln!(out)?;
    }
    writeln!(out, "{} cases ({}):", if args.all { "All" } else { "Plain" }, manifest.dir.join("manifest.json").display())?;
    write!(out, "{}", summary.table())?;
    Ok(exit::OK)
}

fn one_line(s: &str, max: usize) -> String {
    let s: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.chars().count() > max {
        s.chars().take(max).collect::<String>() + "…"
    } else {
        s
    }
}

/// A disagreeing run, for whoever fixes the validator.
fn describe(r: &RunOutcome) -> String {
    let mut s = format!(
        "== {} [{}, {:?}{}] {}: ours {} errors, java {}\n",
        r.case,
        r.module,
        r.kind,
        if r.plain { "" } else { ", options" },
        r.file,
        r.our_error_count(),
        r.expected.error_count
    );
    if let Some(c) = &r.crash {
        s += &format!("   CRASH: {}\n", one_line(c, 200));
    }
    for l in &r.load_issues {
        s += &format!("   load: {}\n", one_line(l, 200));
    }
    for m in r.our_errors().take(SHOWN) {
        s += &format!("   ours: {} @ {}: {}\n", m.severity, m.expression, one_line(&m.text, 200));
    }
    for m in r.expected.messages.iter().filter(|m| m.is_error()).take(SHOWN) {
        let expr = m.expressions().join(", ");
        s += &format!("   java: {} @ {}: {}\n", m.severity, expr, one_line(m.text.as_deref().unwrap_or(""), 200));
    }
    s
}
