//! FHIR conformance resources as read from packages: only the fields the
//! validator uses, straight from their JSON. Everything else is ignored.

use serde::Deserialize;
use serde_json::{Map, Value};

#[derive(Clone, Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct StructureDefinition {
    pub url: String,
    pub version: Option<String>,
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub type_name: String,
    pub kind: Option<String>,
    #[serde(rename = "abstract", default)]
    pub is_abstract: bool,
    pub derivation: Option<String>,
    pub base_definition: Option<String>,
    pub fhir_version: Option<String>,
    #[serde(default)]
    pub context: Vec<ExtensionContext>,
    #[serde(default)]
    pub context_invariant: Vec<String>,
    pub snapshot: Option<ElementList>,
    pub differential: Option<ElementList>,
}

#[derive(Clone, Debug, Deserialize, Default)]
pub struct ElementList {
    #[serde(default)]
    pub element: Vec<ElementDefinition>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ExtensionContext {
    #[serde(rename = "type")]
    pub kind: String,
    pub expression: String,
}

#[derive(Clone, Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ElementDefinition {
    pub id: Option<String>,
    pub path: String,
    pub slice_name: Option<String>,
    pub min: Option<u32>,
    pub max: Option<String>,
    pub base: Option<ElementBase>,
    #[serde(rename = "type", default)]
    pub types: Vec<TypeRef>,
    pub content_reference: Option<String>,
    pub slicing: Option<Slicing>,
    pub binding: Option<Binding>,
    #[serde(default)]
    pub constraint: Vec<Constraint>,
    pub max_length: Option<u32>,
    #[serde(default)]
    pub is_modifier: bool,
    #[serde(default)]
    pub must_support: bool,
    pub short: Option<String>,
    /// fixed[x], pattern[x], minValue[x], maxValue[x] and the rest.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl ElementDefinition {
    /// The value of a choice property such as `fixed[x]`: its type suffix and value.
    pub fn choice(&self, prefix: &str) -> Option<(&str, &Value)> {
        self.other.iter().find_map(|(k, v)| {
            let suffix = k.strip_prefix(prefix)?;
            suffix.starts_with(|c: char| c.is_ascii_uppercase()).then_some((suffix, v))
        })
    }
}

#[derive(Clone, Debug, Deserialize, Default)]
pub struct ElementBase {
    pub path: String,
    pub min: Option<u32>,
    pub max: Option<String>,
}

#[derive(Clone, Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct TypeRef {
    pub code: String,
    #[serde(default)]
    pub profile: Vec<String>,
    #[serde(default)]
    pub target_profile: Vec<String>,
    #[serde(default)]
    pub aggregation: Vec<String>,
    #[serde(default)]
    pub extension: Vec<Value>,
}

#[derive(Clone, Debug, Deserialize, Default)]
pub struct Slicing {
    #[serde(default)]
    pub discriminator: Vec<Discriminator>,
    #[serde(default)]
    pub ordered: bool,
    pub rules: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Discriminator {
    #[serde(rename = "type")]
    pub kind: String,
    pub path: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Binding {
    pub strength: String,
    pub value_set: Option<String>,
    #[serde(default)]
    pub extension: Vec<Value>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Constraint {
    pub key: String,
    pub severity: Option<String>,
    pub human: Option<String>,
    pub expression: Option<String>,
    pub source: Option<String>,
    #[serde(default)]
    pub extension: Vec<Value>,
}

#[derive(Clone, Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ValueSet {
    pub url: Option<String>,
    pub version: Option<String>,
    pub name: Option<String>,
    pub compose: Option<Compose>,
    pub expansion: Option<Expansion>,
}

#[derive(Clone, Debug, Deserialize, Default)]
pub struct Compose {
    #[serde(default)]
    pub include: Vec<ConceptSet>,
    #[serde(default)]
    pub exclude: Vec<ConceptSet>,
    pub inactive: Option<bool>,
}

#[derive(Clone, Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ConceptSet {
    pub system: Option<String>,
    pub version: Option<String>,
    #[serde(default)]
    pub concept: Vec<ConceptReference>,
    #[serde(default)]
    pub filter: Vec<Filter>,
    #[serde(default)]
    pub value_set: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ConceptReference {
    pub code: String,
    pub display: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Filter {
    pub property: String,
    pub op: String,
    pub value: String,
}

#[derive(Clone, Debug, Deserialize, Default)]
pub struct Expansion {
    #[serde(default)]
    pub contains: Vec<ExpansionContains>,
}

#[derive(Clone, Debug, Deserialize, Default)]
pub struct ExpansionContains {
    pub system: Option<String>,
    pub code: Option<String>,
    pub display: Option<String>,
    #[serde(default)]
    pub contains: Vec<ExpansionContains>,
}

#[derive(Clone, Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct CodeSystem {
    pub url: Option<String>,
    pub version: Option<String>,
    pub name: Option<String>,
    pub content: Option<String>,
    pub case_sensitive: Option<bool>,
    pub hierarchy_meaning: Option<String>,
    #[serde(default)]
    pub concept: Vec<CodeSystemConcept>,
}

#[derive(Clone, Debug, Deserialize, Default)]
pub struct CodeSystemConcept {
    pub code: String,
    pub display: Option<String>,
    #[serde(default)]
    pub designation: Vec<Value>,
    #[serde(default)]
    pub property: Vec<ConceptProperty>,
    #[serde(default)]
    pub concept: Vec<CodeSystemConcept>,
}

#[derive(Clone, Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ConceptProperty {
    pub code: String,
    pub value_code: Option<String>,
    pub value_boolean: Option<bool>,
    pub value_string: Option<String>,
}

/// Splits `url|version`.
pub fn split_canonical(canonical: &str) -> (&str, Option<&str>) {
    match canonical.split_once('|') {
        Some((u, v)) => (u, Some(v)),
        None => (canonical, None),
    }
}

/// The extension value of `url` in a list of extensions, if it is a string-ish value.
pub fn extension_string<'a>(extensions: &'a [Value], url: &str) -> Option<&'a str> {
    extensions.iter().find(|e| e.get("url").and_then(Value::as_str) == Some(url)).and_then(|e| {
        e.as_object()?.iter().find(|(k, _)| k.starts_with("value")).and_then(|(_, v)| v.as_str())
    })
}
