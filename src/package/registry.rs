//! npm-style package registries: the FHIR package registry and the npm
//! registry configured for the npm client.
//!
//! Protocol: `GET {registry}/{name}` returns JSON with `dist-tags.latest`
//! and `versions.{v}.dist.tarball` / `dist.shasum` / `dependencies`.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Read, Write};
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use super::version::compare_versions;
use super::PackageError;

/// The FHIR package registry.
pub const FHIR_REGISTRY: &str = "https://packages.fhir.org";

/// Where packages are looked for, in order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Registries {
    pub urls: Vec<String>,
    pub offline: bool,
}

impl Registries {
    /// The default list: the FHIR package registry (https://packages.fhir.org)
    /// then the npm registry (as configured for the npm client; skipped when
    /// none is configured, or when offline). $CAREPLAN_REGISTRIES
    /// (comma-separated) replaces the list; $CAREPLAN_OFFLINE=1 sets offline.
    pub fn default_list() -> Registries {
        let offline = std::env::var("CAREPLAN_OFFLINE")
            .map(|v| is_truthy(&v))
            .unwrap_or(false);
        let urls = match std::env::var("CAREPLAN_REGISTRIES") {
            Ok(list) => split_list(&list),
            Err(_) => {
                let mut urls = vec![FHIR_REGISTRY.to_string()];
                // Offline, the list is never used: skip asking npm.
                match if offline { None } else { npm_registry() } {
                    Some(npm) => urls.push(npm),
                    None => {
                        tracing::debug!("no npm registry configured; using the FHIR registry only")
                    }
                }
                urls
            }
        };
        Registries { urls, offline }
    }

    /// Registries from an explicit list (trailing slashes are dropped).
    pub fn new<S: AsRef<str>>(urls: impl IntoIterator<Item = S>, offline: bool) -> Registries {
        Registries {
            urls: urls
                .into_iter()
                .map(|u| u.as_ref().trim().trim_end_matches('/').to_string())
                .collect(),
            offline,
        }
    }

    /// No registries at all: only the cache is used.
    pub fn offline() -> Registries {
        Registries {
            urls: Vec::new(),
            offline: true,
        }
    }
}

fn is_truthy(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "1" | "true" | "yes" | "on"
    )
}

fn split_list(list: &str) -> Vec<String> {
    list.split(',')
        .map(|s| s.trim().trim_end_matches('/'))
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// The npm registry the npm client would use: `npm_config_registry` /
/// `NPM_CONFIG_REGISTRY`, then a `registry=` line in ~/.npmrc, then
/// `npm config get registry`.
pub fn npm_registry() -> Option<String> {
    let env = |k: &str| std::env::var(k).ok();
    let npmrc = home_dir().and_then(|h| std::fs::read_to_string(h.join(".npmrc")).ok());
    npm_registry_from(env, npmrc.as_deref()).or_else(npm_config_get_registry)
}

pub(crate) fn home_dir() -> Option<std::path::PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(std::path::PathBuf::from)
}

/// The environment and ~/.npmrc steps of [`npm_registry`].
pub(crate) fn npm_registry_from(
    env: impl Fn(&str) -> Option<String>,
    npmrc: Option<&str>,
) -> Option<String> {
    let clean = |s: &str| {
        let s = s.trim().trim_matches('"').trim_end_matches('/');
        (s.starts_with("http://") || s.starts_with("https://")).then(|| s.to_string())
    };
    for key in ["npm_config_registry", "NPM_CONFIG_REGISTRY"] {
        if let Some(url) = env(key).as_deref().and_then(clean) {
            return Some(url);
        }
    }
    npmrc?.lines().find_map(|line| {
        let line = line.trim();
        let (k, v) = line.split_once('=')?;
        (k.trim() == "registry").then(|| clean(v)).flatten()
    })
}

fn npm_config_get_registry() -> Option<String> {
    use std::process::{Command, Stdio};
    let mut child = Command::new("npm")
        .args(["config", "get", "registry"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| tracing::debug!("npm not available: {e}"))
        .ok()?;
    // npm should answer in well under a second; never hang on it.
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(25))
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
    let mut out = String::new();
    child.stdout.take()?.read_to_string(&mut out).ok()?;
    let url = out.trim().trim_end_matches('/');
    (url.starts_with("http://") || url.starts_with("https://")).then(|| url.to_string())
}

/// One version of a package as a registry describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VersionInfo {
    pub tarball: String,
    pub shasum: Option<String>,
    pub dependencies: BTreeMap<String, String>,
}

/// A registry's answer for a package name.
#[derive(Debug, Clone, Default)]
pub(crate) struct PackageInfo {
    pub latest: Option<String>,
    pub versions: BTreeMap<String, VersionInfo>,
}

impl PackageInfo {
    pub(crate) fn parse(v: &Value) -> PackageInfo {
        let mut info = PackageInfo {
            latest: v
                .pointer("/dist-tags/latest")
                .and_then(Value::as_str)
                .map(str::to_string),
            ..PackageInfo::default()
        };
        if let Some(versions) = v.get("versions").and_then(Value::as_object) {
            for (ver, meta) in versions {
                let Some(tarball) = meta.pointer("/dist/tarball").and_then(Value::as_str) else {
                    continue;
                };
                let dependencies = meta
                    .get("dependencies")
                    .and_then(Value::as_object)
                    .map(|d| {
                        d.iter()
                            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                            .collect()
                    })
                    .unwrap_or_default();
                info.versions.insert(
                    ver.clone(),
                    VersionInfo {
                        tarball: tarball.to_string(),
                        shasum: meta
                            .pointer("/dist/shasum")
                            .and_then(Value::as_str)
                            .map(str::to_string),
                        dependencies,
                    },
                );
            }
        }
        if info
            .latest
            .as_ref()
            .is_some_and(|l| !info.versions.contains_key(l))
        {
            info.latest = None;
        }
        if info.latest.is_none() {
            info.latest = info
                .versions
                .keys()
                .max_by(|a, b| compare_versions(a, b))
                .cloned();
        }
        info
    }

    /// Versions offered, oldest first.
    pub(crate) fn version_list(&self) -> Vec<String> {
        let mut v: Vec<String> = self.versions.keys().cloned().collect();
        v.sort_by(|a, b| compare_versions(a, b));
        v
    }
}

/// Why a registry could not answer.
#[derive(Debug)]
pub(crate) enum FetchError {
    /// The registry answered but does not know the package.
    NotFound,
    /// The registry could not be reached or answered badly.
    Unreachable(String),
}

/// HTTP access to registries.
pub(crate) struct Client {
    http: reqwest::blocking::Client,
}

/// An HTTP client set up as every outgoing call of careplan needs: our
/// user agent, a connect timeout, and the system's certificates as well as
/// the built-in ones (networks with inspecting proxies depend on that).
pub(crate) fn http_client_builder() -> reqwest::blocking::ClientBuilder {
    let mut builder = reqwest::blocking::Client::builder()
        .user_agent(concat!("careplan/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(10));
    for cert in system_certificates() {
        builder = builder.add_root_certificate(cert);
    }
    builder
}

impl Client {
    pub(crate) fn new() -> Result<Client, PackageError> {
        let http = http_client_builder().timeout(None).build().map_err(|e| PackageError::Download {
            url: "(http client)".into(),
            reason: e.to_string(),
        })?;
        Ok(Client { http })
    }

    /// `GET {registry}/{name}`.
    pub(crate) fn package_info(
        &self,
        registry: &str,
        name: &str,
    ) -> Result<PackageInfo, FetchError> {
        let url = format!("{}/{}", registry.trim_end_matches('/'), name);
        let resp = self
            .http
            .get(&url)
            .header(
                "Accept",
                "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8",
            )
            .timeout(Duration::from_secs(60))
            .send()
            .map_err(|e| FetchError::Unreachable(format!("{url}: {}", error_chain(&e))))?;
        let status = resp.status();
        if status == reqwest::StatusCode::NOT_FOUND || status == reqwest::StatusCode::GONE {
            return Err(FetchError::NotFound);
        }
        if !status.is_success() {
            return Err(FetchError::Unreachable(format!("{url}: HTTP {status}")));
        }
        let body = resp
            .bytes()
            .map_err(|e| FetchError::Unreachable(format!("{url}: {}", error_chain(&e))))?;
        let v: Value = serde_json::from_slice(&body)
            .map_err(|e| FetchError::Unreachable(format!("{url}: bad JSON: {e}")))?;
        Ok(PackageInfo::parse(&v))
    }

    /// Download `url` to `dest`, checking the sha1 when one is given. Shows a
    /// progress bar on stderr when `progress` is set and stderr is a terminal.
    pub(crate) fn download(
        &self,
        url: &str,
        shasum: Option<&str>,
        dest: &Path,
        progress: bool,
        label: &str,
    ) -> Result<(), PackageError> {
        let fail = |reason: String| PackageError::Download {
            url: url.to_string(),
            reason,
        };
        // Blocking reqwest has no per-read timeout; bound the whole download
        // generously so a stalled connection cannot hang forever.
        let mut resp = self
            .http
            .get(url)
            .timeout(Duration::from_secs(15 * 60))
            .send()
            .map_err(|e| fail(error_chain(&e)))?;
        if !resp.status().is_success() {
            return Err(fail(format!("HTTP {}", resp.status())));
        }
        let bar = if progress && std::io::stderr().is_terminal() {
            let bar = match resp.content_length() {
                Some(n) => indicatif::ProgressBar::new(n).with_style(
                    indicatif::ProgressStyle::with_template(
                        "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
                    )
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                    .progress_chars("=> "),
                ),
                None => indicatif::ProgressBar::new_spinner().with_style(
                    indicatif::ProgressStyle::with_template(
                        "{spinner} {msg} {bytes} {bytes_per_sec}",
                    )
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
                ),
            };
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            bar.set_message(label.to_string());
            Some(bar)
        } else {
            None
        };
        let mut file =
            std::fs::File::create(dest).map_err(|e| PackageError::io("write", dest, e))?;
        let mut hasher = sha1_smol::Sha1::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = resp.read(&mut buf).map_err(|e| fail(e.to_string()))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            file.write_all(&buf[..n])
                .map_err(|e| PackageError::io("write", dest, e))?;
            if let Some(bar) = &bar {
                bar.inc(n as u64);
            }
        }
        file.flush()
            .map_err(|e| PackageError::io("write", dest, e))?;
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        if let Some(expected) = shasum {
            let actual = hasher.digest().to_string();
            if !actual.eq_ignore_ascii_case(expected.trim()) {
                return Err(PackageError::Checksum {
                    url: url.to_string(),
                    expected: expected.to_string(),
                    actual,
                });
            }
        }
        Ok(())
    }
}

/// Certificates of the system's CA bundle ($SSL_CERT_FILE, else the usual
/// bundle locations), trusted on top of the built-in roots so that
/// registries behind an organisation's TLS-inspecting proxy work as they do
/// for the npm client and curl.
fn system_certificates() -> Vec<reqwest::Certificate> {
    let candidates = std::env::var_os("SSL_CERT_FILE")
        .map(std::path::PathBuf::from)
        .into_iter()
        .chain(
            [
                "/etc/ssl/certs/ca-certificates.crt",
                "/etc/pki/tls/certs/ca-bundle.crt",
                "/etc/ssl/cert.pem",
            ]
            .map(std::path::PathBuf::from),
        );
    for path in candidates {
        let Ok(pem) = std::fs::read(&path) else {
            continue;
        };
        match reqwest::Certificate::from_pem_bundle(&pem) {
            Ok(certs) => {
                tracing::debug!(
                    "trusting {} certificates from {}",
                    certs.len(),
                    path.display()
                );
                return certs;
            }
            Err(e) => tracing::debug!("ignoring CA bundle {}: {e}", path.display()),
        }
    }
    Vec::new()
}

/// The error and its causes, `: `-separated. reqwest's outermost message
/// only repeats the URL, so it is left out when there is a cause.
fn error_chain(e: &reqwest::Error) -> String {
    let mut cur = std::error::Error::source(e);
    let Some(first) = cur else {
        return e.to_string();
    };
    let mut s = first.to_string();
    cur = first.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npm_registry_comes_from_env_then_npmrc() {
        let env =
            |k: &str| (k == "NPM_CONFIG_REGISTRY").then(|| "https://env.example/".to_string());
        assert_eq!(
            npm_registry_from(env, Some("registry=https://rc.example/")).as_deref(),
            Some("https://env.example")
        );
        let none = |_: &str| None;
        let rc = "fund=false\n; comment\n registry = \"https://rc.example/npm/\"\n";
        assert_eq!(
            npm_registry_from(none, Some(rc)).as_deref(),
            Some("https://rc.example/npm")
        );
        assert_eq!(
            npm_registry_from(none, Some("@scope:registry=https://x.example")),
            None
        );
        assert_eq!(npm_registry_from(none, None), None);
    }

    #[test]
    fn parses_registry_metadata() {
        let v: Value = serde_json::from_str(
            r#"{"dist-tags":{"latest":"2.0.0"},"versions":{
                "1.0.0":{"dist":{"tarball":"http://h/a-1.tgz","shasum":"abc"},"dependencies":{"b":"1.0.0"}},
                "2.0.0":{"dist":{"tarball":"http://h/a-2.tgz"}},
                "3.0.0":{"nodist":true}}}"#,
        )
        .unwrap();
        let info = PackageInfo::parse(&v);
        assert_eq!(info.latest.as_deref(), Some("2.0.0"));
        assert_eq!(info.version_list(), ["1.0.0", "2.0.0"]);
        assert_eq!(info.versions["1.0.0"].shasum.as_deref(), Some("abc"));
        assert_eq!(info.versions["1.0.0"].dependencies["b"], "1.0.0");

        let info = PackageInfo::parse(
            &serde_json::json!({"versions":{"1.2.0":{"dist":{"tarball":"t"}},"1.10.0":{"dist":{"tarball":"t"}}}}),
        );
        assert_eq!(info.latest.as_deref(), Some("1.10.0"));
    }
}
