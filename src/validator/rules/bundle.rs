//! The rules a Bundle has as a whole, as the reference's BundleValidator
//! applies them (its `Bundle_*` and `BUNDLE_*` message keys): link
//! relations per Bundle type, a document's or message's first entry, a
//! document's stylesheets and the reachability of its entries, search set
//! entries (modes, ids, the types the search asked for), and each entry's
//! fullUrl (required but in transactions and batches, absolute, matching a
//! RESTful resource's type and id, and a canonical resource's url).
//!
//! Reference resolution inside a Bundle is `validator/bundle.rs`.

use crate::issue::IssueCode;
use crate::tree::Node;
use crate::validator::bundle::{restful_parts, BundleIndex};
use crate::validator::element::Walk;
use std::collections::HashSet;

const FHIR_CSS: &str = "https://hl7.org/fhir/fhir.css";

/// The Bundle `bundle` (the walk's path points at it), after its entries are walked.
pub(crate) fn check<'n>(walk: &mut Walk<'_, 'n>, bundle: &'n Node) {
    let bundle_type = bundle.child_text("type").unwrap_or("");
    links(walk, bundle, bundle_type);
    let entries: Vec<&'n Node> = bundle.children_named("entry").collect();
    match entries.first() {
        None if matches!(bundle_type, "document" | "message") => {
            // Bundle_BUNDLE_Entry_NoFirst
            walk.error(bundle, IssueCode::Invalid, "Documents or Messages must contain at least one entry".into());
        }
        None => {}
        Some(first) => {
            if matches!(bundle_type, "document" | "message") {
                first_entry(walk, first, bundle_type);
            }
            match bundle_type {
                "document" => {
                    stylesheets(walk, bundle);
                    reachability(walk, bundle, false);
                }
                "message" if first.child("resource").is_some_and(|r| r.resource_type.as_deref() == Some("MessageHeader")) => reachability(walk, bundle, true),
                "searchset" => search_set(walk, bundle, &entries),
                _ => {}
            }
        }
    }
    let full_url_optional = matches!(bundle_type, "transaction" | "transaction-response" | "batch" | "batch-response");
    for (i, entry) in entries.iter().enumerate() {
        walk.path.push("entry", Some(i));
        full_url(walk, entry, full_url_optional);
        walk.path.pop();
    }
}

/// A document's first entry is its Composition; a message's, its MessageHeader.
fn first_entry(walk: &mut Walk<'_, '_>, first: &Node, bundle_type: &str) {
    walk.path.push("entry", Some(0));
    match first.child("resource") {
        // Bundle_BUNDLE_Entry_NoFirstResource
        None => walk.error(first, IssueCode::Invalid, "No resource on first entry".into()),
        Some(resource) if bundle_type == "document" && resource.resource_type.as_deref() != Some("Composition") => {
            walk.path.push("resource", None);
            // Bundle_BUNDLE_Entry_Document
            walk.error(resource, IssueCode::Invalid, "The first entry in a document must be a composition".into());
            walk.path.pop();
        }
        Some(resource) if bundle_type == "message" && resource.resource_type.as_deref() != Some("MessageHeader") => {
            walk.path.push("resource", None);
            // Validation_BUNDLE_Message
            walk.error(resource, IssueCode::Invalid, "The first entry in a message must be a MessageHeader".into());
            walk.path.pop();
        }
        Some(_) => {}
    }
    walk.path.pop();
}

/// Link relations: paging relations only in search sets and histories,
/// and each of those, and `self`, at most once.
fn links(walk: &mut Walk<'_, '_>, bundle: &Node, bundle_type: &str) {
    const PAGING: [&str; 4] = ["first", "previous", "next", "last"];
    let searching = matches!(bundle_type, "searchset" | "history");
    let known = matches!(bundle_type, "document" | "message" | "collection" | "subscription-notification" | "transaction" | "transaction-response" | "batch" | "batch-response");
    let mut seen: Vec<&str> = Vec::new();
    for (i, link) in bundle.children_named("link").enumerate() {
        let Some(relation) = link.child("relation") else { continue };
        let Some(rel) = relation.text() else { continue };
        let once = if searching { PAGING.contains(&rel) || rel == "self" } else { rel == "self" };
        walk.path.push("link", Some(i));
        if known && PAGING.contains(&rel) {
            walk.path.push("relation", None);
            // BUNDLE_LINK_SEARCH_PROHIBITED
            walk.error(relation, IssueCode::Invalid, format!("The link relationship type '{rel}' used in search sets is prohibited in this context"));
            walk.path.pop();
        } else if (searching || known) && once && seen.contains(&rel) {
            // BUNDLE_LINK_SEARCH_NO_DUPLICATES
            walk.error(link, IssueCode::Invalid, format!("The link relationship type '{rel}' can only occur once"));
        }
        walk.path.pop();
        seen.push(rel);
    }
}

/// An entry's fullUrl: present (but in transactions and batches), absolute,
/// and, when it looks like a RESTful URL, ending with the resource's type
/// and id; a canonical resource whose url is its fullUrl has that id.
fn full_url(walk: &mut Walk<'_, '_>, entry: &Node, optional: bool) {
    let resource = entry.child("resource");
    let Some(full_url) = entry.child_text("fullUrl") else {
        // A search's OperationOutcome (mode `outcome`) is about the search,
        // not a resource with an identity: R4's own search examples give it
        // no fullUrl, so it is not asked for one.
        let search_outcome = entry.child("search").and_then(|s| s.child_text("mode")) == Some("outcome");
        if !optional && !search_outcome {
            // BUNDLE_BUNDLE_ENTRY_FULLURL_REQUIRED
            walk.error(entry, IssueCode::Invalid, "Except for transactions and batches, each entry in a Bundle must have a fullUrl which is the identity of the resource in the entry".into());
        }
        return;
    };
    if !full_url.contains(':') {
        // BUNDLE_ENTRY_URL_ABSOLUTE
        walk.error(entry, IssueCode::Invalid, format!("The fullUrl must be an absolute URL (not '{full_url}')"));
        return;
    }
    let id = resource.and_then(|r| r.child_text("id"));
    if let (Some((_, ty, url_id)), Some(res)) = (restful_parts(full_url), resource) {
        if !full_url.starts_with("urn:") {
            match (res.resource_type.as_deref(), id) {
                // BUNDLE_ENTRY_URL_MATCHES_TYPE_ID
                (Some(rt), Some(rid)) if rt != ty || rid != url_id => walk.error(
                    entry,
                    IssueCode::Invalid,
                    format!("The fullUrl '{full_url}' looks like a RESTful server URL, so it must end with the correct type and id (/{rt}/{rid})"),
                ),
                // BUNDLE_ENTRY_URL_MATCHES_NO_ID
                (Some(_), None) => walk.error(entry, IssueCode::Invalid, format!("The fullUrl '{full_url}' looks like a RESTful server URL, but the resource has no id")),
                _ => {}
            }
        }
    }
    let canonical = resource.and_then(|r| r.child_text("url"));
    if let Some(url) = canonical.filter(|u| *u == full_url) {
        let names_its_id = restful_parts(url).is_some() && id.is_some_and(|id| url.ends_with(&format!("/{id}")));
        let legacy = url.starts_with("http://hl7.org/fhir/v3/") || url.starts_with("http://hl7.org/fhir/v2/");
        if !names_its_id && !legacy {
            // Bundle_BUNDLE_Entry_MismatchIdUrl
            walk.error(
                entry,
                IssueCode::Invalid,
                format!("The canonical URL ({url}) cannot match the fullUrl ({full_url}) unless the resource id ({}) also matches", id.unwrap_or("null")),
            );
        }
    }
}

/// A search set: a self link saying what was searched for, a search mode
/// on every entry, and entries that match it.
fn search_set(walk: &mut Walk<'_, '_>, bundle: &Node, entries: &[&Node]) {
    let self_link = bundle.children_named("link").find(|l| l.child_text("relation") == Some("self"));
    let types = self_link.and_then(|l| l.child_text("url")).map(|u| searched_types(walk, u)).unwrap_or_default();
    match self_link {
        // BUNDLE_SEARCH_NOSELF
        None => walk.warn(bundle, IssueCode::Invalid, "SearchSet Bundles should have a self link that specifies what the search was".into()),
        // BUNDLE_SEARCH_SELF_NOT_UNDERSTOOD
        Some(_) if types.is_empty() => walk.inform(bundle, IssueCode::Invalid, "No types could be determined from the search string, so the types can't be checked".into()),
        Some(_) => {}
    }
    fn mode(entry: &Node) -> Option<&str> {
        entry.child("search").and_then(|s| s.child_text("mode"))
    }
    // Looked up in a set, and quoted shortened once (a `_type` list from
    // the body may be megabytes: the twenty-sixth pass's R3).
    let wanted: HashSet<&str> = types.iter().map(String::as_str).collect();
    let shown = format!("[{}]", crate::issue::quoted(&types.join(", ")));
    if entries.iter().all(|e| mode(e).is_none()) {
        // Without modes: every entry should be of a type searched for, with an id.
        let mut type_problem = false;
        let mut first_type: Option<&str> = None;
        for (i, entry) in entries.iter().enumerate() {
            walk.path.push("entry", Some(i));
            match entry.child("resource") {
                // BUNDLE_SEARCH_ENTRY_NO_RESOURCE
                None => walk.error(entry, IssueCode::Invalid, "SearchSet Bundle Entries must have resources".into()),
                Some(res) => {
                    let rt = res.resource_type.as_deref().unwrap_or("");
                    walk.path.push("resource", None);
                    if types.is_empty() {
                        type_problem = true;
                        if self_link.is_some() {
                            // BUNDLE_SEARCH_ENTRY_TYPE_NOT_SURE
                            walk.inform(res, IssueCode::Invalid, "Unable to determine if this resource is a valid resource type for this search".into());
                        }
                        if res.child("id").is_none() && rt != "OperationOutcome" {
                            // BUNDLE_SEARCH_ENTRY_NO_RESOURCE_ID
                            walk.warn(res, IssueCode::Invalid, "Search results must have ids".into());
                        }
                    } else if wanted.contains(rt) {
                        if rt != "OperationOutcome" {
                            if res.child("id").is_none() {
                                walk.warn(res, IssueCode::Invalid, "Search results must have ids".into());
                            }
                            match first_type {
                                Some(t) if t != rt => type_problem = true,
                                None => first_type = Some(rt),
                                _ => {}
                            }
                        }
                    } else {
                        type_problem = true;
                        walk.path.pop();
                        // BUNDLE_SEARCH_ENTRY_WRONG_RESOURCE_TYPE_NO_MODE
                        walk.warn(entry, IssueCode::Invalid, format!("This is not a matching resource type for the specified search (is a search mode needed?) ({rt} expecting {shown})"));
                        walk.path.push("resource", None);
                    }
                    walk.path.pop();
                }
            }
            walk.path.pop();
        }
        if type_problem {
            // BUNDLE_SEARCH_NO_MODE
            walk.warn(bundle, IssueCode::Invalid, "SearchSet bundles should have search modes on the entries".into());
        }
        return;
    }
    for (i, entry) in entries.iter().enumerate() {
        walk.path.push("entry", Some(i));
        let mode = mode(entry);
        if mode.is_none() {
            walk.warn(entry, IssueCode::Invalid, "SearchSet bundles should have search modes on the entries".into());
        }
        match entry.child("resource") {
            None => walk.error(entry, IssueCode::Invalid, "SearchSet Bundle Entries must have resources".into()),
            Some(res) => {
                let rt = res.resource_type.as_deref().unwrap_or("");
                walk.path.push("resource", None);
                match mode {
                    Some("match") => {
                        if res.child("id").is_none() {
                            walk.error(res, IssueCode::Invalid, "Search results must have ids".into());
                        }
                        if !types.is_empty() && !wanted.contains(rt) {
                            // BUNDLE_SEARCH_ENTRY_WRONG_RESOURCE_TYPE_MODE
                            walk.error(res, IssueCode::Invalid, format!("This is not a matching resource type for the specified search ({rt} expecting {shown})"));
                        }
                    }
                    Some("include") if res.child("id").is_none() => walk.error(res, IssueCode::Invalid, "Search results must have ids".into()),
                    Some("include") | None => {}
                    Some(_) if rt != "OperationOutcome" => {
                        // BUNDLE_SEARCH_ENTRY_WRONG_RESOURCE_TYPE_OUTCOME
                        walk.error(res, IssueCode::Invalid, format!("This is not an OperationOutcome ({rt})"));
                    }
                    Some(_) => {}
                }
                walk.path.pop();
            }
        }
        walk.path.pop();
    }
}

/// The resource types a search URL asks for: its last path segment when
/// that is a resource type, else the types its `_type` parameter lists.
fn searched_types(walk: &Walk<'_, '_>, url: &str) -> Vec<String> {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let last = path.rsplit('/').next().unwrap_or("");
    if walk.ctx.type_definition(last).is_some_and(|sd| sd.is_resource()) {
        return vec![last.to_owned()];
    }
    let mut seen = HashSet::new();
    query.split('&').filter_map(|p| p.strip_prefix("_type=")).flat_map(|t| t.split(',')).filter(|t| !t.is_empty() && seen.insert(*t)).map(str::to_owned).collect()
}

/// In a document every entry must be reachable from the Composition, and in
/// a message from the MessageHeader, by following references: forwards from
/// the first entry, or else backwards, which R4 approves for Provenance only
/// (a warning for a document's other entries, a hint in a message). What is
/// not reached at all is an error in a document and a warning in a message.
fn reachability<'n>(walk: &mut Walk<'_, 'n>, bundle: &'n Node, message: bool) {
    let Some(index) = walk.bundles.last() else { return };
    let n = index.entries.len();
    if n == 0 {
        return;
    }
    // References between entries, forwards and backwards.
    let mut forward: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut backward: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (from, entry) in index.entries.iter().enumerate() {
        let Some(resource) = entry.resource else { continue };
        let base = entry.base();
        let mut refs = Vec::new();
        collect_references(resource, &mut refs);
        for r in refs {
            let r = r.split("/_history/").next().unwrap_or(r);
            let mut targets = index.by_full_url.get(r).map_or(&[][..], |t| &t[..]);
            let absolute;
            if targets.is_empty() && !r.contains(':') {
                if let Some(b) = base {
                    absolute = format!("{b}/{r}");
                    targets = index.by_full_url.get(absolute.as_str()).map_or(&[][..], |t| &t[..]);
                }
            }
            // Entries that share a fullUrl (an error of their own): the
            // first is the one referred to, so links stay as many as the
            // references (the twenty-fifth pass's Q1).
            if let Some(&to) = targets.iter().find(|&&to| to != from) {
                forward[from].push(to);
                backward[to].push(from);
            }
        }
    }
    let mut reached = vec![false; n];
    let mut newly: Vec<usize> = Vec::new();
    let follow = |start: usize, reached: &mut Vec<bool>, newly: &mut Vec<usize>| {
        let mut stack = vec![start];
        while let Some(at) = stack.pop() {
            for &next in &forward[at] {
                if !reached[next] {
                    reached[next] = true;
                    newly.push(next);
                    stack.push(next);
                }
            }
        }
    };
    reached[0] = true;
    newly.push(0);
    follow(0, &mut reached, &mut newly);
    // Stylesheets the document links to are part of it.
    if !message {
        for ix in stylesheet_entries(bundle, index) {
            if !reached[ix] {
                reached[ix] = true;
                newly.push(ix);
            }
        }
    }
    // Backwards: an entry that refers to one reached is reached, and what it refers to.
    let mut backwards = Vec::new();
    let mut at = 0;
    while at < newly.len() {
        let target = newly[at];
        at += 1;
        for &from in &backward[target] {
            if !reached[from] {
                reached[from] = true;
                backwards.push(from);
                newly.push(from);
                follow(from, &mut reached, &mut newly);
            }
        }
    }
    let shown = |i: usize| index.entries[i].full_url.map(|u| format!("'{u}'")).unwrap_or_default();
    let mut backwards: Vec<(usize, String)> =
        backwards.into_iter().filter(|&i| index.entries[i].resource.and_then(|r| r.resource_type.as_deref()) != Some("Provenance")).map(|i| (i, shown(i))).collect();
    backwards.sort_unstable();
    let unreached: Vec<(usize, String)> = (0..n).filter(|&i| !reached[i] && index.entries[i].resource.is_some()).map(|i| (i, shown(i))).collect();
    let entries: Vec<&Node> = bundle.children_named("entry").collect();
    for (i, full_url) in backwards {
        walk.path.push("entry", Some(i));
        if message {
            // BUNDLE_BUNDLE_ENTRY_REVERSE_MSG
            walk.inform(
                entries[i],
                IssueCode::Informational,
                format!("Entry {full_url} isn't reachable by traversing forwards from the MessageHeader. Check that this is meant to be included (needed to process the message)"),
            );
        } else {
            // BUNDLE_BUNDLE_ENTRY_REVERSE_R4
            walk.warn(
                entries[i],
                IssueCode::Invalid,
                format!("Entry {full_url} isn't reachable by traversing forwards from the Composition. Only Provenance is approved to be used this way (R4 section 3.3.1)"),
            );
        }
        walk.path.pop();
    }
    for (i, full_url) in unreached {
        walk.path.push("entry", Some(i));
        if message {
            // Bundle_BUNDLE_Entry_Orphan_MESSAGE
            walk.warn(
                entries[i],
                IssueCode::Informational,
                format!("Entry {full_url} isn't reachable by traversing links (forward or backward) from the MessageHeader, so its presence should be reviewed (is it needed to process the message?)"),
            );
        } else {
            // Bundle_BUNDLE_Entry_Orphan_DOCUMENT
            walk.error(entries[i], IssueCode::Informational, format!("Entry {full_url} isn't reachable by traversing links (forward or backward) from the Composition"));
        }
        walk.path.pop();
    }
}

/// A document's stylesheet links: to a Binary in the Bundle, or to the
/// FHIR stylesheet; other external ones are discouraged.
fn stylesheets<'n>(walk: &mut Walk<'_, 'n>, bundle: &'n Node) {
    let Some(index) = walk.bundles.last() else { return };
    let mut found: Vec<(usize, &'n Node, Option<usize>)> = Vec::new();
    for (i, link) in bundle.children_named("link").enumerate() {
        if link.child_text("relation") != Some("stylesheet") {
            continue;
        }
        let Some(url_node) = link.child("url") else { continue };
        let Some(url) = url_node.text() else { continue };
        found.push((i, url_node, resolve_in_document(index, url)));
    }
    for (i, url_node, resolved) in found {
        let url = url_node.text().unwrap_or("");
        if resolved.is_some() || url == FHIR_CSS {
            continue;
        }
        walk.path.push("link", Some(i));
        walk.path.push("url", None);
        if url.starts_with("http:") || url.starts_with("https:") {
            // BUNDLE_LINK_STYELSHEET_EXTERNAL
            walk.warn(url_node, IssueCode::BusinessRule, format!("External Stylesheets other than {FHIR_CSS} SHOULD not be used"));
            if url.starts_with("http:") {
                // BUNDLE_LINK_STYELSHEET_INSECURE
                walk.warn(url_node, IssueCode::Security, "The stylesheet reference is not secure".into());
            }
        } else if crate::primitive::is_absolute_url(url) {
            // BUNDLE_LINK_STYELSHEET_EXTERNAL
            walk.warn(url_node, IssueCode::BusinessRule, format!("External Stylesheets other than {FHIR_CSS} SHOULD not be used"));
            // BUNDLE_LINK_STYELSHEET_LINKABLE: an absolute URL a browser cannot follow (not http, https or ftp)
            if !url.starts_with("ftp:") {
                walk.warn(url_node, IssueCode::BusinessRule, "The stylesheet reference is not a resolvable link".into());
            }
        } else {
            // BUNDLE_LINK_STYELSHEET_NOT_FOUND
            walk.error(url_node, IssueCode::NotFound, "The stylesheet reference could not be resolved in this bundle".into());
        }
        walk.path.pop();
        walk.path.pop();
    }
}

/// Every `reference` value in a resource, nested resources included.
fn collect_references<'n>(node: &'n Node, out: &mut Vec<&'n str>) {
    for c in &node.children {
        if c.name == "reference" {
            if let Some(t) = c.text() {
                out.push(t);
            }
        }
        collect_references(c, out);
    }
}

/// The entry a URL in a document names: by fullUrl, or relative to the
/// RESTful base of the first entry (the Composition).
fn resolve_in_document(index: &BundleIndex<'_>, url: &str) -> Option<usize> {
    if let Some(&[ix]) = index.by_full_url.get(url).map(Vec::as_slice) {
        return Some(ix);
    }
    if url.contains(':') {
        return None;
    }
    let base = index.entries.first().and_then(|e| e.full_url).and_then(restful_parts).map(|(b, _, _)| b)?;
    match index.by_full_url.get(format!("{base}/{url}").as_str()).map(Vec::as_slice) {
        Some(&[ix]) => Some(ix),
        _ => None,
    }
}

/// The entries a document's stylesheet links resolve to.
fn stylesheet_entries(bundle: &Node, index: &BundleIndex<'_>) -> Vec<usize> {
    bundle
        .children_named("link")
        .filter(|l| l.child_text("relation") == Some("stylesheet"))
        .filter_map(|l| l.child_text("url"))
        .filter_map(|u| resolve_in_document(index, u))
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::context::Context;
    use crate::issue::{Issue, IssueCode, Severity};
    use crate::loader::{load, LoadOptions};
    use crate::tree::Format;
    use crate::validator::{Options, Validator};
    use serde_json::{json, Value};
    use std::sync::{Arc, OnceLock};

    fn validator() -> &'static Validator {
        static V: OnceLock<Validator> = OnceLock::new();
        V.get_or_init(|| {
            let ctx: Arc<Context> = Arc::new(load(&LoadOptions::default()).expect("the default packages load (installed on first use)"));
            Validator::new(ctx, Options::default())
        })
    }

    fn issues(bundle: Value) -> Vec<Issue> {
        validator().validate_bytes(bundle.to_string().as_bytes(), Some(Format::Json))
    }

    /// Whether the Bundle has this issue (severity, code, expression, message).
    fn has(bundle: Value, severity: Severity, code: IssueCode, expression: &str, message: &str) {
        let all = issues(bundle);
        assert!(
            all.iter().any(|i| i.severity == severity && i.code == code && i.expression == expression && i.message == message),
            "expected {severity:?} {code:?} at {expression}: {message:?}, got {all:#?}"
        );
    }

    fn lacks(bundle: Value, fragment: &str) {
        let all = issues(bundle);
        assert!(!all.iter().any(|i| i.message.contains(fragment)), "did not expect {fragment:?}: {all:#?}");
    }

    fn patient(id: &str) -> Value {
        json!({"resourceType": "Patient", "id": id, "active": true})
    }

    #[test]
    fn documents_and_messages_start_with_their_composition_or_header() {
        has(json!({"resourceType": "Bundle", "type": "message", "timestamp": "2020-01-01T00:00:00Z"}), Severity::Error, IssueCode::Invalid, "Bundle", "Documents or Messages must contain at least one entry");
        has(
            json!({"resourceType": "Bundle", "type": "document", "identifier": {"system": "urn:ietf:rfc:3986", "value": "urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0"}, "timestamp": "2020-01-01T00:00:00Z", "entry": [{"fullUrl": "urn:uuid:1"}]}),
            Severity::Error,
            IssueCode::Invalid,
            "Bundle.entry[0]",
            "No resource on first entry",
        );
        has(
            json!({"resourceType": "Bundle", "type": "document", "identifier": {"system": "urn:ietf:rfc:3986", "value": "urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0"}, "timestamp": "2020-01-01T00:00:00Z",
                "entry": [{"fullUrl": "http://x.org/fhir/Patient/p", "resource": patient("p")}]}),
            Severity::Error,
            IssueCode::Invalid,
            "Bundle.entry[0].resource",
            "The first entry in a document must be a composition",
        );
    }

    #[test]
    fn entries_have_a_full_url_but_in_transactions_batches_and_search_outcomes() {
        let msg = "Except for transactions and batches, each entry in a Bundle must have a fullUrl which is the identity of the resource in the entry";
        has(json!({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": patient("p")}]}), Severity::Error, IssueCode::Invalid, "Bundle.entry[0]", msg);
        lacks(json!({"resourceType": "Bundle", "type": "transaction", "entry": [{"resource": patient("p"), "request": {"method": "POST", "url": "Patient"}}]}), "must have a fullUrl");
        lacks(
            json!({"resourceType": "Bundle", "type": "searchset", "link": [{"relation": "self", "url": "http://x.org/fhir/Patient?name=x"}],
                "entry": [{"resource": {"resourceType": "OperationOutcome", "issue": [{"severity": "warning", "code": "informational"}]}, "search": {"mode": "outcome"}}]}),
            "must have a fullUrl",
        );
    }

    #[test]
    fn a_canonical_resource_whose_url_is_its_full_url_names_its_id() {
        let vs = |id: &str| json!({"resourceType": "ValueSet", "id": id, "url": "http://x.org/fhir/ValueSet/a", "status": "active"});
        has(
            json!({"resourceType": "Bundle", "type": "collection", "entry": [{"fullUrl": "http://x.org/fhir/ValueSet/a", "resource": vs("b")}]}),
            Severity::Error,
            IssueCode::Invalid,
            "Bundle.entry[0]",
            "The canonical URL (http://x.org/fhir/ValueSet/a) cannot match the fullUrl (http://x.org/fhir/ValueSet/a) unless the resource id (b) also matches",
        );
        lacks(json!({"resourceType": "Bundle", "type": "collection", "entry": [{"fullUrl": "http://x.org/fhir/ValueSet/a", "resource": vs("a")}]}), "cannot match the fullUrl");
    }

    #[test]
    fn paging_links_belong_to_searches_and_relations_occur_once() {
        let entry = json!([{"fullUrl": "http://x.org/fhir/Patient/p", "resource": patient("p")}]);
        has(
            json!({"resourceType": "Bundle", "type": "collection", "link": [{"relation": "next", "url": "http://x.org/2"}], "entry": entry}),
            Severity::Error,
            IssueCode::Invalid,
            "Bundle.link[0].relation",
            "The link relationship type 'next' used in search sets is prohibited in this context",
        );
        has(
            json!({"resourceType": "Bundle", "type": "collection", "link": [{"relation": "self", "url": "http://x.org/1"}, {"relation": "self", "url": "http://x.org/2"}], "entry": entry}),
            Severity::Error,
            IssueCode::Invalid,
            "Bundle.link[1]",
            "The link relationship type 'self' can only occur once",
        );
        let search = |links: Value| json!({"resourceType": "Bundle", "type": "searchset", "link": links, "entry": [{"fullUrl": "http://x.org/fhir/Patient/p", "resource": patient("p"), "search": {"mode": "match"}}]});
        has(search(json!([{"relation": "self", "url": "http://x.org/fhir/Patient"}, {"relation": "next", "url": "http://x.org/2"}, {"relation": "next", "url": "http://x.org/3"}])), Severity::Error, IssueCode::Invalid, "Bundle.link[2]", "The link relationship type 'next' can only occur once");
        lacks(search(json!([{"relation": "self", "url": "http://x.org/fhir/Patient"}, {"relation": "next", "url": "http://x.org/2"}])), "relationship type");
    }

    #[test]
    fn search_sets_say_what_was_searched_and_their_entries_match_it() {
        let entry = |resource: Value, mode: Option<&str>| {
            let mut e = json!({"fullUrl": format!("http://x.org/fhir/{}/{}", resource["resourceType"].as_str().unwrap(), resource["id"].as_str().unwrap_or("none")), "resource": resource});
            if let Some(m) = mode {
                e["search"] = json!({"mode": m});
            }
            e
        };
        let bundle = |links: Value, entries: Vec<Value>| json!({"resourceType": "Bundle", "type": "searchset", "link": links, "entry": entries});
        let self_link = json!([{"relation": "self", "url": "http://x.org/fhir/Patient?name=x"}]);
        has(bundle(json!([]), vec![entry(patient("p"), Some("match"))]), Severity::Warning, IssueCode::Invalid, "Bundle", "SearchSet Bundles should have a self link that specifies what the search was");
        has(
            bundle(self_link.clone(), vec![entry(json!({"resourceType": "Observation", "id": "o", "status": "final", "code": {"text": "x"}}), Some("match"))]),
            Severity::Error,
            IssueCode::Invalid,
            "Bundle.entry[0].resource",
            "This is not a matching resource type for the specified search (Observation expecting [Patient])",
        );
        has(bundle(self_link.clone(), vec![entry(json!({"resourceType": "Patient", "active": true}), Some("match"))]), Severity::Error, IssueCode::Invalid, "Bundle.entry[0].resource", "Search results must have ids");
        has(bundle(self_link.clone(), vec![entry(patient("p"), Some("outcome"))]), Severity::Error, IssueCode::Invalid, "Bundle.entry[0].resource", "This is not an OperationOutcome (Patient)");
        // Without modes, entries of a type the search did not ask for.
        let mixed = bundle(self_link.clone(), vec![entry(patient("p"), None), entry(json!({"resourceType": "Practitioner", "id": "d", "active": true}), None)]);
        has(mixed.clone(), Severity::Warning, IssueCode::Invalid, "Bundle", "SearchSet bundles should have search modes on the entries");
        has(mixed, Severity::Warning, IssueCode::Invalid, "Bundle.entry[1]", "This is not a matching resource type for the specified search (is a search mode needed?) (Practitioner expecting [Patient])");
        lacks(bundle(self_link, vec![entry(patient("p"), Some("match")), entry(patient("q"), Some("match"))]), "search");
        has(
            bundle(json!([{"relation": "self", "url": "http://x.org/fhir/$everything"}]), vec![entry(patient("p"), Some("match"))]),
            Severity::Information,
            IssueCode::Invalid,
            "Bundle",
            "No types could be determined from the search string, so the types can't be checked",
        );
    }

    fn entry(full_url: &str, resource: Value) -> Value {
        json!({"fullUrl": full_url, "resource": resource})
    }

    /// A document: its Composition about Patient p, then `more` entries.
    fn document(more: Vec<Value>) -> Value {
        let composition = json!({"resourceType": "Composition", "id": "c", "status": "final", "type": {"text": "note"},
            "subject": {"reference": "urn:uuid:00000000-0000-0000-0000-000000000002"}, "date": "2024-01-01",
            "author": [{"reference": "urn:uuid:00000000-0000-0000-0000-000000000002"}], "title": "Note"});
        let mut entries = vec![entry("urn:uuid:00000000-0000-0000-0000-000000000001", composition), entry("urn:uuid:00000000-0000-0000-0000-000000000002", patient("p"))];
        entries.extend(more);
        json!({"resourceType": "Bundle", "type": "document", "identifier": {"system": "urn:ietf:rfc:3986", "value": "urn:uuid:00000000-0000-0000-0000-0000000000aa"},
            "timestamp": "2024-01-01T00:00:00Z", "entry": entries})
    }

    fn observation_about(subject: &str) -> Value {
        json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "subject": {"reference": subject}})
    }

    #[test]
    fn bundle_bundle_entry_reverse_r4_and_orphans_of_a_document() {
        let backwards = entry("urn:uuid:00000000-0000-0000-0000-000000000003", observation_about("urn:uuid:00000000-0000-0000-0000-000000000002"));
        has(
            document(vec![backwards.clone()]),
            Severity::Warning,
            IssueCode::Invalid,
            "Bundle.entry[2]",
            "Entry 'urn:uuid:00000000-0000-0000-0000-000000000003' isn't reachable by traversing forwards from the Composition. Only Provenance is approved to be used this way (R4 section 3.3.1)",
        );
        let provenance = json!({"resourceType": "Provenance", "target": [{"reference": "urn:uuid:00000000-0000-0000-0000-000000000001"}], "recorded": "2024-01-01T00:00:00Z",
            "agent": [{"who": {"display": "someone"}}]});
        lacks(document(vec![entry("urn:uuid:00000000-0000-0000-0000-000000000004", provenance)]), "traversing forwards");
        let alone = entry("urn:uuid:00000000-0000-0000-0000-000000000005", patient("q"));
        has(
            document(vec![alone]),
            Severity::Error,
            IssueCode::Informational,
            "Bundle.entry[2]",
            "Entry 'urn:uuid:00000000-0000-0000-0000-000000000005' isn't reachable by traversing links (forward or backward) from the Composition",
        );
    }

    fn message(first: Value, more: Vec<Value>) -> Value {
        let mut entries = vec![entry("urn:uuid:00000000-0000-0000-0000-000000000011", first)];
        entries.extend(more);
        json!({"resourceType": "Bundle", "type": "message", "timestamp": "2024-01-01T00:00:00Z", "entry": entries})
    }

    fn header(focus: &str) -> Value {
        json!({"resourceType": "MessageHeader", "eventCoding": {"system": "http://example.org/events", "code": "e"},
            "source": {"endpoint": "http://example.org/source"}, "focus": [{"reference": focus}]})
    }

    #[test]
    fn validation_bundle_message() {
        has(
            message(patient("p"), vec![]),
            Severity::Error,
            IssueCode::Invalid,
            "Bundle.entry[0].resource",
            "The first entry in a message must be a MessageHeader",
        );
        lacks(message(header("urn:uuid:00000000-0000-0000-0000-000000000012"), vec![entry("urn:uuid:00000000-0000-0000-0000-000000000012", patient("p"))]), "must be a MessageHeader");
    }

    #[test]
    fn bundle_bundle_entry_reverse_msg_and_orphan_message() {
        let focus = entry("urn:uuid:00000000-0000-0000-0000-000000000012", patient("p"));
        let backwards = entry("urn:uuid:00000000-0000-0000-0000-000000000013", observation_about("urn:uuid:00000000-0000-0000-0000-000000000012"));
        let alone = entry("urn:uuid:00000000-0000-0000-0000-000000000014", patient("q"));
        let bundle = message(header("urn:uuid:00000000-0000-0000-0000-000000000012"), vec![focus, backwards, alone]);
        has(
            bundle.clone(),
            Severity::Information,
            IssueCode::Informational,
            "Bundle.entry[2]",
            "Entry 'urn:uuid:00000000-0000-0000-0000-000000000013' isn't reachable by traversing forwards from the MessageHeader. Check that this is meant to be included (needed to process the message)",
        );
        has(
            bundle,
            Severity::Warning,
            IssueCode::Informational,
            "Bundle.entry[3]",
            "Entry 'urn:uuid:00000000-0000-0000-0000-000000000014' isn't reachable by traversing links (forward or backward) from the MessageHeader, so its presence should be reviewed (is it needed to process the message?)",
        );
    }

}
