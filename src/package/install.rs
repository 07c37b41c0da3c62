//! One install: a package and its dependency closure, had whole or not at
//! all. Registries are asked once per name (one that cannot be reached is
//! not asked again), downloads wait unpacked in work folders until every
//! dependency is had, and only then enter the cache; a dependency that
//! cannot be had leaves the cache as it was, and the error says what each
//! registry answered for that package.

use std::collections::HashMap;
use std::fs;
use std::path::PathBuf;

use super::archive::WorkDir;
use super::cache::unpack;
use super::registry::{Client, FetchError, PackageInfo, Registries, VersionInfo};
use super::version::compare_versions;
use super::{InstalledPackage, PackageCache, PackageError, PackageRef, R4_CORE, R4_EXAMPLES};

/// What one registry said about a package name.
#[derive(Clone, Debug)]
enum Answer {
    Has(PackageInfo),
    Missing,
    Unreachable(String),
    /// It failed for an earlier name of this install, so it was not asked.
    NotAsked(String),
}

/// A download of this install, unpacked and indexed in its work folder.
struct Staged {
    work: WorkDir,
    /// The folder holding `package/`, renamed into the cache on commit.
    fin: PathBuf,
    package: InstalledPackage,
}

/// A dependency met by another version than the one its parent asks for.
struct Substitute {
    parent: InstalledPackage,
    name: String,
    asked: String,
    used: InstalledPackage,
    /// The registry whose latest version it is; `None` when it was installed already.
    latest_of: Option<String>,
}

pub(super) struct Session<'a> {
    cache: &'a PackageCache,
    registries: &'a Registries,
    progress: bool,
    client: Option<Client>,
    /// The package asked for, for messages about its dependencies.
    request: String,
    /// Each name asked, with every registry's answer in registry order.
    asked: HashMap<String, Vec<(String, Answer)>>,
    /// Registries that could not be reached, and why.
    dead: Vec<(String, String)>,
    staged: Vec<Staged>,
    substitutes: Vec<Substitute>,
}

impl<'a> Session<'a> {
    pub(super) fn new(cache: &'a PackageCache, registries: &'a Registries, progress: bool) -> Self {
        Session {
            cache,
            registries,
            progress,
            client: None,
            request: String::new(),
            asked: HashMap::new(),
            dead: Vec::new(),
            staged: Vec::new(),
            substitutes: Vec::new(),
        }
    }

    pub(super) fn online(&self) -> bool {
        !self.registries.offline && !self.registries.urls.is_empty()
    }

    /// Why registries could not be reached so far.
    pub(super) fn problems(&self) -> Vec<String> {
        self.dead.iter().map(|(reg, why)| format!("{reg} ({why})")).collect()
    }

    fn client(&mut self) -> Result<&Client, PackageError> {
        if self.client.is_none() {
            self.client = Some(Client::new()?);
        }
        Ok(self.client.as_ref().unwrap())
    }

    /// What each registry that has `name` publishes, in registry order.
    pub(super) fn lookup(&mut self, name: &str) -> Result<Vec<(String, PackageInfo)>, PackageError> {
        if !self.asked.contains_key(name) {
            let mut answers = Vec::new();
            if self.online() {
                for reg in self.registries.urls.clone() {
                    if let Some((_, why)) = self.dead.iter().find(|(r, _)| *r == reg) {
                        answers.push((reg, Answer::NotAsked(why.clone())));
                        continue;
                    }
                    let answer = match self.client()?.package_info(&reg, name) {
                        Ok(info) => Answer::Has(info),
                        Err(FetchError::NotFound) => Answer::Missing,
                        Err(FetchError::Unreachable(why)) => {
                            tracing::debug!("registry {reg} unavailable: {why}");
                            // The URL names this package; later packages' messages must not.
                            let url = format!("{}/{name}: ", reg.trim_end_matches('/'));
                            let reason = why.strip_prefix(&url).unwrap_or(&why).to_string();
                            self.dead.push((reg.clone(), format!("asked for {name}: {reason}")));
                            Answer::Unreachable(reason)
                        }
                    };
                    answers.push((reg, answer));
                }
            }
            self.asked.insert(name.to_string(), answers);
        }
        Ok(self.asked[name]
            .iter()
            .filter_map(|(reg, a)| match a {
                Answer::Has(info) => Some((reg.clone(), info.clone())),
                _ => None,
            })
            .collect())
    }

    /// Why no registry gave `name`: every registry asked and its answer.
    fn why_not(&self, name: &str) -> String {
        if self.registries.offline {
            return "careplan is offline (--offline or CAREPLAN_OFFLINE)".to_string();
        }
        if self.registries.urls.is_empty() {
            return "no package registries are configured (CAREPLAN_REGISTRIES is empty)".to_string();
        }
        let answers = self.asked.get(name).map(Vec::as_slice).unwrap_or_default();
        let said: Vec<String> = answers
            .iter()
            .map(|(reg, a)| match a {
                Answer::Has(info) => format!("{reg}: has versions {}", info.version_list().join(", ")),
                Answer::Missing => format!("{reg}: has no package {name}"),
                Answer::Unreachable(why) => format!("{reg}: could not be reached ({why})"),
                Answer::NotAsked(why) => format!("{reg}: not asked, it could not be reached earlier in this install ({why})"),
            })
            .collect();
        if answers.iter().all(|(_, a)| matches!(a, Answer::Missing)) {
            format!("no registry has it (asked {})", said.join("; "))
        } else {
            format!("no registry could provide it (asked {})", said.join("; "))
        }
    }

    /// The package with this exact name and version, in the cache or among
    /// this install's downloads.
    fn have(&self, name: &str, version: &str) -> Option<InstalledPackage> {
        self.cache
            .find_exact(name, version)
            .or_else(|| self.staged.iter().find(|s| s.package.name == name && s.package.version == version).map(|s| s.package.clone()))
    }

    /// Downloads and unpacks a package into a work folder; it enters the
    /// cache with the rest of the closure in [`Session::commit`].
    fn download(&mut self, name: &str, version: &str, vi: &VersionInfo) -> Result<InstalledPackage, PackageError> {
        if let Some(p) = self.have(name, version) {
            return Ok(p);
        }
        let work = WorkDir::new(self.cache.root())?;
        let tgz = work.path().join("download.tgz");
        let progress = self.progress;
        tracing::info!("downloading {name}#{version} from {}", vi.tarball);
        self.client()?.download(&vi.tarball, vi.shasum.as_deref(), &tgz, progress, &format!("{name}#{version}"))?;
        let file = fs::File::open(&tgz).map_err(|e| PackageError::io("open", &tgz, e))?;
        let (fin, manifest) = unpack(&work, file, &vi.tarball)?;
        if manifest.name != name || manifest.version != version {
            tracing::warn!("{} says it is {}#{}; filing it as {name}#{version} as the registry does", vi.tarball, manifest.name, manifest.version);
        }
        let package = InstalledPackage::load(name, version, fin.join("package"));
        self.staged.push(Staged { work, fin, package: package.clone() });
        Ok(package)
    }

    /// Downloads the archive of one package (no dependencies) into `dir`
    /// as `name-version.tgz`, checked against the registry's checksum.
    pub(super) fn fetch(&mut self, r: &PackageRef, dir: &std::path::Path) -> Result<PathBuf, PackageError> {
        self.request = r.to_string();
        let name = r.name.as_str();
        let infos = self.lookup(name)?;
        let version = match &r.version {
            Some(v) => Some(v.clone()),
            None => infos.iter().find_map(|(_, info)| info.latest.clone()),
        };
        let found = version.as_ref().and_then(|v| infos.iter().find_map(|(_, info)| info.versions.get(v)).cloned().map(|vi| (v.clone(), vi)));
        let Some((version, vi)) = found else {
            return Err(PackageError::NotPublished { package: r.to_string(), why: self.why_not(name) });
        };
        fs::create_dir_all(dir).map_err(|e| PackageError::io("create", dir, e))?;
        let target = dir.join(format!("{name}-{version}.tgz"));
        let partial = dir.join(format!(".{name}-{version}.tgz.part"));
        let progress = self.progress;
        self.client()?.download(&vi.tarball, vi.shasum.as_deref(), &partial, progress, &format!("{name}#{version}"))?;
        fs::rename(&partial, &target).map_err(|e| PackageError::io("move the download to", &target, e))?;
        Ok(target)
    }

    /// The package asked for and, transitively, its dependencies: the
    /// requested package first, then each dependency once.
    pub(super) fn closure(&mut self, r: &PackageRef) -> Result<Vec<InstalledPackage>, PackageError> {
        self.request = r.to_string();
        let first = self.resolve(r, None)?;
        super::cache::dependency_closure(&r.name, first, |name, version, parent| self.resolve(&PackageRef::new(name.to_string(), Some(version)), Some(parent)))
    }

    /// Moves this install's downloads into the cache, together: if one
    /// cannot be moved, those already moved are taken out again. Then says
    /// (once) and records the substitutes chosen.
    pub(super) fn commit(mut self, closure: Vec<InstalledPackage>) -> Result<Vec<InstalledPackage>, PackageError> {
        let mut moved_in: Vec<PathBuf> = Vec::new();
        let mut placed: HashMap<String, InstalledPackage> = HashMap::new();
        for st in std::mem::take(&mut self.staged) {
            let (name, version) = (&st.package.name, &st.package.version);
            let target = self.cache.entry_dir(name, version);
            let existed = target.exists();
            match self.cache.place(&st.work, &st.fin, name, version, false) {
                Ok(p) => {
                    if !existed {
                        moved_in.push(target);
                    }
                    placed.insert(p.reference(), p);
                }
                Err(e) => {
                    self.take_out(&moved_in);
                    return Err(e);
                }
            }
        }
        for s in &self.substitutes {
            let used = match &s.latest_of {
                None => format!("the installed {}", s.used.reference()),
                Some(reg) => format!("{}, the latest on {reg},", s.used.reference()),
            };
            let pre = if s.used.version.contains('-') { " (a pre-release version)" } else { "" };
            tracing::warn!(
                "{} depends on {}#{}, which no registry has; using {used}{pre} instead (later runs do the same without saying so)",
                s.parent.reference(),
                s.name,
                s.asked,
            );
            if let Err(e) = self.cache.record_substitute(&s.parent, &s.name, &s.asked, &s.used.version) {
                tracing::debug!("the choice is not recorded, and will be made again: {e}");
            }
        }
        Ok(closure.into_iter().map(|p| placed.get(&p.reference()).cloned().unwrap_or(p)).collect())
    }

    /// Removes entries this install moved into the cache (moving each into
    /// a work folder first, so no half-deleted package is ever seen).
    fn take_out(&self, entries: &[PathBuf]) {
        for entry in entries {
            let removed = WorkDir::new(self.cache.root()).and_then(|work| {
                fs::rename(entry, work.path().join("removed")).map_err(|e| PackageError::io("take back", entry, e))
            });
            if let Err(e) = removed {
                tracing::warn!("{e}; removing it in place");
                let _ = fs::remove_dir_all(entry);
            }
        }
    }

    /// Find or fetch one package. `parent` is the package that depends on it
    /// (None for the package the user asked for).
    fn resolve(&mut self, r: &PackageRef, parent: Option<&InstalledPackage>) -> Result<InstalledPackage, PackageError> {
        let name = r.name.as_str();
        // 1. The cache or this install's downloads (a pinned version only;
        //    "latest" asks the registries), or the substitute an earlier
        //    install chose for this parent.
        if let Some(v) = &r.version {
            if let Some(p) = self.cache.find(r).or_else(|| self.have(name, v)) {
                return Ok(p);
            }
            if let Some(p) = parent.and_then(|parent| self.cache.recorded_substitute(parent, name, v)) {
                tracing::debug!("{r} is met by {}, as recorded when it was installed", p.reference());
                return Ok(p);
            }
        }
        // 2. The registries.
        let infos = self.lookup(name)?;
        match &r.version {
            Some(v) => {
                if let Some(vi) = infos.iter().find_map(|(_, info)| info.versions.get(v)).cloned() {
                    return self.download(name, v, &vi);
                }
            }
            None => {
                if let Some(latest) = infos.iter().find_map(|(_, info)| info.latest.clone()) {
                    if let Some(p) = self.have(name, &latest) {
                        return Ok(p);
                    }
                    let vi = infos.iter().find_map(|(_, info)| info.versions.get(&latest)).cloned().expect("latest is a listed version");
                    return self.download(name, &latest, &vi);
                }
            }
        }
        // 3. R4 core is not on every registry; the examples package carries it.
        if name == R4_CORE {
            let sub = PackageRef { name: R4_EXAMPLES.to_string(), version: r.version.clone() };
            tracing::info!("{r} is not available; using {sub}, which carries all R4 core definitions");
            let neither = |why: String| format!("neither is {sub} (which carries it): {why}");
            return self.resolve(&sub, parent).map_err(|e| match e {
                // Name what was asked for, not only the stand-in.
                PackageError::NotFound { why, cache, .. } => PackageError::NotFound { package: r.to_string(), cache, why: neither(why) },
                PackageError::DependencyMissing { request, via, why, .. } => {
                    PackageError::DependencyMissing { request, package: r.to_string(), via, why: neither(why) }
                }
                other => other,
            });
        }
        // 4. Fallbacks: without a version, whatever is installed; for a
        //    dependency version nobody has, an installed or the latest version.
        if r.version.is_none() {
            if let Some(p) = self.cache.newest(name) {
                tracing::debug!("no registry answered for {name}; using the installed {}", p.reference());
                return Ok(p);
            }
        } else if let (Some(parent), Some(asked)) = (parent, &r.version) {
            let substitute = |used: &InstalledPackage, latest_of: Option<String>| Substitute {
                parent: parent.clone(),
                name: name.to_string(),
                asked: asked.clone(),
                used: used.clone(),
                latest_of,
            };
            if let Some(p) = self.cache.newest(name) {
                self.substitutes.push(substitute(&p, None));
                return Ok(p);
            }
            let latest = infos.iter().find_map(|(reg, info)| info.latest.as_ref().map(|l| (reg.clone(), l.clone(), info.versions[l].clone())));
            if let Some((reg, latest, vi)) = latest {
                let p = self.download(name, &latest, &vi)?;
                self.substitutes.push(substitute(&p, Some(reg)));
                return Ok(p);
            }
        }
        // 5. Nothing: say why and what to do.
        if let (Some(v), false) = (&r.version, infos.is_empty()) {
            let mut available: Vec<String> = infos.iter().flat_map(|(_, i)| i.version_list()).collect();
            available.sort_by(|a, b| compare_versions(a, b));
            available.dedup();
            return Err(PackageError::VersionNotFound { name: name.to_string(), version: v.clone(), available: available.join(", ") });
        }
        let why = self.why_not(name);
        Err(match parent {
            Some(p) => PackageError::DependencyMissing {
                request: self.request.clone(),
                package: r.to_string(),
                via: if p.reference() == self.request { String::new() } else { format!(" (through {})", p.reference()) },
                why,
            },
            None => PackageError::NotFound { package: r.to_string(), cache: self.cache.root().to_path_buf(), why },
        })
    }
}
