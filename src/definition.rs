//! FHIR conformance resources as read from packages: only the fields the
//! validator uses, straight from their JSON. Everything else is ignored.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Clone, Debug, Deserialize, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct StructureDefinition {
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub title: Option<String>,
    #[serde(rename = "type")]
    pub type_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(rename = "abstract", default, deserialize_with = "lenient_bool")]
    pub is_abstract: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub derivation: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_definition: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fhir_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The definition's own extensions (its standards status among them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub context: Vec<ExtensionContext>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub context_invariant: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<ElementList>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub differential: Option<ElementList>,
}

#[derive(Clone, Debug, Deserialize, Serialize, Default)]
pub struct ElementList {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub element: Vec<ElementDefinition>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct ExtensionContext {
    #[serde(rename = "type")]
    pub kind: String,
    pub expression: String,
    /// The context's own extensions (`version-specific-use`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Value>,
}

impl ExtensionContext {
    /// The FHIR versions this context applies to (its `version-specific-use`
    /// extension's `startFhirVersion` and `endFhirVersion`), if it says.
    pub fn version_use(&self) -> Option<(Option<&str>, Option<&str>)> {
        let e = self.extension.iter().find(|e| e.get("url").and_then(Value::as_str) == Some("http://hl7.org/fhir/StructureDefinition/version-specific-use"))?;
        let part = |name: &str| {
            e.get("extension")
                .and_then(Value::as_array)
                .and_then(|l| l.iter().find(|x| x.get("url").and_then(Value::as_str) == Some(name)))
                .and_then(|x| x.get("valueCode").or_else(|| x.get("valueString")).and_then(Value::as_str))
        };
        Some((part("startFhirVersion"), part("endFhirVersion")))
    }
}

#[derive(Clone, Debug, Deserialize, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ElementDefinition {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slice_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient_max")]
    pub max: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base: Option<ElementBase>,
    #[serde(rename = "type", default, skip_serializing_if = "Vec::is_empty")]
    pub types: Vec<TypeRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_reference: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slicing: Option<Slicing>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub binding: Option<Binding>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub constraint: Vec<Constraint>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not", deserialize_with = "lenient_bool")]
    pub is_modifier: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not", deserialize_with = "lenient_bool")]
    pub must_support: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
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

#[derive(Clone, Debug, Deserialize, Serialize, Default)]
pub struct ElementBase {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct TypeRef {
    pub code: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub profile: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub target_profile: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aggregation: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Value>,
}

#[derive(Clone, Debug, Deserialize, Serialize, Default, PartialEq)]
pub struct Slicing {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub discriminator: Vec<Discriminator>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not", deserialize_with = "lenient_bool")]
    pub ordered: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rules: Option<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct Discriminator {
    #[serde(rename = "type")]
    pub kind: String,
    pub path: String,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Binding {
    pub strength: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_set: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Value>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Constraint {
    pub key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub human: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Value>,
}

#[derive(Clone, Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ValueSet {
    pub url: Option<String>,
    pub version: Option<String>,
    pub name: Option<String>,
    pub title: Option<String>,
    pub compose: Option<Compose>,
    pub expansion: Option<Expansion>,
    pub status: Option<String>,
    pub experimental: Option<bool>,
    #[serde(default)]
    pub extension: Vec<Value>,
}

impl ValueSet {
    pub fn publication(&self) -> Publication<'_> {
        Publication { status: self.status.as_deref(), experimental: self.experimental == Some(true), extension: &self.extension }
    }
}

/// What a canonical resource says of its own standing: status,
/// experimental, and extensions (the standards-status one among them).
#[derive(Clone, Copy, Debug)]
pub struct Publication<'a> {
    pub status: Option<&'a str>,
    pub experimental: bool,
    pub extension: &'a [Value],
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
    #[serde(default)]
    pub designation: Vec<Value>,
    #[serde(default)]
    pub extension: Vec<Value>,
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
    pub designation: Vec<Value>,
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
    pub status: Option<String>,
    pub experimental: Option<bool>,
    #[serde(default)]
    pub extension: Vec<Value>,
}

impl CodeSystem {
    pub fn publication(&self) -> Publication<'_> {
        Publication { status: self.status.as_deref(), experimental: self.experimental == Some(true), extension: &self.extension }
    }
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

/// A boolean of a definition, also when written as the text `"true"` or
/// `"false"`: the reference reads definitions' primitives as text, so
/// packages carry both, and a definition is not refused for it.
fn lenient_bool<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    match Value::deserialize(d)? {
        Value::Bool(b) => Ok(b),
        Value::String(s) if s == "true" || s == "false" => Ok(s == "true"),
        other => Err(serde::de::Error::custom(format!("expected a boolean, found {other}"))),
    }
}

/// An element's `max`, also when a definition writes it as a JSON number
/// (`"max": 0`), which the reference's loader reads as its text.
fn lenient_max<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(serde::de::Error::custom(format!("expected a string, found {other}"))),
    }
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
