//! The Patient compartment of FHIR R4 (CompartmentDefinition/patient):
//! which persons a resource belongs to. A resource is in Patient X's
//! compartment when it is Patient X, or when one of the search parameters
//! the definition lists for its type (CarePlan: `patient`, `performer`)
//! refers to `Patient/X`. The parameters' FHIRPath expressions are those of
//! the search registry, evaluated on the resource itself (so an old version
//! in a history is judged by what it said then).

use crate::server::search::index::parse_reference;
use crate::server::search::Registry;
use crate::context::Context;
use crate::fhirpath::{self, EvalContext, Item};
use crate::tree::Node;
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::sync::OnceLock;

const DEFINITION: &str = include_str!("patient-compartment.json");

/// Resource type → the parameters that put it in a Patient compartment.
pub fn params() -> &'static HashMap<String, Vec<String>> {
    static PARAMS: OnceLock<HashMap<String, Vec<String>>> = OnceLock::new();
    PARAMS.get_or_init(|| {
        let v: Value = serde_json::from_str(DEFINITION).unwrap_or(Value::Null);
        v["resource"]
            .as_object()
            .map(|m| m.iter().map(|(k, ps)| (k.clone(), ps.as_array().map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect()).unwrap_or_default())).collect())
            .unwrap_or_default()
    })
}

/// Whether resources of this type can belong to a person.
pub fn is_compartment_type(res_type: &str) -> bool {
    res_type == "Patient" || params().contains_key(res_type)
}

/// The ids of the patients whose compartment holds this resource.
pub fn patients_of(ctx: &Context, registry: &Registry, json: &Value) -> BTreeSet<String> {
    let Some(res_type) = json.get("resourceType").and_then(Value::as_str) else { return BTreeSet::new() };
    if !params().contains_key(res_type) {
        // Patient is its own compartment; other types outside the definition have none.
        return json.get("id").and_then(Value::as_str).filter(|_| res_type == "Patient").map(str::to_string).into_iter().collect();
    }
    let Ok(bytes) = serde_json::to_vec(json) else { return BTreeSet::new() };
    let doc = crate::parse::parse(&bytes, Some(crate::tree::Format::Json));
    match doc.root.as_ref() {
        Some(root) => patients_in(ctx, registry, json, root),
        None => BTreeSet::new(),
    }
}

/// [`patients_of`] on the resource's tree, when the caller has it.
pub fn patients_in(ctx: &Context, registry: &Registry, json: &Value, root: &Node) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let Some(res_type) = json.get("resourceType").and_then(Value::as_str) else { return out };
    if res_type == "Patient" {
        if let Some(id) = json.get("id").and_then(Value::as_str) {
            out.insert(id.to_string());
        }
    }
    let Some(codes) = params().get(res_type) else { return out };
    let env = EvalContext::new(ctx);
    for code in codes {
        let Some(param) = registry.param(res_type, code) else { continue };
        for path in &param.paths {
            let Ok(items) = fhirpath::evaluate(&path.expression, root, res_type, &env) else { continue };
            for item in &items {
                let reference = match item {
                    Item::Node { node, .. } => node.child_text("reference").or_else(|| node.text()).map(str::to_string),
                    other => other.text(),
                };
                if let Some((t, id)) = reference.as_deref().and_then(parse_reference) {
                    if t == "Patient" {
                        out.insert(id);
                    }
                }
            }
        }
    }
    out
}
