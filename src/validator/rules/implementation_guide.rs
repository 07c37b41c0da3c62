//! ImplementationGuide rules: the guide states its FHIR version, each
//! dependency names the guide and package consistently (a version in the
//! canonical only beside the same explicit version, a URL to the
//! ImplementationGuide resource itself, a well-formed package id and
//! version), and an HL7 guide states its status, work group and maturity.
//!
//! The reference also compares each dependency with the package registry
//! (the package a canonical belongs to, the FHIR version of the package,
//! how old the version is); careplan asks no registry while validating, so
//! those checks are left out.

use crate::issue::{quoted, IssueCode};
use crate::tree::Node;
use crate::validator::element::Walk;

const STANDARDS_STATUS_EXT: &str = "http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status";
const WORKGROUP_EXT: &str = "http://hl7.org/fhir/StructureDefinition/structuredefinition-wg";
const FMM_EXT: &str = "http://hl7.org/fhir/StructureDefinition/structuredefinition-fmm";

pub(crate) fn check_implementation_guide(walk: &mut Walk<'_, '_>, node: &Node) {
    if node.child("fhirVersion").is_none() {
        // IG_NO_VERSION
        walk.warn(node, IssueCode::BusinessRule, "No fhir version was specified for the IG so the version consistency can't be checked".into());
    }
    for (ix, dependency) in node.children_named("dependsOn").enumerate() {
        walk.path.push("dependsOn", Some(ix));
        check_dependency(walk, dependency);
        walk.path.pop();
    }
    if node.child_text("url").is_some_and(|u| u.starts_with("http://hl7.org/fhir/")) {
        let has_ext = |url: &str| node.children_named("extension").any(|e| e.child_text("url") == Some(url));
        let (status, wg, fmm) = (has_ext(STANDARDS_STATUS_EXT), has_ext(WORKGROUP_EXT), has_ext(FMM_EXT));
        if !status {
            // IG_HL7_STANDARDS_STATUS_REQUIRED
            walk.error(
                node,
                IssueCode::BusinessRule,
                "HL7 Implementation Guides must state their status explicitly using the extension http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status".into(),
            );
        }
        if !wg {
            // IG_HL7_WG_REQUIRED
            walk.error(
                node,
                IssueCode::BusinessRule,
                "HL7 Implementation Guides must state their owning workgroup explicitly using the extension http://hl7.org/fhir/StructureDefinition/structuredefinition-wg".into(),
            );
        }
        if !fmm {
            // IG_HL7_FMM_SHOULD
            walk.warn(
                node,
                IssueCode::BusinessRule,
                "HL7 Implementation Guides should state their maturity explicitly using the extension http://hl7.org/fhir/StructureDefinition/structuredefinition-fmm".into(),
            );
        }
    }
}

fn check_dependency(walk: &mut Walk<'_, '_>, dep: &Node) {
    let mut ok = true;
    let mut uri = dep.child_text("uri");
    let package_id = dep.child_text("packageId");
    let version = dep.child_text("version");
    if let Some((base, uri_version)) = uri.and_then(|u| u.split_once('|')) {
        uri = Some(base);
        if uri_version.is_empty() {
            ok = false;
            // IG_DEPENDENCY_CAN_VERSION_NONE
            walk.error(dep, IssueCode::BusinessRule, "The canonical URL cannot end in '|'".into());
        } else if let Some(version) = version {
            // As the reference has it: a differing version is only an error
            // when the URL is not an ImplementationGuide's.
            if uri_version != version && !base.contains("/ImplementationGuide/") {
                ok = false;
                // IG_DEPENDENCY_CAN_VERSION_ERROR
                walk.error(
                    dep,
                    IssueCode::BusinessRule,
                    format!(
                        "The canonical URL specifies the version '{}', while the dependency has version '{}'. If a version is specified, it must be the same as in the explicit version property",
                        quoted(uri_version),
                        quoted(version)
                    ),
                );
            }
        } else {
            ok = false;
            // IG_DEPENDENCY_CAN_VERSION_ALONE
            walk.error(
                dep,
                IssueCode::BusinessRule,
                format!(
                    "The canonical URL specifies the version '{}', while the dependency does not. If a version is specified, it must be in the explicit version property",
                    quoted(uri_version)
                ),
            );
        }
    }
    if uri.is_some_and(|u| !u.contains("/ImplementationGuide/")) {
        ok = false;
        // IG_DEPENDENCY_DIRECT
        walk.error(
            dep,
            IssueCode::BusinessRule,
            "The URL should refer directly to the ImplementationGuide resource (e.g. include '/ImplementationGuide/')".into(),
        );
    }
    if let Some(id) = package_id {
        if !valid_package_id(id) {
            ok = false;
            // IG_DEPENDENCY_INVALID_PACKAGEID
            walk.error(dep, IssueCode::BusinessRule, format!("The packageId {} is not valid", quoted(id)));
        }
    }
    if let Some(u) = uri {
        let is_guide = walk
            .ctx
            .entry(u)
            .is_some_and(|e| e.resource_type == "ImplementationGuide");
        if !is_guide {
            // IG_DEPENDENCY_INVALID_URL
            walk.warn(dep, IssueCode::BusinessRule, format!("The canonical URL {} doesn't point to an actual ImplementationGuide resource", quoted(u)));
        }
    }
    // Without a package id the reference asks the registry for one; careplan
    // only goes on when the dependency names it.
    if let (true, Some(id)) = (ok, package_id) {
        match version {
            None => {
                // IG_DEPENDENCY_NO_VERSION
                walk.warn(dep, IssueCode::BusinessRule, "No version was specified for the package so the version consistency can't be checked".into());
            }
            Some(v) => {
                if !valid_package_id(id) || !valid_package_version(v) {
                    // IG_DEPENDENCY_INVALID_PACKAGE_VERSION
                    walk.error(dep, IssueCode::BusinessRule, format!("The version {} is not a valid NPM package version", quoted(v)));
                }
            }
        }
    }
}

fn id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// A letter, then letters, digits, `_` or `-`, in two or more `.`-separated parts.
fn valid_package_id(id: &str) -> bool {
    let mut parts = id.split('.');
    let Some(first) = parts.next() else { return false };
    let mut rest = 0;
    for p in parts {
        if p.is_empty() || !p.chars().all(id_char) {
            return false;
        }
        rest += 1;
    }
    rest > 0 && first.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) && first.chars().all(id_char)
}

/// One or more `.`-separated non-empty parts of letters, digits, `-`, `_` or `$`.
fn valid_package_version(v: &str) -> bool {
    v.split('.').all(|p| !p.is_empty() && p.chars().all(|c| id_char(c) || c == '$'))
}
