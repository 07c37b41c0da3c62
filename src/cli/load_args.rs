//! The arguments every command that loads definitions shares.

use crate::context::Context;
use crate::loader::{self, LoadOptions};
use crate::package::PackageCache;
use clap::Args;
use std::io::IsTerminal;
use std::path::PathBuf;

#[derive(Args, Debug, Clone, Default)]
pub struct LoadArgs {
    /// An implementation guide or conformance resources: a package .tgz, a
    /// folder, a JSON or XML file, or a package id `name#version`. Repeatable.
    #[arg(long = "ig", value_name = "SOURCE")]
    pub igs: Vec<String>,
    /// Package cache folder [default: $FHIR_PACKAGE_CACHE, else ~/.fhir/packages].
    #[arg(long, value_name = "DIR")]
    pub cache: Option<PathBuf>,
    /// Use only the package cache; ask no registry (also CAREPLAN_OFFLINE=1).
    #[arg(long)]
    pub offline: bool,
}

impl LoadArgs {
    pub fn options(&self) -> LoadOptions {
        LoadOptions {
            igs: self.igs.clone(),
            cache: self.cache.clone().unwrap_or_else(PackageCache::default_root),
            offline: self.offline,
            progress: std::io::stderr().is_terminal(),
            ..LoadOptions::default()
        }
    }

    pub fn load(&self) -> anyhow::Result<Context> {
        loader::load(&self.options())
    }
}
