//! `careplan import`: care-plan exports (CSV, Excel, JSON, NDJSON) → PRSB
//! plans → FHIR, driven by a declarative mapping.
//!
//! ```text
//! inputs ─ sources (row by row) ─ mapping + values (cell → PRSB value) ─► spool (temporary SQLite)
//!   spool ─ per person ─► assemble (plan JSON + origins) ─► prsb::read (schema, links)
//!         ─► carry over an earlier import (archive what disappeared) ─► prsb JSON | map → Bundle → validator
//!         ─► --out DIR | --post URL
//! ```
//!
//! `mapping.rs` reads the mapping file, `targets.rs` knows the PRSB items
//! from the plan's schema, `values.rs` converts cells, `sources.rs` reads
//! files, `spool.rs` holds rows between reading and assembling,
//! `assemble.rs` builds one plan, `report.rs` says what happened, `init.rs`
//! writes a starting mapping.

pub mod assemble;
pub mod init;
pub mod mapping;
pub mod report;
pub mod sources;
pub mod spool;
pub mod targets;
pub mod values;

use crate::prsb;
use crate::validator::Validator;
use anyhow::{bail, Context as _, Result};
use mapping::{Mapping, Table};
use report::{Problem, Report, Severity};
use spool::{Item, Origin, Spool};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum To {
    /// One PRSB plan (JSON) per person.
    Prsb,
    /// One FHIR R4 transaction Bundle per person, as `careplan map` makes.
    Fhir,
}

pub struct Post {
    /// The server's base URL.
    pub url: String,
    pub token: Option<String>,
}

pub struct Options<'a> {
    pub to: To,
    /// Write nothing, send nothing: report only.
    pub check: bool,
    pub out: Option<PathBuf>,
    pub post: Option<Post>,
    /// When this import happens (what archived items say).
    pub now: String,
    /// Validates each Bundle (`--to fhir`) before it is written or sent.
    pub validator: Option<&'a Validator>,
    pub progress: bool,
}

/// Runs an import; the report says everything, including what could not be read.
pub fn run(mapping: &Mapping, inputs: &[PathBuf], opts: &Options<'_>) -> Result<Report> {
    let mut report = Report::default();
    let mut spool = Spool::new()?;
    read_inputs(mapping, inputs, opts, &mut spool, &mut report)?;
    spool.seal()?;
    spool.orphans(&mut |item| {
        let message = format!("no plan row names the person `{}` (the `plan` table's `person` column): this {} row belongs to nobody", item.person, item.section);
        report.add(Problem::error(&item.origin, None, message));
    })?;
    let people = spool.people()?;
    report.people = people.len();
    if let Some(dir) = &opts.out {
        if !opts.check {
            std::fs::create_dir_all(dir).with_context(|| format!("could not create {}", dir.display()))?;
        }
    }
    let client = match &opts.post {
        Some(_) if !opts.check => Some(reqwest::blocking::Client::builder().timeout(std::time::Duration::from_secs(120)).build()?),
        _ => None,
    };
    let mut empty: BTreeMap<String, usize> = BTreeMap::new();
    let items_in_use: BTreeSet<String> = all_items(mapping);
    for person in &people {
        let assembled = assemble::assemble(&mapping.plan_id, person, spool.items_of(person)?);
        for p in &assembled.problems {
            report.add(p.clone());
        }
        let filled = assemble::filled(&assembled.json);
        for item in &items_in_use {
            if !filled.contains(item) {
                *empty.entry(item.clone()).or_default() += 1;
            } else {
                empty.entry(item.clone()).or_default();
            }
        }
        if let Err(e) = finish(mapping, &assembled, opts, client.as_ref(), &mut report) {
            report.add(Problem { severity: Severity::Error, input: mapping.path.display().to_string(), row: None, column: None, item: Some(assembled.plan_id.clone()), message: format!("{e:#}") });
        }
    }
    report.empty = empty;
    report.mapped = mapping.tables.iter().flat_map(|t| t.fields.iter().map(move |f| format!("{}:{}", t.section, f.target.path))).collect();
    Ok(report)
}

/// Every PRSB item the mapping's sections can hold, as `section:path`.
fn all_items(mapping: &Mapping) -> BTreeSet<String> {
    let mut sections: BTreeSet<&str> = mapping.tables.iter().map(|t| t.section.as_str()).collect();
    sections.insert("plan");
    sections
        .iter()
        .flat_map(|s| targets::targets(s).into_iter().filter(|t| t.kind != targets::Kind::Id).map(move |t| format!("{s}:{}", t.path)))
        .collect()
}

fn read_inputs(mapping: &Mapping, inputs: &[PathBuf], opts: &Options<'_>, spool: &mut Spool, report: &mut Report) -> Result<()> {
    let total: u64 = inputs.iter().filter_map(|p| std::fs::metadata(p).ok()).map(|m| m.len()).sum();
    let bar = if opts.progress && std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        let bar = indicatif::ProgressBar::new(total);
        if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} read ({bytes_per_sec}, {eta} left) {msg}") {
            bar.set_style(style);
        }
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut seen_parts: BTreeSet<String> = BTreeSet::new();
    let mut done_before = 0u64;
    for path in inputs {
        let size = std::fs::metadata(path).with_context(|| format!("could not read {}", path.display()))?.len();
        for part in sources::parts(path)? {
            seen_parts.insert(part.clone());
            let tables: Vec<&Table> = mapping.tables.iter().filter(|t| t.reads(&part)).collect();
            let mut used: BTreeSet<String> = BTreeSet::new();
            for t in &tables {
                used.extend(t.columns().map(str::to_owned));
            }
            if tables.is_empty() {
                report.add(Problem { severity: Severity::Warning, input: part.clone(), row: None, column: None, item: None, message: "no table of the mapping reads this input".into() });
                continue;
            }
            // Tables reading a JSON file's different lists read it once each.
            let mut by_records: BTreeMap<Option<&str>, Vec<&Table>> = BTreeMap::new();
            for t in tables {
                by_records.entry(t.records.as_deref()).or_default().push(t);
            }
            let mut headers: BTreeSet<String> = BTreeSet::new();
            for (records, tables) in by_records {
                bar.set_message(part.clone());
                let mut tick = |n: u64| bar.set_position(done_before + n.min(size));
                let seen = sources::rows(path, &part, records, &mut tick, &mut |row| {
                    report.rows += 1;
                    let mut taken = false;
                    for t in &tables {
                        if !t.takes(&row) {
                            continue;
                        }
                        taken = true;
                        if let Some(item) = read_row(mapping, t, &part, &row, report) {
                            spool.add(&item)?;
                            report.imported += 1;
                        }
                    }
                    if !taken {
                        // Every row is accounted for: imported, or said why not.
                        let origin = Origin { input: part.clone(), row: row.number };
                        report.add(Problem::warning(&origin, None, "no table takes this row (each table's `where` leaves it out)".into()));
                    }
                    Ok(())
                })?;
                // A column the mapping names that the input does not have: said at the mapping's line.
                // (A JSON record may leave out any field, so only tables with a header are held to it.)
                let fixed_header = matches!(sources::kind(path)?, sources::Kind::Csv | sources::Kind::Excel);
                for t in tables.iter().filter(|_| fixed_header) {
                    for (column, (line, col)) in &t.column_at {
                        if !seen.contains(column) && !column.starts_with('^') {
                            bail!(
                                "{}:{line}:{col}: table `{}` reads the column `{column}`, which `{part}` does not have; its columns are {}",
                                mapping.path.display(),
                                t.name,
                                seen.join(", ")
                            );
                        }
                    }
                }
                headers.extend(seen);
            }
            // A nested record's ancestors' fields (`^name`) are the ancestors' columns, counted there.
            let unused: Vec<String> = headers.into_iter().filter(|h| !h.starts_with('^') && !used.contains(h)).collect();
            report.unused_columns.insert(part.clone(), unused);
        }
        done_before += size;
        bar.set_position(done_before);
    }
    bar.finish_and_clear();
    for input in mapping.inputs() {
        if !seen_parts.contains(input) {
            let given: Vec<&str> = seen_parts.iter().map(String::as_str).collect();
            bail!("the mapping reads `{input}`, which is not among the inputs ({}); give it on the command line", given.join(", "));
        }
    }
    Ok(())
}

/// One row for one table: filtered, joined by person, item and parent, every mapped cell converted.
fn read_row(mapping: &Mapping, table: &Table, input: &str, row: &sources::Row, report: &mut Report) -> Option<Item> {
    let origin = Origin { input: input.to_owned(), row: row.number };
    let Some(person) = row.get(&table.person) else {
        report.add(Problem::error(&origin, Some(table.person.clone()), format!("no person: the `{}` column is empty, so this {} row cannot join a plan", table.person, table.section)));
        return None;
    };
    let id = match &table.id {
        Some(c) => match row.get(c) {
            Some(v) => Some(values::make_id(v)),
            None => {
                report.add(Problem::error(&origin, Some(c.clone()), format!("no id: the `{c}` column is empty, and a {} item needs one to be the same item in the next export", table.section)));
                return None;
            }
        },
        None => None,
    };
    let parent = match &table.parent {
        Some(c) => match row.get(c) {
            Some(v) => Some(values::make_id(v)),
            None => {
                report.add(Problem::error(&origin, Some(c.clone()), format!("the `{c}` column is empty: a {} item must name the item it belongs to", table.section)));
                return None;
            }
        },
        None => None,
    };
    let mut fields = Vec::new();
    for f in &table.fields {
        let joined;
        let text = match (&f.spec.value, &f.spec.column, &f.spec.columns) {
            (Some(v), _, _) => v.as_str(),
            (None, Some(c), _) => match row.get(c) {
                Some(t) => t,
                None => continue,
            },
            (None, None, Some(cs)) => {
                joined = cs.iter().filter_map(|c| row.get(c)).collect::<Vec<_>>().join(" ");
                if joined.is_empty() {
                    continue;
                }
                joined.as_str()
            }
            (None, None, None) => continue,
        };
        let column = f.spec.column.clone().or_else(|| f.spec.columns.as_ref().map(|cs| cs.join(" + ")));
        match values::convert(mapping, &f.spec, &f.target.kind, text) {
            Ok((value, remark)) => {
                if let Some(r) = remark {
                    report.add(Problem::warning(&origin, column.clone(), format!("{}: {r}", f.target.path)));
                }
                fields.push((f.target.path.clone(), value, column));
            }
            Err(why) => report.add(Problem::error(&origin, column, format!("{} ({}): {why}", f.target.path, table.section))),
        }
    }
    Some(Item { person: person.to_owned(), section: table.section.clone(), id, parent, origin, fields })
}

/// A plan, read as PRSB; over the earlier import's plan (so what disappeared is archived);
/// validated as FHIR when asked; then written and sent.
fn finish(mapping: &Mapping, assembled: &assemble::Assembled, opts: &Options<'_>, client: Option<&reqwest::blocking::Client>, report: &mut Report) -> Result<()> {
    let bytes = serde_json::to_vec(&assembled.json)?;
    let mut plan = match prsb::read(&bytes) {
        Ok(plan) => plan,
        Err(problems) => {
            for p in problems {
                let (input, row, column) = match assembled.origin_of(&p.pointer) {
                    Some((_, o, c)) => (o.input.clone(), Some(o.row), c.clone()),
                    None => (mapping.path.display().to_string(), None, None),
                };
                report.add(Problem { severity: Severity::Error, input, row, column, item: Some(format!("{} {}", assembled.plan_id, p.pointer)), message: p.message });
            }
            return Ok(());
        }
    };
    let previous = match &opts.out {
        Some(dir) => earlier_plan(dir, &assembled.plan_id, opts.to)?,
        None => None,
    };
    if let Some(stored) = &previous {
        let carried = prsb::archive::carry_over(&mut plan, stored, &opts.now);
        report.archived.extend(carried.archived.iter().map(|id| format!("{} {id}", assembled.plan_id)));
    }
    let text = match opts.to {
        To::Prsb => serde_json::to_string_pretty(&plan)? + "\n",
        To::Fhir => {
            let bundle = prsb::map::to_json(&prsb::map::map(&plan))?;
            if let Some(v) = opts.validator {
                let issues = v.validate_bytes(bundle.as_bytes(), Some(crate::tree::Format::Json));
                let errors: Vec<_> = issues.iter().filter(|i| i.severity.is_error()).collect();
                if !errors.is_empty() {
                    for i in errors {
                        report.add(Problem {
                            severity: Severity::Error,
                            input: mapping.path.display().to_string(),
                            row: None,
                            column: None,
                            item: Some(format!("{} Bundle {}", assembled.plan_id, i.expression)),
                            message: i.message.clone(),
                        });
                    }
                    return Ok(());
                }
            }
            bundle
        }
    };
    report.plans_valid += 1;
    if opts.check {
        return Ok(());
    }
    if let Some(dir) = &opts.out {
        let file = dir.join(output_name(&assembled.plan_id, opts.to));
        std::fs::write(&file, &text).with_context(|| format!("could not write {}", file.display()))?;
        report.written.push(file.display().to_string());
    }
    if let (Some(post), Some(client)) = (&opts.post, client) {
        send(post, client, opts.to, &plan, &text).with_context(|| format!("sending the plan {}", assembled.plan_id))?;
        report.posted.push(assembled.plan_id.clone());
    }
    Ok(())
}

fn output_name(plan_id: &str, to: To) -> String {
    match to {
        To::Prsb => format!("{plan_id}.json"),
        To::Fhir => format!("{plan_id}.bundle.json"),
    }
}

/// The plan an earlier import wrote to `dir`, read back (from its Bundle, for `--to fhir`).
fn earlier_plan(dir: &Path, plan_id: &str, to: To) -> Result<Option<prsb::CarePlan>> {
    let file = dir.join(output_name(plan_id, to));
    let Ok(bytes) = std::fs::read(&file) else { return Ok(None) };
    let plan = match to {
        To::Prsb => prsb::read(&bytes).map_err(|p| anyhow::anyhow!("{}: the earlier import's plan does not read: {}", file.display(), p[0]))?,
        To::Fhir => {
            let resources = prsb::unmap::read_resources(&bytes).with_context(|| file.display().to_string())?;
            prsb::unmap::unmap(&resources, None).with_context(|| format!("{}: the earlier import's Bundle does not read back as a plan", file.display()))?
        }
    };
    Ok(Some(plan))
}

/// `--to prsb`: the server's `$from-prsb?store=true`, which keeps what the
/// export left out (archived). `--to fhir`: the transaction Bundle, to the base.
fn send(post: &Post, client: &reqwest::blocking::Client, to: To, plan: &prsb::CarePlan, text: &str) -> Result<()> {
    let base = post.url.trim_end_matches('/');
    let (url, body) = match to {
        To::Prsb => (format!("{base}/$from-prsb?store=true"), serde_json::to_string(plan)?),
        To::Fhir => (base.to_owned(), text.to_owned()),
    };
    let mut request = client.post(&url).header("Content-Type", "application/fhir+json").header("Accept", "application/fhir+json").body(body);
    if let Some(t) = &post.token {
        request = request.bearer_auth(t);
    }
    let response = request.send().with_context(|| format!("could not reach {url}"))?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let body = response.text().unwrap_or_default();
    let said: Vec<String> = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.get("issue").and_then(|i| i.as_array()).cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|i| i.get("diagnostics").and_then(|d| d.as_str()).map(str::to_owned))
        .take(5)
        .collect();
    bail!("{url} answered {status}{}", if said.is_empty() { String::new() } else { format!(": {}", said.join("; ")) })
}
