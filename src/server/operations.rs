//! `$validate` at system, type and instance level: the resource in the body
//! (bare, or as the `resource` parameter of a Parameters), the `profile`
//! and `mode` parameters, and an OperationOutcome as the answer (200 with
//! the issues: the operation worked even when the resource is invalid).

use super::error::{operation_outcome, FhirError, FhirResult};
use super::format::{self, Parsed};
use super::interactions::{live, resource_of, Reply};
use super::routing::{Interaction, Request};
use super::{note, Service};
use serde_json::Value;

struct Input {
    resource: Option<Parsed>,
    profiles: Vec<String>,
    mode: Option<String>,
}

fn read_input(svc: &Service, req: &Request) -> FhirResult<Input> {
    let mut input = Input { resource: None, profiles: Vec::new(), mode: req.param("mode").map(str::to_string) };
    input.profiles.extend(req.query.iter().filter(|(k, _)| k == "profile").map(|(_, v)| v.clone()));
    if req.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(input);
    }
    let parsed = format::parse_resource(&svc.ctx, &svc.config.limits, &req.body, format::body_format(req.content_type.as_deref()))?;
    if parsed.res_type != "Parameters" {
        input.resource = Some(parsed);
        return Ok(input);
    }
    for p in parsed.json.get("parameter").and_then(Value::as_array).into_iter().flatten() {
        match p.get("name").and_then(Value::as_str) {
            Some("resource") => {
                let r = p.get("resource").ok_or_else(|| FhirError::bad_request("The 'resource' parameter has no resource").at("Parameters.parameter.resource"))?;
                let bytes = serde_json::to_vec(r).map_err(|e| FhirError::bad_request(e.to_string()))?;
                input.resource = Some(format::parse_resource(&svc.ctx, &svc.config.limits, &bytes, Some(crate::tree::Format::Json))?);
            }
            Some("profile") => {
                if let Some(url) = p.get("valueUri").or_else(|| p.get("valueCanonical")).and_then(Value::as_str) {
                    input.profiles.push(url.to_string());
                }
            }
            Some("mode") => input.mode = p.get("valueCode").and_then(Value::as_str).map(str::to_string),
            _ => {}
        }
    }
    Ok(input)
}

pub fn validate(svc: &Service, interaction: &Interaction, req: &Request) -> FhirResult<Reply> {
    let input = read_input(svc, req)?;
    for url in &input.profiles {
        if svc.ctx.structure(url).is_none() {
            return Err(FhirError::bad_request(format!("The profile {url} is not known to this server; load its package with --ig")));
        }
    }
    let mode = input.mode.as_deref().unwrap_or("");
    if !matches!(mode, "" | "create" | "update" | "delete" | "profile") {
        return Err(FhirError::bad_request(format!("mode={mode}: expected create, update, delete or profile")));
    }
    let (type_name, instance) = match interaction {
        Interaction::ValidateType(t) => (Some(t.clone()), None),
        Interaction::ValidateInstance(t, id) => (Some(t.clone()), Some(id.clone())),
        _ => (None, None),
    };
    if let Some(t) = &type_name {
        svc.check_type(t)?;
    }
    if mode == "delete" {
        let (Some(t), Some(id)) = (&type_name, &instance) else { return Err(FhirError::bad_request("mode=delete needs an instance: POST /{type}/{id}/$validate?mode=delete")) };
        svc.store.read(|c| live(c, t, id))?;
        return Ok(Reply::body(200, operation_outcome(&[note(format!("{t}/{id} exists and nothing in this server stops its deletion"))])));
    }
    let parsed = match (input.resource, &type_name, &instance) {
        (Some(p), _, _) => p,
        (None, Some(t), Some(id)) => {
            let stored = svc.store.read(|c| live(c, t, id))?;
            let bytes = serde_json::to_vec(&resource_of(&stored)?).map_err(super::store::internal)?;
            format::parse_resource(&svc.ctx, &svc.config.limits, &bytes, Some(crate::tree::Format::Json))?
        }
        _ => return Err(FhirError::bad_request("$validate needs a resource: send it as the body, or as the 'resource' parameter of a Parameters resource")),
    };
    if let Some(t) = &type_name {
        if &parsed.res_type != t {
            return Err(FhirError::bad_request(format!("The resource is a {} but this is {t}/$validate", parsed.res_type)));
        }
    }
    if let (Some(id), "update") = (&instance, mode) {
        if parsed.json.get("id").and_then(Value::as_str) != Some(id.as_str()) {
            return Err(FhirError::bad_request(format!("mode=update: the resource's id must be '{id}'")));
        }
    }
    svc.check_type(&parsed.res_type)?;
    let issues = svc.checker.check(&parsed.doc, &parsed.res_type, &input.profiles);
    let mut outcome = operation_outcome(&issues);
    if issues.is_empty() {
        outcome = operation_outcome(&[note("No issues detected during validation")]);
    }
    Ok(Reply::body(200, outcome))
}
