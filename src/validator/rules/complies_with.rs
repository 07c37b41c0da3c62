//! Whether one profile complies with another it claims to
//! (`structuredefinition-compliesWithProfile`), as the reference's
//! CompliesWithChecker judges it: over the two snapshots, the root and the
//! elements directly under it (the reference goes no deeper than an element
//! that has types), each element against the claimed one: cardinality,
//! types, error constraints, required and extensible bindings, and the
//! slicing of the claimed profile. Slices are not matched to each other by
//! their discriminator values here.
//!
//! The findings are messages, gathered into one issue by the
//! StructureDefinition rules; `(errors, warnings)`.

use crate::context::Context;
use crate::definition::ElementDefinition;

pub(super) fn compare(ctx: &Context, claimee: &[ElementDefinition], authority: &[ElementDefinition]) -> (Vec<String>, Vec<String>) {
    let mut out = Findings::default();
    let (Some(c_root), Some(a_root)) = (claimee.first(), authority.first()) else { return (vec![], vec![]) };
    element(ctx, &mut out, c_root, a_root, false);
    let root = &a_root.path;
    // The direct children of the root, by name, each with its slices.
    let direct = |list: &'_ [ElementDefinition]| -> Vec<usize> {
        list.iter().enumerate().filter(|(_, e)| e.path.strip_prefix(root.as_str()).and_then(|r| r.strip_prefix('.')).is_some_and(|n| !n.contains('.'))).map(|(i, _)| i).collect()
    };
    let c_direct = direct(claimee);
    for ai in direct(authority) {
        let a = &authority[ai];
        if a.slice_name.is_some() {
            continue;
        }
        let name = a.path.rsplit('.').next().unwrap_or(&a.path);
        let c_path = format!("{}.{name}", c_root.path);
        let Some(ci) = c_direct.iter().copied().find(|&i| claimee[i].path == c_path && claimee[i].slice_name.is_none()) else {
            // PROFILE_COMPLIES_WITH_MISSING
            out.errors.push(format!("There is no profile entry for the element {} that is found in the claimed profile", a.path));
            continue;
        };
        let c = &claimee[ci];
        let c_slices: Vec<&ElementDefinition> = c_direct.iter().map(|&i| &claimee[i]).filter(|e| e.path == c_path && e.slice_name.is_some()).collect();
        let a_slices: Vec<&ElementDefinition> = direct(authority).into_iter().map(|i| &authority[i]).filter(|e| e.path == a.path && e.slice_name.is_some()).collect();
        if a.slicing.is_some() || c.slicing.is_some() {
            if c_slices.is_empty() {
                if !a_slices.is_empty() {
                    let closed = a.slicing.as_ref().and_then(|s| s.rules.as_deref()) == Some("closed");
                    if closed || a_slices.iter().any(|s| s.min.unwrap_or(0) > 0) {
                        // PROFILE_COMPLIES_WITH_SLICING_UNSLICED
                        out.errors.push(format!("Mismatch in slicing at {c_path}: no slicing found when the claimed profile has slicing"));
                    }
                }
                element(ctx, &mut out, c, a, false);
            } else if a_slices.is_empty() {
                for s in c_slices {
                    element(ctx, &mut out, s, a, true);
                }
            } else {
                slicing(&mut out, &c_path, c, a);
            }
        } else {
            element(ctx, &mut out, c, a, false);
        }
    }
    (out.errors, out.warnings)
}

#[derive(Default)]
struct Findings {
    errors: Vec<String>,
    warnings: Vec<String>,
}

fn max_of(e: &ElementDefinition) -> u64 {
    match e.max.as_deref() {
        Some("*") | None => u64::MAX,
        Some(m) => m.parse().unwrap_or(u64::MAX),
    }
}

fn not_valid(out: &mut Findings, what: &str, authority: &str, claimee: &str, id: &str) {
    // PROFILE_COMPLIES_WITH_NOT_VALID
    out.errors.push(format!("The {what} value of '{claimee}' on the path {id} does not comply with the value '{authority}' from the claimed profile"));
}

/// The slicing of an element sliced in both: rules, order and discriminators.
fn slicing(out: &mut Findings, path: &str, c: &ElementDefinition, a: &ElementDefinition) {
    let (Some(cs), Some(as_)) = (&c.slicing, &a.slicing) else { return };
    let rules = |r: &Option<String>| r.clone().unwrap_or_else(|| "open".into());
    let (ar, cr) = (rules(&as_.rules), rules(&cs.rules));
    if !(ar == "open" || cr == ar) {
        // PROFILE_COMPLIES_WITH_SLICING_RULES
        out.errors.push(format!("Mismatch in slicing rules at {path}: '{cr}' when the claimed profile has '{ar}'"));
    } else if as_.ordered && !cs.ordered {
        // PROFILE_COMPLIES_WITH_SLICING_ORDER
        out.errors.push(format!("Mismatch in slicing rules at {path}: not ordered when the claimed profile has ordered"));
    } else if let Some(ad) = as_.discriminator.iter().find(|ad| !cs.discriminator.iter().any(|cd| cd.kind == ad.kind && cd.path == ad.path)) {
        // PROFILE_COMPLIES_WITH_SLICING_DISCRIMINATOR
        out.errors.push(format!("Mismatch in slicing rules at {path}: the discriminator '{path}:{}' was not found", ad.kind));
    }
}

/// One element against the claimed profile's.
fn element(ctx: &Context, out: &mut Findings, c: &ElementDefinition, a: &ElementDefinition, in_slice: bool) {
    let id = c.id.as_deref().unwrap_or(&c.path);
    if !in_slice && a.min.unwrap_or(0) > c.min.unwrap_or(0) {
        not_valid(out, "min", &a.min.unwrap_or(0).to_string(), &c.min.unwrap_or(0).to_string(), id);
    }
    if max_of(a) < max_of(c) {
        not_valid(out, "max", a.max.as_deref().unwrap_or("null"), c.max.as_deref().unwrap_or("null"), id);
    }
    if c.base.as_ref().map(|b| b.path.as_str()) != Some("Resource.id") {
        for t in &c.types {
            if !a.types.iter().any(|at| at.code == t.code) {
                // PROFILE_COMPLIES_WITH_BAD_TYPE
                out.errors.push(format!("The type '{}' is not allowed in the claimed profile", t.code));
            }
        }
    }
    for ac in a.constraint.iter().filter(|k| k.severity.as_deref() == Some("error")) {
        let held = c.constraint.iter().any(|k| k.severity.as_deref() == Some("error") && k.expression == ac.expression);
        if !held {
            // PROFILE_COMPLIES_WITH_MISSING_ELEMENT
            out.errors.push(format!("The constraint '{}' is defined in the claimed profile, but missing", ac.expression.as_deref().unwrap_or("null")));
        }
    }
    let Some(ab) = &a.binding else { return };
    let Some(avs) = &ab.value_set else { return };
    if !matches!(ab.strength.as_str(), "required" | "extensible") {
        return;
    }
    match &c.binding {
        None => {
            let bindable = c.types.iter().any(|t| matches!(t.code.as_str(), "code" | "Coding" | "CodeableConcept" | "Quantity" | "string" | "uri" | "CodeableReference"));
            if bindable {
                not_valid(out, "binding", avs, "null", id);
            }
        }
        Some(cb) if !matches!(cb.strength.as_str(), "required" | "extensible") || (cb.strength == "extensible" && ab.strength == "required") => {
            not_valid(out, "binding.strength", &ab.strength, &cb.strength, id);
        }
        Some(cb) => {
            let Some(cvs) = &cb.value_set else { return };
            if cvs == avs {
                return;
            }
            let base = |u: &str| u.split('|').next().unwrap_or(u).to_owned();
            if ctx.value_set(&base(avs)).is_none() {
                // PROFILE_COMPLIES_WITH_NO_VS
                out.warnings.push(format!("The ValueSet '{avs}' cannot be found so the claim cannot be checked"));
            } else if ctx.value_set(&base(cvs)).is_none() {
                // PROFILE_COMPLIES_WITH_NO_VS
                out.warnings.push(format!("The ValueSet '{cvs}' cannot be found so the claim cannot be checked"));
            }
        }
    }
}
