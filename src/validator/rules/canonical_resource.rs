//! Rules of every canonical resource (R4's definitional resources, those with
//! a `url`, `version` and `status`), as the reference validator checks them
//! before its resource-specific rules: the status against the standards
//! status extension, experimental content where it is refused, a version
//! without `#`, and the publisher and work group of HL7's own resources.

use crate::issue::IssueCode;
use crate::tree::Node;
use crate::validator::element::Walk;

/// R4's canonical resource types.
const CANONICAL_TYPES: &[&str] = &[
    "ActivityDefinition", "CapabilityStatement", "ChargeItemDefinition", "CodeSystem", "CompartmentDefinition", "ConceptMap",
    "EffectEvidenceSynthesis", "EventDefinition", "Evidence", "EvidenceVariable", "ExampleScenario", "GraphDefinition",
    "ImplementationGuide", "Library", "Measure", "MessageDefinition", "NamingSystem", "OperationDefinition", "PlanDefinition",
    "Questionnaire", "ResearchDefinition", "ResearchElementDefinition", "RiskEvidenceSynthesis", "SearchParameter",
    "StructureDefinition", "StructureMap", "TerminologyCapabilities", "TestScript", "ValueSet",
];

const STANDARDS_STATUS_EXT: &str = "http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status";
const WORKGROUP_EXT: &str = "http://hl7.org/fhir/StructureDefinition/structuredefinition-wg";

/// Whether a resource type is one of R4's canonical resources.
pub(super) fn is_canonical_type(type_name: &str) -> bool {
    CANONICAL_TYPES.contains(&type_name)
}

pub(super) fn check(walk: &mut Walk<'_, '_>, node: &Node, type_name: &str) {
    if !CANONICAL_TYPES.contains(&type_name) {
        return;
    }
    let standards_status = extension_values(node, STANDARDS_STATUS_EXT).next();
    if let (Some(status), Some(standards)) = (node.child_text("status").filter(|s| !s.is_empty()), standards_status.filter(|s| !s.is_empty())) {
        if !status_consistent(status, standards, false) {
            // VALIDATION_VAL_STATUS_INCONSISTENT
            walk.warn(node, IssueCode::BusinessRule, format!("The resource status '{status}' and the standards status '{standards}' are not consistent"));
        } else if !status_consistent(status, standards, true) {
            // VALIDATION_VAL_STATUS_INCONSISTENT_HINT
            walk.inform(
                node,
                IssueCode::BusinessRule,
                format!("The resource status '{status}' and the standards status '{standards}' may not be consistent and should be reviewed"),
            );
        }
    }
    if walk.v.options().no_experimental_content && node.child_text("experimental") == Some("true") {
        // VALIDATION_NO_EXPERIMENTAL_CONTENT
        walk.error(node, IssueCode::BusinessRule, "Experimental content is not allowed in this context".into());
    }
    if node.child_text("url").is_some_and(|u| u.starts_with("http://hl7.org/fhir/")) {
        publisher(walk, node);
    }
    if let Some(version) = node.child_text("version").filter(|v| v.contains('#')) {
        // VALIDATION_VAL_VERSION_NOHASH
        walk.warn(
            node,
            IssueCode::BusinessRule,
            format!("Version '{version}' contains a '#', which is problematic, as this character is used in some URLs to separate the version and the fragment id. Systems will generally wrongly parse these URLs"),
        );
    }
}

/// Whether a resource status fits its standards status; `strictly`, as a
/// publication would be expected to have it.
fn status_consistent(status: &str, standards: &str, strictly: bool) -> bool {
    let allowed: &[&str] = match (standards, strictly) {
        ("draft", _) => &["draft"],
        ("normative", _) => &["active"],
        ("trial-use", false) => &["draft", "active"],
        ("trial-use", true) => &["active"],
        ("informative" | "external", false) => &["draft", "active", "retired"],
        ("informative" | "external", true) => &["draft", "active"],
        ("deprecated" | "withdrawn", _) => &["retired"],
        _ => return true,
    };
    allowed.contains(&status)
}

/// The values of a node's own extensions with this url.
fn extension_values<'n>(node: &'n Node, url: &'n str) -> impl Iterator<Item = &'n str> + 'n {
    node.children
        .iter()
        .filter(move |c| c.name == "extension" && c.child_text("url") == Some(url))
        .filter_map(|e| e.children.iter().find(|c| c.name.starts_with("value")).and_then(Node::text))
}

/// The publisher and contact of a resource HL7 publishes, against the work
/// group its `structuredefinition-wg` extension names.
fn publisher(walk: &mut Walk<'_, '_>, node: &Node) {
    let wgs = node.children.iter().filter(|c| c.name == "extension" && c.child_text("url") == Some(WORKGROUP_EXT)).count();
    if wgs > 1 {
        // VALIDATION_HL7_PUBLISHER_MULTIPLE_WGS
        walk.error(node, IssueCode::BusinessRule, "This resource has more than one workgroup extension (http://hl7.org/fhir/StructureDefinition/structuredefinition-wg)".into());
    }
    let url = node.child_text("url").unwrap_or_default();
    let Some(wg) = extension_values(node, WORKGROUP_EXT).next() else {
        if walk.v.options().for_publication && !url.contains("http://hl7.org/fhir/sid") {
            // VALIDATION_HL7_WG_NEEDED
            walk.error(node, IssueCode::BusinessRule, format!("When HL7 is publishing a resource, the owning committee must be stated using the {WORKGROUP_EXT} extension"));
        }
        return;
    };
    let Some((name, other_name, link)) = work_group(wg) else {
        // VALIDATION_HL7_WG_UNKNOWN
        walk.error(node, IssueCode::BusinessRule, format!("The nominated WG '{wg}' is unknown"));
        return;
    };
    let expected = format!("HL7 International / {name}");
    match node.child_text("publisher") {
        // VALIDATION_HL7_PUBLISHER_MISSING
        None => walk.warn(node, IssueCode::BusinessRule, format!("When HL7 is publishing a resource, the publisher must be provided, and for WG '{wg}' it should be '{expected}'")),
        Some(publisher) => {
            let other = other_name.map(|n| format!("HL7 International / {n}"));
            if publisher != expected && other.as_deref() != Some(publisher) {
                // Said as an error when the publisher is written as HL7's are ("HL7 International / ...").
                let msg = match other {
                    // VALIDATION_HL7_PUBLISHER_MISMATCH2
                    Some(other) => format!("The nominated WG '{wg}' means that the publisher should be either '{expected}'or '{other}' but '{publisher}' was found"),
                    // VALIDATION_HL7_PUBLISHER_MISMATCH
                    None => format!("The nominated WG '{wg}' means that the publisher should be '{expected}' but '{publisher}' was found"),
                };
                if publisher.contains('/') {
                    walk.error(node, IssueCode::BusinessRule, msg);
                } else {
                    walk.warn(node, IssueCode::BusinessRule, msg);
                }
            }
        }
    }
    let contact_urls: Vec<&str> = node
        .children
        .iter()
        .filter(|c| c.name == "contact")
        .flat_map(|c| c.children.iter().filter(|t| t.name == "telecom"))
        .filter(|t| t.child_text("system") == Some("url"))
        .filter_map(|t| t.child_text("value"))
        .collect();
    if !contact_urls.iter().any(|u| link.starts_with(u)) {
        // VALIDATION_HL7_WG_URL
        walk.warn(node, IssueCode::BusinessRule, format!("The nominated WG '{wg}' means that the contact url should be '{link}' but it was not found"));
    }
}

/// An HL7 work group by its code: its name, its other name, and its page.
fn work_group(code: &str) -> Option<(&'static str, Option<&'static str>, String)> {
    const COMMITTEES: &str = "http://www.hl7.org/Special/committees/";
    let (name, page) = match code {
        "aid" => ("Application Implementation and Design", "java"),
        "arden" => ("Arden Syntax", "arden"),
        "brr" => ("Biomedical Research and Regulation", "rcrim"),
        "cbcc" => ("Community Based Collaborative Care", "cbcc"),
        "cdamg" => ("CDA Management Group", "cdamg"),
        "cds" => ("Clinical Decision Support", "dss"),
        "cg" => ("Clinical Genomics", "clingenomics"),
        "cgp" => ("Cross-Group Projects", "cgp"),
        "cic" => ("Clinical Interoperability Council", "cic"),
        "cimi" => ("Clinical Information Modeling Initiative", "cimi"),
        "claims" => ("Payer/Provider Information Exchange Work Group", "claims"),
        "cqi" => ("Clinical Quality Information", "cqi"),
        "dev" => ("Devices", "healthcaredevices"),
        "ehr" => ("Electronic Health Records", "ehr"),
        "ec" => ("Emergency Care", "emergencycare"),
        "fhir" => ("FHIR Infrastructure", "fiwg"),
        "fmg" => ("FHIR Management Group", "fhirmg"),
        "fm" => ("Financial Management", "fm"),
        "hsi" => ("Health Standards Integration", "hsi"),
        "hsswg" => ("Human and Social Services", "hsswg"),
        "hta" => ("Terminology Authority", "termauth"),
        "ictc" => ("Conformance", "ictc"),
        "ii" => ("Imaging Integration", "imagemgt"),
        "inm" => ("Infrastructure And Messaging", "inm"),
        "its" => ("Implementable Technology Specifications", "xml"),
        "lhs" => ("Learning Health Systems", "lhs"),
        "mnm" => ("Modeling and Methodology", "mnm"),
        "mobile" => ("Mobile Health", "mobile"),
        "oo" => ("Orders and Observations", "orders"),
        "pa" => ("Patient Administration", "pafm"),
        "pe" => ("Patient Empowerment", "patientempowerment"),
        "pc" => ("Patient Care", "patientcare"),
        "pher" => ("Public Health", "pher"),
        "phx" => ("Pharmacy", "medication"),
        "sd" => ("Structured Documents", "structure"),
        "sec" => ("Security", "secure"),
        "soa" => ("Services Oriented Architecture", "soa"),
        "ti" | "vocab" => ("Terminology Infrastructure", "Vocab"),
        // The reference's table writes this one's page so.
        "tsmg" => return Some(("Terminology Services Management Group (TSMG)", None, format!("TSMG) ({COMMITTEES}tsmg"))),
        "us" => ("US Realm Steering Committee", "usrealm"),
        "v2" => ("V2 Management Group", "v2management"),
        _ => return None,
    };
    let other = matches!(code, "ti" | "vocab").then_some("Vocabulary");
    Some((name, other, format!("{COMMITTEES}{page}")))
}
