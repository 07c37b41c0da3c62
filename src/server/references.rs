//! The references inside a resource's JSON: the `reference` text of every
//! Reference, wherever it sits. An element that is itself a Reference named
//! `reference` (`Consent.provision.actor.reference`) is an object, not text,
//! and is walked into like any other.

use serde_json::Value;

/// Calls `visit` with the text of every Reference in `value`, in document order.
pub fn each(value: &Value, visit: &mut dyn FnMut(&str)) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match v {
                    Value::String(text) if key == "reference" => visit(text),
                    _ => each(v, visit),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| each(v, visit)),
        _ => {}
    }
}

/// Calls `visit` with the text of every Reference in `value`, to change in
/// place; the first error stops the walk.
pub fn each_mut<E>(value: &mut Value, visit: &mut dyn FnMut(&mut String) -> Result<(), E>) -> Result<(), E> {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                match v {
                    Value::String(text) if key == "reference" => visit(text)?,
                    _ => each_mut(v, visit)?,
                }
            }
        }
        Value::Array(items) => {
            for v in items {
                each_mut(v, visit)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Points every reference that `ids` names (a fullUrl) at what it maps to.
pub fn rename(value: &mut Value, ids: &std::collections::HashMap<String, String>) {
    let _ = each_mut::<std::convert::Infallible>(value, &mut |text| {
        if let Some(id) = ids.get(text.as_str()) {
            *text = id.clone();
        }
        Ok(())
    });
}

/// Takes out the `reference` of every Reference to one of `targets`,
/// leaving what else it says (its identifier, its display).
pub fn forget(value: &mut Value, targets: &[String]) {
    if targets.is_empty() {
        return;
    }
    match value {
        Value::Object(map) => {
            if map.get("reference").and_then(Value::as_str).is_some_and(|r| targets.iter().any(|t| t == r)) {
                map.shift_remove("reference");
            }
            map.values_mut().for_each(|v| forget(v, targets));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| forget(v, targets)),
        _ => {}
    }
}
