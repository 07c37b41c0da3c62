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

/// The issues of `resource` (JSON) against the default packages with `definitions` on top.
pub fn issues_with(definitions: &[serde_json::Value], resource: &serde_json::Value) -> Vec<careplan::issue::Issue> {
    validator_with(definitions).validate_bytes(resource.to_string().as_bytes(), Some(careplan::tree::Format::Json))
}

/// Whether an issue of this severity sits at `expression` with `fragment` in its message.
pub fn has(issues: &[careplan::issue::Issue], severity: careplan::issue::Severity, expression: &str, fragment: &str) -> bool {
    issues.iter().any(|i| i.severity == severity && i.expression == expression && i.message.contains(fragment))
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

// ------------------------------------------------------------------ ../shared
//
// The third-party corpora (the fhir-test-cases conformance cases, UK Core,
// the FHIRPath suite, the PRSB outline) are not ours to commit; they sit in
// `../shared` beside a working copy that has them. A test that needs one
// finds it through `shared`, and only through it (`.ci/run` greps for
// `common::shared` to know which test binaries to run in its fresh-clone
// pass), so absence is handled one way: one visible line, or a failure
// when `CAREPLAN_REQUIRE_SHARED=1`.

/// Where the corpora are: `CAREPLAN_SHARED_DIR` (`none` or empty: nowhere,
/// as a fresh clone sees it), else `../shared` beside the project.
pub fn shared_root() -> Option<std::path::PathBuf> {
    match std::env::var_os("CAREPLAN_SHARED_DIR") {
        Some(v) if v.is_empty() || v == "none" => None,
        Some(v) => Some(std::path::PathBuf::from(v)),
        None => Some(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared")),
    }
}

/// `rel` inside the corpora (`ukcore`, `fhir-test-cases-r4/manifest.json`),
/// when it is there. When it is not, says in one line which test skipped
/// `what` and why, or fails the test under `CAREPLAN_REQUIRE_SHARED=1`.
pub fn shared(rel: &str, what: &str) -> Option<std::path::PathBuf> {
    let path = shared_root().map(|root| root.join(rel));
    if let Some(p) = path.as_ref().filter(|p| p.exists()) {
        return Some(p.clone());
    }
    let wanted = match &path {
        Some(p) => format!("{} is absent", p.display()),
        None => format!("CAREPLAN_SHARED_DIR=none hides ../shared/{rel}"),
    };
    let test = format!("{}::{}", env!("CARGO_CRATE_NAME"), std::thread::current().name().unwrap_or("?"));
    if std::env::var("CAREPLAN_REQUIRE_SHARED").is_ok_and(|v| v == "1") {
        panic!("{test} needs ../shared/{rel} for {what}, but {wanted}; CAREPLAN_REQUIRE_SHARED=1 forbids skipping it (put the corpora in ../shared, or point CAREPLAN_SHARED_DIR at them)");
    }
    // Written straight to stderr: the test harness captures eprintln! of a
    // passing test, and a skip must show in the ordinary `cargo test` output.
    // One write, starting a line of its own, so that the harness's lines
    // from other threads (`test x ... ok`) cannot split it.
    use std::io::Write;
    let line = format!("\nskipped: {test}: {what} ({wanted}; see README, \"Third-party test corpora\")\n");
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
    None
}

/// Our profiles and UK Core (`../shared/ukcore`) on top of the default
/// packages; `None`, after saying what is skipped, when UK Core is absent.
pub fn shared_ukcore_context(what: &str) -> Option<Arc<Context>> {
    let dir = shared("ukcore", what)?;
    static CTX: OnceLock<Arc<Context>> = OnceLock::new();
    Some(
        CTX.get_or_init(|| {
            let mut ctx = Context::overlay(context_with_careplan_profiles());
            let opts = LoadOptions::default();
            let cache = careplan::package::PackageCache::new(opts.cache.clone());
            careplan::loader::add_source(&mut ctx, &cache, &dir.display().to_string(), &opts, &mut Vec::new()).expect("UK Core loads");
            Arc::new(ctx)
        })
        .clone(),
    )
}
