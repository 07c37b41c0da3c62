//! What is refused before a request's body is read.
//!
//! A body costs memory and time while it arrives, so it is read only when
//! it could be used: its declared length is within `--max-body-bytes`, and
//! the (already authenticated) token has a scope that could permit the
//! interaction it is sent to at all. The full check, against the body and
//! the stored data, is still the access layer's (`access::Gate::authorize`);
//! this one only says no earlier, with the same reasons.

use super::access;
use super::auth::scopes::Grant;
use super::auth::Requester;
use super::error::{FhirError, FhirResult};
use super::routing::{self, Interaction};
use super::Service;
use crate::issue::IssueCode;

/// The methods whose requests carry a body worth refusing early.
fn carries_body(method: &str) -> bool {
    matches!(method, "POST" | "PUT" | "PATCH")
}

pub fn before_body(svc: &Service, requester: &Requester, method: &str, path: &str, store_param: bool, content_length: Option<u64>) -> FhirResult<()> {
    let limit = svc.config.max_body_bytes;
    if content_length.is_some_and(|n| n > limit as u64) {
        return Err(too_large(limit));
    }
    if requester.is_open() || !carries_body(method) {
        return Ok(());
    }
    // A path that names no interaction is refused as before, by the router.
    let Ok(interaction) = routing::route(method, path.trim_matches('/')) else { return Ok(()) };
    // Writes to the audit trail are refused whatever the scopes (405), by the access layer.
    if access::interaction_type(&interaction) == Some(super::audit::AUDIT_TYPE) {
        return Ok(());
    }
    match interaction {
        // Every entry of a batch or transaction needs a scope of some kind.
        Interaction::Batch if requester.scopes.list.is_empty() => {
            Err(access::forbidden("This token has no scopes, and every entry of a batch or transaction needs one (e.g. user/Patient.rs); the body was not read"))
        }
        // $from-prsb only maps unless asked to store.
        Interaction::FromPrsb if !store_param => Ok(()),
        _ => match access::needs(&interaction) {
            Some((t, p)) if requester.scopes.grant(t, p) == Grant::None => Err(access::forbidden(format!(
                "This token has no scope that allows {} on {t} (e.g. user/{t}.{}), so the body was not read",
                p.name(),
                p.letter()
            ))),
            _ => Ok(()),
        },
    }
}

pub fn too_large(limit: usize) -> FhirError {
    FhirError::new(413, IssueCode::TooLong, format!("The body is larger than this server's limit of {limit} bytes (--max-body-bytes); split it (e.g. smaller transaction Bundles)"))
}

