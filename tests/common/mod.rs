//! What the integration tests share: one context with the default packages
//! (installed into the package cache on first use), and the binary.
#![allow(dead_code)]

use careplan::context::Context;
use careplan::loader::{load, LoadOptions};
use careplan::validator::{Options, Validator};
use std::sync::{Arc, OnceLock};

pub fn context() -> Arc<Context> {
    static CTX: OnceLock<Arc<Context>> = OnceLock::new();
    CTX.get_or_init(|| Arc::new(load(&LoadOptions::default()).expect("the default FHIR packages load (they are installed on first use)"))).clone()
}

pub fn validator() -> Validator {
    Validator::new(context(), Options::default())
}

pub fn careplan() -> std::process::Command {
    // Make sure the packages are in the cache before the binary is run offline.
    context();
    std::process::Command::new(env!("CARGO_BIN_EXE_careplan"))
}

/// The folder of the R4 examples package in the cache.
pub fn examples_dir() -> std::path::PathBuf {
    context();
    let cache = careplan::package::PackageCache::new(careplan::package::PackageCache::default_root());
    let p = cache.find(&"hl7.fhir.r4.examples#4.0.1".parse().unwrap()).expect("the R4 examples package is installed");
    p.dir
}

/// A validator with more definitions (JSON conformance resources) on top of
/// the packages; differential-only profiles get their snapshots on load.
pub fn validator_with(definitions: &[serde_json::Value]) -> Validator {
    let mut ctx = Context::overlay(context());
    for d in definitions {
        ctx.add_json(d.clone(), "test");
    }
    Validator::new(Arc::new(ctx), Options::default())
}
