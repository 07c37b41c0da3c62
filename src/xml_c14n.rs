//! XML canonicalization for XML digital signatures: a small namespace-aware
//! element tree read with quick-xml (no DTDs, comments dropped), written in
//! the canonical forms XML DSig names: Canonical XML 1.0 without comments
//! (`http://www.w3.org/TR/2001/REC-xml-c14n-20010315`, "inclusive") and
//! Exclusive XML Canonicalization 1.0 without comments
//! (`http://www.w3.org/2001/10/xml-exc-c14n#`, no inclusive prefix list);
//! and a comparison of two trees by structure (names, namespaces,
//! attributes and non-blank text), for saying where two documents differ.
//!
//! No crate on the registry does this over a pure-Rust reader (the ones
//! there bind libxml2), so it is written here, to the W3C rules: empty
//! elements as start and end tags, attributes sorted by namespace URI and
//! local name after the namespace declarations sorted by prefix, the
//! declarations an ancestor in the output already made left out (and, for
//! the exclusive form, only those the element or its attributes use), and
//! characters escaped as the specifications say.

use quick_xml::events::Event;
use quick_xml::Reader;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// An element: its qualified name as written, the namespaces it declares
/// (`""` for the default), its other attributes (qualified names, values
/// normalized and unescaped) and its children.
#[derive(Debug, Clone, PartialEq)]
pub struct Element {
    pub name: String,
    pub ns_decls: Vec<(String, String)>,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<XmlNode>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum XmlNode {
    Element(Element),
    Text(String),
    /// A processing instruction: target and data.
    Pi(String, String),
}

/// Nesting deeper than this is refused (as the FHIR XML reader refuses it).
const MAX_DEPTH: usize = 512;

/// More namespace declarations than this in one document are refused: every
/// element's namespace context is at most this big, so canonicalizing and
/// comparing stay linear in the document's size.
const MAX_NAMESPACE_DECLARATIONS: usize = 256;

impl Element {
    /// The first child element whose local name is `local` (any namespace),
    /// as the reference's XML utilities look children up.
    pub fn child(&self, local: &str) -> Option<&Element> {
        self.elements().find(|e| e.local_name() == local)
    }

    /// Every child element whose local name is `local`.
    pub fn children_named<'a>(&'a self, local: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.elements().filter(move |e| e.local_name() == local)
    }

    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|c| match c {
            XmlNode::Element(e) => Some(e),
            _ => None,
        })
    }

    pub fn local_name(&self) -> &str {
        local(&self.name)
    }

    /// An attribute's value by qualified name; `""` when absent (as DOM's `getAttribute`).
    pub fn attr(&self, name: &str) -> &str {
        self.attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or("")
    }

    /// All the text inside, as DOM's `getTextContent`.
    pub fn text_content(&self) -> String {
        let mut out = String::new();
        fn gather(e: &Element, out: &mut String) {
            for c in &e.children {
                match c {
                    XmlNode::Text(t) => out.push_str(t),
                    XmlNode::Element(e) => gather(e, out),
                    XmlNode::Pi(..) => {}
                }
            }
        }
        gather(self, &mut out);
        out
    }

    /// The element at `path` (local names of child elements, one per level)
    /// and the namespaces in scope at its parent, for canonicalizing it apart.
    pub fn descendant(&self, path: &[&str]) -> Option<(&Element, Scope)> {
        let mut scope = Scope::default();
        let mut at = self;
        for step in path {
            scope = scope.within(at).into_owned();
            at = at.child(step)?;
        }
        Some((at, scope))
    }
}

fn local(qname: &str) -> &str {
    qname.rsplit_once(':').map(|(_, l)| l).unwrap_or(qname)
}

fn prefix(qname: &str) -> &str {
    qname.split_once(':').map(|(p, _)| p).unwrap_or("")
}

/// The namespace bindings in scope: prefix (`""` the default) → URI.
#[derive(Debug, Clone, Default)]
pub struct Scope(BTreeMap<String, String>);

impl Scope {
    /// The scope inside `e`: this one, unless `e` declares namespaces.
    fn within(&self, e: &Element) -> Cow<'_, Scope> {
        if e.ns_decls.is_empty() {
            return Cow::Borrowed(self);
        }
        let mut s = self.clone();
        for (p, u) in &e.ns_decls {
            s.0.insert(p.clone(), u.clone());
        }
        Cow::Owned(s)
    }

    fn uri(&self, prefix: &str) -> Option<&str> {
        match prefix {
            "xml" => Some("http://www.w3.org/XML/1998/namespace"),
            p => self.0.get(p).map(String::as_str).filter(|u| !u.is_empty()),
        }
    }
}

/// Reads a document: its root element, or what makes it unreadable.
pub fn parse(bytes: &[u8]) -> Result<Element, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("Invalid UTF-8 in the XML: {e}"))?;
    let mut reader = Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    reader.config_mut().check_comments = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut declarations = 0usize;
    loop {
        let event = reader.read_event().map_err(|e| format!("{e} (at byte {})", reader.buffer_position()))?;
        match event {
            Event::Start(s) | Event::Empty(s) if root.is_some() && stack.is_empty() => {
                let _ = s;
                return Err("Content is not allowed after the document element".into());
            }
            Event::Start(s) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(format!("The XML is nested more than {MAX_DEPTH} levels deep"));
                }
                let e = start(&s)?;
                declarations = counted(declarations, &e)?;
                stack.push(e);
            }
            Event::Empty(s) => {
                let e = start(&s)?;
                declarations = counted(declarations, &e)?;
                close(e, &mut stack, &mut root)?;
            }
            Event::End(_) => {
                let e = stack.pop().ok_or("An end tag has no start tag")?;
                close(e, &mut stack, &mut root)?;
            }
            Event::Text(t) => {
                let raw = std::str::from_utf8(t.as_ref()).map_err(|e| e.to_string())?;
                let value = unescape(&normalize_newlines(raw))?;
                match stack.last_mut() {
                    Some(parent) => push_text(parent, value),
                    None if value.trim_matches([' ', '\t', '\n', '\r']).is_empty() => {}
                    None => return Err("Content is not allowed outside the document element".into()),
                }
            }
            Event::CData(c) => {
                let raw = std::str::from_utf8(c.as_ref()).map_err(|e| e.to_string())?;
                match stack.last_mut() {
                    Some(parent) => push_text(parent, normalize_newlines(raw)),
                    None => return Err("Content is not allowed outside the document element".into()),
                }
            }
            Event::PI(pi) => {
                if let Some(parent) = stack.last_mut() {
                    let target = String::from_utf8_lossy(pi.target()).into_owned();
                    let data = String::from_utf8_lossy(pi.content()).trim_start().to_string();
                    parent.children.push(XmlNode::Pi(target, data));
                }
            }
            Event::DocType(_) => return Err("DOCTYPE is not allowed".into()),
            Event::Comment(_) | Event::Decl(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err("The document ended inside an element".into());
    }
    let root = root.ok_or("There is no document element")?;
    check_prefixes(&root, &Scope::default())?;
    Ok(root)
}

fn counted(so_far: usize, e: &Element) -> Result<usize, String> {
    let n = so_far + e.ns_decls.len();
    if n > MAX_NAMESPACE_DECLARATIONS {
        return Err(format!("The XML declares more than {MAX_NAMESPACE_DECLARATIONS} namespaces"));
    }
    Ok(n)
}

fn push_text(parent: &mut Element, value: String) {
    if let Some(XmlNode::Text(t)) = parent.children.last_mut() {
        t.push_str(&value);
    } else {
        parent.children.push(XmlNode::Text(value));
    }
}

fn close(e: Element, stack: &mut Vec<Element>, root: &mut Option<Element>) -> Result<(), String> {
    match stack.last_mut() {
        Some(parent) => parent.children.push(XmlNode::Element(e)),
        None => *root = Some(e),
    }
    Ok(())
}

/// How many attributes one element of signed XML may carry (the FHIR XML reader allows 100).
const MAX_ATTRIBUTES: usize = 256;

fn start(s: &quick_xml::events::BytesStart<'_>) -> Result<Element, String> {
    let name = String::from_utf8_lossy(s.name().as_ref()).into_owned();
    let mut e = Element { name, ns_decls: Vec::new(), attrs: Vec::new(), children: Vec::new() };
    // quick-xml's own duplicate check compares each attribute with every
    // earlier one (quadratic: the thirty-third pass's Y1); names are checked
    // through a set instead, and an element may carry only so many.
    let mut names = std::collections::HashSet::new();
    for a in s.attributes().with_checks(false) {
        let a = a.map_err(|err| err.to_string())?;
        // Namespace declarations have their own limit (MAX_NAMESPACE_DECLARATIONS).
        let declaration = a.key.as_ref() == b"xmlns" || a.key.as_ref().starts_with(b"xmlns:");
        if !declaration && e.attrs.len() >= MAX_ATTRIBUTES {
            return Err(format!("an element has more than {MAX_ATTRIBUTES} attributes"));
        }
        if !names.insert(a.key.as_ref().to_vec()) {
            return Err(format!("the attribute '{}' is given twice", String::from_utf8_lossy(a.key.as_ref())));
        }
        let key = String::from_utf8_lossy(a.key.as_ref()).into_owned();
        let raw = std::str::from_utf8(&a.value).map_err(|err| err.to_string())?;
        // Attribute-value normalization: literal white space becomes a space.
        let value = unescape(&normalize_newlines(raw).replace(['\t', '\n'], " "))?;
        if key == "xmlns" {
            e.ns_decls.push((String::new(), value));
        } else if let Some(p) = key.strip_prefix("xmlns:") {
            if value.is_empty() {
                return Err(format!("The namespace prefix \"{p}\" is undeclared with an empty value"));
            }
            e.ns_decls.push((p.to_string(), value));
        } else {
            e.attrs.push((key, value));
        }
    }
    Ok(e)
}

/// Every prefix used is bound (a namespace-aware parser's rule).
fn check_prefixes(e: &Element, parent: &Scope) -> Result<(), String> {
    let scope = parent.within(e);
    let p = prefix(&e.name);
    if !p.is_empty() && scope.uri(p).is_none() {
        return Err(format!("The prefix \"{p}\" for element \"{}\" is not bound.", e.name));
    }
    for (k, _) in &e.attrs {
        let p = prefix(k);
        if !p.is_empty() && scope.uri(p).is_none() {
            return Err(format!("The prefix \"{p}\" for attribute \"{k}\" associated with an element type \"{}\" is not bound.", e.name));
        }
    }
    e.elements().try_for_each(|c| check_prefixes(c, &scope))
}

fn normalize_newlines(s: &str) -> String {
    if s.contains('\r') {
        s.replace("\r\n", "\n").replace('\r', "\n")
    } else {
        s.to_string()
    }
}

/// The five predefined entities and character references; anything else is an error.
fn unescape(s: &str) -> Result<String, String> {
    if !s.contains('&') {
        return Ok(s.to_string());
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let end = after.find(';').ok_or("An entity reference is not terminated by ';'")?;
        let name = &after[..end];
        let c = match name {
            "lt" => '<',
            "gt" => '>',
            "amp" => '&',
            "apos" => '\'',
            "quot" => '"',
            n if n.starts_with("#x") => u32::from_str_radix(&n[2..], 16).ok().and_then(char::from_u32).ok_or(format!("Invalid character reference &{n};"))?,
            n if n.starts_with('#') => n[1..].parse::<u32>().ok().and_then(char::from_u32).ok_or(format!("Invalid character reference &{n};"))?,
            n => return Err(format!("The entity \"{n}\" was referenced, but not declared.")),
        };
        out.push(c);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Which canonical form.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Method {
    /// Canonical XML 1.0, without comments.
    Inclusive,
    /// Exclusive XML Canonicalization 1.0, without comments.
    Exclusive,
}

pub const INCLUSIVE: &str = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315";
pub const EXCLUSIVE: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";

/// A document read and written in canonical form.
pub fn canonicalize_document(bytes: &[u8], method: Method) -> Result<Vec<u8>, String> {
    let root = parse(bytes)?;
    Ok(canonicalize(&root, &Scope::default(), method))
}

/// The subtree at `e` in canonical form; `scope` holds the namespaces its
/// ancestors bind (empty for a document element).
pub fn canonicalize(e: &Element, scope: &Scope, method: Method) -> Vec<u8> {
    let mut out = String::new();
    write(e, scope, &Scope::default(), method, &mut out);
    out.into_bytes()
}

fn write(e: &Element, parent: &Scope, rendered: &Scope, method: Method, out: &mut String) {
    let scope = parent.within(e);
    // The namespace declarations this element writes: those in scope (or,
    // exclusively, those it visibly uses) that the output above it has not
    // already made, the default undeclared with xmlns="" when needed.
    let candidates: Vec<&str> = match method {
        Method::Inclusive => scope.0.keys().map(String::as_str).collect(),
        Method::Exclusive => {
            let mut used = vec![prefix(&e.name)];
            used.extend(e.attrs.iter().map(|(k, _)| prefix(k)).filter(|p| !p.is_empty()));
            used.sort();
            used.dedup();
            used
        }
    };
    let mut decls: Vec<(String, String)> = Vec::new();
    for p in candidates {
        if p == "xml" {
            continue;
        }
        let value = scope.0.get(p).map(String::as_str).unwrap_or("");
        let before = rendered.0.get(p).map(String::as_str).unwrap_or("");
        if value != before {
            decls.push((p.to_string(), value.to_string()));
        }
    }
    decls.sort();
    let now_rendered = if decls.is_empty() {
        Cow::Borrowed(rendered)
    } else {
        let mut r = rendered.clone();
        for (p, u) in &decls {
            r.0.insert(p.clone(), u.clone());
        }
        Cow::Owned(r)
    };
    let mut attrs: Vec<(&str, &str, &str, &str)> = e
        .attrs
        .iter()
        .map(|(k, v)| {
            let p = prefix(k);
            let uri = if p.is_empty() { "" } else { scope.uri(p).unwrap_or("") };
            (uri, local(k), k.as_str(), v.as_str())
        })
        .collect();
    attrs.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    out.push('<');
    out.push_str(&e.name);
    for (p, u) in &decls {
        out.push_str(if p.is_empty() { " xmlns" } else { " xmlns:" });
        out.push_str(p);
        out.push_str("=\"");
        escape_attr(u, out);
        out.push('"');
    }
    for (_, _, name, value) in attrs {
        out.push(' ');
        out.push_str(name);
        out.push_str("=\"");
        escape_attr(value, out);
        out.push('"');
    }
    out.push('>');
    for c in &e.children {
        match c {
            XmlNode::Element(child) => write(child, &scope, &now_rendered, method, out),
            XmlNode::Text(t) => escape_text(t, out),
            XmlNode::Pi(target, data) => {
                out.push_str("<?");
                out.push_str(target);
                if !data.is_empty() {
                    out.push(' ');
                    out.push_str(data);
                }
                out.push_str("?>");
            }
        }
    }
    out.push_str("</");
    out.push_str(&e.name);
    out.push('>');
}

fn escape_attr(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#x9;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

fn escape_text(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

/// Where two documents differ in structure (namespaces, names, attributes
/// other than namespace declarations, and text with white space collapsed;
/// blank text ignored), or `None` when they agree.
pub fn structure_difference(expected: &Element, actual: &Element) -> Option<String> {
    compare(expected, &Scope::default(), actual, &Scope::default(), "")
}

fn compare(a: &Element, a_parent: &Scope, b: &Element, b_parent: &Scope, path: &str) -> Option<String> {
    let (sa, sb) = (a_parent.within(a), b_parent.within(b));
    let (na, nb) = (sa.uri(prefix(&a.name)).unwrap_or(""), sb.uri(prefix(&b.name)).unwrap_or(""));
    if na != nb {
        return Some(format!("Namespaces differ at {path}: '{na}' vs '{nb}'"));
    }
    if a.local_name() != b.local_name() {
        return Some(format!("Names differ at {path}: '{}' vs '{}'", a.local_name(), b.local_name()));
    }
    let path = format!("{path}/{}", a.local_name());
    for (k, v) in &a.attrs {
        match b.attrs.iter().find(|(k2, _)| k2 == k) {
            None => return Some(format!("Attributes differ at {path}: missing attribute {k}")),
            Some((_, w)) if collapse(v) != collapse(w) => {
                return Some(format!("Attributes differ at {path}: '{}' vs '{}'", collapse(v), collapse(w)));
            }
            _ => {}
        }
    }
    if let Some((k, _)) = b.attrs.iter().find(|(k, _)| !a.attrs.iter().any(|(k2, _)| k2 == k)) {
        return Some(format!("Attributes differ at {path}: extra attribute {k}"));
    }
    let (ca, cb) = (significant(a), significant(b));
    for (x, y) in ca.iter().copied().zip(cb.iter().copied()) {
        match (x, y) {
            (XmlNode::Text(t), XmlNode::Text(u)) if collapse(t) != collapse(u) => {
                return Some(format!("Text differs at {path}: '{}' vs '{}'", collapse(t), collapse(u)));
            }
            (XmlNode::Element(x), XmlNode::Element(y)) => {
                if let Some(d) = compare(x, &sa, y, &sb, &path) {
                    return Some(d);
                }
            }
            (XmlNode::Text(_), XmlNode::Text(_)) => {}
            _ => return Some(format!("node type mismatch in children of {path}")),
        }
    }
    match ca.len().cmp(&cb.len()) {
        std::cmp::Ordering::Greater => Some(format!("node mismatch - more nodes in the canonical form in children of {path}")),
        std::cmp::Ordering::Less => Some(format!("node mismatch - more nodes in the signed bytes in children of {path}")),
        std::cmp::Ordering::Equal => None,
    }
}

/// The children that count when comparing: no blank text, no processing instructions.
fn significant(e: &Element) -> Vec<&XmlNode> {
    e.children.iter().filter(|c| !matches!(c, XmlNode::Text(t) if t.trim().is_empty()) && !matches!(c, XmlNode::Pi(..))).collect()
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c14n(s: &str, m: Method) -> String {
        String::from_utf8(canonicalize_document(s.as_bytes(), m).unwrap()).unwrap()
    }

    #[test]
    fn inclusive_form_expands_empty_elements_sorts_attributes_and_drops_redundant_declarations() {
        let doc = "<?xml version=\"1.0\"?>\n<!-- c --><a xmlns=\"urn:a\" b='2' a=\"1&#10;\"><b xmlns=\"urn:a\" z:c=\"x\" xmlns:z=\"urn:z\"/>&gt;<![CDATA[<&]]></a>";
        assert_eq!(c14n(doc, Method::Inclusive), "<a xmlns=\"urn:a\" a=\"1&#xA;\" b=\"2\"><b xmlns:z=\"urn:z\" z:c=\"x\"></b>&gt;&lt;&amp;</a>");
    }

    #[test]
    fn exclusive_form_writes_only_the_namespaces_used() {
        let doc = "<r xmlns:x=\"urn:x\" xmlns:y=\"urn:y\"><x:p Id=\"P\"><x:q>t</x:q><s/></x:p></r>";
        let root = parse(doc.as_bytes()).unwrap();
        let (p, scope) = root.descendant(&["p"]).unwrap();
        assert_eq!(String::from_utf8(canonicalize(p, &scope, Method::Exclusive)).unwrap(), "<x:p xmlns:x=\"urn:x\" Id=\"P\"><x:q>t</x:q><s></s></x:p>");
        assert_eq!(
            String::from_utf8(canonicalize(p, &scope, Method::Inclusive)).unwrap(),
            "<x:p xmlns:x=\"urn:x\" xmlns:y=\"urn:y\" Id=\"P\"><x:q>t</x:q><s></s></x:p>"
        );
    }

    #[test]
    fn default_namespace_is_undeclared_when_an_element_leaves_it() {
        let doc = "<a xmlns=\"urn:a\"><b xmlns=\"\"><c/></b></a>";
        assert_eq!(c14n(doc, Method::Inclusive), "<a xmlns=\"urn:a\"><b xmlns=\"\"><c></c></b></a>");
        assert_eq!(c14n(doc, Method::Exclusive), "<a xmlns=\"urn:a\"><b xmlns=\"\"><c></c></b></a>");
    }

    #[test]
    fn unreadable_documents_say_why() {
        assert!(parse(b"<a><b></a>").is_err());
        assert!(parse(b"<x:a/>").unwrap_err().contains("not bound"));
        assert!(parse(b"<!DOCTYPE a><a/>").is_err());
        assert!(parse(b"{\"a\": 1}").is_err());
        assert!(parse(b"<a>&foo;</a>").is_err());
        let many: String = (0..300).map(|i| format!(" xmlns:p{i}=\"urn:{i}\"")).collect();
        assert!(parse(format!("<a{many}/>").as_bytes()).unwrap_err().contains("namespaces"));
    }

    #[test]
    fn structures_compare_past_white_space() {
        let a = parse(b"<a xmlns=\"urn:a\"><b v=\"1\"/></a>").unwrap();
        let b = parse(b"<a xmlns=\"urn:a\">\n  <b v=\"1\"></b>\n</a>").unwrap();
        assert_eq!(structure_difference(&a, &b), None);
        let c = parse(b"<a xmlns=\"urn:a\"><b v=\"2\"/></a>").unwrap();
        assert_eq!(structure_difference(&a, &c).unwrap(), "Attributes differ at /a/b: '1' vs '2'");
    }
}
