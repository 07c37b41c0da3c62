//! Errors from the package cache. Each message says what went wrong and what
//! the user can do next.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error("`{input}` is not a package reference ({reason}); write it as name#version, name@version or name")]
    InvalidReference { input: String, reason: String },

    #[error(
        "package {package} is not in the package cache at {cache} and {why}; run `careplan package install {package}` with network access, or put the package in {cache}, or pass --ig path/to/package.tgz"
    )]
    NotFound {
        package: String,
        cache: PathBuf,
        why: String,
    },

    #[error("{package} cannot be fetched: {why}; check the name and version, or make a registry that has it reachable (CAREPLAN_REGISTRIES)")]
    NotPublished { package: String, why: String },

    #[error(
        "{request}: its dependency {package}{via} cannot be had: {why}. Nothing was installed; install {package} from an archive first (`careplan package install path/to/package.tgz`) or make a registry that has it reachable (CAREPLAN_REGISTRIES), then try again; or fetch {request}'s archive alone (`careplan package fetch {request}`) and validate with `--ig` naming that .tgz, whose definitions load without their dependencies"
    )]
    DependencyMissing {
        /// The package asked for.
        request: String,
        package: String,
        /// ` (through x#1.0.0)` when the package that needs it is not the one asked for.
        via: String,
        why: String,
    },

    #[error("no registry has {name}#{version} (versions offered: {available}); ask for one of those, or install a local copy with `careplan package install path/to/package.tgz`")]
    VersionNotFound {
        name: String,
        version: String,
        available: String,
    },

    #[error("downloading {url} failed: {reason}; check network access (or set CAREPLAN_REGISTRIES) and try again")]
    Download { url: String, reason: String },

    #[error("{url} does not match its published checksum (sha1 expected {expected}, got {actual}); the download was discarded, try again")]
    Checksum {
        url: String,
        expected: String,
        actual: String,
    },

    #[error("refusing to unpack {archive}: entry `{entry}` {reason}; the archive is not a safe FHIR package, nothing was installed")]
    UnsafeArchive {
        archive: String,
        entry: String,
        reason: String,
    },

    #[error("refusing to install {archive} as {package}: {reason}; check where the archive comes from, and pass --force if it should replace what careplan loads as {package} (to only read definitions from it, use `careplan validate --ig {archive}`, which installs nothing)")]
    LocalArchiveRefused { archive: String, package: String, reason: String },

    #[error("refusing to unpack {archive}: {reason}; nothing was installed (if this is a genuine package, report it: the limits are in careplan's package/archive.rs)")]
    TooLarge { archive: String, reason: String },

    #[error("{archive} is not a FHIR package archive: {reason}; a package is an npm-style .tgz with package/package.json inside")]
    BadArchive { archive: String, reason: String },

    #[error("cannot {action} {path}: {source}; check that the folder exists and is writable, or choose another cache with --cache DIR / FHIR_PACKAGE_CACHE")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("cannot read {path} as JSON: {reason}; delete the file (it is rebuilt when possible) or reinstall the package")]
    Json { path: PathBuf, reason: String },
}

impl PackageError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        PackageError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
