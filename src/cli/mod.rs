//! The `careplan` command line: argument parsing and dispatch only. Each
//! subcommand lives in its own module and returns the process exit code.

use clap::{Parser, Subcommand};

pub mod bench_cmd;
pub mod bench_import_cmd;
pub mod bench_serve_cmd;
pub mod conformance_cmd;
pub mod fhirpath_cmd;
pub mod fuzz_cmd;
pub mod inputs;
pub mod java_flags;
pub mod load_args;
pub mod logging;
pub mod import_cmd;
pub mod map_cmd;
pub mod outbox_cmd;
pub mod package_cmd;
pub mod progress;
pub mod serve_cmd;
pub mod snapshot_cmd;
pub mod validate;

#[derive(Parser, Debug)]
#[command(name = "careplan", version, about = "FHIR R4 validator and PRSB care and support plan facade")]
pub struct Cli {
    /// Say more on stderr: -v what careplan does (packages, downloads), -vv debugging detail.
    #[arg(short = 'v', action = clap::ArgAction::Count, global = true)]
    pub verbosity: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Validate FHIR resources (JSON, XML, NDJSON) against R4 and profiles.
    Validate(validate::ValidateArgs),
    /// Install and list FHIR packages in the shared package cache.
    Package(package_cmd::PackageArgs),
    /// Run a conformance manifest and compare with the reference validator.
    Conformance(conformance_cmd::ConformanceArgs),
    /// Evaluate a FHIRPath expression against a resource and print the result.
    Fhirpath(fhirpath_cmd::FhirpathArgs),
    /// Measure throughput, a large generated Bundle, peak memory and start-up time against their goals.
    Bench(bench_cmd::BenchArgs),
    /// Generate the snapshot of a StructureDefinition given as a differential; print it as JSON.
    Snapshot(snapshot_cmd::SnapshotArgs),
    /// Map a PRSB care and support plan (JSON) to a FHIR R4 transaction Bundle.
    Map(map_cmd::MapArgs),
    /// Turn FHIR (a Bundle, or the resources of one plan) back into the PRSB plan.
    Unmap(map_cmd::UnmapArgs),
    /// Import care-plan exports (CSV, Excel, JSON, NDJSON) into PRSB plans and FHIR, driven by a mapping file.
    Import(import_cmd::ImportArgs),
    /// Archive an item of a PRSB plan (a goal with its actions, a need, a finished action, ...).
    Archive(map_cmd::ArchiveArgs),
    /// Fuzz the readers, the validator, FHIRPath and the PRSB mapper for a while; keep inputs that crash.
    Fuzz(fuzz_cmd::FuzzArgs),
    /// Run the FHIR R4 server: validate, store with history, search, forward.
    Serve(serve_cmd::ServeArgs),
    /// Show and retry the writes the server forwards upstream.
    Outbox(outbox_cmd::OutboxArgs),
}

/// Exit codes shared by every subcommand.
pub mod exit {
    /// Ran, and found no errors.
    pub const OK: i32 = 0;
    /// Ran, and found errors in the input.
    pub const INVALID: i32 = 1;
    /// Could not run (bad arguments, missing packages, unreadable input).
    pub const CANNOT_RUN: i32 = 2;
}

pub fn main() -> i32 {
    let args: Vec<String> = std::env::args().collect();
    if let Some(why) = java_flags::check(&args) {
        eprintln!("error: {why}");
        return exit::CANNOT_RUN;
    }
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { exit::CANNOT_RUN } else { exit::OK };
            let _ = e.print();
            return code;
        }
    };
    let server = matches!(cli.command, Command::Serve(_));
    logging::init(cli.verbosity, server);
    let result = match cli.command {
        Command::Validate(args) => validate::run(args),
        Command::Package(args) => package_cmd::run(args),
        Command::Conformance(args) => conformance_cmd::run(args),
        Command::Bench(args) => bench_cmd::run(args),
        Command::Snapshot(args) => snapshot_cmd::run(args),
        Command::Fhirpath(args) => fhirpath_cmd::run(args),
        Command::Map(args) => map_cmd::run_map(args),
        Command::Import(args) => import_cmd::run(args),
        Command::Unmap(args) => map_cmd::run_unmap(args),
        Command::Archive(args) => map_cmd::run_archive(args),
        Command::Fuzz(args) => fuzz_cmd::run(args),
        Command::Serve(args) => serve_cmd::run(args),
        Command::Outbox(args) => outbox_cmd::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            exit::CANNOT_RUN
        }
    }
}
