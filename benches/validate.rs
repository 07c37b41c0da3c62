//! Corpus throughput (bytes per second) of serde_json, our JSON parser and
//! full validation, over the example resources of the R4 examples package
//! (the corpus `careplan bench` uses). Definitions are loaded once and their
//! caches warmed by validating the corpus before anything is measured.
//!
//! `cargo bench --bench validate`

use careplan::cli::bench_cmd::{corpus, corpus_bytes, examples_dir, CorpusFile};
use careplan::loader::{self, LoadOptions};
use careplan::parse;
use careplan::tree::Format;
use careplan::validator::{Options, Validator};
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use std::sync::Arc;
use std::time::Duration;

fn setup() -> (Validator, Vec<CorpusFile>) {
    let opts = LoadOptions::default();
    let ctx = loader::load(&opts).expect("definitions load from the package cache");
    let files = corpus(&examples_dir(&opts.cache).expect("R4 examples package")).expect("corpus");
    let validator = Validator::new(Arc::new(ctx), Options::default());
    for f in &files {
        black_box(validator.validate_bytes(&f.bytes, Some(Format::Json)));
    }
    (validator, files)
}

fn corpus_throughput(c: &mut Criterion) {
    let (validator, files) = setup();
    let bytes = corpus_bytes(&files);
    let mut g = c.benchmark_group("corpus");
    g.throughput(Throughput::Bytes(bytes));
    g.sample_size(10);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(8));
    g.bench_function("serde_json_value", |b| {
        b.iter(|| {
            for f in &files {
                black_box(serde_json::from_slice::<serde_json::Value>(&f.bytes).unwrap());
            }
        })
    });
    g.bench_function("parse", |b| {
        b.iter(|| {
            for f in &files {
                black_box(parse::parse(&f.bytes, Some(Format::Json)));
            }
        })
    });
    g.bench_function("validate", |b| {
        b.iter(|| {
            for f in &files {
                black_box(validator.validate_bytes(&f.bytes, Some(Format::Json)));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, corpus_throughput);
criterion_main!(benches);
