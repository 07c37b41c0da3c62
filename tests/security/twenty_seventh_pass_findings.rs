//! Findings of the twenty-seventh red-team pass
//! (docs/security/redteam-twenty-seventh-pass-2026-12-06.md), each shown
//! bounded on an input of the reported shape, with what is still said.

use super::*;
use careplan::tree::Format;

fn validate_xml(xml: &str) -> Vec<careplan::issue::Issue> {
    careplan::validator::Validator::new(common::context(), Default::default()).validate_bytes(xml.as_bytes(), Some(Format::Xml))
}

/// S1: past the list's room for one more long issue, the XML reader still
/// made each issue's path and location and then dropped it; and element
/// names of any length made every path below them long.
#[test]
fn s1_reader_issues_past_the_list_are_only_counted_and_names_are_bounded() {
    let name = "n".repeat(200);
    let depth = 90;
    let mut xml = String::from(r#"<Patient xmlns="http://hl7.org/fhir">"#);
    for _ in 0..depth {
        xml.push_str(&format!("<{name}>"));
    }
    for i in 0..30_000 {
        xml.push_str(&format!("<leaf a{i}=\"x\" b{i}=\"y\"/>"));
    }
    for _ in 0..depth {
        xml.push_str(&format!("</{name}>"));
    }
    xml.push_str("</Patient>");
    let doc = careplan::parse::parse(xml.as_bytes(), Some(Format::Xml));
    let attributes = doc.issues.iter().filter(|i| i.message.starts_with("Undefined attribute")).count();
    assert!(attributes > 100 && attributes < 60_000, "{attributes} listed");
    let last = doc.issues.last().expect("a last issue that says how many more");
    assert!(last.message.contains("more"), "{}", last.message);

    let long = "n".repeat(careplan::parse::xml::MAX_NAME_BYTES + 1);
    let doc = careplan::parse::parse(format!(r#"<Patient xmlns="http://hl7.org/fhir"><{long}/></Patient>"#).as_bytes(), Some(Format::Xml));
    assert!(doc.issues.iter().any(|i| i.severity == careplan::issue::Severity::Fatal && i.message.contains("longer than 256 bytes")), "{:#?}", doc.issues);
}

/// S2: each undefined XML element made three paths before the walk's list
/// was asked whether it had room.
#[test]
fn s2_undefined_elements_past_the_list_make_nothing() {
    let mut xml = String::from(r#"<Patient xmlns="http://hl7.org/fhir"><contact><name>"#);
    // Each distinct name is reported once under its parent.
    for i in 0..60_000 {
        xml.push_str(&format!("<x{i}/>"));
    }
    xml.push_str("</name></contact></Patient>");
    let found = validate_xml(&xml);
    let listed = found.iter().filter(|i| i.message.starts_with("Undefined element 'x") && i.message.ends_with("' at /f:Patient/f:contact/f:name")).count();
    assert!(listed > 100 && listed < 60_000, "{listed}");
    assert!(found.last().is_some_and(|i| i.message.contains("more")), "{:?}", found.last());
}

/// S3: each expression branch was judged against each base, the ancestors
/// of each base worked out every time.
#[test]
fn s3_search_parameter_bases_and_branches_are_judged_once() {
    let mut bases = vec![json!("Bundle"); 4_000];
    bases.push(json!("Basic"));
    let sp = |expression: String| json!({"resourceType": "SearchParameter", "url": "http://x.test/sp", "name": "x", "status": "active", "description": "x",
        "code": "x", "base": bases.clone(), "type": "token", "expression": expression});
    // 250 branches: an expression's tree may be 256 deep (the thirty-second pass's X1);
    // 1,000 branches in one chain are refused before anything walks them.
    let too_deep = common::issues_with(&[], &sp(vec!["DomainResource.id"; 1_000].join(" | ")));
    assert!(too_deep.iter().any(|i| i.message.starts_with("Error in search expression") && i.message.contains("nested too deeply")), "{:#?}", &too_deep[..too_deep.len().min(3)]);
    let many = vec!["DomainResource.id"; 250].join(" | ");
    let found = common::issues_with(&[], &sp(many.clone()));
    assert!(!found.iter().any(|i| i.message.starts_with("Error in search expression")), "{:#?}", &found[..found.len().min(3)]);
    let found = common::issues_with(&[], &sp(format!("{many} | Patient.id")));
    let errors: Vec<&str> = found.iter().filter(|i| i.message.starts_with("Error in search expression")).map(|i| i.message.as_str()).collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("The name 'Patient' is not valid for any of the possible types: [http://hl7.org/fhir/StructureDefinition/Bundle, http://hl7.org/fhir/StructureDefinition/Basic]"), "{}", errors[0]);
    assert!(errors[0].len() < 1_000);
}

/// S4: another patient's PATCH of a deleted resource answered 410, which a
/// read answers 404: the resource's existence is not theirs to learn.
#[test]
fn s4_a_patch_of_a_deleted_resource_says_no_more_than_a_read() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    seed(&admin);
    put(&admin, &observation("oa", "Patient/alice"));
    assert!(admin.req(Method::DELETE, "Observation/oa").send().unwrap().status().is_success());
    let bob = As { srv: &srv, token: token("bob-app", "openid patient/*.cruds", json!({"patient": "bob", "fhirUser": "Patient/bob"})) };
    let patch = |who: &As| who.req(Method::PATCH, "Observation/oa").header("Content-Type", "application/json-patch+json").body(r#"[{"op":"replace","path":"/status","value":"amended"}]"#).send().unwrap();
    assert_eq!(bob.get("Observation/oa").status(), 404);
    assert_eq!(patch(&bob).status(), 404);
    // Alice's own app is told it was deleted, as a read tells her.
    let alice = alice_app(&srv, "openid patient/*.cruds");
    assert_eq!(alice.get("Observation/oa").status(), 410);
    assert_eq!(patch(&alice).status(), 410);
}
