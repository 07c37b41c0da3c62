//! The reference's rules on how narrative XHTML is put together, read as the
//! narrative is streamed (no tree): block content inside paragraphs, inline
//! elements nested in themselves, empty elements with children, table and
//! list parts out of place, duplicate ids and anchor names, and the URLs of
//! links and images.
//!
//! Each element looks back at a bounded number of its open ancestors, so a
//! narrative nested a hundred thousand deep costs no more than a shallow one
//! of the same length.

use crate::issue::{quoted, IssueCode, Severity};
use std::collections::HashMap;

/// How many open ancestors an element looks back at for the paragraph and
/// recursion rules.
const LOOK_BACK: usize = 64;
/// Entries listed in one message.
const LISTED: usize = 10;
/// Problems kept in all.
const MAX_PROBLEMS: usize = 50;
/// Descendant paths kept for the paragraph and recursion messages, over the
/// whole narrative; past it an ancestor only notes that there are some.
const PATHS_KEPT: usize = 1_000;

/// Block structures a paragraph or text element must not contain.
fn block_for_para(name: &str) -> bool {
    matches!(name, "div" | "pre" | "table" | "ul" | "ol")
}

/// Elements the reference reads as paragraphs or text (its `pRules`).
fn para_like(name: &str) -> bool {
    matches!(
        name,
        "p" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "pre" | "address" | "span" | "caption" | "dd" | "dt"
    ) || inline(name)
}

/// Inline elements that must not be nested in themselves.
fn inline(name: &str) -> bool {
    matches!(
        name,
        "a" | "b" | "em" | "i" | "strong" | "small" | "big" | "sub" | "sup" | "code" | "tt" | "dfn" | "q" | "var" | "abbr" | "acronym" | "cite"
            | "bdo" | "kbd" | "samp"
    )
}

/// Elements that can have no children at all.
fn childless(name: &str) -> bool {
    matches!(name, "br" | "img" | "hr" | "area")
}

/// The children an element may only have, for those that say.
fn only_children(name: &str) -> Option<&'static [&'static str]> {
    Some(match name {
        "table" => &["tbody", "tr", "caption", "thead", "tfoot", "col", "colgroup"],
        "tr" => &["td", "th"],
        "tbody" | "thead" | "tfoot" => &["tr"],
        "ul" | "ol" => &["li"],
        "dl" => &["dd", "dt"],
        "map" => &["area"],
        _ => return None,
    })
}

/// The parents an element must be in, for those that say.
fn parents(name: &str) -> Option<&'static [&'static str]> {
    Some(match name {
        "tr" => &["table", "thead", "tfoot", "tbody"],
        "tbody" | "thead" | "tfoot" | "caption" | "colgroup" => &["table"],
        "col" => &["colgroup", "table"],
        "th" | "td" => &["tr", "thead", "tfoot"],
        "li" => &["ul", "ol"],
        "dd" | "dt" => &["dl"],
        _ => return None,
    })
}

/// Elements that may not appear inside a paragraph at all.
fn illegal_in_para(name: &str) -> bool {
    matches!(name, "div" | "blockquote" | "table" | "ol" | "ul" | "p")
}

struct Frame {
    name: String,
    has_child: bool,
    illegal_children: Vec<String>,
    blocks: Vec<String>,
    nested: Vec<String>,
}

impl Frame {
    fn new(name: &str) -> Frame {
        Frame { name: name.to_string(), has_child: false, illegal_children: Vec::new(), blocks: Vec::new(), nested: Vec::new() }
    }
}

#[derive(Default)]
pub(super) struct Shape {
    stack: Vec<Frame>,
    paragraphs: usize,
    paths_kept: usize,
    ids: HashMap<String, usize>,
    pub problems: Vec<(Severity, IssueCode, String)>,
}

impl Shape {
    pub fn problem(&mut self, severity: Severity, code: IssueCode, msg: String) {
        if !self.full() {
            self.problems.push((severity, code, msg));
        }
    }

    /// Whether no more problems are kept: checked before a message's path
    /// is put together (a path is as long as the nesting is deep).
    fn full(&self) -> bool {
        self.problems.len() >= MAX_PROBLEMS
    }

    /// The reference's path of an open element: the names from the narrative's
    /// `div` down, joined with `/`, `name` last.
    fn path_to(&self, from: usize, name: &str) -> String {
        let mut out = String::new();
        for f in &self.stack[from..] {
            out.push_str(&f.name);
            out.push('/');
        }
        out.push_str(name);
        out
    }

    /// An element starts; `attr` gives its attributes' values by name.
    pub fn open(&mut self, name: &str, attr: &dyn Fn(&str) -> Option<String>) {
        // Ids and anchor names, counted over the whole narrative.
        let id = attr("id");
        if let Some(id) = &id {
            *self.ids.entry(id.clone()).or_default() += 1;
        }
        if name == "a" {
            if let Some(n) = attr("name").filter(|n| Some(n) != id.as_ref()) {
                *self.ids.entry(n).or_default() += 1;
            }
        }
        let url = match name {
            "a" => attr("href"),
            "img" => attr("src"),
            _ => None,
        };
        if let Some(url) = url {
            if let Some(why) = url_problem(&url) {
                // XHTML_URL_INVALID
                self.problem(Severity::Error, IssueCode::Invalid, format!("The URL is not valid because '({why})': {}", quoted(&url)));
            }
        }
        if self.stack.is_empty() {
            // The narrative's own div: the rules are about what it holds.
            self.stack.push(Frame::new(name));
            return;
        }
        if self.paragraphs > 0 && illegal_in_para(name) {
            // XHTML_XHTML_ELEMENT_ILLEGAL_IN_PARA
            self.problem(Severity::Error, IssueCode::Invalid, format!("Invalid element name inside a paragraph in the XHTML ('{}')", quoted(name)));
        }
        let parent = self.stack.len() - 1;
        self.stack[parent].has_child = true;
        if let Some(allowed) = only_children(&self.stack[parent].name) {
            if !allowed.contains(&name) && self.stack[parent].illegal_children.len() < LISTED {
                self.stack[parent].illegal_children.push(name.to_string());
            }
        }
        if let Some(allowed) = parents(name) {
            let parent_name = self.stack[parent].name.clone();
            if !allowed.contains(&parent_name.as_str()) && !self.full() {
                let at = self.path_to(0, name);
                // XHTML_XHTML_OUT_OF_PLACE
                self.problem(Severity::Error, IssueCode::Structure, format!("Elements of type {name} must be in a {}, not a {parent_name} at {at}", allowed.join("|")));
            }
        }
        // Paragraph and recursion rules: the element is a descendant of each
        // open ancestor (the narrative's div excepted).
        let block = block_for_para(name);
        let low = self.stack.len().saturating_sub(LOOK_BACK).max(1);
        for a in (low..self.stack.len()).rev() {
            let f = &self.stack[a];
            let wants_block = block && para_like(&f.name) && f.blocks.len() < LISTED;
            let wants_nested = inline(name) && f.name == name && f.nested.len() < LISTED;
            if (wants_block && !f.blocks.is_empty() || wants_nested && !f.nested.is_empty()) && self.paths_kept >= PATHS_KEPT {
                continue; // the ancestor already has what it reports
            }
            if wants_block || wants_nested {
                let rel = if self.paths_kept < PATHS_KEPT { self.path_to(a, name) } else { "…".to_string() };
                self.paths_kept += 1;
                let f = &mut self.stack[a];
                if wants_block {
                    f.blocks.push(rel.clone());
                }
                if wants_nested {
                    f.nested.push(rel);
                }
            }
        }
        if name == "p" {
            self.paragraphs += 1;
        }
        self.stack.push(Frame::new(name));
    }

    /// Text inside the open element: `blank` when it is only whitespace.
    pub fn text(&mut self, blank: bool) {
        if self.stack.len() < 2 {
            return;
        }
        let f = self.stack.last_mut().expect("an open element");
        f.has_child = true;
        if !blank && only_children(&f.name).is_some() && f.illegal_children.len() < LISTED {
            f.illegal_children.push("@text".into());
        }
    }

    /// A processing instruction inside the narrative.
    pub fn instruction(&mut self) {
        if self.full() {
            return;
        }
        let at = self.path_to(0, "").trim_end_matches('/').to_string();
        // XHTML_XHTML_BAD_ELEMENT_TYPE
        self.problem(Severity::Error, IssueCode::Structure, format!("Elements of type [{}] cannot appear at {at}", "@instruction"));
        if let Some(f) = self.stack.last_mut() {
            f.has_child = true;
        }
    }

    /// The open element ends.
    pub fn close(&mut self) {
        let Some(f) = self.stack.pop() else { return };
        if self.stack.is_empty() {
            return;
        }
        let name = f.name.as_str();
        if name == "p" {
            self.paragraphs = self.paragraphs.saturating_sub(1);
        }
        let reported = !f.blocks.is_empty() || !f.nested.is_empty() || !f.illegal_children.is_empty();
        let at = if reported && !self.full() { self.path_to(0, name) } else { String::new() };
        if !f.blocks.is_empty() {
            // XHTML_XHTML_BLOCK_IN_PARA
            self.problem(Severity::Error, IssueCode::Structure, format!("Found block structures inside a paragraph/text element {name} at {at}: {}", f.blocks.join(",")));
        }
        if !f.nested.is_empty() {
            // XHTML_XHTML_NO_RECURSION
            self.problem(Severity::Error, IssueCode::Structure, format!("Elements of type {name} at {at} cannot contain nested {name} at {}", f.nested.join(",")));
        }
        if childless(name) && f.has_child {
            // XHTML_XHTML_NO_CHILDREN
            self.problem(Severity::Error, IssueCode::Structure, format!("Elements of type {name} cannot have children"));
        }
        if !f.illegal_children.is_empty() {
            // XHTML_XHTML_ILLEGAL_CHILDREN
            self.problem(Severity::Error, IssueCode::Structure, format!("Elements of type {name} at {at} cannot have the following children: {}", f.illegal_children.join(",")));
        }
    }

    /// After the last element: the ids and anchor names used more than once.
    pub fn finish(&mut self) {
        let mut dups: Vec<(&String, &usize)> = self.ids.iter().filter(|(_, &n)| n > 1).collect();
        if dups.is_empty() {
            return;
        }
        dups.sort();
        let listed: Vec<String> = dups.iter().take(LISTED * 5).map(|(k, n)| format!("{} ({n}x)", quoted(k))).collect();
        // XHTML_XHTML_DUPLICATE_IDS
        let msg = format!("The XHTML  the resource contains more than one node for each of the following node ids and anchor names: {}", listed.join(", "));
        self.problem(Severity::Warning, IssueCode::BusinessRule, msg);
    }
}

/// Why a link's or image's URL is not valid, as the reference's `UrlUtil` says.
fn url_problem(value: &str) -> Option<String> {
    if value.is_empty() {
        // XHTML_URL_EMPTY
        return Some(format!("URL is empty"));
    }
    if let Some(rest) = value.strip_prefix("data:") {
        // Split at commas, dropping trailing empty parts as the reference's split does.
        let mut parts: Vec<&str> = rest.split(',').collect();
        while parts.len() > 1 && parts.last() == Some(&"") {
            parts.pop();
        }
        if parts.len() == 1 && parts[0].is_empty() && rest.contains(',') {
            parts.clear();
        }
        if parts.len() < 2 {
            // XHTML_URL_DATA_NO_DATA
            return Some(format!("No data found in data: URL"));
        }
        if parts.len() > 2 {
            // XHTML_URL_DATA_DATA_INVALID_COMMA
            return Some(format!("Comma found in data portion of data URL: {}", quoted(value)));
        }
        let base64 = parts[0].ends_with(";base64");
        if base64 && !base64_length_ok(parts[1]) {
            // XHTML_URL_DATA_DATA_INVALID
            return Some(format!("The data should be valid base64 content for a data: URL: {}", quoted(value)));
        }
        let head = parts[0].trim_start();
        let mimetype = if base64 { &head[..head.rfind(';').unwrap_or(head.len())] } else { head };
        if !mimetype.trim().is_empty() && !mime_type_ok(mimetype) {
            // XHTML_URL_DATA_MIMETYPE
            return Some(format!("The mimetype portion of the data: URL is not valid ({}) in URL: {}", "Mime type invalid", quoted(value)));
        }
        return None;
    }
    let allowed = |c: char| c.is_alphanumeric() || ";?:@&=+$.,/%-_~#[]!'()*|".contains(c);
    let mut count = 0usize;
    let mut bad: Vec<String> = Vec::new();
    for c in value.chars().filter(|&c| !allowed(c)) {
        count += 1;
        let shown = format!("'{c}'");
        if !bad.contains(&shown) && bad.len() < LISTED {
            bad.push(shown);
        }
    }
    if count == 0 {
        return None;
    }
    bad.sort();
    Some(if count == 1 {
        // XHTML_URL_INVALID_CHARS_one
        format!("URL contains Invalid Character: {}", bad.join(","))
    } else {
        // XHTML_URL_INVALID_CHARS_other
        format!("URL contains {count} Invalid Characters: {}", bad.join(","))
    })
}

/// The reference's base64 test: the letters, digits, `/`, `=` and `+`
/// (whitespace aside) come in fours.
fn base64_length_ok(data: &str) -> bool {
    let n = data.chars().filter(|&c| c.is_alphanumeric() || matches!(c, '/' | '=' | '+')).count();
    n % 4 == 0
}

/// `type/subtype`, optionally `;name=value`, as the reference's pattern
/// (`^(\w+|\*)/([\w-+]+|\*)((;\s*(\w+)=\s*(\S+))?)$`) reads a mime type.
fn mime_type_ok(mt: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let Some((ty, rest)) = mt.split_once('/') else { return false };
    if !(ty == "*" || (!ty.is_empty() && ty.chars().all(word))) {
        return false;
    }
    let (sub, param) = match rest.split_once(';') {
        Some((s, p)) => (s, Some(p)),
        None => (rest, None),
    };
    if !(sub == "*" || (!sub.is_empty() && sub.chars().all(|c| word(c) || c == '-' || c == '+'))) {
        return false;
    }
    match param {
        None => true,
        Some(p) => {
            let p = p.trim_start();
            let Some((name, value)) = p.split_once('=') else { return false };
            let value = value.trim_start();
            !name.is_empty() && name.chars().all(word) && !value.is_empty() && !value.chars().any(char::is_whitespace)
        }
    }
}
