//! `careplan package install|fetch|list`.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use crate::cli::exit;
use crate::package::{default_packages, InstalledPackage, PackageCache, PackageRef, Registries};

#[derive(Args, Debug)]
pub struct PackageArgs {
    #[command(subcommand)]
    pub command: PackageCommand,
}

#[derive(Subcommand, Debug)]
pub enum PackageCommand {
    /// Download packages (and their dependencies) into the cache. With no
    /// PACKAGE, installs the default set: R4 core, hl7.terminology.r4 and
    /// hl7.fhir.uv.extensions.r4.
    Install {
        #[command(flatten)]
        cache: CacheArg,
        /// Use only the cache; ask no registry (also CAREPLAN_OFFLINE=1).
        #[arg(long)]
        offline: bool,
        /// Let a local .tgz replace the package of the same name#version in
        /// the cache, or stand in for one the registries publish or careplan
        /// loads by default. Without it, such an archive is refused.
        #[arg(long)]
        force: bool,
        /// `name#version`, `name` (latest) or a path to a package .tgz.
        #[arg(value_name = "PACKAGE")]
        packages: Vec<String>,
    },
    /// Download a package's archive alone (no dependencies), checked
    /// against the registry's checksum, as NAME-VERSION.tgz: to validate
    /// with `--ig NAME-VERSION.tgz` when a dependency is published nowhere
    /// the registries reach. The cache is left as it is.
    Fetch {
        /// Folder to write the archives to.
        #[arg(long, value_name = "DIR", default_value = ".")]
        out: PathBuf,
        /// `name#version` or `name` (latest).
        #[arg(value_name = "PACKAGE", required = true)]
        packages: Vec<String>,
    },
    /// List the packages in the cache with the number of resources in each.
    List {
        #[command(flatten)]
        cache: CacheArg,
    },
}

#[derive(Args, Debug)]
pub struct CacheArg {
    /// Package cache folder [default: $FHIR_PACKAGE_CACHE, else ~/.fhir/packages].
    #[arg(long, value_name = "DIR")]
    pub cache: Option<PathBuf>,
}

impl CacheArg {
    fn open(&self) -> PackageCache {
        PackageCache::new(
            self.cache
                .clone()
                .unwrap_or_else(PackageCache::default_root),
        )
    }
}

pub fn run(args: PackageArgs) -> anyhow::Result<i32> {
    match args.command {
        PackageCommand::Install {
            cache,
            offline,
            force,
            packages,
        } => install(&cache.open(), offline, force, &packages),
        PackageCommand::Fetch { out, packages } => fetch(&out, &packages),
        PackageCommand::List { cache } => list(&cache.open()),
    }
}

fn looks_like_archive(arg: &str) -> bool {
    arg.ends_with(".tgz") || arg.ends_with(".tar.gz") || Path::new(arg).is_file()
}

fn install(cache: &PackageCache, offline: bool, force: bool, packages: &[String]) -> anyhow::Result<i32> {
    let registries = if offline {
        Registries::offline()
    } else {
        Registries::default_list()
    };
    let requests: Vec<String> = if packages.is_empty() {
        default_packages().iter().map(ToString::to_string).collect()
    } else {
        packages.to_vec()
    };
    let mut printed: Vec<(String, String)> = Vec::new();
    let mut failed = false;
    for arg in &requests {
        let result = if looks_like_archive(arg) {
            cache.install_local(Path::new(arg), force, &registries).map(|p| vec![p])
        } else {
            arg.parse::<PackageRef>()
                .and_then(|r| cache.install(&r, &registries, true))
        };
        match result {
            Ok(installed) => {
                for p in installed {
                    print_once(&mut printed, &p);
                }
            }
            Err(e) => {
                eprintln!("error: {e}");
                failed = true;
            }
        }
    }
    Ok(if failed { exit::CANNOT_RUN } else { exit::OK })
}

fn fetch(out: &Path, packages: &[String]) -> anyhow::Result<i32> {
    let cache = PackageCache::new(PackageCache::default_root());
    let registries = Registries::default_list();
    let mut failed = false;
    for arg in packages {
        match arg.parse::<PackageRef>().and_then(|r| cache.fetch_archive(&r, &registries, out, true)) {
            Ok(path) => println!("{}", path.display()),
            Err(e) => {
                eprintln!("error: {e}");
                failed = true;
            }
        }
    }
    Ok(if failed { exit::CANNOT_RUN } else { exit::OK })
}

fn print_once(printed: &mut Vec<(String, String)>, p: &InstalledPackage) {
    let key = (p.name.clone(), p.version.clone());
    if !printed.contains(&key) {
        println!("{}  {}", p.reference(), p.dir.display());
        printed.push(key);
    }
}

fn list(cache: &PackageCache) -> anyhow::Result<i32> {
    let packages = cache.list();
    if packages.is_empty() {
        eprintln!(
            "no packages in {} (install some with `careplan package install`)",
            cache.root().display()
        );
        return Ok(exit::OK);
    }
    let width = packages
        .iter()
        .map(|p| p.reference().len())
        .max()
        .unwrap_or(0);
    for p in &packages {
        let count = match p.index() {
            Ok(entries) => crate::outcome::counted(entries.len(), "resource", "resources"),
            Err(e) => format!("index unreadable: {e}"),
        };
        println!("{:<width$}  {count}", p.reference());
    }
    Ok(exit::OK)
}
