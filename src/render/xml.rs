//! FHIR JSON → FHIR XML: primitives as `value` attributes (their `_name`
//! shadows' id and extensions folded in), element ids and extension URLs
//! as attributes, nested resources wrapped in their type's element, and
//! narrative XHTML written as it is. JSON does not fix the order of
//! properties and XML does, so children are written in the order of their
//! definitions (properties no definition knows keep their place, last).

use crate::context::Context;
use crate::structure::StructureDef;
use serde_json::{Map, Value};
use std::sync::Arc;

/// Where an object sits in the definitions: a definition and the element the object is an instance of.
type Scope = Option<(Arc<StructureDef>, usize)>;

struct Writer<'a> {
    out: String,
    ctx: &'a Context,
}

const FHIR_NS: &str = "http://hl7.org/fhir";

/// A resource (a JSON object with `resourceType`) as an XML document.
pub fn resource_to_xml(resource: &Value, ctx: &Context) -> String {
    let mut w = Writer { out: String::with_capacity(1024), ctx };
    w.out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    if let Value::Object(map) = resource {
        w.resource(map, true);
    }
    w.out
}

impl Writer<'_> {
    fn resource(&mut self, map: &Map<String, Value>, root: bool) {
        let type_name = map.get("resourceType").and_then(Value::as_str).unwrap_or("Resource");
        self.out.push('<');
        self.out.push_str(type_name);
        if root {
            self.out.push_str(" xmlns=\"");
            self.out.push_str(FHIR_NS);
            self.out.push('"');
        }
        self.out.push('>');
        let scope = self.ctx.type_definition(type_name).map(|sd| (sd, 0));
        self.children(map, true, &scope);
        close(&mut self.out, type_name);
    }

    /// The definition of property `name` of an object in `scope`: its
    /// position among its siblings and the scope of its own children.
    fn child(&self, scope: &Scope, name: &str) -> (usize, Scope) {
        let Some((sd, ix)) = scope else { return (usize::MAX, None) };
        let Some((d, chosen)) = sd.match_child(*ix, name) else { return (usize::MAX, None) };
        let element = &sd.elements[d];
        let inner = if !element.children.is_empty() {
            Some((sd.clone(), d))
        } else if let Some(r) = &element.content_reference {
            sd.element_by_id(r.rsplit('#').next().unwrap_or(r)).map(|t| (sd.clone(), t))
        } else {
            let code = chosen.map(|t| t.code.as_str()).or_else(|| (element.types.len() == 1).then(|| element.types[0].code.as_str()));
            code.and_then(|c| self.ctx.type_definition(c)).map(|t| (t, 0))
        };
        (d, inner)
    }

    /// The properties of an object as child elements, in definition order.
    /// In a resource `id` is an element; in a datatype it is an attribute
    /// (written by the caller).
    fn children(&mut self, map: &Map<String, Value>, is_resource: bool, scope: &Scope) {
        let mut properties: Vec<(usize, &str, Scope)> = Vec::new();
        for key in map.keys() {
            if key == "resourceType" || (!is_resource && key == "id") {
                continue;
            }
            let name = key.strip_prefix('_').unwrap_or(key);
            // A shadow is written with its value, unless it stands alone (only id/extensions).
            if key.starts_with('_') && map.contains_key(name) {
                continue;
            }
            let (order, inner) = self.child(scope, name);
            properties.push((order, key, inner));
        }
        properties.sort_by_key(|p| p.0);
        for (_, key, inner) in properties {
            match key.strip_prefix('_') {
                Some(name) => self.property(name, &Value::Null, map.get(key), &inner),
                None => self.property(key, &map[key], map.get(&format!("_{key}")), &inner),
            }
        }
    }

    fn property(&mut self, name: &str, value: &Value, shadow: Option<&Value>, scope: &Scope) {
        match (value, shadow) {
            (Value::Array(items), _) => {
                let shadows = shadow.and_then(Value::as_array);
                for (i, item) in items.iter().enumerate() {
                    self.element(name, item, shadows.and_then(|s| s.get(i)), scope);
                }
            }
            (Value::Null, Some(Value::Array(shadows))) => {
                for s in shadows {
                    self.element(name, &Value::Null, Some(s), scope);
                }
            }
            _ => self.element(name, value, shadow, scope),
        }
    }

    fn element(&mut self, name: &str, value: &Value, shadow: Option<&Value>, scope: &Scope) {
        match value {
            Value::String(xhtml) if name == "div" => self.out.push_str(xhtml),
            Value::Object(map) if map.contains_key("resourceType") => {
                open(&mut self.out, name, &[]);
                self.out.push('>');
                self.resource(map, false);
                close(&mut self.out, name);
            }
            Value::Object(map) => {
                let mut attrs: Vec<(&str, String)> = Vec::new();
                if let Some(id) = map.get("id").and_then(Value::as_str) {
                    attrs.push(("id", id.to_string()));
                }
                let takes_url = name == "extension" || name == "modifierExtension";
                if let Some(url) = map.get("url").and_then(Value::as_str).filter(|_| takes_url) {
                    attrs.push(("url", url.to_string()));
                }
                open(&mut self.out, name, &attrs);
                self.out.push('>');
                let children: Map<String, Value> = map.iter().filter(|(k, _)| !(takes_url && k.as_str() == "url")).map(|(k, v)| (k.clone(), v.clone())).collect();
                self.children(&children, false, scope);
                close(&mut self.out, name);
            }
            _ => {
                let mut attrs: Vec<(&str, String)> = Vec::new();
                let shadow_map = shadow.and_then(Value::as_object);
                if let Some(id) = shadow_map.and_then(|m| m.get("id")).and_then(Value::as_str) {
                    attrs.push(("id", id.to_string()));
                }
                match value {
                    Value::String(s) => attrs.push(("value", s.clone())),
                    Value::Number(n) => attrs.push(("value", n.to_string())),
                    Value::Bool(b) => attrs.push(("value", b.to_string())),
                    _ => {}
                }
                open(&mut self.out, name, &attrs);
                match shadow_map {
                    Some(m) if m.keys().any(|k| k != "id") => {
                        self.out.push('>');
                        let rest: Map<String, Value> = m.iter().filter(|(k, _)| k.as_str() != "id").map(|(k, v)| (k.clone(), v.clone())).collect();
                        self.children(&rest, false, scope);
                        close(&mut self.out, name);
                    }
                    _ => self.out.push_str("/>"),
                }
            }
        }
    }
}

fn open(out: &mut String, name: &str, attrs: &[(&str, String)]) {
    out.push('<');
    out.push_str(name);
    for (k, v) in attrs {
        out.push(' ');
        out.push_str(k);
        out.push_str("=\"");
        escape_into(out, v);
        out.push('"');
    }
}

fn close(out: &mut String, name: &str) {
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn primitives_become_value_attributes_and_shadows_fold_in() {
        let r = json!({
            "resourceType": "Patient", "id": "p1",
            "extension": [{"url": "http://x/e", "valueString": "a\"b"}],
            "name": [{"family": "Smith", "given": ["A", "B"], "_given": [null, {"extension": [{"url": "http://x/g", "valueBoolean": true}]}]}],
            "birthDate": "2000-01-01",
            "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">hi</div>"},
            "contained": [{"resourceType": "Organization", "id": "o"}]
        });
        let xml = resource_to_xml(&r, &Context::new());
        assert!(xml.contains("<Patient xmlns=\"http://hl7.org/fhir\"><id value=\"p1\"/>"), "{xml}");
        assert!(xml.contains("<extension url=\"http://x/e\"><valueString value=\"a&quot;b\"/></extension>"), "{xml}");
        assert!(xml.contains("<given value=\"A\"/><given value=\"B\"><extension url=\"http://x/g\"><valueBoolean value=\"true\"/></extension></given>"), "{xml}");
        assert!(xml.contains("<div xmlns=\"http://www.w3.org/1999/xhtml\">hi</div>"), "{xml}");
        assert!(xml.contains("<contained><Organization><id value=\"o\"/></Organization></contained>"), "{xml}");
        let back = crate::parse::parse(xml.as_bytes(), Some(crate::tree::Format::Xml));
        assert!(back.issues.is_empty(), "{:?}", back.issues);
    }
}
