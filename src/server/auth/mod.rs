//! Who is asking: a bearer token checked by [`token::Verifier`], read into
//! a [`Requester`] (subject, `fhirUser`, patient context, SMART scopes,
//! roles, purpose of use), or everyone in open mode. `scopes` says what a
//! token may do, `compartment` which resources belong to which person,
//! `jose` what of a token we read ourselves (critical headers, duplicate
//! claims).

pub mod compartment;
pub mod concern;
mod jose;
pub mod scopes;
pub mod token;

use scopes::Scopes;
use serde_json::{Map, Value};

/// The claim naming the requester's roles (a string or an array).
pub const ROLE_CLAIM: &str = "careplan_role";
/// The role that may release restricted content (override).
pub const DATA_CONTROLLER: &str = "data-controller";
/// The header stating the purpose of use of one request (HL7 v3 ActReason codes: TREAT, ETREAT, BTG, ...).
pub const PURPOSE_HEADER: &str = "x-careplan-purpose-of-use";
/// The header stating why an override is needed.
pub const REASON_HEADER: &str = "x-careplan-override-reason";
/// The purpose of use that asks for an override: break the glass.
pub const OVERRIDE_PURPOSE: &str = "BTG";

/// The person or system behind a request.
#[derive(Clone, Debug, Default)]
pub struct Requester {
    /// `sub` of the token; `anonymous` in open mode.
    pub subject: String,
    pub issuer: Option<String>,
    pub client_id: Option<String>,
    /// `fhirUser` as `Type/id` (e.g. `Practitioner/p1`).
    pub fhir_user: Option<String>,
    /// The patient context (`patient` claim), an id.
    pub patient: Option<String>,
    pub scopes: Scopes,
    pub roles: Vec<String>,
    /// The purpose of use of this request: one of the token's (`purpose_of_use`
    /// claim), chosen by the request header if it names one, or BTG.
    pub purpose: Option<String>,
    /// Every purpose of use the token carries.
    pub purposes: Vec<String>,
    /// A purpose the request header asked for that the token does not carry (refused by `access`).
    pub refused_purpose: Option<String>,
    /// The override reason header.
    pub reason: Option<String>,
    /// The client's network address.
    pub address: Option<String>,
}

impl Requester {
    /// Open mode: no token, every scope, no consent filtering.
    pub fn open() -> Requester {
        Requester { subject: "anonymous".into(), scopes: Scopes::open(), ..Requester::default() }
    }

    /// Nobody: no scope at all (the default of a request built in code).
    pub fn nobody() -> Requester {
        Requester { subject: "nobody".into(), ..Requester::default() }
    }

    pub fn is_open(&self) -> bool {
        self.scopes.open
    }

    pub fn from_claims(claims: &Map<String, Value>) -> Result<Requester, String> {
        let strings = |name: &str| -> Vec<String> {
            match claims.get(name) {
                Some(Value::String(s)) => vec![s.clone()],
                Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(str::to_string).collect(),
                _ => Vec::new(),
            }
        };
        let one = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_string);
        let Some(subject) = one("sub").filter(|s| !s.is_empty()) else { return Err("the token has no 'sub' claim".into()) };
        // `scope` (SMART), else `scp` (some IdPs): never both, so no claim adds to another.
        let scope_claims = single_scopes(claims.get("scope").or_else(|| claims.get("scp")));
        let scopes = Scopes::parse(scope_claims.iter().map(String::as_str));
        let patient = one("patient").map(|p| p.rsplit('/').next().unwrap_or(&p).to_string()).filter(|p| !p.is_empty());
        if scopes.has_patient_context() && patient.is_none() {
            return Err("the token has patient/ scopes but no 'patient' claim naming the patient".into());
        }
        let fhir_user = one("fhirUser").map(|u| match crate::server::search::index::parse_reference(&u) {
            Some((t, id)) => format!("{t}/{id}"),
            None => u,
        });
        Ok(Requester {
            subject,
            issuer: one("iss"),
            client_id: one("client_id").or_else(|| one("azp")),
            fhir_user,
            patient,
            scopes,
            roles: strings(ROLE_CLAIM),
            purpose: strings("purpose_of_use").into_iter().next(),
            purposes: strings("purpose_of_use"),
            refused_purpose: None,
            reason: None,
            address: None,
        })
    }

    /// The request header's purpose of use: it may narrow the token's
    /// purposes to one of them, or ask for an override (BTG, under the
    /// override rules); any other purpose is refused, never taken on the
    /// client's word.
    pub fn ask_purpose(&mut self, asked: &str) {
        if asked == OVERRIDE_PURPOSE || self.purposes.iter().any(|p| p == asked) || self.is_open() {
            self.purpose = Some(asked.to_string());
        } else {
            self.refused_purpose = Some(asked.to_string());
        }
    }

    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    /// Whether this request asks to release restricted content.
    pub fn asks_override(&self) -> bool {
        self.purpose.as_deref() == Some(OVERRIDE_PURPOSE)
    }

    /// Whether this request releases restricted content: a data controller,
    /// purpose of use BTG, and a stated reason.
    pub fn overrides(&self) -> bool {
        self.asks_override() && self.has_role(DATA_CONTROLLER) && self.reason.as_deref().is_some_and(|r| !r.trim().is_empty())
    }

    /// Whether this requester is the person `patient` (whose own record is never withheld from them).
    pub fn is_person(&self, patient: &str) -> bool {
        self.fhir_user.as_deref() == Some(&format!("Patient/{patient}"))
    }
}

/// The scopes of a `scope` claim: a string is space-separated (RFC 6749
/// §3.3); a JSON array holds one scope an item, and an item that is not
/// one scope grants nothing.
fn single_scopes(claim: Option<&Value>) -> Vec<String> {
    match claim {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).filter(|s| !s.contains(' ')).map(str::to_string).collect(),
        _ => Vec::new(),
    }
}

/// How requests are authenticated.
pub enum Auth {
    /// `--open`: nobody is asked for a token.
    Open,
    Tokens(token::Verifier),
}

impl Auth {
    /// The requester of an `Authorization` header; `Err` is a 401's reason.
    pub fn authenticate(&self, authorization: Option<&str>) -> Result<Requester, String> {
        let verifier = match self {
            Auth::Open => return Ok(Requester::open()),
            Auth::Tokens(v) => v,
        };
        let Some(header) = authorization else { return Err("no bearer token: send Authorization: Bearer <JWT>".into()) };
        let Some(token) = header.strip_prefix("Bearer ").or_else(|| header.strip_prefix("bearer ")).map(str::trim).filter(|t| !t.is_empty()) else {
            return Err("the Authorization header is not 'Bearer <token>'".into());
        };
        let claims = verifier.verify(token)?;
        Requester::from_claims(&claims)
    }
}
