//! `careplan fuzz`: run the fuzz targets for a while and keep what crashed.

use super::exit;
use super::load_args::LoadArgs;
use crate::fuzz::{self, Budget, Harness, Target};
use anyhow::Result;
use clap::Args;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Args, Debug)]
pub struct FuzzArgs {
    #[command(flatten)]
    pub load: LoadArgs,
    /// Targets to run [default: all].
    #[arg(value_enum)]
    pub targets: Vec<Target>,
    /// Seconds per target.
    #[arg(long, default_value_t = 30)]
    pub seconds: u64,
    /// Executions per target at most.
    #[arg(long, default_value_t = u64::MAX)]
    pub iterations: u64,
    /// Seed of the mutation engine (the same seed replays the same inputs).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// More seed inputs: a folder of FHIR resources (e.g. an unpacked examples package). Repeatable.
    #[arg(long, value_name = "DIR")]
    pub corpus: Vec<PathBuf>,
    /// Where inputs that crashed are written.
    #[arg(long, value_name = "DIR", default_value = "target/fuzz-crashes")]
    pub crashes: PathBuf,
}

pub fn run(args: FuzzArgs) -> Result<i32> {
    let ctx = Arc::new(args.load.load()?);
    let harness = Harness::new(ctx.clone());
    let targets = if args.targets.is_empty() { Target::ALL.to_vec() } else { args.targets.clone() };
    let root = std::env::current_dir()?;
    let mut crashed = false;
    for target in targets {
        let corpus = fuzz::seed_corpus(target, &root, &args.corpus, &ctx);
        let budget = Budget { iterations: args.iterations, time: Duration::from_secs(args.seconds) };
        let report = fuzz::run(&harness, target, &corpus, args.seed, budget, &args.crashes);
        println!("{}: {} executions from {} seeds, {} crashes", target.name(), report.executions, corpus.len(), report.crashes.len());
        for path in &report.crashes {
            println!("  crash input: {}", path.display());
        }
        crashed |= !report.crashes.is_empty();
    }
    Ok(if crashed { exit::INVALID } else { exit::OK })
}
