//! SearchParameter rules: a composite has components, a derived parameter
//! keeps the type and the bases of what it derives from, and the expression
//! starts from one of the bases (as far as that can be seen without a
//! FHIRPath engine: the type each `|` branch starts with).

use crate::context::CORE_SD_BASE;
use crate::issue::{quoted, IssueCode};
use crate::tree::Node;
use crate::validator::element::Walk;
use std::collections::HashSet;

/// A SearchParameter against what it derives from.
pub(crate) fn check_search_parameter(walk: &mut Walk<'_, '_>, node: &Node) {
    let sp_type = node.child_text("type");
    // Each base once, in order: a base repeated thousands of times is judged
    // once (the twenty-seventh pass's S3).
    let mut seen = HashSet::new();
    let bases: Vec<&str> = node.children_named("base").filter_map(Node::text).filter(|b| seen.insert(*b)).collect();

    if let Some(code) = node.child_text("code") {
        for special in ['.', '$', '|'] {
            if code.contains(special) {
                // SEARCHPARAMETER_BAD_CHAR (the reference fills the placeholder with the code)
                walk.warn(
                    node,
                    IssueCode::Invalid,
                    format!("The Search Parameter code includes '{}' which has special meaning in the RESTful API, and so this will be a problem", quoted(code)),
                );
            }
        }
    }

    if sp_type == Some("composite") && node.children_named("component").count() < 2 {
        walk.error(
            node,
            IssueCode::BusinessRule,
            "When the SearchParameter has a type of 'composite', then the SearchParameter must define two or more components".into(),
        );
    }

    if let Some(url) = node.child_text("derivedFrom") {
        derived_from(walk, node, url, sp_type, &bases);
    }

    if let Some(expr_node) = node.child("expression") {
        if let Some(expr) = expr_node.text() {
            if !expression(walk, expr_node, expr, &bases) {
                checked_expression(walk, expr_node, expr, &bases);
            }
        }
    }
}

fn derived_from(walk: &mut Walk<'_, '_>, node: &Node, url: &str, sp_type: Option<&str>, bases: &[&str]) {
    let Some(parent) = walk.ctx.resource_json(url) else {
        walk.warn(
            node,
            IssueCode::NotFound,
            format!("Unable to find the base Search Parameter {url} so can't check that this SearchParameter is a proper derivation from it"),
        );
        return;
    };
    if parent.get("resourceType").and_then(|v| v.as_str()) != Some("SearchParameter") {
        return;
    }
    let parent_bases: Vec<&str> = parent.get("base").and_then(|b| b.as_array()).map(|a| a.iter().filter_map(|v| v.as_str()).collect()).unwrap_or_default();
    for b in bases {
        let covered = parent_bases.contains(b) || ancestors(walk, b).iter().any(|a| parent_bases.contains(&a.as_str()));
        if !covered {
            walk.error(
                node,
                IssueCode::BusinessRule,
                format!("The resource type {b} is not listed as a base in the SearchParameter this is derived from ({url})"),
            );
        }
    }
    let parent_expression = parent.get("expression").and_then(|v| v.as_str());
    if let (Some(theirs), Some(ours)) = (parent_expression, node.child_text("expression")) {
        if theirs != ours {
            let ours_canonical = canonical_expression(walk, ours, bases);
            if ours_canonical.is_some() && ours_canonical != canonical_expression(walk, theirs, bases) {
                // SEARCHPARAMETER_EXP_WRONG
                walk.warn(
                    node,
                    IssueCode::BusinessRule,
                    format!("The expression '{ours}' is not compatible with the expression '{theirs}' in the derivedFrom SearchParameter {url}, and this likely indicates that the derivation relationship is not valid"),
                );
            }
        }
    }
    let parent_type = parent.get("type").and_then(|v| v.as_str());
    if let (Some(ours), Some(theirs)) = (sp_type, parent_type) {
        if ours != theirs {
            walk.error(
                node,
                IssueCode::BusinessRule,
                format!("The type {ours} is different to the type {theirs} in the derivedFrom SearchParameter ({url})"),
            );
        }
    }
}

/// The types `type_name` specializes, itself excluded.
fn ancestors(walk: &Walk<'_, '_>, type_name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = walk.ctx.type_definition(type_name);
    while let Some(sd) = current {
        if out.len() > 16 {
            break;
        }
        current = sd.base_definition.as_deref().and_then(|b| walk.ctx.structure(b)).filter(|b| b.type_name != sd.type_name);
        if let Some(b) = &current {
            out.push(b.type_name.clone());
        }
    }
    out
}

/// Each `|` branch that starts with a resource type must start with a base,
/// a type a base specializes, or a type that specializes a base.
fn expression(walk: &mut Walk<'_, '_>, node: &Node, expr: &str, bases: &[&str]) -> bool {
    if bases.is_empty() {
        return true;
    }
    // What the bases are and specialize, worked out once; each branch's
    // type is judged once however often it starts a branch.
    let mut related: HashSet<String> = bases.iter().map(|b| b.to_string()).collect();
    for b in bases {
        related.extend(ancestors(walk, b));
    }
    let mut judged: HashSet<String> = HashSet::new();
    for (start, name) in branch_heads(expr) {
        if related.contains(&name) || !judged.insert(name.clone()) {
            continue;
        }
        let Some(sd) = walk.ctx.type_definition(&name) else { continue };
        if !sd.is_resource() {
            continue;
        }
        if ancestors(walk, &name).iter().any(|a| related.contains(a) && bases.contains(&a.as_str())) {
            continue;
        }
        let types: Vec<String> = bases.iter().map(|b| format!("{CORE_SD_BASE}{b}")).collect();
        walk.path.push("expression", None);
        walk.error(
            node,
            IssueCode::Invalid,
            format!(
                "Error in search expression '{}': Error evaluating FHIRPath expression: The name '{name}' is not valid for any of the possible types: [{}] (@char {})",
                quoted(expr),
                quoted(&types.join(", ")),
                start + 1
            ),
        );
        walk.path.pop();
        // The FHIRPath engine stops at its first error.
        return true;
    }
    false
}

/// The expression checked by the FHIRPath engine against the bases, as the
/// reference checks it: an error stops it, warnings say what may fail.
fn checked_expression(walk: &mut Walk<'_, '_>, node: &Node, expr: &str, bases: &[&str]) {
    let problem = match crate::fhirpath::parse(expr) {
        // The reference's parser throws, and the throw is reported as the check's error.
        Err(syntax) => Err(syntax.message),
        Ok(parsed) => checked_against_bases(walk, &parsed, bases),
    };
    walk.path.push("expression", None);
    match problem {
        Ok(warnings) => {
            for w in warnings {
                walk.warn(node, IssueCode::BusinessRule, w.message);
            }
        }
        // ED_SEARCH_EXPRESSION_ERROR
        Err(e) => walk.error(node, IssueCode::Invalid, format!("Error in search expression '{}': {e}", quoted(expr))),
    }
    walk.path.pop();
}

fn checked_against_bases(walk: &Walk<'_, '_>, parsed: &crate::fhirpath::Expression, bases: &[&str]) -> Result<Vec<crate::fhirpath::check::Warning>, String> {
    use crate::fhirpath::check;
    match bases.iter().find(|b| walk.ctx.type_definition(b).is_none()) {
        // FHIRPATH_UNKNOWN_CONTEXT
        Some(unknown) => Err(format!("Unknown context evaluating FHIRPath expression: {unknown}")),
        None => {
            let resource_type = if bases.len() == 1 { bases[0] } else { "Resource" };
            let cc = check::CheckContext { ctx: walk.ctx, resource_type: Some(resource_type.to_owned()) };
            let names: Vec<String> = bases.iter().map(|b| b.to_string()).collect();
            check::check(parsed, &cc, &check::focus_types(walk.ctx, &names)).map(|(_, w)| w).map_err(|e| e.message)
        }
    }
}

/// A search expression as a derivation is compared with its parent's: when
/// it is a union of paths (each a name, or a parenthesised expression that
/// starts with one), the paths that start with a resource type other than
/// the bases are left out and the rest sorted, written without spaces
/// outside strings; otherwise the expression as written. `None` when no
/// path is left.
fn canonical_expression(walk: &Walk<'_, '_>, expr: &str, bases: &[&str]) -> Option<String> {
    let mut kept = Vec::new();
    for branch in top_level_unions(expr) {
        let branch = branch.trim();
        let inner = match branch.strip_prefix('(') {
            Some(rest) if closing_paren(rest) == Some(rest.len() - 1) => &rest[..rest.len() - 1],
            Some(_) => return Some(expr.to_string()),
            None if has_top_level_operator(branch) => return Some(expr.to_string()),
            None => branch,
        };
        let inner = inner.trim_start();
        let name_len = inner.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(inner.len());
        let name = &inner[..name_len];
        let starts_with_name = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') && !inner[name_len..].trim_start().starts_with('(');
        if !starts_with_name {
            return Some(expr.to_string());
        }
        let is_resource = walk.ctx.type_definition(name).is_some_and(|sd| sd.is_resource());
        if !is_resource || bases.contains(&name) {
            kept.push(without_spaces(branch));
        }
    }
    kept.sort();
    (!kept.is_empty()).then(|| kept.join(" | "))
}

/// The characters of an expression outside its string literals (the
/// quotes and what they hold left out), with their byte offsets.
fn outside_strings(text: &str) -> impl Iterator<Item = (usize, char)> + '_ {
    let (mut quote, mut escaped) = (None::<char>, false);
    text.char_indices().filter(move |&(_, c)| match quote {
        Some(q) => {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            false
        }
        None if matches!(c, '\'' | '`' | '"') => {
            quote = Some(c);
            false
        }
        None => true,
    })
}

/// The text of each top-level `|` branch (strings and brackets skipped).
fn top_level_unions(expr: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in outside_strings(expr) {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            '|' if depth == 0 => {
                out.push(&expr[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&expr[start..]);
    out
}

/// Where the bracket opened just before `text` closes.
fn closing_paren(text: &str) -> Option<usize> {
    let mut depth = 1usize;
    for (i, c) in outside_strings(text) {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Whether a path has an operator outside brackets and strings (`is`,
/// `as`, comparisons, arithmetic, boolean keywords).
fn has_top_level_operator(text: &str) -> bool {
    let mut outside = String::new();
    let mut depth = 0usize;
    for (_, c) in outside_strings(text) {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ if depth == 0 => outside.push(c),
            _ => {}
        }
    }
    outside.contains(|c: char| "=!<>+-*/&~".contains(c))
        || outside.split_whitespace().any(|w| matches!(w, "and" | "or" | "xor" | "implies" | "is" | "as" | "in" | "contains" | "div" | "mod"))
}

/// An expression without whitespace outside its strings.
fn without_spaces(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut quote = None::<char>;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(_), '\\') => {
                out.push(c);
                if let Some(n) = chars.next() {
                    out.push(n);
                }
                continue;
            }
            (Some(q), _) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '`' | '"') => quote = Some(c),
            (None, _) if c.is_whitespace() => continue,
            _ => {}
        }
        out.push(c);
    }
    out
}

/// The identifier each top-level `|` branch starts with (after any opening
/// parentheses), with its character offset. String literals are skipped.
fn branch_heads(expr: &str) -> Vec<(usize, String)> {
    let chars: Vec<char> = expr.chars().collect();
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut at_branch_start = true;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if at_branch_start {
            if c.is_whitespace() || c == '(' {
                if c == '(' {
                    depth += 1;
                }
                i += 1;
                continue;
            }
            at_branch_start = false;
            if c.is_ascii_uppercase() {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                // A function call (`Foo(`) is not a type name.
                if chars.get(i) != Some(&'(') {
                    out.push((start, chars[start..i].iter().collect()));
                }
                continue;
            }
        }
        match c {
            '\'' => {
                i += 1;
                while i < chars.len() && chars[i] != '\'' {
                    if chars[i] == '\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            '|' if depth == 0 => at_branch_start = true,
            _ => {}
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::branch_heads;

    #[test]
    fn branch_heads_are_the_first_names_of_top_level_unions() {
        let heads = |e: &str| branch_heads(e).into_iter().map(|(_, n)| n).collect::<Vec<_>>();
        assert_eq!(heads("Organization.name | Organization.alias"), ["Organization", "Organization"]);
        assert_eq!(heads("(Observation.value as Quantity) | Observation.component.where(code = 'a|B').value"), ["Observation", "Observation"]);
        assert_eq!(heads("Patient.name.where(given | family)"), ["Patient"]);
        assert_eq!(heads("%resource.id"), Vec::<String>::new());
        assert_eq!(branch_heads("Organization.name | Organization.alias")[1].0, 20);
    }
}
