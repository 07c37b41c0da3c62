//! The HTTP side (actix-web): every request gets an `X-Request-Id` and a
//! log line; `/healthz` and `/readyz` answer here; everything else goes to
//! [`Service::execute`] on the blocking pool and comes back in the format
//! the client asked for. Shutdown (SIGINT, SIGTERM) stops accepting, lets
//! requests in flight finish (their store transactions with them), then
//! stops the forwarder.
//!
//! Clients get bounded time and room: `--header-timeout` for a request's
//! head (`connections`), `--body-timeout` for its body, `--max-connections`
//! at once; a body is refused before it is read when it is too large or
//! its token could not use it (`admission`), and refusals made here are
//! recorded through the audit [`audit::Throttle`].

use super::error::{operation_outcome, FhirError};
use super::interactions::Reply;
use super::routing::{parse_prefer, prefers_strict, Request, Return};
use super::access;
use super::auth::{self, Requester};
use super::connections::{self, Watch};
use super::{admission, audit, clock, format, forward, limits, Service};
use crate::issue::IssueCode;
use crate::tree::Format;
use actix_web::dev::Service as _;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use futures_util::StreamExt as _;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const REQUEST_ID: &str = "x-request-id";
/// How long shutdown waits for requests in flight.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Serves until SIGINT or SIGTERM. Prints `listening on http://ADDR` once
/// the socket is bound (port 0 picks a free one).
pub fn run(svc: Arc<Service>) -> anyhow::Result<()> {
    let listener = TcpListener::bind(&svc.config.address).map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", svc.config.address))?;
    let address = listener.local_addr()?;
    if let Some(quota) = svc.config.max_database_bytes {
        let set = svc.store.set_quota(quota)?;
        if set > quota {
            tracing::warn!(quota, database_bytes = set, "the database is already larger than --max-database-bytes: writes that grow it are refused");
        }
    }
    let forwarder = forward::start(svc.clone())?;
    if svc.config.open {
        let bar = "!".repeat(78);
        eprintln!("{bar}\ncareplan serve: OPEN MODE (--open). No token is asked for, no scope or consent is applied:\nanyone who can reach http://{address} can read and change every record. Local development only.\n{bar}");
        tracing::warn!(%address, "open mode: no authentication, no scopes, no consent filtering");
    }
    let (watch, watcher) = Watch::start(svc.config.header_timeout);
    let workers = svc.config.workers.max(1);
    let result = actix_web::rt::System::new().block_on(async {
        let data = web::Data::from(svc.clone());
        let on_connect = watch.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .wrap_fn(|req, srv| {
                    let id = req
                        .headers()
                        .get(REQUEST_ID)
                        .and_then(|v| v.to_str().ok())
                        .filter(|v| !v.is_empty() && v.len() <= 200 && v.chars().all(|c| c.is_ascii_graphic()))
                        .map(str::to_string)
                        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
                    let (method, path) = (req.method().to_string(), req.path().to_string());
                    let busy = req.conn_data::<connections::Tracked>().map(connections::Tracked::busy);
                    let started = Instant::now();
                    let call = srv.call(req);
                    async move {
                        let mut res = call.await?;
                        if let Ok(value) = HeaderValue::from_str(&id) {
                            res.headers_mut().insert(HeaderName::from_static(REQUEST_ID), value);
                        }
                        tracing::info!(request_id = %id, %method, path = %super::error::cut(&path, 200), status = res.status().as_u16(), ms = started.elapsed().as_millis() as u64, "request");
                        Ok(res.map_body(|_, body| connections::Watched::new(body, busy)))
                    }
                })
                .default_service(web::to(handle))
        })
        .on_connect(move |io, data| on_connect.connected(io, data))
        .workers(workers)
        .max_connections(svc.config.max_connections.div_ceil(workers))
        .keep_alive(connections::KEEP_ALIVE)
        .client_request_timeout(svc.config.header_timeout.unwrap_or(Duration::ZERO))
        .client_disconnect_timeout(Duration::from_secs(1))
        .shutdown_timeout(SHUTDOWN_GRACE.as_secs())
        .listen(listener)?
        .run();
        println!("careplan serve: listening on http://{address}");
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
        tracing::info!(%address, database = %svc.config.database.display(), validation = svc.config.validation.as_str(), "serving");
        actix_web::rt::spawn(record_repeats(svc.clone()));
        server.await
    });
    watch.stop();
    if let Some(t) = watcher {
        let _ = t.join();
    }
    write_refusals(&svc, svc.refusals.due(true));
    if let Some(f) = forwarder {
        f.stop();
    }
    tracing::info!("stopped");
    result.map_err(Into::into)
}

/// Writes the counts of repeated refusals as their intervals end.
async fn record_repeats(svc: Arc<Service>) {
    let mut tick = actix_web::rt::time::interval((svc.refusals.interval() / 4).clamp(Duration::from_millis(250), Duration::from_secs(5)));
    loop {
        tick.tick().await;
        let due = svc.refusals.due(false);
        if !due.is_empty() {
            let svc = svc.clone();
            let _ = web::block(move || write_refusals(&svc, due)).await;
        }
    }
}

fn write_refusals(svc: &Service, due: Vec<audit::Pending>) {
    for p in due {
        if let Err(e) = audit::record(svc, p.requester.as_deref(), p.address.as_deref(), &p.record) {
            tracing::error!("the audit trail could not be written: {e}");
        }
    }
}

/// Records a refusal made before the request reached the access layer,
/// unless the throttle counts it instead.
async fn record_refusal(svc: &web::Data<Service>, pending: audit::Pending) {
    if let Some(p) = svc.refusals.admit(pending) {
        let svc = svc.clone();
        let _ = web::block(move || write_refusals(&svc, vec![p])).await;
    }
}

/// The audit record of a refusal made here.
fn refusal(http: &HttpRequest, status: u16, why: &str) -> audit::Record {
    audit::Record {
        subtype: "operation".into(),
        action: "E",
        method: http.method().to_string(),
        path: http.path().to_string(),
        query: Some(http.query_string().to_string()).filter(|q| !q.is_empty()),
        status,
        description: format!("refused: {why}"),
        ..audit::Record::default()
    }
}

fn header(req: &HttpRequest, name: &str) -> Option<String> {
    req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}

async fn handle(http: HttpRequest, mut payload: web::Payload, svc: web::Data<Service>) -> HttpResponse {
    let query: Vec<(String, String)> = url::form_urlencoded::parse(http.query_string().as_bytes()).into_owned().collect();
    let format_param = query.iter().find(|(k, _)| k == "_format").map(|(_, v)| v.clone());
    let wire = format::negotiate(format_param.as_deref(), header(&http, "accept").as_deref());
    match http.path().trim_matches('/') {
        "healthz" => return HttpResponse::Ok().content_type("application/json").body(r#"{"status":"ok"}"#),
        "readyz" => {
            let svc = svc.clone();
            let health = web::block(move || svc.store.health()).await.unwrap_or(Err("store unavailable"));
            return match health {
                Ok(()) => HttpResponse::Ok().content_type("application/json").body(r#"{"status":"ready"}"#),
                Err(why) => HttpResponse::ServiceUnavailable().content_type("application/json").body(serde_json::json!({"status": why}).to_string()),
            };
        }
        _ => {}
    }
    // Who is asking: every request but /metadata needs a valid bearer token (unless in open mode).
    let public = http.method() == actix_web::http::Method::GET && http.path().trim_matches('/') == "metadata";
    let address = http.peer_addr().map(|a| a.ip().to_string());
    let mut requester = if public {
        Requester::nobody()
    } else {
        // On the blocking pool: checking a signature is CPU work, and a token
        // naming an unknown key may wait for the key set to be read again.
        let (auth_svc, authorization) = (svc.clone(), header(&http, "authorization"));
        let outcome = web::block(move || auth_svc.auth.authenticate(authorization.as_deref())).await.unwrap_or_else(|e| Err(format!("the token could not be checked: {e}")));
        match outcome {
            Ok(r) => r,
            Err(why) => {
                record_refusal(&svc, audit::Pending { requester: None, address: address.clone(), record: refusal(&http, 401, &why) }).await;
                let e = FhirError::new(401, crate::issue::IssueCode::Security, format!("Authentication failed: {why}"));
                let mut answer = failure(&svc, e, wire);
                answer.headers.push(("WWW-Authenticate", format!("Bearer realm=\"careplan\", error=\"invalid_token\", error_description=\"{}\"", super::error::cut(&why, 200).replace('"', "'"))));
                return answer.into();
            }
        }
    };
    requester.address = address;
    if let Some(p) = header(&http, auth::PURPOSE_HEADER).map(|p| p.trim().to_string()).filter(|p| !p.is_empty()) {
        requester.ask_purpose(&p);
    }
    requester.reason = header(&http, auth::REASON_HEADER);
    let requester = Arc::new(requester);
    // Refused before the body is read: too large, or of no use to this token.
    let declared = header(&http, "content-length").and_then(|n| n.trim().parse::<u64>().ok());
    let store = query.iter().any(|(k, v)| k == "store" && v == "true");
    let admitted = admission::before_body(&svc, &requester, http.method().as_str(), http.path(), store, declared);
    let body = match admitted {
        Ok(()) => read_body(&mut payload, svc.config.max_body_bytes, declared, svc.config.body_timeout).await,
        Err(e) => Err(e),
    };
    let body = match body {
        Ok(b) => b,
        Err(e) => {
            let why = e.issues.first().map(|i| i.message.clone()).unwrap_or_default();
            let address = requester.address.clone();
            record_refusal(&svc, audit::Pending { requester: Some(requester), address, record: refusal(&http, e.status, &why) }).await;
            // The rest of the body is not read, so the connection cannot carry another request.
            let mut res: HttpResponse = failure(&svc, e, wire).into();
            res.head_mut().set_connection_type(actix_web::http::ConnectionType::Close);
            return res;
        }
    };
    // POST /{type}/_search may carry its parameters as a form.
    let form = header(&http, "content-type").is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    let mut query = query;
    if form && http.method() == actix_web::http::Method::POST && http.path().ends_with("/_search") {
        query.extend(url::form_urlencoded::parse(&body).into_owned());
    }
    // The base of links and Locations: configured, or this connection's Host;
    // never a Forwarded or X-Forwarded-* header a client may set.
    let base = match &svc.config.base_url {
        Some(b) => b.clone(),
        None => format!("http://{}", header(&http, "host").filter(|h| !h.is_empty() && h.len() <= 255 && !h.contains(['/', '?', '#', '@'])).unwrap_or_else(|| svc.config.address.clone())),
    };
    let mut req = Request::new(http.method().as_str(), http.path(), &base);
    // A raw POST /Binary or PUT /Binary/{id} (any Content-Type that is not
    // FHIR's) stores its body as a Binary of that content type.
    let mut content_type = header(&http, "content-type");
    let body = match format::binary_of_raw_body(&req.method, &req.path, content_type.as_deref(), header(&http, "x-security-context").as_deref(), body) {
        Ok(wrapped) => {
            content_type = Some(format::FHIR_JSON.to_string());
            wrapped
        }
        Err(body) => body,
    };
    req.query = query;
    req.if_match = header(&http, "if-match");
    req.if_none_exist = header(&http, "if-none-exist");
    req.if_none_match = header(&http, "if-none-match");
    req.prefer = parse_prefer(header(&http, "prefer").as_deref());
    req.strict = prefers_strict(header(&http, "prefer").as_deref());
    req.content_type = content_type;
    req.body = body;
    req.requester = requester;
    req.budget = limits::Budget::new(svc.config.limits.max_response_bytes);
    // The interaction and the writing of its answer both run on the blocking pool.
    let worker_svc = svc.clone();
    let accept = if format_param.is_some() { None } else { header(&http, "accept") };
    match web::block(move || answer(&worker_svc, &req, wire, accept.as_deref())).await {
        Ok(out) => out.into(),
        Err(e) => failure(&svc, FhirError::internal(format!("The request could not be run: {e}")), wire).into(),
    }
}

/// Reads a body of at most `limit` bytes, all of it within `timeout`.
async fn read_body(payload: &mut web::Payload, limit: usize, declared: Option<u64>, timeout: Option<Duration>) -> Result<Vec<u8>, FhirError> {
    let deadline = timeout.map(|t| (Instant::now() + t, t));
    // A declared length is a hint, not a promise: it sizes the buffer only so far.
    let mut body = Vec::with_capacity(declared.unwrap_or(0).min(1 << 20) as usize);
    loop {
        let next = match deadline {
            Some((at, t)) => match actix_web::rt::time::timeout(at.saturating_duration_since(Instant::now()), payload.next()).await {
                Ok(next) => next,
                Err(_) => {
                    return Err(FhirError::new(
                        408,
                        IssueCode::Timeout,
                        format!("The body did not arrive within {} s (--body-timeout): {} bytes came; send it faster, or in smaller requests", t.as_secs(), body.len()),
                    ))
                }
            },
            None => payload.next().await,
        };
        match next {
            None => return Ok(body),
            Some(Ok(bytes)) if body.len() + bytes.len() <= limit => body.extend_from_slice(&bytes),
            Some(Ok(_)) => return Err(admission::too_large(limit)),
            Some(Err(e)) => return Err(FhirError::bad_request(format!("The body could not be read: {e}"))),
        }
    }
}

/// An answer ready to send: status, headers and body bytes.
struct Answer {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Option<(Vec<u8>, Format)>,
    /// Overrides the wire format's content type (plain JSON answers, raw Binary content).
    content_type: Option<String>,
}

impl From<Answer> for HttpResponse {
    fn from(a: Answer) -> HttpResponse {
        let status = actix_web::http::StatusCode::from_u16(a.status).unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
        let mut b = HttpResponse::build(status);
        for h in a.headers {
            b.insert_header(h);
        }
        match a.body {
            Some((bytes, wire)) => b.content_type(a.content_type.unwrap_or_else(|| format::content_type(wire).to_string())).body(bytes),
            None => b.finish(),
        }
    }
}

/// `accept`: the request's `Accept` header, unless `_format` chose the format.
fn answer(svc: &Service, req: &Request, wire: Format, accept: Option<&str>) -> Answer {
    match svc.execute(req) {
        Ok(reply) => match raw_binary(svc, &reply, req, accept) {
            Some(raw) => raw,
            None => success(svc, reply, req, wire),
        },
        Err(e) => failure(svc, e, wire),
    }
}

/// A read of a Binary whose `Accept` asks for its own content type, or
/// for no FHIR format at all (`*/*`, `image/*`, a browser's list): its
/// bytes, as that content type (FHIR R4, Binary on the REST API). The read
/// has been through the access layer and audited like any other; the
/// answer is marked so a browser neither sniffs it nor runs it as this
/// server's page (`nosniff`, a sandboxing Content-Security-Policy).
fn raw_binary(svc: &Service, reply: &Reply, req: &Request, accept: Option<&str>) -> Option<Answer> {
    let routed = super::routing::route(&req.method, &req.path).ok()?;
    if !matches!(&routed, super::routing::Interaction::Read(t, _) | super::routing::Interaction::Vread(t, _, _) if t == "Binary") {
        return None;
    }
    if reply.status != 200 || req.param("_summary").is_some() || req.param("_elements").is_some() {
        return None;
    }
    let binary = reply.body.as_ref().filter(|b| b["resourceType"] == "Binary")?;
    let own = binary["contentType"].as_str().unwrap_or("application/octet-stream");
    if !format::accepts_raw(accept?, own) {
        return None;
    }
    let bytes = match binary["data"].as_str().map(|d| base64::Engine::decode(&base64::engine::general_purpose::STANDARD, d)) {
        None => Vec::new(),
        Some(Ok(b)) => b,
        Some(Err(e)) => return Some(failure(svc, FhirError::internal(format!("The stored Binary's data is not base64 ({e}); read it as FHIR (Accept: application/fhir+json)")), Format::Json)),
    };
    let mut headers = vec![("X-Content-Type-Options", "nosniff".to_string()), ("Content-Security-Policy", "sandbox; default-src 'none'".to_string())];
    if reply.filtered {
        headers.push((access::FILTERED_HEADER, "true".to_string()));
    }
    if let Some(v) = &reply.version {
        headers.push(("ETag", v.etag()));
        headers.push(("Last-Modified", clock::http_date(v.last_updated)));
    }
    if let Some(context) = binary["securityContext"]["reference"].as_str().filter(|c| HeaderValue::from_str(c).is_ok()) {
        headers.push(("X-Security-Context", context.to_string()));
    }
    let content_type = Some(own).filter(|t| HeaderValue::from_str(t).is_ok()).unwrap_or("application/octet-stream").to_string();
    Some(Answer { status: 200, headers, body: Some((bytes, Format::Json)), content_type: Some(content_type) })
}

fn failure(svc: &Service, e: FhirError, wire: Format) -> Answer {
    let mut headers = Vec::new();
    if access::is_withheld(&e) {
        headers.push((access::FILTERED_HEADER, "true".to_string()));
    }
    Answer { status: e.status, headers, body: Some((format::render(&operation_outcome(&e.issues), wire, &svc.ctx), wire)), content_type: None }
}

fn success(svc: &Service, reply: Reply, req: &Request, wire: Format) -> Answer {
    let mut headers = Vec::new();
    if reply.filtered {
        headers.push((access::FILTERED_HEADER, "true".to_string()));
    }
    if let Some(v) = &reply.version {
        headers.push(("ETag", v.etag()));
        headers.push(("Last-Modified", clock::http_date(v.last_updated)));
        if reply.write {
            let location = format!("{}/{}/{}/_history/{}", req.base, v.res_type, v.id, v.version);
            headers.push(("Content-Location", location.clone()));
            headers.push(("Location", location));
        }
    }
    let body = match (reply.write, req.prefer) {
        (true, Return::Minimal) => None,
        (true, Return::OperationOutcome) => Some(operation_outcome(&reply.issues)),
        _ => reply.body,
    };
    if reply.plain_json {
        let bytes = body.map(|b| serde_json::to_vec_pretty(&b).unwrap_or_default());
        return Answer { status: reply.status, headers, body: bytes.map(|b| (b, wire)), content_type: Some("application/json".to_string()) };
    }
    Answer { status: reply.status, headers, body: body.map(|b| (format::render(&b, wire, &svc.ctx), wire)), content_type: None }
}
