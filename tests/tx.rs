//! `--tx`: what the loaded packages cannot decide is asked of a terminology
//! server. The server here is careplan's own `$validate-code` answer
//! (`Terminology::validate_code_parameters`) on loopback, holding a value set
//! the validating side does not have.

mod common;

use careplan::context::Context;
use careplan::issue::Issue;
use careplan::terminology::Terminology;
use careplan::validator::{Options, Validator};
use serde_json::json;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

const VALUE_SET: &str = "http://example.org/fhir/ValueSet/colours";

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(v) => {
                        out.push(v);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A terminology server on 127.0.0.1 answering ValueSet/$validate-code; returns its base URL and a request counter.
fn terminology_server() -> (String, Arc<AtomicUsize>) {
    let mut ctx = Context::overlay(common::context());
    ctx.add_json(json!({"resourceType": "ValueSet", "url": VALUE_SET, "name": "Colours", "status": "active",
        "compose": {"include": [{"system": "http://example.org/fhir/CodeSystem/colours", "concept": [{"code": "red"}, {"code": "green"}]}]}}), "tx");
    let terminology = Terminology::new(Arc::new(ctx));
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/fhir", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(50) {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).map_or(true, |n| n == 0) || header == "\r\n" {
                    break;
                }
            }
            seen.fetch_add(1, Ordering::SeqCst);
            let target = request_line.split_whitespace().nth(1).unwrap_or_default().to_string();
            let (path, query) = target.split_once('?').unwrap_or((&target, ""));
            let param = |name: &str| query.split('&').find_map(|kv| kv.split_once('=').filter(|(k, _)| *k == name).map(|(_, v)| percent_decode(v)));
            let (status, body) = if path.ends_with("/ValueSet/$validate-code") {
                let answer = terminology.validate_code_parameters(&param("url").unwrap_or_default(), param("system").as_deref(), &param("code").unwrap_or_default());
                ("200 OK", answer.to_string())
            } else {
                ("404 Not Found", json!({"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "not-found"}]}).to_string())
            };
            let _ = write!(stream, "HTTP/1.1 {status}\r\nContent-Type: application/fhir+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
        }
    });
    (base, count)
}

/// A profile binding Basic.code to the colours, which the validating side does not hold.
fn validator(tx: Option<String>) -> Validator {
    let mut ctx = Context::overlay(common::context());
    ctx.add_json(
        json!({"resourceType": "StructureDefinition", "url": "http://example.org/fhir/StructureDefinition/coloured", "name": "Coloured",
            "status": "draft", "kind": "resource", "abstract": false, "type": "Basic", "derivation": "constraint",
            "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Basic",
            "differential": {"element": [{"id": "Basic.code", "path": "Basic.code", "binding": {"strength": "required", "valueSet": VALUE_SET}}]}}),
        "client",
    );
    Validator::new(Arc::new(ctx), Options { tx, ..Options::default() })
}

fn errors(v: &Validator, code: &str) -> Vec<Issue> {
    let basic = format!(
        r#"{{"resourceType":"Basic","meta":{{"profile":["http://example.org/fhir/StructureDefinition/coloured"]}},
        "code":{{"coding":[{{"system":"http://example.org/fhir/CodeSystem/colours","code":"{code}"}}]}}}}"#
    );
    v.validate_bytes(basic.as_bytes(), None).into_iter().filter(|i| i.severity.is_error()).collect()
}

#[test]
fn codes_the_packages_cannot_decide_are_asked_of_the_terminology_server() {
    // Without a server, the value set is unknown: nothing is claimed.
    assert!(errors(&validator(None), "purple").is_empty());

    let (base, requests) = terminology_server();
    let v = validator(Some(base));
    assert!(errors(&v, "red").is_empty(), "{:#?}", errors(&v, "red"));
    let wrong = errors(&v, "purple");
    assert!(wrong.iter().any(|i| i.message.contains("None of the codings provided are in the value set")), "{wrong:#?}");
    let asked = requests.load(Ordering::SeqCst);
    assert!(asked >= 2, "the server was asked {asked} times");
    // Each question is asked once.
    errors(&v, "purple");
    assert_eq!(requests.load(Ordering::SeqCst), asked);
}
