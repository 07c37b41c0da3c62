//! A StructureDefinition's snapshot compiled for walking: elements in order,
//! each knowing its children, its slices and its resolved types, so the
//! validator never searches paths while it runs.

use crate::definition::{self, Binding, Constraint, ElementDefinition, StructureDefinition};
use serde_json::Value;

mod delta;

const MIN_LENGTH_EXT: &str = "http://hl7.org/fhir/StructureDefinition/minLength";
const STANDARDS_STATUS_EXT: &str = "http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status";
const STANDARDS_STATUS_REASON_EXT: &str = "http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status-reason";
const REGEX_EXT: &str = "http://hl7.org/fhir/StructureDefinition/regex";
const MAX_DECIMALS_EXT: &str = "http://hl7.org/fhir/StructureDefinition/maxDecimalPlaces";
const MAX_SIZE_EXT: &str = "http://hl7.org/fhir/StructureDefinition/maxSize";
const MUST_HAVE_VALUE_EXT: &str = "http://hl7.org/fhir/5.0/StructureDefinition/extension-ElementDefinition.mustHaveValue";
const FHIR_TYPE_EXT: &str = "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type";

#[derive(Debug)]
pub struct StructureDef {
    pub url: String,
    pub version: Option<String>,
    pub name: String,
    pub title: Option<String>,
    pub type_name: String,
    pub kind: String,
    pub is_abstract: bool,
    pub derivation: Option<String>,
    pub base_definition: Option<String>,
    pub context: Vec<definition::ExtensionContext>,
    pub context_invariant: Vec<String>,
    pub elements: Vec<Element>,
    /// `status` (draft, active, retired).
    pub status: Option<String>,
    /// The standards-status extension's code and the reason given with it.
    pub standards_status: Option<(String, Option<String>)>,
    /// The FHIR versions an extension may be used with (the
    /// `version-specific-use` extension's start and end), if it says.
    pub version_use: Option<(Option<String>, Option<String>)>,
    /// Profiles this one imposes (`structuredefinition-imposeProfile`):
    /// what meets it must meet them too.
    pub imposed_profiles: Vec<String>,
}

#[derive(Debug)]
pub struct Element {
    pub id: String,
    pub path: String,
    /// The path of the element this one constrains in the base resource or
    /// type (`DomainResource.text` for `Patient.text`).
    pub base_path: String,
    /// The last path segment: `given`, `value[x]`.
    pub name: String,
    pub slice_name: Option<String>,
    pub min: u32,
    /// `None` is `*`.
    pub max: Option<u32>,
    /// Whether the base element repeats: this is what decides JSON arrays,
    /// even where a profile narrows the maximum to one.
    pub repeats: bool,
    pub types: Vec<ElementType>,
    pub content_reference: Option<String>,
    pub children: Vec<usize>,
    pub slices: Vec<usize>,
    pub slicing: Option<definition::Slicing>,
    pub binding: Option<Binding>,
    pub constraints: Vec<Constraint>,
    /// The constraints, ready to evaluate.
    pub invariants: Vec<Invariant>,
    pub fixed: Option<(String, Value)>,
    pub pattern: Option<(String, Value)>,
    pub min_value: Option<(String, Value)>,
    pub max_value: Option<(String, Value)>,
    pub max_length: Option<u32>,
    /// From the `minLength` extension.
    pub min_length: Option<u32>,
    pub is_modifier: bool,
    pub must_support: bool,
    /// `narrative-language-control` extensions: `_no`, `_yes`, `_resource`
    /// or language codes the narrative must have sections for.
    pub narrative_languages: Vec<String>,
    /// `narrative-source-control` extension: the severity (`hint`,
    /// `warning`, `error`) of text not labelled with its source.
    pub narrative_source: Option<String>,
    /// What the element's extensions ask of its value (`regex`,
    /// `maxDecimalPlaces`, `maxSize`, R5's `mustHaveValue`); boxed, as few elements have any.
    pub value_rules: Option<Box<ValueRules>>,
    /// In a profile: every check this element makes, the element it
    /// constrains in the base type makes too (see [`StructureDef::mark_inherited`]).
    pub inherited: bool,
    /// In a profile: whether this element or one below it checks anything
    /// the base type does not. A walk against the profile skips what does not.
    pub constrains: bool,
    /// For a sliced element: per slice, what each discriminator needs
    /// (`None` for a slice whose discriminators cannot be worked out).
    /// Worked out by the validator on first use.
    pub slice_tests: std::sync::OnceLock<Vec<Option<Vec<(String, SliceTest)>>>>,
    /// Why the slicing of this element cannot be evaluated as the profile
    /// writes it (worked out on first use), if it cannot.
    pub slicing_defect: std::sync::OnceLock<Option<String>>,
    /// For an element with many children: each name an instance may use
    /// for one (`valueQuantity` for `value[x]`) → the child and the index
    /// of the type it selects. Built on first use.
    child_names: std::sync::OnceLock<std::collections::HashMap<String, (u32, Option<u32>)>>,
    /// The children with a minimum above zero, in order.
    pub required_children: Vec<usize>,
}

/// What an element definition's extensions ask of the element's value.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ValueRules {
    /// `regex`: the pattern the whole value must match.
    pub regex: Option<String>,
    /// `maxDecimalPlaces`.
    pub max_decimal_places: Option<u32>,
    /// `maxSize`: the most bytes base64 content may decode to.
    pub max_size: Option<u64>,
    /// R5's `mustHaveValue` (through its R4 extension): a primitive must have
    /// a value, not extensions alone.
    pub must_have_value: bool,
}

impl ValueRules {
    fn read(other: &serde_json::Map<String, Value>) -> Option<Box<ValueRules>> {
        let exts = other.get("extension").and_then(Value::as_array)?;
        let value = |url: &str| {
            exts.iter().filter(|e| e.get("url").and_then(Value::as_str) == Some(url)).find_map(|e| e.as_object()?.iter().find(|(k, _)| k.starts_with("value")).map(|(_, v)| v))
        };
        let number = |v: &Value| v.as_u64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()));
        let rules = ValueRules {
            regex: value(REGEX_EXT).and_then(Value::as_str).map(str::to_string),
            max_decimal_places: value(MAX_DECIMALS_EXT).and_then(number).map(|n| n as u32),
            max_size: value(MAX_SIZE_EXT).and_then(number),
            must_have_value: value(MUST_HAVE_VALUE_EXT).and_then(Value::as_bool) == Some(true),
        };
        (rules != ValueRules::default()).then(|| Box::new(rules))
    }
}

/// What a slice's discriminator needs an instance to have at its path.
#[derive(Debug)]
pub enum SliceTest {
    /// `value`/`pattern`: a value, matched exactly or as a pattern.
    Value { value: Value, exact: bool },
    /// `exists`: present or absent.
    Exists(bool),
    /// `type`: of one of these types.
    Type(Vec<String>),
    /// `profile`: valid against one of these profiles.
    Profile(Vec<String>),
    /// `type` through `resolve()`: the reference points to one of these types.
    TargetType(Vec<String>),
    /// `profile` through `resolve()`: the resource the reference points to
    /// is valid against one of these profiles.
    TargetProfile(Vec<String>),
    /// The slice does not constrain this discriminator: anything matches.
    Any,
    /// The slice constrains what lies below the discriminator's element
    /// (fixed codings in a nested slice, say): the element must meet them.
    /// The definition is the sliced element's own when `None`.
    Conforms(Option<std::sync::Arc<StructureDef>>, usize),
}

/// A constraint (`ele-1`, `dom-3`, a profile's own) with its parsed expression.
#[derive(Debug, Clone)]
pub struct Invariant {
    pub key: String,
    pub error: bool,
    pub best_practice: bool,
    pub human: String,
    pub source: Option<String>,
    /// `Err` carries the syntax error, reported when the invariant applies.
    pub expression: Result<crate::fhirpath::Expression, String>,
    /// Evaluated by the walk against the base type: defined by the core
    /// specification, or (in a profile) the base element's own.
    pub inherited: bool,
    /// Set when this is one of R4's everyday invariants with R4's very
    /// text: the validator decides it without the FHIRPath engine.
    pub native: Option<CoreInvariant>,
}

/// R4 invariants that stand on nearly every element, resource, reference
/// or narrative, recognised by key and exact expression (a profile that
/// reuses a key with another expression gets the engine).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoreInvariant {
    Ele1,
    Ext1,
    Dom2,
    /// Recognised by key alone: the reference validator also counts links
    /// from the narrative, which R4's expression cannot see.
    Dom3,
    Dom4,
    Dom5,
    Dom6,
    /// `txt-1` and `txt-2`: `htmlChecks()`, done by the narrative checker on the div itself.
    HtmlChecks,
    Qty3,
    Att1,
    Ref1,
    /// Bundle entries have a request exactly in batches, transactions and histories.
    Bdl3,
    /// Bundle entries have a response exactly in their responses and histories.
    Bdl4,
    /// A Bundle entry has a resource, a request or a response.
    Bdl5,
    /// fullUrl is unique in a Bundle that is not a history.
    Bdl7,
    /// A Bundle entry's fullUrl has no version.
    Bdl8,
}

impl CoreInvariant {
    fn recognise(key: &str, expression: &str) -> Option<CoreInvariant> {
        Some(match (key, expression) {
            ("ele-1", "hasValue() or (children().count() > id.count())") => CoreInvariant::Ele1,
            ("ext-1", "extension.exists() != value.exists()") => CoreInvariant::Ext1,
            ("dom-2", "contained.contained.empty()") => CoreInvariant::Dom2,
            ("dom-3", _) => CoreInvariant::Dom3,
            ("dom-4", "contained.meta.versionId.empty() and contained.meta.lastUpdated.empty()") => CoreInvariant::Dom4,
            ("dom-5", "contained.meta.security.empty()") => CoreInvariant::Dom5,
            ("dom-6", "text.`div`.exists()") => CoreInvariant::Dom6,
            ("txt-1" | "txt-2", "htmlChecks()") => CoreInvariant::HtmlChecks,
            ("qty-3", "code.empty() or system.exists()") => CoreInvariant::Qty3,
            ("att-1", "data.empty() or contentType.exists()") => CoreInvariant::Att1,
            ("ref-1", "reference.startsWith('#').not() or (reference.substring(1).trace('url') in %rootResource.contained.id.trace('ids'))") => CoreInvariant::Ref1,
            ("bdl-3", "entry.all(request.exists() = (%resource.type = 'batch' or %resource.type = 'transaction' or %resource.type = 'history'))") => CoreInvariant::Bdl3,
            ("bdl-4", "entry.all(response.exists() = (%resource.type = 'batch-response' or %resource.type = 'transaction-response' or %resource.type = 'history'))") => CoreInvariant::Bdl4,
            ("bdl-5", "resource.exists() or request.exists() or response.exists()") => CoreInvariant::Bdl5,
            ("bdl-7", "(type = 'history') or entry.where(fullUrl.exists()).select(fullUrl&resource.meta.versionId).isDistinct()") => CoreInvariant::Bdl7,
            ("bdl-8", "fullUrl.contains('/_history/').not()") => CoreInvariant::Bdl8,
            _ => return None,
        })
    }
}

const BEST_PRACTICE_EXT: &str = "http://hl7.org/fhir/StructureDefinition/elementdefinition-bestpractice";

impl Invariant {
    fn compile(c: &Constraint) -> Option<Invariant> {
        let text = c.expression.as_deref()?;
        let best_practice = c.extension.iter().any(|e| e.get("url").and_then(Value::as_str) == Some(BEST_PRACTICE_EXT) && e.get("valueBoolean") == Some(&Value::Bool(true)));
        Some(Invariant {
            key: c.key.clone(),
            error: c.severity.as_deref() != Some("warning"),
            best_practice,
            human: c.human.clone().unwrap_or_default(),
            inherited: c.source.as_deref().is_some_and(|s| s.starts_with(crate::context::CORE_SD_BASE)),
            native: CoreInvariant::recognise(&c.key, text),
            source: c.source.clone(),
            expression: crate::fhirpath::parse_cached(text).map_err(|e| e.to_string()),
        })
    }
}

#[derive(Debug, Clone)]
pub struct ElementType {
    /// The FHIR type: `string`, `HumanName`, `Reference`. The FHIRPath system
    /// types used for `id`, `url` and primitive values are mapped back to
    /// the FHIR type they stand for.
    pub code: String,
    pub profiles: Vec<String>,
    pub target_profiles: Vec<String>,
    /// The resource types `target_profiles` allow, worked out on first use
    /// by the validator (`None` inside: anything goes, or cannot be told).
    pub target_types: std::sync::OnceLock<Option<Vec<String>>>,
    /// How a Reference's target may be held (`contained`, `referenced`, `bundled`).
    pub aggregation: Vec<String>,
}

impl ElementType {
    pub fn new(code: String, profiles: Vec<String>, target_profiles: Vec<String>) -> ElementType {
        ElementType { code, profiles, target_profiles, target_types: std::sync::OnceLock::new(), aggregation: Vec::new() }
    }
}

impl Element {
    pub fn is_choice(&self) -> bool {
        self.name.ends_with("[x]")
    }

    /// The name without `[x]`: `value` for `value[x]`.
    pub fn choice_name(&self) -> &str {
        self.name.strip_suffix("[x]").unwrap_or(&self.name)
    }

    /// For a choice element, the type an instance property name selects:
    /// `valueQuantity` for `value[x]` selects `Quantity`.
    pub fn choice_type(&self, property: &str) -> Option<&ElementType> {
        let prefix = self.name.strip_suffix("[x]")?;
        let suffix = property.strip_prefix(prefix)?;
        self.types.iter().find(|t| type_suffix_matches(&t.code, suffix))
    }

    pub fn max_allows(&self, count: usize) -> bool {
        self.max.is_none_or(|m| count <= m as usize)
    }
}

/// `Quantity` matches suffix `Quantity`; `dateTime` matches `DateTime`.
fn type_suffix_matches(code: &str, suffix: &str) -> bool {
    let mut c = code.chars();
    let mut s = suffix.chars();
    match (c.next(), s.next()) {
        (Some(a), Some(b)) if a.to_ascii_uppercase() == b => c.as_str() == s.as_str(),
        _ => false,
    }
}

/// The FHIR type a FHIRPath system type stands for when the definition does
/// not say (`Element.id` is a `string`, `Extension.url` a `uri`).
fn fhir_type_of(t: &definition::TypeRef) -> String {
    if let Some(ft) = definition::extension_string(&t.extension, FHIR_TYPE_EXT) {
        return ft.to_string();
    }
    match t.code.strip_prefix("http://hl7.org/fhirpath/System.") {
        Some("String") => "string".into(),
        Some("Boolean") => "boolean".into(),
        Some("Integer") => "integer".into(),
        Some("Decimal") => "decimal".into(),
        Some("Date") => "date".into(),
        Some("DateTime") => "dateTime".into(),
        Some("Time") => "time".into(),
        Some(other) => other.to_ascii_lowercase(),
        None => t.code.clone(),
    }
}

pub fn parse_max(max: Option<&str>) -> Option<u32> {
    match max {
        None | Some("*") => None,
        Some(m) => m.parse().ok().or(None),
    }
}

const VERSION_SPECIFIC_USE_EXT: &str = "http://hl7.org/fhir/StructureDefinition/version-specific-use";
const IMPOSE_PROFILE_EXT: &str = "http://hl7.org/fhir/StructureDefinition/structuredefinition-imposeProfile";

impl StructureDef {
    /// Compiles the snapshot; `None` when the definition has none.
    pub fn compile(sd: StructureDefinition) -> Option<StructureDef> {
        let snapshot = sd.snapshot?;
        let elements = compile_elements(snapshot.element);
        let standards_status = sd.extension.iter().find(|e| e.get("url").and_then(Value::as_str) == Some(STANDARDS_STATUS_EXT)).and_then(|e| {
            let code = e.get("valueCode")?.as_str()?.to_string();
            let reason = e
                .pointer("/_valueCode/extension")
                .and_then(Value::as_array)
                .and_then(|l| l.iter().find(|x| x.get("url").and_then(Value::as_str) == Some(STANDARDS_STATUS_REASON_EXT)))
                .and_then(|x| x.get("valueMarkdown").and_then(Value::as_str))
                .map(str::to_string);
            Some((code, reason))
        });
        let version_use = sd.extension.iter().find(|e| e.get("url").and_then(Value::as_str) == Some(VERSION_SPECIFIC_USE_EXT)).map(|e| {
            let part = |name: &str| {
                e.get("extension")
                    .and_then(Value::as_array)
                    .and_then(|l| l.iter().find(|x| x.get("url").and_then(Value::as_str) == Some(name)))
                    .and_then(|x| x.get("valueCode").or_else(|| x.get("valueString")).and_then(Value::as_str))
                    .map(str::to_string)
            };
            (part("startFhirVersion"), part("endFhirVersion"))
        });
        let imposed_profiles = sd
            .extension
            .iter()
            .filter(|e| e.get("url").and_then(Value::as_str) == Some(IMPOSE_PROFILE_EXT))
            .filter_map(|e| e.get("valueCanonical").or_else(|| e.get("valueUri")).and_then(Value::as_str).map(str::to_string))
            .collect();
        Some(StructureDef {
            version_use,
            imposed_profiles,
            name: sd.name.unwrap_or_else(|| sd.type_name.clone()),
            title: sd.title,
            url: sd.url,
            version: sd.version,
            type_name: sd.type_name,
            kind: sd.kind.unwrap_or_default(),
            is_abstract: sd.is_abstract,
            derivation: sd.derivation,
            base_definition: sd.base_definition,
            context: sd.context,
            context_invariant: sd.context_invariant,
            elements,
            status: sd.status,
            standards_status,
        })
    }

    pub fn root(&self) -> &Element {
        &self.elements[0]
    }

    pub fn is_resource(&self) -> bool {
        self.kind == "resource"
    }

    pub fn is_primitive(&self) -> bool {
        self.kind == "primitive-type"
    }

    /// The name people know the definition by.
    pub fn title_or_name(&self) -> &str {
        self.title.as_deref().unwrap_or(&self.name)
    }

    /// `url|version`, as issues cite a profile.
    pub fn versioned_url(&self) -> String {
        match &self.version {
            Some(v) => format!("{}|{}", self.url, v),
            None => self.url.clone(),
        }
    }

    /// The element with this id (`#Questionnaire.item` content references).
    pub fn element_by_id(&self, id: &str) -> Option<usize> {
        self.elements.iter().position(|e| e.id == id)
    }

    /// The child definition an instance property matches, with the type it selects.
    pub fn match_child(&self, parent: usize, property: &str) -> Option<(usize, Option<&ElementType>)> {
        let p = &self.elements[parent];
        if p.children.len() >= CHILD_NAMES_FROM {
            let names = p.child_names.get_or_init(|| self.child_names(parent));
            let &(c, t) = names.get(property)?;
            let c = c as usize;
            return Some((c, t.map(|t| &self.elements[c].types[t as usize])));
        }
        for &c in &p.children {
            let e = &self.elements[c];
            if e.name == property {
                return Some((c, None));
            }
            if e.is_choice() {
                if let Some(t) = e.choice_type(property) {
                    return Some((c, Some(t)));
                }
            }
        }
        None
    }
}

/// Elements with this many children or more find a child by name in a map.
const CHILD_NAMES_FROM: usize = 6;

impl StructureDef {
    /// Every property name the children of `parent` answer to; where two
    /// would answer, the first child in order wins, as in the linear search.
    fn child_names(&self, parent: usize) -> std::collections::HashMap<String, (u32, Option<u32>)> {
        let mut names = std::collections::HashMap::new();
        for &c in &self.elements[parent].children {
            let e = &self.elements[c];
            match e.name.strip_suffix("[x]") {
                Some(prefix) => {
                    for (ti, t) in e.types.iter().enumerate() {
                        let mut chars = t.code.chars();
                        let Some(first) = chars.next() else { continue };
                        let name = format!("{prefix}{}{}", first.to_ascii_uppercase(), chars.as_str());
                        names.entry(name).or_insert((c as u32, Some(ti as u32)));
                    }
                }
                None => {
                    names.entry(e.name.clone()).or_insert((c as u32, None));
                }
            }
        }
        names
    }
}

fn compile_elements(defs: Vec<ElementDefinition>) -> Vec<Element> {
    let mut out: Vec<Element> = Vec::with_capacity(defs.len());
    // Element ids of the elements seen so far, to find each one's parent.
    let mut by_id: std::collections::HashMap<String, usize> = std::collections::HashMap::with_capacity(defs.len());
    for (ix, d) in defs.into_iter().enumerate() {
        let id = d.id.clone().unwrap_or_else(|| d.path.clone());
        let name = d.path.rsplit('.').next().unwrap_or(&d.path).to_string();
        let base_path = d.base.as_ref().map_or_else(|| d.path.clone(), |b| b.path.clone());
        let base_max = d.base.as_ref().and_then(|b| b.max.as_deref()).or(d.max.as_deref());
        let repeats = base_max != Some("1") && base_max != Some("0") || d.max.as_deref().is_some_and(|m| m != "1" && m != "0");
        let el = Element {
            fixed: d.choice("fixed").map(|(t, v)| (t.to_string(), v.clone())),
            pattern: d.choice("pattern").map(|(t, v)| (t.to_string(), v.clone())),
            min_value: d.choice("minValue").map(|(t, v)| (t.to_string(), v.clone())),
            max_value: d.choice("maxValue").map(|(t, v)| (t.to_string(), v.clone())),
            types: d
                .types
                .iter()
                .map(|t| ElementType { aggregation: t.aggregation.clone(), ..ElementType::new(fhir_type_of(t), t.profile.clone(), t.target_profile.clone()) })
                .collect(),
            min: d.min.unwrap_or(0),
            max: parse_max(d.max.as_deref()),
            repeats,
            content_reference: d.content_reference,
            children: Vec::new(),
            slices: Vec::new(),
            slicing: d.slicing,
            binding: d.binding,
            invariants: d.constraint.iter().filter_map(Invariant::compile).collect(),
            constraints: d.constraint,
            max_length: d.max_length,
            min_length: d
                .other
                .get("extension")
                .and_then(Value::as_array)
                .and_then(|exts| exts.iter().find(|e| e.get("url").and_then(Value::as_str) == Some(MIN_LENGTH_EXT)))
                .and_then(|e| e.get("valueInteger").and_then(Value::as_u64))
                .map(|n| n as u32),
            is_modifier: d.is_modifier,
            must_support: d.must_support,
            narrative_languages: extension_values(&d.other, NARRATIVE_LANGUAGE_EXT),
            narrative_source: extension_values(&d.other, NARRATIVE_SOURCE_EXT).into_iter().next(),
            value_rules: ValueRules::read(&d.other),
            inherited: false,
            constrains: true,
            slice_tests: std::sync::OnceLock::new(),
            slicing_defect: std::sync::OnceLock::new(),
            child_names: std::sync::OnceLock::new(),
            required_children: Vec::new(),
            slice_name: d.slice_name,
            path: d.path,
            base_path,
            name,
            id: id.clone(),
        };
        out.push(el);
        if ix > 0 {
            link_to_parent(&mut out, &by_id, ix, &id);
        }
        by_id.insert(id, ix);
    }
    for ix in 0..out.len() {
        let required: Vec<usize> = out[ix].children.iter().copied().filter(|&c| out[c].min > 0).collect();
        out[ix].required_children = required;
    }
    out
}

/// Attaches element `ix` to its parent (as a child) or to the element it
/// slices (as a slice). Ids say both: `a.b:s` slices `a.b`; `a.b:s.c` is a
/// child of `a.b:s`.
fn link_to_parent(out: &mut [Element], by_id: &std::collections::HashMap<String, usize>, ix: usize, id: &str) {
    let (parent_id, last) = match id.rfind('.') {
        Some(dot) => (&id[..dot], &id[dot + 1..]),
        None => return,
    };
    if let Some(colon) = last.rfind(':') {
        // A slice (or re-slice `s/r`): attach to the sliced element.
        let sliced = format!("{}.{}", parent_id, &last[..colon]);
        let sliced = match last[colon + 1..].split_once('/') {
            Some((first, _)) => format!("{}.{}:{}", parent_id, &last[..colon], first),
            None => sliced,
        };
        if let Some(&s) = by_id.get(&sliced) {
            out[s].slices.push(ix);
            return;
        }
    }
    if let Some(&p) = by_id.get(parent_id) {
        out[p].children.push(ix);
    } else if let Some(p) = fallback_parent(out, ix) {
        out[p].children.push(ix);
    }
}

/// Snapshots without (or with inconsistent) ids: the nearest earlier element
/// whose path is this element's parent path.
fn fallback_parent(out: &[Element], ix: usize) -> Option<usize> {
    let path = &out[ix].path;
    let parent_path = &path[..path.rfind('.')?];
    (0..ix).rev().find(|&j| out[j].path == parent_path && out[j].slice_name.is_none())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sd(elements: Value) -> StructureDef {
        let v = json!({"url": "http://x/sd", "type": "Thing", "kind": "resource", "snapshot": {"element": elements}});
        StructureDef::compile(serde_json::from_value(v).unwrap()).unwrap()
    }

    #[test]
    fn children_slices_and_choices_are_linked() {
        let s = sd(json!([
            {"id": "Thing", "path": "Thing", "min": 0, "max": "*"},
            {"id": "Thing.identifier", "path": "Thing.identifier", "min": 0, "max": "*", "type": [{"code": "Identifier"}]},
            {"id": "Thing.identifier:nhs", "path": "Thing.identifier", "sliceName": "nhs", "min": 0, "max": "1", "type": [{"code": "Identifier"}]},
            {"id": "Thing.identifier:nhs.system", "path": "Thing.identifier.system", "min": 1, "max": "1", "type": [{"code": "uri"}]},
            {"id": "Thing.value[x]", "path": "Thing.value[x]", "min": 0, "max": "1", "base": {"path": "Thing.value[x]", "min": 0, "max": "1"},
             "type": [{"code": "Quantity"}, {"code": "dateTime"}]},
        ]));
        assert_eq!(s.elements[0].children, vec![1, 4]);
        assert_eq!(s.elements[1].slices, vec![2]);
        assert_eq!(s.elements[2].children, vec![3]);
        let (ix, t) = s.match_child(0, "valueDateTime").unwrap();
        assert_eq!(ix, 4);
        assert_eq!(t.unwrap().code, "dateTime");
        assert!(s.match_child(0, "valueString").is_none());
        assert!(s.match_child(0, "valuedateTime").is_none());
        assert!(s.elements[1].repeats);
        assert!(!s.elements[4].repeats);
    }

    #[test]
    fn system_types_map_back_to_fhir_types() {
        let s = sd(json!([
            {"id": "Thing", "path": "Thing"},
            {"id": "Thing.id", "path": "Thing.id", "type": [{"code": "http://hl7.org/fhirpath/System.String",
                "extension": [{"url": FHIR_TYPE_EXT, "valueUrl": "id"}]}]},
            {"id": "Thing.url", "path": "Thing.url", "type": [{"code": "http://hl7.org/fhirpath/System.String"}]},
        ]));
        assert_eq!(s.elements[1].types[0].code, "id");
        assert_eq!(s.elements[2].types[0].code, "string");
    }
}

const NARRATIVE_LANGUAGE_EXT: &str = "http://hl7.org/fhir/StructureDefinition/narrative-language-control";
const NARRATIVE_SOURCE_EXT: &str = "http://hl7.org/fhir/StructureDefinition/narrative-source-control";

/// The string values of an element definition's extensions with this url.
fn extension_values(other: &serde_json::Map<String, Value>, url: &str) -> Vec<String> {
    let Some(exts) = other.get("extension").and_then(Value::as_array) else { return Vec::new() };
    exts.iter()
        .filter(|e| e.get("url").and_then(Value::as_str) == Some(url))
        .filter_map(|e| e.as_object()?.iter().find(|(k, _)| k.starts_with("value")).and_then(|(_, v)| v.as_str()).map(str::to_string))
        .collect()
}
