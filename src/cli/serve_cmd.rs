//! `careplan serve`: the FHIR server. Flags and environment variables
//! (`CAREPLAN_*`) win over the config file, which wins over defaults.

use crate::server::config::{ServerConfig, Settings, ValidationMode};
use crate::server::Service;
use anyhow::Result;
use clap::Args;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// A TOML config file with any of the settings below (kebab-case keys: address, database, packages, profiles, validation, max-body-bytes, update-create, forward, cache, offline, workers, auth, auth-issuer, auth-audience, open, max-depth, max-string-bytes, max-bundle-entries, max-response-bytes, max-bundle-searches, max-database-bytes, header-timeout, body-timeout, max-connections, audit-repeat-interval, base-url).
    #[arg(long, env = "CAREPLAN_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address to listen on; port 0 picks a free port [default: 127.0.0.1:8080].
    #[arg(long, env = "CAREPLAN_ADDRESS", value_name = "HOST:PORT")]
    pub address: Option<String>,
    /// The SQLite database file, created on first start [default: careplan.db].
    #[arg(long, env = "CAREPLAN_DATABASE", value_name = "FILE")]
    pub database: Option<PathBuf>,
    /// More definitions: a package .tgz or id (name#version), a folder or a file. Repeatable (in the environment: comma-separated).
    #[arg(long = "ig", env = "CAREPLAN_PACKAGES", value_delimiter = ',', value_name = "SOURCE")]
    pub packages: Vec<String>,
    /// A profile enforced on every write of its resource type (canonical URL). Repeatable (in the environment: comma-separated).
    #[arg(long = "profile", env = "CAREPLAN_PROFILES", value_delimiter = ',', value_name = "CANONICAL")]
    pub profiles: Vec<String>,
    /// What a validation error does to a write [default: reject].
    #[arg(long, env = "CAREPLAN_VALIDATION", value_enum)]
    pub validation: Option<ValidationMode>,
    /// Largest request body accepted, in bytes [default: 67108864].
    #[arg(long, env = "CAREPLAN_MAX_BODY_BYTES", value_name = "BYTES")]
    pub max_body_bytes: Option<usize>,
    /// Refuse updates of resources that do not exist (405) instead of creating them.
    #[arg(long)]
    pub no_update_create: bool,
    /// Forward every accepted write to this upstream FHIR server (its base URL).
    #[arg(long, env = "CAREPLAN_FORWARD", value_name = "URL")]
    pub forward: Option<String>,
    /// Package cache folder [default: $FHIR_PACKAGE_CACHE, else ~/.fhir/packages].
    #[arg(long, value_name = "DIR")]
    pub cache: Option<PathBuf>,
    /// Use only the package cache; ask no registry (also CAREPLAN_OFFLINE=1, or true/yes/on; --offline=false or CAREPLAN_OFFLINE=0/false/no/off: ask registries, whatever the config file says).
    #[arg(long, env = "CAREPLAN_OFFLINE", value_name = "BOOL", value_parser = clap::builder::BoolishValueParser::new(), num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub offline: Option<bool>,
    /// HTTP worker threads [default: the number of cores].
    #[arg(long, env = "CAREPLAN_WORKERS")]
    pub workers: Option<usize>,
    /// How bearer tokens (JWTs) are checked: jwks:PATH, jwks-url:URL (RS256), hs256:SECRET or hs256:env:VARIABLE (HS256, local use). Required unless --open.
    #[arg(long, env = "CAREPLAN_AUTH", value_name = "SPEC")]
    pub auth: Option<String>,
    /// The issuer (iss) every token must carry.
    #[arg(long, env = "CAREPLAN_AUTH_ISSUER", value_name = "ISS")]
    pub auth_issuer: Option<String>,
    /// The audience (aud) every token must carry (usually this server's base URL).
    #[arg(long, env = "CAREPLAN_AUTH_AUDIENCE", value_name = "AUD")]
    pub auth_audience: Option<String>,
    /// Open mode, for local development only: no authentication, no scopes, no consent filtering (requests are still audited).
    #[arg(long)]
    pub open: bool,
    /// Deepest nesting of a resource's JSON or XML [default: 100].
    #[arg(long, env = "CAREPLAN_MAX_DEPTH", value_name = "LEVELS")]
    pub max_depth: Option<usize>,
    /// Longest string value, in bytes [default: 1048576, FHIR's limit].
    #[arg(long, env = "CAREPLAN_MAX_STRING_BYTES", value_name = "BYTES")]
    pub max_string_bytes: Option<usize>,
    /// Most entries in one batch or transaction Bundle [default: 10000].
    #[arg(long, env = "CAREPLAN_MAX_BUNDLE_ENTRIES", value_name = "N")]
    pub max_bundle_entries: Option<usize>,
    /// Most bytes of resources in one answer; a batch's entries share it [default: 67108864].
    #[arg(long, env = "CAREPLAN_MAX_RESPONSE_BYTES", value_name = "BYTES")]
    pub max_response_bytes: Option<usize>,
    /// Most search and history entries in one batch Bundle [default: 100].
    #[arg(long, env = "CAREPLAN_MAX_BUNDLE_SEARCHES", value_name = "N")]
    pub max_bundle_searches: Option<usize>,
    /// Most conditional references and conditional entries (If-None-Exist, conditional update or delete) in one Bundle [default: 1000].
    #[arg(long, env = "CAREPLAN_MAX_BUNDLE_CONDITIONALS", value_name = "N")]
    pub max_bundle_conditionals: Option<usize>,
    /// A quota on the database: writes that would grow it beyond get 507 [default: none, the disk's size].
    #[arg(long, env = "CAREPLAN_MAX_DATABASE_BYTES", value_name = "BYTES")]
    pub max_database_bytes: Option<u64>,
    /// Seconds a client has to send a request's head; 0 for no limit [default: 10].
    #[arg(long, env = "CAREPLAN_HEADER_TIMEOUT", value_name = "SECONDS")]
    pub header_timeout: Option<u64>,
    /// Seconds a client has to send a request's body; 0 for no limit [default: 60].
    #[arg(long, env = "CAREPLAN_BODY_TIMEOUT", value_name = "SECONDS")]
    pub body_timeout: Option<u64>,
    /// Most open client connections [default: 1024].
    #[arg(long, env = "CAREPLAN_MAX_CONNECTIONS", value_name = "N")]
    pub max_connections: Option<usize>,
    /// Seconds over which one client's repeated refusals (401, and requests refused before their body is read) are recorded as one AuditEvent with a count [default: 60].
    #[arg(long, env = "CAREPLAN_AUDIT_REPEAT_INTERVAL", value_name = "SECONDS")]
    pub audit_repeat_interval: Option<u64>,
    /// The server's public base URL (e.g. https://fhir.example.org/fhir behind a TLS proxy), used in links, fullUrl and Location; without it, http:// and the request's Host header (Forwarded and X-Forwarded-* headers are never trusted for it).
    #[arg(long, env = "CAREPLAN_BASE_URL", value_name = "URL")]
    pub base_url: Option<String>,
}

impl ServeArgs {
    pub fn config(&self) -> Result<ServerConfig> {
        let from_cli = Settings {
            address: self.address.clone(),
            database: self.database.clone(),
            packages: Some(self.packages.clone()),
            profiles: Some(self.profiles.clone()),
            validation: self.validation,
            max_body_bytes: self.max_body_bytes,
            update_create: self.no_update_create.then_some(false),
            forward: self.forward.clone(),
            cache: self.cache.clone(),
            offline: self.offline,
            workers: self.workers,
            auth: self.auth.clone(),
            auth_issuer: self.auth_issuer.clone(),
            auth_audience: self.auth_audience.clone(),
            open: self.open.then_some(true),
            max_depth: self.max_depth,
            max_string_bytes: self.max_string_bytes,
            max_bundle_entries: self.max_bundle_entries,
            max_response_bytes: self.max_response_bytes,
            max_bundle_searches: self.max_bundle_searches,
            max_bundle_conditionals: self.max_bundle_conditionals,
            max_database_bytes: self.max_database_bytes,
            header_timeout: self.header_timeout,
            body_timeout: self.body_timeout,
            max_connections: self.max_connections,
            audit_repeat_interval: self.audit_repeat_interval,
            base_url: self.base_url.clone(),
        };
        let from_file = match &self.config {
            Some(path) => Settings::read(path)?,
            None => Settings::default(),
        };
        Ok(ServerConfig::from(from_cli.or(from_file)))
    }
}

pub fn run(args: ServeArgs) -> Result<i32> {
    let config = args.config()?;
    let service = Arc::new(Service::open(config)?);
    crate::server::http::run(service)?;
    Ok(super::exit::OK)
}
