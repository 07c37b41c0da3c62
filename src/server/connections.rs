//! Slow clients: how long a connection may take to send what it owes.
//!
//! actix-web gives a client `--header-timeout` for the head of the first
//! request on a connection, and closes a kept-alive connection that stays
//! idle; but once the next request's first bytes arrive, nothing limits how
//! long its head may take, so one byte every few seconds holds a connection
//! (and a file descriptor) for ever. [`Watch`] closes those: a connection
//! with no request in progress for longer than keep-alive plus the header
//! timeout can only be one whose next head is arriving too slowly (or a
//! client that has stopped reading its answer). Bodies have their own
//! deadline, in the handler (`--body-timeout`, `http.rs`).

use actix_web::body::{BodySize, MessageBody};
use actix_web::dev::Extensions;
use actix_web::web::Bytes;
use parking_lot::Mutex;
use std::any::Any;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// How long an idle kept-alive connection stays open.
pub const KEEP_ALIVE: Duration = Duration::from_secs(5);
/// How often the watch looks at the connections.
const TICK: Duration = Duration::from_secs(1);

/// The open connections, and the thread that closes the ones too slow.
pub struct Watch {
    /// How long a connection may go without a request in progress.
    limit: Duration,
    connections: Mutex<Vec<Weak<Connection>>>,
    stop: AtomicBool,
}

/// One client connection, as the watch sees it.
pub struct Connection {
    /// A second handle on the socket, to shut it down from the watch thread
    /// (the first belongs to actix). Closed when the connection ends.
    socket: Option<std::net::TcpStream>,
    state: Mutex<State>,
}

struct State {
    /// Requests in progress (their answers not yet all written).
    busy: usize,
    idle_since: Instant,
    closed: bool,
}

/// A connection's entry in actix's per-connection data.
#[derive(Clone)]
pub struct Tracked(Arc<Connection>);

/// Held while a request is in progress on its connection.
pub struct Busy(Arc<Connection>);

impl Watch {
    /// Starts watching when there is a header timeout (with none, slow heads are allowed).
    pub fn start(header_timeout: Option<Duration>) -> (Arc<Watch>, Option<std::thread::JoinHandle<()>>) {
        let watch = Arc::new(Watch { limit: KEEP_ALIVE + header_timeout.unwrap_or_default(), connections: Mutex::new(Vec::new()), stop: AtomicBool::new(false) });
        let Some(_) = header_timeout else { return (watch, None) };
        let w = watch.clone();
        let thread = std::thread::Builder::new().name("careplan-watch".into()).spawn(move || w.run()).ok();
        (watch, thread)
    }

    /// actix's `on_connect`: remembers the connection.
    pub fn connected(&self, io: &dyn Any, data: &mut Extensions) {
        let socket = duplicate(io);
        let conn = Arc::new(Connection { socket, state: Mutex::new(State { busy: 0, idle_since: Instant::now(), closed: false }) });
        self.connections.lock().push(Arc::downgrade(&conn));
        data.insert(Tracked(conn));
    }

    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    fn run(&self) {
        while !self.stop.load(Ordering::Relaxed) {
            std::thread::sleep(TICK);
            let live: Vec<Arc<Connection>> = {
                let mut list = self.connections.lock();
                list.retain(|c| c.strong_count() > 0);
                list.iter().filter_map(Weak::upgrade).collect()
            };
            for conn in live {
                conn.close_if_stalled(self.limit);
            }
        }
    }
}

impl Connection {
    fn close_if_stalled(&self, limit: Duration) {
        let mut state = self.state.lock();
        if state.closed || state.busy > 0 || state.idle_since.elapsed() <= limit {
            return;
        }
        state.closed = true;
        if let Some(s) = &self.socket {
            tracing::info!(peer = ?s.peer_addr().ok(), seconds = limit.as_secs(), "closing a connection whose next request did not arrive in time");
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }
}

impl Tracked {
    pub fn busy(&self) -> Busy {
        self.0.state.lock().busy += 1;
        Busy(self.0.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        let mut state = self.0.state.lock();
        state.busy = state.busy.saturating_sub(1);
        state.idle_since = Instant::now();
    }
}

#[cfg(unix)]
fn duplicate(io: &dyn Any) -> Option<std::net::TcpStream> {
    use std::os::fd::AsFd;
    let stream = io.downcast_ref::<actix_web::rt::net::TcpStream>()?;
    stream.as_fd().try_clone_to_owned().ok().map(std::net::TcpStream::from)
}

#[cfg(not(unix))]
fn duplicate(_io: &dyn Any) -> Option<std::net::TcpStream> {
    None
}

/// A response body that keeps its request counted as in progress until
/// it has been written out (or the client went away).
pub struct Watched<B> {
    body: B,
    _busy: Option<Busy>,
}

impl<B> Watched<B> {
    pub fn new(body: B, busy: Option<Busy>) -> Watched<B> {
        Watched { body, _busy: busy }
    }
}

impl<B: MessageBody + Unpin> MessageBody for Watched<B> {
    type Error = B::Error;

    fn size(&self) -> BodySize {
        self.body.size()
    }

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_next(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_is_closed_only_when_idle_past_the_limit() {
        let conn = Arc::new(Connection { socket: None, state: Mutex::new(State { busy: 0, idle_since: Instant::now(), closed: false }) });
        let tracked = Tracked(conn.clone());
        let busy = tracked.busy();
        conn.state.lock().idle_since = Instant::now() - Duration::from_secs(60);
        conn.close_if_stalled(Duration::from_secs(1));
        assert!(!conn.state.lock().closed, "a request in progress is never cut here");
        drop(busy);
        conn.close_if_stalled(Duration::from_secs(1));
        assert!(!conn.state.lock().closed, "the answer was just written");
        conn.state.lock().idle_since = Instant::now() - Duration::from_secs(60);
        conn.close_if_stalled(Duration::from_secs(1));
        assert!(conn.state.lock().closed);
    }
}
