//! The element tree: what every parser produces and every consumer reads.
//!
//! JSON and XML differ in how they spell a FHIR resource, so both are
//! normalised here into one shape: a node per element, repeating elements as
//! siblings with the same name, a primitive's value and its `id`/`extension`
//! on the same node (JSON's `_name` siblings are merged in), and a resource
//! nested anywhere (`contained`, `Bundle.entry.resource`, ...) marked with its
//! `resource_type`. Every node remembers where it came from.

use compact_str::CompactString;
use thin_vec::ThinVec;

pub type Name = CompactString;

/// A 1-based line and column in the source text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

impl Pos {
    pub fn new(line: u32, col: u32) -> Pos {
        Pos { line, col }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
}

/// How a primitive value was spelled in the source. JSON gives types to
/// values (a FHIR boolean must be a JSON `true`, not `"true"`), XML does not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueKind {
    JsonString,
    JsonNumber,
    JsonBool,
    /// An XML `value` attribute.
    XmlAttribute,
    /// Narrative XHTML (`div`): the text is the serialized XHTML fragment.
    Xhtml,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Primitive {
    pub text: CompactString,
    pub kind: ValueKind,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub name: Name,
    pub pos: Pos,
    pub value: Option<Primitive>,
    /// A thin vector: one pointer in the node, the length on the heap. Most
    /// nodes are leaves, and a 100,000-entry Bundle has millions of nodes.
    pub children: ThinVec<Node>,
    /// Set on a node that is a resource: the root, and any nested resource.
    pub resource_type: Option<Name>,
    /// JSON only: the property was written as an array item. XML cannot say.
    pub in_array: bool,
}

impl Node {
    pub fn new(name: impl Into<Name>, pos: Pos) -> Node {
        Node { name: name.into(), pos, value: None, children: ThinVec::new(), resource_type: None, in_array: false }
    }

    pub fn with_value(name: impl Into<Name>, pos: Pos, text: impl Into<CompactString>, kind: ValueKind) -> Node {
        let mut n = Node::new(name, pos);
        n.value = Some(Primitive { text: text.into(), kind });
        n
    }

    /// The first child with this name.
    pub fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Every child with this name, in document order.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The primitive text of this node, if it has one.
    pub fn text(&self) -> Option<&str> {
        self.value.as_ref().map(|v| v.text.as_str())
    }

    /// The primitive text of the named child.
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name).and_then(Node::text)
    }

    /// Walks `a.b.c` through first children.
    pub fn descend(&self, dotted: &str) -> Option<&Node> {
        dotted.split('.').try_fold(self, |n, part| n.child(part))
    }
}

/// A parsed input: the tree (absent when the input could not be read at all)
/// and what the parser found wrong on the way.
#[derive(Debug)]
pub struct Document {
    pub format: Format,
    pub root: Option<Node>,
    pub issues: Vec<crate::issue::Issue>,
    /// XML only: the `xsi:type` attributes read (where, and their value),
    /// which the validator judges against the elements' types.
    pub xsi_types: Vec<(Pos, String)>,
}

