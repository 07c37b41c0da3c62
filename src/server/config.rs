//! How the server is configured: flags, then environment variables (both
//! through the CLI), then a TOML config file, then defaults — the first
//! that says something wins.

use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ValidationMode {
    /// A write with an error is refused (422) and nothing is stored.
    Reject,
    /// Writes are stored whatever the validator says; its issues come back in the answer.
    Warn,
    /// Writes are not validated (only parsed).
    Off,
}

impl ValidationMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ValidationMode::Reject => "reject",
            ValidationMode::Warn => "warn",
            ValidationMode::Off => "off",
        }
    }
}

/// Settings as one source gives them: every field optional. This is also
/// the shape of the config file.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Settings {
    pub address: Option<String>,
    pub database: Option<PathBuf>,
    /// Packages, package ids or folders of definitions loaded beside R4 core (`--ig`).
    pub packages: Option<Vec<String>>,
    /// Profiles enforced on every write of their resource type.
    pub profiles: Option<Vec<String>>,
    pub validation: Option<ValidationMode>,
    pub max_body_bytes: Option<usize>,
    /// Whether an update of a resource that does not exist creates it.
    pub update_create: Option<bool>,
    /// An upstream FHIR server every accepted write is forwarded to.
    pub forward: Option<String>,
    pub cache: Option<PathBuf>,
    pub offline: Option<bool>,
    pub workers: Option<usize>,
    /// How bearer tokens are checked: `jwks:PATH`, `jwks-url:URL`, `hs256:SECRET`, `hs256:env:VARIABLE`.
    pub auth: Option<String>,
    /// The `iss` tokens must carry, when set.
    pub auth_issuer: Option<String>,
    /// The `aud` tokens must carry, when set.
    pub auth_audience: Option<String>,
    /// No authentication at all: local development only.
    pub open: Option<bool>,
    pub max_depth: Option<usize>,
    pub max_string_bytes: Option<usize>,
    pub max_bundle_entries: Option<usize>,
    pub max_response_bytes: Option<usize>,
    pub max_bundle_searches: Option<usize>,
    pub max_bundle_conditionals: Option<usize>,
    /// A quota on the database file: writes beyond it get 507.
    pub max_database_bytes: Option<u64>,
    /// Seconds a client has to send a request's head (0: no limit).
    pub header_timeout: Option<u64>,
    /// Seconds a client has to send a request's body (0: no limit).
    pub body_timeout: Option<u64>,
    pub max_connections: Option<usize>,
    /// Seconds over which one client's repeated refusals make one AuditEvent.
    pub audit_repeat_interval: Option<u64>,
    /// The server's public base URL, for links, `fullUrl` and `Location`.
    pub base_url: Option<String>,
}

impl Settings {
    /// Reads a TOML config file.
    pub fn read(path: &Path) -> anyhow::Result<Settings> {
        let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("cannot read the config file {}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| anyhow::anyhow!("the config file {} is not valid: {e}", path.display()))
    }

    /// This source, with `fallback` filling what it leaves out.
    pub fn or(self, fallback: Settings) -> Settings {
        Settings {
            address: self.address.or(fallback.address),
            database: self.database.or(fallback.database),
            packages: self.packages.filter(|p| !p.is_empty()).or(fallback.packages),
            profiles: self.profiles.filter(|p| !p.is_empty()).or(fallback.profiles),
            validation: self.validation.or(fallback.validation),
            max_body_bytes: self.max_body_bytes.or(fallback.max_body_bytes),
            update_create: self.update_create.or(fallback.update_create),
            forward: self.forward.or(fallback.forward),
            cache: self.cache.or(fallback.cache),
            offline: self.offline.or(fallback.offline),
            workers: self.workers.or(fallback.workers),
            auth: self.auth.or(fallback.auth),
            auth_issuer: self.auth_issuer.or(fallback.auth_issuer),
            auth_audience: self.auth_audience.or(fallback.auth_audience),
            open: self.open.or(fallback.open),
            max_depth: self.max_depth.or(fallback.max_depth),
            max_string_bytes: self.max_string_bytes.or(fallback.max_string_bytes),
            max_bundle_entries: self.max_bundle_entries.or(fallback.max_bundle_entries),
            max_response_bytes: self.max_response_bytes.or(fallback.max_response_bytes),
            max_bundle_searches: self.max_bundle_searches.or(fallback.max_bundle_searches),
            max_bundle_conditionals: self.max_bundle_conditionals.or(fallback.max_bundle_conditionals),
            max_database_bytes: self.max_database_bytes.or(fallback.max_database_bytes),
            header_timeout: self.header_timeout.or(fallback.header_timeout),
            body_timeout: self.body_timeout.or(fallback.body_timeout),
            max_connections: self.max_connections.or(fallback.max_connections),
            audit_repeat_interval: self.audit_repeat_interval.or(fallback.audit_repeat_interval),
            base_url: self.base_url.or(fallback.base_url),
        }
    }
}

/// The settings the server runs with.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub address: String,
    pub database: PathBuf,
    pub packages: Vec<String>,
    pub profiles: Vec<String>,
    pub validation: ValidationMode,
    pub max_body_bytes: usize,
    pub update_create: bool,
    pub forward: Option<String>,
    pub cache: Option<PathBuf>,
    pub offline: bool,
    pub workers: usize,
    pub auth: Option<String>,
    pub auth_issuer: Option<String>,
    pub auth_audience: Option<String>,
    pub open: bool,
    pub limits: super::limits::Limits,
    pub max_database_bytes: Option<u64>,
    /// `None`: no limit.
    pub header_timeout: Option<Duration>,
    pub body_timeout: Option<Duration>,
    pub max_connections: usize,
    pub audit_repeat_interval: Duration,
    /// The public base URL (`--base-url`); without it, `http://` and the request's `Host`.
    pub base_url: Option<String>,
}

pub const DEFAULT_ADDRESS: &str = "127.0.0.1:8080";
pub const DEFAULT_DATABASE: &str = "careplan.db";
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024 * 1024;
pub const DEFAULT_HEADER_TIMEOUT_SECS: u64 = 10;
/// Enough for the largest body (64 MiB) at about 1 MB/s.
pub const DEFAULT_BODY_TIMEOUT_SECS: u64 = 60;
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
pub const DEFAULT_AUDIT_REPEAT_INTERVAL_SECS: u64 = 60;

fn seconds(s: Option<u64>, default: u64) -> Option<Duration> {
    Some(s.unwrap_or(default)).filter(|s| *s > 0).map(Duration::from_secs)
}

impl From<Settings> for ServerConfig {
    fn from(s: Settings) -> ServerConfig {
        ServerConfig {
            address: s.address.unwrap_or_else(|| DEFAULT_ADDRESS.to_string()),
            database: s.database.unwrap_or_else(|| PathBuf::from(DEFAULT_DATABASE)),
            packages: s.packages.unwrap_or_default(),
            profiles: s.profiles.unwrap_or_default(),
            validation: s.validation.unwrap_or(ValidationMode::Reject),
            max_body_bytes: s.max_body_bytes.unwrap_or(DEFAULT_MAX_BODY_BYTES),
            update_create: s.update_create.unwrap_or(true),
            forward: s.forward.map(|u| u.trim_end_matches('/').to_string()),
            cache: s.cache,
            offline: s.offline.unwrap_or(false),
            workers: s.workers.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())),
            auth: s.auth,
            auth_issuer: s.auth_issuer,
            auth_audience: s.auth_audience,
            open: s.open.unwrap_or(false),
            limits: super::limits::Limits {
                max_depth: s.max_depth.unwrap_or(super::limits::DEFAULT_MAX_DEPTH),
                max_string_bytes: s.max_string_bytes.unwrap_or(super::limits::DEFAULT_MAX_STRING_BYTES),
                max_bundle_entries: s.max_bundle_entries.unwrap_or(super::limits::DEFAULT_MAX_BUNDLE_ENTRIES),
                max_response_bytes: s.max_response_bytes.unwrap_or(super::limits::DEFAULT_MAX_RESPONSE_BYTES),
                max_bundle_searches: s.max_bundle_searches.unwrap_or(super::limits::DEFAULT_MAX_BUNDLE_SEARCHES),
                max_bundle_conditionals: s.max_bundle_conditionals.unwrap_or(super::limits::DEFAULT_MAX_BUNDLE_CONDITIONALS),
            },
            max_database_bytes: s.max_database_bytes.filter(|b| *b > 0),
            header_timeout: seconds(s.header_timeout, DEFAULT_HEADER_TIMEOUT_SECS),
            body_timeout: seconds(s.body_timeout, DEFAULT_BODY_TIMEOUT_SECS),
            max_connections: s.max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS).max(1),
            audit_repeat_interval: Duration::from_secs(s.audit_repeat_interval.unwrap_or(DEFAULT_AUDIT_REPEAT_INTERVAL_SECS).max(1)),
            base_url: s.base_url.map(|u| u.trim_end_matches('/').to_string()).filter(|u| !u.is_empty()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_the_file_and_the_file_over_defaults() {
        let file: Settings = toml::from_str("address = \"0.0.0.0:9000\"\ndatabase = \"/tmp/x.db\"\nvalidation = \"warn\"\nprofiles = [\"http://x/p\"]").unwrap();
        let flags = Settings { address: Some("127.0.0.1:1".into()), ..Settings::default() };
        let c = ServerConfig::from(flags.or(file));
        assert_eq!(c.address, "127.0.0.1:1");
        assert_eq!(c.database, PathBuf::from("/tmp/x.db"));
        assert_eq!(c.validation, ValidationMode::Warn);
        assert_eq!(c.profiles, vec!["http://x/p".to_string()]);
        assert!(c.update_create);
        assert!(toml::from_str::<Settings>("adress = \"typo\"").is_err());
        let file: Settings = toml::from_str("max-response-bytes = 1000\nbody-timeout = 0\nmax-database-bytes = 5000000").unwrap();
        let c = ServerConfig::from(Settings { max_response_bytes: Some(2000), ..Settings::default() }.or(file));
        assert_eq!(c.limits.max_response_bytes, 2000);
        assert_eq!(c.body_timeout, None, "0 turns the timeout off");
        assert_eq!(c.header_timeout, Some(Duration::from_secs(DEFAULT_HEADER_TIMEOUT_SECS)));
        assert_eq!(c.max_database_bytes, Some(5_000_000));
    }
}
