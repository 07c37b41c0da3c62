//! `careplan import --init`: a starting mapping from the inputs' headers. Each
//! input (each sheet of a workbook) gets a table with its section guessed from
//! its name, the person, id and parent columns guessed from theirs, the fields
//! whose column names match a PRSB item filled in, and every PRSB item of the
//! section listed for the integrator to finish.

use super::sources;
use super::targets::{self, Kind};
use anyhow::Result;
use std::fmt::Write as _;
use std::path::PathBuf;

pub fn starting_mapping(inputs: &[PathBuf]) -> Result<String> {
    let mut t = String::new();
    let names: Vec<String> = inputs.iter().map(|p| sources::name(p)).collect();
    let _ = writeln!(t, "# careplan import mapping, started by `careplan import --init` from {}.", names.join(", "));
    let _ = writeln!(t, "# Check each table's section, person, id and parent columns and its fields, then run");
    let _ = writeln!(t, "# `careplan import --check --mapping THIS_FILE INPUTS...`: it says what could not be read and which columns no table reads.");
    let _ = writeln!(t, "# Sections: {}.", targets::sections().join(", "));
    let _ = writeln!(t);
    let _ = writeln!(t, "plan_id = \"csp-{{person}}\"");
    let _ = writeln!(t, "date_formats = [\"%Y-%m-%d\", \"%d/%m/%Y\"]");
    let _ = writeln!(t, "datetime_formats = [\"%Y-%m-%dT%H:%M:%S\", \"%d/%m/%Y %H:%M\"]");
    let _ = writeln!(t, "utc_offset = \"Z\"");
    for path in inputs {
        for part in sources::parts(path)? {
            let mut headers = Vec::new();
            // The header line, or the first record's fields: the rest is not needed.
            let mut first = true;
            let read = sources::rows(path, &part, None, &mut |_| {}, &mut |row| {
                if first {
                    let mut keys: Vec<String> = row.cells.keys().cloned().collect();
                    keys.sort();
                    headers = keys;
                    first = false;
                }
                Ok(())
            });
            let columns = match read {
                Ok(h) if !h.is_empty() => h,
                Ok(_) => headers,
                Err(e) => return Err(e),
            };
            table(&mut t, &part, &columns);
        }
    }
    Ok(t)
}

fn table(t: &mut String, part: &str, columns: &[String]) {
    let section = guess_section(part);
    let _ = writeln!(t);
    let _ = writeln!(t, "[[table]]");
    let _ = writeln!(t, "input = {}", quote(part));
    let _ = writeln!(t, "section = {}   # guessed from the name; one of the sections above", quote(&section));
    let person = find(columns, &["personid", "clientid", "patientid", "serviceuserid", "person", "client", "nhsnumber", "id"]);
    let mut used: Vec<String> = person.iter().cloned().collect();
    let _ = writeln!(t, "person = {}   # the column that names the person", quote(person.as_deref().unwrap_or("FILL IN")));
    if section != "plan" {
        let singular = section.rsplit('.').next().unwrap_or(&section).trim_end_matches('s').to_owned();
        let id = find(columns, &[&format!("{singular}id"), &format!("{singular}ref"), "itemid", "itemref", "ref", "id"]);
        let _ = writeln!(t, "id = {}   # the column that keeps each item's identity between exports", quote(id.as_deref().unwrap_or("FILL IN")));
        used.extend(id);
        if targets::parent_section(&section).is_some() {
            let _ = writeln!(t, "parent = \"FILL IN\"   # the column naming the item this one belongs to");
        }
    }
    let _ = writeln!(t, "# where = {{ column = \"Type\", equals = [\"Goal\"] }}   # when one input holds several sections");
    let _ = writeln!(t, "[table.fields]");
    for target in targets::targets(&section) {
        if target.kind == Kind::Id {
            continue;
        }
        let leaf = target.path.rsplit('.').next().unwrap_or(&target.path).to_owned();
        let mut names = vec![norm(&target.path), norm(&leaf)];
        names.extend(synonyms(&target.path).iter().map(|s| norm(s)));
        let hint = kind_hint(&target.kind);
        match columns.iter().find(|c| names.contains(&norm(c)) && !used.contains(*c)) {
            Some(c) => {
                used.push(c.clone());
                let _ = writeln!(t, "{} = {}   # {hint}", quote(&target.path), quote(c));
            }
            None => {
                let _ = writeln!(t, "# {} = \"COLUMN\"   # {hint}", quote(&target.path));
            }
        }
    }
    let rest: Vec<&str> = columns.iter().filter(|c| !used.contains(c)).map(String::as_str).collect();
    if !rest.is_empty() {
        let _ = writeln!(t, "# columns not used yet: {}", rest.join(", "));
    }
}

fn kind_hint(kind: &Kind) -> String {
    match kind {
        Kind::Text => "text".into(),
        Kind::Integer { min: Some(a), max: Some(b) } => format!("a whole number from {a} to {b}"),
        Kind::Integer { .. } => "a whole number".into(),
        Kind::Boolean => "yes/no".into(),
        Kind::Date => "a date (date_formats)".into(),
        Kind::DateTime => "a date and time (datetime_formats)".into(),
        Kind::PartialDateTime => "a date of any precision".into(),
        Kind::Choice(c) => format!("one of {} (map local codes with codes = \"TABLE\")", c.join(", ")),
        Kind::Id => "an id".into(),
        Kind::IdList => "ids of other items, split by ; or ,".into(),
        Kind::List(k) => format!("a list, split by ;, of: {}", kind_hint(k)),
        Kind::Coding => "a SNOMED CT code, or local codes through codes = \"TABLE\"".into(),
    }
}

fn synonyms(path: &str) -> &'static [&'static str] {
    match path {
        "person.name" => &["name", "fullname", "clientname", "personname"],
        "person.nhsNumber" => &["nhsno", "nhsnumber", "nhs"],
        "person.birthDate" => &["dob", "dateofbirth", "birthdate"],
        "freeText" => &["description", "text", "details"],
        "whyItMatters" => &["why", "whyitmatters", "whyimportant"],
        "goalImportanceScore" => &["importance", "importancescore"],
        "confidence" => &["confidence", "confidencescore"],
        "reviewDate" | "plannedReviewDate" => &["reviewdate", "review", "nextreview"],
        _ => &[],
    }
}

fn guess_section(part: &str) -> String {
    let n = norm(part);
    for (word, section) in [("outcome", "goals.outcomes"), ("stage", "goals.stageGoals"), ("need", "needs"), ("problem", "needs"), ("goal", "goals"), ("action", "actions"), ("task", "actions"), ("strength", "strengths"), ("comment", "comments"), ("note", "comments"), ("attach", "attachments")] {
        if n.contains(word) {
            return section.to_owned();
        }
    }
    "plan".to_owned()
}

fn find(columns: &[String], wanted: &[&str]) -> Option<String> {
    wanted.iter().find_map(|w| columns.iter().find(|c| norm(c) == *w).cloned())
}

fn norm(s: &str) -> String {
    s.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect()
}

fn quote(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}
