//! `careplan outbox list|retry`: what forwarding has sent, is waiting to
//! send, or was refused upstream; and sending refused or waiting writes again.

use crate::server::{outbox, store::Store, clock};
use anyhow::Result;
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct OutboxArgs {
    /// The server's SQLite database file.
    #[arg(long, env = "CAREPLAN_DATABASE", default_value = "careplan.db", global = true, value_name = "FILE")]
    pub database: PathBuf,
    #[command(subcommand)]
    pub command: OutboxCommand,
}

#[derive(Subcommand, Debug)]
pub enum OutboxCommand {
    /// List forwarded writes, newest first, and a count by status.
    List {
        /// Only rows with this status: pending, sent or rejected.
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Print JSON (one object per row) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Send rejected writes again, and waiting ones now (all, or the given sequence numbers).
    Retry { seqs: Vec<i64> },
}

pub fn run(args: OutboxArgs) -> Result<i32> {
    if !args.database.is_file() {
        anyhow::bail!("{}: no such database; give the server's with --database", args.database.display());
    }
    let store = Store::open(&args.database)?;
    let fail = |e: crate::server::error::FhirError| anyhow::anyhow!("{e}");
    match args.command {
        OutboxCommand::List { status, limit, json } => {
            let rows = store.read(|c| outbox::list(c, status.as_deref(), limit)).map_err(fail)?;
            if json {
                for r in &rows {
                    println!("{}", serde_json::to_string(r)?);
                }
                return Ok(super::exit::OK);
            }
            let counts = store.read(outbox::counts).map_err(fail)?;
            println!("{}", counts.iter().map(|(s, n)| format!("{s}: {n}")).collect::<Vec<_>>().join(", "));
            println!("{:>6}  {:<8}  {:<6}  {:<40}  {:>8}  {:<24}  last error", "seq", "status", "method", "resource", "attempts", "accepted");
            for r in rows {
                let resource = format!("{}/{}/_history/{}", r.res_type, r.res_id, r.version);
                println!("{:>6}  {:<8}  {:<6}  {:<40}  {:>8}  {:<24}  {}", r.seq, r.status, r.method, resource, r.attempts, clock::instant(r.created), r.last_error.unwrap_or_default());
            }
        }
        OutboxCommand::Retry { seqs } => {
            let n = store.write(|c| outbox::retry(c, &seqs)).map_err(fail)?;
            println!("{n} writes will be sent again");
        }
    }
    Ok(super::exit::OK)
}
