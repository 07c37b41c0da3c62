//! A Coding's system, code and display where no binding's value set
//! decides them (none, an example binding, or a value set that is not
//! loaded), as the reference checks a code against its system alone:
//! systems that are pages or builds of the specification, HL7 systems no
//! package defines, misspelt forms of the large external systems, value
//! sets named as systems, systems nothing defines, and displays.

use crate::issue::IssueCode;
use crate::structure::Element;
use crate::tree::Node;
use crate::validator::element::Walk;

/// HL7 identifiers of code systems that no package defines (the reference's
/// list of known `sid` systems).
const KNOWN_SID_SYSTEMS: &[&str] = &[
    "http://hl7.org/fhir/sid/ndc",
    "http://hl7.org/fhir/sid/icpc-2",
    "http://hl7.org/fhir/sid/icpc-1",
    "http://hl7.org/fhir/sid/icpc-1-nl",
    "http://hl7.org/fhir/sid/icd-9",
    "http://hl7.org/fhir/sid/icd-10",
    "http://hl7.org/fhir/sid/cvx",
    "http://hl7.org/fhir/sid/srt",
    "http://hl7.org/fhir/sid/icd-10-vn",
    "http://hl7.org/fhir/sid/icd-10-cm",
    "http://hl7.org/fhir/sid/icd-10-am",
    "http://hl7.org/fhir/sid/icd-9-cm",
    "http://hl7.org/fhir/sid/icf-nl",
    "http://hl7.org/fhir/sid/ca-hc-npn",
    "http://hl7.org/fhir/sid/ca-hc-din",
    "http://hl7.org/fhir/sid/dsm5",
    "http://hl7.org/fhir/sid/ex-icd-10-procedures",
];

/// Systems whose misspelt longer forms (`http://snomed.info/sct/123`) are no system.
const EXTERNAL_ROOTS: &[&str] = &["http://snomed.info/sct", "http://loinc.org", "http://unitsofmeasure.org", "http://www.nlm.nih.gov/research/umls/rxnorm"];

/// A Coding that is not a CodeableConcept's (the path points at it).
pub(crate) fn check(walk: &mut Walk<'_, '_>, node: &Node, def: &Element) {
    let (Some(system), Some(code)) = (node.child_text("system"), node.child_text("code")) else { return };
    if !(system.starts_with("http:") || system.starts_with("https:") || system.starts_with("urn:")) {
        return; // Terminology_TX_System_Relative says it
    }
    // A binding whose value set is loaded checks the code (`Terminology::check_binding`).
    let decided = binding_decides(walk, def);
    if !decided && walk.ctx.value_set(system).is_some() && walk.ctx.code_system(system).is_none() {
        // Terminology_TX_System_ValueSet2
        walk.error(node, IssueCode::CodeInvalid, format!("The Coding references a value set, not a code system ('{system}')"));
        return;
    }
    if let Some(cs) = walk.ctx.code_system(system).filter(|cs| cs.content.as_deref() == Some("supplement")) {
        let versioned = cs.version.as_deref().map_or_else(|| system.to_string(), |v| format!("{system}|{v}"));
        walk.path.push("system", None);
        // CODESYSTEM_CS_NO_SUPPLEMENT
        walk.error(node, IssueCode::Invalid, format!("CodeSystem {versioned} is a supplement, so can't be used as a value in Coding.system"));
        walk.path.pop();
        return;
    }
    // A bound Coding's system is looked up as the value set checker looks it up.
    if let Some(other) = walk.ctx.entry(system).filter(|_| decided).map(|e| e.resource_type.clone()).filter(|t| t != "CodeSystem" && t != "ValueSet") {
        walk.path.push("system", None);
        // TERMINOLOGY_TX_SYSTEM_OTHER_RESOURCE
        walk.error(node, IssueCode::Invalid, format!("The Coding references a {other}, not a code system ('{system}')"));
        walk.path.pop();
        return;
    }
    if let Some(msg) = walk.v.terminology().coding_display_issue(node) {
        if let Some(display) = node.child("display") {
            walk.path.push("display", None);
            // Display_Name_for__should_be_one_of__instead_of_one
            let severity = walk.display_severity(crate::issue::Severity::Error);
            let expr = walk.path.render();
            walk.report(display, crate::issue::Issue::new(severity, IssueCode::Invalid, expr, msg));
            walk.path.pop();
        }
    }
    if decided {
        return; // the binding's check says the code's status
    }
    standing(walk, node, system);
    case_difference(walk, node, system);
    if !system.starts_with("http://hl7.org/fhir") {
        status_and_fragment(walk, node, system, code);
    }
    if system.starts_with("http://build.fhir.org") || system.starts_with("https://build.fhir.org") {
        let suggestion = suggest_for_build(walk, system);
        // TERMINOLOGY_TX_SYSTEM_WRONG_BUILD
        walk.error(
            node,
            IssueCode::CodeInvalid,
            format!("The code system reference {system} is wrong - the code system reference cannot be a reference to build.fhir.org. This may be the correct reference: {suggestion}"),
        );
        return;
    }
    let hl7 = ["http://hl7.org/fhir", "https://hl7.org/fhir", "http://www.hl7.org/fhir", "https://www.hl7.org/fhir"].iter().any(|p| system.starts_with(p));
    if hl7 {
        if KNOWN_SID_SYSTEMS.contains(&system) || system.starts_with("http://hl7.org/fhir/test") {
            return;
        }
        if system.ends_with(".html") {
            let suggestion = suggest_for_page(walk, system);
            // TERMINOLOGY_TX_SYSTEM_WRONG_HTML
            walk.error(
                node,
                IssueCode::CodeInvalid,
                format!("The code system reference {system} is wrong - the code system reference cannot be to an HTML page. This may be the correct reference: {suggestion}"),
            );
            return;
        }
        let Some(ix) = walk.v.terminology().code_index(system) else {
            // Terminology_TX_System_Unknown
            walk.error(node, IssueCode::CodeInvalid, format!("Unknown Code System '{system}'"));
            return;
        };
        // A system whose definition lists its codes is checked as any other
        // (below); one whose content is not present, only by what it lists.
        if walk.ctx.code_system(system).is_none_or(|cs| cs.content.as_deref() != Some("not-present")) {
            status_and_fragment(walk, node, system, code);
            return;
        }
        match ix.display(code) {
            _ if !ix.contains(code) => {
                walk.path.push("system", None);
                // UNKNOWN_CODESYSTEM (the reference's wording for a code its loaded system does not hold)
                walk.warn(node, IssueCode::CodeInvalid, format!("A definition for CodeSystem '{system}' could not be found, so the code cannot be validated"));
                walk.path.pop();
            }
            Some(expected) => {
                if node.child_text("display").is_some_and(|d| d != expected) {
                    // Terminology_TX_Display_Wrong
                    walk.warn(node, IssueCode::CodeInvalid, format!("Display should be '{expected}'"));
                }
            }
            None => {}
        }
        return;
    }
    if EXTERNAL_ROOTS.iter().any(|r| system != *r && system.starts_with(r)) {
        // Terminology_TX_System_Invalid
        walk.error(node, IssueCode::CodeInvalid, format!("Invalid System URI: {system}"));
        return;
    }
    if without_service(walk, node) {
        return;
    }
    if crate::terminology::EXTERNAL_SYSTEMS.contains(&system) {
        return;
    }
    // An https: form of a known system is TERMINOLOGY_TX_SYSTEM_HTTPS (`datatypes::coding`).
    if let Some(rest) = system.strip_prefix("https:") {
        let http = format!("http:{rest}");
        if EXTERNAL_ROOTS.contains(&http.as_str()) || walk.ctx.code_system(&http).is_some() {
            return;
        }
    }
    match walk.ctx.code_system(system) {
        None => {
            walk.path.push("system", None);
            // UNKNOWN_CODESYSTEM
            walk.inform(node, IssueCode::Unknown, format!("A definition for CodeSystem '{system}' could not be found, so the code cannot be validated"));
            walk.path.pop();
        }
        Some(cs) if cs.content.as_deref() == Some("not-present") => {
            let source = walk.ctx.entry(system).map(|e| e.origin.to_string()).unwrap_or_else(|| "non-package source".into());
            // TERMINOLOGY_TX_SYSTEM_NOT_USABLE
            walk.inform(node, IssueCode::Unknown, format!("The definition for the Code System with URI '{system}' from '{source}' doesn't provide any codes so the code cannot be validated"));
        }
        Some(_) => {}
    }
}

/// The large external systems the reference does not check without
/// terminology services (its no-server exemptions).
const NOT_CHECKED_WITHOUT_SERVICE: &[&str] = &["http://loinc.org", "http://unitsofmeasure.org", "http://hl7.org/fhir/sid/icd-9-cm", "http://snomed.info/sct", "http://www.nlm.nih.gov/research/umls/rxnorm"];

/// With `--tx n/a`, that a code of a large external system was not checked,
/// as the reference says it; whether it was said. Called for a Coding no
/// binding decides, and for each coding of a CodeableConcept.
pub(crate) fn without_service(walk: &mut Walk<'_, '_>, node: &Node) -> bool {
    let (Some(system), Some(code)) = (node.child_text("system"), node.child_text("code")) else { return false };
    if !walk.v.terminology().without_service() || !NOT_CHECKED_WITHOUT_SERVICE.contains(&system) {
        return false;
    }
    // Error_validating_code_running_without_terminology_services
    walk.warn(node, IssueCode::BusinessRule, format!("Unable to validate code '{code}' in system '{system}' because the validator is running without terminology services"));
    true
}

/// Whether the element's binding decides its codes (a value set that is
/// loaded, and not an example): then the binding's check speaks of them.
fn binding_decides(walk: &Walk<'_, '_>, def: &Element) -> bool {
    def.binding.as_ref().is_some_and(|b| b.strength != "example" && b.value_set.as_deref().is_some_and(|vs| walk.ctx.value_set(vs).is_some()))
}

/// A CodeableConcept whose binding does not decide its codes: its codings
/// are checked together against their systems alone, as the reference
/// checks them, so what it says of a system is said at the
/// CodeableConcept, once per system.
pub(crate) fn codeable_concept(walk: &mut Walk<'_, '_>, node: &Node, def: &Element) {
    if binding_decides(walk, def) {
        return;
    }
    for (i, coding) in node.children_named("coding").enumerate() {
        if let Some(system) = coding.child_text("system") {
            standing(walk, node, system);
            walk.path.push("coding", Some(i));
            case_difference(walk, coding, system);
            if coding.child("code").is_none() {
                if let Some(msg) = walk.v.terminology().no_code_message(system) {
                    walk.path.push("code", None);
                    // NO_CODE_PROVIDED, NO_CODE_PROVIDED_VERSION (said where the code is missing)
                    walk.warn(coding, IssueCode::Value, msg);
                    walk.path.pop();
                }
            }
            walk.path.pop();
        }
    }
}

/// CODE_CASE_DIFFERENCE: a code of a case-insensitive system in another case, said at the code.
fn case_difference(walk: &mut Walk<'_, '_>, coding: &Node, system: &str) {
    let Some(code) = coding.child("code") else { return };
    let Some(msg) = code.text().and_then(|c| walk.v.terminology().case_difference(system, c)) else { return };
    walk.path.push("code", None);
    walk.inform(code, IssueCode::BusinessRule, msg);
    walk.path.pop();
}

/// The standing of the loaded system, checked with no value set, said at
/// the current path.
fn standing(walk: &mut Walk<'_, '_>, node: &Node, system: &str) {
    // MSG_DRAFT, MSG_EXPERIMENTAL, MSG_RETIRED, MSG_DEPRECATED, MSG_WITHDRAWN
    let Some(msg) = walk.v.terminology().system_standing(system, None, walk.v.options().for_publication) else { return };
    let expr = walk.path.render();
    if !walk.say_once(&expr, &msg) {
        return;
    }
    walk.report(node, crate::issue::Issue::info(IssueCode::BusinessRule, expr, msg));
}

/// What the loaded system says of the code: its status, or that a
/// fragment does not hold it.
fn status_and_fragment(walk: &mut Walk<'_, '_>, node: &Node, system: &str, code: &str) {
    let t = walk.v.terminology();
    if let Some(msg) = t.code_status(system, code) {
        // INACTIVE_CONCEPT_FOUND, INACTIVE_CONCEPT_FOUND_ADD, DEPRECATED_CONCEPT_FOUND
        walk.warn(node, IssueCode::BusinessRule, msg);
    } else if let Some(msg) = t.unknown_in_fragment(system, code) {
        // UNKNOWN_CODE_IN_FRAGMENT
        walk.warn(node, IssueCode::CodeInvalid, msg);
    }
}

/// What a build.fhir.org system most likely meant.
fn suggest_for_build(walk: &Walk<'_, '_>, system: &str) -> String {
    if system.contains("/codesystem-") || system.contains("/valueset-") {
        return suggest_for_page(walk, system);
    }
    let plain = system.replace("https://", "http://");
    let Some(rest) = plain.get(22..) else { return UNDETERMINED.into() };
    let guess = format!("http://hl7.org/fhir/{}", rest.replace(".html", ""));
    if walk.ctx.code_system(&guess).is_some() {
        guess
    } else {
        UNDETERMINED.into()
    }
}

/// What a page of the specification named as a system most likely meant.
fn suggest_for_page(walk: &Walk<'_, '_>, system: &str) -> String {
    for marker in ["/codesystem-", "/valueset-"] {
        if let Some(at) = system.find(marker) {
            let guess = format!("http://hl7.org/fhir/{}", system[at + marker.len()..].replace(".html", ""));
            return if walk.ctx.code_system(&guess).is_some() { guess } else { UNDETERMINED.into() };
        }
    }
    UNDETERMINED.into()
}

const UNDETERMINED: &str = "{unable to determine intended url}";
