//! The PRSB care and support plan as data: typed model ([`model`]), a JSON
//! Schema for its JSON form (`schemas/prsb-care-plan.schema.json`), reading
//! with schema and link checks, and the reviewed table of which field carries
//! which PRSB item ([`coverage`]). See docs/prsb-format.md.

pub mod coverage;
pub mod model;

use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;

use jsonschema::error::ValidationErrorKind;
pub use model::*;

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

/// Checks a plan's JSON against the schema; no problems means it conforms.
pub fn check(json: &serde_json::Value) -> Vec<SchemaProblem> {
    let mut out = Vec::new();
    for error in validator().iter_errors(json) {
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
                    out.push(SchemaProblem {
                        pointer: format!("{at}/{}", escape(name)),
                        message: format!(
                            "unknown field `{name}`: the format has no such field here"
                        ),
                    });
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

fn collect_comment_ids<'a>(ids: &mut Vec<(String, &'a str)>, base: &str, comments: &'a [Comment]) {
    for (i, c) in comments.iter().enumerate() {
        ids.push((format!("{base}/comments/{i}/id"), &c.id));
    }
}

/// Checks what the schema cannot: that ids are unique across the plan and that
/// every link (goal → need, action → goal, attachment → item) names an existing item.
pub fn check_links(plan: &CarePlan) -> Vec<SchemaProblem> {
    let mut ids: Vec<(String, &str)> = Vec::new();
    for (i, s) in plan.strengths.iter().enumerate() {
        ids.push((format!("/strengths/{i}/id"), &s.id));
        collect_comment_ids(&mut ids, &format!("/strengths/{i}"), &s.comments);
    }
    for (i, n) in plan.needs.iter().enumerate() {
        ids.push((format!("/needs/{i}/id"), &n.id));
        collect_comment_ids(&mut ids, &format!("/needs/{i}"), &n.comments);
    }
    for (i, g) in plan.goals.iter().enumerate() {
        ids.push((format!("/goals/{i}/id"), &g.id));
        collect_comment_ids(&mut ids, &format!("/goals/{i}"), &g.comments);
        for (j, s) in g.stage_goals.iter().enumerate() {
            ids.push((format!("/goals/{i}/stageGoals/{j}/id"), &s.id));
            collect_comment_ids(&mut ids, &format!("/goals/{i}/stageGoals/{j}"), &s.comments);
        }
        for (j, o) in g.outcomes.iter().enumerate() {
            ids.push((format!("/goals/{i}/outcomes/{j}/id"), &o.id));
            collect_comment_ids(&mut ids, &format!("/goals/{i}/outcomes/{j}"), &o.comments);
        }
    }
    for (i, a) in plan.actions.iter().enumerate() {
        ids.push((format!("/actions/{i}/id"), &a.id));
        collect_comment_ids(&mut ids, &format!("/actions/{i}"), &a.comments);
    }
    collect_comment_ids(&mut ids, "", &plan.comments);
    for (i, a) in plan.attachments.iter().enumerate() {
        ids.push((format!("/attachments/{i}/id"), &a.id));
    }
    for (i, d) in plan.other_care_planning_documents.iter().enumerate() {
        ids.push((format!("/otherCarePlanningDocuments/{i}/id"), &d.id));
    }

    let mut problems = Vec::new();
    let mut first: HashMap<&str, &str> = HashMap::new();
    for (pointer, id) in &ids {
        if let Some(earlier) = first.get(id) {
            problems.push(SchemaProblem {
                pointer: pointer.clone(),
                message: format!(
                    "id `{id}` is already used at {earlier}; ids must be unique within the plan"
                ),
            });
        } else {
            first.insert(id, pointer);
        }
    }

    let needs: HashMap<&str, &Need> = plan.needs.iter().map(|n| (n.id.as_str(), n)).collect();
    let goals: HashMap<&str, &Goal> = plan.goals.iter().map(|g| (g.id.as_str(), g)).collect();
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
        "a date as YYYY, YYYY-MM, YYYY-MM-DD or a date-time"
    } else if Some(pattern) == defs["id"]["pattern"].as_str() {
        "an id: letters, digits, '.', '_' and '-', starting with a letter or digit, at most 64 characters"
    } else if pattern.starts_with("^[0-9]{10}") {
        "ten digits"
    } else {
        "see the schema for the allowed form"
    }
}
