//! Bad input gets issues, never a panic: real resources, cut short or with
//! bytes changed at random, through the parsers and the whole validator.

mod common;

use proptest::prelude::*;
use std::sync::OnceLock;

fn seeds() -> &'static Vec<Vec<u8>> {
    static SEEDS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let dir = common::examples_dir();
        let mut out: Vec<Vec<u8>> = ["Patient-example.json", "CarePlan-example.json", "Bundle-bundle-example.json", "Questionnaire-f201.json", "Observation-blood-pressure.json"]
            .iter()
            .filter_map(|f| std::fs::read(dir.join(f)).ok())
            .collect();
        out.push(br#"<Patient xmlns="http://hl7.org/fhir"><id value="x"/><text><status value="generated"/><div xmlns="http://www.w3.org/1999/xhtml"><p>Hi</p></div></text><name><given value="A"/></name></Patient>"#.to_vec());
        out
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, .. ProptestConfig::default() })]

    #[test]
    fn mutated_resources_never_panic(seed in 0usize..6, edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8), cut in any::<usize>()) {
        let seeds = seeds();
        let mut bytes = seeds[seed % seeds.len()].clone();
        for (at, b) in edits {
            let i = at % bytes.len();
            // Structural characters are where parsers break; favour them.
            let choices = [b'{', b'}', b'[', b']', b'"', b',', b':', b'<', b'>', b'/', b'\\', b'&', b];
            bytes[i] = choices[usize::from(b) % choices.len()];
        }
        if cut % 3 == 0 {
            bytes.truncate(cut % (bytes.len() + 1));
        }
        let validator = common::validator();
        let issues = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| validator.validate_bytes(&bytes, None)));
        prop_assert!(issues.is_ok(), "the validator panicked");
    }
}
