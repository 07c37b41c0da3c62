//! FHIR JSON into the element tree.
//!
//! Written by hand rather than on serde_json because the validator needs what
//! serde_json throws away: the line and column of every value, duplicate
//! keys, the exact text of numbers (FHIR decimals are exact), and JSON-level
//! mistakes reported one by one instead of stopping at the first.
//! Syntax errors are fatal (the rest of the text cannot be trusted); every
//! other problem is an issue and parsing goes on.

use crate::issue::{Issue, IssueCode, Severity};
use std::collections::HashMap;
use crate::tree::{Document, Format, Node, Pos, ValueKind};
use compact_str::CompactString;

/// Deeper than this is an attack or a bug, not a resource.
pub const MAX_DEPTH: usize = 256;

pub fn parse_json(text: &str) -> Document {
    let mut p = Parser::new(text);
    let root = p.document();
    let issues = p.issues.into_issues("", "the reader's list");
    Document { format: Format::Json, root, issues, xsi_types: Vec::new() }
}

/// The most the reader's list of issues holds, in bytes (`Parser::issue`).
const MAX_READER_ISSUE_BYTES: usize = 8 << 20;

/// A value as read, before FHIR's shape is put on it.
enum Value {
    Null,
    Primitive(CompactString, ValueKind),
    Object(Node),
    /// The array's items: this range of `Parser::items`.
    Array(std::ops::Range<usize>),
}

struct Syntax(Pos, String);

struct Parser<'a> {
    src: &'a [u8],
    text: &'a str,
    i: usize,
    line: u32,
    line_start: usize,
    issues: crate::issue::IssueList,
    /// Where we are, for issue expressions: property names and array indices.
    path: Vec<(CompactString, Option<usize>)>,
    depth: usize,
    /// A byte offset on the current line and its column (0-based).
    col_mark: (usize, u32),
    /// The properties of the objects being read, innermost last; each
    /// object's are taken off when it is complete. One buffer for the whole
    /// document instead of one per object.
    props: Vec<(CompactString, Pos, Value)>,
    /// The items of the arrays not yet put into their object, likewise.
    items: Vec<(Pos, Value)>,
}

/// Any JSON object (not necessarily a FHIR resource) as an element tree with
/// positions, for pointing at fields of other JSON documents (e.g. a PRSB plan).
pub fn object_tree(text: &str) -> Option<Node> {
    let mut p = Parser::new(text);
    p.root_object().ok()
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Parser<'a> {
        Parser { src: text.as_bytes(), text, i: 0, line: 1, line_start: 0, issues: crate::issue::IssueList::new(MAX_READER_ISSUE_BYTES), path: Vec::new(), depth: 0, col_mark: (0, 0), props: Vec::new(), items: Vec::new() }
    }

    fn root_object(&mut self) -> Result<Node, Syntax> {
        if self.src.starts_with(b"\xEF\xBB\xBF") {
            self.i = 3;
        }
        self.ws()?;
        let pos = self.pos();
        if self.peek() != Some(b'{') {
            return Err(Syntax(pos, "a FHIR resource in JSON must be an object (starting with '{')".into()));
        }
        let node = self.object(CompactString::new(""), pos)?;
        self.ws()?;
        if self.i < self.src.len() {
            return Err(Syntax(self.pos(), "unexpected content after the end of the resource".into()));
        }
        Ok(node)
    }

    fn document(&mut self) -> Option<Node> {
        match self.root_object() {
            Ok(mut node) => match node.resource_type.clone() {
                Some(rt) => {
                    node.name = rt;
                    Some(node)
                }
                None => {
                    self.issues.push(
                        Issue::new(Severity::Fatal, IssueCode::Structure, "", "Unable to find resourceType property")
                            .at(node.pos),
                    );
                    None
                }
            },
            Err(Syntax(pos, msg)) => {
                // As the reference's reader: text that cannot be read is one
                // fatal error, and what was noticed on the way is dropped
                // (a comma that seemed missing was the start of the real mistake).
                self.issues = crate::issue::IssueList::new(MAX_READER_ISSUE_BYTES);
                self.issues.push(Issue::new(Severity::Fatal, IssueCode::Invalid, "", format!("Error parsing JSON: {msg}")).at(pos));
                None
            }
        }
    }

    /// Columns count characters, not bytes. Positions are asked for in
    /// increasing order, so counting on from the last one keeps this linear
    /// even on a megabyte-long line.
    fn pos(&mut self) -> Pos {
        let (mark_at, mark_col) = if self.col_mark.0 >= self.line_start && self.col_mark.0 <= self.i { self.col_mark } else { (self.line_start, 0) };
        let chars = self.src[mark_at..self.i].iter().filter(|&&b| b & 0xC0 != 0x80).count() as u32;
        let col = mark_col + chars;
        self.col_mark = (self.i, col);
        Pos::new(self.line, col + 1)
    }

    fn peek(&self) -> Option<u8> {
        self.src.get(self.i).copied()
    }

    /// Skips whitespace and `//` comments: the reference reads JSON5-style
    /// comments and reports each one.
    fn ws(&mut self) -> Result<(), Syntax> {
        loop {
            self.blank();
            if self.src.get(self.i) == Some(&b'/') && self.src.get(self.i + 1) == Some(&b'/') {
                let pos = self.pos();
                // JSON_COMMENTS_NOT_ALLOWED
                self.issue(Severity::Error, IssueCode::Invalid, pos, format!("Comments are not allowed in JSON"));
                self.i = memchr::memchr(b'\n', &self.src[self.i..]).map_or(self.src.len(), |o| self.i + o);
            } else {
                return Ok(());
            }
        }
    }

    fn blank(&mut self) {
        const SPACES: u64 = u64::from_ne_bytes([b' '; 8]);
        let src = self.src;
        let mut i = self.i;
        while let Some(&b) = src.get(i) {
            if b > b' ' {
                break; // the usual case: no whitespace here at all
            }
            match b {
                b' ' => {
                    // Indentation, most of the whitespace in pretty-printed
                    // JSON: eight bytes at a time, then the rest.
                    i += 1;
                    while let Some(word) = src.get(i..i + 8) {
                        if u64::from_ne_bytes(word.try_into().expect("eight bytes")) != SPACES {
                            break;
                        }
                        i += 8;
                    }
                    while src.get(i) == Some(&b' ') {
                        i += 1;
                    }
                }
                b'\n' => {
                    i += 1;
                    self.line += 1;
                    self.line_start = i;
                }
                b'\t' | b'\r' => i += 1,
                _ => break,
            }
        }
        self.i = i;
    }

    /// A name or value written without quotes (`active: true`, `status: final`),
    /// which the reference's reader takes as a string and reports: letters,
    /// digits, `_`, `.` and `-`, starting with a letter or `_`.
    fn identifier(&mut self) -> CompactString {
        let start = self.i;
        while self.src.get(self.i).is_some_and(|&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')) {
            self.i += 1;
        }
        CompactString::new(&self.text[start..self.i])
    }

    /// The expression of the element holding the current property.
    fn parent_expression(&self) -> String {
        self.expression_of(self.path.len().saturating_sub(1))
    }

    fn issue_at(&mut self, expr: String, code: IssueCode, pos: Pos, msg: String) {
        if self.issues.is_full() {
            self.issues.count(Severity::Error);
            return;
        }
        self.issues.push(Issue::new(Severity::Error, code, expr, msg).at(pos));
    }

    fn expect(&mut self, b: u8, what: &str) -> Result<(), Syntax> {
        self.ws()?;
        if self.peek() == Some(b) {
            self.i += 1;
            Ok(())
        } else {
            Err(self.unexpected(what))
        }
    }

    fn unexpected(&mut self, expected: &str) -> Syntax {
        let found = match self.peek() {
            None => "the end of the input".to_string(),
            Some(_) => {
                let c = self.text[self.i..].chars().next().unwrap_or('?');
                format!("'{c}'")
            }
        };
        Syntax(self.pos(), format!("expected {expected} but found {found}"))
    }

    fn expression(&self) -> String {
        self.expression_of(self.path.len())
    }

    /// The expression of the first `n` steps of the path.
    fn expression_of(&self, n: usize) -> String {
        let mut s = String::new();
        for (i, (name, index)) in self.path[..n].iter().enumerate() {
            if i > 0 {
                s.push('.');
            }
            s.push_str(name);
            if let Some(ix) = index {
                s.push_str(&format!("[{ix}]"));
            }
        }
        s
    }

    /// The reader's issues are bounded as the validator's are: each
    /// message to 2,000 characters (property names are the input's, of any
    /// length), and the list to [`MAX_READER_ISSUE_BYTES`], past which issues
    /// are counted and one last issue says how many (the twenty-second
    /// pass's N3).
    fn issue(&mut self, severity: Severity, code: IssueCode, pos: Pos, msg: String) {
        if self.issues.is_full() {
            self.issues.count(severity);
            return;
        }
        let expr = self.expression();
        self.issues.push(Issue::new(severity, code, expr, msg).at(pos));
    }

    fn value(&mut self, name: &CompactString) -> Result<(Pos, Value), Syntax> {
        self.ws()?;
        let pos = self.pos();
        let v = match self.peek() {
            Some(b'{') => Value::Object(self.object(name.clone(), pos)?),
            Some(b'[') => self.array(name)?,
            Some(b'"') => Value::Primitive(self.string()?, ValueKind::JsonString),
            Some(b'-' | b'0'..=b'9') => Value::Primitive(self.number()?, ValueKind::JsonNumber),
            Some(b) if b.is_ascii_alphabetic() || b == b'_' => match self.identifier().as_str() {
                "true" => Value::Primitive("true".into(), ValueKind::JsonBool),
                "false" => Value::Primitive("false".into(), ValueKind::JsonBool),
                "null" => Value::Null,
                word => {
                    let word = CompactString::new(word);
                    // JSON_PROPERTY_VALUE_NO_QUOTES: a property's value is
                    // reported on the element holding it, an array's item on
                    // itself. Its path is written only if it is listed (the
                    // twenty-eighth pass's T3: a path per item, deep down).
                    if self.issues.is_full() {
                        self.issues.count(Severity::Error);
                    } else {
                        let in_array = self.path.last().is_some_and(|l| l.1.is_some());
                        let (expr, what) = if in_array { (self.expression(), CompactString::new("item")) } else { (self.parent_expression(), name.clone()) };
                        let msg = format!("The JSON property '{}' has no quotes around the value of the property '{}'", crate::issue::quoted(&what), crate::issue::quoted(&word));
                        self.issue_at(expr, IssueCode::Invalid, pos, msg);
                    }
                    Value::Primitive(word, ValueKind::JsonString)
                }
            },
            _ => return Err(self.unexpected("a value")),
        };
        Ok((pos, v))
    }

    fn number(&mut self) -> Result<CompactString, Syntax> {
        let start = self.i;
        let s = self.src;
        let mut i = self.i;
        if s.get(i) == Some(&b'-') {
            i += 1;
        }
        let int_start = i;
        while s.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == int_start {
            self.i = i;
            return Err(self.unexpected("a digit"));
        }
        if s[int_start] == b'0' && i - int_start > 1 {
            return Err(Syntax(self.pos(), "JSON numbers must not have leading zeros".into()));
        }
        if s.get(i) == Some(&b'.') {
            i += 1;
            let f = i;
            while s.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            if i == f {
                self.i = i;
                return Err(self.unexpected("a digit after the decimal point"));
            }
        }
        if matches!(s.get(i), Some(b'e' | b'E')) {
            i += 1;
            if matches!(s.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            let e = i;
            while s.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            if i == e {
                self.i = i;
                return Err(self.unexpected("a digit in the exponent"));
            }
        }
        self.i = i;
        Ok(CompactString::new(&self.text[start..i]))
    }

    fn string(&mut self) -> Result<CompactString, Syntax> {
        debug_assert_eq!(self.peek(), Some(b'"'));
        self.i += 1;
        let start = self.i;
        // Most strings are short and plain: one pass over their bytes finds
        // the closing quote, or the first byte that needs the careful path.
        let src = self.src;
        let mut j = start;
        let short_end = (start + 48).min(src.len());
        while j < short_end {
            let b = src[j];
            if b == b'"' {
                self.i = j + 1;
                return Ok(CompactString::new(&self.text[start..j]));
            }
            if b == b'\\' || b < 0x20 {
                break;
            }
            j += 1;
        }
        // Fast path: no escapes.
        match memchr::memchr2(b'"', b'\\', &self.src[self.i..]) {
            Some(off) if self.src[self.i + off] == b'"' => {
                let end = self.i + off;
                let raw = &self.src[start..end];
                if let Some(bad) = raw.iter().position(|&b| b < 0x20) {
                    self.i = start + bad;
                    self.control_char_error(raw[bad])?;
                }
                self.i = end + 1;
                return Ok(CompactString::new(&self.text[start..end]));
            }
            None => {
                self.i = self.src.len();
                return Err(Syntax(self.pos(), "unterminated string".into()));
            }
            _ => {}
        }
        let mut out = String::new();
        loop {
            let Some(off) = memchr::memchr2(b'"', b'\\', &self.src[self.i..]) else {
                self.i = self.src.len();
                return Err(Syntax(self.pos(), "unterminated string".into()));
            };
            let chunk = &self.src[self.i..self.i + off];
            if let Some(bad) = chunk.iter().position(|&b| b < 0x20) {
                self.i += bad;
                self.control_char_error(chunk[bad])?;
            }
            out.push_str(&self.text[self.i..self.i + off]);
            self.i += off;
            if self.src[self.i] == b'"' {
                self.i += 1;
                return Ok(out.into());
            }
            self.i += 1; // the backslash
            let esc = self.peek().ok_or_else(|| Syntax(self.pos(), "unterminated string".into()))?;
            self.i += 1;
            match esc {
                b'"' => out.push('"'),
                b'\\' => out.push('\\'),
                b'/' => out.push('/'),
                b'b' => out.push('\u{8}'),
                b'f' => out.push('\u{c}'),
                b'n' => out.push('\n'),
                b'r' => out.push('\r'),
                b't' => out.push('\t'),
                b'u' => {
                    let hi = self.hex4()?;
                    let c = if (0xD800..0xDC00).contains(&hi) {
                        if self.src[self.i..].starts_with(b"\\u") {
                            self.i += 2;
                            let lo = self.hex4()?;
                            if !(0xDC00..0xE000).contains(&lo) {
                                return Err(Syntax(self.pos(), "invalid unicode surrogate pair".into()));
                            }
                            char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))
                        } else {
                            None
                        }
                    } else {
                        char::from_u32(hi)
                    };
                    match c {
                        Some(c) => out.push(c),
                        None => return Err(Syntax(self.pos(), "invalid unicode escape".into())),
                    }
                }
                _ => return Err(Syntax(self.pos(), format!("invalid escape '\\{}'", esc as char))),
            }
        }
    }

    fn control_char_error(&mut self, b: u8) -> Result<(), Syntax> {
        if b == b'\n' {
            Err(Syntax(self.pos(), "unescaped line break inside a string".into()))
        } else {
            Err(Syntax(self.pos(), format!("unescaped control character 0x{b:02x} inside a string")))
        }
    }

    fn hex4(&mut self) -> Result<u32, Syntax> {
        let digits = self.src.get(self.i..self.i + 4).ok_or_else(|| Syntax(self.pos(), "truncated unicode escape".into()))?;
        let s = std::str::from_utf8(digits).ok().filter(|s| s.bytes().all(|b| b.is_ascii_hexdigit()));
        let v = s.and_then(|s| u32::from_str_radix(s, 16).ok()).ok_or_else(|| Syntax(self.pos(), "invalid unicode escape".into()))?;
        self.i += 4;
        Ok(v)
    }

    fn array(&mut self, name: &CompactString) -> Result<Value, Syntax> {
        self.i += 1; // [
        self.enter()?;
        let start = self.items.len();
        self.ws()?;
        if self.peek() == Some(b']') {
            self.i += 1;
            self.depth -= 1;
            return Ok(Value::Array(start..start));
        }
        loop {
            if let Some(last) = self.path.last_mut() {
                last.1 = Some(self.items.len() - start);
            }
            let (pos, v) = self.value(name)?;
            if let Value::Array(inner) = v {
                self.issue(Severity::Error, IssueCode::Structure, pos, "An array cannot directly contain another array".into());
                self.items.truncate(inner.start); // its items are dropped with it
            } else {
                self.items.push((pos, v));
            }
            self.ws()?;
            match self.peek() {
                Some(b',') => {
                    self.i += 1;
                    self.ws()?;
                    if self.peek() == Some(b']') {
                        let pos = self.pos();
                        self.i += 1;
                        if let Some(last) = self.path.last_mut() {
                            last.1 = None;
                        }
                        // JSON_COMMA_EXTRA
                        self.issue(Severity::Error, IssueCode::Invalid, pos, format!("There is an extra comma at the end of the {} in the JSON", "Array"));
                        break;
                    }
                }
                Some(b']') => {
                    self.i += 1;
                    break;
                }
                Some(b) if matches!(b, b'{' | b'[' | b'"' | b'-' | b'0'..=b'9') || b.is_ascii_alphabetic() || b == b'_' => {
                    // JSON_COMMA_MISSING (the reference reads on silently
                    // inside arrays; careplan says so here too)
                    let pos = self.pos();
                    self.issue(Severity::Error, IssueCode::Invalid, pos, format!("A Comma is missing in the JSON"));
                }
                _ => return Err(self.unexpected("',' or ']'")),
            }
        }
        if let Some(last) = self.path.last_mut() {
            last.1 = None;
        }
        self.depth -= 1;
        Ok(Value::Array(start..self.items.len()))
    }

    fn enter(&mut self) -> Result<(), Syntax> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Syntax(self.pos(), format!("nesting deeper than {MAX_DEPTH} levels is not accepted")));
        }
        Ok(())
    }

    /// Reads an object into a node named `name`, applying FHIR's JSON rules:
    /// `resourceType` marks a resource, `_x` merges into `x`, keys are unique.
    fn object(&mut self, name: CompactString, pos: Pos) -> Result<Node, Syntax> {
        self.i += 1; // {
        self.enter()?;
        let mut node = Node::new(name, pos);
        let props_start = self.props.len();
        let items_start = self.items.len();
        // Duplicate keys are looked for among the earlier ones; past a few
        // dozen keys, through a set (an object may have very many keys).
        let mut keys: Option<std::collections::HashSet<CompactString>> = None;
        self.ws()?;
        if self.peek() == Some(b'}') {
            self.i += 1;
            if !self.path.is_empty() {
                // Object_must_have_some_content
                self.issue(Severity::Error, IssueCode::Invalid, pos, format!("Object must have some content"));
            }
        } else {
            let mut no_comma = false;
            loop {
                self.ws()?;
                let key_pos = self.pos();
                let (key, unquoted) = match self.peek() {
                    Some(b'"') => (self.string()?, false),
                    Some(b) if b.is_ascii_alphabetic() || b == b'_' => (self.identifier(), true),
                    _ => return Err(self.unexpected("a property name in double quotes")),
                };
                self.expect(b':', "':'")?;
                self.path.push((key.clone(), None));
                let (vpos, v) = self.value(&key)?;
                self.path.pop();
                if unquoted {
                    // JSON_PROPERTY_NO_QUOTES
                    self.issue(Severity::Error, IssueCode::Invalid, vpos, format!("The JSON property '{}' has no quotes around the name of the property", crate::issue::quoted(&key)));
                }
                if std::mem::take(&mut no_comma) {
                    // JSON_COMMA_MISSING
                    self.issue(Severity::Error, IssueCode::Invalid, vpos, format!("A Comma is missing in the JSON"));
                }
                let earlier = &self.props[props_start..];
                if keys.is_none() && earlier.len() >= 32 {
                    keys = Some(earlier.iter().map(|(k, _, _)| k.clone()).collect());
                }
                let duplicate = match keys.as_mut() {
                    Some(set) => !set.insert(key.clone()),
                    None => earlier.iter().any(|(k, _, _)| *k == key),
                };
                if duplicate {
                    // DUPLICATE_JSON_PROPERTY_KEY
                    self.issue(Severity::Error, IssueCode::Invalid, key_pos, format!("The JSON property '{key}' is a duplicate and will be ignored"));
                } else {
                    self.props.push((key, vpos, v));
                }
                self.ws()?;
                match self.peek() {
                    Some(b',') => {
                        self.i += 1;
                        self.ws()?;
                        if self.peek() == Some(b'}') {
                            let end = self.pos();
                            self.i += 1;
                            // JSON_COMMA_EXTRA
                            self.issue(Severity::Error, IssueCode::Invalid, end, format!("There is an extra comma at the end of the {} in the JSON", "Object"));
                            break;
                        }
                    }
                    Some(b'}') => {
                        self.i += 1;
                        break;
                    }
                    Some(b) if b == b'"' || b.is_ascii_alphabetic() || b == b'_' => no_comma = true,
                    _ => return Err(self.unexpected("',' or '}'")),
                }
            }
        }
        self.depth -= 1;
        let mut props = std::mem::take(&mut self.props);
        let mut items = std::mem::take(&mut self.items);
        self.assemble(&mut node, &mut props, props_start, &mut items);
        props.truncate(props_start);
        items.truncate(items_start);
        (self.props, self.items) = (props, items);
        Ok(node)
    }

    /// Puts the properties `props[start..]` (with their array items in
    /// `items`) into `node` as children.
    fn assemble(&mut self, node: &mut Node, props: &mut [(CompactString, Pos, Value)], start: usize, items: &mut [(Pos, Value)]) {
        let props = &mut props[start..];
        // One allocation of the right size instead of growing and shrinking.
        let wanted: usize = props.iter().map(|(_, _, v)| if let Value::Array(range) = v { range.len() } else { 1 }).sum();
        node.children.reserve_exact(wanted);
        let mut shadows: Vec<(CompactString, Pos, Value)> = Vec::new();
        // Children that stand for a JSON null in an array, waiting for `_key` content.
        let mut placeholders: Vec<usize> = Vec::new();
        for (key, pos, v) in props.iter_mut() {
            let (key, pos, v) = (std::mem::take(key), *pos, std::mem::replace(v, Value::Null));
            if key == "resourceType" {
                match v {
                    Value::Primitive(t, ValueKind::JsonString) => node.resource_type = Some(t),
                    // RESOURCETYPE_PROPERTY_WRONG_TYPE
                    other => {
                        let found = match other {
                            Value::Null => "Null",
                            Value::Primitive(_, ValueKind::JsonBool) => "Boolean",
                            Value::Primitive(..) => "Number",
                            Value::Object(_) => "Object",
                            Value::Array(_) => "Array",
                        };
                        self.issue(Severity::Fatal, IssueCode::Invalid, pos, format!("The JSON element 'resourceType' has the wrong JSON type: {found}"));
                    }
                }
                continue;
            }
            if key == "resourceDefinition" && self.path.is_empty() && !matches!(v, Value::Primitive(_, ValueKind::JsonString)) {
                let found = match v {
                    Value::Null => "Null",
                    Value::Primitive(_, ValueKind::JsonBool) => "Boolean",
                    Value::Primitive(..) => "Number",
                    Value::Object(_) => "Object",
                    Value::Array(_) => "Array",
                };
                // RESOURCEDEFINITION_PROPERTY_WRONG_TYPE
                self.issue(Severity::Error, IssueCode::Invalid, pos, format!("The JSON element for 'resourceDefinition' has the wrong JSON type: {found}"));
                continue;
            }
            if let Some(base) = key.strip_prefix('_') {
                if !base.is_empty() {
                    shadows.push((base.into(), pos, v));
                    continue;
                }
            }
            self.path.push((key.clone(), None));
            match v {
                Value::Null => self.issue(Severity::Error, IssueCode::Structure, pos, format!("The property '{key}' is null: FHIR JSON leaves absent properties out instead")),
                Value::Primitive(text, kind) => node.children.push(Node::with_value(key.clone(), pos, text, kind)),
                Value::Object(mut o) => {
                    o.name = key.clone();
                    node.children.push(o)
                }
                Value::Array(range) => {
                    if range.is_empty() {
                        // ARRAY_CANNOT_BE_EMPTY
                        self.issue(Severity::Error, IssueCode::Invalid, pos, "Array cannot be empty - the property should not be present if it has no values".into());
                    }
                    for (ipos, item) in &mut items[range] {
                        let (ipos, item) = (*ipos, std::mem::replace(item, Value::Null));
                        let mut n = match item {
                            // A null holds the place of an item that only has `_key` content.
                            Value::Null => {
                                placeholders.push(node.children.len());
                                Node::new(key.clone(), ipos)
                            }
                            Value::Primitive(text, kind) => Node::with_value(key.clone(), ipos, text, kind),
                            Value::Object(mut o) => {
                                o.name = key.clone();
                                o
                            }
                            Value::Array(_) => unreachable!("nested arrays are dropped while reading"),
                        };
                        n.in_array = true;
                        node.children.push(n);
                    }
                }
            }
            self.path.pop();
        }
        if !shadows.is_empty() {
            // The children by name, once: an object may hold thousands of
            // `_name` properties, and looking each base up by a scan would
            // cost their product (the twenty-second pass's N2).
            let mut by_name: HashMap<CompactString, Vec<usize>> = HashMap::new();
            for (i, c) in node.children.iter().enumerate() {
                by_name.entry(c.name.clone()).or_default().push(i);
            }
            for (base, pos, v) in shadows {
                self.merge_shadow(node, &mut by_name, base, pos, v, items);
            }
        }
        // Placeholders still empty had a null with no `_` partner.
        let unfilled: Vec<usize> = placeholders.into_iter().filter(|&i| node.children[i].value.is_none() && node.children[i].children.is_empty()).collect();
        if !unfilled.is_empty() {
            // Each one's index among its array, counted in one pass (N1).
            let mut seen: HashMap<CompactString, usize> = HashMap::new();
            let mut index_of = vec![0usize; node.children.len()];
            for (i, c) in node.children.iter().enumerate() {
                let n = seen.entry(c.name.clone()).or_default();
                index_of[i] = *n;
                *n += 1;
            }
            for &i in &unfilled {
                let name = node.children[i].name.clone();
                let ix = index_of[i];
                self.path.push((name.clone(), Some(ix)));
                let pos = node.children[i].pos;
                // JSON_PROPERTY_INVALID_ARRAY
                self.issue(Severity::Error, IssueCode::Invalid, pos, format!("The JSON array for '{name}' is invalid at index {ix} - must have at least one valid value"));
                self.path.pop();
            }
            let dropped: std::collections::HashSet<usize> = unfilled.into_iter().collect();
            let mut i = 0;
            node.children.retain(|_| {
                let keep = !dropped.contains(&i);
                i += 1;
                keep
            });
        }
        node.children.shrink_to_fit();
    }

    /// Merges `_name` (a primitive's id and extensions) into `name`.
    fn merge_shadow(&mut self, node: &mut Node, by_name: &mut HashMap<CompactString, Vec<usize>>, base: CompactString, pos: Pos, v: Value, items: &mut [(Pos, Value)]) {
        let shadow_name: CompactString = format!("_{base}").into();
        self.path.push((shadow_name.clone(), None));
        match v {
            Value::Object(o) => {
                let existing = by_name.get(&base).and_then(|l| l.first().copied());
                match existing {
                    // This_base_property_must_be_an_Array_not_ ('_name' beside an array 'name')
                    Some(ix) if node.children[ix].in_array => self.issue(Severity::Error, IssueCode::Invalid, pos, format!("This base property must be an Array, not {}", "an Object")),
                    Some(ix) => node.children[ix].children.extend(o.children),
                    None => {
                        let mut n = Node::new(base.clone(), pos);
                        n.children = o.children;
                        by_name.entry(base.clone()).or_default().push(node.children.len());
                        node.children.push(n);
                    }
                }
            }
            Value::Array(range) => {
                let items = &mut items[range];
                let ixs: Vec<usize> = by_name.get(&base).cloned().unwrap_or_default();
                let base_is_array = ixs.first().is_none_or(|&i| node.children[i].in_array);
                if !base_is_array {
                    self.issue(Severity::Error, IssueCode::Structure, pos, format!("The property '{shadow_name}' must not be an array because '{base}' is not an array"));
                } else {
                    if !ixs.is_empty() && ixs.len() != items.len() {
                        // Reported, and still merged item by item so that nothing written is lost.
                        self.issue(
                            Severity::Error,
                            IssueCode::Structure,
                            pos,
                            format!("The arrays '{base}' ({} items) and '{shadow_name}' ({} items) must have the same length", ixs.len(), items.len()),
                        );
                    }
                    for (k, (ipos, item)) in items.iter_mut().enumerate() {
                        let (ipos, item) = (*ipos, std::mem::replace(item, Value::Null));
                        match item {
                            Value::Null => {}
                            Value::Object(o) => match ixs.get(k) {
                                Some(&i) => node.children[i].children.extend(o.children),
                                None => {
                                    let mut n = Node::new(base.clone(), ipos);
                                    n.children = o.children;
                                    n.in_array = true;
                                    by_name.entry(base.clone()).or_default().push(node.children.len());
                                    node.children.push(n);
                                }
                            },
                            _ => self.issue(Severity::Error, IssueCode::Structure, ipos, format!("Items of '{shadow_name}' must be objects or null")),
                        }
                    }
                }
            }
            Value::Null => self.issue(Severity::Error, IssueCode::Structure, pos, format!("The property '{shadow_name}' is null")),
            Value::Primitive(..) => self.issue(Severity::Error, IssueCode::Structure, pos, format!("The property '{shadow_name}' must be an object holding the id and extensions of '{base}'")),
        }
        self.path.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Document {
        parse_json(s)
    }

    #[test]
    fn many_nulls_and_shadows_are_read_in_one_pass() {
        // 3,000 nulls with no `_` partner, each reported at its own index,
        // and 3,000 `_name` shadows each merged into its own property.
        let nulls = vec!["null"; 3_000].join(",");
        let d = parse(&format!(r#"{{"resourceType":"Patient","given":["a",{nulls}]}}"#));
        let indices: Vec<&str> = d.issues.iter().filter_map(|i| i.message.strip_prefix("The JSON array for 'given' is invalid at index ")).map(|m| m.split(' ').next().unwrap()).collect();
        assert_eq!(indices.len(), 3_000);
        assert_eq!((indices[0], indices[2_999]), ("1", "3000"));
        let props: Vec<String> = (0..3_000).map(|i| format!(r#""p{i}":"v","_p{i}":{{"id":"x{i}"}}"#)).collect();
        let d = parse(&format!(r#"{{"resourceType":"Basic",{}}}"#, props.join(",")));
        let root = d.root.unwrap();
        assert_eq!(root.children.len(), 3_000);
        assert_eq!(root.child("p2999").and_then(|p| p.child_text("id")), Some("x2999"));
    }

    #[test]
    fn the_readers_list_of_issues_is_bounded() {
        // Each empty array is an issue quoting its (long) name.
        let name = "n".repeat(2_100);
        let props: Vec<String> = (0..4_000).map(|i| format!(r#""{name}{i}":[]"#)).collect();
        let d = parse(&format!(r#"{{"resourceType":"Basic",{}}}"#, props.join(",")));
        let listed: usize = d.issues.iter().map(|i| i.message.len() + i.expression.len()).sum();
        assert!(listed < 9 << 20, "{listed} bytes");
        let last = d.issues.last().unwrap();
        assert!(last.severity.is_error() && last.message.contains("more issues") && last.message.contains("not listed"), "{last:?}");
    }

    #[test]
    fn json_shape_errors_read_as_the_reference_words_them() {
        let said = |src: &str| parse(src).issues.into_iter().map(|i| (i.severity, i.message)).collect::<Vec<_>>();
        assert_eq!(said(r#"{"resourceType":"Patient","name":[]}"#), [(Severity::Error, "Array cannot be empty - the property should not be present if it has no values".to_owned())]);
        assert_eq!(said(r#"{"resourceType":"Patient","active":true,"active":false}"#), [(Severity::Error, "The JSON property 'active' is a duplicate and will be ignored".to_owned())]);
        assert!(said(r#"{"resourceType":7}"#).contains(&(Severity::Fatal, "The JSON element 'resourceType' has the wrong JSON type: Number".to_owned())));
        assert!(said(r#"{"active":true}"#).contains(&(Severity::Fatal, "Unable to find resourceType property".to_owned())));
    }

    /// The reader's issues other than fatal ones: (severity, code, expression, message).
    fn reported(src: &str) -> Vec<(Severity, IssueCode, String, String)> {
        let d = parse(src);
        assert!(d.root.is_some(), "{:?}", d.issues);
        d.issues.into_iter().map(|i| (i.severity, i.code, i.expression, i.message)).collect()
    }

    fn one(severity: Severity, expression: &str, message: &str) -> Vec<(Severity, IssueCode, String, String)> {
        vec![(severity, IssueCode::Invalid, expression.to_owned(), message.to_owned())]
    }

    #[test]
    fn json_comments_not_allowed() {
        let got = reported("{\"resourceType\":\"Patient\",\n  // a note\n  \"name\":[{\"family\":\"X\" // another\n}]}");
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0], one(Severity::Error, "", "Comments are not allowed in JSON")[0]);
        assert_eq!(got[1], one(Severity::Error, "name[0]", "Comments are not allowed in JSON")[0]);
        assert_eq!(parse("{\"resourceType\":\"Patient\",\n  // a note\n  \"active\":true}").root.unwrap().child_text("active"), Some("true"));
    }

    #[test]
    fn json_comma_extra() {
        assert_eq!(reported(r#"{"resourceType":"Patient","active":true,}"#), one(Severity::Error, "", "There is an extra comma at the end of the Object in the JSON"));
        let got = reported(r#"{"resourceType":"Patient","name":[{"given":["A","B",]}]}"#);
        assert_eq!(got, one(Severity::Error, "name[0].given", "There is an extra comma at the end of the Array in the JSON"));
    }

    #[test]
    fn json_comma_missing() {
        let d = parse(r#"{"resourceType":"Patient","active":true "gender":"male"}"#);
        assert_eq!(d.root.as_ref().unwrap().child_text("gender"), Some("male"));
        let got: Vec<_> = d.issues.into_iter().map(|i| (i.severity, i.code, i.expression, i.message, i.pos.unwrap().col)).collect();
        assert_eq!(got, [(Severity::Error, IssueCode::Invalid, String::new(), "A Comma is missing in the JSON".to_owned(), 50)]);
    }

    #[test]
    fn json_property_no_quotes() {
        let d = parse(r#"{"resourceType":"Patient","name":[{family:"X"}]}"#);
        assert_eq!(d.root.as_ref().unwrap().child("name").unwrap().child_text("family"), Some("X"));
        let got: Vec<_> = d.issues.into_iter().map(|i| (i.severity, i.code, i.expression, i.message)).collect();
        assert_eq!(got, one(Severity::Error, "name[0]", "The JSON property 'family' has no quotes around the name of the property"));
    }

    #[test]
    fn json_property_value_no_quotes() {
        let d = parse(r#"{"resourceType":"Patient","gender":male,"name":[{"given":[Ann]}],"active":true}"#);
        let root = d.root.as_ref().unwrap();
        assert_eq!(root.child("gender").unwrap().value.as_ref().map(|v| (v.text.as_str(), v.kind)), Some(("male", ValueKind::JsonString)));
        assert_eq!(root.child_text("active"), Some("true"));
        let got: Vec<_> = d.issues.into_iter().map(|i| (i.severity, i.code, i.expression, i.message)).collect();
        assert_eq!(
            got,
            [
                one(Severity::Error, "", "The JSON property 'gender' has no quotes around the value of the property 'male'")[0].clone(),
                one(Severity::Error, "name[0].given[0]", "The JSON property 'item' has no quotes around the value of the property 'Ann'")[0].clone(),
            ]
        );
    }

    #[test]
    fn json_property_invalid_array() {
        let got = reported(r#"{"resourceType":"Patient","name":[{"given":["A",null]}]}"#);
        assert_eq!(got, one(Severity::Error, "name[0].given[1]", "The JSON array for 'given' is invalid at index 1 - must have at least one valid value"));
    }

    #[test]
    fn this_base_property_must_be_an_array_not() {
        let got = reported(r#"{"resourceType":"Patient","name":[{"given":["A"],"_given":{"id":"x"}}]}"#);
        assert_eq!(got, one(Severity::Error, "name[0]._given", "This base property must be an Array, not an Object"));
    }

    #[test]
    fn resourcedefinition_property_wrong_type() {
        let d = parse(r#"{"resourceType":"Basic","resourceDefinition":7,"code":{"text":"x"}}"#);
        assert!(d.root.as_ref().unwrap().child("resourceDefinition").is_none());
        let got: Vec<_> = d.issues.into_iter().map(|i| (i.severity, i.code, i.expression, i.message)).collect();
        assert_eq!(got, one(Severity::Error, "", "The JSON element for 'resourceDefinition' has the wrong JSON type: Number"));
    }

    #[test]
    fn object_must_have_some_content() {
        assert_eq!(reported(r#"{"resourceType":"Patient","maritalStatus":{}}"#), one(Severity::Error, "maritalStatus", "Object must have some content"));
        assert_eq!(reported(r#"{"resourceType":"Patient","name":[{}]}"#), one(Severity::Error, "name[0]", "Object must have some content"));
    }

    #[test]
    fn primitives_objects_and_arrays_become_nodes_with_positions() {
        let d = parse("{\n  \"resourceType\": \"Patient\",\n  \"active\": true,\n  \"name\": [{\"given\": [\"A\", \"B\"]}]\n}");
        assert!(d.issues.is_empty(), "{:?}", d.issues);
        let root = d.root.unwrap();
        assert_eq!(root.name, "Patient");
        assert_eq!(root.resource_type.as_deref(), Some("Patient"));
        let active = root.child("active").unwrap();
        assert_eq!(active.text(), Some("true"));
        assert_eq!(active.value.as_ref().unwrap().kind, ValueKind::JsonBool);
        assert_eq!(active.pos, Pos::new(3, 13));
        let name = root.child("name").unwrap();
        assert!(name.in_array);
        let given: Vec<_> = name.children_named("given").map(|g| g.text().unwrap()).collect();
        assert_eq!(given, ["A", "B"]);
    }

    #[test]
    fn shadow_properties_merge_into_their_primitive() {
        let d = parse(r#"{"resourceType":"Patient","birthDate":"1970","_birthDate":{"id":"x","extension":[{"url":"u","valueString":"s"}]},
            "name":[{"given":["A",null],"_given":[null,{"extension":[{"url":"v","valueCode":"c"}]}]}]}"#);
        assert!(d.issues.is_empty(), "{:?}", d.issues);
        let root = d.root.unwrap();
        let bd = root.child("birthDate").unwrap();
        assert_eq!(bd.text(), Some("1970"));
        assert_eq!(bd.child_text("id"), Some("x"));
        assert_eq!(bd.child("extension").unwrap().child_text("url"), Some("u"));
        let given: Vec<_> = root.child("name").unwrap().children_named("given").collect();
        assert_eq!(given.len(), 2);
        assert_eq!(given[1].text(), None);
        assert_eq!(given[1].child("extension").unwrap().child_text("valueCode"), Some("c"));
    }

    #[test]
    fn null_without_partner_and_duplicates_are_reported_and_parsing_goes_on() {
        let d = parse(r#"{"resourceType":"Patient","name":[{"given":["A",null]}],"active":true,"active":false,"gender":null}"#);
        let msgs: Vec<_> = d.issues.iter().map(|i| (i.expression.as_str(), i.message.as_str())).collect();
        assert!(msgs.iter().any(|(e, m)| *e == "name[0].given[1]" && m.contains("is invalid at index 1")), "{msgs:?}");
        assert!(msgs.iter().any(|(_, m)| m.contains("The JSON property 'active' is a duplicate")), "{msgs:?}");
        assert!(msgs.iter().any(|(e, m)| *e == "gender" && m.contains("null")), "{msgs:?}");
        assert!(d.root.is_some());
    }

    #[test]
    fn nested_resources_carry_their_type() {
        let d = parse(r#"{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient","id":"p"}}]}"#);
        let root = d.root.unwrap();
        let res = root.child("entry").unwrap().child("resource").unwrap();
        assert_eq!(res.resource_type.as_deref(), Some("Patient"));
        assert_eq!(res.child_text("id"), Some("p"));
    }

    #[test]
    fn numbers_keep_their_exact_text() {
        let d = parse(r#"{"resourceType":"Observation","valueQuantity":{"value":1.500e3}}"#);
        let v = d.root.unwrap().child("valueQuantity").unwrap().child("value").unwrap().clone();
        assert_eq!(v.text(), Some("1.500e3"));
        assert_eq!(v.value.unwrap().kind, ValueKind::JsonNumber);
    }

    #[test]
    fn escapes_are_decoded() {
        let d = parse(r#"{"resourceType":"Patient","id":"a\u00e9\n\"\ud83d\ude00"}"#);
        assert_eq!(d.root.unwrap().child_text("id"), Some("aé\n\"😀"));
    }

    #[test]
    fn strings_of_every_length_read_the_same_on_every_path() {
        // Short and long, plain and escaped, with the escape before and after
        // the first 48 bytes, and multi-byte characters on the boundary.
        for len in [0usize, 1, 47, 48, 49, 200] {
            let plain: String = "é".repeat(len / 2) + &"x".repeat(len % 2);
            for text in [plain.clone(), format!("{plain}\\n"), format!("\\t{plain}")] {
                let json = format!(r#"{{"resourceType":"Patient","id":"{text}"}}"#);
                let expected: String = serde_json::from_str::<serde_json::Value>(&json).unwrap()["id"].as_str().unwrap().to_string();
                assert_eq!(parse(&json).root.unwrap().child_text("id"), Some(expected.as_str()), "{text}");
            }
            let raw_control = format!("{{\"resourceType\":\"Patient\",\"id\":\"{plain}\u{1}\"}}");
            assert!(parse(&raw_control).issues.iter().any(|i| i.severity == Severity::Fatal), "a raw control character after {len} bytes");
        }
    }

    #[test]
    fn syntax_errors_are_fatal_with_a_position() {
        for (src, line) in [("{\n \"resourceType\": \"Patient\",\n \"a\": [1, }", 3), ("{\"resourceType\": \"Pat", 1), ("", 1), ("[1]", 1), ("{} x", 1)] {
            let d = parse(src);
            let fatal = d.issues.iter().find(|i| i.severity == Severity::Fatal).unwrap_or_else(|| panic!("no fatal issue for {src:?}"));
            assert_eq!(fatal.pos.unwrap().line, line, "{src:?}: {fatal:?}");
            assert!(d.root.is_none());
        }
    }

    #[test]
    fn missing_resource_type_is_reported() {
        let d = parse(r#"{"id":"x"}"#);
        assert!(d.root.is_none());
        assert!(d.issues[0].message.contains("resourceType"));
    }

    #[test]
    fn deep_nesting_is_refused_without_overflowing_the_stack() {
        let src = format!("{{\"resourceType\":\"Basic\",\"a\":{}{}}}", "[{\"a\":".repeat(10_000), "}]".repeat(10_000));
        let d = parse(&src);
        assert!(d.issues.iter().any(|i| i.message.contains("nesting")));
    }

    #[test]
    fn columns_count_characters() {
        let d = parse("{\"resourceType\":\"Patient\",\"id\":\"é\",\"active\":true}");
        let root = d.root.unwrap();
        // `true` is the 45th character; counting bytes would give 46.
        assert_eq!(root.child("active").unwrap().pos.col, 45);
    }
}
