//! Reading exports as rows, one at a time: CSV (the `csv` crate), Excel
//! workbooks (`calamine`, cell by cell), and JSON (a top-level array, read
//! element by element) or NDJSON (line by line). A row is its number in the
//! file (the line for CSV and NDJSON, the sheet row for Excel, the record for
//! a JSON array) and its cells by column name; nothing holds a whole file.

use anyhow::{anyhow, bail, Context as _, Result};
use serde::de::{DeserializeSeed, SeqAccess, Visitor};
use serde_json::Value;
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// One row of an export.
#[derive(Debug, Default)]
pub struct Row {
    /// Where it is: the line (CSV, NDJSON), the sheet row (Excel), the record (JSON array).
    pub number: u64,
    pub cells: HashMap<String, String>,
}

impl Row {
    pub fn get(&self, column: &str) -> Option<&str> {
        self.cells.get(column).map(String::as_str).map(str::trim).filter(|v| !v.is_empty())
    }
}

/// What an input file is, by its extension.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    Csv,
    Excel,
    Json,
    Ndjson,
}

pub fn kind(path: &Path) -> Result<Kind> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or_default().to_ascii_lowercase();
    Ok(match ext.as_str() {
        "csv" | "tsv" | "txt" => Kind::Csv,
        "xlsx" | "xlsm" | "xls" | "xlsb" | "ods" => Kind::Excel,
        "json" => Kind::Json,
        "ndjson" | "jsonl" => Kind::Ndjson,
        _ => bail!("{}: careplan import reads .csv, .tsv, .xlsx (and other Excel workbooks), .json and .ndjson exports", path.display()),
    })
}

/// The file name tables name an input by.
pub fn name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| path.display().to_string())
}

/// The sheets of a workbook (one "part" per sheet), or the file itself.
pub fn parts(path: &Path) -> Result<Vec<String>> {
    if kind(path)? != Kind::Excel {
        return Ok(vec![name(path)]);
    }
    use calamine::Reader;
    let book = calamine::open_workbook_auto(path).with_context(|| format!("could not open the workbook {}", path.display()))?;
    Ok(book.sheet_names().iter().map(|s| format!("{}#{s}", name(path))).collect())
}

/// Calls `each` with every row of one part (`file` or `file#Sheet`);
/// `records` (JSON) names a list inside each record whose elements are the
/// rows, their ancestors' fields reachable as `^field`, `^^field`. `read`
/// is told how many bytes of the file have been read, for progress.
pub fn rows(path: &Path, part: &str, records: Option<&str>, read: &mut dyn FnMut(u64), each: &mut dyn FnMut(Row) -> Result<()>) -> Result<Vec<String>> {
    match kind(path)? {
        Kind::Csv => csv_rows(path, read, each),
        Kind::Excel => {
            let sheet = part.split_once('#').map(|(_, s)| s).ok_or_else(|| anyhow!("{part}: name a sheet of the workbook as `{part}#Sheet`"))?;
            excel_rows(path, sheet, each)
        }
        Kind::Json | Kind::Ndjson => json_rows(path, records, read, each),
    }
}

fn csv_rows(path: &Path, read: &mut dyn FnMut(u64), each: &mut dyn FnMut(Row) -> Result<()>) -> Result<Vec<String>> {
    let file = File::open(path).with_context(|| format!("could not open {}", path.display()))?;
    let tab = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("tsv"));
    let mut reader = csv::ReaderBuilder::new().flexible(true).delimiter(if tab { b'\t' } else { b',' }).from_reader(BufReader::new(file));
    let mut headers: Vec<String> = reader.headers().with_context(|| format!("{}: could not read the header line", path.display()))?.iter().map(|h| h.trim().to_owned()).collect();
    if let Some(first) = headers.first_mut() {
        *first = first.trim_start_matches('\u{feff}').to_owned();
    }
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => bail!("{}: {e}", path.display()),
        }
        let number = record.position().map_or(0, |p| p.line());
        let cells = headers.iter().cloned().zip(record.iter().map(str::to_owned)).collect();
        each(Row { number, cells })?;
        if let Some(p) = record.position() {
            read(p.byte());
        }
    }
    Ok(headers)
}

fn excel_rows(path: &Path, sheet: &str, each: &mut dyn FnMut(Row) -> Result<()>) -> Result<Vec<String>> {
    use calamine::{Data, Reader};
    let cell_text = |v: &Data| -> String {
        match v {
            Data::Int(i) => i.to_string(),
            Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
            Data::Float(f) => f.to_string(),
            Data::String(s) => s.clone(),
            Data::Bool(b) => b.to_string(),
            Data::DateTime(d) => match d.as_datetime() {
                Some(t) if t.time() == chrono::NaiveTime::MIN => t.date().format("%Y-%m-%d").to_string(),
                Some(t) => t.format("%Y-%m-%dT%H:%M:%S").to_string(),
                None => d.as_f64().to_string(),
            },
            Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
            Data::Error(e) => format!("#ERROR {e}"),
            Data::Empty => String::new(),
        }
    };
    let emit = |headers: &[String], number: u32, values: &mut Vec<(u32, String)>, each: &mut dyn FnMut(Row) -> Result<()>| -> Result<()> {
        if values.iter().all(|(_, v)| v.trim().is_empty()) {
            values.clear();
            return Ok(());
        }
        let cells = values.drain(..).filter_map(|(c, v)| headers.get(c as usize).filter(|h| !h.is_empty()).map(|h| (h.clone(), v))).collect();
        each(Row { number: u64::from(number) + 1, cells })
    };
    let mut headers: Vec<String> = Vec::new();
    let mut header_row: Option<u32> = None;
    let mut current: Option<u32> = None;
    let mut values: Vec<(u32, String)> = Vec::new();
    let open_err = |e: &dyn std::fmt::Display| anyhow!("{}: sheet `{sheet}`: {e}", path.display());
    // The cell reader streams .xlsx; other workbook formats are read a sheet at a time.
    if kind_is_xlsx(path) {
        let mut book: calamine::Xlsx<_> = calamine::open_workbook(path).map_err(|e| open_err(&e))?;
        let mut cells = book.worksheet_cells_reader(sheet).map_err(|e| open_err(&e))?;
        while let Some(cell) = cells.next_cell().map_err(|e| open_err(&e))? {
            let (r, c) = cell.get_position();
            let text = cell_text(&Data::from(cell.get_value().clone()));
            if header_row.is_none() {
                if text.trim().is_empty() {
                    continue;
                }
                header_row = Some(r);
            }
            if Some(r) == header_row {
                if headers.len() <= c as usize {
                    headers.resize(c as usize + 1, String::new());
                }
                headers[c as usize] = text.trim().to_owned();
                continue;
            }
            if current != Some(r) {
                if let Some(prev) = current {
                    emit(&headers, prev, &mut values, each)?;
                }
                current = Some(r);
            }
            values.push((c, text));
        }
    } else {
        let mut book = calamine::open_workbook_auto(path).map_err(|e| open_err(&e))?;
        let range = book.worksheet_range(sheet).map_err(|e| open_err(&e))?;
        let (r0, c0) = range.start().unwrap_or((0, 0));
        for (i, row) in range.rows().enumerate() {
            let r = r0 + i as u32;
            let texts: Vec<(u32, String)> = row.iter().enumerate().map(|(j, v)| (c0 + j as u32, cell_text(v))).collect();
            if header_row.is_none() {
                if texts.iter().all(|(_, t)| t.trim().is_empty()) {
                    continue;
                }
                header_row = Some(r);
                headers = vec![String::new(); c0 as usize];
                headers.extend(texts.into_iter().map(|(_, t)| t.trim().to_owned()));
                continue;
            }
            values = texts;
            emit(&headers, r, &mut values, each)?;
        }
    }
    if let Some(prev) = current {
        emit(&headers, prev, &mut values, each)?;
    }
    Ok(headers.into_iter().filter(|h| !h.is_empty()).collect())
}

fn kind_is_xlsx(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("xlsx") || e.eq_ignore_ascii_case("xlsm"))
}

/// Counts bytes as they are read, for progress.
struct Counting<R> {
    inner: R,
    read: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

fn json_rows(path: &Path, records: Option<&str>, read: &mut dyn FnMut(u64), each: &mut dyn FnMut(Row) -> Result<()>) -> Result<Vec<String>> {
    let file = File::open(path).with_context(|| format!("could not open {}", path.display()))?;
    let mut headers: Vec<String> = Vec::new();
    let mut number = 0u64;
    let mut record = |value: Value, line: u64, headers: &mut Vec<String>| -> Result<()> {
        for row in explode(&value, records, line) {
            for k in row.cells.keys() {
                if !headers.contains(k) {
                    headers.push(k.clone());
                }
            }
            each(row)?;
        }
        Ok(())
    };
    if kind(path)? == Kind::Ndjson {
        let mut reader = BufReader::new(file);
        let mut line = String::new();
        let mut bytes = 0u64;
        loop {
            line.clear();
            let n = reader.read_line(&mut line).with_context(|| format!("could not read {}", path.display()))?;
            if n == 0 {
                break;
            }
            bytes += n as u64;
            number += 1;
            if line.trim().is_empty() {
                continue;
            }
            let value: Value = serde_json::from_str(&line).map_err(|e| anyhow!("{}:{number}: not JSON: {e}", path.display()))?;
            record(value, number, &mut headers)?;
            read(bytes);
        }
        return Ok(headers);
    }
    // A JSON array, element by element.
    struct Elements<'a> {
        each: &'a mut dyn FnMut(Value) -> Result<()>,
        failed: &'a mut Option<anyhow::Error>,
    }
    impl<'de> Visitor<'de> for Elements<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an array of records")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            while let Some(v) = seq.next_element::<Value>()? {
                if let Err(e) = (self.each)(v) {
                    *self.failed = Some(e);
                    return Err(serde::de::Error::custom("stopped"));
                }
            }
            Ok(())
        }
    }
    impl<'de> DeserializeSeed<'de> for Elements<'_> {
        type Value = ();
        fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_seq(self)
        }
    }
    let counting = Counting { inner: BufReader::new(file), read: 0 };
    let mut de = serde_json::Deserializer::from_reader(counting);
    let mut failed = None;
    let mut handle = |v: Value| -> Result<()> {
        number += 1;
        record(v, number, &mut headers)
    };
    let outcome = Elements { each: &mut handle, failed: &mut failed }.deserialize(&mut de);
    if let Some(e) = failed {
        return Err(e);
    }
    outcome.map_err(|e| anyhow!("{}: {e} (a JSON export must be an array of records; NDJSON files end in .ndjson)", path.display()))?;
    read(u64::MAX);
    Ok(headers)
}

/// A record's rows: the record itself, or the elements of the list `records`
/// names inside it (each with its ancestors' fields as `^name`).
fn explode(value: &Value, records: Option<&str>, number: u64) -> Vec<Row> {
    let mut out = Vec::new();
    let steps: Vec<&str> = records.map(|r| r.split('.').filter(|s| !s.is_empty()).collect()).unwrap_or_default();
    fn walk(value: &Value, steps: &[&str], inherited: &HashMap<String, String>, number: u64, out: &mut Vec<Row>) {
        let mut cells = HashMap::new();
        flatten(value, "", &mut cells);
        let Some((first, rest)) = steps.split_first() else {
            let mut all: HashMap<String, String> = inherited.clone();
            all.extend(cells);
            out.push(Row { number, cells: all });
            return;
        };
        // The ancestors' fields, one more `^` per level up.
        let mut up: HashMap<String, String> = inherited.iter().map(|(k, v)| (format!("^{k}"), v.clone())).collect();
        up.extend(cells.into_iter().map(|(k, v)| (format!("^{k}"), v)));
        let mut here = Some(value);
        for s in first.split('/') {
            here = here.and_then(|h| h.get(s));
        }
        match here {
            Some(Value::Array(items)) => items.iter().for_each(|item| walk(item, rest, &up, number, out)),
            Some(item @ Value::Object(_)) => walk(item, rest, &up, number, out),
            _ => {}
        }
    }
    walk(value, &steps, &HashMap::new(), number, &mut out);
    out
}

/// A record's fields as columns: nested objects as `a.b`, lists of values
/// joined with `;` (lists of objects are rows of their own, through `records`).
fn flatten(value: &Value, prefix: &str, out: &mut HashMap<String, String>) {
    let key = |k: &str| if prefix.is_empty() { k.to_owned() } else { format!("{prefix}.{k}") };
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match v {
                    Value::Object(_) => flatten(v, &key(k), out),
                    Value::Array(items) if items.is_empty() => {}
                    Value::Array(items) if items.iter().all(|i| !i.is_object() && !i.is_array()) => {
                        out.insert(key(k), items.iter().map(scalar).collect::<Vec<_>>().join(";"));
                    }
                    Value::Array(_) => {}
                    other => {
                        out.insert(key(k), scalar(other));
                    }
                }
            }
        }
        other if prefix.is_empty() => {
            out.insert("value".to_owned(), scalar(other));
        }
        _ => {}
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}
