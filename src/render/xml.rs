//! FHIR JSON → FHIR XML: primitives as `value` attributes (their `_name`
//! shadows' id and extensions folded in), element ids and extension URLs
//! as attributes, nested resources wrapped in their type's element, and
//! narrative XHTML written as it is.

use serde_json::{Map, Value};

const FHIR_NS: &str = "http://hl7.org/fhir";

/// A resource (a JSON object with `resourceType`) as an XML document.
pub fn resource_to_xml(resource: &Value) -> String {
    let mut out = String::with_capacity(1024);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    if let Value::Object(map) = resource {
        write_resource(&mut out, map, true);
    }
    out
}

fn write_resource(out: &mut String, map: &Map<String, Value>, root: bool) {
    let type_name = map.get("resourceType").and_then(Value::as_str).unwrap_or("Resource");
    out.push('<');
    out.push_str(type_name);
    if root {
        out.push_str(" xmlns=\"");
        out.push_str(FHIR_NS);
        out.push('"');
    }
    out.push('>');
    write_children(out, map, true);
    out.push_str("</");
    out.push_str(type_name);
    out.push('>');
}

/// The properties of an object as child elements. In a resource `id` is an
/// element; in a datatype it is an attribute (written by the caller).
fn write_children(out: &mut String, map: &Map<String, Value>, is_resource: bool) {
    for (key, value) in map {
        if key == "resourceType" || (!is_resource && key == "id") {
            continue;
        }
        if let Some(name) = key.strip_prefix('_') {
            // A shadow with no value beside it: the element has only id/extensions.
            if !map.contains_key(name) {
                write_property(out, name, &Value::Null, Some(value));
            }
            continue;
        }
        write_property(out, key, value, map.get(&format!("_{key}")));
    }
}

fn write_property(out: &mut String, name: &str, value: &Value, shadow: Option<&Value>) {
    match value {
        Value::Array(items) => {
            let shadows = shadow.and_then(Value::as_array);
            for (i, item) in items.iter().enumerate() {
                write_element(out, name, item, shadows.and_then(|s| s.get(i)));
            }
            // Shadows longer than the values (values all null) still count.
            if items.is_empty() {
                if let Some(shadows) = shadows {
                    for s in shadows {
                        write_element(out, name, &Value::Null, Some(s));
                    }
                }
            }
        }
        _ => match shadow {
            Some(Value::Array(shadows)) => {
                for s in shadows {
                    write_element(out, name, &Value::Null, Some(s));
                }
            }
            _ => write_element(out, name, value, shadow),
        },
    }
}

fn write_element(out: &mut String, name: &str, value: &Value, shadow: Option<&Value>) {
    if name == "div" {
        if let Value::String(xhtml) = value {
            out.push_str(xhtml);
            return;
        }
    }
    match value {
        Value::Object(map) if map.contains_key("resourceType") => {
            open(out, name, &[]);
            out.push('>');
            write_resource(out, map, false);
            close(out, name);
        }
        Value::Object(map) => {
            let mut attrs: Vec<(&str, String)> = Vec::new();
            if let Some(id) = map.get("id").and_then(Value::as_str) {
                attrs.push(("id", id.to_string()));
            }
            let takes_url = name == "extension" || name == "modifierExtension";
            if takes_url {
                if let Some(url) = map.get("url").and_then(Value::as_str) {
                    attrs.push(("url", url.to_string()));
                }
            }
            open(out, name, &attrs);
            out.push('>');
            let children: Map<String, Value> = map.iter().filter(|(k, _)| !(takes_url && k.as_str() == "url")).map(|(k, v)| (k.clone(), v.clone())).collect();
            write_children(out, &children, false);
            close(out, name);
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
            open(out, name, &attrs);
            match shadow_map {
                Some(m) if m.keys().any(|k| k != "id") => {
                    out.push('>');
                    let rest: Map<String, Value> = m.iter().filter(|(k, _)| k.as_str() != "id").map(|(k, v)| (k.clone(), v.clone())).collect();
                    write_children(out, &rest, false);
                    close(out, name);
                }
                _ => out.push_str("/>"),
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
        let xml = resource_to_xml(&r);
        assert!(xml.contains("<Patient xmlns=\"http://hl7.org/fhir\"><id value=\"p1\"/>"), "{xml}");
        assert!(xml.contains("<extension url=\"http://x/e\"><valueString value=\"a&quot;b\"/></extension>"), "{xml}");
        assert!(xml.contains("<given value=\"A\"/><given value=\"B\"><extension url=\"http://x/g\"><valueBoolean value=\"true\"/></extension></given>"), "{xml}");
        assert!(xml.contains("<div xmlns=\"http://www.w3.org/1999/xhtml\">hi</div>"), "{xml}");
        assert!(xml.contains("<contained><Organization><id value=\"o\"/></Organization></contained>"), "{xml}");
        let back = crate::parse::parse(xml.as_bytes(), Some(crate::tree::Format::Xml));
        assert!(back.issues.is_empty(), "{:?}", back.issues);
    }
}
