//! `careplan validate` as testers and scripts use it: exit codes, output
//! formats, inputs from files, folders, globs, NDJSON and stdin.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

const VALID: &str = r#"{"resourceType":"Patient","id":"p1","gender":"female"}"#;
const INVALID: &str = "{\n  \"resourceType\": \"Patient\",\n  \"gender\": \"mail\"\n}";

fn run(cmd: &mut Command) -> (i32, String, String) {
    let out = cmd.output().expect("careplan runs");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

fn validate() -> Command {
    let mut c = common::careplan();
    c.args(["validate", "--offline"]);
    c
}

#[test]
fn exit_codes_say_valid_invalid_or_could_not_run() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.json");
    let bad = dir.path().join("bad.json");
    std::fs::write(&good, VALID).unwrap();
    std::fs::write(&bad, INVALID).unwrap();
    assert_eq!(run(validate().arg(&good)).0, 0);
    let (code, stdout, _) = run(validate().arg(&bad));
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains(&format!("{}:3:13: error:", bad.display())), "{stdout}");
    assert!(stdout.contains("[Patient.gender]"), "{stdout}");
    let (code, _, stderr) = run(validate().arg(dir.path().join("missing.json")));
    assert_eq!(code, 2);
    assert!(stderr.contains("no such file"), "{stderr}");
}

#[test]
fn json_output_is_an_operation_outcome_or_a_bundle_of_them() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, INVALID).unwrap();
    let (_, stdout, _) = run(validate().args(["--output", "json"]).arg(&bad));
    let oo: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(oo["resourceType"], "OperationOutcome");
    let issue = oo["issue"].as_array().unwrap().iter().find(|i| i["severity"] == "error").unwrap();
    assert_eq!(issue["expression"][0], "Patient.gender");
    assert!(issue["details"]["text"].as_str().unwrap().contains("mail"));
    let ext = issue["extension"].as_array().unwrap();
    assert!(ext.iter().any(|e| e["url"].as_str().unwrap().ends_with("operationoutcome-issue-line") && e["valueInteger"] == 3));
    assert!(ext.iter().any(|e| e["url"].as_str().unwrap().ends_with("operationoutcome-issue-col") && e["valueInteger"] == 13));

    let good = dir.path().join("good.json");
    std::fs::write(&good, VALID).unwrap();
    let (_, stdout, _) = run(validate().args(["--output", "json"]).arg(&good).arg(&bad));
    let bundle: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(bundle["resourceType"], "Bundle");
    assert_eq!(bundle["entry"].as_array().unwrap().len(), 2);
}

#[test]
fn junit_output_marks_failing_inputs() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.json"), VALID).unwrap();
    std::fs::write(dir.path().join("b.json"), INVALID).unwrap();
    let (code, stdout, _) = run(validate().args(["--output", "junit"]).arg(dir.path()));
    assert_eq!(code, 1);
    assert!(stdout.contains("tests=\"2\" failures=\"1\""), "{stdout}");
}

#[test]
fn level_filters_what_is_printed_but_not_the_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("w.json");
    // An unknown profile is a warning; a bad gender an error.
    std::fs::write(&f, r#"{"resourceType":"Patient","meta":{"profile":["http://nowhere.invalid/p"]},"gender":"mail"}"#).unwrap();
    let (_, all, _) = run(validate().arg(&f));
    assert!(all.contains("warning:") && all.contains("error:"), "{all}");
    let (code, errors_only, _) = run(validate().args(["--level", "error"]).arg(&f));
    assert_eq!(code, 1);
    assert!(!errors_only.contains("warning:") && errors_only.contains("error:"), "{errors_only}");
}

#[test]
fn folders_globs_ndjson_xml_and_stdin() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(dir.path().join("sub/a.json"), VALID).unwrap();
    std::fs::write(dir.path().join("sub/b.xml"), r#"<Patient xmlns="http://hl7.org/fhir"><gender value="mail"/></Patient>"#).unwrap();
    std::fs::write(dir.path().join("c.ndjson"), format!("{VALID}\n{}\n", INVALID.replace('\n', ""))).unwrap();
    let (code, stdout, _) = run(validate().arg(dir.path()));
    assert_eq!(code, 1);
    assert!(stdout.contains("a.json: ok"), "{stdout}");
    assert!(stdout.contains("b.xml:1:38: error:"), "{stdout}");
    assert!(stdout.contains("c.ndjson:2:"), "NDJSON lines are reported by line: {stdout}");

    let pattern = format!("{}/sub/*.json", dir.path().display());
    let (code, stdout, _) = run(validate().arg(&pattern));
    assert_eq!(code, 0, "{stdout}");

    let mut child = validate().arg("-").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(INVALID.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("-:3:13: error:"));
}

#[test]
fn igs_add_definitions() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("profile.json");
    // A profile (with snapshot) that makes Patient.gender mandatory.
    let base: serde_json::Value =
        serde_json::from_slice(&std::fs::read(common::examples_dir().join("StructureDefinition-Patient.json")).unwrap()).unwrap();
    let mut sd = base.clone();
    sd["url"] = "http://example.org/fhir/StructureDefinition/gendered-patient".into();
    sd["derivation"] = "constraint".into();
    sd["baseDefinition"] = "http://hl7.org/fhir/StructureDefinition/Patient".into();
    for e in sd["snapshot"]["element"].as_array_mut().unwrap() {
        if e["path"] == "Patient.gender" {
            e["min"] = 1.into();
        }
    }
    std::fs::write(&profile, sd.to_string()).unwrap();
    let patient = dir.path().join("p.json");
    std::fs::write(&patient, r#"{"resourceType":"Patient","id":"p1"}"#).unwrap();
    assert_eq!(run(validate().arg(&patient)).0, 0);
    let (code, stdout, _) =
        run(validate().arg("--ig").arg(&profile).args(["--profile", "http://example.org/fhir/StructureDefinition/gendered-patient"]).arg(&patient));
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("Patient.gender: minimum required = 1"), "{stdout}");
}

#[test]
fn best_practice_invariants_follow_the_chosen_level() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("no-narrative.json");
    std::fs::write(&f, VALID).unwrap();
    // dom-6 (a resource should have narrative) is a best-practice invariant.
    let (_, default, _) = run(validate().arg(&f));
    assert!(default.contains("warning: Constraint failed: dom-6"), "{default}");
    let (_, ignored, _) = run(validate().args(["--best-practice", "ignore"]).arg(&f));
    assert!(!ignored.contains("dom-6"), "{ignored}");
    let (code, as_error, _) = run(validate().args(["--best-practice", "error"]).arg(&f));
    assert_eq!(code, 1);
    assert!(as_error.contains("error: Constraint failed: dom-6"), "{as_error}");
}

// ------------------------------------------------------------ first contact

#[test]
fn java_validator_single_dash_flags_name_the_careplan_flag() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("p.json");
    std::fs::write(&f, VALID).unwrap();
    for (args, expected) in [
        (&["-ig", "hl7.fhir.uv.ips#2.0.0"][..], "`--ig`"),
        (&["-profile", "http://hl7.org/fhir/StructureDefinition/Patient"][..], "`--profile`"),
        (&["-level", "error"][..], "`--level`"),
        (&["-version", "4.0.1"][..], "R4"),
        (&["-output", "oo.json"][..], "--output json > FILE"),
    ] {
        let (code, stdout, stderr) = run(validate().args(args).arg(&f));
        assert_eq!(code, 2, "{args:?}: {stdout}{stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(stdout.is_empty(), "{args:?}: {stdout}");
    }
}

#[test]
fn a_folder_or_pattern_with_nothing_to_validate_is_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = run(validate().arg(dir.path()));
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(stderr.contains("no FHIR files to validate") && stderr.contains(&dir.path().display().to_string()), "{stderr}");
    assert!(stdout.is_empty());

    // Package metadata and other files are not FHIR inputs either.
    std::fs::write(dir.path().join("package.json"), r#"{"name":"x","version":"1.0.0"}"#).unwrap();
    std::fs::write(dir.path().join("README.md"), "hello").unwrap();
    let (code, _, stderr) = run(validate().arg(dir.path()));
    assert_eq!(code, 2, "{stderr}");
    let (code, _, stderr) = run(validate().arg(format!("{}/*.json", dir.path().display())));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("matches no FHIR files"), "{stderr}");
}

#[test]
fn package_metadata_is_not_validated_as_resources() {
    let dir = tempfile::tempdir().unwrap();
    let package = dir.path().join("package");
    std::fs::create_dir_all(package.join("other")).unwrap();
    std::fs::create_dir_all(package.join(".hidden")).unwrap();
    std::fs::write(package.join("package.json"), r#"{"name":"example.pkg","version":"1.0.0"}"#).unwrap();
    std::fs::write(package.join(".index.json"), r#"{"index-version":1,"files":[]}"#).unwrap();
    std::fs::write(package.join("other/validation-summary.json"), r#"{"errors":0}"#).unwrap();
    std::fs::write(package.join(".hidden/x.json"), "not json").unwrap();
    std::fs::write(package.join("Patient-p1.json"), VALID).unwrap();
    let (code, stdout, stderr) = run(validate().arg(dir.path()));
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(stdout.lines().filter(|l| l.contains(": ok:") || l.contains(": FAILED:")).count(), 1, "{stdout}");
    assert!(stdout.contains("Patient-p1.json: ok"), "{stdout}");
}

#[test]
fn an_unknown_profile_is_exit_2_naming_it_and_what_was_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("p.json");
    std::fs::write(&f, VALID).unwrap();
    let (code, stdout, stderr) = run(validate().args(["--profile", "http://example.org/StructureDefinition/nothing"]).arg(&f));
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("http://example.org/StructureDefinition/nothing"), "{stderr}");
    assert!(stderr.contains("loaded: hl7.fhir.r4.") && stderr.contains("careplan's PRSB profiles") && stderr.contains("--ig"), "{stderr}");

    // A near miss is pointed at.
    let (code, _, stderr) = run(validate().args(["--profile", "http://hl7.org/fhir/StructureDefinition/patient"]).arg(&f));
    assert_eq!(code, 2);
    assert!(stderr.contains("did you mean http://hl7.org/fhir/StructureDefinition/Patient?"), "{stderr}");
}

#[test]
fn progress_lines_on_stderr_when_it_is_not_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..120 {
        std::fs::write(dir.path().join(format!("p{i:03}.json")), if i % 2 == 0 { VALID } else { INVALID }).unwrap();
    }
    let (code, stdout, stderr) = run(validate().env("CAREPLAN_PROGRESS_SECONDS", "0.001").arg(dir.path()));
    assert_eq!(code, 1);
    let line = stderr.lines().find(|l| l.starts_with("validated ")).unwrap_or_else(|| panic!("no progress line: {stderr}"));
    assert!(line.contains(" of 120 files (") && line.contains("/s), ") && line.ends_with(" with errors so far"), "{line}");
    assert!(!stdout.contains("validated "), "progress stays off standard output");

    // Under the interval (5 s by default) a run says nothing but its results.
    let (_, _, stderr) = run(validate().arg(dir.path().join("p000.json")).arg(dir.path().join("p001.json")));
    assert!(stderr.is_empty(), "{stderr}");
}

#[test]
fn log_lines_are_plain_warnings_only_for_real_problems() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("p.json");
    std::fs::write(&f, VALID).unwrap();
    let (code, _, stderr) = run(validate().arg(&f));
    assert_eq!(code, 0);
    assert!(stderr.is_empty(), "nothing but results without -v: {stderr}");
    let (code, _, _) = run(validate().arg("-v").arg(&f));
    assert_eq!(code, 0, "-v is accepted");

    // A definitions folder with a broken file: a warning, said plainly, before any result.
    let defs = dir.path().join("defs");
    std::fs::create_dir(&defs).unwrap();
    std::fs::write(defs.join("broken.json"), "{ not json").unwrap();
    let (code, stdout, stderr) = run(validate().arg("--ig").arg(&defs).arg(&f));
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.starts_with("warning: ") && stderr.contains("broken.json is not JSON"), "{stderr}");
    assert!(!stderr.contains("WARN") && !stderr.contains("careplan::"), "no log-style prefixes: {stderr}");
    assert!(!stdout.contains("broken.json"), "{stdout}");
}

#[test]
fn counts_are_written_with_their_plural() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("p.json");
    std::fs::write(&f, VALID).unwrap();
    // dom-6 (no narrative) is the one issue: one warning, or one error.
    let (_, stdout, _) = run(validate().arg(&f));
    assert!(stdout.contains(": ok: 0 errors, 1 warning, 0 information"), "{stdout}");
    let (_, stdout, _) = run(validate().args(["--best-practice", "error"]).arg(&f));
    assert!(stdout.contains(": FAILED: 1 error, 0 warnings, 0 information"), "{stdout}");
    let (_, stdout, _) = run(validate().args(["--best-practice", "error", "--output", "junit"]).arg(&f));
    assert!(stdout.contains("<failure message=\"1 error\">"), "{stdout}");
}

/// Offline with an empty package cache, `careplan map --validate` (and
/// `validate`) cannot run (exit 2) and say the one command that fills the
/// cache: `careplan package install` (the default set), with `--cache` when
/// the cache was given as a flag; the same cache through
/// `FHIR_PACKAGE_CACHE` needs no flag.
#[test]
fn offline_with_no_package_cache_names_the_command_that_fills_it() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty cache");
    std::fs::create_dir_all(&empty).unwrap();
    let plan = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/prsb/copd-smoking-cessation.json");
    let out = dir.path().join("bundle.json");
    let hint = "`careplan package install` once with network access: it installs the packages every validation loads (R4 core, hl7.terminology.r4, hl7.fhir.uv.extensions.r4)";

    // The cache through the environment, offline through the environment.
    let (code, _, err) = run(common::careplan().args(["map", "--validate"]).arg(&plan).arg("-o").arg(&out).env("FHIR_PACKAGE_CACHE", &empty).env("CAREPLAN_OFFLINE", "1"));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("careplan is offline") && err.contains(hint), "{err}");
    assert!(out.is_file(), "the Bundle was written before validation was asked for");

    // The cache as a flag: the command names it too (quoted, it has a space).
    let (code, _, err) = run(common::careplan().args(["map", "--validate", "--offline", "--cache"]).arg(&empty).arg(&plan).arg("-o").arg(&out).env_remove("CAREPLAN_OFFLINE"));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(&format!("`careplan package install --cache '{}'`", empty.display())), "{err}");
    let (code, _, err) = run(common::careplan().args(["validate", "--offline", "--cache"]).arg(&empty).arg(&plan));
    assert_eq!(code, 2);
    assert!(err.contains("careplan package install --cache"), "{err}");
    // A package of an --ig that is not in the (default) cache is named in the command.
    let (code, _, err) = run(validate().args(["--ig", "example.careplan.absent#0.0.1"]).arg(&plan));
    assert_eq!(code, 2);
    assert!(err.contains("Run `careplan package install example.careplan.absent#0.0.1` once with network access"), "{err}");
}

/// SECURITY_STRING_CONTENT_* and TYPE_SPECIFIC_CHECKS_DT_MARKDOWN_HTML: HTML
/// in a string is a hint, an error with --security-checks; HTML in markdown
/// is a warning, an error with --html-in-markdown error, nothing with ignore.
#[test]
fn html_in_strings_and_markdown_is_reported_as_the_flags_say() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("html.json");
    std::fs::write(&file, r#"{"resourceType":"Communication","status":"completed","note":[{"text":"See <r>the letter</r>"}],"payload":[{"contentString":"<b>Bold</b> <i>move</i>"}]}"#).unwrap();
    let (code, stdout, _) = run(validate().arg(&file));
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("information: The string value contains text that looks like embedded HTML tags. If this content is rendered to HTML") && stdout.contains("[Communication.payload[0].content.ofType(string)]"), "{stdout}");
    assert!(stdout.contains("warning: The markdown contains content that appears to be an embedded HTML tag starting at '<r'"), "{stdout}");
    let (code, stdout, _) = run(validate().args(["--security-checks", "--html-in-markdown", "error"]).arg(&file));
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("error: The string value contains text that looks like embedded HTML tags, which are not allowed for security reasons"), "{stdout}");
    assert!(stdout.contains("error: The markdown contains content"), "{stdout}");
    let (_, stdout, _) = run(validate().args(["--html-in-markdown", "ignore"]).arg(&file));
    assert!(!stdout.contains("The markdown contains"), "{stdout}");
}
