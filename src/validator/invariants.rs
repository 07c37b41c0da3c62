//! Invariants: every `constraint` of the element definitions a node meets,
//! evaluated with the FHIRPath engine. `ele-1` and `ext-1`, which stand on
//! nearly every element, are decided natively to the same effect.

use super::element::Walk;
use crate::context::CORE_SD_BASE;
use crate::fhirpath::{self, EvalContext, Item};
use crate::issue::{Issue, IssueCode, Severity};
use crate::structure::{Invariant, StructureDef};
use crate::tree::Node;
use std::sync::Arc;

impl<'v, 'n> Walk<'v, 'n> {
    /// The invariants of each definition in `defs` (an element and the root
    /// of its type, say) on `node`, each key once.
    pub(super) fn invariants(&mut self, node: &'n Node, defs: &[(&Arc<StructureDef>, usize)], type_name: &str) {
        let mut done: Vec<&str> = Vec::new();
        for &(sd, ix) in defs {
            for inv in &sd.elements[ix].invariants {
                if done.contains(&inv.key.as_str()) {
                    continue;
                }
                done.push(&inv.key);
                // The base walk has evaluated what the core definitions say.
                if self.in_profile() && inv.source.as_deref().is_some_and(|s| s.starts_with(CORE_SD_BASE)) {
                    continue;
                }
                self.invariant(node, sd, ix, inv, type_name);
            }
        }
    }

    fn invariant(&mut self, node: &'n Node, sd: &Arc<StructureDef>, ix: usize, inv: &Invariant, type_name: &str) {
        let holds = match inv.key.as_str() {
            "ele-1" => Ok(node.value.is_some() || node.children.iter().any(|c| c.name != "id")),
            "ext-1" => Ok(node.children.iter().any(|c| c.name == "extension") != node.children.iter().any(|c| c.name.starts_with("value"))),
            _ => self.evaluate(node, sd, ix, inv, type_name),
        };
        match holds {
            Ok(true) => {}
            Ok(false) => {
                let severity = if inv.best_practice || !inv.error { Severity::Warning } else { Severity::Error };
                let defined_in = match &inv.source {
                    Some(src) if *src != sd.url => format!(" (defined in {src})"),
                    _ => String::new(),
                };
                let msg = format!("Constraint failed: {}: '{}'{defined_in}", inv.key, inv.human);
                let expr = self.path.render();
                self.report(node, Issue::new(severity, IssueCode::Invariant, expr, msg).rule(inv.key.clone()));
            }
            Err(problem) => {
                let expr = self.path.render();
                let msg = format!("The constraint {} could not be checked: {problem}", inv.key);
                self.report(node, Issue::warning(IssueCode::Processing, expr, msg).rule(inv.key.clone()));
            }
        }
    }

    /// Whether the invariant holds: it fails only on a `false`.
    fn evaluate(&self, node: &'n Node, sd: &Arc<StructureDef>, ix: usize, inv: &Invariant, type_name: &str) -> Result<bool, String> {
        let expression = inv.expression.as_ref().map_err(|e| format!("its expression does not parse ({e})"))?;
        let resource = self.resources.last().map(|f| f.node);
        // %rootResource: a contained resource's container; otherwise the resource itself.
        let root_resource = self.resources.iter().rev().find(|f| f.node.name != "contained").map(|f| f.node).or(resource);
        let mut env = EvalContext::new(self.ctx);
        env.resource = resource;
        env.root_resource = root_resource;
        env.bundle = self.bundles.last().map(|b| b.node);
        let result = fhirpath::evaluate_element(expression, node, sd, ix, type_name, &env).map_err(|e| e.message)?;
        Ok(!matches!(result.as_slice(), [Item::Boolean(false)]))
    }
}
