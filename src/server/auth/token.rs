//! Bearer tokens: JWTs signed with RS256 (keys from a JWKS file or URL) or
//! HS256 (a shared secret, for local use), checked with the `jsonwebtoken`
//! crate: signature, `exp` (required), `nbf`, and `iss`/`aud` when the
//! server is configured with them.

use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

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

/// Checks tokens against the configured keys and claims.
pub struct Verifier {
    keys: Vec<Key>,
    issuer: Option<String>,
    audience: Option<String>,
}

impl Verifier {
    pub fn new(source: &KeySource, issuer: Option<String>, audience: Option<String>) -> anyhow::Result<Verifier> {
        let keys = match source {
            KeySource::Hs256(secret) => vec![Key { kid: None, algorithm: Algorithm::HS256, key: DecodingKey::from_secret(secret.as_bytes()) }],
            KeySource::Jwks(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("cannot read the JWKS file {}: {e}", path.display()))?;
                jwks_keys(&text)?
            }
            KeySource::JwksUrl(url) => {
                let text = reqwest::blocking::Client::builder()
                    .timeout(std::time::Duration::from_secs(30))
                    .build()?
                    .get(url)
                    .send()
                    .and_then(|r| r.error_for_status())
                    .and_then(|r| r.text())
                    .map_err(|e| anyhow::anyhow!("cannot fetch the JWKS at {url}: {e}"))?;
                jwks_keys(&text)?
            }
        };
        Ok(Verifier { keys, issuer, audience })
    }

    /// The claims of a valid token, or why it is not.
    pub fn verify(&self, token: &str) -> Result<Map<String, Value>, String> {
        let header = decode_header(token).map_err(|e| format!("the token is not a JWT: {e}"))?;
        let candidates: Vec<&Key> = self.keys.iter().filter(|k| k.algorithm == header.alg && (header.kid.is_none() || k.kid.is_none() || k.kid == header.kid)).collect();
        if candidates.is_empty() {
            return Err(format!("the token is signed with {:?}{}, which this server does not accept", header.alg, header.kid.as_deref().map(|k| format!(" (key '{k}')")).unwrap_or_default()));
        }
        let mut validation = Validation::new(header.alg);
        validation.leeway = 5;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp"]);
        match &self.audience {
            Some(a) => validation.set_audience(&[a]),
            None => validation.validate_aud = false,
        }
        if let Some(i) = &self.issuer {
            validation.set_issuer(&[i]);
        }
        let mut last = String::new();
        for key in candidates {
            match decode::<Map<String, Value>>(token, &key.key, &validation) {
                Ok(data) => return Ok(data.claims),
                Err(e) => last = describe_error(&e),
            }
        }
        Err(last)
    }
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
