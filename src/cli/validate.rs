//! `careplan validate`: files, folders, globs or stdin against the loaded
//! definitions, in parallel, with text, JSON or JUnit output.

use super::exit;
use super::load_args::LoadArgs;
use crate::issue::{Issue, IssueCode, Severity};
use crate::loader::{self, LoadOptions};
use crate::outcome::{self, Report};
use crate::tree::Format;
use crate::validator::{Options, Validator};
use anyhow::{bail, Result};
use clap::{Args, ValueEnum};
use rayon::prelude::*;
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Output {
    Text,
    Json,
    Junit,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Level {
    Error,
    Warning,
    Information,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum BestPractice {
    Ignore,
    Information,
    Warning,
    Error,
}

#[derive(Args, Debug)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub load: LoadArgs,
    /// Validate every resource against this profile too (canonical URL), beside its meta.profile.
    #[arg(long = "profile", value_name = "CANONICAL")]
    pub profiles: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub output: Output,
    /// Report issues of this severity and worse.
    #[arg(long, value_enum, default_value = "information")]
    pub level: Level,
    /// A terminology server (FHIR base URL): codes the loaded packages cannot
    /// decide (SNOMED CT, LOINC, value sets by filter) are checked with its ValueSet/$validate-code.
    #[arg(long, value_name = "URL")]
    pub tx: Option<String>,
    /// How failed best-practice invariants are reported.
    #[arg(long, value_enum, default_value = "warning")]
    pub best_practice: BestPractice,
    /// Leave out careplan's own PRSB profiles (profiles/, loaded by default).
    #[arg(long)]
    pub no_careplan_profiles: bool,
    /// Files, folders (searched for .json, .xml, .ndjson), glob patterns, or - for standard input.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<String>,
}

enum Input {
    Stdin,
    File(PathBuf),
}

impl Input {
    fn name(&self) -> String {
        match self {
            Input::Stdin => "-".into(),
            Input::File(p) => p.display().to_string(),
        }
    }
}

pub fn run(args: ValidateArgs) -> Result<i32> {
    let inputs = expand_inputs(&args.inputs)?;
    let ctx = loader::load(&LoadOptions { careplan_profiles: !args.no_careplan_profiles, ..args.load.options() })?;
    let validator = Validator::new(Arc::new(ctx), Options {
            profiles: args.profiles.clone(),
            tx: args.tx.clone(),
            best_practice: match args.best_practice {
                BestPractice::Ignore => None,
                BestPractice::Information => Some(Severity::Information),
                BestPractice::Warning => Some(Severity::Warning),
                BestPractice::Error => Some(Severity::Error),
            },
            ..Options::default()
        });
    let progress = progress_bar(inputs.len());
    let mut reports: Vec<Report> = inputs
        .par_iter()
        .map(|input| {
            let r = validate_input(&validator, input);
            if let Some(p) = &progress {
                p.inc(1);
            }
            r
        })
        .collect();
    if let Some(p) = progress {
        p.finish_and_clear();
    }
    let failed = reports.iter().any(Report::has_errors);
    let level = match args.level {
        Level::Error => Severity::Error,
        Level::Warning => Severity::Warning,
        Level::Information => Severity::Information,
    };
    for r in &mut reports {
        r.filter(level);
    }
    let text = match args.output {
        Output::Text => outcome::text_output(&reports),
        Output::Json => serde_json::to_string_pretty(&outcome::json_output(&reports))? + "\n",
        Output::Junit => outcome::junit_output(&reports),
    };
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()?;
    Ok(if failed { exit::INVALID } else { exit::OK })
}

fn progress_bar(n: usize) -> Option<indicatif::ProgressBar> {
    if n < 2 || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(n as u64);
    if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} validated ({per_sec}, {eta} left)") {
        bar.set_style(style);
    }
    Some(bar)
}

/// Files, folders and globs into a sorted list of inputs; `-` is standard input.
fn expand_inputs(args: &[String]) -> Result<Vec<Input>> {
    let mut out = Vec::new();
    for a in args {
        if a == "-" {
            out.push(Input::Stdin);
            continue;
        }
        let path = Path::new(a);
        if path.is_dir() {
            let mut files = Vec::new();
            collect(path, &mut files)?;
            files.sort();
            out.extend(files.into_iter().map(Input::File));
        } else if path.is_file() {
            out.push(Input::File(path.to_path_buf()));
        } else if a.contains(['*', '?', '[']) {
            let mut matched: Vec<PathBuf> = glob::glob(a)?.filter_map(Result::ok).filter(|p| p.is_file()).collect();
            if matched.is_empty() {
                bail!("the pattern {a} matches no files");
            }
            matched.sort();
            out.extend(matched.into_iter().map(Input::File));
        } else {
            bail!("{a}: no such file or folder");
        }
    }
    Ok(out)
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, out)?;
        } else if path.extension().is_some_and(|x| x == "json" || x == "xml" || x == "ndjson") {
            out.push(path);
        }
    }
    Ok(())
}

fn validate_input(validator: &Validator, input: &Input) -> Report {
    let name = input.name();
    let bytes = match input {
        Input::Stdin => {
            let mut buf = Vec::new();
            std::io::stdin().read_to_end(&mut buf).map(|_| buf)
        }
        Input::File(p) => std::fs::read(p),
    };
    let bytes = match bytes {
        Ok(b) => b,
        Err(e) => {
            let issue = Issue::new(Severity::Fatal, IssueCode::Exception, "", format!("cannot read {name}: {e}"));
            return Report { input: name, issues: vec![issue] };
        }
    };
    let issues = if name.ends_with(".ndjson") {
        validate_ndjson(validator, &bytes)
    } else {
        let doc = crate::parse::parse(&bytes, crate::parse::format_of_name(&name));
        drop(bytes); // the tree holds what is needed; a large Bundle should not be in memory twice
        validator.validate_document(&doc)
    };
    Report { input: name, issues }
}


/// One resource per line; positions are lines of the whole file.
fn validate_ndjson(validator: &Validator, bytes: &[u8]) -> Vec<Issue> {
    let mut issues = Vec::new();
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        for mut issue in validator.validate_bytes(line, Some(Format::Json)) {
            if let Some(p) = &mut issue.pos {
                p.line = i as u32 + 1;
            }
            issues.push(issue);
        }
    }
    issues
}
