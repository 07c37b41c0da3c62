//! Red-team findings (input), each reproduced on a real server on loopback
//! (or the real CLI) and shown fixed.
#![allow(unused_imports)]

use super::*;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Runs a CLI command to its end. The watchdog only turns a hang (the
/// failure some findings describe) into a failed test; it asserts no speed.
fn finish(mut cmd: Command) -> Output {
    let child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(Duration::from_secs(300)) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
            panic!("the command did not finish: {cmd:?}");
        }
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn b64url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// An RS256 JWS over a header and a payload written as is (duplicate keys,
/// `crit`), signed with the trusted test key.
fn raw_rs256(header: &str, payload: &str) -> String {
    let key = EncodingKey::from_rsa_pem(&std::fs::read(keys().join("test-only-rs256.key.pem")).unwrap()).unwrap();
    let message = format!("{}.{}", b64url(header.as_bytes()), b64url(payload.as_bytes()));
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &key, Algorithm::RS256).unwrap();
    format!("{message}.{signature}")
}

fn reason(r: Response) -> String {
    let oo: Value = r.json().unwrap();
    texts(&oo).join(" | ")
}

#[test]
fn m1_a_configured_issuer_and_audience_are_required_not_only_compared() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let read = |t: &str| srv.client.get(srv.url("Patient/nope")).bearer_auth(t).send().unwrap();
    assert_eq!(read(&token("u1", "user/*.rs", json!({}))).status(), 404, "a complete token is accepted");
    for (claim, word) in [("iss", "'iss'"), ("aud", "'aud'")] {
        let mut c = claims("u1", "user/*.rs", json!({}));
        c.as_object_mut().unwrap().remove(claim);
        let r = read(&rs256(&c));
        assert_eq!(r.status(), 401, "a token without {claim} from the trusted key");
        let why = reason(r);
        assert!(why.contains(word), "{why}");
        // Nor may the claim be of another shape that only happens to contain the value.
        c[claim] = json!([if claim == "iss" { ISSUER } else { "https://elsewhere.test" }, "https://other.test"]);
        assert_eq!(read(&rs256(&c)).status(), 401, "{claim} as {}", c[claim]);
    }
    // An audience list that names this server is fine (RFC 7519 allows a list).
    let mut c = claims("u1", "user/*.rs", json!({}));
    c["aud"] = json!(["https://other.test", AUDIENCE]);
    assert_eq!(read(&rs256(&c)).status(), 404);
}

#[test]
fn l3_critical_headers_and_duplicate_claims_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let read = |t: &str| srv.client.get(srv.url("Goal")).bearer_auth(t).send().unwrap();
    let body = |scopes: &str| format!(r#"{{"iss":"{ISSUER}","aud":"{AUDIENCE}","sub":"u1",{scopes},"exp":{}}}"#, now() + 600);
    let plain = r#"{"alg":"RS256","typ":"JWT","kid":"test-key-1"}"#;
    // The signer works: the same token shapes without the problem are accepted.
    assert_eq!(read(&raw_rs256(plain, &body(r#""scope":"user/*.rs""#))).status(), 200);

    let crit = r#"{"alg":"RS256","kid":"test-key-1","crit":["http://example.test/must-understand"],"http://example.test/must-understand":true}"#;
    let r = read(&raw_rs256(crit, &body(r#""scope":"user/*.rs""#)));
    assert_eq!(r.status(), 401, "an extension we do not understand is marked critical");
    assert!(reason(r).contains("critical"));

    // A gateway reading the first `scope` would see Goal only; the server must not see everything.
    let r = read(&raw_rs256(plain, &body(r#""scope":"patient/Goal.rs","scope":"user/*.rs""#)));
    assert_eq!(r.status(), 401, "duplicate claim keys");
    assert!(reason(r).contains("twice"));
    let r = read(&raw_rs256(r#"{"alg":"RS256","kid":"test-key-1","kid":"test-key-1"}"#, &body(r#""scope":"user/*.rs""#)));
    assert_eq!(r.status(), 401, "duplicate header keys");
}

/// A JWKS endpoint on loopback that serves `sets[n]` to its n-th request
/// (the last one from then on), and counts the requests.
struct Jwks {
    url: String,
    hits: Arc<AtomicUsize>,
}

fn jwks_endpoint(sets: Vec<String>) -> Jwks {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let body = &sets[n.min(sets.len() - 1)];
            let _ = write!(stream, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
        }
    });
    Jwks { url, hits }
}

#[test]
fn l3_a_jwks_url_is_read_again_when_the_idp_rotates_its_keys() {
    let before = std::fs::read_to_string(keys().join("test-only-jwks.json")).unwrap();
    let after = std::fs::read_to_string(keys().join("test-only-rotated-jwks.json")).unwrap();
    let idp = jwks_endpoint(vec![before, after]);
    let dir = tempfile::tempdir().unwrap();
    let auth = format!("jwks-url:{}", idp.url);
    let srv = Server::start(dir.path(), &["--auth", &auth, "--auth-issuer", ISSUER, "--auth-audience", AUDIENCE]);
    assert_eq!(idp.hits.load(Ordering::SeqCst), 1, "the key set is read at start");
    let read = |t: &str| srv.client.get(srv.url("Patient")).bearer_auth(t).send().unwrap();
    let good = claims("u1", "user/*.rs", json!({}));
    assert_eq!(read(&rs256(&good)).status(), 200, "the key of the first set");

    // The IdP rotates: a token from the new key names a kid the server has not seen.
    let rotated = signed_with("test-only-rotated.key.pem", "test-key-2", &good);
    assert_eq!(read(&rotated).status(), 200, "the new key is fetched and trusted");
    assert_eq!(idp.hits.load(Ordering::SeqCst), 2);
    assert_eq!(read(&rotated).status(), 200);
    // The retired key is no longer in the set, and made-up kids do not make the server ask again and again.
    assert_eq!(read(&rs256(&good)).status(), 401, "the retired key");
    for i in 0..10 {
        assert_eq!(read(&signed_with("test-only-rotated.key.pem", &format!("made-up-{i}"), &good)).status(), 401);
    }
    assert!(idp.hits.load(Ordering::SeqCst) <= 3, "unknown kids refresh at most once per interval: {} fetches", idp.hits.load(Ordering::SeqCst));
}

#[test]
fn m9_an_xml_element_with_200000_attributes_is_refused_with_an_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    let attrs: String = (0..200_000).map(|i| format!(" a{i}=\"x\"")).collect();
    let body = format!("<Patient xmlns=\"http://hl7.org/fhir\"{attrs}><active value=\"true\"/></Patient>");
    let r = admin.req(Method::POST, "Patient").header("Content-Type", "application/fhir+xml").body(body).send().unwrap();
    assert_eq!(r.status(), 400);
    let oo: Value = r.json().unwrap();
    assert_eq!(oo["resourceType"], "OperationOutcome");
    assert!(texts(&oo).iter().any(|t| t.contains("more than 100 attributes")), "{:?}", texts(&oo));
    // The same through a narrative in JSON, which the validator reads as XHTML.
    let some: String = (0..20_000).map(|i| format!(" a{i}=\"x\"")).collect();
    let div = format!("<div xmlns=\"http://www.w3.org/1999/xhtml\"><p{some}>x</p></div>");
    let mut p = patient("wide", "Wide");
    p["text"] = json!({"status": "generated", "div": div});
    let r = admin.send(Method::PUT, "Patient/wide", &p);
    assert!(r.status() == 400 || r.status() == 422, "{}", r.status());
    let oo: Value = r.json().unwrap();
    assert!(texts(&oo).iter().any(|t| t.contains("more than 100 attributes")), "{:?}", texts(&oo));
    // An ordinary XML Patient still goes in.
    let ok = "<Patient xmlns=\"http://hl7.org/fhir\"><active value=\"true\"/></Patient>";
    assert_eq!(admin.req(Method::POST, "Patient").header("Content-Type", "application/fhir+xml").body(ok).send().unwrap().status(), 201);
}

// ---------------------------------------------------------------- packages

/// A gzip tar of (path, bytes) entries, written as given.
fn tgz(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut b = tar::Builder::new(enc);
    for (path, data) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        // Written raw: the tar crate's own setter refuses `..`.
        let name = &mut h.as_old_mut().name;
        name[..path.len()].copy_from_slice(path.as_bytes());
        h.set_cksum();
        b.append(&h, data.as_slice()).unwrap();
    }
    b.into_inner().unwrap().finish().unwrap()
}

fn package_json(name: &str, version: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({"name": name, "version": version, "fhirVersions": ["4.0.1"]})).unwrap()
}

/// A profile on Patient that makes birthDate required.
fn profile(url: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({"resourceType": "StructureDefinition", "id": "p", "url": url, "name": "P", "status": "active", "kind": "resource",
        "abstract": false, "type": "Patient", "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Patient", "derivation": "constraint",
        "differential": {"element": [{"id": "Patient.birthDate", "path": "Patient.birthDate", "min": 1}]}}))
    .unwrap()
}

/// A package cache of its own holding the default packages of the shared
/// cache: each `name#version/package` is a link to the installed one.
fn cache_with_defaults(dir: &Path) -> PathBuf {
    common::context();
    let cache = dir.join("cache");
    let shared = careplan::package::PackageCache::new(careplan::package::PackageCache::default_root());
    for r in careplan::package::default_packages() {
        let p = shared.find(&r).unwrap_or_else(|| panic!("{r} is installed"));
        let entry = cache.join(format!("{}#{}", p.name, p.version));
        std::fs::create_dir_all(&entry).unwrap();
        std::os::unix::fs::symlink(&p.dir, entry.join("package")).unwrap();
    }
    cache
}

/// The `name#version` folders of a cache.
fn entries(cache: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(cache).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).filter(|n| n.contains('#')).collect();
    v.sort();
    v
}

fn careplan_in(cache: &Path, args: &[&str]) -> Output {
    let mut cmd = common::careplan();
    cmd.args(args).arg("--cache").arg(cache).arg("--offline");
    finish(cmd)
}

/// What careplan says about a Patient with a bad gender and birth date.
fn validate_bad_patient(dir: &Path, cache: &Path, more: &[&str]) -> String {
    let file = dir.join("bad.json");
    std::fs::write(&file, r#"{"resourceType":"Patient","gender":"sometimes","birthDate":"yesterday"}"#).unwrap();
    let mut args = vec!["validate"];
    args.extend_from_slice(more);
    args.push(file.to_str().unwrap());
    let out = careplan_in(cache, &args);
    text(&out.stdout) + &text(&out.stderr)
}

#[test]
fn m10_a_local_archive_cannot_take_the_name_of_a_cached_or_default_package() {
    let dir = tempfile::tempdir().unwrap();
    let cache = cache_with_defaults(dir.path());
    let before = entries(&cache);
    let real = validate_bad_patient(dir.path(), &cache, &[]);
    assert!(real.contains("birthDate") && !real.contains("Unknown resource type"), "{real}");

    // A fake R4 core: R4 core itself, and the examples package standing in for it here.
    let empty_core = |name: &str| tgz(&[("package/package.json", package_json(name, "4.0.1"))]);
    for name in ["hl7.fhir.r4.core", "hl7.fhir.r4.examples"] {
        let fake = dir.path().join(format!("{name}-fake.tgz"));
        std::fs::write(&fake, empty_core(name)).unwrap();
        let out = careplan_in(&cache, &["package", "install", fake.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{name}: {}", text(&out.stderr));
        let err = text(&out.stderr);
        assert!(err.contains("refusing to install") && err.contains("--force"), "{err}");
        assert_eq!(entries(&cache), before, "nothing was installed");
    }
    assert_eq!(validate_bad_patient(dir.path(), &cache, &[]), real, "validation still uses the real R4 definitions");

    // Any package already in the cache needs --force to be replaced.
    let local = dir.path().join("local.tgz");
    std::fs::write(&local, tgz(&[("package/package.json", package_json("example.local", "1.0.0")), ("package/StructureDefinition-p.json", profile("http://example.test/SD/local"))])).unwrap();
    assert_eq!(careplan_in(&cache, &["package", "install", local.to_str().unwrap()]).status.code(), Some(0));
    let again = careplan_in(&cache, &["package", "install", local.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(2));
    assert!(text(&again.stderr).contains("already in the package cache"), "{}", text(&again.stderr));
    assert_eq!(careplan_in(&cache, &["package", "install", "--force", local.to_str().unwrap()]).status.code(), Some(0));

    // `validate --ig x.tgz` reads the archive but files nothing under its name.
    let guide = dir.path().join("guide.tgz");
    std::fs::write(&guide, tgz(&[("package/package.json", package_json("example.guide", "1.0.0")), ("package/StructureDefinition-p.json", profile("http://example.test/SD/guide"))])).unwrap();
    let with_guide = validate_bad_patient(dir.path(), &cache, &["--ig", guide.to_str().unwrap(), "--profile", "http://example.test/SD/guide"]);
    assert!(!with_guide.contains("unknown"), "the guide's profile is used: {with_guide}");
    assert!(!entries(&cache).iter().any(|e| e.starts_with("example.guide")), "{:?}", entries(&cache));
    // Nor does a fake core given as --ig replace R4 core for later runs.
    let fake = dir.path().join("hl7.fhir.r4.core-fake.tgz");
    let _ = validate_bad_patient(dir.path(), &cache, &["--ig", fake.to_str().unwrap()]);
    assert_eq!(validate_bad_patient(dir.path(), &cache, &[]), real);
}

#[test]
fn m11_a_gzip_bomb_is_refused_and_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let cache = cache_with_defaults(dir.path());
    // 8 MiB of zeros compress to a few KiB.
    let bomb = dir.path().join("bomb.tgz");
    std::fs::write(&bomb, tgz(&[("package/package.json", package_json("example.bomb", "1.0.0")), ("package/zeros.json", vec![0u8; 8 << 20])])).unwrap();
    assert!(std::fs::metadata(&bomb).unwrap().len() < 64 << 10);
    let out = careplan_in(&cache, &["package", "install", bomb.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("compression bomb") && err.contains("nothing was installed"), "{err}");
    // Given as --ig, the same.
    let p = dir.path().join("p.json");
    std::fs::write(&p, r#"{"resourceType":"Patient"}"#).unwrap();
    let mut cmd = common::careplan();
    cmd.args(["validate", "--offline", "--ig", bomb.to_str().unwrap(), "--cache"]).arg(&cache).arg(&p);
    let out = finish(cmd);
    assert_ne!(out.status.code(), Some(0));
    assert!(text(&out.stderr).contains("compression bomb"), "{}", text(&out.stderr));
    // Nothing but the links to the default packages.
    let mut left = Vec::new();
    let mut todo = vec![cache.clone()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten() {
            let e = e.unwrap();
            let kind = e.file_type().unwrap();
            if kind.is_dir() {
                todo.push(e.path());
            } else if !kind.is_symlink() {
                left.push(e.path());
            }
        }
    }
    assert!(left.is_empty(), "files left behind: {left:?}");
    assert!(!entries(&cache).iter().any(|e| e.starts_with("example.bomb")));
}

#[test]
fn l1_index_file_names_cannot_reach_outside_the_package() {
    let dir = tempfile::tempdir().unwrap();
    let cache = cache_with_defaults(dir.path());
    let elsewhere = dir.path().join("elsewhere.json");
    std::fs::write(&elsewhere, profile("http://evil.test/SD/absolute")).unwrap();
    let index = json!({"index-version": 1, "files": [
        {"filename": "../outside.json", "resourceType": "StructureDefinition", "url": "http://evil.test/SD/outside"},
        {"filename": elsewhere.to_str().unwrap(), "resourceType": "StructureDefinition", "url": "http://evil.test/SD/absolute"},
        {"filename": "StructureDefinition-inside.json", "resourceType": "StructureDefinition", "url": "http://evil.test/SD/inside"}]});
    let evil = dir.path().join("index-outside.tgz");
    std::fs::write(&evil, tgz(&[
        ("package/package.json", package_json("evil.index", "1.0.0")),
        ("package/.index.json", serde_json::to_vec(&index).unwrap()),
        ("package/StructureDefinition-inside.json", profile("http://evil.test/SD/inside")),
        ("outside.json", profile("http://evil.test/SD/outside")),
    ]))
    .unwrap();
    for (url, known) in [("http://evil.test/SD/outside", false), ("http://evil.test/SD/absolute", false), ("http://evil.test/SD/inside", true)] {
        let said = validate_bad_patient(dir.path(), &cache, &["--ig", evil.to_str().unwrap(), "--profile", url]);
        // A --profile that is not loaded stops careplan, naming it.
        let unknown = said.contains(&format!("--profile {url}: no StructureDefinition with this URL is loaded"));
        assert_eq!(!unknown, known, "{url}: {said}");
        if !known {
            assert!(said.contains("skipping the entry"), "a warning says why: {said}");
        }
    }
    // Installed by name, the same index is read the same way.
    assert_eq!(careplan_in(&cache, &["package", "install", evil.to_str().unwrap()]).status.code(), Some(0));
    let said = validate_bad_patient(dir.path(), &cache, &["--ig", "evil.index#1.0.0", "--profile", "http://evil.test/SD/outside"]);
    assert!(said.contains("--profile http://evil.test/SD/outside: no StructureDefinition with this URL is loaded"), "{said}");
}

#[test]
fn l4_fhirpath_repeat_and_aggregate_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("p.json");
    std::fs::write(&p, r#"{"resourceType":"Patient","id":"p"}"#).unwrap();
    for expr in [
        "1.repeat(iif($this < 1048576, $this*2 | $this*2+1, {}))",
        "'a'.repeat($this+'a' | $this+'b')",
        "(1|2|3|4|5|6|7|8|9|10|11|12|13|14|15|16|17|18|19|20).aggregate($total | $total.select($this*2) | $total.select($this*2+1), 1)",
    ] {
        let mut cmd = common::careplan();
        cmd.args(["fhirpath", "--offline", expr]).arg(&p);
        let out = finish(cmd);
        assert_eq!(out.status.code(), Some(1), "{expr}: {}", text(&out.stderr));
        let err = text(&out.stderr);
        assert!(err.contains("100000 items"), "{expr}: {err}");
    }
    // Bounded repeats still work.
    let mut cmd = common::careplan();
    cmd.args(["fhirpath", "--offline", "1.repeat(iif($this < 1000, $this*2 | $this*2+1, {})).count()"]).arg(&p);
    let out = finish(cmd);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "integer: 1998", "2 to 1999");
}

/// One HTTP/1.1 request written by hand: HTTP clients normalise `.` and
/// `..` (also `%2E%2E`) out of a URL before sending it, an attacker does not.
fn raw_request(srv: &Server, method: &str, path: &str, token: &str, body: &str) -> (u16, String) {
    let addr = srv.base.trim_start_matches("http://").to_string();
    let mut s = TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/fhir+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    let status = answer.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, answer)
}

#[test]
fn l6_dot_ids_are_refused_in_urls_entries_and_bodies() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    for id in ["..", ".", "%2E%2E", "%2e", ".%2E"] {
        let body = patient(id, "Dots").to_string();
        for (method, path) in [("PUT", format!("/Patient/{id}")), ("GET", format!("/Patient/{id}")), ("DELETE", format!("/Patient/{id}")), ("GET", format!("/Patient/{id}/_history"))] {
            let (status, answer) = raw_request(&srv, method, &path, &admin.token, if method == "PUT" { &body } else { "" });
            assert_eq!(status, 400, "{method} {path}: {answer}");
            assert!(answer.contains("not a valid resource id"), "{answer}");
        }
    }
    // In a transaction or a batch entry's url.
    let tx = |kind: &str, id: &str| json!({"resourceType": "Bundle", "type": kind, "entry": [{"resource": patient(id, "Dots"), "request": {"method": "PUT", "url": format!("Patient/{id}")}}]});
    for id in ["..", "."] {
        let r = admin.send(Method::POST, "", &tx("transaction", id));
        assert_eq!(r.status(), 400, "transaction entry Patient/{id}");
        assert!(reason(r).contains("not a valid resource id"));
        let b: Value = admin.send(Method::POST, "", &tx("batch", id)).json().unwrap();
        assert!(b["entry"][0]["response"]["status"].as_str().unwrap().starts_with("400"), "batch entry Patient/{id}: {b}");
    }
    // A conditional update takes the id from the body when nothing matches.
    let r = admin.req(Method::PUT, "Patient?family=Nobody-Has-This").header("Content-Type", "application/fhir+json").body(patient("..", "Dots").to_string()).send().unwrap();
    assert_eq!(r.status(), 400);
    assert!(reason(r).contains("not a valid resource id"));
    // Nothing was stored under such an id, and ordinary ids with dots still work.
    assert_eq!(admin.bundle("Patient?family=Dots")["entry"].as_array().map_or(0, Vec::len), 0);
    put(&admin, &patient("a.b..c", "Dots"));
}
