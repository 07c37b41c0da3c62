//! The plan the server keeps is the plan a clinician elsewhere reads: the
//! journeys of an accelerator site (store PRSB plans, edit them through
//! PRSB and through plain FHIR, archive, post again, read back), on a real
//! server on loopback, with plain FHIR reads as a system that never heard of
//! PRSB would make them.

mod common;
mod server_support;

use careplan::prsb::{self, archive};
use serde_json::{json, Value};
use server_support::tokens;
use server_support::Server;

fn example(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("examples/prsb/{name}.json"));
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn post_plan(srv: &Server, token: Option<&str>, plan: &Value) -> reqwest::blocking::Response {
    let mut req = srv.client.post(srv.url("$from-prsb?store=true")).header("Content-Type", "application/json").body(plan.to_string());
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().unwrap()
}

fn store(srv: &Server, plan: &Value) -> Value {
    let r = post_plan(srv, None, plan);
    let status = r.status();
    let body: Value = r.json().unwrap();
    assert_eq!(status, 200, "{body}");
    body
}

fn get_as(srv: &Server, token: Option<&str>, path: &str) -> reqwest::blocking::Response {
    let mut req = srv.client.get(srv.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().unwrap()
}

fn resources(bundle: &Value) -> Vec<Value> {
    bundle["entry"].as_array().into_iter().flatten().filter_map(|e| e.get("resource").cloned()).filter(|r| r["resourceType"] != "OperationOutcome").collect()
}

/// The stored resource of a plan item, found by its plan-item identifier.
fn item(srv: &Server, res_type: &str, plan: &str, id: &str) -> Value {
    let found = resources(&srv.bundle(&format!("{res_type}?identifier=https://careplan.example/fhir/Id/plan-item|{plan}/{id}")));
    assert_eq!(found.len(), 1, "{res_type} {plan}/{id}");
    found[0].clone()
}

fn care_plan(srv: &Server, plan: &str) -> Value {
    let found = resources(&srv.bundle(&format!("CarePlan?identifier=https://careplan.example/fhir/Id/plan|{plan}")));
    assert_eq!(found.len(), 1);
    found[0].clone()
}

fn view(srv: &Server, care_plan_id: &str, query: &str) -> Value {
    let r = srv.get(&format!("CarePlan/{care_plan_id}/$prsb{query}"));
    assert_eq!(r.status(), 200);
    r.json().unwrap()
}

/// How many versions the server holds in all.
fn versions(srv: &Server) -> u64 {
    srv.total("_history?_summary=count")
}

fn references(list: &Value) -> Vec<String> {
    list.as_array().into_iter().flatten().filter_map(|r| r["reference"].as_str().map(str::to_owned)).collect()
}

#[test]
fn two_plans_for_one_nhs_number_name_one_patient_and_one_professional_is_one_practitioner() {
    let dir = tempfile::tempdir().unwrap();
    let srv = Server::start(dir.path(), &[]);
    let first = example("frail-older-person-at-home");
    store(&srv, &first);
    let mut second = first.clone();
    second["id"] = json!("csp-holroyd-social-care-2026");
    store(&srv, &second);
    let patients = resources(&srv.bundle("Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|9990001011"));
    assert_eq!(patients.len(), 1, "one Patient for one NHS number");
    let patient = format!("Patient/{}", patients[0]["id"].as_str().unwrap());
    for plan in ["csp-holroyd-2026", "csp-holroyd-social-care-2026"] {
        assert_eq!(care_plan(&srv, plan)["subject"]["reference"], patient.as_str());
    }
    // The name is structured for systems that search by it.
    assert_eq!(patients[0]["name"][0]["family"], "Holroyd");
    assert_eq!(srv.total("Patient?family=Holroyd"), 1);
    // Tom Ellery (NMC 88A1234E) performs and completes records in both plans: one Practitioner.
    let tom = resources(&srv.bundle("Practitioner?identifier=https://careplan.example/fhir/Id/professional-identifier|NMC%2088A1234E"));
    assert_eq!(tom.len(), 1);
    assert_eq!(tom[0]["name"][0]["given"][0], "Tom");
}

#[test]
fn archived_items_read_as_ended_to_a_plain_fhir_reader() {
    let dir = tempfile::tempdir().unwrap();
    let srv = Server::start(dir.path(), &[]);
    let mut plan = prsb::read(example("frail-older-person-at-home").to_string().as_bytes()).unwrap();
    // Goal g2 is given up while its action a3 is still planned: both are archived.
    archive::archive_goal(&mut plan, "g2", "2026-04-01T10:00:00Z", Some("Moved to a care home with a level shower"), archive::GoalActions::Archive).unwrap();
    store(&srv, &serde_json::to_value(&plan).unwrap());
    let cp = care_plan(&srv, "csp-holroyd-2026");
    let g2 = item(&srv, "Goal", "csp-holroyd-2026", "g2");
    assert_eq!(g2["lifecycleStatus"], "cancelled");
    let g2_ref = format!("Goal/{}", g2["id"].as_str().unwrap());
    assert!(!references(&cp["goal"]).contains(&g2_ref), "the plan's goals are the live ones");
    // A search for live goals, as a supplier's system makes it, finds no archived goal.
    let live = resources(&srv.bundle("Goal?lifecycle-status=proposed,planned,accepted,active,on-hold"));
    let archived_ids: Vec<String> = ["g2", "g1-sg3"].iter().map(|g| item(&srv, "Goal", "csp-holroyd-2026", g)["id"].as_str().unwrap().to_owned()).collect();
    assert!(!live.is_empty());
    assert!(live.iter().all(|g| !archived_ids.contains(&g["id"].as_str().unwrap().to_owned())), "{archived_ids:?}");
    // The archived actions end too: one stopped under way, one cancelled earlier.
    let activity = |id: &str| cp["activity"].as_array().unwrap().iter().find(|a| a["id"] == id).unwrap()["detail"]["status"].clone();
    assert_eq!(activity("a3"), "stopped");
    assert_eq!(activity("a5"), "cancelled");
    assert_eq!(activity("a2"), "in-progress", "a live action keeps its status");
    // An archived need is inactive and out of CarePlan.addresses.
    let n4 = item(&srv, "Condition", "csp-holroyd-2026", "n4");
    assert_eq!(n4["clinicalStatus"]["coding"][0]["code"], "inactive");
    assert!(!references(&cp["addresses"]).contains(&format!("Condition/{}", n4["id"].as_str().unwrap())));
    // Goal priority follows the importance score.
    assert_eq!(item(&srv, "Goal", "csp-holroyd-2026", "g1")["priority"]["coding"][0]["code"], "high-priority");
}

#[test]
fn needs_and_concerns_are_not_problem_list_items() {
    let dir = tempfile::tempdir().unwrap();
    let srv = Server::start(dir.path(), &[]);
    for name in ["frail-older-person-at-home", "copd-smoking-cessation", "mental-health-crisis-best-interest"] {
        store(&srv, &example(name));
    }
    let listed = resources(&srv.bundle("Condition?category=problem-list-item&_count=100"));
    let all = resources(&srv.bundle("Condition?_count=100"));
    let kind = |c: &Value| c["category"].as_array().unwrap().iter().flat_map(|cc| cc["coding"].as_array().unwrap().clone()).find(|c| c["system"] == "https://careplan.example/fhir/CodeSystem/prsb-item-kind").unwrap()["code"].clone();
    assert!(!listed.is_empty());
    assert!(listed.iter().all(|c| kind(c) == "problem"), "only problems are problem-list items");
    assert_eq!(listed.len(), all.iter().filter(|c| kind(c) == "problem").count(), "every problem is one");
    assert!(all.iter().any(|c| kind(c) != "problem"));
}

#[test]
fn posting_the_active_view_back_keeps_every_archived_item_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let srv = Server::start(dir.path(), &[]);
    let plan = example("frail-older-person-at-home");
    store(&srv, &plan);
    let id = care_plan(&srv, "csp-holroyd-2026")["id"].as_str().unwrap().to_owned();
    let whole = view(&srv, &id, "?includeArchived=true");
    let before = versions(&srv);
    let active = view(&srv, &id, "");
    assert!(active["goals"][0]["stageGoals"].as_array().unwrap().iter().all(|g| g["archived"].is_null()));
    store(&srv, &active);
    assert_eq!(view(&srv, &id, "?includeArchived=true"), whole, "every archived item is still in the plan, as it was");
    assert_eq!(versions(&srv), before, "nothing changed, so nothing was written");
}

#[test]
fn an_item_left_out_of_a_post_is_archived_with_the_reason_not_orphaned() {
    let dir = tempfile::tempdir().unwrap();
    let srv = Server::start(dir.path(), &[]);
    let mut plan = example("frail-older-person-at-home");
    store(&srv, &plan);
    let id = care_plan(&srv, "csp-holroyd-2026")["id"].as_str().unwrap().to_owned();
    // Goal g3 and its one action a4 are left out of the next post.
    plan["goals"].as_array_mut().unwrap().retain(|g| g["id"] != "g3");
    plan["actions"].as_array_mut().unwrap().retain(|a| a["id"] != "a4");
    store(&srv, &plan);
    let whole = view(&srv, &id, "?includeArchived=true");
    let g3 = whole["goals"].as_array().unwrap().iter().find(|g| g["id"] == "g3").expect("g3 is still in the plan");
    assert_eq!(g3["archived"], true);
    assert!(g3["archivedReason"].as_str().unwrap().contains("Left out of the plan posted"), "{g3}");
    let a4 = whole["actions"].as_array().unwrap().iter().find(|a| a["id"] == "a4").unwrap();
    assert_eq!(a4["archived"], true);
    assert!(view(&srv, &id, "")["goals"].as_array().unwrap().iter().all(|g| g["id"] != "g3"));
    // In plain FHIR the goal reads as ended, not as a live goal the plan forgot.
    let g3 = item(&srv, "Goal", "csp-holroyd-2026", "g3");
    assert_eq!(g3["lifecycleStatus"], "cancelled");
    let cp = care_plan(&srv, "csp-holroyd-2026");
    assert!(!references(&cp["goal"]).contains(&format!("Goal/{}", g3["id"].as_str().unwrap())));
}

#[test]
fn what_a_supplier_writes_through_fhir_survives_a_prsb_post() {
    let dir = tempfile::tempdir().unwrap();
    let srv = Server::start(dir.path(), &[]);
    let plan = example("frail-older-person-at-home");
    store(&srv, &plan);
    let id = care_plan(&srv, "csp-holroyd-2026")["id"].as_str().unwrap().to_owned();
    // A supplier adds a target, its own identifier and extension, and a note by reference.
    let mut g3 = item(&srv, "Goal", "csp-holroyd-2026", "g3");
    g3["target"] = json!([{"dueDate": "2026-09-01"}]);
    g3["identifier"].as_array_mut().unwrap().push(json!({"system": "https://supplier.example/goals", "value": "G-77"}));
    g3["extension"].as_array_mut().unwrap().push(json!({"url": "http://hl7.org/fhir/StructureDefinition/goal-reasonRejected", "valueCodeableConcept": {"text": "none"}}));
    g3["note"] = json!([{"authorReference": {"reference": "Practitioner/gp-1", "display": "Dr Anika Rao"}, "time": "2026-04-02T09:00:00Z", "text": "Lift arranged with the vicar."}]);
    let path = format!("Goal/{}", g3["id"].as_str().unwrap());
    let r = srv.put(&path, &g3);
    assert_eq!(r.status(), 200, "{}", r.text().unwrap());
    let written = srv.bundle(&path);
    // The PRSB view shows the note, by its author's name.
    let whole = view(&srv, &id, "?includeArchived=true");
    let g3_view = whole["goals"].as_array().unwrap().iter().find(|g| g["id"] == "g3").unwrap();
    assert_eq!(g3_view["comments"][0]["author"], "Dr Anika Rao");
    // Posted back as it reads: nothing is lost and nothing new is written.
    let before = versions(&srv);
    store(&srv, &whole);
    assert_eq!(versions(&srv), before);
    assert_eq!(srv.bundle(&path), written);
    // A PRSB edit of the goal keeps what the supplier added.
    let mut edited = whole.clone();
    let goal = edited["goals"].as_array_mut().unwrap().iter_mut().find(|g| g["id"] == "g3").unwrap();
    goal["whyItMatters"] = json!("Church is where I see my friends.");
    store(&srv, &edited);
    let after = srv.bundle(&path);
    assert_eq!(after["target"], written["target"]);
    assert_eq!(after["note"][0]["authorReference"]["reference"], "Practitioner/gp-1");
    assert!(after["identifier"].as_array().unwrap().iter().any(|i| i["value"] == "G-77"));
    assert!(after["extension"].as_array().unwrap().iter().any(|e| e["url"] == "http://hl7.org/fhir/StructureDefinition/goal-reasonRejected"));
    assert!(after["extension"].to_string().contains("Church is where I see my friends."));
    assert_eq!(after["meta"]["versionId"], "3");
}

#[test]
fn the_date_last_updated_is_the_latest_real_change_and_a_migrated_plan_keeps_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let srv = Server::start(dir.path(), &[]);
    let plan = example("frail-older-person-at-home");
    store(&srv, &plan);
    let id = care_plan(&srv, "csp-holroyd-2026")["id"].as_str().unwrap().to_owned();
    assert_eq!(view(&srv, &id, "")["dateLastUpdated"], plan["dateLastUpdated"], "a migrated plan shows its own date, not its import time");
    // Posted again unchanged: still its own date.
    store(&srv, &plan);
    assert_eq!(view(&srv, &id, "")["dateLastUpdated"], plan["dateLastUpdated"]);
    // A change through plain FHIR is a change to the plan.
    let mut n3 = item(&srv, "Condition", "csp-holroyd-2026", "n3");
    n3["code"]["text"] = json!("Help with showering and dressing.");
    let r = srv.put(&format!("Condition/{}", n3["id"].as_str().unwrap()), &n3);
    assert_eq!(r.status(), 200);
    let changed: Value = r.json().unwrap();
    assert_eq!(view(&srv, &id, "")["dateLastUpdated"], changed["meta"]["lastUpdated"]);
}

#[test]
fn the_plan_s_consent_shows_it_to_whom_it_names_and_withholds_it_from_others() {
    let dir = tempfile::tempdir().unwrap();
    let srv = tokens::start(dir.path(), &[]);
    let importer = tokens::token("importer", "system/*.cruds", json!({}));
    let r = post_plan(&srv, Some(&importer), &example("frail-older-person-at-home"));
    assert_eq!(r.status(), 200, "{}", r.text().unwrap());
    // Dr Rao (GMC 7123456) is named in the consent; her own system finds her by that identifier.
    let gp_rao = resources(&get_as(&srv, Some(&importer), "Practitioner?identifier=https://careplan.example/fhir/Id/professional-identifier|GMC%207123456").json().unwrap());
    assert_eq!(gp_rao.len(), 1);
    let rao = tokens::token("rao", "user/*.rs", json!({"fhirUser": format!("Practitioner/{}", gp_rao[0]["id"].as_str().unwrap())}));
    let stranger = tokens::token("stranger", "user/*.rs", json!({"fhirUser": "Practitioner/not-named"}));
    let search = "CarePlan?identifier=https://careplan.example/fhir/Id/plan|csp-holroyd-2026";
    let plans: Value = get_as(&srv, Some(&rao), search).json().unwrap();
    let plans = resources(&plans);
    assert_eq!(plans.len(), 1, "shown to someone the consent names");
    let id = plans[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(get_as(&srv, Some(&rao), &format!("CarePlan/{id}/$prsb")).status(), 200);
    let hidden: Value = get_as(&srv, Some(&stranger), search).json().unwrap();
    assert!(resources(&hidden).is_empty(), "withheld from someone it does not name");
    let r = get_as(&srv, Some(&stranger), &format!("CarePlan/{id}"));
    assert_ne!(r.status(), 200);
    assert!(!r.text().unwrap().contains("Holroyd"));
    // The person's own app reads the plan, and stores a change to it.
    let patient: Value = get_as(&srv, Some(&rao), "Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|9990001011").json().unwrap();
    let me = resources(&patient)[0]["id"].as_str().unwrap().to_owned();
    let own = tokens::token("margaret-app", "patient/*.cruds", json!({"patient": me, "fhirUser": format!("Patient/{me}")}));
    let r = get_as(&srv, Some(&own), &format!("CarePlan/{id}/$prsb?includeArchived=true"));
    assert_eq!(r.status(), 200);
    let mut mine: Value = r.json().unwrap();
    mine["goals"][0]["comments"] = json!([{"id": "c-mine", "author": "Margaret Holroyd", "dateTime": "2026-04-03T10:00:00Z", "text": "Walked to the post box and back."}]);
    let r = post_plan(&srv, Some(&own), &mine);
    assert_eq!(r.status(), 200, "{}", r.text().unwrap());
    let r = get_as(&srv, Some(&own), &format!("CarePlan/{id}/$prsb"));
    let after: Value = r.json().unwrap();
    assert_eq!(after["goals"][0]["comments"][0]["text"], "Walked to the post box and back.");
}

#[test]
fn a_posted_plan_that_names_someone_else_s_nhs_number_with_another_birth_date_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let srv = Server::start(dir.path(), &[]);
    store(&srv, &example("frail-older-person-at-home"));
    let mut other = example("copd-smoking-cessation");
    other["person"]["nhsNumber"] = json!("9990001011");
    let r = post_plan(&srv, None, &other);
    assert_eq!(r.status(), 422);
    assert!(r.text().unwrap().contains("born on 1940-02-19"));
}

#[test]
fn a_stored_plan_is_found_by_its_person() {
    let dir = tempfile::tempdir().unwrap();
    let srv = Server::start(dir.path(), &[]);
    store(&srv, &example("copd-smoking-cessation"));
    let person = resources(&srv.bundle("Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|9990003033"));
    let person = person[0]["id"].as_str().unwrap();
    // Stored through a transaction with urn:uuid references, the plan is still the person's.
    assert_eq!(srv.total(&format!("CarePlan?subject=Patient/{person}")), 1);
    let plan = example("copd-smoking-cessation");
    let goals = plan["goals"].as_array().unwrap();
    let with_stages = goals.len() + goals.iter().map(|g| g["stageGoals"].as_array().map_or(0, Vec::len)).sum::<usize>();
    assert_eq!(srv.total(&format!("Goal?subject=Patient/{person}")), with_stages as u64);
}

#[test]
fn a_plan_links_the_gp_s_problem_and_a_known_professional_as_they_are_instead_of_copying_them() {
    let dir = tempfile::tempdir().unwrap();
    let srv = Server::start(dir.path(), &[]);
    let plan = example("stroke-recovery-media");
    let linked = plan["needs"].as_array().unwrap().iter().find(|n| n["fhirReference"].is_string()).expect("the example links a GP problem").clone();
    let gp_problem = linked["fhirReference"].as_str().unwrap();

    // The GP's record holds the person and the problem before any plan does.
    let patient = json!({"resourceType": "Patient", "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": plan["person"]["nhsNumber"]}], "birthDate": plan["person"]["birthDate"]});
    let r = srv.post("Patient", &patient);
    assert_eq!(r.status(), 201);
    let patient_id = r.json::<Value>().unwrap()["id"].as_str().unwrap().to_owned();
    let (_, condition_id) = gp_problem.split_once('/').unwrap();
    let condition = json!({"resourceType": "Condition", "id": condition_id, "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-category", "code": "problem-list-item"}]}],
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "49436004", "display": "Atrial fibrillation"}]}, "subject": {"reference": format!("Patient/{patient_id}")}});
    assert_eq!(srv.put(gp_problem, &condition).status(), 201);
    // The administrator who completed the record is on the server already too.
    let completer = plan["personCompletingRecord"]["fhirReference"].as_str().expect("the example links the person completing the record");
    let (_, completer_id) = completer.split_once('/').unwrap();
    let practitioner = json!({"resourceType": "Practitioner", "id": completer_id, "name": [{"family": "Price", "given": ["Owen"]}]});
    assert_eq!(srv.put(completer, &practitioner).status(), 201);

    store(&srv, &plan);
    let plan_id = plan["id"].as_str().unwrap();
    let stored = care_plan(&srv, plan_id);
    let addresses = stored["addresses"].as_array().unwrap();
    let link = addresses.iter().find(|a| a["reference"] == gp_problem).expect("CarePlan.addresses points at the GP's own Condition");
    assert_eq!(link["display"], linked["freeText"]);
    assert_eq!(link["identifier"]["value"], format!("{plan_id}/{}", linked["id"].as_str().unwrap()));
    // No copy of it, and the GP's record is not written on.
    let copies = srv.total(&format!("Condition?identifier=https://careplan.example/fhir/Id/plan-item|{plan_id}/{}", linked["id"].as_str().unwrap()));
    assert_eq!(copies, 0);
    let gp = srv.get(gp_problem).json::<Value>().unwrap();
    assert_eq!(gp["meta"]["versionId"], "1");
    assert_eq!(srv.total(&format!("Condition?subject=Patient/{patient_id}")), plan["needs"].as_array().unwrap().len() as u64, "the plan's own needs plus the GP's one, on the same Patient");

    // Read back through PRSB as it was posted, and posted again unchanged it writes nothing.
    let back = view(&srv, stored["id"].as_str().unwrap(), "");
    let read = back["needs"].as_array().unwrap().iter().find(|n| n["id"] == linked["id"]).unwrap().clone();
    assert_eq!(read, linked);
    assert_eq!(back["personCompletingRecord"], plan["personCompletingRecord"]);
    assert_eq!(srv.get(completer).json::<Value>().unwrap()["meta"]["versionId"], "1", "a linked Practitioner is not written on");
    assert_eq!(srv.total("Practitioner?name=Price"), 1, "and not copied");
    let before = versions(&srv);
    store(&srv, &plan);
    assert_eq!(versions(&srv), before);

    // Archived by leaving it out, it leaves the plan's live list but not the GP's record.
    let mut without = plan.clone();
    without["needs"].as_array_mut().unwrap().retain(|n| n["id"] != linked["id"]);
    store(&srv, &without);
    let stored = care_plan(&srv, plan_id);
    assert!(!references(&stored["addresses"]).contains(&gp_problem.to_owned()));
    let back = view(&srv, stored["id"].as_str().unwrap(), "?includeArchived=true");
    let read = back["needs"].as_array().unwrap().iter().find(|n| n["id"] == linked["id"]).unwrap().clone();
    assert_eq!(read["archived"], true);
    assert_eq!(read["fhirReference"], gp_problem);
    assert_eq!(srv.get(gp_problem).json::<Value>().unwrap()["meta"]["versionId"], "1");

    // Someone else's problem, or one the server does not hold, is not linked.
    let stranger = srv.post("Patient", &json!({"resourceType": "Patient", "name": [{"text": "Someone Else"}]})).json::<Value>().unwrap();
    let mut theirs = condition.clone();
    theirs["id"] = json!("someone-else-s-problem");
    theirs["subject"]["reference"] = json!(format!("Patient/{}", stranger["id"].as_str().unwrap()));
    assert_eq!(srv.put("Condition/someone-else-s-problem", &theirs).status(), 201);
    for (target, told) in [("Condition/someone-else-s-problem", "not about this plan's person"), ("Condition/nowhere", "not a resource this server holds")] {
        let mut wrong = plan.clone();
        wrong["needs"].as_array_mut().unwrap().iter_mut().find(|n| n["id"] == linked["id"]).unwrap()["fhirReference"] = json!(target);
        let r = post_plan(&srv, None, &wrong);
        assert_eq!(r.status(), 422, "{target}");
        let body = r.text().unwrap();
        assert!(body.contains(told) && body.contains("/needs/3/fhirReference"), "{body}");
    }
    let mut unknown_professional = plan.clone();
    unknown_professional["personCompletingRecord"]["fhirReference"] = json!("Practitioner/nobody-here");
    let r = post_plan(&srv, None, &unknown_professional);
    assert_eq!(r.status(), 422);
    assert!(r.text().unwrap().contains("/personCompletingRecord/fhirReference"));
}

#[test]
fn an_ods_code_names_one_organisation_and_one_site_whichever_plans_name_it() {
    let dir = tempfile::tempdir().unwrap();
    let srv = Server::start(dir.path(), &[]);
    let first = example("copd-smoking-cessation");
    let mut second = first.clone();
    second["id"] = json!("csp-second-plan-2026");
    second["person"] = json!({"name": "Margaret Ince", "nhsNumber": "9990009093", "birthDate": "1950-05-05"});
    second["location"]["freeText"] = json!("The surgery on Hill Road");
    store(&srv, &first);
    store(&srv, &second);

    let funder = first["careFundingSource"]["codedValue"].as_str().unwrap();
    let organisations = resources(&srv.bundle(&format!("Organization?identifier=https://fhir.nhs.uk/Id/ods-organization-code|{funder}")));
    assert_eq!(organisations.len(), 1, "one Organization for {funder}");
    assert!(organisations[0].get("name").is_none(), "a plan's words for its funder are not the funder's name");
    let site = first["location"]["codedValue"].as_str().unwrap();
    assert_eq!(srv.total(&format!("Location?identifier=https://fhir.nhs.uk/Id/ods-site-code|{site}")), 1);

    let organisation = format!("Organization/{}", organisations[0]["id"].as_str().unwrap());
    for plan in [&first, &second] {
        let stored = care_plan(&srv, plan["id"].as_str().unwrap());
        let coverage = resources(&srv.bundle(&format!("Coverage?identifier=https://careplan.example/fhir/Id/plan-item|{}/@care-funding-source", plan["id"].as_str().unwrap())));
        assert_eq!(coverage[0]["payor"][0]["reference"], organisation.as_str());
        // Each plan reads back the site in its own words.
        let back = view(&srv, stored["id"].as_str().unwrap(), "");
        assert_eq!(back["location"], plan["location"]);
        assert_eq!(back["careFundingSource"], plan["careFundingSource"]);
    }
}
