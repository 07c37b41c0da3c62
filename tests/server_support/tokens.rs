//! Bearer tokens for servers started with `--auth` in tests: RS256, signed
//! with the test-only keys of tests/keys, and the flags that make a server
//! trust them.

use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

use super::Server;

pub const ISSUER: &str = "https://idp.example.test";
pub const AUDIENCE: &str = "https://careplan.example.test/fhir";

pub fn keys() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/keys")
}

pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// Claims of a valid token: `sub`, scopes, and any more given.
pub fn claims(sub: &str, scope: &str, more: Value) -> Value {
    let mut c = json!({"iss": ISSUER, "aud": AUDIENCE, "sub": sub, "scope": scope, "iat": now(), "exp": now() + 600});
    for (k, v) in more.as_object().unwrap() {
        c[k] = v.clone();
    }
    c
}

pub fn signed_with(pem: &str, kid: &str, claims: &Value) -> String {
    let key = EncodingKey::from_rsa_pem(&std::fs::read(keys().join(pem)).unwrap()).unwrap();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.into());
    encode(&header, claims, &key).unwrap()
}

pub fn rs256(claims: &Value) -> String {
    signed_with("test-only-rs256.key.pem", "test-key-1", claims)
}

pub fn token(sub: &str, scope: &str, more: Value) -> String {
    rs256(&claims(sub, scope, more))
}

/// A server that checks tokens made by [`token`].
pub fn start(dir: &Path, more: &[&str]) -> Server {
    let jwks = format!("jwks:{}", keys().join("test-only-jwks.json").display());
    let mut args = vec!["--auth", jwks.as_str(), "--auth-issuer", ISSUER, "--auth-audience", AUDIENCE];
    args.extend_from_slice(more);
    Server::start(dir, &args)
}
