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
        if self.v.options().skip_invariants {
            return;
        }
        let mut done: smallvec::SmallVec<[&str; 8]> = smallvec::SmallVec::new();
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
        let holds = match self.native(node, inv) {
            Some(result) => Ok(result),
            None => self.evaluate(node, sd, ix, inv, type_name),
        };
        match holds {
            Ok(true) => {}
            Ok(false) => {
                let severity = if inv.best_practice {
                    match self.v.options().best_practice {
                        Some(s) => s,
                        None => return,
                    }
                } else if inv.error {
                    Severity::Error
                } else {
                    Severity::Warning
                };
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

    /// R4's own invariants that stand on every resource, reference or
    /// narrative, decided without the engine. Only where the expression is
    /// R4's very text: a profile that reuses a key with another expression
    /// goes to the engine.
    fn native(&self, node: &Node, inv: &Invariant) -> Option<bool> {
        let text = inv.expression.as_ref().ok()?.source();
        let contained = || node.children_named("contained");
        let meta_has = |c: &Node, name: &str| c.child("meta").is_some_and(|m| m.child(name).is_some());
        Some(match (inv.key.as_str(), text) {
            ("ele-1", "hasValue() or (children().count() > id.count())") => node.value.is_some() || node.children.iter().any(|c| c.name != "id"),
            ("ext-1", "extension.exists() != value.exists()") => {
                node.children.iter().any(|c| c.name == "extension") != node.children.iter().any(|c| c.name.starts_with("value"))
            }
            // The reference validator also counts links from the narrative
            // (`<img src="#id">`), which R4's expression cannot see.
            ("dom-3", _) => contained_are_referenced(node),
            ("dom-2", "contained.contained.empty()") => contained().all(|c| c.child("contained").is_none()),
            ("dom-4", "contained.meta.versionId.empty() and contained.meta.lastUpdated.empty()") => {
                contained().all(|c| !meta_has(c, "versionId") && !meta_has(c, "lastUpdated"))
            }
            ("dom-5", "contained.meta.security.empty()") => contained().all(|c| !meta_has(c, "security")),
            ("dom-6", "text.`div`.exists()") => node.child("text").is_some_and(|t| t.child("div").is_some()),
            // htmlChecks() is the narrative checker's job, done on the div itself.
            ("txt-1" | "txt-2", "htmlChecks()") => true,
            ("qty-3", "code.empty() or system.exists()") => node.child("code").is_none() || node.child("system").is_some(),
            ("att-1", "data.empty() or contentType.exists()") => node.child("data").is_none() || node.child("contentType").is_some(),
            ("ref-1", "reference.startsWith('#').not() or (reference.substring(1).trace('url') in %rootResource.contained.id.trace('ids'))") => {
                match node.child_text("reference").and_then(|r| r.strip_prefix('#')) {
                    None | Some("") => true, // not local, or `#`: the container itself
                    Some(id) => {
                        let root = self.resources.iter().rev().find(|f| f.node.name != "contained").map(|f| f.node);
                        root.is_some_and(|r| r.children_named("contained").any(|c| c.child_text("id") == Some(id)))
                    }
                }
            }
            _ => return None,
        })
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
        env.wide_nodes = Some(&self.wide_nodes);
        let member_of = |system: Option<&str>, code: &str, vs: &str| match self.v.terminology.member(vs, system, code) {
            crate::terminology::Membership::In => Some(true),
            crate::terminology::Membership::NotIn => Some(false),
            crate::terminology::Membership::Unknown(_) => None,
        };
        env.member_of = Some(&member_of);
        let conforms_to = |node: &Node, profile: &str| self.conforms(node, profile);
        env.conforms_to = Some(&conforms_to);
        let result = fhirpath::evaluate_element(expression, node, sd, ix, type_name, &env).map_err(|e| e.message)?;
        Ok(!matches!(result.as_slice(), [Item::Boolean(false)]))
    }
}

/// dom-3: every contained resource is referred to from elsewhere in the
/// resource (a reference, a canonical or uri, or a narrative link), or
/// itself refers to its container (`#`).
fn contained_are_referenced(resource: &Node) -> bool {
    let contained: Vec<&Node> = resource.children_named("contained").collect();
    if contained.is_empty() {
        return true;
    }
    let mut referenced: Vec<String> = Vec::new();
    collect_local_references(resource, &mut referenced);
    contained.iter().all(|c| {
        let Some(id) = c.child_text("id") else { return true };
        referenced.iter().any(|r| r == id) || refers_to_container(c)
    })
}

fn collect_local_references(node: &Node, out: &mut Vec<String>) {
    if let Some(v) = &node.value {
        if v.kind == crate::tree::ValueKind::Xhtml || node.name == "div" {
            // href="#id", src='#id'
            for quote in ['"', '\''] {
                let pattern = format!("{quote}#");
                let mut rest = v.text.as_str();
                while let Some(at) = rest.find(&pattern) {
                    rest = &rest[at + 2..];
                    let end = rest.find(quote).unwrap_or(rest.len());
                    out.push(rest[..end].to_string());
                }
            }
        } else if let Some(local) = v.text.strip_prefix('#') {
            out.push(local.to_string());
        }
    }
    for c in &node.children {
        collect_local_references(c, out);
    }
}

fn refers_to_container(node: &Node) -> bool {
    node.text() == Some("#") || node.children.iter().any(refers_to_container)
}
