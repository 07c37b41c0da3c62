//! What a mapping can fill: the PRSB plan's items, read off its JSON Schema
//! (`schemas/prsb-care-plan.schema.json`), so the importer, `--init` and the
//! schema never disagree about a name or the kind of value it takes.

use serde_json::Value;

/// The kind of value a PRSB item takes, as the importer must write it.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    Text,
    Integer { min: Option<i64>, max: Option<i64> },
    Boolean,
    /// `format: date` (YYYY-MM-DD).
    Date,
    /// `format: date-time` (with a time zone).
    DateTime,
    /// A date or date-time of any precision (the schema's `partialDateTime`).
    PartialDateTime,
    /// One of a fixed list (a PRSB status or kind).
    Choice(Vec<String>),
    /// A plan item's id (the importer makes it from the source's key).
    Id,
    /// Links to other items by id (`needIds`, `goalIds`).
    IdList,
    /// A list of texts, or of choices.
    List(Box<Kind>),
    /// A coded value: `{system?, code, display?}`.
    Coding,
}

/// One fillable item: its path inside its section (`goalStatus.state`), and its kind.
#[derive(Clone, Debug)]
pub struct Target {
    pub path: String,
    pub kind: Kind,
}

/// The sections a mapping can fill: `plan` (one row per person: the plan's
/// own fields and the person's, as `person.name`), then the plan's lists of
/// items, nested ones written with their parent's list (`goals.outcomes`).
pub fn sections() -> Vec<String> {
    let mut out = vec!["plan".to_owned()];
    list_sections(root(), "", &mut out, 0);
    out
}

/// The list section an item of `section` sits in (`goals` for `goals.outcomes`);
/// none for a top-level list, or one inside a plan-level object (`agreement.mentalCapacityAssessments`).
pub fn parent_section(section: &str) -> Option<String> {
    let (parent, _) = section.rsplit_once('.')?;
    sections().into_iter().find(|s| s == parent)
}

fn list_sections(def: &Value, prefix: &str, out: &mut Vec<String>, depth: usize) {
    let Some(props) = resolve(def).get("properties").and_then(Value::as_object) else { return };
    for (name, p) in props {
        let p = resolve(p);
        if p.get("type").and_then(Value::as_str) == Some("array") {
            let items = p.get("items").map(resolve).unwrap_or(&Value::Null);
            if items.get("properties").is_some() {
                let path = if prefix.is_empty() { name.clone() } else { format!("{prefix}.{name}") };
                out.push(path.clone());
                if depth < 3 {
                    list_sections(items, &path, out, depth + 1);
                }
            }
        } else if p.get("properties").is_some() && depth < 3 {
            // An object inside an item (an agreement's assessments): its lists are sections too.
            let path = if prefix.is_empty() { name.clone() } else { format!("{prefix}.{name}") };
            let mut inner = Vec::new();
            list_sections(p, &path, &mut inner, depth + 1);
            out.extend(inner);
        }
    }
}

fn root() -> &'static Value {
    crate::prsb::schema()
}

/// The schema of one item of a section (the plan itself for `plan`).
pub fn section_schema(section: &str) -> Option<&'static Value> {
    if section == "plan" {
        return Some(root());
    }
    let mut here = root();
    for step in section.split('.') {
        let p = resolve(resolve(here).get("properties")?.get(step)?);
        here = if p.get("type").and_then(Value::as_str) == Some("array") { resolve(p.get("items")?) } else { p };
    }
    Some(here)
}

/// Every item a section can fill, leaves first by schema order; lists of
/// objects are sections of their own and left out.
pub fn targets(section: &str) -> Vec<Target> {
    let mut out = Vec::new();
    if let Some(schema) = section_schema(section) {
        leaves(schema, "", &mut out, 0);
    }
    out
}

/// The target at `path` in `section`, if the schema has one.
pub fn target(section: &str, path: &str) -> Option<Target> {
    targets(section).into_iter().find(|t| t.path == path)
}

fn leaves(def: &Value, prefix: &str, out: &mut Vec<Target>, depth: usize) {
    let Some(props) = resolve(def).get("properties").and_then(Value::as_object) else { return };
    for (name, raw) in props {
        let path = if prefix.is_empty() { name.clone() } else { format!("{prefix}.{name}") };
        if matches!(name.as_str(), "archived" | "archivedAt" | "archivedReason") {
            continue; // archiving is the importer's own decision (items an export no longer has)
        }
        if raw.get("$ref").and_then(Value::as_str) == Some("#/$defs/coding") {
            out.push(Target { path: path.clone(), kind: Kind::Coding });
            continue;
        }
        let p = resolve(raw);
        match p.get("type").and_then(Value::as_str) {
            Some("object") if depth < 4 => leaves(p, &path, out, depth + 1),
            Some("array") => {
                let items = p.get("items").map(resolve).unwrap_or(&Value::Null);
                if items.get("properties").is_some() {
                    continue;
                }
                let kind = if raw.get("$ref").and_then(Value::as_str) == Some("#/$defs/idList")
                    || raw.get("allOf").is_some_and(|a| a.to_string().contains("idList"))
                {
                    Kind::IdList
                } else {
                    Kind::List(Box::new(kind_of(raw.get("items").unwrap_or(&Value::Null), items)))
                };
                out.push(Target { path, kind });
            }
            _ => {
                if p.get("allOf").is_some_and(|a| a.to_string().contains("idList")) {
                    out.push(Target { path, kind: Kind::IdList });
                } else {
                    out.push(Target { path, kind: kind_of(raw, p) });
                }
            }
        }
    }
}

fn kind_of(raw: &Value, p: &Value) -> Kind {
    match raw.get("$ref").and_then(Value::as_str) {
        Some("#/$defs/id") => return Kind::Id,
        Some("#/$defs/partialDateTime") => return Kind::PartialDateTime,
        Some("#/$defs/archivedAt") => return Kind::DateTime,
        _ => {}
    }
    if let Some(choices) = p.get("enum").and_then(Value::as_array) {
        return Kind::Choice(choices.iter().filter_map(Value::as_str).map(str::to_owned).collect());
    }
    match (p.get("type").and_then(Value::as_str), p.get("format").and_then(Value::as_str)) {
        (Some("integer"), _) => Kind::Integer { min: p.get("minimum").and_then(Value::as_i64), max: p.get("maximum").and_then(Value::as_i64) },
        (Some("boolean"), _) => Kind::Boolean,
        (_, Some("date")) => Kind::Date,
        (_, Some("date-time")) => Kind::DateTime,
        _ => Kind::Text,
    }
}

/// Follows `$ref`s to the schema's `$defs`.
fn resolve(v: &Value) -> &Value {
    let mut v = v;
    for _ in 0..8 {
        match v.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("#/$defs/")) {
            Some(name) => match root().get("$defs").and_then(|d| d.get(name)) {
                Some(next) => v = next,
                None => break,
            },
            None => {
                if let Some(first) = v.get("allOf").and_then(Value::as_array).and_then(|a| a.first()) {
                    if first.get("$ref").is_some() && v.get("properties").is_none() {
                        v = first;
                        continue;
                    }
                }
                break;
            }
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_and_targets_come_from_the_schema() {
        let s = sections();
        for want in ["plan", "strengths", "needs", "goals", "goals.outcomes", "goals.stageGoals", "actions", "comments", "attachments", "needs.comments"] {
            assert!(s.iter().any(|x| x == want), "{want} missing from {s:?}");
        }
        assert_eq!(target("goals", "goalImportanceScore").unwrap().kind, Kind::Integer { min: Some(1), max: Some(10) });
        assert_eq!(target("goals", "needIds").unwrap().kind, Kind::IdList);
        assert_eq!(target("actions", "goalIds").unwrap().kind, Kind::IdList);
        assert_eq!(target("plan", "person.birthDate").unwrap().kind, Kind::Date);
        assert_eq!(target("goals", "codedValue").unwrap().kind, Kind::Coding);
        assert!(matches!(target("goals", "goalStatus.state").unwrap().kind, Kind::Choice(ref c) if c.iter().any(|x| x == "inProgress")));
        assert!(matches!(target("needs", "kind").unwrap().kind, Kind::Choice(_)));
        assert_eq!(target("actions", "reviewDate").unwrap().kind, Kind::PartialDateTime);
        assert!(target("goals", "archived").is_none());
    }
}
