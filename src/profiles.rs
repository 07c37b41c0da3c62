//! Our conformance resources for the PRSB care and support plan: the
//! profiles, extensions, code systems, value sets and concept maps of
//! `profiles/` (one JSON file each, described in docs/mapping.md), embedded
//! in the binary so `careplan validate` knows them without any `--ig`.
//!
//! The files are embedded by `build.rs` (a table of `include_str!`s, no
//! extra dependency). The profiles are differentials; the context generates
//! their snapshots on first use, as for any implementation guide.

use crate::context::Context;
use anyhow::{Context as _, Result};

/// The canonical base of everything we define (`.example` is reserved for
/// documentation: a deployment with its own domain changes it here and in
/// every file of `profiles/`).
pub const BASE: &str = "https://careplan.example/fhir";

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/profile_files.rs"));
}

/// Every embedded file: (file name, JSON text), by name.
pub fn files() -> impl Iterator<Item = (&'static str, &'static str)> {
    embedded::FILES.iter().copied()
}

/// One embedded file by name, such as `ConceptMap-prsb-goal-status-to-r4.json`.
pub fn file(name: &str) -> Option<&'static str> {
    embedded::FILES.iter().find(|(n, _)| *n == name).map(|(_, text)| *text)
}

/// The canonical URL of one of our definitions: `url("StructureDefinition", "prsb-goal")`.
pub fn url(resource_type: &str, id: &str) -> String {
    format!("{BASE}/{resource_type}/{id}")
}

/// Registers every embedded resource in `ctx`; returns how many.
pub fn add_to(ctx: &mut Context) -> Result<usize> {
    let mut added = 0;
    for (name, text) in files() {
        let value: serde_json::Value = serde_json::from_str(text).with_context(|| format!("embedded profiles/{name} is not JSON"))?;
        added += ctx.add_json(value, &format!("careplan profiles/{name}"));
    }
    ctx.add_source_name("careplan's PRSB profiles");
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_is_named_after_its_resource_and_lives_under_the_base() {
        let mut n = 0;
        for (name, text) in files() {
            let v: serde_json::Value = serde_json::from_str(text).unwrap();
            let (rt, id) = (v["resourceType"].as_str().unwrap(), v["id"].as_str().unwrap());
            assert_eq!(name, format!("{rt}-{id}.json"));
            assert_eq!(v["url"].as_str(), Some(url(rt, id).as_str()), "{name}");
            assert_eq!(v["status"].as_str(), Some("draft"), "{name}");
            n += 1;
        }
        assert!(n > 40, "{n} files embedded");
        assert!(file("ConceptMap-prsb-goal-status-to-r4.json").is_some());
        assert!(file("README.md").is_none());
    }

    #[test]
    fn add_to_registers_every_file() {
        let mut ctx = Context::new();
        let n = add_to(&mut ctx).unwrap();
        assert_eq!(n, files().count());
        assert!(ctx.knows(&url("StructureDefinition", "prsb-care-plan")));
        assert!(ctx.code_system(&url("CodeSystem", "prsb-item-kind")).is_some());
    }
}
