//! Parameters: a top-level parameter named like a parameter of one of the
//! core specification's operations is hinted at when it does not carry
//! what that parameter carries there (a value, a resource, or one of them;
//! and of which types). The reference's ParametersValidator and its table.

use crate::issue::IssueCode;
use crate::tree::Node;
use crate::validator::element::Walk;

#[derive(Clone, Copy)]
enum Kind {
    /// The core parameter has a value.
    Value,
    /// The core parameter has a resource.
    Resource,
    /// Either, depending on the operation.
    Mixed,
}

use Kind::{Mixed, Resource, Value};

/// The core operations' parameter names, what they carry and its types.
const CORE_PARAMETERS: &[(&str, Kind, &[&str])] = &[
    ("_count", Value, &["integer"]),
    ("_since", Value, &["instant"]),
    ("_type", Value, &["code"]),
    ("abstract", Value, &["boolean"]),
    ("account", Resource, &["Reference"]),
    ("activeOnly", Value, &["boolean"]),
    ("activityDefinition", Resource, &["ActivityDefinition"]),
    ("additions", Resource, &["Resource"]),
    ("async", Value, &["boolean"]),
    ("chargeItem", Resource, &["Reference"]),
    ("check-system-version", Value, &["canonical"]),
    ("client", Value, &["canonical"]),
    ("code", Value, &["code", "string", "Coding"]),
    ("codeA", Value, &["code"]),
    ("codeB", Value, &["code"]),
    ("codeSystem", Resource, &["CodeSystem"]),
    ("codeableConcept", Value, &["CodeableConcept"]),
    ("coding", Value, &["Coding"]),
    ("codingA", Value, &["Coding"]),
    ("codingB", Value, &["Coding"]),
    ("collector", Value, &["string"]),
    ("compositional", Value, &["boolean"]),
    ("concept", Value, &["Coding"]),
    ("conceptMap", Resource, &["ConceptMap"]),
    ("conceptMapVersion", Value, &["string"]),
    ("content", Mixed, &["code", "Bundle", "Resource"]),
    ("context", Value, &["uri"]),
    ("contextDirection", Value, &["code"]),
    ("count", Value, &["integer"]),
    ("date", Value, &["dateTime"]),
    ("default", Value, &["code"]),
    ("definition", Mixed, &["string", "StructureDefinition"]),
    ("designation", Value, &["string"]),
    ("display", Value, &["string"]),
    ("displayLanguage", Value, &["code"]),
    ("duration", Value, &["decimal"]),
    ("encounter", Value, &["string"]),
    ("end", Value, &["date", "dateTime"]),
    ("eventsSinceNumber", Value, &["integer64"]),
    ("eventsUntilNumber", Value, &["integer64"]),
    ("exact", Value, &["boolean"]),
    ("exclude-system", Value, &["canonical"]),
    ("excludeNested", Value, &["boolean"]),
    ("excludeNotForUI", Value, &["boolean"]),
    ("excludePostCoordinated", Value, &["boolean"]),
    ("expiration", Value, &["dateTime"]),
    ("filter", Value, &["string"]),
    ("force-system-version", Value, &["canonical"]),
    ("graph", Value, &["uri"]),
    ("id", Value, &["id", "string"]),
    ("identifier", Value, &["Identifier"]),
    ("include", Value, &["boolean"]),
    ("includeDefinition", Value, &["boolean"]),
    ("includeDesignations", Value, &["boolean"]),
    ("intersection", Resource, &["CapabilityStatement"]),
    ("issues", Resource, &["OperationOutcome"]),
    ("lastReceivedOn", Value, &["dateTime"]),
    ("left", Value, &["canonical"]),
    ("limit", Value, &["positiveInt"]),
    ("local", Resource, &["Reference"]),
    ("location", Value, &["string"]),
    ("max", Value, &["positiveInt"]),
    ("measure", Mixed, &["string", "Measure"]),
    ("measureReport", Resource, &["MeasureReport"]),
    ("message", Value, &["string"]),
    ("meta", Value, &["Meta"]),
    ("mode", Value, &["code"]),
    ("name", Value, &["code", "string"]),
    ("offset", Value, &["integer"]),
    ("on-demand", Value, &["boolean"]),
    ("onlyCertainMatches", Value, &["boolean"]),
    ("organization", Value, &["string"]),
    ("outcome", Value, &["code"]),
    ("parameters", Resource, &["Parameters"]),
    ("patient", Value, &["id"]),
    ("period", Value, &["Period"]),
    ("periodEnd", Value, &["date"]),
    ("periodStart", Value, &["date"]),
    ("persist", Value, &["boolean"]),
    ("planDefinition", Resource, &["PlanDefinition"]),
    ("practitioner", Value, &["string"]),
    ("preferredOnly", Value, &["boolean"]),
    ("preview", Value, &["boolean"]),
    ("probes", Resource, &["Resource"]),
    ("profile", Mixed, &["canonical", "StructureDefinition"]),
    ("property", Value, &["code", "string"]),
    ("provider", Value, &["string"]),
    ("query", Value, &["string"]),
    ("removals", Resource, &["Resource"]),
    ("reportType", Value, &["code"]),
    ("resource", Mixed, &["code", "CapabilityStatement", "Resource"]),
    ("response-url", Value, &["url"]),
    ("result", Mixed, &["boolean", "string", "Binary", "Bundle", "CanonicalResource"]),
    ("result-patient", Resource, &["Patient"]),
    (
        "return",
        Mixed,
        &[
            "Meta",
            "Bundle",
            "CapabilityStatement",
            "ConceptMap",
            "Library",
            "OperationOutcome",
            "Parameters",
            "Questionnaire",
            "QuestionnaireResponse",
            "Resource",
            "Specimen",
            "StructureDefinition",
            "ValueSet",
        ],
    ),
    ("right", Value, &["canonical"]),
    ("server", Value, &["canonical", "uri"]),
    ("setting", Value, &["CodeableConcept"]),
    ("settingContext", Value, &["CodeableConcept"]),
    ("source", Mixed, &["uri", "Observation"]),
    ("source-patient", Resource, &["Reference"]),
    ("source-patient-identifier", Value, &["Identifier"]),
    ("sourceCode", Value, &["code"]),
    ("sourceCodeableConcept", Value, &["CodeableConcept"]),
    ("sourceCoding", Value, &["Coding"]),
    ("sourceMap", Resource, &["StructureMap"]),
    ("sourceScope", Value, &["uri"]),
    ("sourceType", Value, &["code"]),
    ("specimenDefinition", Resource, &["SpecimenDefinition"]),
    ("srcMap", Value, &["string"]),
    ("start", Value, &["date", "dateTime"]),
    ("statistic", Value, &["code"]),
    ("statistics", Resource, &["Observation"]),
    ("status", Value, &["code"]),
    ("subject", Mixed, &["string", "uri", "Reference"]),
    ("subscription", Value, &["string"]),
    ("supportedOnly", Value, &["boolean"]),
    ("supportingMap", Resource, &["StructureMap"]),
    ("system", Value, &["uri"]),
    ("system-version", Value, &["canonical"]),
    ("systemVersion", Value, &["string"]),
    ("target", Value, &["string"]),
    ("target-patient", Resource, &["Reference"]),
    ("target-patient-identifier", Value, &["Identifier"]),
    ("targetCode", Value, &["uri"]),
    ("targetCodeableConcept", Value, &["uri"]),
    ("targetCoding", Value, &["uri"]),
    ("targetIdentifier", Value, &["string"]),
    ("targetScope", Value, &["uri"]),
    ("targetSystem", Value, &["uri"]),
    ("targetType", Value, &["code"]),
    ("token", Value, &["string"]),
    ("topic", Value, &["string"]),
    ("type", Value, &["CodeableConcept", "code"]),
    ("union", Resource, &["CapabilityStatement"]),
    ("url", Value, &["canonical", "string", "uri"]),
    ("usageContext", Value, &["UsageContext"]),
    ("useSupplement", Value, &["canonical"]),
    ("userLanguage", Value, &["CodeableConcept"]),
    ("userTaskContext", Value, &["CodeableConcept"]),
    ("userType", Value, &["CodeableConcept"]),
    ("valueSet", Resource, &["ValueSet"]),
    ("valueSetVersion", Value, &["string"]),
    ("version", Value, &["code", "string"]),
    ("ward", Value, &["string"]),
    ("websocket-url", Value, &["url"]),
];

/// Each top-level parameter against the core parameter of its name.
pub(crate) fn check_parameters(walk: &mut Walk<'_, '_>, node: &Node) {
    for (i, parameter) in node.children_named("parameter").enumerate() {
        let Some(name) = parameter.child_text("name") else { continue };
        let Some(&(_, kind, types)) = CORE_PARAMETERS.iter().find(|(n, _, _)| *n == name) else { continue };
        walk.path.push("parameter", Some(i));
        check_parameter(walk, parameter, name, kind, types);
        walk.path.pop();
    }
}

fn check_parameter(walk: &mut Walk<'_, '_>, parameter: &Node, name: &str, kind: Kind, types: &[&str]) {
    let value_type = parameter.children.iter().find_map(|c| {
        let suffix = c.name.strip_prefix("value").filter(|s| s.starts_with(|ch: char| ch.is_ascii_uppercase()))?;
        Some(super::structure_definition::fhir_type_of_suffix(suffix))
    });
    let resource_type = parameter.child("resource").and_then(|r| r.resource_type.as_deref());
    let listed = listed(types);
    let one = types.len() == 1;
    let is_resource_type = |t: &str| walk.ctx.type_definition(t).is_some_and(|sd| sd.is_resource() && sd.type_name == t);
    let matches = |wanted: &str, found: Option<&str>| match found {
        Some(f) => wanted == f || (wanted == "Resource" && is_resource_type(f)),
        None => false,
    };
    let resource_matches = types.iter().any(|t| matches(t, value_type.as_deref()) || matches(t, resource_type));
    match kind {
        Value => match &value_type {
            // PARAMETERS_STD_NO_VALUE
            None => walk.inform(
                parameter,
                IssueCode::BusinessRule,
                format!("The parameter '{name}' has the same name as a parameter for at least one operation in the core specification. In the base specification, the parameter must have a value, but this parameter does not. Check that this is correct"),
            ),
            Some(t) if !types.contains(&t.as_str()) => wrong_type(walk, parameter, name, t, &listed, one),
            Some(_) => {}
        },
        Resource => match resource_type {
            None => {
                // PARAMETERS_STD_NO_RESOURCE (the reference leaves its second placeholder unfilled; the value's type is said here)
                let found = value_type.as_deref().unwrap_or("nothing");
                walk.inform(
                    parameter,
                    IssueCode::BusinessRule,
                    format!("The parameter '{name}' has the same name as a parameter for at least one operation in the core specification. In the base specification, the parameter must have a resource, but this parameter instead has a value of type {found}. Check that this is correct"),
                );
            }
            Some(rt) if !resource_matches => {
                let msg = if one {
                    // PARAMETERS_STD_RES_WRONG_TYPE_one
                    format!("The parameter '{name}' has the same name as a parameter for at least one operation in the core specification. In the base specification, the parameter has the resource type or {listed}, but this parameter instead has a resource of type {rt}. Check that this is correct")
                } else {
                    // PARAMETERS_STD_RES_WRONG_TYPE_other
                    format!("The parameter '{name}' has the same name as a parameter for at least one operation in the core specification. In the base specification, the parameter has the resource types {listed}, but this parameter instead has a resource of type {rt}. Check that this is correct")
                };
                walk.inform(parameter, IssueCode::BusinessRule, msg);
            }
            Some(_) => {}
        },
        Mixed => match (&value_type, resource_type) {
            (Some(t), _) if !types.contains(&t.as_str()) => wrong_type(walk, parameter, name, t, &listed, one),
            (Some(_), _) => {}
            // A `Resource` or `Parameters` resource is said not to fit (the reference tests the value's type, which is absent).
            (None, Some(rt)) if rt == "Resource" || rt == "Parameters" || !resource_matches => mixed_wrong_type(walk, parameter, name, rt, &listed, one),
            (None, None) => mixed_wrong_type(walk, parameter, name, "null", &listed, one),
            (None, Some(_)) => {}
        },
    }
}

/// PARAMETERS_STD_WRONG_TYPE
fn wrong_type(walk: &mut Walk<'_, '_>, parameter: &Node, name: &str, found: &str, listed: &str, one: bool) {
    let msg = if one {
        // PARAMETERS_STD_WRONG_TYPE_one
        format!("The parameter '{name}' has the same name as a parameter for at least one operation in the core specification. In the base specification, the parameter has a type of {listed}, but this parameter instead has a value of type {found}. Check that this is correct")
    } else {
        // PARAMETERS_STD_WRONG_TYPE_other
        format!("The parameter '{name}' has the same name as a parameter for at least one operation in the core specification. In the base specification, the parameter has the types {listed}, but this parameter instead has a value of type {found}. Check that this is correct")
    };
    walk.inform(parameter, IssueCode::BusinessRule, msg);
}

/// PARAMETERS_STD_RES_WRONG_TYPE_MIXED
fn mixed_wrong_type(walk: &mut Walk<'_, '_>, parameter: &Node, name: &str, found: &str, listed: &str, one: bool) {
    let msg = if one {
        // PARAMETERS_STD_RES_WRONG_TYPE_MIXED_one
        format!("The parameter '{name}' has the same name as a parameter for at least one operation in the core specification. In the base specification, then the type or resource type should be {listed}, but found {found}. Check that this is correct")
    } else {
        // PARAMETERS_STD_RES_WRONG_TYPE_MIXED_other
        format!("The parameter '{name}' has the same name as a parameter for at least one operation in the core specification. In the base specification, then the type or resource type should be one of {listed}, but found {found}. Check that this is correct")
    };
    walk.inform(parameter, IssueCode::BusinessRule, msg);
}

/// Types as the reference lists them: `a, b or c`.
fn listed(types: &[&str]) -> String {
    match types {
        [] => String::new(),
        [one] => (*one).to_string(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::{listed, CORE_PARAMETERS};

    #[test]
    fn types_are_listed_with_a_final_or() {
        assert_eq!(listed(&["code"]), "code");
        assert_eq!(listed(&["code", "string", "Coding"]), "code, string or Coding");
    }

    #[test]
    fn each_core_parameter_is_listed_once() {
        let mut names: Vec<&str> = CORE_PARAMETERS.iter().map(|(n, _, _)| *n).collect();
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), n);
    }
}
