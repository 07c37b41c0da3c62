//! Validation of writes: the configured profiles are enforced on the
//! resources of their type, and the mode decides what an error does.

use super::config::ValidationMode;
use crate::context::Context;
use crate::issue::Issue;
use crate::tree::Document;
use crate::validator::{Options, Validator};
use std::collections::HashMap;
use std::sync::Arc;

pub struct Checker {
    pub mode: ValidationMode,
    ctx: Arc<Context>,
    plain: Validator,
    /// Resource type → a validator that also applies the profiles on that type.
    profiled: HashMap<String, Validator>,
}

impl Checker {
    /// Fails when a profile is not in the loaded definitions: a server
    /// that silently enforced nothing would be worse than one that does not start.
    pub fn new(ctx: Arc<Context>, profiles: &[String], mode: ValidationMode) -> anyhow::Result<Checker> {
        let mut by_type: HashMap<String, Vec<String>> = HashMap::new();
        for url in profiles {
            let sd = ctx.structure(url).ok_or_else(|| anyhow::anyhow!("the profile {url} is not in the loaded packages; add its package with --ig"))?;
            by_type.entry(sd.type_name.clone()).or_default().push(url.clone());
        }
        let profiled = by_type.into_iter().map(|(t, p)| (t, Validator::new(ctx.clone(), options(p)))).collect();
        Ok(Checker { mode, plain: Validator::new(ctx.clone(), options(Vec::new())), ctx, profiled })
    }

    /// Every issue of a parsed resource, against its type's configured
    /// profiles and any `extra` ones (`$validate?profile=`).
    pub fn check(&self, doc: &Document, res_type: &str, extra: &[String]) -> Vec<Issue> {
        let base = self.profiled.get(res_type).unwrap_or(&self.plain);
        if extra.is_empty() {
            return base.validate_document(doc);
        }
        let mut profiles = base.options().profiles.clone();
        profiles.extend(extra.iter().cloned());
        Validator::new(self.ctx.clone(), options(profiles)).validate_document(doc)
    }
}

/// The server's validation: a RESTful reference (`Patient/1`) in what is
/// written here names a resource of this server, so the type in its URL is
/// its target's type, checked against the element's allowed targets.
fn options(profiles: Vec<String>) -> Options {
    Options { profiles, assume_valid_rest_references: true, ..Options::default() }
}
