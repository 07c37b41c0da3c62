//! Bundle signature rules, as the reference's Bundle validator applies them
//! to `Bundle.signature`: what `sigFormat` says and whether `data` can be
//! read, and for `application/jose` (a JWS in compact serialization with a
//! detached payload) the header: the signing time (`sigT`, `iat`) against
//! `Signature.when`, the canonicalization (`canon`) against
//! `Signature.targetFormat`, the purpose (`srCms`) against `Signature.type`,
//! the certificate (`x5c`) and `Signature.who` against its subject; then
//! the signature itself, verified over the Bundle's canonical JSON (no
//! whitespace, keys sorted, `Bundle.signature` left out, and `Bundle.id` and
//! `Bundle.meta` too for the `#document` canonicalization).
//!
//! XML digital signatures (`application/pkcs7-signature`, as the reference
//! reads that format) are checked in `signature_xml.rs`, with the pieces
//! both share from here: the canonicalization, purpose and `who` checks,
//! the certificate's key and names, and the claims made at the end.
//!
//! Each check names the message key it raises. Like the reference, every
//! issue is reported on the Bundle. What careplan cannot decide it leaves
//! unsaid rather than guess: JWS over an XML canonical form is not
//! verified, nor are algorithms `ring` does not offer (ES512, RSA-PSS and
//! RS384 with keys under 2048 bits); there is no store of certificates to
//! find a `kid` in; and a signature that fails over a Bundle holding
//! narrative is not called an error, since the reference writes XHTML again
//! through its own composer, which careplan does not reproduce byte for byte.

use crate::convert::{resource_to_json_exact, EXACT_NUMBER};
use crate::issue::IssueCode;
use crate::tree::Node;
use crate::validator::element::Walk;
use base64::Engine;
use serde_json::Value;
use x509_parser::prelude::*;

pub(super) const WORK_IN_PROGRESS: &str = "Signature Verification is a work in progress. Feedback welcome at https://chat.fhir.org/#narrow/channel/179247-Security-and-Privacy/topic/Signature/with/524324965";

/// `Bundle.signature`, if there is one, with the walk's path at the Bundle.
pub(crate) fn check_bundle_signature(walk: &mut Walk<'_, '_>, bundle: &Node) {
    let Some(signature) = bundle.child("signature") else { return };
    let data = signature.child_text("data");
    let mut sig_format = signature.child_text("sigFormat").filter(|s| !s.is_empty()).map(str::to_string);
    if sig_format.is_none() {
        if let Some(data) = data {
            // BUNDLE_SIGNATURE_NO_SIG_FORMAT
            walk.inform(
                bundle,
                IssueCode::NotSupported,
                "There is no value for sigFormat. In the absence of a stated signature format, the signature cannot be interpreted reliably (or validated)".into(),
            );
            // The reference tries the data as a JWS all the same.
            let mut d = lossy(&decode_lenient(data));
            if d.matches('.').count() == 2 {
                d = lossy(&decode_lenient(d.split('.').next().unwrap_or("")));
            }
            if let Ok(Value::Object(header)) = serde_json::from_str::<Value>(&d) {
                if header.contains_key("alg") {
                    sig_format = Some("application/jose".into());
                }
                // BUNDLE_SIGNATURE_SIG_FORMAT_JOSE
                walk.inform(bundle, IssueCode::NotSupported, "Signature looks like application/jose, so validating accordingly".into());
            }
        }
    }
    let Some(sig_format) = sig_format else { return };
    if sig_format.starts_with("image/") || sig_format.starts_with("application/pdf") {
        // Probably not a digital signature: the reference ignores it.
        return;
    }
    match sig_format.as_str() {
        "application/pkcs7-signature" | "application/jose" => {
            let Some(data) = data else {
                // BUNDLE_SIGNATURE_NOT_CHECKED_DATA
                walk.inform(bundle, IssueCode::NotFound, format!("There is no actual signature data, so the {sig_format} signature cannot be checked"));
                return;
            };
            let jose = sig_format == "application/jose";
            let d = if is_base64(data) {
                lossy(&decode_lenient(data))
            } else if jose && data.split('.').count() == 3 {
                // BUNDLE_SIGNATURE_CHECKED_DATA_B64
                walk.error(
                    bundle,
                    IssueCode::Invalid,
                    "The signature data is not valid base64 content, but it looks like native application/jose, so it will be checked anyway".into(),
                );
                data.to_string()
            } else {
                // BUNDLE_SIGNATURE_NOT_CHECKED_DATA_B64
                let msg = "The signature data is not valid base64 content, so the signature cannot be checked".to_string();
                if jose {
                    walk.error(bundle, IssueCode::Invalid, msg);
                } else {
                    walk.warn(bundle, IssueCode::Invalid, msg);
                }
                return;
            };
            walk.inform(bundle, IssueCode::Informational, WORK_IN_PROGRESS.into());
            if jose {
                jose_signature(walk, bundle, signature, &d);
            } else {
                // An XML digital signature, as the reference reads this format.
                super::signature_xml::check_xml_signature(walk, bundle, signature, &d);
            }
        }
        _ => {
            // BUNDLE_SIGNATURE_NOT_CHECKED_KIND
            walk.inform(
                bundle,
                IssueCode::NotSupported,
                format!("The signature format '{sig_format}' is not checked (known formats: application/jose and application/pkcs7-signature)"),
            );
        }
    }
}

/// A JWS in compact serialization: `header.payload.signature`.
fn jose_signature(walk: &mut Walk<'_, '_>, bundle: &Node, signature: &Node, d: &str) {
    // As Java's split: trailing empty parts are dropped.
    let mut parts: Vec<&str> = d.split('.').collect();
    while parts.len() > 1 && parts.last() == Some(&"") {
        parts.pop();
    }
    let header = match serde_json::from_slice::<Value>(&decode_lenient(parts[0])) {
        Ok(Value::Object(h)) => h,
        Ok(_) => {
            // BUNDLE_SIGNATURE_HEADER_PARSE
            walk.error(bundle, IssueCode::Invalid, "Error parsing the digital signature header: the header is not a JSON object".into());
            return;
        }
        Err(e) => {
            // BUNDLE_SIGNATURE_HEADER_PARSE
            walk.error(bundle, IssueCode::Invalid, format!("Error parsing the digital signature header: {e}"));
            return;
        }
    };

    // 1. The signing time.
    let mut sig_t = header.get("sigT").and_then(scalar_text);
    if let Some(t) = sig_t.clone().filter(|t| is_integer(t)) {
        // BUNDLE_SIGNATURE_HEADER_SIG_TIME_WRONG_FORMAT
        walk.warn(bundle, IssueCode::Invalid, format!("The sigT header has the wrong format: {t}"));
        sig_t = t.parse::<i64>().ok().map(iso_instant);
    }
    if sig_t.is_none() {
        sig_t = header.get("iat").and_then(scalar_text).and_then(|t| t.parse::<i64>().ok()).map(iso_instant);
    }
    if sig_t.is_none() {
        // BUNDLE_SIGNATURE_HEADER_NO_SIG_TIME
        walk.warn(bundle, IssueCode::NotFound, "The signature does not have a signing time (sigT in the header)".into());
    }
    // (BUNDLE_SIGNATURE_NO_WHEN, raised when `when` is absent, has no wording in the catalogue.)
    if let (Some(when), Some(t)) = (signature.child_text("when"), sig_t.as_deref()) {
        if t != when {
            // BUNDLE_SIGNATURE_HEADER_WHEN_MISMATCH
            walk.error(bundle, IssueCode::BusinessRule, format!("The time in the signature {t} is not the same as the stated time {when}"));
        }
    }

    // 2. The canonicalization.
    let (canon, xml) = canonicalization(walk, bundle, signature, header.get("canon").and_then(Value::as_str));

    // 3. The purpose.
    let (purpose, purpose_desc) = purpose_of(&header);
    let (purpose, purpose_desc, purpose_ok) = purpose_against_types(walk, signature, purpose, purpose_desc);

    // 4. The certificate.
    let mut cert_der: Option<Vec<u8>> = None;
    if let Some(x5c) = header.get("x5c") {
        let first = x5c.as_array().and_then(|a| a.first()).and_then(Value::as_str).unwrap_or("");
        let der = decode_lenient(first);
        match certificate_problem(&der) {
            None => cert_der = Some(der),
            Some(e) => {
                // BUNDLE_SIGNATURE_HEADER_X509_ERROR
                walk.error(bundle, IssueCode::Invalid, format!("Unable to parse X509 Certificate: {e}"));
            }
        }
    } else if let Some(kid) = header.get("kid") {
        let kid = scalar_text(kid).unwrap_or_default();
        // careplan holds no certificates to look a key id up in.
        // BUNDLE_SIGNATURE_HEADER_CERT_NOT_FOUND
        walk.warn(bundle, IssueCode::NotFound, format!("Didn't find a matching certificate for the 'kid' {kid} in the header, so can't verify the signature"));
    } else {
        // BUNDLE_SIGNATURE_HEADER_NO_KID_OR_CERT
        walk.warn(bundle, IssueCode::NotFound, "Didn't find a provided certificate or a 'kid' in the header, so can't verify the signature".into());
    }
    let cert = cert_der.as_deref().and_then(|der| parse_x509_certificate(der).ok()).map(|(_, c)| c);

    // Who signed.
    check_who(walk, bundle, signature, cert.as_ref());

    // The payload should be detached.
    let payload = parts.get(1).copied().unwrap_or("");
    if !payload.is_empty() {
        // BUNDLE_SIGNATURE_PAYLOAD_PRESENT
        walk.warn(bundle, IssueCode::Value, "The signature has a payload, but the signature should be a detached signature with no payload".into());
    }

    // Verification: a certificate, a JSON canonical form, and a signature part.
    let (Some(cert), false, Some(sig_part)) = (cert, xml, parts.get(2).copied()) else { return };
    let to_sign = canonical_json(walk, bundle, canon.ends_with("#document"));
    let sig_bytes = match base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(sig_part.trim_end_matches('=')) {
        Ok(b) => b,
        Err(e) => {
            // BUNDLE_SIGNATURE_SIG_INVALID
            walk.error(bundle, IssueCode::Invalid, format!("The actual signature is not valid base64: {e}"));
            return;
        }
    };
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
    let signing_input = format!("{}.{}", parts[0], base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&to_sign));
    let verified = match verify(&cert, alg, signing_input.as_bytes(), &sig_bytes) {
        Verdict::Verified => true,
        Verdict::Failed => false,
        Verdict::NotOffered => return,
        Verdict::Error(e) => {
            // BUNDLE_SIGNATURE_SIG_ERROR
            walk.error(bundle, IssueCode::Exception, format!("Error verifying the signature against the certificate: {e}"));
            return;
        }
    };
    if verified {
        // BUNDLE_SIGNATURE_SIG_OK
        walk.inform(bundle, IssueCode::Informational, "The signature verified OK".into());
    } else if has_xhtml(bundle) {
        // The reference writes narrative again through its own XHTML composer,
        // which careplan does not reproduce byte for byte: a failure here may
        // be careplan's canonical form, not the signature, so it is not
        // reported as an error (the claims below still say "not verified").
    } else {
        // The key comes from the certificate, which gives it no id, so the
        // reference's BUNDLE_SIGNATURE_SIG_FAIL_KID and _CERT_ID do not arise.
        // BUNDLE_SIGNATURE_SIG_FAIL_CERT
        walk.error(bundle, IssueCode::Value, "The signature did not verify against the provided certificate".into());
        if !payload.is_empty() {
            payload_against(walk, bundle, payload, &to_sign);
        }
    }
    let mut names = names_from_certificate(&cert);
    names.sort();
    let names = names.join(",");
    signed_by(walk, bundle, &names, verified);
    if let Some(t) = &sig_t {
        signed_at(walk, bundle, t, verified);
    }
    if let Some(p) = &purpose {
        signed_for(walk, bundle, p, purpose_desc.as_deref(), verified && purpose_ok);
    }
    let subject = x500_name(cert.subject(), Style::Rfc2253);
    let issuer = x500_name(cert.issuer(), Style::Rfc2253);
    let serial = serial_hex(cert.raw_serial());
    // BUNDLE_SIGNATURE_CERT_DETAILS
    walk.inform(bundle, IssueCode::Informational, format!("Signing Certificate Details: Subject='{subject}', Issuer='{issuer}', Serial='{serial}'"));
    let pem = base64::engine::general_purpose::STANDARD.encode(cert_der.as_deref().unwrap_or_default());
    // BUNDLE_SIGNATURE_CERT_SOURCE
    walk.inform(bundle, IssueCode::Informational, format!("Signing Certificate Source: -----BEGIN CERTIFICATE-----{pem}-----END CERTIFICATE-----"));
}

/// The canonicalization a signature states (`stated`), against the one
/// `Signature.targetFormat` names, or the default: the method and whether
/// the canonical form is XML.
pub(super) fn canonicalization(walk: &mut Walk<'_, '_>, bundle: &Node, signature: &Node, stated: Option<&str>) -> (String, bool) {
    let mut xml = false;
    let mut target_canon = None;
    if let Some(target_format) = signature.child_text("targetFormat") {
        match parse_mime_type(target_format) {
            Ok((base, canon)) => {
                xml = base.contains("xml");
                target_canon = canon;
            }
            Err(e) => {
                // BUNDLE_SIGNATURE_CANON_ERROR
                walk.error(bundle, IssueCode::Invalid, format!("Error parsing the targetFormat '{target_format}': {e}"));
            }
        }
    }
    let canon = match (stated, target_canon) {
        (None, None) => {
            let document = if bundle.child_text("type") == Some("document") { "#document" } else { "" };
            let canon = format!("http://hl7.org/fhir/canonicalization/{}{document}", if xml { "xml" } else { "json" });
            // BUNDLE_SIGNATURE_PAYLOAD_CANON_DEFAULT
            walk.inform(bundle, IssueCode::Informational, format!("No canonicalization found, so using {canon}"));
            canon
        }
        (None, Some(t)) => t,
        (Some(c), t) => {
            if let Some(t) = t.filter(|t| t != c) {
                // BUNDLE_SIGNATURE_CANON_DIFF
                walk.warn(
                    bundle,
                    IssueCode::NotFound,
                    format!("The canonicalization in the digital signature is {c} which doesn't match the value {t} found in the targetFormat"),
                );
            }
            xml = c.contains("xml");
            c.to_string()
        }
    };
    (canon, xml)
}

/// The purpose a signature states, against `Signature.type`: the purpose
/// (the first type's when none is stated), its description, and whether a
/// type confirms it.
pub(super) fn purpose_against_types(
    walk: &Walk<'_, '_>,
    signature: &Node,
    mut purpose: Option<String>,
    mut purpose_desc: Option<String>,
) -> (Option<String>, Option<String>, bool) {
    let mut purpose_ok = false;
    for ty in signature.children_named("type") {
        let system = ty.child_text("system");
        let code = ty.child_text("code");
        let p = match code {
            Some(c) if is_valid_oid(c) => format!("urn:oid:{c}"),
            _ => format!("{}#{}", system.unwrap_or("null"), code.unwrap_or("null")),
        };
        let display = || {
            let (system, code) = (system?, code?);
            walk.v.terminology().code_index(system).and_then(|ix| ix.display(code).map(str::to_string))
        };
        if purpose.is_none() {
            purpose_desc = display();
            purpose = Some(p);
            break;
        } else if purpose.as_deref() == Some(p.as_str()) {
            purpose_ok = true;
            if purpose_desc.is_none() {
                purpose_desc = display();
            }
            break;
        }
    }
    (purpose, purpose_desc, purpose_ok)
}

/// `Signature.who` against the certificate's subject: the identifier the
/// Signature gives, if any, and whether the certificate names it.
pub(super) fn check_who(walk: &mut Walk<'_, '_>, bundle: &Node, signature: &Node, cert: Option<&X509Certificate<'_>>) -> (Option<String>, bool) {
    let who = signature.child("who");
    if let Some(cert) = cert {
        let names = names_from_certificate(cert);
        match who.and_then(|w| w.child("identifier")).and_then(|i| i.child_text("value")) {
            Some(idv) => {
                let matches = names.iter().any(|n| n == idv);
                if !matches {
                    let list = names.iter().map(|n| format!("'{n}'")).collect::<Vec<_>>().join(",");
                    // BUNDLE_SIGNATURE_WHO_MISMATCH
                    walk.inform(
                        bundle,
                        IssueCode::Informational,
                        format!("The  Signature.who.identifier '{idv}' does not match a subject value from the certificate (one of {list})"),
                    );
                }
                (Some(idv.to_string()), matches)
            }
            None => {
                let subject = x500_name(cert.subject(), Style::Rfc2253);
                // BUNDLE_SIGNATURE_WHO_RECOMMENDED
                walk.inform(bundle, IssueCode::Informational, format!("A certificate subject identifier should also be found in Signature.who.identifier (one of {subject})"));
                (None, false)
            }
        }
    } else {
        if who.is_none() {
            // BUNDLE_SIGNATURE_WHO_NO_INFO
            walk.inform(bundle, IssueCode::Informational, "Neither the digital signature nor Signature.who are provided to identify the signer".into());
        } else {
            // BUNDLE_SIGNATURE_WHO_NOT_IN_CERT
            walk.inform(bundle, IssueCode::Informational, "The Signature.who value is not found in the digital signature".into());
        }
        (None, false)
    }
}

/// Whom the content was signed by, verified or claimed.
pub(super) fn signed_by(walk: &mut Walk<'_, '_>, bundle: &Node, who: &str, verified: bool) {
    if verified {
        // BUNDLE_SIGNATURE_SIGNED_BY_VERIFIED
        walk.inform(bundle, IssueCode::Informational, format!("The content was signed by {who} (and this has been verified by the signature)"));
    } else {
        // BUNDLE_SIGNATURE_SIGNED_BY
        walk.inform(bundle, IssueCode::Informational, format!("The content claims to have been signed by {who}, but this has not been verified"));
    }
}

/// When the content was signed, verified or claimed.
pub(super) fn signed_at(walk: &mut Walk<'_, '_>, bundle: &Node, t: &str, verified: bool) {
    if verified {
        // BUNDLE_SIGNATURE_SIGNED_AT_VERIFIED
        walk.inform(bundle, IssueCode::Informational, format!("The content was signed at {t} (and this has been verified by the signature)"));
    } else {
        // BUNDLE_SIGNATURE_SIGNED_AT
        walk.inform(bundle, IssueCode::Informational, format!("The content claims to have been signed at {t}, but this has not been verified"));
    }
}

/// What the content was signed for, verified or claimed.
pub(super) fn signed_for(walk: &mut Walk<'_, '_>, bundle: &Node, purpose: &str, desc: Option<&str>, verified: bool) {
    let desc = desc.unwrap_or("null");
    if verified {
        // BUNDLE_SIGNATURE_SIGNED_FOR_VERIFIED
        walk.inform(bundle, IssueCode::Informational, format!("The content was signed for the purpose of {desc} ({purpose}) (and this has been verified by the signature)"));
    } else {
        // BUNDLE_SIGNATURE_SIGNED_FOR
        walk.inform(bundle, IssueCode::Informational, format!("The content claims that it was signed for the purpose of {desc} ({purpose}), but this has not been verified"));
    }
}

/// That the content to sign and the signed content differ in length; both
/// formats say it in the same words (BUNDLE_SIGNATURE_PAYLOAD_MISMATCH,
/// BUNDLE_SIGNATURE_DIGSIG_SIGNED_MISMATCH).
pub(super) fn content_mismatch(walk: &mut Walk<'_, '_>, bundle: &Node, to_sign: usize, signed: usize) {
    walk.error(
        bundle,
        IssueCode::Value,
        // (The catalogue's wording has an unbalanced brace, kept as it is.)
        "The signature cannot be valid because the content to sign ({0} bytes} is not the same as the signed content ({1} bytes)"
            .replace("{0}", &to_sign.to_string())
            .replace("{1}", &signed.to_string()),
    );
}

/// A payload that came with a signature that failed: is it what was to be signed?
fn payload_against(walk: &mut Walk<'_, '_>, bundle: &Node, payload: &str, to_sign: &[u8]) {
    // Read as the reference reads it (commons-codec): leniently, so that
    // BUNDLE_SIGNATURE_PAYLOAD_INVALID cannot arise there either.
    let signed = decode_lenient(payload);
    if signed != to_sign {
        // BUNDLE_SIGNATURE_PAYLOAD_MISMATCH
        content_mismatch(walk, bundle, to_sign.len(), signed.len());
        let parse = |walk: &mut Walk<'_, '_>, bytes: &[u8]| match serde_json::from_slice::<Value>(bytes) {
            Ok(v) => Some(v),
            Err(e) => {
                // BUNDLE_SIGNATURE_PAYLOAD_INVALID_JSON
                walk.error(bundle, IssueCode::Invalid, format!("The payload provided could not be read - invalid JSON Structure ({e})"));
                None
            }
        };
        let (Some(ours), Some(theirs)) = (parse(walk, to_sign), parse(walk, &signed)) else { return };
        match json_difference("$", &ours, &theirs) {
            None => {
                // BUNDLE_SIGNATURE_PAYLOAD_JSON_MATCHES
                walk.inform(
                    bundle,
                    IssueCode::Informational,
                    "The actual JSON structures of payload and canonicalized form do match, so the issue is in the canonicalization".into(),
                );
            }
            Some(diff) => {
                // BUNDLE_SIGNATURE_PAYLOAD_JSON_NO_MATCH
                walk.inform(bundle, IssueCode::Value, format!("The actual JSON structures of payload and canonicalized form do not match: {diff}"));
            }
        }
    } else if payload != base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(to_sign) {
        // BUNDLE_SIGNATURE_PAYLOAD_BASE64_DIFF
        walk.error(bundle, IssueCode::Value, "The signed bytes are identical, but the base64 representations differ".into());
    }
}

/// Whether any narrative XHTML is in the tree.
pub(super) fn has_xhtml(node: &Node) -> bool {
    let narrative = node.value.as_ref().is_some_and(|v| v.kind == crate::tree::ValueKind::Xhtml || node.name == "div");
    narrative || node.children.iter().any(has_xhtml)
}

/// Where two JSON values first differ, or `None` when they are the same.
fn json_difference(path: &str, a: &Value, b: &Value) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, v) in x {
                match y.get(k) {
                    None => return Some(format!("{path}.{k}: present in the canonicalized form, absent from the payload")),
                    Some(w) => {
                        if let Some(d) = json_difference(&format!("{path}.{k}"), v, w) {
                            return Some(d);
                        }
                    }
                }
            }
            y.keys().find(|k| !x.contains_key(*k)).map(|k| format!("{path}.{k}: present in the payload, absent from the canonicalized form"))
        }
        (Value::Array(x), Value::Array(y)) => {
            if x.len() != y.len() {
                return Some(format!("{path}: {} items in the canonicalized form, {} in the payload", x.len(), y.len()));
            }
            x.iter().zip(y).enumerate().find_map(|(i, (v, w))| json_difference(&format!("{path}[{i}]"), v, w))
        }
        _ if a == b => None,
        _ => Some(format!("{path}: {a} in the canonicalized form, {b} in the payload")),
    }
}

/// The purpose the JAdES header states (`srCms[0].commId`): its id and description.
fn purpose_of(header: &serde_json::Map<String, Value>) -> (Option<String>, Option<String>) {
    let comm_id = header.get("srCms").and_then(Value::as_array).and_then(|a| a.first()).and_then(|f| f.get("commId"));
    let get = |k: &str| comm_id.and_then(|c| c.get(k)).and_then(scalar_text);
    (get("id"), get("desc"))
}

/// What a Bundle's signature signs, before either format writes it: the
/// Bundle without `signature` (nor `id` and `meta` for the `#document`
/// canonicalization).
pub(super) fn signed_content(walk: &Walk<'_, '_>, bundle: &Node, document: bool) -> Value {
    let mut json = resource_to_json_exact(bundle, walk.ctx);
    if let Value::Object(m) = &mut json {
        m.shift_remove("signature");
        m.shift_remove("_signature");
        if document {
            for k in ["id", "_id", "meta"] {
                m.shift_remove(k);
            }
        }
    }
    json
}

/// The Bundle as the reference composes it to sign it: canonical JSON.
pub fn canonical_json(walk: &Walk<'_, '_>, bundle: &Node, document: bool) -> Vec<u8> {
    let json = signed_content(walk, bundle, document);
    let mut out = String::new();
    write_canonical(&json, &mut out);
    out.into_bytes()
}

fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => match s.strip_prefix(EXACT_NUMBER) {
            Some(number) => out.push_str(&java_decimal(number)),
            None => write_string(s, out),
        },
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        Value::Object(m) => {
            // Sorted as Java sorts strings: by UTF-16 code units.
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(k, out);
                out.push(':');
                write_canonical(&m[k.as_str()], out);
            }
            out.push('}');
        }
    }
}

/// A string as Gson writes it.
fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\u{c}' => out.push_str("\\f"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A JSON number as Java's `BigDecimal.toString` gives it back.
fn java_decimal(text: &str) -> String {
    let (negative, body) = match text.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], body[i + 1..].parse::<i64>().unwrap_or(0)),
        None => (body, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if exponent == 0 && !body.contains(['e', 'E']) {
        let digits = format!("{int}{frac}");
        let unscaled = digits.trim_start_matches('0');
        let adjusted = (unscaled.len() as i64 - 1).saturating_sub(frac.len() as i64);
        if adjusted >= -6 || unscaled.is_empty() {
            return text.trim_start_matches('+').to_string();
        }
    }
    let digits = format!("{int}{frac}");
    let unscaled = digits.trim_start_matches('0');
    let unscaled = if unscaled.is_empty() { "0" } else { unscaled };
    let scale = (frac.len() as i64).saturating_sub(exponent);
    let adjusted = (unscaled.len() as i64 - 1).saturating_sub(scale);
    let sign = if negative { "-" } else { "" };
    if scale >= 0 && adjusted >= -6 {
        // Plain notation.
        let scale = scale as usize;
        if scale == 0 {
            return format!("{sign}{unscaled}");
        }
        let padded = if unscaled.len() <= scale { format!("{}{unscaled}", "0".repeat(scale + 1 - unscaled.len())) } else { unscaled.to_string() };
        let (a, b) = padded.split_at(padded.len() - scale);
        return format!("{sign}{a}.{b}");
    }
    let (first, rest) = unscaled.split_at(1);
    let dot = if rest.is_empty() { String::new() } else { format!(".{rest}") };
    let exp_sign = if adjusted >= 0 { "+" } else { "" };
    format!("{sign}{first}{dot}E{exp_sign}{adjusted}")
}

enum Verdict {
    Verified,
    Failed,
    /// An algorithm the reference verifies and careplan cannot: nothing said.
    NotOffered,
    Error(String),
}

/// Why a certificate (DER) cannot be used to verify a signature: it does
/// not parse, or its key is of a kind the reference does not verify with.
pub(super) fn certificate_problem(der: &[u8]) -> Option<String> {
    match parse_x509_certificate(der) {
        Ok((_, cert)) => key_of(&cert).err(),
        Err(e) => Some(e.to_string()),
    }
}

/// The certificate's public key: (is RSA, the key's bytes, the EC curve).
pub(super) fn key_of<'a>(cert: &'a X509Certificate<'_>) -> Result<(KeyKind, &'a [u8]), String> {
    let spki = cert.public_key();
    let alg = spki.algorithm.algorithm.to_id_string();
    let key = spki.subject_public_key.data.as_ref();
    match alg.as_str() {
        "1.2.840.113549.1.1.1" => Ok((KeyKind::Rsa, key)),
        "1.2.840.10045.2.1" => {
            let curve = spki.algorithm.parameters.as_ref().and_then(|p| p.as_oid().ok()).map(|o| o.to_id_string()).unwrap_or_default();
            match curve.as_str() {
                "1.2.840.10045.3.1.7" => Ok((KeyKind::P256, key)),
                "1.3.132.0.34" => Ok((KeyKind::P384, key)),
                "1.3.132.0.35" => Ok((KeyKind::P521, key)),
                other => Err(format!("Unsupported EC curve: {other}")),
            }
        }
        other => Err(format!("Unsupported key type: {}", key_algorithm_name(other))),
    }
}

fn key_algorithm_name(oid: &str) -> &str {
    match oid {
        "1.3.101.112" => "Ed25519",
        "1.3.101.113" => "Ed448",
        "1.2.840.10040.4.1" => "DSA",
        other => other,
    }
}

#[derive(Clone, Copy, PartialEq)]
pub(super) enum KeyKind {
    Rsa,
    P256,
    P384,
    P521,
}

fn verify(cert: &X509Certificate<'_>, alg: &str, message: &[u8], signature: &[u8]) -> Verdict {
    use ring::signature as s;
    let Ok((kind, key)) = key_of(cert) else { return Verdict::NotOffered };
    // ring's usual RSA algorithms take keys of 2048 bits and more; the
    // reference verifies smaller ones too.
    let small_rsa = kind == KeyKind::Rsa
        && match cert.public_key().parsed() {
            Ok(x509_parser::public_key::PublicKey::RSA(k)) => k.key_size() < 2048,
            _ => false,
        };
    let algorithm: &dyn s::VerificationAlgorithm = match (kind, alg) {
        (KeyKind::Rsa, "RS256") if small_rsa => &s::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
        (KeyKind::Rsa, "RS512") if small_rsa => &s::RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY,
        (KeyKind::Rsa, "RS384" | "PS256" | "PS384" | "PS512") if small_rsa => return Verdict::NotOffered,
        (KeyKind::Rsa, "RS256") => &s::RSA_PKCS1_2048_8192_SHA256,
        (KeyKind::Rsa, "RS384") => &s::RSA_PKCS1_2048_8192_SHA384,
        (KeyKind::Rsa, "RS512") => &s::RSA_PKCS1_2048_8192_SHA512,
        (KeyKind::Rsa, "PS256") => &s::RSA_PSS_2048_8192_SHA256,
        (KeyKind::Rsa, "PS384") => &s::RSA_PSS_2048_8192_SHA384,
        (KeyKind::Rsa, "PS512") => &s::RSA_PSS_2048_8192_SHA512,
        (KeyKind::P256, "ES256") => &s::ECDSA_P256_SHA256_FIXED,
        (KeyKind::P384, "ES384") => &s::ECDSA_P384_SHA384_FIXED,
        (KeyKind::P521, "ES512") => return Verdict::NotOffered,
        (KeyKind::Rsa, _) => {
            return Verdict::Error(format!("Unsupported JWS algorithm {alg}, must be RS256, RS384, RS512, PS256, PS384 or PS512"));
        }
        (_, _) => return Verdict::Error(format!("Unsupported JWS algorithm {alg}, must be ES256, ES384 or ES512")),
    };
    match s::UnparsedPublicKey::new(algorithm, key).verify(message, signature) {
        Ok(()) => Verdict::Verified,
        Err(_) => Verdict::Failed,
    }
}

#[derive(Clone, Copy, PartialEq)]
pub(super) enum Style {
    Rfc2253,
    Rfc1779,
    Canonical,
}

/// A distinguished name as Java's `X500Principal.getName(style)` writes it:
/// the most specific part first.
pub(super) fn x500_name(name: &X509Name<'_>, style: Style) -> String {
    let rdns: Vec<String> = name
        .iter_rdn()
        .map(|rdn| {
            let mut attrs: Vec<String> = rdn
                .iter()
                .map(|atv| {
                    let oid = atv.attr_type().to_id_string();
                    let keyword = keyword(&oid, style);
                    let value = atv.as_str().ok();
                    match (keyword, value) {
                        (Some(k), Some(v)) => match style {
                            Style::Canonical => format!("{}={}", k.to_lowercase(), escape_rfc2253(&v.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase())),
                            Style::Rfc1779 if v.contains([',', '+', '=', '"', '\n', '<', '>', '#', ';']) => format!("{k}=\"{v}\""),
                            Style::Rfc1779 => format!("{k}={v}"),
                            Style::Rfc2253 => format!("{k}={}", escape_rfc2253(v)),
                        },
                        _ => {
                            let any = atv.attr_value();
                            let mut der = vec![any.header.tag().0 as u8];
                            let len = any.data.len();
                            if len < 128 {
                                der.push(len as u8);
                            } else {
                                let bytes: Vec<u8> = len.to_be_bytes().into_iter().skip_while(|b| *b == 0).collect();
                                der.push(0x80 | bytes.len() as u8);
                                der.extend(bytes);
                            }
                            der.extend_from_slice(any.data);
                            let hex: String = der.iter().map(|b| format!("{b:02x}")).collect();
                            let prefix = if style == Style::Rfc1779 { "OID." } else { "" };
                            format!("{prefix}{oid}=#{hex}")
                        }
                    }
                })
                .collect();
            if style == Style::Canonical {
                attrs.sort();
            }
            attrs.join("+")
        })
        .collect();
    let sep = if style == Style::Rfc1779 { ", " } else { "," };
    rdns.into_iter().rev().collect::<Vec<_>>().join(sep)
}

fn keyword(oid: &str, style: Style) -> Option<&'static str> {
    Some(match oid {
        "2.5.4.3" => "CN",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.9" => "STREET",
        "0.9.2342.19200300.100.1.25" if style != Style::Rfc1779 => "DC",
        "0.9.2342.19200300.100.1.1" if style != Style::Rfc1779 => "UID",
        _ => return None,
    })
}

fn escape_rfc2253(v: &str) -> String {
    let mut out = String::new();
    let n = v.chars().count();
    for (i, c) in v.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';') || (i == 0 && (c == '#' || c == ' ')) || (i + 1 == n && c == ' ');
        if special {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The names the reference takes from a certificate: the subject in three
/// styles, and the subject alternative names that are URIs or other names.
pub(super) fn names_from_certificate(cert: &X509Certificate<'_>) -> Vec<String> {
    let mut names = vec![x500_name(cert.subject(), Style::Rfc2253), x500_name(cert.subject(), Style::Rfc1779), x500_name(cert.subject(), Style::Canonical)];
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                GeneralName::URI(u) => names.push(u.to_string()),
                GeneralName::OtherName(oid, value) => {
                    names.push(oid.to_id_string());
                    if let Some(s) = inner_string(value, 4) {
                        names.push(s.trim().to_string());
                    }
                }
                _ => {}
            }
        }
    }
    // Once each, in order: a certificate may list tens of thousands (the twenty-fifth pass's Q2).
    let mut seen = std::collections::HashSet::new();
    names.into_iter().filter(|n| seen.insert(n.clone())).collect()
}

/// The string an other name holds: `[0] { STRING }`, possibly wrapped again
/// (looked into `depth` levels deep at most).
fn inner_string(value: &[u8], depth: usize) -> Option<String> {
    if depth == 0 {
        return None;
    }
    let (_, any) = x509_parser::der_parser::asn1_rs::Any::from_der(value).ok()?;
    let data = any.data;
    if let Ok((_, inner)) = x509_parser::der_parser::asn1_rs::Any::from_der(data) {
        if inner.header.is_contextspecific() || inner.header.is_constructed() {
            return inner_string(data, depth - 1);
        }
        return std::str::from_utf8(inner.data).ok().map(str::to_string);
    }
    None
}

fn serial_hex(raw: &[u8]) -> String {
    let hex: String = raw.iter().map(|b| format!("{b:02X}")).collect();
    let trimmed = hex.trim_start_matches('0');
    if trimmed.is_empty() { "0".into() } else { trimmed.into() }
}

/// A `type/subtype; name=value` media type: its base and its canonicalization parameter.
fn parse_mime_type(text: &str) -> Result<(String, Option<String>), String> {
    let mut parts = text.split(';');
    let base = parts.next().unwrap_or("").trim();
    let token = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_graphic() && !"()<>@,;:\\\"/[]?=".contains(c));
    match base.split_once('/') {
        Some((t, s)) if token(t) && token(s) => {}
        _ => return Err(format!("Unable to find a sub type: {base}")),
    }
    let mut canon = None;
    for param in parts {
        let param = param.trim();
        if param.is_empty() {
            continue;
        }
        let Some((name, value)) = param.split_once('=') else { return Err(format!("Couldn't find the '=' that separates a parameter name from its value: {param}")) };
        let value = value.trim();
        let value = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(value);
        if name.trim().eq_ignore_ascii_case("canonicalization") {
            canon = Some(value.to_string());
        }
    }
    Ok((base.to_ascii_lowercase(), canon))
}

/// Base64 as the reference reads it: either alphabet, padding and
/// whitespace optional, other characters skipped.
pub(super) fn decode_lenient(text: &str) -> Vec<u8> {
    let mut clean: String = text
        .chars()
        .filter_map(|c| match c {
            'A'..='Z' | 'a'..='z' | '0'..='9' | '+' | '/' => Some(c),
            '-' => Some('+'),
            '_' => Some('/'),
            _ => None,
        })
        .collect();
    if clean.len() % 4 == 1 {
        clean.pop();
    }
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true).with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    engine.decode(clean).unwrap_or_default()
}

/// The reference's test: base64 characters (either alphabet), `=` and whitespace only.
fn is_base64(text: &str) -> bool {
    text.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_' | b'=' | b'\t' | b'\n' | b'\r' | b' '))
}

pub(super) fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn is_integer(s: &str) -> bool {
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

fn is_valid_oid(code: &str) -> bool {
    let b = code.as_bytes();
    if b.len() < 2 || !(b'0'..=b'2').contains(&b[0]) || b[1] != b'.' {
        return false;
    }
    let arcs: Vec<&str> = code.split('.').collect();
    arcs.len() >= 2 && arcs.iter().all(|a| !a.is_empty() && a.bytes().all(|c| c.is_ascii_digit()) && (a.len() == 1 || !a.starts_with('0')))
}

/// Seconds since 1970 as `DateTimeFormatter.ISO_INSTANT` writes them.
fn iso_instant(secs: i64) -> String {
    let rem = secs.rem_euclid(86_400);
    let (year, month, day) = crate::primitive::civil_from_days(secs.div_euclid(86_400));
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_as_big_decimal_writes_them() {
        assert_eq!(java_decimal("1.50"), "1.50");
        assert_eq!(java_decimal("100"), "100");
        assert_eq!(java_decimal("-0.5"), "-0.5");
        assert_eq!(java_decimal("0.0000001"), "1E-7");
        assert_eq!(java_decimal("1e3"), "1E+3");
        assert_eq!(java_decimal("1.5e1"), "15");
        // Exponents at the ends of i64 do not overflow.
        java_decimal("1e-9223372036854775808");
        java_decimal("1e9223372036854775807");
    }

    #[test]
    fn instants_are_iso() {
        assert_eq!(iso_instant(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso_instant(1_749_808_800), "2025-06-13T10:00:00Z");
    }
}
