//! Bearer tokens: JWTs signed with RS256 (keys from a JWKS file or URL) or
//! HS256 (a shared secret, for local use), checked with the `jsonwebtoken`
//! crate: signature, `exp` (required), `nbf`, and `iss`/`aud` (required and
//! compared when the server is configured with them). Before that, `jose`
//! refuses critical header extensions and duplicate JSON members.
//!
//! A JWKS (file or URL) is read again every [`REFRESH_EVERY`], and when a
//! token names a `kid` no key has (at most once per
//! [`UNKNOWN_KID_REFRESH_GAP`]), so that an IdP's key rotation needs no restart.

use super::jose;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use parking_lot::{Mutex, RwLock};
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where the keys come from: `--auth jwks:PATH`, `jwks-url:URL`, `hs256:SECRET`, `hs256:env:VAR`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeySource {
    Jwks(std::path::PathBuf),
    JwksUrl(String),
    Hs256(String),
}

/// HS256 secrets shorter than this are refused (RFC 7518 asks for at least the hash size).
pub const MIN_HS256_SECRET: usize = 32;

impl KeySource {
    pub fn parse(spec: &str) -> anyhow::Result<KeySource> {
        if let Some(path) = spec.strip_prefix("jwks:") {
            Ok(KeySource::Jwks(path.into()))
        } else if let Some(url) = spec.strip_prefix("jwks-url:") {
            Ok(KeySource::JwksUrl(url.to_string()))
        } else if let Some(var) = spec.strip_prefix("hs256:env:") {
            let secret = std::env::var(var).map_err(|_| anyhow::anyhow!("--auth hs256:env:{var}: the environment variable {var} is not set"))?;
            KeySource::hs256(secret)
        } else if let Some(secret) = spec.strip_prefix("hs256:") {
            KeySource::hs256(secret.to_string())
        } else {
            anyhow::bail!("--auth '{}': expected jwks:PATH, jwks-url:URL, hs256:SECRET or hs256:env:VARIABLE", spec.split(':').next().unwrap_or(spec))
        }
    }

    fn hs256(secret: String) -> anyhow::Result<KeySource> {
        if secret.len() < MIN_HS256_SECRET {
            anyhow::bail!("--auth hs256: the secret must be at least {MIN_HS256_SECRET} bytes long");
        }
        Ok(KeySource::Hs256(secret))
    }

    /// How it is described in logs and /metadata (never the secret).
    pub fn describe(&self) -> String {
        match self {
            KeySource::Jwks(p) => format!("RS256 with the keys of {}", p.display()),
            KeySource::JwksUrl(u) => format!("RS256 with the keys of {u}"),
            KeySource::Hs256(_) => "HS256 with a shared secret".to_string(),
        }
    }
}

struct Key {
    kid: Option<String>,
    algorithm: Algorithm,
    key: DecodingKey,
}

/// A key set read from a JWKS is read again on this timer, so that keys
/// the IdP retires stop being trusted without a restart.
pub const REFRESH_EVERY: Duration = Duration::from_secs(60 * 60);
/// A token naming a key we do not know reads the key set again (the IdP
/// may have rotated), but at most this often, so that made-up `kid`s
/// cannot turn the server into a client hammering the IdP.
pub const UNKNOWN_KID_REFRESH_GAP: Duration = Duration::from_secs(30);
/// How long one fetch of a JWKS URL may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// The keys tokens are checked against, and where they come from.
struct KeyRing {
    source: KeySource,
    keys: RwLock<Arc<Vec<Key>>>,
    /// When a token's unknown `kid` last made us read the key set.
    last_on_demand: Mutex<Option<Instant>>,
}

impl KeyRing {
    fn reloadable(&self) -> bool {
        !matches!(self.source, KeySource::Hs256(_))
    }

    fn current(&self) -> Arc<Vec<Key>> {
        self.keys.read().clone()
    }

    /// Reads the key set again; on failure the keys in use stay.
    fn reload(&self, why: &str) {
        match load_keys(&self.source) {
            Ok(keys) => {
                tracing::info!(keys = keys.len(), "read the key set again ({why}): {}", self.source.describe());
                *self.keys.write() = Arc::new(keys);
            }
            Err(e) => tracing::warn!("could not read the key set again ({why}); the keys in use stay: {e}"),
        }
    }

    /// A token names `kid`, which no key has: read the key set again unless
    /// that was done on demand less than [`UNKNOWN_KID_REFRESH_GAP`] ago.
    fn reload_for_unknown(&self, kid: &str) {
        // Held across the fetch, so concurrent tokens wait for it and then see its keys.
        let mut last = self.last_on_demand.lock();
        if last.is_some_and(|t| t.elapsed() < UNKNOWN_KID_REFRESH_GAP) {
            return;
        }
        *last = Some(Instant::now());
        self.reload(&format!("a token names the unknown key '{kid}'"));
    }
}

/// Reads the keys of a source. A URL is fetched on a thread of its own: the
/// blocking HTTP client must not run on an async worker.
fn load_keys(source: &KeySource) -> anyhow::Result<Vec<Key>> {
    match source {
        KeySource::Hs256(secret) => Ok(vec![Key { kid: None, algorithm: Algorithm::HS256, key: DecodingKey::from_secret(secret.as_bytes()) }]),
        KeySource::Jwks(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("cannot read the JWKS file {}: {e}", path.display()))?;
            jwks_keys(&text)
        }
        KeySource::JwksUrl(url) => {
            let url = url.clone();
            let text = std::thread::spawn(move || {
                reqwest::blocking::Client::builder()
                    .timeout(FETCH_TIMEOUT)
                    .build()
                    .and_then(|c| c.get(&url).send())
                    .and_then(|r| r.error_for_status())
                    .and_then(|r| r.text())
                    .map_err(|e| anyhow::anyhow!("cannot fetch the JWKS at {url}: {e}"))
            })
            .join()
            .map_err(|_| anyhow::anyhow!("fetching the JWKS failed unexpectedly"))??;
            jwks_keys(&text)
        }
    }
}

/// Checks tokens against the configured keys and claims.
pub struct Verifier {
    ring: Arc<KeyRing>,
    issuer: Option<String>,
    audience: Option<String>,
}

impl Verifier {
    pub fn new(source: &KeySource, issuer: Option<String>, audience: Option<String>) -> anyhow::Result<Verifier> {
        let keys = load_keys(source)?;
        let ring = Arc::new(KeyRing { source: source.clone(), keys: RwLock::new(Arc::new(keys)), last_on_demand: Mutex::new(None) });
        if ring.reloadable() {
            // The timer holds only a weak reference: it ends with the verifier.
            let weak = Arc::downgrade(&ring);
            std::thread::Builder::new().name("jwks-refresh".into()).spawn(move || loop {
                std::thread::sleep(REFRESH_EVERY);
                match weak.upgrade() {
                    Some(ring) => ring.reload("timer"),
                    None => break,
                }
            })?;
        }
        Ok(Verifier { ring, issuer, audience })
    }

    /// The claims of a valid token, or why it is not.
    pub fn verify(&self, token: &str) -> Result<Map<String, Value>, String> {
        // What the crate does not check: critical extensions and duplicate members.
        let jose::Parts { header: raw_header, claims } = jose::parts(token)?;
        jose::check_crit(&raw_header)?;
        let header = decode_header(token).map_err(|e| format!("the token is not a JWT: {e}"))?;
        let mut keys = self.ring.current();
        if self.ring.reloadable() && !keys.iter().any(|k| k.algorithm == header.alg && fits_kid(k, &header)) {
            if let Some(kid) = &header.kid {
                self.ring.reload_for_unknown(kid);
                keys = self.ring.current();
            }
        }
        let candidates: Vec<&Key> = keys.iter().filter(|k| k.algorithm == header.alg && fits_kid(k, &header)).collect();
        if candidates.is_empty() {
            return Err(format!("the token is signed with {:?}{}, which this server does not accept", header.alg, header.kid.as_deref().map(|k| format!(" (key '{k}')")).unwrap_or_default()));
        }
        let mut validation = Validation::new(header.alg);
        validation.leeway = 5;
        validation.validate_nbf = true;
        // A configured issuer or audience is required, not only compared when present.
        let mut required = vec!["exp"];
        match &self.audience {
            Some(a) => {
                validation.set_audience(&[a]);
                required.push("aud");
            }
            None => validation.validate_aud = false,
        }
        if let Some(i) = &self.issuer {
            validation.set_issuer(&[i]);
            required.push("iss");
        }
        validation.set_required_spec_claims(&required);
        let mut last = String::new();
        for key in candidates {
            match decode::<serde::de::IgnoredAny>(token, &key.key, &validation) {
                Ok(_) => {
                    // The signature holds: the claims are the ones read without duplicates.
                    self.check_iss_aud(&claims)?;
                    return Ok(claims);
                }
                Err(e) => last = describe_error(&e),
            }
        }
        Err(last)
    }

    /// `iss` must be the configured issuer (one string, as RFC 7519 has it)
    /// and `aud` must name the configured audience, whenever they are configured.
    fn check_iss_aud(&self, claims: &Map<String, Value>) -> Result<(), String> {
        if let Some(want) = &self.issuer {
            match claims.get("iss") {
                Some(Value::String(iss)) if iss == want => {}
                Some(Value::String(_)) => return Err("the token's issuer (iss) is not the one this server trusts".into()),
                Some(_) => return Err("the token's issuer (iss) is not a string".into()),
                None => return Err(format!("the token has no 'iss' claim; this server accepts only tokens issued by {want}")),
            }
        }
        if let Some(want) = &self.audience {
            let names = match claims.get("aud") {
                Some(Value::String(a)) => a == want,
                Some(Value::Array(a)) => a.iter().any(|x| x.as_str() == Some(want)),
                Some(_) => false,
                None => return Err(format!("the token has no 'aud' claim; this server accepts only tokens for the audience {want}")),
            };
            if !names {
                return Err("the token's audience (aud) is not this server".into());
            }
        }
        Ok(())
    }
}

/// Whether a key may have signed a token with this header's `kid`.
fn fits_kid(key: &Key, header: &jsonwebtoken::Header) -> bool {
    header.kid.is_none() || key.kid.is_none() || key.kid == header.kid
}

fn describe_error(e: &jsonwebtoken::errors::Error) -> String {
    use jsonwebtoken::errors::ErrorKind as K;
    match e.kind() {
        K::ExpiredSignature => "the token has expired".into(),
        K::ImmatureSignature => "the token is not valid yet (nbf)".into(),
        K::InvalidSignature => "the token's signature does not verify".into(),
        K::InvalidIssuer => "the token's issuer (iss) is not the one this server trusts".into(),
        K::InvalidAudience => "the token's audience (aud) is not this server".into(),
        K::MissingRequiredClaim(c) => format!("the token has no '{c}' claim"),
        other => format!("the token is not valid: {other:?}"),
    }
}

/// The RSA signing keys of a JWKS document.
fn jwks_keys(text: &str) -> anyhow::Result<Vec<Key>> {
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_str(text).map_err(|e| anyhow::anyhow!("the JWKS is not valid: {e}"))?;
    let mut keys = Vec::new();
    for jwk in &set.keys {
        if !matches!(jwk.algorithm, jsonwebtoken::jwk::AlgorithmParameters::RSA(_)) {
            continue;
        }
        let key = DecodingKey::from_jwk(jwk).map_err(|e| anyhow::anyhow!("a key of the JWKS cannot be used: {e}"))?;
        keys.push(Key { kid: jwk.common.key_id.clone(), algorithm: Algorithm::RS256, key });
    }
    if keys.is_empty() {
        anyhow::bail!("the JWKS has no RSA key");
    }
    Ok(keys)
}
