//! FHIRPath evaluation speed: invariant-shaped expressions against a Patient,
//! parsed once and evaluated many times, as the validator does.
//! `cargo bench --bench fhirpath`

use careplan::fhirpath::{self, EvalContext};
use careplan::loader::{load, LoadOptions};
use criterion::{criterion_group, criterion_main, Criterion};

const PATIENT: &str = r#"{"resourceType":"Patient","id":"example","active":true,"gender":"male","birthDate":"1974-12-25",
 "name":[{"use":"official","family":"Chalmers","given":["Peter","James"]},{"use":"usual","given":["Jim"]}],
 "telecom":[{"system":"phone","value":"(03) 5555 6473","use":"work"}]}"#;

fn evaluation(c: &mut Criterion) {
    let ctx = load(&LoadOptions::default()).expect("definitions load");
    let doc = careplan::parse::parse(PATIENT.as_bytes(), None);
    let root = doc.root.expect("patient parses");
    let env = EvalContext::new(&ctx);
    let mut group = c.benchmark_group("fhirpath");
    for src in ["name.given.exists()", "telecom.where(system.exists() and value.empty()).empty()", "birthDate < @2000-01-01 and gender = 'male'"] {
        let expr = fhirpath::parse(src).expect("parses");
        group.bench_function(src, |b| b.iter(|| fhirpath::evaluate(&expr, &root, "Patient", &env).expect("evaluates")));
    }
    group.finish();
}

criterion_group!(benches, evaluation);
criterion_main!(benches);
