//! `careplan package install|list` end to end, offline, on archives built here.

use std::path::Path;
use std::process::Command;

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
