//! Whether one profile complies with another it claims to
//! (`structuredefinition-compliesWithProfile`), as the reference's
//! CompliesWithChecker judges it: over the two snapshots, the root and the
//! elements directly under it (the reference goes no deeper than an element
//! that has types), each element against the claimed one: cardinality,
//! types, error constraints, required and extensible bindings, and the
//! slicing of the claimed profile, whose slices are matched to the
//! claimee's by the values the claimed discriminators give (fixed and
//! pattern values, required bindings' codes, types and profiles).
//!
//! The findings are messages, gathered into one issue by the
//! StructureDefinition rules; `(errors, warnings)`.

use crate::context::Context;
use crate::definition::ElementDefinition;
use crate::terminology::Terminology;
use std::collections::HashMap;

/// A snapshot's elements by id, made once per comparison: a discriminator's
/// path is looked up for every slice, and a scan of the snapshot for each was
/// quadratic in the claimant's slices (the thirty-third pass's Y2).
type ById<'e> = HashMap<&'e str, &'e ElementDefinition>;

fn by_id(list: &[ElementDefinition]) -> ById<'_> {
    list.iter().filter_map(|e| e.id.as_deref().map(|id| (id, e))).collect()
}

pub(super) fn compare(ctx: &Context, tx: &Terminology, claimee: &[ElementDefinition], authority: &[ElementDefinition]) -> (Vec<String>, Vec<String>) {
    let mut out = Findings::default();
    let ctx = Ctx { defs: ctx, tx };
    let (Some(c_root), Some(a_root)) = (claimee.first(), authority.first()) else { return (vec![], vec![]) };
    element(ctx, &mut out, c_root, a_root, false);
    let root = &a_root.path;
    // The direct children of the root, by name, each with its slices.
    let direct = |list: &'_ [ElementDefinition]| -> Vec<usize> {
        list.iter().enumerate().filter(|(_, e)| e.path.strip_prefix(root.as_str()).and_then(|r| r.strip_prefix('.')).is_some_and(|n| !n.contains('.'))).map(|(i, _)| i).collect()
    };
    let c_direct = direct(claimee);
    let (c_ids, a_ids) = (by_id(claimee), by_id(authority));
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
            } else if slicing(&mut out, &c_path, c, a) {
                by_discriminator(ctx, &mut out, &c_path, a, (c_slices.as_slice(), &c_ids), (a_slices.as_slice(), &a_ids));
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
/// Whether the slicing complies (the slices are then matched by their discriminator values).
fn slicing(out: &mut Findings, path: &str, c: &ElementDefinition, a: &ElementDefinition) -> bool {
    let (Some(cs), Some(as_)) = (&c.slicing, &a.slicing) else { return false };
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
    } else {
        return true;
    }
    false
}

/// One element against the claimed profile's.
fn element(ctx: Ctx<'_>, out: &mut Findings, c: &ElementDefinition, a: &ElementDefinition, in_slice: bool) {
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
            let (Some(a_vs), Some(c_vs)) = (ctx.defs.value_set(&base(avs)), ctx.defs.value_set(&base(cvs))) else {
                // PROFILE_COMPLIES_WITH_NO_VS
                let missing = if ctx.defs.value_set(&base(avs)).is_none() { avs } else { cvs };
                out.warnings.push(format!("The ValueSet '{missing}' cannot be found so the claim cannot be checked"));
                return;
            };
            let versioned = |vs: &crate::definition::ValueSet, fallback: &str| match (&vs.url, &vs.version) {
                (Some(u), Some(v)) => format!("{u}|{v}"),
                (Some(u), None) => u.clone(),
                _ => fallback.to_owned(),
            };
            let (a_url, c_url) = (versioned(&a_vs, avs), versioned(&c_vs, cvs));
            if a_url == c_url {
                return;
            }
            value_set_subset(ctx, out, (&c_url, &base(cvs)), (&a_url, &base(avs)), cb.strength == "required");
        }
    }
}

/// The definitions and the terminology the comparison reads.
#[derive(Clone, Copy)]
struct Ctx<'a> {
    defs: &'a Context,
    tx: &'a Terminology,
}

/// A binding's value set against the claimed profile's, both expanded from
/// the loaded definitions: every code of the first must be in the second.
/// Each side is (versioned url, url).
fn value_set_subset(ctx: Ctx<'_>, out: &mut Findings, claimee: (&str, &str), authority: (&str, &str), required: bool) {
    let expand = |url: &str| match ctx.tx.expand(url) {
        Some(e) if e.complete => Ok(e),
        Some(e) => Err(format!("the codes of {} cannot be listed without a terminology server", e.open_systems.join(", "))),
        None => Err("it cannot be expanded from the loaded definitions".to_owned()),
    };
    let (c_exp, a_exp) = (expand(claimee.1), expand(authority.1));
    let (c_exp, a_exp) = match (c_exp, a_exp) {
        (Ok(c), Ok(a)) => (c, a),
        (c, a) => {
            for (url, outcome) in [(authority.0, a.err()), (claimee.0, c.err())] {
                if let Some(why) = outcome {
                    // PROFILE_COMPLIES_WITH_NO_VS_EXP
                    out.warnings.push(format!("The ValueSet '{url}' cannot be expanded so the claim cannot be checked: {why}"));
                }
            }
            return;
        }
    };
    let mut wrong: Vec<&str> = c_exp.codes().filter(|(system, code)| !a_exp.contains(system, code)).map(|(_, code)| code.as_str()).collect();
    if wrong.is_empty() {
        return;
    }
    wrong.sort_unstable();
    wrong.dedup();
    // As the reference lists them: four, then "etc".
    let listed = if wrong.len() >= 5 { format!("{}, etc", wrong[..4].join(", ")) } else { wrong.join(", ") };
    // PROFILE_COMPLIES_WITH_NO_VS_NO
    let msg = format!("The valueSet {} includes codes not allowed in the claimed profile which has value set {} (codes: {listed})", claimee.0, authority.0);
    if required {
        out.errors.push(msg);
    } else {
        out.warnings.push(msg);
    }
}

/// What a slice gives at a discriminator's path.
enum Discriminated {
    /// A fixed or pattern value (type suffix, value), or a type or profile named.
    Value(String, serde_json::Value),
    /// The codes of a required binding's value set (url, expansion).
    Codes(String, std::sync::Arc<crate::terminology::Expansion>),
}

impl Discriminated {
    /// As the reference lists it: a primitive as `TypeType[value]`.
    fn describe(&self) -> String {
        match self {
            Discriminated::Value(t, serde_json::Value::String(v)) => {
                let mut chars = t.chars();
                let name = chars.next().map(|f| f.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default();
                format!("{name}Type[{v}]")
            }
            Discriminated::Value(_, v) => v.to_string(),
            Discriminated::Codes(url, _) => url.clone(),
        }
    }
}

/// The element at a discriminator's path inside a slice (`$this`: the slice).
fn at_path<'e>(slice: &'e ElementDefinition, ids: &ById<'e>, path: &str) -> Option<&'e ElementDefinition> {
    if path == "$this" {
        return Some(slice);
    }
    let id = format!("{}.{path}", slice.id.as_deref()?);
    ids.get(id.as_str()).copied()
}

/// A slice's value for one discriminator, as the reference reads it.
fn discriminated<'e>(ctx: Ctx<'_>, out: &mut Findings, slice: &'e ElementDefinition, ids: &ById<'e>, d: &crate::definition::Discriminator) -> Option<Discriminated> {
    let e = at_path(slice, ids, &d.path)?;
    match d.kind.as_str() {
        "type" => Some(Discriminated::Value("string".into(), serde_json::Value::String(e.types.iter().map(|t| t.code.as_str()).collect::<Vec<_>>().join(" | ")))),
        "profile" => e.types.first().and_then(|t| t.profile.first()).map(|p| Discriminated::Value("canonical".into(), serde_json::Value::String(p.clone()))),
        "exists" => Some(Discriminated::Value("boolean".into(), serde_json::Value::Bool(e.max.as_deref() == Some("1")))),
        "value" | "pattern" => {
            if let Some((t, v)) = e.choice("fixed").or_else(|| e.choice("pattern")) {
                return Some(Discriminated::Value(t.to_owned(), v.clone()));
            }
            if let Some(vs) = e.binding.as_ref().filter(|b| b.strength == "required").and_then(|b| b.value_set.as_deref()) {
                let url = vs.split('|').next().unwrap_or(vs);
                return match ctx.tx.expand(url) {
                    Some(exp) if exp.complete => Some(Discriminated::Codes(vs.to_owned(), exp)),
                    other => {
                        let why = match other {
                            Some(exp) => format!("the codes of {} cannot be listed without a terminology server", exp.open_systems.join(", ")),
                            None => "it cannot be expanded from the loaded definitions".to_owned(),
                        };
                        // PROFILE_COMPLIES_WITH_SLICING_NO_EXPAND
                        push_once(&mut out.warnings, format!("The ValueSet '{vs}' cannot be expanded so the claim cannot be checked ('{why}')"));
                        None
                    }
                };
            }
            // PROFILE_COMPLIES_WITH_SLICING_NO_VALUE
            push_once(&mut out.errors, "No fixed or pattern value or required binding was found, so the claim cannot be checked".to_owned());
            None
        }
        _ => None,
    }
}

fn push_once(list: &mut Vec<String>, msg: String) {
    if !list.contains(&msg) {
        list.push(msg);
    }
}

/// Whether a claimee slice's value meets the claimed slice's for one discriminator.
fn same(ctx: Ctx<'_>, kind: &str, authority: Option<&Discriminated>, claimee: Option<&Discriminated>) -> bool {
    match (authority, claimee) {
        (None, None) => true,
        (None, _) | (_, None) => false,
        // The reference matches no `exists` discriminator.
        _ if kind == "exists" => false,
        (Some(Discriminated::Value(_, a)), Some(Discriminated::Value(_, c))) if kind == "profile" => {
            // The claimee's profile, or one it derives from, is the claimed one.
            let (Some(a), Some(c)) = (a.as_str(), c.as_str()) else { return false };
            let mut url = Some(c.to_owned());
            let mut steps = 0;
            while let Some(u) = url.take() {
                if u == a || u.split('|').next() == Some(a) {
                    return true;
                }
                steps += 1;
                if steps > 32 {
                    break;
                }
                url = ctx.defs.resource_json(&u).and_then(|sd| sd.get("baseDefinition").and_then(serde_json::Value::as_str).map(str::to_owned));
            }
            false
        }
        (Some(Discriminated::Value(at, a)), Some(Discriminated::Value(ct, c))) => at == ct && a == c,
        (Some(Discriminated::Codes(_, a)), Some(Discriminated::Codes(_, c))) => c.codes().any(|(system, code)| a.contains(system, code)),
        _ => false,
    }
}

/// The slices of an element sliced in both profiles, matched by the values
/// the claimed profile's discriminators give: each claimed slice must have
/// a match (unless the claimed slicing is closed), and a slice the claimed
/// profile does not have is refused unless its slicing is open. Each side is
/// (slices, the whole element list).
fn by_discriminator<'e>(
    ctx: Ctx<'_>,
    out: &mut Findings,
    path: &str,
    a: &ElementDefinition,
    claimee: (&[&'e ElementDefinition], &ById<'e>),
    authority: (&[&'e ElementDefinition], &ById<'e>),
) {
    let Some(slicing) = &a.slicing else { return };
    let discriminators = &slicing.discriminator;
    let described = discriminators.iter().map(|d| format!("{}:{}", d.kind, d.path)).collect::<Vec<_>>().join("|");
    let mut processed = vec![false; claimee.0.len()];
    // Each claimant slice's values, read once (not once per claimed slice).
    let found_all: Vec<Vec<Option<Discriminated>>> = claimee.0.iter().map(|c_slice| discriminators.iter().map(|d| discriminated(ctx, out, c_slice, claimee.1, d)).collect()).collect();
    for a_slice in authority.0 {
        let slice_path = format!("{path}:{}", a_slice.slice_name.as_deref().unwrap_or(""));
        let wanted: Vec<Option<Discriminated>> = discriminators.iter().map(|d| discriminated(ctx, out, a_slice, authority.1, d)).collect();
        let mut matched = Vec::new();
        for (i, found) in found_all.iter().enumerate() {
            if discriminators.iter().zip(wanted.iter().zip(found)).all(|(d, (w, f))| same(ctx, &d.kind, w.as_ref(), f.as_ref())) {
                matched.push(i);
            }
        }
        let slice_closed = a_slice.slicing.as_ref().and_then(|s| s.rules.as_deref()) == Some("closed");
        if matched.is_empty() && !slice_closed {
            let values = wanted.iter().flatten().map(Discriminated::describe).collect::<Vec<_>>().join("|");
            // PROFILE_COMPLIES_WITH_SLICING_NO_SLICE
            out.errors.push(format!("Mismatch in slicing at {slice_path}: no slice found for the discriminator {described} with the values {values}"));
        }
        for i in matched {
            processed[i] = true;
            element(ctx, out, claimee.0[i], a_slice, false);
        }
    }
    let open = slicing.rules.as_deref().is_none_or(|r| r == "open");
    for (i, c_slice) in claimee.0.iter().enumerate() {
        if processed[i] {
            continue;
        }
        if !open {
            // PROFILE_COMPLIES_WITH_SLICING_EXTRA_SLICE
            out.errors.push(format!("Mismatch in slicing at {path}: extra slice '{}' not found in the claimed profile", c_slice.slice_name.as_deref().unwrap_or("")));
        }
        element(ctx, out, c_slice, a, true);
    }
}
