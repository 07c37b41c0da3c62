//! What a binding says beyond its strength and value set, read from a
//! profile as the reference reads it: the max value set
//! (`elementdefinition-maxValueSet`, which an extensible binding may not go
//! beyond) and additional bindings (R5's, carried in R4 by the tools
//! extension or the cross-version one) with the usage contexts that limit
//! them to some content; and how binding messages cite the value set of
//! each (`BINDING_ADDITIONAL_D`, `BINDING_ADDITIONAL_UC`, `BINDING_MAX`).

use crate::definition::Binding;
use crate::tree::Node;
use serde_json::Value;

/// The extension on `ElementDefinition.binding` naming the max value set.
pub const MAX_VALUE_SET: &str = "http://hl7.org/fhir/StructureDefinition/elementdefinition-maxValueSet";

/// The extensions that carry an additional binding in R4.
const ADDITIONAL: &[&str] = &["http://hl7.org/fhir/5.0/StructureDefinition/extension-ElementDefinition.binding.additional", "http://hl7.org/fhir/tools/StructureDefinition/additional-binding"];

/// Which binding of an element a message speaks of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cited {
    /// The element's own binding.
    Base,
    /// An additional binding; the text says why it applies (empty when it
    /// has no usage context).
    Additional(String),
    /// The max value set of the element's binding.
    Max,
}

/// A value set as a message cites it (`'Title' (url|version)`), said to be
/// the value set of an additional or a max binding where it is one.
pub fn cite_as(described: String, how: &Cited) -> String {
    match how {
        Cited::Base => described,
        // BINDING_ADDITIONAL_D
        Cited::Additional(note) if note.is_empty() => format!("{described} specified in an additional binding"),
        // BINDING_ADDITIONAL_UC
        Cited::Additional(note) => format!("{described} specified in an additional binding which applies because {note}"),
        // BINDING_MAX
        Cited::Max => format!("{described} specified in the max binding"),
    }
}

/// The max value set of a binding, when it names one.
pub fn max_value_set(binding: &Binding) -> Option<&str> {
    binding.extension.iter().find(|e| e.get("url").and_then(Value::as_str) == Some(MAX_VALUE_SET)).and_then(|e| value_text(e))
}

/// An additional binding that applies to the content at hand.
#[derive(Debug)]
pub struct Additional<'b> {
    /// The strength its purpose gives it (`maximum` checks as `required`).
    pub strength: &'static str,
    pub value_set: &'b str,
    /// Why it applies, when a usage context limits it (`BINDING_ADDITIONAL_USAGE`).
    pub note: String,
}

/// The additional bindings of `binding` that can be tested (a value set and
/// a purpose that is a strength) and apply to `resource`: one without usage
/// contexts always applies; one with usage contexts applies when each of
/// them names, by the profile's own url as its system, a path in the
/// resource whose coded value is the context's value. `profile` is the url
/// of the profile and its versioned url.
pub fn additional_bindings<'b>(binding: &'b Binding, profile: (&str, &str), resource: Option<&Node>) -> Vec<Additional<'b>> {
    let mut out = Vec::new();
    for ext in &binding.extension {
        if !ext.get("url").and_then(Value::as_str).is_some_and(|u| ADDITIONAL.contains(&u)) {
            continue;
        }
        let parts = ext.get("extension").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        let part = |name: &str| parts.iter().find(|p| p.get("url").and_then(Value::as_str) == Some(name));
        let strength = match part("purpose").and_then(value_text) {
            Some("required" | "maximum") => "required",
            Some("extensible") => "extensible",
            Some("preferred") => "preferred",
            _ => continue,
        };
        let Some(value_set) = part("valueSet").and_then(value_text) else { continue };
        let mut note = String::new();
        let usages: Vec<&Value> = parts.iter().filter(|p| p.get("url").and_then(Value::as_str) == Some("usage")).filter_map(|p| p.get("valueUsageContext")).collect();
        if usages.iter().all(|u| in_scope(u, profile, resource, &mut note)) {
            out.push(Additional { strength, value_set, note });
        }
    }
    out
}

/// Whether a usage context applies to `resource`, adding why to `note`.
fn in_scope(usage: &Value, (url, versioned): (&str, &str), resource: Option<&Node>, note: &mut String) -> bool {
    let Some(code) = usage.get("code") else { return false };
    let (Some(system), Some(path)) = (code.get("system").and_then(Value::as_str), code.get("code").and_then(Value::as_str)) else { return false };
    if system != url && system != versioned {
        return false; // a usage from elsewhere: careplan is given no usage contexts to match
    }
    let Some(value) = usage.get("valueCodeableConcept") else { return false };
    let Some(resource) = resource else { return false };
    if !data_at(resource, path).iter().any(|item| matches_usage(item, value)) {
        return false;
    }
    let shown = value
        .get("coding")
        .and_then(Value::as_array)
        .and_then(|cs| cs.iter().find_map(|c| c.get("code").and_then(Value::as_str)))
        .or_else(|| value.get("text").and_then(Value::as_str))
        .unwrap_or_default();
    // BINDING_ADDITIONAL_USAGE
    note.push_str(&format!("{path} = {shown}"));
    true
}

/// The elements of `resource` at a dotted path (`Observation.category`).
fn data_at<'n>(resource: &'n Node, path: &str) -> Vec<&'n Node> {
    let mut steps = path.split('.');
    let type_name = resource.resource_type.as_deref().unwrap_or(&resource.name);
    if steps.next() != Some(type_name) {
        return Vec::new();
    }
    let mut here = vec![resource];
    for step in steps {
        here = here.into_iter().flat_map(|n| n.children.iter().filter(move |c| c.name == step)).collect();
    }
    here
}

/// Whether a Coding or CodeableConcept in the data has the first coding of
/// the usage context's CodeableConcept (system, code and, when given, version).
fn matches_usage(item: &Node, value: &Value) -> bool {
    let Some(wanted) = value.get("coding").and_then(Value::as_array).and_then(|cs| cs.first()) else { return false };
    let coding_matches = |c: &Node| {
        let field = |n: &str| wanted.get(n).and_then(Value::as_str);
        c.child_text("system").is_some()
            && c.child_text("system") == field("system")
            && c.child_text("code").is_some()
            && c.child_text("code") == field("code")
            && field("version").is_none_or(|v| c.child_text("version") == Some(v))
    };
    if item.child("coding").is_some() {
        item.children_named("coding").any(coding_matches)
    } else {
        coding_matches(item)
    }
}

/// The text of an extension's `value[x]` (`valueCanonical`, `valueCode`, `valueUri`).
fn value_text(ext: &Value) -> Option<&str> {
    ext.as_object()?.iter().find(|(k, _)| k.starts_with("value")).and_then(|(_, v)| v.as_str())
}
