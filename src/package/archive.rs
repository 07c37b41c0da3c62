//! Safe unpacking of npm-style package archives (.tgz) into the cache.
//!
//! Archives are unpacked into a work folder inside the cache root and only
//! renamed into place once complete, so a half download never looks
//! installed. Entries that could write outside the work folder (`..`,
//! absolute paths) and links of any kind are refused, and so is an archive
//! that expands too far ([`Limits`]: size, compression ratio, file count).

use std::cell::{Cell, RefCell};
use std::fs;
use std::io::{self, Read};
use std::rc::Rc;
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

/// How far an archive may expand. A package is JSON, which compresses
/// about 10:1 (R4 core: 4 MB → 60 MB; the R4 examples: about 150 MB);
/// a gzip bomb expands 1000:1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Most bytes the tar stream may expand to.
    pub max_bytes: u64,
    /// Most bytes the tar stream may hold per compressed byte read...
    pub max_ratio: u64,
    /// ...once it has expanded past this many bytes (a tiny archive may
    /// well have a high ratio; it cannot fill a disk).
    pub ratio_after: u64,
    /// Most files an archive may hold (R4 core has about 4,600).
    pub max_files: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_bytes: 1 << 30, max_ratio: 100, ratio_after: 1 << 20, max_files: 100_000 }
    }
}

/// Counts the compressed bytes read.
struct Counted<R> {
    inner: R,
    read: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.set(self.read.get() + n as u64);
        Ok(n)
    }
}

/// The decompressed stream, stopped with an error (and the reason kept)
/// once it passes the limits.
struct Budget<R> {
    inner: R,
    compressed: Rc<Cell<u64>>,
    out: u64,
    limits: Limits,
    tripped: Rc<RefCell<Option<String>>>,
}

impl<R: Read> Read for Budget<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.out += n as u64;
        let why = if self.out > self.limits.max_bytes {
            Some(format!("it expands to more than {} MiB, the most a package may", self.limits.max_bytes >> 20))
        } else if self.out > self.limits.ratio_after && self.out > self.limits.max_ratio.saturating_mul(self.compressed.get().max(1)) {
            Some(format!(
                "it expands more than {}-fold ({} bytes from {} compressed), which no FHIR package does: it looks like a compression bomb",
                self.limits.max_ratio,
                self.out,
                self.compressed.get()
            ))
        } else {
            None
        };
        if let Some(why) = why {
            *self.tripped.borrow_mut() = Some(why.clone());
            return Err(io::Error::other(why));
        }
        Ok(n)
    }
}

/// Unpack a gzip-compressed tar stream into `dest` (which must exist).
/// `label` names the archive in errors.
pub(crate) fn extract_tgz(reader: impl Read, dest: &Path, label: &str) -> Result<(), PackageError> {
    extract_tgz_within(reader, dest, label, Limits::default())
}

/// [`extract_tgz`] with explicit limits. When a limit is passed the error
/// says which; what was written is left in `dest` for the caller's work
/// folder to remove.
pub(crate) fn extract_tgz_within(reader: impl Read, dest: &Path, label: &str, limits: Limits) -> Result<(), PackageError> {
    let tripped = Rc::new(RefCell::new(None));
    let compressed = Rc::new(Cell::new(0));
    let counted = Counted { inner: reader, read: compressed.clone() };
    let budget = Budget { inner: flate2::read::GzDecoder::new(counted), compressed, out: 0, limits, tripped: tripped.clone() };
    // Any error after the budget tripped is the budget's.
    let bad = |reason: String| match tripped.borrow().clone() {
        Some(why) => PackageError::TooLarge { archive: label.to_string(), reason: why },
        None => PackageError::BadArchive { archive: label.to_string(), reason },
    };
    let mut archive = tar::Archive::new(budget);
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
            if files > limits.max_files {
                return Err(PackageError::TooLarge { archive: label.to_string(), reason: format!("it holds more than {} files, the most a package may", limits.max_files) });
            }
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
