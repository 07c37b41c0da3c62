//! `careplan package install|list` end to end, on archives built here,
//! offline or from a registry served on 127.0.0.1.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

fn package_tgz(path: &Path, name: &str, version: &str, resources: usize) {
    let enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut b = tar::Builder::new(enc);
    let mut add = |p: String, data: Vec<u8>| {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, p, data.as_slice()).unwrap();
    };
    add(
        "package/package.json".into(),
        format!(r#"{{"name":"{name}","version":"{version}"}}"#).into_bytes(),
    );
    for i in 0..resources {
        add(
            format!("package/ValueSet-v{i}.json"),
            format!(r#"{{"resourceType":"ValueSet","id":"v{i}","url":"http://x/{i}"}}"#)
                .into_bytes(),
        );
    }
    std::fs::write(path, b.into_inner().unwrap().finish().unwrap()).unwrap();
}

fn careplan(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_careplan"))
        .args(args)
        .env_remove("FHIR_PACKAGE_CACHE")
        .env("CAREPLAN_REGISTRIES", "")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn cli_installs_local_archives_and_lists_the_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let cache_s = cache.to_str().unwrap();
    let a = tmp.path().join("a.tgz");
    let b = tmp.path().join("b.tgz");
    package_tgz(&a, "ex.bbb", "1.0.0", 3);
    package_tgz(&b, "ex.aaa", "2.0.0", 1);

    let (code, out, err) = careplan(&[
        "package",
        "install",
        "--cache",
        cache_s,
        "--offline",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[0].starts_with("ex.bbb#1.0.0  ") && lines[0].ends_with("ex.bbb#1.0.0/package"),
        "{out}"
    );
    assert!(lines[1].starts_with("ex.aaa#2.0.0  "), "{out}");

    let (code, out, err) = careplan(&["package", "list", "--cache", cache_s]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<Vec<&str>> = out
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        lines,
        [
            vec!["ex.aaa#2.0.0", "1", "resource"],
            vec!["ex.bbb#1.0.0", "3", "resources"]
        ]
    );
}

#[test]
fn cli_install_offline_without_the_package_fails_with_advice() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let (code, out, err) = careplan(&[
        "package",
        "install",
        "--cache",
        cache.to_str().unwrap(),
        "--offline",
        "hl7.fhir.r4.core#4.0.1",
    ]);
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(
        err.contains("careplan package install") && err.contains("--ig"),
        "{err}"
    );

    let (code, _, err) = careplan(&[
        "package",
        "install",
        "--cache",
        cache.to_str().unwrap(),
        "bad/name#1",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("name#version"), "{err}");
}

/// An npm-style registry on 127.0.0.1: `GET /name` and `GET /tarballs/…`.
struct Registry {
    base: String,
    routes: Arc<Mutex<HashMap<String, Vec<u8>>>>,
}

impl Registry {
    fn start() -> Registry {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let routes: Arc<Mutex<HashMap<String, Vec<u8>>>> = Arc::default();
        let served = routes.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request = String::new();
                let _ = reader.read_line(&mut request);
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                    line.clear();
                }
                let path = request.split_whitespace().nth(1).unwrap_or("/").to_string();
                let (status, body) = match served.lock().unwrap().get(&path) {
                    Some(b) => ("200 OK", b.clone()),
                    None => ("404 Not Found", b"{}".to_vec()),
                };
                let _ = write!(stream, "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
                let _ = stream.write_all(&body);
            }
        });
        Registry { base, routes }
    }

    /// Publishes `name#version` depending on `deps`, as the latest of `name`.
    fn publish(&self, name: &str, version: &str, deps: &[(&str, &str)]) {
        let tmp = tempfile::tempdir().unwrap();
        let tgz = tmp.path().join("p.tgz");
        package_tgz_with(&tgz, name, version, deps);
        let bytes = std::fs::read(&tgz).unwrap();
        let tarball = format!("/tarballs/{name}-{version}.tgz");
        let deps: serde_json::Map<String, serde_json::Value> = deps.iter().map(|(n, v)| (n.to_string(), (*v).into())).collect();
        let meta = serde_json::json!({"name": name, "dist-tags": {"latest": version}, "versions": {version: {
            "name": name, "version": version, "dependencies": deps,
            "dist": {"tarball": format!("{}{tarball}", self.base), "shasum": sha1_smol::Sha1::from(&bytes).digest().to_string()}}}});
        let mut routes = self.routes.lock().unwrap();
        routes.insert(tarball, bytes);
        routes.insert(format!("/{name}"), meta.to_string().into_bytes());
    }
}

fn package_tgz_with(path: &Path, name: &str, version: &str, deps: &[(&str, &str)]) {
    let enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut b = tar::Builder::new(enc);
    let deps: serde_json::Map<String, serde_json::Value> = deps.iter().map(|(n, v)| (n.to_string(), (*v).into())).collect();
    let manifest = serde_json::json!({"name": name, "version": version, "dependencies": deps}).to_string();
    let mut h = tar::Header::new_gnu();
    h.set_size(manifest.len() as u64);
    h.set_mode(0o644);
    b.append_data(&mut h, "package/package.json", manifest.as_bytes()).unwrap();
    std::fs::write(path, b.into_inner().unwrap().finish().unwrap()).unwrap();
}

fn careplan_with(registries: &str, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_careplan")).args(args).env_remove("FHIR_PACKAGE_CACHE").env("CAREPLAN_REGISTRIES", registries).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn cli_install_is_all_or_nothing_and_names_the_missing_package() {
    let reg = Registry::start();
    reg.publish("ex.guide", "2.0.0", &[("ex.missing", "1.1.0")]);
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let cache_s = cache.to_str().unwrap();
    // Twice: a failed install leaves nothing that would let the second "work".
    for _ in 0..2 {
        let (code, out, err) = careplan_with(&reg.base, &["package", "install", "--cache", cache_s, "ex.guide#2.0.0"]);
        assert_eq!(code, 2, "{out}{err}");
        assert!(out.is_empty(), "{out}");
        assert!(err.starts_with("error: ex.guide#2.0.0: its dependency ex.missing#1.1.0 cannot be had"), "{err}");
        assert!(err.contains(&format!("{}: has no package ex.missing", reg.base)), "{err}");
        assert!(err.contains("Nothing was installed"), "{err}");
        let (_, listed, _) = careplan(&["package", "list", "--cache", cache_s]);
        assert!(listed.is_empty(), "{listed}");
    }
    // Published, it installs with its dependency.
    reg.publish("ex.missing", "1.1.0", &[]);
    let (code, out, err) = careplan_with(&reg.base, &["package", "install", "--cache", cache_s, "ex.guide#2.0.0"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().map(|l| l.split_whitespace().next().unwrap()).collect::<Vec<_>>(), ["ex.guide#2.0.0", "ex.missing#1.1.0"]);
}

#[test]
fn cli_a_substitute_version_is_said_once() {
    let reg = Registry::start();
    reg.publish("ex.app", "1.0.0", &[("ex.lib", "1.0.0")]);
    reg.publish("ex.lib", "2.0.0-ballot", &[]);
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let cache_s = cache.to_str().unwrap();
    let (code, _, err) = careplan_with(&reg.base, &["package", "install", "--cache", cache_s, "ex.app#1.0.0"]);
    assert_eq!(code, 0, "{err}");
    let said: Vec<&str> = err.lines().filter(|l| l.contains("ex.lib")).collect();
    assert_eq!(said.len(), 1, "{err}");
    assert!(
        said[0].starts_with("warning: ex.app#1.0.0 depends on ex.lib#1.0.0, which no registry has; using ex.lib#2.0.0-ballot, the latest on")
            && said[0].contains("(a pre-release version)"),
        "{err}"
    );
    // Again, even with no registry at all: the same choice, without a word.
    let (code, out, err) = careplan(&["package", "install", "--cache", cache_s, "--offline", "ex.app#1.0.0"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.is_empty(), "{err}");
    assert!(out.contains("ex.lib#2.0.0-ballot"), "{out}");
}

#[test]
fn cli_fetch_gets_one_archive_without_its_dependencies() {
    let reg = Registry::start();
    reg.publish("ex.guide", "2.0.0", &[("ex.missing", "1.1.0")]);
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let (code, _, err) = careplan_with(&reg.base, &["package", "install", "--cache", cache.to_str().unwrap(), "ex.guide#2.0.0"]);
    assert_eq!(code, 2);
    assert!(err.contains("`careplan package fetch ex.guide#2.0.0`"), "the refusal says how to go on without the dependency: {err}");

    let out_dir = tmp.path().join("archives");
    let (code, out, err) = careplan_with(&reg.base, &["package", "fetch", "--out", out_dir.to_str().unwrap(), "ex.guide#2.0.0"]);
    assert_eq!(code, 0, "{err}");
    let archive = out_dir.join("ex.guide-2.0.0.tgz");
    assert_eq!(out.trim(), archive.display().to_string());
    assert_eq!(reg.routes.lock().unwrap()["/tarballs/ex.guide-2.0.0.tgz"], std::fs::read(&archive).unwrap(), "the published bytes");
    assert!(!cache.join("ex.guide#2.0.0").exists(), "the cache is left as it was");

    let (code, _, err) = careplan_with(&reg.base, &["package", "fetch", "--out", out_dir.to_str().unwrap(), "ex.nowhere#1.0.0"]);
    assert_eq!(code, 2);
    assert!(err.starts_with("error: ex.nowhere#1.0.0") && err.contains("has no package ex.nowhere"), "{err}");
}
