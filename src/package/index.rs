//! Installed packages and their `.index.json` (the HL7 package index).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::{Manifest, PackageError};

/// A package folder in the cache: `<root>/<name>#<version>/package`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstalledPackage {
    pub name: String,
    pub version: String,
    /// The `package` folder (holds package.json and the resources).
    pub dir: PathBuf,
    pub manifest: Manifest,
}

/// One resource listed in `package/.index.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexEntry {
    pub filename: String,
    #[serde(rename = "resourceType", default)]
    pub resource_type: String,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "loose_string"
    )]
    pub id: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "loose_string"
    )]
    pub url: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "loose_string"
    )]
    pub version: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "loose_string"
    )]
    pub kind: Option<String>,
    #[serde(
        rename = "type",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "loose_string"
    )]
    pub type_: Option<String>,
}

/// A string field, or `None` when the field holds anything else (resources
/// use `type` for CodeableConcepts too).
fn loose_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => Some(s),
        _ => None,
    })
}

#[derive(Deserialize)]
struct IndexFile {
    files: Vec<IndexEntry>,
}

#[derive(Serialize)]
struct IndexFileOut<'a> {
    #[serde(rename = "index-version")]
    index_version: u32,
    files: &'a [IndexEntry],
}

/// Top-level fields of a resource that the index records.
#[derive(Deserialize)]
struct ResourceHead {
    #[serde(rename = "resourceType", default, deserialize_with = "loose_string")]
    resource_type: Option<String>,
    #[serde(default, deserialize_with = "loose_string")]
    id: Option<String>,
    #[serde(default, deserialize_with = "loose_string")]
    url: Option<String>,
    #[serde(default, deserialize_with = "loose_string")]
    version: Option<String>,
    #[serde(default, deserialize_with = "loose_string")]
    kind: Option<String>,
    #[serde(rename = "type", default, deserialize_with = "loose_string")]
    type_: Option<String>,
}

pub(crate) const INDEX_FILE: &str = ".index.json";

impl InstalledPackage {
    /// Load a package from its `package` folder; the name and version come
    /// from the cache folder name (`name#version`), the rest from package.json
    /// (an unreadable package.json gives an empty manifest).
    pub(crate) fn load(name: &str, version: &str, dir: PathBuf) -> InstalledPackage {
        let manifest = match Manifest::read(&dir.join("package.json")) {
            Ok(m) => m,
            Err(e) => {
                tracing::debug!("{e}");
                Manifest {
                    name: name.to_string(),
                    version: version.to_string(),
                    ..Manifest::default()
                }
            }
        };
        InstalledPackage {
            name: name.to_string(),
            version: version.to_string(),
            dir,
            manifest,
        }
    }

    /// `name#version`.
    pub fn reference(&self) -> String {
        format!("{}#{}", self.name, self.version)
    }

    /// Entries of package/.index.json (HL7 format: {"index-version":1,"files":[{"filename","resourceType","id","url","version","kind","type"}]}).
    /// When the file is missing or unreadable, build it by reading each *.json
    /// in the folder's top level, and write it back (atomically: temp file +
    /// rename) when the folder is writable; otherwise just return it.
    pub fn index(&self) -> Result<Vec<IndexEntry>, PackageError> {
        let path = self.dir.join(INDEX_FILE);
        match fs::read(&path) {
            Ok(bytes) => {
                let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
                match serde_json::from_slice::<IndexFile>(bytes) {
                    Ok(f) => return Ok(within_package(f.files, &path)),
                    Err(e) => {
                        tracing::warn!("ignoring unreadable {}: {e}; rebuilding it", path.display())
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(PackageError::io("read", &path, e)),
        }
        let entries = build_index(&self.dir)?;
        if let Err(e) = write_index(&self.dir, &entries) {
            tracing::debug!("not writing {}: {e}", path.display());
        }
        Ok(entries)
    }
}

/// The entries whose file name names a file of the package folder itself;
/// the others are skipped with a warning. An index comes with the package,
/// so its names are checked as the archive's entries are: without this,
/// `../x.json` or `/etc/x.json` would load files from outside the package.
fn within_package(entries: Vec<IndexEntry>, index: &Path) -> Vec<IndexEntry> {
    entries
        .into_iter()
        .filter(|e| match plain_file_name(&e.filename) {
            Ok(()) => true,
            Err(why) => {
                tracing::warn!("{}: skipping the entry '{}', which {why}; an index names files of the package folder only", index.display(), e.filename.escape_debug());
                false
            }
        })
        .collect()
}

/// Whether `name` is one plain file name: not empty, not `.` or `..`, not
/// absolute, without folder separators of any platform.
fn plain_file_name(name: &str) -> Result<(), &'static str> {
    use std::path::Component;
    if name.is_empty() {
        return Err("is empty");
    }
    if name.contains(['/', '\\']) {
        return Err("names a path, not a file of the package folder");
    }
    if name.contains('\0') {
        return Err("holds a NUL character");
    }
    match Path::new(name).components().collect::<Vec<_>>().as_slice() {
        [Component::Normal(_)] => Ok(()),
        [Component::ParentDir] => Err("climbs out of the package with `..`"),
        _ => Err("is not a plain file name"),
    }
}

/// Index the top-level *.json files of a package folder (package.json and
/// files that are not FHIR resources are skipped), sorted by file name.
pub(crate) fn build_index(dir: &Path) -> Result<Vec<IndexEntry>, PackageError> {
    let rd = fs::read_dir(dir).map_err(|e| PackageError::io("list", dir, e))?;
    let mut entries = Vec::new();
    for ent in rd {
        let ent = ent.map_err(|e| PackageError::io("list", dir, e))?;
        let filename = ent.file_name().to_string_lossy().into_owned();
        if filename.starts_with('.') || filename == "package.json" || !filename.ends_with(".json") {
            continue;
        }
        if !ent.file_type().map(|t| t.is_file()).unwrap_or(false) {
            continue;
        }
        let path = ent.path();
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) => {
                tracing::debug!("skipping {}: {e}", path.display());
                continue;
            }
        };
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
        let head: ResourceHead = match serde_json::from_slice(bytes) {
            Ok(h) => h,
            Err(e) => {
                tracing::debug!("skipping {} (not a JSON object: {e})", path.display());
                continue;
            }
        };
        let Some(resource_type) = head.resource_type else {
            continue;
        };
        entries.push(IndexEntry {
            filename,
            resource_type,
            id: head.id,
            url: head.url,
            version: head.version,
            kind: head.kind,
            type_: head.type_,
        });
    }
    entries.sort_by(|a, b| a.filename.cmp(&b.filename));
    Ok(entries)
}

/// Write `.index.json` via a temp file and a rename, so readers never see
/// half a file.
pub(crate) fn write_index(dir: &Path, entries: &[IndexEntry]) -> std::io::Result<()> {
    let json = serde_json::to_vec_pretty(&IndexFileOut {
        index_version: 1,
        files: entries,
    })?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let tmp = dir.join(format!(".index.json.{}-{nanos}.tmp", std::process::id()));
    let result = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(&json)?;
        f.sync_all()?;
        fs::rename(&tmp, dir.join(INDEX_FILE))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::plain_file_name;

    #[test]
    fn index_file_names_are_plain_names_in_the_package() {
        for ok in ["StructureDefinition-x.json", "a..b.json", ".hidden.json", "ValueSet-ä.json"] {
            assert!(plain_file_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".", "..", "../outside.json", "/etc/passwd", "sub/x.json", "sub\\x.json", "..\\x.json", "C:\\x.json", "x\0.json"] {
            assert!(plain_file_name(bad).is_err(), "{bad:?}");
        }
    }
}
