//! Questionnaire and QuestionnaireResponse rules.

use crate::tree::Node;
use crate::validator::element::Walk;

/// A QuestionnaireResponse against the Questionnaire it answers.
pub(super) fn check_response(_walk: &mut Walk<'_, '_>, _node: &Node) {}

/// A Questionnaire's own rules beyond its invariants.
pub(super) fn check_questionnaire(_walk: &mut Walk<'_, '_>, _node: &Node) {}
