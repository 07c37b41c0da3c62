//! Forwarding: a thread that sends the outbox, oldest first, to the
//! upstream FHIR server. Each write goes as a PUT of the same id (or a
//! DELETE), so sending it twice does no harm; a failure leaves the row
//! pending and retries it with backoff, so nothing is lost across upstream
//! outages or a restart of this server (the outbox is in the store).

use super::error::FhirResult;
use super::{clock, outbox, store, Service};
use parking_lot::{Condvar, Mutex};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The first retry waits this long; each further one twice as long, up to `MAX_BACKOFF`.
pub const FIRST_BACKOFF: Duration = Duration::from_millis(250);
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// With nothing to do, the outbox is looked at this often anyway (`careplan outbox retry` runs in another process).
const IDLE_POLL: Duration = Duration::from_secs(1);

/// Wakes the forwarder when a write has queued something.
#[derive(Default)]
pub struct Signal {
    pending: Mutex<bool>,
    cv: Condvar,
}

impl Signal {
    pub fn notify(&self) {
        *self.pending.lock() = true;
        self.cv.notify_all();
    }

    fn wait(&self, timeout: Duration) {
        let mut pending = self.pending.lock();
        if !*pending {
            self.cv.wait_for(&mut pending, timeout);
        }
        *pending = false;
    }
}

pub struct Forwarder {
    stop: Arc<AtomicBool>,
    signal: Arc<Signal>,
    thread: std::thread::JoinHandle<()>,
}

impl Forwarder {
    /// Finishes the request in flight, then stops.
    pub fn stop(self) {
        self.stop.store(true, Ordering::SeqCst);
        self.signal.notify();
        let _ = self.thread.join();
    }
}

/// Starts the forwarder when the configuration names an upstream.
pub fn start(svc: Arc<Service>) -> anyhow::Result<Option<Forwarder>> {
    let Some(upstream) = svc.config.forward.clone() else { return Ok(None) };
    let client = reqwest::blocking::Client::builder().timeout(Duration::from_secs(30)).build()?;
    let stop = Arc::new(AtomicBool::new(false));
    let signal = svc.outbox_signal.clone();
    let thread_stop = stop.clone();
    let thread = std::thread::Builder::new().name("forwarder".into()).spawn(move || {
        tracing::info!(upstream = %upstream, "forwarding accepted writes");
        while !thread_stop.load(Ordering::SeqCst) {
            let wait = match step(&svc, &client, &upstream) {
                Ok(wait) => wait,
                Err(e) => {
                    tracing::error!("forwarding: {e}");
                    Some(MAX_BACKOFF)
                }
            };
            if let Some(w) = wait {
                svc.outbox_signal.wait(w);
            }
        }
    })?;
    Ok(Some(Forwarder { stop, signal, thread }))
}

/// Sends the head of the outbox if it is due; returns how long to wait
/// before the next step (`None`: go on at once).
fn step(svc: &Service, client: &reqwest::blocking::Client, upstream: &str) -> FhirResult<Option<Duration>> {
    let Some(row) = svc.store.read(outbox::head)? else { return Ok(Some(IDLE_POLL)) };
    let now = clock::now_ms();
    if row.next_attempt > now {
        return Ok(Some(Duration::from_millis((row.next_attempt - now) as u64).min(IDLE_POLL)));
    }
    let url = format!("{upstream}/{}/{}", row.res_type, row.res_id);
    let version = svc.store.read(|c| store::by_seq(c, row.version_seq))?;
    let request = match version.as_ref().and_then(|v| v.body.clone()) {
        Some(body) if row.method == "PUT" => client.put(&url).header("Content-Type", super::format::FHIR_JSON).body(body),
        _ => client.delete(&url),
    };
    let result = request.header("Accept", super::format::FHIR_JSON).send();
    let now = clock::now_ms();
    match result {
        Ok(resp) if resp.status().is_success() => {
            svc.store.write(|c| outbox::mark_sent(c, row.seq, now))?;
            tracing::info!(seq = row.seq, resource = %format!("{}/{}", row.res_type, row.res_id), version = row.version, "forwarded");
            Ok(None)
        }
        Ok(resp) if resp.status().is_client_error() && !matches!(resp.status().as_u16(), 408 | 429) => {
            let status = resp.status();
            let text: String = resp.text().unwrap_or_default().chars().take(2000).collect();
            let error = format!("upstream refused {} {url}: {status}: {text}", row.method);
            tracing::warn!(seq = row.seq, "{error}");
            svc.store.write(|c| outbox::mark_rejected(c, row.seq, now, &error))?;
            Ok(None)
        }
        other => {
            let error = match other {
                Ok(resp) => format!("upstream answered {} to {} {url}", resp.status(), row.method),
                Err(e) => format!("upstream unreachable for {} {url}: {e}", row.method),
            };
            let backoff = FIRST_BACKOFF.saturating_mul(1 << row.attempts.clamp(0, 16) as u32).min(MAX_BACKOFF);
            tracing::warn!(seq = row.seq, attempts = row.attempts + 1, "{error}; retrying in {backoff:?}");
            svc.store.write(|c| outbox::mark_retry(c, row.seq, now + backoff.as_millis() as i64, &error))?;
            Ok(Some(backoff.min(IDLE_POLL)))
        }
    }
}
