//! A primitive's value against its type's own pattern (R4's `regex`
//! extension on `X.value`; `src/validator/rules/type_regex.rs`), checked
//! only where the value passed the type's lexical rules.

mod common;

use std::sync::Arc;

use careplan::context::Context;
use careplan::issue::{Issue, IssueCode, Severity};
use careplan::tree::Format;
use careplan::validator::{Options, Validator};

fn xml_issues(validator: &Validator, xml: &str) -> Vec<Issue> {
    validator.validate_bytes(xml.as_bytes(), Some(Format::Xml))
}

/// A Claim whose one item has this `sequence` (a positiveInt).
fn claim(sequence: &str) -> String {
    format!(
        r#"<Claim xmlns="http://hl7.org/fhir"><status value="active"/><type><coding><system value="http://terminology.hl7.org/CodeSystem/claim-type"/><code value="oral"/></coding></type><use value="claim"/><patient><reference value="Patient/p"/></patient><created value="2020-01-01"/><provider><reference value="Organization/o"/></provider><priority><coding><code value="normal"/></coding></priority><insurance><sequence value="1"/><focal value="true"/><coverage><reference value="Coverage/c"/></coverage></insurance><item><sequence value="{sequence}"/><productOrService><text value="x"/></productOrService></item></Claim>"#
    )
}

#[test]
fn type_specific_checks_dt_primitive_regex_type() {
    // A positiveInt may be read with a leading '+', but its pattern has none.
    let found = xml_issues(&common::validator(), &claim("+5"));
    let hits: Vec<&Issue> = found.iter().filter(|i| i.message.contains("does not meet positiveInt regex")).collect();
    assert_eq!(hits.len(), 1, "{found:#?}");
    assert_eq!((hits[0].severity, hits[0].code, hits[0].expression.as_str()), (Severity::Error, IssueCode::Invalid, "Claim.item[0].sequence"));
    assert_eq!(hits[0].message, "Element value '+5' does not meet positiveInt regex '[1-9][0-9]*'");
    let fine = xml_issues(&common::validator(), &claim("5"));
    assert!(!fine.iter().any(|i| i.message.contains("regex")), "{fine:#?}");
}

#[test]
fn a_value_the_lexical_rules_refuse_is_not_also_held_to_the_pattern() {
    let found = xml_issues(&common::validator(), &claim("05"));
    assert!(found.iter().any(|i| i.message.contains("leading zeros")), "{found:#?}");
    assert!(!found.iter().any(|i| i.message.contains("regex")), "{found:#?}");
}

#[test]
fn type_specific_checks_dt_primitive_regex_exception() {
    // A positiveInt definition whose pattern cannot be read.
    let path = common::examples_dir().join("StructureDefinition-positiveInt.json");
    let mut sd: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let text = sd.to_string().replace(r#""valueString":"[1-9][0-9]*""#, r#""valueString":"[1-9""#);
    sd = serde_json::from_str(&text).unwrap();
    assert!(sd.to_string().contains(r#""valueString":"[1-9""#), "the pattern was replaced");
    let mut ctx = Context::overlay(common::context());
    ctx.add_json(sd, "test");
    let validator = Validator::new(Arc::new(ctx), Options::default());
    let found = xml_issues(&validator, &claim("5"));
    // Claim.insurance.sequence is a positiveInt too; the item's is looked at here.
    let hits: Vec<&Issue> = found
        .iter()
        .filter(|i| i.message.starts_with("Exception evaluating regex '[1-9' on type positiveInt: ") && i.expression == "Claim.item[0].sequence")
        .collect();
    assert_eq!(hits.len(), 1, "{found:#?}");
    assert_eq!((hits[0].severity, hits[0].code, hits[0].expression.as_str()), (Severity::Error, IssueCode::Invalid, "Claim.item[0].sequence"));
}
