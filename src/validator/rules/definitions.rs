//! StructureDefinition and SearchParameter rules.

use crate::tree::Node;
use crate::validator::element::Walk;

/// A StructureDefinition against its base and the rules of snapshot generation.
pub(super) fn check_structure_definition(_walk: &mut Walk<'_, '_>, _node: &Node) {}

/// A SearchParameter against what it derives from.
pub(super) fn check_search_parameter(_walk: &mut Walk<'_, '_>, _node: &Node) {}
