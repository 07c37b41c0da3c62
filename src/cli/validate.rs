//! `careplan validate`: files, folders, globs or stdin against the loaded
//! definitions, in parallel, with text, JSON or JUnit output.

use super::exit;
use super::inputs::{self, Input};
use super::load_args::LoadArgs;
use super::progress::Progress;
use crate::context::Context;
use crate::issue::{Issue, IssueCode, Severity};
use crate::loader::{self, LoadOptions};
use crate::outcome::{self, Report};
use crate::tree::Format;
use crate::validator::{Options, Validator};
use anyhow::{bail, Result};
use clap::{Args, ValueEnum};
use rayon::prelude::*;
use std::io::{Read, Write};
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

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum MarkdownHtml {
    Ignore,
    Warning,
    Error,
}

/// Whether the resources validated must have an id (the HL7 validator's -resource-id-rule).
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum ResourceIdRule {
    Optional,
    Required,
    Prohibited,
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
    /// `n/a` validates without terminology services and says what could not be checked (as the HL7 validator's -tx n/a).
    #[arg(long, value_name = "URL")]
    pub tx: Option<String>,
    /// How failed best-practice invariants are reported.
    #[arg(long, value_enum, default_value = "warning")]
    pub best_practice: BestPractice,
    /// Leave out careplan's own PRSB profiles (profiles/, loaded by default).
    #[arg(long)]
    pub no_careplan_profiles: bool,
    /// Take the type in a RESTful reference's URL (`Group/1`) as its target's
    /// type when the target is not at hand, and check it against the types
    /// the element allows (as the HL7 validator's -assumeValidRestReferences).
    #[arg(long)]
    pub assume_valid_rest_references: bool,
    /// Refuse strings that look like they hold HTML tags (error); without
    /// it such a string is an information hint (as the HL7 validator's -security-checks).
    #[arg(long)]
    pub security_checks: bool,
    /// Hold content to the rules of HL7's own publications (as the HL7
    /// validator's -forPublication): HL7 canonical resources name their work group.
    #[arg(long)]
    pub for_publication: bool,
    /// Refuse canonical resources marked experimental (as the HL7 validator's -no-experimental-content).
    #[arg(long)]
    pub no_experimental_content: bool,
    /// Refuse Unicode bi-directional control characters in values (as the
    /// HL7 validator's -no_unicode_bidi_control_chars).
    #[arg(long)]
    pub no_unicode_bidi_control_chars: bool,
    /// Say, as information, which profiles each resource is validated against
    /// and why (as the HL7 validator's -crumb-trails).
    #[arg(long)]
    pub crumb_trails: bool,
    /// With --profile: name, as information, each element used that the
    /// profiles do not mark must-support (as the HL7 validator's -hintAboutNonMustSupport).
    #[arg(long)]
    pub hint_about_must_support: bool,
    /// Whether each resource validated must have an id, or must not (as
    /// the HL7 validator's -resource-id-rule; a create, for example, has none).
    #[arg(long, value_enum, default_value = "optional")]
    pub resource_id_rule: ResourceIdRule,
    /// The most issues one input may report; past it, the last one says
    /// validation stopped (as the HL7 validator's -max-validation-messages).
    #[arg(long, value_name = "N")]
    pub max_validation_messages: Option<usize>,
    /// How markdown that holds HTML tags is reported.
    #[arg(long, value_enum, default_value = "warning")]
    pub html_in_markdown: MarkdownHtml,
    /// Report wrong displays of codes as warnings, not errors (as the HL7
    /// validator's -display-issues-are-warnings).
    #[arg(long)]
    pub display_issues_are_warnings: bool,
    /// Files, folders (searched for .json, .xml, .ndjson), glob patterns, or - for standard input.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<String>,
}

pub fn run(args: ValidateArgs) -> Result<i32> {
    let inputs = inputs::expand(&args.inputs)?;
    let ctx = loader::load(&LoadOptions { careplan_profiles: !args.no_careplan_profiles, ..args.load.options() })?;
    for profile in &args.profiles {
        check_profile(&ctx, profile)?;
    }
    let validator = Validator::new(Arc::new(ctx), Options {
            profiles: args.profiles.clone(),
            tx: args.tx.clone(),
            best_practice: match args.best_practice {
                BestPractice::Ignore => None,
                BestPractice::Information => Some(Severity::Information),
                BestPractice::Warning => Some(Severity::Warning),
                BestPractice::Error => Some(Severity::Error),
            },
            assume_valid_rest_references: args.assume_valid_rest_references,
            security_checks: args.security_checks,
            for_publication: args.for_publication,
            no_experimental_content: args.no_experimental_content,
            no_unicode_bidi_control_chars: args.no_unicode_bidi_control_chars,
            signposts: args.crumb_trails,
            hint_about_must_support: args.hint_about_must_support,
            max_messages: args.max_validation_messages,
            resource_id_rule: match args.resource_id_rule {
                ResourceIdRule::Optional => crate::validator::IdRule::Optional,
                ResourceIdRule::Required => crate::validator::IdRule::Required,
                ResourceIdRule::Prohibited => crate::validator::IdRule::Prohibited,
            },
            html_in_markdown: match args.html_in_markdown {
                MarkdownHtml::Ignore => crate::validator::HtmlInMarkdown::Ignore,
                MarkdownHtml::Warning => crate::validator::HtmlInMarkdown::Warning,
                MarkdownHtml::Error => crate::validator::HtmlInMarkdown::Error,
            },
            display_issues_are_warnings: args.display_issues_are_warnings,
            ..Options::default()
        });
    let progress = Progress::start(inputs.len());
    let mut reports: Vec<Report> = inputs
        .par_iter()
        .map(|input| {
            let r = validate_input(&validator, input);
            progress.done(r.has_errors());
            r
        })
        .collect();
    progress.finish();
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

/// A `--profile` that names nothing loaded would check nothing while the run
/// passes: that is a mistake in the command, so careplan does not run.
fn check_profile(ctx: &Context, profile: &str) -> Result<()> {
    if ctx.structure(profile).is_some() {
        return Ok(());
    }
    if let Some(e) = ctx.entry(profile).filter(|e| e.resource_type == "StructureDefinition") {
        bail!("--profile {profile}: the StructureDefinition from {} cannot be used (see the warnings above); fix it or leave the profile out", e.origin);
    }
    let url = profile.split('|').next().unwrap_or(profile);
    let tail = url.rsplit('/').next().unwrap_or(url).to_ascii_lowercase();
    let mut near: Vec<&str> = ctx
        .entries()
        .filter(|e| e.resource_type == "StructureDefinition" && e.url != url)
        .filter(|e| e.url.eq_ignore_ascii_case(url) || e.url.rsplit('/').next().is_some_and(|t| t.to_ascii_lowercase() == tail))
        .map(|e| e.url.as_str())
        .collect();
    near.sort_unstable();
    near.dedup();
    let hint = match near.as_slice() {
        [] => String::new(),
        some => format!(" (did you mean {}?)", some.iter().take(3).copied().collect::<Vec<_>>().join(" or ")),
    };
    bail!(
        "--profile {profile}: no StructureDefinition with this URL is loaded{hint}; loaded: {}. Add the package or folder that defines it with --ig",
        ctx.sources().join(", ")
    )
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
    let lines = bytes.split(|&b| b == b'\n').count();
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            // What follows the last line break is no line at all.
            if !(i + 1 == lines && line.is_empty()) {
                // NDJSON_EMPTY_LINE_WARNING
                let msg = format!("The NDJSON source contains an empty line. This may not be accepted by some processors");
                issues.push(Issue::warning(crate::issue::IssueCode::Informational, "", msg).at(crate::tree::Pos::new(i as u32 + 1, 1)));
            }
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
