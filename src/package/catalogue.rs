//! What the package cache holds, as the rules comparing an
//! ImplementationGuide's dependencies with it need it: each installed
//! package's id, version, canonical, FHIR version and date, read once from
//! the `package.json` files. Nothing is downloaded and no registry is asked.

use serde_json::Value;

use super::{compare_versions, PackageCache};

/// One installed package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CataloguedPackage {
    pub name: String,
    pub version: String,
    pub canonical: Option<String>,
    /// The FHIR version the package is based on, as the reference's
    /// `NpmPackage.fhirVersion` finds it.
    pub fhir_version: Option<String>,
    /// `date` as package.json gives it (`yyyyMMddHHmmss`).
    pub date: Option<String>,
}

/// Every installed package, sorted by name then version.
#[derive(Debug, Clone, Default)]
pub struct PackageCatalogue {
    packages: Vec<CataloguedPackage>,
}

const CORE_PACKAGES: &[&str] =
    &["hl7.fhir.r2.core", "hl7.fhir.r2b.core", "hl7.fhir.r3.core", "hl7.fhir.r4.core", "hl7.fhir.r4b.core", "hl7.fhir.r5.core", "hl7.fhir.r6.core", "hl7.fhir.core"];

impl PackageCatalogue {
    /// Reads the package.json of every package in the cache.
    pub fn read(cache: &PackageCache) -> PackageCatalogue {
        let mut packages = Vec::new();
        for p in cache.list() {
            let json = std::fs::read(p.dir.join("package.json")).ok().and_then(|b| {
                let start = if b.starts_with(b"\xEF\xBB\xBF") { 3 } else { 0 };
                serde_json::from_slice::<Value>(&b[start..]).ok()
            });
            let Some(json) = json else { continue };
            packages.push(Self::describe(&p.name, &p.version, &json));
        }
        PackageCatalogue { packages }
    }

    /// A catalogue of the packages given (their package.json contents).
    pub fn from_manifests(manifests: &[Value]) -> PackageCatalogue {
        let mut packages: Vec<CataloguedPackage> = manifests
            .iter()
            .filter_map(|m| {
                let name = m.get("name")?.as_str()?;
                let version = m.get("version")?.as_str()?;
                Some(Self::describe(name, version, m))
            })
            .collect();
        packages.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| compare_versions(&a.version, &b.version)));
        PackageCatalogue { packages }
    }

    fn describe(name: &str, version: &str, json: &Value) -> CataloguedPackage {
        let s = |k: &str| json.get(k).and_then(Value::as_str).map(str::to_owned);
        CataloguedPackage {
            name: name.to_owned(),
            version: version.to_owned(),
            canonical: s("canonical"),
            fhir_version: fhir_version(name, version, json),
            date: s("date"),
        }
    }

    /// The id of the first package whose canonical is exactly `canonical`.
    pub fn package_id_for(&self, canonical: &str) -> Option<&str> {
        self.packages.iter().find(|p| p.canonical.as_deref() == Some(canonical)).map(|p| p.name.as_str())
    }

    /// The canonical of the newest installed version of a package.
    pub fn canonical_of(&self, id: &str) -> Option<&str> {
        self.packages.iter().rev().find(|p| p.name == id).and_then(|p| p.canonical.as_deref())
    }

    /// The installed package with this id and version.
    pub fn find(&self, id: &str, version: &str) -> Option<&CataloguedPackage> {
        self.packages.iter().find(|p| p.name == id && p.version == version)
    }

    /// The newest installed release (a version without `-`) of a package.
    pub fn newest_release(&self, id: &str) -> Option<&CataloguedPackage> {
        self.packages.iter().rev().find(|p| p.name == id && !p.version.contains('-'))
    }
}

/// The FHIR version a package is based on: a core or examples package's own
/// version, else the version of the core package it depends on, else the
/// first of its `fhirVersions`.
fn fhir_version(name: &str, version: &str, json: &Value) -> Option<String> {
    let kind = json.get("type").and_then(Value::as_str);
    let versioned_core = ["hl7.fhir.r3.", "hl7.fhir.r4.", "hl7.fhir.r4b.", "hl7.fhir.r5.", "hl7.fhir.r6."].iter().any(|p| name.starts_with(p));
    if name == "hl7.fhir.core" || (matches!(kind, Some("fhir.core" | "fhir.examples")) && versioned_core) {
        return Some(version.to_owned());
    }
    if let Some(deps) = json.get("dependencies").and_then(Value::as_object) {
        if let Some(v) = deps.iter().find(|(k, _)| CORE_PACKAGES.contains(&k.as_str())).and_then(|(_, v)| v.as_str()) {
            return Some(v.to_owned());
        }
    }
    json.get("fhirVersions").and_then(Value::as_array).and_then(|a| a.first()).and_then(Value::as_str).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_packages_by_canonical_and_id() {
        let c = PackageCatalogue::from_manifests(&[
            json!({"name": "a.b", "version": "1.0.0", "canonical": "http://x", "fhirVersions": ["5.0.0"]}),
            json!({"name": "a.b", "version": "2.0.0", "canonical": "http://y", "dependencies": {"hl7.fhir.r4.core": "4.0.1"}}),
            json!({"name": "hl7.fhir.r4.examples", "version": "4.0.1", "type": "fhir.examples", "fhirVersions": ["4.0.1"]}),
        ]);
        assert_eq!(c.package_id_for("http://x"), Some("a.b"));
        assert_eq!(c.canonical_of("a.b"), Some("http://y"));
        assert_eq!(c.find("a.b", "1.0.0").and_then(|p| p.fhir_version.as_deref()), Some("5.0.0"));
        assert_eq!(c.find("a.b", "2.0.0").and_then(|p| p.fhir_version.as_deref()), Some("4.0.1"));
        assert_eq!(c.find("hl7.fhir.r4.examples", "4.0.1").and_then(|p| p.fhir_version.as_deref()), Some("4.0.1"));
        assert_eq!(c.newest_release("a.b").map(|p| p.version.as_str()), Some("2.0.0"));
    }
}
