//! The HTTP side (actix-web): every request gets an `X-Request-Id` and a
//! log line; `/healthz` and `/readyz` answer here; everything else goes to
//! [`Service::execute`] on the blocking pool and comes back in the format
//! the client asked for. Shutdown (SIGINT, SIGTERM) stops accepting, lets
//! requests in flight finish (their store transactions with them), then
//! stops the forwarder.

use super::error::{operation_outcome, FhirError};
use super::interactions::Reply;
use super::routing::{parse_prefer, prefers_strict, Request, Return};
use super::access;
use super::auth::{self, Requester};
use super::{audit, clock, format, forward, Service};
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
    let forwarder = forward::start(svc.clone())?;
    if svc.config.open {
        let bar = "!".repeat(78);
        eprintln!("{bar}\ncareplan serve: OPEN MODE (--open). No token is asked for, no scope or consent is applied:\nanyone who can reach http://{address} can read and change every record. Local development only.\n{bar}");
        tracing::warn!(%address, "open mode: no authentication, no scopes, no consent filtering");
    }
    let result = actix_web::rt::System::new().block_on(async {
        let data = web::Data::from(svc.clone());
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
                    let started = Instant::now();
                    let call = srv.call(req);
                    async move {
                        let mut res = call.await?;
                        if let Ok(value) = HeaderValue::from_str(&id) {
                            res.headers_mut().insert(HeaderName::from_static(REQUEST_ID), value);
                        }
                        tracing::info!(request_id = %id, %method, %path, status = res.status().as_u16(), ms = started.elapsed().as_millis() as u64, "request");
                        Ok(res)
                    }
                })
                .default_service(web::to(handle))
        })
        .workers(svc.config.workers.max(1))
        .shutdown_timeout(SHUTDOWN_GRACE.as_secs())
        .listen(listener)?
        .run();
        println!("careplan serve: listening on http://{address}");
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
        tracing::info!(%address, database = %svc.config.database.display(), validation = svc.config.validation.as_str(), "serving");
        server.await
    });
    if let Some(f) = forwarder {
        f.stop();
    }
    tracing::info!("stopped");
    result.map_err(Into::into)
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
            let ready = web::block(move || svc.store.ping()).await.unwrap_or(false);
            return if ready {
                HttpResponse::Ok().content_type("application/json").body(r#"{"status":"ready"}"#)
            } else {
                HttpResponse::ServiceUnavailable().content_type("application/json").body(r#"{"status":"store unavailable"}"#)
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
                let rec = audit::Record {
                    subtype: "operation".into(),
                    action: "E",
                    method: http.method().to_string(),
                    path: http.path().to_string(),
                    status: 401,
                    description: format!("refused: {why}"),
                    ..audit::Record::default()
                };
                let (audit_svc, addr) = (svc.clone(), address.clone());
                let _ = web::block(move || audit::record(&audit_svc, None, addr.as_deref(), &rec).map_err(|e| tracing::error!("the audit trail could not be written: {e}"))).await;
                let e = FhirError::new(401, crate::issue::IssueCode::Security, format!("Authentication failed: {why}"));
                let mut answer = failure(&svc, e, wire);
                answer.headers.push(("WWW-Authenticate", format!("Bearer realm=\"careplan\", error=\"invalid_token\", error_description=\"{}\"", why.replace('"', "'"))));
                return answer.into();
            }
        }
    };
    requester.address = address;
    if let Some(p) = header(&http, auth::PURPOSE_HEADER).map(|p| p.trim().to_string()).filter(|p| !p.is_empty()) {
        requester.purpose = Some(p);
    }
    requester.reason = header(&http, auth::REASON_HEADER);
    let limit = svc.config.max_body_bytes;
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        match chunk {
            Ok(bytes) if body.len() + bytes.len() <= limit => body.extend_from_slice(&bytes),
            Ok(_) => return failure(&svc, FhirError::new(413, crate::issue::IssueCode::TooLong, format!("The body is larger than this server's limit of {limit} bytes; split it (e.g. smaller transaction Bundles)")), wire).into(),
            Err(e) => return failure(&svc, FhirError::bad_request(format!("The body could not be read: {e}")), wire).into(),
        }
    }
    // POST /{type}/_search may carry its parameters as a form.
    let form = header(&http, "content-type").is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    let mut query = query;
    if form && http.method() == actix_web::http::Method::POST && http.path().ends_with("/_search") {
        query.extend(url::form_urlencoded::parse(&body).into_owned());
    }
    let info = http.connection_info().clone();
    let mut req = Request::new(http.method().as_str(), http.path(), &format!("{}://{}", info.scheme(), info.host()));
    req.query = query;
    req.if_match = header(&http, "if-match");
    req.if_none_exist = header(&http, "if-none-exist");
    req.if_none_match = header(&http, "if-none-match");
    req.prefer = parse_prefer(header(&http, "prefer").as_deref());
    req.strict = prefers_strict(header(&http, "prefer").as_deref());
    req.content_type = header(&http, "content-type");
    req.body = body;
    req.requester = Arc::new(requester);
    // The interaction and the writing of its answer both run on the blocking pool.
    let worker_svc = svc.clone();
    match web::block(move || answer(&worker_svc, &req, wire)).await {
        Ok(out) => out.into(),
        Err(e) => failure(&svc, FhirError::internal(format!("The request could not be run: {e}")), wire).into(),
    }
}

/// An answer ready to send: status, headers and body bytes.
struct Answer {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Option<(Vec<u8>, Format)>,
    /// Overrides the wire format's content type (plain JSON answers).
    content_type: Option<&'static str>,
}

impl From<Answer> for HttpResponse {
    fn from(a: Answer) -> HttpResponse {
        let status = actix_web::http::StatusCode::from_u16(a.status).unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
        let mut b = HttpResponse::build(status);
        for h in a.headers {
            b.insert_header(h);
        }
        match a.body {
            Some((bytes, wire)) => b.content_type(a.content_type.unwrap_or_else(|| format::content_type(wire))).body(bytes),
            None => b.finish(),
        }
    }
}

fn answer(svc: &Service, req: &Request, wire: Format) -> Answer {
    match svc.execute(req) {
        Ok(reply) => success(svc, reply, req, wire),
        Err(e) => failure(svc, e, wire),
    }
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
        return Answer { status: reply.status, headers, body: bytes.map(|b| (b, wire)), content_type: Some("application/json") };
    }
    Answer { status: reply.status, headers, body: body.map(|b| (format::render(&b, wire, &svc.ctx), wire)), content_type: None }
}
