//! Access control of `careplan serve`, against the real server over HTTP:
//! tokens (RS256 from a JWKS file, HS256), SMART scopes × interactions ×
//! resource types, the patient compartment (also through `_include`,
//! `_revinclude`, chains, histories and transaction responses), consent,
//! override, the audit trail and input limits.
//!
//! The RSA keys under tests/keys/ are test-only material.

mod common;
mod server_support;

use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use reqwest::blocking::{RequestBuilder, Response};
use reqwest::Method;
use serde_json::{json, Value};
use server_support::tokens::{claims, keys, now, rs256, signed_with, start, token, AUDIENCE, ISSUER};
use server_support::{texts, Server};
use std::path::PathBuf;

const SECRET: &str = "test-only-hs256-secret-0123456789abcdef";

struct As<'a> {
    srv: &'a Server,
    token: String,
}

impl As<'_> {
    fn req(&self, method: Method, path: &str) -> RequestBuilder {
        self.srv.client.request(method, self.srv.url(path)).bearer_auth(&self.token)
    }
    fn get(&self, path: &str) -> Response {
        self.req(Method::GET, path).send().unwrap()
    }
    fn send(&self, method: Method, path: &str, body: &Value) -> Response {
        self.req(method, path).header("Content-Type", "application/fhir+json").body(serde_json::to_vec(body).unwrap()).send().unwrap()
    }
    fn bundle(&self, path: &str) -> Value {
        let r = self.get(path);
        let status = r.status();
        let b: Value = r.json().unwrap();
        assert_eq!(status, 200, "GET {path}: {b}");
        b
    }
    /// `Type/id` of the resources of a Bundle (outcome entries left out).
    fn ids(&self, path: &str) -> Vec<String> {
        ids_of(&self.bundle(path))
    }
}

fn ids_of(b: &Value) -> Vec<String> {
    let mut v: Vec<String> = b["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e.get("resource"))
        .filter(|r| r["resourceType"] != "OperationOutcome")
        .map(|r| format!("{}/{}", r["resourceType"].as_str().unwrap(), r["id"].as_str().unwrap()))
        .collect();
    v.sort();
    v.dedup();
    v
}

fn header(r: &Response, name: &str) -> String {
    r.headers().get(name).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
}

fn patient(id: &str, family: &str) -> Value {
    json!({"resourceType": "Patient", "id": id, "name": [{"family": family, "given": ["Test"]}], "gender": "female", "birthDate": "1950-03-01"})
}

fn goal(id: &str, subject: &str) -> Value {
    json!({"resourceType": "Goal", "id": id, "lifecycleStatus": "active", "description": {"text": "Walk"}, "subject": {"reference": subject}})
}

fn plan(id: &str, subject: &str, goal: &str) -> Value {
    json!({"resourceType": "CarePlan", "id": id, "status": "active", "intent": "plan", "subject": {"reference": subject}, "period": {"start": "2026-01-01"}, "goal": [{"reference": goal}],
           "author": {"reference": "Practitioner/gp"}})
}

fn restricted_condition(id: &str, subject: &str) -> Value {
    json!({"resourceType": "Condition", "id": id, "meta": {"security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R"}]},
           "code": {"text": "Sensitive"}, "subject": {"reference": subject}})
}

fn put(who: &As, r: &Value) {
    let path = format!("{}/{}", r["resourceType"].as_str().unwrap(), r["id"].as_str().unwrap());
    let resp = who.send(Method::PUT, &path, r);
    let status = resp.status();
    assert!(status == 200 || status == 201, "PUT {path}: {status} {}", resp.text().unwrap());
}

/// Alice and Bob, each with a goal and a plan; Practitioners; a restricted condition of Alice's.
fn seed(admin: &As) {
    for r in [
        patient("alice", "Alison"),
        patient("bob", "Bobson"),
        json!({"resourceType": "Practitioner", "id": "gp", "name": [{"family": "Doctor"}]}),
        goal("ga", "Patient/alice"),
        goal("gb", "Patient/bob"),
        plan("pa", "Patient/alice", "Goal/ga"),
        plan("pb", "Patient/bob", "Goal/gb"),
        restricted_condition("ca", "Patient/alice"),
    ] {
        put(admin, &r);
    }
}

/// Alice's app: a patient-scoped token whose person is Alice.
fn alice_app<'a>(srv: &'a Server, scope: &str) -> As<'a> {
    As { srv, token: token("alice-app", scope, json!({"patient": "alice", "fhirUser": "Patient/alice"})) }
}

/// A clinician (`fhirUser` Practitioner/WHO) with a user-level scope and more claims.
fn staff<'a>(srv: &'a Server, who: &str, scope: &str, more: Value) -> As<'a> {
    let mut extra = json!({"fhirUser": format!("Practitioner/{who}")});
    for (k, v) in more.as_object().unwrap() {
        extra[k] = v.clone();
    }
    As { srv, token: token(who, scope, extra) }
}

fn observation(id: &str, subject: &str) -> Value {
    json!({"resourceType": "Observation", "id": id, "status": "final", "code": {"text": "Weight"}, "subject": {"reference": subject}})
}

/// How many AuditEvents the server holds (read, and so audited, once more).
fn audit_count(srv: &Server) -> u64 {
    let auditor = As { srv, token: token("auditor", "user/AuditEvent.rs", json!({})) };
    auditor.bundle("AuditEvent?_summary=count")["total"].as_u64().unwrap()
}

/// A PRSB plan stored with `$from-prsb?store=true` by `who`.
fn store_plan(who: &As, plan: &Value) -> Response {
    who.req(Method::POST, "$from-prsb?store=true").header("Content-Type", "application/json").body(plan.to_string()).send().unwrap()
}

/// A plan's `person`, born on the seed's date.
fn prsb_person(name: &str, nhs: &str) -> Value {
    json!({"name": name, "nhsNumber": nhs, "birthDate": "1950-03-01"})
}

/// One of the PRSB examples (`examples/prsb/NAME.json`).
fn prsb_example(name: &str) -> Value {
    serde_json::from_slice(&std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("examples/prsb/{name}.json"))).unwrap()).unwrap()
}

fn admin(srv: &Server) -> As<'_> {
    As { srv, token: token("admin", "system/*.cruds", json!({})) }
}

#[test]
fn tokens_are_checked_and_a_server_without_auth_or_open_does_not_start() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    // /metadata is public and names SMART.
    let m: Value = srv.get("metadata").json().unwrap();
    assert_eq!(m["rest"][0]["security"]["service"][0]["coding"][0]["code"], "SMART-on-FHIR");
    assert!(!m["rest"][0]["security"]["description"].as_str().unwrap().starts_with("OPEN MODE"));

    let read = |t: Option<&str>| {
        let mut r = srv.client.get(srv.url("Patient"));
        if let Some(t) = t {
            r = r.bearer_auth(t);
        }
        r.send().unwrap()
    };
    let good = claims("u1", "user/*.rs", json!({}));
    assert_eq!(read(Some(&rs256(&good))).status(), 200);
    let mut cases: Vec<(&str, String)> = vec![("no token", String::new())];
    cases.push(("signed by a key the server does not trust", signed_with("test-only-other.key.pem", "test-key-1", &good)));
    let mut expired = good.clone();
    expired["exp"] = json!(now() - 120);
    cases.push(("expired", rs256(&expired)));
    let mut early = good.clone();
    early["nbf"] = json!(now() + 300);
    cases.push(("not valid yet", rs256(&early)));
    let mut other_aud = good.clone();
    other_aud["aud"] = json!("https://elsewhere.test");
    cases.push(("another audience", rs256(&other_aud)));
    let mut other_iss = good.clone();
    other_iss["iss"] = json!("https://evil.test");
    cases.push(("another issuer", rs256(&other_iss)));
    let mut no_exp = good.clone();
    no_exp.as_object_mut().unwrap().remove("exp");
    cases.push(("no exp", rs256(&no_exp)));
    cases.push(("HS256 on an RS256 server", encode(&Header::new(Algorithm::HS256), &good, &EncodingKey::from_secret(SECRET.as_bytes())).unwrap()));
    cases.push(("patient scopes without a patient", rs256(&claims("u1", "patient/*.read", json!({})))));
    cases.push(("garbage", "not.a.jwt".into()));
    for (what, t) in &cases {
        let r = read(if t.is_empty() { None } else { Some(t) });
        assert_eq!(r.status(), 401, "{what}");
        assert!(header(&r, "www-authenticate").starts_with("Bearer"), "{what}");
        assert_eq!(r.json::<Value>().unwrap()["resourceType"], "OperationOutcome");
    }

    // HS256 for local use.
    let dir2 = tempfile::tempdir().unwrap();
    let hs = Server::start_on(&dir2.path().join("careplan.db"), "127.0.0.1:0", &["--auth", "hs256:env:TEST_SECRET"], &[("TEST_SECRET", SECRET)]);
    let t = encode(&Header::new(Algorithm::HS256), &claims("u2", "user/Patient.rs", json!({})), &EncodingKey::from_secret(SECRET.as_bytes())).unwrap();
    assert_eq!(hs.client.get(hs.url("Patient")).bearer_auth(&t).send().unwrap().status(), 200);
    assert_eq!(hs.client.get(hs.url("Patient")).bearer_auth(rs256(&good)).send().unwrap().status(), 401);

    // Neither --auth nor --open: the server refuses to start, and says why.
    let out = common::careplan().args(["serve", "--offline", "--address", "127.0.0.1:0", "--database"]).arg(dir.path().join("x.db")).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--open"), "{}", String::from_utf8_lossy(&out.stderr));
    // A short HS256 secret is refused.
    let out = common::careplan().args(["serve", "--offline", "--auth", "hs256:short", "--database"]).arg(dir.path().join("y.db")).output().unwrap();
    assert_eq!(out.status.code(), Some(2));

    // Open mode says so loudly, at start and in /metadata.
    std::fs::create_dir_all(dir.path().join("open")).unwrap();
    let open = Server::start(&dir.path().join("open"), &["--open"]);
    assert!(open.log_text().contains("OPEN MODE"), "{}", open.log_text());
    let m: Value = open.get("metadata").json().unwrap();
    assert!(m["rest"][0]["security"]["description"].as_str().unwrap().starts_with("OPEN MODE"));
    assert_eq!(open.get("Patient").status(), 200);
}

/// The matrix: scopes × interactions × resource types, with the negative cells.
#[test]
fn scopes_and_the_patient_compartment_decide_every_interaction() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    seed(&admin);
    let alice = |scope: &str| As { srv: &srv, token: token("alice-app", scope, json!({"patient": "alice", "fhirUser": "Patient/alice"})) };
    let user = |scope: &str| As { srv: &srv, token: token("clinician", scope, json!({"fhirUser": "Practitioner/gp"})) };

    // (scope, method, path, expected status)
    let cells: &[(&str, &str, &str, u16)] = &[
        ("patient/CarePlan.read", "GET", "CarePlan/pa", 200),
        ("patient/CarePlan.read", "GET", "CarePlan/pb", 404),
        ("patient/CarePlan.read", "GET", "CarePlan/pa/_history/1", 200),
        ("patient/CarePlan.read", "GET", "CarePlan/pb/_history/1", 404),
        ("patient/CarePlan.read", "GET", "Goal/ga", 403),
        ("patient/CarePlan.read", "DELETE", "CarePlan/pa", 403),
        ("patient/CarePlan.read", "GET", "CarePlan?_summary=count", 403),
        ("patient/CarePlan.rs", "GET", "CarePlan/pa", 200),
        ("patient/CarePlan.r", "GET", "CarePlan", 403),
        ("patient/CarePlan.s", "GET", "CarePlan/pa", 403),
        ("patient/*.read", "GET", "Patient/alice", 200),
        ("patient/*.read", "GET", "Patient/bob", 404),
        ("patient/*.read", "GET", "Practitioner/gp", 200),
        ("patient/*.read", "GET", "AuditEvent", 403),
        ("patient/*.*", "DELETE", "Goal/gb", 200),
        ("user/CarePlan.read", "GET", "CarePlan/pb", 200),
        ("user/CarePlan.read", "GET", "Patient/bob", 403),
        ("user/CarePlan.read", "DELETE", "CarePlan/pb", 403),
        ("user/CarePlan.cruds", "GET", "CarePlan/pb", 200),
        ("user/*.rs", "GET", "AuditEvent", 403),
        ("user/AuditEvent.rs", "GET", "AuditEvent", 200),
        ("system/*.cruds", "DELETE", "AuditEvent/x", 405),
        ("system/AuditEvent.cruds", "DELETE", "AuditEvent/x", 405),
        ("openid fhirUser", "GET", "CarePlan/pa", 403),
    ];
    for (scope, method, path, want) in cells {
        let who = if scope.starts_with("patient/") { alice(scope) } else { user(scope) };
        let r = who.req(Method::from_bytes(method.as_bytes()).unwrap(), path).send().unwrap();
        let status = r.status().as_u16();
        let body: Value = r.json().unwrap_or(Value::Null);
        assert_eq!(status, *want, "{scope}: {method} {path}: {body}");
        if status >= 400 {
            assert_eq!(body["resourceType"], "OperationOutcome", "{scope}: {method} {path}");
        }
    }

    // Searches, includes, chains and histories give a patient-scoped token its own compartment only.
    let a = alice("patient/CarePlan.read patient/Goal.read patient/Patient.read");
    assert_eq!(a.ids("CarePlan"), vec!["CarePlan/pa"]);
    assert_eq!(a.bundle("CarePlan")["total"], 1, "the total counts her own plans only");
    assert_eq!(a.ids("CarePlan?_include=CarePlan:goal"), vec!["CarePlan/pa", "Goal/ga"]);
    assert_eq!(a.ids("CarePlan?_id=pb&_include=CarePlan:goal"), Vec::<String>::new());
    assert_eq!(a.ids("Goal?_revinclude=CarePlan:goal"), vec!["CarePlan/pa", "Goal/ga"]);
    assert_eq!(a.ids("CarePlan?subject:Patient.name=Bobson"), Vec::<String>::new());
    assert_eq!(a.ids("CarePlan?subject=Patient/bob"), Vec::<String>::new());
    assert_eq!(a.ids("Patient?_revinclude=CarePlan:subject"), vec!["CarePlan/pa", "Patient/alice"]);
    assert_eq!(a.ids("CarePlan/_history"), vec!["CarePlan/pa"]);
    // Other people's records are not searched at all, so nothing tells of them.
    let r = a.get("CarePlan?_include=CarePlan:goal&_include=CarePlan:subject");
    assert_eq!(header(&r, "x-careplan-filtered"), "", "nothing of hers was left out");
    let b: Value = r.json().unwrap();
    assert!(!b["entry"].as_array().unwrap().iter().any(|e| e["search"]["mode"] == "outcome"));
    assert_eq!(ids_of(&b), vec!["CarePlan/pa", "Goal/ga", "Patient/alice"]);
    // The system history needs a scope on every type; with one, the token's compartment only.
    assert_eq!(alice("patient/CarePlan.read").get("_history").status(), 403);
    let all = alice("patient/*.read").ids("_history");
    assert!(all.contains(&"CarePlan/pa".to_string()) && !all.iter().any(|k| k.ends_with("/pb") || k.ends_with("/gb") || k == "Patient/bob"), "{all:?}");

    // A transaction's response carries nothing of another person.
    let tx = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"request": {"method": "GET", "url": "CarePlan/pb"}},
        {"request": {"method": "GET", "url": "CarePlan?subject=Patient/bob"}},
        {"request": {"method": "GET", "url": "CarePlan/pa"}}]});
    let r = a.send(Method::POST, "", &tx);
    let body: Value = r.json().unwrap();
    let text = body.to_string();
    assert!(!text.contains("Patient/bob") && !text.contains("\"pb\""), "{text}");
    assert!(body["entry"][0]["response"]["status"].as_str().unwrap().starts_with("404"), "as if it did not exist: {body}");
    assert!(body["entry"][0]["response"].get("etag").is_none(), "{body}");
    assert_eq!(body["entry"][2]["resource"]["id"], "pa");
    // A batch entry is refused on its own.
    let batch = json!({"resourceType": "Bundle", "type": "batch", "entry": [{"request": {"method": "GET", "url": "CarePlan/pb"}}, {"request": {"method": "GET", "url": "CarePlan/pa"}}]});
    let body: Value = a.send(Method::POST, "", &batch).json().unwrap();
    assert!(body["entry"][0]["response"]["status"].as_str().unwrap().starts_with("404"), "{body}");
    assert_eq!(body["entry"][1]["resource"]["id"], "pa");

    // Writes: into the token's compartment only, by single request or transaction.
    let w = alice("patient/Goal.write patient/Goal.read patient/CarePlan.write");
    let mut g = goal("g-new", "Patient/alice");
    g.as_object_mut().unwrap().remove("id");
    assert_eq!(w.send(Method::POST, "Goal", &g).status(), 201);
    let mut g_bob = goal("g-bob", "Patient/bob");
    g_bob.as_object_mut().unwrap().remove("id");
    assert_eq!(w.send(Method::POST, "Goal", &g_bob).status(), 403);
    assert_eq!(w.send(Method::PUT, "Goal/gb", &goal("gb", "Patient/alice")).status(), 403, "taking over bob's goal");
    assert_eq!(w.send(Method::PUT, "Goal/ga", &goal("ga", "Patient/bob")).status(), 403, "moving alice's goal to bob");
    let patch = w.req(Method::PATCH, "Goal/ga").header("Content-Type", "application/json-patch+json").body(r#"[{"op":"replace","path":"/subject/reference","value":"Patient/bob"}]"#).send().unwrap();
    assert_eq!(patch.status(), 403);
    let tx = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:6f1f2a3c-0000-4000-8000-000000000001", "resource": {"resourceType": "Goal", "identifier": [{"system": "urn:test", "value": "mine"}], "lifecycleStatus": "active", "description": {"text": "mine"}, "subject": {"reference": "Patient/alice"}}, "request": {"method": "POST", "url": "Goal"}},
        {"fullUrl": "urn:uuid:6f1f2a3c-0000-4000-8000-000000000002", "resource": {"resourceType": "Goal", "lifecycleStatus": "active", "description": {"text": "not mine"}, "subject": {"reference": "Patient/bob"}}, "request": {"method": "POST", "url": "Goal"}}]});
    let r = w.send(Method::POST, "", &tx);
    assert_eq!(r.status(), 403, "the whole transaction is refused");
    assert_eq!(admin.bundle("Goal?identifier=urn:test|mine&_summary=count")["total"], 0, "and nothing of it is stored");
    assert_eq!(admin.get("Goal/gb").json::<Value>().unwrap()["subject"]["reference"], "Patient/bob");
    // The audit trail cannot be written through a transaction either.
    let tx = json!({"resourceType": "Bundle", "type": "transaction", "entry": [{"request": {"method": "DELETE", "url": "AuditEvent/x"}}]});
    assert_eq!(admin.send(Method::POST, "", &tx).status(), 405);
}

/// Carol, whose consent withholds her record from everyone but the GP (and Goals from the social worker).
fn seed_carol(admin: &As) {
    put(admin, &patient("carol", "Carolson"));
    put(admin, &consent_deny_except_gp("carol"));
}

fn consent_deny_except_gp(patient: &str) -> Value {
    json!({"resourceType": "Consent", "id": format!("consent-{patient}"), "status": "active",
        "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy"}]},
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
        "patient": {"reference": format!("Patient/{patient}")},
        "policyRule": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTOUT"}]},
        "provision": {"type": "deny", "provision": [
            {"type": "permit", "actor": [{"role": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "PRCP"}]}, "reference": {"reference": "Practitioner/gp"}}]},
            {"type": "permit", "actor": [{"role": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "PRCP"}]}, "reference": {"reference": "Practitioner/sw"}}],
             "class": [{"system": "http://hl7.org/fhir/resource-types", "code": "Goal"}]}]}})
}

/// Consent states × requesters × override, and the audit trail of it all.
#[test]
fn consent_withholds_override_releases_and_everything_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    seed(&admin);
    let staff = |who: &str, more: Value| {
        let mut extra = json!({"fhirUser": format!("Practitioner/{who}")});
        for (k, v) in more.as_object().unwrap() {
            extra[k] = v.clone();
        }
        As { srv: &srv, token: token(who, "user/*.rs", extra) }
    };
    let gp = staff("gp", json!({}));
    let sw = staff("sw", json!({}));
    let dc = staff("dc", json!({"careplan_role": ["data-controller"]}));
    let auditor = As { srv: &srv, token: token("auditor", "user/AuditEvent.rs", json!({})) };

    // No consent yet: everyone with a scope sees the plan; the R-labelled condition needs a named permit.
    assert_eq!(sw.get("CarePlan/pa").status(), 200);
    let r = gp.get("Condition/ca");
    assert_eq!(r.status(), 403);
    assert_eq!(header(&r, "x-careplan-filtered"), "true");
    // The person themself sees all of their record.
    let alice = As { srv: &srv, token: token("alice", "patient/*.read", json!({"patient": "alice", "fhirUser": "Patient/alice"})) };
    assert_eq!(alice.get("Condition/ca").status(), 200);

    // Alice's consent: deny, except the GP (everything) and the social worker (goals only).
    put(&admin, &consent_deny_except_gp("alice"));
    assert_eq!(gp.get("CarePlan/pa").status(), 200);
    let r = sw.get("CarePlan/pa");
    assert_eq!(r.status(), 403, "the social worker may not see the plan");
    assert_eq!(header(&r, "x-careplan-filtered"), "true");
    assert!(texts(&r.json().unwrap())[0].contains("consent"));
    assert_eq!(sw.get("Goal/ga").status(), 200, "but may see the goals");
    assert_eq!(sw.get("CarePlan/pb").status(), 200, "bob has no such consent");
    let other = staff("locum", json!({}));
    assert_eq!(other.get("Goal/ga").status(), 403);
    // In searches, includes and history the plan is left out, and the answer says so.
    let r = sw.get("Goal?_revinclude=CarePlan:goal");
    assert_eq!(header(&r, "x-careplan-filtered"), "true");
    let b: Value = r.json().unwrap();
    assert_eq!(ids_of(&b), vec!["CarePlan/pb", "Goal/ga", "Goal/gb"]);
    assert_eq!(b["total"], 2, "the total counts the goals she may see (the plan is an include)");
    assert_eq!(sw.ids("CarePlan/pa/_history"), Vec::<String>::new());
    assert_eq!(gp.ids("CarePlan?subject=Patient/alice"), vec!["CarePlan/pa"]);
    assert_eq!(header(&gp.get("CarePlan?subject=Patient/alice"), "x-careplan-filtered"), "");
    // The GP still cannot see the R-labelled condition: the permit does not name the label.
    assert_eq!(gp.get("Condition/ca").status(), 403);

    // Override: only a data controller, only with a reason, only for that request.
    let btg = |who: &As, reason: Option<&str>| {
        let mut r = who.req(Method::GET, "CarePlan/pa").header("X-Careplan-Purpose-Of-Use", "BTG");
        if let Some(reason) = reason {
            r = r.header("X-Careplan-Override-Reason", reason);
        }
        r.send().unwrap()
    };
    assert_eq!(btg(&sw, Some("emergency")).status(), 403, "not a data controller");
    assert_eq!(btg(&dc, None).status(), 403, "no reason given");
    assert_eq!(dc.get("CarePlan/pa").status(), 403, "no override asked");
    let r = btg(&dc, Some("Unconscious in A&E; the plan's contacts are needed"));
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().unwrap()["id"], "pa");
    let r = dc.req(Method::GET, "Condition?subject=Patient/alice").header("X-Careplan-Purpose-Of-Use", "BTG").header("X-Careplan-Override-Reason", "safeguarding review").send().unwrap();
    assert_eq!(ids_of(&r.json().unwrap()), vec!["Condition/ca"], "labelled content is released too");
    assert_eq!(dc.get("CarePlan/pa").status(), 403, "the override was for that request only");

    // The audit trail: who, what, when and why, for refusals and overrides.
    let events = |q: &str| -> Vec<Value> { auditor.bundle(&format!("AuditEvent?{q}&_count=1000"))["entry"].as_array().cloned().unwrap_or_default().into_iter().map(|e| e["resource"].clone()).collect() };
    let overrides: Vec<Value> = events("patient=Patient/alice&agent=Practitioner/dc").into_iter().filter(|e| e["purposeOfEvent"].is_array()).collect();
    assert_eq!(overrides.len(), 2, "both overrides are recorded");
    let ov = &overrides.iter().find(|e| e["subtype"][0]["code"] == "read").expect("the read override");
    assert_eq!(ov["outcome"], "0");
    assert_eq!(ov["purposeOfEvent"][0]["coding"][0]["code"], "BTG");
    let ent = ov["entity"].as_array().unwrap();
    assert!(ent.iter().any(|e| e["detail"][0]["valueString"].as_str().is_some_and(|s| s.contains("Unconscious"))), "why: {ov}");
    assert!(ent.iter().any(|e| e["what"]["reference"] == "CarePlan/pa" && e["description"] == "released by override"), "what: {ov}");
    assert!(ent.iter().any(|e| e["what"]["reference"] == "Patient/alice"));
    assert!(ov["agent"].as_array().unwrap().iter().any(|a| a["who"]["reference"] == "Practitioner/dc" && a["requestor"] == true), "who");
    assert!(ov["recorded"].as_str().unwrap().ends_with('Z'), "when");
    let refused = events("agent=Practitioner/sw&outcome=4");
    assert!(refused.iter().any(|e| e["outcomeDesc"].as_str().unwrap().contains("refused") && e["entity"].as_array().unwrap().iter().any(|x| x["what"]["reference"] == "CarePlan/pa")), "{refused:?}");
    assert!(events("agent=Practitioner/sw&outcome=4").iter().any(|e| e["outcomeDesc"].as_str().unwrap().contains("BTG")), "the refused override");
    // Withheld search entries are recorded with why.
    let searched = events("agent=Practitioner/sw&subtype=search-type");
    assert!(searched.iter().any(|e| e["entity"].as_array().unwrap().iter().any(|x| x["what"]["reference"] == "CarePlan/pa" && x["description"].as_str().unwrap_or("").starts_with("withheld"))));
    // By date, and unauthenticated refusals too.
    let today = &ov["recorded"].as_str().unwrap()[..10];
    assert!(!events(&format!("date={today}&agent=Practitioner/dc")).is_empty());
    assert!(events("date=lt2000-01-01").is_empty());
    assert_eq!(srv.get("CarePlan/pa").status(), 401);
    assert!(!events("agent-name=unauthenticated&outcome=4").is_empty());

    // The trail cannot be altered or deleted, and trying is recorded.
    let id = ov["id"].as_str().unwrap();
    let writer = As { srv: &srv, token: token("mallory", "system/*.cruds system/AuditEvent.cruds", json!({"fhirUser": "Practitioner/mallory"})) };
    let mut changed = (*ov).clone();
    changed["outcome"] = json!("8");
    assert_eq!(writer.send(Method::PUT, &format!("AuditEvent/{id}"), &changed).status(), 405);
    assert_eq!(writer.req(Method::DELETE, &format!("AuditEvent/{id}")).send().unwrap().status(), 405);
    assert_eq!(writer.send(Method::POST, "AuditEvent", &changed).status(), 405);
    let patch = writer.req(Method::PATCH, &format!("AuditEvent/{id}")).header("Content-Type", "application/json-patch+json").body("[]").send().unwrap();
    assert_eq!(patch.status(), 405);
    assert_eq!(auditor.get(&format!("AuditEvent/{id}")).json::<Value>().unwrap(), **ov, "unchanged");
    let attempts = events("agent=Practitioner/mallory");
    assert!(attempts.len() >= 4 && attempts.iter().all(|e| e["outcome"] == "4"), "{attempts:?}");
    // The system history is the record's, not the audit trail's.
    assert!(admin.ids("_history?_count=1000").iter().all(|k| !k.starts_with("AuditEvent/")));
}

#[test]
fn malformed_and_oversized_input_gets_a_clear_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &["--max-bundle-entries", "5", "--max-string-bytes", "1000", "--max-depth", "20"]);
    let admin = admin(&srv);
    seed(&admin);
    let expect = |r: Response, status: u16, words: &str| {
        assert_eq!(r.status(), status);
        let oo: Value = r.json().unwrap();
        assert_eq!(oo["resourceType"], "OperationOutcome");
        assert!(texts(&oo).iter().any(|t| t.contains(words)), "{:?}", texts(&oo));
    };
    // Nesting.
    let mut deep = json!({"url": "http://x/e", "valueString": "leaf"});
    for _ in 0..30 {
        deep = json!({"url": "http://x/e", "extension": [deep]});
    }
    let mut p = patient("deep", "Deep");
    p["extension"] = json!([deep]);
    expect(admin.send(Method::PUT, "Patient/deep", &p), 400, "nested");
    let xml_deep = format!("<Patient xmlns=\"http://hl7.org/fhir\">{}{}</Patient>", "<extension url=\"http://x/e\">".repeat(40), "</extension>".repeat(40));
    let r = admin.req(Method::POST, "Patient").header("Content-Type", "application/fhir+xml").body(xml_deep).send().unwrap();
    expect(r, 400, "nested");
    // Strings.
    let mut long = patient("long", "L");
    long["name"][0]["family"] = json!("x".repeat(2000));
    expect(admin.send(Method::PUT, "Patient/long", &long), 422, "bytes");
    // Entries.
    let entries: Vec<Value> = (0..6).map(|_| json!({"request": {"method": "GET", "url": "Patient/alice"}})).collect();
    expect(admin.send(Method::POST, "", &json!({"resourceType": "Bundle", "type": "batch", "entry": entries})), 413, "entries");
    // XML with a DOCTYPE (external entities) is refused over HTTP too.
    let xxe = "<?xml version=\"1.0\"?><!DOCTYPE p [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><Patient xmlns=\"http://hl7.org/fhir\"><name><family value=\"&x;\"/></name></Patient>";
    let r = admin.req(Method::POST, "Patient").header("Content-Type", "application/fhir+xml").body(xxe).send().unwrap();
    expect(r, 400, "DOCTYPE");
    // Search values are data, never SQL.
    for q in ["Patient?name=x'%3B%20DROP%20TABLE%20resource_version%3B--", "Patient?_id=alice'%20OR%20'1'='1", "Patient?name:contains=%25", "Patient?_sort=name%3BDROP"] {
        let r = admin.get(q);
        assert!(r.status() == 200 || r.status() == 400, "{q}: {}", r.status());
        if r.status() == 200 {
            assert!(ids_of(&r.json().unwrap()).iter().all(|k| k != "Patient/bob"), "{q} matched what it should not");
        }
    }
    assert_eq!(admin.ids("Patient?_id=alice,bob"), vec!["Patient/alice", "Patient/bob"], "the data is intact");
    // None of it stored anything.
    assert_eq!(admin.get("Patient/deep").status(), 404);
    assert_eq!(admin.get("Patient/long").status(), 404);
}

/// The PRSB view of a stored plan holds only what the requester may see.
#[test]
fn the_prsb_view_is_built_from_what_the_requester_may_see() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    seed(&admin);
    // The plan's own consent names the GP and the social worker as people to share it with.
    let mut plan: Value = serde_json::from_slice(&std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/prsb/frail-older-person-at-home.json")).unwrap()).unwrap();
    plan["consentForInformationSharing"]["sharedWith"] = json!([{"name": "GP", "fhirReference": "Practitioner/gp"}, {"name": "Social worker", "fhirReference": "Practitioner/sw"}]);
    let plan_bytes = serde_json::to_vec(&plan).unwrap();
    let r = admin.req(Method::POST, "$from-prsb?store=true").header("Content-Type", "application/json").body(plan_bytes.clone()).send().unwrap();
    assert_eq!(r.status(), 200);
    // Mapping alone needs no scope on CarePlan; storing does.
    let mapper = As { srv: &srv, token: token("mapper", "user/Patient.rs", json!({})) };
    assert_eq!(mapper.req(Method::POST, "$from-prsb").header("Content-Type", "application/json").body(plan_bytes.clone()).send().unwrap().status(), 200);
    assert_eq!(mapper.req(Method::POST, "$from-prsb?store=true").header("Content-Type", "application/json").body(plan_bytes).send().unwrap().status(), 403);

    let gp = As { srv: &srv, token: token("gp", "user/*.rs", json!({"fhirUser": "Practitioner/gp"})) };
    let found = gp.bundle("CarePlan?_count=100");
    let stored = found["entry"].as_array().unwrap().iter().map(|e| &e["resource"]).find(|r| r["id"] != "pa" && r["id"] != "pb").unwrap().clone();
    let (id, person) = (stored["id"].as_str().unwrap().to_string(), stored["subject"]["reference"].as_str().unwrap().trim_start_matches("Patient/").to_string());
    // The person withholds their goals from the social worker.
    put(&admin, &json!({"resourceType": "Consent", "id": "no-goals-for-sw", "status": "active",
        "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy"}]},
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
        "patient": {"reference": format!("Patient/{person}")},
        "policyRule": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTIN"}]},
        "provision": {"type": "permit", "provision": [{"type": "deny", "actor": [{"role": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "PRCP"}]}, "reference": {"reference": "Practitioner/sw"}}],
            "class": [{"system": "http://hl7.org/fhir/resource-types", "code": "Goal"}]}]}}));
    let view = |who: &As| who.get(&format!("CarePlan/{id}/$prsb"));
    let sw = As { srv: &srv, token: token("sw", "user/*.rs", json!({"fhirUser": "Practitioner/sw"})) };
    let r = view(&gp);
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-careplan-filtered"), "");
    assert!(r.text().unwrap().contains("No falls for three months."));
    let r = view(&sw);
    assert_eq!(r.status(), 200, "{}", r.text().unwrap());
    assert_eq!(header(&r, "x-careplan-filtered"), "true");
    let text = r.text().unwrap();
    assert!(!text.contains("No falls for three months."), "the goals are left out: {text}");
    // Patient-scoped tokens: the person's own plan, never another's.
    // (The person is who the token's fhirUser says: the plan's consent withholds it from anyone else it does not name.)
    let own = As { srv: &srv, token: token("p", "patient/*.read", json!({"patient": person, "fhirUser": format!("Patient/{person}")})) };
    assert_eq!(view(&own).status(), 200);
    let other = As { srv: &srv, token: token("alice", "patient/*.read", json!({"patient": "alice"})) };
    assert_eq!(view(&other).status(), 404, "as if it did not exist");
    assert_eq!(As { srv: &srv, token: token("x", "user/Goal.rs", json!({})) }.get(&format!("CarePlan/{id}/$prsb")).status(), 403, "no scope on CarePlan");
}

/// `CarePlan/{id}/$prsb` and `CarePlan/{id}/$everything` record every
/// resource they disclose in their AuditEvent (not only the plan): each
/// resource shown, each one withheld (with why) and each one an override
/// released, so `AuditEvent?entity=Goal/<id>` finds the reads of a goal.
#[test]
fn plan_operations_audit_every_resource_they_disclose() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    // The plan's own consent names the GP and the data controller's clinician as people to share it with.
    let mut plan: Value = serde_json::from_slice(&std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/prsb/frail-older-person-at-home.json")).unwrap()).unwrap();
    plan["consentForInformationSharing"]["sharedWith"] = json!([{"name": "GP", "fhirReference": "Practitioner/gp"}, {"name": "Data controller", "fhirReference": "Practitioner/dc"}, {"name": "Test set-up", "fhirReference": "Practitioner/setup"}]);
    let r = store_plan(&admin, &plan);
    assert_eq!(r.status(), 200);
    let setup = staff(&srv, "setup", "user/*.cruds", json!({}));
    let id = setup.ids("CarePlan?identifier=https://careplan.example/fhir/Id/plan|csp-holroyd-2026")[0].trim_start_matches("CarePlan/").to_string();
    // Everything the plan holds, read before anything is withheld (tests/server.rs shows that
    // $everything answers exactly what the transaction stored).
    let stored: std::collections::BTreeSet<String> = setup.ids(&format!("CarePlan/{id}/$everything")).into_iter().collect();
    let goals: Vec<String> = setup.ids("Goal?_count=100");
    assert!(goals.len() >= 2);
    // A stage goal (the target of another goal's goal-relationship) is labelled restricted:
    // withheld from everyone its person's consent does not name, and its parent loses the link to it.
    let secret = goals
        .iter()
        .flat_map(|g| setup.get(g).json::<Value>().unwrap()["extension"].as_array().cloned().unwrap_or_default())
        .filter(|x| x["url"] == "http://hl7.org/fhir/StructureDefinition/goal-relationship")
        .flat_map(|x| x["extension"].as_array().cloned().unwrap_or_default())
        .find_map(|part| part["valueReference"]["reference"].as_str().map(str::to_string))
        .expect("the example has stage goals");
    assert!(goals.contains(&secret));
    let mut labelled: Value = setup.get(&secret).json().unwrap();
    labelled["meta"] = json!({"security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R"}]});
    put(&setup, &labelled);

    let gp = staff(&srv, "gp", "user/*.rs", json!({}));
    let dc = staff(&srv, "dc", "user/*.rs", json!({"careplan_role": ["data-controller"]}));
    let auditor = As { srv: &srv, token: token("auditor", "user/AuditEvent.rs", json!({})) };
    let events = |q: &str| -> Vec<Value> { auditor.bundle(&format!("AuditEvent?{q}&_count=1000"))["entry"].as_array().cloned().unwrap_or_default().into_iter().map(|e| e["resource"].clone()).collect() };
    let entities = |ev: &Value, description: Option<&str>| -> std::collections::BTreeSet<String> {
        ev["entity"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["role"]["code"] == "4" && e["description"].as_str().map(|d| d.split(':').next().unwrap()) == description)
            .filter_map(|e| e["what"]["reference"].as_str().map(str::to_string))
            .collect()
    };
    let one_event = |agent: &str, operation: &str| -> Value {
        let found: Vec<Value> = events(&format!("agent={agent}&subtype=operation")).into_iter().filter(|e| e["outcomeDesc"].as_str().unwrap().contains(operation)).collect();
        assert_eq!(found.len(), 1, "{agent} {operation}: {found:?}");
        found[0].clone()
    };

    for operation in ["$prsb", "$everything"] {
        // The GP: everything but the labelled goal, each resource named.
        let r = gp.get(&format!("CarePlan/{id}/{operation}"));
        assert_eq!(r.status(), 200, "{operation}");
        assert_eq!(header(&r, "x-careplan-filtered"), "true", "{operation}: the labelled goal is left out");
        let body = r.text().unwrap();
        let what = labelled["description"]["text"].as_str().unwrap();
        assert!(!body.contains(what) && !body.contains(&secret), "{operation}: neither its content nor a reference to it: {body}");
        let ev = one_event("Practitioner/gp", operation);
        let shown = entities(&ev, None);
        let expected: std::collections::BTreeSet<String> = stored.iter().filter(|k| **k != secret).cloned().collect();
        assert_eq!(shown, expected, "{operation}: every resource disclosed is an entity of its AuditEvent");
        assert_eq!(entities(&ev, Some("withheld")), [secret.clone()].into_iter().collect(), "{operation}: and what was withheld, with why");
        for goal in goals.iter().filter(|g| **g != secret) {
            assert!(events(&format!("entity={goal}&agent=Practitioner/gp")).iter().any(|e| e["outcomeDesc"].as_str().unwrap().contains(operation)), "{operation}: AuditEvent?entity={goal} finds it");
        }

        // A data controller's override releases it, and the event says so.
        let r = dc.req(Method::GET, &format!("CarePlan/{id}/{operation}")).header("X-Careplan-Purpose-Of-Use", "BTG").header("X-Careplan-Override-Reason", "safeguarding review").send().unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(header(&r, "x-careplan-filtered"), "");
        let ev = one_event("Practitioner/dc", operation);
        assert_eq!(entities(&ev, None), stored, "{operation}: the override disclosed the whole plan");
        assert_eq!(entities(&ev, Some("released by override")), [secret.clone()].into_iter().collect());
        assert!(events(&format!("entity={secret}")).iter().any(|e| e["outcomeDesc"].as_str().unwrap().contains(operation) && e["purposeOfEvent"].is_array()));
    }

    // $everything withholds as $prsb does: the goal is not in the Bundle, and no reference names it.
    let r = gp.get(&format!("CarePlan/{id}/$everything"));
    let text = r.text().unwrap();
    let b: Value = serde_json::from_str(&text).unwrap();
    assert!(!text.contains(&secret), "neither the goal nor a reference to it");
    assert_eq!(b["meta"]["security"][0]["code"], "REDACTED");
    assert!(b["entry"].as_array().unwrap().iter().any(|e| e["search"]["mode"] == "outcome"));
    assert_eq!(ids_of(&b).len(), stored.len() - 1);
    // A patient-scoped token of someone else: as if the plan did not exist; no scope on CarePlan: 403.
    let other = As { srv: &srv, token: token("alice", "patient/*.read", json!({"patient": "alice"})) };
    assert_eq!(other.get(&format!("CarePlan/{id}/$everything")).status(), 404);
    assert_eq!(As { srv: &srv, token: token("x", "user/Goal.rs", json!({})) }.get(&format!("CarePlan/{id}/$everything")).status(), 403);
}

/// A Binary whose securityContext names a stored resource (the
/// DocumentReference of a letter) is judged as that resource: its person
/// reads it with a patient-scoped token, another person's token does not
/// find it, and a label on the DocumentReference withholds it.
#[test]
fn a_binary_is_judged_as_the_resource_its_security_context_names() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    seed(&admin);
    let letter = |id: &str, labels: Value| {
        let mut document = json!({"resourceType": "DocumentReference", "id": id, "status": "current", "subject": {"reference": "Patient/alice"},
            "content": [{"attachment": {"contentType": "text/plain", "url": format!("Binary/{id}")}}]});
        if labels.as_array().is_some_and(|l| !l.is_empty()) {
            document["meta"] = json!({"security": labels});
        }
        put(&admin, &document);
        let r = admin.req(Method::PUT, &format!("Binary/{id}")).header("Content-Type", "text/plain").header("X-Security-Context", format!("DocumentReference/{id}")).body(format!("letter {id}")).send().unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().unwrap());
    };
    letter("open-letter", json!([]));
    letter("restricted-letter", json!([{"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R"}]));
    let read = |who: &As, id: &str| who.req(Method::GET, &format!("Binary/{id}")).header("Accept", "text/plain").send().unwrap();

    let alice = alice_app(&srv, "patient/*.read");
    let r = read(&alice, "open-letter");
    assert_eq!(r.status(), 200, "her letter, through its DocumentReference");
    assert_eq!(r.text().unwrap(), "letter open-letter");
    assert_eq!(read(&alice, "restricted-letter").status(), 200, "the person reads all of their record");
    let bob = As { srv: &srv, token: token("bob-app", "patient/*.read", json!({"patient": "bob", "fhirUser": "Patient/bob"})) };
    assert_eq!(read(&bob, "open-letter").status(), 404, "not in bob's record: as if it did not exist");
    let gp = staff(&srv, "gp", "user/*.rs", json!({}));
    assert_eq!(read(&gp, "open-letter").status(), 200);
    let r = read(&gp, "restricted-letter");
    assert_eq!(r.status(), 403, "withheld as its DocumentReference is");
    assert_eq!(header(&r, "x-careplan-filtered"), "true");
    assert!(texts(&r.json().unwrap())[0].contains("securityContext DocumentReference/restricted-letter"));
    // In a search too.
    let found = gp.bundle("Binary?_count=100");
    assert!(ids_of(&found).contains(&"Binary/open-letter".to_string()) && !ids_of(&found).contains(&"Binary/restricted-letter".to_string()));
}

// The red-team findings of ../shared/security (2026-12-06), one test each,
// named after the finding: c1_…, h1_…, m1_…, l1_….
#[path = "security/access_findings.rs"]
mod access_findings;
#[path = "security/limit_findings.rs"]
mod limit_findings;
#[path = "security/input_findings.rs"]
mod input_findings;
// The second pass (docs/security/redteam-second-pass-2026-12-06.md): n1_…, n2_….
#[path = "security/second_pass_findings.rs"]
mod second_pass_findings;
// The third pass (docs/security/redteam-third-pass-2026-12-06.md): v1_…, v2_….
#[path = "security/third_pass_findings.rs"]
mod third_pass_findings;
// The fourth pass (docs/security/redteam-fourth-pass-2026-12-06.md): w1_…, w2_….
#[path = "security/fourth_pass_findings.rs"]
mod fourth_pass_findings;

#[path = "security/seventh_pass_findings.rs"]
mod seventh_pass_findings;
// The eighth pass (docs/security/redteam-eighth-pass-2026-12-06.md): n1_…, n2_….
#[path = "security/eighth_pass_findings.rs"]
mod eighth_pass_findings;
// The ninth pass (docs/security/redteam-ninth-pass-2026-12-06.md): r1_…, r2_….
#[path = "security/ninth_pass_findings.rs"]
mod ninth_pass_findings;
// The tenth pass (docs/security/redteam-tenth-pass-2026-12-06.md): s1_…, s2_….
#[path = "security/tenth_pass_findings.rs"]
mod tenth_pass_findings;
// The thirteenth pass (docs/security/redteam-thirteenth-pass-2026-12-06.md): w1_…, w2_….
#[path = "security/thirteenth_pass_findings.rs"]
mod thirteenth_pass_findings;
// The fourteenth pass (docs/security/redteam-fourteenth-pass-2026-12-06.md): x1_…, x2_….
#[path = "security/fourteenth_pass_findings.rs"]
mod fourteenth_pass_findings;
// The fifteenth pass (docs/security/redteam-fifteenth-pass-2026-12-06.md): y1_…, y2_….
#[path = "security/fifteenth_pass_findings.rs"]
mod fifteenth_pass_findings;
// The sixteenth pass (docs/security/redteam-sixteenth-pass-2026-12-06.md): q1_…, q2_….
#[path = "security/sixteenth_pass_findings.rs"]
mod sixteenth_pass_findings;
// The twenty-third pass (docs/security/redteam-twenty-third-pass-2026-12-06.md): o1_…, o2_….
#[path = "security/twenty_third_pass_findings.rs"]
mod twenty_third_pass_findings;
// The twenty-fourth pass (docs/security/redteam-twenty-fourth-pass-2026-12-06.md): p1_…, p2_….
#[path = "security/twenty_fourth_pass_findings.rs"]
mod twenty_fourth_pass_findings;
// The twenty-fifth pass (docs/security/redteam-twenty-fifth-pass-2026-12-06.md): q1_…, q2_….
#[path = "security/twenty_fifth_pass_findings.rs"]
mod twenty_fifth_pass_findings;
// The twenty-sixth pass (docs/security/redteam-twenty-sixth-pass-2026-12-06.md): r1_…, r2_….
#[path = "security/twenty_sixth_pass_findings.rs"]
mod twenty_sixth_pass_findings;
// The twenty-seventh pass (docs/security/redteam-twenty-seventh-pass-2026-12-06.md): s1_…, s2_….
#[path = "security/twenty_seventh_pass_findings.rs"]
mod twenty_seventh_pass_findings;
// The twenty-eighth pass (docs/security/redteam-twenty-eighth-pass-2026-12-06.md): t1_…, t2_….
#[path = "security/twenty_eighth_pass_findings.rs"]
mod twenty_eighth_pass_findings;
// The twenty-ninth pass (docs/security/redteam-twenty-ninth-pass-2026-12-06.md): u1_…, u5_….
#[path = "security/twenty_ninth_pass_findings.rs"]
mod twenty_ninth_pass_findings;
// The thirtieth pass (docs/security/redteam-thirtieth-pass-2026-12-06.md): v1_…, v3_….
#[path = "security/thirtieth_pass_findings.rs"]
mod thirtieth_pass_findings;
// The thirty-first pass (docs/security/redteam-thirty-first-pass-2026-12-06.md): w1_…, w4_….
#[path = "security/thirty_first_pass_findings.rs"]
mod thirty_first_pass_findings;
// The thirty-second pass (docs/security/redteam-thirty-second-pass-2026-12-06.md): x1_…, x4_….
#[path = "security/thirty_second_pass_findings.rs"]
mod thirty_second_pass_findings;
// The thirty-third pass (docs/security/redteam-thirty-third-pass-2026-12-06.md): y1_…, y4_….
#[path = "security/thirty_third_pass_findings.rs"]
mod thirty_third_pass_findings;
// The thirty-fourth pass (docs/security/redteam-thirty-fourth-pass-2026-12-06.md): z1_…, z3_….
#[path = "security/thirty_fourth_pass_findings.rs"]
mod thirty_fourth_pass_findings;
