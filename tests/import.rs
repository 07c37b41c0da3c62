//! `careplan import`: the three example exports (a council's CSV pair, a
//! community trust's workbook, a vendor's JSON) become PRSB plans and FHIR
//! Bundles that validate; `--check` reports bad rows by row and column;
//! `--init` starts a mapping from the headers; a later export archives what
//! it no longer has, in a folder and on a real server on loopback.

mod common;
mod server_support;

use serde_json::{json, Value};
use server_support::Server;
use std::path::{Path, PathBuf};

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/import").join(name)
}

/// Runs `careplan import ARGS`; returns the exit code and the JSON report (with --json) or stderr.
fn import(args: &[&str]) -> (i32, Value, String) {
    let out = common::careplan().arg("import").args(args).arg("--json").arg("--offline").output().unwrap();
    let report = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), report, String::from_utf8_lossy(&out.stderr).into_owned())
}

fn inputs(dir: &Path, names: &[&str]) -> Vec<String> {
    names.iter().map(|n| dir.join(n).display().to_string()).collect()
}

fn read_plan(path: &Path) -> Value {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    careplan::prsb::read(&bytes).unwrap_or_else(|p| panic!("{} does not read as a PRSB plan: {p:?}", path.display()));
    serde_json::from_slice(&bytes).unwrap()
}

fn item<'a>(plan: &'a Value, list: &str, id: &str) -> &'a Value {
    plan[list].as_array().and_then(|a| a.iter().find(|i| i["id"] == id)).unwrap_or_else(|| panic!("no {list} item {id} in {plan:#}"))
}

#[test]
fn council_csv_pair_becomes_one_prsb_plan_per_person() {
    let dir = example("la-social-care");
    let out = tempfile::tempdir().unwrap();
    let mapping = dir.join("mapping.toml").display().to_string();
    let mut args = vec!["--mapping", &mapping, "--out", out.path().to_str().unwrap()];
    let files = inputs(&dir, &["people.csv", "plan_items.csv"]);
    args.extend(files.iter().map(String::as_str));
    let (code, report, stderr) = import(&args);
    assert_eq!(code, 0, "{report:#}\n{stderr}");
    assert_eq!(report["people"], 3);
    assert_eq!(report["errors"], 0, "{report:#}");
    // Every row is accounted for: 3 people and 20 plan items, each read into a plan.
    assert_eq!((report["rows"].as_u64(), report["imported"].as_u64(), report["warnings"].as_u64()), (Some(23), Some(23), Some(0)));
    assert_eq!(report["written"].as_array().unwrap().len(), 3);

    let plan = read_plan(&out.path().join("la-LA-100231.json"));
    assert_eq!(plan["person"]["name"], "Margaret Holroyd");
    assert_eq!(plan["person"]["birthDate"], "1940-02-19");
    assert_eq!(plan["careFundingSource"]["kind"], "localAuthority");
    assert_eq!(plan["plannedReviewDate"], "2026-06");
    assert_eq!(plan["agreement"]["agreedBy"], "person");
    assert_eq!(plan["agreement"]["dateAgreed"], "2026-03-12T15:40:00Z");
    let goal = item(&plan, "goals", "G-1");
    assert_eq!(goal["goalImportanceScore"], 10);
    assert_eq!(goal["needIds"], json!(["N-1", "N-2"]));
    assert_eq!(goal["goalStatus"]["state"], "inProgress");
    // The council's category, through its ConceptMap, to SNOMED CT (implied in the PRSB format).
    assert_eq!(item(&plan, "needs", "N-1")["codedValue"], json!({"code": "129839007", "display": "At risk for falls"}));
    assert_eq!(item(&plan, "needs", "N-2")["kind"], "concern");
    let action = item(&plan, "actions", "A-1");
    assert_eq!(action["status"]["state"], "done");
    assert_eq!(action["who"]["role"]["text"], "Occupational therapist");
    assert_eq!(action["when"], json!({"start": "2026-01-08", "end": "2026-01-22"}));
    assert_eq!(action["dateLastUpdated"], "2026-01-22T16:00:00Z");
    assert_eq!(item(&plan, "strengths", "S-2")["goalIds"], json!(["G-1", "G-2"]));

    let not_agreed = read_plan(&out.path().join("la-LA-100512.json"));
    assert_eq!(not_agreed["agreement"]["agreed"], false);
    assert!(not_agreed["agreement"]["reasonNotObtained"].as_str().unwrap().contains("hospital"));
    // What the export has and the mapping does not read is said.
    assert_eq!(report["unused_columns"]["plan_items.csv"], json!([]));
    assert_eq!(report["unused_columns"]["people.csv"], json!(["Last Assessment"]));
}

#[test]
fn workbook_and_vendor_json_become_fhir_bundles_that_validate() {
    for (name, files, people) in [("community-health", vec!["caseload.xlsx"], 2), ("vendor-json", vec!["clients.json"], 2)] {
        let dir = example(name);
        let out = tempfile::tempdir().unwrap();
        let mapping = dir.join("mapping.toml").display().to_string();
        let mut args = vec!["--mapping", &mapping, "--to", "fhir", "--out", out.path().to_str().unwrap()];
        let files = inputs(&dir, &files);
        args.extend(files.iter().map(String::as_str));
        let (code, report, stderr) = import(&args);
        assert_eq!(code, 0, "{name}: {report:#}\n{stderr}");
        assert_eq!(report["people"], people, "{name}");
        assert_eq!(report["plans_valid"], people, "{name}: {report:#}");
        let validator = careplan::validator::Validator::new(common::context_with_careplan_profiles(), Default::default());
        for file in report["written"].as_array().unwrap() {
            let bytes = std::fs::read(file.as_str().unwrap()).unwrap();
            let bundle: Value = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(bundle["type"], "transaction");
            let errors: Vec<_> = validator.validate_bytes(&bytes, None).into_iter().filter(|i| i.severity.is_error()).collect();
            assert!(errors.is_empty(), "{file}: {errors:?}");
        }
    }
    // The vendor's nested tasks joined their goals through `^goalId`, and the Excel dates read as dates.
    let out = tempfile::tempdir().unwrap();
    let dir = example("vendor-json");
    let (code, _, stderr) = import(&["--mapping", dir.join("mapping.toml").to_str().unwrap(), "--out", out.path().to_str().unwrap(), dir.join("clients.json").to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let plan = read_plan(&out.path().join("v-V-88213.json"));
    assert_eq!(item(&plan, "actions", "tk-2")["goalIds"], json!(["gl-1"]));
    assert_eq!(item(&plan, "actions", "tk-3")["who"]["name"], "Community neuro rehab team");
    assert_eq!(plan["person"]["name"], "Grace Adeyemi");
    assert_eq!(plan["agreement"]["dateAgreed"], "2026-04-20T14:05:00+01:00");
    let dir = example("community-health");
    let (code, _, stderr) = import(&["--mapping", dir.join("mapping.toml").to_str().unwrap(), "--out", out.path().to_str().unwrap(), dir.join("caseload.xlsx").to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let plan = read_plan(&out.path().join("ch-CH-0001.json"));
    assert_eq!(plan["person"]["birthDate"], "1951-05-02");
    assert_eq!(item(&plan, "actions", "A1")["when"]["start"], "2026-03-02");
    assert_eq!(item(&plan, "goals", "G2")["outcomes"][0]["dateRecorded"], "2026-03-20T10:30:00Z");
    assert_eq!(item(&plan, "needs", "N1")["codedValue"]["code"], "13645005");
}

#[test]
fn check_reports_each_bad_row_by_row_and_column_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let example_dir = example("la-social-care");
    std::fs::copy(example_dir.join("people.csv"), dir.path().join("people.csv")).unwrap();
    std::fs::copy(example_dir.join("needs.conceptmap.json"), dir.path().join("needs.conceptmap.json")).unwrap();
    std::fs::copy(example_dir.join("mapping.toml"), dir.path().join("mapping.toml")).unwrap();
    std::fs::write(
        dir.path().join("plan_items.csv"),
        "Person ID,Item Ref,Item Type,Category,Description,Why It Matters,Importance,Linked Items,Status,Responsible,Responsible Role,Team,Start,End,Confidence,Review Date,Last Updated\n\
         LA-100231,G-1,GOAL,,Stay at home.,,12,,OPEN,,,,,,,,\n\
         LA-100231,A-1,ACTION,,Grab rails.,,,G-9,DONE,,,,31/02/2026,,,,\n\
         LA-999999,G-1,GOAL,,Nobody's goal.,,5,,OPEN,,,,,,,,\n\
         LA-100487,G-1,GOAL,,A goal.,,5,,WHATEVER,,,,,,,,\n\
         LA-100487,N-1,NEED,NOPE,A need.,,,,,,,,,,,,\n\
         LA-100487,R-1,REVIEW,,A row of a kind no table takes.,,,,,,,,,,,,\n",
    )
    .unwrap();
    let files = inputs(dir.path(), &["people.csv", "plan_items.csv"]);
    let mut args = vec!["--check".to_owned(), "--mapping".to_owned(), dir.path().join("mapping.toml").display().to_string()];
    args.extend(files);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, report, stderr) = import(&args);
    assert_eq!(code, 1, "{report:#}\n{stderr}");
    let problems = report["problems"].as_array().unwrap();
    let at = |row: u64, column: &str, words: &str| {
        problems.iter().any(|p| p["input"] == "plan_items.csv" && p["row"] == row && p["column"] == column && p["message"].as_str().unwrap().contains(words))
    };
    assert!(at(2, "Importance", "out of range"), "{problems:#?}");
    assert!(at(3, "Start", "not a date"), "{problems:#?}");
    assert!(at(5, "Status", "[codes.goal-status]"), "{problems:#?}");
    assert!(at(6, "Category", "[codes.need-category]"), "{problems:#?}");
    // A goal whose person is in no plan row, and an action whose goal is not in the export.
    assert!(problems.iter().any(|p| p["row"] == 4 && p["message"].as_str().unwrap().contains("LA-999999")), "{problems:#?}");
    assert!(problems.iter().any(|p| p["row"] == 3 && p["message"].as_str().unwrap().contains("G-9")), "{problems:#?}");
    assert!(problems.iter().any(|p| p["row"] == 7 && p["severity"] == "warning" && p["message"].as_str().unwrap().contains("no table takes this row")), "{problems:#?}");
    // Items no one has: LA-100512 has no items at all here, so whyItMatters is empty for everyone.
    assert_eq!(report["empty"]["goals:whyItMatters"], 3);
    assert_eq!(report["written"], json!([]));
    assert!(std::fs::read_dir(dir.path()).unwrap().all(|e| !e.unwrap().file_name().to_string_lossy().starts_with("la-")));
}

#[test]
fn init_starts_a_mapping_from_the_headers() {
    let dir = example("la-social-care");
    let out = common::careplan().args(["import", "--init"]).arg(dir.join("people.csv")).arg(dir.join("plan_items.csv")).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let mapping: toml::Table = toml::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let tables = mapping["table"].as_array().unwrap();
    assert_eq!(tables.len(), 2);
    assert_eq!(tables[0]["input"].as_str(), Some("people.csv"));
    assert_eq!(tables[0]["section"].as_str(), Some("plan"));
    assert_eq!(tables[0]["person"].as_str(), Some("Person ID"));
    assert_eq!(tables[0]["fields"]["person.nhsNumber"].as_str(), Some("NHS No"));
    assert_eq!(tables[0]["fields"]["person.birthDate"].as_str(), Some("Date of Birth"));
    // Every PRSB item of the section is listed for the integrator, and the columns left over.
    assert_eq!(tables[0]["fields"]["plannedReviewDate"].as_str(), Some("Next Review"));
    assert!(text.contains("# \"careFundingSource.kind\" = \"COLUMN\""), "{text}");
    assert!(text.contains("# columns not used yet: Forename, Surname"), "{text}");
    assert!(text.contains("# columns not used yet:"), "{text}");
}

/// The council's export, minus one goal's row and one action's row.
fn later_export(dir: &Path) {
    let example_dir = example("la-social-care");
    for f in ["people.csv", "needs.conceptmap.json", "mapping.toml"] {
        std::fs::copy(example_dir.join(f), dir.join(f)).unwrap();
    }
    let items = std::fs::read_to_string(example_dir.join("plan_items.csv")).unwrap();
    let kept: Vec<&str> = items.lines().filter(|l| !l.starts_with("LA-100487,G-2,") && !l.starts_with("LA-100487,A-2,")).collect();
    std::fs::write(dir.join("plan_items.csv"), kept.join("\n") + "\n").unwrap();
}

#[test]
fn a_later_export_archives_what_it_no_longer_has() {
    let out = tempfile::tempdir().unwrap();
    let dir = example("la-social-care");
    let first: Vec<String> = ["--mapping", dir.join("mapping.toml").to_str().unwrap(), "--out", out.path().to_str().unwrap()].iter().map(|s| s.to_string()).chain(inputs(&dir, &["people.csv", "plan_items.csv"])).collect();
    let (code, _, stderr) = import(&first.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 0, "{stderr}");
    let later = tempfile::tempdir().unwrap();
    later_export(later.path());
    let second: Vec<String> = ["--mapping", later.path().join("mapping.toml").to_str().unwrap(), "--out", out.path().to_str().unwrap()].iter().map(|s| s.to_string()).chain(inputs(later.path(), &["people.csv", "plan_items.csv"])).collect();
    let (code, report, stderr) = import(&second.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 0, "{report:#}\n{stderr}");
    let archived: Vec<&str> = report["archived"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert_eq!(archived, ["la-LA-100487 G-2", "la-LA-100487 A-2"], "{report:#}");
    let plan = read_plan(&out.path().join("la-LA-100487.json"));
    let goal = item(&plan, "goals", "G-2");
    assert_eq!(goal["archived"], true);
    assert!(goal["archivedReason"].as_str().unwrap().contains("Left out"));
    assert_eq!(goal["freeText"], "Eat a cooked meal every day.");
    assert_eq!(item(&plan, "goals", "G-1")["archived"], Value::Null);
    // Through FHIR the same: a Bundle folder re-imported keeps the archived goal.
    let fhir = tempfile::tempdir().unwrap();
    for args in [&first, &second] {
        let mut a: Vec<String> = args.clone();
        let pos = a.iter().position(|x| x == "--out").unwrap();
        a[pos + 1] = fhir.path().display().to_string();
        a.insert(0, "fhir".into());
        a.insert(0, "--to".into());
        let (code, _, stderr) = import(&a.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(code, 0, "{stderr}");
    }
    let bundle: Value = serde_json::from_slice(&std::fs::read(fhir.path().join("la-LA-100487.bundle.json")).unwrap()).unwrap();
    let resources = careplan::prsb::unmap::read_resources(&serde_json::to_vec(&bundle).unwrap()).unwrap();
    let plan = careplan::prsb::unmap::unmap(&resources, None).unwrap();
    let goal = plan.goals.iter().find(|g| g.id == "G-2").unwrap();
    assert!(goal.archived, "{goal:?}");
}

#[test]
fn post_stores_each_plan_on_a_real_server_and_a_later_export_archives() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let example_dir = example("la-social-care");
    let base = server.base.clone();
    let run = |d: &Path| {
        let args: Vec<String> = ["--mapping", d.join("mapping.toml").to_str().unwrap(), "--post", &base].iter().map(|s| s.to_string()).chain(inputs(d, &["people.csv", "plan_items.csv"])).collect();
        import(&args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let (code, report, stderr) = run(&example_dir);
    assert_eq!(code, 0, "{report:#}\n{stderr}\n{}", server.log_text());
    assert_eq!(report["posted"].as_array().unwrap().len(), 3);
    let plans = server.bundle("CarePlan?_count=50");
    assert_eq!(plans["total"], 3, "{plans:#}");
    let later = tempfile::tempdir().unwrap();
    later_export(later.path());
    let (code, report, stderr) = run(later.path());
    assert_eq!(code, 0, "{report:#}\n{stderr}");
    // The goal the later export left out is archived in the stored plan, not deleted.
    let care_plan = server.bundle("CarePlan?_count=50")["entry"].as_array().unwrap().iter().map(|e| e["resource"].clone()).find(|r| r.to_string().contains("LA-100487") || r.to_string().contains("Derek")).expect("Derek's plan is stored");
    let view = server.get(&format!("CarePlan/{}/$prsb?includeArchived=true", care_plan["id"].as_str().unwrap()));
    assert!(view.status().is_success());
    let view: Value = view.json().unwrap();
    let goal = view["goals"].as_array().unwrap().iter().find(|g| g["id"] == "G-2").expect("the goal is kept");
    assert_eq!(goal["archived"], true, "{view:#}");
}

/// A mapping's own mistakes are said at their line and column in the mapping file.
#[test]
fn mapping_errors_name_the_line_and_column_of_the_mapping() {
    let example_dir = example("la-social-care");
    let original = std::fs::read_to_string(example_dir.join("mapping.toml")).unwrap();
    let line_of = |text: &str, needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
    for (from, to, words) in [
        ("\"person.nhsNumber\" = \"NHS No\"", "\"person.nhsNumber\" = \"NHS Number\"", "does not have"),
        ("\"plannedReviewDate\" = \"Next Review\"", "\"plannedReviewDay\" = \"Next Review\"", "is not an item of `plan`"),
        ("date_formats = [\"%d/%m/%Y\"", "date_formats = [\"%d/%m/%Y%\"", "is not a date pattern"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        for f in ["people.csv", "plan_items.csv", "needs.conceptmap.json"] {
            std::fs::copy(example_dir.join(f), dir.path().join(f)).unwrap();
        }
        let broken = original.replacen(from, to, 1);
        assert_ne!(broken, original, "{from}");
        std::fs::write(dir.path().join("mapping.toml"), &broken).unwrap();
        let out = common::careplan()
            .args(["import", "--check", "--mapping"])
            .arg(dir.path().join("mapping.toml"))
            .arg(dir.path().join("people.csv"))
            .arg(dir.path().join("plan_items.csv"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{to}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let line = line_of(&broken, to.split(" = ").next().unwrap());
        assert!(stderr.contains(&format!("mapping.toml:{line}:")), "{to}: {stderr}");
        assert!(stderr.contains(words), "{to}: {stderr}");
    }
}
