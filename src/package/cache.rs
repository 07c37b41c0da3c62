//! The package cache: `<root>/<name>#<version>/package/...`, the layout the
//! HL7 tools share (so entries we did not write are left alone).

use std::collections::{HashMap, HashSet, VecDeque};
use std::fs;
use std::path::{Path, PathBuf};

use super::archive::{self, WorkDir};
use super::index::{build_index, write_index};
use super::reference::check_segment;
use super::registry::{self, Client, FetchError, PackageInfo, Registries, VersionInfo};
use super::version::compare_versions;
use super::{default_packages, InstalledPackage, Manifest, PackageError, PackageRef, R4_CORE, R4_EXAMPLES};

/// The folder of the cache root where archives given as `--ig` are unpacked.
const ARCHIVES_DIR: &str = ".careplan-archives";

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

    fn entry_dir(&self, name: &str, version: &str) -> PathBuf {
        self.root.join(format!("{name}#{version}"))
    }

    /// The installed package with exactly this name and version.
    fn find_exact(&self, name: &str, version: &str) -> Option<InstalledPackage> {
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

    fn newest(&self, name: &str) -> Option<InstalledPackage> {
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
    /// The cache is used first. A dependency version that no registry has is
    /// replaced by an installed version of that package, else by the
    /// registry's latest (with a warning). `hl7.fhir.r4.core` falls back to
    /// `hl7.fhir.r4.examples` of the same version.
    pub fn install(
        &self,
        r: &PackageRef,
        registries: &Registries,
        progress: bool,
    ) -> Result<Vec<InstalledPackage>, PackageError> {
        let mut s = Session::new(self, registries, progress);
        let first = s.resolve(r, None)?;
        let mut seen: HashSet<String> = [r.name.clone(), first.name.clone()].into();
        let mut out = vec![first.clone()];
        let mut queue = VecDeque::from([first]);
        while let Some(pkg) = queue.pop_front() {
            for (dep_name, dep_version) in &pkg.manifest.dependencies {
                if !seen.insert(dep_name.clone()) {
                    continue;
                }
                if check_segment(dep_name, "name", dep_name).is_err()
                    || check_segment(dep_version, "version", dep_version).is_err()
                {
                    tracing::warn!(
                        "{} lists an unusable dependency `{dep_name}: {dep_version}`; skipping it",
                        pkg.reference()
                    );
                    continue;
                }
                let dep_ref = PackageRef::new(dep_name.clone(), Some(dep_version));
                let dep = s.resolve(&dep_ref, Some(&pkg))?;
                seen.insert(dep.name.clone());
                if out
                    .iter()
                    .any(|p| p.name == dep.name && p.version == dep.version)
                {
                    continue;
                }
                out.push(dep.clone());
                queue.push_back(dep);
            }
        }
        Ok(out)
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
            } else if !s.problems.is_empty() {
                format!("no registry could be asked ({})", s.problems.join("; "))
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
    fn place(
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
fn unpack(
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

/// One `install` call: registry answers are remembered, and a registry that
/// cannot be reached is not asked again.
struct Session<'a> {
    cache: &'a PackageCache,
    registries: &'a Registries,
    progress: bool,
    client: Option<Client>,
    infos: HashMap<String, Vec<(String, PackageInfo)>>,
    dead: HashSet<String>,
    problems: Vec<String>,
}

impl<'a> Session<'a> {
    fn new(cache: &'a PackageCache, registries: &'a Registries, progress: bool) -> Self {
        Session {
            cache,
            registries,
            progress,
            client: None,
            infos: HashMap::new(),
            dead: HashSet::new(),
            problems: Vec::new(),
        }
    }

    fn online(&self) -> bool {
        !self.registries.offline && !self.registries.urls.is_empty()
    }

    fn client(&mut self) -> Result<&Client, PackageError> {
        if self.client.is_none() {
            self.client = Some(Client::new()?);
        }
        Ok(self.client.as_ref().unwrap())
    }

    /// What each reachable registry that knows `name` says about it, in
    /// registry order.
    fn lookup(&mut self, name: &str) -> Result<Vec<(String, PackageInfo)>, PackageError> {
        if let Some(found) = self.infos.get(name) {
            return Ok(found.clone());
        }
        let mut found = Vec::new();
        if self.online() {
            for reg in self.registries.urls.clone() {
                if self.dead.contains(&reg) {
                    continue;
                }
                match self.client()?.package_info(&reg, name) {
                    Ok(info) => found.push((reg, info)),
                    Err(FetchError::NotFound) => tracing::debug!("{reg} does not have {name}"),
                    Err(FetchError::Unreachable(why)) => {
                        tracing::debug!("registry {reg} unavailable: {why}");
                        self.problems.push(why);
                        self.dead.insert(reg);
                    }
                }
            }
        }
        self.infos.insert(name.to_string(), found.clone());
        Ok(found)
    }

    fn download(
        &mut self,
        name: &str,
        version: &str,
        vi: &VersionInfo,
    ) -> Result<InstalledPackage, PackageError> {
        if let Some(p) = self.cache.find_exact(name, version) {
            return Ok(p);
        }
        let work = WorkDir::new(&self.cache.root)?;
        let tgz = work.path().join("download.tgz");
        let progress = self.progress;
        tracing::info!("downloading {name}#{version} from {}", vi.tarball);
        self.client()?.download(
            &vi.tarball,
            vi.shasum.as_deref(),
            &tgz,
            progress,
            &format!("{name}#{version}"),
        )?;
        let file = fs::File::open(&tgz).map_err(|e| PackageError::io("open", &tgz, e))?;
        let (fin, manifest) = unpack(&work, file, &vi.tarball)?;
        if manifest.name != name || manifest.version != version {
            tracing::warn!(
                "{} says it is {}#{}; filing it as {name}#{version} as the registry does",
                vi.tarball,
                manifest.name,
                manifest.version
            );
        }
        self.cache.place(&work, &fin, name, version, false)
    }

    /// Find or fetch one package. `parent` is the package that depends on it
    /// (None for the package the user asked for).
    fn resolve(
        &mut self,
        r: &PackageRef,
        parent: Option<&InstalledPackage>,
    ) -> Result<InstalledPackage, PackageError> {
        let name = r.name.as_str();
        // 1. The cache (a pinned version only; "latest" asks the registries).
        if r.version.is_some() {
            if let Some(p) = self.cache.find(r) {
                return Ok(p);
            }
        }
        // 2. The registries.
        let infos = self.lookup(name)?;
        match &r.version {
            Some(v) => {
                if let Some(vi) = infos
                    .iter()
                    .find_map(|(_, info)| info.versions.get(v))
                    .cloned()
                {
                    return self.download(name, v, &vi);
                }
            }
            None => {
                if let Some(latest) = infos.iter().find_map(|(_, info)| info.latest.clone()) {
                    if let Some(p) = self.cache.find_exact(name, &latest) {
                        return Ok(p);
                    }
                    let vi = infos
                        .iter()
                        .find_map(|(_, info)| info.versions.get(&latest))
                        .cloned()
                        .expect("latest is a listed version");
                    return self.download(name, &latest, &vi);
                }
            }
        }
        // 3. R4 core is not on every registry; the examples package carries it.
        if name == R4_CORE {
            let sub = PackageRef {
                name: R4_EXAMPLES.to_string(),
                version: r.version.clone(),
            };
            tracing::info!(
                "{r} is not available; using {sub}, which carries all R4 core definitions"
            );
            return self.resolve(&sub, parent).map_err(|e| match e {
                // Name what the user asked for, not only the stand-in.
                PackageError::NotFound { why, cache, .. } => PackageError::NotFound {
                    package: r.to_string(),
                    cache,
                    why: format!("neither is {sub} (which carries it): {why}"),
                },
                other => other,
            });
        }
        // 4. Fallbacks: without a version, whatever is installed; for a
        //    dependency version nobody has, an installed or the latest version.
        if r.version.is_none() {
            if let Some(p) = self.cache.newest(name) {
                tracing::debug!(
                    "no registry answered for {name}; using the installed {}",
                    p.reference()
                );
                return Ok(p);
            }
        } else if let Some(parent) = parent {
            if let Some(p) = self.cache.newest(name) {
                tracing::warn!(
                    "{} depends on {r}, which no registry has; using the installed {} instead",
                    parent.reference(),
                    p.reference()
                );
                return Ok(p);
            }
            if let Some((reg, latest, vi)) = infos.iter().find_map(|(reg, info)| {
                info.latest
                    .as_ref()
                    .map(|l| (reg.clone(), l.clone(), info.versions[l].clone()))
            }) {
                tracing::warn!("{} depends on {r}, which no registry has; using {name}#{latest} from {reg} instead", parent.reference());
                return self.download(name, &latest, &vi);
            }
        }
        // 5. Nothing: say why and what to do.
        if let (Some(v), false) = (&r.version, infos.is_empty()) {
            let mut available: Vec<String> =
                infos.iter().flat_map(|(_, i)| i.version_list()).collect();
            available.sort_by(|a, b| compare_versions(a, b));
            available.dedup();
            return Err(PackageError::VersionNotFound {
                name: name.to_string(),
                version: v.clone(),
                available: available.join(", "),
            });
        }
        let why = if self.registries.offline {
            "careplan is offline (--offline or CAREPLAN_OFFLINE)".to_string()
        } else if self.registries.urls.is_empty() {
            "no package registries are configured (CAREPLAN_REGISTRIES is empty)".to_string()
        } else if self.problems.is_empty() {
            format!(
                "no registry has it (asked {})",
                self.registries.urls.join(", ")
            )
        } else {
            format!(
                "no registry could provide it ({})",
                self.problems.join("; ")
            )
        };
        let why = match parent {
            Some(p) => format!("{} needs it, but {why}", p.reference()),
            None => why,
        };
        Err(PackageError::NotFound {
            package: r.to_string(),
            cache: self.cache.root.clone(),
            why,
        })
    }
}
