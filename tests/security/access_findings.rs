//! Red-team findings (access: authorization, consent, labels, audit), each
//! reproduced on a real server on loopback and shown fixed.
#![allow(unused_imports)]

use super::*;

const CONFIDENTIALITY: &str = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality";

fn patch<'a>(who: &As<'a>, path: &str, ops: &str) -> Response {
    who.req(Method::PATCH, path).header("Content-Type", "application/json-patch+json").body(ops.to_string()).send().unwrap()
}

fn labelled(mut r: Value, code: &str) -> Value {
    r["meta"] = json!({"security": [{"system": CONFIDENTIALITY, "code": code}]});
    r
}

fn condition(id: &str, subject: &str, text: &str) -> Value {
    json!({"resourceType": "Condition", "id": id, "code": {"text": text}, "subject": {"reference": subject}, "recordedDate": "2026-01-05"})
}

/// A consent of `patient` that denies everything except the purposes listed.
fn consent_with_purpose(patient: &str, top: &str, nested: &str, purpose: &str) -> Value {
    json!({"resourceType": "Consent", "id": format!("purpose-{patient}"), "status": "active",
        "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy"}]},
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
        "patient": {"reference": format!("Patient/{patient}")},
        "policyRule": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTIN"}]},
        "provision": {"type": top, "provision": [{"type": nested, "purpose": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": purpose}]}]}})
}

/// The text of an answer with its status, for comparing two answers.
fn answer(r: Response) -> (u16, Vec<String>, String) {
    let status = r.status().as_u16();
    let mut headers: Vec<String> = ["etag", "last-modified", "location", "x-careplan-filtered"].iter().filter(|h| r.headers().contains_key(**h)).map(|h| h.to_string()).collect();
    headers.sort();
    (status, headers, r.text().unwrap())
}

#[test]
fn c1_patch_decides_access_before_it_applies_or_validates_anything() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    seed(&admin);
    put(&admin, &condition("cb", "Patient/bob", "SECRET-DIAGNOSIS two falls at night"));
    let mut pa = plan("pa", "Patient/alice", "Goal/ga");
    pa["text"] = json!({"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>SECRET-PLAN of Alice</p></div>"});
    put(&admin, &pa);
    put(&admin, &consent_deny_except_gp("alice"));

    // Another patient's record: a copy into a typed field would have quoted it in a 422.
    let alice = alice_app(&srv, "patient/*.cruds");
    for ops in [r#"[{"op":"copy","from":"/code/text","path":"/recordedDate"}]"#, r#"[{"op":"copy","from":"/code/text","path":"/clinicalStatus/coding/0/code"}]"#] {
        let (status, _, text) = answer(patch(&alice, "Condition/cb", ops));
        assert!(status == 403 || status == 404, "{status} {text}");
        assert!(!text.contains("SECRET"), "{text}");
    }
    // The test op is no oracle: a right and a wrong guess get the same answer.
    let right = answer(patch(&alice, "Condition/cb", r#"[{"op":"test","path":"/subject/reference","value":"Patient/bob"}]"#));
    let wrong = answer(patch(&alice, "Condition/cb", r#"[{"op":"test","path":"/subject/reference","value":"Patient/carol"}]"#));
    assert_eq!(right, wrong);

    // A consent-withheld plan, patched by a clinician the consent denies.
    let locum = staff(&srv, "locum", "user/*.cruds", json!({}));
    let (status, _, text) = answer(patch(&locum, "CarePlan/pa", r#"[{"op":"copy","from":"/text/div","path":"/intent"}]"#));
    assert_eq!(status, 403, "{text}");
    assert!(!text.contains("SECRET"), "{text}");
    let right = answer(patch(&locum, "CarePlan/pa", r#"[{"op":"test","path":"/subject/reference","value":"Patient/alice"}]"#));
    let wrong = answer(patch(&locum, "CarePlan/pa", r#"[{"op":"test","path":"/subject/reference","value":"Patient/bob"}]"#));
    assert_eq!(right, wrong);

    // The GP, whom the consent permits, still gets the validation of what he may read.
    let gp = staff(&srv, "gp", "user/*.cruds", json!({}));
    let (status, _, text) = answer(patch(&gp, "CarePlan/pa", r#"[{"op":"copy","from":"/text/div","path":"/intent"}]"#));
    assert_eq!(status, 422, "{text}");
    assert_eq!(gp.get("CarePlan/pa").json::<Value>().unwrap()["intent"], "plan", "nothing was written");
}

#[test]
fn h2_labels_and_consent_apply_to_resources_outside_the_patient_compartment() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    seed(&admin);
    put(&admin, &consent_deny_except_gp("bob"));
    let task = labelled(
        json!({"resourceType": "Task", "id": "secret-task", "status": "requested", "intent": "order", "for": {"reference": "Patient/bob"},
            "description": "SECRET-TASK: arrange safeguarding visit"}),
        "R",
    );
    put(&admin, &task);
    put(&admin, &labelled(json!({"resourceType": "Practitioner", "id": "secret-v", "name": [{"family": "SECRET-V"}]}), "V"));
    put(&admin, &json!({"resourceType": "Group", "id": "g1", "type": "person", "actual": true}));
    put(&admin, &labelled(observation("group-obs", "Group/g1"), "R"));

    let other = staff(&srv, "other", "user/*.cruds", json!({}));
    let r = other.get("Task/secret-task");
    assert_eq!(r.status(), 403, "bob's consent denies everything but the GP, and the task is labelled R");
    assert!(!r.text().unwrap().contains("SECRET"));
    assert!(!other.get("Task?_count=100").text().unwrap().contains("SECRET"));
    // Another patient does not even learn it exists.
    let alice = alice_app(&srv, "patient/*.rs");
    assert_eq!(alice.get("Task/secret-task").status(), 404);
    assert_eq!(alice.ids("Task?for=Patient/bob"), Vec::<String>::new());
    // Labels that concern no person: withheld unless released by an override.
    assert_eq!(other.ids("Practitioner?name=SECRET-V"), Vec::<String>::new());
    assert_eq!(other.get("Practitioner/secret-v").status(), 403);
    assert_eq!(other.get("Observation/group-obs").status(), 403);
    let dc = staff(&srv, "dc", "user/*.rs", json!({"careplan_role": ["data-controller"]}));
    let released = dc.req(Method::GET, "Practitioner/secret-v").header("X-Careplan-Purpose-Of-Use", "BTG").header("X-Careplan-Override-Reason", "safeguarding review").send().unwrap();
    assert_eq!(released.status(), 200);
    // The GP, whom bob's consent permits, still needs a permit naming the label.
    assert_eq!(staff(&srv, "gp", "user/*.rs", json!({})).get("Task/secret-task").status(), 403);
}

#[test]
fn h3_a_label_added_later_protects_the_earlier_versions() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    seed(&admin);
    let mut g = goal("ga", "Patient/alice");
    g["description"] = json!({"text": "SECRET-GOAL cut down to 10 a day"});
    put(&admin, &g);
    put(&admin, &labelled(g.clone(), "R"));
    let other = staff(&srv, "other", "user/*.rs", json!({}));
    assert_eq!(other.get("Goal/ga").status(), 403);
    for v in 1..=2 {
        let r = other.get(&format!("Goal/ga/_history/{v}"));
        assert_eq!(r.status(), 403, "version {v}");
        assert!(!r.text().unwrap().contains("SECRET"));
    }
    let history = other.get("Goal/ga/_history").text().unwrap();
    assert!(!history.contains("SECRET") && !history.contains("Walk"), "{history}");
    assert!(!other.get("_history?_count=100").text().unwrap().contains("SECRET"));
    // Alice herself still reads every version.
    assert_eq!(alice_app(&srv, "patient/*.rs").get("Goal/ga/_history/1").status(), 200);
}

#[test]
fn h4_purpose_of_use_comes_from_the_token_and_the_header_only_narrows_it() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    seed(&admin);
    // Bob: only for emergency treatment. Alice: never for marketing.
    put(&admin, &consent_with_purpose("bob", "deny", "permit", "ETREAT"));
    put(&admin, &consent_with_purpose("alice", "permit", "deny", "HMARKT"));
    let other = staff(&srv, "other", "user/*.rs", json!({}));
    assert_eq!(other.get("CarePlan/pb").status(), 403);
    let asked = other.req(Method::GET, "CarePlan/pb").header("X-Careplan-Purpose-Of-Use", "ETREAT").send().unwrap();
    assert_eq!(asked.status(), 403, "a purpose the token does not carry is not taken on the client's word");
    assert!(asked.text().unwrap().contains("purpose of use"));
    // A token that carries both purposes may narrow to one of them.
    let er = staff(&srv, "er", "user/*.rs", json!({"purpose_of_use": ["TREAT", "ETREAT"]}));
    assert_eq!(er.get("CarePlan/pb").status(), 403, "its first purpose, TREAT, is not permitted");
    assert_eq!(er.req(Method::GET, "CarePlan/pb").header("X-Careplan-Purpose-Of-Use", "ETREAT").send().unwrap().status(), 200);
    // A marketing token cannot pass as treatment.
    let marketing = staff(&srv, "m", "user/*.rs", json!({"purpose_of_use": "HMARKT"}));
    assert_eq!(marketing.get("CarePlan/pa").status(), 403);
    assert_eq!(marketing.req(Method::GET, "CarePlan/pa").header("X-Careplan-Purpose-Of-Use", "TREAT").send().unwrap().status(), 403);
    assert_eq!(staff(&srv, "t", "user/*.rs", json!({"purpose_of_use": "TREAT"})).get("CarePlan/pa").status(), 200);
}

#[test]
fn h5_searches_and_conditional_writes_of_a_patient_token_see_only_its_record() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    seed(&admin);
    let mut cb = condition("cb", "Patient/bob", "Falls");
    cb["code"]["coding"] = json!([{"system": "http://snomed.info/sct", "code": "129839007"}]);
    put(&admin, &cb);
    for i in 0..3 {
        put(&admin, &condition(&format!("cb{i}"), "Patient/bob", "Other"));
    }
    put(&admin, &observation("ob", "Patient/bob"));
    let alice = alice_app(&srv, "patient/*.cruds");

    // Counts, notes and next links say nothing of bob's record.
    let b = alice.bundle("Condition?subject=Patient/bob&_count=1");
    assert!(b.get("entry").is_none() && b["total"] == 0, "{b}");
    assert!(!b["link"].as_array().unwrap().iter().any(|l| l["relation"] == "next"), "{b}");
    let history = alice.bundle("Condition/_history?_count=1");
    assert!(!history["link"].as_array().unwrap().iter().any(|l| l["relation"] == "next") && history.get("total").is_none(), "{history}");
    let all = alice.bundle("Condition?_count=1000");
    assert_eq!(ids_of(&all), vec!["Condition/ca"]);
    assert!(!all.to_string().contains("not shown"), "{all}");
    // A conditional reference is no oracle: a code bob has and one he has not get the same answer.
    let tx = |code: &str| {
        json!({"resourceType": "Bundle", "type": "transaction", "entry": [{"fullUrl": "urn:uuid:7a1f2a3c-0000-4000-8000-000000000001",
            "resource": {"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "subject": {"reference": "Patient/alice"},
                "focus": [{"reference": format!("Condition?subject=Patient/bob&code=http://snomed.info/sct|{code}")}]}, "request": {"method": "POST", "url": "Observation"}}]})
    };
    let has = answer(alice.send(Method::POST, "", &tx("129839007")));
    let has_not = answer(alice.send(Method::POST, "", &tx("1")));
    assert_eq!((has.0, has.1.clone()), (has_not.0, has_not.1.clone()));
    assert!(!has.2.contains("cb"), "{}", has.2);
    // If-None-Exist on bob's observation: nothing of his is named, alice's own observation is created.
    let mut mine = observation("x", "Patient/alice");
    mine.as_object_mut().unwrap().remove("id");
    let r = alice.req(Method::POST, "Observation").header("Content-Type", "application/fhir+json").header("If-None-Exist", "_id=ob").body(mine.to_string()).send().unwrap();
    assert_eq!(r.status(), 201);
    assert!(!header(&r, "location").contains("/ob/"));
    let r = alice.req(Method::POST, "Observation").header("Content-Type", "application/fhir+json").header("If-None-Exist", "subject=Patient/bob").body(mine.to_string()).send().unwrap();
    assert_eq!(r.status(), 201, "no 'matches more than one' about bob's record");
    // A conditional update whose criteria name bob's condition does not find it.
    let r = alice.send(Method::PUT, "Condition?subject=Patient/bob&_id=cb", &json!({"resourceType": "Condition", "code": {"text": "mine"}, "subject": {"reference": "Patient/alice"}}));
    let (status, headers, text) = answer(r);
    assert!(!text.contains("Condition/cb") && !text.contains("more than one"), "{status} {headers:?} {text}");
    assert_eq!(admin.get("Condition/cb").json::<Value>().unwrap()["code"]["text"], "Falls");
    // A user token and a consent-withheld match: refused, without the match's id, version or date.
    put(&admin, &consent_deny_except_gp("bob"));
    let other = staff(&srv, "other", "user/*.cruds", json!({}));
    let mut plan_c = plan("x", "Patient/bob", "Goal/gb");
    plan_c.as_object_mut().unwrap().remove("id");
    let r = other.req(Method::POST, "CarePlan").header("Content-Type", "application/fhir+json").header("If-None-Exist", "subject=Patient/bob").body(plan_c.to_string()).send().unwrap();
    let (status, headers, text) = answer(r);
    assert_eq!(status, 403, "{text}");
    assert!(!headers.iter().any(|h| h == "location" || h == "etag") && !text.contains("pb"), "{headers:?} {text}");
}

#[test]
fn h6_every_write_is_audited_with_its_resources_and_persons_in_its_own_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let mut srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    seed(&admin);
    let auditor = As { srv: &srv, token: token("auditor", "user/AuditEvent.rs", json!({})) };
    let events = |query: &str| auditor.bundle(&format!("AuditEvent?{query}&_count=100"))["entry"].as_array().map_or(0, |e| e.len());
    // A transaction with return=minimal: the response shows nothing, the audit names it all.
    let tx = json!({"resourceType": "Bundle", "type": "transaction", "entry": [{"fullUrl": "urn:uuid:8b1f2a3c-0000-4000-8000-000000000001",
        "resource": observation("x", "Patient/alice"), "request": {"method": "POST", "url": "Observation"}}]});
    let mut tx = tx;
    tx["entry"][0]["resource"].as_object_mut().unwrap().remove("id");
    let r = admin.req(Method::POST, "").header("Content-Type", "application/fhir+json").header("Prefer", "return=minimal").body(tx.to_string()).send().unwrap();
    assert_eq!(r.status(), 200);
    let location = r.json::<Value>().unwrap()["entry"][0]["response"]["location"].as_str().unwrap().to_string();
    let key = location.split("/_history").next().unwrap().to_string();
    assert_eq!(events(&format!("entity={key}")), 1, "{key}");
    let before = events("patient=Patient/alice");
    assert!(before >= 1);
    // A transaction delete names what it deleted and whose it was.
    let del = json!({"resourceType": "Bundle", "type": "transaction", "entry": [{"request": {"method": "DELETE", "url": key}}]});
    assert_eq!(admin.send(Method::POST, "", &del).status(), 200);
    assert_eq!(events(&format!("entity={key}")), 2);
    assert!(events("patient=Patient/alice") > before);

    // Killed hard in the middle of a burst: every write that committed has its AuditEvent.
    let database = srv.database.clone();
    let base = srv.base.clone();
    let admin_token = admin.token.clone();
    drop(auditor);
    drop(admin);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let (base, token, stop) = (base.clone(), admin_token.clone(), stop.clone());
            std::thread::spawn(move || {
                let client = reqwest::blocking::Client::builder().timeout(std::time::Duration::from_secs(10)).build().unwrap();
                for i in 0..200 {
                    if stop.load(std::sync::atomic::Ordering::SeqCst) {
                        break;
                    }
                    let body = json!({"resourceType": "Observation", "id": format!("burst-{w}-{i}"), "status": "final", "code": {"text": "burst"}, "subject": {"reference": "Patient/alice"}});
                    if client.put(format!("{base}/Observation/burst-{w}-{i}")).bearer_auth(&token).header("Content-Type", "application/fhir+json").body(body.to_string()).send().is_err() {
                        break;
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    srv.kill_hard();
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    for w in workers {
        let _ = w.join();
    }
    let again = Server::start_on(&database, "127.0.0.1:0", &start_args(), &[]);
    let admin = As { srv: &again, token: admin_token };
    let written = admin.ids("Observation?code:text=burst&_count=1000");
    assert!(!written.is_empty(), "some writes committed before the kill");
    let auditor = As { srv: &again, token: token("auditor", "user/AuditEvent.rs", json!({})) };
    for key in &written {
        let n = auditor.bundle(&format!("AuditEvent?entity={key}&_count=10"))["entry"].as_array().map_or(0, |e| e.len());
        assert!(n >= 1, "{key} was written but not audited");
    }
}

/// The arguments `start` gives a server (for one started again on the same database).
fn start_args() -> Vec<&'static str> {
    let jwks: &'static str = Box::leak(format!("jwks:{}", keys().join("test-only-jwks.json").display()).into_boxed_str());
    vec!["--auth", jwks, "--auth-issuer", ISSUER, "--auth-audience", AUDIENCE]
}

#[test]
fn m2_a_patient_token_writes_only_into_its_own_record() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    seed(&admin);
    let alice = alice_app(&srv, "patient/*.cruds");
    let mut obs = observation("x", "Patient/bob");
    obs.as_object_mut().unwrap().remove("id");
    obs["performer"] = json!([{"reference": "Patient/alice"}]);
    let r = alice.send(Method::POST, "Observation", &obs);
    assert_eq!(r.status(), 403, "{}", r.text().unwrap());
    let mut cp = plan("x", "Patient/bob", "Goal/gb");
    cp.as_object_mut().unwrap().remove("id");
    cp["activity"] = json!([{"detail": {"status": "not-started", "performer": [{"reference": "Patient/alice"}]}}]);
    assert_eq!(alice.send(Method::POST, "CarePlan", &cp).status(), 403);
    assert_eq!(admin.ids("Observation?subject=Patient/bob"), Vec::<String>::new());
    // Her own record she may still write.
    let mut own = observation("x", "Patient/alice");
    own.as_object_mut().unwrap().remove("id");
    assert_eq!(alice.send(Method::POST, "Observation", &own).status(), 201);
}

#[test]
fn m3_if_none_match_answers_only_for_what_the_reader_may_see() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    seed(&admin);
    put(&admin, &consent_deny_except_gp("bob"));
    let alice = alice_app(&srv, "patient/*.rs");
    for tag in ["*", "W/\"1\"", "W/\"2\""] {
        let r = alice.req(Method::GET, "CarePlan/pb").header("If-None-Match", tag).send().unwrap();
        let (status, headers, _) = answer(r);
        assert_eq!((status, headers), (404, vec![]), "If-None-Match: {tag}");
        let r = alice.req(Method::GET, "CarePlan/pb/_history/1").header("If-None-Match", tag).send().unwrap();
        assert_eq!(answer(r).0, 404);
    }
    let other = staff(&srv, "other", "user/*.rs", json!({}));
    let r = other.req(Method::GET, "CarePlan/pb").header("If-None-Match", "*").send().unwrap();
    let (status, headers, _) = answer(r);
    assert_eq!(status, 403);
    assert!(!headers.iter().any(|h| h == "etag" || h == "last-modified"), "{headers:?}");
    // What the reader may see still answers 304.
    assert_eq!(alice.req(Method::GET, "CarePlan/pa").header("If-None-Match", "W/\"1\"").send().unwrap().status(), 304);
}

#[test]
fn m4_counts_leave_out_what_consent_withholds_and_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    seed(&admin);
    for i in 0..4 {
        put(&admin, &condition(&format!("cb{i}"), "Patient/bob", "Something"));
    }
    put(&admin, &consent_deny_except_gp("bob"));
    let other = staff(&srv, "other", "user/*.rs", json!({}));
    let r = other.get("Condition?subject=Patient/bob&_summary=count");
    assert_eq!(header(&r, "x-careplan-filtered"), "true");
    assert_eq!(r.json::<Value>().unwrap()["total"], 0);
    let gp = staff(&srv, "gp", "user/*.rs", json!({}));
    assert_eq!(gp.bundle("Condition?subject=Patient/bob&_summary=count")["total"], 4);
    assert_eq!(other.bundle("Condition?subject=Patient/bob")["total"], 0, "a search's total too");
}

#[test]
fn m5_a_consent_is_written_by_the_person_their_representative_or_the_data_controller() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    seed(&admin);
    put(&admin, &consent_deny_except_gp("bob"));
    let other = staff(&srv, "other", "user/*.cruds", json!({}));
    let mut grant = consent_deny_except_gp("bob");
    grant["id"] = json!("self-granted");
    grant["provision"] = json!({"type": "permit", "provision": [{"type": "deny", "provision": [{"type": "permit", "actor": [{"role": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "PRCP"}]}, "reference": {"reference": "Practitioner/other"}}]}]}]});
    let r = other.send(Method::PUT, "Consent/self-granted", &grant);
    assert_eq!(r.status(), 403, "{}", r.text().unwrap());
    assert_eq!(other.get("CarePlan/pb").status(), 403, "still withheld");
    // Nor may it change or delete bob's own consent.
    assert_eq!(other.req(Method::DELETE, "Consent/consent-bob").send().unwrap().status(), 403);
    // Bob himself, his representative, and the data controller may.
    let bob = As { srv: &srv, token: token("bob", "patient/Consent.cruds", json!({"patient": "bob", "fhirUser": "Patient/bob"})) };
    assert_eq!(bob.send(Method::PUT, "Consent/self-granted", &grant).status(), 201);
    put(&admin, &json!({"resourceType": "RelatedPerson", "id": "bobs-daughter", "patient": {"reference": "Patient/bob"}, "name": [{"family": "Bobson"}]}));
    let daughter = As { srv: &srv, token: token("daughter", "user/Consent.cruds", json!({"fhirUser": "RelatedPerson/bobs-daughter"})) };
    assert_eq!(daughter.send(Method::PUT, "Consent/self-granted", &grant).status(), 200);
    let stranger = As { srv: &srv, token: token("stranger", "user/Consent.cruds", json!({"fhirUser": "RelatedPerson/nobody"})) };
    assert_eq!(stranger.send(Method::PUT, "Consent/self-granted", &grant).status(), 403);
    let dc = staff(&srv, "dc", "user/*.cruds", json!({"careplan_role": ["data-controller"]}));
    assert_eq!(dc.req(Method::DELETE, "Consent/self-granted").send().unwrap().status(), 200);
}

#[test]
fn m6_a_patient_reads_only_the_audit_events_of_their_own_record() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    seed(&admin);
    put(&admin, &condition("cb", "Patient/bob", "Bob's"));
    let gp = staff(&srv, "gp", "user/*.rs", json!({}));
    assert_eq!(gp.get("Condition?_count=100").status(), 200);
    let alice = alice_app(&srv, "patient/*.rs patient/AuditEvent.rs");
    assert_eq!(alice.get("Condition/ca").status(), 200);
    let events = alice.bundle("AuditEvent?_count=1000");
    let list = events["entry"].as_array().cloned().unwrap_or_default();
    assert!(!list.is_empty(), "her own reads are hers to see");
    let text = events.to_string();
    assert!(!text.contains("Patient/bob") && !text.contains("Condition/cb"), "{text}");
}

#[test]
fn m7_a_patient_sees_only_the_places_and_people_of_their_own_record() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    seed(&admin);
    for (id, name) in [("bobs-flat", "Bob's flat, Easton"), ("alices-home", "Alice's home")] {
        put(&admin, &json!({"resourceType": "Location", "id": id, "name": name}));
    }
    put(&admin, &json!({"resourceType": "Practitioner", "id": "bobs-carer", "name": [{"family": "Carer"}]}));
    let mut pb = plan("pb", "Patient/bob", "Goal/gb");
    pb["activity"] = json!([{"detail": {"status": "in-progress", "location": {"reference": "Location/bobs-flat"}, "performer": [{"reference": "Practitioner/bobs-carer"}]}}]);
    put(&admin, &pb);
    let mut pa = plan("pa", "Patient/alice", "Goal/ga");
    pa["activity"] = json!([{"detail": {"status": "in-progress", "location": {"reference": "Location/alices-home"}}}]);
    put(&admin, &pa);
    let alice = alice_app(&srv, "patient/*.rs");
    assert_eq!(alice.ids("Location?_count=100"), vec!["Location/alices-home"]);
    assert_eq!(alice.get("Location/bobs-flat").status(), 404);
    assert_eq!(alice.get("Practitioner/bobs-carer").status(), 404);
    assert!(!alice.ids("Practitioner?_count=100").contains(&"Practitioner/bobs-carer".to_string()));
    assert_eq!(alice.get("Location/alices-home").status(), 200);
    assert_eq!(alice.get("Practitioner/gp").status(), 200, "her plan's author");
    // Clinicians read the directory as before.
    assert_eq!(staff(&srv, "gp", "user/*.rs", json!({})).get("Location/bobs-flat").status(), 200);
}

#[test]
fn m12_transaction_reads_and_conditional_creates_tell_nothing_of_hidden_resources() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    seed(&admin);
    put(&admin, &consent_deny_except_gp("bob"));
    let tx = json!({"resourceType": "Bundle", "type": "transaction", "entry": [{"request": {"method": "GET", "url": "CarePlan/pb"}}]});
    for who in [staff(&srv, "other", "user/*.cruds", json!({})), alice_app(&srv, "patient/*.cruds")] {
        let body: Value = who.send(Method::POST, "", &tx).json().unwrap();
        let response = &body["entry"][0]["response"];
        assert!(response.get("etag").is_none() && response.get("lastModified").is_none() && body["entry"][0].get("resource").is_none(), "{body}");
        assert!(!response["status"].as_str().unwrap().starts_with("200"), "{body}");
    }
    // If-None-Exist on a hidden match in a transaction: no Location, no "the write was done".
    let other = staff(&srv, "other", "user/*.cruds", json!({}));
    let mut cp = plan("x", "Patient/bob", "Goal/gb");
    cp.as_object_mut().unwrap().remove("id");
    let tx = json!({"resourceType": "Bundle", "type": "transaction", "entry": [{"fullUrl": "urn:uuid:9c1f2a3c-0000-4000-8000-000000000001", "resource": cp,
        "request": {"method": "POST", "url": "CarePlan", "ifNoneExist": "subject=Patient/bob"}}]});
    let r = other.send(Method::POST, "", &tx);
    let (status, headers, text) = answer(r);
    assert_eq!(status, 403, "{text}");
    assert!(!text.contains("CarePlan/pb") && !text.contains("write was done") && !headers.contains(&"location".to_string()), "{text}");
}

#[test]
fn l5_another_patients_resource_answers_as_a_missing_one() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    seed(&admin);
    let alice = alice_app(&srv, "patient/*.cruds");
    // (path, id) of a hidden resource and of a missing one: the same answer, but for the id.
    let same = |(a, ida): (&str, &str), (b, idb): (&str, &str)| {
        let (ra, rb) = (answer(alice.get(a)), answer(alice.get(b)));
        assert_eq!((ra.0, ra.1), (rb.0, rb.1), "{a} / {b}");
        assert_eq!(ra.2.replace(ida, "X"), rb.2.replace(idb, "X"), "{a} / {b}");
    };
    same(("Patient/bob", "bob"), ("Patient/nobody", "nobody"));
    same(("Patient/bob/_history", "bob"), ("Patient/nobody/_history", "nobody"));
    same(("Patient/bob/_history/1", "bob"), ("Patient/nobody/_history/1", "nobody"));
    let del = |path: &str| answer(alice.req(Method::DELETE, path).send().unwrap());
    let (a, b) = (del("Goal/gb"), del("Goal/nobody"));
    assert_eq!((a.0, a.1), (b.0, b.1));
    assert_eq!(a.2.replace("gb", "X"), b.2.replace("nobody", "X"));
    assert_eq!(admin.get("Goal/gb").status(), 200, "and nothing was deleted");
    // A deleted resource of another patient does not answer 410 either.
    assert_eq!(admin.req(Method::DELETE, "Goal/gb").send().unwrap().status(), 200);
    same(("Goal/gb", "gb"), ("Goal/nobody", "nobody"));
}
