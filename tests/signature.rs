//! Bundle signature rules (`src/validator/rules/signature.rs`), one test per
//! rule. The signed material is made here: a P-256 key pair and a
//! self-signed certificate (rcgen), and a detached JWS over the canonical
//! JSON of a small Bundle (keys sorted, no whitespace, no `signature`).

mod common;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use careplan::issue::{Issue, IssueCode, Severity};
use careplan::tree::Format;
use careplan::validator::Validator;
use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair, SanType, SerialNumber};
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde_json::{json, Map, Value};
use std::sync::OnceLock;

const SUBJECT: &str = "CN=Test Signer,O=Example,C=GB";
const WHEN: &str = "2025-06-13T10:00:00Z";

fn validator() -> &'static Validator {
    static V: OnceLock<Validator> = OnceLock::new();
    V.get_or_init(common::validator)
}

fn issues(bundle: &Value) -> Vec<Issue> {
    validator().validate_bytes(bundle.to_string().as_bytes(), Some(Format::Json))
}

fn has(found: &[Issue], severity: Severity, code: IssueCode, fragment: &str) -> bool {
    found.iter().any(|i| i.severity == severity && i.code == code && i.expression == "Bundle" && i.message.contains(fragment))
}

fn mentions(found: &[Issue], fragment: &str) -> bool {
    found.iter().any(|i| i.message.contains(fragment))
}

/// The signer: a key pair and its self-signed certificate (DER).
struct Signer {
    key: EcdsaKeyPair,
    cert: Vec<u8>,
}

fn signer() -> &'static Signer {
    static S: OnceLock<Signer> = OnceLock::new();
    S.get_or_init(|| {
        let key_pair = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CountryName, "GB");
        dn.push(DnType::OrganizationName, "Example");
        dn.push(DnType::CommonName, "Test Signer");
        params.distinguished_name = dn;
        params.serial_number = Some(SerialNumber::from(vec![0x01, 0x2A]));
        params.subject_alt_names = vec![SanType::URI("https://example.org/signer".to_string().try_into().unwrap())];
        let cert = params.self_signed(&key_pair).unwrap();
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &key_pair.serialize_der(), &SystemRandom::new()).unwrap();
        Signer { key, cert: cert.der().to_vec() }
    })
}

/// A small collection Bundle, unsigned.
fn bundle() -> Value {
    json!({
        "resourceType": "Bundle", "id": "signed", "type": "collection",
        "entry": [{"fullUrl": "urn:uuid:5b4e2d4e-2a0c-4c5e-9a61-6f6f2d1e7a01",
                   "resource": {"resourceType": "Basic", "id": "b1", "code": {"text": "A thing"}, "author": {"display": "Someone"}}}]
    })
}

/// Keys sorted at every level.
fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Value::Object(keys.into_iter().map(|k| (k.clone(), sorted(&m[k]))).collect::<Map<_, _>>())
        }
        Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// The canonical JSON of an unsigned Bundle.
fn canonical(bundle: &Value) -> Vec<u8> {
    serde_json::to_vec(&sorted(bundle)).unwrap()
}

/// The header every good signature has, with `overrides` on top (null removes).
fn header(overrides: Value) -> Value {
    let mut h = json!({
        "alg": "ES256", "x5c": [STANDARD.encode(&signer().cert)], "sigT": WHEN,
        "srCms": [{"commId": {"id": "urn:oid:1.2.840.10065.1.12.1.1", "desc": "Author's Signature"}}]
    });
    for (k, v) in overrides.as_object().unwrap() {
        if v.is_null() {
            h.as_object_mut().unwrap().remove(k);
        } else {
            h[k] = v.clone();
        }
    }
    h
}

/// A JWS over `content`, with `payload` as its middle part.
fn jws(header: &Value, content: &[u8], payload: &str) -> String {
    let h = URL_SAFE_NO_PAD.encode(header.to_string());
    let input = format!("{h}.{}", URL_SAFE_NO_PAD.encode(content));
    let sig = signer().key.sign(&SystemRandom::new(), input.as_bytes()).unwrap();
    format!("{h}.{payload}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
}

/// `bundle` with a Signature made of `fields` over the usual ones (null removes).
fn with_signature(mut bundle: Value, fields: Value) -> Value {
    let mut sig = json!({
        "type": [{"system": "urn:iso-astm:E1762-95:2013", "code": "1.2.840.10065.1.12.1.1"}],
        "when": WHEN, "who": {"identifier": {"value": SUBJECT}}, "sigFormat": "application/jose"
    });
    for (k, v) in fields.as_object().unwrap() {
        if v.is_null() {
            sig.as_object_mut().unwrap().remove(k);
        } else {
            sig[k] = v.clone();
        }
    }
    bundle["signature"] = sig;
    bundle
}

/// The Bundle signed properly (detached payload), with `header` overrides.
fn signed_with(header_overrides: Value, fields: Value) -> Value {
    let b = bundle();
    let token = jws(&header(header_overrides), &canonical(&b), "");
    let mut fields = fields;
    if fields.get("data").is_none() {
        fields["data"] = json!(STANDARD.encode(token));
    }
    with_signature(b, fields)
}

fn signed() -> Value {
    signed_with(json!({}), json!({}))
}

/// The signed Bundle, then changed.
fn changed() -> Value {
    let mut b = signed();
    b["entry"][0]["resource"]["code"]["text"] = json!("Another thing");
    b
}

fn data_of(token: &str) -> Value {
    json!(STANDARD.encode(token))
}

#[test]
fn bundle_signature_sig_ok() {
    let found = issues(&signed());
    assert!(has(&found, Severity::Information, IssueCode::Informational, "The signature verified OK"), "{found:#?}");
    assert!(!found.iter().any(|i| i.message.contains("signature") && i.severity.is_error()), "{found:#?}");
}

#[test]
fn bundle_signature_sig_fail_cert() {
    let found = issues(&changed());
    assert!(has(&found, Severity::Error, IssueCode::Value, "The signature did not verify against the provided certificate"), "{found:#?}");
    assert!(!mentions(&found, "verified OK"), "{found:#?}");
}

#[test]
fn bundle_signature_no_sig_format() {
    let found = issues(&signed_with(json!({}), json!({"sigFormat": null})));
    assert!(has(&found, Severity::Information, IssueCode::NotSupported, "There is no value for sigFormat."), "{found:#?}");
    let none = issues(&with_signature(bundle(), json!({"sigFormat": null})));
    assert!(!mentions(&none, "There is no value for sigFormat"), "{none:#?}");
}

#[test]
fn bundle_signature_sig_format_jose() {
    let found = issues(&signed_with(json!({}), json!({"sigFormat": null})));
    assert!(has(&found, Severity::Information, IssueCode::NotSupported, "Signature looks like application/jose, so validating accordingly"), "{found:#?}");
    // And it is then checked as one.
    assert!(mentions(&found, "The signature verified OK"), "{found:#?}");
}

#[test]
fn bundle_signature_not_checked_kind() {
    let found = issues(&signed_with(json!({}), json!({"sigFormat": "application/signature+xml"})));
    assert!(
        has(&found, Severity::Information, IssueCode::NotSupported, "The signature format 'application/signature+xml' is not checked (known formats: application/jose and application/pkcs7-signature)"),
        "{found:#?}"
    );
    let image = issues(&signed_with(json!({}), json!({"sigFormat": "image/png"})));
    assert!(!mentions(&image, "is not checked"), "{image:#?}");
}

#[test]
fn bundle_signature_not_checked_data() {
    let found = issues(&with_signature(bundle(), json!({})));
    assert!(has(&found, Severity::Information, IssueCode::NotFound, "There is no actual signature data, so the application/jose signature cannot be checked"), "{found:#?}");
}

#[test]
fn bundle_signature_not_checked_data_b64() {
    // base64Binary itself is checked by the walk; this is the rule's own error.
    let found = issues(&with_signature(bundle(), json!({"data": "not*base64"})));
    assert!(has(&found, Severity::Error, IssueCode::Invalid, "The signature data is not valid base64 content, so the signature cannot be checked"), "{found:#?}");
    let pkcs7 = issues(&with_signature(bundle(), json!({"data": "not*base64", "sigFormat": "application/pkcs7-signature"})));
    assert!(has(&pkcs7, Severity::Warning, IssueCode::Invalid, "The signature data is not valid base64 content, so the signature cannot be checked"), "{pkcs7:#?}");
}

#[test]
fn bundle_signature_checked_data_b64() {
    let b = bundle();
    let token = jws(&header(json!({})), &canonical(&b), "");
    let found = issues(&with_signature(b, json!({"data": token})));
    assert!(has(&found, Severity::Error, IssueCode::Invalid, "but it looks like native application/jose, so it will be checked anyway"), "{found:#?}");
    assert!(mentions(&found, "The signature verified OK"), "{found:#?}");
}

#[test]
fn bundle_signature_header_parse() {
    let token = format!("{}..{}", URL_SAFE_NO_PAD.encode("{not json"), URL_SAFE_NO_PAD.encode("x"));
    let found = issues(&with_signature(bundle(), json!({"data": data_of(&token)})));
    assert!(has(&found, Severity::Error, IssueCode::Invalid, "Error parsing the digital signature header: "), "{found:#?}");
}

#[test]
fn bundle_signature_header_sig_time_wrong_format() {
    let found = issues(&signed_with(json!({"sigT": "1749808800"}), json!({})));
    assert!(has(&found, Severity::Warning, IssueCode::Invalid, "The sigT header has the wrong format: 1749808800"), "{found:#?}");
    // Read as seconds, it is the stated time.
    assert!(!mentions(&found, "is not the same as the stated time"), "{found:#?}");
}

#[test]
fn bundle_signature_header_no_sig_time() {
    let found = issues(&signed_with(json!({"sigT": null}), json!({})));
    assert!(has(&found, Severity::Warning, IssueCode::NotFound, "The signature does not have a signing time (sigT in the header)"), "{found:#?}");
    let iat = issues(&signed_with(json!({"sigT": null, "iat": 1_749_808_800}), json!({})));
    assert!(!mentions(&iat, "does not have a signing time"), "{iat:#?}");
}

#[test]
fn bundle_signature_header_when_mismatch() {
    let found = issues(&signed_with(json!({"sigT": "2025-06-14T10:00:00Z"}), json!({})));
    assert!(
        has(&found, Severity::Error, IssueCode::BusinessRule, "The time in the signature 2025-06-14T10:00:00Z is not the same as the stated time 2025-06-13T10:00:00Z"),
        "{found:#?}"
    );
}

#[test]
fn bundle_signature_canon_error() {
    let found = issues(&signed_with(json!({}), json!({"targetFormat": "fhir-json"})));
    assert!(has(&found, Severity::Error, IssueCode::Invalid, "Error parsing the targetFormat 'fhir-json': "), "{found:#?}");
}

#[test]
fn bundle_signature_payload_canon_default() {
    let found = issues(&signed());
    assert!(has(&found, Severity::Information, IssueCode::Informational, "No canonicalization found, so using http://hl7.org/fhir/canonicalization/json"), "{found:#?}");
    let stated = issues(&signed_with(json!({"canon": "http://hl7.org/fhir/canonicalization/json"}), json!({})));
    assert!(!mentions(&stated, "No canonicalization found"), "{stated:#?}");
    assert!(mentions(&stated, "The signature verified OK"), "{stated:#?}");
}

#[test]
fn bundle_signature_canon_diff() {
    let found = issues(&signed_with(
        json!({"canon": "http://hl7.org/fhir/canonicalization/json"}),
        json!({"targetFormat": "application/fhir+json;canonicalization=http://hl7.org/fhir/canonicalization/json#document"}),
    ));
    assert!(
        has(&found, Severity::Warning, IssueCode::NotFound, "The canonicalization in the digital signature is http://hl7.org/fhir/canonicalization/json which doesn't match the value http://hl7.org/fhir/canonicalization/json#document found in the targetFormat"),
        "{found:#?}"
    );
}

#[test]
fn bundle_signature_header_x509_error() {
    let found = issues(&signed_with(json!({"x5c": [STANDARD.encode(b"not a certificate")]}), json!({})));
    assert!(has(&found, Severity::Error, IssueCode::Invalid, "Unable to parse X509 Certificate: "), "{found:#?}");
}

#[test]
fn bundle_signature_header_cert_not_found() {
    let found = issues(&signed_with(json!({"x5c": null, "kid": "key-1"}), json!({})));
    assert!(
        has(&found, Severity::Warning, IssueCode::NotFound, "Didn't find a matching certificate for the 'kid' key-1 in the header, so can't verify the signature"),
        "{found:#?}"
    );
}

#[test]
fn bundle_signature_header_no_kid_or_cert() {
    let found = issues(&signed_with(json!({"x5c": null}), json!({})));
    assert!(has(&found, Severity::Warning, IssueCode::NotFound, "Didn't find a provided certificate or a 'kid' in the header, so can't verify the signature"), "{found:#?}");
}

#[test]
fn bundle_signature_who_mismatch() {
    let found = issues(&signed_with(json!({}), json!({"who": {"identifier": {"value": "someone else"}}})));
    assert!(has(&found, Severity::Information, IssueCode::Informational, "The  Signature.who.identifier 'someone else' does not match a subject value from the certificate (one of "), "{found:#?}");
    assert!(mentions(&found, "'CN=Test Signer,O=Example,C=GB'") && mentions(&found, "'https://example.org/signer'"), "{found:#?}");
    let fine = issues(&signed());
    assert!(!mentions(&fine, "does not match a subject value"), "{fine:#?}");
}

#[test]
fn bundle_signature_who_recommended() {
    let found = issues(&signed_with(json!({}), json!({"who": {"display": "Test Signer"}})));
    assert!(
        has(&found, Severity::Information, IssueCode::Informational, "A certificate subject identifier should also be found in Signature.who.identifier (one of CN=Test Signer,O=Example,C=GB)"),
        "{found:#?}"
    );
}

#[test]
fn bundle_signature_who_no_info() {
    let found = issues(&signed_with(json!({"x5c": null}), json!({"who": null})));
    assert!(has(&found, Severity::Information, IssueCode::Informational, "Neither the digital signature nor Signature.who are provided to identify the signer"), "{found:#?}");
}

#[test]
fn bundle_signature_who_not_in_cert() {
    let found = issues(&signed_with(json!({"x5c": null}), json!({})));
    assert!(has(&found, Severity::Information, IssueCode::Informational, "The Signature.who value is not found in the digital signature"), "{found:#?}");
}

#[test]
fn bundle_signature_payload_present() {
    let b = bundle();
    let content = canonical(&b);
    let token = jws(&header(json!({})), &content, &URL_SAFE_NO_PAD.encode(&content));
    let found = issues(&with_signature(b, json!({"data": data_of(&token)})));
    assert!(has(&found, Severity::Warning, IssueCode::Value, "The signature has a payload, but the signature should be a detached signature with no payload"), "{found:#?}");
    assert!(mentions(&found, "The signature verified OK"), "{found:#?}");
}

/// A changed Bundle whose signature carries the payload that was signed.
fn changed_with_payload(signed_content: &[u8]) -> Vec<Issue> {
    let token = jws(&header(json!({})), signed_content, &URL_SAFE_NO_PAD.encode(signed_content));
    let mut b = with_signature(bundle(), json!({"data": data_of(&token)}));
    b["entry"][0]["resource"]["code"]["text"] = json!("Another thing");
    issues(&b)
}

#[test]
fn bundle_signature_payload_mismatch() {
    let original = canonical(&bundle());
    let found = changed_with_payload(&original);
    let now = original.len() + "Another thing".len() - "A thing".len();
    let expected = format!("The signature cannot be valid because the content to sign ({now} bytes}} is not the same as the signed content ({} bytes)", original.len());
    assert!(has(&found, Severity::Error, IssueCode::Value, &expected), "{found:#?}");
}

#[test]
fn bundle_signature_payload_json_no_match() {
    let found = changed_with_payload(&canonical(&bundle()));
    assert!(has(&found, Severity::Information, IssueCode::Value, "The actual JSON structures of payload and canonicalized form do not match: $.entry[0].resource.code.text"), "{found:#?}");
}

#[test]
fn bundle_signature_payload_json_matches() {
    // Signed over the changed content, but written with whitespace: the same JSON, other bytes.
    let mut b = bundle();
    b["entry"][0]["resource"]["code"]["text"] = json!("Another thing");
    let pretty = serde_json::to_vec_pretty(&sorted(&b)).unwrap();
    let found = changed_with_payload(&pretty);
    assert!(
        has(&found, Severity::Information, IssueCode::Informational, "The actual JSON structures of payload and canonicalized form do match, so the issue is in the canonicalization"),
        "{found:#?}"
    );
}

#[test]
fn bundle_signature_payload_invalid_json() {
    let found = changed_with_payload(b"not json");
    assert!(has(&found, Severity::Error, IssueCode::Invalid, "The payload provided could not be read - invalid JSON Structure ("), "{found:#?}");
}

#[test]
fn bundle_signature_payload_base64_diff() {
    // The payload is the content to sign, but in standard base64 with padding;
    // the signature is over something else, so it fails.
    let content = canonical(&bundle());
    let other = jws(&header(json!({})), b"something else", "");
    let parts: Vec<&str> = other.split('.').collect();
    let token = format!("{}.{}.{}", parts[0], STANDARD.encode(&content), parts[2]);
    let found = issues(&with_signature(bundle(), json!({"data": data_of(&token)})));
    assert!(has(&found, Severity::Error, IssueCode::Value, "The signed bytes are identical, but the base64 representations differ"), "{found:#?}");
}

#[test]
fn bundle_signature_sig_invalid() {
    let good = jws(&header(json!({})), &canonical(&bundle()), "");
    let token = format!("{}*!", good.trim_end_matches(|c: char| c != '.'));
    let found = issues(&with_signature(bundle(), json!({"data": data_of(&token)})));
    assert!(has(&found, Severity::Error, IssueCode::Invalid, "The actual signature is not valid base64: "), "{found:#?}");
}

#[test]
fn bundle_signature_sig_error() {
    let found = issues(&signed_with(json!({"alg": "RS256"}), json!({})));
    assert!(has(&found, Severity::Error, IssueCode::Exception, "Error verifying the signature against the certificate: Unsupported JWS algorithm RS256"), "{found:#?}");
}

#[test]
fn bundle_signature_signed_by_verified() {
    let found = issues(&signed());
    assert!(
        has(&found, Severity::Information, IssueCode::Informational, "The content was signed by ") && mentions(&found, "CN=Test Signer,O=Example,C=GB") && mentions(&found, "(and this has been verified by the signature)"),
        "{found:#?}"
    );
}

#[test]
fn bundle_signature_signed_by() {
    let found = issues(&changed());
    assert!(has(&found, Severity::Information, IssueCode::Informational, "The content claims to have been signed by "), "{found:#?}");
    assert!(mentions(&found, ", but this has not been verified"), "{found:#?}");
}

#[test]
fn bundle_signature_signed_at_verified() {
    let found = issues(&signed());
    assert!(has(&found, Severity::Information, IssueCode::Informational, "The content was signed at 2025-06-13T10:00:00Z (and this has been verified by the signature)"), "{found:#?}");
}

#[test]
fn bundle_signature_signed_at() {
    let found = issues(&changed());
    assert!(has(&found, Severity::Information, IssueCode::Informational, "The content claims to have been signed at 2025-06-13T10:00:00Z, but this has not been verified"), "{found:#?}");
}

#[test]
fn bundle_signature_signed_for_verified() {
    let found = issues(&signed());
    assert!(
        has(&found, Severity::Information, IssueCode::Informational, "The content was signed for the purpose of Author's Signature (urn:oid:1.2.840.10065.1.12.1.1) (and this has been verified by the signature)"),
        "{found:#?}"
    );
}

#[test]
fn bundle_signature_signed_for() {
    let found = issues(&changed());
    assert!(
        has(&found, Severity::Information, IssueCode::Informational, "The content claims that it was signed for the purpose of Author's Signature (urn:oid:1.2.840.10065.1.12.1.1), but this has not been verified"),
        "{found:#?}"
    );
}

#[test]
fn bundle_signature_cert_details() {
    let found = issues(&signed());
    assert!(
        has(&found, Severity::Information, IssueCode::Informational, "Signing Certificate Details: Subject='CN=Test Signer,O=Example,C=GB', Issuer='CN=Test Signer,O=Example,C=GB', Serial='12A'"),
        "{found:#?}"
    );
}

#[test]
fn bundle_signature_cert_source() {
    let found = issues(&signed());
    let expected = format!("Signing Certificate Source: -----BEGIN CERTIFICATE-----{}-----END CERTIFICATE-----", STANDARD.encode(&signer().cert));
    assert!(has(&found, Severity::Information, IssueCode::Informational, &expected), "{found:#?}");
}

#[test]
fn a_document_signature_leaves_out_id_and_meta() {
    // `#document`: Bundle.id and Bundle.meta are not signed, so changing them keeps it valid.
    let mut b = bundle();
    b["meta"] = json!({"lastUpdated": "2025-06-13T09:00:00Z"});
    let mut content = b.clone();
    content.as_object_mut().unwrap().remove("id");
    content.as_object_mut().unwrap().remove("meta");
    let token = jws(&header(json!({"canon": "http://hl7.org/fhir/canonicalization/json#document"})), &canonical(&content), "");
    let mut signed = with_signature(b, json!({"data": data_of(&token)}));
    signed["id"] = json!("renamed");
    signed["meta"]["lastUpdated"] = json!("2025-06-14T09:00:00Z");
    let found = issues(&signed);
    assert!(mentions(&found, "The signature verified OK"), "{found:#?}");
}

#[test]
fn a_failure_over_narrative_is_not_called_an_error() {
    // careplan does not write XHTML again as the reference does, so it does
    // not say a signature over narrative is wrong; it says it is not verified.
    let mut b = bundle();
    b["entry"][0]["resource"]["text"] = json!({"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>A thing</p></div>"});
    let token = jws(&header(json!({})), b"something else", "");
    let found = issues(&with_signature(b, json!({"data": data_of(&token)})));
    assert!(!mentions(&found, "The signature did not verify"), "{found:#?}");
    assert!(mentions(&found, "The content claims to have been signed by "), "{found:#?}");
}

#[test]
fn a_signature_over_narrative_verifies() {
    let mut b = bundle();
    b["entry"][0]["resource"]["text"] = json!({"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>A thing</p></div>"});
    let token = jws(&header(json!({})), &canonical(&b), "");
    let found = issues(&with_signature(b, json!({"data": data_of(&token)})));
    assert!(mentions(&found, "The signature verified OK"), "{found:#?}");
}

#[test]
fn a_signature_verifies_over_the_same_bundle_in_xml() {
    // The canonical form is JSON whatever the input's format.
    let mut b = bundle();
    b["entry"][0]["resource"]["extension"] = json!([{"url": "http://example.org/weight", "valueDecimal": 1.50}]);
    let text = b.to_string().replace("1.5}", "1.50}");
    let content_value: Value = serde_json::from_str(&text).unwrap();
    let mut content = serde_json::to_string(&sorted(&content_value)).unwrap();
    content = content.replace("1.5}", "1.50}");
    let token = jws(&header(json!({})), content.as_bytes(), "");
    let signed = with_signature(content_value, json!({"data": data_of(&token)}));
    let json_text = signed.to_string().replace("1.5}", "1.50}");
    let as_json = validator().validate_bytes(json_text.as_bytes(), Some(Format::Json));
    assert!(mentions(&as_json, "The signature verified OK"), "{as_json:#?}");
    let xml = careplan::render::xml::resource_to_xml(&signed, validator().context());
    let as_xml = validator().validate_bytes(xml.replace("value=\"1.5\"", "value=\"1.50\"").as_bytes(), Some(Format::Xml));
    assert!(mentions(&as_xml, "The signature verified OK"), "{as_xml:#?}");
}
