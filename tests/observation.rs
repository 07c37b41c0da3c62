//! The ObservationValidator's best-practice checks: an Observation should
//! have a subject, a performer and an effective[x]; one test per key.

mod common;

use careplan::issue::{Issue, IssueCode, Severity};
use careplan::validator::{Options, Validator};
use serde_json::{json, Value};

fn observation(extra: Value) -> Value {
    let mut o = json!({"resourceType": "Observation", "status": "final", "code": {"text": "weight"},
        "subject": {"reference": "Patient/1"}, "performer": [{"reference": "Practitioner/1"}], "effectiveDateTime": "2024-01-01"});
    for (k, v) in extra.as_object().unwrap() {
        if v.is_null() {
            o.as_object_mut().unwrap().remove(k);
        } else {
            o[k] = v.clone();
        }
    }
    o
}

fn bp(issues: &[Issue], severity: Severity, message: &str) -> bool {
    issues.iter().any(|i| i.severity == severity && i.code == IssueCode::Invalid && i.expression == "Observation" && i.message == message)
}

fn validate(o: &Value) -> Vec<Issue> {
    common::issues_with(&[], o)
}

#[test]
fn a_complete_observation_has_no_best_practice_findings() {
    let issues = validate(&observation(json!({})));
    assert!(!issues.iter().any(|i| i.message.starts_with("Best Practice Recommendation")), "{issues:#?}");
}

#[test]
fn all_observations_should_have_a_subject() {
    let issues = validate(&observation(json!({"subject": null})));
    assert!(bp(&issues, Severity::Warning, "Best Practice Recommendation: In general, all observations should have a subject"), "{issues:#?}");
}

#[test]
fn all_observations_should_have_a_performer() {
    let issues = validate(&observation(json!({"performer": null})));
    assert!(bp(&issues, Severity::Warning, "Best Practice Recommendation: In general, all observations should have a performer"), "{issues:#?}");
    // `--best-practice error` makes it an error; `ignore` leaves it out.
    let o = observation(json!({"performer": null})).to_string();
    let as_error = Validator::new(common::context(), Options { best_practice: Some(Severity::Error), ..Options::default() }).validate_bytes(o.as_bytes(), Some(careplan::tree::Format::Json));
    assert!(bp(&as_error, Severity::Error, "Best Practice Recommendation: In general, all observations should have a performer"), "{as_error:#?}");
    let ignored = Validator::new(common::context(), Options { best_practice: None, ..Options::default() }).validate_bytes(o.as_bytes(), Some(careplan::tree::Format::Json));
    assert!(!ignored.iter().any(|i| i.message.starts_with("Best Practice Recommendation")), "{ignored:#?}");
}

#[test]
fn all_observations_should_have_an_effective_date_time_or_an_effective_period() {
    let issues = validate(&observation(json!({"effectiveDateTime": null})));
    assert!(bp(&issues, Severity::Warning, "Best Practice Recommendation: In general, all observations should have an effective[x] (dateTime | Period | Timing | instant)"), "{issues:#?}");
    let timed = validate(&observation(json!({"effectiveDateTime": null, "effectiveInstant": "2024-01-01T10:00:00Z"})));
    assert!(!timed.iter().any(|i| i.message.contains("effective[x]")), "{timed:#?}");
}
