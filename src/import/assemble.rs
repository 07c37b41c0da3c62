//! One person's rows → their PRSB plan (JSON), with where each part came
//! from, so that a problem the schema or the links find is told at the row
//! and column that caused it.

use super::report::Problem;
use super::spool::{Item, Origin};
use super::targets;
use super::values::make_id;
use serde_json::{json, Map, Value};
use std::collections::{HashMap, HashSet};

pub struct Assembled {
    pub plan_id: String,
    pub json: Value,
    /// JSON pointer → where it came from (the column, for a field).
    pub origins: Vec<(String, Origin, Option<String>)>,
    pub problems: Vec<Problem>,
}

impl Assembled {
    /// Where the part at `pointer` came from: the longest pointer recorded that contains it.
    pub fn origin_of(&self, pointer: &str) -> Option<&(String, Origin, Option<String>)> {
        self.origins
            .iter()
            .filter(|(p, _, _)| pointer == p || pointer.starts_with(&format!("{p}/")) || p.is_empty())
            .max_by_key(|(p, _, _)| p.len())
    }
}

pub fn plan_id(template: &str, person: &str) -> String {
    make_id(&template.replace("{person}", &make_id(person)))
}

pub fn assemble(plan_id_template: &str, person: &str, mut items: Vec<Item>) -> Assembled {
    let plan_id = plan_id(plan_id_template, person);
    let mut out = Assembled { plan_id: plan_id.clone(), json: json!({ "id": plan_id }), origins: Vec::new(), problems: Vec::new() };
    // Parents before children: a stable sort by depth keeps each section's rows in the order read.
    items.sort_by_key(|i| if i.section == "plan" { 0 } else { 1 + i.section.matches('.').count() });
    let mut placed: HashMap<(String, String), String> = HashMap::new();
    for item in items {
        let pointer = if item.section == "plan" {
            String::new()
        } else {
            let id = item.id.clone().unwrap_or_default();
            match placed.get(&(item.section.clone(), id.clone())) {
                Some(p) => p.clone(),
                None => match place(&mut out.json, &item, &placed) {
                    Ok(p) => {
                        placed.insert((item.section.clone(), id), p.clone());
                        out.origins.push((p.clone(), item.origin.clone(), None));
                        p
                    }
                    Err(message) => {
                        out.problems.push(Problem::error(&item.origin, None, message));
                        continue;
                    }
                },
            }
        };
        if item.section == "plan" && !out.origins.iter().any(|(p, _, _)| p.is_empty()) {
            out.origins.push((String::new(), item.origin.clone(), None));
        }
        let Some(target) = out.json.pointer_mut(&pointer) else { continue };
        for (path, value, column) in item.fields {
            set_path(target, &path, value);
            out.origins.push((format!("{pointer}/{}", path.replace('.', "/")), item.origin.clone(), column));
        }
    }
    out
}

/// Puts a new item in its list (inside its parent item for a nested section); returns its pointer.
fn place(plan: &mut Value, item: &Item, placed: &HashMap<(String, String), String>) -> Result<String, String> {
    let (container, list) = match targets::parent_section(&item.section) {
        Some(parent_section) => {
            let parent = item.parent.clone().unwrap_or_default();
            let Some(p) = placed.get(&(parent_section.clone(), parent.clone())) else {
                return Err(format!("its parent, `{parent}`, is not an item of `{parent_section}` for this person"));
            };
            (p.clone(), item.section.rsplit_once('.').map(|(_, l)| l.to_owned()).unwrap_or_default())
        }
        None => match item.section.rsplit_once('.') {
            // A list inside a plan-level object (`agreement.mentalCapacityAssessments`).
            Some((object, list)) => {
                let pointer = format!("/{}", object.replace('.', "/"));
                ensure_object(plan, &pointer);
                (pointer, list.to_owned())
            }
            None => (String::new(), item.section.clone()),
        },
    };
    let Some(Value::Object(parent)) = plan.pointer_mut(&container) else {
        return Err(format!("`{container}` is not an object of the plan"));
    };
    let array = parent.entry(list.clone()).or_insert_with(|| Value::Array(Vec::new()));
    let Value::Array(array) = array else { return Err(format!("`{list}` is not a list")) };
    let mut object = Map::new();
    object.insert("id".into(), Value::String(item.id.clone().unwrap_or_default()));
    array.push(Value::Object(object));
    Ok(format!("{container}/{list}/{}", array.len() - 1))
}

fn ensure_object(plan: &mut Value, pointer: &str) {
    let mut here = plan;
    for step in pointer.split('/').filter(|s| !s.is_empty()) {
        let Value::Object(map) = here else { return };
        here = map.entry(step.to_owned()).or_insert_with(|| Value::Object(Map::new()));
    }
}

/// Sets `a.b.c` inside an object, making the objects on the way.
pub fn set_path(target: &mut Value, path: &str, value: Value) {
    let mut here = target;
    let mut steps = path.split('.').peekable();
    while let Some(step) = steps.next() {
        let Value::Object(map) = here else { return };
        if steps.peek().is_none() {
            map.insert(step.to_owned(), value);
            return;
        }
        here = map.entry(step.to_owned()).or_insert_with(|| Value::Object(Map::new()));
    }
}

/// The PRSB items (`section:path`) this plan has a value for.
pub fn filled(plan: &Value) -> HashSet<String> {
    let mut out = HashSet::new();
    walk(plan, "plan", "", &mut out);
    out
}

fn walk(v: &Value, section: &str, path: &str, out: &mut HashSet<String>) {
    let Value::Object(map) = v else { return };
    for (k, child) in map {
        let here = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
        match child {
            Value::Array(items) if items.iter().any(Value::is_object) => {
                let list = if section == "plan" { here.clone() } else if path.is_empty() { format!("{section}.{k}") } else { format!("{section}.{here}") };
                for item in items {
                    walk(item, &list, "", out);
                }
            }
            Value::Object(_) => {
                out.insert(format!("{section}:{here}"));
                walk(child, section, &here, out);
            }
            Value::Array(a) if a.is_empty() => {}
            Value::String(s) if s.is_empty() => {}
            Value::Null => {}
            _ => {
                out.insert(format!("{section}:{here}"));
            }
        }
    }
}
