//! `package/package.json`, read tolerantly: FHIR packages in the wild miss
//! fields or give them odd shapes.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use super::PackageError;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    pub name: String,
    pub version: String,
    pub dependencies: BTreeMap<String, String>,
    pub fhir_versions: Vec<String>,
    pub canonical: Option<String>,
}

impl Manifest {
    /// Read from JSON text. Missing or mistyped fields are left empty.
    pub fn from_json(bytes: &[u8]) -> Result<Manifest, String> {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let v: Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        let obj = v.as_object().ok_or("package.json is not a JSON object")?;
        let s = |k: &str| obj.get(k).and_then(Value::as_str).map(str::to_string);
        let mut dependencies = BTreeMap::new();
        if let Some(deps) = obj.get("dependencies").and_then(Value::as_object) {
            for (k, v) in deps {
                if let Some(v) = v.as_str() {
                    dependencies.insert(k.clone(), v.to_string());
                }
            }
        }
        let mut fhir_versions = Vec::new();
        for key in ["fhirVersions", "fhir-version-list", "fhirVersion"] {
            match obj.get(key) {
                Some(Value::Array(a)) => {
                    fhir_versions.extend(a.iter().filter_map(Value::as_str).map(str::to_string))
                }
                Some(Value::String(s)) => fhir_versions.push(s.clone()),
                _ => {}
            }
            if !fhir_versions.is_empty() {
                break;
            }
        }
        Ok(Manifest {
            name: s("name").unwrap_or_default(),
            version: s("version").unwrap_or_default(),
            dependencies,
            fhir_versions,
            canonical: s("canonical"),
        })
    }

    pub fn read(path: &Path) -> Result<Manifest, PackageError> {
        let bytes = std::fs::read(path).map_err(|e| PackageError::io("read", path, e))?;
        Manifest::from_json(&bytes).map_err(|reason| PackageError::Json {
            path: path.to_path_buf(),
            reason,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fields_and_tolerates_gaps() {
        let m = Manifest::from_json(
            br#"{"name":"a.b","version":"1.0.0","fhirVersions":["4.0.1"],"canonical":"http://x","dependencies":{"c.d":"2.0.0","bad":3}}"#,
        )
        .unwrap();
        assert_eq!(m.name, "a.b");
        assert_eq!(m.version, "1.0.0");
        assert_eq!(m.fhir_versions, ["4.0.1"]);
        assert_eq!(m.canonical.as_deref(), Some("http://x"));
        assert_eq!(m.dependencies.len(), 1);
        assert_eq!(m.dependencies["c.d"], "2.0.0");

        let m =
            Manifest::from_json(b"\xEF\xBB\xBF{\"name\":\"x\",\"fhir-version-list\":[\"4.0.1\"]}")
                .unwrap();
        assert_eq!(m.name, "x");
        assert_eq!(m.version, "");
        assert_eq!(m.fhir_versions, ["4.0.1"]);
        assert!(Manifest::from_json(b"[1]").is_err());
    }
}
