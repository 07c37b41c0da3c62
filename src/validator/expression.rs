//! The FHIRPath of the node the walk is at, kept as a stack of segments and
//! only turned into text when an issue needs it.

use compact_str::CompactString;
use std::fmt::Write;

#[derive(Clone, Debug)]
enum Segment {
    Root(CompactString),
    /// An element name; `index` when the element repeats.
    Element { name: CompactString, index: Option<usize> },
    /// A choice element with the type the instance chose: `value.ofType(Quantity)`.
    Choice { name: CompactString, type_code: CompactString },
    /// Where a nested resource starts; renders as nothing.
    Resource(CompactString),
}

#[derive(Clone, Debug, Default)]
pub struct PathStack {
    segments: Vec<Segment>,
}

impl PathStack {
    /// The name the path starts with (the resource type), or `` when empty.
    pub fn root_name(&self) -> &str {
        match self.segments.first() {
            Some(Segment::Root(name)) => name.as_str(),
            _ => "",
        }
    }

    pub fn push_root(&mut self, type_name: &str) {
        self.segments.push(Segment::Root(type_name.into()));
    }

    pub fn push(&mut self, name: &str, index: Option<usize>) {
        self.segments.push(Segment::Element { name: name.into(), index });
    }

    pub fn push_choice(&mut self, name: &str, type_code: &str) {
        self.segments.push(Segment::Choice { name: name.into(), type_code: type_code.into() });
    }

    /// Marks the start of a nested resource (its path continues the container's).
    pub fn push_resource(&mut self, type_name: &str) {
        self.segments.push(Segment::Resource(type_name.into()));
    }

    /// The element's path in its resource's definition, without indices:
    /// `Patient.name`, `Observation.value[x]`, for extension contexts.
    pub fn definition_path(&self) -> String {
        let start = self.segments.iter().rposition(|s| matches!(s, Segment::Root(_) | Segment::Resource(_))).unwrap_or(0);
        let mut out = String::new();
        for seg in &self.segments[start..] {
            match seg {
                Segment::Root(t) | Segment::Resource(t) => out.push_str(t),
                Segment::Element { name, .. } => {
                    out.push('.');
                    out.push_str(name);
                }
                Segment::Choice { name, .. } => {
                    out.push('.');
                    out.push_str(name);
                    out.push_str("[x]");
                }
            }
        }
        out
    }

    /// Whether the element before the last one is the choice element
    /// `name[x]` (`value` in `....value.ofType(string).extension`).
    pub fn parent_is_choice(&self, name: &str) -> bool {
        let n = self.segments.len();
        n >= 2 && matches!(&self.segments[n - 2], Segment::Choice { name: c, .. } if c == name)
    }

    pub fn pop(&mut self) {
        self.segments.pop();
    }

    pub fn depth(&self) -> usize {
        self.segments.len()
    }

    pub fn render(&self) -> String {
        let mut s = String::new();
        for (i, seg) in self.segments.iter().enumerate() {
            match seg {
                Segment::Root(t) => s.push_str(t),
                Segment::Resource(_) => {}
                Segment::Element { name, index } => {
                    if i > 0 {
                        s.push('.');
                    }
                    s.push_str(name);
                    if let Some(ix) = index {
                        let _ = write!(s, "[{ix}]");
                    }
                }
                Segment::Choice { name, type_code } => {
                    if i > 0 {
                        s.push('.');
                    }
                    let _ = write!(s, "{name}.ofType({type_code})");
                }
            }
        }
        s
    }

    /// The element's XML path as the reference's XML reader writes it:
    /// `/f:Observation/f:valueInteger` from the root, and from the type's
    /// name inside a nested resource (`Endpoint/f:connectionType`).
    pub fn xml_location(&self) -> String {
        let start = self.segments.iter().rposition(|s| matches!(s, Segment::Resource(_) | Segment::Root(_))).unwrap_or(0);
        let mut out = String::new();
        for seg in &self.segments[start..] {
            match seg {
                Segment::Root(t) => {
                    out.push_str("/f:");
                    out.push_str(t);
                }
                Segment::Resource(t) => out.push_str(t),
                Segment::Element { name, .. } => {
                    out.push_str("/f:");
                    out.push_str(name);
                }
                Segment::Choice { name, type_code } => {
                    out.push_str("/f:");
                    out.push_str(name);
                    let mut chars = type_code.chars();
                    out.extend(chars.next().map(|c| c.to_ascii_uppercase()));
                    out.push_str(chars.as_str());
                }
            }
        }
        out
    }

    /// The element's path inside its innermost resource, without indices:
    /// `Composition.author` (what a message names an element kind by).
    pub fn render_without_indices(&self) -> String {
        let start = self.segments.iter().rposition(|s| matches!(s, Segment::Resource(_) | Segment::Root(_))).unwrap_or(0);
        let mut out = String::new();
        for seg in &self.segments[start..] {
            let name = match seg {
                Segment::Root(t) | Segment::Resource(t) => t,
                Segment::Element { name, .. } | Segment::Choice { name, .. } => name,
            };
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(name);
        }
        out
    }

    /// The path with a child appended, without pushing it.
    pub fn render_child(&self, name: &str) -> String {
        let mut s = self.render();
        if !s.is_empty() {
            s.push('.');
        }
        s.push_str(name);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_indices_and_choices() {
        let mut p = PathStack::default();
        p.push_root("Bundle");
        p.push("entry", Some(2));
        p.push("resource", None);
        p.push_choice("value", "Quantity");
        assert_eq!(p.render(), "Bundle.entry[2].resource.value.ofType(Quantity)");
        p.pop();
        assert_eq!(p.render_child("id"), "Bundle.entry[2].resource.id");
        p.push_resource("Observation");
        p.push_choice("value", "Quantity");
        assert_eq!(p.render(), "Bundle.entry[2].resource.value.ofType(Quantity)");
        assert_eq!(p.definition_path(), "Observation.value[x]");
    }
}
