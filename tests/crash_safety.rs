//! Crash safety of `careplan serve`: ten times over, a load of concurrent
//! transactions is cut short by SIGKILL; after each restart on the same
//! database every transaction answered with 2xx is present and intact (all
//! of its entries, as sent), and no transaction is half there.

mod common;
mod server_support;

use serde_json::{json, Value};
use server_support::Server;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const CYCLES: usize = 10;
const ENTRIES: usize = 6;
const CLIENTS: usize = 4;
const SYSTEM: &str = "urn:careplan-test:tx";

/// Transaction `n`: a patient, goals and a plan, every entry carrying the
/// transaction's identifier (and its own position, to check content).
fn transaction(n: usize) -> Value {
    let tag = format!("tx-{n}");
    let p = format!("urn:uuid:00000000-0000-4000-8000-{:012}", n * 10);
    let mut entries = vec![json!({"fullUrl": p, "resource": {"resourceType": "Patient", "identifier": [{"system": SYSTEM, "value": tag}], "name": [{"family": format!("Crash{n}"), "given": ["P0"]}]}, "request": {"method": "POST", "url": "Patient"}})];
    let mut goals = Vec::new();
    for k in 1..ENTRIES - 1 {
        let g = format!("urn:uuid:00000000-0000-4000-8000-{:012}", n * 10 + k);
        entries.push(json!({"fullUrl": g, "resource": {"resourceType": "Goal", "identifier": [{"system": SYSTEM, "value": tag}], "lifecycleStatus": "active", "description": {"text": format!("goal {k} of {tag}")}, "subject": {"reference": p}}, "request": {"method": "POST", "url": "Goal"}}));
        goals.push(json!({"reference": g}));
    }
    entries.push(json!({"resource": {"resourceType": "CarePlan", "identifier": [{"system": SYSTEM, "value": tag}], "status": "active", "intent": "plan", "title": format!("plan of {tag}"), "subject": {"reference": p}, "goal": goals}, "request": {"method": "POST", "url": "CarePlan"}}));
    json!({"resourceType": "Bundle", "type": "transaction", "entry": entries})
}

/// Every stored resource of ours, by transaction number, checked against what was sent.
fn stored(srv: &Server) -> BTreeMap<usize, usize> {
    let mut by_tx: BTreeMap<usize, usize> = BTreeMap::new();
    for t in ["Patient", "Goal", "CarePlan"] {
        let mut next = Some(format!("{t}?identifier={SYSTEM}|&_count=1000"));
        while let Some(path) = next.take() {
            let b = srv.bundle(path.strip_prefix(&srv.base).unwrap_or(&path));
            for e in b["entry"].as_array().into_iter().flatten().filter(|e| e["search"]["mode"] == "match") {
                let r = &e["resource"];
                let tag = r["identifier"][0]["value"].as_str().unwrap();
                let n: usize = tag.strip_prefix("tx-").unwrap().parse().unwrap();
                match t {
                    "Patient" => assert_eq!(r["name"][0]["family"], format!("Crash{n}"), "{r}"),
                    "Goal" => {
                        assert!(r["description"]["text"].as_str().unwrap().ends_with(&format!("of {tag}")), "{r}");
                        assert!(r["subject"]["reference"].as_str().unwrap().starts_with("Patient/"), "{r}");
                    }
                    _ => {
                        assert_eq!(r["title"], format!("plan of {tag}"));
                        assert_eq!(r["goal"].as_array().unwrap().len(), ENTRIES - 2, "{r}");
                        assert!(r["goal"].as_array().unwrap().iter().all(|g| g["reference"].as_str().unwrap().starts_with("Goal/")), "{r}");
                    }
                }
                *by_tx.entry(n).or_default() += 1;
            }
            next = b["link"].as_array().into_iter().flatten().find(|l| l["relation"] == "next").and_then(|l| l["url"].as_str()).map(str::to_string);
        }
    }
    by_tx
}

#[test]
fn acknowledged_transactions_survive_sigkill_ten_times_and_none_is_half_there() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("careplan.db");
    let address = "127.0.0.1:0";
    let next = Arc::new(AtomicUsize::new(0));
    // Transaction number → answered with 2xx.
    let acknowledged: Arc<Mutex<BTreeMap<usize, bool>>> = Arc::new(Mutex::new(BTreeMap::new()));
    let mut total_acked = 0;
    for cycle in 0..CYCLES {
        let mut srv = Server::start_on(&db, address, &[], &[]);
        let stop = Arc::new(AtomicBool::new(false));
        let clients: Vec<_> = (0..CLIENTS)
            .map(|_| {
                let (client, url, next, acked, stop) = (srv.client.clone(), srv.url(""), next.clone(), acknowledged.clone(), stop.clone());
                std::thread::spawn(move || {
                    while !stop.load(Ordering::SeqCst) {
                        let n = next.fetch_add(1, Ordering::SeqCst);
                        acked.lock().unwrap().insert(n, false);
                        let sent = client.post(&url).header("Content-Type", "application/fhir+json").body(serde_json::to_vec(&transaction(n)).unwrap()).send();
                        match sent {
                            Ok(r) if r.status().is_success() => {
                                acked.lock().unwrap().insert(n, true);
                            }
                            Ok(r) => panic!("transaction {n} was refused: {} {}", r.status(), r.text().unwrap_or_default()),
                            Err(_) => break, // the server died under it
                        }
                    }
                })
            })
            .collect();
        // Let the load run, then kill the server in the middle of it.
        std::thread::sleep(Duration::from_millis(700 + 150 * cycle as u64));
        srv.kill_hard();
        stop.store(true, Ordering::SeqCst);
        for c in clients {
            c.join().unwrap();
        }
        drop(srv);

        let srv = Server::start_on(&db, address, &[], &[]);
        let acked = acknowledged.lock().unwrap().clone();
        let acked_now = acked.values().filter(|a| **a).count();
        assert!(acked_now > total_acked, "cycle {cycle}: the load made progress ({acked_now} acknowledged)");
        total_acked = acked_now;
        let found_all = stored(&srv);
        assert!(found_all.keys().all(|n| acked.contains_key(n)), "only what was sent is stored");
        let in_flight = acked.values().filter(|ok| !**ok).count();
        let in_flight_stored = acked.iter().filter(|(n, ok)| !**ok && found_all.contains_key(n)).count();
        eprintln!("cycle {cycle}: {acked_now} transactions acknowledged so far; {in_flight} cut short by the kill ({in_flight_stored} of them committed before it)");
        for (n, ok) in &acked {
            let found = found_all.get(n).copied().unwrap_or(0);
            if *ok {
                assert_eq!(found, ENTRIES, "cycle {cycle}: transaction {n} was acknowledged but {found} of its {ENTRIES} resources are stored");
            } else {
                assert!(found == 0 || found == ENTRIES, "cycle {cycle}: transaction {n} is half there ({found} of {ENTRIES})");
            }
        }
    }
    assert!(total_acked >= CYCLES, "{total_acked} transactions acknowledged in all");
}
