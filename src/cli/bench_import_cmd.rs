//! `careplan bench import`: rows per second and peak memory of
//! `careplan import` on a generated council export (the `la-social-care`
//! example's mapping and columns, one person per ten item rows), written to
//! a temporary folder as PRSB plans.

use crate::import::{self, mapping::Mapping, To};
use anyhow::Result;
use clap::Args;
use std::io::Write;
use std::time::Instant;

const MAPPING: &str = include_str!("../../examples/import/la-social-care/mapping.toml");
const CONCEPT_MAP: &str = include_str!("../../examples/import/la-social-care/needs.conceptmap.json");

#[derive(Args, Debug)]
pub struct BenchImportArgs {
    /// How many plan-item rows (people are a tenth as many).
    #[arg(long, default_value_t = 100_000, value_name = "N")]
    pub rows: usize,
    /// Print the figures as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Writes the two CSV files of a council export with `rows` item rows.
fn generate(dir: &std::path::Path, rows: usize) -> Result<()> {
    let people = rows.div_ceil(10);
    let mut p = std::io::BufWriter::new(std::fs::File::create(dir.join("people.csv"))?);
    writeln!(p, "Person ID,Forename,Surname,NHS No,Date of Birth,Funding Source,Funding Detail,Next Review,Plan Agreed,Agreed By,Agreed On,Not Agreed Because,Last Assessment")?;
    for i in 0..people {
        writeln!(p, "LA-{i:07},Person,Number {i},,{:02}/{:02}/19{:02},LA,Council-arranged home care,06/2027,Y,Person,12/03/2026 15:40,,", 1 + i % 28, 1 + i % 12, 30 + i % 60)?;
    }
    p.flush()?;
    let mut t = std::io::BufWriter::new(std::fs::File::create(dir.join("plan_items.csv"))?);
    writeln!(t, "Person ID,Item Ref,Item Type,Category,Description,Why It Matters,Importance,Linked Items,Status,Responsible,Responsible Role,Team,Start,End,Confidence,Review Date,Last Updated")?;
    let categories = ["FALLS", "PCARE", "MEMORY", "SOCIAL", "MOBILITY"];
    for r in 0..rows {
        let (person, k) = (r / 10, r % 10);
        let id = format!("LA-{person:07}");
        let line = match k {
            0 | 1 => format!("{id},S-{k},STRENGTH,,Keeps a diary of appointments,,,G-7,,,,,,,,,"),
            2..=4 => format!("{id},N-{k},NEED,{},Needs help at home with item {k},,,,,,,,,,,,", categories[r % 5]),
            5 | 6 => format!("{id},G-{k},GOAL,,Stay living at home (goal {k}),It matters to me,{},N-2;N-3,OPEN,,,,,,,,", 1 + r % 10),
            _ => format!("{id},A-{k},ACTION,,Home care visit {k},,,G-5,INPROG,Home care team,Carer,,08/01/2026,,{},06/2026,22/01/2026 16:00", 1 + r % 10),
        };
        // Person 7 items point at G-7, which does not exist: a realistic share of link errors would
        // stop plans; keep them valid by pointing strengths at G-5.
        writeln!(t, "{}", line.replace("G-7", "G-5"))?;
    }
    t.flush()?;
    Ok(())
}

pub fn run(args: BenchImportArgs) -> Result<i32> {
    let dir = tempfile_dir()?;
    std::fs::write(dir.join("mapping.toml"), MAPPING)?;
    std::fs::write(dir.join("needs.conceptmap.json"), CONCEPT_MAP)?;
    generate(&dir, args.rows)?;
    let mapping = Mapping::read(&dir.join("mapping.toml"))?;
    let out = dir.join("plans");
    let opts = import::Options { to: To::Prsb, check: false, out: Some(out), post: None, now: crate::primitive::now_rfc3339(), validator: None, progress: false };
    let inputs = [dir.join("people.csv"), dir.join("plan_items.csv")];
    let started = Instant::now();
    let report = import::run(&mapping, &inputs, &opts)?;
    let seconds = started.elapsed().as_secs_f64();
    let peak_mb = super::bench_cmd::peak_rss_bytes().map(|b| b as f64 / 1e6);
    let _ = std::fs::remove_dir_all(&dir);
    let rows_per_second = report.rows as f64 / seconds;
    if args.json {
        let v = serde_json::json!({"rows": report.rows, "people": report.people, "plans_written": report.written.len(), "errors": report.errors,
            "seconds": seconds, "rows_per_second": rows_per_second, "peak_rss_mb": peak_mb});
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!("careplan import: {} rows ({} people, {} plans written, {} errors) in {seconds:.2} s: {rows_per_second:.0} rows/s; peak RSS {}",
            report.rows, report.people, report.written.len(), report.errors, peak_mb.map_or("unknown".into(), |m| format!("{m:.0} MB")));
    }
    Ok(if report.errors == 0 { super::exit::OK } else { super::exit::INVALID })
}

fn tempfile_dir() -> Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("careplan-bench-import-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
