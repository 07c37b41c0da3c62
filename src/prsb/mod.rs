//! The PRSB care and support plan as data: typed model ([`model`]), a JSON
//! Schema for its JSON form (`schemas/prsb-care-plan.schema.json`), reading
//! with schema and link checks, and the reviewed table of which field carries
//! which PRSB item ([`coverage`]). See docs/prsb-format.md.

pub mod archive;
pub mod coverage;
pub mod generate;
pub mod map;
pub mod unmap;
pub mod vocab;
pub mod model;
pub mod owned;

use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;

use crate::issue::{Issue, IssueCode};
use crate::tree::{Node, Pos};
use jsonschema::error::ValidationErrorKind;
pub use model::*;

/// Schema and link problems as validation issues: the JSON pointer as the
/// expression, and the line and column of the field (or of the nearest
/// enclosing one, when the field is missing) in the plan's text.
pub fn problems_as_issues(bytes: &[u8], problems: &[SchemaProblem]) -> Vec<Issue> {
    let root = std::str::from_utf8(bytes).ok().and_then(crate::parse::json::object_tree);
    // Placing a problem walks the text: only the first ones are placed (the
    // schema's are already capped; a plan's broken links are capped here).
    problems
        .iter()
        .take(MAX_PROBLEMS + 1)
        .map(|p| {
            let issue = Issue::error(IssueCode::Invalid, p.pointer.clone(), p.message.clone());
            match root.as_ref() {
                Some(root) => issue.at(position(root, &p.pointer)),
                None => issue,
            }
        })
        .collect()
}

/// Where a JSON pointer lands in the element tree (arrays are repeated children).
fn position(root: &Node, pointer: &str) -> Pos {
    let mut node = root;
    let mut tokens = pointer.split('/').skip(1).peekable();
    while let Some(token) = tokens.next() {
        let name = token.replace("~1", "/").replace("~0", "~");
        let index = tokens.peek().and_then(|t| t.parse::<usize>().ok());
        let child = match index {
            Some(i) => {
                tokens.next();
                node.children.iter().filter(|c| c.name == name.as_str()).nth(i)
            }
            None => node.children.iter().find(|c| c.name == name.as_str()),
        };
        match child {
            Some(c) => node = c,
            None => break,
        }
    }
    node.pos
}

/// The JSON Schema (draft 2020-12) of the plan format, as text.
pub const SCHEMA_TEXT: &str = include_str!("../../schemas/prsb-care-plan.schema.json");

/// One thing wrong with a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaProblem {
    /// JSON pointer to the field at fault, e.g. `/goals/2/importance` (empty for the whole plan).
    pub pointer: String,
    /// What is wrong, in plain words.
    pub message: String,
}

impl fmt::Display for SchemaProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = if self.pointer.is_empty() {
            "/"
        } else {
            &self.pointer
        };
        write!(f, "{at}: {}", self.message)
    }
}

/// The schema as a JSON value.
pub fn schema() -> &'static serde_json::Value {
    static SCHEMA: OnceLock<serde_json::Value> = OnceLock::new();
    SCHEMA.get_or_init(|| serde_json::from_str(SCHEMA_TEXT).expect("bundled schema is JSON"))
}

fn validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        jsonschema::draft202012::options()
            .should_validate_formats(true)
            .build(schema())
            .expect("bundled schema compiles")
    })
}

fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

fn describe(value: &serde_json::Value) -> String {
    let s = value.to_string();
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(60).collect::<String>())
    } else {
        s
    }
}

/// At most this many problems are told about one plan: each is placed in
/// the text, and a broken plan of any size answers quickly.
pub const MAX_PROBLEMS: usize = 100;

/// Checks a plan's JSON against the schema; no problems means it conforms.
pub fn check(json: &serde_json::Value) -> Vec<SchemaProblem> {
    let mut out = Vec::new();
    let mut errors = validator().iter_errors(json);
    while let Some(error) = errors.next() {
        if out.len() >= MAX_PROBLEMS {
            out.push(SchemaProblem {
                pointer: String::new(),
                message: format!("more problems than the first {MAX_PROBLEMS} listed here: fix these and check the plan again"),
            });
            break;
        }
        let at = error.instance_path().to_string();
        let instance = error.instance();
        let (pointer, message) = match error.kind() {
            ValidationErrorKind::Required { property } => {
                let name = property
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| property.to_string());
                (
                    format!("{at}/{}", escape(&name)),
                    format!("required field `{name}` is missing"),
                )
            }
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                for name in unexpected {
                    let message = if at == "/agreement" && name == "mentalCapacityAssessment" {
                        "`mentalCapacityAssessment` is now `mentalCapacityAssessments`: a list, one assessment per decision, each naming its `decision` (docs/prsb-format.md, \"Agreement and capacity\")".to_owned()
                    } else {
                        format!("unknown field `{name}`: the format has no such field here")
                    };
                    out.push(SchemaProblem { pointer: format!("{at}/{}", escape(name)), message });
                }
                continue;
            }
            ValidationErrorKind::Maximum { limit } => (
                at,
                format!("{} is above the maximum of {limit}", describe(instance)),
            ),
            ValidationErrorKind::Minimum { limit } => (
                at,
                format!("{} is below the minimum of {limit}", describe(instance)),
            ),
            ValidationErrorKind::MaxLength { limit } => {
                (at, format!("text is longer than {limit} characters"))
            }
            ValidationErrorKind::MinLength { limit } => (
                at,
                if *limit == 1 {
                    "text must not be empty".to_owned()
                } else {
                    format!("text is shorter than {limit} characters")
                },
            ),
            ValidationErrorKind::Enum { options } => (
                at,
                format!(
                    "{} is not one of the allowed values {options}",
                    describe(instance)
                ),
            ),
            ValidationErrorKind::Constant { expected_value } => {
                (at, format!("must be {expected_value}"))
            }
            ValidationErrorKind::Type { kind } => (
                at,
                format!("{} should be {}", describe(instance), type_words(kind)),
            ),
            ValidationErrorKind::Format { format } => (
                at,
                format!("{} is not a valid {format}", describe(instance)),
            ),
            ValidationErrorKind::Pattern { pattern } => (
                at,
                format!(
                    "{} is not in the expected form ({})",
                    describe(instance),
                    pattern_words(pattern)
                ),
            ),
            ValidationErrorKind::AnyOf { .. } if is_need(&at) => (
                at,
                "give at least one of `codedValue`, `freeText` and `fhirReference`".to_owned(),
            ),
            ValidationErrorKind::AnyOf { .. } => (
                at,
                "give at least one of `codedValue` and `freeText`".to_owned(),
            ),
            ValidationErrorKind::OneOfNotValid { .. }
            | ValidationErrorKind::OneOfMultipleValid { .. } => {
                (at, "give exactly one of `url` and `data`".to_owned())
            }
            ValidationErrorKind::MinItems { limit } => (
                at,
                format!(
                    "needs at least {limit} entr{}",
                    if *limit == 1 { "y" } else { "ies" }
                ),
            ),
            ValidationErrorKind::MinProperties { .. } => (at, "must not be empty".to_owned()),
            ValidationErrorKind::Not { .. } if at.contains("/sharedWith/") => (
                at,
                "give either `fhirReference` (an existing resource, which says the rest) or `role`, `organisation` and `professionalIdentifier`, not both".to_owned(),
            ),
            ValidationErrorKind::Not { .. } if at.ends_with("/performingProfessional") || at.ends_with("/personCompletingRecord") => (
                at,
                "a professional given by `fhirReference` is that Practitioner as it is: leave out `grade`, `professionalIdentifier` and `contactDetails` (the Practitioner's own record holds them); `name`, `role`, `organisation` and the speciality stay, as this plan's words for them".to_owned(),
            ),
            ValidationErrorKind::Not { .. } if is_need(&at) => (
                at,
                "a need given by `fhirReference` is that resource as it is: leave out `codedValue` and `comments` (the resource's own record holds them), or leave out `fhirReference` to record the need in the plan".to_owned(),
            ),
            ValidationErrorKind::Not { .. } => (
                at,
                "leave `system` out for SNOMED CT: a coded value without `system` is SNOMED CT"
                    .to_owned(),
            ),
            ValidationErrorKind::UniqueItems => (at, "lists the same value twice".to_owned()),
            _ => (at, error.to_string()),
        };
        out.push(SchemaProblem { pointer, message });
    }
    out
}

/// Reads a plan from JSON bytes: the schema first, then the types, then the links.
pub fn read(bytes: &[u8]) -> Result<CarePlan, Vec<SchemaProblem>> {
    let json: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        vec![SchemaProblem {
            pointer: String::new(),
            message: format!("not JSON: {e}"),
        }]
    })?;
    let problems = check(&json);
    if !problems.is_empty() {
        return Err(problems);
    }
    let plan: CarePlan = serde_json::from_value(json).map_err(|e| {
        vec![SchemaProblem {
            pointer: String::new(),
            message: format!("does not fit the plan types: {e}"),
        }]
    })?;
    let problems = check_links(&plan);
    if problems.is_empty() {
        Ok(plan)
    } else {
        Err(problems)
    }
}

fn collect_comment_ids<'a>(ids: &mut Vec<Item<'a>>, base: &str, comments: &'a [Comment]) {
    for (i, c) in comments.iter().enumerate() {
        ids.push((format!("{base}/comments/{i}"), &c.id, c));
    }
}

/// An item of the plan: its JSON pointer, its id, and its archive fields.
pub(crate) type Item<'a> = (String, &'a str, &'a dyn Archivable);

/// Every item of the plan that has an id, in document order.
pub(crate) fn items(plan: &CarePlan) -> Vec<Item<'_>> {
    let mut ids: Vec<Item<'_>> = Vec::new();
    for (i, s) in plan.strengths.iter().enumerate() {
        ids.push((format!("/strengths/{i}"), &s.id, s));
        collect_comment_ids(&mut ids, &format!("/strengths/{i}"), &s.comments);
    }
    for (i, n) in plan.needs.iter().enumerate() {
        ids.push((format!("/needs/{i}"), &n.id, n));
        collect_comment_ids(&mut ids, &format!("/needs/{i}"), &n.comments);
    }
    for (i, g) in plan.goals.iter().enumerate() {
        ids.push((format!("/goals/{i}"), &g.id, g));
        collect_comment_ids(&mut ids, &format!("/goals/{i}"), &g.comments);
        for (j, s) in g.stage_goals.iter().enumerate() {
            ids.push((format!("/goals/{i}/stageGoals/{j}"), &s.id, s));
            collect_comment_ids(&mut ids, &format!("/goals/{i}/stageGoals/{j}"), &s.comments);
        }
        for (j, o) in g.outcomes.iter().enumerate() {
            ids.push((format!("/goals/{i}/outcomes/{j}"), &o.id, o));
            collect_comment_ids(&mut ids, &format!("/goals/{i}/outcomes/{j}"), &o.comments);
        }
    }
    for (i, a) in plan.actions.iter().enumerate() {
        ids.push((format!("/actions/{i}"), &a.id, a));
        collect_comment_ids(&mut ids, &format!("/actions/{i}"), &a.comments);
    }
    collect_comment_ids(&mut ids, "", &plan.comments);
    for (i, a) in plan.attachments.iter().enumerate() {
        ids.push((format!("/attachments/{i}"), &a.id, a));
    }
    for (i, d) in plan.other_care_planning_documents.iter().enumerate() {
        ids.push((format!("/otherCarePlanningDocuments/{i}"), &d.id, d));
    }
    ids
}

/// Checks what the schema cannot: that ids are unique across the plan, that
/// every link (goal → need, action → goal, strength → goal, attachment → item) names an
/// existing item, and that only archived items say when and why they were archived.
pub fn check_links(plan: &CarePlan) -> Vec<SchemaProblem> {
    let ids = items(plan);
    let mut problems = Vec::new();
    let mut first: HashMap<&str, String> = HashMap::new();
    for (pointer, id, item) in &ids {
        let (archived, at, reason) = item.archive();
        if !archived && (at.is_some() || reason.is_some()) {
            problems.push(SchemaProblem {
                pointer: format!("{pointer}/archived"),
                message: "`archivedAt` or `archivedReason` is given but the item is not archived: add `\"archived\": true` or remove them".to_owned(),
            });
        }
        if let Some(earlier) = first.get(id) {
            problems.push(SchemaProblem {
                pointer: format!("{pointer}/id"),
                message: format!(
                    "id `{id}` is already used at {earlier}; ids must be unique within the plan"
                ),
            });
        } else {
            first.insert(id, format!("{pointer}/id"));
        }
    }

    let needs: HashMap<&str, &Need> = plan.needs.iter().map(|n| (n.id.as_str(), n)).collect();
    let goals: HashMap<&str, &Goal> = plan.goals.iter().map(|g| (g.id.as_str(), g)).collect();
    for (i, st) in plan.strengths.iter().enumerate() {
        for (j, id) in st.goal_ids.iter().enumerate() {
            if !goals.contains_key(id.as_str()) {
                problems.push(SchemaProblem {
                    pointer: format!("/strengths/{i}/goalIds/{j}"),
                    message: format!("strength `{}` supports goal `{id}`, but the plan has no goal with that id", st.id),
                });
            }
        }
    }
    for (i, g) in plan.goals.iter().enumerate() {
        for (j, id) in g.need_ids.iter().enumerate() {
            if !needs.contains_key(id.as_str()) {
                problems.push(SchemaProblem {
                    pointer: format!("/goals/{i}/needIds/{j}"),
                    message: format!("goal `{}` addresses need `{id}`, but the plan has no need, concern or problem with that id", g.id),
                });
            }
        }
    }
    for (i, a) in plan.actions.iter().enumerate() {
        for (j, id) in a.goal_ids.iter().enumerate() {
            if !goals.contains_key(id.as_str()) {
                problems.push(SchemaProblem {
                    pointer: format!("/actions/{i}/goalIds/{j}"),
                    message: format!("action `{}` works towards goal `{id}`, but the plan has no goal with that id", a.id),
                });
            }
        }
    }
    for (i, a) in plan.attachments.iter().enumerate() {
        for (j, id) in a.item_ids.iter().enumerate() {
            if !first.contains_key(id.as_str()) {
                problems.push(SchemaProblem {
                    pointer: format!("/attachments/{i}/itemIds/{j}"),
                    message: format!("attachment `{}` is about item `{id}`, but the plan has no item with that id", a.id),
                });
            }
        }
    }
    problems
}

fn type_words(kind: &jsonschema::error::TypeKind) -> String {
    use jsonschema::error::TypeKind;
    let one = |t: &jsonschema::JsonType| {
        let name = t.to_string();
        let article = if name.starts_with(['a', 'e', 'i', 'o', 'u']) {
            "an"
        } else {
            "a"
        };
        format!("{article} {name}")
    };
    match kind {
        TypeKind::Single(t) => one(t),
        TypeKind::Multiple(ts) => ts.iter().map(|t| one(&t)).collect::<Vec<_>>().join(" or "),
    }
}

fn pattern_words(pattern: &str) -> &'static str {
    let defs = &schema()["$defs"];
    if Some(pattern) == defs["partialDateTime"]["pattern"].as_str() {
        "a date as YYYY, YYYY-MM, YYYY-MM-DD or a date-time with seconds and time zone"
    } else if Some(pattern) == defs["id"]["pattern"].as_str() {
        "an id: letters, digits, '.', '_' and '-', starting with a letter or digit, at most 64 characters"
    } else if pattern.starts_with("^([01][0-9]|2[0-3]):") {
        "a time of day as HH:MM, 24-hour clock"
    } else if pattern.starts_with("^[0-9]{10}") {
        "ten digits"
    } else if pattern.starts_with("^[^\\s]+") {
        "a code: no leading, trailing or double spaces"
    } else if pattern.starts_with("^([A-Za-z0-9+/]{4})") {
        "base64 text"
    } else if pattern.starts_with("^[A-Z0-9]{3,") {
        "an ODS code: capital letters and digits only"
    } else if pattern.starts_with("^Condition/") {
        "a reference to a Condition, as `Condition/<id>`"
    } else if pattern.starts_with("^Practitioner/") {
        "a reference to a Practitioner, as `Practitioner/<id>`"
    } else {
        "see the schema for the allowed form"
    }
}

/// Whether a JSON pointer names one of the plan's needs itself (not a part of one).
fn is_need(pointer: &str) -> bool {
    pointer
        .strip_prefix("/needs/")
        .is_some_and(|index| !index.is_empty() && index.bytes().all(|b| b.is_ascii_digit()))
}

/// What a plan's link to an existing resource must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    /// A need: a resource about the plan's own person.
    Need,
    /// A professional who performed or recorded part of the plan.
    Professional,
    /// Someone the plan may be shared with, who may be registered later.
    Recipient,
}

/// One of a plan's links to a resource that exists already (`fhirReference`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingLink {
    /// JSON pointer of the `fhirReference` in the plan.
    pub pointer: String,
    /// The reference as given (`Condition/123`).
    pub reference: String,
    pub kind: LinkKind,
    /// Which item links: a need's id, or for a professional where it sits.
    pub item: String,
}

/// Every link a plan makes to an existing resource, in plan order.
pub fn existing_links(plan: &CarePlan) -> Vec<ExistingLink> {
    let mut out = Vec::new();
    for (i, n) in plan.needs.iter().enumerate() {
        if let Some(reference) = &n.fhir_reference {
            out.push(ExistingLink { item: n.id.clone(), pointer: format!("/needs/{i}/fhirReference"), reference: reference.clone(), kind: LinkKind::Need });
        }
    }
    let mut add = |pointer: String, reference: &Option<String>, kind: LinkKind| {
        if let Some(reference) = reference {
            out.push(ExistingLink { item: pointer.clone(), pointer: format!("{pointer}/fhirReference"), reference: reference.clone(), kind });
        }
    };
    let professionals = |at: &str, performing: &Option<PerformingProfessional>, completing: &Option<PersonCompletingRecord>| {
        [
            (format!("{at}/performingProfessional"), performing.as_ref().and_then(|p| p.fhir_reference.clone())),
            (format!("{at}/personCompletingRecord"), completing.as_ref().and_then(|p| p.fhir_reference.clone())),
        ]
    };
    for (pointer, reference) in professionals("", &plan.performing_professional, &plan.person_completing_record) {
        add(pointer, &reference, LinkKind::Professional);
    }
    if let Some(agreement) = &plan.agreement {
        for (i, m) in agreement.mental_capacity_assessments.iter().enumerate() {
            let reference = m.performing_professional.as_ref().and_then(|p| p.fhir_reference.clone());
            add(format!("/agreement/mentalCapacityAssessments/{i}/performingProfessional"), &reference, LinkKind::Professional);
        }
    }
    if let Some(c) = &plan.consent_for_information_sharing {
        for (pointer, reference) in professionals("/consentForInformationSharing", &c.performing_professional, &c.person_completing_record) {
            add(pointer, &reference, LinkKind::Professional);
        }
        for (i, s) in c.shared_with.iter().enumerate() {
            add(format!("/consentForInformationSharing/sharedWith/{i}"), &s.fhir_reference, LinkKind::Recipient);
        }
    }
    out
}
