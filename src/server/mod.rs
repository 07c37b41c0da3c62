//! `careplan serve`: a FHIR R4 REST server over the validator.
//!
//! Every write is parsed and validated (against the configured profiles of
//! its type) before it reaches the store; the store keeps every version in
//! SQLite, with search index rows computed from the loaded SearchParameters
//! and, when forwarding is on, an outbox row in the same transaction.
//!
//! Modules: `config` (settings), `routing` (method + path → interaction),
//! `interactions` (read, create, update, patch, delete, history over one
//! store transaction), `bundle` (batch and transaction), `search/` (index
//! rows and queries), `pages` (searchset and history Bundles), `operations`
//! (`$validate`), `prsb_ops` (`$from-prsb`, `CarePlan/{id}/$prsb`),
//! `plan_closure` (the resources of one plan, and
//! `CarePlan/{id}/$everything`), `metadata` (the CapabilityStatement), `subset`
//! (`_summary`, `_elements`), `store` and
//! `outbox` (SQL), `forward` (the upstream sender), `format` (the wire),
//! `http` (actix-web: request ids, logs, health, shutdown).
//!
//! Security: `auth/` (bearer tokens, SMART scopes, the patient
//! compartment), `consent` (consent and confidentiality labels), `access`
//! (the layer every request passes: authorize, guard writes, filter
//! answers), `audit` (an AuditEvent per request), `limits` (input limits
//! and answer budgets), `admission` (what is refused before a body is
//! read), `connections` (slow clients).

pub mod access;
pub mod admission;
pub mod audit;
pub mod auth;
pub mod bench;
pub mod bundle;
pub mod clock;
pub mod config;
pub mod connections;
pub mod consent;
pub mod error;
pub mod format;
pub mod forward;
pub mod http;
pub mod interactions;
pub mod limits;
pub mod metadata;
pub mod operations;
pub mod outbox;
pub mod pages;
pub mod plan_closure;
pub mod prsb_ops;
pub mod prsb_post;
pub mod references;
pub mod routing;
pub mod search;
pub mod store;
pub mod subset;
pub mod validation;

use crate::context::Context;
use crate::issue::{Issue, IssueCode};
use config::{ServerConfig, ValidationMode};
use error::{FhirError, FhirResult};
use format::Parsed;
use search::index::IndexRow;
use serde_json::Value;
use std::sync::Arc;

/// Everything a request needs: definitions, store, search registry, validation.
pub struct Service {
    pub ctx: Arc<Context>,
    pub config: ServerConfig,
    pub store: store::Store,
    pub registry: search::Registry,
    pub checker: validation::Checker,
    /// Wakes the forwarder after a commit that queued something.
    pub outbox_signal: Arc<forward::Signal>,
    pub summaries: subset::SummaryElements,
    /// How requests are authenticated (tokens, or open mode).
    pub auth: auth::Auth,
    /// Repeated refusals of one client, recorded once per interval with a count.
    pub refusals: audit::Throttle,
}

/// A resource parsed, validated and indexed, ready to be stored.
pub struct Prepared {
    pub res_type: String,
    pub json: Value,
    pub index: Vec<IndexRow>,
    /// Validation issues that did not stop the write (warnings, or errors in `warn` mode).
    pub issues: Vec<Issue>,
    /// Whom it concerns and what it refers to (`auth::concern`).
    pub concern: auth::concern::Concern,
    /// For a patch prepared before the write: the version it was applied to.
    pub patched: Option<store::Version>,
}

impl Service {
    /// Loads the definitions (R4, careplan's PRSB profiles, and the
    /// configured packages), then opens the store.
    pub fn open(config: ServerConfig) -> anyhow::Result<Service> {
        // Settings that cannot work stop the server before the (slow) load.
        let auth = Service::authentication(&config)?;
        let mut load = crate::loader::LoadOptions { igs: config.packages.clone(), offline: config.offline, careplan_profiles: true, ..Default::default() };
        if let Some(cache) = &config.cache {
            load.cache = cache.clone();
        }
        let ctx = Arc::new(crate::loader::load(&load)?);
        Service::assemble(config, ctx, auth)
    }

    pub fn with_context(config: ServerConfig, ctx: Arc<Context>) -> anyhow::Result<Service> {
        let auth = Service::authentication(&config)?;
        Service::assemble(config, ctx, auth)
    }

    /// `--auth` or `--open`: exactly one of them.
    fn authentication(config: &ServerConfig) -> anyhow::Result<auth::Auth> {
        Ok(match (&config.auth, config.open) {
            (Some(_), true) => anyhow::bail!("--auth and --open contradict each other: choose one"),
            (None, false) => anyhow::bail!(
                "careplan serve needs --auth (jwks:PATH, jwks-url:URL, hs256:SECRET or hs256:env:VARIABLE) to check bearer tokens; for local development only, --open serves without authentication"
            ),
            (None, true) => auth::Auth::Open,
            (Some(spec), false) => {
                let source = auth::token::KeySource::parse(spec)?;
                auth::Auth::Tokens(auth::token::Verifier::new(&source, config.auth_issuer.clone(), config.auth_audience.clone())?)
            }
        })
    }

    fn assemble(config: ServerConfig, ctx: Arc<Context>, auth: auth::Auth) -> anyhow::Result<Service> {
        let checker = validation::Checker::new(ctx.clone(), &config.profiles, config.validation)?;
        let registry = search::Registry::load(&ctx);
        let store = store::Store::open(&config.database)?;
        let refusals = audit::Throttle::new(config.audit_repeat_interval);
        let svc = Service { ctx, config, store, registry, checker, outbox_signal: Arc::new(forward::Signal::default()), summaries: subset::SummaryElements::default(), auth, refusals };
        svc.complete_concerns().map_err(|e| anyhow::anyhow!("the store's access rows could not be brought up to date: {}", e.issues.first().map(|i| i.message.as_str()).unwrap_or("")))?;
        Ok(svc)
    }

    /// A database written by an earlier careplan has no `concern` and
    /// `link` rows, on which access decides: they are computed once, from
    /// every current version, before the server answers anything.
    fn complete_concerns(&self) -> FhirResult<()> {
        if !self.store.read(|c| store::concern_outdated(c))? {
            return Ok(());
        }
        let seqs = self.store.read(|c| store::current_seqs(c))?;
        self.store.write(|conn| {
            for seq in seqs {
                let Some(v) = store::by_seq(conn, seq)? else { continue };
                let Ok(json) = interactions::resource_of(&v) else { continue };
                let concern = auth::concern::Concern::of(&self.ctx, &self.registry, &json);
                store::put_concern(conn, &v.res_type, &v.id, Some(&concern), true, false)?;
            }
            store::mark_concern_current(conn)
        })
    }

    /// Whether `name` is a resource type of the loaded FHIR version.
    pub fn is_resource_type(&self, name: &str) -> bool {
        self.ctx.type_definition(name).is_some_and(|sd| sd.kind == "resource" && !sd.is_abstract)
    }

    pub fn check_type(&self, name: &str) -> FhirResult<()> {
        if self.is_resource_type(name) {
            Ok(())
        } else {
            Err(FhirError::not_found(format!("'{name}' is not a FHIR R4 resource type")))
        }
    }

    /// Validates and indexes a parsed resource. In `reject` mode an error
    /// stops it here, before anything is stored (422).
    pub fn prepare(&self, parsed: Parsed) -> FhirResult<Prepared> {
        self.check_type(&parsed.res_type)?;
        limits::check_json(&self.config.limits, &parsed.json)?;
        let issues = match self.checker.mode {
            ValidationMode::Off => Vec::new(),
            _ => self.checker.check(&parsed.doc, &parsed.res_type, &[]),
        };
        if self.checker.mode == ValidationMode::Reject && issues.iter().any(|i| i.severity.is_error()) {
            return Err(FhirError::unprocessable(issues));
        }
        let Some(root) = parsed.doc.root.as_ref() else { return Err(FhirError::bad_request("The body is not a FHIR resource")) };
        let index = search::index::extract(&self.registry, &self.ctx, &parsed.res_type, root);
        limits::check_index(&index)?;
        let concern = auth::concern::Concern::of_tree(&self.ctx, &self.registry, &parsed.json, root);
        Ok(Prepared { res_type: parsed.res_type, json: parsed.json, index, issues, concern, patched: None })
    }

    /// Reads and prepares a request body.
    pub fn prepare_body(&self, body: &[u8], content_type: Option<&str>) -> FhirResult<Prepared> {
        let parsed = format::parse_resource(&self.ctx, &self.config.limits, body, format::body_format(content_type))?;
        self.prepare(parsed)
    }

    /// Whom a stored version concerns, worked out once per read version.
    pub fn concern_of<'v>(&self, version: &'v store::Version) -> FhirResult<&'v auth::concern::Concern> {
        version.concern(|json| auth::concern::Concern::of(&self.ctx, &self.registry, json))
    }

    /// Prepares a resource already in JSON (a Bundle entry, a patched resource).
    pub fn prepare_json(&self, json: &Value) -> FhirResult<Prepared> {
        let bytes = serde_json::to_vec(json).map_err(|e| FhirError::bad_request(format!("The resource cannot be written as JSON: {e}")))?;
        self.prepare_body(&bytes, Some(format::FHIR_JSON))
    }

    /// Runs one request (over HTTP, or a batch entry) through the access
    /// layer: authorized for its requester, run, its answer filtered, and
    /// an AuditEvent written (and on disk) before the answer is returned.
    pub fn execute(&self, req: &routing::Request) -> FhirResult<interactions::Reply> {
        use routing::Interaction as I;
        let interaction = routing::route(&req.method, &req.path)?;
        let gate = access::Gate::new(self, &req.requester);
        if matches!(interaction, I::Capabilities) {
            return self.run(req, &interaction, &gate);
        }
        // A request its token has no scope for costs its client nothing:
        // such refusals are recorded once per interval, with a count.
        let authorized = gate.authorize(&interaction, req);
        if let (Err(e), Some(gathered)) = (&authorized, &req.gathered_audit) {
            gathered.lock().push(access::record_of(&interaction, req, &Err(e.clone()), &gate.report.borrow()));
            return Err(e.clone());
        }
        if let Err(e) = &authorized {
            if e.status == 403 && !access::is_withheld(e) && !req.requester.asks_override() {
                let record = access::record_of(&interaction, req, &Err(e.clone()), &gate.report.borrow());
                if let Some(p) = self.refusals.admit(audit::Pending { requester: Some(req.requester.clone()), address: req.requester.address.clone(), record }) {
                    audit::record(self, p.requester.as_deref(), p.address.as_deref(), &p.record)?;
                }
                return Err(e.clone());
            }
        }
        let result = authorized.and_then(|()| self.run(req, &interaction, &gate)).and_then(|reply| gate.filter(&interaction, req, reply)).map_err(|e| gate.conceal_gone(&interaction, e));
        if matches!(&result, Ok(reply) if reply.audited) {
            return result;
        }
        let mut record = access::record_of(&interaction, req, &result, &gate.report.borrow());
        // A batch entry's record goes into its batch's one event: a batch of
        // ten thousand reads is one request, and writes one AuditEvent.
        if let Some(gathered) = &req.gathered_audit {
            gathered.lock().push(record);
            return result;
        }
        if let Ok(reply) = &result {
            access::merge_gathered(&mut record, &reply.gathered);
        }
        if let Err(e) = audit::record(self, Some(&req.requester), req.requester.address.as_deref(), &record) {
            tracing::error!("the audit trail could not be written: {e}");
            // Nothing is shown that was not audited; a write that is done stays done.
            if !interaction.writes() && !matches!(interaction, I::Batch) {
                return Err(e);
            }
        }
        result
    }

    /// The interaction itself. The access layer has authorized it and
    /// filters its answer; an operation that builds its own answer from
    /// stored resources judges them with the request's `gate`, so that
    /// the request's AuditEvent names each one.
    fn run(&self, req: &routing::Request, interaction: &routing::Interaction, gate: &access::Gate) -> FhirResult<interactions::Reply> {
        use routing::Interaction as I;
        match interaction {
            I::Batch => bundle::process(self, req),
            I::Capabilities => Ok(interactions::Reply::body(200, metadata::served(&self.config))),
            I::ValidateSystem | I::ValidateType(_) | I::ValidateInstance(..) => operations::validate(self, interaction, req),
            I::FromPrsb => prsb_ops::from_prsb(self, req),
            I::PrsbView(id) => prsb_ops::view(self, gate, id, req),
            I::Everything(id) => plan_closure::everything(self, gate, id, req),
            _ if interaction.writes() => {
                let prepared = match interaction {
                    _ if interaction.takes_resource() => Some(self.prepare_body(&req.body, req.content_type.as_deref())?),
                    // A patch is applied and validated on a reader, not while holding the writer.
                    I::Patch(t, id) => {
                        let (base, mut p) = self.store.read(|conn| interactions::prepare_patch(self, conn, t, id, req))?;
                        p.patched = Some(base);
                        Some(p)
                    }
                    _ => None,
                };
                // The write and its AuditEvent commit together, or neither does.
                let reply = self.store.write(|conn| {
                    let mut reply = interactions::apply(self, conn, interaction, req, prepared)?;
                    // A write that stored nothing (a delete of what is not
                    // there, a conditional create that matched) is audited
                    // as a read is: in a batch, with the batch's one event.
                    if reply.stored {
                        let rec = access::record_of_write(interaction, req, &reply);
                        audit::store_in(conn, &audit::prepare(self, Some(&req.requester), req.requester.address.as_deref(), &rec)?)?;
                        reply.audited = true;
                    }
                    Ok(reply)
                })?;
                self.outbox_signal.notify();
                Ok(reply)
            }
            _ => self.store.read(|conn| interactions::apply(self, conn, interaction, req, None)),
        }
    }
}

/// An informational issue, for answers that need an OperationOutcome with nothing wrong.
pub fn note(message: impl Into<String>) -> Issue {
    Issue::info(IssueCode::Informational, "", message)
}
