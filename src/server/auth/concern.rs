//! Whom a resource concerns, and what it points at: the facts the access
//! layer decides on and the store keeps beside each current version (so a
//! search can be limited to what a requester may see before it runs).
//!
//! - `compartment`: R4's Patient compartment (`compartment.rs`).
//! - `mentioned`: every person a Reference anywhere in the resource names
//!   (`Task.for`, `Observation.focus`, a contained resource's subject):
//!   a resource about a person is that person's, whether or not R4 lists
//!   its type in the compartment, and their consent and its labels apply.
//! - `links`: every resource it refers to, so the shared resources a
//!   person's record points at (their home as a Location, their carers as
//!   Practitioners) can be told apart from everyone else's.

use super::compartment;
use crate::context::Context;
use crate::server::search::index::parse_reference;
use crate::server::search::Registry;
use crate::tree::Node;
use serde_json::Value;
use std::collections::BTreeSet;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Concern {
    /// Patients whose R4 compartment holds the resource.
    pub compartment: BTreeSet<String>,
    /// Patients a reference in the resource names (the compartment's included).
    pub mentioned: BTreeSet<String>,
    /// Every `(type, id)` the resource refers to, up to [`MAX_LINKS`].
    pub links: BTreeSet<(String, String)>,
    /// More references than [`MAX_LINKS`]: `links` is not all of them (the
    /// persons named always are), so what they point at cannot be checked.
    pub truncated: bool,
}

impl Concern {
    /// From a resource's tree (the write path, which has one already).
    pub fn of_tree(ctx: &Context, registry: &Registry, json: &Value, root: &Node) -> Concern {
        let compartment = compartment::patients_in(ctx, registry, json, root);
        Concern::with_compartment(json, compartment)
    }

    /// From a resource's JSON (the read path).
    pub fn of(ctx: &Context, registry: &Registry, json: &Value) -> Concern {
        let compartment = compartment::patients_of(ctx, registry, json);
        Concern::with_compartment(json, compartment)
    }

    fn with_compartment(json: &Value, compartment: BTreeSet<String>) -> Concern {
        let mut found = Found::default();
        collect_references(json, &mut found);
        let own = (json["resourceType"].as_str().unwrap_or_default(), json["id"].as_str().unwrap_or_default());
        let mut links = found.links;
        links.retain(|(t, id)| (t.as_str(), id.as_str()) != own);
        // What every record refers to is no one's, whatever a writer puts in
        // it: a Patient named in an organisation would put the organisation,
        // and every plan that names it, under that person's consent.
        if SHARED_TYPES.contains(&own.0) {
            return Concern { compartment: BTreeSet::new(), mentioned: BTreeSet::new(), links, truncated: found.truncated };
        }
        let mut mentioned = found.patients;
        if own.0 == "Patient" {
            mentioned.remove(own.1);
        }
        mentioned.extend(compartment.iter().cloned());
        Concern { compartment, mentioned, links, truncated: found.truncated }
    }

    /// Everyone the resource concerns: whose consent and labels decide.
    pub fn persons(&self) -> &BTreeSet<String> {
        &self.mentioned
    }
}

/// Types that are never part of one person's record: the organisations,
/// sites, professionals and services every record refers to, the
/// medicines and substances of a formulary, and definitions (of value sets,
/// questionnaires, care pathways). Types that can be one person's (a Device
/// with a `patient`, a Group, a List) are judged by their content.
pub const SHARED_TYPES: &[&str] = &[
    "Organization", "Location", "Practitioner", "PractitionerRole", "HealthcareService", "Endpoint", "OrganizationAffiliation",
    "Medication", "MedicationKnowledge", "Substance", "SubstanceSpecification",
    "ActivityDefinition", "PlanDefinition", "Questionnaire", "Library", "Measure", "ObservationDefinition", "SpecimenDefinition",
    "ValueSet", "CodeSystem", "ConceptMap", "NamingSystem", "StructureDefinition", "SearchParameter", "OperationDefinition", "CapabilityStatement", "ImplementationGuide",
];

/// The most links one resource keeps (a Group of a whole population is
/// not a person's record); past it `Concern::truncated` says so.
pub const MAX_LINKS: usize = 10_000;

#[derive(Default)]
struct Found {
    links: BTreeSet<(String, String)>,
    /// Every Patient named, however many references come before.
    patients: BTreeSet<String>,
    truncated: bool,
}

fn collect_references(value: &Value, out: &mut Found) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match v {
                    Value::String(s) if key == "reference" => {
                        if let Some((t, id)) = parse_reference(s) {
                            if t == "Patient" {
                                out.patients.insert(id.clone());
                            }
                            if out.links.len() < MAX_LINKS {
                                out.links.insert((t, id));
                            } else {
                                out.truncated = true;
                            }
                        }
                    }
                    _ => collect_references(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_references(v, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn references_anywhere_name_the_persons_and_the_links() {
        let task = json!({"resourceType": "Task", "id": "t", "for": {"reference": "Patient/c"}, "owner": {"reference": "Practitioner/gp"},
            "contained": [{"resourceType": "Observation", "subject": {"reference": "Patient/d"}}], "partOf": [{"reference": "Task/t"}]});
        let c = Concern::with_compartment(&task, BTreeSet::new());
        assert_eq!(c.persons().iter().cloned().collect::<Vec<_>>(), ["c", "d"]);
        assert!(c.links.contains(&("Practitioner".into(), "gp".into())));
        assert!(!c.links.contains(&("Task".into(), "t".into())), "a resource does not link to itself");
    }
}
