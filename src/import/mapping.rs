//! The mapping file: which input holds which PRSB section, how rows join
//! (person, item id, parent item), which column fills which PRSB item, date
//! formats, and local codes → PRSB choices or coded values (inline tables or
//! a FHIR ConceptMap). Read from TOML; every name it uses is checked against
//! the PRSB schema (`targets`) before a row is read.

use super::targets::{self, Kind, Target};
use anyhow::{anyhow, bail, Context as _, Result};
use serde::Deserialize;
use toml::Spanned;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    /// The plan's id from the person's key: `{person}` stands for the key.
    #[serde(default = "default_plan_id")]
    plan_id: String,
    #[serde(default)]
    date_formats: Vec<Spanned<String>>,
    #[serde(default)]
    datetime_formats: Vec<Spanned<String>>,
    /// The offset given to local date-times (`Z`, `+01:00`).
    #[serde(default = "default_offset")]
    utc_offset: String,
    #[serde(default, rename = "table")]
    tables: Vec<TableFile>,
    #[serde(default)]
    codes: BTreeMap<String, toml::Table>,
}

fn default_plan_id() -> String {
    "{person}".to_owned()
}

fn default_offset() -> String {
    "Z".to_owned()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TableFile {
    name: Option<String>,
    input: String,
    /// JSON inputs: the list inside each record that holds this table's rows (`plan.goals`).
    records: Option<String>,
    section: Spanned<String>,
    person: Spanned<String>,
    id: Option<Spanned<String>>,
    parent: Option<Spanned<String>>,
    #[serde(rename = "where")]
    filter: Option<FilterFile>,
    #[serde(default)]
    fields: BTreeMap<Spanned<String>, Spanned<FieldFile>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FilterFile {
    column: Spanned<String>,
    equals: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum FieldFile {
    Column(String),
    Spec(FieldSpec),
}

#[derive(Debug, Deserialize, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    pub column: Option<String>,
    /// Several columns, their non-empty cells joined by a space (forename and surname).
    pub columns: Option<Vec<String>>,
    /// A constant, for every row.
    pub value: Option<String>,
    /// The code table that turns the column's local codes into PRSB ones.
    pub codes: Option<String>,
    /// Splits one cell into a list.
    pub split: Option<String>,
    /// A chrono format for this column's dates.
    pub format: Option<String>,
}

/// A mapping, checked against the schema.
#[derive(Debug)]
pub struct Mapping {
    pub path: PathBuf,
    pub plan_id: String,
    pub date_formats: Vec<String>,
    pub datetime_formats: Vec<String>,
    pub utc_offset: String,
    pub tables: Vec<Table>,
    pub codes: HashMap<String, CodeTable>,
}

#[derive(Debug)]
pub struct Table {
    pub name: String,
    /// An input's file name, with `#Sheet` for a workbook's sheet.
    pub input: String,
    pub records: Option<String>,
    pub section: String,
    pub person: String,
    pub id: Option<String>,
    pub parent: Option<String>,
    pub filter: Option<(String, Vec<String>)>,
    pub fields: Vec<Field>,
    /// Where in the mapping file each column this table reads is named (line, column).
    pub column_at: Vec<(String, (usize, usize))>,
}

#[derive(Debug)]
pub struct Field {
    pub target: Target,
    pub spec: FieldSpec,
}

/// Local code → what the PRSB item takes: a choice's name, or a coding.
#[derive(Debug, Default)]
pub struct CodeTable {
    pub entries: HashMap<String, Coded>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Coded {
    pub system: Option<String>,
    pub code: String,
    pub display: Option<String>,
}

impl Table {
    /// The columns this table reads.
    pub fn columns(&self) -> impl Iterator<Item = &str> {
        [Some(self.person.as_str()), self.id.as_deref(), self.parent.as_deref(), self.filter.as_ref().map(|f| f.0.as_str())]
            .into_iter()
            .flatten()
            .chain(self.fields.iter().flat_map(|f| f.spec.column.iter().chain(f.spec.columns.iter().flatten())).map(String::as_str))
    }

    /// Whether `input` (a file name, or `file#Sheet`) is this table's.
    pub fn reads(&self, input: &str) -> bool {
        self.input == input
    }

    /// Whether this table's `where` lets the row in.
    pub fn takes(&self, row: &super::sources::Row) -> bool {
        match &self.filter {
            Some((column, wanted)) => {
                let v = row.get(column).unwrap_or_default();
                wanted.iter().any(|w| w.eq_ignore_ascii_case(v))
            }
            None => true,
        }
    }

    pub fn is_plan(&self) -> bool {
        self.section == "plan"
    }
}

impl Mapping {
    pub fn read(path: &Path) -> Result<Mapping> {
        let text = std::fs::read_to_string(path).with_context(|| format!("could not read the mapping {}", path.display()))?;
        Mapping::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<Mapping> {
        let file: File = toml::from_str(text).map_err(|e| anyhow!("{}: {e}", path.display()))?;
        // `file:line:col: what is wrong`, at a value's place in the mapping.
        let at = |span: std::ops::Range<usize>| {
            let (line, col) = line_col(text, span.start);
            format!("{}:{line}:{col}", path.display())
        };
        for f in file.date_formats.iter().chain(file.datetime_formats.iter()) {
            if let Err(why) = check_format(f.get_ref()) {
                bail!("{}: {why}", at(f.span()));
            }
        }
        let base = path.parent().unwrap_or(Path::new("."));
        let mut codes = HashMap::new();
        for (name, table) in &file.codes {
            codes.insert(name.clone(), code_table(name, table, base).with_context(|| format!("{}: code table `{name}`", path.display()))?);
        }
        let sections = targets::sections();
        let mut tables = Vec::new();
        for (i, t) in file.tables.into_iter().enumerate() {
            let name = t.name.clone().unwrap_or_else(|| format!("{} ({})", t.input, t.section.get_ref()));
            let table_at = |span: std::ops::Range<usize>| format!("{}: table {} ({name})", at(span), i + 1);
            let section = t.section.get_ref().clone();
            if !sections.contains(&section) {
                bail!("{}: no PRSB section is called `{section}`; the sections are {}", table_at(t.section.span()), sections.join(", "));
            }
            if section != "plan" && t.id.is_none() {
                bail!("{}: a `{section}` table needs `id`, the column that keeps each item's identity from one export to the next", table_at(t.section.span()));
            }
            if targets::parent_section(&section).is_some() && t.parent.is_none() {
                bail!("{}: `{section}` items sit inside another item: name the column holding it with `parent`", table_at(t.section.span()));
            }
            let mut column_at = vec![(t.person.get_ref().clone(), line_col(text, t.person.span().start))];
            column_at.extend(t.id.iter().chain(t.parent.iter()).map(|c| (c.get_ref().clone(), line_col(text, c.span().start))));
            if let Some(f) = &t.filter {
                column_at.push((f.column.get_ref().clone(), line_col(text, f.column.span().start)));
            }
            let mut fields = Vec::new();
            for (item, f) in t.fields {
                let field_span = f.span();
                let field_at = table_at(field_span.clone());
                let item_at = table_at(item.span());
                let item = item.into_inner();
                let spec = match f.into_inner() {
                    FieldFile::Column(c) => FieldSpec { column: Some(c), ..Default::default() },
                    FieldFile::Spec(s) => s,
                };
                let Some(target) = targets::target(&section, &item) else {
                    let known: Vec<String> = targets::targets(&section).into_iter().map(|t| t.path).collect();
                    bail!("{item_at}: `{item}` is not an item of `{section}`; its items are {}", known.join(", "));
                };
                if target.kind == Kind::Id {
                    bail!("{item_at}: `{item}` is made from the table's `id` column; leave it out of `fields`");
                }
                if [spec.column.is_some(), spec.columns.is_some(), spec.value.is_some()].iter().filter(|x| **x).count() != 1 {
                    bail!("{field_at}: `{item}` needs exactly one of `column`, `columns` or `value`");
                }
                if let Some(c) = &spec.codes {
                    if !codes.contains_key(c) {
                        bail!("{field_at}: `{item}` names the code table `{c}`, which `[codes.{c}]` does not define");
                    }
                }
                if let Some(why) = spec.format.as_deref().and_then(|f| check_format(f).err()) {
                    bail!("{field_at}: `{item}`: {why}");
                }
                let place = line_col(text, field_span.start);
                column_at.extend(spec.column.iter().chain(spec.columns.iter().flatten()).map(|c| (c.clone(), place)));
                fields.push(Field { target, spec });
            }
            tables.push(Table {
                name,
                input: t.input,
                records: t.records,
                section,
                person: t.person.into_inner(),
                id: t.id.map(Spanned::into_inner),
                parent: t.parent.map(Spanned::into_inner),
                filter: t.filter.map(|f| (f.column.into_inner(), f.equals)),
                fields,
                column_at,
            });
        }
        if !tables.iter().any(Table::is_plan) {
            bail!("{}: no table has `section = \"plan\"`: one row per person (their name, NHS number, ...) is where each plan starts", path.display());
        }
        if !file.plan_id.contains("{person}") {
            bail!("{}: `plan_id` must contain {{person}}, or every person's plan would have the same id", path.display());
        }
        let mut date_formats: Vec<String> = file.date_formats.into_iter().map(Spanned::into_inner).collect();
        if date_formats.is_empty() {
            date_formats = vec!["%Y-%m-%d".into(), "%d/%m/%Y".into()];
        }
        let mut datetime_formats: Vec<String> = file.datetime_formats.into_iter().map(Spanned::into_inner).collect();
        if datetime_formats.is_empty() {
            datetime_formats = vec!["%Y-%m-%dT%H:%M:%S".into(), "%Y-%m-%d %H:%M:%S".into(), "%Y-%m-%d %H:%M".into(), "%d/%m/%Y %H:%M".into()];
        }
        Ok(Mapping { path: path.to_owned(), plan_id: file.plan_id, date_formats, datetime_formats, utc_offset: file.utc_offset, tables, codes })
    }

    /// Every input name a table reads, as written in the mapping.
    pub fn inputs(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.tables.iter().map(|t| t.input.as_str()).collect();
        v.sort();
        v.dedup();
        v
    }
}

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// A chrono format that can read dates: refused when chrono cannot read it.
fn check_format(format: &str) -> Result<(), String> {
    use chrono::format::{Item, StrftimeItems};
    if StrftimeItems::new(format).any(|i| matches!(i, Item::Error)) {
        return Err(format!("`{format}` is not a date pattern (chrono's strftime: %d/%m/%Y, %Y-%m-%d %H:%M, ...)"));
    }
    Ok(())
}

fn code_table(name: &str, table: &toml::Table, base: &Path) -> Result<CodeTable> {
    let mut out = CodeTable::default();
    for (local, v) in table {
        if local == "conceptmap" {
            let file = v.as_str().ok_or_else(|| anyhow!("`conceptmap` is the path of a FHIR ConceptMap (JSON)"))?;
            read_concept_map(&base.join(file), &mut out)?;
            continue;
        }
        let coded = match v {
            toml::Value::String(code) => Coded { system: None, code: code.clone(), display: None },
            toml::Value::Table(t) => {
                let get = |k: &str| t.get(k).and_then(toml::Value::as_str).map(str::to_owned);
                Coded { system: get("system"), code: get("code").ok_or_else(|| anyhow!("`{local}` needs `code`"))?, display: get("display") }
            }
            _ => bail!("`{local}` in [codes.{name}] must be a code or {{ code = ..., display = ... }}"),
        };
        out.entries.insert(local.clone(), coded);
    }
    Ok(out)
}

/// A ConceptMap's `group.element.code → target` pairs (the first target
/// whose equivalence is not `unmatched`/`disjoint`).
fn read_concept_map(path: &Path, out: &mut CodeTable) -> Result<()> {
    let bytes = std::fs::read(path).with_context(|| format!("could not read the ConceptMap {}", path.display()))?;
    let map: serde_json::Value = serde_json::from_slice(&bytes).with_context(|| format!("{} is not JSON", path.display()))?;
    if map.get("resourceType").and_then(|v| v.as_str()) != Some("ConceptMap") {
        bail!("{} is not a ConceptMap", path.display());
    }
    for group in map.get("group").and_then(|g| g.as_array()).into_iter().flatten() {
        let system = group.get("target").and_then(|v| v.as_str()).map(str::to_owned);
        for element in group.get("element").and_then(|g| g.as_array()).into_iter().flatten() {
            let Some(code) = element.get("code").and_then(|v| v.as_str()) else { continue };
            let target = element.get("target").and_then(|t| t.as_array()).into_iter().flatten().find(|t| {
                !matches!(t.get("equivalence").and_then(|v| v.as_str()), Some("unmatched" | "disjoint"))
            });
            if let Some(t) = target.and_then(|t| t.get("code").and_then(|c| c.as_str()).map(|c| (t, c))) {
                let display = t.0.get("display").and_then(|v| v.as_str()).map(str::to_owned);
                out.entries.insert(code.to_owned(), Coded { system: system.clone(), code: t.1.to_owned(), display });
            }
        }
    }
    Ok(())
}
