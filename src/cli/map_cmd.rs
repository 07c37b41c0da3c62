//! `careplan map` (PRSB plan → FHIR transaction Bundle) and `careplan unmap`
//! (FHIR → PRSB plan).

use super::exit;
use super::load_args::LoadArgs;
use super::validate::Output;
use crate::outcome::{self, Report};
use crate::prsb;
use crate::tree::Format;
use crate::validator::{Options, Validator};
use anyhow::{Context as _, Result};
use clap::Args;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Args, Debug)]
pub struct MapArgs {
    #[command(flatten)]
    pub load: LoadArgs,
    /// Also validate the Bundle against our profiles (and any --ig) and print its OperationOutcome on standard error.
    #[arg(long)]
    pub validate: bool,
    /// How problems are printed: text lines, or an OperationOutcome.
    #[arg(long, value_enum, default_value = "text")]
    pub output: Output,
    /// Write the Bundle here instead of standard output.
    #[arg(short = 'o', long = "out", value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// The plan in the PRSB format (docs/prsb-format.md), or - for standard input.
    #[arg(value_name = "PLAN")]
    pub plan: String,
}

#[derive(Args, Debug)]
pub struct UnmapArgs {
    /// Leave out archived items: the plan as its active view shows it.
    #[arg(long)]
    pub active: bool,
    /// Which plan, when the resources hold several CarePlans (its plan id or resource id).
    #[arg(long, value_name = "ID")]
    pub plan: Option<String>,
    /// Write the plan here instead of standard output.
    #[arg(short = 'o', long = "out", value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// FHIR JSON files: a Bundle, or the resources of one plan, or - for standard input.
    #[arg(required = true, value_name = "FHIR")]
    pub inputs: Vec<String>,
}

fn read_input(name: &str) -> Result<Vec<u8>> {
    if name == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .context("could not read standard input")?;
        Ok(bytes)
    } else {
        std::fs::read(name).with_context(|| format!("could not read {name}"))
    }
}

fn write_output(out: &Option<PathBuf>, text: &str) -> Result<()> {
    match out {
        Some(path) => std::fs::write(path, text)
            .with_context(|| format!("could not write {}", path.display())),
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(text.as_bytes())?;
            stdout.flush()?;
            Ok(())
        }
    }
}

fn print_report(report: &Report, output: Output) {
    let text = match output {
        Output::Json => {
            let mut t = serde_json::to_string_pretty(&outcome::operation_outcome(report))
                .unwrap_or_default();
            t.push('\n');
            t
        }
        _ => outcome::text_output(std::slice::from_ref(report)),
    };
    eprint!("{text}");
}

pub fn run_map(args: MapArgs) -> Result<i32> {
    let bytes = read_input(&args.plan)?;
    let plan = match prsb::read(&bytes) {
        Ok(plan) => plan,
        Err(problems) => {
            let report = Report {
                input: args.plan.clone(),
                issues: prsb::problems_as_issues(&bytes, &problems),
            };
            print_report(&report, args.output);
            return Ok(exit::INVALID);
        }
    };
    let bundle = prsb::map::map(&plan);
    let json = prsb::map::to_json(&bundle)?;
    write_output(&args.out, &json)?;
    if !args.validate {
        return Ok(exit::OK);
    }
    let ctx = crate::loader::load(&crate::loader::LoadOptions { careplan_profiles: true, ..args.load.options() })?;
    let validator = Validator::new(Arc::new(ctx), Options::default());
    let report = Report {
        input: args
            .out
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| format!("{} (mapped)", args.plan)),
        issues: validator.validate_bytes(json.as_bytes(), Some(Format::Json)),
    };
    print_report(&report, args.output);
    Ok(if report.has_errors() { exit::INVALID } else { exit::OK })
}

pub fn run_unmap(args: UnmapArgs) -> Result<i32> {
    let mut resources = Vec::new();
    for input in &args.inputs {
        let bytes = read_input(input)?;
        resources.extend(prsb::unmap::read_resources(&bytes).with_context(|| input.clone())?);
    }
    let mut plan = prsb::unmap::unmap(&resources, args.plan.as_deref())?;
    if args.active {
        plan = prsb::archive::active_view(&plan);
    }
    let mut text = serde_json::to_string_pretty(&plan)?;
    text.push('\n');
    write_output(&args.out, &text)?;
    Ok(exit::OK)
}

#[derive(Args, Debug)]
pub struct ArchiveArgs {
    /// Id of the item to archive (a strength, need, goal, stage goal, outcome, action, comment, attachment or document).
    #[arg(long, value_name = "ID")]
    pub item: String,
    /// Why it is archived.
    #[arg(long)]
    pub reason: Option<String>,
    /// When (RFC 3339 date-time) [default: now].
    #[arg(long, value_name = "DATETIME")]
    pub at: Option<String>,
    /// For a goal: move its actions still under way to this goal instead of archiving them.
    #[arg(long, value_name = "GOAL")]
    pub move_actions_to: Option<String>,
    /// Write the plan here instead of standard output.
    #[arg(short = 'o', long = "out", value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// The plan in the PRSB format, or - for standard input.
    #[arg(value_name = "PLAN")]
    pub plan: String,
}

pub fn run_archive(args: ArchiveArgs) -> Result<i32> {
    use crate::prsb::archive::{self, GoalActions};
    let bytes = read_input(&args.plan)?;
    let mut plan = match prsb::read(&bytes) {
        Ok(plan) => plan,
        Err(problems) => {
            let report = Report { input: args.plan.clone(), issues: prsb::problems_as_issues(&bytes, &problems) };
            print_report(&report, Output::Text);
            return Ok(exit::INVALID);
        }
    };
    let at = args.at.clone().unwrap_or_else(crate::primitive::now_rfc3339);
    let reason = args.reason.as_deref();
    let outcome = match &args.move_actions_to {
        Some(goal) => archive::archive_goal(&mut plan, &args.item, &at, reason, GoalActions::MoveTo(goal.clone())),
        None => archive::archive_item(&mut plan, &args.item, &at, reason),
    };
    let done = match outcome {
        Ok(done) => done,
        Err(e) => {
            eprintln!("{}: cannot archive: {e}", args.plan);
            return Ok(exit::INVALID);
        }
    };
    eprintln!("archived: {}", done.archived.join(", "));
    if !done.moved.is_empty() {
        eprintln!("moved to {}: {}", args.move_actions_to.as_deref().unwrap_or_default(), done.moved.join(", "));
    }
    if !done.goals_to_review.is_empty() {
        eprintln!("review these goals, which address the archived need: {}", done.goals_to_review.join(", "));
    }
    let mut text = serde_json::to_string_pretty(&plan)?;
    text.push('\n');
    write_output(&args.out, &text)?;
    Ok(exit::OK)
}
