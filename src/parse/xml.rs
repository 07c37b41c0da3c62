//! FHIR XML → the element tree.
//!
//! A single pass over quick-xml events with an explicit stack (no recursion),
//! so hostile nesting cannot overflow the Rust stack; nesting deeper than
//! [`MAX_DEPTH`] is rejected outright. Namespaces are resolved here (quick-xml
//! only tokenises), so prefixed FHIR (`<f:Patient xmlns:f="http://hl7.org/fhir">`)
//! reads the same as the default-namespace form.
//!
//! Shapes produced (shared with the JSON parser):
//! - the root element becomes a node with `resource_type` set;
//! - `value="…"` becomes the node's primitive (`ValueKind::XmlAttribute`),
//!   entity and character references unescaped, otherwise kept exactly;
//! - `id="…"` becomes a first child `id`; `url="…"` on `extension` /
//!   `modifierExtension` becomes a child `url` right after it;
//! - a wrapper element (`contained`, `resource`, `outcome`, …) holding a
//!   resource element collapses with it into one node named after the wrapper,
//!   with the resource's type, position and children;
//! - the narrative `div` keeps its exact source text (`ValueKind::Xhtml`).
//!   When the fragment relies on namespace declarations made higher up (an
//!   inherited default namespace, or a prefix such as `xhtml:div` declared on
//!   an ancestor), the missing declarations are inserted into the fragment's
//!   start tag, right after its name, so the text is a standalone XML
//!   document. Nothing else in the fragment is changed.
//!
//! Expressions in issues are FHIRPath-like paths from the root. XML cannot
//! say which elements repeat, so every element below the root carries its
//! index among same-named siblings (`Patient.name[0].given[1]`); a nested
//! resource shares the path of its wrapper.
//!
//! Security: any DOCTYPE is rejected (no DTDs are read, no entities other than
//! the five predefined ones and character references are expanded, nothing
//! external is ever fetched).
//!
//! Issue codes: XML that is not well-formed → `Fatal`/`invalid` at the break
//! (parsing stops; the tree built so far is returned); DOCTYPE →
//! `Fatal`/`security`; nesting beyond [`MAX_DEPTH`] or an element with more
//! than [`MAX_ATTRIBUTES`] attributes → `Fatal`/`too-costly`;
//! FHIR-level problems (wrong namespace, undefined attribute, text content,
//! a wrapper holding more than one resource, a `div` outside XHTML) →
//! `Error`/`structure`, and parsing goes on.

use crate::issue::{Issue, IssueCode, Severity};
use crate::tree::{Document, Format, Name, Node, Pos, ValueKind};
use quick_xml::events::attributes::Attribute;
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use std::collections::HashSet;

pub const FHIR_NS: &str = "http://hl7.org/fhir";
/// The XML Schema instance namespace (`xsi:type`, `xsi:schemaLocation`).
const XSI_NS: &str = "http://www.w3.org/2001/XMLSchema-instance";
pub const XHTML_NS: &str = "http://www.w3.org/1999/xhtml";
/// Deepest element nesting accepted (elements, including those inside a narrative).
pub const MAX_DEPTH: usize = 512;

/// The most the reader's list of issues holds, in bytes.
const MAX_READER_ISSUE_BYTES: usize = 8 << 20;

/// The longest element name read (R4's longest element and resource names
/// are under 50 characters): the path of every element below one holds it
/// (the twenty-seventh pass's S1).
pub const MAX_NAME_BYTES: usize = 256;
/// Most attributes one element may carry. FHIR elements carry a handful
/// (`value`, `id`, `url`, namespace declarations), XHTML a few more; an
/// element with more is refused before any of its attributes is looked at.
pub const MAX_ATTRIBUTES: usize = 100;

/// Why the attributes of a start tag cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttributeProblem {
    TooMany,
    Duplicate(String),
    Malformed(String),
}

impl std::fmt::Display for AttributeProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AttributeProblem::TooMany => write!(f, "an element has more than {MAX_ATTRIBUTES} attributes; FHIR and its narrative XHTML need far fewer, so the document is rejected"),
            AttributeProblem::Duplicate(key) => write!(f, "XML is not well-formed: the attribute '{key}' appears twice on one element"),
            AttributeProblem::Malformed(why) => write!(f, "XML is not well-formed: {why}"),
        }
    }
}

/// The attributes of a start tag, each read once. quick-xml's own duplicate
/// check compares every attribute with all the ones before it (quadratic in
/// their number), so it is off and duplicates are found with a set instead;
/// and past [`MAX_ATTRIBUTES`] reading stops.
pub fn attributes<'b>(e: &'b BytesStart<'_>) -> Result<Vec<Attribute<'b>>, AttributeProblem> {
    let mut out = Vec::new();
    let mut seen: HashSet<&'b [u8]> = HashSet::new();
    let mut it = e.attributes();
    it.with_checks(false);
    for a in it {
        if out.len() == MAX_ATTRIBUTES {
            return Err(AttributeProblem::TooMany);
        }
        let a = a.map_err(|err| AttributeProblem::Malformed(err.to_string()))?;
        if !seen.insert(a.key.0) {
            return Err(AttributeProblem::Duplicate(String::from_utf8_lossy(a.key.0).into_owned()));
        }
        out.push(a);
    }
    Ok(out)
}

/// Parses a FHIR XML document. Never panics; problems are reported as issues.
/// A leading byte-order mark is skipped (positions count from after it).
pub fn parse_xml(text: &str) -> Document {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut p = Parser::new(text);
    let root = p.run();
    Document { format: Format::Xml, root, issues: p.issues.into_issues("", "the reader's list"), xsi_types: p.xsi_types }
}

/// Converts byte offsets into 1-based line/column (in characters), moving
/// forward incrementally so a whole document costs linear time.
struct LineIndex<'a> {
    text: &'a [u8],
    off: usize,
    line: u32,
    col: u32,
    /// Where the scan stood every [`CHECKPOINT_BYTES`] (offset, line,
    /// column): a backward look starts again from the nearest one before
    /// it, not from the start of the document.
    checkpoints: Vec<(usize, u32, u32)>,
}

const CHECKPOINT_BYTES: usize = 4096;

impl<'a> LineIndex<'a> {
    fn new(text: &'a str) -> Self {
        LineIndex { text: text.as_bytes(), off: 0, line: 1, col: 1, checkpoints: vec![(0, 1, 1)] }
    }

    fn pos(&mut self, off: usize) -> Pos {
        let off = off.min(self.text.len());
        if off < self.off {
            // A backward look (error reporting): from the nearest checkpoint.
            let i = self.checkpoints.partition_point(|c| c.0 <= off).saturating_sub(1);
            (self.off, self.line, self.col) = self.checkpoints[i];
        }
        while self.off < off {
            let next_checkpoint = (self.off / CHECKPOINT_BYTES + 1) * CHECKPOINT_BYTES;
            let stop = off.min(next_checkpoint);
            for &b in &self.text[self.off..stop] {
                if b == b'\n' {
                    self.line += 1;
                    self.col = 1;
                } else if b & 0xC0 != 0x80 {
                    self.col += 1;
                }
            }
            self.off = stop;
            if stop == next_checkpoint && self.checkpoints.last().is_some_and(|c| c.0 < stop) {
                self.checkpoints.push((stop, self.line, self.col));
            }
        }
        Pos::new(self.line, self.col)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Ns {
    Fhir,
    Xhtml,
    Other,
}

/// Where an element sits among its parent's children, from which its
/// path is written when an issue needs it (not kept as text per element: a
/// path is as long as the element is deep, and writing one for every
/// element made reading quadratic in depth, the twenty-seventh pass's S1/S2).
#[derive(Clone, Copy)]
enum Place {
    Root,
    /// The index among the parent's children of the same name.
    Child(u32),
    /// A resource inside its wrapper (`<resource><Patient>`): the wrapper's path.
    NestedResource,
}

struct Frame {
    node: Node,
    place: Place,
    /// Namespace bindings this element declared (popped when it closes).
    ns_pushed: usize,
    /// Counts of element children by name, for indices in paths (a map: an
    /// element may have many differently named children).
    counts: std::collections::HashMap<Name, u32>,
    /// Element children seen so far (attribute-derived children excluded).
    elem_children: u32,
    /// This frame is a resource nested inside a wrapper (merged on close).
    nested_resource: bool,
    /// The wrapper already took in a resource.
    holds_resource: bool,
    /// The element's namespace was FHIR (used to avoid repeating namespace errors).
    in_fhir_ns: bool,
    /// It has an attribute (other than a namespace declaration) or text.
    has_content: bool,
}

struct Parser<'a> {
    text: &'a str,
    reader: Reader<&'a [u8]>,
    lines: LineIndex<'a>,
    /// Bounded as the JSON reader's (the twenty-third pass's O4).
    issues: crate::issue::IssueList,
    stack: Vec<Frame>,
    /// In-scope namespace bindings: (prefix, uri); `None` prefix = default.
    ns: Vec<(Option<String>, String)>,
    root: Option<Node>,
    root_closed: bool,
    /// `xsi:type` attributes: where, and their value.
    xsi_types: Vec<(Pos, String)>,
}

enum Flow {
    Continue,
    Stop,
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max).collect();
        out.push_str("...");
        out
    }
}

/// Resources' names start with a capital letter; elements' do not.
fn is_resource_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_uppercase())
}

fn split_qname(q: &str) -> (Option<&str>, &str) {
    match q.find(':') {
        Some(i) => (Some(&q[..i]), &q[i + 1..]),
        None => (None, q),
    }
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Self {
        let mut reader = Reader::from_str(text);
        let cfg = reader.config_mut();
        cfg.check_end_names = true;
        cfg.expand_empty_elements = false;
        cfg.trim_text(false);
        Parser {
            text,
            reader,
            lines: LineIndex::new(text),
            issues: crate::issue::IssueList::new(MAX_READER_ISSUE_BYTES),
            stack: Vec::new(),
            ns: Vec::new(),
            root: None,
            root_closed: false,
            xsi_types: Vec::new(),
        }
    }

    fn current_path(&self) -> String {
        self.path_with(None)
    }

    /// The path of the open element, or of `pending` (an element not yet
    /// on the stack, or just taken off it) within it.
    fn path_with(&self, pending: Option<(&str, Place)>) -> String {
        let mut out = String::new();
        for (name, place) in self.stack.iter().map(|f| (f.node.name.as_str(), f.place)).chain(pending) {
            match place {
                Place::Root => out.push_str(name),
                Place::Child(i) => {
                    use std::fmt::Write;
                    let _ = write!(out, ".{name}[{i}]");
                }
                Place::NestedResource => {}
            }
        }
        out
    }

    fn issue(&mut self, sev: Severity, code: IssueCode, path: String, pos: Pos, msg: impl Into<String>) {
        if self.issues.is_full() {
            self.issues.count(sev);
            return;
        }
        self.issues.push(Issue::new(sev, code, path, msg).at(pos));
    }

    /// An issue about the XML itself, located by its XML path too: `child`
    /// is an element about to be opened (its attributes are read first).
    /// Its path and message are made only when the issue is listed: past
    /// the list's limit it is only counted (the twenty-seventh pass's S1).
    fn xml_issue(&mut self, child: Option<(&str, Ns)>, path: impl FnOnce(&Self) -> String, pos: Pos, msg: impl FnOnce() -> String) {
        if self.issues.is_full() {
            self.issues.count(Severity::Error);
            return;
        }
        let location = self.xml_location(child);
        let issue = Issue::new(Severity::Error, IssueCode::Structure, path(self), msg()).at(pos).located(location);
        self.issues.push(issue);
    }

    /// The XML path of the open element, or of `child` within it, as the
    /// reference's reader writes it: `/f:Bundle/f:entry/f:resource` from the
    /// root, starting again at the type's name inside a nested resource
    /// (`Endpoint/f:connectionType`).
    fn xml_location(&self, child: Option<(&str, Ns)>) -> String {
        let mut out = String::new();
        let frames = self.stack.iter().map(|f| (f.node.name.as_str(), if f.in_fhir_ns { Ns::Fhir } else { Ns::Other }, f.nested_resource));
        let child = child.map(|(name, ns)| (name, ns, !self.stack.is_empty() && is_resource_name(name)));
        for (i, (name, ns, nested)) in frames.chain(child).enumerate() {
            if nested {
                out.clear();
                out.push_str(name);
                continue;
            }
            if i == 0 || !out.is_empty() {
                out.push('/');
            }
            out.push_str(match ns {
                Ns::Fhir => "f:",
                Ns::Xhtml => "h:",
                Ns::Other => "",
            });
            out.push_str(name);
        }
        out
    }

    fn fatal_at(&mut self, off: usize, msg: impl Into<String>) {
        let pos = self.lines.pos(off);
        let path = self.current_path();
        self.issue(Severity::Fatal, IssueCode::Invalid, path, pos, msg);
    }

    /// A start tag whose attributes cannot be read stops the parse.
    fn attribute_problem(&mut self, off: usize, problem: &AttributeProblem) {
        let pos = self.lines.pos(off);
        let path = self.current_path();
        let code = if *problem == AttributeProblem::TooMany { IssueCode::TooCostly } else { IssueCode::Invalid };
        self.issue(Severity::Fatal, code, path, pos, problem.to_string());
    }

    fn lookup_ns(&self, prefix: Option<&str>) -> Option<&str> {
        self.ns.iter().rev().find(|(p, _)| p.as_deref() == prefix).map(|(_, u)| u.as_str())
    }

    fn run(&mut self) -> Option<Node> {
        loop {
            let before = self.reader.buffer_position() as usize;
            let ev = match self.reader.read_event() {
                Ok(ev) => ev,
                Err(e) => {
                    let at = self.reader.error_position() as usize;
                    self.fatal_at(at, format!("XML is not well-formed: {e}"));
                    break;
                }
            };
            let flow = match ev {
                Event::Start(e) => self.open(&e, before, false),
                Event::Empty(e) => self.open(&e, before, true),
                Event::End(_) => {
                    self.close();
                    Flow::Continue
                }
                Event::Text(t) => {
                    let raw = t.into_inner();
                    let raw = String::from_utf8_lossy(&raw).into_owned();
                    self.text_content(&raw, before, true)
                }
                Event::CData(t) => {
                    let raw = String::from_utf8_lossy(&t.into_inner()).into_owned();
                    self.text_content(&raw, before + 9, false)
                }
                Event::Comment(_) => Flow::Continue,
                Event::PI(_) => {
                    let pos = self.lines_pos(before);
                    if self.stack.is_empty() {
                        // No_processing_instructions_allowed_in_resources: on the document
                        let issue = Issue::new(Severity::Error, IssueCode::Invalid, "", format!("No processing instructions allowed in resources")).at(pos).located("(document)".into());
                        if self.issues.is_full() {
                            self.issues.count(Severity::Error);
                        } else {
                            self.issues.push(issue);
                        }
                    } else {
                        // Node_type__is_not_allowed: a processing instruction is DOM node type 7
                        self.xml_issue(None, Self::current_path, pos, || format!("Node type {} is not allowed", 7));
                    }
                    Flow::Continue
                }
                Event::Decl(d) => {
                    if let Some(Ok(enc)) = d.encoding() {
                        let enc = String::from_utf8_lossy(&enc).into_owned();
                        if !enc.eq_ignore_ascii_case("UTF-8") {
                            let pos = self.lines_pos(before);
                            // xml_encoding_invalid
                            let msg = format!("The XML encoding is invalid (must be UTF-8, not '{}')", crate::issue::quoted(&enc));
                            let issue = Issue::new(Severity::Error, IssueCode::Invalid, "", msg).at(pos).located("XML".into());
                            if self.issues.is_full() {
                                self.issues.count(Severity::Error);
                            } else {
                                self.issues.push(issue);
                            }
                        }
                    }
                    Flow::Continue
                }
                Event::DocType(_) => {
                    let pos = self.lines_pos(before);
                    self.issue(
                        Severity::Fatal,
                        IssueCode::Security,
                        String::new(),
                        pos,
                        "DOCTYPE declarations are not allowed: DTDs are not processed and no internal or external entities are expanded",
                    );
                    Flow::Stop
                }
                Event::Eof => {
                    if !self.stack.is_empty() {
                        let name = self.stack.last().map(|f| f.node.name.to_string()).unwrap_or_default();
                        self.fatal_at(self.text.len(), format!("XML is not well-formed: unexpected end of document; element '{name}' is not closed"));
                    } else if self.root.is_none() {
                        self.fatal_at(self.text.len(), "XML is not well-formed: no root element found");
                    }
                    Flow::Stop
                }
            };
            if let Flow::Stop = flow {
                break;
            }
        }
        // Unwind whatever is still open into a partial tree.
        while !self.stack.is_empty() {
            self.close();
        }
        self.root.take()
    }

    fn lines_pos(&mut self, off: usize) -> Pos {
        self.lines.pos(off)
    }

    fn text_content(&mut self, raw: &str, off: usize, escaped: bool) -> Flow {
        const WS: [char; 4] = [' ', '\t', '\r', '\n'];
        let trimmed = raw.trim_matches(WS);
        if trimmed.is_empty() {
            return Flow::Continue;
        }
        let lead = raw.len() - raw.trim_start_matches(WS).len();
        let shown = if escaped {
            match quick_xml::escape::unescape(trimmed) {
                Ok(s) => s.into_owned(),
                Err(err) => {
                    let (msg, rel) = escape_problem(&quick_xml::Error::Escape(err));
                    let p = self.lines.pos(off + lead + rel.unwrap_or(0));
                    let path = self.current_path();
                    self.issue(Severity::Fatal, IssueCode::Invalid, path, p, msg);
                    trimmed.to_string()
                }
            }
        } else {
            trimmed.to_string()
        };
        if self.stack.is_empty() {
            let where_ = if self.root_closed { "after the root element" } else { "before the root element" };
            self.fatal_at(off + lead, format!("XML is not well-formed: text is not allowed {where_} ('{}')", truncate(&shown, 100)));
            return Flow::Stop;
        }
        if let Some(f) = self.stack.last_mut() {
            f.has_content = true;
        }
        let pos = self.lines.pos(off + lead);
        if !escaped {
            // CDATA_is_not_allowed
            self.xml_issue(None, Self::current_path, pos, || "CDATA is not allowed".to_string());
            return Flow::Continue;
        }
        self.xml_issue(None, Self::current_path, pos, || format!("Text should not be present ('{}')", truncate(&shown, 200)));
        Flow::Continue
    }

    /// Pushes the namespace declarations of a start tag; returns how many.
    fn push_ns_decls(&mut self, attrs: &[Attribute]) -> Result<usize, String> {
        let mut n = 0;
        for a in attrs {
            let key = String::from_utf8_lossy(a.key.as_ref()).into_owned();
            let prefix = if key == "xmlns" {
                None
            } else if let Some(p) = key.strip_prefix("xmlns:") {
                Some(p.to_string())
            } else {
                continue;
            };
            let uri = a.unescape_value().map_err(|err| format!("XML is not well-formed: {err}"))?.into_owned();
            self.ns.push((prefix, uri));
            n += 1;
        }
        Ok(n)
    }

    fn pop_ns(&mut self, n: usize) {
        let keep = self.ns.len().saturating_sub(n);
        self.ns.truncate(keep);
    }

    /// The place of a new child `name` of the open element (counted).
    fn child_place(&mut self, name: &str) -> Place {
        match self.stack.last_mut() {
            None => Place::Root,
            Some(f) => {
                let count = f.counts.entry(Name::from(name)).or_insert(0);
                *count += 1;
                Place::Child(*count - 1)
            }
        }
    }

    fn open(&mut self, e: &BytesStart, off: usize, empty: bool) -> Flow {
        let pos = self.lines.pos(off);
        if self.root_closed && self.stack.is_empty() {
            self.fatal_at(off, "XML is not well-formed: more than one root element");
            return Flow::Stop;
        }
        if self.stack.len() >= MAX_DEPTH {
            let path = self.current_path();
            self.issue(
                Severity::Fatal,
                IssueCode::TooCostly,
                path,
                pos,
                format!("Elements are nested more than {MAX_DEPTH} levels deep; the document is rejected"),
            );
            return Flow::Stop;
        }
        let attrs = match attributes(e) {
            Ok(a) => a,
            Err(problem) => {
                self.attribute_problem(off, &problem);
                return Flow::Stop;
            }
        };
        let ns_pushed = match self.push_ns_decls(&attrs) {
            Ok(n) => n,
            Err(msg) => {
                self.fatal_at(off, msg);
                return Flow::Stop;
            }
        };
        let qname = String::from_utf8_lossy(e.name().as_ref()).into_owned();
        let (prefix, local) = split_qname(&qname);
        let local = local.to_string();
        if local.len() > MAX_NAME_BYTES {
            // Every path below would carry it, once per element.
            self.fatal_at(off, format!("The element name '{}' is longer than {MAX_NAME_BYTES} bytes; no FHIR element has such a name", crate::issue::quoted(&local)));
            return Flow::Stop;
        }
        let uri = self.lookup_ns(prefix).map(str::to_string);
        let ns = match uri.as_deref() {
            Some(FHIR_NS) => Ns::Fhir,
            Some(XHTML_NS) => Ns::Xhtml,
            _ => Ns::Other,
        };
        let is_resource = is_resource_name(&local);
        let parent_nested_target = !self.stack.is_empty() && is_resource;

        let place = if parent_nested_target { Place::NestedResource } else { self.child_place(&local) };

        if local == "div" && !self.stack.is_empty() {
            return self.capture_div(e, off, pos, empty, &qname, prefix, ns, ns_pushed, place);
        }

        if self.stack.is_empty() && ns != Ns::Fhir {
            // The reference's reader finds no definition for the root and stops.
            let msg = match &uri {
                // This__cannot_be_parsed_as_a_FHIR_object_no_namespace
                None => format!("This '{}' cannot be parsed (no namespace on the XML Root element)", crate::issue::quoted(&local)),
                // This_does_not_appear_to_be_a_FHIR_resource_unknown_namespacename_
                Some(u) => format!("This content cannot be parsed (unknown or unrecognized XML Root element namespace/name '{}::{}')", crate::issue::quoted(u), crate::issue::quoted(&local)),
            };
            self.issue(Severity::Fatal, IssueCode::Structure, local.clone(), pos, msg);
            return Flow::Stop;
        }

        // Namespace check: report where a subtree leaves the FHIR namespace.
        let parent_fhir = self.stack.last().map(|f| f.in_fhir_ns).unwrap_or(true);
        if ns != Ns::Fhir && parent_fhir {
            let found = match (&uri, prefix) {
                (Some(u), _) => format!("'{u}'"),
                (None, Some(p)) => format!("undeclared prefix '{p}'"),
                (None, None) => "no namespace".to_string(),
            };
            let path = self.path_with(Some((&local, place)));
            self.issue(Severity::Error, IssueCode::Structure, path, pos, format!("Wrong namespace - expected '{FHIR_NS}' (element '{}' has {found})", crate::issue::quoted(&qname)));
        }

        let mut node = Node::new(local.as_str(), pos);
        if self.stack.is_empty() || is_resource {
            node.resource_type = Some(Name::from(local.as_str()));
        }
        let mut id_child = None;
        let mut url_child = None;
        let mut has_content = false;
        for a in &attrs {
            let key = String::from_utf8_lossy(a.key.as_ref()).into_owned();
            if key == "xmlns" || key.starts_with("xmlns:") {
                continue;
            }
            has_content = true;
            let value = match a.unescape_value() {
                Ok(v) => v.into_owned(),
                Err(err) => {
                    let (msg, rel) = escape_problem(&err);
                    let at = match (offset_in(self.text, &a.value), rel) {
                        (Some(o), Some(r)) => self.lines.pos(o + r),
                        _ => pos,
                    };
                    let path = self.path_with(Some((&local, place)));
                    self.issue(Severity::Fatal, IssueCode::Invalid, path, at, msg);
                    String::from_utf8_lossy(&a.value).into_owned()
                }
            };
            if value.chars().any(|c| c <= '\u{1f}' && !matches!(c, '\t' | '\r' | '\n')) {
                // xml_attr_value_invalid (a character reference to a control character)
                self.xml_issue(Some((&local, ns)), |p| p.path_with(Some((&local, place))), pos, || format!("The XML Attribute {} has an invalid character", crate::issue::quoted(&key)));
            }
            match key.as_str() {
                "value" => node.value = Some(crate::tree::Primitive { text: value.into(), kind: ValueKind::XmlAttribute }),
                "id" => id_child = Some(Node::with_value("id", pos, value, ValueKind::XmlAttribute)),
                "url" if local == "extension" || local == "modifierExtension" => {
                    url_child = Some(Node::with_value("url", pos, value, ValueKind::XmlAttribute))
                }
                // Undefined_attribute__on__for_type__properties__: the validator
                // adds the element's type, which the reader does not know.
                _ => {
                    if key.split_once(':').is_some_and(|(p, l)| l == "type" && self.lookup_ns(Some(p)) == Some(XSI_NS)) {
                        self.xsi_types.push((pos, value.clone()));
                    }
                    self.xml_issue(Some((&local, ns)), |p| p.path_with(Some((&local, place))), pos, || format!("Undefined attribute '@{}' on {}", crate::issue::quoted(&key), crate::issue::quoted(&local)))
                }
            }
        }
        node.children.extend(id_child);
        node.children.extend(url_child);

        self.stack.push(Frame {
            node,
            place,
            ns_pushed,
            counts: std::collections::HashMap::new(),
            elem_children: 0,
            nested_resource: parent_nested_target,
            holds_resource: false,
            in_fhir_ns: ns == Ns::Fhir,
            has_content,
        });
        if empty {
            self.close();
        }
        Flow::Continue
    }

    /// Pops the top frame and attaches its node to its parent (or makes it the root).
    fn close(&mut self) {
        if let Some(f) = self.stack.last() {
            if f.in_fhir_ns && !f.has_content && f.elem_children == 0 && !f.holds_resource {
                // Element_must_have_some_content
                if self.issues.is_full() {
                    self.issues.count(Severity::Error);
                } else {
                    let (path, pos, location) = (self.current_path(), f.node.pos, self.xml_location(None));
                    self.issues.push(Issue::new(Severity::Error, IssueCode::Invalid, path, "Element must have some content").at(pos).located(location));
                }
            }
        }
        let Some(frame) = self.stack.pop() else { return };
        self.pop_ns(frame.ns_pushed);
        self.attach(frame.node, frame.nested_resource, frame.place);
    }

    fn attach(&mut self, node: Node, nested_resource: bool, place: Place) {
        let Some(parent) = self.stack.last_mut() else {
            self.root = Some(node);
            self.root_closed = true;
            return;
        };
        if nested_resource {
            if parent.holds_resource || parent.elem_children > 0 {
                let (msg, pos) = (
                    format!(
                        "'{}' must contain exactly one resource and nothing else; found an extra resource '{}'",
                        parent.node.name, node.name
                    ),
                    node.pos,
                );
                parent.elem_children += 1;
                let path = self.path_with(Some((&node.name, place)));
                self.issue(Severity::Error, IssueCode::Structure, path, pos, msg);
                return;
            }
            parent.holds_resource = true;
            parent.elem_children += 1;
            parent.node.resource_type = node.resource_type;
            parent.node.pos = node.pos;
            parent.node.children.extend(node.children);
        } else {
            if parent.holds_resource {
                let msg = format!(
                    "'{}' contains the resource '{}' and must not contain anything else (found '{}')",
                    parent.node.name,
                    parent.node.resource_type.as_deref().unwrap_or(""),
                    node.name
                );
                let pos = node.pos;
                let path = self.path_with(Some((&node.name, place)));
                self.issue(Severity::Error, IssueCode::Structure, path, pos, msg);
                return;
            }
            parent.elem_children += 1;
            parent.node.children.push(node);
        }
    }

    /// Captures a narrative `div` (and its whole subtree) as source text.
    #[allow(clippy::too_many_arguments)]
    fn capture_div(
        &mut self,
        e: &BytesStart,
        off: usize,
        pos: Pos,
        empty: bool,
        qname: &str,
        prefix: Option<&str>,
        ns: Ns,
        ns_pushed: usize,
        place: Place,
    ) -> Flow {
        // What the div's own start tag declares.
        let mut root_decls: Vec<Option<String>> = Vec::new();
        let mut used_prefixes: indexmap::IndexSet<String> = indexmap::IndexSet::new();
        let mut uses_default = prefix.is_none();
        if let Some(p) = prefix {
            used_prefixes.insert(p.to_string());
        }
        // In order, and as a set: a div can use thousands of prefixes (the
        // twenty-second pass's N6).
        let note = |e: &BytesStart, used: &mut indexmap::IndexSet<String>, uses_default: &mut bool, decls: Option<&mut Vec<Option<String>>>| -> Result<(), AttributeProblem> {
            let attrs = attributes(e)?;
            let q = String::from_utf8_lossy(e.name().as_ref()).into_owned();
            match split_qname(&q).0 {
                Some(p) => {
                    if !used.contains(p) {
                        used.insert(p.to_string());
                    }
                }
                None => *uses_default = true,
            }
            let mut decls = decls;
            for a in &attrs {
                let k = String::from_utf8_lossy(a.key.as_ref()).into_owned();
                if k == "xmlns" {
                    if let Some(d) = decls.as_deref_mut() {
                        d.push(None);
                    }
                } else if let Some(p) = k.strip_prefix("xmlns:") {
                    if let Some(d) = decls.as_deref_mut() {
                        d.push(Some(p.to_string()));
                    }
                } else if let (Some(p), _) = split_qname(&k) {
                    if p != "xml" && !used.contains(p) {
                        used.insert(p.to_string());
                    }
                }
            }
            Ok(())
        };
        if let Err(problem) = note(e, &mut used_prefixes, &mut uses_default, Some(&mut root_decls)) {
            self.pop_ns(ns_pushed);
            self.attribute_problem(off, &problem);
            return Flow::Stop;
        }

        if ns != Ns::Xhtml {
            let path = self.path_with(Some(("div", place)));
            self.issue(
                Severity::Error,
                IssueCode::Structure,
                path,
                pos,
                format!("The narrative 'div' must be in the XHTML namespace '{XHTML_NS}'"),
            );
        }

        let end = if empty {
            self.reader.buffer_position() as usize
        } else {
            let mut depth = 1usize;
            loop {
                let at = self.reader.buffer_position() as usize;
                match self.reader.read_event() {
                    Ok(Event::Start(inner)) => {
                        depth += 1;
                        if self.stack.len() + depth > MAX_DEPTH {
                            let p = self.lines.pos(at);
                            let path = self.path_with(Some(("div", place)));
                            self.issue(
                                Severity::Fatal,
                                IssueCode::TooCostly,
                                path,
                                p,
                                format!("Elements are nested more than {MAX_DEPTH} levels deep; the document is rejected"),
                            );
                            self.pop_ns(ns_pushed);
                            return Flow::Stop;
                        }
                        if let Err(problem) = note(&inner, &mut used_prefixes, &mut uses_default, None) {
                            self.pop_ns(ns_pushed);
                            self.attribute_problem(at, &problem);
                            return Flow::Stop;
                        }
                    }
                    Ok(Event::Empty(inner)) => {
                        if let Err(problem) = note(&inner, &mut used_prefixes, &mut uses_default, None) {
                            self.pop_ns(ns_pushed);
                            self.attribute_problem(at, &problem);
                            return Flow::Stop;
                        }
                    }
                    Ok(Event::End(_)) => {
                        depth -= 1;
                        if depth == 0 {
                            break self.reader.buffer_position() as usize;
                        }
                    }
                    Ok(Event::DocType(_)) => {
                        let p = self.lines.pos(at);
                        let path = self.path_with(Some(("div", place)));
                        self.issue(Severity::Fatal, IssueCode::Security, path, p, "DOCTYPE declarations are not allowed");
                        self.pop_ns(ns_pushed);
                        return Flow::Stop;
                    }
                    Ok(Event::Eof) => {
                        self.pop_ns(ns_pushed);
                        self.fatal_at(self.text.len(), "XML is not well-formed: unexpected end of document inside the narrative 'div'");
                        return Flow::Stop;
                    }
                    Ok(Event::Text(t)) => {
                        // The fragment is kept raw, but it must still be well-formed
                        // XML: only predefined entities and character references.
                        if let Err(err) = t.unescape() {
                            let (msg, rel) = escape_problem(&err);
                            let p = self.lines.pos(at + rel.unwrap_or(0));
                            let path = self.path_with(Some(("div", place)));
                            self.issue(Severity::Fatal, IssueCode::Invalid, path, p, msg);
                        }
                    }
                    Ok(_) => {}
                    Err(err) => {
                        self.pop_ns(ns_pushed);
                        let at = self.reader.error_position() as usize;
                        self.fatal_at(at, format!("XML is not well-formed: {err}"));
                        return Flow::Stop;
                    }
                }
            }
        };
        let slice = self.text.get(off..end).unwrap_or("");
        // Namespace declarations the fragment inherits but does not make itself.
        self.pop_ns(ns_pushed);
        let mut extra = String::new();
        if uses_default && !root_decls.contains(&None) {
            if let Some(u) = self.lookup_ns(None) {
                extra.push_str(&format!(" xmlns=\"{}\"", escape_attr(u)));
            }
        }
        let declared: std::collections::HashSet<&str> = root_decls.iter().flatten().map(String::as_str).collect();
        for p in &used_prefixes {
            if p == "xmlns" || declared.contains(p.as_str()) {
                continue;
            }
            if let Some(u) = self.lookup_ns(Some(p)) {
                extra.push_str(&format!(" xmlns:{}=\"{}\"", p, escape_attr(u)));
            }
        }
        let text = if extra.is_empty() {
            slice.to_string()
        } else {
            let cut = (1 + qname.len()).min(slice.len());
            format!("{}{}{}", &slice[..cut], extra, &slice[cut..])
        };
        let node = Node::with_value("div", pos, text, ValueKind::Xhtml);
        self.attach(node, false, place);
        Flow::Continue
    }
}

/// Describes a failed unescape the way XML parsers usually do, with the
/// offset of the offending `&` relative to the unescaped slice when known.
fn escape_problem(err: &quick_xml::Error) -> (String, Option<usize>) {
    use quick_xml::escape::EscapeError;
    match err {
        quick_xml::Error::Escape(EscapeError::UnrecognizedEntity(r, name)) => (
            format!("The entity \"{name}\" was referenced, but not declared."),
            Some(r.start.saturating_sub(1)),
        ),
        quick_xml::Error::Escape(EscapeError::UnterminatedEntity(r)) => {
            ("XML is not well-formed: an entity or character reference is not terminated with ';'".into(), Some(r.start))
        }
        other => (format!("XML is not well-formed: {other}"), None),
    }
}

/// Byte offset of `part` inside `whole`, if `part` borrows from it.
fn offset_in(whole: &str, part: &[u8]) -> Option<usize> {
    let start = whole.as_ptr() as usize;
    let p = part.as_ptr() as usize;
    (p >= start && p + part.len() <= start + whole.len()).then(|| p - start)
}

fn escape_attr(s: &str) -> String {
    s.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(d: &Document) -> Vec<&Issue> {
        d.issues.iter().filter(|i| i.severity.is_error()).collect()
    }

    fn fatal(d: &Document) -> Option<&Issue> {
        d.issues.iter().find(|i| i.severity == Severity::Fatal)
    }

    #[test]
    fn root_values_and_positions() {
        let x = "<?xml version=\"1.0\"?>\n<Patient xmlns=\"http://hl7.org/fhir\">\n  <active value=\"true\"/>\n  <name>\n    <given value=\"A &amp; B&#x41;\"/><given value=\"C\"/>\n  </name>\n</Patient>";
        let d = parse_xml(x);
        assert!(d.issues.is_empty(), "{:?}", d.issues);
        assert_eq!(d.format, Format::Xml);
        let r = d.root.unwrap();
        assert_eq!(r.name, "Patient");
        assert_eq!(r.resource_type.as_deref(), Some("Patient"));
        assert_eq!(r.pos, Pos::new(2, 1));
        let active = r.child("active").unwrap();
        assert_eq!(active.pos, Pos::new(3, 3));
        assert_eq!(active.value.as_ref().unwrap().kind, ValueKind::XmlAttribute);
        assert_eq!(active.text(), Some("true"));
        let name = r.child("name").unwrap();
        assert_eq!(name.pos, Pos::new(4, 3));
        let given: Vec<_> = name.children_named("given").collect();
        assert_eq!(given.len(), 2);
        assert_eq!(given[0].text(), Some("A & BA"));
        assert_eq!(given[0].pos, Pos::new(5, 5));
        assert_eq!(given[1].pos, Pos::new(5, 37));
        assert!(r.resource_type.is_some() && name.resource_type.is_none());
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let x = "<Patient xmlns=\"http://hl7.org/fhir\"><name><text value=\"é\"/><family value=\"x\"/></name></Patient>";
        let d = parse_xml(x);
        let fam = d.root.unwrap().descend("name.family").unwrap().pos;
        assert_eq!(fam, Pos::new(1, 61));
    }

    #[test]
    fn value_text_kept_exactly() {
        let x = "<Patient xmlns=\"http://hl7.org/fhir\"><gender value=\"  a\tb &lt;c&gt; &#233;\"/></Patient>";
        let d = parse_xml(x);
        assert_eq!(d.root.unwrap().child_text("gender"), Some("  a\tb <c> é"));
    }

    #[test]
    fn id_and_url_attributes_become_children() {
        let x = r#"<Patient xmlns="http://hl7.org/fhir" id="p1">
  <extension url="http://e.org/x" id="e1"><valueString value="v"/></extension>
  <birthDate id="b" value="2000"/>
</Patient>"#;
        let d = parse_xml(x);
        assert!(d.issues.is_empty(), "{:?}", d.issues);
        let r = d.root.unwrap();
        assert_eq!(r.children[0].name, "id");
        assert_eq!(r.children[0].text(), Some("p1"));
        let ext = r.child("extension").unwrap();
        assert_eq!(ext.children[0].name, "id");
        assert_eq!(ext.children[0].text(), Some("e1"));
        assert_eq!(ext.children[1].name, "url");
        assert_eq!(ext.children[1].text(), Some("http://e.org/x"));
        assert_eq!(ext.children[2].name, "valueString");
        let bd = r.child("birthDate").unwrap();
        assert_eq!(bd.text(), Some("2000"));
        assert_eq!(bd.child_text("id"), Some("b"));
    }

    /// As the reference's reader names them: from the root, and from a nested resource's type.
    #[test]
    fn stray_text_is_located_by_its_xml_path() {
        let x = r#"<Bundle xmlns="http://hl7.org/fhir">loose<type value="collection"/><entry><resource><Patient><gender value="male">stray</gender></Patient></resource></entry></Bundle>"#;
        let d = parse_xml(x);
        let e = errors(&d);
        let located: Vec<(&str, Option<&str>)> = e.iter().map(|i| (i.message.as_str(), i.location.as_deref())).collect();
        assert_eq!(located, [("Text should not be present ('loose')", Some("/f:Bundle")), ("Text should not be present ('stray')", Some("Patient/f:gender"))]);
        assert_eq!(e[1].expression, "Bundle.entry[0].resource[0].gender[0]");
    }

    #[test]
    fn undefined_attribute_reported_and_parsing_continues() {
        let x = r#"<Observation xmlns="http://hl7.org/fhir">
  <status value="final" something="x"/>
  <code url="nope"><text value="t"/></code>
</Observation>"#;
        let d = parse_xml(x);
        let e = errors(&d);
        assert_eq!(e.len(), 2, "{:?}", d.issues);
        assert_eq!(e[0].message, "Undefined attribute '@something' on status");
        assert_eq!(e[0].code, IssueCode::Structure);
        assert_eq!(e[0].expression, "Observation.status[0]");
        assert_eq!(e[0].location.as_deref(), Some("/f:Observation/f:status"));
        assert_eq!(e[0].pos, Some(Pos::new(2, 3)));
        assert_eq!(e[1].message, "Undefined attribute '@url' on code");
        let r = d.root.unwrap();
        assert_eq!(r.child_text("status"), Some("final"));
        assert_eq!(r.descend("code.text").unwrap().text(), Some("t"));
    }

    #[test]
    fn xsi_schema_location_is_undefined() {
        let x = r#"<Bundle xmlns="http://hl7.org/fhir" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="a b"><type value="batch"/></Bundle>"#;
        let d = parse_xml(x);
        assert_eq!(d.issues.len(), 1);
        assert_eq!(d.issues[0].message, "Undefined attribute '@xsi:schemaLocation' on Bundle");
        assert_eq!(d.issues[0].expression, "Bundle");
    }

    #[test]
    fn contained_and_bundle_resources_collapse() {
        let x = r#"<Bundle xmlns="http://hl7.org/fhir">
  <entry>
    <resource>
      <Patient>
        <contained>
          <Practitioner><id value="pr"/></Practitioner>
        </contained>
        <active value="true"/>
      </Patient>
    </resource>
  </entry>
</Bundle>"#;
        let d = parse_xml(x);
        assert!(d.issues.is_empty(), "{:?}", d.issues);
        let r = d.root.unwrap();
        let res = r.descend("entry.resource").unwrap();
        assert_eq!(res.name, "resource");
        assert_eq!(res.resource_type.as_deref(), Some("Patient"));
        assert_eq!(res.pos, Pos::new(4, 7));
        assert_eq!(res.children.len(), 2);
        let c = res.child("contained").unwrap();
        assert_eq!(c.resource_type.as_deref(), Some("Practitioner"));
        assert_eq!(c.pos, Pos::new(6, 11));
        assert_eq!(c.child_text("id"), Some("pr"));
        assert_eq!(res.child_text("active"), Some("true"));
    }

    #[test]
    fn wrapper_with_two_resources_is_an_error() {
        let x = r#"<Patient xmlns="http://hl7.org/fhir"><contained><Patient/><Practitioner/></contained><name><text value="x"/></name><bad>x</bad></Patient>"#;
        let d = parse_xml(x);
        let e = errors(&d);
        assert!(e.iter().any(|i| i.message.contains("exactly one resource") && i.expression == "Patient.contained[0]"), "{:?}", e);
        assert!(e.iter().any(|i| i.message == "Text should not be present ('x')" && i.expression == "Patient.bad[0]"), "{:?}", e);
        let r = d.root.unwrap();
        assert_eq!(r.child("contained").unwrap().resource_type.as_deref(), Some("Patient"));
        assert!(r.child("name").is_some());
    }

    #[test]
    fn narrative_div_captured_exactly() {
        let div = "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Hi &amp; <b>there</b></p><br/></div>";
        let x = format!("<Patient xmlns=\"http://hl7.org/fhir\"><text><status value=\"generated\"/>{div}</text><active value=\"true\"/></Patient>");
        let d = parse_xml(&x);
        assert!(d.issues.is_empty(), "{:?}", d.issues);
        let r = d.root.unwrap();
        let n = r.descend("text.div").unwrap();
        assert_eq!(n.value.as_ref().unwrap().kind, ValueKind::Xhtml);
        assert_eq!(n.text(), Some(div));
        assert!(n.children.is_empty());
        assert_eq!(n.pos, Pos::new(1, 71));
        assert_eq!(r.child_text("active"), Some("true"));
    }

    #[test]
    fn narrative_div_with_inherited_prefix_stands_alone() {
        let x = r#"<f:Patient xmlns:f="http://hl7.org/fhir" xmlns:h="http://www.w3.org/1999/xhtml"><f:text><f:status value="generated"/><h:div><h:p>x</h:p></h:div></f:text></f:Patient>"#;
        let d = parse_xml(x);
        assert!(d.issues.is_empty(), "{:?}", d.issues);
        let r = d.root.unwrap();
        assert_eq!(r.name, "Patient");
        assert_eq!(r.descend("text.status").unwrap().text(), Some("generated"));
        let div = r.descend("text.div").unwrap().text().unwrap();
        assert_eq!(div, r#"<h:div xmlns:h="http://www.w3.org/1999/xhtml"><h:p>x</h:p></h:div>"#);
    }

    #[test]
    fn undeclared_entity_in_narrative_is_fatal() {
        let x = "<Patient xmlns=\"http://hl7.org/fhir\"><text><div xmlns=\"http://www.w3.org/1999/xhtml\">\n<p>a&nbsp;b &#160; &amp;</p></div></text></Patient>";
        let d = parse_xml(x);
        let f = fatal(&d).expect("fatal");
        assert_eq!(f.pos, Some(Pos::new(2, 5)));
        assert_eq!(f.message, "The entity \"nbsp\" was referenced, but not declared.");
        assert_eq!(d.issues.len(), 1);
        assert!(d.root.unwrap().descend("text.div").is_some());
    }

    #[test]
    fn undeclared_entity_in_attribute_is_fatal() {
        let x = "<Patient xmlns=\"http://hl7.org/fhir\">\n<gender value=\"a&reg;\"/></Patient>";
        let d = parse_xml(x);
        let f = fatal(&d).expect("fatal");
        assert_eq!(f.message, "The entity \"reg\" was referenced, but not declared.");
        assert_eq!(f.pos, Some(Pos::new(2, 17)));
        assert_eq!(f.expression, "Patient.gender[0]");
    }

    #[test]
    fn narrative_div_with_inherited_default_namespace() {
        let x = r#"<f:Patient xmlns:f="http://hl7.org/fhir" xmlns="http://www.w3.org/1999/xhtml"><f:text><div><p>x</p></div></f:text></f:Patient>"#;
        let d = parse_xml(x);
        assert!(d.issues.is_empty(), "{:?}", d.issues);
        let div = d.root.unwrap().descend("text.div").unwrap().text().unwrap().to_string();
        assert_eq!(div, r#"<div xmlns="http://www.w3.org/1999/xhtml"><p>x</p></div>"#);
    }

    #[test]
    fn div_outside_xhtml_namespace_is_an_error() {
        let x = r#"<Patient xmlns="http://hl7.org/fhir"><text><div><p>x</p></div></text></Patient>"#;
        let d = parse_xml(x);
        let e = errors(&d);
        assert_eq!(e.len(), 1, "{:?}", e);
        assert!(e[0].message.contains("XHTML namespace"));
        assert_eq!(e[0].expression, "Patient.text[0].div[0]");
        assert!(d.root.unwrap().descend("text.div").is_some());
    }

    #[test]
    fn prefixed_fhir_elements() {
        let x = r#"<f:Patient xmlns:f="http://hl7.org/fhir"><f:active value="true"/></f:Patient>"#;
        let d = parse_xml(x);
        assert!(d.issues.is_empty(), "{:?}", d.issues);
        assert_eq!(d.root.unwrap().child_text("active"), Some("true"));
    }

    #[test]
    fn wrong_or_missing_namespace() {

        let d = parse_xml(r#"<Patient xmlns="http://hl7.org/fhir"><active xmlns="urn:x" value="true"/><x:gender xmlns:x="urn:y"/></Patient>"#);
        let e = errors(&d);
        assert_eq!(e.len(), 2, "{:?}", e);
        assert_eq!(e[0].expression, "Patient.active[0]");
        assert_eq!(e[1].expression, "Patient.gender[0]");
    }

    fn said(d: &Document) -> Vec<(Severity, IssueCode, &str, &str, &str)> {
        d.issues.iter().map(|i| (i.severity, i.code, i.expression.as_str(), i.location.as_deref().unwrap_or(""), i.message.as_str())).collect()
    }

    #[test]
    fn this_cannot_be_parsed_as_a_fhir_object_no_namespace() {
        let d = parse_xml(r#"<Patient><active value="true"/></Patient>"#);
        assert!(d.root.is_none());
        assert_eq!(said(&d), [(Severity::Fatal, IssueCode::Structure, "Patient", "", "This 'Patient' cannot be parsed (no namespace on the XML Root element)")]);
    }

    #[test]
    fn this_does_not_appear_to_be_a_fhir_resource_unknown_namespacename() {
        let d = parse_xml(r#"<Patient xmlns="http://hl7.org/fhir/x"><active value="true"/></Patient>"#);
        assert!(d.root.is_none());
        assert_eq!(
            said(&d),
            [(Severity::Fatal, IssueCode::Structure, "Patient", "", "This content cannot be parsed (unknown or unrecognized XML Root element namespace/name 'http://hl7.org/fhir/x::Patient')")]
        );
    }

    #[test]
    fn cdata_is_not_allowed() {
        let d = parse_xml("<Patient xmlns=\"http://hl7.org/fhir\"><active value=\"true\"><![CDATA[cd]]></active></Patient>");
        assert_eq!(said(&d), [(Severity::Error, IssueCode::Structure, "Patient.active[0]", "/f:Patient/f:active", "CDATA is not allowed")]);
    }

    #[test]
    fn no_processing_instructions_allowed_in_resources() {
        let d = parse_xml("<?xml version=\"1.0\"?>\n<?xml-stylesheet href=\"s.xsl\"?>\n<Patient xmlns=\"http://hl7.org/fhir\"><active value=\"true\"/></Patient>");
        assert!(d.root.is_some());
        assert_eq!(said(&d), [(Severity::Error, IssueCode::Invalid, "", "(document)", "No processing instructions allowed in resources")]);
        assert_eq!(d.issues[0].pos, Some(Pos::new(2, 1)));
    }

    #[test]
    fn node_type_is_not_allowed() {
        let d = parse_xml("<Patient xmlns=\"http://hl7.org/fhir\"><active value=\"true\"><?pi x?></active></Patient>");
        assert_eq!(said(&d), [(Severity::Error, IssueCode::Structure, "Patient.active[0]", "/f:Patient/f:active", "Node type 7 is not allowed")]);
    }

    #[test]
    fn element_must_have_some_content() {
        let d = parse_xml("<Patient xmlns=\"http://hl7.org/fhir\"><name><family value=\"X\"/></name><maritalStatus/><active value=\"true\"/></Patient>");
        assert_eq!(said(&d), [(Severity::Error, IssueCode::Invalid, "Patient.maritalStatus[0]", "/f:Patient/f:maritalStatus", "Element must have some content")]);
    }

    #[test]
    fn xml_attr_value_invalid() {
        let d = parse_xml("<Patient xmlns=\"http://hl7.org/fhir\"><id value=\"a&#1;b\"/><active value=\"true\"/></Patient>");
        assert_eq!(said(&d), [(Severity::Error, IssueCode::Structure, "Patient.id[0]", "/f:Patient/f:id", "The XML Attribute value has an invalid character")]);
        let d = parse_xml("<Patient xmlns=\"http://hl7.org/fhir\"><id value=\"a&#9;b\"/></Patient>");
        assert!(d.issues.is_empty(), "{:?}", d.issues);
    }

    #[test]
    fn xml_encoding_invalid() {
        let d = parse_xml("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><Patient xmlns=\"http://hl7.org/fhir\"><active value=\"true\"/></Patient>");
        assert_eq!(said(&d), [(Severity::Error, IssueCode::Invalid, "", "XML", "The XML encoding is invalid (must be UTF-8, not 'ISO-8859-1')")]);
        let d = parse_xml("<?xml version=\"1.0\" encoding=\"utf-8\"?><Patient xmlns=\"http://hl7.org/fhir\"><active value=\"true\"/></Patient>");
        assert!(d.issues.is_empty(), "{:?}", d.issues);
    }

    #[test]
    fn text_content_is_an_error() {
        let x = "<Patient xmlns=\"http://hl7.org/fhir\">\n  stray &amp; text\n  <!-- ok -->\n  <active value=\"true\"/></Patient>";
        let d = parse_xml(x);
        assert_eq!(d.issues.len(), 1, "{:?}", d.issues);
        let i = &d.issues[0];
        assert_eq!(i.message, "Text should not be present ('stray & text')");
        assert_eq!(i.pos, Some(Pos::new(2, 3)));
        assert_eq!(i.expression, "Patient");
        assert_eq!(i.severity, Severity::Error);
    }

    #[test]
    fn byte_order_mark_skipped() {
        let d = parse_xml("\u{feff}<?xml version=\"1.0\"?>\n<Patient xmlns=\"http://hl7.org/fhir\" foo=\"1\"/>");
        assert_eq!(d.issues.len(), 1);
        assert_eq!(d.issues[0].pos, Some(Pos::new(2, 1)));
        assert_eq!(d.root.unwrap().pos, Pos::new(2, 1));
    }

    #[test]
    fn doctype_rejected() {
        let x = "<?xml version=\"1.0\"?>\n<!DOCTYPE Patient [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n<Patient xmlns=\"http://hl7.org/fhir\"><name><text value=\"&xxe;\"/></name></Patient>";
        let d = parse_xml(x);
        let f = fatal(&d).expect("fatal");
        assert!(f.message.contains("DOCTYPE"));
        assert!(f.message.contains("entities"));
        assert_eq!(f.pos, Some(Pos::new(2, 1)));
        assert!(d.root.is_none());
    }

    #[test]
    fn malformed_inputs_are_fatal_with_position() {
        let cases: &[(&str, u32)] = &[
            ("<Patient xmlns=\"http://hl7.org/fhir\">\n  <name>\n    <given value=\"x\"/>\n  </nam>\n</Patient>", 4),
            ("<Patient xmlns=\"http://hl7.org/fhir\">\n  <name>\n    <given value=\"x\"", 3),
            ("<Patient xmlns=\"http://hl7.org/fhir\">\n  <name>\n", 3),
            ("<Patient xmlns=\"http://hl7.org/fhir\">\n  <active value=\"true\" value=\"false\"/>\n</Patient>", 2),
            ("<Patient xmlns=\"http://hl7.org/fhir\"/>\n<Patient/>", 2),
            ("junk<Patient/>", 1),
            ("", 1),
            ("<Patient xmlns=\"http://hl7.org/fhir\">\n<text><div xmlns=\"http://www.w3.org/1999/xhtml\"><p></div></text></Patient>", 2),
        ];
        for (x, line) in cases {
            let d = parse_xml(x);
            let f = fatal(&d).unwrap_or_else(|| panic!("no fatal for {x:?}: {:?}", d.issues));
            assert_eq!(f.pos.map(|p| p.line), Some(*line), "{x:?}: {f:?}");
        }
        // a partial tree is kept when the break comes late
        let d = parse_xml("<Patient xmlns=\"http://hl7.org/fhir\"><active value=\"true\"/><name>");
        assert_eq!(d.root.unwrap().child_text("active"), Some("true"));
    }

    #[test]
    fn deep_nesting_rejected_without_overflow() {
        let mut x = String::from("<Patient xmlns=\"http://hl7.org/fhir\">");
        for _ in 0..100_000 {
            x.push_str("<extension>");
        }
        let d = parse_xml(&x);
        let f = fatal(&d).expect("fatal");
        assert!(f.message.contains("512"));
        // fine just below the limit
        let mut x = String::from("<Patient xmlns=\"http://hl7.org/fhir\">");
        for _ in 0..510 {
            x.push_str("<extension url=\"u\">");
        }
        for _ in 0..510 {
            x.push_str("</extension>");
        }
        x.push_str("</Patient>");
        let d = parse_xml(&x);
        assert!(d.issues.is_empty(), "{:?}", d.issues.first());
        // and inside a narrative too
        let mut x = String::from("<Patient xmlns=\"http://hl7.org/fhir\"><text><div xmlns=\"http://www.w3.org/1999/xhtml\">");
        for _ in 0..1000 {
            x.push_str("<b>");
        }
        assert!(fatal(&parse_xml(&x)).unwrap().message.contains("512"));
    }

    #[test]
    fn duplicate_attributes_are_still_reported() {
        for x in [
            "<Patient xmlns=\"http://hl7.org/fhir\"><active value=\"true\" value=\"false\"/></Patient>",
            "<Patient xmlns=\"http://hl7.org/fhir\" xmlns=\"http://hl7.org/fhir\"/>",
            "<Patient xmlns=\"http://hl7.org/fhir\"><text><div xmlns=\"http://www.w3.org/1999/xhtml\"><p class=\"a\" class=\"b\">x</p></div></text></Patient>",
        ] {
            let d = parse_xml(x);
            let f = fatal(&d).unwrap_or_else(|| panic!("{x}: no fatal issue"));
            assert!(f.message.contains("appears twice"), "{x}: {}", f.message);
        }
    }

    #[test]
    fn an_element_with_too_many_attributes_is_refused() {
        let many = |n: usize, inside_div: bool| {
            let attrs: String = (0..n).map(|i| format!(" a{i}=\"x\"")).collect();
            if inside_div {
                format!("<Patient xmlns=\"http://hl7.org/fhir\"><text><div xmlns=\"http://www.w3.org/1999/xhtml\"><p{attrs}>x</p></div></text></Patient>")
            } else {
                format!("<Patient xmlns=\"http://hl7.org/fhir\"{attrs}/>")
            }
        };
        for inside_div in [false, true] {
            let d = parse_xml(&many(200_000, inside_div));
            let f = fatal(&d).expect("refused");
            assert_eq!(f.code, IssueCode::TooCostly);
            assert!(f.message.contains(&MAX_ATTRIBUTES.to_string()), "{}", f.message);
            // At the limit the attributes are read (and reported as undefined, outside the narrative).
            let d = parse_xml(&many(MAX_ATTRIBUTES - 1, inside_div));
            assert!(fatal(&d).is_none(), "{:?}", fatal(&d));
        }
    }

    #[test]
    fn long_single_line_is_linear() {
        let mut x = String::from("<Bundle xmlns=\"http://hl7.org/fhir\">");
        for _ in 0..200_000 {
            x.push_str("<entry><fullUrl value=\"urn:uuid:x\"/></entry>");
        }
        x.push_str("</Bundle>");
        let t = std::time::Instant::now();
        let d = parse_xml(&x);
        assert!(d.issues.is_empty());
        assert_eq!(d.root.unwrap().children.len(), 200_000);
        assert!(t.elapsed().as_secs() < 20);
    }
}
