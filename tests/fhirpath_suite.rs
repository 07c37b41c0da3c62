//! The official FHIRPath R4 test suite (`../shared/fhirpath-tests-r4`, found
//! through `common::shared`): every test is evaluated
//! and compared with its expected outputs (type and value, in order). Tests
//! marked `invalid` must fail: syntax errors when parsing, semantic and
//! execution errors when parsing or evaluating. Prints every failure with a
//! reason and asserts the pass rate stays at or above FLOOR.

mod common;

use careplan::fhirpath::{self, EvalContext, Item};
use careplan::tree::Node;
use quick_xml::events::Event;
use quick_xml::Reader;
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::str::FromStr;

/// Passed / total, rounded down from the last measurement.
const FLOOR: f64 = 0.99;

#[derive(Default, Debug)]
struct Case {
    group: String,
    name: String,
    input: Option<String>,
    mode: Option<String>,
    predicate: bool,
    expression: String,
    invalid: Option<String>,
    outputs: Vec<(Option<String>, String)>,
}

fn read_cases(xml: &str) -> Vec<Case> {
    let mut reader = Reader::from_str(xml);
    let mut cases = Vec::new();
    let mut group = String::new();
    let mut cur: Option<Case> = None;
    let mut text = String::new();
    let mut out_type: Option<String> = None;
    let mut in_text = false;
    loop {
        let ev = match reader.read_event() {
            Ok(e) => e,
            Err(e) => panic!("the test file is not XML: {e}"),
        };
        match ev {
            Event::Start(e) | Event::Empty(e) => {
                let attrs: HashMap<String, String> = e
                    .attributes()
                    .flatten()
                    .map(|a| (String::from_utf8_lossy(a.key.as_ref()).to_string(), a.unescape_value().map(|v| v.to_string()).unwrap_or_default()))
                    .collect();
                match e.name().as_ref() {
                    b"group" => group = attrs.get("name").cloned().unwrap_or_default(),
                    b"test" => {
                        cur = Some(Case {
                            group: group.clone(),
                            name: attrs.get("name").cloned().unwrap_or_default(),
                            input: attrs.get("inputfile").cloned(),
                            mode: attrs.get("mode").cloned(),
                            predicate: attrs.get("predicate").map(|p| p == "true").unwrap_or(false),
                            ..Case::default()
                        })
                    }
                    b"expression" => {
                        if let Some(c) = cur.as_mut() {
                            c.invalid = attrs.get("invalid").cloned();
                            if c.mode.is_none() {
                                c.mode = attrs.get("mode").cloned();
                            }
                        }
                        text.clear();
                        in_text = true;
                    }
                    b"output" => {
                        out_type = attrs.get("type").cloned();
                        text.clear();
                        in_text = true;
                    }
                    _ => {}
                }
            }
            Event::Text(t) => {
                if in_text {
                    text.push_str(&t.unescape().map(|s| s.to_string()).unwrap_or_default());
                }
            }
            Event::CData(t) => {
                if in_text {
                    text.push_str(&String::from_utf8_lossy(&t));
                }
            }
            Event::End(e) => match e.name().as_ref() {
                b"expression" => {
                    if let Some(c) = cur.as_mut() {
                        c.expression = text.clone();
                    }
                    in_text = false;
                }
                b"output" => {
                    if let Some(c) = cur.as_mut() {
                        c.outputs.push((out_type.take(), text.clone()));
                    }
                    in_text = false;
                }
                b"test" => cases.extend(cur.take()),
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    cases
}

fn normalize_expected(t: &str) -> String {
    let t = t.trim();
    let t = t.strip_prefix("@T").or_else(|| t.strip_prefix('@')).unwrap_or(t);
    t.to_string()
}

fn same_value(ty: Option<&str>, expected: &str, actual: &str) -> bool {
    let e = normalize_expected(expected);
    if e == actual {
        return true;
    }
    if matches!(ty, Some("decimal") | Some("integer") | None) {
        if let (Ok(a), Ok(b)) = (Decimal::from_str(&e), Decimal::from_str(actual)) {
            return a == b && ty.is_some();
        }
    }
    false
}

fn run_case(case: &Case, docs: &HashMap<String, &'static Node>, ctx: &careplan::context::Context) -> Result<(), String> {
    let parsed = fhirpath::parse(&case.expression);
    let expr = match (&parsed, case.invalid.as_deref()) {
        (Err(_), Some(_)) => return Ok(()),
        (Err(e), None) => return Err(format!("does not parse: {e}")),
        (Ok(_), Some("syntax")) => return Err("parses, but is a syntax error".into()),
        (Ok(e), _) => e,
    };
    let mut env = EvalContext::new(ctx);
    env.strict = true;
    let result = match &case.input {
        Some(f) => {
            let node = docs.get(f).ok_or_else(|| format!("input {f} did not parse"))?;
            let rt = node.resource_type.as_deref().unwrap_or("").to_string();
            fhirpath::evaluate(expr, node, &rt, &env)
        }
        None => fhirpath::evaluate_item(expr, None, &env),
    };
    let result = match (result, case.invalid.as_deref()) {
        (Err(_), Some(_)) => return Ok(()),
        (Ok(r), Some(kind)) => return Err(format!("should fail ({kind}) but gave {} item(s)", r.len())),
        (Err(e), None) => return Err(format!("fails: {e}")),
        (Ok(r), None) => r,
    };
    let result: Vec<(String, String)> = if case.predicate {
        vec![("boolean".into(), (!result.is_empty()).to_string())]
    } else {
        result.iter().map(|i| (i.type_name().to_string(), describe(i))).collect()
    };
    let show = |r: &[(String, String)]| r.iter().map(|(t, v)| format!("{t}:{v}")).collect::<Vec<_>>().join(", ");
    if result.len() != case.outputs.len() {
        return Err(format!("expected [{}] but got [{}]", case.outputs.iter().map(|(t, v)| format!("{}:{v}", t.as_deref().unwrap_or("?"))).collect::<Vec<_>>().join(", "), show(&result)));
    }
    for ((ty, val), (aty, aval)) in case.outputs.iter().zip(&result) {
        let type_ok = ty.as_deref().is_none_or(|t| t == aty);
        if !type_ok || !same_value(ty.as_deref(), val, aval) {
            return Err(format!("expected {}:{} but got [{}]", ty.as_deref().unwrap_or("?"), val, show(&result)));
        }
    }
    Ok(())
}

fn describe(i: &Item<'_>) -> String {
    i.text().unwrap_or_else(|| format!("<{}>", i.type_name()))
}

#[test]
fn official_fhirpath_r4_suite() {
    let Some(dir) = common::shared("fhirpath-tests-r4", "the official FHIRPath R4 suite") else { return };
    let xml = std::fs::read_to_string(dir.join("tests-fhir-r4.xml")).expect("the FHIRPath test suite is in its folder");
    let cases = read_cases(&xml);
    let ctx = common::context();
    let mut docs: HashMap<String, &'static Node> = HashMap::new();
    for c in &cases {
        if let Some(f) = &c.input {
            if !docs.contains_key(f) {
                let bytes = std::fs::read(dir.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
                if let Some(root) = careplan::parse::parse(&bytes, None).root {
                    docs.insert(f.clone(), Box::leak(Box::new(root)));
                }
            }
        }
    }
    let mut passed = 0;
    let mut failures = Vec::new();
    for c in &cases {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_case(c, &docs, &ctx)));
        match outcome {
            Ok(Ok(())) => passed += 1,
            Ok(Err(reason)) => failures.push(format!("{} / {}: {}   [{}]", c.group, c.name, reason, c.expression.replace('\n', " "))),
            Err(_) => failures.push(format!("{} / {}: PANIC   [{}]", c.group, c.name, c.expression)),
        }
    }
    for f in &failures {
        println!("FAIL {f}");
    }
    let rate = passed as f64 / cases.len() as f64;
    println!("FHIRPath R4 suite: {passed}/{} passed ({:.1}%)", cases.len(), rate * 100.0);
    assert!(rate >= FLOOR, "pass rate {rate:.3} fell below {FLOOR}");
    assert!(!failures.iter().any(|f| f.contains("PANIC")), "the engine panicked");
}
