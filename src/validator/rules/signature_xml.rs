//! XML digital signatures on a Bundle, as the reference's Bundle validator
//! checks them: `Signature.data` holding an XML DSig `Signature` element
//! (the reference reads `sigFormat` `application/pkcs7-signature` this way;
//! `signature.rs` decides the format and decodes the data). What the
//! signature says is checked against the Signature resource: the XAdES
//! signing time against `when`, the canonicalization (the first
//! reference's transform) against `targetFormat`, the XAdES commitment
//! type against `type`, the `X509Certificate` against `who`; then the
//! references in `SignedInfo` (one detached reference `#` to the content,
//! and optionally a second to the XAdES `SignedProperties`), their digests
//! (SHA-256 of the Bundle's canonical XML, of the exclusive canonical form
//! of `SignedProperties`), and the `SignatureValue` over the `SignedInfo`
//! the reference builds for such a signature, verified with the
//! certificate's RSA key (`ring`). When verification fails, a
//! `SignedBytes` element (the bytes the signer signed, base64) is compared
//! with careplan's canonical form, byte for byte and then by structure.
//!
//! Every issue is reported on the Bundle. As for JWS: a Bundle holding
//! narrative is not said to fail (digests or signature), since the
//! reference writes XHTML again through its own composer, which careplan
//! does not reproduce byte for byte.

use super::signature::{
    canonical_json, canonicalization, certificate_problem, check_who, decode_lenient, has_xhtml, key_of, purpose_against_types, signed_at,
    signed_by, signed_for, x500_name, KeyKind, Style,
};
use crate::convert::EXACT_NUMBER;
use crate::issue::IssueCode;
use crate::tree::Node;
use crate::validator::element::Walk;
use crate::xml_c14n::{self, Element, Method};
use base64::Engine;
use serde_json::Value;
use x509_parser::prelude::*;

const XADES_SIGNED_PROPERTIES: &str = "http://uri.etsi.org/01903#SignedProperties";
const RSA_SHA1: &str = "http://www.w3.org/2000/09/xmldsig#rsa-sha1";
const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
const RSA_SHA512: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512";
const ECDSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256";

/// The wording BUNDLE_SIGNATURE_SIG_FAIL_CERT shares with the JWS checks.
const SIG_FAIL_CERT: &str = "The signature did not verify against the provided certificate";

/// The parts of an XML DSig `Signature` the checks read, found by local
/// name as the reference finds them.
struct DigSig<'a> {
    root: &'a Element,
}

impl<'a> DigSig<'a> {
    fn at(&self, path: &[&str]) -> Option<&'a Element> {
        self.root.descendant(path).map(|(e, _)| e)
    }

    fn text(&self, path: &[&str]) -> Option<String> {
        self.at(path).map(Element::text_content)
    }

    /// XAdES `SigningTime` first, then a plain `SignatureProperty`'s.
    fn signing_time(&self) -> Option<String> {
        self.text(&["Object", "QualifyingProperties", "SignedProperties", "SignedSignatureProperties", "SigningTime"])
            .or_else(|| self.text(&["Object", "SignatureProperties", "SignatureProperty", "SigningTime"]))
    }

    /// The first reference's first transform: `""` when it names none.
    fn canonicalization(&self) -> Option<String> {
        self.at(&["SignedInfo", "Reference", "Transforms", "Transform"]).map(|t| t.attr("Algorithm").to_string())
    }

    fn commitment(&self, part: &str) -> Option<String> {
        self.text(&["Object", "QualifyingProperties", "SignedProperties", "SignedDataObjectProperties", "CommitmentTypeIndication", "CommitmentTypeId", part])
    }

    fn references(&self) -> Vec<&'a Element> {
        self.at(&["SignedInfo"]).map(|s| s.children_named("Reference").collect()).unwrap_or_default()
    }
}

/// `d`: the decoded `Signature.data`.
pub(super) fn check_xml_signature(walk: &mut Walk<'_, '_>, bundle: &Node, signature: &Node, d: &str) {
    let root = match xml_c14n::parse(d.as_bytes()) {
        Ok(root) => root,
        Err(e) => {
            // BUNDLE_SIGNATURE_DIGSIG_INVALID
            walk.error(bundle, IssueCode::Invalid, format!("The digital signature is invalid XML: {e}"));
            return;
        }
    };
    let dsig = DigSig { root: &root };

    // 1. The signing time.
    let when = signature.child_text("when");
    let sig_t = dsig.signing_time();
    if sig_t.is_none() {
        // BUNDLE_SIGNATURE_DIGSIG_NO_SIG_TIME
        walk.warn(bundle, IssueCode::NotFound, "No SigningTime element found in the digital signature".into());
    }
    // (BUNDLE_SIGNATURE_NO_WHEN, raised when `when` is absent, has no wording in the catalogue.)
    if let (Some(when), Some(t)) = (when, sig_t.as_deref()) {
        if t != when {
            // BUNDLE_SIGNATURE_DIGSIG_WHEN_MISMATCH
            walk.error(bundle, IssueCode::BusinessRule, format!("The time in the digital signature {t} is not the same as the stated time {when}"));
        }
    }

    // 2. The canonicalization.
    let stated = dsig.canonicalization();
    let (canon, xml) = canonicalization(walk, bundle, signature, stated.as_deref());

    // 3. The purpose.
    let (purpose, purpose_desc, purpose_ok) = purpose_against_types(walk, signature, dsig.commitment("Identifier"), dsig.commitment("Description"));

    // 4. The certificate.
    let mut cert_der = None;
    match dsig.at(&["KeyInfo", "X509Data", "X509Certificate"]) {
        Some(x509) => {
            let der = decode_lenient(&x509.text_content());
            match certificate_problem(&der) {
                None => cert_der = Some(der),
                Some(e) => {
                    // BUNDLE_SIGNATURE_DIGSIG_X509_ERROR
                    walk.error(bundle, IssueCode::Invalid, format!("Unable to parse X509 Certificate: {e}"));
                }
            }
        }
        None => {
            // BUNDLE_SIGNATURE_DIGSIG_NO_CERT
            walk.warn(
                bundle,
                IssueCode::NotFound,
                "Didn't find a provided X509 certificate in the digital signature, so can't verify the signature".into(),
            );
        }
    }
    let cert = cert_der.as_deref().and_then(|der| parse_x509_certificate(der).ok()).map(|(_, c)| c);

    // Who signed.
    let (idv, who_matches) = check_who(walk, bundle, signature, cert.as_ref());

    // 5. The references: the content ("#"), and perhaps the XAdES properties.
    let references = dsig.references();
    let mut content_ref = None;
    let mut xades_ref = None;
    match references.len() {
        0 => {
            // BUNDLE_SIGNATURE_DIGSIG_NO_REFERENCES
            walk.error(bundle, IssueCode::NotSupported, "No references found in the digital signature SignedInfo".into());
        }
        1 | 2 => {
            content_ref = Some(references[0]);
            let uri = references[0].attr("URI");
            if uri != "#" {
                // BUNDLE_SIGNATURE_DIGSIG_REFERENCE_NOT_UNDERSTOOD
                walk.error(
                    bundle,
                    IssueCode::NotSupported,
                    format!("The reference in the SignedInfo in the digital signature is '{uri}' which is not understood (or correct?)"),
                );
            }
            if let Some(second) = references.get(1) {
                xades_ref = Some(*second);
                let ty = second.attr("Type");
                if ty != XADES_SIGNED_PROPERTIES {
                    // BUNDLE_SIGNATURE_DIGSIG_REFERENCE_TYPE_NOT_UNDERSTOOD
                    walk.error(
                        bundle,
                        IssueCode::NotSupported,
                        format!("The second reference in the SignedInfo in the digital signature has type '{ty}' which is not understood (or correct?)"),
                    );
                }
            }
        }
        _ => {
            // BUNDLE_SIGNATURE_DIGSIG_REFERENCES_TOO_MANY
            walk.error(bundle, IssueCode::NotSupported, "Too many references found in the digital signature SignedInfo - not understood".into());
        }
    }

    // 6. Verification, with the certificate's key.
    let Some(cert) = cert else { return };
    let document = canon.ends_with("#document");
    let to_sign = if xml { canonical_xml(walk, bundle, document) } else { canonical_json(walk, bundle, document) };
    // careplan's canonical form of narrative may not be the reference's.
    let form_trusted = !has_xhtml(bundle);
    let signature_value = dsig.text(&["SignatureValue"]);
    if signature_value.is_none() {
        // BUNDLE_SIGNATURE_DIGSIG_NO_SV
        walk.error(bundle, IssueCode::NotFound, "Didn't find a provided signedValue in the digital signature, so can't verify the signature".into());
    }
    // (Read leniently, as the reference reads it: BUNDLE_SIGNATURE_DIGSIG_INVALID does not arise here.)
    let signature_bytes = signature_value.as_deref().map(decode_lenient);
    let check = Check { cert: &cert, canon: &canon, to_sign: &to_sign, content_ref, xades_ref, form_trusted };
    let verified = match check.verify(walk, bundle, &dsig, signature_bytes.as_deref()) {
        Ok(v) => v,
        Err(e) => {
            // BUNDLE_SIGNATURE_DIGSIG_SIG_ERROR
            walk.error(bundle, IssueCode::Invalid, format!("Error verifying the signature: {e}"));
            false
        }
    };
    if verified {
        // BUNDLE_SIGNATURE_SIG_OK
        walk.inform(bundle, IssueCode::Informational, "The signature verified OK".into());
    } else if form_trusted {
        // BUNDLE_SIGNATURE_SIG_FAIL_CERT
        walk.error(bundle, IssueCode::Value, SIG_FAIL_CERT.into());
        if let Some(signed) = dsig.text(&["SignedBytes"]) {
            signed_bytes_against(walk, bundle, &decode_lenient(&signed), &to_sign);
        }
    }

    // What the signature claims. (As in the reference, who and when are
    // "verified" when the Signature resource confirms them, whatever the
    // signature's own verdict.)
    match (&idv, who_matches) {
        (None, _) => signed_by(walk, bundle, &x500_name(cert.subject(), Style::Rfc2253), false),
        (Some(idv), true) => signed_by(walk, bundle, idv, true),
        (Some(idv), false) => signed_by(walk, bundle, idv, false),
    }
    if let Some(when) = when {
        signed_at(walk, bundle, when, true);
    } else if let (Some(t), None) = (&sig_t, xades_ref) {
        signed_at(walk, bundle, t, false);
    }
    if let Some(p) = &purpose {
        signed_for(walk, bundle, p, purpose_desc.as_deref(), verified && purpose_ok);
    }
}

struct Check<'a> {
    cert: &'a X509Certificate<'a>,
    canon: &'a str,
    to_sign: &'a [u8],
    content_ref: Option<&'a Element>,
    xades_ref: Option<&'a Element>,
    form_trusted: bool,
}

impl Check<'_> {
    /// The digests, then the signature over the SignedInfo the reference
    /// builds: `Err` where verifying could not be done at all.
    fn verify(&self, walk: &mut Walk<'_, '_>, bundle: &Node, dsig: &DigSig<'_>, signature: Option<&[u8]>) -> Result<bool, String> {
        let content_ref = self.content_ref.ok_or("the SignedInfo has no reference to the signed content")?;
        let actual = digest(self.to_sign);
        let expected = content_ref.child("DigestValue").map(Element::text_content).unwrap_or_else(|| "null".into());
        if actual != expected && self.form_trusted {
            // BUNDLE_SIGNATURE_SIG_DIGEST_MISMATCH
            walk.error(
                bundle,
                IssueCode::Value,
                format!("The digest value for the signed content doesn't match the provided content ({actual} vs {expected}). The signature is not valid"),
            );
        }
        let mut xades_digest = None;
        if let Some(xades_ref) = self.xades_ref {
            let (properties, scope) =
                dsig.root.descendant(&["Object", "QualifyingProperties", "SignedProperties"]).ok_or("the signature has no XAdES SignedProperties")?;
            let actual = digest(&xml_c14n::canonicalize(properties, &scope, Method::Exclusive));
            let expected = xades_ref.child("DigestValue").map(Element::text_content).unwrap_or_else(|| "null".into());
            if actual != expected {
                // BUNDLE_SIGNATURE_SIG_DIGEST_MISMATCH_XADES
                walk.error(
                    bundle,
                    IssueCode::Value,
                    format!(
                        "The digest value for the XaDeS signed content doesn't match the provided content ({actual} vs {expected}). The signature is not valid. Check XML canonicalization carefully, particularly with regard to whitespace and namespaces"
                    ),
                );
            }
            xades_digest = Some(actual);
        }
        let (kind, key) = key_of(self.cert)?;
        let signed_info = signed_info(kind == KeyKind::Rsa, self.canon, self.to_sign, xades_digest.as_deref())?;
        let alg = dsig.at(&["SignedInfo", "SignatureMethod"]).map(|m| m.attr("Algorithm")).ok_or("the SignedInfo has no SignatureMethod")?;
        use ring::signature as s;
        let small = match self.cert.public_key().parsed() {
            Ok(x509_parser::public_key::PublicKey::RSA(k)) => k.key_size() < 2048,
            _ => false,
        };
        let algorithm: &dyn s::VerificationAlgorithm = match (alg, small) {
            (RSA_SHA1, false) => &s::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
            (RSA_SHA1, true) => &s::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY,
            (RSA_SHA256, false) => &s::RSA_PKCS1_2048_8192_SHA256,
            (RSA_SHA256, true) => &s::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
            (RSA_SHA512, false) => &s::RSA_PKCS1_2048_8192_SHA512,
            (RSA_SHA512, true) => &s::RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY,
            _ => {
                // The reference verifies RSA signatures only.
                // BUNDLE_SIGNATURE_SIG_FAIL_CERT
                walk.error(bundle, IssueCode::Value, SIG_FAIL_CERT.into());
                return Ok(false);
            }
        };
        if kind != KeyKind::Rsa {
            return Err(format!("the certificate's key is not an RSA key, so it cannot verify a signature made with {alg}"));
        }
        let signature = signature.ok_or("there is no signature value to verify")?;
        Ok(s::UnparsedPublicKey::new(algorithm, key).verify(&signed_info, signature).is_ok())
    }
}

/// The SignedInfo the reference builds for an XML signature of `to_sign`,
/// canonicalized (Canonical XML 1.0): this is what the signer signs.
fn signed_info(rsa: bool, canon: &str, to_sign: &[u8], xades_digest: Option<&str>) -> Result<Vec<u8>, String> {
    let content = xml_c14n::canonicalize_document(to_sign, Method::Inclusive)?;
    let method = if rsa { RSA_SHA256 } else { ECDSA_SHA256 };
    let mut s = String::new();
    s.push_str("<SignedInfo xmlns=\"http://www.w3.org/2000/09/xmldsig#\">\n");
    s.push_str(&format!("    <CanonicalizationMethod Algorithm=\"{}\"/>\n", xml_c14n::INCLUSIVE));
    s.push_str(&format!("    <SignatureMethod Algorithm=\"{method}\"/>\n"));
    s.push_str("    <Reference URI=\"#\">\n      <Transforms>\n");
    s.push_str(&format!("        <Transform Algorithm=\"{canon}\"/>\n"));
    s.push_str("      </Transforms>\n      <DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/>\n");
    s.push_str(&format!("      <DigestValue>{}</DigestValue>\n    </Reference>\n", digest(&content)));
    if let Some(x) = xades_digest {
        s.push_str(&format!("    <Reference Type=\"{XADES_SIGNED_PROPERTIES}\" URI=\"#SignedProperties\">\n"));
        s.push_str("      <DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/>\n");
        s.push_str(&format!("      <DigestValue>{x}</DigestValue>\n    </Reference>\n"));
    }
    s.push_str("  </SignedInfo>");
    xml_c14n::canonicalize_document(s.as_bytes(), Method::Inclusive)
}

/// SHA-256, base64.
fn digest(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(ring::digest::digest(&ring::digest::SHA256, bytes))
}

/// The signed bytes a failed signature came with, against careplan's canonical form.
fn signed_bytes_against(walk: &mut Walk<'_, '_>, bundle: &Node, signed: &[u8], to_sign: &[u8]) {
    if signed == to_sign {
        // BUNDLE_SIGNATURE_DIGSIG_SIGNED_SAME
        walk.inform(
            bundle,
            IssueCode::Value,
            "The signed bytes are identical, so the signature failure is not because the content changed. Check Canonicalization carefully (including whitespace)".into(),
        );
        return;
    }
    // BUNDLE_SIGNATURE_DIGSIG_SIGNED_MISMATCH (the wording BUNDLE_SIGNATURE_PAYLOAD_MISMATCH has too)
    super::signature::content_mismatch(walk, bundle, to_sign.len(), signed.len());
    let mut read = |bytes: &[u8]| match xml_c14n::parse(bytes) {
        Ok(e) => Some(e),
        Err(e) => {
            // BUNDLE_SIGNATURE_DIGSIG_SIGNED_INVALID_XML
            walk.error(bundle, IssueCode::Invalid, format!("The signed bytes provided could not be read - invalid XML Structure ({e})"));
            None
        }
    };
    let theirs = read(signed);
    let ours = read(to_sign);
    let (Some(ours), Some(theirs)) = (ours, theirs) else {
        // The reference then fails comparing what it could not read, and says so again.
        // BUNDLE_SIGNATURE_DIGSIG_SIGNED_INVALID_XML
        walk.error(
            bundle,
            IssueCode::Exception,
            "The signed bytes provided could not be read - invalid XML Structure (the signed bytes and the canonical form cannot be compared)".into(),
        );
        return;
    };
    match xml_c14n::structure_difference(&ours, &theirs) {
        None => {
            // BUNDLE_SIGNATURE_DIGSIG_SIGNED_XML_MATCHES
            walk.inform(
                bundle,
                IssueCode::Informational,
                "The actual XML structures of payload and canonicalized form do match, so the issue is in the canonicalization".into(),
            );
        }
        Some(diff) => {
            // BUNDLE_SIGNATURE_DIGSIG_SIGNED_XML_NO_MATCH
            walk.inform(bundle, IssueCode::Value, format!("The actual XML structures of payload and canonicalized form do not match: {diff}"));
        }
    }
}

/// The Bundle as the reference composes it to sign it as XML: FHIR XML
/// without `Bundle.signature` (nor `Bundle.id` and `Bundle.meta` for the
/// `#document` canonicalization), in Canonical XML 1.0.
pub fn canonical_xml(walk: &Walk<'_, '_>, bundle: &Node, document: bool) -> Vec<u8> {
    let mut json = super::signature::signed_content(walk, bundle, document);
    plain_numbers(&mut json);
    let xml = crate::render::xml::resource_to_xml(&json, walk.ctx);
    xml_c14n::canonicalize_document(xml.as_bytes(), Method::Inclusive).unwrap_or_else(|_| xml.into_bytes())
}

/// Numbers kept exactly become their lexical form again (XML writes them as they were).
fn plain_numbers(v: &mut Value) {
    match v {
        Value::String(s) => {
            if let Some(n) = s.strip_prefix(EXACT_NUMBER) {
                *s = n.to_string();
            }
        }
        Value::Array(items) => items.iter_mut().for_each(plain_numbers),
        Value::Object(m) => m.values_mut().for_each(plain_numbers),
        _ => {}
    }
}
