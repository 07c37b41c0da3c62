//! Invariants: every `constraint` of the element definitions a node meets,
//! evaluated with the FHIRPath engine. `ele-1` and `ext-1`, which stand on
//! nearly every element, are decided natively to the same effect.

use super::element::Walk;
use crate::fhirpath::{self, EvalContext, Item};
use crate::issue::{Issue, IssueCode, Severity};
use crate::structure::{CoreInvariant, Invariant, StructureDef};
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
                // Keys are unique within one definition: only several need sorting out.
                if defs.len() > 1 {
                    if done.contains(&inv.key.as_str()) {
                        continue;
                    }
                    done.push(&inv.key);
                }
                // The walk against the type has evaluated what it defines.
                if self.in_profile() && inv.inherited {
                    continue;
                }
                self.invariant(node, sd, ix, inv, type_name);
            }
        }
    }

    fn invariant(&mut self, node: &'n Node, sd: &Arc<StructureDef>, ix: usize, inv: &Invariant, type_name: &str) {
        let holds = match self.native(node, inv, type_name) {
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
                // The core definition an inherited constraint comes from; a
                // profile's own constraints are named by the issue's source, so
                // the same failure found by two walks reads the same.
                let defined_in = match &inv.source {
                    Some(src) if *src != sd.url && src.starts_with(crate::context::CORE_SD_BASE) => format!(" (defined in {src})"),
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

    /// R4's everyday invariants, decided without the engine (see [`CoreInvariant`]).
    fn native(&self, node: &Node, inv: &Invariant, type_name: &str) -> Option<bool> {
        let contained = || node.children_named("contained");
        let meta_has = |c: &Node, name: &str| c.child("meta").is_some_and(|m| m.child(name).is_some());
        Some(match inv.native? {
            // A primitive's value is its own, never a child: an XML `<value>`
            // element inside one is unknown (reported as such) and no content.
            CoreInvariant::Ele1 => {
                let primitive = super::is_primitive_type(type_name);
                node.value.is_some() || node.children.iter().any(|c| c.name != "id" && !(primitive && c.name == "value"))
            }
            CoreInvariant::Ext1 => node.children.iter().any(|c| c.name == "extension") != node.children.iter().any(|c| c.name.starts_with("value")),
            // dom-3 is the resource rule `rules::resource`, reported on each
            // orphan as the reference reports it, never as the invariant.
            CoreInvariant::Dom3 => true,
            CoreInvariant::Dom2 => contained().all(|c| c.child("contained").is_none()),
            CoreInvariant::Dom4 => contained().all(|c| !meta_has(c, "versionId") && !meta_has(c, "lastUpdated")),
            CoreInvariant::Dom5 => contained().all(|c| !meta_has(c, "security")),
            CoreInvariant::Dom6 => node.child("text").is_some_and(|t| t.child("div").is_some()),
            CoreInvariant::HtmlChecks => true,
            CoreInvariant::Bdl3 | CoreInvariant::Bdl4 => {
                // Entries have a request (a response) exactly when the Bundle's type needs one.
                let (part, types): (&str, [&str; 3]) = match inv.native? {
                    CoreInvariant::Bdl3 => ("request", ["batch", "transaction", "history"]),
                    _ => ("response", ["batch-response", "transaction-response", "history"]),
                };
                let needed = node.child_text("type").map(|t| types.contains(&t));
                node.children_named("entry").all(|e| needed == Some(e.child(part).is_some()))
            }
            CoreInvariant::Bdl5 => ["resource", "request", "response"].iter().any(|c| node.child(c).is_some()),
            CoreInvariant::Bdl7 => {
                // Unless a history, fullUrl (with the version, when there is one) is unique.
                let kind = node.child_text("type");
                if kind == Some("history") {
                    return Some(true);
                }
                let mut seen = std::collections::HashSet::new();
                let distinct = node.children_named("entry").filter(|e| e.child("fullUrl").is_some()).all(|e| {
                    let version = e.descend("resource.meta.versionId").and_then(Node::text).unwrap_or("");
                    seen.insert(format!("{}{version}", e.child_text("fullUrl").unwrap_or("")))
                });
                // `{} or false` is empty, and an empty result does not fail.
                distinct || kind.is_none()
            }
            CoreInvariant::Bdl8 => !node.child_text("fullUrl").is_some_and(|u| u.contains("/_history/")),
            CoreInvariant::Qty3 => node.child("code").is_none() || node.child("system").is_some(),
            CoreInvariant::Att1 => node.child("data").is_none() || node.child("contentType").is_some(),
            CoreInvariant::Ref1 => match node.child_text("reference").and_then(|r| r.strip_prefix('#')) {
                None | Some("") => true, // not local, or `#`: the container itself
                Some(id) => {
                    // The frame's map of contained ids: a resource may hold thousands, each referred to.
                    self.resources.iter().rev().find(|f| f.node.name != "contained").is_some_and(|f| f.contained.contains_key(id))
                }
            },
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
        env.cache = Some(&self.eval_cache);
        // A value set that cannot be read leaves memberOf() unanswered: a
        // constraint that then fails was not decided by the content.
        let undecided: std::cell::RefCell<Option<String>> = std::cell::RefCell::new(None);
        let member_of = |system: Option<&str>, code: &str, vs: &str| match self.v.terminology.member(vs, system, code) {
            crate::terminology::Membership::In => Some(true),
            crate::terminology::Membership::NotIn => Some(false),
            crate::terminology::Membership::Unknown(_) => {
                undecided.borrow_mut().get_or_insert_with(|| vs.to_owned());
                None
            }
        };
        env.member_of = Some(&member_of);
        let conforms_to = |node: &Node, profile: &str| self.conforms(node, profile);
        env.conforms_to = Some(&conforms_to);
        let result = fhirpath::evaluate_element(expression, node, sd, ix, type_name, &env).map_err(|e| e.message)?;
        let holds = !matches!(result.as_slice(), [Item::Boolean(false)]);
        match undecided.into_inner() {
            Some(vs) if !holds => Err(format!("memberOf('{vs}') could not be evaluated: the value set is not in the loaded packages, or cannot be expanded here")),
            _ => Ok(holds),
        }
    }
}

