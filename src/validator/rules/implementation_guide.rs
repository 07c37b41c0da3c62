//! ImplementationGuide rules: the guide states its FHIR version, each
//! dependency names the guide and package consistently (a version in the
//! canonical only beside the same explicit version, a URL to the
//! ImplementationGuide resource itself, a well-formed package id and
//! version), and an HL7 guide states its status, work group and maturity.
//!
//! Each dependency is also compared with the package cache (the context's
//! package catalogue): the package a canonical belongs to and the canonical
//! of the package named, the FHIR version of the package, and (for
//! publication) whether a newer release is installed. The reference asks
//! the package registries too; careplan reads the cache only, so a package
//! that is not installed is said to be unknown.

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
    let versions = IgVersions::new(node.children_named("fhirVersion").filter_map(Node::text));
    for (ix, dependency) in node.children_named("dependsOn").enumerate() {
        walk.path.push("dependsOn", Some(ix));
        check_dependency(walk, dependency, &versions);
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

/// The IG's FHIR versions, read once for all its dependencies: each
/// dependency compared with every version, and each warning listing them
/// all, cost dependencies × versions (the thirty-third pass's Y3).
struct IgVersions<'n> {
    /// Distinct, in order.
    all: Vec<&'n str>,
    /// As a message lists them (the first few, then how many more).
    listed: String,
    /// Whether a package's FHIR version matches one of them, by package version.
    matches: std::cell::RefCell<std::collections::HashMap<String, bool>>,
}

impl<'n> IgVersions<'n> {
    const LISTED: usize = 10;

    fn new(versions: impl Iterator<Item = &'n str>) -> IgVersions<'n> {
        let mut seen = std::collections::HashSet::new();
        let all: Vec<&str> = versions.filter(|v| seen.insert(*v)).collect();
        let mut listed = all.iter().take(Self::LISTED).copied().collect::<Vec<_>>().join(",");
        if all.len() > Self::LISTED {
            listed.push_str(&format!(" and {} more", all.len() - Self::LISTED));
        }
        IgVersions { all, listed, matches: Default::default() }
    }

    fn first(&self) -> Option<&'n str> {
        self.all.first().copied()
    }

    fn any_matches(&self, package_version: &str) -> bool {
        *self.matches.borrow_mut().entry(package_version.to_owned()).or_insert_with(|| self.all.iter().any(|f| version_matches(package_version, f)))
    }
}

fn check_dependency(walk: &mut Walk<'_, '_>, dep: &Node, versions: &IgVersions<'_>) {
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
    let catalogue = walk.ctx.package_catalogue();
    if let (Some(u), Some(id), Some(cat)) = (uri, package_id, catalogue) {
        if let Some(pid) = cat.package_id_for(u).filter(|pid| *pid != id && !id.starts_with(&format!("{pid}.r4"))) {
            ok = false;
            // IG_DEPENDENCY_CLASH_PACKAGEID
            walk.error(dep, IssueCode::BusinessRule, format!("The canonical URL {u} points to the package {pid} which is inconsistent with the stated packageId of {id}"));
        }
        let guides = |c: &str| format!("{}/ImplementationGuide", c.trim_end_matches('/'));
        if let Some(canonical) = cat.canonical_of(id).filter(|c| *c != u && !u.starts_with(&guides(c))) {
            ok = false;
            // IG_DEPENDENCY_CLASH_CANONICAL
            walk.error(dep, IssueCode::BusinessRule, format!("The packageId {id} points to the canonical {canonical} which is inconsistent with the stated canonical of {u}"));
        }
    }
    if !ok {
        return;
    }
    // Without a package id, the package whose canonical the uri is.
    let package_id = package_id.or_else(|| uri.zip(catalogue).and_then(|(u, cat)| cat.package_id_for(u)));
    let Some(id) = package_id else {
        // Only where the cache was asked (the reference asks registries too).
        if uri.is_some() && catalogue.is_some() {
            // IG_DEPENDENCY_NO_PACKAGE
            walk.warn(dep, IssueCode::BusinessRule, "No NPM package id could be determined so the version consistency can't be checked".into());
        }
        return;
    };
    let Some(v) = version else {
        // IG_DEPENDENCY_NO_VERSION
        walk.warn(dep, IssueCode::BusinessRule, "No version was specified for the package so the version consistency can't be checked".into());
        return;
    };
    if !valid_package_id(id) || !valid_package_version(v) {
        // IG_DEPENDENCY_INVALID_PACKAGE_VERSION
        walk.error(dep, IssueCode::BusinessRule, format!("The version {} is not a valid NPM package version", quoted(v)));
    }
    let Some(cat) = catalogue else { return };
    let Some(npm) = cat.find(id, v) else {
        // IG_DEPENDENCY_PACKAGE_UNKNOWN
        walk.warn(dep, IssueCode::BusinessRule, format!("The package {id}#{v} could not be found so the version consistency can't be checked"));
        return;
    };
    if let (Some(first), Some(pver)) = (versions.first(), npm.fhir_version.as_deref()) {
        if !versions.any_matches(pver) {
            let listed = &versions.listed;
            if matches!(id, "hl7.fhir.uv.extensions" | "hl7.fhir.uv.tools" | "hl7.terminology") {
                let instead = format!("{id}.{}", release_name(first).to_lowercase());
                // IG_DEPENDENCY_VERSION_ERROR
                walk.error(
                    dep,
                    IssueCode::BusinessRule,
                    format!("The ImplementationGuide is based on FHIR version {listed} but package {id}#{v} is based on FHIR version {pver}. Use the package {instead} instead"),
                );
            } else if !(release_name(pver) == "R5" && release_name(first) == "R6") {
                // IG_DEPENDENCY_VERSION_WARNING
                walk.warn(
                    dep,
                    IssueCode::BusinessRule,
                    format!("The ImplementationGuide is based on FHIR version {listed} but package {id}#{v} is based on FHIR version {pver}. In general, this version mismatch should be avoided - some tools will try to make this work with variable degrees of success, but others will not even try"),
                );
            }
        }
    }
    if walk.v.options().for_publication {
        let latest = cat.newest_release(id).map(|p| p.version.as_str());
        let released = npm.date.as_deref().and_then(package_date);
        if let (Some(latest), Some((y, m, d))) = (latest, released) {
            if latest != "current" && v != "current" && !version_matches(v, latest) && months_ago((y, m, d), 3) {
                // IG_DEPENDENCY_VERSION_WARNING_OLD
                walk.warn(
                    dep,
                    IssueCode::BusinessRule,
                    format!("The ImplementationGuide uses package {id}#{v} released on {y:04}-{m:02}-{d:02}, but the most recent appropriate version is {latest}. This reference is getting old and the more recent version should be considered"),
                );
            }
        }
    }
}

/// Whether a version meets a criterion as the reference's `versionMatches`
/// has it: the criterion's parts (as many as it gives) equal the version's.
fn version_matches(criterion: &str, version: &str) -> bool {
    let c: Vec<&str> = criterion.split(['.', '-']).collect();
    let v: Vec<&str> = version.split(['.', '-']).collect();
    c.len() <= v.len() && c.iter().zip(&v).all(|(a, b)| a == b || *a == "x" || *a == "*")
}

/// The release a FHIR version belongs to (`R4`), as the reference names it.
fn release_name(version: &str) -> &'static str {
    let mut parts = version.split('.');
    match (parts.next(), parts.next().map(|m| m.split('-').next().unwrap_or(m))) {
        (Some("1"), Some("0")) => "R2",
        (Some("1"), Some("4")) => "R2B",
        (Some("3"), Some("0")) => "R3",
        (Some("4"), Some("0")) => "R4",
        (Some("4"), Some("3")) => "R4B",
        (Some("5"), Some("0")) => "R5",
        (Some("6"), Some("0")) => "R6",
        _ => "R?",
    }
}

/// A package.json `date` (`yyyyMMddHHmmss`) as a calendar date.
fn package_date(date: &str) -> Option<(i32, u8, u8)> {
    let y = date.get(0..4)?.parse().ok()?;
    let m = date.get(4..6)?.parse().ok()?;
    let d = date.get(6..8)?.parse().ok()?;
    Some((y, m, d))
}

/// Whether a date lies before today less this many months.
fn months_ago(date: (i32, u8, u8), months: i32) -> bool {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let (y, m, d) = crate::fhirpath::value::civil_from_days(secs / 86_400);
    let total = y * 12 + i32::from(m) - 1 - months;
    let threshold = (total.div_euclid(12), (total.rem_euclid(12) + 1) as u8, d);
    date < threshold
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
