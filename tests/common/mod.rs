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

/// The default packages with careplan's own profiles (`profiles/`) on top,
/// as `careplan validate` loads them.
pub fn context_with_careplan_profiles() -> Arc<Context> {
    static CTX: OnceLock<Arc<Context>> = OnceLock::new();
    CTX.get_or_init(|| {
        let mut ctx = Context::overlay(context());
        careplan::profiles::add_to(&mut ctx).expect("the embedded profiles load");
        Arc::new(ctx)
    })
    .clone()
}

/// The folder of UK Core (`../shared/ukcore`), when it is there.
pub fn ukcore_dir() -> Option<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/ukcore");
    dir.is_dir().then_some(dir)
}

/// Our profiles and UK Core on top of the default packages; `None` when
/// UK Core is absent.
pub fn context_with_careplan_profiles_and_ukcore() -> Option<Arc<Context>> {
    static CTX: OnceLock<Option<Arc<Context>>> = OnceLock::new();
    CTX.get_or_init(|| {
        let dir = ukcore_dir()?;
        let mut ctx = Context::overlay(context_with_careplan_profiles());
        let opts = LoadOptions::default();
        let cache = careplan::package::PackageCache::new(opts.cache.clone());
        careplan::loader::add_source(&mut ctx, &cache, &dir.display().to_string(), &opts, &mut Vec::new()).expect("UK Core loads");
        Some(Arc::new(ctx))
    })
    .clone()
}
