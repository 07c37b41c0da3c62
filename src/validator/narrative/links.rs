//! Hyperlinks and images in narrative: internal links (`href="#..."`) must
//! point at one anchor (`id`, or `name` of `a`) in the narrative or at a
//! contained resource; other links must be written with a scheme a reader
//! can follow safely; internal image sources must resolve.

use super::dom::XElement;
use std::collections::HashMap;
use std::rc::Rc;

/// How much of an element's path a message quotes: paths are as long as the
/// narrative is deep (up to 512 elements), and a narrative can hold tens of
/// thousands of links, each with a problem held until the walk reports it
/// (the thirty-second pass's X4).
const MAX_PATH_SHOWN: usize = 160;

/// A path as messages show it: the end of it (where the element is) when it is long.
fn shown(path: String) -> String {
    if path.len() <= MAX_PATH_SHOWN {
        return path;
    }
    let mut from = path.len() - MAX_PATH_SHOWN;
    while !path.is_char_boundary(from) {
        from += 1;
    }
    let tail = &path[from..];
    let tail = tail.find('/').map_or(tail, |i| &tail[i..]);
    format!("...{tail}")
}

/// Every `id` and `name` in the narrative, with where each is (`div/p/@id`).
pub(crate) fn anchors(root: &XElement) -> HashMap<String, Vec<String>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    let mut add = |path: &str, e: &XElement| {
        for (k, v) in &e.attributes {
            if k == "id" || k == "name" || k == "xml:id" {
                out.entry(v.clone()).or_default().push(shown(format!("{path}/@{k}")));
            }
        }
    };
    add(&root.name, root);
    root.visit(&root.name, &mut |path, e| add(path, e));
    out
}

/// What is wrong with one hyperlink or image.
pub(crate) enum Problem {
    /// An internal link that resolves to nothing known.
    Unresolved { href: String, path: String, text: String },
    /// An internal link that resolves to several targets (where they are).
    Ambiguous { href: String, path: String, text: String, targets: Rc<str> },
    /// `<a href="">`.
    Empty { path: String, text: String },
    /// A link whose scheme runs code (`javascript:`).
    Active { href: String, path: String, text: String, scheme: String },
    /// A link whose scheme names something rather than locating it (`urn:`, `cid:`).
    Literal { href: String, path: String, text: String, scheme: String },
    /// A link whose scheme is not one readers widely follow.
    UnknownScheme { href: String, path: String, text: String, scheme: String },
    /// An internal image source that resolves to nothing.
    ImageUnresolved { src: String, path: String },
}

/// How many of the anchors a link could mean are named in its warning.
const MAX_TARGETS_LISTED: usize = 10;

/// The problems of the narrative's links and images; `targets` counts the
/// targets of a fragment outside the narrative's own anchors (the resource
/// and its contained resources).
pub(crate) fn problems(root: &XElement, anchors: &HashMap<String, Vec<String>>, targets: &dyn Fn(&str) -> usize) -> Vec<Problem> {
    let mut out = Vec::new();
    // The list of anchors a name could mean, made once per name and shared by its links.
    let mut listings: HashMap<String, Rc<str>> = HashMap::new();
    root.visit(&root.name, &mut |path, e| {
        if e.name == "img" {
            if let Some(target) = e.attribute("src").and_then(|s| s.strip_prefix('#')) {
                if targets(target) == 0 {
                    out.push(Problem::ImageUnresolved { src: format!("#{target}"), path: shown(path.to_string()) });
                }
            }
            return;
        }
        if e.name != "a" {
            return;
        }
        let Some(href) = e.attribute("href") else { return };
        let (href, path, text) = (href.to_string(), shown(path.to_string()), e.text_prefix(MAX_PATH_SHOWN));
        if href.is_empty() {
            out.push(Problem::Empty { path, text });
        } else if let Some(target) = href.strip_prefix('#').filter(|t| !t.is_empty()) {
            let here = anchors.get(target).map_or(&[][..], Vec::as_slice);
            match here.len() + targets(target) {
                0 => out.push(Problem::Unresolved { href, path, text }),
                1 => {}
                total => {
                    // The first few anchors are named: every link to a name
                    // used thousands of times would otherwise carry every
                    // path (the thirty-first pass's W2).
                    let targets = listings
                        .entry(target.to_owned())
                        .or_insert_with(|| {
                            let mut found: Vec<&str> = here.iter().take(MAX_TARGETS_LISTED).map(String::as_str).collect();
                            if here.len() < MAX_TARGETS_LISTED && found.len() < total {
                                found.push("the resource");
                            }
                            let mut listing = found.join(", ");
                            if total > found.len() {
                                listing.push_str(&format!(" and {} more", total - found.len()));
                            }
                            Rc::from(listing)
                        })
                        .clone();
                    out.push(Problem::Ambiguous { href, path, text, targets });
                }
            }
        } else if is_absolute_url(&href) {
            let scheme = href[..href.find(':').unwrap_or(0)].to_string();
            if matches!(scheme.as_str(), "javascript" | "vbscript") {
                out.push(Problem::Active { href, path, text, scheme });
            } else if matches!(scheme.as_str(), "urn" | "cid") {
                out.push(Problem::Literal { href, path, text, scheme });
            } else if !matches!(scheme.as_str(), "http" | "https" | "tel" | "mailto" | "data") {
                out.push(Problem::UnknownScheme { href, path, text, scheme });
            }
        }
    });
    out
}

/// Whether a link is an absolute URL as the reference reads one: a
/// lower-case scheme (letters, then letters, digits, `_`), and something
/// after it with no space.
fn is_absolute_url(href: &str) -> bool {
    let Some((scheme, rest)) = href.split_once(':') else { return false };
    let token = scheme.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '[' | ']'))
        && !scheme.chars().any(|c| c.is_ascii_uppercase());
    token && !rest.is_empty() && !rest.contains(' ')
}

/// Whether a fragment could be an XML id (an NCName-like name: letters,
/// digits, `_`, `-`, `.`, `:`, not starting with a digit, `-` or `.`).
pub(crate) fn is_xml_name(s: &str) -> bool {
    let mut chars = s.chars();
    let Some(first) = chars.next() else { return false };
    (first.is_alphabetic() || first == '_' || first == ':') && chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
}
