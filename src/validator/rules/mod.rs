//! Rules that belong to one kind of resource and that no StructureDefinition
//! can express: a QuestionnaireResponse against its Questionnaire, a
//! MeasureReport against its Measure, a StructureDefinition or
//! SearchParameter against what it derives from.
//! Each module owns one resource type; `Walk::resource_rules` dispatches.
//! Rule families of a data type wherever it appears (`quantity.rs`) and of
//! content in strings (`string_content.rs`) are called from the walk.

use super::element::Walk;
use crate::tree::Node;

pub(super) mod bundle;
mod canonical_resource;
mod capability_statement;
mod code_system;
pub(super) mod coding;
mod complies_with;
mod concept_map;
pub(super) mod datatypes;
pub(super) mod extensions;
pub(super) mod fixed_values;
pub(super) mod references;
mod structure_definition;
mod element_rules;
mod implementation_guide;
pub(super) mod matchetype;
pub(crate) mod must_support;
mod measure;
mod observation;
mod operation_definition;
mod parameters;
mod questionnaire;
mod questionnaire_answers;
mod questionnaire_definition;
mod questionnaire_enable_when;
mod questionnaire_item_rules;
mod resource;
pub(super) mod quantity;
mod search_parameter;
mod shareable;
mod signature;
mod signature_xml;
mod structure_map;
pub(super) mod text_link;
pub(super) mod type_regex;
pub mod string_content;
pub(super) mod value_rules;
mod value_set;

/// The id rule (`--resource-id-rule`) on the resource validated.
pub(super) fn resource_id_rule(walk: &mut Walk<'_, '_>, node: &Node) {
    resource::id_rule(walk, node);
}

impl<'v, 'n> Walk<'v, 'n> {
    /// The resource-specific rules, after the resource's structure is walked.
    pub(crate) fn resource_rules(&mut self, node: &'n Node, type_name: &str) {
        resource::check(self, node);
        matchetype::check_resource(self, node);
        canonical_resource::check(self, node, type_name);
        shareable::check(self, node, type_name);
        match type_name {
            "QuestionnaireResponse" => questionnaire::check_response(self, node),
            "Questionnaire" => questionnaire::check_questionnaire(self, node),
            "StructureDefinition" => structure_definition::check_structure_definition(self, node),
            "SearchParameter" => search_parameter::check_search_parameter(self, node),
            "MeasureReport" => measure::check_measure_report(self, node),
            "Measure" => measure::check_measure(self, node),
            "CodeSystem" => code_system::check_code_system(self, node),
            "ValueSet" => value_set::check_value_set(self, node),
            "ConceptMap" => concept_map::check_concept_map(self, node),
            "Bundle" => signature::check_bundle_signature(self, node),
            "StructureMap" => structure_map::check_structure_map(self, node),
            "Observation" => observation::check_observation(self, node),
            "ImplementationGuide" => implementation_guide::check_implementation_guide(self, node),
            "CapabilityStatement" => capability_statement::check_capability_statement(self, node),
            "OperationDefinition" => operation_definition::check_operation_definition(self, node),
            "Parameters" => parameters::check_parameters(self, node),
            _ => {}
        }
    }
}
