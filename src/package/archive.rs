//! Safe unpacking of npm-style package archives (.tgz) into the cache.
//!
//! Archives are unpacked into a work folder inside the cache root and only
//! renamed into place once complete, so a half download never looks
//! installed. Entries that could write outside the work folder (`..`,
//! absolute paths) and links of any kind are refused.

use std::fs;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::PackageError;

/// Prefix of work folders in the cache root; HL7 tools ignore folders
/// without `#`, and so does [`super::PackageCache::list`].
pub(crate) const WORK_PREFIX: &str = ".careplan-tmp-";

/// A work folder inside the cache root, removed when dropped.
pub(crate) struct WorkDir {
    path: PathBuf,
}

impl WorkDir {
    pub(crate) fn new(root: &Path) -> Result<WorkDir, PackageError> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        fs::create_dir_all(root)
            .map_err(|e| PackageError::io("create the package cache", root, e))?;
        loop {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0);
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let path = root.join(format!("{WORK_PREFIX}{}-{n}-{nanos}", std::process::id()));
            match fs::create_dir(&path) {
                Ok(()) => return Ok(WorkDir { path }),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(PackageError::io("create a work folder in", root, e)),
            }
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if self.path.exists() {
            if let Err(e) = fs::remove_dir_all(&self.path) {
                tracing::debug!("could not remove {}: {e}", self.path.display());
            }
        }
    }
}

/// The safe relative path of an archive entry, or why it is refused.
fn safe_relative(path: &Path) -> Result<PathBuf, &'static str> {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            Component::ParentDir => return Err("climbs out of the package with `..`"),
            Component::RootDir | Component::Prefix(_) => return Err("is an absolute path"),
        }
    }
    Ok(out)
}

/// Unpack a gzip-compressed tar stream into `dest` (which must exist).
/// `label` names the archive in errors.
pub(crate) fn extract_tgz(reader: impl Read, dest: &Path, label: &str) -> Result<(), PackageError> {
    let bad = |reason: String| PackageError::BadArchive {
        archive: label.to_string(),
        reason,
    };
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(reader));
    let entries = archive.entries().map_err(|e| bad(e.to_string()))?;
    let mut files = 0usize;
    for entry in entries {
        let mut entry = entry.map_err(|e| bad(e.to_string()))?;
        let raw = entry.path().map_err(|e| bad(e.to_string()))?.into_owned();
        let shown = raw.display().to_string();
        let unsafe_entry = |reason: &str| PackageError::UnsafeArchive {
            archive: label.to_string(),
            entry: shown.clone(),
            reason: reason.to_string(),
        };
        let rel = safe_relative(&raw).map_err(unsafe_entry)?;
        let kind = entry.header().entry_type();
        if kind.is_symlink() || kind.is_hard_link() {
            return Err(unsafe_entry("is a link"));
        }
        if rel.as_os_str().is_empty() {
            continue;
        }
        let target = dest.join(&rel);
        if kind.is_dir() {
            fs::create_dir_all(&target).map_err(|e| PackageError::io("create", &target, e))?;
        } else if kind.is_file() || kind == tar::EntryType::Continuous {
            if let Some(parent) = target.parent() {
                fs::create_dir_all(parent).map_err(|e| PackageError::io("create", parent, e))?;
            }
            // A file may only replace a file: never follow what is there.
            if fs::symlink_metadata(&target)
                .map(|m| !m.is_file())
                .unwrap_or(false)
            {
                return Err(unsafe_entry("collides with a folder of the same name"));
            }
            let mut out =
                fs::File::create(&target).map_err(|e| PackageError::io("write", &target, e))?;
            io::copy(&mut entry, &mut out).map_err(|e| bad(format!("{shown}: {e}")))?;
            files += 1;
        } else {
            // Devices, fifos and the like have no place in a package.
            tracing::debug!("{label}: skipping entry {shown} of type {kind:?}");
        }
    }
    if files == 0 {
        return Err(bad("the archive holds no files".into()));
    }
    Ok(())
}

/// Find the package folder in an unpacked archive: `package/` normally, the
/// archive's only top-level folder when it is named otherwise, or the top
/// level itself when package.json sits there. Returns the folder holding
/// package.json.
pub(crate) fn locate_package_dir(unpacked: &Path, label: &str) -> Result<PathBuf, PackageError> {
    let std_dir = unpacked.join("package");
    if std_dir.join("package.json").is_file() {
        return Ok(std_dir);
    }
    if unpacked.join("package.json").is_file() {
        return Ok(unpacked.to_path_buf());
    }
    let mut dirs = Vec::new();
    for ent in fs::read_dir(unpacked).map_err(|e| PackageError::io("list", unpacked, e))? {
        let ent = ent.map_err(|e| PackageError::io("list", unpacked, e))?;
        if ent.file_type().map(|t| t.is_dir()).unwrap_or(false)
            && ent.path().join("package.json").is_file()
        {
            dirs.push(ent.path());
        }
    }
    match dirs.len() {
        1 => Ok(dirs.pop().unwrap()),
        0 => Err(PackageError::BadArchive {
            archive: label.to_string(),
            reason: "it has no package.json".into(),
        }),
        _ => Err(PackageError::BadArchive {
            archive: label.to_string(),
            reason: "it has several top-level folders with a package.json".into(),
        }),
    }
}

/// Arrange an unpacked archive as `<work>/final/package/...` and return the
/// `final` folder, ready to be renamed to `<root>/<name>#<version>`.
pub(crate) fn arrange(
    work: &Path,
    unpacked: &Path,
    package_dir: &Path,
) -> Result<PathBuf, PackageError> {
    if package_dir == unpacked.join("package") {
        // Standard layout: keep any sibling folders too.
        return Ok(unpacked.to_path_buf());
    }
    let fin = work.join("final");
    fs::create_dir(&fin).map_err(|e| PackageError::io("create", &fin, e))?;
    let dest = fin.join("package");
    fs::rename(package_dir, &dest).map_err(|e| PackageError::io("move", package_dir, e))?;
    Ok(fin)
}
