//! A small element tree of well-formed narrative XHTML, for the rules that
//! look at structure (language sections, source classes, anchors).

use quick_xml::events::Event;
use quick_xml::Reader;

#[derive(Debug, Default)]
pub(crate) struct XElement {
    /// Local name (`div`, `a`).
    pub name: String,
    pub attributes: Vec<(String, String)>,
    pub children: Vec<XNode>,
}

#[derive(Debug)]
pub(crate) enum XNode {
    Element(XElement),
    Text(String),
}

impl XElement {
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// `xml:lang`, else `lang`.
    pub fn lang(&self) -> Option<&str> {
        self.attribute("xml:lang").or_else(|| self.attribute("lang")).filter(|l| !l.is_empty())
    }

    pub fn elements(&self) -> impl Iterator<Item = &XElement> {
        self.children.iter().filter_map(|c| match c {
            XNode::Element(e) => Some(e),
            XNode::Text(_) => None,
        })
    }

    /// The start of the text inside, whitespace collapsed, at most `limit`
    /// bytes then `...`: what a message quotes. Gathering stops at the
    /// limit, so nested elements do not each copy all the text below them
    /// (the thirty-third pass's Y4).
    pub fn text_prefix(&self, limit: usize) -> String {
        let mut raw = String::new();
        self.collect_text_limited(&mut raw, limit.saturating_mul(4).max(64));
        let out = raw.split_whitespace().collect::<Vec<_>>().join(" ");
        crate::issue::shortened(&out, limit, "...").into_owned()
    }

    fn collect_text_limited(&self, out: &mut String, limit: usize) {
        for c in &self.children {
            if out.len() >= limit {
                return;
            }
            match c {
                XNode::Text(t) => {
                    out.push(' ');
                    let room = limit.saturating_sub(out.len());
                    let mut cut = t.len().min(room);
                    while !t.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    out.push_str(&t[..cut]);
                }
                XNode::Element(e) => e.collect_text_limited(out, limit),
            }
        }
    }

    /// Whether any text that is not whitespace is inside.
    pub fn has_text(&self) -> bool {
        self.children.iter().any(|c| match c {
            XNode::Text(t) => !t.trim().is_empty(),
            XNode::Element(e) => e.has_text(),
        })
    }

    /// Calls `f` with every element below this one and its path.
    pub fn visit<'a>(&'a self, path: &str, f: &mut dyn FnMut(&str, &'a XElement)) {
        for e in self.elements() {
            let p = format!("{path}/{}", e.name);
            f(&p, e);
            e.visit(&p, f);
        }
    }
}

/// The root element, or `None` when the XHTML is not well-formed or is
/// nested deeper than [`super::MAX_XHTML_DEPTH`] (the syntax checks report
/// both): the tree is walked and dropped recursively.
pub(crate) fn parse(xhtml: &str) -> Option<XElement> {
    let mut reader = Reader::from_str(xhtml);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<XElement> = Vec::new();
    let mut root: Option<XElement> = None;
    loop {
        match reader.read_event().ok()? {
            Event::Start(e) => {
                if stack.len() >= super::MAX_XHTML_DEPTH {
                    return None;
                }
                stack.push(element(&e)?)
            }
            Event::Empty(e) => {
                let el = element(&e)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(XNode::Element(el)),
                    None => root = root.or(Some(el)),
                }
            }
            Event::End(_) => {
                let el = stack.pop()?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(XNode::Element(el)),
                    None => root = root.or(Some(el)),
                }
            }
            Event::Text(t) => {
                if let Some(parent) = stack.last_mut() {
                    let text = t.unescape().map(|c| c.into_owned()).unwrap_or_else(|_| String::from_utf8_lossy(t.as_ref()).into_owned());
                    parent.children.push(XNode::Text(text));
                }
            }
            Event::CData(t) => {
                if let Some(parent) = stack.last_mut() {
                    parent.children.push(XNode::Text(String::from_utf8_lossy(t.as_ref()).into_owned()));
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    root
}

fn element(e: &quick_xml::events::BytesStart<'_>) -> Option<XElement> {
    let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
    let local = name.rsplit(':').next().unwrap_or(&name).to_string();
    let mut attributes = Vec::new();
    for a in crate::parse::xml::attributes(e).ok()? {
        let key = String::from_utf8_lossy(a.key.as_ref()).into_owned();
        let value = a.unescape_value().map(|v| v.into_owned()).unwrap_or_else(|_| String::from_utf8_lossy(&a.value).into_owned());
        attributes.push((key, value));
    }
    Some(XElement { name: local, attributes, children: Vec::new() })
}
