//! Terminology without a server: ValueSets expanded from the CodeSystems in
//! the loaded packages, and binding checks on code, Coding and
//! CodeableConcept. What cannot be decided locally (SNOMED CT, LOINC, a
//! filter on a system we do not have) is said at information level, never
//! guessed into an error.

pub mod status;

use crate::context::Context;
use crate::definition::{split_canonical, CodeSystem, CodeSystemConcept, ConceptSet, ValueSet};
use crate::issue::{IssueCode, Severity};
use crate::terminology_bindings::{additional_bindings, cite_as, max_value_set, Cited};
use crate::tree::Node;
use parking_lot::RwLock;
// The maps hold what the packages define; instances only look things up in
// them, so the fast hasher is safe here.
use std::sync::Arc;
use std::collections::{HashMap, HashSet};

/// A CodeSystem indexed for lookups: code → (display, parent codes).
#[derive(Debug, Default)]
pub struct CodeIndex {
    pub url: String,
    pub version: Option<String>,
    /// `complete` content: a code that is not listed does not exist.
    pub complete: bool,
    /// `fragment` content: a code that is not listed may be in another fragment.
    pub fragment: bool,
    pub case_sensitive: bool,
    concepts: HashMap<String, IndexedConcept>,
}

#[derive(Debug, Default)]
struct IndexedConcept {
    display: Option<String>,
    parents: Vec<String>,
    properties: Vec<(String, String)>,
    abstract_: bool,
    /// Designations: (language, value).
    designations: Vec<(Option<String>, String)>,
}

impl CodeIndex {
    fn build(cs: &CodeSystem) -> CodeIndex {
        let mut ix = CodeIndex {
            url: cs.url.clone().unwrap_or_default(),
            version: cs.version.clone(),
            complete: cs.content.as_deref().is_none_or(|c| c == "complete"),
            fragment: cs.content.as_deref() == Some("fragment"),
            case_sensitive: cs.case_sensitive.unwrap_or(true),
            concepts: HashMap::new(),
        };
        fn walk(ix: &mut CodeIndex, concepts: &[CodeSystemConcept], parent: Option<&str>) {
            for c in concepts {
                let mut parents = Vec::new();
                let mut properties = Vec::new();
                let mut abstract_ = false;
                if let Some(p) = parent {
                    parents.push(p.to_string());
                }
                for p in &c.property {
                    let value = p.value_code.clone().or_else(|| p.value_string.clone()).or_else(|| p.value_boolean.map(|b| b.to_string()));
                    if let Some(v) = value {
                        if p.code == "parent" || p.code == "subsumedBy" {
                            parents.push(v.clone());
                        }
                        if (p.code == "notSelectable" || p.code == "abstract") && v == "true" {
                            abstract_ = true;
                        }
                        properties.push((p.code.clone(), v));
                    }
                }
                let designations = c
                    .designation
                    .iter()
                    .filter_map(|d| Some((d.get("language").and_then(|l| l.as_str()).map(str::to_string), d.get("value")?.as_str()?.to_string())))
                    .collect();
                ix.concepts.insert(c.code.clone(), IndexedConcept { display: c.display.clone(), parents, properties, abstract_, designations });
                walk(ix, &c.concept, Some(&c.code));
            }
        }
        walk(&mut ix, &cs.concept, None);
        ix
    }

    pub fn contains(&self, code: &str) -> bool {
        self.lookup(code).is_some()
    }

    fn lookup(&self, code: &str) -> Option<(&String, &IndexedConcept)> {
        if let Some(kv) = self.concepts.get_key_value(code) {
            return Some(kv);
        }
        if !self.case_sensitive {
            return self.concepts.iter().find(|(k, _)| k.eq_ignore_ascii_case(code));
        }
        None
    }

    /// Whether a code is held but inactive (its status inactive or
    /// retired, or its `inactive` property true).
    pub fn is_inactive(&self, code: &str) -> bool {
        self.lookup(code).is_some_and(|(_, concept)| {
            concept.properties.iter().any(|(p, v)| (p == "status" && (v == "inactive" || v == "retired")) || (p == "inactive" && v == "true"))
        })
    }

    /// The code as the system spells it, when `code` differs from it only
    /// by case (a case-insensitive system).
    pub fn correct_case(&self, code: &str) -> Option<&str> {
        self.lookup(code).map(|(found, _)| found.as_str()).filter(|found| *found != code)
    }

    /// What a code's status says of its use, in the reference's words:
    /// inactive or retired concepts, and deprecated ones.
    pub fn status_message(&self, code: &str) -> Option<String> {
        let (found, concept) = self.lookup(code)?;
        let property = |name: &str| concept.properties.iter().find(|(p, _)| p == name).map(|(_, v)| v.as_str());
        match (property("status"), property("inactive")) {
            // INACTIVE_CONCEPT_FOUND_ADD
            (Some("retired"), _) => Some(format!("The concept '{found}' has a status of retired and inactive and its use should be reviewed")),
            // INACTIVE_CONCEPT_FOUND
            (Some("inactive"), _) | (None, Some("true")) => Some(format!("The concept '{found}' has a status of inactive and its use should be reviewed")),
            // DEPRECATED_CONCEPT_FOUND
            (Some(s), _) if s.eq_ignore_ascii_case("deprecated") => Some(format!("The concept '{found}' is deprecated and its use should be reviewed")),
            _ => None,
        }
    }

    pub fn display(&self, code: &str) -> Option<&str> {
        self.lookup(code).and_then(|(_, c)| c.display.as_deref())
    }

    /// Whether `code` is `ancestor` or one of its descendants.
    fn is_a(&self, code: &str, ancestor: &str) -> bool {
        let mut stack = vec![code.to_string()];
        let mut seen = HashSet::new();
        while let Some(c) = stack.pop() {
            if c == ancestor {
                return true;
            }
            if !seen.insert(c.clone()) {
                continue;
            }
            if let Some(concept) = self.concepts.get(&c) {
                stack.extend(concept.parents.iter().cloned());
            }
        }
        false
    }
}

/// The codes a ValueSet holds, as far as they could be worked out here.
#[derive(Debug, Default)]
pub struct Expansion {
    pub url: String,
    pub name: String,
    codes: HashSet<(String, String)>,
    /// code → the systems that define it: lookups without building keys.
    by_code: std::collections::HashMap<String, Vec<String>>,
    /// Systems included whole or by filter that we could not enumerate.
    pub open_systems: Vec<String>,
    /// Whether every include could be enumerated.
    pub complete: bool,
}

impl Expansion {
    pub fn contains(&self, system: &str, code: &str) -> bool {
        self.by_code.get(code).is_some_and(|systems| systems.iter().any(|s| s == system))
    }

    /// The systems of the codes that carry this code (for a bare `code` value).
    pub fn systems_with(&self, code: &str) -> Vec<&str> {
        self.by_code.get(code).map(|systems| systems.iter().map(String::as_str).collect()).unwrap_or_default()
    }

    pub fn len(&self) -> usize {
        self.codes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    /// Every (system, code) listed.
    pub fn codes(&self) -> impl Iterator<Item = &(String, String)> + '_ {
        self.codes.iter()
    }
}

/// The answer to "is this code in this value set?".
#[derive(Debug)]
pub enum Membership {
    In,
    NotIn,
    /// Cannot be told locally, with the reason.
    Unknown(Undecided),
}

/// The same answer, whatever the reason given for an unknown one.
impl PartialEq for Membership {
    fn eq(&self, other: &Membership) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
    }
}

/// Why membership cannot be told. Most bindings in real data are to SNOMED
/// CT, so this is asked often and only sometimes said: the message is
/// written only when it is shown.
#[derive(Debug)]
pub enum Undecided {
    /// The value set is not among the loaded definitions.
    Missing(String),
    /// It includes systems that cannot be listed without a terminology server.
    Open(Arc<Expansion>),
    Other(String),
    /// The validation runs without terminology services (`--tx n/a`, as the
    /// reference's `-tx n/a`): what the packages cannot decide, no one does.
    NoService,
    /// The terminology server was asked and could not answer (it is down,
    /// or answered an error): what it said, or why it said nothing.
    ServerFailed(String),
}

/// The reference's class of a terminology server's failure, as binding
/// messages cite it.
pub const SERVER_ERROR_CLASS: &str = "SERVER_ERROR";

/// `--tx n/a`: no terminology server, as the reference's `-tx n/a`.
pub const NO_SERVER: &str = "n/a";

impl std::fmt::Display for Undecided {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Undecided::Missing(vs) => write!(f, "the value set {vs} is not available"),
            Undecided::Open(exp) => write!(f, "the value set {} includes codes from {} that cannot be listed without a terminology server", exp.url, exp.open_systems.join(", ")),
            Undecided::Other(why) => f.write_str(why),
            Undecided::NoService => f.write_str("the validation runs without terminology services"),
            Undecided::ServerFailed(why) => write!(f, "the terminology server could not answer: {why}"),
        }
    }
}

pub struct Terminology {
    ctx: Arc<Context>,
    /// A terminology server asked what cannot be decided locally (`--tx`).
    tx: Option<TxServer>,
    /// `--tx n/a`: running without terminology services, said as the reference says it.
    no_service: bool,
    expansions: RwLock<std::collections::HashMap<String, Option<Arc<Expansion>>>>,
    indexes: RwLock<std::collections::HashMap<String, Option<Arc<CodeIndex>>>>,
}

/// What a binding check finds: an issue at the checked node, or at a
/// path below it (`coding[0].display`).
#[derive(Debug)]
pub struct Finding {
    pub severity: Severity,
    pub code: IssueCode,
    pub message: String,
    pub at: Option<String>,
}

impl Finding {
    fn here((severity, code, message): (Severity, IssueCode, String)) -> Finding {
        Finding { severity, code, message, at: None }
    }
}

/// The language displays are judged in when the validation names none, as
/// the reference's messages say.
pub const DEFAULT_LANGUAGE: &str = "en-US";

/// (value set, system, code).
type Question = (String, Option<String>, String);

/// A terminology server's `ValueSet/$validate-code`, asked over HTTP, each
/// question once.
struct TxServer {
    base: String,
    http: reqwest::blocking::Client,
    answers: parking_lot::Mutex<std::collections::HashMap<Question, Result<bool, String>>>,
}

impl TxServer {
    fn new(base: &str) -> Result<TxServer, String> {
        let http = crate::package::http_client_builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .map_err(|e| format!("cannot set up the terminology server client: {e}"))?;
        Ok(TxServer { base: base.trim_end_matches('/').to_string(), http, answers: Default::default() })
    }

    /// The server's answer, or what went wrong when it could not answer.
    fn member(&self, value_set: &str, system: Option<&str>, code: &str) -> Result<Membership, String> {
        let key = (value_set.to_string(), system.map(str::to_string), code.to_string());
        if let Some(known) = self.answers.lock().get(&key) {
            return known.clone().map(|b| if b { Membership::In } else { Membership::NotIn });
        }
        let mut query = vec![("url", value_set), ("code", code)];
        if let Some(s) = system {
            query.push(("system", s));
        }
        let answer = self.ask(&query);
        if let Err(why) = &answer {
            tracing::warn!("the terminology server {} gave no answer for {code} in {value_set}: {why}", self.base);
        }
        // Remembered while the memory it takes stays small: the questions
        // are the requests' own codes, and the server lives long.
        const KEPT: usize = 100_000;
        const LONGEST: usize = 512;
        let mut answers = self.answers.lock();
        if answers.len() < KEPT && key.0.len() + key.1.as_ref().map_or(0, String::len) + key.2.len() <= LONGEST {
            answers.insert(key, answer.clone());
        }
        drop(answers);
        answer.map(|b| if b { Membership::In } else { Membership::NotIn })
    }

    /// One `$validate-code` request: its `result`, or why there is none (the
    /// connection's error, the server's own words for an error status, or
    /// an answer without a result).
    fn ask(&self, query: &[(&str, &str)]) -> Result<bool, String> {
        let response = self
            .http
            .get(format!("{}/ValueSet/$validate-code", self.base))
            .query(query)
            .header("Accept", "application/fhir+json")
            .send()
            .map_err(|e| e.without_url().to_string())?;
        let status = response.status();
        let body: Option<serde_json::Value> = response.json().ok();
        if !status.is_success() {
            let said = body.as_ref().and_then(|b| b.get("issue")?.as_array()?.iter().find_map(|i| {
                i.get("diagnostics").and_then(serde_json::Value::as_str).or_else(|| i.get("details")?.get("text")?.as_str()).map(str::to_string)
            }));
            return Err(match said {
                Some(s) => format!("HTTP {}: {s}", status.as_u16()),
                None => format!("HTTP {}", status.as_u16()),
            });
        }
        body.as_ref()
            .and_then(|p| p.get("parameter")?.as_array()?.iter().find(|x| x.get("name").and_then(serde_json::Value::as_str) == Some("result"))?.get("valueBoolean")?.as_bool())
            .ok_or_else(|| "the answer holds no result".to_string())
    }
}

/// Code systems that are real but cannot be enumerated from packages.
pub(crate) const EXTERNAL_SYSTEMS: &[&str] = &[
    "http://snomed.info/sct",
    "http://loinc.org",
    "http://unitsofmeasure.org",
    "urn:ietf:bcp:47",
    "urn:ietf:bcp:13",
    "urn:iso:std:iso:3166",
    "urn:iso:std:iso:4217",
    "http://www.nlm.nih.gov/research/umls/rxnorm",
    "http://hl7.org/fhir/sid/icd-10",
    "http://hl7.org/fhir/sid/icd-10-cm",
    "http://hl7.org/fhir/sid/ndc",
    "http://hl7.org/fhir/sid/cvx",
    "http://www.ama-assn.org/go/cpt",
    "http://dicom.nema.org/resources/ontology/DCM",
];

impl Terminology {
    pub fn new(ctx: Arc<Context>) -> Terminology {
        Terminology { ctx, tx: None, no_service: false, expansions: RwLock::new(Default::default()), indexes: RwLock::new(Default::default()) }
    }

    /// With a terminology server (its FHIR base URL) for what is not known locally.
    /// Whether a terminology server is asked what cannot be decided locally.
    pub fn has_server(&self) -> bool {
        self.tx.is_some()
    }

    /// `n/a` (`NO_SERVER`) is no server: the validation says, as the
    /// reference's `-tx n/a` does, what it could not check without one.
    pub fn with_server(ctx: Arc<Context>, base: &str) -> Result<Terminology, String> {
        let mut t = Terminology::new(ctx);
        if base == NO_SERVER {
            t.no_service = true;
        } else {
            t.tx = Some(TxServer::new(base)?);
        }
        Ok(t)
    }

    /// Whether the validation runs without terminology services (`--tx n/a`).
    pub fn without_service(&self) -> bool {
        self.no_service
    }

    /// How many expansions and code indexes are kept.
    pub fn cached_lookups(&self) -> usize {
        self.expansions.read().len() + self.indexes.read().len()
    }

    /// Whether a lookup by this name may be kept: only a name that is a
    /// loaded definition's own url or `url|version`, so that what requests
    /// name (unknown systems, a canonical written many ways) never grows
    /// the caches, which live as long as the server.
    fn keeps(&self, canonical: &str) -> bool {
        self.ctx.entry(canonical).is_some_and(|e| canonical == e.url || e.version.as_deref().is_some_and(|v| canonical.strip_prefix(e.url.as_str()).and_then(|r| r.strip_prefix('|')) == Some(v)))
    }

    pub fn code_index(&self, system: &str) -> Option<Arc<CodeIndex>> {
        if let Some(hit) = self.indexes.read().get(system) {
            return hit.clone();
        }
        // A name that resolves under another form (a partial version, `|0`
        // for `|01`) is the index of that exact canonical, built once (the
        // twenty-fourth pass's P5).
        if !self.keeps(system) {
            if let Some(exact) = self.ctx.entry(system).map(|e| e.version.as_ref().map_or_else(|| e.url.clone(), |v| format!("{}|{v}", e.url))) {
                if exact != system && self.keeps(&exact) {
                    return self.code_index(&exact);
                }
            }
        }
        let built = self.ctx.code_system(system).map(|cs| Arc::new(CodeIndex::build(&cs)));
        if self.keeps(system) {
            self.indexes.write().insert(system.to_string(), built.clone());
        }
        built
    }

    pub fn expand(&self, value_set: &str) -> Option<Arc<Expansion>> {
        if let Some(hit) = self.expansions.read().get(value_set) {
            return hit.clone();
        }
        let mut visiting = HashSet::new();
        let built = self.expand_uncached(value_set, &mut visiting).map(Arc::new);
        if self.keeps(value_set) {
            self.expansions.write().insert(value_set.to_string(), built.clone());
        }
        built
    }

    fn expand_uncached(&self, url: &str, visiting: &mut HashSet<String>) -> Option<Expansion> {
        if !visiting.insert(url.to_string()) {
            return None; // a cycle of value sets including each other
        }
        let vs: Arc<ValueSet> = self.ctx.value_set(url)?;
        let mut exp = Expansion {
            url: vs.url.clone().unwrap_or_default(),
            name: vs.name.clone().unwrap_or_default(),
            codes: HashSet::new(),
            by_code: Default::default(),
            open_systems: Vec::new(),
            complete: true,
        };
        match &vs.compose {
            Some(compose) => {
                for inc in &compose.include {
                    let (codes, open) = self.concept_set(inc, visiting);
                    exp.codes.extend(codes);
                    if let Some(sys) = open {
                        exp.complete = false;
                        exp.open_systems.push(sys);
                    }
                }
                for exc in &compose.exclude {
                    let (codes, _) = self.concept_set(exc, visiting);
                    for c in codes {
                        exp.codes.remove(&c);
                    }
                }
            }
            None => match &vs.expansion {
                Some(e) => {
                    fn flatten(out: &mut HashSet<(String, String)>, list: &[crate::definition::ExpansionContains]) {
                        for c in list {
                            if let (Some(s), Some(code)) = (&c.system, &c.code) {
                                out.insert((s.clone(), code.clone()));
                            }
                            flatten(out, &c.contains);
                        }
                    }
                    flatten(&mut exp.codes, &e.contains);
                }
                None => exp.complete = false,
            },
        }
        visiting.remove(url);
        for (system, code) in &exp.codes {
            exp.by_code.entry(code.clone()).or_default().push(system.clone());
        }
        Some(exp)
    }

    /// The codes one include/exclude names, and the system it could not enumerate, if any.
    fn concept_set(&self, set: &ConceptSet, visiting: &mut HashSet<String>) -> (HashSet<(String, String)>, Option<String>) {
        let mut open = None;
        let mut codes: Option<HashSet<(String, String)>> = None;
        if let Some(system) = &set.system {
            let mut mine = HashSet::new();
            if !set.concept.is_empty() {
                for c in &set.concept {
                    mine.insert((system.clone(), c.code.clone()));
                }
            } else {
                match self.code_index(system).filter(|ix| ix.complete) {
                    Some(ix) => {
                        for (code, concept) in &ix.concepts {
                            if set.filter.iter().all(|f| filter_matches(&ix, code, concept, f)) {
                                mine.insert((system.clone(), code.clone()));
                            }
                        }
                    }
                    None => open = Some(system.clone()),
                }
            }
            codes = Some(mine);
        }
        for vs in &set.value_set {
            let (plain, _) = split_canonical(vs);
            let other = if visiting.contains(plain) { None } else { self.expand_uncached(vs, visiting) };
            match other {
                Some(e) => {
                    if !e.complete {
                        open = open.or_else(|| e.open_systems.first().cloned()).or(Some(vs.clone()));
                    }
                    codes = Some(match codes {
                        None => e.codes,
                        Some(c) => c.intersection(&e.codes).cloned().collect(),
                    });
                }
                None => open = Some(vs.clone()),
            }
        }
        (codes.unwrap_or_default(), open)
    }

    /// Whether (system, code) is in the value set.
    pub fn member(&self, value_set: &str, system: Option<&str>, code: &str) -> Membership {
        match self.member_locally(value_set, system, code) {
            Membership::Unknown(why) => match &self.tx {
                Some(tx) => tx.member(value_set, system, code).unwrap_or_else(|failed| Membership::Unknown(Undecided::ServerFailed(failed))),
                None if self.no_service => Membership::Unknown(Undecided::NoService),
                None => Membership::Unknown(why),
            },
            known => known,
        }
    }

    /// A server's `ValueSet/$validate-code` answer, as Parameters.
    pub fn validate_code_parameters(&self, value_set: &str, system: Option<&str>, code: &str) -> serde_json::Value {
        let (result, message) = match self.member(value_set, system, code) {
            Membership::In => (Some(true), None),
            Membership::NotIn => (Some(false), Some(format!("The code '{code}' is not in the value set {value_set}"))),
            Membership::Unknown(why) => (None, Some(why.to_string())),
        };
        let mut parameter = Vec::new();
        if let Some(r) = result {
            parameter.push(serde_json::json!({"name": "result", "valueBoolean": r}));
        }
        if let Some(m) = message {
            parameter.push(serde_json::json!({"name": "message", "valueString": m}));
        }
        serde_json::json!({"resourceType": "Parameters", "parameter": parameter})
    }

    fn member_locally(&self, value_set: &str, system: Option<&str>, code: &str) -> Membership {
        let Some(exp) = self.expand(value_set) else {
            return Membership::Unknown(Undecided::Missing(value_set.to_string()));
        };
        let found = match system {
            Some(s) => exp.contains(s, code),
            None => !exp.systems_with(code).is_empty(),
        };
        if found {
            return Membership::In;
        }
        if exp.complete {
            return Membership::NotIn;
        }
        match system {
            Some(s) if !exp.open_systems.iter().any(|o| o == s) => Membership::NotIn,
            _ => Membership::Unknown(Undecided::Open(exp)),
        }
    }

    /// Checks a code, Coding or CodeableConcept node against a binding; a
    /// `code` whose system its parent states (a Quantity's unit) is looked
    /// for in that system, not guessed from the value set. `base` says the
    /// binding is the one the base definition of the element's type gives
    /// (the reference says nothing of preferred bindings there). The
    /// binding's additional bindings are checked too where they apply to
    /// `scope`'s resource, and its max value set where an extensible
    /// binding is not met. `for_publication`: the validation holds content
    /// to HL7's publication rules (an experimental code system is then said too).
    #[allow(clippy::too_many_arguments)]
    pub fn check_binding(&self, node: &Node, type_code: &str, stated_system: Option<&str>, binding: &crate::definition::Binding, base: bool, scope: &BindingScope<'_>, for_publication: bool) -> Vec<Finding> {
        let mut out = Vec::new();
        if let Some(vs_url) = binding.value_set.as_deref() {
            let case = |c: &Node| c.child_text("system").zip(c.child_text("code")).and_then(|(s, code)| self.case_difference(s, code));
            match type_code {
                "Coding" => {
                    out.extend(self.coding_in_system(node).into_iter().map(Finding::here));
                    // CODE_CASE_DIFFERENCE
                    out.extend(case(node).map(|message| Finding { severity: Severity::Information, code: IssueCode::BusinessRule, message, at: Some("code".into()) }));
                }
                "CodeableConcept" => {
                    for (i, c) in node.children_named("coding").enumerate() {
                        if let (Some(system), None) = (c.child_text("system"), c.child_text("code")) {
                            // NO_CODE_PROVIDED, NO_CODE_PROVIDED_VERSION
                            out.extend(self.no_code_message(system).map(|message| Finding { severity: Severity::Warning, code: IssueCode::Value, message, at: Some(format!("coding[{i}].code")) }));
                        }
                        // CODE_CASE_DIFFERENCE
                        out.extend(case(c).map(|message| Finding { severity: Severity::Information, code: IssueCode::BusinessRule, message, at: Some(format!("coding[{i}].code")) }));
                        let (found, status) = self.coding_in_system(c).into_iter().partition::<Vec<_>, _>(|f| f.1 != IssueCode::BusinessRule);
                        out.extend(found.into_iter().map(Finding::here));
                        out.extend(status.into_iter().map(|(severity, code, message)| Finding { severity, code, message, at: Some(format!("coding[{i}]")) }));
                    }
                }
                _ => {}
            }
            if vs_url.starts_with('#') {
                // a value set contained in the profile, which the walk does not resolve
            } else if let Some(missing) = self.value_set_missing(type_code, vs_url) {
                out.push(missing);
            } else {
                if type_code == "CodeableConcept" && binding.strength != "example" {
                    out.extend(self.codeable_concept_displays(node, vs_url));
                }
                let max = if binding.strength == "extensible" { max_value_set(binding) } else { None };
                out.extend(self.check_value_set(node, type_code, stated_system, &binding.strength, vs_url, &Cited::Base, base, max, for_publication));
            }
        }
        for extra in additional_bindings(binding, scope.profile, scope.resource) {
            if let Some(missing) = self.value_set_missing(type_code, extra.value_set) {
                out.push(missing);
                continue;
            }
            out.extend(self.check_value_set(node, type_code, stated_system, extra.strength, extra.value_set, &Cited::Additional(extra.note), false, None, for_publication));
        }
        out
    }

    /// That a binding's value set is not among the loaded definitions (with a
    /// terminology server, a value set the packages lack is the server's to judge).
    fn value_set_missing(&self, type_code: &str, vs_url: &str) -> Option<Finding> {
        if type_code == "Quantity" || self.tx.is_some() || self.ctx.value_set(vs_url).is_some() {
            return None;
        }
        Some(Finding::here(if self.ctx.code_system(vs_url).is_some() {
            // Terminology_TX_ValueSet_NotFound_CS
            (Severity::Error, IssueCode::CodeInvalid, format!("Found a reference to a CodeSystem '{vs_url}' where a ValueSet belongs"))
        } else {
            // Terminology_TX_ValueSet_NotFound
            (Severity::Warning, IssueCode::CodeInvalid, format!("ValueSet '{vs_url}' not found"))
        }))
    }

    /// The displays of a CodeableConcept's codings, as its binding's check
    /// judges them (`coding[i].display`).
    fn codeable_concept_displays(&self, node: &Node, vs_url: &str) -> Vec<Finding> {
        let mut out = Vec::new();
        for (i, c) in node.children_named("coding").enumerate() {
            let (Some(system), Some(code), Some(display)) = (c.child_text("system"), c.child_text("code"), c.child_text("display")) else { continue };
            if self.value_set_gives_display(vs_url, system, code, display) {
                continue;
            }
            if let Some(msg) = self.coding_display_issue(c) {
                out.push(Finding { severity: Severity::Error, code: IssueCode::Invalid, message: msg, at: Some(format!("coding[{i}].display")) });
            }
        }
        out
    }

    /// Whether a value set lists `display` for `system#code` (its
    /// expansion's or its includes' displays and designations): a value set
    /// may give a code displays of its own.
    pub fn value_set_gives_display(&self, vs_url: &str, system: &str, code: &str, display: &str) -> bool {
        let Some(vs) = self.ctx.value_set(vs_url) else { return false };
        let says = |d: Option<&str>, designations: &[serde_json::Value]| {
            d == Some(display) || designations.iter().any(|x| x.get("value").and_then(|v| v.as_str()) == Some(display))
        };
        fn walk_contains(list: &[crate::definition::ExpansionContains], found: &mut dyn FnMut(&crate::definition::ExpansionContains) -> bool) -> bool {
            list.iter().any(|c| found(c) || walk_contains(&c.contains, found))
        }
        if let Some(e) = &vs.expansion {
            if walk_contains(&e.contains, &mut |c| c.system.as_deref() == Some(system) && c.code.as_deref() == Some(code) && says(c.display.as_deref(), &c.designation)) {
                return true;
            }
        }
        vs.compose.as_ref().is_some_and(|compose| {
            compose.include.iter().filter(|inc| inc.system.as_deref() == Some(system)).any(|inc| inc.concept.iter().any(|c| c.code == code && says(c.display.as_deref(), &c.designation)))
        })
    }

    /// A Coding's display, when its system is loaded in full and neither the
    /// code's display nor any of its designations (in any loaded version)
    /// is the one given: the reference's "Wrong Display Name" (case and
    /// whitespace aside, which it reports differently).
    pub fn coding_display_issue(&self, coding: &Node) -> Option<String> {
        self.display_issue(coding.child_text("system")?, coding.child_text("code")?, coding.child_text("display")?)
    }

    /// Why `display` is not a display of `system#code`, when the loaded
    /// system tells (see `coding_display_issue`).
    pub fn display_issue(&self, system: &str, code: &str, display: &str) -> Option<String> {
        if EXTERNAL_SYSTEMS.contains(&system) {
            return None;
        }
        let norm = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
        let given = norm(display);
        let mut indexes: Vec<Arc<CodeIndex>> = self.code_index(system).into_iter().collect();
        for v in self.ctx.versions(system).into_iter().flatten() {
            if let Some(ix) = self.code_index(&format!("{system}|{v}")) {
                indexes.push(ix);
            }
        }
        let mut valid: Vec<String> = Vec::new();
        let mut known = false;
        for ix in indexes.iter().filter(|ix| ix.complete || ix.fragment) {
            let Some((_, concept)) = ix.lookup(code) else { continue };
            known = true;
            if concept.display.as_deref().is_some_and(|d| norm(d) == given) || concept.designations.iter().any(|(_, v)| norm(v) == given) {
                return None;
            }
            if let Some(d) = &concept.display {
                let quoted = format!("'{d}'");
                if !valid.contains(&quoted) {
                    valid.push(quoted);
                }
            }
            for (lang, v) in &concept.designations {
                if lang.as_deref().is_none_or(|l| l.starts_with("en")) {
                    let quoted = match lang {
                        Some(l) => format!("'{v}' ({l})"),
                        None => format!("'{v}'"),
                    };
                    if !valid.contains(&quoted) {
                        valid.push(quoted);
                    }
                }
            }
        }
        if !known || valid.is_empty() {
            return None;
        }
        // Display_Name_for__should_be_one_of__instead_of_one / _other
        Some(if valid.len() == 1 {
            format!("Wrong Display Name '{display}' for {system}#{code}. Valid display is {} (for the language(s) '{DEFAULT_LANGUAGE}')", valid[0])
        } else {
            let (last, rest) = valid.split_last().expect("several");
            format!("Wrong Display Name '{display}' for {system}#{code}. Valid display is one of {} choices: {} or {last} (for the language(s) '{DEFAULT_LANGUAGE}')", valid.len(), rest.join(", "))
        })
    }

    /// Checks a node against one value set with a binding strength; `how`
    /// says which of the element's bindings it is, wherever a message cites
    /// the value set. `max` is the max value set of an extensible binding.
    #[allow(clippy::too_many_arguments)]
    #[allow(clippy::too_many_arguments)]
    fn check_value_set(&self, node: &Node, type_code: &str, stated_system: Option<&str>, strength: &str, vs_url: &str, how: &Cited, base: bool, max: Option<&str>, for_publication: bool) -> Vec<Finding> {
        let mut out = Vec::new();
        // The reference says nothing of a preferred binding the base specification gives.
        let checked = matches!(strength, "required" | "extensible") || (strength == "preferred" && !base);
        if !checked {
            return out;
        }
        let cite = |vs_url: &str| {
            let (name, versioned) = self.describe(vs_url);
            (cite_as(format!("'{name}' ({versioned})"), how), versioned)
        };
        // MSG_RETIRED, MSG_DEPRECATED, MSG_WITHDRAWN: the bound value set's own standing.
        out.extend(self.value_set_standing(vs_url).map(|m| Finding::here((Severity::Information, IssueCode::BusinessRule, m))));
        // MSG_DRAFT, MSG_EXPERIMENTAL and the rest: the standing of the system of a code found in it, from the value set.
        let standing = |out: &mut Vec<Finding>, system: &str| {
            if let Some(m) = self.system_standing(system, Some(vs_url), for_publication) {
                if !out.iter().any(|f| f.message == m) {
                    out.push(Finding::here((Severity::Information, IssueCode::BusinessRule, m)));
                }
            }
        };
        match type_code {
            // A string or uri with a binding is checked as a code, as the reference checks it.
            "code" | "string" | "uri" => {
                let Some(code) = node.text() else { return out };
                let membership = self.member(vs_url, stated_system, code);
                // A bare code's system is inferred from the value set, as the reference infers it.
                let unresolved = if stated_system.is_none() { self.unresolved_system(vs_url, code, &membership) } else { None };
                if membership == Membership::In && unresolved.is_none() {
                    let systems = match stated_system {
                        Some(s) => vec![s.to_string()],
                        None => self.expand(vs_url).map(|e| e.systems_with(code).iter().map(|s| s.to_string()).collect()).unwrap_or_default(),
                    };
                    if let [system] = systems.as_slice() {
                        standing(&mut out, system);
                    }
                }
                let not_in = membership == Membership::NotIn || unresolved.is_some();
                let (failed, problems, why) = match membership {
                    Membership::Unknown(Undecided::NoService) if unresolved.is_none() => {
                        // Terminology_TX_NoValid_15
                        out.push(Finding::here((Severity::Information, IssueCode::CodeInvalid, format!("The value provided ('{code}') could not be validated in the absence of a terminology server"))));
                        return out;
                    }
                    Membership::Unknown(Undecided::ServerFailed(why)) if unresolved.is_none() => (true, Vec::new(), why),
                    _ if not_in => {
                        if strength == "extensible" && vs_url == "http://hl7.org/fhir/ValueSet/defined-types" && code.starts_with("http://hl7.org/fhirpath/System.") {
                            return out;
                        }
                        let versioned = self.describe(vs_url).1;
                        // UNABLE_TO_INFER_CODESYSTEM, unless the value set tells why
                        let problems = unresolved.unwrap_or_else(|| vec![format!("The System URI could not be determined for the code '{code}' in the ValueSet '{versioned}'")]);
                        let why = match (stated_system, problems.as_slice()) {
                            (None, [problem]) => format!("{problem}; The provided code '#{code}' was not found in the value set '{versioned}'"),
                            // Several problems are the reason together.
                            (None, _) => problems.join("; "),
                            (Some(s), _) => format!("The provided code '{s}#{code}' was not found in the value set '{versioned}'"),
                        };
                        (false, problems, why)
                    }
                    _ => return out,
                };
                let (cited, _) = cite(vs_url);
                // A Quantity's unit (its system stated beside it): the units allowed, when few.
                let allowed = stated_system.map(|s| self.allowed_units(vs_url, s)).unwrap_or_default();
                match strength {
                    "required" => {
                        if stated_system.is_none() && !failed {
                            // One problem is a system not found; several are each an error of unknown kind.
                            let kind = if problems.len() == 1 { IssueCode::NotFound } else { IssueCode::Unknown };
                            out.extend(problems.into_iter().map(|p| Finding::here((Severity::Error, kind, p))));
                        }
                        // Terminology_TX_NoValid_16
                        out.push(Finding::here((
                            Severity::Error,
                            IssueCode::CodeInvalid,
                            format!("The value provided ('{code}') was not found in the value set {cited}, and a code is required from this value set  (error message = {why}){allowed}"),
                        )));
                    }
                    "extensible" if max.is_some() => out.extend(self.check_max(node, type_code, stated_system, max.unwrap_or_default())),
                    // Terminology_TX_NoValid_17
                    "extensible" => out.push(Finding::here((
                        Severity::Warning,
                        IssueCode::CodeInvalid,
                        format!("The value provided ('{code}') was not found in the value set {cited}, and a code should come from this value set unless it has no suitable code (note that the validator cannot judge what is suitable)  (error message = {why}){allowed}"),
                    ))),
                    // Terminology_TX_NoValid_18
                    _ => out.push(Finding::here((
                        Severity::Information,
                        IssueCode::CodeInvalid,
                        format!("The value provided ('{code}') was not found in the value set {cited}, and a code is recommended to come from this value set (error message = {why}){allowed}"),
                    ))),
                }
            }
            "Coding" => {
                let (Some(code), system) = (node.child_text("code"), node.child_text("system")) else { return out };
                let sys = system.unwrap_or("");
                let membership = self.member(vs_url, system, code);
                if let (Membership::In, Some(system)) = (&membership, system) {
                    standing(&mut out, system);
                    // CONCEPT_DEPRECATED_IN_VALUESET
                    out.extend(self.concept_standing_in_value_set(vs_url, system, code).map(|message| Finding { severity: Severity::Warning, code: IssueCode::BusinessRule, message, at: Some("code".into()) }));
                }
                let why = match membership {
                    Membership::Unknown(Undecided::NoService) => {
                        // Terminology_TX_Binding_NoServer
                        out.push(Finding::here((Severity::Information, IssueCode::CodeInvalid, format!("The value provided ([{sys}#{code}]) could not be validated in the absence of a terminology server"))));
                        return out;
                    }
                    // A server's failure is reported as the reference reports it: as not found, with what the server said.
                    Membership::Unknown(Undecided::ServerFailed(why)) => why,
                    Membership::NotIn => format!("The provided code '{sys}#{code}' was not found in the value set '{}'", self.describe(vs_url).1),
                    _ => return out,
                };
                let (cited, _) = cite(vs_url);
                out.extend(match strength {
                    // Terminology_TX_NoValid_12
                    "required" => vec![Finding::here((
                        Severity::Error,
                        IssueCode::CodeInvalid,
                        format!("The Coding provided ({sys}#{code}) was not found in the value set {cited}, and a code is required from this value set.  (error message = {why})"),
                    ))],
                    "extensible" if max.is_some() => self.check_max(node, type_code, stated_system, max.unwrap_or_default()),
                    // Terminology_TX_NoValid_13
                    "extensible" => vec![Finding::here((
                        Severity::Warning,
                        IssueCode::CodeInvalid,
                        format!("The Coding provided ({sys}#{code}) was not found in the value set {cited}, and a code should come from this value set unless it has no suitable code (note that the validator cannot judge what is suitable).  (error message = {why})"),
                    ))],
                    // Terminology_TX_NoValid_14
                    _ => vec![Finding::here((
                        Severity::Information,
                        IssueCode::CodeInvalid,
                        format!("The Coding provided ({sys}#{code}) was not found in the value set {cited}, and a code is recommended to come from this value set.  (error message = {why})"),
                    ))],
                });
            }
            "CodeableConcept" => {
                let codings: Vec<&Node> = node.children_named("coding").collect();
                if codings.is_empty() {
                    if strength == "preferred" {
                        return out;
                    }
                    let (cited, _) = cite(vs_url);
                    out.push(Finding::here(match (strength, max) {
                        // Terminology_TX_Code_ValueSet
                        ("required", _) => (Severity::Error, IssueCode::CodeInvalid, format!("No code provided, and a code is required from the value set {cited}")),
                        // Terminology_TX_Code_ValueSetMax
                        (_, Some(max)) => {
                            (Severity::Error, IssueCode::CodeInvalid, format!("No code provided, and a code must be provided from the value set {max} (max value set {})", self.describe(vs_url).1))
                        }
                        // Terminology_TX_Code_ValueSet_Ext
                        _ => (Severity::Warning, IssueCode::CodeInvalid, format!("No code provided, and a code should be provided from the value set {cited}")),
                    }));
                    return out;
                }
                let verdict = self.codings_verdict(&codings, vs_url, matches!(how, Cited::Base), &mut out);
                for (i, c) in codings.iter().enumerate() {
                    let (Some(system), Some(code)) = (c.child_text("system"), c.child_text("code")) else { continue };
                    if self.member(vs_url, Some(system), code) == Membership::In {
                        standing(&mut out, system);
                        // CONCEPT_DEPRECATED_IN_VALUESET
                        out.extend(self.concept_standing_in_value_set(vs_url, system, code).map(|message| Finding {
                            severity: Severity::Warning,
                            code: IssueCode::BusinessRule,
                            message,
                            at: Some(format!("coding[{i}].code")),
                        }));
                    }
                }
                let Some(listed) = verdict.listed.filter(|l| !l.is_empty()) else { return out };
                let codes = codes_text(&listed);
                match verdict.outcome {
                    Membership::In => {}
                    Membership::Unknown(Undecided::NoService) => {
                        // TERMINOLOGY_TX_NOSVC_BOUND_REQ (a max value set binds as required does)
                        let required = || format!("Could not confirm that the codes provided are from the required value set {vs_url} because there is no terminology service");
                        match strength {
                            "required" => out.push(Finding::here((Severity::Information, IssueCode::CodeInvalid, required()))),
                            "extensible" if max.is_some() => out.push(Finding::here((Severity::Information, IssueCode::CodeInvalid, required()))),
                            // TERMINOLOGY_TX_NOSVC_BOUND_EXT
                            "extensible" => out.push(Finding::here((
                                Severity::Information,
                                IssueCode::CodeInvalid,
                                format!("Could not confirm that the codes provided are from the extensible value set {vs_url} because there is no terminology service"),
                            ))),
                            _ => {}
                        }
                    }
                    Membership::Unknown(Undecided::ServerFailed(_)) => match strength {
                        // Terminology_TX_Confirm_1_CC
                        "required" => out.push(Finding::here((
                            Severity::Warning,
                            IssueCode::CodeInvalid,
                            format!("Could not confirm that the codings provided are in the value set {vs_url} and a coding from this value set is required (class = {SERVER_ERROR_CLASS})"),
                        ))),
                        "extensible" if max.is_some() => out.extend(self.check_max(node, type_code, stated_system, max.unwrap_or_default())),
                        // Terminology_TX_Confirm_2_CC
                        "extensible" => out.push(Finding::here((
                            Severity::Warning,
                            IssueCode::CodeInvalid,
                            format!("Could not confirm that the codings provided are in the value set {vs_url} and a coding should come from this value set unless it has no suitable code (the validator cannot judge what is suitable) (class = {SERVER_ERROR_CLASS})"),
                        ))),
                        // Terminology_TX_Confirm_3_CC
                        _ => out.push(Finding::here((
                            Severity::Information,
                            IssueCode::CodeInvalid,
                            format!("Could not confirm that the codings provided are in the value set {vs_url} and a coding is recommended to come from this value set (class = {SERVER_ERROR_CLASS})"),
                        ))),
                    },
                    Membership::Unknown(_) => {}
                    Membership::NotIn => {
                        let (cited, _) = cite(vs_url);
                        match strength {
                            // Terminology_TX_NoValid_1_CC
                            "required" => out.push(Finding::here((
                                Severity::Error,
                                IssueCode::CodeInvalid,
                                format!("None of the codings provided are in the value set {cited}, and a coding from this value set is required) (codes = {codes})"),
                            ))),
                            "extensible" => {
                                // The max value set is checked, and the extensible binding still warns.
                                if let Some(max) = max {
                                    out.extend(self.check_max(node, type_code, stated_system, max));
                                }
                                // Terminology_TX_NoValid_2_CC
                                out.push(Finding::here((
                                    Severity::Warning,
                                    IssueCode::CodeInvalid,
                                    format!("None of the codings provided are in the value set {cited}, and a coding should come from this value set unless it has no suitable code (note that the validator cannot judge what is suitable) (codes = {codes})"),
                                )));
                            }
                            // Terminology_TX_NoValid_3_CC
                            _ => out.push(Finding::here((Severity::Information, IssueCode::CodeInvalid, format!("None of the codings provided are in the value set {cited}, and a coding is recommended to come from this value set (codes = {codes})")))),
                        }
                    }
                }
            }
            "Quantity" => {
                // The unit's code, when the binding names a value set we can list.
                let (Some(code), system) = (node.child_text("code"), node.child_text("system")) else { return out };
                if strength == "preferred" {
                    return out;
                }
                if let Membership::NotIn = self.member(vs_url, system, code) {
                    let (cited, versioned) = cite(vs_url);
                    let allowed = system.map(|s| self.allowed_units(vs_url, s)).unwrap_or_default();
                    let sys = system.unwrap_or("");
                    out.push(Finding::here(if strength == "required" {
                        // Terminology_TX_Confirm_4a: a unit is checked as a code of its grammar, then against the value set
                        (
                            Severity::Error,
                            IssueCode::CodeInvalid,
                            format!("The code provided ({sys}#{code}) was not found in the value set {cited}, and a code from this value set is required: The provided code '{sys}#{code}' was not found in the value set '{versioned}'{allowed}"),
                        )
                    } else {
                        // Terminology_TX_Confirm_5
                        (
                            Severity::Warning,
                            IssueCode::CodeInvalid,
                            format!("The code provided ({sys}#{code}) is not in the value set {cited}, and a code should come from this value set unless it has no suitable code (the validator cannot judge what is suitable)") + &allowed,
                        )
                    }));
                }
            }
            _ => {}
        }
        out
    }

    /// Whether a CodeableConcept's codings meet a value set: `In` when one
    /// of them is in it, `NotIn` when each is decided and none is, else the
    /// first reason one could not be decided (no service, a server's
    /// failure, or what careplan leaves unsaid). A coding without a system
    /// is said (on the element's own binding) and counts for nothing.
    fn codings_verdict<'c>(&self, codings: &[&'c Node], vs_url: &str, own_binding: bool, out: &mut Vec<Finding>) -> CodingsVerdict<'c> {
        let mut outcome = Membership::NotIn;
        let mut listed = Vec::new();
        for (i, c) in codings.iter().enumerate() {
            let (Some(code), system) = (c.child_text("code"), c.child_text("system")) else { continue };
            listed.push((system.unwrap_or("null"), code));
            let Some(system) = system else {
                // Coding_has_no_system__cannot_validate: a code without its system is in no value set.
                if own_binding {
                    out.push(Finding {
                        severity: Severity::Warning,
                        code: IssueCode::Invalid,
                        message: "Coding has no system. A code with no system has no defined meaning, and it cannot be validated. A system should be provided".into(),
                        at: Some(format!("coding[{i}]")),
                    });
                }
                continue;
            };
            match self.member(vs_url, Some(system), code) {
                Membership::In => return CodingsVerdict { outcome: Membership::In, listed: None },
                Membership::NotIn => {}
                unknown => {
                    if outcome == Membership::NotIn {
                        outcome = unknown;
                    }
                }
            }
        }
        CodingsVerdict { outcome, listed: Some(listed) }
    }

    /// The max value set of an extensible binding, checked where the
    /// binding's own value set is not met (or could not be confirmed): the
    /// content must come from it.
    fn check_max(&self, node: &Node, type_code: &str, stated_system: Option<&str>, max_url: &str) -> Vec<Finding> {
        if let Some(missing) = self.value_set_missing(type_code, max_url) {
            return vec![missing];
        }
        let (name, versioned) = self.describe(max_url);
        let plain = format!("'{name}' ({versioned})");
        let cited = cite_as(plain.clone(), &Cited::Max);
        let no_service = |system: &str, code: &str| format!("Unable to validate code '{code}' in system '{system}' because the validator is running without terminology services");
        let failure = |why: Undecided, system: &str, code: &str| match why {
            // Error_validating_code_running_without_terminology_services: what the reference's terminology layer answers without a server
            Undecided::NoService => Some(no_service(system, code)),
            Undecided::ServerFailed(why) => Some(why),
            _ => None,
        };
        let mut out = Vec::new();
        match type_code {
            "code" | "string" | "uri" => {
                let Some(code) = node.text() else { return out };
                match self.member(max_url, stated_system, code) {
                    Membership::NotIn => {
                        let why = format!("The provided code '{}#{code}' was not found in the value set '{versioned}'", stated_system.unwrap_or(""));
                        // Terminology_TX_NoValid_11 (the reference fills two of its four places)
                        out.push(Finding::here((
                            Severity::Error,
                            IssueCode::CodeInvalid,
                            format!("The code provided is not in the maximum value set {plain}, and a code from this value set is required) (code = {why}#{{2}}), error = {{3}})"),
                        )));
                    }
                    Membership::Unknown(why) => {
                        if let Some(why) = failure(why, stated_system.unwrap_or(""), code) {
                            // Terminology_TX_NoValid_9
                            out.push(Finding::here((Severity::Warning, IssueCode::CodeInvalid, format!("The code provided ({code}) could not be validated against the maximum value set {plain}, (error = {why})"))));
                        }
                    }
                    Membership::In => {}
                }
            }
            "Coding" => {
                let (Some(code), system) = (node.child_text("code"), node.child_text("system")) else { return out };
                let sys = system.unwrap_or("");
                match self.member(max_url, system, code) {
                    // Terminology_TX_NoValid_10
                    Membership::NotIn => out.push(Finding::here((
                        Severity::Error,
                        IssueCode::CodeInvalid,
                        format!("The code provided is not in the maximum value set {cited}, and a code from this value set is required) (code = {sys}#{code})"),
                    ))),
                    Membership::Unknown(why) => {
                        if let Some(why) = failure(why, sys, code) {
                            // Terminology_TX_NoValid_9
                            out.push(Finding::here((Severity::Warning, IssueCode::CodeInvalid, format!("The code provided ({sys}#{code}) could not be validated against the maximum value set {cited}, (error = {why})"))));
                        }
                    }
                    Membership::In => {}
                }
            }
            "CodeableConcept" => {
                let codings: Vec<&Node> = node.children_named("coding").collect();
                let verdict = self.codings_verdict(&codings, max_url, false, &mut Vec::new());
                let Some(listed) = verdict.listed.filter(|l| !l.is_empty()) else { return out };
                match verdict.outcome {
                    // Terminology_TX_NoValid_8
                    Membership::NotIn => out.push(Finding::here((
                        Severity::Error,
                        IssueCode::CodeInvalid,
                        format!("None of the codes provided are in the maximum value set {cited}, and a code from this value set is required) (codes = {})", codes_text(&listed)),
                    ))),
                    // Terminology_TX_NoValid_7 (the reference leaves its error's place unfilled)
                    Membership::Unknown(Undecided::NoService | Undecided::ServerFailed(_)) => {
                        out.push(Finding::here((Severity::Warning, IssueCode::CodeInvalid, format!("None of the codes provided could be validated against the maximum value set {cited}, (error = {{2}})"))))
                    }
                    _ => {}
                }
            }
            _ => {}
        }
        out
    }

    /// ` (allowed units: g, kg, [lb_av])`: the codes of `system` a value set
    /// holds, when it is fully known and names few enough to list (a unit
    /// binding usually names a handful); empty otherwise.
    fn allowed_units(&self, vs_url: &str, system: &str) -> String {
        const LISTED: usize = 12;
        let Some(exp) = self.expand(vs_url).filter(|e| e.complete) else { return String::new() };
        let mut codes: Vec<&str> = exp.codes.iter().filter(|(s, _)| s == system).map(|(_, c)| c.as_str()).collect();
        if codes.is_empty() || codes.len() > LISTED {
            return String::new();
        }
        codes.sort_unstable();
        format!(" (allowed units: {})", codes.join(", "))
    }

    /// A Coding whose system we hold in full must use one of its codes.
    pub fn coding_in_system(&self, coding: &Node) -> Vec<(Severity, IssueCode, String)> {
        let mut out = Vec::new();
        let (Some(system), Some(code)) = (coding.child_text("system"), coding.child_text("code")) else { return out };
        if EXTERNAL_SYSTEMS.contains(&system) {
            return out;
        }
        if let Some(message) = self.unknown_code(system, code) {
            out.push((Severity::Error, IssueCode::CodeInvalid, message));
        } else if let Some(message) = self.code_status(system, code) {
            // INACTIVE_CONCEPT_FOUND, INACTIVE_CONCEPT_FOUND_ADD, DEPRECATED_CONCEPT_FOUND
            out.push((Severity::Warning, IssueCode::BusinessRule, message));
        } else if let Some(message) = self.unknown_in_fragment(system, code) {
            // UNKNOWN_CODE_IN_FRAGMENT
            out.push((Severity::Warning, IssueCode::CodeInvalid, message));
        }
        out
    }

    /// Why `code` is not a code of `system`, when we hold the system in
    /// full and no loaded version of it defines the code; `None` when it is
    /// one, or when that cannot be told here.
    pub fn unknown_code(&self, system: &str, code: &str) -> Option<String> {
        if EXTERNAL_SYSTEMS.contains(&system) {
            return None;
        }
        let ix = self.code_index(system)?;
        if ix.complete && !ix.contains(code) && !self.in_other_version(system, code) {
            return Some(match ix.version.as_deref() {
                // Unknown_Code_in_Version
                Some(v) => format!("Unknown code '{code}' in the CodeSystem '{system}' version '{v}'"),
                // Unknown_Code_in
                None => format!("Unknown code '{code}' in the CodeSystem '{system}'"),
            });
        }
        None
    }

    /// That a fragment of `system` (the loaded one) does not hold `code`.
    pub fn unknown_in_fragment(&self, system: &str, code: &str) -> Option<String> {
        let ix = self.code_index(system).filter(|ix| ix.fragment && !ix.contains(code))?;
        let version = ix.version.as_deref().unwrap_or("");
        Some(format!("Unknown Code '{code}' in the CodeSystem '{system}' version '{version}' - note that the code system is labeled as a fragment, so the code may be valid in some other fragment"))
    }

    /// What the status of `code` in the loaded `system` (held in full) says of its use.
    pub fn code_status(&self, system: &str, code: &str) -> Option<String> {
        self.code_index(system).filter(|ix| ix.complete).and_then(|ix| ix.status_message(code))
    }

    /// Packages can carry several versions of a code system (R4 core's and
    /// the terminology package's); a code that any of them defines is known.
    fn in_other_version(&self, system: &str, code: &str) -> bool {
        self.ctx.versions(system).into_iter().flatten().any(|v| self.code_index(&format!("{system}|{v}")).is_some_and(|ix| ix.contains(code)))
    }

    /// CODE_CASE_DIFFERENCE: that `code` is a code of the loaded
    /// case-insensitive `system` in another case.
    pub fn case_difference(&self, system: &str, code: &str) -> Option<String> {
        let ix = self.code_index(system)?;
        let correct = ix.correct_case(code)?;
        let versioned = status::versioned_url(&ix.url, ix.version.as_deref());
        Some(format!(
            "The code '{code}' differs from the correct code '{correct}' by case. Although the code system '{versioned}' is case insensitive, implementers are strongly encouraged to use the correct case anyway"
        ))
    }

    /// NO_CODE_PROVIDED, NO_CODE_PROVIDED_VERSION: a coding of the loaded
    /// `system` (complete or a fragment) that gives no code.
    pub fn no_code_message(&self, system: &str) -> Option<String> {
        let ix = self.code_index(system).filter(|ix| ix.complete || ix.fragment)?;
        Some(match ix.version.as_deref() {
            Some(v) => format!("No code provided for CodeSystem '{}' version '{v}'", ix.url),
            None => format!("No code provided for CodeSystem '{}'", ix.url),
        })
    }

    /// CONCEPT_DEPRECATED_IN_VALUESET: the value set lists `system#code`
    /// (a code its loaded complete system holds) with a status of its own,
    /// deprecated or withdrawn (standards-status or valueset-deprecated
    /// extension on the listed concept).
    pub fn concept_standing_in_value_set(&self, vs_url: &str, system: &str, code: &str) -> Option<String> {
        const STANDARDS_STATUS: &str = "http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status";
        const DEPRECATED: &str = "http://hl7.org/fhir/StructureDefinition/valueset-deprecated";
        let vs = self.ctx.value_set(vs_url)?;
        let ix = self.code_index(system).filter(|ix| ix.complete && ix.contains(code))?;
        let listed = vs.compose.as_ref()?.include.iter().filter(|inc| inc.system.as_deref() == Some(system)).find_map(|inc| inc.concept.iter().find(|c| c.code == code))?;
        let extension = |url: &str| listed.extension.iter().find(|e| e.get("url").and_then(|u| u.as_str()) == Some(url));
        let status = match extension(STANDARDS_STATUS).and_then(|e| e.get("valueCode")).and_then(|v| v.as_str()) {
            Some(s @ ("withdrawn" | "deprecated")) => s,
            _ if extension(DEPRECATED).is_some() => "deprecated",
            _ => return None,
        };
        let (_, versioned) = self.describe(vs_url);
        Some(format!("The presence of the concept '{code}' in the system '{}' in the value set {versioned} is marked with a status of {status} and its use should be reviewed", ix.url))
    }

    /// Whether `code` is held by the loaded `system` (in full) but inactive.
    pub fn code_inactive(&self, system: &str, code: &str) -> bool {
        self.code_index(system).filter(|ix| ix.complete).is_some_and(|ix| ix.is_inactive(code))
    }

    /// What the standing of the loaded code system `system` says when a
    /// code of it is checked from the value set `source` (none: the code is
    /// checked against its system alone): MSG_DRAFT and the rest.
    pub fn system_standing(&self, system: &str, source: Option<&str>, for_publication: bool) -> Option<String> {
        let cs = self.ctx.code_system(system).filter(|cs| cs.content.as_deref() != Some("supplement"))?;
        let source = match source {
            Some(vs) => Some(self.ctx.value_set(vs)?),
            None => None,
        };
        let versioned = status::versioned_url(cs.url.as_deref().unwrap_or(system), cs.version.as_deref());
        status::standing_message("CodeSystem", &versioned, &cs.publication(), source.as_ref().map(|vs| vs.publication()).as_ref(), for_publication)
    }

    /// What the standing of a bound value set says of itself (its own
    /// draft or experimental status is no news to it): MSG_RETIRED,
    /// MSG_DEPRECATED, MSG_WITHDRAWN.
    pub fn value_set_standing(&self, vs_url: &str) -> Option<String> {
        let vs = self.ctx.value_set(vs_url)?;
        let versioned = status::versioned_url(vs.url.as_deref().unwrap_or(vs_url), vs.version.as_deref());
        status::standing_message("ValueSet", &versioned, &vs.publication(), Some(&vs.publication()), false)
    }

    /// Why the system of a bare `code` cannot be inferred from the value
    /// set, when the value set itself tells (the reference's problems, in
    /// its order): an include naming neither a system nor a value set, no
    /// includes at all, or several systems holding the code.
    fn unresolved_system(&self, vs_url: &str, code: &str, membership: &Membership) -> Option<Vec<String>> {
        let vs = self.ctx.value_set(vs_url)?;
        let (_, versioned) = self.describe(vs_url);
        let includes = vs.compose.as_ref().map(|c| c.include.as_slice()).unwrap_or_default();
        if includes.iter().any(|inc| inc.system.is_none() && inc.value_set.is_empty()) {
            // Unable_to_resolve_system__value_set_has_include_with_no_system (the reference fills its
            // first place with the code and its second with the value set; the include's number goes unsaid)
            return Some(vec![format!("Unable to resolve system - value set {code} include #{versioned} has no system")]);
        }
        if vs.compose.is_some() && includes.is_empty() && vs.expansion.as_ref().is_none_or(|e| e.contains.is_empty()) {
            return Some(vec![
                // Unable_to_resolve_system__value_set_has_no_includes_or_expansion
                format!("The System URI could not be determined for the code '{code}' in the ValueSet '{versioned}': value set has no includes or expansion"),
                // UNABLE_TO_INFER_CODESYSTEM (nothing was found either)
                format!("The System URI could not be determined for the code '{code}' in the ValueSet '{versioned}'"),
            ]);
        }
        if *membership != Membership::In {
            return None;
        }
        let exp = self.expand(vs_url)?;
        let mut systems: Vec<String> = exp
            .systems_with(code)
            .into_iter()
            .map(|s| match includes.iter().find(|inc| inc.system.as_deref() == Some(s)).and_then(|inc| inc.version.as_deref()) {
                Some(v) => format!("{s}|{v}"),
                None => s.to_string(),
            })
            .collect();
        systems.sort();
        systems.dedup();
        // Unable_to_resolve_system__value_set_has_multiple_matches
        (systems.len() > 1).then(|| vec![format!("The System URI could not be determined for the code '{code}' in the ValueSet '{versioned}': value set expansion has multiple matches: {}", systems.join(", "))])
    }

    /// The value set's title (else its name) and `url|version`, as messages cite it.
    fn describe(&self, vs_url: &str) -> (String, String) {
        match self.ctx.value_set(vs_url) {
            Some(vs) => {
                let url = vs.url.clone().unwrap_or_else(|| vs_url.to_string());
                let versioned = match &vs.version {
                    Some(v) if !vs_url.contains('|') => format!("{url}|{v}"),
                    _ => vs_url.to_string(),
                };
                (vs.title.clone().or_else(|| vs.name.clone()).unwrap_or(url), versioned)
            }
            None => (vs_url.to_string(), vs_url.to_string()),
        }
    }
}

/// What a CodeableConcept's codings say of a value set, and the codings
/// (`None` when one of them is in it).
struct CodingsVerdict<'c> {
    outcome: Membership,
    listed: Option<Vec<(&'c str, &'c str)>>,
}

/// Where a binding is checked: the profile that states it (its url and
/// versioned url, which usage contexts of additional bindings name) and the
/// resource whose content those contexts are looked for in.
pub struct BindingScope<'a> {
    pub profile: (&'a str, &'a str),
    pub resource: Option<&'a Node>,
}

/// `system#code, system#code` as binding messages list codings.
fn codes_text(codings: &[(&str, &str)]) -> String {
    codings.iter().map(|(system, code)| format!("{system}#{code}")).collect::<Vec<_>>().join(", ")
}

fn filter_matches(ix: &CodeIndex, code: &str, concept: &IndexedConcept, f: &crate::definition::Filter) -> bool {
    match (f.property.as_str(), f.op.as_str()) {
        ("concept", "is-a") => ix.is_a(code, &f.value),
        ("concept", "descendent-of") => code != f.value && ix.is_a(code, &f.value),
        ("concept", "is-not-a") => !ix.is_a(code, &f.value),
        ("concept", "in") => f.value.split(',').any(|v| v.trim() == code),
        ("concept", "not-in") => !f.value.split(',').any(|v| v.trim() == code),
        (_, "exists") => concept.properties.iter().any(|(p, _)| p == &f.property) == (f.value == "true"),
        (prop, "=") => concept.properties.iter().any(|(p, v)| p == prop && v == &f.value) || (prop == "notSelectable" && (concept.abstract_.to_string() == f.value)),
        (prop, "in") => concept.properties.iter().any(|(p, v)| p == prop && f.value.split(',').any(|x| x.trim() == v)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn terminology() -> Terminology {
        let mut ctx = Context::new();
        ctx.add_json(
            json!({"resourceType": "CodeSystem", "url": "http://x/cs", "content": "complete", "concept": [
                {"code": "animal", "concept": [{"code": "dog"}, {"code": "cat", "concept": [{"code": "lion"}]}]},
                {"code": "plant"}
            ]}),
            "test",
        );
        ctx.add_json(json!({"resourceType": "ValueSet", "url": "http://x/all", "name": "All", "compose": {"include": [{"system": "http://x/cs"}]}}), "test");
        ctx.add_json(
            json!({"resourceType": "ValueSet", "url": "http://x/cats", "compose": {"include": [{"system": "http://x/cs", "filter": [{"property": "concept", "op": "is-a", "value": "cat"}]}]}}),
            "test",
        );
        ctx.add_json(
            json!({"resourceType": "ValueSet", "url": "http://x/animals-not-cats", "compose": {
                "include": [{"system": "http://x/cs", "filter": [{"property": "concept", "op": "descendent-of", "value": "animal"}]}],
                "exclude": [{"valueSet": ["http://x/cats"]}]}}),
            "test",
        );
        ctx.add_json(json!({"resourceType": "ValueSet", "url": "http://x/snomed", "compose": {"include": [{"system": "http://snomed.info/sct"}]}}), "test");
        Terminology::new(Arc::new(ctx))
    }

    #[test]
    fn expansions_follow_hierarchy_filters_and_excludes() {
        let t = terminology();
        assert_eq!(t.expand("http://x/all").unwrap().len(), 5);
        assert_eq!(t.member("http://x/cats", Some("http://x/cs"), "lion"), Membership::In);
        assert_eq!(t.member("http://x/cats", Some("http://x/cs"), "dog"), Membership::NotIn);
        assert_eq!(t.member("http://x/animals-not-cats", Some("http://x/cs"), "dog"), Membership::In);
        assert_eq!(t.member("http://x/animals-not-cats", Some("http://x/cs"), "lion"), Membership::NotIn);
        assert_eq!(t.member("http://x/animals-not-cats", Some("http://x/cs"), "animal"), Membership::NotIn);
    }

    #[test]
    fn systems_we_do_not_hold_are_unknown_not_wrong() {
        let t = terminology();
        assert!(matches!(t.member("http://x/snomed", Some("http://snomed.info/sct"), "123"), Membership::Unknown(_)));
        assert!(matches!(t.member("http://x/missing", None, "a"), Membership::Unknown(_)));
    }
}
