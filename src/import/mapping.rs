//! The mapping file: which input holds which PRSB section, how rows join
//! (person, item id, parent item), which column fills which PRSB item, date
//! formats, and local codes → PRSB choices or coded values (inline tables or
//! a FHIR ConceptMap). Read from TOML; every name it uses is checked against
//! the PRSB schema (`targets`) before a row is read.

use super::targets::{self, Kind, Target};
use anyhow::{anyhow, bail, Context as _, Result};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    /// The plan's id from the person's key: `{person}` stands for the key.
    #[serde(default = "default_plan_id")]
    plan_id: String,
    #[serde(default)]
    date_formats: Vec<String>,
    #[serde(default)]
    datetime_formats: Vec<String>,
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
    section: String,
    person: String,
    id: Option<String>,
    parent: Option<String>,
    #[serde(rename = "where")]
    filter: Option<FilterFile>,
    #[serde(default)]
    fields: BTreeMap<String, FieldFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FilterFile {
    column: String,
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
        let base = path.parent().unwrap_or(Path::new("."));
        let mut codes = HashMap::new();
        for (name, table) in &file.codes {
            codes.insert(name.clone(), code_table(name, table, base).with_context(|| format!("{}: code table `{name}`", path.display()))?);
        }
        let sections = targets::sections();
        let mut tables = Vec::new();
        for (i, t) in file.tables.into_iter().enumerate() {
            let name = t.name.clone().unwrap_or_else(|| format!("{} ({})", t.input, t.section));
            let at = format!("{}: table {} ({name})", path.display(), i + 1);
            if !sections.contains(&t.section) {
                bail!("{at}: no PRSB section is called `{}`; the sections are {}", t.section, sections.join(", "));
            }
            if t.section != "plan" && t.id.is_none() {
                bail!("{at}: a `{}` table needs `id`, the column that keeps each item's identity from one export to the next", t.section);
            }
            if targets::parent_section(&t.section).is_some() && t.parent.is_none() {
                bail!("{at}: `{}` items sit inside another item: name the column holding it with `parent`", t.section);
            }
            let mut fields = Vec::new();
            for (item, f) in t.fields {
                let spec = match f {
                    FieldFile::Column(c) => FieldSpec { column: Some(c), ..Default::default() },
                    FieldFile::Spec(s) => s,
                };
                let Some(target) = targets::target(&t.section, &item) else {
                    let known: Vec<String> = targets::targets(&t.section).into_iter().map(|t| t.path).collect();
                    bail!("{at}: `{item}` is not an item of `{}`; its items are {}", t.section, known.join(", "));
                };
                if target.kind == Kind::Id {
                    bail!("{at}: `{item}` is made from the table's `id` column; leave it out of `fields`");
                }
                if [spec.column.is_some(), spec.columns.is_some(), spec.value.is_some()].iter().filter(|x| **x).count() != 1 {
                    bail!("{at}: `{item}` needs exactly one of `column`, `columns` or `value`");
                }
                if let Some(c) = &spec.codes {
                    if !codes.contains_key(c) {
                        bail!("{at}: `{item}` names the code table `{c}`, which `[codes.{c}]` does not define");
                    }
                }
                fields.push(Field { target, spec });
            }
            tables.push(Table {
                name,
                input: t.input,
                records: t.records,
                section: t.section,
                person: t.person,
                id: t.id,
                parent: t.parent,
                filter: t.filter.map(|f| (f.column, f.equals)),
                fields,
            });
        }
        if !tables.iter().any(Table::is_plan) {
            bail!("{}: no table has `section = \"plan\"`: one row per person (their name, NHS number, ...) is where each plan starts", path.display());
        }
        if !file.plan_id.contains("{person}") {
            bail!("{}: `plan_id` must contain {{person}}, or every person's plan would have the same id", path.display());
        }
        let mut date_formats = file.date_formats;
        if date_formats.is_empty() {
            date_formats = vec!["%Y-%m-%d".into(), "%d/%m/%Y".into()];
        }
        let mut datetime_formats = file.datetime_formats;
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
