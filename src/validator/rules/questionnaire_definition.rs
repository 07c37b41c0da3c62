//! A Questionnaire's rules against what it builds on: the Questionnaires it
//! says it derives from (`derivedFrom` with the derivationType extension:
//! an item of one that `extends` or `compliesWith` another keeps that
//! item's type, cardinality, definition, length and options), and the
//! binding parameters of an item's answerValueSet against the parameters
//! the ValueSet declares.
//!
//! Each derived-from Questionnaire is indexed by linkId once, and each
//! answerValueSet read once, however many items there are.

use crate::issue::{quoted, IssueCode};
use crate::tree::Node;
use crate::validator::element::Walk;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

const EXT_DERIVATION_TYPE: &str = "http://hl7.org/fhir/StructureDefinition/questionnaire-derivationType";
const DERIVATION_SYSTEM: &str = "http://hl7.org/fhir/questionnaire-derivationType";
const EXT_VALUESET_PARAMETER: &str = "http://hl7.org/fhir/tools/StructureDefinition/valueset-parameter";
const EXT_BINDING_PARAMETER: &str = "http://hl7.org/fhir/tools/StructureDefinition/binding-parameter";
const EXT_ORIGINAL_ITEM_TYPE: &str = "http://hl7.org/fhir/4.0/StructureDefinition/extension-questionnaire.item.type";

/// The expansion and validation parameters a binding may set whatever the
/// ValueSet declares (the reference's list).
const STANDARD_PARAMETERS: &[&str] = &[
    "abstract",
    "activeOnly",
    "check-system-version",
    "check-valueset-version",
    "context",
    "contextDirection",
    "count",
    "date",
    "default-valueset-version",
    "designation",
    "displayLanguage",
    "exclude-system",
    "excludeNested",
    "excludeNotForUI",
    "excludePostCoordinated",
    "filter",
    "filterProperty",
    "force-system-version",
    "force-valueset-version",
    "includeDefinition",
    "includeDesignations",
    "inferSystem",
    "lenient-display-validation",
    "manifest",
    "offset",
    "property",
    "system-version",
    "useSupplement",
    "valueset-membership-only",
];

/// A Questionnaire this one derives from, and how.
pub(super) struct Derivation {
    questionnaire: Arc<Value>,
    url: String,
    /// `extends`: an item may be new; `compliesWith`: every item must be there.
    extends: bool,
    /// Where each linkId's first item is (indices of `item` from the root).
    by_link_id: HashMap<String, Vec<usize>>,
}

impl Derivation {
    fn new(questionnaire: Arc<Value>, extends: bool) -> Derivation {
        fn index(v: &Value, at: &mut Vec<usize>, out: &mut HashMap<String, Vec<usize>>) {
            for (i, item) in v.get("item").and_then(Value::as_array).into_iter().flatten().enumerate() {
                at.push(i);
                if let Some(l) = item.get("linkId").and_then(Value::as_str) {
                    out.entry(l.to_string()).or_insert_with(|| at.clone());
                }
                index(item, at, out);
                at.pop();
            }
        }
        let mut by_link_id = HashMap::new();
        index(&questionnaire, &mut Vec::new(), &mut by_link_id);
        let url = questionnaire.get("url").and_then(Value::as_str).unwrap_or("").to_string();
        Derivation { questionnaire, url, extends, by_link_id }
    }

    fn item(&self, link_id: &str) -> Option<&Value> {
        let mut v = &*self.questionnaire;
        for &i in self.by_link_id.get(link_id)? {
            v = v.get("item")?.get(i)?;
        }
        Some(v)
    }
}

/// What the items' checks share: the derivations, and the parameters of
/// each answerValueSet read (by url; `None` when it declares none or is unknown).
pub(super) struct DefinitionChecks {
    derivations: Vec<Derivation>,
    value_sets: HashMap<String, Option<Arc<(String, Vec<String>)>>>,
}

fn extensions<'a>(node: &'a Node, url: &'a str) -> impl Iterator<Item = (usize, &'a Node)> + 'a {
    node.children_named("extension").enumerate().filter(move |(_, e)| e.child_text("url") == Some(url))
}

/// The `value[x]` child of a node.
fn value_of(node: &Node) -> Option<&Node> {
    node.children.iter().find(|c| c.name.len() > 5 && c.name.starts_with("value"))
}

/// The type suffix of a `value[x]` name, as the path shows it (`Coding`, `string`).
fn choice_type(name: &str) -> String {
    let suffix = name.strip_prefix("value").unwrap_or(name);
    let complex = suffix.chars().next().is_some_and(char::is_uppercase) && !matches!(suffix, "String" | "Integer" | "Date" | "Time" | "Boolean" | "Decimal" | "Uri" | "Code" | "DateTime");
    if complex {
        suffix.to_string()
    } else {
        let mut c = suffix.chars();
        c.next().map(|f| f.to_ascii_lowercase().to_string() + c.as_str()).unwrap_or_default()
    }
}

/// Reads `derivedFrom` and reports what makes a derivation uncheckable.
pub(super) fn prepare(walk: &mut Walk<'_, '_>, node: &Node) -> DefinitionChecks {
    let mut derivations = Vec::new();
    // Each questionnaire is read, and each derivation (questionnaire and
    // type) indexed and checked against the items, once, however often it is
    // named (the twenty-eighth pass's T1: derivations × items).
    let mut read: HashMap<&str, Option<Arc<Value>>> = HashMap::new();
    let mut kept: std::collections::HashSet<(&str, bool)> = std::collections::HashSet::new();
    for (i, derived_from) in node.children_named("derivedFrom").enumerate() {
        let Some(url) = derived_from.text() else { continue };
        walk.path.push("derivedFrom", Some(i));
        let found = read
            .entry(url)
            .or_insert_with(|| (url.len() <= 4_096 && walk.ctx.entry(url).is_some_and(|e| e.resource_type == "Questionnaire")).then(|| walk.ctx.resource_json(url)).flatten())
            .clone();
        let mut derivations_push = |q: Arc<Value>, extends: bool| {
            if kept.insert((url, extends)) {
                derivations.push(Derivation::new(q, extends));
            }
        };
        match found {
            None => {
                // QUESTIONNAIRE_Q_UNKNOWN_DERIVATION
                walk.warn(derived_from, IssueCode::BusinessRule, format!("The questionnaire '{}' referred to in the derivation could not be found", quoted(url)));
            }
            Some(q) => match extensions(derived_from, EXT_DERIVATION_TYPE).next() {
                None => {
                    // QUESTIONNAIRE_Q_NO_DERIVATION_TYPE
                    walk.warn(
                        derived_from,
                        IssueCode::BusinessRule,
                        format!("The questionnaire '{}' has no derivation type specified using the 'http://hl7.org/fhir/StructureDefinition/questionnaire-derivationType' extension, so derivation has not been checked", quoted(url)),
                    );
                }
                Some((k, ext)) => {
                    walk.path.push("extension", Some(k));
                    match value_of(ext) {
                        None => {
                            // QUESTIONNAIRE_Q_NO_DERIVATION_TYPE_VALUE
                            walk.warn(ext, IssueCode::BusinessRule, "The derivation extension has no value".into());
                        }
                        Some(v) => {
                            let (system, code) = (v.child_text("system"), v.child_text("code"));
                            match (system, code) {
                                (Some(DERIVATION_SYSTEM), Some("extends")) => derivations_push(q, true),
                                (Some(DERIVATION_SYSTEM), Some("compliesWith")) => derivations_push(q, false),
                                _ => {
                                    let shown = format!("{}#{}", quoted(system.unwrap_or("null")), quoted(code.unwrap_or("null")));
                                    walk.path.push_choice("value", &choice_type(&v.name));
                                    if (system, code) == (Some(DERIVATION_SYSTEM), Some("inspiredBy")) {
                                        // QUESTIONNAIRE_Q_DERIVATION_TYPE_IGNORED
                                        walk.inform(v, IssueCode::BusinessRule, format!("The derivation type '{shown}' means that no derivation checking has been performed against this questionnaire"));
                                    } else {
                                        // QUESTIONNAIRE_Q_DERIVATION_TYPE_UNKNOWN
                                        walk.warn(
                                            v,
                                            IssueCode::BusinessRule,
                                            format!("The derivation type '{shown}' is unknown, which means that no derivation checking has been performed against this questionnaire"),
                                        );
                                    }
                                    walk.path.pop();
                                }
                            }
                        }
                    }
                    walk.path.pop();
                }
            },
        }
        walk.path.pop();
    }
    DefinitionChecks { derivations, value_sets: HashMap::new() }
}

impl DefinitionChecks {
    /// One item (the path points at it).
    pub(super) fn item(&mut self, walk: &mut Walk<'_, '_>, item: &Node) {
        self.binding_parameters(walk, item);
        if let Some(link_id) = item.child_text("linkId") {
            for d in &self.derivations {
                derived_item(walk, item, link_id, d);
            }
        }
    }

    /// The binding parameters on an item's answerValueSet against the
    /// parameters its ValueSet declares.
    fn binding_parameters(&mut self, walk: &mut Walk<'_, '_>, item: &Node) {
        let Some(avs) = item.child("answerValueSet") else { return };
        let Some(url) = avs.text().filter(|u| u.len() <= 4_096) else { return };
        let declared = self
            .value_sets
            .entry(url.to_string())
            .or_insert_with(|| {
                if !walk.ctx.entry(url).is_some_and(|e| e.resource_type == "ValueSet") {
                    return None;
                }
                let vs = walk.ctx.resource_json(url)?;
                let params: Vec<&Value> = vs.get("extension").and_then(Value::as_array).into_iter().flatten().filter(|e| e.get("url").and_then(Value::as_str) == Some(EXT_VALUESET_PARAMETER)).collect();
                if params.is_empty() {
                    return None;
                }
                let names = params.iter().filter_map(|p| json_sub_extension(p, "name")).map(str::to_string).collect();
                let versioned = match vs.get("version").and_then(Value::as_str) {
                    Some(v) => format!("{}|{v}", vs.get("url").and_then(Value::as_str).unwrap_or(url)),
                    None => vs.get("url").and_then(Value::as_str).unwrap_or(url).to_string(),
                };
                Some(Arc::new((versioned, names)))
            })
            .clone();
        let Some(declared) = declared else { return };
        let (vs_url, names) = (&declared.0, &declared.1);
        let given: Vec<Option<&str>> = extensions(avs, EXT_BINDING_PARAMETER).map(|(_, e)| node_sub_extension(e, "name")).collect();
        let given_names: HashSet<&str> = given.iter().flatten().copied().collect();
        for name in names {
            if !given_names.contains(name.as_str()) {
                // VALUESET_PARAMETER_MISSING_BINDING_PARAMETER
                walk.error(item, IssueCode::BusinessRule, format!("The ValueSet '{}' has a parameter '{}' but there is no matching binding parameter", quoted(vs_url), quoted(name)));
            }
        }
        let declared_names: HashSet<&str> = names.iter().map(String::as_str).collect();
        for name in given {
            let name = name.unwrap_or("");
            if !declared_names.contains(name) && !STANDARD_PARAMETERS.contains(&name) {
                // VALUESET_PARAMETER_UNRECOGNISED_BINDING_PARAMETER
                walk.warn(
                    item,
                    IssueCode::BusinessRule,
                    format!("The binding parameter '{}' is not recognised as a standard parameter or a parameter on the ValueSet '{}'", quoted(name), quoted(vs_url)),
                );
            }
        }
    }
}

/// The string value of a sub-extension of a JSON extension.
fn json_sub_extension<'a>(ext: &'a Value, url: &str) -> Option<&'a str> {
    ext.get("extension")?.as_array()?.iter().find(|e| e.get("url").and_then(Value::as_str) == Some(url)).and_then(|e| {
        e.as_object()?.iter().find(|(k, _)| k.starts_with("value")).and_then(|(_, v)| v.as_str())
    })
}

fn node_sub_extension<'a>(ext: &'a Node, url: &'a str) -> Option<&'a str> {
    extensions(ext, url).next().and_then(|(_, e)| value_of(e)).and_then(Node::text)
}

/// The key an answer option is compared by: its type and value.
fn node_option_key(option: &Node) -> Option<String> {
    let v = value_of(option)?;
    Some(match v.name.as_str() {
        "valueCoding" => format!("Coding|{}|{}", v.child_text("system")?, v.child_text("code")?),
        "valueReference" => format!("Reference|{}", v.child_text("reference")?),
        name => format!("{}|{}", choice_type(name), v.text()?),
    })
}

fn json_option_key(option: &Value) -> Option<String> {
    let (k, v) = option.as_object()?.iter().find(|(k, _)| k.len() > 5 && k.starts_with("value"))?;
    let s = |key: &str| v.get(key).and_then(Value::as_str);
    Some(match k.as_str() {
        "valueCoding" => format!("Coding|{}|{}", s("system")?, s("code")?),
        "valueReference" => format!("Reference|{}", s("reference")?),
        name => format!("{}|{}", choice_type(name), super::questionnaire_answers::json_text(v)?),
    })
}

/// An item against the item with its linkId in a Questionnaire it derives from.
fn derived_item(walk: &mut Walk<'_, '_>, item: &Node, link_id: &str, d: &Derivation) {
    let (url, id) = (quoted(&d.url), quoted(link_id));
    let Some(qi) = d.item(link_id) else {
        if !d.extends {
            // QUESTIONNAIRE_Q_ITEM_NOT_DERIVED
            walk.error(item, IssueCode::NotFound, format!("No item with linkId '{id}' found in questionnaire '{url}'"));
        }
        return;
    };
    let qs = |k: &str| qi.get(k).and_then(Value::as_str);
    let qb = |k: &str| qi.get(k).and_then(Value::as_bool).unwrap_or(false);
    let child = |name: &str| item.child(name);
    let at = |walk: &mut Walk<'_, '_>, name: &str, node: &Node, error: bool, code: IssueCode, msg: String| {
        walk.path.push(name, None);
        if error {
            walk.error(node, code, msg);
        } else {
            walk.inform(node, code, msg);
        }
        walk.path.pop();
    };
    if let (Some(their_type), Some(e)) = (qs("type"), child("type")) {
        // The type in R4's terms: an R4 item's own, or the original R4
        // type an item converted from R4 carries.
        let original = qi.get("_type").and_then(|t| t.get("extension")).and_then(Value::as_array).into_iter().flatten().find(|x| x.get("url").and_then(Value::as_str) == Some(EXT_ORIGINAL_ITEM_TYPE)).and_then(|x| x.get("valueCode")).and_then(Value::as_str);
        let mine = e.text().unwrap_or("");
        if original.unwrap_or(their_type) != mine {
            // R5 calls R4's choice and open-choice items `coding`.
            let shown = if matches!(their_type, "choice" | "open-choice") { "coding" } else { their_type };
            // QUESTIONNAIRE_Q_ITEM_DERIVED_NC_TYPE
            at(walk, "type", e, true, IssueCode::BusinessRule, format!("The item with linkId '{id}' found in questionnaire '{url}' has the type '{}', and this cannot change to '{}'", quoted(shown), quoted(mine)));
        }
    }
    if !qb("repeats") {
        if let Some(e) = child("repeats").filter(|e| e.text() == Some("true")) {
            // QUESTIONNAIRE_Q_ITEM_DERIVED_NC_REPEATS
            at(walk, "repeats", e, true, IssueCode::BusinessRule, format!("The item with linkId '{id}' found in questionnaire '{url}' does not repeat, so it cannot repeat here"));
        }
    }
    if qb("required") {
        if let Some(e) = child("required").filter(|e| e.text() != Some("true")) {
            // QUESTIONNAIRE_Q_ITEM_DERIVED_NC_REQUIRED
            at(walk, "required", e, true, IssueCode::BusinessRule, format!("The item with linkId '{id}' found in questionnaire '{url}' is required, so it must be required here"));
        }
    }
    if let Some(definition) = qs("definition") {
        let shown = quoted(definition);
        match child("definition") {
            // Told only when it changes (the reference tells it whenever the
            // item repeats a definition, changed or not).
            Some(e) if e.text() != Some(definition) => {
                // QUESTIONNAIRE_Q_ITEM_DERIVED_NC_DEFINITION
                at(walk, "definition", e, false, IssueCode::BusinessRule, format!("The item with linkId '{id}' found in questionnaire '{url}' has the definition '{shown}'. Is it intended to change this?"));
            }
            Some(_) => {}
            None => {
                // QUESTIONNAIRE_Q_ITEM_DERIVED_DEFINITION
                walk.inform(item, IssueCode::BusinessRule, format!("The item with linkId '{id}' found in questionnaire '{url}' has the definition '{shown}', so this should be repeated here"));
            }
        }
    }
    if let Some(max) = qi.get("maxLength").and_then(Value::as_i64) {
        match child("maxLength") {
            Some(e) => {
                if e.text().and_then(|t| t.trim().parse::<i64>().ok()).unwrap_or(0) > max {
                    // QUESTIONNAIRE_Q_ITEM_DERIVED_NC_MAXLENGTH
                    at(walk, "maxLength", e, true, IssueCode::BusinessRule, format!("The item with linkId '{id}' found in questionnaire '{url}' has the maxLength of '{max}', so the max length cannot be greater than that"));
                }
            }
            None => {
                // QUESTIONNAIRE_Q_ITEM_DERIVED_MAXLENGTH
                walk.error(item, IssueCode::BusinessRule, format!("The item with linkId '{id}' found in questionnaire '{url}' has the definition '{max}', so this item must also have a max length"));
            }
        }
    }
    let their_options: &[Value] = qi.get("answerOption").and_then(Value::as_array).map_or(&[], Vec::as_slice);
    if !their_options.is_empty() {
        if child("answerValueSet").is_some() {
            // QUESTIONNAIRE_Q_ITEM_DERIVED_NC_ANSWER_TYPE
            walk.error(
                item,
                IssueCode::BusinessRule,
                format!("The item with linkId '{id}' found in questionnaire '{url}' has answerOption, while this has answerValueSet. This might be valid, but the vaidator can't check that (yet?)"),
            );
        } else if child("answerOption").is_none() {
            // QUESTIONNAIRE_Q_ITEM_DERIVED_ANSWER_OPTIONS
            walk.error(item, IssueCode::BusinessRule, format!("The item with linkId '{id}' found in questionnaire '{url}' has answerOptions, so this item must have some too"));
        } else {
            let known: HashSet<String> = their_options.iter().filter_map(json_option_key).collect();
            for (i, option) in item.children_named("answerOption").enumerate() {
                if value_of(option).is_none() {
                    continue;
                }
                if !node_option_key(option).is_some_and(|k| known.contains(&k)) {
                    walk.path.push("answerOption", Some(i));
                    // QUESTIONNAIRE_Q_ITEM_DERIVED_ANSWER_OPTIONS_NEW
                    walk.error(option, IssueCode::BusinessRule, format!("The item with linkId '{id}' found in questionnaire '{url}' does not have this answerOption, so it is not valid"));
                    walk.path.pop();
                }
            }
        }
    }
    if qs("answerValueSet").is_some() && child("answerOption").is_some() {
        // QUESTIONNAIRE_Q_ITEM_DERIVED_NC_ANSWER_TYPE
        walk.error(
            item,
            IssueCode::BusinessRule,
            format!("The item with linkId '{id}' found in questionnaire '{url}' has answerValueSet, while this has answerOption. This might be valid, but the vaidator can't check that (yet?)"),
        );
    }
}
