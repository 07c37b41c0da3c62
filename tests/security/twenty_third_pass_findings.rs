//! Findings of the twenty-third red-team pass
//! (docs/security/redteam-twenty-third-pass-2026-12-06.md), each reproduced
//! on a real server on loopback and shown fixed. O1 and O7 (a Questionnaire's
//! regexes) are shown in `validator::rules::questionnaire_item_rules`.

use super::*;

fn openid(srv: &Server) -> As<'_> {
    As { srv, token: token("nobody", "openid", json!({})) }
}

fn validate_xml(who: &As, xml: String) -> Response {
    who.req(Method::POST, "Patient/$validate").header("Content-Type", "application/fhir+xml").body(xml).send().unwrap()
}

/// O9: XML nested a few hundred elements deep overflowed the stack of the
/// thread that converts it to JSON and aborted the server. The tree's
/// depth is now checked against `--max-depth` before anything recurses.
#[test]
fn o9_deep_xml_is_refused_before_it_is_converted_and_the_server_lives() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let who = openid(&srv);
    let depth = 480;
    let xml = format!(
        r#"<Patient xmlns="http://hl7.org/fhir">{}<valueString value="a"/>{}</Patient>"#,
        r#"<extension url="http://x.test/e">"#.repeat(depth),
        "</extension>".repeat(depth)
    );
    let r = validate_xml(&who, xml);
    assert_eq!(r.status(), 400);
    assert!(r.text().unwrap().contains("--max-depth"));
    // Still there.
    assert_eq!(srv.client.get(srv.url("metadata")).send().unwrap().status(), 200);
}

/// O4: the XML reader's issues had no limit, each with its element's path.
/// They are now bounded as the JSON reader's are, and the verdict stands.
#[test]
fn o4_the_xml_reader_s_issues_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let long = "a".repeat(400);
    let body: String = (0..40_000).map(|_| format!(r#"<extension url="u" {long}="1"><valueString value="v"/></extension>"#)).collect();
    let r = validate_xml(&openid(&srv), format!(r#"<Patient xmlns="http://hl7.org/fhir">{body}</Patient>"#));
    let status = r.status();
    let bytes = r.bytes().unwrap();
    assert_eq!(status, 200);
    // The reader's list (8 MiB) and the walk's (16 MiB), each bounded; unbounded, the reader's alone was ~50 MB.
    assert!(bytes.len() < 30 << 20, "the answer is {} bytes", bytes.len());
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains("are not listed: the reader's list stops at 8 MiB"), "{}", &text[text.len().saturating_sub(2000)..]);
}

/// O5: each text node with a bad entity sent the XML reader's line index
/// back to the start of the document. It now starts from a nearby
/// checkpoint, so many of them cost linear time.
#[test]
fn o5_many_bad_entities_cost_linear_time() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let body: String = (0..40_000).map(|_| r#"<active value="true"/>x&q;"#).collect();
    let r = validate_xml(&openid(&srv), format!(r#"<Patient xmlns="http://hl7.org/fhir">{body}</Patient>"#));
    let status = r.status();
    let text = r.text().unwrap();
    assert!(status == 400 || status == 200, "{status}");
    assert!(text.contains("entity"), "{}", &text[..text.len().min(2000)]);
}

/// O6: a reader's issue paths were rewritten by collecting the siblings of
/// every node on the path, for each issue: issues × width. Siblings are now
/// gathered once per node and name.
#[test]
fn o6_reader_issues_about_a_wide_array_are_placed_in_linear_time() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let nulls = vec!["null"; 40_000].join(",");
    let text = format!(r#"{{"resourceType":"Patient","name":[{{"family":"F","given":[{nulls}]}}]}}"#);
    let r = openid(&srv).req(Method::POST, "Patient/$validate").header("Content-Type", "application/fhir+json").body(text).send().unwrap();
    let status = r.status();
    let outcome = r.text().unwrap();
    assert!(status == 200 || status == 400, "{status}");
    assert!(outcome.contains("Patient.name[0].given[39999]") || outcome.contains("are not listed"), "{}", &outcome[..outcome.len().min(2000)]);
}

fn broken_basic() -> Value {
    json!({"resourceType": "Basic", "code": {"text": "t"}, "extension": [{"url": "http://x.test/e", "extension": vec![json!({}); 2_000]}]})
}

/// O2: a transaction answered every failing entry's full list of issues;
/// they now share the answer budget as a batch's outcomes do.
#[test]
fn o2_a_transaction_s_failures_share_the_answer_budget() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &["--max-response-bytes", "200000"]);
    let admin = admin(&srv);
    let entries: Vec<Value> = (0..6).map(|_| json!({"request": {"method": "POST", "url": "Basic"}, "resource": broken_basic()})).collect();
    let r = admin.send(Method::POST, "", &json!({"resourceType": "Bundle", "type": "transaction", "entry": entries}));
    assert_eq!(r.status(), 422);
    let bytes = r.bytes().unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains("more issues are not listed"), "{}", &text[..text.len().min(2000)]);
    assert!(bytes.len() < 1_000_000, "the answer is {} bytes", bytes.len());
    assert_eq!(admin.ids("Basic"), Vec::<String>::new(), "nothing was stored");
}

/// O3: an entry's fullUrl, of any length, was copied into each of its
/// issues. It is quoted to 200 characters.
#[test]
fn o3_a_long_full_url_is_quoted_short() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    let full_url = format!("urn:uuid:{}", "f".repeat(100_000));
    let entry = json!({"fullUrl": full_url, "request": {"method": "POST", "url": "Basic"}, "resource": broken_basic()});
    let r = admin.send(Method::POST, "", &json!({"resourceType": "Bundle", "type": "transaction", "entry": [entry]}));
    assert_eq!(r.status(), 422);
    let bytes = r.bytes().unwrap();
    // Some 4,000 issues: with the whole fullUrl in each, 400 MB.
    assert!(bytes.len() < 10_000_000, "the answer is {} bytes", bytes.len());
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains("Bundle.entry[0] (urn:uuid:ffff") && text.contains("…)"), "{}", &text[..text.len().min(2000)]);
}

/// O10: thousands of operations of one PATCH each moved a long array.
/// A patch's operations now share a budget of work in proportion to the
/// largest resource the server takes.
#[test]
fn o10_a_patch_s_operations_share_a_budget_of_work() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &["--max-body-bytes", "200000"]);
    let admin = admin(&srv);
    let notes: Vec<Value> = (0..5_000).map(|i| json!({"text": format!("n{i}")})).collect();
    let obs = json!({"resourceType": "Observation", "id": "o", "status": "final", "code": {"text": "x"}, "note": notes});
    let r = admin.send(Method::PUT, "Observation/o", &obs);
    assert!(r.status().is_success(), "{}", r.text().unwrap());
    let patch = |n: usize| -> Response {
        let ops: Vec<Value> = (0..n).map(|_| json!({"op": "remove", "path": "/note/0"})).collect();
        admin.req(Method::PATCH, "Observation/o").header("Content-Type", "application/json-patch+json").body(serde_json::to_vec(&ops).unwrap()).send().unwrap()
    };
    let r = patch(4_000);
    assert_eq!(r.status(), 422);
    assert!(r.text().unwrap().contains("more operations than this server applies"));
    // A patch of a few operations is applied as ever.
    assert!(patch(3).status().is_success());
}
