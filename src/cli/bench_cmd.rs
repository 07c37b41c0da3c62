//! `careplan bench`: measures, in one run, the figures we hold ourselves to:
//! corpus throughput against serde_json, a large generated transaction
//! Bundle, peak memory, and the wall time of one small `careplan validate`.
//!
//! These are measurements, not tests: they print each figure beside its goal
//! and always exit 0. The corpus and the Bundle generator are public so the
//! criterion benchmarks (`benches/validate.rs`) use the same inputs.

use super::exit;
use super::load_args::LoadArgs;
use crate::issue::{Issue, Severity};
use crate::package::{PackageCache, PackageRef, R4_EXAMPLES};
use crate::parse;
use crate::tree::Format;
use crate::validator::{Options, Validator};
use anyhow::{anyhow, Context as _, Result};
use clap::Args;
use serde_json::json;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Goals: ours at least this share of serde_json's MB/s over the corpus.
pub const GOAL_RATIO: f64 = 1.0 / 3.0;
/// Goal: parse and validate the generated Bundle in under this many seconds.
pub const GOAL_BUNDLE_SECS: f64 = 10.0;
/// Goal: peak resident memory under this many MB.
pub const GOAL_PEAK_MB: f64 = 300.0;
/// Goal: one `careplan validate` of a small file under this many ms.
pub const GOAL_PROCESS_MS: f64 = 150.0;
/// Mapped PRSB plans in the profiled corpus.
pub const PROFILED_PLANS: u64 = 60;

/// Conformance resources are definitions, not examples: the corpus skips them.
const CONFORMANCE_TYPES: &[&str] = &[
    "StructureDefinition",
    "ValueSet",
    "CodeSystem",
    "ConceptMap",
    "SearchParameter",
    "OperationDefinition",
    "CapabilityStatement",
    "CompartmentDefinition",
    "NamingSystem",
    "ImplementationGuide",
    "StructureMap",
];

/// Files larger than this are left out of the corpus, so that one giant
/// Bundle does not dominate it.
pub const CORPUS_MAX_FILE: u64 = 1024 * 1024;

#[derive(Args, Debug)]
pub struct BenchArgs {
    #[command(flatten)]
    pub load: LoadArgs,
    /// Entries in the generated transaction Bundle.
    #[arg(long, default_value_t = 100_000, value_name = "N")]
    pub entries: usize,
    /// Repetitions of each timed corpus pass and of the process launch; the median is reported.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub runs: usize,
    /// The small file `careplan validate` is launched on [default: Patient-example.json of the R4 examples package].
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Also write the generated Bundle to this file (to profile `careplan validate` on it).
    #[arg(long, value_name = "FILE")]
    pub save_bundle: Option<PathBuf>,
    /// Print the figures as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Measure only these parts (repeatable) [default: all].
    #[arg(long, value_enum, value_name = "PART")]
    pub only: Vec<Section>,
    #[command(subcommand)]
    pub target: Option<BenchTarget>,
}

/// The parts of `careplan bench`, each measured on its own.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    /// The R4 example resources: throughput against serde_json, invariants' share.
    Corpus,
    /// Mapped PRSB plans against careplan's profiles: throughput against serde_json.
    Profiled,
    /// The generated transaction Bundle: time and peak memory.
    Bundle,
    /// One small `careplan validate` as a new process.
    Process,
}

/// Benchmarks of something other than the validator.
#[derive(clap::Subcommand, Debug)]
pub enum BenchTarget {
    /// Ingest throughput, latency and memory of `careplan serve`, with validation on and off.
    Serve(super::bench_serve_cmd::BenchServeArgs),
    /// Rows per second and peak memory of `careplan import` on a generated council export.
    Import(super::bench_import_cmd::BenchImportArgs),
}

/// One corpus file: its name and bytes.
pub struct CorpusFile {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// The `package` folder of the R4 examples package in the cache.
pub fn examples_dir(cache: &Path) -> Result<PathBuf> {
    let p = PackageCache::new(cache.to_path_buf())
        .find(&PackageRef::new(R4_EXAMPLES, Some("4.0.1")))
        .ok_or_else(|| anyhow!("{R4_EXAMPLES}#4.0.1 is not in the package cache {}", cache.display()))?;
    Ok(p.dir)
}

/// The example resources of the R4 examples package: every top-level JSON
/// file that is not a conformance resource (by file name and by
/// resourceType), not package.json, and not over [`CORPUS_MAX_FILE`].
/// Sorted by name, so every run measures the same bytes.
pub fn corpus(examples: &Path) -> Result<Vec<CorpusFile>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(examples).with_context(|| format!("cannot read {}", examples.display()))? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.ends_with(".json") || name == "package.json" || name.starts_with('.') {
            continue;
        }
        let prefix = name.split(['-', '.']).next().unwrap_or("");
        if CONFORMANCE_TYPES.contains(&prefix) {
            continue;
        }
        let meta = entry.metadata()?;
        if !meta.is_file() || meta.len() > CORPUS_MAX_FILE {
            continue;
        }
        let bytes = std::fs::read(entry.path())?;
        // Names do not always say the type (ig-r4.json): ask the content.
        let rt = serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|v| v.get("resourceType").and_then(|t| t.as_str()).map(str::to_string));
        match rt {
            Some(rt) if !CONFORMANCE_TYPES.contains(&rt.as_str()) => out.push(CorpusFile { name, bytes }),
            _ => continue,
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

pub fn corpus_bytes(corpus: &[CorpusFile]) -> u64 {
    corpus.iter().map(|f| f.bytes.len() as u64).sum()
}

/// A transaction Bundle of `entries` small, valid, linked resources: per
/// person one Patient, two Conditions, two Goals (each addressing a
/// Condition) and one CarePlan (referring to the Patient, the Goals and the
/// Conditions), all by `urn:uuid:` fullUrls. The last group may be cut
/// short; what it holds then only refers to entries before it.
pub fn generate_bundle(entries: usize) -> Vec<u8> {
    const CONDITIONS: &[(&str, &str)] = &[
        ("44054006", "Diabetes mellitus type 2"),
        ("38341003", "Hypertensive disorder, systemic arterial"),
        ("195967001", "Asthma"),
        ("13645005", "Chronic obstructive lung disease"),
        ("35489007", "Depressive disorder"),
    ];
    const GIVEN: &[&str] = &["Amelia", "Oliver", "Isla", "George", "Ava", "Noah", "Mia", "Arthur"];
    const FAMILY: &[&str] = &["Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Evans", "Patel"];
    let uuid = |i: usize| format!("urn:uuid:{:08x}-0000-4000-8000-{:012x}", 0xca2e_91a4u32, i);
    let mut s = String::with_capacity(entries * 700 + 128);
    s.push_str("{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":[");
    let mut n = 0usize;
    let mut first = true;
    let mut push_entry = |s: &mut String, full_url: &str, rt: &str, resource: &str| {
        if !first {
            s.push(',');
        }
        first = false;
        let _ = write!(s, "{{\"fullUrl\":\"{full_url}\",\"resource\":{resource},\"request\":{{\"method\":\"POST\",\"url\":\"{rt}\"}}}}");
    };
    let mut person = 0usize;
    while n < entries {
        let p = uuid(n);
        let given = GIVEN[person % GIVEN.len()];
        let family = FAMILY[(person / GIVEN.len()) % FAMILY.len()];
        let gender = if person % 2 == 0 { "female" } else { "male" };
        let patient = format!(
            concat!(
                "{{\"resourceType\":\"Patient\",",
                "\"text\":{{\"status\":\"generated\",\"div\":\"<div xmlns=\\\"http://www.w3.org/1999/xhtml\\\">{given} {family}</div>\"}},",
                "\"identifier\":[{{\"system\":\"https://fhir.nhs.uk/Id/nhs-number\",\"value\":\"{nhs:010}\"}}],",
                "\"active\":true,\"name\":[{{\"use\":\"official\",\"family\":\"{family}\",\"given\":[\"{given}\"]}}],",
                "\"gender\":\"{gender}\",\"birthDate\":\"{year}-{month:02}-{day:02}\"}}"
            ),
            given = given,
            family = family,
            nhs = 9_000_000_000u64 + person as u64,
            gender = gender,
            year = 1930 + person % 80,
            month = 1 + person % 12,
            day = 1 + person % 28,
        );
        push_entry(&mut s, &p, "Patient", &patient);
        n += 1;
        let mut conditions = Vec::new();
        let mut goals = Vec::new();
        for k in 0..2 {
            if n >= entries {
                break;
            }
            let (code, display) = CONDITIONS[(person + k) % CONDITIONS.len()];
            let c = uuid(n);
            let condition = format!(
                concat!(
                    "{{\"resourceType\":\"Condition\",",
                    "\"text\":{{\"status\":\"generated\",\"div\":\"<div xmlns=\\\"http://www.w3.org/1999/xhtml\\\">{display}</div>\"}},",
                    "\"clinicalStatus\":{{\"coding\":[{{\"system\":\"http://terminology.hl7.org/CodeSystem/condition-clinical\",\"code\":\"active\"}}]}},",
                    "\"verificationStatus\":{{\"coding\":[{{\"system\":\"http://terminology.hl7.org/CodeSystem/condition-ver-status\",\"code\":\"confirmed\"}}]}},",
                    "\"category\":[{{\"coding\":[{{\"system\":\"http://terminology.hl7.org/CodeSystem/condition-category\",\"code\":\"problem-list-item\"}}]}}],",
                    "\"code\":{{\"coding\":[{{\"system\":\"http://snomed.info/sct\",\"code\":\"{code}\",\"display\":\"{display}\"}}],\"text\":\"{display}\"}},",
                    "\"subject\":{{\"reference\":\"{p}\"}},\"onsetDateTime\":\"{year}-03-01\"}}"
                ),
                display = display,
                code = code,
                p = p,
                year = 2000 + (person + k) % 24,
            );
            push_entry(&mut s, &c, "Condition", &condition);
            conditions.push(c);
            n += 1;
        }
        for (k, c) in conditions.iter().enumerate() {
            if n >= entries {
                break;
            }
            let (_, display) = CONDITIONS[(person + k) % CONDITIONS.len()];
            let g = uuid(n);
            let goal = format!(
                concat!(
                    "{{\"resourceType\":\"Goal\",",
                    "\"text\":{{\"status\":\"generated\",\"div\":\"<div xmlns=\\\"http://www.w3.org/1999/xhtml\\\">Manage {display}</div>\"}},",
                    "\"lifecycleStatus\":\"active\",\"description\":{{\"text\":\"Manage {display} with support at home\"}},",
                    "\"subject\":{{\"reference\":\"{p}\"}},\"startDate\":\"2024-01-{day:02}\",",
                    "\"target\":[{{\"dueDate\":\"2025-01-{day:02}\"}}],",
                    "\"addresses\":[{{\"reference\":\"{c}\"}}]}}"
                ),
                display = display,
                p = p,
                c = c,
                day = 1 + person % 28,
            );
            push_entry(&mut s, &g, "Goal", &goal);
            goals.push(g);
            n += 1;
        }
        if n < entries && goals.len() == 2 {
            let cp = uuid(n);
            let refs = |v: &[String]| v.iter().map(|r| format!("{{\"reference\":\"{r}\"}}")).collect::<Vec<_>>().join(",");
            let careplan = format!(
                concat!(
                    "{{\"resourceType\":\"CarePlan\",",
                    "\"text\":{{\"status\":\"generated\",\"div\":\"<div xmlns=\\\"http://www.w3.org/1999/xhtml\\\">Care and support plan for {given} {family}</div>\"}},",
                    "\"status\":\"active\",\"intent\":\"plan\",\"title\":\"Care and support plan\",",
                    "\"subject\":{{\"reference\":\"{p}\"}},\"period\":{{\"start\":\"2024-01-01\"}},\"created\":\"2024-01-01\",",
                    "\"addresses\":[{conditions}],\"goal\":[{goals}],",
                    "\"activity\":[{{\"detail\":{{\"status\":\"scheduled\",\"description\":\"Weekly review by the community nurse\",",
                    "\"goal\":[{goals}]}}}}]}}"
                ),
                given = given,
                family = family,
                p = p,
                conditions = refs(&conditions),
                goals = refs(&goals),
            );
            push_entry(&mut s, &cp, "CarePlan", &careplan);
            n += 1;
        }
        person += 1;
    }
    s.push_str("]}");
    s.into_bytes()
}

/// Peak resident set size of this process in bytes (Linux: VmHWM).
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    if v.is_empty() {
        Duration::ZERO
    } else {
        v[v.len() / 2]
    }
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1_000_000.0
}

/// Times each of `contenders` over every input, `runs` passes, and gives
/// each one's median pass time. The contenders take turns on each input (in
/// an order that rotates from pass to pass), so that a machine whose speed
/// drifts, as a shared one does, slows them all alike and their ratios hold.
fn time_interleaved(runs: usize, inputs: &[&[u8]], contenders: &mut [&mut dyn FnMut(&[u8])]) -> Vec<Duration> {
    let n = contenders.len();
    let mut passes: Vec<Vec<Duration>> = vec![Vec::new(); n];
    for pass in 0..runs.max(1) {
        let mut totals = vec![Duration::ZERO; n];
        for input in inputs {
            for turn in 0..n {
                let k = (turn + pass) % n;
                let t = Instant::now();
                contenders[k](input);
                totals[k] += t.elapsed();
            }
        }
        for (k, t) in totals.into_iter().enumerate() {
            passes[k].push(t);
        }
    }
    passes.into_iter().map(median).collect()
}

pub fn run(args: BenchArgs) -> Result<i32> {
    if let Some(BenchTarget::Import(import)) = args.target {
        return super::bench_import_cmd::run(import);
    } else if let Some(BenchTarget::Serve(serve)) = args.target {
        return super::bench_serve_cmd::run(serve, &args.load);
    }
    let wanted = |s: Section| args.only.is_empty() || args.only.contains(&s);
    let t_load = Instant::now();
    // Our profiles too: the profiled corpus below is validated against them.
    let ctx = crate::loader::load(&crate::loader::LoadOptions { careplan_profiles: true, ..args.load.options() })?;
    let load_secs = t_load.elapsed().as_secs_f64();
    let validator = Validator::new(Arc::new(ctx), Options::default());
    let cache = args.load.cache.clone().unwrap_or_else(PackageCache::default_root);
    let examples = examples_dir(&cache)?;
    let mut report = json!({ "load_secs": load_secs });
    if wanted(Section::Corpus) {
        report["corpus"] = corpus_figures(&validator, &examples, &args)?;
    }
    if wanted(Section::Profiled) {
        report["profiled"] = profiled_figures(&validator, args.runs)?;
    }
    if wanted(Section::Bundle) {
        let (bundle, memory) = bundle_figures(&validator, &args)?;
        report["bundle"] = bundle;
        report["memory"] = memory;
    }
    if wanted(Section::Process) {
        let file = match &args.file {
            Some(f) => f.clone(),
            None => examples.join("Patient-example.json"),
        };
        // One small `careplan validate`, as a new process, several times.
        report["process"] = match time_process(&file, &args.load, args.runs.max(1)) {
            Ok((ms, runs)) => json!({
                "file": file.display().to_string(),
                "runs": runs,
                "median_ms": ms,
                "goal_ms": GOAL_PROCESS_MS,
                "met": ms < GOAL_PROCESS_MS,
            }),
            Err(e) => json!({ "file": file.display().to_string(), "error": format!("{e:#}") }),
        };
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", table(&report));
    }
    Ok(exit::OK)
}

/// The R4 examples: caches warmed, then serde_json, our parser, our
/// validator with and without invariants, each the median of `runs` passes.
fn corpus_figures(validator: &Validator, examples: &Path, args: &BenchArgs) -> Result<serde_json::Value> {
    let files = corpus(examples)?;
    let total = corpus_bytes(&files);
    if !args.json {
        eprintln!("corpus: {} files, {:.2} MB; warming the definition caches", files.len(), mb(total));
    }
    let mut corpus_issues = 0usize;
    let mut corpus_errors = 0usize;
    for f in &files {
        let issues = validator.validate_bytes(&f.bytes, Some(Format::Json));
        corpus_issues += issues.len();
        corpus_errors += issues.iter().filter(|i| i.severity.is_error()).count();
    }
    let without_invariants = Validator::new(validator.context().clone(), Options { skip_invariants: true, ..Options::default() });
    for f in &files {
        // Its own terminology caches, warmed as the first validator's were.
        drop(without_invariants.validate_bytes(&f.bytes, Some(Format::Json)));
    }
    let inputs: Vec<&[u8]> = files.iter().map(|f| f.bytes.as_slice()).collect();
    let times = time_interleaved(
        args.runs,
        &inputs,
        &mut [
            &mut |b| drop(std::hint::black_box(serde_json::from_slice::<serde_json::Value>(b).expect("corpus file is JSON"))),
            &mut |b| drop(std::hint::black_box(parse::parse(b, Some(Format::Json)))),
            &mut |b| drop(std::hint::black_box(validator.validate_bytes(b, Some(Format::Json)))),
            &mut |b| drop(std::hint::black_box(without_invariants.validate_bytes(b, Some(Format::Json)))),
        ],
    );
    let [serde_t, parse_t, validate_t, structure_t] = times[..] else { unreachable!("four contenders") };
    let rate = |t: Duration| mb(total) / t.as_secs_f64();
    let ratio = rate(validate_t) / rate(serde_t);
    Ok(json!({
        "files": files.len(),
        "bytes": total,
        "serde_json_mb_s": rate(serde_t),
        "parse_mb_s": rate(parse_t),
        "validate_mb_s": rate(validate_t),
        "validate_without_invariants_mb_s": rate(structure_t),
        "ratio": ratio,
        "goal_ratio": GOAL_RATIO,
        "met": ratio >= GOAL_RATIO,
        "issues": corpus_issues,
        "errors": corpus_errors,
        "runs": args.runs.max(1),
    }))
}

/// The bytes of the profiled corpus: mapped PRSB plans, every resource
/// naming one of our profiles.
pub fn profiled_corpus() -> Result<Vec<Vec<u8>>> {
    (0..PROFILED_PLANS)
        .map(|seed| {
            let plan = crate::prsb::generate::plan(seed, seed % 4 == 0);
            crate::prsb::map::to_json(&crate::prsb::map::map(&plan)).map(String::into_bytes)
        })
        .collect()
}

/// Profiles applied: the profiled corpus against serde_json on the same bytes.
fn profiled_figures(validator: &Validator, runs: usize) -> Result<serde_json::Value> {
    let profiled = profiled_corpus()?;
    let profiled_bytes: u64 = profiled.iter().map(|b| b.len() as u64).sum();
    let mut profiled_errors = 0usize;
    for b in &profiled {
        profiled_errors += validator.validate_bytes(b, Some(Format::Json)).iter().filter(|i| i.severity.is_error()).count();
    }
    let inputs: Vec<&[u8]> = profiled.iter().map(Vec::as_slice).collect();
    let times = time_interleaved(
        runs,
        &inputs,
        &mut [
            &mut |b| drop(std::hint::black_box(serde_json::from_slice::<serde_json::Value>(b).expect("a mapped Bundle is JSON"))),
            &mut |b| drop(std::hint::black_box(validator.validate_bytes(b, Some(Format::Json)))),
        ],
    );
    let [serde_t, validate_t] = times[..] else { unreachable!("two contenders") };
    let validate_mbs = mb(profiled_bytes) / validate_t.as_secs_f64();
    let serde_mbs = mb(profiled_bytes) / serde_t.as_secs_f64();
    Ok(json!({
        "plans": PROFILED_PLANS,
        "bytes": profiled_bytes,
        "serde_json_mb_s": serde_mbs,
        "validate_mb_s": validate_mbs,
        "ratio": validate_mbs / serde_mbs,
        "goal_ratio": GOAL_RATIO,
        "met": validate_mbs / serde_mbs >= GOAL_RATIO,
        "errors": profiled_errors,
    }))
}

/// The generated transaction Bundle: parse and validate time, its issues,
/// and the process's peak memory before and after it.
fn bundle_figures(validator: &Validator, args: &BenchArgs) -> Result<(serde_json::Value, serde_json::Value)> {
    if !args.json {
        eprintln!("generating a transaction Bundle of {} entries", args.entries);
    }
    let t = Instant::now();
    let bundle = generate_bundle(args.entries);
    let gen_secs = t.elapsed().as_secs_f64();
    if let Some(path) = &args.save_bundle {
        std::fs::write(path, &bundle).with_context(|| format!("cannot write {}", path.display()))?;
    }
    let peak_before = peak_rss_bytes();
    if !args.json {
        eprintln!("validating the Bundle ({:.1} MB)", mb(bundle.len() as u64));
    }
    let t = Instant::now();
    let issues = validator.validate_bytes(&bundle, Some(Format::Json));
    let bundle_secs = t.elapsed().as_secs_f64();
    let count = |s: Severity| issues.iter().filter(|i| i.severity == s).count();
    let bundle_errors = count(Severity::Error) + count(Severity::Fatal);
    let first_errors: Vec<String> = issues.iter().filter(|i| i.severity.is_error()).take(5).map(describe).collect();
    let bundle_len = bundle.len() as u64;
    let bundle = json!({
        "entries": args.entries,
        "bytes": bundle_len,
        "mb": mb(bundle_len),
        "generate_secs": gen_secs,
        "validate_secs": bundle_secs,
        "goal_secs": GOAL_BUNDLE_SECS,
        "met": bundle_secs < GOAL_BUNDLE_SECS,
        "errors": bundle_errors,
        "warnings": count(Severity::Warning),
        "information": count(Severity::Information),
        "first_errors": first_errors,
    });
    drop(issues);
    let peak_mb = peak_rss_bytes().map(|b| b as f64 / (1024.0 * 1024.0));
    let memory = json!({
        "peak_rss_mb": peak_mb,
        "peak_rss_before_bundle_mb": peak_before.map(|b| b as f64 / (1024.0 * 1024.0)),
        "goal_mb": GOAL_PEAK_MB,
        "met": peak_mb.map(|m| m < GOAL_PEAK_MB),
    });
    Ok((bundle, memory))
}

fn describe(i: &Issue) -> String {
    format!("{} {} at {}: {}", i.severity, i.code.as_str(), i.expression, i.message)
}

/// Median wall time (ms) of `careplan validate --offline <file>` as a new process.
fn time_process(file: &Path, load: &LoadArgs, runs: usize) -> Result<(f64, usize)> {
    let exe = std::env::current_exe().context("cannot find the careplan executable")?;
    let mut times = Vec::new();
    // One launch first, untimed, so the file and the binary are in the page cache.
    for i in 0..=runs {
        let mut cmd = Command::new(&exe);
        cmd.arg("validate").arg("--offline");
        if let Some(c) = &load.cache {
            cmd.arg("--cache").arg(c);
        }
        cmd.arg(file).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
        let t = Instant::now();
        let status = cmd.status().with_context(|| format!("cannot launch {}", exe.display()))?;
        let elapsed = t.elapsed();
        if status.code() == Some(exit::CANNOT_RUN) {
            return Err(anyhow!("careplan validate {} could not run (exit 2)", file.display()));
        }
        if i > 0 {
            times.push(elapsed);
        }
    }
    Ok((median(times).as_secs_f64() * 1000.0, runs))
}

fn table(r: &serde_json::Value) -> String {
    let f = |p: &str| r.pointer(p).and_then(|v| v.as_f64()).unwrap_or(f64::NAN);
    let met = |p: &str| match r.pointer(p).and_then(|v| v.as_bool()) {
        Some(true) => "yes",
        Some(false) => "NO",
        None => "?",
    };
    let has = |section: &str| r.get(section).is_some();
    let mut s = String::new();
    let _ = writeln!(s, "definitions loaded in {:.2} s", f("/load_secs"));
    let row = |s: &mut String, name: &str, v: String, goal: String, m: &str| {
        let _ = writeln!(s, "{name:<44} {v:>14} {goal:>14} {m:>5}");
    };
    row(&mut s, "figure", "measured".into(), "goal".into(), "met");
    if has("corpus") {
        let _ = writeln!(
            s,
            "corpus: {} files, {:.2} MB, median of {} passes, one thread ({} issues, {} errors)",
            f("/corpus/files"),
            f("/corpus/bytes") / 1e6,
            f("/corpus/runs"),
            f("/corpus/issues"),
            f("/corpus/errors")
        );
        row(&mut s, "serde_json::Value parse (corpus)", format!("{:.1} MB/s", f("/corpus/serde_json_mb_s")), String::new(), "");
        row(&mut s, "careplan parse only (corpus)", format!("{:.1} MB/s", f("/corpus/parse_mb_s")), String::new(), "");
        row(&mut s, "careplan validate, no invariants (corpus)", format!("{:.1} MB/s", f("/corpus/validate_without_invariants_mb_s")), String::new(), "");
        row(&mut s, "careplan validate (corpus)", format!("{:.1} MB/s", f("/corpus/validate_mb_s")), String::new(), "");
        row(
            &mut s,
            "invariants' share of validation time",
            format!("{:.0}%", 100.0 * (1.0 - f("/corpus/validate_mb_s") / f("/corpus/validate_without_invariants_mb_s"))),
            "< 50%".into(),
            if f("/corpus/validate_mb_s") * 2.0 > f("/corpus/validate_without_invariants_mb_s") { "yes" } else { "NO" },
        );
        row(&mut s, "validate / serde_json", format!("{:.3}", f("/corpus/ratio")), ">= 0.333".into(), met("/corpus/met"));
    }
    if has("profiled") {
        let _ = writeln!(s, "profiled: {} mapped PRSB plans, {:.2} MB, every resource against careplan's profiles ({} errors)", f("/profiled/plans"), f("/profiled/bytes") / 1e6, f("/profiled/errors"));
        row(&mut s, "serde_json::Value parse (profiled)", format!("{:.1} MB/s", f("/profiled/serde_json_mb_s")), String::new(), "");
        row(&mut s, "careplan validate (profiled)", format!("{:.1} MB/s", f("/profiled/validate_mb_s")), String::new(), "");
        row(&mut s, "validate / serde_json (profiled)", format!("{:.3}", f("/profiled/ratio")), ">= 0.333".into(), met("/profiled/met"));
    }
    if has("bundle") {
        let _ = writeln!(s, "bundle: {} entries, {:.1} MB, generated in {:.2} s", f("/bundle/entries"), f("/bundle/mb"), f("/bundle/generate_secs"));
        row(&mut s, "bundle parse + validate", format!("{:.2} s", f("/bundle/validate_secs")), format!("< {GOAL_BUNDLE_SECS} s"), met("/bundle/met"));
        row(
            &mut s,
            "bundle errors (warnings, information)",
            format!("{} ({}, {})", f("/bundle/errors"), f("/bundle/warnings"), f("/bundle/information")),
            "0".into(),
            if f("/bundle/errors") == 0.0 { "yes" } else { "NO" },
        );
        row(&mut s, "peak RSS before the bundle (VmHWM)", format!("{:.0} MB", f("/memory/peak_rss_before_bundle_mb")), String::new(), "");
        row(&mut s, "peak RSS (VmHWM)", format!("{:.0} MB", f("/memory/peak_rss_mb")), format!("< {GOAL_PEAK_MB} MB"), met("/memory/met"));
    }
    if has("process") {
        match r.pointer("/process/error").and_then(|v| v.as_str()) {
            Some(e) => {
                let _ = writeln!(s, "careplan validate (new process): {e}");
            }
            None => row(
                &mut s,
                &format!("careplan validate, median of {}", f("/process/runs")),
                format!("{:.0} ms", f("/process/median_ms")),
                format!("< {GOAL_PROCESS_MS} ms"),
                met("/process/met"),
            ),
        }
    }
    if let Some(errs) = r.pointer("/bundle/first_errors").and_then(|v| v.as_array()).filter(|a| !a.is_empty()) {
        let _ = writeln!(s, "first errors in the generated bundle:");
        for e in errs {
            let _ = writeln!(s, "  {}", e.as_str().unwrap_or_default());
        }
    }
    s
}
