//! How a generated snapshot differs from the one a file carries. Authors use it to
//! see whether a committed snapshot still follows from its differential
//! (`careplan snapshot --check`); the test suite uses it to measure the
//! generator against the snapshots the reference tooling published in the
//! R4 packages.
//!
//! Elements are paired by id. What is compared is what validation depends
//! on: presence and order, cardinality, types with their profiles, fixed and
//! pattern values, value limits, slicing, bindings, constraint keys,
//! `maxLength`, `isModifier`, `mustSupport` and content references. Texts
//! (short, definition, comments, mappings) are not.

use crate::definition::ElementDefinition;
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};

/// One way the generated snapshot differs from the one in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// The element id (or path, for snapshots without ids).
    pub element: String,
    pub what: String,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.element, self.what)
    }
}

fn key(e: &ElementDefinition) -> String {
    match (&e.id, &e.slice_name) {
        (Some(id), _) => id.clone(),
        (None, Some(s)) => format!("{}:{s}", e.path),
        (None, None) => e.path.clone(),
    }
}

/// Every difference between `generated` and `published` (the snapshot in the file), element by element.
pub fn differences(generated: &[ElementDefinition], published: &[ElementDefinition]) -> Vec<Difference> {
    let mut out = Vec::new();
    let gen_index: HashMap<String, usize> = generated.iter().enumerate().map(|(i, e)| (key(e), i)).collect();
    let pub_keys: BTreeSet<String> = published.iter().map(key).collect();
    let mut last = None;
    for p in published {
        let k = key(p);
        let Some(&gi) = gen_index.get(&k) else {
            out.push(Difference { element: k, what: "missing from the generated snapshot".into() });
            continue;
        };
        if last.is_some_and(|l| gi < l) {
            out.push(Difference { element: k.clone(), what: "comes earlier in the generated snapshot than in the file's".into() });
        }
        last = Some(gi);
        for what in element_differences(&generated[gi], p) {
            out.push(Difference { element: k.clone(), what });
        }
    }
    for g in generated {
        let k = key(g);
        if !pub_keys.contains(&k) {
            out.push(Difference { element: k, what: "not in the file's snapshot".into() });
        }
    }
    out
}

fn element_differences(g: &ElementDefinition, p: &ElementDefinition) -> Vec<String> {
    let mut out = Vec::new();
    let mut differ = |what: &str, gv: String, pv: String| {
        if gv != pv {
            out.push(format!("{what}: generated {gv}, in the file {pv}"));
        }
    };
    differ("min", show(&g.min), show(&p.min));
    differ("max", show(&g.max), show(&p.max));
    differ("types", types(g), types(p));
    for prefix in ["fixed", "pattern", "minValue", "maxValue"] {
        differ(prefix, choice(g, prefix), choice(p, prefix));
    }
    differ("slicing", slicing(g), slicing(p));
    differ("binding", binding(g), binding(p));
    differ("constraints", constraint_keys(g), constraint_keys(p));
    differ("maxLength", show(&g.max_length), show(&p.max_length));
    differ("isModifier", g.is_modifier.to_string(), p.is_modifier.to_string());
    differ("mustSupport", g.must_support.to_string(), p.must_support.to_string());
    differ("contentReference", content_reference(g), content_reference(p));
    out
}

fn show<T: std::fmt::Debug>(v: &Option<T>) -> String {
    match v {
        Some(v) => format!("{v:?}"),
        None => "none".into(),
    }
}

fn types(e: &ElementDefinition) -> String {
    let mut t: Vec<String> = e
        .types
        .iter()
        .map(|t| {
            let sorted = |v: &[String]| v.iter().cloned().collect::<BTreeSet<_>>().into_iter().collect::<Vec<_>>().join("|");
            let mut s = t.code.clone();
            if !t.profile.is_empty() {
                s += &format!("({})", sorted(&t.profile));
            }
            if !t.target_profile.is_empty() {
                s += &format!("->({})", sorted(&t.target_profile));
            }
            s
        })
        .collect();
    t.sort();
    format!("[{}]", t.join(", "))
}

fn choice(e: &ElementDefinition, prefix: &str) -> String {
    e.choice(prefix).map_or_else(|| "none".into(), |(t, v)| format!("{t} {}", canonical_json(v)))
}

/// JSON with object keys sorted, so that key order does not count.
fn canonical_json(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let inner: Vec<String> = keys.iter().map(|k| format!("{k:?}:{}", canonical_json(&m[*k]))).collect();
            format!("{{{}}}", inner.join(","))
        }
        Value::Array(a) => format!("[{}]", a.iter().map(canonical_json).collect::<Vec<_>>().join(",")),
        other => other.to_string(),
    }
}

fn slicing(e: &ElementDefinition) -> String {
    e.slicing.as_ref().map_or_else(
        || "none".into(),
        |s| {
            let d: Vec<String> = s.discriminator.iter().map(|d| format!("{}@{}", d.kind, d.path)).collect();
            format!("[{}] {} ordered={}", d.join(", "), s.rules.as_deref().unwrap_or("-"), s.ordered)
        },
    )
}

fn binding(e: &ElementDefinition) -> String {
    e.binding.as_ref().map_or_else(
        || "none".into(),
        |b| format!("{} {}", b.strength, b.value_set.as_deref().map_or("-", |v| v.split('|').next().unwrap_or(v))),
    )
}

fn constraint_keys(e: &ElementDefinition) -> String {
    let keys: BTreeSet<&str> = e.constraint.iter().map(|c| c.key.as_str()).collect();
    format!("{keys:?}")
}

fn content_reference(e: &ElementDefinition) -> String {
    // `#Questionnaire.item` and `http://…/Questionnaire#Questionnaire.item` name the same element.
    e.content_reference.as_deref().map_or_else(|| "none".into(), |r| r.rsplit('#').next().unwrap_or(r).to_string())
}
