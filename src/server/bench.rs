//! Load for `careplan bench serve`: generated care-plan transactions and
//! Synthea-style patient Bundles, posted by concurrent clients to a running
//! server, timed per request.

use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const SNOMED: &str = "http://snomed.info/sct";
const LOINC: &str = "http://loinc.org";
const CONDITIONS: &[(&str, &str)] = &[("44054006", "Diabetes mellitus type 2"), ("38341003", "Hypertensive disorder"), ("195967001", "Asthma"), ("35489007", "Depressive disorder")];
const LABS: &[(&str, &str, &str)] = &[("2339-0", "Glucose [Mass/volume] in Blood", "mg/dL"), ("2093-3", "Cholesterol [Mass/volume] in Serum or Plasma", "mg/dL"), ("4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "%")];

fn urn(bundle: usize, n: usize) -> String {
    format!("urn:uuid:{bundle:08x}-0000-4000-8000-{n:012x}")
}

fn post(full_url: &str, resource: Value) -> Value {
    let t = resource["resourceType"].as_str().unwrap_or_default().to_string();
    json!({"fullUrl": full_url, "resource": resource, "request": {"method": "POST", "url": t}})
}

const FAMILY: &[&str] = &["Smith", "Jones", "Taylor", "Patel"];
const GIVEN: &[&str] = &["Amelia", "Oliver", "Isla", "George"];
const GOALS: &[&str] = &["Walk to the shops", "Cook a meal each day", "Sleep through the night"];

fn patient(i: usize) -> Value {
    json!({"resourceType": "Patient", "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": format!("{}", 9_400_000_000u64 + i as u64)}],
           "name": [{"family": FAMILY[i % 4], "given": [GIVEN[i % 4]]}],
           "gender": if i % 2 == 0 { "female" } else { "male" }, "birthDate": format!("{}-0{}-1{}", 1930 + i % 70, 1 + i % 9, i % 10)})
}

fn condition(subject: &str, i: usize) -> Value {
    let (code, text) = CONDITIONS[i % CONDITIONS.len()];
    json!({"resourceType": "Condition",
           "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
           "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "confirmed"}]},
           "code": {"coding": [{"system": SNOMED, "code": code, "display": text}]}, "subject": {"reference": subject}, "onsetDateTime": "2020-05-01"})
}

/// A care plan transaction: a patient, two conditions, three goals and the plan: 7 resources.
pub fn care_plan_transaction(n: usize) -> Value {
    let p = urn(n, 0);
    let mut entries = vec![post(&p, patient(n))];
    let conditions: Vec<String> = (1..=2).map(|k| urn(n, k)).collect();
    for (k, c) in conditions.iter().enumerate() {
        entries.push(post(c, condition(&p, n + k)));
    }
    let goals: Vec<String> = (3..=5).map(|k| urn(n, k)).collect();
    for (k, g) in goals.iter().enumerate() {
        entries.push(post(g, json!({"resourceType": "Goal", "lifecycleStatus": "active", "description": {"text": GOALS[k]},
                                      "subject": {"reference": p}, "addresses": [{"reference": conditions[k % 2]}], "target": [{"dueDate": "2027-01-31"}]})));
    }
    entries.push(post(&urn(n, 6), json!({"resourceType": "CarePlan", "status": "active", "intent": "plan", "title": "Care and support plan",
        "subject": {"reference": p}, "period": {"start": "2026-11-01"}, "addresses": conditions.iter().map(|c| json!({"reference": c})).collect::<Vec<_>>(),
        "goal": goals.iter().map(|g| json!({"reference": g})).collect::<Vec<_>>(),
        "activity": [{"detail": {"status": "scheduled", "description": "Home visit twice a week"}}]})));
    json!({"resourceType": "Bundle", "type": "transaction", "entry": entries})
}

/// A Synthea-style patient record as a transaction: the patient, 4
/// encounters, 30 lab observations, 4 conditions and 4 procedures: 43 resources.
pub fn patient_bundle(n: usize) -> Value {
    let p = urn(n, 0);
    let mut entries = vec![post(&p, patient(n))];
    let encounters: Vec<String> = (1..=4).map(|k| urn(n, k)).collect();
    for (k, e) in encounters.iter().enumerate() {
        entries.push(post(e, json!({"resourceType": "Encounter", "status": "finished", "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
            "subject": {"reference": p}, "period": {"start": format!("2025-0{}-10T09:00:00Z", k + 1), "end": format!("2025-0{}-10T09:30:00Z", k + 1)}})));
    }
    for k in 0..30 {
        let (code, text, unit) = LABS[k % LABS.len()];
        entries.push(post(&urn(n, 10 + k), json!({"resourceType": "Observation", "status": "final",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}],
            "code": {"coding": [{"system": LOINC, "code": code, "display": text}]}, "subject": {"reference": p}, "encounter": {"reference": encounters[k % 4]},
            "effectiveDateTime": format!("2025-0{}-10T09:15:00Z", k % 4 + 1), "valueQuantity": {"value": 4.5 + k as f64, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit}})));
    }
    for (k, encounter) in encounters.iter().enumerate() {
        entries.push(post(&urn(n, 50 + k), condition(&p, n + k)));
        entries.push(post(&urn(n, 60 + k), json!({"resourceType": "Procedure", "status": "completed", "code": {"coding": [{"system": SNOMED, "code": "73761001", "display": "Colonoscopy"}]},
            "subject": {"reference": p}, "encounter": {"reference": encounter}, "performedDateTime": format!("2025-0{}-10T09:20:00Z", k + 1)})));
    }
    json!({"resourceType": "Bundle", "type": "transaction", "entry": entries})
}

#[derive(Clone, Debug)]
pub struct Load {
    /// The server's base URL.
    pub base: String,
    pub care_plans: usize,
    pub patient_bundles: usize,
    /// Concurrent clients.
    pub clients: usize,
}

#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct LoadReport {
    pub requests: usize,
    pub resources: usize,
    pub failures: usize,
    pub first_failure: Option<String>,
    pub seconds: f64,
    pub resources_per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// The Bundles of a load, in the order they are sent (interleaved) and numbered apart so no two share an identifier.
pub fn bundles(load: &Load, offset: usize) -> Vec<(usize, Vec<u8>)> {
    let mut out = Vec::new();
    for i in 0..load.care_plans.max(load.patient_bundles) {
        if i < load.care_plans {
            out.push((7, serde_json::to_vec(&care_plan_transaction(offset + 2 * i)).unwrap_or_default()));
        }
        if i < load.patient_bundles {
            out.push((43, serde_json::to_vec(&patient_bundle(offset + 2 * i + 1)).unwrap_or_default()));
        }
    }
    out
}

/// Posts the Bundles from `load.clients` threads; each request is timed.
pub fn drive(load: &Load, bundles: &[(usize, Vec<u8>)]) -> LoadReport {
    let next = AtomicUsize::new(0);
    let latencies = Mutex::new(Vec::with_capacity(bundles.len()));
    let report = Mutex::new(LoadReport::default());
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..load.clients.max(1) {
            scope.spawn(|| {
                let client = reqwest::blocking::Client::builder().timeout(Duration::from_secs(300)).build().expect("an HTTP client");
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some((resources, body)) = bundles.get(i) else { break };
                    let t = Instant::now();
                    let result = client.post(&load.base).header("Content-Type", super::format::FHIR_JSON).header("Prefer", "return=minimal").body(body.clone()).send();
                    let elapsed = t.elapsed();
                    let failure = match result {
                        Ok(r) if r.status().is_success() => None,
                        Ok(r) => Some(format!("{}: {}", r.status(), r.text().unwrap_or_default().chars().take(800).collect::<String>())),
                        Err(e) => Some(e.to_string()),
                    };
                    latencies.lock().unwrap_or_else(|p| p.into_inner()).push(elapsed);
                    let mut rep = report.lock().unwrap_or_else(|p| p.into_inner());
                    rep.requests += 1;
                    match failure {
                        None => rep.resources += resources,
                        Some(f) => {
                            rep.failures += 1;
                            rep.first_failure.get_or_insert(f);
                        }
                    }
                }
            });
        }
    });
    let mut rep = report.into_inner().unwrap_or_else(|p| p.into_inner());
    rep.seconds = started.elapsed().as_secs_f64();
    rep.resources_per_second = rep.resources as f64 / rep.seconds.max(1e-9);
    let mut l = latencies.into_inner().unwrap_or_else(|p| p.into_inner());
    l.sort();
    let pick = |q: f64| l.get(((l.len() as f64 * q).ceil() as usize).saturating_sub(1)).map_or(0.0, |d| d.as_secs_f64() * 1000.0);
    rep.p50_ms = pick(0.50);
    rep.p99_ms = pick(0.99);
    rep
}
