//! Which interaction a request is: from its method and path only, so that
//! HTTP requests and the entries of batch and transaction Bundles are told
//! apart the same way.

use super::error::{FhirError, FhirResult};

/// The `Prefer: return=` choice of what a write answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Return {
    Minimal,
    Representation,
    OperationOutcome,
}

/// A request as the interactions see it, whether it came over HTTP or in a Bundle entry.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    /// The path below the server's base, without leading or trailing slashes.
    pub path: String,
    pub query: Vec<(String, String)>,
    pub if_match: Option<String>,
    pub if_none_exist: Option<String>,
    /// `If-None-Match` of a read: the ETag the client already has.
    pub if_none_match: Option<String>,
    pub prefer: Return,
    /// `Prefer: handling=strict`: unknown search parameters are errors, not ignored.
    pub strict: bool,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
    /// `http://host:port`, for `fullUrl`, `Location` and paging links.
    pub base: String,
    /// The id a transaction assigned in advance (so `urn:uuid` references can point at it).
    pub assigned_id: Option<String>,
    /// Who is asking (the HTTP layer sets it from the token; Bundle entries
    /// carry their Bundle's). A request built in code is `Requester::nobody()`
    /// and may do nothing until it is given one.
    pub requester: std::sync::Arc<super::auth::Requester>,
    /// What the answer may still carry. The HTTP layer gives each request
    /// the configured budget and a batch shares its own with its entries;
    /// a request built in code gets the default.
    pub budget: std::sync::Arc<super::limits::Budget>,
    /// Set on the entries of a batch: their audit records are gathered into
    /// the batch's one AuditEvent (a write's own is still written with it).
    pub gathered_audit: Option<std::sync::Arc<parking_lot::Mutex<Vec<super::audit::Record>>>>,
    /// The instant a transaction stamps on every version it writes (one
    /// `meta.lastUpdated` for all of them, as one change); a single request
    /// takes the time of its own write.
    pub moment: Option<i64>,
    /// Set by `$from-prsb?store=true` on the transaction it builds (never
    /// from a client's request): the one path, besides the data controller,
    /// that may give a resource our plan and plan-item identifiers.
    pub via_prsb_store: bool,
}

impl Request {
    pub fn new(method: &str, url: &str, base: &str) -> Request {
        let (path, query) = url.split_once('?').unwrap_or((url, ""));
        Request {
            method: method.to_ascii_uppercase(),
            path: path.trim_matches('/').to_string(),
            query: url::form_urlencoded::parse(query.as_bytes()).into_owned().collect(),
            if_match: None,
            if_none_exist: None,
            if_none_match: None,
            prefer: Return::Representation,
            strict: false,
            content_type: None,
            body: Vec::new(),
            base: base.trim_end_matches('/').to_string(),
            assigned_id: None,
            requester: std::sync::Arc::new(super::auth::Requester::nobody()),
            budget: super::limits::Budget::new(super::limits::DEFAULT_MAX_RESPONSE_BYTES),
            gathered_audit: None,
            moment: None,
            via_prsb_store: false,
        }
    }

    pub fn param(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The query without the paging and format parameters: for links, and as conditional criteria.
    pub fn query_string(&self) -> String {
        url::form_urlencoded::Serializer::new(String::new()).extend_pairs(self.query.iter().filter(|(k, _)| k != "_offset" && k != "_format")).finish()
    }
}

/// Whether `Prefer` asks for `handling=strict`.
pub fn prefers_strict(header: Option<&str>) -> bool {
    header.is_some_and(|h| h.split([',', ';']).any(|p| p.trim() == "handling=strict"))
}

pub fn parse_prefer(header: Option<&str>) -> Return {
    let Some(h) = header else { return Return::Representation };
    for part in h.split([',', ';']) {
        match part.trim().strip_prefix("return=").map(|v| v.trim_matches('"')) {
            Some("minimal") => return Return::Minimal,
            Some("OperationOutcome") => return Return::OperationOutcome,
            Some("representation") => return Return::Representation,
            _ => {}
        }
    }
    Return::Representation
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Interaction {
    Capabilities,
    /// POST of a batch or transaction Bundle to the base.
    Batch,
    HistorySystem,
    ValidateSystem,
    Search(String),
    Create(String),
    ConditionalUpdate(String),
    HistoryType(String),
    ValidateType(String),
    Read(String, String),
    Update(String, String),
    Patch(String, String),
    Delete(String, String),
    HistoryInstance(String, String),
    Vread(String, String, String),
    ValidateInstance(String, String),
    /// `$from-prsb`: a PRSB plan in, its Bundle out (or stored, with `store=true`).
    FromPrsb,
    /// `CarePlan/{id}/$prsb`: the PRSB view of a stored plan.
    PrsbView(String),
    /// `CarePlan/{id}/$everything`: the plan and every resource it links to, as a searchset Bundle.
    Everything(String),
}

impl Interaction {
    /// Whether this interaction changes the store.
    pub fn writes(&self) -> bool {
        matches!(self, Interaction::Create(_) | Interaction::ConditionalUpdate(_) | Interaction::Update(..) | Interaction::Patch(..) | Interaction::Delete(..))
    }

    /// Whether its body is a resource to parse and validate before the write.
    pub fn takes_resource(&self) -> bool {
        matches!(self, Interaction::Create(_) | Interaction::ConditionalUpdate(_) | Interaction::Update(..))
    }
}

fn resource_type(segment: &str) -> FhirResult<String> {
    if segment.starts_with(|c: char| c.is_ascii_uppercase()) && segment.chars().all(|c| c.is_ascii_alphanumeric()) {
        Ok(segment.to_string())
    } else {
        Err(FhirError::not_found(format!("'{segment}' is not a resource type; paths look like /Patient, /Patient/123, /Patient/123/_history/2")))
    }
}

fn id(segment: &str) -> FhirResult<String> {
    check_id(segment)?;
    Ok(segment.to_string())
}

/// A resource id this server accepts: FHIR's `[A-Za-z0-9\-\.]{1,64}`, but
/// never `.` or `..`, which URL-normalising clients, proxies and the
/// `--forward` upstream would read as "this folder" or "the one above".
/// Every id from a URL, a Bundle entry or a body passes here before it is
/// stored (see `interactions::commit`).
pub fn check_id(id: &str) -> FhirResult<()> {
    let shape = !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    if !shape {
        let shown: String = id.chars().take(80).collect();
        return Err(FhirError::bad_request(format!("'{shown}' is not a valid resource id: ids are 1 to 64 letters, digits, '-' and '.'")));
    }
    if id == "." || id == ".." {
        return Err(FhirError::bad_request(format!("'{id}' is not a valid resource id: '.' and '..' are path steps, not ids; choose an id with a letter or digit")));
    }
    Ok(())
}

pub fn route(method: &str, path: &str) -> FhirResult<Interaction> {
    use Interaction as I;
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let not_allowed = || FhirError::new(405, crate::issue::IssueCode::NotSupported, format!("{method} is not supported on /{path}"));
    Ok(match (method, segments.as_slice()) {
        ("GET", ["metadata"]) => I::Capabilities,
        ("POST", []) => I::Batch,
        ("GET", ["_history"]) => I::HistorySystem,
        ("POST", ["$validate"]) => I::ValidateSystem,
        ("POST", ["$from-prsb"]) => I::FromPrsb,
        ("GET", [t]) => I::Search(resource_type(t)?),
        ("POST", [t, "_search"]) => I::Search(resource_type(t)?),
        ("POST", [t]) => I::Create(resource_type(t)?),
        ("PUT", [t]) => I::ConditionalUpdate(resource_type(t)?),
        ("GET", [t, "_history"]) => I::HistoryType(resource_type(t)?),
        ("POST", [t, "$validate"]) => I::ValidateType(resource_type(t)?),
        ("GET", [t, i]) => I::Read(resource_type(t)?, id(i)?),
        ("PUT", [t, i]) => I::Update(resource_type(t)?, id(i)?),
        ("PATCH", [t, i]) => I::Patch(resource_type(t)?, id(i)?),
        ("DELETE", [t, i]) => I::Delete(resource_type(t)?, id(i)?),
        ("GET", [t, i, "_history"]) => I::HistoryInstance(resource_type(t)?, id(i)?),
        ("GET", [t, i, "_history", v]) => I::Vread(resource_type(t)?, id(i)?, v.to_string()),
        ("POST" | "GET", ["CarePlan", i, "$prsb"]) => I::PrsbView(id(i)?),
        ("POST" | "GET", ["CarePlan", i, "$everything"]) => I::Everything(id(i)?),
        ("POST", [t, i, "$validate"]) => I::ValidateInstance(resource_type(t)?, id(i)?),
        (_, [] | ["metadata"] | ["_history"] | [_] | [_, _] | [_, _, "_history"] | [_, _, "_history", _]) => return Err(not_allowed()),
        _ => return Err(FhirError::not_found(format!("No such interaction: {method} /{path}"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_their_interaction() {
        assert_eq!(route("GET", "Goal/g1/_history/2").unwrap(), Interaction::Vread("Goal".into(), "g1".into(), "2".into()));
        assert_eq!(route("POST", "Goal/$validate").unwrap(), Interaction::ValidateType("Goal".into()));
        assert_eq!(route("PUT", "Patient").unwrap(), Interaction::ConditionalUpdate("Patient".into()));
        assert_eq!(route("DELETE", "Patient").unwrap_err().status, 405);
        assert_eq!(route("GET", "patient/1").unwrap_err().status, 404);
        assert_eq!(parse_prefer(Some("return=minimal")), Return::Minimal);
        assert_eq!(parse_prefer(Some("handling=strict; return=OperationOutcome")), Return::OperationOutcome);
        assert!(prefers_strict(Some("handling=strict; return=OperationOutcome")));
        assert!(!prefers_strict(Some("handling=lenient")));
        assert_eq!(route("GET", "CarePlan/p1/$everything").unwrap(), Interaction::Everything("p1".into()));
        assert_eq!(route("POST", "CarePlan/p1/$everything").unwrap(), Interaction::Everything("p1".into()));
        assert_eq!(route("GET", "Goal/g1/$everything").unwrap_err().status, 404);
    }

    #[test]
    fn dot_ids_are_refused_wherever_an_id_is_routed() {
        for path in ["Patient/..", "Patient/.", "Patient/%2E%2E", "Patient/../_history", "Patient/./$validate", "CarePlan/../$prsb", "CarePlan/../$everything"] {
            for method in ["GET", "PUT", "DELETE", "POST"] {
                if let Err(e) = route(method, path) {
                    assert!(e.status == 400 || e.status == 405 || e.status == 404, "{method} {path}: {}", e.status);
                    continue;
                }
                panic!("{method} {path} was routed");
            }
        }
        assert_eq!(route("PUT", "Patient/..").unwrap_err().status, 400);
        assert!(check_id("a.b").is_ok() && check_id("...").is_ok() && check_id(&"a".repeat(64)).is_ok());
        assert!(check_id("").is_err() && check_id(&"a".repeat(65)).is_err());
    }
}
