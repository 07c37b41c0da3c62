//! Languages in narrative: language sections (top-level elements with a
//! `lang`), their agreement with the resource's language, and the
//! `narrative-language-control` extension of profiles.

use super::dom::{XElement, XNode};

/// The languages of the root's language sections, in document order.
pub(crate) fn sections(root: &XElement) -> Vec<&str> {
    root.elements().filter_map(XElement::lang).collect()
}

/// Whether the root holds only language sections (elements with a
/// language), besides whitespace, and at least something.
pub(crate) fn only_sections(root: &XElement) -> bool {
    !root.children.is_empty()
        && root.children.iter().all(|c| match c {
            XNode::Text(t) => t.trim().is_empty(),
            XNode::Element(e) => e.lang().is_some(),
        })
}

/// Sorted and without repeats, as messages list them: `de, en`.
pub(crate) fn list(langs: &[&str]) -> String {
    let mut v: Vec<&str> = langs.to_vec();
    v.sort_unstable();
    v.dedup();
    v.join(", ")
}

/// Whether the root has content outside its language sections (text of its
/// own, or elements without a language that hold text).
pub(crate) fn has_content_outside_sections(root: &XElement) -> bool {
    root.children.iter().any(|c| match c {
        XNode::Text(t) => !t.trim().is_empty(),
        XNode::Element(e) => e.lang().is_none() && (e.has_text() || e.name == "img"),
    })
}

/// What a profile's `narrative-language-control` values demand of the
/// narrative, as messages: errors (`true`) where a section is missing among
/// others, warnings where the narrative has no sections or the resource no language.
pub(crate) fn control(root: &XElement, controls: &[String], resource_lang: Option<&str>, profile: &str) -> Vec<(bool, String)> {
    let secs = sections(root);
    let mut out = Vec::new();
    for c in controls {
        match c.as_str() {
            "_no" => {
                if !secs.is_empty() {
                    // XHTML_CONTROL_NO_LANGS
                    out.push((
                        true,
                        format!(
                            "The xhtml has some language sections ({}), but language sections are prohibited in this context by the profile StructureDefinition[{profile}]",
                            list(&secs)
                        ),
                    ));
                }
            }
            "_yes" => {
                if secs.is_empty() {
                    // XHTML_CONTROL_LANGS_REQUIRED
                    out.push((true, format!("The xhtml has no language sections, but language sections are required in this context by the profile StructureDefinition[{profile}]")));
                }
            }
            "_resource" => match resource_lang {
                // XHTML_CONTROL_LANGS_NONE_NO_DEFAULT
                None if secs.is_empty() => out.push((
                    false,
                    format!("The profile StructureDefinition[{profile}] requires a section in the narrative for the resource language, but there is no sections and no resource language"),
                )),
                // XHTML_CONTROL_LANGS_NONE
                Some(l) if secs.is_empty() => out.push((
                    false,
                    format!("The profile StructureDefinition[{profile}] requires a section in the narrative for the resource language {l}, but there is no sections"),
                )),
                // XHTML_CONTROL_LANGS_NO_DEFAULT
                None => out.push((
                    false,
                    format!("The profile StructureDefinition[{profile}] requires a section in the narrative for the resource language, but there is no language"),
                )),
                Some(l) => {
                    if !secs.contains(&l) {
                        // XHTML_CONTROL_LANGS_REQUIRED_DEF
                        out.push((
                            true,
                            format!(
                                "The profile StructureDefinition[{profile}] requires a section in the narrative for the resource language ({l}), but it was not found (found {})",
                                list(&secs)
                            ),
                        ));
                    }
                }
            },
            lang => {
                if secs.is_empty() {
                    // XHTML_CONTROL_LANGS_NONE2
                    out.push((false, format!("The profile StructureDefinition[{profile}] requires a section in the narrative for the language {lang}, but there is no sections")));
                } else if !secs.contains(&lang) {
                    // XHTML_CONTROL_LANGS_REQUIRED_LANG
                    out.push((
                        true,
                        format!(
                            "The profile StructureDefinition[{profile}] requires a section in the narrative for the language '{lang}', but it was not found (found {})",
                            list(&secs)
                        ),
                    ));
                }
            }
        }
    }
    out
}
