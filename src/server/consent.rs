//! Consent-based restriction: whether a person's resource may be shown to
//! a requester, from the person's active Consent resources and the
//! resource's own `meta.security` labels.
//!
//! The rules, kept small on purpose (README, "Security"):
//! 1. The person themselves (`fhirUser` = their Patient) sees all of their record.
//! 2. A Consent counts when its `status` is `active`, its `patient` is the
//!    person and its `provision.period` (if any) holds now.
//! 3. A provision (the top one, or a nested one) applies when every
//!    criterion it states matches: `actor.reference` names the requester's
//!    `fhirUser`; `purpose` holds the request's purpose of use;
//!    `securityLabel` matches one of the resource's labels; `class` holds
//!    the resource type; `dataPeriod` holds the resource's date (its
//!    clinical date, else `meta.lastUpdated`). A criterion left out matches
//!    everything.
//! 4. Of the provisions that apply, the most deeply nested decides; at the
//!    same depth `deny` wins over `permit`.
//! 5. A resource labelled confidentiality `R` (restricted) or `V` (very
//!    restricted) is withheld unless a `permit` that names that label
//!    decides; any other resource is shown unless a `deny` decides.
//! 6. Consent and AuditEvent resources are not subject to consent (a person
//!    and those caring for them can always see which rules are in place).

use super::auth::Requester;
use super::search::dates;
use serde_json::Value;

pub const CONFIDENTIALITY: &str = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality";
/// Labels that withhold a resource unless a consent permits it by name.
pub const RESTRICTED_LABELS: &[&str] = &["R", "V"];
/// Types never withheld by consent.
pub const EXEMPT_TYPES: &[&str] = &["Consent", "AuditEvent"];

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Shown,
    /// Withheld, and why (for the audit trail and the outcome).
    Withheld(String),
}

fn codings(v: &Value) -> impl Iterator<Item = &Value> {
    v.as_array().into_iter().flatten()
}

fn labels(resource: &Value) -> Vec<(Option<&str>, &str)> {
    codings(&resource["meta"]["security"]).filter_map(|c| Some((c["system"].as_str(), c["code"].as_str()?))).collect()
}

/// The date a `dataPeriod` is compared with: the resource's clinical date, else when it was last written.
fn resource_date(resource: &Value) -> Option<(i64, i64)> {
    let candidates = [
        &resource["period"]["start"],
        &resource["effectiveDateTime"],
        &resource["effectivePeriod"]["start"],
        &resource["authoredOn"],
        &resource["recordedDate"],
        &resource["onsetDateTime"],
        &resource["date"],
        &resource["created"],
        &resource["issued"],
        &resource["meta"]["lastUpdated"],
    ];
    candidates.iter().find_map(|v| v.as_str()).and_then(dates::range)
}

fn within(period: &Value, at: (i64, i64)) -> bool {
    let start = period["start"].as_str().and_then(dates::range).map_or(i64::MIN, |r| r.0);
    let end = period["end"].as_str().and_then(dates::range).map_or(i64::MAX, |r| r.1);
    at.1 >= start && at.0 <= end
}

fn reference_names(reference: &str, fhir_user: &str) -> bool {
    reference == fhir_user || reference.ends_with(&format!("/{fhir_user}"))
}

/// Whether every criterion `provision` states matches.
fn applies(provision: &Value, requester: &Requester, res_type: &str, resource: &Value) -> bool {
    if let Some(actors) = provision["actor"].as_array().filter(|a| !a.is_empty()) {
        let Some(me) = &requester.fhir_user else { return false };
        if !actors.iter().any(|a| a["reference"]["reference"].as_str().is_some_and(|r| reference_names(r, me))) {
            return false;
        }
    }
    if let Some(purposes) = provision["purpose"].as_array().filter(|a| !a.is_empty()) {
        let Some(purpose) = &requester.purpose else { return false };
        if !purposes.iter().any(|p| p["code"].as_str() == Some(purpose.as_str())) {
            return false;
        }
    }
    if let Some(wanted) = provision["securityLabel"].as_array().filter(|a| !a.is_empty()) {
        let have = labels(resource);
        let matches = |w: &Value| have.iter().any(|(system, code)| Some(*code) == w["code"].as_str() && (w["system"].as_str().is_none() || w["system"].as_str() == *system));
        if !wanted.iter().any(matches) {
            return false;
        }
    }
    if let Some(classes) = provision["class"].as_array().filter(|a| !a.is_empty()) {
        if !classes.iter().any(|c| c["code"].as_str() == Some(res_type)) {
            return false;
        }
    }
    if provision.get("dataPeriod").is_some() {
        match resource_date(resource) {
            Some(at) if within(&provision["dataPeriod"], at) => {}
            _ => return false,
        }
    }
    true
}

/// Every provision that applies, with its depth and type.
fn collect<'a>(provision: &'a Value, depth: usize, requester: &Requester, res_type: &str, resource: &Value, out: &mut Vec<(usize, &'a Value)>) {
    if depth > 16 {
        return;
    }
    if !applies(provision, requester, res_type, resource) {
        return;
    }
    if provision["type"].is_string() {
        out.push((depth, provision));
    }
    for nested in provision["provision"].as_array().into_iter().flatten() {
        collect(nested, depth + 1, requester, res_type, resource, out);
    }
}

/// The most provisions one Consent may hold, and how deep they may nest:
/// every resource shown to anyone other than the person walks them.
pub const MAX_PROVISIONS: usize = 100;
pub const MAX_PROVISION_DEPTH: usize = 8;
/// The most Consents in force for one person.
pub const MAX_ACTIVE_CONSENTS: usize = 20;

/// The most JSON values (objects, arrays, strings, ...) a Consent may hold
/// in all: a provision's criteria are walked for every resource judged.
pub const MAX_CONSENT_VALUES: usize = 5_000;

fn values_in(v: &Value, limit: usize, count: &mut usize) {
    *count += 1;
    if *count > limit {
        return;
    }
    match v {
        Value::Array(items) => items.iter().for_each(|i| values_in(i, limit, count)),
        Value::Object(map) => map.values().for_each(|i| values_in(i, limit, count)),
        _ => {}
    }
}

/// Why a Consent is too large to keep in force, if it is.
pub fn too_large(consent: &Value) -> Option<String> {
    let mut values = 0;
    values_in(consent, MAX_CONSENT_VALUES, &mut values);
    if values > MAX_CONSENT_VALUES {
        return Some(format!("A Consent holds at most {MAX_CONSENT_VALUES} values in all (codes, references, texts...); split it or simplify it"));
    }
    fn walk(p: &Value, depth: usize, count: &mut usize, deepest: &mut usize) {
        *count += 1;
        *deepest = (*deepest).max(depth);
        if *count > MAX_PROVISIONS || depth > MAX_PROVISION_DEPTH {
            return;
        }
        for nested in p["provision"].as_array().into_iter().flatten() {
            walk(nested, depth + 1, count, deepest);
        }
    }
    let (mut count, mut deepest) = (0, 0);
    if !consent["provision"].is_null() {
        walk(&consent["provision"], 1, &mut count, &mut deepest);
    }
    (count > MAX_PROVISIONS || deepest > MAX_PROVISION_DEPTH)
        .then(|| format!("A Consent holds at most {MAX_PROVISIONS} provisions, nested at most {MAX_PROVISION_DEPTH} deep; split it or simplify it"))
}

/// Whether a Consent is in force now.
pub fn in_force(consent: &Value, now_ms: i64) -> bool {
    consent["status"].as_str() == Some("active") && (consent["provision"].get("period").is_none() || within(&consent["provision"]["period"], (now_ms, now_ms)))
}

/// The confidentiality label (R or V) that restricts a resource, if any.
pub fn restricted_label(resource: &Value) -> Option<&str> {
    labels(resource).into_iter().find(|(s, c)| s.is_none_or(|s| s == CONFIDENTIALITY) && RESTRICTED_LABELS.contains(c)).map(|(_, c)| c)
}

/// May `requester` see `resource` (of person `patient`), given the person's Consents?
pub fn decide(requester: &Requester, patient: &str, consents: &[Value], resource: &Value, now_ms: i64) -> Verdict {
    let res_type = resource["resourceType"].as_str().unwrap_or_default();
    if EXEMPT_TYPES.contains(&res_type) || requester.is_person(patient) {
        return Verdict::Shown;
    }
    let mut applicable = Vec::new();
    for consent in consents.iter().filter(|c| in_force(c, now_ms)) {
        if !consent["provision"].is_null() {
            collect(&consent["provision"], 0, requester, res_type, resource, &mut applicable);
        }
    }
    let deepest = applicable.iter().map(|(d, _)| *d).max();
    let deciding: Vec<&Value> = applicable.iter().filter(|(d, _)| Some(*d) == deepest).map(|(_, p)| *p).collect();
    let deny = deciding.iter().find(|p| p["type"] == "deny");
    let permit = deciding.iter().find(|p| p["type"] == "permit");
    if deny.is_some() {
        return Verdict::Withheld(format!("Patient/{patient}'s consent denies this access to {res_type}"));
    }
    if let Some(label) = restricted_label(resource) {
        let named = permit.is_some_and(|p| codings(&p["securityLabel"]).any(|w| w["code"].as_str() == Some(label)));
        if !named {
            return Verdict::Withheld(format!("the {res_type} is labelled confidentiality {label} and no consent of Patient/{patient} permits it to this requester"));
        }
    }
    Verdict::Shown
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn practitioner(id: &str) -> Requester {
        Requester { subject: id.into(), fhir_user: Some(format!("Practitioner/{id}")), ..Requester::default() }
    }

    #[test]
    fn the_deepest_applicable_provision_decides_and_labels_need_a_named_permit() {
        let consent = json!({"resourceType": "Consent", "status": "active", "patient": {"reference": "Patient/p"},
            "provision": {"type": "deny", "provision": [
                {"type": "permit", "actor": [{"reference": {"reference": "Practitioner/gp"}}]},
                {"type": "permit", "actor": [{"reference": {"reference": "Practitioner/sw"}}], "class": [{"code": "Goal"}]}]}});
        let plan = json!({"resourceType": "CarePlan", "subject": {"reference": "Patient/p"}});
        let goal = json!({"resourceType": "Goal"});
        let cs = [consent];
        assert_eq!(decide(&practitioner("gp"), "p", &cs, &plan, 0), Verdict::Shown);
        assert!(matches!(decide(&practitioner("sw"), "p", &cs, &plan, 0), Verdict::Withheld(_)));
        assert_eq!(decide(&practitioner("sw"), "p", &cs, &goal, 0), Verdict::Shown);
        assert!(matches!(decide(&practitioner("other"), "p", &cs, &goal, 0), Verdict::Withheld(_)));
        let labelled = json!({"resourceType": "Goal", "meta": {"security": [{"system": CONFIDENTIALITY, "code": "R"}]}});
        assert!(matches!(decide(&practitioner("gp"), "p", &cs, &labelled, 0), Verdict::Withheld(_)));
        assert!(matches!(decide(&practitioner("gp"), "p", &[], &labelled, 0), Verdict::Withheld(_)));
        let me = Requester { fhir_user: Some("Patient/p".into()), ..Requester::default() };
        assert_eq!(decide(&me, "p", &cs, &labelled, 0), Verdict::Shown);
        let named = json!({"resourceType": "Consent", "status": "active", "provision": {"type": "permit", "securityLabel": [{"system": CONFIDENTIALITY, "code": "R"}], "actor": [{"reference": {"reference": "Practitioner/gp"}}]}});
        assert_eq!(decide(&practitioner("gp"), "p", &[named.clone()], &labelled, 0), Verdict::Shown);
        let mut inactive = named;
        inactive["status"] = json!("inactive");
        assert!(matches!(decide(&practitioner("gp"), "p", &[inactive], &labelled, 0), Verdict::Withheld(_)));
    }
}
