//! The fuzz targets run for a bounded number of executions (and at most a
//! bounded time each) from seeds taken from the examples (ours, R4's, and
//! UK Core's and the FHIRPath suite's when ../shared has them); no input may panic.
//! Longer runs: `careplan fuzz --seconds 600`.

mod common;

use careplan::fuzz::{self, Budget, Harness, Target};
use std::path::PathBuf;
use std::time::Duration;

fn budget(target: Target) -> Budget {
    // The validator and the mapper do far more per input than the readers.
    let iterations = match target {
        Target::Validator | Target::Prsb => 3_000,
        _ => 30_000,
    };
    Budget { iterations, time: Duration::from_secs(30) }
}

#[test]
fn no_fuzz_target_panics_on_mutated_examples() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut extra = vec![common::examples_dir()];
    // More seeds when the third-party corpora are there; the project's own are enough to run.
    extra.extend(common::shared("ukcore/examples", "seeds from the UK Core examples"));
    extra.extend(common::shared("fhirpath-tests-r4", "seeds from the FHIRPath suite's inputs"));
    let harness = Harness::new(common::context());
    let crash_dir = root.join("target/fuzz-crashes");
    let mut failures = Vec::new();
    for target in Target::ALL {
        let corpus = fuzz::seed_corpus(target, &root, &extra, &common::context());
        assert!(corpus.len() >= 5, "{}: only {} seeds", target.name(), corpus.len());
        eprintln!("{}: {} seeds", target.name(), corpus.len());
        let report = fuzz::run(&harness, target, &corpus, 0x5eed, budget(target), &crash_dir);
        assert!(report.executions > corpus.len() as u64, "{}: ran no mutations", target.name());
        for path in report.crashes {
            failures.push(format!("{}: {} (replay: careplan fuzz {} --iterations 0 --corpus <dir with that file>)", target.name(), path.display(), target.name()));
        }
    }
    assert!(failures.is_empty(), "inputs that panicked:\n{}", failures.join("\n"));
}

#[test]
fn the_prsb_target_checks_the_round_trip() {
    // The oracle is real: an input that reads as a plan must come back the same.
    let harness = Harness::new(common::context());
    let plan = careplan::prsb::generate::plan(11, true);
    harness.run(Target::Prsb, &serde_json::to_vec(&plan).unwrap());
    // And non-plans are simply refused.
    harness.run(Target::Prsb, b"{\"id\": 5}");
}
