//! `careplan snapshot`: generates the snapshot of a StructureDefinition
//! given as a differential and prints the definition, with its snapshot, as
//! JSON; or, with `--check`, says how the snapshot the file carries differs
//! from the one its differential gives.

use super::exit;
use super::load_args::LoadArgs;
use crate::loader::LoadOptions;
use crate::{loader, parse, snapshot};
use anyhow::{bail, Context as _, Result};
use clap::Args;
use serde_json::Value;
use std::io::Write;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct SnapshotArgs {
    #[command(flatten)]
    pub load: LoadArgs,
    /// Leave out careplan's own PRSB profiles (profiles/, loaded by default).
    #[arg(long)]
    pub no_careplan_profiles: bool,
    /// Compare the snapshot in the file with the one generated from its
    /// differential, print each difference, and exit 1 if there is any.
    #[arg(long)]
    pub check: bool,
    /// The StructureDefinition (JSON or XML).
    #[arg(value_name = "SD_FILE")]
    pub file: PathBuf,
}

pub fn run(args: SnapshotArgs) -> Result<i32> {
    let bytes = std::fs::read(&args.file).with_context(|| format!("cannot read {}", args.file.display()))?;
    let doc = parse::parse(&bytes, None);
    let Some(root) = doc.root else { bail!("{} is not a FHIR resource", args.file.display()) };
    if root.resource_type.as_deref() != Some("StructureDefinition") {
        bail!("{} is not a StructureDefinition", args.file.display());
    }
    let Some(url) = root.child_text("url").map(str::to_string) else { bail!("{} has no url", args.file.display()) };
    let mut ctx = loader::load(&LoadOptions { careplan_profiles: !args.no_careplan_profiles, ..args.load.options() })?;
    loader::add_file(&mut ctx, &args.file)?;
    let sd = ctx.structure_definition(&url).with_context(|| format!("{} cannot be read as a StructureDefinition", args.file.display()))?;
    let committed = sd.snapshot.clone().filter(|s| !s.element.is_empty());
    if args.check && committed.is_none() {
        bail!("{} has no snapshot to check: run `careplan snapshot` without --check to generate one", args.file.display());
    }
    let generated = match snapshot::generate(sd, &ctx) {
        Ok(sd) => sd,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(exit::CANNOT_RUN);
        }
    };
    if let Some(committed) = committed.filter(|_| args.check) {
        let generated = generated.snapshot.map(|s| s.element).unwrap_or_default();
        let differences = snapshot::compare::differences(&generated, &committed.element);
        let mut stdout = std::io::stdout().lock();
        for d in &differences {
            writeln!(stdout, "{}: {d}", args.file.display())?;
        }
        if differences.is_empty() {
            writeln!(stdout, "{}: the snapshot is what the differential gives", args.file.display())?;
            return Ok(exit::OK);
        }
        writeln!(stdout, "{}: {} differences between the snapshot and the one the differential gives", args.file.display(), differences.len())?;
        return Ok(exit::INVALID);
    }
    // The definition as written, with the generated snapshot in place of any other.
    let mut out = ctx.resource_json(&url).map(|v| (*v).clone()).unwrap_or_else(|| Value::Object(Default::default()));
    let obj = out.as_object_mut().context("the definition is not a JSON object")?;
    obj.insert("snapshot".into(), serde_json::to_value(&generated.snapshot)?);
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", serde_json::to_string_pretty(&out)?)?;
    Ok(exit::OK)
}
