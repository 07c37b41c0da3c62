//! Tests of the package cache against archives built here and a registry
//! served from 127.0.0.1 (no external network).

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use super::*;

// ---------- archives ----------

fn tgz(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut b = tar::Builder::new(enc);
    for (path, data) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, path, data.as_slice()).unwrap();
    }
    b.into_inner().unwrap().finish().unwrap()
}

/// An archive with one entry whose name is written as is (the tar crate's
/// safe setters refuse `..` and absolute names).
fn raw_tgz(name: &str, kind: tar::EntryType, link: Option<&str>) -> Vec<u8> {
    let enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut b = tar::Builder::new(enc);
    // A valid package.json first, so the entry below is what gets refused.
    let pj = manifest_json("evil.pkg", "1.0.0", &[]);
    let mut h = tar::Header::new_gnu();
    h.set_size(pj.len() as u64);
    h.set_mode(0o644);
    b.append_data(&mut h, "package/package.json", pj.as_slice())
        .unwrap();

    let data: &[u8] = if kind == tar::EntryType::Regular {
        b"{\"resourceType\":\"Patient\"}"
    } else {
        b""
    };
    let mut h = tar::Header::new_old();
    let field = &mut h.as_old_mut().name;
    field[..name.len()].copy_from_slice(name.as_bytes());
    h.set_entry_type(kind);
    h.set_mode(0o644);
    h.set_size(data.len() as u64);
    if let Some(l) = link {
        h.as_old_mut().linkname[..l.len()].copy_from_slice(l.as_bytes());
    }
    h.set_cksum();
    b.append(&h, data).unwrap();
    b.into_inner().unwrap().finish().unwrap()
}

fn manifest_json(name: &str, version: &str, deps: &[(&str, &str)]) -> Vec<u8> {
    let deps: BTreeMap<_, _> = deps
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    serde_json::to_vec(
        &json!({"name": name, "version": version, "fhirVersions": ["4.0.1"], "dependencies": deps}),
    )
    .unwrap()
}

/// A package archive with a StructureDefinition and a top folder `top`.
fn package_tgz(name: &str, version: &str, deps: &[(&str, &str)], top: &str) -> Vec<u8> {
    let sd = json!({"resourceType": "StructureDefinition", "id": format!("{name}-sd"), "url": format!("http://example.org/{name}/sd"),
        "version": version, "kind": "resource", "type": "Patient"});
    let p = |f: &str| {
        if top.is_empty() {
            f.to_string()
        } else {
            format!("{top}/{f}")
        }
    };
    tgz(&[
        (&p("package.json"), manifest_json(name, version, deps)),
        (
            &p("StructureDefinition-sd.json"),
            serde_json::to_vec(&sd).unwrap(),
        ),
    ])
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// Put a package straight into a cache folder, as another tool would.
fn place_by_hand(root: &Path, name: &str, version: &str) {
    write(
        &root.join(format!("{name}#{version}/package/package.json")),
        &manifest_json(name, version, &[]),
    );
}

fn work_dirs_left(root: &Path) -> Vec<String> {
    std::fs::read_dir(root)
        .map(|rd| {
            rd.filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|n| n.starts_with(".careplan-tmp"))
                .collect()
        })
        .unwrap_or_default()
}

// ---------- a registry on 127.0.0.1 ----------

/// One published version: (version, dependencies, archive).
type Published<'a> = (&'a str, &'a [(&'a str, &'a str)], Vec<u8>);

struct Registry {
    base: String,
    routes: Arc<Mutex<HashMap<String, Vec<u8>>>>,
    hits: Arc<Mutex<Vec<String>>>,
}

impl Registry {
    fn start() -> Registry {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let routes: Arc<Mutex<HashMap<String, Vec<u8>>>> = Arc::default();
        let hits: Arc<Mutex<Vec<String>>> = Arc::default();
        let (r, h) = (routes.clone(), hits.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).is_err() {
                    continue;
                }
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).map(|n| n == 0).unwrap_or(true) || line == "\r\n"
                    {
                        break;
                    }
                }
                let path = request_line
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or("/")
                    .to_string();
                h.lock().unwrap().push(path.clone());
                let body = r.lock().unwrap().get(&path).cloned();
                let (status, body) = match body {
                    Some(b) => ("200 OK", b),
                    None => ("404 Not Found", b"{\"error\":\"not found\"}".to_vec()),
                };
                let head = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n", body.len());
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&body);
            }
        });
        Registry { base, routes, hits }
    }

    /// Publish versions of a package: (version, dependencies, archive).
    fn publish(&self, name: &str, latest: &str, versions: &[Published]) {
        let mut vs = serde_json::Map::new();
        let mut routes = self.routes.lock().unwrap();
        for (v, deps, archive) in versions {
            let tar_path = format!("/tarballs/{name}-{v}.tgz");
            let deps: BTreeMap<_, _> = deps
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            vs.insert(
                v.to_string(),
                json!({"name": name, "version": v, "dependencies": deps,
                    "dist": {"tarball": format!("{}{tar_path}", self.base), "shasum": sha1_smol::Sha1::from(archive).digest().to_string()}}),
            );
            routes.insert(tar_path, archive.clone());
        }
        let meta =
            json!({"name": name, "dist-tags": {"latest": latest}, "versions": Value::Object(vs)});
        routes.insert(format!("/{name}"), serde_json::to_vec(&meta).unwrap());
    }

    fn hits(&self, path: &str) -> usize {
        self.hits
            .lock()
            .unwrap()
            .iter()
            .filter(|h| *h == path)
            .count()
    }

    fn registries(&self) -> Registries {
        Registries::new([self.base.as_str()], false)
    }
}

/// An address on which nothing listens: connections are refused at once.
fn closed_port() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    format!("http://{addr}")
}

fn refs(pkgs: &[InstalledPackage]) -> Vec<String> {
    pkgs.iter().map(InstalledPackage::reference).collect()
}

// ---------- tests ----------

#[test]
fn default_packages_are_core_terminology_and_extensions() {
    let d: Vec<String> = default_packages().iter().map(ToString::to_string).collect();
    assert_eq!(
        d,
        [
            "hl7.fhir.r4.core#4.0.1",
            "hl7.terminology.r4",
            "hl7.fhir.uv.extensions.r4"
        ]
    );
}

#[test]
fn install_tgz_unpacks_under_name_version_and_builds_the_index() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("cache");
    let sd = json!({"resourceType": "StructureDefinition", "id": "sd1", "url": "http://x/sd1", "version": "1.2.0", "kind": "resource", "type": "Patient"});
    let vs = json!({"resourceType": "ValueSet", "id": "vs1", "url": "http://x/vs1"});
    let obs = json!({"resourceType": "Observation", "id": "o1", "type": {"text": "not a string"}});
    let archive = tgz(&[
        (
            "package/package.json",
            manifest_json("ex.one", "1.2.0", &[("ex.two", "2.0.0")]),
        ),
        (
            "package/StructureDefinition-sd1.json",
            serde_json::to_vec(&sd).unwrap(),
        ),
        (
            "package/ValueSet-vs1.json",
            b"\xEF\xBB\xBF"
                .iter()
                .copied()
                .chain(serde_json::to_vec(&vs).unwrap())
                .collect(),
        ),
        (
            "package/Observation-o1.json",
            serde_json::to_vec(&obs).unwrap(),
        ),
        ("package/notes.txt", b"hello".to_vec()),
        ("package/broken.json", b"{not json".to_vec()),
        ("package/array.json", b"[1,2]".to_vec()),
        (
            "package/example/Patient-p.json",
            br#"{"resourceType":"Patient","id":"p"}"#.to_vec(),
        ),
    ]);
    let tgz_path = tmp.path().join("one.tgz");
    std::fs::write(&tgz_path, archive).unwrap();

    let cache = PackageCache::new(root.clone());
    let p = cache.install_tgz(&tgz_path).unwrap();
    assert_eq!((p.name.as_str(), p.version.as_str()), ("ex.one", "1.2.0"));
    assert_eq!(p.dir, root.join("ex.one#1.2.0/package"));
    assert_eq!(p.manifest.dependencies["ex.two"], "2.0.0");
    assert_eq!(std::fs::read(p.dir.join("notes.txt")).unwrap(), b"hello");
    assert!(p.dir.join("example/Patient-p.json").is_file());
    assert!(
        p.dir.join(".index.json").is_file(),
        "the index is written at install"
    );
    assert!(work_dirs_left(&root).is_empty());

    let index = p.index().unwrap();
    let names: Vec<&str> = index.iter().map(|e| e.filename.as_str()).collect();
    assert_eq!(
        names,
        [
            "Observation-o1.json",
            "StructureDefinition-sd1.json",
            "ValueSet-vs1.json"
        ]
    );
    let sd_entry = &index[1];
    assert_eq!(sd_entry.resource_type, "StructureDefinition");
    assert_eq!(sd_entry.id.as_deref(), Some("sd1"));
    assert_eq!(sd_entry.url.as_deref(), Some("http://x/sd1"));
    assert_eq!(sd_entry.version.as_deref(), Some("1.2.0"));
    assert_eq!(sd_entry.kind.as_deref(), Some("resource"));
    assert_eq!(sd_entry.type_.as_deref(), Some("Patient"));
    assert_eq!(
        index[0].type_, None,
        "a CodeableConcept `type` is not a type name"
    );

    // The written file is in the HL7 format.
    let on_disk: Value =
        serde_json::from_slice(&std::fs::read(p.dir.join(".index.json")).unwrap()).unwrap();
    assert_eq!(on_disk["index-version"], 1);
    assert_eq!(on_disk["files"][1]["resourceType"], "StructureDefinition");
    assert_eq!(on_disk["files"][1]["type"], "Patient");
    assert!(on_disk["files"][2].get("kind").is_none());

    assert_eq!(refs(&cache.list()), ["ex.one#1.2.0"]);
}

#[test]
fn index_is_built_and_saved_when_missing_and_read_back_when_present() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    place_by_hand(root, "ex.hand", "1.0.0");
    let dir = root.join("ex.hand#1.0.0/package");
    write(
        &dir.join("CodeSystem-cs.json"),
        br#"{"resourceType":"CodeSystem","id":"cs","url":"http://x/cs"}"#,
    );
    let cache = PackageCache::new(root.to_path_buf());
    let p = cache.find(&"ex.hand#1.0.0".parse().unwrap()).unwrap();
    assert!(!dir.join(".index.json").exists());
    let index = p.index().unwrap();
    assert_eq!(index.len(), 1);
    assert_eq!(index[0].url.as_deref(), Some("http://x/cs"));
    assert!(
        dir.join(".index.json").is_file(),
        "the built index is saved"
    );
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());

    // An existing index is used as is (an HL7 tool may have written it).
    write(&dir.join(".index.json"), br#"{"index-version":2,"files":[{"filename":"x.json","resourceType":"ValueSet","url":"http://x/vs","extra":1}]}"#);
    let index = p.index().unwrap();
    assert_eq!(index.len(), 1);
    assert_eq!(index[0].filename, "x.json");

    // A corrupt index is rebuilt.
    write(&dir.join(".index.json"), b"garbage");
    assert_eq!(p.index().unwrap()[0].filename, "CodeSystem-cs.json");
}

#[test]
fn archives_with_another_top_folder_or_none_land_under_package() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = PackageCache::new(tmp.path().join("cache"));
    for (i, top) in ["ex.odd", ""].iter().enumerate() {
        let name = format!("ex.top{i}");
        let path = tmp.path().join(format!("{name}.tgz"));
        std::fs::write(&path, package_tgz(&name, "0.1.0", &[], top)).unwrap();
        let p = cache.install_tgz(&path).unwrap();
        assert_eq!(p.dir, cache.root().join(format!("{name}#0.1.0/package")));
        assert!(p.dir.join("package.json").is_file());
        assert!(p.dir.join("StructureDefinition-sd.json").is_file());
        assert_eq!(p.index().unwrap().len(), 1);
    }
    assert!(work_dirs_left(cache.root()).is_empty());
}

#[test]
fn unsafe_archive_entries_are_refused_and_nothing_is_installed() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("cache");
    let cache = PackageCache::new(root.clone());
    let cases = [
        (
            "package/../../escaped.json",
            tar::EntryType::Regular,
            None,
            "`..`",
        ),
        ("../escaped.json", tar::EntryType::Regular, None, "`..`"),
        (
            "/tmp/careplan-abs-escape.json",
            tar::EntryType::Regular,
            None,
            "absolute",
        ),
        (
            "package/link.json",
            tar::EntryType::Symlink,
            Some("/etc/passwd"),
            "link",
        ),
        (
            "package/hard.json",
            tar::EntryType::Link,
            Some("package/package.json"),
            "link",
        ),
    ];
    for (i, (entry, kind, link, why)) in cases.into_iter().enumerate() {
        let path = tmp.path().join(format!("evil{i}.tgz"));
        std::fs::write(&path, raw_tgz(entry, kind, link)).unwrap();
        let err = cache.install_tgz(&path).unwrap_err();
        match &err {
            PackageError::UnsafeArchive { reason, .. } => {
                assert!(reason.contains(why), "{entry}: {err}")
            }
            other => panic!("{entry}: expected UnsafeArchive, got {other:?}"),
        }
        assert!(err.to_string().contains("nothing was installed"));
    }
    assert!(!tmp.path().join("escaped.json").exists());
    assert!(!root.join("escaped.json").exists());
    assert!(!Path::new("/tmp/careplan-abs-escape.json").exists());
    assert!(cache.list().is_empty());
    assert!(work_dirs_left(&root).is_empty());
}

#[test]
fn not_an_archive_or_no_package_json_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = PackageCache::new(tmp.path().join("cache"));
    let junk = tmp.path().join("junk.tgz");
    std::fs::write(&junk, b"this is not gzip").unwrap();
    assert!(matches!(
        cache.install_tgz(&junk),
        Err(PackageError::BadArchive { .. })
    ));
    let nojson = tmp.path().join("nojson.tgz");
    std::fs::write(&nojson, tgz(&[("package/readme.md", b"hi".to_vec())])).unwrap();
    let err = cache.install_tgz(&nojson).unwrap_err();
    assert!(err.to_string().contains("no package.json"), "{err}");
    let evil_name = tmp.path().join("evilname.tgz");
    std::fs::write(
        &evil_name,
        tgz(&[("package/package.json", manifest_json("../x", "1.0.0", &[]))]),
    )
    .unwrap();
    assert!(matches!(
        cache.install_tgz(&evil_name),
        Err(PackageError::BadArchive { .. })
    ));
    assert!(cache.list().is_empty());
}

#[test]
fn find_picks_exact_or_newest_and_substitutes_examples_for_core() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    for (n, v) in [
        ("ex.multi", "1.9.0"),
        ("ex.multi", "1.10.0"),
        ("ex.multi", "1.10.0-ballot"),
        ("hl7.fhir.r4.examples", "4.0.1"),
    ] {
        place_by_hand(root, n, v);
    }
    std::fs::create_dir_all(root.join("not-a-package")).unwrap();
    std::fs::create_dir_all(root.join("ex.empty#1.0.0")).unwrap(); // no package.json: not installed
    let cache = PackageCache::new(root.to_path_buf());
    let find = |s: &str| cache.find(&s.parse().unwrap()).map(|p| p.reference());

    assert_eq!(find("ex.multi#1.9.0").as_deref(), Some("ex.multi#1.9.0"));
    assert_eq!(find("ex.multi").as_deref(), Some("ex.multi#1.10.0"));
    assert_eq!(find("ex.multi#2.0.0"), None);
    assert_eq!(find("ex.empty"), None);
    assert_eq!(
        find("hl7.fhir.r4.core#4.0.1").as_deref(),
        Some("hl7.fhir.r4.examples#4.0.1")
    );
    assert_eq!(
        find("hl7.fhir.r4.core").as_deref(),
        Some("hl7.fhir.r4.examples#4.0.1")
    );
    assert_eq!(find("hl7.fhir.r4.core#4.0.0"), None);

    place_by_hand(root, "hl7.fhir.r4.core", "4.0.1");
    assert_eq!(
        find("hl7.fhir.r4.core#4.0.1").as_deref(),
        Some("hl7.fhir.r4.core#4.0.1"),
        "the real core wins when present"
    );

    assert_eq!(
        refs(&cache.list()),
        [
            "ex.multi#1.9.0",
            "ex.multi#1.10.0-ballot",
            "ex.multi#1.10.0",
            "hl7.fhir.r4.core#4.0.1",
            "hl7.fhir.r4.examples#4.0.1"
        ]
    );
}

/// The shape of the real registries: two packages that depend on each other
/// at versions nobody has, and R4 core only as the examples package.
fn publish_fhir_like(reg: &Registry) {
    reg.publish(
        "ex.root",
        "1.0.0",
        &[(
            "1.0.0",
            &[("ex.term", "7.0.1"), (R4_CORE, "4.0.1")],
            package_tgz(
                "ex.root",
                "1.0.0",
                &[("ex.term", "7.0.1"), (R4_CORE, "4.0.1")],
                "package",
            ),
        )],
    );
    reg.publish(
        "ex.term",
        "7.0.1",
        &[(
            "7.0.1",
            &[("ex.ext", "5.2.0")],
            package_tgz("ex.term", "7.0.1", &[("ex.ext", "5.2.0")], "package"),
        )],
    );
    reg.publish(
        "ex.ext",
        "5.3.0-ballot",
        &[
            ("5.0.0", &[], package_tgz("ex.ext", "5.0.0", &[], "package")),
            (
                "5.3.0-ballot",
                &[("ex.term", "6.5.0"), (R4_CORE, "4.0.1")],
                package_tgz(
                    "ex.ext",
                    "5.3.0-ballot",
                    &[("ex.term", "6.5.0"), (R4_CORE, "4.0.1")],
                    "package",
                ),
            ),
        ],
    );
    reg.publish(
        R4_EXAMPLES,
        "4.0.1",
        &[(
            "4.0.1",
            &[],
            package_tgz(R4_EXAMPLES, "4.0.1", &[], "package"),
        )],
    );
}

#[test]
fn install_resolves_dependencies_missing_versions_cycles_and_core() {
    let reg = Registry::start();
    publish_fhir_like(&reg);
    let tmp = tempfile::tempdir().unwrap();
    let cache = PackageCache::new(tmp.path().to_path_buf());
    // An unreachable registry first: skipped, the next one answers.
    let registries = Registries::new([closed_port(), reg.base.clone()], false);

    let got = cache
        .install(&"ex.root#1.0.0".parse().unwrap(), &registries, false)
        .unwrap();
    assert_eq!(
        refs(&got),
        [
            "ex.root#1.0.0",
            "ex.term#7.0.1",
            "hl7.fhir.r4.examples#4.0.1",
            "ex.ext#5.3.0-ballot"
        ]
    );
    for p in &got {
        assert!(p.dir.join("package.json").is_file());
        assert!(p.dir.join(".index.json").is_file());
        assert_eq!(p.index().unwrap().len(), 1);
    }
    assert_eq!(
        reg.hits("/hl7.fhir.r4.core"),
        1,
        "core is looked up once, then the examples stand in"
    );
    assert_eq!(reg.hits("/tarballs/ex.ext-5.3.0-ballot.tgz"), 1);
    assert_eq!(reg.hits("/tarballs/ex.ext-5.0.0.tgz"), 0);
    assert_eq!(reg.hits("/tarballs/ex.term-6.5.0.tgz"), 0);
    assert!(work_dirs_left(cache.root()).is_empty());

    // Everything pinned is now served from the cache: no more downloads.
    let again = cache
        .install(&"ex.root#1.0.0".parse().unwrap(), &registries, false)
        .unwrap();
    assert_eq!(refs(&again), refs(&got));
    assert_eq!(reg.hits("/tarballs/ex.root-1.0.0.tgz"), 1);
    assert_eq!(reg.hits("/tarballs/hl7.fhir.r4.examples-4.0.1.tgz"), 1);

    // Asking for core directly gives the examples package.
    let core = cache
        .install(
            &"hl7.fhir.r4.core#4.0.1".parse().unwrap(),
            &registries,
            false,
        )
        .unwrap();
    assert_eq!(refs(&core), ["hl7.fhir.r4.examples#4.0.1"]);
}

#[test]
fn missing_dependency_version_prefers_an_installed_version() {
    let reg = Registry::start();
    publish_fhir_like(&reg);
    let tmp = tempfile::tempdir().unwrap();
    let cache = PackageCache::new(tmp.path().to_path_buf());
    let local = tmp.path().join("ext.tgz");
    std::fs::write(&local, package_tgz("ex.ext", "5.1.0", &[], "package")).unwrap();
    cache.install_tgz(&local).unwrap();

    let got = cache
        .install(&"ex.term".parse().unwrap(), &reg.registries(), false)
        .unwrap();
    assert_eq!(refs(&got), ["ex.term#7.0.1", "ex.ext#5.1.0"]);
    assert_eq!(reg.hits("/tarballs/ex.ext-5.3.0-ballot.tgz"), 0);
}

#[test]
fn latest_is_asked_of_the_registry_and_falls_back_to_the_cache_offline() {
    let reg = Registry::start();
    publish_fhir_like(&reg);
    let tmp = tempfile::tempdir().unwrap();
    let cache = PackageCache::new(tmp.path().to_path_buf());
    let got = cache
        .install(&"ex.ext".parse().unwrap(), &reg.registries(), false)
        .unwrap();
    assert_eq!(got[0].reference(), "ex.ext#5.3.0-ballot");

    let offline = Registries::new([reg.base.as_str()], true);
    let before = reg.hits.lock().unwrap().len();
    let got = cache
        .install(&"ex.ext".parse().unwrap(), &offline, false)
        .unwrap();
    assert_eq!(got[0].reference(), "ex.ext#5.3.0-ballot");
    assert_eq!(
        reg.hits.lock().unwrap().len(),
        before,
        "offline asks no registry"
    );
}

#[test]
fn offline_or_unreachable_with_an_empty_cache_says_what_to_do() {
    let reg = Registry::start();
    publish_fhir_like(&reg);
    let tmp = tempfile::tempdir().unwrap();
    let cache = PackageCache::new(tmp.path().join("cache"));

    let offline = Registries::new([reg.base.as_str()], true);
    let err = cache
        .install(&"hl7.fhir.r4.core#4.0.1".parse().unwrap(), &offline, false)
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, PackageError::NotFound { .. }), "{err:?}");
    assert!(
        msg.starts_with("package hl7.fhir.r4.core#4.0.1 is not in the package cache"),
        "{msg}"
    );
    assert!(
        msg.contains("neither is hl7.fhir.r4.examples#4.0.1"),
        "{msg}"
    );
    assert!(
        msg.contains("run `careplan package install hl7.fhir.r4.core#4.0.1`"),
        "{msg}"
    );
    assert!(msg.contains("careplan package install"), "{msg}");
    assert!(msg.contains(&cache.root().display().to_string()), "{msg}");
    assert!(msg.contains("--ig"), "{msg}");
    assert!(msg.contains("offline"), "{msg}");
    assert!(reg.hits.lock().unwrap().is_empty());

    let unreachable = Registries::new([closed_port()], false);
    let err = cache
        .install(&"ex.root#1.0.0".parse().unwrap(), &unreachable, false)
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("ex.root#1.0.0") && msg.contains("no registry could provide it"),
        "{msg}"
    );

    // A cached root whose dependency cannot be had names both.
    std::fs::write(
        tmp.path().join("root.tgz"),
        package_tgz("ex.needy", "1.0.0", &[("ex.gone", "1.0.0")], "package"),
    )
    .unwrap();
    cache.install_tgz(&tmp.path().join("root.tgz")).unwrap();
    let err = cache
        .install(&"ex.needy#1.0.0".parse().unwrap(), &offline, false)
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, PackageError::DependencyMissing { .. }), "{err:?}");
    assert!(
        msg.starts_with("ex.needy#1.0.0: its dependency ex.gone#1.0.0 cannot be had: careplan is offline"),
        "{msg}"
    );
}

/// Where the chain breaks two levels down, behind a registry that cannot be
/// reached: the download of what came before is thrown away, and the error
/// says what each registry answered for the missing package itself.
#[test]
fn a_dependency_that_cannot_be_had_leaves_nothing_installed() {
    let reg = Registry::start();
    reg.publish("ex.top", "1.0.0", &[("1.0.0", &[("ex.mid", "1.0.0")], package_tgz("ex.top", "1.0.0", &[("ex.mid", "1.0.0")], "package"))]);
    reg.publish("ex.mid", "1.0.0", &[("1.0.0", &[("ex.gone", "1.0.0")], package_tgz("ex.mid", "1.0.0", &[("ex.gone", "1.0.0")], "package"))]);
    let tmp = tempfile::tempdir().unwrap();
    let cache = PackageCache::new(tmp.path().to_path_buf());
    let dead = closed_port();
    let registries = Registries::new([dead.clone(), reg.base.clone()], false);

    let err = cache.install(&"ex.top#1.0.0".parse().unwrap(), &registries, false).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, PackageError::DependencyMissing { .. }), "{err:?}");
    assert!(msg.starts_with("ex.top#1.0.0: its dependency ex.gone#1.0.0 (through ex.mid#1.0.0) cannot be had"), "{msg}");
    assert!(msg.contains(&format!("{dead}: not asked, it could not be reached earlier")), "{msg}");
    assert!(msg.contains(&format!("{}: has no package ex.gone", reg.base)), "{msg}");
    assert!(!msg.contains("/ex.top") && !msg.contains("/ex.mid"), "only the missing package's answers are given: {msg}");
    assert!(msg.contains("Nothing was installed"), "{msg}");
    assert_eq!(reg.hits("/tarballs/ex.top-1.0.0.tgz"), 1);
    assert_eq!(reg.hits("/tarballs/ex.mid-1.0.0.tgz"), 1);
    assert!(cache.list().is_empty(), "{:?}", refs(&cache.list()));
    assert!(work_dirs_left(cache.root()).is_empty());

    // Once the dependency is published, the same request installs all three.
    reg.publish("ex.gone", "1.0.0", &[("1.0.0", &[], package_tgz("ex.gone", "1.0.0", &[], "package"))]);
    let got = cache.install(&"ex.top#1.0.0".parse().unwrap(), &reg.registries(), false).unwrap();
    assert_eq!(refs(&got), ["ex.top#1.0.0", "ex.mid#1.0.0", "ex.gone#1.0.0"]);
    assert_eq!(refs(&cache.list()), ["ex.gone#1.0.0", "ex.mid#1.0.0", "ex.top#1.0.0"]);
    assert!(got.iter().all(|p| p.dir.starts_with(cache.root()) && p.dir.join("package.json").is_file()));
}

/// A dependency version nobody has is met by another once, at install, and
/// recorded; later loads find the same closure in the cache without asking.
#[test]
fn a_substitute_is_chosen_once_and_found_again_without_registries() {
    let reg = Registry::start();
    publish_fhir_like(&reg);
    let tmp = tempfile::tempdir().unwrap();
    let cache = PackageCache::new(tmp.path().to_path_buf());
    let got = cache.install(&"ex.root#1.0.0".parse().unwrap(), &reg.registries(), false).unwrap();
    // ex.term#7.0.1 asks for ex.ext#5.2.0, which nobody has: the latest stands in.
    assert!(refs(&got).contains(&"ex.ext#5.3.0-ballot".to_string()), "{:?}", refs(&got));
    let record: Value = serde_json::from_slice(&std::fs::read(tmp.path().join("ex.term#7.0.1").join(SUBSTITUTES_FILE)).unwrap()).unwrap();
    assert_eq!(record, json!({"ex.ext": {"asked": "5.2.0", "used": "5.3.0-ballot"}}));

    let before = reg.hits.lock().unwrap().len();
    let found = cache.find_with_dependencies(&"ex.root#1.0.0".parse().unwrap()).expect("the closure is in the cache");
    assert_eq!(refs(&found), refs(&got));
    let again = cache.install(&"ex.root#1.0.0".parse().unwrap(), &Registries::offline(), false).unwrap();
    assert_eq!(refs(&again), refs(&got));
    assert_eq!(reg.hits.lock().unwrap().len(), before, "nothing is asked again");

    // Without the record, the cache alone cannot say what stands in.
    std::fs::remove_file(tmp.path().join("ex.term#7.0.1").join(SUBSTITUTES_FILE)).unwrap();
    assert!(cache.find_with_dependencies(&"ex.root#1.0.0".parse().unwrap()).is_none());
}

#[test]
fn unknown_root_version_lists_the_versions_offered() {
    let reg = Registry::start();
    publish_fhir_like(&reg);
    let tmp = tempfile::tempdir().unwrap();
    let cache = PackageCache::new(tmp.path().to_path_buf());
    let err = cache
        .install(&"ex.ext#9.9.9".parse().unwrap(), &reg.registries(), false)
        .unwrap_err();
    assert!(
        matches!(err, PackageError::VersionNotFound { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("5.0.0, 5.3.0-ballot"), "{err}");
}

#[test]
fn a_tarball_that_fails_its_checksum_is_discarded() {
    let reg = Registry::start();
    publish_fhir_like(&reg);
    // Serve different bytes than the published shasum describes.
    reg.routes.lock().unwrap().insert(
        "/tarballs/ex.ext-5.0.0.tgz".into(),
        package_tgz("ex.ext", "5.0.0", &[("x.y", "1")], "package"),
    );
    let tmp = tempfile::tempdir().unwrap();
    let cache = PackageCache::new(tmp.path().to_path_buf());
    let err = cache
        .install(&"ex.ext#5.0.0".parse().unwrap(), &reg.registries(), false)
        .unwrap_err();
    assert!(matches!(err, PackageError::Checksum { .. }), "{err:?}");
    assert!(cache.list().is_empty());
    assert!(work_dirs_left(cache.root()).is_empty());
}

#[test]
fn a_local_archive_stands_in_for_a_published_package_only_with_its_bytes() {
    let reg = Registry::start();
    publish_fhir_like(&reg);
    let tmp = tempfile::tempdir().unwrap();
    let cache = PackageCache::new(tmp.path().join("cache"));
    // Other content under a name#version the registry publishes.
    let fake = tmp.path().join("fake.tgz");
    std::fs::write(&fake, package_tgz("ex.ext", "5.0.0", &[("evil.dep", "1.0.0")], "package")).unwrap();
    let err = cache.install_local(&fake, false, &reg.registries()).unwrap_err();
    assert!(matches!(err, PackageError::LocalArchiveRefused { .. }), "{err:?}");
    assert!(err.to_string().contains("with other content") && err.to_string().contains("--force"), "{err}");
    assert!(cache.list().is_empty());
    assert!(work_dirs_left(cache.root()).is_empty());
    // The published bytes are fine (an offline copy of the real package).
    let copy = tmp.path().join("copy.tgz");
    std::fs::write(&copy, package_tgz("ex.ext", "5.0.0", &[], "package")).unwrap();
    assert_eq!(cache.install_local(&copy, false, &reg.registries()).unwrap().reference(), "ex.ext#5.0.0");
    // Installed now: another archive may not replace it, unless forced.
    let err = cache.install_local(&fake, false, &reg.registries()).unwrap_err();
    assert!(err.to_string().contains("already in the package cache"), "{err}");
    let forced = cache.install_local(&fake, true, &reg.registries()).unwrap();
    assert!(forced.manifest.dependencies.contains_key("evil.dep"));
    // A name careplan loads by default cannot be checked offline.
    let core = tmp.path().join("core.tgz");
    std::fs::write(&core, package_tgz(R4_CORE, "4.0.1", &[], "package")).unwrap();
    let err = cache.install_tgz(&core).unwrap_err();
    assert!(err.to_string().contains("loaded by every validation"), "{err}");
}

#[test]
fn archives_for_ig_are_unpacked_apart_and_never_shadow_the_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = PackageCache::new(tmp.path().join("cache"));
    let path = tmp.path().join("core.tgz");
    std::fs::write(&path, package_tgz(R4_CORE, "4.0.1", &[], "package")).unwrap();
    let p = cache.open_archive(&path).unwrap();
    assert_eq!(p.reference(), "hl7.fhir.r4.core#4.0.1");
    assert!(p.dir.starts_with(cache.archives_dir()), "{}", p.dir.display());
    assert_eq!(p.index().unwrap().len(), 1);
    assert!(cache.find(&PackageRef::new(R4_CORE, Some("4.0.1"))).is_none());
    assert!(cache.list().is_empty());
    // The same archive again reuses what was unpacked.
    assert_eq!(cache.open_archive(&path).unwrap().dir, p.dir);
    assert!(work_dirs_left(cache.root()).is_empty());
}

#[test]
fn archives_that_expand_too_far_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("out");
    std::fs::create_dir(&dest).unwrap();
    // Ordinary JSON, but more than the size limit allows.
    let big: Vec<u8> = (0..400_000u32).flat_map(|i| format!("{{\"i\":{i}}},").into_bytes()).collect();
    let archive = tgz(&[("package/package.json", manifest_json("ex.big", "1.0.0", &[])), ("package/big.json", big)]);
    let limits = archive::Limits { max_bytes: 1 << 20, ..archive::Limits::default() };
    let err = archive::extract_tgz_within(archive.as_slice(), &dest, "big.tgz", limits).unwrap_err();
    assert!(matches!(err, PackageError::TooLarge { .. }) && err.to_string().contains("1 MiB"), "{err}");
    // Within the default limits it unpacks.
    let dest2 = tmp.path().join("out2");
    std::fs::create_dir(&dest2).unwrap();
    archive::extract_tgz(archive.as_slice(), &dest2, "big.tgz").unwrap();
    // Too many files.
    let many: Vec<(String, Vec<u8>)> = (0..20).map(|i| (format!("package/f{i}.json"), b"{}".to_vec())).collect();
    let refs: Vec<(&str, Vec<u8>)> = many.iter().map(|(p, d)| (p.as_str(), d.clone())).collect();
    let limits = archive::Limits { max_files: 10, ..archive::Limits::default() };
    let dest3 = tmp.path().join("out3");
    std::fs::create_dir(&dest3).unwrap();
    let err = archive::extract_tgz_within(tgz(&refs).as_slice(), &dest3, "many.tgz", limits).unwrap_err();
    assert!(err.to_string().contains("more than 10 files"), "{err}");
}
