//! The package cache: `<root>/<name>#<version>/package/...`, the layout the
//! HL7 tools share (so entries we did not write are left alone).

use std::collections::{HashSet, VecDeque};
use std::fs;
use std::path::{Path, PathBuf};

use super::archive::{self, WorkDir};
use super::index::{build_index, write_index};
use super::reference::check_segment;
use super::install::Session;
use super::registry::{self, Registries};
use super::version::compare_versions;
use super::{default_packages, InstalledPackage, Manifest, PackageError, PackageRef, R4_CORE, R4_EXAMPLES};

/// The folder of the cache root where archives given as `--ig` are unpacked.
const ARCHIVES_DIR: &str = ".careplan-archives";

/// Beside a package's `package/` folder (`<root>/<name>#<version>/`): which
/// installed versions stand in for dependencies no registry had, as
/// `{"dep.name": {"asked": "1.0.0", "used": "1.1.0"}}`. Other tools ignore
/// files there; careplan reads it so a choice is said once, not every run.
pub const SUBSTITUTES_FILE: &str = "careplan-substitutes.json";

/// A package's dependencies whose name and version can be folder names.
/// `first` and, transitively, its dependencies, each once (by name),
/// `first` first: `find` gives the package for a dependency `name#version`
/// of `parent`, or the reason the closure cannot be had.
pub(super) fn dependency_closure<E>(asked: &str, first: InstalledPackage, mut find: impl FnMut(&str, &str, &InstalledPackage) -> Result<InstalledPackage, E>) -> Result<Vec<InstalledPackage>, E> {
    let mut seen: HashSet<String> = [asked.to_string(), first.name.clone()].into();
    let mut out = vec![first.clone()];
    let mut queue = VecDeque::from([first]);
    while let Some(pkg) = queue.pop_front() {
        for (dep_name, dep_version) in usable_dependencies(&pkg) {
            if !seen.insert(dep_name.clone()) {
                continue;
            }
            let dep = find(&dep_name, &dep_version, &pkg)?;
            seen.insert(dep.name.clone());
            if !out.iter().any(|p| p.name == dep.name && p.version == dep.version) {
                out.push(dep.clone());
                queue.push_back(dep);
            }
        }
    }
    Ok(out)
}

pub(super) fn usable_dependencies(pkg: &InstalledPackage) -> Vec<(String, String)> {
    pkg.manifest
        .dependencies
        .iter()
        .filter(|(name, version)| {
            let ok = check_segment(name, "name", name).is_ok() && check_segment(version, "version", version).is_ok();
            if !ok {
                tracing::warn!("{} lists an unusable dependency `{name}: {version}`; skipping it", pkg.reference());
            }
            ok
        })
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect()
}

/// The sha1 of a file, as registries publish it (`dist.shasum`).
fn sha1_of(path: &Path) -> Result<String, PackageError> {
    use std::io::Read as _;
    let mut file = fs::File::open(path).map_err(|e| PackageError::io("open", path, e))?;
    let mut hasher = sha1_smol::Sha1::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf).map_err(|e| PackageError::io("read", path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.digest().to_string())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageCache {
    root: PathBuf,
}

impl PackageCache {
    pub fn new(root: PathBuf) -> Self {
        PackageCache { root }
    }

    /// $FHIR_PACKAGE_CACHE if set, else ~/.fhir/packages (the HL7 tools'
    /// shared cache layout: <root>/<name>#<version>/package/...).
    pub fn default_root() -> PathBuf {
        if let Some(dir) = std::env::var_os("FHIR_PACKAGE_CACHE").filter(|d| !d.is_empty()) {
            return PathBuf::from(dir);
        }
        registry::home_dir()
            .unwrap_or_else(|| PathBuf::from("."))
            .join(".fhir")
            .join("packages")
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub(super) fn entry_dir(&self, name: &str, version: &str) -> PathBuf {
        self.root.join(format!("{name}#{version}"))
    }

    /// The installed package with exactly this name and version.
    pub(super) fn find_exact(&self, name: &str, version: &str) -> Option<InstalledPackage> {
        let dir = self.entry_dir(name, version).join("package");
        dir.join("package.json")
            .is_file()
            .then(|| InstalledPackage::load(name, version, dir))
    }

    /// Installed versions of `name`, oldest first.
    fn versions_of(&self, name: &str) -> Vec<String> {
        let prefix = format!("{name}#");
        let mut versions: Vec<String> = self
            .entry_names()
            .into_iter()
            .filter_map(|n| n.strip_prefix(&prefix).map(str::to_string))
            .filter(|v| {
                self.entry_dir(name, v)
                    .join("package")
                    .join("package.json")
                    .is_file()
            })
            .collect();
        versions.sort_by(|a, b| compare_versions(a, b));
        versions
    }

    fn entry_names(&self) -> Vec<String> {
        let Ok(rd) = fs::read_dir(&self.root) else {
            return Vec::new();
        };
        rd.filter_map(Result::ok)
            .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| n.contains('#') && !n.starts_with('.'))
            .collect()
    }

    pub(super) fn newest(&self, name: &str) -> Option<InstalledPackage> {
        let v = self.versions_of(name).pop()?;
        self.find_exact(name, &v)
    }

    /// Everything in the cache, sorted by name then version.
    pub fn list(&self) -> Vec<InstalledPackage> {
        let mut out: Vec<InstalledPackage> = self
            .entry_names()
            .into_iter()
            .filter_map(|n| {
                let (name, version) = n.split_once('#')?;
                self.find_exact(name, version)
            })
            .collect();
        out.sort_by(|a, b| {
            a.name
                .cmp(&b.name)
                .then_with(|| compare_versions(&a.version, &b.version))
        });
        out
    }

    /// Exact version, or newest installed when version is None. A request for
    /// `hl7.fhir.r4.core` that the cache cannot meet is met by
    /// `hl7.fhir.r4.examples` of the same version (it carries all R4 core
    /// definitions).
    pub fn find(&self, r: &PackageRef) -> Option<InstalledPackage> {
        let found = match &r.version {
            Some(v) => self.find_exact(&r.name, v),
            None => self.newest(&r.name),
        };
        found.or_else(|| {
            if r.name != R4_CORE {
                return None;
            }
            let sub = PackageRef {
                name: R4_EXAMPLES.to_string(),
                version: r.version.clone(),
            };
            let p = self.find(&sub)?;
            tracing::debug!(
                "{r} is not in the cache; using {} which carries the R4 core definitions",
                p.reference()
            );
            Some(p)
        })
    }

    /// Ensure the package and (transitively) its dependencies are in the
    /// cache, downloading what is missing. Returns the requested package
    /// first, then its dependencies (each once).
    ///
    /// All or nothing: downloads wait in work folders until the whole
    /// dependency closure is had, so a dependency that cannot be had leaves
    /// nothing of the request in the cache. The cache is used first. A
    /// dependency version that no registry has is replaced by an installed
    /// version of that package, else by the registry's latest; that choice is
    /// said once, when it is made, and recorded beside the package that
    /// depends on it ([`SUBSTITUTES_FILE`]) so later runs make it silently.
    /// `hl7.fhir.r4.core` falls back to `hl7.fhir.r4.examples` of the same version.
    pub fn install(
        &self,
        r: &PackageRef,
        registries: &Registries,
        progress: bool,
    ) -> Result<Vec<InstalledPackage>, PackageError> {
        let mut s = Session::new(self, registries, progress);
        let closure = s.closure(r)?;
        s.commit(closure)
    }

    /// Downloads one package's archive, without its dependencies, into
    /// `dir` (`name-version.tgz`), checked against the registry's
    /// checksum: for `--ig FILE.tgz` when a dependency is published nowhere
    /// the registries reach. The cache is left as it is.
    pub fn fetch_archive(&self, r: &PackageRef, registries: &Registries, dir: &Path, progress: bool) -> Result<PathBuf, PackageError> {
        Session::new(self, registries, progress).fetch(r, dir)
    }

    /// The package and its dependencies as the cache holds them (the
    /// substitutes an install recorded included), without asking anyone;
    /// `None` when any of them is missing.
    pub fn find_with_dependencies(&self, r: &PackageRef) -> Option<Vec<InstalledPackage>> {
        let first = self.find(r)?;
        dependency_closure(&r.name, first, |name, version, parent| {
            self.find(&PackageRef::new(name.to_string(), Some(version))).or_else(|| self.recorded_substitute(parent, name, version)).ok_or(())
        })
        .ok()
    }

    /// The installed version an earlier install chose for `parent`'s
    /// dependency `name#asked`, which no registry had.
    pub(super) fn recorded_substitute(&self, parent: &InstalledPackage, name: &str, asked: &str) -> Option<InstalledPackage> {
        let record = self.entry_dir(&parent.name, &parent.version).join(SUBSTITUTES_FILE);
        let v: serde_json::Value = serde_json::from_slice(&fs::read(record).ok()?).ok()?;
        let entry = v.get(name)?;
        if entry.get("asked")?.as_str()? != asked {
            return None;
        }
        let used = entry.get("used")?.as_str()?;
        check_segment(used, "version", used).ok()?;
        self.find_exact(name, used)
    }

    /// Records that `parent`'s dependency `name#asked` is met by `used`.
    pub(super) fn record_substitute(&self, parent: &InstalledPackage, name: &str, asked: &str, used: &str) -> Result<(), PackageError> {
        let entry = self.entry_dir(&parent.name, &parent.version);
        let path = entry.join(SUBSTITUTES_FILE);
        let mut record: serde_json::Map<String, serde_json::Value> =
            fs::read(&path).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default();
        record.insert(name.to_string(), serde_json::json!({"asked": asked, "used": used}));
        let tmp = entry.join(format!("{SUBSTITUTES_FILE}.{}.tmp", std::process::id()));
        let text = serde_json::to_vec_pretty(&record).unwrap_or_default();
        fs::write(&tmp, text).map_err(|e| PackageError::io("write", &tmp, e))?;
        fs::rename(&tmp, &path).map_err(|e| PackageError::io("write", &path, e))
    }

    /// Unpack a local npm-format .tgz into the cache under the name#version
    /// from its package.json, offline and without `--force`: see
    /// [`PackageCache::install_local`].
    pub fn install_tgz(&self, tgz: &Path) -> Result<InstalledPackage, PackageError> {
        self.install_local(tgz, false, &Registries::offline())
    }

    /// Unpack a local npm-format .tgz into the cache under the name#version
    /// from its package.json. Whoever hands over an archive chooses what it
    /// calls itself, so unless `force` is set it may not replace a package
    /// already in the cache, nor stand in for one the registries publish
    /// (unless its bytes are the published ones), nor, when that cannot be
    /// checked, take the name of a package careplan loads by default.
    pub fn install_local(&self, tgz: &Path, force: bool, registries: &Registries) -> Result<InstalledPackage, PackageError> {
        let label = tgz.display().to_string();
        let file = fs::File::open(tgz).map_err(|e| PackageError::io("open", tgz, e))?;
        let work = WorkDir::new(&self.root)?;
        let (fin, manifest) = unpack(&work, file, &label)?;
        let bad = |reason: String| PackageError::BadArchive {
            archive: label.clone(),
            reason,
        };
        check_segment(&manifest.name, "name", &manifest.name)
            .map_err(|e| bad(format!("its package.json has an unusable name: {e}")))?;
        check_segment(&manifest.version, "version", &manifest.version)
            .map_err(|e| bad(format!("its package.json has an unusable version: {e}")))?;
        if !force {
            self.check_local_name(tgz, &manifest.name, &manifest.version, registries)?;
        }
        self.place(&work, &fin, &manifest.name, &manifest.version, true)
    }

    /// Why a local archive may not be filed as `name#version` without `--force`.
    fn check_local_name(&self, tgz: &Path, name: &str, version: &str, registries: &Registries) -> Result<(), PackageError> {
        let refuse = |reason: String| PackageError::LocalArchiveRefused {
            archive: tgz.display().to_string(),
            package: format!("{name}#{version}"),
            reason,
        };
        if self.find_exact(name, version).is_some() {
            return Err(refuse(format!("{name}#{version} is already in the package cache at {}, and a local archive does not replace it", self.root.display())));
        }
        let mut s = Session::new(self, registries, false);
        let published = if s.online() { s.lookup(name)?.into_iter().find_map(|(reg, info)| info.versions.get(version).cloned().map(|vi| (reg, vi))) } else { None };
        if let Some((reg, vi)) = published {
            let actual = sha1_of(tgz)?;
            return match vi.shasum {
                Some(expected) if expected.trim().eq_ignore_ascii_case(&actual) => Ok(()),
                Some(expected) => Err(refuse(format!("{reg} publishes {name}#{version} with other content (sha1 {expected}; this archive's is {actual})"))),
                None => Err(refuse(format!("{reg} publishes {name}#{version} without a checksum, so this archive cannot be shown to be it"))),
            };
        }
        let loaded_by_default = default_packages().iter().any(|r| r.name == name) || name == R4_EXAMPLES;
        if loaded_by_default {
            let why = if registries.offline {
                "careplan is offline".to_string()
            } else if !s.problems().is_empty() {
                format!("no registry could be asked ({})", s.problems().join("; "))
            } else {
                "no registry publishes that version".to_string()
            };
            return Err(refuse(format!("{name} is loaded by every validation, and this archive cannot be checked against what the registries publish ({why})")));
        }
        Ok(())
    }

    /// The folder where archives given as `--ig` are unpacked:
    /// `<root>/.careplan-archives/<sha1 of the archive>/package`. They are
    /// read from there and never filed under their name#version, so an
    /// archive cannot shadow a package of the cache (lookups never look
    /// there, and the HL7 tools ignore folders without `#`).
    pub fn archives_dir(&self) -> PathBuf {
        self.root.join(ARCHIVES_DIR)
    }

    /// Unpacks a local .tgz into [`PackageCache::archives_dir`] (once per
    /// distinct archive) and returns it as a package to read definitions from.
    pub fn open_archive(&self, tgz: &Path) -> Result<InstalledPackage, PackageError> {
        let label = tgz.display().to_string();
        let target = self.archives_dir().join(sha1_of(tgz)?);
        if !target.join("package").join("package.json").is_file() {
            let file = fs::File::open(tgz).map_err(|e| PackageError::io("open", tgz, e))?;
            let work = WorkDir::new(&self.root)?;
            let (fin, _) = unpack(&work, file, &label)?;
            fs::create_dir_all(self.archives_dir()).map_err(|e| PackageError::io("create", self.archives_dir(), e))?;
            // Someone else may have unpacked the same archive meanwhile.
            if let Err(e) = fs::rename(&fin, &target) {
                if !target.join("package").join("package.json").is_file() {
                    return Err(PackageError::io("move an unpacked archive into", &target, e));
                }
            }
        }
        let dir = target.join("package");
        let manifest = Manifest::read(&dir.join("package.json"))?;
        Ok(InstalledPackage { name: manifest.name.clone(), version: manifest.version.clone(), dir, manifest })
    }

    /// Move an arranged folder (holding `package/`) to `<root>/<name>#<version>`.
    pub(super) fn place(
        &self,
        work: &WorkDir,
        fin: &Path,
        name: &str,
        version: &str,
        replace: bool,
    ) -> Result<InstalledPackage, PackageError> {
        let target = self.entry_dir(name, version);
        if target.exists() {
            if !replace {
                if let Some(p) = self.find_exact(name, version) {
                    return Ok(p); // installed meanwhile by someone else
                }
            }
            // Move the old entry into the work folder; it goes when that does.
            let old = work.path().join("old");
            fs::rename(&target, &old).map_err(|e| PackageError::io("replace", &target, e))?;
        }
        if let Err(e) = fs::rename(fin, &target) {
            if let Some(p) = self.find_exact(name, version) {
                return Ok(p);
            }
            return Err(PackageError::io("move a package into", &target, e));
        }
        tracing::info!("installed {name}#{version} in {}", target.display());
        self.find_exact(name, version)
            .ok_or_else(|| PackageError::BadArchive {
                archive: target.display().to_string(),
                reason: "package/package.json is missing after unpacking".into(),
            })
    }
}

/// Unpack an archive in a work folder, index it, and arrange it as
/// `<final>/package/...`. Returns the final folder and the manifest.
pub(super) fn unpack(
    work: &WorkDir,
    reader: impl std::io::Read,
    label: &str,
) -> Result<(PathBuf, Manifest), PackageError> {
    let unpacked = work.path().join("unpacked");
    fs::create_dir(&unpacked).map_err(|e| PackageError::io("create", &unpacked, e))?;
    archive::extract_tgz(reader, &unpacked, label)?;
    let package_dir = archive::locate_package_dir(&unpacked, label)?;
    let manifest = Manifest::read(&package_dir.join("package.json"))?;
    if !package_dir.join(super::index::INDEX_FILE).is_file() {
        match build_index(&package_dir) {
            Ok(entries) => {
                if let Err(e) = write_index(&package_dir, &entries) {
                    tracing::debug!("could not write the index for {label}: {e}");
                }
            }
            Err(e) => tracing::debug!("could not index {label}: {e}"),
        }
    }
    let fin = archive::arrange(work.path(), &unpacked, &package_dir)?;
    Ok((fin, manifest))
}
