//! `careplan fhirpath`: output formats and exit codes.

mod common;

const PATIENT: &str = r#"{"resourceType":"Patient","id":"p1","birthDate":"1974-12-25","active":true,
  "name":[{"family":"Chalmers","given":["Peter","James"]}]}"#;

fn run(args: &[&str]) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("patient.json");
    std::fs::write(&file, PATIENT).unwrap();
    let out = common::careplan().arg("fhirpath").arg("--offline").args(args).arg(&file).output().expect("careplan runs");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

#[test]
fn prints_the_result_collection_as_text_or_json() {
    let (code, stdout, _) = run(&["name.given"]);
    assert_eq!(code, 0);
    assert_eq!(stdout, "string: Peter\nstring: James\n");
    let (code, stdout, _) = run(&["--output", "json", "birthDate | active | 1.50 | (birthDate > @2000)"]);
    assert_eq!(code, 0);
    assert_eq!(
        stdout.trim(),
        r#"[{"type":"date","value":"1974-12-25"},{"type":"boolean","value":true},{"type":"decimal","value":1.50},{"type":"boolean","value":false}]"#
    );
}

#[test]
fn syntax_errors_exit_2_and_say_where_evaluation_errors_exit_1() {
    let (code, _, stderr) = run(&["name.where("]);
    assert_eq!(code, 2);
    assert!(stderr.contains("column 12"), "{stderr}");
    let (code, _, stderr) = run(&["name.given.single()"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("The function single can only be used on a singleton value"), "{stderr}");
}

#[test]
fn an_empty_result_is_said_on_stderr() {
    let (code, stdout, stderr) = run(&["name.where(family = 'Nobody')"]);
    assert_eq!(code, 0);
    assert!(stdout.is_empty(), "standard output holds the result, which is nothing: {stdout}");
    assert!(stderr.contains("empty") && stderr.contains("name.where(family = 'Nobody')"), "{stderr}");
    let (code, stdout, stderr) = run(&["--output", "json", "name.where(family = 'Nobody')"]);
    assert_eq!(code, 0);
    assert_eq!(stdout.trim(), "[]");
    assert!(stderr.is_empty(), "{stderr}");
}
