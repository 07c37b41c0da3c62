//! `careplan import`: care-plan exports → PRSB plans → FHIR (see `crate::import`).

use super::exit;
use super::load_args::LoadArgs;
use crate::import::{self, mapping::Mapping, Post, To};
use crate::validator::{Options, Validator};
use anyhow::{bail, Result};
use clap::Args;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Args, Debug)]
pub struct ImportArgs {
    #[command(flatten)]
    pub load: LoadArgs,
    /// The mapping file (TOML): which input holds which PRSB section and which column fills which item.
    #[arg(long, value_name = "MAPPING", required_unless_present = "init")]
    pub mapping: Option<PathBuf>,
    /// Write a starting mapping for these inputs to standard output (or --out FILE) and stop.
    #[arg(long, conflicts_with_all = ["mapping", "check", "post"])]
    pub init: bool,
    /// A dry run: read everything, report per row and column what could not be read, which PRSB items stay empty and which columns no table reads; write and send nothing.
    #[arg(long)]
    pub check: bool,
    /// What to make of each person's plan.
    #[arg(long, value_enum, default_value = "prsb")]
    pub to: To,
    /// The folder to write each plan (or Bundle) to; an earlier import there is read first, and what this export no longer has is archived.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Send each plan to this FHIR server: `--to prsb` to its `$from-prsb?store=true` (a careplan server, which archives what the export left out), `--to fhir` the transaction Bundle to the base.
    #[arg(long, value_name = "URL")]
    pub post: Option<String>,
    /// The bearer token for --post.
    #[arg(long, env = "CAREPLAN_TOKEN", value_name = "TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Print the report as JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// The exports: CSV or TSV files, Excel workbooks, JSON arrays or NDJSON files.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
}

pub fn run(args: ImportArgs) -> Result<i32> {
    if args.init {
        let text = import::init::starting_mapping(&args.inputs)?;
        match &args.out {
            Some(file) => std::fs::write(file, text)?,
            None => print!("{text}"),
        }
        return Ok(exit::OK);
    }
    let Some(mapping_path) = &args.mapping else { bail!("--mapping is required (start one with --init)") };
    let mapping = Mapping::read(mapping_path)?;
    if !args.check && args.out.is_none() && args.post.is_none() {
        bail!("say where the plans go: --out DIR, --post URL, or --check for a dry run");
    }
    let validator = if args.to == To::Fhir {
        let ctx = crate::loader::load(&crate::loader::LoadOptions { careplan_profiles: true, ..args.load.options() })?;
        Some(Validator::new(Arc::new(ctx), Options::default()))
    } else {
        None
    };
    let opts = import::Options {
        to: args.to,
        check: args.check,
        out: args.out.clone(),
        post: args.post.clone().map(|url| Post { url, token: args.token.clone() }),
        now: crate::primitive::now_rfc3339(),
        validator: validator.as_ref(),
        progress: !args.quiet,
    };
    let report = import::run(&mapping, &args.inputs, &opts)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        eprint!("{}", report.text());
    }
    Ok(if report.has_errors() { exit::INVALID } else { exit::OK })
}
