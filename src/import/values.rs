//! A cell's text → the value its PRSB item takes (dates in the mapping's
//! formats, scores in range, choices and codes through code tables, ids made
//! safe and stable), or why it cannot be.

use super::mapping::{Coded, FieldSpec, Mapping};
use super::targets::Kind;
use chrono::{NaiveDate, NaiveDateTime};
use serde_json::{json, Value};

/// A cell that could be read, perhaps with a remark (a time assumed, say).
pub type Converted = Result<(Value, Option<String>), String>;

const SNOMED: &str = "http://snomed.info/sct";

/// The PRSB id for a source key: the characters an id allows kept, the rest
/// `-`, so the same key gives the same id on every import.
pub fn make_id(key: &str) -> String {
    let mut id: String = key.trim().chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '-' }).collect();
    if !id.chars().next().is_some_and(|c| c.is_ascii_alphanumeric()) {
        id.insert(0, 'x');
    }
    id.truncate(64);
    id
}

/// Converts a cell for a target of `kind`.
pub fn convert(mapping: &Mapping, spec: &FieldSpec, kind: &Kind, text: &str) -> Converted {
    let text = text.trim();
    match kind {
        Kind::IdList => Ok((Value::Array(split(spec, text, ";,").map(|k| Value::String(make_id(k))).collect()), None)),
        Kind::List(inner) => {
            let mut out = Vec::new();
            let mut remark = None;
            for part in split(spec, text, ";") {
                let (v, r) = convert(mapping, spec, inner, part)?;
                out.push(v);
                remark = remark.or(r);
            }
            Ok((Value::Array(out), remark))
        }
        Kind::Coding => coding(mapping, spec, text),
        Kind::Choice(choices) => choice(mapping, spec, choices, text),
        Kind::Text => Ok((Value::String(text.to_owned()), None)),
        Kind::Id => Ok((Value::String(make_id(text)), None)),
        Kind::Integer { min, max } => {
            let n: i64 = match text.parse::<i64>() {
                Ok(n) => n,
                Err(_) => match text.parse::<f64>() {
                    Ok(f) if f.fract() == 0.0 => f as i64,
                    _ => return Err(format!("`{text}` is not a whole number")),
                },
            };
            if min.is_some_and(|m| n < m) || max.is_some_and(|m| n > m) {
                return Err(format!("{n} is out of range: it must be from {} to {}", min.map_or("any".into(), |m| m.to_string()), max.map_or("any".into(), |m| m.to_string())));
            }
            Ok((json!(n), None))
        }
        Kind::Boolean => match text.to_ascii_lowercase().as_str() {
            "true" | "yes" | "y" | "1" | "t" => Ok((json!(true), None)),
            "false" | "no" | "n" | "0" | "f" => Ok((json!(false), None)),
            _ => Err(format!("`{text}` is not yes/no (true, false, yes, no, y, n, 1, 0)")),
        },
        Kind::Date => date(mapping, spec, text).map(|d| (Value::String(d.format("%Y-%m-%d").to_string()), None)),
        Kind::DateTime => date_time(mapping, spec, text),
        Kind::PartialDateTime => partial(mapping, spec, text),
    }
}

fn split<'a>(spec: &'a FieldSpec, text: &'a str, default: &'static str) -> impl Iterator<Item = &'a str> {
    let seps: Vec<char> = match &spec.split {
        Some(s) => s.chars().collect(),
        None => default.chars().collect(),
    };
    text.split(move |c| seps.contains(&c)).map(str::trim).filter(|p| !p.is_empty())
}

fn lookup<'a>(mapping: &'a Mapping, spec: &FieldSpec, text: &str) -> Result<Option<&'a Coded>, String> {
    let Some(name) = &spec.codes else { return Ok(None) };
    let table = &mapping.codes[name];
    match table.entries.get(text).or_else(|| table.entries.iter().find(|(k, _)| k.eq_ignore_ascii_case(text)).map(|(_, v)| v)) {
        Some(c) => Ok(Some(c)),
        None => Err(format!("`{text}` is not in the code table `{name}`: add it to [codes.{name}]")),
    }
}

fn choice(mapping: &Mapping, spec: &FieldSpec, choices: &[String], text: &str) -> Converted {
    let wanted = match lookup(mapping, spec, text)? {
        Some(c) => c.code.clone(),
        None => text.to_owned(),
    };
    match choices.iter().find(|c| c.eq_ignore_ascii_case(&wanted)) {
        Some(c) => Ok((Value::String(c.clone()), None)),
        None => Err(format!(
            "`{wanted}` is not one of {}{}",
            choices.join(", "),
            if spec.codes.is_none() { "; map the export's codes with `codes = \"TABLE\"`" } else { "" }
        )),
    }
}

fn coding(mapping: &Mapping, spec: &FieldSpec, text: &str) -> Converted {
    let coded = match lookup(mapping, spec, text)? {
        Some(c) => c.clone(),
        None => Coded { system: None, code: text.to_owned(), display: None },
    };
    let mut v = serde_json::Map::new();
    // The PRSB format leaves SNOMED CT implied: a coded value with no system is SNOMED CT.
    if let Some(s) = coded.system.filter(|s| s != SNOMED) {
        v.insert("system".into(), Value::String(s));
    }
    v.insert("code".into(), Value::String(coded.code));
    if let Some(d) = coded.display {
        v.insert("display".into(), Value::String(d));
    }
    Ok((Value::Object(v), None))
}

fn formats<'a>(spec: &'a FieldSpec, defaults: &'a [String]) -> Vec<&'a str> {
    spec.format.as_deref().map(|f| vec![f]).unwrap_or_else(|| defaults.iter().map(String::as_str).collect())
}

fn date(mapping: &Mapping, spec: &FieldSpec, text: &str) -> Result<NaiveDate, String> {
    // A spreadsheet's date cell comes as an ISO date, perhaps with a midnight time.
    let iso = text.strip_suffix("T00:00:00").unwrap_or(text);
    if let Ok(d) = NaiveDate::parse_from_str(iso, "%Y-%m-%d") {
        return Ok(d);
    }
    for f in formats(spec, &mapping.date_formats) {
        if let Ok(d) = NaiveDate::parse_from_str(text, f) {
            return Ok(d);
        }
    }
    Err(format!("`{text}` is not a date in {}", formats(spec, &mapping.date_formats).join(" or ")))
}

fn date_time(mapping: &Mapping, spec: &FieldSpec, text: &str) -> Converted {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok((Value::String(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)), None));
    }
    let offset = &mapping.utc_offset;
    let local = |t: NaiveDateTime| format!("{}{offset}", t.format("%Y-%m-%dT%H:%M:%S"));
    for f in spec.format.iter().map(String::as_str).chain(mapping.datetime_formats.iter().map(String::as_str)) {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, f) {
            return Ok((Value::String(local(t)), None));
        }
    }
    match date(mapping, spec, text) {
        Ok(d) => Ok((Value::String(local(d.and_time(chrono::NaiveTime::MIN))), Some("a date without a time: midnight is assumed".into()))),
        Err(_) => Err(format!(
            "`{text}` is not a date and time (RFC 3339, or {})",
            spec.format.iter().chain(mapping.datetime_formats.iter()).map(String::as_str).collect::<Vec<_>>().join(" or ")
        )),
    }
}

/// A date of any precision: the PRSB form kept as it is, else a date or date-time in the mapping's formats,
/// or a month (`%m/%Y`) when the format has no day.
fn partial(mapping: &Mapping, spec: &FieldSpec, text: &str) -> Converted {
    let partial_form = regex_lite_partial(text);
    if partial_form {
        return Ok((Value::String(text.to_owned()), None));
    }
    if let Ok(d) = date(mapping, spec, text) {
        return Ok((Value::String(d.format("%Y-%m-%d").to_string()), None));
    }
    for f in formats(spec, &mapping.date_formats) {
        if !f.contains("%d") && !f.contains("%e") {
            if let Ok(d) = NaiveDate::parse_from_str(&format!("01 {text}"), &format!("%d {f}")) {
                return Ok((Value::String(d.format("%Y-%m").to_string()), None));
            }
        }
    }
    date_time(mapping, spec, text).map_err(|_| format!("`{text}` is not a date (YYYY, YYYY-MM, a date or a date and time in {})", formats(spec, &mapping.date_formats).join(" or ")))
}

fn regex_lite_partial(text: &str) -> bool {
    let b = text.as_bytes();
    let digits = |r: std::ops::Range<usize>| b.get(r.clone()).is_some_and(|s| s.iter().all(u8::is_ascii_digit));
    match b.len() {
        4 => digits(0..4),
        7 => digits(0..4) && b[4] == b'-' && digits(5..7) && (b"01".contains(&b[5]) && (1..=12).contains(&text[5..7].parse::<u8>().unwrap_or(0))),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn mapping() -> Mapping {
        Mapping::parse(
            r#"
plan_id = "csp-{person}"
date_formats = ["%d/%m/%Y", "%m/%Y"]
[[table]]
input = "p.csv"
section = "plan"
person = "id"
[codes.status]
OPEN = "inProgress"
[codes.needs]
FALL = { code = "129839007", display = "At risk for falls", system = "http://snomed.info/sct" }
"#,
            Path::new("m.toml"),
        )
        .unwrap()
    }

    #[test]
    fn cells_become_prsb_values_or_say_why_not() {
        let m = mapping();
        let plain = FieldSpec::default();
        let coded = |t: &str| FieldSpec { codes: Some(t.into()), ..Default::default() };
        assert_eq!(convert(&m, &plain, &Kind::Date, "19/02/1940").unwrap().0, json!("1940-02-19"));
        assert!(convert(&m, &plain, &Kind::Date, "31/02/1940").unwrap_err().contains("not a date"));
        assert_eq!(convert(&m, &plain, &Kind::Integer { min: Some(1), max: Some(10) }, "7").unwrap().0, json!(7));
        assert!(convert(&m, &plain, &Kind::Integer { min: Some(1), max: Some(10) }, "12").unwrap_err().contains("out of range"));
        let choices = Kind::Choice(vec!["inProgress".into(), "achieved".into()]);
        assert_eq!(convert(&m, &coded("status"), &choices, "open").unwrap().0, json!("inProgress"));
        assert!(convert(&m, &coded("status"), &choices, "CLOSED").unwrap_err().contains("[codes.status]"));
        assert_eq!(convert(&m, &coded("needs"), &Kind::Coding, "FALL").unwrap().0, json!({"code": "129839007", "display": "At risk for falls"}));
        assert_eq!(convert(&m, &plain, &Kind::IdList, "N 1; N/2").unwrap().0, json!(["N-1", "N-2"]));
        assert_eq!(convert(&m, &plain, &Kind::PartialDateTime, "06/2026").unwrap().0, json!("2026-06"));
        assert_eq!(convert(&m, &plain, &Kind::PartialDateTime, "2026-06").unwrap().0, json!("2026-06"));
        let (v, remark) = convert(&m, &plain, &Kind::DateTime, "12/03/2026").unwrap();
        assert_eq!(v, json!("2026-03-12T00:00:00Z"));
        assert!(remark.is_some());
        assert_eq!(make_id("_x 1"), "x_x-1");
    }
}
