//! How long FHIRPath evaluation takes: `cargo run --release --example
//! fhirpath_speed [N]` evaluates a few invariant-shaped expressions N times
//! (default 1,000,000) against the R4 example Patient.

use careplan::fhirpath::{self, EvalContext};
use careplan::loader::{load, LoadOptions};
use std::time::Instant;

const PATIENT: &str = r#"{"resourceType":"Patient","id":"example","active":true,"gender":"male","birthDate":"1974-12-25",
 "name":[{"use":"official","family":"Chalmers","given":["Peter","James"]},{"use":"usual","given":["Jim"]}],
 "telecom":[{"system":"phone","value":"(03) 5555 6473","use":"work"}]}"#;

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
    let ctx = load(&LoadOptions { offline: true, ..LoadOptions::default() }).expect("definitions load");
    let doc = careplan::parse::parse(PATIENT.as_bytes(), None);
    let root = doc.root.expect("patient parses");
    let env = EvalContext::new(&ctx);
    for src in ["name.given.exists()", "telecom.where(system.exists() and value.empty()).empty()", "birthDate < @2000-01-01 and gender = 'male'"] {
        let expr = fhirpath::parse(src).expect("parses");
        // Warm the definition caches.
        fhirpath::evaluate(&expr, &root, "Patient", &env).expect("evaluates");
        let start = Instant::now();
        let mut count = 0;
        for _ in 0..n {
            count += fhirpath::evaluate(&expr, &root, "Patient", &env).expect("evaluates").len();
        }
        let el = start.elapsed();
        println!("{src:60} {n} evaluations in {:.2?} ({:.0} ns each) [{count}]", el, el.as_nanos() as f64 / n as f64);
    }
}
