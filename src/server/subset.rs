//! `_summary` and `_elements`: answers with only part of each resource,
//! marked with the `SUBSETTED` tag so no one mistakes them for the whole.
//! Which elements are in the summary is the definitions' `isSummary`.

use super::error::{FhirError, FhirResult};
use crate::context::{Context, CORE_SD_BASE};
use parking_lot::Mutex;
use serde_json::{json, Map, Value};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// What part of each resource to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Subset {
    Whole,
    /// `_summary=true`: the elements marked `isSummary`.
    Summary,
    /// `_summary=text`: text, id, meta and the mandatory top-level elements.
    Text,
    /// `_summary=data`: all but the text.
    Data,
    /// `_elements=a,b`: these top-level elements (and what every resource needs).
    Elements(Vec<String>),
}

impl Subset {
    /// From a request's `_summary` and `_elements` (`_summary=count` is the search's business).
    pub fn of(summary: Option<&str>, elements: Option<&str>) -> FhirResult<Subset> {
        Ok(match (summary, elements) {
            (Some("true"), _) => Subset::Summary,
            (Some("text"), _) => Subset::Text,
            (Some("data"), _) => Subset::Data,
            (Some("false") | Some("count") | None, Some(e)) => Subset::Elements(e.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect()),
            (Some("false") | Some("count") | None, None) => Subset::Whole,
            (Some(other), _) => return Err(FhirError::bad_request(format!("_summary={other}: expected true, text, data, count or false"))),
        })
    }
}

/// A resource type's top-level elements, as `_summary` and `_elements` need them.
#[derive(Default)]
struct TopLevel {
    summary: HashSet<String>,
    mandatory: HashSet<String>,
    /// Choice elements (`value[x]`), without the `[x]`.
    choices: Vec<String>,
}

impl TopLevel {
    /// The element a JSON property belongs to: `valueQuantity` → `value`, `_birthDate` → `birthDate`.
    fn element_of<'k>(&self, key: &'k str) -> &'k str {
        let key = key.trim_start_matches('_');
        self.choices.iter().find(|c| key.len() > c.len() && key.starts_with(c.as_str()) && key[c.len()..].starts_with(|ch: char| ch.is_ascii_uppercase())).map_or(key, |c| &key[..c.len()])
    }

    fn summary(&self, key: &str) -> bool {
        let e = self.element_of(key);
        self.summary.contains(e) || self.mandatory.contains(e)
    }

    fn mandatory(&self, key: &str) -> bool {
        self.mandatory.contains(self.element_of(key))
    }
}

/// Per resource type, read from its definition once.
#[derive(Default)]
pub struct SummaryElements {
    by_type: Mutex<HashMap<String, Arc<TopLevel>>>,
}

impl SummaryElements {
    fn of(&self, ctx: &Context, res_type: &str) -> Arc<TopLevel> {
        if let Some(hit) = self.by_type.lock().get(res_type) {
            return hit.clone();
        }
        let mut top = TopLevel::default();
        let json = ctx.resource_json(&format!("{CORE_SD_BASE}{res_type}"));
        let elements = json.as_ref().and_then(|j| j.pointer("/snapshot/element")).and_then(Value::as_array).cloned().unwrap_or_default();
        for e in &elements {
            let Some(path) = e.get("path").and_then(Value::as_str) else { continue };
            let Some(name) = path.strip_prefix(res_type).and_then(|p| p.strip_prefix('.')).filter(|n| !n.contains('.')) else { continue };
            if let Some(choice) = name.strip_suffix("[x]") {
                top.choices.push(choice.to_string());
            }
            let name = name.trim_end_matches("[x]").to_string();
            if e.get("isSummary").and_then(Value::as_bool) == Some(true) {
                top.summary.insert(name.clone());
            }
            if e.get("min").and_then(Value::as_u64).unwrap_or(0) > 0 {
                top.mandatory.insert(name);
            }
        }
        let entry = Arc::new(top);
        self.by_type.lock().insert(res_type.to_string(), entry.clone());
        entry
    }

    /// The part of `resource` that `subset` asks for.
    pub fn apply(&self, ctx: &Context, subset: &Subset, resource: Value) -> Value {
        let Value::Object(map) = resource else { return resource };
        let res_type = map.get("resourceType").and_then(Value::as_str).unwrap_or_default().to_string();
        let keep: Box<dyn Fn(&str) -> bool> = match subset {
            Subset::Whole => return Value::Object(map),
            Subset::Data => Box::new(|k: &str| k != "text"),
            Subset::Summary => {
                let top = self.of(ctx, &res_type);
                Box::new(move |k: &str| top.summary(k))
            }
            Subset::Text => {
                let top = self.of(ctx, &res_type);
                Box::new(move |k: &str| matches!(k, "text" | "id" | "meta") || top.mandatory(k))
            }
            Subset::Elements(names) => {
                let top = self.of(ctx, &res_type);
                let names = names.clone();
                Box::new(move |k: &str| matches!(k, "id" | "meta") || top.mandatory(k) || names.iter().any(|n| n == top.element_of(k)))
            }
        };
        let mut out = Map::new();
        for (k, v) in map {
            if k == "resourceType" || keep(&k) {
                out.insert(k, v);
            }
        }
        mark_subsetted(&mut out);
        Value::Object(out)
    }
}

fn mark_subsetted(resource: &mut Map<String, Value>) {
    let tag = json!({"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "SUBSETTED"});
    let meta = resource.entry("meta").or_insert_with(|| json!({}));
    if let Some(m) = meta.as_object_mut() {
        let tags = m.entry("tag").or_insert_with(|| json!([]));
        if let Some(list) = tags.as_array_mut() {
            list.push(tag);
        }
    }
}
