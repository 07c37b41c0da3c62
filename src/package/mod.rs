//! FHIR packages: the shared package cache, registries, archives and the
//! per-package resource index.
//!
//! A package is an npm-style .tgz whose `package/` folder holds package.json
//! and the resources as JSON files. The cache keeps each one as
//! `<root>/<name>#<version>/package/...`, the layout the HL7 tools share.

mod archive;
mod cache;
mod catalogue;
mod error;
mod index;
mod install;
mod manifest;
mod reference;
mod registry;
mod version;

pub use cache::{PackageCache, SUBSTITUTES_FILE};
pub use catalogue::{CataloguedPackage, PackageCatalogue};
pub use error::PackageError;
pub use index::{IndexEntry, InstalledPackage};
pub use manifest::Manifest;
pub use reference::PackageRef;
pub use registry::{npm_registry, Registries, FHIR_REGISTRY};
pub(crate) use registry::http_client_builder;
pub use version::compare_versions;

/// The R4 core package.
pub const R4_CORE: &str = "hl7.fhir.r4.core";
/// The R4 examples package: carries every R4 core definition, and stands in
/// for [`R4_CORE`] where that is not available.
pub const R4_EXAMPLES: &str = "hl7.fhir.r4.examples";

/// The packages loaded by default, as the HL7 reference validator does: R4
/// core, hl7.terminology.r4, hl7.fhir.uv.extensions.r4 (the latter two at
/// their latest version).
pub fn default_packages() -> Vec<PackageRef> {
    vec![
        PackageRef::new(R4_CORE, Some("4.0.1")),
        PackageRef::new("hl7.terminology.r4", None),
        PackageRef::new("hl7.fhir.uv.extensions.r4", None),
    ]
}

#[cfg(test)]
mod tests;
