//! Internal hyperlinks (`href="#..."`) in narrative: each must point at an
//! anchor (`id`, or `name` of `a`) in the narrative or at a contained resource.

use super::dom::XElement;
use std::collections::HashSet;

/// Every `id` and `name` in the narrative.
pub(crate) fn anchors(root: &XElement) -> HashSet<String> {
    let mut out = HashSet::new();
    let mut add = |e: &XElement| {
        for (k, v) in &e.attributes {
            if k == "id" || k == "name" || k == "xml:id" {
                out.insert(v.clone());
            }
        }
    };
    add(root);
    root.visit(&root.name, &mut |_, e| add(e));
    out
}

/// The internal links that resolve to nothing known: (href, path, link text).
pub(crate) fn unresolved(root: &XElement, known: &dyn Fn(&str) -> bool) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    root.visit(&root.name, &mut |path, e| {
        if e.name != "a" {
            return;
        }
        let Some(href) = e.attribute("href") else { return };
        let Some(target) = href.strip_prefix('#') else { return };
        if target.is_empty() || known(target) {
            return;
        }
        out.push((href.to_string(), path.to_string(), e.text()));
    });
    out
}

/// Whether a fragment could be an XML id (an NCName-like name: letters,
/// digits, `_`, `-`, `.`, `:`, not starting with a digit, `-` or `.`).
pub(crate) fn is_xml_name(s: &str) -> bool {
    let mut chars = s.chars();
    let Some(first) = chars.next() else { return false };
    (first.is_alphabetic() || first == '_' || first == ':') && chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
}
