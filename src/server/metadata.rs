//! `/metadata`: the CapabilityStatement in the repository root, compiled in.
//! [`describe`] builds the same statement from what the server really
//! implements (the interactions routed here and the SearchParameters in the
//! loaded packages); a test compares the two so they cannot drift apart.

use super::search::{ParamType, Registry};
use serde_json::{json, Value};
use std::sync::OnceLock;

const STATEMENT: &str = include_str!("../../CapabilityStatement.json");

/// The resource types the statement describes (the server stores any R4
/// type; these are the ones the care plan facade is tested with).
pub const RESOURCE_TYPES: &[&str] = &[
    "CarePlan",
    "CareTeam",
    "Condition",
    "Consent",
    "DocumentReference",
    "Encounter",
    "Goal",
    "Observation",
    "Organization",
    "Patient",
    "Practitioner",
    "PractitionerRole",
    "Provenance",
    "RelatedPerson",
    "ServiceRequest",
];

/// Interactions on every resource type (`routing::route` implements each).
pub const TYPE_INTERACTIONS: &[&str] = &["read", "vread", "update", "patch", "delete", "history-instance", "history-type", "create", "search-type"];
/// Interactions on the whole server.
pub const SYSTEM_INTERACTIONS: &[&str] = &["transaction", "batch", "history-system"];
pub const VALIDATE_OPERATION: &str = "http://hl7.org/fhir/OperationDefinition/Resource-validate";
/// Parameters every type has, answered from the store's own columns or the index.
pub const COMMON_PARAMS: &[&str] = &["_id", "_lastUpdated", "_profile", "_tag", "_security"];

/// How access works, as the statement says it.
pub const SECURITY: &str = "Bearer JWTs (RS256 with the configured JWKS, or HS256) with SMART on FHIR v1 and v2 scopes in the patient, user and system contexts; patient-scoped tokens reach only their patient's compartment. The person's active Consent resources and confidentiality labels R and V decide what is shown; withheld items are left out and the answer is marked (X-Careplan-Filtered: true). A data controller may release them for one request (X-Careplan-Purpose-Of-Use: BTG with X-Careplan-Override-Reason). Every read, search, write, override and refusal is recorded as an AuditEvent, which the API cannot change or delete.";
/// What /metadata says instead in open mode.
pub const OPEN_MODE: &str = "OPEN MODE: this server was started with --open, for local development only. It asks for no token, applies no scopes and no consent: anyone who can reach it can read and change everything. Requests are still audited.";

pub fn capability_statement() -> &'static Value {
    static PARSED: OnceLock<Value> = OnceLock::new();
    PARSED.get_or_init(|| serde_json::from_str(STATEMENT).unwrap_or_else(|e| json!({"resourceType": "OperationOutcome", "issue": [{"severity": "fatal", "code": "exception", "details": {"text": format!("CapabilityStatement.json is not JSON: {e}")}}]})))
}

/// The statement as this server runs: `updateCreate` follows
/// `--no-update-create`; in open mode the security description says so.
pub fn served(config: &super::config::ServerConfig) -> Value {
    let mut statement = capability_statement().clone();
    if config.open {
        statement["rest"][0]["security"]["description"] = json!(OPEN_MODE);
    }
    if !config.update_create {
        for resource in statement.pointer_mut("/rest/0/resource").and_then(Value::as_array_mut).into_iter().flatten() {
            resource["updateCreate"] = Value::Bool(false);
        }
    }
    statement
}

fn search_param(code: &str, url: &str, kind: &str) -> Value {
    json!({"name": code, "definition": url, "type": kind})
}

/// The searchable parameters of a type, by code (those with an index this server fills).
pub fn searchable(registry: &Registry, res_type: &str) -> Vec<(String, String, &'static str)> {
    let mut out: Vec<(String, String, &'static str)> = registry
        .params(res_type)
        .into_iter()
        .filter(|p| p.kind.searchable() && !COMMON_PARAMS.contains(&p.code.as_str()))
        .map(|p| (p.code.clone(), p.url.clone(), p.kind.as_str()))
        .collect();
    out.sort();
    out
}

/// The operations a resource type answers at type and instance level.
fn operations_of(resource_type: &str) -> Vec<Value> {
    let mut out = vec![json!({"name": "validate", "definition": VALIDATE_OPERATION})];
    if resource_type == "CarePlan" {
        out.push(json!({"name": "prsb", "definition": crate::profiles::url("OperationDefinition", "prsb")}));
        out.push(json!({"name": "everything", "definition": crate::profiles::url("OperationDefinition", "careplan-everything")}));
    }
    out
}

/// The statement that describes this server, built from its code and its packages.
pub fn describe(registry: &Registry, version: &str, date: &str) -> Value {
    let interactions: Vec<Value> = TYPE_INTERACTIONS.iter().map(|c| json!({"code": c})).collect();
    let resources: Vec<Value> = RESOURCE_TYPES
        .iter()
        .map(|t| {
            let params: Vec<Value> = searchable(registry, t).iter().map(|(code, url, kind)| search_param(code, url, kind)).collect();
            let references: Vec<String> = registry.params(t).iter().filter(|p| p.kind == ParamType::Reference).map(|p| format!("{t}:{}", p.code)).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
            json!({
                "type": t,
                "interaction": interactions,
                "versioning": "versioned-update",
                "readHistory": true,
                "updateCreate": true,
                "conditionalCreate": true,
                "conditionalRead": "not-match",
                "conditionalUpdate": true,
                "conditionalDelete": "not-supported",
                "referencePolicy": ["literal", "local"],
                "searchInclude": references,
                "searchRevInclude": ["Provenance:target"],
                "searchParam": params,
                "operation": operations_of(t),
            })
        })
        .collect();
    let common: Vec<Value> = [
        ("_id", "http://hl7.org/fhir/SearchParameter/Resource-id", "token"),
        ("_lastUpdated", "http://hl7.org/fhir/SearchParameter/Resource-lastUpdated", "date"),
        ("_profile", "http://hl7.org/fhir/SearchParameter/Resource-profile", "uri"),
        ("_tag", "http://hl7.org/fhir/SearchParameter/Resource-tag", "token"),
        ("_security", "http://hl7.org/fhir/SearchParameter/Resource-security", "token"),
    ]
    .iter()
    .map(|(c, u, k)| search_param(c, u, k))
    .collect();
    json!({
        "resourceType": "CapabilityStatement",
        "id": "careplan",
        "name": "CareplanServer",
        "title": "careplan serve",
        "status": "active",
        "date": date,
        "kind": "instance",
        "software": {"name": "careplan", "version": version},
        "implementation": {"description": "careplan serve: a FHIR R4 server that validates every write against the configured profiles, keeps every version, searches by the R4 SearchParameters, and can forward accepted writes to an upstream server. Any R4 resource type can be stored and searched; the types listed are those the care plan facade is built and tested for."},
        "fhirVersion": "4.0.1",
        "format": ["json", "xml"],
        "patchFormat": ["application/json-patch+json"],
        "rest": [{
            "mode": "server",
            "documentation": "Validation before storage (422 with an OperationOutcome on error); ETag/If-Match (412 on conflict); Prefer return=minimal|representation|OperationOutcome; _format, Accept and Content-Type for JSON and XML. $from-prsb maps a PRSB care and support plan (application/json) to its transaction Bundle, or stores it with store=true; CarePlan/{id}/$prsb answers a stored plan in the PRSB format (application/json): the active view by default, includeArchived=true for the whole plan, version or _at for an earlier version. CarePlan/{id}/$everything answers the stored plan and every resource it links to (the resources the PRSB view is read from) as a searchset Bundle, each judged by the access layer as a read of it would be. Search parameters of careplan's own (SearchParameter CarePlan-supporting-info, Goal-addresses) reach what R4 does not index: CarePlan?_include=CarePlan:supporting-info, Goal?addresses=Condition/1. A Binary is read as its raw bytes when Accept names its contentType or no FHIR format, and a raw POST /Binary or PUT /Binary/{id} with a non-FHIR Content-Type stores the body as a Binary of that type.",
            "resource": resources,
            "interaction": SYSTEM_INTERACTIONS.iter().map(|c| json!({"code": c})).collect::<Vec<_>>(),
            "security": {
                "cors": false,
                "service": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/restful-security-service", "code": "SMART-on-FHIR"}], "text": "SMART on FHIR bearer tokens"}],
                "description": SECURITY,
            },
            "searchParam": common,
            "operation": [
                {"name": "validate", "definition": VALIDATE_OPERATION},
                {"name": "from-prsb", "definition": crate::profiles::url("OperationDefinition", "from-prsb")},
            ],
        }],
    })
}
