//! XML digital signatures on a Bundle (`src/validator/rules/signature_xml.rs`,
//! canonical forms in `src/xml_c14n.rs`), one test per rule. The signed
//! material is made here: a self-signed certificate (rcgen) over the
//! test-only RSA key in tests/keys, and an XML DSig `Signature` with a
//! detached reference to the Bundle's canonical XML (written out by hand
//! below) and XAdES signed properties, signed with `ring`.

mod common;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use careplan::issue::{Issue, IssueCode, Severity};
use careplan::tree::Format;
use careplan::validator::Validator;
use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair};
use ring::rand::SystemRandom;
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use serde_json::{json, Value};
use std::sync::OnceLock;

const SUBJECT: &str = "CN=Test Signer,O=Example,C=GB";
const WHEN: &str = "2025-06-13T10:00:00Z";
const XML_CANON: &str = "http://hl7.org/fhir/canonicalization/xml";
const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
const XADES_TYPE: &str = "http://uri.etsi.org/01903#SignedProperties";

/// The Bundle below in Canonical XML 1.0, without its signature: what is signed.
const CANONICAL: &str = concat!(
    "<Bundle xmlns=\"http://hl7.org/fhir\"><id value=\"signed\"></id><type value=\"collection\"></type>",
    "<entry><fullUrl value=\"urn:uuid:5b4e2d4e-2a0c-4c5e-9a61-6f6f2d1e7a01\"></fullUrl><resource><Basic><id value=\"b1\"></id>",
    "<code><text value=\"A thing\"></text></code><author><display value=\"Someone\"></display></author></Basic></resource></entry></Bundle>"
);

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

fn bundle() -> Value {
    json!({
        "resourceType": "Bundle", "id": "signed", "type": "collection",
        "entry": [{"fullUrl": "urn:uuid:5b4e2d4e-2a0c-4c5e-9a61-6f6f2d1e7a01",
                   "resource": {"resourceType": "Basic", "id": "b1", "code": {"text": "A thing"}, "author": {"display": "Someone"}}}]
    })
}

/// The signer: the test-only RSA key and its self-signed certificate (DER).
struct Signer {
    key: RsaKeyPair,
    cert: Vec<u8>,
}

fn rsa_signer() -> &'static Signer {
    static S: OnceLock<Signer> = OnceLock::new();
    S.get_or_init(|| {
        let pem = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/keys/test-only-xmldsig.key.pem")).unwrap();
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = STANDARD.decode(body).unwrap();
        let key_pair = KeyPair::from_pem(&pem).unwrap();
        let cert = certificate(&key_pair);
        Signer { key: RsaKeyPair::from_pkcs8(&der).unwrap(), cert }
    })
}

/// A certificate whose key is EC (P-256): it cannot verify an RSA signature.
fn ec_certificate() -> Vec<u8> {
    certificate(&KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap())
}

fn certificate(key_pair: &KeyPair) -> Vec<u8> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, "GB");
    dn.push(DnType::OrganizationName, "Example");
    dn.push(DnType::CommonName, "Test Signer");
    params.distinguished_name = dn;
    params.self_signed(key_pair).unwrap().der().to_vec()
}

fn digest(bytes: &[u8]) -> String {
    STANDARD.encode(ring::digest::digest(&ring::digest::SHA256, bytes))
}

/// The inside of the XAdES SignedProperties for a signing time.
fn properties_inside(time: &str) -> String {
    format!(
        "<xades:SignedSignatureProperties><xades:SigningTime>{time}</xades:SigningTime></xades:SignedSignatureProperties>\
         <xades:SignedDataObjectProperties><xades:CommitmentTypeIndication><xades:CommitmentTypeId>\
         <xades:Identifier>urn:oid:1.2.840.10065.1.12.1.1</xades:Identifier><xades:Description>Author's Signature</xades:Description>\
         </xades:CommitmentTypeId></xades:CommitmentTypeIndication></xades:SignedDataObjectProperties>"
    )
}

/// How to make the signature; `Default` is a good one.
struct Make {
    /// The bytes the signer took for the Bundle.
    content: String,
    signing_time: Option<String>,
    /// XAdES properties and their reference.
    xades: bool,
    /// The XAdES properties as the signer digested them (default: their exclusive canonical form).
    xades_digested: Option<String>,
    canon: String,
    reference_uri: String,
    second_type: String,
    /// References in SignedInfo: the usual one or two, then this many more.
    extra_references: usize,
    no_references: bool,
    cert: Option<String>,
    signature_value: bool,
    /// Sign something else than the SignedInfo (a signature that fails over the right content).
    sign_garbage: bool,
    signed_bytes: Option<String>,
    method: String,
}

impl Default for Make {
    fn default() -> Self {
        Make {
            content: CANONICAL.into(),
            signing_time: Some(WHEN.into()),
            xades: true,
            xades_digested: None,
            canon: XML_CANON.into(),
            reference_uri: "#".into(),
            second_type: XADES_TYPE.into(),
            extra_references: 0,
            no_references: false,
            cert: Some(STANDARD.encode(&rsa_signer().cert)),
            signature_value: true,
            sign_garbage: false,
            signed_bytes: None,
            method: RSA_SHA256.into(),
        }
    }
}

impl Make {
    /// The XML DSig document.
    fn document(&self) -> String {
        let time = self.signing_time.as_deref().unwrap_or("");
        let inside = properties_inside(time);
        let properties_c14n = format!("<xades:SignedProperties xmlns:xades=\"http://uri.etsi.org/01903/v1.3.2#\" Id=\"SignedProperties\">{inside}</xades:SignedProperties>");
        let xades_digest = digest(self.xades_digested.as_deref().unwrap_or(&properties_c14n).as_bytes());
        let content_digest = digest(self.content.as_bytes());
        // What the signer signs: the SignedInfo in Canonical XML.
        let mut signed_info = format!(
            "<SignedInfo xmlns=\"http://www.w3.org/2000/09/xmldsig#\">\n    <CanonicalizationMethod Algorithm=\"http://www.w3.org/TR/2001/REC-xml-c14n-20010315\"></CanonicalizationMethod>\n    <SignatureMethod Algorithm=\"{RSA_SHA256}\"></SignatureMethod>\n    <Reference URI=\"#\">\n      <Transforms>\n        <Transform Algorithm=\"{}\"></Transform>\n      </Transforms>\n      <DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"></DigestMethod>\n      <DigestValue>{content_digest}</DigestValue>\n    </Reference>\n",
            self.canon
        );
        if self.xades {
            signed_info.push_str(&format!("    <Reference Type=\"{XADES_TYPE}\" URI=\"#SignedProperties\">\n      <DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"></DigestMethod>\n      <DigestValue>{xades_digest}</DigestValue>\n    </Reference>\n"));
        }
        signed_info.push_str("  </SignedInfo>");
        let signer = rsa_signer();
        let mut sig = vec![0; signer.key.public().modulus_len()];
        let message = if self.sign_garbage { b"something else".to_vec() } else { signed_info.into_bytes() };
        signer.key.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), &message, &mut sig).unwrap();

        // The document as sent: the SignedInfo written loosely, with the references asked for.
        let mut refs = String::new();
        if !self.no_references {
            refs.push_str(&format!(
                "<Reference URI=\"{}\"><Transforms><Transform Algorithm=\"{}\"/></Transforms><DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/><DigestValue>{content_digest}</DigestValue></Reference>",
                self.reference_uri, self.canon
            ));
            if self.xades {
                refs.push_str(&format!(
                    "<Reference Type=\"{}\" URI=\"#SignedProperties\"><DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/><DigestValue>{xades_digest}</DigestValue></Reference>",
                    self.second_type
                ));
            }
            for i in 0..self.extra_references {
                refs.push_str(&format!("<Reference URI=\"#extra{i}\"><DigestValue>AAAA</DigestValue></Reference>"));
            }
        }
        let mut doc = format!(
            "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" Id=\"sig\">\n  <ds:SignedInfo><ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/TR/2001/REC-xml-c14n-20010315\"/><ds:SignatureMethod Algorithm=\"{}\"/>{}</ds:SignedInfo>\n",
            self.method,
            refs.replace("<Reference", "<ds:Reference").replace("</Reference", "</ds:Reference").replace("<Transform", "<ds:Transform").replace("</Transform", "</ds:Transform").replace("<Digest", "<ds:Digest").replace("</Digest", "</ds:Digest")
        );
        if self.signature_value {
            doc.push_str(&format!("  <ds:SignatureValue>{}</ds:SignatureValue>\n", STANDARD.encode(&sig)));
        }
        if let Some(cert) = &self.cert {
            doc.push_str(&format!("  <ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>\n"));
        }
        if self.signing_time.is_some() || self.xades {
            doc.push_str(&format!(
                "  <ds:Object><xades:QualifyingProperties xmlns:xades=\"http://uri.etsi.org/01903/v1.3.2#\" Target=\"#sig\"><xades:SignedProperties Id=\"SignedProperties\">{inside}</xades:SignedProperties></xades:QualifyingProperties></ds:Object>\n"
            ));
        }
        if let Some(signed) = &self.signed_bytes {
            doc.push_str(&format!("  <ds:SignedBytes>{}</ds:SignedBytes>\n", STANDARD.encode(signed)));
        }
        doc.push_str("</ds:Signature>");
        doc
    }

    /// `bundle` carrying this signature.
    fn on(&self, mut bundle: Value) -> Value {
        bundle["signature"] = json!({
            "type": [{"system": "urn:iso-astm:E1762-95:2013", "code": "1.2.840.10065.1.12.1.1"}],
            "when": WHEN, "who": {"identifier": {"value": SUBJECT}},
            "sigFormat": "application/pkcs7-signature", "data": STANDARD.encode(self.document())
        });
        bundle
    }

    fn issues(&self) -> Vec<Issue> {
        issues(&self.on(bundle()))
    }
}

/// The Bundle, changed after it was signed.
fn tampered() -> Value {
    let mut b = bundle();
    b["entry"][0]["resource"]["code"]["text"] = json!("Another thing");
    b
}

fn no_signature_errors(found: &[Issue]) -> bool {
    !found.iter().any(|i| i.severity.is_error() && (i.message.contains("signature") || i.message.contains("signed") || i.message.contains("digest")))
}

#[test]
fn a_good_xml_signature_verifies() {
    let found = Make::default().issues();
    assert!(has(&found, Severity::Information, IssueCode::Informational, "The signature verified OK"), "{found:#?}");
    assert!(has(&found, Severity::Information, IssueCode::Informational, "The content was signed by CN=Test Signer,O=Example,C=GB (and this has been verified by the signature)"), "{found:#?}");
    assert!(
        has(&found, Severity::Information, IssueCode::Informational, "The content was signed for the purpose of Author's Signature (urn:oid:1.2.840.10065.1.12.1.1) (and this has been verified by the signature)"),
        "{found:#?}"
    );
    assert!(no_signature_errors(&found), "{found:#?}");
    assert!(!found.iter().any(|i| i.severity == Severity::Warning && i.message.contains("signature")), "{found:#?}");
}

#[test]
fn a_good_xml_signature_verifies_on_the_bundle_read_as_xml() {
    let signed = Make::default().on(bundle());
    let xml = careplan::render::xml::resource_to_xml(&signed, &common::context());
    let found = validator().validate_bytes(xml.as_bytes(), Some(Format::Xml));
    assert!(has(&found, Severity::Information, IssueCode::Informational, "The signature verified OK"), "{found:#?}");
    assert!(no_signature_errors(&found), "{found:#?}");
}

#[test]
fn bundle_signature_digsig_invalid() {
    let mut b = bundle();
    b["signature"] = json!({"when": WHEN, "sigFormat": "application/pkcs7-signature", "data": STANDARD.encode("<Signature><SignedInfo></Signature>")});
    let found = issues(&b);
    assert!(has(&found, Severity::Error, IssueCode::Invalid, "The digital signature is invalid XML: "), "{found:#?}");
    // Nothing more is read from a signature that cannot be read.
    assert!(!mentions(&found, "No references found"), "{found:#?}");
}

#[test]
fn bundle_signature_digsig_no_sig_time() {
    let found = Make { signing_time: None, xades: false, ..Make::default() }.issues();
    assert!(has(&found, Severity::Warning, IssueCode::NotFound, "No SigningTime element found in the digital signature"), "{found:#?}");
    // The signature still verifies without one.
    assert!(mentions(&found, "The signature verified OK"), "{found:#?}");
    let good = Make::default().issues();
    assert!(!mentions(&good, "No SigningTime"), "{good:#?}");
}

#[test]
fn bundle_signature_digsig_when_mismatch() {
    let found = Make { signing_time: Some("2025-06-13T11:00:00Z".into()), ..Make::default() }.issues();
    assert!(
        has(&found, Severity::Error, IssueCode::BusinessRule, "The time in the digital signature 2025-06-13T11:00:00Z is not the same as the stated time 2025-06-13T10:00:00Z"),
        "{found:#?}"
    );
}

#[test]
fn bundle_signature_digsig_x509_error() {
    let found = Make { cert: Some("AAAAAAAA".into()), ..Make::default() }.issues();
    assert!(has(&found, Severity::Error, IssueCode::Invalid, "Unable to parse X509 Certificate: "), "{found:#?}");
    // Nothing is verified without a certificate.
    assert!(!mentions(&found, "verified OK"), "{found:#?}");
}

#[test]
fn bundle_signature_digsig_no_cert() {
    let found = Make { cert: None, ..Make::default() }.issues();
    assert!(
        has(&found, Severity::Warning, IssueCode::NotFound, "Didn't find a provided X509 certificate in the digital signature, so can't verify the signature"),
        "{found:#?}"
    );
    assert!(!mentions(&found, "verified OK"), "{found:#?}");
}

#[test]
fn bundle_signature_digsig_no_references() {
    let found = Make { no_references: true, ..Make::default() }.issues();
    assert!(has(&found, Severity::Error, IssueCode::NotSupported, "No references found in the digital signature SignedInfo"), "{found:#?}");
}

#[test]
fn bundle_signature_digsig_references_too_many() {
    let found = Make { extra_references: 1, ..Make::default() }.issues();
    assert!(has(&found, Severity::Error, IssueCode::NotSupported, "Too many references found in the digital signature SignedInfo - not understood"), "{found:#?}");
}

#[test]
fn bundle_signature_digsig_reference_not_understood() {
    let found = Make { reference_uri: "#bundle".into(), ..Make::default() }.issues();
    assert!(
        has(&found, Severity::Error, IssueCode::NotSupported, "The reference in the SignedInfo in the digital signature is '#bundle' which is not understood (or correct?)"),
        "{found:#?}"
    );
}

#[test]
fn bundle_signature_digsig_reference_type_not_understood() {
    let found = Make { second_type: "http://www.w3.org/2000/09/xmldsig#Object".into(), ..Make::default() }.issues();
    assert!(
        has(
            &found,
            Severity::Error,
            IssueCode::NotSupported,
            "The second reference in the SignedInfo in the digital signature has type 'http://www.w3.org/2000/09/xmldsig#Object' which is not understood (or correct?)"
        ),
        "{found:#?}"
    );
}

#[test]
fn bundle_signature_digsig_no_sv() {
    let found = Make { signature_value: false, ..Make::default() }.issues();
    assert!(
        has(&found, Severity::Error, IssueCode::NotFound, "Didn't find a provided signedValue in the digital signature, so can't verify the signature"),
        "{found:#?}"
    );
    assert!(!mentions(&found, "verified OK"), "{found:#?}");
}

#[test]
fn bundle_signature_digsig_sig_error() {
    // An RSA signature method, and a certificate with an EC key.
    let found = Make { cert: Some(STANDARD.encode(ec_certificate())), ..Make::default() }.issues();
    assert!(has(&found, Severity::Error, IssueCode::Invalid, "Error verifying the signature: "), "{found:#?}");
    assert!(has(&found, Severity::Error, IssueCode::Value, "The signature did not verify against the provided certificate"), "{found:#?}");
}

#[test]
fn bundle_signature_sig_digest_mismatch() {
    let make = Make::default();
    let found = issues(&make.on(tampered()));
    let expected = digest(CANONICAL.as_bytes());
    let actual = digest(CANONICAL.replace("A thing", "Another thing").as_bytes());
    assert!(
        has(
            &found,
            Severity::Error,
            IssueCode::Value,
            &format!("The digest value for the signed content doesn't match the provided content ({actual} vs {expected}). The signature is not valid")
        ),
        "{found:#?}"
    );
    assert!(has(&found, Severity::Error, IssueCode::Value, "The signature did not verify against the provided certificate"), "{found:#?}");
    assert!(!mentions(&Make::default().issues(), "The digest value"));
}

#[test]
fn bundle_signature_sig_digest_mismatch_xades() {
    // The signer digested the properties with the signature's namespace declared on them too.
    let inside = properties_inside(WHEN);
    let inclusive = format!(
        "<xades:SignedProperties xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" xmlns:xades=\"http://uri.etsi.org/01903/v1.3.2#\" Id=\"SignedProperties\">{inside}</xades:SignedProperties>"
    );
    let found = Make { xades_digested: Some(inclusive.clone()), ..Make::default() }.issues();
    assert!(
        has(
            &found,
            Severity::Error,
            IssueCode::Value,
            &format!("The digest value for the XaDeS signed content doesn't match the provided content (" )
        ) && mentions(&found, &format!(" vs {}). The signature is not valid. Check XML canonicalization carefully, particularly with regard to whitespace and namespaces", digest(inclusive.as_bytes()))),
        "{found:#?}"
    );
    assert!(!mentions(&Make::default().issues(), "XaDeS"));
}

#[test]
fn bundle_signature_digsig_signed_same() {
    let found = Make { sign_garbage: true, signed_bytes: Some(CANONICAL.into()), ..Make::default() }.issues();
    assert!(has(&found, Severity::Error, IssueCode::Value, "The signature did not verify against the provided certificate"), "{found:#?}");
    assert!(
        has(
            &found,
            Severity::Information,
            IssueCode::Value,
            "The signed bytes are identical, so the signature failure is not because the content changed. Check Canonicalization carefully (including whitespace)"
        ),
        "{found:#?}"
    );
}

#[test]
fn bundle_signature_digsig_signed_mismatch() {
    let make = Make { signed_bytes: Some(CANONICAL.into()), ..Make::default() };
    let found = issues(&make.on(tampered()));
    let ours = CANONICAL.len() + "Another thing".len() - "A thing".len();
    assert!(
        has(
            &found,
            Severity::Error,
            IssueCode::Value,
            &format!("The signature cannot be valid because the content to sign ({ours} bytes}} is not the same as the signed content ({} bytes)", CANONICAL.len())
        ),
        "{found:#?}"
    );
}

#[test]
fn bundle_signature_digsig_signed_xml_no_match() {
    let make = Make { signed_bytes: Some(CANONICAL.into()), ..Make::default() };
    let found = issues(&make.on(tampered()));
    assert!(
        has(
            &found,
            Severity::Information,
            IssueCode::Value,
            "The actual XML structures of payload and canonicalized form do not match: Attributes differ at /Bundle/entry/resource/Basic/code/text: 'Another thing' vs 'A thing'"
        ),
        "{found:#?}"
    );
}

#[test]
fn bundle_signature_digsig_signed_xml_matches() {
    // The signer signed the Bundle's XML as written, not its canonical form.
    let written = "<?xml version=\"1.0\"?>\n".to_string() + &CANONICAL.replace("></id>", "/>").replace("><entry>", ">\n  <entry>");
    let found = Make { content: written.clone(), signed_bytes: Some(written), ..Make::default() }.issues();
    assert!(has(&found, Severity::Error, IssueCode::Value, "The digest value for the signed content doesn't match"), "{found:#?}");
    assert!(
        has(
            &found,
            Severity::Information,
            IssueCode::Informational,
            "The actual XML structures of payload and canonicalized form do match, so the issue is in the canonicalization"
        ),
        "{found:#?}"
    );
}

#[test]
fn bundle_signature_digsig_signed_invalid_xml() {
    let found = Make { sign_garbage: true, signed_bytes: Some("{\"resourceType\": \"Bundle\"}".into()), ..Make::default() }.issues();
    assert!(has(&found, Severity::Error, IssueCode::Invalid, "The signed bytes provided could not be read - invalid XML Structure ("), "{found:#?}");
    assert!(
        has(&found, Severity::Error, IssueCode::Exception, "The signed bytes provided could not be read - invalid XML Structure (the signed bytes and the canonical form cannot be compared)"),
        "{found:#?}"
    );
}
