//! Fills a [`Context`] from where definitions live: packages in the cache
//! (installed on first use), `.tgz` archives, folders of conformance
//! resources (JSON or XML), single files, and package ids.

use crate::context::{Context, Entry, Source};
use crate::package::{default_packages, InstalledPackage, PackageCache, PackageRef, Registries};
use crate::parse;
use crate::tree::Format;
use anyhow::{bail, Context as _, Result};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What to load.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// Packages loaded first: R4 core, terminology and extensions by default.
    pub packages: Vec<PackageRef>,
    /// Implementation guides and conformance resources, loaded after the
    /// packages so they win where they redefine a canonical URL.
    pub igs: Vec<String>,
    pub cache: PathBuf,
    /// Where missing packages come from; `None` is the default list, worked
    /// out only when a package is missing (finding the npm registry can mean
    /// running npm, which costs more than a whole validation).
    pub registries: Option<Registries>,
    /// Never ask a registry.
    pub offline: bool,
    pub progress: bool,
    /// Load careplan's own PRSB profiles (`crate::profiles`), after the
    /// packages and before the `igs` (so an `--ig` can redefine them). Off
    /// by default: `careplan validate` turns it on, and the conformance
    /// harness, which measures against third-party cases, leaves it off.
    pub careplan_profiles: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            packages: default_packages(),
            igs: Vec::new(),
            cache: PackageCache::default_root(),
            registries: None,
            offline: false,
            progress: false,
            careplan_profiles: false,
        }
    }
}

/// A context with nothing but the readers it needs to load XML and generate snapshots.
pub fn empty_context() -> Context {
    let mut ctx = Context::new();
    ctx.xml_reader = Some(Arc::new(|text: &str, ctx: &Context| {
        let doc = parse::parse(text.as_bytes(), Some(Format::Xml));
        doc.root.map(|root| crate::convert::resource_to_json(&root, ctx))
    }));
    ctx.snapshot_generator = Some(Arc::new(crate::snapshot::context_hook));
    ctx
}

pub fn load(opts: &LoadOptions) -> Result<Context> {
    let mut ctx = empty_context();
    let cache = PackageCache::new(opts.cache.clone());
    ctx.set_package_cache(opts.cache.clone());
    let mut loaded: Vec<String> = Vec::new();
    for r in &opts.packages {
        for p in resolve_package(&cache, r, opts)? {
            add_package(&mut ctx, &p, &mut loaded)?;
        }
    }
    if opts.careplan_profiles {
        crate::profiles::add_to(&mut ctx)?;
    }
    for ig in &opts.igs {
        add_source(&mut ctx, &cache, ig, opts, &mut loaded)?;
    }
    Ok(ctx)
}

/// The package from the cache, installed (with its dependencies) when it is
/// not there. The default packages are loaded alone: each is one of them,
/// and they are what the others depend on.
fn resolve_package(cache: &PackageCache, r: &PackageRef, opts: &LoadOptions) -> Result<Vec<InstalledPackage>> {
    if let Some(p) = cache.find(r) {
        return Ok(vec![p]);
    }
    install(cache, r, opts)
}

/// The package and every package it depends on: from the cache when it
/// holds them all (as an install left them, so without asking anyone),
/// else installed.
fn resolve_with_dependencies(cache: &PackageCache, r: &PackageRef, opts: &LoadOptions) -> Result<Vec<InstalledPackage>> {
    if let Some(all) = cache.find_with_dependencies(r) {
        return Ok(all);
    }
    // What is installed stays the version used; only what it lacks is fetched.
    let pinned = cache.find(r).map(|p| PackageRef::new(p.name, Some(&p.version))).unwrap_or_else(|| r.clone());
    install(cache, &pinned, opts)
}

fn install(cache: &PackageCache, r: &PackageRef, opts: &LoadOptions) -> Result<Vec<InstalledPackage>> {
    let mut registries = opts.registries.clone().unwrap_or_else(Registries::default_list);
    registries.offline |= opts.offline;
    cache.install(r, &registries, opts.progress).map_err(|e| match e {
        crate::package::PackageError::NotFound { package, cache: root, .. } if registries.offline => anyhow::anyhow!("{}", offline_missing(&root, &package, r)),
        e => anyhow::anyhow!("{e}"),
    })
}

/// A package missing from the cache while offline, and the one command
/// that fixes it: `careplan package install` run once with network access
/// (with no package named, the default set every validation loads: R4
/// core, hl7.terminology.r4 and hl7.fhir.uv.extensions.r4; with `--cache`
/// when the cache is not the default one).
fn offline_missing(root: &Path, package: &str, r: &PackageRef) -> String {
    let what = if default_packages().iter().any(|d| d.name == r.name) { String::new() } else { format!(" {r}") };
    let flag = if root == PackageCache::default_root() {
        String::new()
    } else {
        let shown = root.display().to_string();
        let quoted = if shown.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+~".contains(c)) { shown } else { format!("'{}'", shown.replace('\'', "'\\''")) };
        format!(" --cache {quoted}")
    };
    let installs = if what.is_empty() { "the packages every validation loads (R4 core, hl7.terminology.r4, hl7.fhir.uv.extensions.r4)".to_string() } else { format!("{r} and what it depends on") };
    format!(
        "package {package} is not in the package cache at {}, and careplan is offline (--offline or CAREPLAN_OFFLINE), so no registry was asked. Run `careplan package install{flag}{what}` once with network access: it installs {installs} into that cache. Then try again",
        root.display()
    )
}

fn add_package(ctx: &mut Context, p: &InstalledPackage, loaded: &mut Vec<String>) -> Result<()> {
    let id = p.reference();
    if loaded.contains(&id) {
        return Ok(());
    }
    loaded.push(id.clone());
    ctx.add_source_name(id.clone());
    let origin: Arc<str> = id.into();
    let index = p.index().map_err(|e| anyhow::anyhow!("{e}"))?;
    for e in index {
        let Some(url) = e.url else { continue };
        ctx.add(Entry { resource_type: e.resource_type, url, version: e.version, source: Source::File(p.dir.join(&e.filename)), origin: origin.clone() });
    }
    Ok(())
}

/// One `--ig` argument: a .tgz, a package folder, a folder of resources, a file, or a package id.
pub fn add_source(ctx: &mut Context, cache: &PackageCache, source: &str, opts: &LoadOptions, loaded: &mut Vec<String>) -> Result<()> {
    let path = Path::new(source);
    if path.is_file() && (source.ends_with(".tgz") || source.ends_with(".tar.gz")) {
        // Read where it was unpacked, never filed under the name it gives itself.
        let p = cache.open_archive(path).map_err(|e| anyhow::anyhow!("{e}"))?;
        return add_guide_package(ctx, &p, loaded);
    }
    if path.is_dir() {
        let package_dir = if path.join("package/package.json").is_file() { Some(path.join("package")) } else { None };
        let package_dir = package_dir.or_else(|| (path.join("package.json").is_file() && path.join(".index.json").is_file()).then(|| path.to_path_buf()));
        if let Some(dir) = package_dir {
            let manifest = crate::package::Manifest::read(&dir.join("package.json")).map_err(|e| anyhow::anyhow!("{e}"))?;
            let p = InstalledPackage { name: manifest.name.clone(), version: manifest.version.clone(), dir, manifest };
            return add_guide_package(ctx, &p, loaded);
        }
        let mut files = Vec::new();
        collect_files(path, &mut files)?;
        files.sort();
        for f in files {
            add_file(ctx, &f)?;
        }
        ctx.add_source_name(source);
        return Ok(());
    }
    if path.is_file() {
        ctx.add_source_name(source);
        return add_file(ctx, path);
    }
    if source.contains('/') || source.ends_with(".json") || source.ends_with(".xml") {
        bail!("--ig {source}: no such file or folder");
    }
    let r: PackageRef = source.parse().map_err(|e| anyhow::anyhow!("--ig {source}: {e}"))?;
    let mut packages = resolve_with_dependencies(cache, &r, opts)?.into_iter();
    // The first is the one asked for; the rest are its dependencies.
    if let Some(first) = packages.next() {
        add_guide_package(ctx, &first, loaded)?;
    }
    for p in packages {
        add_package(ctx, &p, loaded)?;
    }
    Ok(())
}

/// A package given as an implementation guide: its definitions, and the
/// `global` profiles of its ImplementationGuide resources.
fn add_guide_package(ctx: &mut Context, p: &InstalledPackage, loaded: &mut Vec<String>) -> Result<()> {
    add_package(ctx, p, loaded)?;
    let index = p.index().map_err(|e| anyhow::anyhow!("{e}"))?;
    for e in index.iter().filter(|e| e.resource_type == "ImplementationGuide") {
        let path = p.dir.join(&e.filename);
        match std::fs::read(&path).map_err(|e| e.to_string()).and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).map_err(|e| e.to_string())) {
            Ok(guide) => ctx.add_global_profiles(&guide),
            Err(err) => tracing::warn!("{}: the implementation guide cannot be read ({err}); its global profiles are not applied", path.display()),
        }
    }
    Ok(())
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read folder {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            if !path.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')) {
                collect_files(&path, out)?;
            }
        } else if path.extension().is_some_and(|x| x == "json" || x == "xml") {
            out.push(path);
        }
    }
    Ok(())
}

/// Registers the conformance resources in one file (a resource or a Bundle of them).
pub fn add_file(ctx: &mut Context, path: &Path) -> Result<()> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let origin = path.display().to_string();
    let is_xml = parse::sniff(&String::from_utf8_lossy(&bytes[..bytes.len().min(512)])) == Some(Format::Xml);
    if is_xml {
        let doc = parse::parse(&bytes, Some(Format::Xml));
        let Some(root) = doc.root else { return Ok(()) };
        let rt = root.resource_type.clone().unwrap_or_default();
        if rt == "ImplementationGuide" {
            let json = crate::convert::resource_to_json(&root, ctx);
            ctx.add_global_profiles(&json);
        }
        if rt == "Bundle" {
            let json = crate::convert::resource_to_json(&root, ctx);
            ctx.add_json(json, &origin);
            return Ok(());
        }
        let Some(url) = root.child_text("url") else { return Ok(()) };
        ctx.add(Entry {
            resource_type: rt.to_string(),
            url: url.to_string(),
            version: root.child_text("version").map(str::to_string),
            source: Source::File(path.to_path_buf()),
            origin: origin.into(),
        });
        return Ok(());
    }
    match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(v) => {
            ctx.add_json(v, &origin);
        }
        Err(e) => tracing::warn!("{} is not JSON and is skipped: {e}", path.display()),
    }
    Ok(())
}
