//! Red-team findings (limit), each reproduced on a real server on loopback
//! (or the real CLI) and shown fixed.
#![allow(unused_imports)]

use super::*;
use crate::server_support::eventually;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// A raw connection to the server, for clients that misbehave on purpose.
fn raw(srv: &Server) -> TcpStream {
    let address = srv.base.trim_start_matches("http://").to_string();
    let s = TcpStream::connect(address).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s
}

/// Reads until the server closes the connection; false when it was still
/// open when the read timeout (30 s) ran out. What was read is appended to `got`.
fn closed_by_server(s: &mut TcpStream, got: &mut Vec<u8>) -> bool {
    let mut buf = [0u8; 8192];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => return false,
            Err(_) => return true,
        }
    }
}

/// Reads one answer, head and body (by its Content-Length), within the read timeout.
fn answer_head(s: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 8192];
    let complete = |got: &[u8]| {
        let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") else { return false };
        let head = String::from_utf8_lossy(&got[..end]).to_ascii_lowercase();
        let length = head.lines().find_map(|l| l.strip_prefix("content-length:")).and_then(|n| n.trim().parse::<usize>().ok()).unwrap_or(0);
        got.len() >= end + 4 + length
    };
    while !complete(&got) {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => panic!("no answer from the server: {e}"),
        }
    }
    String::from_utf8_lossy(&got).to_string()
}

fn history_batch(n: usize) -> Value {
    let entries: Vec<Value> = (0..n).map(|_| json!({"request": {"method": "GET", "url": "_history?_count=1000"}})).collect();
    json!({"resourceType": "Bundle", "type": "batch", "entry": entries})
}

/// H1: a batch of history reads multiplied the database into one answer
/// (5.8 KB in, 4.2 GB out). The answer now carries at most
/// --max-response-bytes of resources; the entries after that are refused.
#[test]
fn h1_a_batch_answer_is_bounded_by_the_response_budget() {
    let dir = tempfile::tempdir().unwrap();
    let budget = 20_000usize;
    let srv = start(dir.path(), &["--max-response-bytes", "20000", "--max-bundle-searches", "60"]);
    let admin = admin(&srv);
    seed(&admin);
    // 40 versions of about 1 KB each: the history alone is twice the budget.
    for i in 0..40 {
        let mut p = patient("many", "Versioned");
        p["name"][0]["text"] = json!(format!("{i} {}", "x".repeat(900)));
        put(&admin, &p);
    }
    let reader = As { srv: &srv, token: token("reader", "user/*.rs", json!({})) };
    let n = 50;
    let r = reader.send(Method::POST, "", &history_batch(n));
    assert_eq!(r.status(), 200);
    let bytes = r.bytes().unwrap();
    let body: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(body["type"], "batch-response");
    let entries = body["entry"].as_array().unwrap();
    assert_eq!(entries.len(), n, "one answer per entry");
    assert!(entries[0]["response"]["status"].as_str().unwrap().starts_with("200"), "{}", entries[0]["response"]);
    let refused: Vec<&Value> = entries.iter().filter(|e| e["response"]["status"].as_str().unwrap().starts_with("413")).collect();
    assert!(refused.len() >= n - 2, "the entries after the budget are refused: {} of {n}", refused.len());
    let why = texts(&refused[0]["response"]["outcome"]).join(" ");
    assert!(why.contains("--max-response-bytes") && why.contains("split"), "{why}");
    // Resources up to the budget, plus one entry's worth, plus each refusal's outcome.
    assert!(bytes.len() < 2 * budget + n * 1024, "the answer is {} bytes", bytes.len());

    // A history or search page on its own stops at the budget too, and links to the rest.
    let page = reader.bundle("_history?_count=1000");
    let shown = page["entry"].as_array().unwrap().len();
    assert!(shown < 40, "{shown} entries");
    let next = page["link"].as_array().unwrap().iter().find(|l| l["relation"] == "next").expect("a next link");
    assert!(next["url"].as_str().unwrap().contains(&format!("_offset={shown}")), "{next}");
    let found = reader.bundle("Patient?name=Versioned&_count=1000");
    assert_eq!(found["entry"].as_array().unwrap().len(), 1);

    // The work of one batch is bounded too: searches and histories per Bundle.
    let r = reader.send(Method::POST, "", &history_batch(61));
    assert_eq!(r.status(), 413);
    let oo: Value = r.json().unwrap();
    assert!(texts(&oo).iter().any(|t| t.contains("--max-bundle-searches")), "{:?}", texts(&oo));
}

/// M8: slow headers. The first request's head must arrive in time, and so
/// must the head of every later request on a kept-alive connection.
#[test]
fn m8_slow_headers_are_cut_off_on_every_request_of_a_connection() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    // Half a head, then nothing.
    let mut first = raw(&srv);
    first.write_all(b"GET /metadata HTTP/1.1\r\nHost: x\r\nX-Slow: ").unwrap();
    // A whole request, then half of the next one.
    let mut second = raw(&srv);
    second.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    assert!(answer_head(&mut second).starts_with("HTTP/1.1 200"));
    second.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ").unwrap();
    let started = Instant::now();
    let mut got = Vec::new();
    assert!(closed_by_server(&mut first, &mut got), "a stalled first head is still open after {:?}", started.elapsed());
    let mut got = Vec::new();
    assert!(closed_by_server(&mut second, &mut got), "a stalled head on a kept-alive connection is still open after {:?}", started.elapsed());
    // The server still answers.
    assert_eq!(srv.get("healthz").status(), 200);
}

/// M8: a body is refused before it is read when its length is over the
/// limit or the token has no scope for what it is sent to.
#[test]
fn m8_bodies_are_refused_before_they_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let send_head = |token: &str, path: &str, length: usize| {
        let mut s = raw(&srv);
        let head = format!("POST /{path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/fhir+json\r\nContent-Length: {length}\r\n\r\n{{\"resourceType\"");
        s.write_all(head.as_bytes()).unwrap();
        answer_head(&mut s)
    };
    let no_scopes = token("nobody", "openid fhirUser", json!({}));
    let writer = token("writer", "user/*.cruds", json!({}));
    let big = 60 * 1024 * 1024;
    let a = send_head(&no_scopes, "Patient", big);
    assert!(a.starts_with("HTTP/1.1 403"), "{a}");
    assert!(a.contains("scope"), "{a}");
    let a = send_head(&no_scopes, "", big);
    assert!(a.starts_with("HTTP/1.1 403"), "a batch from a token with no scope at all: {a}");
    let a = send_head(&writer, "Patient", 100 * 1024 * 1024);
    assert!(a.starts_with("HTTP/1.1 413"), "{a}");
    assert!(a.contains("--max-body-bytes"), "{a}");
    // Nothing was stored, and the server is fine.
    let admin = admin(&srv);
    assert_eq!(admin.bundle("Patient?_summary=count")["total"], 0);
}

/// M8: a body that stops arriving is cut off.
#[test]
fn m8_slow_bodies_time_out() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &["--body-timeout", "3"]);
    let writer = token("writer", "user/*.cruds", json!({}));
    let mut s = raw(&srv);
    let head = format!("POST /Patient HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {writer}\r\nContent-Type: application/fhir+json\r\nContent-Length: 100000\r\n\r\n{{\"resourceType\"");
    s.write_all(head.as_bytes()).unwrap();
    let a = answer_head(&mut s);
    assert!(a.starts_with("HTTP/1.1 408"), "{a}");
    let mut got = Vec::new();
    assert!(closed_by_server(&mut s, &mut got), "the connection is closed after the timeout");
    assert!(String::from_utf8_lossy(&got).contains("--body-timeout") || a.contains("--body-timeout"), "{a}");
}

fn audit_events(auditor: &As, q: &str) -> Vec<Value> {
    auditor.bundle(&format!("AuditEvent?{q}&_count=1000"))["entry"].as_array().cloned().unwrap_or_default().into_iter().map(|e| e["resource"].clone()).collect()
}

/// How many refusals an AuditEvent stands for: itself, and the ones like it
/// that were counted rather than recorded one by one.
fn refusals_in(event: &Value) -> u64 {
    let repeats = event["entity"].as_array().into_iter().flatten().flat_map(|e| e["detail"].as_array().into_iter().flatten()).find(|d| d["type"] == "repeats");
    1 + repeats.map_or(0, |d| d["valueString"].as_str().unwrap().parse::<u64>().unwrap())
}

fn database_bytes(srv: &Server) -> u64 {
    let wal = PathBuf::from(format!("{}-wal", srv.database.display()));
    std::fs::metadata(&srv.database).map_or(0, |m| m.len()) + std::fs::metadata(wal).map_or(0, |m| m.len())
}

/// H7: unauthenticated requests with huge paths and a huge `kid` wrote
/// about 9.6 KiB each to the audit trail. Now one client's refusals are
/// recorded once per interval with a count, and every event is small.
#[test]
fn h7_refusals_and_failed_queries_cannot_fill_the_disk() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &["--audit-repeat-interval", "2"]);
    let auditor = As { srv: &srv, token: token("auditor", "user/AuditEvent.rs", json!({})) };
    assert!(audit_events(&auditor, "agent-name=unauthenticated").is_empty());
    let before = database_bytes(&srv);
    let b64 = |v: &Value| base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, serde_json::to_vec(v).unwrap());
    let forged = format!("{}.{}.c2ln", b64(&json!({"alg": "HS256", "kid": "K".repeat(6000)})), b64(&json!({"sub": "x"})));
    let path = format!("A{}", "A".repeat(7000));
    let n = 300u64;
    for _ in 0..n {
        let r = srv.client.get(srv.url(&path)).bearer_auth(&forged).send().unwrap();
        assert_eq!(r.status(), 401);
    }
    let grown = database_bytes(&srv).saturating_sub(before);
    // Every refusal is accounted for, in a handful of events.
    let mut events = Vec::new();
    let all_counted = eventually(Duration::from_secs(20), || {
        events = audit_events(&auditor, "agent-name=unauthenticated");
        events.iter().map(refusals_in).sum::<u64>() == n
    });
    assert!(all_counted, "{} refusals recorded in {} events", events.iter().map(refusals_in).sum::<u64>(), events.len());
    assert!(events.len() <= 20, "{} events for {n} refusals", events.len());
    let sizes: Vec<usize> = events.iter().map(|e| serde_json::to_vec(e).unwrap().len()).collect();
    assert!(sizes.iter().sum::<usize>() < 100_000, "{sizes:?}");
    assert!(sizes.iter().all(|s| *s < 8192), "each event is small: {sizes:?}");
    assert!(grown < 1_000_000, "the database grew {grown} bytes");

    // A failed query no longer puts megabytes of SQL into the trail.
    let basic = As { srv: &srv, token: token("basic-reader", "user/Basic.rs", json!({"fhirUser": "Practitioner/basic-reader"})) };
    let query = vec!["subject.subject._id=x"; 20].join("&");
    let r = basic.get(&format!("Basic?{query}"));
    assert_ne!(r.status(), 500);
    let mine = audit_events(&auditor, "agent=Practitioner/basic-reader");
    assert_eq!(mine.len(), 1);
    let size = serde_json::to_vec(&mine[0]).unwrap().len();
    assert!(size < 8192, "{size} bytes: {}", mine[0]);
}

/// H7: a full store refuses writes with a clear 507, reads whose audit
/// cannot be written are refused with a 503 (nothing is shown unaudited),
/// /readyz says so, and the process stays up.
#[test]
fn h7_a_full_store_refuses_writes_clearly_and_stays_up() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &["--max-database-bytes", "1000000"]);
    let admin = admin(&srv);
    seed(&admin);
    let mut refused = None;
    for i in 0..60 {
        let b = json!({"resourceType": "Basic", "id": format!("big{i}"), "code": {"text": format!("{i} {}", "y".repeat(60_000))}});
        let r = admin.send(Method::PUT, &format!("Basic/big{i}"), &b);
        let status = r.status().as_u16();
        assert_ne!(status, 500, "{}", r.text().unwrap());
        if status == 507 {
            refused = Some(r.json::<Value>().unwrap());
            break;
        }
        assert!(status == 200 || status == 201, "{status}");
    }
    let oo = refused.expect("writes are refused once the store is full");
    assert_eq!(oo["resourceType"], "OperationOutcome");
    let why = texts(&oo).join(" ");
    assert!(why.contains("--max-database-bytes"), "{why}");
    // Small writes may fit for a while; then they are refused the same way.
    let mut small_refused = false;
    for i in 0..500 {
        let r = admin.send(Method::PUT, &format!("Patient/late{i}"), &patient(&format!("late{i}"), "Late"));
        let status = r.status().as_u16();
        assert!(status == 201 || status == 507, "{status}: {}", r.text().unwrap());
        if status == 507 {
            small_refused = true;
            break;
        }
    }
    assert!(small_refused);
    // A read is answered only if its audit record could be written.
    for _ in 0..20 {
        let r = admin.get("Patient/alice");
        let status = r.status().as_u16();
        assert!(status == 200 || status == 503, "{status}");
        if status == 503 {
            let why = texts(&r.json().unwrap()).join(" ");
            assert!(why.contains("audit"), "{why}");
        }
    }
    let ready = srv.get("readyz");
    assert_eq!(ready.status(), 503);
    assert!(ready.text().unwrap().contains("full"));
    assert_eq!(srv.get("healthz").status(), 200, "the process is up");
}

/// L2: a store error echoed its SQL (3.5 MB), and 3,000 repeated parameters
/// were a 500. Now too many parameters or values are a 400 that says how
/// many this server takes, and a store error is short and names a reference.
#[test]
fn l2_errors_never_echo_sql_and_oversized_searches_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    seed(&admin);
    let many = (0..3000).map(|i| format!("name=a{i}")).collect::<Vec<_>>().join("&");
    let r = admin.get(&format!("Patient?{many}"));
    assert_eq!(r.status(), 400);
    let why = texts(&r.json().unwrap()).join(" ");
    assert!(why.contains("at most 100"), "{why}");
    let values = (0..3000).map(|i| format!("a{i}")).collect::<Vec<_>>().join(",");
    assert_eq!(admin.get(&format!("Patient?name={values}")).status(), 400);

    let chain = vec!["subject.subject._id=x"; 20].join("&");
    let r = admin.get(&format!("Basic?{chain}"));
    let status = r.status().as_u16();
    let text = r.text().unwrap();
    assert_ne!(status, 500, "{}", &text[..text.len().min(2000)]);
    assert!(text.len() < 4096, "{} bytes", text.len());
    assert!(!text.contains("SELECT") && !text.contains("EXISTS"), "{text}");
    // One such chain is a search like any other.
    assert_eq!(admin.get("Basic?subject.subject._id=x").status(), 200);
    assert_eq!(admin.ids("Patient?name=Alison,Bobson"), vec!["Patient/alice", "Patient/bob"]);
}

/// The twenty-second pass's N5: each entry of a batch could answer with its
/// own full list of issues. Outcomes now count against the batch's answer
/// budget: past it, an entry's outcome keeps its gravest issue and says how
/// many more there were; its status stays.
#[test]
fn n5_a_batch_s_outcomes_share_the_answer_budget() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &["--max-response-bytes", "200000"]);
    let admin = admin(&srv);
    seed(&admin);
    // Each entry: 2,000 empty sub-extensions, several issues each.
    let broken = json!({"resourceType": "Basic", "code": {"text": "t"}, "extension": [{"url": "http://x.test/e", "extension": vec![json!({}); 2_000]}]});
    let entries: Vec<Value> = (0..6).map(|_| json!({"request": {"method": "POST", "url": "Basic"}, "resource": broken})).collect();
    let r = admin.send(Method::POST, "", &json!({"resourceType": "Bundle", "type": "batch", "entry": entries}));
    assert_eq!(r.status(), 200);
    let bytes = r.bytes().unwrap();
    let body: Value = serde_json::from_slice(&bytes).unwrap();
    let entries = body["entry"].as_array().unwrap();
    assert_eq!(entries.len(), 6);
    assert!(entries.iter().all(|e| e["response"]["status"].as_str().unwrap().starts_with("422")), "every entry is still refused");
    let last = texts(&entries[0]["response"]["outcome"]).join(" ");
    assert!(last.contains("more issues are not listed") && last.contains("send this entry on its own"), "{last}");
    assert!(bytes.len() < 1_000_000, "the answer is {} bytes", bytes.len());
}
