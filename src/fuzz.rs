//! Fuzzing on the stable toolchain: targets (one function per entry point that
//! takes untrusted bytes), a seed corpus, a mutation engine, and a runner
//! bounded by iterations or time that keeps every input that panicked.
//!
//! cargo-fuzz needs nightly and libFuzzer; these targets are plain functions,
//! so `fuzz/` wraps the same ones for libFuzzer users while `careplan fuzz`
//! and the test suite run them here with our own mutator.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::context::Context;
use crate::tree::Format;
use crate::validator::{Options, Validator};

/// The entry points that read untrusted input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    /// The FHIR JSON reader.
    Json,
    /// The FHIR XML reader.
    Xml,
    /// The whole validator on any bytes.
    Validator,
    /// FHIRPath: the input is an expression, evaluated against a Patient.
    Fhirpath,
    /// The PRSB reader and mapper: whatever reads must map, and unmap back to the same plan.
    Prsb,
}

impl Target {
    pub const ALL: [Target; 5] = [Target::Json, Target::Xml, Target::Validator, Target::Fhirpath, Target::Prsb];

    pub fn name(self) -> &'static str {
        match self {
            Target::Json => "json",
            Target::Xml => "xml",
            Target::Validator => "validator",
            Target::Fhirpath => "fhirpath",
            Target::Prsb => "prsb",
        }
    }
}

/// What a target needs beyond the bytes: definitions, built once.
pub struct Harness {
    validator: Validator,
    patient: crate::tree::Node,
}

impl Harness {
    pub fn new(ctx: Arc<Context>) -> Harness {
        let patient = crate::parse::parse(PATIENT.as_bytes(), Some(Format::Json))
            .root
            .expect("the built-in Patient parses");
        Harness { validator: Validator::new(ctx, Options::default()), patient }
    }

    /// Runs one input through a target. Panics are what the runner looks for;
    /// a target also panics when an oracle fails (the PRSB round trip).
    pub fn run(&self, target: Target, data: &[u8]) {
        match target {
            Target::Json => {
                // The FHIR reader, and the same reader on any JSON (how PRSB plans get positions).
                let _ = crate::parse::parse(data, Some(Format::Json));
                if let Ok(text) = std::str::from_utf8(data) {
                    let _ = crate::parse::json::object_tree(text);
                }
            }
            Target::Xml => {
                let _ = crate::parse::parse(data, Some(Format::Xml));
            }
            Target::Validator => {
                let _ = self.validator.validate_bytes(data, None);
            }
            Target::Fhirpath => {
                let Ok(text) = std::str::from_utf8(data) else { return };
                if let Ok(expr) = crate::fhirpath::parse(text) {
                    let env = crate::fhirpath::EvalContext::new(self.validator.context());
                    let _ = crate::fhirpath::evaluate(&expr, &self.patient, "Patient", &env);
                }
            }
            Target::Prsb => {
                if let Ok(plan) = crate::prsb::read(data) {
                    let bundle = crate::prsb::map::map(&plan);
                    let json = crate::prsb::map::to_json(&bundle).expect("a mapped Bundle serialises");
                    let resources = crate::prsb::unmap::read_resources(json.as_bytes()).expect("a mapped Bundle reads back");
                    let back = crate::prsb::unmap::unmap(&resources, None).expect("a mapped Bundle unmaps");
                    assert!(back == plan, "map then unmap changed the plan");
                }
            }
        }
    }
}

const PATIENT: &str = r#"{"resourceType":"Patient","id":"p1","active":true,"name":[{"use":"official","family":"Chalmers","given":["Peter","James"]},{"given":["Jim"]}],"telecom":[{"system":"phone","value":"(03) 5555 6473","use":"work","rank":1}],"gender":"male","birthDate":"1974-12-25","_birthDate":{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/patient-birthTime","valueDateTime":"1974-12-25T14:35:45-05:00"}]},"deceasedBoolean":false,"address":[{"line":["534 Erewhon St"],"city":"PleasantVille","period":{"start":"1974-12-25"}}],"contact":[{"relationship":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0131","code":"N"}]}],"name":{"family":"du Marché","given":["Bénédicte"]}}]}"#;

const FHIRPATH_SEEDS: &[&str] = &[
    "name.given.first()",
    "Patient.name.where(use = 'official').family & ', ' & name.given.join(' ')",
    "birthDate < @2000-01-01 and gender = 'male'",
    "telecom.where(system='phone').rank.aggregate($this + $total, 0) * 2.5 'mg'",
    "(1 | 2 | 3).select($this * 2).where($this > 2).count() = 2",
    "extension('http://hl7.org/fhir/StructureDefinition/patient-birthTime').value.toString().substring(0, 4)",
    "iif(deceased.exists(), 'dead', 'alive').upper().matches('^[A-Z]+$')",
    "descendants().ofType(string).distinct().count() >= 3 implies today() > @2020",
    "contact.name.given.indexOf('é') | address.line.replaceMatches('\\\\d+', '#')",
    "%resource.children().repeat(children()).where($this is Period).start.toDate()",
];

/// Seeds for a target: our examples, the PRSB examples, the validator's own
/// cases (`conformance-tests/files`) and any folders of FHIR resources given
/// (an R4 examples package, UK Core examples). The XML reader also gets our
/// JSON examples as FHIR XML (written by `render::xml` with the context's
/// definitions), so a project checked out alone still has XML of every shape
/// it ships to start from.
pub fn seed_corpus(target: Target, project_root: &Path, extra: &[PathBuf], ctx: &Context) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    let ours = ["examples/fhir", "examples/fhir/prsb", "examples/fhir/profiles", "conformance-tests/files"].map(|d| project_root.join(d));
    match target {
        Target::Fhirpath => out.extend(FHIRPATH_SEEDS.iter().map(|s| s.as_bytes().to_vec())),
        Target::Prsb => {
            read_seeds(&project_root.join("examples/prsb"), "json", 64, &mut out);
            out.extend((0..8).map(|seed| serde_json::to_vec(&crate::prsb::generate::plan(seed, seed % 2 == 0)).unwrap_or_default()));
        }
        Target::Xml => {
            for dir in ours.iter().chain(extra) {
                read_seeds(dir, "xml", 64, &mut out);
            }
            let mut json = Vec::new();
            for dir in &ours {
                read_seeds(dir, "json", 64, &mut json);
            }
            for bytes in json {
                if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&bytes) {
                    let xml = crate::render::xml::resource_to_xml(&v, ctx);
                    if xml.len() < SEED_LIMIT {
                        out.push(xml.into_bytes());
                    }
                }
            }
            out.push(PATIENT_XML.as_bytes().to_vec());
        }
        Target::Json | Target::Validator => {
            for dir in &ours {
                read_seeds(dir, "json", 64, &mut out);
            }
            for dir in extra {
                read_seeds(dir, "json", 96, &mut out);
            }
            out.push(PATIENT.as_bytes().to_vec());
        }
    }
    out
}

/// Seeds past this size make each mutation slow and find nothing more.
const SEED_LIMIT: usize = 64 * 1024;

/// Up to `limit` files of a folder (not its subfolders) with this extension, in name order.
fn read_seeds(dir: &Path, ext: &str, limit: usize, out: &mut Vec<Vec<u8>>) {
    let mut paths: Vec<PathBuf> =
        std::fs::read_dir(dir).into_iter().flatten().flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == ext)).collect();
    paths.sort();
    for p in paths.into_iter().take(limit) {
        if let Ok(bytes) = std::fs::read(&p) {
            if bytes.len() < SEED_LIMIT {
                out.push(bytes);
            }
        }
    }
}

const PATIENT_XML: &str = r#"<Patient xmlns="http://hl7.org/fhir"><id value="x"/><text><status value="generated"/><div xmlns="http://www.w3.org/1999/xhtml"><p>Hi &amp; bye</p></div></text><name><given value="A"/></name><birthDate value="1970"><extension url="http://hl7.org/fhir/StructureDefinition/patient-birthTime"><valueDateTime value="1970-01-01T00:00:00Z"/></extension></birthDate></Patient>"#;

/// A small, fast generator for mutation choices (splitmix64).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0xD1B5_4A32_D192_ED03)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Tokens that make parsers and evaluators take rare paths.
const INTERESTING: &[&[u8]] = &[
    b"{", b"}", b"[", b"]", b"\"", b",", b":", b"null", b"true", b"-0", b"1e999", b"0.1e-400",
    b"\\u0000", b"\\ud800", b"<", b">", b"/>", b"</", b"&amp;", b"&#xD800;", b"<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>",
    b"<![CDATA[", b"]]>", b"xmlns=\"http://hl7.org/fhir\"", b"\"resourceType\":\"Bundle\"", b"\"_id\":{}",
    b"\"extension\":[{}]", b"\"contained\":[{\"resourceType\":\"Patient\"}]", b"(", b")", b"'", b"$this", b"%resource",
    b".repeat(", b"\xF0\x9F\x99\x82", b"\xFF", b"9999999999999999999999", b"@2020-13-45T25:61", b"[[[[[[[[[[[[[[[[",
];

/// One mutation of `input` (sometimes crossed with another corpus entry).
pub fn mutate(rng: &mut Rng, input: &[u8], corpus: &[Vec<u8>]) -> Vec<u8> {
    let mut data = input.to_vec();
    let rounds = 1 + rng.below(4);
    for _ in 0..rounds {
        let len = data.len();
        match rng.below(8) {
            0 if len > 0 => {
                let i = rng.below(len);
                data[i] ^= 1 << rng.below(8);
            }
            1 => {
                let token = INTERESTING[rng.below(INTERESTING.len())];
                let at = rng.below(len + 1);
                data.splice(at..at, token.iter().copied());
            }
            2 if len > 0 => {
                let start = rng.below(len);
                let end = (start + 1 + rng.below(64)).min(len);
                data.drain(start..end);
            }
            3 if len > 0 => {
                let start = rng.below(len);
                let end = (start + 1 + rng.below(256)).min(len);
                let chunk = data[start..end].to_vec();
                let at = rng.below(data.len() + 1);
                data.splice(at..at, chunk);
            }
            4 if !corpus.is_empty() => {
                let other = &corpus[rng.below(corpus.len())];
                if !other.is_empty() {
                    let start = rng.below(other.len());
                    let end = (start + 1 + rng.below(512)).min(other.len());
                    let at = rng.below(len + 1);
                    data.splice(at..at, other[start..end].iter().copied());
                }
            }
            5 if len > 0 => data.truncate(rng.below(len)),
            6 if len > 0 => {
                // Replace a quoted value with one of another kind.
                let quotes: Vec<usize> = data.iter().enumerate().filter(|(_, b)| **b == b'"').map(|(i, _)| i).collect();
                if quotes.len() >= 2 {
                    let k = rng.below(quotes.len() - 1);
                    let (a, b) = (quotes[k], quotes[k + 1]);
                    let replacement: &[u8] = [&b"1.50"[..], b"{}", b"[]", b"null", b"\"\"", b"\" \""][rng.below(6)];
                    data.splice(a..=b, replacement.iter().copied());
                }
            }
            _ if len > 0 => {
                let i = rng.below(len);
                data[i] = INTERESTING[rng.below(INTERESTING.len())][0];
            }
            _ => data.extend_from_slice(INTERESTING[rng.below(INTERESTING.len())]),
        }
    }
    data
}

/// How long a run lasts.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    pub iterations: u64,
    pub time: Duration,
}

/// What a run did.
#[derive(Debug, Default)]
pub struct RunReport {
    pub executions: u64,
    /// Inputs that panicked, saved under the crash folder.
    pub crashes: Vec<PathBuf>,
}

/// Runs `target` on the seeds as they are, then on mutations, until the budget
/// is spent. Every input that panics is written to `crash_dir` for replay.
pub fn run(harness: &Harness, target: Target, corpus: &[Vec<u8>], seed: u64, budget: Budget, crash_dir: &Path) -> RunReport {
    let mut report = RunReport::default();
    let mut rng = Rng::new(seed);
    let started = Instant::now();
    let try_one = |data: &[u8], report: &mut RunReport| {
        report.executions += 1;
        if catch_unwind(AssertUnwindSafe(|| harness.run(target, data))).is_err() {
            let _ = std::fs::create_dir_all(crash_dir);
            let path = crash_dir.join(format!("{}-{:016x}", target.name(), hash(data)));
            let _ = std::fs::write(&path, data);
            report.crashes.push(path);
        }
    };
    for input in corpus {
        try_one(input, &mut report);
    }
    while report.executions < budget.iterations && started.elapsed() < budget.time {
        let base: &[u8] = if corpus.is_empty() { b"" } else { &corpus[rng.below(corpus.len())] };
        let input = mutate(&mut rng, base, corpus);
        try_one(&input, &mut report);
    }
    report
}

fn hash(data: &[u8]) -> u64 {
    // FNV-1a: a stable name for a crash file.
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}
