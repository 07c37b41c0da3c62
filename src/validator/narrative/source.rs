//! `narrative-source-control`: every piece of text in the narrative must sit
//! in an element whose class says where it came from.

use super::dom::{XElement, XNode};

const SOURCE_CLASSES: &[&str] = &["boilerplate", "generated", "original"];

fn labelled(e: &XElement) -> bool {
    e.attribute("class").is_some_and(|c| c.split_whitespace().any(|k| SOURCE_CLASSES.contains(&k)))
}

/// The text (trimmed) of every text node with no labelled element around it.
pub(crate) fn unlabelled_text(root: &XElement) -> Vec<String> {
    let mut out = Vec::new();
    walk(root, &mut out);
    out
}

fn walk(e: &XElement, out: &mut Vec<String>) {
    if labelled(e) {
        return;
    }
    for c in &e.children {
        match c {
            XNode::Text(t) => {
                let t = t.split_whitespace().collect::<Vec<_>>().join(" ");
                if !t.is_empty() {
                    out.push(t);
                }
            }
            XNode::Element(child) => walk(child, out),
        }
    }
}
