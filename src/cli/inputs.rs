//! What `careplan validate` reads: its INPUT arguments (files, folders,
//! globs, `-`) as a sorted list of inputs. Folders and globs stand for the
//! FHIR files in them, so what a folder holds besides resources is left out:
//! package metadata (`package.json`, `.index.json`), dot files and folders,
//! and a package's `other/` and `openapi/` folders (the package format's
//! place for files that are not resources). A file named on its own is
//! always read.

use anyhow::{bail, Context as _, Result};
use std::path::{Path, PathBuf};

pub enum Input {
    Stdin,
    File(PathBuf),
}

impl Input {
    pub fn name(&self) -> String {
        match self {
            Input::Stdin => "-".into(),
            Input::File(p) => p.display().to_string(),
        }
    }
}

const WHAT_IS_READ: &str = "folders are searched for .json, .xml and .ndjson files; package.json, .index.json and dot files are left out";

/// Every argument must stand for at least one input: a folder or pattern
/// with nothing to validate is a mistake (a CI job pointed at the wrong
/// folder), not a pass.
pub fn expand(args: &[String]) -> Result<Vec<Input>> {
    let mut out = Vec::new();
    for a in args {
        if a == "-" {
            out.push(Input::Stdin);
            continue;
        }
        let path = Path::new(a);
        if path.is_dir() {
            let mut files = Vec::new();
            collect(path, &mut files)?;
            if files.is_empty() {
                bail!("{a}: no FHIR files to validate in this folder ({WHAT_IS_READ})");
            }
            files.sort();
            out.extend(files.into_iter().map(Input::File));
        } else if path.is_file() {
            out.push(Input::File(path.to_path_buf()));
        } else if a.contains(['*', '?', '[']) {
            let mut matched: Vec<PathBuf> = glob::glob(a)?.filter_map(Result::ok).filter(|p| p.is_file() && is_fhir_file(p)).collect();
            if matched.is_empty() {
                bail!("the pattern {a} matches no FHIR files ({WHAT_IS_READ})");
            }
            matched.sort();
            out.extend(matched.into_iter().map(Input::File));
        } else {
            bail!("{a}: no such file or folder");
        }
    }
    Ok(out)
}

fn is_hidden(path: &Path) -> bool {
    path.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.'))
}

/// A file a folder or pattern stands for: FHIR by its extension, and not
/// package metadata.
fn is_fhir_file(path: &Path) -> bool {
    let metadata = is_hidden(path) || path.file_name().is_some_and(|n| n == "package.json" || n == "package-lock.json");
    !metadata && path.extension().is_some_and(|x| x == "json" || x == "xml" || x == "ndjson")
}

/// A package folder, as the loader recognises one.
fn is_package_dir(dir: &Path) -> bool {
    dir.join("package.json").is_file() && dir.join(".index.json").is_file()
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let package = is_package_dir(dir);
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read the folder {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            let not_resources = package && path.file_name().is_some_and(|n| n == "other" || n == "openapi");
            if is_hidden(&path) || not_resources {
                tracing::debug!("{}: not searched for resources", path.display());
            } else {
                collect(&path, out)?;
            }
        } else if is_fhir_file(&path) {
            out.push(path);
        } else {
            tracing::debug!("{}: not a FHIR resource file; left out", path.display());
        }
    }
    Ok(())
}
