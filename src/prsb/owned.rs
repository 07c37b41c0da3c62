//! Which fields of each resource the PRSB mapping owns, and putting a newly
//! mapped resource over the stored one without wiping what others wrote.
//!
//! A plan posted in the PRSB format replaces only what the format says: the
//! fields [`OWNED`] lists for the resource's type, our own extensions and
//! identifiers. Everything a supplier added through plain FHIR (`Goal.target`,
//! `Goal.priority` when the plan gives no importance, `meta.security` labels,
//! another system's identifiers and extensions) stays as it was.

use serde_json::{Map, Value};

/// Fields the mapper writes for each type: they follow the plan, and are
/// removed when the plan no longer gives them. `[x]` names a choice.
const OWNED: &[(&str, &[&str])] = &[
    ("CarePlan", &["text", "contained", "status", "intent", "category", "subject", "addresses", "supportingInfo", "goal", "activity", "note"]),
    ("Goal", &["text", "lifecycleStatus", "achievementStatus", "category", "description", "subject", "addresses", "outcomeReference", "outcomeCode", "note"]),
    ("Condition", &["text", "clinicalStatus", "category", "code", "subject", "note"]),
    ("Observation", &["text", "status", "code", "subject", "focus", "effective[x]", "value[x]", "performer", "component", "note"]),
    ("DocumentReference", &["text", "status", "type", "category", "subject", "date", "description", "content", "context"]),
    ("Practitioner", &["text", "name", "telecom", "qualification"]),
    ("PractitionerRole", &["text", "practitioner", "organization", "code", "specialty"]),
    ("RelatedPerson", &["text", "patient", "relationship", "name", "telecom", "period"]),
    ("Location", &["text", "name"]),
    ("Coverage", &["text", "status", "type", "beneficiary", "payor"]),
    ("Consent", &["text", "status", "scope", "category", "patient", "dateTime", "policyRule", "provision"]),
    ("Provenance", &["text", "target", "recorded", "agent"]),
];

/// Whether an extension or identifier `system` is one the mapper writes (the
/// core extensions it uses too: what a supplier wrote in them reads back into
/// the PRSB view, so a post of that view keeps it).
fn ours(url: &str) -> bool {
    url.starts_with(crate::profiles::BASE) || url == super::vocab::GOAL_RELATIONSHIP || url == super::vocab::PERTAINS_TO_GOAL
}

fn owned_by_mapping(res_type: &str, key: &str) -> bool {
    let Some((_, fields)) = OWNED.iter().find(|(t, _)| *t == res_type) else { return false };
    fields.iter().any(|f| match f.strip_suffix("[x]") {
        Some(prefix) => key.starts_with(prefix) && key[prefix.len()..].starts_with(|c: char| c.is_ascii_uppercase()),
        None => *f == key,
    })
}

fn list<'a>(v: Option<&'a Value>) -> &'a [Value] {
    v.and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default()
}

/// A Consent's provision after a post: the top-level rule as stored (what
/// the person limited it by: a period, a purpose) with the mapping's type;
/// each provision the plan makes as stored when it still permits the same
/// actors (its restrictions kept), otherwise as mapped; and every provision
/// written through FHIR (no plan id) kept as it was. What the plan no
/// longer names goes.
fn merge_provision(stored: Option<&Value>, mapped: Option<&Value>, same_section: bool) -> Option<Value> {
    let mapped = mapped?;
    let Some(stored) = stored.filter(|s| s.is_object()) else { return Some(mapped.clone()) };
    if same_section {
        // The plan says what it said when the provisions were last made
        // from it: what the person changed since (a recipient withdrawn, a
        // limit added) stands.
        return Some(stored.clone());
    }
    let actors = |p: &Value| -> Vec<String> {
        let mut refs: Vec<String> = list(p.get("actor")).iter().filter_map(|a| a["reference"]["reference"].as_str().map(str::to_owned)).collect();
        refs.sort();
        refs
    };
    let kept = list(stored.get("provision"));
    let plan_made = super::vocab::plan_provisions(kept.iter().map(|p| (p.get("id").and_then(Value::as_str), p.get("type").and_then(Value::as_str))));
    // A consent made before provisions were named: a permit of recipients
    // or recorders only (the mapping's shape) is the plan's.
    let legacy = !kept.iter().any(|p| p.get("id").and_then(Value::as_str).is_some_and(|id| id.starts_with("prsb-")));
    let plan_shaped = |p: &Value| {
        p.get("id").is_none()
            && p["type"] == "permit"
            && list(p.get("actor")).iter().all(|a| a["role"]["coding"].as_array().into_iter().flatten().any(|c| c["code"] == "IRCP" || c["code"] == "AUT"))
    };
    let mine: Vec<bool> = kept.iter().zip(&plan_made).map(|(s, &made)| made || (legacy && plan_shaped(s))).collect();
    let mut used = vec![false; kept.len()];
    let mut children: Vec<Value> = list(mapped.get("provision"))
        .iter()
        .map(|m| {
            let found = kept.iter().enumerate().find(|(i, s)| !used[*i] && mine[*i] && (s.get("id") == m.get("id") || s.get("id").is_none()) && actors(s) == actors(m));
            match found {
                Some((i, s)) => {
                    used[i] = true;
                    let mut s = s.clone();
                    s["id"] = m.get("id").cloned().unwrap_or(Value::Null);
                    s
                }
                None => m.clone(),
            }
        })
        .collect();
    children.extend(kept.iter().zip(&mine).filter(|(_, &m)| !m).map(|(s, _)| s.clone()));
    let mut out = stored.clone();
    out["type"] = mapped.get("type").cloned().unwrap_or(Value::Null);
    if children.is_empty() {
        out.as_object_mut().map(|o| o.remove("provision"));
    } else {
        out["provision"] = Value::Array(children);
    }
    Some(out)
}

/// `mapped` put over `stored`: the mapping's fields from `mapped`, the rest
/// from `stored`; extensions and identifiers of others kept beside ours;
/// `meta` kept but for the profiles the mapping claims.
pub fn merge(stored: &Value, mapped: &Value) -> Value {
    let (Some(old), Some(new)) = (stored.as_object(), mapped.as_object()) else { return mapped.clone() };
    let res_type = new.get("resourceType").and_then(Value::as_str).unwrap_or_default();
    let mut out: Map<String, Value> = Map::new();
    for (key, value) in old {
        if !owned_by_mapping(res_type, key) && !new.contains_key(key) && key != "extension" && key != "identifier" {
            out.insert(key.clone(), value.clone());
        }
    }
    for (key, value) in new {
        match key.as_str() {
            "meta" => {
                let mut meta = old.get("meta").and_then(Value::as_object).cloned().unwrap_or_default();
                meta.shift_remove("versionId");
                meta.shift_remove("lastUpdated");
                let mut profiles: Vec<Value> = list(meta.get("profile")).to_vec();
                for p in list(value.get("profile")) {
                    if !profiles.contains(p) {
                        profiles.push(p.clone());
                    }
                }
                if !profiles.is_empty() {
                    meta.insert("profile".into(), Value::Array(profiles));
                }
                // Our tags follow the mapping; others' stay.
                let ours_tag = |t: &Value| t["system"].as_str().is_some_and(ours);
                let tags: Vec<Value> = list(meta.get("tag")).iter().filter(|t| !ours_tag(t)).chain(list(value.get("tag")).iter().filter(|t| ours_tag(t))).cloned().collect();
                if tags.is_empty() {
                    meta.shift_remove("tag");
                } else {
                    meta.insert("tag".into(), Value::Array(tags));
                }
                out.insert(key.clone(), Value::Object(meta));
            }
            "note" => {
                out.insert(key.clone(), keep_note_authors(list(old.get("note")), value));
            }
            "provision" if res_type == "Consent" => {
                let applied = |r: &Map<String, Value>| {
                    let system = super::vocab::consent_applied_tag_system();
                    list(r.get("meta").and_then(|m| m.get("tag"))).iter().find(|t| t["system"] == system.as_str()).and_then(|t| t["code"].as_str().map(str::to_owned))
                };
                let same_section = applied(old).is_some() && applied(old) == applied(new);
                if let Some(p) = merge_provision(old.get("provision"), Some(value), same_section) {
                    out.insert(key.clone(), p);
                }
            }
            _ => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    let theirs_ext: Vec<Value> = list(old.get("extension")).iter().filter(|e| !e["url"].as_str().is_some_and(ours)).cloned().collect();
    let extension: Vec<Value> = theirs_ext.into_iter().chain(list(new.get("extension")).iter().cloned()).collect();
    let extension = in_stored_order(list(old.get("extension")), extension);
    if !extension.is_empty() {
        out.insert("extension".into(), Value::Array(extension));
    }
    let mut identifier: Vec<Value> = list(new.get("identifier")).to_vec();
    for i in list(old.get("identifier")) {
        let same = |x: &Value| x["system"] == i["system"] && x["value"] == i["value"];
        let plan_item = i["system"].as_str().is_some_and(ours);
        if !plan_item && !identifier.iter().any(same) {
            identifier.push(i.clone());
        }
    }
    let identifier = in_stored_order(list(old.get("identifier")), identifier);
    if !identifier.is_empty() {
        out.insert("identifier".into(), Value::Array(identifier));
    }
    // resourceType first, as FHIR JSON is written.
    let mut ordered = Map::new();
    if let Some(t) = out.shift_remove("resourceType") {
        ordered.insert("resourceType".into(), t);
    }
    if let Some(id) = old.get("id") {
        ordered.insert("id".into(), id.clone());
    }
    out.shift_remove("id");
    ordered.extend(out);
    Value::Object(ordered)
}

/// The stored list itself when the merged one holds the same items, so that
/// a merge that changes nothing does not reorder (and so rewrite) a resource.
fn in_stored_order(stored: &[Value], merged: Vec<Value>) -> Vec<Value> {
    let mut left: Vec<&Value> = stored.iter().collect();
    for item in &merged {
        match left.iter().position(|s| *s == item) {
            Some(i) => {
                left.swap_remove(i);
            }
            None => return merged,
        }
    }
    if left.is_empty() {
        stored.to_vec()
    } else {
        merged
    }
}

/// A note written through FHIR (by reference, `authorReference`, and with
/// no id) reads back into the PRSB view with its author's name and an id
/// made from what it says; posted again, it stays the note that was written,
/// taking from the post only what PRSB adds to a note (its extensions).
fn keep_note_authors(stored: &[Value], mapped: &Value) -> Value {
    let Some(notes) = mapped.as_array() else { return mapped.clone() };
    let author = |n: &Value| match n.get("authorReference") {
        Some(r) => super::unmap::reference_author(r),
        None => n["authorString"].as_str().unwrap_or("not recorded").to_owned(),
    };
    let notes = notes
        .iter()
        .map(|n| {
            let written_through_fhir = |s: &&Value| s.get("id").is_none() || s.get("authorReference").is_some();
            let earlier = stored.iter().filter(written_through_fhir).find(|s| s["text"] == n["text"] && s["time"] == n["time"] && author(s) == author(n));
            let (Some(earlier), Some(map)) = (earlier, n.as_object()) else { return n.clone() };
            let mut kept = earlier.as_object().cloned().unwrap_or_default();
            match map.get("extension") {
                Some(e) => kept.insert("extension".into(), e.clone()),
                None => kept.shift_remove("extension"),
            };
            Value::Object(kept)
        })
        .collect();
    Value::Array(notes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_supplier_s_fields_survive_and_the_plan_s_follow_the_post() {
        let stored = json!({"resourceType": "Goal", "id": "g1", "meta": {"versionId": "3", "security": [{"code": "R"}]},
            "identifier": [{"system": "https://careplan.example/fhir/Id/plan-item", "value": "p/g1"}, {"system": "https://gp.example/ids", "value": "77"}],
            "extension": [{"url": "https://gp.example/ext", "valueString": "x"}, {"url": "https://careplan.example/fhir/StructureDefinition/goal-importance", "valueInteger": 3}],
            "target": [{"dueDate": "2027-01-01"}], "priority": {"text": "high"}, "note": [{"text": "old"}], "description": {"text": "walk"}});
        let mapped = json!({"resourceType": "Goal", "meta": {"profile": ["https://careplan.example/fhir/StructureDefinition/prsb-goal"]},
            "identifier": [{"system": "https://careplan.example/fhir/Id/plan-item", "value": "p/g1"}],
            "extension": [{"url": "https://careplan.example/fhir/StructureDefinition/goal-importance", "valueInteger": 9}],
            "description": {"text": "walk to the shop"}});
        let merged = merge(&stored, &mapped);
        assert_eq!(merged["id"], "g1");
        assert_eq!(merged["target"], stored["target"], "Goal.target is the supplier's");
        assert_eq!(merged["priority"], stored["priority"], "no importance in the plan: the supplier's priority stays");
        assert!(merged.get("note").is_none(), "the plan has no comments any more, so the notes go");
        assert_eq!(merged["description"]["text"], "walk to the shop");
        assert_eq!(merged["meta"]["security"], stored["meta"]["security"]);
        assert!(merged["meta"].get("versionId").is_none());
        let urls: Vec<&str> = merged["extension"].as_array().unwrap().iter().map(|e| e["url"].as_str().unwrap()).collect();
        assert_eq!(urls, ["https://gp.example/ext", "https://careplan.example/fhir/StructureDefinition/goal-importance"]);
        assert_eq!(merged["extension"][1]["valueInteger"], 9);
        assert_eq!(merged["identifier"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn the_goals_a_strength_supports_follow_the_post() {
        let link = |goal: &str| json!({"url": "http://hl7.org/fhir/StructureDefinition/resource-pertainsToGoal", "valueReference": {"reference": goal}});
        let stored = json!({"resourceType": "Observation", "extension": [link("Goal/1"), link("Goal/2"), {"url": "https://gp.example/ext", "valueString": "x"}]});
        let mapped = json!({"resourceType": "Observation", "extension": [link("Goal/2")]});
        let merged = merge(&stored, &mapped);
        assert_eq!(merged["extension"], json!([{"url": "https://gp.example/ext", "valueString": "x"}, link("Goal/2")]));
    }

    #[test]
    fn a_note_written_by_reference_keeps_its_reference() {
        let stored = json!({"resourceType": "Condition", "note": [{"authorReference": {"reference": "Practitioner/7", "display": "Dr A"}, "time": "2026-01-01", "text": "seen"}]});
        let mapped = json!({"resourceType": "Condition", "note": [{"authorString": "Dr A", "time": "2026-01-01", "text": "seen"}, {"authorString": "B", "text": "new"}]});
        let merged = merge(&stored, &mapped);
        assert_eq!(merged["note"][0]["authorReference"]["reference"], "Practitioner/7");
        assert!(merged["note"][0].get("authorString").is_none());
        assert_eq!(merged["note"][1]["authorString"], "B");
    }
}
