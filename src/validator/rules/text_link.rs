//! The `textLink` extension on a Narrative: each link names an element of
//! the narrative (`htmlid`) and the data it renders (`data`: `#id` in the
//! resource, or a resource of its Bundle), optionally narrowed by a FHIRPath
//! `selector`. As the reference checks them, all reported at the narrative.

use crate::issue::IssueCode;
use crate::tree::Node;
use crate::validator::element::Walk;
use std::collections::{HashMap, HashSet};

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
    // Read once for all the links: each link looked through the narrative
    // and the resource again (the thirty-first pass's W1).
    let html_ids = div_ids(div);
    let mut ids = IdCounts::default();
    for link in links {
        for id in sub_values(link, "htmlid") {
            if !html_ids.contains(id) {
                // TEXT_LINK_NO_ID
                walk.error(narrative, IssueCode::Structure, format!("The html id '{id}' was not found in the xhtml"));
            }
        }
        match sub_values(link, "data").next() {
            // TEXT_LINK_NO_DATA
            None => walk.error(narrative, IssueCode::Structure, "No data element was found in the textLink extension".into()),
            Some(data) => data_target(walk, narrative, data, &mut ids),
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

/// The `id` attributes of the narrative's elements (an `id=` that starts
/// the text or follows white space).
fn div_ids(div: &str) -> HashSet<&str> {
    let mut out = HashSet::new();
    for (at, _) in div.match_indices("id=") {
        if at != 0 && !div[..at].ends_with(char::is_whitespace) {
            continue;
        }
        let rest = &div[at + 3..];
        let Some(quote) = rest.chars().next().filter(|c| matches!(c, '"' | '\'')) else { continue };
        if let Some(end) = rest[1..].find(quote) {
            out.insert(&rest[1..1 + end]);
        }
    }
    out
}

/// How many elements of a node (itself and everything in it) have each
/// id, counted the first time the node is asked about.
#[derive(Default)]
struct IdCounts {
    by_node: HashMap<usize, HashMap<String, usize>>,
    /// The Bundle around: its entries (positions in its children) by
    /// `Type/id` and by fullUrl, and how many entries' resources have each id.
    entries: Option<(HashMap<String, Vec<usize>>, HashMap<String, usize>)>,
}

impl IdCounts {
    fn entries(&mut self, bundle: &Node) -> &(HashMap<String, Vec<usize>>, HashMap<String, usize>) {
        self.entries.get_or_insert_with(|| {
            let (mut by_key, mut by_id): (HashMap<String, Vec<usize>>, HashMap<String, usize>) = Default::default();
            for (at, e) in bundle.children.iter().enumerate().filter(|(_, e)| e.name == "entry") {
                let Some(r) = e.child("resource") else { continue };
                let mut keys = Vec::new();
                if let (Some(rt), Some(id)) = (r.resource_type.as_deref(), r.child_text("id")) {
                    keys.push(format!("{rt}/{id}"));
                    *by_id.entry(id.to_string()).or_default() += 1;
                }
                if let Some(full) = e.child_text("fullUrl") {
                    keys.push(full.to_string());
                }
                keys.dedup();
                for k in keys {
                    by_key.entry(k).or_default().push(at);
                }
            }
            (by_key, by_id)
        })
    }

    fn count(&mut self, node: &Node, id: &str) -> usize {
        let counts = self.by_node.entry(node as *const Node as usize).or_insert_with(|| {
            let mut counts: HashMap<String, usize> = HashMap::new();
            let mut stack = vec![node];
            while let Some(n) = stack.pop() {
                if let Some(id) = n.child_text("id") {
                    *counts.entry(id.to_string()).or_default() += 1;
                }
                stack.extend(n.children.iter());
            }
            counts
        });
        counts.get(id).copied().unwrap_or(0)
    }
}

/// What `data` names: one element of the resource (`#id`), or one resource of
/// its Bundle (by `Type/id` or fullUrl), and within it an element (`...#id`).
fn data_target(walk: &mut Walk<'_, '_>, narrative: &Node, data: &str, ids: &mut IdCounts) {
    let Some(resource) = walk.resources.last().map(|f| f.node) else { return };
    let bundle = walk.resources.iter().rev().nth(1).map(|f| f.node).filter(|n| n.resource_type.as_deref() == Some("Bundle"));
    let count = if let Some(fragment) = data.strip_prefix('#') {
        ids.count(resource, fragment) + bundle.map_or(0, |b| ids.entries(b).1.get(fragment).copied().unwrap_or(0))
    } else {
        // A resource named by URL can only be looked for in a Bundle walked
        // around this one: a resource validated alone (a slice candidate
        // checked against its profile) cannot say it is missing.
        let Some(bundle) = bundle else { return };
        let (url, fragment) = data.split_once('#').map_or((data, None), |(u, f)| (u, Some(f)));
        // Only the first entry and whether there is a second matter: collecting
        // every entry with the key, per link, was quadratic (the thirty-second pass's X3).
        let mut matches = ids.entries(bundle).0.get(url).into_iter().flatten().filter_map(|&at| bundle.children[at].child("resource"));
        let (first, more) = (matches.next(), matches.next().is_some());
        match (first, fragment) {
            (Some(first), Some(f)) if !more => ids.count(first, f),
            (Some(first), Some(f)) => {
                multiple(walk, narrative, data);
                ids.count(first, f)
            }
            (Some(_), None) => 1 + usize::from(more),
            (None, _) => 0,
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


