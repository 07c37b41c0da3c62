//! Starts real `careplan serve` processes on loopback (port 0, or a port
//! picked for a server that must come back on the same address) and talks
//! to them over HTTP.
#![allow(dead_code)]

pub mod tokens;

use reqwest::blocking::{Client, RequestBuilder, Response};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

pub struct Server {
    child: Option<Child>,
    pub base: String,
    pub database: PathBuf,
    pub log: PathBuf,
    pub client: Client,
}

/// A free loopback port, for a server that must be restarted at the same address.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Server {
    /// A server on a new database in `dir`, on a port the OS picks.
    pub fn start(dir: &Path, args: &[&str]) -> Server {
        Server::start_on(&dir.join("careplan.db"), "127.0.0.1:0", args, &[])
    }

    pub fn start_on(database: &Path, address: &str, args: &[&str], env: &[(&str, &str)]) -> Server {
        let log = PathBuf::from(format!("{}.{}.log", database.display(), next_number()));
        let mut cmd = crate::common::careplan();
        cmd.args(["serve", "--offline", "--address", address, "--database"]).arg(database).args(args);
        // The server refuses to start without --auth or --open: a test that
        // gives no --auth runs it in open mode (tests/security.rs gives one).
        if !args.iter().any(|a| a.starts_with("--auth") || *a == "--open") && !env.iter().any(|(k, _)| *k == "CAREPLAN_AUTH") {
            cmd.arg("--open");
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.env("CAREPLAN_LOG", "info");
        cmd.stdout(Stdio::piped()).stderr(Stdio::from(std::fs::File::create(&log).unwrap()));
        let mut child = cmd.spawn().expect("careplan serve starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let Some(url) = line.trim().strip_prefix("careplan serve: listening on ") else {
            let _ = child.wait();
            panic!("the server did not start: {line}\n{}", std::fs::read_to_string(&log).unwrap_or_default());
        };
        Server { child: Some(child), base: url.to_string(), database: database.to_path_buf(), log, client: Client::builder().timeout(Duration::from_secs(120)).build().unwrap() }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/{}", self.base, path.trim_start_matches('/'))
    }

    pub fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().unwrap()
    }

    pub fn json(&self, method: reqwest::Method, path: &str, body: &Value) -> RequestBuilder {
        self.client.request(method, self.url(path)).header("Content-Type", "application/fhir+json").body(serde_json::to_vec(body).unwrap())
    }

    pub fn post(&self, path: &str, body: &Value) -> Response {
        self.json(reqwest::Method::POST, path, body).send().unwrap()
    }

    pub fn put(&self, path: &str, body: &Value) -> Response {
        self.json(reqwest::Method::PUT, path, body).send().unwrap()
    }

    /// The searchset or history Bundle at `path`.
    pub fn bundle(&self, path: &str) -> Value {
        let r = self.get(path);
        assert_eq!(r.status(), 200, "GET {path}");
        r.json().unwrap()
    }

    /// Puts on an open server what a PRSB plan links as existing (as the
    /// person's GP and their colleagues would have recorded it already):
    /// the person, by NHS number, with each Condition a need links, and each
    /// Practitioner a professional links.
    pub fn seed_links(&self, plan: &Value) {
        let read = careplan::prsb::read(plan.to_string().as_bytes()).unwrap_or_else(|p| panic!("{p:?}"));
        let links = careplan::prsb::existing_links(&read);
        let mut person: Option<String> = None;
        for link in links.iter().filter(|l| l.kind != careplan::prsb::LinkKind::Recipient) {
            let (res_type, id) = link.reference.split_once('/').unwrap();
            let resource = match link.kind {
                careplan::prsb::LinkKind::Need => {
                    let subject = person.get_or_insert_with(|| {
                        let p = &plan["person"];
                        let patient = serde_json::json!({"resourceType": "Patient", "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": p["nhsNumber"]}], "birthDate": p["birthDate"]});
                        let r = self.post("Patient", &patient);
                        assert_eq!(r.status(), 201);
                        format!("Patient/{}", r.json::<Value>().unwrap()["id"].as_str().unwrap())
                    });
                    serde_json::json!({"resourceType": "Condition", "id": id, "code": {"text": "On the GP's problem list"}, "subject": {"reference": subject}})
                }
                _ => serde_json::json!({"resourceType": "Practitioner", "id": id, "name": [{"text": "A professional on the server already"}]}),
            };
            let r = self.put(&link.reference, &resource);
            assert!(r.status().is_success(), "PUT {res_type}/{id}: {}", r.status());
        }
    }

    pub fn total(&self, path: &str) -> u64 {
        self.bundle(path)["total"].as_u64().unwrap_or_else(|| panic!("{path} has a total"))
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// Asks the server to stop as an operator would (SIGTERM) and waits for it.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        let _ = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
        child.wait().unwrap()
    }

    /// Kills the server hard (SIGKILL: no shutdown, nothing flushed) and waits for it.
    pub fn kill_hard(&mut self) {
        let mut child = self.child.take().expect("running");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

fn next_number() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::SeqCst)
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Waits (bounded) until `check` holds; false when it never did.
pub fn eventually(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    check()
}

/// The issue texts of an OperationOutcome, for assertion messages.
pub fn texts(oo: &Value) -> Vec<String> {
    oo["issue"].as_array().map(|a| a.iter().map(|i| format!("{} {} {}", i["severity"], i["expression"][0], i["details"]["text"])).collect()).unwrap_or_default()
}
