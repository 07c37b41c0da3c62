//! The `textLink` extension on a Narrative: each link names an element of
//! the narrative (`htmlid`) and the data it renders (`data`: `#id` in the
//! resource, or a resource of its Bundle), optionally narrowed by a FHIRPath
//! `selector`. As the reference checks them, all reported at the narrative.

use crate::issue::IssueCode;
use crate::tree::Node;
use crate::validator::element::Walk;

const TEXT_LINK: &str = "http://hl7.org/fhir/StructureDefinition/textLink";

/// A Narrative (the path points at it).
pub(crate) fn check(walk: &mut Walk<'_, '_>, narrative: &Node) {
    let links: Vec<&Node> = narrative.children.iter().filter(|c| c.name == "extension" && c.child_text("url") == Some(TEXT_LINK)).collect();
    if links.is_empty() {
        return;
    }
    let Some(div) = narrative.child_text("div") else {
        // TEXT_LINK_NO_DIV
        walk.error(narrative, IssueCode::Structure, "A textLink extension was found, but there was no xhtml element present for that targets of the html references".into());
        return;
    };
    for link in links {
        for id in sub_values(link, "htmlid") {
            if !div_has_id(div, id) {
                // TEXT_LINK_NO_ID
                walk.error(narrative, IssueCode::Structure, format!("The html id '{id}' was not found in the xhtml"));
            }
        }
        match sub_values(link, "data").next() {
            // TEXT_LINK_NO_DATA
            None => walk.error(narrative, IssueCode::Structure, "No data element was found in the textLink extension".into()),
            Some(data) => data_target(walk, narrative, data),
        }
        if let Some(selector) = sub_values(link, "selector").next() {
            if let Err(e) = crate::fhirpath::parse(selector) {
                // TEXT_LINK_SELECTOR_INVALID
                walk.error(narrative, IssueCode::Invalid, format!("The textLink selector '{selector}' is invalid: {}", e.message));
            }
        }
    }
}

/// The values of a sub-extension.
fn sub_values<'n>(link: &'n Node, name: &'n str) -> impl Iterator<Item = &'n str> + 'n {
    link.children
        .iter()
        .filter(move |c| c.name == "extension" && c.child_text("url") == Some(name))
        .filter_map(|e| e.children.iter().find(|c| c.name.starts_with("value")).and_then(Node::text))
}

/// Whether an element of the narrative has this `id`.
fn div_has_id(div: &str, id: &str) -> bool {
    [format!("id=\"{id}\""), format!("id='{id}'")].iter().any(|a| div.match_indices(a.as_str()).any(|(i, _)| i == 0 || div[..i].ends_with(char::is_whitespace)))
}

/// What `data` names: one element of the resource (`#id`), or one resource of
/// its Bundle (by `Type/id` or fullUrl), and within it an element (`...#id`).
fn data_target(walk: &mut Walk<'_, '_>, narrative: &Node, data: &str) {
    let Some(resource) = walk.resources.last().map(|f| f.node) else { return };
    let bundle = walk.resources.iter().rev().nth(1).map(|f| f.node).filter(|n| n.resource_type.as_deref() == Some("Bundle"));
    let count = if let Some(fragment) = data.strip_prefix('#') {
        with_id(resource, fragment) + bundle.map_or(0, |b| entries(b).filter(|r| r.child_text("id") == Some(fragment)).count())
    } else {
        // A resource named by URL can only be looked for in a Bundle walked
        // around this one: a resource validated alone (a slice candidate
        // checked against its profile) cannot say it is missing.
        if bundle.is_none() {
            return;
        }
        let (url, fragment) = data.split_once('#').map_or((data, None), |(u, f)| (u, Some(f)));
        let matches: Vec<&Node> = bundle
            .map(|b| {
                b.children
                    .iter()
                    .filter(|e| e.name == "entry")
                    .filter(|e| {
                        let r = e.child("resource");
                        let typed = r.and_then(|r| Some(format!("{}/{}", r.resource_type.as_deref()?, r.child_text("id")?)));
                        r.is_some() && (typed.as_deref() == Some(url) || e.child_text("fullUrl") == Some(url))
                    })
                    .filter_map(|e| e.child("resource"))
                    .collect()
            })
            .unwrap_or_default();
        match (matches.first(), fragment) {
            (Some(first), Some(f)) if matches.len() == 1 => with_id(first, f),
            (Some(first), Some(f)) => {
                multiple(walk, narrative, data);
                with_id(first, f)
            }
            _ => matches.len(),
        }
    };
    match count {
        // TEXT_LINK_DATA_NOT_FOUND
        0 => walk.error(narrative, IssueCode::NotFound, format!("The target of the textLink data reference '{data}' was not found in the resource")),
        1 => {}
        _ => multiple(walk, narrative, data),
    }
}

fn multiple(walk: &mut Walk<'_, '_>, narrative: &Node, data: &str) {
    // TEXT_LINK_DATA_MULTIPLE_MATCHES
    walk.error(narrative, IssueCode::Invalid, format!("Multiple matching targets for the textLink data reference '{data}' were found in the resource"));
}

/// The resources of a Bundle's entries.
fn entries(bundle: &Node) -> impl Iterator<Item = &Node> {
    bundle.children.iter().filter(|e| e.name == "entry").filter_map(|e| e.child("resource"))
}

/// How many elements (the node itself, and everything in it) have this id.
fn with_id(node: &Node, id: &str) -> usize {
    let mut count = 0;
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        if n.child_text("id") == Some(id) {
            count += 1;
        }
        stack.extend(n.children.iter());
    }
    count
}
