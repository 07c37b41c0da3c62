//! Rules every resource has, as the reference applies them natively
//! rather than through its invariants: contained resources (each with an
//! id, no two with the same one, and each referred to from the resource or
//! referring to it, its `dom-3`, reported on the orphan itself), security
//! labels given once, and no extensions on `Resource.id`.

use crate::issue::IssueCode;
use crate::tree::{Node, ValueKind};
use crate::validator::element::Walk;
use std::collections::{HashMap, HashSet};

/// A resource (the walk's path points at it), after its elements are walked.
pub(crate) fn check(walk: &mut Walk<'_, '_>, resource: &Node) {
    contained(walk, resource);
    security_labels(walk, resource);
    if let Some(id) = resource.child("id") {
        if let Some(ext) = id.children_named("extension").next() {
            walk.path.push("id", None);
            // FHIR_RESOURCE_ID_CANT_BE_EXTENDED
            walk.error(ext, IssueCode::BusinessRule, format!("Extensions are not allowed on Resource.id ('{}')", ext.child_text("url").unwrap_or("")));
            walk.path.pop();
        }
    }
}

/// The resource validated (not one inside it) against the id rule asked for
/// (`--resource-id-rule`); the walk's path points at it.
pub(crate) fn id_rule(walk: &mut Walk<'_, '_>, resource: &Node) {
    use crate::validator::IdRule;
    match (walk.v.options().resource_id_rule, resource.child("id").is_some()) {
        // Resource_RES_ID_Missing
        (IdRule::Required, false) => walk.error(resource, IssueCode::Invalid, "Resource requires an id, but none is present".into()),
        // Resource_RES_ID_Prohibited
        (IdRule::Prohibited, true) => walk.error(resource, IssueCode::Invalid, "Resource has an id, but none is allowed".into()),
        _ => {}
    }
}

/// The contained resources: ids, duplicates, and whether each is reached
/// from the resource, directly or through other contained resources that are.
fn contained(walk: &mut Walk<'_, '_>, resource: &Node) {
    let contained: Vec<&Node> = resource.children_named("contained").collect();
    if contained.is_empty() || !walk.v.options().validate_nested_resources {
        return;
    }
    // The local references (`#id`, and `` for `#`) of the resource outside
    // its contained resources, and of each contained resource.
    let mut from_base = HashSet::new();
    for child in resource.children.iter().filter(|c| c.name != "contained") {
        local_references(child, &mut from_base);
    }
    let from_each: Vec<HashSet<String>> = contained
        .iter()
        .map(|c| {
            let mut refs = HashSet::new();
            local_references(c, &mut refs);
            refs
        })
        .collect();
    // Reached: referred to from the base, or referring to the container, or
    // referred to by a contained resource that is reached.
    let ids: Vec<Option<&str>> = contained.iter().map(|c| c.child_text("id")).collect();
    let mut reached: Vec<bool> = (0..contained.len()).map(|i| ids[i].is_some_and(|id| from_base.contains(id)) || from_each[i].contains("")).collect();
    // Each reached resource passes it on once, through an index of ids: a
    // chain of contained resources is one walk, not a pass per link (the
    // twenty-sixth pass's R2, cubic in the resources).
    let mut by_id: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, id) in ids.iter().enumerate() {
        if let Some(id) = id {
            by_id.entry(id).or_default().push(i);
        }
    }
    let mut to_pass_on: Vec<usize> = (0..contained.len()).filter(|&i| reached[i]).collect();
    while let Some(j) = to_pass_on.pop() {
        for id in &from_each[j] {
            for &i in by_id.get(id.as_str()).into_iter().flatten() {
                if i != j && !reached[i] {
                    reached[i] = true;
                    to_pass_on.push(i);
                }
            }
        }
    }
    let mut seen = HashSet::new();
    for (i, c) in contained.iter().enumerate() {
        walk.path.push("contained", Some(i));
        match ids[i] {
            // Resource_RES_ID_Missing
            None => walk.error(c, IssueCode::Invalid, "Resource requires an id, but none is present".into()),
            Some(id) if !seen.insert(id) => {
                // RESOURCE_DUPLICATE_CONTAINED_ID
                let expression = walk.path.render();
                walk.report(c, crate::issue::Issue::error(IssueCode::Duplicate, expression, format!("Duplicate ID for contained resource: {id}")));
            }
            Some(_) => {}
        }
        if !reached[i] {
            // CONTAINED_ORPHAN_DOM3
            let msg = format!(
                "The contained resource '{}' is not referenced to from elsewhere in the containing resource nor does it refer to the containing resource (dom-3)",
                ids[i].unwrap_or("null")
            );
            walk.error(c, IssueCode::Invalid, msg);
        }
        walk.path.pop();
    }
}

/// Local references below a node: `#id` values (references, canonicals,
/// uris) and `href="#id"` in narrative; `#` alone (the container) as ``.
fn local_references(node: &Node, out: &mut HashSet<String>) {
    if let Some(v) = &node.value {
        if v.kind == ValueKind::Xhtml || node.name == "div" {
            for quote in ['"', '\''] {
                let pattern = format!("{quote}#");
                let mut rest = v.text.as_str();
                while let Some(at) = rest.find(&pattern) {
                    rest = &rest[at + 2..];
                    let end = rest.find(quote).unwrap_or(rest.len());
                    out.insert(rest[..end].to_string());
                }
            }
        } else if let Some(local) = v.text.strip_prefix('#') {
            out.insert(local.to_string());
        }
    }
    for c in node.children.iter().filter(|c| c.resource_type.is_none()) {
        local_references(c, out);
    }
}

/// `meta.security`: each label (system and code) once.
fn security_labels(walk: &mut Walk<'_, '_>, resource: &Node) {
    let Some(meta) = resource.child("meta") else { return };
    let mut seen = HashSet::new();
    for (i, label) in meta.children_named("security").enumerate() {
        let key = format!("{}#{}", label.child_text("system").unwrap_or("null"), label.child_text("code").unwrap_or("null"));
        if !seen.insert(key.clone()) {
            walk.path.push("meta", None);
            walk.path.push("security", Some(i));
            // Meta_RES_Security_Duplicate
            walk.error(label, IssueCode::BusinessRule, format!("Duplicate Security Label {key}"));
            walk.path.pop();
            walk.path.pop();
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::issue::{IssueCode, Severity};
    use crate::loader::{load, LoadOptions};
    use crate::tree::Format;
    use crate::validator::{Options, Validator};
    use serde_json::{json, Value};
    use std::sync::{Arc, OnceLock};

    fn errors(resource: Value) -> Vec<(IssueCode, String, String)> {
        static V: OnceLock<Validator> = OnceLock::new();
        let v = V.get_or_init(|| Validator::new(Arc::new(load(&LoadOptions::default()).expect("the default packages load")), Options::default()));
        v.validate_bytes(resource.to_string().as_bytes(), Some(Format::Json))
            .into_iter()
            .filter(|i| i.severity == Severity::Error)
            .map(|i| (i.code, i.expression, i.message))
            .collect()
    }

    fn plan(contained: Value, extra: Value) -> Value {
        let mut p = json!({"resourceType": "CarePlan", "status": "active", "intent": "plan", "subject": {"reference": "Patient/p1"}, "contained": contained});
        for (k, v) in extra.as_object().unwrap() {
            p[k] = v.clone();
        }
        p
    }

    fn goal(id: Option<&str>, extra: Value) -> Value {
        let mut g = json!({"resourceType": "Goal", "lifecycleStatus": "active", "description": {"text": "x"}, "subject": {"reference": "Patient/p1"}});
        if let Some(id) = id {
            g["id"] = id.into();
        }
        for (k, v) in extra.as_object().unwrap() {
            g[k] = v.clone();
        }
        g
    }

    const ORPHAN: &str = "is not referenced to from elsewhere in the containing resource nor does it refer to the containing resource (dom-3)";

    #[test]
    fn contained_resources_are_reached_from_their_container() {
        // An orphan is reported on itself.
        let e = errors(plan(json!([goal(Some("g"), json!({}))]), json!({})));
        assert_eq!(e, [(IssueCode::Invalid, "CarePlan.contained[0]".to_owned(), format!("The contained resource 'g' {ORPHAN}"))]);
        // A reference, a narrative link, a chain through another contained
        // resource, or a reference back to the container all reach it.
        assert!(errors(plan(json!([goal(Some("g"), json!({}))]), json!({"goal": [{"reference": "#g"}]}))).is_empty());
        let linked = json!({"text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\"><a href=\"#g\">goal</a></div>"}});
        assert!(errors(plan(json!([goal(Some("g"), json!({}))]), linked)).is_empty());
        let chain = json!([goal(Some("g"), json!({"addresses": [{"reference": "#c"}]})), {"resourceType": "Condition", "id": "c", "subject": {"reference": "Patient/p1"}}]);
        assert!(errors(plan(chain, json!({"goal": [{"reference": "#g"}]}))).is_empty());
        let provenance = json!({"resourceType": "Provenance", "id": "prov", "target": [{"reference": "#"}], "recorded": "2020-01-01T00:00:00Z", "agent": [{"who": {"reference": "Practitioner/x"}}]});
        let e = errors(plan(json!([provenance]), json!({})));
        assert!(e.is_empty(), "{e:#?}");
    }

    #[test]
    fn contained_resources_have_distinct_ids() {
        let e = errors(plan(json!([goal(None, json!({}))]), json!({})));
        assert!(e.contains(&(IssueCode::Invalid, "CarePlan.contained[0]".to_owned(), "Resource requires an id, but none is present".to_owned())), "{e:#?}");
        let e = errors(plan(json!([goal(Some("g"), json!({})), goal(Some("g"), json!({}))]), json!({"goal": [{"reference": "#g"}]})));
        assert_eq!(e, [(IssueCode::Duplicate, "CarePlan.contained[1]".to_owned(), "Duplicate ID for contained resource: g".to_owned())]);
    }

    #[test]
    fn security_labels_are_given_once_and_ids_carry_no_extensions() {
        let label = json!({"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R"});
        let e = errors(json!({"resourceType": "Patient", "meta": {"security": [label, label]}}));
        assert_eq!(e, [(IssueCode::BusinessRule, "Patient.meta.security[1]".to_owned(), "Duplicate Security Label http://terminology.hl7.org/CodeSystem/v3-Confidentiality#R".to_owned())]);
        let e = errors(json!({"resourceType": "Patient", "id": "p", "_id": {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason", "valueCode": "unknown"}]}}));
        assert!(e.contains(&(IssueCode::BusinessRule, "Patient.id".to_owned(), "Extensions are not allowed on Resource.id ('http://hl7.org/fhir/StructureDefinition/data-absent-reason')".to_owned())), "{e:#?}");
    }
}
