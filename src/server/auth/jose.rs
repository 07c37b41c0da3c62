//! The parts of a JWS that careplan reads itself rather than through
//! `jsonwebtoken`: the protected header's `crit` (the crate does not expose
//! it) and duplicate-free JSON (serde_json keeps the last of two equal keys,
//! while a gateway or IdP in front of us may read the first, so the two
//! would disagree about what the token says).

use base64::Engine as _;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize as _;
use serde_json::{Map, Value};
use std::collections::HashSet;
use std::fmt;

/// The header and the claims of a compact JWS, each a JSON object without
/// duplicate member names at any depth. The signature is not checked here.
pub struct Parts {
    pub header: Map<String, Value>,
    pub claims: Map<String, Value>,
}

pub fn parts(token: &str) -> Result<Parts, String> {
    let mut it = token.split('.');
    let (Some(header), Some(payload), Some(_signature), None) = (it.next(), it.next(), it.next(), it.next()) else {
        return Err("the token is not a JWT: a JWT has three parts separated by '.'".into());
    };
    Ok(Parts { header: object(header, "header")?, claims: object(payload, "payload")? })
}

/// Refuses a header that makes any extension critical: careplan understands
/// none, and RFC 7515 §4.1.11 says a recipient must then reject the token.
pub fn check_crit(header: &Map<String, Value>) -> Result<(), String> {
    let Some(crit) = header.get("crit") else { return Ok(()) };
    let names = match crit {
        Value::Array(a) if !a.is_empty() && a.iter().all(Value::is_string) => a.iter().filter_map(Value::as_str).map(|s| format!("'{s}'")).collect::<Vec<_>>().join(", "),
        _ => return Err("the token's header has a malformed 'crit' (RFC 7515 asks for a non-empty array of names)".into()),
    };
    Err(format!("the token's header marks {names} as critical (crit), which this server does not understand; ask the issuer for a token without critical extensions"))
}

fn object(part: &str, what: &str) -> Result<Map<String, Value>, String> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .map_err(|e| format!("the token's {what} is not base64url: {e}"))?;
    let mut de = serde_json::Deserializer::from_slice(&bytes);
    let value = Unique::deserialize(&mut de).map_err(|e| format!("the token's {what} is not valid JSON: {e}"))?.0;
    de.end().map_err(|e| format!("the token's {what} is not valid JSON: {e}"))?;
    match value {
        Value::Object(m) => Ok(m),
        _ => Err(format!("the token's {what} is not a JSON object")),
    }
}

/// A JSON value read with a check that no object names a member twice.
struct Unique(Value);

impl<'de> serde::Deserialize<'de> for Unique {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UniqueVisitor).map(Unique)
    }
}

struct UniqueVisitor;

impl<'de> Visitor<'de> for UniqueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(v.into())
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(v.into())
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(Unique(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return Err(de::Error::custom(format_args!("the member '{key}' appears twice")));
            }
            let Unique(v) = map.next_value()?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
    }

    #[test]
    fn duplicate_members_are_refused_at_any_depth() {
        let h = b64(r#"{"alg":"RS256"}"#);
        let ok = parts(&format!("{h}.{}.sig", b64(r#"{"scope":"a","x":{"y":1}}"#))).unwrap();
        assert_eq!(ok.claims["scope"], "a");
        for payload in [r#"{"scope":"patient/Goal.rs","scope":"user/*.rs"}"#, r#"{"a":[{"k":1,"k":2}]}"#] {
            let e = parts(&format!("{h}.{}.sig", b64(payload))).err().unwrap();
            assert!(e.contains("appears twice"), "{e}");
        }
        let e = parts(&format!("{}.{}.sig", b64(r#"{"alg":"RS256","alg":"none"}"#), b64("{}"))).err().unwrap();
        assert!(e.contains("header"), "{e}");
    }

    #[test]
    fn any_critical_extension_is_refused() {
        let header = |s: &str| serde_json::from_str::<Map<String, Value>>(s).unwrap();
        assert!(check_crit(&header(r#"{"alg":"RS256"}"#)).is_ok());
        assert!(check_crit(&header(r#"{"alg":"RS256","crit":["exp"],"exp":1}"#)).unwrap_err().contains("'exp'"));
        assert!(check_crit(&header(r#"{"alg":"RS256","crit":[]}"#)).unwrap_err().contains("malformed"));
    }
}
